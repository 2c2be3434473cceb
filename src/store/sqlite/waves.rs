//! Reminder waves (SQLite): who is still silent, queued in one statement.

use super::SqliteStore;
use crate::domain::Instant;
use anyhow::Result;

impl SqliteStore {
    /// Queues reminder `wave` for every contact whose first message went out and who
    /// has not answered (even suspectly), bounced, left or been suppressed since.
    /// Returns how many were queued; a wave already done for good queues nothing.
    pub async fn enqueue_reminders(
        &self,
        campaign_id: i64,
        campaign: &str,
        wave: i64,
        due_at: Instant,
        now: Instant,
    ) -> Result<u64> {
        let mut tx = self.writer.begin().await?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT done_at FROM wave_runs WHERE campaign_id = ? AND wave = ?")
                .bind(campaign_id)
                .bind(wave)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            return Ok(0);
        }
        let added = sqlx::query(
            "INSERT INTO deliveries (campaign_id, contact_id, wave, due_at, class) \
             SELECT d.campaign_id, d.contact_id, ?1, ?2, d.class FROM deliveries d \
             JOIN contacts c ON c.id = d.contact_id AND c.consent_withdrawn_at IS NULL \
             WHERE d.campaign_id = ?3 AND d.wave = 0 AND d.state = 'sent' \
               AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.contact_id = d.contact_id) \
               AND NOT EXISTS (SELECT 1 FROM deliveries b WHERE b.contact_id = d.contact_id \
                               AND b.campaign_id = d.campaign_id AND b.state = 'bounced') \
               AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.contact_id = d.contact_id \
                               AND l.campaign = ?4 AND l.event IN ('confirmed', 'left', 'withdrawn')) \
             ON CONFLICT (campaign_id, contact_id, wave) DO NOTHING",
        )
        .bind(wave)
        .bind(due_at.timestamp())
        .bind(campaign_id)
        .bind(campaign)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let first_wave_pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM deliveries WHERE campaign_id = ? AND wave = 0 \
             AND state IN ('queued', 'claimed', 'sending', 'retry')",
        )
        .bind(campaign_id)
        .fetch_one(&mut *tx)
        .await?;
        if first_wave_pending == 0 {
            sqlx::query("INSERT INTO wave_runs (campaign_id, wave, done_at) VALUES (?, ?, ?)")
                .bind(campaign_id)
                .bind(wave)
                .bind(now.timestamp())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(added)
    }
}
