//! The ACS against envelopes recorded from a real CPE agent (easycwmp 1.8.6, an OpenWrt TR-181
//! agent), replayed byte for byte over HTTP with the agent's own headers; and CPE
//! authentication (Digest and Basic) on the CWMP port.

mod common;

use std::path::PathBuf;

use common::Acs;
use cwmp::{Body, CwmpVersion};
use md5::{Digest, Md5};
use serde_json::json;

const DEVICE: &str = "FFFFFF-easycwmp-SCOUT000001";

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/real-cpe/easycwmp-1.8.6")
        .join(name);
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

/// The bodies of the HTTP requests the CPE sent in a recorded stream, in order.
fn cpe_bodies(recording: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    for request in recording.split("POST / HTTP/1.1").skip(1) {
        let (head, rest) = request.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length:"))
            .map(|v| v.trim().parse().unwrap())
            .unwrap();
        bodies.push(rest[..length].to_string());
    }
    bodies
}

/// The CPE's recorded envelope that contains `element`, with its `cwmp:ID` replaced by `id`.
fn recorded(recording: &str, element: &str, id: &str) -> String {
    let body = cpe_bodies(recording)
        .into_iter()
        .find(|b| b.contains(element))
        .unwrap_or_else(|| panic!("{element} recorded"));
    let start = body.find("<cwmp:ID").unwrap();
    let open_end = start + body[start..].find('>').unwrap() + 1;
    let close = body.find("</cwmp:ID>").unwrap();
    format!("{}{}{}", &body[..open_end], id, &body[close..])
}

/// An HTTP client that behaves like easycwmp: keeps the session cookie, sends `SOAPAction:`
/// empty with envelopes and none with the empty POST.
struct Agent {
    http: reqwest::Client,
    url: String,
    cookie: Option<String>,
}

impl Agent {
    fn new(acs: &Acs) -> Agent {
        Agent {
            http: reqwest::Client::builder()
                .user_agent("easycwmp")
                .build()
                .unwrap(),
            url: acs.cwmp.clone(),
            cookie: None,
        }
    }

    async fn post(&mut self, body: &str) -> (u16, Option<cwmp::Envelope>) {
        let mut request = self
            .http
            .post(&self.url)
            .header("Content-Type", "text/xml; charset=\"utf-8\"");
        if !body.is_empty() {
            request = request.header("SOAPAction", "");
        }
        if let Some(cookie) = &self.cookie {
            request = request.header("Cookie", cookie);
        }
        let response = request.body(body.to_string()).send().await.unwrap();
        if let Some(cookie) = response.headers().get("set-cookie") {
            self.cookie = Some(
                cookie
                    .to_str()
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap()
                    .to_string(),
            );
        }
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        (
            status,
            (status == 200).then(|| cwmp::decode(&bytes).expect("valid reply")),
        )
    }

    /// Posts a recorded Inform and the empty POST; returns the ACS's first request, if any.
    async fn open(&mut self, recording: &str) -> Option<cwmp::Envelope> {
        self.cookie = None;
        let inform = cpe_bodies(recording).into_iter().next().unwrap();
        let (status, reply) = self.post(&inform).await;
        assert_eq!(status, 200);
        let reply = reply.unwrap();
        assert_eq!(
            reply.version,
            CwmpVersion::V1_2,
            "answered in the agent's cwmp-1-2"
        );
        assert!(matches!(
            reply.body,
            Body::InformResponse { max_envelopes: 1 }
        ));
        assert!(self.cookie.is_some(), "a session cookie is set");
        let (status, request) = self.post("").await;
        assert!(status == 200 || status == 204, "{status}");
        request
    }
}

#[tokio::test]
async fn easycwmp_sessions_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &[]).await;
    let mut agent = Agent::new(&acs);
    let bootstrap = fixture("session1-bootstrap.txt");

    // Bootstrap: stored, nothing queued, session ends with 204.
    assert!(agent.open(&bootstrap).await.is_none());
    let (status, device) = acs.get(&format!("/api/v1/devices/{DEVICE}")).await;
    assert_eq!(status, 200);
    assert_eq!(device["connectionRequest"]["url"], "http://127.0.0.1:7548/");
    assert_eq!(device["lastEvents"], json!(["0 BOOTSTRAP", "1 BOOT"]));
    assert_eq!(
        device["parameters"]["Device.DeviceInfo.SoftwareVersion"]["value"][0],
        "example_sw_version"
    );

    // GetParameterNames of the root, next level: the agent's recorded answer.
    let task = acs
        .queue(
            DEVICE,
            &json!({"name": "getParameterNames", "parameterPath": "", "nextLevel": true}),
        )
        .await;
    let request = agent
        .open(&fixture("session-periodic.txt"))
        .await
        .expect("a request");
    assert_eq!(
        request.body,
        Body::GetParameterNames {
            path: String::new(),
            next_level: true
        }
    );
    let id = request.header.id.unwrap();
    let (status, _) = agent
        .post(&recorded(&bootstrap, "GetParameterNamesResponse", &id))
        .await;
    assert_eq!(status, 204);
    let (_, task) = acs.get(&format!("/api/v1/tasks/{task}")).await;
    assert_eq!(task["status"], "done", "{task}");

    // GetParameterValues: the agent's recorded values, booleans as `1`.
    let names = [
        "Device.ManagementServer.ConnectionRequestUsername",
        "Device.ManagementServer.ConnectionRequestPassword",
        "Device.ManagementServer.PeriodicInformEnable",
    ];
    let task = acs
        .queue(
            DEVICE,
            &json!({"name": "getParameterValues", "parameterNames": names}),
        )
        .await;
    let request = agent
        .open(&fixture("session-periodic.txt"))
        .await
        .expect("a request");
    assert!(matches!(request.body, Body::GetParameterValues { .. }));
    let id = request.header.id.unwrap();
    let (status, _) = agent
        .post(&recorded(&bootstrap, "GetParameterValuesResponse", &id))
        .await;
    assert_eq!(status, 204);
    let (_, task) = acs.get(&format!("/api/v1/tasks/{task}")).await;
    assert_eq!(task["status"], "done");
    let (_, device) = acs
        .get(&format!(
            "/api/v1/devices/{DEVICE}?parameters=Device.ManagementServer."
        ))
        .await;
    let enable = &device["parameters"]["Device.ManagementServer.PeriodicInformEnable"]["value"];
    assert_eq!(enable, &json!(["1", "xsd:boolean"]));
    assert_eq!(
        device["parameters"]["Device.ManagementServer.ConnectionRequestUsername"]["value"][0],
        "easycwmp"
    );

    // SetParameterValues answered with Status 1 (applied, committed later).
    let task = acs.queue(DEVICE, &json!({"name": "setParameterValues", "parameterValues": [
            {"name": "Device.ManagementServer.PeriodicInformInterval", "value": "600", "type": "xsd:unsignedInt"}]}),
    )
    .await;
    let request = agent
        .open(&fixture("session-periodic.txt"))
        .await
        .expect("a request");
    let id = request.header.id.unwrap();
    let (status, _) = agent
        .post(&recorded(&bootstrap, "SetParameterValuesResponse", &id))
        .await;
    assert_eq!(status, 204);
    let (_, task) = acs.get(&format!("/api/v1/tasks/{task}")).await;
    assert_eq!(
        (task["status"].as_str(), task["result"]["status"].as_u64()),
        (Some("done"), Some(1))
    );

    // The agent's follow-up session after a set: an Inform with an empty event list.
    assert!(agent
        .open(&fixture("session2-after-spv.txt"))
        .await
        .is_none());

    // Reboot: the self-closing RebootResponse, then M Reboot with an empty command key.
    let task = acs.queue(DEVICE, &json!({"name": "reboot"})).await;
    let reboot = fixture("session-connreq-reboot.txt");
    let request = agent.open(&reboot).await.expect("a request");
    assert!(matches!(request.body, Body::Reboot { .. }));
    let (status, _) = agent
        .post(&recorded(
            &reboot,
            "RebootResponse",
            &request.header.id.unwrap(),
        ))
        .await;
    assert_eq!(status, 204);
    let (_, record) = acs.get(&format!("/api/v1/tasks/{task}")).await;
    assert_eq!(record["status"], "awaitingCompletion");
    assert!(agent
        .open(&fixture("session-after-reboot.txt"))
        .await
        .is_none());
    let (_, record) = acs.get(&format!("/api/v1/tasks/{task}")).await;
    assert_eq!(record["status"], "done");
}

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The value of `name="..."` in a challenge.
fn challenge_param(challenge: &str, name: &str) -> String {
    let start = challenge.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    challenge[start..start + challenge[start..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn digest_authentication_of_cpes() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(
        dir.path(),
        &[
            "--cpe-auth",
            "digest",
            "--cpe-username",
            "cpe",
            "--cpe-password",
            "s3cret",
        ],
    )
    .await;
    let inform = cpe_bodies(&fixture("session-periodic.txt")).remove(0);
    let client = reqwest::Client::new();
    let post = |authorization: Option<String>| {
        let mut request = client.post(&acs.cwmp).body(inform.clone());
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        request.send()
    };

    let challenge_response = post(None).await.unwrap();
    assert_eq!(challenge_response.status().as_u16(), 401);
    let challenge = challenge_response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with("Digest "), "{challenge}");
    assert!(challenge.contains("qop=\"auth\""), "{challenge}");
    let (realm, nonce) = (
        challenge_param(&challenge, "realm"),
        challenge_param(&challenge, "nonce"),
    );
    let opaque = challenge_param(&challenge, "opaque");

    let authorization = |password: &str| {
        let ha1 = md5_hex(&format!("cpe:{realm}:{password}"));
        let ha2 = md5_hex("POST:/");
        let response = md5_hex(&format!("{ha1}:{nonce}:00000001:0a4f113b:auth:{ha2}"));
        format!(
            "Digest username=\"cpe\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"/\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", response=\"{response}\", opaque=\"{opaque}\""
        )
    };
    let wrong = post(Some(authorization("guess"))).await.unwrap();
    assert_eq!(wrong.status().as_u16(), 401, "wrong password refused");
    assert!(wrong.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Digest "));

    let accepted = post(Some(authorization("s3cret"))).await.unwrap();
    assert_eq!(accepted.status().as_u16(), 200);
    let reply = cwmp::decode(&accepted.bytes().await.unwrap()).unwrap();
    assert!(matches!(reply.body, Body::InformResponse { .. }));
}

#[tokio::test]
async fn basic_authentication_of_cpes() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(
        dir.path(),
        &[
            "--cpe-auth",
            "basic",
            "--cpe-username",
            "cpe",
            "--cpe-password",
            "s3cret",
        ],
    )
    .await;
    let inform = cpe_bodies(&fixture("session-periodic.txt")).remove(0);
    let client = reqwest::Client::new();
    let status = |user: &'static str, password: &'static str| {
        client
            .post(&acs.cwmp)
            .basic_auth(user, Some(password))
            .body(inform.clone())
            .send()
    };
    assert_eq!(status("cpe", "nope").await.unwrap().status().as_u16(), 401);
    assert_eq!(
        status("other", "s3cret").await.unwrap().status().as_u16(),
        401
    );
    let unauthenticated = client
        .post(&acs.cwmp)
        .body(inform.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);
    assert!(unauthenticated.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic "));
    assert_eq!(
        status("cpe", "s3cret").await.unwrap().status().as_u16(),
        200
    );
}

#[tokio::test]
async fn per_device_credentials_take_precedence_over_shared_ones() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(
        dir.path(),
        &[
            "--cpe-auth",
            "basic",
            "--cpe-username",
            "fleet",
            "--cpe-password",
            "shared",
        ],
    )
    .await;
    // Set before the device ever connected (zero-touch with per-device secrets).
    let client = reqwest::Client::new();
    let set = client
        .put(format!(
            "{}/api/v1/devices/{DEVICE}/cwmp-credentials",
            acs.api
        ))
        .json(&json!({"username": "SCOUT000001", "password": "own-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status().as_u16(), 204);

    let inform = cpe_bodies(&fixture("session-periodic.txt")).remove(0);
    let post = |user: &'static str, password: &'static str, body: String| {
        client
            .post(&acs.cwmp)
            .basic_auth(user, Some(password))
            .body(body)
            .send()
    };
    assert_eq!(
        post("fleet", "shared", inform.clone())
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        post("SCOUT000001", "own-secret", inform.clone())
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    // Another device still uses the shared credentials.
    let mut other = common::Cpe::new(&acs.cwmp, "SHARED01", "http://127.0.0.1:9/");
    other.basic_auth = Some(("fleet".into(), "shared".into()));
    other.session().await;

    // Without its own credentials, the device falls back to the shared ones.
    let removed = client
        .delete(format!(
            "{}/api/v1/devices/{DEVICE}/cwmp-credentials",
            acs.api
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status().as_u16(), 204);
    assert_eq!(
        post("fleet", "shared", inform)
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}
