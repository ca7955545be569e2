//! Storage of kube-acs.
//!
//! - [`kv`]: the transactional key-value interface ([`Store`], [`Transaction`]) every backend
//!   implements, with snapshot isolation and optimistic commits.
//! - [`transact`]: runs a closure in a transaction, retrying on conflicts.
//! - [`embedded`]: the single-node backend on a redb file, with group commit.
//! - [`tikv`]: the backend on a TiKV cluster, through `tikv-client`'s optimistic transactions.
//! - [`open`]: opening the store a URL names (`embedded:` or `tikv://pd:2379,...`), as the
//!   binaries' `--store` flag does.
//! - [`keyspace`]: how records map to keys (the layout is documented there).
//! - [`records`]: typed access to devices, parameters, tasks and faults; with [`parameters`]
//!   the only place that encodes them.
//! - [`parameters`]: a device's parameter tree, stored one record per object.
//! - [`ids`]: time-ordered ids for tasks and faults.
//! - [`conformance`]: the behaviour every backend must show, as reusable async checks.

pub mod conformance;
pub mod embedded;
pub mod error;
pub mod ids;
pub mod keyspace;
pub mod kv;
mod object_codec;
pub mod open;
pub mod parameters;
pub mod records;
mod retry;
pub mod tikv;

pub use embedded::{CommitStats, EmbeddedOptions, EmbeddedStore};
pub use error::{Result, StoreError};
pub use kv::{KeyRange, KvPair, Store, Transaction};
pub use open::{open_store, StoreUrl};
pub use retry::{transact, BoxFuture, MAX_ATTEMPTS};
pub use tikv::{TikvOptions, TikvStore};
