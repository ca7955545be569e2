//! The status of resources, computed from the store: devices (online, last inform, software,
//! applied profiles, conditions), group member counts, and how far each profile is applied.
//! Conditions follow kstatus: `Ready`, and `Degraded` when something failed.

use std::collections::BTreeMap;

use acs_model::{DeviceRecord, Millis, ProvisionRecord};
use acs_store::{records, Store, StoreError};
use crds::device::{AppliedProfile, DeviceIdentity};
use crds::{
    ConfigProfile, ConfigProfileStatus, Device, DeviceGroup, DeviceGroupStatus, DeviceStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use provisioning::resources::{device_name, key_of, resource_key, RefusedResource, ResourceSet};

/// How long after its last Inform a device counts as online when its periodic inform interval
/// is not known.
const DEFAULT_ONLINE_WINDOW_MS: Millis = 3_600_000;

/// Parameters shown in a device's status summary (under either data-model root). Only values
/// that rarely change: in a cluster every change is a write to the API server.
const SUMMARY: &[&str] = &[
    "DeviceInfo.ModelName",
    "DeviceInfo.HardwareVersion",
    "ManagementServer.PeriodicInformInterval",
];

/// One device as the status computation sees it.
struct Observed {
    /// The device's namespace (tenant).
    namespace: String,
    record: DeviceRecord,
    provision: ProvisionRecord,
    groups: Vec<String>,
    software_version: String,
    summary: BTreeMap<String, String>,
    interval_ms: Option<Millis>,
}

/// Every device known to the store or declared as a resource, groups and profiles, with status.
pub struct Statuses {
    /// Devices, declared and discovered (each in its namespace), by resource key.
    pub devices: Vec<Device>,
    /// Groups with member counts.
    pub groups: Vec<DeviceGroup>,
    /// Profiles with application counts.
    pub profiles: Vec<ConfigProfile>,
}

/// Computes the statuses at time `now` (reads every device once; meant for listings, not for
/// hot paths).
pub async fn compute(
    store: &dyn Store,
    resources: &ResourceSet,
    now: Millis,
) -> Result<Statuses, StoreError> {
    let observed = observe(store, resources).await?;
    let mut devices: BTreeMap<String, Device> = resources.devices().clone();
    for device in &observed {
        let declared = resources.device_for(&device.record.identity);
        let name = declared
            .and_then(|d| d.metadata.name.clone())
            .unwrap_or_else(|| device_name(&device.record.identity));
        let key = declared
            .map(key_of)
            .unwrap_or_else(|| resource_key(&device.namespace, &name));
        let entry = devices.entry(key).or_insert_with(|| {
            let identity = &device.record.identity;
            let mut discovered = Device::for_identity(
                &name,
                DeviceIdentity {
                    oui: identity.oui.clone(),
                    product_class: identity.product_class.clone(),
                    serial_number: identity.serial_number.clone(),
                },
            );
            discovered.metadata.namespace = Some(device.namespace.clone());
            discovered
        });
        entry.status = Some(device_status(device, entry.metadata.generation, now));
    }
    let groups = resources
        .groups()
        .iter()
        .map(|group| {
            let name = group.metadata.name.clone().unwrap_or_default();
            let namespace = group.metadata.namespace.clone().unwrap_or_default();
            let key = key_of(group);
            let invalid = resources.invalid_groups().iter().find(|(k, _)| *k == key);
            let mut group = group.clone();
            group.status = Some(DeviceGroupStatus {
                member_count: observed
                    .iter()
                    .filter(|d| d.namespace == namespace && d.groups.contains(&name))
                    .count() as u64,
                conditions: match invalid {
                    Some((_, reason)) => vec![condition(
                        "Ready",
                        false,
                        "Invalid",
                        &reason.0,
                        now,
                        group.metadata.generation,
                    )],
                    None => vec![condition(
                        "Ready",
                        true,
                        "Evaluated",
                        "membership evaluated",
                        now,
                        group.metadata.generation,
                    )],
                },
                observed_generation: group.metadata.generation,
            });
            group
        })
        .collect();
    let profiles = resources
        .profiles()
        .iter()
        .map(|profile| profile_with_status(profile, resources, &observed, now))
        .collect();
    Ok(Statuses {
        devices: devices.into_values().collect(),
        groups,
        profiles,
    })
}

/// The subtrees a device's status is computed from: `DeviceInfo`, `ManagementServer` and the
/// objects of group conditions, under both data-model roots (where not given), the outermost
/// only.
fn status_subtrees(resources: &ResourceSet) -> Vec<String> {
    let mut relative = resources.group_objects();
    relative.extend(["DeviceInfo.".to_string(), "ManagementServer.".to_string()]);
    let mut paths: Vec<String> = relative
        .iter()
        .flat_map(|object| {
            if object.starts_with("Device.") || object.starts_with("InternetGatewayDevice.") {
                vec![object.clone()]
            } else {
                ["InternetGatewayDevice.", "Device."]
                    .iter()
                    .map(|root| format!("{root}{object}"))
                    .collect()
            }
        })
        .collect();
    paths.sort();
    // A path under one already listed adds nothing (sorted: an enclosing path comes first).
    let mut outermost: Vec<String> = Vec::new();
    for path in paths {
        if !outermost
            .last()
            .is_some_and(|p| path.starts_with(p.as_str()))
        {
            outermost.push(path);
        }
    }
    outermost
}

async fn observe(store: &dyn Store, resources: &ResourceSet) -> Result<Vec<Observed>, StoreError> {
    let subtrees = status_subtrees(resources);
    let mut txn = store.begin().await?;
    let mut observed = Vec::new();
    let mut after = None;
    loop {
        let page = records::list_devices(txn.as_mut(), after.as_ref(), 500).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.id.clone());
        for record in page {
            let mut tree = Vec::new();
            for subtree in &subtrees {
                tree.extend(records::scan_parameters(txn.as_mut(), &record.id, subtree).await?);
            }
            let provision = records::get_provision(txn.as_mut(), &record.id).await?;
            let facts = resources.facts(&record.identity, tree.iter().map(|(p, r)| (p, r)));
            let value = |name: &str| facts.parameter(name).map(str::to_string);
            let namespace = resources.namespace_of(&record.identity).to_string();
            observed.push(Observed {
                groups: resources.memberships(&namespace, &facts),
                namespace,
                software_version: value("DeviceInfo.SoftwareVersion").unwrap_or_default(),
                summary: SUMMARY
                    .iter()
                    .filter_map(|name| Some((name.to_string(), value(name)?)))
                    .collect(),
                interval_ms: value("ManagementServer.PeriodicInformInterval")
                    .and_then(|v| v.trim().parse::<Millis>().ok())
                    .map(|s| s * 1000),
                record,
                provision,
            });
        }
    }
    txn.rollback().await?;
    Ok(observed)
}

fn device_status(device: &Observed, generation: Option<i64>, now: Millis) -> DeviceStatus {
    // Online: informed within twice its interval (or an hour when unknown).
    let window = device
        .interval_ms
        .map_or(DEFAULT_ONLINE_WINDOW_MS, |i| i * 2);
    let provision = &device.provision;
    let mut conditions = Vec::new();
    if let Some(fault) = &provision.fault {
        let reason = if provision.gave_up {
            "ProvisioningFailed"
        } else {
            "ProvisioningRetrying"
        };
        let message = format!("fault {}", fault.describe());
        conditions.push(condition("Ready", false, reason, &message, now, generation));
        conditions.push(condition(
            "Degraded", true, reason, &message, now, generation,
        ));
    } else if provision.converged || provision.target.is_empty() {
        conditions.push(condition(
            "Ready",
            true,
            "Converged",
            "the device matches its profiles",
            now,
            generation,
        ));
    } else {
        conditions.push(condition(
            "Ready",
            false,
            "Provisioning",
            "applying profiles",
            now,
            generation,
        ));
        conditions.push(condition(
            "Progressing",
            true,
            "Provisioning",
            "applying profiles",
            now,
            generation,
        ));
    }
    DeviceStatus {
        online: now.saturating_sub(device.record.last_inform) <= window,
        last_inform: Some(rfc3339(device.record.last_inform)),
        software_version: device.software_version.clone(),
        summary: device.summary.clone(),
        applied_profiles: provision
            .applied
            .iter()
            .map(|(name, generation)| AppliedProfile {
                name: name.clone(),
                generation: *generation,
            })
            .collect(),
        conditions,
        observed_generation: generation,
    }
}

/// Why a profile cannot be applied whatever its devices: a group it names that does not
/// exist in its namespace, or a template naming an unknown fact.
fn profile_problem(
    profile: &ConfigProfile,
    resources: &ResourceSet,
) -> Option<(&'static str, String)> {
    let namespace = provisioning::resources::namespace_of_resource(profile);
    let missing: Vec<&str> = profile
        .spec
        .groups
        .iter()
        .filter(|name| {
            !resources.groups().iter().any(|g| {
                provisioning::resources::namespace_of_resource(g) == namespace
                    && g.metadata.name.as_deref() == Some(name.as_str())
            })
        })
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let names = missing.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>();
        let verb = if missing.len() == 1 { "does" } else { "do" };
        return Some((
            "GroupNotFound",
            format!("DeviceGroup {} {verb} not exist", names.join(", ")),
        ));
    }
    provisioning::desired::check_templates(provisioning::desired::profile_values(&profile.spec))
        .err()
        .map(|e| ("InvalidTemplate", format!("template of {e}")))
}

fn profile_with_status(
    profile: &ConfigProfile,
    resources: &ResourceSet,
    observed: &[Observed],
    now: Millis,
) -> ConfigProfile {
    let name = profile.metadata.name.clone().unwrap_or_default();
    let namespace = profile.metadata.namespace.clone().unwrap_or_default();
    let generation = profile.metadata.generation.unwrap_or(0);
    let matched: Vec<&Observed> = observed
        .iter()
        .filter(|d| {
            d.namespace == namespace && profile.spec.groups.iter().any(|g| d.groups.contains(g))
        })
        .collect();
    let applied = matched
        .iter()
        .filter(|d| {
            d.provision
                .applied
                .iter()
                .any(|(n, g)| *n == name && *g == generation)
        })
        .count() as u64;
    let failed = matched
        .iter()
        .filter(|d| d.provision.gave_up && d.provision.target.iter().any(|(n, _)| *n == name))
        .count() as u64;
    let total = matched.len() as u64;
    let pending = total.saturating_sub(applied + failed);
    let gen = profile.metadata.generation;
    let problem = profile_problem(profile, resources);
    let mut conditions = vec![match &problem {
        Some((reason, message)) => condition("Ready", false, reason, message, now, gen),
        None => condition(
            "Ready",
            pending == 0 && failed == 0,
            if pending == 0 { "Applied" } else { "Applying" },
            &format!("{applied} of {total} devices applied"),
            now,
            gen,
        ),
    }];
    if let Some((reason, message)) = &problem {
        conditions.push(condition("Degraded", true, reason, message, now, gen));
    }
    if pending > 0 {
        conditions.push(condition(
            "Progressing",
            true,
            "Applying",
            &format!("{pending} devices to go"),
            now,
            gen,
        ));
    }
    if failed > 0 && problem.is_none() {
        conditions.push(condition(
            "Degraded",
            true,
            "DevicesFailed",
            &format!("{failed} devices failed"),
            now,
            gen,
        ));
    }
    let mut profile = profile.clone();
    profile.status = Some(ConfigProfileStatus {
        matched_devices: total,
        applied_devices: applied,
        pending_devices: pending,
        failed_devices: failed,
        conditions,
        observed_generation: gen,
    });
    profile
}

/// A DeviceTask's status from its run.
pub fn device_task_status(
    task: &crds::DeviceTask,
    run: &acs_model::DeviceTaskRun,
    counters: crate::device_tasks::Counters,
) -> crds::DeviceTaskStatus {
    let generation = task.metadata.generation;
    let now = run.completed.unwrap_or(run.started);
    let done = format!(
        "{} succeeded, {} failed",
        counters.succeeded, counters.failed
    );
    let mut conditions = Vec::new();
    match run.completed {
        Some(_) => conditions.push(condition("Ready", true, "Complete", &done, now, generation)),
        None => {
            let progress = format!("{} pending, {} running", counters.pending, counters.running);
            conditions.push(condition(
                "Ready",
                false,
                "Running",
                "devices still to go",
                now,
                generation,
            ));
            conditions.push(condition(
                "Progressing",
                true,
                "Running",
                &progress,
                now,
                generation,
            ));
        }
    }
    if counters.failed > 0 {
        let failed = format!("{} devices failed", counters.failed);
        conditions.push(condition(
            "Degraded",
            true,
            "DevicesFailed",
            &failed,
            now,
            generation,
        ));
    }
    crds::DeviceTaskStatus {
        pending: counters.pending,
        running: counters.running,
        succeeded: counters.succeeded,
        failed: counters.failed,
        start_time: Some(rfc3339(run.started)),
        completion_time: run.completed.map(rfc3339),
        conditions,
        observed_generation: generation,
    }
}

/// The kind (such as `ConfigProfile`) of a plural resource name (`configprofiles`).
pub fn kind_of_plural(plural: &str) -> &'static str {
    match plural {
        "devices" => "Device",
        "devicegroups" => "DeviceGroup",
        "configprofiles" => "ConfigProfile",
        "devicetasks" => "DeviceTask",
        "firmwares" => "Firmware",
        _ => "FirmwareRollout",
    }
}

/// A document refused at load, listed as a resource of `kind` without a spec: its name and
/// a `Ready` condition `False` with reason `Invalid` and why.
pub fn refused_resource(kind: &str, refused: &RefusedResource, now: Millis) -> serde_json::Value {
    let ready = condition("Ready", false, "Invalid", &refused.message, now, None);
    serde_json::json!({
        "apiVersion": "kubeacs.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": refused.name, "namespace": provisioning::resources::DEFAULT_NAMESPACE},
        "status": {"conditions": [ready]},
    })
}

fn condition(
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
    now: Millis,
    generation: Option<i64>,
) -> Condition {
    Condition {
        type_: kind.to_string(),
        status: if status { "True" } else { "False" }.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time: Time(timestamp(now)),
        observed_generation: generation,
    }
}

fn timestamp(millis: Millis) -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::from_millisecond(millis as i64).unwrap_or_default()
}

/// Milliseconds since the epoch as RFC 3339 (`2026-11-25T03:01:02Z`).
pub fn rfc3339(millis: Millis) -> String {
    timestamp(millis).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A FirmwareRollout's status from its run (`None`: not started yet, such as while its
/// Firmware is missing; `missing_firmware` says so).
pub fn firmware_rollout_status(
    rollout: &crds::FirmwareRollout,
    run: Option<&(acs_model::RolloutRun, Vec<acs_model::RolloutDevice>)>,
    missing_firmware: bool,
    now: Millis,
) -> crds::FirmwareRolloutStatus {
    use provisioning::rollout::Counts;
    let generation = rollout.metadata.generation;
    let Some((run, devices)) = run else {
        let (reason, message) = if missing_firmware {
            (
                "FirmwareNotFound",
                format!("Firmware {:?} does not exist", rollout.spec.firmware),
            )
        } else {
            ("Starting", "the rollout has not started yet".to_string())
        };
        let mut conditions = vec![
            condition("Ready", false, reason, &message, now, generation),
            condition(
                "Progressing",
                !missing_firmware,
                reason,
                &message,
                now,
                generation,
            ),
            condition(
                "Degraded",
                missing_firmware,
                reason,
                &message,
                now,
                generation,
            ),
        ];
        conditions.retain(|c| c.type_ == "Ready" || c.status == "True");
        return crds::FirmwareRolloutStatus {
            phase: "Pending".to_string(),
            message,
            conditions,
            observed_generation: generation,
            ..Default::default()
        };
    };
    let counts = Counts::of(devices.iter(), None);
    let (phase, message) = match (&run.aborted, run.completed, &run.held) {
        (Some(why), _, _) => ("Aborted", why.clone()),
        (None, Some(_), _) => ("Complete", String::new()),
        (None, None, Some(why)) => ("Paused", why.clone()),
        (None, None, None) => ("Progressing", String::new()),
    };
    let mut summary = format!(
        "wave {} of {}: {} succeeded, {} failed, {} skipped of {}",
        run.current_wave + 1,
        run.waves.len(),
        counts.succeeded,
        counts.failed,
        counts.skipped,
        counts.total()
    );
    if counts.rolling_back + counts.rolled_back > 0 {
        summary.push_str(&format!(
            "; {} rolled back, {} rolling back",
            counts.rolled_back, counts.rolling_back
        ));
    }
    let text = if message.is_empty() {
        summary.clone()
    } else {
        message.clone()
    };
    // Ready says why the rollout holds or stopped, else how far it is.
    let mut conditions = vec![condition(
        "Ready",
        phase == "Complete",
        phase,
        &text,
        now,
        generation,
    )];
    conditions.push(condition(
        "Progressing",
        phase == "Progressing",
        phase,
        &summary,
        now,
        generation,
    ));
    conditions.push(condition(
        "Paused",
        phase == "Paused",
        phase,
        &text,
        now,
        generation,
    ));
    conditions.push(condition(
        "Complete",
        phase == "Complete",
        phase,
        &summary,
        now,
        generation,
    ));
    let degraded = phase == "Aborted" || counts.failed > 0;
    let degraded_reason = if phase == "Aborted" {
        "Aborted"
    } else {
        "DevicesFailed"
    };
    let degraded_message = if phase == "Aborted" {
        format!("{message} ({summary})")
    } else {
        format!("{} devices failed", counts.failed)
    };
    conditions.push(condition(
        "Degraded",
        degraded,
        degraded_reason,
        &degraded_message,
        now,
        generation,
    ));
    // Only the conditions that hold, besides Ready (abnormal-true conditions are absent when
    // false, as kstatus expects).
    conditions.retain(|c| c.type_ == "Ready" || c.status == "True");
    crds::FirmwareRolloutStatus {
        phase: phase.to_string(),
        current_wave: run.current_wave,
        waves: run.waves.len() as u32,
        wave: format!("{}/{}", run.current_wave + 1, run.waves.len()),
        total: counts.total(),
        pending: counts.pending,
        scheduled: counts.scheduled,
        downloading: counts.downloading,
        installing: counts.installing,
        succeeded: counts.succeeded,
        failed: counts.failed,
        skipped: counts.skipped,
        rolling_back: counts.rolling_back,
        rolled_back: counts.rolled_back,
        message,
        conditions,
        observed_generation: generation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group(name: &str, conditions: serde_json::Value) -> crds::DeviceGroup {
        serde_json::from_value(json!({
            "apiVersion": "kubeacs.io/v1alpha1",
            "kind": "DeviceGroup",
            "metadata": {"name": name},
            "spec": {"parameters": conditions},
        }))
        .unwrap()
    }

    #[test]
    fn a_profile_naming_a_missing_group_or_an_unknown_fact_is_not_ready_and_says_why() {
        let mut other = group("lab", json!([]));
        other.metadata.namespace = Some("tenant-b".into());
        let profile = |groups: serde_json::Value, value: &str| -> ConfigProfile {
            serde_json::from_value(json!({
                "apiVersion": "kubeacs.io/v1alpha1",
                "kind": "ConfigProfile",
                "metadata": {"name": "wifi", "generation": 1},
                "spec": {"groups": groups, "parameters": [{"name": "Device.X.Y", "value": value}]},
            }))
            .unwrap()
        };
        let resources = ResourceSet::new(
            Vec::new(),
            vec![group("homegw", json!([])), other],
            Vec::new(),
            Vec::new(),
        );
        let ready = |profile: &ConfigProfile| {
            let status = profile_with_status(profile, &resources, &[], 0)
                .status
                .unwrap();
            let ready = &status.conditions[0];
            assert_eq!(ready.type_, "Ready");
            (
                ready.status.clone(),
                ready.reason.clone(),
                ready.message.clone(),
            )
        };
        assert_eq!(
            ready(&profile(json!(["homegw"]), "{{ serialNumber }}")).0,
            "True"
        );
        // `lab` exists, but in another namespace (tenant).
        assert_eq!(
            ready(&profile(json!(["homegw", "lab", "gone"]), "x")),
            (
                "False".to_string(),
                "GroupNotFound".to_string(),
                "DeviceGroup \"lab\", \"gone\" do not exist".to_string()
            )
        );
        let (status, reason, message) = ready(&profile(json!(["homegw"]), "{{ serialnumber }}"));
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("False", "InvalidTemplate")
        );
        assert!(
            message.starts_with("template of Device.X.Y: unknown fact \"serialnumber\""),
            "{message}"
        );
    }

    #[test]
    fn statuses_read_only_the_subtrees_groups_and_summaries_need() {
        let fiber = group(
            "fiber",
            json!([
                {"name": "DeviceInfo.ProductClass", "operator": "Equals", "value": "ONT"},
                {"name": "InternetGatewayDevice.WANDevice.1.WANCommonInterfaceConfig.WANAccessType",
                 "operator": "Equals", "value": "GPON"},
                {"name": "Device.Optical.Interface.1.Status", "operator": "Equals", "value": "Up"},
            ]),
        );
        let resources = ResourceSet::new(Vec::new(), vec![fiber], Vec::new(), Vec::new());
        assert_eq!(
            status_subtrees(&resources),
            [
                "Device.DeviceInfo.",
                "Device.ManagementServer.",
                "Device.Optical.Interface.1.",
                "InternetGatewayDevice.DeviceInfo.",
                "InternetGatewayDevice.ManagementServer.",
                "InternetGatewayDevice.WANDevice.1.WANCommonInterfaceConfig.",
            ]
        );
        // A condition on a parameter without a path reads whole trees.
        let odd = group("odd", json!([{"name": "Anything", "operator": "Exists"}]));
        let resources = ResourceSet::new(Vec::new(), vec![odd], Vec::new(), Vec::new());
        assert_eq!(
            status_subtrees(&resources),
            ["Device.", "InternetGatewayDevice."]
        );
    }
}
