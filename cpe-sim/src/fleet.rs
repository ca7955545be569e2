//! Thousands of devices in one process: their state, the sessions they open (one at a time per
//! device), what follows a session (reboots, transfers, scheduled informs), the periodic
//! inform schedule with jitter, and active value-change notification.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, Semaphore};

use crate::device::{Device, Env, Lifecycle};
use crate::events::EventSet;
use crate::fetch;
use crate::http::Endpoint;
use crate::inform::Trigger;
use crate::misbehave::{roll, Misbehaviour, TransferFaults};
use crate::model::Model;
use crate::rpc::Action;
use crate::session::{self, Outcome, SessionReport};
use crate::template::{mix, IdentityConfig};
use crate::transfer::{AfterTransfer, FetchOutcome, Injected, TransferKind};

/// How devices authenticate to the ACS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AcsAuth {
    /// No credentials (answer no challenge).
    #[default]
    None,
    /// Every device uses the same user name and password.
    Shared {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// Each device has its own: its serial number and a derived password
    /// ([`Fleet::acs_credentials`]).
    PerDevice,
}

/// Everything a fleet is made of.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// The data model all devices share.
    pub model: Arc<Model>,
    /// Identity settings (serials, URLs, versions).
    pub identity: IdentityConfig,
    /// Number of devices (indexes `0..devices`).
    pub devices: u32,
    /// Seed of every dice roll.
    pub seed: u64,
    /// ACS authentication.
    pub acs_auth: AcsAuth,
    /// Misbehaviour rates.
    pub misbehaviour: Misbehaviour,
    /// Injected Download outcomes.
    pub transfer_faults: TransferFaults,
    /// Longest a session may take.
    pub session_timeout: Duration,
    /// Longest a transfer may take.
    pub transfer_timeout: Duration,
    /// How long a reboot takes.
    pub reboot_delay: Duration,
    /// Periodic informs come at the interval times `1 ± jitter`.
    pub periodic_jitter: f64,
    /// Retries of a failed session that reports something (boot, transfer), with backoff.
    pub retries: u32,
    /// Each device connects from its own loopback address (`127.1.0.0` onwards) when the ACS
    /// is on loopback, like real devices with their own addresses.
    pub own_source_addresses: bool,
}

impl FleetConfig {
    /// A fleet of `devices` devices of `model` talking to the ACS at `identity.acs_url`.
    pub fn new(model: Arc<Model>, identity: IdentityConfig, devices: u32) -> FleetConfig {
        FleetConfig {
            model,
            identity,
            devices,
            seed: 1,
            acs_auth: AcsAuth::None,
            misbehaviour: Misbehaviour::default(),
            transfer_faults: TransferFaults::default(),
            session_timeout: Duration::from_secs(60),
            transfer_timeout: Duration::from_secs(60),
            reboot_delay: Duration::from_secs(1),
            periodic_jitter: 0.1,
            retries: 3,
            own_source_addresses: true,
        }
    }
}

/// Session counters of a fleet.
#[derive(Debug, Default)]
pub struct Stats {
    /// Sessions the ACS ended normally.
    pub ok: AtomicU64,
    /// Sessions that failed with nothing injected.
    pub failed: AtomicU64,
    /// Sessions that failed on purpose.
    pub injected: AtomicU64,
    /// CWMP messages exchanged.
    pub rpcs: AtomicU64,
    /// Transfers carried out.
    pub transfers: AtomicU64,
    errors: Mutex<Vec<String>>,
}

impl Stats {
    /// Up to 20 of the first failure messages.
    pub fn errors(&self) -> Vec<String> {
        lock(&self.errors).clone()
    }
}

/// Bit of [`Fleet`]'s per-device flags: a session is running.
const IN_SESSION: u8 = 1;
/// Bit: a connection request came during a session; open another one after it.
const CR_PENDING: u8 = 2;

/// Results of a batch of sessions.
#[derive(Debug, Clone, Default)]
pub struct BatchReport {
    /// Latency of every session that ran (ok or not).
    pub latencies: Vec<Duration>,
    /// Sessions ended normally.
    pub ok: u64,
    /// Sessions failed with nothing injected.
    pub failed: u64,
    /// Sessions failed on purpose.
    pub injected: u64,
    /// Sessions skipped (device silent or busy).
    pub skipped: u64,
    /// CWMP messages exchanged.
    pub rpcs: u64,
    /// Wall time of the batch.
    pub elapsed: Duration,
}

/// A fleet of simulated devices.
pub struct Fleet {
    config: FleetConfig,
    acs: Vec<Endpoint>,
    next_acs: AtomicUsize,
    devices: Box<[Mutex<Device>]>,
    flags: Box<[AtomicU8]>,
    session_counter: AtomicU64,
    stats: Stats,
    background: AtomicUsize,
    idle: Notify,
    watched: Mutex<BTreeSet<u32>>,
}

/// Locks a mutex, ignoring poisoning (the device state stays usable).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Now, Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Fleet {
    /// Creates the devices, all factory-new and booted now.
    pub async fn new(config: FleetConfig) -> Result<Arc<Fleet>, String> {
        let mut acs = Vec::new();
        for url in config.identity.acs_urls() {
            acs.push(Endpoint::parse(url).await?);
        }
        let now = now_ms();
        let devices = (0..config.devices)
            .map(|i| Mutex::new(Device::new(i, now)))
            .collect();
        let flags = (0..config.devices).map(|_| AtomicU8::new(0)).collect();
        Ok(Arc::new(Fleet {
            config,
            acs,
            next_acs: AtomicUsize::new(0),
            devices,
            flags,
            session_counter: AtomicU64::new(0),
            stats: Stats::default(),
            background: AtomicUsize::new(0),
            idle: Notify::new(),
            watched: Mutex::new(BTreeSet::new()),
        }))
    }

    /// The configuration.
    pub fn config(&self) -> &FleetConfig {
        &self.config
    }

    /// The ACS endpoint of the next session: with several, each in turn, as a load balancer
    /// in front of several edges would spread sessions.
    pub fn acs(&self) -> &Endpoint {
        let next = self.next_acs.fetch_add(1, Ordering::Relaxed);
        &self.acs[next % self.acs.len()]
    }

    /// Session counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Number of devices.
    pub fn len(&self) -> u32 {
        self.config.devices
    }

    /// Whether the fleet has no device.
    pub fn is_empty(&self) -> bool {
        self.config.devices == 0
    }

    /// Runs `f` on device `index` with the current time.
    ///
    /// # Panics
    /// If `index` is not a device of this fleet.
    pub fn with_device<R>(&self, index: u32, f: impl FnOnce(&mut Device, &Env<'_>) -> R) -> R {
        let env = Env {
            model: &self.config.model,
            identity: &self.config.identity,
            now_ms: now_ms(),
        };
        let mut device = lock(&self.devices[index as usize]);
        f(&mut device, &env)
    }

    /// The device index of a serial number.
    pub fn index_of(&self, serial: &str) -> Option<u32> {
        self.config
            .identity
            .index_of(serial)
            .filter(|&i| i < self.config.devices)
    }

    /// The credentials device `index` presents to the ACS, if any.
    pub fn acs_credentials(&self, index: u32) -> Option<(String, String)> {
        match &self.config.acs_auth {
            AcsAuth::None => None,
            AcsAuth::Shared { username, password } => Some((username.clone(), password.clone())),
            AcsAuth::PerDevice => Some((
                self.config.identity.serial(index),
                format!("{:016x}", mix(self.config.seed ^ mix(u64::from(index) + 1))),
            )),
        }
    }

    /// The connection-request credentials device `index` checks now (the factory ones unless
    /// the ACS changed them).
    pub fn cr_credentials(&self, index: u32) -> (String, String) {
        self.with_device(index, |device, env| {
            let roles = env.model.roles();
            (
                device
                    .role_value(env, roles.cr_username)
                    .unwrap_or_else(|| env.identity.cr_username(index)),
                device
                    .role_value(env, roles.cr_password)
                    .unwrap_or_else(|| env.identity.cr_password(index)),
            )
        })
    }

    /// Whether device `index` went silent for good.
    pub fn is_silent(&self, index: u32) -> bool {
        self.with_device(index, |device, _| device.lifecycle == Lifecycle::Silent)
    }

    /// The failure injected into device `index`'s downloads.
    pub fn injected_transfer(&self, index: u32) -> Injected {
        self.config
            .transfer_faults
            .injected(self.config.seed, index)
    }

    /// A parameter's real value on device `index`.
    pub fn value(&self, index: u32, path: &str) -> Option<String> {
        self.with_device(index, |device, env| {
            let r = device.resolve(env, path)?;
            env.model
                .node(r.node())
                .is_param()
                .then(|| device.value(env, r))
        })
    }

    /// Changes a value the way the device itself would (a user, a counter): with active
    /// notification on, the device informs `4 VALUE CHANGE` at once.
    pub fn set_value(self: &Arc<Self>, index: u32, path: &str, value: &str) -> Result<(), String> {
        let active = self.with_device(index, |device, env| {
            let r = device
                .resolve(env, path)
                .filter(|r| env.model.node(r.node()).is_param())
                .ok_or_else(|| format!("no parameter {path}"))?;
            device.store_value(env, r, value);
            Ok::<bool, String>(device.attribute(r).notification == 2)
        })?;
        if active {
            self.spawn_session(index, Trigger::Pending);
        }
        Ok(())
    }

    /// Bytes per device: the fixed part, and the heap part summed over the fleet.
    pub fn memory(&self) -> (usize, usize) {
        let fixed = std::mem::size_of::<Mutex<Device>>() + std::mem::size_of::<AtomicU8>();
        let heap = (0..self.len())
            .map(|i| self.with_device(i, |d, _| d.heap_bytes()))
            .sum();
        (fixed, heap)
    }

    // ----- sessions -----

    /// Runs one session of device `index` now (or notes a connection request for after the
    /// running one), then starts what follows it in the background.
    pub async fn session(self: &Arc<Self>, index: u32, trigger: Trigger) -> SessionReport {
        let flags = &self.flags[index as usize];
        if flags.fetch_or(IN_SESSION, Ordering::AcqRel) & IN_SESSION != 0 {
            if trigger == Trigger::ConnectionRequest {
                flags.fetch_or(CR_PENDING, Ordering::AcqRel);
            }
            return SessionReport::skipped(Outcome::Busy);
        }
        let number = self.session_counter.fetch_add(1, Ordering::Relaxed);
        let quirks = self
            .config
            .misbehaviour
            .session(self.config.seed, index, number);
        let report = session::run(self, index, trigger, quirks).await;
        self.record(&report);
        self.watch(index);
        let previous = flags.fetch_and(!(IN_SESSION | CR_PENDING), Ordering::AcqRel);
        for action in &report.actions {
            self.follow_up(index, *action);
        }
        if previous & CR_PENDING != 0 {
            self.spawn_session(index, Trigger::ConnectionRequest);
        }
        report
    }

    fn record(&self, report: &SessionReport) {
        let counter = match &report.outcome {
            Outcome::Ok => &self.stats.ok,
            Outcome::Injected => &self.stats.injected,
            Outcome::Failed(error) => {
                let mut errors = lock(&self.stats.errors);
                if errors.len() < 20 {
                    errors.push(error.clone());
                }
                &self.stats.failed
            }
            Outcome::Silent | Outcome::Busy => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.stats
            .rpcs
            .fetch_add(u64::from(report.rpcs), Ordering::Relaxed);
    }

    /// Keeps the set of devices with active notification up to date.
    fn watch(&self, index: u32) {
        let active = self.with_device(index, |device, _| device.has_active_notification());
        let mut watched = lock(&self.watched);
        if active {
            watched.insert(index);
        } else {
            watched.remove(&index);
        }
    }

    /// A session that reports something: retried with backoff when it fails.
    async fn session_retrying(self: Arc<Self>, index: u32, trigger: Trigger) {
        let mut backoff = Duration::from_millis(500);
        for _ in 0..=self.config.retries {
            match self.session(index, trigger).await.outcome {
                Outcome::Failed(_) | Outcome::Busy => {
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
                _ => return,
            }
        }
    }

    /// Starts a session in the background.
    pub fn spawn_session(self: &Arc<Self>, index: u32, trigger: Trigger) {
        let fleet = Arc::clone(self);
        self.spawn_tracked(fleet.session_retrying(index, trigger));
    }

    /// The connection request of device `index` was accepted: inform `6 CONNECTION REQUEST`.
    pub fn connection_request(self: &Arc<Self>, index: u32) {
        self.spawn_session(index, Trigger::ConnectionRequest);
    }

    /// Spawns follow-up work that [`Fleet::wait_idle`] waits for.
    fn spawn_tracked(
        self: &Arc<Self>,
        work: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        self.background.fetch_add(1, Ordering::AcqRel);
        let fleet = Arc::clone(self);
        tokio::spawn(async move {
            work.await;
            if fleet.background.fetch_sub(1, Ordering::AcqRel) == 1 {
                fleet.idle.notify_waiters();
            }
        });
    }

    /// What a device does after a session.
    fn follow_up(self: &Arc<Self>, index: u32, action: Action) {
        let fleet = Arc::clone(self);
        let delay = self.config.reboot_delay;
        let work = async move {
            match action {
                Action::Reboot => {
                    tokio::time::sleep(delay).await;
                    fleet.with_device(index, |d, env| d.reboot(env));
                    Arc::clone(&fleet)
                        .session_retrying(index, Trigger::Pending)
                        .await;
                }
                Action::FactoryReset => {
                    tokio::time::sleep(delay).await;
                    fleet.with_device(index, |d, env| d.factory_reset(env));
                    Arc::clone(&fleet)
                        .session_retrying(index, Trigger::Pending)
                        .await;
                }
                Action::ScheduleInform(seconds) => {
                    tokio::time::sleep(Duration::from_secs(u64::from(seconds))).await;
                    fleet.with_device(index, |d, _| d.scheduled_inform_due());
                    Arc::clone(&fleet)
                        .session_retrying(index, Trigger::Pending)
                        .await;
                }
                Action::Transfer => Arc::clone(&fleet).transfer(index).await,
            }
        };
        self.spawn_tracked(work);
    }

    /// Carries out the accepted transfer of device `index`, then reboots or informs.
    async fn transfer(self: Arc<Self>, index: u32) {
        let delay = self.with_device(index, |d, _| {
            d.extra()
                .and_then(|e| e.transfer.as_ref())
                .map_or(0, |t| t.delay_seconds)
        });
        tokio::time::sleep(Duration::from_secs(u64::from(delay))).await;
        let Some(transfer) = self.with_device(index, |d, env| d.transfer_to_run(env)) else {
            return;
        };
        let timeout = self.config.transfer_timeout;
        let outcome = match transfer.kind {
            TransferKind::Download | TransferKind::ScheduledDownload => {
                fetch::download(
                    &transfer.url,
                    &transfer.username,
                    &transfer.password,
                    timeout,
                )
                .await
            }
            TransferKind::Upload => {
                let content = self.with_device(index, |d, env| d.config_file(env));
                fetch::upload(
                    &transfer.url,
                    &transfer.username,
                    &transfer.password,
                    content,
                    timeout,
                )
                .await
            }
        };
        if let FetchOutcome::Failed(error) = &outcome {
            let mut errors = lock(&self.stats.errors);
            if errors.len() < 20 {
                errors.push(format!("transfer of device {index}: {error}"));
            }
        }
        self.stats.transfers.fetch_add(1, Ordering::Relaxed);
        let injected = match transfer.kind {
            TransferKind::Download | TransferKind::ScheduledDownload => {
                self.injected_transfer(index)
            }
            TransferKind::Upload => Injected::None,
        };
        let after = self.with_device(index, |d, env| d.transfer_finished(env, &outcome, injected));
        match after {
            AfterTransfer::Reboot => {
                tokio::time::sleep(self.config.reboot_delay).await;
                self.with_device(index, |d, env| d.reboot(env));
                self.session_retrying(index, Trigger::Pending).await;
            }
            AfterTransfer::InformNow => self.session_retrying(index, Trigger::Pending).await,
            AfterTransfer::Silent => {}
        }
    }

    /// Waits until no follow-up work (reboots, transfers, retries) is left, up to `timeout`;
    /// returns whether the fleet is idle.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.idle.notified();
            let busy = self.background.load(Ordering::Acquire) != 0
                || self
                    .flags
                    .iter()
                    .any(|f| f.load(Ordering::Acquire) & IN_SESSION != 0);
            if !busy {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(50)), notified).await;
        }
    }

    /// Runs one session for each of `indexes` with at most `concurrency` at a time, until
    /// done or `deadline`.
    pub async fn run_batch(
        self: &Arc<Self>,
        indexes: Vec<u32>,
        trigger: Trigger,
        concurrency: usize,
        deadline: Instant,
    ) -> BatchReport {
        let started = Instant::now();
        let indexes = Arc::new(indexes);
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::with_capacity(concurrency);
        for _ in 0..concurrency.max(1) {
            let (fleet, indexes, next) =
                (Arc::clone(self), Arc::clone(&indexes), Arc::clone(&next));
            workers.push(tokio::spawn(async move {
                let mut part = BatchReport::default();
                while Instant::now() < deadline {
                    let Some(&index) = indexes.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let report = fleet.session(index, trigger).await;
                    match report.outcome {
                        Outcome::Ok => part.ok += 1,
                        Outcome::Failed(_) => part.failed += 1,
                        Outcome::Injected => part.injected += 1,
                        Outcome::Silent | Outcome::Busy => {
                            part.skipped += 1;
                            continue;
                        }
                    }
                    part.rpcs += u64::from(report.rpcs);
                    part.latencies.push(report.latency);
                }
                part
            }));
        }
        let mut total = BatchReport::default();
        for worker in workers {
            if let Ok(part) = worker.await {
                total.ok += part.ok;
                total.failed += part.failed;
                total.injected += part.injected;
                total.skipped += part.skipped;
                total.rpcs += part.rpcs;
                total.latencies.extend(part.latencies);
            }
        }
        total.elapsed = started.elapsed();
        total
    }

    /// Lives for `duration`: every device informs on its own schedule (first contact spread
    /// over `ramp`, then periodic informs with jitter), at most `concurrency` sessions at a
    /// time, and devices with active notification inform as soon as a watched value changes
    /// (checked every `notify_every`). Stops by itself.
    pub async fn live(
        self: &Arc<Self>,
        duration: Duration,
        ramp: Duration,
        concurrency: usize,
        notify_every: Duration,
    ) {
        let start = Instant::now();
        let deadline = start + duration;
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        let (reschedule, mut rescheduled) =
            tokio::sync::mpsc::unbounded_channel::<(Instant, u32)>();
        let mut due: BinaryHeap<Reverse<(Instant, u32)>> = (0..self.len())
            .map(|i| {
                let offset = ramp.mul_f64(f64::from(i) / f64::from(self.len().max(1)));
                Reverse((start + offset, i))
            })
            .collect();
        let mut next_check = start + notify_every;
        loop {
            while let Ok(entry) = rescheduled.try_recv() {
                due.push(Reverse(entry));
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            while let Some(&Reverse((when, index))) = due.peek() {
                if when > now {
                    break;
                }
                due.pop();
                let (fleet, permits, reschedule) =
                    (Arc::clone(self), Arc::clone(&permits), reschedule.clone());
                tokio::spawn(async move {
                    let Ok(_permit) = permits.acquire_owned().await else {
                        return;
                    };
                    let trigger = fleet.scheduled_trigger(index);
                    if fleet.session(index, trigger).await.outcome == Outcome::Silent {
                        return;
                    }
                    if let Some(next) = fleet.next_periodic(index) {
                        let _ = reschedule.send((Instant::now() + next, index));
                    }
                });
            }
            if now >= next_check {
                next_check = now + notify_every;
                self.check_notifications();
            }
            let wake = due
                .peek()
                .map_or(deadline, |Reverse((when, _))| *when)
                .min(next_check)
                .min(deadline);
            tokio::select! {
                _ = tokio::time::sleep_until(wake.into()) => {}
                entry = rescheduled.recv() => {
                    if let Some(entry) = entry {
                        due.push(Reverse(entry));
                    }
                }
            }
        }
    }

    /// The trigger of a scheduled session: a device that has something to report (first
    /// contact, boot) reports that alone, like real devices do at boot.
    fn scheduled_trigger(&self, index: u32) -> Trigger {
        self.with_device(index, |device, _| {
            if device.pending.contains(EventSet::BOOT) || device.lifecycle == Lifecycle::New {
                Trigger::Pending
            } else {
                Trigger::Periodic
            }
        })
    }

    /// Time to the next periodic inform of device `index`, with jitter.
    fn next_periodic(&self, index: u32) -> Option<Duration> {
        let interval = self.with_device(index, |device, env| device.periodic_interval(env))?;
        let jitter = self.config.periodic_jitter.clamp(0.0, 1.0);
        let r = roll(self.config.seed, index, now_ms());
        let factor = 1.0 + jitter * (2.0 * r - 1.0);
        Some(Duration::from_secs(interval).mul_f64(factor.max(0.01)))
    }

    /// Informs `4 VALUE CHANGE` for watched devices whose actively notified values changed.
    fn check_notifications(self: &Arc<Self>) {
        let watched: Vec<u32> = lock(&self.watched).iter().copied().collect();
        for index in watched {
            let changed = self.with_device(index, |device, env| {
                device
                    .changed_notified(env)
                    .iter()
                    .any(|(_, _, notification)| *notification == 2)
            });
            if changed {
                self.spawn_session(index, Trigger::Pending);
            }
        }
    }
}
