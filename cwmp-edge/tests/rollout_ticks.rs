//! Firmware rollouts advanced by two processes in turn over one store, as when the operator's
//! leadership moves from one edge to another and back: a process keeps a rollout's devices
//! between its ticks, and must read them again once the other has written the run, or it would
//! start devices the other already started.

mod common;
mod rollout_fleet;

use std::collections::BTreeMap;
use std::sync::Arc;

use acs_model::{DeviceId, TaskSpec};
use acs_store::{records, EmbeddedStore, Store};
use cwmp_edge::config::EdgeConfig;
use cwmp_edge::edge::Edge;
use cwmp_edge::firmware_rollouts::{self, RolloutTicks};
use rollout_fleet::gateway;

const DEVICES: usize = 12;
/// Devices a tick may start: `ratePerMinute` 120 is two a second.
const PER_TICK: usize = 2;

/// Each device's rollout Downloads, by device.
async fn downloads(store: &dyn Store) -> BTreeMap<DeviceId, usize> {
    let mut txn = store.begin().await.expect("begin");
    let mut downloads = BTreeMap::new();
    for serial in 0..DEVICES {
        let device = DeviceId::from_identity(&gateway(serial));
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
        edge.set_resources(rollout_fleet::resources(DEVICES, DEVICES, 60 * PER_TICK));
        edge
    };
    let (first, second) = (edge("edge-a"), edge("edge-b"));

    // The devices become known through their Informs, on version 1.0.
    rollout_fleet::inform_all(first.clone(), DEVICES, 4).await;

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
