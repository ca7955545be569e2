//! Standalone mode's resources: the same `kubeacs.io/v1alpha1` YAML as in a cluster, read from a
//! directory and watched for changes.
//!
//! Every `*.yaml` / `*.yml` file (any depth, may hold several documents) is read. A document
//! that is not valid YAML, is not a kube-acs resource, or breaks the schema or a CEL rule is
//! refused with a message naming the file, the document and the field; the resource keeps its
//! previous valid version (a file that cannot be parsed at all keeps everything it held), so a
//! bad edit changes nothing. `metadata.generation` counts spec changes, as the API server does.
//! Refused documents travel with the resource set ([`RefusedResource`]), so the API lists them
//! with their kind and name, or as `<file>#<document>` (documents count from 1) when the
//! document names none.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crds::{ConfigProfile, Device, DeviceGroup, DeviceTask, Firmware, FirmwareRollout};
use kube::CustomResourceExt;
use provisioning::resources::{RefusedResource, ResourceSet};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A resource's kind and name.
type Key = (&'static str, String);

/// Valid resources by key, with the file each came from.
type Resources = BTreeMap<Key, (PathBuf, Loaded)>;

/// A document refused, with its resource's key when known (so its previous version stays),
/// else its kind when known.
struct Refusal {
    key: Option<Key>,
    kind: Option<&'static str>,
    message: String,
}

/// One resource as loaded, of any kind.
#[derive(Clone, Debug)]
enum Loaded {
    Device(Box<Device>),
    Group(Box<DeviceGroup>),
    Profile(Box<ConfigProfile>),
    Task(Box<DeviceTask>),
    Firmware(Box<Firmware>),
    Rollout(Box<FirmwareRollout>),
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceError {
    /// The file.
    pub file: PathBuf,
    /// The document's position in the file (from 1); `None` when the file cannot be read.
    pub document: Option<usize>,
    /// The resource's kind, when the document names a kube-acs kind.
    pub kind: Option<&'static str>,
    /// The resource's name, when the document has one.
    pub name: Option<String>,
    /// What is wrong, naming the field where known.
    pub message: String,
}

impl ResourceError {
    /// An error of a document (numbered from 1) of `file`, of the resource `key` when known.
    fn of_document(file: &Path, document: usize, key: Option<&Key>, message: String) -> Self {
        ResourceError {
            file: file.to_path_buf(),
            document: Some(document),
            kind: key.map(|k| k.0),
            name: key.map(|k| k.1.clone()),
            message,
        }
    }
}

impl std::fmt::Display for ResourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.document {
            Some(document) => write!(
                f,
                "{} (document {document}): {}",
                self.file.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// A directory of resources and what was last loaded from it.
pub struct ResourceDir {
    root: PathBuf,
    fingerprint: Vec<(PathBuf, u64, Option<SystemTime>)>,
    /// Whether the directory was read at least once.
    loaded: bool,
    /// Valid resources by (kind, name), with the file they came from.
    current: Resources,
    /// Spec hash and generation by (kind, name).
    generations: HashMap<Key, (u64, i64)>,
}

impl ResourceDir {
    /// A directory not read yet.
    pub fn new(root: &Path) -> ResourceDir {
        ResourceDir {
            root: root.to_path_buf(),
            fingerprint: Vec::new(),
            loaded: false,
            current: BTreeMap::new(),
            generations: HashMap::new(),
        }
    }

    /// Reads the directory if anything in it changed since the last call; returns the new
    /// resource set and the documents refused, or `None` when nothing changed.
    pub fn reload_if_changed(
        &mut self,
    ) -> std::io::Result<Option<(ResourceSet, Vec<ResourceError>)>> {
        let files = yaml_files(&self.root)?;
        let fingerprint: Vec<_> = files
            .iter()
            .map(|path| {
                let meta = std::fs::metadata(path).ok();
                (
                    path.clone(),
                    meta.as_ref().map_or(0, |m| m.len()),
                    meta.and_then(|m| m.modified().ok()),
                )
            })
            .collect();
        if self.loaded && fingerprint == self.fingerprint {
            return Ok(None);
        }
        self.loaded = true;
        self.fingerprint = fingerprint;
        let mut errors = Vec::new();
        let mut next = Resources::new();
        for file in &files {
            let text = match std::fs::read_to_string(file) {
                Ok(text) => text,
                Err(error) => {
                    errors.push(ResourceError {
                        file: file.clone(),
                        document: None,
                        kind: None,
                        name: None,
                        message: error.to_string(),
                    });
                    self.keep_file(file, &mut next);
                    continue;
                }
            };
            let documents = match split_documents(&text) {
                Ok(documents) => documents,
                Err((document, message)) => {
                    errors.push(ResourceError::of_document(file, document, None, message));
                    self.keep_file(file, &mut next);
                    continue;
                }
            };
            for (index, document) in documents.into_iter().enumerate() {
                match parse(document) {
                    Ok(None) => {}
                    Ok(Some((key, loaded))) => {
                        // Transition rules (such as an immutable identity) against the version
                        // in force.
                        if let Some((_, previous)) = self.current.get(&key) {
                            if let Err(message) = check_transition(&loaded, previous) {
                                errors.push(ResourceError::of_document(
                                    file,
                                    index + 1,
                                    Some(&key),
                                    format!("{}/{}: {message}", key.0, key.1),
                                ));
                                next.insert(key.clone(), self.current[&key].clone());
                                continue;
                            }
                        }
                        if let Some((other, _)) = next.get(&key) {
                            let message = format!(
                                "{}/{} is also defined in {}",
                                key.0,
                                key.1,
                                other.display()
                            );
                            errors.push(ResourceError::of_document(
                                file,
                                index + 1,
                                Some(&key),
                                message,
                            ));
                            continue;
                        }
                        next.insert(key, (file.clone(), loaded));
                    }
                    Err(Refusal { key, kind, message }) => {
                        let mut error =
                            ResourceError::of_document(file, index + 1, key.as_ref(), message);
                        error.kind = error.kind.or(kind);
                        errors.push(error);
                        // The previous valid version stays in force.
                        if let Some(key) = key {
                            if let Some(previous) = self.current.get(&key) {
                                next.insert(key, previous.clone());
                            }
                        }
                    }
                }
            }
        }
        for ((kind, name), (_, loaded)) in next.iter_mut() {
            let hash = spec_hash(loaded);
            let entry = self
                .generations
                .entry((kind, name.clone()))
                .or_insert((hash, 1));
            if entry.0 != hash {
                *entry = (hash, entry.1 + 1);
            }
            set_generation(loaded, entry.1);
        }
        self.current = next;
        let refused = errors.iter().map(|e| self.refused(e)).collect();
        Ok(Some((self.resource_set().with_refused(refused), errors)))
    }

    /// A refused document as the API lists it: its name (`<file>#<document>` without one,
    /// the file relative to the directory) and why, saying when a previous version stays.
    fn refused(&self, error: &ResourceError) -> RefusedResource {
        let file = error.file.strip_prefix(&self.root).unwrap_or(&error.file);
        let shown = ResourceError {
            file: file.to_path_buf(),
            ..error.clone()
        };
        let kept = match (error.kind, &error.name) {
            (Some(kind), Some(name)) => self.current.contains_key(&(kind, name.clone())),
            _ => false,
        };
        let name = error.name.clone().unwrap_or_else(|| match error.document {
            Some(document) => format!("{}#{document}", file.display()),
            None => file.display().to_string(),
        });
        let mut message = shown.to_string();
        if kept {
            message.push_str(" (the version loaded before stays in force)");
        }
        RefusedResource {
            kind: error.kind.map(str::to_string),
            name,
            message,
        }
    }

    fn keep_file(
        &self,
        file: &Path,
        next: &mut BTreeMap<(&'static str, String), (PathBuf, Loaded)>,
    ) {
        for (key, value) in self.current.iter().filter(|(_, (f, _))| f == file) {
            next.insert(key.clone(), value.clone());
        }
    }

    fn resource_set(&self) -> ResourceSet {
        let (mut devices, mut groups, mut profiles, mut tasks) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut firmwares, mut rollouts) = (Vec::new(), Vec::new());
        for (_, loaded) in self.current.values() {
            match loaded.clone() {
                Loaded::Device(d) => devices.push(*d),
                Loaded::Group(g) => groups.push(*g),
                Loaded::Profile(p) => profiles.push(*p),
                Loaded::Task(t) => tasks.push(*t),
                Loaded::Firmware(f) => firmwares.push(*f),
                Loaded::Rollout(r) => rollouts.push(*r),
            }
        }
        ResourceSet::new(devices, groups, profiles, tasks).with_firmware(firmwares, rollouts)
    }
}

fn yaml_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The documents of a YAML stream, as values; an error names the document (from 1).
fn split_documents(text: &str) -> Result<Vec<serde_yaml::Value>, (usize, String)> {
    serde_yaml::Deserializer::from_str(text)
        .enumerate()
        .map(|(index, document)| {
            serde_yaml::Value::deserialize(document)
                .map_err(|e| (index + 1, format!("invalid YAML: {e}")))
        })
        .collect()
}

/// One document as a resource; `Ok(None)` for an empty document. Errors carry the resource's
/// key when it is known, so its previous version can stay.
fn parse(document: serde_yaml::Value) -> Result<Option<(Key, Loaded)>, Refusal> {
    if document.is_null() {
        return Ok(None);
    }
    let text = |field: &str| {
        document
            .get(field)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    let name = document
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or_default()
        .to_string();
    if api_version != "kubeacs.io/v1alpha1" {
        return Err(Refusal {
            key: None,
            kind: None,
            message: format!("apiVersion {api_version:?}: expected kubeacs.io/v1alpha1"),
        });
    }
    let kind: &'static str = match kind.as_str() {
        "Device" => "Device",
        "DeviceGroup" => "DeviceGroup",
        "ConfigProfile" => "ConfigProfile",
        "DeviceTask" => "DeviceTask",
        "Firmware" => "Firmware",
        "FirmwareRollout" => "FirmwareRollout",
        other => {
            return Err(Refusal {
                key: None,
                kind: None,
                message: format!("kind {other:?} is not a kube-acs resource"),
            })
        }
    };
    if name.is_empty() {
        return Err(Refusal {
            key: None,
            kind: Some(kind),
            message: format!("{kind}: metadata.name is required"),
        });
    }
    let key = (kind, name.clone());
    let fail = |message: String| {
        Err(Refusal {
            key: Some(key.clone()),
            kind: Some(kind),
            message: format!("{kind}/{name}: {message}"),
        })
    };
    let loaded = match kind {
        "Device" => typed::<Device>(document)
            .and_then(|d| unique_names(&d.spec.parameters, "spec.parameters").map(|()| d))
            .and_then(|d| {
                let values = d
                    .spec
                    .parameters
                    .iter()
                    .map(|p| (p.name.clone(), &*p.value));
                templates(values).map(|()| d)
            })
            .map(|d| Loaded::Device(Box::new(d))),
        "DeviceGroup" => typed::<DeviceGroup>(document).map(|g| Loaded::Group(Box::new(g))),
        "ConfigProfile" => typed::<ConfigProfile>(document)
            .and_then(|p| unique_names(&p.spec.parameters, "spec.parameters").map(|()| p))
            .and_then(|p| templates(provisioning::desired::profile_values(&p.spec)).map(|()| p))
            .map(|p| Loaded::Profile(Box::new(p))),
        "Firmware" => typed::<Firmware>(document).map(|f| Loaded::Firmware(Box::new(f))),
        "FirmwareRollout" => typed::<FirmwareRollout>(document)
            .and_then(|r| match &r.spec.strategy.maintenance_window {
                Some(window) => {
                    provisioning::schedule::CompiledSchedule::of_window(window).map(|_| r)
                }
                None => Ok(r),
            })
            .map(|r| Loaded::Rollout(Box::new(r))),
        _ => typed::<DeviceTask>(document)
            .and_then(|t| {
                unique_names(
                    &t.spec.action.parameter_values,
                    "spec.action.parameterValues",
                )
                .map(|()| t)
            })
            .and_then(|t| match &t.spec.schedule {
                Some(schedule) => {
                    provisioning::schedule::CompiledSchedule::new(schedule).map(|_| t)
                }
                None => Ok(t),
            })
            .map(|t| Loaded::Task(Box::new(t))),
    };
    match loaded {
        Ok(loaded) => Ok(Some((key, loaded))),
        Err(message) => fail(message),
    }
}

/// Checks a document against its CRD's schema as the API server would (strict field
/// validation), deserializes it (naming the field on error), and checks its CEL rules.
fn typed<K>(document: serde_yaml::Value) -> Result<K, String>
where
    K: DeserializeOwned + Serialize + CustomResourceExt,
{
    let mut json = serde_json::to_value(&document).map_err(|e| e.to_string())?;
    // As the API server does, a null field counts as absent.
    prune_nulls(&mut json);
    let crd = K::crd();
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| e.to_string())?;
    if let Some(schema) = schema {
        let violations = crds::schema_check::violations(&schema, &json);
        if !violations.is_empty() {
            return Err(violations.join("; "));
        }
    }
    let resource: K = serde_path_to_error::deserialize(json).map_err(|e| {
        let path = e.path().to_string();
        format!("{path}: {}", e.into_inner())
    })?;
    kube::core::cel::validate_cel(&resource).map_err(|e| e.to_string())?;
    Ok(resource)
}

/// Removes null fields from objects, at any depth.
fn prune_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(prune_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

/// Checks the CEL transition rules of a new version against the one in force.
fn check_transition(new: &Loaded, old: &Loaded) -> Result<(), String> {
    use kube::core::cel::validate_cel_update;
    let result = match (new, old) {
        (Loaded::Device(new), Loaded::Device(old)) => {
            validate_cel_update(new.as_ref(), old.as_ref())
        }
        (Loaded::Group(new), Loaded::Group(old)) => validate_cel_update(new.as_ref(), old.as_ref()),
        (Loaded::Profile(new), Loaded::Profile(old)) => {
            validate_cel_update(new.as_ref(), old.as_ref())
        }
        (Loaded::Task(new), Loaded::Task(old)) => validate_cel_update(new.as_ref(), old.as_ref()),
        (Loaded::Firmware(new), Loaded::Firmware(old)) => {
            validate_cel_update(new.as_ref(), old.as_ref())
        }
        (Loaded::Rollout(new), Loaded::Rollout(old)) => {
            validate_cel_update(new.as_ref(), old.as_ref())
        }
        _ => Ok(()),
    };
    result.map_err(|e| e.to_string())
}

/// Refuses templates naming unknown facts (such as `{{ serialnumber }}`), suggesting the
/// known ones.
fn templates<'a>(values: impl IntoIterator<Item = (String, &'a str)>) -> Result<(), String> {
    provisioning::desired::check_templates(values).map_err(|e| format!("template of {e}"))
}

/// Refuses a parameter list naming a parameter twice (a list map keyed by name, as the API
/// server enforces it).
fn unique_names(settings: &[crds::ParameterSetting], field: &str) -> Result<(), String> {
    match crds::common::duplicate_name(settings) {
        Some(name) => Err(format!("{field}: parameter {name} appears more than once")),
        None => Ok(()),
    }
}

fn spec_hash(loaded: &Loaded) -> u64 {
    use std::hash::{Hash, Hasher};
    let spec = match loaded {
        Loaded::Device(d) => serde_json::to_string(&d.spec),
        Loaded::Group(g) => serde_json::to_string(&g.spec),
        Loaded::Profile(p) => serde_json::to_string(&p.spec),
        Loaded::Task(t) => serde_json::to_string(&t.spec),
        Loaded::Firmware(f) => serde_json::to_string(&f.spec),
        Loaded::Rollout(r) => serde_json::to_string(&r.spec),
    }
    .unwrap_or_default();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    spec.hash(&mut hasher);
    hasher.finish()
}

fn set_generation(loaded: &mut Loaded, generation: i64) {
    let metadata = match loaded {
        Loaded::Device(d) => &mut d.metadata,
        Loaded::Group(g) => &mut g.metadata,
        Loaded::Profile(p) => &mut p.metadata,
        Loaded::Task(t) => &mut t.metadata,
        Loaded::Firmware(f) => &mut f.metadata,
        Loaded::Rollout(r) => &mut r.metadata,
    };
    metadata.generation = Some(generation);
    if metadata.namespace.is_none() {
        metadata.namespace = Some("default".to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
        // Distinct sizes or times make the change visible to the fingerprint.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    const GROUP: &str = "apiVersion: kubeacs.io/v1alpha1\nkind: DeviceGroup\nmetadata: {name: lab}\nspec:\n  selector: {matchLabels: {site: lab}}\n";
    const PROFILE: &str = "apiVersion: kubeacs.io/v1alpha1\nkind: ConfigProfile\nmetadata: {name: wifi}\nspec:\n  groups: [lab]\n  parameters:\n  - {name: Device.WiFi.SSID.1.SSID, value: lab}\n";

    #[test]
    fn loads_documents_and_counts_generations() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "lab.yaml", &format!("{GROUP}---\n{PROFILE}"));
        let mut resources = ResourceDir::new(dir.path());
        let (set, errors) = resources.reload_if_changed().unwrap().unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(set.groups().len(), 1);
        assert_eq!(set.profiles()[0].metadata.generation, Some(1));
        assert!(
            resources.reload_if_changed().unwrap().is_none(),
            "unchanged"
        );

        write(
            dir.path(),
            "lab.yaml",
            &format!(
                "{GROUP}---\n{}",
                PROFILE.replace("value: lab", "value: lab2")
            ),
        );
        let (set, _) = resources.reload_if_changed().unwrap().unwrap();
        assert_eq!(
            set.profiles()[0].metadata.generation,
            Some(2),
            "spec changed"
        );
    }

    const ROLLOUT: &str = "apiVersion: kubeacs.io/v1alpha1\nkind: FirmwareRollout\nmetadata: {name: fw2}\nspec:\n  firmware: fw-2\n  target: {group: lab}\n  strategy:\n    maintenanceWindow: {cron: '0 2 * * *', timeZone: Europe/Berlin, durationMinutes: 120}\n";

    #[test]
    fn rollouts_keep_their_firmware_and_need_a_window_that_opens() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "fw.yaml", ROLLOUT);
        let mut resources = ResourceDir::new(dir.path());
        let (set, errors) = resources.reload_if_changed().unwrap().unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(set.rollouts().len(), 1);

        // A window that can never open is refused with the field named.
        write(
            dir.path(),
            "fw.yaml",
            &ROLLOUT.replace("Europe/Berlin", "Europe/Berlim"),
        );
        let (_, errors) = resources.reload_if_changed().unwrap().unwrap();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].message.contains(
                "strategy.maintenanceWindow.timeZone \"Europe/Berlim\" is not an IANA time zone"
            ),
            "{errors:?}"
        );
        write(
            dir.path(),
            "fw.yaml",
            &ROLLOUT.replace("0 2 * * *", "0 25 * * *"),
        );
        let (_, errors) = resources.reload_if_changed().unwrap().unwrap();
        assert!(
            errors[0]
                .message
                .contains("strategy.maintenanceWindow.cron"),
            "{errors:?}"
        );

        // Another firmware is another rollout, as the API server's rule says.
        write(dir.path(), "fw.yaml", &ROLLOUT.replace("fw-2", "fw-3"));
        let (set, errors) = resources.reload_if_changed().unwrap().unwrap();
        assert!(
            errors[0].message.contains("firmware is immutable"),
            "{errors:?}"
        );
        assert_eq!(set.rollouts()[0].spec.firmware, "fw-2", "the run goes on");
    }

    #[test]
    fn refused_documents_are_listed_by_kind_and_name_or_file_and_document() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "lab.yaml", &format!("{GROUP}---\n{PROFILE}"));
        let mut resources = ResourceDir::new(dir.path());
        resources.reload_if_changed().unwrap();
        let typo = PROFILE.replace("value: lab", "value: 'lab-{{ serialnumber }}'");
        let nameless =
            "apiVersion: kubeacs.io/v1alpha1\nkind: DeviceGroup\nmetadata: {}\nspec: {}\n";
        write(
            dir.path(),
            "lab.yaml",
            &format!("{GROUP}---\n{typo}---\n{nameless}"),
        );
        write(
            dir.path(),
            "broken.yaml",
            &format!("{GROUP}---\nkind: [unclosed\n"),
        );
        let (set, errors) = resources.reload_if_changed().unwrap().unwrap();
        assert_eq!(errors.len(), 3, "{errors:?}");
        let refused = set.refused();
        let find = |name: &str| refused.iter().find(|r| r.name == name).unwrap();

        let broken = find("broken.yaml#2");
        assert_eq!(broken.kind, None, "kind unknown: listed under every kind");
        assert!(broken.is_listed_as("ConfigProfile") && broken.is_listed_as("Device"));
        assert!(
            broken
                .message
                .starts_with("broken.yaml (document 2): invalid YAML"),
            "{broken:?}"
        );

        let wifi = find("wifi");
        assert_eq!(wifi.kind.as_deref(), Some("ConfigProfile"));
        assert!(!wifi.is_listed_as("DeviceGroup"));
        assert!(
            wifi.message.contains("lab.yaml (document 2): ConfigProfile/wifi: template of Device.WiFi.SSID.1.SSID: unknown fact \"serialnumber\"; known facts, closest first: serialNumber,"),
            "{wifi:?}"
        );
        assert!(
            wifi.message
                .ends_with("(the version loaded before stays in force)"),
            "{wifi:?}"
        );
        assert_eq!(set.profiles()[0].spec.parameters[0].value, "lab");

        let nameless = find("lab.yaml#3");
        assert_eq!(nameless.kind.as_deref(), Some("DeviceGroup"));
        assert!(
            nameless.message.contains("metadata.name is required"),
            "{nameless:?}"
        );
    }

    #[test]
    fn invalid_documents_are_refused_by_file_and_field_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "lab.yaml", &format!("{GROUP}---\n{PROFILE}"));
        let mut resources = ResourceDir::new(dir.path());
        resources.reload_if_changed().unwrap();

        // A bad edit of the profile: wrong type in a field.
        write(
            dir.path(),
            "lab.yaml",
            &format!(
                "{GROUP}---\n{}",
                PROFILE.replace("groups: [lab]", "groups: lab")
            ),
        );
        let (set, errors) = resources.reload_if_changed().unwrap().unwrap();
        assert_eq!(errors.len(), 1);
        let message = errors[0].to_string();
        assert!(message.contains("lab.yaml (document 2)"), "{message}");
        assert!(
            message.contains("ConfigProfile/wifi") && message.contains("spec.groups"),
            "{message}"
        );
        assert_eq!(
            set.profiles()[0].spec.groups,
            ["lab"],
            "the previous version stays"
        );

        // A CEL rule broken.
        write(
            dir.path(),
            "lab.yaml",
            &format!(
                "{GROUP}---\n{}",
                PROFILE.replace("name: Device.WiFi.SSID.1.SSID", "name: WiFi.SSID.")
            ),
        );
        let (set, errors) = resources.reload_if_changed().unwrap().unwrap();
        assert!(
            errors[0].message.contains("must start with Device."),
            "{errors:?}"
        );
        assert_eq!(set.profiles().len(), 1);

        // Not YAML at all: everything the file held stays.
        write(dir.path(), "lab.yaml", "kind: [unclosed\n");
        let (set, errors) = resources.reload_if_changed().unwrap().unwrap();
        assert!(errors[0].message.contains("invalid YAML"), "{errors:?}");
        assert_eq!((set.groups().len(), set.profiles().len()), (1, 1));

        // A parameter named twice (a list map keyed by name in the CRD).
        let twice = format!("{PROFILE}  - {{name: Device.WiFi.SSID.1.SSID, value: again}}\n");
        write(dir.path(), "lab.yaml", &format!("{GROUP}---\n{twice}"));
        let (_, errors) = resources.reload_if_changed().unwrap().unwrap();
        assert!(
            errors[0].message.contains(
                "spec.parameters: parameter Device.WiFi.SSID.1.SSID appears more than once"
            ),
            "{errors:?}"
        );

        // The schema, as the API server enforces it: ranges, unknown (misspelt) fields.
        let bad = PROFILE.replace(
            "groups: [lab]",
            "groups: [lab]\n  priority: 5000\n  periodicInformIntervall: 300",
        );
        write(dir.path(), "lab.yaml", &format!("{GROUP}---\n{bad}"));
        let (set, errors) = resources.reload_if_changed().unwrap().unwrap();
        let message = &errors[0].message;
        assert!(
            message.contains("spec.priority: must be at most 1000"),
            "{message}"
        );
        assert!(
            message.contains("spec.periodicInformIntervall: unknown field"),
            "{message}"
        );
        assert_eq!(
            set.profiles()[0].spec.priority,
            0,
            "the previous version stays"
        );

        // Transition rules: a Device's identity cannot change.
        let device = |serial: &str| {
            format!("apiVersion: kubeacs.io/v1alpha1\nkind: Device\nmetadata: {{name: gw}}\nspec:\n  identity: {{oui: 00D09E, productClass: GW, serialNumber: {serial}}}\n")
        };
        write(dir.path(), "device.yaml", &device("S1"));
        resources.reload_if_changed().unwrap();
        write(dir.path(), "device.yaml", &device("S2"));
        let (set, errors) = resources.reload_if_changed().unwrap().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("identity is immutable")),
            "{errors:?}"
        );
        assert_eq!(set.devices()["gw"].spec.identity.serial_number, "S1");

        // Not ours.
        write(
            dir.path(),
            "other.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        );
        let (_, errors) = resources.reload_if_changed().unwrap().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("expected kubeacs.io/v1alpha1")),
            "{errors:?}"
        );
    }
}
