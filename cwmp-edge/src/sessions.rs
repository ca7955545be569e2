//! The registry of open CWMP sessions: found by cookie, by TCP connection for CPEs that drop
//! cookies, or by remote address as a last resort; one session per device at a time; idle
//! sessions expire.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acs_model::DeviceId;

use crate::device_session::DeviceSession;

/// One open session: its identity and the session state, locked while a request is handled.
pub struct SessionSlot {
    /// The session id, sent as the `session` cookie.
    pub id: String,
    /// The device in session.
    pub device: DeviceId,
    /// The remote address of the CPE.
    pub ip: IpAddr,
    /// How long the session may stay idle.
    pub timeout: Duration,
    created: Instant,
    last_seen_ms: AtomicU64,
    /// The session state; held for the whole handling of one HTTP request.
    pub state: tokio::sync::Mutex<DeviceSession>,
}

impl SessionSlot {
    /// A new slot holding `state`.
    pub fn new(
        id: String,
        device: DeviceId,
        ip: IpAddr,
        timeout: Duration,
        state: DeviceSession,
    ) -> SessionSlot {
        SessionSlot {
            id,
            device,
            ip,
            timeout,
            created: Instant::now(),
            last_seen_ms: AtomicU64::new(0),
            state: tokio::sync::Mutex::new(state),
        }
    }

    /// Marks the session as active now.
    pub fn touch(&self) {
        let elapsed = self.created.elapsed().as_millis() as u64;
        self.last_seen_ms.store(elapsed, Ordering::Relaxed);
    }

    /// How long the session has been open.
    pub fn age(&self) -> Duration {
        self.created.elapsed()
    }

    fn idle_for(&self, now: Instant) -> Duration {
        let last = self.created + Duration::from_millis(self.last_seen_ms.load(Ordering::Relaxed));
        now.saturating_duration_since(last)
    }
}

/// Why a new session could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The device is in another session that is handling a request right now.
    #[error("device {0} is busy in another session")]
    DeviceBusy(DeviceId),
}

#[derive(Default)]
struct Registry {
    by_id: HashMap<String, Arc<SessionSlot>>,
    by_connection: HashMap<u64, String>,
    by_device: HashMap<DeviceId, String>,
}

/// All open sessions of this process.
#[derive(Default)]
pub struct SessionRegistry {
    inner: Mutex<Registry>,
}

impl SessionRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Finds the session of a request: by cookie, else by its TCP connection, else (only for a
    /// request without any cookie: a CPE that drops cookies and connections) by remote address
    /// when exactly one session comes from it.
    pub fn find(
        &self,
        cookie: Option<&str>,
        connection: u64,
        ip: IpAddr,
    ) -> Option<Arc<SessionSlot>> {
        let registry = self.lock();
        if let Some(slot) = cookie.and_then(|c| registry.by_id.get(c)) {
            return Some(slot.clone());
        }
        if let Some(slot) = registry
            .by_connection
            .get(&connection)
            .and_then(|id| registry.by_id.get(id))
        {
            return Some(slot.clone());
        }
        if cookie.is_some() {
            // A cookie we do not know is an ended session, not someone else's.
            return None;
        }
        let mut from_ip = registry.by_id.values().filter(|slot| slot.ip == ip);
        match (from_ip.next(), from_ip.next()) {
            (Some(only), None) => Some(only.clone()),
            _ => None,
        }
    }

    /// Registers a new session for its device. A previous session of the same device is
    /// displaced (the CPE abandoned it: a CPE holds one session at a time) and returned, unless
    /// it is handling a request right now.
    pub fn open(
        &self,
        slot: Arc<SessionSlot>,
        connection: u64,
    ) -> Result<Option<Arc<SessionSlot>>, OpenError> {
        let mut registry = self.lock();
        let displaced = match registry.by_device.get(&slot.device).cloned() {
            Some(old_id) => {
                let old = registry.by_id.get(&old_id).cloned();
                if let Some(old) = &old {
                    if old.state.try_lock().is_err() {
                        return Err(OpenError::DeviceBusy(slot.device.clone()));
                    }
                }
                registry.by_id.remove(&old_id);
                registry.by_connection.retain(|_, id| *id != old_id);
                old
            }
            None => None,
        };
        registry.by_connection.insert(connection, slot.id.clone());
        registry
            .by_device
            .insert(slot.device.clone(), slot.id.clone());
        registry.by_id.insert(slot.id.clone(), slot);
        Ok(displaced)
    }

    /// Remembers that `connection` now carries session `id` (keep-alive reuse after a dropped
    /// cookie).
    pub fn bind_connection(&self, id: &str, connection: u64) {
        let mut registry = self.lock();
        if registry.by_id.contains_key(id) {
            registry.by_connection.insert(connection, id.to_string());
        }
    }

    /// Forgets a connection that closed.
    pub fn connection_closed(&self, connection: u64) {
        self.lock().by_connection.remove(&connection);
    }

    /// Removes a session that ended.
    pub fn close(&self, id: &str) {
        let mut registry = self.lock();
        if let Some(slot) = registry.by_id.remove(id) {
            if registry.by_device.get(&slot.device).map(String::as_str) == Some(id) {
                registry.by_device.remove(&slot.device);
            }
        }
        registry.by_connection.retain(|_, session| session != id);
    }

    /// Removes and returns the sessions idle for longer than their timeout.
    pub fn expire(&self, now: Instant) -> Vec<Arc<SessionSlot>> {
        let expired: Vec<Arc<SessionSlot>> = self
            .lock()
            .by_id
            .values()
            .filter(|slot| slot.idle_for(now) > slot.timeout && slot.state.try_lock().is_ok())
            .cloned()
            .collect();
        for slot in &expired {
            self.close(&slot.id);
        }
        expired
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    /// True when no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `device` is in session now.
    pub fn device_in_session(&self, device: &DeviceId) -> bool {
        self.lock().by_device.contains_key(device)
    }
}
