//! A launched campaign made ready to send: its snapshot parsed, templates compiled
//! once, keys loaded. `message` builds one contact's e-mail for one wave.

use super::definition::BonusCode;
use super::definition::Campaign;
use super::links::{Links, links};
use super::message::{self, DkimSigner, Envelope};
use super::render::{RenderInput, Rendered, Renderer};
use crate::bounces::verp::ReturnPath;
use crate::config::Config;
use crate::domain::{EmailAddress, Instant, LedgerEvent, Locale};
use crate::ledger::shown::email_sha256;
use crate::store::{CampaignRow, Claimed, LedgerEntry, StoredContact};
use crate::tokens::{LinkSigner, Purpose, TokenClaims};
use crate::web::pages::{Facts, confirm_page, thanks_mail};
use anyhow::{Context, Result};
use std::collections::BTreeMap;

pub struct Kit {
    pub campaign_id: i64,
    pub campaign: Campaign,
    renderer: Renderer,
    dkim: Option<DkimSigner>,
    signer: LinkSigner,
    base_url: String,
    bonus_code: String,
    pub deadline: Instant,
    pub expires: Instant,
    privacy_sha256: Option<String>,
    privacy_version: Option<String>,
    policy_version: String,
    /// The VERP return path, when `[bounces]` names one; else the sender's address.
    return_path: Option<ReturnPath>,
    /// Postmark's webhooks are configured: each message carries its token as metadata.
    postmark_metadata: bool,
}

/// One contact's message, ready for the transport and the ledger.
pub struct Outgoing {
    pub envelope_from: String,
    pub envelope_to: String,
    pub message_id: String,
    pub bytes: Vec<u8>,
    pub content_sha256: String,
    /// `requested`, or `thanked` for the thank-you after a confirmation.
    event: LedgerEvent,
    campaign: String,
    wave: String,
    locale: String,
    privacy_sha256: Option<String>,
    privacy_version: Option<String>,
    policy_version: String,
}

impl Outgoing {
    /// The ledger entry of what was sent, exactly (`requested` or `thanked`).
    pub fn ledger_entry(&self, at: Instant) -> LedgerEntry {
        LedgerEntry {
            event: self.event,
            at,
            campaign: Some(self.campaign.clone()),
            wave: Some(self.wave.clone()),
            content_sha256: Some(self.content_sha256.clone()),
            privacy_sha256: self.privacy_sha256.clone(),
            privacy_version: self.privacy_version.clone(),
            message_id: Some(self.message_id.clone()),
            policy_version: self.policy_version.clone(),
            detail: Some(serde_json::json!({ "locale": self.locale })),
            ..Default::default()
        }
    }
}

impl Kit {
    pub fn prepare(row: &CampaignRow, config: &Config, link_key: &[u8; 32]) -> Result<Kit> {
        let campaign = Campaign::parse(&row.definition, &row.source_file)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let snapshot: serde_json::Value =
            serde_json::from_str(&row.templates).context("the launched templates are damaged")?;
        let files: BTreeMap<String, String> = serde_json::from_value(snapshot["templates"].clone())
            .context("the launched templates are damaged")?;
        let renderer =
            Renderer::from_files(&campaign, &files).map_err(|e| anyhow::anyhow!("{e}"))?;
        let bonus_code = snapshot["bonus_code"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let dkim = DkimSigner::from_config(&config.dkim, &campaign.sender.email)?;
        let deadline = campaign.deadline.at(row.launched_at);
        let expires = campaign.grace.after(deadline);
        Ok(Kit {
            return_path: ReturnPath::from_config(&config.bounces)?,
            postmark_metadata: config.bounces.postmark.user.is_some(),
            campaign_id: row.id,
            privacy_sha256: row.privacy_sha256.clone(),
            privacy_version: campaign.privacy_policy_version.clone(),
            policy_version: config.policy.version(),
            renderer,
            dkim,
            signer: LinkSigner::new(*link_key),
            base_url: config.base_url.clone(),
            bonus_code,
            deadline,
            expires,
            campaign,
        })
    }

    pub fn per_second(&self) -> f64 {
        self.campaign.rate.per_second()
    }

    /// The message a claimed delivery sends: its wave's request, or the thank-you.
    pub fn message(&self, claimed: &Claimed, now: Instant) -> Result<Outgoing> {
        match usize::try_from(claimed.wave) {
            Ok(wave) => self.request(&claimed.contact, wave, now),
            Err(_) => self.thank_you(claimed, now),
        }
    }

    pub fn request(&self, stored: &StoredContact, wave: usize, now: Instant) -> Result<Outgoing> {
        let links = self.links(stored)?;
        let rendered =
            self.rendered_request(stored, &links, stored.contact.locale.as_ref(), wave)?;
        let wave = self
            .campaign
            .waves
            .get(wave)
            .map_or_else(|| wave.to_string(), |w| w.name.clone());
        self.outgoing(
            stored,
            &links,
            rendered,
            (LedgerEvent::Requested, wave),
            now,
        )
    }

    /// The request of `wave` for `stored` in `locale` (else the contact's), as rendered
    /// before it is put into MIME: what `evidence --show` renders again.
    pub fn rendered_request(
        &self,
        stored: &StoredContact,
        links: &Links,
        locale: Option<&Locale>,
        wave: usize,
    ) -> Result<Rendered> {
        self.renderer
            .render(&RenderInput {
                locale,
                name: stored.contact.name.as_deref(),
                confirm_url: &links.confirm_url,
                leave_url: &links.leave_url,
                bonus_code: &self.bonus_code,
                deadline: self.deadline,
                wave,
            })
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The page behind `stored`'s confirm link in `locale`, byte for byte as `serve`
    /// shows it: the tokens are signed again, and signing is deterministic.
    pub fn confirm_page(&self, stored: &StoredContact, locale: &Locale) -> Result<String> {
        let sign = |purpose| {
            self.signer
                .sign(&TokenClaims {
                    purpose,
                    campaign: self.campaign.name.clone(),
                    public_id: stored.public_id.clone(),
                    expires: self.expires,
                })
                .map_err(|e| anyhow::anyhow!("cannot sign the links: {e}"))
        };
        let facts = Facts::of(&self.campaign, locale);
        Ok(confirm_page(
            &facts,
            &sign(Purpose::Confirm)?,
            &sign(Purpose::Leave)?,
        ))
    }

    /// The thank-you after a confirmation, with the bonus code: the pool's code drawn
    /// for this contact when it confirmed, or the campaign's one code.
    fn thank_you(&self, claimed: &Claimed, now: Instant) -> Result<Outgoing> {
        let stored = &claimed.contact;
        // As the thank-you page chose it.
        let locale = stored
            .contact
            .locale
            .clone()
            .unwrap_or_else(|| self.campaign.default_locale.clone());
        let code = match &self.campaign.bonus.code {
            BonusCode::Static(code) => Some(code.clone()).filter(|c| !c.is_empty()),
            BonusCode::Pool(_) => claimed.bonus_code.clone(),
        };
        let (subject, text, html) =
            thanks_mail(&Facts::of(&self.campaign, &locale), code.as_deref());
        let rendered = Rendered {
            subject,
            html,
            text,
            locale,
        };
        let links = self.links(stored)?;
        self.outgoing(
            stored,
            &links,
            rendered,
            (LedgerEvent::Thanked, "thank-you".into()),
            now,
        )
    }

    pub fn links(&self, stored: &StoredContact) -> Result<Links> {
        links(
            &self.signer,
            &self.base_url,
            &self.campaign.name,
            &stored.public_id,
            self.expires,
        )
        .map_err(|e| anyhow::anyhow!("cannot sign the links: {e}"))
    }

    /// The MIME message of `rendered` for `stored`, with what its ledger entry records:
    /// the event and the wave's name.
    fn outgoing(
        &self,
        stored: &StoredContact,
        links: &Links,
        rendered: Rendered,
        (event, wave): (LedgerEvent, String),
        now: Instant,
    ) -> Result<Outgoing> {
        let c = &stored.contact;
        let built = message::build(
            &rendered,
            &Envelope {
                from_name: &self.campaign.sender.name,
                from: &self.campaign.sender.email,
                to_name: c.name.as_deref(),
                to: &c.email,
                unsubscribe_url: &links.unsubscribe_url,
                unsubscribe_token: &links.unsubscribe_token,
                date: now,
                postmark_metadata: self.postmark_metadata,
            },
            self.dkim.as_ref(),
        )?;
        Ok(Outgoing {
            envelope_from: match &self.return_path {
                Some(rp) => rp.address(&built.return_token),
                None => smtp_address(&self.campaign.sender.email),
            },
            envelope_to: smtp_address(&c.email),
            content_sha256: email_sha256(&rendered.subject, &rendered.text, &rendered.html),
            message_id: built.message_id,
            bytes: built.bytes,
            event,
            campaign: self.campaign.name.clone(),
            wave,
            locale: rendered.locale.to_string(),
            privacy_sha256: self.privacy_sha256.clone(),
            privacy_version: self.privacy_version.clone(),
            policy_version: self.policy_version.clone(),
        })
    }
}

/// The envelope form: the local part as given, the domain in ASCII.
pub fn smtp_address(e: &EmailAddress) -> String {
    let (local, _) = e.as_str().rsplit_once('@').unwrap_or((e.as_str(), ""));
    let (_, domain) = e.key().rsplit_once('@').unwrap_or(("", e.key()));
    format!("{local}@{domain}")
}
