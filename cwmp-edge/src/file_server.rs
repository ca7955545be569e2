//! The file server (port 7567): firmware and configuration files for Download, from a
//! directory or volume.
//!
//! Files are streamed from disk in chunks (never held whole in memory), with `HEAD`, single
//! `Range` requests (and so resumed downloads), `Last-Modified`, and a strong `ETag` (size and
//! modification time) honoured by `If-None-Match` and `If-Range`. With a signing key, every
//! request needs a URL signed by kube-acs that has not expired
//! (`?expires=<unix seconds>&signature=<hex HMAC-SHA256>`), so each Download gets its own
//! short-lived credentials. Responses are counted per file and status, and downloads per file
//! in the store (for `Firmware.status.downloads`).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hmac::{Hmac, Mac};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use sha2::Sha256;
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// What the file server serves, and how.
#[derive(Clone)]
pub struct FileServer {
    /// The directory served.
    pub dir: PathBuf,
    /// With a key, only signed URLs are served.
    pub signing_key: Option<Vec<u8>>,
    /// Responses by file and status.
    pub downloads: Family<Vec<(&'static str, String)>, Counter>,
    /// Where downloads are counted for Firmware status (every edge adds to the same count).
    pub store: Option<std::sync::Arc<dyn acs_store::Store>>,
}

/// The signature of `path` (as requested, starting with `/`) valid until `expires`.
pub fn signature(key: &[u8], path: &str, expires: u64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(path.as_bytes());
    mac.update(b"\n");
    mac.update(expires.to_string().as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `url` (the file's URL, whose path is `path`) signed until `expires` (Unix seconds).
pub fn signed_url(key: &[u8], url: &str, path: &str, expires: u64) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}expires={expires}&signature={}",
        signature(key, path, expires)
    )
}

/// The router serving `server`.
pub fn router(server: FileServer) -> Router {
    Router::new().fallback(serve).with_state(server)
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Why a request for a signed URL is refused, if it is.
fn check_signature(key: &[u8], path: &str, query: Option<&str>) -> Result<(), &'static str> {
    let mut expires = None;
    let mut given = None;
    for pair in query.unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("expires", value)) => expires = value.parse::<u64>().ok(),
            Some(("signature", value)) => given = Some(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    let (Some(expires), Some(given)) = (expires, given) else {
        return Err("a signed URL is required");
    };
    if expires < unix_seconds() {
        return Err("the signed URL has expired");
    }
    // Compared in constant time.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(path.as_bytes());
    mac.update(b"\n");
    mac.update(expires.to_string().as_bytes());
    let bytes: Option<Vec<u8>> = (0..given.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(given.get(i..i + 2)?, 16).ok())
        .collect();
    match bytes {
        Some(bytes) if mac.verify_slice(&bytes).is_ok() => Ok(()),
        _ => Err("the URL's signature is not valid"),
    }
}

/// A strong entity tag from the file's size and modification time.
fn entity_tag(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    if !metadata.is_file() {
        return None;
    }
    let modified = metadata
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!("\"{:x}-{:x}\"", metadata.len(), modified))
}

/// The file a request path names inside `dir`, if it stays inside it and is not hidden (a
/// segment starting with `.`, such as the uploads in progress under `.uploads/`).
fn file_of(dir: &Path, path: &str) -> Option<PathBuf> {
    let mut file = dir.to_path_buf();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        if segment.starts_with('.') || segment.contains('\\') {
            return None;
        }
        file.push(segment);
    }
    Some(file)
}

/// How long an answer waits for its download to be counted.
const COUNT_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

async fn serve(State(server): State<FileServer>, mut request: Request) -> Response {
    let path = request.uri().path().to_string();
    let count = |status: StatusCode| {
        server
            .downloads
            .get_or_create(&vec![
                ("file", path.clone()),
                ("status", status.as_u16().to_string()),
            ])
            .inc();
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        count(StatusCode::METHOD_NOT_ALLOWED);
        return (StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only\n").into_response();
    }
    if let Some(key) = &server.signing_key {
        if let Err(why) = check_signature(key, &path, request.uri().query()) {
            tracing::warn!(file = path, why, "file request refused");
            count(StatusCode::FORBIDDEN);
            return (StatusCode::FORBIDDEN, format!("{why}\n")).into_response();
        }
    }
    let Some(file) = file_of(&server.dir, &crate::api_access::decode(&path)) else {
        count(StatusCode::NOT_FOUND);
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    };
    let etag = entity_tag(&file);
    let is_get = request.method() == Method::GET;
    let range_starts_at_zero = request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().starts_with("bytes=0-"));
    let headers = request.headers();
    if let Some(etag) = &etag {
        let matches = |value: &HeaderValue| {
            value
                .to_str()
                .map(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
                .unwrap_or(false)
        };
        if headers.get(header::IF_NONE_MATCH).is_some_and(matches) {
            count(StatusCode::NOT_MODIFIED);
            return Response::builder()
                .status(StatusCode::NOT_MODIFIED)
                .header(header::ETAG, etag.as_str())
                .body(Body::empty())
                .unwrap_or_default();
        }
        // A resumed download of a file that changed since gets the whole new file.
        let stale_range = headers
            .get(header::IF_RANGE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with('"') && v != etag);
        if stale_range {
            request.headers_mut().remove(header::RANGE);
        }
    }
    let response = match ServeDir::new(&server.dir).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(error) => {
            tracing::warn!(file = path, %error, "file server error");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file\n").into_response()
        }
    };
    count(response.status());
    let served =
        response.status() == StatusCode::OK || response.status() == StatusCode::PARTIAL_CONTENT;
    if let (Some(store), true, true) = (&server.store, served, is_get) {
        // A download is counted once, at its first byte (a resumed download is not a new one).
        let first = response.status() == StatusCode::OK || range_starts_at_zero;
        if first {
            // Counted durably before the body goes out, so a process killed mid-download
            // loses no count (it may count a download that then broke off). Each attempt adds
            // to a random shard of the count, so a wave's downloads rarely conflict; a store
            // slow to commit holds the answer for at most COUNT_WAIT, and the count then
            // completes on its own.
            let (store, path) = (store.clone(), path.clone());
            let counting = tokio::spawn(async move {
                let counted = acs_store::transact(store.as_ref(), |txn| {
                    let path = path.clone();
                    let shard = rand::random::<u32>();
                    Box::pin(async move {
                        acs_store::records::count_file_download(txn, &path, shard).await
                    })
                })
                .await;
                if let Err(error) = counted {
                    tracing::warn!(file = path, %error, "could not count a download");
                }
            });
            let _ = tokio::time::timeout(COUNT_WAIT, counting).await;
        }
    }
    let mut response = response;
    if let (Some(etag), true) = (etag, response.status().is_success()) {
        if let Ok(value) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(header::ETAG, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_path_and_expiry() {
        let key = b"secret";
        let expires = unix_seconds() + 60;
        let sig = signature(key, "/fw/2.0.bin", expires);
        let query = format!("expires={expires}&signature={sig}");
        assert_eq!(check_signature(key, "/fw/2.0.bin", Some(&query)), Ok(()));
        assert!(check_signature(key, "/fw/2.1.bin", Some(&query)).is_err());
        assert!(check_signature(b"other", "/fw/2.0.bin", Some(&query)).is_err());
        assert!(check_signature(key, "/fw/2.0.bin", None).is_err());
        let old = unix_seconds() - 1;
        let expired = format!(
            "expires={old}&signature={}",
            signature(key, "/fw/2.0.bin", old)
        );
        assert_eq!(
            check_signature(key, "/fw/2.0.bin", Some(&expired)),
            Err("the signed URL has expired")
        );
        assert_eq!(
            signed_url(key, "http://acs:7567/fw/2.0.bin", "/fw/2.0.bin", expires),
            format!("http://acs:7567/fw/2.0.bin?{query}")
        );
    }

    #[test]
    fn paths_stay_inside_the_directory() {
        let dir = Path::new("/srv/files");
        assert_eq!(
            file_of(dir, "/a/b.bin"),
            Some(PathBuf::from("/srv/files/a/b.bin"))
        );
        assert_eq!(file_of(dir, "/a/../../etc/passwd"), None);
        assert_eq!(file_of(dir, "/.uploads/fw.bin.0123"), None);
        assert_eq!(file_of(dir, "/a/.hidden"), None);
    }
}
