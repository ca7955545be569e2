//! The CWMP endpoint over hyper: HTTP/1.1 keep-alive, optional TLS, limits on head and body
//! size and time, CPE authentication, and one [`DeviceSession`] per device.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming as HyperBody;
use hyper::header::{
    HeaderValue, CONNECTION, CONTENT_TYPE, COOKIE, RETRY_AFTER, SET_COOKIE, WWW_AUTHENTICATE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use acs_store::{ids, StoreError};
use cwmp::session::{Incoming, Received, Reply};
use cwmp::{Body, DecodeError};

use crate::device_session::{DeviceSession, Outcome};
use crate::edge::{now_millis, Edge};
use crate::metrics::Metrics;
use crate::sessions::{OpenError, SessionSlot};
use http_auth::server::AuthOutcome;

type HttpResponse = Response<Full<Bytes>>;

/// How many times an exchange is retried when its store transaction conflicts.
const CONFLICT_RETRIES: usize = 5;

/// Accepts connections on `listener` (TLS when `tls` is given) until `shutdown` is cancelled,
/// then lets open connections finish.
pub async fn serve(
    edge: Arc<Edge>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: CancellationToken,
) {
    let connections = tokio_util::task::TaskTracker::new();
    let next_connection = Arc::new(AtomicU64::new(1));
    spawn_session_reaper(edge.clone(), shutdown.clone());
    loop {
        let (stream, remote) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        if let Ok(local) = stream.local_addr() {
            edge.note_cwmp_address(local.ip());
        }
        let connection = next_connection.fetch_add(1, Ordering::Relaxed);
        let (edge, tls, shutdown) = (edge.clone(), tls.clone(), shutdown.clone());
        connections.spawn(async move {
            match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => {
                        serve_connection(
                            edge.clone(),
                            TokioIo::new(stream),
                            remote,
                            connection,
                            shutdown,
                        )
                        .await
                    }
                    Err(error) => tracing::debug!(%remote, %error, "TLS handshake failed"),
                },
                None => {
                    serve_connection(
                        edge.clone(),
                        TokioIo::new(stream),
                        remote,
                        connection,
                        shutdown,
                    )
                    .await
                }
            }
            edge.sessions.connection_closed(connection);
        });
    }
    connections.close();
    connections.wait().await;
}

async fn serve_connection<I>(
    edge: Arc<Edge>,
    io: I,
    remote: SocketAddr,
    connection: u64,
    shutdown: CancellationToken,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service_edge = edge.clone();
    let service = service_fn(move |request| {
        let edge = service_edge.clone();
        async move { Ok::<_, Infallible>(handle(&edge, request, remote, connection).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(edge.config.header_timeout)
        .max_buf_size(edge.config.max_header_bytes.max(8192))
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => if let Err(error) = result {
            tracing::debug!(%remote, %error, "connection ended with an error");
        },
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

fn spawn_session_reaper(edge: Arc<Edge>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            for slot in edge.sessions.expire(Instant::now()) {
                tracing::info!(device = %slot.device, session = %slot.id, "session timed out");
                Metrics::count(&edge.metrics.sessions, "outcome", "expired");
                edge.metrics.active_sessions.set(edge.sessions.len() as i64);
            }
        }
    });
}

/// Handles one HTTP request on the CWMP port.
pub async fn handle(
    edge: &Edge,
    request: Request<HyperBody>,
    remote: SocketAddr,
    connection: u64,
) -> HttpResponse {
    // Metrics are not served here, on the port devices reach: they are on the API port.
    let response = handle_inner(edge, request, remote, connection).await;
    Metrics::count(
        &edge.metrics.cwmp_requests,
        "status",
        response.status().as_str().to_string(),
    );
    response
}

async fn handle_inner(
    edge: &Edge,
    request: Request<HyperBody>,
    remote: SocketAddr,
    connection: u64,
) -> HttpResponse {
    if request.method() != Method::POST {
        return text(StatusCode::METHOD_NOT_ALLOWED, "CWMP expects POST\n");
    }
    let cookie = session_cookie(&request);
    let authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let uri = request.uri().to_string();
    let body = match read_body(edge, request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let received = match decode_received(&body) {
        Ok(received) => received,
        Err(error) => return decode_failure(edge, error, cookie.as_deref(), connection, remote),
    };

    if let Some(slot) = edge
        .sessions
        .find(cookie.as_deref(), connection, remote.ip())
    {
        let opens_new =
            matches!(&received, Received::Envelope(e) if matches!(e.body, Body::Inform(_)));
        if !opens_new {
            edge.sessions.bind_connection(&slot.id, connection);
            let message = CpeMessage::new(body, received);
            return exchange(edge, slot, message, remote, false).await;
        }
    }
    match received {
        Received::Envelope(envelope) => match envelope.body {
            Body::Inform(_) => {
                open_session(
                    edge,
                    body,
                    envelope,
                    authorization.as_deref(),
                    &uri,
                    remote,
                    connection,
                )
                .await
            }
            _ => {
                crate::warn_folded!("request outside any session", %remote, "request outside any session");
                text(
                    StatusCode::BAD_REQUEST,
                    "no CWMP session: the first request must be an Inform\n",
                )
            }
        },
        Received::Empty => match (&edge.authenticator, &authorization) {
            // HTTP clients that negotiate authentication (libcurl's CURLAUTH_ANY, used by
            // many CPE agents) probe with an empty POST and expect the challenge.
            (Some(authenticator), None) => unauthorized(authenticator.challenge(SystemTime::now())),
            // A CPE that lost its session: nothing to do, end it.
            _ => no_content(),
        },
    }
}

async fn read_body(edge: &Edge, request: Request<HyperBody>) -> Result<Bytes, HttpResponse> {
    let limit = edge.config.max_body_bytes;
    let declared = request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    let mut body = request.into_body();
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(&mut body, limit).await);
    }
    let mut collected = Vec::with_capacity(declared.unwrap_or(0));
    let read = tokio::time::timeout(edge.config.body_timeout, async {
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|_| text(StatusCode::BAD_REQUEST, "could not read the body\n"))?;
            if let Ok(data) = frame.into_data() {
                if collected.len() + data.len() > limit {
                    return Err(too_large(&mut body, limit).await);
                }
                collected.extend_from_slice(&data);
            }
        }
        Ok(())
    })
    .await;
    match read {
        Err(_) => Err(text(
            StatusCode::REQUEST_TIMEOUT,
            "body not received in time\n",
        )),
        Ok(Err(response)) => Err(response),
        Ok(Ok(())) => Ok(Bytes::from(collected)),
    }
}

/// Most bytes of an oversized body read and thrown away before answering `413`, so the client
/// sees the answer instead of a connection reset.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// Discards (a bounded part of) an oversized body, then answers `413` and closes.
async fn too_large(body: &mut HyperBody, limit: usize) -> HttpResponse {
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        let mut drained = 0;
        while let Some(Ok(frame)) = body.frame().await {
            drained += frame.data_ref().map_or(0, |d| d.len());
            if drained > DRAIN_LIMIT {
                break;
            }
        }
    })
    .await;
    let mut response = text(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("body larger than {limit} bytes\n"),
    );
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Answers an envelope that could not be decoded: a CWMP fault for an unknown method or bad
/// arguments within a session, `400` for XML that is not an envelope at all.
fn decode_failure(
    edge: &Edge,
    error: DecodeError,
    cookie: Option<&str>,
    connection: u64,
    remote: SocketAddr,
) -> HttpResponse {
    crate::warn_folded!(format!("undecodable CWMP message: {error}"), %remote, %error, "undecodable CWMP message");
    match error {
        DecodeError::Malformed(_) => {
            if let Some(slot) = edge.sessions.find(cookie, connection, remote.ip()) {
                edge.sessions.close(&slot.id);
                Metrics::count(&edge.metrics.sessions, "outcome", "error");
                edge.metrics.active_sessions.set(edge.sessions.len() as i64);
            }
            let mut response = text(StatusCode::BAD_REQUEST, format!("{error}\n"));
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            response
        }
        _ => {
            let envelope = cwmp::Envelope {
                version: error.version(),
                header: cwmp::Header {
                    id: error.id().map(str::to_string),
                    ..Default::default()
                },
                body: Body::Fault(cwmp::SoapFault {
                    faultcode: "Client".into(),
                    faultstring: "CWMP fault".into(),
                    detail: error.acs_fault(),
                }),
            };
            xml(StatusCode::OK, cwmp::encode(&envelope), None)
        }
    }
}

async fn open_session(
    edge: &Edge,
    body: Bytes,
    envelope: cwmp::Envelope,
    authorization: Option<&str>,
    uri: &str,
    remote: SocketAddr,
    connection: u64,
) -> HttpResponse {
    let Body::Inform(inform) = &envelope.body else {
        return text(StatusCode::BAD_REQUEST, "expected an Inform\n");
    };
    let device_id = acs_model::DeviceId::from_identity(&inform.device_id);
    if let Some(response) = authenticate(edge, authorization, uri, &device_id).await {
        return response;
    }
    let session_id = format!("{:016x}", rand::random::<u64>());
    let state = DeviceSession::new(&session_id, inform, edge.config.retry, edge.resources());
    let timeout = envelope
        .header
        .session_timeout
        .map(|s| std::time::Duration::from_secs(u64::from(s).clamp(5, 600)))
        .unwrap_or(edge.config.session_timeout);
    let slot = Arc::new(SessionSlot::new(
        session_id,
        device_id,
        remote.ip(),
        timeout,
        state,
    ));
    match edge.sessions.open(slot.clone(), connection) {
        Ok(Some(displaced)) => {
            tracing::info!(device = %displaced.device, session = %displaced.id, "session displaced by a new Inform");
            Metrics::count(&edge.metrics.sessions, "outcome", "displaced");
        }
        Ok(None) => {}
        Err(OpenError::DeviceBusy(device)) => {
            crate::warn_folded!("device already in a busy session", %device, %remote, "device already in a busy session");
            return retry_later("device is in another session\n");
        }
    }
    edge.metrics.active_sessions.set(edge.sessions.len() as i64);
    for event in &inform.events {
        Metrics::count(&edge.metrics.inform_events, "event", event.code.to_string());
    }
    let message = CpeMessage::new(body, Received::Envelope(envelope));
    exchange(edge, slot, message, remote, true).await
}

/// Checks the CPE's credentials on the Inform; `Some` is the 401 to send back.
async fn authenticate(
    edge: &Edge,
    authorization: Option<&str>,
    uri: &str,
    device: &acs_model::DeviceId,
) -> Option<HttpResponse> {
    let authenticator = edge.authenticator.as_ref()?;
    let own = match read_cwmp_credentials(edge, device).await {
        Ok(own) => own,
        Err(error) => {
            tracing::error!(%device, %error, "store failed while authenticating");
            return Some(retry_later("the ACS store is unavailable\n"));
        }
    };
    // The device's own credentials when it has any, else the shared ones.
    let expected = own
        .map(|c| (c.username, c.password))
        .or_else(|| edge.config.cpe_credentials.clone());
    let lookup = |username: &str| match &expected {
        Some((user, password)) if user == username => Some(password.clone()),
        _ => None,
    };
    match authenticator.authenticate(authorization, "POST", uri, &lookup, SystemTime::now()) {
        AuthOutcome::Authenticated { .. } => None,
        AuthOutcome::Challenge(challenge) => Some(unauthorized(challenge)),
        AuthOutcome::Denied { reason, challenge } => {
            crate::warn_folded!(format!("CPE authentication failed: {reason}"), %device, %reason, "CPE authentication failed");
            Some(unauthorized(challenge))
        }
    }
}

async fn read_cwmp_credentials(
    edge: &Edge,
    device: &acs_model::DeviceId,
) -> Result<Option<acs_model::CwmpCredentials>, StoreError> {
    let mut txn = edge.store.begin().await?;
    let credentials = acs_store::records::get_cwmp_credentials(txn.as_mut(), device).await;
    let _ = txn.rollback().await;
    credentials
}

/// What the CPE posted: decoded once, and decoded again from its bytes for each retry of its
/// exchange, since applying a message moves its names and values into the device's tree.
struct CpeMessage {
    body: Bytes,
    decoded: Option<Received>,
}

impl CpeMessage {
    fn new(body: Bytes, decoded: Received) -> CpeMessage {
        CpeMessage {
            body,
            decoded: Some(decoded),
        }
    }

    /// The decoded message: the first time as decoded on arrival, after that decoded anew.
    fn take(&mut self) -> Result<Received, DecodeError> {
        match self.decoded.take() {
            Some(received) => Ok(received),
            None => decode_received(&self.body),
        }
    }
}

/// Decodes a POST body: an envelope, or nothing for a body of whitespace at most.
fn decode_received(body: &[u8]) -> Result<Received, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(Received::Empty)
    } else {
        cwmp::decode(body).map(Received::Envelope)
    }
}

/// One exchange within a session: classify, store, commit, reply.
async fn exchange(
    edge: &Edge,
    slot: Arc<SessionSlot>,
    mut message: CpeMessage,
    remote: SocketAddr,
    first: bool,
) -> HttpResponse {
    let mut state = slot.state.lock().await;
    slot.touch();
    // A conflicting transaction is retried from the session as it was before the message.
    let before = state.clone();
    let remote_text = remote.ip().to_string();
    let mut outcome = None;
    for attempt in 0..CONFLICT_RETRIES {
        if attempt > 0 {
            *state = before.clone();
        }
        let received = message.take().map_err(|error| error.to_string());
        let incoming = match received
            .and_then(|r| state.session.receive(r).map_err(|e| e.to_string()))
        {
            Ok(incoming) => incoming,
            Err(error) => {
                tracing::warn!(device = %slot.device, %error, "CWMP protocol error; ending the session");
                state.session.end();
                drop(state);
                close(edge, &slot, "error");
                return no_content();
            }
        };
        if attempt == 0 {
            note_answer(edge, &incoming);
        }
        let committed = commit_exchange(
            edge,
            &mut state,
            &slot.id,
            slot.timeout,
            incoming,
            &remote_text,
        )
        .await;
        match committed {
            Ok(done) => {
                outcome = Some(Ok(done));
                break;
            }
            Err(ExchangeError::Store(StoreError::Conflict)) => {}
            Err(error) => {
                outcome = Some(Err(error));
                break;
            }
        }
    }
    let committed = match outcome {
        Some(Ok(finished)) => finished,
        Some(Err(ExchangeError::LeasedElsewhere(other))) => {
            tracing::warn!(device = %slot.device, edge = %other, "device is in a session on another edge");
            state.session.end();
            drop(state);
            close(edge, &slot, "busy");
            return retry_later("device is in a session on another edge\n");
        }
        failed => {
            let error = match failed {
                Some(Err(ExchangeError::Store(error))) => error.to_string(),
                _ => "too many write conflicts".to_string(),
            };
            tracing::error!(device = %slot.device, %error, "store failed during a session");
            state.session.end();
            drop(state);
            close(edge, &slot, "error");
            release_lease(edge, &slot).await;
            return retry_later("the ACS store is unavailable\n");
        }
    };
    edge.announce_changed(&committed.changed_tasks);
    for note in &committed.notes {
        note.log(&slot.device);
    }

    let sent_before = state.session.requests_sent();
    match state.session.reply() {
        Reply::Envelope(envelope) => {
            if state.session.requests_sent() > sent_before {
                Metrics::count(
                    &edge.metrics.rpcs_sent,
                    "method",
                    cwmp::session::method_name(&envelope.body),
                );
            }
            xml(
                StatusCode::OK,
                cwmp::encode(&envelope),
                first.then_some(slot.id.as_str()),
            )
        }
        Reply::EndSession => {
            drop(state);
            close(edge, &slot, "completed");
            no_content()
        }
    }
}

/// Counts the faults a CPE reports, in answers and in transfer results.
fn note_answer(edge: &Edge, incoming: &Incoming) {
    let code = match incoming {
        Incoming::Fault { fault, .. } => fault.code,
        Incoming::CpeRequest(Body::TransferComplete(complete)) => complete.fault.code,
        Incoming::CpeRequest(Body::AutonomousTransferComplete(complete)) => complete.fault.code,
        _ => 0,
    };
    if code != 0 {
        Metrics::count(&edge.metrics.cpe_faults, "code", code.to_string());
    }
}

/// Why an exchange could not be committed.
enum ExchangeError {
    /// The store failed.
    Store(StoreError),
    /// Another edge holds the device's session.
    LeasedElsewhere(String),
}

impl From<StoreError> for ExchangeError {
    fn from(error: StoreError) -> Self {
        ExchangeError::Store(error)
    }
}

async fn commit_exchange(
    edge: &Edge,
    state: &mut DeviceSession,
    session_id: &str,
    timeout: Duration,
    incoming: Incoming,
    remote: &str,
) -> Result<Outcome, ExchangeError> {
    let mut txn = edge.store.begin().await?;
    let now = now_millis();
    if let Some(edge_name) = &edge.config.shared_store_edge {
        if let Err(error) =
            take_lease(txn.as_mut(), state, edge_name, session_id, timeout, now).await
        {
            let _ = txn.rollback().await;
            return Err(error);
        }
    }
    let outcome = match state
        .apply(txn.as_mut(), incoming, remote, now, ids::next_id)
        .await
    {
        Ok(outcome) => outcome,
        Err(error) => {
            let _ = txn.rollback().await;
            return Err(error.into());
        }
    };
    if edge.config.shared_store_edge.is_some() && state.session.ends_at_reply() {
        // The session ends with this exchange: release the lease in the same transaction.
        if let Err(error) =
            acs_store::records::delete_session_lease(txn.as_mut(), &state.device).await
        {
            let _ = txn.rollback().await;
            return Err(error.into());
        }
    }
    let started = Instant::now();
    txn.commit().await?;
    edge.metrics
        .commit_seconds
        .observe(started.elapsed().as_secs_f64());
    Ok(outcome)
}

/// Takes or renews the device's session lease for this edge, in the exchange's transaction
/// (so two edges racing for a device conflict, and one of them commits).
async fn take_lease(
    txn: &mut dyn acs_store::Transaction,
    state: &DeviceSession,
    edge_name: &str,
    session_id: &str,
    timeout: Duration,
    now: acs_model::Millis,
) -> Result<(), ExchangeError> {
    let device = &state.device;
    if let Some(lease) = acs_store::records::get_session_lease(txn, device).await? {
        if !lease.yields_to(edge_name, now) {
            return Err(ExchangeError::LeasedElsewhere(lease.edge));
        }
    }
    let lease = acs_model::SessionLease {
        edge: edge_name.to_string(),
        session: session_id.to_string(),
        expires: now + timeout.as_millis() as acs_model::Millis,
    };
    acs_store::records::put_session_lease(txn, device, &lease).await?;
    Ok(())
}

/// Releases the device's session lease if this session still holds it (best effort: an
/// unreleased lease expires).
async fn release_lease(edge: &Edge, slot: &SessionSlot) {
    let Some(edge_name) = &edge.config.shared_store_edge else {
        return;
    };
    let released = acs_store::transact(edge.store.as_ref(), |txn| {
        Box::pin(async move {
            let lease = acs_store::records::get_session_lease(txn, &slot.device).await?;
            if lease.is_some_and(|l| l.edge == *edge_name && l.session == slot.id) {
                acs_store::records::delete_session_lease(txn, &slot.device).await?;
            }
            Ok(())
        })
    })
    .await;
    if let Err(error) = released {
        tracing::warn!(device = %slot.device, %error, "could not release the session lease; it expires");
    }
}

fn close(edge: &Edge, slot: &SessionSlot, outcome: &'static str) {
    edge.sessions.close(&slot.id);
    Metrics::count(&edge.metrics.sessions, "outcome", outcome);
    edge.metrics
        .session_seconds
        .observe(slot.age().as_secs_f64());
    edge.metrics.active_sessions.set(edge.sessions.len() as i64);
    tracing::debug!(device = %slot.device, session = %slot.id, outcome, "session ended");
}

/// The `session` cookie of a request, tolerating `$Version` attributes and odd separators.
fn session_cookie(request: &Request<HyperBody>) -> Option<String> {
    request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([';', ',']))
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("session"))
        .map(|(_, value)| value.trim().trim_matches('"').to_string())
}

fn xml(status: StatusCode, body: Vec<u8>, set_cookie: Option<&str>) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=\"utf-8\""),
    );
    headers.insert(
        "SOAPServer",
        HeaderValue::from_static(concat!("kube-acs/", env!("CARGO_PKG_VERSION"))),
    );
    if let Some(id) =
        set_cookie.and_then(|id| HeaderValue::from_str(&format!("session={id}; Path=/")).ok())
    {
        headers.insert(SET_COOKIE, id);
    }
    response
}

fn text(status: StatusCode, body: impl Into<String>) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.into())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn no_content() -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

fn unauthorized(challenge: String) -> HttpResponse {
    let mut response = text(StatusCode::UNAUTHORIZED, "authentication required\n");
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

fn retry_later(message: &str) -> HttpResponse {
    let mut response = text(StatusCode::SERVICE_UNAVAILABLE, message.to_string());
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("10"));
    response
}
