//! Answers from the response server (PostgreSQL): what a token leads to, and the writes
//! a view, a confirmation or a withdrawal makes — each in one transaction that holds the
//! contact's row lock, so racing clicks (on any machine) are applied one after the other.

use super::PgStore;
use super::contacts::{COLUMNS, columns_of, insert_ledger_rows, stored_from_row};
use super::queue::suppress;
use crate::domain::Instant;
use crate::effects::{Code, Effects};
use crate::store::answer_rows::{self, CAMPAIGN_COLUMNS, REQUEST_COLUMNS};
use crate::store::{
    AnswerContext, AnswerJob, AnswerWrite, Answered, LedgerEntry, Outcome, THANK_YOU_WAVE,
};
use anyhow::Result;
use sqlx::PgConnection;

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

    /// Answers, decided and written in one transaction: each contact's consent is read
    /// under its row lock and handed to the answer's rule, so racing clicks (on any
    /// machine) are applied one after the other and each writes only the effects its rule
    /// returns for the consent as it is. The rows are locked in contact order (one
    /// contact's answers keep theirs), so two servers' groups cannot deadlock.
    pub async fn record_answers(&self, jobs: &[AnswerJob]) -> Result<Vec<Answered>> {
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|&i| jobs[i].contact_id);
        let mut out: Vec<Option<Answered>> = vec![None; jobs.len()];
        let mut tx = self.pool.begin().await?;
        for i in order {
            out[i] = Some(answer(&mut tx, &jobs[i], self.webhooks).await?);
        }
        tx.commit().await?;
        Ok(out.into_iter().flatten().collect())
    }
}

async fn answer(conn: &mut PgConnection, job: &AnswerJob, webhooks: bool) -> Result<Answered> {
    let sql = format!("SELECT id, public_id, {COLUMNS} FROM contacts WHERE id = $1 FOR UPDATE");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(job.contact_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        // Erased by a purge between the page and the button.
        return Ok(Answered {
            outcome: Outcome::Gone,
            code: None,
        });
    };
    let stored = stored_from_row(&row)?;
    let effects = (job.decide)(&stored.contact.consent);
    let code = apply(conn, &job.write(), &effects, webhooks).await?;
    Ok(Answered {
        outcome: if effects.changes_anything() {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        },
        code,
    })
}

/// Takes the contact's row lock; `false` when the contact is gone.
async fn lock_contact(conn: &mut PgConnection, contact_id: i64) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM contacts WHERE id = $1 FOR UPDATE")
        .bind(contact_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(found.is_some())
}

/// Writes an answer's effects. A consent given after a withdrawal stands; the thank-you
/// delivery and the bonus code are once per contact and campaign, however often the
/// consent comes back.
async fn apply(
    conn: &mut PgConnection,
    w: &AnswerWrite<'_>,
    e: &Effects,
    webhooks: bool,
) -> Result<Option<String>> {
    if e.give_consent {
        let Some(consent) = w.consent else {
            anyhow::bail!("a confirmation without the consent to record");
        };
        sqlx::query(
            "UPDATE contacts SET consent_at = $1, consent_method = 'reconsent', consent_prechecked = false, \
             consent_bundled = false, consent_text_version = $2, consent_ip = $3, consent_source = $4, \
             consent_withdrawn_at = NULL, updated_at = $1 WHERE id = $5",
        )
        .bind(consent.at.timestamp())
        .bind(&consent.text_version)
        .bind(&consent.ip)
        .bind(&consent.source)
        .bind(w.contact_id)
        .execute(&mut *conn)
        .await?;
    }
    if e.ledger {
        insert_ledger_rows(conn, &[(w.contact_id, w.entry)]).await?;
    }
    if e.withdraw_consent {
        sqlx::query("UPDATE contacts SET consent_withdrawn_at = $1, updated_at = $1 WHERE id = $2")
            .bind(w.at.timestamp())
            .bind(w.contact_id)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(reason) = e.lift_suppression {
        sqlx::query("DELETE FROM suppressions WHERE contact_id = $1 AND reason = $2")
            .bind(w.contact_id)
            .bind(reason.as_str())
            .execute(&mut *conn)
            .await?;
    }
    if let Some(reason) = e.suppress {
        suppress(conn, w.contact_id, reason.as_str(), w.at, w.at).await?;
    }
    if e.cancel_deletion {
        sqlx::query("DELETE FROM deletion_queue WHERE contact_id = $1")
            .bind(w.contact_id)
            .execute(&mut *conn)
            .await?;
    }
    // Reminders still waiting for someone who has answered are never sent (the
    // thank-you is not a reminder).
    if e.cancel_reminders {
        sqlx::query(
            "UPDATE deliveries SET state = 'cancelled', last_error = 'answered before this was sent' \
             WHERE contact_id = $1 AND campaign_id = $2 AND wave >= 0 AND state IN ('queued', 'retry')",
        )
        .bind(w.contact_id)
        .bind(w.campaign_id)
        .execute(&mut *conn)
        .await?;
    }
    if e.cancel_thank_you {
        sqlx::query(
            "UPDATE deliveries SET state = 'cancelled', last_error = 'left before this was sent' \
             WHERE contact_id = $1 AND campaign_id = $2 AND wave = $3 AND state IN ('queued', 'retry')",
        )
        .bind(w.contact_id)
        .bind(w.campaign_id)
        .bind(THANK_YOU_WAVE)
        .execute(&mut *conn)
        .await?;
    }
    if e.queue_thank_you {
        sqlx::query(
            "INSERT INTO deliveries (campaign_id, contact_id, wave, due_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(w.campaign_id)
        .bind(w.contact_id)
        .bind(THANK_YOU_WAVE)
        .bind(w.at.timestamp())
        .execute(&mut *conn)
        .await?;
    }
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
