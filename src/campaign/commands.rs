//! `reconsent campaign check` and `campaign preview`: what the command line runs.

use super::check::{self, CheckReport, PROBE_ADDRESS, probe_name};
use super::definition::Campaign;
use super::links::links;
use super::message::{self, DkimSigner, Envelope};
use super::render::{RenderInput, Renderer};
use crate::config::Config;
use crate::domain::{Contact, EmailAddress, Instant, Locale};
use crate::store::{Store, sqlite_path};
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
}

pub fn check(ctx: &CommandContext<'_>, file: &Path) -> Result<ExitCode> {
    let report = check::check(file, ctx.config, ctx.now);
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
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
        println!("{}: campaign {name} is ready to launch.", file.display());
        println!(
            "  rendered {} locale(s) × {} wave(s): {}",
            r.locales.len(),
            r.waves.len(),
            r.locales.join(", ")
        );
        println!(
            "  every e-mail has the sender (name, legal entity, address), benefits, bonus and code, \
privacy-policy link, confirm and leave buttons, contact details, purpose and frequency"
        );
    } else {
        let n = r.problems.len();
        println!(
            "{}: {n} problem{} to fix before launching:",
            file.display(),
            if n == 1 { "" } else { "s" }
        );
        for p in &r.problems {
            println!("  {p}");
        }
    }
    for w in &r.warnings {
        println!("warning: {w}");
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
    let campaign = Campaign::load(file).map_err(|e| anyhow::anyhow!("{e}"))?;
    let root = super::templates_root(file, &campaign.templates);
    let renderer = Renderer::new(&campaign, &root).map_err(|e| {
        anyhow::anyhow!(
            "{e}\n(run `reconsent campaign check {}` for every problem)",
            file.display()
        )
    })?;
    let code = check::bonus_code(&campaign, file).map_err(anyhow::Error::msg)?;
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
    } = recipient(ctx, &campaign, opts.contact.as_deref()).await?;
    let locales: Vec<Locale> = match (&opts.locale, &recipient) {
        (Some(l), _) => vec![l.clone()],
        (None, Some(c)) => vec![renderer.pick_locale(c.locale.as_ref()).clone()],
        (None, None) => renderer.locales().cloned().collect(),
    };
    let deadline = campaign.deadline.at(ctx.now);
    let expires = campaign.grace.after(deadline);
    let links = links(
        &signer,
        &ctx.config.base_url,
        &campaign.name,
        &public_id,
        expires,
    )?;
    let probe = EmailAddress::parse(PROBE_ADDRESS)?;
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    let mut written = Vec::new();
    for wanted in &locales {
        let name = match &recipient {
            Some(c) => c.name.as_deref(),
            None => Some(probe_name(wanted)),
        };
        let rendered = renderer
            .render(&RenderInput {
                locale: Some(wanted),
                name,
                confirm_url: &links.confirm_url,
                leave_url: &links.leave_url,
                bonus_code: &code,
                deadline,
                wave,
            })
            .map_err(|p| anyhow::anyhow!("{p}"))?;
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
            eprintln!("note: no {wanted} templates; the {locale} e-mail is what this contact gets");
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
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "campaign": campaign.name,
                "wave": campaign.waves.get(wave).map(|w| &w.name),
                "files": written,
                "dkim": dkim.is_some(),
                "notes": notes,
            }))?
        );
    } else {
        for n in &notes {
            eprintln!("note: {n}");
        }
        println!("Wrote {} files to {}:", written.len(), opts.out.display());
        for w in &written {
            println!("  {w}");
        }
        if dkim.is_none() {
            println!("(not DKIM-signed: no [dkim] key in the configuration)");
        }
    }
    Ok(ExitCode::SUCCESS)
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
    let path = sqlite_path(ctx.database)?;
    let Some(email) = email else {
        let (key, notes) = if Path::new(&path).exists() {
            (Store::open(&path).await?.secrets().await?.link_key, vec![])
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
    let store = Store::open(&path).await?;
    let Some(stored) = store.contact_by_key(address.key()).await? else {
        bail!(
            "no contact with the address {address} in {path} (import it first, or leave out --contact to preview with a sample contact)"
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
