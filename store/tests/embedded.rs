//! The conformance suite and embedded-only checks against a real redb file.

use std::sync::Arc;

use acs_store::conformance;
use acs_store::{EmbeddedOptions, EmbeddedStore, Store, StoreError};

fn open(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(EmbeddedStore::open(dir.path()).expect("open the embedded store"))
}

macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let dir = tempfile::tempdir().expect("temp dir");
            conformance::$name(open(&dir)).await;
        }
    )*};
}

conformance_tests!(
    get_put_delete,
    ordered_scans,
    read_your_writes,
    snapshot_isolation,
    write_conflicts,
    concurrent_commits,
    lock_conflicts,
    transact_retries,
    large_values,
    many_keys,
    delete_range,
    finished_transactions,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_checks_share_one_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir);
    conformance::run_all(store.clone()).await;
    conformance::run_all(store).await; // again, over the leftovers of the first run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery() {
    let dir = tempfile::tempdir().expect("temp dir");
    conformance::recovery(|| async { open(&dir) }).await;
}

#[tokio::test]
async fn a_second_open_of_the_same_file_is_unavailable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _first = open(&dir);
    match EmbeddedStore::open(dir.path()) {
        Err(StoreError::Unavailable(_)) => {}
        Err(err) => panic!("unexpected error {err}"),
        Ok(_) => panic!("the file was opened twice"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_share_fsyncs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    const ROUNDS: u64 = 20;
    const COMMITTERS: u64 = 64;
    for round in 0..ROUNDS {
        let mut handles = Vec::new();
        for committer in 0..COMMITTERS {
            let mut txn = store.begin().await.expect("begin");
            txn.put(format!("{round}/{committer}").into_bytes(), vec![1; 64])
                .await
                .expect("put");
            handles.push(tokio::spawn(async move { txn.commit().await }));
        }
        for handle in handles {
            handle.await.expect("committer").expect("commit");
        }
    }
    let stats = store.stats();
    assert_eq!(stats.commits, ROUNDS * COMMITTERS);
    assert_eq!(stats.conflicts, 0);
    assert!(
        stats.batches * 4 < stats.commits,
        "group commit should batch concurrent commits: {stats:?}"
    );
}

#[tokio::test]
async fn a_transaction_older_than_the_conflict_log_gets_conflict() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = EmbeddedOptions {
        max_conflict_log_keys: 10,
        ..EmbeddedOptions::default()
    };
    let store = EmbeddedStore::open_with(dir.path(), options).expect("open");
    let mut old = store.begin().await.expect("begin");
    for i in 0..20 {
        let mut txn = store.begin().await.expect("begin");
        txn.put(format!("other{i}").into_bytes(), Vec::new())
            .await
            .expect("put");
        txn.commit().await.expect("commit");
    }
    // `old` touched none of those keys, but the log no longer reaches back to its snapshot.
    old.put(b"mine".to_vec(), Vec::new()).await.expect("put");
    assert_eq!(old.commit().await, Err(StoreError::Conflict));

    // A transaction inside the retained log is judged normally.
    let mut recent = store.begin().await.expect("begin");
    recent.put(b"mine".to_vec(), Vec::new()).await.expect("put");
    recent.commit().await.expect("commit");
    assert_eq!(store.stats().conflicts, 1);
}

#[tokio::test]
async fn dropped_transactions_let_the_log_shrink() {
    // With a tiny key budget, transactions that were all dropped before the next commits
    // never see a spurious conflict: the log is pruned to the oldest live snapshot.
    let dir = tempfile::tempdir().expect("temp dir");
    let options = EmbeddedOptions {
        max_conflict_log_keys: 2,
        ..EmbeddedOptions::default()
    };
    let store = EmbeddedStore::open_with(dir.path(), options).expect("open");
    for i in 0..50 {
        let mut txn = store.begin().await.expect("begin");
        txn.put(format!("k{}", i % 3).into_bytes(), Vec::new())
            .await
            .expect("put");
        txn.commit().await.expect("commit");
    }
    assert_eq!(store.stats().conflicts, 0);
}
