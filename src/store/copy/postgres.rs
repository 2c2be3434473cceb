//! The target of a copy: an empty PostgreSQL base, filled with `COPY` in one transaction.

use super::{Canon, Checksum, Column, Kind, TableCopy};
use anyhow::{Context, Result, bail};
use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnection, PgCopyIn, PgRow};
use sqlx::{Connection, Row};
use std::collections::{BTreeMap, BTreeSet};

pub(super) struct Target {
    conn: PgConnection,
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The kind of value a column of type `udt` (PostgreSQL's type name) holds; `None` for a
/// type the copy does not fill.
fn kind(udt: &str) -> Option<Kind> {
    Some(match udt {
        "int2" | "int4" | "int8" => Kind::Int,
        "float4" | "float8" | "numeric" => Kind::Float,
        "bool" => Kind::Bool,
        "bytea" => Kind::Bytes,
        "text" | "varchar" | "bpchar" | "name" | "citext" => Kind::Text,
        "json" | "jsonb" => Kind::Json,
        _ => return None,
    })
}

/// How a column is read back, so that each kind decodes as one Rust type.
fn read_as(column: &Column) -> String {
    let name = quote(&column.name);
    match column.kind {
        Kind::Int => format!("{name}::int8"),
        Kind::Float => format!("{name}::float8"),
        Kind::Text | Kind::Json => format!("{name}::text"),
        Kind::Bool | Kind::Bytes => name,
    }
}

impl Target {
    pub(super) async fn open(url: &str) -> Result<Self> {
        let conn = PgConnection::connect(url)
            .await
            .context("cannot connect to the target database")?;
        Ok(Self { conn })
    }

    /// Every table of the base, each column with what it holds; generated columns,
    /// which take no value, are left out.
    pub(super) async fn tables(
        &mut self,
    ) -> Result<BTreeMap<String, BTreeMap<String, Option<Kind>>>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT c.table_name::text, c.column_name::text, c.udt_name::text \
             FROM information_schema.columns c \
             JOIN information_schema.tables t USING (table_schema, table_name) \
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
               AND c.is_generated = 'NEVER' AND c.table_name <> '_sqlx_migrations'",
        )
        .fetch_all(&mut self.conn)
        .await?;
        let mut tables: BTreeMap<String, BTreeMap<String, Option<Kind>>> = BTreeMap::new();
        for (table, column, udt) in rows {
            tables.entry(table).or_default().insert(column, kind(&udt));
        }
        if tables.is_empty() {
            bail!(
                "the target database has no tables: bring it up to date first \
                 (`reconsent --database URL init` on an empty database makes them, but also \
                 keys; so rather let `store copy` do it)"
            );
        }
        Ok(tables)
    }

    /// The tables that hold rows.
    pub(super) async fn occupied(&mut self) -> Result<Vec<String>> {
        let mut occupied = Vec::new();
        for table in self.tables().await?.keys() {
            let any: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT EXISTS (SELECT 1 FROM {})",
                quote(table)
            )))
            .fetch_one(&mut self.conn)
            .await?;
            if any {
                occupied.push(table.clone());
            }
        }
        Ok(occupied)
    }

    /// `tables` ordered so that each comes after those its foreign keys point to.
    pub(super) async fn load_order(&mut self, tables: Vec<String>) -> Result<Vec<String>> {
        let edges: Vec<(String, String)> = sqlx::query_as(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint \
             WHERE contype = 'f' AND connamespace = current_schema()::regnamespace",
        )
        .fetch_all(&mut self.conn)
        .await?;
        let unquote = |s: String| s.trim_matches('"').to_string();
        let mut needs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            let (from, to) = (unquote(from), unquote(to));
            if from != to {
                needs.entry(from).or_default().insert(to);
            }
        }
        let mut order: Vec<String> = Vec::new();
        let mut left: BTreeSet<String> = tables.into_iter().collect();
        while !left.is_empty() {
            let ready: Vec<String> = left
                .iter()
                .filter(|t| {
                    needs
                        .get(*t)
                        .is_none_or(|n| n.iter().all(|d| !left.contains(d)))
                })
                .cloned()
                .collect();
            if ready.is_empty() {
                bail!("the target's foreign keys form a cycle among {left:?}");
            }
            for t in ready {
                left.remove(&t);
                order.push(t);
            }
        }
        Ok(order)
    }

    pub(super) async fn begin(&mut self) -> Result<()> {
        sqlx::raw_sql("BEGIN").execute(&mut self.conn).await?;
        // The dashboard's counters come from the source as they are: the triggers that
        // keep them would count the copied deliveries and answers a second time. Off
        // inside this transaction only, so nobody else ever sees them off.
        sqlx::raw_sql(COUNTER_TRIGGERS_OFF)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    pub(super) async fn commit(&mut self) -> Result<()> {
        sqlx::raw_sql(COUNTER_TRIGGERS_ON)
            .execute(&mut self.conn)
            .await?;
        sqlx::raw_sql("COMMIT")
            .execute(&mut self.conn)
            .await
            .context("committing the copy")?;
        Ok(())
    }

    pub(super) async fn rollback(&mut self) {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut self.conn).await;
    }

    /// Fresh statistics, so the first queries on the new base plan well.
    pub(super) async fn analyze(mut self) -> Result<()> {
        sqlx::raw_sql("ANALYZE").execute(&mut self.conn).await?;
        let _ = self.conn.close().await;
        Ok(())
    }

    /// A `COPY … FROM STDIN` (text format) into `table`'s `columns`.
    pub(super) async fn copy_in(
        &mut self,
        table: &str,
        columns: &[&str],
    ) -> Result<PgCopyIn<&mut PgConnection>> {
        let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let sql = format!("COPY {} ({}) FROM STDIN", quote(table), list.join(", "));
        self.conn
            .copy_in_raw(&sql)
            .await
            .with_context(|| format!("writing table {table}"))
    }

    /// Moves every sequence (serial or identity column) past the copied ids, so the
    /// next row the engine adds gets a new one.
    pub(super) async fn reset_sequences(&mut self) -> Result<()> {
        let serial: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text, \
                    pg_get_serial_sequence(quote_ident(table_name), column_name)::text \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() \
               AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL",
        )
        .fetch_all(&mut self.conn)
        .await?;
        for (table, column, sequence) in serial {
            let sql = format!(
                "SELECT setval($1::regclass, COALESCE((SELECT max({c}) FROM {t}), 0) + 1, false)",
                c = quote(&column),
                t = quote(&table)
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&sequence)
                .execute(&mut self.conn)
                .await
                .with_context(|| format!("moving the sequence of {table}.{column}"))?;
        }
        Ok(())
    }

    /// `table` as stored, summed as the source was.
    pub(super) async fn checksum(&mut self, table: &str, columns: &[Column]) -> Result<TableCopy> {
        let list: Vec<String> = columns.iter().map(read_as).collect();
        let sql = format!("SELECT {} FROM {}", list.join(", "), quote(table));
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut self.conn);
        let mut sum = Checksum::default();
        let mut values = Vec::with_capacity(columns.len());
        while let Some(row) = rows.try_next().await? {
            values.clear();
            for (i, column) in columns.iter().enumerate() {
                values.push(
                    canon_of(&row, i, column.kind)
                        .with_context(|| format!("reading back {table}.{}", column.name))?,
                );
            }
            sum.add_row(&values);
        }
        Ok(sum.finish(table))
    }
}

fn canon_of(row: &PgRow, i: usize, kind: Kind) -> Result<Canon> {
    Ok(match kind {
        Kind::Int => row.try_get::<Option<i64>, _>(i)?.map(Canon::Int),
        Kind::Float => row.try_get::<Option<f64>, _>(i)?.map(Canon::Float),
        Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(Canon::Bool),
        Kind::Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Canon::Bytes),
        Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Canon::Text),
        Kind::Json => match row.try_get::<Option<String>, _>(i)? {
            Some(text) => Some(Canon::Json(serde_json::from_str(&text)?)),
            None => None,
        },
    }
    .unwrap_or(Canon::Null))
}

/// The triggers of `migrations/postgres` that keep the campaign counters.
const COUNTER_TRIGGERS_OFF: &str = "\
    ALTER TABLE deliveries DISABLE TRIGGER campaign_counts_insert; \
    ALTER TABLE deliveries DISABLE TRIGGER campaign_counts_update; \
    ALTER TABLE deliveries DISABLE TRIGGER campaign_counts_delete; \
    ALTER TABLE ledger DISABLE TRIGGER campaign_answers_insert;";
const COUNTER_TRIGGERS_ON: &str = "\
    ALTER TABLE deliveries ENABLE TRIGGER campaign_counts_insert; \
    ALTER TABLE deliveries ENABLE TRIGGER campaign_counts_update; \
    ALTER TABLE deliveries ENABLE TRIGGER campaign_counts_delete; \
    ALTER TABLE ledger ENABLE TRIGGER campaign_answers_insert;";
