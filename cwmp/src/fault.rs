//! CWMP fault codes (8000-8019 from the ACS, 9000-9032 from the CPE) and the `cwmp:Fault` detail.

use serde::{Deserialize, Serialize};

/// The `cwmp:Fault` detail of a SOAP fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CwmpFault {
    /// The fault code, such as 9005.
    pub code: u32,
    /// Human readable text.
    pub string: String,
    /// Per-parameter faults of a failed SetParameterValues (fault 9003 and the like).
    pub set_parameter_values_faults: Vec<SetParameterValuesFault>,
}

/// One `SetParameterValuesFault` entry: which parameter failed and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetParameterValuesFault {
    /// The parameter.
    pub parameter_name: String,
    /// Its fault code, such as 9007.
    pub code: u32,
    /// Human readable text.
    pub string: String,
}

impl CwmpFault {
    /// A fault with the standard text for `code`.
    pub fn new(code: u32) -> CwmpFault {
        CwmpFault {
            code,
            string: fault_meaning(code).unwrap_or("Unknown fault").to_string(),
            set_parameter_values_faults: Vec::new(),
        }
    }

    /// A fault with its own text.
    pub fn with_text(code: u32, text: impl Into<String>) -> CwmpFault {
        CwmpFault {
            code,
            string: text.into(),
            set_parameter_values_faults: Vec::new(),
        }
    }

    /// Whether sending the same request again can never succeed: the device said a name is
    /// invalid (9005), a type or value is invalid (9006, 9007) or a parameter is not writable
    /// (9008), as the fault itself or for one of the parameters of a SetParameterValues.
    pub fn is_permanent(&self) -> bool {
        is_permanent_code(self.code)
            || self
                .set_parameter_values_faults
                .iter()
                .any(|entry| is_permanent_code(entry.code))
    }

    /// The fault in words, with each parameter a SetParameterValues failed on and why:
    /// `9003 Invalid arguments: Device.DeviceInfo.UpTime: 9008 Attempt to set a non-writable
    /// parameter`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} {}", self.code, text_or_meaning(&self.string, self.code));
        for (n, entry) in self.set_parameter_values_faults.iter().enumerate() {
            text.push_str(if n == 0 { ": " } else { "; " });
            text.push_str(&format!(
                "{}: {} {}",
                entry.parameter_name,
                entry.code,
                text_or_meaning(&entry.string, entry.code)
            ));
        }
        text
    }

    /// The parameters a SetParameterValues failed on, comma separated (empty when the fault
    /// names none).
    pub fn failed_parameters(&self) -> String {
        let names: Vec<&str> = self
            .set_parameter_values_faults
            .iter()
            .map(|entry| entry.parameter_name.as_str())
            .collect();
        names.join(", ")
    }

    /// `Client` for faults caused by the request, `Server` for the others (TR-069 A.5.2.1).
    pub fn soap_faultcode(&self) -> &'static str {
        match self.code {
            8003 | 8007 | 9003 | 9005 | 9006 | 9007 | 9008 | 9021 | 9022 | 9023 | 9024 | 9025
            | 9026 | 9028 | 9029 | 9030 | 9031 | 9032 => "Client",
            _ => "Server",
        }
    }
}

/// Every fault code CWMP 1.0 to 1.4 defines, with its meaning.
pub const FAULT_CODES: &[(u32, &str)] = &[
    // ACS fault codes (sent by the ACS in response to CPE requests).
    (8000, "Method not supported"),
    (8001, "Request denied (no reason specified)"),
    (8002, "Internal error"),
    (8003, "Invalid arguments"),
    (8004, "Resources exceeded"),
    (8005, "Retry request"),
    (8006, "ACS version incompatible with CPE"),
    (8007, "Invalid or unsupported file type"),
    (8008, "Invalid or unsupported CWMP version"),
    (8009, "Reserved"),
    (8010, "Reserved"),
    (8011, "Reserved"),
    (8012, "Reserved"),
    (8013, "Reserved"),
    (8014, "Reserved"),
    (8015, "Reserved"),
    (8016, "Reserved"),
    (8017, "Reserved"),
    (8018, "Reserved"),
    (8019, "Reserved"),
    // CPE fault codes (sent by the CPE in response to ACS requests).
    (9000, "Method not supported"),
    (9001, "Request denied (no reason specified)"),
    (9002, "Internal error"),
    (9003, "Invalid arguments"),
    (9004, "Resources exceeded"),
    (9005, "Invalid parameter name"),
    (9006, "Invalid parameter type"),
    (9007, "Invalid parameter value"),
    (9008, "Attempt to set a non-writable parameter"),
    (9009, "Notification request rejected"),
    (9010, "File transfer failure"),
    (9011, "Upload failure"),
    (9012, "File transfer server authentication failure"),
    (9013, "Unsupported protocol for file transfer"),
    (
        9014,
        "File transfer failure: unable to join multicast group",
    ),
    (9015, "File transfer failure: unable to contact file server"),
    (9016, "File transfer failure: unable to access file"),
    (9017, "File transfer failure: unable to complete download"),
    (
        9018,
        "File transfer failure: file corrupted or otherwise unusable",
    ),
    (9019, "File transfer failure: file authentication failure"),
    (
        9020,
        "File transfer failure: unable to complete download within specified time windows",
    ),
    (
        9021,
        "Cancelation of file transfer not permitted in current transfer state",
    ),
    (9022, "Invalid UUID format"),
    (9023, "Unknown execution environment"),
    (9024, "Disabled execution environment"),
    (9025, "Deployment unit to execution environment mismatch"),
    (9026, "Duplicate deployment unit"),
    (9027, "System resources exceeded"),
    (9028, "Unknown deployment unit"),
    (9029, "Invalid deployment unit state"),
    (
        9030,
        "Invalid deployment unit update: downgrade not permitted",
    ),
    (
        9031,
        "Invalid deployment unit update: version not specified",
    ),
    (
        9032,
        "Invalid deployment unit update: version already exists",
    ),
];

/// Fault codes after which the same request can never succeed (see
/// [`CwmpFault::is_permanent`]).
fn is_permanent_code(code: u32) -> bool {
    matches!(code, 9005..=9008)
}

/// A fault's own text, or the standard meaning of its code when the device sent none.
fn text_or_meaning(text: &str, code: u32) -> &str {
    match text.trim() {
        "" => fault_meaning(code).unwrap_or("Unknown fault"),
        text => text,
    }
}

/// The standard meaning of a fault code; vendor codes (8800-8899, 9800-9899) have none.
pub fn fault_meaning(code: u32) -> Option<&'static str> {
    match code {
        8800..=8899 | 9800..=9899 => Some("Vendor defined fault"),
        _ => FAULT_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, text)| *text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_every_defined_code() {
        for code in (8000..=8019).chain(9000..=9032) {
            assert!(fault_meaning(code).is_some(), "missing {code}");
        }
        assert_eq!(fault_meaning(9005), Some("Invalid parameter name"));
        assert_eq!(fault_meaning(9033), None);
        assert_eq!(CwmpFault::new(9005).soap_faultcode(), "Client");
        assert_eq!(CwmpFault::new(9002).soap_faultcode(), "Server");
    }

    fn invalid_arguments(entries: &[(&str, u32)]) -> CwmpFault {
        CwmpFault {
            set_parameter_values_faults: entries
                .iter()
                .map(|(name, code)| SetParameterValuesFault {
                    parameter_name: name.to_string(),
                    code: *code,
                    string: String::new(),
                })
                .collect(),
            ..CwmpFault::new(9003)
        }
    }

    #[test]
    fn faults_that_can_never_succeed_are_permanent() {
        for code in [9005, 9006, 9007, 9008] {
            assert!(CwmpFault::new(code).is_permanent(), "{code}");
        }
        for code in [9001, 9002, 9003, 9004, 9009, 9010, 8005] {
            assert!(!CwmpFault::new(code).is_permanent(), "{code}");
        }
        assert!(invalid_arguments(&[("Device.A", 9002), ("Device.B", 9008)]).is_permanent());
        assert!(!invalid_arguments(&[("Device.A", 9002)]).is_permanent());
    }

    #[test]
    fn a_description_names_the_parameters_and_their_faults() {
        let fault = invalid_arguments(&[
            ("Device.DeviceInfo.UpTime", 9008),
            ("Device.NAT.PortMapping.1.ExternalPort", 9006),
        ]);
        assert_eq!(
            fault.describe(),
            "9003 Invalid arguments: Device.DeviceInfo.UpTime: 9008 Attempt to set a \
             non-writable parameter; Device.NAT.PortMapping.1.ExternalPort: 9006 Invalid \
             parameter type"
        );
        assert_eq!(
            fault.failed_parameters(),
            "Device.DeviceInfo.UpTime, Device.NAT.PortMapping.1.ExternalPort"
        );
        assert_eq!(CwmpFault::with_text(9002, "busy").describe(), "9002 busy");
    }
}
