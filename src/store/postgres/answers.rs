//! Answers from the response server (PostgreSQL): what a token leads to, and the writes
//! a view, a confirmation or a withdrawal makes — each in one transaction that holds the
//! contact's row lock, so racing clicks (on any machine) are applied one after the other.

use super::PgStore;
use super::contacts::{COLUMNS, columns_of, insert_ledger_rows, stored_from_row};
use crate::domain::Instant;
use crate::effects::{Code, Effects};
use crate::store::answer_rows::{self, CAMPAIGN_COLUMNS, REQUEST_COLUMNS};
use crate::store::{
    AnswerContext, AnswerJob, AnswerWrite, Answered, Decided, LedgerEntry, THANK_YOU_WAVE,
    answer_rounds,
};
use anyhow::Result;
use sqlx::PgConnection;
use std::collections::HashMap;

impl PgStore {
    /// The contact and campaign a token names; `None` when either is gone or the
    /// contact was never part of the campaign. One statement, one round trip.
    pub async fn answer_context(
        &self,
        campaign: &str,
        public_id: &str,
    ) -> Result<Option<AnswerContext>> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT {CAMPAIGN_COLUMNS}, c.id, c.public_id, {}, {REQUEST_COLUMNS} \
                 FROM campaigns k JOIN contacts c ON c.public_id = $1 \
                 JOIN deliveries d ON d.campaign_id = k.id AND d.contact_id = c.id AND d.wave >= 0 \
                 WHERE k.name = $2 ORDER BY d.wave DESC",
                columns_of("c")
            )
        });
        let rows = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
            .bind(public_id)
            .bind(campaign)
            .fetch_all(&self.pool)
            .await?;
        answer_rows::answer_context(&rows, stored_from_row)
    }

    /// A page view. Only the first view of a wave is written to the ledger: scanners
    /// reload links in loops, and every further view only counts on the delivery row.
    /// `true` when this view was written to the ledger.
    pub async fn record_view(
        &self,
        contact_id: i64,
        campaign_id: i64,
        entry: &LedgerEntry,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        // The counters count a contact's first view once: its answers are written one
        // at a time (see `campaign_answers_insert`).
        if !lock_contact(&mut tx, contact_id).await? {
            tx.commit().await?;
            return Ok(false);
        }
        let views: Option<i64> = sqlx::query_scalar(
            "UPDATE deliveries SET views = views + 1 WHERE id = \
             (SELECT id FROM deliveries WHERE campaign_id = $1 AND contact_id = $2 AND wave >= 0 \
              ORDER BY state IN ('sent', 'unknown') DESC, wave DESC LIMIT 1) RETURNING views",
        )
        .bind(campaign_id)
        .bind(contact_id)
        .fetch_optional(&mut *tx)
        .await?;
        let first = views.is_none_or(|n| n == 1);
        if first {
            insert_ledger_rows(&mut tx, &[(contact_id, entry)]).await?;
        }
        tx.commit().await?;
        Ok(first)
    }

    /// Answers, decided and written in one transaction, in the order given as if one
    /// after the other: each contact's consent is read under its row lock and handed to
    /// the answer's rule, so racing clicks (on any machine) are applied in turn and each
    /// writes only the effects its rule returns for the consent as it is. Answers that
    /// arrive together share the transaction and its statements: per answer, each
    /// statement would be a round trip to the server.
    pub async fn record_answers(&self, jobs: &[AnswerJob]) -> Result<Vec<Answered>> {
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(jobs.len());
        for round in answer_rounds(jobs) {
            out.extend(answer_round(&mut tx, round, self.webhooks).await?);
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// Answers of distinct contacts: their rows locked in id order (two servers' groups
/// cannot deadlock) and their consents read in one statement, decided, written.
async fn answer_round(
    conn: &mut PgConnection,
    jobs: &[AnswerJob],
    webhooks: bool,
) -> Result<Vec<Answered>> {
    let ids: Vec<i64> = jobs.iter().map(|j| j.contact_id).collect();
    let sql = format!(
        "SELECT id, public_id, {COLUMNS} FROM contacts WHERE id = ANY($1) ORDER BY id FOR UPDATE"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    let mut consents = HashMap::with_capacity(rows.len());
    for row in &rows {
        let stored = stored_from_row(row)?;
        consents.insert(stored.id, stored.contact.consent);
    }
    let round = Decided::new(jobs, &consents);
    insert_ledger_rows(conn, &round.ledger()).await?;
    let lists = round.lists()?;
    if !lists.is_empty() {
        let [
            give,
            withdraw,
            lift,
            suppress,
            undelete,
            reminders,
            thanks,
            thank,
        ] = lists.texts();
        sqlx::query(APPLY_ALL)
            .bind(give)
            .bind(withdraw)
            .bind(lift)
            .bind(suppress)
            .bind(undelete)
            .bind(reminders)
            .bind(thanks)
            .bind(thank)
            .bind(THANK_YOU_WAVE)
            .execute(&mut *conn)
            .await?;
    }
    let mut out = Vec::with_capacity(jobs.len());
    for (job, effects) in round.each() {
        let code = match effects {
            Some(e) => apply_one(conn, &job.write(), e, webhooks).await?,
            None => None,
        };
        out.push(Answered::of(effects, code));
    }
    Ok(out)
}

/// The effects every answer of a round may have, one statement over all of them (an
/// empty list writes nothing). A consent given after a withdrawal stands; the thank-you
/// delivery is once per contact and campaign, however often the consent comes back.
/// The parts of a statement see one snapshot, which is enough: no two answers of a
/// round touch the same contact, and no answer both adds and removes the same row.
/// Both cancellations are one `UPDATE`, so the counters' trigger sees one set of rows.
const APPLY_ALL: &str = "\
WITH give AS (
  UPDATE contacts c SET consent_at = (j ->> 1)::bigint, consent_method = 'reconsent',
    consent_prechecked = false, consent_bundled = false, consent_text_version = j ->> 2,
    consent_ip = j ->> 3, consent_source = j ->> 4, consent_withdrawn_at = NULL,
    updated_at = (j ->> 1)::bigint
  FROM jsonb_array_elements($1::jsonb) j WHERE c.id = (j ->> 0)::bigint RETURNING 1),
withdraw AS (
  UPDATE contacts c SET consent_withdrawn_at = (j ->> 1)::bigint, updated_at = (j ->> 1)::bigint
  FROM jsonb_array_elements($2::jsonb) j WHERE c.id = (j ->> 0)::bigint RETURNING 1),
lift AS (
  DELETE FROM suppressions s USING jsonb_array_elements($3::jsonb) j
  WHERE s.contact_id = (j ->> 0)::bigint AND s.reason = j ->> 1 RETURNING 1),
suppress AS (
  INSERT INTO suppressions (contact_id, reason, at)
  SELECT (j ->> 0)::bigint, j ->> 1, (j ->> 2)::bigint FROM jsonb_array_elements($4::jsonb) j
  ON CONFLICT DO NOTHING RETURNING 1),
queue AS (
  INSERT INTO deletion_queue (contact_id, reason, queued_at, due_at)
  SELECT (j ->> 0)::bigint, j ->> 1, (j ->> 2)::bigint, (j ->> 2)::bigint
  FROM jsonb_array_elements($4::jsonb) j
  ON CONFLICT DO NOTHING RETURNING 1),
undelete AS (
  DELETE FROM deletion_queue q USING jsonb_array_elements($5::jsonb) j
  WHERE q.contact_id = (j #>> '{}')::bigint RETURNING 1),
cancel AS (
  UPDATE deliveries d SET state = 'cancelled', last_error = x.why
  FROM (SELECT (j ->> 0)::bigint AS contact_id, (j ->> 1)::bigint AS campaign_id, false AS thanks,
               'answered before this was sent' AS why FROM jsonb_array_elements($6::jsonb) j
        UNION ALL
        SELECT (j ->> 0)::bigint, (j ->> 1)::bigint, true, 'left before this was sent'
        FROM jsonb_array_elements($7::jsonb) j) x
  WHERE d.contact_id = x.contact_id AND d.campaign_id = x.campaign_id
    AND CASE WHEN x.thanks THEN d.wave = $9 ELSE d.wave >= 0 END
    AND d.state IN ('queued', 'retry') RETURNING 1),
thank AS (
  INSERT INTO deliveries (campaign_id, contact_id, wave, due_at)
  SELECT (j ->> 0)::bigint, (j ->> 1)::bigint, $9, (j ->> 2)::bigint
  FROM jsonb_array_elements($8::jsonb) j
  ON CONFLICT DO NOTHING RETURNING 1)
SELECT 1";

/// Takes the contact's row lock; `false` when the contact is gone.
async fn lock_contact(conn: &mut PgConnection, contact_id: i64) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM contacts WHERE id = $1 FOR UPDATE")
        .bind(contact_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(found.is_some())
}

/// What only some answers write, one at a time: the bonus code, the shop's events.
async fn apply_one(
    conn: &mut PgConnection,
    w: &AnswerWrite<'_>,
    e: &Effects,
    webhooks: bool,
) -> Result<Option<String>> {
    let code = match e.code {
        Code::None => None,
        Code::Show => drawn(conn, w.campaign_id, w.contact_id).await?,
        Code::Draw => draw(conn, w.campaign_id, w.contact_id, w.at).await?,
    };
    if webhooks {
        if let Some(event) = e.webhook {
            contact_event(conn, event, w.contact_id, w.campaign_id, w.at).await?;
        }
        if e.webhook_queued {
            super::webhooks::enqueue_contact_queued(conn, w.contact_id, w.at).await?;
        }
    }
    Ok(code)
}

/// The code drawn for the contact before, if any.
async fn drawn(
    conn: &mut PgConnection,
    campaign_id: i64,
    contact_id: i64,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT code FROM bonus_codes WHERE campaign_id = $1 AND contact_id = $2",
    )
    .bind(campaign_id)
    .bind(contact_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The contact's code: the one drawn before, else a free one now (skipping codes that
/// another contact's transaction is drawing); `None` when the pool is exhausted.
async fn draw(
    conn: &mut PgConnection,
    campaign_id: i64,
    contact_id: i64,
    now: Instant,
) -> Result<Option<String>> {
    if let Some(code) = drawn(conn, campaign_id, contact_id).await? {
        return Ok(Some(code));
    }
    Ok(sqlx::query_scalar(
        "UPDATE bonus_codes SET contact_id = $1, drawn_at = $2 WHERE (campaign_id, code) = \
         (SELECT campaign_id, code FROM bonus_codes WHERE campaign_id = $3 AND contact_id IS NULL \
          ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING code",
    )
    .bind(contact_id)
    .bind(now.timestamp())
    .bind(campaign_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// `contact.confirmed` / `contact.left` for the shop, in the answer's transaction.
async fn contact_event(
    conn: &mut PgConnection,
    event: &str,
    contact_id: i64,
    campaign_id: i64,
    at: Instant,
) -> Result<()> {
    let (public_id, email, external_id, campaign): (String, String, Option<String>, String) =
        sqlx::query_as(
            "SELECT c.public_id, c.email, c.external_id, (SELECT name FROM campaigns WHERE id = $1) \
             FROM contacts c WHERE c.id = $2",
        )
        .bind(campaign_id)
        .bind(contact_id)
        .fetch_one(&mut *conn)
        .await?;
    let mut data = crate::store::records::about(&public_id, &email, external_id.as_deref());
    data.insert("campaign".into(), campaign.into());
    data.insert("at".into(), at.to_rfc3339().into());
    super::webhooks::enqueue(conn, event, &public_id, data.into(), at).await
}
