//! The webhook outbox (SQLite).

use super::sqlite::SqliteStore;
use crate::domain::Instant;
use anyhow::Result;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct OutboxEvent {
    pub id: i64,
    pub event_type: String,
    pub ordering_key: String,
    pub payload: String,
    pub attempts: i64,
}

/// Appends an event inside the caller's transaction.
pub(super) async fn enqueue(
    conn: &mut sqlx::SqliteConnection,
    event_type: &str,
    ordering_key: &str,
    data: serde_json::Value,
    now: Instant,
) -> Result<()> {
    let payload =
        serde_json::json!({ "type": event_type, "timestamp": now.to_rfc3339(), "data": data });
    sqlx::query(
        "INSERT INTO webhook_outbox (event_type, ordering_key, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(event_type)
    .bind(ordering_key)
    .bind(payload.to_string())
    .bind(now.timestamp())
    .bind(now.timestamp())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes `contact.queued_for_deletion` for the deletion-queue rows `filter` picks
/// (`?2` is now in seconds; `?3` is the filter's value).
const QUEUED_EVENTS: &str = "INSERT INTO webhook_outbox (event_type, ordering_key, payload, created_at, next_attempt_at) \
     SELECT 'contact.queued_for_deletion', c.public_id, \
            json_object('type', 'contact.queued_for_deletion', 'timestamp', ?1, 'data', \
                json_object('contact', c.public_id, 'email', c.email, 'reason', q.reason, \
                            'due_at', strftime('%Y-%m-%dT%H:%M:%SZ', q.due_at, 'unixepoch'))), ?2, ?2 \
     FROM deletion_queue q JOIN contacts c ON c.id = q.contact_id WHERE ";

/// For every recipient of `campaign_id` queued at `now` (the campaign's deadline passed).
pub(super) async fn enqueue_queued(
    conn: &mut sqlx::SqliteConnection,
    campaign_id: i64,
    now: Instant,
) -> Result<()> {
    let sql = format!(
        "{QUEUED_EVENTS} q.queued_at = ?2 AND q.contact_id IN (SELECT contact_id FROM deliveries WHERE campaign_id = ?3) ORDER BY c.id"
    );
    queued_events(conn, sql, campaign_id, now).await
}

/// For one contact (a hard bounce).
pub(super) async fn enqueue_contact_queued(
    conn: &mut sqlx::SqliteConnection,
    contact_id: i64,
    now: Instant,
) -> Result<()> {
    queued_events(
        conn,
        format!("{QUEUED_EVENTS} q.contact_id = ?3"),
        contact_id,
        now,
    )
    .await
}

async fn queued_events(
    conn: &mut sqlx::SqliteConnection,
    sql: String,
    value: i64,
    now: Instant,
) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now.to_rfc3339())
        .bind(now.timestamp())
        .bind(value)
        .execute(conn)
        .await?;
    Ok(())
}

impl SqliteStore {
    /// Events due for a try, oldest first, skipping any whose ordering key has an
    /// earlier event still undelivered: a contact's events arrive in order.
    pub async fn webhooks_due(&self, now: Instant, limit: i64) -> Result<Vec<OutboxEvent>> {
        let rows = sqlx::query(
            "SELECT id, event_type, ordering_key, payload, attempts FROM webhook_outbox o \
             WHERE delivered_at IS NULL AND next_attempt_at <= ? \
               AND NOT EXISTS (SELECT 1 FROM webhook_outbox e WHERE e.ordering_key = o.ordering_key \
                               AND e.id < o.id AND e.delivered_at IS NULL) \
             ORDER BY id LIMIT ?",
        )
        .bind(now.timestamp())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxEvent {
                    id: r.try_get("id")?,
                    event_type: r.try_get("event_type")?,
                    ordering_key: r.try_get("ordering_key")?,
                    payload: r
                        .try_get::<Option<String>, _>("payload")?
                        .unwrap_or_default(),
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    pub async fn webhook_delivered(&self, id: i64, now: Instant) -> Result<()> {
        sqlx::query(
            "UPDATE webhook_outbox SET delivered_at = ?, payload = NULL, attempts = attempts + 1, last_error = NULL WHERE id = ?",
        )
        .bind(now.timestamp())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn webhook_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: Instant,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE webhook_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
        )
        .bind(error)
        .bind(next_attempt_at.timestamp())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Undelivered events: (all, due now).
    pub async fn webhooks_pending(&self, now: Instant) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT count(*) AS n, coalesce(sum(next_attempt_at <= ?), 0) AS due FROM webhook_outbox WHERE delivered_at IS NULL",
        )
        .bind(now.timestamp())
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("due")?))
    }
}
