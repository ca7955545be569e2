//! `kube-acs standalone --store tikv://...` against a real TiKV-protocol cluster (PD and
//! unistore as processes, from `acs-e2e`): a CPE bootstraps, a task runs through the API, and
//! after a restart with a fresh data directory the device, its parameters and its task are
//! still there, because they live in TiKV. While the store process is down, CPEs and API
//! clients get 503, and service resumes by itself once it is back.

mod common;

use acs_e2e::TikvCluster;
use common::{run_task, Acs, ConnectionRequestListener, Cpe};
use serde_json::{json, Value};

fn param<'a>(device: &'a Value, name: &str) -> &'a Value {
    &device["parameters"][name]["value"][0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_on_tikv_keeps_its_data_in_the_cluster() {
    let mut cluster = TikvCluster::start()
        .await
        .expect("start the TiKV test cluster");
    let store = format!("{}?timeout=2s", cluster.store_url());
    let args = ["--store", store.as_str(), "--task-retry-delay", "0"];
    let first_dir = tempfile::tempdir().unwrap();
    let mut acs = Acs::start(&first_dir.path().join("data"), &args).await;
    assert!(acs.log().contains("connected to TiKV"), "{}", acs.log());

    let mut cr = ConnectionRequestListener::start().await;
    let mut cpe = Cpe::new(&acs.cwmp, "TIKV0001", &cr.url);
    assert!(cpe.session().await.is_empty(), "bootstrap");
    let device_path = format!("/api/v1/devices/{}", cpe.device_id());
    let (status, task) = run_task(
        &acs,
        &mut cpe,
        &mut cr,
        json!({"name": "setParameterValues", "parameterValues": [
            {"name": "Device.WiFi.SSID.1.SSID", "value": "on-tikv", "type": "xsd:string"}]}),
    )
    .await;
    assert_eq!(
        (status, task["status"].as_str()),
        (200, Some("done")),
        "{task}"
    );
    let task_id = task["id"].as_str().unwrap().to_string();
    let (status, task) = run_task(
        &acs,
        &mut cpe,
        &mut cr,
        json!({"name": "getParameterValues", "parameterNames": ["Device."]}),
    )
    .await;
    assert_eq!(
        (status, task["status"].as_str()),
        (200, Some("done")),
        "{task}"
    );
    assert_eq!(cpe.parameters["Device.WiFi.SSID.1.SSID"].value, "on-tikv");
    let (status, before) = acs.get(&device_path).await;
    assert_eq!(status, 200);
    assert_eq!(param(&before, "Device.WiFi.SSID.1.SSID"), "on-tikv");
    assert!(
        !first_dir.path().join("data/acs.redb").exists(),
        "no embedded store is opened with --store tikv://"
    );

    // A new process with an empty data directory: everything comes from TiKV.
    acs.stop();
    let second_dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(&second_dir.path().join("data"), &args).await;
    let (status, after) = acs.get(&device_path).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["identity"]["serialNumber"], "TIKV0001");
    assert_eq!(after["parameters"], before["parameters"]);
    assert_eq!(param(&after, "Device.DeviceInfo.SoftwareVersion"), "1.0.0");
    assert_eq!(
        param(&after, "Device.IP.Diagnostics.IPPing.SuccessCount"),
        "0"
    );
    let (status, task) = acs.get(&format!("/api/v1/tasks/{task_id}")).await;
    assert_eq!(
        (status, task["status"].as_str()),
        (200, Some("done")),
        "{task}"
    );
    let (_, devices) = acs.get("/api/v1/devices").await;
    assert_eq!(devices.as_array().map(Vec::len), Some(1), "{devices}");

    // And the device carries on in its next session with the new process.
    let mut cpe = Cpe::new(&acs.cwmp, "TIKV0001", &cr.url);
    cpe.pending_events = vec![(cwmp::EventCode::Periodic, String::new())];
    assert!(cpe.session().await.is_empty());
    let (_, device) = acs.get(&device_path).await;
    assert_eq!(device["lastEvents"], json!(["2 PERIODIC"]));

    // The store process down: 503 to the CPE and to the API, within the timeout.
    cluster.stop_store().await.unwrap();
    let started = std::time::Instant::now();
    let inform = cpe.inform();
    let (status, _) = cpe.post(Some(inform)).await;
    assert_eq!(status, 503, "Inform while the store is down");
    let (status, _) = acs.get(&device_path).await;
    assert_eq!(status, 503, "API while the store is down");
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    cluster.start_store().await.unwrap();
    assert!(
        cpe.session().await.is_empty(),
        "served again once it is back"
    );
    let (status, _) = acs.get(&device_path).await;
    assert_eq!(status, 200);
}
