//! kube-acs in cluster mode against real parts: etcd and kube-apiserver (with kubectl and
//! helm) and a TiKV-protocol cluster (PD + unistore), all local processes. The chart is
//! installed with helm (CRDs and RBAC); two `kube-acs operator` replicas and two
//! `kube-acs edge --kubernetes` processes run with the chart's ServiceAccount identities, and
//! a simulated fleet informs through the edges. Everything is asserted through kubectl, the
//! kube client and the northbound API.

mod cluster_harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use acs_e2e::User;
use cluster_harness::{
    condition, eventually, install, kubectl_json, leader, start_edge, start_operator, TENANT,
};
use cpe_sim::fleet::{BatchReport, Fleet, FleetConfig};
use cpe_sim::inform::Trigger;
use cpe_sim::model::Model;
use cpe_sim::template::IdentityConfig;
use crds::{ConfigProfile, Device, DeviceTask, FirmwareRollout};
use kube::api::{Api, ListParams};
use serde_json::Value;

const OTHER_TENANT: &str = "tenant-b";
const DEVICES: u32 = 24;
/// The device declared in tenant-b; every other one lands in tenant-a.
const OTHER_DEVICE: u32 = 23;
const TENANT_DEVICES: usize = DEVICES as usize - 1;
const SSID: &str = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID";

async fn batch(fleet: &Arc<Fleet>, trigger: Trigger) -> BatchReport {
    let deadline = Instant::now() + Duration::from_secs(120);
    fleet
        .run_batch((0..DEVICES).collect(), trigger, 8, deadline)
        .await
}

const RESOURCES: &str = r#"
apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {name: gateways, namespace: tenant-a}
spec:
  parameters:
  - {name: DeviceInfo.ProductClass, operator: Equals, value: SimGW}
---
apiVersion: kubeacs.io/v1alpha1
kind: ConfigProfile
metadata: {name: wifi, namespace: tenant-a}
spec:
  groups: [gateways]
  parameters:
  - {name: InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID, value: "acs-{{ serialNumber }}"}
"#;

const OTHER_TENANT_RESOURCES: &str = r#"
apiVersion: kubeacs.io/v1alpha1
kind: Device
metadata: {name: gateway-23, namespace: tenant-b}
spec:
  identity: {oui: 02C0DE, productClass: SimGW, serialNumber: SIM00000023}
---
apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {name: gateways, namespace: tenant-b}
spec:
  parameters:
  - {name: DeviceInfo.ProductClass, operator: Equals, value: SimGW}
---
apiVersion: kubeacs.io/v1alpha1
kind: ConfigProfile
metadata: {name: wifi, namespace: tenant-b}
spec:
  groups: [gateways]
  parameters:
  - {name: InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID, value: tenant-b}
"#;

const ROLLOUT: &str = r#"apiVersion: kubeacs.io/v1alpha1
kind: FirmwareRollout
metadata: {name: gw-upgrade, namespace: tenant-a}
spec:
  firmware: gw-2.0.0
  target: {group: gateways}
  strategy:
    canary: {count: 2}
    steps: [{percent: 100}]
    maxInFlight: 2
    ratePerMinute: 120
"#;

const REBOOT: &str = r#"
apiVersion: kubeacs.io/v1alpha1
kind: DeviceTask
metadata: {name: reboot-gateways, namespace: tenant-a}
spec:
  target: {group: gateways}
  action: {name: reboot}
  run: Now
  maxConcurrent: 2
  connectionRequestsPerMinute: 240
"#;

const INVALID_GROUP: &str = r#"
apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {name: nothing, namespace: tenant-a}
spec: {}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operator_and_edges_on_a_real_api_server() {
    // The chart: CRDs, ServiceAccounts and least-privilege RBAC.
    let (_tikv, store, kube) = install(&[User::new("alice")], &[TENANT, OTHER_TENANT]).await;
    let crds = kube.kubectl(&["get", "crd", "-o", "name"]).unwrap();
    for kind in ["devices", "devicegroups", "configprofiles", "devicetasks"] {
        assert!(crds.contains(&format!("{kind}.kubeacs.io")), "{crds}");
    }

    // Invalid resources are refused at admission with the CEL rule's message.
    let refused = kube
        .kubectl_stdin(&["apply", "-f", "-"], INVALID_GROUP)
        .expect_err("an empty group is refused");
    assert!(
        refused.to_string().contains(
            "a group needs at least one of parent, selector, parameters, customer or members"
        ),
        "{refused}"
    );

    let edges = vec![
        start_edge(&kube, &store, "edge-a").await,
        start_edge(&kube, &store, "edge-b").await,
    ];
    let files_url = edges[0].files.clone();
    let mut operators = [
        start_operator(&kube, &store, "operator-a", &files_url, 1),
        start_operator(&kube, &store, "operator-b", &files_url, 1),
    ];
    let first_leader = eventually("a leader", Duration::from_secs(30), || async {
        let holder = leader(&kube);
        (!holder.is_empty()).then_some(holder)
    })
    .await;

    // A group and a profile: the fleet's first sessions provision it (zero-touch), and the
    // devices become Device resources (discovered) that turn Ready.
    kube.kubectl_stdin(&["apply", "-f", "-"], RESOURCES)
        .unwrap();
    let client = kube.client("admin").await.unwrap();
    kube.kubectl_stdin(&["apply", "-f", "-"], OTHER_TENANT_RESOURCES)
        .unwrap();
    let admin = Nbi::new(&edges[0].api, &kube.token("admin"));
    eventually(
        "the edges to see the profiles",
        Duration::from_secs(30),
        || {
            let admin = admin.clone();
            async move {
                let (_, profiles) = admin.get("/api/v1/resources/configprofiles").await;
                (profiles.as_array()?.len() == 2).then_some(())
            }
        },
    )
    .await;
    let cr = cpe_sim::cr_listener::bind(([127, 0, 0, 1], 0).into()).unwrap();
    let identity = IdentityConfig {
        acs_url: format!("{},{}", edges[0].cwmp, edges[1].cwmp),
        cr_base_url: format!("http://{}/cr/", cr.local_addr().unwrap()),
        ..IdentityConfig::default()
    };
    let fleet = Fleet::new(FleetConfig::new(
        Model::load("tr098").unwrap(),
        identity,
        DEVICES,
    ))
    .await
    .unwrap();
    let _cr = cpe_sim::cr_listener::serve(cr, fleet.clone());
    let boot = batch(&fleet, Trigger::Pending).await;
    assert_eq!(
        (boot.ok, boot.failed),
        (u64::from(DEVICES), 0),
        "{:?}",
        fleet.stats().errors()
    );
    // Namespaces are tenants: the device declared in tenant-b gets tenant-b's profile only.
    for index in 0..DEVICES {
        let serial = fleet.config().identity.serial(index);
        let expected = if index == OTHER_DEVICE {
            "tenant-b".to_string()
        } else {
            format!("acs-{serial}")
        };
        assert_eq!(fleet.value(index, SSID), Some(expected));
    }
    let devices: Api<Device> = Api::namespaced(client.clone(), TENANT);
    eventually(
        "Device resources for the fleet",
        Duration::from_secs(60),
        || {
            let devices = devices.clone();
            async move {
                let list = devices.list(&ListParams::default()).await.ok()?;
                (list.items.len() == TENANT_DEVICES).then_some(())
            }
        },
    )
    .await;
    kube.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "devices",
        "--all",
        "-n",
        TENANT,
        "--timeout=60s",
    ])
    .expect("every Device turns Ready");
    let device = kubectl_json(&kube, &["get", "devices", "-n", TENANT]);
    let first = &device["items"][0];
    assert_eq!(
        first["metadata"]["finalizers"][0],
        "kubeacs.io/device-state"
    );
    assert_eq!(first["metadata"]["labels"]["kubeacs.io/discovered"], "true");
    assert_eq!(first["status"]["softwareVersion"], "1.0.0");
    assert_eq!(first["status"]["observedGeneration"], 1);
    kube.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "configprofile/wifi",
        "-n",
        TENANT,
        "--timeout=60s",
    ])
    .expect("the profile turns Ready");
    let profile = kubectl_json(&kube, &["get", "configprofile", "wifi", "-n", TENANT]);
    assert_eq!(profile["status"]["appliedDevices"], TENANT_DEVICES);
    assert_eq!(condition(&profile, "Reconciling"), None);

    // Editing the profile re-provisions the devices at their next contact; the profile is
    // Ready again once all of them have the new generation.
    kube.kubectl(&[
        "patch",
        "configprofile",
        "wifi",
        "-n",
        TENANT,
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/parameters/0/value","value":"v2-{{ serialNumber }}"}]"#,
    ])
    .unwrap();
    // `kubectl wait` started right after the edit waits for the edit: it does not return
    // while no device has informed since, and returns once they all have.
    let wait = {
        let kubectl = kube.binaries().kubectl.clone();
        let kubeconfig = kube.kubeconfig("admin");
        std::thread::spawn(move || {
            let out = std::process::Command::new(kubectl)
                .args(["wait", "--for=condition=Ready", "configprofile/wifi"])
                .args(["-n", TENANT, "--timeout=120s"])
                .env("KUBECONFIG", kubeconfig)
                .output()
                .unwrap();
            (Instant::now(), out)
        })
    };
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        !wait.is_finished(),
        "kubectl wait returned before any device had the edit"
    );
    let profiles: Api<ConfigProfile> = Api::namespaced(client.clone(), TENANT);
    let status = profiles.get("wifi").await.unwrap().status.unwrap();
    assert_eq!(status.observed_generation, Some(2));
    assert!(status
        .conditions
        .iter()
        .any(|c| c.type_ == "Reconciling" && c.status == "True"));
    let informed = Instant::now();
    let periodic = batch(&fleet, Trigger::Periodic).await;
    assert_eq!(periodic.failed, 0, "{:?}", fleet.stats().errors());
    let (returned, out) = wait.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(returned > informed);
    for index in (0..DEVICES).filter(|i| *i != OTHER_DEVICE) {
        let serial = fleet.config().identity.serial(index);
        assert_eq!(fleet.value(index, SSID), Some(format!("v2-{serial}")));
    }

    // Each device's connection-request credentials, through the northbound API.
    for index in 0..DEVICES {
        let (username, password) = fleet.cr_credentials(index);
        let id = fleet.config().identity.device_id(index);
        let status = admin
            .put(
                &format!("/api/v1/devices/{id}/connection-request"),
                &serde_json::json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(status, 204);
    }

    // A DeviceTask reboots the group, two devices at a time; the leading operator is killed
    // mid-way: the other replica takes over and every device is rebooted exactly once.
    kube.kubectl_stdin(&["apply", "-f", "-"], REBOOT).unwrap();
    let tasks: Api<DeviceTask> = Api::namespaced(client.clone(), TENANT);
    eventually("the reboot under way", Duration::from_secs(60), || {
        let tasks = tasks.clone();
        async move {
            let status = tasks.get("reboot-gateways").await.ok()?.status?;
            (status.succeeded >= 2).then_some(())
        }
    })
    .await;
    let killed = operators
        .iter()
        .position(|o| o.identity == first_leader)
        .expect("the leader is one of ours");
    operators[killed].process.kill();
    let survivor = &operators[1 - killed];
    eventually(
        "the other replica to lead",
        Duration::from_secs(30),
        || async { (leader(&kube) == survivor.identity).then_some(()) },
    )
    .await;
    let done = eventually("the reboot complete", Duration::from_secs(120), || {
        let tasks = tasks.clone();
        async move {
            let status = tasks.get("reboot-gateways").await.ok()?.status?;
            status.completion_time.is_some().then_some(status)
        }
    })
    .await;
    assert_eq!(
        (done.succeeded, done.failed, done.pending, done.running),
        (TENANT_DEVICES as u64, 0, 0, 0),
        "{}",
        operators[1 - killed].process.log()
    );
    let (status, results) = admin
        .get("/api/v1/namespaces/tenant-a/devicetasks/reboot-gateways/results")
        .await;
    assert_eq!(status, 200, "{results}");
    let other_edge = Nbi::new(&edges[1].api, &kube.token("admin"));
    for index in 0..DEVICES {
        let id = fleet.config().identity.device_id(index);
        let (_, tasks) = other_edge.get(&format!("/api/v1/devices/{id}/tasks")).await;
        let reboots = tasks
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["spec"]["name"] == "reboot")
            .count();
        let expected = usize::from(index != OTHER_DEVICE);
        assert_eq!(reboots, expected, "device {id}: {tasks}\nrun: {results}");
    }
    let events = kube
        .kubectl(&[
            "get",
            "events",
            "-n",
            TENANT,
            "-o",
            "jsonpath={.items[*].reason}",
        ])
        .unwrap();
    for reason in ["Discovered", "Provisioned", "Applied", "Completed"] {
        assert!(events.contains(reason), "event {reason} in: {events}");
    }
    let metrics = reqwest::get(&operators[1 - killed].metrics)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("kubeacs_operator_reconciles_total{kind=\"Device\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("kubeacs_operator_leader 1"), "{metrics}");

    // Deleting a Device removes its state from the store (the finalizer), then the resource.
    let gone = fleet.config().identity.device_id(0);
    let name = device["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["spec"]["identity"]["serialNumber"] == fleet.config().identity.serial(0))
        .unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = admin.get(&format!("/api/v1/devices/{gone}")).await;
    assert_eq!(status, 200);
    kube.kubectl(&["delete", "device", &name, "-n", TENANT, "--timeout=60s"])
        .expect("the Device is deleted once its state is");
    let (status, _) = other_edge.get(&format!("/api/v1/devices/{gone}")).await;
    assert_eq!(status, 404, "the device's state is gone from the store");
    assert!(devices.get_opt(&name).await.unwrap().is_none());

    // Namespaces are tenants: alice may edit kube-acs resources in tenant-a only.
    kube.kubectl(&[
        "create",
        "rolebinding",
        "alice-edit",
        "--clusterrole=kube-acs-edit",
        "--user=alice",
        "-n",
        TENANT,
    ])
    .unwrap();
    let as_alice = |args: &[&str]| kube.kubectl_output("alice", args).unwrap();
    let own = as_alice(&["get", "devices", "-n", TENANT, "-o", "name"]);
    assert!(
        own.status.success(),
        "{}",
        String::from_utf8_lossy(&own.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&own.stdout).lines().count(),
        TENANT_DEVICES - 1
    );
    for args in [
        &["get", "devices", "-n", OTHER_TENANT][..],
        &["get", "devices", "--all-namespaces"][..],
        &["delete", "configprofile", "wifi", "-n", OTHER_TENANT][..],
    ] {
        let out = as_alice(args);
        assert!(!out.status.success(), "alice {args:?} must be refused");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Forbidden"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The same through the northbound API: alice's token reaches her tenant's devices only.
    let alice = Nbi::new(&edges[1].api, &kube.token("alice"));
    let mine = fleet.config().identity.device_id(1);
    let theirs = fleet.config().identity.device_id(OTHER_DEVICE);
    let (status, device) = alice.get(&format!("/api/v1/devices/{mine}")).await;
    assert_eq!(status, 200, "{device}");
    let (status, error) = alice.get(&format!("/api/v1/devices/{theirs}")).await;
    assert_eq!(status, 403, "{error}");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("namespace tenant-b"),
        "{error}"
    );
    let (status, _) = alice.get("/api/v1/devices").await;
    assert_eq!(status, 403, "listing every namespace's devices");
    let queued = alice
        .post(
            &format!("/api/v1/devices/{theirs}/tasks"),
            &serde_json::json!({"name": "reboot"}),
        )
        .await;
    assert_eq!(queued, 403);
    let (status, _) = Nbi::new(&edges[1].api, "not-a-token")
        .get(&format!("/api/v1/devices/{mine}"))
        .await;
    assert_eq!(status, 401);
    let anonymous = reqwest::get(format!("{}/api/v1/devices/{mine}", edges[1].api))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // A firmware rollout in two waves, two devices at a time; the leading operator is killed
    // in the middle (a replica restarted meanwhile takes over), and no device is upgraded
    // twice.
    operators[killed] = start_operator(
        &kube,
        &store,
        &operators[killed].identity.clone(),
        &files_url,
        1,
    );
    let image: Vec<u8> = (0..30_000u32).map(|i| (i % 239) as u8).collect();
    std::fs::create_dir_all(&edges[0].files_dir).unwrap();
    std::fs::write(edges[0].files_dir.join("2.0.0.bin"), &image).unwrap();
    let sha256: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&image)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let rollout_yaml = format!(
        "apiVersion: kubeacs.io/v1alpha1\nkind: Firmware\nmetadata: {{name: gw-2.0.0, namespace: tenant-a}}\nspec: {{version: \"2.0.0\", file: 2.0.0.bin, size: {}, sha256: {sha256}}}\n---\n{ROLLOUT}",
        image.len()
    );
    kube.kubectl_stdin(&["apply", "-f", "-"], &rollout_yaml)
        .unwrap();
    let rollouts: Api<FirmwareRollout> = Api::namespaced(client.clone(), TENANT);
    eventually("the rollout under way", Duration::from_secs(60), || {
        let rollouts = rollouts.clone();
        async move {
            let status = rollouts.get("gw-upgrade").await.ok()?.status?;
            (status.succeeded >= 3).then_some(())
        }
    })
    .await;
    let leading = leader(&kube);
    let leading = operators
        .iter()
        .position(|o| o.identity == leading)
        .expect("the leader is one of ours");
    operators[leading].process.kill();
    let done = eventually("the rollout complete", Duration::from_secs(120), || {
        let rollouts = rollouts.clone();
        async move {
            let status = rollouts.get("gw-upgrade").await.ok()?.status?;
            (status.phase == "Complete").then_some(status)
        }
    })
    .await;
    // Device 0's state was deleted above: 22 devices of tenant-a are in the store.
    let upgraded = TENANT_DEVICES as u64 - 1;
    assert_eq!(
        (done.succeeded, done.failed, done.total),
        (upgraded, 0, upgraded),
        "{done:?}"
    );
    assert_eq!(done.waves, 2);
    for index in (1..DEVICES).filter(|i| *i != OTHER_DEVICE) {
        let id = fleet.config().identity.device_id(index);
        let version = fleet.value(index, "InternetGatewayDevice.DeviceInfo.SoftwareVersion");
        assert_eq!(version.as_deref(), Some("2.0.0"), "device {id}");
        let (_, tasks) = admin.get(&format!("/api/v1/devices/{id}/tasks")).await;
        let downloads = tasks
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["spec"]["name"] == "download")
            .count();
        assert_eq!(downloads, 1, "device {id} downloaded once: {tasks}");
    }
    // Every device fetched the image once from edge-a's file server, counted in its Firmware.
    let firmwares: Api<crds::Firmware> = Api::namespaced(client.clone(), TENANT);
    eventually(
        "the downloads counted in the Firmware",
        Duration::from_secs(30),
        || {
            let firmwares = firmwares.clone();
            async move {
                let status = firmwares.get("gw-2.0.0").await.ok()?.status?;
                (status.downloads == upgraded).then_some(())
            }
        },
    )
    .await;
    let reasons = kube
        .kubectl(&[
            "get",
            "events",
            "-n",
            TENANT,
            "--field-selector",
            "involvedObject.name=gw-upgrade",
            "-o",
            "jsonpath={.items[*].reason}",
        ])
        .unwrap();
    for reason in ["WaveStarted", "Complete"] {
        assert!(reasons.contains(reason), "event {reason} in: {reasons}");
    }
    drop(edges);
}

/// The northbound API of one edge, called with a bearer token.
#[derive(Clone)]
struct Nbi {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Nbi {
    fn new(base: &str, token: &str) -> Nbi {
        Nbi {
            base: base.to_string(),
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn put(&self, path: &str, body: &Value) -> u16 {
        let request = self.http.put(format!("{}{path}", self.base));
        let response = request
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }

    async fn post(&self, path: &str, body: &Value) -> u16 {
        let request = self.http.post(format!("{}{path}", self.base));
        let response = request
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }
}
