//! Every SQL statement lives here; business logic stays above. One module per backend,
//! chosen by the database URL; nothing outside this module knows which one it talks to.
//!
//! - `sqlite`: the embedded default (WAL, one file, plus a small wire log per sender
//!   beside it, of the messages handed to the mail server).
//! - `postgres`: one base shared by senders on several machines (claims with
//!   `FOR UPDATE SKIP LOCKED`, the wire log in a table).
//! - `records`: what the store hands up and takes in: plain data, no SQL.
//! - `url`: how a database URL names a backend.
//! - `copy`: `store copy`, a SQLite base moved into an empty PostgreSQL one, verified.

mod answer_rows;
mod chain_rows;
pub mod copy;
mod delegate;
mod postgres;
pub(crate) mod records;
mod sqlite;
mod url;
mod wire_log;

pub use delegate::{ImportTx, LaunchTx, Store};
pub use postgres::PgStore;
pub use records::{
    AnswerCampaign, AnswerContext, AnswerCounts, AnswerJob, AnswerWrite, Answered, CampaignRow,
    ChainHead, Change, Claimed, Counters, Decided, Due, DueDay, EffectLists, Erasure, Fate,
    LateApplied, LateCounts, LateTarget, LateWrite, LaunchedCampaign, LedgerEntry, NewConsent,
    OutboxEvent, Outcome, QueueState, RateBy, RateRow, RequestDelivery, SlotRequest, StageCursor,
    StoredContact, Tombstone, answer_rounds,
};
pub use sqlite::SqliteStore;
pub use url::DatabaseUrl;
pub use wire_log::WireLog;

/// The wave index of the thank-you mail after a confirmation: a delivery like the
/// requests, so it is throttled, retried and survives a restart, and the unique
/// (campaign, contact, wave) key sends it at most once.
pub const THANK_YOU_WAVE: i64 = -1;

/// The stores a command opened, closed together when it ends (see [`Store::close`]).
#[derive(Default)]
pub struct OpenStores(std::sync::Mutex<Vec<Store>>);

impl OpenStores {
    pub async fn open(&self, url: &str) -> anyhow::Result<Store> {
        let store = Store::open(url).await?;
        self.keep(store.clone());
        Ok(store)
    }

    /// The database at `url` if there is one (initialised), else `None`.
    pub async fn open_existing(&self, url: &str) -> anyhow::Result<Option<Store>> {
        let store = Store::open_existing(url).await?;
        if let Some(store) = &store {
            self.keep(store.clone());
        }
        Ok(store)
    }

    pub async fn create(&self, url: &str) -> anyhow::Result<Store> {
        let store = Store::create(url).await?;
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
