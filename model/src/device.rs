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
///
/// The credentials used for a connection request are, per field: what the device holds as
/// far as the ACS knows (`deviceUsername` / `devicePassword`: last set successfully by a
/// profile or a task, or reported by the device), else the credentials configured for the
/// device through the API (`username` / `password`), else the global default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionRequestInfo {
    /// `ManagementServer.ConnectionRequestURL` as last reported.
    pub url: String,
    /// The user name configured for the device through the API (empty: none).
    pub username: String,
    /// The password configured for the device through the API.
    pub password: String,
    /// `ManagementServer.ConnectionRequestUsername` as last set on or reported by the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_username: Option<String>,
    /// `ManagementServer.ConnectionRequestPassword` as last set on the device (devices report
    /// it empty, which leaves the last known one in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_password: Option<String>,
}

impl ConnectionRequestInfo {
    /// The user name and password to send with a connection request, `default` being the
    /// global default pair: each field from what the device holds, else from the device's
    /// configured pair (when it has a user name), else from `default`.
    pub fn credentials<'a>(&'a self, default: (&'a str, &'a str)) -> (&'a str, &'a str) {
        let configured = if self.username.is_empty() {
            default
        } else {
            (self.username.as_str(), self.password.as_str())
        };
        (
            self.device_username.as_deref().unwrap_or(configured.0),
            self.device_password.as_deref().unwrap_or(configured.1),
        )
    }

    /// Records what the device holds, learned from a value it was set to or reported: a user
    /// name always, a password only when not empty (devices report passwords empty). Returns
    /// whether anything changed.
    pub fn learn(&mut self, username: Option<&str>, password: Option<&str>) -> bool {
        let mut changed = false;
        if let Some(username) = username {
            if self.device_username.as_deref() != Some(username) {
                self.device_username = Some(username.to_string());
                changed = true;
            }
        }
        if let Some(password) = password.filter(|p| !p.is_empty()) {
            if self.device_password.as_deref() != Some(password) {
                self.device_password = Some(password.to_string());
                changed = true;
            }
        }
        changed
    }

    /// Sets the credentials configured through the API, which replace what the ACS had
    /// learned of the device's.
    pub fn configure(&mut self, username: String, password: String) {
        self.username = username;
        self.password = password;
        self.device_username = None;
        self.device_password = None;
    }

    /// A copy safe to show: passwords masked.
    pub fn masked(&self) -> ConnectionRequestInfo {
        let mask = |password: &str| {
            if password.is_empty() {
                String::new()
            } else {
                cwmp::secrets::MASK.to_string()
            }
        };
        ConnectionRequestInfo {
            password: mask(&self.password),
            device_password: self.device_password.as_deref().map(mask),
            ..self.clone()
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_the_device_then_its_configuration_then_the_default() {
        let default = ("acs", "default-pass");
        let mut info = ConnectionRequestInfo::default();
        assert_eq!(info.credentials(default), default);
        info.configure("configured".into(), "configured-pass".into());
        assert_eq!(info.credentials(default), ("configured", "configured-pass"));
        // The device reports its user name and an empty password: the password stays known.
        assert!(info.learn(Some("reported"), Some("")));
        assert_eq!(info.credentials(default), ("reported", "configured-pass"));
        assert!(info.learn(None, Some("set-pass")));
        assert!(!info.learn(Some("reported"), Some("")), "nothing new");
        assert_eq!(info.credentials(default), ("reported", "set-pass"));
        // Configured through the API again: what was learned is forgotten.
        info.configure("again".into(), "again-pass".into());
        assert_eq!(info.credentials(default), ("again", "again-pass"));
    }

    #[test]
    fn masked_hides_every_password() {
        let mut info = ConnectionRequestInfo::default();
        info.configure("u".into(), "p".into());
        info.learn(Some("du"), Some("dp"));
        let masked = info.masked();
        assert_eq!(masked.password, cwmp::secrets::MASK);
        assert_eq!(masked.device_password.as_deref(), Some(cwmp::secrets::MASK));
        assert_eq!(masked.device_username.as_deref(), Some("du"));
        assert_eq!(ConnectionRequestInfo::default().masked().password, "");
    }
}
