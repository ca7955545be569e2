//! What an operator follows in the log at `info`: a device's first contact, tasks done, faulted
//! and failed, one line each; a storm of the same warning from many devices folded into one.

mod common;

use common::{Acs, Cpe};
use serde_json::json;

/// The log lines that contain every one of `parts`.
fn lines_with(log: &str, parts: &[&str]) -> Vec<String> {
    log.lines()
        .filter(|line| parts.iter().all(|part| line.contains(part)))
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn first_contact_and_task_outcomes_are_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &[]).await;
    let mut cpe = Cpe::new(&acs.cwmp, "LOG0001", "http://127.0.0.1:9/");
    let device = cpe.device_id();

    cpe.session().await;
    cpe.session().await;
    let first = lines_with(&acs.log(), &["first contact", &device]);
    assert_eq!(first.len(), 1, "one first-contact line: {first:?}");
    assert!(first[0].contains("INFO"), "{}", first[0]);
    assert!(first[0].contains("product_class=HomeGW"), "{}", first[0]);

    let done = acs
        .queue(
            &device,
            &json!({"name": "getParameterValues", "parameterNames": ["Device.DeviceInfo.SoftwareVersion"]}),
        )
        .await;
    let failed = acs
        .queue(
            &device,
            &json!({"name": "getParameterValues", "parameterNames": ["Device.NoSuchObject.Value"]}),
        )
        .await;
    cpe.session().await;
    // A second session must not repeat what the first one logged.
    cpe.session().await;

    let log = acs.log();
    let done_lines = lines_with(&log, &["task done", &done]);
    assert_eq!(done_lines.len(), 1, "{log}");
    assert!(
        done_lines[0].contains("kind=getParameterValues"),
        "{}",
        done_lines[0]
    );
    assert!(done_lines[0].contains(&device), "{}", done_lines[0]);
    // An invalid name can never succeed: it fails at once, with the fault named.
    let failed_lines = lines_with(&log, &["task failed", &failed]);
    assert_eq!(failed_lines.len(), 1, "{log}");
    assert!(failed_lines[0].contains("WARN"), "{}", failed_lines[0]);
    assert!(failed_lines[0].contains("code=9005"), "{}", failed_lines[0]);
}

#[tokio::test]
async fn a_download_fault_that_is_retried_is_logged_as_such() {
    // The device cannot fetch the file (nothing listens there): 9016, which may pass.
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &[]).await;
    let mut cpe = Cpe::new(&acs.cwmp, "LOG0002", "http://127.0.0.1:9/");
    cpe.session().await;
    let task = acs
        .queue(
            &cpe.device_id(),
            &json!({"name": "download", "fileType": "1 Firmware Upgrade Image", "url": "http://127.0.0.1:9/fw.bin"}),
        )
        .await;
    cpe.session().await;
    cpe.session().await;
    let log = acs.log();
    let faulted = lines_with(&log, &["task faulted", &task]);
    assert_eq!(faulted.len(), 1, "{log}");
    assert!(faulted[0].contains("code=9016"), "{}", faulted[0]);
    assert!(faulted[0].contains("attempts=1"), "{}", faulted[0]);
    assert!(
        lines_with(&log, &["task failed", &task]).is_empty(),
        "{log}"
    );
}

#[tokio::test]
async fn a_storm_of_the_same_warning_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(
        dir.path(),
        &[
            "--cpe-auth",
            "basic",
            "--cpe-username",
            "acs",
            "--cpe-password",
            "right",
        ],
    )
    .await;
    for n in 0..25 {
        let mut cpe = Cpe::new(&acs.cwmp, &format!("STORM{n:03}"), "http://127.0.0.1:9/");
        cpe.basic_auth = Some(("acs".into(), "wrong".into()));
        let inform = cpe.inform();
        let (status, _) = cpe.post(Some(inform)).await;
        assert_eq!(status, 401);
    }
    let log = acs.log();
    let lines = lines_with(&log, &["CPE authentication failed"]);
    assert_eq!(lines.len(), 1, "25 refusals, one line: {lines:?}");
    assert!(
        lines[0].contains("STORM000"),
        "the first one is named: {}",
        lines[0]
    );
}
