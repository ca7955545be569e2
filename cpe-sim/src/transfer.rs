//! Download, ScheduleDownload and Upload as a device lives them: accepted in a session, carried out after it,
//! then reported by TransferComplete in a later session (after a reboot for firmware).
//!
//! Pure: the HTTP transfer itself is done by [`crate::fetch`] and its outcome passed in.
//!
//! Integrity: a Download URL may carry the expected SHA-256 of the file as a `sha256=<hex>`
//! query parameter or fragment (`http://acs/files/fw-2.0.bin#sha256=...`); a mismatch, like a
//! size other than FileSize, is fault 9018. The new software version is the TargetFileName
//! (or else the URL's file name) without directory and without a `.bin`, `.img` or `.fw`
//! extension: `fw-2.0.1.bin` installs version `fw-2.0.1`.

use cwmp::{FaultStruct, TransferComplete};

use crate::device::{Device, Env, FaultCode, Lifecycle, Ref};
use crate::events::EventSet;
use crate::template::format_datetime;

/// Which way a transfer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    /// Download (firmware or configuration).
    Download,
    /// Upload (configuration or log).
    Upload,
    /// ScheduleDownload: a download at the opening of its first time window.
    ScheduledDownload,
}

/// A transfer accepted from the ACS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Download or Upload.
    pub kind: TransferKind,
    /// Echoed in TransferComplete and `M Download`/`M Upload`.
    pub command_key: String,
    /// The file type, such as `1 Firmware Upgrade Image`.
    pub file_type: String,
    /// Where to fetch or put the file.
    pub url: String,
    /// Credentials for the file server.
    pub username: String,
    /// Credentials for the file server.
    pub password: String,
    /// Expected size (0: unknown).
    pub file_size: u64,
    /// Target file name.
    pub target_file_name: String,
    /// Seconds to wait after the session before starting.
    pub delay_seconds: u32,
    /// When the last time window of a ScheduleDownload closes, Unix ms (0: no window).
    pub window_end_ms: u64,
    /// When the transfer started, Unix ms (0 until it does).
    pub start_ms: u64,
    /// When it ended, Unix ms.
    pub complete_ms: u64,
    /// The result once done: 0 or a fault code.
    pub result: Option<FaultCode>,
}

impl Transfer {
    /// A transfer not started yet, with no size, target name, delay or window.
    pub fn new(
        kind: TransferKind,
        command_key: &str,
        file_type: &str,
        url: &str,
        username: &str,
        password: &str,
    ) -> Transfer {
        Transfer {
            kind,
            command_key: command_key.to_string(),
            file_type: file_type.to_string(),
            url: url.to_string(),
            username: username.to_string(),
            password: password.to_string(),
            file_size: 0,
            target_file_name: String::new(),
            delay_seconds: 0,
            window_end_ms: 0,
            start_ms: 0,
            complete_ms: 0,
            result: None,
        }
    }
}

/// What the fetcher saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The file arrived.
    Fetched {
        /// Its size.
        size: u64,
        /// Its SHA-256.
        sha256: [u8; 32],
    },
    /// The file was uploaded.
    Stored,
    /// Nothing arrived (connection, HTTP status or protocol failure).
    Failed(String),
}

/// A failure injected on purpose for one transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Injected {
    /// Behave.
    #[default]
    None,
    /// Report 9010 whatever happened.
    DownloadFailure,
    /// Report 9018: the image is corrupted.
    Corrupted,
    /// Install, reboot, and never come back.
    NeverReturns,
}

/// What the device does once a transfer is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterTransfer {
    /// Reboot (a new image or configuration), then inform with `1 BOOT, 7 TRANSFER COMPLETE`.
    Reboot,
    /// Inform now with `7 TRANSFER COMPLETE`.
    InformNow,
    /// Go silent for good.
    Silent,
}

/// Firmware file types the device installs (and reboots for).
const FIRMWARE: &str = "1 Firmware Upgrade Image";
/// Configuration file types the device applies (and reboots for).
const CONFIG: &str = "3 Vendor Configuration File";

impl Device {
    /// Accepts a Download or Upload request; it runs after the session.
    pub fn accept_transfer(&mut self, env: &Env<'_>, transfer: Transfer) -> Result<(), FaultCode> {
        let supported = match transfer.kind {
            TransferKind::Download | TransferKind::ScheduledDownload => {
                [FIRMWARE, CONFIG].contains(&transfer.file_type.as_str())
            }
            TransferKind::Upload => {
                transfer
                    .file_type
                    .starts_with("1 Vendor Configuration File")
                    || transfer.file_type.starts_with("2 Vendor Log File")
            }
        };
        if !supported {
            return Err(9003);
        }
        if !transfer.url.to_ascii_lowercase().starts_with("http://") {
            return Err(9013);
        }
        if self.extra().is_some_and(|e| e.transfer.is_some()) {
            return Err(9004);
        }
        let _ = env;
        self.extra_mut().transfer = Some(Box::new(transfer));
        Ok(())
    }

    /// The transfer to carry out now (accepted, not yet done).
    pub fn transfer_to_run(&mut self, env: &Env<'_>) -> Option<Transfer> {
        let transfer = self.extra_mut().transfer.as_mut()?;
        if transfer.result.is_some() || transfer.start_ms != 0 {
            return None;
        }
        transfer.start_ms = env.now_ms;
        Some(Transfer::clone(transfer))
    }

    /// Records the transfer's outcome; returns what the device does next.
    pub fn transfer_finished(
        &mut self,
        env: &Env<'_>,
        outcome: &FetchOutcome,
        injected: Injected,
    ) -> AfterTransfer {
        let Some(transfer) = self.extra_mut().transfer.as_mut() else {
            return AfterTransfer::InformNow;
        };
        transfer.complete_ms = env.now_ms.max(transfer.start_ms);
        let kind = transfer.kind;
        let code = match (kind, outcome, injected) {
            (TransferKind::Upload, FetchOutcome::Stored, _) => 0,
            (TransferKind::Upload, _, _) => 9011,
            (TransferKind::ScheduledDownload, _, _)
                if transfer.window_end_ms != 0 && transfer.start_ms > transfer.window_end_ms =>
            {
                9020
            }
            (_, FetchOutcome::Failed(_) | FetchOutcome::Stored, _) => 9010,
            (_, _, Injected::DownloadFailure) => 9010,
            (_, _, Injected::Corrupted) => 9018,
            (_, FetchOutcome::Fetched { size, sha256 }, _) => {
                let size_ok = transfer.file_size == 0 || transfer.file_size == *size;
                let hash_ok =
                    expected_sha256(&transfer.url).is_none_or(|hex| hex == to_hex(sha256));
                if size_ok && hash_ok {
                    0
                } else {
                    9018
                }
            }
        };
        transfer.result = Some(code);
        let new_version = (code == 0 && transfer.file_type == FIRMWARE)
            .then(|| version_from(&transfer.target_file_name, &transfer.url));
        let events = match kind {
            TransferKind::Download => EventSet::TRANSFER_COMPLETE | EventSet::M_DOWNLOAD,
            TransferKind::Upload => EventSet::TRANSFER_COMPLETE | EventSet::M_UPLOAD,
            TransferKind::ScheduledDownload => {
                EventSet::TRANSFER_COMPLETE | EventSet::M_SCHEDULE_DOWNLOAD
            }
        };
        self.pending.insert(events);
        if let (Some(version), Some(role)) = (new_version, env.model.roles().software_version) {
            self.store_value(env, Ref::Node(role), &version);
        }
        match (kind, code, injected) {
            (
                TransferKind::Download | TransferKind::ScheduledDownload,
                0,
                Injected::NeverReturns,
            ) => {
                self.lifecycle = Lifecycle::Silent;
                AfterTransfer::Silent
            }
            (TransferKind::Download | TransferKind::ScheduledDownload, 0, _) => {
                AfterTransfer::Reboot
            }
            _ => AfterTransfer::InformNow,
        }
    }

    /// The TransferComplete to send in the next session, if a transfer finished.
    pub fn transfer_complete(&self) -> Option<TransferComplete> {
        let transfer = self.extra()?.transfer.as_ref()?;
        let code = transfer.result?;
        Some(TransferComplete {
            command_key: transfer.command_key.clone(),
            fault: FaultStruct {
                code,
                string: if code == 0 {
                    String::new()
                } else {
                    cwmp::fault_meaning(code).unwrap_or_default().to_string()
                },
            },
            start_time: format_datetime(transfer.start_ms),
            complete_time: format_datetime(transfer.complete_ms),
        })
    }

    /// The ACS acknowledged the TransferComplete: forget the transfer.
    pub fn transfer_reported(&mut self) {
        if let Some(extra) = self.extra_if_any_mut() {
            extra.transfer = None;
        }
        self.pending.remove(EventSet::TRANSFER_EVENTS);
        self.compact();
    }

    /// The configuration file an Upload sends: every parameter as `path=value`, one a line.
    pub fn config_file(&self, env: &Env<'_>) -> String {
        let mut out = String::new();
        self.visit(
            env,
            Ref::Node(crate::model::ROOT),
            usize::MAX,
            &mut |r, path, _| {
                if env.model.node(r.node()).is_param() {
                    out.push_str(path);
                    out.push('=');
                    out.push_str(&self.read_value(env, r));
                    out.push('\n');
                }
            },
        );
        out
    }
}

/// The `sha256=<hex>` of a URL's query or fragment, lower-cased.
pub fn expected_sha256(url: &str) -> Option<String> {
    let tail = url.split_once(['?', '#'])?.1;
    tail.split(['&', '#', '?'])
        .find_map(|pair| pair.strip_prefix("sha256="))
        .map(|hex| hex.to_ascii_lowercase())
}

/// The URL without its fragment (which is never sent to the server).
pub fn without_fragment(url: &str) -> &str {
    url.split_once('#').map_or(url, |(before, _)| before)
}

/// The software version a firmware file installs (see the module documentation).
pub fn version_from(target_file_name: &str, url: &str) -> String {
    let name = if target_file_name.trim().is_empty() {
        url.split(['?', '#']).next().unwrap_or_default()
    } else {
        target_file_name.trim()
    };
    let file = name.rsplit('/').next().unwrap_or(name);
    [".bin", ".img", ".fw"]
        .iter()
        .find_map(|ext| file.strip_suffix(ext))
        .unwrap_or(file)
        .to_string()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
