//! The counts behind `campaign status` (SQLite): deliveries by wave and state, why
//! messages were cancelled or failed, and the answers recorded. Deliveries and answers
//! are read from the counters that triggers keep (migration 0011), not counted anew;
//! [`SqliteStore::recount`] counts the rows, to check the counters against.

use super::SqliteStore;
use crate::domain::DeliveryState;
use crate::store::{AnswerCounts, CampaignRow, Counters};
use anyhow::Result;
use std::collections::BTreeMap;

impl SqliteStore {
    /// Delivery counts by wave and state.
    pub async fn delivery_counts(
        &self,
        campaign_id: i64,
    ) -> Result<BTreeMap<(i64, DeliveryState), i64>> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT wave, state, n FROM campaign_counts WHERE campaign_id = ? AND n != 0",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?;
        by_state(rows)
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
        let rows: Vec<(String, bool, i64)> =
            sqlx::query_as("SELECT answer, suspect, n FROM campaign_answers WHERE campaign = ?")
                .bind(&campaign.name)
                .fetch_all(&self.pool)
                .await?;
        let mut by_event: BTreeMap<(String, bool), i64> =
            rows.into_iter().map(|(e, s, n)| ((e, s), n)).collect();
        let answered = by_event.remove(&("answered".into(), false)).unwrap_or(0);
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
            by_event,
            answered,
            queued_for_deletion,
            purged,
        })
    }
}

/// A withdrawal counts as a leave.
const ANSWER: &str = "CASE event WHEN 'withdrawn' THEN 'left' ELSE event END";

impl SqliteStore {
    /// The counters of a campaign beside the same figures counted from its deliveries
    /// and the ledger: (kept, counted). They agree unless a counter went wrong. Both are
    /// read in one transaction: a sender claiming between the two reads is no mismatch.
    pub async fn recount(&self, campaign: &CampaignRow) -> Result<(Counters, Counters)> {
        let (id, name) = (campaign.id, campaign.name.as_str());
        let mut tx = self.pool.begin().await?;
        let kept = Counters {
            deliveries: by_state(rows(&mut tx, "SELECT wave, state, n FROM campaign_counts WHERE campaign_id = ?1 AND n != 0", id).await?)?,
            answers: pairs(rows(&mut tx, "SELECT answer, suspect, n FROM campaign_answers WHERE campaign = ?1 AND n != 0", name).await?),
            wave_answers: rows(&mut tx, "SELECT wave, answer, n FROM campaign_wave_answers WHERE campaign = ?1 AND n != 0", name).await?
                .into_iter().map(|(w, a, n): (String, String, i64)| ((w, a), n)).collect(),
            hours: hours(rows(&mut tx, "SELECT hour, answer, suspect, n FROM campaign_answer_hours WHERE campaign = ?1 AND n != 0", name).await?),
        };
        let mut answers = pairs(rows(&mut tx, &format!(
            "SELECT {ANSWER} AS answer, suspect, count(DISTINCT contact_id) FROM ledger \
             WHERE campaign = ?1 AND event IN ('viewed', 'confirmed', 'left', 'withdrawn') GROUP BY answer, suspect"
        ), name).await?);
        let answered: Vec<(i64,)> = rows(
            &mut tx,
            "SELECT count(DISTINCT contact_id) FROM ledger \
             WHERE campaign = ?1 AND event IN ('confirmed', 'left', 'withdrawn')",
            name,
        )
        .await?;
        let answered = answered.first().map_or(0, |(n,)| *n);
        if answered > 0 {
            answers.insert(("answered".into(), false), answered);
        }
        let counted = Counters {
            deliveries: by_state(rows(&mut tx, "SELECT wave, state, count(*) FROM deliveries WHERE campaign_id = ?1 GROUP BY wave, state", id).await?)?,
            answers,
            wave_answers: rows(&mut tx, &format!(
                "SELECT coalesce(wave, ''), {ANSWER} AS answer, count(DISTINCT contact_id) FROM ledger \
                 WHERE campaign = ?1 AND event IN ('viewed', 'confirmed', 'left', 'withdrawn') AND suspect = 0 \
                 GROUP BY 1, answer"
            ), name).await?
                .into_iter().map(|(w, a, n): (String, String, i64)| ((w, a), n)).collect(),
            hours: hours(rows(&mut tx, &format!(
                "SELECT at / 3600 AS hour, {ANSWER} AS answer, suspect, count(*) FROM ledger \
                 WHERE campaign = ?1 AND event IN ('confirmed', 'left', 'withdrawn') GROUP BY hour, answer, suspect"
            ), name).await?),
        };
        tx.commit().await?;
        Ok((kept, counted))
    }
}

async fn rows<T, A>(conn: &mut sqlx::SqliteConnection, sql: &str, arg: A) -> Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    A: for<'q> sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Send,
{
    // Each caller's SQL is a constant of this module, never user input.
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(arg)
        .fetch_all(conn)
        .await?)
}

fn by_state(rows: Vec<(i64, String, i64)>) -> Result<BTreeMap<(i64, DeliveryState), i64>> {
    rows.into_iter()
        .map(|(w, s, n)| {
            let state = DeliveryState::parse(&s)
                .ok_or_else(|| anyhow::anyhow!("a delivery has the unknown state '{s}'"))?;
            Ok(((w, state), n))
        })
        .collect()
}

fn hours(rows: Vec<(i64, String, bool, i64)>) -> BTreeMap<(i64, String, bool), i64> {
    rows.into_iter()
        .map(|(h, a, s, n)| ((h, a, s), n))
        .collect()
}

fn pairs(rows: Vec<(String, bool, i64)>) -> BTreeMap<(String, bool), i64> {
    rows.into_iter().map(|(a, s, n)| ((a, s), n)).collect()
}
