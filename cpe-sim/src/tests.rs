//! Unit tests of the pure device logic: GetParameterNames semantics, SetParameterValues
//! faults, AddObject numbering, value-change events, the reboot and download state machines.

use std::sync::Arc;

use cwmp::{Body, Download, EventCode, ParameterValue, SetParameterAttribute, XsdType};

use crate::device::{Device, Env, Lifecycle};
use crate::events::EventSet;
use crate::inform::Trigger;
use crate::model::Model;
use crate::rpc::{answer, Action};
use crate::template::IdentityConfig;
use crate::transfer::{AfterTransfer, FetchOutcome, Injected};

const T0: u64 = 1_795_572_063_000;

/// A small model exercising tables, schemas and nested tables.
const SMALL: &str = "\
Device.DeviceInfo.SoftwareVersion\tstring\tro\t{software_version}\tinform
Device.DeviceInfo.UpTime\tunsignedInt\tro\t{uptime}
Device.ManagementServer.ParameterKey\tstring\tro\t\tinform
Device.ManagementServer.PeriodicInformInterval\tunsignedInt\trw\t{periodic_interval}
Device.ManagementServer.ConnectionRequestPassword\tstring\trw\t{cr_password}\tsecret
Device.Hosts.Host.\ttable\tro
Device.Hosts.Host.1.Name\tstring\tro\tlaptop
Device.Hosts.Host.2.Name\tstring\tro\tphone
Device.NAT.PortMapping.\ttable\trw
Device.NAT.PortMapping.{i}.Enable\tboolean\trw\tfalse
Device.NAT.PortMapping.{i}.Port\tunsignedInt\trw\t0
Device.NAT.PortMapping.1.Enable\tboolean\trw\ttrue
Device.NAT.PortMapping.1.Port\tunsignedInt\trw\t80
Device.IP.Interface.\ttable\trw
Device.IP.Interface.1.Name\tstring\trw\twan
Device.IP.Interface.1.Address.\ttable\trw
Device.IP.Interface.1.Address.1.IP\tstring\trw\t{wan_ip}\tinform
";

struct Fixture {
    model: Arc<Model>,
    identity: IdentityConfig,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            model: Arc::new(Model::parse("small", SMALL).unwrap()),
            identity: IdentityConfig::default(),
        }
    }

    fn env(&self, now_ms: u64) -> Env<'_> {
        Env {
            model: &self.model,
            identity: &self.identity,
            now_ms,
        }
    }
}

fn names(body: &Body) -> Vec<String> {
    match body {
        Body::GetParameterNamesResponse(list) => list.iter().map(|p| p.name.clone()).collect(),
        other => panic!("not a GPN response: {other:?}"),
    }
}

/// The events of a session's Inform, with their command keys.
fn event_list(start: &crate::inform::SessionStart) -> Vec<(String, String)> {
    start
        .inform
        .events
        .iter()
        .map(|e| (e.code.to_string(), e.command_key.clone()))
        .collect()
}

fn fault_code(body: &Body) -> u32 {
    match body {
        Body::Fault(fault) => fault.detail.code,
        other => panic!("not a fault: {other:?}"),
    }
}

fn gpn(device: &mut Device, env: &Env<'_>, path: &str, next_level: bool) -> Body {
    answer(
        device,
        env,
        &Body::GetParameterNames {
            path: path.into(),
            next_level,
        },
    )
    .body
}

fn spv(name: &str, value: &str, xsd_type: XsdType) -> ParameterValue {
    ParameterValue {
        name: name.into(),
        value: value.into(),
        xsd_type,
    }
}

#[test]
fn get_parameter_names_follows_tr069() {
    let f = Fixture::new();
    let env = f.env(T0);
    let mut d = Device::new(0, T0);
    // Empty path, next level: only the top object.
    assert_eq!(names(&gpn(&mut d, &env, "", true)), ["Device."]);
    // Partial path, next level: direct children, objects with a trailing dot, not itself.
    assert_eq!(
        names(&gpn(&mut d, &env, "Device.Hosts.Host.", true)),
        ["Device.Hosts.Host.1.", "Device.Hosts.Host.2."]
    );
    assert_eq!(
        names(&gpn(&mut d, &env, "Device.NAT.PortMapping.1.", true)),
        [
            "Device.NAT.PortMapping.1.Enable",
            "Device.NAT.PortMapping.1.Port"
        ]
    );
    // Partial path, all levels: the object itself and everything below; schemas never show.
    assert_eq!(
        names(&gpn(&mut d, &env, "Device.NAT.", false)),
        [
            "Device.NAT.",
            "Device.NAT.PortMapping.",
            "Device.NAT.PortMapping.1.",
            "Device.NAT.PortMapping.1.Enable",
            "Device.NAT.PortMapping.1.Port"
        ]
    );
    // The whole tree starts with the top object and lists every parameter.
    let all = names(&gpn(&mut d, &env, "", false));
    assert_eq!(all[0], "Device.");
    assert_eq!(
        all.iter().filter(|n| !n.ends_with('.')).count(),
        f.model.parameter_count()
    );
    // A parameter name: itself with NextLevel false, 9003 with NextLevel true.
    assert_eq!(
        names(&gpn(&mut d, &env, "Device.DeviceInfo.UpTime", false)),
        ["Device.DeviceInfo.UpTime"]
    );
    assert_eq!(
        fault_code(&gpn(&mut d, &env, "Device.DeviceInfo.UpTime", true)),
        9003
    );
    // Unknown names, objects without their dot, schema paths: 9005.
    for bad in [
        "Device.Nope.",
        "Device.DeviceInfo",
        "Device.NAT.PortMapping.{i}.",
        "Device.Hosts.Host.3.",
    ] {
        assert_eq!(fault_code(&gpn(&mut d, &env, bad, false)), 9005, "{bad}");
    }
    // Writable flags: tables that accept AddObject, deletable instances, writable parameters.
    let Body::GetParameterNamesResponse(list) = gpn(&mut d, &env, "Device.", false) else {
        panic!()
    };
    let writable = |name: &str| list.iter().find(|p| p.name == name).unwrap().writable;
    assert!(writable("Device.NAT.PortMapping.") && writable("Device.NAT.PortMapping.1."));
    assert!(!writable("Device.Hosts.Host.") && !writable("Device.Hosts.Host.1."));
    assert!(!writable("Device.DeviceInfo.") && !writable("Device.DeviceInfo.UpTime"));
    assert!(writable("Device.ManagementServer.PeriodicInformInterval"));
}

#[test]
fn get_parameter_values_takes_partial_paths_and_hides_secrets() {
    let f = Fixture::new();
    let env = f.env(T0 + 42_000);
    let mut d = Device::new(3, T0);
    let reply = answer(
        &mut d,
        &env,
        &Body::GetParameterValues {
            names: vec![
                "Device.DeviceInfo.".into(),
                "Device.ManagementServer.ConnectionRequestPassword".into(),
            ],
        },
    );
    let Body::GetParameterValuesResponse(values) = reply.body else {
        panic!("{reply:?}")
    };
    let pairs: Vec<(&str, &str)> = values
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("Device.DeviceInfo.SoftwareVersion", "1.0.0"),
            ("Device.DeviceInfo.UpTime", "42"),
            ("Device.ManagementServer.ConnectionRequestPassword", ""),
        ]
    );
    assert_eq!(values[1].xsd_type, XsdType::UnsignedInt);
    let missing = answer(
        &mut d,
        &env,
        &Body::GetParameterValues {
            names: vec!["Device.X".into()],
        },
    );
    assert_eq!(fault_code(&missing.body), 9005);
}

#[test]
fn set_parameter_values_faults_list_each_bad_parameter() {
    let f = Fixture::new();
    let env = f.env(T0);
    let mut d = Device::new(0, T0);
    let request = Body::SetParameterValues {
        parameters: vec![
            spv("Device.IP.Interface.1.Name", "lan", XsdType::String),
            spv("Device.Nope", "x", XsdType::String),
            spv("Device.DeviceInfo.UpTime", "1", XsdType::UnsignedInt),
            spv("Device.NAT.PortMapping.1.Port", "80", XsdType::String),
            spv("Device.NAT.PortMapping.1.Enable", "maybe", XsdType::Boolean),
            spv("Device.NAT.", "x", XsdType::String),
        ],
        parameter_key: "k1".into(),
    };
    let reply = answer(&mut d, &env, &request);
    let Body::Fault(fault) = &reply.body else {
        panic!("{reply:?}")
    };
    assert_eq!(fault.detail.code, 9003);
    assert_eq!(fault.faultcode, "Client");
    let listed: Vec<(&str, u32)> = fault
        .detail
        .set_parameter_values_faults
        .iter()
        .map(|p| (p.parameter_name.as_str(), p.code))
        .collect();
    assert_eq!(
        listed,
        [
            ("Device.Nope", 9005),
            ("Device.DeviceInfo.UpTime", 9008),
            ("Device.NAT.PortMapping.1.Port", 9006),
            ("Device.NAT.PortMapping.1.Enable", 9007),
            ("Device.NAT.", 9005),
        ]
    );
    // All or nothing: the valid one was not applied, and the key did not change.
    let value = |d: &Device, path: &str| d.value(&env, d.resolve(&env, path).unwrap());
    assert_eq!(value(&d, "Device.IP.Interface.1.Name"), "wan");
    assert_eq!(value(&d, "Device.ManagementServer.ParameterKey"), "");
    // A valid request applies everything and sets the ParameterKey.
    let ok = answer(
        &mut d,
        &env,
        &Body::SetParameterValues {
            parameters: vec![
                spv("Device.IP.Interface.1.Name", "lan", XsdType::String),
                spv("Device.NAT.PortMapping.1.Enable", "0", XsdType::Boolean),
            ],
            parameter_key: "k2".into(),
        },
    );
    assert_eq!(ok.body, Body::SetParameterValuesResponse { status: 0 });
    assert_eq!(value(&d, "Device.IP.Interface.1.Name"), "lan");
    assert_eq!(value(&d, "Device.NAT.PortMapping.1.Enable"), "false");
    assert_eq!(value(&d, "Device.ManagementServer.ParameterKey"), "k2");
    // Setting a value back to its default frees the override.
    answer(
        &mut d,
        &env,
        &Body::SetParameterValues {
            parameters: vec![
                spv("Device.IP.Interface.1.Name", "wan", XsdType::String),
                spv("Device.NAT.PortMapping.1.Enable", "true", XsdType::Boolean),
            ],
            parameter_key: String::new(),
        },
    );
    d.compact();
    assert!(d.extra().is_none(), "{:?}", d.extra());
    // The same parameter twice is invalid.
    let twice = answer(
        &mut d,
        &env,
        &Body::SetParameterValues {
            parameters: vec![
                spv("Device.IP.Interface.1.Name", "a", XsdType::String),
                spv("Device.IP.Interface.1.Name", "b", XsdType::String),
            ],
            parameter_key: String::new(),
        },
    );
    assert_eq!(fault_code(&twice.body), 9003);
}

#[test]
fn add_object_numbers_grow_and_are_never_reused() {
    let f = Fixture::new();
    let env = f.env(T0);
    let mut d = Device::new(0, T0);
    let add = |d: &mut Device, name: &str| {
        answer(
            d,
            &env,
            &Body::AddObject {
                object_name: name.into(),
                parameter_key: "add".into(),
            },
        )
        .body
    };
    let delete = |d: &mut Device, name: &str| {
        answer(
            d,
            &env,
            &Body::DeleteObject {
                object_name: name.into(),
                parameter_key: "del".into(),
            },
        )
        .body
    };
    let number = |body: Body| match body {
        Body::AddObjectResponse {
            instance_number, ..
        } => instance_number,
        other => panic!("{other:?}"),
    };
    assert_eq!(number(add(&mut d, "Device.NAT.PortMapping.")), 2);
    assert_eq!(number(add(&mut d, "Device.NAT.PortMapping.")), 3);
    // New instances take the schema's defaults and can be written.
    assert_eq!(
        names(&gpn(&mut d, &env, "Device.NAT.PortMapping.", true)),
        [
            "Device.NAT.PortMapping.1.",
            "Device.NAT.PortMapping.2.",
            "Device.NAT.PortMapping.3."
        ]
    );
    let port = d.resolve(&env, "Device.NAT.PortMapping.3.Port").unwrap();
    assert_eq!(d.value(&env, port), "0");
    let set = answer(
        &mut d,
        &env,
        &Body::SetParameterValues {
            parameters: vec![spv(
                "Device.NAT.PortMapping.3.Port",
                "8443",
                XsdType::UnsignedInt,
            )],
            parameter_key: String::new(),
        },
    );
    assert_eq!(set.body, Body::SetParameterValuesResponse { status: 0 });
    assert_eq!(d.value(&env, port), "8443");
    // Deleting the highest instance does not free its number.
    assert_eq!(
        delete(&mut d, "Device.NAT.PortMapping.3."),
        Body::DeleteObjectResponse { status: 0 }
    );
    assert_eq!(
        delete(&mut d, "Device.NAT.PortMapping.1."),
        Body::DeleteObjectResponse { status: 0 }
    );
    assert_eq!(number(add(&mut d, "Device.NAT.PortMapping.")), 4);
    assert_eq!(
        names(&gpn(&mut d, &env, "Device.NAT.PortMapping.", true)),
        ["Device.NAT.PortMapping.2.", "Device.NAT.PortMapping.4."]
    );
    assert!(d.resolve(&env, "Device.NAT.PortMapping.3.Port").is_none());
    assert!(d.resolve(&env, "Device.NAT.PortMapping.1.Port").is_none());
    // Nested tables of template instances grow too; read-only tables and non-tables do not.
    assert_eq!(number(add(&mut d, "Device.IP.Interface.1.Address.")), 2);
    assert_eq!(fault_code(&add(&mut d, "Device.Hosts.Host.")), 9005);
    assert_eq!(fault_code(&add(&mut d, "Device.NAT.")), 9005);
    assert_eq!(fault_code(&add(&mut d, "Device.NAT.PortMapping")), 9005);
    assert_eq!(
        fault_code(&delete(&mut d, "Device.NAT.PortMapping.9.")),
        9005
    );
    assert_eq!(fault_code(&delete(&mut d, "Device.Hosts.Host.1.")), 9005);
    // Deleting an interface takes its nested added instances with it.
    assert_eq!(number(add(&mut d, "Device.IP.Interface.")), 2);
    assert_eq!(
        names(&gpn(&mut d, &env, "Device.IP.Interface.2.", false)),
        [
            "Device.IP.Interface.2.",
            "Device.IP.Interface.2.Name",
            "Device.IP.Interface.2.Address."
        ]
    );
    assert_eq!(
        delete(&mut d, "Device.IP.Interface.1."),
        Body::DeleteObjectResponse { status: 0 }
    );
    assert!(d
        .resolve(&env, "Device.IP.Interface.1.Address.2.")
        .is_none());
    let key = d
        .resolve(&env, "Device.ManagementServer.ParameterKey")
        .unwrap();
    assert_eq!(d.value(&env, key), "del");
}

#[test]
fn active_notification_reports_value_changes() {
    let f = Fixture::new();
    let mut d = Device::new(0, T0);
    let env = f.env(T0);
    let start = d.begin_session(&env, Trigger::Pending).unwrap();
    let codes: Vec<_> = start.inform.events.iter().map(|e| e.code.clone()).collect();
    assert_eq!(codes, [EventCode::Bootstrap, EventCode::Boot]);
    d.inform_accepted(&start);
    assert_eq!(d.lifecycle, Lifecycle::Known);
    // Active notification on the uptime and on a writable parameter.
    let attrs = answer(
        &mut d,
        &env,
        &Body::SetParameterAttributes(vec![
            SetParameterAttribute {
                name: "Device.DeviceInfo.UpTime".into(),
                notification_change: true,
                notification: 2,
                access_list_change: false,
                access_list: vec![],
            },
            SetParameterAttribute {
                name: "Device.IP.Interface.1.".into(),
                notification_change: true,
                notification: 1,
                access_list_change: true,
                access_list: vec!["Subscriber".into()],
            },
        ]),
    );
    assert_eq!(attrs.body, Body::SetParameterAttributesResponse);
    assert!(d.has_active_notification());
    assert!(d.changed_notified(&env).is_empty(), "nothing changed yet");
    // Time passes: the uptime changes and is reported with 4 VALUE CHANGE.
    let later = f.env(T0 + 5_000);
    let changed = d.changed_notified(&later);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].2, 2);
    let start = d.begin_session(&later, Trigger::Periodic).unwrap();
    let codes: Vec<_> = start
        .inform
        .events
        .iter()
        .map(|e| e.code.to_string())
        .collect();
    assert_eq!(codes, ["2 PERIODIC", "4 VALUE CHANGE"]);
    assert!(start
        .inform
        .parameters
        .iter()
        .any(|p| p.name == "Device.DeviceInfo.UpTime" && p.value == "5"));
    d.inform_accepted(&start);
    assert!(d.changed_notified(&later).is_empty());
    assert!(d.pending.is_empty());
    // A change by the ACS itself is not notified; a change on the device (passive) is.
    let name = d.resolve(&later, "Device.IP.Interface.1.Name").unwrap();
    answer(
        &mut d,
        &later,
        &Body::SetParameterValues {
            parameters: vec![spv("Device.IP.Interface.1.Name", "acs", XsdType::String)],
            parameter_key: String::new(),
        },
    );
    assert!(d.changed_notified(&later).is_empty());
    d.store_value(&later, name, "user");
    assert_eq!(d.changed_notified(&later)[0].2, 1);
    let gpa = answer(
        &mut d,
        &later,
        &Body::GetParameterAttributes {
            names: vec!["Device.IP.Interface.1.Name".into()],
        },
    );
    let Body::GetParameterAttributesResponse(list) = gpa.body else {
        panic!()
    };
    assert_eq!(
        (list[0].notification, list[0].access_list.clone()),
        (1, vec!["Subscriber".to_string()])
    );
    // Notification 3+ is rejected.
    let rejected = answer(
        &mut d,
        &later,
        &Body::SetParameterAttributes(vec![SetParameterAttribute {
            name: "Device.DeviceInfo.UpTime".into(),
            notification_change: true,
            notification: 5,
            access_list_change: false,
            access_list: vec![],
        }]),
    );
    assert_eq!(fault_code(&rejected.body), 9009);
}

#[test]
fn reboot_and_factory_reset_report_boot_events() {
    let f = Fixture::new();
    let env = f.env(T0);
    let mut d = Device::new(0, T0);
    let start = d.begin_session(&env, Trigger::Pending).unwrap();
    d.inform_accepted(&start);
    let reboot = answer(
        &mut d,
        &env,
        &Body::Reboot {
            command_key: "rb-1".into(),
        },
    );
    assert_eq!(
        (reboot.body, reboot.action),
        (Body::RebootResponse, Some(Action::Reboot))
    );
    let later = f.env(T0 + 60_000);
    d.reboot(&later);
    let start = d.begin_session(&later, Trigger::Pending).unwrap();
    let events = event_list(&start);
    assert_eq!(
        events,
        [
            ("1 BOOT".into(), String::new()),
            ("M Reboot".into(), "rb-1".into())
        ]
    );
    d.inform_accepted(&start);
    assert!(d.pending.is_empty());
    // Factory reset: values back to defaults, then 0 BOOTSTRAP + 1 BOOT.
    let r = d.resolve(&env, "Device.IP.Interface.1.Name").unwrap();
    d.store_value(&env, r, "changed");
    let reset = answer(&mut d, &env, &Body::FactoryReset);
    assert_eq!(reset.action, Some(Action::FactoryReset));
    d.factory_reset(&later);
    assert_eq!(d.value(&later, r), "wan");
    assert_eq!(d.pending, EventSet::BOOTSTRAP | EventSet::BOOT);
    assert_eq!(d.lifecycle, Lifecycle::New);
    // ScheduleInform: 3 SCHEDULED with M ScheduleInform after the delay; 0 s is refused.
    let scheduled = answer(
        &mut d,
        &env,
        &Body::ScheduleInform {
            delay_seconds: 30,
            command_key: "s".into(),
        },
    );
    assert_eq!(scheduled.action, Some(Action::ScheduleInform(30)));
    d.scheduled_inform_due();
    assert!(d
        .pending
        .contains(EventSet::SCHEDULED | EventSet::M_SCHEDULE_INFORM));
    let zero = answer(
        &mut d,
        &env,
        &Body::ScheduleInform {
            delay_seconds: 0,
            command_key: String::new(),
        },
    );
    assert_eq!(fault_code(&zero.body), 9003);
    // Unsupported methods: 9000.
    assert_eq!(
        fault_code(&answer(&mut d, &env, &Body::GetQueuedTransfers).body),
        9000
    );
    let Body::GetRPCMethodsResponse(methods) = answer(&mut d, &env, &Body::GetRPCMethods).body
    else {
        panic!()
    };
    assert!(methods.contains(&"Download".to_string()));
}

fn download(d: &mut Device, env: &Env<'_>, url: &str, size: u64) -> Body {
    answer(
        d,
        env,
        &Body::Download(Download {
            command_key: "task-1".into(),
            file_type: "1 Firmware Upgrade Image".into(),
            url: url.into(),
            file_size: size,
            target_file_name: "fw-2.0.0.bin".into(),
            ..Download::default()
        }),
    )
    .body
}

#[test]
fn download_success_reboots_into_the_new_version() {
    let f = Fixture::new();
    let env = f.env(T0);
    let mut d = Device::new(0, T0);
    let start = d.begin_session(&env, Trigger::Pending).unwrap();
    d.inform_accepted(&start);
    let hash = [7u8; 32];
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    let url = format!("http://127.0.0.1:1/fw.bin?sha256={hex}");
    assert!(matches!(
        download(&mut d, &env, &url, 10),
        Body::DownloadResponse { status: 1, .. }
    ));
    // A second transfer while one is queued is refused.
    assert_eq!(fault_code(&download(&mut d, &env, &url, 10)), 9004);
    let transfer = d.transfer_to_run(&f.env(T0 + 1_000)).unwrap();
    assert_eq!(transfer.command_key, "task-1");
    let after = d.transfer_finished(
        &f.env(T0 + 2_000),
        &FetchOutcome::Fetched {
            size: 10,
            sha256: hash,
        },
        Injected::None,
    );
    assert_eq!(after, AfterTransfer::Reboot);
    d.reboot(&f.env(T0 + 3_000));
    let start = d
        .begin_session(&f.env(T0 + 3_000), Trigger::Pending)
        .unwrap();
    let events = event_list(&start);
    assert_eq!(
        events,
        [
            ("1 BOOT".into(), String::new()),
            ("7 TRANSFER COMPLETE".into(), String::new()),
            ("M Download".into(), "task-1".into())
        ]
    );
    let version = start
        .inform
        .parameters
        .iter()
        .find(|p| p.name == "Device.DeviceInfo.SoftwareVersion")
        .unwrap();
    assert_eq!(version.value, "fw-2.0.0");
    let complete = start.transfer_complete.clone().unwrap();
    assert_eq!(
        (complete.command_key.as_str(), complete.fault.code),
        ("task-1", 0)
    );
    d.inform_accepted(&start);
    assert!(
        d.pending.contains(EventSet::TRANSFER_COMPLETE),
        "kept until acknowledged"
    );
    d.transfer_reported();
    assert!(d.pending.is_empty());
    assert!(d.transfer_complete().is_none());
}

#[test]
fn download_failures_report_the_right_fault() {
    let f = Fixture::new();
    let env = f.env(T0);
    let cases = [
        (
            "http://h/fw.bin",
            10,
            FetchOutcome::Failed("refused".into()),
            Injected::None,
            9010,
            AfterTransfer::InformNow,
        ),
        (
            "http://h/fw.bin",
            10,
            FetchOutcome::Fetched {
                size: 9,
                sha256: [0; 32],
            },
            Injected::None,
            9018,
            AfterTransfer::InformNow,
        ),
        (
            "http://h/fw.bin#sha256=00ff",
            0,
            FetchOutcome::Fetched {
                size: 9,
                sha256: [0; 32],
            },
            Injected::None,
            9018,
            AfterTransfer::InformNow,
        ),
        (
            "http://h/fw.bin",
            0,
            FetchOutcome::Fetched {
                size: 9,
                sha256: [0; 32],
            },
            Injected::Corrupted,
            9018,
            AfterTransfer::InformNow,
        ),
        (
            "http://h/fw.bin",
            0,
            FetchOutcome::Fetched {
                size: 9,
                sha256: [0; 32],
            },
            Injected::DownloadFailure,
            9010,
            AfterTransfer::InformNow,
        ),
        (
            "http://h/fw.bin",
            0,
            FetchOutcome::Fetched {
                size: 9,
                sha256: [0; 32],
            },
            Injected::NeverReturns,
            0,
            AfterTransfer::Silent,
        ),
    ];
    for (url, size, outcome, injected, code, next) in cases {
        let mut d = Device::new(0, T0);
        let start = d.begin_session(&env, Trigger::Pending).unwrap();
        d.inform_accepted(&start);
        download(&mut d, &env, url, size);
        d.transfer_to_run(&env).unwrap();
        assert_eq!(
            d.transfer_finished(&env, &outcome, injected),
            next,
            "{url} {injected:?}"
        );
        assert_eq!(
            d.transfer_complete().unwrap().fault.code,
            code,
            "{url} {injected:?}"
        );
        let version = d
            .resolve(&env, "Device.DeviceInfo.SoftwareVersion")
            .unwrap();
        assert_eq!(d.value(&env, version) == "fw-2.0.0", code == 0);
        if next == AfterTransfer::Silent {
            assert!(d.begin_session(&env, Trigger::Periodic).is_none());
        } else {
            assert!(d
                .pending
                .contains(EventSet::TRANSFER_COMPLETE | EventSet::M_DOWNLOAD));
            assert!(!d.pending.contains(EventSet::BOOT));
        }
    }
    // Unsupported protocols and file types fault at once.
    let mut d = Device::new(0, T0);
    assert_eq!(
        fault_code(&download(&mut d, &env, "ftp://h/fw.bin", 0)),
        9013
    );
    let other_type = answer(
        &mut d,
        &env,
        &Body::Download(Download {
            file_type: "4 Tone File".into(),
            url: "http://h/t".into(),
            ..Download::default()
        }),
    );
    assert_eq!(fault_code(&other_type.body), 9003);
}

#[test]
fn versions_come_from_file_names() {
    use crate::transfer::{expected_sha256, version_from};
    assert_eq!(version_from("fw-2.0.1.bin", "http://x/y"), "fw-2.0.1");
    assert_eq!(version_from("", "http://x/files/3.1.img?sha256=ab"), "3.1");
    assert_eq!(version_from(" 4.0 ", ""), "4.0");
    assert_eq!(
        expected_sha256("http://x/f?a=1&sha256=AB"),
        Some("ab".into())
    );
    assert_eq!(expected_sha256("http://x/f#sha256=cd"), Some("cd".into()));
    assert_eq!(expected_sha256("http://x/f"), None);
}

#[test]
fn idle_devices_stay_small() {
    let f = Fixture::new();
    let env = f.env(T0);
    let mut d = Device::new(0, T0);
    let start = d.begin_session(&env, Trigger::Periodic).unwrap();
    d.inform_accepted(&start);
    assert!(d.extra().is_none());
    assert!(
        std::mem::size_of::<Device>() <= 40,
        "{}",
        std::mem::size_of::<Device>()
    );
    // Forced inform parameters come from the model, in order.
    let names: Vec<_> = start
        .inform
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Device.DeviceInfo.SoftwareVersion",
            "Device.ManagementServer.ParameterKey",
            "Device.IP.Interface.1.Address.1.IP"
        ]
    );
    assert_eq!(start.inform.parameters[2].value, "100.64.0.0");
    // A forced parameter whose object was deleted is no longer sent.
    d.delete_instance(&env, d.resolve(&env, "Device.IP.Interface.1.").unwrap())
        .unwrap();
    let start = d.begin_session(&env, Trigger::Periodic).unwrap();
    assert_eq!(start.inform.parameters.len(), 2);
    assert_eq!(start.inform.device_id.serial_number, "SIM00000000");
}

#[test]
fn schedule_download_waits_for_its_window_and_reports_m_schedule_download() {
    let f = Fixture::new();
    let env = f.env(T0);
    let mut d = Device::new(0, T0);
    let start = d.begin_session(&env, Trigger::Pending).unwrap();
    d.inform_accepted(&start);
    let request = |start: u32, end: u32| {
        Body::ScheduleDownload(cwmp::ScheduleDownload {
            command_key: "task-2".into(),
            file_type: "1 Firmware Upgrade Image".into(),
            url: "http://127.0.0.1:1/fw-2.0.0.bin".into(),
            time_windows: vec![cwmp::TimeWindow {
                window_start: start,
                window_end: end,
                window_mode: "1 At Any Time".into(),
                max_retries: -1,
                ..cwmp::TimeWindow::default()
            }],
            ..cwmp::ScheduleDownload::default()
        })
    };
    // A window that closes before it opens is refused.
    assert_eq!(
        fault_code(&answer(&mut d, &env, &request(60, 30)).body),
        9003
    );
    let accepted = answer(&mut d, &env, &request(60, 120));
    assert_eq!(accepted.body, Body::ScheduleDownloadResponse);
    let transfer = d.transfer_to_run(&f.env(T0 + 60_000)).unwrap();
    assert_eq!(
        transfer.delay_seconds, 60,
        "it starts when the window opens"
    );
    let after = d.transfer_finished(
        &f.env(T0 + 61_000),
        &FetchOutcome::Fetched {
            size: 0,
            sha256: [0; 32],
        },
        Injected::None,
    );
    assert_eq!(after, AfterTransfer::Reboot);
    d.reboot(&f.env(T0 + 62_000));
    let start = d
        .begin_session(&f.env(T0 + 62_000), Trigger::Pending)
        .unwrap();
    let events = event_list(&start);
    assert!(events.contains(&("M ScheduleDownload".into(), "task-2".into())));
    assert!(events.contains(&("7 TRANSFER COMPLETE".into(), String::new())));
    assert_eq!(start.transfer_complete.unwrap().fault.code, 0);
}
