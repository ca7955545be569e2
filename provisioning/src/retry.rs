//! Retry policy for tasks the device answered with a fault.

use acs_model::{Millis, TaskRecord, TaskStatus};
use cwmp::CwmpFault;

/// How faulted tasks are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before the task fails for good.
    pub max_attempts: u32,
    /// Delay before the first retry, doubled after each further fault.
    pub base_delay_ms: Millis,
    /// Upper bound on the delay.
    pub max_delay_ms: Millis,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay_ms: 30_000,
            max_delay_ms: 3_600_000,
        }
    }
}

impl RetryPolicy {
    /// The delay before the retry that follows attempt number `attempts` (1-based).
    pub fn delay_after(&self, attempts: u32) -> Millis {
        let doublings = attempts.saturating_sub(1).min(32);
        self.base_delay_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_delay_ms)
    }

    /// Records a fault on `task`: it is retried after a backoff, or fails once the limit is
    /// reached. Returns true when the task failed for good.
    pub fn record_fault(&self, task: &mut TaskRecord, fault: CwmpFault, now: Millis) -> bool {
        task.attempts += 1;
        task.fault = Some(fault);
        if task.attempts >= self.max_attempts {
            task.status = TaskStatus::Failed;
            task.finished = Some(now);
            true
        } else {
            task.status = TaskStatus::Pending;
            task.not_before = now + self.delay_after(task.attempts);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use acs_model::{DeviceId, TaskSpec};

    #[test]
    fn backs_off_then_fails_at_the_limit() {
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 1000,
            max_delay_ms: 3000,
        };
        let mut task = TaskRecord {
            id: "t".into(),
            device: DeviceId("d".into()),
            spec: TaskSpec::Reboot,
            status: TaskStatus::Pending,
            created: 0,
            attempts: 0,
            not_before: 0,
            fault: None,
            result: None,
            connection_request: None,
            origin: None,
            finished: None,
        };
        assert!(!policy.record_fault(&mut task, CwmpFault::new(9002), 10_000));
        assert_eq!(task.not_before, 11_000);
        assert!(!policy.record_fault(&mut task, CwmpFault::new(9002), 20_000));
        assert_eq!(task.not_before, 22_000);
        assert!(policy.record_fault(&mut task, CwmpFault::new(9002), 30_000));
        assert_eq!(task.status, TaskStatus::Failed);
        assert_eq!(task.finished, Some(30_000));
        assert_eq!(policy.delay_after(10), 3000);
    }
}
