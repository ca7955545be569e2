//! The API's routes, as the router serves them (`nbi::ROUTES`), are exactly those the OpenAPI
//! document and docs/api.md's endpoint table describe, and the OpenAPI document names every
//! resource kind the API serves.

use std::collections::BTreeSet;

use cwmp_edge::nbi::{OPENAPI, RESOURCE_KINDS, ROUTES};

/// (method, path) pairs the router serves.
fn served() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .flat_map(|(path, methods)| methods.iter().map(|m| (m.to_string(), path.to_string())))
        .collect()
}

/// (method, path) pairs the OpenAPI document describes.
fn in_openapi() -> BTreeSet<(String, String)> {
    let document: serde_json::Value = serde_json::from_str(OPENAPI).expect("valid JSON");
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .expect("operations")
                .keys()
                .map(|method| (method.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// (method, path) pairs of docs/api.md's endpoint table: rows like
/// ``| `PUT`, `DELETE /api/v1/devices/{id}/tags/{tag}` | ... |``.
fn in_docs() -> BTreeSet<(String, String)> {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md"))
        .expect("docs/api.md");
    let table = docs
        .split_once("\n## Endpoints\n")
        .expect("an Endpoints section")
        .1;
    let mut pairs = BTreeSet::new();
    for line in table.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cell = line.split('|').nth(1).unwrap_or_default();
        let tokens: Vec<String> = cell
            .replace(['`', ','], " ")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let Some((path, methods)) = tokens.split_last() else {
            continue;
        };
        if !path.starts_with('/') {
            continue; // the header row and its separator
        }
        for method in methods {
            pairs.insert((method.clone(), path.clone()));
        }
    }
    pairs
}

fn differences(
    served: &BTreeSet<(String, String)>,
    described: &BTreeSet<(String, String)>,
) -> (Vec<String>, Vec<String>) {
    let show = |pairs: Vec<&(String, String)>| {
        pairs
            .into_iter()
            .map(|(method, path)| format!("{method} {path}"))
            .collect::<Vec<_>>()
    };
    (
        show(served.difference(described).collect()),
        show(described.difference(served).collect()),
    )
}

#[test]
fn the_openapi_document_describes_every_route_served() {
    let (missing, stale) = differences(&served(), &in_openapi());
    assert!(
        missing.is_empty(),
        "served but missing from openapi.json: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "in openapi.json but not served: {stale:?}"
    );
}

#[test]
fn the_endpoint_table_of_the_docs_lists_every_route_served() {
    let (missing, stale) = differences(&served(), &in_docs());
    assert!(
        missing.is_empty(),
        "served but missing from docs/api.md's endpoint table: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "in docs/api.md's endpoint table but not served: {stale:?}"
    );
}

#[test]
fn the_openapi_document_names_every_resource_kind() {
    let document: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
    let parameter = &document["paths"]["/api/v1/resources/{kind}"]["get"]["parameters"][0];
    let listed: BTreeSet<&str> = parameter["schema"]["enum"]
        .as_array()
        .expect("an enum of kinds")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    let accepted: BTreeSet<&str> = RESOURCE_KINDS
        .iter()
        .flat_map(|(kind, aliases)| std::iter::once(*kind).chain(aliases.iter().copied()))
        .collect();
    assert_eq!(listed, accepted);
}
