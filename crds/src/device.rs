//! `Device`: one CPE, its identity, customer and service fields, and desired overrides.
//! Its full parameter tree stays in the store; the resource carries intent and a summary.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{ParameterSetting, PARAMETER_NAMES_MESSAGE, PARAMETER_NAMES_RULE};

/// A CPE managed by kube-acs.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "kubeacs.io",
    version = "v1alpha1",
    kind = "Device",
    namespaced,
    status = "DeviceStatus",
    shortname = "dev",
    category = "kube-acs",
    printcolumn = r#"{"name":"Serial","type":"string","jsonPath":".spec.identity.serialNumber"}"#,
    printcolumn = r#"{"name":"Product","type":"string","jsonPath":".spec.identity.productClass"}"#,
    printcolumn = r#"{"name":"Software","type":"string","jsonPath":".status.softwareVersion"}"#,
    printcolumn = r#"{"name":"Online","type":"boolean","jsonPath":".status.online"}"#,
    printcolumn = r#"{"name":"Last-Inform","type":"date","jsonPath":".status.lastInform"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSpec {
    /// Who the device is, as it reports itself in its Inform. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("identity is immutable"))]
    pub identity: DeviceIdentity,
    /// Customer and service fields, for grouping and templates.
    #[serde(default)]
    pub customer: CustomerFields,
    /// Parameter values this device must have, over any profile's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(validation = Rule::new(PARAMETER_NAMES_RULE).message(PARAMETER_NAMES_MESSAGE))]
    #[schemars(length(max = 256), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub parameters: Vec<ParameterSetting>,
    /// A Secret with the device's connection-request credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_request_secret: Option<SecretKeys>,
}

impl Device {
    /// The Device of a CPE known only by its identity (one that informed without a resource):
    /// no customer fields, overrides or secrets.
    pub fn for_identity(name: &str, identity: DeviceIdentity) -> Device {
        Device::new(
            name,
            DeviceSpec {
                identity,
                customer: CustomerFields::default(),
                parameters: Vec::new(),
                connection_request_secret: None,
            },
        )
    }
}

/// The identity a CPE reports in its Inform (`DeviceIdStruct`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeviceIdentity {
    /// Organizationally unique identifier: six hexadecimal digits.
    #[schemars(regex(pattern = r"^[0-9A-Fa-f]{6}$"))]
    pub oui: String,
    /// Product class (may be empty).
    #[serde(default)]
    pub product_class: String,
    /// Serial number.
    #[schemars(length(min = 1, max = 64))]
    pub serial_number: String,
}

/// Customer and service fields of a device.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CustomerFields {
    /// The subscriber the device belongs to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subscriber_id: String,
    /// The service plan, such as `fiber-1g`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub plan: String,
    /// The region, such as `eu-west`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// Any other fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// Where to find a credential pair in a Secret of the same namespace.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeys {
    /// The Secret's name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The key holding the user name.
    #[serde(default = "default_username_key")]
    pub username_key: String,
    /// The key holding the password.
    #[serde(default = "default_password_key")]
    pub password_key: String,
}

fn default_username_key() -> String {
    "username".to_string()
}

fn default_password_key() -> String {
    "password".to_string()
}

/// What kube-acs observed of a device.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatus {
    /// Whether the device informed within its periodic interval (plus grace).
    #[serde(default)]
    pub online: bool,
    /// When it last informed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_inform: Option<String>,
    /// Its software version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub software_version: String,
    /// A few key parameters (model, hardware version, WAN address...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub summary: BTreeMap<String, String>,
    /// Profiles applied to it, with the generation applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied_profiles: Vec<AppliedProfile>,
    /// Ready, Progressing and Degraded, kstatus style.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// A profile applied to a device.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AppliedProfile {
    /// The ConfigProfile's name.
    pub name: String,
    /// Its generation that the device now matches.
    pub generation: i64,
}
