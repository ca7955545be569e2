//! Typed CWMP messages: every RPC of CWMP 1.0 to 1.4 in both directions, headers and faults.
//!
//! Values are kept as the text the peer sent (`value`) plus the declared XML schema type, so that
//! nothing is lost in a round trip; interpretation (booleans, numbers) is left to the caller.

use serde::{Deserialize, Serialize};

use crate::event::EventCode;
use crate::fault::CwmpFault;

/// A CWMP protocol version, carried as the `urn:dslforum-org:cwmp-1-N` namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum CwmpVersion {
    /// `urn:dslforum-org:cwmp-1-0`
    V1_0,
    /// `urn:dslforum-org:cwmp-1-1`
    V1_1,
    /// `urn:dslforum-org:cwmp-1-2`
    #[default]
    V1_2,
    /// `urn:dslforum-org:cwmp-1-3`
    V1_3,
    /// `urn:dslforum-org:cwmp-1-4`
    V1_4,
}

/// One SOAP envelope: header plus exactly one body element.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The CWMP version the envelope was written in (from its cwmp namespace).
    pub version: CwmpVersion,
    /// SOAP header fields CWMP defines.
    pub header: Header,
    /// The one RPC (or fault) in the SOAP body.
    pub body: Body,
}

/// SOAP header elements defined by CWMP.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    /// `cwmp:ID`, echoed in the response (mustUnderstand="1").
    pub id: Option<String>,
    /// `cwmp:HoldRequests`: the ACS asks the CPE not to send requests (ACS to CPE only).
    pub hold_requests: Option<bool>,
    /// `cwmp:NoMoreRequests` (deprecated since CWMP 1.1, still sent by old CPEs).
    pub no_more_requests: Option<bool>,
    /// `cwmp:SessionTimeout` in seconds (CWMP 1.2+, CPE to ACS on Inform).
    pub session_timeout: Option<u32>,
    /// `cwmp:SupportedCWMPVersions`, a comma separated list such as `1.0,1.1,1.2` (CPE to ACS).
    pub supported_cwmp_versions: Option<String>,
    /// `cwmp:UseCWMPVersion`, the version the ACS picked (ACS to CPE on InformResponse).
    pub use_cwmp_version: Option<String>,
}

/// The declared `xsi:type` of a parameter value; in JSON the prefixed name, such as
/// `"xsd:unsignedInt"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum XsdType {
    /// `xsd:string`, also used when the type is missing.
    #[default]
    String,
    /// `xsd:int`
    Int,
    /// `xsd:unsignedInt`
    UnsignedInt,
    /// `xsd:long`
    Long,
    /// `xsd:unsignedLong`
    UnsignedLong,
    /// `xsd:boolean`
    Boolean,
    /// `xsd:dateTime`
    DateTime,
    /// `xsd:base64Binary`
    Base64,
    /// `xsd:hexBinary`
    HexBinary,
    /// Any other type name, kept verbatim without prefix (vendor types such as `cwmp:IPAddress`).
    Other(String),
}

/// `ParameterValueStruct`: a parameter name with its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterValue {
    /// Full parameter path, such as `Device.DeviceInfo.SoftwareVersion`.
    pub name: String,
    /// The value as text.
    pub value: String,
    /// Declared type (`type` in JSON, `xsd:string` when absent).
    #[serde(rename = "type", default)]
    pub xsd_type: XsdType,
}

impl XsdType {
    /// The type name as written in `xsi:type`, such as `xsd:unsignedInt` (`cwmp:` for others).
    pub fn prefixed_name(&self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow;
        Cow::Borrowed(match self {
            XsdType::String => "xsd:string",
            XsdType::Int => "xsd:int",
            XsdType::UnsignedInt => "xsd:unsignedInt",
            XsdType::Long => "xsd:long",
            XsdType::UnsignedLong => "xsd:unsignedLong",
            XsdType::Boolean => "xsd:boolean",
            XsdType::DateTime => "xsd:dateTime",
            XsdType::Base64 => "xsd:base64",
            XsdType::HexBinary => "xsd:hexBinary",
            XsdType::Other(name) => return Cow::Owned(format!("cwmp:{name}")),
        })
    }

    /// Parses a type name with or without a prefix (`xsd:int`, `xs:int`, `int`), ignoring case;
    /// unknown names become [`XsdType::Other`] without their prefix.
    pub fn from_name(name: &str) -> XsdType {
        let name = name.trim();
        let local = name.rsplit_once(':').map_or(name, |(_, local)| local);
        const KNOWN: &[(&str, XsdType)] = &[
            ("string", XsdType::String),
            ("int", XsdType::Int),
            ("unsignedInt", XsdType::UnsignedInt),
            ("long", XsdType::Long),
            ("unsignedLong", XsdType::UnsignedLong),
            ("boolean", XsdType::Boolean),
            ("dateTime", XsdType::DateTime),
            ("base64", XsdType::Base64),
            ("base64Binary", XsdType::Base64),
            ("hexBinary", XsdType::HexBinary),
        ];
        if local.is_empty() {
            return XsdType::String;
        }
        KNOWN
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(local))
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| XsdType::Other(local.to_string()))
    }
}

impl Serialize for XsdType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.prefixed_name())
    }
}

impl<'de> Deserialize<'de> for XsdType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(XsdType::from_name(&name))
    }
}

/// `ParameterInfoStruct` from GetParameterNamesResponse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterInfo {
    /// Parameter or object path (objects end with a dot).
    pub name: String,
    /// Whether the ACS may write it.
    pub writable: bool,
}

/// `ParameterAttributeStruct` from GetParameterAttributesResponse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterAttribute {
    /// Parameter path.
    pub name: String,
    /// Notification: 0 off, 1 passive, 2 active (3..6 in later amendments).
    pub notification: u8,
    /// Access list entries, such as `Subscriber`.
    pub access_list: Vec<String>,
}

/// `SetParameterAttributesStruct` of a SetParameterAttributes request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SetParameterAttribute {
    /// Parameter path (partial paths end with a dot).
    pub name: String,
    /// Whether `notification` is to be changed.
    pub notification_change: bool,
    /// The new notification value.
    pub notification: u8,
    /// Whether `access_list` is to be changed.
    pub access_list_change: bool,
    /// The new access list.
    pub access_list: Vec<String>,
}

/// `EventStruct` of an Inform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The event code.
    pub code: EventCode,
    /// The command key that goes with `M ...` events; empty otherwise.
    pub command_key: String,
}

/// `DeviceIdStruct` of an Inform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct DeviceIdStruct {
    /// Manufacturer name.
    pub manufacturer: String,
    /// Organizationally unique identifier, six hex digits.
    pub oui: String,
    /// Product class (may be empty).
    pub product_class: String,
    /// Serial number.
    pub serial_number: String,
}

/// The Inform RPC (CPE to ACS), which opens every session.
#[derive(Debug, Clone, PartialEq)]
pub struct Inform {
    /// Which device this is.
    pub device_id: DeviceIdStruct,
    /// Why the session was opened.
    pub events: Vec<Event>,
    /// Maximum envelopes the CPE accepts per HTTP response (always 1 in practice).
    pub max_envelopes: u32,
    /// The CPE's clock, as sent (`xsd:dateTime`).
    pub current_time: String,
    /// How many times this Inform was retried.
    pub retry_count: u32,
    /// Forced inform parameters and changed values.
    pub parameters: Vec<ParameterValue>,
}

/// `FaultStruct` inside transfer and DU state change completion messages.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FaultStruct {
    /// 0 for success, otherwise a fault code.
    pub code: u32,
    /// Human readable text.
    pub string: String,
}

/// TransferComplete (CPE to ACS): result of a Download, Upload or ScheduleDownload.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferComplete {
    /// The command key of the transfer request.
    pub command_key: String,
    /// Result; code 0 means success.
    pub fault: FaultStruct,
    /// When the transfer started (`xsd:dateTime`).
    pub start_time: String,
    /// When the transfer completed (`xsd:dateTime`).
    pub complete_time: String,
}

/// AutonomousTransferComplete (CPE to ACS): a transfer the ACS did not ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct AutonomousTransferComplete {
    /// URL of the transferred file.
    pub announce_url: String,
    /// URL the file was transferred from or to.
    pub transfer_url: String,
    /// True for a download, false for an upload.
    pub is_download: bool,
    /// File type, such as `1 Firmware Upgrade Image`.
    pub file_type: String,
    /// File size in bytes.
    pub file_size: u64,
    /// Target file name.
    pub target_file_name: String,
    /// Result.
    pub fault: FaultStruct,
    /// Start time.
    pub start_time: String,
    /// Completion time.
    pub complete_time: String,
}

/// One operation result in DUStateChangeComplete (`OpResultStruct`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DuOpResult {
    /// Deployment unit UUID.
    pub uuid: String,
    /// DU reference (a `DeploymentUnit.{i}` path).
    pub deployment_unit_ref: String,
    /// DU version.
    pub version: String,
    /// Current state: Installed, Uninstalled, Failed.
    pub current_state: String,
    /// Whether resolution succeeded.
    pub resolved: bool,
    /// Comma separated execution unit references.
    pub execution_unit_ref_list: String,
    /// Start time.
    pub start_time: String,
    /// Completion time.
    pub complete_time: String,
    /// Result.
    pub fault: FaultStruct,
}

/// DUStateChangeComplete (CPE to ACS): results of a ChangeDUState.
#[derive(Debug, Clone, PartialEq)]
pub struct DuStateChangeComplete {
    /// One entry per operation.
    pub results: Vec<DuOpResult>,
    /// Command key of the ChangeDUState.
    pub command_key: String,
}

/// AutonomousDUStateChangeComplete (CPE to ACS): DU changes the ACS did not ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct AutonomousDuStateChangeComplete {
    /// One entry per operation, with its operation type in `operation`.
    pub results: Vec<AutonomousDuOpResult>,
}

/// One `AutonOpResultStruct`: a DU operation result plus which operation it was.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AutonomousDuOpResult {
    /// The result fields.
    pub result: DuOpResult,
    /// Install, Update or Uninstall.
    pub operation_performed: String,
}

/// The Download RPC (ACS to CPE).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Download {
    /// Echoed back in TransferComplete.
    pub command_key: String,
    /// File type, such as `1 Firmware Upgrade Image`.
    pub file_type: String,
    /// Where to fetch the file.
    pub url: String,
    /// Credentials for the file server.
    pub username: String,
    /// Credentials for the file server.
    pub password: String,
    /// Size in bytes (0 if unknown).
    pub file_size: u64,
    /// Target file name.
    pub target_file_name: String,
    /// Seconds to wait before starting.
    pub delay_seconds: u32,
    /// Where the CPE redirects the user on success.
    pub success_url: String,
    /// Where the CPE redirects the user on failure.
    pub failure_url: String,
}

/// The Upload RPC (ACS to CPE).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Upload {
    /// Echoed back in TransferComplete.
    pub command_key: String,
    /// File type, such as `1 Vendor Configuration File`.
    pub file_type: String,
    /// Where to upload.
    pub url: String,
    /// Credentials for the upload target.
    pub username: String,
    /// Credentials for the upload target.
    pub password: String,
    /// Seconds to wait before starting.
    pub delay_seconds: u32,
}

/// `TimeWindowStruct` of ScheduleDownload.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TimeWindow {
    /// Seconds from now when the window opens.
    pub window_start: u32,
    /// Seconds from now when the window closes.
    pub window_end: u32,
    /// `1 At Any Time`, `2 Immediately`, `3 When Idle`, `4 Confirmation Needed`.
    pub window_mode: String,
    /// Message for the user (mode 4).
    pub user_message: String,
    /// Maximum retries in the window, -1 for the CPE's choice.
    pub max_retries: i32,
}

/// The ScheduleDownload RPC (ACS to CPE, CWMP 1.2+).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScheduleDownload {
    /// Echoed back in TransferComplete.
    pub command_key: String,
    /// File type.
    pub file_type: String,
    /// Where to fetch the file.
    pub url: String,
    /// Credentials.
    pub username: String,
    /// Credentials.
    pub password: String,
    /// Size in bytes.
    pub file_size: u64,
    /// Target file name.
    pub target_file_name: String,
    /// One or two time windows.
    pub time_windows: Vec<TimeWindow>,
}

/// `QueuedTransferStruct` of GetQueuedTransfersResponse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueuedTransfer {
    /// Command key of the transfer.
    pub command_key: String,
    /// 1 not yet started, 2 in progress, 3 completed.
    pub state: u8,
}

/// `AllQueuedTransferStruct` of GetAllQueuedTransfersResponse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllQueuedTransfer {
    /// Command key of the transfer.
    pub command_key: String,
    /// 1 not yet started, 2 in progress, 3 completed.
    pub state: u8,
    /// Whether this is a download.
    pub is_download: bool,
    /// File type.
    pub file_type: String,
    /// File size.
    pub file_size: u64,
    /// Target file name.
    pub target_file_name: String,
}

/// `OptionStruct` of GetOptionsResponse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionInfo {
    /// Option name.
    pub option_name: String,
    /// Voucher serial number.
    pub voucher_sn: u32,
    /// Option state bits.
    pub state: u32,
    /// Mode: 0 disabled, 1 enabled with expiry, 2 enabled without expiry.
    pub mode: u8,
    /// Start date (`xsd:dateTime`).
    pub start_date: String,
    /// Expiration date (`xsd:dateTime`, may be empty).
    pub expiration_date: String,
    /// Whether the option can be transferred.
    pub is_transferable: bool,
}

/// One operation of ChangeDUState: install, update or uninstall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DuOperation {
    /// `InstallOpStruct`
    Install {
        /// Where to fetch the DU.
        url: String,
        /// DU UUID.
        uuid: String,
        /// Credentials.
        username: String,
        /// Credentials.
        password: String,
        /// Execution environment path.
        execution_env_ref: String,
    },
    /// `UpdateOpStruct`
    Update {
        /// DU UUID.
        uuid: String,
        /// DU version to update.
        version: String,
        /// Where to fetch the new DU.
        url: String,
        /// Credentials.
        username: String,
        /// Credentials.
        password: String,
    },
    /// `UninstallOpStruct`
    Uninstall {
        /// DU UUID.
        uuid: String,
        /// DU version.
        version: String,
        /// Execution environment path.
        execution_env_ref: String,
    },
}

/// `ArgStruct` of RequestDownload's FileTypeArg.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileTypeArg {
    /// Argument name.
    pub name: String,
    /// Argument value.
    pub value: String,
}

/// A SOAP fault with the `cwmp:Fault` detail.
#[derive(Debug, Clone, PartialEq)]
pub struct SoapFault {
    /// `Client` or `Server` (the SOAP fault code, without prefix).
    pub faultcode: String,
    /// Usually `CWMP fault`.
    pub faultstring: String,
    /// The CWMP fault detail.
    pub detail: CwmpFault,
}

/// The one element of a SOAP body: an RPC request, its response, or a fault.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    // ----- methods both sides implement -----
    /// GetRPCMethods (either direction).
    GetRPCMethods,
    /// GetRPCMethodsResponse: the method names.
    GetRPCMethodsResponse(Vec<String>),

    // ----- CPE methods (requests from the ACS) and their responses -----
    /// SetParameterValues.
    SetParameterValues {
        /// The values to set.
        parameters: Vec<ParameterValue>,
        /// New value for ManagementServer.ParameterKey.
        parameter_key: String,
    },
    /// SetParameterValuesResponse: 0 applied, 1 applied and committed later.
    SetParameterValuesResponse {
        /// Status.
        status: u8,
    },
    /// GetParameterValues.
    GetParameterValues {
        /// Names or partial paths.
        names: Vec<String>,
    },
    /// GetParameterValuesResponse.
    GetParameterValuesResponse(Vec<ParameterValue>),
    /// GetParameterNames.
    GetParameterNames {
        /// Path (partial paths end with a dot; empty for the whole tree).
        path: String,
        /// Only the next level when true.
        next_level: bool,
    },
    /// GetParameterNamesResponse.
    GetParameterNamesResponse(Vec<ParameterInfo>),
    /// SetParameterAttributes.
    SetParameterAttributes(Vec<SetParameterAttribute>),
    /// SetParameterAttributesResponse.
    SetParameterAttributesResponse,
    /// GetParameterAttributes.
    GetParameterAttributes {
        /// Names or partial paths.
        names: Vec<String>,
    },
    /// GetParameterAttributesResponse.
    GetParameterAttributesResponse(Vec<ParameterAttribute>),
    /// AddObject.
    AddObject {
        /// Object path ending with a dot, such as `Device.IP.Interface.`.
        object_name: String,
        /// New value for ManagementServer.ParameterKey.
        parameter_key: String,
    },
    /// AddObjectResponse.
    AddObjectResponse {
        /// The new instance number.
        instance_number: u32,
        /// 0 applied, 1 applied later.
        status: u8,
    },
    /// DeleteObject.
    DeleteObject {
        /// Instance path ending with a dot.
        object_name: String,
        /// New value for ManagementServer.ParameterKey.
        parameter_key: String,
    },
    /// DeleteObjectResponse.
    DeleteObjectResponse {
        /// 0 applied, 1 applied later.
        status: u8,
    },
    /// Reboot.
    Reboot {
        /// Echoed in the `M Reboot` event.
        command_key: String,
    },
    /// RebootResponse.
    RebootResponse,
    /// Download.
    Download(Download),
    /// DownloadResponse.
    DownloadResponse {
        /// 0 done, 1 not yet done (TransferComplete follows).
        status: u8,
        /// Start time.
        start_time: String,
        /// Completion time.
        complete_time: String,
    },
    /// Upload.
    Upload(Upload),
    /// UploadResponse.
    UploadResponse {
        /// 0 done, 1 not yet done.
        status: u8,
        /// Start time.
        start_time: String,
        /// Completion time.
        complete_time: String,
    },
    /// FactoryReset.
    FactoryReset,
    /// FactoryResetResponse.
    FactoryResetResponse,
    /// GetQueuedTransfers (deprecated in 1.2, kept for old CPEs).
    GetQueuedTransfers,
    /// GetQueuedTransfersResponse.
    GetQueuedTransfersResponse(Vec<QueuedTransfer>),
    /// GetAllQueuedTransfers.
    GetAllQueuedTransfers,
    /// GetAllQueuedTransfersResponse.
    GetAllQueuedTransfersResponse(Vec<AllQueuedTransfer>),
    /// ScheduleInform.
    ScheduleInform {
        /// Seconds until the CPE informs with `3 SCHEDULED` and `M ScheduleInform`.
        delay_seconds: u32,
        /// Echoed in the `M ScheduleInform` event.
        command_key: String,
    },
    /// ScheduleInformResponse.
    ScheduleInformResponse,
    /// SetVouchers.
    SetVouchers {
        /// Base64 encoded signed vouchers.
        vouchers: Vec<String>,
    },
    /// SetVouchersResponse.
    SetVouchersResponse,
    /// GetOptions.
    GetOptions {
        /// Option name, or empty for all.
        option_name: String,
    },
    /// GetOptionsResponse.
    GetOptionsResponse(Vec<OptionInfo>),
    /// ScheduleDownload.
    ScheduleDownload(ScheduleDownload),
    /// ScheduleDownloadResponse.
    ScheduleDownloadResponse,
    /// CancelTransfer.
    CancelTransfer {
        /// Command key of the transfer to cancel.
        command_key: String,
    },
    /// CancelTransferResponse.
    CancelTransferResponse,
    /// ChangeDUState.
    ChangeDUState {
        /// Operations to perform.
        operations: Vec<DuOperation>,
        /// Echoed in DUStateChangeComplete.
        command_key: String,
    },
    /// ChangeDUStateResponse.
    ChangeDUStateResponse,

    // ----- ACS methods (requests from the CPE) and their responses -----
    /// Inform.
    Inform(Inform),
    /// InformResponse.
    InformResponse {
        /// Maximum envelopes the ACS accepts per request (1).
        max_envelopes: u32,
    },
    /// TransferComplete.
    TransferComplete(TransferComplete),
    /// TransferCompleteResponse.
    TransferCompleteResponse,
    /// AutonomousTransferComplete.
    AutonomousTransferComplete(AutonomousTransferComplete),
    /// AutonomousTransferCompleteResponse.
    AutonomousTransferCompleteResponse,
    /// DUStateChangeComplete.
    DUStateChangeComplete(DuStateChangeComplete),
    /// DUStateChangeCompleteResponse.
    DUStateChangeCompleteResponse,
    /// AutonomousDUStateChangeComplete.
    AutonomousDUStateChangeComplete(AutonomousDuStateChangeComplete),
    /// AutonomousDUStateChangeCompleteResponse.
    AutonomousDUStateChangeCompleteResponse,
    /// RequestDownload.
    RequestDownload {
        /// File type requested.
        file_type: String,
        /// Extra arguments.
        file_type_args: Vec<FileTypeArg>,
    },
    /// RequestDownloadResponse.
    RequestDownloadResponse,
    /// Kicked.
    Kicked {
        /// Generic command.
        command: String,
        /// Referring URL.
        referer: String,
        /// Generic argument.
        arg: String,
        /// URL the browser goes to next.
        next: String,
    },
    /// KickedResponse.
    KickedResponse {
        /// URL the browser goes to next.
        next_url: String,
    },

    /// A SOAP fault (a failed request, either direction).
    Fault(SoapFault),
}
