//! Checks a resource against its CRD's OpenAPI schema the way the API server does with strict
//! field validation: types, required fields, enums, patterns, lengths, ranges, item and
//! property counts, and unknown fields. Used by standalone mode, which has no API server.

use serde_json::Value;

/// Top-level fields every resource has, which CRD schemas do not describe.
const IMPLICIT_ROOT_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Every violation of `schema` by `value`, each naming the field (`spec.groups[0]`).
pub fn violations(schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    check(schema, value, "", &mut found);
    found
}

fn field(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn check(schema: &Value, value: &Value, path: &str, found: &mut Vec<String>) {
    let at = if path.is_empty() {
        "the resource"
    } else {
        path
    };
    if value.is_null() {
        if !schema
            .get("nullable")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            && schema.get("type").is_some()
        {
            found.push(format!("{at}: must not be null"));
        }
        return;
    }
    if schema.get("x-kubernetes-int-or-string").is_some()
        || schema.get("x-kubernetes-preserve-unknown-fields").is_some()
    {
        return;
    }
    let kind = schema.get("type").and_then(Value::as_str);
    let type_ok = match kind {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !type_ok {
        found.push(format!("{at}: must be of type {}", kind.unwrap_or("?")));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            let names: Vec<String> = allowed.iter().map(|v| v.to_string()).collect();
            found.push(format!("{at}: must be one of {}", names.join(", ")));
        }
    }
    match value {
        Value::String(text) => check_string(schema, text, at, found),
        Value::Number(number) => {
            let number = number.as_f64().unwrap_or_default();
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
                if number < min {
                    found.push(format!("{at}: must be at least {min}"));
                }
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
                if number > max {
                    found.push(format!("{at}: must be at most {max}"));
                }
            }
        }
        Value::Array(items) => {
            bounds(
                schema,
                "minItems",
                "maxItems",
                items.len(),
                "items",
                at,
                found,
            );
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{index}]"), found);
                }
            }
        }
        Value::Object(map) => {
            bounds(
                schema,
                "minProperties",
                "maxProperties",
                map.len(),
                "properties",
                at,
                found,
            );
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = required.as_str() {
                    if !map.contains_key(name) {
                        found.push(format!("{}: required", field(path, name)));
                    }
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (name, item) in map {
                // The API server describes these itself; CRD schemas leave them out.
                if path.is_empty() && IMPLICIT_ROOT_FIELDS.contains(&name.as_str()) {
                    continue;
                }
                let child = field(path, name);
                match (properties.and_then(|p| p.get(name)), additional) {
                    (Some(property), _) => check(property, item, &child, found),
                    (None, Some(additional)) if additional.is_object() => {
                        check(additional, item, &child, found)
                    }
                    // Objects the schema leaves open (such as metadata) take any field.
                    (None, _) if properties.is_none() => {}
                    (None, _) => found.push(format!("{child}: unknown field")),
                }
            }
        }
        _ => {}
    }
}

fn check_string(schema: &Value, text: &str, at: &str, found: &mut Vec<String>) {
    bounds(
        schema,
        "minLength",
        "maxLength",
        text.chars().count(),
        "characters",
        at,
        found,
    );
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        match regex::Regex::new(pattern) {
            Ok(regex) if !regex.is_match(text) => found.push(format!("{at}: must match {pattern}")),
            Ok(_) => {}
            Err(error) => found.push(format!(
                "{at}: schema pattern {pattern} is invalid: {error}"
            )),
        }
    }
}

fn bounds(
    schema: &Value,
    min_key: &str,
    max_key: &str,
    count: usize,
    unit: &str,
    at: &str,
    found: &mut Vec<String>,
) {
    if let Some(min) = schema.get(min_key).and_then(Value::as_u64) {
        if (count as u64) < min {
            found.push(format!("{at}: needs at least {min} {unit}"));
        }
    }
    if let Some(max) = schema.get(max_key).and_then(Value::as_u64) {
        if count as u64 > max {
            found.push(format!("{at}: takes at most {max} {unit}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConfigProfile;
    use kube::CustomResourceExt;

    fn schema() -> Value {
        let crd = ConfigProfile::crd();
        serde_json::to_value(
            crd.spec.versions[0]
                .schema
                .as_ref()
                .unwrap()
                .open_api_v3_schema
                .as_ref()
                .unwrap(),
        )
        .unwrap()
    }

    fn profile(spec: Value) -> Value {
        serde_json::json!({"apiVersion": "kubeacs.io/v1alpha1", "kind": "ConfigProfile", "metadata": {"name": "p"}, "spec": spec})
    }

    #[test]
    fn a_valid_profile_passes() {
        let value = profile(
            serde_json::json!({"groups": ["g"], "priority": 5, "parameters": [{"name": "Device.X", "value": "1", "type": "xsd:int"}]}),
        );
        assert_eq!(violations(&schema(), &value), Vec::<String>::new());
    }

    #[test]
    fn violations_name_the_field() {
        let value = profile(serde_json::json!({
            "groups": [],
            "priority": 5000,
            "periodicInformIntervall": 300,
            "notifications": [{"name": "Device.X", "notification": 9}],
            "parameters": [{"name": "Device.X", "value": "1", "type": "xsd:float"}]
        }));
        let found = violations(&schema(), &value);
        for expected in [
            "spec.groups: needs at least 1 items",
            "spec.priority: must be at most 1000",
            "spec.periodicInformIntervall: unknown field",
            "spec.notifications[0].notification: must be at most 6",
            "spec.parameters[0].type: must be one of",
        ] {
            assert!(
                found.iter().any(|f| f.starts_with(expected)),
                "{expected}: {found:?}"
            );
        }
    }
}
