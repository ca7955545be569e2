//! Declarative provisioning in standalone mode: resources read from a directory, devices
//! converging to their groups' profiles in their first session (zero-touch), re-provisioning
//! when membership changes, precedence of overlapping profiles, faults retried and reported,
//! and invalid resources refused without changing anything.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Acs, Cpe};
use cwmp::{Body, EventCode};
use serde_json::Value;

const GROUPS: &str = r#"
apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {name: gateways}
spec:
  parameters:
  - {name: DeviceInfo.ProductClass, operator: Equals, value: HomeGW}
---
apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {name: onts}
spec:
  parameters:
  - {name: DeviceInfo.ProductClass, operator: Equals, value: ONT}
---
apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {name: extenders}
spec:
  parameters:
  - {name: DeviceInfo.ProductClass, operator: Equals, value: Extender}
---
apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {name: new-firmware}
spec:
  parent: gateways
  parameters:
  - {name: DeviceInfo.SoftwareVersion, operator: VersionAtLeast, value: 2.0.0}
"#;

const PROFILES: &str = r#"
apiVersion: kubeacs.io/v1alpha1
kind: ConfigProfile
metadata: {name: gateway-defaults}
spec:
  groups: [gateways]
  priority: 0
  periodicInformInterval: 600
  parameters:
  - {name: Device.WiFi.SSID.1.SSID, value: default}
  - {name: Device.WiFi.SSID.1.Enable, value: "true", type: "xsd:boolean"}
  objects:
  - path: Device.IP.Interface.
    key: Alias
    instances:
    - {Alias: wan}
    - {Alias: iptv, Enable: "true"}
---
apiVersion: kubeacs.io/v1alpha1
kind: ConfigProfile
metadata: {name: gateway-wifi}
spec:
  groups: [gateways]
  priority: 10
  parameters:
  - {name: Device.WiFi.SSID.1.SSID, value: "home-{{ serialNumber }}"}
---
apiVersion: kubeacs.io/v1alpha1
kind: ConfigProfile
metadata: {name: ont}
spec:
  groups: [onts]
  periodicInformInterval: 900
---
apiVersion: kubeacs.io/v1alpha1
kind: ConfigProfile
metadata: {name: extender}
spec:
  groups: [extenders]
  parameters:
  - {name: Device.WiFi.SSID.1.SSID, value: "ext-{{ DeviceInfo.SerialNumber }}"}
---
apiVersion: kubeacs.io/v1alpha1
kind: ConfigProfile
metadata: {name: new-firmware}
spec:
  groups: [new-firmware]
  priority: 20
  parameters:
  - {name: Device.WiFi.SSID.1.SSID, value: upgraded}
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

async fn start(resources: &Path, data: &Path, extra: &[&str]) -> Acs {
    let mut args = vec![
        "--resources",
        resources.to_str().unwrap(),
        "--task-retry-delay",
        "0",
    ];
    args.extend_from_slice(extra);
    Acs::start(data, &args).await
}

/// Waits until the server logged `text` (the resources are polled every 2 s).
async fn wait_for_log(acs: &Acs, text: &str, times: usize) {
    for _ in 0..100 {
        if acs.log().matches(text).count() >= times {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{text:?} not logged {times} times:\n{}", acs.log());
}

#[tokio::test]
async fn zero_touch_provisioning_of_three_models_with_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let resources = dir.path().join("resources");
    std::fs::create_dir(&resources).unwrap();
    write(&resources, "groups.yaml", GROUPS);
    write(&resources, "profiles.yaml", PROFILES);
    let acs = start(&resources, &dir.path().join("data"), &[]).await;

    let mut fleet = Vec::new();
    for n in 0..200 {
        let model = match n % 5 {
            0 | 1 => "HomeGW",
            2 | 3 => "ONT",
            _ => "Extender",
        };
        let url = acs.cwmp.clone();
        fleet.push(tokio::spawn(async move {
            let mut cpe = Cpe::new(&url, &format!("ZT{n:04}"), "http://127.0.0.1:9/")
                .with_product_class(model);
            cpe.session().await;
            cpe
        }));
    }
    let mut cpes = Vec::new();
    for cpe in fleet {
        cpes.push(cpe.await.unwrap());
    }
    for cpe in &cpes {
        let serial = &cpe.identity.serial_number;
        let value = |name: &str| {
            cpe.parameters
                .get(name)
                .map(|p| p.value.clone())
                .unwrap_or_default()
        };
        match cpe.identity.product_class.as_str() {
            "HomeGW" => {
                // Higher priority wins the SSID; the lower one still sets what it alone sets.
                assert_eq!(value("Device.WiFi.SSID.1.SSID"), format!("home-{serial}"));
                assert_eq!(value("Device.WiFi.SSID.1.Enable"), "true");
                assert_eq!(
                    value("Device.ManagementServer.PeriodicInformInterval"),
                    "600"
                );
                // Object instances keyed by Alias: wan existed, iptv was created and configured.
                assert_eq!(value("Device.IP.Interface.2.Alias"), "iptv");
                assert_eq!(value("Device.IP.Interface.2.Enable"), "true");
                assert!(
                    !cpe.parameters.contains_key("Device.IP.Interface.3.Alias"),
                    "created once"
                );
            }
            "ONT" => {
                assert_eq!(
                    value("Device.ManagementServer.PeriodicInformInterval"),
                    "900"
                );
                assert_eq!(value("Device.WiFi.SSID.1.SSID"), "home", "untouched");
            }
            _ => assert_eq!(value("Device.WiFi.SSID.1.SSID"), format!("ext-{serial}")),
        }
    }
    // Converged: the next session sends nothing, and the record says so.
    let mut gateway = cpes.remove(0);
    gateway.pending_events = vec![(EventCode::Periodic, String::new())];
    assert!(
        gateway.session().await.is_empty(),
        "nothing to do once converged"
    );
    let (status, record) = acs
        .get(&format!(
            "/api/v1/devices/{}/provisioning",
            gateway.device_id()
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(record["converged"], true);
    let applied: Vec<&str> = record["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert_eq!(
        applied,
        ["gateway-wifi", "gateway-defaults"],
        "by precedence"
    );

    // Statuses computed from the store: through the API and `kube-acs get`.
    let (_, profiles) = acs.get("/api/v1/resources/configprofiles").await;
    let wifi = profiles
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metadata"]["name"] == "gateway-wifi")
        .unwrap();
    assert_eq!(wifi["status"]["matchedDevices"], 80);
    assert_eq!(wifi["status"]["appliedDevices"], 80);
    assert_eq!(wifi["status"]["conditions"][0]["type"], "Ready");
    assert_eq!(wifi["status"]["conditions"][0]["status"], "True");
    let (_, groups) = acs.get("/api/v1/resources/dg").await;
    let onts = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "onts")
        .unwrap();
    assert_eq!(onts["status"]["memberCount"], 80);
    let (_, devices) = acs.get("/api/v1/resources/devices").await;
    let devices = devices.as_array().unwrap();
    assert_eq!(
        devices.len(),
        200,
        "discovered devices are listed as Device resources"
    );
    let first = devices
        .iter()
        .find(|d| d["metadata"]["name"] == "00d09e-homegw-zt0000")
        .unwrap();
    assert_eq!(first["spec"]["identity"]["serialNumber"], "ZT0000");
    assert_eq!(first["status"]["online"], true);
    assert_eq!(first["status"]["softwareVersion"], "1.0.0");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kube-acs"))
        .args(["get", "configprofiles", "--api", &acs.api])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{table}");
    let header = table.lines().next().unwrap();
    assert!(
        header.starts_with("NAME") && header.contains("MATCHED") && header.contains("READY"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.starts_with("gateway-wifi"))
        .unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        ["gateway-wifi", "10", "80", "80", "0", "True"],
        "{table}"
    );
}

#[tokio::test]
async fn membership_changes_reprovision_and_bad_edits_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let resources = dir.path().join("resources");
    std::fs::create_dir(&resources).unwrap();
    write(&resources, "groups.yaml", GROUPS);
    write(&resources, "profiles.yaml", PROFILES);
    let acs = start(&resources, &dir.path().join("data"), &[]).await;
    let mut cpe = Cpe::new(&acs.cwmp, "MOVE0001", "http://127.0.0.1:9/");
    let sent = cpe.session().await;
    assert_eq!(
        cpe.parameters["Device.WiFi.SSID.1.SSID"].value,
        "home-MOVE0001",
        "{sent:?}\n{}",
        acs.log()
    );

    // A parameter change (a firmware upgrade) moves the device into `new-firmware`.
    cpe.parameters
        .get_mut("Device.DeviceInfo.SoftwareVersion")
        .unwrap()
        .value = "2.1.0".into();
    cpe.pending_events = vec![(EventCode::Boot, String::new())];
    cpe.session().await;
    assert_eq!(cpe.parameters["Device.WiFi.SSID.1.SSID"].value, "upgraded");

    // A profile edit is re-applied at the next session (drift corrected likewise).
    write(
        &resources,
        "profiles.yaml",
        &PROFILES.replace("value: upgraded", "value: upgraded-v2"),
    );
    wait_for_log(&acs, "resources loaded", 2).await;
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    cpe.session().await;
    assert_eq!(
        cpe.parameters["Device.WiFi.SSID.1.SSID"].value,
        "upgraded-v2"
    );

    // Invalid edits are refused, naming file and field, and change nothing.
    write(
        &resources,
        "profiles.yaml",
        &PROFILES.replace("groups: [new-firmware]", "groups: new-firmware"),
    );
    wait_for_log(&acs, "resource refused", 1).await;
    let log = acs.log();
    assert!(
        log.contains("profiles.yaml") && log.contains("spec.groups"),
        "{log}"
    );
    write(&resources, "broken.yaml", "kind: [unclosed\n");
    wait_for_log(&acs, "invalid YAML", 1).await;
    cpe.parameters
        .get_mut("Device.WiFi.SSID.1.SSID")
        .unwrap()
        .value = "changed-on-the-device".into();
    cpe.pending_events = vec![(EventCode::ValueChange, String::new())];
    // The Inform does not carry the SSID; a refresh tells the ACS, the next session corrects it.
    let (_, task) = acs
        .post(
            &format!("/api/v1/devices/{}/tasks", cpe.device_id()),
            &serde_json::json!({"name": "getParameterValues", "parameterNames": ["Device.WiFi.SSID.1.SSID"]}),
        )
        .await;
    assert_eq!(task["status"], "pending");
    cpe.session().await;
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    cpe.session().await;
    assert_eq!(
        cpe.parameters["Device.WiFi.SSID.1.SSID"].value, "upgraded-v2",
        "the last valid profile still applies"
    );
}

/// The Ready condition of the Device resource `name`, as the API lists devices.
async fn device_ready(acs: &Acs, name: &str) -> Value {
    let (_, devices) = acs.get("/api/v1/resources/devices").await;
    let device = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no device {name}: {devices}"))
        .clone();
    device["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap_or_else(|| panic!("no Ready condition: {device}"))
        .clone()
}

/// Asserts a session sent what a profile setting the untyped SSID does: the device's type of the
/// SSID is read first, then the values are set.
fn read_then_set(sent: &[Body]) {
    assert!(
        matches!(
            sent,
            [
                Body::GetParameterValues { .. },
                Body::SetParameterValues { .. }
            ]
        ),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_read_only_parameter_fails_provisioning_and_tasks_at_once_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let resources = dir.path().join("resources");
    std::fs::create_dir(&resources).unwrap();
    write(&resources, "groups.yaml", GROUPS);
    // UpTime is read-only on the device: setting it can never succeed.
    write(
        &resources,
        "profiles.yaml",
        r#"
apiVersion: kubeacs.io/v1alpha1
kind: ConfigProfile
metadata: {name: broken}
spec:
  groups: [gateways]
  parameters:
  - {name: Device.WiFi.SSID.1.SSID, value: x}
  - {name: Device.DeviceInfo.UpTime, value: "1", type: "xsd:unsignedInt"}
---
apiVersion: kubeacs.io/v1alpha1
kind: Device
metadata: {name: read-only}
spec:
  identity: {oui: 00D09E, productClass: HomeGW, serialNumber: RDONLY01}
"#,
    );
    let acs = start(&resources, &dir.path().join("data"), &[]).await;
    let mut cpe = Cpe::new(&acs.cwmp, "RDONLY01", "http://127.0.0.1:9/");
    read_then_set(&cpe.session().await);
    let (_, record) = acs
        .get(&format!("/api/v1/devices/{}/provisioning", cpe.device_id()))
        .await;
    assert_eq!(
        (record["attempts"].as_u64(), record["gaveUp"].as_bool()),
        (Some(1), Some(true)),
        "failed at the first fault, without retries: {record}"
    );
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    assert!(cpe.session().await.is_empty(), "not sent again");

    // The user sees which parameter failed and why, without the log.
    let ready = device_ready(&acs, "read-only").await;
    assert_eq!(ready["status"], "False", "{ready}");
    assert_eq!(ready["reason"], "ProvisioningFailed", "{ready}");
    let message = ready["message"].as_str().unwrap();
    assert!(
        message.contains("Device.DeviceInfo.UpTime")
            && message.contains("9008 Attempt to set a non-writable parameter"),
        "{message}"
    );
    // One log line says it, naming the parameter and the fault code.
    let log = acs.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("provisioning failed") && l.contains("RDONLY01"))
        .collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].contains(" INFO ") || lines[0].contains(" WARN "),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("parameter=Device.DeviceInfo.UpTime") && lines[0].contains("code=9003"),
        "{}",
        lines[0]
    );

    // A task that sets it fails at once too, with the parameter named.
    let task = acs
        .queue(
            &cpe.device_id(),
            &serde_json::json!({"name": "setParameterValues", "parameterValues": [
                {"name": "Device.DeviceInfo.UpTime", "value": "5", "type": "xsd:unsignedInt"}
            ]}),
        )
        .await;
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    assert_eq!(cpe.session().await.len(), 1);
    let (_, task) = acs.get(&format!("/api/v1/tasks/{task}")).await;
    assert_eq!(
        (task["status"].as_str(), task["attempts"].as_u64()),
        (Some("failed"), Some(1)),
        "{task}"
    );
    assert_eq!(
        task["fault"]["setParameterValuesFaults"][0]["parameterName"],
        "Device.DeviceInfo.UpTime"
    );
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    assert!(cpe.session().await.is_empty(), "the task is not retried");
}

#[tokio::test]
async fn a_fault_mid_apply_is_retried_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let resources = dir.path().join("resources");
    std::fs::create_dir(&resources).unwrap();
    write(&resources, "groups.yaml", GROUPS);
    write(
        &resources,
        "profiles.yaml",
        r#"
apiVersion: kubeacs.io/v1alpha1
kind: ConfigProfile
metadata: {name: busy}
spec:
  groups: [gateways]
  parameters:
  - {name: Device.WiFi.SSID.1.SSID, value: x}
"#,
    );
    let acs = start(
        &resources,
        &dir.path().join("data"),
        &["--task-max-attempts", "2"],
    )
    .await;
    let mut cpe = Cpe::new(&acs.cwmp, "FAULTY01", "http://127.0.0.1:9/");
    // The device is busy (9002, internal error): a fault that may pass, so it is retried.
    cpe.set_values_fault = 9002;
    read_then_set(&cpe.session().await);
    let (_, record) = acs
        .get(&format!("/api/v1/devices/{}/provisioning", cpe.device_id()))
        .await;
    assert_eq!(
        (record["converged"].as_bool(), record["attempts"].as_u64()),
        (Some(false), Some(1))
    );
    assert_eq!(record["fault"]["code"], 9002);

    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    assert_eq!(cpe.session().await.len(), 1, "retried at the next session");
    let (_, record): (u16, Value) = acs
        .get(&format!("/api/v1/devices/{}/provisioning", cpe.device_id()))
        .await;
    assert_eq!(
        (record["attempts"].as_u64(), record["gaveUp"].as_bool()),
        (Some(2), Some(true))
    );
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    assert!(cpe.session().await.is_empty(), "given up after the limit");
    let (_, faults) = acs
        .get(&format!("/api/v1/devices/{}/faults", cpe.device_id()))
        .await;
    assert_eq!(faults.as_array().unwrap().len(), 2);
    assert_eq!(faults[0]["fault"]["code"], 9002);

    // A change of the device's own desired parameters tries again, even after giving up.
    write(
        &resources,
        "device.yaml",
        r#"
apiVersion: kubeacs.io/v1alpha1
kind: Device
metadata: {name: faulty}
spec:
  identity: {oui: 00D09E, productClass: HomeGW, serialNumber: FAULTY01}
  parameters:
  - {name: Device.WiFi.SSID.1.Enable, value: "false", type: "xsd:boolean"}
"#,
    );
    wait_for_log(&acs, "resources loaded", 2).await;
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    assert_eq!(
        cpe.session().await.len(),
        1,
        "retried after the desired state changed"
    );
}

#[tokio::test]
async fn a_device_task_reboots_a_group_at_the_limited_rate() {
    let dir = tempfile::tempdir().unwrap();
    let resources = dir.path().join("resources");
    std::fs::create_dir(&resources).unwrap();
    write(&resources, "groups.yaml", GROUPS);
    let acs = start(&resources, &dir.path().join("data"), &[]).await;

    // Six gateways and two ONTs, each with its own connection-request endpoint.
    let mut devices = Vec::new();
    for n in 0..8 {
        let listener = common::ConnectionRequestListener::start().await;
        let model = if n < 6 { "HomeGW" } else { "ONT" };
        let mut cpe =
            Cpe::new(&acs.cwmp, &format!("MASS{n:04}"), &listener.url).with_product_class(model);
        cpe.session().await;
        devices.push((cpe, listener));
    }
    // Two connection requests per second, at most two devices at once.
    write(
        &resources,
        "reboot.yaml",
        r#"
apiVersion: kubeacs.io/v1alpha1
kind: DeviceTask
metadata: {name: reboot-gateways}
spec:
  target: {group: gateways}
  action: {name: reboot}
  run: Now
  connectionRequestsPerMinute: 120
  maxConcurrent: 2
"#,
    );
    let started = std::time::Instant::now();
    let mut handles = Vec::new();
    for (mut cpe, mut listener) in devices {
        handles.push(tokio::spawn(async move {
            let request =
                tokio::time::timeout(Duration::from_secs(8), listener.requests.recv()).await;
            let Ok(Some(())) = request else {
                return (cpe.identity.product_class.clone(), None, Vec::new());
            };
            let at = started.elapsed();
            cpe.pending_events = vec![(EventCode::ConnectionRequest, String::new())];
            let sent = cpe.session().await;
            // The device reboots and comes back with M Reboot.
            cpe.session().await;
            (cpe.identity.product_class.clone(), Some(at), sent)
        }));
    }
    let mut arrivals = Vec::new();
    for handle in handles {
        let (model, at, sent) = handle.await.unwrap();
        match model.as_str() {
            "HomeGW" => {
                arrivals.push(at.expect("every gateway gets a connection request"));
                assert!(matches!(sent.as_slice(), [Body::Reboot { .. }]), "{sent:?}");
            }
            _ => assert!(at.is_none(), "ONTs are not in the target"),
        }
    }
    arrivals.sort();
    let spread = *arrivals.last().unwrap() - arrivals[0];
    assert!(
        spread >= Duration::from_millis(1500),
        "six requests at two per second: {arrivals:?}"
    );

    // Counters and per-device results.
    let mut status = Value::Null;
    for _ in 0..50 {
        let (_, tasks) = acs.get("/api/v1/resources/devicetasks").await;
        status = tasks[0]["status"].clone();
        if status["completionTime"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status["succeeded"], 6, "{status}");
    assert_eq!(
        (status["failed"].as_u64(), status["pending"].as_u64()),
        (Some(0), Some(0))
    );
    let (_, results) = acs.get("/api/v1/devicetasks/reboot-gateways/results").await;
    assert_eq!(results["devices"].as_array().unwrap().len(), 6);
    assert!(
        results["devices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "done"),
        "{results}"
    );
}

#[tokio::test]
async fn device_labels_and_overrides_and_resuming_an_interrupted_apply() {
    let dir = tempfile::tempdir().unwrap();
    let resources = dir.path().join("resources");
    std::fs::create_dir(&resources).unwrap();
    write(&resources, "groups.yaml", GROUPS);
    write(&resources, "profiles.yaml", PROFILES);
    let vip = r#"
apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {name: vip}
spec:
  selector: {matchLabels: {tier: vip}}
---
apiVersion: kubeacs.io/v1alpha1
kind: ConfigProfile
metadata: {name: vip}
spec:
  groups: [vip]
  priority: 100
  parameters:
  periodicInformInterval: 120
"#;
    write(&resources, "vip.yaml", vip);
    let device = |tier: &str| {
        format!(
            r#"
apiVersion: kubeacs.io/v1alpha1
kind: Device
metadata: {{name: lab-gateway, labels: {{tier: {tier}}}}}
spec:
  identity: {{oui: 00D09E, productClass: HomeGW, serialNumber: LABEL001}}
  customer: {{subscriberId: sub-42, plan: gold}}
  parameters:
  - {{name: Device.WiFi.SSID.1.SSID, value: "lab-{{{{ subscriberId }}}}"}}
"#
        )
    };
    write(&resources, "device.yaml", &device("basic"));
    let acs = start(&resources, &dir.path().join("data"), &[]).await;

    // The Device's own parameters win over every profile, with templates over its fields.
    let mut cpe = Cpe::new(&acs.cwmp, "LABEL001", "http://127.0.0.1:9/");
    // Interrupted apply: the device answers GetParameterNames, GetParameterValues and AddObject,
    // then drops the session before the values are set.
    let inform = cpe.inform();
    cpe.post(Some(inform)).await;
    cpe.pending_events.clear();
    let (mut status, mut reply) = cpe.post(None).await;
    let mut adds = 0;
    while status == 200 {
        let request = reply.unwrap();
        if matches!(request.body, Body::SetParameterValues { .. }) {
            break; // the session drops here
        }
        adds += usize::from(matches!(request.body, Body::AddObject { .. }));
        (status, reply) = cpe.reply_to(request).await;
    }
    assert_eq!(adds, 1);
    let (_, record) = acs
        .get(&format!("/api/v1/devices/{}/provisioning", cpe.device_id()))
        .await;
    assert_eq!(
        record["pendingInstances"][0]["instance"], "Device.IP.Interface.2.",
        "{record}"
    );

    // The next session resumes: no second AddObject, the values are set.
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    let sent = cpe.session().await;
    assert!(
        !sent.iter().any(|b| matches!(b, Body::AddObject { .. })),
        "{sent:?}"
    );
    assert!(
        !cpe.parameters.contains_key("Device.IP.Interface.3.Alias"),
        "created once"
    );
    assert_eq!(cpe.parameters["Device.IP.Interface.2.Alias"].value, "iptv");
    assert_eq!(
        cpe.parameters["Device.WiFi.SSID.1.SSID"].value,
        "lab-sub-42"
    );

    // A label change moves the device into `vip`, whose profile then applies.
    write(&resources, "device.yaml", &device("vip"));
    wait_for_log(&acs, "resources loaded", 2).await;
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    cpe.session().await;
    assert_eq!(
        cpe.parameters["Device.ManagementServer.PeriodicInformInterval"].value,
        "120",
        "{}",
        acs.log()
    );
    let (_, devices) = acs.get("/api/v1/resources/devices").await;
    let lab = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["metadata"]["name"] == "lab-gateway")
        .unwrap();
    let applied: Vec<&str> = lab["status"]["appliedProfiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(applied, ["vip", "gateway-wifi", "gateway-defaults"]);
}
