//! `DeviceTask`: one operation run on many devices, now, at their next inform, or on a
//! schedule.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{ParameterSetting, PARAMETER_NAMES_MESSAGE, PARAMETER_NAMES_RULE};

/// A mass operation on the devices of a group, a selector or a list.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "kubeacs.io",
    version = "v1alpha1",
    kind = "DeviceTask",
    namespaced,
    status = "DeviceTaskStatus",
    shortname = "dt",
    category = "kube-acs",
    printcolumn = r#"{"name":"Action","type":"string","jsonPath":".spec.action.name"}"#,
    printcolumn = r#"{"name":"Run","type":"string","jsonPath":".spec.run"}"#,
    printcolumn = r#"{"name":"Pending","type":"integer","jsonPath":".status.pending"}"#,
    printcolumn = r#"{"name":"Running","type":"integer","jsonPath":".status.running"}"#,
    printcolumn = r#"{"name":"Succeeded","type":"integer","jsonPath":".status.succeeded"}"#,
    printcolumn = r#"{"name":"Failed","type":"integer","jsonPath":".status.failed"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[x_kube(validation = Rule::new("self.run != 'Schedule' || has(self.schedule)").message("run: Schedule needs a schedule"))]
#[x_kube(validation = Rule::new("self == oldSelf").message("a DeviceTask is immutable: create a new one"))]
#[serde(rename_all = "camelCase")]
pub struct DeviceTaskSpec {
    /// Which devices.
    pub target: TaskTarget,
    /// What to do on each.
    pub action: TaskAction,
    /// When.
    #[serde(default)]
    pub run: RunMode,
    /// The schedule, for `run: Schedule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Connection requests per minute, for `run: Now` and `Schedule`.
    #[serde(default = "default_rate")]
    #[schemars(range(min = 1, max = 600000))]
    pub connection_requests_per_minute: u32,
    /// Most devices worked on at once.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 100000))]
    pub max_concurrent: u32,
}

fn default_rate() -> u32 {
    600
}

fn default_concurrency() -> u32 {
    50
}

/// Which devices a task is for (all given criteria together).
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("has(self.group) || has(self.selector) || size(self.devices) > 0").message("target needs a group, a selector or devices"))]
#[serde(rename_all = "camelCase")]
pub struct TaskTarget {
    /// A DeviceGroup's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Devices whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Device names.
    #[serde(default)]
    pub devices: Vec<String>,
}

/// The RPC a task runs.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ActionName {
    /// Reboot.
    Reboot,
    /// Factory reset.
    FactoryReset,
    /// SetParameterValues.
    SetParameterValues,
    /// GetParameterValues.
    GetParameterValues,
    /// Refresh a subtree: GetParameterNames then GetParameterValues.
    Refresh,
    /// Download a file (firmware, configuration).
    Download,
    /// ScheduleInform.
    ScheduleInform,
}

/// The action with its arguments.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("self.name != 'setParameterValues' || size(self.parameterValues) > 0").message("setParameterValues needs parameterValues"))]
#[x_kube(validation = Rule::new("self.name != 'getParameterValues' || size(self.parameterNames) > 0").message("getParameterValues needs parameterNames"))]
#[x_kube(validation = Rule::new("self.name != 'refresh' || has(self.parameterPath)").message("refresh needs parameterPath"))]
#[x_kube(validation = Rule::new("self.name != 'download' || has(self.download)").message("download needs download"))]
#[serde(rename_all = "camelCase")]
pub struct TaskAction {
    /// The RPC.
    pub name: ActionName,
    /// For setParameterValues.
    #[serde(default)]
    #[schemars(length(max = 256))]
    #[x_kube(validation = Rule::new(PARAMETER_NAMES_RULE).message(PARAMETER_NAMES_MESSAGE))]
    pub parameter_values: Vec<ParameterSetting>,
    /// For getParameterValues.
    #[serde(default)]
    pub parameter_names: Vec<String>,
    /// For refresh: a partial path ending with a dot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_path: Option<String>,
    /// For download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<DownloadAction>,
    /// For scheduleInform: seconds from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<u32>,
}

/// A file for the device to download.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DownloadAction {
    /// TR-069 file type, such as `1 Firmware Upgrade Image`.
    #[serde(default = "default_file_type")]
    pub file_type: String,
    /// Where the device fetches it.
    #[schemars(length(min = 1))]
    pub url: String,
    /// Size in bytes, if known.
    #[serde(default)]
    pub file_size: u64,
    /// Target file name.
    #[serde(default)]
    pub target_file_name: String,
}

fn default_file_type() -> String {
    "1 Firmware Upgrade Image".to_string()
}

/// When a task runs.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RunMode {
    /// Now, with connection requests at the given rate.
    #[default]
    Now,
    /// At each device's next inform (no connection requests).
    NextInform,
    /// At the times of `schedule`.
    Schedule,
}

/// A schedule: a cron expression in a time zone, optionally within a daily window.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// Five-field cron expression, such as `0 2 * * *`.
    #[schemars(length(min = 9))]
    pub cron: String,
    /// IANA time zone, such as `Europe/Berlin`.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Daily window (`HH:MM` to `HH:MM`) outside which no device is started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<TimeWindow>,
}

fn default_time_zone() -> String {
    "UTC".to_string()
}

/// A daily time window.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TimeWindow {
    /// Opens at, `HH:MM`.
    #[x_kube(validation = Rule::new("self.matches('^([01][0-9]|2[0-3]):[0-5][0-9]$')").message("start must be HH:MM"))]
    pub start: String,
    /// Closes at, `HH:MM` (may be earlier than start: the window spans midnight).
    #[x_kube(validation = Rule::new("self.matches('^([01][0-9]|2[0-3]):[0-5][0-9]$')").message("end must be HH:MM"))]
    pub end: String,
}

/// Progress of a task across its devices.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeviceTaskStatus {
    /// Devices not started yet.
    #[serde(default)]
    pub pending: u64,
    /// Devices being worked on.
    #[serde(default)]
    pub running: u64,
    /// Devices done.
    #[serde(default)]
    pub succeeded: u64,
    /// Devices that failed for good.
    #[serde(default)]
    pub failed: u64,
    /// When the first device started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When the last device finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
    /// Ready, Progressing and Degraded, kstatus style.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
