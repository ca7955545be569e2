//! Envelope writer.
//!
//! Writes straight into a byte buffer, in the layout GenieACS and other ACSs use: an XML
//! declaration, `soap-env`/`soap-enc`/`xsd`/`xsi`/`cwmp` prefixes declared on the Envelope, the
//! method as `cwmp:Method` with unprefixed children, arrays with `soap-enc:arrayType`, values with
//! `xsi:type`, and CWMP booleans as `1`/`0`. The cwmp namespace is that of the envelope's version,
//! so an answer goes out in the CPE's own version.

use crate::fault::CwmpFault;
use crate::namespace::{SOAP_ENC, SOAP_ENV, XSD, XSI};
use crate::types::{
    AllQueuedTransfer, AutonomousTransferComplete, Body, Download, DuOpResult, DuOperation,
    Envelope, Event, FaultStruct, FileTypeArg, Header, Inform, OptionInfo, ParameterAttribute,
    ParameterInfo, ParameterValue, QueuedTransfer, ScheduleDownload, SetParameterAttribute,
    SoapFault, TimeWindow, TransferComplete, Upload, XsdType,
};

/// Writes an envelope as XML in its own CWMP version.
pub fn encode(envelope: &Envelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    encode_into(envelope, &mut out);
    out
}

/// Appends an envelope as XML to `out`.
pub fn encode_into(envelope: &Envelope, out: &mut Vec<u8>) {
    let mut w = Writer { out };
    w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soap-env:Envelope xmlns:soap-enc=\"");
    w.raw(SOAP_ENC);
    w.raw("\" xmlns:soap-env=\"");
    w.raw(SOAP_ENV);
    w.raw("\" xmlns:xsd=\"");
    w.raw(XSD);
    w.raw("\" xmlns:xsi=\"");
    w.raw(XSI);
    w.raw("\" xmlns:cwmp=\"");
    w.raw(envelope.version.namespace());
    w.raw("\">");
    header(&mut w, &envelope.header);
    w.raw("<soap-env:Body>");
    body(&mut w, &envelope.body);
    w.raw("</soap-env:Body></soap-env:Envelope>");
}

/// The element name of a body: the RPC name, or `Fault` for a SOAP fault.
pub fn method_name(body: &Body) -> &'static str {
    match body {
        Body::GetRPCMethods => "GetRPCMethods",
        Body::GetRPCMethodsResponse(_) => "GetRPCMethodsResponse",
        Body::SetParameterValues { .. } => "SetParameterValues",
        Body::SetParameterValuesResponse { .. } => "SetParameterValuesResponse",
        Body::GetParameterValues { .. } => "GetParameterValues",
        Body::GetParameterValuesResponse(_) => "GetParameterValuesResponse",
        Body::GetParameterNames { .. } => "GetParameterNames",
        Body::GetParameterNamesResponse(_) => "GetParameterNamesResponse",
        Body::SetParameterAttributes(_) => "SetParameterAttributes",
        Body::SetParameterAttributesResponse => "SetParameterAttributesResponse",
        Body::GetParameterAttributes { .. } => "GetParameterAttributes",
        Body::GetParameterAttributesResponse(_) => "GetParameterAttributesResponse",
        Body::AddObject { .. } => "AddObject",
        Body::AddObjectResponse { .. } => "AddObjectResponse",
        Body::DeleteObject { .. } => "DeleteObject",
        Body::DeleteObjectResponse { .. } => "DeleteObjectResponse",
        Body::Reboot { .. } => "Reboot",
        Body::RebootResponse => "RebootResponse",
        Body::Download(_) => "Download",
        Body::DownloadResponse { .. } => "DownloadResponse",
        Body::Upload(_) => "Upload",
        Body::UploadResponse { .. } => "UploadResponse",
        Body::FactoryReset => "FactoryReset",
        Body::FactoryResetResponse => "FactoryResetResponse",
        Body::GetQueuedTransfers => "GetQueuedTransfers",
        Body::GetQueuedTransfersResponse(_) => "GetQueuedTransfersResponse",
        Body::GetAllQueuedTransfers => "GetAllQueuedTransfers",
        Body::GetAllQueuedTransfersResponse(_) => "GetAllQueuedTransfersResponse",
        Body::ScheduleInform { .. } => "ScheduleInform",
        Body::ScheduleInformResponse => "ScheduleInformResponse",
        Body::SetVouchers { .. } => "SetVouchers",
        Body::SetVouchersResponse => "SetVouchersResponse",
        Body::GetOptions { .. } => "GetOptions",
        Body::GetOptionsResponse(_) => "GetOptionsResponse",
        Body::ScheduleDownload(_) => "ScheduleDownload",
        Body::ScheduleDownloadResponse => "ScheduleDownloadResponse",
        Body::CancelTransfer { .. } => "CancelTransfer",
        Body::CancelTransferResponse => "CancelTransferResponse",
        Body::ChangeDUState { .. } => "ChangeDUState",
        Body::ChangeDUStateResponse => "ChangeDUStateResponse",
        Body::Inform(_) => "Inform",
        Body::InformResponse { .. } => "InformResponse",
        Body::TransferComplete(_) => "TransferComplete",
        Body::TransferCompleteResponse => "TransferCompleteResponse",
        Body::AutonomousTransferComplete(_) => "AutonomousTransferComplete",
        Body::AutonomousTransferCompleteResponse => "AutonomousTransferCompleteResponse",
        Body::DUStateChangeComplete(_) => "DUStateChangeComplete",
        Body::DUStateChangeCompleteResponse => "DUStateChangeCompleteResponse",
        Body::AutonomousDUStateChangeComplete(_) => "AutonomousDUStateChangeComplete",
        Body::AutonomousDUStateChangeCompleteResponse => "AutonomousDUStateChangeCompleteResponse",
        Body::RequestDownload { .. } => "RequestDownload",
        Body::RequestDownloadResponse => "RequestDownloadResponse",
        Body::Kicked { .. } => "Kicked",
        Body::KickedResponse { .. } => "KickedResponse",
        Body::Fault(_) => "Fault",
    }
}

// ---------------------------------------------------------------------------------------------
// Byte writer
// ---------------------------------------------------------------------------------------------

/// Appends XML pieces to a buffer.
struct Writer<'o> {
    out: &'o mut Vec<u8>,
}

impl Writer<'_> {
    /// Markup written as is.
    fn raw(&mut self, markup: &str) {
        self.out.extend_from_slice(markup.as_bytes());
    }

    /// `<name>`
    fn open(&mut self, name: &str) {
        self.out.push(b'<');
        self.raw(name);
        self.out.push(b'>');
    }

    /// `</name>`
    fn close(&mut self, name: &str) {
        self.out.extend_from_slice(b"</");
        self.raw(name);
        self.out.push(b'>');
    }

    /// `<name>text</name>`, the text escaped.
    fn text(&mut self, name: &str, text: &str) {
        self.open(name);
        escape_into(self.out, text, false);
        self.close(name);
    }

    /// `<name>n</name>`
    fn uint(&mut self, name: &str, n: impl Into<u64>) {
        self.open(name);
        push_u64(self.out, n.into());
        self.close(name);
    }

    /// `<name>-n</name>`
    fn int(&mut self, name: &str, n: i32) {
        self.open(name);
        if n < 0 {
            self.out.push(b'-');
        }
        push_u64(self.out, u64::from(n.unsigned_abs()));
        self.close(name);
    }

    /// `<name>1</name>` or `<name>0</name>`
    fn boolean(&mut self, name: &str, value: bool) {
        self.text(name, if value { "1" } else { "0" });
    }

    /// A SOAP array `<name soap-enc:arrayType="item_type[n]">items</name>`.
    fn array<T>(
        &mut self,
        name: &str,
        item_type: &str,
        items: &[T],
        mut item: impl FnMut(&mut Self, &T),
    ) {
        self.out.push(b'<');
        self.raw(name);
        self.raw(" soap-enc:arrayType=\"");
        self.raw(item_type);
        self.out.push(b'[');
        push_u64(self.out, items.len() as u64);
        self.raw("]\">");
        for i in items {
            item(self, i);
        }
        self.close(name);
    }

    /// An array of strings (`xsd:string[n]` with `<string>` items).
    fn strings(&mut self, name: &str, items: &[String]) {
        self.array(name, "xsd:string", items, |w, s| w.text("string", s));
    }

    /// `<name>...</name>` around what `content` writes.
    fn structure(&mut self, name: &str, content: impl FnOnce(&mut Self)) {
        self.open(name);
        content(self);
        self.close(name);
    }
}

/// Appends `text` with `&`, `<`, `>`, `"` and carriage returns escaped (and, in attribute values,
/// tabs and line feeds, which parsers would otherwise normalize to spaces).
fn escape_into(out: &mut Vec<u8>, text: &str, attribute: bool) {
    let bytes = text.as_bytes();
    if !needs_escaping(bytes, attribute) {
        // Most names and values: copied whole, after a vectorized search.
        out.extend_from_slice(bytes);
        return;
    }
    let mut done = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\r' => b"&#13;",
            b'\n' if attribute => b"&#10;",
            b'\t' if attribute => b"&#9;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[done..i]);
        out.extend_from_slice(escaped);
        done = i + 1;
    }
    out.extend_from_slice(&bytes[done..]);
}

/// Whether `bytes` holds anything [`escape_into`] escapes.
fn needs_escaping(bytes: &[u8], attribute: bool) -> bool {
    memchr::memchr3(b'&', b'<', b'>', bytes).is_some()
        || memchr::memchr2(b'"', b'\r', bytes).is_some()
        || (attribute && memchr::memchr2(b'\n', b'\t', bytes).is_some())
}

/// Appends the decimal digits of `n`.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

// ---------------------------------------------------------------------------------------------
// SOAP structure
// ---------------------------------------------------------------------------------------------

fn header(w: &mut Writer, h: &Header) {
    if *h == Header::default() {
        return;
    }
    w.raw("<soap-env:Header>");
    if let Some(id) = &h.id {
        header_field(w, "ID", true, |w| escape_into(w.out, id, false));
    }
    if let Some(hold) = h.hold_requests {
        header_field(w, "HoldRequests", true, |w| w.raw(bit(hold)));
    }
    if let Some(timeout) = h.session_timeout {
        header_field(w, "SessionTimeout", false, |w| {
            push_u64(w.out, u64::from(timeout))
        });
    }
    if let Some(versions) = &h.supported_cwmp_versions {
        header_field(w, "SupportedCWMPVersions", false, |w| {
            escape_into(w.out, versions, false)
        });
    }
    if let Some(version) = &h.use_cwmp_version {
        header_field(w, "UseCWMPVersion", true, |w| {
            escape_into(w.out, version, false)
        });
    }
    if let Some(no_more) = h.no_more_requests {
        header_field(w, "NoMoreRequests", false, |w| w.raw(bit(no_more)));
    }
    w.raw("</soap-env:Header>");
}

fn bit(value: bool) -> &'static str {
    if value {
        "1"
    } else {
        "0"
    }
}

/// `<cwmp:name soap-env:mustUnderstand="1|0">value</cwmp:name>`
fn header_field(
    w: &mut Writer,
    name: &str,
    must_understand: bool,
    value: impl FnOnce(&mut Writer),
) {
    w.raw("<cwmp:");
    w.raw(name);
    w.raw(if must_understand {
        " soap-env:mustUnderstand=\"1\">"
    } else {
        " soap-env:mustUnderstand=\"0\">"
    });
    value(w);
    w.raw("</cwmp:");
    w.raw(name);
    w.raw(">");
}

fn body(w: &mut Writer, body: &Body) {
    if let Body::Fault(fault) = body {
        soap_fault(w, fault);
        return;
    }
    let name = method_name(body);
    w.raw("<cwmp:");
    w.raw(name);
    w.raw(">");
    arguments(w, body);
    w.raw("</cwmp:");
    w.raw(name);
    w.raw(">");
}

fn soap_fault(w: &mut Writer, fault: &SoapFault) {
    w.raw("<soap-env:Fault>");
    w.text("faultcode", &fault.faultcode);
    w.text("faultstring", &fault.faultstring);
    w.raw("<detail>");
    cwmp_fault(w, &fault.detail);
    w.raw("</detail></soap-env:Fault>");
}

fn cwmp_fault(w: &mut Writer, fault: &CwmpFault) {
    w.raw("<cwmp:Fault>");
    w.uint("FaultCode", fault.code);
    w.text("FaultString", &fault.string);
    for f in &fault.set_parameter_values_faults {
        w.structure("SetParameterValuesFault", |w| {
            w.text("ParameterName", &f.parameter_name);
            w.uint("FaultCode", f.code);
            w.text("FaultString", &f.string);
        });
    }
    w.raw("</cwmp:Fault>");
}

// ---------------------------------------------------------------------------------------------
// RPC arguments
// ---------------------------------------------------------------------------------------------

/// The child elements of a method element.
fn arguments(w: &mut Writer, body: &Body) {
    match body {
        Body::GetRPCMethods
        | Body::SetParameterAttributesResponse
        | Body::RebootResponse
        | Body::FactoryReset
        | Body::FactoryResetResponse
        | Body::GetQueuedTransfers
        | Body::GetAllQueuedTransfers
        | Body::ScheduleInformResponse
        | Body::SetVouchersResponse
        | Body::ScheduleDownloadResponse
        | Body::CancelTransferResponse
        | Body::ChangeDUStateResponse
        | Body::TransferCompleteResponse
        | Body::AutonomousTransferCompleteResponse
        | Body::DUStateChangeCompleteResponse
        | Body::AutonomousDUStateChangeCompleteResponse
        | Body::RequestDownloadResponse
        | Body::Fault(_) => {}
        Body::GetRPCMethodsResponse(methods) => w.strings("MethodList", methods),
        Body::SetParameterValues {
            parameters,
            parameter_key,
        } => {
            parameter_values(w, parameters);
            w.text("ParameterKey", parameter_key);
        }
        Body::SetParameterValuesResponse { status } | Body::DeleteObjectResponse { status } => {
            w.uint("Status", *status)
        }
        Body::GetParameterValues { names } | Body::GetParameterAttributes { names } => {
            w.strings("ParameterNames", names)
        }
        Body::GetParameterValuesResponse(parameters) => parameter_values(w, parameters),
        Body::GetParameterNames { path, next_level } => {
            w.text("ParameterPath", path);
            w.boolean("NextLevel", *next_level);
        }
        Body::GetParameterNamesResponse(infos) => w.array(
            "ParameterList",
            "cwmp:ParameterInfoStruct",
            infos,
            parameter_info,
        ),
        Body::SetParameterAttributes(attributes) => w.array(
            "ParameterList",
            "cwmp:SetParameterAttributesStruct",
            attributes,
            set_parameter_attribute,
        ),
        Body::GetParameterAttributesResponse(attributes) => w.array(
            "ParameterList",
            "cwmp:ParameterAttributeStruct",
            attributes,
            parameter_attribute,
        ),
        Body::AddObject {
            object_name,
            parameter_key,
        }
        | Body::DeleteObject {
            object_name,
            parameter_key,
        } => {
            w.text("ObjectName", object_name);
            w.text("ParameterKey", parameter_key);
        }
        Body::AddObjectResponse {
            instance_number,
            status,
        } => {
            w.uint("InstanceNumber", *instance_number);
            w.uint("Status", *status);
        }
        Body::Reboot { command_key } | Body::CancelTransfer { command_key } => {
            w.text("CommandKey", command_key)
        }
        Body::Download(d) => download(w, d),
        Body::DownloadResponse {
            status,
            start_time,
            complete_time,
        }
        | Body::UploadResponse {
            status,
            start_time,
            complete_time,
        } => {
            w.uint("Status", *status);
            w.text("StartTime", start_time);
            w.text("CompleteTime", complete_time);
        }
        Body::Upload(u) => upload(w, u),
        Body::GetQueuedTransfersResponse(transfers) => w.array(
            "TransferList",
            "cwmp:QueuedTransferStruct",
            transfers,
            queued_transfer,
        ),
        Body::GetAllQueuedTransfersResponse(transfers) => w.array(
            "TransferList",
            "cwmp:AllQueuedTransferStruct",
            transfers,
            all_queued_transfer,
        ),
        Body::ScheduleInform {
            delay_seconds,
            command_key,
        } => {
            w.uint("DelaySeconds", *delay_seconds);
            w.text("CommandKey", command_key);
        }
        Body::SetVouchers { vouchers } => w.array("VoucherList", "xsd:base64", vouchers, |w, v| {
            w.text("base64", v)
        }),
        Body::GetOptions { option_name } => w.text("OptionName", option_name),
        Body::GetOptionsResponse(options) => {
            w.array("OptionList", "cwmp:OptionStruct", options, option_info)
        }
        Body::ScheduleDownload(d) => schedule_download(w, d),
        Body::ChangeDUState {
            operations,
            command_key,
        } => {
            w.array(
                "Operations",
                "cwmp:OperationStruct",
                operations,
                du_operation,
            );
            w.text("CommandKey", command_key);
        }
        Body::Inform(inform) => self::inform(w, inform),
        Body::InformResponse { max_envelopes } => w.uint("MaxEnvelopes", *max_envelopes),
        Body::TransferComplete(t) => transfer_complete(w, t),
        Body::AutonomousTransferComplete(t) => autonomous_transfer_complete(w, t),
        Body::DUStateChangeComplete(c) => {
            w.array("Results", "cwmp:OpResultStruct", &c.results, |w, r| {
                w.structure("OpResultStruct", |w| du_op_result(w, r))
            });
            w.text("CommandKey", &c.command_key);
        }
        Body::AutonomousDUStateChangeComplete(c) => {
            w.array("Results", "cwmp:AutonOpResultStruct", &c.results, |w, r| {
                w.structure("AutonOpResultStruct", |w| {
                    du_op_result(w, &r.result);
                    w.text("OperationPerformed", &r.operation_performed);
                })
            })
        }
        Body::RequestDownload {
            file_type,
            file_type_args,
        } => {
            w.text("FileType", file_type);
            w.array(
                "FileTypeArg",
                "cwmp:ArgStruct",
                file_type_args,
                file_type_arg,
            );
        }
        Body::Kicked {
            command,
            referer,
            arg,
            next,
        } => {
            w.text("Command", command);
            w.text("Referer", referer);
            w.text("Arg", arg);
            w.text("Next", next);
        }
        Body::KickedResponse { next_url } => w.text("NextURL", next_url),
    }
}

fn parameter_values(w: &mut Writer, parameters: &[ParameterValue]) {
    w.array(
        "ParameterList",
        "cwmp:ParameterValueStruct",
        parameters,
        parameter_value,
    );
}

fn parameter_value(w: &mut Writer, p: &ParameterValue) {
    w.raw("<ParameterValueStruct><Name>");
    escape_into(w.out, &p.name, false);
    w.raw("</Name><Value xsi:type=\"");
    xsi_type(w, &p.xsd_type);
    w.raw("\">");
    escape_into(w.out, &p.value, false);
    w.raw("</Value></ParameterValueStruct>");
}

/// `xsd:unsignedInt`; vendor types go in the cwmp namespace unless they carry their own prefix.
fn xsi_type(w: &mut Writer, t: &XsdType) {
    match t {
        XsdType::Other(name) => {
            if !name.contains(':') {
                w.raw("cwmp:");
            }
            escape_into(w.out, name, true);
        }
        known => {
            w.raw("xsd:");
            w.raw(known.local_name());
        }
    }
}

fn parameter_info(w: &mut Writer, p: &ParameterInfo) {
    w.structure("ParameterInfoStruct", |w| {
        w.text("Name", &p.name);
        w.boolean("Writable", p.writable);
    });
}

fn parameter_attribute(w: &mut Writer, p: &ParameterAttribute) {
    w.structure("ParameterAttributeStruct", |w| {
        w.text("Name", &p.name);
        w.uint("Notification", p.notification);
        w.strings("AccessList", &p.access_list);
    });
}

fn set_parameter_attribute(w: &mut Writer, p: &SetParameterAttribute) {
    w.structure("SetParameterAttributesStruct", |w| {
        w.text("Name", &p.name);
        w.boolean("NotificationChange", p.notification_change);
        w.uint("Notification", p.notification);
        w.boolean("AccessListChange", p.access_list_change);
        w.strings("AccessList", &p.access_list);
    });
}

fn download(w: &mut Writer, d: &Download) {
    w.text("CommandKey", &d.command_key);
    w.text("FileType", &d.file_type);
    w.text("URL", &d.url);
    w.text("Username", &d.username);
    w.text("Password", &d.password);
    w.uint("FileSize", d.file_size);
    w.text("TargetFileName", &d.target_file_name);
    w.uint("DelaySeconds", d.delay_seconds);
    w.text("SuccessURL", &d.success_url);
    w.text("FailureURL", &d.failure_url);
}

fn upload(w: &mut Writer, u: &Upload) {
    w.text("CommandKey", &u.command_key);
    w.text("FileType", &u.file_type);
    w.text("URL", &u.url);
    w.text("Username", &u.username);
    w.text("Password", &u.password);
    w.uint("DelaySeconds", u.delay_seconds);
}

fn schedule_download(w: &mut Writer, d: &ScheduleDownload) {
    w.text("CommandKey", &d.command_key);
    w.text("FileType", &d.file_type);
    w.text("URL", &d.url);
    w.text("Username", &d.username);
    w.text("Password", &d.password);
    w.uint("FileSize", d.file_size);
    w.text("TargetFileName", &d.target_file_name);
    w.array(
        "TimeWindowList",
        "cwmp:TimeWindowStruct",
        &d.time_windows,
        time_window,
    );
}

fn time_window(w: &mut Writer, t: &TimeWindow) {
    w.structure("TimeWindowStruct", |w| {
        w.uint("WindowStart", t.window_start);
        w.uint("WindowEnd", t.window_end);
        w.text("WindowMode", &t.window_mode);
        w.text("UserMessage", &t.user_message);
        w.int("MaxRetries", t.max_retries);
    });
}

fn queued_transfer(w: &mut Writer, t: &QueuedTransfer) {
    w.structure("QueuedTransferStruct", |w| {
        w.text("CommandKey", &t.command_key);
        w.uint("State", t.state);
    });
}

fn all_queued_transfer(w: &mut Writer, t: &AllQueuedTransfer) {
    w.structure("AllQueuedTransferStruct", |w| {
        w.text("CommandKey", &t.command_key);
        w.uint("State", t.state);
        w.boolean("IsDownload", t.is_download);
        w.text("FileType", &t.file_type);
        w.uint("FileSize", t.file_size);
        w.text("TargetFileName", &t.target_file_name);
    });
}

fn option_info(w: &mut Writer, o: &OptionInfo) {
    w.structure("OptionStruct", |w| {
        w.text("OptionName", &o.option_name);
        w.uint("VoucherSN", o.voucher_sn);
        w.uint("State", o.state);
        w.uint("Mode", o.mode);
        w.text("StartDate", &o.start_date);
        w.text("ExpirationDate", &o.expiration_date);
        w.boolean("IsTransferable", o.is_transferable);
    });
}

fn du_operation(w: &mut Writer, op: &DuOperation) {
    match op {
        DuOperation::Install {
            url,
            uuid,
            username,
            password,
            execution_env_ref,
        } => w.structure("InstallOpStruct", |w| {
            w.text("URL", url);
            w.text("UUID", uuid);
            w.text("Username", username);
            w.text("Password", password);
            w.text("ExecutionEnvRef", execution_env_ref);
        }),
        DuOperation::Update {
            uuid,
            version,
            url,
            username,
            password,
        } => w.structure("UpdateOpStruct", |w| {
            w.text("UUID", uuid);
            w.text("Version", version);
            w.text("URL", url);
            w.text("Username", username);
            w.text("Password", password);
        }),
        DuOperation::Uninstall {
            uuid,
            version,
            execution_env_ref,
        } => w.structure("UninstallOpStruct", |w| {
            w.text("UUID", uuid);
            w.text("Version", version);
            w.text("ExecutionEnvRef", execution_env_ref);
        }),
    }
}

/// The fields of an `OpResultStruct` (also the start of an `AutonOpResultStruct`).
fn du_op_result(w: &mut Writer, r: &DuOpResult) {
    w.text("UUID", &r.uuid);
    w.text("DeploymentUnitRef", &r.deployment_unit_ref);
    w.text("Version", &r.version);
    w.text("CurrentState", &r.current_state);
    w.boolean("Resolved", r.resolved);
    w.text("ExecutionUnitRefList", &r.execution_unit_ref_list);
    w.text("StartTime", &r.start_time);
    w.text("CompleteTime", &r.complete_time);
    fault_struct(w, "Fault", &r.fault);
}

fn fault_struct(w: &mut Writer, name: &str, f: &FaultStruct) {
    w.structure(name, |w| {
        w.uint("FaultCode", f.code);
        w.text("FaultString", &f.string);
    });
}

fn inform(w: &mut Writer, inform: &Inform) {
    let id = &inform.device_id;
    w.structure("DeviceId", |w| {
        w.text("Manufacturer", &id.manufacturer);
        w.text("OUI", &id.oui);
        w.text("ProductClass", &id.product_class);
        w.text("SerialNumber", &id.serial_number);
    });
    w.array("Event", "cwmp:EventStruct", &inform.events, event);
    w.uint("MaxEnvelopes", inform.max_envelopes);
    w.text("CurrentTime", &inform.current_time);
    w.uint("RetryCount", inform.retry_count);
    parameter_values(w, &inform.parameters);
}

fn event(w: &mut Writer, e: &Event) {
    w.structure("EventStruct", |w| {
        w.text("EventCode", e.code.as_str());
        w.text("CommandKey", &e.command_key);
    });
}

fn transfer_complete(w: &mut Writer, t: &TransferComplete) {
    w.text("CommandKey", &t.command_key);
    fault_struct(w, "FaultStruct", &t.fault);
    w.text("StartTime", &t.start_time);
    w.text("CompleteTime", &t.complete_time);
}

fn autonomous_transfer_complete(w: &mut Writer, t: &AutonomousTransferComplete) {
    w.text("AnnounceURL", &t.announce_url);
    w.text("TransferURL", &t.transfer_url);
    w.boolean("IsDownload", t.is_download);
    w.text("FileType", &t.file_type);
    w.uint("FileSize", t.file_size);
    w.text("TargetFileName", &t.target_file_name);
    fault_struct(w, "FaultStruct", &t.fault);
    w.text("StartTime", &t.start_time);
    w.text("CompleteTime", &t.complete_time);
}

fn file_type_arg(w: &mut Writer, a: &FileTypeArg) {
    w.structure("ArgStruct", |w| {
        w.text("Name", &a.name);
        w.text("Value", &a.value);
    });
}
