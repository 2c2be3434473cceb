//! `store copy`: a whole base moved from SQLite to PostgreSQL, table by table, and proved.
//!
//! The copy follows the schemas rather than a list written here: every table of the
//! source goes to the table of the same name in the target (made by the target's own
//! migrations), column by column by name, each value converted to the target column's
//! type. A table or column the target lacks refuses the copy before anything is written.
//!
//! Proof: each side's rows are reduced to one canonical encoding per value (a tag and
//! the bytes: integers as i64, booleans as 0/1, JSON re-serialised with sorted keys…),
//! each row hashed with SHA-256, and the table's checksum is the sum of its row hashes,
//! so that neither side's row order matters. The source is summed while it is read, the
//! target by reading back what it stored; both must agree, table by table, with the
//! same row count, before the target's transaction commits.

mod postgres;
mod sqlite;

use anyhow::{Context, Result, bail};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One table as copied: its name, rows and checksum, the same on both sides.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableCopy {
    pub table: String,
    pub rows: u64,
    /// 64 hex digits: the sum of the rows' SHA-256 digests (see the module's comment).
    pub checksum: String,
}

/// What the target column holds, which decides how a source value is converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Bool,
    Bytes,
    Text,
    Json,
}

/// A value as SQLite stored it (its storage class, whatever the column declares).
#[derive(Debug, Clone, PartialEq)]
enum Stored {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A value in the one form both sides are compared in.
#[derive(Debug, Clone, PartialEq)]
enum Canon {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Bytes(Vec<u8>),
    Text(String),
    Json(serde_json::Value),
}

/// Where a value came from, for a message that lets the user find it.
struct At<'a> {
    table: &'a str,
    column: &'a str,
    row: u64,
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "table {}, column {}, row {}",
            self.table, self.column, self.row
        )
    }
}

/// `stored`, converted to what a `kind` column holds.
fn canon(stored: Stored, kind: Kind, at: &At<'_>) -> Result<Canon> {
    Ok(match (kind, stored) {
        (_, Stored::Null) => Canon::Null,
        (Kind::Int, Stored::Int(i)) => Canon::Int(i),
        (Kind::Float, Stored::Int(i)) => Canon::Float(i as f64),
        (Kind::Float, Stored::Real(r)) => Canon::Float(r),
        (Kind::Bool, Stored::Int(0)) => Canon::Bool(false),
        (Kind::Bool, Stored::Int(1)) => Canon::Bool(true),
        (Kind::Bytes, Stored::Blob(b)) => Canon::Bytes(b),
        (Kind::Bytes, Stored::Text(t)) => Canon::Bytes(t.into_bytes()),
        (Kind::Text, Stored::Text(t)) => {
            if t.contains('\0') {
                bail!("{at}: the text holds a NUL character, which PostgreSQL cannot store");
            }
            Canon::Text(t)
        }
        // Numbers in a text column (SQLite lets them in): as SQLite itself prints them.
        (Kind::Text, Stored::Int(i)) => Canon::Text(i.to_string()),
        (Kind::Json, Stored::Text(t)) => {
            Canon::Json(serde_json::from_str(&t).with_context(|| format!("{at}: not valid JSON"))?)
        }
        (kind, stored) => bail!(
            "{at}: {} cannot go into a {kind:?} column",
            describe(&stored)
        ),
    })
}

fn describe(stored: &Stored) -> String {
    match stored {
        Stored::Null => "NULL".into(),
        Stored::Int(i) => format!("the integer {i}"),
        Stored::Real(r) => format!("the number {r}"),
        Stored::Text(_) => "a text".into(),
        Stored::Blob(b) => format!("{} bytes of binary data", b.len()),
    }
}

/// Feeds one value's canonical encoding to a row's hash: a tag, then the bytes with
/// their length, so that no two rows' encodings run into each other.
fn hash_value(h: &mut Sha256, v: &Canon) {
    let (tag, bytes): (u8, std::borrow::Cow<'_, [u8]>) = match v {
        Canon::Null => (0, (&[][..]).into()),
        Canon::Int(i) => (1, i.to_be_bytes().to_vec().into()),
        Canon::Float(f) => (2, f.to_bits().to_be_bytes().to_vec().into()),
        Canon::Bool(b) => (3, vec![u8::from(*b)].into()),
        Canon::Bytes(b) => (4, b.as_slice().into()),
        Canon::Text(t) => (5, t.as_bytes().into()),
        // serde_json's maps are sorted by key: one spelling per document.
        Canon::Json(j) => (6, j.to_string().into_bytes().into()),
    };
    h.update([tag]);
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(&bytes);
}

/// A running table checksum: the row digests summed as four 64-bit lanes.
#[derive(Default)]
struct Checksum {
    lanes: [u64; 4],
    rows: u64,
}

impl Checksum {
    fn add_row(&mut self, row: &[Canon]) {
        let mut h = Sha256::new();
        for v in row {
            hash_value(&mut h, v);
        }
        let digest = h.finalize();
        for (lane, chunk) in self.lanes.iter_mut().zip(digest.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *lane = lane.wrapping_add(u64::from_be_bytes(b));
        }
        self.rows += 1;
    }

    fn finish(&self, table: &str) -> TableCopy {
        TableCopy {
            table: table.to_string(),
            rows: self.rows,
            checksum: self.lanes.iter().map(|l| format!("{l:016x}")).collect(),
        }
    }
}

/// Appends `v` to a `COPY … FROM STDIN` text-format line.
fn copy_field(out: &mut Vec<u8>, v: &Canon) {
    match v {
        Canon::Null => out.extend_from_slice(b"\\N"),
        Canon::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Canon::Float(f) if f.is_nan() => out.extend_from_slice(b"NaN"),
        Canon::Float(f) if f.is_infinite() => {
            out.extend_from_slice(if *f > 0.0 { b"Infinity" } else { b"-Infinity" })
        }
        // Rust prints the shortest text that reads back as the same f64; so does PostgreSQL.
        Canon::Float(f) => out.extend_from_slice(format!("{f:?}").as_bytes()),
        Canon::Bool(b) => out.push(if *b { b't' } else { b'f' }),
        Canon::Bytes(b) => {
            // bytea's hex form, its backslash doubled for COPY's own escaping.
            out.extend_from_slice(b"\\\\x");
            out.extend_from_slice(hex::encode(b).as_bytes());
        }
        Canon::Text(t) => copy_escape(out, t),
        Canon::Json(j) => copy_escape(out, &j.to_string()),
    }
}

fn copy_escape(out: &mut Vec<u8>, text: &str) {
    for b in text.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.push(b),
        }
    }
}

/// What `store copy` did: every table, in the order copied, verified on both sides.
#[derive(Debug, serde::Serialize)]
pub struct CopyReport {
    pub tables: Vec<TableCopy>,
}

/// `store copy`: the base at the URL `from` (SQLite) into the empty PostgreSQL base at
/// the URL `to`, whose tables its migrations make first.
pub async fn run(
    from: &str,
    to: &str,
    done: &mut (dyn FnMut(&TableCopy) + Send),
) -> Result<CopyReport> {
    use super::DatabaseUrl;
    let DatabaseUrl::Postgres(_) = DatabaseUrl::parse(to)? else {
        bail!("--to must name a PostgreSQL database (postgres://USER@HOST/NAME), not {to}");
    };
    let DatabaseUrl::Sqlite(source) = DatabaseUrl::parse(from)? else {
        bail!("`store copy` moves a SQLite base to PostgreSQL; this base is already on PostgreSQL");
    };
    // Opening brings the source's schema up to this version, as any command would.
    super::Store::open(from).await?.close().await;
    super::Store::create(to).await?.close().await;
    copy_base(&source, to, done).await
}

/// Copies the SQLite base at `source` (a file path) into the empty PostgreSQL base at
/// `target` (a URL; its migrations have made its tables). Nothing is committed unless
/// every table's rows and checksum agree; `done` hears of each table once verified.
pub async fn copy_base(
    source: &str,
    target: &str,
    done: &mut (dyn FnMut(&TableCopy) + Send),
) -> Result<CopyReport> {
    let mut from = sqlite::Source::open(source).await?;
    let mut to = postgres::Target::open(target).await?;
    let plan = plan(&from.tables().await?, &to.tables().await?)?;
    let occupied = to.occupied().await?;
    if !occupied.is_empty() {
        bail!(
            "the target database is not empty: {} hold rows. `store copy` fills a new, empty \
             database only (create one with CREATE DATABASE, and do not run `reconsent init` \
             on it: the copy brings the source's keys)",
            occupied.join(", ")
        );
    }
    let order = to.load_order(plan.keys().cloned().collect()).await?;
    // One snapshot of the source, one transaction on the target: a failure anywhere
    // leaves the target as empty as it was.
    from.begin().await?;
    to.begin().await?;
    let copied = match copy_tables(&mut from, &mut to, &order, &plan, done).await {
        Ok(copied) => copied,
        Err(e) => {
            to.rollback().await;
            return Err(e);
        }
    };
    to.commit().await?;
    from.end().await;
    to.analyze().await?;
    Ok(CopyReport { tables: copied })
}

/// Streams each table in batches, then reads every one back from the target.
async fn copy_tables(
    from: &mut sqlite::Source,
    to: &mut postgres::Target,
    order: &[String],
    plan: &BTreeMap<String, Vec<Column>>,
    done: &mut (dyn FnMut(&TableCopy) + Send),
) -> Result<Vec<TableCopy>> {
    const BATCH: usize = 1 << 20;
    let mut sent = Vec::new();
    for table in order {
        let columns = &plan[table];
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let mut sum = Checksum::default();
        let mut copy = to.copy_in(table, &names).await?;
        let mut rows = from.rows(table, &names);
        let mut buf = Vec::with_capacity(BATCH + 4096);
        let mut values = Vec::with_capacity(columns.len());
        while let Some(stored) = rows.try_next().await? {
            values.clear();
            for (i, (v, column)) in stored.into_iter().zip(columns).enumerate() {
                let at = At {
                    table,
                    column: &column.name,
                    row: sum.rows + 1,
                };
                let v = canon(v, column.kind, &at)?;
                if i > 0 {
                    buf.push(b'\t');
                }
                copy_field(&mut buf, &v);
                values.push(v);
            }
            buf.push(b'\n');
            sum.add_row(&values);
            if buf.len() >= BATCH {
                copy.send(std::mem::take(&mut buf))
                    .await
                    .with_context(|| format!("writing table {table}"))?;
                buf.reserve(BATCH + 4096);
            }
        }
        drop(rows);
        if !buf.is_empty() {
            copy.send(buf)
                .await
                .with_context(|| format!("writing table {table}"))?;
        }
        let written = copy
            .finish()
            .await
            .with_context(|| format!("writing table {table}"))?;
        if written != sum.rows {
            bail!("table {table}: {} rows read, {written} written", sum.rows);
        }
        sent.push(sum.finish(table));
    }
    to.reset_sequences().await?;
    for (table, source) in order.iter().zip(&sent) {
        let stored = to.checksum(table, &plan[table]).await?;
        if stored != *source {
            bail!(
                "table {table} differs after the copy: the source has {} rows (checksum {}), \
                 the target {} (checksum {}); nothing was kept",
                source.rows,
                source.checksum,
                stored.rows,
                stored.checksum
            );
        }
        done(&stored);
    }
    Ok(sent)
}

/// A column copied: its name and what the target keeps in it.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
}

/// Every source table with the target's type for each of its columns; refuses a
/// table or column the target does not have.
fn plan(
    source: &BTreeMap<String, Vec<String>>,
    target: &BTreeMap<String, BTreeMap<String, Option<Kind>>>,
) -> Result<BTreeMap<String, Vec<Column>>> {
    let mut plan = BTreeMap::new();
    for (table, columns) in source {
        let Some(theirs) = target.get(table) else {
            bail!("the target has no table {table}: it was made by another version of reconsent");
        };
        let mut planned = Vec::new();
        for name in columns {
            match theirs.get(name) {
                None => bail!(
                    "the target's table {table} has no column {name}: it was made by another version of reconsent"
                ),
                Some(None) => {
                    bail!("the target's column {table}.{name} has a type `store copy` cannot fill")
                }
                Some(Some(kind)) => planned.push(Column {
                    name: name.clone(),
                    kind: *kind,
                }),
            }
        }
        plan.insert(table.clone(), planned);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> At<'static> {
        At {
            table: "t",
            column: "c",
            row: 7,
        }
    }

    #[test]
    fn values_convert_to_the_target_columns_type() {
        use serde_json::json;
        let cases: Vec<(Stored, Kind, Canon)> = vec![
            (Stored::Null, Kind::Bool, Canon::Null),
            (Stored::Int(5), Kind::Int, Canon::Int(5)),
            (Stored::Int(1), Kind::Bool, Canon::Bool(true)),
            (Stored::Int(0), Kind::Bool, Canon::Bool(false)),
            (Stored::Int(2), Kind::Float, Canon::Float(2.0)),
            (Stored::Real(0.5), Kind::Float, Canon::Float(0.5)),
            (Stored::Int(12), Kind::Text, Canon::Text("12".into())),
            (
                Stored::Blob(vec![0, 255]),
                Kind::Bytes,
                Canon::Bytes(vec![0, 255]),
            ),
            (
                Stored::Text("{\"b\":1, \"a\":[true]}".into()),
                Kind::Json,
                Canon::Json(json!({"a": [true], "b": 1})),
            ),
        ];
        for (stored, kind, expected) in cases {
            assert_eq!(
                canon(stored.clone(), kind, &at()).unwrap(),
                expected,
                "{stored:?}"
            );
        }
    }

    #[test]
    fn a_value_the_target_cannot_hold_is_named_with_its_place() {
        let cases = [
            (Stored::Int(2), Kind::Bool, "the integer 2"),
            (Stored::Text("x".into()), Kind::Int, "a text"),
            (Stored::Text("{".into()), Kind::Json, "not valid JSON"),
            (Stored::Text("a\0b".into()), Kind::Text, "NUL"),
        ];
        for (stored, kind, says) in cases {
            let e = format!("{:#}", canon(stored, kind, &at()).unwrap_err());
            assert!(e.contains("table t, column c, row 7"), "{e}");
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn copy_text_escapes_what_copy_reads_specially() {
        let cases = [
            (Canon::Null, "\\N"),
            (Canon::Int(-3), "-3"),
            (Canon::Float(0.1), "0.1"),
            (Canon::Float(1e300), "1e300"),
            (Canon::Float(f64::NEG_INFINITY), "-Infinity"),
            (Canon::Bool(true), "t"),
            (Canon::Bytes(vec![1, 171]), "\\\\x01ab"),
            (Canon::Text("a\\b\tc\nd\re".into()), "a\\\\b\\tc\\nd\\re"),
            (Canon::Text("\\N".into()), "\\\\N"),
        ];
        for (v, expected) in cases {
            let mut out = Vec::new();
            copy_field(&mut out, &v);
            assert_eq!(String::from_utf8(out).unwrap(), expected, "{v:?}");
        }
    }

    #[test]
    fn the_checksum_ignores_row_order_and_sees_every_value() {
        let rows = [
            vec![Canon::Int(1), Canon::Text("a".into())],
            vec![Canon::Int(2), Canon::Null],
            vec![Canon::Int(3), Canon::Text(String::new())],
        ];
        let sum = |order: &[usize]| {
            let mut c = Checksum::default();
            for i in order {
                c.add_row(&rows[*i]);
            }
            c.finish("t")
        };
        let forward = sum(&[0, 1, 2]);
        assert_eq!(forward, sum(&[2, 0, 1]));
        assert_eq!(forward.rows, 3);
        assert_eq!(forward.checksum.len(), 64);
        // NULL and the empty text, or a row dropped, differ.
        let mut other = Checksum::default();
        other.add_row(&rows[0]);
        other.add_row(&rows[1]);
        other.add_row(&[Canon::Int(3), Canon::Null]);
        assert_ne!(forward.checksum, other.finish("t").checksum);
        assert_ne!(forward.checksum, sum(&[0, 1]).checksum);
    }

    #[test]
    fn a_source_table_or_column_the_target_lacks_refuses_the_copy() {
        let source = BTreeMap::from([("contacts".to_string(), vec!["id".to_string()])]);
        let target = |cols: &[(&str, Option<Kind>)]| {
            BTreeMap::from([(
                "contacts".to_string(),
                cols.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
            )])
        };
        let ok = plan(
            &source,
            &target(&[("id", Some(Kind::Int)), ("extra", None)]),
        )
        .unwrap();
        assert_eq!(ok["contacts"].len(), 1);
        let e = plan(&source, &target(&[("other", Some(Kind::Int))])).unwrap_err();
        assert!(e.to_string().contains("no column id"), "{e}");
        let e = plan(&source, &target(&[("id", None)])).unwrap_err();
        assert!(e.to_string().contains("contacts.id"), "{e}");
        let e = plan(&source, &BTreeMap::new()).unwrap_err();
        assert!(e.to_string().contains("no table contacts"), "{e}");
    }
}
