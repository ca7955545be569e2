//! Two edges on one store, as in cluster mode: each serves CWMP over real HTTP on loopback, both
//! over the same (embedded) store. A device is in one session across both edges (the session
//! lease), a lease left by a dead edge expires, and a task queued through one edge is run by
//! the other.

mod common;

use std::sync::Arc;
use std::time::Duration;

use acs_model::{DeviceId, TaskSpec, TaskStatus};
use acs_store::{EmbeddedStore, Store};
use cwmp::{Body, DeviceIdStruct, Envelope, EventCode, ParameterValue};
use cwmp_edge::config::EdgeConfig;
use cwmp_edge::edge::Edge;
use tokio_util::sync::CancellationToken;

/// One edge serving CWMP on a loopback port.
struct RunningEdge {
    edge: Arc<Edge>,
    url: String,
    shutdown: CancellationToken,
}

async fn start_edge(store: Arc<dyn Store>, name: &str, session_timeout: Duration) -> RunningEdge {
    let config = EdgeConfig {
        shared_store_edge: Some(name.to_string()),
        session_timeout,
        ..EdgeConfig::default()
    };
    let edge = Edge::new(store, config);
    let (url, shutdown) = common::serve(edge.clone()).await;
    RunningEdge {
        edge,
        url,
        shutdown,
    }
}

/// A CPE that talks to whichever edge it is given, keeping the cookie of its session.
struct Cpe {
    http: reqwest::Client,
    cookie: Option<String>,
    serial: String,
}

impl Cpe {
    fn new(serial: &str) -> Cpe {
        Cpe {
            http: reqwest::Client::new(),
            cookie: None,
            serial: serial.to_string(),
        }
    }

    fn device_id(&self) -> DeviceId {
        DeviceId::from_identity(&self.identity())
    }

    fn identity(&self) -> DeviceIdStruct {
        DeviceIdStruct {
            manufacturer: "Acme".into(),
            oui: "00D09E".into(),
            product_class: "Gateway".into(),
            serial_number: self.serial.clone(),
        }
    }

    /// Posts an envelope (or an empty body) to `url`; returns the status and the reply.
    async fn post(&mut self, url: &str, body: Option<Body>) -> (u16, Option<Envelope>) {
        common::post(&self.http, url, &mut self.cookie, body).await
    }

    /// Sends an Inform to `url` as the start of a new session; returns the status.
    async fn inform(&mut self, url: &str) -> u16 {
        self.cookie = None;
        let inform = common::inform(self.identity(), EventCode::Periodic, "1.0");
        self.post(url, Some(inform)).await.0
    }

    /// Finishes the session on `url`: an empty POST, then answers every request (a
    /// GetParameterValues with one value) until the ACS ends the session. Returns the requests.
    async fn finish(&mut self, url: &str) -> Vec<Body> {
        let mut requests = Vec::new();
        let (mut status, mut reply) = self.post(url, None).await;
        while let (200, Some(envelope)) = (status, reply.take()) {
            let answer = match &envelope.body {
                Body::GetParameterValues { names } => {
                    Body::GetParameterValuesResponse(vec![ParameterValue {
                        name: names[0].clone(),
                        value: "42".into(),
                        xsd_type: Default::default(),
                    }])
                }
                other => panic!("unexpected request {other:?}"),
            };
            requests.push(envelope.body);
            (status, reply) = self.post(url, Some(answer)).await;
        }
        assert_eq!(status, 204, "the session ends with 204");
        requests
    }
}

fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
    (dir, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_is_in_one_session_across_edges() {
    let (_dir, store) = store();
    let a = start_edge(store.clone(), "edge-a", Duration::from_secs(30)).await;
    let b = start_edge(store, "edge-b", Duration::from_secs(30)).await;
    let mut cpe = Cpe::new("SN1");

    assert_eq!(cpe.inform(&a.url).await, 200);
    // The same device reaching the other edge while its session on the first is open.
    let mut same_device = Cpe::new("SN1");
    assert_eq!(same_device.inform(&b.url).await, 503, "busy on edge-a");
    // Another device is not affected.
    assert_eq!(Cpe::new("SN2").inform(&b.url).await, 200);

    // The session on edge-a goes on and ends; the lease goes with it.
    assert!(cpe.finish(&a.url).await.is_empty());
    assert_eq!(
        same_device.inform(&b.url).await,
        200,
        "free once the session ended"
    );
    assert!(same_device.finish(&b.url).await.is_empty());
    a.shutdown.cancel();
    b.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_of_a_dead_edge_expires() {
    let (_dir, store) = store();
    let a = start_edge(store.clone(), "edge-a", Duration::from_secs(2)).await;
    let b = start_edge(store, "edge-b", Duration::from_secs(2)).await;
    let mut cpe = Cpe::new("SN1");
    assert_eq!(cpe.inform(&a.url).await, 200);
    // edge-a dies mid-session (its server stops; the lease stays in the store).
    a.shutdown.cancel();
    assert_eq!(cpe.inform(&b.url).await, 503, "the lease is still valid");
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    assert_eq!(cpe.inform(&b.url).await, 200, "the lease expired");
    assert!(cpe.finish(&b.url).await.is_empty());
    b.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_queued_on_one_edge_runs_on_the_other() {
    let (_dir, store) = store();
    let a = start_edge(store.clone(), "edge-a", Duration::from_secs(30)).await;
    let b = start_edge(store, "edge-b", Duration::from_secs(30)).await;
    let mut cpe = Cpe::new("SN1");
    assert_eq!(cpe.inform(&b.url).await, 200);
    assert!(cpe.finish(&b.url).await.is_empty());

    let task = a
        .edge
        .queue_task(
            &cpe.device_id(),
            TaskSpec::GetParameterValues {
                parameter_names: vec!["Device.DeviceInfo.UpTime".into()],
            },
        )
        .await
        .expect("queued on edge-a");
    let waiter = {
        let edge = a.edge.clone();
        let id = task.id.clone();
        tokio::spawn(async move { edge.wait_for_task(&id, Duration::from_secs(20)).await })
    };
    assert_eq!(cpe.inform(&b.url).await, 200);
    let requests = cpe.finish(&b.url).await;
    assert!(
        matches!(&requests[..], [Body::GetParameterValues { names }] if names == &["Device.DeviceInfo.UpTime"]),
        "{requests:?}"
    );
    // edge-a's waiting caller learns of it (by reading the store: edge-b ran the task).
    let started = std::time::Instant::now();
    let done = waiter.await.expect("join").expect("store").expect("task");
    assert_eq!(done.status, TaskStatus::Done);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not only at the timeout"
    );
    a.shutdown.cancel();
    b.shutdown.cancel();
}
