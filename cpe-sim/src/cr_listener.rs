//! The connection-request endpoint of the whole fleet: one port, devices told apart by path
//! (`GET /cr/<serial>`), HTTP Digest authentication with each device's own credentials. A
//! valid request makes the device open a session with `6 CONNECTION REQUEST`.
//!
//! The same port serves the simulator's control API: `GET /sim/<serial>/<parameter>` reads a
//! value and `PUT /sim/<serial>/<parameter>` (the value as body) changes it the way the device
//! itself would, which triggers `4 VALUE CHANGE` under active notification.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use http_auth::server::{AuthOutcome, HttpAuthenticator};

use crate::fleet::Fleet;

/// A running endpoint; stops when dropped.
pub struct CrListener {
    task: JoinHandle<()>,
}

impl Drop for CrListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds the endpoint with a deep accept queue (4096), so that bursts of connection requests
/// are not dropped (tokio's `TcpListener::bind` queues only 128).
pub fn bind(address: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(4096)
}

/// Serves connection requests (and the control API) for `fleet` on `listener`.
pub fn serve(listener: TcpListener, fleet: Arc<Fleet>) -> CrListener {
    let auth = Arc::new(HttpAuthenticator::with_random_secret("cpe-sim"));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (fleet, auth) = (Arc::clone(&fleet), Arc::clone(&auth));
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let (fleet, auth) = (Arc::clone(&fleet), Arc::clone(&auth));
                    async move { handle(&fleet, &auth, request).await }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    CrListener { task }
}

/// Why a connection is dropped without an answer (a silent device).
#[derive(Debug)]
struct Silent;

impl std::fmt::Display for Silent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("device is silent")
    }
}

impl std::error::Error for Silent {}

async fn handle(
    fleet: &Arc<Fleet>,
    auth: &HttpAuthenticator,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Silent> {
    let path = request.uri().path().to_string();
    let mut parts = path.trim_start_matches('/').splitn(3, '/');
    let (kind, serial, rest) = (parts.next(), parts.next(), parts.next());
    let Some(index) = serial.and_then(|s| fleet.index_of(s)) else {
        return Ok(text(StatusCode::NOT_FOUND, "no such device"));
    };
    match (kind, request.method().clone()) {
        (Some("cr"), Method::GET) if rest.is_none() => {
            if fleet.is_silent(index) {
                return Err(Silent);
            }
            let (username, password) = fleet.cr_credentials(index);
            let header = request
                .headers()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            let uri = request
                .uri()
                .path_and_query()
                .map_or(path.as_str(), |p| p.as_str());
            let lookup = |user: &str| (user == username).then(|| password.clone());
            match auth.authenticate(header, "GET", uri, &lookup, SystemTime::now()) {
                AuthOutcome::Authenticated { .. } => {
                    fleet.connection_request(index);
                    Ok(text(StatusCode::OK, ""))
                }
                AuthOutcome::Challenge(challenge) | AuthOutcome::Denied { challenge, .. } => {
                    let mut response = text(StatusCode::UNAUTHORIZED, "");
                    if let Ok(value) = challenge.parse() {
                        response.headers_mut().insert(WWW_AUTHENTICATE, value);
                    }
                    Ok(response)
                }
            }
        }
        (Some("sim"), Method::GET) => match rest.and_then(|name| fleet.value(index, name)) {
            Some(value) => Ok(text(StatusCode::OK, &value)),
            None => Ok(text(StatusCode::NOT_FOUND, "no such parameter")),
        },
        (Some("sim"), Method::PUT) => {
            let name = rest.unwrap_or_default().to_string();
            let body = Limited::new(request.into_body(), 64 * 1024);
            let Ok(body) = body.collect().await else {
                return Ok(text(StatusCode::BAD_REQUEST, "body too large"));
            };
            let value = String::from_utf8_lossy(&body.to_bytes()).into_owned();
            match fleet.set_value(index, &name, &value) {
                Ok(()) => Ok(text(StatusCode::NO_CONTENT, "")),
                Err(error) => Ok(text(StatusCode::NOT_FOUND, &error)),
            }
        }
        _ => Ok(text(StatusCode::METHOD_NOT_ALLOWED, "")),
    }
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
}
