//! The SQLite store: WAL, migrations from `migrations/sqlite`.

use super::{LedgerEntry, StoredContact, Tombstone};
use crate::domain::{
    ConsentMethod, ConsentRecord, Contact, Country, EmailAddress, Instant, Locale, from_unix,
};
use crate::secrets::{KEY_LEN, Secrets};
use anyhow::{Context, Result, bail};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// The columns a contact's facts occupy, in `contacts` and in the import stage alike.
pub(super) const COLUMNS: &str = "email, email_key, name, locale, country, customer, last_purchase_at, \
    last_activity_at, consent_at, consent_method, consent_prechecked, consent_bundled, \
    consent_text_version, consent_ip, consent_source, consent_withdrawn_at, legal_hold";
/// Rows per multi-row statement: 19 parameters a row stays under SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 500;

#[derive(Clone)]
pub struct SqliteStore {
    /// For reads: several at once, each on its own snapshot.
    pub(super) pool: SqlitePool,
    /// For writes: one connection. SQLite runs one writer at a time anyway; queueing
    /// here, in order, spares the busy handler's sleeps (1, 2, 5, 10 ms…) that two of
    /// this process's connections would otherwise take turns in.
    pub(super) writer: SqlitePool,
    /// Whether events are written to the webhook outbox (a receiver is configured).
    pub(super) webhooks: bool,
}

impl SqliteStore {
    /// Creates the database file if needed and brings its schema up to date.
    pub async fn create(path: &str) -> Result<Self> {
        Self::connect(path, true).await
    }

    /// Opens an existing database; a missing file is a clear error, not a new empty base.
    pub async fn open(path: &str) -> Result<Self> {
        if !Path::new(path).exists() {
            bail!(
                "there is no database at {path}: run `reconsent init` first (or pass --database)"
            );
        }
        Self::connect(path, false).await
    }

    async fn connect(path: &str, create: bool) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .with_context(|| format!("bad database path {path}"))?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .pragma("temp_store", "file")
            // Erasure must erase: deleted rows are overwritten with zeros, not left in
            // free pages for anyone with the file to read.
            .pragma("secure_delete", "on");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // A launch or an import holds the writer for as long as it runs.
            .acquire_timeout(Duration::from_secs(600))
            // The checkpoint runs beside the writer (below): done by the writer, it would
            // stall whichever commit crossed the threshold for the time of an fsync.
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await
            .with_context(|| format!("cannot open the database {path}"))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .with_context(|| format!("cannot bring the database {path} up to date"))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.create_if_missing(false))
            .await
            .with_context(|| format!("cannot open the database {path}"))?;
        tokio::spawn(checkpoints(pool.clone()));
        Ok(Self {
            pool,
            writer,
            webhooks: false,
        })
    }

    /// Writes events for the shop's systems from now on (`[webhooks] url` is set).
    pub fn with_webhooks(mut self, enabled: bool) -> Self {
        self.webhooks = enabled;
        self
    }

    /// Creates the secrets that are missing; keeps the ones that exist.
    pub async fn ensure_secrets(&self, fresh: &Secrets, now: Instant) -> Result<()> {
        for (name, value) in [
            ("link_key", &fresh.link_key),
            ("tombstone_key", &fresh.tombstone_key),
        ] {
            sqlx::query("INSERT OR IGNORE INTO secrets (name, value, created_at) VALUES (?, ?, ?)")
                .bind(name)
                .bind(value.as_slice())
                .bind(now.timestamp())
                .execute(&self.writer)
                .await?;
        }
        Ok(())
    }

    pub async fn secrets(&self) -> Result<Secrets> {
        let rows = sqlx::query("SELECT name, value FROM secrets")
            .fetch_all(&self.pool)
            .await?;
        let get = |wanted: &str| -> Result<[u8; KEY_LEN]> {
            let row = rows
                .iter()
                .find(|r| r.get::<String, _>("name") == wanted)
                .with_context(|| format!("the database has no {wanted}: run `reconsent init`"))?;
            let value: Vec<u8> = row.get("value");
            value
                .try_into()
                .map_err(|_| anyhow::anyhow!("the stored {wanted} is damaged"))
        };
        Ok(Secrets {
            link_key: get("link_key")?,
            tombstone_key: get("tombstone_key")?,
        })
    }

    pub async fn count_contacts(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM contacts")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn contact_by_key(&self, email_key: &str) -> Result<Option<StoredContact>> {
        let sql = format!("SELECT id, public_id, {COLUMNS} FROM contacts WHERE email_key = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email_key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| stored_from_row(&r)).transpose()
    }

    /// Contacts in id order after `after_id`: for walking the whole base in bounded memory.
    pub async fn contacts_page(&self, after_id: i64, limit: i64) -> Result<Vec<StoredContact>> {
        let sql = format!(
            "SELECT id, public_id, {COLUMNS} FROM contacts WHERE id > ? ORDER BY id LIMIT ?"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(stored_from_row).collect()
    }

    pub async fn tombstone(&self, key: &[u8]) -> Result<Option<Tombstone>> {
        let row = sqlx::query("SELECT reason, at FROM tombstones WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| Tombstone {
            reason: r.get("reason"),
            at: from_unix(r.get("at")),
        }))
    }

    pub async fn ledger(&self, contact_id: i64) -> Result<Vec<LedgerEntry>> {
        let rows = sqlx::query(
            "SELECT event, at, campaign, wave, ip, user_agent, content_sha256, privacy_sha256, \
             message_id, policy_version, suspect, detail FROM ledger WHERE contact_id = ? ORDER BY id",
        )
        .bind(contact_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let detail: Option<String> = r.try_get("detail")?;
                Ok(LedgerEntry {
                    event: r.try_get("event")?,
                    at: from_unix(r.try_get("at")?),
                    campaign: r.try_get("campaign")?,
                    wave: r.try_get("wave")?,
                    ip: r.try_get("ip")?,
                    user_agent: r.try_get("user_agent")?,
                    content_sha256: r.try_get("content_sha256")?,
                    privacy_sha256: r.try_get("privacy_sha256")?,
                    message_id: r.try_get("message_id")?,
                    policy_version: r.try_get("policy_version")?,
                    suspect: r.try_get("suspect")?,
                    detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
                })
            })
            .collect()
    }

    /// Inserts a tombstone (erasure is a later feature; tests and `forget` use this).
    pub async fn add_tombstone(&self, key: &[u8], reason: &str, at: Instant) -> Result<()> {
        sqlx::query("INSERT INTO tombstones (key, reason, at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET reason = excluded.reason, at = excluded.at")
            .bind(key)
            .bind(reason)
            .bind(at.timestamp())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Starts an all-or-nothing import: everything happens in one transaction, staged
    /// in a temporary table so memory stays flat whatever the file's size.
    pub async fn begin_import(&self) -> Result<ImportTx> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DROP TABLE IF EXISTS temp.import_stage")
            .execute(&mut *tx)
            .await?;
        let sql = format!("CREATE TEMP TABLE import_stage (line INTEGER NOT NULL, {COLUMNS})");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
        Ok(ImportTx { tx })
    }
}

/// One import in progress. Dropping it without `commit` writes nothing.
pub struct ImportTx {
    tx: Transaction<'static, Sqlite>,
}

/// Where reading the stage stopped: the last (address key, line) handed out.
pub type StageCursor = Option<(String, i64)>;

impl ImportTx {
    /// Appends valid rows, each with its line in the file.
    pub async fn stage(&mut self, rows: &[(u64, Contact)]) -> Result<()> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut qb =
                QueryBuilder::<Sqlite>::new(format!("INSERT INTO import_stage (line, {COLUMNS}) "));
            qb.push_values(chunk, |mut b, (line, c)| {
                b.push_bind(*line as i64);
                bind_contact(&mut b, c);
            });
            qb.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    pub async fn finish_staging(&mut self) -> Result<()> {
        sqlx::query("CREATE INDEX temp.import_stage_key ON import_stage (email_key, line)")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Staged rows in (address, line) order after `cursor`, so rows of one address come
    /// together, first line first.
    pub async fn staged(
        &mut self,
        cursor: &StageCursor,
        limit: i64,
    ) -> Result<Vec<(u64, Contact)>> {
        let (key, line) = cursor.clone().unwrap_or_default();
        let sql = format!(
            "SELECT line, {COLUMNS} FROM import_stage WHERE (email_key, line) > (?, ?) \
             ORDER BY email_key, line LIMIT ?"
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
        let mut found = HashMap::new();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<Sqlite>::new(format!(
                "SELECT id, public_id, {COLUMNS} FROM contacts WHERE email_key IN ("
            ));
            let mut sep = qb.separated(", ");
            for k in chunk {
                sep.push_bind(k.to_string());
            }
            qb.push(")");
            for row in qb.build().fetch_all(&mut *self.tx).await? {
                let stored = stored_from_row(&row)?;
                found.insert(stored.contact.email.key().to_string(), stored);
            }
        }
        Ok(found)
    }

    /// The tombstone dates of those `keys` that have one.
    pub async fn tombstoned(&mut self, keys: &[Vec<u8>]) -> Result<HashMap<Vec<u8>, Instant>> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let mut qb =
                QueryBuilder::<Sqlite>::new("SELECT key, at FROM tombstones WHERE key IN (");
            let mut sep = qb.separated(", ");
            for k in chunk {
                sep.push_bind(k.clone());
            }
            qb.push(")");
            for row in qb.build().fetch_all(&mut *self.tx).await? {
                found.insert(row.try_get("key")?, from_unix(row.try_get("at")?));
            }
        }
        Ok(found)
    }

    /// Inserts new contacts; returns their row ids by address key.
    pub async fn insert(
        &mut self,
        contacts: &[&Contact],
        now: Instant,
    ) -> Result<HashMap<String, i64>> {
        let mut ids = HashMap::new();
        for chunk in contacts.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<Sqlite>::new(format!(
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
        let mut qb = QueryBuilder::<Sqlite>::new("UPDATE contacts SET updated_at = ");
        qb.push_bind(now.timestamp());
        for (col, value) in contact_values(c) {
            qb.push(format!(", {col} = "));
            qb.push_bind(value);
        }
        qb.push(" WHERE id = ");
        qb.push_bind(id);
        qb.build().execute(&mut *self.tx).await?;
        Ok(())
    }

    pub async fn append_ledger(&mut self, entries: &[(i64, LedgerEntry)]) -> Result<()> {
        let rows: Vec<(i64, &LedgerEntry)> = entries.iter().map(|(id, e)| (*id, e)).collect();
        insert_ledger_rows(&mut self.tx, &rows).await
    }

    pub async fn commit(self) -> Result<()> {
        let mut tx = self.tx;
        sqlx::query("DROP TABLE IF EXISTS temp.import_stage")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}

/// A contact's column values in `COLUMNS` order, ready to bind.
fn contact_values(c: &Contact) -> Vec<(&'static str, SqlValue)> {
    use SqlValue::{Int, Text};
    let t = |v: Option<Instant>| Int(v.map(|t| t.timestamp()));
    let b = |v: Option<bool>| Int(v.map(i64::from));
    let s = |v: Option<&str>| Text(v.map(str::to_string));
    let k = &c.consent;
    vec![
        ("email", s(Some(c.email.as_str()))),
        ("email_key", s(Some(c.email.key()))),
        ("name", s(c.name.as_deref())),
        ("locale", s(c.locale.as_ref().map(Locale::as_str))),
        ("country", s(c.country.as_ref().map(Country::as_str))),
        ("customer", b(c.customer)),
        ("last_purchase_at", t(c.last_purchase_at)),
        ("last_activity_at", t(c.last_activity_at)),
        ("consent_at", t(k.at)),
        ("consent_method", s(k.method.map(|m| m.as_str()))),
        ("consent_prechecked", b(k.prechecked)),
        ("consent_bundled", b(k.bundled)),
        ("consent_text_version", s(k.text_version.as_deref())),
        ("consent_ip", s(k.ip.as_deref())),
        ("consent_source", s(k.source.as_deref())),
        ("consent_withdrawn_at", t(k.withdrawn_at)),
        ("legal_hold", b(c.legal_hold)),
    ]
}

enum SqlValue {
    Int(Option<i64>),
    Text(Option<String>),
}

impl<'q> sqlx::Encode<'q, Sqlite> for SqlValue {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self {
            SqlValue::Int(v) => <Option<i64> as sqlx::Encode<Sqlite>>::encode_by_ref(v, buf),
            SqlValue::Text(v) => <Option<String> as sqlx::Encode<Sqlite>>::encode_by_ref(v, buf),
        }
    }
}

impl sqlx::Type<Sqlite> for SqlValue {
    fn type_info() -> <Sqlite as sqlx::Database>::TypeInfo {
        <String as sqlx::Type<Sqlite>>::type_info()
    }

    fn compatible(_: &<Sqlite as sqlx::Database>::TypeInfo) -> bool {
        true
    }
}

fn bind_contact(b: &mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>, c: &Contact) {
    for (_, value) in contact_values(c) {
        b.push_bind(value);
    }
}

pub(super) fn stored_from_row(r: &SqliteRow) -> Result<StoredContact> {
    Ok(StoredContact {
        id: r.try_get("id")?,
        public_id: r.try_get("public_id")?,
        contact: contact_from_row(r)?,
    })
}

fn contact_from_row(r: &SqliteRow) -> Result<Contact> {
    let time = |col: &str| -> Result<Option<Instant>> {
        Ok(r.try_get::<Option<i64>, _>(col)?.map(from_unix))
    };
    let flag = |col: &str| -> Result<Option<bool>> {
        Ok(r.try_get::<Option<i64>, _>(col)?.map(|v| v != 0))
    };
    let text = |col: &str| -> Result<Option<String>> { Ok(r.try_get(col)?) };
    let email = EmailAddress::from_store(r.try_get("email")?, r.try_get("email_key")?);
    Ok(Contact {
        email,
        name: text("name")?,
        locale: text("locale")?.and_then(|l| Locale::parse(&l).ok()),
        country: text("country")?.and_then(|c| Country::parse(&c).ok()),
        customer: flag("customer")?,
        last_purchase_at: time("last_purchase_at")?,
        last_activity_at: time("last_activity_at")?,
        consent: ConsentRecord {
            at: time("consent_at")?,
            method: text("consent_method")?.and_then(|m| ConsentMethod::parse(&m)),
            prechecked: flag("consent_prechecked")?,
            bundled: flag("consent_bundled")?,
            text_version: text("consent_text_version")?,
            ip: text("consent_ip")?,
            source: text("consent_source")?,
            withdrawn_at: time("consent_withdrawn_at")?,
        },
        legal_hold: flag("legal_hold")?,
    })
}

/// Appends ledger entries (contact id, entry), many to a statement.
pub(super) async fn insert_ledger_rows(
    conn: &mut sqlx::SqliteConnection,
    rows: &[(i64, &LedgerEntry)],
) -> Result<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO ledger (contact_id, event, at, campaign, wave, ip, user_agent, content_sha256, \
             privacy_sha256, message_id, policy_version, suspect, detail) ",
        );
        qb.push_values(chunk, |mut b, (id, e)| {
            b.push_bind(*id)
                .push_bind(e.event.clone())
                .push_bind(e.at.timestamp())
                .push_bind(e.campaign.clone())
                .push_bind(e.wave.clone())
                .push_bind(e.ip.clone())
                .push_bind(e.user_agent.clone())
                .push_bind(e.content_sha256.clone())
                .push_bind(e.privacy_sha256.clone())
                .push_bind(e.message_id.clone())
                .push_bind(e.policy_version.clone())
                .push_bind(e.suspect)
                .push_bind(e.detail.as_ref().map(|d| d.to_string()));
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Copies the write-ahead log into the database file every second, without blocking
/// the writer or readers (PASSIVE), so the log stays small.
async fn checkpoints(pool: SqlitePool) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !pool.is_closed() {
        tick.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::debug!("checkpoint: {e}");
        }
    }
}
