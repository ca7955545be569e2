//! Firmware rollouts as stored: the run of a FirmwareRollout resource and where each of its
//! devices stands.

use serde::{Deserialize, Serialize};

use crate::{DeviceId, Millis};

/// One run of a FirmwareRollout: its waves, frozen when it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutRun {
    /// Hash of what the run was planned for (firmware and target); a change plans anew.
    pub plan_hash: u64,
    /// When it started.
    pub started: Millis,
    /// Devices per wave (wave 0 is the canary).
    pub waves: Vec<u32>,
    /// The wave under way.
    pub current_wave: u32,
    /// When every device of the current wave finished (its soak runs from then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave_done_at: Option<Millis>,
    /// Why it was aborted, if it was (for good).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
    /// When every wave finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<Millis>,
    /// Why it held at its last tick (paused, failures, approval, window), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    /// How many times a tick has written the run since it started: a process that wrote the
    /// revision it reads holds its devices as stored.
    #[serde(default)]
    pub revision: u64,
}

impl RolloutRun {
    /// Which write of which run this is: its plan, its start and its revision.
    pub fn written_as(&self) -> (u64, Millis, u64) {
        (self.plan_hash, self.started, self.revision)
    }
}

/// Where one device of a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DevicePhase {
    /// Not started.
    Pending,
    /// Waiting for the maintenance window (held by kube-acs).
    Scheduled,
    /// Told to download in the maintenance window (ScheduleDownload); the device waits for it.
    ScheduledOnDevice,
    /// Its Download is queued or under way.
    Downloading,
    /// Downloaded; not back on the new version yet.
    Installing,
    /// Back on the new version, watched for the health gate's soak time.
    Soaking,
    /// On the new version and healthy.
    Succeeded,
    /// Failed for good.
    Failed,
    /// Left out: already on the version, not compatible, or offline.
    Skipped,
    /// The rollout was aborted: waiting to be rolled back to its previous firmware.
    RollbackPending,
    /// Its rollback Download is queued or under way.
    RollingBack,
    /// Back on its previous firmware after an abort.
    RolledBack,
}

impl DevicePhase {
    /// Whether the device is done with the rollout, one way or another.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DevicePhase::Succeeded
                | DevicePhase::Failed
                | DevicePhase::Skipped
                | DevicePhase::RolledBack
        )
    }
}

/// One device of a rollout run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutDevice {
    /// The device.
    pub device: DeviceId,
    /// Its wave.
    pub wave: u32,
    /// Where it stands.
    pub phase: DevicePhase,
    /// Downloads started for it.
    #[serde(default)]
    pub attempts: u32,
    /// The Download task of the current attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// When the current attempt started (for a ScheduleDownload: when its window closes).
    #[serde(default)]
    pub started: Millis,
    /// Its software version when it started (what a rollback goes back to).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from_version: String,
    /// It came back on the new version (and has not been rolled back).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reached_target: bool,
    /// It refused ScheduleDownload; its work is held for the window instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_schedule_download: bool,
    /// When the current phase began.
    #[serde(default)]
    pub since: Millis,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}
