//! When a scheduled DeviceTask runs: a cron expression in a time zone, optionally limited to a
//! daily window in which devices may be started.

use std::str::FromStr;

use acs_model::Millis;
use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct CompiledSchedule {
    cron: Cron,
    time_zone: Tz,
    window: Option<(NaiveTime, NaiveTime)>,
}

impl CompiledSchedule {
    /// Parses a DeviceTask's schedule; the error names what is wrong.
    pub fn new(schedule: &crds::task::Schedule) -> Result<CompiledSchedule, String> {
        let cron = Cron::from_str(&schedule.cron)
            .map_err(|e| format!("schedule.cron {:?}: {e}", schedule.cron))?;
        let time_zone = Tz::from_str(&schedule.time_zone).map_err(|_| {
            format!(
                "schedule.timeZone {:?} is not an IANA time zone",
                schedule.time_zone
            )
        })?;
        let window = match &schedule.window {
            Some(window) => {
                let parse = |text: &str, field: &str| {
                    NaiveTime::parse_from_str(text, "%H:%M")
                        .map_err(|_| format!("schedule.window.{field} {text:?} is not HH:MM"))
                };
                Some((parse(&window.start, "start")?, parse(&window.end, "end")?))
            }
            None => None,
        };
        Ok(CompiledSchedule {
            cron,
            time_zone,
            window,
        })
    }

    /// Parses a FirmwareRollout's maintenance window (its opening times); the error names the
    /// field that is wrong.
    pub fn of_window(
        window: &crds::firmware::MaintenanceWindow,
    ) -> Result<CompiledSchedule, String> {
        let schedule = crds::task::Schedule {
            cron: window.cron.clone(),
            time_zone: window.time_zone.clone(),
            window: None,
        };
        CompiledSchedule::new(&schedule)
            .map_err(|e| e.replacen("schedule.", "strategy.maintenanceWindow.", 1))
    }

    fn local(&self, millis: Millis) -> Option<DateTime<Tz>> {
        Utc.timestamp_millis_opt(millis as i64)
            .single()
            .map(|t| t.with_timezone(&self.time_zone))
    }

    /// The latest time the cron expression fired at or before `now`, in whole seconds (the
    /// same firing gives the same time on every call).
    pub fn latest_firing(&self, now: Millis) -> Option<Millis> {
        let local = self.local(now - now % 1000)?;
        let fired = self.cron.find_previous_occurrence(&local, true).ok()?;
        Some(fired.timestamp() as Millis * 1000)
    }

    /// The next time the cron expression fires after `now`, in whole seconds.
    pub fn next_firing(&self, now: Millis) -> Option<Millis> {
        let local = self.local(now - now % 1000)?;
        let fires = self.cron.find_next_occurrence(&local, false).ok()?;
        Some(fires.timestamp() as Millis * 1000)
    }

    /// Whether devices may be started at `now` (always, without a window). A window whose end
    /// is before its start spans midnight.
    pub fn in_window(&self, now: Millis) -> bool {
        let Some((start, end)) = self.window else {
            return true;
        };
        let Some(local) = self.local(now) else {
            return false;
        };
        let time = local.time();
        if start <= end {
            start <= time && time < end
        } else {
            time >= start || time < end
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crds::task::{Schedule, TimeWindow};

    fn millis(text: &str) -> Millis {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis() as Millis
    }

    #[test]
    fn fires_in_its_time_zone_and_starts_devices_only_in_the_window() {
        let schedule = CompiledSchedule::new(&Schedule {
            cron: "0 2 * * *".into(),
            time_zone: "Europe/Berlin".into(),
            window: Some(TimeWindow {
                start: "23:00".into(),
                end: "05:00".into(),
            }),
        })
        .unwrap();
        // Any moment after a firing gives that firing, to the millisecond.
        for later in ["2026-11-25T03:00:00.756Z", "2026-11-25T03:00:20.123Z"] {
            assert_eq!(
                schedule.latest_firing(millis(later)),
                Some(millis("2026-11-25T01:00:00Z"))
            );
        }
        // 02:00 in Berlin in November is 01:00 UTC.
        assert_eq!(
            schedule.latest_firing(millis("2026-11-25T03:00:00Z")),
            Some(millis("2026-11-25T01:00:00Z"))
        );
        assert_eq!(
            schedule.latest_firing(millis("2026-11-25T00:30:00Z")),
            Some(millis("2026-11-24T01:00:00Z"))
        );
        assert!(
            schedule.in_window(millis("2026-11-25T01:00:00Z")),
            "02:00 Berlin"
        );
        assert!(
            schedule.in_window(millis("2026-11-24T22:30:00Z")),
            "23:30 Berlin, across midnight"
        );
        assert!(
            !schedule.in_window(millis("2026-11-25T10:00:00Z")),
            "11:00 Berlin"
        );
    }

    #[test]
    fn bad_schedules_name_the_field() {
        let bad = |cron: &str, tz: &str| {
            CompiledSchedule::new(&Schedule {
                cron: cron.into(),
                time_zone: tz.into(),
                window: None,
            })
            .unwrap_err()
        };
        assert!(bad("not cron at all", "UTC").contains("schedule.cron"));
        assert!(bad("0 2 * * *", "Mars/Olympus").contains("schedule.timeZone"));
    }
}
