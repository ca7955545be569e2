//! `ConnectionRequester` against real loopback HTTP servers (hyper, port 0)
//! that behave like CPE connection-request endpoints.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use cwmp_edge::connection_request::{
    ConnectionRequestConfig, ConnectionRequestError, ConnectionRequester,
};
use http_auth::server::{AcceptedSchemes, AuthOutcome, HttpAuthenticator};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONNECTION, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const USERNAME: &str = "FFFFFF-easycwmp-SCOUT000001";
const PASSWORD: &str = "cr-secret";

type Handler = dyn Fn(&Request<Incoming>) -> Response<Full<Bytes>> + Send + Sync;

/// A loopback HTTP server counting connections and requests.
struct TestServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl TestServer {
    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

async fn spawn_server(handler: Arc<Handler>) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let (conn_count, req_count) = (connections.clone(), requests.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            conn_count.fetch_add(1, Ordering::SeqCst);
            let handler = handler.clone();
            let req_count = req_count.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    req_count.fetch_add(1, Ordering::SeqCst);
                    let response = handler(&request);
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    TestServer {
        addr,
        connections,
        requests,
    }
}

fn response(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// A 401 as easycwmp sends it: challenge plus `Connection: close`.
fn unauthorized(challenge: &str) -> Response<Full<Bytes>> {
    let mut response = response(StatusCode::UNAUTHORIZED);
    let headers = response.headers_mut();
    headers.insert(
        WWW_AUTHENTICATE,
        challenge.parse().expect("challenge header"),
    );
    headers.insert(CONNECTION, "close".parse().expect("connection header"));
    response
}

/// A connection-request endpoint protected by `authenticator`, recording each
/// verdict of the server-side verifier.
fn protected_endpoint(
    authenticator: HttpAuthenticator,
    verdicts: Arc<Mutex<Vec<AuthOutcome>>>,
) -> Arc<Handler> {
    Arc::new(move |request: &Request<Incoming>| {
        let authorization = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let target = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let lookup = |user: &str| (user == USERNAME).then(|| PASSWORD.to_owned());
        let outcome = authenticator.authenticate(
            authorization,
            request.method().as_str(),
            target,
            &lookup,
            SystemTime::now(),
        );
        verdicts.lock().expect("verdicts").push(outcome.clone());
        match outcome {
            AuthOutcome::Authenticated { .. } => response(StatusCode::OK),
            AuthOutcome::Challenge(challenge) => unauthorized(&challenge),
            AuthOutcome::Denied { challenge, .. } => unauthorized(&challenge),
        }
    })
}

fn requester_with_timeout(timeout: Duration) -> ConnectionRequester {
    ConnectionRequester::new(ConnectionRequestConfig {
        timeout,
        connect_timeout: Duration::from_millis(500),
        ..ConnectionRequestConfig::default()
    })
}

#[tokio::test]
async fn digest_protected_endpoint_like_easycwmp_accepts() {
    let verdicts = Arc::new(Mutex::new(Vec::new()));
    let authenticator = HttpAuthenticator::with_random_secret("realm@easycwmp");
    let server = spawn_server(protected_endpoint(authenticator, verdicts.clone())).await;

    let result = ConnectionRequester::default()
        .send(&server.url(), USERNAME, PASSWORD)
        .await;

    assert_eq!(result, Ok(()));
    let verdicts = verdicts.lock().expect("verdicts").clone();
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    assert!(matches!(verdicts[0], AuthOutcome::Challenge(_)));
    assert_eq!(
        verdicts[1],
        AuthOutcome::Authenticated {
            username: USERNAME.to_owned()
        }
    );
    // The 401 closed the first connection; the retry used a new one.
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn digest_with_path_in_url() {
    let verdicts = Arc::new(Mutex::new(Vec::new()));
    let authenticator = HttpAuthenticator::with_random_secret("cpe");
    let server = spawn_server(protected_endpoint(authenticator, verdicts.clone())).await;

    let url = format!("http://{}/connreq/abc?x=1", server.addr);
    let result = ConnectionRequester::default()
        .send(&url, USERNAME, PASSWORD)
        .await;

    assert_eq!(result, Ok(()));
    assert!(matches!(
        verdicts.lock().expect("verdicts").last(),
        Some(AuthOutcome::Authenticated { .. })
    ));
}

#[tokio::test]
async fn wrong_password_is_auth_failed() {
    let verdicts = Arc::new(Mutex::new(Vec::new()));
    let authenticator = HttpAuthenticator::with_random_secret("realm@easycwmp");
    let server = spawn_server(protected_endpoint(authenticator, verdicts.clone())).await;

    let result = ConnectionRequester::default()
        .send(&server.url(), USERNAME, "wrong")
        .await;

    assert_eq!(result, Err(ConnectionRequestError::AuthFailed));
    assert!(result
        .unwrap_err()
        .to_string()
        .contains("rejected the connection request credentials"));
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
    assert!(matches!(
        verdicts.lock().expect("verdicts")[1],
        AuthOutcome::Denied { .. }
    ));
}

#[tokio::test]
async fn basic_only_endpoint_accepts() {
    let verdicts = Arc::new(Mutex::new(Vec::new()));
    let authenticator =
        HttpAuthenticator::with_random_secret("basic-cpe").with_schemes(AcceptedSchemes::BasicOnly);
    let server = spawn_server(protected_endpoint(authenticator, verdicts.clone())).await;

    let result = ConnectionRequester::default()
        .send(&server.url(), USERNAME, PASSWORD)
        .await;

    assert_eq!(result, Ok(()));
    let verdicts = verdicts.lock().expect("verdicts");
    assert_eq!(
        verdicts[0],
        AuthOutcome::Challenge("Basic realm=\"basic-cpe\"".to_owned())
    );
    assert!(matches!(verdicts[1], AuthOutcome::Authenticated { .. }));
}

#[tokio::test]
async fn stale_nonce_is_retried_once() {
    // The first challenge carries a nonce issued an hour ago: the device
    // answers the right password with stale=true and a fresh nonce.
    let authenticator = HttpAuthenticator::with_random_secret("cpe");
    let old_nonce = authenticator.issue_nonce(SystemTime::now() - Duration::from_secs(3600), 1);
    let old_challenge = authenticator.challenge_with_nonce(&old_nonce, false);
    let verdicts = Arc::new(Mutex::new(Vec::new()));
    let protected = protected_endpoint(authenticator, verdicts.clone());
    let handler: Arc<Handler> = Arc::new(move |request: &Request<Incoming>| {
        if request.headers().contains_key(AUTHORIZATION) {
            protected(request)
        } else {
            unauthorized(&old_challenge)
        }
    });
    let server = spawn_server(handler).await;

    let result = ConnectionRequester::default()
        .send(&server.url(), USERNAME, PASSWORD)
        .await;

    assert_eq!(result, Ok(()));
    let verdicts = verdicts.lock().expect("verdicts");
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    assert!(matches!(&verdicts[0], AuthOutcome::Challenge(c) if c.contains("stale=true")));
    assert!(matches!(verdicts[1], AuthOutcome::Authenticated { .. }));
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn open_endpoint_accepts_without_credentials() {
    let server = spawn_server(Arc::new(|_: &Request<Incoming>| {
        response(StatusCode::NO_CONTENT)
    }))
    .await;

    let result = ConnectionRequester::default()
        .send(&server.url(), "", "")
        .await;

    assert_eq!(result, Ok(()));
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn nothing_listening_is_unreachable_quickly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);

    let started = Instant::now();
    let result = ConnectionRequester::default()
        .send(&format!("http://{addr}/"), USERNAME, PASSWORD)
        .await;

    let Err(ConnectionRequestError::Unreachable(reason)) = result else {
        panic!("expected Unreachable, got {result:?}");
    };
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(reason.to_lowercase().contains("refused"), "{reason}");
}

#[tokio::test]
async fn silent_server_is_unreachable_after_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    // Accept connections and hold them open without ever answering.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });

    let started = Instant::now();
    let result = requester_with_timeout(Duration::from_millis(300))
        .send(&format!("http://{addr}/"), USERNAME, PASSWORD)
        .await;
    let elapsed = started.elapsed();

    let Err(err @ ConnectionRequestError::Unreachable(_)) = result else {
        panic!("expected Unreachable, got {result:?}");
    };
    assert_eq!(
        err.to_string(),
        "device unreachable: no answer within 300ms"
    );
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn service_unavailable_is_refused() {
    let server = spawn_server(Arc::new(|_: &Request<Incoming>| {
        response(StatusCode::SERVICE_UNAVAILABLE)
    }))
    .await;

    let result = ConnectionRequester::default()
        .send(&server.url(), USERNAME, PASSWORD)
        .await;

    assert_eq!(
        result,
        Err(ConnectionRequestError::Refused(
            StatusCode::SERVICE_UNAVAILABLE
        ))
    );
}

#[tokio::test]
async fn unusable_challenge_is_reported() {
    let server = spawn_server(Arc::new(|_: &Request<Incoming>| unauthorized("Negotiate"))).await;

    let result = ConnectionRequester::default()
        .send(&server.url(), USERNAME, PASSWORD)
        .await;

    assert!(
        matches!(result, Err(ConnectionRequestError::BadChallenge(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn invalid_and_https_urls_are_rejected() {
    let requester = ConnectionRequester::default();
    assert!(matches!(
        requester.send("not a url", USERNAME, PASSWORD).await,
        Err(ConnectionRequestError::InvalidUrl { .. })
    ));
    let https = requester
        .send("https://127.0.0.1:7547/", USERNAME, PASSWORD)
        .await;
    assert!(
        matches!(https, Err(ConnectionRequestError::TlsNotSupported(_))),
        "{https:?}"
    );
}

#[tokio::test]
async fn clones_share_one_client_concurrently() {
    let verdicts = Arc::new(Mutex::new(Vec::new()));
    let authenticator = HttpAuthenticator::with_random_secret("realm@easycwmp");
    let server = spawn_server(protected_endpoint(authenticator, verdicts)).await;
    let requester = ConnectionRequester::default();

    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let requester = requester.clone();
            let url = server.url();
            tokio::spawn(async move { requester.send(&url, USERNAME, PASSWORD).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task"), Ok(()));
    }
    assert_eq!(server.requests.load(Ordering::SeqCst), 32);
}
