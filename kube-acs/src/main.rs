//! `kube-acs`: the TR-069 Auto-Configuration Server. `standalone` runs the whole ACS in one
//! process with an embedded store (or on TiKV); `edge` runs one of several CWMP edges on a
//! shared TiKV store (in a cluster, `--kubernetes` provisions from the kubeacs.io resources
//! the API server holds); `operator` runs the controllers of those resources.

mod get;
mod resource_dir;
mod standalone;

use clap::{Parser, Subcommand};

/// mimalloc: the ACS allocates and frees many small strings per session (parameter names and
/// values), where it is markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// kube-acs: a cluster-native TR-069 (CWMP) Auto-Configuration Server.
#[derive(Parser)]
#[command(name = "kube-acs", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole ACS in one process: CWMP, northbound API and file server, with an
    /// embedded on-disk store (no cluster needed) or on a TiKV cluster (`--store`).
    Standalone(Box<standalone::StandaloneArgs>),
    /// Run one CWMP edge of a fleet: CWMP, northbound API and file server on a TiKV store
    /// shared with other edges (`--store tikv://...`); a device may reach any edge. Same flags
    /// as `standalone`; DeviceTask runs are left to standalone or the operator.
    Edge(Box<standalone::StandaloneArgs>),
    /// Run the Kubernetes operator: controllers for the kubeacs.io resources over the edges'
    /// shared TiKV store, with leader election among replicas.
    Operator(Box<operator::OperatorArgs>),
    /// List resources with their status from a running ACS, like `kubectl get`.
    Get {
        #[arg(value_parser = get::parse_kind, help = get::KIND_ARG_HELP)]
        kind: &'static get::Kind,
        /// The ACS's API.
        #[arg(long, env = "KUBE_ACS_API", default_value = "http://127.0.0.1:7557")]
        api: String,
        /// After the table, print a resource's row again each time it changes (Ctrl-C ends).
        #[arg(short, long)]
        watch: bool,
    },
    /// Write the CustomResourceDefinitions into charts/ and manifests/ (or, with --check, fail
    /// when the committed ones are stale).
    Crdgen {
        /// The repository root.
        #[arg(long, default_value = ".")]
        root: std::path::PathBuf,
        /// Only check that the files are up to date.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Crdgen { root, check } => crdgen(&root, check),
        Command::Get { kind, api, watch } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(get::run(&api, kind, watch)),
        Command::Standalone(args) => serve(*args, standalone::Mode::Standalone),
        Command::Edge(args) => serve(*args, standalone::Mode::Edge),
        Command::Operator(args) => {
            standalone::init_logging(standalone::LogFormat::Text);
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(operator::run(*args))
        }
    }
}

/// `kube-acs standalone` and `kube-acs edge`: serve until stopped.
fn serve(args: standalone::StandaloneArgs, mode: standalone::Mode) -> anyhow::Result<()> {
    standalone::init_logging(args.log_format);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(standalone::run(args, mode))
}

/// `kube-acs crdgen`: writes or checks the CRD YAML.
fn crdgen(root: &std::path::Path, check: bool) -> anyhow::Result<()> {
    if check {
        let stale = crds::stale_crd_files(root)?;
        if !stale.is_empty() {
            anyhow::bail!("stale CRD YAML (run `kube-acs crdgen`): {stale:?}");
        }
        println!("CRD YAML is up to date");
    } else {
        for path in crds::write_crd_files(root)? {
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}
