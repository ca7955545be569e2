//! HTTP-level quirks of real CPEs, written as raw bytes on a TCP socket: chunked bodies, missing
//! and oddly cased headers, `$Version` cookies, several sessions on one keep-alive connection;
//! and a graceful stop.

mod common;

use std::time::Duration;

use common::{Acs, Cpe};
use cwmp::EventCode;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One HTTP/1.1 response read from a keep-alive connection.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn read_response(reader: &mut BufReader<TcpStream>) -> RawResponse {
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    let status = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.unwrap();
    RawResponse {
        status,
        headers,
        body,
    }
}

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in body.chunks(700) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[tokio::test]
async fn chunked_bodies_odd_headers_and_keep_alive() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &[]).await;
    let address = acs
        .cwmp
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut cpe = Cpe::new(&acs.cwmp, "RAW00001", "http://127.0.0.1:9/");
    let mut connection = BufReader::new(TcpStream::connect(&address).await.unwrap());

    // Session 1: a chunked Inform with lower-case header names and no Content-Type.
    let inform = chunked(&cwmp::encode(&cpe.inform()));
    let head = "POST / HTTP/1.1\r\nhost: acs\r\ntransfer-encoding: chunked\r\n\r\n";
    connection
        .get_mut()
        .write_all(head.as_bytes())
        .await
        .unwrap();
    connection.get_mut().write_all(&inform).await.unwrap();
    let reply = read_response(&mut connection).await;
    assert_eq!(reply.status, 200);
    assert!(cwmp::decode(&reply.body).is_ok());
    let cookie = reply
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // The empty POST carries the cookie in the old RFC 2109 form, and no Content-Length at all.
    let empty = format!("POST / HTTP/1.1\r\nHost: acs\r\nCOOKIE: $Version=\"1\"; {cookie}; $Path=\"/\"\r\nContent-Length: 0\r\n\r\n");
    connection
        .get_mut()
        .write_all(empty.as_bytes())
        .await
        .unwrap();
    let reply = read_response(&mut connection).await;
    assert_eq!(reply.status, 204);

    // Session 2 on a fresh connection (the ACS closes after 204), no cookie at all: the session
    // is followed by its connection.
    let mut connection = BufReader::new(TcpStream::connect(&address).await.unwrap());
    cpe.pending_events = vec![(EventCode::Periodic, String::new())];
    let inform = cwmp::encode(&cpe.inform());
    let head = format!(
        "POST / HTTP/1.1\r\nHost: acs\r\nContent-Length: {}\r\nSOAPAction: \"\"\r\n\r\n",
        inform.len()
    );
    connection
        .get_mut()
        .write_all(head.as_bytes())
        .await
        .unwrap();
    connection.get_mut().write_all(&inform).await.unwrap();
    assert_eq!(read_response(&mut connection).await.status, 200);
    connection
        .get_mut()
        .write_all(b"POST / HTTP/1.1\r\nHost: acs\r\nContent-Length: 2\r\n\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        read_response(&mut connection).await.status,
        204,
        "a whitespace-only body is an empty POST"
    );
    let (_, device) = acs
        .get(&format!("/api/v1/devices/{}", cpe.device_id()))
        .await;
    assert_eq!(device["lastEvents"], serde_json::json!(["2 PERIODIC"]));
}

#[tokio::test]
async fn requests_that_are_not_cwmp_get_clear_answers() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::start(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let get = client.get(&acs.cwmp).send().await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
    // Metrics are not served on the port devices reach, only on the API port.
    let metrics = client
        .get(format!("{}metrics", acs.cwmp))
        .send()
        .await
        .unwrap();
    assert_eq!(
        metrics.status().as_u16(),
        405,
        "no metrics on the CWMP port"
    );
    let body = metrics.text().await.unwrap();
    assert!(!body.contains("kubeacs_"), "{body}");
    let metrics = client
        .get(format!("{}/metrics", acs.api))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    let body = metrics.text().await.unwrap();
    assert!(
        body.contains(r#"kubeacs_cwmp_http_requests_total{status="405"}"#),
        "{body}"
    );
    // A response with no session to belong to.
    let stray = client
        .post(&acs.cwmp)
        .body(cwmp::encode(&cwmp::Envelope {
            version: cwmp::CwmpVersion::V1_2,
            header: cwmp::Header::default(),
            body: cwmp::Body::RebootResponse,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(stray.status().as_u16(), 400);
    // An empty POST with no session just ends.
    assert_eq!(
        client
            .post(&acs.cwmp)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        204
    );
}

#[tokio::test]
async fn sigterm_stops_gracefully_and_the_data_stays() {
    let dir = tempfile::tempdir().unwrap();
    let mut acs = Acs::start(dir.path(), &[]).await;
    let mut cpe = Cpe::new(&acs.cwmp, "STOP0001", "http://127.0.0.1:9/");
    cpe.session().await;
    let started = std::time::Instant::now();
    let status = acs.stop().expect("the process ran");
    assert!(status.success(), "exit status {status:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(acs.log().contains("stopped"), "{}", acs.log());
    acs.restart().await;
    let (status, _) = acs
        .get(&format!("/api/v1/devices/{}", cpe.device_id()))
        .await;
    assert_eq!(status, 200);
}
