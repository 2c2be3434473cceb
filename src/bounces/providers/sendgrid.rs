//! SendGrid: the signed event webhook. The body is signed with ECDSA P-256 over SHA-256
//! of the `X-Twilio-Email-Event-Webhook-Timestamp` header followed by the raw body; the
//! signature (DER, base64) is in `X-Twilio-Email-Event-Webhook-Signature`
//! (<https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features>).
//! Events: <https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event>.

use super::{ProviderEvent, Refused, tokens};
use crate::bounces::report::Event;
use crate::bounces::rule::EventKind;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SendgridConfig {
    /// The signed event webhook's verification key: base64 of a DER public key (P-256),
    /// as SendGrid shows it.
    pub public_key: Option<String>,
}

pub fn verifying_key(config: &SendgridConfig) -> anyhow::Result<Option<VerifyingKey>> {
    let Some(key) = &config.public_key else {
        return Ok(None);
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .map_err(|_| anyhow::anyhow!("bounces.sendgrid.public_key is not base64"))?;
    VerifyingKey::from_public_key_der(&der)
        .map(Some)
        .map_err(|_| anyhow::anyhow!("bounces.sendgrid.public_key is not a P-256 public key (DER)"))
}

pub fn events(
    config: &SendgridConfig,
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
) -> Result<Vec<ProviderEvent>, Refused> {
    let key = verifying_key(config)
        .map_err(|e| Refused::Unauthorized(e.to_string()))?
        .ok_or(Refused::NotConfigured)?;
    let (Some(signature), Some(timestamp)) = (signature, timestamp) else {
        return Err(Refused::Unauthorized("no signature headers".into()));
    };
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .ok()
        .and_then(|der| Signature::from_der(&der).ok())
        .ok_or_else(|| Refused::Unauthorized("the signature is not an ECDSA signature".into()))?;
    let mut signed = timestamp.as_bytes().to_vec();
    signed.extend_from_slice(body);
    key.verify(&signed, &signature)
        .map_err(|_| Refused::Unauthorized("wrong signature".into()))?;
    let list: Vec<serde_json::Value> = serde_json::from_slice(body)
        .map_err(|e| Refused::BadPayload(format!("not a list of SendGrid events: {e}")))?;
    Ok(list.iter().filter_map(event).collect())
}

fn event(e: &serde_json::Value) -> Option<ProviderEvent> {
    let kind = match (e["event"].as_str()?, e["type"].as_str()) {
        ("spamreport", _) => EventKind::Complaint,
        ("bounce", Some("blocked")) => EventKind::SoftBounce,
        ("bounce", _) => EventKind::HardBounce,
        _ => return None,
    };
    let status = match kind {
        EventKind::Complaint => Some("abuse".to_string()),
        _ => e["status"].as_str().map(str::to_string),
    };
    Some(ProviderEvent {
        key: format!("sendgrid:{}", e["sg_event_id"].as_str().unwrap_or_default()),
        tokens: tokens([], e["smtp-id"].as_str()),
        event: Event {
            kind,
            status,
            detail: e["reason"].as_str().map(str::to_string),
        },
    })
}
