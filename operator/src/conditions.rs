//! Status conditions as GitOps tools read them.
//!
//! kube-acs computes `Ready`, `Progressing` and `Degraded` (what people and Argo CD read).
//! kstatus (Flux, kpt, `kubectl wait`-style tooling) ignores those two and reads the
//! abnormal-true conditions `Reconciling` and `Stalled` instead, so [`with_kstatus`] adds them
//! beside. [`merge`] keeps a condition's `lastTransitionTime` while its status stays the same,
//! so an unchanged status compares equal and is never written again.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Adds `Reconciling` (mirrors `Progressing=True`) and `Stalled` (mirrors `Degraded=True`
/// while nothing progresses any more), so kstatus reads the same health as people do.
pub fn with_kstatus(mut conditions: Vec<Condition>) -> Vec<Condition> {
    let find = |conditions: &[Condition], kind: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == kind && c.status == "True")
            .cloned()
    };
    let progressing = find(&conditions, "Progressing");
    let degraded = find(&conditions, "Degraded");
    if let Some(progressing) = &progressing {
        conditions.push(Condition {
            type_: "Reconciling".to_string(),
            ..progressing.clone()
        });
    }
    if let (Some(degraded), None) = (degraded, progressing) {
        conditions.push(Condition {
            type_: "Stalled".to_string(),
            ..degraded
        });
    }
    conditions
}

/// The conditions `new`, each keeping the `lastTransitionTime` of the condition of the same
/// type in `old` when its status did not change.
pub fn merge(old: &[Condition], new: Vec<Condition>) -> Vec<Condition> {
    new.into_iter()
        .map(|mut condition| {
            if let Some(previous) = old
                .iter()
                .find(|c| c.type_ == condition.type_ && c.status == condition.status)
            {
                condition.last_transition_time = previous.last_transition_time.clone();
            }
            condition
        })
        .collect()
}

/// Conditions of a resource whose generation `generation` kube-acs has not acted on yet: not
/// Ready, Progressing. Written as soon as the operator sees the change, so that
/// `kubectl wait --for=condition=Ready` right after an edit waits for the edit, not for the
/// previous generation's outcome.
pub fn awaiting_generation(generation: i64, now: Time) -> Vec<Condition> {
    let condition = |kind: &str, status: &str| Condition {
        type_: kind.to_string(),
        status: status.to_string(),
        reason: "NewGeneration".to_string(),
        message: format!("applying generation {generation}"),
        last_transition_time: now.clone(),
        observed_generation: Some(generation),
    };
    vec![
        condition("Ready", "False"),
        condition("Progressing", "True"),
    ]
}

/// Whether a status computed for generation `observed` describes an older generation than
/// the resource's `generation`.
pub fn is_stale(observed: Option<i64>, generation: Option<i64>) -> bool {
    matches!((observed, generation), (Some(o), Some(g)) if o < g)
        || (observed.is_none() && generation.is_some())
}

/// The status (`True`/`False`) of condition `kind`, if present.
pub fn status_of<'c>(conditions: &'c [Condition], kind: &str) -> Option<&'c str> {
    conditions
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| c.status.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(kind: &str, status: bool, at: i64) -> Condition {
        Condition {
            type_: kind.to_string(),
            status: if status { "True" } else { "False" }.to_string(),
            reason: "Reason".to_string(),
            message: "message".to_string(),
            last_transition_time: Time(
                k8s_openapi::jiff::Timestamp::from_second(at).expect("valid time"),
            ),
            observed_generation: Some(1),
        }
    }

    fn types(conditions: &[Condition]) -> Vec<(&str, &str)> {
        conditions
            .iter()
            .map(|c| (c.type_.as_str(), c.status.as_str()))
            .collect()
    }

    #[test]
    fn progressing_adds_reconciling() {
        let conditions = with_kstatus(vec![
            condition("Ready", false, 1),
            condition("Progressing", true, 1),
        ]);
        assert_eq!(
            types(&conditions),
            [
                ("Ready", "False"),
                ("Progressing", "True"),
                ("Reconciling", "True")
            ]
        );
    }

    #[test]
    fn degraded_without_progress_adds_stalled() {
        let conditions = with_kstatus(vec![
            condition("Ready", false, 1),
            condition("Degraded", true, 1),
        ]);
        assert_eq!(
            types(&conditions),
            [
                ("Ready", "False"),
                ("Degraded", "True"),
                ("Stalled", "True")
            ]
        );
        // Still progressing: not stalled yet.
        let conditions = with_kstatus(vec![
            condition("Ready", false, 1),
            condition("Progressing", true, 1),
            condition("Degraded", true, 1),
        ]);
        assert_eq!(status_of(&conditions, "Stalled"), None);
        assert_eq!(status_of(&conditions, "Reconciling"), Some("True"));
    }

    #[test]
    fn ready_alone_adds_nothing() {
        let conditions = with_kstatus(vec![condition("Ready", true, 1)]);
        assert_eq!(types(&conditions), [("Ready", "True")]);
    }

    #[test]
    fn staleness_compares_generations() {
        assert!(is_stale(Some(1), Some(2)));
        assert!(is_stale(None, Some(1)));
        assert!(!is_stale(Some(2), Some(2)));
        assert!(!is_stale(None, None));
        let conditions = with_kstatus(awaiting_generation(
            2,
            condition("Ready", true, 5).last_transition_time,
        ));
        assert_eq!(status_of(&conditions, "Ready"), Some("False"));
        assert_eq!(status_of(&conditions, "Reconciling"), Some("True"));
        assert!(conditions.iter().all(|c| c.observed_generation == Some(2)));
    }

    #[test]
    fn merge_keeps_transition_time_of_unchanged_status() {
        let old = vec![
            condition("Ready", true, 100),
            condition("Degraded", true, 100),
        ];
        let merged = merge(
            &old,
            vec![
                condition("Ready", true, 200),
                condition("Degraded", false, 200),
            ],
        );
        assert_eq!(merged[0].last_transition_time, old[0].last_transition_time);
        assert_eq!(
            merged[1].last_transition_time.0.as_second(),
            200,
            "a changed status takes the new time"
        );
    }
}
