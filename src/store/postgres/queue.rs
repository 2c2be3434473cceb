//! The delivery queue (PostgreSQL): claims taken with `FOR UPDATE SKIP LOCKED` under a
//! lease, so senders on several machines never take one delivery twice nor wait on
//! each other; the throttle's schedule advanced by one `UPDATE … RETURNING`, which
//! locks the campaign's row for the statement: every sender gets its own slots.

use super::PgStore;
use super::contacts::{columns_of, insert_ledger_rows, stored_from_row};
use crate::domain::Instant;
use crate::store::{Claimed, Fate, LedgerEntry, QueueState, SlotRequest, THANK_YOU_WAVE};
use anyhow::Result;
use sqlx::{PgConnection, Row};
use std::collections::{BTreeMap, HashSet};

impl PgStore {
    /// Deliveries left by senders whose lease ran out: those their wire log names
    /// become `unknown`, never resent; the rest go back to the queue.
    pub async fn recover_abandoned(&self, now: Instant) -> Result<(u64, u64)> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<(i64, Option<String>, String, bool)> = sqlx::query_as(
            "SELECT d.id, d.worker, d.state, EXISTS (SELECT 1 FROM wire_log w \
                WHERE w.worker = d.worker AND w.delivery_id = d.id) \
             FROM deliveries d WHERE d.state IN ('claimed', 'sending') AND d.lease_until < $1 \
             FOR UPDATE SKIP LOCKED",
        )
        .bind(now.timestamp())
        .fetch_all(&mut *tx)
        .await?;
        let (mut unknown, mut requeued) = (Vec::new(), Vec::new());
        for (id, _, state, on_the_wire) in &rows {
            if state == "sending" || *on_the_wire {
                &mut unknown
            } else {
                &mut requeued
            }
            .push(*id);
        }
        sqlx::query(
            "UPDATE deliveries SET state = 'queued', worker = NULL, lease_until = NULL \
             WHERE id = ANY($1)",
        )
        .bind(&requeued)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE deliveries SET state = 'unknown', worker = NULL, lease_until = NULL, \
             attempts = attempts + 1, last_error = 'the sender stopped while the mail server had \
             this message and before it answered; not resent, to avoid a duplicate' \
             WHERE id = ANY($1)",
        )
        .bind(&unknown)
        .execute(&mut *tx)
        .await?;
        let mut workers: Vec<String> = rows.into_iter().filter_map(|(_, w, _, _)| w).collect();
        workers.sort_unstable();
        workers.dedup();
        // A worker whose claims are all settled leaves nothing its log must tell.
        sqlx::query(
            "DELETE FROM wire_log w WHERE w.worker = ANY($1) AND NOT EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.worker = w.worker AND d.state IN ('claimed', 'sending'))",
        )
        .bind(&workers)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((requeued.len() as u64, unknown.len() as u64))
    }

    /// Claims up to `limit` due deliveries of a campaign for `worker`, thank-you mails
    /// first; each is checked again with `refuse` in the same transaction.
    pub async fn claim(
        &self,
        worker: &str,
        campaign_id: i64,
        now: Instant,
        lease_until: Instant,
        limit: i64,
        refuse: &(dyn Fn(&Claimed) -> Option<&'static str> + Sync),
    ) -> Result<Vec<Claimed>> {
        let mut tx = self.pool.begin().await?;
        let mut ids: Vec<(i64, i64, i64)> = Vec::new();
        for (wave_filter, states) in [
            ("d.wave = $5", "('running', 'completed')"),
            ("d.wave <> $5", "('running')"),
        ] {
            let left = limit - ids.len() as i64;
            if left <= 0 {
                break;
            }
            let sql = format!(
                "UPDATE deliveries SET state = 'claimed', worker = $1, lease_until = $2 \
                 WHERE id IN (SELECT d.id FROM deliveries d \
                              WHERE d.campaign_id = $3 AND {wave_filter} \
                              AND d.state IN ('queued', 'retry') AND d.due_at <= $4 \
                              AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = d.campaign_id \
                                          AND c.state IN {states}) \
                              ORDER BY d.due_at, d.id LIMIT $6 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, wave, attempts"
            );
            let claimed: Vec<(i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(worker)
                .bind(lease_until.timestamp())
                .bind(campaign_id)
                .bind(now.timestamp())
                .bind(THANK_YOU_WAVE)
                .bind(left)
                .fetch_all(&mut *tx)
                .await?;
            ids.extend(claimed);
        }
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let all: Vec<i64> = ids.iter().map(|(id, _, _)| *id).collect();
        let sql = format!(
            "SELECT d.id AS delivery_id, \
               EXISTS (SELECT 1 FROM suppressions s WHERE s.contact_id = d.contact_id) AS suppressed, \
               (SELECT code FROM bonus_codes b WHERE b.campaign_id = d.campaign_id \
                AND b.contact_id = d.contact_id) AS bonus_code, \
               c.id, c.public_id, {} \
             FROM deliveries d JOIN contacts c ON c.id = d.contact_id \
             WHERE d.id = ANY($1) ORDER BY d.id",
            columns_of("c")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&all)
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
        let (mut cancel_ids, mut cancel_why): (Vec<i64>, Vec<&str>) = all
            .iter()
            .filter(|id| !found.iter().any(|c| c.delivery_id == **id))
            .map(|id| (*id, "erased"))
            .unzip();
        let mut claimed = Vec::with_capacity(found.len());
        for c in found {
            match refuse(&c) {
                Some(reason) => {
                    cancel_ids.push(c.delivery_id);
                    cancel_why.push(reason);
                }
                None => claimed.push(c),
            }
        }
        if !cancel_ids.is_empty() {
            sqlx::query(
                "UPDATE deliveries d SET state = 'cancelled', worker = NULL, lease_until = NULL, \
                 last_error = v.why FROM unnest($1::BIGINT[], $2::TEXT[]) AS v (id, why) \
                 WHERE d.id = v.id",
            )
            .bind(&cancel_ids)
            .bind(&cancel_why)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    pub async fn still_claimed(&self, ids: &[i64]) -> Result<HashSet<i64>> {
        let found: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM deliveries WHERE id = ANY($1) AND state = 'claimed'",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(found.into_iter().collect())
    }

    pub async fn release(&self, ids: &[i64]) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        release(&mut conn, ids).await
    }

    pub async fn renew_leases(&self, worker: &str, lease_until: Instant) -> Result<()> {
        // Rows locked in id order, as the journal's statements lock them.
        sqlx::query(
            "UPDATE deliveries SET lease_until = $1 WHERE id IN (SELECT id FROM deliveries \
             WHERE worker = $2 AND state IN ('claimed', 'sending') ORDER BY id FOR UPDATE)",
        )
        .bind(lease_until.timestamp())
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A sender's writes in one transaction: slots of the throttle, then outcomes.
    ///
    /// Senders on several machines, and this sender's lease renewal, lock the same rows
    /// in different orders; the server then aborts one transaction as a deadlock. That
    /// transaction wrote nothing, so it is simply run again.
    pub async fn journal(
        &self,
        results: &[(i64, i64, i64, Fate)],
        slots: &[SlotRequest],
        now: Instant,
    ) -> Result<Vec<i64>> {
        let mut attempt = 1;
        loop {
            match self.journal_once(results, slots, now).await {
                Err(e) if attempt < 5 && super::is_transient(&e) => {
                    tracing::debug!("the journal's transaction runs again: {e:#}");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn journal_once(
        &self,
        results: &[(i64, i64, i64, Fate)],
        slots: &[SlotRequest],
        now: Instant,
    ) -> Result<Vec<i64>> {
        let mut tx = self.pool.begin().await?;
        let mut tats = Vec::with_capacity(slots.len());
        for r in slots {
            // One statement: the row is locked while it runs, so senders on every
            // machine take slots one after the other, never the same one.
            let tat: i64 = sqlx::query_scalar(
                "UPDATE campaigns SET pace_tat = greatest(coalesce(pace_tat, $1), $1) + $2 * $3 \
                 WHERE id = $4 RETURNING pace_tat",
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

    pub async fn queue_state(&self, campaign_id: Option<i64>, now: Instant) -> Result<QueueState> {
        let sendable = "(c.state = 'running' OR (c.state = 'completed' AND d.wave = -1))";
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT \
               count(*) FILTER (WHERE d.state IN ('queued', 'retry') AND d.due_at <= $1 AND {sendable}) AS due, \
               count(*) FILTER (WHERE d.state IN ('claimed', 'sending')) AS in_flight, \
               count(*) FILTER (WHERE d.state IN ('queued', 'retry') AND d.due_at > $1 AND {sendable}) AS later \
             FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id \
             WHERE ($2::BIGINT IS NULL OR d.campaign_id = $2) \
               AND d.state IN ('queued', 'retry', 'claimed', 'sending')",
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
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM suppressions WHERE contact_id = $1)")
                .bind(contact_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn suppressed_ids(&self) -> Result<HashSet<i64>> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT contact_id FROM suppressions")
            .fetch_all(&self.pool)
            .await?;
        Ok(ids.into_iter().collect())
    }
}

/// Sent messages, the common case: one statement for their rows, one for the ledger.
async fn record_sent(
    conn: &mut PgConnection,
    results: &[(i64, i64, i64, Fate)],
    now: Instant,
) -> Result<()> {
    let mut ids = Vec::new();
    let mut mids = Vec::new();
    let mut shas = Vec::new();
    let mut ledger: Vec<(i64, &LedgerEntry)> = Vec::new();
    for (d, c, _, f) in results {
        if let Fate::Sent {
            message_id,
            content_sha256,
            ledger: entry,
        } = f
        {
            ids.push(*d);
            mids.push(message_id.as_str());
            shas.push(content_sha256.as_str());
            ledger.push((*c, entry));
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE deliveries d SET state = 'sent', worker = NULL, lease_until = NULL, last_error = NULL, \
         attempts = attempts + 1, message_id = v.mid, content_sha256 = v.sha, sent_at = $4 \
         FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[]) AS v (id, mid, sha) WHERE d.id = v.id",
    )
    .bind(&ids)
    .bind(&mids)
    .bind(&shas)
    .bind(now.timestamp())
    .execute(&mut *conn)
    .await?;
    insert_ledger_rows(conn, &ledger).await
}

/// Every other fate, one by one: they are the exceptions.
async fn record_other(
    conn: &mut PgConnection,
    delivery_id: i64,
    contact_id: i64,
    campaign_id: i64,
    fate: &Fate,
    now: Instant,
    webhooks: bool,
) -> Result<()> {
    let set = |state: &'static str, error: &str, due_at: Option<i64>| {
        sqlx::query(
            "UPDATE deliveries SET state = $1, worker = NULL, lease_until = NULL, last_error = $2, \
             attempts = attempts + 1, due_at = COALESCE($3, due_at) WHERE id = $4",
        )
        .bind(state)
        .bind(error.to_string())
        .bind(due_at)
        .bind(delivery_id)
    };
    match fate {
        Fate::Sent { .. } => {}
        Fate::Released => release(conn, &[delivery_id]).await?,
        Fate::Deferred { due_at } => {
            sqlx::query(
                "UPDATE deliveries SET state = 'queued', worker = NULL, lease_until = NULL, \
                 due_at = $1 WHERE id = $2",
            )
            .bind(due_at.timestamp())
            .bind(delivery_id)
            .execute(&mut *conn)
            .await?;
        }
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
            sqlx::query(
                "UPDATE deliveries SET state = 'queued', worker = NULL, lease_until = NULL, \
                 last_error = $1 WHERE id = $2",
            )
            .bind(reason)
            .bind(delivery_id)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "UPDATE campaigns SET state = 'paused', state_reason = $1, updated_at = $2 \
                 WHERE id = $3 AND state = 'running'",
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

/// Never e-mailed again, and erased from `due_at`.
pub(super) async fn suppress(
    conn: &mut PgConnection,
    contact_id: i64,
    reason: &str,
    now: Instant,
    due_at: Instant,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO suppressions (contact_id, reason, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(contact_id)
    .bind(reason)
    .bind(now.timestamp())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO deletion_queue (contact_id, reason, queued_at, due_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(contact_id)
    .bind(reason)
    .bind(now.timestamp())
    .bind(due_at.timestamp())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Rows this sender holds but did not send back to the queue, or to `cancelled` if
/// their campaign was cancelled.
async fn release(conn: &mut PgConnection, ids: &[i64]) -> Result<()> {
    sqlx::query(
        "UPDATE deliveries d SET worker = NULL, lease_until = NULL, \
         state = CASE WHEN c.state = 'cancelled' THEN 'cancelled' ELSE 'queued' END \
         FROM campaigns c WHERE c.id = d.campaign_id \
           AND d.state IN ('claimed', 'sending') AND d.id = ANY($1)",
    )
    .bind(ids)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
