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
            TaskSpec::ScheduleInform { .. } => "scheduleInform",
        }
    }
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
