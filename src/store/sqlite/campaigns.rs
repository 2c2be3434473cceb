//! Campaigns as launched, their state, and the launch's one transaction (SQLite).

use super::SqliteStore;
use crate::domain::{CampaignState, Instant, from_unix};
use crate::policy::ContactClass;
use crate::store::{CampaignRow, LaunchedCampaign};
use anyhow::Result;
use sqlx::{Row, Sqlite};

pub struct LaunchTx {
    pub(super) tx: sqlx::Transaction<'static, Sqlite>,
}

impl LaunchTx {
    /// Creates the campaign; `None` if one of that name exists (launching twice is a no-op).
    pub async fn create_campaign(
        &mut self,
        launched: &LaunchedCampaign<'_>,
        now: Instant,
    ) -> Result<Option<i64>> {
        let id = sqlx::query_scalar(
            "INSERT INTO campaigns (name, definition, definition_sha256, source_file, templates, \
             privacy_sha256, launched_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(launched.name)
        .bind(launched.definition)
        .bind(launched.definition_sha256)
        .bind(launched.source_file)
        .bind(launched.templates)
        .bind(launched.privacy_sha256)
        .bind(now.timestamp())
        .bind(now.timestamp())
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// Queues one wave for these contacts, each with its consent class at launch; a
    /// contact already queued for it is skipped.
    pub async fn enqueue(
        &mut self,
        campaign_id: i64,
        wave: i64,
        contacts: &[(i64, ContactClass)],
        due_at: Instant,
    ) -> Result<u64> {
        enqueue(&mut self.tx, campaign_id, wave, contacts, due_at).await
    }

    pub async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }
}

async fn enqueue(
    conn: &mut sqlx::SqliteConnection,
    campaign_id: i64,
    wave: i64,
    contacts: &[(i64, ContactClass)],
    due_at: Instant,
) -> Result<u64> {
    // The contacts travel as one JSON array: one small statement whatever their number.
    // A multi-row VALUES list would compile to a program the size of the list, and the
    // statement cache would keep one such program per list length.
    let pairs: Vec<(i64, &str)> = contacts.iter().map(|(id, c)| (*id, c.as_str())).collect();
    let ids = serde_json::to_string(&pairs)?;
    let added = sqlx::query(
        "INSERT INTO deliveries (campaign_id, contact_id, wave, due_at, class) \
         SELECT ?, value ->> 0, ?, ?, value ->> 1 FROM json_each(?) WHERE true \
         ON CONFLICT (campaign_id, contact_id, wave) DO NOTHING",
    )
    .bind(campaign_id)
    .bind(wave)
    .bind(due_at.timestamp())
    .bind(ids)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(added)
}

/// A campaign state as stored; a word this version does not know is damage, named.
pub(crate) fn parse_state(s: String) -> Result<CampaignState> {
    CampaignState::parse(&s)
        .ok_or_else(|| anyhow::anyhow!("a campaign has the unknown state '{s}'"))
}

fn campaign_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<CampaignRow> {
    Ok(CampaignRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        definition: r.try_get("definition")?,
        definition_sha256: r.try_get("definition_sha256")?,
        source_file: r.try_get("source_file")?,
        templates: r.try_get("templates")?,
        state: parse_state(r.try_get("state")?)?,
        state_reason: r.try_get("state_reason")?,
        launched_at: from_unix(r.try_get("launched_at")?),
        privacy_sha256: r.try_get("privacy_sha256")?,
    })
}

impl SqliteStore {
    pub async fn begin_launch(&self) -> Result<LaunchTx> {
        Ok(LaunchTx {
            tx: self.writer.begin().await?,
        })
    }

    pub async fn campaign(&self, name: &str) -> Result<Option<CampaignRow>> {
        let row = sqlx::query("SELECT * FROM campaigns WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(campaign_from_row).transpose()
    }

    pub async fn campaign_by_id(&self, id: i64) -> Result<Option<CampaignRow>> {
        let row = sqlx::query("SELECT * FROM campaigns WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(campaign_from_row).transpose()
    }

    /// Whether a sender may go on with a campaign's claims: it runs, or its deadline
    /// closed it and only thank-you mails are left to send.
    pub async fn campaign_sendable(&self, id: i64) -> Result<bool> {
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM campaigns WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(matches!(state.as_deref(), Some("running" | "completed")))
    }

    pub async fn campaigns(&self) -> Result<Vec<CampaignRow>> {
        let rows = sqlx::query("SELECT * FROM campaigns ORDER BY launched_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(campaign_from_row).collect()
    }

    pub async fn set_campaign_state(
        &self,
        id: i64,
        state: CampaignState,
        reason: Option<&str>,
        now: Instant,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE campaigns SET state = ?, state_reason = ?, updated_at = ? WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(now.timestamp())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Cancels what has not gone out; returns how many deliveries were cancelled.
    pub async fn cancel_pending(&self, campaign_id: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE deliveries SET state = 'cancelled' WHERE campaign_id = ? AND state IN ('queued', 'retry')",
        )
        .bind(campaign_id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }
}
