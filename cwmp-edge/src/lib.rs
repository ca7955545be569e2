//! cwmp-edge
