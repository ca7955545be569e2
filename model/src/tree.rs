//! A device's whole parameter tree in memory, held by object as the store keeps it.
//!
//! Paths of a tree share long prefixes (`Device.WiFi.AccessPoint.1.Security.`), so an ordered
//! map keyed by path spends most of a lookup comparing those prefixes again and again. Here a
//! path is split once into its object (`Device.WiFi.AccessPoint.1.Security.`) and its name in
//! the object (`KeyPassphrase`): a lookup hashes the object's path once, then searches the
//! object's few names, and an object is at hand whole when it is written. Nothing that reads
//! a tree needs its records in order, so objects are not kept in order.

use std::fmt;

use compact_str::CompactString;
use hashbrown::HashMap;

use crate::ParameterRecord;

/// Where `path` is kept: its object's path and, for a parameter, its name in the object. An
/// object path (ending with `.`) is its own object; a path without a dot is in the object `""`.
pub fn slot(path: &str) -> (&str, Option<&str>) {
    if path.ends_with('.') {
        return (path, None);
    }
    match path.rfind('.') {
        Some(dot) => (&path[..=dot], Some(&path[dot + 1..])),
        None => ("", Some(path)),
    }
}

/// The records of one object: its own (once the device reported it) and those of the
/// parameters directly in it, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectRecords {
    /// The object itself.
    pub object: Option<ParameterRecord>,
    /// Parameters directly in the object, by their last path segment.
    pub parameters: Parameters,
}

/// The parameters of one object by name, in name order: a sorted vector, since objects of real
/// data models have a few dozen names at most, which one binary search finds. Names of up to
/// 24 bytes (nearly all) are kept inline, so a search reads no memory outside the vector and a
/// new name allocates nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters(Vec<(CompactString, ParameterRecord)>);

impl Parameters {
    /// Where `name` is, or would be inserted.
    fn position(&self, name: &str) -> Result<usize, usize> {
        match self.0.last() {
            // The common case of a listing in order: past the last name.
            Some((last, _)) if last.as_str() < name => Err(self.0.len()),
            _ => self.0.binary_search_by(|(n, _)| n.as_str().cmp(name)),
        }
    }

    /// The record of `name`.
    pub fn get(&self, name: &str) -> Option<&ParameterRecord> {
        let at = self.position(name).ok()?;
        Some(&self.0[at].1)
    }

    /// The record of `name` to change in place, a default one inserted when there is none;
    /// returns it and whether it was there.
    pub fn get_or_insert(&mut self, name: &str) -> (&mut ParameterRecord, bool) {
        match self.position(name) {
            Ok(at) => (&mut self.0[at].1, true),
            Err(at) => {
                self.0
                    .insert(at, (CompactString::new(name), ParameterRecord::default()));
                (&mut self.0[at].1, false)
            }
        }
    }

    /// Creates or replaces the record of `name`; returns the one before.
    pub fn insert(
        &mut self,
        name: impl AsRef<str> + Into<CompactString>,
        record: ParameterRecord,
    ) -> Option<ParameterRecord> {
        match self.position(name.as_ref()) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, record)),
            Err(at) => {
                self.0.insert(at, (name.into(), record));
                None
            }
        }
    }

    /// Removes the record of `name`; returns it.
    pub fn remove(&mut self, name: &str) -> Option<ParameterRecord> {
        let at = self.position(name).ok()?;
        Some(self.0.remove(at).1)
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names and records, in name order.
    pub fn iter(
        &self,
    ) -> impl ExactSizeIterator<Item = (&str, &ParameterRecord)> + DoubleEndedIterator + Clone {
        self.0.iter().map(|(name, record)| (name.as_str(), record))
    }
}

impl FromIterator<(String, ParameterRecord)> for Parameters {
    /// Collects names and records (a later record of a name replaces an earlier one).
    fn from_iter<I: IntoIterator<Item = (String, ParameterRecord)>>(iter: I) -> Parameters {
        let mut parameters = Parameters(Vec::new());
        for (name, record) in iter {
            parameters.insert(name, record);
        }
        parameters
    }
}

impl ObjectRecords {
    /// The object's own record (`None`) or that of its parameter `name`.
    pub fn get(&self, name: Option<&str>) -> Option<&ParameterRecord> {
        match name {
            None => self.object.as_ref(),
            Some(name) => self.parameters.get(name),
        }
    }

    /// The object's own record (`None`) or that of its parameter `name` to change in place,
    /// a default one inserted when there is none (which the caller removes again if it is not
    /// to be kept). Returns the record and whether it was there.
    pub fn get_or_insert(&mut self, name: Option<&str>) -> (&mut ParameterRecord, bool) {
        match name {
            None => {
                let existed = self.object.is_some();
                (self.object.get_or_insert_with(Default::default), existed)
            }
            Some(name) => self.parameters.get_or_insert(name),
        }
    }

    /// Replaces (with `None`: removes) the object's own record or that of its parameter
    /// `name`; returns the one before.
    pub fn set(
        &mut self,
        name: Option<&str>,
        record: Option<ParameterRecord>,
    ) -> Option<ParameterRecord> {
        match (name, record) {
            (None, record) => std::mem::replace(&mut self.object, record),
            (Some(name), Some(record)) => self.parameters.insert(name, record),
            (Some(name), None) => self.parameters.remove(name),
        }
    }

    /// Whether it holds no record at all.
    pub fn is_empty(&self) -> bool {
        self.object.is_none() && self.parameters.is_empty()
    }

    /// Its records in path order (the object's own first), with their names.
    pub fn records(&self) -> impl Iterator<Item = (Option<&str>, &ParameterRecord)> + Clone {
        let object = self.object.iter().map(|record| (None, record));
        let parameters = self
            .parameters
            .iter()
            .map(|(name, record)| (Some(name), record));
        object.chain(parameters)
    }
}

/// The path of a record of a [`ParameterTree`], as its object's path and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreePath<'t> {
    /// The object's path.
    pub object: &'t str,
    /// The parameter's name in it (`None` for the object itself).
    pub name: Option<&'t str>,
}

impl TreePath<'_> {
    /// Whether this is an object's own record.
    pub fn is_object(&self) -> bool {
        self.name.is_none()
    }

    /// Whether the full path starts with `prefix`.
    pub fn starts_with(&self, prefix: &str) -> bool {
        match prefix.strip_prefix(self.object) {
            Some(rest) => self.name.unwrap_or_default().starts_with(rest),
            None => self.object.starts_with(prefix),
        }
    }

    /// Writes the full path into `out` (cleared first), sparing an allocation per record.
    pub fn write_to(&self, out: &mut String) {
        out.clear();
        out.push_str(self.object);
        out.push_str(self.name.unwrap_or_default());
    }
}

impl fmt::Display for TreePath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.object)?;
        f.write_str(self.name.unwrap_or_default())
    }
}

/// A device's parameter tree by object: object path, then name in the object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParameterTree {
    objects: HashMap<String, ObjectRecords>,
}

impl ParameterTree {
    /// The record at `path`.
    pub fn get(&self, path: &str) -> Option<&ParameterRecord> {
        let (object, name) = slot(path);
        self.objects.get(object)?.get(name)
    }

    /// The records of the object at `path` (an object path, or `""`).
    pub fn object(&self, path: &str) -> Option<&ObjectRecords> {
        self.objects.get(path)
    }

    /// The record at `path` to change in place, a default one inserted when there is none
    /// (which the caller removes again if it is not to be kept). Returns the record and
    /// whether it was there.
    pub fn get_or_insert(&mut self, path: &str) -> (&mut ParameterRecord, bool) {
        let (object, name) = slot(path);
        // One hash of the object's path, and an allocation only for a new object.
        self.objects
            .entry_ref(object)
            .or_default()
            .get_or_insert(name)
    }

    /// Creates or replaces the record at `path`; returns the one it replaced.
    pub fn insert(
        &mut self,
        path: impl AsRef<str>,
        record: ParameterRecord,
    ) -> Option<ParameterRecord> {
        let (slot, existed) = self.get_or_insert(path.as_ref());
        let old = std::mem::replace(slot, record);
        existed.then_some(old)
    }

    /// Removes the record at `path` (exactly `path`, not what it prefixes); returns it.
    pub fn remove(&mut self, path: &str) -> Option<ParameterRecord> {
        let (object, name) = slot(path);
        let records = self.objects.get_mut(object)?;
        let removed = records.set(name, None);
        if records.is_empty() {
            self.objects.remove(object);
        }
        removed
    }

    /// Removes every record whose path starts with `prefix`, an object path (or `""` for the
    /// whole tree).
    pub fn remove_subtree(&mut self, prefix: &str) {
        if prefix.is_empty() {
            self.objects.clear();
        } else {
            self.objects.retain(|path, _| !path.starts_with(prefix));
        }
    }

    /// The objects whose path starts with `prefix`, in no particular order.
    pub fn objects_under<'t>(
        &'t self,
        prefix: &'t str,
    ) -> impl Iterator<Item = (&'t str, &'t ObjectRecords)> + Clone + 't {
        self.objects
            .iter()
            .filter(move |(path, _)| path.starts_with(prefix))
            .map(|(path, records)| (path.as_str(), records))
    }

    /// Every record whose full path starts with `prefix` (`""` for all of them), object by
    /// object (in no particular order): an object's own record, then its parameters.
    pub fn under<'t>(
        &'t self,
        prefix: &'t str,
    ) -> impl Iterator<Item = (TreePath<'t>, &'t ParameterRecord)> + Clone + 't {
        let covering = slot(prefix).0;
        self.objects_under(covering)
            .flat_map(|(path, records)| {
                records.records().map(move |(name, record)| {
                    let path = TreePath { object: path, name };
                    (path, record)
                })
            })
            .filter(move |(path, _)| path.starts_with(prefix))
    }

    /// Every record of the tree (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (TreePath<'_>, &ParameterRecord)> + Clone + '_ {
        self.under("")
    }

    /// Adds a decoded object (replacing what was held for it).
    pub fn insert_object(&mut self, path: String, records: ObjectRecords) {
        if !records.is_empty() {
            self.objects.insert(path, records);
        }
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.objects
            .values()
            .map(|o| usize::from(o.object.is_some()) + o.parameters.len())
            .sum()
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

impl<P: AsRef<str>> FromIterator<(P, ParameterRecord)> for ParameterTree {
    fn from_iter<I: IntoIterator<Item = (P, ParameterRecord)>>(iter: I) -> Self {
        let mut tree = ParameterTree::default();
        for (path, record) in iter {
            tree.insert(path, record);
        }
        tree
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valued(value: &str) -> ParameterRecord {
        ParameterRecord {
            value: Some((value.to_string(), Default::default())),
            ..ParameterRecord::default()
        }
    }

    fn tree(paths: &[&str]) -> ParameterTree {
        paths.iter().map(|p| (*p, valued(p))).collect()
    }

    /// The full paths, sorted.
    fn paths<'t>(items: impl Iterator<Item = (TreePath<'t>, &'t ParameterRecord)>) -> Vec<String> {
        let mut paths: Vec<String> = items.map(|(path, _)| path.to_string()).collect();
        paths.sort();
        paths
    }

    #[test]
    fn paths_map_to_their_object() {
        assert_eq!(
            slot("Device.WiFi.SSID.1.SSID"),
            ("Device.WiFi.SSID.1.", Some("SSID"))
        );
        assert_eq!(slot("Device.WiFi."), ("Device.WiFi.", None));
        assert_eq!(slot("Loose"), ("", Some("Loose")));
    }

    #[test]
    fn records_are_found_inserted_and_removed_by_full_path() {
        let mut tree = tree(&["Device.", "Device.A", "Device.B.C", "Loose"]);
        assert_eq!(tree.len(), 4);
        assert_eq!(tree.get("Device.B.C"), Some(&valued("Device.B.C")));
        assert_eq!(tree.get("Device.B."), None, "its object was never reported");
        assert_eq!(tree.get("Loose"), Some(&valued("Loose")));
        assert_eq!(
            tree.insert("Device.A", valued("new")),
            Some(valued("Device.A"))
        );
        let (record, existed) = tree.get_or_insert("Device.B.D");
        assert!(!existed);
        record.timestamp = 7;
        assert_eq!(tree.get("Device.B.D").map(|r| r.timestamp), Some(7));
        assert_eq!(tree.remove("Device.B.C"), Some(valued("Device.B.C")));
        assert_eq!(tree.remove("Device.B.D").map(|r| r.timestamp), Some(7));
        assert!(tree.object("Device.B.").is_none(), "an emptied object goes");
        assert_eq!(tree.remove("Device.B.D"), None);
        assert_eq!(tree.len(), 3);
    }

    #[test]
    fn records_under_a_prefix_are_listed_object_by_object() {
        let tree = tree(&[
            "Device.",
            "Device.A",
            "Device.B.",
            "Device.B.C",
            "Device.B.D.1.E",
            "Device.B.F",
            "Device.Bz",
            "Device2.Y",
            "Loose",
        ]);
        assert_eq!(
            paths(tree.under("Device.B.")),
            ["Device.B.", "Device.B.C", "Device.B.D.1.E", "Device.B.F"]
        );
        assert_eq!(
            paths(tree.under("Device.B")),
            [
                "Device.B.",
                "Device.B.C",
                "Device.B.D.1.E",
                "Device.B.F",
                "Device.Bz"
            ]
        );
        assert_eq!(paths(tree.under("Device.B.F")), ["Device.B.F"]);
        assert_eq!(paths(tree.under("Lo")), ["Loose"]);
        assert_eq!(tree.iter().count(), 9);
        let mut objects: Vec<&str> = tree.objects_under("Device.B.").map(|(p, _)| p).collect();
        objects.sort();
        assert_eq!(objects, ["Device.B.", "Device.B.D.1."]);
        let mut full = String::new();
        let (path, _) = tree.under("Device.B.D.").next().expect("a record");
        path.write_to(&mut full);
        assert_eq!(full, "Device.B.D.1.E");
        assert!(!path.is_object());
    }

    #[test]
    fn a_subtree_is_removed_whole_and_alone() {
        let mut tree = tree(&[
            "Device.X.",
            "Device.X.1.",
            "Device.X.1.A",
            "Device.X.10.B",
            "Device.X.2.C",
            "Device.X.Count",
            "Device.XY.Z",
            "Device.Y",
        ]);
        tree.remove_subtree("Device.X.1.");
        assert_eq!(
            paths(tree.iter()),
            [
                "Device.X.",
                "Device.X.10.B",
                "Device.X.2.C",
                "Device.X.Count",
                "Device.XY.Z",
                "Device.Y"
            ]
        );
        tree.remove_subtree("Device.X.");
        assert_eq!(paths(tree.iter()), ["Device.XY.Z", "Device.Y"]);
        tree.remove_subtree("");
        assert!(tree.is_empty());
    }

    #[test]
    fn parameters_stay_in_name_order_whatever_the_order_they_come_in() {
        let mut parameters: Parameters = [("B", "1"), ("D", "2"), ("A", "3"), ("B", "4")]
            .into_iter()
            .map(|(name, value)| (name.to_string(), valued(value)))
            .collect();
        let names = |p: &Parameters| p.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>();
        assert_eq!(names(&parameters), ["A", "B", "D"]);
        assert_eq!(
            parameters.get("B"),
            Some(&valued("4")),
            "the later one wins"
        );
        let (record, existed) = parameters.get_or_insert("C");
        assert!(!existed);
        *record = valued("5");
        let (record, existed) = parameters.get_or_insert("E");
        assert!(!existed);
        record.timestamp = 9;
        assert!(parameters.get_or_insert("A").1, "A is there");
        assert_eq!(names(&parameters), ["A", "B", "C", "D", "E"]);
        assert_eq!(parameters.remove("B"), Some(valued("4")));
        assert_eq!(parameters.remove("B"), None);
        assert_eq!(parameters.get("C"), Some(&valued("5")));
        assert_eq!(parameters.get("E").map(|r| r.timestamp), Some(9));
        assert_eq!(parameters.insert("0", valued("6")), None);
        assert_eq!(names(&parameters), ["0", "A", "C", "D", "E"]);
        assert_eq!(parameters.len(), 5);
    }
}
