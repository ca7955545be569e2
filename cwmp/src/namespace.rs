//! XML namespaces of SOAP and CWMP, and the mapping between CWMP versions and their URNs.

use crate::types::CwmpVersion;

/// SOAP 1.1 envelope namespace.
pub const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.1 encoding namespace.
pub const SOAP_ENC: &str = "http://schemas.xmlsoap.org/soap/encoding/";
/// XML Schema namespace.
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema";
/// XML Schema instance namespace.
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

impl CwmpVersion {
    /// Every version, oldest first.
    pub const ALL: [CwmpVersion; 5] = [
        CwmpVersion::V1_0,
        CwmpVersion::V1_1,
        CwmpVersion::V1_2,
        CwmpVersion::V1_3,
        CwmpVersion::V1_4,
    ];

    /// The `urn:dslforum-org:cwmp-1-N` namespace of this version.
    pub fn namespace(self) -> &'static str {
        match self {
            CwmpVersion::V1_0 => "urn:dslforum-org:cwmp-1-0",
            CwmpVersion::V1_1 => "urn:dslforum-org:cwmp-1-1",
            CwmpVersion::V1_2 => "urn:dslforum-org:cwmp-1-2",
            CwmpVersion::V1_3 => "urn:dslforum-org:cwmp-1-3",
            CwmpVersion::V1_4 => "urn:dslforum-org:cwmp-1-4",
        }
    }

    /// The version of a cwmp namespace URN (case and surrounding white space ignored).
    pub fn from_namespace(urn: &str) -> Option<CwmpVersion> {
        let urn = urn.trim();
        CwmpVersion::ALL
            .into_iter()
            .find(|v| v.namespace().eq_ignore_ascii_case(urn))
    }

    /// The version as written in `SupportedCWMPVersions`, such as `1.2`.
    pub fn as_str(self) -> &'static str {
        match self {
            CwmpVersion::V1_0 => "1.0",
            CwmpVersion::V1_1 => "1.1",
            CwmpVersion::V1_2 => "1.2",
            CwmpVersion::V1_3 => "1.3",
            CwmpVersion::V1_4 => "1.4",
        }
    }

    /// Parses `1.2` style version text.
    pub fn parse(text: &str) -> Option<CwmpVersion> {
        let text = text.trim();
        CwmpVersion::ALL.into_iter().find(|v| v.as_str() == text)
    }

    /// The highest version in a `SupportedCWMPVersions` list such as `1.0,1.1,1.2`.
    pub fn highest_supported(list: &str) -> Option<CwmpVersion> {
        list.split(',').filter_map(CwmpVersion::parse).max()
    }
}
