//! What a user sees without reading the log, against the real `kube-acs` binary: resources
//! refused at load listed by the API and `kube-acs get`, profiles that cannot apply, rollouts
//! that cannot start, `kube-acs get --watch`, help texts and the startup line; and a rollout
//! served with the default files URL, end to end with cpe-sim.

mod common;

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Acs, Cpe};
use serde_json::{json, Value};

/// Runs `kube-acs` with `args`; returns whether it succeeded, its stdout and its stderr.
fn kube_acs(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kube-acs"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `kube-acs get <kind>` against `acs`: its table.
fn get(acs: &Acs, kind: &str) -> String {
    let (ok, table, errors) = kube_acs(&["get", kind, "--api", &acs.api]);
    assert!(ok, "{table}{errors}");
    table
}

/// The line of the table that starts with `name` and a space.
fn row<'t>(table: &'t str, name: &str) -> &'t str {
    table
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no row {name}:\n{table}"))
}

/// The listed resource named `name`.
fn item<'l>(listing: &'l Value, name: &str) -> &'l Value {
    listing
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {listing}"))
}

fn ready(item: &Value) -> &Value {
    item["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()
}

/// Polls `check` every 200 ms until it holds, up to `timeout`.
async fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn start(resources: &Path, data: &Path, extra: &[&str]) -> Acs {
    let mut args = vec!["--resources", resources.to_str().unwrap()];
    args.extend_from_slice(extra);
    Acs::start(data, &args).await
}

const GROUP: &str = "apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {name: homegw}
spec:
  parameters:
  - {name: DeviceInfo.ProductClass, operator: Equals, value: HomeGW}
";

#[tokio::test]
async fn refused_documents_and_missing_groups_are_shown_by_the_api_and_kube_acs_get() {
    let dir = tempfile::tempdir().unwrap();
    let resources = dir.path().join("resources");
    std::fs::create_dir_all(&resources).unwrap();
    let profile = |name: &str, groups: &str, value: &str| {
        format!("apiVersion: kubeacs.io/v1alpha1\nkind: ConfigProfile\nmetadata: {{name: {name}}}\nspec:\n  groups: [{groups}]\n  parameters:\n  - {{name: Device.WiFi.SSID.1.SSID, value: '{value}'}}\n")
    };
    let lab = [
        GROUP.to_string(),
        profile("wifi", "homegw", "lab-{{ serialNumber }}"),
        profile("typo", "homegw", "lab-{{ serialnumber }}"),
        profile("orphan", "homegw, gateways", "x"),
        "apiVersion: kubeacs.io/v1alpha1\nkind: ConfigProfile\nspec:\n  groups: [homegw]\n"
            .to_string(),
    ]
    .join("---\n");
    std::fs::write(resources.join("lab.yaml"), lab).unwrap();
    std::fs::write(resources.join("broken.yaml"), "kind: [unclosed\n").unwrap();
    let acs = start(&resources, &dir.path().join("data"), &[]).await;

    let (status, profiles) = acs.get("/api/v1/resources/configprofiles").await;
    assert_eq!(status, 200, "{profiles}");
    let wifi = ready(item(&profiles, "wifi"));
    assert_eq!(wifi["status"], "True", "{wifi}");
    // A template naming an unknown fact: refused at load, the known names suggested.
    let typo = ready(item(&profiles, "typo"));
    assert_eq!(
        (&typo["status"], &typo["reason"]),
        (&json!("False"), &json!("Invalid"))
    );
    let message = typo["message"].as_str().unwrap();
    assert!(
        message.starts_with("lab.yaml (document 3): ConfigProfile/typo: template of Device.WiFi.SSID.1.SSID: unknown fact \"serialnumber\"; known facts, closest first: serialNumber, "),
        "{message}"
    );
    // A profile naming a group that does not exist is not Ready, and says which.
    let orphan = ready(item(&profiles, "orphan"));
    assert_eq!(
        (&orphan["status"], &orphan["reason"], &orphan["message"]),
        (
            &json!("False"),
            &json!("GroupNotFound"),
            &json!("DeviceGroup \"gateways\" does not exist")
        )
    );
    // Without a name: `<file>#<document>` under its kind.
    let nameless = ready(item(&profiles, "lab.yaml#5"));
    assert!(
        nameless["message"]
            .as_str()
            .unwrap()
            .contains("(document 5): ConfigProfile: metadata.name is required"),
        "{nameless}"
    );
    // Of no known kind: under every kind, documents counted from 1.
    let broken = ready(item(&profiles, "broken.yaml#1"));
    assert!(
        broken["message"]
            .as_str()
            .unwrap()
            .starts_with("broken.yaml (document 1): invalid YAML"),
        "{broken}"
    );
    let (_, groups) = acs.get("/api/v1/resources/devicegroups").await;
    item(&groups, "broken.yaml#1");
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["metadata"]["name"] != "typo"),
        "{groups}"
    );
    assert!(!acs.log().contains("document 0"), "{}", acs.log());

    let table = get(&acs, "cp");
    assert!(
        row(&table, "typo")
            .contains("   Invalid: lab.yaml (document 3): ConfigProfile/typo: template of"),
        "{table}"
    );
    assert!(
        row(&table, "broken.yaml#1").contains("   Invalid: broken.yaml (document 1): invalid YAML"),
        "{table}"
    );
    let orphan: Vec<&str> = row(&table, "orphan").split_whitespace().collect();
    assert_eq!(orphan, ["orphan", "0", "0", "0", "0", "False"], "{table}");
    assert!(row(&get(&acs, "dt"), "broken.yaml#1").contains("Invalid: "));
}

#[tokio::test]
async fn help_lists_every_kind_unknown_kinds_are_errors_and_the_startup_line_says_how_to_reach_it()
{
    let kinds = [
        ("Device", "devices", "dev"),
        ("DeviceGroup", "devicegroups", "dg"),
        ("ConfigProfile", "configprofiles", "cp"),
        ("DeviceTask", "devicetasks", "dt"),
        ("Firmware", "firmwares", "fw"),
        ("FirmwareRollout", "firmwarerollouts", "fwr"),
    ];
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let (ok, help, _) = kube_acs(&["get", "--help"]);
    assert!(ok);
    for (kind, plural, short) in kinds {
        assert!(
            words(&help).contains(&format!("{kind} ({plural}, {short})")),
            "{kind}: {help}"
        );
    }
    assert!(help.contains("--watch"), "{help}");
    let (ok, help, _) = kube_acs(&["standalone", "--help"]);
    assert!(ok);
    assert!(
        words(&help).contains(
            "YAML of Device, DeviceGroup, ConfigProfile, DeviceTask, Firmware and FirmwareRollout"
        ),
        "{help}"
    );
    // An unknown kind is an error naming the kinds (it used to list DeviceTasks).
    let (ok, out, errors) = kube_acs(&["get", "profiles", "--api", "http://127.0.0.1:9"]);
    assert!(!ok, "{out}");
    assert!(
        words(&errors).contains("unknown kind \"profiles\"; the kinds are Device (devices, dev)")
            && words(&errors).contains("FirmwareRollout (firmwarerollouts, fwr)"),
        "{errors}"
    );

    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(&dir.path().join("data"), &[]).await;
    let files_port = acs.files.rsplit(':').next().unwrap();
    let ready_line = acs
        .log()
        .lines()
        .find(|l| l.contains("ready"))
        .unwrap()
        .to_string();
    assert!(
        ready_line.contains(&format!("files_url=http://127.0.0.1:{files_port}"))
            && ready_line.contains("api_auth=none"),
        "{ready_line}"
    );
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(&dir.path().join("data"), &["--files-listen", "0.0.0.0:0"]).await;
    let files_port = acs.files.rsplit(':').next().unwrap();
    assert!(
        acs.log()
            .contains(&format!("files_url=http://<cwmp-address>:{files_port}")),
        "{}",
        acs.log()
    );
}

/// Reads a child's stdout lines into a shared list, as they come.
fn collect_lines(stdout: std::process::ChildStdout) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

#[tokio::test]
async fn get_watch_prints_a_row_again_each_time_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let resources = dir.path().join("resources");
    std::fs::create_dir_all(&resources).unwrap();
    std::fs::write(resources.join("group.yaml"), GROUP).unwrap();
    let acs = start(&resources, &dir.path().join("data"), &[]).await;
    let mut watch = Command::new(env!("CARGO_BIN_EXE_kube-acs"))
        .args(["get", "dg", "-w", "--api", &acs.api])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = collect_lines(watch.stdout.take().unwrap());
    let cells = |line: &str| {
        line.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let seen = |wanted: Vec<&'static str>| {
        let lines = lines.clone();
        async move || {
            let lines = lines.lock().unwrap();
            lines.iter().position(|l| cells(l) == wanted)
        }
    };
    let timeout = Duration::from_secs(20);
    let header = eventually(
        "the header",
        timeout,
        seen(vec!["NAME", "PARENT", "MEMBERS", "READY"]),
    )
    .await;
    let first = eventually(
        "the first row",
        timeout,
        seen(vec!["homegw", "<none>", "0", "True"]),
    )
    .await;
    assert_eq!((header, first), (0, 1));

    // A device joins the group: its row is printed again, once.
    let mut cpe = Cpe::new(&acs.cwmp, "W1", "http://127.0.0.1:9/");
    cpe.session().await;
    let joined = eventually(
        "one member",
        timeout,
        seen(vec!["homegw", "<none>", "1", "True"]),
    )
    .await;
    assert_eq!(joined, 2);
    let mut cpe = Cpe::new(&acs.cwmp, "W2", "http://127.0.0.1:9/");
    cpe.session().await;
    eventually(
        "two members",
        timeout,
        seen(vec!["homegw", "<none>", "2", "True"]),
    )
    .await;
    // A document refused while watching shows up as a row of its own.
    std::fs::write(resources.join("bad.yaml"), "kind: [unclosed\n").unwrap();
    let lines_now = lines.clone();
    eventually("the refused document", timeout, async || {
        let lines = lines_now.lock().unwrap();
        lines
            .iter()
            .any(|l| l.starts_with("bad.yaml#1 ") && l.contains("Invalid: bad.yaml (document 1)"))
            .then_some(())
    })
    .await;
    // Unchanged rows are not printed again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let printed = lines.lock().unwrap().clone();
    assert_eq!(printed.len(), 5, "{printed:#?}");
    assert!(watch.try_wait().unwrap().is_none(), "the watch goes on");
    watch.kill().unwrap();
    watch.wait().unwrap();
}

const ROLLOUTS: &str = "apiVersion: kubeacs.io/v1alpha1
kind: DeviceGroup
metadata: {name: gateways}
spec:
  parameters:
  - {name: DeviceInfo.ProductClass, operator: Equals, value: SimGW}
---
apiVersion: kubeacs.io/v1alpha1
kind: FirmwareRollout
metadata: {name: early}
spec:
  firmware: gw-9.9.9
  target: {group: gateways}
---
apiVersion: kubeacs.io/v1alpha1
kind: FirmwareRollout
metadata: {name: gw-upgrade}
spec:
  firmware: gw-2.0.0
  target: {group: gateways}
  strategy:
    canary: {count: 1}
    steps: [{percent: 100}]
    ratePerMinute: 1200
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_runs_with_the_default_files_url_and_one_that_cannot_start_says_why() {
    const DEVICES: u32 = 3;
    let dir = tempfile::tempdir().unwrap();
    let resources = dir.path().join("resources");
    std::fs::create_dir_all(&resources).unwrap();
    let data = dir.path().join("data");
    // The file server on every address, as by default: no --files-url.
    let acs = start(&resources, &data, &["--files-listen", "0.0.0.0:0"]).await;
    // Kept to the end: the devices answer the rollout's connection requests.
    let _devices = common::SimulatedFleet::boot(&acs, DEVICES, 4).await;
    let image: Vec<u8> = (0..20_000u32).map(|i| (i % 233) as u8).collect();
    std::fs::write(data.join("files").join("2.0.0.bin"), &image).unwrap();
    let firmware = format!(
        "apiVersion: kubeacs.io/v1alpha1\nkind: Firmware\nmetadata: {{name: gw-2.0.0}}\nspec:\n  version: \"2.0.0\"\n  file: 2.0.0.bin\n  size: {}\n  compatible: {{productClasses: [SimGW, SimONT]}}\n---\n",
        image.len()
    );
    std::fs::write(
        resources.join("rollout.yaml"),
        format!("{firmware}{ROLLOUTS}"),
    )
    .unwrap();

    let rollout_status = |name: &'static str| {
        let acs = &acs;
        async move || {
            let (_, rollouts) = acs.get("/api/v1/resources/firmwarerollouts").await;
            let rollout = rollouts
                .as_array()?
                .iter()
                .find(|r| r["metadata"]["name"] == name)?;
            Some(rollout["status"].clone())
        }
    };
    let complete = eventually(
        "the rollout complete",
        Duration::from_secs(90),
        async || {
            let status = rollout_status("gw-upgrade")().await?;
            (status["phase"] == "Complete").then_some(status)
        },
    )
    .await;
    assert_eq!(complete["succeeded"], DEVICES, "{complete}");
    assert_eq!(complete["wave"], "2/2", "{complete}");
    // The devices fetched the image from the file server at the address they reach the ACS at.
    let (_, firmwares) = acs.get("/api/v1/resources/firmwares").await;
    assert_eq!(item(&firmwares, "gw-2.0.0")["status"]["downloads"], DEVICES);

    // The rollout whose Firmware does not exist says why, in `kube-acs get fwr` too.
    let early = rollout_status("early")().await.unwrap();
    assert_eq!(early["phase"], "Pending", "{early}");
    let table = get(&acs, "fwr");
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "FIRMWARE",
            "WAVE",
            "SUCCEEDED",
            "FAILED",
            "TOTAL",
            "PHASE",
            "READY",
            "MESSAGE"
        ]
    );
    let early: Vec<&str> = row(&table, "early").split_whitespace().collect();
    assert_eq!(
        early[6..].join(" "),
        "Pending False Firmware \"gw-9.9.9\" does not exist",
        "{table}"
    );
    let done: Vec<&str> = row(&table, "gw-upgrade").split_whitespace().collect();
    assert_eq!(
        done[..8],
        [
            "gw-upgrade",
            "gw-2.0.0",
            "2/2",
            "3",
            "0",
            "3",
            "Complete",
            "True"
        ],
        "{table}"
    );
    assert_eq!(
        done[8..].join(" "),
        "wave 2 of 2: 3 succeeded, 0 failed, 0 skipped of 3",
        "the WAVE column and the message agree: {table}"
    );
    // Logged once, not at every tick.
    let log = acs.log();
    assert_eq!(
        log.matches("firmware rollout cannot start: its Firmware does not exist")
            .count(),
        1,
        "{log}"
    );
    // `get fw` shows the product classes the Firmware lists.
    let firmwares = get(&acs, "fw");
    let firmware_row: Vec<&str> = row(&firmwares, "gw-2.0.0").split_whitespace().collect();
    assert_eq!(
        firmware_row[..4],
        ["gw-2.0.0", "2.0.0", "SimGW,SimONT", "20000"]
    );
    // The "resources loaded" line counts every kind.
    let loaded = log
        .lines()
        .rfind(|l| l.contains("resources loaded"))
        .unwrap();
    assert!(
        loaded.contains("groups=1")
            && loaded.contains("firmwares=1")
            && loaded.contains("rollouts=2"),
        "{loaded}"
    );
}
