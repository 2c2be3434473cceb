//! The source of a copy: a SQLite base, read in one snapshot.

use super::Stored;
use anyhow::{Context, Result, bail};
use futures_util::{Stream, StreamExt};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::{Connection, Row, TypeInfo, ValueRef};
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

pub(super) struct Source {
    conn: SqliteConnection,
}

/// Tables that are the engine's own bookkeeping, not the base: each side keeps its own.
fn bookkeeping(table: &str) -> bool {
    table == "_sqlx_migrations" || table.starts_with("sqlite_")
}

impl Source {
    /// Opens the base read-only; it must exist and be up to date (any command run once
    /// with this version has made it so).
    pub(super) async fn open(path: &str) -> Result<Self> {
        if !Path::new(path).exists() {
            bail!("there is no database at {path} to copy from");
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .with_context(|| format!("bad database path {path}"))?
            .read_only(true);
        let conn = SqliteConnection::connect_with(&options)
            .await
            .with_context(|| format!("cannot open the database {path}"))?;
        Ok(Self { conn })
    }

    /// Every table of the base with its columns, in their order.
    pub(super) async fn tables(&mut self) -> Result<BTreeMap<String, Vec<String>>> {
        let names: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
                .fetch_all(&mut self.conn)
                .await?;
        let mut tables = BTreeMap::new();
        for name in names.into_iter().filter(|n| !bookkeeping(n)) {
            let columns: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                    .bind(&name)
                    .fetch_all(&mut self.conn)
                    .await?;
            tables.insert(name, columns);
        }
        Ok(tables)
    }

    /// Starts the snapshot every later read sees (a sender writing meanwhile is not seen).
    pub(super) async fn begin(&mut self) -> Result<()> {
        sqlx::raw_sql("BEGIN").execute(&mut self.conn).await?;
        // A deferred transaction takes its snapshot at its first read.
        sqlx::query("SELECT count(*) FROM sqlite_schema")
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    pub(super) async fn end(mut self) {
        let _ = sqlx::raw_sql("COMMIT").execute(&mut self.conn).await;
        let _ = self.conn.close().await;
    }

    /// The rows of `table`, each value as SQLite stored it.
    pub(super) fn rows<'a>(
        &'a mut self,
        table: &str,
        columns: &[&str],
    ) -> impl Stream<Item = Result<Vec<Stored>>> + Send + Unpin + 'a {
        let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let sql = format!("SELECT {} FROM {}", list.join(", "), quote(table));
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .fetch(&mut self.conn)
            .map(|row| stored_row(&row?))
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn stored_row(row: &SqliteRow) -> Result<Vec<Stored>> {
    (0..row.len())
        .map(|i| {
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                return Ok(Stored::Null);
            }
            let class = raw.type_info();
            Ok(match class.name() {
                "INTEGER" | "BOOLEAN" => Stored::Int(row.try_get_unchecked(i)?),
                "REAL" | "NUMERIC" => Stored::Real(row.try_get_unchecked(i)?),
                "BLOB" => Stored::Blob(row.try_get_unchecked(i)?),
                _ => Stored::Text(row.try_get_unchecked(i)?),
            })
        })
        .collect()
}
