//! The database a test runs on: a SQLite file in the sandbox, or a fresh database on the
//! PostgreSQL server named by `RECONSENT_TEST_POSTGRES` when `RECONSENT_TEST_BACKEND` is
//! `postgres` (`scripts/test` runs the suite once each way). The helpers here read it the
//! same way on both, so a test asserts the same thing whatever the backend.

use sqlx::{Column, Connection, Row};
use std::future::Future;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend this run of the suite tests.
pub fn backend() -> Backend {
    match std::env::var("RECONSENT_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Ok("") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("RECONSENT_TEST_BACKEND={other}: say sqlite or postgres"),
    }
}

/// The server's URL (`postgres://USER@HOST:PORT/postgres`), which `scripts/test` exports.
pub fn postgres_server() -> String {
    std::env::var("RECONSENT_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!("RECONSENT_TEST_POSTGRES is not set: run scripts/test, which starts PostgreSQL")
    })
}

/// Runs `fut` to its end on a runtime of its own, on a thread of its own, so that sync
/// tests and async ones (whose runtime must not be blocked from inside) call it alike.
pub fn blocking<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(fut)
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// A database of its own on the test server, dropped with it.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn new() -> Self {
        let server = postgres_server();
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let url = with_database(&server, &name);
        let statement = format!("CREATE DATABASE {name}");
        blocking(async move { admin(&server, &statement).await });
        Self { name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // FORCE: a server or sender a failed test left running must not keep it alive.
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let server = postgres_server();
        blocking(async move { admin(&server, &statement).await });
    }
}

async fn admin(server: &str, statement: &str) {
    let mut c = sqlx::PgConnection::connect(server)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at {server}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
        .execute(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    let _ = c.close().await;
}

/// `server`'s URL with its database part replaced by `name`.
pub fn with_database(server: &str, name: &str) -> String {
    let mut url = url::Url::parse(server).expect("RECONSENT_TEST_POSTGRES is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Where a sandbox keeps its data.
pub enum TestDatabase {
    Sqlite(PathBuf),
    Postgres(PgDatabase),
}

impl TestDatabase {
    /// The backend of this run; a SQLite base is `reconsent.db` in `dir`, the default name.
    pub fn new(dir: &Path) -> Self {
        match backend() {
            Backend::Sqlite => Self::sqlite(dir),
            Backend::Postgres => Self::Postgres(PgDatabase::new()),
        }
    }

    pub fn sqlite(dir: &Path) -> Self {
        Self::Sqlite(dir.join("reconsent.db"))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL commands are given (`--database` / `RECONSENT_DATABASE_URL`).
    pub fn url(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(db) => db.url.clone(),
        }
    }

    /// Points a `reconsent` process at this database. On SQLite the default, so a
    /// test also proves that no setting is needed; the outer environment never leaks in.
    pub fn apply(&self, cmd: &mut std::process::Command) {
        match self {
            Self::Sqlite(_) => cmd.env_remove("RECONSENT_DATABASE_URL"),
            Self::Postgres(db) => cmd.env("RECONSENT_DATABASE_URL", &db.url),
        };
    }

    /// The first column of the first row of `sql`, a number.
    pub fn scalar(&self, sql: &str) -> i64 {
        let rows = self.rows(sql);
        let cell = rows
            .first()
            .and_then(|r| r.first())
            .unwrap_or_else(|| panic!("{sql}: no row"));
        cell.as_deref()
            .unwrap_or_else(|| panic!("{sql}: NULL"))
            .parse()
            .unwrap_or_else(|e| panic!("{sql}: not a number ({e})"))
    }

    /// Every row of `sql`, each value as text (`None` for NULL).
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let (url, sql) = (self.url(), sql.to_string());
        match self.backend() {
            Backend::Sqlite => blocking(async move {
                let mut c = sqlx::SqliteConnection::connect(&url).await.expect("open");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .fetch_all(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                let _ = c.close().await;
                rows.iter().map(sqlite_texts).collect()
            }),
            Backend::Postgres => blocking(async move {
                let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .fetch_all(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                let _ = c.close().await;
                rows.iter().map(pg_texts).collect()
            }),
        }
    }

    /// Runs statements that change the base, as a crash or an old version would leave it.
    pub fn execute(&self, sql: &str) {
        let (url, sql) = (self.url(), sql.to_string());
        match self.backend() {
            Backend::Sqlite => blocking(async move {
                let mut c = sqlx::SqliteConnection::connect(&url).await.expect("open");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                let _ = c.close().await;
            }),
            Backend::Postgres => blocking(async move {
                let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                let _ = c.close().await;
            }),
        }
    }

    /// Whether `init` has made a base here (a failed command must not).
    pub fn initialised(&self) -> bool {
        match self {
            Self::Sqlite(path) => path.exists(),
            Self::Postgres(_) => {
                self.scalar(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
                ) > 0
            }
        }
    }

    /// Every byte the base keeps on disk, free space included.
    ///
    /// SQLite: the database file and its WAL and shared-memory files. PostgreSQL: every
    /// relation file of the database (tables, their TOAST, indexes, and `pg_statistic`
    /// with the values `ANALYZE` sampled), read after a `CHECKPOINT` has written the
    /// server's cached pages to them. The write-ahead log is not read: the server
    /// recycles it, it is not something a purge can rewrite.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Sqlite(path) => {
                let mut bytes = Vec::new();
                for side in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(side);
                    bytes.extend(std::fs::read(&file).unwrap_or_default());
                }
                bytes
            }
            Self::Postgres(db) => pg_bytes(&db.url),
        }
    }
}

fn sqlite_texts(row: &sqlx::sqlite::SqliteRow) -> Vec<Option<String>> {
    (0..row.columns().len())
        .map(|i| {
            if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                v.map(|v| v.to_string())
            } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                v.map(|v| v.to_string())
            } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                v
            } else {
                let v: Option<Vec<u8>> = row.try_get(i).expect("a value");
                v.map(hex::encode)
            }
        })
        .collect()
}

fn pg_texts(row: &sqlx::postgres::PgRow) -> Vec<Option<String>> {
    (0..row.columns().len())
        .map(|i| {
            if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                v.map(|v| v.to_string())
            } else if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
                v.map(|v| v.to_string())
            } else if let Ok(v) = row.try_get::<Option<i16>, _>(i) {
                v.map(|v| v.to_string())
            } else if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
                // As SQLite stores them, so one expectation fits both.
                v.map(|v| i64::from(v).to_string())
            } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                v.map(|v| v.to_string())
            } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                v
            } else if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
                v.map(hex::encode)
            } else {
                panic!(
                    "column {}: cast it to text in the test's query",
                    row.columns()[i].name()
                )
            }
        })
        .collect()
}

fn pg_bytes(url: &str) -> Vec<u8> {
    let url = url.to_string();
    let (dir, files) = blocking(async move {
        let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
        sqlx::query("CHECKPOINT")
            .execute(&mut c)
            .await
            .expect("CHECKPOINT (the test user is the cluster's superuser)");
        let dir: String = sqlx::query_scalar("SELECT current_setting('data_directory')")
            .fetch_one(&mut c)
            .await
            .expect("data_directory");
        let files: Vec<String> = sqlx::query_scalar(
            "SELECT pg_relation_filepath(c.oid) FROM pg_class c \
             WHERE c.relkind IN ('r', 'i', 't', 'm') \
               AND (c.relnamespace::regnamespace::text NOT IN ('pg_catalog', 'information_schema') \
                    OR c.relname LIKE 'pg_statistic%') \
               AND pg_relation_filepath(c.oid) IS NOT NULL",
        )
        .fetch_all(&mut c)
        .await
        .expect("relation files");
        let _ = c.close().await;
        (dir, files)
    });
    let mut bytes = Vec::new();
    for file in files {
        let base = Path::new(&dir).join(file);
        // A relation past 1 GiB goes on in FILE.1, FILE.2…
        for segment in 0.. {
            let path = if segment == 0 {
                base.clone()
            } else {
                PathBuf::from(format!("{}.{segment}", base.display()))
            };
            match std::fs::read(&path) {
                Ok(b) => bytes.extend(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => panic!(
                    "{}: {e} (the test reads the server's files: run it on the server's machine, as its owner or root)",
                    path.display()
                ),
            }
        }
    }
    bytes
}

/// Every row of every table of the base at `url` as text, all columns: what a query can
/// still find, whatever the files hold.
pub fn pg_rows_as_text(url: &str) -> Vec<String> {
    let url = url.to_string();
    blocking(async move {
        let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT quote_ident(table_name) FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        )
        .fetch_all(&mut c)
        .await
        .expect("tables");
        let mut rows = Vec::new();
        for t in tables {
            let texts: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT '{t}: ' || t::text FROM {t} t"
            )))
            .fetch_all(&mut c)
            .await
            .expect("rows as text");
            rows.extend(texts);
        }
        let _ = c.close().await;
        rows
    })
}
