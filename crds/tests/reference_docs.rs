//! docs/crds.md, the field reference, documents every kind and every field of every spec in
//! its tables (`| \`spec.a[].b\` | ...`), so a field added to a resource cannot go
//! undocumented. A row of a standard or shared type (a `label selector`, or a link to the
//! section that documents the type) documents its fields by that reference.

use std::path::Path;

use crds::{ConfigProfile, Device, DeviceGroup, DeviceTask, Firmware, FirmwareRollout};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray,
};
use kube::CustomResourceExt;

/// The paths of every property under `schema`: `.name` for an object's fields, `[].name` for
/// those of a list's items.
fn field_paths(prefix: &str, schema: &JSONSchemaProps, out: &mut Vec<String>) {
    let (prefix, properties) = match (&schema.properties, &schema.items) {
        (Some(properties), _) => (prefix.to_string(), properties),
        (None, Some(JSONSchemaPropsOrArray::Schema(item))) => match &item.properties {
            Some(properties) => (format!("{prefix}[]"), properties),
            None => return,
        },
        _ => return,
    };
    for (name, property) in properties {
        let path = format!("{prefix}.{name}");
        out.push(path.clone());
        field_paths(&path, property, out);
    }
}

/// The `spec` schema of a CRD's only version.
fn spec_schema(crd: &CustomResourceDefinition) -> JSONSchemaProps {
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .expect("a schema");
    schema.properties.as_ref().unwrap()["spec"].clone()
}

#[test]
fn every_kind_and_spec_field_is_in_the_reference() {
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/crds.md"))
            .unwrap();
    let mut missing = Vec::new();
    for crd in [
        Device::crd(),
        DeviceGroup::crd(),
        ConfigProfile::crd(),
        DeviceTask::crd(),
        Firmware::crd(),
        FirmwareRollout::crd(),
    ] {
        let kind = &crd.spec.names.kind;
        let Some((_, section)) = docs.split_once(&format!("\n## {kind}\n")) else {
            missing.push(format!("the section `## {kind}`"));
            continue;
        };
        // The kind's section runs to the next kind's heading.
        let section = section.split("\n## ").next().unwrap_or(section);
        let mut paths = Vec::new();
        field_paths("spec", &spec_schema(&crd), &mut paths);
        let row = |path: &str| {
            section
                .lines()
                .find(|line| line.starts_with(&format!("| `{path}` |")))
        };
        // A subtree documented by reference: under a row of a standard or shared type.
        let by_reference = |path: &str| {
            paths.iter().any(|parent| {
                let under = path.starts_with(&format!("{parent}."))
                    || path.starts_with(&format!("{parent}[]"));
                under
                    && row(parent)
                        .is_some_and(|r| r.contains("label selector") || r.contains("](#"))
            })
        };
        for path in &paths {
            if row(path).is_none() && !by_reference(path) {
                missing.push(format!("{kind} `{path}`"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/crds.md does not document:\n{}",
        missing.join("\n")
    );
}
