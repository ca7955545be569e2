//! Running a closure in a transaction, retried on write conflicts.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::error::{Result, StoreError};
use crate::kv::{Store, Transaction};

/// A boxed, sendable future, as [`transact`] closures return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How many times [`transact`] runs the closure before giving up with the conflict.
pub const MAX_ATTEMPTS: u32 = 40;
/// First backoff ceiling; doubled after each conflict up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(1);
/// Largest backoff ceiling between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_millis(100);

/// Runs `f` in a fresh transaction and commits it; on [`StoreError::Conflict`] (from `f` or
/// from the commit) starts over after a short random backoff, at most [`MAX_ATTEMPTS`] times.
/// Any other error rolls back and is returned at once.
///
/// The closure may run several times, so it must not have effects outside the transaction
/// that matter when repeated. It receives the transaction and returns a boxed future; it may
/// borrow from the caller's scope (shared borrows only, because it can run again):
///
/// ```no_run
/// # use acs_store::{transact, Store, StoreError};
/// # async fn example(store: &dyn Store) -> Result<(), StoreError> {
/// let key: &[u8] = b"counter";
/// let new_value = transact(store, |txn| {
///     Box::pin(async move {
///         let old = match txn.get(key).await? {
///             Some(bytes) => String::from_utf8_lossy(&bytes).parse::<u64>().unwrap_or(0),
///             None => 0,
///         };
///         txn.put(key.to_vec(), (old + 1).to_string().into_bytes()).await?;
///         Ok(old + 1)
///     })
/// })
/// .await?;
/// # let _ = new_value;
/// # Ok(())
/// # }
/// ```
pub async fn transact<'a, T, F>(store: &dyn Store, mut f: F) -> Result<T>
where
    F: for<'t> FnMut(&'t mut (dyn Transaction + 'a)) -> BoxFuture<'t, Result<T>>,
{
    // The `+ 'a` on the argument is what lets the returned future borrow from the caller: it
    // implies `'a: 't`, so a future holding `&'a` data lives long enough for every `'t`.
    let mut ceiling = BASE_BACKOFF;
    let mut attempt = 1;
    loop {
        let mut txn = store.begin().await?;
        let outcome = match f(&mut *txn).await {
            Ok(value) => txn.commit().await.map(|()| value),
            Err(err) => {
                // Best effort: the error that made us stop matters more than a rollback error.
                let _ = txn.rollback().await;
                Err(err)
            }
        };
        match outcome {
            Err(StoreError::Conflict) if attempt < MAX_ATTEMPTS => {
                drop(txn);
                tokio::time::sleep(jitter(ceiling)).await;
                ceiling = (ceiling * 2).min(MAX_BACKOFF);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A random duration in `[0, ceiling]`.
fn jitter(ceiling: Duration) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let random = RandomState::new().hash_one(std::time::Instant::now());
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(random % nanos.saturating_add(1))
}
