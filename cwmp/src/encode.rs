//! Envelope writer (placeholder API; the codec lands next).

use crate::types::Envelope;

/// Writes an envelope as XML in its own CWMP version.
pub fn encode(envelope: &Envelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    encode_into(envelope, &mut out);
    out
}

/// Appends an envelope as XML to `out`.
pub fn encode_into(_envelope: &Envelope, _out: &mut Vec<u8>) {}
