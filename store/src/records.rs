//! Typed records over a [`Transaction`]: devices, parameters, tasks and faults, with their
//! indexes kept in step. The only place records are encoded (as JSON); the key layout is in
//! [`crate::keyspace`].
//!
//! Every function works inside the caller's transaction, so several calls commit together:
//!
//! ```no_run
//! # use acs_store::{records, transact, Store, StoreError};
//! # use acs_model::DeviceId;
//! # async fn example(store: &dyn Store, id: &DeviceId) -> Result<(), StoreError> {
//! let tree = transact(store, |txn| {
//!     Box::pin(async move { records::scan_parameters(txn, id, "Device.DeviceInfo.").await })
//! })
//! .await?;
//! # let _ = tree;
//! # Ok(())
//! # }
//! ```
//!
//! Index entries are only written together with the record they point at, so conflicts on the
//! record serialize them. What is not protected: keys created concurrently under a device that
//! another transaction deletes (a task queued while the device is removed). A caller that needs
//! that guarantee locks the device's info key with [`Transaction::lock`] after checking the
//! device exists.

use acs_model::{
    CwmpCredentials, DeviceId, DeviceRecord, DeviceTaskEntry, DeviceTaskRun, FaultRecord,
    ProvisionRecord, RolloutDevice, RolloutRun, SessionLease, TaskRecord, TransferRecord,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::keyspace::{self as ks, check_id};
use crate::kv::{KeyRange, Transaction};

/// Parameters whose values are indexed (`pv/` keys), for [`find_devices_by_parameter`].
pub const INDEXED_PARAMETERS: &[&str] = &[
    "InternetGatewayDevice.DeviceInfo.SerialNumber",
    "InternetGatewayDevice.DeviceInfo.SoftwareVersion",
    "InternetGatewayDevice.DeviceInfo.ProductClass",
    "InternetGatewayDevice.ManagementServer.ConnectionRequestURL",
    "Device.DeviceInfo.SerialNumber",
    "Device.DeviceInfo.SoftwareVersion",
    "Device.DeviceInfo.ProductClass",
    "Device.ManagementServer.ConnectionRequestURL",
];

/// Whether `path` is one of [`INDEXED_PARAMETERS`].
pub fn is_indexed(path: &str) -> bool {
    INDEXED_PARAMETERS.contains(&path)
}

/// Rows read per scan when walking a range of unknown size.
const CHUNK: usize = 1024;

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|err| StoreError::Other(format!("encoding a record: {err}")))
}

pub(crate) fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|err| undecodable(key, err))
}

/// The error for a stored value that cannot be decoded, and why.
pub(crate) fn undecodable(key: &[u8], why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!(
        "cannot decode the value of {:?}: {why}",
        String::from_utf8_lossy(key)
    ))
}

fn text(key: &[u8], bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        StoreError::Corrupt(format!(
            "the value of {:?} is not UTF-8",
            String::from_utf8_lossy(key)
        ))
    })
}

pub(crate) fn check_device(device: &DeviceId) -> Result<()> {
    check_id("device", device.as_str())
}

/// Reads and decodes one key.
async fn get_json<T: DeserializeOwned>(txn: &mut dyn Transaction, key: &[u8]) -> Result<Option<T>> {
    match txn.get(key).await? {
        Some(bytes) => decode(key, &bytes).map(Some),
        None => Ok(None),
    }
}

/// The device ids at the end of index keys under `prefix`, after `after`, at most `limit`.
async fn scan_device_ids(
    txn: &mut dyn Transaction,
    prefix: &[u8],
    after: Option<&DeviceId>,
    limit: usize,
) -> Result<Vec<DeviceId>> {
    let range = match after {
        Some(after) => {
            let mut start = prefix.to_vec();
            start.extend_from_slice(after.as_str().as_bytes());
            KeyRange::prefix_after(prefix, &start)
        }
        None => KeyRange::prefix(prefix),
    };
    txn.scan(range, limit)
        .await?
        .iter()
        .map(|(key, _)| ks::tail(key, prefix).map(|id| DeviceId(id.to_string())))
        .collect()
}

// ----- devices -----

/// The device record, if the device exists.
pub async fn get_device(txn: &mut dyn Transaction, id: &DeviceId) -> Result<Option<DeviceRecord>> {
    check_device(id)?;
    get_json(txn, &ks::device_info(id)).await
}

/// Creates or replaces the device record, keeping the device list and tag index in step.
pub async fn put_device(txn: &mut dyn Transaction, record: &DeviceRecord) -> Result<()> {
    let id = &record.id;
    let old = get_device(txn, id).await?;
    let old_tags = old.as_ref().map(|old| old.tags.clone()).unwrap_or_default();
    for tag in old_tags.difference(&record.tags) {
        txn.delete(ks::tag_entry(tag, id)).await?;
    }
    for tag in record.tags.difference(&old_tags) {
        txn.put(ks::tag_entry(tag, id), Vec::new()).await?;
    }
    if old.is_none() {
        txn.put(ks::device_index(id), Vec::new()).await?;
    }
    txn.put(ks::device_info(id), encode(record)?).await
}

/// The device's provisioning progress (empty for a device never provisioned).
pub async fn get_provision(txn: &mut dyn Transaction, id: &DeviceId) -> Result<ProvisionRecord> {
    check_device(id)?;
    Ok(get_json(txn, &ks::provision(id)).await?.unwrap_or_default())
}

/// Stores the device's provisioning progress.
pub async fn put_provision(
    txn: &mut dyn Transaction,
    id: &DeviceId,
    record: &ProvisionRecord,
) -> Result<()> {
    check_device(id)?;
    txn.put(ks::provision(id), encode(record)?).await
}

/// The run of the DeviceTask `name`, if it started.
pub async fn get_run(txn: &mut dyn Transaction, name: &str) -> Result<Option<DeviceTaskRun>> {
    get_json(txn, &ks::run(name)).await
}

/// Stores the run of the DeviceTask `name`.
pub async fn put_run(txn: &mut dyn Transaction, name: &str, run: &DeviceTaskRun) -> Result<()> {
    txn.put(ks::run(name), encode(run)?).await
}

/// Replaces the run of the DeviceTask `name` and its entries (one per target device).
pub async fn start_run(
    txn: &mut dyn Transaction,
    name: &str,
    run: &DeviceTaskRun,
    devices: &[DeviceId],
) -> Result<()> {
    txn.delete_range(KeyRange::prefix(&ks::run_entry(name, None)))
        .await?;
    for device in devices {
        check_device(device)?;
        let entry = DeviceTaskEntry {
            device: device.clone(),
            task_id: None,
        };
        txn.put(ks::run_entry(name, Some(device)), encode(&entry)?)
            .await?;
    }
    put_run(txn, name, run).await
}

/// The entries of the run of the DeviceTask `name`, in device order.
pub async fn list_run_entries(
    txn: &mut dyn Transaction,
    name: &str,
) -> Result<Vec<DeviceTaskEntry>> {
    let pairs = txn
        .scan(KeyRange::prefix(&ks::run_entry(name, None)), usize::MAX)
        .await?;
    pairs
        .iter()
        .map(|(key, value)| decode(key, value))
        .collect()
}

/// Stores one entry of the run of the DeviceTask `name`.
pub async fn put_run_entry(
    txn: &mut dyn Transaction,
    name: &str,
    entry: &DeviceTaskEntry,
) -> Result<()> {
    check_device(&entry.device)?;
    txn.put(ks::run_entry(name, Some(&entry.device)), encode(entry)?)
        .await
}

/// The run of the FirmwareRollout `name`, if it started.
pub async fn get_rollout(txn: &mut dyn Transaction, name: &str) -> Result<Option<RolloutRun>> {
    get_json(txn, &ks::rollout(name)).await
}

/// Stores the run of the FirmwareRollout `name`.
pub async fn put_rollout(txn: &mut dyn Transaction, name: &str, run: &RolloutRun) -> Result<()> {
    txn.put(ks::rollout(name), encode(run)?).await
}

/// Replaces the run of the FirmwareRollout `name` and its devices.
pub async fn start_rollout(
    txn: &mut dyn Transaction,
    name: &str,
    run: &RolloutRun,
    devices: &[RolloutDevice],
) -> Result<()> {
    txn.delete_range(KeyRange::prefix(&ks::rollout_device(name, None)))
        .await?;
    for device in devices {
        put_rollout_device(txn, name, device).await?;
    }
    put_rollout(txn, name, run).await
}

/// The devices of the run of the FirmwareRollout `name`, in device order.
pub async fn list_rollout_devices(
    txn: &mut dyn Transaction,
    name: &str,
) -> Result<Vec<RolloutDevice>> {
    let pairs = txn
        .scan(
            KeyRange::prefix(&ks::rollout_device(name, None)),
            usize::MAX,
        )
        .await?;
    pairs
        .iter()
        .map(|(key, value)| decode(key, value))
        .collect()
}

/// Stores one device of the run of the FirmwareRollout `name`.
pub async fn put_rollout_device(
    txn: &mut dyn Transaction,
    name: &str,
    device: &RolloutDevice,
) -> Result<()> {
    check_device(&device.device)?;
    txn.put(
        ks::rollout_device(name, Some(&device.device)),
        encode(device)?,
    )
    .await
}

/// Shards of a file's download count: concurrent downloads of one file (a rollout wave)
/// add to different keys, so their transactions rarely conflict.
pub const DOWNLOAD_COUNT_SHARDS: u32 = 32;

/// How often the file servers served the file at `path` (as requested, such as
/// `/fw/2.0.bin`): the sum of its shards.
pub async fn get_file_downloads(txn: &mut dyn Transaction, path: &str) -> Result<u64> {
    let mut count: u64 = get_json(txn, &ks::file_downloads(path)).await?.unwrap_or(0);
    let shards = txn
        .scan(
            KeyRange::prefix(&ks::file_download_shard(path, None)),
            usize::MAX,
        )
        .await?;
    for (key, value) in shards {
        count += decode::<u64>(&key, &value)?;
    }
    Ok(count)
}

/// Counts one download of the file at `path` in `shard` (any number; taken modulo
/// [`DOWNLOAD_COUNT_SHARDS`]).
pub async fn count_file_download(txn: &mut dyn Transaction, path: &str, shard: u32) -> Result<()> {
    let key = ks::file_download_shard(path, Some(shard % DOWNLOAD_COUNT_SHARDS));
    let count = get_json::<u64>(txn, &key).await?.unwrap_or(0) + 1;
    txn.put(key, encode(&count)?).await
}

/// The device's own CWMP credentials, if it has any.
pub async fn get_cwmp_credentials(
    txn: &mut dyn Transaction,
    id: &DeviceId,
) -> Result<Option<CwmpCredentials>> {
    check_device(id)?;
    get_json(txn, &ks::cwmp_credentials(id)).await
}

/// The lease on the device's session, if any (expired or not).
pub async fn get_session_lease(
    txn: &mut dyn Transaction,
    id: &DeviceId,
) -> Result<Option<SessionLease>> {
    check_device(id)?;
    get_json(txn, &ks::session_lease(id)).await
}

/// Takes or renews the lease on the device's session.
pub async fn put_session_lease(
    txn: &mut dyn Transaction,
    id: &DeviceId,
    lease: &SessionLease,
) -> Result<()> {
    check_device(id)?;
    txn.put(ks::session_lease(id), encode(lease)?).await
}

/// Releases the lease on the device's session.
pub async fn delete_session_lease(txn: &mut dyn Transaction, id: &DeviceId) -> Result<()> {
    check_device(id)?;
    txn.delete(ks::session_lease(id)).await
}

/// Sets the device's own CWMP credentials; the device need not have connected yet.
pub async fn put_cwmp_credentials(
    txn: &mut dyn Transaction,
    id: &DeviceId,
    credentials: &CwmpCredentials,
) -> Result<()> {
    check_device(id)?;
    txn.put(ks::cwmp_credentials(id), encode(credentials)?)
        .await
}

/// Removes the device's own CWMP credentials (it falls back to the shared ones).
pub async fn delete_cwmp_credentials(txn: &mut dyn Transaction, id: &DeviceId) -> Result<()> {
    check_device(id)?;
    txn.delete(ks::cwmp_credentials(id)).await
}

/// Up to `limit` devices in id order, starting after `after`.
pub async fn list_devices(
    txn: &mut dyn Transaction,
    after: Option<&DeviceId>,
    limit: usize,
) -> Result<Vec<DeviceRecord>> {
    let ids = scan_device_ids(txn, ks::DEVICE_INDEX.as_bytes(), after, limit).await?;
    let keys: Vec<Vec<u8>> = ids.iter().map(ks::device_info).collect();
    let values = txn.batch_get(&keys).await?;
    let mut devices = Vec::with_capacity(ids.len());
    for (key, value) in keys.iter().zip(values) {
        // An index entry without a record is skipped rather than failing the whole listing.
        if let Some(bytes) = value {
            devices.push(decode(key, &bytes)?);
        }
    }
    Ok(devices)
}

/// Removes the device and everything of it: record, parameters, tasks, faults and every index
/// entry pointing at them. Returns whether anything was there.
pub async fn delete_device(txn: &mut dyn Transaction, id: &DeviceId) -> Result<bool> {
    check_device(id)?;
    let mut found = delete_parameter_subtree(txn, id, "").await? > 0;
    let prefix = ks::device_prefix(id);
    let mut range = KeyRange::prefix(&prefix);
    loop {
        let pairs = txn.scan(range.clone(), CHUNK).await?;
        let full = pairs.len() == CHUNK;
        if let Some((last, _)) = pairs.last() {
            range.start = std::ops::Bound::Excluded(last.clone());
        }
        for (key, value) in pairs {
            found = true;
            let tail = ks::tail(&key, &prefix)?;
            if tail == "info" {
                let record: DeviceRecord = decode(&key, &value)?;
                for tag in &record.tags {
                    txn.delete(ks::tag_entry(tag, id)).await?;
                }
            } else if let Some(task_id) = tail.strip_prefix("t/") {
                txn.delete(ks::task_index(task_id)).await?;
            } else if let Some(fault_id) = tail.strip_prefix("f/") {
                txn.delete(ks::fault_index(fault_id)).await?;
            }
            txn.delete(key).await?;
        }
        if !full {
            break;
        }
    }
    let index = ks::device_index(id);
    found |= txn.get(&index).await?.is_some();
    txn.delete(index).await?;
    Ok(found)
}

/// Up to `limit` devices carrying `tag`, in id order, starting after `after`.
pub async fn find_devices_by_tag(
    txn: &mut dyn Transaction,
    tag: &str,
    after: Option<&DeviceId>,
    limit: usize,
) -> Result<Vec<DeviceId>> {
    scan_device_ids(txn, &ks::tag_prefix(tag), after, limit).await
}

// ----- parameters -----

pub use crate::parameters::{
    delete_parameter, delete_parameter_subtree, get_parameter, get_parameters, load_tree,
    put_parameter, scan_parameters,
};

/// Up to `limit` devices whose indexed parameter `path` has exactly `value`, in id order,
/// starting after `after`. `Invalid` for a parameter not in [`INDEXED_PARAMETERS`] or a value
/// too long to be indexed.
pub async fn find_devices_by_parameter(
    txn: &mut dyn Transaction,
    path: &str,
    value: &str,
    after: Option<&DeviceId>,
    limit: usize,
) -> Result<Vec<DeviceId>> {
    if !is_indexed(path) {
        return Err(StoreError::Invalid(format!(
            "parameter {path:?} is not indexed"
        )));
    }
    if value.len() > ks::MAX_INDEXED_VALUE_LEN {
        return Err(StoreError::Invalid(format!(
            "values longer than {} bytes are not indexed",
            ks::MAX_INDEXED_VALUE_LEN
        )));
    }
    scan_device_ids(txn, &ks::value_prefix(path, value), after, limit).await
}

// ----- tasks -----

/// Creates or replaces a task of `task.device`, with its `task/` index entry.
pub async fn put_task(txn: &mut dyn Transaction, task: &TaskRecord) -> Result<()> {
    check_device(&task.device)?;
    check_id("task", &task.id)?;
    txn.put(
        ks::task_index(&task.id),
        task.device.as_str().as_bytes().to_vec(),
    )
    .await?;
    txn.put(ks::task(&task.device, &task.id), encode(task)?)
        .await
}

/// The device a `task/` or `fault/` index entry points at.
async fn indexed_device(txn: &mut dyn Transaction, index_key: &[u8]) -> Result<Option<DeviceId>> {
    match txn.get(index_key).await? {
        Some(bytes) => Ok(Some(DeviceId(text(index_key, bytes)?))),
        None => Ok(None),
    }
}

/// The task with this id, found through the `task/` index.
pub async fn get_task(txn: &mut dyn Transaction, id: &str) -> Result<Option<TaskRecord>> {
    match indexed_device(txn, &ks::task_index(id)).await? {
        Some(device) => get_json(txn, &ks::task(&device, id)).await,
        None => Ok(None),
    }
}

/// The device's tasks, oldest first.
pub async fn list_tasks(txn: &mut dyn Transaction, device: &DeviceId) -> Result<Vec<TaskRecord>> {
    check_device(device)?;
    let pairs = txn
        .scan(KeyRange::prefix(&ks::task(device, "")), usize::MAX)
        .await?;
    pairs
        .iter()
        .map(|(key, value)| decode(key, value))
        .collect()
}

/// Up to `limit` tasks of all devices in creation order, starting after task id `after`.
pub async fn list_all_tasks(
    txn: &mut dyn Transaction,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<TaskRecord>> {
    list_all_indexed(txn, ks::TASK_INDEX, ks::task_index, ks::task, after, limit).await
}

/// Up to `limit` faults of all devices in the order they came, starting after fault id `after`.
pub async fn list_all_faults(
    txn: &mut dyn Transaction,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<FaultRecord>> {
    list_all_indexed(
        txn,
        ks::FAULT_INDEX,
        ks::fault_index,
        ks::fault,
        after,
        limit,
    )
    .await
}

/// Records found through a global `<index>/<id> -> device` index, in id order.
async fn list_all_indexed<T: DeserializeOwned>(
    txn: &mut dyn Transaction,
    index: &str,
    index_key: fn(&str) -> Vec<u8>,
    record_key: fn(&DeviceId, &str) -> Vec<u8>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<T>> {
    let prefix = index.as_bytes();
    let range = match after {
        Some(after) => KeyRange::prefix_after(prefix, &index_key(after)),
        None => KeyRange::prefix(prefix),
    };
    let mut keys = Vec::new();
    for (key, device) in txn.scan(range, limit).await? {
        let id = ks::tail(&key, prefix)?;
        let device = DeviceId(text(&key, device)?);
        keys.push(record_key(&device, id));
    }
    let values = txn.batch_get(&keys).await?;
    let mut records = Vec::with_capacity(keys.len());
    for (key, value) in keys.iter().zip(values) {
        if let Some(bytes) = value {
            records.push(decode(key, &bytes)?);
        }
    }
    Ok(records)
}

/// Removes the task and its index entry; returns whether it existed.
pub async fn delete_task(txn: &mut dyn Transaction, id: &str) -> Result<bool> {
    let index = ks::task_index(id);
    let Some(device) = indexed_device(txn, &index).await? else {
        return Ok(false);
    };
    txn.delete(index).await?;
    txn.delete(ks::task(&device, id)).await?;
    Ok(true)
}

// ----- transfers -----

/// Transfers kept per device: the oldest go when a new one comes.
pub const TRANSFERS_KEPT: usize = 32;

/// Records a transfer the device reported, dropping its oldest beyond [`TRANSFERS_KEPT`].
pub async fn put_transfer(txn: &mut dyn Transaction, transfer: &TransferRecord) -> Result<()> {
    check_device(&transfer.device)?;
    check_id("transfer", &transfer.id)?;
    txn.put(
        ks::transfer(&transfer.device, &transfer.id),
        encode(transfer)?,
    )
    .await?;
    let keys = txn
        .scan(
            KeyRange::prefix(&ks::transfer(&transfer.device, "")),
            usize::MAX,
        )
        .await?;
    for (key, _) in keys.iter().take(keys.len().saturating_sub(TRANSFERS_KEPT)) {
        txn.delete(key.clone()).await?;
    }
    Ok(())
}

/// The device's latest transfers, oldest first.
pub async fn list_transfers(
    txn: &mut dyn Transaction,
    device: &DeviceId,
) -> Result<Vec<TransferRecord>> {
    check_device(device)?;
    let pairs = txn
        .scan(KeyRange::prefix(&ks::transfer(device, "")), usize::MAX)
        .await?;
    pairs
        .iter()
        .map(|(key, value)| decode(key, value))
        .collect()
}

// ----- faults -----

/// Creates or replaces a fault of `fault.device`, with its `fault/` index entry.
pub async fn put_fault(txn: &mut dyn Transaction, fault: &FaultRecord) -> Result<()> {
    check_device(&fault.device)?;
    check_id("fault", &fault.id)?;
    txn.put(
        ks::fault_index(&fault.id),
        fault.device.as_str().as_bytes().to_vec(),
    )
    .await?;
    txn.put(ks::fault(&fault.device, &fault.id), encode(fault)?)
        .await
}

/// The fault with this id, found through the `fault/` index.
pub async fn get_fault(txn: &mut dyn Transaction, id: &str) -> Result<Option<FaultRecord>> {
    match indexed_device(txn, &ks::fault_index(id)).await? {
        Some(device) => get_json(txn, &ks::fault(&device, id)).await,
        None => Ok(None),
    }
}

/// The device's faults, oldest first.
pub async fn list_faults(txn: &mut dyn Transaction, device: &DeviceId) -> Result<Vec<FaultRecord>> {
    check_device(device)?;
    let pairs = txn
        .scan(KeyRange::prefix(&ks::fault(device, "")), usize::MAX)
        .await?;
    pairs
        .iter()
        .map(|(key, value)| decode(key, value))
        .collect()
}

/// Removes the fault and its index entry; returns whether it existed.
pub async fn delete_fault(txn: &mut dyn Transaction, id: &str) -> Result<bool> {
    let index = ks::fault_index(id);
    let Some(device) = indexed_device(txn, &index).await? else {
        return Ok(false);
    };
    txn.delete(index).await?;
    txn.delete(ks::fault(&device, id)).await?;
    Ok(true)
}
