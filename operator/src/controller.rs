//! The controllers: one kube-rs `Controller` per kind, each a reconcile function over the
//! shared [`Context`].
//!
//! What a resource's status says comes from the store (where the edges keep every device's
//! state), read in one sweep every `status_interval` into a [`Snapshot`]; after each sweep
//! every object is reconciled, and a status is written (server-side apply, field manager
//! `kube-acs-operator`) only when it changed. Device resources carry a finalizer: deleting one
//! removes the device's state from the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use acs_model::DeviceId;
use acs_store::records;
use crds::{
    ConfigProfile, ConfigProfileStatus, Device, DeviceGroup, DeviceGroupStatus, DeviceStatus,
    DeviceTask, DeviceTaskStatus, Firmware, FirmwareRollout, FirmwareRolloutStatus, FirmwareStatus,
};
use cwmp_edge::edge::{now_millis, Edge};
use futures::channel::mpsc;
use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta, Time};
use kube::api::{Patch, PatchParams};
use kube::core::NamespaceResourceScope;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::finalizer::{finalizer, Event as Finalized};
use kube::runtime::{watcher, Controller};
use kube::{Api, Client, Resource, ResourceExt};
use provisioning::resources::key_of;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::conditions::{awaiting_generation, is_stale, merge, status_of, with_kstatus};
use crate::metrics::Metrics;

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "kube-acs-operator";
/// The finalizer on Device resources: the device's state in the store is removed first.
pub const DEVICE_FINALIZER: &str = "kubeacs.io/device-state";

/// Errors of a reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused or failed a call.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] acs_store::StoreError),
    /// Adding or removing the finalizer failed.
    #[error("finalizer: {0}")]
    Finalizer(String),
}

/// Statuses computed from the store in the last sweep, by resource key (`namespace/name`, the
/// name alone in `default`).
#[derive(Default)]
pub struct Snapshot {
    /// Whether a sweep has completed.
    pub complete: bool,
    /// Devices that informed at least once.
    pub devices: HashMap<String, DeviceStatus>,
    /// Groups.
    pub groups: HashMap<String, DeviceGroupStatus>,
    /// Profiles.
    pub profiles: HashMap<String, ConfigProfileStatus>,
}

/// Paces writes to the API server to a fixed rate.
pub struct WriteLimiter {
    every: Duration,
    next: Mutex<tokio::time::Instant>,
}

impl WriteLimiter {
    /// At most `per_second` writes per second.
    pub fn new(per_second: f64) -> WriteLimiter {
        WriteLimiter {
            every: Duration::from_secs_f64(1.0 / per_second.max(0.1)),
            next: Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// How many writes fit in `period`.
    pub fn within(&self, period: Duration) -> usize {
        (period.as_secs_f64() / self.every.as_secs_f64()).ceil() as usize
    }

    /// Waits for the next write slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + self.every;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// What every reconcile shares.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Device state, tasks and resources (the operator's view of the store).
    pub edge: Arc<Edge>,
    /// The last sweep's statuses.
    pub snapshot: RwLock<Arc<Snapshot>>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Publishes Kubernetes Events.
    pub recorder: Recorder,
    /// Paces writes to the API server.
    pub writes: WriteLimiter,
    /// Consecutive failures per object, for the error policy's backoff.
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// The shared context.
    pub fn new(
        client: Client,
        edge: Arc<Edge>,
        metrics: Arc<Metrics>,
        recorder: Recorder,
        writes_per_second: f64,
    ) -> Context {
        Context {
            client,
            edge,
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            metrics,
            recorder,
            writes: WriteLimiter::new(writes_per_second),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The last sweep's statuses.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Publishes an Event on `object` (a failure to publish is logged, never fatal).
    pub async fn event<K: Resource<DynamicType = ()>>(
        &self,
        object: &K,
        type_: EventType,
        reason: &str,
        note: String,
    ) {
        let event = Event {
            type_,
            reason: reason.to_string(),
            note: Some(note),
            action: reason.to_string(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &object.object_ref(&())).await {
            tracing::warn!(%error, reason, "could not publish an Event");
        }
    }

    fn backoff(&self, key: String, failed: bool) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if !failed {
            failures.remove(&key);
            return Duration::ZERO;
        }
        let count = failures.entry(key).or_insert(0);
        *count = (*count + 1).min(9);
        // 1 s, 2 s, 4 s ... 5 minutes at most.
        Duration::from_secs((1u64 << (*count - 1)).min(300))
    }
}

/// Writes `status` on `object` through the status subresource (server-side apply) when it
/// differs from what the object carries; whether it wrote.
async fn write_status<K, S>(
    ctx: &Context,
    object: &K,
    current: Option<&S>,
    status: &S,
) -> Result<bool, Error>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
    K: Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if current == Some(status) {
        return Ok(false);
    }
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default());
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    ctx.writes.acquire().await;
    ctx.metrics.api_writes.inc();
    api.patch_status(
        &object.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(true)
}

/// Conditions as written: kstatus twins added, transition times of unchanged ones kept.
fn conditions(old: Option<&[Condition]>, new: Vec<Condition>) -> Vec<Condition> {
    merge(old.unwrap_or_default(), with_kstatus(new))
}

/// The status of a Device that never informed.
fn awaiting_status(device: &Device) -> DeviceStatus {
    let generation = device.metadata.generation;
    let since = device
        .metadata
        .creation_timestamp
        .clone()
        .unwrap_or_else(|| Time(now()));
    let condition = |kind: &str, status: &str| Condition {
        type_: kind.to_string(),
        status: status.to_string(),
        reason: "AwaitingInform".to_string(),
        message: "the device has not informed yet".to_string(),
        last_transition_time: since.clone(),
        observed_generation: generation,
    };
    DeviceStatus {
        conditions: vec![
            condition("Ready", "False"),
            condition("Progressing", "True"),
        ],
        observed_generation: generation,
        ..DeviceStatus::default()
    }
}

fn now() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::from_millisecond(now_millis() as i64).unwrap_or_default()
}

/// The resource's generation when a computed status describes an older one (the sweep has
/// not caught up with an edit yet).
fn stale(observed: Option<i64>, meta: &ObjectMeta) -> Option<i64> {
    is_stale(observed, meta.generation).then_some(meta.generation)?
}

/// Requeue while no sweep has completed yet; otherwise the next sweep triggers the reconcile.
fn after_sweep(snapshot: &Snapshot) -> Action {
    if snapshot.complete {
        Action::await_change()
    } else {
        Action::requeue(Duration::from_secs(1))
    }
}

async fn reconcile_device(device: Arc<Device>, ctx: Arc<Context>) -> Result<Action, Error> {
    let api: Api<Device> =
        Api::namespaced(ctx.client.clone(), &device.namespace().unwrap_or_default());
    finalizer(&api, DEVICE_FINALIZER, device, |event| async {
        match event {
            Finalized::Apply(device) => apply_device(&device, &ctx).await,
            Finalized::Cleanup(device) => cleanup_device(&device, &ctx).await,
        }
    })
    .await
    .map_err(|error| match error {
        kube::runtime::finalizer::Error::ApplyFailed(e)
        | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer(other.to_string()),
    })
}

async fn apply_device(device: &Device, ctx: &Context) -> Result<Action, Error> {
    let snapshot = ctx.snapshot();
    let current = device.status.as_ref();
    let mut status = match snapshot.devices.get(&key_of(device)) {
        Some(status) => status.clone(),
        None => awaiting_status(device),
    };
    if let Some(generation) = stale(status.observed_generation, &device.metadata) {
        status.observed_generation = Some(generation);
        status.conditions = awaiting_generation(generation, Time(now()));
    }
    status.conditions = conditions(current.map(|s| s.conditions.as_slice()), status.conditions);
    let was_ready = current.and_then(|s| status_of(&s.conditions, "Ready")) == Some("True");
    if write_status(ctx, device, current, &status).await? {
        let ready = status_of(&status.conditions, "Ready") == Some("True");
        if ready && !was_ready {
            ctx.event(
                device,
                EventType::Normal,
                "Provisioned",
                "the device matches its profiles".to_string(),
            )
            .await;
        }
        if status_of(&status.conditions, "Degraded") == Some("True") && was_ready {
            let message = status
                .conditions
                .iter()
                .find(|c| c.type_ == "Degraded")
                .map(|c| c.message.clone())
                .unwrap_or_default();
            ctx.event(device, EventType::Warning, "ProvisioningFailed", message)
                .await;
        }
    }
    Ok(after_sweep(&snapshot))
}

/// The store's id of the device a Device resource names.
pub fn device_id(device: &Device) -> DeviceId {
    let identity = &device.spec.identity;
    DeviceId::from_identity(&cwmp::DeviceIdStruct {
        manufacturer: String::new(),
        oui: identity.oui.clone(),
        product_class: identity.product_class.clone(),
        serial_number: identity.serial_number.clone(),
    })
}

async fn cleanup_device(device: &Device, ctx: &Context) -> Result<Action, Error> {
    let id = device_id(device);
    let removed = acs_store::transact(ctx.edge.store.as_ref(), |txn| {
        let id = id.clone();
        Box::pin(async move { records::delete_device(txn, &id).await })
    })
    .await?;
    tracing::info!(device = %device.name_any(), id = %id.as_str(), removed, "device state removed");
    ctx.event(
        device,
        EventType::Normal,
        "StateDeleted",
        format!("removed the state of device {} from the store", id.as_str()),
    )
    .await;
    Ok(Action::await_change())
}

async fn reconcile_group(group: Arc<DeviceGroup>, ctx: Arc<Context>) -> Result<Action, Error> {
    let snapshot = ctx.snapshot();
    let computed = snapshot.groups.get(&key_of(group.as_ref()));
    if computed.is_some() || snapshot.complete {
        let current = group.status.as_ref();
        let mut status = computed.cloned().unwrap_or_default();
        if let Some(generation) = stale(status.observed_generation, &group.metadata) {
            status.observed_generation = Some(generation);
            status.conditions = awaiting_generation(generation, Time(now()));
        }
        status.conditions = conditions(current.map(|s| s.conditions.as_slice()), status.conditions);
        let was_ready = current.and_then(|s| status_of(&s.conditions, "Ready"));
        if write_status(ctx.as_ref(), group.as_ref(), current, &status).await?
            && status_of(&status.conditions, "Ready") == Some("False")
            && was_ready != Some("False")
        {
            let message = status
                .conditions
                .first()
                .map(|c| c.message.clone())
                .unwrap_or_default();
            ctx.event(group.as_ref(), EventType::Warning, "Invalid", message)
                .await;
        }
    }
    Ok(after_sweep(&snapshot))
}

async fn reconcile_profile(
    profile: Arc<ConfigProfile>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let snapshot = ctx.snapshot();
    let computed = snapshot.profiles.get(&key_of(profile.as_ref()));
    if computed.is_some() || snapshot.complete {
        let current = profile.status.as_ref();
        let mut status = computed.cloned().unwrap_or_default();
        if let Some(generation) = stale(status.observed_generation, &profile.metadata) {
            status.observed_generation = Some(generation);
            status.conditions = awaiting_generation(generation, Time(now()));
        }
        status.conditions = conditions(current.map(|s| s.conditions.as_slice()), status.conditions);
        let was_ready = current.and_then(|s| status_of(&s.conditions, "Ready")) == Some("True");
        if write_status(ctx.as_ref(), profile.as_ref(), current, &status).await?
            && status_of(&status.conditions, "Ready") == Some("True")
            && !was_ready
        {
            let note = format!(
                "applied to {} of {} devices (generation {})",
                status.applied_devices,
                status.matched_devices,
                status.observed_generation.unwrap_or_default()
            );
            ctx.event(profile.as_ref(), EventType::Normal, "Applied", note)
                .await;
        }
    }
    Ok(after_sweep(&snapshot))
}

async fn reconcile_task(task: Arc<DeviceTask>, ctx: Arc<Context>) -> Result<Action, Error> {
    let current = task.status.as_ref();
    let key = key_of(task.as_ref());
    let Some((run, counters, _)) = cwmp_edge::device_tasks::results(&ctx.edge, &key).await? else {
        // Not started yet: the run starts on the next tick once the edge sees the task.
        return Ok(Action::requeue(Duration::from_secs(1)));
    };
    let mut status: DeviceTaskStatus =
        cwmp_edge::resource_status::device_task_status(&task, &run, counters);
    status.conditions = conditions(current.map(|s| s.conditions.as_slice()), status.conditions);
    let was_complete = current.and_then(|s| s.completion_time.as_ref()).is_some();
    if write_status(ctx.as_ref(), task.as_ref(), current, &status).await?
        && status.completion_time.is_some()
        && !was_complete
    {
        let (type_, reason) = if status.failed > 0 {
            (EventType::Warning, "CompletedWithFailures")
        } else {
            (EventType::Normal, "Completed")
        };
        let note = format!(
            "{} devices succeeded, {} failed",
            status.succeeded, status.failed
        );
        ctx.event(task.as_ref(), type_, reason, note).await;
    }
    Ok(if run.completed.is_some() {
        Action::requeue(Duration::from_secs(60))
    } else {
        Action::requeue(Duration::from_secs(2))
    })
}

async fn reconcile_rollout(
    rollout: Arc<FirmwareRollout>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let key = key_of(rollout.as_ref());
    let resources = ctx.edge.resources();
    let namespace = rollout.namespace().unwrap_or_default();
    let missing = resources
        .firmware(&namespace, &rollout.spec.firmware)
        .is_none();
    let run = cwmp_edge::firmware_rollouts::read(&ctx.edge, &key).await?;
    let current = rollout.status.as_ref();
    let mut status = cwmp_edge::resource_status::firmware_rollout_status(
        &rollout,
        run.as_ref(),
        missing,
        now_millis(),
    );
    status.conditions = conditions(current.map(|s| s.conditions.as_slice()), status.conditions);
    let before = current.cloned().unwrap_or_default();
    if write_status(ctx.as_ref(), rollout.as_ref(), current, &status).await? {
        for (type_, reason, note) in rollout_events(&before, &status) {
            ctx.event(rollout.as_ref(), type_, reason, note).await;
        }
    }
    Ok(match status.phase.as_str() {
        "Complete" => Action::requeue(Duration::from_secs(60)),
        "Aborted" if status.rolling_back == 0 => Action::requeue(Duration::from_secs(60)),
        _ => Action::requeue(Duration::from_secs(2)),
    })
}

/// The Events a rollout's status change deserves: each wave started, a hold, an abort, a
/// rollback, the end.
fn rollout_events(
    before: &FirmwareRolloutStatus,
    after: &FirmwareRolloutStatus,
) -> Vec<(EventType, &'static str, String)> {
    let mut events = Vec::new();
    if after.phase == "Progressing"
        && (before.phase != after.phase || before.current_wave != after.current_wave)
    {
        events.push((
            EventType::Normal,
            "WaveStarted",
            format!(
                "wave {} of {} under way",
                after.current_wave + 1,
                after.waves
            ),
        ));
    }
    if before.phase != after.phase {
        match after.phase.as_str() {
            "Paused" => events.push((EventType::Warning, "Paused", after.message.clone())),
            "Aborted" => events.push((EventType::Warning, "Aborted", after.message.clone())),
            "Complete" => events.push((
                EventType::Normal,
                "Complete",
                format!(
                    "{} devices upgraded, {} failed, {} skipped",
                    after.succeeded, after.failed, after.skipped
                ),
            )),
            _ => {}
        }
    }
    if before.rolling_back == 0 && after.rolling_back > 0 {
        events.push((
            EventType::Warning,
            "RollingBack",
            format!(
                "{} devices going back to their previous firmware",
                after.rolling_back
            ),
        ));
    }
    if before.rolling_back > 0 && after.rolling_back == 0 {
        events.push((
            EventType::Normal,
            "RolledBack",
            format!(
                "{} devices back on their previous firmware, {} failed",
                after.rolled_back, after.failed
            ),
        ));
    }
    events
}

async fn reconcile_firmware(firmware: Arc<Firmware>, ctx: Arc<Context>) -> Result<Action, Error> {
    let current = firmware.status.as_ref();
    let generation = firmware.metadata.generation;
    let message = format!("version {}", firmware.spec.version);
    let ready = Condition {
        type_: "Ready".to_string(),
        status: "True".to_string(),
        reason: "Available".to_string(),
        message,
        last_transition_time: Time(now()),
        observed_generation: generation,
    };
    // Downloads the file servers served of the image (images elsewhere are not counted).
    let downloads = match &firmware.spec.file {
        Some(file) => {
            let path = format!("/{}", file.trim_start_matches('/'));
            let mut txn = ctx.edge.store.begin().await?;
            let count = records::get_file_downloads(txn.as_mut(), &path).await?;
            txn.rollback().await?;
            count
        }
        None => 0,
    };
    let status = FirmwareStatus {
        downloads,
        conditions: conditions(current.map(|s| s.conditions.as_slice()), vec![ready]),
        observed_generation: generation,
    };
    write_status(ctx.as_ref(), firmware.as_ref(), current, &status).await?;
    Ok(Action::requeue(Duration::from_secs(10)))
}

/// Backoff per object: 1 s doubling to 5 minutes while it keeps failing.
fn error_policy<K: Resource<DynamicType = ()>>(
    object: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let key = format!("{}/{}", K::kind(&()), object.name_any());
    let delay = ctx.backoff(key, true);
    ctx.metrics
        .reconcile_errors
        .get_or_create(&Metrics::kind(&K::kind(&())))
        .inc();
    tracing::warn!(kind = %K::kind(&()), name = %object.name_any(), %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// Runs one kind's controller until shutdown, counting and timing its reconciles.
async fn run_controller<K, F, Fut>(
    api: Api<K>,
    ctx: Arc<Context>,
    sweeps: mpsc::UnboundedReceiver<()>,
    reconcile: F,
) where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    F: Fn(Arc<K>, Arc<Context>) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<Action, Error>> + Send + 'static,
{
    let kind = K::kind(&()).to_string();
    let timed = move |object: Arc<K>, ctx: Arc<Context>| {
        let reconcile = reconcile.clone();
        let labels = Metrics::kind(&K::kind(&()));
        async move {
            let started = std::time::Instant::now();
            ctx.metrics.reconciles.get_or_create(&labels).inc();
            let key = format!("{}/{}", K::kind(&()), object.name_any());
            let result = reconcile(object, ctx.clone()).await;
            ctx.metrics
                .reconcile_seconds
                .get_or_create(&labels)
                .observe(started.elapsed().as_secs_f64());
            if result.is_ok() {
                ctx.backoff(key, false);
            }
            result
        }
    };
    Controller::new(api, watcher::Config::default())
        .reconcile_all_on(sweeps)
        .graceful_shutdown_on(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .run(timed, error_policy::<K>, ctx)
        .for_each(|result| async {
            if let Err(error) = result {
                tracing::debug!(%error, "controller event");
            }
        })
        .await;
    tracing::info!(kind, "controller stopped");
}

/// Senders that trigger a reconcile of every object of every kind.
pub struct SweepTriggers(Vec<mpsc::UnboundedSender<()>>);

impl SweepTriggers {
    /// Reconciles everything.
    pub fn fire(&self) {
        for sender in &self.0 {
            let _ = sender.unbounded_send(());
        }
    }
}

/// Starts the controllers (one per kind) over `namespace` (all when `None`); returns the
/// triggers the status sweep fires.
pub fn spawn_controllers(ctx: Arc<Context>, namespace: Option<&str>) -> SweepTriggers {
    fn api<K: Resource<DynamicType = (), Scope = NamespaceResourceScope>>(
        client: &Client,
        namespace: Option<&str>,
    ) -> Api<K> {
        match namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        }
    }
    let mut senders = Vec::new();
    let mut channel = || {
        let (tx, rx) = mpsc::unbounded();
        senders.push(tx);
        rx
    };
    let client = &ctx.client;
    tokio::spawn(run_controller(
        api::<Device>(client, namespace),
        ctx.clone(),
        channel(),
        reconcile_device,
    ));
    tokio::spawn(run_controller(
        api::<DeviceGroup>(client, namespace),
        ctx.clone(),
        channel(),
        reconcile_group,
    ));
    tokio::spawn(run_controller(
        api::<ConfigProfile>(client, namespace),
        ctx.clone(),
        channel(),
        reconcile_profile,
    ));
    tokio::spawn(run_controller(
        api::<DeviceTask>(client, namespace),
        ctx.clone(),
        channel(),
        reconcile_task,
    ));
    tokio::spawn(run_controller(
        api::<Firmware>(client, namespace),
        ctx.clone(),
        channel(),
        reconcile_firmware,
    ));
    tokio::spawn(run_controller(
        api::<FirmwareRollout>(client, namespace),
        ctx.clone(),
        channel(),
        reconcile_rollout,
    ));
    SweepTriggers(senders)
}
