//! `decode(encode(envelope)) == envelope` for every body variant, version and header combination.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use cwmp::encode::{encode, method_name};
use cwmp::{
    decode, AllQueuedTransfer, AutonomousDuOpResult, AutonomousDuStateChangeComplete,
    AutonomousTransferComplete, Body, CwmpFault, CwmpVersion, DeviceIdStruct, Download, DuOpResult,
    DuOperation, DuStateChangeComplete, Envelope, Event, EventCode, FaultStruct, FileTypeArg,
    Header, Inform, OptionInfo, ParameterAttribute, ParameterInfo, ParameterValue, QueuedTransfer,
    ScheduleDownload, SetParameterAttribute, SetParameterValuesFault, SoapFault, TimeWindow,
    TransferComplete, Upload, XsdType,
};

// ---------------------------------------------------------------------------------------------
// Every variant, explicitly
// ---------------------------------------------------------------------------------------------

/// How many `Body` variants there are.
const VARIANT_COUNT: usize = 55;

/// The position of a body's variant. No wildcard arm: adding a variant to `Body` breaks the build
/// here until it gets an index, a sample in [`samples`] and a strategy in [`body`].
fn variant_index(body: &Body) -> usize {
    match body {
        Body::GetRPCMethods => 0,
        Body::GetRPCMethodsResponse(_) => 1,
        Body::SetParameterValues { .. } => 2,
        Body::SetParameterValuesResponse { .. } => 3,
        Body::GetParameterValues { .. } => 4,
        Body::GetParameterValuesResponse(_) => 5,
        Body::GetParameterNames { .. } => 6,
        Body::GetParameterNamesResponse(_) => 7,
        Body::SetParameterAttributes(_) => 8,
        Body::SetParameterAttributesResponse => 9,
        Body::GetParameterAttributes { .. } => 10,
        Body::GetParameterAttributesResponse(_) => 11,
        Body::AddObject { .. } => 12,
        Body::AddObjectResponse { .. } => 13,
        Body::DeleteObject { .. } => 14,
        Body::DeleteObjectResponse { .. } => 15,
        Body::Reboot { .. } => 16,
        Body::RebootResponse => 17,
        Body::Download(_) => 18,
        Body::DownloadResponse { .. } => 19,
        Body::Upload(_) => 20,
        Body::UploadResponse { .. } => 21,
        Body::FactoryReset => 22,
        Body::FactoryResetResponse => 23,
        Body::GetQueuedTransfers => 24,
        Body::GetQueuedTransfersResponse(_) => 25,
        Body::GetAllQueuedTransfers => 26,
        Body::GetAllQueuedTransfersResponse(_) => 27,
        Body::ScheduleInform { .. } => 28,
        Body::ScheduleInformResponse => 29,
        Body::SetVouchers { .. } => 30,
        Body::SetVouchersResponse => 31,
        Body::GetOptions { .. } => 32,
        Body::GetOptionsResponse(_) => 33,
        Body::ScheduleDownload(_) => 34,
        Body::ScheduleDownloadResponse => 35,
        Body::CancelTransfer { .. } => 36,
        Body::CancelTransferResponse => 37,
        Body::ChangeDUState { .. } => 38,
        Body::ChangeDUStateResponse => 39,
        Body::Inform(_) => 40,
        Body::InformResponse { .. } => 41,
        Body::TransferComplete(_) => 42,
        Body::TransferCompleteResponse => 43,
        Body::AutonomousTransferComplete(_) => 44,
        Body::AutonomousTransferCompleteResponse => 45,
        Body::DUStateChangeComplete(_) => 46,
        Body::DUStateChangeCompleteResponse => 47,
        Body::AutonomousDUStateChangeComplete(_) => 48,
        Body::AutonomousDUStateChangeCompleteResponse => 49,
        Body::RequestDownload { .. } => 50,
        Body::RequestDownloadResponse => 51,
        Body::Kicked { .. } => 52,
        Body::KickedResponse { .. } => 53,
        Body::Fault(_) => 54,
    }
}

fn s(text: &str) -> String {
    text.to_string()
}

fn pv(name: &str, value: &str, xsd_type: XsdType) -> ParameterValue {
    ParameterValue {
        name: s(name),
        value: s(value),
        xsd_type,
    }
}

fn du_result(n: u32) -> DuOpResult {
    DuOpResult {
        uuid: format!("uuid-{n}"),
        deployment_unit_ref: format!("Device.SoftwareModules.DeploymentUnit.{n}."),
        version: s("1.0"),
        current_state: s("Installed"),
        resolved: true,
        execution_unit_ref_list: s("Device.SoftwareModules.ExecutionUnit.1."),
        start_time: s("2024-01-01T00:00:00Z"),
        complete_time: s("2024-01-01T00:00:05Z"),
        fault: FaultStruct {
            code: 9001 + n,
            string: s("nope <&>"),
        },
    }
}

/// One non-trivial sample of every variant.
fn samples() -> Vec<Body> {
    let fault = FaultStruct {
        code: 9010,
        string: s("Download failure"),
    };
    vec![
        Body::GetRPCMethods,
        Body::GetRPCMethodsResponse(vec![s("Inform"), s("TransferComplete")]),
        Body::SetParameterValues {
            parameters: vec![
                pv("Device.A", " spaced ", XsdType::String),
                pv("Device.B", "true", XsdType::Boolean),
                pv("Device.C", "10.0.0.1", XsdType::Other(s("IPAddress"))),
            ],
            parameter_key: s("key & more"),
        },
        Body::SetParameterValuesResponse { status: 1 },
        Body::GetParameterValues {
            names: vec![s("Device.DeviceInfo."), s("Device.LAN.IPAddress")],
        },
        Body::GetParameterValuesResponse(vec![
            pv("Device.X", "-5", XsdType::Int),
            pv("Device.Y", "18446744073709551615", XsdType::UnsignedLong),
            pv("Device.Z", "-9", XsdType::Long),
            pv("Device.W", "AAEC", XsdType::Base64),
            pv("Device.V", "0a0b", XsdType::HexBinary),
            pv("Device.U", "2024-01-01T00:00:00Z", XsdType::DateTime),
            pv("Device.T", "7", XsdType::UnsignedInt),
        ]),
        Body::GetParameterNames {
            path: s("Device."),
            next_level: true,
        },
        Body::GetParameterNamesResponse(vec![
            ParameterInfo {
                name: s("Device."),
                writable: false,
            },
            ParameterInfo {
                name: s("Device.X"),
                writable: true,
            },
        ]),
        Body::SetParameterAttributes(vec![SetParameterAttribute {
            name: s("Device.X"),
            notification_change: true,
            notification: 2,
            access_list_change: true,
            access_list: vec![s("Subscriber")],
        }]),
        Body::SetParameterAttributesResponse,
        Body::GetParameterAttributes {
            names: vec![s("Device.X")],
        },
        Body::GetParameterAttributesResponse(vec![ParameterAttribute {
            name: s("Device.X"),
            notification: 1,
            access_list: vec![],
        }]),
        Body::AddObject {
            object_name: s("Device.IP.Interface."),
            parameter_key: s("pk"),
        },
        Body::AddObjectResponse {
            instance_number: 4,
            status: 0,
        },
        Body::DeleteObject {
            object_name: s("Device.IP.Interface.4."),
            parameter_key: s(""),
        },
        Body::DeleteObjectResponse { status: 1 },
        Body::Reboot {
            command_key: s("reboot-1"),
        },
        Body::RebootResponse,
        Body::Download(Download {
            command_key: s("dl"),
            file_type: s("1 Firmware Upgrade Image"),
            url: s("http://files/fw.bin?a=1&b=2"),
            username: s("u"),
            password: s("p\"w"),
            file_size: 123_456_789_012,
            target_file_name: s("fw.bin"),
            delay_seconds: 30,
            success_url: s("http://ok"),
            failure_url: s("http://ko"),
        }),
        Body::DownloadResponse {
            status: 1,
            start_time: s("0001-01-01T00:00:00Z"),
            complete_time: s("0001-01-01T00:00:00Z"),
        },
        Body::Upload(Upload {
            command_key: s("up"),
            file_type: s("1 Vendor Configuration File"),
            url: s("http://files/up"),
            username: s(""),
            password: s(""),
            delay_seconds: 0,
        }),
        Body::UploadResponse {
            status: 0,
            start_time: s("2024-01-01T00:00:00Z"),
            complete_time: s("2024-01-01T00:00:01Z"),
        },
        Body::FactoryReset,
        Body::FactoryResetResponse,
        Body::GetQueuedTransfers,
        Body::GetQueuedTransfersResponse(vec![QueuedTransfer {
            command_key: s("dl"),
            state: 2,
        }]),
        Body::GetAllQueuedTransfers,
        Body::GetAllQueuedTransfersResponse(vec![AllQueuedTransfer {
            command_key: s("dl"),
            state: 1,
            is_download: true,
            file_type: s("1 Firmware Upgrade Image"),
            file_size: 99,
            target_file_name: s("fw"),
        }]),
        Body::ScheduleInform {
            delay_seconds: 3600,
            command_key: s("si"),
        },
        Body::ScheduleInformResponse,
        Body::SetVouchers {
            vouchers: vec![s("TUlJQg=="), s("")],
        },
        Body::SetVouchersResponse,
        Body::GetOptions {
            option_name: s("X_Option"),
        },
        Body::GetOptionsResponse(vec![OptionInfo {
            option_name: s("X_Option"),
            voucher_sn: 17,
            state: 3,
            mode: 1,
            start_date: s("2024-01-01T00:00:00Z"),
            expiration_date: s(""),
            is_transferable: false,
        }]),
        Body::ScheduleDownload(ScheduleDownload {
            command_key: s("sd"),
            file_type: s("1 Firmware Upgrade Image"),
            url: s("http://files/fw"),
            username: s(""),
            password: s(""),
            file_size: 0,
            target_file_name: s(""),
            time_windows: vec![
                TimeWindow {
                    window_start: 0,
                    window_end: 3600,
                    window_mode: s("1 At Any Time"),
                    user_message: s(""),
                    max_retries: -1,
                },
                TimeWindow {
                    window_start: 7200,
                    window_end: 9000,
                    window_mode: s("4 Confirmation Needed"),
                    user_message: s("Update now?"),
                    max_retries: 3,
                },
            ],
        }),
        Body::ScheduleDownloadResponse,
        Body::CancelTransfer {
            command_key: s("dl"),
        },
        Body::CancelTransferResponse,
        Body::ChangeDUState {
            operations: vec![
                DuOperation::Install {
                    url: s("http://du/1.ipk"),
                    uuid: s("u1"),
                    username: s(""),
                    password: s(""),
                    execution_env_ref: s("Device.SoftwareModules.ExecEnv.1."),
                },
                DuOperation::Update {
                    uuid: s("u1"),
                    version: s("2"),
                    url: s("http://du/2.ipk"),
                    username: s("a"),
                    password: s("b"),
                },
                DuOperation::Uninstall {
                    uuid: s("u1"),
                    version: s("2"),
                    execution_env_ref: s(""),
                },
            ],
            command_key: s("du"),
        },
        Body::ChangeDUStateResponse,
        Body::Inform(Inform {
            device_id: DeviceIdStruct {
                manufacturer: s("ACME & Co"),
                oui: s("00D09E"),
                product_class: s("Router"),
                serial_number: s("SN<1>"),
            },
            events: vec![
                Event {
                    code: EventCode::Bootstrap,
                    command_key: s(""),
                },
                Event {
                    code: EventCode::MReboot,
                    command_key: s("reboot-1"),
                },
                Event {
                    code: EventCode::Other(s("X 00D09E VENDOR")),
                    command_key: s(""),
                },
            ],
            max_envelopes: 1,
            current_time: s("2024-01-01T00:00:00+01:00"),
            retry_count: 2,
            parameters: vec![pv(
                "Device.DeviceInfo.SoftwareVersion",
                "1.0",
                XsdType::String,
            )],
        }),
        Body::InformResponse { max_envelopes: 1 },
        Body::TransferComplete(TransferComplete {
            command_key: s("dl"),
            fault: fault.clone(),
            start_time: s("2024-01-01T00:00:00Z"),
            complete_time: s("2024-01-01T00:01:00Z"),
        }),
        Body::TransferCompleteResponse,
        Body::AutonomousTransferComplete(AutonomousTransferComplete {
            announce_url: s("http://announce"),
            transfer_url: s("http://transfer"),
            is_download: true,
            file_type: s("3 Vendor Configuration File"),
            file_size: 1024,
            target_file_name: s("cfg"),
            fault,
            start_time: s("2024-01-01T00:00:00Z"),
            complete_time: s("2024-01-01T00:01:00Z"),
        }),
        Body::AutonomousTransferCompleteResponse,
        Body::DUStateChangeComplete(DuStateChangeComplete {
            results: vec![du_result(0), du_result(1)],
            command_key: s("du"),
        }),
        Body::DUStateChangeCompleteResponse,
        Body::AutonomousDUStateChangeComplete(AutonomousDuStateChangeComplete {
            results: vec![AutonomousDuOpResult {
                result: du_result(2),
                operation_performed: s("Install"),
            }],
        }),
        Body::AutonomousDUStateChangeCompleteResponse,
        Body::RequestDownload {
            file_type: s("2 Web Content"),
            file_type_args: vec![FileTypeArg {
                name: s("Version"),
                value: s("v2 "),
            }],
        },
        Body::RequestDownloadResponse,
        Body::Kicked {
            command: s("cmd"),
            referer: s("http://ref"),
            arg: s("a=b&c=d"),
            next: s("http://next"),
        },
        Body::KickedResponse {
            next_url: s("http://next"),
        },
        Body::Fault(SoapFault {
            faultcode: s("Client"),
            faultstring: s("CWMP fault"),
            detail: CwmpFault {
                code: 9003,
                string: s("Invalid arguments"),
                set_parameter_values_faults: vec![SetParameterValuesFault {
                    parameter_name: s("Device.X"),
                    code: 9007,
                    string: s("Invalid parameter value"),
                }],
            },
        }),
    ]
}

#[test]
fn one_sample_of_every_variant_round_trips_in_every_version() {
    let samples = samples();
    let covered: BTreeSet<usize> = samples.iter().map(variant_index).collect();
    assert_eq!(
        covered,
        (0..VARIANT_COUNT).collect(),
        "a variant has no sample"
    );
    assert_eq!(samples.len(), VARIANT_COUNT);
    for body in samples {
        for version in CwmpVersion::ALL {
            let env = Envelope {
                version,
                header: Header {
                    id: Some(s("id-1")),
                    ..Header::default()
                },
                body: body.clone(),
            };
            let bytes = encode(&env);
            let text = String::from_utf8(bytes.clone()).expect("UTF-8");
            let element = match &body {
                Body::Fault(_) => s("<soap-env:Fault>"),
                other => format!("<cwmp:{}>", method_name(other)),
            };
            assert!(text.contains(&element), "{text}");
            assert_eq!(decode(&bytes), Ok(env), "{text}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Characters that need escaping, white space, and non-ASCII text.
const CHARS: &str = "[a-zA-Z0-9 ._:/;#=&<>\"'\t\n\r\u{e9}\u{fc}\u{4e2d}\u{1f600}-]";

/// Free text, kept exactly by the codec (values, keys, URLs...).
fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("{CHARS}{{0,12}}")).expect("regex")
}

/// Names, which the decoder trims: no surrounding white space.
fn name() -> impl Strategy<Value = String> {
    text().prop_map(|s| s.trim().to_string())
}

fn version() -> impl Strategy<Value = CwmpVersion> {
    proptest::sample::select(CwmpVersion::ALL.to_vec())
}

fn header() -> impl Strategy<Value = Header> {
    (
        proptest::option::of(text()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(name()),
        proptest::option::of(name()),
    )
        .prop_map(
            |(
                id,
                hold_requests,
                no_more_requests,
                session_timeout,
                supported_cwmp_versions,
                use_cwmp_version,
            )| Header {
                id,
                hold_requests,
                no_more_requests,
                session_timeout,
                supported_cwmp_versions,
                use_cwmp_version,
            },
        )
}

fn xsd_type() -> impl Strategy<Value = XsdType> {
    let vendor = "[A-Za-z_][A-Za-z0-9_.-]{0,10}".prop_filter_map("a known type name", |t| {
        match XsdType::from_name(&t) {
            XsdType::Other(_) => Some(XsdType::Other(t)),
            _ => None,
        }
    });
    prop_oneof![
        Just(XsdType::String),
        Just(XsdType::Int),
        Just(XsdType::UnsignedInt),
        Just(XsdType::Long),
        Just(XsdType::UnsignedLong),
        Just(XsdType::Boolean),
        Just(XsdType::DateTime),
        Just(XsdType::Base64),
        Just(XsdType::HexBinary),
        vendor,
    ]
}

fn parameter_value() -> impl Strategy<Value = ParameterValue> {
    (name(), text(), xsd_type()).prop_map(|(name, value, xsd_type)| ParameterValue {
        name,
        value,
        xsd_type,
    })
}

fn list<T: std::fmt::Debug>(item: impl Strategy<Value = T>) -> impl Strategy<Value = Vec<T>> {
    proptest::collection::vec(item, 0..4)
}

fn event_code() -> impl Strategy<Value = EventCode> {
    let known = proptest::sample::select(vec![
        "0 BOOTSTRAP",
        "1 BOOT",
        "2 PERIODIC",
        "3 SCHEDULED",
        "4 VALUE CHANGE",
        "5 KICKED",
        "6 CONNECTION REQUEST",
        "7 TRANSFER COMPLETE",
        "8 DIAGNOSTICS COMPLETE",
        "9 REQUEST DOWNLOAD",
        "10 AUTONOMOUS TRANSFER COMPLETE",
        "11 DU STATE CHANGE COMPLETE",
        "12 AUTONOMOUS DU STATE CHANGE COMPLETE",
        "13 WAKEUP",
        "14 HEARTBEAT",
        "M Reboot",
        "M ScheduleInform",
        "M Download",
        "M ScheduleDownload",
        "M Upload",
        "M ChangeDUState",
    ])
    .prop_map(EventCode::parse);
    prop_oneof![known, name().prop_map(|n| EventCode::parse(&n))]
}

fn fault_struct() -> impl Strategy<Value = FaultStruct> {
    (any::<u32>(), text()).prop_map(|(code, string)| FaultStruct { code, string })
}

fn du_op_result() -> impl Strategy<Value = DuOpResult> {
    (
        (text(), text(), text(), text(), any::<bool>()),
        (text(), text(), text(), fault_struct()),
    )
        .prop_map(
            |(
                (uuid, deployment_unit_ref, version, current_state, resolved),
                (execution_unit_ref_list, start_time, complete_time, fault),
            )| DuOpResult {
                uuid,
                deployment_unit_ref,
                version,
                current_state,
                resolved,
                execution_unit_ref_list,
                start_time,
                complete_time,
                fault,
            },
        )
}

fn du_operation() -> impl Strategy<Value = DuOperation> {
    prop_oneof![
        (text(), text(), text(), text(), text()).prop_map(
            |(url, uuid, username, password, execution_env_ref)| DuOperation::Install {
                url,
                uuid,
                username,
                password,
                execution_env_ref,
            }
        ),
        (text(), text(), text(), text(), text()).prop_map(
            |(uuid, version, url, username, password)| DuOperation::Update {
                uuid,
                version,
                url,
                username,
                password,
            }
        ),
        (text(), text(), text()).prop_map(|(uuid, version, execution_env_ref)| {
            DuOperation::Uninstall {
                uuid,
                version,
                execution_env_ref,
            }
        }),
    ]
}

fn inform() -> impl Strategy<Value = Inform> {
    (
        (text(), text(), text(), text()),
        list((event_code(), text()).prop_map(|(code, command_key)| Event { code, command_key })),
        any::<u32>(),
        text(),
        any::<u32>(),
        list(parameter_value()),
    )
        .prop_map(
            |(
                (manufacturer, oui, product_class, serial_number),
                events,
                max_envelopes,
                current_time,
                retry_count,
                parameters,
            )| Inform {
                device_id: DeviceIdStruct {
                    manufacturer,
                    oui,
                    product_class,
                    serial_number,
                },
                events,
                max_envelopes,
                current_time,
                retry_count,
                parameters,
            },
        )
}

fn download() -> impl Strategy<Value = Download> {
    (
        (text(), text(), text(), text(), text()),
        (any::<u64>(), text(), any::<u32>(), text(), text()),
    )
        .prop_map(
            |(
                (command_key, file_type, url, username, password),
                (file_size, target_file_name, delay_seconds, success_url, failure_url),
            )| Download {
                command_key,
                file_type,
                url,
                username,
                password,
                file_size,
                target_file_name,
                delay_seconds,
                success_url,
                failure_url,
            },
        )
}

fn upload() -> impl Strategy<Value = Upload> {
    (text(), text(), text(), text(), text(), any::<u32>()).prop_map(
        |(command_key, file_type, url, username, password, delay_seconds)| Upload {
            command_key,
            file_type,
            url,
            username,
            password,
            delay_seconds,
        },
    )
}

fn schedule_download() -> impl Strategy<Value = ScheduleDownload> {
    let window = (any::<u32>(), any::<u32>(), text(), text(), any::<i32>()).prop_map(
        |(window_start, window_end, window_mode, user_message, max_retries)| TimeWindow {
            window_start,
            window_end,
            window_mode,
            user_message,
            max_retries,
        },
    );
    (
        (text(), text(), text(), text(), text()),
        (any::<u64>(), text(), list(window)),
    )
        .prop_map(
            |(
                (command_key, file_type, url, username, password),
                (file_size, target_file_name, time_windows),
            )| ScheduleDownload {
                command_key,
                file_type,
                url,
                username,
                password,
                file_size,
                target_file_name,
                time_windows,
            },
        )
}

fn transfer_response(make: fn(u8, String, String) -> Body) -> impl Strategy<Value = Body> {
    (any::<u8>(), text(), text())
        .prop_map(move |(status, start, complete)| make(status, start, complete))
}

fn soap_fault() -> impl Strategy<Value = SoapFault> {
    let spv_fault = (name(), any::<u32>(), text()).prop_map(|(parameter_name, code, string)| {
        SetParameterValuesFault {
            parameter_name,
            code,
            string,
        }
    });
    (
        "[A-Za-z.]{0,10}",
        text(),
        any::<u32>(),
        text(),
        list(spv_fault),
    )
        .prop_map(
            |(faultcode, faultstring, code, string, set_parameter_values_faults)| SoapFault {
                faultcode,
                faultstring,
                detail: CwmpFault {
                    code,
                    string,
                    set_parameter_values_faults,
                },
            },
        )
}

/// Any body, every variant reachable.
fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        Just(Body::GetRPCMethods),
        list(name()).prop_map(Body::GetRPCMethodsResponse),
        (list(parameter_value()), text()).prop_map(|(parameters, parameter_key)| {
            Body::SetParameterValues {
                parameters,
                parameter_key,
            }
        }),
        any::<u8>().prop_map(|status| Body::SetParameterValuesResponse { status }),
        list(name()).prop_map(|names| Body::GetParameterValues { names }),
        list(parameter_value()).prop_map(Body::GetParameterValuesResponse),
        (name(), any::<bool>())
            .prop_map(|(path, next_level)| Body::GetParameterNames { path, next_level }),
        list((name(), any::<bool>()).prop_map(|(name, writable)| ParameterInfo { name, writable }))
            .prop_map(Body::GetParameterNamesResponse),
        list(
            (
                name(),
                any::<bool>(),
                any::<u8>(),
                any::<bool>(),
                list(name())
            )
                .prop_map(
                    |(name, notification_change, notification, access_list_change, access_list)| {
                        SetParameterAttribute {
                            name,
                            notification_change,
                            notification,
                            access_list_change,
                            access_list,
                        }
                    }
                )
        )
        .prop_map(Body::SetParameterAttributes),
        Just(Body::SetParameterAttributesResponse),
        list(name()).prop_map(|names| Body::GetParameterAttributes { names }),
        list(
            (name(), any::<u8>(), list(name())).prop_map(|(name, notification, access_list)| {
                ParameterAttribute {
                    name,
                    notification,
                    access_list,
                }
            })
        )
        .prop_map(Body::GetParameterAttributesResponse),
        (name(), text()).prop_map(|(object_name, parameter_key)| Body::AddObject {
            object_name,
            parameter_key,
        }),
        (any::<u32>(), any::<u8>()).prop_map(|(instance_number, status)| {
            Body::AddObjectResponse {
                instance_number,
                status,
            }
        }),
        (name(), text()).prop_map(|(object_name, parameter_key)| Body::DeleteObject {
            object_name,
            parameter_key,
        }),
        any::<u8>().prop_map(|status| Body::DeleteObjectResponse { status }),
        text().prop_map(|command_key| Body::Reboot { command_key }),
        Just(Body::RebootResponse),
        download().prop_map(Body::Download),
        transfer_response(|status, start_time, complete_time| Body::DownloadResponse {
            status,
            start_time,
            complete_time,
        }),
        upload().prop_map(Body::Upload),
        transfer_response(|status, start_time, complete_time| Body::UploadResponse {
            status,
            start_time,
            complete_time,
        }),
        Just(Body::FactoryReset),
        Just(Body::FactoryResetResponse),
        Just(Body::GetQueuedTransfers),
        list(
            (text(), any::<u8>())
                .prop_map(|(command_key, state)| QueuedTransfer { command_key, state })
        )
        .prop_map(Body::GetQueuedTransfersResponse),
        Just(Body::GetAllQueuedTransfers),
        list(
            (
                text(),
                any::<u8>(),
                any::<bool>(),
                text(),
                any::<u64>(),
                text()
            )
                .prop_map(
                    |(command_key, state, is_download, file_type, file_size, target_file_name)| {
                        AllQueuedTransfer {
                            command_key,
                            state,
                            is_download,
                            file_type,
                            file_size,
                            target_file_name,
                        }
                    }
                )
        )
        .prop_map(Body::GetAllQueuedTransfersResponse),
        (any::<u32>(), text()).prop_map(|(delay_seconds, command_key)| {
            Body::ScheduleInform {
                delay_seconds,
                command_key,
            }
        }),
        Just(Body::ScheduleInformResponse),
        list(text()).prop_map(|vouchers| Body::SetVouchers { vouchers }),
        Just(Body::SetVouchersResponse),
        name().prop_map(|option_name| Body::GetOptions { option_name }),
        list(
            (
                name(),
                any::<u32>(),
                any::<u32>(),
                any::<u8>(),
                text(),
                text(),
                any::<bool>()
            )
                .prop_map(
                    |(
                        option_name,
                        voucher_sn,
                        state,
                        mode,
                        start_date,
                        expiration_date,
                        is_transferable,
                    )| OptionInfo {
                        option_name,
                        voucher_sn,
                        state,
                        mode,
                        start_date,
                        expiration_date,
                        is_transferable,
                    }
                )
        )
        .prop_map(Body::GetOptionsResponse),
        schedule_download().prop_map(Body::ScheduleDownload),
        Just(Body::ScheduleDownloadResponse),
        text().prop_map(|command_key| Body::CancelTransfer { command_key }),
        Just(Body::CancelTransferResponse),
        (list(du_operation()), text()).prop_map(|(operations, command_key)| {
            Body::ChangeDUState {
                operations,
                command_key,
            }
        }),
        Just(Body::ChangeDUStateResponse),
        inform().prop_map(Body::Inform),
        any::<u32>().prop_map(|max_envelopes| Body::InformResponse { max_envelopes }),
        (text(), fault_struct(), text(), text()).prop_map(
            |(command_key, fault, start_time, complete_time)| {
                Body::TransferComplete(TransferComplete {
                    command_key,
                    fault,
                    start_time,
                    complete_time,
                })
            }
        ),
        Just(Body::TransferCompleteResponse),
        (
            (text(), text(), any::<bool>(), text(), any::<u64>()),
            (text(), fault_struct(), text(), text()),
        )
            .prop_map(
                |(
                    (announce_url, transfer_url, is_download, file_type, file_size),
                    (target_file_name, fault, start_time, complete_time),
                )| {
                    Body::AutonomousTransferComplete(AutonomousTransferComplete {
                        announce_url,
                        transfer_url,
                        is_download,
                        file_type,
                        file_size,
                        target_file_name,
                        fault,
                        start_time,
                        complete_time,
                    })
                }
            ),
        Just(Body::AutonomousTransferCompleteResponse),
        (list(du_op_result()), text()).prop_map(|(results, command_key)| {
            Body::DUStateChangeComplete(DuStateChangeComplete {
                results,
                command_key,
            })
        }),
        Just(Body::DUStateChangeCompleteResponse),
        list(
            (du_op_result(), text()).prop_map(|(result, operation_performed)| {
                AutonomousDuOpResult {
                    result,
                    operation_performed,
                }
            })
        )
        .prop_map(|results| {
            Body::AutonomousDUStateChangeComplete(AutonomousDuStateChangeComplete { results })
        }),
        Just(Body::AutonomousDUStateChangeCompleteResponse),
        (
            text(),
            list((name(), text()).prop_map(|(name, value)| FileTypeArg { name, value }))
        )
            .prop_map(|(file_type, file_type_args)| Body::RequestDownload {
                file_type,
                file_type_args,
            }),
        Just(Body::RequestDownloadResponse),
        (text(), text(), text(), text()).prop_map(|(command, referer, arg, next)| {
            Body::Kicked {
                command,
                referer,
                arg,
                next,
            }
        }),
        text().prop_map(|next_url| Body::KickedResponse { next_url }),
        soap_fault().prop_map(Body::Fault),
    ]
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (version(), header(), body()).prop_map(|(version, header, body)| Envelope {
        version,
        header,
        body,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn decode_inverts_encode(env in envelope()) {
        let bytes = encode(&env);
        let decoded = decode(&bytes);
        prop_assert_eq!(
            decoded.as_ref(),
            Ok(&env),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
    }

    #[test]
    fn decode_never_panics_on_mutated_envelopes(
        env in envelope(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = encode(&env);
        let at = flip.index(bytes.len());
        bytes[at] = byte;
        let _ = decode(&bytes);
        let cut = cut.index(bytes.len());
        let _ = decode(&bytes[..cut]);
    }
}

#[test]
fn the_strategy_reaches_every_variant() {
    let mut runner = TestRunner::deterministic();
    let strategy = body();
    let mut seen = BTreeSet::new();
    for _ in 0..5000 {
        let tree = strategy.new_tree(&mut runner).expect("value");
        seen.insert(variant_index(&tree.current()));
    }
    assert_eq!(seen, (0..VARIANT_COUNT).collect());
}
