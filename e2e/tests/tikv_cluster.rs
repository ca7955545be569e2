//! Starts the TiKV-protocol test cluster and exercises its lifecycle: one store
//! Up, the store killed and started again, PD killed and started again.

use std::time::{Duration, Instant};

use acs_e2e::TikvCluster;
use serde_json::Value;

/// The stores PD lists (excluding tombstones) as (address, state) pairs.
async fn live_stores(cluster: &TikvCluster) -> Vec<(String, String)> {
    cluster
        .stores()
        .await
        .expect("PD lists its stores")
        .iter()
        .map(|s| {
            let field = |k: &str| s["store"][k].as_str().unwrap_or_default().to_string();
            (field("address"), field("state_name"))
        })
        .filter(|(_, state)| state != "Tombstone")
        .collect()
}

async fn assert_one_store_up(cluster: &TikvCluster) {
    assert_eq!(
        live_stores(cluster).await,
        vec![(cluster.store_addr(), "Up".to_string())]
    );
}

#[tokio::test]
async fn tikv_cluster_lifecycle() {
    let started = Instant::now();
    let mut cluster = TikvCluster::start().await.expect("cluster starts");
    eprintln!("cluster started in {:?}", started.elapsed());

    let pd = cluster.pd_endpoints();
    assert_eq!(pd.len(), 1);
    assert!(pd[0].starts_with("127.0.0.1:"));
    assert_eq!(cluster.store_url(), format!("tikv://{}", pd[0]));
    assert_one_store_up(&cluster).await;

    // The store: killed (its port closes), started again with the same data.
    let store_id = |stores: &[Value]| stores[0]["store"]["id"].as_u64();
    let id_before = store_id(&cluster.stores().await.unwrap());
    assert!(id_before.is_some());
    cluster.stop_store().await.unwrap();
    assert!(
        std::net::TcpStream::connect_timeout(
            &cluster.store_addr().parse().unwrap(),
            Duration::from_millis(500)
        )
        .is_err(),
        "the store's port is closed after stop_store"
    );
    let t = Instant::now();
    cluster.start_store().await.expect("store starts again");
    eprintln!("store restarted in {:?}", t.elapsed());
    assert_one_store_up(&cluster).await;
    assert_eq!(
        store_id(&cluster.stores().await.unwrap()),
        id_before,
        "the restarted store keeps its id (same data dir)"
    );

    // PD: killed and started again on the same ports and data dir.
    let t = Instant::now();
    cluster.restart_pd().await.expect("PD restarts");
    eprintln!("PD restarted in {:?}", t.elapsed());
    assert_one_store_up(&cluster).await;

    let t = Instant::now();
    drop(cluster);
    eprintln!("cluster dropped in {:?}", t.elapsed());
}
