//! Mailgun: the `failed` and `complained` events of its webhooks, signed with HMAC-SHA256
//! of `timestamp` + `token` under the account's webhook signing key
//! (<https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks>).
//! Payload: <https://documentation.mailgun.com/docs/mailgun/user-manual/events/>.

use super::{ProviderEvent, Refused, same, tokens};
use crate::bounces::report::Event;
use crate::bounces::rule::EventKind;
use crate::domain::Instant;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailgunConfig {
    /// The "HTTP webhook signing key" of the Mailgun account.
    pub signing_key: Option<String>,
}

/// A signed request older or newer than this is refused: a captured one cannot be
/// replayed later.
const FRESH_SECONDS: i64 = 15 * 60;

#[derive(Deserialize)]
struct Payload {
    signature: Signature,
    #[serde(rename = "event-data")]
    event_data: serde_json::Value,
}

#[derive(Deserialize)]
struct Signature {
    timestamp: String,
    token: String,
    signature: String,
}

/// Checks the signature, then reads the event.
pub fn events(
    config: &MailgunConfig,
    body: &[u8],
    now: Instant,
) -> Result<Vec<ProviderEvent>, Refused> {
    let Some(key) = &config.signing_key else {
        return Err(Refused::NotConfigured);
    };
    let p: Payload = serde_json::from_slice(body)
        .map_err(|_| Refused::Unauthorized("no Mailgun signature in the body".into()))?;
    let s = &p.signature;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())
        .map_err(|_| Refused::Unauthorized("unusable signing key".into()))?;
    mac.update(s.timestamp.as_bytes());
    mac.update(s.token.as_bytes());
    let want = hex::encode(mac.finalize().into_bytes());
    if !same(want.as_bytes(), s.signature.to_ascii_lowercase().as_bytes()) {
        return Err(Refused::Unauthorized("wrong signature".into()));
    }
    let at: i64 = s
        .timestamp
        .parse()
        .map_err(|_| Refused::Unauthorized("bad timestamp".into()))?;
    if (now.timestamp() - at).abs() > FRESH_SECONDS {
        return Err(Refused::Unauthorized("the signature is not fresh".into()));
    }
    Ok(event(&p.event_data).into_iter().collect())
}

fn event(e: &serde_json::Value) -> Option<ProviderEvent> {
    let str_of = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let kind = match (e["event"].as_str()?, e["severity"].as_str()) {
        ("complained", _) => EventKind::Complaint,
        ("failed", Some("permanent")) => EventKind::HardBounce,
        ("failed", _) => EventKind::SoftBounce,
        _ => return None,
    };
    let status = match kind {
        EventKind::Complaint => Some("abuse".to_string()),
        _ => str_of(&e["delivery-status"]["enhanced-code"])
            .filter(|c| !c.is_empty())
            .or_else(|| e["delivery-status"]["code"].as_i64().map(|c| c.to_string())),
    };
    let detail = str_of(&e["delivery-status"]["message"])
        .filter(|m| !m.is_empty())
        .or_else(|| str_of(&e["delivery-status"]["description"]))
        .or_else(|| str_of(&e["reason"]));
    Some(ProviderEvent {
        key: format!("mailgun:{}", e["id"].as_str().unwrap_or_default()),
        tokens: tokens(
            e["envelope"]["sender"].as_str(),
            e["message"]["headers"]["message-id"].as_str(),
        ),
        event: Event {
            kind,
            status,
            detail,
        },
    })
}
