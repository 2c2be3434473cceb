//! The event webhooks of the relays, `POST /hooks/{ses,postmark,mailgun,sendgrid}`. Each
//! checks its provider's own signature or credentials before it reads anything else: a
//! request that fails answers 401 and changes nothing.
//!
//! | provider | checked by | a bounce is hard when | a complaint is |
//! |---|---|---|---|
//! | [`ses`] (via SNS) | the SNS signature (RSA, SHA-1 or SHA-256) with the configured certificate | `bounceType` is `Permanent` | `notificationType` `Complaint` |
//! | [`postmark`] | HTTP basic auth with the configured credentials (Postmark signs nothing) | `Type` is `HardBounce` (or `BadEmailAddress`, `ManuallyDeactivated`) | `RecordType` `SpamComplaint` |
//! | [`mailgun`] | HMAC-SHA256 of timestamp and token with the signing key, fresh within 15 minutes | `severity` is `permanent` | `event` `complained` |
//! | [`sendgrid`] | ECDSA P-256 over timestamp and body with the configured public key | `type` is `bounce` (`blocked` is soft) | `event` `spamreport` |
//!
//! Each event is tied to its delivery by the tokens it carries: the return path (VERP)
//! or the original Message-ID, as the provider reports them.

pub mod mailgun;
pub mod postmark;
pub mod sendgrid;
pub mod ses;

use super::report::Event;
use super::verp;

/// One event from a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// The provider's own id of the event (or of the notification carrying it).
    pub key: String,
    pub tokens: Vec<String>,
    pub event: Event,
}

/// Why a request was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The provider is not configured: the endpoint does not exist.
    NotConfigured,
    /// A missing or wrong signature or credential: 401.
    Unauthorized(String),
    /// Signed, but not what the provider sends: 400.
    BadPayload(String),
}

/// The tokens in a return path and a Message-ID, whichever are there.
pub fn tokens<'a>(
    addresses: impl IntoIterator<Item = &'a str>,
    message_ids: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let found = addresses
        .into_iter()
        .map(verp::token_of)
        .chain(message_ids.into_iter().map(|id| {
            // Some providers drop the angle brackets.
            verp::token_of_message_id(&format!("<{}>", id.trim().trim_matches(['<', '>'])))
        }));
    for t in found.flatten() {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Equal in constant time: a signature or password compared byte by byte would tell
/// an attacker how much of a guess was right.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
