//! One simulated device: its place in the fleet, its lifecycle, and its differences from the
//! shared template tree (changed values, added and deleted instances, attributes).
//!
//! Pure: no I/O, the time is passed in through [`Env`]. A factory-new or idle device is a few
//! dozen bytes; the [`Overrides`] are allocated on the first change only.

use std::collections::BTreeMap;

use crate::events::EventSet;
use crate::model::{Model, Node, NodeId, NodeKind, ROOT};
use crate::template::{IdentityConfig, RenderContext};
use crate::transfer::Transfer;

/// What the pure device logic needs from outside: the shared model, the fleet identity
/// settings and the current time.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// The template tree.
    pub model: &'a Model,
    /// Fleet identity settings.
    pub identity: &'a IdentityConfig,
    /// Now, Unix milliseconds.
    pub now_ms: u64,
}

/// A node of one device's tree: a template node, or a node of an instance added by AddObject
/// (addressed by its table, its instance number and the matching node of the table's schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ref {
    /// A node of the template.
    Node(NodeId),
    /// A node inside an added instance (`node` is the schema node itself for the instance).
    Added {
        /// The table the instance was added to.
        table: NodeId,
        /// Its instance number.
        instance: u32,
        /// The corresponding node of the table's schema.
        node: NodeId,
    },
}

impl Ref {
    /// The template (or schema) node this refers to.
    pub fn node(self) -> NodeId {
        match self {
            Ref::Node(id) | Ref::Added { node: id, .. } => id,
        }
    }
}

/// Attributes of one parameter, with the value last reported to the ACS (for notification).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribute {
    /// 0 off, 1 passive, 2 active.
    pub notification: u8,
    /// Access list (`Subscriber`).
    pub access_list: Vec<String>,
    /// The value the ACS last saw (by Inform, GPV or its own SPV).
    pub last_reported: Option<Box<str>>,
}

/// A device's differences from the template.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Changed values.
    pub values: BTreeMap<Ref, Box<str>>,
    /// Template instances deleted by DeleteObject.
    pub deleted: Vec<NodeId>,
    /// Instances added by AddObject: (table, instance number), in order.
    pub added: Vec<(NodeId, u32)>,
    /// Highest instance number ever used per table (numbers are never reused).
    pub last_instance: Vec<(NodeId, u32)>,
    /// Attributes set by SetParameterAttributes.
    pub attributes: BTreeMap<Ref, Attribute>,
}

impl Overrides {
    fn is_empty(&self) -> bool {
        self.values.is_empty()
            && self.deleted.is_empty()
            && self.added.is_empty()
            && self.last_instance.is_empty()
            && self.attributes.is_empty()
    }
}

/// Command keys of the `M ...` events waiting to be reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandKeys {
    /// `M Reboot`
    pub reboot: String,
    /// `M ScheduleInform`
    pub schedule_inform: String,
}

/// Where a device is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Has not completed a session since the factory (informs `0 BOOTSTRAP`).
    New,
    /// Has been bootstrapped.
    Known,
    /// Went silent for good (an injected failure after a firmware upgrade).
    Silent,
}

/// The rarely used, boxed part of a device.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// Changes from the template.
    pub overrides: Overrides,
    /// Command keys of pending `M` events.
    pub keys: CommandKeys,
    /// A transfer in progress or waiting to be reported.
    pub transfer: Option<Box<Transfer>>,
}

/// One simulated CPE.
#[derive(Debug, Clone)]
pub struct Device {
    index: u32,
    /// Lifecycle state.
    pub lifecycle: Lifecycle,
    /// Events to report in the next Inform.
    pub pending: EventSet,
    /// Consecutive failed sessions (the Inform's RetryCount).
    pub retry_count: u16,
    /// Last boot, Unix milliseconds.
    pub boot_ms: u64,
    extra: Option<Box<Extra>>,
}

/// A CWMP fault code from the device logic.
pub type FaultCode = u32;

impl Device {
    /// A factory-new device that booted at `now_ms`: its first Inform is `0 BOOTSTRAP, 1 BOOT`.
    pub fn new(index: u32, now_ms: u64) -> Device {
        Device {
            index,
            lifecycle: Lifecycle::New,
            pending: EventSet::BOOTSTRAP | EventSet::BOOT,
            retry_count: 0,
            boot_ms: now_ms,
            extra: None,
        }
    }

    /// The device's index in its fleet.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The boxed extra state, if any.
    pub fn extra(&self) -> Option<&Extra> {
        self.extra.as_deref()
    }

    /// The boxed extra state, allocated on first use.
    pub fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Default::default)
    }

    /// The boxed extra state, if allocated.
    pub fn extra_if_any_mut(&mut self) -> Option<&mut Extra> {
        self.extra.as_deref_mut()
    }

    /// Frees the boxed state when nothing is left in it.
    pub fn compact(&mut self) {
        if let Some(extra) = &self.extra {
            if extra.overrides.is_empty()
                && extra.transfer.is_none()
                && extra.keys == CommandKeys::default()
            {
                self.extra = None;
            }
        }
    }

    fn overrides(&self) -> Option<&Overrides> {
        self.extra.as_deref().map(|e| &e.overrides)
    }

    /// Bytes this device uses on the heap beyond its fixed size (an estimate of the maps).
    pub fn heap_bytes(&self) -> usize {
        let Some(extra) = &self.extra else { return 0 };
        let o = &extra.overrides;
        let values: usize = o.values.values().map(|v| v.len() + 48).sum();
        let attributes: usize = o
            .attributes
            .values()
            .map(|a| 64 + a.last_reported.as_ref().map_or(0, |v| v.len()))
            .sum();
        std::mem::size_of::<Extra>()
            + values
            + attributes
            + 8 * o.deleted.capacity()
            + 8 * (o.added.capacity() + o.last_instance.capacity())
    }

    /// Placeholder context for this device.
    pub fn render_context<'a>(&self, env: &Env<'a>) -> RenderContext<'a> {
        RenderContext {
            identity: env.identity,
            index: self.index,
            now_ms: env.now_ms,
            boot_ms: self.boot_ms,
        }
    }

    // ----- the tree as this device sees it -----

    /// Whether a template node is invisible here: inside a schema or a deleted instance.
    fn hidden(&self, model: &Model, mut id: NodeId) -> bool {
        let deleted = self.overrides().map_or(&[][..], |o| &o.deleted[..]);
        while id != ROOT {
            let node = model.node(id);
            match node.kind {
                NodeKind::Schema => return true,
                NodeKind::Instance(_) if deleted.contains(&id) => return true,
                _ => {}
            }
            id = node.parent;
        }
        false
    }

    /// Whether a template node exists on this device (not deleted, not a schema).
    pub fn has_node(&self, model: &Model, id: NodeId) -> bool {
        !self.hidden(model, id)
    }

    /// The node a path names on this device (objects with their trailing dot).
    pub fn resolve(&self, env: &Env<'_>, path: &str) -> Option<Ref> {
        let model = env.model;
        if let Some(id) = model.lookup(path) {
            return (!self.hidden(model, id)).then_some(Ref::Node(id));
        }
        let overrides = self.overrides()?;
        for &(table, instance) in &overrides.added {
            let table_path = &*model.node(table).path;
            let Some(rest) = path
                .strip_prefix(table_path)
                .and_then(|rest| rest.strip_prefix(&*instance.to_string()))
                .and_then(|rest| rest.strip_prefix('.'))
            else {
                continue;
            };
            let schema = model.schema(table)?;
            let id = model.lookup(&format!("{}{rest}", model.node(schema).path))?;
            // Nested instances are not copied into added instances.
            let mut up = id;
            while up != schema {
                let node = model.node(up);
                if matches!(node.kind, NodeKind::Instance(_) | NodeKind::Schema) {
                    return None;
                }
                up = node.parent;
            }
            return Some(Ref::Added {
                table,
                instance,
                node: id,
            });
        }
        None
    }

    /// The full path of a node on this device.
    pub fn path(&self, env: &Env<'_>, r: Ref) -> String {
        match r {
            Ref::Node(id) => env.model.node(id).path.to_string(),
            Ref::Added {
                table,
                instance,
                node,
            } => added_path(env.model, table, instance, node),
        }
    }

    /// The template node behind a reference.
    pub fn node<'m>(&self, env: &Env<'m>, r: Ref) -> &'m Node {
        env.model.node(r.node())
    }

    /// Calls `f(ref, path, depth)` for `start` (depth 0) and everything below it, in listing
    /// order, down to `max_depth` levels below `start`.
    pub fn visit(
        &self,
        env: &Env<'_>,
        start: Ref,
        max_depth: usize,
        f: &mut dyn FnMut(Ref, &str, usize),
    ) {
        match start {
            Ref::Node(id) => self.visit_node(env, id, 0, max_depth, f),
            Ref::Added {
                table,
                instance,
                node,
            } => self.visit_added(env, table, instance, node, 0, max_depth, f),
        }
    }

    fn visit_node(
        &self,
        env: &Env<'_>,
        id: NodeId,
        depth: usize,
        max_depth: usize,
        f: &mut dyn FnMut(Ref, &str, usize),
    ) {
        let model = env.model;
        let node = model.node(id);
        if id != ROOT {
            f(Ref::Node(id), &node.path, depth);
        }
        if depth >= max_depth {
            return;
        }
        let deleted = self.overrides().map_or(&[][..], |o| &o.deleted[..]);
        for &child in &node.children {
            match model.node(child).kind {
                NodeKind::Schema => continue,
                NodeKind::Instance(_) if deleted.contains(&child) => continue,
                _ => self.visit_node(env, child, depth + 1, max_depth, f),
            }
        }
        if let (
            NodeKind::Table {
                schema: Some(schema),
                ..
            },
            Some(o),
        ) = (&node.kind, self.overrides())
        {
            for &(table, instance) in o.added.iter().filter(|(t, _)| *t == id) {
                self.visit_added(env, table, instance, *schema, depth + 1, max_depth, f);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn visit_added(
        &self,
        env: &Env<'_>,
        table: NodeId,
        instance: u32,
        id: NodeId,
        depth: usize,
        max_depth: usize,
        f: &mut dyn FnMut(Ref, &str, usize),
    ) {
        let model = env.model;
        let path = added_path(model, table, instance, id);
        f(
            Ref::Added {
                table,
                instance,
                node: id,
            },
            &path,
            depth,
        );
        let node = model.node(id);
        if depth >= max_depth || matches!(node.kind, NodeKind::Table { .. }) {
            // Tables inside an added instance start empty.
            return;
        }
        for &child in &node.children {
            if !matches!(
                model.node(child).kind,
                NodeKind::Instance(_) | NodeKind::Schema
            ) {
                self.visit_added(env, table, instance, child, depth + 1, max_depth, f);
            }
        }
    }

    // ----- values -----

    /// The real value of a parameter (secrets included).
    pub fn value(&self, env: &Env<'_>, r: Ref) -> String {
        if let Some(value) = self.overrides().and_then(|o| o.values.get(&r)) {
            return value.to_string();
        }
        match &self.node(env, r).kind {
            NodeKind::Param { value, .. } => value.render(&self.render_context(env)),
            _ => String::new(),
        }
    }

    /// The value as the ACS reads it: secrets read as an empty string.
    pub fn read_value(&self, env: &Env<'_>, r: Ref) -> String {
        if self.node(env, r).secret {
            String::new()
        } else {
            self.value(env, r)
        }
    }

    /// The value of a parameter given by role, if the model has it.
    pub fn role_value(&self, env: &Env<'_>, role: Option<NodeId>) -> Option<String> {
        role.map(|id| self.value(env, Ref::Node(id)))
    }

    /// Stores a value (no checks; see [`crate::rpc`] for the ACS's view). A value equal to
    /// the template's default drops the override.
    pub fn store_value(&mut self, env: &Env<'_>, r: Ref, value: &str) {
        let default = match &self.node(env, r).kind {
            NodeKind::Param { value, .. } => Some(value.render(&self.render_context(env))),
            _ => None,
        };
        if default.as_deref() == Some(value) {
            if let Some(extra) = self.extra.as_deref_mut() {
                extra.overrides.values.remove(&r);
            }
        } else {
            self.extra_mut().overrides.values.insert(r, value.into());
        }
    }

    // ----- objects -----

    /// Adds an instance to a table; returns its number (never a number used before).
    pub fn add_instance(&mut self, env: &Env<'_>, table: Ref) -> Result<u32, FaultCode> {
        let model = env.model;
        let Ref::Node(table) = table else {
            // Tables inside added instances cannot grow (a documented limit).
            return Err(9004);
        };
        let node = model.node(table);
        let NodeKind::Table {
            max_instance,
            schema,
        } = node.kind
        else {
            return Err(9005);
        };
        if !node.writable {
            return Err(9005);
        }
        if schema.is_none() {
            // A table the model gives no instance shape for cannot grow.
            return Err(9004);
        }
        let overrides = &mut self.extra_mut().overrides;
        let last = overrides
            .last_instance
            .iter_mut()
            .find(|(t, _)| *t == table);
        let number = match last {
            Some((_, last)) => {
                *last += 1;
                *last
            }
            None => {
                overrides.last_instance.push((table, max_instance + 1));
                max_instance + 1
            }
        };
        overrides.added.push((table, number));
        Ok(number)
    }

    /// Deletes an instance (template or added) and everything stored below it.
    pub fn delete_instance(&mut self, env: &Env<'_>, instance: Ref) -> Result<(), FaultCode> {
        let model = env.model;
        match instance {
            Ref::Node(id) => {
                let node = model.node(id);
                if !matches!(node.kind, NodeKind::Instance(_)) || !node.writable {
                    return Err(9005);
                }
                let under = |r: &Ref| match *r {
                    Ref::Node(n) | Ref::Added { table: n, .. } => is_under(model, n, id),
                };
                let overrides = &mut self.extra_mut().overrides;
                overrides.deleted.push(id);
                overrides.values.retain(|r, _| !under(r));
                overrides.attributes.retain(|r, _| !under(r));
                overrides
                    .added
                    .retain(|&(table, _)| !is_under(model, table, id));
                Ok(())
            }
            Ref::Added {
                table,
                instance,
                node,
            } => {
                if Some(node) != model.schema(table) {
                    return Err(9005);
                }
                let same = |r: &Ref| matches!(*r, Ref::Added { table: t, instance: i, .. } if t == table && i == instance);
                let overrides = &mut self.extra_mut().overrides;
                overrides.added.retain(|&a| a != (table, instance));
                overrides.values.retain(|r, _| !same(r));
                overrides.attributes.retain(|r, _| !same(r));
                Ok(())
            }
        }
    }

    // ----- attributes -----

    /// A parameter's attributes (defaults when never set).
    pub fn attribute(&self, r: Ref) -> Attribute {
        self.overrides()
            .and_then(|o| o.attributes.get(&r))
            .cloned()
            .unwrap_or_default()
    }

    /// Sets a parameter's notification and/or access list; the current value becomes the
    /// baseline for value-change notification.
    pub fn set_attribute(
        &mut self,
        env: &Env<'_>,
        r: Ref,
        notification: Option<u8>,
        access_list: Option<Vec<String>>,
    ) {
        let current = self.value(env, r);
        let attribute = self.extra_mut().overrides.attributes.entry(r).or_default();
        if let Some(n) = notification {
            attribute.notification = n;
            attribute.last_reported = Some(current.into());
        }
        if let Some(list) = access_list {
            attribute.access_list = list;
        }
        if attribute.notification == 0 && attribute.access_list.is_empty() {
            self.extra_mut().overrides.attributes.remove(&r);
        }
    }

    /// Parameters with notification on whose value differs from what the ACS last saw:
    /// (reference, current value, notification).
    pub fn changed_notified(&self, env: &Env<'_>) -> Vec<(Ref, String, u8)> {
        let Some(overrides) = self.overrides() else {
            return Vec::new();
        };
        overrides
            .attributes
            .iter()
            .filter(|(_, a)| a.notification > 0)
            .filter_map(|(&r, a)| {
                let value = self.read_value(env, r);
                (a.last_reported.as_deref() != Some(value.as_str())).then_some((
                    r,
                    value,
                    a.notification,
                ))
            })
            .collect()
    }

    /// Whether any parameter has active notification (the fleet watches such devices).
    pub fn has_active_notification(&self) -> bool {
        self.overrides()
            .is_some_and(|o| o.attributes.values().any(|a| a.notification == 2))
    }

    /// Records that the ACS has now seen `value` for `r` (no notification for it).
    pub fn mark_reported(&mut self, r: Ref, value: &str) {
        if let Some(attribute) = self
            .extra
            .as_deref_mut()
            .and_then(|e| e.overrides.attributes.get_mut(&r))
        {
            attribute.last_reported = Some(value.into());
        }
    }

    /// Forgets every change (factory reset); the installed firmware version stays.
    pub fn reset_overrides(&mut self, env: &Env<'_>) {
        let firmware = env
            .model
            .roles()
            .software_version
            .map(Ref::Node)
            .and_then(|r| Some((r, self.overrides()?.values.get(&r)?.clone())));
        if let Some(extra) = self.extra.as_deref_mut() {
            extra.overrides = Overrides::default();
            if let Some((r, version)) = firmware {
                extra.overrides.values.insert(r, version);
            }
        }
    }
}

/// The path of a node of an added instance: the table path, the number, then the part of the
/// schema node's path below the schema.
fn added_path(model: &Model, table: NodeId, instance: u32, node: NodeId) -> String {
    let table_path = &*model.node(table).path;
    let schema_len = model.schema(table).map_or(0, |s| model.node(s).path.len());
    let rest = model.node(node).path.get(schema_len..).unwrap_or_default();
    format!("{table_path}{instance}.{rest}")
}

/// Whether `id` is `ancestor` or below it.
fn is_under(model: &Model, mut id: NodeId, ancestor: NodeId) -> bool {
    loop {
        if id == ancestor {
            return true;
        }
        if id == ROOT {
            return false;
        }
        id = model.node(id).parent;
    }
}
