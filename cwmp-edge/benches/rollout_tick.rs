//! What one tick of a large firmware rollout costs, on the embedded store: a process that holds
//! the rollout's devices from its last tick, against a tick that reads every device's record
//! (what a process does after another wrote the run, and what every tick did before devices
//! were held).
//!
//! `cargo bench -p cwmp-edge --bench rollout_tick -- [DEVICES]` (default 20,000) prints a table.

#[path = "../tests/common/mod.rs"]
mod common;

#[path = "../tests/rollout_fleet/mod.rs"]
mod rollout_fleet;

use std::sync::Arc;
use std::time::{Duration, Instant};

use acs_store::{EmbeddedStore, Store};
use cwmp_edge::config::EdgeConfig;
use cwmp_edge::edge::Edge;
use cwmp_edge::firmware_rollouts::{self, RolloutTicks};

/// Ticks timed in each way.
const TICKS: u32 = 10;
/// Informs in flight while the fleet is created.
const CLIENTS: usize = 16;

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
    edge.set_resources(rollout_fleet::resources(devices, 100, 600));
    let start = Instant::now();
    rollout_fleet::inform_all(edge.clone(), devices, CLIENTS).await;
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
