//! `kube-acs get <kind>`: lists resources with their status from a running ACS's API, in
//! columns like `kubectl get` (the CRDs' own printer columns).

use crds::{ConfigProfile, Device, DeviceGroup, DeviceTask, Firmware, FirmwareRollout};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceColumnDefinition;
use kube::CustomResourceExt;
use serde_json::Value;

/// Fetches `kind` from the API at `api` and prints it as a table.
pub async fn run(api: &str, kind: &str) -> anyhow::Result<()> {
    let url = format!("{}/api/v1/resources/{kind}", api.trim_end_matches('/'));
    let response = reqwest::get(&url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach {url}: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        anyhow::bail!("{}", body["error"].as_str().unwrap_or("request failed"));
    }
    let items = body.as_array().cloned().unwrap_or_default();
    let columns = columns(kind);
    let mut rows = vec![std::iter::once("NAME".to_string())
        .chain(columns.iter().map(|c| c.name.to_uppercase()))
        .collect::<Vec<_>>()];
    for item in &items {
        let name = item["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        rows.push(
            std::iter::once(name)
                .chain(columns.iter().map(|c| cell(json_path(item, &c.json_path))))
                .collect(),
        );
    }
    print!("{}", table(&rows));
    Ok(())
}

/// The printer columns of a kind (by any of its names), without `Age`.
fn columns(kind: &str) -> Vec<CustomResourceColumnDefinition> {
    let crd = match kind.to_ascii_lowercase().as_str() {
        "device" | "devices" | "dev" => Device::crd(),
        "devicegroup" | "devicegroups" | "dg" => DeviceGroup::crd(),
        "configprofile" | "configprofiles" | "cp" => ConfigProfile::crd(),
        "firmware" | "firmwares" | "fw" => Firmware::crd(),
        "firmwarerollout" | "firmwarerollouts" | "fwr" => FirmwareRollout::crd(),
        _ => DeviceTask::crd(),
    };
    crd.spec.versions[0]
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
        Some(other) => other.to_string(),
    }
}

/// Evaluates the JSONPath subset printer columns use: `.a.b.c` and `[?(@.field=="value")]`.
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

fn table(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
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
    }
}
