//! The behaviour every [`Store`] backend must show, as async checks that panic on failure.
//! Backends run them from their own tests (`tests/embedded.rs` for redb; the TiKV backend
//! reuses them against a test cluster).
//!
//! Each check works under its own key prefix `conformance/<check>/` and clears it first, so
//! the checks can share one store, even one with leftovers of an earlier run. Checks that
//! start tasks need a Tokio runtime (any flavour).

use std::future::Future;
use std::ops::Bound;
use std::sync::Arc;

use crate::error::StoreError;
use crate::kv::{KeyRange, Store, Transaction};
use crate::retry::transact;

/// Runs every check but [`recovery`] (which needs to reopen the backend).
pub async fn run_all(store: Arc<dyn Store>) {
    get_put_delete(store.clone()).await;
    ordered_scans(store.clone()).await;
    read_your_writes(store.clone()).await;
    snapshot_isolation(store.clone()).await;
    write_conflicts(store.clone()).await;
    concurrent_commits(store.clone()).await;
    lock_conflicts(store.clone()).await;
    transact_retries(store.clone()).await;
    large_values(store.clone()).await;
    many_keys(store.clone()).await;
    delete_range(store.clone()).await;
    finished_transactions(store).await;
}

/// Key builder for one check's namespace.
struct Ns(&'static str);

impl Ns {
    fn key(&self, suffix: &str) -> Vec<u8> {
        format!("conformance/{}/{suffix}", self.0).into_bytes()
    }

    fn range(&self) -> KeyRange {
        KeyRange::prefix(&self.key(""))
    }

    /// Clears the namespace and returns it.
    async fn reset(store: &dyn Store, name: &'static str) -> Ns {
        let ns = Ns(name);
        let range = ns.range();
        transact(store, |txn| {
            let range = range.clone();
            Box::pin(async move { txn.delete_range(range).await })
        })
        .await
        .expect("clearing the namespace");
        ns
    }

    /// The suffixes of the keys of `pairs`.
    fn suffixes(&self, pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<String> {
        let prefix = self.key("");
        pairs
            .iter()
            .map(|(key, _)| String::from_utf8_lossy(&key[prefix.len()..]).into_owned())
            .collect()
    }
}

async fn begin(store: &dyn Store) -> Box<dyn Transaction> {
    store.begin().await.expect("begin")
}

async fn put_committed(store: &dyn Store, key: Vec<u8>, value: &[u8]) {
    let mut txn = begin(store).await;
    txn.put(key, value.to_vec()).await.expect("put");
    txn.commit().await.expect("commit");
}

async fn read(store: &dyn Store, key: &[u8]) -> Option<Vec<u8>> {
    let mut txn = begin(store).await;
    let value = txn.get(key).await.expect("get");
    txn.commit().await.expect("read-only commit");
    value
}

/// Point reads and writes: put, get, overwrite, delete, batch_get, absent keys.
pub async fn get_put_delete(store: Arc<dyn Store>) {
    let store = &*store;
    let ns = Ns::reset(store, "get_put_delete").await;
    assert_eq!(read(store, &ns.key("a")).await, None);
    put_committed(store, ns.key("a"), b"1").await;
    put_committed(store, ns.key("b"), b"").await;
    assert_eq!(read(store, &ns.key("a")).await, Some(b"1".to_vec()));
    assert_eq!(
        read(store, &ns.key("b")).await,
        Some(Vec::new()),
        "empty values exist"
    );
    put_committed(store, ns.key("a"), b"2").await;
    assert_eq!(read(store, &ns.key("a")).await, Some(b"2".to_vec()));

    let mut txn = begin(store).await;
    let values = txn
        .batch_get(&[ns.key("b"), ns.key("missing"), ns.key("a")])
        .await
        .expect("batch_get");
    assert_eq!(values, vec![Some(Vec::new()), None, Some(b"2".to_vec())]);
    txn.delete(ns.key("a")).await.expect("delete");
    txn.delete(ns.key("never-there"))
        .await
        .expect("delete of an absent key");
    txn.commit().await.expect("commit");
    assert_eq!(read(store, &ns.key("a")).await, None);
    assert_eq!(read(store, &ns.key("b")).await, Some(Vec::new()));
}

/// Scans in both directions with included, excluded and unbounded bounds and limits.
pub async fn ordered_scans(store: Arc<dyn Store>) {
    let store = &*store;
    let ns = Ns::reset(store, "ordered_scans").await;
    let mut txn = begin(store).await;
    // Inserted out of order on purpose.
    for i in (0..20).rev() {
        txn.put(ns.key(&format!("k{i:02}")), format!("v{i}").into_bytes())
            .await
            .expect("put");
    }
    txn.commit().await.expect("commit");

    let names = |range: std::ops::Range<usize>| -> Vec<String> {
        range.map(|i| format!("k{i:02}")).collect()
    };
    let mut txn = begin(store).await;
    let all = txn.scan(ns.range(), usize::MAX).await.expect("scan");
    assert_eq!(ns.suffixes(&all), names(0..20));
    assert_eq!(all[3].1, b"v3".to_vec(), "values come with their keys");

    let k = |i: usize| ns.key(&format!("k{i:02}"));
    let range = |start, end| KeyRange::new(start, end);
    let cases: Vec<(KeyRange, usize, Vec<String>)> = vec![
        (
            range(Bound::Included(k(3)), Bound::Included(k(6))),
            100,
            names(3..7),
        ),
        (
            range(Bound::Included(k(3)), Bound::Excluded(k(6))),
            100,
            names(3..6),
        ),
        (
            range(Bound::Excluded(k(3)), Bound::Excluded(k(6))),
            100,
            names(4..6),
        ),
        (
            range(Bound::Excluded(k(3)), Bound::Included(k(6))),
            2,
            names(4..6),
        ),
        (
            range(Bound::Included(k(15)), Bound::Unbounded),
            3,
            names(15..18),
        ),
        (
            range(Bound::Excluded(k(17)), Bound::Unbounded),
            2,
            names(18..20),
        ),
        (
            range(Bound::Included(k(5)), Bound::Included(k(5))),
            10,
            names(5..6),
        ),
        (
            range(Bound::Included(k(5)), Bound::Excluded(k(5))),
            10,
            vec![],
        ),
        (
            range(Bound::Included(k(6)), Bound::Included(k(3))),
            10,
            vec![],
        ),
        (
            range(Bound::Included(k(3)), Bound::Included(k(6))),
            0,
            vec![],
        ),
    ];
    for (range, limit, expected) in cases {
        let got = txn.scan(range.clone(), limit).await.expect("scan");
        assert_eq!(ns.suffixes(&got), expected, "scan {range:?} limit {limit}");
    }

    let reverse = txn
        .scan_reverse(ns.range(), usize::MAX)
        .await
        .expect("scan_reverse");
    let mut expected = names(0..20);
    expected.reverse();
    assert_eq!(ns.suffixes(&reverse), expected);
    let reverse = txn
        .scan_reverse(KeyRange::new(Bound::Unbounded, Bound::Excluded(k(5))), 3)
        .await
        .expect("scan_reverse");
    assert_eq!(ns.suffixes(&reverse), ["k04", "k03", "k02"]);
    let reverse = txn
        .scan_reverse(
            KeyRange::new(Bound::Excluded(k(10)), Bound::Included(k(12))),
            10,
        )
        .await
        .expect("scan_reverse");
    assert_eq!(ns.suffixes(&reverse), ["k12", "k11"]);
    txn.commit().await.expect("read-only commit");
}

/// A transaction sees its own puts and deletes, in gets and in scans both ways, and nobody
/// else does before it commits.
pub async fn read_your_writes(store: Arc<dyn Store>) {
    let store = &*store;
    let ns = Ns::reset(store, "read_your_writes").await;
    for key in ["k1", "k3", "k5", "k7"] {
        put_committed(store, ns.key(key), b"old").await;
    }
    let mut txn = begin(store).await;
    txn.put(ns.key("k2"), b"new".to_vec()).await.expect("put");
    txn.put(ns.key("k3"), b"new".to_vec()).await.expect("put");
    txn.delete(ns.key("k5")).await.expect("delete");
    txn.put(ns.key("k6"), b"new".to_vec()).await.expect("put");
    txn.put(ns.key("k8"), b"gone".to_vec()).await.expect("put");
    txn.delete(ns.key("k8")).await.expect("delete");

    assert_eq!(
        txn.get(&ns.key("k2")).await.expect("get"),
        Some(b"new".to_vec())
    );
    assert_eq!(
        txn.get(&ns.key("k3")).await.expect("get"),
        Some(b"new".to_vec())
    );
    assert_eq!(txn.get(&ns.key("k5")).await.expect("get"), None);
    assert_eq!(txn.get(&ns.key("k8")).await.expect("get"), None);
    let values = txn
        .batch_get(&[ns.key("k1"), ns.key("k3"), ns.key("k5")])
        .await
        .expect("batch_get");
    assert_eq!(
        values,
        vec![Some(b"old".to_vec()), Some(b"new".to_vec()), None]
    );

    let scanned = txn.scan(ns.range(), usize::MAX).await.expect("scan");
    assert_eq!(ns.suffixes(&scanned), ["k1", "k2", "k3", "k6", "k7"]);
    let values: Vec<&[u8]> = scanned.iter().map(|(_, v)| v.as_slice()).collect();
    assert_eq!(values, [&b"old"[..], b"new", b"new", b"new", b"old"]);
    let limited = txn.scan(ns.range(), 3).await.expect("scan");
    assert_eq!(ns.suffixes(&limited), ["k1", "k2", "k3"]);
    let reverse = txn.scan_reverse(ns.range(), 3).await.expect("scan_reverse");
    assert_eq!(ns.suffixes(&reverse), ["k7", "k6", "k3"]);
    let bounded = txn
        .scan(
            KeyRange::new(Bound::Excluded(ns.key("k2")), Bound::Included(ns.key("k6"))),
            10,
        )
        .await
        .expect("scan");
    assert_eq!(ns.suffixes(&bounded), ["k3", "k6"]);

    assert_eq!(
        read(store, &ns.key("k2")).await,
        None,
        "uncommitted writes are private"
    );
    assert_eq!(read(store, &ns.key("k5")).await, Some(b"old".to_vec()));
    txn.commit().await.expect("commit");
    assert_eq!(read(store, &ns.key("k2")).await, Some(b"new".to_vec()));
    assert_eq!(read(store, &ns.key("k5")).await, None);
    assert_eq!(read(store, &ns.key("k8")).await, None);
}

/// A transaction does not see what others commit after it began.
pub async fn snapshot_isolation(store: Arc<dyn Store>) {
    let store = &*store;
    let ns = Ns::reset(store, "snapshot_isolation").await;
    put_committed(store, ns.key("a"), b"v1").await;
    put_committed(store, ns.key("c"), b"v1").await;

    let mut old = begin(store).await;
    let mut writer = begin(store).await;
    writer.put(ns.key("a"), b"v2".to_vec()).await.expect("put");
    writer.put(ns.key("b"), b"v2".to_vec()).await.expect("put");
    writer.delete(ns.key("c")).await.expect("delete");
    writer.commit().await.expect("commit");

    assert_eq!(
        old.get(&ns.key("a")).await.expect("get"),
        Some(b"v1".to_vec())
    );
    assert_eq!(old.get(&ns.key("b")).await.expect("get"), None);
    assert_eq!(
        old.get(&ns.key("c")).await.expect("get"),
        Some(b"v1".to_vec())
    );
    let scanned = old.scan(ns.range(), usize::MAX).await.expect("scan");
    assert_eq!(ns.suffixes(&scanned), ["a", "c"]);
    old.commit().await.expect("a read-only transaction commits");

    let mut new = begin(store).await;
    let scanned = new.scan(ns.range(), usize::MAX).await.expect("scan");
    assert_eq!(ns.suffixes(&scanned), ["a", "b"]);
    assert_eq!(scanned[0].1, b"v2".to_vec());
    new.commit().await.expect("commit");
}

async fn commit_result(mut txn: Box<dyn Transaction>) -> Result<(), StoreError> {
    txn.commit().await
}

/// The first of two overlapping transactions to commit wins; the other gets `Conflict`.
/// Reads and disjoint writes do not conflict.
pub async fn write_conflicts(store: Arc<dyn Store>) {
    let store = &*store;
    let ns = Ns::reset(store, "write_conflicts").await;
    put_committed(store, ns.key("k"), b"0").await;

    // put against put
    let mut first = begin(store).await;
    let mut second = begin(store).await;
    first
        .put(ns.key("k"), b"first".to_vec())
        .await
        .expect("put");
    second
        .put(ns.key("k"), b"second".to_vec())
        .await
        .expect("put");
    commit_result(first)
        .await
        .expect("the first committer wins");
    assert_eq!(commit_result(second).await, Err(StoreError::Conflict));
    assert_eq!(read(store, &ns.key("k")).await, Some(b"first".to_vec()));

    // delete against put, delete committing first
    let mut deleter = begin(store).await;
    let mut writer = begin(store).await;
    deleter.delete(ns.key("k")).await.expect("delete");
    writer.put(ns.key("k"), b"w".to_vec()).await.expect("put");
    commit_result(deleter).await.expect("commit");
    let err = commit_result(writer)
        .await
        .expect_err("a delete conflicts too");
    assert!(err.is_retryable());
    assert_eq!(read(store, &ns.key("k")).await, None);

    // disjoint write sets, and a write against a mere read
    let mut one = begin(store).await;
    let mut two = begin(store).await;
    one.put(ns.key("x"), b"1".to_vec()).await.expect("put");
    assert_eq!(two.get(&ns.key("x")).await.expect("get"), None);
    two.put(ns.key("y"), b"2".to_vec()).await.expect("put");
    commit_result(one).await.expect("disjoint commit");
    commit_result(two)
        .await
        .expect("reading a key written concurrently is no conflict");

    // a transaction begun after a commit does not conflict with it
    put_committed(store, ns.key("x"), b"3").await;
    put_committed(store, ns.key("x"), b"4").await;
    assert_eq!(read(store, &ns.key("x")).await, Some(b"4".to_vec()));
}

/// Transactions writing the same key that commit at the same time: exactly one wins.
pub async fn concurrent_commits(store: Arc<dyn Store>) {
    let ns = Ns::reset(&*store, "concurrent_commits").await;
    for (round, contenders) in [2usize, 2, 3, 8, 16].into_iter().enumerate() {
        let key = ns.key(&format!("round{round}"));
        let mut txns = Vec::new();
        for i in 0..contenders {
            let mut txn = begin(&*store).await;
            txn.put(key.clone(), i.to_string().into_bytes())
                .await
                .expect("put");
            // an uncontended key too, to show the whole transaction is refused
            txn.put(ns.key(&format!("round{round}-own{i}")), Vec::new())
                .await
                .expect("put");
            txns.push(txn);
        }
        let handles: Vec<_> = txns
            .into_iter()
            .map(|txn| tokio::spawn(commit_result(txn)))
            .collect();
        let mut winners = Vec::new();
        for (i, handle) in handles.into_iter().enumerate() {
            match handle.await.expect("commit task") {
                Ok(()) => winners.push(i),
                Err(StoreError::Conflict) => {}
                Err(err) => panic!("unexpected commit error {err}"),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one of {contenders} commits"
        );
        let winner = winners[0];
        assert_eq!(
            read(&*store, &key).await,
            Some(winner.to_string().into_bytes())
        );
        let mut txn = begin(&*store).await;
        let own = txn
            .scan(KeyRange::prefix(&ns.key(&format!("round{round}-own"))), 100)
            .await
            .expect("scan");
        assert_eq!(ns.suffixes(&own), [format!("round{round}-own{winner}")]);
    }
}

/// `lock` puts a key in the write set without writing it.
pub async fn lock_conflicts(store: Arc<dyn Store>) {
    let store = &*store;
    let ns = Ns::reset(store, "lock_conflicts").await;

    // A locked key written by someone else before our commit: we conflict.
    let mut locker = begin(store).await;
    let mut writer = begin(store).await;
    locker.lock(ns.key("guard")).await.expect("lock");
    locker
        .put(ns.key("other"), b"1".to_vec())
        .await
        .expect("put");
    writer
        .put(ns.key("guard"), b"w".to_vec())
        .await
        .expect("put");
    commit_result(writer).await.expect("commit");
    assert_eq!(commit_result(locker).await, Err(StoreError::Conflict));
    assert_eq!(
        read(store, &ns.key("other")).await,
        None,
        "nothing of the loser is applied"
    );

    // A committed lock makes a concurrent writer of that key conflict, and writes nothing.
    let mut locker = begin(store).await;
    let mut writer = begin(store).await;
    locker.lock(ns.key("guard")).await.expect("lock");
    writer
        .put(ns.key("guard"), b"late".to_vec())
        .await
        .expect("put");
    commit_result(locker)
        .await
        .expect("a lock-only transaction commits");
    assert_eq!(commit_result(writer).await, Err(StoreError::Conflict));
    assert_eq!(read(store, &ns.key("guard")).await, Some(b"w".to_vec()));

    // Two lockers of one key conflict as writers would; a lock nobody touches commits.
    let mut one = begin(store).await;
    let mut two = begin(store).await;
    one.lock(ns.key("shared")).await.expect("lock");
    two.lock(ns.key("shared")).await.expect("lock");
    commit_result(one).await.expect("commit");
    assert_eq!(commit_result(two).await, Err(StoreError::Conflict));
    assert_eq!(
        read(store, &ns.key("shared")).await,
        None,
        "a lock writes no value"
    );
}

/// `transact` retries conflicts until every contender got through, and passes other errors
/// straight back without committing.
pub async fn transact_retries(store: Arc<dyn Store>) {
    let ns = Ns::reset(&*store, "transact_retries").await;
    let counter = ns.key("counter");
    let mut handles = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        let counter = counter.clone();
        handles.push(tokio::spawn(async move {
            let counter = &counter;
            transact(&*store, |txn| {
                Box::pin(async move {
                    let old = match txn.get(counter).await? {
                        Some(bytes) => String::from_utf8_lossy(&bytes)
                            .parse::<u64>()
                            .map_err(|err| StoreError::Corrupt(err.to_string()))?,
                        None => 0,
                    };
                    txn.put(counter.clone(), (old + 1).to_string().into_bytes())
                        .await?;
                    Ok(old + 1)
                })
            })
            .await
        }));
    }
    let mut seen = Vec::new();
    for handle in handles {
        seen.push(handle.await.expect("task").expect("transact converges"));
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=20).collect::<Vec<u64>>(),
        "each increment saw a distinct value"
    );
    assert_eq!(read(&*store, &counter).await, Some(b"20".to_vec()));

    let ns = &ns;
    let failed: Result<(), StoreError> = transact(&*store, |txn| {
        Box::pin(async move {
            txn.put(ns.key("never"), Vec::new()).await?;
            Err(StoreError::Other("refused by the closure".into()))
        })
    })
    .await;
    assert_eq!(
        failed,
        Err(StoreError::Other("refused by the closure".into()))
    );
    assert_eq!(read(&*store, &ns.key("never")).await, None);
}

/// A 1 MiB value survives a round trip, in gets and scans.
pub async fn large_values(store: Arc<dyn Store>) {
    let store = &*store;
    let ns = Ns::reset(store, "large_values").await;
    let value: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut txn = begin(store).await;
    txn.put(ns.key("big"), value.clone()).await.expect("put");
    assert_eq!(
        txn.get(&ns.key("big")).await.expect("get").as_ref(),
        Some(&value)
    );
    txn.commit().await.expect("commit");
    assert_eq!(read(store, &ns.key("big")).await.as_ref(), Some(&value));
    let mut txn = begin(store).await;
    let scanned = txn.scan(ns.range(), 10).await.expect("scan");
    assert_eq!(scanned.len(), 1);
    assert!(scanned[0].1 == value, "scanned value differs");
}

/// 10,000 keys written in one transaction, scanned, and removed in one transaction.
pub async fn many_keys(store: Arc<dyn Store>) {
    let store = &*store;
    let ns = Ns::reset(store, "many_keys").await;
    const COUNT: usize = 10_000;
    let mut txn = begin(store).await;
    for i in 0..COUNT {
        txn.put(ns.key(&format!("{i:05}")), i.to_string().into_bytes())
            .await
            .expect("put");
    }
    txn.commit().await.expect("commit");

    let mut txn = begin(store).await;
    let all = txn.scan(ns.range(), usize::MAX).await.expect("scan");
    assert_eq!(all.len(), COUNT);
    for (i, (key, value)) in all.iter().enumerate() {
        assert_eq!(key, &ns.key(&format!("{i:05}")));
        assert_eq!(value, &i.to_string().into_bytes());
    }
    let page = txn
        .scan(KeyRange::prefix_after(&ns.key(""), &ns.key("04999")), 3)
        .await
        .expect("scan");
    assert_eq!(ns.suffixes(&page), ["05000", "05001", "05002"]);
    drop(txn);

    let mut txn = begin(store).await;
    assert_eq!(
        txn.delete_range(ns.range()).await.expect("delete_range"),
        COUNT
    );
    txn.commit().await.expect("commit");
    let mut txn = begin(store).await;
    assert!(txn.scan(ns.range(), 1).await.expect("scan").is_empty());
}

/// `delete_range` removes what the transaction sees in the range (its own writes included)
/// and its keys conflict like deletes.
pub async fn delete_range(store: Arc<dyn Store>) {
    let store = &*store;
    let ns = Ns::reset(store, "delete_range").await;
    let mut txn = begin(store).await;
    for key in ["a", "b", "c", "d", "e", "f"] {
        txn.put(ns.key(key), Vec::new()).await.expect("put");
    }
    txn.commit().await.expect("commit");

    let mut txn = begin(store).await;
    txn.put(ns.key("c2"), Vec::new()).await.expect("put");
    let range = KeyRange::new(Bound::Included(ns.key("b")), Bound::Excluded(ns.key("e")));
    assert_eq!(txn.delete_range(range).await.expect("delete_range"), 4);
    let left = txn.scan(ns.range(), 100).await.expect("scan");
    assert_eq!(ns.suffixes(&left), ["a", "e", "f"]);
    txn.commit().await.expect("commit");
    let mut txn = begin(store).await;
    let left = txn.scan(ns.range(), 100).await.expect("scan");
    assert_eq!(ns.suffixes(&left), ["a", "e", "f"]);
    drop(txn);

    // A range delete conflicts with a concurrent write of a key it removed.
    let mut remover = begin(store).await;
    let mut writer = begin(store).await;
    remover
        .delete_range(ns.range())
        .await
        .expect("delete_range");
    writer
        .put(ns.key("e"), b"kept".to_vec())
        .await
        .expect("put");
    commit_result(writer).await.expect("commit");
    assert_eq!(commit_result(remover).await, Err(StoreError::Conflict));
    assert_eq!(read(store, &ns.key("e")).await, Some(b"kept".to_vec()));
}

/// A finished transaction refuses further use; rollback and drop discard writes; a
/// transaction without writes commits.
pub async fn finished_transactions(store: Arc<dyn Store>) {
    let store = &*store;
    let ns = Ns::reset(store, "finished_transactions").await;
    let mut txn = begin(store).await;
    txn.put(ns.key("rolled-back"), Vec::new())
        .await
        .expect("put");
    txn.rollback().await.expect("rollback");
    assert!(txn.get(&ns.key("x")).await.is_err(), "get after rollback");
    assert!(txn.commit().await.is_err(), "commit after rollback");
    drop(txn);

    let mut txn = begin(store).await;
    txn.put(ns.key("dropped"), Vec::new()).await.expect("put");
    drop(txn);

    let mut txn = begin(store).await;
    txn.put(ns.key("committed"), Vec::new()).await.expect("put");
    txn.commit().await.expect("commit");
    assert!(
        txn.put(ns.key("late"), Vec::new()).await.is_err(),
        "put after commit"
    );
    assert!(txn.commit().await.is_err(), "second commit");
    drop(txn);

    let mut txn = begin(store).await;
    assert_eq!(txn.get(&ns.key("rolled-back")).await.expect("get"), None);
    assert_eq!(txn.get(&ns.key("dropped")).await.expect("get"), None);
    assert_eq!(
        txn.get(&ns.key("committed")).await.expect("get"),
        Some(Vec::new())
    );
    txn.commit().await.expect("a read-only transaction commits");
}

/// Data committed before the backend was closed is there after reopening. `open` opens the
/// same backend each time; every handle of the previous one is dropped before it is called.
pub async fn recovery<F, Fut>(mut open: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    let store = open().await;
    let ns = Ns::reset(&*store, "recovery").await;
    let mut txn = begin(&*store).await;
    for i in 0..100 {
        txn.put(ns.key(&format!("n/{i:03}")), vec![i as u8; 100])
            .await
            .expect("put");
    }
    txn.commit().await.expect("commit");
    put_committed(&*store, ns.key("n/050"), b"changed").await;
    let mut txn = begin(&*store).await;
    txn.delete(ns.key("n/099")).await.expect("delete");
    txn.commit().await.expect("commit");
    let mut uncommitted = begin(&*store).await;
    uncommitted
        .put(ns.key("n/uncommitted"), Vec::new())
        .await
        .expect("put");
    drop(uncommitted);
    drop(store);

    for round in 0..2 {
        let store = open().await;
        let mut txn = begin(&*store).await;
        let all = txn
            .scan(KeyRange::prefix(&ns.key("n/")), usize::MAX)
            .await
            .expect("scan");
        assert_eq!(all.len(), 99, "round {round}");
        assert_eq!(all[50], (ns.key("n/050"), b"changed".to_vec()));
        assert_eq!(all[7], (ns.key("n/007"), vec![7; 100]));
        drop(txn);
        put_committed(&*store, ns.key(&format!("r/{round}")), b"").await;
    }
    let store = open().await;
    let mut txn = begin(&*store).await;
    let after = txn
        .scan(KeyRange::prefix(&ns.key("r/")), 10)
        .await
        .expect("scan");
    assert_eq!(ns.suffixes(&after), ["r/0", "r/1"]);
}
