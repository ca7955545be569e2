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

/// Known XML schema types and their local names, as written after the `xsd:` prefix.
const XSD_TYPES: [(XsdType, &str); 9] = [
    (XsdType::String, "string"),
    (XsdType::Int, "int"),
    (XsdType::UnsignedInt, "unsignedInt"),
    (XsdType::Long, "long"),
    (XsdType::UnsignedLong, "unsignedLong"),
    (XsdType::Boolean, "boolean"),
    (XsdType::DateTime, "dateTime"),
    (XsdType::Base64, "base64Binary"),
    (XsdType::HexBinary, "hexBinary"),
];

impl XsdType {
    /// Parses an `xsi:type` attribute value such as `xsd:unsignedInt`, `xs:string` or `string`.
    ///
    /// Any prefix is ignored and the known names match regardless of ASCII case (`base64` is
    /// accepted for `base64Binary`). An empty value means `String`; anything else becomes
    /// [`XsdType::Other`] holding the name without its prefix.
    pub fn from_xsi_type(text: &str) -> XsdType {
        let local = match text.rfind(':') {
            Some(i) => &text[i + 1..],
            None => text,
        }
        .trim();
        if local.is_empty() {
            return XsdType::String;
        }
        if let Some((t, _)) = XSD_TYPES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(local))
        {
            return t.clone();
        }
        if local.eq_ignore_ascii_case("base64") {
            return XsdType::Base64;
        }
        XsdType::Other(local.to_string())
    }

    /// The type name without prefix: `unsignedInt`, or the vendor name of [`XsdType::Other`].
    pub fn local_name(&self) -> &str {
        match self {
            XsdType::String => "string",
            XsdType::Int => "int",
            XsdType::UnsignedInt => "unsignedInt",
            XsdType::Long => "long",
            XsdType::UnsignedLong => "unsignedLong",
            XsdType::Boolean => "boolean",
            XsdType::DateTime => "dateTime",
            XsdType::Base64 => "base64Binary",
            XsdType::HexBinary => "hexBinary",
            XsdType::Other(name) => name,
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
    fn xsi_types_parse_with_any_prefix_and_case() {
        for (t, name) in XSD_TYPES.iter() {
            assert_eq!(XsdType::from_xsi_type(&format!("xsd:{name}")), *t);
            assert_eq!(XsdType::from_xsi_type(&name.to_uppercase()), *t);
            assert_eq!(t.local_name(), *name);
        }
        assert_eq!(XsdType::from_xsi_type("xs:string"), XsdType::String);
        assert_eq!(XsdType::from_xsi_type(""), XsdType::String);
        assert_eq!(XsdType::from_xsi_type("SOAP-ENC:base64"), XsdType::Base64);
        assert_eq!(
            XsdType::from_xsi_type("cwmp:IPAddress"),
            XsdType::Other("IPAddress".into())
        );
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
