//! What one tick of a large firmware rollout costs, on the embedded store: a process that holds
//! the rollout's devices from its last tick, against a tick that reads every device's record
//! (what a process does after another wrote the run, and what every tick did before devices
//! were held).
//!
//! `cargo bench -p cwmp-edge --bench rollout_tick -- [DEVICES]` (default 20,000) prints a table.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use acs_store::{EmbeddedStore, Store};
use cwmp::{Body, DeviceIdStruct, Event, EventCode, Inform, ParameterValue};
use cwmp_edge::config::EdgeConfig;
use cwmp_edge::edge::Edge;
use cwmp_edge::firmware_rollouts::{self, RolloutTicks};
use provisioning::resources::ResourceSet;
use serde_json::json;

/// Ticks timed in each way.
const TICKS: u32 = 10;
/// Informs in flight while the fleet is created.
const CLIENTS: usize = 16;

fn identity(serial: usize) -> DeviceIdStruct {
    DeviceIdStruct {
        manufacturer: "Acme".into(),
        oui: "00D09E".into(),
        product_class: "Gateway".into(),
        serial_number: format!("GW{serial:07}"),
    }
}

fn resources(devices: usize) -> ResourceSet {
    let group: crds::DeviceGroup = serde_json::from_value(json!({
        "apiVersion": "kubeacs.io/v1alpha1",
        "kind": "DeviceGroup",
        "metadata": {"name": "gateways"},
        "spec": {"parameters": [{"name": "DeviceInfo.ProductClass", "operator": "Equals", "value": "Gateway"}]},
    }))
    .expect("group");
    let firmware: crds::Firmware = serde_json::from_value(json!({
        "apiVersion": "kubeacs.io/v1alpha1",
        "kind": "Firmware",
        "metadata": {"name": "gw-2"},
        "spec": {"version": "2.0", "url": "http://files.example/gw-2.bin", "size": 1024},
    }))
    .expect("firmware");
    let rollout: crds::FirmwareRollout = serde_json::from_value(json!({
        "apiVersion": "kubeacs.io/v1alpha1",
        "kind": "FirmwareRollout",
        "metadata": {"name": "gw-upgrade"},
        "spec": {
            "firmware": "gw-2",
            "target": {"group": "gateways"},
            "strategy": {"canary": {"count": devices}, "steps": [{"percent": 100}], "maxInFlight": 100, "ratePerMinute": 600},
        },
    }))
    .expect("rollout");
    ResourceSet::new(Vec::new(), vec![group], Vec::new(), Vec::new())
        .with_firmware(vec![firmware], vec![rollout])
}

/// Makes `devices` devices known through an Inform each, on version 1.0.
async fn inform_all(edge: Arc<Edge>, devices: usize) {
    let (url, shutdown) = common::serve(edge).await;
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let url = url.clone();
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for serial in (client..devices).step_by(CLIENTS) {
                let mut cookie = None;
                let inform = Body::Inform(Inform {
                    device_id: identity(serial),
                    events: vec![Event {
                        code: EventCode::Bootstrap,
                        command_key: String::new(),
                    }],
                    max_envelopes: 1,
                    current_time: "2026-12-01T00:00:00Z".into(),
                    retry_count: 0,
                    parameters: vec![ParameterValue {
                        name: "Device.DeviceInfo.SoftwareVersion".into(),
                        value: "1.0".into(),
                        xsd_type: Default::default(),
                    }],
                });
                let (status, _) = common::post(&http, &url, &mut cookie, Some(inform)).await;
                assert_eq!(status, 200, "Inform of device {serial}");
                let (status, _) = common::post(&http, &url, &mut cookie, None).await;
                assert_eq!(status, 204, "end of the session of device {serial}");
            }
        }));
    }
    for client in clients {
        client.await.expect("client");
    }
    shutdown.cancel();
}

/// Mean time of `TICKS` ticks from `state`; with `forget`, each tick starts from a state that
/// holds no devices (and so reads them all).
async fn time_ticks(edge: &Arc<Edge>, mut state: RolloutTicks, forget: bool) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..TICKS {
        if forget {
            state = RolloutTicks::default();
        }
        let start = Instant::now();
        firmware_rollouts::tick(edge, &mut state)
            .await
            .expect("tick");
        total += start.elapsed();
    }
    total / TICKS
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let devices: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
    let edge = Edge::new(store, EdgeConfig::default());
    edge.set_resources(resources(devices));
    let start = Instant::now();
    inform_all(edge.clone(), devices).await;
    eprintln!("{devices} devices informed in {:.1?}", start.elapsed());

    let mut ticks = RolloutTicks::default();
    let start = Instant::now();
    firmware_rollouts::tick(&edge, &mut ticks)
        .await
        .expect("first tick");
    let first = start.elapsed();
    let held = time_ticks(&edge, ticks, false).await;
    let reading = time_ticks(&edge, RolloutTicks::default(), true).await;

    println!("rollout of {devices} devices, 10 starts per tick, embedded store\n");
    println!("| tick | mean time (ms) |");
    println!("|---|---:|");
    println!(
        "| first (target expanded, run stored) | {:.1} |",
        first.as_secs_f64() * 1e3
    );
    println!(
        "| devices held from the last tick | {:.2} |",
        held.as_secs_f64() * 1e3
    );
    println!(
        "| every device's record read | {:.2} |",
        reading.as_secs_f64() * 1e3
    );
}
