//! One node of a device's parameter tree as stored.

use cwmp::XsdType;
use serde::{Deserialize, Serialize};

use crate::Millis;

/// One parameter or object of a device's tree, with what is known of it and when it was learned.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterRecord {
    /// True for objects (paths ending with a dot).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub object: bool,
    /// The value and its declared type, when known (never for objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<(String, XsdType)>,
    /// Whether the ACS may write it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writable: Option<bool>,
    /// Notification attribute, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<u8>,
    /// Access list attribute, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_list: Option<Vec<String>>,
    /// When any of the above was last learned from the device.
    pub timestamp: Millis,
}
