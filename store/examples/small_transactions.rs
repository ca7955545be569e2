//! Latency and throughput of small transactions (begin, get, put of 100 bytes, commit), on the
//! TiKV backend against a local test cluster (PD + unistore from `acs-e2e`, or the PD endpoints
//! given with `--pd`) and on the embedded backend, for comparison:
//!
//! ```text
//! cargo run --release -p acs-store --example small_transactions -- [SEQUENTIAL] [WORKERS] [PER_WORKER] [--pd HOST:PORT]
//! ```
//!
//! Defaults: 1,000 sequential transactions, then 64 concurrent workers of 100 each. Every
//! transaction writes its own key, so none conflicts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use acs_store::{EmbeddedStore, Store, TikvOptions, TikvStore};

/// One small transaction on `key`.
async fn small_transaction(store: &dyn Store, key: Vec<u8>) {
    let mut txn = store.begin().await.expect("begin");
    txn.get(&key).await.expect("get");
    txn.put(key, vec![7; 100]).await.expect("put");
    txn.commit().await.expect("commit");
}

/// Runs `workers` tasks of `per_worker` transactions each and prints the rate and latencies.
async fn run(label: &'static str, store: Arc<dyn Store>, workers: usize, per_worker: usize) {
    let started = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|worker| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_worker);
                for i in 0..per_worker {
                    let key = format!("bench/{label}/{workers}/{worker}/{i}").into_bytes();
                    let one = Instant::now();
                    small_transaction(&*store, key).await;
                    latencies.push(one.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    for handle in handles {
        latencies.extend(handle.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "{label:>8} {workers:>3} concurrent: {} transactions in {:.2} s = {:.0}/s; latency p50 {:.2} ms, p99 {:.2} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let pd = match args.iter().position(|a| a == "--pd") {
        Some(i) => {
            let pd = args.get(i + 1).expect("--pd HOST:PORT").clone();
            args.drain(i..i + 2);
            Some(pd)
        }
        None => None,
    };
    let number = |i: usize, default: usize| -> usize {
        args.get(i)
            .map(|a| a.parse().expect("a number"))
            .unwrap_or(default)
    };
    let (sequential, workers, per_worker) = (number(0, 1000), number(1, 64), number(2, 100));

    let cluster = match pd {
        Some(_) => None,
        None => Some(
            acs_e2e::TikvCluster::start()
                .await
                .expect("start the test cluster"),
        ),
    };
    let endpoints = match (&pd, &cluster) {
        (Some(pd), _) => vec![pd.clone()],
        (None, Some(cluster)) => cluster.pd_endpoints(),
        (None, None) => unreachable!(),
    };
    let tikv: Arc<dyn Store> = Arc::new(TikvStore::new(TikvOptions::new(endpoints)));
    small_transaction(&*tikv, b"bench/warm-up".to_vec()).await;
    run("tikv", tikv.clone(), 1, sequential).await;
    run("tikv", tikv, workers, per_worker).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let embedded: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
    run("embedded", embedded.clone(), 1, sequential).await;
    run("embedded", embedded, workers, per_worker).await;
}
