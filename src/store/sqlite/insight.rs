//! The counts behind the dashboard's closer looks (SQLite): answers over time, the
//! confirmation rate by a contact's country, locale or consent class at launch, bounces
//! by the server's words, the deletion calendar, and the send rate. Each is one grouped
//! query on an index, or on the counters the triggers of migration 0011 keep.

use super::SqliteStore;
use crate::domain::Instant;
use crate::store::{CampaignRow, DueDay, RateBy, RateRow};
use anyhow::Result;

impl SqliteStore {
    /// Confirmations and leaves of a campaign per bucket of `bucket_secs`, a whole
    /// number of hours (counted from the epoch, so days are UTC days): (bucket, answer,
    /// suspect, how many).
    pub async fn answers_over_time(
        &self,
        campaign: &str,
        bucket_secs: i64,
    ) -> Result<Vec<(i64, String, bool, i64)>> {
        Ok(sqlx::query_as(
            "SELECT hour * 3600 / ?1 AS b, answer, suspect, sum(n) FROM campaign_answer_hours \
             WHERE campaign = ?2 AND n != 0 GROUP BY b, answer, suspect ORDER BY b",
        )
        .bind(bucket_secs.max(3600))
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Viewed, confirmed and left per wave name (not suspect, distinct contacts).
    pub async fn answers_by_wave(&self, campaign: &str) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT wave, answer, n FROM campaign_wave_answers WHERE campaign = ? AND n != 0",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The confirmation rate of a campaign split by the contacts' `by`.
    pub async fn rate_by(&self, campaign: &CampaignRow, by: RateBy) -> Result<Vec<RateRow>> {
        let column = match by {
            RateBy::Country => "c.country",
            RateBy::Locale => "c.locale",
            RateBy::Class => "d.class",
        };
        let sql = format!(
            "WITH conf AS (SELECT contact_id, min(suspect) AS suspect FROM ledger \
                           WHERE campaign = ?2 AND event = 'confirmed' GROUP BY contact_id) \
             SELECT coalesce({column}, ''), count(*), \
                    coalesce(sum(conf.suspect = 0), 0), coalesce(sum(conf.suspect = 1), 0) \
             FROM deliveries d JOIN contacts c ON c.id = d.contact_id \
             LEFT JOIN conf ON conf.contact_id = d.contact_id \
             WHERE d.campaign_id = ?1 AND d.wave = 0 AND d.state = 'sent' \
             GROUP BY 1 ORDER BY 2 DESC, 1"
        );
        let rows: Vec<(String, i64, i64, i64)> = // `column` is one of the constants above, never user input.
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(campaign.id)
            .bind(&campaign.name)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(key, asked, confirmed, suspect)| RateRow {
                key,
                asked,
                confirmed,
                suspect,
            })
            .collect())
    }

    /// Bounced messages of a campaign by the server's answer.
    pub async fn bounce_texts(&self, campaign_id: i64) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT coalesce(last_error, ''), count(*) FROM deliveries \
             WHERE campaign_id = ? AND state = 'bounced' GROUP BY 1 ORDER BY 2 DESC, 1",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The deletion queue of a campaign's contacts by day due.
    pub async fn deletion_calendar(&self, campaign_id: i64) -> Result<Vec<DueDay>> {
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT q.due_at / 86400 AS day, sum(coalesce(c.legal_hold, 0) = 0), \
                    sum(coalesce(c.legal_hold, 0) != 0) \
             FROM deletion_queue q JOIN contacts c ON c.id = q.contact_id \
             WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.campaign_id = ? AND d.contact_id = q.contact_id) \
             GROUP BY day ORDER BY day",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(due_days(rows))
    }

    /// Of a campaign's silent contacts (as `queue_non_responders` counts them), those
    /// under legal hold. Few contacts are held, so this starts from them and finds each
    /// one's deliveries by contact (`+` keeps the planner off the campaign's indexes,
    /// which would scan the whole campaign for every held contact).
    pub async fn silent_held(&self, campaign_id: i64, launched_at: Instant) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM contacts c WHERE c.legal_hold = 1 \
               AND EXISTS (SELECT 1 FROM deliveries d WHERE d.contact_id = c.id \
                           AND +d.campaign_id = ?1 AND +d.state = 'sent') \
               AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.contact_id = c.id \
                               AND l.event IN ('confirmed', 'left', 'withdrawn') AND l.at >= ?2)",
        )
        .bind(campaign_id)
        .bind(launched_at.timestamp())
        .fetch_one(&self.pool)
        .await?)
    }

    /// The whole deletion queue by day due before `until`, legal holds apart; what is
    /// overdue counts on the day of `from`.
    pub async fn due_by_day(&self, from: Instant, until: Instant) -> Result<Vec<DueDay>> {
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT max(q.due_at, ?1) / 86400 AS day, sum(coalesce(c.legal_hold, 0) = 0), \
                    sum(coalesce(c.legal_hold, 0) != 0) \
             FROM deletion_queue q JOIN contacts c ON c.id = q.contact_id \
             WHERE q.due_at < ?2 GROUP BY day ORDER BY day",
        )
        .bind(from.timestamp())
        .bind(until.timestamp())
        .fetch_all(&self.pool)
        .await?;
        Ok(due_days(rows))
    }

    /// Messages handed to the server since `since`, by campaign id.
    pub async fn sent_since(&self, since: Instant) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            // `+`: grouping must not pull the planner off the index on `sent_at`.
            "SELECT campaign_id, count(*) FROM deliveries WHERE sent_at >= ? GROUP BY +campaign_id",
        )
        .bind(since.timestamp())
        .fetch_all(&self.pool)
        .await?)
    }
}

fn due_days(rows: Vec<(i64, i64, i64)>) -> Vec<DueDay> {
    rows.into_iter()
        .map(|(day, due, held)| DueDay { day, due, held })
        .collect()
}
