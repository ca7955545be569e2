//! The cluster-mode harness shared by the cluster tests: the chart's users, `kube-acs
//! operator` and `kube-acs edge --kubernetes` processes in a [`KubeCluster`]'s directory, and
//! polling helpers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use acs_e2e::process::{free_ports, spawn_logged, tail};
use acs_e2e::{KubeCluster, TikvCluster, User};
use serde_json::Value;

/// The chart's namespace.
pub const NAMESPACE: &str = "kube-acs";
/// The tenant devices land in while they have no Device resource.
pub const TENANT: &str = "tenant-a";

/// A TiKV-protocol cluster (and the store URL of it kube-acs takes), and a Kubernetes
/// control plane with the operator's, the edges' and `users`' identities, the chart installed
/// with helm (CRDs, ServiceAccounts and least-privilege RBAC; its Deployments stay without
/// pods here: no kubelet, the test's processes stand in for them) and the `tenants`'
/// namespaces.
pub async fn install(users: &[User], tenants: &[&str]) -> (TikvCluster, String, KubeCluster) {
    let tikv = TikvCluster::start().await.expect("TiKV test cluster");
    let store = format!("{}?timeout=3s", tikv.store_url());
    let mut identities = vec![operator_user(), edge_user()];
    identities.extend_from_slice(users);
    let kube = KubeCluster::start(&identities)
        .await
        .expect("Kubernetes test cluster");
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/kube-acs");
    let pd = format!("tikv.pdAddresses[0]={}", tikv.pd_endpoints()[0]);
    kube.helm(&[
        "install",
        "kube-acs",
        chart.to_str().unwrap(),
        "--namespace",
        NAMESPACE,
        "--create-namespace",
        "--set",
        &pd,
    ])
    .expect("helm install");
    for namespace in tenants {
        kube.kubectl(&["create", "namespace", namespace]).unwrap();
    }
    (tikv, store, kube)
}

/// `GET` of the northbound API at `base` with a bearer token, as JSON.
pub async fn api_get(base: &str, path: &str, token: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The operator's ServiceAccount identity.
pub fn operator_user() -> User {
    User::service_account(NAMESPACE, "kube-acs-operator")
}

/// The edges' ServiceAccount identity.
pub fn edge_user() -> User {
    User::service_account(NAMESPACE, "kube-acs-edge")
}

/// A kube-acs process started in the cluster's directory (killed by its watchdog if the test
/// dies), with its log there.
pub struct AcsProcess {
    pub name: String,
    pub dir: PathBuf,
    pub child: Option<Child>,
}

impl AcsProcess {
    pub fn start(kube: &KubeCluster, name: &str, user: &User, args: &[String]) -> AcsProcess {
        let env = vec![
            (
                "KUBECONFIG".to_string(),
                kube.kubeconfig(&user.name).display().to_string(),
            ),
            (
                "RUST_LOG".to_string(),
                std::env::var("TEST_ACS_LOG").unwrap_or_else(|_| "info".into()),
            ),
        ];
        let child = spawn_logged(
            kube.dir(),
            name,
            Path::new(env!("CARGO_BIN_EXE_kube-acs")),
            args,
            &env,
        )
        .expect("start kube-acs");
        AcsProcess {
            name: name.to_string(),
            dir: kube.dir().to_path_buf(),
            child: Some(child),
        }
    }

    pub fn log(&self) -> String {
        tail(&self.dir.join(format!("{}.log", self.name)), 40)
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

impl Drop for AcsProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `kube-acs operator` replica.
pub struct Operator {
    pub process: AcsProcess,
    pub identity: String,
    pub metrics: String,
}

/// Starts an operator replica (leader election on the chart's Lease, a status sweep every
/// `status_interval` seconds).
pub fn start_operator(
    kube: &KubeCluster,
    store: &str,
    identity: &str,
    files_url: &str,
    status_interval: u32,
) -> Operator {
    let status_interval = status_interval.to_string();
    let [port] = free_ports::<1>().unwrap();
    let args: Vec<String> = [
        "operator",
        "--store",
        store,
        "--identity",
        identity,
        "--lease-namespace",
        NAMESPACE,
        "--lease-name",
        "kube-acs-operator",
        "--lease-duration",
        "4",
        "--lease-renew",
        "1",
        "--status-interval",
        &status_interval,
        "--api-write-rate",
        "200",
        "--device-namespace",
        TENANT,
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--files-url",
        files_url,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    Operator {
        process: AcsProcess::start(kube, identity, &operator_user(), &args),
        identity: identity.to_string(),
        metrics: format!("http://127.0.0.1:{port}/metrics"),
    }
}

/// A `kube-acs edge --kubernetes` process and its addresses.
pub struct EdgeProcess {
    pub process: AcsProcess,
    pub cwmp: String,
    pub api: String,
    pub files: String,
    pub files_dir: PathBuf,
}

/// Starts an edge and waits until it answers.
pub async fn start_edge(kube: &KubeCluster, store: &str, name: &str) -> EdgeProcess {
    let [cwmp, api, files] = free_ports::<3>().unwrap();
    let data = kube.dir().join(format!("{name}-data"));
    let args: Vec<String> = vec![
        "edge".into(),
        "--kubernetes".into(),
        "--store".into(),
        store.into(),
        "--edge-name".into(),
        name.into(),
        "--data-dir".into(),
        data.display().to_string(),
        "--cwmp-listen".into(),
        format!("127.0.0.1:{cwmp}"),
        "--api-listen".into(),
        format!("127.0.0.1:{api}"),
        "--files-listen".into(),
        format!("127.0.0.1:{files}"),
        "--session-timeout".into(),
        "5".into(),
        "--api-auth".into(),
        "kubernetes".into(),
        "--device-namespace".into(),
        TENANT.into(),
    ];
    let mut edge = EdgeProcess {
        process: AcsProcess::start(kube, name, &edge_user(), &args),
        cwmp: format!("http://127.0.0.1:{cwmp}/"),
        api: format!("http://127.0.0.1:{api}"),
        files: format!("http://127.0.0.1:{files}"),
        files_dir: data.join("files"),
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{}/healthz", edge.api)).send().await {
            if r.status().is_success() {
                return edge;
            }
        }
        assert!(
            edge.process.running(),
            "{name} exited:\n{}",
            edge.process.log()
        );
        assert!(
            Instant::now() < deadline,
            "{name} did not start:\n{}",
            edge.process.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `check` every 250 ms until it returns `Some`, up to `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The status of the condition `kind` of an object as JSON.
pub fn condition<'v>(object: &'v Value, kind: &str) -> Option<&'v str> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)?["status"]
        .as_str()
}

/// `kubectl ... -o json`, parsed.
pub fn kubectl_json(kube: &KubeCluster, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&kube.kubectl(&all).unwrap()).unwrap()
}

/// The operator holding the Lease.
pub fn leader(kube: &KubeCluster) -> String {
    kube.kubectl(&[
        "get",
        "lease",
        "kube-acs-operator",
        "-n",
        NAMESPACE,
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ])
    .unwrap_or_default()
}
