//! Standalone mode: CWMP (7547), the northbound API (7557) and the file server (7567) in one
//! process over the embedded store in a data directory, or over a TiKV cluster (`--store`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use acs_store::{Store, StoreUrl};
use cwmp_edge::config::{CpeAuthMode, EdgeConfig};
use cwmp_edge::edge::Edge;
use provisioning::retry::RetryPolicy;

/// Flags of `kube-acs standalone`; each has an environment variable twin.
#[derive(Args, Debug, Clone)]
pub struct StandaloneArgs {
    /// Directory of the embedded store and of served files (`files/`).
    #[arg(long, env = "KUBE_ACS_DATA_DIR", default_value = "./kube-acs-data")]
    pub data_dir: PathBuf,
    /// The store: empty or `embedded:` for the embedded store in --data-dir, or
    /// `tikv://PD_HOST:PORT[,PD_HOST:PORT...][?timeout=5s]` for a TiKV cluster.
    #[arg(long, env = "KUBE_ACS_STORE", default_value = "")]
    pub store: String,
    /// Address of the CWMP endpoint CPEs talk to.
    #[arg(long, env = "KUBE_ACS_CWMP_LISTEN", default_value = "0.0.0.0:7547")]
    pub cwmp_listen: SocketAddr,
    /// Address of the northbound REST API.
    #[arg(long, env = "KUBE_ACS_API_LISTEN", default_value = "127.0.0.1:7557")]
    pub api_listen: SocketAddr,
    /// Address of the file server (firmware and configuration files for Download).
    #[arg(long, env = "KUBE_ACS_FILES_LISTEN", default_value = "0.0.0.0:7567")]
    pub files_listen: SocketAddr,
    /// Directory of kubeacs.io resources (YAML of Device, DeviceGroup, ConfigProfile,
    /// DeviceTask, Firmware and FirmwareRollout), watched for changes.
    #[arg(long, env = "KUBE_ACS_RESOURCES")]
    pub resources: Option<PathBuf>,
    /// Provision from the kubeacs.io resources the Kubernetes API server holds (in-cluster
    /// credentials, or KUBECONFIG) instead of a resources directory.
    #[arg(long, env = "KUBE_ACS_KUBERNETES", conflicts_with = "resources")]
    pub kubernetes: bool,
    /// With --kubernetes: the namespace to watch (empty: every namespace).
    #[arg(long, env = "KUBE_ACS_WATCH_NAMESPACE", default_value = "")]
    pub namespace: String,
    /// Who may call the northbound API: `none` (anyone who reaches it) or `kubernetes`
    /// (bearer tokens checked with TokenReview, each call with SubjectAccessReview, so RBAC
    /// on namespaces applies as with kubectl).
    #[arg(long, env = "KUBE_ACS_API_AUTH", value_enum, default_value_t = ApiAuth::None)]
    pub api_auth: ApiAuth,
    /// The namespace (tenant) of devices without a Device resource: its groups and profiles
    /// provision them (the operator creates their Device resources there).
    #[arg(long, env = "KUBE_ACS_DEVICE_NAMESPACE", default_value = "default")]
    pub device_namespace: String,
    /// The file server's URL as CPEs reach it (Downloads of firmware it serves); default:
    /// `http://<--files-listen>` when that is a specific address, else the file server's
    /// port at the address devices reach the CWMP port at.
    #[arg(long, env = "KUBE_ACS_FILES_URL")]
    pub files_url: Option<String>,
    /// With a key, the file server serves only URLs signed by kube-acs that have not expired
    /// (each Download of a rollout gets its own); every edge and the operator need the same.
    #[arg(long, env = "KUBE_ACS_FILES_SIGNING_KEY", hide_env_values = true)]
    pub files_signing_key: Option<String>,
    /// Directory the file server serves (default: `<data-dir>/files`).
    #[arg(long, env = "KUBE_ACS_FILES_DIR")]
    pub files_dir: Option<PathBuf>,
    /// Largest file `PUT /api/v1/files/{name}` accepts, in bytes (streamed to disk).
    #[arg(long, env = "KUBE_ACS_MAX_UPLOAD_BYTES", default_value_t = cwmp_edge::config::DEFAULT_MAX_UPLOAD_BYTES)]
    pub max_upload_bytes: u64,
    /// PEM certificate chain: serve CWMP over HTTPS (with --tls-key).
    #[arg(long, env = "KUBE_ACS_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "KUBE_ACS_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// How CPEs authenticate: none, basic, digest or digest-or-basic.
    #[arg(long, env = "KUBE_ACS_CPE_AUTH", default_value = "none")]
    pub cpe_auth: CpeAuthMode,
    /// Shared CPE user name (with --cpe-password).
    #[arg(long, env = "KUBE_ACS_CPE_USERNAME")]
    pub cpe_username: Option<String>,
    /// Shared CPE password.
    #[arg(long, env = "KUBE_ACS_CPE_PASSWORD", hide_env_values = true)]
    pub cpe_password: Option<String>,
    /// Default connection-request user name, for devices without their own.
    #[arg(long, env = "KUBE_ACS_CR_USERNAME", default_value = "")]
    pub connection_request_username: String,
    /// Default connection-request password.
    #[arg(
        long,
        env = "KUBE_ACS_CR_PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    pub connection_request_password: String,
    /// Size of the embedded store's page cache in MiB (the operating system's page cache comes
    /// on top).
    #[arg(long, env = "KUBE_ACS_STORE_CACHE_MB", default_value_t = 64)]
    pub store_cache_mb: usize,
    /// Seconds a CWMP session may stay idle.
    #[arg(long, env = "KUBE_ACS_SESSION_TIMEOUT", default_value_t = 30)]
    pub session_timeout: u64,
    /// Largest accepted CWMP request body, in bytes.
    #[arg(long, env = "KUBE_ACS_MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Attempts before a faulting task fails for good.
    #[arg(long, env = "KUBE_ACS_TASK_MAX_ATTEMPTS", default_value_t = 5)]
    pub task_max_attempts: u32,
    /// Seconds before the first retry of a faulted task (doubled on each further fault).
    #[arg(long, env = "KUBE_ACS_TASK_RETRY_DELAY", default_value_t = 30)]
    pub task_retry_delay: u64,
    /// Log format.
    #[arg(long, env = "KUBE_ACS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// This process's name among the edges sharing a TiKV store (session leases name it);
    /// default: the host name (the pod name in Kubernetes) and the process id.
    #[arg(long, env = "KUBE_ACS_EDGE_NAME", default_value = "")]
    pub edge_name: String,
}

/// How the process serves: the whole ACS, or one of several CWMP edges on one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `kube-acs standalone`: everything, including the DeviceTask runs of `--resources`.
    Standalone,
    /// `kube-acs edge`: CWMP, API and files on a shared (TiKV) store; mass operations
    /// (DeviceTask runs) are left to the one process that drives them.
    Edge,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Standalone => "standalone",
            Mode::Edge => "edge",
        }
    }
}

/// The edge name: `--edge-name`, else the host name and the process id (a restarted process
/// is a new edge, so it never mistakes a lease of its predecessor for its own).
fn edge_name(args: &StandaloneArgs) -> String {
    if !args.edge_name.is_empty() {
        return args.edge_name.clone();
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kube-acs".to_string());
    format!("{host}-{}", std::process::id())
}

/// Who may call the northbound API.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiAuth {
    /// No check: anyone who reaches the port (keep it on loopback or behind a proxy).
    None,
    /// Kubernetes users, as RBAC allows (TokenReview and SubjectAccessReview).
    Kubernetes,
}

impl std::fmt::Display for ApiAuth {
    /// As `--api-auth` names it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ApiAuth::None => "none",
            ApiAuth::Kubernetes => "kubernetes",
        })
    }
}

/// How logs are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    Text,
    /// One JSON object per line.
    Json,
}

/// Sets up structured logging on stderr (`RUST_LOG` filters, default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn edge_config(args: &StandaloneArgs) -> EdgeConfig {
    EdgeConfig {
        max_body_bytes: args.max_body_bytes,
        max_upload_bytes: args.max_upload_bytes,
        session_timeout: Duration::from_secs(args.session_timeout.max(1)),
        cpe_auth: args.cpe_auth.clone(),
        cpe_credentials: args.cpe_username.clone().zip(args.cpe_password.clone()),
        connection_request_credentials: (
            args.connection_request_username.clone(),
            args.connection_request_password.clone(),
        ),
        retry: RetryPolicy {
            max_attempts: args.task_max_attempts.max(1),
            base_delay_ms: args.task_retry_delay * 1000,
            ..RetryPolicy::default()
        },
        ..EdgeConfig::default()
    }
}

/// Runs the ACS (`mode` says which part) until SIGINT or SIGTERM.
pub async fn run(args: StandaloneArgs, mode: Mode) -> anyhow::Result<()> {
    if args.cpe_auth != CpeAuthMode::None
        && (args.cpe_username.is_none() || args.cpe_password.is_none())
    {
        anyhow::bail!(
            "--cpe-auth {} needs --cpe-username and --cpe-password",
            args.cpe_auth
        );
    }
    let store_url = StoreUrl::parse(Some(&args.store)).context("--store")?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data directory {}", args.data_dir.display()))?;
    let files_dir = args
        .files_dir
        .clone()
        .unwrap_or_else(|| args.data_dir.join("files"));
    std::fs::create_dir_all(&files_dir)
        .with_context(|| format!("creating files directory {}", files_dir.display()))?;
    // A TiKV store may be shared by several processes: lease sessions in it.
    let shared = matches!(store_url, StoreUrl::Tikv(_));
    if mode == Mode::Edge && !shared {
        anyhow::bail!("kube-acs edge needs a shared store: --store tikv://PD_HOST:PORT");
    }
    let store = open_store(&args, &store_url).await?;
    let cwmp_listener = bind(args.cwmp_listen, "CWMP").await?;
    let api_listener = bind(args.api_listen, "API").await?;
    let files_listener = bind(args.files_listen, "file server").await?;
    let mut config = edge_config(&args);
    config.shared_store_edge = shared.then(|| edge_name(&args));
    // Where CPEs fetch files of the file server: --files-url, else the listener's own
    // address when it is a specific one, else its port at the address devices reach.
    config.files_signing_key = args.files_signing_key.clone().map(String::into_bytes);
    let files_address = files_listener.local_addr()?;
    config.files_url = args.files_url.clone().or_else(|| {
        (!files_address.ip().is_unspecified()).then(|| format!("http://{files_address}"))
    });
    config.files_dir = Some(files_dir.clone());
    config.files_port = Some(files_address.port());
    let files_url = config
        .files_url
        .clone()
        .unwrap_or_else(|| format!("http://<cwmp-address>:{}", files_address.port()));
    let edge_name = config.shared_store_edge.clone().unwrap_or_default();
    let edge = Edge::new(store, config);
    if let Some(dir) = &args.resources {
        watch_resources(edge.clone(), dir, &args.device_namespace).await?;
        if mode == Mode::Standalone {
            cwmp_edge::mass_operations::spawn(edge.clone());
        }
    } else if args.kubernetes {
        let client = operator::client().await?;
        let namespace = (!args.namespace.is_empty()).then_some(args.namespace.as_str());
        let target = edge.clone();
        let device_namespace = args.device_namespace.clone();
        operator::resource_watch::watch(client, namespace, move |set| {
            let set = set.with_device_namespace(&device_namespace);
            tracing::info!(
                devices = set.devices().len(),
                groups = set.groups().len(),
                profiles = set.profiles().len(),
                tasks = set.tasks().len(),
                firmwares = set.firmwares().len(),
                rollouts = set.rollouts().len(),
                "resources loaded from the API server"
            );
            target.set_resources(set)
        })
        .await
        .context("watching the kubeacs.io resources")?;
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tokio_rustls::TlsAcceptor::from(
            cwmp_edge::tls::load_server_config(cert, key).context("loading the TLS certificate")?,
        )),
        _ => None,
    };

    tracing::info!(
        cwmp = %cwmp_listener.local_addr()?,
        api = %api_listener.local_addr()?,
        files = %files_listener.local_addr()?,
        files_url = %files_url,
        data_dir = %args.data_dir.display(),
        store = %store_url,
        edge = %edge_name,
        tls = tls.is_some(),
        api_auth = %args.api_auth,
        "kube-acs {} ready",
        mode.name()
    );

    let shutdown = CancellationToken::new();
    tokio::spawn(cwmp_edge::log_fold::report_folded());
    let cwmp = tokio::spawn(cwmp_edge::cwmp_server::serve(
        edge.clone(),
        cwmp_listener,
        tls,
        shutdown.clone(),
    ));
    let api = {
        let shutdown = shutdown.clone();
        let router = match args.api_auth {
            ApiAuth::None => cwmp_edge::nbi::router(edge.clone()),
            ApiAuth::Kubernetes => {
                let client = operator::client().await?;
                cwmp_edge::nbi::router_with_access(
                    edge.clone(),
                    Arc::new(operator::api_auth::KubernetesAuthorizer::new(client)),
                )
            }
        };
        tokio::spawn(async move {
            axum::serve(api_listener, router)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
        })
    };
    let files = {
        let shutdown = shutdown.clone();
        let router = cwmp_edge::file_server::router(cwmp_edge::file_server::FileServer {
            dir: files_dir,
            signing_key: edge.config.files_signing_key.clone(),
            downloads: edge.metrics.file_downloads.clone(),
            store: Some(edge.store.clone()),
        });
        tokio::spawn(async move {
            axum::serve(files_listener, router)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
        })
    };

    operator::shutdown_signal().await;
    tracing::info!("shutting down: finishing open requests");
    shutdown.cancel();
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        let _ = cwmp.await;
        let _ = api.await;
        let _ = files.await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!("open requests did not finish in 10 s");
    }
    drop(edge);
    tracing::info!("stopped");
    Ok(())
}

/// Opens the store `--store` names. A TiKV cluster is connected lazily; it is probed once here,
/// and when it cannot be reached yet the ACS starts anyway and answers 503 (CPEs and API
/// clients retry) until it can.
async fn open_store(args: &StandaloneArgs, url: &StoreUrl) -> anyhow::Result<Arc<dyn Store>> {
    let embedded = acs_store::EmbeddedOptions {
        cache_size_bytes: args.store_cache_mb.max(1) << 20,
        ..Default::default()
    };
    let store = url
        .open(&args.data_dir, embedded)
        .with_context(|| match url {
            StoreUrl::Embedded => format!("opening the store in {}", args.data_dir.display()),
            StoreUrl::Tikv(_) => format!("opening the store {url}"),
        })?;
    if let StoreUrl::Tikv(options) = url {
        match store.begin().await {
            Ok(_) => tracing::info!(pd = ?options.pd_endpoints, "connected to TiKV"),
            Err(error) => tracing::warn!(
                pd = ?options.pd_endpoints,
                %error,
                "TiKV is not reachable yet: answering 503 until it is"
            ),
        }
    }
    Ok(store)
}

/// How often the resources directory is checked for changes.
const RESOURCE_POLL: Duration = Duration::from_secs(2);

/// Loads the resources directory now (an unreadable directory is an error) and reloads it
/// whenever a file changes.
async fn watch_resources(
    edge: Arc<Edge>,
    dir: &std::path::Path,
    device_namespace: &str,
) -> anyhow::Result<()> {
    let mut resources = crate::resource_dir::ResourceDir::new(dir);
    let device_namespace = device_namespace.to_string();
    let reload = move |resources: &mut crate::resource_dir::ResourceDir| -> std::io::Result<()> {
        if let Some((set, errors)) = resources.reload_if_changed()? {
            for error in &errors {
                tracing::warn!(%error, "resource refused");
            }
            for (group, reason) in set.invalid_groups() {
                tracing::warn!(group = %group, reason = %reason.0, "group cannot be used");
            }
            tracing::info!(
                devices = set.devices().len(),
                groups = set.groups().len(),
                profiles = set.profiles().len(),
                tasks = set.tasks().len(),
                firmwares = set.firmwares().len(),
                rollouts = set.rollouts().len(),
                refused = errors.len(),
                "resources loaded"
            );
            edge.set_resources(set.with_device_namespace(&device_namespace));
        }
        Ok(())
    };
    reload(&mut resources).with_context(|| format!("reading resources from {}", dir.display()))?;
    let dir = dir.to_path_buf();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RESOURCE_POLL);
        loop {
            tick.tick().await;
            if let Err(error) = reload(&mut resources) {
                tracing::warn!(dir = %dir.display(), %error, "cannot read the resources directory");
            }
        }
    });
    Ok(())
}

/// Pending connections a listener queues: a fleet reconnecting at once (after an outage, or a
/// storm of periodic informs) must not overflow the kernel's accept queue, where every dropped
/// SYN costs the device a second.
const LISTEN_BACKLOG: u32 = 4096;

async fn bind(address: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    let bind = || -> std::io::Result<TcpListener> {
        let socket = if address.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(address)?;
        socket.listen(LISTEN_BACKLOG)
    };
    bind().with_context(|| format!("binding the {what} listener to {address}"))
}
