//! Who may call the northbound API, and for what, decided by an [`Authorizer`].
//!
//! Each call is mapped to what it does in Kubernetes RBAC terms ([`Access`]: a verb on a
//! `kubeacs.io` resource, in a namespace): reading a device is `get devices` in the device's
//! namespace, queueing a task on it `update devices` there, listing every device `list
//! devices` across namespaces. In a cluster the authorizer asks the API server (TokenReview
//! for the bearer token, SubjectAccessReview for the access), so RBAC on namespaces is the
//! permission model for the API exactly as for kubectl.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acs_model::DeviceId;
use acs_store::records;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use provisioning::resources::{device_name, DEFAULT_NAMESPACE};

use crate::edge::Edge;
use crate::nbi::ApiError;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// User name.
    pub user: String,
    /// User id.
    pub uid: String,
    /// Groups.
    pub groups: Vec<String>,
}

/// What a call does, as RBAC sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Access {
    /// `get`, `list`, `update` or `delete`.
    pub verb: &'static str,
    /// The `kubeacs.io` resource: `devices`, `devicegroups`, `configprofiles` or
    /// `devicetasks`.
    pub resource: String,
    /// The namespace; `None` for every namespace.
    pub namespace: Option<String>,
    /// The resource's name, when the call is about one.
    pub name: Option<String>,
}

/// Why a call is refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Denied {
    /// No usable credentials (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The authorizer could not decide (503).
    #[error("cannot check access now: {0}")]
    Unavailable(String),
}

/// A boxed future that can move between threads.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Decides who a bearer token is and what it may do.
pub trait Authorizer: Send + Sync {
    /// The caller a bearer token stands for.
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Caller, Denied>>;
    /// Whether `caller` may do `access`.
    fn allowed<'a>(
        &'a self,
        caller: &'a Caller,
        access: &'a Access,
    ) -> BoxFuture<'a, Result<bool, Denied>>;
}

/// How long a token's identity and an access decision are reused.
const CACHE_TTL: Duration = Duration::from_secs(10);
/// Entries kept in each cache at most (then it starts over).
const CACHE_LIMIT: usize = 10_000;

/// An [`Authorizer`] with its answers cached for a few seconds, so that a busy API client
/// costs the API server a review now and then, not one per call.
pub struct CachedAuthorizer {
    inner: Arc<dyn Authorizer>,
    callers: Mutex<HashMap<String, (Instant, Caller)>>,
    decisions: Mutex<HashMap<(String, Access), (Instant, bool)>>,
}

impl CachedAuthorizer {
    /// Caches `inner`'s answers.
    pub fn new(inner: Arc<dyn Authorizer>) -> CachedAuthorizer {
        CachedAuthorizer {
            inner,
            callers: Mutex::new(HashMap::new()),
            decisions: Mutex::new(HashMap::new()),
        }
    }

    async fn caller(&self, token: &str) -> Result<Caller, Denied> {
        if let Some((at, caller)) = lock(&self.callers).get(token) {
            if at.elapsed() < CACHE_TTL {
                return Ok(caller.clone());
            }
        }
        let caller = self.inner.authenticate(token).await?;
        let mut callers = lock(&self.callers);
        if callers.len() >= CACHE_LIMIT {
            callers.clear();
        }
        callers.insert(token.to_string(), (Instant::now(), caller.clone()));
        Ok(caller)
    }

    async fn check(&self, caller: &Caller, access: &Access) -> Result<bool, Denied> {
        let key = (caller.user.clone(), access.clone());
        if let Some((at, allowed)) = lock(&self.decisions).get(&key) {
            if at.elapsed() < CACHE_TTL {
                return Ok(*allowed);
            }
        }
        let allowed = self.inner.allowed(caller, access).await?;
        let mut decisions = lock(&self.decisions);
        if decisions.len() >= CACHE_LIMIT {
            decisions.clear();
        }
        decisions.insert(key, (Instant::now(), allowed));
        Ok(allowed)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a call is about, before the store tells which namespace a device is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Open to anyone (health, metrics, the API description).
    Public,
    /// Every object of a resource, in every namespace.
    All(&'static str, String),
    /// One device, by id.
    Device(&'static str, String),
    /// The device a queued task is for, by task id.
    TaskDevice(&'static str, String),
    /// The device a fault is from, by fault id.
    FaultDevice(&'static str, String),
    /// A DeviceTask by resource key (`namespace/name`, or the name in `default`).
    DeviceTask(String),
}

/// What the call `method path` is about. Unknown paths are left to the router (404) but
/// still need an authenticated caller.
pub fn target(method: &Method, path: &str) -> Option<Target> {
    let read = *method == Method::GET || *method == Method::HEAD;
    let verb = if read {
        "get"
    } else if *method == Method::DELETE {
        "delete"
    } else {
        "update"
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    Some(match segments.as_slice() {
        ["healthz"] | ["metrics"] | ["api", "v1", "openapi.json"] => Target::Public,
        ["api", "v1", "devices"] | ["api", "v1", "tasks"] | ["api", "v1", "faults"] => {
            Target::All("list", "devices".to_string())
        }
        ["api", "v1", "devices", id] => Target::Device(verb, decode(id)),
        // Anything done to a device (tags, credentials, tasks, connection requests) updates it.
        ["api", "v1", "devices", id, ..] => {
            Target::Device(if read { "get" } else { "update" }, decode(id))
        }
        ["api", "v1", "resources", kind] => {
            Target::All("list", crate::nbi::resource_kind(kind)?.to_string())
        }
        ["api", "v1", "devicetasks", key, "results"] => Target::DeviceTask(decode(key)),
        ["api", "v1", "namespaces", ns, "devicetasks", name, "results"] => Target::DeviceTask(
            provisioning::resources::resource_key(&decode(ns), &decode(name)),
        ),
        ["api", "v1", "tasks", id] => {
            Target::TaskDevice(if read { "get" } else { "update" }, decode(id))
        }
        ["api", "v1", "tasks", id, "retry"] => Target::TaskDevice("update", decode(id)),
        // The file server's files belong to no namespace: managing them is a cluster-wide
        // right on Firmware.
        ["api", "v1", "files"] => Target::All("list", "firmwares".to_string()),
        ["api", "v1", "files", _] => Target::All(verb, "firmwares".to_string()),
        ["api", "v1", "faults", id] => {
            Target::FaultDevice(if read { "get" } else { "update" }, decode(id))
        }
        _ => return None,
    })
}

/// Percent-decodes a path segment (ids may carry `%2F` and the like).
pub(crate) fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The access a device-scoped call needs: the device's namespace and resource name, from
/// its stored identity (a device the store does not know is in the device namespace).
async fn device_access(
    edge: &Edge,
    verb: &'static str,
    id: &DeviceId,
) -> Result<Access, acs_store::StoreError> {
    let mut txn = edge.store.begin().await?;
    let record = records::get_device(txn.as_mut(), id).await?;
    txn.rollback().await?;
    let resources = edge.resources();
    let (namespace, name) = match &record {
        Some(record) => {
            let name = resources
                .device_for(&record.identity)
                .and_then(|d| d.metadata.name.clone())
                .unwrap_or_else(|| device_name(&record.identity));
            (resources.namespace_of(&record.identity).to_string(), name)
        }
        None => (
            resources.device_namespace().to_string(),
            id.as_str().to_lowercase(),
        ),
    };
    Ok(Access {
        verb,
        resource: "devices".to_string(),
        namespace: Some(namespace),
        name: Some(name),
    })
}

async fn access_for(edge: &Edge, target: Target) -> Result<Option<Access>, acs_store::StoreError> {
    Ok(Some(match target {
        Target::Public => return Ok(None),
        Target::All(verb, resource) => Access {
            verb,
            resource,
            namespace: None,
            name: None,
        },
        Target::Device(verb, id) => device_access(edge, verb, &DeviceId(id)).await?,
        Target::TaskDevice(verb, id) => match edge.read_task(&id).await? {
            Some(task) => device_access(edge, verb, &task.device).await?,
            None => all_devices(verb),
        },
        Target::FaultDevice(verb, id) => {
            let mut txn = edge.store.begin().await?;
            let fault = records::get_fault(txn.as_mut(), &id).await?;
            txn.rollback().await?;
            match fault {
                Some(fault) => device_access(edge, verb, &fault.device).await?,
                None => all_devices(verb),
            }
        }
        Target::DeviceTask(key) => {
            let (namespace, name) = key
                .split_once('/')
                .map(|(ns, name)| (ns.to_string(), name.to_string()))
                .unwrap_or_else(|| (DEFAULT_NAMESPACE.to_string(), key.clone()));
            Access {
                verb: "get",
                resource: "devicetasks".to_string(),
                namespace: Some(namespace),
                name: Some(name),
            }
        }
    }))
}

/// Something nobody names: only a caller allowed on every device may learn it is missing.
fn all_devices(verb: &'static str) -> Access {
    Access {
        verb,
        resource: "devices".to_string(),
        namespace: None,
        name: None,
    }
}

/// The shared state of the access check.
pub type AccessState = (Arc<Edge>, Arc<CachedAuthorizer>);

/// Middleware: authenticates the bearer token and checks the call's access; 401, 403 or 503
/// (with a JSON error) when it may not go on. Every refusal is logged.
pub async fn check_access(
    State((edge, authorizer)): State<AccessState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let target = target(request.method(), &path);
    if target == Some(Target::Public) {
        return next.run(request).await;
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return refuse(Denied::Unauthenticated(
            "a bearer token is required (Authorization: Bearer <token>)".to_string(),
        ));
    };
    let caller = match authorizer.caller(token).await {
        Ok(caller) => caller,
        Err(denied) => {
            tracing::warn!(path, %denied, "API call refused: authentication");
            return refuse(denied);
        }
    };
    let Some(target) = target else {
        return next.run(request).await;
    };
    let access = match access_for(&edge, target).await {
        Ok(Some(access)) => access,
        Ok(None) => return next.run(request).await,
        Err(error) => return ApiError::from(error).into_response(),
    };
    match authorizer.check(&caller, &access).await {
        Ok(true) => next.run(request).await,
        Ok(false) => {
            let scope = access
                .namespace
                .as_deref()
                .map_or("in every namespace".to_string(), |ns| {
                    format!("in namespace {ns}")
                });
            let denied = Denied::Forbidden(format!(
                "user {} may not {} kubeacs.io {}{} {scope}",
                caller.user,
                access.verb,
                access.resource,
                access
                    .name
                    .as_deref()
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default()
            ));
            tracing::warn!(path, user = %caller.user, %denied, "API call refused");
            refuse(denied)
        }
        Err(denied) => {
            tracing::warn!(path, %denied, "API call refused: access check failed");
            refuse(denied)
        }
    }
}

fn refuse(denied: Denied) -> Response {
    let status = match denied {
        Denied::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        Denied::Forbidden(_) => StatusCode::FORBIDDEN,
        Denied::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    ApiError::new(status, denied.to_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_map_to_rbac_verbs() {
        let device = |verb, id: &str| Some(Target::Device(verb, id.to_string()));
        assert_eq!(target(&Method::GET, "/healthz"), Some(Target::Public));
        assert_eq!(
            target(&Method::GET, "/api/v1/devices"),
            Some(Target::All("list", "devices".into()))
        );
        assert_eq!(
            target(&Method::GET, "/api/v1/devices/A-B-C"),
            device("get", "A-B-C")
        );
        assert_eq!(
            target(&Method::DELETE, "/api/v1/devices/A-B-C"),
            device("delete", "A-B-C")
        );
        assert_eq!(
            target(&Method::POST, "/api/v1/devices/A-B-C/tasks"),
            device("update", "A-B-C")
        );
        assert_eq!(
            target(&Method::DELETE, "/api/v1/devices/A%2DB/tags/x"),
            device("update", "A-B")
        );
        assert_eq!(
            target(&Method::GET, "/api/v1/devices/A/faults"),
            device("get", "A")
        );
        assert_eq!(
            target(&Method::GET, "/api/v1/resources/cp"),
            Some(Target::All("list", "configprofiles".into()))
        );
        assert_eq!(target(&Method::GET, "/api/v1/resources/pods"), None);
        assert_eq!(
            target(&Method::GET, "/api/v1/namespaces/t/devicetasks/r/results"),
            Some(Target::DeviceTask("t/r".into()))
        );
        assert_eq!(
            target(&Method::GET, "/api/v1/devicetasks/t%2Fr/results"),
            Some(Target::DeviceTask("t/r".into()))
        );
        assert_eq!(
            target(&Method::POST, "/api/v1/tasks/123/retry"),
            Some(Target::TaskDevice("update", "123".into()))
        );
        assert_eq!(target(&Method::GET, "/elsewhere"), None);
        assert_eq!(
            target(&Method::PUT, "/api/v1/files/fw.bin"),
            Some(Target::All("update", "firmwares".into()))
        );
        assert_eq!(
            target(&Method::GET, "/api/v1/files"),
            Some(Target::All("list", "firmwares".into()))
        );
    }

    #[test]
    fn every_route_has_an_access_rule() {
        for (path, methods) in crate::nbi::ROUTES {
            let concrete = path.replace("{kind}", "devices").replace(['{', '}'], "");
            for method in *methods {
                let method = Method::from_bytes(method.as_bytes()).unwrap();
                assert!(
                    target(&method, &concrete).is_some(),
                    "{method} {path} has no access rule"
                );
            }
        }
    }
}
