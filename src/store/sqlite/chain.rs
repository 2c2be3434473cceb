//! The ledger's hash chain, SQLite side: read the heads inside the write transaction,
//! append what `ledger::chain` computed, read entries back for `verify`. The chain's
//! rules are all in `crate::ledger`; here is only SQL.
//!
//! Two writers cannot fork the chain: an append first writes (the salts), which takes
//! SQLite's write lock for the transaction, and only then reads the heads it continues.

use super::SqliteStore;
use crate::domain::from_unix;
use crate::ledger::chain::{self, Heads, Subject};
use crate::ledger::verify::StoredEntry;
use crate::store::chain_rows::{ENTRY_COLUMNS, stored_entry};
use crate::store::{ChainHead, LedgerEntry};
use anyhow::Result;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use std::collections::{BTreeSet, HashMap};

/// Rows per statement: 22 parameters a row stays under SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 500;

/// Appends ledger entries (contact id, entry), chained in the order given.
pub(super) async fn append(
    conn: &mut SqliteConnection,
    rows: &[(i64, &LedgerEntry)],
) -> Result<()> {
    let mut heads = Heads::default();
    for (i, chunk) in rows.chunks(ROWS_PER_STATEMENT).enumerate() {
        let ids: BTreeSet<i64> = chunk.iter().map(|(id, _)| *id).collect();
        ensure_salts(conn, &ids).await?;
        if i == 0 {
            heads.base = base_head(conn).await?;
        }
        let subjects = subjects(conn, &ids, &mut heads).await?;
        let linked = chain::link_batch(&mut heads, chunk, &subjects);
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO ledger (contact_id, event, at, campaign, wave, ip, user_agent, content_sha256, \
             privacy_sha256, privacy_version, message_id, policy_version, suspect, detail, seq, \
             prev_hash, contact_prev_hash, hash, address_commit, ip_commit, user_agent_commit, \
             detail_commit) ",
        );
        qb.push_values(chunk.iter().zip(linked), |mut b, ((id, e), (detail, c))| {
            b.push_bind(*id)
                .push_bind(e.event.as_str())
                .push_bind(e.at.timestamp())
                .push_bind(e.campaign.clone())
                .push_bind(e.wave.clone())
                .push_bind(e.ip.clone())
                .push_bind(e.user_agent.clone())
                .push_bind(e.content_sha256.clone())
                .push_bind(e.privacy_sha256.clone())
                .push_bind(e.privacy_version.clone())
                .push_bind(e.message_id.clone())
                .push_bind(e.policy_version.clone())
                .push_bind(e.suspect)
                .push_bind(detail)
                .push_bind(c.link.seq)
                .push_bind(c.link.prev_hash)
                .push_bind(c.link.contact_prev_hash)
                .push_bind(c.link.hash)
                .push_bind(c.commitments.address)
                .push_bind(c.commitments.ip)
                .push_bind(c.commitments.user_agent)
                .push_bind(c.commitments.detail);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Gives every contact in `ids` that exists a salt if it has none.
async fn ensure_salts(conn: &mut SqliteConnection, ids: &BTreeSet<i64>) -> Result<()> {
    let salts: Vec<(i64, String)> = ids
        .iter()
        .map(|id| (*id, hex::encode(chain::new_salt())))
        .collect();
    sqlx::query(
        "INSERT INTO ledger_salts (contact_id, salt) \
         SELECT value ->> 0, unhex(value ->> 1) FROM json_each(?) \
         WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.id = value ->> 0) \
         ON CONFLICT (contact_id) DO NOTHING",
    )
    .bind(serde_json::to_string(&salts)?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn base_head(conn: &mut SqliteConnection) -> Result<Option<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT seq, hash FROM ledger WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// The salt and address of each contact in `ids`, and (into `heads`, unless already
/// there) the hash of its last chained entry.
async fn subjects(
    conn: &mut SqliteConnection,
    ids: &BTreeSet<i64>,
    heads: &mut Heads,
) -> Result<HashMap<i64, Subject>> {
    let rows = sqlx::query(
        "SELECT j.value AS id, c.email_key, s.salt, \
           (SELECT l.hash FROM ledger l WHERE l.contact_id = j.value AND l.hash IS NOT NULL \
            ORDER BY l.id DESC LIMIT 1) AS head \
         FROM json_each(?) j LEFT JOIN contacts c ON c.id = j.value \
         LEFT JOIN ledger_salts s ON s.contact_id = j.value",
    )
    .bind(serde_json::to_string(ids)?)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = HashMap::new();
    for r in rows {
        let id: i64 = r.try_get("id")?;
        if let Some(head) = r.try_get::<Option<String>, _>("head")? {
            heads.contacts.entry(id).or_insert(head);
        }
        out.insert(
            id,
            Subject {
                salt: r.try_get("salt")?,
                address: r.try_get("email_key")?,
            },
        );
    }
    Ok(out)
}

/// Chains the entries written before the chain existed, once, in id order, in one
/// transaction: a base opened midway is chained again from the start.
pub(super) async fn chain_existing(store: &SqliteStore) -> Result<()> {
    let unchained: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM ledger WHERE seq IS NULL)")
            .fetch_one(&store.writer)
            .await?;
    if !unchained {
        return Ok(());
    }
    let mut tx = store.writer.begin().await?;
    let mut heads = Heads {
        base: base_head(&mut tx).await?,
        contacts: HashMap::new(),
    };
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} WHERE l.hash IS NULL AND l.id > ? ORDER BY l.id LIMIT ?"
        )))
        .bind(after)
        .bind(ROWS_PER_STATEMENT as i64)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("id")?;
        let entries = rows.iter().map(stored_entry).collect::<Result<Vec<_>>>()?;
        let ids: BTreeSet<i64> = entries.iter().map(|e| e.contact_id).collect();
        ensure_salts(&mut tx, &ids).await?;
        heads.contacts.clear();
        let subjects = subjects(&mut tx, &ids, &mut heads).await?;
        let updates: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                let subject = subjects.get(&e.contact_id).cloned().unwrap_or_default();
                let c = chain::link(
                    &mut heads,
                    e.contact_id,
                    &e.entry,
                    e.detail_text.as_deref(),
                    &subject,
                );
                serde_json::json!([
                    e.id,
                    c.link.seq,
                    c.link.prev_hash,
                    c.link.contact_prev_hash,
                    c.link.hash,
                    c.commitments.address,
                    c.commitments.ip,
                    c.commitments.user_agent,
                    c.commitments.detail
                ])
            })
            .collect();
        sqlx::query(
            "UPDATE ledger SET seq = j.value ->> 1, prev_hash = j.value ->> 2, \
               contact_prev_hash = j.value ->> 3, hash = j.value ->> 4, \
               address_commit = j.value ->> 5, ip_commit = j.value ->> 6, \
               user_agent_commit = j.value ->> 7, detail_commit = j.value ->> 8 \
             FROM json_each(?) j WHERE ledger.id = j.value ->> 0",
        )
        .bind(serde_json::to_string(&updates)?)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Destroys the salts of erased contacts: their commitments lead back to no one.
pub(super) async fn destroy_salts(conn: &mut SqliteConnection, ids_json: &str) -> Result<()> {
    sqlx::query("DELETE FROM ledger_salts WHERE contact_id IN (SELECT value FROM json_each(?))")
        .bind(ids_json)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl SqliteStore {
    /// Ledger entries after row `after`, in the order they were written.
    pub async fn chain_page(&self, after: i64, limit: i64) -> Result<Vec<StoredEntry>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} WHERE l.id > ? ORDER BY l.id LIMIT ?"
        )))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_entry).collect()
    }

    /// One contact's ledger entries with their chain, in the order they were written.
    pub async fn chain_of(&self, contact_id: i64) -> Result<Vec<StoredEntry>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} WHERE l.contact_id = ? ORDER BY l.id"
        )))
        .bind(contact_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_entry).collect()
    }

    /// The chain's last entry; `None` while the ledger is empty.
    pub async fn chain_head(&self) -> Result<Option<ChainHead>> {
        let row: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT hash, seq, at FROM ledger WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(head, entries, at)| ChainHead {
            head,
            entries,
            at: from_unix(at),
        }))
    }
}
