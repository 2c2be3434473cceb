//! The `reconsent` command: arguments in, words for a marketer (or `--json`) out.
//! Exit codes: 0 done, 1 refused (the message says why), 2 usage.

use crate::campaign::commands;
use crate::config::Config;
use crate::domain::{EmailAddress, Instant, Locale, parse_instant};
use crate::import::{ImportContext, ImportEvent, ImportOptions, ImportReport, import_file};
use crate::policy::ContactClass;
use crate::print::{self, errln, out, outln};
use crate::secrets::TokenSource;
use crate::send::{Clock, SendOptions};
use crate::store::{OpenStores, Store, StoredContact, Tombstone};

mod evidence;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
pub use evidence::{entry_facts, evidence_document};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "reconsent",
    version,
    about = "Re-permission e-mail campaigns: ask only who may lawfully be asked, keep proof of every answer, delete the silent."
)]
struct Cli {
    /// Database URL (default sqlite://reconsent.db).
    #[arg(long, global = true, env = "RECONSENT_DATABASE_URL")]
    database: Option<String>,
    /// Configuration file (default reconsent.toml if present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Act as if it were this instant (RFC 3339 or YYYY-MM-DD), e.g. to ask what a date will bring.
    #[arg(long, global = true, env = "RECONSENT_NOW", value_parser = parse_now)]
    now: Option<Instant>,
    /// Print one JSON document on stdout and nothing else there.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the database (or bring it up to date) and its secrets. Safe to run again.
    Init,
    /// Import contacts from CSV or JSON Lines. One bad row refuses the whole file.
    Import {
        file: PathBuf,
        /// Check and count, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Import the good rows and report the bad ones.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// The contact base by class and country: who may be asked again.
    Audit,
    /// Why one contact is in its class, rule by rule.
    Explain { email: String },
    /// The consent ledger of one contact: every recorded fact, in order (proof under GDPR
    /// Art. 7(1)); `verify` checks its hash chain, `head` prints where it ends, `export`
    /// writes consent records.
    Evidence(evidence::EvidenceArgs),
    /// Check, preview, launch and steer a campaign defined in campaigns/NAME.toml.
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// Erase what is due: the silent after a campaign's deadline and grace, leavers,
    /// hard bounces. Each erased address leaves only a tombstone.
    Purge {
        /// List what would be erased (at --now, if given); erase nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Erase one contact now, on their request: tombstoned and audited.
    Forget { email: String },
    /// Deliver the events waiting for the shop's webhook (`serve` does this by itself).
    Webhooks,
    /// Send what is due, at each campaign's rate.
    Send {
        /// Only this campaign.
        #[arg(long)]
        campaign: Option<String>,
        /// Exit when nothing is due (default: keep running for retries and new work).
        #[arg(long)]
        until_idle: bool,
    },
    /// The admin side of `serve`: `/api` and `/metrics`.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Bounces and complaints that arrive after sending, from the bounce mailbox.
    #[command(subcommand)]
    Bounces(BouncesCommand),
    /// The database itself: move a base to another one.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Answer the links in sent e-mails (confirm, leave, one-click unsubscribe).
    Serve {
        /// Address and port to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
    },
}

#[derive(Subcommand)]
enum BouncesCommand {
    /// Read the bounce mailbox once: delivery status notifications (RFC 3464) and
    /// complaints (RFC 5965), each applied once and moved to the processed folder.
    Fetch,
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Copy the whole base (SQLite) into a new, empty PostgreSQL database, and prove
    /// the copy table by table (rows and checksum). Stop `send` and `serve` first.
    Copy {
        /// The target, e.g. postgres://reconsent@db.example/reconsent.
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Print the admin token (`Authorization: Bearer TOKEN`): `[admin] token` if set,
    /// else the one `init` created.
    Token,
}

#[derive(Subcommand)]
enum CampaignCommand {
    /// Render every locale and prove each required part of the e-mail is there.
    Check { file: PathBuf },
    /// Write the .eml, .html and .txt a contact would get.
    Preview {
        file: PathBuf,
        /// Folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Preview for this contact from the database (default: a sample contact).
        #[arg(long)]
        contact: Option<String>,
        /// Only this locale (default: every locale, or the contact's).
        #[arg(long, value_parser = parse_locale)]
        locale: Option<Locale>,
        /// The wave to preview (default: the first).
        #[arg(long)]
        wave: Option<String>,
    },
    /// Select the audience and queue the first wave. Launching twice changes nothing.
    Launch {
        file: PathBuf,
        /// Count who would be asked; queue nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// The funnel: sent, answered, confirmed, deleted; overall and per wave.
    Status { name: String },
    /// Stop sending until resumed.
    Pause { name: String },
    /// Continue a paused campaign.
    Resume { name: String },
    /// Stop for good: what has not gone out never will.
    Cancel { name: String },
}

fn parse_locale(s: &str) -> Result<Locale, String> {
    Locale::parse(s).map_err(|e| e.to_string())
}

fn parse_now(s: &str) -> Result<Instant, String> {
    parse_instant(s).map_err(|e| e.to_string())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(refusal) = made_up_clock_allowed(&cli) {
        errln!("error: {refusal}");
        return ExitCode::from(2);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RECONSENT_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(json, &anyhow::anyhow!("cannot start: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => fail(json, &e),
    }
}

fn fail(json: bool, e: &anyhow::Error) -> ExitCode {
    if json {
        print::json(&json!({ "error": format!("{e:#}") }));
    }
    errln!("error: {e:#}");
    ExitCode::from(1)
}

/// Whether this command changes the base (a dry run does not).
fn writes(command: &Command) -> bool {
    match command {
        Command::Audit
        | Command::Explain { .. }
        | Command::Evidence(_)
        | Command::Admin(AdminCommand::Token) => false,
        Command::Import { dry_run, .. } | Command::Purge { dry_run } => !dry_run,
        Command::Campaign(c) => match c {
            CampaignCommand::Check { .. }
            | CampaignCommand::Preview { .. }
            | CampaignCommand::Status { .. } => false,
            CampaignCommand::Launch { dry_run, .. } => !dry_run,
            CampaignCommand::Pause { .. }
            | CampaignCommand::Resume { .. }
            | CampaignCommand::Cancel { .. } => true,
        },
        Command::Init
        | Command::Forget { .. }
        | Command::Webhooks
        | Command::Bounces(BouncesCommand::Fetch)
        | Command::Send { .. }
        | Command::Serve { .. }
        | Command::Store(_) => true,
    }
}

/// A made-up clock may ask questions of a real base, never write to it: the ledger,
/// tombstones and purge runs would carry invented dates, and a purge "in March" would
/// erase people before their deadline. Tests and benchmarks opt in.
fn made_up_clock_allowed(cli: &Cli) -> Result<(), String> {
    let test_clock = std::env::var("RECONSENT_TEST_CLOCK").is_ok_and(|v| v == "1");
    if cli.now.is_none() || test_clock || !writes(&cli.command) {
        return Ok(());
    }
    Err(
        "--now (or RECONSENT_NOW) only works with commands that change nothing: \
         audit, explain, evidence, campaign check/preview/status, and --dry-run. \
         A command that writes must use the real time, so that the ledger, tombstones \
         and purges carry true dates. (Tests set RECONSENT_TEST_CLOCK=1.)"
            .to_string(),
    )
}

struct Ctx {
    config: Config,
    database: String,
    now: Instant,
    /// `--now` as given: long-running commands move forward from it.
    fixed_now: Option<Instant>,
    json: bool,
    stores: OpenStores,
}

impl Ctx {
    async fn store(&self) -> Result<Store> {
        Ok(self
            .stores
            .open(&self.database)
            .await?
            .with_webhooks(self.config.webhooks.url.is_some()))
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    let ctx = Ctx {
        database: config.database_url(cli.database.as_deref()),
        config,
        now: cli.now.unwrap_or_else(chrono::Utc::now),
        fixed_now: cli.now,
        json: cli.json,
        stores: OpenStores::default(),
    };
    let result = match cli.command {
        Command::Init => init(&ctx).await,
        Command::Import {
            file,
            dry_run,
            skip_invalid,
        } => {
            import(
                &ctx,
                file,
                ImportOptions {
                    dry_run,
                    skip_invalid,
                },
            )
            .await
        }
        Command::Audit => audit(&ctx).await,
        Command::Explain { email } => explain(&ctx, &email).await,
        Command::Evidence(args) => evidence::run(&ctx, args).await,
        Command::Campaign(cmd) => campaign(&ctx, cmd).await,
        Command::Send {
            campaign,
            until_idle,
        } => send(&ctx, campaign, until_idle).await,
        Command::Purge { dry_run } => purge(&ctx, dry_run).await,
        Command::Forget { email } => forget(&ctx, &email).await,
        Command::Webhooks => webhooks(&ctx).await,
        Command::Bounces(BouncesCommand::Fetch) => bounces_fetch(&ctx).await,
        Command::Serve { bind } => serve(&ctx, &bind).await,
        Command::Admin(AdminCommand::Token) => admin_token(&ctx).await,
        Command::Store(StoreCommand::Copy { to }) => {
            crate::copy::run(&ctx.database, &to, ctx.json).await
        }
    };
    ctx.stores.close().await;
    result
}

async fn send(ctx: &Ctx, campaign: Option<String>, until_idle: bool) -> Result<ExitCode> {
    let store = ctx.store().await?;
    let clock = ctx.fixed_now.map_or_else(Clock::real, Clock::from);
    let opts = SendOptions {
        campaign,
        until_idle,
    };
    let report = crate::send::command::run(store, ctx.config.clone(), clock, opts).await?;
    if ctx.json {
        print::json(&json!({
            "sent": report.sent,
            "retried": report.retried,
            "bounced": report.bounced,
            "failed": report.failed,
            "unknown": report.unknown,
            "recovered_unknown": report.recovered_unknown,
            "paused": report.paused.iter().map(|(n, r)| json!({"campaign": n, "reason": r})).collect::<Vec<_>>(),
            "interrupted": report.interrupted,
        }));
    } else {
        crate::send::command::print(&report);
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(ctx: &Ctx, bind: &str) -> Result<ExitCode> {
    let store = ctx.store().await?;
    if let Err(e) = crate::secrets::admin_token(&store, &ctx.config).await {
        if e.downcast_ref::<crate::secrets::NoAdminToken>().is_none() {
            return Err(e);
        }
        errln!("warning: {e}; until then /api and /metrics answer 401");
    }
    let clock = ctx.fixed_now.map_or_else(Clock::real, Clock::from);
    let state = crate::web::AppState::new(store, ctx.config.clone(), clock).await?;
    crate::web::serve(state, bind).await?;
    Ok(ExitCode::SUCCESS)
}

async fn campaign(ctx: &Ctx, cmd: CampaignCommand) -> Result<ExitCode> {
    let cc = commands::CommandContext {
        config: &ctx.config,
        database: &ctx.database,
        now: ctx.now,
        json: ctx.json,
        stores: &ctx.stores,
    };
    match cmd {
        CampaignCommand::Check { file } => commands::check(&cc, &file),
        CampaignCommand::Preview {
            file,
            out,
            contact,
            locale,
            wave,
        } => {
            let opts = commands::PreviewOptions {
                out,
                contact,
                locale,
                wave,
            };
            commands::preview(&cc, &file, opts).await
        }
        CampaignCommand::Launch { file, dry_run } => commands::launch(&cc, &file, dry_run).await,
        CampaignCommand::Status { name } => commands::status(&cc, &name).await,
        CampaignCommand::Pause { name } => {
            commands::set_state(&cc, &name, commands::StateAction::Pause).await
        }
        CampaignCommand::Resume { name } => {
            commands::set_state(&cc, &name, commands::StateAction::Resume).await
        }
        CampaignCommand::Cancel { name } => {
            commands::set_state(&cc, &name, commands::StateAction::Cancel).await
        }
    }
}

async fn init(ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.stores.create(&ctx.database).await?;
    let path = store.describe();
    crate::secrets::ensure(
        &store,
        ctx.config.secrets.tombstone_key_file.as_deref(),
        ctx.now,
    )
    .await?;
    let token = crate::secrets::ensure_admin_token(&store, &ctx.config, ctx.now).await?;
    let contacts = store.count_contacts().await?;
    if ctx.json {
        print::json(&json!({
            "database": ctx.database,
            "contacts": contacts,
            "admin_token": token_source(token),
        }));
    } else {
        outln!("Database ready: {path} ({contacts} contacts). Next: reconsent import FILE");
        match token {
            TokenSource::Config => {
                outln!("Admin token (for /api and /metrics): [admin] token from the configuration")
            }
            TokenSource::Database => outln!(
                "Admin token (for /api and /metrics): kept in the database, table secrets; \
                 print it with `reconsent admin token`"
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn token_source(source: TokenSource) -> &'static str {
    match source {
        TokenSource::Config => "config",
        TokenSource::Database => "database",
    }
}

/// Only the token goes to stdout, so that `$(reconsent admin token)` is the token.
async fn admin_token(ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store().await?;
    let (token, source) = crate::secrets::admin_token_from(&store, &ctx.config).await?;
    if ctx.json {
        print::json(&json!({ "admin_token": token, "source": token_source(source) }));
    } else {
        outln!("{token}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(ctx: &Ctx, file: PathBuf, opts: ImportOptions) -> Result<ExitCode> {
    let store = ctx.store().await?;
    let secrets = store.secrets().await?;
    let import_ctx = ImportContext {
        policy: &ctx.config.policy,
        secrets: &secrets,
        now: ctx.now,
    };
    let progress = std::io::stderr().is_terminal();
    let mut events = |e: ImportEvent| match e {
        ImportEvent::Warning(w) => errln!("warning: {w}"),
        ImportEvent::Progress { phase, rows } if progress => {
            let verb = if phase == "read" { "read" } else { "saved" };
            print::progress(&format!("\r{verb} {rows} rows…   "));
        }
        ImportEvent::Progress { .. } => {}
    };
    let report = import_file(&store, &file, opts, &import_ctx, &mut events)
        .await
        .with_context(|| format!("{} was not imported", file.display()))?;
    if progress {
        print::progress("\r\x1b[K");
    }
    let refused = report.invalid_count > 0 && !opts.skip_invalid;
    if ctx.json {
        print::json(&serde_json::to_value(&report)?);
    } else {
        print_import(&file, &report, refused);
    }
    Ok(if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_import(file: &std::path::Path, r: &ImportReport, refused: bool) {
    const SHOWN: usize = 50;
    let name = file.display();
    if refused {
        errln!(
            "{name} was not imported: {} of {} rows are invalid. Nothing was written.",
            r.invalid_count,
            r.rows
        );
    }
    for e in r.invalid.iter().take(SHOWN) {
        errln!("  line {}: {}", e.line, e.error);
    }
    if r.invalid_count as usize > SHOWN {
        errln!(
            "  … and {} more (--json lists them all)",
            r.invalid_count as usize - SHOWN
        );
    }
    if refused {
        errln!(
            "Correct these lines, or run again with --skip-invalid to import the other {} rows.",
            r.rows - r.invalid_count
        );
        return;
    }
    let head = if r.dry_run {
        "Dry run, nothing written"
    } else {
        "Imported"
    };
    outln!("{head}: {name}, {} rows", r.rows);
    outln!("  new contacts        {:>9}", r.inserted);
    outln!("  updated             {:>9}", r.updated);
    outln!("  unchanged           {:>9}", r.unchanged);
    if r.merged_duplicates > 0 {
        outln!(
            "  duplicate rows      {:>9}  (merged into the earlier row)",
            r.merged_duplicates
        );
    }
    if r.invalid_count > 0 {
        outln!(
            "  skipped, invalid    {:>9}  (listed above)",
            r.invalid_count
        );
    }
    if r.refused_tombstoned > 0 {
        outln!(
            "  refused, erased     {:>9}  (deleted earlier; need a new consent)",
            r.refused_tombstoned
        );
    }
    if !r.dry_run {
        outln!("Next: reconsent audit");
    }
}

/// The contact base by consent class, overall and per country: what `audit` shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditCounts {
    pub total: u64,
    /// Contacts that may be sent a re-permission request.
    pub eligible: u64,
    pub classes: BTreeMap<ContactClass, u64>,
    /// By country code (`unknown` without one), every class present.
    pub by_country: BTreeMap<String, BTreeMap<ContactClass, u64>>,
}

/// Classifies every contact as of `now`.
pub async fn audit_counts(
    store: &crate::store::Store,
    policy: &crate::policy::Policy,
    now: Instant,
) -> Result<AuditCounts> {
    let zero =
        || -> BTreeMap<ContactClass, u64> { ContactClass::ALL.iter().map(|c| (*c, 0)).collect() };
    let mut classes = zero();
    let mut by_country: BTreeMap<String, BTreeMap<ContactClass, u64>> = BTreeMap::new();
    let mut total = 0u64;
    let mut pages = store.contacts(1_000);
    while let Some(page) = pages.recv().await {
        for stored in &page? {
            let class = policy.classify(&stored.contact, now).class;
            total += 1;
            *classes.entry(class).or_default() += 1;
            let country = stored
                .contact
                .country
                .map_or("unknown".to_string(), |c| c.to_string());
            *by_country
                .entry(country)
                .or_insert_with(zero)
                .entry(class)
                .or_default() += 1;
        }
    }
    let eligible: u64 = classes
        .iter()
        .filter(|(c, _)| c.eligible())
        .map(|(_, n)| n)
        .sum();
    Ok(AuditCounts {
        total,
        eligible,
        classes,
        by_country,
    })
}

async fn audit(ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store().await?;
    let policy = &ctx.config.policy;
    let AuditCounts {
        total,
        eligible,
        classes,
        by_country,
    } = audit_counts(&store, policy, ctx.now).await?;
    if ctx.json {
        let named = |m: &BTreeMap<ContactClass, u64>| -> BTreeMap<&str, u64> {
            m.iter().map(|(c, n)| (c.as_str(), *n)).collect()
        };
        let countries: BTreeMap<&str, BTreeMap<&str, u64>> = by_country
            .iter()
            .map(|(cc, m)| (cc.as_str(), named(m)))
            .collect();
        print::json(&json!({
            "total": total,
            "classes": named(&classes),
            "by_country": countries,
            "eligible": eligible,
            "as_of": ctx.now.to_rfc3339(),
            "policy_version": policy.version(),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    print_audit(total, eligible, &classes, &by_country, ctx.now);
    Ok(ExitCode::SUCCESS)
}

fn class_meaning(c: ContactClass) -> &'static str {
    match c {
        ContactClass::Valid => "good consent, active: no need to ask",
        ContactClass::Stale => "good consent, inactive 3+ years: ask again",
        ContactClass::Weak => "consent without proof: ask again",
        ContactClass::SoftOptIn => "recent customer, no consent: may be asked",
        ContactClass::NoBasis => "no basis to write: never e-mail, delete",
        ContactClass::Withdrawn => "said no: never e-mail, keep suppressed",
    }
}

fn print_audit(
    total: u64,
    eligible: u64,
    classes: &BTreeMap<ContactClass, u64>,
    by_country: &BTreeMap<String, BTreeMap<ContactClass, u64>>,
    now: Instant,
) {
    let pct = |n: u64| {
        if total == 0 {
            0.0
        } else {
            n as f64 * 100.0 / total as f64
        }
    };
    outln!("{total} contacts, as of {}", now.format("%Y-%m-%d"));
    outln!();
    for (class, n) in classes {
        outln!(
            "  {:<12} {:>9} {:>6.1}%   {}",
            class.as_str(),
            n,
            pct(*n),
            class_meaning(*class)
        );
    }
    outln!();
    outln!(
        "May be sent a re-permission request: {eligible} ({:.1}%)",
        pct(eligible)
    );
    outln!();
    out!("{:<8}", "country");
    for c in ContactClass::ALL {
        out!("{:>12}", c.as_str());
    }
    outln!();
    for (country, counts) in by_country {
        out!("{country:<8}");
        for c in ContactClass::ALL {
            out!("{:>12}", counts.get(&c).copied().unwrap_or(0));
        }
        outln!();
    }
    outln!();
    outln!("Why a contact is in its class: reconsent explain ADDRESS");
}

/// `purge`: erases what is due (or, `dry_run`, lists it), then tells the shop's
/// webhook at once; what cannot be delivered now waits in the outbox.
pub async fn purge_and_tell(
    store: &Store,
    config: &Config,
    now: Instant,
    dry_run: bool,
) -> Result<crate::purge::PurgeReport> {
    let secrets = store.secrets().await?;
    let r = crate::purge::purge(
        store,
        config,
        &secrets,
        now,
        dry_run,
        crate::purge::Scrub::Now,
    )
    .await?;
    if !dry_run && let Err(e) = crate::webhooks::deliver(store, config, now).await {
        errln!("warning: webhooks not delivered yet: {e:#}");
    }
    Ok(r)
}

async fn purge(ctx: &Ctx, dry_run: bool) -> Result<ExitCode> {
    let store = ctx.store().await?;
    let r = purge_and_tell(&store, &ctx.config, ctx.now, dry_run).await?;
    if ctx.json {
        print::json(&serde_json::to_value(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    if dry_run {
        outln!(
            "On {}, a purge would erase {} contacts:",
            ctx.now.format("%Y-%m-%d %H:%M UTC"),
            r.would_purge.len()
        );
        for email in &r.would_purge {
            outln!("  {email}");
        }
    } else {
        if r.newly_queued > 0 {
            outln!(
                "{} contacts who did not answer before a campaign's deadline were queued for deletion.",
                r.newly_queued
            );
        }
        outln!(
            "Erased {} contacts; each leaves only a tombstone that stops its re-import.",
            r.purged
        );
        if r.kept > 0 {
            outln!(
                "Kept {} that answered or consented again after they were queued.",
                r.kept
            );
        }
    }
    if !r.held.is_empty() {
        outln!(
            "Kept under legal hold ({}): {}",
            r.held.len(),
            r.held.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn bounces_fetch(ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store().await?;
    let r = crate::bounces::fetch::fetch(&store, &ctx.config, ctx.now).await?;
    if !r.messages.is_empty()
        && let Err(e) = crate::webhooks::deliver(&store, &ctx.config, ctx.now).await
    {
        errln!("warning: webhooks not delivered yet: {e:#}");
    }
    if ctx.json {
        print::json(&serde_json::to_value(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    for m in &r.messages {
        let note = m
            .note
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        outln!(
            "  {}: {}{note} → {}",
            m.id,
            m.outcome.replace('_', " "),
            m.folder
        );
    }
    outln!(
        "Applied {}: {} hard bounces, {} soft bounces, {} complaints. Already applied before: {}. \
         Matched no delivery: {}. Not a bounce or complaint: {}.",
        r.applied(),
        r.hard_bounces,
        r.soft_bounces,
        r.complaints,
        r.already_applied,
        r.unmatched,
        r.skipped
    );
    Ok(ExitCode::SUCCESS)
}

async fn webhooks(ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store().await?;
    let r = crate::webhooks::deliver(&store, &ctx.config, ctx.now).await?;
    if ctx.json {
        print::json(&serde_json::to_value(&r)?);
    } else {
        outln!(
            "Webhooks: {} delivered, {} failed (retried later), {} waiting.",
            r.delivered,
            r.failed,
            r.pending
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What the store knows of an address: its contact, the tombstone it left, or nothing.
pub enum Lookup {
    Contact(Box<StoredContact>),
    Erased(Tombstone),
    Unknown,
}

/// The contact of `address`, or its tombstone (`explain`, `evidence`, `forget`).
pub async fn look_up(store: &Store, address: &EmailAddress) -> Result<Lookup> {
    if let Some(stored) = store.contact_by_key(address.key()).await? {
        return Ok(Lookup::Contact(Box::new(stored)));
    }
    let secrets = store.secrets().await?;
    Ok(
        match store.tombstone(&secrets.tombstone(address.key())).await? {
            Some(t) => Lookup::Erased(t),
            None => Lookup::Unknown,
        },
    )
}

/// "erased on 2026-11-22 (no_response)".
pub fn erased_on(t: &Tombstone) -> String {
    format!("erased on {} ({})", t.at.format("%Y-%m-%d"), t.reason)
}

/// Why a contact under legal hold is not erased on request.
pub fn held_reason(address: &EmailAddress) -> String {
    format!(
        "{address} is under legal hold (e.g. invoices kept by tax law): lift the hold in the source system and re-import it first"
    )
}

/// How an erasure request ended.
pub enum Forgot {
    Erased,
    AlreadyErased(Tombstone),
    /// Refused: the contact is under legal hold.
    Held,
    Unknown,
}

/// `forget`: erases the contact of `address` at once, unless it is under legal hold.
pub async fn forget_address(
    store: &Store,
    config: &Config,
    address: &EmailAddress,
    now: Instant,
) -> Result<Forgot> {
    let stored = match look_up(store, address).await? {
        Lookup::Contact(stored) => stored,
        Lookup::Erased(t) => return Ok(Forgot::AlreadyErased(t)),
        Lookup::Unknown => return Ok(Forgot::Unknown),
    };
    if stored.contact.legal_hold == Some(true) {
        return Ok(Forgot::Held);
    }
    let secrets = store.secrets().await?;
    crate::purge::forget(store, config, &secrets, &stored, now).await?;
    Ok(Forgot::Erased)
}

async fn forget(ctx: &Ctx, email: &str) -> Result<ExitCode> {
    let address = EmailAddress::parse(email)?;
    let store = ctx.store().await?;
    match forget_address(&store, &ctx.config, &address, ctx.now).await? {
        Forgot::AlreadyErased(t) => {
            outln!("{address} was already {}.", erased_on(&t));
            return Ok(ExitCode::SUCCESS);
        }
        Forgot::Unknown => anyhow::bail!("no contact with the address {address}"),
        Forgot::Held => anyhow::bail!(held_reason(&address)),
        Forgot::Erased => {}
    }
    if ctx.json {
        print::json(&json!({ "email": address.as_str(), "erased": true }));
    } else {
        outln!("{address} is erased: only a tombstone remains, which stops its re-import.");
    }
    Ok(ExitCode::SUCCESS)
}

/// What `explain` says of a class, in a few words.
pub fn verdict(result: &crate::policy::Classification) -> &'static str {
    if result.eligible() {
        "may be sent a re-permission request"
    } else if result.class == ContactClass::Valid {
        "needs no request: consent is good"
    } else {
        "must NOT be e-mailed"
    }
}

async fn explain(ctx: &Ctx, email: &str) -> Result<ExitCode> {
    let address = EmailAddress::parse(email)?;
    let store = ctx.store().await?;
    let stored = match look_up(&store, &address).await? {
        Lookup::Contact(stored) => stored,
        Lookup::Erased(t) => anyhow::bail!(
            "{address} was {}; only a tombstone remains, which stops its re-import",
            erased_on(&t)
        ),
        Lookup::Unknown => anyhow::bail!("no contact with the address {address}"),
    };
    let c = &stored.contact;
    let result = ctx.config.policy.classify(c, ctx.now);
    if ctx.json {
        print::json(&json!({
            "email": c.email.as_str(),
            "country": c.country.map(|c| c.to_string()),
            "class": result.class,
            "eligible": result.eligible(),
            "reasons": result.reasons,
            "legal_hold": c.legal_hold.unwrap_or(false),
            "as_of": ctx.now.to_rfc3339(),
            "policy_version": ctx.config.policy.version(),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let country = c
        .country
        .map_or("country unknown".to_string(), |c| c.to_string());
    outln!("{} ({country})", c.email);
    outln!("class: {} ({})", result.class, verdict(&result));
    outln!("because:");
    for r in &result.reasons {
        outln!("  - {r}");
    }
    if c.legal_hold == Some(true) {
        outln!("legal hold: yes (never purged while the hold stands)");
    }
    Ok(ExitCode::SUCCESS)
}
