//! The embedded backend: one redb file, optimistic transactions, group commit.
//!
//! - **Snapshots.** The committer thread, right after each write commit, opens a redb read
//!   transaction and publishes it together with the commit sequence number it reflects.
//!   [`Store::begin`] takes the latest published pair under one lock, so a transaction's
//!   snapshot always matches the sequence number used to check it for conflicts. One redb read
//!   transaction is shared by every transaction begun between two commits.
//! - **Reads** run inline on the caller's task, without `spawn_blocking`: they are B-tree
//!   lookups in redb's page cache (a miss is one `pread` of a 4 KiB page) and scans are bounded
//!   by their limit, so they cost microseconds; a thread hop would cost more than the read.
//! - **Writes** are buffered in the transaction. [`Transaction::commit`] sends the write set to
//!   the single committer thread and waits. The committer takes every commit queued so far
//!   (group commit), checks each against the conflict log (a key of its write set committed
//!   after its snapshot means [`StoreError::Conflict`]; so does a key written by an earlier
//!   transaction of the same batch), applies all that pass in ONE redb write transaction with
//!   [`Durability::Immediate`] (one fsync), publishes the new snapshot, and only then answers
//!   the waiting committers. So an acknowledged commit is on disk and visible to every
//!   transaction begun afterwards. While one batch is being synced the next one queues up, so
//!   under load many transactions share one fsync.
//! - **Conflict log.** For each commit, its sequence number and the keys it wrote (locks
//!   included). Entries at or below the oldest snapshot still in use are pruned (dropping a
//!   transaction unregisters its snapshot). If the log grows past
//!   [`EmbeddedOptions::max_conflict_log_keys`] (a transaction kept open for very long) the
//!   oldest entries are pruned anyway, and a transaction whose snapshot is older than the
//!   retained log gets [`StoreError::Conflict`] instead of a possibly wrong answer.
//! - The sequence number and the log live in memory only: after a restart no transaction is
//!   open, so numbering starts again from zero.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Hash maps and sets of keys for conflict checks: every key of every write set is hashed on the
/// single committer thread, so the hasher must be fast; it is randomly seeded per process, so
/// keys chosen by devices cannot force collisions.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use async_trait::async_trait;
use redb::{Database, Durability, ReadOnlyTable, TableDefinition};
use tokio::sync::oneshot;

use crate::error::{Result, StoreError};
use crate::kv::{KeyRange, KvPair, Store, Transaction};

/// The single table holding every key.
const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");
/// The file created in the store's directory.
pub const FILE_NAME: &str = "acs.redb";

/// Tuning of the embedded store; [`Default`] suits production.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// redb's page cache size in bytes.
    pub cache_size_bytes: usize,
    /// Most keys kept in the conflict log before the oldest entries are pruned even though a
    /// transaction still needs them (that transaction then fails with `Conflict`).
    pub max_conflict_log_keys: usize,
    /// Most transactions applied in one redb write transaction.
    pub max_batch_transactions: usize,
    /// Most bytes (keys plus values) applied in one redb write transaction; a single larger
    /// transaction still goes through, alone.
    pub max_batch_bytes: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            cache_size_bytes: 256 << 20,
            max_conflict_log_keys: 4 << 20,
            max_batch_transactions: 4096,
            max_batch_bytes: 64 << 20,
        }
    }
}

/// Counters of the committer, to see group commit at work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions committed through the committer (read-only ones are not counted).
    pub commits: u64,
    /// redb write transactions, each with one fsync.
    pub batches: u64,
    /// Commits refused with `Conflict`.
    pub conflicts: u64,
}

/// The redb-backed [`Store`]. Dropping the store and every unfinished transaction stops the
/// committer thread and closes the file.
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

impl EmbeddedStore {
    /// Opens (creating if needed) `dir/acs.redb` with default options.
    pub fn open(dir: &Path) -> Result<EmbeddedStore> {
        EmbeddedStore::open_with(dir, EmbeddedOptions::default())
    }

    /// Opens (creating if needed) `dir/acs.redb`. A file left by a crash is repaired first.
    pub fn open_with(dir: &Path, options: EmbeddedOptions) -> Result<EmbeddedStore> {
        std::fs::create_dir_all(dir)
            .map_err(|err| StoreError::Unavailable(format!("creating {}: {err}", dir.display())))?;
        let db = Database::builder()
            .set_cache_size(options.cache_size_bytes)
            .create_with_file_format_v3(true)
            .create(dir.join(FILE_NAME))
            .map_err(redb_error)?;
        let setup = db.begin_write().map_err(redb_error)?;
        setup.open_table(TABLE).map_err(redb_error)?;
        setup.commit().map_err(redb_error)?;

        let shared = Arc::new(Mutex::new(Shared {
            published: Arc::new(Snapshot::open(&db, 0)?),
            active: BTreeMap::new(),
        }));
        let stats = Arc::new(Stats::default());
        let (sender, receiver) = mpsc::channel();
        let committer = Committer {
            db,
            shared: shared.clone(),
            stats: stats.clone(),
            receiver,
            log: ConflictLog::default(),
            seq: 0,
            options,
        };
        let thread = std::thread::Builder::new()
            .name("acs-store-committer".into())
            .spawn(move || committer.run())
            .map_err(|err| StoreError::Other(format!("starting the committer thread: {err}")))?;
        Ok(EmbeddedStore {
            inner: Arc::new(Inner {
                shared,
                sender,
                committer: Some(thread),
                stats,
            }),
        })
    }

    /// Committer counters since open.
    pub fn stats(&self) -> CommitStats {
        let stats = &self.inner.stats;
        CommitStats {
            commits: stats.commits.load(AtomicOrdering::Relaxed),
            batches: stats.batches.load(AtomicOrdering::Relaxed),
            conflicts: stats.conflicts.load(AtomicOrdering::Relaxed),
        }
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn begin(&self) -> Result<Box<dyn Transaction>> {
        let snapshot = {
            let mut shared = lock(&self.inner.shared);
            let snapshot = shared.published.clone();
            *shared.active.entry(snapshot.seq).or_default() += 1;
            snapshot
        };
        Ok(Box::new(EmbeddedTransaction {
            live: Some(Live {
                inner: self.inner.clone(),
                snapshot,
            }),
            writes: BTreeMap::new(),
            locks: BTreeSet::new(),
        }))
    }
}

/// What the store handle and its transactions share.
struct Inner {
    shared: Arc<Mutex<Shared>>,
    sender: mpsc::Sender<Message>,
    committer: Option<JoinHandle<()>>,
    stats: Arc<Stats>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // No transaction is left (each holds the Inner); commits still queued (their futures
        // were dropped) are applied before the committer sees Stop.
        let _ = self.sender.send(Message::Stop);
        if let Some(thread) = self.committer.take() {
            let _ = thread.join();
        }
    }
}

/// State shared between `begin`, dropped transactions and the committer.
struct Shared {
    /// The newest snapshot and the commit sequence number it reflects.
    published: Arc<Snapshot>,
    /// Snapshot sequence number → how many live transactions use it.
    active: BTreeMap<u64, usize>,
}

/// Locks, ignoring poisoning: the guarded state is updated in single steps.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Default)]
struct Stats {
    commits: AtomicU64,
    batches: AtomicU64,
    conflicts: AtomicU64,
}

/// A redb read transaction's view of the table, as of commit `seq`.
struct Snapshot {
    seq: u64,
    table: ReadOnlyTable<&'static [u8], &'static [u8]>,
}

impl Snapshot {
    fn open(db: &Database, seq: u64) -> Result<Snapshot> {
        let read = db.begin_read().map_err(redb_error)?;
        let table = read.open_table(TABLE).map_err(redb_error)?;
        Ok(Snapshot { seq, table })
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .table
            .get(key)
            .map_err(redb_error)?
            .map(|value| value.value().to_vec()))
    }
}

/// Maps redb's errors: I/O trouble is `Unavailable`, detected corruption is `Corrupt`.
fn redb_error(err: impl Into<redb::Error>) -> StoreError {
    match err.into() {
        redb::Error::Corrupted(message) => StoreError::Corrupt(message),
        err @ (redb::Error::Io(_) | redb::Error::DatabaseAlreadyOpen) => {
            StoreError::Unavailable(err.to_string())
        }
        err => StoreError::Other(err.to_string()),
    }
}

/// Messages to the committer thread.
enum Message {
    Commit(CommitRequest),
    Stop,
}

/// One transaction's write set, waiting for the committer.
struct CommitRequest {
    snapshot_seq: u64,
    /// `None` deletes the key.
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    locks: BTreeSet<Vec<u8>>,
    reply: oneshot::Sender<Result<()>>,
}

impl CommitRequest {
    fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.writes
            .keys()
            .chain(self.locks.iter())
            .map(Vec::as_slice)
    }

    fn bytes(&self) -> usize {
        self.writes
            .iter()
            .map(|(key, value)| key.len() + value.as_ref().map_or(0, Vec::len))
            .sum()
    }
}

/// Which keys were committed at which sequence number, for conflict checks.
#[derive(Default)]
struct ConflictLog {
    entries: VecDeque<(u64, Vec<Vec<u8>>)>,
    last_write: HashMap<Vec<u8>, u64>,
    /// Every commit with a sequence number up to this one has been forgotten.
    floor: u64,
    keys: usize,
}

impl ConflictLog {
    fn conflicts(&self, request: &CommitRequest) -> bool {
        request.snapshot_seq < self.floor
            || request.keys().any(|key| {
                self.last_write
                    .get(key)
                    .is_some_and(|&seq| seq > request.snapshot_seq)
            })
    }

    fn record(&mut self, seq: u64, keys: Vec<Vec<u8>>) {
        for key in &keys {
            self.last_write.insert(key.clone(), seq);
        }
        self.keys += keys.len();
        self.entries.push_back((seq, keys));
    }

    /// Forgets commits no live snapshot predates, then more if the log is over `max_keys`.
    fn prune(&mut self, oldest_snapshot: u64, max_keys: usize) {
        while let Some((seq, _)) = self.entries.front() {
            if *seq > oldest_snapshot && self.keys <= max_keys {
                break;
            }
            let Some((seq, keys)) = self.entries.pop_front() else {
                break;
            };
            for key in keys {
                if self.last_write.get(&key) == Some(&seq) {
                    self.last_write.remove(&key);
                }
                self.keys -= 1;
            }
            self.floor = self.floor.max(seq);
        }
    }
}

/// The thread that owns the database for writing.
struct Committer {
    db: Database,
    shared: Arc<Mutex<Shared>>,
    stats: Arc<Stats>,
    receiver: mpsc::Receiver<Message>,
    log: ConflictLog,
    /// Sequence number of the last applied commit.
    seq: u64,
    options: EmbeddedOptions,
}

impl Committer {
    fn run(mut self) {
        while let Ok(first) = self.receiver.recv() {
            let Message::Commit(first) = first else {
                return;
            };
            let mut bytes = first.bytes();
            let mut batch = vec![first];
            let mut stop = false;
            while batch.len() < self.options.max_batch_transactions
                && bytes < self.options.max_batch_bytes
            {
                match self.receiver.try_recv() {
                    Ok(Message::Commit(request)) => {
                        bytes += request.bytes();
                        batch.push(request);
                    }
                    Ok(Message::Stop) => {
                        stop = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.commit_batch(batch);
            if stop {
                return;
            }
        }
    }

    fn commit_batch(&mut self, batch: Vec<CommitRequest>) {
        let accepted = self.validate(batch);
        if accepted.is_empty() {
            return;
        }
        if let Err(err) = self.apply(&accepted) {
            for request in accepted {
                let _ = request.reply.send(Err(err.clone()));
            }
            return;
        }
        self.stats.batches.fetch_add(1, AtomicOrdering::Relaxed);
        self.stats
            .commits
            .fetch_add(accepted.len() as u64, AtomicOrdering::Relaxed);

        let mut replies = Vec::with_capacity(accepted.len());
        for request in accepted {
            self.seq += 1;
            let CommitRequest {
                writes,
                locks,
                reply,
                ..
            } = request;
            self.log
                .record(self.seq, writes.into_keys().chain(locks).collect());
            replies.push(reply);
        }
        // If no new snapshot can be opened the old one stays published: still consistent, as
        // its sequence number is the old one too.
        let snapshot = Snapshot::open(&self.db, self.seq).map(Arc::new);
        let oldest = {
            let mut shared = lock(&self.shared);
            if let Ok(snapshot) = snapshot {
                shared.published = snapshot;
            }
            shared
                .active
                .keys()
                .next()
                .copied()
                .unwrap_or(shared.published.seq)
        };
        self.log.prune(oldest, self.options.max_conflict_log_keys);
        for reply in replies {
            let _ = reply.send(Ok(()));
        }
    }

    /// Answers `Conflict` to the requests that conflict with the log or with an earlier
    /// request of the batch, and returns the others.
    fn validate(&self, batch: Vec<CommitRequest>) -> Vec<CommitRequest> {
        let verdicts: Vec<bool> = {
            let mut batch_keys: HashSet<&[u8]> = HashSet::default();
            batch
                .iter()
                .map(|request| {
                    let ok = !self.log.conflicts(request)
                        && request.keys().all(|key| !batch_keys.contains(key));
                    if ok {
                        batch_keys.extend(request.keys());
                    }
                    ok
                })
                .collect()
        };
        let mut accepted = Vec::with_capacity(batch.len());
        for (request, ok) in batch.into_iter().zip(verdicts) {
            if ok {
                accepted.push(request);
            } else {
                self.stats.conflicts.fetch_add(1, AtomicOrdering::Relaxed);
                let _ = request.reply.send(Err(StoreError::Conflict));
            }
        }
        accepted
    }

    /// Writes the batch in one durable redb transaction.
    fn apply(&self, batch: &[CommitRequest]) -> Result<()> {
        let mut write = self.db.begin_write().map_err(redb_error)?;
        write.set_durability(Durability::Immediate);
        {
            let mut table = write.open_table(TABLE).map_err(redb_error)?;
            for request in batch {
                for (key, value) in &request.writes {
                    match value {
                        Some(value) => {
                            table
                                .insert(key.as_slice(), value.as_slice())
                                .map_err(redb_error)?;
                        }
                        None => {
                            table.remove(key.as_slice()).map_err(redb_error)?;
                        }
                    }
                }
            }
        }
        write.commit().map_err(redb_error)
    }
}

/// A transaction of the embedded store.
struct EmbeddedTransaction {
    /// `None` once the transaction finished: it then holds neither the store nor a snapshot.
    live: Option<Live>,
    /// Buffered writes; `None` deletes the key.
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    locks: BTreeSet<Vec<u8>>,
}

fn finished() -> StoreError {
    StoreError::Other("transaction already finished".into())
}

/// What an unfinished transaction holds; dropping it unregisters the snapshot.
struct Live {
    inner: Arc<Inner>,
    snapshot: Arc<Snapshot>,
}

impl Drop for Live {
    fn drop(&mut self) {
        let mut shared = lock(&self.inner.shared);
        if let Some(count) = shared.active.get_mut(&self.snapshot.seq) {
            *count -= 1;
            if *count == 0 {
                shared.active.remove(&self.snapshot.seq);
            }
        }
    }
}

impl EmbeddedTransaction {
    fn live(&self) -> Result<&Live> {
        self.live.as_ref().ok_or_else(finished)
    }

    fn read(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let live = self.live()?;
        match self.writes.get(key) {
            Some(buffered) => Ok(buffered.clone()),
            None => live.snapshot.get(key),
        }
    }

    /// Merges the snapshot's and the buffer's pairs of `range`, the buffer winning.
    fn scan_merged(&self, range: &KeyRange, limit: usize, reverse: bool) -> Result<Vec<KvPair>> {
        let live = self.live()?;
        if limit == 0 || range.is_empty() {
            return Ok(Vec::new());
        }
        let bounds = range.as_slices();
        let stored = live
            .snapshot
            .table
            .range::<&[u8]>(bounds)
            .map_err(redb_error)?;
        let stored = stored.map(|item| {
            item.map(|(key, value)| (key.value().to_vec(), value.value().to_vec()))
                .map_err(redb_error)
        });
        let buffered = self.writes.range::<[u8], _>(bounds);
        if reverse {
            merge(
                stored.rev(),
                buffered.rev(),
                limit,
                std::cmp::Ordering::Greater,
            )
        } else {
            merge(stored, buffered, limit, std::cmp::Ordering::Less)
        }
    }
}

/// Merges two sorted streams; `first` is how a key that comes first compares to the other.
fn merge<'b>(
    stored: impl Iterator<Item = Result<KvPair>>,
    buffered: impl Iterator<Item = (&'b Vec<u8>, &'b Option<Vec<u8>>)>,
    limit: usize,
    first: std::cmp::Ordering,
) -> Result<Vec<KvPair>> {
    let mut stored = stored.peekable();
    let mut buffered = buffered.peekable();
    let mut out = Vec::new();
    while out.len() < limit {
        let take_buffered = match (stored.peek(), buffered.peek()) {
            (None, None) => break,
            (Some(Err(_)), _) => {
                return match stored.next() {
                    Some(Err(err)) => Err(err),
                    _ => Err(StoreError::Other("scan iterator changed".into())),
                };
            }
            (None, Some(_)) => true,
            (Some(Ok(_)), None) => false,
            (Some(Ok((stored_key, _))), Some((buffered_key, _))) => {
                match buffered_key.as_slice().cmp(stored_key.as_slice()) {
                    std::cmp::Ordering::Equal => {
                        stored.next(); // shadowed by the buffered write
                        true
                    }
                    order => order == first,
                }
            }
        };
        if take_buffered {
            if let Some((key, Some(value))) = buffered.next() {
                out.push((key.clone(), value.clone()));
            }
        } else if let Some(pair) = stored.next() {
            out.push(pair?);
        }
    }
    Ok(out)
}

#[async_trait]
impl Transaction for EmbeddedTransaction {
    async fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.read(key)
    }

    async fn batch_get(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        keys.iter().map(|key| self.read(key)).collect()
    }

    async fn scan(&mut self, range: KeyRange, limit: usize) -> Result<Vec<KvPair>> {
        self.scan_merged(&range, limit, false)
    }

    async fn scan_reverse(&mut self, range: KeyRange, limit: usize) -> Result<Vec<KvPair>> {
        self.scan_merged(&range, limit, true)
    }

    async fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.live()?;
        self.writes.insert(key, Some(value));
        Ok(())
    }

    async fn delete(&mut self, key: Vec<u8>) -> Result<()> {
        self.live()?;
        self.writes.insert(key, None);
        Ok(())
    }

    async fn lock(&mut self, key: Vec<u8>) -> Result<()> {
        self.live()?;
        self.locks.insert(key);
        Ok(())
    }

    async fn commit(&mut self) -> Result<()> {
        // Held until the committer answered, so the snapshot stays registered meanwhile.
        let live = self.live.take().ok_or_else(finished)?;
        if self.writes.is_empty() && self.locks.is_empty() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        let request = CommitRequest {
            snapshot_seq: live.snapshot.seq,
            writes: std::mem::take(&mut self.writes),
            locks: std::mem::take(&mut self.locks),
            reply,
        };
        let stopped = || StoreError::Unavailable("the committer thread has stopped".into());
        live.inner
            .sender
            .send(Message::Commit(request))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn rollback(&mut self) -> Result<()> {
        self.live()?;
        self.live = None;
        self.writes.clear();
        self.locks.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn shared_parts_are_thread_safe() {
        assert_send_sync::<EmbeddedStore>();
        assert_send_sync::<Snapshot>();
    }

    fn request(snapshot_seq: u64, keys: &[&str]) -> (CommitRequest, oneshot::Receiver<Result<()>>) {
        let (reply, answer) = oneshot::channel();
        let writes = keys
            .iter()
            .map(|key| (key.as_bytes().to_vec(), Some(Vec::new())))
            .collect();
        let request = CommitRequest {
            snapshot_seq,
            writes,
            locks: BTreeSet::new(),
            reply,
        };
        (request, answer)
    }

    #[test]
    fn conflict_log_prunes_and_refuses_too_old_snapshots() {
        let mut log = ConflictLog::default();
        log.record(1, vec![b"a".to_vec()]);
        log.record(2, vec![b"b".to_vec(), b"c".to_vec()]);
        assert!(log.conflicts(&request(0, &["a"]).0));
        assert!(!log.conflicts(&request(1, &["a"]).0));
        assert!(log.conflicts(&request(1, &["c"]).0));
        log.prune(1, usize::MAX);
        assert_eq!(log.floor, 1);
        assert_eq!(log.keys, 2);
        assert!(log.conflicts(&request(0, &["z"]).0), "older than the log");
        log.prune(1, 1); // over the key budget: forget seq 2 although snapshot 1 is live
        assert_eq!(log.floor, 2);
        assert!(log.last_write.is_empty());
        assert!(log.conflicts(&request(1, &["z"]).0));
        assert!(!log.conflicts(&request(2, &["b"]).0));
    }
}
