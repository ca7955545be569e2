//! `kube-acs get <kind>`: lists resources with their status from a running ACS's API, in
//! columns like `kubectl get` (the CRDs' own printer columns). A resource refused at load is
//! listed with `Invalid` and why. With `--watch`, the table is followed by a new row each
//! time a resource's row changes, as with `kubectl get -w`.

use std::collections::HashMap;
use std::time::Duration;

use crds::{ConfigProfile, Device, DeviceGroup, DeviceTask, Firmware, FirmwareRollout};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition,
};
use kube::CustomResourceExt;
use serde_json::Value;

/// A kind `kube-acs get` lists.
#[derive(Debug)]
pub struct Kind {
    /// Its name, such as `ConfigProfile`.
    pub name: &'static str,
    /// Its plural, the API's path (`configprofiles`).
    pub plural: &'static str,
    /// Its short name (`cp`).
    pub short: &'static str,
    /// Its CustomResourceDefinition, with the printer columns.
    crd: fn() -> CustomResourceDefinition,
}

impl PartialEq for Kind {
    fn eq(&self, other: &Kind) -> bool {
        self.name == other.name
    }
}

/// Every kind, in the order help texts name them.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "Device",
        plural: "devices",
        short: "dev",
        crd: Device::crd,
    },
    Kind {
        name: "DeviceGroup",
        plural: "devicegroups",
        short: "dg",
        crd: DeviceGroup::crd,
    },
    Kind {
        name: "ConfigProfile",
        plural: "configprofiles",
        short: "cp",
        crd: ConfigProfile::crd,
    },
    Kind {
        name: "DeviceTask",
        plural: "devicetasks",
        short: "dt",
        crd: DeviceTask::crd,
    },
    Kind {
        name: "Firmware",
        plural: "firmwares",
        short: "fw",
        crd: Firmware::crd,
    },
    Kind {
        name: "FirmwareRollout",
        plural: "firmwarerollouts",
        short: "fwr",
        crd: FirmwareRollout::crd,
    },
];

/// The kinds as help texts and errors name them (every one of [`KINDS`], checked by a test).
macro_rules! kinds_help {
    () => {
        "Device (devices, dev), DeviceGroup (devicegroups, dg), ConfigProfile \
         (configprofiles, cp), DeviceTask (devicetasks, dt), Firmware (firmwares, fw) or \
         FirmwareRollout (firmwarerollouts, fwr)"
    };
}

/// The kinds as help texts and errors name them.
pub const KINDS_HELP: &str = kinds_help!();

/// The help of `kube-acs get`'s kind.
pub const KIND_ARG_HELP: &str = concat!("The kind to list: ", kinds_help!());

/// The kind named `text` (its name, plural or short name, in any case).
pub fn parse_kind(text: &str) -> Result<&'static Kind, String> {
    let wanted = text.to_ascii_lowercase();
    KINDS
        .iter()
        .find(|k| {
            [k.name.to_ascii_lowercase().as_str(), k.plural, k.short].contains(&wanted.as_str())
        })
        .ok_or_else(|| format!("unknown kind {text:?}; the kinds are {KINDS_HELP}"))
}

/// How often `--watch` reads the resources again.
const WATCH_POLL: Duration = Duration::from_secs(1);

/// Fetches `kind` from the API at `api` and prints it as a table; with `watch`, then prints
/// a row again each time it changes, until interrupted.
pub async fn run(api: &str, kind: &Kind, watch: bool) -> anyhow::Result<()> {
    let url = format!(
        "{}/api/v1/resources/{}",
        api.trim_end_matches('/'),
        kind.plural
    );
    let client = reqwest::Client::new();
    let columns = columns(kind);
    let rows = fetch(&client, &url, &columns).await?;
    let table = Table::new(&columns, &rows);
    print!("{}", table.header());
    let mut shown = HashMap::new();
    for row in rows {
        println!("{}", table.line(&row));
        shown.insert(row.key(), table.line(&row));
    }
    if watch {
        follow(&client, &url, &columns, &table, shown).await;
    }
    Ok(())
}

/// Reads the resources at `url` again and again, printing each row that differs from the one
/// `shown` last (by [`Row::key`]); never returns (Ctrl-C ends the process).
async fn follow(
    client: &reqwest::Client,
    url: &str,
    columns: &[CustomResourceColumnDefinition],
    table: &Table,
    mut shown: HashMap<(String, bool), String>,
) {
    let mut failing = false;
    loop {
        tokio::time::sleep(WATCH_POLL).await;
        match fetch(client, url, columns).await {
            Ok(rows) => {
                failing = false;
                for row in rows {
                    let line = table.line(&row);
                    if shown.get(&row.key()) != Some(&line) {
                        println!("{line}");
                        shown.insert(row.key(), line);
                    }
                }
            }
            // Said once while the API cannot be read; the watch goes on.
            Err(error) if !failing => {
                failing = true;
                eprintln!("{error}");
            }
            Err(_) => {}
        }
    }
}

/// One resource's row.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    /// A resource: its name, then a cell per printer column.
    Cells(Vec<String>),
    /// A resource that cannot be used (refused at load): its name and why.
    Invalid { name: String, message: String },
}

impl Row {
    /// The row of one listed resource.
    fn of(item: &Value, columns: &[CustomResourceColumnDefinition]) -> Row {
        let name = item["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let ready = json_path(item, r#".status.conditions[?(@.type=="Ready")]"#);
        match ready {
            Some(ready) if ready["reason"] == "Invalid" => Row::Invalid {
                name,
                message: ready["message"].as_str().unwrap_or_default().to_string(),
            },
            _ => Row::Cells(
                std::iter::once(name)
                    .chain(columns.iter().map(|c| cell(json_path(item, &c.json_path))))
                    .collect(),
            ),
        }
    }

    fn name(&self) -> &str {
        match self {
            Row::Cells(cells) => &cells[0],
            Row::Invalid { name, .. } => name,
        }
    }

    /// What tells rows apart across reads (a resource and a refused edit of it are two).
    fn key(&self) -> (String, bool) {
        (self.name().to_string(), matches!(self, Row::Invalid { .. }))
    }
}

/// The rows of the resources at `url`.
async fn fetch(
    client: &reqwest::Client,
    url: &str,
    columns: &[CustomResourceColumnDefinition],
) -> anyhow::Result<Vec<Row>> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach {url}: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        anyhow::bail!("{}", body["error"].as_str().unwrap_or("request failed"));
    }
    let items = body.as_array().cloned().unwrap_or_default();
    Ok(items.iter().map(|item| Row::of(item, columns)).collect())
}

/// Column titles and widths, set by the first rows (later rows in a watch keep them where
/// they fit, as `kubectl get -w` does).
struct Table {
    titles: Vec<String>,
    widths: Vec<usize>,
}

impl Table {
    fn new(columns: &[CustomResourceColumnDefinition], rows: &[Row]) -> Table {
        let titles: Vec<String> = std::iter::once("NAME".to_string())
            .chain(columns.iter().map(|c| c.name.to_uppercase()))
            .collect();
        let mut widths: Vec<usize> = titles.iter().map(|t| t.chars().count()).collect();
        for row in rows {
            match row {
                Row::Cells(cells) => {
                    for (width, cell) in widths.iter_mut().zip(cells) {
                        *width = (*width).max(cell.chars().count());
                    }
                }
                Row::Invalid { name, .. } => widths[0] = widths[0].max(name.chars().count()),
            }
        }
        Table { titles, widths }
    }

    fn header(&self) -> String {
        format!("{}\n", self.join(&self.titles))
    }

    /// A row as a line; a refused resource's line says `Invalid:` and why in place of the
    /// columns.
    fn line(&self, row: &Row) -> String {
        match row {
            Row::Cells(cells) => self.join(cells),
            Row::Invalid { name, message } => {
                let width = self.widths[0];
                format!("{name:<width$}   Invalid: {message}")
            }
        }
    }

    fn join(&self, cells: &[String]) -> String {
        let line: Vec<String> = cells
            .iter()
            .zip(&self.widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        line.join("   ").trim_end().to_string()
    }
}

/// The printer columns of a kind, without `Age`.
fn columns(kind: &Kind) -> Vec<CustomResourceColumnDefinition> {
    (kind.crd)().spec.versions[0]
        .additional_printer_columns
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.name != "Age")
        .collect()
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "<none>".to_string(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) if items.is_empty() => "<none>".to_string(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

/// Evaluates the JSONPath subset printer columns use: `.a.b.c`, `[?(@.field=="value")]` and
/// `[index]`.
pub fn json_path<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut current = value;
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(filter) = rest.strip_prefix("[?(@.") {
            let end = filter.find(")]")?;
            let (field, wanted) = filter[..end].split_once("==")?;
            let wanted = wanted.trim_matches(['"', '\'']);
            current = current
                .as_array()?
                .iter()
                .find(|item| item.get(field).and_then(Value::as_str) == Some(wanted))?;
            rest = &filter[end + 2..];
        } else if let Some(index) = rest.strip_prefix('[') {
            let end = index.find(']')?;
            current = current.get(index[..end].parse::<usize>().ok()?)?;
            rest = &index[end + 1..];
        } else if let Some(field) = rest.strip_prefix('.') {
            let end = field.find(['.', '[']).unwrap_or(field.len());
            current = current.get(&field[..end])?;
            rest = &field[end..];
        } else {
            return None;
        }
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_path_follows_fields_and_filters() {
        let value: Value = serde_json::json!({
            "spec": {"identity": {"serialNumber": "S1"}},
            "status": {"conditions": [{"type": "Progressing", "status": "True"}, {"type": "Ready", "status": "False"}]}
        });
        assert_eq!(
            json_path(&value, ".spec.identity.serialNumber"),
            Some(&Value::from("S1"))
        );
        assert_eq!(
            json_path(&value, r#".status.conditions[?(@.type=="Ready")].status"#),
            Some(&Value::from("False"))
        );
        assert_eq!(json_path(&value, ".status.missing"), None);
        assert_eq!(
            json_path(&value, ".status.conditions[1].type"),
            Some(&Value::from("Ready"))
        );
        assert_eq!(json_path(&value, ".status.conditions[2]"), None);
    }

    #[test]
    fn kinds_are_found_by_any_name_and_help_names_them_all() {
        for kind in KINDS {
            for name in [kind.name, kind.plural, kind.short] {
                assert_eq!(parse_kind(name), Ok(kind));
                assert_eq!(parse_kind(&name.to_uppercase()), Ok(kind));
            }
            let named = format!("{} ({}, {})", kind.name, kind.plural, kind.short);
            assert!(KINDS_HELP.contains(&named), "{named} missing from help");
        }
        let error = parse_kind("profiles").unwrap_err();
        assert!(
            error.starts_with(
                "unknown kind \"profiles\"; the kinds are Device (devices, dev), DeviceGroup"
            ),
            "{error}"
        );
    }

    #[test]
    fn rows_keep_the_first_widths_and_refused_resources_say_why() {
        let columns = columns(parse_kind("fw").unwrap());
        let firmware = serde_json::json!({
            "metadata": {"name": "gw-2"},
            "spec": {"version": "2.0", "compatible": {"productClasses": ["GW", "ONT"]}},
        });
        let refused = serde_json::json!({
            "metadata": {"name": "fw.yaml#2"},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Invalid", "message": "fw.yaml (document 2): bad"}]},
        });
        let rows = [Row::of(&firmware, &columns), Row::of(&refused, &columns)];
        let table = Table::new(&columns, &rows);
        assert_eq!(
            table.header(),
            "NAME        VERSION   PRODUCTS   SIZE     DOWNLOADS   READY\n"
        );
        assert_eq!(
            table.line(&rows[0]),
            "gw-2        2.0       GW,ONT     <none>   <none>      <none>"
        );
        assert_eq!(
            table.line(&rows[1]),
            "fw.yaml#2   Invalid: fw.yaml (document 2): bad"
        );
    }
}
