//! Postmark: bounce and spam-complaint webhooks. Postmark signs nothing; its webhook URL
//! carries basic auth credentials (`https://user:password@host/hooks/postmark`), checked
//! here against `[bounces.postmark]`. Payloads:
//! <https://postmarkapp.com/developer/webhooks/bounce-webhook>,
//! <https://postmarkapp.com/developer/webhooks/spam-complaint-webhook>.
//!
//! Postmark reports its own message id, not the Message-ID: the delivery is found by the
//! `reconsent-token` metadata (sent as `X-PM-Metadata-reconsent-token` when Postmark is
//! configured), else by the tokens of the bounce's own dump (`Content`), when present.

use super::{ProviderEvent, Refused, same};
use crate::bounces::report::{self, Event, Reading};
use crate::bounces::rule::EventKind;
use crate::bounces::verp;
use base64::Engine;
use serde::Deserialize;

/// Postmark signs nothing: its webhook URL carries HTTP basic auth credentials, set on
/// both sides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostmarkConfig {
    pub user: Option<String>,
    pub password: Option<String>,
}

/// The metadata key the token travels under.
pub const METADATA_KEY: &str = "reconsent-token";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Payload {
    record_type: String,
    #[serde(rename = "ID")]
    id: serde_json::Value,
    #[serde(default, rename = "Type")]
    kind: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    metadata: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    content: Option<String>,
}

pub fn check(config: &PostmarkConfig, authorization: Option<&str>) -> Result<(), Refused> {
    let (Some(user), Some(password)) = (&config.user, &config.password) else {
        return Err(Refused::NotConfigured);
    };
    let given = authorization
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .ok_or_else(|| Refused::Unauthorized("no basic auth credentials".into()))?;
    let want = format!("{user}:{password}");
    if same(&given, want.as_bytes()) {
        Ok(())
    } else {
        Err(Refused::Unauthorized("wrong credentials".into()))
    }
}

/// Hard bounce types per Postmark's bounce API; the rest (soft bounces, transient
/// failures, auto-replies, challenge mails) say nothing final about the address.
fn bounce_kind(kind: &str) -> Option<EventKind> {
    match kind {
        "HardBounce" | "BadEmailAddress" | "ManuallyDeactivated" => Some(EventKind::HardBounce),
        "SoftBounce" | "Transient" | "DnsError" | "Blocked" | "SMTPApiError" => {
            Some(EventKind::SoftBounce)
        }
        _ => None,
    }
}

pub fn events(body: &[u8]) -> Result<Vec<ProviderEvent>, Refused> {
    let p: Payload = serde_json::from_slice(body)
        .map_err(|e| Refused::BadPayload(format!("not a Postmark webhook: {e}")))?;
    let (kind, status) = match p.record_type.as_str() {
        "SpamComplaint" => (EventKind::Complaint, Some("abuse".to_string())),
        "Bounce" => match p.kind.as_deref().and_then(bounce_kind) {
            Some(k) => (k, p.kind.clone()),
            None => return Ok(Vec::new()),
        },
        _ => return Ok(Vec::new()),
    };
    let mut found: Vec<String> = p
        .metadata
        .get(METADATA_KEY)
        .and_then(|t| verp::bare_token(t))
        .into_iter()
        .collect();
    if let Some(Reading::Report(r)) = p.content.as_deref().map(|c| report::read(c.as_bytes())) {
        for t in r.tokens {
            if !found.contains(&t) {
                found.push(t);
            }
        }
    }
    Ok(vec![ProviderEvent {
        key: format!("postmark:{}", p.id),
        tokens: found,
        event: Event {
            kind,
            status,
            detail: p.details.or(p.description),
        },
    }])
}
