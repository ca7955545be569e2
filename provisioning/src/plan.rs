//! The next RPC that brings a device closer to its desired state, from what the ACS knows of
//! its tree. Called again after every answer (which updates the tree) until it says
//! [`Step::Converged`]; each call is a pure function of the desired state, the tree and the
//! instances created but not yet configured, so a session that drops resumes where it was.
//!
//! Order: discover unknown object tables (GetParameterNames), read unknown key values
//! (GetParameterValues), create missing instances (AddObject), delete surplus ones
//! (DeleteObject), read the instances whose values' types are unknown (GetParameterValues),
//! set every differing value in one SetParameterValues, then notification attributes in one
//! SetParameterAttributes.

use std::collections::{BTreeMap, BTreeSet};

use acs_model::{ParameterTree, PendingInstance};
use cwmp::{Body, ParameterValue, SetParameterAttribute, XsdType};

use crate::desired::{DesiredObjects, DesiredState};
use crate::tree::{names_updates, value_updates, TreeUpdate};

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// List an object table the ACS knows nothing of (GetParameterNames, whole subtree).
    Discover {
        /// The table path.
        path: String,
    },
    /// Read values the plan depends on (GetParameterValues).
    Read {
        /// Parameter names.
        names: Vec<String>,
    },
    /// Create an instance for a key value (AddObject).
    AddInstance {
        /// The table path.
        table: String,
        /// The key value it is for.
        key_value: String,
    },
    /// Delete an instance whose key is not desired (DeleteObject).
    DeleteInstance {
        /// The instance path.
        instance: String,
    },
    /// Set differing values (SetParameterValues).
    SetValues(Vec<ParameterValue>),
    /// Set differing notification attributes (SetParameterAttributes).
    SetNotifications(Vec<SetParameterAttribute>),
    /// Nothing left to do.
    Converged,
}

/// The next step for a device. `read` holds the subtrees already read in this session (a
/// device that leaves values out is not asked twice).
pub fn next_step(
    desired: &DesiredState,
    tree: &ParameterTree,
    pending: &[PendingInstance],
    read: &BTreeSet<String>,
) -> Step {
    for path in &desired.refresh {
        let mut subtree = tree.under(path);
        // Listed once GetParameterNames told the writability of what is under it.
        if !subtree.clone().any(|(_, r)| r.writable.is_some()) {
            return Step::Discover { path: path.clone() };
        }
        if !read.contains(path) && subtree.any(|(p, r)| !p.is_object() && r.value.is_none()) {
            return Step::Read {
                names: vec![path.clone()],
            };
        }
    }
    let mut values = Vec::new();
    for table in &desired.objects {
        match table_step(table, tree, pending, read, &mut values) {
            Step::Converged => {}
            step => return step,
        }
    }
    // Values without a type whose type the device has not reported yet, read (once a session)
    // before the set.
    let mut untyped = Vec::new();
    for (path, wanted) in &desired.parameters {
        let stored = tree.get(path).and_then(|r| r.value.as_ref());
        // The resource's type, else the one the device reported, else xsd:string.
        let xsd_type = match (&wanted.xsd_type, stored) {
            (Some(given), _) => given.clone(),
            (None, Some((_, reported))) => reported.clone(),
            (None, None) if !read.contains(path) => {
                untyped.push(path.clone());
                continue;
            }
            (None, None) => XsdType::String,
        };
        if !stored.is_some_and(|(value, _)| same_value(value, &wanted.value, &xsd_type)) {
            values.push(ParameterValue {
                name: path.clone(),
                value: wanted.value.clone(),
                xsd_type,
            });
        }
    }
    if !untyped.is_empty() {
        return Step::Read { names: untyped };
    }
    if !values.is_empty() {
        values.sort_by(|a, b| a.name.cmp(&b.name));
        values.dedup_by(|a, b| a.name == b.name);
        return Step::SetValues(values);
    }
    let attributes: Vec<SetParameterAttribute> = desired
        .notifications
        .iter()
        .filter(|(path, (wanted, _))| tree.get(path).and_then(|r| r.notification) != Some(*wanted))
        .map(|(path, (wanted, _))| SetParameterAttribute {
            name: path.clone(),
            notification_change: true,
            notification: *wanted,
            ..SetParameterAttribute::default()
        })
        .collect();
    if !attributes.is_empty() {
        return Step::SetNotifications(attributes);
    }
    Step::Converged
}

/// The command key and ParameterKey the ACS's provisioning RPCs carry.
pub const PROVISION_KEY: &str = "kube-acs-provision";

impl Step {
    /// The RPC for this step (`None` for [`Step::Converged`]).
    pub fn request(&self) -> Option<Body> {
        let key = PROVISION_KEY.to_string();
        Some(match self {
            Step::Discover { path } => Body::GetParameterNames {
                path: path.clone(),
                next_level: false,
            },
            Step::Read { names } => Body::GetParameterValues {
                names: names.clone(),
            },
            Step::AddInstance { table, .. } => Body::AddObject {
                object_name: table.clone(),
                parameter_key: key,
            },
            Step::DeleteInstance { instance } => Body::DeleteObject {
                object_name: instance.clone(),
                parameter_key: key,
            },
            Step::SetValues(values) => Body::SetParameterValues {
                parameters: values.clone(),
                parameter_key: key,
            },
            Step::SetNotifications(attributes) => Body::SetParameterAttributes(attributes.clone()),
            Step::Converged => return None,
        })
    }

    /// What the device's successful answer to this step changes: the stored tree, and the
    /// instances created but not yet configured.
    pub fn outcome(
        &self,
        answer: Body,
        pending: &mut Vec<PendingInstance>,
    ) -> Result<Vec<TreeUpdate>, String> {
        let updates = match (self, answer) {
            (Step::Discover { path }, Body::GetParameterNamesResponse(names)) => {
                names_updates(path, false, names)
            }
            (Step::Read { .. }, Body::GetParameterValuesResponse(values)) => value_updates(values),
            (
                Step::AddInstance { table, key_value },
                Body::AddObjectResponse {
                    instance_number, ..
                },
            ) => {
                let instance = format!("{table}{instance_number}.");
                pending.push(PendingInstance {
                    table: table.clone(),
                    key_value: key_value.clone(),
                    instance: instance.clone(),
                });
                vec![TreeUpdate::Exists {
                    path: instance,
                    writable: true,
                }]
            }
            (Step::DeleteInstance { instance }, Body::DeleteObjectResponse { .. }) => {
                pending.retain(|p| p.instance != *instance);
                vec![TreeUpdate::DeleteSubtree {
                    path: instance.clone(),
                }]
            }
            (Step::SetValues(values), Body::SetParameterValuesResponse { .. }) => {
                // Instances whose values are now set are configured.
                pending.retain(|p| !values.iter().any(|v| v.name.starts_with(&p.instance)));
                value_updates(values.iter().cloned())
            }
            (Step::SetNotifications(attributes), Body::SetParameterAttributesResponse) => {
                attributes
                    .iter()
                    .map(|a| TreeUpdate::Attributes {
                        path: a.name.clone(),
                        notification: Some(a.notification),
                        access_list: None,
                    })
                    .collect()
            }
            (step, answer) => {
                return Err(format!(
                    "{:?} answered with {}",
                    step.request().map(|b| cwmp::session::method_name(&b)),
                    cwmp::session::method_name(&answer)
                ))
            }
        };
        Ok(updates)
    }
}

/// The step one object table needs, adding the values its instances need to `values`.
fn table_step(
    table: &DesiredObjects,
    tree: &ParameterTree,
    pending: &[PendingInstance],
    read: &BTreeSet<String>,
    values: &mut Vec<ParameterValue>,
) -> Step {
    if tree.under(&table.path).next().is_none() {
        return Step::Discover {
            path: table.path.clone(),
        };
    }
    // Instances are the objects right under the table (`<table>3.`); what is in them is in
    // their objects or objects under those.
    let instances: BTreeSet<String> = tree
        .objects_under(&table.path)
        .filter_map(|(path, _)| {
            let number = path[table.path.len()..].split('.').next()?;
            number
                .parse::<u32>()
                .ok()
                .map(|_| format!("{}{number}.", table.path))
        })
        .collect();
    // Which instance holds which key value.
    let mut by_key: BTreeMap<String, String> = BTreeMap::new();
    let mut unknown_keys = Vec::new();
    for instance in &instances {
        // An instance created for a key is that key's, whatever it holds until it is set.
        if pending.iter().any(|p| p.instance == *instance) {
            continue;
        }
        let key_path = format!("{instance}{}", table.key);
        match tree.get(&key_path).and_then(|r| r.value.as_ref()) {
            Some((value, _)) => {
                by_key
                    .entry(value.clone())
                    .or_insert_with(|| instance.clone());
            }
            None => unknown_keys.push(key_path),
        }
    }
    if !unknown_keys.is_empty() {
        return Step::Read {
            names: unknown_keys,
        };
    }
    for p in pending.iter().filter(|p| p.table == table.path) {
        by_key
            .entry(p.key_value.clone())
            .or_insert_with(|| p.instance.clone());
    }
    let key_of =
        |instance: &BTreeMap<String, String>| instance.get(&table.key).cloned().unwrap_or_default();
    let wanted: BTreeSet<String> = table.instances.iter().map(key_of).collect();
    if let Some(missing) = table
        .instances
        .iter()
        .map(key_of)
        .find(|k| !by_key.contains_key(k))
    {
        return Step::AddInstance {
            table: table.path.clone(),
            key_value: missing,
        };
    }
    if table.delete_surplus {
        if let Some(surplus) = by_key
            .iter()
            .find(|(k, _)| !wanted.contains(*k))
            .map(|(_, i)| i.clone())
        {
            return Step::DeleteInstance { instance: surplus };
        }
    }
    // Instances holding values whose type is unknown, read (once a session) before the set.
    let mut untyped: Vec<String> = Vec::new();
    for instance in &table.instances {
        let path = &by_key[&key_of(instance)];
        for (name, value) in instance {
            let full = format!("{path}{name}");
            let stored = tree.get(&full).and_then(|r| r.value.as_ref());
            if stored.is_some_and(|(v, t)| same_value(v, value, t)) {
                continue;
            }
            let xsd_type = match instance_type(table, tree, &instances, path, name) {
                Some(xsd_type) => xsd_type,
                None if !read.contains(path) => {
                    if !untyped.contains(path) {
                        untyped.push(path.clone());
                    }
                    continue;
                }
                None => XsdType::String,
            };
            values.push(ParameterValue {
                name: full,
                value: value.clone(),
                xsd_type,
            });
        }
    }
    if !untyped.is_empty() {
        return Step::Read { names: untyped };
    }
    Step::Converged
}

/// The type to send the parameter `name` of the instance at `path` with: the one the
/// profile gives, else the one the device reported for it, else the one it reported for the
/// same parameter of another instance of the table (`instances`). `None` when unknown.
fn instance_type(
    table: &DesiredObjects,
    tree: &ParameterTree,
    instances: &BTreeSet<String>,
    path: &str,
    name: &str,
) -> Option<XsdType> {
    if let Some(xsd_type) = table.types.get(name) {
        return Some(xsd_type.clone());
    }
    let reported = |instance: &str| {
        tree.get(&format!("{instance}{name}"))
            .and_then(|r| r.value.as_ref())
            .map(|(_, xsd_type)| xsd_type.clone())
    };
    reported(path).or_else(|| {
        instances
            .iter()
            .filter(|other| *other != path)
            .find_map(|other| reported(other))
    })
}

/// Whether a stored value already is the desired one: booleans compare by meaning (`1` is
/// `true`), numbers and everything else by text (numbers trimmed).
pub fn same_value(stored: &str, desired: &str, xsd_type: &XsdType) -> bool {
    let boolean = |v: &str| match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    };
    match xsd_type {
        XsdType::Boolean => boolean(stored).is_some() && boolean(stored) == boolean(desired),
        XsdType::Int | XsdType::UnsignedInt | XsdType::Long | XsdType::UnsignedLong => {
            stored.trim() == desired.trim()
        }
        _ => stored == desired,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{DesiredValue, Source};
    use acs_model::ParameterRecord;

    fn record(value: &str) -> ParameterRecord {
        ParameterRecord {
            value: Some((value.into(), XsdType::String)),
            ..Default::default()
        }
    }

    fn source() -> Source {
        Source::Profile {
            name: "p".into(),
            generation: 1,
        }
    }

    fn mappings(delete_surplus: bool) -> DesiredState {
        DesiredState {
            objects: vec![DesiredObjects {
                path: "Device.NAT.PortMapping.".into(),
                key: "Description".into(),
                instances: vec![
                    [
                        ("Description".to_string(), "ssh".to_string()),
                        ("ExternalPort".to_string(), "22".to_string()),
                    ]
                    .into(),
                    [
                        ("Description".to_string(), "web".to_string()),
                        ("ExternalPort".to_string(), "80".to_string()),
                    ]
                    .into(),
                ],
                types: BTreeMap::new(),
                delete_surplus,
                source: source(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn values_are_set_in_one_batch_only_where_they_differ() {
        let mut desired = DesiredState::default();
        for (name, value, t) in [
            ("Device.A", "1", XsdType::Boolean),
            ("Device.B", "x", XsdType::String),
            ("Device.C", "y", XsdType::String),
        ] {
            desired.parameters.insert(
                name.into(),
                DesiredValue {
                    value: value.into(),
                    xsd_type: Some(t),
                    source: source(),
                },
            );
        }
        let tree: ParameterTree = [
            ("Device.A".to_string(), record("true")),
            ("Device.B".to_string(), record("x")),
        ]
        .into_iter()
        .collect();
        match next_step(&desired, &tree, &[], &BTreeSet::new()) {
            Step::SetValues(values) => assert_eq!(
                values.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
                ["Device.C"]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn values_without_a_type_take_the_one_the_device_reported() {
        let mut desired = DesiredState::default();
        for (name, value, t) in [
            (
                "Device.ManagementServer.PeriodicInformInterval",
                "300",
                None,
            ),
            ("Device.X_Vendor.Level", "7", Some(XsdType::Int)),
            ("Device.X_Vendor.New", "n", None),
        ] {
            desired.parameters.insert(
                name.into(),
                DesiredValue {
                    value: value.into(),
                    xsd_type: t,
                    source: source(),
                },
            );
        }
        let reported = |value: &str, xsd_type: XsdType| ParameterRecord {
            value: Some((value.into(), xsd_type)),
            ..Default::default()
        };
        let tree: ParameterTree = [
            (
                "Device.ManagementServer.PeriodicInformInterval".to_string(),
                reported("3600", XsdType::UnsignedInt),
            ),
            (
                "Device.X_Vendor.Level".to_string(),
                reported("1", XsdType::UnsignedInt),
            ),
        ]
        .into_iter()
        .collect();
        // The one the device never reported is read first.
        assert_eq!(
            next_step(&desired, &tree, &[], &BTreeSet::new()),
            Step::Read {
                names: vec!["Device.X_Vendor.New".into()]
            }
        );
        let read: BTreeSet<String> = ["Device.X_Vendor.New".to_string()].into();
        let Step::SetValues(values) = next_step(&desired, &tree, &[], &read) else {
            panic!("values expected");
        };
        let sent: Vec<(&str, &XsdType)> = values
            .iter()
            .map(|v| (v.name.as_str(), &v.xsd_type))
            .collect();
        assert_eq!(
            sent,
            [
                (
                    "Device.ManagementServer.PeriodicInformInterval",
                    &XsdType::UnsignedInt
                ),
                // The resource's type wins; one the device has none for goes as a string.
                ("Device.X_Vendor.Level", &XsdType::Int),
                ("Device.X_Vendor.New", &XsdType::String),
            ]
        );
    }

    #[test]
    fn object_tables_are_discovered_read_added_configured_and_pruned() {
        let desired = mappings(true);
        let mut tree = ParameterTree::default();
        assert_eq!(
            next_step(&desired, &tree, &[], &BTreeSet::new()),
            Step::Discover {
                path: "Device.NAT.PortMapping.".into()
            }
        );

        // The device has instances 1 (ssh) and 3 (unknown key yet).
        tree.insert(
            "Device.NAT.PortMapping.1.",
            ParameterRecord {
                object: true,
                ..Default::default()
            },
        );
        tree.insert("Device.NAT.PortMapping.1.Description", record("ssh"));
        tree.insert(
            "Device.NAT.PortMapping.3.",
            ParameterRecord {
                object: true,
                ..Default::default()
            },
        );
        tree.insert(
            "Device.NAT.PortMapping.3.Description",
            ParameterRecord::default(),
        );
        assert_eq!(
            next_step(&desired, &tree, &[], &BTreeSet::new()),
            Step::Read {
                names: vec!["Device.NAT.PortMapping.3.Description".into()]
            }
        );

        tree.insert("Device.NAT.PortMapping.3.Description", record("ftp"));
        assert_eq!(
            next_step(&desired, &tree, &[], &BTreeSet::new()),
            Step::AddInstance {
                table: "Device.NAT.PortMapping.".into(),
                key_value: "web".into()
            }
        );

        // AddObject created instance 4; the apply is interrupted before its values are set.
        let pending = [PendingInstance {
            table: "Device.NAT.PortMapping.".into(),
            key_value: "web".into(),
            instance: "Device.NAT.PortMapping.4.".into(),
        }];
        tree.insert(
            "Device.NAT.PortMapping.4.",
            ParameterRecord {
                object: true,
                ..Default::default()
            },
        );
        assert_eq!(
            next_step(&desired, &tree, &pending, &BTreeSet::new()),
            Step::DeleteInstance {
                instance: "Device.NAT.PortMapping.3.".into()
            }
        );
        tree.remove_subtree("Device.NAT.PortMapping.3.");
        // No type is known for ExternalPort: the instances are read first.
        assert_eq!(
            next_step(&desired, &tree, &pending, &BTreeSet::new()),
            Step::Read {
                names: vec![
                    "Device.NAT.PortMapping.1.".into(),
                    "Device.NAT.PortMapping.4.".into()
                ]
            }
        );
        // The device did not say (read already): strings.
        let read: BTreeSet<String> = [
            "Device.NAT.PortMapping.1.".to_string(),
            "Device.NAT.PortMapping.4.".to_string(),
        ]
        .into();
        match next_step(&desired, &tree, &pending, &read) {
            Step::SetValues(values) => {
                assert!(values.iter().all(|v| v.xsd_type == XsdType::String));
                let names: Vec<&str> = values.iter().map(|v| v.name.as_str()).collect();
                assert_eq!(
                    names,
                    [
                        "Device.NAT.PortMapping.1.ExternalPort",
                        "Device.NAT.PortMapping.4.Description",
                        "Device.NAT.PortMapping.4.ExternalPort"
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn instance_values_take_the_profiles_type_else_the_devices() {
        let mut desired = mappings(false);
        desired.objects[0]
            .types
            .insert("InternalPort".into(), XsdType::UnsignedInt);
        desired.objects[0].instances[0].insert("InternalPort".into(), "22".into());
        desired.objects[0].instances[1].insert("Enable".into(), "true".into());
        let typed = |value: &str, xsd_type: XsdType| ParameterRecord {
            value: Some((value.into(), xsd_type)),
            ..Default::default()
        };
        let mut tree: ParameterTree = [
            ("Device.NAT.PortMapping.1.Description", record("ssh")),
            (
                "Device.NAT.PortMapping.1.ExternalPort",
                typed("2222", XsdType::UnsignedInt),
            ),
            (
                "Device.NAT.PortMapping.1.Enable",
                typed("1", XsdType::Boolean),
            ),
            ("Device.NAT.PortMapping.2.Description", record("web")),
        ]
        .into_iter()
        .map(|(path, record)| (path.to_string(), record))
        .collect();
        // InternalPort has the profile's type; instance 2's ExternalPort and Enable take the
        // types instance 1 reported.
        let Step::SetValues(values) = next_step(&desired, &tree, &[], &BTreeSet::new()) else {
            panic!("values expected");
        };
        let sent: Vec<(&str, &str, &XsdType)> = values
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str(), &v.xsd_type))
            .collect();
        assert_eq!(
            sent,
            [
                (
                    "Device.NAT.PortMapping.1.ExternalPort",
                    "22",
                    &XsdType::UnsignedInt
                ),
                (
                    "Device.NAT.PortMapping.1.InternalPort",
                    "22",
                    &XsdType::UnsignedInt
                ),
                ("Device.NAT.PortMapping.2.Enable", "true", &XsdType::Boolean),
                (
                    "Device.NAT.PortMapping.2.ExternalPort",
                    "80",
                    &XsdType::UnsignedInt
                ),
            ]
        );
        // A parameter no instance reports a type for is read from the device first.
        desired.objects[0].instances[1].insert("LeaseDuration".into(), "0".into());
        assert_eq!(
            next_step(&desired, &tree, &[], &BTreeSet::new()),
            Step::Read {
                names: vec!["Device.NAT.PortMapping.2.".into()]
            }
        );
        tree.insert(
            "Device.NAT.PortMapping.2.LeaseDuration",
            typed("3600", XsdType::UnsignedInt),
        );
        let Step::SetValues(values) = next_step(&desired, &tree, &[], &BTreeSet::new()) else {
            panic!("values expected");
        };
        assert!(values
            .iter()
            .any(|v| v.name == "Device.NAT.PortMapping.2.LeaseDuration"
                && v.xsd_type == XsdType::UnsignedInt));
    }

    #[test]
    fn a_created_instance_keeps_its_key_while_its_defaults_are_read() {
        let desired = mappings(true);
        let mut tree: ParameterTree = [
            ("Device.NAT.PortMapping.1.Description", record("ssh")),
            ("Device.NAT.PortMapping.5.Description", record("")),
        ]
        .into_iter()
        .map(|(path, record)| (path.to_string(), record))
        .collect();
        tree.insert(
            "Device.NAT.PortMapping.5.",
            ParameterRecord {
                object: true,
                ..Default::default()
            },
        );
        let pending = [PendingInstance {
            table: "Device.NAT.PortMapping.".into(),
            key_value: "web".into(),
            instance: "Device.NAT.PortMapping.5.".into(),
        }];
        // Instance 5 holds the default (empty) key it was read with: it is still web's, not
        // a surplus instance to delete.
        assert!(matches!(
            next_step(&desired, &tree, &pending, &BTreeSet::new()),
            Step::Read { .. }
        ));
    }

    #[test]
    fn surplus_instances_stay_unless_asked() {
        let desired = mappings(false);
        let tree: ParameterTree = [
            (
                "Device.NAT.PortMapping.1.Description".to_string(),
                record("ssh"),
            ),
            (
                "Device.NAT.PortMapping.1.ExternalPort".to_string(),
                record("22"),
            ),
            (
                "Device.NAT.PortMapping.2.Description".to_string(),
                record("web"),
            ),
            (
                "Device.NAT.PortMapping.2.ExternalPort".to_string(),
                record("80"),
            ),
            (
                "Device.NAT.PortMapping.5.Description".to_string(),
                record("other"),
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            next_step(&desired, &tree, &[], &BTreeSet::new()),
            Step::Converged
        );
    }

    #[test]
    fn a_refreshed_subtree_is_listed_then_read_once() {
        let mut desired = DesiredState::default();
        desired.refresh.insert("Device.".into());
        // Only what the Inform carried: values, no writability.
        let mut tree: ParameterTree = [(
            "Device.DeviceInfo.SoftwareVersion".to_string(),
            record("1.0"),
        )]
        .into_iter()
        .collect();
        let none = BTreeSet::new();
        assert_eq!(
            next_step(&desired, &tree, &[], &none),
            Step::Discover {
                path: "Device.".into()
            }
        );
        // Listed: writability known, one value still unknown.
        for (path, value) in [
            ("Device.DeviceInfo.SoftwareVersion", Some("1.0")),
            ("Device.DeviceInfo.UpTime", None),
        ] {
            tree.insert(
                path,
                ParameterRecord {
                    value: value.map(|v| (v.to_string(), XsdType::String)),
                    writable: Some(false),
                    ..Default::default()
                },
            );
        }
        assert_eq!(
            next_step(&desired, &tree, &[], &none),
            Step::Read {
                names: vec!["Device.".into()]
            }
        );
        // Read in this session already (the device left a value out): not asked again.
        let read: BTreeSet<String> = ["Device.".to_string()].into();
        assert_eq!(next_step(&desired, &tree, &[], &read), Step::Converged);
    }

    #[test]
    fn notifications_come_last() {
        let mut desired = DesiredState::default();
        desired
            .notifications
            .insert("Device.DeviceInfo.SoftwareVersion".into(), (2, source()));
        let mut tree = ParameterTree::default();
        assert!(
            matches!(next_step(&desired, &tree, &[], &BTreeSet::new()), Step::SetNotifications(a) if a[0].notification == 2)
        );
        tree.insert(
            "Device.DeviceInfo.SoftwareVersion",
            ParameterRecord {
                notification: Some(2),
                ..Default::default()
            },
        );
        assert_eq!(
            next_step(&desired, &tree, &[], &BTreeSet::new()),
            Step::Converged
        );
    }
}
