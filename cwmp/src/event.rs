//! Inform event codes (TR-069 Amendment 6, table 7), single and multiple.

use serde::{Deserialize, Serialize};

/// An Inform event code. Unknown and vendor codes (`X OUI ...`, `M X_...`) are kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventCode {
    /// `0 BOOTSTRAP`: first contact, or the ACS URL changed; the ACS forgets what it knew.
    Bootstrap,
    /// `1 BOOT`: the CPE powered up or rebooted.
    Boot,
    /// `2 PERIODIC`: the periodic inform interval elapsed.
    Periodic,
    /// `3 SCHEDULED`: a ScheduleInform came due.
    Scheduled,
    /// `4 VALUE CHANGE`: parameters with notification changed.
    ValueChange,
    /// `5 KICKED`: a web browser kicked the CPE.
    Kicked,
    /// `6 CONNECTION REQUEST`: the ACS sent a connection request.
    ConnectionRequest,
    /// `7 TRANSFER COMPLETE`: a transfer finished; a TransferComplete follows.
    TransferComplete,
    /// `8 DIAGNOSTICS COMPLETE`: a diagnostic test finished.
    DiagnosticsComplete,
    /// `9 REQUEST DOWNLOAD`: the CPE calls RequestDownload.
    RequestDownload,
    /// `10 AUTONOMOUS TRANSFER COMPLETE`
    AutonomousTransferComplete,
    /// `11 DU STATE CHANGE COMPLETE`
    DuStateChangeComplete,
    /// `12 AUTONOMOUS DU STATE CHANGE COMPLETE`
    AutonomousDuStateChangeComplete,
    /// `13 WAKEUP`
    Wakeup,
    /// `14 HEARTBEAT`
    Heartbeat,
    /// `M Reboot`: the reboot the ACS asked for.
    MReboot,
    /// `M ScheduleInform`
    MScheduleInform,
    /// `M Download`
    MDownload,
    /// `M ScheduleDownload`
    MScheduleDownload,
    /// `M Upload`
    MUpload,
    /// `M ChangeDUState`
    MChangeDuState,
    /// Any other code, verbatim (vendor events).
    Other(String),
}

const TABLE: &[(EventCode, &str)] = &[
    (EventCode::Bootstrap, "0 BOOTSTRAP"),
    (EventCode::Boot, "1 BOOT"),
    (EventCode::Periodic, "2 PERIODIC"),
    (EventCode::Scheduled, "3 SCHEDULED"),
    (EventCode::ValueChange, "4 VALUE CHANGE"),
    (EventCode::Kicked, "5 KICKED"),
    (EventCode::ConnectionRequest, "6 CONNECTION REQUEST"),
    (EventCode::TransferComplete, "7 TRANSFER COMPLETE"),
    (EventCode::DiagnosticsComplete, "8 DIAGNOSTICS COMPLETE"),
    (EventCode::RequestDownload, "9 REQUEST DOWNLOAD"),
    (
        EventCode::AutonomousTransferComplete,
        "10 AUTONOMOUS TRANSFER COMPLETE",
    ),
    (
        EventCode::DuStateChangeComplete,
        "11 DU STATE CHANGE COMPLETE",
    ),
    (
        EventCode::AutonomousDuStateChangeComplete,
        "12 AUTONOMOUS DU STATE CHANGE COMPLETE",
    ),
    (EventCode::Wakeup, "13 WAKEUP"),
    (EventCode::Heartbeat, "14 HEARTBEAT"),
    (EventCode::MReboot, "M Reboot"),
    (EventCode::MScheduleInform, "M ScheduleInform"),
    (EventCode::MDownload, "M Download"),
    (EventCode::MScheduleDownload, "M ScheduleDownload"),
    (EventCode::MUpload, "M Upload"),
    (EventCode::MChangeDuState, "M ChangeDUState"),
];

impl EventCode {
    /// Parses an event code, tolerating surrounding white space and case differences.
    pub fn parse(text: &str) -> EventCode {
        let text = text.trim();
        TABLE
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(code, _)| code.clone())
            .unwrap_or_else(|| EventCode::Other(text.to_string()))
    }

    /// The code as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            EventCode::Other(text) => text,
            known => TABLE
                .iter()
                .find(|(code, _)| code == known)
                .map(|(_, name)| *name)
                .unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for EventCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_tolerates_case() {
        for (code, name) in TABLE {
            assert_eq!(EventCode::parse(name), *code);
            assert_eq!(
                EventCode::parse(&format!("  {}\n", name.to_lowercase())),
                *code
            );
            assert_eq!(code.as_str(), *name);
        }
        assert_eq!(
            EventCode::parse("X 00D09E VENDOR"),
            EventCode::Other("X 00D09E VENDOR".into())
        );
    }
}
