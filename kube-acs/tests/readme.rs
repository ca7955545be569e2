//! The README's two set-up commands, as written: the start command builds and starts the ACS
//! from the repository root, and the test command is the one CI runs.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{ready_ports, Cpe};

/// The repository's root, where a new user runs the README's commands.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// The commands (one per line, comments and blank lines left out) of the first `sh` block
/// of README.md's section `heading`.
fn readme_commands(heading: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let section = readme
        .split_once(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README.md has a section {heading:?}"))
        .1;
    let block = section
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .unwrap_or_else(|| panic!("README.md's {heading:?} has a sh block"))
        .0;
    block
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(String::from)
        .collect()
}

#[test]
fn ci_runs_the_readme_test_command() {
    let commands = readme_commands("Run the tests");
    assert_eq!(commands.len(), 1, "one test command: {commands:?}");
    let ci = std::fs::read_to_string(repository().join(".ci/run")).unwrap();
    // CI adds `--locked` (the lock file is committed), nothing else.
    let runs_it = ci.lines().map(str::trim).any(|line| {
        line == commands[0] || line.strip_suffix(" --locked") == Some(commands[0].as_str())
    });
    assert!(runs_it, ".ci/run runs `{}`:\n{ci}", commands[0]);
}

/// The process group of a command started with `sh -c`, stopped with SIGTERM on drop.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

/// `cargo run --release -- standalone ...` run as the README has it, from the repository root.
/// Its ports come from the flags' environment twins (the command names none), so that it does
/// not collide with anything else on the machine; the release build goes to a target directory
/// of its own (the running `cargo test` holds its own), kept in the cache between runs, with
/// optimization off to keep the build short: neither changes which binary `cargo run` picks
/// or how it reads the command line.
#[tokio::test]
async fn the_readme_start_command_starts_the_acs() {
    let commands = readme_commands("Start it (standalone, no cluster)");
    assert_eq!(commands.len(), 1, "one start command: {commands:?}");
    let command = &commands[0];
    let root = repository();
    let data_dir = command
        .split_once("--data-dir ")
        .map(|(_, rest)| root.join(rest.split_whitespace().next().unwrap()))
        .expect("the start command names its data directory");
    let _data_dir = RemovedUnlessItExisted::new(data_dir.clone());
    let log_path = std::env::temp_dir().join(format!("readme-start-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).unwrap();
    let cache = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(".cache/kube-acs/readme-target");
    let cargo_dir = Path::new(env!("CARGO")).parent().unwrap().to_path_buf();
    let path = std::env::join_paths(std::iter::once(cargo_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(&root)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", &cache)
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
        .env("KUBE_ACS_CWMP_LISTEN", "127.0.0.1:0")
        .env("KUBE_ACS_API_LISTEN", "127.0.0.1:0")
        .env("KUBE_ACS_FILES_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .expect("sh runs the README's start command");
    let mut started = Started(child);

    // A cold build takes minutes; the ACS is up once it logs its ready line.
    let deadline = Instant::now() + Duration::from_secs(40 * 60);
    let (cwmp, api, _) = loop {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        if let Some(ports) = ready_ports(&text) {
            assert!(
                text.contains("kube-acs standalone ready"),
                "standalone mode starts:\n{text}"
            );
            break ports;
        }
        if let Ok(Some(status)) = started.0.try_wait() {
            panic!("`{command}` ended with {status}:\n{text}");
        }
        assert!(
            Instant::now() < deadline,
            "`{command}` did not start:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let health = reqwest::get(format!("http://127.0.0.1:{api}/healthz"))
        .await
        .unwrap();
    assert!(health.status().is_success());
    // A device informs and is known to the API afterwards.
    let mut cpe = Cpe::new(
        &format!("http://127.0.0.1:{cwmp}/"),
        "README1",
        "http://127.0.0.1:9/",
    );
    cpe.session().await;
    let device = reqwest::get(format!(
        "http://127.0.0.1:{api}/api/v1/devices/{}",
        cpe.device_id()
    ))
    .await
    .unwrap();
    assert_eq!(device.status(), 200, "the device is stored");
    assert!(data_dir.is_dir(), "the data directory is created");

    drop(started);
    let _ = std::fs::remove_file(&log_path);
}

/// A directory the test may create: removed at the end unless it was there before.
struct RemovedUnlessItExisted(Option<PathBuf>);

impl RemovedUnlessItExisted {
    fn new(dir: PathBuf) -> Self {
        RemovedUnlessItExisted((!dir.exists()).then_some(dir))
    }
}

impl Drop for RemovedUnlessItExisted {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
