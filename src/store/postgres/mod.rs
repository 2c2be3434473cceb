//! The PostgreSQL store: one base shared by senders, schedulers and response servers on
//! several machines. Migrations from `migrations/postgres`. Claims are taken with
//! `FOR UPDATE SKIP LOCKED` under a lease; the throttle's schedule is one row per
//! campaign, advanced by one `UPDATE … RETURNING`; the wire log is a table.

mod answers;
mod campaigns;
mod chain;
mod contacts;
mod counts;
mod erasure;
mod insight;
mod late_events;
mod queue;
mod waves;
mod webhooks;
mod wire;

pub use wire::TableWireLog;

use anyhow::{Context, Result, bail};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// A deadlock or a serialization failure: the server rolled the transaction back, and
/// running it again is the documented answer.
fn is_transient(e: &anyhow::Error) -> bool {
    e.downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

#[derive(Clone)]
pub struct PgStore {
    pub(super) pool: PgPool,
    /// For the wire log: commits not waited for (see [`TableWireLog`]).
    pub(super) wire_pool: PgPool,
    /// The URL as a person may be shown it.
    shown: String,
    /// Whether events are written to the webhook outbox (a receiver is configured).
    pub(super) webhooks: bool,
}

impl PgStore {
    /// Connects and brings the schema up to date; the database itself must exist.
    pub async fn create(url: &str) -> Result<Self> {
        let store = Self::connect(url).await?;
        sqlx::migrate!("./migrations/postgres")
            .run(&store.pool)
            .await
            .with_context(|| format!("cannot bring the database {} up to date", store.shown))?;
        Ok(store)
    }

    /// Opens a base `init` made; one without the schema is a clear error.
    pub async fn open(url: &str) -> Result<Self> {
        match Self::open_existing(url).await? {
            Some(store) => Ok(store),
            None => bail!(
                "the database {} has no reconsent tables: run `reconsent init` first (or pass --database)",
                super::DatabaseUrl::Postgres(url.to_string()).describe()
            ),
        }
    }

    pub async fn open_existing(url: &str) -> Result<Option<Self>> {
        let store = Self::connect(url).await?;
        let ready: bool = sqlx::query_scalar("SELECT to_regclass('contacts') IS NOT NULL")
            .fetch_one(&store.pool)
            .await?;
        if !ready {
            store.close().await;
            return Ok(None);
        }
        // Brought up to date as SQLite's are on open: a newer version adds its tables.
        sqlx::migrate!("./migrations/postgres")
            .run(&store.pool)
            .await
            .with_context(|| format!("cannot bring the database {} up to date", store.shown))?;
        Ok(Some(store))
    }

    async fn connect(url: &str) -> Result<Self> {
        let shown = super::DatabaseUrl::Postgres(url.to_string()).describe();
        let options = PgConnectOptions::from_str(url)
            .with_context(|| format!("bad database URL {shown}"))?
            .log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(1));
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(600))
            .connect_with(options.clone())
            .await
            .with_context(|| format!("cannot connect to the database {shown}"))?;
        let wire_pool = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .connect_lazy_with(options.options([("synchronous_commit", "off")]));
        Ok(Self {
            pool,
            wire_pool,
            shown,
            webhooks: false,
        })
    }

    pub fn describe(&self) -> String {
        self.shown.clone()
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.wire_pool.close().await;
    }

    pub fn with_webhooks(mut self, enabled: bool) -> Self {
        self.webhooks = enabled;
        self
    }
}

/// One import in progress. Dropping it without `commit` writes nothing.
pub struct ImportTx {
    pub(super) tx: Transaction<'static, Postgres>,
}

impl ImportTx {
    pub async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    pub async fn rollback(self) -> Result<()> {
        Ok(self.tx.rollback().await?)
    }
}

/// A launch's one transaction.
pub struct LaunchTx {
    pub(super) tx: Transaction<'static, Postgres>,
}

impl LaunchTx {
    pub async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }
}
