//! `/api/v1/files`: the file server's files (firmware images, configuration files) uploaded,
//! listed and deleted through the northbound API.
//!
//! An upload is streamed to a temporary file under `.uploads/` in the files directory (never
//! held in memory), its SHA-256 computed on the way, then moved into place in one step, so a
//! broken or refused upload never shows under its name. Names are one path segment of
//! letters, digits, `.`, `_`, `-` and `+`, not starting with `.`: no traversal, no hidden
//! files. An existing file is replaced only with `?overwrite=true` (else 409).

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::edge::Edge;
use crate::nbi::ApiError;

/// The directory under the files directory where uploads are written until complete (hidden,
/// so neither listed nor served).
const UPLOADS: &str = ".uploads";

/// Longest file name accepted.
const MAX_NAME: usize = 255;

/// A file as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileInfo {
    /// The file's name (its path on the file server, without the leading `/`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, ms since the Unix epoch.
    pub modified: u64,
    /// Hex SHA-256 of the content (not in listings, which would read every file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Where CPEs download it, when the file server's URL is known (unsigned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Why `name` cannot name a file of the API, if it cannot.
pub fn invalid_name(name: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+');
    if name.is_empty() || name.len() > MAX_NAME {
        Some(format!("a file name has 1 to {MAX_NAME} characters"))
    } else if name.starts_with('.') {
        Some(format!(
            "file name {name:?} must not start with '.' (no hidden files, no '..')"
        ))
    } else {
        name.chars().find(|c| !allowed(*c)).map(|c| {
            format!(
                "file name {name:?} contains {c:?}: use letters, digits, '.', '_', '-' and '+' (no '/')"
            )
        })
    }
}

fn checked_name(name: &str) -> Result<&str, ApiError> {
    match invalid_name(name) {
        Some(why) => Err(ApiError::new(StatusCode::BAD_REQUEST, why)),
        None => Ok(name),
    }
}

/// The files directory of this process (503 when it serves none).
fn files_dir(edge: &Edge) -> Result<&FsPath, ApiError> {
    edge.config.files_dir.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this process serves no files directory",
        )
    })
}

/// A filesystem failure as an API error (logged once here).
fn io_error(what: &str, path: &FsPath, error: std::io::Error) -> ApiError {
    tracing::error!(path = %path.display(), %error, "{what}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("{what} {}: {error}", path.display()),
    )
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("file {name} not found"))
}

/// The file's download URL on the file server, when its URL is known.
fn download_url(edge: &Edge, name: &str) -> Option<String> {
    let base = edge.config.files_url.as_deref()?;
    Some(format!("{}/{name}", base.trim_end_matches('/')))
}

/// What the API shows of a regular file, from its metadata.
fn file_info(edge: &Edge, name: &str, metadata: &std::fs::Metadata) -> FileInfo {
    let modified = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    FileInfo {
        name: name.to_string(),
        size: metadata.len(),
        modified,
        sha256: None,
        url: download_url(edge, name),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `GET /api/v1/files`: the files the API manages (regular, not hidden, at the top of the
/// files directory), by name.
pub async fn list_files(State(edge): State<Arc<Edge>>) -> Result<Json<Vec<FileInfo>>, ApiError> {
    let dir = files_dir(&edge)?;
    let mut entries = tokio::fs::read_dir(dir)
        .await
        .map_err(|e| io_error("cannot list the files directory", dir, e))?;
    let mut files = Vec::new();
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(|e| io_error("cannot list the files directory", dir, e))?
    {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if invalid_name(&name).is_some() {
            continue;
        }
        // Files that vanish meanwhile, and directories, are left out.
        match entry.metadata().await {
            Ok(metadata) if metadata.is_file() => files.push(file_info(&edge, &name, &metadata)),
            _ => {}
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(files))
}

/// `GET /api/v1/files/{name}`: one file with its SHA-256 (the content itself is on the file
/// server).
pub async fn get_file(
    State(edge): State<Arc<Edge>>,
    Path(name): Path<String>,
) -> Result<Json<FileInfo>, ApiError> {
    let name = checked_name(&name)?;
    let path = files_dir(&edge)?.join(name);
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found(name)),
        Err(e) => return Err(io_error("cannot open", &path, e)),
    };
    let metadata = file
        .metadata()
        .await
        .map_err(|e| io_error("cannot read", &path, e))?;
    if !metadata.is_file() {
        return Err(not_found(name));
    }
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file
            .read(&mut buffer)
            .await
            .map_err(|e| io_error("cannot read", &path, e))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    let mut info = file_info(&edge, name, &metadata);
    info.sha256 = Some(hex(&hasher.finalize()));
    Ok(Json(info))
}

/// The query of an upload.
#[derive(Deserialize)]
pub struct UploadQuery {
    /// Replace a file of that name (else an existing file answers 409).
    #[serde(default)]
    overwrite: bool,
}

/// A temporary upload file, removed when dropped unless it was moved into place (also when
/// the client goes away mid-upload and the handler is dropped).
struct TempUpload {
    path: PathBuf,
}

impl Drop for TempUpload {
    fn drop(&mut self) {
        // Already moved into place (or never created) when missing.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `PUT /api/v1/files/{name}`: stores the request body as the file `name`. 201 with the file
/// (size and SHA-256) when new, 200 when it replaced one (`?overwrite=true`), 409 when it
/// exists without it, 413 above the size limit.
pub async fn put_file(
    State(edge): State<Arc<Edge>>,
    Path(name): Path<String>,
    query: Result<Query<UploadQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let name = checked_name(&name)?;
    let dir = files_dir(&edge)?;
    let target = dir.join(name);
    if exists(&target).await && !query.overwrite {
        return Err(already_exists(name));
    }
    let limit = edge.config.max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    let uploads = dir.join(UPLOADS);
    tokio::fs::create_dir_all(&uploads)
        .await
        .map_err(|e| io_error("cannot write to the files directory", &uploads, e))?;
    let temp = TempUpload {
        path: uploads.join(format!("{name}.{:016x}", rand::random::<u64>())),
    };
    let (size, sha256) = receive(body, &temp.path, limit).await?;
    let replaced = if query.overwrite {
        let replaced = exists(&target).await;
        tokio::fs::rename(&temp.path, &target)
            .await
            .map_err(|e| io_error("cannot move the upload into place", &target, e))?;
        replaced
    } else {
        // A link fails if the name was taken meanwhile: two uploads never overwrite each other.
        match tokio::fs::hard_link(&temp.path, &target).await {
            Ok(()) => false,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(already_exists(name))
            }
            Err(e) => return Err(io_error("cannot move the upload into place", &target, e)),
        }
    };
    drop(temp);
    let metadata = tokio::fs::metadata(&target)
        .await
        .map_err(|e| io_error("cannot read", &target, e))?;
    let mut info = file_info(&edge, name, &metadata);
    info.size = size;
    info.sha256 = Some(sha256);
    tracing::info!(
        file = name,
        size,
        sha256 = info.sha256,
        replaced,
        "file uploaded"
    );
    let status = if replaced {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(info)).into_response())
}

/// Whether something (a file, a directory, a link) has this path.
async fn exists(path: &FsPath) -> bool {
    tokio::fs::symlink_metadata(path).await.is_ok()
}

fn already_exists(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        format!("file {name} exists: PUT with ?overwrite=true to replace it"),
    )
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the file is larger than the upload limit of {limit} bytes (--max-upload-bytes)"),
    )
}

/// Streams `body` into a new file at `path`, at most `limit` bytes; its size and hex SHA-256.
async fn receive(mut body: Body, path: &FsPath, limit: u64) -> Result<(u64, String), ApiError> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| io_error("cannot write to the files directory", path, e))?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("the upload broke off: {error}"),
            )
        })?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        size += chunk.len() as u64;
        if size > limit {
            return Err(too_large(limit));
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| io_error("cannot write", path, e))?;
    }
    file.sync_all()
        .await
        .map_err(|e| io_error("cannot write", path, e))?;
    Ok((size, hex(&hasher.finalize())))
}

/// `DELETE /api/v1/files/{name}`: 204, or 404 when there is no such file.
pub async fn delete_file(
    State(edge): State<Arc<Edge>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let name = checked_name(&name)?;
    let path = files_dir(&edge)?.join(name);
    match tokio::fs::symlink_metadata(&path).await {
        Ok(metadata) if metadata.is_file() => {}
        Ok(_) => return Err(not_found(name)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found(name)),
        Err(e) => return Err(io_error("cannot read", &path, e)),
    }
    match tokio::fs::remove_file(&path).await {
        Ok(()) => {
            tracing::info!(file = name, "file deleted");
            Ok(StatusCode::NO_CONTENT)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(not_found(name)),
        Err(e) => Err(io_error("cannot delete", &path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::invalid_name;

    #[test]
    fn names_are_one_visible_segment() {
        for good in ["fw-2.0.bin", "HomeGW_1.2+b3.img", "a"] {
            assert_eq!(invalid_name(good), None, "{good}");
        }
        let long = "a".repeat(256);
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "../etc/passwd",
            "a/b",
            "a\\b",
            "a b",
            "nul\0",
            long.as_str(),
        ] {
            assert!(invalid_name(bad).is_some(), "{bad:?}");
        }
    }
}
