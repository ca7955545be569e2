//! The edge's shared state and the operations both the CWMP side and the northbound API use:
//! queueing tasks, sending connection requests, waiting for tasks to finish.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use acs_model::task::ConnectionRequestState;
use acs_model::{DeviceId, Millis, TaskRecord, TaskSpec, TaskStatus};
use acs_store::{ids, records, transact, Store, StoreError};
use tokio::sync::broadcast;

use crate::config::CpeAuthMode;
use crate::config::EdgeConfig;
use crate::connection_request::{ConnectionRequestConfig, ConnectionRequester};
use crate::metrics::Metrics;
use crate::sessions::SessionRegistry;
use http_auth::server::{AcceptedSchemes, HttpAuthenticator};
use provisioning::resources::ResourceSet;

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or_default()
}

/// Why a task could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// No such device.
    #[error("device {0} not found")]
    UnknownDevice(DeviceId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything the CWMP server and the API share.
/// How often a caller waiting for a task reads it again, for tasks run by another edge.
const TASK_POLL: Duration = Duration::from_millis(250);

pub struct Edge {
    /// Where all device state lives.
    pub store: Arc<dyn Store>,
    /// Settings.
    pub config: EdgeConfig,
    /// Open sessions.
    pub sessions: SessionRegistry,
    /// Metrics.
    pub metrics: Metrics,
    /// CPE authentication on the CWMP port, when enabled.
    pub authenticator: Option<HttpAuthenticator>,
    /// Sends connection requests.
    pub connection_requester: ConnectionRequester,
    /// The devices, groups, profiles and tasks in force.
    resources: std::sync::RwLock<Arc<ResourceSet>>,
    changed_tasks: broadcast::Sender<String>,
    /// The address devices last reached the CWMP port at (the default host of files URLs).
    cwmp_address: std::sync::RwLock<Option<std::net::IpAddr>>,
}

impl Edge {
    /// The shared state over `store` with `config`.
    pub fn new(store: Arc<dyn Store>, config: EdgeConfig) -> Arc<Edge> {
        let authenticator = match config.cpe_auth {
            CpeAuthMode::None => None,
            CpeAuthMode::Basic => Some(AcceptedSchemes::BasicOnly),
            CpeAuthMode::Digest => Some(AcceptedSchemes::DigestOnly),
            CpeAuthMode::DigestOrBasic => Some(AcceptedSchemes::DigestOrBasic),
        }
        .map(|schemes| {
            HttpAuthenticator::with_random_secret(config.auth_realm.clone()).with_schemes(schemes)
        });
        let connection_requester = ConnectionRequester::new(ConnectionRequestConfig {
            timeout: config.connection_request_timeout,
            ..ConnectionRequestConfig::default()
        });
        let (changed_tasks, _) = broadcast::channel(4096);
        Arc::new(Edge {
            store,
            config,
            sessions: SessionRegistry::default(),
            metrics: Metrics::default(),
            authenticator,
            connection_requester,
            resources: std::sync::RwLock::new(Arc::new(ResourceSet::default())),
            changed_tasks,
            cwmp_address: std::sync::RwLock::new(None),
        })
    }

    /// Notes the local address a device's CWMP connection came in at (an IPv4 address seen
    /// on an IPv6 listener as itself).
    pub fn note_cwmp_address(&self, address: std::net::IpAddr) {
        let address = address.to_canonical();
        let known = *self.cwmp_address.read().unwrap_or_else(|p| p.into_inner());
        if known != Some(address) && !address.is_unspecified() {
            *self.cwmp_address.write().unwrap_or_else(|p| p.into_inner()) = Some(address);
        }
    }

    /// The file server's URL as devices reach it: the configured one, else the file
    /// server's port at the address devices reach the CWMP port at (once one has).
    pub fn files_url(&self) -> Option<String> {
        if let Some(url) = &self.config.files_url {
            return Some(url.clone());
        }
        let port = self.config.files_port?;
        let address = (*self.cwmp_address.read().unwrap_or_else(|p| p.into_inner()))?;
        Some(format!(
            "http://{}",
            std::net::SocketAddr::new(address, port)
        ))
    }

    /// The resources in force now.
    pub fn resources(&self) -> Arc<ResourceSet> {
        self.resources
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the resources in force; sessions that start from now on use them.
    pub fn set_resources(&self, resources: ResourceSet) {
        *self.resources.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(resources);
    }

    /// Tells API callers waiting on these tasks that the device changed them.
    pub fn announce_changed(&self, task_ids: &[String]) {
        for id in task_ids {
            // No receiver just means nobody waits.
            let _ = self.changed_tasks.send(id.clone());
        }
    }

    /// Queues a task for a known device.
    pub async fn queue_task(
        &self,
        device: &DeviceId,
        spec: TaskSpec,
    ) -> Result<TaskRecord, QueueError> {
        let now = now_millis();
        let task = TaskRecord::new(ids::next_id(now), device.clone(), spec, now, None);
        let queued = transact(self.store.as_ref(), |txn| {
            let task = task.clone();
            Box::pin(async move {
                if records::get_device(txn, &task.device).await?.is_none() {
                    return Ok(false);
                }
                records::put_task(txn, &task).await?;
                Ok(true)
            })
        })
        .await?;
        if !queued {
            return Err(QueueError::UnknownDevice(device.clone()));
        }
        Ok(task)
    }

    /// Sends a connection request to a device (unless it is in session already, where it picks
    /// up new tasks by itself) and records the outcome on `task_id`.
    ///
    /// A request about to go out is recorded as accepted before it is sent: the device answers
    /// it with a session that picks the task up, and that session must not race a write of
    /// the same task. A request that fails is recorded once more, as unreachable.
    pub async fn connection_request(
        &self,
        device: &DeviceId,
        task_id: Option<&str>,
    ) -> Result<ConnectionRequestState, StoreError> {
        let now = now_millis();
        if self.sessions.device_in_session(device) {
            let state = ConnectionRequestState::InSession { at: now };
            self.record_connection_request(task_id, &state).await?;
            return Ok(state);
        }
        let mut txn = self.store.begin().await?;
        let record = records::get_device(txn.as_mut(), device).await?;
        txn.rollback().await?;
        let target = match record {
            None => Err("device not found".to_string()),
            Some(record) if record.connection_request.url.is_empty() => {
                Err("the device reported no ConnectionRequestURL".to_string())
            }
            Some(record) => Ok(record.connection_request),
        };
        let outcome = match target {
            Ok(info) => {
                let accepted = ConnectionRequestState::Accepted { at: now };
                self.record_connection_request(task_id, &accepted).await?;
                let (default_user, default_password) = &self.config.connection_request_credentials;
                let (user, password) =
                    info.credentials((default_user.as_str(), default_password.as_str()));
                self.connection_requester
                    .send(&info.url, user, password)
                    .await
                    .map(|()| accepted)
                    .map_err(|e| e.to_string())
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok(accepted) => {
                Metrics::count(&self.metrics.connection_requests, "outcome", "accepted");
                Ok(accepted)
            }
            Err(error) => {
                Metrics::count(&self.metrics.connection_requests, "outcome", "failed");
                crate::warn_folded!("connection request failed", device = %device, %error, "connection request failed");
                let state = ConnectionRequestState::Unreachable { at: now, error };
                self.record_connection_request(task_id, &state).await?;
                Ok(state)
            }
        }
    }

    /// Records `state` on the task `task_id` (if given) while the task still waits.
    async fn record_connection_request(
        &self,
        task_id: Option<&str>,
        state: &ConnectionRequestState,
    ) -> Result<(), StoreError> {
        let Some(task_id) = task_id else {
            return Ok(());
        };
        transact(self.store.as_ref(), |txn| {
            Box::pin(async move {
                if let Some(mut task) = records::get_task(txn, task_id).await? {
                    if task.status == TaskStatus::Pending {
                        task.connection_request = Some(state.clone());
                        records::put_task(txn, &task).await?;
                    }
                }
                Ok(())
            })
        })
        .await
    }

    /// Waits until the device has acted on a pending task (it finished, faulted, or now
    /// awaits an event) or `timeout` passes; returns the task as it is then (`None` if it was
    /// deleted).
    pub async fn wait_for_task(
        &self,
        task_id: &str,
        timeout: Duration,
    ) -> Result<Option<TaskRecord>, StoreError> {
        let mut changes = self.changed_tasks.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        let Some(queued) = self.read_task(task_id).await? else {
            return Ok(None);
        };
        if queued.status != TaskStatus::Pending {
            return Ok(Some(queued));
        }
        loop {
            // Woken by this edge's sessions at once; a session on another edge (same store)
            // is seen by reading the task again every `TASK_POLL`.
            let poll = (tokio::time::Instant::now() + TASK_POLL).min(deadline);
            loop {
                match tokio::time::timeout_at(poll, changes.recv()).await {
                    Ok(Ok(id)) if id != task_id => continue,
                    // Timed out, our task changed, or messages were missed: read it again.
                    _ => break,
                }
            }
            let task = self.read_task(task_id).await?;
            let acted = match &task {
                Some(t) => t.status != TaskStatus::Pending || t.attempts != queued.attempts,
                None => true,
            };
            if acted || tokio::time::Instant::now() >= deadline {
                return Ok(task);
            }
        }
    }

    /// Reads a task by id in a fresh snapshot.
    pub async fn read_task(&self, task_id: &str) -> Result<Option<TaskRecord>, StoreError> {
        let mut txn = self.store.begin().await?;
        let task = records::get_task(txn.as_mut(), task_id).await?;
        txn.rollback().await?;
        Ok(task)
    }
}
