//! cpe-sim: thousands of simulated TR-069 CPEs in one process, and the load benchmark of the
//! kube-acs ACS.
//!
//! The pure core (no I/O, the time passed in): [`model`] (the shared template tree),
//! [`template`] (placeholders and per-device identity), [`device`] (one device's differences
//! from the template), [`rpc`] (answers to ACS requests), [`inform`] (events and the session
//! lifecycle), [`transfer`] (Download/Upload state), [`events`], [`misbehave`].
//!
//! The I/O edges: [`http`] and [`fetch`] (HTTP client side), [`session`] (one CWMP session),
//! [`fleet`] (many devices and their schedules), [`cr_listener`] (connection requests),
//! [`acs`] (the kube-acs process and its API), [`procstat`] and [`bench`].

pub mod acs;
pub mod bench;
pub mod cr_listener;
pub mod device;
pub mod events;
pub mod fetch;
pub mod fleet;
pub mod http;
pub mod inform;
pub mod misbehave;
pub mod model;
pub mod procstat;
pub mod rpc;
pub mod session;
pub mod template;
pub mod transfer;

#[cfg(test)]
mod tests;
