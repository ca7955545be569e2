//! An exchange whose store transaction conflicts is retried from the bytes the CPE posted: the
//! first attempt moved the decoded answer's names and values into the device's tree, so the
//! retry decodes the message again. The conflicts here are real ones of the embedded store: a
//! competing transaction commits the same key just before the exchange's own commit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use acs_model::DeviceId;
use acs_store::parameters::get_parameter;
use acs_store::{EmbeddedStore, KeyRange, KvPair, Store, StoreError, Transaction};
use async_trait::async_trait;
use common::post;
use cwmp::{Body, DeviceIdStruct, EventCode, ParameterInfo, ParameterValue};
use cwmp_edge::config::EdgeConfig;
use cwmp_edge::edge::Edge;
use provisioning::resources::ResourceSet;
use serde_json::json;

mod common;

type Result<T> = std::result::Result<T, StoreError>;

/// The embedded store, with a competitor that commits first to a key containing `marker` that
/// a transaction writes: not for the first `skip` such transactions, then for `races` of them.
struct RacedStore {
    inner: Arc<EmbeddedStore>,
    marker: Vec<u8>,
    skip: Arc<AtomicUsize>,
    races: Arc<AtomicUsize>,
}

#[async_trait]
impl Store for RacedStore {
    async fn begin(&self) -> Result<Box<dyn Transaction>> {
        Ok(Box::new(RacedTransaction {
            inner: self.inner.begin().await?,
            store: self.inner.clone(),
            marker: self.marker.clone(),
            skip: self.skip.clone(),
            races: self.races.clone(),
            raced: None,
        }))
    }
}

struct RacedTransaction {
    inner: Box<dyn Transaction>,
    store: Arc<EmbeddedStore>,
    marker: Vec<u8>,
    skip: Arc<AtomicUsize>,
    races: Arc<AtomicUsize>,
    /// A pair this transaction wrote that the competitor will write too.
    raced: Option<(Vec<u8>, Vec<u8>)>,
}

#[async_trait]
impl Transaction for RacedTransaction {
    async fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(key).await
    }
    async fn batch_get(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        self.inner.batch_get(keys).await
    }
    async fn scan(&mut self, range: KeyRange, limit: usize) -> Result<Vec<KvPair>> {
        self.inner.scan(range, limit).await
    }
    async fn scan_reverse(&mut self, range: KeyRange, limit: usize) -> Result<Vec<KvPair>> {
        self.inner.scan_reverse(range, limit).await
    }
    async fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        if key.windows(self.marker.len()).any(|w| w == self.marker) {
            self.raced = Some((key.clone(), value.clone()));
        }
        self.inner.put(key, value).await
    }
    async fn delete(&mut self, key: Vec<u8>) -> Result<()> {
        self.inner.delete(key).await
    }
    async fn lock(&mut self, key: Vec<u8>) -> Result<()> {
        self.inner.lock(key).await
    }
    async fn delete_range(&mut self, range: KeyRange) -> Result<usize> {
        self.inner.delete_range(range).await
    }
    async fn commit(&mut self) -> Result<()> {
        if let Some((key, value)) = self.raced.take() {
            let count_down = |n: &AtomicUsize| {
                n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            };
            let raced = !count_down(&self.skip) && count_down(&self.races);
            if raced {
                // The competitor writes the same value, so the store stays valid whichever
                // of the two wins.
                let mut competitor = self.store.begin().await?;
                competitor.put(key, value).await?;
                competitor.commit().await?;
            }
        }
        self.inner.commit().await
    }
    async fn rollback(&mut self) -> Result<()> {
        self.inner.rollback().await
    }
}

fn identity() -> DeviceIdStruct {
    DeviceIdStruct {
        manufacturer: "Acme".into(),
        oui: "00D09E".into(),
        product_class: "Gateway".into(),
        serial_number: "SN-RACED".into(),
    }
}

fn value(name: &str, value: &str) -> ParameterValue {
    ParameterValue {
        name: name.into(),
        value: value.into(),
        xsd_type: Default::default(),
    }
}

/// The device's tree: (path, writable, value).
const TREE: [(&str, bool, &str); 4] = [
    ("Device.DeviceInfo.SerialNumber", false, "SN-RACED"),
    ("Device.DeviceInfo.SoftwareVersion", false, "1.0"),
    ("Device.WiFi.SSID.1.SSID", true, "factory"),
    ("Device.WiFi.SSID.1.Enable", true, "1"),
];

/// The device's answer to one request of the ACS.
fn answer(request: &Body) -> Body {
    match request {
        Body::GetParameterNames { path, .. } => {
            assert_eq!(path, "Device.");
            let mut names: Vec<ParameterInfo> = ["Device.", "Device.DeviceInfo.", "Device.WiFi."]
                .into_iter()
                .chain(["Device.WiFi.SSID.", "Device.WiFi.SSID.1."])
                .map(|name| ParameterInfo {
                    name: name.into(),
                    writable: false,
                })
                .collect();
            names.extend(TREE.iter().map(|(name, writable, _)| ParameterInfo {
                name: (*name).into(),
                writable: *writable,
            }));
            Body::GetParameterNamesResponse(names)
        }
        Body::GetParameterValues { names } => Body::GetParameterValuesResponse(
            TREE.iter()
                .filter(|(path, ..)| names.iter().any(|name| path.starts_with(name.as_str())))
                .map(|(path, _, v)| value(path, v))
                .collect(),
        ),
        Body::SetParameterValues { .. } => Body::SetParameterValuesResponse { status: 0 },
        other => panic!("unexpected request {other:?}"),
    }
}

fn resources() -> ResourceSet {
    let group: crds::DeviceGroup = serde_json::from_value(json!({
        "apiVersion": "kubeacs.io/v1alpha1",
        "kind": "DeviceGroup",
        "metadata": {"name": "everyone"},
        "spec": {"parameters": [{"name": "DeviceInfo.SerialNumber", "operator": "Exists"}]},
    }))
    .expect("group");
    let profile: crds::ConfigProfile = serde_json::from_value(json!({
        "apiVersion": "kubeacs.io/v1alpha1",
        "kind": "ConfigProfile",
        "metadata": {"name": "wifi"},
        "spec": {
            "groups": ["everyone"],
            "refresh": ["Device."],
            "parameters": [{"name": "Device.WiFi.SSID.1.SSID", "value": "home"}],
        },
    }))
    .expect("profile");
    ResourceSet::new(Vec::new(), vec![group], vec![profile], Vec::new())
}

/// Runs one bootstrap session in which the exchanges writing a key with `marker`, after the
/// first `skip` of them, conflict `races` times in all; returns the requests the ACS sent and
/// the store.
async fn raced_bootstrap(
    marker: &str,
    skip: usize,
    races: usize,
) -> (Vec<Body>, Arc<EmbeddedStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let embedded = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
    let left = Arc::new(AtomicUsize::new(races));
    let store: Arc<dyn Store> = Arc::new(RacedStore {
        inner: embedded.clone(),
        marker: marker.as_bytes().to_vec(),
        skip: Arc::new(AtomicUsize::new(skip)),
        races: left.clone(),
    });
    let edge = Edge::new(store, EdgeConfig::default());
    edge.set_resources(resources());
    let (url, shutdown) = common::serve(edge.clone()).await;

    let http = reqwest::Client::new();
    let mut cookie = None;
    let inform = common::inform(identity(), EventCode::Bootstrap, "1.0");
    let (status, _) = post(&http, &url, &mut cookie, Some(inform)).await;
    assert_eq!(status, 200);
    let mut requests = Vec::new();
    let (mut status, mut reply) = post(&http, &url, &mut cookie, None).await;
    while let (200, Some(envelope)) = (status, reply.take()) {
        let answer = answer(&envelope.body);
        requests.push(envelope.body);
        (status, reply) = post(&http, &url, &mut cookie, Some(answer)).await;
    }
    assert_eq!(status, 204, "the session ends with 204");
    assert_eq!(left.load(Ordering::SeqCst), 0, "every race was run");
    assert!(
        embedded.stats().conflicts >= races as u64,
        "the store saw the conflicts"
    );
    shutdown.cancel();
    // The directory must outlive the store's users; keep it for the process.
    std::mem::forget(dir);
    (requests, embedded)
}

fn method_names(requests: &[Body]) -> Vec<&'static str> {
    requests.iter().map(cwmp::session::method_name).collect()
}

async fn stored(store: &EmbeddedStore, path: &str) -> (Option<bool>, Option<String>) {
    let mut txn = store.begin().await.expect("begin");
    let device = DeviceId::from_identity(&identity());
    let record = get_parameter(txn.as_mut(), &device, path)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("{path} is stored"));
    txn.rollback().await.expect("rollback");
    (record.writable, record.value.map(|(value, _)| value))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_answer_is_applied_again_from_its_bytes() {
    // Every answered provisioning step writes the progress record: the first (the listing)
    // commits, the second (the values) conflicts twice.
    let (requests, store) = raced_bootstrap("/provision", 1, 2).await;
    assert_eq!(
        method_names(&requests),
        [
            "GetParameterNames",
            "GetParameterValues",
            "GetParameterNames",
            "SetParameterValues"
        ],
        "the listing stored with the values was lost with the conflict, and is asked again; \
         the values, applied again from the retried message, are not"
    );
    for (path, writable, value) in TREE {
        let expected = match path {
            "Device.WiFi.SSID.1.SSID" => "home",
            _ => value,
        };
        assert_eq!(
            stored(&store, path).await,
            (Some(writable), Some(expected.to_string())),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_inform_is_applied_again_from_its_bytes() {
    // The Inform writes Device.DeviceInfo. first.
    let (requests, store) = raced_bootstrap("/o/Device.DeviceInfo.", 0, 1).await;
    assert_eq!(
        method_names(&requests),
        [
            "GetParameterNames",
            "GetParameterValues",
            "SetParameterValues"
        ]
    );
    assert_eq!(
        stored(&store, "Device.DeviceInfo.SoftwareVersion").await,
        (Some(false), Some("1.0".into()))
    );
}
