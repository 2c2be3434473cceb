//! The delivery queue: claims, their fates, the throttle's slots.

use super::{LedgerEntry, StoredContact};
use crate::domain::Instant;

/// A delivery claimed by a sender, with its contact.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub delivery_id: i64,
    pub campaign_id: i64,
    /// The wave's index, or [`crate::store::THANK_YOU_WAVE`].
    pub wave: i64,
    pub attempts: i64,
    /// Bounced or left since: never written to again.
    pub suppressed: bool,
    /// The code drawn from the campaign's pool at confirmation (thank-you mails).
    pub bonus_code: Option<String>,
    pub contact: StoredContact,
}

/// What became of one delivery.
#[derive(Debug, Clone)]
pub enum Fate {
    Sent {
        message_id: String,
        content_sha256: String,
        ledger: Box<LedgerEntry>,
    },
    Retry {
        due_at: Instant,
        error: String,
    },
    Bounced {
        error: String,
        deletion_due_at: Instant,
        /// What the bounce does to the contact ([`crate::effects::Effects::of_bounce`]).
        effects: crate::effects::Effects,
    },
    Failed {
        error: String,
    },
    Unknown {
        error: String,
    },
    /// Back to the queue, untouched by blame; the campaign pauses with this reason.
    PauseCampaign {
        reason: String,
    },
    /// Held but never handed to a server (the campaign was paused or the sender stopped).
    Released,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct QueueState {
    /// Due now and not claimed.
    pub due: i64,
    /// Claimed or being sent by some sender.
    pub in_flight: i64,
    /// Waiting for a later time (retries).
    pub later: i64,
}

/// `k` slots of a campaign's throttle asked for at `now` (µs since the epoch), one per
/// `period` µs (see `send::pace`).
#[derive(Debug, Clone, Copy)]
pub struct SlotRequest {
    pub campaign_id: i64,
    pub now: i64,
    pub k: i64,
    pub period: i64,
}
