//! A firmware rollout in standalone mode survives its process: `kube-acs standalone` is killed
//! (SIGKILL) in the middle of a wave and started again on the same data directory and ports;
//! the rollout carries on from the store and completes, and no device is upgraded twice.

mod common;

use std::time::{Duration, Instant};

use common::Acs;
use serde_json::Value;

const DEVICES: u32 = 150;

const RESOURCES: &str = r#"apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {name: gateways}
spec:
  parameters:
  - {name: DeviceInfo.ProductClass, operator: Equals, value: SimGW}
---
apiVersion: kubeacs.io/v1alpha1
kind: FirmwareRollout
metadata: {name: gw-upgrade}
spec:
  firmware: gw-2.0.0
  target: {group: gateways}
  strategy:
    canary: {count: 10}
    steps: [{percent: 50}, {percent: 100}]
    maxInFlight: 10
    ratePerMinute: 1200
"#;

/// The rollout's status as the API lists it.
async fn status(acs: &Acs) -> Value {
    let (_, rollouts) = acs.get("/api/v1/resources/firmwarerollouts").await;
    rollouts[0]["status"].clone()
}

/// Polls the rollout's status until `done` holds, up to `timeout`.
async fn wait_for(acs: &Acs, what: &str, timeout: Duration, done: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        let status = status(acs).await;
        if done(&status) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {status}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_carries_on_after_the_process_is_killed_mid_wave() {
    let dir = tempfile::tempdir().unwrap();
    let resources = dir.path().join("resources");
    std::fs::create_dir_all(&resources).unwrap();
    let data = dir.path().join("data");
    let mut acs = Acs::start(
        &data,
        &[
            "--resources",
            resources.to_str().unwrap(),
            "--task-max-attempts",
            "1",
        ],
    )
    .await;
    let simulated = common::SimulatedFleet::boot(&acs, DEVICES, 16).await;
    let fleet = &simulated.fleet;
    let image: Vec<u8> = (0..20_000u32).map(|i| (i % 233) as u8).collect();
    std::fs::create_dir_all(data.join("files")).unwrap();
    std::fs::write(data.join("files").join("2.0.0.bin"), &image).unwrap();
    let firmware = format!(
        "apiVersion: kubeacs.io/v1alpha1\nkind: Firmware\nmetadata: {{name: gw-2.0.0}}\nspec: {{version: \"2.0.0\", file: 2.0.0.bin, size: {}}}\n---\n",
        image.len()
    );
    std::fs::write(
        resources.join("rollout.yaml"),
        format!("{firmware}{RESOURCES}"),
    )
    .unwrap();

    // Killed in the middle of the second wave, started again on the same store and ports.
    wait_for(
        &acs,
        "the second wave under way",
        Duration::from_secs(120),
        |s| s["currentWave"] == 1 && s["succeeded"].as_u64().unwrap_or(0) >= 20,
    )
    .await;
    acs.restart().await;
    wait_for(
        &acs,
        "the rollout to complete",
        Duration::from_secs(180),
        |s| s["phase"] == "Complete",
    )
    .await;
    let done = status(&acs).await;
    let mut failed_downloads = 0;
    assert_eq!(done["succeeded"], DEVICES, "{done}");
    assert_eq!(done["failed"], 0, "{done}");
    for index in 0..DEVICES {
        let id = fleet.config().identity.device_id(index);
        let version = fleet.value(index, "InternetGatewayDevice.DeviceInfo.SoftwareVersion");
        assert_eq!(version.as_deref(), Some("2.0.0"), "device {id}");
        let (_, tasks) = acs.get(&format!("/api/v1/devices/{id}/tasks")).await;
        // Upgraded once: one Download done; any other failed with the device's fault (a
        // fetch while the file server was down for the restart, retried by the rollout).
        let downloads: Vec<&Value> = tasks
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["spec"]["name"] == "download")
            .collect();
        let done = downloads.iter().filter(|t| t["status"] == "done").count();
        assert_eq!(done, 1, "device {id} upgraded once: {tasks}");
        failed_downloads += downloads.len() as u32 - 1;
        assert!(
            downloads
                .iter()
                .all(|t| t["status"] == "done" || t["fault"]["code"].is_u64()),
            "device {id}: every other Download failed with a fault: {tasks}"
        );
    }
    let (_, firmwares) = acs.get("/api/v1/resources/firmwares").await;
    // Every fetch is counted before its first byte: one per device, plus any fetch the kill
    // broke off (its Download failed and was retried).
    let counted = firmwares[0]["status"]["downloads"].as_u64().unwrap_or(0) as u32;
    assert!(
        (DEVICES..=DEVICES + failed_downloads).contains(&counted),
        "{counted} downloads counted for {DEVICES} devices and {failed_downloads} failed Downloads: {firmwares}"
    );
}
