//! Amazon SES, through an SNS topic subscribed to `/hooks/ses`. Every SNS message is
//! signed (RSA; `SignatureVersion` 1 with SHA-1, 2 with SHA-256) over its fields in a
//! fixed order; the signature is checked with the configured certificate's key
//! (<https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html>),
//! and the topic, when configured, must match. The SES notification inside:
//! <https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html>.

use super::{ProviderEvent, Refused, tokens};
use crate::bounces::report::Event;
use crate::bounces::rule::EventKind;
use base64::Engine;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use serde::Deserialize;
use std::path::PathBuf;
use x509_cert::der::{DecodePem, Encode};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SesConfig {
    /// The SNS signing certificate (PEM), downloaded once from the `SigningCertURL` of a
    /// notification and kept: a notification is believed only if signed with its key.
    pub certificate_file: Option<PathBuf>,
    /// The SNS topic the notifications must come from; others are refused.
    pub topic_arn: Option<String>,
}

/// The public key of the configured certificate.
pub fn key(config: &SesConfig) -> anyhow::Result<Option<RsaPublicKey>> {
    let Some(path) = &config.certificate_file else {
        return Ok(None);
    };
    let pem = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("bounces.ses.certificate_file {}: {e}", path.display()))?;
    let cert = x509_cert::Certificate::from_pem(&pem).map_err(|e| {
        anyhow::anyhow!(
            "bounces.ses.certificate_file {}: not a PEM certificate ({e})",
            path.display()
        )
    })?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| anyhow::anyhow!("bounces.ses.certificate_file: {e}"))?;
    RsaPublicKey::from_public_key_der(&spki)
        .map(Some)
        .map_err(|_| {
            anyhow::anyhow!(
                "bounces.ses.certificate_file {}: not an RSA key",
                path.display()
            )
        })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Sns {
    #[serde(rename = "Type")]
    kind: String,
    message_id: String,
    topic_arn: String,
    #[serde(default)]
    subject: Option<String>,
    message: String,
    timestamp: String,
    signature_version: String,
    signature: String,
    #[serde(default, rename = "SubscribeURL")]
    subscribe_url: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

impl Sns {
    /// The string SNS signs: `Name\nvalue\n` for each field of the message's type, in
    /// this order, `Subject` only when present.
    fn signed(&self) -> String {
        let mut fields: Vec<(&str, &str)> =
            vec![("Message", &self.message), ("MessageId", &self.message_id)];
        if self.kind == "Notification" {
            if let Some(s) = &self.subject {
                fields.push(("Subject", s));
            }
        } else {
            fields.push((
                "SubscribeURL",
                self.subscribe_url.as_deref().unwrap_or_default(),
            ));
        }
        fields.push(("Timestamp", &self.timestamp));
        if self.kind != "Notification" {
            fields.push(("Token", self.token.as_deref().unwrap_or_default()));
        }
        fields.push(("TopicArn", &self.topic_arn));
        fields.push(("Type", &self.kind));
        fields.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect()
    }
}

/// What an SNS request turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Events(Vec<ProviderEvent>),
    /// A subscription to confirm: the marketer opens this address once.
    Subscribe(String),
}

pub fn events(config: &SesConfig, body: &[u8]) -> Result<Delivery, Refused> {
    let key = key(config)
        .map_err(|e| Refused::Unauthorized(e.to_string()))?
        .ok_or(Refused::NotConfigured)?;
    let sns: Sns = serde_json::from_slice(body)
        .map_err(|_| Refused::Unauthorized("not a signed SNS message".into()))?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(sns.signature.trim())
        .map_err(|_| Refused::Unauthorized("the signature is not base64".into()))?;
    let signed = sns.signed();
    let verified = match sns.signature_version.as_str() {
        "1" => {
            use sha1_10::Digest;
            key.verify(
                Pkcs1v15Sign::new::<sha1_10::Sha1>(),
                &sha1_10::Sha1::digest(signed.as_bytes()),
                &signature,
            )
        }
        "2" => {
            use sha2_10::Digest;
            key.verify(
                Pkcs1v15Sign::new::<sha2_10::Sha256>(),
                &sha2_10::Sha256::digest(signed.as_bytes()),
                &signature,
            )
        }
        v => {
            return Err(Refused::Unauthorized(format!(
                "unknown SignatureVersion {v}"
            )));
        }
    };
    verified.map_err(|_| Refused::Unauthorized("wrong signature".into()))?;
    if let Some(topic) = &config.topic_arn
        && topic != &sns.topic_arn
    {
        return Err(Refused::Unauthorized(format!(
            "topic {} is not the configured one",
            sns.topic_arn
        )));
    }
    match sns.kind.as_str() {
        "SubscriptionConfirmation" => {
            return Ok(Delivery::Subscribe(sns.subscribe_url.unwrap_or_default()));
        }
        "Notification" => {}
        _ => return Ok(Delivery::Events(Vec::new())),
    }
    let n: serde_json::Value = serde_json::from_str(&sns.message).map_err(|e| {
        Refused::BadPayload(format!("the SNS message is not an SES notification: {e}"))
    })?;
    Ok(Delivery::Events(notification(&sns.message_id, &n)))
}

/// One SES notification (or event-publishing record): one event per recipient it names;
/// with VERP a message has one.
fn notification(sns_id: &str, n: &serde_json::Value) -> Vec<ProviderEvent> {
    let kind_name = n["notificationType"]
        .as_str()
        .or(n["eventType"].as_str())
        .unwrap_or_default();
    let mail = &n["mail"];
    let mut ids: Vec<&str> = mail["commonHeaders"]["messageId"]
        .as_str()
        .into_iter()
        .collect();
    let mut addresses: Vec<&str> = mail["source"].as_str().into_iter().collect();
    for h in mail["headers"].as_array().into_iter().flatten() {
        match h["name"].as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("message-id") => ids.extend(h["value"].as_str()),
            Some("return-path") => addresses.extend(h["value"].as_str()),
            _ => {}
        }
    }
    let found = tokens(addresses, ids);
    let event = match kind_name {
        "Bounce" => {
            let b = &n["bounce"];
            let kind = if b["bounceType"].as_str() == Some("Permanent") {
                EventKind::HardBounce
            } else {
                EventKind::SoftBounce
            };
            let r = &b["bouncedRecipients"][0];
            Event {
                kind,
                status: r["status"].as_str().map(str::to_string),
                detail: r["diagnosticCode"]
                    .as_str()
                    .or(b["bounceSubType"].as_str())
                    .map(str::to_string),
            }
        }
        "Complaint" => {
            let c = &n["complaint"];
            // "not-spam" is a recipient saying the opposite (RFC 6650).
            if c["complaintFeedbackType"].as_str() == Some("not-spam") {
                return Vec::new();
            }
            Event {
                kind: EventKind::Complaint,
                status: Some(
                    c["complaintFeedbackType"]
                        .as_str()
                        .unwrap_or("abuse")
                        .to_string(),
                ),
                detail: c["userAgent"].as_str().map(str::to_string),
            }
        }
        _ => return Vec::new(),
    };
    vec![ProviderEvent {
        key: format!("ses:{sns_id}"),
        tokens: found,
        event,
    }]
}
