//! The northbound REST API (JSON, port 7557): devices, parameters, tasks, faults, tags, resources
//! and the file server's files.
//! Its OpenAPI document is served at `/api/v1/openapi.json`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use acs_model::{
    DeviceId, DeviceRecord, FaultRecord, ParameterRecord, TaskRecord, TaskSpec, TaskStatus,
};
use acs_store::{records, transact, StoreError};

use crate::api_access::{check_access, Authorizer, CachedAuthorizer};
use crate::edge::{Edge, QueueError};

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Longest a caller may wait for a task through `?timeout=`, in seconds.
const MAX_WAIT_SECONDS: f64 = 300.0;

/// Page size of the listings without `?limit=`.
const DEFAULT_PAGE: usize = 100;

/// Largest page size a listing takes through `?limit=`.
const MAX_PAGE: usize = 10_000;

/// The page size `?limit=` asks for: 1 to [`MAX_PAGE`], [`DEFAULT_PAGE`] when not given.
fn page_limit(limit: Option<usize>) -> ApiResult<usize> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
        Some(limit) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("limit must be between 1 and {MAX_PAGE}, not {limit}"),
        )),
    }
}

/// How long `?timeout=` (seconds, 0 to [`MAX_WAIT_SECONDS`]) asks to wait; `None` for no
/// wait.
fn wait_time(timeout: Option<f64>) -> ApiResult<Option<Duration>> {
    match timeout {
        None => Ok(None),
        Some(seconds) if (0.0..=MAX_WAIT_SECONDS).contains(&seconds) => {
            Ok((seconds > 0.0).then(|| Duration::from_secs_f64(seconds)))
        }
        Some(seconds) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("timeout must be between 0 and {MAX_WAIT_SECONDS} seconds, not {seconds}"),
        )),
    }
}

/// The API's router over the shared edge state.
pub fn router(edge: Arc<Edge>) -> Router {
    routes().with_state(edge)
}

/// The API with every call checked by `authorizer` first (see [`crate::api_access`]).
pub fn router_with_access(edge: Arc<Edge>, authorizer: Arc<dyn Authorizer>) -> Router {
    let state = (edge.clone(), Arc::new(CachedAuthorizer::new(authorizer)));
    routes()
        .layer(axum::middleware::from_fn_with_state(state, check_access))
        .with_state(edge)
}

/// Declares the API's routes once: [`ROUTES`] lists them (the OpenAPI document and
/// docs/api.md are checked against it) and `served_routes` serves them.
macro_rules! api_routes {
    (@method get) => { "GET" };
    (@method put) => { "PUT" };
    (@method post) => { "POST" };
    (@method delete) => { "DELETE" };
    ($($path:literal => $first:ident($handler:expr) $(, $method:ident($more:expr))*;)*) => {
        /// Every route the API serves: its path (in the router's `{param}` syntax) and its
        /// methods.
        pub const ROUTES: &[(&str, &[&str])] = &[
            $(($path, &[api_routes!(@method $first) $(, api_routes!(@method $method))*]),)*
        ];

        fn served_routes() -> Router<Arc<Edge>> {
            Router::new()
                $(.route($path, axum::routing::$first($handler)$(.$method($more))*))*
        }
    };
}

api_routes! {
    "/healthz" => get(|| async { "ok\n" });
    "/metrics" => get(metrics);
    "/api/v1/openapi.json" => get(openapi);
    "/api/v1/devices" => get(list_devices);
    "/api/v1/devices/{id}" => get(get_device), delete(delete_device);
    "/api/v1/devices/{id}/tags/{tag}" => put(add_tag), delete(remove_tag);
    "/api/v1/devices/{id}/cwmp-credentials" =>
        put(set_cwmp_credentials), delete(delete_cwmp_credentials);
    "/api/v1/devices/{id}/connection-request" =>
        put(set_connection_request_credentials), post(send_connection_request);
    "/api/v1/devices/{id}/tasks" => get(list_device_tasks), post(queue_task);
    "/api/v1/devices/{id}/faults" => get(list_device_faults);
    "/api/v1/devices/{id}/transfers" => get(list_device_transfers);
    "/api/v1/devices/{id}/provisioning" => get(get_provisioning);
    "/api/v1/resources/{kind}" => get(list_resources);
    "/api/v1/devicetasks/{name}/results" => get(device_task_results);
    "/api/v1/namespaces/{namespace}/devicetasks/{name}/results" =>
        get(namespaced_device_task_results);
    "/api/v1/tasks" => get(list_tasks);
    "/api/v1/tasks/{id}" => get(get_task), delete(delete_task);
    "/api/v1/tasks/{id}/retry" => post(retry_task);
    "/api/v1/faults" => get(list_faults);
    "/api/v1/faults/{id}" => get(get_fault), delete(delete_fault);
    "/api/v1/files" => get(crate::files_api::list_files);
    "/api/v1/files/{name}" => get(crate::files_api::get_file),
        put(crate::files_api::put_file), delete(crate::files_api::delete_file);
}

fn routes() -> Router<Arc<Edge>> {
    served_routes()
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this endpoint",
            )
        })
}

/// An API error: a status and a JSON `{"error": "..."}` body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn not_found(what: &str, id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("{what} {id} not found"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        let status = match error {
            StoreError::Invalid(_) => {
                return ApiError::new(StatusCode::BAD_REQUEST, error.to_string())
            }
            StoreError::Conflict | StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        tracing::error!(%error, "store error in the API");
        ApiError::new(status, format!("store error: {error}"))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("invalid JSON body: {}", rejection.body_text()),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("invalid query: {}", rejection.body_text()),
        )
    }
}

type ApiResult<T> = Result<T, ApiError>;
type Shared = State<Arc<Edge>>;

async fn metrics(State(edge): Shared) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        edge.metrics.render(),
    )
}

/// A device record as the API shows it: the connection-request passwords are never returned.
fn redacted(mut device: DeviceRecord) -> DeviceRecord {
    device.connection_request = device.connection_request.masked();
    device
}

/// A stored parameter as the API shows it: the value of a secret parameter masked.
fn redacted_parameter(path: &str, mut record: ParameterRecord) -> ParameterRecord {
    if let Some((value, _)) = record.value.as_mut() {
        cwmp::secrets::mask_in_place(path, value);
    }
    record
}

/// Masks the values of secret parameters in a resource's parameter settings.
fn redact_settings(settings: &mut [crds::ParameterSetting]) {
    for setting in settings {
        cwmp::secrets::mask_in_place(&setting.name, &mut setting.value);
    }
}

/// Masks the values of secret parameters in a profile: its parameters and its object
/// instances' values.
fn redact_profile(profile: &mut crds::ConfigProfile) {
    redact_settings(&mut profile.spec.parameters);
    for instance in profile
        .spec
        .objects
        .iter_mut()
        .flat_map(|t| &mut t.instances)
    {
        for (name, value) in instance.iter_mut() {
            cwmp::secrets::mask_in_place(name, value);
        }
    }
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// A device as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeviceView {
    #[serde(flatten)]
    device: DeviceRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<BTreeMap<String, ParameterRecord>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeviceQuery {
    tag: Option<String>,
    parameter: Option<String>,
    value: Option<String>,
    after: Option<String>,
    limit: Option<usize>,
}

async fn list_devices(
    State(edge): Shared,
    query: Result<Query<DeviceQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<DeviceRecord>>> {
    let Query(query) = query?;
    let limit = page_limit(query.limit)?;
    let mut txn = edge.store.begin().await?;
    let after = query.after.clone().map(DeviceId);
    let ids: Vec<DeviceId> = match (&query.tag, &query.parameter, &query.value) {
        (Some(tag), None, None) => {
            records::find_devices_by_tag(txn.as_mut(), tag, after.as_ref(), limit).await?
        }
        (None, Some(name), Some(value)) => {
            if !records::is_indexed(name) {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "parameter {name} is not indexed; indexed: {}",
                        records::INDEXED_PARAMETERS.join(", ")
                    ),
                ));
            }
            records::find_devices_by_parameter(txn.as_mut(), name, value, after.as_ref(), limit)
                .await?
        }
        (None, None, None) => {
            let devices = records::list_devices(txn.as_mut(), after.as_ref(), limit).await?;
            txn.rollback().await?;
            return Ok(Json(devices.into_iter().map(redacted).collect()));
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "search by one of: tag=T, or parameter=NAME&value=V",
            ))
        }
    };
    let mut devices = Vec::new();
    for id in &ids {
        if let Some(device) = records::get_device(txn.as_mut(), id).await? {
            devices.push(redacted(device));
        }
    }
    txn.rollback().await?;
    Ok(Json(devices))
}

#[derive(Deserialize)]
struct ParametersQuery {
    parameters: Option<String>,
}

async fn get_device(
    State(edge): Shared,
    Path(id): Path<String>,
    query: Result<Query<ParametersQuery>, QueryRejection>,
) -> ApiResult<Json<DeviceView>> {
    let Query(query) = query?;
    let id = DeviceId(id);
    let mut txn = edge.store.begin().await?;
    let device = records::get_device(txn.as_mut(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("device", id.as_str()))?;
    let prefix = query.parameters.unwrap_or_default();
    let parameters = records::scan_parameters(txn.as_mut(), &id, &prefix).await?;
    txn.rollback().await?;
    Ok(Json(DeviceView {
        device: redacted(device),
        parameters: Some(
            parameters
                .into_iter()
                .map(|(path, record)| {
                    let record = redacted_parameter(&path, record);
                    (path, record)
                })
                .collect(),
        ),
    }))
}

async fn delete_device(State(edge): Shared, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = DeviceId(id);
    let existed = transact(edge.store.as_ref(), |txn| {
        let id = &id;
        Box::pin(async move { records::delete_device(txn, id).await })
    })
    .await?;
    deletion(existed, "device", id.as_str())
}

async fn change_tag(
    edge: &Edge,
    id: String,
    tag: String,
    add: bool,
) -> ApiResult<Json<DeviceRecord>> {
    if tag.trim().is_empty() || tag.contains('/') {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "a tag must be non-empty and must not contain '/'",
        ));
    }
    let id = DeviceId(id);
    let updated = transact(edge.store.as_ref(), |txn| {
        let (id, tag) = (id.clone(), tag.clone());
        Box::pin(async move {
            let Some(old) = records::get_device(txn, &id).await? else {
                return Ok(None);
            };
            let mut device = old.clone();
            if add {
                device.tags.insert(tag);
            } else {
                device.tags.remove(&tag);
            }
            records::put_device(txn, &device).await?;
            Ok(Some(device))
        })
    })
    .await?;
    updated
        .map(|device| Json(redacted(device)))
        .ok_or_else(|| ApiError::not_found("device", id.as_str()))
}

async fn add_tag(
    State(edge): Shared,
    Path((id, tag)): Path<(String, String)>,
) -> ApiResult<Json<DeviceRecord>> {
    change_tag(&edge, id, tag, true).await
}

async fn remove_tag(
    State(edge): Shared,
    Path((id, tag)): Path<(String, String)>,
) -> ApiResult<Json<DeviceRecord>> {
    change_tag(&edge, id, tag, false).await
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn set_connection_request_credentials(
    State(edge): Shared,
    Path(id): Path<String>,
    body: Result<Json<Credentials>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(credentials) = body?;
    let id = DeviceId(id);
    let found = transact(edge.store.as_ref(), |txn| {
        let id = id.clone();
        let (username, password) = (credentials.username.clone(), credentials.password.clone());
        Box::pin(async move {
            let Some(old) = records::get_device(txn, &id).await? else {
                return Ok(false);
            };
            let mut device = old.clone();
            device.connection_request.configure(username, password);
            records::put_device(txn, &device).await?;
            Ok(true)
        })
    })
    .await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("device", id.as_str()))
    }
}

async fn set_cwmp_credentials(
    State(edge): Shared,
    Path(id): Path<String>,
    body: Result<Json<Credentials>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(credentials) = body?;
    if credentials.username.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "username must not be empty",
        ));
    }
    if id.is_empty() || id.contains('/') {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid device id"));
    }
    let id = DeviceId(id);
    let credentials = acs_model::CwmpCredentials {
        username: credentials.username,
        password: credentials.password,
    };
    transact(edge.store.as_ref(), |txn| {
        let (id, credentials) = (&id, &credentials);
        Box::pin(async move { records::put_cwmp_credentials(txn, id, credentials).await })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_cwmp_credentials(
    State(edge): Shared,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = DeviceId(id);
    transact(edge.store.as_ref(), |txn| {
        let id = &id;
        Box::pin(async move { records::delete_cwmp_credentials(txn, id).await })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn send_connection_request(
    State(edge): Shared,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = DeviceId(id);
    let state = edge.connection_request(&id, None).await?;
    let status = match state {
        acs_model::task::ConnectionRequestState::Accepted { .. }
        | acs_model::task::ConnectionRequestState::InSession { .. } => StatusCode::OK,
        acs_model::task::ConnectionRequestState::Unreachable { .. } => StatusCode::BAD_GATEWAY,
    };
    Ok((status, Json(state)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueueQuery {
    /// Send a connection request now.
    #[serde(default)]
    connection_request: bool,
    /// Wait this many seconds for the task to finish.
    timeout: Option<f64>,
}

async fn queue_task(
    State(edge): Shared,
    Path(id): Path<String>,
    query: Result<Query<QueueQuery>, QueryRejection>,
    body: Result<Json<TaskSpec>, JsonRejection>,
) -> ApiResult<Response> {
    let Query(query) = query?;
    let wait = wait_time(query.timeout)?;
    let Json(spec) = body?;
    validate_task(&spec)?;
    let id = DeviceId(id);
    let task = edge
        .queue_task(&id, spec)
        .await
        .map_err(|error| match error {
            QueueError::UnknownDevice(id) => ApiError::not_found("device", id.as_str()),
            QueueError::Store(error) => error.into(),
        })?;
    let connection_request = if query.connection_request {
        Some(edge.connection_request(&id, Some(&task.id)).await?)
    } else {
        None
    };
    // A device that could not be asked to connect will not act on the task within the
    // wait: answer at once, the task queued and the failed request (and why) in it.
    let unreachable = matches!(
        connection_request,
        Some(acs_model::task::ConnectionRequestState::Unreachable { .. })
    );
    let mut task = match wait {
        Some(wait) if !unreachable => edge.wait_for_task(&task.id, wait).await?,
        _ => edge.read_task(&task.id).await?,
    }
    .unwrap_or(task);
    if task.connection_request.is_none() {
        task.connection_request = connection_request;
    }
    let status = match task.status {
        TaskStatus::Done => StatusCode::OK,
        TaskStatus::Failed => StatusCode::OK,
        _ => StatusCode::ACCEPTED,
    };
    Ok((status, Json(task.masked())).into_response())
}

/// Checks a task for what JSON parsing cannot: names that cannot be right.
fn validate_task(spec: &TaskSpec) -> ApiResult<()> {
    let bad = |message: String| Err(ApiError::new(StatusCode::BAD_REQUEST, message));
    match spec {
        TaskSpec::GetParameterValues { parameter_names }
        | TaskSpec::GetParameterAttributes { parameter_names } => {
            if parameter_names.is_empty() {
                return bad("parameterNames must not be empty".into());
            }
        }
        TaskSpec::SetParameterValues { parameter_values } => {
            if parameter_values.is_empty() {
                return bad("parameterValues must not be empty".into());
            }
            if let Some(p) = parameter_values
                .iter()
                .find(|p| p.name.is_empty() || p.name.ends_with('.'))
            {
                return bad(format!("{:?} is not a parameter name", p.name));
            }
        }
        TaskSpec::AddObject { object_name, .. } | TaskSpec::DeleteObject { object_name } => {
            if !object_name.ends_with('.') {
                return bad(format!("objectName {object_name:?} must end with a dot"));
            }
        }
        TaskSpec::GetParameterNames { parameter_path, .. } => {
            if !parameter_path.is_empty()
                && !parameter_path.ends_with('.')
                && parameter_path.contains(' ')
            {
                return bad(format!("{parameter_path:?} is not a parameter path"));
            }
        }
        TaskSpec::Download(download) => {
            if download.url.is_empty() || download.file_type.is_empty() {
                return bad("download needs url and fileType".into());
            }
        }
        TaskSpec::Upload(upload) => {
            if upload.url.is_empty() || upload.file_type.is_empty() {
                return bad("upload needs url and fileType".into());
            }
        }
        TaskSpec::ScheduleDownload(scheduled) => {
            if scheduled.url.is_empty() || scheduled.file_type.is_empty() {
                return bad("scheduleDownload needs url and fileType".into());
            }
            let windows = &scheduled.time_windows;
            if windows.is_empty() || windows.len() > 2 {
                return bad("scheduleDownload needs one or two timeWindows".into());
            }
            if windows.iter().any(|w| w.closes <= w.opens)
                || windows
                    .windows(2)
                    .any(|pair| pair[1].opens < pair[0].closes)
            {
                return bad(
                    "timeWindows open before they close, in order, without overlapping".into(),
                );
            }
        }
        TaskSpec::SetParameterAttributes {
            parameter_attributes,
        } => {
            if parameter_attributes.is_empty() {
                return bad("parameterAttributes must not be empty".into());
            }
        }
        TaskSpec::Reboot | TaskSpec::FactoryReset | TaskSpec::ScheduleInform { .. } => {}
    }
    Ok(())
}

/// The kinds of resources `/api/v1/resources/{kind}` serves, each with the other names it
/// (and `kube-acs get`) accepts for it.
pub const RESOURCE_KINDS: &[(&str, &[&str])] = &[
    ("devices", &["device", "dev"]),
    ("devicegroups", &["devicegroup", "dg"]),
    ("configprofiles", &["configprofile", "cp"]),
    ("devicetasks", &["devicetask", "dt"]),
    ("firmwares", &["firmware", "fw"]),
    ("firmwarerollouts", &["firmwarerollout", "fwr"]),
];

/// The kinds of resources, by every name `kube-acs get` accepts for them.
pub(crate) fn resource_kind(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    RESOURCE_KINDS
        .iter()
        .find(|(kind, aliases)| *kind == name || aliases.contains(&name.as_str()))
        .map(|(kind, _)| *kind)
}

async fn list_resources(State(edge): Shared, Path(kind): Path<String>) -> ApiResult<Response> {
    let kind = resource_kind(&kind).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("unknown kind {kind:?}: devices, devicegroups, configprofiles, devicetasks, firmwares or firmwarerollouts"),
        )
    })?;
    let resources = edge.resources();
    if kind == "devicetasks" {
        let mut tasks = resources.tasks().to_vec();
        for task in &mut tasks {
            redact_settings(&mut task.spec.action.parameter_values);
            let key = provisioning::resources::key_of(task);
            if let Some((run, counters, _)) = crate::device_tasks::results(&edge, &key).await? {
                task.status = Some(crate::resource_status::device_task_status(
                    task, &run, counters,
                ));
            }
        }
        return listing(&resources, kind, tasks);
    }
    if kind == "firmwares" {
        let mut firmwares = resources.firmwares().to_vec();
        let mut txn = edge.store.begin().await?;
        for firmware in &mut firmwares {
            if let Some(file) = &firmware.spec.file {
                let path = format!("/{}", file.trim_start_matches('/'));
                let downloads = records::get_file_downloads(txn.as_mut(), &path).await?;
                firmware.status = Some(crds::FirmwareStatus {
                    downloads,
                    observed_generation: firmware.metadata.generation,
                    ..Default::default()
                });
            }
        }
        txn.rollback().await?;
        return listing(&resources, kind, firmwares);
    }
    if kind == "firmwarerollouts" {
        let mut rollouts = resources.rollouts().to_vec();
        for rollout in &mut rollouts {
            let key = provisioning::resources::key_of(rollout);
            let namespace = rollout.metadata.namespace.clone().unwrap_or_default();
            let missing = resources
                .firmware(&namespace, &rollout.spec.firmware)
                .is_none();
            let run = crate::firmware_rollouts::read(&edge, &key).await?;
            rollout.status = Some(crate::resource_status::firmware_rollout_status(
                rollout,
                run.as_ref(),
                missing,
                crate::edge::now_millis(),
            ));
        }
        return listing(&resources, kind, rollouts);
    }
    let statuses =
        crate::resource_status::compute(edge.store.as_ref(), &resources, crate::edge::now_millis())
            .await?;
    let mut statuses = statuses;
    for device in &mut statuses.devices {
        redact_settings(&mut device.spec.parameters);
    }
    statuses.profiles.iter_mut().for_each(redact_profile);
    match kind {
        "devices" => listing(&resources, kind, statuses.devices),
        "devicegroups" => listing(&resources, kind, statuses.groups),
        _ => listing(&resources, kind, statuses.profiles),
    }
}

/// The listing of the resources of `kind` (plural): `items`, then the documents of that kind
/// (or of no known kind) refused at load, as resources whose `Ready` condition is `False`
/// with reason `Invalid` and why.
fn listing<T: Serialize>(
    resources: &provisioning::resources::ResourceSet,
    kind: &str,
    items: Vec<T>,
) -> ApiResult<Response> {
    let kind = crate::resource_status::kind_of_plural(kind);
    let mut listed = serde_json::to_value(items)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let now = crate::edge::now_millis();
    if let Some(listed) = listed.as_array_mut() {
        listed.extend(
            resources
                .refused()
                .iter()
                .filter(|refused| refused.is_listed_as(kind))
                .map(|refused| crate::resource_status::refused_resource(kind, refused, now)),
        );
    }
    Ok(Json(listed).into_response())
}

/// `/api/v1/namespaces/{namespace}/devicetasks/{name}/results`: a DeviceTask outside the
/// default namespace.
async fn namespaced_device_task_results(
    edge: Shared,
    Path((namespace, name)): Path<(String, String)>,
) -> ApiResult<Json<serde_json::Value>> {
    let key = provisioning::resources::resource_key(&namespace, &name);
    device_task_results(edge, Path(key)).await
}

/// `/api/v1/devicetasks/{key}/results`, the key being the name in the default namespace or
/// `namespace/name` (`namespace%2Fname` in the URL).
async fn device_task_results(
    State(edge): Shared,
    Path(name): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let Some((run, counters, results)) = crate::device_tasks::results(&edge, &name).await? else {
        return Err(ApiError::not_found("DeviceTask run", &name));
    };
    let devices: Vec<serde_json::Value> = results
        .into_iter()
        .map(|(entry, task)| {
            json!({
                "device": entry.device,
                "taskId": entry.task_id,
                "status": task.as_ref().map(|t| t.status),
                "fault": task.as_ref().and_then(|t| t.fault.clone()),
                "result": task.as_ref().and_then(|t| t.result.clone()),
            })
        })
        .collect();
    Ok(Json(json!({
        "started": run.started,
        "completed": run.completed,
        "pending": counters.pending,
        "running": counters.running,
        "succeeded": counters.succeeded,
        "failed": counters.failed,
        "devices": devices,
    })))
}

async fn get_provisioning(
    State(edge): Shared,
    Path(id): Path<String>,
) -> ApiResult<Json<acs_model::ProvisionRecord>> {
    device_read(&edge, id, |txn, id| {
        Box::pin(records::get_provision(txn, id))
    })
    .await
}

async fn list_device_tasks(
    State(edge): Shared,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<TaskRecord>>> {
    let Json(tasks) =
        device_read(&edge, id, |txn, id| Box::pin(records::list_tasks(txn, id))).await?;
    Ok(Json(masked_tasks(tasks)))
}

/// Tasks as the API shows them: secret values [masked](TaskRecord::masked).
fn masked_tasks(tasks: Vec<TaskRecord>) -> Vec<TaskRecord> {
    tasks.iter().map(TaskRecord::masked).collect()
}

#[derive(Deserialize)]
struct PageQuery {
    after: Option<String>,
    limit: Option<usize>,
}

impl PageQuery {
    fn limit(&self) -> ApiResult<usize> {
        page_limit(self.limit)
    }
}

async fn list_tasks(
    State(edge): Shared,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<TaskRecord>>> {
    let Query(page) = query?;
    let limit = page.limit()?;
    let mut txn = edge.store.begin().await?;
    let tasks = records::list_all_tasks(txn.as_mut(), page.after.as_deref(), limit).await?;
    txn.rollback().await?;
    Ok(Json(masked_tasks(tasks)))
}

async fn list_faults(
    State(edge): Shared,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<FaultRecord>>> {
    let Query(page) = query?;
    let limit = page.limit()?;
    let mut txn = edge.store.begin().await?;
    let faults = records::list_all_faults(txn.as_mut(), page.after.as_deref(), limit).await?;
    txn.rollback().await?;
    Ok(Json(faults))
}

async fn get_task(State(edge): Shared, Path(id): Path<String>) -> ApiResult<Json<TaskRecord>> {
    edge.read_task(&id)
        .await?
        .map(|task| Json(task.masked()))
        .ok_or_else(|| ApiError::not_found("task", &id))
}

async fn delete_task(State(edge): Shared, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let existed = transact(edge.store.as_ref(), |txn| {
        let id = &id;
        Box::pin(async move { records::delete_task(txn, id).await })
    })
    .await?;
    deletion(existed, "task", &id)
}

async fn retry_task(State(edge): Shared, Path(id): Path<String>) -> ApiResult<Json<TaskRecord>> {
    let task = transact(edge.store.as_ref(), |txn| {
        let id = id.clone();
        Box::pin(async move {
            let Some(mut task) = records::get_task(txn, &id).await? else {
                return Ok(None);
            };
            if task.status != TaskStatus::Done {
                task.status = TaskStatus::Pending;
                task.attempts = 0;
                task.not_before = 0;
                task.finished = None;
                records::put_task(txn, &task).await?;
            }
            Ok(Some(task))
        })
    })
    .await?;
    task.map(|task| Json(task.masked()))
        .ok_or_else(|| ApiError::not_found("task", &id))
}

async fn list_device_faults(
    State(edge): Shared,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<FaultRecord>>> {
    device_read(&edge, id, |txn, id| Box::pin(records::list_faults(txn, id))).await
}

async fn list_device_transfers(
    State(edge): Shared,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<acs_model::TransferRecord>>> {
    device_read(&edge, id, |txn, id| {
        Box::pin(records::list_transfers(txn, id))
    })
    .await
}

/// A store read of one device's records.
type DeviceRead<'t, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, StoreError>> + Send + 't>>;

/// Reads something of a known device (404 for an unknown one) in a read-only transaction.
async fn device_read<T>(
    edge: &Edge,
    id: String,
    read: impl for<'t> FnOnce(&'t mut dyn acs_store::Transaction, &'t DeviceId) -> DeviceRead<'t, T>,
) -> ApiResult<Json<T>> {
    let id = DeviceId(id);
    let mut txn = edge.store.begin().await?;
    if records::get_device(txn.as_mut(), &id).await?.is_none() {
        return Err(ApiError::not_found("device", id.as_str()));
    }
    let value = read(txn.as_mut(), &id).await?;
    txn.rollback().await?;
    Ok(Json(value))
}

async fn get_fault(State(edge): Shared, Path(id): Path<String>) -> ApiResult<Json<FaultRecord>> {
    let mut txn = edge.store.begin().await?;
    let fault = records::get_fault(txn.as_mut(), &id).await?;
    txn.rollback().await?;
    fault
        .map(Json)
        .ok_or_else(|| ApiError::not_found("fault", &id))
}

async fn delete_fault(State(edge): Shared, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let existed = transact(edge.store.as_ref(), |txn| {
        let id = &id;
        Box::pin(async move { records::delete_fault(txn, id).await })
    })
    .await?;
    deletion(existed, "fault", &id)
}

/// `204 No Content` for something deleted, `404` for something that was not there.
fn deletion(existed: bool, what: &str, id: &str) -> ApiResult<StatusCode> {
    if existed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(what, id))
    }
}
