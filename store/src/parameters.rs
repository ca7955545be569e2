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

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;

use acs_model::{DeviceId, ParameterRecord};
use foldhash::fast::RandomState;
use serde::Deserialize;

use crate::error::{Result, StoreError};
use crate::keyspace as ks;
use crate::kv::{prefix_successor, KeyRange, Transaction};
use crate::object_codec;
use crate::records::{check_device, decode, is_indexed, undecodable};

/// One object as read: its own record and its parameters by name. Stored in the compact form
/// of [`crate::object_codec`]; objects stored as JSON by earlier versions are still read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
struct ObjectRecord {
    /// The object itself, once the device reported it.
    #[serde(rename = "o", default)]
    object: Option<ParameterRecord>,
    /// Parameters directly in the object, by their last path segment.
    #[serde(rename = "p", default)]
    parameters: BTreeMap<String, ParameterRecord>,
}

impl ObjectRecord {
    fn get(&self, leaf: Option<&str>) -> Option<&ParameterRecord> {
        match leaf {
            None => self.object.as_ref(),
            Some(name) => self.parameters.get(name),
        }
    }

    fn get_mut(&mut self, leaf: Option<&str>) -> Option<&mut ParameterRecord> {
        match leaf {
            None => self.object.as_mut(),
            Some(name) => self.parameters.get_mut(name),
        }
    }

    /// The object as an [`ObjectRef`], for writing.
    fn borrowed(&self) -> ObjectRef<'_> {
        ObjectRef {
            object: self.object.as_ref(),
            parameters: self
                .parameters
                .iter()
                .map(|(name, record)| (name.as_str(), record))
                .collect(),
        }
    }

    fn set(
        &mut self,
        leaf: Option<&str>,
        record: Option<ParameterRecord>,
    ) -> Option<ParameterRecord> {
        match (leaf, record) {
            (None, record) => std::mem::replace(&mut self.object, record),
            (Some(name), Some(record)) => self.parameters.insert(name.to_string(), record),
            (Some(name), None) => self.parameters.remove(name),
        }
    }

    /// Every record of the object as `(full path, record)`; `path` is the object's path.
    fn entries<'r>(&'r self, path: &'r str) -> impl Iterator<Item = (String, &'r ParameterRecord)> {
        let object = self
            .object
            .iter()
            .map(move |record| (path.to_string(), record));
        let parameters = self
            .parameters
            .iter()
            .map(move |(name, record)| (format!("{path}{name}"), record));
        object.chain(parameters)
    }
}

/// An object to be written, borrowing its records.
#[derive(Default)]
struct ObjectRef<'r> {
    object: Option<&'r ParameterRecord>,
    /// By name, in ascending order.
    parameters: Vec<(&'r str, &'r ParameterRecord)>,
}

impl ObjectRef<'_> {
    fn is_empty(&self) -> bool {
        self.object.is_none() && self.parameters.is_empty()
    }

    /// The stored form (see [`crate::object_codec`]).
    fn encode(&self) -> Vec<u8> {
        object_codec::encode(self.object, self.parameters.iter().copied())
    }
}

/// Where `path` is stored: its object's path and, for a parameter, its name in the object.
fn slot(path: &str) -> (&str, Option<&str>) {
    if path.ends_with('.') {
        return (path, None);
    }
    match path.rfind('.') {
        Some(dot) => (&path[..=dot], Some(&path[dot + 1..])),
        None => ("", Some(path)),
    }
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
) -> Result<ObjectRecord> {
    let key = ks::object(device, path);
    match txn.get(&key).await? {
        Some(bytes) => decode_object(&key, &bytes),
        None => Ok(ObjectRecord::default()),
    }
}

/// Decodes a stored object, in the compact form or as JSON.
fn decode_object(key: &[u8], bytes: &[u8]) -> Result<ObjectRecord> {
    if !object_codec::is_compact(bytes) {
        return decode(key, bytes);
    }
    let (object, parameters) = object_codec::decode(bytes).map_err(|why| undecodable(key, why))?;
    Ok(ObjectRecord { object, parameters })
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
    record: ObjectRecord,
    changed: bool,
}

/// Where a [`TreeWriter`] takes the records it changes from.
enum Source<'k> {
    /// Objects read from the store on first use, held until [`TreeWriter::finish`].
    Store(HashMap<String, HeldObject, RandomState>),
    /// The caller's copy of the whole stored tree, changed in place; the objects it changed are
    /// rebuilt from it and written by [`TreeWriter::finish`].
    Known {
        tree: &'k mut BTreeMap<String, ParameterRecord>,
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
        tree: &'k mut BTreeMap<String, ParameterRecord>,
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
            Source::Known { tree, .. } => tree
                .range::<str, _>((Bound::Excluded(prefix), Bound::Unbounded))
                .take_while(|(path, _)| path.starts_with(prefix))
                .filter(|(path, _)| !keep(path))
                .map(|(path, _)| path.clone())
                .collect(),
            Source::Store(objects) => {
                // Write what changed so far, so that the scan (which reads the transaction's
                // own writes) sees it.
                for (path, held) in objects.iter_mut().filter(|(_, held)| held.changed) {
                    write_object(txn, &self.device, path, &held.record.borrowed()).await?;
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
                // One search whether the path is known or new (a listing adds most paths).
                let (changed, old) = match tree.entry(path.to_string()) {
                    Entry::Occupied(mut entry) => {
                        let (changed, _, old) =
                            change_record(Some(entry.get_mut()), indexed, change);
                        (changed, old)
                    }
                    Entry::Vacant(entry) => {
                        let (changed, inserted, old) = change_record(None, indexed, change);
                        if let Some(record) = inserted {
                            entry.insert(record);
                        }
                        (changed, old)
                    }
                };
                if changed {
                    dirty.mark(object);
                }
                (changed, old)
            }
            Source::Store(objects) => {
                let held = held_object(objects, txn, &self.device, object).await?;
                let (changed, inserted, old) =
                    change_record(held.record.get_mut(leaf), indexed, change);
                if inserted.is_some() {
                    held.record.set(leaf, inserted);
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
                remove_range(tree, prefix);
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
                        write_object(txn, &self.device, &path, &held.record.borrowed()).await?;
                    }
                }
            }
            Source::Known { tree, dirty } => {
                for path in dirty.objects {
                    let object = object_in_tree(tree, &path);
                    write_object(txn, &self.device, &path, &object).await?;
                }
            }
        }
        Ok(())
    }
}

/// Lets `change` update `existing` (or a new record when there is none) as
/// [`TreeWriter::update`] describes. Returns whether the result is kept, the new record to
/// insert (when there was none and it is kept), and a copy of the record before the change
/// when `copy_old` (for the value index).
fn change_record(
    existing: Option<&mut ParameterRecord>,
    copy_old: bool,
    change: impl FnOnce(&mut ParameterRecord, bool) -> bool,
) -> (bool, Option<ParameterRecord>, Option<ParameterRecord>) {
    match existing {
        Some(record) => {
            let old = copy_old.then(|| record.clone());
            (change(record, false), None, old)
        }
        None => {
            let mut record = ParameterRecord::default();
            let keep = change(&mut record, true);
            (keep, keep.then_some(record), None)
        }
    }
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
    object: &ObjectRef<'_>,
) -> Result<()> {
    let key = ks::object(device, path);
    if object.is_empty() {
        txn.delete(key).await
    } else {
        txn.put(key, object.encode()).await
    }
}

/// Removes every path starting with `prefix` from `tree`.
fn remove_range(tree: &mut BTreeMap<String, ParameterRecord>, prefix: &str) {
    if prefix.is_empty() {
        tree.clear();
        return;
    }
    let mut removed = tree.split_off(prefix);
    if let Some(end) = prefix_successor(prefix.as_bytes()) {
        // Object paths end with `.`, so the successor is valid UTF-8 (`.` becomes `/`).
        let end = String::from_utf8(end).expect("successor of an object path");
        let mut kept = removed.split_off(&end);
        tree.append(&mut kept);
    }
}

/// The object at `path` as held in a whole tree keyed by full path. Sub-objects are skipped
/// with one range lookup each, so this is proportional to the object's own size.
fn object_in_tree<'t>(tree: &'t BTreeMap<String, ParameterRecord>, path: &str) -> ObjectRef<'t> {
    let mut object = ObjectRef::default();
    let mut from = path.to_string();
    'ranges: loop {
        let range = tree.range::<str, _>((Bound::Included(from.as_str()), Bound::Unbounded));
        for (full, record) in range {
            let Some(tail) = full.strip_prefix(path) else {
                break 'ranges;
            };
            if tail.is_empty() {
                object.object = Some(record);
                continue;
            }
            match tail.find('.') {
                None => object.parameters.push((tail, record)),
                Some(dot) => {
                    // Skip the sub-object: every path under `<path><tail up to the dot>.`
                    // sorts before the same with `/` (the byte after `.`).
                    from = format!("{path}{}/", &tail[..dot]);
                    continue 'ranges;
                }
            }
        }
        break;
    }
    object
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
                .entries(path)
                .filter(|(full, _)| full.starts_with(prefix))
                .map(|(full, record)| (full, record.clone())),
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
    fn paths_map_to_their_object() {
        assert_eq!(
            slot("Device.WiFi.SSID.1.SSID"),
            ("Device.WiFi.SSID.1.", Some("SSID"))
        );
        assert_eq!(slot("Device.WiFi."), ("Device.WiFi.", None));
        assert_eq!(slot("Loose"), ("", Some("Loose")));
        assert_eq!(
            covering_object("Device.DeviceInfo.Soft"),
            "Device.DeviceInfo."
        );
        assert_eq!(covering_object(""), "");
    }

    #[test]
    fn objects_are_rebuilt_from_a_whole_tree() {
        let record = |v: &str| ParameterRecord {
            value: Some((v.into(), Default::default())),
            ..ParameterRecord::default()
        };
        let tree: BTreeMap<String, ParameterRecord> = [
            ("Device.", ParameterRecord::default()),
            ("Device.A", record("a")),
            ("Device.B.", ParameterRecord::default()),
            ("Device.B.C", record("c")),
            ("Device.B.D.1.E", record("e")),
            ("Device.B.F", record("f")),
            ("Device.Z", record("z")),
            ("Device2.Y", record("y")),
            ("Loose", record("l")),
        ]
        .into_iter()
        .map(|(p, r)| (p.to_string(), r))
        .collect();
        let names = |object: &ObjectRef<'_>| -> Vec<String> {
            object
                .parameters
                .iter()
                .map(|(name, _)| name.to_string())
                .collect()
        };
        let device = object_in_tree(&tree, "Device.");
        assert_eq!(device.object, Some(&ParameterRecord::default()));
        assert_eq!(
            names(&device),
            ["A", "Z"],
            "sub-objects skipped, Device2. not included"
        );
        let b = object_in_tree(&tree, "Device.B.");
        assert_eq!(names(&b), ["C", "F"]);
        assert_eq!(names(&object_in_tree(&tree, "")), ["Loose"]);
        assert!(object_in_tree(&tree, "Device.Q.").is_empty());

        // What is written decodes as the stored form.
        let bytes = b.encode();
        let decoded = decode_object(b"k", &bytes).expect("decode");
        assert_eq!(decoded.object, Some(ParameterRecord::default()));
        assert_eq!(decoded.parameters.len(), 2);
        assert_eq!(decoded.borrowed().parameters, b.parameters);
        assert_eq!(decoded.borrowed().encode(), bytes);
    }

    #[test]
    fn objects_stored_as_json_are_still_read() {
        let json = br#"{"o":{"object":true,"writable":false,"timestamp":5},"p":{"A":{"value":["1","xsd:int"],"timestamp":7}}}"#;
        let decoded = decode_object(b"k", json).expect("decode");
        assert_eq!(decoded.object.as_ref().map(|o| o.object), Some(true));
        assert_eq!(
            decoded.parameters["A"].value,
            Some(("1".to_string(), cwmp::XsdType::Int))
        );
        assert_eq!(decoded.parameters["A"].timestamp, 7);
        assert!(matches!(
            decode_object(b"k", &[1, 0, 2]),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn a_subtree_is_removed_from_a_whole_tree() {
        let mut tree: BTreeMap<String, ParameterRecord> = [
            "Device.X.",
            "Device.X.1.",
            "Device.X.1.A",
            "Device.X.10.B",
            "Device.X.2.C",
            "Device.X.Count",
            "Device.Y",
        ]
        .into_iter()
        .map(|p| (p.to_string(), ParameterRecord::default()))
        .collect();
        remove_range(&mut tree, "Device.X.1.");
        assert_eq!(
            tree.keys().collect::<Vec<_>>(),
            [
                "Device.X.",
                "Device.X.10.B",
                "Device.X.2.C",
                "Device.X.Count",
                "Device.Y"
            ]
        );
        remove_range(&mut tree, "Device.X.");
        assert_eq!(tree.keys().collect::<Vec<_>>(), ["Device.Y"]);
        remove_range(&mut tree, "");
        assert!(tree.is_empty());
    }
}
