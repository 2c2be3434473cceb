//! The delivery queue (SQLite): claims, the sender's journal, recovery of a dead
//! sender's claims.
//!
//! Two senders on one database never send one delivery twice: claiming is a single
//! `UPDATE … RETURNING`, and SQLite runs one writer at a time.

use super::{COLUMNS, SqliteStore, stored_from_row};
use crate::domain::Instant;
use crate::store::{Claimed, Fate, LedgerEntry, QueueState, SlotRequest, THANK_YOU_WAVE};
use anyhow::Result;
use sqlx::{QueryBuilder, Row, Sqlite};
use std::collections::BTreeMap;

/// Deliveries a sender takes: those of running campaigns, and the thank-you mails of
/// campaigns whose deadline has closed them (`d` deliveries, `c` campaigns).
const SENDABLE: &str = "c.state = 'running' OR (c.state = 'completed' AND d.wave = -1)";

impl SqliteStore {
    /// Deliveries left by senders that stopped (their lease ran out): those a sender
    /// put on the wire become `unknown`, never resent; the rest go back to the queue.
    /// Returns (requeued, unknown).
    pub async fn recover_abandoned(&self, now: Instant) -> Result<(u64, u64)> {
        let mut tx = self.writer.begin().await?;
        let rows: Vec<(i64, Option<String>, String)> = sqlx::query_as(
            "SELECT id, worker, state FROM deliveries \
             WHERE state IN ('claimed', 'sending') AND lease_until < ?",
        )
        .bind(now.timestamp())
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok((0, 0));
        }
        let mut workers: Vec<&str> = rows.iter().filter_map(|(_, w, _)| w.as_deref()).collect();
        workers.sort_unstable();
        workers.dedup();
        let wire = self.on_the_wire(&workers);
        let (mut unknown, mut requeued) = (Vec::new(), Vec::new());
        for (id, worker, state) in &rows {
            // `sending` is how an earlier version marked what it was about to send.
            let sent = state == "sending"
                || worker
                    .as_ref()
                    .and_then(|w| wire.get(w))
                    .is_some_and(|ids| ids.contains(id));
            if sent { &mut unknown } else { &mut requeued }.push(*id);
        }
        sqlx::query(
            "UPDATE deliveries SET state = 'queued', worker = NULL, lease_until = NULL \
             WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(serde_json::to_string(&requeued)?)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE deliveries SET state = 'unknown', worker = NULL, lease_until = NULL, \
             attempts = attempts + 1, last_error = 'the sender stopped while the mail server had \
             this message and before it answered; not resent, to avoid a duplicate' \
             WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(serde_json::to_string(&unknown)?)
        .execute(&mut *tx)
        .await?;
        let still_held: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT worker FROM deliveries \
             WHERE state IN ('claimed', 'sending') AND worker IS NOT NULL",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let done: Vec<&str> = workers
            .into_iter()
            .filter(|w| !still_held.iter().any(|h| h == w))
            .collect();
        self.remove_wire_logs(&done);
        Ok((requeued.len() as u64, unknown.len() as u64))
    }

    /// Claims up to `limit` due deliveries of a campaign for `worker`: thank-you mails
    /// first (a person who just confirmed is waiting for the bonus), then requests.
    /// Each claimed message is checked again with `refuse` in the same transaction: a
    /// contact who withdrew, lost its basis, was suppressed or erased since the launch is
    /// cancelled with the reason instead of claimed.
    pub async fn claim(
        &self,
        worker: &str,
        campaign_id: i64,
        now: Instant,
        lease_until: Instant,
        limit: i64,
        refuse: &(dyn Fn(&Claimed) -> Option<&'static str> + Sync),
    ) -> Result<Vec<Claimed>> {
        let mut tx = self.writer.begin().await?;
        let mut ids: Vec<(i64, i64, i64)> = Vec::new();
        // Thank-you mails still go out after the deadline closed the campaign.
        // The wave is written out, not bound: SQLite uses the partial index of due
        // thank-you mails only when it can see the query asks for exactly those.
        for (wave_filter, states) in [
            (
                format!("d.wave = {THANK_YOU_WAVE}"),
                "('running', 'completed')",
            ),
            (format!("d.wave != {THANK_YOU_WAVE}"), "('running')"),
        ] {
            let left = limit - ids.len() as i64;
            if left <= 0 {
                break;
            }
            let sql = format!(
                "UPDATE deliveries SET state = 'claimed', worker = ?, lease_until = ? \
                 WHERE id IN (SELECT d.id FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id \
                              WHERE d.campaign_id = ? AND c.state IN {states} AND {wave_filter} \
                              AND d.state IN ('queued', 'retry') AND d.due_at <= ? \
                              ORDER BY d.due_at, d.id LIMIT ?) \
                 RETURNING id, wave, attempts"
            );
            let claimed: Vec<(i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(worker)
                .bind(lease_until.timestamp())
                .bind(campaign_id)
                .bind(now.timestamp())
                .bind(left)
                .fetch_all(&mut *tx)
                .await?;
            ids.extend(claimed);
        }
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let json = serde_json::to_string(&ids.iter().map(|(id, _, _)| *id).collect::<Vec<_>>())?;
        let sql = format!(
            "SELECT d.id AS delivery_id, \
               EXISTS (SELECT 1 FROM suppressions s WHERE s.contact_id = d.contact_id) AS suppressed, \
               (SELECT code FROM bonus_codes b WHERE b.campaign_id = d.campaign_id \
                AND b.contact_id = d.contact_id) AS bonus_code, \
               c.id, c.public_id, {} \
             FROM deliveries d JOIN contacts c ON c.id = d.contact_id \
             WHERE d.id IN (SELECT value FROM json_each(?)) ORDER BY d.id",
            COLUMNS
                .split(", ")
                .map(|col| format!("c.{col}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&json)
            .fetch_all(&mut *tx)
            .await?;
        let meta: BTreeMap<i64, (i64, i64)> =
            ids.iter().map(|(id, w, a)| (*id, (*w, *a))).collect();
        let mut found = Vec::with_capacity(rows.len());
        for r in &rows {
            let delivery_id: i64 = r.try_get("delivery_id")?;
            let (wave, attempts) = meta.get(&delivery_id).copied().unwrap_or_default();
            found.push(Claimed {
                delivery_id,
                campaign_id,
                wave,
                attempts,
                suppressed: r.try_get("suppressed")?,
                bonus_code: r.try_get("bonus_code")?,
                contact: stored_from_row(r)?,
            });
        }
        // Erased while it waited: the row that named the contact is all that is left.
        let mut cancelled: Vec<(i64, &'static str)> = ids
            .iter()
            .filter(|(id, _, _)| !found.iter().any(|c| c.delivery_id == *id))
            .map(|(id, _, _)| (*id, "erased"))
            .collect();
        let mut claimed = Vec::with_capacity(found.len());
        for c in found {
            match refuse(&c) {
                Some(reason) => cancelled.push((c.delivery_id, reason)),
                None => claimed.push(c),
            }
        }
        if !cancelled.is_empty() {
            sqlx::query(
                "UPDATE deliveries SET state = 'cancelled', worker = NULL, lease_until = NULL, \
                 last_error = v.value ->> 1 FROM json_each(?) AS v WHERE deliveries.id = v.value ->> 0",
            )
            .bind(serde_json::to_string(&cancelled)?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Those of `ids` still claimed: an erasure cancels what a sender holds, and the
    /// sender looks again right before the messages go.
    pub async fn still_claimed(&self, ids: &[i64]) -> Result<std::collections::HashSet<i64>> {
        let found: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM deliveries WHERE id IN (SELECT value FROM json_each(?)) \
             AND state = 'claimed'",
        )
        .bind(serde_json::to_string(ids)?)
        .fetch_all(&self.pool)
        .await?;
        Ok(found.into_iter().collect())
    }

    /// Gives back claims that were never started.
    pub async fn release(&self, ids: &[i64]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        release(&mut tx, ids).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Keeps a live sender's claims from being taken for abandoned.
    pub async fn renew_leases(&self, worker: &str, lease_until: Instant) -> Result<()> {
        sqlx::query("UPDATE deliveries SET lease_until = ? WHERE worker = ? AND state IN ('claimed', 'sending')")
            .bind(lease_until.timestamp())
            .bind(worker)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// One transaction for a sender's writes: outcomes of finished messages and slots
    /// of the throttle. One commit serves every connection. Returns the schedule's time
    /// after each slot request.
    pub async fn journal(
        &self,
        results: &[(i64, i64, i64, Fate)],
        slots: &[SlotRequest],
        now: Instant,
    ) -> Result<Vec<i64>> {
        let mut tx = self.writer.begin().await?;
        let mut tats = Vec::with_capacity(slots.len());
        for r in slots {
            // One statement, so senders sharing a campaign never get the same slot.
            let tat: i64 = sqlx::query_scalar(
                "UPDATE campaigns SET pace_tat = max(coalesce(pace_tat, ?1), ?1) + ?2 * ?3 \
                 WHERE id = ?4 RETURNING pace_tat",
            )
            .bind(r.now)
            .bind(r.k)
            .bind(r.period)
            .bind(r.campaign_id)
            .fetch_one(&mut *tx)
            .await?;
            tats.push(tat);
        }
        record_sent(&mut tx, results, now).await?;
        for (delivery_id, contact_id, campaign_id, fate) in results {
            record_other(
                &mut tx,
                *delivery_id,
                *contact_id,
                *campaign_id,
                fate,
                now,
                self.webhooks,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(tats)
    }

    /// Whether there is work: for `send --until-idle`.
    pub async fn queue_state(&self, campaign_id: Option<i64>, now: Instant) -> Result<QueueState> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT \
               coalesce(sum(d.state IN ('queued', 'retry') AND d.due_at <= ?1 AND ({SENDABLE})), 0) AS due, \
               coalesce(sum(d.state IN ('claimed', 'sending')), 0) AS in_flight, \
               coalesce(sum(d.state IN ('queued', 'retry') AND d.due_at > ?1 AND ({SENDABLE})), 0) AS later \
             FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id \
             WHERE (?2 IS NULL OR d.campaign_id = ?2)",
        )))
        .bind(now.timestamp())
        .bind(campaign_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(QueueState {
            due: row.try_get("due")?,
            in_flight: row.try_get("in_flight")?,
            later: row.try_get("later")?,
        })
    }

    pub async fn is_suppressed(&self, contact_id: i64) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM suppressions WHERE contact_id = ?")
            .bind(contact_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// Suppressed contact ids (bounced, left): for excluding them from an audience.
    pub async fn suppressed_ids(&self) -> Result<std::collections::HashSet<i64>> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT contact_id FROM suppressions")
            .fetch_all(&self.pool)
            .await?;
        Ok(ids.into_iter().collect())
    }
}

/// Sent messages, the common case, in two statements however many there are.
async fn record_sent(
    conn: &mut sqlx::SqliteConnection,
    results: &[(i64, i64, i64, Fate)],
    now: Instant,
) -> Result<()> {
    let sent: Vec<_> = results
        .iter()
        .filter_map(|(d, c, _, f)| match f {
            Fate::Sent {
                message_id,
                content_sha256,
                ledger,
            } => Some((*d, *c, message_id, content_sha256, ledger)),
            _ => None,
        })
        .collect();
    for chunk in sent.chunks(200) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "UPDATE deliveries SET state = 'sent', worker = NULL, lease_until = NULL, last_error = NULL, \
             attempts = attempts + 1, message_id = v.mid, content_sha256 = v.sha, sent_at = ",
        );
        qb.push_bind(now.timestamp());
        qb.push(" FROM (");
        for (i, (d, _, mid, sha, _)) in chunk.iter().enumerate() {
            qb.push(if i == 0 {
                "SELECT "
            } else {
                " UNION ALL SELECT "
            });
            qb.push_bind(*d).push(" AS id, ");
            qb.push_bind(mid.to_string()).push(" AS mid, ");
            qb.push_bind(sha.to_string()).push(" AS sha");
        }
        qb.push(") AS v WHERE deliveries.id = v.id");
        qb.build().execute(&mut *conn).await?;
        let ledger: Vec<(i64, &LedgerEntry)> = chunk
            .iter()
            .map(|(_, contact_id, _, _, e)| (*contact_id, &***e))
            .collect();
        super::insert_ledger_rows(&mut *conn, &ledger).await?;
    }
    Ok(())
}

/// Every other fate, one by one: they are the exceptions.
async fn record_other(
    conn: &mut sqlx::SqliteConnection,
    delivery_id: i64,
    contact_id: i64,
    campaign_id: i64,
    fate: &Fate,
    now: Instant,
    webhooks: bool,
) -> Result<()> {
    let set = |state: &'static str, error: &str, due_at: Option<i64>| {
        sqlx::query(
            "UPDATE deliveries SET state = ?, worker = NULL, lease_until = NULL, last_error = ?, \
             attempts = attempts + 1, due_at = COALESCE(?, due_at) WHERE id = ?",
        )
        .bind(state)
        .bind(error.to_string())
        .bind(due_at)
        .bind(delivery_id)
    };
    match fate {
        Fate::Sent { .. } => {}
        Fate::Released => release(conn, &[delivery_id]).await?,
        Fate::Retry { due_at, error } => {
            set("retry", error, Some(due_at.timestamp()))
                .execute(&mut *conn)
                .await?;
        }
        Fate::Failed { error } => {
            set("failed", error, None).execute(&mut *conn).await?;
        }
        Fate::Unknown { error } => {
            set("unknown", error, None).execute(&mut *conn).await?;
        }
        Fate::Bounced {
            error,
            deletion_due_at,
            effects,
        } => {
            set("bounced", error, None).execute(&mut *conn).await?;
            if let Some(reason) = effects.suppress {
                suppress(conn, contact_id, reason.as_str(), now, *deletion_due_at).await?;
            }
            if webhooks && effects.webhook_queued {
                super::webhooks::enqueue_contact_queued(conn, contact_id, now).await?;
            }
        }
        Fate::PauseCampaign { reason } => {
            // Not the recipient's fault: the attempt is not counted against them.
            sqlx::query(
                "UPDATE deliveries SET state = 'queued', worker = NULL, lease_until = NULL, \
                 last_error = ? WHERE id = ?",
            )
            .bind(reason)
            .bind(delivery_id)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "UPDATE campaigns SET state = 'paused', state_reason = ?, updated_at = ? WHERE id = ? AND state = 'running'",
            )
            .bind(reason)
            .bind(now.timestamp())
            .bind(campaign_id)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Never e-mailed again, and erased from `due_at`: what a hard bounce or a leaver gets.
pub(super) async fn suppress(
    conn: &mut sqlx::SqliteConnection,
    contact_id: i64,
    reason: &str,
    now: Instant,
    due_at: Instant,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO suppressions (contact_id, reason, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(contact_id)
    .bind(reason)
    .bind(now.timestamp())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO deletion_queue (contact_id, reason, queued_at, due_at) \
         VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(contact_id)
    .bind(reason)
    .bind(now.timestamp())
    .bind(due_at.timestamp())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Rows this sender holds but did not send (claimed, or marked and then stopped by a
/// pause) back to the queue, or to `cancelled` if their campaign was cancelled.
async fn release(conn: &mut sqlx::SqliteConnection, ids: &[i64]) -> Result<()> {
    for chunk in ids.chunks(500) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "UPDATE deliveries SET worker = NULL, lease_until = NULL, \
             state = CASE (SELECT state FROM campaigns c WHERE c.id = deliveries.campaign_id) \
             WHEN 'cancelled' THEN 'cancelled' ELSE 'queued' END \
             WHERE state IN ('claimed', 'sending') AND id IN (",
        );
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(")");
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}
