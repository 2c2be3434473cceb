//! The ledger's hash chain, PostgreSQL side: what `sqlite/chain.rs` does, for a base
//! shared by writers on several machines. The rules are all in `crate::ledger`.
//!
//! Writers on several machines must not fork the chain: an append first takes a
//! transaction-scoped advisory lock, so the next writer reads the heads only after this
//! transaction commits; entry ids are drawn after the lock, so id order is chain order.

use super::PgStore;
use crate::domain::from_unix;
use crate::ledger::chain::{self, Heads, Subject};
use crate::ledger::verify::StoredEntry;
use crate::store::chain_rows::{ENTRY_COLUMNS, stored_entry};
use crate::store::{ChainHead, LedgerEntry};
use anyhow::Result;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use std::collections::{BTreeSet, HashMap};

/// The advisory lock that serialises appends to the ledger ("ledger" in ASCII).
const LEDGER_LOCK: i64 = 0x6c65_6467_6572;

/// Rows per statement: 22 parameters a row stays under PostgreSQL's 65,535.
const ROWS_PER_STATEMENT: usize = 1_000;

/// Appends ledger entries (contact id, entry), chained in the order given; call inside
/// the transaction that writes what the entries record.
pub(super) async fn append(conn: &mut PgConnection, rows: &[(i64, &LedgerEntry)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LEDGER_LOCK)
        .execute(&mut *conn)
        .await?;
    let mut heads = Heads {
        base: sqlx::query_as(
            "SELECT seq, hash FROM ledger WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(&mut *conn)
        .await?,
        contacts: HashMap::new(),
    };
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let ids: Vec<i64> = chunk
            .iter()
            .map(|(id, _)| *id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let salts: Vec<Vec<u8>> = ids.iter().map(|_| chain::new_salt().to_vec()).collect();
        sqlx::query(
            "INSERT INTO ledger_salts (contact_id, salt) \
             SELECT t.id, t.salt FROM unnest($1::bigint[], $2::bytea[]) AS t(id, salt) \
             JOIN contacts c ON c.id = t.id ON CONFLICT (contact_id) DO NOTHING",
        )
        .bind(&ids)
        .bind(&salts)
        .execute(&mut *conn)
        .await?;
        let subjects = subjects(conn, &ids, &mut heads).await?;
        let linked = chain::link_batch(&mut heads, chunk, &subjects);
        let mut qb = QueryBuilder::<Postgres>::new(
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

/// The salt and address of each contact, and (into `heads`, unless already there) the
/// hash of its last chained entry.
async fn subjects(
    conn: &mut PgConnection,
    ids: &[i64],
    heads: &mut Heads,
) -> Result<HashMap<i64, Subject>> {
    let rows = sqlx::query(
        "SELECT t.id, c.email_key, s.salt, \
           (SELECT l.hash FROM ledger l WHERE l.contact_id = t.id AND l.hash IS NOT NULL \
            ORDER BY l.id DESC LIMIT 1) AS head \
         FROM unnest($1::bigint[]) AS t(id) LEFT JOIN contacts c ON c.id = t.id \
         LEFT JOIN ledger_salts s ON s.contact_id = t.id",
    )
    .bind(ids)
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

/// Destroys the salts of erased contacts, inside the erasure's transaction.
pub(super) async fn destroy_salts(conn: &mut PgConnection, ids: &[i64]) -> Result<()> {
    sqlx::query("DELETE FROM ledger_salts WHERE contact_id = ANY($1)")
        .bind(ids)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl PgStore {
    /// Ledger entries after row `after`, in the order they were written.
    pub async fn chain_page(&self, after: i64, limit: i64) -> Result<Vec<StoredEntry>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} WHERE l.id > $1 ORDER BY l.id LIMIT $2"
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
            "SELECT {ENTRY_COLUMNS} WHERE l.contact_id = $1 ORDER BY l.id"
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
