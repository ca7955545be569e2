//! kube-acs' end-to-end test harness.
//!
//! For now it holds [`tikv::TikvCluster`]: a real TiKV-protocol cluster (a PD
//! and TiDB's unistore as the store) started as local processes, for the TiKV
//! backend's tests. The Kubernetes part (kube-apiserver, etcd, the operator
//! and edges driven by the CPE simulator) comes later.

pub mod tikv;

pub use tikv::TikvCluster;
