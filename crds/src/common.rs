//! Types shared by several resources.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The declared type of a parameter value (its `xsi:type`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ParameterType {
    /// `xsd:string`
    #[default]
    #[serde(rename = "xsd:string")]
    String,
    /// `xsd:int`
    #[serde(rename = "xsd:int")]
    Int,
    /// `xsd:unsignedInt`
    #[serde(rename = "xsd:unsignedInt")]
    UnsignedInt,
    /// `xsd:long`
    #[serde(rename = "xsd:long")]
    Long,
    /// `xsd:unsignedLong`
    #[serde(rename = "xsd:unsignedLong")]
    UnsignedLong,
    /// `xsd:boolean`
    #[serde(rename = "xsd:boolean")]
    Boolean,
    /// `xsd:dateTime`
    #[serde(rename = "xsd:dateTime")]
    DateTime,
    /// `xsd:base64`
    #[serde(rename = "xsd:base64")]
    Base64,
    /// `xsd:hexBinary`
    #[serde(rename = "xsd:hexBinary")]
    HexBinary,
}

/// A parameter and the value it must have.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSetting {
    /// Full parameter path, such as `Device.WiFi.SSID.1.SSID`.
    #[schemars(length(min = 1, max = 256))]
    pub name: String,
    /// The value; it may use `{{ fact }}` templates, such as `{{ serialNumber }}`.
    #[schemars(length(max = 4096))]
    pub value: String,
    /// Its type; when left out, the type the device reports for the parameter, else
    /// `xsd:string`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub value_type: Option<ParameterType>,
}

/// The CEL rule that every name in a list of parameters is a full path of a TR-069 data model
/// (not an object: no trailing dot) and appears once.
pub const PARAMETER_NAMES_RULE: &str = "self.all(p, (p.name.startsWith('Device.') || p.name.startsWith('InternetGatewayDevice.')) && !p.name.endsWith('.'))";
/// Message of [`PARAMETER_NAMES_RULE`].
pub const PARAMETER_NAMES_MESSAGE: &str =
    "parameter names must start with Device. or InternetGatewayDevice. and must not end with a dot";
/// Most parameter settings in one list (bounds the cost of the CEL rules over it).
pub const MAX_PARAMETERS: u32 = 256;

/// The first parameter name that appears twice in `settings`, if any. In a cluster the API
/// server enforces this through `x-kubernetes-list-type: map`; standalone mode calls this.
pub fn duplicate_name(settings: &[ParameterSetting]) -> Option<&str> {
    let mut seen = std::collections::BTreeSet::new();
    settings
        .iter()
        .map(|s| s.name.as_str())
        .find(|name| !seen.insert(*name))
}
