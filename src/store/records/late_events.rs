//! Late bounces and complaints: the delivery a report names, what the event writes,
//! and the counts per wave.

use super::LedgerEntry;
use crate::domain::Instant;

/// The delivery a late event answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateTarget {
    pub delivery_id: i64,
    pub campaign_id: i64,
    pub contact_id: i64,
    pub wave: i64,
    pub message_id: String,
}

/// One late event's writes, as decided above the store (`bounces::rule`).
#[derive(Debug, Clone)]
pub struct LateWrite<'a> {
    /// Counts the event once: a second write with this key changes nothing.
    pub event_key: &'a str,
    pub target: &'a LateTarget,
    /// `hard_bounce`, `soft_bounce` or `complaint`.
    pub kind: &'a str,
    pub source: &'a str,
    pub status: Option<&'a str>,
    /// Mark the delivery `bounced` with this as its error.
    pub bounced: Option<&'a str>,
    /// Suppress the contact with this reason, and queue its deletion at this time.
    pub suppress: Option<(&'a str, Instant)>,
    /// Withdraw the consent and cancel every message still waiting for the contact.
    pub withdraw: bool,
    /// An event for the shop beside `contact.queued_for_deletion`.
    pub webhook: Option<&'a str>,
    pub ledger: &'a LedgerEntry,
    pub at: Instant,
}

/// What a late event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LateApplied {
    Applied,
    /// Its key was written before: nothing changed.
    Already,
}

/// Late events of one wave of a campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LateCounts {
    pub hard_bounces: i64,
    pub soft_bounces: i64,
    pub complaints: i64,
}
