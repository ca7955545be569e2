//! CWMP (TR-069) protocol core: typed messages, the envelope codec and the session state machine.
//!
//! Everything here is pure: no I/O, no clock, no randomness. The HTTP server and the CPE
//! simulator both build on it.

pub mod decode;
pub mod encode;
pub mod event;
pub mod fault;
pub mod namespace;
pub mod secrets;
pub mod session;
pub mod types;
mod xml;

pub use decode::{decode, DecodeError};
pub use encode::encode;
pub use event::EventCode;
pub use fault::{fault_meaning, CwmpFault, SetParameterValuesFault};
pub use types::*;
