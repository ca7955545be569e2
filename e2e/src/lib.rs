//! kube-acs' end-to-end test harness: real components started as local processes.
//!
//! - [`kube::KubeCluster`]: etcd and kube-apiserver, with kubectl and helm, for the operator
//!   and the edges in cluster mode;
//! - [`tikv::TikvCluster`]: a TiKV-protocol cluster (a PD and TiDB's unistore as the store)
//!   for the TiKV backend.

pub mod kube;
pub mod process;
pub mod tikv;

pub use kube::{KubeCluster, User};
pub use tikv::TikvCluster;
