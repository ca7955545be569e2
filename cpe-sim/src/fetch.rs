//! The HTTP side of Download and Upload: fetch a file (hashing it as it streams, never holding
//! it whole) or put one, answering a Basic or Digest challenge with the given credentials.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT, WWW_AUTHENTICATE};
use hyper::{Method, Request, StatusCode};
use sha2::{Digest, Sha256};

use http_auth::headers::{authorization_for, new_cnonce, ClientAuth};

use crate::http::{Connection, Endpoint};
use crate::transfer::FetchOutcome;

/// `User-Agent` of the simulator.
pub const USER_AGENT_VALUE: &str = concat!("cpe-sim/", env!("CARGO_PKG_VERSION"));

/// Downloads `url`, returning its size and SHA-256, within `timeout`.
pub async fn download(
    url: &str,
    username: &str,
    password: &str,
    timeout: Duration,
) -> FetchOutcome {
    let work = async {
        let endpoint = Endpoint::parse(url).await?;
        let mut size = 0u64;
        let mut hasher = Sha256::new();
        let status = exchange(
            &endpoint,
            Method::GET,
            Bytes::new(),
            username,
            password,
            |data| {
                size += data.len() as u64;
                hasher.update(data);
            },
        )
        .await?;
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        Ok(FetchOutcome::Fetched {
            size,
            sha256: hasher.finalize().into(),
        })
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => FetchOutcome::Failed(error),
        Err(_) => FetchOutcome::Failed("timed out".into()),
    }
}

/// Uploads `content` to `url` with PUT, within `timeout`.
pub async fn upload(
    url: &str,
    username: &str,
    password: &str,
    content: String,
    timeout: Duration,
) -> FetchOutcome {
    let work = async {
        let endpoint = Endpoint::parse(url).await?;
        let status = exchange(
            &endpoint,
            Method::PUT,
            Bytes::from(content),
            username,
            password,
            |_| {},
        )
        .await?;
        if status.is_success() {
            Ok(FetchOutcome::Stored)
        } else {
            Err(format!("HTTP {status}"))
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => FetchOutcome::Failed(error),
        Err(_) => FetchOutcome::Failed("timed out".into()),
    }
}

/// One request, repeated once with credentials if the server challenges it.
async fn exchange(
    endpoint: &Endpoint,
    method: Method,
    body: Bytes,
    username: &str,
    password: &str,
    mut chunk: impl FnMut(&[u8]),
) -> Result<StatusCode, String> {
    let mut connection = Connection::open(endpoint.address, None).await?;
    let mut authorization: Option<String> = None;
    for _ in 0..2 {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(endpoint.path.as_str())
            .header(HOST, endpoint.host.as_str())
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(CONTENT_TYPE, "application/octet-stream");
        if let Some(value) = &authorization {
            request = request.header(AUTHORIZATION, value.as_str());
        }
        let request = request
            .body(Full::new(body.clone()))
            .map_err(|e| format!("building the request: {e}"))?;
        let parts = connection
            .stream(request, |status, data| {
                if status.is_success() {
                    chunk(data)
                }
            })
            .await?;
        if parts.status != StatusCode::UNAUTHORIZED
            || authorization.is_some()
            || username.is_empty()
        {
            return Ok(parts.status);
        }
        let offered: Vec<&str> = parts
            .headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v: &HeaderValue| v.to_str().ok())
            .collect();
        let cnonce = new_cnonce();
        let auth = ClientAuth {
            username,
            password,
            nc: 1,
            cnonce: &cnonce,
        };
        authorization = Some(
            authorization_for(offered, method.as_str(), &endpoint.path, &auth)
                .map_err(|e| e.to_string())?,
        );
        if connection.is_closed() {
            connection = Connection::open(endpoint.address, None).await?;
        }
    }
    Err("authentication failed".into())
}
