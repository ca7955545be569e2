//! Retry policy for tasks and provisioning the device answered with a fault. Faults that can
//! never succeed ([`CwmpFault::is_permanent`]: an invalid name, type or value, a read-only
//! parameter) are not retried.

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

    /// Whether something that faulted `attempts` times in a row, the last time with `fault`,
    /// fails for good instead of being retried.
    pub fn gives_up(&self, fault: &CwmpFault, attempts: u32) -> bool {
        fault.is_permanent() || attempts >= self.max_attempts
    }

    /// Records a fault on `task`: it is retried after a backoff, or fails at once for a fault
    /// that can never succeed, or once the limit is reached. Returns true when the task
    /// failed for good.
    pub fn record_fault(&self, task: &mut TaskRecord, fault: CwmpFault, now: Millis) -> bool {
        task.attempts += 1;
        let gives_up = self.gives_up(&fault, task.attempts);
        task.fault = Some(fault);
        if gives_up {
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

    #[test]
    fn faults_that_can_never_succeed_fail_at_once() {
        let policy = RetryPolicy::default();
        let mut task = TaskRecord::new("t".into(), DeviceId("d".into()), TaskSpec::Reboot, 0, None);
        let read_only = CwmpFault {
            set_parameter_values_faults: vec![cwmp::SetParameterValuesFault {
                parameter_name: "Device.DeviceInfo.UpTime".into(),
                code: 9008,
                string: String::new(),
            }],
            ..CwmpFault::new(9003)
        };
        assert!(policy.record_fault(&mut task, read_only, 5_000));
        assert_eq!(task.status, TaskStatus::Failed);
        assert_eq!(task.attempts, 1);
        assert_eq!(task.finished, Some(5_000));
        assert!(policy.gives_up(&CwmpFault::new(9005), 1));
        assert!(!policy.gives_up(&CwmpFault::new(9003), 1));
    }
}
