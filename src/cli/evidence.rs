//! `reconsent evidence`: one contact's ledger, the chain's check and head, and the
//! consent records handed to a regulator.

use super::Ctx;
use crate::domain::EmailAddress;
use crate::ledger::export::{Filter, Format};
use crate::ledger::{self, Verdict};
use crate::print::{self, errln, outln};
use crate::store::LedgerEntry;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvidenceArgs {
    #[command(subcommand)]
    command: Option<EvidenceCommand>,
    /// The contact's address.
    #[arg(required = true)]
    email: Option<String>,
    /// Render again, into this folder, every request e-mail and confirmation page the
    /// contact was shown, and check each against the hash in the ledger.
    #[arg(long, value_name = "DIR")]
    show: Option<PathBuf>,
    /// Print the contact's consent records (ISO/IEC TS 27560) instead: JSON Lines or CSV.
    #[arg(long, value_enum)]
    format: Option<Format>,
}

#[derive(Subcommand)]
enum EvidenceCommand {
    /// Recompute the ledger's hash chain (of the whole base, or of one contact) and name
    /// the first entry that does not match.
    Verify {
        /// Only this contact's chain.
        email: Option<String>,
        /// A head printed earlier by `evidence head`: it must still be in the chain.
        #[arg(long)]
        head: Option<String>,
    },
    /// Print the chain's current head, its time and entry count, to record elsewhere.
    Head,
    /// Write consent records (ISO/IEC TS 27560 fields, docs/consent-record.schema.json),
    /// one per ledger entry, each naming the chain's head the export was made at.
    Export {
        /// Only this campaign's entries.
        #[arg(long)]
        campaign: Option<String>,
        /// Only entries from this time on (RFC 3339 or YYYY-MM-DD).
        #[arg(long, value_parser = super::parse_now)]
        since: Option<crate::domain::Instant>,
        /// The file to write (replaced whole, never left half-written).
        #[arg(long)]
        out: PathBuf,
        /// jsonl or csv (default: from the file's extension).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

pub async fn run(ctx: &Ctx, args: EvidenceArgs) -> Result<ExitCode> {
    match (args.command, args.email) {
        (Some(EvidenceCommand::Verify { email, head }), _) => {
            verify(ctx, email.as_deref(), head.as_deref()).await
        }
        (Some(EvidenceCommand::Head), _) => head(ctx).await,
        (
            Some(EvidenceCommand::Export {
                campaign,
                since,
                out,
                format,
            }),
            _,
        ) => {
            let filter = Filter {
                campaign,
                since,
                contact: None,
            };
            export_file(ctx, &filter, &out, format).await
        }
        (None, Some(email)) => match (args.show, args.format) {
            (Some(dir), _) => show(ctx, &email, &dir).await,
            (None, Some(format)) => records(ctx, &email, format).await,
            (None, None) => evidence(ctx, &email).await,
        },
        (None, None) => anyhow::bail!("give an address: reconsent evidence EMAIL"),
    }
}

/// The document of `evidence --json`: the address and its whole ledger.
pub fn evidence_document(c: &crate::domain::Contact, entries: &[LedgerEntry]) -> serde_json::Value {
    json!({
        "email": c.email.as_str(),
        "entries": entries,
    })
}

/// The facts of a ledger entry besides its time and event, as `evidence` prints them.
pub fn entry_facts(e: &LedgerEntry) -> Vec<String> {
    let mut facts = Vec::new();
    for (k, v) in [
        ("campaign", &e.campaign),
        ("wave", &e.wave),
        ("ip", &e.ip),
        ("user agent", &e.user_agent),
        ("message", &e.message_id),
        ("content sha256", &e.content_sha256),
        ("privacy policy", &e.privacy_version),
        ("privacy policy sha256", &e.privacy_sha256),
    ] {
        if let Some(v) = v {
            facts.push(format!("{k} {v}"));
        }
    }
    if e.suspect {
        facts.push("SUSPECT (too soon after delivery, or a mail scanner)".into());
    }
    facts
}

async fn contact(
    ctx: &Ctx,
    email: &str,
) -> Result<(crate::store::Store, crate::store::StoredContact)> {
    let address = EmailAddress::parse(email)?;
    let store = ctx.store().await?;
    let stored = store
        .contact_by_key(address.key())
        .await?
        .with_context(|| format!("no contact with the address {address}"))?;
    Ok((store, stored))
}

async fn evidence(ctx: &Ctx, email: &str) -> Result<ExitCode> {
    let (store, stored) = contact(ctx, email).await?;
    let entries = store.ledger(stored.id).await?;
    if ctx.json {
        print::json(&evidence_document(&stored.contact, &entries));
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "Consent ledger of {} ({} entries)",
        stored.contact.email,
        entries.len()
    );
    for e in &entries {
        outln!(
            "  {}  {:<10} {}",
            e.at.format("%Y-%m-%d %H:%M:%S UTC"),
            e.event,
            entry_facts(e).join(", ")
        );
        if let Some(d) = &e.detail {
            outln!("  {:>23} {d}", "");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify(ctx: &Ctx, email: Option<&str>, head: Option<&str>) -> Result<ExitCode> {
    let (verdict, whose) = match email {
        Some(email) => {
            let (store, stored) = contact(ctx, email).await?;
            let verdict = ledger::verify_contact(&store, stored.id, head).await?;
            (verdict, format!("the ledger of {}", stored.contact.email))
        }
        None => {
            let store = ctx.store().await?;
            (
                ledger::verify_base(&store, head).await?,
                "the ledger".to_string(),
            )
        }
    };
    if ctx.json {
        print::json(&verdict_json(&verdict));
    }
    let failure = match &verdict {
        Verdict::Verified(v) => {
            if !ctx.json {
                outln!(
                    "{whose} verifies: {} entries, none changed, removed or reordered.",
                    v.entries
                );
                if let Some((hash, at)) = &v.head {
                    outln!("head {hash} ({})", at.format("%Y-%m-%d %H:%M:%S UTC"));
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        Verdict::Broken(b) => format!("{whose} does NOT verify: {b}"),
        Verdict::HeadNotFound { head, verified } => format!(
            "{whose} does NOT verify: the head {head} recorded earlier is not among its {} entries: \
             entries were removed or the chain was rewritten since",
            verified.entries
        ),
    };
    errln!("error: {failure}");
    Ok(ExitCode::from(1))
}

/// `verify --json`: `{"verified", "entries", "head", "broken": {"entry", "problem"}}`.
pub fn verdict_json(v: &Verdict) -> serde_json::Value {
    match v {
        Verdict::Verified(v) => json!({
            "verified": true,
            "entries": v.entries,
            "head": v.head.as_ref().map(|(h, _)| h),
        }),
        Verdict::Broken(b) => json!({
            "verified": false,
            "broken": { "entry": b.id, "problem": b.to_string() },
        }),
        Verdict::HeadNotFound { head, verified } => json!({
            "verified": false,
            "entries": verified.entries,
            "missing_head": head,
        }),
    }
}

async fn head(ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store().await?;
    let head = store.chain_head().await?;
    if ctx.json {
        print::json(&json!({
            "head": head.as_ref().map(|h| &h.head),
            "entries": head.as_ref().map_or(0, |h| h.entries),
            "at": head.as_ref().map(|h| h.at.to_rfc3339()),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    match head {
        Some(h) => {
            outln!("head    {}", h.head);
            outln!("entries {}", h.entries);
            outln!("at      {}", h.at.format("%Y-%m-%d %H:%M:%S UTC"));
            outln!(
                "Keep this line elsewhere; `reconsent evidence verify --head {}` later proves nothing before it changed.",
                h.head
            );
        }
        None => outln!("The ledger is empty: no head yet."),
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(ctx: &Ctx, email: &str, dir: &Path) -> Result<ExitCode> {
    let (store, stored) = contact(ctx, email).await?;
    let shown = ledger::show::show(&store, &ctx.config, &stored, dir).await?;
    let differ: Vec<&ledger::show::Shown> = shown.iter().filter(|s| !s.matches()).collect();
    if ctx.json {
        print::json(&json!({
            "email": stored.contact.email.as_str(),
            "shown": shown.iter().map(|s| json!({
                "entry": s.number,
                "event": s.entry.event,
                "at": s.entry.at.to_rfc3339(),
                "campaign": s.entry.campaign,
                "wave": s.entry.wave,
                "recorded_sha256": s.entry.content_sha256,
                "rendered_sha256": s.rendered_sha256,
                "matches": s.matches(),
                "files": s.files,
            })).collect::<Vec<_>>(),
        }));
    } else {
        outln!(
            "What {} was shown, rendered again into {}:",
            stored.contact.email,
            dir.display()
        );
        for s in &shown {
            let names: Vec<String> = s
                .files
                .iter()
                .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            outln!(
                "  {} {:<10} {}  {}",
                s.entry.at.format("%Y-%m-%d %H:%M:%S UTC"),
                s.entry.event,
                if s.matches() {
                    "matches the ledger"
                } else {
                    "DIFFERS from the ledger"
                },
                names.join(", ")
            );
        }
    }
    if shown.is_empty() {
        errln!(
            "error: {} was never sent a request nor confirmed one",
            stored.contact.email
        );
        return Ok(ExitCode::from(1));
    }
    if let Some(first) = differ.first() {
        errln!(
            "error: {} of {} rendered again differ from the hash in the ledger, first entry {} ({}, {}): \
             recorded {}, rendered {}",
            differ.len(),
            shown.len(),
            first.number,
            first.entry.event,
            first.entry.at.format("%Y-%m-%d %H:%M:%S UTC"),
            first.entry.content_sha256.as_deref().unwrap_or("nothing"),
            first.rendered_sha256
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `evidence EMAIL --format`: the contact's records on stdout.
async fn records(ctx: &Ctx, email: &str, format: Format) -> Result<ExitCode> {
    let (store, stored) = contact(ctx, email).await?;
    let filter = Filter {
        contact: Some(stored.id),
        ..Filter::default()
    };
    let mut buf = Vec::new();
    ledger::export::export(&store, &filter, format, &mut buf).await?;
    let text = String::from_utf8_lossy(&buf);
    match format {
        Format::Jsonl => print::json_text(&text),
        Format::Csv => print::out!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `evidence export`: written beside the target and renamed over it when complete, so a
/// failure leaves the old file (or none), never half of one.
async fn export_file(
    ctx: &Ctx,
    filter: &Filter,
    out: &Path,
    format: Option<Format>,
) -> Result<ExitCode> {
    let format = match format {
        Some(f) => f,
        None => Format::of_path(out)?,
    };
    let store = ctx.store().await?;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile_in(dir)?;
    let (count, head) = {
        let mut w = std::io::BufWriter::new(&mut tmp.1);
        let done = ledger::export::export(&store, filter, format, &mut w).await;
        done?
    };
    tmp.1
        .sync_all()
        .with_context(|| format!("cannot write {}", tmp.0.display()))?;
    std::fs::rename(&*tmp.0, out).with_context(|| format!("cannot write {}", out.display()))?;
    if ctx.json {
        print::json(&json!({ "records": count, "out": out, "head": head }));
    } else {
        outln!("Wrote {count} consent records to {}.", out.display());
        if let Some(h) = &head.hash {
            outln!(
                "They end at the ledger's head {h} ({} entries); `reconsent evidence verify --head {h}` proves later that none changed.",
                head.entries
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A new file in `dir` for writing, removed again if the export fails.
fn tempfile_in(dir: &Path) -> Result<(TempPath, std::fs::File)> {
    let path = dir.join(format!(
        ".reconsent-export-{}.tmp",
        uuid::Uuid::new_v4().simple()
    ));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot write into {}", dir.display()))?;
    Ok((TempPath(path), file))
}

/// A path removed when dropped, unless it was renamed away first.
struct TempPath(PathBuf);

impl std::ops::Deref for TempPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
