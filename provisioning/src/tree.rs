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
