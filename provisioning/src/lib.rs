//! Pure provisioning logic over plain data: no I/O, no clock (times are passed in).
//!
//! - [`inform`]: what an Inform tells the ACS and which waiting tasks it completes.
//! - [`task_plan`]: which RPC a task sends next, and what each response changes.
//! - [`schedule`]: when a scheduled mass operation runs.
//! - [`retry`]: how a faulted task is retried with backoff up to a limit.
//! - [`tree`]: the updates to a device's stored parameter tree that the above produce.
//! - [`membership`]: which devices belong to which groups.
//! - [`desired`]: a device's desired state from its groups' profiles and its own overrides.
//! - [`plan`]: the next RPC that brings a device closer to its desired state.
//! - [`resources`]: the devices, groups, profiles and tasks in force.
//! - [`rollout`]: staged firmware rollouts: waves, and what each tick of one does.

pub mod desired;
pub mod inform;
pub mod membership;
pub mod plan;
pub mod resources;
pub mod retry;
pub mod rollout;
pub mod schedule;
pub mod task_plan;
pub mod tree;

pub use tree::TreeUpdate;
