//! The wire log on PostgreSQL: a row per message, committed right before its body goes
//! out. Senders run on several machines, and whoever recovers a dead sender's claims
//! must see what it put on the wire. The rows are written on connections that do not
//! wait for the commit to reach the disk (`synchronous_commit = off`): the server has
//! the row once it answers, which is what a killed sender needs, as SQLite's wire file
//! is kept by the kernel; only a crash of the database server itself within a fraction
//! of a second could lose one.

use super::PgStore;
use sqlx::PgPool;

pub struct TableWireLog {
    pool: PgPool,
    worker: String,
}

impl TableWireLog {
    pub async fn record(&self, delivery_id: i64) -> std::io::Result<()> {
        sqlx::query(
            "INSERT INTO wire_log (worker, delivery_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(&self.worker)
        .bind(delivery_id)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(std::io::Error::other)
    }

    pub async fn remove(self) {
        if let Err(e) = sqlx::query("DELETE FROM wire_log WHERE worker = $1")
            .bind(&self.worker)
            .execute(&self.pool)
            .await
        {
            tracing::debug!("wire log: {e}");
        }
    }
}

impl PgStore {
    pub fn wire_log(&self, worker: &str) -> TableWireLog {
        TableWireLog {
            pool: self.wire_pool.clone(),
            worker: worker.to_string(),
        }
    }
}
