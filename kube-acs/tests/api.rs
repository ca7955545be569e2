//! The northbound API against a real `kube-acs standalone`: waiting calls that end when the
//! connection request fails, the documented limits of `limit` and `timeout`, and the files
//! API (upload, list, checksum, download through the file server, delete).

mod common;

use std::time::{Duration, Instant};

use common::{Acs, Cpe};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A connection-request endpoint that answers every request with 401 and a Basic challenge:
/// it refuses whatever credentials the ACS sends.
async fn refusing_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Basic realm=\"cpe\"")],
        )
    });
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}/cr")
}

/// A connection-request endpoint that accepts connections and never answers.
async fn silent_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    format!("http://{address}/cr")
}

/// A URL where nothing listens (connection refused).
fn closed_endpoint() -> String {
    format!("http://127.0.0.1:{}/cr", common::free_port())
}

/// Queues a task with a connection request and a 30 s wait; the answer and how long it took.
async fn queue_and_wait(acs: &Acs, device: &str) -> (u16, Value, Duration) {
    let started = Instant::now();
    let (status, task) = acs
        .post(
            &format!("/api/v1/devices/{device}/tasks?connectionRequest=true&timeout=30"),
            &json!({"name": "reboot"}),
        )
        .await;
    (status, task, started.elapsed())
}

#[tokio::test]
async fn a_waiting_call_answers_as_soon_as_the_connection_request_fails() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &[]).await;
    let endpoints = [
        ("CRREFUSED", closed_endpoint(), "device unreachable"),
        ("CRDENIED", refusing_endpoint().await, "credentials"),
        ("CRSILENT", silent_endpoint().await, "no answer within 5s"),
    ];
    let mut devices = Vec::new();
    for (serial, url, _) in &endpoints {
        let mut cpe = Cpe::new(&acs.cwmp, serial, url);
        cpe.session().await;
        devices.push(cpe.device_id());
    }
    let answers = futures_join(&acs, &devices).await;
    for ((serial, _, reason), (status, task, took)) in endpoints.iter().zip(answers) {
        assert!(
            took < Duration::from_secs(12),
            "{serial}: answered after {took:?}, not at the connection request's failure"
        );
        assert_eq!(status, 202, "{serial}: the task is queued: {task}");
        assert_eq!(task["status"], "pending", "{serial}: {task}");
        let request = &task["connectionRequest"];
        assert_eq!(request["state"], "unreachable", "{serial}: {task}");
        let error = request["error"].as_str().unwrap_or_default();
        assert!(error.contains(reason), "{serial}: {error}");
        // The task stays queued for the device's next session.
        let (_, stored) = acs
            .get(&format!("/api/v1/tasks/{}", task["id"].as_str().unwrap()))
            .await;
        assert_eq!(stored["status"], "pending");
        assert_eq!(stored["connectionRequest"]["state"], "unreachable");
    }
}

/// The three waiting calls at once (the silent device takes the connection request's 5 s).
async fn futures_join(acs: &Acs, devices: &[String]) -> Vec<(u16, Value, Duration)> {
    let (a, b, c) = tokio::join!(
        queue_and_wait(acs, &devices[0]),
        queue_and_wait(acs, &devices[1]),
        queue_and_wait(acs, &devices[2]),
    );
    vec![a, b, c]
}

#[tokio::test]
async fn limit_and_timeout_outside_their_range_get_a_400() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &[]).await;
    let mut cpe = Cpe::new(&acs.cwmp, "LIMITS01", "http://127.0.0.1:9/");
    cpe.session().await;
    let device = cpe.device_id();
    for listing in ["/api/v1/devices", "/api/v1/tasks", "/api/v1/faults"] {
        for limit in [0, 10_001, 1_000_000] {
            let (status, answer) = acs.get(&format!("{listing}?limit={limit}")).await;
            assert_eq!(status, 400, "{listing}?limit={limit}: {answer}");
            assert_eq!(
                answer["error"],
                format!("limit must be between 1 and 10000, not {limit}")
            );
        }
        for limit in [1, 10_000] {
            let (status, answer) = acs.get(&format!("{listing}?limit={limit}")).await;
            assert_eq!(status, 200, "{listing}?limit={limit}: {answer}");
        }
    }
    let tasks = format!("/api/v1/devices/{device}/tasks");
    for timeout in ["301", "-1", "inf", "NaN"] {
        let (status, answer) = acs
            .post(
                &format!("{tasks}?timeout={timeout}"),
                &json!({"name": "reboot"}),
            )
            .await;
        assert_eq!(status, 400, "timeout={timeout}: {answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .starts_with("timeout must be between 0 and 300 seconds"),
            "{answer}"
        );
    }
    // Refused calls queue nothing.
    let (_, queued) = acs.get(&tasks).await;
    assert_eq!(queued, json!([]));
    let (status, task) = acs
        .post(&format!("{tasks}?timeout=0"), &json!({"name": "reboot"}))
        .await;
    assert_eq!(status, 202, "{task}");
}

/// Sends `PUT path` to the API with a chunked body (no Content-Length) and returns the status,
/// or `None` when the server closed the connection without one. With `complete` false the
/// connection is dropped after the chunks, as a client that goes away mid-upload.
async fn put_chunked(api: &str, path: &str, chunks: &[Vec<u8>], complete: bool) -> Option<u16> {
    let address = api.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {address}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in chunks {
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk.clone(),
            b"\r\n".to_vec(),
        ]
        .concat();
        if stream.write_all(&framed).await.is_err() {
            break; // the server stopped reading (413)
        }
    }
    if !complete {
        return None;
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer.split_whitespace().nth(1)?.parse().ok()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every regular file under `dir`, as paths relative to it.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn files_are_uploaded_listed_served_and_deleted_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Above axum's 2 MiB default body limit: uploads are streamed, not collected.
    let limit = 3 * 1024 * 1024;
    let acs = Acs::start(&data, &["--max-upload-bytes", &limit.to_string()]).await;
    let client = reqwest::Client::new();
    let files = format!("{}/api/v1/files", acs.api);
    let image: Vec<u8> = (0..limit - 10).map(|i| (i * 7 % 251) as u8).collect();

    let put = |url: String, body: Vec<u8>| {
        let client = client.clone();
        async move {
            let response = client.put(url).body(body).send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };

    let (status, created) = put(format!("{files}/fw-2.0.bin"), image.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "fw-2.0.bin");
    assert_eq!(created["size"], image.len());
    assert_eq!(created["sha256"], sha256_hex(&image));
    assert_eq!(
        created["url"],
        format!("{}/fw-2.0.bin", acs.files),
        "{created}"
    );

    // Downloaded through the file server, byte for byte.
    let served = reqwest::get(format!("{}/fw-2.0.bin", acs.files))
        .await
        .unwrap();
    assert_eq!(served.status().as_u16(), 200);
    assert_eq!(served.bytes().await.unwrap().as_ref(), image.as_slice());

    // An existing name is replaced only when asked to.
    let (status, conflict) = put(format!("{files}/fw-2.0.bin"), b"other".to_vec()).await;
    assert_eq!(status, 409, "{conflict}");
    assert!(
        conflict["error"]
            .as_str()
            .unwrap()
            .contains("overwrite=true"),
        "{conflict}"
    );
    let (status, replaced) = put(
        format!("{files}/fw-2.0.bin?overwrite=true"),
        b"version 2.0, fixed".to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["sha256"], sha256_hex(b"version 2.0, fixed"));
    let served = reqwest::get(format!("{}/fw-2.0.bin", acs.files))
        .await
        .unwrap();
    assert_eq!(
        served.bytes().await.unwrap().as_ref(),
        b"version 2.0, fixed"
    );

    // Too large: by Content-Length, and by the stream when there is none.
    let (status, refused) = put(format!("{files}/big.bin"), vec![0u8; limit + 1]).await;
    assert_eq!(status, 413, "{refused}");
    let chunks = vec![vec![1u8; 1024 * 1024]; 4];
    let status = put_chunked(&acs.api, "/api/v1/files/big.bin", &chunks, true).await;
    assert!(
        matches!(status, Some(413) | None),
        "chunked upload above the limit: {status:?}"
    );
    // A client that goes away mid-upload leaves nothing.
    put_chunked(&acs.api, "/api/v1/files/broken.bin", &chunks[..1], false).await;
    // A chunked upload within the limit is stored whole.
    let small = vec![vec![2u8; 1000], vec![3u8; 24]];
    let status = put_chunked(&acs.api, "/api/v1/files/chunked.cfg", &small, true).await;
    assert_eq!(status, Some(201));

    // Names that would leave the directory or hide are refused.
    for name in [
        "..%2F..%2Fescaped",
        ".hidden",
        "a%2Fb",
        "%2Eprofile",
        "a%5Cb",
    ] {
        let (status, answer) = put(format!("{files}/{name}"), b"x".to_vec()).await;
        assert_eq!(status, 400, "{name}: {answer}");
    }
    // Dot segments are resolved by the client, to a path that is no endpoint.
    for name in ["../escaped", "%2E%2E"] {
        let (status, _) = put(format!("{files}/{name}"), b"x".to_vec()).await;
        assert_eq!(status, 404, "{name}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        files_under(dir.path().join("data").join("files").as_path()),
        ["chunked.cfg", "fw-2.0.bin"],
        "no partial, refused or escaped upload shows"
    );
    assert!(!dir.path().join("escaped").exists());
    let hidden = reqwest::get(format!("{}/.uploads/", acs.files))
        .await
        .unwrap();
    assert_eq!(hidden.status().as_u16(), 404);

    // Listed by name; one file with its checksum.
    let listed: Value = client
        .get(&files)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["chunked.cfg", "fw-2.0.bin"]);
    assert_eq!(listed[0]["size"], 1024);
    let (status, one) = acs.get("/api/v1/files/chunked.cfg").await;
    assert_eq!(status, 200);
    let content = [vec![2u8; 1000], vec![3u8; 24]].concat();
    assert_eq!(one["sha256"], sha256_hex(&content));

    // Deleted: gone from the API and from the file server.
    let (status, _) = acs
        .send(reqwest::Method::DELETE, "/api/v1/files/fw-2.0.bin")
        .await;
    assert_eq!(status, 204);
    let (status, answer) = acs
        .send(reqwest::Method::DELETE, "/api/v1/files/fw-2.0.bin")
        .await;
    assert_eq!(status, 404, "{answer}");
    let (status, _) = acs.get("/api/v1/files/fw-2.0.bin").await;
    assert_eq!(status, 404);
    let gone = reqwest::get(format!("{}/fw-2.0.bin", acs.files))
        .await
        .unwrap();
    assert_eq!(gone.status().as_u16(), 404);
}
