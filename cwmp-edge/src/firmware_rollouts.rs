//! FirmwareRollout resources run on their devices.
//!
//! When a rollout appears (or its firmware or target changes) its target is expanded once into
//! a run: the devices, spread over waves ([`provisioning::rollout`]), stored one record each.
//! Every tick then reads what changed for the devices under way (their Download task, their
//! software version, their informs), lets the pure [`provisioning::rollout::advance`] decide,
//! queues the Downloads it asks for (with a connection request each) and writes the records
//! back. Outside a maintenance window, devices speaking CWMP 1.2 or later get a ScheduleDownload
//! for the next one; after an abort with `rollbackOnAbort`, devices that took the new firmware
//! get a Download of the Firmware of their previous version. Everything lives in the store, so
//! a restarted process (or a new operator leader) carries on where the last one stopped and
//! never starts a device twice. The process keeps each rollout's devices from tick to tick,
//! and reads them again only when the run's revision shows another process wrote it since; a
//! tick whose run was written by another meanwhile writes nothing.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use acs_model::task::{DownloadWindow, ScheduledDownload};
use acs_model::{
    DeviceId, DevicePhase, Millis, RolloutDevice, RolloutRun, TaskRecord, TaskSpec, TaskStatus,
};
use acs_store::{records, transact, StoreError};
use crds::task::TaskTarget;
use crds::{Firmware, FirmwareRollout};
use cwmp::Download;
use provisioning::membership::DeviceFacts;
use provisioning::resources::{key_of, namespace_of_resource, ResourceSet};
use provisioning::rollout::{
    advance, assign_waves, eligibility, plan_waves, settled, Changed, Counts, DownloadOutcome,
    Observation, Phase, StartKind, Tick, TickResult,
};
use provisioning::schedule::CompiledSchedule;

use crate::device_tasks::{awaits_connection_request, expand_target, spawn_connection_request};
use crate::edge::{now_millis, Edge};

/// How often rollouts advance.
pub const TICK: Duration = Duration::from_secs(1);

/// Waiting devices read per tick beyond the ones that may start (those found already on the
/// version or not fitting are passed over).
const LOOKAHEAD: usize = 32;

/// What the process advancing rollouts keeps of each one from tick to tick, by rollout.
#[derive(Default)]
pub struct RolloutTicks(HashMap<String, RolloutState>);

/// What the process keeps of one rollout between ticks.
#[derive(Default)]
struct RolloutState {
    /// Whether its Firmware was missing at the last tick (logged once).
    firmware_missing: bool,
    /// The unused start allowance.
    allowance: f64,
    /// The devices as this process last read or wrote them.
    held: Option<HeldDevices>,
}

/// A rollout's devices as one process last read or wrote them, and the run they belong to:
/// while the stored run is the one this process last wrote, its devices are these, and a tick
/// need not read them again (one record per device).
struct HeldDevices {
    /// [`RolloutRun::written_as`] of their run.
    written_as: (u64, Millis, u64),
    devices: Vec<RolloutDevice>,
}

impl HeldDevices {
    fn of(run: &RolloutRun, devices: Vec<RolloutDevice>) -> HeldDevices {
        HeldDevices {
            written_as: run.written_as(),
            devices,
        }
    }

    /// Whether these are the devices of `run` as stored.
    fn belong_to(&self, run: &RolloutRun) -> bool {
        self.written_as == run.written_as()
    }
}

/// Advances every FirmwareRollout.
pub async fn tick(edge: &Arc<Edge>, ticks: &mut RolloutTicks) -> Result<(), StoreError> {
    let resources = edge.resources();
    let mut present = HashSet::new();
    for rollout in resources.rollouts() {
        let key = key_of(rollout);
        let namespace = namespace_of_resource(rollout);
        let state = ticks.0.entry(key.clone()).or_default();
        let Some(firmware) = resources.firmware(namespace, &rollout.spec.firmware) else {
            if !state.firmware_missing {
                tracing::warn!(
                    rollout = key,
                    firmware = rollout.spec.firmware,
                    "firmware rollout cannot start: its Firmware does not exist"
                );
            }
            // It starts afresh when its Firmware comes.
            *state = RolloutState {
                firmware_missing: true,
                ..RolloutState::default()
            };
            present.insert(key);
            continue;
        };
        state.firmware_missing = false;
        let held = state.held.take();
        state.held = tick_rollout(
            edge,
            &resources,
            rollout,
            firmware,
            &key,
            &mut state.allowance,
            held,
        )
        .await?;
        present.insert(key);
    }
    // Rollouts gone (or without their Firmware) start afresh if they come back.
    ticks.0.retain(|key, _| present.contains(key));
    Ok(())
}

/// What a run is planned for: a new firmware or target plans anew.
fn plan_hash(rollout: &FirmwareRollout, firmware: &Firmware) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(&(&rollout.spec.firmware, &rollout.spec.target, &firmware.spec))
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

/// Advances one rollout; returns its devices as stored after the tick, unless it is over.
async fn tick_rollout(
    edge: &Arc<Edge>,
    resources: &ResourceSet,
    rollout: &FirmwareRollout,
    firmware: &Firmware,
    key: &str,
    allowance: &mut f64,
    held: Option<HeldDevices>,
) -> Result<Option<HeldDevices>, StoreError> {
    let now = now_millis();
    let hash = plan_hash(rollout, firmware);
    let mut txn = edge.store.begin().await?;
    let existing = records::get_rollout(txn.as_mut(), key)
        .await?
        .filter(|r| r.plan_hash == hash);
    let devices = match (&existing, held) {
        // A completed run is settled whatever its devices.
        (Some(run), _) if run.completed.is_some() => {
            txn.rollback().await?;
            return Ok(None);
        }
        (Some(run), Some(held)) if held.belong_to(run) => held.devices,
        (Some(_), _) => records::list_rollout_devices(txn.as_mut(), key).await?,
        (None, _) => Vec::new(),
    };
    txn.rollback().await?;
    let (mut run, mut devices) = match existing {
        Some(run) => (run, devices),
        None => start(edge, resources, rollout, key, hash, now).await?,
    };
    let strategy = &rollout.spec.strategy;
    if settled(&run, &devices, strategy) {
        return Ok(Some(HeldDevices::of(&run, devices)));
    }
    let (window_open, next_window, window_error) = match &strategy.maintenance_window {
        None => (true, None, None),
        Some(window) => match window_state(window, now) {
            Ok((open, next)) => (open, next, None),
            Err(error) => (false, None, Some(error)),
        },
    };
    let per_tick = f64::from(strategy.rate_per_minute) * TICK.as_secs_f64() / 60.0;
    *allowance = (*allowance + per_tick).min(f64::from(strategy.rate_per_minute).max(1.0));
    let waiting_reads = (*allowance as usize).min(strategy.max_in_flight as usize) + LOOKAHEAD;
    let Observed {
        observations,
        unanswered,
        rollback_to,
    } = observe(
        edge,
        resources,
        firmware,
        rollout,
        &run,
        &devices,
        waiting_reads,
        now,
    )
    .await?;
    let target_version = firmware.spec.version.clone();
    let tick = Tick {
        strategy,
        target_version: &target_version,
        now,
        paused: rollout.spec.paused,
        abort: rollout.spec.abort,
        window_open,
        next_window,
        window_error: window_error.as_deref(),
        rate_allowance: *allowance as u32,
    };
    let was_aborted = run.aborted.is_some();
    let held_before = run.held.clone();
    let result = advance(
        &mut run,
        &mut devices,
        |d| observations.get(&d.device).cloned(),
        &tick,
    );
    *allowance -= result.start.len() as f64;
    run.held = match &result.phase {
        Phase::Paused(why) => Some(why.clone()),
        _ => None,
    };
    log_transition(key, &run, &result, was_aborted, &devices);
    let queued = queue_starts(
        edge,
        resources,
        rollout,
        firmware,
        key,
        now,
        &mut run,
        &mut devices,
        &result,
        &rollback_to,
    );
    // A hold is logged when it begins, ends or its reason changes, not at every tick.
    match (&run.held, run.held != held_before) {
        (Some(why), true) => match result.phase {
            Phase::Paused(_) => tracing::info!(rollout = key, why, "firmware rollout paused"),
            _ => tracing::warn!(rollout = key, why, "firmware rollout cannot go on"),
        },
        (None, true) if result.phase == Phase::Progressing => {
            tracing::info!(rollout = key, "firmware rollout resumed");
        }
        _ => {}
    }
    // Tasks given up this tick (faulted, timed out, never reached, or replaced) must not run
    // later.
    let abandoned = abandoned_tasks(&result.changed, &devices);
    let changed: Vec<&RolloutDevice> = result
        .changed
        .iter()
        .map(|(index, _)| &devices[index])
        .collect();
    run.revision += 1;
    // The tasks and the records of every device that changed, in one transaction: a crash
    // leaves either all of it or none.
    let written = write_tick(edge, key, &run, &changed, &queued, &abandoned, now).await?;
    if !written {
        tracing::warn!(
            rollout = key,
            "the run changed while this tick planned; the next tick plans again"
        );
        return Ok(None);
    }
    for task in queued {
        spawn_connection_request(edge, task.device.clone(), task.id.clone());
    }
    // Devices whose connection request went unanswered (or was lost) are asked again, if
    // they still wait for that task.
    for (index, task_id) in &unanswered {
        let device = &devices[*index];
        if device.task_id.as_ref() != Some(task_id) {
            continue;
        }
        if *allowance < 1.0 {
            break;
        }
        *allowance -= 1.0;
        spawn_connection_request(edge, device.device.clone(), task_id.clone());
    }
    Ok(Some(HeldDevices::of(&run, devices)))
}

/// Makes the tasks of the devices `result` starts (a device whose Firmware cannot be sent
/// goes back to waiting, or fails its rollback) and returns them.
#[allow(clippy::too_many_arguments)]
fn queue_starts(
    edge: &Edge,
    resources: &ResourceSet,
    rollout: &FirmwareRollout,
    firmware: &Firmware,
    key: &str,
    now: Millis,
    run: &mut RolloutRun,
    devices: &mut [RolloutDevice],
    result: &TickResult,
    rollback_to: &HashMap<DeviceId, String>,
) -> Vec<TaskRecord> {
    let namespace = namespace_of_resource(rollout);
    let strategy = &rollout.spec.strategy;
    let mut queued = Vec::new();
    // A device that starts is among those the tick changed.
    let mut starts: HashMap<&DeviceId, StartKind> =
        result.start.iter().map(|s| (&s.device, s.kind)).collect();
    for (index, _) in result.changed.iter() {
        let device = &mut devices[index];
        let Some(kind) = starts.remove(&device.device) else {
            continue;
        };
        let image = match kind {
            StartKind::Rollback => rollback_to
                .get(&device.device)
                .and_then(|name| resources.firmware(namespace, name))
                .ok_or_else(|| "its rollback Firmware is gone".to_string()),
            _ => Ok(firmware),
        };
        let spec = image.and_then(|image| {
            // Signed URLs last until the device's timeout (from its window, for a
            // ScheduleDownload) and an hour more.
            let expires =
                device.started.max(now) / 1000 + u64::from(strategy.device_timeout_seconds) + 3600;
            let download = download_spec(edge, image, expires)?;
            Ok(match kind {
                StartKind::ScheduleDownload { opens, closes } => {
                    TaskSpec::ScheduleDownload(scheduled_download(download, opens, closes))
                }
                _ => TaskSpec::Download(download),
            })
        });
        match spec {
            Ok(spec) => {
                let task = rollout_task(&device.device, spec, key, now);
                device.task_id = Some(task.id.clone());
                queued.push(task);
            }
            Err(why) if kind == StartKind::Rollback => {
                device.phase = DevicePhase::Failed;
                device.reason = format!("cannot roll back: {why}");
            }
            Err(why) => {
                device.phase = DevicePhase::Pending;
                device.attempts = device.attempts.saturating_sub(1);
                run.held = Some(why);
            }
        }
    }
    debug_assert!(starts.is_empty(), "starts of unchanged devices: {starts:?}");
    queued
}

/// The tasks of changed devices that no longer run: given up (faulted, timed out, never
/// reached) or replaced.
fn abandoned_tasks(changed: &Changed, devices: &[RolloutDevice]) -> Vec<String> {
    changed
        .iter()
        .filter_map(|(index, old)| {
            let device = &devices[index];
            let previous = old.task_id.clone()?;
            let kept = device.task_id.as_ref() == Some(&previous)
                && matches!(
                    device.phase,
                    DevicePhase::Downloading
                        | DevicePhase::ScheduledOnDevice
                        | DevicePhase::Installing
                        | DevicePhase::Soaking
                        | DevicePhase::RollingBack
                );
            (!kept).then_some(previous)
        })
        .collect()
}

/// Writes what a tick decided, unless another process wrote the run since the tick read it
/// (`run` carries the revision after the one read). Returns whether it wrote.
async fn write_tick(
    edge: &Edge,
    key: &str,
    run: &RolloutRun,
    changed: &[&RolloutDevice],
    queued: &[TaskRecord],
    abandoned: &[String],
    now: Millis,
) -> Result<bool, StoreError> {
    transact(edge.store.as_ref(), |txn| {
        Box::pin(async move {
            // A leader that has not noticed losing its lease, say, planned on stale records:
            // it writes nothing. Two ticks on one revision both write the run, so one of them
            // conflicts and finds here that the other went first.
            let stored = records::get_rollout(txn, key).await?;
            let based_on = |stored: RolloutRun| {
                let (plan, started, revision) = stored.written_as();
                (plan, started, revision + 1) == run.written_as()
            };
            if !stored.is_some_and(based_on) {
                return Ok(false);
            }
            for task in queued {
                records::put_task(txn, task).await?;
            }
            for task_id in abandoned {
                // Failed for good (kept, with its fault, as the device's history).
                if let Some(mut task) = records::get_task(txn, task_id).await? {
                    if !matches!(task.status, TaskStatus::Done | TaskStatus::Failed) {
                        task.status = TaskStatus::Failed;
                        task.finished = Some(now);
                        records::put_task(txn, &task).await?;
                    }
                }
            }
            for device in changed {
                records::put_rollout_device(txn, key, device).await?;
            }
            records::put_rollout(txn, key, run).await?;
            Ok(true)
        })
    })
    .await
}

/// Expands the target, plans the waves and stores the new run.
async fn start(
    edge: &Edge,
    resources: &ResourceSet,
    rollout: &FirmwareRollout,
    key: &str,
    plan_hash: u64,
    now: Millis,
) -> Result<(RolloutRun, Vec<RolloutDevice>), StoreError> {
    let namespace = namespace_of_resource(rollout);
    let target = TaskTarget {
        group: rollout.spec.target.group.clone(),
        selector: rollout.spec.target.selector.clone(),
        devices: Vec::new(),
    };
    let targets = expand_target(edge, resources, namespace, &target).await?;
    let waves = plan_waves(targets.len() as u32, &rollout.spec.strategy);
    let devices = assign_waves(targets, &waves, now);
    let run = RolloutRun {
        plan_hash,
        started: now,
        waves: waves.clone(),
        current_wave: 0,
        wave_done_at: None,
        aborted: None,
        completed: None,
        held: None,
        revision: 0,
    };
    tracing::info!(
        rollout = key,
        devices = devices.len(),
        ?waves,
        "firmware rollout started"
    );
    transact(edge.store.as_ref(), |txn| {
        let (run, devices) = (&run, &devices);
        Box::pin(async move { records::start_rollout(txn, key, run, devices).await })
    })
    .await?;
    Ok((run, devices))
}

/// What a tick learnt of its devices.
struct Observed {
    /// What is known of each device read.
    observations: HashMap<DeviceId, Observation>,
    /// Devices (by index) whose task still waits for a connection request to be answered,
    /// with that task.
    unanswered: Vec<(usize, String)>,
    /// For devices waiting for their rollback: the Firmware to go back to.
    rollback_to: HashMap<DeviceId, String>,
}

/// What is known now of the devices a tick looks at: those under way in started waves, and
/// the first `waiting_reads` waiting ones (in the order they start).
#[allow(clippy::too_many_arguments)]
async fn observe(
    edge: &Edge,
    resources: &ResourceSet,
    firmware: &Firmware,
    rollout: &FirmwareRollout,
    run: &RolloutRun,
    devices: &[RolloutDevice],
    waiting_reads: usize,
    now: Millis,
) -> Result<Observed, StoreError> {
    // The same devices, in the same order, as `advance` asks for (it stops at the first it
    // was not given).
    let started =
        |(_, d): &(usize, &RolloutDevice)| d.wave <= run.current_wave && !d.phase.is_final();
    let waiting = |(_, d): &(usize, &RolloutDevice)| {
        matches!(d.phase, DevicePhase::Pending | DevicePhase::Scheduled)
    };
    let under_way = devices
        .iter()
        .enumerate()
        .filter(started)
        .filter(|d| !waiting(d));
    let next = devices
        .iter()
        .enumerate()
        .filter(started)
        .filter(waiting)
        .take(waiting_reads);
    let gate = &rollout.spec.strategy.health_gate;
    let whole_tree =
        !firmware.spec.preconditions.parameters.is_empty() || !gate.parameters.is_empty();
    let namespace = namespace_of_resource(rollout);
    let mut seen = HashMap::new();
    let mut unanswered = Vec::new();
    let mut rollback_to = HashMap::new();
    let mut txn = edge.store.begin().await?;
    for (index, device) in under_way.chain(next) {
        let Some(record) = records::get_device(txn.as_mut(), &device.device).await? else {
            continue;
        };
        let mut tree = Vec::new();
        if whole_tree {
            tree = records::scan_parameters(txn.as_mut(), &device.device, "").await?;
        } else {
            for root in ["InternetGatewayDevice.DeviceInfo.", "Device.DeviceInfo."] {
                tree.extend(records::scan_parameters(txn.as_mut(), &device.device, root).await?);
            }
        }
        let facts = resources.facts(&record.identity, tree.iter().map(|(p, r)| (p, r)));
        let task = match &device.task_id {
            Some(id) => records::get_task(txn.as_mut(), id).await?,
            None => None,
        };
        if let Some(task) = task.as_ref().filter(|t| awaits_connection_request(t, now)) {
            unanswered.push((index, task.id.clone()));
        }
        let download = task.as_ref().map(download_outcome);
        let rollback_image = (device.phase == DevicePhase::RollbackPending).then(|| {
            let image = rollback_firmware(resources, namespace, &device.from_version, &facts)?;
            rollback_to.insert(device.device.clone(), image);
            Ok(())
        });
        seen.insert(
            device.device.clone(),
            Observation {
                software_version: facts
                    .parameter("DeviceInfo.SoftwareVersion")
                    .unwrap_or_default()
                    .to_string(),
                last_inform: record.last_inform,
                eligible: eligibility(&firmware.spec, &facts),
                healthy: provisioning::membership::check_conditions(&gate.parameters, &facts),
                download,
                schedule_download: record.cwmp_version >= cwmp::CwmpVersion::V1_2,
                rollback_image,
            },
        );
    }
    txn.rollback().await?;
    Ok(Observed {
        observations: seen,
        unanswered,
        rollback_to,
    })
}

/// The Firmware a device goes back to: of its previous version, in the rollout's namespace,
/// fitting it (the first by name).
fn rollback_firmware(
    resources: &ResourceSet,
    namespace: &str,
    version: &str,
    facts: &DeviceFacts,
) -> Result<String, String> {
    resources
        .firmwares()
        .iter()
        .filter(|f| namespace_of_resource(*f) == namespace)
        .filter(|f| f.spec.version == version)
        .find(|f| eligibility(&f.spec, facts).is_ok())
        .and_then(|f| f.metadata.name.clone())
        .ok_or_else(|| format!("no Firmware of version {version:?} fits it"))
}

/// Logs, once each, what an operator follows of a rollout besides its holds: a wave
/// starting, an abort, and the end of the run with its counts.
fn log_transition(
    key: &str,
    run: &RolloutRun,
    result: &TickResult,
    was_aborted: bool,
    devices: &[RolloutDevice],
) {
    if let Some(wave) = result.wave_started {
        tracing::info!(
            rollout = key,
            wave,
            waves = run.waves.len(),
            "firmware rollout wave started"
        );
    }
    match &result.phase {
        Phase::Aborted(why) if !was_aborted => {
            tracing::warn!(rollout = key, why, "firmware rollout aborted");
        }
        Phase::Complete if run.completed.is_some() => {
            let counts = Counts::of(devices.iter(), None);
            tracing::info!(
                rollout = key,
                succeeded = counts.succeeded,
                failed = counts.failed,
                skipped = counts.skipped,
                "firmware rollout complete"
            );
        }
        _ => {}
    }
}

/// Where a Download task stands, as the rollout sees it: a fault ends the attempt (the
/// rollout retries with a new task, not the task's own retries).
fn download_outcome(task: &TaskRecord) -> DownloadOutcome {
    match (&task.status, &task.fault) {
        (TaskStatus::Done, _) => DownloadOutcome::Done,
        (_, Some(fault)) if fault.code == 9000 => DownloadOutcome::Unsupported,
        (_, Some(fault)) => DownloadOutcome::Failed(format!("{} {}", fault.code, fault.string)),
        (TaskStatus::Failed, None) => DownloadOutcome::Failed("failed".to_string()),
        (TaskStatus::AwaitingCompletion, None) => DownloadOutcome::Accepted,
        (TaskStatus::Pending, None) => DownloadOutcome::Queued,
    }
}

/// The Download the devices of a rollout get, or why there is none. Files of the file server
/// get URLs signed until `expires` (Unix seconds) when it has a signing key.
fn download_spec(edge: &Edge, firmware: &Firmware, expires: u64) -> Result<Download, String> {
    let spec = &firmware.spec;
    let url =
        match (&spec.url, &spec.file) {
            (Some(url), _) => url.clone(),
            (None, Some(file)) => match &edge.files_url() {
                Some(base) => {
                    let url = format!("{}/{}", base.trim_end_matches('/'), file);
                    match &edge.config.files_signing_key {
                        Some(key) => {
                            crate::file_server::signed_url(key, &url, &url_path(&url), expires)
                        }
                        None => url,
                    }
                }
                None => return Err(
                    "the firmware is a file of the file server, whose URL is unknown (--files-url)"
                        .to_string(),
                ),
            },
            (None, None) => return Err("the firmware has neither url nor file".to_string()),
        };
    let file_name = url
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    // Devices that check integrity find the expected digest in the fragment (never sent to
    // the server).
    let url = match &spec.sha256 {
        Some(digest) => format!("{url}#sha256={}", digest.to_ascii_lowercase()),
        None => url,
    };
    Ok(Download {
        file_type: spec.file_type.clone(),
        url,
        file_size: spec.size,
        target_file_name: file_name,
        ..Download::default()
    })
}

/// The path of a URL (`/fw/2.0.bin` of `http://host:7567/fw/2.0.bin`).
fn url_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or("/").to_string()
}

fn rollout_task(device: &DeviceId, spec: TaskSpec, rollout: &str, now: Millis) -> TaskRecord {
    TaskRecord::new(
        acs_store::ids::next_id(now),
        device.clone(),
        spec,
        now,
        Some(format!("firmwarerollout/{rollout}")),
    )
}

/// A ScheduleDownload of `download` in the window from `opens` to `closes`, at any time in it.
fn scheduled_download(download: Download, opens: Millis, closes: Millis) -> ScheduledDownload {
    ScheduledDownload {
        file_type: download.file_type,
        url: download.url,
        username: download.username,
        password: download.password,
        file_size: download.file_size,
        target_file_name: download.target_file_name,
        time_windows: vec![DownloadWindow {
            opens,
            closes,
            mode: "1 At Any Time".to_string(),
            user_message: String::new(),
            max_retries: -1,
        }],
    }
}

/// Whether a maintenance window is open at `now` (its latest opening, a firing of its cron
/// expression, was less than its duration ago) and, while it is closed, when it next opens
/// and closes; an unusable window is an error naming the field.
fn window_state(
    window: &crds::firmware::MaintenanceWindow,
    now: Millis,
) -> Result<(bool, Option<(Millis, Millis)>), String> {
    let compiled = CompiledSchedule::of_window(window)?;
    let duration = Millis::from(window.duration_minutes) * 60_000;
    if compiled
        .latest_firing(now)
        .is_some_and(|opened| now < opened + duration)
    {
        return Ok((true, None));
    }
    let next = compiled
        .next_firing(now)
        .map(|opens| (opens, opens + duration));
    Ok((false, next))
}

/// A rollout's run and devices, for its status.
pub async fn read(
    edge: &Edge,
    key: &str,
) -> Result<Option<(RolloutRun, Vec<RolloutDevice>)>, StoreError> {
    let mut txn = edge.store.begin().await?;
    let Some(run) = records::get_rollout(txn.as_mut(), key).await? else {
        txn.rollback().await?;
        return Ok(None);
    };
    let devices = records::list_rollout_devices(txn.as_mut(), key).await?;
    txn.rollback().await?;
    Ok(Some((run, devices)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crds::firmware::MaintenanceWindow;

    /// 2026-12-01T00:00:00Z in ms.
    const MIDNIGHT_UTC: Millis = 1_796_083_200_000;
    const HOUR: Millis = 3_600_000;

    #[test]
    fn maintenance_windows_open_at_their_cron_for_their_duration_in_their_time_zone() {
        let window = MaintenanceWindow {
            cron: "0 2 * * *".to_string(),
            time_zone: "Europe/Berlin".to_string(),
            duration_minutes: 120,
        };
        // 02:00 in Berlin is 01:00 UTC in winter: open 01:00-03:00 UTC.
        assert_eq!(
            window_state(&window, MIDNIGHT_UTC + HOUR / 2),
            Ok((false, Some((MIDNIGHT_UTC + HOUR, MIDNIGHT_UTC + 3 * HOUR))))
        );
        assert_eq!(window_state(&window, MIDNIGHT_UTC + HOUR), Ok((true, None)));
        assert_eq!(
            window_state(&window, MIDNIGHT_UTC + 2 * HOUR + HOUR / 2),
            Ok((true, None))
        );
        assert_eq!(
            window_state(&window, MIDNIGHT_UTC + 3 * HOUR),
            Ok((
                false,
                Some((MIDNIGHT_UTC + 25 * HOUR, MIDNIGHT_UTC + 27 * HOUR))
            ))
        );
        let broken = MaintenanceWindow {
            cron: "not a cron".to_string(),
            ..window
        };
        let error = window_state(&broken, MIDNIGHT_UTC + HOUR).unwrap_err();
        assert!(
            error.starts_with("strategy.maintenanceWindow.cron \"not a cron\""),
            "{error}"
        );
    }

    #[test]
    fn url_paths_leave_out_host_query_and_fragment() {
        assert_eq!(url_path("http://acs:7567/fw/2.0.bin?x=1#y"), "/fw/2.0.bin");
        assert_eq!(url_path("http://acs:7567"), "/");
    }
}
