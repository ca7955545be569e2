//! The one error type of the storage layer.

/// What can go wrong in the store. Backends map their own errors onto these variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Another transaction committed a key of this transaction's write set after this
    /// transaction's snapshot was taken. Retry the whole transaction (see [`crate::transact`]).
    #[error("write conflict: another transaction committed one of the same keys first")]
    Conflict,
    /// The backend cannot be reached or timed out; maps to HTTP 503.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be decoded, or the backend reports corruption.
    #[error("corrupt data in store: {0}")]
    Corrupt(String),
    /// A caller-supplied key part is not acceptable (empty id, a `/` in an id, a parameter that
    /// is not indexed); maps to HTTP 400.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// Anything else, such as using a transaction after it finished.
    #[error("store error: {0}")]
    Other(String),
}

impl StoreError {
    /// True when running the whole transaction again may succeed (only [`StoreError::Conflict`]).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Conflict)
    }
}

/// The error of every call on a transaction after its `commit` or `rollback`.
pub(crate) fn finished() -> StoreError {
    StoreError::Other("transaction already finished".into())
}

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
