//! The template data model: a parameter tree loaded once from a `.model` file and shared by
//! every device of that model behind one `Arc` (see `models/README.md` for the format).
//!
//! Nodes are stored in one vector and addressed by [`NodeId`]; each device keeps only its
//! differences from this tree (see [`crate::device`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use cwmp::XsdType;

use crate::template::Template;

/// Index of a node in a [`Model`].
pub type NodeId = u32;

/// The virtual root (empty path), parent of the top object (`Device.`).
pub const ROOT: NodeId = 0;

/// What a node is.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A single-instance object.
    Object,
    /// A multi-instance object (table); its children are its instances.
    Table {
        /// The instance schema used by AddObject: the `{i}` node, else the first instance.
        schema: Option<NodeId>,
        /// The highest instance number in the template.
        max_instance: u32,
    },
    /// One instance of a table.
    Instance(u32),
    /// The `{i}` instance schema of a table: never listed, only copied by AddObject.
    Schema,
    /// A parameter with its type and default value.
    Param {
        /// Declared type.
        xsd_type: XsdType,
        /// Default value, possibly with placeholders.
        value: Template,
    },
}

/// One object or parameter of the template tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// Full path; objects end with a dot.
    pub path: Box<str>,
    /// Parent node ([`ROOT`] for the top object).
    pub parent: NodeId,
    /// Children in listing order (instances by number).
    pub children: Vec<NodeId>,
    /// Object, table, instance, schema or parameter.
    pub kind: NodeKind,
    /// Parameters: the ACS may set it. Tables: AddObject allowed. Instances: DeleteObject allowed.
    pub writable: bool,
    /// Always read as an empty string (passwords, keys).
    pub secret: bool,
    /// Sent in every Inform.
    pub forced_inform: bool,
}

impl Node {
    /// Whether this is a parameter (a leaf).
    pub fn is_param(&self) -> bool {
        matches!(self.kind, NodeKind::Param { .. })
    }

    /// The parameter type (`xsd:string` for objects).
    pub fn xsd_type(&self) -> &XsdType {
        static STRING: XsdType = XsdType::String;
        match &self.kind {
            NodeKind::Param { xsd_type, .. } => xsd_type,
            _ => &STRING,
        }
    }
}

/// Parameters the device logic needs by role, found by their standard names.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    /// `DeviceInfo.SoftwareVersion`
    pub software_version: Option<NodeId>,
    /// `ManagementServer.ParameterKey`
    pub parameter_key: Option<NodeId>,
    /// `ManagementServer.PeriodicInformInterval`
    pub periodic_interval: Option<NodeId>,
    /// `ManagementServer.PeriodicInformEnable`
    pub periodic_enable: Option<NodeId>,
    /// `ManagementServer.ConnectionRequestUsername`
    pub cr_username: Option<NodeId>,
    /// `ManagementServer.ConnectionRequestPassword`
    pub cr_password: Option<NodeId>,
}

/// A loaded data model, shared read-only by all devices of that model.
#[derive(Debug)]
pub struct Model {
    name: String,
    nodes: Vec<Node>,
    index: HashMap<Box<str>, NodeId>,
    forced_inform: Vec<NodeId>,
    roles: Roles,
    params: usize,
}

/// A model file that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read.
    #[error("reading {0}: {1}")]
    Io(String, std::io::Error),
    /// A line is wrong.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The TR-098 `InternetGatewayDevice` model shipped with the crate.
pub const TR098: &str = include_str!("../models/tr098-igd.model");
/// The TR-181 `Device:2` model shipped with the crate.
pub const TR181: &str = include_str!("../models/tr181-device2.model");

impl Model {
    /// A shipped model by name (`tr098` or `tr181`), or a model file by path.
    pub fn load(name_or_path: &str) -> Result<Arc<Model>, ModelError> {
        let (name, text) = match name_or_path {
            "tr098" | "igd" => ("tr098".to_string(), TR098.to_string()),
            "tr181" | "device2" => ("tr181".to_string(), TR181.to_string()),
            path => {
                let text = std::fs::read_to_string(Path::new(path))
                    .map_err(|e| ModelError::Io(path.to_string(), e))?;
                (path.to_string(), text)
            }
        };
        Model::parse(&name, &text).map(Arc::new)
    }

    /// Parses model text (see `models/README.md`).
    pub fn parse(name: &str, text: &str) -> Result<Model, ModelError> {
        let mut builder = Builder::default();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            builder.line(line).map_err(|message| ModelError::Line {
                line: number + 1,
                message,
            })?;
        }
        Ok(builder.finish(name))
    }

    /// The model's name (`tr098`, `tr181` or the file path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A node by id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The node with exactly this path (objects with their trailing dot).
    pub fn lookup(&self, path: &str) -> Option<NodeId> {
        self.index.get(path).copied()
    }

    /// Parameters sent in every Inform, in file order.
    pub fn forced_inform(&self) -> &[NodeId] {
        &self.forced_inform
    }

    /// Parameters by role.
    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// Number of parameters in the template (instances included, schemas excluded).
    pub fn parameter_count(&self) -> usize {
        self.params
    }

    /// Up to `limit` parameters the ACS may set to any text: writable `xsd:string` parameters
    /// outside `ManagementServer.` (which holds the ACS's own address), not secrets, and not in
    /// an instance schema.
    pub fn settable_strings(&self, limit: usize) -> Vec<&str> {
        (0..self.nodes.len() as NodeId)
            .filter(|&id| {
                let node = &self.nodes[id as usize];
                node.is_param()
                    && node.writable
                    && !node.secret
                    && *node.xsd_type() == XsdType::String
                    && !node.path.contains(".ManagementServer.")
                    && !self.in_schema(id)
            })
            .map(|id| &*self.nodes[id as usize].path)
            .take(limit)
            .collect()
    }

    /// The top object, such as `Device.`.
    pub fn top_object(&self) -> &str {
        self.nodes[ROOT as usize]
            .children
            .first()
            .map_or("", |&id| &*self.nodes[id as usize].path)
    }

    /// The instance schema of a table and its path length (the part replaced by `T.n.`).
    pub fn schema(&self, table: NodeId) -> Option<NodeId> {
        match self.node(table).kind {
            NodeKind::Table { schema, .. } => schema,
            _ => None,
        }
    }

    /// Whether `id` lies inside a `{i}` schema subtree (never listed).
    pub fn in_schema(&self, mut id: NodeId) -> bool {
        while id != ROOT {
            let node = self.node(id);
            if node.kind == NodeKind::Schema {
                return true;
            }
            id = node.parent;
        }
        false
    }
}

/// Builds the node vector line by line.
struct Builder {
    nodes: Vec<Node>,
    index: HashMap<Box<str>, NodeId>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            nodes: vec![Node {
                path: "".into(),
                parent: ROOT,
                children: Vec::new(),
                kind: NodeKind::Object,
                writable: false,
                secret: false,
                forced_inform: false,
            }],
            index: HashMap::new(),
        }
    }
}

impl Builder {
    fn line(&mut self, line: &str) -> Result<(), String> {
        let mut fields = line.split('\t');
        let path = fields.next().unwrap_or_default().trim();
        let kind = fields.next().ok_or("missing type")?.trim();
        let access = fields.next().ok_or("missing access (rw or ro)")?.trim();
        let value = fields.next().unwrap_or_default();
        let flags = fields.next().unwrap_or_default();
        let writable = match access {
            "rw" => true,
            "ro" => false,
            other => return Err(format!("access must be rw or ro, not {other:?}")),
        };
        if path.is_empty() || path.starts_with('.') || path.contains("..") {
            return Err(format!("bad path {path:?}"));
        }
        match kind {
            "object" | "table" => {
                if !path.ends_with('.') {
                    return Err(format!("object path {path:?} must end with a dot"));
                }
                let id = self.object(path)?;
                if kind == "table" {
                    let node = &mut self.nodes[id as usize];
                    if !matches!(node.kind, NodeKind::Object | NodeKind::Table { .. }) {
                        return Err(format!("{path:?} cannot be a table"));
                    }
                    node.kind = NodeKind::Table {
                        schema: None,
                        max_instance: 0,
                    };
                    node.writable = writable;
                }
                Ok(())
            }
            type_name => {
                if path.ends_with('.') {
                    return Err(format!("parameter path {path:?} must not end with a dot"));
                }
                if self.index.contains_key(path) {
                    return Err(format!("duplicate parameter {path:?}"));
                }
                let value = Template::parse(value)?;
                let (parent_path, _) = split_last(path);
                let parent = self.object(parent_path)?;
                let mut forced_inform = false;
                let mut secret = false;
                for flag in flags.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                    match flag {
                        "inform" => forced_inform = true,
                        "secret" => secret = true,
                        other => return Err(format!("unknown flag {other:?}")),
                    }
                }
                self.push(
                    parent,
                    Node {
                        path: path.into(),
                        parent,
                        children: Vec::new(),
                        kind: NodeKind::Param {
                            xsd_type: XsdType::from_name(type_name),
                            value,
                        },
                        writable,
                        secret,
                        forced_inform,
                    },
                );
                Ok(())
            }
        }
    }

    /// The object node for `path` (ending with a dot), created with its ancestors if missing.
    fn object(&mut self, path: &str) -> Result<NodeId, String> {
        if let Some(&id) = self.index.get(path) {
            return Ok(id);
        }
        let trimmed = &path[..path.len() - 1];
        let (parent_path, segment) = split_last(trimmed);
        let parent = if parent_path.is_empty() {
            ROOT
        } else {
            self.object(parent_path)?
        };
        if segment.is_empty() {
            return Err(format!("bad path {path:?}"));
        }
        let instance = if segment == "{i}" {
            Some(None)
        } else if segment.bytes().all(|b| b.is_ascii_digit()) {
            Some(Some(
                segment
                    .parse::<u32>()
                    .map_err(|_| format!("bad instance number in {path:?}"))?,
            ))
        } else {
            None
        };
        let kind = match instance {
            None => NodeKind::Object,
            Some(number) => {
                let table = &mut self.nodes[parent as usize];
                if table.kind == NodeKind::Object {
                    // A numbered child makes its parent a table, even if undeclared.
                    table.kind = NodeKind::Table {
                        schema: None,
                        max_instance: 0,
                    };
                }
                match (&mut table.kind, number) {
                    (NodeKind::Table { max_instance, .. }, Some(n)) => {
                        *max_instance = (*max_instance).max(n);
                        NodeKind::Instance(n)
                    }
                    (NodeKind::Table { .. }, None) => NodeKind::Schema,
                    _ => return Err(format!("{path:?}: instance of a non-table")),
                }
            }
        };
        let writable =
            matches!(kind, NodeKind::Instance(_)) && self.nodes[parent as usize].writable;
        if parent == ROOT && !self.nodes[ROOT as usize].children.is_empty() {
            return Err(format!("second top-level object {path:?}"));
        }
        Ok(self.push(
            parent,
            Node {
                path: path.into(),
                parent,
                children: Vec::new(),
                kind,
                writable,
                secret: false,
                forced_inform: false,
            },
        ))
    }

    fn push(&mut self, parent: NodeId, node: Node) -> NodeId {
        let id = self.nodes.len() as NodeId;
        self.index.insert(node.path.clone(), id);
        let instance = match node.kind {
            NodeKind::Instance(n) => Some(n),
            _ => None,
        };
        self.nodes.push(node);
        let position = match instance {
            // Instances are listed by number, whatever the file order.
            Some(n) => {
                let children = &self.nodes[parent as usize].children;
                children
                    .iter()
                    .position(
                        |&c| matches!(self.nodes[c as usize].kind, NodeKind::Instance(m) if m > n),
                    )
                    .unwrap_or(children.len())
            }
            None => self.nodes[parent as usize].children.len(),
        };
        self.nodes[parent as usize].children.insert(position, id);
        id
    }

    fn finish(mut self, name: &str) -> Model {
        // Instance writability follows the table's access, whatever order the lines came in.
        for id in 0..self.nodes.len() {
            if let NodeKind::Instance(_) = self.nodes[id].kind {
                let parent = self.nodes[id].parent as usize;
                self.nodes[id].writable = self.nodes[parent].writable;
            }
        }
        for id in 0..self.nodes.len() {
            if let NodeKind::Table { .. } = self.nodes[id].kind {
                let children = &self.nodes[id].children;
                let schema = children
                    .iter()
                    .copied()
                    .find(|&c| self.nodes[c as usize].kind == NodeKind::Schema)
                    .or_else(|| children.first().copied());
                if let NodeKind::Table { schema: s, .. } = &mut self.nodes[id].kind {
                    *s = schema;
                }
            }
        }
        let top = self.nodes[ROOT as usize]
            .children
            .first()
            .map(|&id| self.nodes[id as usize].path.to_string())
            .unwrap_or_default();
        let role = |suffix: &str| self.index.get(format!("{top}{suffix}").as_str()).copied();
        let roles = Roles {
            software_version: role("DeviceInfo.SoftwareVersion"),
            parameter_key: role("ManagementServer.ParameterKey"),
            periodic_interval: role("ManagementServer.PeriodicInformInterval"),
            periodic_enable: role("ManagementServer.PeriodicInformEnable"),
            cr_username: role("ManagementServer.ConnectionRequestUsername"),
            cr_password: role("ManagementServer.ConnectionRequestPassword"),
        };
        let model_nodes = &self.nodes;
        let in_schema = |mut id: usize| {
            while id != ROOT as usize {
                if model_nodes[id].kind == NodeKind::Schema {
                    return true;
                }
                id = model_nodes[id].parent as usize;
            }
            false
        };
        let forced_inform = (0..self.nodes.len())
            .filter(|&id| self.nodes[id].forced_inform && !in_schema(id))
            .map(|id| id as NodeId)
            .collect();
        let params = (0..self.nodes.len())
            .filter(|&id| self.nodes[id].is_param() && !in_schema(id))
            .count();
        Model {
            name: name.to_string(),
            nodes: self.nodes,
            index: self.index,
            forced_inform,
            roles,
            params,
        }
    }
}

/// Splits `A.B.C` into (`A.B.`, `C`); a path without a dot gives (``, path).
fn split_last(path: &str) -> (&str, &str) {
    match path.rfind('.') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_models_load_with_enough_parameters() {
        for name in ["tr098", "tr181"] {
            let model = Model::load(name).unwrap();
            assert!(
                model.parameter_count() >= 500,
                "{name}: {}",
                model.parameter_count()
            );
            let roles = model.roles();
            assert!(roles.software_version.is_some() && roles.parameter_key.is_some());
            assert!(roles.periodic_interval.is_some() && roles.cr_password.is_some());
            assert!(model.forced_inform().len() >= 6);
        }
        assert_eq!(
            Model::load("tr098").unwrap().top_object(),
            "InternetGatewayDevice."
        );
    }

    #[test]
    fn tables_instances_and_schemas() {
        let model = Model::parse(
            "t",
            "D.T.\ttable\trw\nD.T.{i}.A\tstring\trw\tx\nD.T.2.A\tstring\trw\ty\nD.T.1.A\tstring\trw\tz\nD.U.3.B\tint\tro\t1\n",
        )
        .unwrap();
        let table = model.lookup("D.T.").unwrap();
        let NodeKind::Table {
            schema,
            max_instance,
        } = model.node(table).kind.clone()
        else {
            panic!("not a table")
        };
        assert_eq!(max_instance, 2);
        assert_eq!(model.node(schema.unwrap()).path.as_ref(), "D.T.{i}.");
        let names: Vec<_> = model
            .node(table)
            .children
            .iter()
            .map(|&c| model.node(c).path.to_string())
            .collect();
        assert_eq!(names, ["D.T.{i}.", "D.T.1.", "D.T.2."]);
        assert!(model.node(model.lookup("D.T.1.").unwrap()).writable);
        // Undeclared tables are read-only; their only instance is their schema.
        let u = model.lookup("D.U.").unwrap();
        assert!(!model.node(u).writable);
        assert_eq!(model.schema(u), model.lookup("D.U.3."));
        assert_eq!(model.parameter_count(), 3);
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        let error = Model::parse("t", "# c\nD.A\tstring\tmaybe\tx\n").unwrap_err();
        assert!(error.to_string().starts_with("line 2:"), "{error}");
        assert!(Model::parse("t", "D.A\tstring\tro\t{nope}\n").is_err());
        assert!(Model::parse("t", "D.A\tstring\tro\tx\tloud\n").is_err());
    }
}
