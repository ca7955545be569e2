//! Several edges, one fleet: two `kube-acs edge` processes on one real TiKV-protocol cluster
//! (PD and unistore as processes), and a simulated fleet of 500 devices whose sessions go to
//! the edges in turn, as behind a load balancer. Devices and tasks are shared through the
//! store, a device is in one session across the edges, an edge killed with SIGKILL mid-session
//! loses nothing, and the edges ride out a restart of PD.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use acs_e2e::TikvCluster;
use common::{Acs, ConnectionRequestListener, Cpe};
use cpe_sim::fleet::{BatchReport, Fleet, FleetConfig};
use cpe_sim::inform::Trigger;
use cpe_sim::model::Model;
use cpe_sim::template::IdentityConfig;
use serde_json::{json, Value};

const DEVICES: u32 = 500;
const UPTIME: &str = "InternetGatewayDevice.DeviceInfo.UpTime";

async fn batch(fleet: &Arc<Fleet>, devices: u32, trigger: Trigger) -> BatchReport {
    let deadline = Instant::now() + Duration::from_secs(120);
    fleet
        .run_batch((0..devices).collect(), trigger, 32, deadline)
        .await
}

/// Sessions the edge counted by outcome, from its `/metrics`.
async fn sessions_completed(edge: &Acs) -> u64 {
    let text = reqwest::get(format!("{}/metrics", edge.api))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.contains("cwmp_sessions_total") && l.contains("\"completed\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// The last lines of a log.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

async fn device_ids(edge: &Acs) -> Vec<String> {
    let (status, devices) = edge.get("/api/v1/devices?limit=10000").await;
    assert_eq!(status, 200, "{devices}");
    devices
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_edges_serve_one_fleet() {
    let mut cluster = TikvCluster::start().await.expect("TiKV test cluster");
    let store = format!("{}?timeout=3s", cluster.store_url());
    let dir = tempfile::tempdir().unwrap();
    let args = |name: &'static str| {
        vec![
            "--store".to_string(),
            store.clone(),
            "--edge-name".into(),
            name.into(),
            "--session-timeout".into(),
            "3".into(),
        ]
    };
    let a_args = args("edge-a");
    let b_args = args("edge-b");
    let a_args: Vec<&str> = a_args.iter().map(String::as_str).collect();
    let b_args: Vec<&str> = b_args.iter().map(String::as_str).collect();
    let mut a = Acs::start_edge(&dir.path().join("a"), &a_args).await;
    let b = Acs::start_edge(&dir.path().join("b"), &b_args).await;

    // 500 devices bootstrap, their sessions alternating between the edges.
    let cr = cpe_sim::cr_listener::bind(([127, 0, 0, 1], 0).into()).unwrap();
    let identity = IdentityConfig {
        acs_url: format!("{},{}", a.cwmp, b.cwmp),
        cr_base_url: format!("http://{}/cr/", cr.local_addr().unwrap()),
        ..IdentityConfig::default()
    };
    let config = FleetConfig::new(Model::load("tr098").unwrap(), identity, DEVICES);
    let fleet = Fleet::new(config).await.unwrap();
    let _cr = cpe_sim::cr_listener::serve(cr, fleet.clone());
    let boot = batch(&fleet, DEVICES, Trigger::Pending).await;
    assert_eq!(
        (boot.ok, boot.failed),
        (u64::from(DEVICES), 0),
        "{:?}",
        fleet.stats().errors()
    );
    let (on_a, on_b) = (sessions_completed(&a).await, sessions_completed(&b).await);
    assert_eq!(on_a + on_b, u64::from(DEVICES));
    assert!(on_a >= 200 && on_b >= 200, "spread: {on_a} / {on_b}");
    let mut listed = device_ids(&a).await;
    listed.sort();
    let mut on_other = device_ids(&b).await;
    on_other.sort();
    assert_eq!(listed.len(), DEVICES as usize);
    assert_eq!(listed, on_other, "both edges see every device");

    // Tasks queued through edge-a's API, run at the next Inform by whichever edge the
    // device reaches.
    let identity = &fleet.config().identity;
    let mut tasks = Vec::new();
    for index in 0..100 {
        let id = identity.device_id(index);
        tasks.push((
            index,
            a.queue(
                &id,
                &json!({"name": "getParameterValues", "parameterNames": [UPTIME]}),
            )
            .await,
        ));
    }
    let periodic = batch(&fleet, 100, Trigger::Periodic).await;
    assert_eq!((periodic.ok, periodic.failed), (100, 0));
    for (index, task) in &tasks {
        let (status, record) = b.get(&format!("/api/v1/tasks/{task}")).await;
        assert_eq!(status, 200);
        assert_eq!(record["status"], "done", "device {index}: {record}");
    }

    // One session per device across edges: a device in session on edge-a is turned away by
    // edge-b until that session ends.
    let crl = ConnectionRequestListener::start().await;
    let mut on_edge_a = Cpe::new(&a.cwmp, "LEASE0001", &crl.url);
    let mut on_edge_b = Cpe::new(&b.cwmp, "LEASE0001", &crl.url);
    let inform = on_edge_a.inform();
    assert_eq!(on_edge_a.post(Some(inform)).await.0, 200);
    let inform = on_edge_b.inform();
    assert_eq!(on_edge_b.post(Some(inform)).await.0, 503);
    assert_eq!(
        on_edge_a.post(None).await.0,
        204,
        "the session on edge-a ends"
    );
    assert!(
        on_edge_b.session().await.is_empty(),
        "then edge-b serves it"
    );

    // edge-a killed with SIGKILL while sessions run on it; it comes back, and the leases of
    // its dead sessions expire (3 s session timeout).
    let storm = {
        let fleet = fleet.clone();
        tokio::spawn(async move { batch(&fleet, DEVICES, Trigger::Periodic).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.kill();
    let interrupted = storm.await.unwrap();
    assert!(
        interrupted.failed > 0,
        "some sessions were on the killed edge"
    );
    a.restart().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = batch(&fleet, DEVICES, Trigger::Periodic).await;
    assert_eq!(
        (after.ok, after.failed),
        (u64::from(DEVICES), 0),
        "{:?}",
        fleet.stats().errors()
    );
    assert_eq!(
        device_ids(&a).await.len(),
        DEVICES as usize + 1,
        "the fleet and LEASE0001"
    );
    for (index, task) in &tasks {
        let (_, record) = a.get(&format!("/api/v1/tasks/{task}")).await;
        assert_eq!(record["status"], "done", "device {index}: {record}");
    }

    // PD restarted under load: sessions may fail while it is away, none after.
    let storm = {
        let fleet = fleet.clone();
        tokio::spawn(async move { batch(&fleet, DEVICES, Trigger::Periodic).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    cluster.restart_pd().await.expect("PD restarted");
    let _ = storm.await.unwrap();
    // The edges recover by themselves once PD knows the regions again (the store reports
    // them on its next heartbeat); wait for that, a minute at most.
    let recovered = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(4)).await;
        let probe = batch(&fleet, 10, Trigger::Periodic).await;
        if probe.ok == 10 {
            break;
        }
        assert!(
            recovered.elapsed() < Duration::from_secs(60),
            "the edges did not recover within a minute of PD's restart: {:?}\nedge-a:\n{}\nedge-b:\n{}",
            fleet.stats().errors(),
            tail(&a.log()),
            tail(&b.log()),
        );
    }
    let after_pd = batch(&fleet, DEVICES, Trigger::Periodic).await;
    assert_eq!(
        (after_pd.ok, after_pd.failed),
        (u64::from(DEVICES), 0),
        "{:?}",
        fleet.stats().errors()
    );
    let device: Value = b
        .get(&format!("/api/v1/devices/{}", identity.device_id(42)))
        .await
        .1;
    assert_eq!(device["lastEvents"], json!(["2 PERIODIC"]), "{device}");
}
