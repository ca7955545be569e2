//! `DeviceGroup`: a set of devices by labels, parameters, customer fields and static members,
//! optionally within a parent group.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A group of devices. A device is a member when it is listed in `members`, or when it matches
/// every criterion given (selector, parameters, customer); and, with a `parent`, only if it is
/// a member of the parent too.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "kubeacs.io",
    version = "v1alpha1",
    kind = "DeviceGroup",
    namespaced,
    status = "DeviceGroupStatus",
    shortname = "dg",
    category = "kube-acs",
    printcolumn = r#"{"name":"Parent","type":"string","jsonPath":".spec.parent"}"#,
    printcolumn = r#"{"name":"Members","type":"integer","jsonPath":".status.memberCount"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    validation = Rule::new("!has(self.spec.parent) || self.spec.parent != self.metadata.name").message("a group cannot be its own parent")
)]
#[x_kube(validation = Rule::new("has(self.parent) || has(self.selector) || size(self.parameters) > 0 || size(self.customer) > 0 || size(self.members) > 0").message("a group needs at least one of parent, selector, parameters, customer or members"))]
#[serde(rename_all = "camelCase")]
pub struct DeviceGroupSpec {
    /// The parent group; members are always members of it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Devices whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Conditions on device parameters (all must hold).
    #[serde(default)]
    pub parameters: Vec<ParameterMatch>,
    /// Customer and service fields that must be equal (`subscriberId`, `plan`, `region`, or
    /// `attributes.<name>`).
    #[serde(default)]
    pub customer: BTreeMap<String, String>,
    /// Devices that are members whatever the criteria (by name).
    #[serde(default)]
    pub members: Vec<String>,
}

/// How a parameter is compared.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOperator {
    /// The value is equal.
    Equals,
    /// The value is different (or the parameter is unknown).
    NotEquals,
    /// The value starts with the given text.
    Prefix,
    /// The value matches a regular expression.
    Regex,
    /// A dotted version lower than the given one (`2.3.9 < 2.4.0`, numeric per part).
    VersionLessThan,
    /// A dotted version lower than or equal to the given one.
    VersionAtMost,
    /// A dotted version greater than the given one.
    VersionGreaterThan,
    /// A dotted version greater than or equal to the given one.
    VersionAtLeast,
    /// The parameter exists (any value).
    Exists,
}

/// A condition on one device parameter.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, PartialEq, Eq)]
#[x_kube(validation = Rule::new("self.operator == 'Exists' || has(self.value)").message("value is required unless the operator is Exists"))]
#[serde(rename_all = "camelCase")]
pub struct ParameterMatch {
    /// Full parameter path; a name without the `Device.` or `InternetGatewayDevice.` root
    /// matches under either (such as `DeviceInfo.SoftwareVersion`).
    #[schemars(length(min = 1))]
    pub name: String,
    /// The comparison.
    pub operator: MatchOperator,
    /// The value compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// What kube-acs knows of a group.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeviceGroupStatus {
    /// How many devices are members.
    #[serde(default)]
    pub member_count: u64,
    /// Ready, Progressing and Degraded, kstatus style.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
