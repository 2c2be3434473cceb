//! The counts behind the dashboard's closer looks (PostgreSQL): answers over time, the
//! confirmation rate by a contact's country, locale or consent class at launch, bounces
//! by the server's words, the deletion calendar, and the send rate. Each is one grouped
//! query on an index, or on the counters the triggers keep (see `counts`).

use super::PgStore;
use super::counts::{HOURS, WAVE_ANSWERS};
use crate::domain::Instant;
use crate::store::{CampaignRow, DueDay, RateBy, RateRow};
use anyhow::Result;

/// Contacts due, and held, among a deletion queue's rows joined to their contacts.
const DUE_HELD: &str = "count(*) FILTER (WHERE NOT coalesce(c.legal_hold, false)), \
                        count(*) FILTER (WHERE coalesce(c.legal_hold, false))";

impl PgStore {
    /// Confirmations and leaves of a campaign per bucket of `bucket_secs`, a whole
    /// number of hours (counted from the epoch, so days are UTC days): (bucket, answer,
    /// suspect, how many).
    pub async fn answers_over_time(
        &self,
        campaign: &str,
        bucket_secs: i64,
    ) -> Result<Vec<(i64, String, bool, i64)>> {
        self.fold(&HOURS, campaign).await?;
        Ok(sqlx::query_as(
            "SELECT hour * 3600 / $1 AS b, answer, suspect, sum(n)::BIGINT FROM campaign_answer_hours \
             WHERE campaign = $2 GROUP BY b, answer, suspect HAVING sum(n) <> 0 ORDER BY b",
        )
        .bind(bucket_secs.max(3600))
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Viewed, confirmed and left per wave name (not suspect, distinct contacts).
    pub async fn answers_by_wave(&self, campaign: &str) -> Result<Vec<(String, String, i64)>> {
        self.fold(&WAVE_ANSWERS, campaign).await?;
        self.rows(
            "SELECT wave, answer, sum(n)::BIGINT FROM campaign_wave_answers WHERE campaign = $1 \
             GROUP BY wave, answer HAVING sum(n) <> 0",
            campaign,
        )
        .await
    }

    /// The confirmation rate of a campaign split by the contacts' `by`.
    pub async fn rate_by(&self, campaign: &CampaignRow, by: RateBy) -> Result<Vec<RateRow>> {
        let column = match by {
            RateBy::Country => "c.country",
            RateBy::Locale => "c.locale",
            RateBy::Class => "d.class",
        };
        // A contact's confirmation is suspect only when every one of them was.
        let sql = format!(
            "WITH conf AS (SELECT contact_id, bool_and(suspect) AS suspect FROM ledger \
                           WHERE campaign = $2 AND event = 'confirmed' GROUP BY contact_id) \
             SELECT coalesce({column}, ''), count(*), \
                    count(*) FILTER (WHERE NOT conf.suspect), count(*) FILTER (WHERE conf.suspect) \
             FROM deliveries d JOIN contacts c ON c.id = d.contact_id \
             LEFT JOIN conf ON conf.contact_id = d.contact_id \
             WHERE d.campaign_id = $1 AND d.wave = 0 AND d.state = 'sent' \
             GROUP BY 1 ORDER BY 2 DESC, 1"
        );
        // `column` is one of the constants above, never user input.
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
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
             WHERE campaign_id = $1 AND state = 'bounced' GROUP BY 1 ORDER BY 2 DESC, 1",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The deletion queue of a campaign's contacts by day due.
    pub async fn deletion_calendar(&self, campaign_id: i64) -> Result<Vec<DueDay>> {
        let sql = format!(
            "SELECT q.due_at / 86400 AS day, {DUE_HELD} \
             FROM deletion_queue q JOIN contacts c ON c.id = q.contact_id \
             WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.campaign_id = $1 AND d.contact_id = q.contact_id) \
             GROUP BY day ORDER BY day"
        );
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(campaign_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(due_days(rows))
    }

    /// Of a campaign's silent contacts (as `queue_non_responders` counts them), those
    /// under legal hold: few, so this starts from them.
    pub async fn silent_held(&self, campaign_id: i64, launched_at: Instant) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM contacts c WHERE c.legal_hold \
               AND EXISTS (SELECT 1 FROM deliveries d WHERE d.contact_id = c.id \
                           AND d.campaign_id = $1 AND d.state = 'sent') \
               AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.contact_id = c.id \
                               AND l.event IN ('confirmed', 'left', 'withdrawn') AND l.at >= $2)",
        )
        .bind(campaign_id)
        .bind(launched_at.timestamp())
        .fetch_one(&self.pool)
        .await?)
    }

    /// The whole deletion queue by day due before `until`, legal holds apart; what is
    /// overdue counts on the day of `from`.
    pub async fn due_by_day(&self, from: Instant, until: Instant) -> Result<Vec<DueDay>> {
        let sql = format!(
            "SELECT greatest(q.due_at, $1) / 86400 AS day, {DUE_HELD} \
             FROM deletion_queue q JOIN contacts c ON c.id = q.contact_id \
             WHERE q.due_at < $2 GROUP BY day ORDER BY day"
        );
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(from.timestamp())
            .bind(until.timestamp())
            .fetch_all(&self.pool)
            .await?;
        Ok(due_days(rows))
    }

    /// Messages handed to the server since `since`, by campaign id.
    pub async fn sent_since(&self, since: Instant) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT campaign_id, count(*) FROM deliveries WHERE sent_at >= $1 GROUP BY campaign_id",
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
