//! Folds a storm of the same warning into one line with a count: a thousand devices hitting
//! the same broken profile in their sessions log it once per interval, not a thousand times.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the same warning stays folded after it was logged.
pub const FOLD_INTERVAL: Duration = Duration::from_secs(60);

/// Warnings seen, by what makes them the same (their message and every field but the device).
#[derive(Debug, Default)]
pub struct LogFold {
    seen: Mutex<HashMap<String, Folded>>,
}

/// One kind of warning: when it was last logged and how often it came since.
#[derive(Debug)]
struct Folded {
    logged_at: Instant,
    since: u64,
}

/// Whether to log an occurrence now, and how many like it were folded away before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Log it; `folded` earlier occurrences were not logged (0 for the first).
    Log { folded: u64 },
    /// Leave it out; it is counted and reported with the next one logged.
    Fold,
}

impl LogFold {
    /// Decides about one occurrence of the warning `key` at `now`: the first is logged, the
    /// next ones within [`FOLD_INTERVAL`] are counted, and the first one after it is logged
    /// with their count.
    pub fn admit(&self, key: &str, now: Instant) -> Admit {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get_mut(key) {
            Some(folded) if now.saturating_duration_since(folded.logged_at) < FOLD_INTERVAL => {
                folded.since += 1;
                Admit::Fold
            }
            Some(folded) => {
                let count = folded.since;
                *folded = Folded {
                    logged_at: now,
                    since: 0,
                };
                Admit::Log { folded: count }
            }
            None => {
                // Kinds of warnings that stopped long ago are forgotten, so the map stays as
                // small as the set of warnings of the last interval.
                seen.retain(|_, f| now.saturating_duration_since(f.logged_at) < FOLD_INTERVAL);
                seen.insert(
                    key.to_string(),
                    Folded {
                        logged_at: now,
                        since: 0,
                    },
                );
                Admit::Log { folded: 0 }
            }
        }
    }

    /// The counts of warnings folded away and not reported yet, whose interval is over; they
    /// are reported as of now. A periodic call keeps the count of a storm that ended from
    /// being lost.
    pub fn overdue(&self, now: Instant) -> Vec<(String, u64)> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut overdue = Vec::new();
        for (key, folded) in seen.iter_mut() {
            if folded.since > 0 && now.saturating_duration_since(folded.logged_at) >= FOLD_INTERVAL
            {
                overdue.push((key.clone(), folded.since));
                folded.since = 0;
                folded.logged_at = now;
            }
        }
        overdue.sort();
        overdue
    }
}

/// The process's warnings: logging is process-wide, and so is what counts as a storm.
pub fn warnings() -> &'static LogFold {
    static WARNINGS: std::sync::LazyLock<LogFold> = std::sync::LazyLock::new(LogFold::default);
    &WARNINGS
}

/// Logs, once per [`FOLD_INTERVAL`], the counts of warnings folded away since they were last
/// logged, so the size of a storm that ended is not lost. Runs until the process ends.
pub async fn report_folded() {
    let mut tick = tokio::time::interval(FOLD_INTERVAL / 4);
    loop {
        tick.tick().await;
        for (warning, folded) in warnings().overdue(Instant::now()) {
            tracing::warn!(warning, folded, "warning repeated");
        }
    }
}

/// `tracing::warn!` for warnings that come in storms (one per device and session): `key`
/// (a string) says which occurrences are the same; the first is logged, the next ones within
/// [`FOLD_INTERVAL`] are counted and logged with the next line (`folded=N`) or by
/// [`report_folded`].
#[macro_export]
macro_rules! warn_folded {
    ($key:expr, $($rest:tt)+) => {
        if let $crate::log_fold::Admit::Log { folded } =
            $crate::log_fold::warnings().admit(&$key, ::std::time::Instant::now())
        {
            if folded > 0 {
                ::tracing::warn!(folded, $($rest)+);
            } else {
                ::tracing::warn!($($rest)+);
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storm_is_one_line_per_interval_with_its_count() {
        let fold = LogFold::default();
        let start = Instant::now();
        assert_eq!(fold.admit("bad profile", start), Admit::Log { folded: 0 });
        for i in 1..=999 {
            let at = start + Duration::from_millis(i * 50);
            assert_eq!(fold.admit("bad profile", at), Admit::Fold);
        }
        // Another warning is not folded into it.
        assert_eq!(fold.admit("other", start), Admit::Log { folded: 0 });
        let later = start + FOLD_INTERVAL;
        assert_eq!(fold.admit("bad profile", later), Admit::Log { folded: 999 });
        assert_eq!(
            fold.admit("bad profile", later + Duration::from_secs(1)),
            Admit::Fold
        );
    }

    #[test]
    fn the_count_of_a_storm_that_ended_is_reported_once() {
        let fold = LogFold::default();
        let start = Instant::now();
        fold.admit("bad profile", start);
        fold.admit("bad profile", start + Duration::from_secs(1));
        fold.admit("bad profile", start + Duration::from_secs(2));
        assert!(fold.overdue(start + Duration::from_secs(30)).is_empty());
        let end = start + FOLD_INTERVAL;
        assert_eq!(fold.overdue(end), vec![("bad profile".to_string(), 2)]);
        assert!(fold.overdue(end + FOLD_INTERVAL).is_empty());
    }
}
