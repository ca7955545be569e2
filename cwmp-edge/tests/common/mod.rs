//! What the edge's integration tests share: an edge serving CWMP on a loopback port, a CPE's
//! Inform, and its POSTs in a session over real HTTP.

use std::sync::Arc;

use cwmp::{Body, DeviceIdStruct, Envelope, Event, EventCode, Header, Inform, ParameterValue};
use cwmp_edge::edge::Edge;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serves CWMP for `edge` on a loopback port until the token is cancelled; returns its URL.
pub async fn serve(edge: Arc<Edge>) -> (String, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    let shutdown = CancellationToken::new();
    tokio::spawn(cwmp_edge::cwmp_server::serve(
        edge,
        listener,
        None,
        shutdown.clone(),
    ));
    (url, shutdown)
}

/// Posts `body` (or an empty POST) in the session of `cookie`; returns the status and reply.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    cookie: &mut Option<String>,
    body: Option<Body>,
) -> (u16, Option<Envelope>) {
    let bytes = body
        .map(|body| {
            cwmp::encode(&Envelope {
                version: Default::default(),
                header: Header {
                    id: Some("1".into()),
                    ..Header::default()
                },
                body,
            })
        })
        .unwrap_or_default();
    let mut request = http.post(url).body(bytes);
    if let Some(cookie) = cookie.as_ref() {
        request = request.header("Cookie", cookie.clone());
    }
    let response = request.send().await.expect("POST");
    if let Some(set) = response.headers().get("set-cookie") {
        let set = set.to_str().expect("cookie");
        *cookie = Some(set.split(';').next().expect("pair").to_string());
    }
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    let reply = (status == 200 && !bytes.is_empty())
        .then(|| cwmp::decode(&bytes).expect("a valid envelope"));
    (status, reply)
}

/// An Inform from `device` with one event, reporting its software version (TR-181).
pub fn inform(device: DeviceIdStruct, event: EventCode, software_version: &str) -> Body {
    Body::Inform(Inform {
        device_id: device,
        events: vec![Event {
            code: event,
            command_key: String::new(),
        }],
        max_envelopes: 1,
        current_time: "2026-12-01T00:00:00Z".into(),
        retry_count: 0,
        parameters: vec![ParameterValue {
            name: "Device.DeviceInfo.SoftwareVersion".into(),
            value: software_version.into(),
            xsd_type: Default::default(),
        }],
    })
}
