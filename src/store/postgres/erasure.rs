//! Deletion queue and erasure (PostgreSQL). An erasure is one transaction per batch: a
//! contact is either wholly erased, with its tombstone, or untouched. Each step is one
//! statement for the whole batch, its rows passed as arrays.
//!
//! PostgreSQL keeps an updated or deleted row's old version in the table file until a
//! vacuum, and a plain `VACUUM` only marks the space free: the bytes stay until reused.
//! [`PgStore::scrub`] therefore rewrites the tables that held personal data with
//! `VACUUM (FULL)`, which writes each table, its TOAST table and its indexes anew from
//! the live rows and drops the old files.

use super::PgStore;
use super::contacts::{COLUMNS, columns_of, stored_from_row};
use crate::domain::Instant;
use crate::store::{Due, Erasure, LedgerEntry, StoredContact};
use anyhow::Result;
use sqlx::Row;
use std::collections::HashSet;

/// The tables an erasure rewrites or deletes rows of that held personal data: the
/// contact itself, its ledger's IP, user agent and detail, a server's refusal that may
/// quote the address, events for the shop that may carry it, and the ledger's salts
/// (with a salt, anyone holding an address could tie it to the chain's commitments).
const PERSONAL_TABLES: [&str; 5] = [
    "contacts",
    "ledger",
    "ledger_salts",
    "deliveries",
    "webhook_outbox",
];

/// How long a scrub waits for transactions older than the erasure to end.
const OLDER_TRANSACTIONS_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Silent: a request (any wave) is known to have reached the server, and no
/// confirmation or leave came since launch ($2), the contact still there.
const SILENT: &str = "FROM deliveries d WHERE d.campaign_id = $1 AND d.state = 'sent' \
    AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.contact_id = d.contact_id \
                    AND l.event IN ('confirmed', 'left', 'withdrawn') AND l.at >= $2) \
    AND EXISTS (SELECT 1 FROM contacts c WHERE c.id = d.contact_id)";

impl PgStore {
    /// Queues the silent of a campaign whose deadline has passed; returns how many.
    /// A delivery whose fate is `unknown` may never have left: its contact was not
    /// asked, and is not erased for not answering.
    pub async fn queue_non_responders(
        &self,
        campaign_id: i64,
        launched_at: Instant,
        due_at: Instant,
        now: Instant,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "INSERT INTO deletion_queue (contact_id, reason, queued_at, due_at) \
             SELECT DISTINCT d.contact_id, 'no_response', $3, $4 {SILENT} \
             ON CONFLICT (contact_id) DO NOTHING"
        );
        let n = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(campaign_id)
            .bind(launched_at.timestamp())
            .bind(now.timestamp())
            .bind(due_at.timestamp())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if self.webhooks {
            super::webhooks::enqueue_queued(&mut tx, campaign_id, now).await?;
            let name: String = sqlx::query_scalar("SELECT name FROM campaigns WHERE id = $1")
                .bind(campaign_id)
                .fetch_one(&mut *tx)
                .await?;
            let data = serde_json::json!({ "campaign": name, "queued_for_deletion": n });
            super::webhooks::enqueue(
                &mut tx,
                "campaign.completed",
                &format!("campaign:{name}"),
                data,
                now,
            )
            .await?;
        }
        sqlx::query(
            "UPDATE campaigns SET closed_at = $1, \
             state = CASE WHEN state = 'running' THEN 'completed' ELSE state END WHERE id = $2",
        )
        .bind(now.timestamp())
        .bind(campaign_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The contacts `queue_non_responders` would queue, without queueing them.
    pub async fn non_responders(&self, campaign_id: i64, launched_at: Instant) -> Result<Vec<i64>> {
        let sql = format!("SELECT DISTINCT d.contact_id {SILENT} ORDER BY 1");
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(campaign_id)
            .bind(launched_at.timestamp())
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn contacts_by_ids(&self, ids: &[i64]) -> Result<Vec<StoredContact>> {
        let sql =
            format!("SELECT id, public_id, {COLUMNS} FROM contacts WHERE id = ANY($1) ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ids)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(stored_from_row).collect()
    }

    /// Due entries of the deletion queue after contact id `after`, in id order.
    pub async fn due_for_erasure(&self, now: Instant, after: i64, limit: i64) -> Result<Vec<Due>> {
        let sql = format!(
            "SELECT c.id, c.public_id, {}, q.reason AS q_reason, q.queued_at AS q_at \
             FROM deletion_queue q JOIN contacts c ON c.id = q.contact_id \
             WHERE q.due_at <= $1 AND c.id > $2 ORDER BY c.id LIMIT $3",
            columns_of("c")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now.timestamp())
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Due {
                    contact: stored_from_row(r)?,
                    reason: r.try_get("q_reason")?,
                    queued_at: crate::domain::from_unix(r.try_get("q_at")?),
                })
            })
            .collect()
    }

    /// Takes contacts off the deletion queue (they confirmed, or came back with consent).
    pub async fn dequeue(&self, contact_ids: &[i64]) -> Result<()> {
        sqlx::query("DELETE FROM deletion_queue WHERE contact_id = ANY($1)")
            .bind(contact_ids)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Erases a batch in one transaction; returns the ids actually erased. A contact
    /// that confirmed after it was queued is kept: the contacts' rows are locked first,
    /// so a confirmation either lands before and is seen, or waits and finds the
    /// contact gone.
    pub async fn erase(&self, batch: &[Erasure], now: Instant) -> Result<Vec<i64>> {
        let mut tx = self.pool.begin().await?;
        let queued: Vec<i64> = batch.iter().map(|e| e.contact_id).collect();
        sqlx::query("SELECT id FROM contacts WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(&queued)
            .execute(&mut *tx)
            .await?;
        let confirmed: HashSet<i64> = sqlx::query_scalar(
            "SELECT q.contact_id FROM deletion_queue q WHERE q.contact_id = ANY($1) AND EXISTS \
               (SELECT 1 FROM ledger l WHERE l.contact_id = q.contact_id \
                AND l.event = 'confirmed' AND l.at >= q.queued_at)",
        )
        .bind(&queued)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let erase: Vec<&Erasure> = batch
            .iter()
            .filter(|e| !confirmed.contains(&e.contact_id))
            .collect();
        let ids: Vec<i64> = erase.iter().map(|e| e.contact_id).collect();
        let keys: Vec<&[u8]> = erase.iter().map(|e| e.tombstone.as_slice()).collect();
        let reasons: Vec<&str> = erase.iter().map(|e| e.reason.as_str()).collect();
        let at = now.timestamp();
        sqlx::query(
            "INSERT INTO tombstones (key, reason, at) \
             SELECT k, r, $3 FROM unnest($1::BYTEA[], $2::TEXT[]) AS u (k, r) \
             ON CONFLICT (key) DO UPDATE SET reason = excluded.reason, at = excluded.at",
        )
        .bind(&keys)
        .bind(&reasons)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        // The ledger keeps the facts of consent, not the person: IP, user agent and
        // free-form detail go (rows without them are left alone: no needless old version).
        sqlx::query(
            "UPDATE ledger SET ip = NULL, user_agent = NULL, detail = NULL \
             WHERE contact_id = ANY($1) \
               AND (ip IS NOT NULL OR user_agent IS NOT NULL OR detail IS NOT NULL)",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        // A server's refusal may quote the address, so every error goes. What was still
        // to be sent never will be: no sender tries it, and `send --until-idle` does not
        // wait for it.
        sqlx::query(
            "UPDATE deliveries SET \
               last_error = CASE WHEN state IN ('queued', 'retry', 'claimed') THEN 'erased' END, \
               state = CASE WHEN state IN ('queued', 'retry', 'claimed') THEN 'cancelled' ELSE state END \
             WHERE contact_id = ANY($1) \
               AND (last_error IS NOT NULL OR state IN ('queued', 'retry', 'claimed'))",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        let erased: Vec<(i64, LedgerEntry)> = erase.iter().map(|e| e.ledger_entry(now)).collect();
        let rows: Vec<(i64, &LedgerEntry)> = erased.iter().map(|(id, e)| (*id, e)).collect();
        super::chain::append(&mut tx, &rows).await?;
        super::chain::destroy_salts(&mut tx, &ids).await?;
        // Confirmed contacts leave the queue too: they are kept.
        sqlx::query("DELETE FROM deletion_queue WHERE contact_id = ANY($1)")
            .bind(&queued)
            .execute(&mut *tx)
            .await?;
        if self.webhooks && !erase.is_empty() {
            let events: Vec<(String, serde_json::Value)> = erase
                .iter()
                .map(|e| {
                    let mut data = crate::store::records::about(
                        &e.public_id,
                        &e.email,
                        e.external_id.as_deref(),
                    );
                    data.insert("reason".into(), e.reason.clone().into());
                    data.insert("erased_at".into(), now.to_rfc3339().into());
                    (e.public_id.clone(), data.into())
                })
                .collect();
            super::webhooks::enqueue_many(&mut tx, "contact.purged", &events, now).await?;
        }
        sqlx::query("DELETE FROM contacts WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Nothing to do between batches: PostgreSQL's write-ahead log is recycled by its
    /// own checkpoints; the old row versions go in [`Self::scrub`].
    pub async fn after_erase_batch(&self) -> Result<()> {
        Ok(())
    }

    /// When the tables were last rewritten by [`Self::scrub`].
    pub async fn last_scrub(&self) -> Result<Option<Instant>> {
        let at: Option<i64> = sqlx::query_scalar("SELECT max(scrubbed_at) FROM purge_runs")
            .fetch_one(&self.pool)
            .await?;
        Ok(at.map(crate::domain::from_unix))
    }

    /// Whether a run erased contacts (or stopped midway) since the tables were last
    /// rewritten by [`Self::scrub`].
    pub async fn scrub_due(&self) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM purge_runs WHERE NOT dry_run AND scrubbed_at IS NULL \
             AND (purged > 0 OR finished_at IS NULL))",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Rewrites the tables that held personal data from their live rows (see the
    /// module's comment): no old row version of an erased contact is left in them.
    pub async fn scrub(&self, now: Instant) -> Result<()> {
        let settled = self.wait_for_older_transactions().await?;
        self.vacuum_full(&PERSONAL_TABLES).await?;
        if !settled {
            // Left unmarked: the next purge or forget rewrites the tables again.
            return Ok(());
        }
        // Marked after the rewrite: a scrub stopped midway is done again next time.
        sqlx::query(
            "UPDATE purge_runs SET scrubbed_at = $1 WHERE scrubbed_at IS NULL AND NOT dry_run",
        )
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Waits until no transaction that began before the erasures committed is still
    /// running; true once none is, false if some still are after a minute.
    ///
    /// `VACUUM (FULL)` copies a deleted row into the new file while some snapshot may
    /// still read it, and every snapshot, the rewrite's own included, counts as running
    /// each transaction that was running when it was taken, in any database of the
    /// cluster: one long import in another database would keep the erased bytes.
    async fn wait_for_older_transactions(&self) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        // A transaction id of our own, newer than every erasure's (64 and 32 bits).
        let (mark, mark32): (String, String) = sqlx::query_as(
            "SELECT x::text, (x::text::bigint % 4294967296)::text FROM pg_current_xact_id() AS x",
        )
        .fetch_one(&mut *conn)
        .await?;
        let started = std::time::Instant::now();
        let mut first = true;
        loop {
            // Older transactions anywhere, and older read-only snapshots in this database.
            // A plain (lazy) VACUUM does not count: the rewrite's horizon leaves such
            // backends out (the server marks them as vacuuming), and after a million
            // erasures autovacuum comes by at once, for half a minute or more.
            let clear: bool = sqlx::query_scalar(
                "SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 AND NOT EXISTS \
                   (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() \
                    AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL \
                    AND age(backend_xmin) >= age($2::xid) \
                    AND pid NOT IN (SELECT pid FROM pg_stat_progress_vacuum))",
            )
            .bind(&mark)
            .bind(&mark32)
            .fetch_one(&mut *conn)
            .await?;
            if clear {
                if started.elapsed() > std::time::Duration::from_secs(1) {
                    tracing::info!(
                        "waited {:.1} s for transactions older than the erasure to end",
                        started.elapsed().as_secs_f64()
                    );
                }
                return Ok(true);
            }
            if first {
                first = false;
                let sessions = older_sessions(&mut conn, &mark32).await?.join(", ");
                tracing::info!(
                    sessions,
                    "waiting for transactions older than the erasure to end"
                );
            }
            if started.elapsed() > OLDER_TRANSACTIONS_WAIT {
                let sessions = older_sessions(&mut conn, &mark32).await?.join(", ");
                tracing::warn!(
                    sessions,
                    "transactions that began before the erasure still run: the tables are \
                     rewritten now, and again by the next purge or forget"
                );
                return Ok(false);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// `VACUUM (FULL)` of `tables`, each on its own (it cannot run in a transaction).
    /// The marking of purge runs rewrote a row of `purge_runs`, which holds no
    /// personal data.
    pub(super) async fn vacuum_full(&self, tables: &[&str]) -> Result<()> {
        for table in tables {
            // The names are constants of this module and of `webhooks`, never user input.
            sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM (FULL) {table}")))
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Nothing beyond [`Self::scrub`]: the write-ahead log's segments are the server's
    /// (see README, PostgreSQL).
    pub async fn settle(&self) -> Result<()> {
        Ok(())
    }

    pub async fn start_purge_run(&self, now: Instant, dry_run: bool) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO purge_runs (started_at, dry_run) VALUES ($1, $2) RETURNING id",
        )
        .bind(now.timestamp())
        .bind(dry_run)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn finish_purge_run(
        &self,
        id: i64,
        now: Instant,
        purged: u64,
        held: u64,
        kept: u64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE purge_runs SET finished_at = $1, purged = $2, held = $3, kept = $4 WHERE id = $5",
        )
        .bind(now.timestamp())
        .bind(purged as i64)
        .bind(held as i64)
        .bind(kept as i64)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Queues one contact for erasure now (hard bounce, leave, or `forget`).
    pub async fn queue_erasure(
        &self,
        contact_id: i64,
        reason: &str,
        now: Instant,
        due_at: Instant,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO deletion_queue (contact_id, reason, queued_at, due_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (contact_id) DO UPDATE SET reason = excluded.reason, \
             due_at = least(deletion_queue.due_at, excluded.due_at)",
        )
        .bind(contact_id)
        .bind(reason)
        .bind(now.timestamp())
        .bind(due_at.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// The sessions running a transaction older than `mark32`, or holding an older snapshot
/// in this database: what a rewrite waits for.
async fn older_sessions(conn: &mut sqlx::PgConnection, mark32: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(datname, '-') || ': ' \
           || coalesce(nullif(application_name, ''), backend_type) || ' (pid ' || pid || ')' \
         FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND \
           ((backend_xid IS NOT NULL AND age(backend_xid) >= age($1::xid)) \
            OR (datname = current_database() AND backend_xmin IS NOT NULL \
                AND age(backend_xmin) >= age($1::xid) \
                AND pid NOT IN (SELECT pid FROM pg_stat_progress_vacuum)))",
    )
    .bind(mark32)
    .fetch_all(&mut *conn)
    .await?)
}
