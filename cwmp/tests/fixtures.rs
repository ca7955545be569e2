//! Decodes every envelope of the recorded easycwmp 1.8.6 ↔ GenieACS sessions.

use std::path::PathBuf;

use cwmp::encode::encode;
use cwmp::{decode, Body, CwmpVersion, Envelope, EventCode, XsdType};

/// One HTTP message of a recorded TCP stream.
struct Message {
    /// Request line or status line.
    start_line: String,
    /// The message body (`Content-Length` bytes after the blank line).
    body: Vec<u8>,
}

impl Message {
    /// POSTs come from the CPE; responses on the CWMP port come from the ACS.
    fn sent_by_cpe(&self) -> bool {
        self.start_line.starts_with("POST ")
    }
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/real-cpe/easycwmp-1.8.6")
}

/// The HTTP messages of a Wireshark "follow TCP stream" dump, in order.
fn messages(file: &str) -> Vec<Message> {
    let path = fixture_dir().join(file);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let line_end = data[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| pos + i + 1);
        let line = &data[pos..line_end];
        let is_start = [&b"POST "[..], b"GET ", b"HTTP/1.1 "]
            .iter()
            .any(|p| line.starts_with(p));
        if !is_start {
            pos = line_end;
            continue;
        }
        let head_end = data[pos..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| pos + i + 4)
            .expect("end of HTTP headers");
        let head = std::str::from_utf8(&data[pos..head_end]).expect("ASCII headers");
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().expect("Content-Length"))
            })
            .unwrap_or(0);
        let body = data[head_end..head_end + length].to_vec();
        out.push(Message {
            start_line: head.lines().next().unwrap_or_default().to_string(),
            body,
        });
        pos = head_end + length;
    }
    out
}

/// The decoded envelopes of a file, `(from_cpe, envelope, raw)`, skipping empty bodies. Every
/// envelope must also survive a round trip through the encoder.
fn envelopes(file: &str) -> Vec<(bool, Envelope, Vec<u8>)> {
    messages(file)
        .into_iter()
        .filter(|m| !m.body.is_empty())
        .map(|m| {
            let env = decode(&m.body).unwrap_or_else(|e| {
                panic!(
                    "{file}: {}: {e}\n{}",
                    m.start_line,
                    String::from_utf8_lossy(&m.body)
                )
            });
            let again = decode(&encode(&env)).expect("re-decode");
            assert_eq!(again, env, "{file}: round trip of {}", m.start_line);
            (m.sent_by_cpe(), env, m.body)
        })
        .collect()
}

const FILES: &[&str] = &[
    "session1-bootstrap.txt",
    "session2-after-spv.txt",
    "session-periodic.txt",
    "session-after-reboot.txt",
    "session-connreq-gpv.txt",
    "session-connreq-reboot.txt",
];

#[test]
fn every_envelope_in_every_recording_decodes() {
    let mut from_cpe = 0;
    let mut from_acs = 0;
    for file in FILES {
        for (cpe, env, _) in envelopes(file) {
            assert_eq!(env.version, CwmpVersion::V1_2, "{file}");
            assert!(
                env.header.id.is_some(),
                "{file}: every envelope has a cwmp:ID"
            );
            if cpe {
                from_cpe += 1;
            } else {
                from_acs += 1;
            }
        }
    }
    assert_eq!(from_cpe, 13);
    assert_eq!(from_acs, 13);
}

#[test]
fn acs_envelopes_encode_back_byte_for_byte() {
    // Our encoder writes the same layout as GenieACS: re-encoding its envelopes gives its bytes.
    for file in FILES {
        for (cpe, env, raw) in envelopes(file) {
            if !cpe {
                assert_eq!(
                    String::from_utf8(encode(&env)).unwrap(),
                    String::from_utf8(raw).unwrap(),
                    "{file}"
                );
            }
        }
    }
}

#[test]
fn bootstrap_inform() {
    let envs = envelopes("session1-bootstrap.txt");
    let (cpe, env, _) = &envs[0];
    assert!(cpe);
    assert_eq!(env.version, CwmpVersion::V1_2);
    assert_eq!(env.header.id.as_deref(), Some("1"));
    let Body::Inform(inform) = &env.body else {
        panic!("not an Inform: {:?}", env.body)
    };
    assert_eq!(inform.device_id.manufacturer, "easycwmp");
    assert_eq!(inform.device_id.oui, "FFFFFF");
    assert_eq!(inform.device_id.product_class, "easycwmp");
    assert_eq!(inform.device_id.serial_number, "SCOUT000001");
    let codes: Vec<_> = inform.events.iter().map(|e| e.code.clone()).collect();
    assert_eq!(codes, [EventCode::Bootstrap, EventCode::Boot]);
    assert!(inform.events.iter().all(|e| e.command_key.is_empty()));
    assert_eq!(inform.max_envelopes, 1);
    assert_eq!(inform.current_time, "2026-11-25T02:01:03+00:00");
    assert_eq!(inform.retry_count, 0);
    assert_eq!(inform.parameters.len(), 10);
    let p = &inform.parameters[0];
    assert_eq!(p.name, "Device.DeviceInfo.SpecVersion");
    assert_eq!(p.value, "1.0");
    assert_eq!(p.xsd_type, XsdType::String);
    assert_eq!(inform.parameters[1].value, "");
    assert_eq!(
        inform.parameters[8].name,
        "Device.ManagementServer.ConnectionRequestURL"
    );
    assert_eq!(inform.parameters[8].value, "http://127.0.0.1:7548/");
}

#[test]
fn bootstrap_session_rpcs() {
    let envs = envelopes("session1-bootstrap.txt");
    let bodies: Vec<&Body> = envs.iter().map(|(_, e, _)| &e.body).collect();
    assert_eq!(bodies.len(), 10);

    assert_eq!(*bodies[1], Body::InformResponse { max_envelopes: 1 });
    assert_eq!(envs[1].1.header.id.as_deref(), Some("1"));

    assert_eq!(
        *bodies[2],
        Body::GetParameterNames {
            path: String::new(),
            next_level: true
        }
    );
    assert_eq!(envs[2].1.header.id.as_deref(), Some("1a2106f5cec0000"));
    let Body::GetParameterNamesResponse(infos) = bodies[3] else {
        panic!("{:?}", bodies[3])
    };
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].name, "Device.");
    assert!(!infos[0].writable);
    assert_eq!(envs[3].1.header.id.as_deref(), Some("1a2106f5cec0000"));

    let Body::GetParameterNamesResponse(infos) = bodies[5] else {
        panic!("{:?}", bodies[5])
    };
    assert_eq!(infos.len(), 10);
    assert_eq!(infos[0].name, "Device.ManagementServer.URL");
    assert!(infos[0].writable);
    assert_eq!(
        infos[6].name,
        "Device.ManagementServer.ConnectionRequestURL"
    );
    assert!(!infos[6].writable);

    let Body::GetParameterValues { names } = bodies[6] else {
        panic!("{:?}", bodies[6])
    };
    assert_eq!(names.len(), 5);
    assert_eq!(
        names[0],
        "Device.ManagementServer.ConnectionRequestUsername"
    );

    let Body::GetParameterValuesResponse(values) = bodies[7] else {
        panic!("{:?}", bodies[7])
    };
    let summary: Vec<(&str, &str, &XsdType)> = values
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str(), &p.xsd_type))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "Device.ManagementServer.ConnectionRequestUsername",
                "easycwmp",
                &XsdType::String
            ),
            (
                "Device.ManagementServer.ConnectionRequestPassword",
                "",
                &XsdType::String
            ),
            (
                "Device.ManagementServer.PeriodicInformEnable",
                "1",
                &XsdType::Boolean
            ),
            (
                "Device.ManagementServer.PeriodicInformInterval",
                "60",
                &XsdType::UnsignedInt
            ),
            (
                "Device.ManagementServer.PeriodicInformTime",
                "0001-01-01T00:00:00Z",
                &XsdType::DateTime
            ),
        ]
    );

    let Body::SetParameterValues {
        parameters,
        parameter_key,
    } = bodies[8]
    else {
        panic!("{:?}", bodies[8])
    };
    assert_eq!(parameter_key, "");
    assert_eq!(parameters.len(), 4);
    assert_eq!(parameters[0].value, "FFFFFF-easycwmp-SCOUT000001");
    assert_eq!(parameters[2].xsd_type, XsdType::UnsignedInt);
    assert_eq!(parameters[3].value, "1970-01-01T10:38:33.195Z");

    assert_eq!(*bodies[9], Body::SetParameterValuesResponse { status: 1 });
    assert_eq!(envs[9].1.header.id.as_deref(), Some("1a2106f5cec0003"));
}

#[test]
fn inform_after_spv_has_an_empty_event_list() {
    let envs = envelopes("session2-after-spv.txt");
    let Body::Inform(inform) = &envs[0].1.body else {
        panic!("{:?}", envs[0].1.body)
    };
    assert_eq!(envs[0].1.header.id.as_deref(), Some("2"));
    assert!(inform.events.is_empty());
    assert_eq!(inform.parameters.len(), 10);
    assert_eq!(inform.device_id.serial_number, "SCOUT000001");
}

/// The event codes of the Inform that opens a recording.
fn inform_events(file: &str) -> Vec<EventCode> {
    let envs = envelopes(file);
    match &envs[0].1.body {
        Body::Inform(inform) => inform.events.iter().map(|e| e.code.clone()).collect(),
        other => panic!("{file}: {other:?}"),
    }
}

#[test]
fn periodic_reboot_and_connection_request_informs() {
    assert_eq!(inform_events("session-periodic.txt"), [EventCode::Periodic]);
    assert_eq!(
        inform_events("session-after-reboot.txt"),
        [EventCode::MReboot, EventCode::Boot]
    );
    assert_eq!(
        inform_events("session-connreq-gpv.txt"),
        [EventCode::ConnectionRequest]
    );
    assert_eq!(
        inform_events("session-connreq-reboot.txt"),
        [EventCode::ConnectionRequest]
    );
}

#[test]
fn connection_request_sessions() {
    let envs = envelopes("session-connreq-gpv.txt");
    let bodies: Vec<&Body> = envs.iter().map(|(_, e, _)| &e.body).collect();
    assert_eq!(bodies.len(), 4);
    assert_eq!(
        *bodies[2],
        Body::GetParameterNames {
            path: "Device.DeviceInfo.".into(),
            next_level: true
        }
    );
    let Body::GetParameterNamesResponse(infos) = bodies[3] else {
        panic!("{:?}", bodies[3])
    };
    assert!(infos
        .iter()
        .any(|i| i.name == "Device.DeviceInfo.SoftwareVersion" && !i.writable));

    let envs = envelopes("session-connreq-reboot.txt");
    let bodies: Vec<&Body> = envs.iter().map(|(_, e, _)| &e.body).collect();
    assert_eq!(bodies.len(), 6);
    assert_eq!(envs[1].1.header.id.as_deref(), Some("19"));
    assert_eq!(
        *bodies[2],
        Body::Reboot {
            command_key: String::new()
        }
    );
    assert_eq!(*bodies[3], Body::RebootResponse);
    assert_eq!(envs[3].1.header.id.as_deref(), Some("1a2107114ca0000"));
}
