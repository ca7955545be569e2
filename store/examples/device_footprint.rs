//! What one device costs in the store: keys, logical bytes (keys plus values) and, for the
//! embedded backend, the growth of `acs.redb`, for devices with 1,000 TR-181 parameters
//! written through the real typed records (`records::put_device` and a `TreeWriter`), one
//! transaction per device.
//!
//! `cargo run --release -p acs-store --example device_footprint -- [DEVICES] [PARAMETERS]`

use std::time::Instant;

use acs_model::{DeviceId, DeviceRecord, ParameterRecord};
use acs_store::parameters::TreeWriter;
use acs_store::{records, EmbeddedStore, KeyRange, Store};
use cwmp::{CwmpVersion, DeviceIdStruct, XsdType};

/// A parameter of a row object: name, value, type.
type Field = (&'static str, &'static str, XsdType);

/// The parameters of a typical TR-181 gateway, `count` of them, with their objects.
fn tree(count: usize) -> Vec<(String, ParameterRecord)> {
    let leaf = |value: &str, xsd_type: XsdType| ParameterRecord {
        value: Some((value.to_string(), xsd_type)),
        writable: Some(true),
        timestamp: 1_795_575_296_696,
        ..ParameterRecord::default()
    };
    let object = || ParameterRecord {
        object: true,
        writable: Some(false),
        timestamp: 1_795_575_296_696,
        ..ParameterRecord::default()
    };
    let mut out: Vec<(String, ParameterRecord)> = Vec::new();
    let mut leaves = 0;
    let mut push_leaf = |out: &mut Vec<_>, path: String, record: ParameterRecord| {
        out.push((path, record));
        leaves += 1;
        leaves < count
    };
    for name in ["Device.", "Device.DeviceInfo.", "Device.ManagementServer."] {
        out.push((name.to_string(), object()));
    }
    for i in 0..10 {
        push_leaf(
            &mut out,
            format!("Device.DeviceInfo.Field{i}"),
            leaf("HG8245H-V300R019", XsdType::String),
        );
        push_leaf(
            &mut out,
            format!("Device.ManagementServer.Field{i}"),
            leaf("http://acs.example.net:7547/", XsdType::String),
        );
    }
    let rows: [(&str, &[Field]); 5] = [
        (
            "Device.WiFi.SSID.{i}.",
            &[
                ("SSID", "home-network", XsdType::String),
                ("BSSID", "00:e0:fc:12:34:56", XsdType::String),
                ("Status", "Up", XsdType::String),
                ("Enable", "true", XsdType::Boolean),
            ],
        ),
        (
            "Device.WiFi.SSID.{i}.Stats.",
            &[
                ("BytesSent", "123456789", XsdType::UnsignedLong),
                ("BytesReceived", "987654321", XsdType::UnsignedLong),
            ],
        ),
        (
            "Device.WiFi.AccessPoint.{i}.Security.",
            &[
                ("ModeEnabled", "WPA2-Personal", XsdType::String),
                ("KeyPassphrase", "", XsdType::String),
            ],
        ),
        (
            "Device.Ethernet.Interface.{i}.",
            &[
                ("Enable", "true", XsdType::Boolean),
                ("MACAddress", "00:e0:fc:12:34:57", XsdType::String),
                ("MaxBitRate", "1000", XsdType::Int),
            ],
        ),
        (
            "Device.Hosts.Host.{i}.",
            &[
                ("IPAddress", "192.168.1.23", XsdType::String),
                ("HostName", "laptop-23", XsdType::String),
                ("Active", "true", XsdType::Boolean),
            ],
        ),
    ];
    for i in 1.. {
        for (object_path, fields) in rows {
            let object_path = object_path.replace("{i}", &i.to_string());
            out.push((object_path.clone(), object()));
            for (name, value, xsd_type) in fields {
                if !push_leaf(
                    &mut out,
                    format!("{object_path}{name}"),
                    leaf(value, xsd_type.clone()),
                ) {
                    return out;
                }
            }
        }
    }
    unreachable!("the loop returns")
}

fn device(serial: &str) -> DeviceRecord {
    DeviceRecord {
        id: DeviceId(format!("00E0FC-HG8245H-{serial}")),
        identity: DeviceIdStruct {
            manufacturer: "Huawei".into(),
            oui: "00E0FC".into(),
            product_class: "HG8245H".into(),
            serial_number: serial.into(),
        },
        first_seen: 1_795_575_296_696,
        last_inform: 1_795_575_296_696,
        last_events: vec!["2 PERIODIC".into()],
        last_boot: Some(1_795_575_296_696),
        last_bootstrap: Some(1_795_575_296_696),
        cwmp_version: CwmpVersion::default(),
        connection_request: Default::default(),
        tags: Default::default(),
        remote_address: "192.0.2.1".into(),
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let devices: usize = args.next().map_or(1000, |a| a.parse().expect("DEVICES"));
    let parameters: usize = args.next().map_or(1000, |a| a.parse().expect("PARAMETERS"));
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let file = dir.path().join("acs.redb");
    let empty = std::fs::metadata(&file).expect("file").len();
    let tree = tree(parameters);
    let started = Instant::now();
    for n in 0..devices {
        let record = device(&format!("{:016X}", 0x4857_5443_0000_0000_u64 + n as u64));
        let mut txn = store.begin().await.expect("begin");
        records::put_device(&mut *txn, &record)
            .await
            .expect("device");
        let mut writer = TreeWriter::new(&record.id).expect("writer");
        for (path, parameter) in &tree {
            writer
                .put(&mut *txn, path, parameter.clone())
                .await
                .expect("put");
        }
        writer.finish(&mut *txn).await.expect("finish");
        txn.commit().await.expect("commit");
    }
    let elapsed = started.elapsed();
    let grown = std::fs::metadata(&file).expect("file").len() - empty;

    let mut txn = store.begin().await.expect("begin");
    let all = txn.scan(KeyRange::all(), usize::MAX).await.expect("scan");
    let one = &device(&format!("{:016X}", 0x4857_5443_0000_0000_u64)).id;
    let mine: Vec<_> = all
        .iter()
        .filter(|(key, _)| {
            let key = String::from_utf8_lossy(key);
            key.contains(one.as_str())
        })
        .collect();
    let tree_keys: Vec<_> = mine
        .iter()
        .filter(|(key, _)| key.starts_with(format!("d/{one}/o/").as_bytes()))
        .collect();
    let bytes = |pairs: &[&&(Vec<u8>, Vec<u8>)]| -> usize {
        pairs.iter().map(|(k, v)| k.len() + v.len()).sum()
    };
    let leaves = tree.iter().filter(|(path, _)| !path.ends_with('.')).count();
    println!("device id: {one} ({} bytes)", one.as_str().len());
    println!(
        "parameters per device: {leaves} (+{} objects)",
        tree.len() - leaves
    );
    println!(
        "one device: {} keys, {} logical bytes; its tree: {} keys, {} bytes ({:.1} B per parameter)",
        mine.len(),
        bytes(&mine.iter().collect::<Vec<_>>()),
        tree_keys.len(),
        bytes(&tree_keys),
        bytes(&tree_keys) as f64 / leaves as f64,
    );
    println!(
        "all {devices} devices: {} keys, {} logical bytes; redb file grew {} bytes ({} per device) in {:.1} s",
        all.len(),
        all.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>(),
        grown,
        grown / devices as u64,
        elapsed.as_secs_f64()
    );
}
