//! The ACS under test: finding (building) the `kube-acs` binary, running it in standalone mode
//! on free loopback ports with a temporary data directory, and a small client of its API.
//!
//! The binary is located by asking Cargo to build it (`cargo build -p kube-acs
//! --message-format=json`) and reading the executable path from Cargo's own report, so it is
//! found wherever `CARGO_TARGET_DIR` points; a path can also be given instead.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Builds `kube-acs` with Cargo (release or debug profile) and returns the executable's path
/// as Cargo reports it.
pub fn build_kube_acs(release: bool) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root())
        .args([
            "build",
            "-p",
            "kube-acs",
            "--bin",
            "kube-acs",
            "--message-format=json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if release {
        command.arg("--release");
    }
    let mut child = command.spawn().context("running cargo build -p kube-acs")?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no cargo output"))?;
    let mut executable = None;
    for line in BufReader::new(stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(&line?) else {
            continue;
        };
        if message["reason"] == "compiler-artifact" && message["target"]["name"] == "kube-acs" {
            if let Some(path) = message["executable"].as_str() {
                executable = Some(PathBuf::from(path));
            }
        }
    }
    if !child.wait()?.success() {
        bail!("cargo build -p kube-acs failed");
    }
    executable.ok_or_else(|| anyhow!("cargo reported no kube-acs executable"))
}

/// The ports in kube-acs's `standalone ready` (or `edge ready`) `cwmp=... api=... files=...` log line.
fn ready_ports(log: &str) -> Option<(u16, u16, u16)> {
    let line = log
        .lines()
        .find(|l| l.contains("kube-acs ") && l.contains(" ready") && l.contains("cwmp="))?;
    let port = |name: &str| -> Option<u16> {
        let address = line.split_whitespace().find_map(|w| w.strip_prefix(name))?;
        address.rsplit(':').next()?.parse().ok()
    };
    Some((port("cwmp=")?, port("api=")?, port("files=")?))
}

/// A running `kube-acs standalone`; killed when dropped.
pub struct AcsProcess {
    child: Child,
    /// CWMP URL devices inform to.
    pub cwmp_url: String,
    /// Base URL of the northbound API.
    pub api_url: String,
    /// Base URL of the file server.
    pub files_url: String,
    /// Directory the file server serves.
    pub files_dir: PathBuf,
    /// The data directory.
    pub data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl AcsProcess {
    /// Starts `bin` in standalone mode on free ports, with a new temporary data directory
    /// (unless `data_dir` is given), `extra` flags, `RUST_LOG=log_level` and its log written
    /// to `log` (discarded if `None`); waits until its API answers.
    pub async fn start(
        bin: &Path,
        data_dir: Option<PathBuf>,
        extra: &[String],
        log_level: &str,
        log: Option<&Path>,
    ) -> anyhow::Result<AcsProcess> {
        AcsProcess::start_as("standalone", bin, data_dir, extra, log_level, log).await
    }

    /// Like [`AcsProcess::start`], with a subcommand: `standalone` or `edge`.
    pub async fn start_as(
        subcommand: &str,
        bin: &Path,
        data_dir: Option<PathBuf>,
        extra: &[String],
        log_level: &str,
        log: Option<&Path>,
    ) -> anyhow::Result<AcsProcess> {
        let (temp, data_dir) = match data_dir {
            Some(dir) => (None, dir),
            None => {
                let temp = tempfile::Builder::new().prefix("cpe-sim-acs").tempdir()?;
                let dir = temp.path().to_path_buf();
                (Some(temp), dir)
            }
        };
        // Ports the server picks itself (no race with other processes for "free" ports),
        // read back from its "ready" log line.
        let log_path = log.map_or_else(|| data_dir.join("kube-acs.log"), Path::to_path_buf);
        let stderr = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let mut child = Command::new(bin)
            .arg(subcommand)
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--cwmp-listen", "127.0.0.1:0"])
            .args(["--api-listen", "127.0.0.1:0"])
            .args(["--files-listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", format!("{log_level},kube_acs=info"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut ports = None;
        for _ in 0..600 {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            ports = ready_ports(&text);
            if ports.is_some() {
                break;
            }
            if let Some(status) = child.try_wait()? {
                bail!("kube-acs exited at start: {status}\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let Some((cwmp, api, files)) = ports else {
            bail!(
                "kube-acs did not report its ports within 30 s (log: {})",
                log_path.display()
            );
        };
        let acs = AcsProcess {
            child,
            cwmp_url: format!("http://127.0.0.1:{cwmp}/"),
            api_url: format!("http://127.0.0.1:{api}"),
            files_url: format!("http://127.0.0.1:{files}"),
            files_dir: data_dir.join("files"),
            data_dir,
            _temp: temp,
        };
        let client = acs.api();
        for _ in 0..300 {
            if let Ok((200, _)) = client.get("/healthz").await {
                return Ok(acs);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("kube-acs did not answer on {} within 15 s", acs.api_url)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A client of its API.
    pub fn api(&self) -> AcsApi {
        AcsApi::new(&self.api_url)
    }
}

impl Drop for AcsProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A keep-alive HTTP client of the ACS's northbound API (also used for the simulator's own
/// control API).
#[derive(Clone)]
pub struct AcsApi {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl AcsApi {
    /// A client for the API at `base` (`http://127.0.0.1:7557`).
    pub fn new(base: &str) -> AcsApi {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        AcsApi {
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(1024)
                .build(connector),
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// Sends a request with an optional JSON body; returns the status and the JSON answer
    /// (`null` when empty or not JSON).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        let bytes = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Bytes::from(serde_json::to_vec(json)?)
            }
            None => Bytes::new(),
        };
        let response = self.client.request(request.body(Full::new(bytes))?).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }

    /// Sends a request with a plain-text body; returns the status and the body as text.
    pub async fn send_text(
        &self,
        method: Method,
        path: &str,
        body: &str,
    ) -> anyhow::Result<(u16, String)> {
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from(body.to_string())))?;
        let response = self.client.request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }

    /// GET.
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        self.request(Method::GET, path, None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        self.request(Method::POST, path, Some(body)).await
    }

    /// PUT with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        self.request(Method::PUT, path, Some(body)).await
    }
}
