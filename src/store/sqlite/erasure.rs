//! Deletion queue and erasure (SQLite). An erasure is one transaction per batch: a
//! contact is either wholly erased, with its tombstone, or untouched.

use super::{COLUMNS, SqliteStore, stored_from_row};
use crate::domain::Instant;
use crate::store::{Due, Erasure, LedgerEntry, StoredContact};
use anyhow::Result;
use futures_util::TryStreamExt;
use sqlx::{QueryBuilder, Row, Sqlite};

/// How large the WAL may grow during a purge before it is copied into the database.
const WAL_RESTART_BYTES: u64 = 256 << 20;

impl SqliteStore {
    /// Queues the silent of a campaign whose deadline has passed; returns how many.
    /// Silent: a request (any wave) is known to have reached the server, and no
    /// confirmation or leave came since launch. A delivery whose fate is `unknown` may
    /// never have left: its contact was not asked, and is not erased for not answering.
    pub async fn queue_non_responders(
        &self,
        campaign_id: i64,
        launched_at: Instant,
        due_at: Instant,
        now: Instant,
    ) -> Result<u64> {
        let mut tx = self.writer.begin().await?;
        let n = sqlx::query(
            "INSERT INTO deletion_queue (contact_id, reason, queued_at, due_at) \
             SELECT DISTINCT d.contact_id, 'no_response', ?1, ?2 FROM deliveries d \
             WHERE d.campaign_id = ?3 AND d.state = 'sent' \
               AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.contact_id = d.contact_id \
                               AND l.event IN ('confirmed', 'left', 'withdrawn') AND l.at >= ?4) \
               AND EXISTS (SELECT 1 FROM contacts c WHERE c.id = d.contact_id) \
             ON CONFLICT (contact_id) DO NOTHING",
        )
        .bind(now.timestamp())
        .bind(due_at.timestamp())
        .bind(campaign_id)
        .bind(launched_at.timestamp())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if self.webhooks {
            super::webhooks::enqueue_queued(&mut tx, campaign_id, now).await?;
            let name: String = sqlx::query_scalar("SELECT name FROM campaigns WHERE id = ?")
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
        sqlx::query("UPDATE campaigns SET closed_at = ?, state = CASE WHEN state = 'running' THEN 'completed' ELSE state END WHERE id = ?")
            .bind(now.timestamp())
            .bind(campaign_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The contacts `queue_non_responders` would queue, without queueing them.
    pub async fn non_responders(&self, campaign_id: i64, launched_at: Instant) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT d.contact_id FROM deliveries d \
             WHERE d.campaign_id = ?1 AND d.state = 'sent' \
               AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.contact_id = d.contact_id \
                               AND l.event IN ('confirmed', 'left', 'withdrawn') AND l.at >= ?2) \
               AND EXISTS (SELECT 1 FROM contacts c WHERE c.id = d.contact_id) ORDER BY 1",
        )
        .bind(campaign_id)
        .bind(launched_at.timestamp())
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn contacts_by_ids(&self, ids: &[i64]) -> Result<Vec<StoredContact>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut qb = QueryBuilder::<Sqlite>::new(format!(
                "SELECT id, public_id, {COLUMNS} FROM contacts WHERE id IN ("
            ));
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            qb.push(") ORDER BY id");
            for row in qb.build().fetch_all(&self.pool).await? {
                out.push(stored_from_row(&row)?);
            }
        }
        Ok(out)
    }

    /// Due entries of the deletion queue after contact id `after`, in id order.
    pub async fn due_for_erasure(&self, now: Instant, after: i64, limit: i64) -> Result<Vec<Due>> {
        let sql = format!(
            "SELECT c.id, c.public_id, {cols}, q.reason AS q_reason, q.queued_at AS q_at \
             FROM deletion_queue q JOIN contacts c ON c.id = q.contact_id \
             WHERE q.due_at <= ? AND c.id > ? ORDER BY c.id LIMIT ?",
            cols = COLUMNS
                .split(", ")
                .map(|c| format!("c.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Each row becomes a `Due` as it arrives: a batch of raw rows beside the batch
        // they become would double a purge's memory.
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now.timestamp())
            .bind(after)
            .bind(limit)
            .fetch(&self.pool);
        let mut due = Vec::new();
        while let Some(r) = rows.try_next().await? {
            due.push(Due {
                contact: stored_from_row(&r)?,
                reason: r.try_get("q_reason")?,
                queued_at: crate::domain::from_unix(r.try_get("q_at")?),
            });
        }
        Ok(due)
    }

    pub async fn campaign_closed(&self, id: i64) -> Result<bool> {
        let closed: Option<i64> =
            sqlx::query_scalar("SELECT closed_at FROM campaigns WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .flatten();
        Ok(closed.is_some())
    }

    /// Takes contacts off the deletion queue (they confirmed, or came back with consent).
    pub async fn dequeue(&self, contact_ids: &[i64]) -> Result<()> {
        for chunk in contact_ids.chunks(500) {
            let mut qb =
                QueryBuilder::<Sqlite>::new("DELETE FROM deletion_queue WHERE contact_id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            qb.push(")");
            qb.build().execute(&self.writer).await?;
        }
        Ok(())
    }

    /// Erases a batch in one transaction; returns the ids actually erased. A contact
    /// that confirmed after it was queued is kept: the check runs inside the
    /// transaction, so a confirmation either lands first and is seen, or finds the
    /// contact gone and is refused.
    ///
    /// Each step is one statement for the whole batch, its rows passed as a JSON array:
    /// statement by statement per contact, a million took over five minutes.
    pub async fn erase(&self, batch: &[Erasure], now: Instant) -> Result<Vec<i64>> {
        let mut tx = self.writer.begin().await?;
        let queued =
            serde_json::to_string(&batch.iter().map(|e| e.contact_id).collect::<Vec<_>>())?;
        let confirmed: std::collections::HashSet<i64> = sqlx::query_scalar(
            "SELECT q.contact_id FROM deletion_queue q \
             WHERE q.contact_id IN (SELECT value FROM json_each(?)) AND EXISTS \
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
        let ids = serde_json::to_string(&erase.iter().map(|e| e.contact_id).collect::<Vec<_>>())?;
        let rows = serde_json::to_string(
            &erase
                .iter()
                .map(|e| {
                    (
                        e.contact_id,
                        hex::encode(&e.tombstone),
                        &e.reason,
                        &e.policy_version,
                    )
                })
                .collect::<Vec<_>>(),
        )?;
        let at = now.timestamp();
        let steps: [(&str, &str); 4] = [
            (
                "INSERT INTO tombstones (key, reason, at) \
                 SELECT unhex(value ->> 1), value ->> 2, ?2 FROM json_each(?1) WHERE true \
                 ON CONFLICT (key) DO UPDATE SET reason = excluded.reason, at = excluded.at",
                &rows,
            ),
            // The ledger keeps the facts of consent, not the person: IP, user agent and
            // free-form detail go.
            (
                "UPDATE ledger SET ip = NULL, user_agent = NULL, detail = NULL \
                 WHERE contact_id IN (SELECT value FROM json_each(?1))",
                &ids,
            ),
            // A server's refusal may quote the address, so every error goes. What was
            // still to be sent never will be: no sender tries it, and `send --until-idle`
            // does not wait for it.
            (
                "UPDATE deliveries SET \
                   last_error = CASE WHEN state IN ('queued', 'retry', 'claimed') THEN 'erased' END, \
                   state = CASE WHEN state IN ('queued', 'retry', 'claimed') THEN 'cancelled' ELSE state END \
                 WHERE contact_id IN (SELECT value FROM json_each(?1)) \
                   AND (last_error IS NOT NULL OR state IN ('queued', 'retry', 'claimed'))",
                &ids,
            ),
            // Confirmed contacts leave the queue too: they are kept.
            (
                "DELETE FROM deletion_queue WHERE contact_id IN (SELECT value FROM json_each(?1))",
                &queued,
            ),
        ];
        for (sql, json) in steps {
            let mut query = sqlx::query(sql).bind(json);
            if sql.contains("?2") {
                query = query.bind(at);
            }
            query.execute(&mut *tx).await?;
        }
        let erased: Vec<(i64, LedgerEntry)> = erase.iter().map(|e| e.ledger_entry(now)).collect();
        let rows: Vec<(i64, &LedgerEntry)> = erased.iter().map(|(id, e)| (*id, e)).collect();
        super::chain::append(&mut tx, &rows).await?;
        super::chain::destroy_salts(&mut tx, &ids).await?;
        if self.webhooks {
            for e in &erase {
                let mut data =
                    crate::store::records::about(&e.public_id, &e.email, e.external_id.as_deref());
                data.insert("reason".into(), e.reason.clone().into());
                data.insert("erased_at".into(), now.to_rfc3339().into());
                super::webhooks::enqueue(&mut tx, "contact.purged", &e.public_id, data.into(), now)
                    .await?;
            }
        }
        sqlx::query("DELETE FROM contacts WHERE id IN (SELECT value FROM json_each(?))")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(erase.iter().map(|e| e.contact_id).collect())
    }

    /// Copies the WAL into the database and starts it again from its beginning, once it
    /// has grown past [`WAL_RESTART_BYTES`]. Under a stream of batches the background
    /// checkpoint never catches up with the writer, and the log grew by gigabytes over
    /// a purge of a million; after every batch, the pages each batch touches (the
    /// indexes' upper levels) were written to the file again and again.
    pub async fn after_erase_batch(&self) -> Result<()> {
        let mut wal = self
            .writer
            .connect_options()
            .get_filename()
            .as_os_str()
            .to_owned();
        wal.push("-wal");
        let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
        if size > WAL_RESTART_BYTES {
            sqlx::query("PRAGMA wal_checkpoint(RESTART)")
                .execute(&self.writer)
                .await?;
        }
        Ok(())
    }

    /// When the database was last rewritten by [`Self::scrub`].
    pub async fn last_scrub(&self) -> Result<Option<Instant>> {
        let at: Option<i64> = sqlx::query_scalar("SELECT max(scrubbed_at) FROM purge_runs")
            .fetch_one(&self.pool)
            .await?;
        Ok(at.map(crate::domain::from_unix))
    }

    /// Whether a run erased contacts (or stopped midway) since the database was last
    /// rewritten by [`Self::scrub`].
    pub async fn scrub_due(&self) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM purge_runs WHERE NOT dry_run AND scrubbed_at IS NULL \
             AND (purged > 0 OR finished_at IS NULL))",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Rewrites the database from its live rows, then empties the WAL: nothing of an
    /// erased row is left in either file. `secure_delete` zeroes a deleted cell and a
    /// freed page, but when SQLite rebalances a b-tree and rebuilds a page from its
    /// cells, the bytes of cells that moved to a sibling stay in the page's unused
    /// space; when that row is deleted later, only its live copy is zeroed.
    pub async fn scrub(&self, now: Instant) -> Result<()> {
        self.vacuum().await?;
        // Marked after the rewrite: a scrub stopped midway is done again next time.
        sqlx::query(
            "UPDATE purge_runs SET scrubbed_at = ? WHERE scrubbed_at IS NULL AND NOT dry_run",
        )
        .bind(now.timestamp())
        .execute(&self.writer)
        .await?;
        self.settle().await
    }

    /// Rewrites the database file from its live rows (see [`Self::scrub`] for why).
    pub(super) async fn vacuum(&self) -> Result<()> {
        sqlx::query("VACUUM").execute(&self.writer).await?;
        Ok(())
    }

    /// Copies the WAL into the database and empties it, so erased rows survive in
    /// neither file.
    pub async fn settle(&self) -> Result<()> {
        let (busy,): (i64,) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.writer)
            .await?;
        if busy != 0 {
            // A reader of another process held on past the busy timeout: the old pages
            // stay in the log until the next full checkpoint (at the latest, when the
            // last connection closes).
            tracing::warn!("the write-ahead log could not be emptied now: a reader is busy");
        }
        Ok(())
    }

    pub async fn start_purge_run(&self, now: Instant, dry_run: bool) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO purge_runs (started_at, dry_run) VALUES (?, ?) RETURNING id",
        )
        .bind(now.timestamp())
        .bind(dry_run)
        .fetch_one(&self.writer)
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
            "UPDATE purge_runs SET finished_at = ?, purged = ?, held = ?, kept = ? WHERE id = ?",
        )
        .bind(now.timestamp())
        .bind(purged as i64)
        .bind(held as i64)
        .bind(kept as i64)
        .bind(id)
        .execute(&self.writer)
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
            "INSERT INTO deletion_queue (contact_id, reason, queued_at, due_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (contact_id) DO UPDATE SET reason = excluded.reason, due_at = min(due_at, excluded.due_at)",
        )
        .bind(contact_id)
        .bind(reason)
        .bind(now.timestamp())
        .bind(due_at.timestamp())
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
