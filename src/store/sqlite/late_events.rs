//! Late bounces and complaints (SQLite): the delivery a report names, and the event's
//! writes, once per event key, in one transaction.

use super::SqliteStore;
use super::queue::suppress;
use crate::store::{LateApplied, LateCounts, LateTarget, LateWrite};
use anyhow::Result;
use sqlx::Row;

impl SqliteStore {
    /// The delivery whose Message-ID is `<TOKEN@…>`. The bounds select exactly the ids
    /// that start with `<TOKEN@` through the index (`@` is followed by `A` in ASCII).
    pub async fn late_target(&self, token: &str) -> Result<Option<LateTarget>> {
        let row = sqlx::query(
            "SELECT id, campaign_id, contact_id, wave, message_id FROM deliveries \
             WHERE message_id >= '<' || ?1 || '@' AND message_id < '<' || ?1 || 'A' \
             AND message_id IS NOT NULL LIMIT 1",
        )
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(LateTarget {
                delivery_id: r.try_get("id")?,
                campaign_id: r.try_get("campaign_id")?,
                contact_id: r.try_get("contact_id")?,
                wave: r.try_get("wave")?,
                message_id: r.try_get("message_id")?,
            })
        })
        .transpose()
    }

    pub async fn apply_late_event(&self, w: &LateWrite<'_>) -> Result<LateApplied> {
        let t = w.target;
        let mut tx = self.writer.begin().await?;
        let new: Option<i64> = sqlx::query_scalar(
            "INSERT INTO late_events (event_key, delivery_id, campaign_id, wave, kind, source, status, at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_key) DO NOTHING RETURNING id",
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
        let alive: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM contacts WHERE id = ?)")
            .bind(t.contact_id)
            .fetch_one(&mut *tx)
            .await?;
        // An erased contact's event is counted, and nothing else is left to change.
        if alive {
            write_effects(&mut tx, w, self.webhooks).await?;
        }
        tx.commit().await?;
        Ok(LateApplied::Applied)
    }

    /// Late events per wave of a campaign (the wave's index; `-1` the thank-you).
    pub async fn late_counts(&self, campaign_id: i64) -> Result<Vec<(i64, LateCounts)>> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT wave, kind, count(*) FROM late_events WHERE campaign_id = ? GROUP BY wave, kind ORDER BY wave",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<(i64, LateCounts)> = Vec::new();
        for (wave, kind, n) in rows {
            if out.last().is_none_or(|(w, _)| *w != wave) {
                out.push((wave, LateCounts::default()));
            }
            if let Some((_, c)) = out.last_mut() {
                match kind.as_str() {
                    "hard_bounce" => c.hard_bounces += n,
                    "soft_bounce" => c.soft_bounces += n,
                    "complaint" => c.complaints += n,
                    _ => {}
                }
            }
        }
        Ok(out)
    }
}

async fn write_effects(
    conn: &mut sqlx::SqliteConnection,
    w: &LateWrite<'_>,
    webhooks: bool,
) -> Result<()> {
    let t = w.target;
    super::insert_ledger_rows(&mut *conn, &[(t.contact_id, w.ledger)]).await?;
    if let Some(error) = w.bounced {
        sqlx::query("UPDATE deliveries SET state = 'bounced', last_error = ? WHERE id = ?")
            .bind(error)
            .bind(t.delivery_id)
            .execute(&mut *conn)
            .await?;
    }
    if w.withdraw {
        sqlx::query("UPDATE contacts SET consent_withdrawn_at = ?, updated_at = ? WHERE id = ?")
            .bind(w.at.timestamp())
            .bind(w.at.timestamp())
            .bind(t.contact_id)
            .execute(&mut *conn)
            .await?;
        // Every campaign's reminders and thank-you mails: a complaint is about the sender.
        sqlx::query(
            "UPDATE deliveries SET state = 'cancelled', last_error = 'complained before this was sent' \
             WHERE contact_id = ? AND state IN ('queued', 'retry')",
        )
        .bind(t.contact_id)
        .execute(&mut *conn)
        .await?;
    }
    if let Some((reason, due_at)) = w.suppress {
        suppress(conn, t.contact_id, reason, w.at, due_at).await?;
    }
    if webhooks {
        if let Some(event) = w.webhook {
            super::answers::contact_event(conn, event, t.contact_id, t.campaign_id, w.at).await?;
        }
        if w.suppress.is_some() {
            super::webhooks::enqueue_contact_queued(conn, t.contact_id, w.at).await?;
        }
    }
    Ok(())
}
