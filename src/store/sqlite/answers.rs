//! Answers from the response server (SQLite): what a token leads to, and the writes a
//! view, a confirmation or a withdrawal makes — each in one transaction.

use super::{COLUMNS, SqliteStore, stored_from_row};
use crate::domain::Instant;
use crate::effects::{Code, Effects};
use crate::store::answer_rows::{self, CAMPAIGN_COLUMNS, REQUEST_COLUMNS};
use crate::store::{
    AnswerContext, AnswerJob, AnswerWrite, Answered, Decided, EffectLists, LedgerEntry,
    THANK_YOU_WAVE, answer_rounds,
};
use anyhow::Result;
use std::collections::HashMap;

async fn insert_ledger(
    conn: &mut sqlx::SqliteConnection,
    contact_id: i64,
    e: &LedgerEntry,
) -> Result<()> {
    super::insert_ledger_rows(conn, &[(contact_id, e)]).await
}

impl SqliteStore {
    /// The contact and campaign a token names; `None` when either is gone or the
    /// contact was never part of the campaign. One statement: on the answer path each
    /// statement is a hand-off to a database thread and back.
    pub async fn answer_context(
        &self,
        campaign: &str,
        public_id: &str,
    ) -> Result<Option<AnswerContext>> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let contact = COLUMNS
                .split(", ")
                .map(|c| format!("c.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            // `+campaign_id`: without it SQLite walks the funnel index over the whole
            // campaign (every delivery of it, per answer) instead of the contact's few.
            format!(
                "SELECT {CAMPAIGN_COLUMNS}, c.id, c.public_id, {contact}, {REQUEST_COLUMNS} \
                 FROM campaigns k JOIN contacts c ON c.public_id = ? \
                 JOIN deliveries d ON +d.campaign_id = k.id AND d.contact_id = c.id AND d.wave >= 0 \
                 WHERE k.name = ? ORDER BY d.wave DESC"
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
        let mut tx = self.writer.begin().await?;
        let views: Option<i64> = sqlx::query_scalar(
            "UPDATE deliveries SET views = views + 1 WHERE id = \
             (SELECT id FROM deliveries WHERE +campaign_id = ? AND contact_id = ? AND wave >= 0 \
              ORDER BY state IN ('sent', 'unknown') DESC, wave DESC LIMIT 1) RETURNING views",
        )
        .bind(campaign_id)
        .bind(contact_id)
        .fetch_optional(&mut *tx)
        .await?;
        // The request the answer context names (the latest sent), else the latest of any
        // fate: a link always comes from some delivery, whose count keeps the ledger short.
        let first = views.is_none_or(|n| n == 1);
        if first {
            insert_ledger(&mut tx, contact_id, entry).await?;
        }
        tx.commit().await?;
        Ok(first)
    }

    /// Answers, decided and written in one write transaction, in the order given as if
    /// one after the other: each contact's consent is read inside it and handed to the
    /// answer's rule, so racing clicks are applied in turn and each writes only the
    /// effects its rule returns for the consent as it is. Answers that arrive together
    /// share the transaction and its statements (each statement takes them all): per
    /// answer, a statement costs a hand-off to the database thread and back, which is
    /// what a confirmation's time went to.
    pub async fn record_answers(&self, jobs: &[AnswerJob]) -> Result<Vec<Answered>> {
        let mut tx = self.writer.begin().await?;
        let mut out = Vec::with_capacity(jobs.len());
        for round in answer_rounds(jobs) {
            out.extend(answer_round(&mut tx, round, self.webhooks).await?);
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// Answers of distinct contacts: their consents read in one statement, decided, written.
async fn answer_round(
    conn: &mut sqlx::SqliteConnection,
    jobs: &[AnswerJob],
    webhooks: bool,
) -> Result<Vec<Answered>> {
    let ids: Vec<i64> = jobs.iter().map(|j| j.contact_id).collect();
    let sql = format!(
        "SELECT id, public_id, {COLUMNS} FROM contacts WHERE id IN (SELECT value FROM json_each(?))"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(serde_json::to_string(&ids)?)
        .fetch_all(&mut *conn)
        .await?;
    let mut consents = HashMap::with_capacity(rows.len());
    for row in &rows {
        let stored = stored_from_row(row)?;
        consents.insert(stored.id, stored.contact.consent);
    }
    let round = Decided::new(jobs, &consents);
    let entries = round.ledger();
    if !entries.is_empty() {
        super::insert_ledger_rows(conn, &entries).await?;
    }
    apply_all(conn, round.lists()?).await?;
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

/// The effects every answer of a round may have, each statement over all of them (an
/// empty list writes nothing). A consent given after a withdrawal stands; the thank-you
/// delivery is once per contact and campaign, however often the consent comes back.
/// The statements run in the order one answer's effects must: no two answers of a round
/// touch the same contact.
const APPLY_ALL: &str = "\
UPDATE contacts SET consent_at = j.value ->> 1, consent_method = 'reconsent', \
  consent_prechecked = 0, consent_bundled = 0, consent_text_version = j.value ->> 2, \
  consent_ip = j.value ->> 3, consent_source = j.value ->> 4, consent_withdrawn_at = NULL, \
  updated_at = j.value ->> 1 \
  FROM json_each(?) j WHERE contacts.id = j.value ->> 0; \
UPDATE contacts SET consent_withdrawn_at = j.value ->> 1, updated_at = j.value ->> 1 \
  FROM json_each(?) j WHERE contacts.id = j.value ->> 0; \
DELETE FROM suppressions WHERE (contact_id, reason) IN \
  (SELECT value ->> 0, value ->> 1 FROM json_each(?)); \
INSERT INTO suppressions (contact_id, reason, at) \
  SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?) WHERE true \
  ON CONFLICT DO NOTHING; \
INSERT INTO deletion_queue (contact_id, reason, queued_at, due_at) \
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 2 FROM json_each(?) WHERE true \
  ON CONFLICT DO NOTHING; \
DELETE FROM deletion_queue WHERE contact_id IN (SELECT value FROM json_each(?)); \
UPDATE deliveries SET state = 'cancelled', last_error = 'answered before this was sent' \
  WHERE id IN (SELECT d.id FROM json_each(?) j JOIN deliveries d \
    ON d.contact_id = j.value ->> 0 AND +d.campaign_id = j.value ->> 1 \
    WHERE d.wave >= 0 AND d.state IN ('queued', 'retry')); \
UPDATE deliveries SET state = 'cancelled', last_error = 'left before this was sent' \
  WHERE id IN (SELECT d.id FROM json_each(?) j JOIN deliveries d \
    ON d.contact_id = j.value ->> 0 AND +d.campaign_id = j.value ->> 1 \
    WHERE d.wave = ? AND d.state IN ('queued', 'retry')); \
INSERT INTO deliveries (campaign_id, contact_id, wave, due_at) \
  SELECT value ->> 0, value ->> 1, ?, value ->> 2 FROM json_each(?) WHERE true \
  ON CONFLICT DO NOTHING;";

async fn apply_all(conn: &mut sqlx::SqliteConnection, lists: EffectLists) -> Result<()> {
    if lists.is_empty() {
        return Ok(());
    }
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
        .bind(&suppress)
        .bind(suppress)
        .bind(undelete)
        .bind(reminders)
        .bind(thanks)
        .bind(THANK_YOU_WAVE)
        .bind(THANK_YOU_WAVE)
        .bind(thank)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What only some answers write, one at a time: the bonus code, the shop's events.
async fn apply_one(
    conn: &mut sqlx::SqliteConnection,
    w: &AnswerWrite<'_>,
    e: &Effects,
    webhooks: bool,
) -> Result<Option<String>> {
    let code = match e.code {
        Code::None => None,
        Code::Show => super::bonus::drawn(conn, w.campaign_id, w.contact_id).await?,
        Code::Draw => super::bonus::draw(conn, w.campaign_id, w.contact_id, w.at).await?,
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

/// `contact.confirmed` / `contact.left` for the shop, in the answer's transaction.
pub(super) async fn contact_event(
    conn: &mut sqlx::SqliteConnection,
    event: &str,
    contact_id: i64,
    campaign_id: i64,
    at: Instant,
) -> Result<()> {
    let (public_id, email, external_id, campaign): (String, String, Option<String>, String) =
        sqlx::query_as(
            "SELECT c.public_id, c.email, c.external_id, (SELECT name FROM campaigns WHERE id = ?) \
             FROM contacts c WHERE c.id = ?",
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
