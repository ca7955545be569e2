//! Local processes of the test clusters: started in their own process group with their
//! output in a log file and their pid in a pid file, stopped with SIGTERM then SIGKILL, and
//! killed by a watchdog if the test process dies without running `Drop`.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write as _};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

/// Time given to processes to exit on SIGTERM before SIGKILL (PD may hang).
const GRACE: Duration = Duration::from_millis(500);

/// Kills a cluster's processes (by process group, from their pid files) and removes its
/// directory once its standard input reaches EOF, which happens when the test process exits
/// in any way. Stopped with SIGKILL by the cluster's `Drop`.
const WATCHDOG_SCRIPT: &str = r#"
trap '' INT HUP TERM QUIT
dir="$1"; keep="$2"
while read -r _; do :; done
for f in "$dir"/*.pid; do
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  [ -n "$pid" ] && kill -9 -- "-$pid" "$pid" 2>/dev/null
done
if [ -z "$keep" ]; then sleep 0.5; rm -rf -- "$dir"; fi
"#;

/// A path from a non-empty environment variable.
pub fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Runs a build script of `e2e/` (progress goes to stderr) and returns the last `count`
/// non-empty lines it prints, each the path of an existing binary.
pub fn run_build_script(script: &Path, count: usize) -> Result<Vec<PathBuf>> {
    let out = Command::new("bash")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!("{} failed ({})", script.display(), out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() < count {
        bail!(
            "{} printed too few binary paths: {stdout:?}",
            script.display()
        );
    }
    let paths: Vec<PathBuf> = lines[lines.len() - count..]
        .iter()
        .map(|l| PathBuf::from(l.trim()))
        .collect();
    for p in &paths {
        if !p.is_file() {
            bail!(
                "{} printed {}, which does not exist",
                script.display(),
                p.display()
            );
        }
    }
    Ok(paths)
}

/// The pid file of process `name` in a cluster directory.
pub fn pid_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.pid"))
}

/// Starts a process in its own process group with `dir` as working directory, stdout and
/// stderr appended to `<dir>/<name>.log`, and records its pid for the watchdog. Variables
/// named `ETCD_*` are removed from its environment (etcd, also inside PD, reads them as
/// flags); `env` is added.
pub fn spawn_logged(
    dir: &Path,
    name: &str,
    program: &Path,
    args: &[String],
    env: &[(String, String)],
) -> Result<Child> {
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}.log")))?;
    writeln!(log, "==== {} {}", program.display(), args.join(" "))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ETCD_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    fs::write(pid_file(dir, name), child.id().to_string())?;
    Ok(child)
}

/// SIGTERM to every child, SIGKILL to those still running after a short grace; all are
/// reaped.
pub fn terminate(mut children: Vec<Child>) {
    if children.is_empty() {
        return;
    }
    let pids: Vec<String> = children.iter().map(|c| c.id().to_string()).collect();
    let _ = Command::new("kill")
        .arg("-TERM")
        .args(&pids)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        children.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
        if children.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for child in children {
        kill_now(child);
    }
}

/// SIGKILL and reap.
pub fn kill_now(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts the watchdog of a cluster directory; `keep` leaves the directory in place.
pub fn spawn_watchdog(dir: &Path, keep: bool) -> Result<Child> {
    Command::new("bash")
        .arg("-c")
        .arg(WATCHDOG_SCRIPT)
        .arg("kube-acs-test-cluster-watchdog")
        .arg(dir)
        .arg(if keep { "1" } else { "" })
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("starting the watchdog (bash)")
}

/// `N` distinct free loopback ports (held together while picking).
pub fn free_ports<const N: usize>() -> Result<[u16; N]> {
    let mut listeners = Vec::with_capacity(N);
    let mut ports = [0; N];
    for port in ports.iter_mut() {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        *port = listener.local_addr()?.port();
        listeners.push(listener);
    }
    Ok(ports)
}

/// Nanoseconds since the Unix epoch.
pub fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// The last `lines` lines of a file (reads at most its last 64 KiB).
pub fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return "(no log)".into();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// An error about a test cluster in `dir` (`cluster` names it): `what`, and the last `lines`
/// lines of the logs of `processes`.
pub fn failure(
    cluster: &str,
    dir: &Path,
    keep_env: &str,
    processes: &[&str],
    lines: usize,
    what: &str,
) -> anyhow::Error {
    use std::fmt::Write as _;
    let mut msg = format!(
        "{cluster} in {} (removed on drop unless {keep_env}=1): {what}",
        dir.display()
    );
    for name in processes {
        let path = dir.join(format!("{name}.log"));
        let _ = write!(
            msg,
            "\n---- last {lines} lines of {}:\n{}",
            path.display(),
            tail(&path, lines)
        );
    }
    anyhow::anyhow!(msg)
}

/// Stops a test cluster: its processes (SIGTERM, then SIGKILL), their pid files and its
/// watchdog; then removes its directory, or keeps it (printing where) when `keep_env` is
/// set.
pub fn shut_down(
    dir: &Path,
    processes: Vec<(&str, Option<Child>)>,
    watchdog: Option<Child>,
    tempdir: Option<tempfile::TempDir>,
    keep_env: &str,
) {
    let mut children = Vec::new();
    for (name, child) in processes {
        children.extend(child);
        let _ = fs::remove_file(pid_file(dir, name));
    }
    terminate(children);
    if let Some(watchdog) = watchdog {
        kill_now(watchdog);
    }
    if env_path(keep_env).is_some() {
        if let Some(dir) = tempdir {
            eprintln!("test cluster directory kept: {}", dir.keep().display());
        }
    }
}
