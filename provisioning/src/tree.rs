//! Changes to a device's stored parameter tree, produced by the pure logic and applied by the
//! caller inside its store transaction.

use cwmp::{ParameterInfo, ParameterValue, XsdType};

/// One change to the stored parameter tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeUpdate {
    /// A parameter's value as the device reported (or accepted) it.
    Value {
        /// Full path.
        path: String,
        /// Value text.
        value: String,
        /// Declared type.
        xsd_type: XsdType,
    },
    /// A parameter or object exists, with its writability.
    Exists {
        /// Full path (objects end with a dot).
        path: String,
        /// Whether the ACS may write it.
        writable: bool,
    },
    /// Notification and access attributes.
    Attributes {
        /// Full path.
        path: String,
        /// New notification value, if known.
        notification: Option<u8>,
        /// New access list, if known.
        access_list: Option<Vec<String>>,
    },
    /// Everything under `root` that no [`TreeUpdate::Exists`] before this one in the same list
    /// names no longer exists on the device (the result of a full GetParameterNames of `root`).
    Prune {
        /// Partial path ending with a dot (empty for the whole tree).
        root: String,
    },
    /// An object instance and everything below it were deleted.
    DeleteSubtree {
        /// Instance path ending with a dot.
        path: String,
    },
    /// Forget the whole tree (0 BOOTSTRAP: the device was reset or is new).
    Reset,
}

impl From<ParameterValue> for TreeUpdate {
    /// The value the device reported (or accepted), its name and text moved into the update.
    fn from(parameter: ParameterValue) -> TreeUpdate {
        TreeUpdate::Value {
            path: parameter.name,
            value: parameter.value,
            xsd_type: parameter.xsd_type,
        }
    }
}

impl From<ParameterInfo> for TreeUpdate {
    /// A name the device listed, moved into the update.
    fn from(info: ParameterInfo) -> TreeUpdate {
        TreeUpdate::Exists {
            path: info.name,
            writable: info.writable,
        }
    }
}

/// The updates of values the device reported or accepted.
pub fn value_updates(values: impl IntoIterator<Item = ParameterValue>) -> Vec<TreeUpdate> {
    values.into_iter().map(TreeUpdate::from).collect()
}

/// The data model roots under which `ManagementServer.` holds the connection-request
/// credentials.
const ROOTS: [&str; 2] = ["Device.", "InternetGatewayDevice."];

/// The connection-request user name and password that `updates` carry (values set on or
/// reported by the device under `ManagementServer.ConnectionRequestUsername` and
/// `ManagementServer.ConnectionRequestPassword`), the last of each if several.
pub fn connection_request_credentials(updates: &[TreeUpdate]) -> (Option<&str>, Option<&str>) {
    let mut credentials = (None, None);
    for update in updates {
        let TreeUpdate::Value { path, value, .. } = update else {
            continue;
        };
        let Some(leaf) = ROOTS
            .iter()
            .find_map(|root| path.strip_prefix(root))
            .and_then(|rest| rest.strip_prefix("ManagementServer.ConnectionRequest"))
        else {
            continue;
        };
        match leaf {
            "Username" => credentials.0 = Some(value.as_str()),
            "Password" => credentials.1 = Some(value.as_str()),
            _ => {}
        }
    }
    credentials
}

/// The updates a GetParameterNamesResponse implies, including the pruning of vanished nodes
/// when the whole subtree was listed.
pub fn names_updates(
    root: &str,
    next_level: bool,
    names: impl IntoIterator<Item = ParameterInfo>,
) -> Vec<TreeUpdate> {
    let mut updates: Vec<TreeUpdate> = names.into_iter().map(TreeUpdate::from).collect();
    if !next_level {
        updates.push(TreeUpdate::Prune {
            root: root.to_string(),
        });
    }
    updates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(path: &str, value: &str) -> TreeUpdate {
        TreeUpdate::Value {
            path: path.into(),
            value: value.into(),
            xsd_type: XsdType::String,
        }
    }

    #[test]
    fn connection_request_credentials_are_found_under_either_root() {
        let updates = [
            value(
                "Device.ManagementServer.ConnectionRequestURL",
                "http://cpe/",
            ),
            value("Device.ManagementServer.ConnectionRequestUsername", "cr"),
            value("Device.ManagementServer.ConnectionRequestPassword", "pw"),
        ];
        assert_eq!(
            connection_request_credentials(&updates),
            (Some("cr"), Some("pw"))
        );
        let updates = [value(
            "InternetGatewayDevice.ManagementServer.ConnectionRequestPassword",
            "",
        )];
        assert_eq!(connection_request_credentials(&updates), (None, Some("")));
        let updates = [
            value("Device.X.ManagementServer.ConnectionRequestUsername", "no"),
            value("Device.ManagementServer.Username", "no"),
        ];
        assert_eq!(connection_request_credentials(&updates), (None, None));
    }
}
