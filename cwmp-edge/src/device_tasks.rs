//! Mass operations: DeviceTask resources run on their target devices.
//!
//! When a DeviceTask appears (or its spec changes) its target is expanded once, into a run
//! stored with one entry per device, like a Kubernetes Job's fixed set of pods. Each tick then
//! queues ordinary tasks for the run's devices: all at once for `run: NextInform` (delivered at
//! each device's next inform), or for `run: Now` within `maxConcurrent` devices in flight and
//! `connectionRequestsPerMinute` connection requests. A `run: Schedule` task starts a new run
//! at each firing of its cron expression (in its time zone; firings before the task was first
//! seen are not caught up) and starts devices only inside its daily window. Counters come from
//! the queued tasks.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use acs_model::{
    DeviceId, DeviceTaskEntry, DeviceTaskRun, Millis, TaskRecord, TaskSpec, TaskStatus,
};
use acs_store::{records, transact, StoreError};
use crds::task::{ActionName, RunMode, TaskAction, TaskTarget};
use crds::DeviceTask;
use cwmp::{Download, ParameterValue};
use provisioning::desired::xsd_type;
use provisioning::membership::selector_matches;
use provisioning::resources::{device_name, key_of, namespace_of_resource, ResourceSet};
use provisioning::schedule::CompiledSchedule;

use crate::edge::{now_millis, Edge};

/// How often runs advance.
pub const TICK: Duration = Duration::from_secs(1);

/// Progress of one DeviceTask across its devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Devices not started yet.
    pub pending: u64,
    /// Devices with a task queued or under way.
    pub running: u64,
    /// Devices done.
    pub succeeded: u64,
    /// Devices that failed for good.
    pub failed: u64,
}

/// Advances every DeviceTask's run; `tokens` carries each task's unused connection-request
/// allowance from tick to tick.
pub async fn tick(edge: &Arc<Edge>, tokens: &mut HashMap<String, f64>) -> Result<(), StoreError> {
    let resources = edge.resources();
    for task in resources.tasks() {
        // Runs are stored under the task's resource key (namespace/name outside `default`).
        let name = key_of(task);
        let hash = spec_hash(task);
        let now = now_millis();
        let mut txn = edge.store.begin().await?;
        let existing = records::get_run(txn.as_mut(), &name)
            .await?
            .filter(|r| r.spec_hash == hash);
        txn.rollback().await?;
        let (run, may_start) = match task.spec.run {
            RunMode::Schedule => {
                let schedule = task.spec.schedule.as_ref().map(CompiledSchedule::new);
                let Some(Ok(schedule)) = schedule else {
                    tracing::warn!(task = name, "DeviceTask has no usable schedule");
                    continue;
                };
                let Some(fired) = schedule.latest_firing(now) else {
                    continue;
                };
                let run = match existing {
                    // First seen: firings before it are not caught up; wait for the next.
                    None => {
                        let waiting = DeviceTaskRun {
                            spec_hash: hash,
                            targets: 0,
                            started: fired,
                            completed: Some(now),
                        };
                        save_run(edge, &name, &waiting).await?;
                        waiting
                    }
                    Some(run) if fired > run.started => {
                        start_run(edge, &resources, task, &name, hash, fired).await?
                    }
                    Some(run) => run,
                };
                (run, schedule.in_window(now))
            }
            _ => match existing {
                Some(run) => (run, true),
                None => (
                    start_run(edge, &resources, task, &name, hash, now).await?,
                    true,
                ),
            },
        };
        if run.completed.is_none() {
            advance(edge, task, &name, run, may_start, tokens).await?;
        }
    }
    Ok(())
}

fn spec_hash(task: &DeviceTask) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(&task.spec)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

async fn save_run(edge: &Edge, name: &str, run: &DeviceTaskRun) -> Result<(), StoreError> {
    transact(edge.store.as_ref(), |txn| {
        Box::pin(async move { records::put_run(txn, name, run).await })
    })
    .await
}

/// Starts a run of the task: its target expanded now, into one entry per device.
async fn start_run(
    edge: &Edge,
    resources: &ResourceSet,
    task: &DeviceTask,
    name: &str,
    spec_hash: u64,
    started: Millis,
) -> Result<DeviceTaskRun, StoreError> {
    let namespace = namespace_of_resource(task);
    let targets = expand_target(edge, resources, namespace, &task.spec.target).await?;
    let run = DeviceTaskRun {
        spec_hash,
        targets: targets.len() as u64,
        started,
        completed: None,
    };
    tracing::info!(
        task = name,
        devices = targets.len(),
        "DeviceTask run started"
    );
    transact(edge.store.as_ref(), |txn| {
        let (run, targets) = (&run, &targets);
        Box::pin(async move { records::start_run(txn, name, run, targets).await })
    })
    .await?;
    Ok(run)
}

/// The devices of `namespace` a target covers, from every device the store knows.
pub(crate) async fn expand_target(
    edge: &Edge,
    resources: &ResourceSet,
    namespace: &str,
    target: &TaskTarget,
) -> Result<Vec<DeviceId>, StoreError> {
    let mut txn = edge.store.begin().await?;
    let mut covered = Vec::new();
    let mut after = None;
    loop {
        let page = records::list_devices(txn.as_mut(), after.as_ref(), 500).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.id.clone());
        for device in page {
            if resources.namespace_of(&device.identity) != namespace {
                continue;
            }
            let tree = records::scan_parameters(txn.as_mut(), &device.id, "").await?;
            let facts = resources.facts(&device.identity, tree.iter().map(|(p, r)| (p, r)));
            let named = target.devices.is_empty()
                || target.devices.contains(&facts.name)
                || target.devices.contains(&device_name(&device.identity));
            let grouped = target
                .group
                .as_ref()
                .is_none_or(|g| resources.is_member(namespace, g, &facts));
            let selected = target
                .selector
                .as_ref()
                .is_none_or(|s| selector_matches(s, &facts.labels));
            if named && grouped && selected {
                covered.push(device.id);
            }
        }
    }
    txn.rollback().await?;
    Ok(covered)
}

/// Queues tasks for the run's next devices (when `may_start`) and notes completion.
async fn advance(
    edge: &Arc<Edge>,
    task: &DeviceTask,
    name: &str,
    mut run: DeviceTaskRun,
    may_start: bool,
    tokens: &mut HashMap<String, f64>,
) -> Result<(), StoreError> {
    let mut txn = edge.store.begin().await?;
    let entries = records::list_run_entries(txn.as_mut(), name).await?;
    let mut statuses = HashMap::new();
    let mut unanswered = Vec::new();
    let now = now_millis();
    for entry in &entries {
        if let Some(id) = &entry.task_id {
            if let Some(queued) = records::get_task(txn.as_mut(), id).await? {
                if awaits_connection_request(&queued, now) {
                    unanswered.push((queued.device.clone(), queued.id.clone()));
                }
                statuses.insert(id.clone(), queued.status);
            }
        }
    }
    txn.rollback().await?;
    let counters = count(&entries, &statuses);
    if counters.pending == 0 && counters.running == 0 {
        run.completed = Some(now_millis());
        tracing::info!(
            task = name,
            succeeded = counters.succeeded,
            failed = counters.failed,
            "DeviceTask run complete"
        );
        return save_run(edge, name, &run).await;
    }
    if !may_start {
        return Ok(());
    }
    let spec = &task.spec;
    let budget = match spec.run {
        RunMode::NextInform => counters.pending,
        _ => {
            let allowance = tokens.entry(name.to_string()).or_insert(0.0);
            let per_tick =
                f64::from(spec.connection_requests_per_minute) * TICK.as_secs_f64() / 60.0;
            *allowance = (*allowance + per_tick)
                .min(f64::from(spec.connection_requests_per_minute).max(1.0));
            let capacity = u64::from(spec.max_concurrent).saturating_sub(counters.running);
            let budget = capacity.min(*allowance as u64);
            *allowance -= budget as f64;
            budget
        }
    };
    // Devices whose connection request was lost (the process that sent it stopped) or did
    // not bring them in come first, within the same rate.
    let mut budget = budget;
    if spec.run != RunMode::NextInform {
        let allowance = tokens.entry(name.to_string()).or_insert(0.0);
        for (device, task_id) in unanswered {
            if *allowance < 1.0 && budget == 0 {
                break;
            }
            if budget > 0 {
                budget -= 1;
            } else {
                *allowance -= 1.0;
            }
            tracing::info!(task = name, %device, "connection request again for a DeviceTask");
            spawn_connection_request(edge, device, task_id);
        }
    }
    let task_spec = task_spec(&spec.action);
    for entry in entries
        .into_iter()
        .filter(|e| e.task_id.is_none())
        .take(budget as usize)
    {
        let queued = queue(edge, name, &entry.device, task_spec.clone()).await?;
        if spec.run != RunMode::NextInform {
            spawn_connection_request(edge, entry.device.clone(), queued.id.clone());
        }
    }
    Ok(())
}

/// How long a queued task of a `run: Now` DeviceTask may wait for its device after a
/// connection request (or for the request itself) before another is sent.
const CONNECTION_REQUEST_RETRY_MS: Millis = 20_000;

/// Whether a task still waits for its device long after its last connection request, or
/// has none recorded long after it was queued (the request was lost with the process that
/// was to send it).
pub(crate) fn awaits_connection_request(task: &TaskRecord, now: Millis) -> bool {
    use acs_model::task::ConnectionRequestState as State;
    if task.status != TaskStatus::Pending || task.not_before > now {
        return false;
    }
    let since = match &task.connection_request {
        None => task.created,
        Some(State::Accepted { at }) | Some(State::InSession { at }) => *at,
        Some(State::Unreachable { at, .. }) => *at,
    };
    now.saturating_sub(since) >= CONNECTION_REQUEST_RETRY_MS
}

pub(crate) fn spawn_connection_request(edge: &Arc<Edge>, device: DeviceId, task_id: String) {
    let edge = edge.clone();
    tokio::spawn(async move {
        if let Err(error) = edge.connection_request(&device, Some(&task_id)).await {
            crate::warn_folded!("connection request for a DeviceTask failed", %device, %error, "connection request for a DeviceTask failed");
        }
    });
}

/// Queues the task for one device and records it in the run's entry, in one transaction.
async fn queue(
    edge: &Edge,
    name: &str,
    device: &DeviceId,
    spec: TaskSpec,
) -> Result<TaskRecord, StoreError> {
    let now = now_millis();
    let task = TaskRecord::new(
        acs_store::ids::next_id(now),
        device.clone(),
        spec,
        now,
        Some(name.to_string()),
    );
    transact(edge.store.as_ref(), |txn| {
        let task = &task;
        Box::pin(async move {
            records::put_task(txn, task).await?;
            let entry = DeviceTaskEntry {
                device: task.device.clone(),
                task_id: Some(task.id.clone()),
            };
            records::put_run_entry(txn, name, &entry).await
        })
    })
    .await?;
    Ok(task)
}

/// The counters of a run from its entries and the statuses of their tasks.
pub fn count(entries: &[DeviceTaskEntry], statuses: &HashMap<String, TaskStatus>) -> Counters {
    let mut counters = Counters::default();
    for entry in entries {
        match entry.task_id.as_ref().map(|id| statuses.get(id)) {
            None => counters.pending += 1,
            Some(Some(TaskStatus::Done)) => counters.succeeded += 1,
            // A task deleted through the API counts as failed: it will not run.
            Some(Some(TaskStatus::Failed)) | Some(None) => counters.failed += 1,
            Some(Some(_)) => counters.running += 1,
        }
    }
    counters
}

/// The task each device of a run gets.
pub fn task_spec(action: &TaskAction) -> TaskSpec {
    match action.name {
        ActionName::Reboot => TaskSpec::Reboot,
        ActionName::FactoryReset => TaskSpec::FactoryReset,
        ActionName::SetParameterValues => TaskSpec::SetParameterValues {
            parameter_values: action
                .parameter_values
                .iter()
                .map(|p| ParameterValue {
                    name: p.name.clone(),
                    value: p.value.clone(),
                    xsd_type: p.value_type.map(xsd_type).unwrap_or(cwmp::XsdType::String),
                })
                .collect(),
        },
        ActionName::GetParameterValues => TaskSpec::GetParameterValues {
            parameter_names: action.parameter_names.clone(),
        },
        ActionName::Refresh => TaskSpec::GetParameterNames {
            parameter_path: action.parameter_path.clone().unwrap_or_default(),
            next_level: false,
        },
        ActionName::Download => {
            let download = action
                .download
                .clone()
                .unwrap_or_else(|| crds::task::DownloadAction {
                    file_type: String::new(),
                    url: String::new(),
                    file_size: 0,
                    target_file_name: String::new(),
                });
            TaskSpec::Download(Download {
                file_type: download.file_type,
                url: download.url,
                file_size: download.file_size,
                target_file_name: download.target_file_name,
                ..Download::default()
            })
        }
        ActionName::ScheduleInform => TaskSpec::ScheduleInform {
            delay_seconds: action.delay_seconds.unwrap_or(0),
        },
    }
}

/// A run's counters and per-device results, for the API.
pub async fn results(
    edge: &Edge,
    name: &str,
) -> Result<
    Option<(
        DeviceTaskRun,
        Counters,
        Vec<(DeviceTaskEntry, Option<TaskRecord>)>,
    )>,
    StoreError,
> {
    let mut txn = edge.store.begin().await?;
    let Some(run) = records::get_run(txn.as_mut(), name).await? else {
        txn.rollback().await?;
        return Ok(None);
    };
    let mut results = Vec::new();
    let mut statuses = HashMap::new();
    for entry in records::list_run_entries(txn.as_mut(), name).await? {
        let task = match &entry.task_id {
            Some(id) => records::get_task(txn.as_mut(), id).await?,
            None => None,
        };
        if let (Some(id), Some(task)) = (&entry.task_id, &task) {
            statuses.insert(id.clone(), task.status);
        }
        results.push((entry, task));
    }
    txn.rollback().await?;
    let entries: Vec<DeviceTaskEntry> = results.iter().map(|(e, _)| e.clone()).collect();
    Ok(Some((run, count(&entries, &statuses), results)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use acs_model::task::ConnectionRequestState;

    fn task(status: TaskStatus, created: Millis, cr: Option<ConnectionRequestState>) -> TaskRecord {
        TaskRecord {
            id: "t".into(),
            device: DeviceId("d".into()),
            spec: TaskSpec::Reboot,
            status,
            created,
            attempts: 0,
            not_before: 0,
            fault: None,
            result: None,
            connection_request: cr,
            origin: None,
            finished: None,
        }
    }

    #[test]
    fn lost_or_unanswered_connection_requests_are_sent_again() {
        let now = 100_000;
        let old = now - CONNECTION_REQUEST_RETRY_MS;
        let recent = now - 1_000;
        // Queued long ago and no request recorded: the sender stopped before sending it.
        assert!(awaits_connection_request(
            &task(TaskStatus::Pending, old, None),
            now
        ));
        assert!(!awaits_connection_request(
            &task(TaskStatus::Pending, recent, None),
            now
        ));
        // Accepted long ago, but the device never came.
        let accepted = |at| Some(ConnectionRequestState::Accepted { at });
        assert!(awaits_connection_request(
            &task(TaskStatus::Pending, old, accepted(old)),
            now
        ));
        assert!(!awaits_connection_request(
            &task(TaskStatus::Pending, old, accepted(recent)),
            now
        ));
        // Unreachable: tried again after the same delay.
        let unreachable = Some(ConnectionRequestState::Unreachable {
            at: old,
            error: "refused".into(),
        });
        assert!(awaits_connection_request(
            &task(TaskStatus::Pending, old, unreachable),
            now
        ));
        // Done or under way in a session: nothing to send.
        assert!(!awaits_connection_request(
            &task(TaskStatus::Done, old, None),
            now
        ));
    }
}
