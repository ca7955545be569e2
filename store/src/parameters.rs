//! A device's parameter tree, stored one record per object.
//!
//! Each object of the tree (a path ending with `.`) has one key, `d/<device>/o/<object-path>`,
//! whose value holds the object's own record and the records of the parameters directly in it.
//! A parameter outside any object (a path without a dot) lives in the record of the object `""`.
//! Refreshing a whole tree of a thousand parameters therefore writes about as many keys as the
//! tree has objects (a tenth of that), and a subtree is still one range of keys.
//!
//! [`TreeWriter`] gathers changes per object inside a transaction and writes every touched object
//! once; the single-path functions ([`get_parameter`], [`put_parameter`]...) are built on it.
//! The `pv/` value index of [`crate::records::INDEXED_PARAMETERS`] is kept in step by every
//! write.

use std::collections::{BTreeMap, HashMap, HashSet};

use acs_model::tree::slot;
use acs_model::{DeviceId, ObjectRecords, ParameterRecord, ParameterTree, TreePath};
use foldhash::fast::RandomState;
use serde::Deserialize;

use crate::error::{Result, StoreError};
use crate::keyspace as ks;
use crate::kv::{KeyRange, Transaction};
use crate::object_codec;
use crate::records::{check_device, decode, is_indexed, undecodable};

/// An object as earlier versions stored it, in JSON: its own record and its parameters by
/// name. Objects are now stored in the compact form of [`crate::object_codec`].
#[derive(Deserialize)]
struct JsonObject {
    #[serde(rename = "o", default)]
    object: Option<ParameterRecord>,
    #[serde(rename = "p", default)]
    parameters: BTreeMap<String, ParameterRecord>,
}

/// The object holding everything whose path starts with `prefix`: `prefix` itself when it is an
/// object path, else its parent.
fn covering_object(prefix: &str) -> &str {
    slot(prefix).0
}

/// Reads the record of one object.
async fn read_object(
    txn: &mut dyn Transaction,
    device: &DeviceId,
    path: &str,
) -> Result<ObjectRecords> {
    let key = ks::object(device, path);
    match txn.get(&key).await? {
        Some(bytes) => decode_object(&key, &bytes),
        None => Ok(ObjectRecords::default()),
    }
}

/// The stored form of an object's records (see [`crate::object_codec`]).
fn encode_object(object: &ObjectRecords) -> Vec<u8> {
    object_codec::encode(object.object.as_ref(), object.parameters.iter())
}

/// Decodes a stored object, in the compact form or as JSON.
fn decode_object(key: &[u8], bytes: &[u8]) -> Result<ObjectRecords> {
    let (object, parameters) = if object_codec::is_compact(bytes) {
        object_codec::decode(bytes).map_err(|why| undecodable(key, why))?
    } else {
        let json: JsonObject = decode(key, bytes)?;
        (json.object, json.parameters.into_iter().collect())
    };
    Ok(ObjectRecords { object, parameters })
}

/// The value an index entry is kept for, if any.
fn indexed_value(record: &ParameterRecord) -> Option<&str> {
    match &record.value {
        Some((value, _)) if !record.object && value.len() <= ks::MAX_INDEXED_VALUE_LEN => {
            Some(value)
        }
        _ => None,
    }
}

/// Moves the `pv/` entry of an indexed parameter from its old value to its new one.
async fn reindex(
    txn: &mut dyn Transaction,
    device: &DeviceId,
    path: &str,
    old: Option<&ParameterRecord>,
    new: Option<&ParameterRecord>,
) -> Result<()> {
    if !is_indexed(path) {
        return Ok(());
    }
    let old = old.and_then(indexed_value);
    let new = new.and_then(indexed_value);
    if old != new {
        if let Some(old) = old {
            txn.delete(ks::value_entry(path, old, device)).await?;
        }
        if let Some(new) = new {
            txn.put(ks::value_entry(path, new, device), Vec::new())
                .await?;
        }
    }
    Ok(())
}

/// One object as the writer holds it.
struct HeldObject {
    record: ObjectRecords,
    changed: bool,
}

/// Where a [`TreeWriter`] takes the records it changes from.
enum Source<'k> {
    /// Objects read from the store on first use, held until [`TreeWriter::finish`].
    Store(HashMap<String, HeldObject, RandomState>),
    /// The caller's copy of the whole stored tree, changed in place; the objects it changed are
    /// written from it by [`TreeWriter::finish`].
    Known {
        tree: &'k mut ParameterTree,
        dirty: DirtyObjects,
    },
}

/// The objects of a known tree changed so far. Answers list an object's parameters together,
/// so the object marked last is remembered to spare hashing its path again.
struct DirtyObjects {
    objects: UnsavedObjects,
    last: String,
}

impl DirtyObjects {
    fn mark(&mut self, object: &str) {
        if self.last != object {
            if !self.objects.contains(object) {
                self.objects.insert(object.to_string());
            }
            self.last.clear();
            self.last.push_str(object);
        }
    }
}

/// Objects of a known tree changed but not written yet (see [`TreeWriter::defer`]).
pub type UnsavedObjects = HashSet<String, RandomState>;

/// Changes to one device's tree inside a transaction, written per object by
/// [`TreeWriter::finish`]: each object touched is read at most once and written at most once.
///
/// With a known tree (the device's whole tree as read in this transaction, see
/// [`TreeWriter::with_known_tree`]) nothing is read from the store, and the tree is kept in
/// step with every change.
pub struct TreeWriter<'k> {
    device: DeviceId,
    source: Source<'k>,
}

impl<'k> TreeWriter<'k> {
    /// A writer for `device` that reads objects from the store as it needs them.
    pub fn new(device: &DeviceId) -> Result<TreeWriter<'k>> {
        check_device(device)?;
        Ok(TreeWriter {
            device: device.clone(),
            source: Source::Store(HashMap::default()),
        })
    }

    /// A writer for `device` whose stored tree, in this transaction, is exactly `tree` apart
    /// from the objects in `unsaved` (changed in `tree` by an earlier writer that deferred
    /// them); every change is made to `tree` as well.
    pub fn with_known_tree(
        device: &DeviceId,
        tree: &'k mut ParameterTree,
        unsaved: UnsavedObjects,
    ) -> Result<TreeWriter<'k>> {
        check_device(device)?;
        Ok(TreeWriter {
            device: device.clone(),
            source: Source::Known {
                tree,
                dirty: DirtyObjects {
                    objects: unsaved,
                    last: String::new(),
                },
            },
        })
    }

    /// The device whose tree this writer changes.
    pub fn device(&self) -> &DeviceId {
        &self.device
    }

    /// The record at `path`, with the writer's changes.
    pub async fn get(
        &mut self,
        txn: &mut dyn Transaction,
        path: &str,
    ) -> Result<Option<ParameterRecord>> {
        let (object, leaf) = slot(path);
        match &mut self.source {
            Source::Known { tree, .. } => Ok(tree.get(path).cloned()),
            Source::Store(objects) => {
                let held = held_object(objects, txn, &self.device, object).await?;
                Ok(held.record.get(leaf).cloned())
            }
        }
    }

    /// Removes every path strictly under `prefix` (an object path, or `""`) that `keep`
    /// refuses, with the writer's changes seen; returns how many were removed.
    pub async fn remove_under_unless(
        &mut self,
        txn: &mut dyn Transaction,
        prefix: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<usize> {
        let doomed: Vec<String> = match &mut self.source {
            Source::Known { tree, .. } => {
                let mut full = String::new();
                tree.under(prefix)
                    .filter(|(path, _)| {
                        path.write_to(&mut full);
                        full != prefix && !keep(&full)
                    })
                    .map(|(path, _)| path.to_string())
                    .collect()
            }
            Source::Store(objects) => {
                // Write what changed so far, so that the scan (which reads the transaction's
                // own writes) sees it.
                for (path, held) in objects.iter_mut().filter(|(_, held)| held.changed) {
                    write_object(txn, &self.device, path, &held.record).await?;
                    held.changed = false;
                }
                scan_parameters(txn, &self.device, prefix)
                    .await?
                    .into_iter()
                    .map(|(path, _)| path)
                    .filter(|path| path != prefix && !keep(path))
                    .collect()
            }
        };
        for path in &doomed {
            self.remove(txn, path).await?;
        }
        Ok(doomed.len())
    }

    /// Lets `change` update the record at `path` (a default record when there is none, which
    /// the flag says) and keeps the result when `change` returns true. Returns that.
    pub async fn update(
        &mut self,
        txn: &mut dyn Transaction,
        path: &str,
        change: impl FnOnce(&mut ParameterRecord, bool) -> bool,
    ) -> Result<bool> {
        if path.is_empty() {
            return Err(StoreError::Invalid("empty parameter path".into()));
        }
        let (object, leaf) = slot(path);
        let indexed = is_indexed(path);
        let (changed, old_indexed) = match &mut self.source {
            Source::Known { tree, dirty } => {
                let (record, existed) = tree.get_or_insert(path);
                let (changed, old) = change_record(record, existed, indexed, change);
                if !existed && !changed {
                    tree.remove(path);
                }
                if changed {
                    dirty.mark(object);
                }
                (changed, old)
            }
            Source::Store(objects) => {
                let held = held_object(objects, txn, &self.device, object).await?;
                let (record, existed) = held.record.get_or_insert(leaf);
                let (changed, old) = change_record(record, existed, indexed, change);
                if !existed && !changed {
                    held.record.set(leaf, None);
                }
                held.changed |= changed;
                (changed, old)
            }
        };
        if changed && indexed {
            let new = self.get(txn, path).await?;
            reindex(txn, &self.device, path, old_indexed.as_ref(), new.as_ref()).await?;
        }
        Ok(changed)
    }

    /// Creates or replaces the record at `path`.
    pub async fn put(
        &mut self,
        txn: &mut dyn Transaction,
        path: &str,
        record: ParameterRecord,
    ) -> Result<()> {
        self.update(txn, path, |stored, _| {
            *stored = record;
            true
        })
        .await
        .map(drop)
    }

    /// Removes the record at `path` (exactly `path`, not the paths it prefixes); returns
    /// whether it was there.
    pub async fn remove(&mut self, txn: &mut dyn Transaction, path: &str) -> Result<bool> {
        let (object, leaf) = slot(path);
        let old = match &mut self.source {
            Source::Known { tree, dirty } => {
                let old = tree.remove(path);
                if old.is_some() {
                    dirty.mark(object);
                }
                old
            }
            Source::Store(objects) => {
                let held = held_object(objects, txn, &self.device, object).await?;
                let old = held.record.set(leaf, None);
                held.changed |= old.is_some();
                old
            }
        };
        reindex(txn, &self.device, path, old.as_ref(), None).await?;
        Ok(old.is_some())
    }

    /// Removes everything whose path starts with `prefix` (an object path ending with `.`, or
    /// `""` for the whole tree) with its index entries; returns how many stored objects were
    /// removed.
    pub async fn remove_subtree(
        &mut self,
        txn: &mut dyn Transaction,
        prefix: &str,
    ) -> Result<usize> {
        if !prefix.is_empty() && !prefix.ends_with('.') {
            return Err(StoreError::Invalid(format!(
                "{prefix:?} is not an object path"
            )));
        }
        for path in crate::records::INDEXED_PARAMETERS
            .iter()
            .filter(|path| path.starts_with(prefix))
        {
            let old = self.get(txn, path).await?;
            reindex(txn, &self.device, path, old.as_ref(), None).await?;
        }
        match &mut self.source {
            Source::Known { tree, dirty } => {
                tree.remove_subtree(prefix);
                dirty.objects.retain(|path| !path.starts_with(prefix));
                dirty.last.clear();
            }
            Source::Store(objects) => objects.retain(|path, _| !path.starts_with(prefix)),
        }
        txn.delete_range(KeyRange::prefix(&ks::object(&self.device, prefix)))
            .await
    }

    /// Writes nothing and returns the changed objects, for a later writer on the same known
    /// tree to write with its own changes. Index entries are already written. For reads the
    /// device answered, whose loss costs only a second read: a refreshed tree listed by
    /// GetParameterNames is stored with its values from the GetParameterValues that follows.
    pub fn defer(self) -> Result<UnsavedObjects> {
        match self.source {
            Source::Known { dirty, .. } => Ok(dirty.objects),
            Source::Store(_) => Err(StoreError::Other(
                "only a writer on a known tree can defer its changes".into(),
            )),
        }
    }

    /// Writes every changed object.
    pub async fn finish(self, txn: &mut dyn Transaction) -> Result<()> {
        match self.source {
            Source::Store(objects) => {
                for (path, held) in objects {
                    if held.changed {
                        write_object(txn, &self.device, &path, &held.record).await?;
                    }
                }
            }
            Source::Known { tree, dirty } => {
                let empty = ObjectRecords::default();
                for path in dirty.objects {
                    let object = tree.object(&path).unwrap_or(&empty);
                    write_object(txn, &self.device, &path, object).await?;
                }
            }
        }
        Ok(())
    }
}

/// Lets `change` update `record` (a default one when it did not exist, which `existed` says)
/// as [`TreeWriter::update`] describes. Returns whether the result is kept (a new record that
/// is not kept is for the caller to remove) and a copy of the record before the change when
/// `copy_old` (for the value index).
fn change_record(
    record: &mut ParameterRecord,
    existed: bool,
    copy_old: bool,
    change: impl FnOnce(&mut ParameterRecord, bool) -> bool,
) -> (bool, Option<ParameterRecord>) {
    let old = (existed && copy_old).then(|| record.clone());
    (change(record, !existed), old)
}

/// The object at `path` from `objects`, read from the store on first use.
async fn held_object<'o>(
    objects: &'o mut HashMap<String, HeldObject, RandomState>,
    txn: &mut dyn Transaction,
    device: &DeviceId,
    path: &str,
) -> Result<&'o mut HeldObject> {
    if !objects.contains_key(path) {
        let record = read_object(txn, device, path).await?;
        objects.insert(
            path.to_string(),
            HeldObject {
                record,
                changed: false,
            },
        );
    }
    Ok(objects.get_mut(path).expect("inserted above"))
}

/// Writes one object, or deletes its key when it holds nothing.
async fn write_object(
    txn: &mut dyn Transaction,
    device: &DeviceId,
    path: &str,
    object: &ObjectRecords,
) -> Result<()> {
    let key = ks::object(device, path);
    if object.is_empty() {
        txn.delete(key).await
    } else {
        txn.put(key, encode_object(object)).await
    }
}

/// One parameter or object of the device's tree.
pub async fn get_parameter(
    txn: &mut dyn Transaction,
    device: &DeviceId,
    path: &str,
) -> Result<Option<ParameterRecord>> {
    TreeWriter::new(device)?.get(txn, path).await
}

/// Several parameters at once, in the order of `paths`, reading each object once.
pub async fn get_parameters(
    txn: &mut dyn Transaction,
    device: &DeviceId,
    paths: &[&str],
) -> Result<Vec<Option<ParameterRecord>>> {
    check_device(device)?;
    let mut objects: Vec<&str> = paths.iter().map(|path| slot(path).0).collect();
    objects.sort_unstable();
    objects.dedup();
    let keys: Vec<Vec<u8>> = objects.iter().map(|o| ks::object(device, o)).collect();
    let values = txn.batch_get(&keys).await?;
    let mut records = BTreeMap::new();
    for ((object, key), value) in objects.iter().zip(&keys).zip(values) {
        if let Some(bytes) = value {
            records.insert(*object, decode_object(key, &bytes)?);
        }
    }
    Ok(paths
        .iter()
        .map(|path| {
            let (object, leaf) = slot(path);
            records.get(object).and_then(|o| o.get(leaf)).cloned()
        })
        .collect())
}

/// The device's whole tree, by object, with one range scan.
pub async fn load_tree(txn: &mut dyn Transaction, device: &DeviceId) -> Result<ParameterTree> {
    check_device(device)?;
    let tree_prefix = ks::object(device, "");
    let pairs = txn.scan(KeyRange::prefix(&tree_prefix), usize::MAX).await?;
    let mut tree = ParameterTree::default();
    for (key, value) in pairs {
        let path = ks::tail(&key, &tree_prefix)?.to_string();
        let object = decode_object(&key, &value)?;
        tree.insert_object(path, object);
    }
    Ok(tree)
}

/// Every parameter and object whose path starts with `prefix` (`""` for the whole tree), in
/// path order (bytewise, so `X.10.` sorts before `X.2.`), with one range scan.
pub async fn scan_parameters(
    txn: &mut dyn Transaction,
    device: &DeviceId,
    prefix: &str,
) -> Result<Vec<(String, ParameterRecord)>> {
    check_device(device)?;
    let tree_prefix = ks::object(device, "");
    let pairs = txn
        .scan(
            KeyRange::prefix(&ks::object(device, covering_object(prefix))),
            usize::MAX,
        )
        .await?;
    let mut out = Vec::new();
    for (key, value) in &pairs {
        let path = ks::tail(key, &tree_prefix)?;
        let object = decode_object(key, value)?;
        out.extend(
            object
                .records()
                .map(|(name, record)| (TreePath { object: path, name }, record))
                .filter(|(full, _)| full.starts_with(prefix))
                .map(|(full, record)| (full.to_string(), record.clone())),
        );
    }
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Creates or replaces one parameter, keeping the value index in step when it is indexed.
pub async fn put_parameter(
    txn: &mut dyn Transaction,
    device: &DeviceId,
    path: &str,
    record: &ParameterRecord,
) -> Result<()> {
    let mut writer = TreeWriter::new(device)?;
    writer.put(txn, path, record.clone()).await?;
    writer.finish(txn).await
}

/// Removes every parameter whose path starts with `prefix` (an object path ending with `.`,
/// or `""` for the whole tree) and their index entries; returns how many stored objects were
/// removed.
pub async fn delete_parameter_subtree(
    txn: &mut dyn Transaction,
    device: &DeviceId,
    prefix: &str,
) -> Result<usize> {
    let mut writer = TreeWriter::new(device)?;
    let removed = writer.remove_subtree(txn, prefix).await?;
    writer.finish(txn).await?;
    Ok(removed)
}

/// Removes one parameter (exactly `path`, not paths it prefixes) and its index entry; returns
/// whether it was there.
pub async fn delete_parameter(
    txn: &mut dyn Transaction,
    device: &DeviceId,
    path: &str,
) -> Result<bool> {
    let mut writer = TreeWriter::new(device)?;
    let removed = writer.remove(txn, path).await?;
    writer.finish(txn).await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_map_to_their_covering_object() {
        assert_eq!(
            covering_object("Device.DeviceInfo.Soft"),
            "Device.DeviceInfo."
        );
        assert_eq!(covering_object("Device.WiFi."), "Device.WiFi.");
        assert_eq!(covering_object(""), "");
    }

    #[test]
    fn an_object_of_a_tree_is_written_as_it_decodes() {
        let record = |v: &str| ParameterRecord {
            value: Some((v.into(), Default::default())),
            ..ParameterRecord::default()
        };
        let tree: ParameterTree = [
            ("Device.B.", ParameterRecord::default()),
            ("Device.B.C", record("c")),
            ("Device.B.D.1.E", record("e")),
            ("Device.B.F", record("f")),
        ]
        .into_iter()
        .collect();
        let b = tree.object("Device.B.").expect("object");
        let bytes = encode_object(b);
        let decoded = decode_object(b"k", &bytes).expect("decode");
        assert_eq!(&decoded, b);
        assert_eq!(decoded.parameters.len(), 2, "sub-objects are apart");
        assert_eq!(encode_object(&decoded), bytes);
    }

    #[test]
    fn objects_stored_as_json_are_still_read() {
        let json = br#"{"o":{"object":true,"writable":false,"timestamp":5},"p":{"A":{"value":["1","xsd:int"],"timestamp":7}}}"#;
        let decoded = decode_object(b"k", json).expect("decode");
        assert_eq!(decoded.object.as_ref().map(|o| o.object), Some(true));
        assert_eq!(
            decoded.parameters.get("A").expect("A").value,
            Some(("1".to_string(), cwmp::XsdType::Int))
        );
        assert_eq!(decoded.parameters.get("A").expect("A").timestamp, 7);
        assert!(matches!(
            decode_object(b"k", &[1, 0, 2]),
            Err(StoreError::Corrupt(_))
        ));
    }
}
