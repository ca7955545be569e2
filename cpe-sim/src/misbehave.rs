//! Misbehaviour on demand: rates of devices or sessions that break the rules, and injected
//! transfer failures. Every decision is a deterministic dice roll from the fleet seed, the
//! device index and (for per-session quirks) a session number, so a run can be replayed and a
//! test can tell which devices were meant to fail.

use std::time::Duration;

use crate::template::mix;
use crate::transfer::Injected;

/// A dice roll in `[0, 1)`.
pub fn roll(seed: u64, index: u32, salt: u64) -> f64 {
    let x = mix(seed ^ mix(u64::from(index) ^ mix(salt)));
    (x >> 11) as f64 / (1u64 << 53) as f64
}

const SALT_COOKIES: u64 = 1;
const SALT_CWMP10: u64 = 2;
const SALT_TRANSFER: u64 = 3;
const SALT_SESSION: u64 = 1 << 32;

/// Fleet-wide misbehaviour rates (0 to 1). Per device: dropping cookies, CWMP 1.0 only. Per
/// session: slow answers, malformed XML, disconnecting mid-session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Misbehaviour {
    /// Devices that never send the session cookie back.
    pub drop_cookies: f64,
    /// Devices that speak `cwmp-1-0` only.
    pub cwmp10_only: f64,
    /// Sessions that wait `slow_delay` before each message after the Inform.
    pub slow: f64,
    /// The wait of slow sessions.
    pub slow_delay: Duration,
    /// Sessions whose Inform is malformed XML (an injected failure).
    pub malformed: f64,
    /// Sessions that drop the connection after the InformResponse (an injected failure).
    pub disconnect: f64,
}

/// How one session misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionQuirks {
    /// Never send cookies.
    pub drop_cookies: bool,
    /// Speak CWMP 1.0.
    pub cwmp10: bool,
    /// Wait this long before each message after the Inform.
    pub slow: Option<Duration>,
    /// Send a malformed Inform.
    pub malformed: bool,
    /// Disconnect after the InformResponse.
    pub disconnect: bool,
}

impl SessionQuirks {
    /// Whether the session is meant to fail.
    pub fn injected_failure(&self) -> bool {
        self.malformed || self.disconnect
    }
}

impl Misbehaviour {
    /// The quirks of session number `session` of device `index`.
    pub fn session(&self, seed: u64, index: u32, session: u64) -> SessionQuirks {
        let per_session = |salt: u64| roll(seed, index, SALT_SESSION + session * 8 + salt);
        SessionQuirks {
            drop_cookies: roll(seed, index, SALT_COOKIES) < self.drop_cookies,
            cwmp10: roll(seed, index, SALT_CWMP10) < self.cwmp10_only,
            slow: (per_session(1) < self.slow).then_some(self.slow_delay),
            malformed: per_session(2) < self.malformed,
            disconnect: per_session(3) < self.disconnect,
        }
    }
}

/// Rates of injected Download outcomes (0 to 1; they add up to at most 1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransferFaults {
    /// Download failure, fault 9010.
    pub download_failure: f64,
    /// Corrupted image, fault 9018.
    pub corrupted: f64,
    /// Installs, reboots, and is never heard of again.
    pub never_returns: f64,
}

impl TransferFaults {
    /// The failure injected into device `index`'s downloads (the same for every download).
    pub fn injected(&self, seed: u64, index: u32) -> Injected {
        let r = roll(seed, index, SALT_TRANSFER);
        if r < self.download_failure {
            Injected::DownloadFailure
        } else if r < self.download_failure + self.corrupted {
            Injected::Corrupted
        } else if r < self.download_failure + self.corrupted + self.never_returns {
            Injected::NeverReturns
        } else {
            Injected::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_hit_about_the_right_share_and_are_repeatable() {
        let faults = TransferFaults {
            download_failure: 0.1,
            corrupted: 0.2,
            never_returns: 0.05,
        };
        let outcomes: Vec<Injected> = (0..10_000).map(|i| faults.injected(7, i)).collect();
        let share = |kind| outcomes.iter().filter(|&&o| o == kind).count() as f64 / 10_000.0;
        assert!((share(Injected::DownloadFailure) - 0.1).abs() < 0.02);
        assert!((share(Injected::Corrupted) - 0.2).abs() < 0.02);
        assert!((share(Injected::NeverReturns) - 0.05).abs() < 0.01);
        assert_eq!(faults.injected(7, 42), faults.injected(7, 42));
        let none = Misbehaviour::default().session(1, 2, 3);
        assert_eq!(none, SessionQuirks::default());
        let all = Misbehaviour {
            malformed: 1.0,
            ..Misbehaviour::default()
        };
        assert!(all.session(1, 2, 3).injected_failure());
    }
}
