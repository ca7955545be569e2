//! cwmp-edge: the HTTP side of the ACS.
//!
//! * [`cwmp_server`]: the CWMP endpoint over hyper (sessions, limits, authentication, TLS).
//! * [`device_session`]: one device's session joined to the store.
//! * [`sessions`]: the registry of open sessions.
//! * [`edge`]: shared state and the operations the CWMP side and the API both use.
//! * [`nbi`]: the northbound REST API ([`files_api`]: its file uploads).
//! * [`connection_request`]: the TR-069 connection-request client.
//! * [`tls`]: rustls server configuration.
//! * [`metrics`] and [`config`].

pub mod api_access;
pub mod config;
pub mod connection_request;
pub mod cwmp_server;
pub mod device_session;
pub mod device_tasks;
pub mod edge;
pub mod file_server;
pub mod files_api;
pub mod firmware_rollouts;
pub mod log_fold;
pub mod mass_operations;

pub mod metrics;
pub mod nbi;
pub mod provision_run;
pub mod resource_status;
pub mod sessions;
pub mod tls;
