//! A real Kubernetes control plane as local processes: etcd and kube-apiserver, with kubectl
//! and helm beside them, all at pinned versions built by `e2e/kube/build.sh` (cached outside
//! the clone).
//!
//! Users authenticate with static bearer tokens (one per [`User`] given to
//! [`KubeCluster::start`], plus `admin` in `system:masters`); authorization is RBAC, so a
//! user can do only what its bindings allow. The serving certificate is signed by a CA made
//! for the cluster, and every kubeconfig trusts it. No kube-controller-manager runs: nothing
//! here needs namespace deletion or garbage collection.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use tokio::sync::OnceCell;

use crate::process::{self, env_path, free_ports, spawn_logged, spawn_watchdog};

/// Environment variable: when set (non-empty), the cluster's directory is kept after the
/// cluster is dropped, and its path printed.
pub const KEEP_DIR_ENV: &str = "KUBE_ACS_KEEP_KUBE_DIR";

/// How long the control plane may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Lines of each log shown in a failure.
const TAIL_LINES: usize = 30;

/// Paths of the control plane's binaries.
#[derive(Debug, Clone)]
pub struct KubeBinaries {
    /// `kube-apiserver`.
    pub apiserver: PathBuf,
    /// `kubectl`.
    pub kubectl: PathBuf,
    /// `etcd`.
    pub etcd: PathBuf,
    /// `helm`.
    pub helm: PathBuf,
}

static BINARIES: OnceCell<KubeBinaries> = OnceCell::const_new();

/// The control plane's binaries, built by `e2e/kube/build.sh` first when they are not cached
/// yet (about 12 minutes cold). Resolved once per process.
pub async fn binaries() -> Result<&'static KubeBinaries> {
    BINARIES
        .get_or_try_init(|| async {
            tokio::task::spawn_blocking(|| {
                let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("kube/build.sh");
                let paths = process::run_build_script(&script, 4)?;
                Ok(KubeBinaries {
                    apiserver: paths[0].clone(),
                    kubectl: paths[1].clone(),
                    etcd: paths[2].clone(),
                    helm: paths[3].clone(),
                })
            })
            .await?
        })
        .await
}

/// A user the API server knows by a static bearer token.
#[derive(Debug, Clone)]
pub struct User {
    /// The user name, such as `alice` or `system:serviceaccount:kube-acs:kube-acs-operator`
    /// (RBAC matches ServiceAccount subjects by that name).
    pub name: String,
    /// Its groups.
    pub groups: Vec<String>,
}

impl User {
    /// A user without groups.
    pub fn new(name: &str) -> User {
        User {
            name: name.to_string(),
            groups: Vec::new(),
        }
    }

    /// The identity of ServiceAccount `name` in `namespace`, as the API server sees a pod
    /// running with it.
    pub fn service_account(namespace: &str, name: &str) -> User {
        User {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{namespace}"),
            ],
        }
    }

    fn file_name(&self) -> String {
        self.name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    }

    fn token(&self) -> String {
        format!("token-{}", self.file_name())
    }
}

/// etcd and kube-apiserver on loopback ports, with their data, certificates, kubeconfigs and
/// logs in a temporary directory. Dropping it stops the processes and removes the directory
/// (unless `KUBE_ACS_KEEP_KUBE_DIR` is set).
pub struct KubeCluster {
    tempdir: Option<tempfile::TempDir>,
    dir: PathBuf,
    bins: KubeBinaries,
    apiserver_port: u16,
    etcd: Option<Child>,
    apiserver: Option<Child>,
    watchdog: Option<Child>,
    users: Vec<User>,
}

impl KubeCluster {
    /// Starts etcd and kube-apiserver and waits until the API server is ready (a few
    /// seconds once the binaries are built). `users` are known besides `admin`.
    pub async fn start(users: &[User]) -> Result<KubeCluster> {
        let bins = binaries().await?.clone();
        let mut last_err = None;
        // A port picked as free may be taken before the process binds it: retry then.
        for _ in 0..3 {
            match Self::start_once(bins.clone(), users).await {
                Ok(cluster) => return Ok(cluster),
                Err(e) if format!("{e:#}").contains("address already in use") => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow!("the control plane did not start")))
    }

    async fn start_once(bins: KubeBinaries, users: &[User]) -> Result<KubeCluster> {
        let tempdir = tempfile::Builder::new()
            .prefix("kube-acs-kube-")
            .tempdir()
            .context("creating the cluster's temporary directory")?;
        let dir = tempdir.path().to_path_buf();
        let [etcd_client, etcd_peer, apiserver_port] = free_ports::<3>()?;
        let mut all_users = vec![User {
            name: "admin".to_string(),
            groups: vec!["system:masters".to_string()],
        }];
        all_users.extend(users.iter().cloned());
        write_credentials(&dir, &all_users)?;
        let watchdog = spawn_watchdog(&dir, env_path(KEEP_DIR_ENV).is_some())?;
        let mut cluster = KubeCluster {
            tempdir: Some(tempdir),
            dir: dir.clone(),
            bins,
            apiserver_port,
            etcd: None,
            apiserver: None,
            watchdog: Some(watchdog),
            users: all_users,
        };
        for user in cluster.users.clone() {
            cluster.write_kubeconfig(&user)?;
        }
        let etcd_url = format!("http://127.0.0.1:{etcd_client}");
        let peer_url = format!("http://127.0.0.1:{etcd_peer}");
        let etcd_args = vec![
            "--name=e2e".to_string(),
            format!("--data-dir={}", dir.join("etcd").display()),
            format!("--listen-client-urls={etcd_url}"),
            format!("--advertise-client-urls={etcd_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=e2e={peer_url}"),
            "--unsafe-no-fsync".to_string(),
            "--log-level=warn".to_string(),
        ];
        cluster.etcd = Some(spawn_logged(
            &dir,
            "etcd",
            &cluster.bins.etcd,
            &etcd_args,
            &[],
        )?);
        let certs = dir.join("certs");
        let apiserver_args = vec![
            format!("--etcd-servers={etcd_url}"),
            "--bind-address=127.0.0.1".to_string(),
            "--advertise-address=127.0.0.1".to_string(),
            format!("--secure-port={apiserver_port}"),
            "--endpoint-reconciler-type=none".to_string(),
            "--service-cluster-ip-range=10.96.0.0/16".to_string(),
            "--authorization-mode=RBAC".to_string(),
            format!("--token-auth-file={}", certs.join("tokens.csv").display()),
            format!("--tls-cert-file={}", certs.join("apiserver.crt").display()),
            format!(
                "--tls-private-key-file={}",
                certs.join("apiserver.key").display()
            ),
            format!("--cert-dir={}", certs.display()),
            "--service-account-issuer=https://kubernetes.default.svc".to_string(),
            format!(
                "--service-account-key-file={}",
                certs.join("sa.pub").display()
            ),
            format!(
                "--service-account-signing-key-file={}",
                certs.join("sa.key").display()
            ),
            "--disable-admission-plugins=ServiceAccount".to_string(),
            "--enable-priority-and-fairness=false".to_string(),
            "--profiling=false".to_string(),
            "--v=1".to_string(),
        ];
        cluster.apiserver = Some(spawn_logged(
            &dir,
            "apiserver",
            &cluster.bins.apiserver,
            &apiserver_args,
            &[],
        )?);
        cluster.wait_ready().await?;
        Ok(cluster)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            self.check_alive()?;
            let out = self.kubectl_output("admin", &["get", "--raw", "/readyz"])?;
            if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok" {
                // The bootstrap controller creates `default` right after readiness.
                let ns = self.kubectl_output("admin", &["get", "namespace", "default"])?;
                if ns.status.success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(self.failure("the API server did not become ready"));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Fails (with the logs' tails) if etcd or the API server exited.
    fn check_alive(&mut self) -> Result<()> {
        let mut exited = None;
        for (name, child) in [("etcd", &mut self.etcd), ("apiserver", &mut self.apiserver)] {
            if let Some(status) = child.as_mut().map(Child::try_wait).transpose()?.flatten() {
                *child = None;
                exited = Some(format!("{name} exited: {status}"));
                break;
            }
        }
        match exited {
            None => Ok(()),
            Some(what) => Err(self.failure(&what)),
        }
    }

    /// The API server's URL, `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.apiserver_port)
    }

    /// The cluster's directory: data, certificates, kubeconfigs and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The control plane's binaries.
    pub fn binaries(&self) -> &KubeBinaries {
        &self.bins
    }

    /// The kubeconfig of a user (`admin` or one given to [`KubeCluster::start`]).
    pub fn kubeconfig(&self, user: &str) -> PathBuf {
        let user = self
            .users
            .iter()
            .find(|u| u.name == user)
            .unwrap_or_else(|| panic!("unknown user {user}"));
        self.dir.join(format!("kubeconfig-{}", user.file_name()))
    }

    /// The bearer token of a user.
    pub fn token(&self, user: &str) -> String {
        User::new(user).token()
    }

    /// Runs kubectl as `user`; the output whatever the exit status.
    pub fn kubectl_output(&self, user: &str, args: &[&str]) -> Result<Output> {
        Command::new(&self.bins.kubectl)
            .args(args)
            .env("KUBECONFIG", self.kubeconfig(user))
            .stdin(Stdio::null())
            .output()
            .context("running kubectl")
    }

    /// Runs kubectl as admin; its stdout, or an error with its stderr.
    pub fn kubectl(&self, args: &[&str]) -> Result<String> {
        checked("kubectl", args, self.kubectl_output("admin", args)?)
    }

    /// Runs kubectl as admin with `input` on stdin (for `apply -f -`).
    pub fn kubectl_stdin(&self, args: &[&str], input: &str) -> Result<String> {
        use std::io::Write as _;
        let mut child = Command::new(&self.bins.kubectl)
            .args(args)
            .env("KUBECONFIG", self.kubeconfig("admin"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("running kubectl")?;
        child
            .stdin
            .take()
            .context("kubectl's stdin")?
            .write_all(input.as_bytes())?;
        checked("kubectl", args, child.wait_with_output()?)
    }

    /// Runs helm against the cluster as admin; its stdout, or an error with its stderr.
    pub fn helm(&self, args: &[&str]) -> Result<String> {
        let home = self.dir.join("helm");
        let out = Command::new(&self.bins.helm)
            .args(args)
            .env("KUBECONFIG", self.kubeconfig("admin"))
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .stdin(Stdio::null())
            .output()
            .context("running helm")?;
        checked("helm", args, out)
    }

    /// A kube client authenticated as `user`.
    pub async fn client(&self, user: &str) -> Result<kube::Client> {
        let kubeconfig = kube::config::Kubeconfig::read_from(self.kubeconfig(user))?;
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await?;
        Ok(kube::Client::try_from(config)?)
    }

    fn write_kubeconfig(&self, user: &User) -> Result<()> {
        let ca = fs::read_to_string(self.dir.join("certs/ca.crt"))?;
        let ca = base64_encode(ca.as_bytes());
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: user\n  user:\n    token: {token}\ncontexts:\n- name: e2e\n  context:\n    cluster: e2e\n    user: user\n    namespace: default\ncurrent-context: e2e\n",
            server = self.server_url(),
            token = user.token(),
        );
        fs::write(
            self.dir.join(format!("kubeconfig-{}", user.file_name())),
            config,
        )?;
        Ok(())
    }

    fn failure(&self, what: &str) -> anyhow::Error {
        process::failure(
            "Kubernetes test cluster",
            &self.dir,
            KEEP_DIR_ENV,
            &["etcd", "apiserver"],
            TAIL_LINES,
            what,
        )
    }
}

impl Drop for KubeCluster {
    fn drop(&mut self) {
        process::shut_down(
            &self.dir,
            vec![
                ("apiserver", self.apiserver.take()),
                ("etcd", self.etcd.take()),
            ],
            self.watchdog.take(),
            self.tempdir.take(),
            KEEP_DIR_ENV,
        );
    }
}

/// stdout of a finished command, or an error with its arguments and stderr.
fn checked(program: &str, args: &[&str], out: Output) -> Result<String> {
    if !out.status.success() {
        bail!(
            "{program} {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The CA, the API server's serving certificate, the service-account signing key and the
/// static token file, under `<dir>/certs`.
fn write_credentials(dir: &Path, users: &[User]) -> Result<()> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let certs = dir.join("certs");
    fs::create_dir_all(&certs)?;
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kube-acs e2e CA");
    let ca = ca_params.self_signed(&ca_key)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "kubernetes.default.svc".to_string(),
    ])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    let cert = params.signed_by(&key, &ca, &ca_key)?;
    fs::write(certs.join("ca.crt"), ca.pem())?;
    fs::write(certs.join("apiserver.crt"), cert.pem())?;
    fs::write(certs.join("apiserver.key"), key.serialize_pem())?;
    let service_accounts = KeyPair::generate()?;
    fs::write(certs.join("sa.key"), service_accounts.serialize_pem())?;
    fs::write(certs.join("sa.pub"), service_accounts.public_key_pem())?;
    let mut tokens = String::new();
    for user in users {
        let _ = writeln!(
            tokens,
            "{},{},{},\"{}\"",
            user.token(),
            user.name,
            user.name,
            user.groups.join(",")
        );
    }
    fs::write(certs.join("tokens.csv"), tokens)?;
    Ok(())
}

/// Standard base64 with padding (kubeconfig `*-data` fields).
fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
