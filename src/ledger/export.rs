//! `evidence export` and `evidence EMAIL --format`: consent records written as JSON Lines
//! or CSV, up to the chain's head taken when the export began (named in every record).

use super::record::{CSV_COLUMNS, ConsentRecord, ExportHead, csv_row, record};
use super::verify::StoredEntry;
use crate::campaign::Campaign;
use crate::domain::Instant;
use crate::store::Store;
use anyhow::{Result, bail};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

const PAGE: i64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object a line (JSON Lines).
    #[value(alias = "json")]
    Jsonl,
    /// One row a record under a header row, for a spreadsheet.
    Csv,
}

impl Format {
    /// The format a file name asks for: `.jsonl`, `.json`, `.ndjson` or `.csv`.
    pub fn of_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("jsonl" | "json" | "ndjson") => Ok(Format::Jsonl),
            Some("csv") => Ok(Format::Csv),
            _ => bail!(
                "cannot tell the format from the name {}: end it in .jsonl or .csv, or give --format jsonl|csv",
                path.display()
            ),
        }
    }
}

/// Which entries to export.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub campaign: Option<String>,
    pub since: Option<Instant>,
    pub contact: Option<i64>,
}

impl Filter {
    fn keeps(&self, e: &StoredEntry) -> bool {
        self.campaign
            .as_ref()
            .is_none_or(|c| e.entry.campaign.as_ref() == Some(c))
            && self.since.is_none_or(|t| e.entry.at >= t)
    }
}

/// Writes the records `filter` selects to `out`; returns how many and the head.
pub async fn export(
    store: &Store,
    filter: &Filter,
    format: Format,
    out: &mut (dyn Write + Send),
) -> Result<(u64, ExportHead)> {
    if let Some(name) = &filter.campaign
        && store.campaign(name).await?.is_none()
    {
        bail!("no campaign named {name} was launched");
    }
    let head = store.chain_head().await?;
    let last = head.as_ref().map_or(0, |h| h.entries);
    let head = ExportHead::of(head.as_ref());
    let mut writer = RecordWriter::new(format, out)?;
    let mut campaigns: HashMap<String, Option<Campaign>> = HashMap::new();
    let mut after = 0;
    loop {
        let page = match filter.contact {
            Some(id) if after == 0 => store.chain_of(id).await?,
            Some(_) => Vec::new(),
            None => store.chain_page(after, PAGE).await?,
        };
        let Some(end) = page.last() else { break };
        after = end.id;
        for e in page.iter().filter(|e| filter.keeps(e)) {
            // Entries appended after the export began belong to the next export.
            if e.link.as_ref().is_some_and(|l| l.seq > last) {
                continue;
            }
            let campaign = match &e.entry.campaign {
                Some(name) => {
                    if !campaigns.contains_key(name) {
                        let parsed = store.campaign(name).await?.and_then(|row| {
                            Campaign::parse(&row.definition, &row.source_file).ok()
                        });
                        campaigns.insert(name.clone(), parsed);
                    }
                    campaigns[name].as_ref()
                }
                None => None,
            };
            writer.write(&record(e, campaign, &head))?;
        }
    }
    Ok((writer.finish()?, head))
}

enum RecordWriter<'a> {
    Jsonl(&'a mut (dyn Write + Send), u64),
    Csv(Box<csv::Writer<&'a mut (dyn Write + Send)>>, u64),
}

impl<'a> RecordWriter<'a> {
    fn new(format: Format, out: &'a mut (dyn Write + Send)) -> Result<Self> {
        Ok(match format {
            Format::Jsonl => RecordWriter::Jsonl(out, 0),
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(CSV_COLUMNS)?;
                RecordWriter::Csv(Box::new(w), 0)
            }
        })
    }

    fn write(&mut self, r: &ConsentRecord) -> Result<()> {
        match self {
            RecordWriter::Jsonl(out, n) => {
                serde_json::to_writer(&mut **out, r)?;
                out.write_all(b"\n")?;
                *n += 1;
            }
            RecordWriter::Csv(w, n) => {
                w.write_record(csv_row(r))?;
                *n += 1;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<u64> {
        let n = match self {
            RecordWriter::Jsonl(out, n) => {
                out.flush()?;
                n
            }
            RecordWriter::Csv(mut w, n) => {
                w.flush()?;
                n
            }
        };
        Ok(n)
    }
}
