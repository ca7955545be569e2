//! `cpe-sim`: run a fleet of simulated CPEs against an ACS (`run`), or benchmark kube-acs with
//! one command (`bench`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// The allocator kube-acs runs with; it keeps the load generator's own cost down too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cpe_sim::bench::{self, BenchOptions, Scenario};
use cpe_sim::fleet::{AcsAuth, Fleet, FleetConfig};
use cpe_sim::misbehave::{Misbehaviour, TransferFaults};
use cpe_sim::model::Model;
use cpe_sim::template::IdentityConfig;
use cpe_sim::{cr_listener, http};

/// Thousands of simulated TR-069 CPEs in one process.
#[derive(Parser)]
#[command(name = "cpe-sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a fleet against an ACS for a while: first contact spread over --ramp, then
    /// periodic informs, connection requests, value-change notification.
    Run(Box<RunArgs>),
    /// Start kube-acs standalone and the simulator, run a scenario, print a table.
    Bench(BenchArgs),
}

#[derive(Args)]
struct RunArgs {
    /// CWMP URL of the ACS.
    #[arg(long, default_value = "http://127.0.0.1:7547/")]
    acs_url: String,
    /// Number of devices.
    #[arg(long, default_value_t = 1000)]
    devices: u32,
    /// Data model: tr181, tr098, or a model file.
    #[arg(long, default_value = "tr181")]
    model: String,
    /// Address of the shared connection-request endpoint (`/cr/<serial>`).
    #[arg(long, default_value = "127.0.0.1:7548")]
    cr_listen: SocketAddr,
    /// Seconds to run before stopping.
    #[arg(long, default_value_t = 300)]
    duration: u64,
    /// Seconds over which first contacts are spread.
    #[arg(long, default_value_t = 10)]
    ramp: u64,
    /// Most sessions at once.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Seconds between checks of actively notified values.
    #[arg(long, default_value_t = 5)]
    notify_check: u64,
    /// Print counters every this many seconds.
    #[arg(long, default_value_t = 10)]
    report_every: u64,
    /// Reach non-loopback addresses too.
    #[arg(long)]
    allow_remote: bool,
    #[command(flatten)]
    fleet: FleetArgs,
}

/// Identity, behaviour and misbehaviour of the fleet.
#[derive(Args)]
struct FleetArgs {
    /// Serial numbers are this prefix and 8 digits.
    #[arg(long, default_value = "SIM")]
    serial_prefix: String,
    /// Manufacturer OUI.
    #[arg(long, default_value = "02C0DE")]
    oui: String,
    /// Product class.
    #[arg(long, default_value = "SimGW")]
    product_class: String,
    /// Manufacturer name.
    #[arg(long, default_value = "SimCo")]
    manufacturer: String,
    /// Factory software version.
    #[arg(long, default_value = "1.0.0")]
    software_version: String,
    /// Factory PeriodicInformInterval, seconds.
    #[arg(long, default_value_t = 300)]
    periodic_interval: u32,
    /// Periodic informs come at the interval times 1 ± jitter.
    #[arg(long, default_value_t = 0.1)]
    jitter: f64,
    /// Seed of every dice roll (and of the derived passwords).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds a reboot takes.
    #[arg(long, default_value_t = 1.0)]
    reboot_delay: f64,
    /// ACS credentials shared by all devices, as user:password.
    #[arg(long, conflicts_with = "per_device_acs_credentials")]
    acs_credentials: Option<String>,
    /// Each device authenticates as its serial number with its own derived password.
    #[arg(long)]
    per_device_acs_credentials: bool,
    /// Share of devices that never send cookies back.
    #[arg(long, default_value_t = 0.0)]
    drop_cookies: f64,
    /// Share of devices that speak cwmp-1-0 only.
    #[arg(long, default_value_t = 0.0)]
    cwmp10_only: f64,
    /// Share of sessions that answer slowly.
    #[arg(long, default_value_t = 0.0)]
    slow: f64,
    /// Delay of slow answers, milliseconds.
    #[arg(long, default_value_t = 2000)]
    slow_delay_ms: u64,
    /// Share of sessions that send a malformed Inform.
    #[arg(long, default_value_t = 0.0)]
    malformed: f64,
    /// Share of sessions that disconnect after the InformResponse.
    #[arg(long, default_value_t = 0.0)]
    disconnect: f64,
    /// Share of devices whose downloads fail (9010).
    #[arg(long, default_value_t = 0.0)]
    download_failure: f64,
    /// Share of devices whose downloads are corrupted (9018).
    #[arg(long, default_value_t = 0.0)]
    download_corrupted: f64,
    /// Share of devices that never come back after a firmware upgrade.
    #[arg(long, default_value_t = 0.0)]
    download_never_returns: f64,
}

impl FleetArgs {
    fn apply(&self, config: &mut FleetConfig) -> anyhow::Result<()> {
        config.seed = self.seed;
        config.periodic_jitter = self.jitter;
        config.reboot_delay = Duration::from_secs_f64(self.reboot_delay.max(0.0));
        config.acs_auth = match (&self.acs_credentials, self.per_device_acs_credentials) {
            (_, true) => AcsAuth::PerDevice,
            (Some(pair), false) => {
                let (username, password) = pair
                    .split_once(':')
                    .ok_or_else(|| anyhow::anyhow!("--acs-credentials must be user:password"))?;
                AcsAuth::Shared {
                    username: username.into(),
                    password: password.into(),
                }
            }
            (None, false) => AcsAuth::None,
        };
        config.misbehaviour = Misbehaviour {
            drop_cookies: self.drop_cookies,
            cwmp10_only: self.cwmp10_only,
            slow: self.slow,
            slow_delay: Duration::from_millis(self.slow_delay_ms),
            malformed: self.malformed,
            disconnect: self.disconnect,
        };
        config.transfer_faults = TransferFaults {
            download_failure: self.download_failure,
            corrupted: self.download_corrupted,
            never_returns: self.download_never_returns,
        };
        Ok(())
    }

    fn identity(&self, acs_url: &str, cr_base_url: String) -> IdentityConfig {
        IdentityConfig {
            manufacturer: self.manufacturer.clone(),
            oui: self.oui.clone(),
            product_class: self.product_class.clone(),
            serial_prefix: self.serial_prefix.clone(),
            software_version: self.software_version.clone(),
            acs_url: acs_url.to_string(),
            cr_base_url,
            periodic_interval: self.periodic_interval,
            ..IdentityConfig::default()
        }
    }
}

#[derive(Args)]
struct BenchArgs {
    /// The scenario.
    #[arg(long, value_enum, default_value = "periodic-storm")]
    scenario: Scenario,
    /// Number of devices (default: 100000 for periodic-storm, 10000 for the others).
    #[arg(long)]
    devices: Option<u32>,
    /// Concurrent sessions (periodic-storm, bootstrap) or API calls (mass-set).
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Data model: tr181, tr098, or a model file.
    #[arg(long, default_value = "tr181")]
    model: String,
    /// The kube-acs binary (default: build it with cargo build --release -p kube-acs).
    #[arg(long)]
    acs_bin: Option<PathBuf>,
    /// Extra flag for kube-acs standalone (repeat for several).
    #[arg(long = "acs-arg", allow_hyphen_values = true)]
    acs_args: Vec<String>,
    /// Write the ACS's log to this file.
    #[arg(long)]
    acs_log: Option<PathBuf>,
    /// RUST_LOG of the ACS.
    #[arg(long, default_value = "warn")]
    acs_log_level: String,
    /// Limit of each phase, seconds.
    #[arg(long, default_value_t = 600)]
    phase_timeout: u64,
    /// `timeout` of each mass-set API call, seconds.
    #[arg(long, default_value_t = 30)]
    task_timeout: u32,
    /// Run the ACS on a TiKV test cluster (real PD + unistore processes, built by
    /// e2e/tikv/build.sh) instead of its embedded store.
    #[arg(long)]
    tikv: bool,
    /// With --tikv: run this many `kube-acs edge` processes on the one store, sessions going
    /// to each in turn (as behind a load balancer).
    #[arg(long, default_value_t = 1)]
    edges: usize,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Run(args) => runtime.block_on(run(*args)),
        Command::Bench(args) => runtime.block_on(async move {
            let options = BenchOptions {
                scenario: args.scenario,
                devices: args.devices,
                concurrency: args.concurrency,
                model: args.model,
                acs_bin: args.acs_bin,
                acs_args: args.acs_args,
                acs_log: args.acs_log,
                acs_log_level: args.acs_log_level,
                phase_timeout: Duration::from_secs(args.phase_timeout),
                task_timeout: args.task_timeout,
                tikv: args.tikv,
                edges: args.edges,
            };
            bench::run(options).await.map(|_| ())
        }),
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    http::allow_remote(args.allow_remote);
    let model = Model::load(&args.model)?;
    let listener = cr_listener::bind(args.cr_listen)?;
    let cr_base = format!("http://{}/cr/", listener.local_addr()?);
    let identity = args.fleet.identity(&args.acs_url, cr_base.clone());
    let mut config = FleetConfig::new(model, identity, args.devices);
    args.fleet.apply(&mut config)?;
    let fleet = Fleet::new(config).await.map_err(anyhow::Error::msg)?;
    let _cr = cr_listener::serve(listener, Arc::clone(&fleet));
    eprintln!(
        "{} devices ({} parameters each) informing {} for {} s; connection requests on {cr_base}<serial>",
        fleet.len(),
        fleet.config().model.parameter_count(),
        args.acs_url,
        args.duration,
    );
    let reporter = {
        let fleet = Arc::clone(&fleet);
        let every = Duration::from_secs(args.report_every.max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                report(&fleet);
            }
        })
    };
    let live = fleet.live(
        Duration::from_secs(args.duration),
        Duration::from_secs(args.ramp),
        args.concurrency,
        Duration::from_secs(args.notify_check.max(1)),
    );
    tokio::select! {
        _ = live => {}
        _ = tokio::signal::ctrl_c() => eprintln!("interrupted"),
    }
    reporter.abort();
    fleet.wait_idle(Duration::from_secs(5)).await;
    report(&fleet);
    for error in fleet.stats().errors() {
        eprintln!("error: {error}");
    }
    Ok(())
}

fn report(fleet: &Fleet) {
    let stats = fleet.stats();
    eprintln!(
        "sessions ok {} failed {} injected {}; RPCs {}; transfers {}",
        stats.ok.load(Ordering::Relaxed),
        stats.failed.load(Ordering::Relaxed),
        stats.injected.load(Ordering::Relaxed),
        stats.rpcs.load(Ordering::Relaxed),
        stats.transfers.load(Ordering::Relaxed),
    );
}
