//! Session state machine.
