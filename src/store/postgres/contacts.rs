//! Secrets, contacts, tombstones and the ledger (PostgreSQL), and the import's one
//! transaction, staged in a temporary table and written in multi-row statements.

use super::{ImportTx, PgStore};
use crate::domain::{
    ConsentMethod, ConsentRecord, Contact, Country, EmailAddress, Instant, Locale, from_unix,
};
use crate::secrets::{KEY_FILE, Secrets, TOMBSTONE_KEY};
use crate::store::records::secrets_from_rows;
use crate::store::{LedgerEntry, StageCursor, StoredContact, Tombstone};
use anyhow::Result;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use std::collections::HashMap;

/// The columns a contact's facts occupy, in `contacts` and in the import stage alike.
pub(super) const COLUMNS: &str = "email, email_key, name, locale, country, customer, last_purchase_at, \
    last_activity_at, consent_at, consent_method, consent_prechecked, consent_bundled, \
    consent_text_version, consent_ip, consent_source, consent_withdrawn_at, legal_hold, external_id";
/// Rows per multi-row statement: 21 parameters a row stays under PostgreSQL's 65,535.
pub(super) const ROWS_PER_STATEMENT: usize = 1_000;

/// `COLUMNS` with a table alias before each.
pub(super) fn columns_of(alias: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl PgStore {
    pub async fn add_secret(&self, name: &str, value: &[u8], now: Instant) -> Result<()> {
        sqlx::query(
            "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn secret(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn move_tombstone_key_out(&self, path: &[u8], now: Instant) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(KEY_FILE)
        .bind(path)
        .bind(now.timestamp())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM secrets WHERE name = $1")
            .bind(TOMBSTONE_KEY)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // The dead row version that held the key goes with the table's rewrite.
        sqlx::query("VACUUM (FULL) secrets")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn secrets(&self) -> Result<Secrets> {
        let rows: HashMap<String, Vec<u8>> = sqlx::query_as("SELECT name, value FROM secrets")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .collect();
        secrets_from_rows(&rows)
    }

    pub async fn count_contacts(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM contacts")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn contact_by_key(&self, email_key: &str) -> Result<Option<StoredContact>> {
        let sql = format!("SELECT id, public_id, {COLUMNS} FROM contacts WHERE email_key = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email_key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| stored_from_row(&r)).transpose()
    }

    /// Every contact, in id order, a page at a time, the next page read while the
    /// caller works on this one.
    pub fn contacts(
        &self,
        page_size: i64,
    ) -> tokio::sync::mpsc::Receiver<Result<Vec<StoredContact>>> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let sql = format!(
                "SELECT id, public_id, {COLUMNS} FROM contacts WHERE id > $1 ORDER BY id LIMIT $2"
            );
            let mut after = 0;
            loop {
                let page = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(after)
                    .bind(page_size)
                    .fetch_all(&pool)
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|rows| rows.iter().map(stored_from_row).collect::<Result<Vec<_>>>());
                let next = page.as_ref().ok().and_then(|p| p.last()).map(|c| c.id);
                if matches!(&page, Ok(p) if p.is_empty()) || tx.send(page).await.is_err() {
                    return;
                }
                match next {
                    Some(id) => after = id,
                    None => return,
                }
            }
        });
        rx
    }

    pub async fn tombstone(&self, key: &[u8]) -> Result<Option<Tombstone>> {
        let row = sqlx::query("SELECT reason, at FROM tombstones WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Tombstone {
                reason: r.try_get("reason")?,
                at: from_unix(r.try_get("at")?),
            })
        })
        .transpose()
    }

    pub async fn ledger(&self, contact_id: i64) -> Result<Vec<LedgerEntry>> {
        let rows = sqlx::query(
            "SELECT event, at, campaign, wave, ip, user_agent, content_sha256, privacy_sha256, \
             privacy_version, message_id, policy_version, suspect, detail FROM ledger \
             WHERE contact_id = $1 ORDER BY id",
        )
        .bind(contact_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(crate::store::chain_rows::entry_from_row)
            .collect()
    }

    pub async fn add_tombstone(&self, key: &[u8], reason: &str, at: Instant) -> Result<()> {
        sqlx::query(
            "INSERT INTO tombstones (key, reason, at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET reason = excluded.reason, at = excluded.at",
        )
        .bind(key)
        .bind(reason)
        .bind(at.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Starts an all-or-nothing import in one transaction, staged in a temporary table
    /// so memory stays flat whatever the file's size.
    pub async fn begin_import(&self) -> Result<ImportTx> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "CREATE TEMP TABLE import_stage ON COMMIT DROP AS \
             SELECT 0::BIGINT AS line, {COLUMNS} FROM contacts WITH NO DATA"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
        // The stage is analyzed for the planner: its personal columns are not sampled,
        // or `pg_statistic` would keep addresses no purge reaches (see migrations/postgres).
        sqlx::query(
            "ALTER TABLE import_stage ALTER COLUMN email SET STATISTICS 0, \
             ALTER COLUMN email_key SET STATISTICS 0, ALTER COLUMN name SET STATISTICS 0, \
             ALTER COLUMN consent_ip SET STATISTICS 0, ALTER COLUMN external_id SET STATISTICS 0",
        )
        .execute(&mut *tx)
        .await?;
        Ok(ImportTx { tx })
    }
}

impl ImportTx {
    pub async fn stage(&mut self, rows: &[(u64, Contact)]) -> Result<()> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<Postgres>::new(format!(
                "INSERT INTO import_stage (line, {COLUMNS}) "
            ));
            qb.push_values(chunk, |mut b, (line, c)| {
                b.push_bind(*line as i64);
                bind_contact(&mut b, c);
            });
            qb.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    pub async fn finish_staging(&mut self) -> Result<()> {
        sqlx::query("CREATE INDEX import_stage_key ON import_stage (email_key, line)")
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("ANALYZE import_stage")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn staged(
        &mut self,
        cursor: &StageCursor,
        limit: i64,
    ) -> Result<Vec<(u64, Contact)>> {
        let (key, line) = cursor.clone().unwrap_or_default();
        let sql = format!(
            "SELECT line, {COLUMNS} FROM import_stage WHERE (email_key, line) > ($1, $2) \
             ORDER BY email_key, line LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .bind(line)
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<i64, _>("line")? as u64, contact_from_row(r)?)))
            .collect()
    }

    pub async fn existing(&mut self, keys: &[&str]) -> Result<HashMap<String, StoredContact>> {
        let sql =
            format!("SELECT id, public_id, {COLUMNS} FROM contacts WHERE email_key = ANY($1)");
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let mut found = HashMap::new();
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(keys)
            .fetch_all(&mut *self.tx)
            .await?
        {
            let stored = stored_from_row(&row)?;
            found.insert(stored.contact.email.key().to_string(), stored);
        }
        Ok(found)
    }

    pub async fn tombstoned(&mut self, keys: &[Vec<u8>]) -> Result<HashMap<Vec<u8>, Instant>> {
        let rows: Vec<(Vec<u8>, i64)> =
            sqlx::query_as("SELECT key, at FROM tombstones WHERE key = ANY($1)")
                .bind(keys)
                .fetch_all(&mut *self.tx)
                .await?;
        Ok(rows.into_iter().map(|(k, at)| (k, from_unix(at))).collect())
    }

    pub async fn insert(
        &mut self,
        contacts: &[&Contact],
        now: Instant,
    ) -> Result<HashMap<String, i64>> {
        let mut ids = HashMap::new();
        for chunk in contacts.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<Postgres>::new(format!(
                "INSERT INTO contacts (public_id, created_at, updated_at, {COLUMNS}) "
            ));
            qb.push_values(chunk, |mut b, c| {
                b.push_bind(uuid::Uuid::new_v4().simple().to_string());
                b.push_bind(now.timestamp());
                b.push_bind(now.timestamp());
                bind_contact(&mut b, c);
            });
            qb.push(" RETURNING id, email_key");
            for row in qb.build().fetch_all(&mut *self.tx).await? {
                ids.insert(row.try_get("email_key")?, row.try_get("id")?);
            }
        }
        Ok(ids)
    }

    pub async fn update(&mut self, id: i64, c: &Contact, now: Instant) -> Result<()> {
        let mut qb = QueryBuilder::<Postgres>::new(format!(
            "UPDATE contacts SET updated_at = v.updated_at, {} FROM (",
            COLUMNS
                .split(", ")
                .map(|col| format!("{col} = v.{col}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        qb.push_values([c], |mut b, c| {
            b.push_bind(now.timestamp());
            bind_contact(&mut b, c);
        });
        qb.push(format!(") AS v (updated_at, {COLUMNS}) WHERE id = "));
        qb.push_bind(id);
        qb.build().execute(&mut *self.tx).await?;
        Ok(())
    }

    pub async fn append_ledger(&mut self, entries: &[(i64, LedgerEntry)]) -> Result<()> {
        let rows: Vec<(i64, &LedgerEntry)> = entries.iter().map(|(id, e)| (*id, e)).collect();
        insert_ledger_rows(&mut self.tx, &rows).await
    }
}

/// Binds a contact's values in `COLUMNS` order, each with its column's type.
fn bind_contact(b: &mut sqlx::query_builder::Separated<'_, Postgres, &'static str>, c: &Contact) {
    let t = |v: Option<Instant>| v.map(|t| t.timestamp());
    let k = &c.consent;
    b.push_bind(c.email.as_str().to_string())
        .push_bind(c.email.key().to_string())
        .push_bind(c.name.clone())
        .push_bind(c.locale.as_ref().map(|l| l.as_str().to_string()))
        .push_bind(c.country.as_ref().map(|l| l.as_str().to_string()))
        .push_bind(c.customer)
        .push_bind(t(c.last_purchase_at))
        .push_bind(t(c.last_activity_at))
        .push_bind(t(k.at))
        .push_bind(k.method.map(|m| m.as_str().to_string()))
        .push_bind(k.prechecked)
        .push_bind(k.bundled)
        .push_bind(k.text_version.clone())
        .push_bind(k.ip.clone())
        .push_bind(k.source.clone())
        .push_bind(t(k.withdrawn_at))
        .push_bind(c.legal_hold)
        .push_bind(c.external_id.clone());
}

pub(super) fn stored_from_row(r: &PgRow) -> Result<StoredContact> {
    Ok(StoredContact {
        id: r.try_get("id")?,
        public_id: r.try_get("public_id")?,
        contact: contact_from_row(r)?,
    })
}

fn contact_from_row(r: &PgRow) -> Result<Contact> {
    let time = |col: &str| -> Result<Option<Instant>> {
        Ok(r.try_get::<Option<i64>, _>(col)?.map(from_unix))
    };
    let text = |col: &str| -> Result<Option<String>> { Ok(r.try_get(col)?) };
    Ok(Contact {
        email: EmailAddress::from_store(r.try_get("email")?, r.try_get("email_key")?),
        name: text("name")?,
        locale: text("locale")?.and_then(|l| Locale::parse(&l).ok()),
        country: text("country")?.and_then(|c| Country::parse(&c).ok()),
        customer: r.try_get("customer")?,
        last_purchase_at: time("last_purchase_at")?,
        last_activity_at: time("last_activity_at")?,
        consent: ConsentRecord {
            at: time("consent_at")?,
            method: text("consent_method")?.and_then(|m| ConsentMethod::parse(&m)),
            prechecked: r.try_get("consent_prechecked")?,
            bundled: r.try_get("consent_bundled")?,
            text_version: text("consent_text_version")?,
            ip: text("consent_ip")?,
            source: text("consent_source")?,
            withdrawn_at: time("consent_withdrawn_at")?,
        },
        legal_hold: r.try_get("legal_hold")?,
        external_id: text("external_id")?,
    })
}

/// Appends ledger entries (contact id, entry), chained (see `chain`).
pub(super) async fn insert_ledger_rows(
    conn: &mut PgConnection,
    rows: &[(i64, &LedgerEntry)],
) -> Result<()> {
    super::chain::append(conn, rows).await
}
