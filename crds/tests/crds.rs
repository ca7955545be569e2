//! The generated CRDs: committed YAML up to date, schemas carrying what kubectl and the API
//! server use (status subresource, printer columns, short names, category, CEL rules), and the
//! CEL rules evaluated client-side on valid and invalid resources.

use std::path::Path;

use crds::{ConfigProfile, Device, DeviceGroup, DeviceTask, Firmware, FirmwareRollout};
use kube::CustomResourceExt;

#[test]
fn committed_crd_yaml_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let stale = crds::stale_crd_files(&root).unwrap();
    assert!(
        stale.is_empty(),
        "stale CRD YAML {stale:?}: run `cargo run -p kube-acs -- crdgen` and commit the result"
    );
}

#[test]
fn every_kind_has_status_columns_short_name_and_category() {
    for (crd, short) in [
        (Device::crd(), "dev"),
        (DeviceGroup::crd(), "dg"),
        (ConfigProfile::crd(), "cp"),
        (DeviceTask::crd(), "dt"),
        (Firmware::crd(), "fw"),
        (FirmwareRollout::crd(), "fwr"),
    ] {
        assert_eq!(crd.spec.group, "kubeacs.io");
        let names = &crd.spec.names;
        assert_eq!(names.short_names.as_deref(), Some(&[short.to_string()][..]));
        assert_eq!(
            names.categories.as_deref(),
            Some(&["kube-acs".to_string()][..])
        );
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        assert!(version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some());
        let columns = version.additional_printer_columns.as_ref().unwrap();
        assert!(
            columns.iter().any(|c| c.name == "Ready"),
            "{} has a Ready column",
            names.kind
        );
    }
}

fn rules(
    crd: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
) -> String {
    serde_json::to_string(&crd.spec.versions[0].schema).unwrap()
}

#[test]
fn cel_rules_are_in_the_schemas() {
    assert!(rules(&Device::crd()).contains("identity is immutable"));
    assert!(rules(&DeviceGroup::crd()).contains("a group cannot be its own parent"));
    assert!(rules(&ConfigProfile::crd()).contains("key values must be unique"));
    assert!(rules(&DeviceTask::crd()).contains("run: Schedule needs a schedule"));
}

fn parse<K: serde::de::DeserializeOwned>(yaml: &str) -> K {
    serde_yaml::from_str(yaml).unwrap()
}

#[test]
fn cel_rules_accept_valid_and_refuse_invalid_resources() {
    let group: DeviceGroup = parse(
        "apiVersion: kubeacs.io/v1alpha1\nkind: DeviceGroup\nmetadata: {name: old-firmware}\nspec:\n  parameters:\n  - {name: DeviceInfo.SoftwareVersion, operator: VersionLessThan, value: 2.4.0}\n",
    );
    kube::core::cel::validate_cel(&group).unwrap();

    let no_value: DeviceGroup = parse(
        "apiVersion: kubeacs.io/v1alpha1\nkind: DeviceGroup\nmetadata: {name: g}\nspec:\n  parameters:\n  - {name: DeviceInfo.SoftwareVersion, operator: Prefix}\n",
    );
    let error = kube::core::cel::validate_cel(&no_value)
        .unwrap_err()
        .to_string();
    assert!(error.contains("value is required"), "{error}");

    let own_parent: DeviceGroup = parse(
        "apiVersion: kubeacs.io/v1alpha1\nkind: DeviceGroup\nmetadata: {name: g}\nspec: {parent: g}\n",
    );
    let error = kube::core::cel::validate_cel(&own_parent)
        .unwrap_err()
        .to_string();
    assert!(error.contains("own parent"), "{error}");

    let empty: DeviceGroup = parse(
        "apiVersion: kubeacs.io/v1alpha1\nkind: DeviceGroup\nmetadata: {name: g}\nspec: {}\n",
    );
    assert!(kube::core::cel::validate_cel(&empty).is_err());

    let profile: ConfigProfile = parse(
        "apiVersion: kubeacs.io/v1alpha1\nkind: ConfigProfile\nmetadata: {name: p}\nspec:\n  groups: [g]\n  parameters:\n  - {name: Device.WiFi.SSID.1.SSID, value: 'home-{{ serialNumber }}'}\n  - {name: Device.WiFi.SSID.1.SSID, value: x}\n",
    );
    assert_eq!(
        crds::common::duplicate_name(&profile.spec.parameters),
        Some("Device.WiFi.SSID.1.SSID")
    );
    let schema = rules(&ConfigProfile::crd());
    assert!(
        schema.contains(r#""x-kubernetes-list-type":"map""#),
        "parameters are a list map keyed by name"
    );

    let task: DeviceTask = parse(
        "apiVersion: kubeacs.io/v1alpha1\nkind: DeviceTask\nmetadata: {name: t}\nspec:\n  target: {group: g}\n  action: {name: setParameterValues}\n",
    );
    let error = kube::core::cel::validate_cel(&task)
        .unwrap_err()
        .to_string();
    assert!(error.contains("needs parameterValues"), "{error}");
}
