//! The Argo CD health check (`manifests/argocd/health.lua`), run by a real Lua 5.1 interpreter
//! (what Argo CD embeds, through gopher-lua; here the reference one, built from source by
//! `mlua`) on resources with the statuses the operator writes: conditions made by
//! `operator::conditions::with_kstatus`.

use std::path::{Path, PathBuf};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use operator::conditions::with_kstatus;
use serde_json::{json, Value};

fn argocd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/argocd")
}

fn health_script() -> String {
    std::fs::read_to_string(argocd_dir().join("health.lua")).unwrap()
}

/// A Lua literal of a JSON value.
fn lua(value: &Value) -> String {
    fn string(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
    match value {
        Value::Null => "nil".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(items) => format!(
            "{{{}}}",
            items.iter().map(lua).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("[{}] = {}", string(k), lua(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// (status, message) the script gives `object`, run by Lua 5.1 (built from source by `mlua`,
/// so no interpreter needs to be installed).
fn health(object: &Value) -> (String, String) {
    let program = format!(
        "obj = {}\nlocal hs = (function()\n{}\nend)()\nreturn hs.status, hs.message\n",
        lua(object),
        health_script()
    );
    mlua::Lua::new()
        .load(&program)
        .eval::<(String, String)>()
        .unwrap_or_else(|error| panic!("the health check fails: {error}"))
}

fn condition(kind: &str, status: bool, reason: &str, message: &str) -> Condition {
    Condition {
        type_: kind.to_string(),
        status: if status { "True" } else { "False" }.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        observed_generation: Some(3),
    }
}

fn profile(generation: i64, observed: Option<i64>, conditions: Vec<Condition>) -> Value {
    let mut object = json!({
        "apiVersion": "kubeacs.io/v1alpha1",
        "kind": "ConfigProfile",
        "metadata": {"name": "wifi", "namespace": "tenant-a", "generation": generation},
        "spec": {"groups": ["gateways"]},
    });
    if let Some(observed) = observed {
        object["status"] = json!({
            "observedGeneration": observed,
            "conditions": with_kstatus(conditions),
        });
    }
    object
}

#[test]
fn health_follows_the_operators_conditions() {
    let applied = vec![condition(
        "Ready",
        true,
        "Applied",
        "24 of 24 devices applied",
    )];
    let applying = vec![
        condition("Ready", false, "Applying", "20 of 24 devices applied"),
        condition("Progressing", true, "Applying", "4 devices to go"),
    ];
    let failed = vec![
        condition("Ready", false, "Applied", "22 of 24 devices applied"),
        condition("Degraded", true, "DevicesFailed", "2 devices failed"),
    ];
    let cases = [
        (
            profile(1, None, vec![]),
            "Progressing",
            "Waiting for kube-acs to report a status",
        ),
        (
            profile(3, Some(3), applied.clone()),
            "Healthy",
            "24 of 24 devices applied",
        ),
        // An edit kube-acs has not acted on yet is not healthy, whatever the old status says.
        (
            profile(4, Some(3), applied),
            "Progressing",
            "Waiting for kube-acs to act on generation 4",
        ),
        (
            profile(3, Some(3), applying),
            "Progressing",
            "4 devices to go",
        ),
        (profile(3, Some(3), failed), "Degraded", "2 devices failed"),
        (
            profile(
                3,
                Some(3),
                vec![condition("Ready", false, "Invalid", "unknown parent group")],
            ),
            "Degraded",
            "unknown parent group",
        ),
    ];
    for (object, status, message) in cases {
        assert_eq!(
            health(&object),
            (status.to_string(), message.to_string()),
            "{object}"
        );
    }
}

#[test]
fn the_argocd_cm_patch_carries_the_script_for_every_kind() {
    let patch: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(argocd_dir().join("argocd-cm-patch.yaml")).unwrap(),
    )
    .unwrap();
    for kind in [
        "Device",
        "DeviceGroup",
        "ConfigProfile",
        "DeviceTask",
        "Firmware",
        "FirmwareRollout",
    ] {
        let key = format!("resource.customizations.health.kubeacs.io_{kind}");
        let script = patch["data"][key.as_str()].as_str().unwrap_or_default();
        assert_eq!(script, health_script(), "{key}");
    }
}
