//! The keyspace: which key holds what. Only [`crate::records`] uses it.
//!
//! Keys are UTF-8 text with `/` as the separator; values are JSON unless said otherwise.
//!
//! | key                                  | value                       |
//! |--------------------------------------|-----------------------------|
//! | `d/<device>/info`                    | `DeviceRecord`              |
//! | `d/<device>/o/<object-path>`         | the object's `ParameterRecord` and those of the parameters directly in it (see [`crate::parameters`]) |
//! | `d/<device>/t/<task-id>`             | `TaskRecord`                |
//! | `d/<device>/f/<fault-id>`            | `FaultRecord`               |
//! | `d/<device>/x/<transfer-id>`         | `TransferRecord`: a transfer the device reported (the latest ones) |
//! | `d/<device>/cwmp-credentials`        | `CwmpCredentials` (may exist before the device's first contact) |
//! | `d/<device>/session-lease`           | `SessionLease`: the edge in session with the device (several edges on one store) |
//! | `d/<device>/provision`               | `ProvisionRecord`: provisioning progress |
//! | `dev/<device>`                       | empty: the device list      |
//! | `task/<task-id>`                     | device id (plain text)      |
//! | `fault/<fault-id>`                   | device id (plain text)      |
//! | `tag/<tag>/<device>`                 | empty: devices by tag       |
//! | `pv/<parameter-path>/<value>/<device>` | empty: devices by value of an indexed parameter |
//! | `run/<device-task>`                  | `DeviceTaskRun`: a mass operation's run   |
//! | `run/<device-task>/<device>`         | `DeviceTaskEntry`: one device of the run  |
//! | `rollout/<firmware-rollout>`         | `RolloutRun`: a firmware rollout's run    |
//! | `rollout/<firmware-rollout>/<device>` | `RolloutDevice`: one device of the rollout |
//! | `file/<path>/downloads/<shard>`      | number: downloads of the file counted in that shard (their sum is the file's count; `file/<path>/downloads`, of earlier versions, adds to it) |
//!
//! Properties this layout gives:
//! - Everything of one device is under `d/<device>/`. Device ids never contain `/` (they are
//!   percent-encoded, see `DeviceId::from_identity`; the records layer refuses others), so the
//!   `/` after the id keeps `d/abc/` from covering `d/abcd/`.
//! - A device's whole parameter tree is one range scan of `d/<device>/o/`; a subtree (for
//!   DeleteObject) is the scan of `d/<device>/o/<object-path>` where the path ends with `.`.
//!   Object paths keep their dots and trailing `.`; the path is the tail of the key, so nothing
//!   in it needs escaping. Parameters outside any object (no dot) are in the object `""`.
//! - One key per object, not per parameter: a refreshed tree of a thousand parameters is about a
//!   hundred writes. A periodic inform touches a few keys (`info` plus the objects holding the
//!   parameters it reports), never the whole tree.
//! - Task and fault ids are time-ordered (see [`crate::ids`]), so scanning `d/<device>/t/`
//!   yields a device's tasks in FIFO order and `task/` all tasks in creation order.
//! - Index entries are written in the same transaction as the record they point at, so they
//!   never disagree with it. The `pv/` index covers only the parameters listed in
//!   [`crate::records::INDEXED_PARAMETERS`], and only values up to
//!   [`MAX_INDEXED_VALUE_LEN`] bytes.
//! - Free-form parts in the middle of a key (tags, indexed values, indexed parameter paths)
//!   are escaped: `%` becomes `%25` and `/` becomes `%2F`, so they cannot contain the
//!   separator. Ids (device, task, fault) must be non-empty and free of `/`.

use acs_model::DeviceId;

use crate::error::{Result, StoreError};

/// Longest value (in bytes) that gets a `pv/` index entry.
pub const MAX_INDEXED_VALUE_LEN: usize = 512;

/// Prefix of every device's keys.
pub const DEVICES: &str = "d/";
/// Prefix of the device list index.
pub const DEVICE_INDEX: &str = "dev/";
/// Prefix of the global task index.
pub const TASK_INDEX: &str = "task/";
/// Prefix of the global fault index.
pub const FAULT_INDEX: &str = "fault/";
/// Prefix of the tag index.
pub const TAG_INDEX: &str = "tag/";
/// Prefix of DeviceTask runs.
pub const RUNS: &str = "run/";

/// Prefix of file server records.
pub const FILES: &str = "file/";

/// `file/<path>/downloads`: how often the file servers served the file, as earlier versions
/// counted it (one key).
pub fn file_downloads(path: &str) -> Vec<u8> {
    format!("{FILES}{}/downloads", escape(path)).into_bytes()
}

/// `file/<path>/downloads/<shard>`; with no shard, the prefix of the file's shards.
pub fn file_download_shard(path: &str, shard: Option<u32>) -> Vec<u8> {
    let shard = shard.map(|s| s.to_string()).unwrap_or_default();
    format!("{FILES}{}/downloads/{shard}", escape(path)).into_bytes()
}

/// Prefix of FirmwareRollout runs.
pub const ROLLOUTS: &str = "rollout/";

/// `rollout/<firmware-rollout>`: the rollout run's header.
pub fn rollout(name: &str) -> Vec<u8> {
    format!("{ROLLOUTS}{}", escape(name)).into_bytes()
}

/// `rollout/<firmware-rollout>/<device>`; with no device, the prefix of its devices.
pub fn rollout_device(name: &str, device: Option<&DeviceId>) -> Vec<u8> {
    format!(
        "{ROLLOUTS}{}/{}",
        escape(name),
        device.map(DeviceId::as_str).unwrap_or_default()
    )
    .into_bytes()
}

/// `run/<device-task>`: the run's header.
pub fn run(name: &str) -> Vec<u8> {
    format!("{RUNS}{}", escape(name)).into_bytes()
}

/// `run/<device-task>/<device>`; with no device, the prefix of the run's entries.
pub fn run_entry(name: &str, device: Option<&DeviceId>) -> Vec<u8> {
    format!(
        "{RUNS}{}/{}",
        escape(name),
        device.map(DeviceId::as_str).unwrap_or_default()
    )
    .into_bytes()
}

/// Prefix of the parameter value index.
pub const VALUE_INDEX: &str = "pv/";

/// Refuses ids that would break the layout: empty, or containing `/`.
pub fn check_id(kind: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.contains('/') {
        Err(StoreError::Invalid(format!(
            "{kind} id {id:?} is empty or contains '/'"
        )))
    } else {
        Ok(())
    }
}

/// Escapes a free-form key part: `%` to `%25`, `/` to `%2F`.
pub fn escape(part: &str) -> String {
    part.replace('%', "%25").replace('/', "%2F")
}

/// `d/<device>/`: every key of one device.
pub fn device_prefix(device: &DeviceId) -> Vec<u8> {
    format!("{DEVICES}{device}/").into_bytes()
}

/// `d/<device>/info`: the device record.
pub fn device_info(device: &DeviceId) -> Vec<u8> {
    format!("{DEVICES}{device}/info").into_bytes()
}

/// `d/<device>/provision`: the device's provisioning progress.
pub fn provision(device: &DeviceId) -> Vec<u8> {
    format!("{DEVICES}{device}/provision").into_bytes()
}

/// `d/<device>/session-lease`: which edge holds the device's session (shared stores only).
pub fn session_lease(device: &DeviceId) -> Vec<u8> {
    format!("{DEVICES}{device}/session-lease").into_bytes()
}

/// `d/<device>/cwmp-credentials`: the device's own CWMP credentials.
pub fn cwmp_credentials(device: &DeviceId) -> Vec<u8> {
    format!("{DEVICES}{device}/cwmp-credentials").into_bytes()
}

/// `d/<device>/o/<object-path>`: one object of the parameter tree; with a partial path, the
/// prefix of the objects under it.
pub fn object(device: &DeviceId, path: &str) -> Vec<u8> {
    format!("{DEVICES}{device}/o/{path}").into_bytes()
}

/// `d/<device>/t/<task-id>`; with an empty id, the prefix of the device's tasks.
pub fn task(device: &DeviceId, task_id: &str) -> Vec<u8> {
    format!("{DEVICES}{device}/t/{task_id}").into_bytes()
}

/// `d/<device>/f/<fault-id>`; with an empty id, the prefix of the device's faults.
pub fn fault(device: &DeviceId, fault_id: &str) -> Vec<u8> {
    format!("{DEVICES}{device}/f/{fault_id}").into_bytes()
}

/// `d/<device>/x/<transfer-id>`; with an empty id, the prefix of the device's transfers.
pub fn transfer(device: &DeviceId, transfer_id: &str) -> Vec<u8> {
    format!("{DEVICES}{device}/x/{transfer_id}").into_bytes()
}

/// `dev/<device>`.
pub fn device_index(device: &DeviceId) -> Vec<u8> {
    format!("{DEVICE_INDEX}{device}").into_bytes()
}

/// `task/<task-id>`.
pub fn task_index(task_id: &str) -> Vec<u8> {
    format!("{TASK_INDEX}{task_id}").into_bytes()
}

/// `fault/<fault-id>`.
pub fn fault_index(fault_id: &str) -> Vec<u8> {
    format!("{FAULT_INDEX}{fault_id}").into_bytes()
}

/// `tag/<tag>/`: devices with this tag.
pub fn tag_prefix(tag: &str) -> Vec<u8> {
    format!("{TAG_INDEX}{}/", escape(tag)).into_bytes()
}

/// `tag/<tag>/<device>`.
pub fn tag_entry(tag: &str, device: &DeviceId) -> Vec<u8> {
    let mut key = tag_prefix(tag);
    key.extend_from_slice(device.as_str().as_bytes());
    key
}

/// `pv/<path>/<value>/`: devices whose parameter `path` has this value.
pub fn value_prefix(path: &str, value: &str) -> Vec<u8> {
    format!("{VALUE_INDEX}{}/{}/", escape(path), escape(value)).into_bytes()
}

/// `pv/<path>/<value>/<device>`.
pub fn value_entry(path: &str, value: &str, device: &DeviceId) -> Vec<u8> {
    let mut key = value_prefix(path, value);
    key.extend_from_slice(device.as_str().as_bytes());
    key
}

/// The part of `key` after `prefix`, as text; `Corrupt` when it is not there or not UTF-8.
pub fn tail<'k>(key: &'k [u8], prefix: &[u8]) -> Result<&'k str> {
    key.strip_prefix(prefix)
        .and_then(|tail| std::str::from_utf8(tail).ok())
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "key {:?} does not start with {:?} or is not UTF-8",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(prefix)
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_look_as_documented() {
        let device = DeviceId("00D09E-IGD-SN%201".into());
        assert_eq!(device_info(&device), b"d/00D09E-IGD-SN%201/info");
        assert_eq!(
            object(&device, "Device.DeviceInfo."),
            b"d/00D09E-IGD-SN%201/o/Device.DeviceInfo."
        );
        assert_eq!(task_index("0001"), b"task/0001");
        assert_eq!(
            tag_entry("a/b%", &device),
            b"tag/a%2Fb%25/00D09E-IGD-SN%201"
        );
        assert_eq!(
            value_entry("Device.X", "http://h/", &device),
            b"pv/Device.X/http:%2F%2Fh%2F/00D09E-IGD-SN%201"
        );
    }

    #[test]
    fn ids_with_separators_are_refused() {
        assert!(check_id("device", "abc").is_ok());
        assert!(check_id("device", "").is_err());
        assert!(check_id("device", "a/b").is_err());
    }
}
