//! Answers: what a token leads to, and what a view, a confirmation or a withdrawal writes.

use super::{CampaignRow, LedgerEntry, StoredContact};
use crate::domain::Instant;

/// What an answer refers to: the contact, its campaign, and the request it answers.
#[derive(Debug, Clone)]
pub struct AnswerContext {
    pub contact: StoredContact,
    pub campaign: CampaignRow,
    /// The latest request that reached (or may have reached) the contact.
    pub delivery: Option<RequestDelivery>,
}

#[derive(Debug, Clone)]
pub struct RequestDelivery {
    pub wave: i64,
    pub message_id: Option<String>,
    pub content_sha256: Option<String>,
    pub sent_at: Option<Instant>,
}

/// How the contact's consent reads after a confirmation.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub at: Instant,
    pub text_version: String,
    pub ip: Option<String>,
    pub source: String,
}

/// What an answer writes, decided from the consent read inside the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Nothing,
    /// The consent given (again): a `confirmed` entry, the thank-you queued once.
    Confirm,
    /// The consent withdrawn: suppressed, queued for deletion.
    Withdraw,
}

/// One answer to write: `entry` goes to the ledger when something changes.
pub struct AnswerWrite<'a> {
    pub contact_id: i64,
    pub campaign_id: i64,
    pub entry: &'a LedgerEntry,
    /// The consent a confirmation records; `None` for a withdrawal.
    pub consent: Option<&'a NewConsent>,
    pub at: Instant,
}

/// What an answer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub outcome: Outcome,
    /// The contact's code from the campaign's pool, when it has one.
    pub code: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Changed,
    /// Already so (a double click, a second leave): nothing written.
    Unchanged,
    /// The contact is no longer there (erased a moment ago): nothing written.
    Gone,
}
