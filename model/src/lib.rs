//! Plain data records of kube-acs: what the ACS knows about a device, its parameters, the tasks
//! queued for it and the faults it reported. No I/O; the `acs-store` crate encodes them.

pub mod device;
pub mod mass;
pub mod parameter;
pub mod provision;
pub mod rollout;
pub mod task;
pub mod tree;

pub use device::{ConnectionRequestInfo, CwmpCredentials, DeviceId, DeviceRecord, SessionLease};
pub use mass::{DeviceTaskEntry, DeviceTaskRun};
pub use parameter::ParameterRecord;
pub use provision::{PendingInstance, ProvisionRecord};
pub use rollout::{DevicePhase, RolloutDevice, RolloutRun};
pub use task::{FaultRecord, TaskRecord, TaskSpec, TaskStatus, TransferRecord};
pub use tree::{ObjectRecords, ParameterTree, Parameters, TreePath};

/// Milliseconds since the Unix epoch; the clock is always passed in, never read here.
pub type Millis = u64;
