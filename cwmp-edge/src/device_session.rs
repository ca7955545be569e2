//! One device's CWMP session at run time: the pure session state machine and task planner,
//! joined to the store. Every exchange is one store transaction, committed before the reply.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use acs_model::{
    DeviceId, DeviceRecord, FaultRecord, Millis, ParameterRecord, TaskRecord, TaskStatus,
    TransferRecord,
};
use acs_store::parameters::TreeWriter;
use acs_store::{records, StoreError, Transaction};
use cwmp::session::{Incoming, RequestToken, Session};
use cwmp::{Body, CwmpFault, Inform};
use provisioning::inform::{
    completes, data_model_root, diagnostics_objects, read_inform, InformFacts,
};
use provisioning::plan::Step;
use provisioning::resources::ResourceSet;
use provisioning::retry::RetryPolicy;
use provisioning::task_plan::{self, Next, Stage};
use provisioning::tree::{connection_request_credentials, value_updates};
use provisioning::TreeUpdate;

use crate::provision_run::ProvisionRun;

/// Makes unique, time-ordered record ids from the current time.
pub type IdSource = fn(Millis) -> String;

/// Why a request was sent within the session.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    /// A step of a queued task (the task as it was when the step was sent).
    Task { task: Box<TaskRecord>, stage: Stage },
    /// Reading diagnostics results after `8 DIAGNOSTICS COMPLETE`.
    DiagnosticsResults,
    /// A provisioning step.
    Provision(Step),
}

/// What the caller must do after a committed exchange.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Tasks whose record the device changed (done, failed, faulted, or awaiting an event);
    /// API callers waiting on them are woken.
    pub changed_tasks: Vec<String>,
    /// What an operator follows in the log; logged once the exchange is committed, so an
    /// exchange tried again after a store conflict logs nothing twice.
    pub notes: Vec<Note>,
}

/// Something worth one line of the log at `info` (or `warn` for failures).
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// The device's first session with this ACS.
    FirstContact {
        /// Its product class, from the Inform.
        product_class: String,
        /// Its software version, if the Inform carries it.
        software_version: Option<String>,
        /// The address it came from.
        remote: String,
    },
    /// Provisioning brought the device to its desired state.
    ProvisioningApplied {
        /// The profiles in force.
        profiles: String,
        /// RPCs it took in this session (0: it was there already, now known to be).
        rpcs: u32,
    },
    /// A provisioning step faulted.
    ProvisioningFailed {
        /// The profiles in force.
        profiles: String,
        /// The fault, naming the parameters that failed.
        fault: CwmpFault,
        /// Sessions that failed in a row.
        attempts: u32,
        /// Seconds until it is tried again; `None` when it gave up (a fault that can never
        /// succeed, or the last attempt).
        retry_in_s: Option<u64>,
    },
    /// A task finished.
    TaskDone {
        /// The task's id.
        task: String,
        /// What it did (`reboot`, `setParameterValues`...).
        kind: &'static str,
    },
    /// A task faulted: it is tried again in a later session, or, `gave_up`, it failed for good.
    TaskFaulted {
        /// The task's id.
        task: String,
        /// What it did.
        kind: &'static str,
        /// The fault.
        fault: CwmpFault,
        /// Attempts so far.
        attempts: u32,
        /// Whether the task failed for good.
        gave_up: bool,
    },
}

impl Outcome {
    /// Notes a task the device finished.
    fn done(&mut self, task: &TaskRecord) {
        self.changed_tasks.push(task.id.clone());
        self.notes.push(Note::TaskDone {
            task: task.id.clone(),
            kind: task.spec.kind(),
        });
    }
}

impl Note {
    /// Writes the note's line for `device`.
    pub fn log(&self, device: &DeviceId) {
        match self {
            Note::FirstContact {
                product_class,
                software_version,
                remote,
            } => tracing::info!(
                %device,
                %product_class,
                software_version = %software_version.as_deref().unwrap_or(""),
                %remote,
                "new device: first contact"
            ),
            Note::ProvisioningApplied { profiles, rpcs } => {
                tracing::info!(%device, %profiles, rpcs, "provisioning applied")
            }
            Note::ProvisioningFailed {
                profiles,
                fault,
                attempts,
                retry_in_s,
            } => tracing::warn!(
                %device,
                %profiles,
                code = fault.code,
                parameter = %fault.failed_parameters(),
                fault = %fault.describe(),
                attempts,
                retry_in_s,
                "provisioning failed"
            ),
            Note::TaskDone { task, kind } => tracing::info!(%device, %task, %kind, "task done"),
            Note::TaskFaulted {
                task,
                kind,
                fault,
                attempts,
                gave_up,
            } => {
                let (code, parameter, fault) =
                    (fault.code, fault.failed_parameters(), fault.describe());
                if *gave_up {
                    tracing::warn!(%device, %task, %kind, code, %parameter, %fault, attempts, "task failed");
                } else {
                    tracing::warn!(%device, %task, %kind, code, %parameter, %fault, attempts, "task faulted; it is tried again");
                }
            }
        }
    }
}

/// A device's session state between HTTP exchanges (cloned to roll back an exchange whose
/// store transaction conflicted).
#[derive(Clone)]
pub struct DeviceSession {
    /// The protocol state machine.
    pub session: Session,
    /// The device in session.
    pub device: DeviceId,
    root: &'static str,
    next_token: RequestToken,
    in_flight: HashMap<RequestToken, Origin>,
    waiting_tasks: VecDeque<TaskRecord>,
    tried: HashSet<String>,
    rechecked: bool,
    retry: RetryPolicy,
    resources: Arc<ResourceSet>,
    provision: Option<ProvisionRun>,
}

impl DeviceSession {
    /// A session for the device whose Inform is `inform`, provisioned from `resources`.
    pub fn new(
        session_id: &str,
        inform: &Inform,
        retry: RetryPolicy,
        resources: Arc<ResourceSet>,
    ) -> DeviceSession {
        DeviceSession {
            session: Session::new(session_id),
            device: DeviceId::from_identity(&inform.device_id),
            root: data_model_root(inform),
            next_token: 1,
            in_flight: HashMap::new(),
            waiting_tasks: VecDeque::new(),
            tried: HashSet::new(),
            rechecked: false,
            retry,
            resources,
            provision: None,
        }
    }

    /// Applies what the CPE sent to the store (within `txn`, which the caller commits) and
    /// queues the next requests.
    pub async fn apply(
        &mut self,
        txn: &mut dyn Transaction,
        incoming: Incoming,
        remote: &str,
        now: Millis,
        ids: IdSource,
    ) -> Result<Outcome, StoreError> {
        let mut outcome = Outcome::default();
        match incoming {
            Incoming::Inform { inform, .. } => {
                self.apply_inform(txn, &inform, remote, now, &mut outcome)
                    .await?
            }
            Incoming::CpeRequest(body) => {
                self.apply_cpe_request(txn, &body, now, ids, &mut outcome)
                    .await?
            }
            Incoming::Response { token, body } => {
                if let Some(origin) = self.in_flight.remove(&token) {
                    self.apply_response(txn, origin, body, now, ids, &mut outcome)
                        .await?;
                }
            }
            Incoming::Fault { token, fault } => match self.in_flight.remove(&token) {
                Some(Origin::Task { task, .. }) => {
                    self.fail_task(txn, &task.id, fault, now, ids, &mut outcome)
                        .await?
                }
                Some(Origin::Provision(_)) => self.fail_provision(txn, fault, now, ids).await?,
                _ => self.record_fault(txn, None, fault, 0, now, ids).await?,
            },
            Incoming::Unanswered { token } => {
                if let Some(Origin::Provision(_)) = self.in_flight.remove(&token) {
                    if let Some(run) = self.provision.as_mut() {
                        run.stop();
                    }
                }
            }
            // The CPE's turn is over: tasks queued since the Inform are looked for once more.
            Incoming::CpeDone => self.rechecked = false,
        }
        // Provisioning first (the device's baseline), then queued tasks.
        if !self.session.awaiting_response()
            && self.session.queued() == 0
            && !self.queue_provision_step(txn, now).await?
        {
            self.queue_next_task(txn, now, ids, &mut outcome).await?;
        }
        if let Some(run) = self.provision.as_mut() {
            outcome.notes.append(&mut run.notes);
        }
        Ok(outcome)
    }

    /// Queues the next provisioning RPC; false when provisioning has nothing (more) to do.
    async fn queue_provision_step(
        &mut self,
        txn: &mut dyn Transaction,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let Some(run) = self.provision.as_mut() else {
            return Ok(false);
        };
        match run.next(txn, now).await? {
            Some((step, body)) => {
                let token = self.token(Origin::Provision(step));
                self.session.enqueue(token, body);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Records a provisioning fault on the device's provisioning record and in its faults.
    async fn fail_provision(
        &mut self,
        txn: &mut dyn Transaction,
        fault: CwmpFault,
        now: Millis,
        ids: IdSource,
    ) -> Result<(), StoreError> {
        if let Some(run) = self.provision.as_mut() {
            run.faulted(txn, fault.clone(), now).await?;
        }
        self.record_fault(txn, None, fault, 0, now, ids).await
    }

    async fn apply_inform(
        &mut self,
        txn: &mut dyn Transaction,
        inform: &Inform,
        remote: &str,
        now: Millis,
        outcome: &mut Outcome,
    ) -> Result<(), StoreError> {
        let mut facts = read_inform(inform);
        let existing = records::get_device(txn, &self.device).await?;
        let mut device = existing.clone().unwrap_or_else(|| DeviceRecord {
            id: self.device.clone(),
            identity: inform.device_id.clone(),
            first_seen: now,
            last_inform: now,
            last_events: vec![],
            last_boot: None,
            last_bootstrap: None,
            cwmp_version: self.session.version(),
            connection_request: Default::default(),
            tags: Default::default(),
            remote_address: String::new(),
        });
        device.identity = inform.device_id.clone();
        device.last_inform = now;
        device.last_events = inform.events.iter().map(|e| e.code.to_string()).collect();
        if facts.boot {
            device.last_boot = Some(now);
        }
        if facts.bootstrap {
            device.last_bootstrap = Some(now);
        }
        device.cwmp_version = self.session.version();
        if let Some(url) = &facts.connection_request_url {
            device.connection_request.url = url.clone();
        }
        device.remote_address = remote.to_string();
        if existing.is_none() {
            outcome.notes.push(Note::FirstContact {
                product_class: inform.device_id.product_class.clone(),
                software_version: inform
                    .parameters
                    .iter()
                    .find(|p| p.name.ends_with(".DeviceInfo.SoftwareVersion"))
                    .map(|p| p.value.clone()),
                remote: remote.to_string(),
            });
        }
        records::put_device(txn, &device).await?;
        apply_updates(txn, &self.device, std::mem::take(&mut facts.updates), now).await?;

        for mut task in records::list_tasks(txn, &self.device).await? {
            if completes(&facts, &task) {
                finish(&mut task, now, None);
                records::put_task(txn, &task).await?;
                outcome.done(&task);
            } else if task.status == TaskStatus::Pending && task.not_before <= now {
                self.waiting_tasks.push_back(task);
            }
        }
        self.rechecked = true;
        self.provision = ProvisionRun::start(txn, inform, &self.resources, self.retry, now).await?;
        if facts.diagnostics_complete {
            self.queue_diagnostics(txn, &facts).await?;
        }
        Ok(())
    }

    async fn queue_diagnostics(
        &mut self,
        txn: &mut dyn Transaction,
        facts: &InformFacts,
    ) -> Result<(), StoreError> {
        let stored = records::scan_parameters(txn, &facts.device_id, self.root).await?;
        let states: Vec<(String, String)> = stored
            .into_iter()
            .filter(|(path, _)| path.ends_with(".DiagnosticsState"))
            .filter_map(|(path, record)| record.value.map(|(value, _)| (path, value)))
            .collect();
        let objects = diagnostics_objects(
            states.iter().map(|(p, v)| (p.as_str(), v.as_str())),
            self.root,
        );
        let token = self.token(Origin::DiagnosticsResults);
        self.session
            .enqueue(token, Body::GetParameterValues { names: objects });
        Ok(())
    }

    async fn apply_cpe_request(
        &mut self,
        txn: &mut dyn Transaction,
        body: &Body,
        now: Millis,
        ids: IdSource,
        outcome: &mut Outcome,
    ) -> Result<(), StoreError> {
        match body {
            Body::TransferComplete(complete) => {
                let task = records::get_task(txn, &complete.command_key)
                    .await?
                    .filter(|task| task.device == self.device);
                let fault = (complete.fault.code != 0).then(|| {
                    CwmpFault::with_text(complete.fault.code, complete.fault.string.clone())
                });
                let transfer = requested_transfer(
                    ids(now),
                    &self.device,
                    task.as_ref(),
                    complete,
                    fault.clone(),
                    now,
                );
                records::put_transfer(txn, &transfer).await?;
                match task {
                    Some(mut task) => match fault {
                        None => {
                            finish(
                                &mut task,
                                now,
                                Some(serde_json::json!({
                                    "startTime": complete.start_time,
                                    "completeTime": complete.complete_time,
                                })),
                            );
                            records::put_task(txn, &task).await?;
                            outcome.changed_tasks.push(task.id);
                        }
                        Some(fault) => {
                            self.fail_task(txn, &task.id, fault, now, ids, outcome)
                                .await?;
                        }
                    },
                    None => {
                        if let Some(fault) = fault {
                            self.record_fault(txn, None, fault, 0, now, ids).await?;
                        }
                    }
                }
            }
            Body::AutonomousTransferComplete(complete) => {
                let fault = (complete.fault.code != 0).then(|| {
                    CwmpFault::with_text(complete.fault.code, complete.fault.string.clone())
                });
                tracing::info!(device = %self.device, url = complete.transfer_url, file_type = complete.file_type, code = complete.fault.code, "autonomous transfer");
                let transfer = TransferRecord {
                    id: ids(now),
                    device: self.device.clone(),
                    task_id: None,
                    autonomous: true,
                    is_download: complete.is_download,
                    file_type: complete.file_type.clone(),
                    url: complete.transfer_url.clone(),
                    file_size: complete.file_size,
                    target_file_name: complete.target_file_name.clone(),
                    fault: fault.clone(),
                    start_time: complete.start_time.clone(),
                    complete_time: complete.complete_time.clone(),
                    reported: now,
                };
                records::put_transfer(txn, &transfer).await?;
                if let Some(fault) = fault {
                    self.record_fault(txn, None, fault, 0, now, ids).await?;
                }
            }
            Body::DUStateChangeComplete(complete) => {
                for result in complete.results.iter().filter(|r| r.fault.code != 0) {
                    let fault =
                        CwmpFault::with_text(result.fault.code, result.fault.string.clone());
                    self.record_fault(txn, None, fault, 0, now, ids).await?;
                }
            }
            other => {
                tracing::info!(device = %self.device, method = cwmp::session::method_name(other), "CPE request");
            }
        }
        Ok(())
    }

    async fn apply_response(
        &mut self,
        txn: &mut dyn Transaction,
        origin: Origin,
        body: Body,
        now: Millis,
        ids: IdSource,
        outcome: &mut Outcome,
    ) -> Result<(), StoreError> {
        let (sent, stage) = match origin {
            Origin::DiagnosticsResults => {
                if let Body::GetParameterValuesResponse(values) = body {
                    apply_updates(txn, &self.device, value_updates(values), now).await?;
                }
                return Ok(());
            }
            Origin::Provision(step) => {
                let Some(run) = self.provision.as_mut() else {
                    return Ok(());
                };
                if let Err(message) = run.answered(txn, &step, body, now).await? {
                    return self
                        .fail_provision(txn, CwmpFault::with_text(8003, message), now, ids)
                        .await;
                }
                return Ok(());
            }
            Origin::Task { task, stage } => (task, stage),
        };
        let task_id = sent.id.clone();
        // A task deleted through the API while in flight: still store what the device said.
        let stored = records::get_task(txn, &task_id).await?;
        let deleted = stored.is_none();
        let mut task = stored.unwrap_or(*sent);
        let mut advance = match task_plan::advance(&task, &stage, &body) {
            Ok(advance) => advance,
            Err(unexpected) => {
                let fault = CwmpFault::with_text(8003, unexpected.0);
                return self
                    .fail_task(txn, &task_id, fault, now, ids, outcome)
                    .await;
            }
        };
        let updates = std::mem::take(&mut advance.updates);
        apply_updates(txn, &self.device, updates, now).await?;
        if deleted {
            return Ok(());
        }
        if advance.progress.is_some() {
            task.result = advance.progress;
        }
        match advance.next {
            Next::Continue(next) => {
                let request = match task_plan::request(&task, &next, now) {
                    Ok(request) => request,
                    Err(unsendable) => {
                        records::put_task(txn, &task).await?;
                        return self
                            .give_up_task(txn, &task_id, unsendable, now, ids, outcome)
                            .await;
                    }
                };
                let token = self.token(Origin::Task {
                    task: Box::new(task.clone()),
                    stage: next,
                });
                self.session.enqueue(token, request);
            }
            Next::Done(result) => {
                finish(&mut task, now, result);
                outcome.done(&task);
            }
            Next::AwaitCompletion => {
                task.status = TaskStatus::AwaitingCompletion;
                outcome.changed_tasks.push(task.id.clone());
            }
        }
        records::put_task(txn, &task).await
    }

    async fn fail_task(
        &mut self,
        txn: &mut dyn Transaction,
        task_id: &str,
        fault: CwmpFault,
        now: Millis,
        ids: IdSource,
        outcome: &mut Outcome,
    ) -> Result<(), StoreError> {
        let Some(mut task) = records::get_task(txn, task_id).await? else {
            return self.record_fault(txn, None, fault, 0, now, ids).await;
        };
        let failed = self.retry.record_fault(&mut task, fault.clone(), now);
        // Retried in a later session, not this one.
        self.tried.insert(task.id.clone());
        records::put_task(txn, &task).await?;
        outcome.changed_tasks.push(task.id.clone());
        outcome.notes.push(Note::TaskFaulted {
            task: task.id.clone(),
            kind: task.spec.kind(),
            fault: fault.clone(),
            attempts: task.attempts,
            gave_up: failed,
        });
        self.record_fault(txn, Some(task.id.clone()), fault, task.attempts, now, ids)
            .await
    }

    /// Fails a task for good that can no longer be sent (its fault says why).
    async fn give_up_task(
        &mut self,
        txn: &mut dyn Transaction,
        task_id: &str,
        unsendable: task_plan::Unsendable,
        now: Millis,
        ids: IdSource,
        outcome: &mut Outcome,
    ) -> Result<(), StoreError> {
        let Some(mut task) = records::get_task(txn, task_id).await? else {
            return Ok(());
        };
        let fault = CwmpFault::with_text(9020, unsendable.0);
        task.status = TaskStatus::Failed;
        task.fault = Some(fault.clone());
        task.finished = Some(now);
        records::put_task(txn, &task).await?;
        outcome.changed_tasks.push(task.id.clone());
        outcome.notes.push(Note::TaskFaulted {
            task: task.id.clone(),
            kind: task.spec.kind(),
            fault: fault.clone(),
            attempts: task.attempts,
            gave_up: true,
        });
        self.record_fault(txn, Some(task.id.clone()), fault, task.attempts, now, ids)
            .await
    }

    async fn record_fault(
        &self,
        txn: &mut dyn Transaction,
        task_id: Option<String>,
        fault: CwmpFault,
        attempts: u32,
        now: Millis,
        ids: IdSource,
    ) -> Result<(), StoreError> {
        let record = FaultRecord {
            id: ids(now),
            device: self.device.clone(),
            task_id,
            fault,
            timestamp: now,
            attempts,
        };
        records::put_fault(txn, &record).await
    }

    /// Queues the first request of the next waiting task; when none is left, looks once more
    /// in the store for tasks queued while the session ran.
    async fn queue_next_task(
        &mut self,
        txn: &mut dyn Transaction,
        now: Millis,
        ids: IdSource,
        outcome: &mut Outcome,
    ) -> Result<(), StoreError> {
        if self.waiting_tasks.is_empty() && !self.rechecked {
            self.rechecked = true;
            for task in records::list_tasks(txn, &self.device).await? {
                if task.status == TaskStatus::Pending
                    && task.not_before <= now
                    && !self.tried.contains(&task.id)
                {
                    self.waiting_tasks.push_back(task);
                }
            }
        }
        while let Some(task) = self.waiting_tasks.pop_front() {
            if !self.tried.insert(task.id.clone()) {
                continue;
            }
            let stage = task_plan::start_stage(&task);
            let request = match task_plan::request(&task, &stage, now) {
                Ok(request) => request,
                Err(unsendable) => {
                    self.give_up_task(txn, &task.id, unsendable, now, ids, outcome)
                        .await?;
                    continue;
                }
            };
            let token = self.token(Origin::Task {
                task: Box::new(task),
                stage,
            });
            self.session.enqueue(token, request);
            // Tasks queued later in this session are looked for again once this one is done.
            self.rechecked = false;
            return Ok(());
        }
        Ok(())
    }

    fn token(&mut self, origin: Origin) -> RequestToken {
        let token = self.next_token;
        self.next_token += 1;
        self.in_flight.insert(token, origin);
        token
    }
}

/// The record of a transfer the ACS asked for, with what its task (if still known) asked.
fn requested_transfer(
    id: String,
    device: &DeviceId,
    task: Option<&TaskRecord>,
    complete: &cwmp::TransferComplete,
    fault: Option<CwmpFault>,
    now: Millis,
) -> TransferRecord {
    use acs_model::TaskSpec;
    let (is_download, file_type, url, file_size, target_file_name) = match task.map(|t| &t.spec) {
        Some(TaskSpec::Download(d)) => (
            true,
            d.file_type.clone(),
            d.url.clone(),
            d.file_size,
            d.target_file_name.clone(),
        ),
        Some(TaskSpec::ScheduleDownload(d)) => (
            true,
            d.file_type.clone(),
            d.url.clone(),
            d.file_size,
            d.target_file_name.clone(),
        ),
        Some(TaskSpec::Upload(u)) => (false, u.file_type.clone(), u.url.clone(), 0, String::new()),
        _ => (true, String::new(), String::new(), 0, String::new()),
    };
    TransferRecord {
        id,
        device: device.clone(),
        task_id: task.map(|t| t.id.clone()),
        autonomous: false,
        is_download,
        file_type,
        url,
        file_size,
        target_file_name,
        fault,
        start_time: complete.start_time.clone(),
        complete_time: complete.complete_time.clone(),
        reported: now,
    }
}

fn finish(task: &mut TaskRecord, now: Millis, result: Option<serde_json::Value>) {
    task.status = TaskStatus::Done;
    // Earlier faults stay in the fault list; the task itself succeeded.
    task.fault = None;
    task.finished = Some(now);
    if result.is_some() {
        task.result = result;
    }
}

/// Applies tree updates to the stored tree, writing only what changed, each touched object
/// once.
pub async fn apply_updates(
    txn: &mut dyn Transaction,
    device: &DeviceId,
    updates: Vec<TreeUpdate>,
    now: Millis,
) -> Result<(), StoreError> {
    let mut writer = TreeWriter::new(device)?;
    write_updates(txn, &mut writer, updates, now).await?;
    writer.finish(txn).await
}

/// Makes tree updates through `writer` (which the caller finishes), keeping only what changed.
/// The updates' values move into the tree.
pub async fn write_updates(
    txn: &mut dyn Transaction,
    writer: &mut TreeWriter<'_>,
    updates: Vec<TreeUpdate>,
    now: Millis,
) -> Result<(), StoreError> {
    learn_connection_request_credentials(txn, writer.device(), &updates).await?;
    // The paths the updates say exist, for a prune that follows them.
    let prunes = updates
        .iter()
        .any(|update| matches!(update, TreeUpdate::Prune { .. }));
    let mut listed: HashSet<String, foldhash::fast::RandomState> = HashSet::default();
    for update in updates {
        match update {
            TreeUpdate::Reset => {
                writer.remove_subtree(txn, "").await?;
            }
            TreeUpdate::DeleteSubtree { path } => {
                writer.remove_subtree(txn, &path).await?;
            }
            TreeUpdate::Prune { root } => {
                writer
                    .remove_under_unless(txn, &root, |path| listed.contains(path))
                    .await?;
            }
            TreeUpdate::Value {
                path,
                value,
                xsd_type,
            } => {
                // Devices read secrets back empty: the value last set stays known.
                let hides_secret = value.is_empty() && cwmp::secrets::is_secret(&path);
                let change = move |record: &mut ParameterRecord| match &record.value {
                    Some((old_value, old_type)) if *old_value == value && *old_type == xsd_type => {
                        false
                    }
                    Some((old_value, _)) if hides_secret && !old_value.is_empty() => false,
                    _ => {
                        record.value = Some((value, xsd_type));
                        true
                    }
                };
                merge(txn, writer, &path, now, change).await?
            }
            TreeUpdate::Exists { path, writable } => {
                let change = |record: &mut ParameterRecord| {
                    let object = path.ends_with('.');
                    let changed = record.writable != Some(writable) || record.object != object;
                    record.writable = Some(writable);
                    record.object = object;
                    changed
                };
                merge(txn, writer, &path, now, change).await?;
                if prunes {
                    listed.insert(path);
                }
            }
            TreeUpdate::Attributes {
                path,
                notification,
                access_list,
            } => {
                let change = |record: &mut ParameterRecord| {
                    let mut changed = false;
                    if notification.is_some() && record.notification != notification {
                        record.notification = notification;
                        changed = true;
                    }
                    if access_list.is_some() && record.access_list != access_list {
                        record.access_list = access_list;
                        changed = true;
                    }
                    changed
                };
                merge(txn, writer, &path, now, change).await?
            }
        }
    }
    Ok(())
}

/// Keeps in the device record the connection-request credentials that `updates` (values set
/// on or reported by the device) carry, for the connection requests to come.
async fn learn_connection_request_credentials(
    txn: &mut dyn Transaction,
    device: &DeviceId,
    updates: &[TreeUpdate],
) -> Result<(), StoreError> {
    let (username, password) = connection_request_credentials(updates);
    if username.is_none() && password.is_none() {
        return Ok(());
    }
    let Some(mut record) = records::get_device(txn, device).await? else {
        return Ok(());
    };
    if record.connection_request.learn(username, password) {
        tracing::debug!(%device, "learned the device's connection-request credentials");
        records::put_device(txn, &record).await?;
    }
    Ok(())
}

/// Lets `change` update one parameter record (a new one when the path is unknown) and keeps
/// it, stamped with `now`, when it changed or is new.
async fn merge(
    txn: &mut dyn Transaction,
    writer: &mut TreeWriter<'_>,
    path: &str,
    now: Millis,
    change: impl FnOnce(&mut ParameterRecord) -> bool,
) -> Result<(), StoreError> {
    writer
        .update(txn, path, |record, is_new| {
            if !(change(record) || is_new) {
                return false;
            }
            record.timestamp = now;
            if record.value.is_none() && path.ends_with('.') {
                record.object = true;
            }
            true
        })
        .await
        .map(drop)
}
