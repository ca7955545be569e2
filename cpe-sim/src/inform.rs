//! A device's session lifecycle: the Inform it opens a session with, what an accepted Inform
//! clears, and what reboots, factory resets and scheduled informs leave pending.
//!
//! Pure: the time comes in through [`Env`].

use cwmp::{DeviceIdStruct, Event, EventCode, Inform, ParameterValue, TransferComplete};

use crate::device::{CommandKeys, Device, Env, Lifecycle, Ref};
use crate::events::EventSet;
use crate::template::format_datetime;

/// Why a session starts (events already pending are always reported too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The periodic inform interval elapsed: `2 PERIODIC`.
    Periodic,
    /// The ACS sent a connection request: `6 CONNECTION REQUEST`.
    ConnectionRequest,
    /// Only what is pending (boot, transfer complete, value change, scheduled inform).
    Pending,
}

/// The start of a session: what to send, and what to clear once the ACS accepts it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionStart {
    /// The Inform.
    pub inform: Inform,
    /// The events it reports.
    pub events: EventSet,
    /// Notified parameters it reports, with the values sent.
    pub reported: Vec<(Ref, String)>,
    /// A TransferComplete to send right after the Inform.
    pub transfer_complete: Option<TransferComplete>,
}

impl Device {
    /// Starts a session: `None` for a device gone silent.
    pub fn begin_session(&mut self, env: &Env<'_>, trigger: Trigger) -> Option<SessionStart> {
        if self.lifecycle == Lifecycle::Silent {
            return None;
        }
        match trigger {
            Trigger::Periodic => self.pending.insert(EventSet::PERIODIC),
            Trigger::ConnectionRequest => self.pending.insert(EventSet::CONNECTION_REQUEST),
            Trigger::Pending => {}
        }
        let changed = self.changed_notified(env);
        if !changed.is_empty() {
            self.pending.insert(EventSet::VALUE_CHANGE);
        }
        let events = self.pending;
        let keys = self.extra().map(|e| e.keys.clone()).unwrap_or_default();
        let transfer_key = self
            .extra()
            .and_then(|e| e.transfer.as_ref())
            .map(|t| t.command_key.clone())
            .unwrap_or_default();
        let event_list = events
            .codes()
            .map(|code| {
                let command_key = match code {
                    EventCode::MReboot => keys.reboot.clone(),
                    EventCode::MScheduleInform => keys.schedule_inform.clone(),
                    EventCode::MDownload | EventCode::MUpload | EventCode::MScheduleDownload => {
                        transfer_key.clone()
                    }
                    _ => String::new(),
                };
                Event { code, command_key }
            })
            .collect();
        let model = env.model;
        let mut parameters: Vec<ParameterValue> = model
            .forced_inform()
            .iter()
            .filter(|&&id| self.has_node(model, id))
            .map(|&id| ParameterValue {
                name: model.node(id).path.to_string(),
                value: self.read_value(env, Ref::Node(id)),
                xsd_type: model.node(id).xsd_type().clone(),
            })
            .collect();
        let mut reported = Vec::with_capacity(changed.len());
        for (r, value, _) in changed {
            if !matches!(r, Ref::Node(id) if model.node(id).forced_inform) {
                parameters.push(ParameterValue {
                    name: self.path(env, r),
                    value: value.clone(),
                    xsd_type: model.node(r.node()).xsd_type().clone(),
                });
            }
            reported.push((r, value));
        }
        let identity = env.identity;
        let inform = Inform {
            device_id: DeviceIdStruct {
                manufacturer: identity.manufacturer.clone(),
                oui: identity.oui.clone(),
                product_class: identity.product_class.clone(),
                serial_number: identity.serial(self.index()),
            },
            events: event_list,
            max_envelopes: 1,
            current_time: format_datetime(env.now_ms),
            retry_count: u32::from(self.retry_count),
            parameters,
        };
        Some(SessionStart {
            inform,
            events,
            reported,
            transfer_complete: self.transfer_complete(),
        })
    }

    /// The ACS answered the Inform: the reported events are delivered (transfer events stay
    /// until the TransferComplete is acknowledged).
    pub fn inform_accepted(&mut self, start: &SessionStart) {
        let mut delivered = start.events;
        if start.transfer_complete.is_some() {
            delivered.remove(EventSet::TRANSFER_EVENTS);
        }
        self.pending.remove(delivered);
        if self.lifecycle == Lifecycle::New {
            self.lifecycle = Lifecycle::Known;
        }
        self.retry_count = 0;
        if let Some(extra) = self.extra_if_any_mut() {
            if delivered.contains(EventSet::M_REBOOT) {
                extra.keys.reboot.clear();
            }
            if delivered.contains(EventSet::M_SCHEDULE_INFORM) {
                extra.keys.schedule_inform.clear();
            }
        }
        for (r, value) in &start.reported {
            self.mark_reported(*r, value);
        }
        self.compact();
    }

    /// The session failed: the events stay pending and the next Inform counts a retry.
    pub fn session_failed(&mut self) {
        self.retry_count = self.retry_count.saturating_add(1);
    }

    /// The periodic inform interval in seconds, or `None` when periodic informs are off.
    pub fn periodic_interval(&self, env: &Env<'_>) -> Option<u64> {
        let roles = env.model.roles();
        let enabled = self
            .role_value(env, roles.periodic_enable)
            .is_none_or(|v| v == "true" || v == "1");
        let interval = self
            .role_value(env, roles.periodic_interval)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(u64::from(env.identity.periodic_interval));
        (enabled && interval > 0).then_some(interval)
    }

    /// Reboots now: uptime restarts and the next Inform says `1 BOOT`.
    pub fn reboot(&mut self, env: &Env<'_>) {
        self.boot_ms = env.now_ms;
        self.pending.insert(EventSet::BOOT);
    }

    /// Factory reset: back to the template (firmware stays), then reboot; the next Inform
    /// says `0 BOOTSTRAP, 1 BOOT`.
    pub fn factory_reset(&mut self, env: &Env<'_>) {
        self.reset_overrides(env);
        if let Some(extra) = self.extra_if_any_mut() {
            extra.keys = CommandKeys::default();
            extra.transfer = None;
        }
        self.lifecycle = Lifecycle::New;
        self.pending = EventSet::BOOTSTRAP;
        self.reboot(env);
        self.compact();
    }

    /// A ScheduleInform came due: `3 SCHEDULED` and `M ScheduleInform`.
    pub fn scheduled_inform_due(&mut self) {
        self.pending
            .insert(EventSet::SCHEDULED | EventSet::M_SCHEDULE_INFORM);
    }
}
