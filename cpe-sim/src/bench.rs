//! The load benchmark: starts `kube-acs standalone` and a fleet in this process, runs a
//! scenario phase by phase and prints one table row per phase (throughput, latency
//! percentiles, RPCs, failures, the ACS's memory and CPU, the simulator's CPU).
//!
//! Scenarios:
//! * `periodic-storm`: N devices bootstrap (reported as its own phase), then all inform
//!   `2 PERIODIC` with nothing pending, at a fixed number of concurrent sessions.
//! * `mass-set`: N devices bootstrap, get their connection-request credentials through the
//!   API, then the bench queues SetParameterValues for each with `?connectionRequest=true`
//!   and waits for the task (bounded concurrency); the ACS reaches each device by connection
//!   request. Afterwards every device's value is checked.
//! * `bootstrap-storm`: N new devices, each fully provisioned in its first session by a
//!   ConfigProfile (see [`provisioning_resources`]): a read of the whole tree (GetParameterNames
//!   and GetParameterValues of the top object) and 20 parameter sets.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::json;

use crate::acs::{build_kube_acs, AcsProcess};
use crate::cr_listener::{self, CrListener};
use crate::fleet::{BatchReport, Fleet, FleetConfig};
use crate::inform::Trigger;
use crate::model::Model;
use crate::procstat::{self, ProcSample};
use crate::template::IdentityConfig;

/// A benchmark scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Bootstrap N devices, then all inform `2 PERIODIC` with nothing pending.
    PeriodicStorm,
    /// SetParameterValues on N devices through connection requests.
    MassSet,
    /// N new devices in their first session.
    BootstrapStorm,
}

impl Scenario {
    /// Default number of devices.
    pub fn default_devices(self) -> u32 {
        match self {
            Scenario::PeriodicStorm => 100_000,
            Scenario::MassSet | Scenario::BootstrapStorm => 10_000,
        }
    }
}

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// What to run.
    pub scenario: Scenario,
    /// Number of devices (default per scenario).
    pub devices: Option<u32>,
    /// Concurrent sessions (or API calls for mass-set).
    pub concurrency: usize,
    /// Data model (`tr181`, `tr098` or a file).
    pub model: String,
    /// The `kube-acs` binary; built with `cargo build --release -p kube-acs` if absent.
    pub acs_bin: Option<PathBuf>,
    /// Extra flags for `kube-acs standalone`.
    pub acs_args: Vec<String>,
    /// Where the ACS's log goes (discarded if absent).
    pub acs_log: Option<PathBuf>,
    /// `RUST_LOG` of the ACS.
    pub acs_log_level: String,
    /// Limit of each phase.
    pub phase_timeout: Duration,
    /// The `timeout` of each mass-set API call, seconds.
    pub task_timeout: u32,
    /// Run the ACS on a TiKV test cluster (PD + unistore processes) instead of its embedded
    /// store.
    pub tikv: bool,
    /// With `tikv`: this many `kube-acs edge` processes on the one store, sessions going to
    /// each in turn; 1 runs `kube-acs standalone`.
    pub edges: usize,
}

/// One measured phase.
#[derive(Debug, Clone)]
pub struct Phase {
    /// Its name.
    pub name: String,
    /// Sessions (or devices, for mass-set) attempted.
    pub count: u64,
    /// Failures with nothing injected.
    pub failed: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Sorted latencies.
    pub latencies: Vec<Duration>,
    /// CWMP messages exchanged.
    pub rpcs: u64,
    /// The ACS's resident memory at the end, and its peak, KiB.
    pub acs_rss_kib: (u64, u64),
    /// The ACS's CPU, percent of one core.
    pub acs_cpu: f64,
    /// The simulator's CPU, percent of one core.
    pub sim_cpu: f64,
}

impl Phase {
    /// Completed per second.
    pub fn rate(&self) -> f64 {
        (self.count - self.failed) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// A latency percentile (0..=1), milliseconds.
    pub fn percentile(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1].as_secs_f64() * 1000.0
    }
}

/// Measures CPU and memory of the ACS processes (summed) and of this process around a phase.
struct Meter {
    acs_pids: Vec<u32>,
    acs: Vec<Option<ProcSample>>,
    sim: Option<ProcSample>,
}

impl Meter {
    fn start(acs_pids: &[u32]) -> Meter {
        Meter {
            acs_pids: acs_pids.to_vec(),
            acs: acs_pids
                .iter()
                .map(|p| procstat::sample(Some(*p)))
                .collect(),
            sim: procstat::sample(None),
        }
    }

    fn finish(
        self,
        name: &str,
        count: u64,
        failed: u64,
        elapsed: Duration,
        mut latencies: Vec<Duration>,
        rpcs: u64,
    ) -> Phase {
        let acs: Vec<_> = self
            .acs_pids
            .iter()
            .map(|p| procstat::sample(Some(*p)))
            .collect();
        let sim = procstat::sample(None);
        latencies.sort_unstable();
        let cpu = |a: &Option<ProcSample>, b: &Option<ProcSample>| match (a, b) {
            (Some(a), Some(b)) => procstat::cpu_percent(a, b),
            _ => 0.0,
        };
        Phase {
            name: name.to_string(),
            count,
            failed,
            elapsed,
            latencies,
            rpcs,
            acs_rss_kib: acs
                .iter()
                .flatten()
                .fold((0, 0), |(rss, hwm), s| (rss + s.rss_kib, hwm + s.hwm_kib)),
            acs_cpu: self.acs.iter().zip(&acs).map(|(a, b)| cpu(a, b)).sum(),
            sim_cpu: cpu(&self.sim, &sim),
        }
    }

    fn finish_batch(self, name: &str, batch: BatchReport) -> Phase {
        let count = batch.ok + batch.failed + batch.injected;
        self.finish(
            name,
            count,
            batch.failed,
            batch.elapsed,
            batch.latencies,
            batch.rpcs,
        )
    }
}

/// The ACS, the fleet and its connection-request endpoint, running.
pub struct Setup {
    /// The ACS process (the first edge, with several).
    pub acs: AcsProcess,
    /// The other edges, with several.
    pub more_edges: Vec<AcsProcess>,
    /// The fleet.
    pub fleet: Arc<Fleet>,
    /// The connection-request endpoint (serving while the setup lives).
    pub cr: CrListener,
    /// Simulator RSS before and after creating the fleet, KiB.
    pub sim_rss_kib: (u64, u64),
}

/// Starts the ACS and a fleet of `devices` devices of `model` pointing at it: with `edges`
/// above 1, that many `kube-acs edge` processes (on the shared store `acs_args` names), the
/// devices' sessions going to each in turn; else `kube-acs standalone`.
#[allow(clippy::too_many_arguments)]
pub async fn setup(
    acs_bin: &std::path::Path,
    acs_args: &[String],
    acs_log_level: &str,
    acs_log: Option<&std::path::Path>,
    model: Arc<Model>,
    devices: u32,
    edges: usize,
    configure: impl FnOnce(&mut FleetConfig),
) -> anyhow::Result<Setup> {
    let mut processes = Vec::new();
    for n in 0..edges.max(1) {
        let (subcommand, log) = match edges {
            0 | 1 => ("standalone", acs_log.map(std::path::Path::to_path_buf)),
            _ => (
                "edge",
                acs_log.map(|log| log.with_extension(format!("edge{n}.log"))),
            ),
        };
        processes.push(
            AcsProcess::start_as(
                subcommand,
                acs_bin,
                None,
                acs_args,
                acs_log_level,
                log.as_deref(),
            )
            .await?,
        );
    }
    let acs_url = processes
        .iter()
        .map(|p| p.cwmp_url.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let mut processes = processes.into_iter();
    let acs = processes.next().expect("at least one");
    let listener = cr_listener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let cr_address = listener.local_addr()?;
    let identity = IdentityConfig {
        acs_url,
        cr_base_url: format!("http://{cr_address}/cr/"),
        ..IdentityConfig::default()
    };
    let mut config = FleetConfig::new(model, identity, devices);
    configure(&mut config);
    let before = procstat::sample(None).map_or(0, |s| s.rss_kib);
    let fleet = Fleet::new(config).await.map_err(anyhow::Error::msg)?;
    let after = procstat::sample(None).map_or(0, |s| s.rss_kib);
    let cr = cr_listener::serve(listener, Arc::clone(&fleet));
    Ok(Setup {
        acs,
        more_edges: processes.collect(),
        fleet,
        cr,
        sim_rss_kib: (before, after),
    })
}

/// Parameters the bootstrap storm's profile sets.
const PROVISIONED_PARAMETERS: usize = 20;

/// The resources that make the ACS fully provision a device in its first session: a group of
/// every device and a profile that refreshes the whole tree and sets 20 parameters (values
/// templated on the serial number). Returns the directory (kept while it lives) and what to
/// expect.
pub fn provisioning_resources(model: &Model) -> anyhow::Result<(tempfile::TempDir, String)> {
    let dir = tempfile::tempdir()?;
    let top = model.top_object();
    let names = model.settable_strings(PROVISIONED_PARAMETERS);
    if names.len() < PROVISIONED_PARAMETERS {
        bail!(
            "the {} model has only {} settable string parameters",
            model.name(),
            names.len()
        );
    }
    let mut yaml = format!(
        "apiVersion: kubeacs.io/v1alpha1\nkind: DeviceGroup\nmetadata: {{name: everyone}}\nspec:\n  parameters:\n  - {{name: DeviceInfo.SerialNumber, operator: Exists}}\n---\napiVersion: kubeacs.io/v1alpha1\nkind: ConfigProfile\nmetadata: {{name: bootstrap}}\nspec:\n  groups: [everyone]\n  refresh: [\"{top}\"]\n  parameters:\n"
    );
    for (n, name) in names.iter().enumerate() {
        yaml.push_str(&format!(
            "  - {{name: \"{name}\", value: \"p{n}-{{{{ serialNumber }}}}\"}}\n"
        ));
    }
    std::fs::write(dir.path().join("bootstrap.yaml"), yaml)?;
    let expect = format!(
        "each device's whole tree ({top}) listed and read, and {PROVISIONED_PARAMETERS} parameters set, in its first session"
    );
    Ok((dir, expect))
}

/// Runs a benchmark and prints its table; returns the phases.
pub async fn run(options: BenchOptions) -> anyhow::Result<Vec<Phase>> {
    let model = Model::load(&options.model)?;
    let devices = options
        .devices
        .unwrap_or_else(|| options.scenario.default_devices());
    if options.acs_bin.is_none() {
        eprintln!("building kube-acs (cargo build --release -p kube-acs)...");
    }
    let bin = acs_binary(options.acs_bin.clone())?;
    eprintln!(
        "scenario {:?}: {devices} devices ({} model, {} parameters each), concurrency {}",
        options.scenario,
        model.name(),
        model.parameter_count(),
        options.concurrency
    );
    let resources = match options.scenario {
        Scenario::BootstrapStorm => Some(provisioning_resources(&model)?),
        _ => None,
    };
    let mut acs_args = options.acs_args.clone();
    if options.edges > 1 && !options.tikv {
        bail!("--edges needs --tikv (edges share a TiKV store)");
    }
    let _cluster = match options.tikv {
        true => {
            eprintln!("starting a TiKV test cluster (PD + unistore)...");
            let cluster = acs_e2e::TikvCluster::start().await?;
            acs_args.push("--store".into());
            acs_args.push(cluster.store_url());
            Some(cluster)
        }
        false => None,
    };
    if let Some((dir, _)) = &resources {
        acs_args.push("--resources".into());
        acs_args.push(dir.path().display().to_string());
    }
    let setup = setup(
        &bin,
        &acs_args,
        &options.acs_log_level,
        options.acs_log.as_deref(),
        Arc::clone(&model),
        devices,
        options.edges,
        |_| {},
    )
    .await?;
    let fleet = Arc::clone(&setup.fleet);
    let pids: Vec<u32> = std::iter::once(&setup.acs)
        .chain(&setup.more_edges)
        .map(AcsProcess::pid)
        .collect();
    let api = setup.acs.api();
    let all: Vec<u32> = (0..devices).collect();
    let mut phases = Vec::new();
    let mut notes = Vec::new();

    let provisioning = resources.as_ref().map(|(_, expect)| expect.clone());
    let deadline = Instant::now() + options.phase_timeout;
    let meter = Meter::start(&pids);
    let batch = fleet
        .run_batch(all.clone(), Trigger::Pending, options.concurrency, deadline)
        .await;
    let bootstrap = meter.finish_batch("bootstrap (0 BOOTSTRAP, 1 BOOT)", batch);
    if options.scenario == Scenario::BootstrapStorm {
        let per_session = bootstrap.rpcs as f64 / bootstrap.count.max(1) as f64;
        if let Some(expectation) = provisioning {
            notes.push(format!(
                "provisioning: {expectation}; {per_session:.1} RPCs per session"
            ));
        }
    }
    phases.push(bootstrap);
    if !fleet.wait_idle(Duration::from_secs(30)).await {
        notes.push("follow-up work still running after the bootstrap".into());
    }

    match options.scenario {
        Scenario::PeriodicStorm => {
            let deadline = Instant::now() + options.phase_timeout;
            let meter = Meter::start(&pids);
            let batch = fleet
                .run_batch(
                    all.clone(),
                    Trigger::Periodic,
                    options.concurrency,
                    deadline,
                )
                .await;
            phases.push(meter.finish_batch("periodic (2 PERIODIC)", batch));
        }
        Scenario::MassSet => {
            let meter = Meter::start(&pids);
            let started = Instant::now();
            let (api2, fleet2) = (api.clone(), Arc::clone(&fleet));
            let failed = for_each_device(devices, options.concurrency, move |index| {
                let (api, fleet) = (api2.clone(), Arc::clone(&fleet2));
                async move {
                    let (username, password) = fleet.cr_credentials(index);
                    let id = fleet.config().identity.device_id(index);
                    let path = format!("/api/v1/devices/{id}/connection-request");
                    let body = json!({"username": username, "password": password});
                    let sent = Instant::now();
                    matches!(api.put(&path, &body).await, Ok((204, _))).then(|| sent.elapsed())
                }
            })
            .await;
            phases.push(meter.finish(
                "set CR credentials (API)",
                u64::from(devices),
                failed.0,
                started.elapsed(),
                failed.1,
                0,
            ));

            let parameter = bench_parameter(&model)?;
            let sessions_before = session_counts(&fleet);
            let meter = Meter::start(&pids);
            let started = Instant::now();
            let task_timeout = options.task_timeout;
            let (api2, fleet2, parameter2) = (api.clone(), Arc::clone(&fleet), parameter.clone());
            let (failed, latencies) = for_each_device(devices, options.concurrency, move |index| {
                let (api, fleet, parameter) = (api2.clone(), Arc::clone(&fleet2), parameter2.clone());
                async move {
                    let id = fleet.config().identity.device_id(index);
                    let path = format!(
                        "/api/v1/devices/{id}/tasks?connectionRequest=true&timeout={task_timeout}"
                    );
                    let body = json!({
                        "name": "setParameterValues",
                        "parameterValues": [{"name": parameter, "value": format!("bench-{index}"), "type": "xsd:string"}]
                    });
                    let sent = Instant::now();
                    let done = matches!(api.post(&path, &body).await, Ok((200, ref task)) if task["status"] == "done");
                    done.then(|| sent.elapsed())
                }
            })
            .await;
            fleet.wait_idle(Duration::from_secs(30)).await;
            let (ok, session_failures, rpcs) = session_delta(&fleet, sessions_before);
            let wrong = (0..devices)
                .filter(|&i| {
                    fleet.value(i, &parameter).as_deref() != Some(format!("bench-{i}").as_str())
                })
                .count();
            notes.push(format!(
                "mass-set: {ok} CR sessions ok, {session_failures} failed; {wrong} devices without the new value"
            ));
            phases.push(meter.finish(
                "mass-set (SPV via CR, devices)",
                u64::from(devices),
                failed + session_failures,
                started.elapsed(),
                latencies,
                rpcs,
            ));
        }
        Scenario::BootstrapStorm => {}
    }

    let (fixed, heap) = fleet.memory();
    let (before, after) = setup.sim_rss_kib;
    let now = procstat::sample(None).map_or(0, |s| s.rss_kib);
    let per_device = |kib: u64| (kib * 1024) as f64 / f64::from(devices.max(1));
    notes.push(format!(
        "simulator memory per device: {fixed} B fixed + {:.1} B heap of overrides (estimate); \
         RSS grew {:.0} B per device when the fleet was created, and is {:.0} MiB now \
         ({:.0} B per device over the start, buffers and allocator caches included)",
        heap as f64 / f64::from(devices.max(1)),
        per_device(after.saturating_sub(before)),
        now as f64 / 1024.0,
        per_device(now.saturating_sub(before)),
    ));
    let errors = fleet.stats().errors();
    if !errors.is_empty() {
        notes.push(format!("first errors: {errors:?}"));
    }
    print_table(&phases, &notes);
    Ok(phases)
}

/// The parameter mass-set writes: the first writable `...SSID` of the model.
fn bench_parameter(model: &Model) -> anyhow::Result<String> {
    for suffix in ["WiFi.SSID.1.SSID", "LANDevice.1.WLANConfiguration.1.SSID"] {
        let path = format!("{}{suffix}", model.top_object());
        if model.lookup(&path).is_some() {
            return Ok(path);
        }
    }
    bail!("the model has no SSID parameter to set")
}

fn session_counts(fleet: &Fleet) -> (u64, u64, u64) {
    let stats = fleet.stats();
    (
        stats.ok.load(Ordering::Relaxed),
        stats.failed.load(Ordering::Relaxed),
        stats.rpcs.load(Ordering::Relaxed),
    )
}

fn session_delta(fleet: &Fleet, before: (u64, u64, u64)) -> (u64, u64, u64) {
    let now = session_counts(fleet);
    (now.0 - before.0, now.1 - before.1, now.2 - before.2)
}

/// Runs `work(index)` for every device with at most `concurrency` at once; returns how many
/// failed (`None`) and the latencies of the others.
async fn for_each_device<F, Fut>(devices: u32, concurrency: usize, work: F) -> (u64, Vec<Duration>)
where
    F: Fn(u32) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Option<Duration>> + Send + 'static,
{
    let work = Arc::new(work);
    let next = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (work, next) = (Arc::clone(&work), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let (mut failed, mut latencies) = (0u64, Vec::new());
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= devices {
                    break;
                }
                match work(index).await {
                    Some(latency) => latencies.push(latency),
                    None => failed += 1,
                }
            }
            (failed, latencies)
        }));
    }
    let (mut failed, mut latencies) = (0, Vec::new());
    for worker in workers {
        if let Ok((f, l)) = worker.await {
            failed += f;
            latencies.extend(l);
        }
    }
    (failed, latencies)
}

/// Prints the phases as a Markdown table, then the notes.
pub fn print_table(phases: &[Phase], notes: &[String]) {
    println!();
    println!("| phase | count | time (s) | per second | p50 (ms) | p99 (ms) | max (ms) | RPCs/s | failed | ACS RSS / peak (MiB) | ACS CPU (%) | sim CPU (%) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in phases {
        let seconds = p.elapsed.as_secs_f64().max(1e-9);
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.1} | {:.1} | {:.1} | {:.0} | {} | {:.0} / {:.0} | {:.0} | {:.0} |",
            p.name,
            p.count,
            seconds,
            p.rate(),
            p.percentile(0.5),
            p.percentile(0.99),
            p.percentile(1.0),
            p.rpcs as f64 / seconds,
            p.failed,
            p.acs_rss_kib.0 as f64 / 1024.0,
            p.acs_rss_kib.1 as f64 / 1024.0,
            p.acs_cpu,
            p.sim_cpu,
        );
    }
    println!();
    for note in notes {
        println!("- {note}");
    }
}

/// Builds the ACS binary if needed: a path given, or Cargo's (release profile).
pub fn acs_binary(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match given {
        Some(path) if path.exists() => Ok(path),
        Some(path) => bail!("no kube-acs binary at {}", path.display()),
        None => build_kube_acs(true).context("building kube-acs"),
    }
}
