//! Every SQL statement lives here; business logic stays above. One module per backend.
//!
//! `sqlite` is the embedded default (WAL, one file, plus `wire`: a small log per sender
//! beside it, of the messages handed to the mail server). The types below are what the
//! store hands up: plain data, no SQL.

mod answers;
mod bonus;
mod campaigns;
mod chain;
mod counts;
mod erasure;
mod insight;
mod queue;
mod sqlite;
mod waves;
mod webhooks;
mod wire;

pub use answers::{
    AnswerContext, AnswerWrite, Answered, Change, NewConsent, Outcome, RequestDelivery,
};
pub use campaigns::{CampaignRow, LaunchTx, LaunchedCampaign};
pub use chain::ChainHead;
pub use counts::AnswerCounts;
pub use erasure::{Due, Erasure};
pub use insight::{DueDay, RateBy, RateRow};
pub use queue::{Claimed, Fate, QueueState, SlotRequest};
pub use sqlite::{ImportTx, SqliteStore as Store};
pub use webhooks::OutboxEvent;
pub use wire::WireLog;

use crate::domain::{Contact, Instant};

/// The wave index of the thank-you mail after a confirmation: a delivery like the
/// requests, so it is throttled, retried and survives a restart, and the unique
/// (campaign, contact, wave) key sends it at most once.
pub const THANK_YOU_WAVE: i64 = -1;

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

/// The stores a command opened, closed together when it ends (see [`Store::close`]).
#[derive(Default)]
pub struct OpenStores(std::sync::Mutex<Vec<Store>>);

impl OpenStores {
    pub async fn open(&self, path: &str) -> anyhow::Result<Store> {
        let store = Store::open(path).await?;
        self.keep(store.clone());
        Ok(store)
    }

    pub async fn create(&self, path: &str) -> anyhow::Result<Store> {
        let store = Store::create(path).await?;
        self.keep(store.clone());
        Ok(store)
    }

    fn keep(&self, store: Store) {
        if let Ok(mut open) = self.0.lock() {
            open.push(store);
        }
    }

    pub async fn close(&self) {
        let open = self.0.lock().map(|mut o| std::mem::take(&mut *o));
        for store in open.unwrap_or_default() {
            store.close().await;
        }
    }
}

/// How a database URL is spelled: `sqlite://FILE`, `sqlite:FILE`, or a bare file path.
pub fn sqlite_path(url: &str) -> anyhow::Result<String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        anyhow::bail!(
            "PostgreSQL is not supported by this version yet; use a SQLite file (sqlite://reconsent.db)"
        );
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() {
        anyhow::bail!("the database URL '{url}' names no file");
    }
    Ok(path.to_string())
}
