//! XML namespaces of SOAP and CWMP, and the mapping between CWMP versions and their URNs.

use crate::types::{CwmpVersion, XsdType};

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

/// Known XML schema types and their local names, as written after the `xsd:` prefix (the same
/// names as [`XsdType::prefixed_name`]).
const XSD_TYPES: [(XsdType, &str); 9] = [
    (XsdType::String, "string"),
    (XsdType::Int, "int"),
    (XsdType::UnsignedInt, "unsignedInt"),
    (XsdType::Long, "long"),
    (XsdType::UnsignedLong, "unsignedLong"),
    (XsdType::Boolean, "boolean"),
    (XsdType::DateTime, "dateTime"),
    (XsdType::Base64, "base64"),
    (XsdType::HexBinary, "hexBinary"),
];

impl XsdType {
    /// The known type whose local name is exactly `local`: the decoder's fast path before
    /// [`XsdType::from_name`].
    pub(crate) fn from_exact_local_name(local: &[u8]) -> Option<XsdType> {
        XSD_TYPES
            .iter()
            .find(|(_, n)| n.as_bytes() == local)
            .map(|(t, _)| t.clone())
    }

    /// The type name without prefix: `unsignedInt`, or the vendor name of [`XsdType::Other`].
    pub fn local_name(&self) -> &str {
        match self {
            XsdType::Other(name) => name,
            known => XSD_TYPES
                .iter()
                .find(|(t, _)| t == known)
                .map_or("string", |(_, n)| n),
        }
    }
}

impl serde::Serialize for CwmpVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CwmpVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CwmpVersion::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown CWMP version {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xsd_type_names_agree() {
        for (t, name) in XSD_TYPES.iter() {
            assert_eq!(t.local_name(), *name);
            assert_eq!(t.prefixed_name(), format!("xsd:{name}"));
            assert_eq!(
                XsdType::from_exact_local_name(name.as_bytes()),
                Some(t.clone())
            );
            assert_eq!(XsdType::from_name(&t.prefixed_name()), *t);
            assert_eq!(XsdType::from_name(&name.to_uppercase()), *t);
        }
        assert_eq!(XsdType::from_name("xsd:base64Binary"), XsdType::Base64);
        let vendor = XsdType::Other("IPAddress".into());
        assert_eq!(vendor.local_name(), "IPAddress");
        assert_eq!(XsdType::from_name("cwmp:IPAddress"), vendor);
    }

    #[test]
    fn versions_map_to_namespaces() {
        for v in CwmpVersion::ALL {
            assert_eq!(CwmpVersion::from_namespace(v.namespace()), Some(v));
            assert_eq!(CwmpVersion::parse(v.as_str()), Some(v));
        }
        assert_eq!(
            CwmpVersion::highest_supported("1.0,1.1, 1.2"),
            Some(CwmpVersion::V1_2)
        );
    }
}
