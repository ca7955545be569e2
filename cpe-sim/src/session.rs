//! One CWMP session of one device over one kept-alive HTTP/1.1 connection: Inform, a pending
//! TransferComplete, the empty POST, then an answer to every ACS request until the ACS ends
//! the session with `204`. Cookies, HTTP authentication and per-session misbehaviour are
//! handled here; what the device answers comes from [`crate::rpc`].

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderValue, AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST, SET_COOKIE, USER_AGENT,
    WWW_AUTHENTICATE,
};
use hyper::{Method, Request, StatusCode};

use cwmp::{Body, CwmpVersion, Envelope, Header};
use http_auth::headers::{authorization_for, new_cnonce, ClientAuth};

use crate::fetch::USER_AGENT_VALUE;
use crate::fleet::Fleet;
use crate::http::{loopback_source, Connection, Endpoint};
use crate::inform::Trigger;
use crate::misbehave::SessionQuirks;
use crate::rpc::{self, Action};

/// Most ACS requests answered in one session before the device gives up.
const MAX_REQUESTS: u32 = 10_000;

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The ACS ended it normally.
    Ok,
    /// It failed although nothing was injected.
    Failed(String),
    /// It failed on purpose (malformed XML, disconnect).
    Injected,
    /// The device is silent for good: no session.
    Silent,
    /// The device was already in a session.
    Busy,
}

/// What one session did.
#[derive(Debug, Clone)]
pub struct SessionReport {
    /// How it ended.
    pub outcome: Outcome,
    /// From connecting to the end.
    pub latency: Duration,
    /// CWMP messages exchanged: the Inform, a TransferComplete, and each ACS request.
    pub rpcs: u32,
    /// Work for after the session.
    pub actions: Vec<Action>,
}

impl SessionReport {
    /// A report for a session that did not happen.
    pub fn skipped(outcome: Outcome) -> SessionReport {
        SessionReport {
            outcome,
            latency: Duration::ZERO,
            rpcs: 0,
            actions: Vec::new(),
        }
    }
}

/// Runs one session of device `index`.
pub async fn run(
    fleet: &Fleet,
    index: u32,
    trigger: Trigger,
    quirks: SessionQuirks,
) -> SessionReport {
    let started = Instant::now();
    let Some(start) = fleet.with_device(index, |device, env| device.begin_session(env, trigger))
    else {
        return SessionReport::skipped(Outcome::Silent);
    };
    let mut report = SessionReport::skipped(Outcome::Ok);
    let result = tokio::time::timeout(
        fleet.config().session_timeout,
        converse(fleet, index, &start, quirks, &mut report),
    )
    .await
    .unwrap_or_else(|_| Err("session timed out".into()));
    report.outcome = match result {
        Ok(()) if quirks.injected_failure() => Outcome::Injected,
        Ok(()) => Outcome::Ok,
        Err(_) if quirks.injected_failure() => Outcome::Injected,
        Err(error) => Outcome::Failed(error),
    };
    if report.outcome != Outcome::Ok {
        fleet.with_device(index, |device, _| device.session_failed());
    }
    report.latency = started.elapsed();
    report
}

async fn converse(
    fleet: &Fleet,
    index: u32,
    start: &crate::inform::SessionStart,
    quirks: SessionQuirks,
    report: &mut SessionReport,
) -> Result<(), String> {
    let version = if quirks.cwmp10 {
        CwmpVersion::V1_0
    } else {
        CwmpVersion::V1_2
    };
    let source = fleet
        .config()
        .own_source_addresses
        .then(|| loopback_source(index));
    let endpoint = fleet.acs();
    let mut http = Exchange {
        endpoint,
        connection: Connection::open(endpoint.address, source).await?,
        source,
        cookies: Vec::new(),
        drop_cookies: quirks.drop_cookies,
        credentials: fleet.acs_credentials(index),
        authorization: None,
    };
    let mut next_id = 1u32;
    let mut envelope = |body: Body, id: Option<String>, version: CwmpVersion| {
        let id = id.unwrap_or_else(|| {
            next_id += 1;
            format!("cpe-sim-{next_id}")
        });
        cwmp::encode(&Envelope {
            version,
            header: Header {
                id: Some(id),
                ..Header::default()
            },
            body,
        })
    };

    let mut inform = envelope(Body::Inform(start.inform.clone()), None, version);
    if quirks.malformed {
        inform.truncate(inform.len() / 2);
    }
    report.rpcs += 1;
    let (status, reply) = http.post(inform.into()).await?;
    if quirks.malformed {
        return Err(format!("malformed Inform answered with HTTP {status}"));
    }
    match expect_envelope(status, &reply)? {
        Some(Envelope {
            body: Body::InformResponse { .. },
            ..
        }) => fleet.with_device(index, |device, _| device.inform_accepted(start)),
        other => return Err(format!("expected InformResponse, got {}", describe(&other))),
    }
    if quirks.disconnect {
        return Err("disconnected on purpose".into());
    }

    if let Some(complete) = &start.transfer_complete {
        report.rpcs += 1;
        let message = envelope(Body::TransferComplete(complete.clone()), None, version);
        let (status, reply) = http.post(message.into()).await?;
        match expect_envelope(status, &reply)? {
            Some(Envelope {
                body: Body::TransferCompleteResponse,
                ..
            }) => fleet.with_device(index, |device, _| device.transfer_reported()),
            other => {
                return Err(format!(
                    "expected TransferCompleteResponse, got {}",
                    describe(&other)
                ))
            }
        }
    }

    let mut outgoing = Bytes::new();
    for _ in 0..MAX_REQUESTS {
        if let (Some(delay), false) = (quirks.slow, outgoing.is_empty()) {
            tokio::time::sleep(delay).await;
        }
        let (status, reply) = http.post(outgoing).await?;
        let Some(request) = expect_envelope(status, &reply)? else {
            return Ok(());
        };
        if matches!(request.body, Body::Fault(_)) {
            return Err(format!(
                "the ACS sent a fault: {}",
                describe(&Some(request))
            ));
        }
        report.rpcs += 1;
        let answer =
            fleet.with_device(index, |device, env| rpc::answer(device, env, &request.body));
        report.actions.extend(answer.action);
        let reply_version = if quirks.cwmp10 {
            CwmpVersion::V1_0
        } else {
            request.version
        };
        outgoing = envelope(answer.body, request.header.id, reply_version).into();
    }
    Err(format!("more than {MAX_REQUESTS} requests in one session"))
}

/// The envelope in a `200` response, `None` for the end of the session (`204` or an empty
/// `200`).
fn expect_envelope(status: StatusCode, body: &Bytes) -> Result<Option<Envelope>, String> {
    match status {
        StatusCode::NO_CONTENT => Ok(None),
        StatusCode::OK if body.iter().all(u8::is_ascii_whitespace) => Ok(None),
        StatusCode::OK => cwmp::decode(body)
            .map(Some)
            .map_err(|e| format!("undecodable ACS message: {e}")),
        other => Err(format!("HTTP {other}")),
    }
}

fn describe(envelope: &Option<Envelope>) -> String {
    match envelope {
        None => "the end of the session".into(),
        Some(Envelope {
            body: Body::Fault(fault),
            ..
        }) => format!("fault {} {}", fault.detail.code, fault.detail.string),
        Some(other) => cwmp::session::method_name(&other.body).to_string(),
    }
}

/// The HTTP side of a session: one connection (reopened if the ACS closes it), cookies, and
/// answers to authentication challenges.
struct Exchange<'a> {
    endpoint: &'a Endpoint,
    connection: Connection,
    source: Option<std::net::IpAddr>,
    cookies: Vec<(String, String)>,
    drop_cookies: bool,
    credentials: Option<(String, String)>,
    authorization: Option<String>,
}

impl Exchange<'_> {
    async fn post(&mut self, body: Bytes) -> Result<(StatusCode, Bytes), String> {
        for attempt in 0..2 {
            if self.connection.is_closed() {
                self.connection = Connection::open(self.endpoint.address, self.source).await?;
            }
            let mut request = Request::builder()
                .method(Method::POST)
                .uri(self.endpoint.path.as_str())
                .header(HOST, self.endpoint.host.as_str())
                .header(USER_AGENT, USER_AGENT_VALUE)
                .header(CONTENT_TYPE, "text/xml; charset=\"utf-8\"");
            if !body.is_empty() {
                request = request.header("SOAPAction", "");
            }
            if !self.drop_cookies && !self.cookies.is_empty() {
                let cookie = self
                    .cookies
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                request = request.header(COOKIE, cookie);
            }
            if let Some(authorization) = &self.authorization {
                request = request.header(AUTHORIZATION, authorization.as_str());
            }
            let request = request
                .body(Full::new(body.clone()))
                .map_err(|e| format!("building the request: {e}"))?;
            let (parts, reply) = self.connection.send(request).await?;
            for value in parts.headers.get_all(SET_COOKIE) {
                self.remember_cookie(value);
            }
            if parts.status == StatusCode::UNAUTHORIZED && attempt == 0 {
                if let Some((username, password)) = &self.credentials {
                    let offered: Vec<&str> = parts
                        .headers
                        .get_all(WWW_AUTHENTICATE)
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .collect();
                    let cnonce = new_cnonce();
                    let auth = ClientAuth {
                        username,
                        password,
                        nc: 1,
                        cnonce: &cnonce,
                    };
                    self.authorization = Some(
                        authorization_for(offered, "POST", &self.endpoint.path, &auth)
                            .map_err(|e| format!("answering the ACS's challenge: {e}"))?,
                    );
                    continue;
                }
            }
            return Ok((parts.status, reply));
        }
        Err("the ACS rejected the credentials".into())
    }

    fn remember_cookie(&mut self, value: &HeaderValue) {
        let Some((name, value)) = value
            .to_str()
            .ok()
            .and_then(|v| v.split(';').next())
            .and_then(|pair| pair.split_once('='))
        else {
            return;
        };
        let (name, value) = (name.trim().to_string(), value.trim().to_string());
        match self.cookies.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.cookies.push((name, value)),
        }
    }
}
