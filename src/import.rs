//! `import FILE`: CSV (`,` `;` or tab, BOM, quoted fields, CRLF) or JSON Lines.
//!
//! All or nothing: rows are parsed and staged inside one transaction; one bad row
//! refuses the file (every bad line listed) unless `--skip-invalid`. Staging in the
//! database, not in memory, keeps memory flat for a file of any length; rows of one
//! address are merged there, in line order, with a warning naming both lines.

use crate::domain::{
    ConsentMethod, ConsentRecord, Contact, Country, EmailAddress, Instant, Locale, parse_instant,
};
use crate::policy::{Policy, consent_defects};
use crate::secrets::Secrets;
use crate::store::{ImportTx, LedgerEntry, Store};
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// The import columns (DESIGN §3), in the order `Fields` holds them.
pub const COLUMNS: [&str; 17] = [
    "email",
    "name",
    "locale",
    "country",
    "customer",
    "last_purchase_at",
    "last_activity_at",
    "consent_at",
    "consent_method",
    "consent_prechecked",
    "consent_bundled",
    "consent_text_version",
    "consent_ip",
    "consent_source",
    "consent_withdrawn_at",
    "legal_hold",
    "external_id",
];
type Fields = [Option<String>; COLUMNS.len()];

const STAGE_BATCH: usize = 2_000;
const MERGE_PAGE: i64 = 2_000;
/// Bad lines kept for the report; past this they are only counted, so a file that is
/// wrong throughout cannot exhaust memory.
const MAX_LISTED_ERRORS: usize = 10_000;
const PROGRESS_EVERY: u64 = 100_000;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub error: String,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    pub dry_run: bool,
    pub skip_invalid: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub invalid: Vec<RowError>,
    pub refused_tombstoned: u64,
    /// Data rows read (valid or not).
    pub rows: u64,
    /// Invalid rows, including those past the listed ones.
    pub invalid_count: u64,
    /// Rows merged into an earlier row of the same address.
    pub merged_duplicates: u64,
    pub dry_run: bool,
    /// Whether anything was written: false on refusal and on a dry run.
    pub written: bool,
}

/// What the import tells its caller while it runs.
pub enum ImportEvent {
    Warning(String),
    Progress { phase: &'static str, rows: u64 },
}

pub struct ImportContext<'a> {
    pub policy: &'a Policy,
    pub secrets: &'a Secrets,
    pub now: Instant,
}

pub async fn import_file(
    store: &Store,
    path: &Path,
    opts: ImportOptions,
    ctx: &ImportContext<'_>,
    events: &mut dyn FnMut(ImportEvent),
) -> Result<ImportReport> {
    let mut reader = RowReader::open(path)?;
    for w in reader.take_warnings() {
        events(ImportEvent::Warning(w));
    }
    let mut report = ImportReport {
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let mut tx = store.begin_import().await?;
    let mut batch = Vec::with_capacity(STAGE_BATCH);
    while let Some(item) = reader.next_row()? {
        report.rows += 1;
        match item.and_then(|(line, fields)| {
            parse_row(fields)
                .map(|c| (line, c))
                .map_err(|error| RowError { line, error })
        }) {
            Ok(row) if report.invalid_count == 0 || opts.skip_invalid => {
                batch.push(row);
                if batch.len() == STAGE_BATCH {
                    tx.stage(&batch).await?;
                    batch.clear();
                }
            }
            // The file is refused already: parse on only to list every bad line.
            Ok(_) => {}
            Err(e) => {
                report.invalid_count += 1;
                if report.invalid.len() < MAX_LISTED_ERRORS {
                    report.invalid.push(e);
                }
            }
        }
        if report.rows.is_multiple_of(PROGRESS_EVERY) {
            events(ImportEvent::Progress {
                phase: "read",
                rows: report.rows,
            });
        }
    }
    for w in reader.take_warnings() {
        events(ImportEvent::Warning(w));
    }
    if report.invalid_count > 0 && !opts.skip_invalid {
        tx.rollback().await?;
        return Ok(report);
    }
    tx.stage(&batch).await?;
    drop(batch);
    tx.finish_staging().await?;
    tracing::debug!(
        rows = report.rows,
        secs = started.elapsed().as_secs_f64(),
        "read and staged"
    );
    merge_staged(&mut tx, &mut report, ctx, events).await?;
    tracing::debug!(secs = started.elapsed().as_secs_f64(), "merged");
    if opts.dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
        report.written = true;
    }
    tracing::debug!(secs = started.elapsed().as_secs_f64(), "committed");
    Ok(report)
}

/// Walks the stage in address order, merges rows of one address, applies each contact.
async fn merge_staged(
    tx: &mut ImportTx,
    report: &mut ImportReport,
    ctx: &ImportContext<'_>,
    events: &mut dyn FnMut(ImportEvent),
) -> Result<()> {
    let mut cursor = None;
    let mut current: Option<(u64, Contact)> = None;
    let mut done = 0u64;
    loop {
        let page = tx.staged(&cursor, MERGE_PAGE).await?;
        let Some((last_line, last)) = page.last() else {
            break;
        };
        cursor = Some((last.email.key().to_string(), *last_line as i64));
        let mut ready = Vec::with_capacity(page.len());
        for (line, c) in page {
            match current.as_mut() {
                Some((first, group)) if group.email.key() == c.email.key() => {
                    events(ImportEvent::Warning(format!(
                        "line {line}: same address as line {first} ({}); the two rows were merged into one contact",
                        c.email
                    )));
                    report.merged_duplicates += 1;
                    group.overlay(&c);
                }
                _ => ready.extend(current.replace((line, c))),
            }
        }
        done += ready.len() as u64;
        apply(tx, ready, report, ctx, events).await?;
        events(ImportEvent::Progress {
            phase: "merge",
            rows: done,
        });
    }
    apply(tx, current.into_iter().collect(), report, ctx, events).await
}

async fn apply(
    tx: &mut ImportTx,
    contacts: Vec<(u64, Contact)>,
    report: &mut ImportReport,
    ctx: &ImportContext<'_>,
    events: &mut dyn FnMut(ImportEvent),
) -> Result<()> {
    if contacts.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = contacts.iter().map(|(_, c)| c.email.key()).collect();
    let existing = tx.existing(&keys).await?;
    let tombstone_keys: Vec<Vec<u8>> = contacts
        .iter()
        .filter(|(_, c)| !existing.contains_key(c.email.key()))
        .map(|(_, c)| ctx.secrets.tombstone(c.email.key()))
        .collect();
    let tombstoned = tx.tombstoned(&tombstone_keys).await?;
    let policy_version = ctx.policy.version();
    let entry = |line: u64, c: &Contact| LedgerEntry {
        event: "imported".into(),
        at: ctx.now,
        policy_version: policy_version.clone(),
        detail: Some(serde_json::json!({ "line": line, "consent": consent_json(&c.consent) })),
        ..Default::default()
    };
    let mut ledger = Vec::new();
    let mut new = Vec::new();
    for (line, c) in &contacts {
        if let Some(old) = existing.get(c.email.key()) {
            let mut merged = old.contact.clone();
            merged.overlay(c);
            if merged == old.contact {
                report.unchanged += 1;
                continue;
            }
            tx.update(old.id, &merged, ctx.now).await?;
            report.updated += 1;
            if merged.consent != old.contact.consent {
                ledger.push((old.id, entry(*line, &merged)));
            }
            continue;
        }
        let erased_at = tombstoned.get(&ctx.secrets.tombstone(c.email.key()));
        match erased_at {
            Some(at) if !carries_new_consent(&c.consent, *at) => {
                report.refused_tombstoned += 1;
                events(ImportEvent::Warning(format!(
                    "line {line}: {} was erased on {} and is not imported again without a new valid consent",
                    c.email,
                    at.format("%Y-%m-%d")
                )));
            }
            _ => new.push((*line, c)),
        }
    }
    let refs: Vec<&Contact> = new.iter().map(|(_, c)| *c).collect();
    let ids = tx.insert(&refs, ctx.now).await?;
    report.inserted += new.len() as u64;
    for (line, c) in new {
        let id = *ids
            .get(c.email.key())
            .with_context(|| format!("the store did not return the id of {}", c.email))?;
        ledger.push((id, entry(line, c)));
    }
    tx.append_ledger(&ledger).await
}

/// An erased address comes back only with a GDPR-grade consent given after the erasure.
fn carries_new_consent(consent: &ConsentRecord, erased_at: Instant) -> bool {
    consent_defects(consent).is_empty()
        && consent.at.is_some_and(|at| at > erased_at)
        && consent.withdrawn_at.is_none_or(|w| Some(w) < consent.at)
}

fn consent_json(c: &ConsentRecord) -> serde_json::Value {
    let t = |v: Option<Instant>| v.map(|t| t.to_rfc3339());
    serde_json::json!({
        "at": t(c.at),
        "method": c.method.map(|m| m.as_str()),
        "prechecked": c.prechecked,
        "bundled": c.bundled,
        "text_version": c.text_version,
        "ip": c.ip,
        "source": c.source,
        "withdrawn_at": t(c.withdrawn_at),
    })
}

/// One row's cells → a contact, or every problem in the row, each naming its column.
pub fn parse_row(fields: Fields) -> Result<Contact, String> {
    let [
        email,
        name,
        locale,
        country,
        customer,
        last_purchase_at,
        last_activity_at,
        consent_at,
        consent_method,
        consent_prechecked,
        consent_bundled,
        consent_text_version,
        consent_ip,
        consent_source,
        consent_withdrawn_at,
        legal_hold,
        external_id,
    ] = fields.map(|f| f.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
    let mut errors = Vec::new();
    let email = check(
        &mut errors,
        "email",
        match email {
            None => Err("missing (every row needs an address)".to_string()),
            Some(e) => EmailAddress::parse(&e).map(Some).map_err(|e| e.to_string()),
        },
    );
    let date = |v: Option<String>| {
        v.map(|s| parse_instant(&s).map_err(|e| e.to_string()))
            .transpose()
    };
    let flag = |v: Option<String>, tristate: bool| {
        v.map(|s| parse_bool(&s, tristate))
            .transpose()
            .map(Option::flatten)
    };
    let contact_locale = check(
        &mut errors,
        "locale",
        locale
            .map(|l| Locale::parse(&l).map_err(|e| e.to_string()))
            .transpose(),
    );
    let contact_country = check(
        &mut errors,
        "country",
        country
            .map(|c| Country::parse(&c).map_err(|e| e.to_string()))
            .transpose(),
    );
    let customer = check(&mut errors, "customer", flag(customer, false));
    let last_purchase_at = check(&mut errors, "last_purchase_at", date(last_purchase_at));
    let last_activity_at = check(&mut errors, "last_activity_at", date(last_activity_at));
    let consent_at = check(&mut errors, "consent_at", date(consent_at));
    let method = check(
        &mut errors,
        "consent_method",
        consent_method
            .map(|m| match ConsentMethod::parse(&m) {
                Some(ConsentMethod::Reconsent) | None => Err(format!(
                    "'{m}' is not a method (expected double_opt_in, single_opt_in or unknown)"
                )),
                Some(method) => Ok(method),
            })
            .transpose(),
    );
    let prechecked = check(
        &mut errors,
        "consent_prechecked",
        flag(consent_prechecked, true),
    );
    let bundled = check(&mut errors, "consent_bundled", flag(consent_bundled, true));
    let ip = check(
        &mut errors,
        "consent_ip",
        consent_ip
            .map(|ip| {
                ip.parse::<std::net::IpAddr>()
                    .map(|a| a.to_string())
                    .map_err(|_| format!("'{ip}' is not an IP address"))
            })
            .transpose(),
    );
    let withdrawn_at = check(
        &mut errors,
        "consent_withdrawn_at",
        date(consent_withdrawn_at),
    );
    let legal_hold = check(&mut errors, "legal_hold", flag(legal_hold, false));
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    let email = email.ok_or("email: missing")?;
    Ok(Contact {
        email,
        name,
        locale: contact_locale,
        country: contact_country,
        customer,
        last_purchase_at,
        last_activity_at,
        consent: ConsentRecord {
            at: consent_at,
            method,
            prechecked,
            bundled,
            text_version: consent_text_version,
            ip,
            source: consent_source,
            withdrawn_at,
        },
        legal_hold,
        external_id,
    })
}

fn check<T>(
    errors: &mut Vec<String>,
    column: &str,
    result: Result<Option<T>, String>,
) -> Option<T> {
    result.unwrap_or_else(|e| {
        errors.push(format!("{column}: {e}"));
        None
    })
}

/// `true/false` (and yes/no, 1/0). Where "not known" is meaningful, `unknown` is `None`.
fn parse_bool(s: &str, tristate: bool) -> Result<Option<bool>, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Ok(Some(true)),
        "false" | "no" | "n" | "0" => Ok(Some(false)),
        "unknown" if tristate => Ok(None),
        _ if tristate => Err(format!("'{s}' is not true, false or unknown")),
        _ => Err(format!("'{s}' is not true or false")),
    }
}

type RowItem = Result<(u64, Fields), RowError>;

/// Reads rows of either format, each with the line it starts on.
enum RowReader {
    Csv {
        rdr: csv::Reader<BufReader<File>>,
        record: csv::ByteRecord,
        map: Vec<Option<usize>>,
        warnings: Vec<String>,
    },
    Jsonl {
        src: BufReader<File>,
        line: u64,
        buf: Vec<u8>,
        unknown: BTreeSet<String>,
        warned: bool,
    },
}

impl RowReader {
    fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut src = BufReader::with_capacity(1 << 20, file);
        let head = src
            .fill_buf()
            .with_context(|| format!("cannot read {}", path.display()))?;
        let bom = head.starts_with(b"\xEF\xBB\xBF");
        let head = if bom { &head[3..] } else { head };
        if head.iter().all(u8::is_ascii_whitespace) {
            bail!(
                "{} is empty: expected a header row with at least an 'email' column",
                path.display()
            );
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let jsonl = matches!(ext.as_str(), "jsonl" | "ndjson" | "json")
            || head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let delimiter = detect_delimiter(head);
        if bom {
            src.consume(3);
        }
        if jsonl {
            return Ok(RowReader::Jsonl {
                src,
                line: 0,
                buf: Vec::new(),
                unknown: BTreeSet::new(),
                warned: false,
            });
        }
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(src);
        let mut header = csv::ByteRecord::new();
        if !rdr
            .read_byte_record(&mut header)
            .context("line 1: cannot read the header row")?
        {
            bail!("{} has no header row", path.display());
        }
        let (map, ignored) = header_map(&header, delimiter)?;
        let warnings = if ignored.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "line 1: ignored columns not among the import columns: {} (known: {})",
                ignored.join(", "),
                COLUMNS.join(", ")
            )]
        };
        Ok(RowReader::Csv {
            rdr,
            record: csv::ByteRecord::new(),
            map,
            warnings,
        })
    }

    /// Warnings about the file as a whole (ignored columns), once.
    fn take_warnings(&mut self) -> Vec<String> {
        match self {
            RowReader::Csv { warnings, .. } => std::mem::take(warnings),
            RowReader::Jsonl {
                unknown, warned, ..
            } if !*warned && !unknown.is_empty() => {
                *warned = true;
                let keys: Vec<_> = unknown.iter().map(String::as_str).collect();
                vec![format!(
                    "ignored keys not among the import columns: {}",
                    keys.join(", ")
                )]
            }
            RowReader::Jsonl { .. } => Vec::new(),
        }
    }

    /// `Ok(None)` at the end; `Err` only when the file itself cannot be read.
    fn next_row(&mut self) -> Result<Option<RowItem>> {
        match self {
            RowReader::Csv {
                rdr, record, map, ..
            } => loop {
                if !rdr
                    .read_byte_record(record)
                    .context("cannot read the file")?
                {
                    return Ok(None);
                }
                let line = record.position().map_or(0, |p| p.line());
                if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                    continue;
                }
                return Ok(Some(csv_fields(line, record, map)));
            },
            RowReader::Jsonl {
                src,
                line,
                buf,
                unknown,
                ..
            } => loop {
                buf.clear();
                if src.read_until(b'\n', buf).context("cannot read the file")? == 0 {
                    return Ok(None);
                }
                *line += 1;
                if buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Ok(Some(json_fields(*line, buf, unknown)));
            },
        }
    }
}

fn detect_delimiter(head: &[u8]) -> u8 {
    let first_line = head.split(|b| *b == b'\n').next().unwrap_or(head);
    let mut counts = [(b',', 0), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in first_line {
        if *b == b'"' {
            quoted = !quoted;
        }
        for (d, n) in counts.iter_mut() {
            if !quoted && b == d {
                *n += 1;
            }
        }
    }
    // Ties go to the comma, the first listed.
    counts
        .iter()
        .fold((b',', 0), |best, c| if c.1 > best.1 { *c } else { best })
        .0
}

/// Column positions, and the names of columns that are not import columns.
fn header_map(
    header: &csv::ByteRecord,
    delimiter: u8,
) -> Result<(Vec<Option<usize>>, Vec<String>)> {
    let mut map = Vec::with_capacity(header.len());
    let mut seen = [false; COLUMNS.len()];
    let mut ignored = Vec::new();
    for raw in header.iter() {
        let name = std::str::from_utf8(raw)
            .context("line 1: the header is not valid UTF-8 text (save the file as UTF-8)")?
            .trim()
            .to_ascii_lowercase();
        let idx = COLUMNS.iter().position(|c| *c == name);
        if let Some(i) = idx {
            if seen[i] {
                bail!("line 1: the column '{name}' appears twice in the header");
            }
            seen[i] = true;
        } else if !name.is_empty() {
            ignored.push(name);
        }
        map.push(idx);
    }
    if !seen[0] {
        let d = match delimiter {
            b';' => "semicolons",
            b'\t' => "tabs",
            _ => "commas",
        };
        bail!(
            "line 1: the header has no 'email' column (read as separated by {d}; the header is: {})",
            String::from_utf8_lossy(header.as_slice())
                .chars()
                .take(120)
                .collect::<String>()
        );
    }
    Ok((map, ignored))
}

fn csv_fields(line: u64, record: &csv::ByteRecord, map: &[Option<usize>]) -> RowItem {
    if record.len() != map.len() {
        return Err(RowError {
            line,
            error: format!(
                "{} fields where the header has {} (check the separator and the quotes)",
                record.len(),
                map.len()
            ),
        });
    }
    let mut fields: Fields = Default::default();
    for (raw, idx) in record.iter().zip(map) {
        let Some(i) = idx else { continue };
        let text = std::str::from_utf8(raw).map_err(|_| RowError {
            line,
            error: format!(
                "{}: not valid UTF-8 text (save the file as UTF-8)",
                COLUMNS[*i]
            ),
        })?;
        fields[*i] = Some(text.to_string());
    }
    Ok((line, fields))
}

fn json_fields(line: u64, buf: &[u8], unknown: &mut BTreeSet<String>) -> RowItem {
    let err = |error: String| RowError { line, error };
    let text = std::str::from_utf8(buf)
        .map_err(|_| err("not valid UTF-8 text (save the file as UTF-8)".into()))?;
    let object: HashMap<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| err(format!("not a JSON object: {e}")))?;
    let mut fields: Fields = Default::default();
    for (key, value) in object {
        let name = key.to_ascii_lowercase();
        let Some(i) = COLUMNS.iter().position(|c| *c == name) else {
            if unknown.len() < 100 {
                unknown.insert(key);
            }
            continue;
        };
        fields[i] = match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => {
                return Err(err(format!(
                    "{name}: expected text, a number or true/false"
                )));
            }
        };
    }
    Ok((line, fields))
}
