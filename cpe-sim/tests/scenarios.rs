//! Small versions of the benchmark scenarios against the real ACS: the `kube-acs` binary runs
//! as a process (`kube-acs standalone` on free loopback ports, temporary data directory) and
//! the simulated devices talk to it over HTTP. Correctness only, no timings.
//!
//! The binary is built by the test itself with `cargo build -p kube-acs
//! --message-format=json`, and its path taken from Cargo's report, which works wherever
//! `CARGO_TARGET_DIR` points (`KUBE_ACS_BIN` overrides it with a ready binary).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use cpe_sim::acs::{build_kube_acs, AcsApi};
use cpe_sim::bench::{provisioning_resources, setup, Setup};
use cpe_sim::fleet::{BatchReport, Fleet, FleetConfig};
use cpe_sim::inform::Trigger;
use cpe_sim::misbehave::{Misbehaviour, TransferFaults};
use cpe_sim::model::Model;
use cpe_sim::transfer::Injected;

/// The ACS binary, built once per test run.
fn kube_acs() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("KUBE_ACS_BIN") {
        Some(path) => PathBuf::from(path),
        None => build_kube_acs(false).expect("building kube-acs"),
    })
    .clone()
}

/// Starts the ACS (with `acs_args`) and `devices` devices of `model`.
async fn start(
    model: &str,
    devices: u32,
    acs_args: &[&str],
    configure: impl FnOnce(&mut FleetConfig),
) -> Setup {
    let args: Vec<String> = acs_args.iter().map(|s| s.to_string()).collect();
    setup(
        &kube_acs(),
        &args,
        "info",
        None,
        Model::load(model).unwrap(),
        devices,
        1,
        configure,
    )
    .await
    .expect("starting the ACS and the fleet")
}

async fn batch(fleet: &Arc<Fleet>, devices: u32, trigger: Trigger) -> BatchReport {
    let deadline = Instant::now() + Duration::from_secs(120);
    fleet
        .run_batch((0..devices).collect(), trigger, 32, deadline)
        .await
}

async fn get(api: &AcsApi, path: &str) -> Value {
    let (status, body) = api.get(path).await.unwrap();
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// A stored parameter value as the ACS shows it (`value` is `[text, type]`).
fn stored(device: &Value, name: &str) -> Option<String> {
    device["parameters"][name]["value"][0]
        .as_str()
        .map(str::to_string)
}

async fn set_cr_credentials(api: &AcsApi, fleet: &Fleet, index: u32) {
    let (username, password) = fleet.cr_credentials(index);
    let id = fleet.config().identity.device_id(index);
    let (status, body) = api
        .put(
            &format!("/api/v1/devices/{id}/connection-request"),
            &json!({"username": username, "password": password}),
        )
        .await
        .unwrap();
    assert_eq!(status, 204, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_then_periodic_300_devices() {
    let s = start("tr181", 300, &[], |_| {}).await;
    let api = s.acs.api();
    let boot = batch(&s.fleet, 300, Trigger::Pending).await;
    assert_eq!(
        (boot.ok, boot.failed, boot.injected),
        (300, 0, 0),
        "{:?}",
        s.fleet.stats().errors()
    );
    let periodic = batch(&s.fleet, 300, Trigger::Periodic).await;
    assert_eq!(
        (periodic.ok, periodic.failed),
        (300, 0),
        "{:?}",
        s.fleet.stats().errors()
    );

    let devices = get(&api, "/api/v1/devices?limit=10000").await;
    let devices = devices.as_array().unwrap();
    assert_eq!(devices.len(), 300);
    let identity = &s.fleet.config().identity;
    for index in [0, 150, 299] {
        let id = identity.device_id(index);
        let device = get(&api, &format!("/api/v1/devices/{id}")).await;
        assert_eq!(device["lastEvents"], json!(["2 PERIODIC"]), "{device}");
        assert!(device["lastBootstrap"].is_number());
        assert_eq!(
            device["identity"]["serialNumber"],
            json!(identity.serial(index))
        );
        assert_eq!(
            stored(&device, "Device.ManagementServer.ConnectionRequestURL"),
            Some(identity.cr_url(index))
        );
        assert_eq!(
            stored(&device, "Device.DeviceInfo.SoftwareVersion").as_deref(),
            Some("1.0.0")
        );
        assert_eq!(
            stored(&device, "Device.RootDataModelVersion").as_deref(),
            Some("2.11")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_storm_150_devices_provisioned_in_their_first_session() {
    let model = Model::load("tr181").unwrap();
    let (resources, _) = provisioning_resources(&model).unwrap();
    let dir = resources.path().display().to_string();
    let s = start("tr181", 150, &["--resources", &dir], |_| {}).await;
    let api = s.acs.api();
    let boot = batch(&s.fleet, 150, Trigger::Pending).await;
    assert_eq!(
        (boot.ok, boot.failed, boot.injected),
        (150, 0, 0),
        "{:?}",
        s.fleet.stats().errors()
    );
    // Inform, GetParameterNames, GetParameterValues, SetParameterValues: all in one session.
    assert_eq!(boot.rpcs, 150 * 4);

    let identity = &s.fleet.config().identity;
    let settable = model.settable_strings(20);
    for index in [0, 75, 149] {
        let serial = identity.serial(index);
        for (n, name) in settable.iter().enumerate() {
            let expected = format!("p{n}-{serial}");
            assert_eq!(s.fleet.value(index, name), Some(expected), "{name}");
        }
        // The stored tree: every parameter of the model, with the value read and the
        // writability listed (stored together, after the GetParameterValues).
        let id = identity.device_id(index);
        let device = get(&api, &format!("/api/v1/devices/{id}?parameters=Device.")).await;
        let parameters = device["parameters"].as_object().unwrap();
        let leaves: Vec<_> = parameters
            .iter()
            .filter(|(name, _)| !name.ends_with('.'))
            .collect();
        assert_eq!(leaves.len(), model.parameter_count());
        for (name, record) in leaves {
            assert!(record["writable"].is_boolean(), "{name}: {record}");
            assert!(record["value"][0].is_string(), "{name}: {record}");
        }
        assert_eq!(
            stored(&device, settable[0]),
            Some(format!("p0-{serial}")),
            "the set value is stored"
        );
    }

    // Nothing left to do: the next session is an Inform and nothing else.
    let periodic = batch(&s.fleet, 150, Trigger::Periodic).await;
    assert_eq!((periodic.ok, periodic.failed, periodic.rpcs), (150, 0, 150));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_devices_fail_only_where_injected() {
    let s = start("tr098", 120, &[], |config| {
        config.seed = 11;
        config.misbehaviour = Misbehaviour {
            drop_cookies: 0.5,
            cwmp10_only: 0.3,
            slow: 0.2,
            slow_delay: Duration::from_millis(50),
            malformed: 0.1,
            disconnect: 0.1,
        };
        config.retries = 0;
    })
    .await;
    let fleet = &s.fleet;
    let boot = batch(fleet, 120, Trigger::Pending).await;
    let periodic = batch(fleet, 120, Trigger::Periodic).await;
    assert_eq!(
        boot.failed + periodic.failed,
        0,
        "{:?}",
        fleet.stats().errors()
    );
    assert!(boot.injected + periodic.injected > 0);
    assert!(boot.ok + periodic.ok > 150);
    // Devices that spoke cwmp-1-0 are known to the ACS as such.
    let api = s.acs.api();
    let devices = get(&api, "/api/v1/devices?limit=10000").await;
    let versions: Vec<&str> = devices
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["cwmpVersion"].as_str())
        .collect();
    assert!(
        versions.contains(&"1.0") && versions.contains(&"1.2"),
        "{versions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mass_set_100_devices_via_connection_requests() {
    let s = start("tr181", 100, &["--task-max-attempts", "1"], |_| {}).await;
    let (api, fleet) = (s.acs.api(), Arc::clone(&s.fleet));
    let boot = batch(&fleet, 100, Trigger::Pending).await;
    assert_eq!(boot.ok, 100, "{:?}", fleet.stats().errors());
    for index in 0..100 {
        set_cr_credentials(&api, &fleet, index).await;
    }
    let ssid = "Device.WiFi.SSID.1.SSID";
    let mut calls = Vec::new();
    for index in 0..100u32 {
        let (api, fleet) = (api.clone(), Arc::clone(&fleet));
        calls.push(tokio::spawn(async move {
            let id = fleet.config().identity.device_id(index);
            let (status, task) = api
                .post(
                    &format!("/api/v1/devices/{id}/tasks?connectionRequest=true&timeout=30"),
                    &json!({"name": "setParameterValues",
                            "parameterValues": [{"name": ssid, "value": format!("set-{index}"), "type": "xsd:string"}]}),
                )
                .await
                .unwrap();
            (index, status, task)
        }));
    }
    for call in calls {
        let (index, status, task) = call.await.unwrap();
        assert_eq!(
            (status, task["status"].as_str()),
            (200, Some("done")),
            "device {index}: {task}"
        );
    }
    assert!(fleet.wait_idle(Duration::from_secs(10)).await);
    assert_eq!(
        fleet.stats().failed.load(Ordering::Relaxed),
        0,
        "{:?}",
        fleet.stats().errors()
    );
    let identity = &fleet.config().identity;
    for index in 0..100 {
        let expected = format!("set-{index}");
        assert_eq!(fleet.value(index, ssid).as_deref(), Some(expected.as_str()));
        let device = get(
            &api,
            &format!(
                "/api/v1/devices/{}?parameters=Device.WiFi.",
                identity.device_id(index)
            ),
        )
        .await;
        assert_eq!(stored(&device, ssid), Some(expected), "{device}");
        assert_eq!(device["lastEvents"], json!(["6 CONNECTION REQUEST"]));
    }

    // A non-writable parameter: 9003 with a 9008 entry, and nothing applied.
    let id = identity.device_id(7);
    let (status, task) = api
        .post(
            &format!("/api/v1/devices/{id}/tasks?connectionRequest=true&timeout=30"),
            &json!({"name": "setParameterValues", "parameterValues": [
                {"name": ssid, "value": "never", "type": "xsd:string"},
                {"name": "Device.DeviceInfo.SerialNumber", "value": "x", "type": "xsd:string"}]}),
        )
        .await
        .unwrap();
    assert_eq!(
        (status, task["status"].as_str()),
        (200, Some("failed")),
        "{task}"
    );
    assert_eq!(task["fault"]["code"], 9003, "{task}");
    assert_eq!(
        task["fault"]["setParameterValuesFaults"][0]["parameterName"],
        "Device.DeviceInfo.SerialNumber"
    );
    assert_eq!(task["fault"]["setParameterValuesFaults"][0]["code"], 9008);
    assert_eq!(fleet.value(7, ssid).as_deref(), Some("set-7"));

    // The whole tree through GetParameterNames: every object and parameter of the model.
    let (status, task) = api
        .post(
            &format!("/api/v1/devices/{id}/tasks?connectionRequest=true&timeout=30"),
            &json!({"name": "getParameterNames", "parameterPath": "Device.", "nextLevel": false}),
        )
        .await
        .unwrap();
    assert_eq!(
        (status, task["status"].as_str()),
        (200, Some("done")),
        "{task}"
    );
    let device = get(&api, &format!("/api/v1/devices/{id}?parameters=Device.")).await;
    let names = device["parameters"].as_object().unwrap();
    let leaves = names.keys().filter(|name| !name.ends_with('.')).count();
    assert_eq!(leaves, fleet.config().model.parameter_count());

    // Wrong connection-request credentials are rejected by the device.
    let (status, _) = api
        .put(
            &format!(
                "/api/v1/devices/{}/connection-request",
                identity.device_id(8)
            ),
            &json!({"username": identity.cr_username(8), "password": "wrong"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 204);
    let (status, state) = api
        .post(
            &format!(
                "/api/v1/devices/{}/connection-request",
                identity.device_id(8)
            ),
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(status, 502, "{state}");
    assert!(
        state["error"]
            .as_str()
            .unwrap_or_default()
            .contains("credentials"),
        "{state}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_with_injected_failures() {
    const DEVICES: u32 = 40;
    let s = start("tr181", DEVICES, &["--task-max-attempts", "1"], |config| {
        config.seed = 5;
        config.reboot_delay = Duration::from_millis(200);
        config.transfer_faults = TransferFaults {
            download_failure: 0.1,
            corrupted: 0.25,
            never_returns: 0.1,
        };
    })
    .await;
    let (api, fleet) = (s.acs.api(), Arc::clone(&s.fleet));
    let boot = batch(&fleet, DEVICES, Trigger::Pending).await;
    assert_eq!(boot.ok, u64::from(DEVICES));
    // The firmware on the ACS's file server, with its SHA-256 in the URL's fragment.
    let image: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::create_dir_all(&s.acs.files_dir).unwrap();
    std::fs::write(s.acs.files_dir.join("fw-2.0.0.bin"), &image).unwrap();
    let sha = {
        use sha2::Digest;
        sha2::Sha256::digest(&image)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let url = format!("{}/fw-2.0.0.bin#sha256={sha}", s.acs.files_url);
    let identity = &fleet.config().identity;
    let mut tasks = Vec::new();
    for index in 0..DEVICES {
        set_cr_credentials(&api, &fleet, index).await;
        let (status, task) = api
            .post(
                &format!(
                    "/api/v1/devices/{}/tasks?connectionRequest=true",
                    identity.device_id(index)
                ),
                &json!({"name": "download", "fileType": "1 Firmware Upgrade Image", "url": url,
                        "fileSize": image.len(), "targetFileName": "fw-2.0.0.bin"}),
            )
            .await
            .unwrap();
        assert_eq!(status, 202, "{task}");
        tasks.push(task["id"].as_str().unwrap().to_string());
    }
    // Wait until every device that comes back has reported its transfer.
    let deadline = Instant::now() + Duration::from_secs(90);
    let final_states = loop {
        let mut states = Vec::new();
        for id in &tasks {
            states.push(get(&api, &format!("/api/v1/tasks/{id}")).await);
        }
        let settled = states.iter().enumerate().all(|(index, task)| {
            let status = task["status"].as_str().unwrap_or_default();
            match fleet.injected_transfer(index as u32) {
                Injected::NeverReturns => {
                    status == "awaitingCompletion" && fleet.is_silent(index as u32)
                }
                _ => status == "done" || status == "failed",
            }
        });
        if settled || Instant::now() > deadline {
            break states;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let mut seen = [0; 4];
    for (index, task) in final_states.iter().enumerate() {
        let index = index as u32;
        let id = identity.device_id(index);
        let faults = get(&api, &format!("/api/v1/devices/{id}/faults")).await;
        let codes: Vec<u64> = faults
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["fault"]["code"].as_u64())
            .collect();
        let device = get(
            &api,
            &format!("/api/v1/devices/{id}?parameters=Device.DeviceInfo."),
        )
        .await;
        let version = stored(&device, "Device.DeviceInfo.SoftwareVersion");
        match fleet.injected_transfer(index) {
            Injected::None => {
                seen[0] += 1;
                assert_eq!(task["status"], "done", "device {index}: {task}");
                assert_eq!(version.as_deref(), Some("fw-2.0.0"), "device {index}");
                assert!(codes.is_empty(), "device {index}: {codes:?}");
                assert!(device["lastEvents"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("7 TRANSFER COMPLETE")));
            }
            Injected::Corrupted => {
                seen[1] += 1;
                assert_eq!(
                    (task["status"].as_str(), &task["fault"]["code"]),
                    (Some("failed"), &json!(9018)),
                    "device {index}: {task}"
                );
                assert_eq!(codes, [9018], "device {index}");
                assert_eq!(version.as_deref(), Some("1.0.0"));
            }
            Injected::DownloadFailure => {
                seen[2] += 1;
                assert_eq!(task["fault"]["code"], 9010, "device {index}: {task}");
                assert_eq!(codes, [9010], "device {index}");
            }
            Injected::NeverReturns => {
                seen[3] += 1;
                assert_eq!(
                    task["status"], "awaitingCompletion",
                    "device {index}: {task}"
                );
                assert!(fleet.is_silent(index));
                let (status, _) = api
                    .post(
                        &format!("/api/v1/devices/{id}/connection-request"),
                        &json!({}),
                    )
                    .await
                    .unwrap();
                assert_eq!(
                    status, 502,
                    "a silent device does not answer connection requests"
                );
            }
        }
    }
    assert!(
        seen.iter().all(|&n| n > 0),
        "every outcome happened: {seen:?}"
    );
    assert_eq!(
        fleet.stats().failed.load(Ordering::Relaxed),
        0,
        "{:?}",
        fleet.stats().errors()
    );
}

/// Polls the ACS until `check` accepts the device (`?parameters=` prefix `params`).
async fn wait_for_device(
    api: &AcsApi,
    id: &str,
    params: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let device = get(api, &format!("/api/v1/devices/{id}?parameters={params}")).await;
        if check(&device) || Instant::now() > deadline {
            return device;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Queues a task with a connection request and waits until it is done.
async fn run_task(api: &AcsApi, id: &str, spec: Value) -> Value {
    let (status, task) = api
        .post(
            &format!("/api/v1/devices/{id}/tasks?connectionRequest=true&timeout=30"),
            &spec,
        )
        .await
        .unwrap();
    assert!(status == 200 || status == 202, "{task}");
    let task_id = task["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let task = get(api, &format!("/api/v1/tasks/{task_id}")).await;
        if task["status"] == "done" || task["status"] == "failed" || Instant::now() > deadline {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_operations_through_the_acs() {
    let s = start("tr181", 3, &["--task-max-attempts", "1"], |config| {
        config.reboot_delay = Duration::from_millis(200);
    })
    .await;
    let (api, fleet) = (s.acs.api(), Arc::clone(&s.fleet));
    assert_eq!(batch(&fleet, 3, Trigger::Pending).await.ok, 3);
    let identity = &fleet.config().identity;
    let id = identity.device_id(1);
    set_cr_credentials(&api, &fleet, 1).await;

    // AddObject numbers grow and are never reused, even after a DeleteObject.
    let added = run_task(
        &api,
        &id,
        json!({"name": "addObject", "objectName": "Device.NAT.PortMapping.",
               "parameterValues": [{"name": "ExternalPort", "value": "9000", "type": "xsd:unsignedInt"}]}),
    )
    .await;
    assert_eq!(added["status"], "done", "{added}");
    assert_eq!(
        fleet
            .value(1, "Device.NAT.PortMapping.3.ExternalPort")
            .as_deref(),
        Some("9000")
    );
    let deleted = run_task(
        &api,
        &id,
        json!({"name": "deleteObject", "objectName": "Device.NAT.PortMapping.3."}),
    )
    .await;
    assert_eq!(deleted["status"], "done", "{deleted}");
    assert_eq!(
        fleet.value(1, "Device.NAT.PortMapping.3.ExternalPort"),
        None
    );
    let again = run_task(
        &api,
        &id,
        json!({"name": "addObject", "objectName": "Device.NAT.PortMapping."}),
    )
    .await;
    assert_eq!(again["status"], "done", "{again}");
    assert!(
        fleet
            .value(1, "Device.NAT.PortMapping.4.ExternalPort")
            .is_some(),
        "{again}"
    );

    // Active notification, then a change made on the device through the simulator's API:
    // the device informs 4 VALUE CHANGE with the new value.
    let ssid = "Device.WiFi.SSID.1.SSID";
    let attributes = run_task(
        &api,
        &id,
        json!({"name": "setParameterAttributes", "parameterAttributes": [
            {"name": ssid, "notificationChange": true, "notification": 2, "accessListChange": false, "accessList": []}]}),
    )
    .await;
    assert_eq!(attributes["status"], "done", "{attributes}");
    let control = AcsApi::new(&identity.cr_base_url.replace("/cr/", "/sim/"));
    let serial = identity.serial(1);
    let (status, _) = control
        .send_text(
            hyper::Method::PUT,
            &format!("/{serial}/{ssid}"),
            "changed-on-device",
        )
        .await
        .unwrap();
    assert_eq!(status, 204);
    let (status, value) = control
        .send_text(hyper::Method::GET, &format!("/{serial}/{ssid}"), "")
        .await
        .unwrap();
    assert_eq!((status, value.as_str()), (200, "changed-on-device"));
    let device = wait_for_device(&api, &id, "Device.WiFi.", |d| {
        stored(d, ssid).as_deref() == Some("changed-on-device")
    })
    .await;
    assert_eq!(
        stored(&device, ssid).as_deref(),
        Some("changed-on-device"),
        "{device}"
    );
    assert_eq!(device["lastEvents"], json!(["4 VALUE CHANGE"]));

    // Reboot: done when the device comes back with 1 BOOT and M Reboot.
    let reboot = run_task(&api, &id, json!({"name": "reboot"})).await;
    assert_eq!(reboot["status"], "done", "{reboot}");
    let device = get(&api, &format!("/api/v1/devices/{id}")).await;
    assert_eq!(device["lastEvents"], json!(["1 BOOT", "M Reboot"]));

    // Factory reset: back with 0 BOOTSTRAP and the factory SSID.
    let reset = run_task(&api, &id, json!({"name": "factoryReset"})).await;
    assert_eq!(reset["status"], "done", "{reset}");
    let factory = format!("Home-{serial}");
    assert_eq!(fleet.value(1, ssid).as_deref(), Some(factory.as_str()));
    let device = wait_for_device(&api, &id, "Device.", |d| {
        d["lastEvents"] == json!(["0 BOOTSTRAP", "1 BOOT"])
    })
    .await;
    assert_eq!(device["lastEvents"], json!(["0 BOOTSTRAP", "1 BOOT"]));
    assert!(fleet.wait_idle(Duration::from_secs(10)).await);
    assert_eq!(
        fleet.stats().failed.load(Ordering::Relaxed),
        0,
        "{:?}",
        fleet.stats().errors()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_fleet_informs_periodically() {
    let s = start("tr098", 30, &[], |config| {
        config.identity.periodic_interval = 1;
        config.periodic_jitter = 0.2;
    })
    .await;
    let fleet = Arc::clone(&s.fleet);
    fleet
        .live(
            Duration::from_secs(4),
            Duration::from_millis(500),
            16,
            Duration::from_secs(1),
        )
        .await;
    assert!(fleet.wait_idle(Duration::from_secs(10)).await);
    let ok = fleet.stats().ok.load(Ordering::Relaxed);
    assert!(
        ok >= 60,
        "every device informed at boot and then periodically: {ok}"
    );
    assert_eq!(
        fleet.stats().failed.load(Ordering::Relaxed),
        0,
        "{:?}",
        fleet.stats().errors()
    );
    let api = s.acs.api();
    let devices = get(&api, "/api/v1/devices?limit=100").await;
    let devices = devices.as_array().unwrap();
    assert_eq!(devices.len(), 30);
    assert!(
        devices
            .iter()
            .all(|d| d["lastEvents"] == json!(["2 PERIODIC"])),
        "{devices:?}"
    );
}

/// A fleet on a standalone ACS with a resources directory, a firmware image `2.0.0.bin` on
/// its file server, and every device's connection-request credentials set.
struct RolloutFleet {
    setup: Setup,
    resources: tempfile::TempDir,
    size: usize,
    sha256: String,
}

async fn rollout_fleet(
    devices: u32,
    extra_args: &[&str],
    configure: impl FnOnce(&mut FleetConfig),
) -> RolloutFleet {
    let resources = tempfile::tempdir().unwrap();
    let dir = resources.path().display().to_string();
    let mut args = vec!["--resources", &dir, "--task-max-attempts", "1"];
    args.extend_from_slice(extra_args);
    let setup = start("tr098", devices, &args, |config| {
        config.seed = 7;
        config.reboot_delay = Duration::from_millis(200);
        configure(config);
    })
    .await;
    let boot = batch(&setup.fleet, devices, Trigger::Pending).await;
    assert_eq!(boot.ok, u64::from(devices));
    let image: Vec<u8> = (0..40_000u32).map(|i| (i % 241) as u8).collect();
    std::fs::create_dir_all(&setup.acs.files_dir).unwrap();
    std::fs::write(setup.acs.files_dir.join("2.0.0.bin"), &image).unwrap();
    let sha256 = {
        use sha2::Digest;
        sha2::Sha256::digest(&image)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let api = setup.acs.api();
    for index in 0..devices {
        set_cr_credentials(&api, &setup.fleet, index).await;
    }
    RolloutFleet {
        setup,
        resources,
        size: image.len(),
        sha256,
    }
}

impl RolloutFleet {
    /// Writes the group, the Firmware and the FirmwareRollout (with `strategy` and `extra`
    /// spec lines) into the resources directory.
    fn write_rollout(&self, strategy: &str, extra: &str) {
        let yaml = format!(
            r#"apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {{name: gateways}}
spec:
  parameters:
  - {{name: DeviceInfo.ProductClass, operator: Equals, value: SimGW}}
---
apiVersion: kubeacs.io/v1alpha1
kind: Firmware
metadata: {{name: gw-2.0.0}}
spec:
  version: "2.0.0"
  file: 2.0.0.bin
  size: {size}
  sha256: {sha}
  compatible: {{productClasses: [SimGW]}}
---
apiVersion: kubeacs.io/v1alpha1
kind: FirmwareRollout
metadata: {{name: gw-upgrade}}
spec:
  firmware: gw-2.0.0
  target: {{group: gateways}}
{extra}  strategy:
{strategy}"#,
            size = self.size,
            sha = self.sha256,
        );
        std::fs::write(self.resources.path().join("rollout.yaml"), yaml).unwrap();
    }

    async fn status(&self) -> Value {
        let rollouts = get(&self.setup.acs.api(), "/api/v1/resources/firmwarerollouts").await;
        rollouts[0]["status"].clone()
    }

    /// Polls the rollout's status until `done` holds for it, up to `timeout`.
    async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.status().await;
            if done(&status) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {status}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

const THREE_WAVES: &str = "    canary: {count: 20, soakSeconds: 1}
    steps:
    - {percent: 50}
    - {percent: 100}
    maxInFlight: 100
    ratePerMinute: 6000
    retries: 1
    deviceTimeoutSeconds: 60
    failureThreshold: {percent: 10, action: Pause}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_devices_upgrade_in_three_waves_despite_two_percent_failures() {
    const DEVICES: u32 = 1000;
    let fleet = rollout_fleet(DEVICES, &[], |config| {
        config.transfer_faults = TransferFaults {
            download_failure: 0.02,
            ..TransferFaults::default()
        }
    })
    .await;
    fleet.write_rollout(THREE_WAVES, "");
    let status = fleet
        .wait_for("the rollout to complete", Duration::from_secs(300), |s| {
            s["phase"] == "Complete"
        })
        .await;
    let sim = &fleet.setup.fleet;
    let injected = (0..DEVICES)
        .filter(|i| sim.injected_transfer(*i) == Injected::DownloadFailure)
        .count() as u64;
    assert!(injected > 5, "some failures were injected: {injected}");
    assert_eq!(status["waves"], 3, "{status}");
    assert_eq!(status["total"], DEVICES);
    assert_eq!(status["failed"], injected, "{status}");
    assert_eq!(
        status["succeeded"],
        u64::from(DEVICES) - injected,
        "{status}"
    );
    for index in 0..DEVICES {
        let version = sim.value(index, "InternetGatewayDevice.DeviceInfo.SoftwareVersion");
        let expected = match sim.injected_transfer(index) {
            Injected::DownloadFailure => "1.0.0",
            _ => "2.0.0",
        };
        assert_eq!(version.as_deref(), Some(expected), "device {index}");
    }
    let conditions = status["conditions"].as_array().unwrap();
    assert!(conditions
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True"));
    assert!(conditions
        .iter()
        .any(|c| c["type"] == "Degraded" && c["status"] == "True"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_percent_failures_stop_the_rollout_after_the_canary_until_resumed() {
    const DEVICES: u32 = 200;
    let fleet = rollout_fleet(DEVICES, &[], |config| {
        config.transfer_faults = TransferFaults {
            download_failure: 0.2,
            ..TransferFaults::default()
        }
    })
    .await;
    fleet.write_rollout(THREE_WAVES, "");
    let held = fleet
        .wait_for("the rollout to hold", Duration::from_secs(120), |s| {
            s["phase"] == "Paused" && s["pending"].as_u64() == Some(u64::from(DEVICES) - 20)
        })
        .await;
    assert_eq!(held["currentWave"], 0, "{held}");
    assert!(
        held["message"]
            .as_str()
            .unwrap()
            .contains("failure threshold"),
        "{held}"
    );
    let canary_failed = held["failed"].as_u64().unwrap();
    assert!(canary_failed > 2, "{held}");
    // Held for good: a while later nobody beyond the canary has started.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = fleet.status().await;
    assert_eq!(still["pending"], held["pending"], "{still}");
    assert_eq!(still["phase"], "Paused");
    // Paused in the spec, then the threshold raised: it goes on, once unpaused.
    let tolerant = THREE_WAVES.replace("percent: 10, action: Pause", "percent: 40, action: Pause");
    fleet.write_rollout(&tolerant, "  paused: true\n");
    let paused = fleet
        .wait_for("the spec's pause", Duration::from_secs(30), |s| {
            s["message"] == "paused in the spec"
        })
        .await;
    assert_eq!(paused["pending"], held["pending"]);
    fleet.write_rollout(&tolerant, "");
    let done = fleet
        .wait_for("the rollout to complete", Duration::from_secs(180), |s| {
            s["phase"] == "Complete"
        })
        .await;
    let sim = &fleet.setup.fleet;
    let injected = (0..DEVICES)
        .filter(|i| sim.injected_transfer(*i) == Injected::DownloadFailure)
        .count() as u64;
    assert_eq!(done["failed"], injected, "{done}");
    assert_eq!(done["succeeded"], u64::from(DEVICES) - injected, "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_does_not_match_its_checksum_fails_the_canary_over_signed_urls() {
    const DEVICES: u32 = 100;
    let fleet = rollout_fleet(
        DEVICES,
        &["--files-signing-key", "test-signing-key"],
        |_| {},
    )
    .await;
    // The file on the server is not the image the Firmware describes.
    let files = &fleet.setup.acs.files_dir;
    let mut image = std::fs::read(files.join("2.0.0.bin")).unwrap();
    image[1000] ^= 0xff;
    std::fs::write(files.join("2.0.0.bin"), &image).unwrap();
    let unsigned = reqwest::get(format!("{}/2.0.0.bin", fleet.setup.acs.files_url))
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403, "the file server wants signed URLs");
    fleet.write_rollout(THREE_WAVES, "");
    let held = fleet
        .wait_for("the rollout to hold", Duration::from_secs(120), |s| {
            s["phase"] == "Paused" && s["failed"] == 20
        })
        .await;
    assert_eq!(held["currentWave"], 0, "{held}");
    assert_eq!(held["succeeded"], 0, "{held}");
    let sim = &fleet.setup.fleet;
    let api = fleet.setup.acs.api();
    let mut corrupted = 0;
    for index in 0..DEVICES {
        let version = sim.value(index, "InternetGatewayDevice.DeviceInfo.SoftwareVersion");
        assert_eq!(version.as_deref(), Some("1.0.0"), "device {index}");
        let id = sim.config().identity.device_id(index);
        let faults = get(&api, &format!("/api/v1/devices/{id}/faults")).await;
        if faults
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["fault"]["code"] == 9018)
        {
            corrupted += 1;
        }
    }
    assert_eq!(
        corrupted, 20,
        "each canary device reported 9018 (and its retry did too)"
    );
    // The devices fetched the file through signed URLs: served, and counted.
    let metrics = reqwest::get(format!("{}/metrics", fleet.setup.acs.api_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let served = metrics
        .lines()
        .find(|l| l.starts_with("kubeacs_file_downloads_total") && l.contains("status=\"200\""))
        .unwrap_or_else(|| panic!("{metrics}"));
    let count: u64 = served.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(count, 40, "20 devices, two attempts each: {served}");
    let firmwares = get(&api, "/api/v1/resources/firmwares").await;
    assert_eq!(firmwares[0]["status"]["downloads"], 40, "{firmwares}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_bricks_devices_trips_the_health_gate() {
    const DEVICES: u32 = 50;
    let fleet = rollout_fleet(DEVICES, &[], |config| {
        config.transfer_faults = TransferFaults {
            never_returns: 1.0,
            ..TransferFaults::default()
        }
    })
    .await;
    let strategy = "    canary: {count: 5}
    steps: [{percent: 100}]
    deviceTimeoutSeconds: 10
    retries: 0
    failureThreshold: {count: 1, action: Abort}
";
    fleet.write_rollout(strategy, "");
    let aborted = fleet
        .wait_for("the rollout to abort", Duration::from_secs(90), |s| {
            s["phase"] == "Aborted"
        })
        .await;
    assert_eq!(aborted["currentWave"], 0, "{aborted}");
    assert!(aborted["failed"].as_u64().unwrap() >= 2, "{aborted}");
    assert_eq!(
        aborted["pending"],
        DEVICES - 5,
        "nobody beyond the canary started"
    );
    assert!(
        aborted["message"]
            .as_str()
            .unwrap()
            .contains("failure threshold"),
        "{aborted}"
    );
    // The canary devices installed the image and were never heard of again.
    let sim = &fleet.setup.fleet;
    let silent = (0..DEVICES).filter(|i| sim.is_silent(*i)).count();
    assert_eq!(silent, 5, "the canary devices went silent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintenance_window_holds_work_until_it_opens() {
    const DEVICES: u32 = 30;
    // A third of the devices speak only CWMP 1.0 (no ScheduleDownload): their work is held.
    let fleet = rollout_fleet(DEVICES, &[], |config| config.misbehaviour.cwmp10_only = 0.3).await;
    // A window that opens at the start of the next minute (UTC) and stays open one minute. Late
    // in a minute there is not time enough to see the work held before it opens: wait for the
    // next minute first.
    let unix_seconds = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    if unix_seconds() % 60 > 30 {
        tokio::time::sleep(Duration::from_secs(61 - unix_seconds() % 60)).await;
    }
    let now = unix_seconds();
    let next_minute = (now / 60 + 1) % 60;
    let strategy = format!(
        "    canary: {{count: 5}}
    steps: [{{percent: 100}}]
    maintenanceWindow: {{cron: \"{next_minute} * * * *\", timeZone: UTC, durationMinutes: 1}}
"
    );
    fleet.write_rollout(&strategy, "");
    let held = fleet
        .wait_for(
            "the rollout to wait for its window",
            Duration::from_secs(30),
            |s| s["scheduled"] == 5,
        )
        .await;
    let minute_turned = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 60
            != now / 60
    };
    let sim = &fleet.setup.fleet;
    let api = fleet.setup.acs.api();
    // The canary devices speaking CWMP 1.2 accept a ScheduleDownload for the window (and wait
    // for it); the CWMP 1.0 ones are held by kube-acs.
    let cwmp10: Vec<String> = (0..DEVICES)
        .filter(|i| sim.config().misbehaviour.session(7, *i, 0).cwmp10)
        .map(|i| sim.config().identity.device_id(i))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (scheduled, held_back) = loop {
        let tasks = get(&api, "/api/v1/tasks").await;
        let tasks = tasks.as_array().unwrap();
        let accepted = tasks
            .iter()
            .filter(|t| t["spec"]["name"] == "scheduleDownload")
            .filter(|t| t["status"] == "awaitingCompletion")
            .count();
        if accepted > 0 && accepted == tasks.len() || minute_turned() {
            assert!(
                tasks
                    .iter()
                    .all(|t| !cwmp10.iter().any(|id| t["device"] == id.as_str())),
                "no ScheduleDownload for CWMP 1.0 devices: {tasks:?}"
            );
            break (accepted, 5 - accepted);
        }
        assert!(
            Instant::now() < deadline,
            "the ScheduleDownloads were not accepted: {tasks:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    if !minute_turned() {
        // Nothing downloads before the window opens.
        assert!(scheduled > 0 && held_back > 0, "{scheduled} {held_back}");
        assert_eq!(held["phase"], "Paused", "{held}");
        assert_eq!(held["message"], "outside the maintenance window", "{held}");
        assert_eq!(held["succeeded"], 0, "{held}");
        assert_eq!(sim.stats().transfers.load(Ordering::Relaxed), 0);
    }
    let done = fleet
        .wait_for(
            "the rollout to complete in its window",
            Duration::from_secs(150),
            |s| s["phase"] == "Complete",
        )
        .await;
    assert_eq!(done["succeeded"], DEVICES, "{done}");
    // The ScheduleDownloads completed with TransferComplete (M ScheduleDownload).
    let tasks = get(&api, "/api/v1/tasks").await;
    let done_scheduled = tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["spec"]["name"] == "scheduleDownload" && t["status"] == "done")
        .count();
    assert_eq!(done_scheduled, scheduled, "{tasks}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_rolls_the_upgraded_devices_back_to_their_firmware() {
    const DEVICES: u32 = 30;
    let fleet = rollout_fleet(DEVICES, &[], |_| {}).await;
    // The previous firmware, as a Firmware of its own.
    let files = &fleet.setup.acs.files_dir;
    std::fs::write(files.join("1.0.0.bin"), vec![1u8; 5_000]).unwrap();
    std::fs::write(
        fleet.resources.path().join("previous.yaml"),
        "apiVersion: kubeacs.io/v1alpha1
kind: Firmware
metadata: {name: gw-1.0.0}
spec:
  version: \"1.0.0\"
  file: 1.0.0.bin
  size: 5000
  compatible: {productClasses: [SimGW]}
",
    )
    .unwrap();
    // The canary goes; the next wave waits for approval, and is aborted instead.
    let strategy = "    canary: {count: 6}
    steps: [{percent: 100}]
    approvalRequired: [1]
    rollbackOnAbort: true
";
    fleet.write_rollout(strategy, "");
    let held = fleet
        .wait_for("the canary to finish", Duration::from_secs(60), |s| {
            s["succeeded"] == 6 && s["phase"] == "Paused"
        })
        .await;
    assert!(
        held["message"].as_str().unwrap().contains("approval"),
        "{held}"
    );
    let sim = &fleet.setup.fleet;
    let on = |version: &str| {
        (0..DEVICES)
            .filter(|i| {
                sim.value(*i, "InternetGatewayDevice.DeviceInfo.SoftwareVersion")
                    .as_deref()
                    == Some(version)
            })
            .count()
    };
    assert_eq!(on("2.0.0"), 6);
    fleet.write_rollout(strategy, "  abort: true\n");
    let aborted = fleet
        .wait_for("the rollback", Duration::from_secs(90), |s| {
            s["rolledBack"] == 6
        })
        .await;
    assert_eq!(aborted["phase"], "Aborted", "{aborted}");
    assert_eq!(aborted["rollingBack"], 0, "{aborted}");
    assert_eq!(aborted["succeeded"], 0, "{aborted}");
    assert_eq!(aborted["pending"], DEVICES - 6, "{aborted}");
    assert_eq!(
        on("1.0.0"),
        DEVICES as usize,
        "every device runs 1.0.0 again"
    );
    let firmwares = get(&fleet.setup.acs.api(), "/api/v1/resources/firmwares").await;
    let downloads = |name: &str| {
        firmwares
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["metadata"]["name"] == name)
            .map(|f| f["status"]["downloads"].clone())
    };
    assert_eq!(downloads("gw-1.0.0"), Some(json!(6)), "{firmwares}");
    assert_eq!(downloads("gw-2.0.0"), Some(json!(6)), "{firmwares}");
}
