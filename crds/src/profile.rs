//! `ConfigProfile`: configuration every device of some groups converges to.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{
    ParameterSetting, ParameterType, PARAMETER_NAMES_MESSAGE, PARAMETER_NAMES_RULE,
};

/// Desired configuration for the devices of `groups`. Where profiles overlap, the higher
/// `priority` wins per parameter (ties: the name that sorts first wins); a Device's own
/// `parameters` win over every profile.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "kubeacs.io",
    version = "v1alpha1",
    kind = "ConfigProfile",
    namespaced,
    status = "ConfigProfileStatus",
    shortname = "cp",
    category = "kube-acs",
    printcolumn = r#"{"name":"Priority","type":"integer","jsonPath":".spec.priority"}"#,
    printcolumn = r#"{"name":"Matched","type":"integer","jsonPath":".status.matchedDevices"}"#,
    printcolumn = r#"{"name":"Applied","type":"integer","jsonPath":".status.appliedDevices"}"#,
    printcolumn = r#"{"name":"Failed","type":"integer","jsonPath":".status.failedDevices"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ConfigProfileSpec {
    /// The groups whose devices get this profile.
    #[schemars(length(min = 1))]
    pub groups: Vec<String>,
    /// Precedence over overlapping profiles (higher wins).
    #[serde(default)]
    #[schemars(range(min = -1000, max = 1000))]
    pub priority: i32,
    /// Parameter values to set; values may use `{{ fact }}` templates (`serialNumber`, `oui`,
    /// `productClass`, `subscriberId`, `plan`, `region`, `attributes.<name>`, or any parameter
    /// path).
    #[serde(default)]
    #[x_kube(validation = Rule::new(PARAMETER_NAMES_RULE).message(PARAMETER_NAMES_MESSAGE))]
    #[schemars(length(max = 256), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub parameters: Vec<ParameterSetting>,
    /// Subtrees the ACS must know: listed (GetParameterNames) and read (GetParameterValues)
    /// when it does not know them yet, such as `Device.` for a device's whole tree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[x_kube(validation = Rule::new("self.all(p, size(p) <= 256 && p.endsWith('.') && (p.startsWith('Device.') || p.startsWith('InternetGatewayDevice.')))").message("refresh paths must be objects such as Device. or Device.WiFi."))]
    pub refresh: Vec<String>,
    /// Object instances that must exist.
    #[serde(default)]
    #[schemars(length(max = 32))]
    pub objects: Vec<ObjectInstances>,
    /// Notification attributes to set.
    #[serde(default)]
    pub notifications: Vec<NotificationSetting>,
    /// The periodic inform interval in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 30, max = 604800))]
    pub periodic_inform_interval: Option<u32>,
}

/// Instances of a multi-instance object, told apart by a key parameter.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, PartialEq, Eq)]
#[x_kube(validation = Rule::new("self.instances.all(i, self.key in i)").message("every instance needs a value for the key parameter"))]
#[x_kube(validation = Rule::new("self.instances.all(i, self.instances.exists_one(j, j[self.key] == i[self.key]))").message("key values must be unique"))]
#[serde(rename_all = "camelCase")]
pub struct ObjectInstances {
    /// The object table, ending with a dot, such as `Device.NAT.PortMapping.`.
    #[schemars(length(max = 256))]
    #[x_kube(validation = Rule::new("self.endsWith('.') && (self.startsWith('Device.') || self.startsWith('InternetGatewayDevice.'))").message("path must be an object table such as Device.NAT.PortMapping."))]
    pub path: String,
    /// The parameter (relative to an instance) whose value identifies an instance.
    #[schemars(length(min = 1, max = 128))]
    pub key: String,
    /// The instances: parameter values relative to the instance, including the key.
    #[schemars(
        length(max = 32),
        extend("items" = {"type": "object", "maxProperties": 32, "additionalProperties": {"type": "string", "maxLength": 256}})
    )]
    pub instances: Vec<BTreeMap<String, String>>,
    /// Types of the instances' parameters, by name relative to an instance, as a parameter's
    /// `type` (`xsd:unsignedInt`...). A parameter left out is sent with the type the device
    /// reported for it (read from the device when not known yet), else as `xsd:string`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 32))]
    pub types: BTreeMap<String, ParameterType>,
    /// Delete instances whose key is not listed.
    #[serde(default)]
    pub delete_surplus: bool,
}

/// A notification attribute for a parameter.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NotificationSetting {
    /// Parameter path (or partial path ending with a dot).
    #[schemars(length(min = 1))]
    pub name: String,
    /// 0 off, 1 passive, 2 active (3 to 6 for later amendments' modes).
    #[schemars(range(min = 0, max = 6))]
    pub notification: u8,
}

/// How the profile is applied across its devices.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConfigProfileStatus {
    /// Devices in the profile's groups.
    #[serde(default)]
    pub matched_devices: u64,
    /// Devices that match the current generation.
    #[serde(default)]
    pub applied_devices: u64,
    /// Devices still to converge.
    #[serde(default)]
    pub pending_devices: u64,
    /// Devices whose apply failed for good.
    #[serde(default)]
    pub failed_devices: u64,
    /// Ready, Progressing and Degraded, kstatus style.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
