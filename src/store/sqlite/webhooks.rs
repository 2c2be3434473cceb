//! The webhook outbox (SQLite).

use super::SqliteStore;
use crate::domain::Instant;
use crate::store::OutboxEvent;
use anyhow::Result;
use sqlx::Row;

/// The audit entry of [`SqliteStore::drop_undelivered_addresses`].
const ADDRESSES_DROPPED: &str = "webhook_addresses_dropped";

/// Who an event is about: the opaque id, and the shop's own id when the import gave
/// one, else the address. The shop finds its contact by either; an outbox that holds
/// ids only holds no address.
pub(super) fn about(
    public_id: &str,
    email: &str,
    external_id: Option<&str>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut data = serde_json::Map::new();
    data.insert("contact".into(), public_id.into());
    match external_id {
        Some(id) => data.insert("external_id".into(), id.into()),
        None => data.insert("email".into(), email.into()),
    };
    data
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
/// (`?2` is now in seconds; `?3` is the filter's value). The contact is named as
/// [`about`] names it.
const QUEUED_EVENTS: &str = "INSERT INTO webhook_outbox (event_type, ordering_key, payload, created_at, next_attempt_at) \
     SELECT 'contact.queued_for_deletion', c.public_id, \
            json_object('type', 'contact.queued_for_deletion', 'timestamp', ?1, 'data', \
                json_remove(json_object('contact', c.public_id, 'external_id', c.external_id, \
                                        'email', c.email, 'reason', q.reason, \
                                        'due_at', strftime('%Y-%m-%dT%H:%M:%SZ', q.due_at, 'unixepoch')), \
                            iif(c.external_id IS NULL, '$.external_id', '$.email'))), ?2, ?2 \
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

    /// Drops the address from every event the receiver has not taken since `before`,
    /// with an entry in the audit table; returns how many events lost theirs. The file
    /// is then rewritten, so the old payloads are not left in unused space either.
    pub async fn drop_undelivered_addresses(&self, before: Instant, now: Instant) -> Result<u64> {
        let mut tx = self.writer.begin().await?;
        let dropped = sqlx::query(
            "UPDATE webhook_outbox SET payload = json_remove(payload, '$.data.email') \
             WHERE delivered_at IS NULL AND created_at <= ? AND payload ->> '$.data.email' IS NOT NULL",
        )
        .bind(before.timestamp())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if dropped == 0 {
            return Ok(0);
        }
        sqlx::query("INSERT INTO audit (at, action, count) VALUES (?, ?, ?)")
            .bind(now.timestamp())
            .bind(ADDRESSES_DROPPED)
            .bind(dropped as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.vacuum().await?;
        self.settle().await?;
        Ok(dropped)
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
