//! cwmp-edge: the HTTP side of the ACS.
//!
//! * [`http_auth`] and [`digest_auth`]: HTTP Basic and Digest authentication,
//!   client and server side.
//! * [`connection_request`]: the ACS's TR-069 connection-request client.
//! * [`tls`]: rustls server configuration for the CWMP endpoint.

pub mod connection_request;
pub mod digest_auth;
pub mod http_auth;
pub mod tls;

pub mod config;
pub mod cwmp_server;
pub mod device_session;
pub mod edge;
pub mod metrics;
pub mod nbi;
pub mod sessions;
