//! Provisioning against the project's simulator (cpe-sim, a TR-181 device that checks value
//! types and connection-request credentials) through the real standalone server: the
//! connection-request credentials a profile, a task or the device itself set are the ones the
//! ACS uses, secrets are masked in every API answer and the log, and object instances are
//! sent with the types of the device's data model.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Acs;
use cpe_sim::cr_listener::CrListener;
use cpe_sim::fleet::{Fleet, FleetConfig};
use cpe_sim::inform::Trigger;
use cpe_sim::model::Model;
use cpe_sim::template::IdentityConfig;
use serde_json::{json, Value};

const CR_PASSWORD: &str = "cr-Pr0visioned!";
const WIFI_PASSPHRASE: &str = "wifi-Passphrase-42";
const TASK_PASSWORD: &str = "cr-Set-By-Task";

/// A standalone ACS with `resources`, and `devices` simulated TR-181 devices answering
/// connection requests.
async fn start(
    dir: &std::path::Path,
    resources: &str,
    devices: u32,
) -> (Acs, Arc<Fleet>, CrListener) {
    let resource_dir = dir.join("resources");
    std::fs::create_dir_all(&resource_dir).unwrap();
    std::fs::write(resource_dir.join("resources.yaml"), resources).unwrap();
    let acs = Acs::start(
        &dir.join("data"),
        &["--resources", resource_dir.to_str().unwrap()],
    )
    .await;
    let cr = cpe_sim::cr_listener::bind(([127, 0, 0, 1], 0).into()).unwrap();
    let identity = IdentityConfig {
        acs_url: acs.cwmp.clone(),
        cr_base_url: format!("http://{}/cr/", cr.local_addr().unwrap()),
        ..IdentityConfig::default()
    };
    let config = FleetConfig::new(Model::load("tr181").unwrap(), identity, devices);
    let fleet = Fleet::new(config).await.unwrap();
    let listener = cpe_sim::cr_listener::serve(cr, fleet.clone());
    (acs, fleet, listener)
}

/// Runs a session of device `index` and checks it went through.
async fn session(fleet: &Arc<Fleet>, index: u32, trigger: Trigger) {
    let report = fleet.session(index, trigger).await;
    assert!(
        report.rpcs > 0 && fleet.stats().errors().is_empty(),
        "{:?} {:?}",
        report.outcome,
        fleet.stats().errors()
    );
}

/// Asks the ACS for a connection request to device `id`: the HTTP status and the outcome.
async fn connection_request(acs: &Acs, id: &str) -> (u16, Value) {
    acs.post(
        &format!("/api/v1/devices/{id}/connection-request"),
        &json!({}),
    )
    .await
}

/// Every place the API shows device `id`, its tasks or the resources, as one text.
async fn everything_shown(acs: &Acs, id: &str) -> String {
    let mut shown = String::new();
    for path in [
        format!("/api/v1/devices/{id}?parameters=Device."),
        "/api/v1/devices".to_string(),
        format!("/api/v1/devices/{id}/tasks"),
        "/api/v1/tasks".to_string(),
        format!("/api/v1/devices/{id}/provisioning"),
        format!("/api/v1/devices/{id}/faults"),
        "/api/v1/resources/configprofiles".to_string(),
        "/api/v1/resources/devices".to_string(),
        "/api/v1/resources/devicetasks".to_string(),
    ] {
        let (status, body) = acs.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        shown.push_str(&body.to_string());
    }
    shown
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_request_credentials_set_by_a_profile_a_task_or_the_device_are_used_and_masked()
{
    let dir = tempfile::tempdir().unwrap();
    let serial = IdentityConfig::default().serial(0);
    let resources = format!(
        r#"apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {{name: first}}
spec:
  parameters:
  - {{name: DeviceInfo.SerialNumber, operator: Equals, value: {serial}}}
---
apiVersion: kubeacs.io/v1alpha1
kind: ConfigProfile
metadata: {{name: credentials}}
spec:
  groups: [first]
  parameters:
  - {{name: Device.ManagementServer.ConnectionRequestUsername, value: acs-cr}}
  - {{name: Device.ManagementServer.ConnectionRequestPassword, value: "{CR_PASSWORD}"}}
  - {{name: Device.WiFi.AccessPoint.1.Security.KeyPassphrase, value: {WIFI_PASSPHRASE}}}
"#
    );
    let (acs, fleet, _cr) = start(dir.path(), &resources, 2).await;
    let first = fleet.config().identity.device_id(0);
    session(&fleet, 0, Trigger::Pending).await;
    assert_eq!(
        fleet.cr_credentials(0),
        ("acs-cr".to_string(), CR_PASSWORD.to_string()),
        "the profile changed the device's credentials"
    );

    // The ACS wakes the device with the credentials it provisioned.
    let (status, outcome) = connection_request(&acs, &first).await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["state"], "accepted");
    assert!(fleet.wait_idle(Duration::from_secs(10)).await);
    let (_, device) = acs
        .get(&format!(
            "/api/v1/devices/{first}?parameters=Device.ManagementServer."
        ))
        .await;
    assert_eq!(device["lastEvents"], json!(["6 CONNECTION REQUEST"]));

    // Secrets are masked: the parameters, the device's credentials, the profile.
    let parameters = &device["parameters"];
    assert_eq!(
        parameters["Device.ManagementServer.ConnectionRequestPassword"]["value"][0], "********",
        "{parameters}"
    );
    assert_eq!(
        parameters["Device.ManagementServer.ConnectionRequestUsername"]["value"][0],
        "acs-cr"
    );
    assert_eq!(device["connectionRequest"]["devicePassword"], "********");

    // The device reads its password back empty: the ACS keeps the one it set, in the device
    // record and in the tree, so provisioning does not set it again.
    acs.queue(
        &first,
        &json!({"name": "getParameterValues", "parameterNames": ["Device.ManagementServer."]}),
    )
    .await;
    session(&fleet, 0, Trigger::Periodic).await;
    let report = fleet.session(0, Trigger::Periodic).await;
    assert_eq!(report.rpcs, 1, "only the Inform: nothing to set again");
    let (status, outcome) = connection_request(&acs, &first).await;
    assert_eq!(status, 200, "{outcome}");
    assert!(fleet.wait_idle(Duration::from_secs(10)).await);

    // A task sets another password; the ACS uses it from then on, and never shows it.
    let (status, task) = acs
        .post(
            &format!("/api/v1/devices/{first}/tasks?connectionRequest=true&timeout=20"),
            &json!({"name": "setParameterValues", "parameterValues": [
                {"name": "Device.ManagementServer.ConnectionRequestPassword", "value": TASK_PASSWORD}
            ]}),
        )
        .await;
    assert_eq!(
        (status, task["status"].as_str()),
        (200, Some("done")),
        "{task}"
    );
    assert_eq!(task["spec"]["parameterValues"][0]["value"], "********");
    assert!(fleet.wait_idle(Duration::from_secs(10)).await);
    assert_eq!(fleet.cr_credentials(0).1, TASK_PASSWORD);
    let (status, outcome) = connection_request(&acs, &first).await;
    assert_eq!(status, 200, "the password the task set is used: {outcome}");
    assert!(fleet.wait_idle(Duration::from_secs(10)).await);

    let shown = everything_shown(&acs, &first).await;
    for secret in [CR_PASSWORD, WIFI_PASSPHRASE, TASK_PASSWORD] {
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
        assert!(!acs.log().contains(secret), "{secret} logged");
    }

    // The second device is in no group. Its configured user name is stale, but the one it
    // reports (with an empty password) wins, and the configured password is kept.
    let second = fleet.config().identity.device_id(1);
    session(&fleet, 1, Trigger::Pending).await;
    let (username, password) = fleet.cr_credentials(1);
    let (status, _) = acs
        .put(
            &format!("/api/v1/devices/{second}/connection-request"),
            &json!({"username": "stale", "password": password}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, outcome) = connection_request(&acs, &second).await;
    assert_eq!(status, 502, "the stale user name is refused: {outcome}");
    assert!(outcome["error"]
        .as_str()
        .unwrap()
        .contains("rejected the connection request credentials"));
    acs.queue(
        &second,
        &json!({"name": "getParameterValues", "parameterNames": ["Device.ManagementServer."]}),
    )
    .await;
    session(&fleet, 1, Trigger::Periodic).await;
    let (_, device) = acs.get(&format!("/api/v1/devices/{second}")).await;
    assert_eq!(device["connectionRequest"]["deviceUsername"], username);
    let (status, outcome) = connection_request(&acs, &second).await;
    assert_eq!(status, 200, "the reported user name is used: {outcome}");
    assert!(fleet.wait_idle(Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_instances_are_sent_with_the_types_of_the_device_data_model() {
    let dir = tempfile::tempdir().unwrap();
    // cpe-sim refuses a port sent as xsd:string (9006). No type is given but InternalPort's,
    // nor for the periodic interval (an unsignedInt).
    let resources = r#"apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {name: gateways}
spec:
  parameters:
  - {name: DeviceInfo.ProductClass, operator: Equals, value: SimGW}
---
apiVersion: kubeacs.io/v1alpha1
kind: ConfigProfile
metadata: {name: port-mappings}
spec:
  groups: [gateways]
  parameters:
  - {name: Device.ManagementServer.PeriodicInformInterval, value: "900"}
  objects:
  - path: Device.NAT.PortMapping.
    key: Description
    deleteSurplus: true
    types: {InternalPort: "xsd:unsignedInt"}
    instances:
    - {Description: ssh, ExternalPort: "2022", InternalPort: "22"}
    - {Description: game, ExternalPort: "27015", InternalPort: "27015", Protocol: UDP, Enable: "true"}
"#;
    let (acs, fleet, _cr) = start(dir.path(), resources, 1).await;
    let id = fleet.config().identity.device_id(0);
    session(&fleet, 0, Trigger::Pending).await;

    let (_, record) = acs.get(&format!("/api/v1/devices/{id}/provisioning")).await;
    assert_eq!(record["converged"], true, "{record}");
    let (_, faults) = acs.get(&format!("/api/v1/devices/{id}/faults")).await;
    assert_eq!(faults, json!([]), "no fault: {faults}");
    let value = |path: &str| fleet.value(0, path).unwrap_or_default();
    // Instance 2 (ssh) kept and changed, 1 (web) deleted, 3 created for game.
    assert_eq!(value("Device.NAT.PortMapping.2.Description"), "ssh");
    assert_eq!(value("Device.NAT.PortMapping.2.ExternalPort"), "2022");
    assert_eq!(value("Device.NAT.PortMapping.2.InternalPort"), "22");
    assert_eq!(fleet.value(0, "Device.NAT.PortMapping.1.Description"), None);
    assert_eq!(value("Device.NAT.PortMapping.3.Description"), "game");
    assert_eq!(value("Device.NAT.PortMapping.3.ExternalPort"), "27015");
    assert_eq!(value("Device.NAT.PortMapping.3.Protocol"), "UDP");
    assert_eq!(value("Device.NAT.PortMapping.3.Enable"), "true");
    assert_eq!(
        value("Device.ManagementServer.PeriodicInformInterval"),
        "900"
    );
    let (_, device) = acs
        .get(&format!(
            "/api/v1/devices/{id}?parameters=Device.NAT.PortMapping.3."
        ))
        .await;
    assert_eq!(
        device["parameters"]["Device.NAT.PortMapping.3.ExternalPort"]["value"],
        json!(["27015", "xsd:unsignedInt"])
    );
    // Converged: the next session sends nothing.
    let report = fleet.session(0, Trigger::Periodic).await;
    assert_eq!(report.rpcs, 1, "only the Inform");
    assert!(acs.log().contains("provisioning applied"));
}
