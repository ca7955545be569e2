//! Firmware rollouts advanced by two processes in turn over one store, as when the operator's
//! leadership moves from one edge to another and back: a process keeps a rollout's devices
//! between its ticks, and must read them again once the other has written the run, or it would
//! start devices the other already started.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use acs_model::{DeviceId, TaskSpec};
use acs_store::{records, EmbeddedStore, Store};
use cwmp::{Body, DeviceIdStruct, Event, EventCode, Inform, ParameterValue};
use cwmp_edge::config::EdgeConfig;
use cwmp_edge::edge::Edge;
use cwmp_edge::firmware_rollouts::{self, RolloutTicks};
use provisioning::resources::ResourceSet;
use serde_json::json;

const DEVICES: usize = 12;
/// Devices a tick may start: `ratePerMinute` 120 is two a second.
const PER_TICK: usize = 2;

fn identity(serial: usize) -> DeviceIdStruct {
    DeviceIdStruct {
        manufacturer: "Acme".into(),
        oui: "00D09E".into(),
        product_class: "Gateway".into(),
        serial_number: format!("GW{serial:04}"),
    }
}

fn resources() -> ResourceSet {
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
            "strategy": {
                "canary": {"count": DEVICES},
                "steps": [{"percent": 100}],
                "maxInFlight": DEVICES,
                "ratePerMinute": 60 * PER_TICK,
            },
        },
    }))
    .expect("rollout");
    ResourceSet::new(Vec::new(), vec![group], Vec::new(), Vec::new())
        .with_firmware(vec![firmware], vec![rollout])
}

/// Each device's rollout Downloads, by device.
async fn downloads(store: &dyn Store) -> BTreeMap<DeviceId, usize> {
    let mut txn = store.begin().await.expect("begin");
    let mut downloads = BTreeMap::new();
    for serial in 0..DEVICES {
        let device = DeviceId::from_identity(&identity(serial));
        let tasks = records::list_tasks(txn.as_mut(), &device)
            .await
            .expect("tasks");
        let count = tasks
            .iter()
            .filter(|task| matches!(task.spec, TaskSpec::Download(_)))
            .count();
        if count > 0 {
            downloads.insert(device, count);
        }
    }
    txn.rollback().await.expect("rollback");
    downloads
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_reads_the_devices_again_after_another_advanced_the_rollout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
    let edge = |name: &str| {
        let config = EdgeConfig {
            shared_store_edge: Some(name.to_string()),
            ..EdgeConfig::default()
        };
        let edge = Edge::new(store.clone(), config);
        edge.set_resources(resources());
        edge
    };
    let (first, second) = (edge("edge-a"), edge("edge-b"));

    // The devices become known through their Informs, on version 1.0.
    let (url, shutdown) = common::serve(first.clone()).await;
    let http = reqwest::Client::new();
    for serial in 0..DEVICES {
        let mut cookie = None;
        let inform = Body::Inform(Inform {
            device_id: identity(serial),
            events: vec![Event {
                code: EventCode::Periodic,
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
    shutdown.cancel();

    // The processes take turns, one tick each, as leadership moves back and forth.
    let (mut first_ticks, mut second_ticks) = (RolloutTicks::default(), RolloutTicks::default());
    for turn in 0..DEVICES / PER_TICK {
        let (edge, ticks) = if turn % 2 == 0 {
            (&first, &mut first_ticks)
        } else {
            (&second, &mut second_ticks)
        };
        firmware_rollouts::tick(edge, ticks).await.expect("tick");
        let downloads = downloads(store.as_ref()).await;
        assert!(
            downloads.values().all(|&count| count == 1),
            "a device was told to download twice after turn {turn}: {downloads:?}"
        );
        assert_eq!(
            downloads.len(),
            (turn + 1) * PER_TICK,
            "devices started after turn {turn}"
        );
    }
}
