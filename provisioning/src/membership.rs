//! Which devices belong to which [`DeviceGroup`]: label selectors, parameter conditions
//! (equality, prefix, regex, version ranges), customer fields, static members, and parents.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use crds::device::{CustomerFields, DeviceIdentity};
use crds::{DeviceGroup, MatchOperator, ParameterMatch};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// What group membership and templates are judged on: a device's name, identity, labels,
/// customer fields and the parameter values the ACS knows.
#[derive(Debug, Clone, Default)]
pub struct DeviceFacts {
    /// The Device resource's name.
    pub name: String,
    /// Its identity from the Inform.
    pub identity: DeviceIdentity,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its customer and service fields.
    pub customer: CustomerFields,
    /// Known parameter values by full path.
    pub parameters: BTreeMap<String, String>,
}

impl DeviceFacts {
    /// The value of a parameter; a name without a data-model root matches under `Device.` or
    /// `InternetGatewayDevice.`.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        if let Some(value) = self.parameters.get(name) {
            return Some(value);
        }
        if name.starts_with("Device.") || name.starts_with("InternetGatewayDevice.") {
            return None;
        }
        ["Device.", "InternetGatewayDevice."]
            .iter()
            .find_map(|root| self.parameters.get(&format!("{root}{name}")))
            .map(String::as_str)
    }

    /// A customer field by the name groups use: `subscriberId`, `plan`, `region`, or
    /// `attributes.<name>`.
    pub fn customer_field(&self, field: &str) -> Option<&str> {
        let value = match field {
            "subscriberId" => &self.customer.subscriber_id,
            "plan" => &self.customer.plan,
            "region" => &self.customer.region,
            other => {
                return other
                    .strip_prefix("attributes.")
                    .and_then(|k| self.customer.attributes.get(k))
                    .map(String::as_str)
            }
        };
        (!value.is_empty()).then_some(value.as_str())
    }
}

/// A group definition that cannot be evaluated (reported on the group, not a panic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidGroup(pub String);

/// Groups by name, checked once so that membership tests cannot fail.
#[derive(Debug, Clone, Default)]
pub struct GroupSet {
    groups: HashMap<String, CompiledGroup>,
}

#[derive(Debug, Clone)]
struct CompiledGroup {
    parent: Option<String>,
    selector: Option<LabelSelector>,
    parameters: Vec<(ParameterMatch, Option<regex::Regex>)>,
    customer: BTreeMap<String, String>,
    members: Vec<String>,
    has_criteria: bool,
}

impl GroupSet {
    /// Compiles groups; those that cannot be used (bad regex, unknown or cyclic parent) are
    /// returned with the reason and left out.
    pub fn new(groups: &[DeviceGroup]) -> (GroupSet, Vec<(String, InvalidGroup)>) {
        let mut set = GroupSet::default();
        let mut invalid = Vec::new();
        for group in groups {
            let name = group.metadata.name.clone().unwrap_or_default();
            match compile(group) {
                Ok(compiled) => {
                    set.groups.insert(name, compiled);
                }
                Err(error) => invalid.push((name, error)),
            }
        }
        // Parents must exist and must not form a cycle.
        let names: Vec<String> = set.groups.keys().cloned().collect();
        for name in names {
            if let Err(error) = set.check_ancestry(&name) {
                set.groups.remove(&name);
                invalid.push((name, error));
            }
        }
        (set, invalid)
    }

    fn check_ancestry(&self, name: &str) -> Result<(), InvalidGroup> {
        let mut seen = vec![name.to_string()];
        let mut current = name;
        while let Some(parent) = self.groups.get(current).and_then(|g| g.parent.as_deref()) {
            if seen.iter().any(|s| s == parent) {
                return Err(InvalidGroup(format!("parent cycle through {parent}")));
            }
            if !self.groups.contains_key(parent) {
                return Err(InvalidGroup(format!(
                    "parent group {parent} does not exist"
                )));
            }
            seen.push(parent.to_string());
            current = parent;
        }
        Ok(())
    }

    /// The names of the usable groups.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// Whether the device is a member of group `name` (false for an unknown group).
    pub fn is_member(&self, name: &str, device: &DeviceFacts) -> bool {
        let mut current = Some(name);
        // Each ancestor must hold too; ancestry was checked to be finite.
        while let Some(group_name) = current {
            let Some(group) = self.groups.get(group_name) else {
                return false;
            };
            if !group.admits(device) {
                return false;
            }
            current = group.parent.as_deref();
        }
        true
    }

    /// Every group the device is a member of, sorted by name.
    pub fn memberships(&self, device: &DeviceFacts) -> Vec<String> {
        let mut names: Vec<String> = self
            .groups
            .keys()
            .filter(|name| self.is_member(name, device))
            .cloned()
            .collect();
        names.sort();
        names
    }
}

fn compile(group: &DeviceGroup) -> Result<CompiledGroup, InvalidGroup> {
    let spec = &group.spec;
    let mut parameters = Vec::with_capacity(spec.parameters.len());
    for condition in &spec.parameters {
        let regex = match (condition.operator, &condition.value) {
            (MatchOperator::Regex, Some(pattern)) => {
                Some(regex::Regex::new(pattern).map_err(|e| {
                    InvalidGroup(format!("parameter {}: invalid regex: {e}", condition.name))
                })?)
            }
            (MatchOperator::Exists, _) => None,
            (operator, None) => {
                return Err(InvalidGroup(format!(
                    "parameter {}: {operator:?} needs a value",
                    condition.name
                )))
            }
            _ => None,
        };
        parameters.push((condition.clone(), regex));
    }
    let has_criteria =
        spec.selector.is_some() || !spec.parameters.is_empty() || !spec.customer.is_empty();
    Ok(CompiledGroup {
        parent: spec.parent.clone(),
        selector: spec.selector.clone(),
        parameters,
        customer: spec.customer.clone(),
        members: spec.members.clone(),
        has_criteria,
    })
}

impl CompiledGroup {
    /// Membership by this group's own definition (ancestors aside): a static member, or a
    /// match of every criterion; a group with only a parent admits the whole parent.
    fn admits(&self, device: &DeviceFacts) -> bool {
        if self.members.contains(&device.name) {
            return true;
        }
        if !self.has_criteria {
            return self.members.is_empty();
        }
        self.selector
            .as_ref()
            .is_none_or(|s| selector_matches(s, &device.labels))
            && self
                .parameters
                .iter()
                .all(|(condition, regex)| parameter_matches(condition, regex.as_ref(), device))
            && self
                .customer
                .iter()
                .all(|(field, value)| device.customer_field(field) == Some(value.as_str()))
    }
}

/// Whether a device meets every parameter condition; the first one it fails, in words,
/// otherwise (an invalid regular expression fails too).
pub fn check_conditions(conditions: &[ParameterMatch], device: &DeviceFacts) -> Result<(), String> {
    for condition in conditions {
        let regex = match (condition.operator, &condition.value) {
            (MatchOperator::Regex, Some(pattern)) => Some(
                regex::Regex::new(pattern)
                    .map_err(|e| format!("parameter {}: invalid regex: {e}", condition.name))?,
            ),
            _ => None,
        };
        if !parameter_matches(condition, regex.as_ref(), device) {
            return Err(format!(
                "{} is {:?}, not {:?} {}",
                condition.name,
                device.parameter(&condition.name).unwrap_or("absent"),
                condition.operator,
                condition.value.as_deref().unwrap_or_default()
            ));
        }
    }
    Ok(())
}

/// Whether labels satisfy a Kubernetes label selector.
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_labels = selector
        .match_labels
        .as_ref()
        .is_none_or(|wanted| wanted.iter().all(|(k, v)| labels.get(k) == Some(v)));
    let by_expressions = selector
        .match_expressions
        .as_ref()
        .is_none_or(|expressions| {
            expressions.iter().all(|e| {
                let values = e.values.as_deref().unwrap_or_default();
                let value = labels.get(&e.key);
                match e.operator.as_str() {
                    "In" => value.is_some_and(|v| values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
        });
    by_labels && by_expressions
}

fn parameter_matches(
    condition: &ParameterMatch,
    regex: Option<&regex::Regex>,
    device: &DeviceFacts,
) -> bool {
    let wanted = condition.value.as_deref().unwrap_or_default();
    match (condition.operator, device.parameter(&condition.name)) {
        (MatchOperator::Exists, actual) => actual.is_some(),
        (MatchOperator::NotEquals, actual) => actual != Some(wanted),
        (_, None) => false,
        (MatchOperator::Equals, Some(actual)) => actual == wanted,
        (MatchOperator::Prefix, Some(actual)) => actual.starts_with(wanted),
        (MatchOperator::Regex, Some(actual)) => regex.is_some_and(|r| r.is_match(actual)),
        (MatchOperator::VersionLessThan, Some(actual)) => compare_versions(actual, wanted).is_lt(),
        (MatchOperator::VersionAtMost, Some(actual)) => compare_versions(actual, wanted).is_le(),
        (MatchOperator::VersionGreaterThan, Some(actual)) => {
            compare_versions(actual, wanted).is_gt()
        }
        (MatchOperator::VersionAtLeast, Some(actual)) => compare_versions(actual, wanted).is_ge(),
    }
}

/// Compares dotted versions part by part: numerically where both parts are numbers (so
/// `2.10 > 2.9`), as text otherwise; a missing part counts as 0 (`2.4 == 2.4.0`). Leading `v`
/// and build suffixes after `-` or `+` sort as text in their part.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Vec<String> {
        v.trim()
            .trim_start_matches(['v', 'V'])
            .split(['.', '-', '_', '+'])
            .map(str::to_string)
            .collect()
    };
    let (a, b) = (parts(a), parts(b));
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).map(String::as_str).unwrap_or("0");
        let y = b.get(i).map(String::as_str).unwrap_or("0");
        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(yaml: &str) -> DeviceGroup {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn device(name: &str, version: &str, labels: &[(&str, &str)], plan: &str) -> DeviceFacts {
        DeviceFacts {
            name: name.into(),
            identity: DeviceIdentity::default(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            customer: CustomerFields {
                plan: plan.into(),
                ..Default::default()
            },
            parameters: [
                (
                    "Device.DeviceInfo.SoftwareVersion".to_string(),
                    version.to_string(),
                ),
                (
                    "Device.DeviceInfo.ModelName".to_string(),
                    "HG8245".to_string(),
                ),
            ]
            .into(),
        }
    }

    #[test]
    fn versions_compare_numerically_per_part() {
        assert_eq!(compare_versions("2.3.9", "2.4.0"), Ordering::Less);
        assert_eq!(compare_versions("2.10", "2.9"), Ordering::Greater);
        assert_eq!(compare_versions("2.4", "2.4.0"), Ordering::Equal);
        assert_eq!(compare_versions("v1.2.3", "1.2.3"), Ordering::Equal);
    }

    #[test]
    fn criteria_combine_and_parents_restrict() {
        let groups = [
            group("metadata: {name: fiber}\nspec:\n  selector: {matchLabels: {access: fiber}}\n"),
            group("metadata: {name: old}\nspec:\n  parent: fiber\n  parameters:\n  - {name: DeviceInfo.SoftwareVersion, operator: VersionLessThan, value: 2.4.0}\n  - {name: DeviceInfo.ModelName, operator: Regex, value: '^HG8'}\n"),
            group("metadata: {name: gold}\nspec:\n  customer: {plan: gold}\n  members: [special]\n"),
        ];
        let (set, invalid) = GroupSet::new(&groups);
        assert!(invalid.is_empty(), "{invalid:?}");
        let old_fiber = device("a", "2.3.1", &[("access", "fiber")], "gold");
        let new_fiber = device("b", "2.4.0", &[("access", "fiber")], "silver");
        let old_dsl = device("c", "2.0", &[("access", "dsl")], "");
        let special = device("special", "9", &[], "");
        assert_eq!(set.memberships(&old_fiber), ["fiber", "gold", "old"]);
        assert_eq!(set.memberships(&new_fiber), ["fiber"]);
        assert!(
            set.memberships(&old_dsl).is_empty(),
            "not in the parent, so not in old"
        );
        assert_eq!(set.memberships(&special), ["gold"], "static member");
    }

    #[test]
    fn unusable_groups_are_reported() {
        let groups = [
            group("metadata: {name: a}\nspec: {parent: b}\n"),
            group("metadata: {name: b}\nspec: {parent: a}\n"),
            group("metadata: {name: orphan}\nspec: {parent: nowhere}\n"),
            group("metadata: {name: bad}\nspec:\n  parameters:\n  - {name: X, operator: Regex, value: '('}\n"),
        ];
        let (set, invalid) = GroupSet::new(&groups);
        assert_eq!(set.names().count(), 0);
        let mut names: Vec<&str> = invalid.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        assert_eq!(names, ["a", "b", "bad", "orphan"]);
    }
}
