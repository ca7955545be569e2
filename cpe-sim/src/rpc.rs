//! Answers to every request an ACS can send, the way a real device answers them (TR-069
//! Annex A), faults included. Pure: no I/O; work that must wait for the end of the session
//! (reboot, transfers, scheduled informs) comes back as an [`Action`].

use std::collections::HashSet;

use cwmp::{
    Body, CwmpFault, ParameterAttribute, ParameterInfo, ParameterValue, SetParameterValuesFault,
    SoapFault, XsdType,
};

use crate::device::{Device, Env, FaultCode, Ref};
use crate::events::EventSet;
use crate::model::{NodeKind, ROOT};
use crate::transfer::{Transfer, TransferKind};

/// The CPE methods this device implements (GetRPCMethods).
pub const METHODS: &[&str] = &[
    "GetRPCMethods",
    "SetParameterValues",
    "GetParameterValues",
    "GetParameterNames",
    "SetParameterAttributes",
    "GetParameterAttributes",
    "AddObject",
    "DeleteObject",
    "Reboot",
    "Download",
    "ScheduleDownload",
    "Upload",
    "FactoryReset",
    "ScheduleInform",
];

/// What the device must do once the session is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Reboot.
    Reboot,
    /// Reset to factory defaults and reboot.
    FactoryReset,
    /// Carry out the accepted transfer.
    Transfer,
    /// Inform with `3 SCHEDULED` after this many seconds.
    ScheduleInform(u32),
}

/// The answer to one ACS request.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The response or fault to send.
    pub body: Body,
    /// Work for after the session.
    pub action: Option<Action>,
}

impl Answer {
    fn now(body: Body) -> Answer {
        Answer { body, action: None }
    }

    fn fault(code: FaultCode) -> Answer {
        Answer::now(fault_body(code, Vec::new()))
    }
}

/// A SOAP fault body with the standard text for `code`.
pub fn fault_body(code: FaultCode, parameter_faults: Vec<SetParameterValuesFault>) -> Body {
    let mut detail = CwmpFault::new(code);
    detail.set_parameter_values_faults = parameter_faults;
    Body::Fault(SoapFault {
        faultcode: detail.soap_faultcode().into(),
        faultstring: "CWMP fault".into(),
        detail,
    })
}

/// Answers one request from the ACS.
pub fn answer(device: &mut Device, env: &Env<'_>, request: &Body) -> Answer {
    let result = match request {
        Body::GetRPCMethods => Ok(Answer::now(Body::GetRPCMethodsResponse(
            METHODS.iter().map(|m| m.to_string()).collect(),
        ))),
        Body::GetParameterNames { path, next_level } => {
            get_parameter_names(device, env, path, *next_level)
                .map(|names| Answer::now(Body::GetParameterNamesResponse(names)))
        }
        Body::GetParameterValues { names } => get_parameter_values(device, env, names)
            .map(|values| Answer::now(Body::GetParameterValuesResponse(values))),
        Body::SetParameterValues {
            parameters,
            parameter_key,
        } => {
            return set_parameter_values(device, env, parameters, parameter_key);
        }
        Body::GetParameterAttributes { names } => get_parameter_attributes(device, env, names)
            .map(|list| Answer::now(Body::GetParameterAttributesResponse(list))),
        Body::SetParameterAttributes(list) => set_parameter_attributes(device, env, list)
            .map(|()| Answer::now(Body::SetParameterAttributesResponse)),
        Body::AddObject {
            object_name,
            parameter_key,
        } => add_object(device, env, object_name).map(|instance_number| {
            set_parameter_key(device, env, parameter_key);
            Answer::now(Body::AddObjectResponse {
                instance_number,
                status: 0,
            })
        }),
        Body::DeleteObject {
            object_name,
            parameter_key,
        } => delete_object(device, env, object_name).map(|()| {
            set_parameter_key(device, env, parameter_key);
            Answer::now(Body::DeleteObjectResponse { status: 0 })
        }),
        Body::Reboot { command_key } => {
            device.extra_mut().keys.reboot = command_key.clone();
            device.pending.insert(EventSet::M_REBOOT);
            Ok(Answer {
                body: Body::RebootResponse,
                action: Some(Action::Reboot),
            })
        }
        Body::FactoryReset => Ok(Answer {
            body: Body::FactoryResetResponse,
            action: Some(Action::FactoryReset),
        }),
        Body::ScheduleInform {
            delay_seconds,
            command_key,
        } => {
            if *delay_seconds == 0 {
                Err(9003)
            } else {
                device.extra_mut().keys.schedule_inform = command_key.clone();
                Ok(Answer {
                    body: Body::ScheduleInformResponse,
                    action: Some(Action::ScheduleInform(*delay_seconds)),
                })
            }
        }
        Body::Download(d) => accept(
            device,
            env,
            Transfer {
                file_size: d.file_size,
                target_file_name: d.target_file_name.clone(),
                delay_seconds: d.delay_seconds,
                ..Transfer::new(
                    TransferKind::Download,
                    &d.command_key,
                    &d.file_type,
                    &d.url,
                    &d.username,
                    &d.password,
                )
            },
        ),
        Body::Upload(u) => accept(
            device,
            env,
            Transfer {
                delay_seconds: u.delay_seconds,
                ..Transfer::new(
                    TransferKind::Upload,
                    &u.command_key,
                    &u.file_type,
                    &u.url,
                    &u.username,
                    &u.password,
                )
            },
        ),
        Body::ScheduleDownload(d) => schedule_download(device, env, d),
        _ => Err(9000),
    };
    result.unwrap_or_else(Answer::fault)
}

/// A ScheduleDownload: one or two time windows, in order, each opening before it closes
/// (9003 otherwise); the device downloads when the first opens.
fn schedule_download(
    device: &mut Device,
    env: &Env<'_>,
    d: &cwmp::ScheduleDownload,
) -> Result<Answer, FaultCode> {
    let windows = &d.time_windows;
    let ordered = windows
        .windows(2)
        .all(|pair| pair[1].window_start >= pair[0].window_end);
    if windows.is_empty()
        || windows.len() > 2
        || !ordered
        || windows.iter().any(|w| w.window_end <= w.window_start)
    {
        return Err(9003);
    }
    let last_end = windows.last().map_or(0, |w| w.window_end);
    accept(
        device,
        env,
        Transfer {
            file_size: d.file_size,
            target_file_name: d.target_file_name.clone(),
            delay_seconds: windows[0].window_start,
            window_end_ms: env.now_ms + u64::from(last_end) * 1000,
            ..Transfer::new(
                TransferKind::ScheduledDownload,
                &d.command_key,
                &d.file_type,
                &d.url,
                &d.username,
                &d.password,
            )
        },
    )
}

fn accept(device: &mut Device, env: &Env<'_>, transfer: Transfer) -> Result<Answer, FaultCode> {
    let kind = transfer.kind;
    device.accept_transfer(env, transfer)?;
    let never = "0001-01-01T00:00:00Z".to_string();
    let body = match kind {
        TransferKind::Download => Body::DownloadResponse {
            status: 1,
            start_time: never.clone(),
            complete_time: never,
        },
        TransferKind::ScheduledDownload => Body::ScheduleDownloadResponse,
        TransferKind::Upload => Body::UploadResponse {
            status: 1,
            start_time: never.clone(),
            complete_time: never,
        },
    };
    Ok(Answer {
        body,
        action: Some(Action::Transfer),
    })
}

/// A path the ACS may name: empty (the whole tree), a partial path ending with a dot (an
/// object), or a parameter name. Objects named without their dot do not exist.
fn resolve(device: &Device, env: &Env<'_>, path: &str) -> Result<Ref, FaultCode> {
    if path.is_empty() {
        return Ok(Ref::Node(ROOT));
    }
    let r = device.resolve(env, path).ok_or(9005u32)?;
    let is_param = device.node(env, r).is_param();
    if is_param == path.ends_with('.') {
        return Err(9005);
    }
    Ok(r)
}

/// Whether the ACS may write a node: parameters by the model, tables if AddObject is allowed,
/// instances if DeleteObject is.
fn writable(device: &Device, env: &Env<'_>, r: Ref) -> bool {
    match r {
        Ref::Added { table, node, .. } if env.model.schema(table) == Some(node) => {
            env.model.node(table).writable
        }
        _ => device.node(env, r).writable,
    }
}

/// GetParameterNames (TR-069 A.3.2.3): with NextLevel false, the named object itself and
/// everything below it; with NextLevel true, its direct children only. A parameter name is
/// allowed only with NextLevel false. The empty path stands for the top of the tree.
pub fn get_parameter_names(
    device: &Device,
    env: &Env<'_>,
    path: &str,
    next_level: bool,
) -> Result<Vec<ParameterInfo>, FaultCode> {
    let start = resolve(device, env, path)?;
    if next_level && device.node(env, start).is_param() {
        return Err(9003);
    }
    let mut names = Vec::new();
    let max_depth = if next_level { 1 } else { usize::MAX };
    device.visit(env, start, max_depth, &mut |r, name, depth| {
        if !next_level || depth == 1 {
            names.push(ParameterInfo {
                name: name.to_string(),
                writable: writable(device, env, r),
            });
        }
    });
    Ok(names)
}

/// Every parameter a name or partial path stands for.
fn parameters_under(
    device: &Device,
    env: &Env<'_>,
    path: &str,
) -> Result<Vec<(Ref, String)>, FaultCode> {
    let start = resolve(device, env, path)?;
    let mut found = Vec::new();
    device.visit(env, start, usize::MAX, &mut |r, name, _| {
        if env.model.node(r.node()).is_param() {
            found.push((r, name.to_string()));
        }
    });
    Ok(found)
}

/// GetParameterValues: names and partial paths; any unknown name faults the whole request.
pub fn get_parameter_values(
    device: &Device,
    env: &Env<'_>,
    names: &[String],
) -> Result<Vec<ParameterValue>, FaultCode> {
    let mut values = Vec::new();
    for name in names {
        for (r, path) in parameters_under(device, env, name)? {
            values.push(ParameterValue {
                name: path,
                value: device.read_value(env, r),
                xsd_type: device.node(env, r).xsd_type().clone(),
            });
        }
    }
    Ok(values)
}

/// Whether `value` is valid text for `xsd_type`.
fn valid_value(xsd_type: &XsdType, value: &str) -> bool {
    match xsd_type {
        XsdType::Int => value.parse::<i32>().is_ok(),
        XsdType::UnsignedInt => value.parse::<u32>().is_ok(),
        XsdType::Long => value.parse::<i64>().is_ok(),
        XsdType::UnsignedLong => value.parse::<u64>().is_ok(),
        XsdType::Boolean => ["true", "false", "0", "1"].contains(&value),
        XsdType::DateTime => {
            let b = value.as_bytes();
            b.len() >= 19
                && b[4] == b'-'
                && b[7] == b'-'
                && b[10] == b'T'
                && b[13] == b':'
                && b[16] == b':'
        }
        XsdType::HexBinary => value.len() & 1 == 0 && value.bytes().all(|b| b.is_ascii_hexdigit()),
        _ => true,
    }
}

/// Booleans are stored the way devices report them.
fn normalize(xsd_type: &XsdType, value: &str) -> String {
    match (xsd_type, value) {
        (XsdType::Boolean, "1") => "true".into(),
        (XsdType::Boolean, "0") => "false".into(),
        _ => value.to_string(),
    }
}

/// SetParameterValues: all or nothing. Unknown names (9005), non-writable parameters (9008),
/// wrong types (9006) and bad values (9007) come back in one 9003 fault listing each.
pub fn set_parameter_values(
    device: &mut Device,
    env: &Env<'_>,
    parameters: &[ParameterValue],
    parameter_key: &str,
) -> Answer {
    let mut seen = HashSet::new();
    if !parameters.iter().all(|p| seen.insert(p.name.as_str())) {
        return Answer::fault(9003);
    }
    let mut faults = Vec::new();
    let mut changes = Vec::with_capacity(parameters.len());
    for p in parameters {
        let code = match resolve(device, env, &p.name) {
            Err(code) => Some(code),
            Ok(r) => {
                let node = device.node(env, r);
                if !node.is_param() || p.name.ends_with('.') {
                    Some(9005)
                } else if !node.writable {
                    Some(9008)
                } else if &p.xsd_type != node.xsd_type() {
                    Some(9006)
                } else if !valid_value(node.xsd_type(), &p.value) || !sensible(env, r, &p.value) {
                    Some(9007)
                } else {
                    changes.push((r, normalize(node.xsd_type(), &p.value)));
                    None
                }
            }
        };
        if let Some(code) = code {
            faults.push(SetParameterValuesFault {
                parameter_name: p.name.clone(),
                code,
                string: cwmp::fault_meaning(code).unwrap_or_default().to_string(),
            });
        }
    }
    if !faults.is_empty() {
        return Answer::now(fault_body(9003, faults));
    }
    for (r, value) in changes {
        device.store_value(env, r, &value);
        device.mark_reported(r, &value);
    }
    set_parameter_key(device, env, parameter_key);
    Answer::now(Body::SetParameterValuesResponse { status: 0 })
}

/// Values the type allows but the device refuses (a zero inform interval).
fn sensible(env: &Env<'_>, r: Ref, value: &str) -> bool {
    !(r == Ref::Node(env.model.roles().periodic_interval.unwrap_or(u32::MAX)) && value == "0")
}

fn set_parameter_key(device: &mut Device, env: &Env<'_>, key: &str) {
    if let Some(id) = env.model.roles().parameter_key {
        device.store_value(env, Ref::Node(id), key);
    }
}

/// GetParameterAttributes: names and partial paths.
pub fn get_parameter_attributes(
    device: &Device,
    env: &Env<'_>,
    names: &[String],
) -> Result<Vec<ParameterAttribute>, FaultCode> {
    let mut list = Vec::new();
    for name in names {
        for (r, path) in parameters_under(device, env, name)? {
            let attribute = device.attribute(r);
            list.push(ParameterAttribute {
                name: path,
                notification: attribute.notification,
                access_list: attribute.access_list,
            });
        }
    }
    Ok(list)
}

/// SetParameterAttributes: all or nothing; partial paths set every parameter below them.
/// Notification 0 (off), 1 (passive) and 2 (active) are supported, others rejected (9009).
pub fn set_parameter_attributes(
    device: &mut Device,
    env: &Env<'_>,
    list: &[cwmp::SetParameterAttribute],
) -> Result<(), FaultCode> {
    let mut plan = Vec::new();
    for entry in list {
        if entry.notification_change && entry.notification > 2 {
            return Err(9009);
        }
        for (r, _) in parameters_under(device, env, &entry.name)? {
            plan.push((r, entry));
        }
    }
    for (r, entry) in plan {
        device.set_attribute(
            env,
            r,
            entry.notification_change.then_some(entry.notification),
            entry.access_list_change.then(|| entry.access_list.clone()),
        );
    }
    Ok(())
}

/// AddObject: the name must be a writable table, with its trailing dot.
pub fn add_object(device: &mut Device, env: &Env<'_>, name: &str) -> Result<u32, FaultCode> {
    if !name.ends_with('.') {
        return Err(9005);
    }
    let table = resolve(device, env, name)?;
    if !matches!(device.node(env, table).kind, NodeKind::Table { .. }) {
        return Err(9005);
    }
    device.add_instance(env, table)
}

/// DeleteObject: the name must be an instance of a writable table, with its trailing dot.
pub fn delete_object(device: &mut Device, env: &Env<'_>, name: &str) -> Result<(), FaultCode> {
    if !name.ends_with('.') {
        return Err(9005);
    }
    let instance = resolve(device, env, name)?;
    device.delete_instance(env, instance)
}
