//! A fleet of gateways and a one-wave FirmwareRollout of all of them, for the rollout tick's
//! test and bench.

use std::sync::Arc;

use cwmp::{DeviceIdStruct, EventCode};
use cwmp_edge::edge::Edge;
use provisioning::resources::ResourceSet;
use serde_json::json;

use crate::common;

/// The identity of gateway number `serial`.
pub fn gateway(serial: usize) -> DeviceIdStruct {
    DeviceIdStruct {
        manufacturer: "Acme".into(),
        oui: "00D09E".into(),
        product_class: "Gateway".into(),
        serial_number: format!("GW{serial:07}"),
    }
}

/// The group of gateways, Firmware `gw-2` (version 2.0) and FirmwareRollout `gw-upgrade` of
/// it to all of them in one wave.
pub fn resources(devices: usize, max_in_flight: usize, rate_per_minute: usize) -> ResourceSet {
    let group: crds::DeviceGroup = serde_json::from_value(json!({
        "apiVersion": "kubeacs.io/v1alpha1",
        "kind": "DeviceGroup",
        "metadata": {"name": "gateways"},
        "spec": {"parameters": [{"name": "DeviceInfo.ProductClass", "operator": "Equals", "value": "Gateway"}]},
    }))
    .expect("group");
    let firmware: crds::Firmware = serde_json::from_value(json!({
        "apiVersion": "kubeacs.io/v1alpha1",
        "kind": "Firmware",
        "metadata": {"name": "gw-2"},
        "spec": {"version": "2.0", "url": "http://files.example/gw-2.bin", "size": 1024},
    }))
    .expect("firmware");
    let rollout: crds::FirmwareRollout = serde_json::from_value(json!({
        "apiVersion": "kubeacs.io/v1alpha1",
        "kind": "FirmwareRollout",
        "metadata": {"name": "gw-upgrade"},
        "spec": {
            "firmware": "gw-2",
            "target": {"group": "gateways"},
            "strategy": {
                "canary": {"count": devices},
                "steps": [{"percent": 100}],
                "maxInFlight": max_in_flight,
                "ratePerMinute": rate_per_minute,
            },
        },
    }))
    .expect("rollout");
    ResourceSet::new(Vec::new(), vec![group], Vec::new(), Vec::new())
        .with_firmware(vec![firmware], vec![rollout])
}

/// Makes gateways `0..devices` known to `edge` on version 1.0, each through a session of its
/// own over real HTTP (an Inform, then an empty POST), `clients` sessions at a time.
pub async fn inform_all(edge: Arc<Edge>, devices: usize, clients: usize) {
    let (url, shutdown) = common::serve(edge).await;
    let mut sessions = Vec::new();
    for client in 0..clients {
        let url = url.clone();
        sessions.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for serial in (client..devices).step_by(clients) {
                let mut cookie = None;
                let inform = common::inform(gateway(serial), EventCode::Bootstrap, "1.0");
                let (status, _) = common::post(&http, &url, &mut cookie, Some(inform)).await;
                assert_eq!(status, 200, "Inform of gateway {serial}");
                let (status, _) = common::post(&http, &url, &mut cookie, None).await;
                assert_eq!(status, 204, "end of the session of gateway {serial}");
            }
        }));
    }
    for session in sessions {
        session.await.expect("sessions");
    }
    shutdown.cancel();
}
