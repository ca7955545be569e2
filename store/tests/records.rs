//! Typed records on the embedded store: trees, indexes, tasks, faults and prefix isolation.

use std::collections::BTreeSet;

use acs_model::{
    DeviceId, DeviceRecord, FaultRecord, ParameterRecord, ParameterTree, TaskRecord, TaskSpec,
    TaskStatus,
};
use acs_store::parameters::TreeWriter;
use acs_store::{ids, records, EmbeddedStore, KeyRange, KvPair, Store, StoreError, Transaction};
use async_trait::async_trait;
use cwmp::{CwmpFault, CwmpVersion, DeviceIdStruct, XsdType};

fn id(text: &str) -> DeviceId {
    DeviceId(text.to_string())
}

fn device(device: &str, tags: &[&str]) -> DeviceRecord {
    DeviceRecord {
        id: id(device),
        identity: DeviceIdStruct {
            manufacturer: "Acme".into(),
            oui: "00D09E".into(),
            product_class: "IGD".into(),
            serial_number: device.into(),
        },
        first_seen: 1,
        last_inform: 2,
        last_events: vec!["2 PERIODIC".into()],
        last_boot: None,
        last_bootstrap: None,
        cwmp_version: CwmpVersion::default(),
        connection_request: Default::default(),
        tags: tags.iter().map(|tag| tag.to_string()).collect(),
        remote_address: "192.0.2.1".into(),
    }
}

fn value(text: &str) -> ParameterRecord {
    ParameterRecord {
        value: Some((text.into(), XsdType::String)),
        writable: Some(true),
        timestamp: 5,
        ..ParameterRecord::default()
    }
}

fn object() -> ParameterRecord {
    ParameterRecord {
        object: true,
        timestamp: 5,
        ..ParameterRecord::default()
    }
}

fn task(device: &str, millis: u64) -> TaskRecord {
    TaskRecord {
        id: ids::next_id(millis),
        device: id(device),
        spec: TaskSpec::Reboot,
        status: TaskStatus::Pending,
        created: millis,
        attempts: 0,
        not_before: 0,
        fault: None,
        result: None,
        connection_request: None,
        origin: None,
        finished: None,
    }
}

fn fault(device: &str, millis: u64, task_id: Option<String>) -> FaultRecord {
    FaultRecord {
        id: ids::next_id(millis),
        device: id(device),
        task_id,
        fault: CwmpFault::new(9002),
        timestamp: millis,
        attempts: 1,
    }
}

const SOFTWARE: &str = "Device.DeviceInfo.SoftwareVersion";
const URL: &str = "InternetGatewayDevice.ManagementServer.ConnectionRequestURL";

fn open() -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    (dir, store)
}

/// Every key in the store.
async fn all_keys(store: &dyn Store) -> Vec<String> {
    let mut txn = store.begin().await.expect("begin");
    txn.scan(KeyRange::all(), usize::MAX)
        .await
        .expect("scan")
        .into_iter()
        .map(|(key, _)| String::from_utf8(key).expect("UTF-8 key"))
        .collect()
}

/// Counts what the records layer asks of the transaction underneath.
struct Counting {
    inner: Box<dyn Transaction>,
    reads: usize,
    scans: usize,
    writes: BTreeSet<Vec<u8>>,
}

impl Counting {
    async fn begin(store: &dyn Store) -> Counting {
        Counting {
            inner: store.begin().await.expect("begin"),
            reads: 0,
            scans: 0,
            writes: BTreeSet::new(),
        }
    }
}

#[async_trait]
impl Transaction for Counting {
    async fn get(&mut self, key: &[u8]) -> acs_store::Result<Option<Vec<u8>>> {
        self.reads += 1;
        self.inner.get(key).await
    }
    async fn batch_get(&mut self, keys: &[Vec<u8>]) -> acs_store::Result<Vec<Option<Vec<u8>>>> {
        self.reads += 1;
        self.inner.batch_get(keys).await
    }
    async fn scan(&mut self, range: KeyRange, limit: usize) -> acs_store::Result<Vec<KvPair>> {
        self.scans += 1;
        self.inner.scan(range, limit).await
    }
    async fn scan_reverse(
        &mut self,
        range: KeyRange,
        limit: usize,
    ) -> acs_store::Result<Vec<KvPair>> {
        self.scans += 1;
        self.inner.scan_reverse(range, limit).await
    }
    async fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> acs_store::Result<()> {
        self.writes.insert(key.clone());
        self.inner.put(key, value).await
    }
    async fn delete(&mut self, key: Vec<u8>) -> acs_store::Result<()> {
        self.writes.insert(key.clone());
        self.inner.delete(key).await
    }
    async fn lock(&mut self, key: Vec<u8>) -> acs_store::Result<()> {
        self.inner.lock(key).await
    }
    async fn commit(&mut self) -> acs_store::Result<()> {
        self.inner.commit().await
    }
    async fn rollback(&mut self) -> acs_store::Result<()> {
        self.inner.rollback().await
    }
}

#[tokio::test]
async fn a_tree_of_1000_parameters_is_read_with_one_scan() {
    let (_dir, store) = open();
    let dev = id("00D09E-IGD-SN1");
    let mut txn = store.begin().await.expect("begin");
    records::put_device(&mut *txn, &device("00D09E-IGD-SN1", &[]))
        .await
        .expect("put_device");
    records::put_parameter(&mut *txn, &dev, "Device.Hosts.Host.", &object())
        .await
        .expect("put object");
    for i in 1..1000 {
        let path = format!("Device.Hosts.Host.{i}.IPAddress");
        records::put_parameter(&mut *txn, &dev, &path, &value(&format!("10.0.0.{i}")))
            .await
            .expect("put_parameter");
    }
    txn.commit().await.expect("commit");

    let mut counting = Counting::begin(&store).await;
    let tree = records::scan_parameters(&mut counting, &dev, "")
        .await
        .expect("scan_parameters");
    assert_eq!(
        (counting.scans, counting.reads),
        (1, 0),
        "one range scan, nothing else"
    );
    assert_eq!(tree.len(), 1000);
    assert_eq!(tree[0], ("Device.Hosts.Host.".to_string(), object()));
    let paths: Vec<&str> = tree.iter().map(|(path, _)| path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    assert_eq!(paths, sorted, "path order");
    assert!(paths.contains(&"Device.Hosts.Host.999.IPAddress"));

    // A subtree: the object path ends with a dot, so `1.` does not take `10.` along.
    let subtree = records::scan_parameters(&mut counting, &dev, "Device.Hosts.Host.1.")
        .await
        .expect("scan_parameters");
    assert_eq!(
        subtree,
        [(
            "Device.Hosts.Host.1.IPAddress".to_string(),
            value("10.0.0.1")
        )]
    );

    let some = records::get_parameters(
        &mut counting,
        &dev,
        &[
            "Device.Hosts.Host.7.IPAddress",
            "Device.Nope",
            "Device.Hosts.Host.",
        ],
    )
    .await
    .expect("get_parameters");
    assert_eq!(some, [Some(value("10.0.0.7")), None, Some(object())]);
    assert_eq!(
        records::get_parameter(&mut counting, &dev, "Device.Hosts.Host.42.IPAddress")
            .await
            .expect("get_parameter"),
        Some(value("10.0.0.42"))
    );
    drop(counting);

    let mut txn = store.begin().await.expect("begin");
    let removed = records::delete_parameter_subtree(&mut *txn, &dev, "Device.Hosts.Host.1.")
        .await
        .expect("delete subtree");
    assert_eq!(removed, 1);
    let removed = records::delete_parameter_subtree(&mut *txn, &dev, "")
        .await
        .expect("delete tree");
    assert_eq!(removed, 999);
    txn.commit().await.expect("commit");
    assert_eq!(
        all_keys(&store).await,
        ["d/00D09E-IGD-SN1/info", "dev/00D09E-IGD-SN1"]
    );
}

#[tokio::test]
async fn a_periodic_inform_touches_a_few_keys() {
    let (_dir, store) = open();
    let dev = id("dev1");
    let mut txn = store.begin().await.expect("begin");
    records::put_device(&mut *txn, &device("dev1", &["lab"]))
        .await
        .expect("put_device");
    for i in 0..500 {
        records::put_parameter(&mut *txn, &dev, &format!("Device.X.{i}"), &value("v"))
            .await
            .expect("put_parameter");
    }
    records::put_parameter(&mut *txn, &dev, SOFTWARE, &value("1.0"))
        .await
        .expect("put_parameter");
    txn.commit().await.expect("commit");

    // What an inform session writes: the device record and the reported values.
    let mut counting = Counting::begin(&store).await;
    let mut record = device("dev1", &["lab"]);
    record.last_inform = 3;
    records::put_device(&mut counting, &record)
        .await
        .expect("put_device");
    records::put_parameter(&mut counting, &dev, "Device.X.1", &value("w"))
        .await
        .expect("put_parameter");
    records::put_parameter(&mut counting, &dev, SOFTWARE, &value("1.0"))
        .await
        .expect("put_parameter");
    assert_eq!(counting.scans, 0);
    let written: Vec<String> = counting
        .writes
        .iter()
        .map(|key| String::from_utf8_lossy(key).into_owned())
        .collect();
    assert_eq!(
        written,
        [
            "d/dev1/info",
            "d/dev1/o/Device.DeviceInfo.",
            "d/dev1/o/Device.X."
        ],
        "the device and the two objects holding the reported values; unchanged tags and index \
         values are not rewritten"
    );
    counting.commit().await.expect("commit");
}

#[tokio::test]
async fn the_value_index_follows_parameter_writes() {
    let (_dir, store) = open();
    let (a, b) = (id("A"), id("B"));
    let mut txn = store.begin().await.expect("begin");
    for dev in [&a, &b] {
        records::put_device(&mut *txn, &device(dev.as_str(), &[]))
            .await
            .expect("put_device");
        records::put_parameter(&mut *txn, dev, SOFTWARE, &value("1.0"))
            .await
            .expect("put_parameter");
    }
    let url = "http://192.0.2.7:7547/cr%2F";
    records::put_parameter(&mut *txn, &a, URL, &value(url))
        .await
        .expect("put_parameter");
    txn.commit().await.expect("commit");

    let mut txn = store.begin().await.expect("begin");
    let found = records::find_devices_by_parameter(&mut *txn, SOFTWARE, "1.0", None, 100)
        .await
        .expect("find");
    assert_eq!(found, [a.clone(), b.clone()]);
    let page = records::find_devices_by_parameter(&mut *txn, SOFTWARE, "1.0", Some(&a), 100)
        .await
        .expect("find");
    assert_eq!(page, [id("B")]);
    let found = records::find_devices_by_parameter(&mut *txn, URL, url, None, 100)
        .await
        .expect("find");
    assert_eq!(found, [id("A")], "values with '/' and '%' are escaped");
    let found = records::find_devices_by_parameter(&mut *txn, URL, "http:", None, 100)
        .await
        .expect("find");
    assert!(found.is_empty(), "exact values only");
    let err = records::find_devices_by_parameter(&mut *txn, "Device.X", "1", None, 100)
        .await
        .expect_err("not indexed");
    assert!(matches!(err, StoreError::Invalid(_)));

    // Update A: it moves from 1.0 to 2.0.
    records::put_parameter(&mut *txn, &a, SOFTWARE, &value("2.0"))
        .await
        .expect("put_parameter");
    // An object or a value-less record is not indexed.
    records::put_parameter(&mut *txn, &b, SOFTWARE, &ParameterRecord::default())
        .await
        .expect("put_parameter");
    txn.commit().await.expect("commit");

    let mut txn = store.begin().await.expect("begin");
    let old = records::find_devices_by_parameter(&mut *txn, SOFTWARE, "1.0", None, 100)
        .await
        .expect("find");
    assert!(old.is_empty());
    let new = records::find_devices_by_parameter(&mut *txn, SOFTWARE, "2.0", None, 100)
        .await
        .expect("find");
    assert_eq!(new, [id("A")]);

    // Deleting the subtree drops its index entries.
    records::delete_parameter_subtree(&mut *txn, &a, "Device.DeviceInfo.")
        .await
        .expect("delete subtree");
    let new = records::find_devices_by_parameter(&mut *txn, SOFTWARE, "2.0", None, 100)
        .await
        .expect("find");
    assert!(new.is_empty(), "read-your-writes through the index");
    txn.commit().await.expect("commit");
    let pv: Vec<String> = all_keys(&store)
        .await
        .into_iter()
        .filter(|key| key.starts_with("pv/"))
        .collect();
    assert_eq!(
        pv,
        ["pv/InternetGatewayDevice.ManagementServer.ConnectionRequestURL/http:%2F%2F192.0.2.7:7547%2Fcr%252F/A"]
    );
}

#[tokio::test]
async fn the_tag_index_follows_device_writes_and_devices_list_in_pages() {
    let (_dir, store) = open();
    let mut txn = store.begin().await.expect("begin");
    for (dev, tags) in [("d1", &["x", "y"][..]), ("d2", &["y"]), ("d3", &[])] {
        records::put_device(&mut *txn, &device(dev, tags))
            .await
            .expect("put_device");
    }
    txn.commit().await.expect("commit");

    let mut txn = store.begin().await.expect("begin");
    let y = records::find_devices_by_tag(&mut *txn, "y", None, 10)
        .await
        .expect("find");
    assert_eq!(y, [id("d1"), id("d2")]);
    let y = records::find_devices_by_tag(&mut *txn, "y", None, 1)
        .await
        .expect("find");
    assert_eq!(y, [id("d1")]);
    let y = records::find_devices_by_tag(&mut *txn, "y", Some(&id("d1")), 10)
        .await
        .expect("find");
    assert_eq!(y, [id("d2")]);

    records::put_device(&mut *txn, &device("d1", &["y", "z/1"]))
        .await
        .expect("put_device");
    txn.commit().await.expect("commit");

    let mut txn = store.begin().await.expect("begin");
    assert!(records::find_devices_by_tag(&mut *txn, "x", None, 10)
        .await
        .expect("find")
        .is_empty());
    assert_eq!(
        records::find_devices_by_tag(&mut *txn, "z/1", None, 10)
            .await
            .expect("find"),
        [id("d1")]
    );

    let all = records::list_devices(&mut *txn, None, 100)
        .await
        .expect("list");
    let ids: Vec<&str> = all.iter().map(|record| record.id.as_str()).collect();
    assert_eq!(ids, ["d1", "d2", "d3"]);
    assert_eq!(all[0], device("d1", &["y", "z/1"]));
    let page = records::list_devices(&mut *txn, Some(&id("d1")), 1)
        .await
        .expect("list");
    assert_eq!(page[0].id, id("d2"));
    assert_eq!(
        records::get_device(&mut *txn, &id("d2"))
            .await
            .expect("get"),
        Some(device("d2", &["y"]))
    );
    assert_eq!(
        records::get_device(&mut *txn, &id("d9"))
            .await
            .expect("get"),
        None
    );
}

#[tokio::test]
async fn tasks_and_faults_are_fifo_and_found_by_id() {
    let (_dir, store) = open();
    let mut txn = store.begin().await.expect("begin");
    let tasks: Vec<TaskRecord> = (0..5)
        .map(|i| task(if i % 2 == 0 { "a" } else { "b" }, 1_700_000_000_000 + i))
        .collect();
    // Written newest first: the order comes from the ids.
    for task in tasks.iter().rev() {
        records::put_task(&mut *txn, task).await.expect("put_task");
    }
    let faults = [
        fault("a", 1_700_000_000_100, Some(tasks[0].id.clone())),
        fault("a", 1_700_000_000_101, None),
        fault("b", 1_700_000_000_102, None),
    ];
    for fault in &faults {
        records::put_fault(&mut *txn, fault)
            .await
            .expect("put_fault");
    }
    txn.commit().await.expect("commit");

    let mut txn = store.begin().await.expect("begin");
    let of_a = records::list_tasks(&mut *txn, &id("a"))
        .await
        .expect("list");
    assert_eq!(of_a, [tasks[0].clone(), tasks[2].clone(), tasks[4].clone()]);
    assert_eq!(
        records::get_task(&mut *txn, &tasks[3].id)
            .await
            .expect("get"),
        Some(tasks[3].clone())
    );
    assert_eq!(
        records::get_task(&mut *txn, "nope").await.expect("get"),
        None
    );
    let all = records::list_all_tasks(&mut *txn, None, 100)
        .await
        .expect("all");
    assert_eq!(all, tasks);
    let page = records::list_all_tasks(&mut *txn, Some(&tasks[1].id), 2)
        .await
        .expect("page");
    assert_eq!(page, tasks[2..4]);

    assert_eq!(
        records::list_faults(&mut *txn, &id("a"))
            .await
            .expect("list"),
        faults[..2]
    );
    assert_eq!(
        records::get_fault(&mut *txn, &faults[2].id)
            .await
            .expect("get"),
        Some(faults[2].clone())
    );

    let mut updated = tasks[0].clone();
    updated.status = TaskStatus::Done;
    records::put_task(&mut *txn, &updated)
        .await
        .expect("put_task");
    assert!(records::delete_task(&mut *txn, &tasks[2].id)
        .await
        .expect("delete"));
    assert!(!records::delete_task(&mut *txn, &tasks[2].id)
        .await
        .expect("delete"));
    assert!(records::delete_fault(&mut *txn, &faults[0].id)
        .await
        .expect("delete"));
    txn.commit().await.expect("commit");

    let mut txn = store.begin().await.expect("begin");
    let of_a = records::list_tasks(&mut *txn, &id("a"))
        .await
        .expect("list");
    assert_eq!(of_a, [updated, tasks[4].clone()]);
    assert_eq!(
        records::get_task(&mut *txn, &tasks[2].id)
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        records::get_fault(&mut *txn, &faults[0].id)
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        records::list_faults(&mut *txn, &id("a"))
            .await
            .expect("list"),
        faults[1..2]
    );
}

/// Fills everything a device can have.
async fn populate(txn: &mut dyn Transaction, dev: &str, millis: u64) {
    let device_id = id(dev);
    records::put_device(txn, &device(dev, &["t1", "shared"]))
        .await
        .expect("put_device");
    for path in ["Device.DeviceInfo.", "Device.DeviceInfo.Manufacturer"] {
        records::put_parameter(txn, &device_id, path, &value("x"))
            .await
            .expect("put_parameter");
    }
    records::put_parameter(txn, &device_id, SOFTWARE, &value("1.0"))
        .await
        .expect("put_parameter");
    records::put_parameter(txn, &device_id, URL, &value(&format!("http://{dev}/")))
        .await
        .expect("put_parameter");
    let task = task(dev, millis);
    records::put_task(txn, &task).await.expect("put_task");
    records::put_fault(txn, &fault(dev, millis, Some(task.id)))
        .await
        .expect("put_fault");
}

#[tokio::test]
async fn delete_device_removes_everything_and_devices_sharing_a_prefix_stay_apart() {
    let (_dir, store) = open();
    let (abc, abcd) = (id("abc"), id("abcd"));
    let mut txn = store.begin().await.expect("begin");
    populate(&mut *txn, "abcd", 1_000).await;
    txn.commit().await.expect("commit");
    let only_abcd = all_keys(&store).await;

    let mut txn = store.begin().await.expect("begin");
    populate(&mut *txn, "abc", 2_000).await;
    txn.commit().await.expect("commit");

    let mut txn = store.begin().await.expect("begin");
    let tree = records::scan_parameters(&mut *txn, &abc, "")
        .await
        .expect("scan");
    assert_eq!(tree.len(), 4, "abc's tree holds none of abcd's parameters");
    assert_eq!(
        records::list_tasks(&mut *txn, &abc)
            .await
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        records::list_faults(&mut *txn, &abc)
            .await
            .expect("list")
            .len(),
        1
    );
    let shared = records::find_devices_by_tag(&mut *txn, "shared", None, 10)
        .await
        .expect("find");
    assert_eq!(shared, [abc.clone(), abcd.clone()]);
    // A subtree delete on abc leaves abcd alone.
    records::delete_parameter_subtree(&mut *txn, &abc, "Device.DeviceInfo.")
        .await
        .expect("delete subtree");
    assert_eq!(
        records::scan_parameters(&mut *txn, &abcd, "")
            .await
            .expect("scan")
            .len(),
        4
    );
    txn.rollback().await.expect("rollback");

    let mut txn = store.begin().await.expect("begin");
    assert!(records::delete_device(&mut *txn, &abc)
        .await
        .expect("delete"));
    txn.commit().await.expect("commit");
    assert_eq!(
        all_keys(&store).await,
        only_abcd,
        "nothing of abc is left, all of abcd is"
    );

    let mut txn = store.begin().await.expect("begin");
    assert!(!records::delete_device(&mut *txn, &abc)
        .await
        .expect("delete"));
    assert_eq!(
        records::find_devices_by_parameter(&mut *txn, SOFTWARE, "1.0", None, 10)
            .await
            .expect("find"),
        [abcd]
    );
}

#[tokio::test]
async fn bad_ids_are_refused_and_bad_data_is_reported_corrupt() {
    let (_dir, store) = open();
    let mut txn = store.begin().await.expect("begin");
    let err = records::put_device(&mut *txn, &device("a/b", &[]))
        .await
        .expect_err("slash in id");
    assert!(matches!(err, StoreError::Invalid(_)));
    let mut bad_task = task("a", 1);
    bad_task.id = String::new();
    assert!(matches!(
        records::put_task(&mut *txn, &bad_task).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        records::put_parameter(&mut *txn, &id("a"), "", &value("x")).await,
        Err(StoreError::Invalid(_))
    ));

    txn.put(b"d/a/info".to_vec(), b"{not json".to_vec())
        .await
        .expect("put");
    let err = records::get_device(&mut *txn, &id("a"))
        .await
        .expect_err("corrupt record");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}

#[tokio::test]
async fn delete_parameter_removes_one_path_and_its_index_entry() {
    let (_dir, store) = open();
    let dev = id("dev1");
    let mut txn = store.begin().await.expect("begin");
    records::put_parameter(&mut *txn, &dev, SOFTWARE, &value("1.0"))
        .await
        .expect("put_parameter");
    records::put_parameter(&mut *txn, &dev, "Device.X.1", &value("a"))
        .await
        .expect("put_parameter");
    records::put_parameter(&mut *txn, &dev, "Device.X.10", &value("b"))
        .await
        .expect("put_parameter");
    txn.commit().await.expect("commit");

    let mut txn = store.begin().await.expect("begin");
    assert!(records::delete_parameter(&mut *txn, &dev, SOFTWARE)
        .await
        .expect("delete"));
    assert!(records::delete_parameter(&mut *txn, &dev, "Device.X.1")
        .await
        .expect("delete"));
    assert!(!records::delete_parameter(&mut *txn, &dev, "Device.X.1")
        .await
        .expect("delete"));
    txn.commit().await.expect("commit");
    assert_eq!(all_keys(&store).await, ["d/dev1/o/Device.X."]);
    let mut txn = store.begin().await.expect("begin");
    assert_eq!(
        records::scan_parameters(&mut *txn, &dev, "")
            .await
            .expect("scan"),
        [("Device.X.10".to_string(), value("b"))],
        "not a prefix delete; the emptied object Device.DeviceInfo. is gone"
    );
}

#[tokio::test]
async fn a_tree_writer_writes_each_object_once() {
    let (_dir, store) = open();
    let dev = id("dev1");
    // A refresh of 10 objects of 50 parameters: 10 object writes, however many parameters.
    let mut counting = Counting::begin(&store).await;
    let mut writer = TreeWriter::new(&dev).expect("writer");
    for o in 1..=10 {
        writer
            .put(&mut counting, &format!("Device.O.{o}."), object())
            .await
            .expect("put object");
        for p in 1..=50 {
            let path = format!("Device.O.{o}.P{p}");
            writer
                .put(&mut counting, &path, value(&format!("{o}/{p}")))
                .await
                .expect("put");
        }
    }
    writer
        .put(&mut counting, SOFTWARE, value("2.0"))
        .await
        .expect("put indexed");
    writer.finish(&mut counting).await.expect("finish");
    let objects = counting
        .writes
        .iter()
        .filter(|key| key.starts_with(b"d/dev1/o/"))
        .count();
    assert_eq!(objects, 11, "10 objects and Device.DeviceInfo.");
    counting.inner.commit().await.expect("commit");

    // The same tree, known in memory: objects are built from it, nothing is read; a removed
    // subtree stays removed for later writes in the same writer.
    let mut txn = store.begin().await.expect("begin");
    let mut known = records::load_tree(&mut *txn, &dev).await.expect("load");
    assert_eq!(known.len(), 10 * 51 + 1);
    let scanned: ParameterTree = records::scan_parameters(&mut *txn, &dev, "")
        .await
        .expect("scan")
        .into_iter()
        .collect();
    assert_eq!(known, scanned, "loaded by object as scanned by path");
    drop(txn);
    let mut counting = Counting::begin(&store).await;
    let mut writer =
        TreeWriter::with_known_tree(&dev, &mut known, Default::default()).expect("writer");
    writer
        .remove_subtree(&mut counting, "Device.O.2.")
        .await
        .expect("remove subtree");
    assert_eq!(
        writer
            .get(&mut counting, "Device.O.2.P1")
            .await
            .expect("get"),
        None
    );
    writer
        .put(&mut counting, "Device.O.2.P7", value("new"))
        .await
        .expect("put");
    writer
        .put(&mut counting, "Device.O.3.P1", value("changed"))
        .await
        .expect("put");
    writer.finish(&mut counting).await.expect("finish");
    assert_eq!(counting.reads, 0, "objects come from the known tree");
    counting.inner.commit().await.expect("commit");
    assert_eq!(
        known.get("Device.O.2.P1"),
        None,
        "the known tree follows the writer"
    );
    assert_eq!(known.get("Device.O.2.P7"), Some(&value("new")));
    assert_eq!(known.get("Device.O.3.P1"), Some(&value("changed")));

    let mut txn = store.begin().await.expect("begin");
    let o2 = records::scan_parameters(&mut *txn, &dev, "Device.O.2.")
        .await
        .expect("scan");
    assert_eq!(o2, [("Device.O.2.P7".to_string(), value("new"))]);
    let o3 = records::get_parameters(&mut *txn, &dev, &["Device.O.3.P1", "Device.O.3.P2"])
        .await
        .expect("get");
    assert_eq!(o3, [Some(value("changed")), Some(value("3/2"))]);
    let by_version = records::find_devices_by_parameter(&mut *txn, SOFTWARE, "2.0", None, 10)
        .await
        .expect("index");
    assert_eq!(by_version, [dev]);
}

/// A file's download count is the sum of its shards and of the single key earlier versions
/// kept; concurrent counts in different shards both commit, and other files are apart.
#[tokio::test]
async fn download_counts_add_up_across_shards() {
    let (_dir, store) = open();
    let path = "/fw/2.0.bin";
    let mut txn = store.begin().await.expect("begin");
    txn.put(b"file/%2Ffw%2F2.0.bin/downloads".to_vec(), b"5".to_vec())
        .await
        .expect("put");
    txn.commit().await.expect("commit");

    let mut one = store.begin().await.expect("begin");
    let mut two = store.begin().await.expect("begin");
    records::count_file_download(&mut *one, path, 1)
        .await
        .expect("count");
    records::count_file_download(&mut *two, path, 2)
        .await
        .expect("count");
    one.commit().await.expect("one commits");
    two.commit()
        .await
        .expect("a count in another shard commits too");
    for shard in [1, 1 + records::DOWNLOAD_COUNT_SHARDS, 7] {
        let mut txn = store.begin().await.expect("begin");
        records::count_file_download(&mut *txn, path, shard)
            .await
            .expect("count");
        txn.commit().await.expect("commit");
    }
    let mut other = store.begin().await.expect("begin");
    records::count_file_download(&mut *other, "/fw/2.0.bin.sig", 0)
        .await
        .expect("count");
    other.commit().await.expect("commit");

    let mut txn = store.begin().await.expect("begin");
    let count = records::get_file_downloads(&mut *txn, path)
        .await
        .expect("read");
    assert_eq!(count, 5 + 5);
    let other = records::get_file_downloads(&mut *txn, "/fw/2.0.bin.sig")
        .await
        .expect("read");
    assert_eq!(other, 1);
    let none = records::get_file_downloads(&mut *txn, "/fw/1.0.bin")
        .await
        .expect("read");
    assert_eq!(none, 0);
}
