//! Settings of the CWMP edge: limits, authentication, timeouts and retries.

use std::time::Duration;

use provisioning::retry::RetryPolicy;

/// How CPEs must authenticate on the CWMP port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CpeAuthMode {
    /// No authentication (lab use).
    #[default]
    None,
    /// HTTP Basic (only sensible over HTTPS).
    Basic,
    /// HTTP Digest.
    Digest,
    /// Digest or Basic, challenged with Digest.
    DigestOrBasic,
}

impl std::fmt::Display for CpeAuthMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CpeAuthMode::None => "none",
            CpeAuthMode::Basic => "basic",
            CpeAuthMode::Digest => "digest",
            CpeAuthMode::DigestOrBasic => "digest-or-basic",
        })
    }
}

impl std::str::FromStr for CpeAuthMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Ok(CpeAuthMode::None),
            "basic" => Ok(CpeAuthMode::Basic),
            "digest" => Ok(CpeAuthMode::Digest),
            "digest-or-basic" | "any" => Ok(CpeAuthMode::DigestOrBasic),
            other => Err(format!(
                "unknown CPE auth mode {other:?} (none, basic, digest, digest-or-basic)"
            )),
        }
    }
}

/// Default of [`EdgeConfig::max_upload_bytes`]: 1 GiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 1 << 30;

/// Settings of the CWMP edge.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Size of the connection's read buffer, which bounds the request head (request line plus
    /// headers; hyper allows somewhat more than this before answering 431).
    pub max_header_bytes: usize,
    /// Time allowed to receive a request's head.
    pub header_timeout: Duration,
    /// Time allowed to receive a request's body.
    pub body_timeout: Duration,
    /// How long a session may stay idle before it is dropped.
    pub session_timeout: Duration,
    /// How CPEs authenticate.
    pub cpe_auth: CpeAuthMode,
    /// Shared CPE credentials (user name, password), accepted for every device.
    pub cpe_credentials: Option<(String, String)>,
    /// The Digest realm.
    pub auth_realm: String,
    /// Default connection-request credentials, used when a device has none of its own.
    pub connection_request_credentials: (String, String),
    /// Timeout of one connection request.
    pub connection_request_timeout: Duration,
    /// Retries of tasks that faulted.
    pub retry: RetryPolicy,
    /// With several edges on one store: this edge's name, and sessions are leased in the
    /// store so that a device is in one session across all edges. `None` (one edge owns the
    /// store, as in standalone mode) keeps sessions in this process only.
    pub shared_store_edge: Option<String>,
    /// The file server's URL as CPEs reach it (such as `http://acs.example.net:7567`), for
    /// Downloads of files it serves.
    pub files_url: Option<String>,
    /// The file server's port: without `files_url`, files are served at this port of the
    /// address devices reach the CWMP port at.
    pub files_port: Option<u16>,
    /// The file server's signing key: only signed, unexpired URLs are served, and Downloads
    /// of its files get one.
    pub files_signing_key: Option<Vec<u8>>,
    /// The directory the file server serves, where the API's `/api/v1/files` uploads go
    /// (`None`: this process serves no files).
    pub files_dir: Option<std::path::PathBuf>,
    /// Largest file `PUT /api/v1/files/{name}` accepts, in bytes.
    pub max_upload_bytes: u64,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            max_body_bytes: 8 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            session_timeout: Duration::from_secs(30),
            cpe_auth: CpeAuthMode::None,
            cpe_credentials: None,
            auth_realm: "kube-acs".to_string(),
            connection_request_credentials: (String::new(), String::new()),
            connection_request_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            shared_store_edge: None,
            files_url: None,
            files_port: None,
            files_signing_key: None,
            files_dir: None,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
        }
    }
}
