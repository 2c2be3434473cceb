//! Campaigns as launched, their state, and the launch's one transaction (PostgreSQL).

use super::{LaunchTx, PgStore};
use crate::domain::{CampaignState, Instant, from_unix};
use crate::policy::ContactClass;
use crate::store::{CampaignRow, LaunchedCampaign};
use anyhow::Result;
use sqlx::Row;
use sqlx::postgres::PgRow;

/// Contacts per enqueue statement: the ids travel as one array parameter.
const IDS_PER_STATEMENT: usize = 50_000;

impl LaunchTx {
    pub async fn create_campaign(
        &mut self,
        launched: &LaunchedCampaign<'_>,
        now: Instant,
    ) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "INSERT INTO campaigns (name, definition, definition_sha256, source_file, templates, \
             privacy_sha256, launched_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(launched.name)
        .bind(launched.definition)
        .bind(launched.definition_sha256)
        .bind(launched.source_file)
        .bind(launched.templates)
        .bind(launched.privacy_sha256)
        .bind(now.timestamp())
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Queues one wave for these contacts, the ids as one array per statement.
    pub async fn enqueue(
        &mut self,
        campaign_id: i64,
        wave: i64,
        contacts: &[(i64, ContactClass)],
        due_at: Instant,
    ) -> Result<u64> {
        let mut added = 0;
        for chunk in contacts.chunks(IDS_PER_STATEMENT) {
            let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
            let classes: Vec<&str> = chunk.iter().map(|(_, c)| c.as_str()).collect();
            added += sqlx::query(
                "INSERT INTO deliveries (campaign_id, contact_id, wave, due_at, class) \
                 SELECT $1, id, $2, $3, class FROM unnest($4::BIGINT[], $5::TEXT[]) AS u (id, class) \
                 ON CONFLICT (campaign_id, contact_id, wave) DO NOTHING",
            )
            .bind(campaign_id)
            .bind(wave)
            .bind(due_at.timestamp())
            .bind(&ids)
            .bind(&classes)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        }
        Ok(added)
    }

    pub async fn add_bonus_codes(&mut self, campaign_id: i64, codes: &[String]) -> Result<u64> {
        let mut added = 0;
        for chunk in codes.chunks(IDS_PER_STATEMENT) {
            added += sqlx::query(
                "INSERT INTO bonus_codes (campaign_id, code) \
                 SELECT $1, code FROM unnest($2::TEXT[]) AS code ON CONFLICT DO NOTHING",
            )
            .bind(campaign_id)
            .bind(chunk)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        }
        Ok(added)
    }
}

fn campaign_from_row(r: &PgRow) -> Result<CampaignRow> {
    let state: String = r.try_get("state")?;
    Ok(CampaignRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        definition: r.try_get("definition")?,
        definition_sha256: r.try_get("definition_sha256")?,
        source_file: r.try_get("source_file")?,
        templates: r.try_get("templates")?,
        state: CampaignState::parse(&state)
            .ok_or_else(|| anyhow::anyhow!("a campaign has the unknown state '{state}'"))?,
        state_reason: r.try_get("state_reason")?,
        launched_at: from_unix(r.try_get("launched_at")?),
        privacy_sha256: r.try_get("privacy_sha256")?,
    })
}

impl PgStore {
    pub async fn begin_launch(&self) -> Result<LaunchTx> {
        Ok(LaunchTx {
            tx: self.pool.begin().await?,
        })
    }

    pub async fn campaign(&self, name: &str) -> Result<Option<CampaignRow>> {
        let row = sqlx::query("SELECT * FROM campaigns WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(campaign_from_row).transpose()
    }

    pub async fn campaign_by_id(&self, id: i64) -> Result<Option<CampaignRow>> {
        let row = sqlx::query("SELECT * FROM campaigns WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(campaign_from_row).transpose()
    }

    pub async fn campaign_sendable(&self, id: i64) -> Result<bool> {
        Ok(self
            .campaign_by_id(id)
            .await?
            .is_some_and(|c| c.state.sends_thanks()))
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
            "UPDATE campaigns SET state = $1, state_reason = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(now.timestamp())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn cancel_pending(&self, campaign_id: i64) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE deliveries SET state = 'cancelled' WHERE campaign_id = $1 AND state IN ('queued', 'retry')",
        )
        .bind(campaign_id)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    pub async fn campaign_closed(&self, id: i64) -> Result<bool> {
        let closed: Option<i64> =
            sqlx::query_scalar("SELECT closed_at FROM campaigns WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .flatten();
        Ok(closed.is_some())
    }
}
