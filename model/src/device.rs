//! Device identity and the per-device record.

use std::collections::BTreeSet;

use cwmp::{CwmpVersion, DeviceIdStruct};
use serde::{Deserialize, Serialize};

use crate::Millis;

/// The derived device id: `OUI-ProductClass-SerialNumber` (`OUI-SerialNumber` when the product
/// class is empty), each part percent-encoded so the id is URL and key safe.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceId(pub String);

impl DeviceId {
    /// Derives the id from the Inform's `DeviceIdStruct`.
    pub fn from_identity(identity: &DeviceIdStruct) -> DeviceId {
        let mut id = escape(&identity.oui);
        if !identity.product_class.is_empty() {
            id.push('-');
            id.push_str(&escape(&identity.product_class));
        }
        id.push('-');
        id.push_str(&escape(&identity.serial_number));
        DeviceId(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DeviceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Percent-encodes everything but ASCII letters, digits, `_` and `.`, so `-` stays a separator.
fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for byte in part.trim().bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'.' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Where and how to reach the device's connection-request server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionRequestInfo {
    /// `ManagementServer.ConnectionRequestURL` as last reported.
    pub url: String,
    /// `ManagementServer.ConnectionRequestUsername`, when known.
    pub username: String,
    /// `ManagementServer.ConnectionRequestPassword`, when known (CPEs never report it; it is
    /// whatever the ACS set or was configured with).
    pub password: String,
}

/// Credentials one device must present on the CWMP port (instead of the shared ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CwmpCredentials {
    /// The user name the device sends.
    pub username: String,
    /// Its password.
    pub password: String,
}

/// Which edge holds a device's CWMP session, until when: with several edges on one store, a
/// device is in at most one session across all of them. Renewed at every exchange, released
/// when the session ends, and void once expired (so a crashed edge never locks a device out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionLease {
    /// The edge holding the session.
    pub edge: String,
    /// The session's id on that edge.
    pub session: String,
    /// When the lease ends unless renewed (milliseconds since the epoch).
    pub expires: Millis,
}

impl SessionLease {
    /// Whether `edge` may take (or renew) the device's session at `now`: the lease is its
    /// own (the edge itself arbitrates between its sessions) or has expired.
    pub fn yields_to(&self, edge: &str, now: Millis) -> bool {
        self.edge == edge || self.expires <= now
    }
}

/// What the ACS keeps about one device, apart from its parameter tree, tasks and faults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRecord {
    /// Derived id.
    pub id: DeviceId,
    /// Identity from the Inform.
    pub identity: DeviceIdStruct,
    /// When the ACS first saw the device.
    pub first_seen: Millis,
    /// When the last Inform arrived.
    pub last_inform: Millis,
    /// Event codes of the last Inform, as sent.
    pub last_events: Vec<String>,
    /// When the device last booted (`1 BOOT`), if seen.
    pub last_boot: Option<Millis>,
    /// When the device last bootstrapped (`0 BOOTSTRAP`), if seen.
    pub last_bootstrap: Option<Millis>,
    /// The CWMP version the device speaks.
    pub cwmp_version: CwmpVersion,
    /// Connection-request address and credentials.
    pub connection_request: ConnectionRequestInfo,
    /// Free-form tags set through the API.
    pub tags: BTreeSet<String>,
    /// The device's address as seen by the ACS on its last session.
    pub remote_address: String,
}
