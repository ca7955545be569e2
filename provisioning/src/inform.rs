//! What an Inform tells the ACS: who the device is, what happened to it (its events), which
//! values changed, and which tasks waiting for an event it completes.

use acs_model::{DeviceId, TaskRecord, TaskSpec, TaskStatus};
use cwmp::{EventCode, Inform};

use crate::tree::TreeUpdate;

/// The facts of one Inform, read once.
#[derive(Debug, Clone, PartialEq)]
pub struct InformFacts {
    /// The derived device id.
    pub device_id: DeviceId,
    /// `0 BOOTSTRAP`: forget what was stored for the device.
    pub bootstrap: bool,
    /// `1 BOOT`.
    pub boot: bool,
    /// `8 DIAGNOSTICS COMPLETE`: fetch the diagnostics results.
    pub diagnostics_complete: bool,
    /// Command keys of `M Reboot` events.
    pub reboot_keys: Vec<String>,
    /// `ManagementServer.ConnectionRequestURL`, when the Inform carries it.
    pub connection_request_url: Option<String>,
    /// Tree updates: a reset on bootstrap, then every value in the Inform.
    pub updates: Vec<TreeUpdate>,
}

/// Reads an Inform.
pub fn read_inform(inform: &Inform) -> InformFacts {
    let has = |code: &EventCode| inform.events.iter().any(|e| &e.code == code);
    let bootstrap = has(&EventCode::Bootstrap);
    let mut updates = Vec::with_capacity(inform.parameters.len() + 1);
    if bootstrap {
        updates.push(TreeUpdate::Reset);
    }
    let mut connection_request_url = None;
    for parameter in &inform.parameters {
        if parameter
            .name
            .ends_with(".ManagementServer.ConnectionRequestURL")
        {
            connection_request_url = Some(parameter.value.trim().to_string());
        }
        updates.push(TreeUpdate::from(parameter.clone()));
    }
    InformFacts {
        device_id: DeviceId::from_identity(&inform.device_id),
        bootstrap,
        boot: has(&EventCode::Boot),
        diagnostics_complete: has(&EventCode::DiagnosticsComplete),
        reboot_keys: inform
            .events
            .iter()
            .filter(|e| e.code == EventCode::MReboot)
            .map(|e| e.command_key.clone())
            .collect(),
        connection_request_url,
        updates,
    }
}

/// Whether this Inform completes `task`, which waits for an event: a reboot is done when the
/// device comes back with `M Reboot` (its command key, or any key when the device sends none)
/// or, for devices that omit `M Reboot`, with `1 BOOT`; a factory reset is done when the
/// device comes back with `0 BOOTSTRAP`.
pub fn completes(facts: &InformFacts, task: &TaskRecord) -> bool {
    if task.status != TaskStatus::AwaitingCompletion {
        return false;
    }
    match task.spec {
        TaskSpec::Reboot => {
            facts
                .reboot_keys
                .iter()
                .any(|key| key.is_empty() || *key == task.id)
                || (facts.boot && facts.reboot_keys.is_empty())
        }
        TaskSpec::FactoryReset => facts.bootstrap,
        _ => false,
    }
}

/// The diagnostics objects whose results to fetch after `8 DIAGNOSTICS COMPLETE`: those whose
/// stored `DiagnosticsState` is `Requested` (the ACS set it), else the standard roots.
pub fn diagnostics_objects<'a>(
    stored_states: impl IntoIterator<Item = (&'a str, &'a str)>,
    root: &str,
) -> Vec<String> {
    let requested: Vec<String> = stored_states
        .into_iter()
        .filter(|(path, value)| {
            path.ends_with(".DiagnosticsState") && value.trim().eq_ignore_ascii_case("Requested")
        })
        .map(|(path, _)| path[..path.len() - "DiagnosticsState".len()].to_string())
        .collect();
    if !requested.is_empty() {
        return requested;
    }
    if root == "Device." {
        vec!["Device.IP.Diagnostics.".to_string()]
    } else {
        vec![
            "InternetGatewayDevice.IPPingDiagnostics.".to_string(),
            "InternetGatewayDevice.TraceRouteDiagnostics.".to_string(),
            "InternetGatewayDevice.DownloadDiagnostics.".to_string(),
            "InternetGatewayDevice.UploadDiagnostics.".to_string(),
        ]
    }
}

/// The root object of a device's data model (`Device.` or `InternetGatewayDevice.`), judged
/// from the parameter names in its Inform.
pub fn data_model_root(inform: &Inform) -> &'static str {
    if inform
        .parameters
        .iter()
        .any(|p| p.name.starts_with("InternetGatewayDevice."))
    {
        "InternetGatewayDevice."
    } else {
        "Device."
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cwmp::{DeviceIdStruct, Event, ParameterValue, XsdType};

    fn inform(events: &[(EventCode, &str)]) -> Inform {
        Inform {
            device_id: DeviceIdStruct {
                manufacturer: "easycwmp".into(),
                oui: "FFFFFF".into(),
                product_class: "easycwmp".into(),
                serial_number: "SCOUT000001".into(),
            },
            events: events
                .iter()
                .map(|(code, key)| Event {
                    code: code.clone(),
                    command_key: key.to_string(),
                })
                .collect(),
            max_envelopes: 1,
            current_time: String::new(),
            retry_count: 0,
            parameters: vec![ParameterValue {
                name: "Device.ManagementServer.ConnectionRequestURL".into(),
                value: "http://127.0.0.1:7548/".into(),
                xsd_type: XsdType::String,
            }],
        }
    }

    fn task(spec: TaskSpec, key: &str) -> TaskRecord {
        TaskRecord {
            id: key.into(),
            device: DeviceId("d".into()),
            spec,
            status: TaskStatus::AwaitingCompletion,
            created: 0,
            attempts: 0,
            not_before: 0,
            fault: None,
            result: None,
            connection_request: None,
            origin: None,
            finished: None,
        }
    }

    #[test]
    fn bootstrap_resets_then_stores_values() {
        let facts = read_inform(&inform(&[
            (EventCode::Bootstrap, ""),
            (EventCode::Boot, ""),
        ]));
        assert_eq!(facts.device_id.as_str(), "FFFFFF-easycwmp-SCOUT000001");
        assert!(facts.bootstrap && facts.boot);
        assert_eq!(facts.updates[0], TreeUpdate::Reset);
        assert_eq!(facts.updates.len(), 2);
        assert_eq!(
            facts.connection_request_url.as_deref(),
            Some("http://127.0.0.1:7548/")
        );
    }

    #[test]
    fn reboot_completion_by_command_key_or_boot() {
        let reboot = task(TaskSpec::Reboot, "k1");
        let matching = read_inform(&inform(&[
            (EventCode::MReboot, "k1"),
            (EventCode::Boot, ""),
        ]));
        let other = read_inform(&inform(&[
            (EventCode::MReboot, "k2"),
            (EventCode::Boot, ""),
        ]));
        let boot_only = read_inform(&inform(&[(EventCode::Boot, "")]));
        let periodic = read_inform(&inform(&[(EventCode::Periodic, "")]));
        assert!(completes(&matching, &reboot));
        assert!(!completes(&other, &reboot));
        assert!(completes(&boot_only, &reboot));
        assert!(!completes(&periodic, &reboot));
        let reset = task(TaskSpec::FactoryReset, "");
        assert!(completes(
            &read_inform(&inform(&[(EventCode::Bootstrap, "")])),
            &reset
        ));
        assert!(!completes(&boot_only, &reset));
    }

    #[test]
    fn diagnostics_objects_prefer_requested_ones() {
        let stored = [
            ("Device.IP.Diagnostics.IPPing.DiagnosticsState", "Requested"),
            ("Device.IP.Diagnostics.TraceRoute.DiagnosticsState", "None"),
        ];
        assert_eq!(
            diagnostics_objects(stored, "Device."),
            vec!["Device.IP.Diagnostics.IPPing.".to_string()]
        );
        assert_eq!(
            diagnostics_objects([], "Device."),
            vec!["Device.IP.Diagnostics.".to_string()]
        );
    }
}
