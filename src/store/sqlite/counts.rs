//! The counts behind `campaign status` (SQLite): deliveries by wave and state, why
//! messages were cancelled or failed, and the answers recorded.

use super::SqliteStore;
use crate::store::{AnswerCounts, CampaignRow};
use anyhow::Result;
use std::collections::BTreeMap;

impl SqliteStore {
    /// Delivery counts by wave and state.
    pub async fn delivery_counts(&self, campaign_id: i64) -> Result<BTreeMap<(i64, String), i64>> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT wave, state, count(*) FROM deliveries WHERE campaign_id = ? GROUP BY wave, state",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(w, s, n)| ((w, s), n)).collect())
    }

    /// Why messages of a campaign were cancelled or failed, by state and reason, with
    /// how many each (thank-you mails apart): answered first, withdrawn, no basis,
    /// suppressed, erased, the campaign cancelled; the server's words for failures.
    pub async fn outcome_reasons(
        &self,
        campaign_id: i64,
    ) -> Result<BTreeMap<String, BTreeMap<String, i64>>> {
        let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
            // `+wave`: the few failed rows by their own index, not the whole campaign.
            "SELECT state, last_error, count(*) FROM deliveries \
             WHERE campaign_id = ? AND state IN ('cancelled', 'failed') AND +wave >= 0 \
             GROUP BY state, last_error",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?;
        let mut reasons: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for (state, why, n) in rows {
            // A cancel without a reason is the campaign's own cancel.
            let why = why.unwrap_or_else(|| "campaign_cancelled".into());
            *reasons.entry(state).or_default().entry(why).or_default() += n;
        }
        Ok(reasons)
    }
}

impl SqliteStore {
    pub async fn answer_counts(&self, campaign: &CampaignRow) -> Result<AnswerCounts> {
        let rows: Vec<(String, bool, i64)> = sqlx::query_as(
            // A one-click withdrawal is a leave as far as the funnel goes.
            "SELECT CASE event WHEN 'withdrawn' THEN 'left' ELSE event END AS answer, suspect, \
             count(DISTINCT contact_id) FROM ledger \
             WHERE campaign = ? AND event IN ('viewed', 'confirmed', 'left', 'withdrawn') GROUP BY answer, suspect",
        )
        .bind(&campaign.name)
        .fetch_all(&self.pool)
        .await?;
        let answered: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT contact_id) FROM ledger \
             WHERE campaign = ? AND event IN ('confirmed', 'left', 'withdrawn')",
        )
        .bind(&campaign.name)
        .fetch_one(&self.pool)
        .await?;
        let queued_for_deletion: i64 = sqlx::query_scalar(
            // From the queue, small, to the campaign's deliveries by index: an `IN` list
            // of a large campaign's contacts would be built in full every time.
            "SELECT count(*) FROM deletion_queue q WHERE EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.campaign_id = ? AND d.contact_id = q.contact_id)",
        )
        .bind(campaign.id)
        .fetch_one(&self.pool)
        .await?;
        let purged: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT l.contact_id) FROM ledger l WHERE l.event = 'erased' AND EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.campaign_id = ? AND d.contact_id = l.contact_id)",
        )
        .bind(campaign.id)
        .fetch_one(&self.pool)
        .await?;
        Ok(AnswerCounts {
            by_event: rows.into_iter().map(|(e, s, n)| ((e, s), n)).collect(),
            answered,
            queued_for_deletion,
            purged,
        })
    }
}
