//! Which RPC a task sends, and what the device's answer changes.
//!
//! A task may take several RPCs (a subtree refresh is GetParameterNames then
//! GetParameterValues; an AddObject with values is AddObject then SetParameterValues). The step
//! within the session is a [`Stage`]; progress that must survive a disconnect (the instance an
//! AddObject created) is kept in the task's `result`, so a retried task never adds twice.

use acs_model::{Millis, TaskRecord, TaskSpec};
use cwmp::{Body, Download, ParameterValue, Upload};
use serde_json::json;

use crate::tree::{names_updates, value_updates, TreeUpdate};

/// The step of a task within a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// The task's first (or only) RPC.
    Start,
    /// The names of a subtree are known; its values come next.
    Values,
    /// The object instance exists; its values come next.
    InstanceValues {
        /// The instance path, such as `Device.IP.Interface.3.`.
        instance: String,
    },
}

/// What follows a successful answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Send another RPC for this task.
    Continue(Stage),
    /// The task is done, with optional result data.
    Done(Option<serde_json::Value>),
    /// The device accepted; the task completes on a later event (M Reboot, TransferComplete,
    /// 0 BOOTSTRAP).
    AwaitCompletion,
}

/// The effect of a successful answer to a task's RPC.
#[derive(Debug, Clone, PartialEq)]
pub struct Advance {
    /// Changes to the stored tree.
    pub updates: Vec<TreeUpdate>,
    /// Progress to keep in the task's `result` even if the task is not done.
    pub progress: Option<serde_json::Value>,
    /// What follows.
    pub next: Next,
}

/// An answer that does not fit the request (the session engine matches method names, so this
/// is a defect of the device, reported as a fault on the task).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnexpectedAnswer(pub String);

/// The stage a task starts at in a new session, from its persisted progress.
pub fn start_stage(task: &TaskRecord) -> Stage {
    if let TaskSpec::AddObject {
        object_name,
        parameter_values,
    } = &task.spec
    {
        let instance = task
            .result
            .as_ref()
            .and_then(|r| r.get("instanceNumber"))
            .and_then(|n| n.as_u64());
        if let (Some(n), false) = (instance, parameter_values.is_empty()) {
            return Stage::InstanceValues {
                instance: format!("{object_name}{n}."),
            };
        }
    }
    Stage::Start
}

/// A task that can no longer be sent (why, in words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsendable(pub String);

/// The RPC for `task` at `stage`, sent at `now`. Command keys are the task id, so completion
/// events and TransferComplete can be matched to the task. A ScheduleDownload whose windows
/// have all closed cannot be sent.
pub fn request(task: &TaskRecord, stage: &Stage, now: Millis) -> Result<Body, Unsendable> {
    let key = task.id.clone();
    Ok(match (&task.spec, stage) {
        (TaskSpec::GetParameterNames { parameter_path, .. }, Stage::Values) => {
            Body::GetParameterValues {
                names: vec![parameter_path.clone()],
            }
        }
        (
            TaskSpec::AddObject {
                parameter_values, ..
            },
            Stage::InstanceValues { instance },
        ) => Body::SetParameterValues {
            parameters: parameter_values
                .iter()
                .map(|p| ParameterValue {
                    name: format!("{instance}{}", p.name),
                    ..p.clone()
                })
                .collect(),
            parameter_key: key,
        },
        (TaskSpec::GetParameterValues { parameter_names }, _) => Body::GetParameterValues {
            names: parameter_names.clone(),
        },
        (
            TaskSpec::GetParameterNames {
                parameter_path,
                next_level,
            },
            _,
        ) => Body::GetParameterNames {
            path: parameter_path.clone(),
            next_level: *next_level,
        },
        (TaskSpec::SetParameterValues { parameter_values }, _) => Body::SetParameterValues {
            parameters: parameter_values.clone(),
            parameter_key: key,
        },
        (TaskSpec::GetParameterAttributes { parameter_names }, _) => Body::GetParameterAttributes {
            names: parameter_names.clone(),
        },
        (
            TaskSpec::SetParameterAttributes {
                parameter_attributes,
            },
            _,
        ) => Body::SetParameterAttributes(parameter_attributes.clone()),
        (TaskSpec::AddObject { object_name, .. }, _) => Body::AddObject {
            object_name: object_name.clone(),
            parameter_key: key,
        },
        (TaskSpec::DeleteObject { object_name }, _) => Body::DeleteObject {
            object_name: object_name.clone(),
            parameter_key: key,
        },
        (TaskSpec::Reboot, _) => Body::Reboot { command_key: key },
        (TaskSpec::FactoryReset, _) => Body::FactoryReset,
        (TaskSpec::Download(download), _) => Body::Download(Download {
            command_key: key,
            ..download.clone()
        }),
        (TaskSpec::Upload(upload), _) => Body::Upload(Upload {
            command_key: key,
            ..upload.clone()
        }),
        (TaskSpec::ScheduleInform { delay_seconds }, _) => Body::ScheduleInform {
            delay_seconds: *delay_seconds,
            command_key: key,
        },
        (TaskSpec::ScheduleDownload(scheduled), _) => match scheduled.request_at(key, now) {
            Some(request) => Body::ScheduleDownload(request),
            None => {
                return Err(Unsendable(
                    "its time windows closed before the device's session".to_string(),
                ))
            }
        },
    })
}

/// What a successful answer to `task`'s RPC at `stage` changes, and what follows.
pub fn advance(
    task: &TaskRecord,
    stage: &Stage,
    answer: &Body,
) -> Result<Advance, UnexpectedAnswer> {
    let done = |updates: Vec<TreeUpdate>| Advance {
        updates,
        progress: None,
        next: Next::Done(None),
    };
    let advance = match (&task.spec, stage, answer) {
        (_, _, Body::GetParameterValuesResponse(values)) => {
            done(value_updates(values.iter().cloned()))
        }
        (
            TaskSpec::GetParameterNames {
                parameter_path,
                next_level,
            },
            Stage::Start,
            Body::GetParameterNamesResponse(names),
        ) => {
            let has_leaves = names.iter().any(|n| !n.name.ends_with('.'));
            Advance {
                updates: names_updates(parameter_path, *next_level, names.iter().cloned()),
                progress: None,
                // A next-level listing of objects only has no values to read.
                next: if has_leaves || !*next_level {
                    Next::Continue(Stage::Values)
                } else {
                    Next::Done(None)
                },
            }
        }
        (_, Stage::InstanceValues { instance }, Body::SetParameterValuesResponse { .. }) => {
            let mut advance = done(sent_values(task, stage));
            advance.next = Next::Done(
                task.result
                    .clone()
                    .or_else(|| Some(json!({ "instance": instance }))),
            );
            advance
        }
        (_, _, Body::SetParameterValuesResponse { status }) => Advance {
            updates: sent_values(task, stage),
            progress: None,
            next: Next::Done(Some(json!({ "status": status }))),
        },
        (_, _, Body::GetParameterAttributesResponse(attributes)) => done(
            attributes
                .iter()
                .map(|a| TreeUpdate::Attributes {
                    path: a.name.clone(),
                    notification: Some(a.notification),
                    access_list: Some(a.access_list.clone()),
                })
                .collect(),
        ),
        (
            TaskSpec::SetParameterAttributes {
                parameter_attributes,
            },
            _,
            Body::SetParameterAttributesResponse,
        ) => done(
            parameter_attributes
                .iter()
                .map(|a| TreeUpdate::Attributes {
                    path: a.name.clone(),
                    notification: a.notification_change.then_some(a.notification),
                    access_list: a.access_list_change.then(|| a.access_list.clone()),
                })
                .collect(),
        ),
        (
            TaskSpec::AddObject {
                object_name,
                parameter_values,
            },
            _,
            Body::AddObjectResponse {
                instance_number,
                status,
            },
        ) => {
            let instance = format!("{object_name}{instance_number}.");
            let result = json!({ "instanceNumber": instance_number, "status": status, "instance": instance });
            Advance {
                updates: vec![TreeUpdate::Exists {
                    path: instance.clone(),
                    writable: true,
                }],
                progress: Some(result.clone()),
                next: if parameter_values.is_empty() {
                    Next::Done(Some(result))
                } else {
                    Next::Continue(Stage::InstanceValues { instance })
                },
            }
        }
        (TaskSpec::DeleteObject { object_name }, _, Body::DeleteObjectResponse { status }) => {
            Advance {
                updates: vec![TreeUpdate::DeleteSubtree {
                    path: object_name.clone(),
                }],
                progress: None,
                next: Next::Done(Some(json!({ "status": status }))),
            }
        }
        (TaskSpec::Reboot, _, Body::RebootResponse)
        | (TaskSpec::FactoryReset, _, Body::FactoryResetResponse) => Advance {
            updates: vec![],
            progress: None,
            next: Next::AwaitCompletion,
        },
        (TaskSpec::Download(_), _, Body::DownloadResponse { status, .. })
        | (TaskSpec::Upload(_), _, Body::UploadResponse { status, .. }) => Advance {
            updates: vec![],
            progress: None,
            next: if *status == 0 {
                Next::Done(Some(json!({ "status": 0 })))
            } else {
                Next::AwaitCompletion
            },
        },
        (TaskSpec::ScheduleInform { .. }, _, Body::ScheduleInformResponse) => done(vec![]),
        (TaskSpec::ScheduleDownload(_), _, Body::ScheduleDownloadResponse) => Advance {
            updates: vec![],
            progress: None,
            next: Next::AwaitCompletion,
        },
        (spec, _, answer) => {
            return Err(UnexpectedAnswer(format!(
                "{} answered with {}",
                spec.kind(),
                cwmp::session::method_name(answer)
            )))
        }
    };
    Ok(advance)
}

/// The values the task's SetParameterValues sent, which the device now holds.
fn sent_values(task: &TaskRecord, stage: &Stage) -> Vec<TreeUpdate> {
    match request(task, stage, 0) {
        Ok(Body::SetParameterValues { parameters, .. }) => value_updates(parameters),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use acs_model::{DeviceId, TaskStatus};
    use cwmp::{ParameterInfo, XsdType};

    fn task(spec: TaskSpec) -> TaskRecord {
        TaskRecord {
            id: "0000000000001-00000001".into(),
            device: DeviceId("d".into()),
            spec,
            status: TaskStatus::Pending,
            created: 0,
            attempts: 0,
            not_before: 0,
            fault: None,
            result: None,
            connection_request: None,
            origin: None,
            finished: None,
        }
    }

    fn value(name: &str, v: &str) -> ParameterValue {
        ParameterValue {
            name: name.into(),
            value: v.into(),
            xsd_type: XsdType::String,
        }
    }

    #[test]
    fn refresh_is_names_then_values() {
        let t = task(TaskSpec::GetParameterNames {
            parameter_path: "Device.DeviceInfo.".into(),
            next_level: false,
        });
        assert_eq!(
            request(&t, &Stage::Start, 0).unwrap(),
            Body::GetParameterNames {
                path: "Device.DeviceInfo.".into(),
                next_level: false
            }
        );
        let names = vec![ParameterInfo {
            name: "Device.DeviceInfo.SoftwareVersion".into(),
            writable: false,
        }];
        let step = advance(&t, &Stage::Start, &Body::GetParameterNamesResponse(names)).unwrap();
        assert_eq!(step.next, Next::Continue(Stage::Values));
        assert!(matches!(
            step.updates.last(),
            Some(TreeUpdate::Prune { .. })
        ));
        assert_eq!(
            request(&t, &Stage::Values, 0).unwrap(),
            Body::GetParameterValues {
                names: vec!["Device.DeviceInfo.".into()]
            }
        );
        let step = advance(
            &t,
            &Stage::Values,
            &Body::GetParameterValuesResponse(vec![value(
                "Device.DeviceInfo.SoftwareVersion",
                "2.0",
            )]),
        )
        .unwrap();
        assert_eq!(step.next, Next::Done(None));
        assert_eq!(step.updates.len(), 1);
    }

    #[test]
    fn add_object_with_values_resumes_after_disconnect() {
        let mut t = task(TaskSpec::AddObject {
            object_name: "Device.IP.Interface.".into(),
            parameter_values: vec![value("Alias", "wan2")],
        });
        let step = advance(
            &t,
            &Stage::Start,
            &Body::AddObjectResponse {
                instance_number: 3,
                status: 0,
            },
        )
        .unwrap();
        let instance = Stage::InstanceValues {
            instance: "Device.IP.Interface.3.".into(),
        };
        assert_eq!(step.next, Next::Continue(instance.clone()));
        // The session drops here; the progress is persisted and the retry skips AddObject.
        t.result = step.progress;
        assert_eq!(start_stage(&t), instance);
        match request(&t, &instance, 0).unwrap() {
            Body::SetParameterValues { parameters, .. } => {
                assert_eq!(parameters[0].name, "Device.IP.Interface.3.Alias")
            }
            other => panic!("unexpected {other:?}"),
        }
        let done = advance(
            &t,
            &instance,
            &Body::SetParameterValuesResponse { status: 0 },
        )
        .unwrap();
        assert!(matches!(done.next, Next::Done(Some(_))));
        assert_eq!(
            done.updates,
            vec![TreeUpdate::Value {
                path: "Device.IP.Interface.3.Alias".into(),
                value: "wan2".into(),
                xsd_type: XsdType::String
            }]
        );
    }

    #[test]
    fn reboot_and_download_wait_for_completion() {
        let reboot = task(TaskSpec::Reboot);
        assert_eq!(
            request(&reboot, &Stage::Start, 0).unwrap(),
            Body::Reboot {
                command_key: reboot.id.clone()
            }
        );
        assert_eq!(
            advance(&reboot, &Stage::Start, &Body::RebootResponse)
                .unwrap()
                .next,
            Next::AwaitCompletion
        );
        let download = task(TaskSpec::Download(Download {
            url: "http://files/fw.bin".into(),
            file_type: "1 Firmware Upgrade Image".into(),
            ..Download::default()
        }));
        let answer = Body::DownloadResponse {
            status: 1,
            start_time: String::new(),
            complete_time: String::new(),
        };
        assert_eq!(
            advance(&download, &Stage::Start, &answer).unwrap().next,
            Next::AwaitCompletion
        );
        assert!(advance(&download, &Stage::Start, &Body::RebootResponse).is_err());
    }

    #[test]
    fn schedule_download_windows_are_sent_relative_to_the_session() {
        use acs_model::task::{DownloadWindow, ScheduledDownload};
        let window = |opens: Millis, closes: Millis| DownloadWindow {
            opens,
            closes,
            ..DownloadWindow::default()
        };
        let t = task(TaskSpec::ScheduleDownload(ScheduledDownload {
            url: "http://files/fw-2.0.bin".into(),
            file_type: "1 Firmware Upgrade Image".into(),
            time_windows: vec![window(100_000, 200_000), window(300_000, 400_000)],
            ..ScheduledDownload::default()
        }));
        let Ok(Body::ScheduleDownload(sent)) = request(&t, &Stage::Start, 40_000) else {
            panic!("not a ScheduleDownload");
        };
        assert_eq!(sent.command_key, t.id);
        let seconds: Vec<(u32, u32)> = sent
            .time_windows
            .iter()
            .map(|w| (w.window_start, w.window_end))
            .collect();
        assert_eq!(seconds, vec![(60, 160), (260, 360)]);
        assert_eq!(sent.time_windows[0].window_mode, "1 At Any Time");
        // In the first window: it opens now; after it, only the second is left.
        let Ok(Body::ScheduleDownload(sent)) = request(&t, &Stage::Start, 150_000) else {
            panic!("not a ScheduleDownload");
        };
        assert_eq!(
            (
                sent.time_windows[0].window_start,
                sent.time_windows[0].window_end
            ),
            (0, 50)
        );
        let Ok(Body::ScheduleDownload(sent)) = request(&t, &Stage::Start, 250_000) else {
            panic!("not a ScheduleDownload");
        };
        assert_eq!(sent.time_windows.len(), 1);
        // Fractions of a second round inwards: never before the opening, never after the
        // close.
        let Ok(Body::ScheduleDownload(sent)) = request(&t, &Stage::Start, 298_500) else {
            panic!("not a ScheduleDownload");
        };
        assert_eq!(
            (
                sent.time_windows[0].window_start,
                sent.time_windows[0].window_end
            ),
            (2, 101)
        );
        assert!(request(&t, &Stage::Start, 399_500).is_err());
        assert!(request(&t, &Stage::Start, 400_000).is_err());
        assert_eq!(
            advance(&t, &Stage::Start, &Body::ScheduleDownloadResponse)
                .unwrap()
                .next,
            Next::AwaitCompletion
        );
    }
}
