//! End-to-end tests of `kube-acs standalone` over real HTTP on loopback: a test CPE talks CWMP
//! to the real binary, and the northbound API is driven with a real HTTP client.

mod common;

use std::time::Duration;

use common::{run_task, Acs, ConnectionRequestListener, Cpe};
use cwmp::{Body, CwmpVersion, EventCode};
use serde_json::{json, Value};

async fn start() -> (tempfile::TempDir, Acs) {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &["--task-retry-delay", "0"]).await;
    (dir, acs)
}

fn param<'a>(device: &'a Value, name: &str) -> &'a Value {
    &device["parameters"][name]["value"][0]
}

/// Runs a task through a connection request and checks that it is done at once.
async fn run_task_done(
    acs: &Acs,
    cpe: &mut Cpe,
    cr: &mut ConnectionRequestListener,
    task: Value,
) -> Value {
    let (status, task) = run_task(acs, cpe, cr, task).await;
    assert_eq!(
        (status, task["status"].as_str()),
        (200, Some("done")),
        "{task}"
    );
    task
}

/// The device as the API shows it.
async fn stored_device(acs: &Acs, cpe: &Cpe) -> Value {
    acs.get(&format!("/api/v1/devices/{}", cpe.device_id()))
        .await
        .1
}

#[tokio::test]
async fn bootstrap_then_periodic_inform_stores_the_device() {
    let (_dir, acs) = start().await;
    let mut cpe = Cpe::new(&acs.cwmp, "BOOT0001", "http://127.0.0.1:9/");
    assert!(
        cpe.session().await.is_empty(),
        "nothing queued for a new device"
    );

    let (status, device) = acs
        .get(&format!("/api/v1/devices/{}", cpe.device_id()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(device["identity"]["serialNumber"], "BOOT0001");
    assert_eq!(param(&device, "Device.DeviceInfo.SoftwareVersion"), "1.0.0");
    assert_eq!(device["lastEvents"], json!(["0 BOOTSTRAP", "1 BOOT"]));
    let first_inform = device["lastInform"].as_u64().unwrap();

    tokio::time::sleep(Duration::from_millis(5)).await;
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    cpe.parameters
        .get_mut("Device.DeviceInfo.SoftwareVersion")
        .unwrap()
        .value = "1.0.1".into();
    cpe.session().await;
    let device = stored_device(&acs, &cpe).await;
    assert_eq!(device["lastEvents"], json!(["2 PERIODIC"]));
    assert!(device["lastInform"].as_u64().unwrap() > first_inform);
    assert_eq!(param(&device, "Device.DeviceInfo.SoftwareVersion"), "1.0.1");

    let (status, list) = acs.get("/api/v1/devices").await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, found) = acs
        .get("/api/v1/devices?parameter=Device.DeviceInfo.SerialNumber&value=BOOT0001")
        .await;
    assert_eq!(
        found.as_array().map(Vec::len),
        Some(0),
        "SerialNumber not reported in the Inform yet"
    );
}

#[tokio::test]
async fn get_set_refresh_and_objects_through_the_api() {
    let (_dir, acs) = start().await;
    let mut cr = ConnectionRequestListener::start().await;
    let mut cpe = Cpe::new(&acs.cwmp, "GETSET01", &cr.url);
    cpe.session().await;

    run_task_done(
        &acs,
        &mut cpe,
        &mut cr,
        json!({"name": "getParameterValues", "parameterNames": ["Device.WiFi."]}),
    )
    .await;
    let (_, device) = acs
        .get(&format!(
            "/api/v1/devices/{}?parameters=Device.WiFi.",
            cpe.device_id()
        ))
        .await;
    assert_eq!(param(&device, "Device.WiFi.SSID.1.SSID"), "home");
    assert!(
        device["parameters"]
            .get("Device.DeviceInfo.SoftwareVersion")
            .is_none(),
        "filtered by prefix"
    );

    run_task_done(
        &acs,
        &mut cpe,
        &mut cr,
        json!({"name": "setParameterValues", "parameterValues": [
            {"name": "Device.WiFi.SSID.1.SSID", "value": "kube-acs", "type": "xsd:string"},
            {"name": "Device.WiFi.SSID.1.Enable", "value": "false", "type": "xsd:boolean"}]}),
    )
    .await;
    assert_eq!(cpe.parameters["Device.WiFi.SSID.1.SSID"].value, "kube-acs");
    let device = stored_device(&acs, &cpe).await;
    assert_eq!(param(&device, "Device.WiFi.SSID.1.SSID"), "kube-acs");
    assert_eq!(
        device["parameters"]["Device.WiFi.SSID.1.Enable"]["value"][1],
        "xsd:boolean"
    );

    // Refresh the whole tree: names (with writability) then values.
    run_task_done(
        &acs,
        &mut cpe,
        &mut cr,
        json!({"name": "getParameterNames", "parameterPath": "Device."}),
    )
    .await;
    let device = stored_device(&acs, &cpe).await;
    assert_eq!(
        device["parameters"]["Device.DeviceInfo.UpTime"]["writable"],
        false
    );
    assert_eq!(
        device["parameters"]["Device.WiFi.SSID.1.SSID"]["writable"],
        true
    );
    assert_eq!(
        device["parameters"]["Device.IP.Interface.1."]["object"],
        true
    );
    assert_eq!(param(&device, "Device.DeviceInfo.UpTime"), "42");

    // AddObject with values, then DeleteObject.
    let task = run_task_done(
        &acs,
        &mut cpe,
        &mut cr,
        json!({"name": "addObject", "objectName": "Device.IP.Interface.",
               "parameterValues": [{"name": "Alias", "value": "iptv"}]}),
    )
    .await;
    assert_eq!(task["result"]["instanceNumber"], 2);
    assert_eq!(cpe.parameters["Device.IP.Interface.2.Alias"].value, "iptv");
    let device = stored_device(&acs, &cpe).await;
    assert_eq!(param(&device, "Device.IP.Interface.2.Alias"), "iptv");

    run_task_done(
        &acs,
        &mut cpe,
        &mut cr,
        json!({"name": "deleteObject", "objectName": "Device.IP.Interface.2."}),
    )
    .await;
    assert!(!cpe.parameters.contains_key("Device.IP.Interface.2.Alias"));
    let device = stored_device(&acs, &cpe).await;
    assert!(device["parameters"]
        .get("Device.IP.Interface.2.Alias")
        .is_none());
    assert!(device["parameters"]
        .get("Device.IP.Interface.1.Alias")
        .is_some());

    // A parameter the device no longer has is dropped by the next full listing of its subtree,
    // and nothing outside that subtree is.
    cpe.parameters.remove("Device.IP.Interface.1.Alias");
    run_task_done(
        &acs,
        &mut cpe,
        &mut cr,
        json!({"name": "getParameterNames", "parameterPath": "Device.IP."}),
    )
    .await;
    let device = stored_device(&acs, &cpe).await;
    let parameters = &device["parameters"];
    assert!(parameters.get("Device.IP.Interface.1.Alias").is_none());
    assert_eq!(parameters["Device.IP.Interface.1."]["object"], true);
    assert!(parameters.get("Device.IP.").is_some());
    assert_eq!(param(&device, "Device.WiFi.SSID.1.SSID"), "kube-acs");
    assert_eq!(param(&device, "Device.DeviceInfo.UpTime"), "42");
}

#[tokio::test]
async fn reboot_completes_when_the_device_comes_back() {
    let (_dir, acs) = start().await;
    let mut cr = ConnectionRequestListener::start().await;
    let mut cpe = Cpe::new(&acs.cwmp, "REBOOT01", &cr.url);
    cpe.session().await;
    let (status, task) = run_task(&acs, &mut cpe, &mut cr, json!({"name": "reboot"})).await;
    assert_eq!(
        status, 202,
        "a reboot waits for the device to come back: {task}"
    );
    assert_eq!(task["status"], "awaitingCompletion");
    let id = task["id"].as_str().unwrap().to_string();
    assert!(
        matches!(cpe.received.last(), Some(Body::Reboot { command_key }) if *command_key == id)
    );

    // The device reboots and informs with M Reboot and its command key.
    assert_eq!(cpe.pending_events[0], (EventCode::MReboot, id.clone()));
    cpe.session().await;
    let (_, task) = acs.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["status"], "done");
}

#[tokio::test]
async fn download_finishes_at_transfer_complete_and_failures_are_retried() {
    let (dir, acs) = start().await;
    std::fs::write(dir.path().join("files").join("fw-2.0.bin"), vec![7u8; 4096]).unwrap();
    let mut cr = ConnectionRequestListener::start().await;
    let mut cpe = Cpe::new(&acs.cwmp, "DLOAD001", &cr.url);
    cpe.session().await;

    let download = json!({"name": "download", "fileType": "1 Firmware Upgrade Image",
        "url": format!("{}/fw-2.0.bin", acs.files), "fileSize": 4096, "targetFileName": "2.0.0"});
    let (status, task) = run_task(&acs, &mut cpe, &mut cr, download.clone()).await;
    assert_eq!(status, 202, "{task}");
    assert_eq!(task["status"], "awaitingCompletion");
    let id = task["id"].as_str().unwrap().to_string();
    // The device installs the image and comes back with TransferComplete.
    cpe.session().await;
    let (_, task) = acs.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["status"], "done", "{task}");
    let device = stored_device(&acs, &cpe).await;
    assert_eq!(param(&device, "Device.DeviceInfo.SoftwareVersion"), "2.0.0");

    // A corrupted image: TransferComplete with 9018 faults the task, which is retried.
    cpe.download_fault = 9018;
    let (_, task) = run_task(&acs, &mut cpe, &mut cr, download).await;
    let id = task["id"].as_str().unwrap().to_string();
    cpe.session().await;
    let (_, task) = acs.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["status"], "pending", "{task}");
    assert_eq!(task["attempts"], 1);
    assert_eq!(task["fault"]["code"], 9018);
    let (_, faults) = acs
        .get(&format!("/api/v1/devices/{}/faults", cpe.device_id()))
        .await;
    assert_eq!(faults[0]["fault"]["code"], 9018);
    assert_eq!(faults[0]["taskId"], id.as_str());

    // An upgrade the device made on its own is recorded with the others.
    cpe.pending_autonomous = Some(cwmp::AutonomousTransferComplete {
        announce_url: String::new(),
        transfer_url: "http://vendor.example/fw-2.1.bin".into(),
        is_download: true,
        file_type: "1 Firmware Upgrade Image".into(),
        file_size: 8192,
        target_file_name: "fw-2.1.bin".into(),
        fault: cwmp::FaultStruct::default(),
        start_time: "2026-12-01T02:00:00Z".into(),
        complete_time: "2026-12-01T02:01:00Z".into(),
    });
    cpe.session().await;
    let (status, transfers) = acs
        .get(&format!("/api/v1/devices/{}/transfers", cpe.device_id()))
        .await;
    assert_eq!(status, 200, "{transfers}");
    let transfers = transfers.as_array().unwrap();
    assert_eq!(transfers.len(), 3, "{transfers:?}");
    let summary: Vec<(bool, Value, Value)> = transfers
        .iter()
        .map(|t| {
            (
                t["autonomous"].as_bool().unwrap(),
                t["fault"]["code"].clone(),
                t["url"].clone(),
            )
        })
        .collect();
    let fw = json!(format!("{}/fw-2.0.bin", acs.files));
    assert_eq!(
        summary,
        vec![
            (false, Value::Null, fw.clone()),
            (false, json!(9018), fw),
            (true, Value::Null, json!("http://vendor.example/fw-2.1.bin")),
        ]
    );
    assert_eq!(transfers[1]["taskId"], id.as_str());
    assert_eq!(transfers[2]["completeTime"], "2026-12-01T02:01:00Z");
    let (status, _) = acs.get("/api/v1/devices/nobody/transfers").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_cpe_fault_fails_the_task_and_is_retried_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(
        dir.path(),
        &["--task-retry-delay", "0", "--task-max-attempts", "2"],
    )
    .await;
    let mut cr = ConnectionRequestListener::start().await;
    let mut cpe = Cpe::new(&acs.cwmp, "FAULT001", &cr.url);
    cpe.session().await;
    // The device is busy (9002, internal error): a fault that may pass, so it is retried.
    // (Faults that can never succeed fail at once: tests/provisioning.rs.)
    cpe.set_values_fault = 9002;
    let set_ssid = json!({"name": "setParameterValues", "parameterValues": [
        {"name": "Device.WiFi.SSID.1.SSID", "value": "busy"}]});
    let (status, task) = run_task(&acs, &mut cpe, &mut cr, set_ssid).await;
    assert_eq!(status, 202, "{task}");
    assert_eq!(task["status"], "pending");
    assert_eq!(task["attempts"], 1);
    assert_eq!(task["fault"]["code"], 9002);
    let id = task["id"].as_str().unwrap().to_string();

    // Retried at the next session, faults again, and fails for good at the limit.
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    let answered = cpe.session().await;
    assert_eq!(answered.len(), 1, "retried once");
    let (_, task) = acs.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["status"], "failed");
    assert_eq!(task["attempts"], 2);
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    assert!(
        cpe.session().await.is_empty(),
        "a failed task is not sent again"
    );

    let (_, faults) = acs
        .get(&format!("/api/v1/devices/{}/faults", cpe.device_id()))
        .await;
    assert_eq!(faults.as_array().unwrap().len(), 2);
    let (_, all_faults) = acs.get("/api/v1/faults?limit=1").await;
    assert_eq!(all_faults, json!([faults[0]]), "global listing, paged");
    let first_fault = faults[0]["id"].as_str().unwrap();
    let (_, rest) = acs
        .get(&format!("/api/v1/faults?after={first_fault}"))
        .await;
    assert_eq!(rest, json!([faults[1]]));
    let (status, _) = acs
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/faults/{first_fault}"),
        )
        .await;
    assert_eq!(status, 204);
    let (_, all_tasks) = acs.get("/api/v1/tasks").await;
    assert_eq!(all_tasks.as_array().unwrap().len(), 1);
    assert_eq!(all_tasks[0]["id"], id.as_str());

    // Retry through the API makes it pending again; delete removes it.
    let (status, task) = acs
        .post(&format!("/api/v1/tasks/{id}/retry"), &json!({}))
        .await;
    assert_eq!((status, task["status"].as_str()), (200, Some("pending")));
    let (status, _) = acs
        .send(reqwest::Method::DELETE, &format!("/api/v1/tasks/{id}"))
        .await;
    assert_eq!(status, 204);
    let (status, _) = acs.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn unreachable_devices_get_a_clear_task_state() {
    let (_dir, acs) = start().await;
    let mut cpe = Cpe::new(
        &acs.cwmp,
        "NOCR0001",
        &format!("http://127.0.0.1:{}/", common::free_port()),
    );
    cpe.session().await;
    let (status, task) = acs
        .post(
            &format!(
                "/api/v1/devices/{}/tasks?connectionRequest=true",
                cpe.device_id()
            ),
            &json!({"name": "reboot"}),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(task["connectionRequest"]["state"], "unreachable");
    assert!(
        task["connectionRequest"]["error"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{task}"
    );
    // The task still runs at the device's next inform.
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    assert!(matches!(
        cpe.session().await.as_slice(),
        [Body::Reboot { .. }]
    ));
}

#[tokio::test]
async fn schedule_download_windows_are_relative_to_the_session_and_expire() {
    let (_dir, acs) = start().await;
    let mut cpe = Cpe::new(&acs.cwmp, "SCHED001", "http://127.0.0.1:9/");
    cpe.session().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let task = |windows: Value| {
        json!({"name": "scheduleDownload", "fileType": "1 Firmware Upgrade Image",
            "url": "http://files.example/fw-3.0.bin", "timeWindows": windows})
    };
    let tasks = format!("/api/v1/devices/{}/tasks", cpe.device_id());
    // Windows that close before they open, or overlap, are refused.
    for bad in [
        json!([]),
        json!([{"opens": now + 10_000, "closes": now}]),
        json!([{"opens": now, "closes": now + 10_000}, {"opens": now + 5_000, "closes": now + 20_000}]),
    ] {
        let (status, error) = acs.post(&tasks, &task(bad)).await;
        assert_eq!(status, 400, "{error}");
    }
    let (status, expired) = acs
        .post(
            &tasks,
            &task(json!([{"opens": now - 20_000, "closes": now - 10_000}])),
        )
        .await;
    assert_eq!(status, 202, "{expired}");
    let (status, due) = acs
        .post(
            &tasks,
            &task(json!([{"opens": now + 3_600_000, "closes": now + 7_200_000}])),
        )
        .await;
    assert_eq!(status, 202, "{due}");
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    let sent = cpe.session().await;
    // Only the one still to come is sent, with its window in seconds from now.
    let [Body::ScheduleDownload(request)] = sent.as_slice() else {
        panic!("unexpected requests {sent:?}");
    };
    assert_eq!(request.command_key, due["id"].as_str().unwrap());
    let window = &request.time_windows[0];
    assert!((3590..=3600).contains(&window.window_start), "{window:?}");
    // Whole seconds, rounded inwards.
    assert!((3599..=3600).contains(&(window.window_end - window.window_start)));
    let (_, expired) = acs
        .get(&format!(
            "/api/v1/tasks/{}",
            expired["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(expired["status"], "failed", "{expired}");
    assert_eq!(expired["fault"]["code"], 9020);
}

#[tokio::test]
async fn api_rejects_bad_input_with_json_errors() {
    let (_dir, acs) = start().await;
    let mut cpe = Cpe::new(&acs.cwmp, "APIBAD01", "http://127.0.0.1:9/");
    cpe.session().await;
    let tasks = format!("{}/api/v1/devices/{}/tasks", acs.api, cpe.device_id());
    let client = reqwest::Client::new();
    for (body, expected) in [
        ("{not json", 400),
        (r#"{"name": "noSuchTask"}"#, 400),
        (
            r#"{"name": "setParameterValues", "parameterValues": []}"#,
            400,
        ),
        (
            r#"{"name": "addObject", "objectName": "Device.IP.Interface"}"#,
            400,
        ),
    ] {
        let response = client
            .post(&tasks)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}: {error}"
        );
    }
    let (status, error) = acs
        .post("/api/v1/devices/nope/tasks", &json!({"name": "reboot"}))
        .await;
    assert_eq!(status, 404);
    assert!(error["error"].as_str().unwrap().contains("nope"));
    let (status, _) = acs.get("/api/v1/devices?tag=a&parameter=b&value=c").await;
    assert_eq!(status, 400);
    let (status, _) = acs
        .get("/api/v1/devices?parameter=Device.Not.Indexed&value=1")
        .await;
    assert_eq!(status, 400);
    let (status, _) = acs.get("/api/v1/nothing-here").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn tags_search_and_delete() {
    let (_dir, acs) = start().await;
    let mut a = Cpe::new(&acs.cwmp, "TAG00001", "http://127.0.0.1:9/");
    let mut b = Cpe::new(&acs.cwmp, "TAG00002", "http://127.0.0.1:9/");
    a.session().await;
    b.session().await;
    let (status, device) = acs
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/devices/{}/tags/lab", a.device_id()),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(device["tags"], json!(["lab"]));
    let (_, found) = acs.get("/api/v1/devices?tag=lab").await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], a.device_id().as_str());
    let (_, found) = acs
        .get("/api/v1/devices?parameter=Device.DeviceInfo.SoftwareVersion&value=1.0.0")
        .await;
    assert_eq!(
        found.as_array().unwrap().len(),
        2,
        "search by an indexed parameter value"
    );
    acs.send(
        reqwest::Method::DELETE,
        &format!("/api/v1/devices/{}/tags/lab", a.device_id()),
    )
    .await;
    let (_, found) = acs.get("/api/v1/devices?tag=lab").await;
    assert_eq!(found.as_array().unwrap().len(), 0);

    let (status, _) = acs
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/devices/{}", b.device_id()),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = acs.get(&format!("/api/v1/devices/{}", b.device_id())).await;
    assert_eq!(status, 404);
    let (_, found) = acs
        .get("/api/v1/devices?parameter=Device.DeviceInfo.SoftwareVersion&value=1.0.0")
        .await;
    assert_eq!(
        found.as_array().unwrap().len(),
        1,
        "index entries removed with the device"
    );
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let (_dir, acs) = start().await;
    let (status, doc) = acs.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/devices",
        "/api/v1/devices/{id}",
        "/api/v1/devices/{id}/tags/{tag}",
        "/api/v1/devices/{id}/tasks",
        "/api/v1/devices/{id}/faults",
        "/api/v1/devices/{id}/connection-request",
        "/api/v1/tasks/{id}",
        "/api/v1/tasks/{id}/retry",
        "/api/v1/faults/{id}",
        "/api/v1/tasks",
        "/api/v1/faults",
        "/api/v1/devices/{id}/cwmp-credentials",
    ] {
        assert!(paths.contains_key(path), "{path} documented");
    }
    let metrics = reqwest::get(format!("{}/metrics", acs.api))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("kubeacs_cwmp_active_sessions"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_cwmp_1_0_device_is_answered_in_cwmp_1_0_and_may_drop_cookies() {
    let (_dir, acs) = start().await;
    let mut cr = ConnectionRequestListener::start().await;
    let mut cpe = Cpe::new(&acs.cwmp, "OLD00001", &cr.url);
    cpe.version = CwmpVersion::V1_0;
    cpe.drop_cookies = true;
    let inform = cpe.inform();
    let (status, reply) = cpe.post(Some(inform)).await;
    assert_eq!(status, 200);
    let reply = reply.unwrap();
    assert_eq!(reply.version, CwmpVersion::V1_0);
    assert_eq!(reply.header.id.as_deref(), Some("cpe-2"));
    let (status, _) = cpe.post(None).await;
    assert_eq!(status, 204);

    // A whole task round trip without cookies, on one keep-alive connection.
    run_task_done(
        &acs,
        &mut cpe,
        &mut cr,
        json!({"name": "getParameterValues", "parameterNames": ["Device.DeviceInfo.UpTime"]}),
    )
    .await;
}

#[tokio::test]
async fn malformed_truncated_and_oversized_messages_are_refused_and_others_still_served() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &["--max-body-bytes", "65536"]).await;
    let mut cpe = Cpe::new(&acs.cwmp, "BADXML01", "http://127.0.0.1:9/");
    let inform = cwmp::encode(&cpe.inform());
    for (name, body, expected) in [
        ("garbage", b"this is not xml".to_vec(), 400),
        ("truncated", inform[..inform.len() / 2].to_vec(), 400),
        (
            "not soap",
            b"<?xml version=\"1.0\"?><html><body/></html>".to_vec(),
            400,
        ),
        ("oversized", vec![b' '; 70_000], 413),
    ] {
        let (status, _) = cpe.post_raw(body).await;
        assert_eq!(status, expected, "{name}");
    }
    // An unknown method inside an envelope gets a CWMP fault 8000 with the request's ID.
    let unknown = br#"<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">77</cwmp:ID></soap-env:Header><soap-env:Body><cwmp:Frobnicate/></soap-env:Body></soap-env:Envelope>"#;
    let (status, reply) = cpe.post_raw(unknown.to_vec()).await;
    assert_eq!(status, 200);
    let reply = reply.unwrap();
    assert_eq!(reply.header.id.as_deref(), Some("77"));
    assert!(matches!(reply.body, Body::Fault(ref f) if f.detail.code == 8000));
    // The server still serves a normal session.
    cpe.session().await;
    let (status, _) = acs
        .get(&format!("/api/v1/devices/{}", cpe.device_id()))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn five_hundred_devices_in_concurrent_sessions() {
    let (_dir, acs) = start().await;
    let mut sessions = Vec::new();
    for n in 0..500 {
        let url = acs.cwmp.clone();
        sessions.push(tokio::spawn(async move {
            let mut cpe = Cpe::new(&url, &format!("FLEET{n:05}"), "http://127.0.0.1:9/");
            cpe.session().await;
            cpe.pending_events = vec![(EventCode::Periodic, String::new())];
            cpe.session().await;
        }));
    }
    for session in sessions {
        session.await.expect("every session completes");
    }
    let (_, devices) = acs.get("/api/v1/devices?limit=1000").await;
    assert_eq!(devices.as_array().unwrap().len(), 500);
    assert!(devices
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["lastEvents"] == json!(["2 PERIODIC"])));
}

#[tokio::test]
async fn store_survives_a_kill_and_restart() {
    let (_dir, mut acs) = start().await;
    let mut cpe = Cpe::new(&acs.cwmp, "RESTART1", "http://127.0.0.1:9/");
    cpe.session().await;
    let id = acs
        .queue(
            &cpe.device_id(),
            &json!({"name": "getParameterValues", "parameterNames": ["Device.DeviceInfo."]}),
        )
        .await;

    acs.restart().await; // SIGKILL, then start again on the same data directory.
    let (status, device) = acs
        .get(&format!("/api/v1/devices/{}", cpe.device_id()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(param(&device, "Device.DeviceInfo.SoftwareVersion"), "1.0.0");
    let (_, task) = acs.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["status"], "pending");
    // And the queued task runs at the next session.
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    assert!(matches!(
        cpe.session().await.as_slice(),
        [Body::GetParameterValues { .. }]
    ));
    let (_, task) = acs.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["status"], "done");
}
