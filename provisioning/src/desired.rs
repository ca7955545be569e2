//! A device's desired state, compiled from the profiles of its groups and its own overrides.
//!
//! Precedence, per parameter, object table and notification: the device's own `parameters`
//! first; then profiles by `priority`, highest first; between equal priorities, the profile
//! whose name sorts first. The first setter wins; the others are shadowed for that item only.

use std::collections::BTreeMap;

use crds::{ConfigProfile, ParameterSetting, ParameterType};
use cwmp::XsdType;

use crate::membership::{DeviceFacts, GroupSet};

/// Where a desired item comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// The Device resource's own `parameters`.
    Device,
    /// A ConfigProfile, by name and generation.
    Profile {
        /// The profile's name.
        name: String,
        /// Its generation.
        generation: i64,
    },
}

/// One desired parameter value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DesiredValue {
    /// The value, templates rendered.
    pub value: String,
    /// Its type, when the resource gives it (else the device's, else `xsd:string`).
    pub xsd_type: Option<XsdType>,
    /// Who asked for it.
    pub source: Source,
}

/// Instances that must exist in one object table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DesiredObjects {
    /// The table, such as `Device.NAT.PortMapping.`.
    pub path: String,
    /// The key parameter, relative to an instance.
    pub key: String,
    /// Instances: parameter values relative to the instance (key included), rendered.
    pub instances: Vec<BTreeMap<String, String>>,
    /// Types the profile gives the instances' parameters (relative names); the others take
    /// the type the device reports.
    pub types: BTreeMap<String, XsdType>,
    /// Whether instances with other keys are deleted.
    pub delete_surplus: bool,
    /// Who asked for it.
    pub source: Source,
}

/// Everything a device should have.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct DesiredState {
    /// Parameter values by full path.
    pub parameters: BTreeMap<String, DesiredValue>,
    /// Object tables.
    pub objects: Vec<DesiredObjects>,
    /// Notification attributes by path.
    pub notifications: BTreeMap<String, (u8, Source)>,
    /// Subtrees the ACS must know.
    pub refresh: std::collections::BTreeSet<String>,
    /// The profiles that apply, with their generations, by precedence.
    pub profiles: Vec<(String, i64)>,
}

impl DesiredState {
    /// Whether nothing at all is desired (no profile applies, no own parameters).
    pub fn is_empty(&self) -> bool {
        self.parameters.is_empty()
            && self.objects.is_empty()
            && self.notifications.is_empty()
            && self.refresh.is_empty()
    }

    /// A fingerprint of the whole desired state: equal states give equal fingerprints.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut hasher);
        hasher.finish()
    }
}

/// A profile that cannot be applied to this device (reported as a condition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// The profile.
    pub profile: String,
    /// What is wrong, in words.
    pub message: String,
}

/// Compiles the desired state of a device whose data model root is `root` (`Device.` or
/// `InternetGatewayDevice.`). Profiles that fail to render for this device are left out and
/// returned as errors.
pub fn compile(
    device: &DeviceFacts,
    overrides: &[ParameterSetting],
    groups: &GroupSet,
    profiles: &[ConfigProfile],
    root: &str,
) -> (DesiredState, Vec<ProfileError>) {
    let mut state = DesiredState::default();
    let mut errors = Vec::new();
    for setting in overrides {
        match render(&setting.value, device) {
            Ok(value) => {
                state
                    .parameters
                    .entry(setting.name.clone())
                    .or_insert(DesiredValue {
                        value,
                        xsd_type: setting.value_type.map(xsd_type),
                        source: Source::Device,
                    });
            }
            Err(message) => errors.push(ProfileError {
                profile: format!("Device/{}", device.name),
                message,
            }),
        }
    }
    let mut applicable: Vec<&ConfigProfile> = profiles
        .iter()
        .filter(|p| p.spec.groups.iter().any(|g| groups.is_member(g, device)))
        .collect();
    applicable.sort_by(|a, b| {
        b.spec
            .priority
            .cmp(&a.spec.priority)
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    for profile in applicable {
        let name = profile.metadata.name.clone().unwrap_or_default();
        let source = Source::Profile {
            name: name.clone(),
            generation: profile.metadata.generation.unwrap_or(0),
        };
        match compile_profile(profile, device, root, &source) {
            Ok(compiled) => {
                for (path, value) in compiled.parameters {
                    state.parameters.entry(path).or_insert(value);
                }
                for table in compiled.objects {
                    if !state.objects.iter().any(|o| o.path == table.path) {
                        state.objects.push(table);
                    }
                }
                for (path, setting) in compiled.notifications {
                    state.notifications.entry(path).or_insert(setting);
                }
                state.refresh.extend(compiled.refresh);
                state
                    .profiles
                    .push((name, profile.metadata.generation.unwrap_or(0)));
            }
            Err(message) => errors.push(ProfileError {
                profile: name,
                message,
            }),
        }
    }
    (state, errors)
}

fn compile_profile(
    profile: &ConfigProfile,
    device: &DeviceFacts,
    root: &str,
    source: &Source,
) -> Result<DesiredState, String> {
    let spec = &profile.spec;
    let mut state = DesiredState::default();
    for setting in &spec.parameters {
        state.parameters.insert(
            setting.name.clone(),
            DesiredValue {
                value: render(&setting.value, device)
                    .map_err(|e| format!("{}: {e}", setting.name))?,
                xsd_type: setting.value_type.map(xsd_type),
                source: source.clone(),
            },
        );
    }
    if let Some(interval) = spec.periodic_inform_interval {
        for (name, value, xsd_type) in [
            (
                "ManagementServer.PeriodicInformEnable",
                "true".to_string(),
                XsdType::Boolean,
            ),
            (
                "ManagementServer.PeriodicInformInterval",
                interval.to_string(),
                XsdType::UnsignedInt,
            ),
        ] {
            state
                .parameters
                .entry(format!("{root}{name}"))
                .or_insert(DesiredValue {
                    value,
                    xsd_type: Some(xsd_type),
                    source: source.clone(),
                });
        }
    }
    for table in &spec.objects {
        let mut instances = Vec::with_capacity(table.instances.len());
        for instance in &table.instances {
            let mut rendered = BTreeMap::new();
            for (name, value) in instance {
                let value =
                    render(value, device).map_err(|e| format!("{}{name}: {e}", table.path))?;
                rendered.insert(name.clone(), value);
            }
            instances.push(rendered);
        }
        state.objects.push(DesiredObjects {
            path: table.path.clone(),
            key: table.key.clone(),
            instances,
            types: table
                .types
                .iter()
                .map(|(name, value_type)| (name.clone(), xsd_type(*value_type)))
                .collect(),
            delete_surplus: table.delete_surplus,
            source: source.clone(),
        });
    }
    state.refresh.extend(spec.refresh.iter().cloned());
    for notification in &spec.notifications {
        state.notifications.insert(
            notification.name.clone(),
            (notification.notification, source.clone()),
        );
    }
    Ok(state)
}

/// The CWMP type of a resource's parameter type.
pub fn xsd_type(value_type: ParameterType) -> XsdType {
    match value_type {
        ParameterType::String => XsdType::String,
        ParameterType::Int => XsdType::Int,
        ParameterType::UnsignedInt => XsdType::UnsignedInt,
        ParameterType::Long => XsdType::Long,
        ParameterType::UnsignedLong => XsdType::UnsignedLong,
        ParameterType::Boolean => XsdType::Boolean,
        ParameterType::DateTime => XsdType::DateTime,
        ParameterType::Base64 => XsdType::Base64,
        ParameterType::HexBinary => XsdType::HexBinary,
    }
}

/// Renders `{{ fact }}` templates: `serialNumber`, `oui`, `productClass`, `deviceName`,
/// `subscriberId`, `plan`, `region`, `attributes.<name>`, or a parameter path (with or
/// without its data-model root). An unknown fact is an error, never an empty string.
pub fn render(template: &str, device: &DeviceFacts) -> Result<String, String> {
    substitute(template, |fact| {
        fact_value(fact, device).ok_or_else(|| format!("unknown fact {fact:?}"))
    })
}

/// The facts templates name besides parameter paths (`attributes.<name>` stands for any
/// customer attribute).
pub const FACTS: &[&str] = &[
    "serialNumber",
    "oui",
    "productClass",
    "deviceName",
    "subscriberId",
    "plan",
    "region",
    "attributes.<name>",
];

/// Checks a template without a device: its syntax, and that every fact it names is one of
/// [`FACTS`] or a parameter path (a name with a dot). An unknown fact is refused with the
/// known names, closest first.
pub fn check_template(template: &str) -> Result<(), String> {
    substitute(template, |fact| {
        if is_known_fact(fact) {
            Ok(String::new())
        } else {
            Err(unknown_fact(fact))
        }
    })
    .map(drop)
}

/// Checks the templates of every value of a profile (or of a Device's `parameters`),
/// naming the parameter whose template is wrong.
pub fn check_templates<'a>(
    values: impl IntoIterator<Item = (String, &'a str)>,
) -> Result<(), String> {
    values
        .into_iter()
        .try_for_each(|(name, value)| check_template(value).map_err(|e| format!("{name}: {e}")))
}

/// The templated values of a profile, by the name of the parameter they set.
pub fn profile_values(spec: &crds::ConfigProfileSpec) -> Vec<(String, &str)> {
    let parameters = spec
        .parameters
        .iter()
        .map(|p| (p.name.clone(), p.value.as_str()));
    let instances = spec.objects.iter().flat_map(|table| {
        table.instances.iter().flat_map(move |instance| {
            instance
                .iter()
                .map(move |(name, value)| (format!("{}{name}", table.path), value.as_str()))
        })
    });
    parameters.chain(instances).collect()
}

fn is_known_fact(fact: &str) -> bool {
    FACTS[..FACTS.len() - 1].contains(&fact)
        || fact
            .strip_prefix("attributes.")
            .is_some_and(|k| !k.is_empty())
        || (fact.contains('.') && !fact.starts_with("attributes"))
}

/// "unknown fact" with the known facts, closest to `fact` first.
fn unknown_fact(fact: &str) -> String {
    let mut known: Vec<&str> = FACTS.to_vec();
    known.sort_by_key(|name| edit_distance(&fact.to_lowercase(), &name.to_lowercase()));
    format!(
        "unknown fact {fact:?}; known facts, closest first: {}, or a parameter path such as DeviceInfo.ModelName",
        known.join(", ")
    )
}

/// The Levenshtein distance between two strings, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Replaces each `{{ fact }}` of `template` with what `value` gives for it.
fn substitute(
    template: &str,
    mut value: impl FnMut(&str) -> Result<String, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("unclosed '{{{{' in {template:?}"))?;
        out.push_str(&value(after[..end].trim())?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn fact_value(fact: &str, device: &DeviceFacts) -> Option<String> {
    let identity = &device.identity;
    let value = match fact {
        "serialNumber" => identity.serial_number.as_str(),
        "oui" => identity.oui.as_str(),
        "productClass" => identity.product_class.as_str(),
        "deviceName" => device.name.as_str(),
        other => device
            .customer_field(other)
            .or_else(|| device.parameter(other))?,
    };
    Some(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crds::device::DeviceIdentity;
    use crds::DeviceGroup;

    fn facts() -> DeviceFacts {
        DeviceFacts {
            name: "gw-1".into(),
            identity: DeviceIdentity {
                oui: "00D09E".into(),
                product_class: "HomeGW".into(),
                serial_number: "S123".into(),
            },
            labels: [("site".to_string(), "lab".to_string())].into(),
            customer: crds::device::CustomerFields {
                plan: "gold".into(),
                ..Default::default()
            },
            parameters: [("Device.DeviceInfo.ModelName".to_string(), "HG8".to_string())].into(),
        }
    }

    fn profile(yaml: &str) -> ConfigProfile {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn templates_render_facts_and_refuse_unknown_ones() {
        let device = facts();
        assert_eq!(
            render("wifi-{{ serialNumber }}-{{plan}}", &device).unwrap(),
            "wifi-S123-gold"
        );
        assert_eq!(
            render("{{ DeviceInfo.ModelName }}", &device).unwrap(),
            "HG8"
        );
        assert!(render("{{ nothing }}", &device).is_err());
        assert!(render("{{ serialNumber", &device).is_err());
    }

    #[test]
    fn unknown_facts_are_refused_without_a_device_with_the_closest_name_first() {
        assert!(check_template("wifi-{{ serialNumber }}-{{ attributes.floor }}").is_ok());
        assert!(check_template("{{ DeviceInfo.ModelName }}").is_ok());
        let error = check_template("wifi-{{ serialnumber }}").unwrap_err();
        assert!(
            error.starts_with(
                "unknown fact \"serialnumber\"; known facts, closest first: serialNumber, "
            ),
            "{error}"
        );
        let error = check_template("{{ regoin }}").unwrap_err();
        assert!(error.contains("closest first: region, "), "{error}");
        assert!(check_template("{{ attributes. }}").is_err());
        assert!(check_template("{{ plan").is_err());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn overlapping_profiles_resolve_by_priority_then_name_and_device_overrides_win() {
        let group: DeviceGroup = serde_yaml::from_str(
            "metadata: {name: lab}\nspec: {selector: {matchLabels: {site: lab}}}\n",
        )
        .unwrap();
        let (groups, _) = GroupSet::new(&[group]);
        let profiles = [
            profile("metadata: {name: base, generation: 3}\nspec:\n  groups: [lab]\n  priority: 0\n  periodicInformInterval: 300\n  parameters:\n  - {name: Device.WiFi.SSID.1.SSID, value: 'base-{{ serialNumber }}'}\n  - {name: Device.Time.Enable, value: 'true', type: 'xsd:boolean'}\n"),
            profile("metadata: {name: premium, generation: 1}\nspec:\n  groups: [lab]\n  priority: 10\n  parameters:\n  - {name: Device.WiFi.SSID.1.SSID, value: premium}\n"),
            profile("metadata: {name: other}\nspec:\n  groups: [elsewhere]\n  parameters:\n  - {name: Device.X.Y, value: z}\n"),
        ];
        let overrides = [ParameterSetting {
            name: "Device.Time.Enable".into(),
            value: "false".into(),
            value_type: Some(ParameterType::Boolean),
        }];
        let (state, errors) = compile(&facts(), &overrides, &groups, &profiles, "Device.");
        assert!(errors.is_empty());
        assert_eq!(state.parameters["Device.WiFi.SSID.1.SSID"].value, "premium");
        assert_eq!(state.parameters["Device.Time.Enable"].value, "false");
        assert_eq!(
            state.parameters["Device.Time.Enable"].source,
            Source::Device
        );
        assert_eq!(
            state.parameters["Device.ManagementServer.PeriodicInformInterval"].value,
            "300"
        );
        assert!(
            !state.parameters.contains_key("Device.X.Y"),
            "not in the profile's groups"
        );
        assert_eq!(
            state.profiles,
            vec![("premium".to_string(), 1), ("base".to_string(), 3)]
        );
    }
}
