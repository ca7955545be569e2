//! The kubeacs.io resources as the API server holds them, kept current by watches and handed
//! over as a [`ResourceSet`] whenever one changes: the operator and every edge provision from
//! the same set, as the standalone ACS does from its resources directory.

use std::sync::Arc;
use std::time::Duration;

use crds::{ConfigProfile, Device, DeviceGroup, DeviceTask, Firmware, FirmwareRollout};
use futures::StreamExt;
use kube::core::NamespaceResourceScope;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource};
use provisioning::resources::ResourceSet;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

/// Changes closer together than this are handed over as one set.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Read handles on the watched resources.
#[derive(Clone)]
pub struct WatchedResources {
    /// Device resources.
    pub devices: Store<Device>,
    /// DeviceGroup resources.
    pub groups: Store<DeviceGroup>,
    /// ConfigProfile resources.
    pub profiles: Store<ConfigProfile>,
    /// DeviceTask resources.
    pub tasks: Store<DeviceTask>,
    /// Firmware resources.
    pub firmwares: Store<Firmware>,
    /// FirmwareRollout resources.
    pub rollouts: Store<FirmwareRollout>,
}

impl WatchedResources {
    /// The resources now, as one set (resources being deleted left out).
    pub fn resource_set(&self) -> ResourceSet {
        fn live<K: Resource<DynamicType = ()> + Clone>(store: &Store<K>) -> Vec<K> {
            store
                .state()
                .into_iter()
                .filter(|r| r.meta().deletion_timestamp.is_none())
                .map(|r| (*r).clone())
                .collect()
        }
        ResourceSet::new(
            live(&self.devices),
            live(&self.groups),
            live(&self.profiles),
            live(&self.tasks),
        )
        .with_firmware(live(&self.firmwares), live(&self.rollouts))
    }
}

/// Starts watching the four kinds in `namespace` (every namespace when `None`); waits until
/// each watch has listed once, then calls `on_change` with the first set and again (at most
/// every [`DEBOUNCE`]) after every change.
pub async fn watch(
    client: Client,
    namespace: Option<&str>,
    on_change: impl Fn(ResourceSet) + Send + Sync + 'static,
) -> anyhow::Result<WatchedResources> {
    let changed = Arc::new(Notify::new());
    let watched = WatchedResources {
        devices: reflect::<Device>(&client, namespace, changed.clone()),
        groups: reflect::<DeviceGroup>(&client, namespace, changed.clone()),
        profiles: reflect::<ConfigProfile>(&client, namespace, changed.clone()),
        tasks: reflect::<DeviceTask>(&client, namespace, changed.clone()),
        firmwares: reflect::<Firmware>(&client, namespace, changed.clone()),
        rollouts: reflect::<FirmwareRollout>(&client, namespace, changed.clone()),
    };
    watched.devices.wait_until_ready().await?;
    watched.groups.wait_until_ready().await?;
    watched.profiles.wait_until_ready().await?;
    watched.tasks.wait_until_ready().await?;
    watched.firmwares.wait_until_ready().await?;
    watched.rollouts.wait_until_ready().await?;
    on_change(watched.resource_set());
    let handles = watched.clone();
    tokio::spawn(async move {
        loop {
            changed.notified().await;
            tokio::time::sleep(DEBOUNCE).await;
            on_change(handles.resource_set());
        }
    });
    Ok(watched)
}

/// A reflector over one kind whose every event wakes `changed`.
fn reflect<K>(client: &Client, namespace: Option<&str>, changed: Arc<Notify>) -> Store<K>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
    K: Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .touched_objects();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(_) => changed.notify_one(),
                Err(error) => {
                    tracing::warn!(kind = %K::kind(&()), %error, "watch failed; retrying")
                }
            }
        }
    });
    reader
}
