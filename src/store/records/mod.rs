//! What the store hands up and takes in: plain data, the same for every backend.

mod answers;
mod campaigns;
mod erasure;
mod late_events;
mod queue;

pub use answers::{
    AnswerCampaign, AnswerContext, AnswerJob, AnswerWrite, Answered, Change, Decided, EffectLists,
    NewConsent, Outcome, RequestDelivery, answer_rounds,
};
pub use campaigns::{
    AnswerCounts, CampaignRow, Counters, DueDay, LaunchedCampaign, RateBy, RateRow,
};
pub use erasure::{Due, Erasure};
pub use late_events::{LateApplied, LateCounts, LateTarget, LateWrite};
pub use queue::{Claimed, Fate, QueueState, SlotRequest};

use crate::domain::{Contact, Instant, LedgerEvent};

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
    pub event: LedgerEvent,
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

/// The keys from the `secrets` table's rows, the tombstone key from its file if `init`
/// put it there.
pub(crate) fn secrets_from_rows(
    rows: &std::collections::HashMap<String, Vec<u8>>,
) -> anyhow::Result<crate::secrets::Secrets> {
    use crate::secrets::{KEY_FILE, KEY_LEN, LINK_KEY, TOMBSTONE_KEY, read_key_file, stored_path};
    use anyhow::Context;
    let key = |name: &str| -> anyhow::Result<[u8; KEY_LEN]> {
        rows.get(name)
            .with_context(|| format!("the database has no {name}: run `reconsent init`"))?
            .as_slice()
            .try_into()
            .map_err(|_| anyhow::anyhow!("the stored {name} is damaged"))
    };
    let tombstone_key = match (rows.get(TOMBSTONE_KEY), rows.get(KEY_FILE)) {
        (None, Some(path)) => read_key_file(&stored_path(path))?,
        _ => key(TOMBSTONE_KEY)?,
    };
    Ok(crate::secrets::Secrets {
        link_key: key(LINK_KEY)?,
        tombstone_key,
    })
}

/// Who an event is about: the opaque id, and the shop's own id when the import gave
/// one, else the address. The shop finds its contact by either; an outbox that holds
/// ids only holds no address.
pub(crate) fn about(
    public_id: &str,
    email: &str,
    external_id: Option<&str>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut data = serde_json::Map::new();
    data.insert("contact".into(), public_id.into());
    match external_id {
        Some(id) => data.insert("external_id".into(), id.into()),
        None => data.insert("email".into(), email.into()),
    };
    data
}

/// An outbox event's body as the receiver gets it.
pub(crate) fn webhook_payload(
    event_type: &str,
    now: crate::domain::Instant,
    data: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({ "type": event_type, "timestamp": now.to_rfc3339(), "data": data })
}
