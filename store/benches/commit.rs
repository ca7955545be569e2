//! Committed transactions per second on the embedded store with 1, 16 and 256 concurrent
//! committers, each transaction writing 5 keys of 100 bytes. Shows group commit at work:
//! with more committers, more transactions share one redb write transaction and its fsync.
//!
//! `cargo bench -p acs-store --bench commit` (set `ACS_BENCH_SECS` to change the 5 s per row,
//! `ACS_BENCH_DIR` to put the file elsewhere than the system temp dir). Without `--bench`
//! (as under `cargo test --benches`) it runs a short smoke pass.

use std::sync::Arc;
use std::time::{Duration, Instant};

use acs_store::{EmbeddedStore, Store};

const KEYS_PER_TXN: usize = 5;
const VALUE_BYTES: usize = 100;

struct Row {
    committers: usize,
    commits: u64,
    elapsed: Duration,
    batches: u64,
    conflicts: u64,
    latencies: Vec<Duration>,
}

async fn run(committers: usize, duration: Duration) -> Row {
    let base = std::env::var_os("ACS_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
    let start = Instant::now();
    let mut handles = Vec::new();
    for task in 0..committers {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let value = vec![b'v'; VALUE_BYTES];
            let mut latencies = Vec::new();
            let mut i = 0u64;
            while start.elapsed() < duration {
                let began = Instant::now();
                let mut txn = store.begin().await.expect("begin");
                for k in 0..KEYS_PER_TXN {
                    let key = format!("bench/{task:03}/{i:010}/{k}").into_bytes();
                    txn.put(key, value.clone()).await.expect("put");
                }
                txn.commit().await.expect("commit");
                latencies.push(began.elapsed());
                i += 1;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for handle in handles {
        latencies.extend(handle.await.expect("committer"));
    }
    let elapsed = start.elapsed();
    let stats = store.stats();
    latencies.sort_unstable();
    Row {
        committers,
        commits: stats.commits,
        elapsed,
        batches: stats.batches,
        conflicts: stats.conflicts,
        latencies,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let seconds: f64 = std::env::var("ACS_BENCH_SECS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(if full { 5.0 } else { 0.2 });
    let duration = Duration::from_secs_f64(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    println!(
        "embedded store, {KEYS_PER_TXN} keys x {VALUE_BYTES} B per transaction, {seconds} s per row"
    );
    println!(
        "{:>11} {:>12} {:>10} {:>14} {:>9} {:>9} {:>9}",
        "committers", "commits/s", "fsyncs/s", "commits/fsync", "p50 ms", "p99 ms", "conflicts"
    );
    for committers in [1, 16, 256] {
        let row = runtime.block_on(run(committers, duration));
        let secs = row.elapsed.as_secs_f64();
        println!(
            "{:>11} {:>12.0} {:>10.0} {:>14.1} {:>9.2} {:>9.2} {:>9}",
            row.committers,
            row.commits as f64 / secs,
            row.batches as f64 / secs,
            row.commits as f64 / row.batches.max(1) as f64,
            percentile(&row.latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&row.latencies, 0.99).as_secs_f64() * 1e3,
            row.conflicts,
        );
    }
}
