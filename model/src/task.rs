//! Tasks queued for a device through the API, and the faults the device reported.

use cwmp::{Download, ParameterValue, SetParameterAttribute, Upload};
use serde::{Deserialize, Serialize};

use crate::{DeviceId, Millis};

/// What a task asks the device to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "camelCase")]
pub enum TaskSpec {
    /// Read values (GetParameterValues) and store them.
    #[serde(rename_all = "camelCase")]
    GetParameterValues {
        /// Parameter names or partial paths.
        parameter_names: Vec<String>,
    },
    /// Discover a subtree (GetParameterNames) and read its values: a refresh.
    #[serde(rename_all = "camelCase")]
    GetParameterNames {
        /// Partial path ending with a dot; empty for the whole tree.
        parameter_path: String,
        /// Only the next level.
        #[serde(default)]
        next_level: bool,
    },
    /// Write values (SetParameterValues).
    #[serde(rename_all = "camelCase")]
    SetParameterValues {
        /// Values with their types.
        parameter_values: Vec<ParameterValue>,
    },
    /// Read notification and access attributes (GetParameterAttributes).
    #[serde(rename_all = "camelCase")]
    GetParameterAttributes {
        /// Parameter names or partial paths.
        parameter_names: Vec<String>,
    },
    /// Write notification and access attributes (SetParameterAttributes).
    #[serde(rename_all = "camelCase")]
    SetParameterAttributes {
        /// Attributes to change.
        parameter_attributes: Vec<SetParameterAttribute>,
    },
    /// Create an object instance (AddObject), then optionally set values under it.
    #[serde(rename_all = "camelCase")]
    AddObject {
        /// Object path ending with a dot.
        object_name: String,
        /// Values to set relative to the new instance (names without the instance prefix).
        #[serde(default)]
        parameter_values: Vec<ParameterValue>,
    },
    /// Delete an object instance (DeleteObject).
    #[serde(rename_all = "camelCase")]
    DeleteObject {
        /// Instance path ending with a dot.
        object_name: String,
    },
    /// Reboot; done when the device comes back with `M Reboot`.
    Reboot,
    /// Factory reset; done when the device comes back with `0 BOOTSTRAP`.
    FactoryReset,
    /// Download a file; done at TransferComplete.
    Download(Download),
    /// Upload a file; done at TransferComplete.
    Upload(Upload),
    /// Download a file within time windows (CWMP 1.2+); done at TransferComplete.
    ScheduleDownload(ScheduledDownload),
    /// Ask the device to inform again after a delay.
    #[serde(rename_all = "camelCase")]
    ScheduleInform {
        /// Delay in seconds.
        delay_seconds: u32,
    },
}

impl TaskSpec {
    /// The API name of the task kind, such as `setParameterValues`.
    pub fn kind(&self) -> &'static str {
        match self {
            TaskSpec::GetParameterValues { .. } => "getParameterValues",
            TaskSpec::GetParameterNames { .. } => "getParameterNames",
            TaskSpec::SetParameterValues { .. } => "setParameterValues",
            TaskSpec::GetParameterAttributes { .. } => "getParameterAttributes",
            TaskSpec::SetParameterAttributes { .. } => "setParameterAttributes",
            TaskSpec::AddObject { .. } => "addObject",
            TaskSpec::DeleteObject { .. } => "deleteObject",
            TaskSpec::Reboot => "reboot",
            TaskSpec::FactoryReset => "factoryReset",
            TaskSpec::Download(_) => "download",
            TaskSpec::Upload(_) => "upload",
            TaskSpec::ScheduleDownload(_) => "scheduleDownload",
            TaskSpec::ScheduleInform { .. } => "scheduleInform",
        }
    }

    /// A copy safe to show: the values of secret parameters (see [`cwmp::secrets`]) and the
    /// file server passwords masked.
    pub fn masked(&self) -> TaskSpec {
        let mut spec = self.clone();
        let mask_password = |password: &mut String| {
            if !password.is_empty() {
                *password = cwmp::secrets::MASK.to_string();
            }
        };
        match &mut spec {
            TaskSpec::SetParameterValues { parameter_values }
            | TaskSpec::AddObject {
                parameter_values, ..
            } => {
                for parameter in parameter_values {
                    cwmp::secrets::mask_in_place(&parameter.name, &mut parameter.value);
                }
            }
            TaskSpec::Download(download) => mask_password(&mut download.password),
            TaskSpec::Upload(upload) => mask_password(&mut upload.password),
            TaskSpec::ScheduleDownload(scheduled) => mask_password(&mut scheduled.password),
            _ => {}
        }
        spec
    }
}

/// A ScheduleDownload as queued: its windows are absolute times, sent as seconds from the
/// moment the device receives the request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScheduledDownload {
    /// File type, such as `1 Firmware Upgrade Image`.
    pub file_type: String,
    /// Where to fetch the file.
    pub url: String,
    /// Credentials for the file server.
    pub username: String,
    /// Credentials for the file server.
    pub password: String,
    /// Size in bytes (0 if unknown).
    pub file_size: u64,
    /// Target file name.
    pub target_file_name: String,
    /// One or two windows, in time order.
    pub time_windows: Vec<DownloadWindow>,
}

/// One time window of a [`ScheduledDownload`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DownloadWindow {
    /// When it opens.
    pub opens: Millis,
    /// When it closes.
    pub closes: Millis,
    /// `1 At Any Time`, `2 Immediately`, `3 When Idle` or `4 Confirmation Needed`.
    pub mode: String,
    /// Message for the user (mode 4).
    pub user_message: String,
    /// Retries within the window; -1 leaves it to the device.
    pub max_retries: i32,
}

impl ScheduledDownload {
    /// The request to send at `now`: windows as whole seconds from now; windows already
    /// closed (or closing within a second) are left out, so there is none once all have
    /// closed.
    pub fn request_at(&self, command_key: String, now: Millis) -> Option<cwmp::ScheduleDownload> {
        // Rounded inwards: the device never starts before a window opens or goes on after
        // it closes.
        let seconds = |s: u64| u32::try_from(s).unwrap_or(u32::MAX);
        let opens = |w: &DownloadWindow| seconds(w.opens.saturating_sub(now).div_ceil(1000));
        let closes = |w: &DownloadWindow| seconds(w.closes.saturating_sub(now) / 1000);
        let time_windows: Vec<cwmp::TimeWindow> = self
            .time_windows
            .iter()
            .filter(|w| closes(w) > opens(w))
            .map(|w| cwmp::TimeWindow {
                window_start: opens(w),
                window_end: closes(w),
                window_mode: if w.mode.is_empty() {
                    "1 At Any Time".to_string()
                } else {
                    w.mode.clone()
                },
                user_message: w.user_message.clone(),
                max_retries: w.max_retries,
            })
            .collect();
        (!time_windows.is_empty()).then(|| cwmp::ScheduleDownload {
            command_key,
            file_type: self.file_type.clone(),
            url: self.url.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            file_size: self.file_size,
            target_file_name: self.target_file_name.clone(),
            time_windows,
        })
    }
}

/// A transfer a device reported: the end of one the ACS asked for (TransferComplete) or of
/// one it made on its own (AutonomousTransferComplete).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferRecord {
    /// Unique, time-ordered id.
    pub id: String,
    /// The device.
    pub device: DeviceId,
    /// The task that asked for it (none for an autonomous transfer, or a task since deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The device made it on its own (AutonomousTransferComplete).
    pub autonomous: bool,
    /// A download (else an upload).
    pub is_download: bool,
    /// File type, such as `1 Firmware Upgrade Image`.
    pub file_type: String,
    /// Where the file came from or went.
    pub url: String,
    /// Size in bytes (0 if unknown).
    pub file_size: u64,
    /// Target file name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target_file_name: String,
    /// The fault, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<cwmp::CwmpFault>,
    /// When it started, as the device said (`xsd:dateTime`).
    pub start_time: String,
    /// When it completed, as the device said.
    pub complete_time: String,
    /// When the ACS heard of it.
    pub reported: Millis,
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskStatus {
    /// Waiting for the device's next session (or its retry time).
    Pending,
    /// Sent; waiting for an event in a later session (M Reboot, TransferComplete, bootstrap).
    AwaitingCompletion,
    /// Finished successfully.
    Done,
    /// Failed for good: the retry limit was reached.
    Failed,
}

/// What happened to the connection request sent for a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum ConnectionRequestState {
    /// The device accepted the connection request.
    Accepted {
        /// When.
        at: Millis,
    },
    /// No connection request was needed: the device is in a session, which runs the task.
    InSession {
        /// When.
        at: Millis,
    },
    /// The device could not be reached or refused; the task waits for its next inform.
    Unreachable {
        /// When.
        at: Millis,
        /// Why, in words.
        error: String,
    },
}

/// A task queued for one device. Its id is also the command key of the RPCs it sends (reboot,
/// download, upload, schedule inform), so completion events find it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    /// Unique, time-ordered id.
    pub id: String,
    /// The device it is for.
    pub device: DeviceId,
    /// What to do.
    pub spec: TaskSpec,
    /// Where it is.
    pub status: TaskStatus,
    /// When it was queued.
    pub created: Millis,
    /// How many times it was sent and faulted.
    pub attempts: u32,
    /// Not to be sent before this time (retry backoff).
    pub not_before: Millis,
    /// The last fault, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<cwmp::CwmpFault>,
    /// Result data, such as the instance number of an AddObject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// The connection request sent for it, if one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_request: Option<ConnectionRequestState>,
    /// The DeviceTask or FirmwareRollout that queued it, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// When it finished (done or failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<Millis>,
}

impl TaskRecord {
    /// A new pending task `id` for `device`, queued at `now` by `origin` (a DeviceTask or a
    /// FirmwareRollout; `None` for the API).
    pub fn new(
        id: String,
        device: DeviceId,
        spec: TaskSpec,
        now: Millis,
        origin: Option<String>,
    ) -> TaskRecord {
        TaskRecord {
            id,
            device,
            spec,
            status: TaskStatus::Pending,
            created: now,
            attempts: 0,
            not_before: 0,
            fault: None,
            result: None,
            connection_request: None,
            origin,
            finished: None,
        }
    }
}

impl TaskRecord {
    /// A copy safe to show: its spec [masked](TaskSpec::masked).
    pub fn masked(&self) -> TaskRecord {
        TaskRecord {
            spec: self.spec.masked(),
            ..self.clone()
        }
    }
}

/// A fault the device reported for a task (or on its own, such as a failed TransferComplete).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRecord {
    /// Unique, time-ordered id.
    pub id: String,
    /// The device.
    pub device: DeviceId,
    /// The task it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The fault.
    pub fault: cwmp::CwmpFault,
    /// When it was reported.
    pub timestamp: Millis,
    /// How many attempts the task had made when this fault came.
    pub attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use cwmp::XsdType;

    #[test]
    fn masked_tasks_hide_secret_values_and_file_server_passwords() {
        let value = |name: &str, value: &str| ParameterValue {
            name: name.into(),
            value: value.into(),
            xsd_type: XsdType::String,
        };
        let spec = TaskSpec::SetParameterValues {
            parameter_values: vec![
                value(
                    "Device.ManagementServer.ConnectionRequestPassword",
                    "s3cr3t",
                ),
                value("Device.ManagementServer.ConnectionRequestUsername", "cr"),
            ],
        };
        let TaskSpec::SetParameterValues { parameter_values } = spec.masked() else {
            panic!("kind changed");
        };
        assert_eq!(parameter_values[0].value, cwmp::secrets::MASK);
        assert_eq!(parameter_values[1].value, "cr");
        let spec = TaskSpec::AddObject {
            object_name: "Device.PPP.Interface.".into(),
            parameter_values: vec![value("Password", "pw")],
        };
        let TaskSpec::AddObject {
            parameter_values, ..
        } = spec.masked()
        else {
            panic!("kind changed");
        };
        assert_eq!(parameter_values[0].value, cwmp::secrets::MASK);
        let download = TaskSpec::Download(Download {
            password: "files".into(),
            ..Download::default()
        });
        let TaskSpec::Download(masked) = download.masked() else {
            panic!("kind changed");
        };
        assert_eq!(masked.password, cwmp::secrets::MASK);
    }
}
