//! The resources in force: devices, groups, profiles and tasks, indexed for sessions.

use std::collections::{BTreeMap, HashMap};

use acs_model::ParameterRecord;
use crds::device::DeviceIdentity;
use crds::{ConfigProfile, Device, DeviceGroup, DeviceTask};
use cwmp::DeviceIdStruct;

use crate::desired::{compile, DesiredState, ProfileError};
use crate::membership::{DeviceFacts, GroupSet, InvalidGroup};

/// A consistent set of resources, replaced as a whole when the resources change.
#[derive(Debug, Default)]
pub struct ResourceSet {
    devices: BTreeMap<String, Device>,
    by_identity: HashMap<(String, String, String), String>,
    groups: GroupSet,
    group_list: Vec<DeviceGroup>,
    profiles: Vec<ConfigProfile>,
    tasks: Vec<DeviceTask>,
    invalid_groups: Vec<(String, InvalidGroup)>,
}

impl ResourceSet {
    /// Indexes resources; groups that cannot be used are kept aside with the reason.
    pub fn new(
        devices: Vec<Device>,
        groups: Vec<DeviceGroup>,
        profiles: Vec<ConfigProfile>,
        tasks: Vec<DeviceTask>,
    ) -> ResourceSet {
        let (compiled, invalid_groups) = GroupSet::new(&groups);
        let mut set = ResourceSet {
            groups: compiled,
            group_list: groups,
            profiles,
            tasks,
            invalid_groups,
            ..ResourceSet::default()
        };
        for device in devices {
            let name = device.metadata.name.clone().unwrap_or_default();
            let id = &device.spec.identity;
            set.by_identity.insert(
                (
                    id.oui.to_ascii_uppercase(),
                    id.product_class.clone(),
                    id.serial_number.clone(),
                ),
                name.clone(),
            );
            set.devices.insert(name, device);
        }
        set
    }

    /// Device resources by name.
    pub fn devices(&self) -> &BTreeMap<String, Device> {
        &self.devices
    }

    /// Group resources.
    pub fn groups(&self) -> &[DeviceGroup] {
        &self.group_list
    }

    /// Groups that cannot be used, with the reason.
    pub fn invalid_groups(&self) -> &[(String, InvalidGroup)] {
        &self.invalid_groups
    }

    /// The compiled groups.
    pub fn group_set(&self) -> &GroupSet {
        &self.groups
    }

    /// Profile resources.
    pub fn profiles(&self) -> &[ConfigProfile] {
        &self.profiles
    }

    /// Task resources.
    pub fn tasks(&self) -> &[DeviceTask] {
        &self.tasks
    }

    /// The Device resource of a CPE, by the identity in its Inform.
    pub fn device_for(&self, identity: &DeviceIdStruct) -> Option<&Device> {
        let key = (
            identity.oui.to_ascii_uppercase(),
            identity.product_class.clone(),
            identity.serial_number.clone(),
        );
        self.by_identity
            .get(&key)
            .and_then(|name| self.devices.get(name))
    }

    /// Whether anything here can give a device a desired state.
    pub fn provisions_anything(&self) -> bool {
        !self.profiles.is_empty() || self.devices.values().any(|d| !d.spec.parameters.is_empty())
    }

    /// The facts of a CPE: its Device resource's labels and customer fields (when there is
    /// one), the values in its stored tree, and its identity as the `DeviceInfo` parameters
    /// (`ManufacturerOUI`, `ProductClass`, `SerialNumber`, `Manufacturer`) where the tree
    /// lacks them, so groups can match a device on its very first Inform.
    pub fn facts<'t>(
        &self,
        identity: &DeviceIdStruct,
        tree: impl IntoIterator<Item = (&'t String, &'t ParameterRecord)>,
    ) -> DeviceFacts {
        let resource = self.device_for(identity);
        let mut parameters: BTreeMap<String, String> = tree
            .into_iter()
            .filter_map(|(path, record)| {
                record
                    .value
                    .as_ref()
                    .map(|(v, _)| (path.clone(), v.clone()))
            })
            .collect();
        let root = if parameters
            .keys()
            .any(|p| p.starts_with("InternetGatewayDevice."))
        {
            "InternetGatewayDevice."
        } else {
            "Device."
        };
        for (name, value) in [
            ("ManufacturerOUI", &identity.oui),
            ("ProductClass", &identity.product_class),
            ("SerialNumber", &identity.serial_number),
            ("Manufacturer", &identity.manufacturer),
        ] {
            parameters
                .entry(format!("{root}DeviceInfo.{name}"))
                .or_insert_with(|| value.clone());
        }
        DeviceFacts {
            name: resource
                .and_then(|d| d.metadata.name.clone())
                .unwrap_or_else(|| device_name(identity)),
            identity: DeviceIdentity {
                oui: identity.oui.clone(),
                product_class: identity.product_class.clone(),
                serial_number: identity.serial_number.clone(),
            },
            labels: resource
                .and_then(|d| d.metadata.labels.clone())
                .unwrap_or_default(),
            customer: resource
                .map(|d| d.spec.customer.clone())
                .unwrap_or_default(),
            parameters,
        }
    }

    /// The desired state of a CPE whose data model root is `root`.
    pub fn desired(
        &self,
        identity: &DeviceIdStruct,
        facts: &DeviceFacts,
        root: &str,
    ) -> (DesiredState, Vec<ProfileError>) {
        let overrides = self
            .device_for(identity)
            .map(|d| d.spec.parameters.as_slice())
            .unwrap_or_default();
        compile(facts, overrides, &self.groups, &self.profiles, root)
    }
}

/// The Device resource name for a CPE that has none: its id in lower case with anything but
/// letters, digits, `-` and `.` replaced by `-` (a valid Kubernetes object name).
pub fn device_name(identity: &DeviceIdStruct) -> String {
    let raw = if identity.product_class.is_empty() {
        format!("{}-{}", identity.oui, identity.serial_number)
    } else {
        format!(
            "{}-{}-{}",
            identity.oui, identity.product_class, identity.serial_number
        )
    };
    let mut name: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(253);
    name.trim_matches(['-', '.']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_are_valid_object_names() {
        let identity = DeviceIdStruct {
            manufacturer: String::new(),
            oui: "00D09E".into(),
            product_class: "Home GW_2".into(),
            serial_number: "SN/123".into(),
        };
        assert_eq!(device_name(&identity), "00d09e-home-gw-2-sn-123");
    }
}
