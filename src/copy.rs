//! `reconsent store copy --to URL`: the whole base into a new PostgreSQL database, each
//! table's rows and checksum printed as both sides agreed on them.

use crate::print::{self, errln, outln};
use crate::store::copy::TableCopy;
use anyhow::Result;
use std::process::ExitCode;

pub async fn run(from: &str, to: &str, json: bool) -> Result<ExitCode> {
    let shown = crate::store::DatabaseUrl::parse(to)?.describe();
    if !json {
        errln!("Copying the base to {shown}…");
    }
    let started = std::time::Instant::now();
    let mut done = |t: &TableCopy| {
        if !json {
            outln!(
                "{:<16} {:>10} rows  checksum {}  same on both sides",
                t.table,
                t.rows,
                &t.checksum[..16]
            );
        }
    };
    let report = crate::store::copy::run(from, to, &mut done).await?;
    let rows: u64 = report.tables.iter().map(|t| t.rows).sum();
    if json {
        print::json(&serde_json::json!({
            "target": shown,
            "tables": report.tables,
            "rows": rows,
        }));
    } else {
        outln!(
            "Copied {rows} rows in {} tables in {:.1} s. Point reconsent at the new base: \
             database = \"{shown}\" in reconsent.toml (or RECONSENT_DATABASE_URL).",
            report.tables.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
