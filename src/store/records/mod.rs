//! What the store hands up and takes in: plain data, the same for every backend.

mod answers;
mod campaigns;
mod erasure;
mod queue;

pub use answers::{
    AnswerContext, AnswerWrite, Answered, Change, NewConsent, Outcome, RequestDelivery,
};
pub use campaigns::{AnswerCounts, CampaignRow, DueDay, LaunchedCampaign, RateBy, RateRow};
pub use erasure::{Due, Erasure};
pub use queue::{Claimed, Fate, QueueState, SlotRequest};

use crate::domain::{Contact, Instant};

/// A contact as stored: its row id (never shown outside), its opaque public id, its facts.
#[derive(Debug, Clone)]
pub struct StoredContact {
    pub id: i64,
    pub public_id: String,
    pub contact: Contact,
}

#[derive(Debug, Clone)]
pub struct Tombstone {
    pub reason: String,
    pub at: Instant,
}

/// One entry of the consent ledger (DESIGN §2.6).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LedgerEntry {
    pub event: String,
    pub at: Instant,
    pub campaign: Option<String>,
    pub wave: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub content_sha256: Option<String>,
    /// SHA-256 of the privacy policy's text (`privacy_policy_file`), when the campaign gave it.
    pub privacy_sha256: Option<String>,
    /// The campaign's `privacy_policy_version`.
    pub privacy_version: Option<String>,
    pub message_id: Option<String>,
    pub policy_version: String,
    pub suspect: bool,
    /// Event-specific facts as JSON (for `imported`: the consent facts and the source line).
    pub detail: Option<serde_json::Value>,
}

/// An event of the webhook outbox, due for a try.
#[derive(Debug, Clone)]
pub struct OutboxEvent {
    pub id: i64,
    pub event_type: String,
    pub ordering_key: String,
    pub payload: String,
    pub attempts: i64,
}

/// Where reading an import's stage stopped: the last (address key, line) handed out.
pub type StageCursor = Option<(String, i64)>;

/// The ledger chain's last entry: its hash, time, and how many entries it closes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainHead {
    pub head: String,
    pub entries: i64,
    pub at: Instant,
}
