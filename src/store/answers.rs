//! Answers from the response server (SQLite): what a token leads to, and the writes a
//! view, a confirmation or a withdrawal makes — each in one transaction.

use super::queue::{CampaignRow, suppress};
use super::sqlite::{COLUMNS, SqliteStore, stored_from_row};
use super::{LedgerEntry, StoredContact};
use crate::domain::{Instant, from_unix};
use anyhow::Result;
use sqlx::Row;

/// What an answer refers to: the contact, its campaign, and the request it answers.
#[derive(Debug, Clone)]
pub struct AnswerContext {
    pub contact: StoredContact,
    pub campaign: CampaignRow,
    /// The latest request that reached (or may have reached) the contact.
    pub delivery: Option<RequestDelivery>,
}

#[derive(Debug, Clone)]
pub struct RequestDelivery {
    pub wave: i64,
    pub message_id: Option<String>,
    pub content_sha256: Option<String>,
    pub sent_at: Option<Instant>,
}

/// How the contact's consent reads after a confirmation.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub at: Instant,
    pub text_version: String,
    pub ip: Option<String>,
    pub source: String,
}

async fn insert_ledger(
    conn: &mut sqlx::SqliteConnection,
    contact_id: i64,
    e: &LedgerEntry,
) -> Result<()> {
    super::sqlite::insert_ledger_rows(conn, &[(contact_id, e)]).await
}

/// Reminders still waiting for someone who has answered are never sent.
async fn cancel_reminders(
    conn: &mut sqlx::SqliteConnection,
    contact_id: i64,
    campaign_id: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE deliveries SET state = 'cancelled', last_error = 'answered before this was sent' \
         WHERE contact_id = ? AND campaign_id = ? AND state IN ('queued', 'retry')",
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
             WHERE campaign_id = ? AND contact_id = ? ORDER BY wave DESC",
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

    /// A fact that changes nothing else: a page view, a thank-you sent.
    pub async fn record_event(&self, contact_id: i64, entry: &LedgerEntry) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        insert_ledger(&mut conn, contact_id, entry).await
    }

    /// A confirmation: the ledger entry, the contact's new consent, and the end of any
    /// earlier withdrawal by this campaign (a consent given after a withdrawal stands).
    /// `false`, with nothing written, when the contact had already confirmed: a
    /// double click records one confirmation and sends one thank-you.
    pub async fn record_confirm(
        &self,
        contact_id: i64,
        campaign_id: i64,
        entry: &LedgerEntry,
        consent: &NewConsent,
    ) -> Result<Confirm> {
        let mut tx = self.writer.begin().await?;
        // First, so that a contact a purge erased a moment ago is refused cleanly
        // (nothing is written for it), and a second click records nothing twice.
        let changed = sqlx::query(
            "UPDATE contacts SET consent_at = ?, consent_method = 'reconsent', consent_prechecked = 0, \
             consent_bundled = 0, consent_text_version = ?, consent_ip = ?, consent_source = ?, \
             consent_withdrawn_at = NULL, updated_at = ? WHERE id = ? \
             AND NOT (consent_method IS 'reconsent' AND consent_withdrawn_at IS NULL)",
        )
        .bind(consent.at.timestamp())
        .bind(&consent.text_version)
        .bind(&consent.ip)
        .bind(&consent.source)
        .bind(consent.at.timestamp())
        .bind(contact_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM contacts WHERE id = ?")
                .bind(contact_id)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(if exists == 0 {
                Confirm::Gone
            } else {
                Confirm::Already
            });
        }
        insert_ledger(&mut tx, contact_id, entry).await?;
        sqlx::query("DELETE FROM suppressions WHERE contact_id = ? AND reason = 'left'")
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
        // A confirmation wins over any pending deletion: the address is alive and willing.
        sqlx::query("DELETE FROM deletion_queue WHERE contact_id = ?")
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
        cancel_reminders(&mut tx, contact_id, campaign_id).await?;
        if self.webhooks {
            contact_event(
                &mut tx,
                "contact.confirmed",
                contact_id,
                campaign_id,
                consent.at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Confirm::Recorded)
    }

    /// A withdrawal: the ledger entry, the withdrawal time, suppression and a deletion
    /// due at once.
    pub async fn record_leave(
        &self,
        contact_id: i64,
        campaign_id: i64,
        entry: &LedgerEntry,
        now: Instant,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        insert_ledger(&mut tx, contact_id, entry).await?;
        sqlx::query("UPDATE contacts SET consent_withdrawn_at = ?, updated_at = ? WHERE id = ?")
            .bind(now.timestamp())
            .bind(now.timestamp())
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
        suppress(&mut tx, contact_id, "left", now, now).await?;
        cancel_reminders(&mut tx, contact_id, campaign_id).await?;
        if self.webhooks {
            contact_event(&mut tx, "contact.left", contact_id, campaign_id, now).await?;
            super::webhooks::enqueue_contact_queued(&mut tx, contact_id, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// What a confirmation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    Recorded,
    /// Confirmed before by this engine and not withdrawn since: nothing written.
    Already,
    /// The contact is no longer there (erased a moment ago): nothing written.
    Gone,
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
