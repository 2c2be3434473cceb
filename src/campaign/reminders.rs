//! Reminder waves: when a wave's time after launch has come, the silent get it.
//!
//! Called by `serve`'s scheduler on every tick and by `send` before it dispatches, so
//! either one alone moves a campaign through its waves. Only running campaigns, only
//! before the deadline: a reminder after it would ask for an answer no longer wanted.

use super::definition::Campaign;
use crate::domain::{CampaignState, Instant};
use crate::store::Store;
use anyhow::Result;

/// Queues every reminder wave that is due; returns how many messages were queued.
pub async fn enqueue_due_waves(store: &Store, now: Instant) -> Result<u64> {
    let mut queued = 0;
    for row in store.campaigns().await? {
        if row.state != CampaignState::Running {
            continue;
        }
        let campaign = match Campaign::parse(&row.definition, &row.source_file) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(
                    campaign = row.name,
                    "cannot read the launched campaign: {e}"
                );
                continue;
            }
        };
        if now >= campaign.deadline.at(row.launched_at) {
            continue;
        }
        for (i, wave) in campaign.waves.iter().enumerate().skip(1) {
            let due = wave.after.after(row.launched_at);
            if due > now {
                continue;
            }
            let n = store
                .enqueue_reminders(row.id, &row.name, i as i64, due, now)
                .await?;
            if n > 0 {
                tracing::info!(
                    campaign = row.name,
                    wave = wave.name,
                    queued = n,
                    "reminder wave queued"
                );
            }
            queued += n;
        }
    }
    Ok(queued)
}
