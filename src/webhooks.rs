//! Outgoing webhooks to the shop (DESIGN §2.7): `contact.confirmed`, `contact.left`,
//! `contact.queued_for_deletion`, `contact.purged`, `campaign.completed`.
//!
//! Events are written to an outbox in the same transaction as what they report, then
//! delivered here with the Standard Webhooks headers (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`). A failed
//! delivery is retried with backoff (up to 10 minutes apart), forever: a receiver that
//! is down for an hour gets everything when it is back, each contact's events in order.

use crate::config::Config;
use crate::domain::Instant;
use crate::secrets::hmac_sha256;
use crate::store::Store;
use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use std::collections::HashSet;
use std::time::Duration;

#[derive(Debug, Default, Serialize)]
pub struct DeliveryReport {
    pub delivered: u64,
    pub failed: u64,
    /// Still waiting after this run (due later, or behind a failed event of the same contact).
    pub pending: i64,
    /// Waiting events whose address was dropped now, past `[webhooks] keep_undelivered`.
    pub addresses_dropped: u64,
}

/// The signing key: `whsec_` + base64 as Standard Webhooks writes it, or the raw text.
pub fn signing_key(secret: &str) -> Result<Vec<u8>> {
    match secret.strip_prefix("whsec_") {
        Some(b64) => STANDARD
            .decode(b64)
            .context("webhooks.secret: the part after whsec_ is not base64"),
        None => Ok(secret.as_bytes().to_vec()),
    }
}

/// `v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let signed = format!("{id}.{timestamp}.{body}");
    format!(
        "v1,{}",
        STANDARD.encode(hmac_sha256(key, signed.as_bytes()))
    )
}

/// Wait before the next try after `attempts` failed ones: 5 s doubling, at most 10 min.
pub fn backoff(attempts: i64) -> Duration {
    let secs = 5u64.saturating_mul(1 << attempts.clamp(0, 20));
    Duration::from_secs(secs.min(600))
}

/// Delivers what is due. Events that waited longer than `[webhooks] keep_undelivered`
/// first lose the address they carry: a receiver that is gone for good must not keep
/// erased people's addresses in the outbox forever. Delivers nothing when no receiver
/// is configured.
pub async fn deliver(store: &Store, config: &Config, now: Instant) -> Result<DeliveryReport> {
    let mut report = DeliveryReport {
        addresses_dropped: store
            .drop_undelivered_addresses(config.webhooks.keep_undelivered.before(now), now)
            .await?,
        ..Default::default()
    };
    let Some(url) = config.webhooks.url.as_deref() else {
        return Ok(report);
    };
    let Some(secret) = config.webhooks.secret.as_deref() else {
        bail!(
            "webhooks.url is set but webhooks.secret is not: the receiver could not verify what it gets"
        );
    };
    let key = signing_key(secret)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    loop {
        let due = store.webhooks_due(now, 200).await?;
        if due.is_empty() {
            break;
        }
        // A contact whose event failed waits; so do its later events in this round.
        let mut blocked = HashSet::new();
        let mut progressed = false;
        for event in due {
            if blocked.contains(&event.ordering_key) {
                continue;
            }
            let id = format!("msg_{}", event.id);
            let ts = now.timestamp();
            let result = client
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", &id)
                .header("webhook-timestamp", ts.to_string())
                .header(
                    "webhook-signature",
                    signature(&key, &id, ts, &event.payload),
                )
                .body(event.payload.clone())
                .send()
                .await;
            let error = match result {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(format!("the receiver answered {}", r.status())),
                Err(e) => Some(format!("cannot reach the receiver: {e}")),
            };
            match error {
                None => {
                    store.webhook_delivered(event.id, now).await?;
                    report.delivered += 1;
                    metrics::counter!("reconsent_webhook_deliveries_total", "result" => "delivered").increment(1);
                    progressed = true;
                }
                Some(error) => {
                    let next = now
                        + chrono::Duration::from_std(backoff(event.attempts)).unwrap_or_default();
                    store.webhook_failed(event.id, &error, next).await?;
                    tracing::warn!(event = event.id, "{error}; retrying later");
                    report.failed += 1;
                    metrics::counter!("reconsent_webhook_deliveries_total", "result" => "failed")
                        .increment(1);
                    blocked.insert(event.ordering_key);
                }
            }
        }
        if !progressed {
            break;
        }
    }
    report.pending = store.webhooks_pending(now).await?.0;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_standard_webhooks_example() {
        // The example in the Standard Webhooks specification.
        let key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn backoff_grows_to_ten_minutes() {
        let waits: Vec<u64> = (0..9).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 600, 600]);
    }
}
