//! `Firmware`: an image devices can be upgraded to, and `FirmwareRollout`: a staged rollout
//! of one to the devices of a group, wave by wave, stopping itself when devices fail.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::group::ParameterMatch;

/// A firmware image and the devices it fits.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "kubeacs.io",
    version = "v1alpha1",
    kind = "Firmware",
    namespaced,
    status = "FirmwareStatus",
    shortname = "fw",
    category = "kube-acs",
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".spec.version"}"#,
    printcolumn = r#"{"name":"Products","type":"string","jsonPath":".spec.compatible.productClasses"}"#,
    printcolumn = r#"{"name":"Size","type":"integer","jsonPath":".spec.size"}"#,
    printcolumn = r#"{"name":"Downloads","type":"integer","jsonPath":".status.downloads"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[x_kube(validation = Rule::new("has(self.url) != has(self.file)").message("set exactly one of url (any HTTP server) and file (served by the built-in file server)"))]
#[serde(rename_all = "camelCase")]
pub struct FirmwareSpec {
    /// The version devices report (`DeviceInfo.SoftwareVersion`) once they run this image.
    #[schemars(length(min = 1, max = 128))]
    pub version: String,
    /// The image on any HTTP(S) server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.startsWith('http://') || self.startsWith('https://')").message("url must be http:// or https://"))]
    #[schemars(length(max = 2048))]
    pub url: Option<String>,
    /// The image as a file of the built-in file server (a path under its directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("!self.startsWith('/') && !self.contains('..')").message("file is a relative path inside the file server's directory"))]
    #[schemars(length(min = 1, max = 512))]
    pub file: Option<String>,
    /// The TR-069 file type.
    #[serde(default = "default_file_type")]
    #[x_kube(validation = Rule::new("self.matches('^[1-9] ') || self.startsWith('X ')").message("fileType is a TR-069 file type, such as '1 Firmware Upgrade Image'"))]
    #[schemars(length(max = 64))]
    pub file_type: String,
    /// Size in bytes (sent as FileSize; devices check it).
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub size: u64,
    /// SHA-256 of the image, hexadecimal (offered to devices in the Download URL's `#sha256=`
    /// fragment, for those that check it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-fA-F]{64}$"))]
    pub sha256: Option<String>,
    /// The devices it fits; an empty list allows any.
    #[serde(default)]
    pub compatible: Compatibility,
    /// Conditions a device must meet before it may take this image.
    #[serde(default)]
    pub preconditions: Preconditions,
}

fn default_file_type() -> String {
    FIRMWARE_FILE_TYPE.to_string()
}

/// The TR-069 file type of firmware images.
pub const FIRMWARE_FILE_TYPE: &str = "1 Firmware Upgrade Image";

/// Which devices an image fits (every non-empty list must contain the device's value).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Compatibility {
    /// Manufacturer OUIs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub ouis: Vec<String>,
    /// Product classes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub product_classes: Vec<String>,
    /// Model names (`DeviceInfo.ModelName`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub model_names: Vec<String>,
    /// Hardware versions (`DeviceInfo.HardwareVersion`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub hardware_versions: Vec<String>,
}

/// What a device must meet before an upgrade.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    /// The lowest software version it may upgrade from (dotted numbers compared as numbers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_version: Option<String>,
    /// Parameter conditions, as in DeviceGroups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub parameters: Vec<ParameterMatch>,
}

/// What kube-acs knows of a firmware image.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct FirmwareStatus {
    /// Downloads served by the built-in file server (all edges).
    #[serde(default)]
    pub downloads: u64,
    /// Ready: the Firmware is valid and rollouts may use it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// A staged rollout of a Firmware to the devices of a group or selector.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "kubeacs.io",
    version = "v1alpha1",
    kind = "FirmwareRollout",
    namespaced,
    status = "FirmwareRolloutStatus",
    shortname = "fwr",
    category = "kube-acs",
    printcolumn = r#"{"name":"Firmware","type":"string","jsonPath":".spec.firmware"}"#,
    printcolumn = r#"{"name":"Wave","type":"string","jsonPath":".status.wave"}"#,
    printcolumn = r#"{"name":"Succeeded","type":"integer","jsonPath":".status.succeeded"}"#,
    printcolumn = r#"{"name":"Failed","type":"integer","jsonPath":".status.failed"}"#,
    printcolumn = r#"{"name":"Total","type":"integer","jsonPath":".status.total"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Message","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[x_kube(validation = Rule::new("has(self.target.group) || has(self.target.selector)").message("target needs a group or a selector"))]
#[x_kube(validation = Rule::new("!has(oldSelf.firmware) || self.firmware == oldSelf.firmware").message("firmware is immutable: create a new rollout"))]
#[serde(rename_all = "camelCase")]
pub struct FirmwareRolloutSpec {
    /// The Firmware (same namespace).
    #[schemars(length(min = 1, max = 253))]
    pub firmware: String,
    /// Which devices.
    pub target: RolloutTarget,
    /// How: waves, pacing, windows, thresholds and gates.
    #[serde(default)]
    pub strategy: RolloutStrategy,
    /// Hold: no device starts while true (devices under way finish).
    #[serde(default)]
    pub paused: bool,
    /// Stop for good: no device starts again (devices under way finish; with
    /// `strategy.rollbackOnAbort`, devices that took the new firmware are rolled back).
    #[serde(default)]
    pub abort: bool,
}

/// The devices of a rollout (both given: devices in both).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RolloutTarget {
    /// A DeviceGroup's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Devices whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// How a rollout proceeds.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("self.steps.all(s, s.percent >= 1 && s.percent <= 100)").message("each step's percent is 1 to 100"))]
#[serde(rename_all = "camelCase")]
pub struct RolloutStrategy {
    /// The first wave.
    #[serde(default)]
    pub canary: Canary,
    /// The following waves: the cumulative share of the target done after each, in any order
    /// (taken in increasing order; the rollout always ends with every device).
    #[serde(default = "default_steps")]
    #[schemars(length(max = 20))]
    pub steps: Vec<RolloutStep>,
    /// Downloads under way at once, at most.
    #[serde(default = "default_max_in_flight")]
    #[schemars(range(min = 1, max = 100000))]
    pub max_in_flight: u32,
    /// Devices started per minute, at most.
    #[serde(default = "default_rate")]
    #[schemars(range(min = 1, max = 600000))]
    pub rate_per_minute: u32,
    /// When devices may start. Outside it, devices speaking CWMP 1.2 or later get a
    /// ScheduleDownload for the next window (within `maxInFlight` and the rate); the work of
    /// others (and of devices that refuse ScheduleDownload) is held until it opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_window: Option<MaintenanceWindow>,
    /// Seconds a device may take from the start of its download to informing on the new
    /// version.
    #[serde(default = "default_device_timeout")]
    #[schemars(range(min = 10, max = 604800))]
    pub device_timeout_seconds: u32,
    /// Retries per device after its first attempt fails, before it fails for good.
    #[serde(default = "default_retries")]
    #[schemars(range(min = 0, max = 10))]
    pub retries: u32,
    /// Failures a wave may have before the rollout reacts.
    #[serde(default)]
    pub failure_threshold: FailureThreshold,
    /// Checks after each wave.
    #[serde(default)]
    pub health_gate: HealthGate,
    /// Waves that need a person's approval before they start: a wave `n` (1 or later; the
    /// canary starts without one) in this list starts only once `approvedWave` is at least `n`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approval_required: Vec<u32>,
    /// The highest wave approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_wave: Option<u32>,
    /// On abort, devices that took the new firmware go back to the one they had: the
    /// Firmware of the same namespace with their previous version that fits them (at once,
    /// within `maxInFlight` and the rate, regardless of the window).
    #[serde(default)]
    pub rollback_on_abort: bool,
}

impl Default for RolloutStrategy {
    fn default() -> Self {
        RolloutStrategy {
            canary: Canary::default(),
            steps: default_steps(),
            max_in_flight: default_max_in_flight(),
            rate_per_minute: default_rate(),
            maintenance_window: None,
            device_timeout_seconds: default_device_timeout(),
            retries: default_retries(),
            failure_threshold: FailureThreshold::default(),
            health_gate: HealthGate::default(),
            approval_required: Vec::new(),
            approved_wave: None,
            rollback_on_abort: false,
        }
    }
}

fn default_steps() -> Vec<RolloutStep> {
    vec![
        RolloutStep {
            percent: 50,
            soak_seconds: 0,
        },
        RolloutStep {
            percent: 100,
            soak_seconds: 0,
        },
    ]
}

fn default_max_in_flight() -> u32 {
    100
}

fn default_rate() -> u32 {
    600
}

fn default_device_timeout() -> u32 {
    3600
}

fn default_retries() -> u32 {
    1
}

/// The canary wave: a count or a share of the target.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("!(has(self.count) && has(self.percent))").message("give the canary a count or a percent, not both"))]
#[serde(rename_all = "camelCase")]
pub struct Canary {
    /// Devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub count: Option<u32>,
    /// Share of the target, 1 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub percent: Option<u32>,
    /// Seconds to watch the canary after it is done, before the next wave.
    #[serde(default)]
    #[schemars(range(min = 0, max = 604800))]
    pub soak_seconds: u32,
}

impl Default for Canary {
    fn default() -> Self {
        Canary {
            count: None,
            percent: Some(5),
            soak_seconds: 0,
        }
    }
}

/// A wave after the canary.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStep {
    /// Cumulative share of the target once this wave is done, 1 to 100.
    pub percent: u32,
    /// Seconds to watch the wave after it is done, before the next.
    #[serde(default)]
    #[schemars(range(min = 0, max = 604800))]
    pub soak_seconds: u32,
}

/// A recurring maintenance window: it opens at each firing of `cron` in `timeZone` and stays
/// open `durationMinutes`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceWindow {
    /// Five-field cron expression, such as `0 2 * * *` (02:00 every day).
    #[schemars(length(min = 9, max = 128))]
    pub cron: String,
    /// IANA time zone, such as `Europe/Berlin`.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// How long it stays open.
    #[schemars(range(min = 1, max = 1440))]
    pub duration_minutes: u32,
}

fn default_time_zone() -> String {
    "UTC".to_string()
}

/// When failures stop a rollout.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FailureThreshold {
    /// Failed devices in a wave, at most (counted over the wave's devices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Failed share of a wave's devices, at most, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub percent: Option<u32>,
    /// What happens beyond it.
    #[serde(default)]
    pub action: ThresholdAction,
}

impl Default for FailureThreshold {
    fn default() -> Self {
        FailureThreshold {
            count: None,
            percent: Some(10),
            action: ThresholdAction::Pause,
        }
    }
}

/// What a rollout does when a wave fails too much.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ThresholdAction {
    /// Hold: no device starts while the wave's failures stay beyond the threshold (devices
    /// under way finish); raising the threshold lets it go on, `abort` stops it.
    #[default]
    Pause,
    /// Stop for good (with a rollback when `rollbackOnAbort` is set).
    Abort,
}

/// Checks a device passes after its upgrade.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HealthGate {
    /// Seconds the device must keep informing after it came back on the new version.
    #[serde(default)]
    #[schemars(range(min = 0, max = 604800))]
    pub soak_seconds: u32,
    /// Parameter conditions it must meet on the new version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub parameters: Vec<ParameterMatch>,
}

/// Where a rollout stands.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct FirmwareRolloutStatus {
    /// `Progressing`, `Paused`, `Aborted` or `Complete`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// The wave under way (0 is the canary).
    #[serde(default)]
    pub current_wave: u32,
    /// Waves in all.
    #[serde(default)]
    pub waves: u32,
    /// The wave under way as people count (`1/3`: the canary of three waves), as the
    /// `Ready` condition's message names it; empty before the rollout starts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub wave: String,
    /// Devices targeted.
    #[serde(default)]
    pub total: u64,
    /// Devices not started.
    #[serde(default)]
    pub pending: u64,
    /// Devices waiting for a maintenance window (held, or told with ScheduleDownload).
    #[serde(default)]
    pub scheduled: u64,
    /// Devices downloading.
    #[serde(default)]
    pub downloading: u64,
    /// Devices installing (download done, not back on the new version yet, or soaking).
    #[serde(default)]
    pub installing: u64,
    /// Devices on the new version that passed the health gate.
    #[serde(default)]
    pub succeeded: u64,
    /// Devices that failed for good.
    #[serde(default)]
    pub failed: u64,
    /// Devices left out (already on the version, not compatible, or offline through their wave).
    #[serde(default)]
    pub skipped: u64,
    /// Devices going back to their previous firmware after an abort.
    #[serde(default)]
    pub rolling_back: u64,
    /// Devices back on their previous firmware after an abort.
    #[serde(default)]
    pub rolled_back: u64,
    /// Why the rollout holds or stopped, if it does.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Progressing, Paused, Degraded and Complete (with Ready, Reconciling and Stalled for
    /// kstatus).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
