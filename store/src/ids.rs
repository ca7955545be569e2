//! Time-ordered ids for tasks and faults: 13 hex digits of milliseconds, then 8 hex digits of
//! a counter. Ids of one process sort by creation; the counter starts at a random value per
//! process so that several ACS processes are unlikely to mint the same id in the same
//! millisecond.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::LazyLock;

use acs_model::Millis;

/// The id for `millis` and `counter`: `format!("{millis:013x}{counter:08x}")`.
pub fn make_id(millis: Millis, counter: u32) -> String {
    format!("{millis:013x}{counter:08x}")
}

/// The next id of this process for the time `millis` (pass the injected clock's value).
pub fn next_id(millis: Millis) -> String {
    static COUNTER: LazyLock<AtomicU32> = LazyLock::new(|| AtomicU32::new(random_u32()));
    make_id(millis, COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn random_u32() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::process::id()) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fixed_width_and_ordered() {
        assert_eq!(make_id(0x18f_0000_0000, 7), "0018f0000000000000007");
        assert_eq!(make_id(1, 0).len(), 21);
        assert!(make_id(1, u32::MAX) < make_id(2, 0));
        let a = next_id(5);
        let b = next_id(5);
        assert_ne!(a, b);
    }
}
