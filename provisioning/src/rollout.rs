//! Staged firmware rollouts, as pure functions: which devices go in which wave
//! ([`plan_waves`], [`assign_waves`]) and what one tick of a rollout does ([`advance`]): each
//! device's phase moves on from what was observed of it, the wave moves on when its devices
//! are done and its soak has passed (and approval, where required, was given), failure
//! thresholds hold or abort the rollout, and new devices start within the window, the
//! in-flight limit and the rate. Outside the window, devices that take ScheduleDownload are
//! told to download in the next one. After an abort with `rollbackOnAbort`, devices that took
//! the new firmware go back to their previous one. The caller reads the store, calls
//! [`advance`], queues the transfers it asks for and writes back the records it changed.

use std::collections::BTreeMap;

use acs_model::{DeviceId, DevicePhase, Millis, RolloutDevice, RolloutRun};
use crds::firmware::{FirmwareSpec, RolloutStrategy, ThresholdAction};

use crate::membership::{check_conditions, compare_versions, DeviceFacts};

/// Devices per wave for `total` devices: the canary (a count or a share), then one wave per
/// step up to its cumulative share (steps taken in increasing order), and a last wave with
/// whoever is left. Empty waves are dropped, except that there is always a canary.
pub fn plan_waves(total: u32, strategy: &RolloutStrategy) -> Vec<u32> {
    if total == 0 {
        return vec![0];
    }
    let share = |percent: u32| (u64::from(total) * u64::from(percent)).div_ceil(100) as u32;
    let canary = match (strategy.canary.count, strategy.canary.percent) {
        (Some(count), _) => count,
        (None, Some(percent)) => share(percent),
        (None, None) => 1,
    }
    .clamp(1, total);
    let mut waves = vec![canary];
    let mut done = canary;
    let mut steps: Vec<u32> = strategy.steps.iter().map(|s| s.percent).collect();
    steps.sort_unstable();
    steps.push(100);
    for percent in steps {
        let upto = share(percent).min(total);
        if upto > done {
            waves.push(upto - done);
            done = upto;
        }
    }
    waves
}

/// The soak time after wave `wave`, in ms: the canary's, or its step's (a last wave for the
/// remainder has none).
fn wave_soak_ms(strategy: &RolloutStrategy, wave: u32) -> Millis {
    let seconds = if wave == 0 {
        strategy.canary.soak_seconds
    } else {
        let mut steps: Vec<_> = strategy.steps.iter().collect();
        steps.sort_by_key(|s| s.percent);
        steps.get(wave as usize - 1).map_or(0, |s| s.soak_seconds)
    };
    Millis::from(seconds) * 1000
}

/// The devices of a new run, spread over `waves` in a stable pseudo-random order (so the
/// canary is not, say, the oldest serial numbers): by a hash of the device id.
pub fn assign_waves(mut devices: Vec<DeviceId>, waves: &[u32], now: Millis) -> Vec<RolloutDevice> {
    devices.sort_by_key(|d| (fnv1a(d.as_str()), d.as_str().to_string()));
    let mut wave = 0u32;
    let mut left = waves.first().copied().unwrap_or(0);
    devices
        .into_iter()
        .map(|device| {
            while left == 0 && (wave as usize) + 1 < waves.len() {
                wave += 1;
                left = waves[wave as usize];
            }
            left = left.saturating_sub(1);
            RolloutDevice {
                device,
                wave,
                phase: DevicePhase::Pending,
                attempts: 0,
                task_id: None,
                started: 0,
                since: now,
                reason: String::new(),
                from_version: String::new(),
                reached_target: false,
                no_schedule_download: false,
            }
        })
        .collect()
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether `firmware` fits a device and its preconditions hold; why not otherwise.
pub fn eligibility(firmware: &FirmwareSpec, device: &DeviceFacts) -> Result<(), String> {
    let compatible = &firmware.compatible;
    let fits = |allowed: &[String], value: Option<&str>, what: &str| -> Result<(), String> {
        let value = value.unwrap_or_default();
        if allowed.is_empty() || allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
            Ok(())
        } else {
            Err(format!("not compatible: {what} {value:?}"))
        }
    };
    fits(&compatible.ouis, Some(&device.identity.oui), "OUI")?;
    fits(
        &compatible.product_classes,
        Some(&device.identity.product_class),
        "product class",
    )?;
    fits(
        &compatible.model_names,
        device.parameter("DeviceInfo.ModelName"),
        "model",
    )?;
    fits(
        &compatible.hardware_versions,
        device.parameter("DeviceInfo.HardwareVersion"),
        "hardware version",
    )?;
    if let Some(minimum) = &firmware.preconditions.minimum_version {
        let current = device
            .parameter("DeviceInfo.SoftwareVersion")
            .unwrap_or_default();
        if compare_versions(current, minimum).is_lt() {
            return Err(format!(
                "precondition: version {current:?} is below the minimum {minimum}"
            ));
        }
    }
    check_conditions(&firmware.preconditions.parameters, device)
        .map_err(|why| format!("precondition: {why}"))
}

/// Where a device's current Download task stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadOutcome {
    /// Not sent to the device yet (it has not been in a session since it was queued).
    Queued,
    /// Sent and accepted; the transfer is under way.
    Accepted,
    /// TransferComplete without a fault.
    Done,
    /// Faulted (the fault, in words).
    Failed(String),
    /// The device does not implement the request (fault 9000: a ScheduleDownload it refused).
    Unsupported,
}

/// What is known of one device now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Its software version.
    pub software_version: String,
    /// When it last informed.
    pub last_inform: Millis,
    /// `Err(why)` when the firmware does not fit it or a precondition fails.
    pub eligible: Result<(), String>,
    /// `Err(why)` when a health-gate check fails on it.
    pub healthy: Result<(), String>,
    /// Its current Download task, if it has one.
    pub download: Option<DownloadOutcome>,
    /// Whether it may take a ScheduleDownload (it speaks CWMP 1.2 or later).
    pub schedule_download: bool,
    /// For a device waiting for its rollback: `Err(why)` when no Firmware of its previous
    /// version fits it (`None`: not looked up).
    pub rollback_image: Option<Result<(), String>>,
}

/// The settings of one tick.
#[derive(Debug, Clone)]
pub struct Tick<'a> {
    /// The rollout's strategy.
    pub strategy: &'a RolloutStrategy,
    /// The version devices must come back on.
    pub target_version: &'a str,
    /// Now.
    pub now: Millis,
    /// `paused` in the spec.
    pub paused: bool,
    /// `abort` in the spec.
    pub abort: bool,
    /// Whether the maintenance window is open (always, without one).
    pub window_open: bool,
    /// While it is closed: when the next window opens and closes.
    pub next_window: Option<(Millis, Millis)>,
    /// Why the maintenance window can never open (a cron expression or time zone that does
    /// not parse), if so: the rollout holds and says why.
    pub window_error: Option<&'a str>,
    /// Devices that may start now under the rate limit.
    pub rate_allowance: u32,
}

/// What the rollout is doing after a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Devices are being upgraded, or the next wave waits for its soak.
    Progressing,
    /// Held: paused in the spec, a failure threshold, an approval, or the window (the
    /// reason says which).
    Paused(String),
    /// Stopped for good.
    Aborted(String),
    /// Every wave is done.
    Complete,
}

/// How a device starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartKind {
    /// A Download of the new firmware, now.
    Download,
    /// A ScheduleDownload of the new firmware for the window from `opens` to `closes`.
    ScheduleDownload {
        /// When the window opens.
        opens: Millis,
        /// When it closes.
        closes: Millis,
    },
    /// A Download of its previous firmware (after an abort).
    Rollback,
}

/// A device to start, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// The device (its record already says where it went).
    pub device: DeviceId,
    /// What to send it.
    pub kind: StartKind,
}

/// What one tick decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickResult {
    /// Devices to start now.
    pub start: Vec<Start>,
    /// Where the rollout stands.
    pub phase: Phase,
    /// The wave that started during this tick, if one did.
    pub wave_started: Option<u32>,
    /// The devices the tick changed.
    pub changed: Changed,
}

/// The devices a tick changed, by their index in the run's devices, each with its record as
/// it was before the tick. A tick touches few devices (those under way and those coming up to
/// start), so the caller writes these instead of comparing every device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed(BTreeMap<usize, RolloutDevice>);

impl Changed {
    /// Lets `change` update the device at `index`, and notes it when it changed.
    fn touch<R>(
        &mut self,
        devices: &mut [RolloutDevice],
        index: usize,
        change: impl FnOnce(&mut RolloutDevice) -> R,
    ) -> R {
        let before = devices[index].clone();
        let result = change(&mut devices[index]);
        if devices[index] != before {
            // A device changed twice keeps its record from before the first change.
            self.0.entry(index).or_insert(before);
        }
        result
    }

    /// The changed devices' indexes, in order, each with its record from before the tick.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &RolloutDevice)> + '_ {
        self.0.iter().map(|(index, before)| (*index, before))
    }
}

/// Counts of devices by phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Not started.
    pub pending: u64,
    /// Waiting for the window.
    pub scheduled: u64,
    /// Downloading.
    pub downloading: u64,
    /// Installing or soaking.
    pub installing: u64,
    /// Succeeded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
    /// Skipped.
    pub skipped: u64,
    /// Waiting for or under their rollback.
    pub rolling_back: u64,
    /// Rolled back.
    pub rolled_back: u64,
}

impl Counts {
    /// Counts the devices (all waves, or only `wave`).
    pub fn of<'d>(
        devices: impl IntoIterator<Item = &'d RolloutDevice>,
        wave: Option<u32>,
    ) -> Counts {
        let mut counts = Counts::default();
        for device in devices {
            if wave.is_some_and(|w| device.wave != w) {
                continue;
            }
            let slot = match device.phase {
                DevicePhase::Pending => &mut counts.pending,
                DevicePhase::Scheduled | DevicePhase::ScheduledOnDevice => &mut counts.scheduled,
                DevicePhase::Downloading => &mut counts.downloading,
                DevicePhase::Installing | DevicePhase::Soaking => &mut counts.installing,
                DevicePhase::Succeeded => &mut counts.succeeded,
                DevicePhase::Failed => &mut counts.failed,
                DevicePhase::Skipped => &mut counts.skipped,
                DevicePhase::RollbackPending | DevicePhase::RollingBack => &mut counts.rolling_back,
                DevicePhase::RolledBack => &mut counts.rolled_back,
            };
            *slot += 1;
        }
        counts
    }

    /// Devices counted.
    pub fn total(&self) -> u64 {
        self.pending
            + self.scheduled
            + self.downloading
            + self.installing
            + self.succeeded
            + self.failed
            + self.skipped
            + self.rolling_back
            + self.rolled_back
    }
}

/// Moves a device to `phase` from now on.
fn set(device: &mut RolloutDevice, phase: DevicePhase, now: Millis, reason: &str) {
    device.phase = phase;
    device.since = now;
    device.reason = reason.to_string();
}

/// A device's phase moved on from what was observed of it.
fn observe(device: &mut RolloutDevice, seen: &Observation, tick: &Tick<'_>) {
    let now = tick.now;
    let strategy = tick.strategy;
    let timeout = Millis::from(strategy.device_timeout_seconds) * 1000;
    let on_target = seen.software_version == tick.target_version;
    let retry_or_fail = |device: &mut RolloutDevice, why: &str| {
        if device.attempts <= strategy.retries {
            set(device, DevicePhase::Pending, now, why);
            device.task_id = None;
        } else {
            set(device, DevicePhase::Failed, now, why);
        }
    };
    let back_on_target = |device: &mut RolloutDevice| {
        set(device, DevicePhase::Soaking, now, "");
        device.reached_target = true;
    };
    match device.phase {
        // An attempt thought failed (it faulted or timed out) that completed after all: the
        // device came back on the target version while waiting for its retry.
        DevicePhase::Pending | DevicePhase::Scheduled if on_target && device.attempts > 0 => {
            back_on_target(device)
        }
        DevicePhase::Pending | DevicePhase::Scheduled => {
            if on_target {
                set(
                    device,
                    DevicePhase::Skipped,
                    now,
                    "already on the target version",
                );
            } else if let Err(why) = &seen.eligible {
                set(device, DevicePhase::Skipped, now, why);
            }
        }
        DevicePhase::Downloading | DevicePhase::ScheduledOnDevice => match &seen.download {
            // A retry not yet sent is withdrawn once an earlier attempt proves to have
            // upgraded the device: it must not download the image twice.
            Some(DownloadOutcome::Queued) if on_target => {
                device.task_id = None;
                back_on_target(device)
            }
            _ if on_target => back_on_target(device),
            Some(DownloadOutcome::Done) => set(device, DevicePhase::Installing, now, ""),
            Some(DownloadOutcome::Failed(fault)) => {
                retry_or_fail(device, &format!("download failed: {fault}"))
            }
            Some(DownloadOutcome::Unsupported) => {
                // Refused ScheduleDownload: its work is held for the window instead.
                device.no_schedule_download = true;
                device.attempts = device.attempts.saturating_sub(1);
                device.task_id = None;
                set(
                    device,
                    DevicePhase::Scheduled,
                    now,
                    "waiting for the maintenance window (the device refused ScheduleDownload)",
                );
            }
            Some(DownloadOutcome::Queued) | None if now >= device.started + timeout => {
                // Never reached the device: it was offline through its wave.
                set(
                    device,
                    DevicePhase::Skipped,
                    now,
                    "offline: no session since its download was queued",
                );
            }
            Some(DownloadOutcome::Accepted) if now >= device.started + timeout => {
                retry_or_fail(device, "download timed out")
            }
            _ => {}
        },
        DevicePhase::Installing => {
            if on_target {
                back_on_target(device);
            } else if now >= device.started + timeout {
                set(
                    device,
                    DevicePhase::Failed,
                    now,
                    &format!(
                        "did not come back on version {} (reports {:?})",
                        tick.target_version, seen.software_version
                    ),
                );
            }
        }
        DevicePhase::Soaking => {
            let soak = Millis::from(strategy.health_gate.soak_seconds) * 1000;
            if !on_target {
                device.reached_target = false;
                set(
                    device,
                    DevicePhase::Failed,
                    now,
                    &format!("went back to version {:?}", seen.software_version),
                );
            } else if let Err(why) = &seen.healthy {
                set(
                    device,
                    DevicePhase::Failed,
                    now,
                    &format!("health check: {why}"),
                );
            } else if soak == 0
                || (seen.last_inform >= device.since + soak && now >= device.since + soak)
            {
                set(device, DevicePhase::Succeeded, now, "");
            } else if now >= device.since + soak + timeout {
                set(
                    device,
                    DevicePhase::Failed,
                    now,
                    "stopped informing after the upgrade",
                );
            }
        }
        DevicePhase::RollbackPending | DevicePhase::RollingBack
            if seen.software_version == device.from_version =>
        {
            let reason = format!("back on version {}", device.from_version);
            set(device, DevicePhase::RolledBack, now, &reason);
        }
        DevicePhase::RollbackPending => {
            if let Some(Err(why)) = &seen.rollback_image {
                set(
                    device,
                    DevicePhase::Failed,
                    now,
                    &format!("cannot roll back: {why}"),
                );
            }
        }
        DevicePhase::RollingBack => {
            let failed = match &seen.download {
                Some(DownloadOutcome::Failed(fault)) => Some(format!("download failed: {fault}")),
                Some(DownloadOutcome::Unsupported) => Some("download refused".to_string()),
                Some(_) | None if now >= device.started + timeout => Some(format!(
                    "not back on version {} in time",
                    device.from_version
                )),
                _ => None,
            };
            if let Some(why) = failed {
                if device.attempts <= strategy.retries {
                    device.task_id = None;
                    set(device, DevicePhase::RollbackPending, now, &why);
                } else {
                    set(
                        device,
                        DevicePhase::Failed,
                        now,
                        &format!("rollback failed: {why}"),
                    );
                }
            }
        }
        DevicePhase::Succeeded
        | DevicePhase::Failed
        | DevicePhase::Skipped
        | DevicePhase::RolledBack => {}
    }
}

/// Whether an aborted rollout's device is to go back to its previous firmware: it came back
/// on the new one (and is done or watched).
fn to_roll_back(device: &RolloutDevice) -> bool {
    device.reached_target
        && !device.from_version.is_empty()
        && matches!(
            device.phase,
            DevicePhase::Soaking | DevicePhase::Succeeded | DevicePhase::Failed
        )
}

/// Whether a device holds a slot of `maxInFlight`.
fn in_flight(device: &RolloutDevice) -> bool {
    matches!(
        device.phase,
        DevicePhase::Downloading | DevicePhase::ScheduledOnDevice | DevicePhase::RollingBack
    )
}

/// Whether a rollout has nothing left to do: complete, or aborted with no device under way
/// and none left to roll back.
pub fn settled(run: &RolloutRun, devices: &[RolloutDevice], strategy: &RolloutStrategy) -> bool {
    run.completed.is_some()
        || (run.aborted.is_some()
            && !devices.iter().any(|d| {
                matches!(
                    d.phase,
                    DevicePhase::Downloading
                        | DevicePhase::ScheduledOnDevice
                        | DevicePhase::Installing
                        | DevicePhase::Soaking
                        | DevicePhase::RollbackPending
                        | DevicePhase::RollingBack
                ) || (strategy.rollback_on_abort && to_roll_back(d))
            }))
}

/// Whether a wave's failures exceed the threshold: beyond `count`, or beyond `percent` of
/// the wave's devices.
pub fn threshold_exceeded(strategy: &RolloutStrategy, failed: u64, wave_size: u64) -> bool {
    let threshold = &strategy.failure_threshold;
    let over_count = threshold.count.is_some_and(|c| failed > u64::from(c));
    let over_share = threshold
        .percent
        .is_some_and(|p| failed * 100 > u64::from(p) * wave_size.max(1));
    over_count || over_share
}

/// One tick of a rollout: observes the devices under way, moves the wave on, and picks the
/// devices to start. `observation` is asked for devices of started waves that are under way,
/// and for waiting devices in order as they come up for a start; `None` (not read this tick)
/// ends the starts for this tick.
pub fn advance(
    run: &mut RolloutRun,
    devices: &mut [RolloutDevice],
    mut observation: impl FnMut(&RolloutDevice) -> Option<Observation>,
    tick: &Tick<'_>,
) -> TickResult {
    let now = tick.now;
    let strategy = tick.strategy;
    let mut wave_started = None;
    if tick.abort && run.aborted.is_none() {
        run.aborted = Some("aborted in the spec".to_string());
    }
    let waiting =
        |d: &RolloutDevice| matches!(d.phase, DevicePhase::Pending | DevicePhase::Scheduled);
    let mut changed = Changed::default();
    for index in 0..devices.len() {
        let device = &devices[index];
        if device.wave <= run.current_wave && !device.phase.is_final() && !waiting(device) {
            if let Some(observed) = observation(device) {
                changed.touch(devices, index, |device| observe(device, &observed, tick));
            }
        }
    }
    let waves = run.waves.len() as u32;
    // Failures beyond the threshold in the current wave hold or abort the rollout.
    let current = Counts::of(devices.iter(), Some(run.current_wave));
    let mut held = None;
    if run.aborted.is_none() && threshold_exceeded(strategy, current.failed, current.total()) {
        let why = format!(
            "wave {} has {} failed devices of {}, beyond the failure threshold",
            run.current_wave,
            current.failed,
            current.total()
        );
        match strategy.failure_threshold.action {
            ThresholdAction::Abort => run.aborted = Some(why),
            ThresholdAction::Pause => held = Some(why),
        }
    }
    let mut budget = strategy
        .max_in_flight
        .saturating_sub(devices.iter().filter(|d| in_flight(d)).count() as u32)
        .min(tick.rate_allowance);
    if let Some(why) = &run.aborted {
        let start = if strategy.rollback_on_abort {
            roll_back(devices, &mut changed, &mut observation, tick, &mut budget)
        } else {
            Vec::new()
        };
        return TickResult {
            start,
            phase: Phase::Aborted(why.clone()),
            wave_started,
            changed,
        };
    }
    if held.is_none() && tick.paused {
        held = Some("paused in the spec".to_string());
    }
    // The wave moves on once all its devices are done and its soak has passed.
    while held.is_none() && run.completed.is_none() {
        let wave = Counts::of(devices.iter(), Some(run.current_wave));
        if wave.total() != wave.succeeded + wave.failed + wave.skipped {
            break;
        }
        let done_at = *run.wave_done_at.get_or_insert(now);
        if now < done_at + wave_soak_ms(strategy, run.current_wave) {
            break;
        }
        let next = run.current_wave + 1;
        if next >= waves {
            run.completed = Some(now);
            break;
        }
        let approved = run_approved(strategy, next);
        if !approved {
            held = Some(format!("wave {next} waits for approval (approvedWave)"));
            break;
        }
        run.current_wave = next;
        run.wave_done_at = None;
        wave_started = Some(next);
    }
    if run.completed.is_some() {
        return TickResult {
            start: Vec::new(),
            phase: Phase::Complete,
            wave_started,
            changed,
        };
    }
    if let Some(why) = held {
        return TickResult {
            start: Vec::new(),
            phase: Phase::Paused(why),
            wave_started,
            changed,
        };
    }
    // Devices of started waves start within the window, the in-flight limit and the rate;
    // outside the window, those that take it get a ScheduleDownload for the next one.
    let mut start = Vec::new();
    for index in 0..devices.len() {
        let device = &devices[index];
        if !waiting(device) || device.wave > run.current_wave {
            continue;
        }
        let schedule_for = match (tick.window_open, tick.next_window) {
            (true, _) => None,
            (false, Some(window)) if !device.no_schedule_download => Some(window),
            (false, _) => {
                hold_for_window(devices, &mut changed, index, now);
                continue;
            }
        };
        if budget == 0 {
            if schedule_for.is_some() {
                hold_for_window(devices, &mut changed, index, now);
                continue;
            }
            break;
        }
        // Devices already on the version, or that the firmware does not fit, are left out
        // as they come up.
        let Some(observed) = observation(device) else {
            break;
        };
        let kind = changed.touch(devices, index, |device| {
            observe(device, &observed, tick);
            if !waiting(device) {
                return None;
            }
            let kind = match schedule_for {
                None => StartKind::Download,
                Some((opens, closes)) if observed.schedule_download => {
                    StartKind::ScheduleDownload { opens, closes }
                }
                Some(_) => {
                    wait_for_window(device, now);
                    return None;
                }
            };
            device.attempts += 1;
            device.task_id = None;
            if device.from_version.is_empty() {
                device.from_version = observed.software_version.clone();
            }
            match kind {
                StartKind::ScheduleDownload { closes, .. } => {
                    device.started = closes;
                    set(device, DevicePhase::ScheduledOnDevice, now, "");
                }
                _ => {
                    device.started = now;
                    set(device, DevicePhase::Downloading, now, "");
                }
            }
            Some(kind)
        });
        let Some(kind) = kind else {
            continue;
        };
        budget -= 1;
        start.push(Start {
            device: devices[index].device.clone(),
            kind,
        });
    }
    let phase = match (tick.window_open, tick.window_error) {
        (true, _) => Phase::Progressing,
        (false, Some(error)) => {
            Phase::Paused(format!("the maintenance window never opens: {error}"))
        }
        (false, None) => Phase::Paused("outside the maintenance window".to_string()),
    };
    TickResult {
        start,
        phase,
        wave_started,
        changed,
    }
}

/// Holds the waiting device at `index` until the window opens.
fn hold_for_window(
    devices: &mut [RolloutDevice],
    changed: &mut Changed,
    index: usize,
    now: Millis,
) {
    // Only a Pending device changes: checked first, so that the many devices held already
    // are not copied at every tick.
    if devices[index].phase == DevicePhase::Pending {
        changed.touch(devices, index, |device| wait_for_window(device, now));
    }
}

/// A Pending device waits for the window.
fn wait_for_window(device: &mut RolloutDevice, now: Millis) {
    if device.phase == DevicePhase::Pending {
        set(
            device,
            DevicePhase::Scheduled,
            now,
            "waiting for the maintenance window",
        );
    }
}

/// After an abort: devices that took the new firmware wait for their rollback, and those
/// waiting start it within the budget.
fn roll_back(
    devices: &mut [RolloutDevice],
    changed: &mut Changed,
    observation: &mut impl FnMut(&RolloutDevice) -> Option<Observation>,
    tick: &Tick<'_>,
    budget: &mut u32,
) -> Vec<Start> {
    let now = tick.now;
    let mut start = Vec::new();
    for index in 0..devices.len() {
        if to_roll_back(&devices[index]) {
            changed.touch(devices, index, |device| {
                device.reached_target = false;
                device.attempts = 0;
                device.task_id = None;
                let reason = format!("to roll back to version {}", device.from_version);
                set(device, DevicePhase::RollbackPending, now, &reason);
            });
        }
        if devices[index].phase != DevicePhase::RollbackPending || *budget == 0 {
            continue;
        }
        let Some(observed) = observation(&devices[index]) else {
            continue;
        };
        let rolls_back = changed.touch(devices, index, |device| {
            observe(device, &observed, tick);
            if device.phase != DevicePhase::RollbackPending || observed.rollback_image.is_none() {
                return false;
            }
            device.attempts += 1;
            device.started = now;
            let reason = format!("rolling back to version {}", device.from_version);
            set(device, DevicePhase::RollingBack, now, &reason);
            true
        });
        if rolls_back {
            *budget -= 1;
            start.push(Start {
                device: devices[index].device.clone(),
                kind: StartKind::Rollback,
            });
        }
    }
    start
}

fn run_approved(strategy: &RolloutStrategy, wave: u32) -> bool {
    !strategy.approval_required.contains(&wave) || strategy.approved_wave.is_some_and(|a| a >= wave)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crds::firmware::{Canary, FailureThreshold, RolloutStep};

    fn strategy() -> RolloutStrategy {
        RolloutStrategy {
            canary: Canary {
                count: Some(2),
                percent: None,
                soak_seconds: 0,
            },
            steps: vec![
                RolloutStep {
                    percent: 50,
                    soak_seconds: 0,
                },
                RolloutStep {
                    percent: 100,
                    soak_seconds: 0,
                },
            ],
            max_in_flight: 100,
            rate_per_minute: 6000,
            failure_threshold: FailureThreshold {
                count: None,
                percent: Some(10),
                action: ThresholdAction::Pause,
            },
            ..RolloutStrategy::default()
        }
    }

    #[test]
    fn waves_follow_canary_and_steps() {
        let s = strategy();
        assert_eq!(plan_waves(10, &s), vec![2, 3, 5]);
        assert_eq!(plan_waves(1000, &s), vec![2, 498, 500]);
        assert_eq!(plan_waves(1, &s), vec![1]);
        let mut percent = s.clone();
        percent.canary = Canary {
            count: None,
            percent: Some(5),
            soak_seconds: 0,
        };
        // Steps in any order; a missing 100 % gets a last wave.
        percent.steps = vec![
            RolloutStep {
                percent: 30,
                soak_seconds: 0,
            },
            RolloutStep {
                percent: 10,
                soak_seconds: 0,
            },
        ];
        assert_eq!(plan_waves(100, &percent), vec![5, 5, 20, 70]);
        let assigned = assign_waves(
            (0..10).map(|i| DeviceId(format!("dev{i}"))).collect(),
            &plan_waves(10, &s),
            0,
        );
        let per_wave: Vec<usize> = (0..3)
            .map(|w| assigned.iter().filter(|d| d.wave == w).count())
            .collect();
        assert_eq!(per_wave, vec![2, 3, 5]);
    }

    /// What a test device is: (version, last inform, download outcome).
    type State = (String, Millis, Option<DownloadOutcome>);

    struct Fleet {
        run: RolloutRun,
        devices: Vec<RolloutDevice>,
        state: std::collections::HashMap<String, State>,
    }

    impl Fleet {
        fn new(n: u32, s: &RolloutStrategy) -> Fleet {
            let waves = plan_waves(n, s);
            let devices = assign_waves(
                (0..n).map(|i| DeviceId(format!("d{i}"))).collect(),
                &waves,
                0,
            );
            let state = devices
                .iter()
                .map(|d| (d.device.0.clone(), ("1.0".to_string(), 0, None)))
                .collect();
            Fleet {
                run: RolloutRun {
                    plan_hash: 1,
                    started: 0,
                    waves,
                    current_wave: 0,
                    wave_done_at: None,
                    aborted: None,
                    completed: None,
                    held: None,
                    revision: 0,
                },
                devices,
                state,
            }
        }

        fn tick(
            &mut self,
            s: &RolloutStrategy,
            now: Millis,
            paused: bool,
            window: bool,
        ) -> TickResult {
            let state = self.state.clone();
            let tick = Tick {
                strategy: s,
                target_version: "2.0",
                now,
                paused,
                abort: false,
                window_open: window,
                next_window: None,
                window_error: None,
                rate_allowance: 1000,
            };
            let before = self.devices.clone();
            let result = advance(
                &mut self.run,
                &mut self.devices,
                |d| {
                    let (version, last, download) = state[&d.device.0].clone();
                    Some(Observation {
                        software_version: version,
                        last_inform: last,
                        eligible: Ok(()),
                        healthy: Ok(()),
                        download,
                        schedule_download: false,
                        rollback_image: None,
                    })
                },
                &tick,
            );
            for start in &result.start {
                self.state.get_mut(&start.device.0).unwrap().2 = Some(DownloadOutcome::Queued);
            }
            assert_changes_noted(&before, &self.devices, &result.changed);
            result
        }

        /// The devices of the canary wave.
        fn canary(&self) -> Vec<String> {
            self.devices
                .iter()
                .filter(|d| d.wave == 0)
                .map(|d| d.device.0.clone())
                .collect()
        }

        /// Devices downloading finish: `fail` of them fault, the rest come back on 2.0.
        fn devices_act(&mut self, now: Millis, fail: &dyn Fn(&str) -> bool) {
            for (id, (version, last, download)) in self.state.iter_mut() {
                if download.is_some() && version != "2.0" {
                    if fail(id) {
                        *download = Some(DownloadOutcome::Failed("9010 download failure".into()));
                    } else {
                        *download = Some(DownloadOutcome::Done);
                        *version = "2.0".into();
                        *last = now;
                    }
                }
            }
        }
    }

    #[test]
    fn a_healthy_fleet_goes_wave_by_wave_to_complete() {
        let s = strategy();
        let mut fleet = Fleet::new(10, &s);
        let first = fleet.tick(&s, 1, false, true);
        assert_eq!(first.start.len(), 2, "the canary starts alone");
        let mut now = 1;
        let mut waves_started = vec![];
        for _ in 0..10 {
            now += 1000;
            fleet.devices_act(now, &|_| false);
            let result = fleet.tick(&s, now + 1, false, true);
            waves_started.extend(result.wave_started);
            if result.phase == Phase::Complete {
                break;
            }
        }
        assert_eq!(waves_started, vec![1, 2]);
        assert!(fleet.run.completed.is_some());
        let counts = Counts::of(fleet.devices.iter(), None);
        assert_eq!(counts.succeeded, 10);
    }

    #[test]
    fn failures_beyond_the_threshold_hold_the_rollout_after_the_canary() {
        let s = strategy();
        let mut fleet = Fleet::new(10, &s);
        fleet.tick(&s, 1, false, true);
        let canary = fleet.canary();
        // One canary device fails, twice (retries: 1).
        let bad = canary[0].clone();
        for round in 0..3 {
            let now = 1000 * (round + 1);
            fleet.devices_act(now, &|id| id == bad);
            fleet.tick(&s, now + 1, false, true);
        }
        let result = fleet.tick(&s, 10_000, false, true);
        assert!(
            matches!(result.phase, Phase::Paused(ref why) if why.contains("failure threshold")),
            "{result:?}"
        );
        assert_eq!(fleet.run.current_wave, 0);
        let failed: Vec<_> = fleet
            .devices
            .iter()
            .filter(|d| d.phase == DevicePhase::Failed)
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].attempts, 2, "retried once");
        assert!(failed[0].reason.contains("9010"));
        // Nobody of wave 1 started.
        assert!(fleet
            .devices
            .iter()
            .filter(|d| d.wave > 0)
            .all(|d| d.phase == DevicePhase::Pending));
    }

    #[test]
    fn an_attempt_thought_failed_that_upgraded_the_device_is_not_repeated() {
        let s = strategy();
        let mut fleet = Fleet::new(10, &s);
        fleet.tick(&s, 1, false, true);
        let canary = fleet.canary();
        // Both canaries' Downloads fault (say, sent twice and refused the second time), yet
        // both devices install the first one.
        for id in &canary {
            fleet.state.get_mut(id).unwrap().2 =
                Some(DownloadOutcome::Failed("9004 Resources exceeded".into()));
        }
        // The first gets its retry queued; the second's retry waits (the rollout is paused).
        let (first, second) = (
            fleet_index(&fleet, &canary[0]),
            fleet_index(&fleet, &canary[1]),
        );
        fleet.tick(&s, 2, true, true);
        assert!(fleet.devices[first].attempts == 1 && fleet.devices[second].attempts == 1);
        assert_eq!(fleet.devices[first].phase, DevicePhase::Pending);
        let restart = fleet.tick(&s, 3, false, true);
        assert!(restart.start.iter().any(|st| st.device.0 == canary[0]));
        fleet.devices[first].task_id = Some("retry".into());
        fleet.state.get_mut(&canary[1]).unwrap().2 = None;
        for id in &canary {
            fleet.state.get_mut(id).unwrap().0 = "2.0".into();
        }
        fleet.tick(&s, 4, false, true);
        let retried = &fleet.devices[first];
        assert_eq!(retried.phase, DevicePhase::Soaking);
        assert_eq!(retried.task_id, None, "the unsent retry is withdrawn");
        assert_eq!(retried.attempts, 2);
        fleet.tick(&s, 5, false, true);
        let counts = Counts::of(fleet.devices.iter(), Some(0));
        assert_eq!(counts.succeeded, 2, "upgraded, not skipped: {counts:?}");
    }

    fn fleet_index(fleet: &Fleet, id: &str) -> usize {
        fleet.devices.iter().position(|d| d.device.0 == id).unwrap()
    }

    #[test]
    fn pause_and_window_hold_new_starts() {
        let s = strategy();
        let mut fleet = Fleet::new(10, &s);
        let paused = fleet.tick(&s, 1, true, true);
        assert!(paused.start.is_empty());
        assert_eq!(paused.phase, Phase::Paused("paused in the spec".into()));
        let closed = fleet.tick(&s, 2, false, false);
        assert!(closed.start.is_empty());
        assert_eq!(Counts::of(fleet.devices.iter(), Some(0)).scheduled, 2);
        let open = fleet.tick(&s, 3, false, true);
        assert_eq!(open.start.len(), 2);
    }

    #[test]
    fn a_device_that_never_comes_back_fails_the_health_gate() {
        let s = strategy();
        let mut fleet = Fleet::new(2, &s);
        fleet.tick(&s, 1, false, true);
        // Downloads done, but the devices never report the new version (bricked).
        for (_, (_, _, download)) in fleet.state.iter_mut() {
            *download = Some(DownloadOutcome::Done);
        }
        fleet.tick(&s, 2, false, true);
        assert_eq!(Counts::of(fleet.devices.iter(), None).installing, 2);
        let timeout = Millis::from(s.device_timeout_seconds) * 1000;
        fleet.tick(&s, timeout + 10, false, true);
        let counts = Counts::of(fleet.devices.iter(), None);
        assert_eq!(counts.failed, 2);
        assert!(fleet.devices[0]
            .reason
            .contains("did not come back on version 2.0"));
    }

    #[test]
    fn devices_already_on_target_are_skipped_and_approval_gates_waves() {
        let mut s = strategy();
        s.approval_required = vec![1];
        let mut fleet = Fleet::new(10, &s);
        for (_, (version, _, _)) in fleet.state.iter_mut() {
            *version = "2.0".into();
        }
        fleet.tick(&s, 1, false, true);
        assert_eq!(Counts::of(fleet.devices.iter(), Some(0)).skipped, 2);
        let result = fleet.tick(&s, 2, false, true);
        assert_eq!(
            result.phase,
            Phase::Paused("wave 1 waits for approval (approvedWave)".into())
        );
        s.approved_wave = Some(1);
        let phases: Vec<Phase> = (3..8)
            .map(|now| fleet.tick(&s, now, false, true).phase)
            .collect();
        assert_eq!(phases.last(), Some(&Phase::Complete), "{phases:?}");
        assert_eq!(Counts::of(fleet.devices.iter(), None).skipped, 10);
    }

    /// A tick with every setting given, observing the devices from `state`.
    fn tick_with(
        fleet: &mut Fleet,
        tick: &Tick<'_>,
        observe: &dyn Fn(&str, &State) -> Observation,
    ) -> TickResult {
        let state = fleet.state.clone();
        let before = fleet.devices.clone();
        let result = advance(
            &mut fleet.run,
            &mut fleet.devices,
            |d| Some(observe(&d.device.0, &state[&d.device.0])),
            tick,
        );
        assert_changes_noted(&before, &fleet.devices, &result.changed);
        result
    }

    /// Every device that differs after a tick is among those it says it changed, each noted
    /// with its record from before the tick.
    fn assert_changes_noted(before: &[RolloutDevice], after: &[RolloutDevice], changed: &Changed) {
        let noted: BTreeMap<usize, &RolloutDevice> = changed.iter().collect();
        for (index, (old, new)) in before.iter().zip(after).enumerate() {
            if old != new {
                assert_eq!(
                    noted.get(&index),
                    Some(&old),
                    "device {index} changed unnoted"
                );
            }
        }
        for (index, old) in noted {
            assert_eq!(
                old, &before[index],
                "device {index} noted with another record"
            );
        }
    }

    fn seen(version: &str, download: Option<DownloadOutcome>) -> Observation {
        Observation {
            software_version: version.to_string(),
            last_inform: 0,
            eligible: Ok(()),
            healthy: Ok(()),
            download,
            schedule_download: true,
            rollback_image: None,
        }
    }

    /// A tick at 1 s, outside the maintenance window, which opens at 50 s and closes at 80 s.
    fn outside_the_window(s: &RolloutStrategy) -> Tick<'_> {
        Tick {
            strategy: s,
            target_version: "2.0",
            now: 1_000,
            paused: false,
            abort: false,
            window_open: false,
            next_window: Some((50_000, 80_000)),
            window_error: None,
            rate_allowance: 1000,
        }
    }

    #[test]
    fn a_window_that_never_opens_holds_the_rollout_and_says_why() {
        let s = strategy();
        let mut fleet = Fleet::new(10, &s);
        let tick = Tick {
            next_window: None,
            window_error: Some(
                "strategy.maintenanceWindow.timeZone \"Mars/Olympus\" is not an IANA time zone",
            ),
            ..outside_the_window(&s)
        };
        let result = tick_with(&mut fleet, &tick, &|_, (v, _, dl)| seen(v, dl.clone()));
        assert!(result.start.is_empty(), "{:?}", result.start);
        assert_eq!(
            result.phase,
            Phase::Paused(
                "the maintenance window never opens: strategy.maintenanceWindow.timeZone \"Mars/Olympus\" is not an IANA time zone".to_string()
            )
        );
    }

    #[test]
    fn outside_the_window_devices_that_take_it_get_a_schedule_download() {
        let s = strategy();
        let mut fleet = Fleet::new(10, &s);
        let tick = outside_the_window(&s);
        let canary = fleet.canary();
        // The first canary device speaks CWMP 1.0: its work is held.
        let old = canary[0].clone();
        let result = tick_with(&mut fleet, &tick, &|id, (v, _, dl)| Observation {
            schedule_download: id != old,
            ..seen(v, dl.clone())
        });
        assert_eq!(
            result.start,
            vec![Start {
                device: DeviceId(canary[1].clone()),
                kind: StartKind::ScheduleDownload {
                    opens: 50_000,
                    closes: 80_000
                }
            }]
        );
        assert!(matches!(result.phase, Phase::Paused(_)));
        let phase = |fleet: &Fleet, id: &str| {
            let d = fleet.devices.iter().find(|d| d.device.0 == id).unwrap();
            (d.phase, d.started, d.from_version.clone())
        };
        assert_eq!(phase(&fleet, &old).0, DevicePhase::Scheduled);
        assert_eq!(
            phase(&fleet, &canary[1]),
            (DevicePhase::ScheduledOnDevice, 80_000, "1.0".to_string())
        );
        assert_eq!(Counts::of(fleet.devices.iter(), Some(0)).scheduled, 2);
        // The device refuses the ScheduleDownload (9000): held for the window, and never
        // asked again.
        let refused = canary[1].clone();
        let later = Tick {
            now: 2_000,
            ..tick.clone()
        };
        let result = tick_with(&mut fleet, &later, &|id, (v, _, _)| {
            let download = (id == refused).then_some(DownloadOutcome::Unsupported);
            Observation {
                schedule_download: id != old,
                ..seen(v, download)
            }
        });
        assert!(result.start.is_empty());
        let device = fleet
            .devices
            .iter()
            .find(|d| d.device.0 == refused)
            .unwrap();
        assert_eq!((device.phase, device.attempts), (DevicePhase::Scheduled, 0));
        assert!(device.no_schedule_download);
        // The window opens: both start with a Download.
        let open = Tick {
            now: 50_000,
            window_open: true,
            next_window: None,
            ..tick.clone()
        };
        let result = tick_with(&mut fleet, &open, &|_, (v, _, dl)| seen(v, dl.clone()));
        assert_eq!(result.start.len(), 2);
        assert!(result.start.iter().all(|s| s.kind == StartKind::Download));
    }

    #[test]
    fn an_abort_rolls_devices_that_took_the_firmware_back() {
        let mut s = strategy();
        s.rollback_on_abort = true;
        let mut fleet = Fleet::new(10, &s);
        fleet.tick(&s, 1, false, true);
        fleet.devices_act(1_000, &|_| false);
        fleet.tick(&s, 1_001, false, true);
        // The canary succeeds and wave 1 starts; one of its devices fails its download, the
        // others are on their way.
        let result = fleet.tick(&s, 1_002, false, true);
        assert_eq!(Counts::of(fleet.devices.iter(), None).succeeded, 2);
        assert_eq!(result.wave_started, Some(1));
        let wave1: Vec<String> = result.start.iter().map(|s| s.device.0.clone()).collect();
        assert_eq!(wave1.len(), 3);
        let failing = wave1[0].clone();
        fleet.devices_act(2_000, &|id| id == failing);
        let abort = Tick {
            strategy: &s,
            target_version: "2.0",
            now: 2_001,
            paused: false,
            abort: true,
            window_open: true,
            next_window: None,
            window_error: None,
            rate_allowance: 1000,
        };
        // A device without a Firmware of its old version cannot go back.
        let orphan = wave1[1].clone();
        let observe = |id: &str, (v, _, dl): &State| {
            let image = if id == orphan {
                Err("no Firmware of version 1.0 fits it".to_string())
            } else {
                Ok(())
            };
            Observation {
                rollback_image: Some(image),
                ..seen(v, dl.clone())
            }
        };
        // The wave-1 devices on the new version are soaking; every device on 2.0 goes back.
        let first = tick_with(&mut fleet, &abort, &observe);
        assert!(matches!(first.phase, Phase::Aborted(_)));
        let rolling: Vec<String> = first.start.iter().map(|s| s.device.0.clone()).collect();
        assert!(first.start.iter().all(|s| s.kind == StartKind::Rollback));
        assert_eq!(
            rolling.len(),
            3,
            "two canary devices and one of wave 1: {rolling:?}"
        );
        assert!(!rolling.contains(&failing) && !rolling.contains(&orphan));
        let orphan_device = fleet.devices.iter().find(|d| d.device.0 == orphan).unwrap();
        assert_eq!(orphan_device.phase, DevicePhase::Failed);
        assert!(orphan_device.reason.starts_with("cannot roll back"));
        assert!(!settled(&fleet.run, &fleet.devices, &s));
        // They come back on 1.0.
        for id in &rolling {
            fleet.state.get_mut(id).unwrap().0 = "1.0".to_string();
        }
        let second = tick_with(
            &mut fleet,
            &Tick {
                now: 3_000,
                ..abort.clone()
            },
            &observe,
        );
        assert!(second.start.is_empty());
        let counts = Counts::of(fleet.devices.iter(), None);
        assert_eq!((counts.rolled_back, counts.rolling_back), (3, 0));
        assert!(fleet
            .devices
            .iter()
            .filter(|d| d.phase == DevicePhase::RolledBack)
            .all(|d| d.reason == "back on version 1.0"));
        assert!(settled(&fleet.run, &fleet.devices, &s));
    }
}
