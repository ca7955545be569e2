//! Session behaviour over real HTTP: idle sessions expire without losing tasks, one session per
//! device, diagnostics results fetched after `8 DIAGNOSTICS COMPLETE`, and CWMP over HTTPS.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Acs, Cpe};
use cwmp::{Body, EventCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn an_idle_session_expires_and_its_task_runs_at_the_next_session() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &["--session-timeout", "1"]).await;
    let mut cpe = Cpe::new(&acs.cwmp, "IDLE0001", "http://127.0.0.1:9/");
    cpe.session().await;
    let id = acs
        .queue(
            &cpe.device_id(),
            &json!({"name": "getParameterValues", "parameterNames": ["Device.DeviceInfo.UpTime"]}),
        )
        .await;

    // The device takes the request and then goes silent.
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    let inform = cpe.inform();
    assert_eq!(cpe.post(Some(inform)).await.0, 200);
    let (status, request) = cpe.post(None).await;
    assert_eq!(status, 200);
    assert!(matches!(
        request.unwrap().body,
        Body::GetParameterValues { .. }
    ));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Its session is gone: a late empty POST with the old cookie just ends.
    assert_eq!(cpe.post(None).await.0, 204);
    let (_, task) = acs.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(
        (task["status"].as_str(), task["attempts"].as_u64()),
        (Some("pending"), Some(0))
    );
    let metrics = reqwest::get(format!("{}/metrics", acs.api))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"kubeacs_cwmp_sessions_total{outcome="expired"} 1"#),
        "{metrics}"
    );

    // The next session delivers the task.
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    assert_eq!(cpe.session().await.len(), 1);
    let (_, task) = acs.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["status"], "done");
}

#[tokio::test]
async fn a_new_inform_displaces_the_devices_abandoned_session() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &[]).await;
    let mut first = Cpe::new(&acs.cwmp, "TWICE001", "http://127.0.0.1:9/");
    let inform = first.inform();
    assert_eq!(first.post(Some(inform)).await.0, 200);

    // The same device opens a new session (it gave up on the first one).
    let mut second = Cpe::new(&acs.cwmp, "TWICE001", "http://127.0.0.1:9/");
    second.pending_events = vec![(EventCode::Periodic, String::new())];
    second.session().await;
    // The abandoned session no longer exists.
    assert_eq!(first.post(None).await.0, 204);
    let metrics = reqwest::get(format!("{}/metrics", acs.api))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains(r#"outcome="displaced"} 1"#), "{metrics}");
    assert!(
        metrics.contains("kubeacs_cwmp_active_sessions 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn diagnostics_results_are_fetched_after_diagnostics_complete() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &[]).await;
    let mut cpe = Cpe::new(&acs.cwmp, "DIAG0001", "http://127.0.0.1:9/");
    cpe.session().await;
    acs.post(
        &format!("/api/v1/devices/{}/tasks", cpe.device_id()),
        &json!({"name": "setParameterValues", "parameterValues": [
            {"name": "Device.IP.Diagnostics.IPPing.Host", "value": "192.0.2.1"},
            {"name": "Device.IP.Diagnostics.IPPing.DiagnosticsState", "value": "Requested"}]}),
    )
    .await;
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    cpe.session().await;

    // The device runs the ping and reports completion.
    cpe.parameters
        .get_mut("Device.IP.Diagnostics.IPPing.SuccessCount")
        .unwrap()
        .value = "3".into();
    cpe.parameters
        .get_mut("Device.IP.Diagnostics.IPPing.DiagnosticsState")
        .unwrap()
        .value = "Complete".into();
    cpe.pending_events = vec![(EventCode::DiagnosticsComplete, String::new())];
    let requests = cpe.session().await;
    assert_eq!(
        requests,
        vec![Body::GetParameterValues {
            names: vec!["Device.IP.Diagnostics.IPPing.".into()]
        }]
    );
    let (_, device) = acs
        .get(&format!(
            "/api/v1/devices/{}?parameters=Device.IP.Diagnostics.",
            cpe.device_id()
        ))
        .await;
    let results = &device["parameters"];
    assert_eq!(
        results["Device.IP.Diagnostics.IPPing.SuccessCount"]["value"][0],
        "3"
    );
    assert_eq!(
        results["Device.IP.Diagnostics.IPPing.DiagnosticsState"]["value"][0],
        "Complete"
    );
}

#[tokio::test]
async fn cwmp_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.key_pair.serialize_pem()).unwrap();
    let data = dir.path().join("data");
    let acs = Acs::start(
        &data,
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    )
    .await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let port = acs
        .cwmp
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .expect("TLS handshake with the ACS");

    let mut cpe = Cpe::new("https://localhost/", "TLS00001", "http://127.0.0.1:9/");
    let inform = cwmp::encode(&cpe.inform());
    let head = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        inform.len()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(&inform).await.unwrap();
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("InformResponse"), "{response}");
    let (status, _) = acs
        .get(&format!("/api/v1/devices/{}", cpe.device_id()))
        .await;
    assert_eq!(status, 200);
}
