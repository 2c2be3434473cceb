//! `import FILE`: CSV (`,` `;` or tab, BOM, quoted fields, CRLF) or JSON Lines.
//!
//! All or nothing: rows are parsed and staged inside one transaction; one bad row
//! refuses the file (every bad line listed) unless `--skip-invalid`. Staging in the
//! database, not in memory, keeps memory flat for a file of any length; rows of one
//! address are merged there, in line order, with a warning naming both lines.

mod columns;
mod limits;
mod reader;

use crate::domain::LedgerEvent;
use crate::domain::{
    ConsentMethod, ConsentRecord, Contact, Country, EmailAddress, Instant, Locale, parse_instant,
};
use crate::policy::{Policy, consent_defects, in_future};
use crate::secrets::Secrets;
use crate::store::{ImportTx, LedgerEntry, Store};
use anyhow::{Context, Result};
use reader::RowReader;
use serde::Serialize;
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
            parse_row(fields, ctx.now)
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
        event: LedgerEvent::Imported,
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
            Some(at) if !carries_new_consent(&c.consent, *at, ctx.now) => {
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

/// An erased address comes back only with a GDPR-grade consent given after the erasure,
/// not dated in the future, and not withdrawn since.
fn carries_new_consent(consent: &ConsentRecord, erased_at: Instant, now: Instant) -> bool {
    consent_defects(consent).is_empty()
        && consent
            .at
            .is_some_and(|at| at > erased_at && !in_future(at, now))
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
/// Dates are facts as of `now`: none may lie in its future.
pub fn parse_row(mut fields: Fields, now: Instant) -> Result<Contact, String> {
    let mut errors = limits::take_overlong(&mut fields);
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
    let email = check(
        &mut errors,
        "email",
        match email {
            None => Err("missing (every row needs an address)".to_string()),
            Some(e) => EmailAddress::parse(&e).map(Some).map_err(|e| e.to_string()),
        },
    );
    let date = |v: Option<String>| {
        v.map(|s| {
            parse_instant(&s)
                .map_err(|e| e.to_string())
                .and_then(|t| limits::bounded(t, &s, now))
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Option<Instant> {
        parse_instant(s).ok()
    }

    #[test]
    fn an_erased_address_comes_back_only_with_a_proven_consent_given_since() {
        let erased = parse_instant("2026-09-01").unwrap_or_default();
        let now = parse_instant("2026-11-22T12:00:00Z").unwrap_or_default();
        let proven = |at: &str| ConsentRecord {
            at: t(at),
            method: Some(ConsentMethod::DoubleOptIn),
            prechecked: Some(false),
            bundled: Some(false),
            text_version: Some("nl-7".into()),
            ..Default::default()
        };
        type Case = (&'static str, fn(&mut ConsentRecord), bool);
        let cases: &[Case] = &[
            ("proven, after the erasure", |_| {}, true),
            ("before the erasure", |c| c.at = t("2026-08-01"), false),
            ("at the erasure", |c| c.at = t("2026-09-01"), false),
            ("no time", |c| c.at = None, false),
            (
                "method unknown",
                |c| c.method = Some(ConsentMethod::Unknown),
                false,
            ),
            ("pre-ticked", |c| c.prechecked = Some(true), false),
            ("in the future", |c| c.at = t("9999-12-31"), false),
            (
                "within the clock skew",
                |c| c.at = t("2026-11-22T12:04:00Z"),
                true,
            ),
            (
                "withdrawn after it",
                |c| c.withdrawn_at = t("2026-11-01"),
                false,
            ),
            (
                "withdrawn before it",
                |c| c.withdrawn_at = t("2026-09-15"),
                true,
            ),
        ];
        for (name, change, back) in cases {
            let mut consent = proven("2026-10-01");
            change(&mut consent);
            assert_eq!(carries_new_consent(&consent, erased, now), *back, "{name}");
        }
    }
}
