//! The Helm chart and the kustomize manifests: `helm lint`, `helm template` with the values
//! users set, the kustomize base generated from the chart and up to date, and every
//! rendering accepted by a real API server (server-side dry run, CRDs installed first).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use acs_e2e::KubeCluster;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn chart() -> String {
    root().join("charts/kube-acs").display().to_string()
}

fn run(program: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .env(
            "HELM_CACHE_HOME",
            std::env::temp_dir().join("kube-acs-helm-cache"),
        )
        .env(
            "HELM_CONFIG_HOME",
            std::env::temp_dir().join("kube-acs-helm-config"),
        )
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{} {args:?}: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Object kinds and names in a multi-document YAML stream.
fn objects(yaml: &str) -> Vec<(String, String)> {
    yaml.split("\n---")
        .filter_map(|doc| {
            let kind = doc
                .lines()
                .find_map(|l| l.strip_prefix("kind: "))?
                .trim()
                .to_string();
            let name = doc
                .lines()
                .skip_while(|l| !l.starts_with("metadata:"))
                .find_map(|l| l.trim_start().strip_prefix("name: "))?
                .trim()
                .to_string();
            Some((kind, name))
        })
        .collect()
}

fn has(objects: &[(String, String)], kind: &str, name: &str) -> bool {
    objects.iter().any(|(k, n)| k == kind && n == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_and_manifests_render_and_are_accepted_by_the_api_server() {
    let kube = KubeCluster::start(&[])
        .await
        .expect("Kubernetes test cluster");
    let helm = kube.binaries().helm.clone();
    let kubectl = kube.binaries().kubectl.clone();
    let chart = chart();

    // Lint, with the default values and with an existing TiKV cluster.
    run(&helm, &["lint", &chart, "--strict"]).expect("helm lint");
    run(
        &helm,
        &[
            "lint",
            &chart,
            "--strict",
            "--set",
            "tikv.pdAddresses={pd:2379}",
        ],
    )
    .expect("helm lint with an existing TiKV");

    // Default: operator, edges, services, PDBs and a TiKV cluster.
    let default = run(&helm, &["template", "acs", &chart, "-n", "kube-acs"]).unwrap();
    let rendered = objects(&default);
    for (kind, name) in [
        ("Deployment", "acs-kube-acs-operator"),
        ("Deployment", "acs-kube-acs-edge"),
        ("Service", "acs-kube-acs-cwmp"),
        ("Service", "acs-kube-acs-api"),
        ("Service", "acs-kube-acs-files"),
        ("PodDisruptionBudget", "acs-kube-acs-edge"),
        ("PodDisruptionBudget", "acs-kube-acs-operator"),
        ("StatefulSet", "acs-kube-acs-pd"),
        ("StatefulSet", "acs-kube-acs-tikv"),
        ("ClusterRole", "acs-kube-acs-operator"),
        ("Role", "acs-kube-acs-leader-election"),
    ] {
        assert!(has(&rendered, kind, name), "{kind} {name} in {rendered:?}");
    }
    assert!(default.contains("value: \"tikv://acs-kube-acs-pd:2379\""));
    assert!(!has(&rendered, "ServiceMonitor", "acs-kube-acs"));

    // An existing TiKV cluster: nothing of TiKV deployed, the store URL names its PDs.
    let existing = run(
        &helm,
        &[
            "template",
            "acs",
            &chart,
            "--set",
            "tikv.pdAddresses={pd-0.tikv:2379,pd-1.tikv:2379}",
            "--set",
            "serviceMonitor.enabled=true",
        ],
    )
    .unwrap();
    let rendered = objects(&existing);
    assert!(!has(&rendered, "StatefulSet", "acs-kube-acs-tikv"));
    assert!(has(&rendered, "ServiceMonitor", "acs-kube-acs"));
    assert!(existing.contains("value: \"tikv://pd-0.tikv:2379,pd-1.tikv:2379\""));

    // values.schema.json refuses bad values with a clear message.
    let refused = run(
        &helm,
        &["template", "acs", &chart, "--set", "edge.cpeAuth=kerberos"],
    )
    .expect_err("an unknown CPE auth mode is refused");
    assert!(refused.contains("cpeAuth"), "{refused}");
    let refused = run(
        &helm,
        &["template", "acs", &chart, "--set", "edge.cpeAuth=digest"],
    )
    .expect_err("digest without credentials is refused");
    assert!(refused.contains("cpeCredentialsSecret"), "{refused}");

    // The kustomize base is the chart's rendering, kept up to date by manifests/generate.sh.
    let generated = run(
        &helm,
        &[
            "template",
            "kube-acs",
            &chart,
            "--namespace",
            "kube-acs",
            "--skip-crds",
        ],
    )
    .unwrap();
    let committed = std::fs::read_to_string(root().join("manifests/base/kube-acs.yaml")).unwrap();
    assert_eq!(
        committed.split_once('\n').map(|(_, rest)| rest),
        Some(generated.as_str()),
        "manifests/base/kube-acs.yaml is stale: run manifests/generate.sh"
    );

    // Everything installs on a real API server (CRDs first, then a server-side dry run).
    kube.kubectl(&[
        "apply",
        "--server-side",
        "-f",
        &root()
            .join("charts/kube-acs/crds/kubeacs.io.yaml")
            .display()
            .to_string(),
    ])
    .expect("CRDs install");
    kube.kubectl(&["create", "namespace", "kube-acs"]).unwrap();
    kube.kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/devices.kubeacs.io",
        "--timeout=30s",
    ])
    .unwrap();
    for overlay in ["base", "overlays/existing-tikv", "overlays/small"] {
        let dir = root().join("manifests").join(overlay);
        let built = run(&kubectl, &["kustomize", &dir.display().to_string()])
            .unwrap_or_else(|e| panic!("kustomize {overlay}: {e}"));
        let objects = objects(&built);
        assert!(has(&objects, "Deployment", "kube-acs-edge"), "{overlay}");
        match overlay {
            "overlays/existing-tikv" => {
                assert!(!has(&objects, "StatefulSet", "kube-acs-tikv"));
                assert!(built.contains("tikv://pd-0.tikv.example.svc:2379"));
            }
            "overlays/small" => {
                assert!(!objects.iter().any(|(k, _)| k == "PodDisruptionBudget"));
            }
            _ => assert!(has(&objects, "StatefulSet", "kube-acs-tikv")),
        }
        let file = kube
            .dir()
            .join(format!("{}.yaml", overlay.replace('/', "-")));
        std::fs::write(&file, &built).unwrap();
        kube.kubectl(&[
            "apply",
            "--server-side",
            "--dry-run=server",
            "-f",
            &file.display().to_string(),
        ])
        .unwrap_or_else(|e| panic!("{overlay} refused by the API server: {e}"));
    }
    let file = kube.dir().join("chart.yaml");
    std::fs::write(&file, &default).unwrap();
    kube.kubectl(&[
        "apply",
        "--server-side",
        "--dry-run=server",
        "-n",
        "kube-acs",
        "-f",
        &file.display().to_string(),
    ])
    .expect("the chart's objects are accepted");
}
