//! Answers from the response server (SQLite): what a token leads to, and the writes a
//! view, a confirmation or a withdrawal makes — each in one transaction.

use super::queue::suppress;
use super::{COLUMNS, SqliteStore, stored_from_row};
use crate::domain::{ConsentRecord, Instant, from_unix};
use crate::effects::{Code, Effects};
use crate::store::{
    AnswerContext, AnswerWrite, Answered, LedgerEntry, Outcome, RequestDelivery, THANK_YOU_WAVE,
};
use anyhow::Result;
use sqlx::Row;

async fn insert_ledger(
    conn: &mut sqlx::SqliteConnection,
    contact_id: i64,
    e: &LedgerEntry,
) -> Result<()> {
    super::insert_ledger_rows(conn, &[(contact_id, e)]).await
}

/// Reminders still waiting for someone who has answered are never sent (the thank-you
/// is not a reminder).
async fn cancel_reminders(
    conn: &mut sqlx::SqliteConnection,
    contact_id: i64,
    campaign_id: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE deliveries SET state = 'cancelled', last_error = 'answered before this was sent' \
         WHERE contact_id = ? AND campaign_id = ? AND wave >= 0 AND state IN ('queued', 'retry')",
    )
    .bind(contact_id)
    .bind(campaign_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl SqliteStore {
    /// The contact and campaign a token names; `None` when either is gone or the
    /// contact was never part of the campaign.
    pub async fn answer_context(
        &self,
        campaign: &str,
        public_id: &str,
    ) -> Result<Option<AnswerContext>> {
        let Some(campaign) = self.campaign(campaign).await? else {
            return Ok(None);
        };
        let sql = format!("SELECT id, public_id, {COLUMNS} FROM contacts WHERE public_id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(public_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let contact = stored_from_row(&row)?;
        let rows = sqlx::query(
            "SELECT wave, state, message_id, content_sha256, sent_at FROM deliveries \
             WHERE campaign_id = ? AND contact_id = ? AND wave >= 0 ORDER BY wave DESC",
        )
        .bind(campaign.id)
        .bind(contact.id)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let delivery = rows
            .iter()
            .find(|r| {
                matches!(
                    r.try_get::<String, _>("state").as_deref(),
                    Ok("sent" | "unknown")
                )
            })
            .map(|r| -> Result<RequestDelivery> {
                Ok(RequestDelivery {
                    wave: r.try_get("wave")?,
                    message_id: r.try_get("message_id")?,
                    content_sha256: r.try_get("content_sha256")?,
                    sent_at: r.try_get::<Option<i64>, _>("sent_at")?.map(from_unix),
                })
            })
            .transpose()?;
        Ok(Some(AnswerContext {
            contact,
            campaign,
            delivery,
        }))
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
             (SELECT id FROM deliveries WHERE campaign_id = ? AND contact_id = ? AND wave >= 0 \
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

    /// An answer, decided and written in one write transaction: the contact's consent is
    /// read inside it and handed to `decide`, so racing clicks are applied one after the
    /// other and each writes only the effects `decide` returns for the consent as it is.
    pub async fn record_answer(
        &self,
        w: &AnswerWrite<'_>,
        decide: impl FnOnce(&ConsentRecord) -> Effects,
    ) -> Result<Answered> {
        let mut tx = self.writer.begin().await?;
        let sql = format!("SELECT id, public_id, {COLUMNS} FROM contacts WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(w.contact_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            // Erased by a purge between the page and the button.
            return Ok(Answered {
                outcome: Outcome::Gone,
                code: None,
            });
        };
        let stored = stored_from_row(&row)?;
        let effects = decide(&stored.contact.consent);
        let code = apply(&mut tx, w, &effects, self.webhooks).await?;
        tx.commit().await?;
        Ok(Answered {
            outcome: if effects.changes_anything() {
                Outcome::Changed
            } else {
                Outcome::Unchanged
            },
            code,
        })
    }
}

/// Writes an answer's effects. A consent given after a withdrawal stands; the thank-you
/// delivery and the bonus code are once per contact and campaign, however often the
/// consent comes back.
async fn apply(
    conn: &mut sqlx::SqliteConnection,
    w: &AnswerWrite<'_>,
    e: &Effects,
    webhooks: bool,
) -> Result<Option<String>> {
    if e.give_consent {
        let Some(consent) = w.consent else {
            anyhow::bail!("a confirmation without the consent to record");
        };
        sqlx::query(
            "UPDATE contacts SET consent_at = ?, consent_method = 'reconsent', consent_prechecked = 0, \
             consent_bundled = 0, consent_text_version = ?, consent_ip = ?, consent_source = ?, \
             consent_withdrawn_at = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(consent.at.timestamp())
        .bind(&consent.text_version)
        .bind(&consent.ip)
        .bind(&consent.source)
        .bind(consent.at.timestamp())
        .bind(w.contact_id)
        .execute(&mut *conn)
        .await?;
    }
    if e.ledger {
        insert_ledger(conn, w.contact_id, w.entry).await?;
    }
    if e.withdraw_consent {
        sqlx::query("UPDATE contacts SET consent_withdrawn_at = ?, updated_at = ? WHERE id = ?")
            .bind(w.at.timestamp())
            .bind(w.at.timestamp())
            .bind(w.contact_id)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(reason) = e.lift_suppression {
        sqlx::query("DELETE FROM suppressions WHERE contact_id = ? AND reason = ?")
            .bind(w.contact_id)
            .bind(reason.as_str())
            .execute(&mut *conn)
            .await?;
    }
    if let Some(reason) = e.suppress {
        suppress(conn, w.contact_id, reason.as_str(), w.at, w.at).await?;
    }
    if e.cancel_deletion {
        sqlx::query("DELETE FROM deletion_queue WHERE contact_id = ?")
            .bind(w.contact_id)
            .execute(&mut *conn)
            .await?;
    }
    if e.cancel_reminders {
        cancel_reminders(conn, w.contact_id, w.campaign_id).await?;
    }
    if e.cancel_thank_you {
        sqlx::query(
            "UPDATE deliveries SET state = 'cancelled', last_error = 'left before this was sent' \
             WHERE contact_id = ? AND campaign_id = ? AND wave = ? AND state IN ('queued', 'retry')",
        )
        .bind(w.contact_id)
        .bind(w.campaign_id)
        .bind(THANK_YOU_WAVE)
        .execute(&mut *conn)
        .await?;
    }
    if e.queue_thank_you {
        sqlx::query(
            "INSERT INTO deliveries (campaign_id, contact_id, wave, due_at) VALUES (?, ?, ?, ?) \
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
async fn contact_event(
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
    let mut data = super::webhooks::about(&public_id, &email, external_id.as_deref());
    data.insert("campaign".into(), campaign.into());
    data.insert("at".into(), at.to_rfc3339().into());
    super::webhooks::enqueue(conn, event, &public_id, data.into(), at).await
}
