//! A real TiKV-protocol cluster as local processes: one `pd-server` and one
//! `unistore-server` (TiDB's Go implementation of the TiKV gRPC KV API).
//!
//! The binaries come from `e2e/tikv/build.sh` (cached outside the clone) or
//! from the paths in `KUBE_ACS_PD_SERVER` and `KUBE_ACS_UNISTORE_SERVER`.
//! Each [`TikvCluster`] owns a temporary directory with the data dirs and the
//! processes' logs, and kills its processes when dropped. A watchdog shell
//! process also kills them (and removes the directory) if the test process
//! dies without running `Drop`, e.g. on SIGKILL or Ctrl-C.
//!
//! At most [`CLUSTERS_AT_ONCE_ENV`] clusters (3 by default) run at once in one
//! process; [`TikvCluster::start`] waits for a running one to be dropped. A test
//! binary's tests run in parallel threads, and twenty clusters starting together
//! on two cores slow unistore down so much that a commit of 10,000 keys once
//! took longer than 30 s.

use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};

use crate::process::{
    self, env_path, free_ports, kill_now, spawn_logged, spawn_watchdog, unix_nanos,
};

/// Environment variable naming a prebuilt `pd-server` binary.
pub const PD_SERVER_ENV: &str = "KUBE_ACS_PD_SERVER";
/// Environment variable naming a prebuilt `unistore-server` binary.
pub const UNISTORE_SERVER_ENV: &str = "KUBE_ACS_UNISTORE_SERVER";
/// Environment variable: when set (non-empty), the cluster's directory (data
/// and logs) is kept after the cluster is dropped, and its path printed.
pub const KEEP_DIR_ENV: &str = "KUBE_ACS_KEEP_TIKV_DIR";

/// Environment variable: how many clusters may run at once in one process
/// (a positive number; 3 when unset).
pub const CLUSTERS_AT_ONCE_ENV: &str = "KUBE_ACS_TIKV_CLUSTERS_AT_ONCE";
/// Clusters that may run at once when [`CLUSTERS_AT_ONCE_ENV`] is unset.
const DEFAULT_CLUSTERS_AT_ONCE: usize = 3;

/// How long a start or restart may take before it fails.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between readiness probes.
const POLL: Duration = Duration::from_millis(100);
/// Lines of each log shown in a start failure.
const TAIL_LINES: usize = 40;

/// PD configuration: a single store can only hold one replica; a short raft
/// tick and election interval make PD elect itself quickly after a restart
/// (about 1 s instead of 3.5 s; nothing else shares its loopback etcd).
const PD_CONFIG: &str = "tick-interval = \"100ms\"\nelection-interval = \"1s\"\n\n\
                         [replication]\nmax-replicas = 1\n";

/// Paths of the two cluster binaries.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The `pd-server` binary.
    pub pd_server: PathBuf,
    /// The `unistore-server` binary.
    pub unistore_server: PathBuf,
}

static BINARIES: OnceCell<Binaries> = OnceCell::const_new();

/// Returns the cluster binaries: the paths in `KUBE_ACS_PD_SERVER` and
/// `KUBE_ACS_UNISTORE_SERVER` if both are set, otherwise those printed by
/// `e2e/tikv/build.sh`, which builds them first if they are not cached yet
/// (a few minutes cold). Resolved once per process.
pub async fn binaries() -> Result<&'static Binaries> {
    BINARIES
        .get_or_try_init(|| async {
            let pd = env_path(PD_SERVER_ENV);
            let unistore = env_path(UNISTORE_SERVER_ENV);
            match (pd, unistore) {
                (Some(pd_server), Some(unistore_server)) => {
                    for p in [&pd_server, &unistore_server] {
                        if !p.is_file() {
                            bail!("{} does not exist (from the environment)", p.display());
                        }
                    }
                    Ok(Binaries {
                        pd_server,
                        unistore_server,
                    })
                }
                (None, None) => tokio::task::spawn_blocking(run_build_script).await?,
                _ => bail!("set both {PD_SERVER_ENV} and {UNISTORE_SERVER_ENV}, or neither"),
            }
        })
        .await
}

/// Runs `e2e/tikv/build.sh` and reads the two paths it prints last.
fn run_build_script() -> Result<Binaries> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tikv/build.sh");
    let paths = process::run_build_script(&script, 2)?;
    Ok(Binaries {
        pd_server: paths[0].clone(),
        unistore_server: paths[1].clone(),
    })
}

/// One PD and one unistore store running as local processes on loopback
/// ports, with their data and logs in a temporary directory.
///
/// Dropping it kills the processes (SIGTERM, then SIGKILL after a short
/// grace) and removes the directory (unless `KUBE_ACS_KEEP_TIKV_DIR` is set).
pub struct TikvCluster {
    /// The temporary directory; `None` once kept (see [`KEEP_DIR_ENV`]).
    tempdir: Option<tempfile::TempDir>,
    dir: PathBuf,
    http: reqwest::Client,
    pd_client_port: u16,
    pd_peer_port: u16,
    store_port: u16,
    pd: Option<Child>,
    store: Option<Child>,
    watchdog: Option<Child>,
    bins: Binaries,
    /// This cluster's place among those that may run at once; released after
    /// `Drop` has stopped the processes (fields drop after `Drop::drop`).
    _slot: SemaphorePermit<'static>,
}

/// The places of clusters that may run at once in this process.
fn cluster_slots() -> Result<&'static Semaphore> {
    static SLOTS: std::sync::OnceLock<Semaphore> = std::sync::OnceLock::new();
    let count = match std::env::var(CLUSTERS_AT_ONCE_ENV) {
        Ok(value) => match value.trim().parse::<usize>() {
            Ok(count) if count > 0 => count,
            _ => bail!("{CLUSTERS_AT_ONCE_ENV}={value:?} is not a positive number"),
        },
        Err(_) => DEFAULT_CLUSTERS_AT_ONCE,
    };
    Ok(SLOTS.get_or_init(|| Semaphore::new(count)))
}

impl TikvCluster {
    /// Starts PD, then the store, and waits until PD reports the store Up and
    /// at least one region exists (a few seconds once the binaries are built).
    ///
    /// Waits first while [`CLUSTERS_AT_ONCE_ENV`] clusters already run in this
    /// process. On failure the error carries the tails of the processes' logs.
    pub async fn start() -> Result<TikvCluster> {
        let bins = binaries().await?.clone();
        let mut last_err = None;
        // A port picked as free may be taken before the process binds it:
        // retry with new ports in that case only.
        for _ in 0..3 {
            let slot = cluster_slots()?
                .acquire()
                .await
                .context("waiting for a place among the running clusters")?;
            match Self::start_once(bins.clone(), slot).await {
                Ok(cluster) => return Ok(cluster),
                Err(e) if format!("{e:#}").contains("address already in use") => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow!("cluster did not start")))
    }

    async fn start_once(bins: Binaries, slot: SemaphorePermit<'static>) -> Result<TikvCluster> {
        let dir = tempfile::Builder::new()
            .prefix("kube-acs-tikv-")
            .tempdir()
            .context("creating the cluster's temporary directory")?;
        let [pd_client_port, pd_peer_port, store_port] = free_ports::<3>()?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .context("building the HTTP client")?;
        fs::write(dir.path().join("pd.toml"), PD_CONFIG)?;
        fs::create_dir_all(dir.path().join("pd"))?;
        fs::create_dir_all(dir.path().join("store"))?;
        let watchdog = spawn_watchdog(dir.path(), env_path(KEEP_DIR_ENV).is_some())?;
        let mut cluster = TikvCluster {
            dir: dir.path().to_path_buf(),
            tempdir: Some(dir),
            http,
            pd_client_port,
            pd_peer_port,
            store_port,
            pd: None,
            store: None,
            watchdog: Some(watchdog),
            bins,
            _slot: slot,
        };
        cluster.spawn_pd()?;
        cluster.wait_pd_healthy().await?;
        let since = unix_nanos();
        cluster.spawn_store()?;
        cluster.wait_store_up(since).await?;
        cluster.wait_region().await?;
        Ok(cluster)
    }

    /// PD client endpoints, as `127.0.0.1:port` (what TiKV clients take).
    pub fn pd_endpoints(&self) -> Vec<String> {
        vec![format!("127.0.0.1:{}", self.pd_client_port)]
    }

    /// Base URL of PD's HTTP API, e.g. `http://127.0.0.1:2379`.
    pub fn pd_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.pd_client_port)
    }

    /// The store's gRPC address, as registered in PD (`127.0.0.1:port`).
    pub fn store_addr(&self) -> String {
        format!("127.0.0.1:{}", self.store_port)
    }

    /// The store URL for kube-acs' store configuration, TiDB style: `tikv://`
    /// followed by the PD endpoints, comma-separated (`tikv://127.0.0.1:port`).
    /// TiKV clients reach the stores through PD, so the URL names PD.
    pub fn store_url(&self) -> String {
        format!("tikv://{}", self.pd_endpoints().join(","))
    }

    /// The cluster's directory: data dirs `pd/` and `store/`, logs `pd.log`
    /// and `store.log`.
    pub fn dir(&self) -> &Path {
        self.dir.as_path()
    }

    /// The stores PD knows, as PD's HTTP API returns them
    /// (`GET /pd/api/v1/stores`, the `stores` array; each entry has `store`
    /// with `id`, `address`, `state_name`, and `status`).
    pub async fn stores(&self) -> Result<Vec<Value>> {
        let v = self.pd_get("/pd/api/v1/stores").await?;
        Ok(v.get("stores")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// Kills the store process with SIGKILL (no clean shutdown). PD keeps
    /// listing the store as Up until it misses heartbeats for a while.
    pub async fn stop_store(&mut self) -> Result<()> {
        if let Some(child) = self.store.take() {
            kill_now(child);
        }
        let _ = fs::remove_file(self.pid_file("store"));
        Ok(())
    }

    /// Starts the store again with the same data dir and port, and waits
    /// until it serves gRPC and PD lists it Up with a heartbeat from the new
    /// process. Does nothing if it runs.
    pub async fn start_store(&mut self) -> Result<()> {
        if self.store_running() {
            return Ok(());
        }
        let since = unix_nanos();
        self.spawn_store()?;
        self.wait_store_up(since).await
    }

    /// Kills PD with SIGKILL, starts it again on the same ports and data
    /// dir, and waits until it is healthy and (if the store runs) the store
    /// has sent PD a heartbeat since the restart.
    pub async fn restart_pd(&mut self) -> Result<()> {
        if let Some(child) = self.pd.take() {
            kill_now(child);
        }
        let since = unix_nanos();
        self.spawn_pd()?;
        self.wait_pd_healthy().await?;
        if self.store_running() {
            self.wait_store_up(since).await?;
            // unistore tells PD its regions' leaders when it starts, not periodically as
            // TiKV does (every minute): a restarted PD may not learn them, and clients then
            // get "Leader of region N is not found". Restarting the store reports them.
            if !self.regions_led_within(Duration::from_secs(5)).await {
                self.stop_store().await?;
                self.start_store().await?;
                if !self.regions_led_within(Duration::from_secs(20)).await {
                    return Err(self.failure("regions without a leader after PD's restart"));
                }
            }
        }
        Ok(())
    }

    /// Waits until PD knows a leader for every region, up to `timeout`; whether it does.
    async fn regions_led_within(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(regions) = self.pd_get("/pd/api/v1/regions").await {
                let regions = regions
                    .get("regions")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let led = regions
                    .iter()
                    .all(|r| r.get("leader").and_then(|l| l.get("id")).is_some());
                if !regions.is_empty() && led {
                    return true;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn store_running(&mut self) -> bool {
        matches!(self.store.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    fn pid_file(&self, name: &str) -> PathBuf {
        process::pid_file(&self.dir, name)
    }

    fn pd_args(&self) -> Vec<String> {
        let dir = &self.dir;
        let client = format!("http://127.0.0.1:{}", self.pd_client_port);
        let peer = format!("http://127.0.0.1:{}", self.pd_peer_port);
        vec![
            "--name=pd0".into(),
            format!("--data-dir={}", dir.join("pd").display()),
            format!("--config={}", dir.join("pd.toml").display()),
            format!("--client-urls={client}"),
            format!("--advertise-client-urls={client}"),
            format!("--peer-urls={peer}"),
            format!("--advertise-peer-urls={peer}"),
            format!("--initial-cluster=pd0={peer}"),
        ]
    }

    fn store_args(&self) -> Vec<String> {
        vec![
            format!("--pd=127.0.0.1:{}", self.pd_client_port),
            format!("--addr={}", self.store_addr()),
            format!("--data-dir={}", self.dir.join("store").display()),
        ]
    }

    fn spawn_pd(&mut self) -> Result<()> {
        let child = self.spawn("pd", &self.bins.pd_server, &self.pd_args())?;
        self.pd = Some(child);
        Ok(())
    }

    fn spawn_store(&mut self) -> Result<()> {
        let child = self.spawn("store", &self.bins.unistore_server, &self.store_args())?;
        self.store = Some(child);
        Ok(())
    }

    fn spawn(&self, name: &str, program: &Path, args: &[String]) -> Result<Child> {
        spawn_logged(&self.dir, name, program, args, &[])
    }

    async fn pd_get(&self, path: &str) -> Result<Value> {
        let url = format!("{}{path}", self.pd_url());
        let resp = self.http.get(&url).send().await?;
        let status = resp.status();
        if !status.is_success() {
            bail!("GET {url}: {status}");
        }
        Ok(resp.json().await?)
    }

    /// Fails (with the logs' tails) if PD or the store exited.
    fn check_alive(&mut self) -> Result<()> {
        let mut exited = None;
        for (name, child) in [("pd", &mut self.pd), ("store", &mut self.store)] {
            if let Some(status) = child.as_mut().map(Child::try_wait).transpose()?.flatten() {
                *child = None;
                exited = Some((name, status));
                break;
            }
        }
        match exited {
            None => Ok(()),
            Some((name, status)) => {
                let _ = fs::remove_file(self.pid_file(name));
                Err(self.failure(&format!("{name} exited: {status}")))
            }
        }
    }

    async fn wait_pd_healthy(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            self.check_alive()?;
            if self.pd_healthy().await {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.failure("PD did not become healthy"));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// PD's members are all healthy and it has a leader.
    async fn pd_healthy(&self) -> bool {
        let Ok(health) = self.pd_get("/pd/api/v1/health").await else {
            return false;
        };
        let all_healthy = health.as_array().is_some_and(|members| {
            !members.is_empty()
                && members
                    .iter()
                    .all(|m| m.get("health").and_then(Value::as_bool) == Some(true))
        });
        if !all_healthy {
            return false;
        }
        matches!(self.pd_get("/pd/api/v1/leader").await,
                 Ok(leader) if leader.get("name").and_then(Value::as_str).is_some())
    }

    /// Waits until the store accepts gRPC connections and PD lists it Up with
    /// a heartbeat later than `heartbeat_since` (ns since the Unix epoch).
    /// unistore-server sends its first heartbeat as soon as it serves.
    async fn wait_store_up(&mut self, heartbeat_since: u128) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let addr: SocketAddr = self.store_addr().parse()?;
        loop {
            self.check_alive()?;
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                && self.store_up_in_pd(heartbeat_since).await
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.failure("the store did not come Up in PD"));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn store_up_in_pd(&self, heartbeat_since: u128) -> bool {
        let Ok(stores) = self.stores().await else {
            return false;
        };
        let addr = self.store_addr();
        stores.iter().any(|s| {
            let store = &s["store"];
            let heartbeat_ok = store["last_heartbeat"]
                .as_u64()
                .is_some_and(|t| u128::from(t) > heartbeat_since);
            store["address"].as_str() == Some(addr.as_str())
                && store["state_name"].as_str() == Some("Up")
                && heartbeat_ok
        })
    }

    async fn wait_region(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            self.check_alive()?;
            if let Ok(v) = self.pd_get("/pd/api/v1/regions").await {
                if v["count"].as_u64().is_some_and(|n| n > 0) {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(self.failure("PD has no region"));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// An error with `what` and the tails of both logs.
    fn failure(&self, what: &str) -> anyhow::Error {
        process::failure(
            "TiKV test cluster",
            &self.dir,
            KEEP_DIR_ENV,
            &["pd", "store"],
            TAIL_LINES,
            what,
        )
    }
}

impl Drop for TikvCluster {
    fn drop(&mut self) {
        process::shut_down(
            &self.dir,
            vec![("store", self.store.take()), ("pd", self.pd.take())],
            self.watchdog.take(),
            self.tempdir.take(),
            KEEP_DIR_ENV,
        );
    }
}
