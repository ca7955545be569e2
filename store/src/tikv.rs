//! The TiKV backend: the [`Store`] interface on a TiKV cluster (or anything speaking TiKV's
//! transactional gRPC API, such as TiDB's unistore), through `tikv-client`'s optimistic
//! transactions.
//!
//! - **Addressing.** TiKV clients talk to PD, which tells them where each region lives; so a
//!   store is named by its PD endpoints, TiDB style: `tikv://pd1:2379,pd2:2379`, optionally
//!   with `?timeout=5s` (see [`TikvOptions::from_url`]).
//! - **Transactions** are `tikv-client` optimistic transactions: [`Store::begin`] takes a start
//!   timestamp from PD (the snapshot), reads go to the stores at that timestamp, writes are
//!   buffered in the client, and [`Transaction::commit`] runs the two-phase commit (prewrite
//!   with conflict check, then commit). `tikv-client`'s buffer merges the transaction's own
//!   writes into gets and scans (read-your-writes). A scan is fetched in pages (the first of
//!   [`FIRST_SCAN_PAGE`] pairs, the next ones sized to about [`SCAN_PAGE_BYTES`]), so no
//!   response grows without bound, whatever the limit.
//! - **Locks.** [`Transaction::lock`] is `lock_keys`: the key is prewritten as a lock-only
//!   mutation, so it is part of the write set as the interface requires.
//! - **Rollback and drop** discard the buffer locally: before `commit` nothing of an
//!   optimistic transaction exists in the cluster, so no request is needed (transactions are
//!   created with `CheckLevel::None`, so `tikv-client` does not panic on the drop). A commit
//!   that fails with [`StoreError::Conflict`] is rolled back in the cluster before it returns,
//!   so locks its prewrite left in other batches do not block the retry.
//! - **Timeouts.** Every call that reaches the cluster (begin, reads, commit, and the lazy
//!   connection to PD) runs under one deadline of [`TikvOptions::timeout`]; past it the call
//!   fails with [`StoreError::Unavailable`] and nothing waits any longer. A commit that times
//!   out, or whose commit request got no answer, may or may not have been applied: it is
//!   reported as `Unavailable` with a message saying so.
//! - **Reconnection.** The client connects to PD on first use, not in [`TikvStore::new`], and
//!   `tikv-client` reconnects to PD and the stores by itself once they are back. When `begin`
//!   fails because PD is unreachable or too slow, the client is dropped and the next `begin`
//!   connects afresh, so a stuck connection never outlives an outage.
//! - **Values** are stored with a one-byte format tag ([`VALUE_TAG`]) in front. TiKV's protocol
//!   (and unistore in particular, which never sets `not_found`) cannot tell an empty value from
//!   an absent key; with the tag, a stored value is never empty, and an empty answer means
//!   absent.
//!
//! Errors are mapped as follows: write conflicts, keys still locked by another transaction
//! after the lock backoff, and transactions rolled back by someone else (`KeyError` with
//! `conflict`, `retryable`, `locked`, `txn_not_found` or `deadlock`) are
//! [`StoreError::Conflict`]; connection failures, gRPC status `Unavailable`, `DeadlineExceeded`,
//! `Cancelled`, `Aborted` or `Unknown`, region errors left after `tikv-client`'s retries, PD
//! errors, timeouts and commits of unknown outcome are [`StoreError::Unavailable`]; anything
//! else is [`StoreError::Other`]. Of several errors of one request, the most retryable counts.

use std::future::Future;
use std::ops::Bound;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use tikv_client::{
    BoundRange, CheckLevel, Config, Key, ProtoKeyError, TransactionClient, TransactionOptions,
};
use tokio::time::Instant;
use tonic::Code;

use crate::error::{finished, Result, StoreError};
use crate::kv::{KeyRange, KvPair, Store, Transaction};

/// URL scheme of a TiKV store.
pub const URL_SCHEME: &str = "tikv://";
/// Default bound on every call that reaches the cluster.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pairs asked for by the first request of a scan.
pub const FIRST_SCAN_PAGE: usize = 256;
/// Later requests of a scan ask for as many pairs as fit in about this many bytes at the
/// average size seen so far, between 16 and [`MAX_SCAN_PAGE`] pairs.
pub const SCAN_PAGE_BYTES: usize = 4 << 20;
/// Most pairs asked for by one request of a scan.
pub const MAX_SCAN_PAGE: usize = 4096;
/// First byte of every stored value (format version 0); see the module docs.
pub const VALUE_TAG: u8 = 0;
/// Largest gRPC response accepted from the cluster (`tikv-client`'s default is 4 MiB, too
/// small for a page of large values).
const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// Where the cluster is and how long to wait for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TikvOptions {
    /// PD endpoints, `host:port` each.
    pub pd_endpoints: Vec<String>,
    /// Bound on each call that reaches the cluster (also `tikv-client`'s per-request timeout).
    pub timeout: Duration,
}

impl TikvOptions {
    /// The given PD endpoints with the [`DEFAULT_TIMEOUT`].
    pub fn new(pd_endpoints: Vec<String>) -> TikvOptions {
        TikvOptions {
            pd_endpoints,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Parses `tikv://host:port[,host:port...][?timeout=DURATION]`, where `DURATION` is a
    /// number with the unit `ms` or `s` (`500ms`, `5s`; a bare number means seconds).
    pub fn from_url(url: &str) -> Result<TikvOptions> {
        let invalid = |why: &str| StoreError::Invalid(format!("store URL {url:?}: {why}"));
        let rest = url
            .strip_prefix(URL_SCHEME)
            .ok_or_else(|| invalid("does not start with tikv://"))?;
        let (hosts, query) = match rest.split_once('?') {
            Some((hosts, query)) => (hosts, Some(query)),
            None => (rest, None),
        };
        let mut options = TikvOptions::new(Vec::new());
        for endpoint in hosts.trim_end_matches('/').split(',') {
            let valid_port = endpoint
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !valid_port {
                return Err(invalid(&format!(
                    "PD endpoint {endpoint:?} is not host:port"
                )));
            }
            options.pd_endpoints.push(endpoint.to_string());
        }
        for parameter in query.into_iter().flat_map(|q| q.split('&')) {
            match parameter.split_once('=') {
                Some(("timeout", value)) => {
                    options.timeout = parse_duration(value)
                        .filter(|timeout| !timeout.is_zero())
                        .ok_or_else(|| invalid(&format!("timeout {value:?} is not a duration")))?;
                }
                _ => return Err(invalid(&format!("unknown parameter {parameter:?}"))),
            }
        }
        Ok(options)
    }
}

/// `500ms`, `5s` or `5` (seconds).
fn parse_duration(text: &str) -> Option<Duration> {
    if let Some(millis) = text.strip_suffix("ms") {
        return millis.parse().ok().map(Duration::from_millis);
    }
    let seconds: f64 = text.strip_suffix('s').unwrap_or(text).parse().ok()?;
    Duration::try_from_secs_f64(seconds).ok()
}

/// Where a [`TikvStore`] keeps its connected client.
type ClientSlot = RwLock<Option<Arc<TransactionClient>>>;

/// The TiKV-backed [`Store`]; see the module docs. Cheap to share; it connects on first use.
pub struct TikvStore {
    options: TikvOptions,
    /// The connected client, `None` before the first connection and after a PD failure or
    /// stale routing.
    client: Arc<ClientSlot>,
    /// Held while connecting, so concurrent callers wait for one connection attempt.
    connecting: tokio::sync::Mutex<()>,
}

impl TikvStore {
    /// A store on the cluster `options` names. Does no I/O: the first [`Store::begin`]
    /// connects.
    pub fn new(options: TikvOptions) -> TikvStore {
        TikvStore {
            options,
            client: Arc::new(RwLock::new(None)),
            connecting: tokio::sync::Mutex::new(()),
        }
    }

    /// A store on the cluster `options` names, connected now: fails with
    /// [`StoreError::Unavailable`] when PD cannot be reached within the timeout.
    pub async fn connect(options: TikvOptions) -> Result<TikvStore> {
        let store = TikvStore::new(options);
        let deadline = store.deadline();
        within(deadline, "connecting to PD", store.client()).await?;
        Ok(store)
    }

    /// Its options.
    pub fn options(&self) -> &TikvOptions {
        &self.options
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.options.timeout
    }

    fn current(&self) -> Option<Arc<TransactionClient>> {
        self.client
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The connected client, connecting first if needed.
    async fn client(&self) -> Result<Arc<TransactionClient>> {
        if let Some(client) = self.current() {
            return Ok(client);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(client) = self.current() {
            return Ok(client);
        }
        let config = Config::default()
            .with_timeout(self.options.timeout)
            .with_grpc_max_decoding_message_size(MAX_RESPONSE_BYTES);
        let client = TransactionClient::new_with_config(self.options.pd_endpoints.clone(), config)
            .await
            .map_err(|err| {
                StoreError::Unavailable(format!("connecting to PD: {}", describe(&err)))
            })?;
        let client = Arc::new(client);
        *self
            .client
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(client.clone());
        Ok(client)
    }

    /// Drops the client, so the next call connects afresh.
    fn disconnect(&self) {
        *self
            .client
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }
}

/// Options of every transaction: optimistic, and no panic when dropped unfinished.
fn transaction_options() -> TransactionOptions {
    TransactionOptions::new_optimistic().drop_check(CheckLevel::None)
}

#[async_trait]
impl Store for TikvStore {
    async fn begin(&self) -> Result<Box<dyn Transaction>> {
        let deadline = self.deadline();
        let begun = within(deadline, "begin", async {
            let client = self.client().await?;
            let txn = client
                .begin_with_options(transaction_options())
                .await
                .map_err(map_error)?;
            Ok((txn, client))
        })
        .await;
        match begun {
            Ok((txn, client)) => Ok(Box::new(TikvTransaction {
                txn: Some(txn),
                timeout: self.options.timeout,
                errors: ErrorMapper {
                    slot: self.client.clone(),
                    client,
                },
            })),
            Err(err) => {
                if matches!(err, StoreError::Unavailable(_)) {
                    self.disconnect();
                }
                Err(err)
            }
        }
    }
}

/// Runs `future` until `deadline`; past it, fails with [`StoreError::Unavailable`].
async fn within<T>(
    deadline: Instant,
    what: &str,
    future: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout_at(deadline, future)
        .await
        .unwrap_or_else(|_| Err(StoreError::Unavailable(format!("{what}: timed out"))))
}

/// One optimistic `tikv-client` transaction.
struct TikvTransaction {
    /// `None` once committed or rolled back.
    txn: Option<tikv_client::Transaction>,
    timeout: Duration,
    errors: ErrorMapper,
}

/// Maps the errors of one transaction, and drops the store's client when they show that its
/// picture of the cluster is stale (a region without a known leader after PD restarted, for
/// example): `tikv-client` may keep such a region in its cache, and the next transaction then
/// starts from a fresh client.
#[derive(Clone)]
struct ErrorMapper {
    slot: Arc<ClientSlot>,
    /// The client the transaction was begun with.
    client: Arc<TransactionClient>,
}

impl ErrorMapper {
    fn map(&self, err: tikv_client::Error) -> StoreError {
        if stale_routing(&err) {
            let mut slot = self
                .slot
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if slot
                .as_ref()
                .is_some_and(|current| Arc::ptr_eq(current, &self.client))
            {
                tracing::warn!(error = %describe(&err), "stale region routing: reconnecting to TiKV");
                *slot = None;
            }
        }
        map_error(err)
    }
}

/// Errors that mean the client's region cache no longer matches the cluster.
fn stale_routing(err: &tikv_client::Error) -> bool {
    use tikv_client::Error as E;
    match err {
        E::ExtractedErrors(errors) | E::MultipleKeyErrors(errors) => {
            errors.iter().any(stale_routing)
        }
        E::RegionError(_)
        | E::LeaderNotFound { .. }
        | E::RegionForKeyNotFound { .. }
        | E::RegionForRangeNotFound { .. }
        | E::RegionNotFoundInResponse { .. }
        | E::NoCurrentRegions
        | E::EntryNotFoundInRegionCache => true,
        _ => false,
    }
}

impl TikvTransaction {
    /// The live transaction and the deadline of the call about to run.
    fn live(&mut self) -> Result<(&mut tikv_client::Transaction, Instant)> {
        let deadline = Instant::now() + self.timeout;
        let txn = self.txn.as_mut().ok_or_else(finished)?;
        Ok((txn, deadline))
    }

    async fn scan_pages(
        &mut self,
        mut range: KeyRange,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<KvPair>> {
        let errors = self.errors.clone();
        let (txn, deadline) = self.live()?;
        let mut pairs = Vec::new();
        let (mut fetched_pairs, mut fetched_bytes) = (0usize, 0usize);
        // tikv-client's buffer would panic on an inverted range (BTreeMap::range).
        while pairs.len() < limit && !range.is_empty() {
            let page = match fetched_bytes.checked_div(fetched_pairs) {
                None => FIRST_SCAN_PAGE,
                Some(average) => (SCAN_PAGE_BYTES / average.max(1)).clamp(16, MAX_SCAN_PAGE),
            }
            .min(limit - pairs.len());
            let bounds = BoundRange::new(key_bound(&range.start), key_bound(&range.end));
            let fetched: Vec<tikv_client::KvPair> = within(deadline, "scan", async {
                let fetched = if reverse {
                    txn.scan_reverse(bounds, page as u32)
                        .await
                        .map(Vec::from_iter)
                } else {
                    txn.scan(bounds, page as u32).await.map(Vec::from_iter)
                };
                fetched.map_err(|err| errors.map(err))
            })
            .await?;
            let complete = fetched.len() < page;
            let last = fetched.last().map(|pair| Vec::from(pair.key().clone()));
            for pair in fetched {
                let (key, value): (Key, tikv_client::Value) = pair.into();
                let key = Vec::from(key);
                fetched_pairs += 1;
                fetched_bytes += key.len() + value.len();
                if let Some(value) = decode(value)? {
                    pairs.push((key, value));
                }
            }
            match last {
                Some(last) if !complete => {
                    if reverse {
                        range.end = Bound::Excluded(last);
                    } else {
                        range.start = Bound::Excluded(last);
                    }
                }
                _ => break,
            }
        }
        Ok(pairs)
    }
}

fn key_bound(bound: &Bound<Vec<u8>>) -> Bound<Key> {
    match bound {
        Bound::Included(key) => Bound::Included(Key::from(key.clone())),
        Bound::Excluded(key) => Bound::Excluded(Key::from(key.clone())),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The stored form of `value`: [`VALUE_TAG`] then the value.
fn encode(value: Vec<u8>) -> Vec<u8> {
    let mut stored = Vec::with_capacity(value.len() + 1);
    stored.push(VALUE_TAG);
    stored.extend_from_slice(&value);
    stored
}

/// The value of a stored form; `None` for an empty one (absent, see the module docs).
fn decode(mut stored: Vec<u8>) -> Result<Option<Vec<u8>>> {
    match stored.first() {
        None => Ok(None),
        Some(&VALUE_TAG) => {
            stored.remove(0);
            Ok(Some(stored))
        }
        Some(tag) => Err(StoreError::Corrupt(format!(
            "value with unknown format tag {tag:#04x}"
        ))),
    }
}

#[async_trait]
impl Transaction for TikvTransaction {
    async fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let errors = self.errors.clone();
        let (txn, deadline) = self.live()?;
        let stored = within(deadline, "get", async {
            txn.get(key.to_vec()).await.map_err(|err| errors.map(err))
        })
        .await?;
        Ok(match stored {
            Some(stored) => decode(stored)?,
            None => None,
        })
    }

    async fn batch_get(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        let errors = self.errors.clone();
        let (txn, deadline) = self.live()?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let unique: std::collections::BTreeSet<&Vec<u8>> = keys.iter().collect();
        let pairs: Vec<tikv_client::KvPair> = within(deadline, "batch_get", async {
            txn.batch_get(unique.into_iter().cloned())
                .await
                .map(Vec::from_iter)
                .map_err(|err| errors.map(err))
        })
        .await?;
        let mut found = std::collections::HashMap::with_capacity(pairs.len());
        for pair in pairs {
            let (key, value): (Key, tikv_client::Value) = pair.into();
            if let Some(value) = decode(value)? {
                found.insert(Vec::from(key), value);
            }
        }
        Ok(keys.iter().map(|key| found.get(key).cloned()).collect())
    }

    async fn scan(&mut self, range: KeyRange, limit: usize) -> Result<Vec<KvPair>> {
        self.scan_pages(range, limit, false).await
    }

    async fn scan_reverse(&mut self, range: KeyRange, limit: usize) -> Result<Vec<KvPair>> {
        self.scan_pages(range, limit, true).await
    }

    async fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        let errors = self.errors.clone();
        let (txn, _) = self.live()?;
        txn.put(key, encode(value))
            .await
            .map_err(|err| errors.map(err))
    }

    async fn delete(&mut self, key: Vec<u8>) -> Result<()> {
        let errors = self.errors.clone();
        let (txn, _) = self.live()?;
        txn.delete(key).await.map_err(|err| errors.map(err))
    }

    async fn lock(&mut self, key: Vec<u8>) -> Result<()> {
        let errors = self.errors.clone();
        let (txn, _) = self.live()?;
        txn.lock_keys([key]).await.map_err(|err| errors.map(err))
    }

    async fn commit(&mut self) -> Result<()> {
        let deadline = Instant::now() + self.timeout;
        let mut txn = self.txn.take().ok_or_else(finished)?;
        let outcome = tokio::time::timeout_at(deadline, txn.commit()).await;
        match outcome {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => {
                let err = self.errors.map(err);
                if err == StoreError::Conflict {
                    // Nothing was committed (a conflict comes before the commit point), so
                    // the rollback is safe; it clears locks other prewrite batches left.
                    let _ = tokio::time::timeout(self.timeout, txn.rollback()).await;
                }
                Err(err)
            }
            Err(_) => Err(StoreError::Unavailable(
                "commit: timed out; the transaction may or may not have been applied".into(),
            )),
        }
    }

    async fn rollback(&mut self) -> Result<()> {
        // Optimistic writes live only in the client until commit: dropping them is enough.
        match self.txn.take() {
            Some(_) => Ok(()),
            None => Err(finished()),
        }
    }
}

/// How a `tikv-client` error maps onto [`StoreError`], in increasing precedence (of several
/// errors from one request, the highest counts: any conflict means a retry may succeed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ErrorClass {
    Other,
    Unavailable,
    Conflict,
}

fn classify(err: &tikv_client::Error) -> ErrorClass {
    use tikv_client::Error as E;
    match err {
        E::KeyError(key_error) => classify_key_error(key_error),
        E::ExtractedErrors(errors) | E::MultipleKeyErrors(errors) => errors
            .iter()
            .map(classify)
            .max()
            .unwrap_or(ErrorClass::Other),
        E::PessimisticLockError { inner, .. } => classify(inner),
        // A live lock of another transaction outlasted the lock backoff.
        E::ResolveLockError(_) | E::TxnNotFound(_) => ErrorClass::Conflict,
        // The commit request got no answer: applied or not, nobody knows; never a conflict.
        E::UndeterminedError(_) => ErrorClass::Unavailable,
        E::GrpcAPI(status) => match status.code() {
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::Aborted
            | Code::Unknown => ErrorClass::Unavailable,
            _ => ErrorClass::Other,
        },
        E::Grpc(_)
        | E::Io(_)
        | E::Channel(_)
        | E::Canceled(_)
        | E::InternalError { .. }
        | E::RegionError(_)
        | E::LeaderNotFound { .. }
        | E::RegionForKeyNotFound { .. }
        | E::RegionForRangeNotFound { .. }
        | E::RegionNotFoundInResponse { .. }
        | E::NoCurrentRegions
        | E::EntryNotFoundInRegionCache => ErrorClass::Unavailable,
        _ => ErrorClass::Other,
    }
}

fn classify_key_error(key_error: &ProtoKeyError) -> ErrorClass {
    if key_error.conflict.is_some()
        || !key_error.retryable.is_empty()
        || key_error.locked.is_some()
        || key_error.txn_not_found.is_some()
        || key_error.deadlock.is_some()
    {
        ErrorClass::Conflict
    } else {
        ErrorClass::Other
    }
}

/// Maps a `tikv-client` error; see the module docs.
fn map_error(err: tikv_client::Error) -> StoreError {
    match classify(&err) {
        ErrorClass::Conflict => StoreError::Conflict,
        ErrorClass::Unavailable => StoreError::Unavailable(describe(&err)),
        ErrorClass::Other => StoreError::Other(describe(&err)),
    }
}

/// The error's message, without the source location `tikv-client` puts in front of its
/// internal errors (`[.../src/pd/cluster.rs:209]: PD cluster failed to respond`).
fn describe(err: &tikv_client::Error) -> String {
    let text = err.to_string();
    match text.find("]: ") {
        Some(end) if text.starts_with('[') => text[end + 3..].to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let options = TikvOptions::from_url("tikv://127.0.0.1:2379").unwrap();
        assert_eq!(options.pd_endpoints, ["127.0.0.1:2379"]);
        assert_eq!(options.timeout, DEFAULT_TIMEOUT);
        let options = TikvOptions::from_url("tikv://pd-0:2379,pd-1:2379/?timeout=750ms").unwrap();
        assert_eq!(options.pd_endpoints, ["pd-0:2379", "pd-1:2379"]);
        assert_eq!(options.timeout, Duration::from_millis(750));
        for (url, timeout) in [
            ("tikv://h:1?timeout=3s", 3.0),
            ("tikv://h:1?timeout=2.5", 2.5),
        ] {
            let options = TikvOptions::from_url(url).unwrap();
            assert_eq!(options.timeout, Duration::from_secs_f64(timeout));
        }
        for bad in [
            "http://h:1",
            "tikv://",
            "tikv://h",
            "tikv://h:x",
            "tikv://:1",
            "tikv://h:1,",
            "tikv://h:1?timeout=0s",
            "tikv://h:1?timeout=soon",
            "tikv://h:1?retries=3",
        ] {
            assert!(
                matches!(TikvOptions::from_url(bad), Err(StoreError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn values_are_tagged() {
        assert_eq!(encode(Vec::new()), [VALUE_TAG]);
        assert_eq!(decode(encode(b"v".to_vec())).unwrap(), Some(b"v".to_vec()));
        assert_eq!(decode(encode(Vec::new())).unwrap(), Some(Vec::new()));
        assert_eq!(decode(Vec::new()).unwrap(), None);
        assert!(matches!(decode(vec![7, 1]), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn errors_map_onto_store_errors() {
        let conflict = ProtoKeyError {
            conflict: Some(Default::default()),
            ..Default::default()
        };
        let retryable = ProtoKeyError {
            retryable: "lock not found".into(),
            ..Default::default()
        };
        let abort = ProtoKeyError {
            abort: "assertion".into(),
            ..Default::default()
        };
        let key_error = |e: &ProtoKeyError| tikv_client::Error::KeyError(Box::new(e.clone()));
        assert_eq!(map_error(key_error(&conflict)), StoreError::Conflict);
        assert_eq!(map_error(key_error(&retryable)), StoreError::Conflict);
        assert!(matches!(map_error(key_error(&abort)), StoreError::Other(_)));
        let nested = tikv_client::Error::ExtractedErrors(vec![
            tikv_client::Error::MultipleKeyErrors(vec![key_error(&abort), key_error(&conflict)]),
        ]);
        assert_eq!(map_error(nested), StoreError::Conflict);
        let undetermined = tikv_client::Error::UndeterminedError(Box::new(key_error(&conflict)));
        assert!(matches!(
            map_error(undetermined),
            StoreError::Unavailable(_)
        ));
        let unavailable = tikv_client::Error::GrpcAPI(tonic::Status::unavailable("down"));
        assert!(matches!(map_error(unavailable), StoreError::Unavailable(_)));
        let invalid = tikv_client::Error::GrpcAPI(tonic::Status::invalid_argument("bad"));
        assert!(matches!(map_error(invalid), StoreError::Other(_)));
        let internal = tikv_client::Error::InternalError {
            message: "[src/pd/cluster.rs:209]: PD cluster failed to respond".into(),
        };
        assert_eq!(
            map_error(internal),
            StoreError::Unavailable("PD cluster failed to respond".into())
        );
    }
}
