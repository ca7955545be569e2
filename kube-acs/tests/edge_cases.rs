//! Edge cases found while documenting: tasks queued during a session, authentication probes,
//! invalid ids, secrets in API answers, answers to deleted tasks, wrong methods.

mod common;

use common::{Acs, Cpe};
use cwmp::{Body, EventCode};
use serde_json::{json, Value};

#[tokio::test]
async fn a_task_queued_during_a_session_runs_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &[]).await;
    let mut cpe = Cpe::new(&acs.cwmp, "INSESS01", "http://127.0.0.1:9/");
    cpe.session().await;

    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    let inform = cpe.inform();
    assert_eq!(cpe.post(Some(inform)).await.0, 200);
    let (status, task) = acs
        .post(
            &format!(
                "/api/v1/devices/{}/tasks?connectionRequest=true",
                cpe.device_id()
            ),
            &json!({"name": "getParameterValues", "parameterNames": ["Device.DeviceInfo.UpTime"]}),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(task["connectionRequest"]["state"], "inSession", "{task}");
    let (status, request) = cpe.post(None).await;
    assert_eq!(status, 200, "the task is sent in the open session");
    let request = request.unwrap();
    assert!(matches!(request.body, Body::GetParameterValues { .. }));
    assert_eq!(cpe.reply_to(request).await.0, 204);
    let (_, task) = acs
        .get(&format!("/api/v1/tasks/{}", task["id"].as_str().unwrap()))
        .await;
    assert_eq!(task["status"], "done");
}

#[tokio::test]
async fn an_empty_post_probe_gets_the_challenge_when_authentication_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(
        dir.path(),
        &[
            "--cpe-auth",
            "digest",
            "--cpe-username",
            "u",
            "--cpe-password",
            "p",
        ],
    )
    .await;
    let probe = reqwest::Client::new().post(&acs.cwmp).send().await.unwrap();
    assert_eq!(probe.status().as_u16(), 401);
    assert!(probe.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Digest "));
}

#[tokio::test]
async fn api_answers_invalid_ids_wrong_methods_and_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &[]).await;
    let mut cpe = Cpe::new(&acs.cwmp, "SECRET01", "http://127.0.0.1:9/");
    cpe.session().await;

    let (status, error) = acs.get("/api/v1/devices/a%2Fb").await;
    assert_eq!(status, 400, "{error}");
    let long = "x".repeat(600);
    let (status, _) = acs
        .get(&format!(
            "/api/v1/devices?parameter=Device.DeviceInfo.SoftwareVersion&value={long}"
        ))
        .await;
    assert_eq!(status, 400);
    let (status, error) = acs
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/devices/{}", cpe.device_id()),
        )
        .await;
    assert_eq!(status, 405);
    assert!(error["error"].as_str().is_some(), "{error}");

    let client = reqwest::Client::new();
    let set = client
        .put(format!(
            "{}/api/v1/devices/{}/connection-request",
            acs.api,
            cpe.device_id()
        ))
        .json(&json!({"username": "cr", "password": "s3cret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status().as_u16(), 204);
    let (_, device) = acs
        .get(&format!("/api/v1/devices/{}", cpe.device_id()))
        .await;
    assert_eq!(device["connectionRequest"]["username"], "cr");
    assert_ne!(device["connectionRequest"]["password"], "s3cret");
    let (_, list) = acs.get("/api/v1/devices").await;
    assert!(!list.to_string().contains("s3cret"), "{list}");
}

#[tokio::test]
async fn the_answer_to_a_deleted_task_is_still_stored() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &[]).await;
    let mut cpe = Cpe::new(&acs.cwmp, "DELTASK1", "http://127.0.0.1:9/");
    cpe.session().await;
    let id = acs
        .queue(
            &cpe.device_id(),
            &json!({"name": "getParameterValues", "parameterNames": ["Device.DeviceInfo.UpTime"]}),
        )
        .await;
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    let inform = cpe.inform();
    cpe.post(Some(inform)).await;
    let (_, request) = cpe.post(None).await;
    let request = request.unwrap();
    let (status, _) = acs
        .send(reqwest::Method::DELETE, &format!("/api/v1/tasks/{id}"))
        .await;
    assert_eq!(status, 204);
    cpe.parameters
        .get_mut("Device.DeviceInfo.UpTime")
        .unwrap()
        .value = "99999".into();
    assert_eq!(cpe.reply_to(request).await.0, 204);
    let (_, device): (u16, Value) = acs
        .get(&format!("/api/v1/devices/{}", cpe.device_id()))
        .await;
    assert_eq!(
        device["parameters"]["Device.DeviceInfo.UpTime"]["value"][0],
        "99999"
    );
    let (status, _) = acs.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(status, 404, "the deleted task stays deleted");
}
