//! The ACS's connection-request client (TR-069 section 3.2.2).
//!
//! To make a device open a CWMP session now, the ACS sends an HTTP `GET` to
//! the device's `ConnectionRequestURL`, authenticating with Digest (or Basic)
//! using `ConnectionRequestUsername` / `ConnectionRequestPassword`. A device
//! answers `200` or `204` when it accepts; it then contacts the ACS on its
//! own.
//!
//! [`ConnectionRequester::send`] first asks without credentials, and on a
//! `401` answers the challenge once, on a new connection (devices close the
//! connection after the `401`). Plain HTTP only for now.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, USER_AGENT, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use http_auth::headers::{authorization_for, new_cnonce, parse_challenges, ClientAuth};

/// Default limit for a whole connection request, retries included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Default limit for establishing one TCP connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How many authenticated attempts are made: one, plus one more only when
/// the device says the first nonce was stale.
const MAX_AUTHENTICATED_ATTEMPTS: usize = 2;

/// Settings of a [`ConnectionRequester`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRequestConfig {
    /// Limit for the whole exchange (both requests).
    pub timeout: Duration,
    /// Limit for establishing each TCP connection.
    pub connect_timeout: Duration,
    /// `User-Agent` header sent to devices.
    pub user_agent: String,
}

impl Default for ConnectionRequestConfig {
    fn default() -> Self {
        ConnectionRequestConfig {
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            user_agent: concat!("kube-acs/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Why a connection request did not succeed. The `Display` texts are meant
/// for users (they end up in a task's state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionRequestError {
    /// The ConnectionRequestURL cannot be used.
    #[error("invalid connection request URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The ConnectionRequestURL is `https`, which is not supported yet.
    #[error("connection requests over HTTPS are not supported yet (URL {0:?})")]
    TlsNotSupported(String),
    /// No HTTP answer: connection refused, no route, or timeout.
    #[error("device unreachable: {0}")]
    Unreachable(String),
    /// The device rejected the connection request credentials.
    #[error(
        "device rejected the connection request credentials \
         (check ConnectionRequestUsername/ConnectionRequestPassword)"
    )]
    AuthFailed,
    /// The device asked for authentication in a way we cannot answer.
    #[error("device asked for unsupported authentication: {0}")]
    BadChallenge(String),
    /// The credentials cannot be put in an HTTP header (control characters).
    #[error("connection request credentials contain characters not allowed in HTTP headers")]
    InvalidCredentials,
    /// The device answered with a status other than success or 401.
    #[error("device refused the connection request: HTTP {0}")]
    Refused(StatusCode),
}

/// Sends connection requests. Cheap to clone; clones share one HTTP client.
#[derive(Debug, Clone)]
pub struct ConnectionRequester {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client<HttpConnector, Empty<Bytes>>,
    config: ConnectionRequestConfig,
}

impl Default for ConnectionRequester {
    fn default() -> Self {
        Self::new(ConnectionRequestConfig::default())
    }
}

impl ConnectionRequester {
    /// A requester with the given settings. Construction needs no runtime;
    /// [`ConnectionRequester::send`] must run inside a Tokio runtime.
    pub fn new(config: ConnectionRequestConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.connect_timeout));
        connector.set_nodelay(true);
        // Connection requests go to ever-different devices, and devices
        // close after a 401: pooling would only keep dead sockets around.
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector);
        ConnectionRequester {
            inner: Arc::new(Inner { client, config }),
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &ConnectionRequestConfig {
        &self.inner.config
    }

    /// Sends a connection request to `url` with the device's connection
    /// request credentials. `Ok(())` means the device accepted it.
    pub async fn send(
        &self,
        url: &str,
        username: &str,
        password: &str,
    ) -> Result<(), ConnectionRequestError> {
        let uri = parse_url(url)?;
        let timeout = self.inner.config.timeout;
        let result =
            match tokio::time::timeout(timeout, self.exchange(&uri, username, password)).await {
                Ok(result) => result,
                Err(_) => Err(ConnectionRequestError::Unreachable(format!(
                    "no answer within {timeout:?}"
                ))),
            };
        match &result {
            Ok(()) => tracing::debug!(url, "connection request accepted"),
            Err(err) => tracing::debug!(url, error = %err, "connection request failed"),
        }
        result
    }

    /// The unauthenticated attempt, then up to two authenticated ones.
    async fn exchange(
        &self,
        uri: &Uri,
        username: &str,
        password: &str,
    ) -> Result<(), ConnectionRequestError> {
        let response = self.get(uri, None).await?;
        let mut challenges = match judge(response.status()) {
            Verdict::Accepted => return Ok(()),
            Verdict::Refused(status) => return Err(ConnectionRequestError::Refused(status)),
            Verdict::Unauthorized => challenges_of(&response),
        };
        drop(response);

        let target = request_target(uri);
        for _ in 0..MAX_AUTHENTICATED_ATTEMPTS {
            let cnonce = new_cnonce();
            let auth = ClientAuth {
                username,
                password,
                nc: 1,
                cnonce: &cnonce,
            };
            let header =
                authorization_for(challenges.iter().map(String::as_str), "GET", target, &auth)
                    .map_err(|err| ConnectionRequestError::BadChallenge(err.to_string()))?;
            let response = self.get(uri, Some(&header)).await?;
            match judge(response.status()) {
                Verdict::Accepted => return Ok(()),
                Verdict::Refused(status) => return Err(ConnectionRequestError::Refused(status)),
                Verdict::Unauthorized => challenges = challenges_of(&response),
            }
            if !any_stale(&challenges) {
                break;
            }
        }
        Err(ConnectionRequestError::AuthFailed)
    }

    /// One `GET`, returning the response head (the body is never read).
    async fn get(
        &self,
        uri: &Uri,
        authorization: Option<&str>,
    ) -> Result<Response<Incoming>, ConnectionRequestError> {
        let request = self.build_request(uri, authorization)?;
        self.inner
            .client
            .request(request)
            .await
            .map_err(|err| ConnectionRequestError::Unreachable(error_chain(&err)))
    }

    fn build_request(
        &self,
        uri: &Uri,
        authorization: Option<&str>,
    ) -> Result<Request<Empty<Bytes>>, ConnectionRequestError> {
        let mut builder = Request::builder()
            .method(Method::GET)
            .uri(uri.clone())
            .header(USER_AGENT, self.inner.config.user_agent.as_str());
        if let Some(value) = authorization {
            let value = HeaderValue::from_bytes(value.as_bytes())
                .map_err(|_| ConnectionRequestError::InvalidCredentials)?;
            builder = builder.header(AUTHORIZATION, value);
        }
        builder
            .body(Empty::new())
            .map_err(|err| ConnectionRequestError::InvalidUrl {
                url: uri.to_string(),
                reason: err.to_string(),
            })
    }
}

/// What a response status means for a connection request.
enum Verdict {
    Accepted,
    Unauthorized,
    Refused(StatusCode),
}

fn judge(status: StatusCode) -> Verdict {
    if status.is_success() {
        Verdict::Accepted
    } else if status == StatusCode::UNAUTHORIZED {
        Verdict::Unauthorized
    } else {
        Verdict::Refused(status)
    }
}

/// The `WWW-Authenticate` values of a response.
fn challenges_of(response: &Response<Incoming>) -> Vec<String> {
    response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect()
}

fn any_stale(challenges: &[String]) -> bool {
    challenges
        .iter()
        .flat_map(|header| parse_challenges(header))
        .any(|challenge| challenge.is_stale())
}

/// Validates a ConnectionRequestURL: absolute, `http`, with a host.
fn parse_url(url: &str) -> Result<Uri, ConnectionRequestError> {
    let invalid = |reason: &str| ConnectionRequestError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = url.trim();
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    let uri: Uri = trimmed
        .parse()
        .map_err(
            |err: hyper::http::uri::InvalidUri| ConnectionRequestError::InvalidUrl {
                url: url.to_owned(),
                reason: err.to_string(),
            },
        )?;
    match uri.scheme_str() {
        Some(scheme) if scheme.eq_ignore_ascii_case("http") => {}
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => {
            return Err(ConnectionRequestError::TlsNotSupported(url.to_owned()))
        }
        Some(_) => return Err(invalid("the scheme must be http")),
        None => return Err(invalid("it must be an absolute http:// URL")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    Ok(uri)
}

/// The request-target the client sends, which Digest hashes as its uri.
fn request_target(uri: &Uri) -> &str {
    match uri.path_and_query().map(|pq| pq.as_str()) {
        Some(target) if !target.is_empty() => target,
        _ => "/",
    }
}

/// An error and its sources, e.g. `client error (Connect): tcp connect
/// error: Connection refused (os error 111)`.
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_validation() {
        assert!(parse_url("http://192.0.2.1:7547/abc").is_ok());
        assert!(parse_url("HTTP://[2001:db8::1]:7547").is_ok());
        assert!(parse_url(" http://cpe.local/ ").is_ok());
        assert!(matches!(
            parse_url("https://192.0.2.1/"),
            Err(ConnectionRequestError::TlsNotSupported(_))
        ));
        for bad in [
            "",
            "   ",
            "not a url",
            "/relative",
            "ftp://host/",
            "http://",
            "http:// x",
        ] {
            assert!(
                matches!(
                    parse_url(bad),
                    Err(ConnectionRequestError::InvalidUrl { .. })
                ),
                "{bad:?}: {:?}",
                parse_url(bad)
            );
        }
    }

    #[test]
    fn request_target_defaults_to_slash() {
        let uri: Uri = "http://host:7547".parse().unwrap();
        assert_eq!(request_target(&uri), "/");
        let uri: Uri = "http://host:7547/cr?id=1".parse().unwrap();
        assert_eq!(request_target(&uri), "/cr?id=1");
    }

    #[test]
    fn error_texts_are_readable() {
        assert_eq!(
            ConnectionRequestError::Refused(StatusCode::SERVICE_UNAVAILABLE).to_string(),
            "device refused the connection request: HTTP 503 Service Unavailable"
        );
        assert_eq!(
            ConnectionRequestError::Unreachable("no answer within 5s".into()).to_string(),
            "device unreachable: no answer within 5s"
        );
        let invalid = parse_url("ftp://x/").unwrap_err().to_string();
        assert_eq!(
            invalid,
            "invalid connection request URL \"ftp://x/\": the scheme must be http"
        );
    }

    #[test]
    fn stale_detection() {
        assert!(any_stale(&[
            "Basic realm=\"x\"".into(),
            "Digest realm=\"x\", nonce=\"n\", stale=true".into()
        ]));
        assert!(!any_stale(&["Digest realm=\"x\", nonce=\"n\"".into()]));
    }
}
