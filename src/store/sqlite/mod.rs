//! The SQLite store: WAL, migrations from `migrations/sqlite`. One file per concern,
//! as in the other backends.

mod answers;
mod bonus;
mod campaigns;
mod chain;
mod counts;
mod erasure;
mod insight;
mod late_events;
mod queue;
mod waves;
mod webhooks;
mod wire;

pub use campaigns::LaunchTx;
pub use wire::FileWireLog;

use crate::domain::{
    ConsentMethod, ConsentRecord, Contact, Country, EmailAddress, Instant, Locale, from_unix,
};
use crate::secrets::{KEY_FILE, Secrets, TOMBSTONE_KEY};
use crate::store::records::secrets_from_rows;
use crate::store::{LedgerEntry, StageCursor, StoredContact, Tombstone};
use anyhow::{Context, Result, bail};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, QueryBuilder, Row, Sqlite, Transaction};
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// The columns a contact's facts occupy, in `contacts` and in the import stage alike.
pub(super) const COLUMNS: &str = "email, email_key, name, locale, country, customer, last_purchase_at, \
    last_activity_at, consent_at, consent_method, consent_prechecked, consent_bundled, \
    consent_text_version, consent_ip, consent_source, consent_withdrawn_at, legal_hold, external_id";
/// Rows per multi-row statement: 20 parameters a row stays under SQLite's 32,766.
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

    /// The database at `path` if there is a file there.
    pub async fn open_existing(path: &str) -> Result<Option<Self>> {
        if !Path::new(path).exists() {
            return Ok(None);
        }
        Ok(Some(Self::connect(path, false).await?))
    }

    /// The database file, as given.
    pub fn describe(&self) -> String {
        self.writer
            .connect_options()
            .get_filename()
            .display()
            .to_string()
    }

    async fn connect(path: &str, create: bool) -> Result<Self> {
        owner_only(path)?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .with_context(|| format!("bad database path {path}"))?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .pragma("temp_store", "file")
            // Erasure must erase: deleted rows are overwritten with zeros, not left in
            // free pages for anyone with the file to read.
            .pragma("secure_delete", "on")
            // SQLite's own page cache, per connection (the default is 2 MB). Reads walk
            // the base or look up single rows, and bulk writes append in key order:
            // none comes back to a page soon, and the kernel caches the file anyway.
            .pragma("cache_size", "-512")
            // A launch or a checkpoint may rightly take seconds; a warning about it
            // would only alarm the marketer reading the terminal.
            .log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(1));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // A launch or an import holds the writer for as long as it runs.
            .acquire_timeout(Duration::from_secs(600))
            // The checkpoint runs beside the writer (below): done by the writer, it would
            // stall whichever commit crossed the threshold for the time of an fsync.
            // The writer's cache is larger: an erasure batch updates the ledger, the
            // deliveries and every index of the contacts, all in an order of their own;
            // with half a megabyte each page was read from the kernel again and again.
            .connect_with(
                options
                    .clone()
                    .pragma("wal_autocheckpoint", "0")
                    .pragma("cache_size", WRITER_CACHE),
            )
            .await
            .with_context(|| format!("cannot open the database {path}"))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .with_context(|| format!("cannot bring the database {path} up to date"))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // Rows cross from SQLite's thread to ours through this buffer: at the default
            // of 50 a walk over the whole base wakes a thread every few rows.
            .connect_with(options.create_if_missing(false).row_buffer_size(4_096))
            .await
            .with_context(|| format!("cannot open the database {path}"))?;
        tokio::spawn(checkpoints(pool.clone()));
        let store = Self {
            pool,
            writer,
            webhooks: false,
        };
        chain::chain_existing(&store)
            .await
            .with_context(|| format!("cannot chain the consent ledger of {path}"))?;
        Ok(store)
    }

    /// Folds the write-ahead log back into the database file and closes every
    /// connection. Without it a command that wrote much (an import) leaves its log
    /// beside the file, and the next command reads through it.
    pub async fn close(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
        {
            tracing::debug!("final checkpoint: {e}");
        }
        self.pool.close().await;
        self.writer.close().await;
    }

    /// Writes events for the shop's systems from now on (`[webhooks] url` is set).
    pub fn with_webhooks(mut self, enabled: bool) -> Self {
        self.webhooks = enabled;
        self
    }

    /// Stores a secret unless one of that name exists.
    pub async fn add_secret(&self, name: &str, value: &[u8], now: Instant) -> Result<()> {
        sqlx::query("INSERT OR IGNORE INTO secrets (name, value, created_at) VALUES (?, ?, ?)")
            .bind(name)
            .bind(value)
            .bind(now.timestamp())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn secret(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM secrets WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Records that the tombstone key lives in the file at `path` and drops it from the
    /// database, in one transaction.
    pub async fn move_tombstone_key_out(&self, path: &[u8], now: Instant) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(KEY_FILE)
        .bind(path)
        .bind(now.timestamp())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM secrets WHERE name = ?")
            .bind(TOMBSTONE_KEY)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // The page that held the key is rewritten with zeros now, not at the next checkpoint.
        self.settle().await
    }

    /// The keys: from the database, the tombstone key from its file if `init` put it there.
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
        let sql = format!("SELECT id, public_id, {COLUMNS} FROM contacts WHERE email_key = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email_key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| stored_from_row(&r)).transpose()
    }

    /// Every contact, in id order, a page at a time: for walking the whole base in
    /// bounded memory. The next page is read on SQLite's thread while the caller works
    /// on this one, all on one connection, so one page cache fills, not one per
    /// connection of the pool.
    pub fn contacts(
        &self,
        page_size: i64,
    ) -> tokio::sync::mpsc::Receiver<Result<Vec<StoredContact>>> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let sql = json_page_sql("FROM contacts WHERE id > ? ORDER BY id LIMIT ?");
            let mut conn = match pool.acquire().await {
                Ok(conn) => conn,
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
            };
            let mut after = 0;
            loop {
                let page = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(after)
                    .bind(page_size)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|json| stored_from_json(&json));
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
             privacy_version, message_id, policy_version, suspect, detail FROM ledger WHERE contact_id = ? ORDER BY id",
        )
        .bind(contact_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(crate::store::chain_rows::entry_from_row)
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
        // IMMEDIATE: the write lock from the start. A deferred transaction that read
        // first could not write once another process had committed meanwhile, and the
        // whole import would fail with "database is locked" instead of waiting.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
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
        ("external_id", s(c.external_id.as_deref())),
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

/// A page of contacts as one JSON text, built by SQLite: `{from}` is the rest of a
/// statement that yields contacts rows in order. sqlx hands rows over from SQLite's
/// thread one at a time, a wake-up and a copy of every value each; for a walk over a
/// million contacts that hand-over, not SQLite, was most of the time.
pub(super) fn json_page_sql(from: &str) -> String {
    format!(
        "SELECT coalesce(json_group_array(json_array(id, public_id, json_array({COLUMNS}))), '[]') FROM (SELECT * {from})"
    )
}

/// Reads what [`json_page_sql`] built.
pub(super) fn stored_from_json(page: &str) -> Result<Vec<StoredContact>> {
    let rows: Vec<(i64, String, RawContact)> = serde_json::from_str(page)
        .context("a page of contacts could not be read back from the database")?;
    Ok(rows
        .into_iter()
        .map(|(id, public_id, raw)| StoredContact {
            id,
            public_id,
            contact: raw.into_contact(),
        })
        .collect())
}

/// A contact's columns as stored, in the order of [`COLUMNS`].
#[derive(serde::Deserialize)]
struct RawContact {
    email: String,
    email_key: String,
    name: Option<String>,
    locale: Option<String>,
    country: Option<String>,
    customer: Option<i64>,
    last_purchase_at: Option<i64>,
    last_activity_at: Option<i64>,
    consent_at: Option<i64>,
    consent_method: Option<String>,
    consent_prechecked: Option<i64>,
    consent_bundled: Option<i64>,
    consent_text_version: Option<String>,
    consent_ip: Option<String>,
    consent_source: Option<String>,
    consent_withdrawn_at: Option<i64>,
    legal_hold: Option<i64>,
    external_id: Option<String>,
}

impl RawContact {
    fn into_contact(self) -> Contact {
        let time = |v: Option<i64>| v.map(from_unix);
        let flag = |v: Option<i64>| v.map(|v| v != 0);
        Contact {
            email: EmailAddress::from_store(self.email, self.email_key),
            name: self.name,
            locale: self.locale.and_then(|l| Locale::parse(&l).ok()),
            country: self.country.and_then(|c| Country::parse(&c).ok()),
            customer: flag(self.customer),
            last_purchase_at: time(self.last_purchase_at),
            last_activity_at: time(self.last_activity_at),
            consent: ConsentRecord {
                at: time(self.consent_at),
                method: self.consent_method.and_then(|m| ConsentMethod::parse(&m)),
                prechecked: flag(self.consent_prechecked),
                bundled: flag(self.consent_bundled),
                text_version: self.consent_text_version,
                ip: self.consent_ip,
                source: self.consent_source,
                withdrawn_at: time(self.consent_withdrawn_at),
            },
            legal_hold: flag(self.legal_hold),
            external_id: self.external_id,
        }
    }
}

fn contact_from_row(r: &SqliteRow) -> Result<Contact> {
    Ok(RawContact {
        email: r.try_get("email")?,
        email_key: r.try_get("email_key")?,
        name: r.try_get("name")?,
        locale: r.try_get("locale")?,
        country: r.try_get("country")?,
        customer: r.try_get("customer")?,
        last_purchase_at: r.try_get("last_purchase_at")?,
        last_activity_at: r.try_get("last_activity_at")?,
        consent_at: r.try_get("consent_at")?,
        consent_method: r.try_get("consent_method")?,
        consent_prechecked: r.try_get("consent_prechecked")?,
        consent_bundled: r.try_get("consent_bundled")?,
        consent_text_version: r.try_get("consent_text_version")?,
        consent_ip: r.try_get("consent_ip")?,
        consent_source: r.try_get("consent_source")?,
        consent_withdrawn_at: r.try_get("consent_withdrawn_at")?,
        legal_hold: r.try_get("legal_hold")?,
        external_id: r.try_get("external_id")?,
    }
    .into_contact())
}

/// Appends ledger entries (contact id, entry), chained (see `chain`).
pub(super) async fn insert_ledger_rows(
    conn: &mut sqlx::SqliteConnection,
    rows: &[(i64, &LedgerEntry)],
) -> Result<()> {
    chain::append(conn, rows).await
}

/// Makes the database and its companion files readable by their owner only: they hold
/// addresses, consent records and keys. Files made by this version are created so (see
/// `main`); an older or copied one is tightened, once, with a word on stderr.
fn owner_only(path: &str) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut tightened = Vec::new();
        for file in [
            path.to_string(),
            format!("{path}-wal"),
            format!("{path}-shm"),
        ] {
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("cannot make {file} readable by its owner only"))?;
                tightened.push(file);
            }
        }
        if !tightened.is_empty() {
            eprintln!(
                "note: {} could be read by other users of this machine; now only by its owner (mode 0600)",
                tightened.join(", ")
            );
        }
    }
    Ok(())
}

/// Copies the write-ahead log into the database file every second, without blocking
/// the writer or readers (PASSIVE), so the log stays small.
/// The writer's page cache, in KiB (negative, as SQLite takes it).
const WRITER_CACHE: &str = "-16384";

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
