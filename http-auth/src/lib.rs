//! HTTP Basic and Digest authentication (RFC 7617, RFC 7616 with MD5 and `qop=auth`), both
//! sides: [`server::HttpAuthenticator`] challenges and verifies, [`headers`] parses headers and
//! answers challenges as a client. Used by the ACS (CPE authentication, connection requests)
//! and by the CPE simulator (its connection-request endpoint).

pub mod headers;
pub mod server;
