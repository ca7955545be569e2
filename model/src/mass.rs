//! Runs of mass operations (DeviceTask resources): which devices they cover and how far they
//! got.

use serde::{Deserialize, Serialize};

use crate::{DeviceId, Millis};

/// One run of a DeviceTask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceTaskRun {
    /// Hash of the spec the run was started for (a changed spec starts a new run).
    pub spec_hash: u64,
    /// How many devices it covers.
    pub targets: u64,
    /// When it started.
    pub started: Millis,
    /// When every device finished, if they have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<Millis>,
}

/// One device of a DeviceTask run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceTaskEntry {
    /// The device.
    pub device: DeviceId,
    /// The task queued for it, once queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
}
