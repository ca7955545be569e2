//! Streaming envelope decoder on quick-xml (placeholder API; the codec lands next).

use crate::fault::CwmpFault;
use crate::types::{CwmpVersion, Envelope};

/// Why an envelope could not be decoded, with what is needed to answer with a fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// Not well-formed XML, truncated, or not a SOAP envelope.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// A well-formed envelope whose body element is no CWMP method.
    #[error("unknown method {method}")]
    UnknownMethod {
        /// The element name in the body.
        method: String,
        /// `cwmp:ID` of the envelope, if it had one.
        id: Option<String>,
        /// The CWMP version of the envelope.
        version: CwmpVersion,
    },
    /// A known method with missing or invalid arguments.
    #[error("invalid arguments to {method}: {message}")]
    InvalidArguments {
        /// The method.
        method: String,
        /// What was wrong.
        message: String,
        /// `cwmp:ID` of the envelope, if it had one.
        id: Option<String>,
        /// The CWMP version of the envelope.
        version: CwmpVersion,
    },
}

impl DecodeError {
    /// The `cwmp:ID` to echo in the fault response, when the envelope got that far.
    pub fn id(&self) -> Option<&str> {
        match self {
            DecodeError::Malformed(_) => None,
            DecodeError::UnknownMethod { id, .. } | DecodeError::InvalidArguments { id, .. } => {
                id.as_deref()
            }
        }
    }

    /// The CWMP version to answer in.
    pub fn version(&self) -> CwmpVersion {
        match self {
            DecodeError::Malformed(_) => CwmpVersion::default(),
            DecodeError::UnknownMethod { version, .. }
            | DecodeError::InvalidArguments { version, .. } => *version,
        }
    }

    /// The ACS fault to answer with: 8000 for an unknown method, 8003 otherwise.
    pub fn acs_fault(&self) -> CwmpFault {
        match self {
            DecodeError::UnknownMethod { .. } => CwmpFault::new(8000),
            _ => CwmpFault::with_text(8003, self.to_string()),
        }
    }
}

/// Decodes one SOAP envelope.
pub fn decode(_xml: &[u8]) -> Result<Envelope, DecodeError> {
    Err(DecodeError::Malformed("codec not built yet".into()))
}
