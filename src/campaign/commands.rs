//! `reconsent campaign check` and `campaign preview`: what the command line runs.

use super::check::{self, CheckReport, PROBE_ADDRESS, probe_name};
use super::definition::Campaign;
use super::links::{Links, links};
use super::message::{self, DkimSigner, Envelope};
use super::render::{RenderInput, Rendered, Renderer};
use crate::config::Config;
use crate::domain::{CampaignState, Contact, EmailAddress, Instant, Locale};
use crate::print::{errln, outln};
use crate::store::Store;
use crate::tokens::LinkSigner;
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What the command line hands a campaign command.
pub struct CommandContext<'a> {
    pub config: &'a Config,
    pub database: &'a str,
    pub now: Instant,
    pub json: bool,
    pub stores: &'a crate::store::OpenStores,
}

pub fn check(ctx: &CommandContext<'_>, file: &Path) -> Result<ExitCode> {
    let report = check::check(file, ctx.config, ctx.now);
    if ctx.json {
        crate::print::json(&serde_json::to_value(&report)?);
    } else {
        print_check(file, &report);
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_check(file: &Path, r: &CheckReport) {
    let name = r.campaign.as_deref().unwrap_or("?");
    if r.ok {
        outln!("{}: campaign {name} is ready to launch.", file.display());
        outln!(
            "  rendered {} locale(s) × {} wave(s): {}",
            r.locales.len(),
            r.waves.len(),
            r.locales.join(", ")
        );
        outln!(
            "  every e-mail has the sender (name, legal entity, address), benefits, the bonus (its \
code only after confirming), privacy-policy link, confirm and leave buttons, contact details, \
purpose and frequency"
        );
    } else {
        let n = r.problems.len();
        outln!(
            "{}: {n} problem{} to fix before launching:",
            file.display(),
            if n == 1 { "" } else { "s" }
        );
        for p in &r.problems {
            outln!("  {p}");
        }
    }
    for w in &r.warnings {
        outln!("warning: {w}");
    }
}

pub struct PreviewOptions {
    pub out: PathBuf,
    pub contact: Option<String>,
    pub locale: Option<Locale>,
    pub wave: Option<String>,
}

/// Writes `DIR/LOCALE.eml`, `.html` and `.txt`: every locale for a sample contact, or
/// the one a real contact (`--contact`) would get.
pub async fn preview(
    ctx: &CommandContext<'_>,
    file: &Path,
    opts: PreviewOptions,
) -> Result<ExitCode> {
    let sample = Sample::load(file)?;
    let Sample {
        campaign, renderer, ..
    } = &sample;
    let dkim = DkimSigner::from_config(&ctx.config.dkim, &campaign.sender.email)?;
    let wave = match &opts.wave {
        None => 0,
        Some(name) => campaign
            .waves
            .iter()
            .position(|w| &w.name == name)
            .with_context(|| {
                let names: Vec<&str> = campaign.waves.iter().map(|w| w.name.as_str()).collect();
                format!(
                    "the campaign has no wave '{name}' (it has: {})",
                    names.join(", ")
                )
            })?,
    };
    let Recipient {
        contact: recipient,
        public_id,
        signer,
        notes,
    } = recipient(ctx, campaign, opts.contact.as_deref()).await?;
    let locales: Vec<Locale> = match (&opts.locale, &recipient) {
        (Some(l), _) => vec![l.clone()],
        (None, Some(c)) => vec![renderer.pick_locale(c.locale.as_ref()).clone()],
        (None, None) => renderer.locales().cloned().collect(),
    };
    let links = sample.links(&signer, &ctx.config.base_url, &public_id, ctx.now)?;
    let probe = EmailAddress::parse(PROBE_ADDRESS)?;
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    let mut written = Vec::new();
    for wanted in &locales {
        let name = match &recipient {
            Some(c) => c.name.as_deref(),
            None => Some(probe_name(wanted)),
        };
        let rendered = sample.render(&links, wanted, name, wave, ctx.now)?;
        let env = Envelope {
            from_name: &campaign.sender.name,
            from: &campaign.sender.email,
            to_name: name,
            to: recipient.as_ref().map_or(&probe, |c| &c.email),
            unsubscribe_url: &links.unsubscribe_url,
            unsubscribe_token: &links.unsubscribe_token,
            date: ctx.now,
        };
        let built = message::build(&rendered, &env, dkim.as_ref())?;
        let locale = &rendered.locale;
        if locale != wanted {
            errln!("note: no {wanted} templates; the {locale} e-mail is what this contact gets");
        }
        for (ext, bytes) in [
            ("eml", built.bytes.as_slice()),
            ("html", rendered.html.as_bytes()),
            ("txt", rendered.text.as_bytes()),
        ] {
            let path = opts.out.join(format!("{locale}.{ext}"));
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path.display().to_string());
        }
    }
    if ctx.json {
        crate::print::json(&json!({
            "campaign": campaign.name,
            "wave": campaign.waves.get(wave).map(|w| &w.name),
            "files": written,
            "dkim": dkim.is_some(),
            "notes": notes,
        }));
    } else {
        for n in &notes {
            errln!("note: {n}");
        }
        outln!("Wrote {} files to {}:", written.len(), opts.out.display());
        for w in &written {
            outln!("  {w}");
        }
        if dkim.is_none() {
            outln!("(not DKIM-signed: no [dkim] key in the configuration)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A campaign file made ready to render its e-mails, as `campaign preview` renders them.
pub struct Sample {
    pub campaign: Campaign,
    pub renderer: Renderer,
    code: String,
}

impl Sample {
    pub fn load(file: &Path) -> Result<Sample> {
        let campaign = Campaign::load(file).map_err(|e| anyhow::anyhow!("{e}"))?;
        let root = super::templates_root(file, &campaign.templates);
        let renderer = Renderer::new(&campaign, &root).map_err(|e| {
            anyhow::anyhow!(
                "{e}\n(run `reconsent campaign check {}` for every problem)",
                file.display()
            )
        })?;
        let code = check::bonus_code(&campaign, file).map_err(anyhow::Error::msg)?;
        Ok(Sample {
            campaign,
            renderer,
            code,
        })
    }

    /// The links of a contact, valid as if the campaign were launched `now`.
    pub fn links(
        &self,
        signer: &LinkSigner,
        base_url: &str,
        public_id: &str,
        now: Instant,
    ) -> Result<Links> {
        let deadline = self.campaign.deadline.at(now);
        let expires = self.campaign.grace.after(deadline);
        Ok(links(
            signer,
            base_url,
            &self.campaign.name,
            public_id,
            expires,
        )?)
    }

    /// The e-mail of wave number `wave` in `locale` (or the locale it falls back to).
    pub fn render(
        &self,
        links: &Links,
        locale: &Locale,
        name: Option<&str>,
        wave: usize,
        now: Instant,
    ) -> Result<Rendered> {
        self.renderer
            .render(&RenderInput {
                locale: Some(locale),
                name,
                confirm_url: &links.confirm_url,
                leave_url: &links.leave_url,
                bonus_code: &self.code,
                deadline: self.campaign.deadline.at(now),
                wave,
            })
            .map_err(|p| anyhow::anyhow!("{p}"))
    }
}

struct Recipient {
    /// `None`: a sample contact.
    contact: Option<Contact>,
    public_id: String,
    signer: LinkSigner,
    /// Things the marketer should know about this preview.
    notes: Vec<String>,
}

/// The contact to preview for and the link key: a real contact and the database's key
/// with `--contact`; else a sample contact, and the database's key if there is a
/// database (so the links work with `serve`), else a throwaway one.
async fn recipient(
    ctx: &CommandContext<'_>,
    campaign: &Campaign,
    email: Option<&str>,
) -> Result<Recipient> {
    let Some(email) = email else {
        let (key, notes) = if let Some(store) = ctx.stores.open_existing(ctx.database).await? {
            (store.secrets().await?.link_key, vec![])
        } else {
            let note = "no database: the links are signed with a throwaway key and lead nowhere";
            (
                crate::secrets::Secrets::generate().link_key,
                vec![note.to_string()],
            )
        };
        return Ok(Recipient {
            contact: None,
            public_id: uuid::Uuid::new_v4().simple().to_string(),
            signer: LinkSigner::new(key),
            notes,
        });
    };
    let address = EmailAddress::parse(email)?;
    let store = ctx.stores.open(ctx.database).await?;
    let Some(stored) = store.contact_by_key(address.key()).await? else {
        bail!(
            "no contact with the address {address} in {} (import it first, or leave out --contact to preview with a sample contact)",
            store.describe()
        );
    };
    let key = store.secrets().await?.link_key;
    let mut notes = Vec::new();
    let class = ctx.config.policy.classify(&stored.contact, ctx.now);
    if let Err(why) = super::selects(&campaign.audience, &stored.contact, &class) {
        notes.push(format!(
            "{address} would not be sent this campaign: {why} (class {})",
            class.class
        ));
    }
    Ok(Recipient {
        contact: Some(stored.contact),
        public_id: stored.public_id,
        signer: LinkSigner::new(key),
        notes,
    })
}

async fn open_store(ctx: &CommandContext<'_>) -> Result<Store> {
    ctx.stores.open(ctx.database).await
}

pub async fn launch(ctx: &CommandContext<'_>, file: &Path, dry_run: bool) -> Result<ExitCode> {
    let store = open_store(ctx).await?;
    let r = super::launch::launch(&store, ctx.config, file, ctx.now, dry_run).await?;
    if ctx.json {
        crate::print::json(&serde_json::to_value(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    if r.already_launched {
        outln!(
            "Campaign {} was launched on {}: nothing changed.",
            r.campaign,
            r.launched_at
        );
        if let Some(note) = &r.note {
            outln!("note: {note}");
        }
        outln!("See it with: reconsent campaign status {}", r.campaign);
        return Ok(ExitCode::SUCCESS);
    }
    let head = if dry_run {
        "Dry run, nothing queued"
    } else {
        "Launched"
    };
    outln!("{head}: campaign {}", r.campaign);
    outln!("  will be asked:");
    for (class, n) in &r.audience {
        outln!("    {class:<14} {n:>9}");
    }
    if !r.excluded.is_empty() {
        outln!("  not asked:");
        for (reason, n) in &r.excluded {
            outln!("    {reason:<22} {n:>9}");
        }
    }
    if dry_run {
        outln!("  would queue {} messages for the first wave", r.enqueued);
    } else {
        outln!("  queued {} messages for the first wave", r.enqueued);
        outln!("Next: reconsent send --campaign {}", r.campaign);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn status(ctx: &CommandContext<'_>, name: &str) -> Result<ExitCode> {
    let store = open_store(ctx).await?;
    let s = campaign_status(&store, name).await?;
    if ctx.json {
        crate::print::json(&serde_json::to_value(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("Campaign {} — {}", s.campaign, s.state);
    if let Some(reason) = &s.state_reason {
        outln!("  {reason}");
    }
    outln!(
        "  launched {}, deadline {}",
        &s.launched_at[..10],
        &s.deadline[..10]
    );
    let rows = [
        ("targeted", s.targeted),
        ("waiting to send", s.queued),
        ("sent", s.sent),
        ("retrying", s.retrying),
        ("failed", s.failed),
        ("bounced", s.bounced),
        ("fate unknown", s.unknown),
        ("cancelled", s.cancelled),
        ("viewed the page", s.viewed),
        ("confirmed", s.confirmed),
        ("left", s.left),
        ("suspect answers", s.suspect),
        ("no response", s.no_response),
        ("queued for deletion", s.queued_for_deletion),
        ("purged", s.purged),
    ];
    for (label, n) in rows {
        outln!("  {label:<20} {n:>9}");
        if label == "cancelled" {
            for (why, n) in &s.cancelled_reasons {
                outln!("    {:<18} {n:>9}", cancel_reason(why));
            }
        }
        if label == "failed" {
            for (why, n) in &s.failed_reasons {
                outln!("    {n:>6} × {why}");
            }
        }
    }
    if s.thank_you_sent > 0 {
        outln!("  thank-you sent       {:>9}", s.thank_you_sent);
    }
    outln!(
        "  confirmation rate    {:>8.1}%",
        s.confirmation_rate * 100.0
    );
    if s.waves.len() > 1 {
        outln!("  by wave:            targeted      sent    failed   bounced   unknown");
        for w in &s.waves {
            outln!(
                "    {:<16} {:>9} {:>9} {:>9} {:>9} {:>9}",
                w.wave,
                w.targeted,
                w.sent,
                w.failed,
                w.bounced,
                w.unknown
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A cancellation's reason as the marketer reads it.
fn cancel_reason(code: &str) -> &str {
    match code {
        "withdrawn" => "withdrew since launch",
        "no_basis" => "no lawful basis now",
        "suppressed" => "bounced or left",
        "erased" => "erased",
        "campaign_cancelled" => "campaign cancelled",
        other => other,
    }
}

pub async fn campaign_status(store: &Store, name: &str) -> Result<super::status::Status> {
    let row = store
        .campaign(name)
        .await?
        .with_context(|| format!("no campaign named '{name}' has been launched"))?;
    let campaign =
        Campaign::parse(&row.definition, &row.source_file).map_err(|e| anyhow::anyhow!("{e}"))?;
    let deliveries = store.delivery_counts(row.id).await?;
    let reasons = store.outcome_reasons(row.id).await?;
    let answers = store.answer_counts(&row).await?;
    Ok(super::status::funnel(
        &row,
        &campaign,
        &deliveries,
        reasons,
        &answers,
    ))
}

/// What the marketer asks of a launched campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateAction {
    Pause,
    Resume,
    Cancel,
}

impl StateAction {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pause" => Some(Self::Pause),
            "resume" => Some(Self::Resume),
            "cancel" => Some(Self::Cancel),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Cancel => "cancel",
        }
    }
}

/// What [`change_state`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateChange {
    /// The campaign was in that state already: nothing changed.
    Already(&'static str),
    /// Changed; `cancelled` messages that had not gone out will not be sent.
    Changed { cancelled: u64 },
}

/// Pauses, resumes or cancels campaign `name`; `from` says where the order came from
/// (e.g. "the command line"), kept as the state's reason.
pub async fn change_state(
    store: &Store,
    name: &str,
    action: StateAction,
    from: &str,
    now: Instant,
) -> Result<StateChange> {
    let row = store
        .campaign(name)
        .await?
        .with_context(|| format!("no campaign named '{name}' has been launched"))?;
    use CampaignState::{Cancelled, Paused, Running};
    let (allowed, to): (&[CampaignState], CampaignState) = match action {
        StateAction::Pause => (&[Running], Paused),
        StateAction::Resume => (&[Paused], Running),
        StateAction::Cancel => (&[Running, Paused], Cancelled),
    };
    if row.state == to {
        return Ok(StateChange::Already(to.as_str()));
    }
    if !allowed.contains(&row.state) {
        bail!(
            "campaign {name} is {} and cannot be {}d",
            row.state,
            action.as_str()
        );
    }
    let reason = match action {
        StateAction::Pause => Some(format!("paused from {from}")),
        StateAction::Cancel => Some(format!("cancelled from {from}")),
        StateAction::Resume => None,
    };
    store
        .set_campaign_state(row.id, to, reason.as_deref(), now)
        .await?;
    let cancelled = match action {
        StateAction::Cancel => store.cancel_pending(row.id).await?,
        _ => 0,
    };
    Ok(StateChange::Changed { cancelled })
}

/// `pause`, `resume` and `cancel`.
pub async fn set_state(
    ctx: &CommandContext<'_>,
    name: &str,
    action: StateAction,
) -> Result<ExitCode> {
    let store = open_store(ctx).await?;
    let cancelled = match change_state(&store, name, action, "the command line", ctx.now).await? {
        StateChange::Already(to) => {
            outln!("Campaign {name} is already {to}.");
            return Ok(ExitCode::SUCCESS);
        }
        StateChange::Changed { cancelled } => cancelled,
    };
    match action {
        StateAction::Cancel => outln!(
            "Campaign {name} cancelled: {cancelled} messages that had not gone out will not be sent."
        ),
        StateAction::Pause => outln!(
            "Campaign {name} paused: messages already handed to the mail server finish; nothing more goes out until `reconsent campaign resume {name}`."
        ),
        StateAction::Resume => {
            outln!("Campaign {name} resumed: `reconsent send` picks up where it stopped.")
        }
    }
    Ok(ExitCode::SUCCESS)
}
