//! The counts behind `campaign status` (PostgreSQL): deliveries by wave and state, why
//! messages were cancelled or failed, and the answers recorded. Deliveries and answers
//! are read from the counters the triggers of `migrations/postgres` keep — rows of
//! changes, summed here and now and then folded into one row per group — not counted
//! anew; [`PgStore::recount`] counts the rows, to check the counters against.

use super::PgStore;
use crate::domain::DeliveryState;
use crate::store::{AnswerCounts, CampaignRow, Counters};
use anyhow::Result;
use std::collections::BTreeMap;

/// Rows of changes a campaign's counter table may gather before a read folds them.
const FOLD_AFTER: i64 = 512;

/// A counter table: its name, the column naming the campaign, and the grouping columns.
pub(super) struct Counter {
    table: &'static str,
    key: &'static str,
    groups: &'static str,
}

pub(super) const DELIVERIES: Counter = Counter {
    table: "campaign_counts",
    key: "campaign_id",
    groups: "wave, state",
};
pub(super) const ANSWERS: Counter = Counter {
    table: "campaign_answers",
    key: "campaign",
    groups: "answer, suspect",
};
pub(super) const WAVE_ANSWERS: Counter = Counter {
    table: "campaign_wave_answers",
    key: "campaign",
    groups: "wave, answer",
};
pub(super) const HOURS: Counter = Counter {
    table: "campaign_answer_hours",
    key: "campaign",
    groups: "hour, answer, suspect",
};

impl Counter {
    /// The groups and their sums for one campaign (`$1`), the empty ones left out.
    fn read(&self) -> String {
        let Counter { table, key, groups } = self;
        format!(
            "SELECT {groups}, sum(n)::BIGINT FROM {table} WHERE {key} = $1 \
             GROUP BY {groups} HAVING sum(n) <> 0"
        )
    }
}

impl PgStore {
    /// Folds a campaign's rows of changes into one per group once there are many. Rows
    /// written meanwhile by other transactions are not seen by the delete and stay.
    pub(super) async fn fold<K>(&self, counter: &Counter, campaign: K) -> Result<()>
    where
        K: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Copy,
    {
        let Counter { table, key, groups } = counter;
        // Table and column names are the constants above, never user input.
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE {key} = $1"
        )))
        .bind(campaign)
        .fetch_one(&self.pool)
        .await?;
        if rows <= FOLD_AFTER {
            return Ok(());
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH gone AS (DELETE FROM {table} WHERE {key} = $1 RETURNING {groups}, n) \
             INSERT INTO {table} ({key}, {groups}, n) \
             SELECT $1, {groups}, sum(n) FROM gone GROUP BY {groups} HAVING sum(n) <> 0"
        )))
        .bind(campaign)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Delivery counts by wave and state.
    pub async fn delivery_counts(
        &self,
        campaign_id: i64,
    ) -> Result<BTreeMap<(i64, DeliveryState), i64>> {
        self.fold(&DELIVERIES, campaign_id).await?;
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(DELIVERIES.read()))
            .bind(campaign_id)
            .fetch_all(&self.pool)
            .await?;
        by_state(rows)
    }

    /// Why messages of a campaign were cancelled or failed, by state and reason, with
    /// how many each (thank-you mails apart); the server's words for failures.
    pub async fn outcome_reasons(
        &self,
        campaign_id: i64,
    ) -> Result<BTreeMap<String, BTreeMap<String, i64>>> {
        let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT state, last_error, count(*) FROM deliveries \
             WHERE campaign_id = $1 AND state IN ('cancelled', 'failed') AND wave >= 0 \
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

    pub async fn answer_counts(&self, campaign: &CampaignRow) -> Result<AnswerCounts> {
        let name = campaign.name.as_str();
        self.fold(&ANSWERS, name).await?;
        let rows: Vec<(String, bool, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(ANSWERS.read()))
            .bind(name)
            .fetch_all(&self.pool)
            .await?;
        let mut by_event: BTreeMap<(String, bool), i64> =
            rows.into_iter().map(|(e, s, n)| ((e, s), n)).collect();
        let answered = by_event.remove(&("answered".into(), false)).unwrap_or(0);
        let queued_for_deletion: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM deletion_queue q WHERE EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.campaign_id = $1 AND d.contact_id = q.contact_id)",
        )
        .bind(campaign.id)
        .fetch_one(&self.pool)
        .await?;
        let purged: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT l.contact_id) FROM ledger l WHERE l.event = 'erased' AND EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.campaign_id = $1 AND d.contact_id = l.contact_id)",
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

impl PgStore {
    /// The counters of a campaign beside the same figures counted from its deliveries
    /// and the ledger: (kept, counted). They agree unless a counter went wrong. Both are
    /// read from one snapshot: a sender claiming between two reads is no mismatch.
    pub async fn recount(&self, campaign: &CampaignRow) -> Result<(Counters, Counters)> {
        let (id, name) = (campaign.id, campaign.name.as_str());
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let kept = Counters {
            deliveries: by_state(rows(&mut tx, &DELIVERIES.read(), id).await?)?,
            answers: pairs(rows(&mut tx, &ANSWERS.read(), name).await?),
            wave_answers: waves(rows(&mut tx, &WAVE_ANSWERS.read(), name).await?),
            hours: hours(rows(&mut tx, &HOURS.read(), name).await?),
        };
        let mut answers = pairs(rows(&mut tx, &format!(
            "SELECT {ANSWER} AS answer, suspect, count(DISTINCT contact_id) FROM ledger \
             WHERE campaign = $1 AND event IN ('viewed', 'confirmed', 'left', 'withdrawn') GROUP BY 1, 2"
        ), name).await?);
        let answered: Vec<(i64,)> = rows(
            &mut tx,
            "SELECT count(DISTINCT contact_id) FROM ledger \
             WHERE campaign = $1 AND event IN ('confirmed', 'left', 'withdrawn')",
            name,
        )
        .await?;
        let answered = answered.first().map_or(0, |(n,)| *n);
        if answered > 0 {
            answers.insert(("answered".into(), false), answered);
        }
        let counted = Counters {
            deliveries: by_state(rows(&mut tx,
                "SELECT wave, state, count(*) FROM deliveries WHERE campaign_id = $1 GROUP BY wave, state",
                id).await?)?,
            answers,
            wave_answers: waves(rows(&mut tx, &format!(
                "SELECT coalesce(wave, ''), {ANSWER} AS answer, count(DISTINCT contact_id) FROM ledger \
                 WHERE campaign = $1 AND event IN ('viewed', 'confirmed', 'left', 'withdrawn') \
                 AND NOT suspect GROUP BY 1, 2"
            ), name).await?),
            hours: hours(rows(&mut tx, &format!(
                "SELECT at / 3600 AS hour, {ANSWER} AS answer, suspect, count(*) FROM ledger \
                 WHERE campaign = $1 AND event IN ('confirmed', 'left', 'withdrawn') GROUP BY 1, 2, 3"
            ), name).await?),
        };
        tx.commit().await?;
        Ok((kept, counted))
    }

    pub(super) async fn rows<T>(&self, sql: &str, campaign: &str) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        let mut conn = self.pool.acquire().await?;
        rows(&mut conn, sql, campaign).await
    }
}

async fn rows<T, A>(conn: &mut sqlx::PgConnection, sql: &str, arg: A) -> Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    A: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
{
    // Each caller's SQL is a constant of this module or of `insight`, never user input.
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

fn pairs(rows: Vec<(String, bool, i64)>) -> BTreeMap<(String, bool), i64> {
    rows.into_iter().map(|(a, s, n)| ((a, s), n)).collect()
}

fn waves(rows: Vec<(String, String, i64)>) -> BTreeMap<(String, String), i64> {
    rows.into_iter().map(|(w, a, n)| ((w, a), n)).collect()
}

fn hours(rows: Vec<(i64, String, bool, i64)>) -> BTreeMap<(i64, String, bool), i64> {
    rows.into_iter()
        .map(|(h, a, s, n)| ((h, a, s), n))
        .collect()
}
