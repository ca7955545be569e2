//! The kube-acs operator (`kube-acs operator`): kube-rs controllers for the `kubeacs.io`
//! resources over the shared TiKV store the CWMP edges write.
//!
//! Replicas elect a leader on a Lease; only the leader acts: it keeps resource statuses
//! current (swept from the store), turns devices that informed without a Device resource into
//! resources in the discovery namespace (at a bounded write rate), removes a device's state
//! when its resource is deleted, and runs DeviceTasks on their devices. Every replica serves
//! `/metrics`, `/healthz` and `/readyz`.

pub mod api_auth;
pub mod conditions;
pub mod controller;
pub mod leader;
pub mod metrics;
pub mod resource_watch;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use crds::Device;
use cwmp_edge::config::EdgeConfig;
use cwmp_edge::edge::{now_millis, Edge};
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{EventType, Recorder, Reporter};
use kube::{Api, Client, ResourceExt};
use provisioning::resources::key_of;

use crate::controller::{Context, Snapshot, SweepTriggers, FIELD_MANAGER};
use crate::leader::LeaderElection;
use crate::metrics::Metrics;

/// Flags of `kube-acs operator`; each has an environment variable twin.
#[derive(Args, Debug, Clone)]
pub struct OperatorArgs {
    /// The shared store: `tikv://PD_HOST:PORT[,PD_HOST:PORT...]`.
    #[arg(long, env = "KUBE_ACS_STORE")]
    pub store: String,
    /// Namespace to watch (empty: every namespace).
    #[arg(long, env = "KUBE_ACS_WATCH_NAMESPACE", default_value = "")]
    pub namespace: String,
    /// Namespace of the Device resources created for devices that inform without one.
    #[arg(long, env = "KUBE_ACS_DEVICE_NAMESPACE", default_value = "default")]
    pub device_namespace: String,
    /// Seconds between status sweeps of the store.
    #[arg(long, env = "KUBE_ACS_STATUS_INTERVAL", default_value_t = 10.0)]
    pub status_interval: f64,
    /// Writes per second to the API server, at most (status updates and discovered devices).
    #[arg(long, env = "KUBE_ACS_API_WRITE_RATE", default_value_t = 20.0)]
    pub api_write_rate: f64,
    /// Namespace of the leader-election Lease (default: the pod's namespace, else `default`).
    #[arg(long, env = "KUBE_ACS_LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Name of the leader-election Lease.
    #[arg(long, env = "KUBE_ACS_LEASE_NAME", default_value = "kube-acs-operator")]
    pub lease_name: String,
    /// Seconds a Lease holds without renewal.
    #[arg(long, env = "KUBE_ACS_LEASE_DURATION", default_value_t = 15)]
    pub lease_duration: u64,
    /// Seconds between renewals.
    #[arg(long, env = "KUBE_ACS_LEASE_RENEW", default_value_t = 5)]
    pub lease_renew: u64,
    /// This replica's identity (default: the pod name, else host name and process id).
    #[arg(long, env = "KUBE_ACS_IDENTITY", default_value = "")]
    pub identity: String,
    /// The file server's URL as CPEs reach it (the edges' files Service), for rollouts of
    /// firmware it serves.
    #[arg(long, env = "KUBE_ACS_FILES_URL")]
    pub files_url: Option<String>,
    /// The file server's signing key (the edges' `--files-signing-key`): Downloads of files it
    /// serves get signed URLs.
    #[arg(long, env = "KUBE_ACS_FILES_SIGNING_KEY", hide_env_values = true)]
    pub files_signing_key: Option<String>,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, env = "KUBE_ACS_OPERATOR_LISTEN", default_value = "0.0.0.0:8081")]
    pub listen: SocketAddr,
}

fn identity(args: &OperatorArgs) -> String {
    if !args.identity.is_empty() {
        return args.identity.clone();
    }
    let host = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "kube-acs-operator".to_string());
    format!("{host}-{}", std::process::id())
}

/// The API client: in-cluster, or from `KUBECONFIG`/`~/.kube/config`.
pub async fn client() -> anyhow::Result<Client> {
    Client::try_default()
        .await
        .context("connecting to the Kubernetes API server (in-cluster or KUBECONFIG)")
}

/// Runs the operator until SIGINT or SIGTERM, or until it loses the lease (an error then, so
/// that Kubernetes restarts the replica, which stands by as a follower).
pub async fn run(args: OperatorArgs) -> anyhow::Result<()> {
    let store_url = acs_store::StoreUrl::parse(Some(&args.store)).context("--store")?;
    if !matches!(store_url, acs_store::StoreUrl::Tikv(_)) {
        anyhow::bail!("the operator needs the edges' shared store: --store tikv://PD_HOST:PORT");
    }
    let store = store_url
        .open(
            std::path::Path::new("."),
            acs_store::EmbeddedOptions::default(),
        )
        .with_context(|| format!("opening the store {store_url}"))?;
    let client = client().await?;
    let identity = identity(&args);
    let metrics = Arc::new(Metrics::default());
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(listen = %listener.local_addr()?, identity = %identity, store = %store_url, "kube-acs operator starting");
    let router = metrics::router(metrics.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    metrics.ready.store(true, Ordering::Relaxed);

    let election = LeaderElection {
        namespace: args
            .lease_namespace
            .clone()
            .or_else(|| std::env::var("POD_NAMESPACE").ok())
            .unwrap_or_else(|| "default".to_string()),
        name: args.lease_name.clone(),
        identity: identity.clone(),
        lease_duration: Duration::from_secs(args.lease_duration.max(2)),
        renew_every: Duration::from_secs(args.lease_renew.max(1)),
    };
    tokio::select! {
        _ = election.acquire(&client) => {}
        _ = shutdown_signal() => return Ok(()),
    }
    metrics.leader.set(1);

    let edge = Edge::new(
        store,
        EdgeConfig {
            shared_store_edge: Some(identity.clone()),
            files_url: args.files_url.clone(),
            files_signing_key: args.files_signing_key.clone().map(String::into_bytes),
            ..EdgeConfig::default()
        },
    );
    let namespace = (!args.namespace.is_empty()).then_some(args.namespace.as_str());
    let watched = {
        let edge = edge.clone();
        let device_namespace = args.device_namespace.clone();
        resource_watch::watch(client.clone(), namespace, move |set| {
            edge.set_resources(set.with_device_namespace(&device_namespace))
        })
        .await?
    };
    let _ = watched;
    cwmp_edge::mass_operations::spawn(edge.clone());
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: FIELD_MANAGER.to_string(),
            instance: Some(identity.clone()),
        },
    );
    let ctx = Arc::new(Context::new(
        client.clone(),
        edge,
        metrics.clone(),
        recorder,
        args.api_write_rate,
    ));
    let triggers = controller::spawn_controllers(ctx.clone(), namespace);
    let sweep = tokio::spawn(sweep_loop(
        ctx.clone(),
        triggers,
        Duration::from_secs_f64(args.status_interval.max(0.5)),
    ));
    tokio::select! {
        _ = election.hold(&client) => {
            sweep.abort();
            anyhow::bail!("lost the leader-election lease {}; stopping so that only the leader acts", args.lease_name)
        }
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
            Ok(())
        }
    }
}

/// Sweeps the store into the status snapshot every `interval`, creates Device resources for
/// discovered devices, and reconciles everything after each sweep.
async fn sweep_loop(ctx: Arc<Context>, triggers: SweepTriggers, interval: Duration) {
    let mut announced: HashSet<String> = HashSet::new();
    loop {
        let resources = ctx.edge.resources();
        match cwmp_edge::resource_status::compute(ctx.edge.store.as_ref(), &resources, now_millis())
            .await
        {
            Ok(statuses) => {
                let declared: HashSet<&String> = resources.devices().keys().collect();
                let discovered: Vec<&Device> = statuses
                    .devices
                    .iter()
                    .filter(|d| !declared.contains(&key_of(*d)))
                    .collect();
                let snapshot = Snapshot {
                    complete: true,
                    devices: statuses
                        .devices
                        .iter()
                        .filter_map(|d| {
                            let status = d.status.clone()?;
                            status.last_inform.is_some().then(|| (key_of(d), status))
                        })
                        .collect(),
                    groups: by_key(&statuses.groups, |g| g.status.clone()),
                    profiles: by_key(&statuses.profiles, |p| p.status.clone()),
                };
                ctx.metrics
                    .queue_depth
                    .get_or_create(&Metrics::kind("Device"))
                    .set(discovered.len() as i64);
                *ctx.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
                triggers.fire();
                // At most one interval's worth of writes per sweep; the rest next time.
                let budget = ctx.writes.within(interval);
                for device in discovered.into_iter().take(budget) {
                    let namespace = device.metadata.namespace.as_deref().unwrap_or_default();
                    if let Err(error) = create_device(&ctx, device, namespace).await {
                        tracing::warn!(device = %device.name_any(), %error, "could not create the Device resource");
                    } else if announced.insert(device.name_any()) {
                        ctx.metrics.devices_discovered.inc();
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "status sweep failed: the store is unavailable"),
        }
        tokio::time::sleep(interval).await;
    }
}

fn by_key<K: kube::Resource, S>(
    objects: &[K],
    status: impl Fn(&K) -> Option<S>,
) -> HashMap<String, S> {
    objects
        .iter()
        .filter_map(|o| Some((key_of(o), status(o)?)))
        .collect()
}

/// Creates the Device resource of a device that informed without one (server-side apply, so
/// a resource created meanwhile by someone else is merged, not duplicated).
async fn create_device(ctx: &Context, device: &Device, namespace: &str) -> anyhow::Result<()> {
    let name = device.name_any();
    let api: Api<Device> = Api::namespaced(ctx.client.clone(), namespace);
    let identity = &device.spec.identity;
    let mut resource = Device::for_identity(&name, identity.clone());
    resource.metadata.labels = Some(BTreeMap::from([(
        "kubeacs.io/discovered".to_string(),
        "true".to_string(),
    )]));
    let mut patch = serde_json::to_value(&resource)?;
    if let Some(object) = patch.as_object_mut() {
        object.remove("status");
    }
    ctx.writes.acquire().await;
    ctx.metrics.api_writes.inc();
    let created = api
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER),
            &Patch::Apply(&patch),
        )
        .await?;
    ctx.event(
        &created,
        EventType::Normal,
        "Discovered",
        format!(
            "device {} {} {} informed without a Device resource",
            identity.oui, identity.product_class, identity.serial_number
        ),
    )
    .await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}
