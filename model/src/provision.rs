//! A device's provisioning progress: what was applied, what is half done, what failed.

use serde::{Deserialize, Serialize};

use crate::Millis;

/// An instance created by AddObject whose key value is not set yet; kept so that a retried
/// apply never creates it twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingInstance {
    /// The object table.
    pub table: String,
    /// The key value the instance is for.
    pub key_value: String,
    /// The instance path, such as `Device.NAT.PortMapping.4.`.
    pub instance: String,
}

/// Provisioning progress of one device.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionRecord {
    /// Instances created and not yet configured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_instances: Vec<PendingInstance>,
    /// Profiles (name, generation) the device matched when it last converged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<(String, i64)>,
    /// Profiles (name, generation) the current apply works toward; attempts count against
    /// these, and start again when they change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target: Vec<(String, i64)>,
    /// Hash of the whole desired state the current apply works toward (profiles and the
    /// device's own parameters); a change retries a device that gave up.
    #[serde(default)]
    pub target_hash: u64,
    /// Whether the device matched its desired state at the end of its last session.
    #[serde(default)]
    pub converged: bool,
    /// Faults in a row since the last convergence.
    #[serde(default)]
    pub attempts: u32,
    /// Not to be tried again before this time.
    #[serde(default)]
    pub not_before: Millis,
    /// The last fault, if the apply is failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<cwmp::CwmpFault>,
    /// True once the retry limit was reached; cleared when the desired state changes.
    #[serde(default)]
    pub gave_up: bool,
    /// When the record last changed.
    #[serde(default)]
    pub updated: Millis,
}
