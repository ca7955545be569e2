//! The transactional key-value interface every backend implements (embedded redb, TiKV),
//! shaped after TiKV's optimistic transactions.
//!
//! Semantics, for every backend:
//! - [`Store::begin`] takes a snapshot. Reads see that snapshot plus the transaction's own
//!   uncommitted writes (read-your-writes, in scans too).
//! - [`Transaction::commit`] is optimistic: it fails with [`StoreError::Conflict`](crate::StoreError::Conflict) when any key
//!   of the write set (puts, deletes, [`Transaction::lock`]ed keys, keys removed by
//!   [`Transaction::delete_range`]) was committed by another transaction after this snapshot.
//!   Of two concurrent transactions writing the same key, exactly one commits.
//! - Reads alone never conflict (snapshot isolation, not serializability): to guard a value you
//!   only read, `lock` its key.
//! - A transaction that wrote nothing commits trivially. Dropping a transaction rolls it back.
//! - Once `commit` or `rollback` has been called (whatever the outcome), the transaction is
//!   finished and every further call fails with [`StoreError::Other`](crate::StoreError::Other).

use std::ops::Bound;

use async_trait::async_trait;

use crate::error::Result;

/// A key and its value.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// A range of keys, compared bytewise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// Lower bound.
    pub start: Bound<Vec<u8>>,
    /// Upper bound.
    pub end: Bound<Vec<u8>>,
}

impl KeyRange {
    /// The range with the given bounds.
    pub fn new(start: Bound<Vec<u8>>, end: Bound<Vec<u8>>) -> KeyRange {
        KeyRange { start, end }
    }

    /// Every key.
    pub fn all() -> KeyRange {
        KeyRange::new(Bound::Unbounded, Bound::Unbounded)
    }

    /// Every key that starts with `prefix`.
    pub fn prefix(prefix: &[u8]) -> KeyRange {
        KeyRange::new(
            Bound::Included(prefix.to_vec()),
            match prefix_successor(prefix) {
                Some(end) => Bound::Excluded(end),
                None => Bound::Unbounded,
            },
        )
    }

    /// Keys that start with `prefix` and sort after `after` (for paging).
    pub fn prefix_after(prefix: &[u8], after: &[u8]) -> KeyRange {
        KeyRange {
            start: Bound::Excluded(after.to_vec()),
            ..KeyRange::prefix(prefix)
        }
    }

    /// Whether `key` lies in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        let above = match &self.start {
            Bound::Included(s) => key >= s.as_slice(),
            Bound::Excluded(s) => key > s.as_slice(),
            Bound::Unbounded => true,
        };
        let below = match &self.end {
            Bound::Included(e) => key <= e.as_slice(),
            Bound::Excluded(e) => key < e.as_slice(),
            Bound::Unbounded => true,
        };
        above && below
    }

    /// True when no key can lie in the range (start after end, or an empty excluded range).
    pub fn is_empty(&self) -> bool {
        match (&self.start, &self.end) {
            (Bound::Included(s), Bound::Included(e)) => s > e,
            (Bound::Included(s), Bound::Excluded(e))
            | (Bound::Excluded(s), Bound::Included(e))
            | (Bound::Excluded(s), Bound::Excluded(e)) => s >= e,
            _ => false,
        }
    }

    /// The bounds borrowed, as `RangeBounds<[u8]>` wants them.
    pub fn as_slices(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (as_slice(&self.start), as_slice(&self.end))
    }
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The smallest key greater than every key starting with `prefix`; `None` when there is none
/// (the prefix is empty or all `0xff`).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A transactional key-value store. Cheap to share as `Arc<dyn Store>`.
#[async_trait]
pub trait Store: Send + Sync {
    /// Starts a transaction on a snapshot of the store as of now.
    async fn begin(&self) -> Result<Box<dyn Transaction>>;
}

/// One optimistic transaction; see the module docs for the semantics.
#[async_trait]
pub trait Transaction: Send {
    /// The value of `key`.
    async fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// The values of `keys`, in the same order.
    async fn batch_get(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>>;

    /// Up to `limit` pairs of `range`, in ascending key order.
    async fn scan(&mut self, range: KeyRange, limit: usize) -> Result<Vec<KvPair>>;

    /// Up to `limit` pairs of `range`, in descending key order.
    async fn scan_reverse(&mut self, range: KeyRange, limit: usize) -> Result<Vec<KvPair>>;

    /// Sets `key` to `value`.
    async fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()>;

    /// Removes `key` (no error when absent).
    async fn delete(&mut self, key: Vec<u8>) -> Result<()>;

    /// Adds `key` to the write set without writing it, like TiKV's `lock_keys`: the commit
    /// fails if another transaction committed `key` after this snapshot, and a concurrent
    /// transaction writing `key` conflicts with this one.
    async fn lock(&mut self, key: Vec<u8>) -> Result<()>;

    /// Removes every key in `range` (as seen by this transaction) and returns how many. The
    /// default scans and deletes in chunks, so the removed keys join the write set; keys that
    /// others insert into the range concurrently are not seen (no phantom protection).
    async fn delete_range(&mut self, range: KeyRange) -> Result<usize> {
        const CHUNK: usize = 1024;
        let mut range = range;
        let mut removed = 0;
        loop {
            let pairs = self.scan(range.clone(), CHUNK).await?;
            let done = pairs.len() < CHUNK;
            let last = pairs.last().map(|(key, _)| key.clone());
            for (key, _) in pairs {
                self.delete(key).await?;
                removed += 1;
            }
            match last {
                Some(last) if !done => range.start = Bound::Excluded(last),
                _ => return Ok(removed),
            }
        }
    }

    /// Makes the writes durable and visible, or fails with [`crate::StoreError::Conflict`].
    async fn commit(&mut self) -> Result<()>;

    /// Discards the writes.
    async fn rollback(&mut self) -> Result<()>;
}
