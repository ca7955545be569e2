//! Firmware rollouts at fleet scale in cluster mode, against real parts: etcd and
//! kube-apiserver (with kubectl and helm), a TiKV-protocol cluster (PD + unistore), two
//! `kube-acs operator` replicas and two `kube-acs edge --kubernetes` processes, and two
//! simulated fleets that download from the edges' file server:
//! - 1,000 gateways upgraded in three waves with 2 % injected download failures, the leading
//!   operator killed in the middle of a wave: the rollout completes, the failing devices fail,
//!   every other device runs the new version and downloaded it once;
//! - 100 gateways of another product with 20 % injected failures: their rollout holds after
//!   the canary, is paused and resumed through the spec with `kubectl patch`, and completes
//!   once its threshold is raised;
//! - 10 of a product whose image bricks them: the canary never comes back, the health gate
//!   fails it and the rollout aborts with nobody else started;
//! - 10 in a maintenance window a minute or two ahead: they get a ScheduleDownload for it and
//!   download only once it opens.

mod cluster_harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster_harness::{api_get, eventually, install, leader, start_edge, start_operator, TENANT};
use cpe_sim::fleet::{Fleet, FleetConfig};
use cpe_sim::inform::Trigger;
use cpe_sim::misbehave::TransferFaults;
use cpe_sim::model::Model;
use cpe_sim::template::IdentityConfig;
use cpe_sim::transfer::Injected;
use crds::{FirmwareRollout, FirmwareRolloutStatus};
use kube::api::Api;

/// Gateways of the big rollout.
const GATEWAYS: u32 = 1000;
/// Gateways of the product whose image fails one download in five.
const FLAKY: u32 = 100;
/// Devices of the product whose image bricks them, and of the one upgraded in a window.
const SMALL: u32 = 10;

/// The DeviceGroup `name` of the devices of `product`.
fn group(name: &str, product: &str) -> String {
    format!(
        "apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {{name: {name}, namespace: tenant-a}}
spec:
  parameters:
  - {{name: DeviceInfo.ProductClass, operator: Equals, value: {product}}}
---
"
    )
}

/// The Firmware of `product` for the image `2.0.0.bin`.
fn firmware(name: &str, product: &str, size: usize, sha256: &str) -> String {
    format!(
        "apiVersion: kubeacs.io/v1alpha1
kind: Firmware
metadata: {{name: {name}, namespace: tenant-a}}
spec:
  version: \"2.0.0\"
  file: 2.0.0.bin
  size: {size}
  sha256: {sha256}
  compatible: {{productClasses: [{product}]}}
---
"
    )
}

const GATEWAYS_ROLLOUT: &str = r#"apiVersion: kubeacs.io/v1alpha1
kind: FirmwareRollout
metadata: {name: gateways-2.0.0, namespace: tenant-a}
spec:
  firmware: gw-2.0.0
  target: {group: gateways}
  strategy:
    canary: {count: 20, soakSeconds: 1}
    steps:
    - {percent: 50}
    - {percent: 100}
    maxInFlight: 100
    ratePerMinute: 6000
    retries: 1
    deviceTimeoutSeconds: 120
    failureThreshold: {percent: 10, action: Pause}
---
"#;

const FLAKY_ROLLOUT: &str = r#"apiVersion: kubeacs.io/v1alpha1
kind: FirmwareRollout
metadata: {name: flaky-2.0.0, namespace: tenant-a}
spec:
  firmware: flaky-2.0.0
  target: {group: flaky}
  strategy:
    canary: {percent: 20}
    steps: [{percent: 100}]
    maxInFlight: 20
    ratePerMinute: 6000
    retries: 1
    deviceTimeoutSeconds: 120
    failureThreshold: {percent: 10, action: Pause}
"#;

const BRICKS_ROLLOUT: &str = r#"---
apiVersion: kubeacs.io/v1alpha1
kind: FirmwareRollout
metadata: {name: bricks-2.0.0, namespace: tenant-a}
spec:
  firmware: bricks-2.0.0
  target: {group: bricks}
  strategy:
    canary: {count: 2}
    steps: [{percent: 100}]
    deviceTimeoutSeconds: 15
    retries: 0
    failureThreshold: {count: 0, action: Abort}
"#;

/// The rollout of the nightly product, in a window opening at minute `minute` (UTC) of the
/// hour for two minutes.
fn nightly_rollout(minute: u64) -> String {
    format!(
        r#"---
apiVersion: kubeacs.io/v1alpha1
kind: FirmwareRollout
metadata: {{name: nightly-2.0.0, namespace: tenant-a}}
spec:
  firmware: nightly-2.0.0
  target: {{group: nightly}}
  strategy:
    canary: {{count: 5}}
    steps: [{{percent: 100}}]
    maintenanceWindow: {{cron: "{minute} * * * *", timeZone: UTC, durationMinutes: 2}}
"#
    )
}

/// A fleet of `devices` of `product` informing through both edges, with its own
/// connection-request listener.
async fn fleet(
    edges: &[String],
    product: &str,
    prefix: &str,
    devices: u32,
    faults: TransferFaults,
) -> (Arc<Fleet>, cpe_sim::cr_listener::CrListener) {
    let cr = cpe_sim::cr_listener::bind(([127, 0, 0, 1], 0).into()).unwrap();
    let identity = IdentityConfig {
        product_class: product.to_string(),
        serial_prefix: prefix.to_string(),
        acs_url: edges.join(","),
        cr_base_url: format!("http://{}/cr/", cr.local_addr().unwrap()),
        ..IdentityConfig::default()
    };
    let mut config = FleetConfig::new(Model::load("tr098").unwrap(), identity, devices);
    config.seed = 7;
    config.reboot_delay = Duration::from_millis(200);
    config.transfer_faults = faults;
    let fleet = Fleet::new(config).await.unwrap();
    let listener = cpe_sim::cr_listener::serve(cr, fleet.clone());
    let deadline = Instant::now() + Duration::from_secs(300);
    let boot = fleet
        .run_batch((0..devices).collect(), Trigger::Pending, 16, deadline)
        .await;
    assert_eq!(
        (boot.ok, boot.failed),
        (u64::from(devices), 0),
        "{:?}",
        fleet.stats().errors()
    );
    (fleet, listener)
}

/// Gives each device's connection-request credentials to the ACS.
async fn set_cr_credentials(api: &str, token: &str, fleet: &Fleet) {
    let http = reqwest::Client::new();
    for index in 0..fleet.len() {
        let (username, password) = fleet.cr_credentials(index);
        let id = fleet.config().identity.device_id(index);
        let status = http
            .put(format!("{api}/api/v1/devices/{id}/connection-request"))
            .bearer_auth(token)
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 204, "credentials of {id}");
    }
}

/// The rollout's status once `done` holds for it.
async fn rollout_status(
    rollouts: &Api<FirmwareRollout>,
    name: &str,
    what: &str,
    timeout: Duration,
    done: impl Fn(&FirmwareRolloutStatus) -> bool,
) -> FirmwareRolloutStatus {
    eventually(what, timeout, || async {
        let status = rollouts.get(name).await.ok()?.status?;
        done(&status).then_some(status)
    })
    .await
}

/// Devices whose injected outcome is a download failure.
fn failing(fleet: &Fleet) -> u64 {
    (0..fleet.len())
        .filter(|i| fleet.injected_transfer(*i) == Injected::DownloadFailure)
        .count() as u64
}

/// Checks each device's version and how many Downloads it was sent: one for a device that
/// upgraded, 1 + retries for one whose every download failed.
async fn check_devices(fleet: &Fleet, api: &str, token: &str) {
    for index in 0..fleet.len() {
        let id = fleet.config().identity.device_id(index);
        let version = fleet.value(index, "InternetGatewayDevice.DeviceInfo.SoftwareVersion");
        let fails = fleet.injected_transfer(index) == Injected::DownloadFailure;
        let (expected_version, expected_downloads) =
            if fails { ("1.0.0", 2) } else { ("2.0.0", 1) };
        assert_eq!(version.as_deref(), Some(expected_version), "device {id}");
        let tasks = api_get(api, &format!("/api/v1/devices/{id}/tasks"), token).await;
        let downloads = tasks
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["spec"]["name"] == "download")
            .count();
        assert_eq!(downloads, expected_downloads, "downloads of {id}: {tasks}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_devices_roll_out_in_three_waves_in_the_cluster() {
    let (_tikv, store, kube) = install(&[], &[TENANT]).await;
    let groups = [
        group("gateways", "SimGW"),
        group("flaky", "SimFlaky"),
        group("bricks", "SimBrick"),
        group("nightly", "SimNightly"),
    ]
    .concat();
    kube.kubectl_stdin(&["apply", "-f", "-"], &groups).unwrap();

    let edges = vec![
        start_edge(&kube, &store, "edge-a").await,
        start_edge(&kube, &store, "edge-b").await,
    ];
    let files_url = edges[0].files.clone();
    // A status sweep every 2 s: it reads every device's tree.
    let mut operators = [
        start_operator(&kube, &store, "operator-a", &files_url, 2),
        start_operator(&kube, &store, "operator-b", &files_url, 2),
    ];
    let cwmp: Vec<String> = edges.iter().map(|e| e.cwmp.clone()).collect();
    let failing_downloads = |share: f64| TransferFaults {
        download_failure: share,
        ..TransferFaults::default()
    };
    let (gateways, _gateways_cr) =
        fleet(&cwmp, "SimGW", "SIM", GATEWAYS, failing_downloads(0.02)).await;
    let (flaky, _flaky_cr) = fleet(&cwmp, "SimFlaky", "FLK", FLAKY, failing_downloads(0.2)).await;
    let bricking = TransferFaults {
        never_returns: 1.0,
        ..TransferFaults::default()
    };
    let (bricks, _bricks_cr) = fleet(&cwmp, "SimBrick", "BRK", SMALL, bricking).await;
    let (nightly, _nightly_cr) =
        fleet(&cwmp, "SimNightly", "NGT", SMALL, TransferFaults::default()).await;
    let token = kube.token("admin");
    let api = edges[1].api.clone();
    for fleet in [&gateways, &flaky, &bricks, &nightly] {
        set_cr_credentials(&api, &token, fleet).await;
    }

    let image: Vec<u8> = (0..40_000u32).map(|i| (i % 241) as u8).collect();
    std::fs::create_dir_all(&edges[0].files_dir).unwrap();
    std::fs::write(edges[0].files_dir.join("2.0.0.bin"), &image).unwrap();
    let sha256: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&image)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    // The nightly window opens at the start of the minute after next.
    let unix_seconds = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let window_opens = (unix_seconds() / 60 + 2) * 60;
    let yaml = [
        firmware("gw-2.0.0", "SimGW", image.len(), &sha256),
        firmware("flaky-2.0.0", "SimFlaky", image.len(), &sha256),
        firmware("bricks-2.0.0", "SimBrick", image.len(), &sha256),
        firmware("nightly-2.0.0", "SimNightly", image.len(), &sha256),
        GATEWAYS_ROLLOUT.to_string(),
        FLAKY_ROLLOUT.to_string(),
        BRICKS_ROLLOUT.to_string(),
        nightly_rollout(window_opens / 60 % 60),
    ]
    .concat();
    let started = Instant::now();
    kube.kubectl_stdin(&["apply", "-f", "-"], &yaml).unwrap();
    let client = kube.client("admin").await.unwrap();
    let rollouts: Api<FirmwareRollout> = Api::namespaced(client, TENANT);

    // The flaky product's canary fails beyond its threshold: the rollout holds there.
    let held = rollout_status(
        &rollouts,
        "flaky-2.0.0",
        "the flaky rollout to hold after its canary",
        Duration::from_secs(180),
        |s| s.phase == "Paused" && s.message.contains("failure threshold"),
    )
    .await;
    assert_eq!(held.current_wave, 0, "{held:?}");
    // Nobody beyond the canary started (a canary device may wait for its retry).
    assert!(held.pending >= u64::from(FLAKY) - 20, "{held:?}");
    assert!(held.succeeded + held.failed <= 20, "{held:?}");
    assert!(held.failed >= 3, "{held:?}");

    // The bricking image: the canary never comes back, the rollout aborts.
    let aborted = rollout_status(
        &rollouts,
        "bricks-2.0.0",
        "the bricks' rollout to abort",
        Duration::from_secs(180),
        |s| s.phase == "Aborted" && s.failed == 2,
    )
    .await;
    assert_eq!(
        (aborted.failed, aborted.pending),
        (2, u64::from(SMALL) - 2),
        "{aborted:?}"
    );
    assert!(aborted.message.contains("failure threshold"), "{aborted:?}");
    assert_eq!((0..SMALL).filter(|i| bricks.is_silent(*i)).count(), 2);

    // Before its window, the nightly canary accepted ScheduleDownloads and waits.
    if unix_seconds() + 5 < window_opens {
        let waiting = rollout_status(
            &rollouts,
            "nightly-2.0.0",
            "the nightly canary scheduled",
            Duration::from_secs(60),
            |s| s.scheduled == 5,
        )
        .await;
        assert_eq!(waiting.phase, "Paused", "{waiting:?}");
        assert_eq!(waiting.succeeded, 0, "{waiting:?}");
    }

    // The gateways' rollout goes wave by wave; its leading operator is killed in wave 1.
    rollout_status(
        &rollouts,
        "gateways-2.0.0",
        "the gateways' second wave under way",
        Duration::from_secs(240),
        |s| s.current_wave == 1 && s.succeeded >= 100,
    )
    .await;
    let leading = leader(&kube);
    let leading = operators
        .iter()
        .position(|o| o.identity == leading)
        .expect("the leader is one of ours");
    operators[leading].process.kill();
    operators[leading] = start_operator(
        &kube,
        &store,
        &operators[leading].identity.clone(),
        &files_url,
        2,
    );

    // Pause and resume the flaky rollout through its spec, raising the threshold.
    let patch = |spec: &str| {
        kube.kubectl(&[
            "patch",
            "fwr",
            "flaky-2.0.0",
            "-n",
            TENANT,
            "--type",
            "merge",
            "-p",
            spec,
        ])
        .unwrap()
    };
    patch(r#"{"spec":{"paused":true,"strategy":{"failureThreshold":{"percent":40}}}}"#);
    let paused = rollout_status(
        &rollouts,
        "flaky-2.0.0",
        "the spec's pause",
        Duration::from_secs(60),
        |s| s.message == "paused in the spec",
    )
    .await;
    assert_eq!(paused.pending, held.pending, "{paused:?}");
    patch(r#"{"spec":{"paused":false}}"#);

    let done = rollout_status(
        &rollouts,
        "gateways-2.0.0",
        "the gateways' rollout to complete",
        Duration::from_secs(420),
        |s| s.phase == "Complete",
    )
    .await;
    let took = started.elapsed();
    let failed = failing(&gateways);
    assert!(failed >= 5, "some failures were injected: {failed}");
    assert_eq!(done.waves, 3);
    assert_eq!(
        (done.total, done.succeeded, done.failed),
        (u64::from(GATEWAYS), u64::from(GATEWAYS) - failed, failed),
        "{done:?}"
    );
    let flaky_done = rollout_status(
        &rollouts,
        "flaky-2.0.0",
        "the flaky rollout to complete",
        Duration::from_secs(180),
        |s| s.phase == "Complete",
    )
    .await;
    let flaky_failed = failing(&flaky);
    assert_eq!(
        (flaky_done.succeeded, flaky_done.failed),
        (u64::from(FLAKY) - flaky_failed, flaky_failed),
        "{flaky_done:?}"
    );
    // No device was upgraded twice, across the operator's death.
    check_devices(&gateways, &api, &token).await;
    check_devices(&flaky, &api, &token).await;

    // The nightly devices downloaded in their window, told by ScheduleDownload.
    let nightly_done = rollout_status(
        &rollouts,
        "nightly-2.0.0",
        "the nightly rollout to complete",
        Duration::from_secs(240),
        |s| s.phase == "Complete",
    )
    .await;
    assert_eq!(nightly_done.succeeded, u64::from(SMALL), "{nightly_done:?}");
    let opened = cpe_sim::template::format_datetime(window_opens * 1000);
    let mut scheduled = 0;
    for index in 0..SMALL {
        let id = nightly.config().identity.device_id(index);
        let transfers = api_get(&api, &format!("/api/v1/devices/{id}/transfers"), &token).await;
        let [transfer] = transfers.as_array().unwrap().as_slice() else {
            panic!("one transfer for {id}: {transfers}");
        };
        assert!(
            transfer["startTime"].as_str().unwrap() >= opened.as_str(),
            "{id} downloaded before the window opened at {opened}: {transfer}"
        );
        let task_path = format!("/api/v1/tasks/{}", transfer["taskId"].as_str().unwrap());
        let task = api_get(&api, &task_path, &token).await;
        if task["spec"]["name"] == "scheduleDownload" {
            scheduled += 1;
        }
    }
    // The canary was told before the window; the next wave started inside it (Download).
    assert_eq!(scheduled, 5, "devices told with ScheduleDownload");
    let reasons = kube
        .kubectl(&[
            "get",
            "events",
            "-n",
            TENANT,
            "--field-selector",
            "involvedObject.name=gateways-2.0.0",
            "-o",
            "jsonpath={.items[*].reason}",
        ])
        .unwrap();
    for reason in ["WaveStarted", "Complete"] {
        assert!(reasons.contains(reason), "event {reason} in: {reasons}");
    }
    eprintln!(
        "{GATEWAYS} devices in three waves (and {FLAKY} held, paused and resumed) in {:.0} s",
        took.as_secs_f64()
    );
    drop(edges);
}
