//! `kube-acs`: the TR-069 Auto-Configuration Server. `standalone` runs the whole ACS in one
//! process with an embedded store; `operator` and `edge` (cluster mode) come next.

mod standalone;

use clap::{Parser, Subcommand};

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
    /// embedded on-disk store. No cluster needed.
    Standalone(standalone::StandaloneArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Standalone(args) => {
            standalone::init_logging(args.log_format);
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(standalone::run(args))
        }
    }
}
