//! The thank-you e-mail with the bonus, sent after a confirmation (seed 002: thank
//! everyone who confirms). It goes out in the background so the page never waits on a
//! mail server; a failure is logged and never undoes the confirmation.

use super::AppState;
use super::pages::{self, Facts};
use crate::campaign::Campaign;
use crate::campaign::kit::smtp_address;
use crate::campaign::message::{self, DkimSigner, Envelope};
use crate::campaign::render::Rendered;
use crate::domain::{Instant, Locale};
use crate::send::transport::{Transport, TransportConfig};
use crate::store::{LedgerEntry, StoredContact};
use crate::tokens::{Purpose, TokenClaims};
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

pub struct Thanks {
    pub contact: StoredContact,
    pub campaign: std::sync::Arc<Campaign>,
    pub locale: Locale,
    pub code: Option<String>,
    /// The confirm token's claims: the one-click link of this mail is signed from them.
    pub claims: TokenClaims,
    pub wave: Option<String>,
}

/// Sends, then records a `thanked` ledger entry with the message's id and hash.
pub async fn send(state: AppState, t: Thanks, now: Instant) -> Result<()> {
    let c = &t.campaign;
    let facts = Facts::of(c, &t.locale);
    let (subject, text, html) = pages::thanks_mail(&facts, t.code.as_deref());
    let unsubscribe_token = state
        .signer
        .sign(&TokenClaims {
            purpose: Purpose::Unsubscribe,
            ..t.claims.clone()
        })
        .map_err(|e| anyhow::anyhow!("cannot sign the unsubscribe link: {e}"))?;
    let unsubscribe_url = format!(
        "{}/u/{unsubscribe_token}",
        state.config.base_url.trim().trim_end_matches('/')
    );
    let dkim = DkimSigner::from_config(&state.config.dkim, &c.sender.email)?;
    let built = message::build(
        &Rendered {
            subject,
            html,
            text,
            locale: t.locale.clone(),
        },
        &Envelope {
            from_name: &c.sender.name,
            from: &c.sender.email,
            to_name: t.contact.contact.name.as_deref(),
            to: &t.contact.contact.email,
            unsubscribe_url: &unsubscribe_url,
            unsubscribe_token: &unsubscribe_token,
            date: now,
        },
        dkim.as_ref(),
    )?;
    let mut transport = Transport::new(&TransportConfig::parse(&state.config.transport)?)?;
    let sent = transport
        .send(
            &smtp_address(&c.sender.email),
            &smtp_address(&t.contact.contact.email),
            &built.message_id,
            &built.bytes,
        )
        .await;
    transport.close().await;
    sent.map_err(|(failure, _)| anyhow::anyhow!("{failure:?}"))
        .context("the mail server did not take the thank-you e-mail")?;
    let entry = LedgerEntry {
        event: "thanked".into(),
        at: now,
        campaign: Some(c.name.clone()),
        wave: t.wave.clone(),
        content_sha256: Some(hex::encode(Sha256::digest(&built.bytes))),
        privacy_sha256: Some(hex::encode(Sha256::digest(c.privacy_policy_url.as_bytes()))),
        message_id: Some(built.message_id.clone()),
        policy_version: state.config.policy.version(),
        detail: Some(serde_json::json!({ "bonus_code": t.code })),
        ..Default::default()
    };
    state.store.record_event(t.contact.id, &entry).await
}
