//! The resources in force: devices, groups, profiles and tasks, indexed for sessions.

use std::collections::{BTreeMap, HashMap};

use acs_model::ParameterRecord;
use crds::device::DeviceIdentity;
use crds::{ConfigProfile, Device, DeviceGroup, DeviceTask, Firmware, FirmwareRollout};
use cwmp::DeviceIdStruct;

use crate::desired::{compile, DesiredState, ProfileError};
use crate::membership::{DeviceFacts, GroupSet, InvalidGroup};

/// The namespace of resources that name none (standalone YAML often does not), and the
/// default namespace of devices that inform without a Device resource.
pub const DEFAULT_NAMESPACE: &str = "default";

/// How a namespaced resource is keyed across tenants: its name in the default namespace,
/// `namespace/name` elsewhere (so standalone keys, all in the default namespace, stay plain
/// names).
pub fn resource_key(namespace: &str, name: &str) -> String {
    if namespace == DEFAULT_NAMESPACE {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

/// The [`resource_key`] of a resource.
pub fn key_of(resource: &impl kube::Resource) -> String {
    let meta = resource.meta();
    resource_key(
        meta.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE),
        meta.name.as_deref().unwrap_or_default(),
    )
}

/// The groups and profiles of one namespace: a tenant. A device gets only the profiles of its
/// own namespace, through groups of that namespace.
#[derive(Debug, Default)]
struct Tenant {
    groups: GroupSet,
    profiles: Vec<ConfigProfile>,
}

/// A consistent set of resources, replaced as a whole when the resources change.
///
/// Namespaces are tenants: a device belongs to the namespace of its Device resource, or to
/// the device namespace ([`ResourceSet::with_device_namespace`]) while it has none, and only
/// the groups, profiles and tasks of that namespace apply to it.
#[derive(Debug)]
pub struct ResourceSet {
    devices: BTreeMap<String, Device>,
    by_identity: HashMap<(String, String, String), String>,
    tenants: HashMap<String, Tenant>,
    group_list: Vec<DeviceGroup>,
    profiles: Vec<ConfigProfile>,
    tasks: Vec<DeviceTask>,
    invalid_groups: Vec<(String, InvalidGroup)>,
    device_namespace: String,
    firmwares: Vec<Firmware>,
    rollouts: Vec<FirmwareRollout>,
    refused: Vec<RefusedResource>,
}

/// A resource document refused at load (standalone mode's resources directory), listed
/// beside the valid resources so that a user sees why without reading the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedResource {
    /// Its kind (such as `ConfigProfile`), when the document names a kube-acs kind.
    pub kind: Option<String>,
    /// Its name, or `<file>#<document>` when the document has none.
    pub name: String,
    /// Why it was refused: the file, the document and the field.
    pub message: String,
}

impl RefusedResource {
    /// Whether it is listed among the resources of `kind` (a refused document of unknown
    /// kind is listed under every kind).
    pub fn is_listed_as(&self, kind: &str) -> bool {
        self.kind.as_deref().is_none_or(|k| k == kind)
    }
}

impl Default for ResourceSet {
    fn default() -> Self {
        ResourceSet::new(Vec::new(), Vec::new(), Vec::new(), Vec::new())
    }
}

/// The resource's namespace, [`DEFAULT_NAMESPACE`] filled in where it names none.
fn namespaced<K: kube::Resource>(mut resource: K) -> K {
    let namespace = &mut resource.meta_mut().namespace;
    if namespace.as_deref().is_none_or(str::is_empty) {
        *namespace = Some(DEFAULT_NAMESPACE.to_string());
    }
    resource
}

/// A resource's namespace ([`DEFAULT_NAMESPACE`] without one).
pub fn namespace_of_resource(resource: &impl kube::Resource) -> &str {
    resource
        .meta()
        .namespace
        .as_deref()
        .unwrap_or(DEFAULT_NAMESPACE)
}

impl ResourceSet {
    /// Indexes resources by namespace; groups that cannot be used are kept aside with the
    /// reason. Resources without a namespace are in [`DEFAULT_NAMESPACE`].
    pub fn new(
        devices: Vec<Device>,
        groups: Vec<DeviceGroup>,
        profiles: Vec<ConfigProfile>,
        tasks: Vec<DeviceTask>,
    ) -> ResourceSet {
        let groups: Vec<DeviceGroup> = groups.into_iter().map(namespaced).collect();
        let profiles: Vec<ConfigProfile> = profiles.into_iter().map(namespaced).collect();
        let tasks: Vec<DeviceTask> = tasks.into_iter().map(namespaced).collect();
        let mut tenants: HashMap<String, Tenant> = HashMap::new();
        let mut invalid_groups = Vec::new();
        let mut by_namespace: BTreeMap<&str, Vec<DeviceGroup>> = BTreeMap::new();
        for group in &groups {
            by_namespace
                .entry(namespace_of_resource(group))
                .or_default()
                .push(group.clone());
        }
        for (namespace, groups) in by_namespace {
            let (compiled, invalid) = GroupSet::new(&groups);
            invalid_groups.extend(
                invalid
                    .into_iter()
                    .map(|(name, reason)| (resource_key(namespace, &name), reason)),
            );
            tenants.entry(namespace.to_string()).or_default().groups = compiled;
        }
        for profile in &profiles {
            tenants
                .entry(namespace_of_resource(profile).to_string())
                .or_default()
                .profiles
                .push(profile.clone());
        }
        let mut set = ResourceSet {
            devices: BTreeMap::new(),
            by_identity: HashMap::new(),
            tenants,
            group_list: groups,
            profiles,
            tasks,
            invalid_groups,
            device_namespace: DEFAULT_NAMESPACE.to_string(),
            firmwares: Vec::new(),
            rollouts: Vec::new(),
            refused: Vec::new(),
        };
        for device in devices {
            let device = namespaced(device);
            let key = key_of(&device);
            let id = &device.spec.identity;
            set.by_identity.insert(
                (
                    id.oui.to_ascii_uppercase(),
                    id.product_class.clone(),
                    id.serial_number.clone(),
                ),
                key.clone(),
            );
            set.devices.insert(key, device);
        }
        set
    }

    /// The same set, with `namespace` as the namespace of devices that have no Device
    /// resource (where the operator creates theirs).
    pub fn with_device_namespace(mut self, namespace: &str) -> ResourceSet {
        if !namespace.is_empty() {
            self.device_namespace = namespace.to_string();
        }
        self
    }

    /// The same set with Firmware and FirmwareRollout resources.
    pub fn with_firmware(
        mut self,
        firmwares: Vec<Firmware>,
        rollouts: Vec<FirmwareRollout>,
    ) -> ResourceSet {
        self.firmwares = firmwares.into_iter().map(namespaced).collect();
        self.rollouts = rollouts.into_iter().map(namespaced).collect();
        self
    }

    /// The same set with the documents refused at load.
    pub fn with_refused(mut self, refused: Vec<RefusedResource>) -> ResourceSet {
        self.refused = refused;
        self
    }

    /// The documents refused at load.
    pub fn refused(&self) -> &[RefusedResource] {
        &self.refused
    }

    /// Firmware resources.
    pub fn firmwares(&self) -> &[Firmware] {
        &self.firmwares
    }

    /// The Firmware `name` of `namespace`.
    pub fn firmware(&self, namespace: &str, name: &str) -> Option<&Firmware> {
        self.firmwares.iter().find(|f| {
            namespace_of_resource(*f) == namespace && f.metadata.name.as_deref() == Some(name)
        })
    }

    /// FirmwareRollout resources.
    pub fn rollouts(&self) -> &[FirmwareRollout] {
        &self.rollouts
    }

    /// The namespace of devices without a Device resource.
    pub fn device_namespace(&self) -> &str {
        &self.device_namespace
    }

    /// Device resources by [`resource_key`].
    pub fn devices(&self) -> &BTreeMap<String, Device> {
        &self.devices
    }

    /// Group resources.
    pub fn groups(&self) -> &[DeviceGroup] {
        &self.group_list
    }

    /// The objects holding the parameters groups are defined by (paths ending with `.`;
    /// without a data-model root where the condition has none), so a device's memberships
    /// can be evaluated from them alone.
    pub fn group_objects(&self) -> std::collections::BTreeSet<String> {
        self.group_list
            .iter()
            .flat_map(|group| &group.spec.parameters)
            .map(|condition| match condition.name.rfind('.') {
                Some(dot) => condition.name[..=dot].to_string(),
                None => String::new(),
            })
            .collect()
    }

    /// Groups that cannot be used (by [`resource_key`]), with the reason.
    pub fn invalid_groups(&self) -> &[(String, InvalidGroup)] {
        &self.invalid_groups
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

    /// The namespace (tenant) of a CPE: its Device resource's, else the device namespace.
    pub fn namespace_of(&self, identity: &DeviceIdStruct) -> &str {
        self.device_for(identity)
            .map(namespace_of_resource)
            .unwrap_or(&self.device_namespace)
    }

    /// The names of the groups of `namespace` a device is a member of, sorted.
    pub fn memberships(&self, namespace: &str, facts: &DeviceFacts) -> Vec<String> {
        self.tenants
            .get(namespace)
            .map(|t| t.groups.memberships(facts))
            .unwrap_or_default()
    }

    /// Whether a device is a member of group `group` of `namespace`.
    pub fn is_member(&self, namespace: &str, group: &str, facts: &DeviceFacts) -> bool {
        self.tenants
            .get(namespace)
            .is_some_and(|t| t.groups.is_member(group, facts))
    }

    /// Whether anything here can give a device a desired state.
    pub fn provisions_anything(&self) -> bool {
        !self.profiles.is_empty() || self.devices.values().any(|d| !d.spec.parameters.is_empty())
    }

    /// The facts of a CPE: its Device resource's labels and customer fields (when there is
    /// one), the values in its stored tree, and its identity as the `DeviceInfo` parameters
    /// (`ManufacturerOUI`, `ProductClass`, `SerialNumber`, `Manufacturer`) where the tree
    /// lacks them, so groups can match a device on its very first Inform.
    pub fn facts<'t, P: ToString>(
        &self,
        identity: &DeviceIdStruct,
        tree: impl IntoIterator<Item = (P, &'t ParameterRecord)>,
    ) -> DeviceFacts {
        let resource = self.device_for(identity);
        let mut parameters: BTreeMap<String, String> = tree
            .into_iter()
            .filter_map(|(path, record)| {
                record
                    .value
                    .as_ref()
                    .map(|(v, _)| (path.to_string(), v.clone()))
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

    /// The desired state of a CPE whose data model root is `root`, from the profiles of its
    /// namespace and its own overrides.
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
        let empty = Tenant::default();
        let tenant = self
            .tenants
            .get(self.namespace_of(identity))
            .unwrap_or(&empty);
        compile(facts, overrides, &tenant.groups, &tenant.profiles, root)
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
