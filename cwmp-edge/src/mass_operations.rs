//! The mass operations one process drives (standalone, or the operator's leader): DeviceTask
//! runs and FirmwareRollouts, advanced together every second.

use std::collections::HashMap;
use std::sync::Arc;

use crate::edge::Edge;
use crate::{device_tasks, firmware_rollouts};

/// Advances every DeviceTask run and FirmwareRollout once a second until the process ends.
pub fn spawn(edge: Arc<Edge>) {
    tokio::spawn(async move {
        let mut task_tokens = HashMap::new();
        let mut rollout_ticks = firmware_rollouts::RolloutTicks::default();
        let mut interval = tokio::time::interval(device_tasks::TICK.min(firmware_rollouts::TICK));
        loop {
            interval.tick().await;
            if let Err(error) = device_tasks::tick(&edge, &mut task_tokens).await {
                tracing::warn!(%error, "DeviceTask runs could not advance");
            }
            if let Err(error) = firmware_rollouts::tick(&edge, &mut rollout_ticks).await {
                tracing::warn!(%error, "firmware rollouts could not advance");
            }
        }
    });
}
