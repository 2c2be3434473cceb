//! Late bounces and complaints (PostgreSQL): the same writes as on SQLite, in one
//! transaction, once per event key.

use super::PgStore;
use crate::store::{LateApplied, LateCounts, LateTarget, LateWrite};
use anyhow::Result;
use sqlx::Row;

impl PgStore {
    /// The delivery whose Message-ID is `<TOKEN@…>`, through the index on `message_id`.
    pub async fn late_target(&self, token: &str) -> Result<Option<LateTarget>> {
        let row = sqlx::query(
            "SELECT id, campaign_id, contact_id, wave, message_id FROM deliveries \
             WHERE message_id COLLATE \"C\" >= '<' || $1 || '@' AND message_id COLLATE \"C\" < '<' || $1 || 'A' LIMIT 1",
        )
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(LateTarget {
                delivery_id: r.try_get("id")?,
                campaign_id: r.try_get("campaign_id")?,
                contact_id: r.try_get("contact_id")?,
                wave: r.try_get::<i64, _>("wave")?,
                message_id: r.try_get("message_id")?,
            })
        })
        .transpose()
    }

    pub async fn apply_late_event(&self, w: &LateWrite<'_>) -> Result<LateApplied> {
        let t = w.target;
        let mut tx = self.pool.begin().await?;
        let new: Option<i64> = sqlx::query_scalar(
            "INSERT INTO late_events (event_key, delivery_id, campaign_id, wave, kind, source, status, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_key) DO NOTHING RETURNING id",
        )
        .bind(w.event_key)
        .bind(t.delivery_id)
        .bind(t.campaign_id)
        .bind(t.wave)
        .bind(w.kind)
        .bind(w.source)
        .bind(w.status)
        .bind(w.at.timestamp())
        .fetch_optional(&mut *tx)
        .await?;
        if new.is_none() {
            tx.commit().await?;
            return Ok(LateApplied::Already);
        }
        // Locked for the transaction: an erasure running beside it waits, or wins.
        let alive: Option<i64> =
            sqlx::query_scalar("SELECT id FROM contacts WHERE id = $1 FOR UPDATE")
                .bind(t.contact_id)
                .fetch_optional(&mut *tx)
                .await?;
        if alive.is_some() {
            write_effects(&mut tx, w, self.webhooks).await?;
        }
        tx.commit().await?;
        Ok(LateApplied::Applied)
    }

    pub async fn late_counts(&self, campaign_id: i64) -> Result<Vec<(i64, LateCounts)>> {
        let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT wave, count(*) FILTER (WHERE kind = 'hard_bounce'), \
                    count(*) FILTER (WHERE kind = 'soft_bounce'), count(*) FILTER (WHERE kind = 'complaint') \
             FROM late_events WHERE campaign_id = $1 GROUP BY wave ORDER BY wave",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(wave, hard_bounces, soft_bounces, complaints)| {
                (
                    wave,
                    LateCounts {
                        hard_bounces,
                        soft_bounces,
                        complaints,
                    },
                )
            })
            .collect())
    }
}

async fn write_effects(
    conn: &mut sqlx::PgConnection,
    w: &LateWrite<'_>,
    webhooks: bool,
) -> Result<()> {
    let (t, at) = (w.target, w.at.timestamp());
    super::contacts::insert_ledger_rows(&mut *conn, &[(t.contact_id, w.ledger)]).await?;
    if let Some(error) = w.bounced {
        sqlx::query("UPDATE deliveries SET state = 'bounced', last_error = $1 WHERE id = $2")
            .bind(error)
            .bind(t.delivery_id)
            .execute(&mut *conn)
            .await?;
    }
    if w.withdraw {
        sqlx::query("UPDATE contacts SET consent_withdrawn_at = $1, updated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(t.contact_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "UPDATE deliveries SET state = 'cancelled', last_error = 'complained before this was sent' \
             WHERE contact_id = $1 AND state IN ('queued', 'retry')",
        )
        .bind(t.contact_id)
        .execute(&mut *conn)
        .await?;
    }
    if let Some((reason, due_at)) = w.suppress {
        super::queue::suppress(&mut *conn, t.contact_id, reason, w.at, due_at).await?;
    }
    if !webhooks {
        return Ok(());
    }
    let when = w.at.to_rfc3339();
    // The contact named as the SQLite store names it: the opaque id, and the shop's own
    // id when the import gave one, else the address.
    if let Some(event) = w.webhook {
        sqlx::query(
            "INSERT INTO webhook_outbox (event_type, ordering_key, payload, created_at, next_attempt_at) \
             SELECT $1, c.public_id, jsonb_build_object('type', $1::text, 'timestamp', $2::text, 'data', \
                 jsonb_strip_nulls(jsonb_build_object('contact', c.public_id, 'external_id', c.external_id, \
                     'email', CASE WHEN c.external_id IS NULL THEN c.email END, \
                     'campaign', (SELECT name FROM campaigns WHERE id = $3), 'at', $2::text)))::text, $4, $4 \
             FROM contacts c WHERE c.id = $5",
        )
        .bind(event)
        .bind(&when)
        .bind(t.campaign_id)
        .bind(at)
        .bind(t.contact_id)
        .execute(&mut *conn)
        .await?;
    }
    if w.suppress.is_some() {
        sqlx::query(
            "INSERT INTO webhook_outbox (event_type, ordering_key, payload, created_at, next_attempt_at) \
             SELECT 'contact.queued_for_deletion', c.public_id, jsonb_build_object('type', 'contact.queued_for_deletion', \
                 'timestamp', $1::text, 'data', jsonb_strip_nulls(jsonb_build_object('contact', c.public_id, \
                     'external_id', c.external_id, 'email', CASE WHEN c.external_id IS NULL THEN c.email END, \
                     'reason', q.reason, 'due_at', to_char(to_timestamp(q.due_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))))::text, $2, $2 \
             FROM deletion_queue q JOIN contacts c ON c.id = q.contact_id WHERE q.contact_id = $3",
        )
        .bind(&when)
        .bind(at)
        .bind(t.contact_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
