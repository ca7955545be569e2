//! Staged firmware rollouts, as pure functions: which devices go in which wave
//! ([`plan_waves`], [`assign_waves`]) and what one tick of a rollout does ([`advance`]): each
//! device's phase moves on from what was observed of it, the wave moves on when its devices
//! are done and its soak has passed (and approval, where required, was given), failure
//! thresholds hold or abort the rollout, and new devices start within the window, the
//! in-flight limit and the rate. The caller reads the store, calls [`advance`], queues the
//! Downloads it asks for and writes the records back.

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

/// What one tick decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickResult {
    /// Devices to start a Download for now (their records already say Downloading).
    pub start: Vec<DeviceId>,
    /// Where the rollout stands.
    pub phase: Phase,
    /// The wave that started during this tick, if one did.
    pub wave_started: Option<u32>,
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
                DevicePhase::Scheduled => &mut counts.scheduled,
                DevicePhase::Downloading => &mut counts.downloading,
                DevicePhase::Installing | DevicePhase::Soaking => &mut counts.installing,
                DevicePhase::Succeeded => &mut counts.succeeded,
                DevicePhase::Failed => &mut counts.failed,
                DevicePhase::Skipped => &mut counts.skipped,
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
    match device.phase {
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
        DevicePhase::Downloading => match &seen.download {
            _ if on_target => set(device, DevicePhase::Soaking, now, ""),
            Some(DownloadOutcome::Done) => set(device, DevicePhase::Installing, now, ""),
            Some(DownloadOutcome::Failed(fault)) => {
                retry_or_fail(device, &format!("download failed: {fault}"))
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
                set(device, DevicePhase::Soaking, now, "");
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
        DevicePhase::Succeeded | DevicePhase::Failed | DevicePhase::Skipped => {}
    }
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
    for device in devices.iter_mut() {
        if device.wave <= run.current_wave && !device.phase.is_final() && !waiting(device) {
            if let Some(observed) = observation(device) {
                observe(device, &observed, tick);
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
    if let Some(why) = &run.aborted {
        return TickResult {
            start: Vec::new(),
            phase: Phase::Aborted(why.clone()),
            wave_started,
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
        };
    }
    if let Some(why) = held {
        return TickResult {
            start: Vec::new(),
            phase: Phase::Paused(why),
            wave_started,
        };
    }
    // Devices of started waves start within the window, the in-flight limit and the rate.
    let in_flight = devices
        .iter()
        .filter(|d| d.phase == DevicePhase::Downloading)
        .count() as u32;
    let mut budget = strategy
        .max_in_flight
        .saturating_sub(in_flight)
        .min(tick.rate_allowance);
    let mut start = Vec::new();
    for device in devices.iter_mut() {
        if !waiting(device) || device.wave > run.current_wave {
            continue;
        }
        if !tick.window_open {
            if device.phase == DevicePhase::Pending {
                set(
                    device,
                    DevicePhase::Scheduled,
                    now,
                    "waiting for the maintenance window",
                );
            }
            continue;
        }
        if budget == 0 {
            break;
        }
        // Devices already on the version, or that the firmware does not fit, are left out
        // as they come up.
        let Some(observed) = observation(device) else {
            break;
        };
        observe(device, &observed, tick);
        if !waiting(device) {
            continue;
        }
        budget -= 1;
        device.attempts += 1;
        device.started = now;
        device.task_id = None;
        set(device, DevicePhase::Downloading, now, "");
        start.push(device.device.clone());
    }
    let phase = if tick.window_open {
        Phase::Progressing
    } else {
        Phase::Paused("outside the maintenance window".to_string())
    };
    TickResult {
        start,
        phase,
        wave_started,
    }
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

    struct Fleet {
        run: RolloutRun,
        devices: Vec<RolloutDevice>,
        /// Per device: (version, last inform, download outcome).
        state: std::collections::HashMap<String, (String, Millis, Option<DownloadOutcome>)>,
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
                rate_allowance: 1000,
            };
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
                    })
                },
                &tick,
            );
            for device in &result.start {
                self.state.get_mut(&device.0).unwrap().2 = Some(DownloadOutcome::Queued);
            }
            result
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
        let canary: Vec<String> = fleet
            .devices
            .iter()
            .filter(|d| d.wave == 0)
            .map(|d| d.device.0.clone())
            .collect();
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
}
