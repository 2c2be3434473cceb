//! The store the engine talks to: one of the backends, each method handed to it.

use super::records::*;
use super::url::DatabaseUrl;
use super::{PgStore, SqliteStore, WireLog};
use crate::domain::{CampaignState, Contact, DeliveryState, Instant};
use crate::ledger::verify::StoredEntry;
use crate::secrets::Secrets;
use anyhow::Result;
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// One import in progress. Dropping it without `commit` writes nothing.
pub enum ImportTx {
    Sqlite(super::sqlite::ImportTx),
    Postgres(super::postgres::ImportTx),
}

/// A launch's one transaction.
pub enum LaunchTx {
    Sqlite(super::sqlite::LaunchTx),
    Postgres(super::postgres::LaunchTx),
}

/// Methods handed to the backend as they are: the signature once, the call once.
macro_rules! delegate {
    ($recv:ident: $($(#[$meta:meta])* fn $name:ident(&$($self_:ident)+ $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        $(
            $(#[$meta])*
            pub async fn $name(&$($self_)+ $(, $arg: $ty)*) -> $ret {
                match $recv {
                    Self::Sqlite(s) => s.$name($($arg),*).await,
                    Self::Postgres(s) => s.$name($($arg),*).await,
                }
            }
        )*
    };
}

impl Store {
    /// Creates the database if needed and brings its schema up to date.
    pub async fn create(url: &str) -> Result<Self> {
        Ok(match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(path) => Self::Sqlite(SqliteStore::create(&path).await?),
            DatabaseUrl::Postgres(url) => Self::Postgres(PgStore::create(&url).await?),
        })
    }

    /// Opens an existing database; a missing one is a clear error, not a new empty base.
    pub async fn open(url: &str) -> Result<Self> {
        Ok(match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(path) => Self::Sqlite(SqliteStore::open(&path).await?),
            DatabaseUrl::Postgres(url) => Self::Postgres(PgStore::open(&url).await?),
        })
    }

    /// The database at `url` if `init` made one there; `None` if not. A server that
    /// cannot be reached is an error, not "no database".
    pub async fn open_existing(url: &str) -> Result<Option<Self>> {
        Ok(match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(path) => SqliteStore::open_existing(&path).await?.map(Self::Sqlite),
            DatabaseUrl::Postgres(url) => PgStore::open_existing(&url).await?.map(Self::Postgres),
        })
    }

    /// Where the data lives, as a person may be shown it (no password).
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(s) => s.describe(),
            Self::Postgres(s) => s.describe(),
        }
    }

    /// Finishes what is pending and closes every connection.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close().await,
            Self::Postgres(s) => s.close().await,
        }
    }

    /// Writes events for the shop's systems from now on (`[webhooks] url` is set).
    pub fn with_webhooks(self, enabled: bool) -> Self {
        match self {
            Self::Sqlite(s) => Self::Sqlite(s.with_webhooks(enabled)),
            Self::Postgres(s) => Self::Postgres(s.with_webhooks(enabled)),
        }
    }

    /// Every contact, in id order, a page at a time: for walking the whole base in
    /// bounded memory.
    pub fn contacts(
        &self,
        page_size: i64,
    ) -> tokio::sync::mpsc::Receiver<Result<Vec<StoredContact>>> {
        match self {
            Self::Sqlite(s) => s.contacts(page_size),
            Self::Postgres(s) => s.contacts(page_size),
        }
    }

    /// A fresh record, for `worker`, of the messages it hands to the mail server.
    pub fn wire_log(&self, worker: &str) -> Result<WireLog> {
        match self {
            Self::Sqlite(s) => Ok(WireLog::File(s.wire_log(worker)?)),
            Self::Postgres(s) => Ok(WireLog::Table(s.wire_log(worker))),
        }
    }

    pub async fn begin_import(&self) -> Result<ImportTx> {
        Ok(match self {
            Self::Sqlite(s) => ImportTx::Sqlite(s.begin_import().await?),
            Self::Postgres(s) => ImportTx::Postgres(s.begin_import().await?),
        })
    }

    pub async fn begin_launch(&self) -> Result<LaunchTx> {
        Ok(match self {
            Self::Sqlite(s) => LaunchTx::Sqlite(s.begin_launch().await?),
            Self::Postgres(s) => LaunchTx::Postgres(s.begin_launch().await?),
        })
    }

    delegate! { self:
        /// Stores a secret unless one of that name exists.
        fn add_secret(&self, name: &str, value: &[u8], now: Instant) -> Result<()>;
        fn secret(&self, name: &str) -> Result<Option<Vec<u8>>>;
        /// Records that the tombstone key lives in the file at `path` and drops it from
        /// the database, in one transaction.
        fn move_tombstone_key_out(&self, path: &[u8], now: Instant) -> Result<()>;
        /// The keys: from the database, the tombstone key from its file if `init` put it there.
        fn secrets(&self) -> Result<Secrets>;
        fn count_contacts(&self) -> Result<i64>;
        fn contact_by_key(&self, email_key: &str) -> Result<Option<StoredContact>>;
        fn tombstone(&self, key: &[u8]) -> Result<Option<Tombstone>>;
        fn ledger(&self, contact_id: i64) -> Result<Vec<LedgerEntry>>;
        /// Ledger entries after row `after`, with their chain, in the order written.
        fn chain_page(&self, after: i64, limit: i64) -> Result<Vec<StoredEntry>>;
        /// One contact's ledger entries with their chain, in the order written.
        fn chain_of(&self, contact_id: i64) -> Result<Vec<StoredEntry>>;
        /// The chain's last entry; `None` while the ledger is empty.
        fn chain_head(&self) -> Result<Option<ChainHead>>;
        fn add_tombstone(&self, key: &[u8], reason: &str, at: Instant) -> Result<()>;

        /// The contact and campaign a token names; `None` when either is gone or the
        /// contact was never part of the campaign.
        fn answer_context(&self, campaign: &str, public_id: &str) -> Result<Option<AnswerContext>>;
        /// A page view; `true` when it was written to the ledger (the first of its wave).
        fn record_view(&self, contact_id: i64, campaign_id: i64, entry: &LedgerEntry) -> Result<bool>;
        /// Answers, in one write transaction, applied in the order given as if one after
        /// the other: each decided by its rule on the consent as the answers before it
        /// left it. One result per answer, in the same order.
        fn record_answers(&self, jobs: &[AnswerJob]) -> Result<Vec<Answered>>;

        fn campaign(&self, name: &str) -> Result<Option<CampaignRow>>;
        fn campaign_by_id(&self, id: i64) -> Result<Option<CampaignRow>>;
        /// Whether a sender may go on with a campaign's claims.
        fn campaign_sendable(&self, id: i64) -> Result<bool>;
        fn campaigns(&self) -> Result<Vec<CampaignRow>>;
        fn set_campaign_state(&self, id: i64, state: CampaignState, reason: Option<&str>, now: Instant) -> Result<()>;
        /// Cancels what has not gone out; returns how many deliveries were cancelled.
        fn cancel_pending(&self, campaign_id: i64) -> Result<u64>;

        /// Delivery counts by wave and state.
        fn delivery_counts(&self, campaign_id: i64) -> Result<BTreeMap<(i64, DeliveryState), i64>>;
        /// Why messages of a campaign were cancelled or failed, by state and reason.
        fn outcome_reasons(&self, campaign_id: i64) -> Result<BTreeMap<String, BTreeMap<String, i64>>>;
        fn answer_counts(&self, campaign: &CampaignRow) -> Result<AnswerCounts>;
        /// The counters kept for a campaign beside the same figures counted from the rows.
        fn recount(&self, campaign: &CampaignRow) -> Result<(Counters, Counters)>;

        /// The delivery whose Message-ID carries this VERP token.
        fn late_target(&self, token: &str) -> Result<Option<LateTarget>>;
        /// A late bounce or complaint's writes, once per event key.
        fn apply_late_event(&self, w: &LateWrite<'_>) -> Result<LateApplied>;
        /// Late events of a campaign per wave.
        fn late_counts(&self, campaign_id: i64) -> Result<Vec<(i64, LateCounts)>>;

        /// Queues the silent of a campaign whose deadline has passed; returns how many.
        fn queue_non_responders(&self, campaign_id: i64, launched_at: Instant, due_at: Instant, now: Instant) -> Result<u64>;
        /// The contacts `queue_non_responders` would queue, without queueing them.
        fn non_responders(&self, campaign_id: i64, launched_at: Instant) -> Result<Vec<i64>>;
        fn contacts_by_ids(&self, ids: &[i64]) -> Result<Vec<StoredContact>>;
        /// Due entries of the deletion queue after contact id `after`, in id order.
        fn due_for_erasure(&self, now: Instant, after: i64, limit: i64) -> Result<Vec<Due>>;
        fn campaign_closed(&self, id: i64) -> Result<bool>;
        /// Takes contacts off the deletion queue (they confirmed, or came back with consent).
        fn dequeue(&self, contact_ids: &[i64]) -> Result<()>;
        /// Erases a batch in one transaction; returns the ids actually erased.
        fn erase(&self, batch: &[Erasure], now: Instant) -> Result<Vec<i64>>;
        /// After a batch of erasures: keeps what the backend holds beside its tables
        /// (SQLite's write-ahead log) from growing over a long purge.
        fn after_erase_batch(&self) -> Result<()>;
        /// When the storage was last rewritten by [`Self::scrub`].
        fn last_scrub(&self) -> Result<Option<Instant>>;
        /// Whether a run erased contacts (or stopped midway) since the last [`Self::scrub`].
        fn scrub_due(&self) -> Result<bool>;
        /// Rewrites the storage from its live rows: no byte of an erased row is left in
        /// the database's files.
        fn scrub(&self, now: Instant) -> Result<()>;
        /// Makes erasures written so far final in the database's files, short of a
        /// rewrite (SQLite: the write-ahead log folded in and emptied).
        fn settle(&self) -> Result<()>;
        fn start_purge_run(&self, now: Instant, dry_run: bool) -> Result<i64>;
        fn finish_purge_run(&self, id: i64, now: Instant, purged: u64, held: u64, kept: u64) -> Result<()>;
        /// Queues one contact for erasure now (hard bounce, leave, or `forget`).
        fn queue_erasure(&self, contact_id: i64, reason: &str, now: Instant, due_at: Instant) -> Result<()>;

        fn answers_over_time(&self, campaign: &str, bucket_secs: i64) -> Result<Vec<(i64, String, bool, i64)>>;
        fn answers_by_wave(&self, campaign: &str) -> Result<Vec<(String, String, i64)>>;
        fn rate_by(&self, campaign: &CampaignRow, by: RateBy) -> Result<Vec<RateRow>>;
        fn bounce_texts(&self, campaign_id: i64) -> Result<Vec<(String, i64)>>;
        fn deletion_calendar(&self, campaign_id: i64) -> Result<Vec<DueDay>>;
        fn silent_held(&self, campaign_id: i64, launched_at: Instant) -> Result<i64>;
        fn due_by_day(&self, from: Instant, until: Instant) -> Result<Vec<DueDay>>;
        fn sent_since(&self, since: Instant) -> Result<Vec<(i64, i64)>>;

        /// Deliveries left by senders that stopped: (requeued, unknown).
        fn recover_abandoned(&self, now: Instant) -> Result<(u64, u64)>;
        /// Claims up to `limit` due deliveries of a campaign for `worker`.
        fn claim(&self, worker: &str, campaign_id: i64, now: Instant, lease_until: Instant, limit: i64, refuse: &(dyn Fn(&Claimed) -> Option<&'static str> + Sync)) -> Result<Vec<Claimed>>;
        /// Those of `ids` still claimed.
        fn still_claimed(&self, ids: &[i64]) -> Result<HashSet<i64>>;
        /// Gives back claims that were never started.
        fn release(&self, ids: &[i64]) -> Result<()>;
        /// Keeps a live sender's claims from being taken for abandoned.
        fn renew_leases(&self, worker: &str, lease_until: Instant) -> Result<()>;
        /// A sender's writes in one transaction; returns the schedule's time after each slot request.
        fn journal(&self, results: &[(i64, i64, i64, Fate)], slots: &[SlotRequest], now: Instant) -> Result<Vec<i64>>;
        /// Whether there is work: for `send --until-idle`.
        fn queue_state(&self, campaign_id: Option<i64>, now: Instant) -> Result<QueueState>;
        fn is_suppressed(&self, contact_id: i64) -> Result<bool>;
        /// Suppressed contact ids (bounced, left): for excluding them from an audience.
        fn suppressed_ids(&self) -> Result<HashSet<i64>>;

        /// Queues reminder `wave` for every contact still silent; returns how many.
        fn enqueue_reminders(&self, campaign_id: i64, campaign: &str, wave: i64, due_at: Instant, now: Instant) -> Result<u64>;

        /// Events due for a try, oldest first, in order per ordering key.
        fn webhooks_due(&self, now: Instant, limit: i64) -> Result<Vec<OutboxEvent>>;
        fn webhook_delivered(&self, id: i64, now: Instant) -> Result<()>;
        fn webhook_failed(&self, id: i64, error: &str, next_attempt_at: Instant) -> Result<()>;
        /// Drops the address from every event not taken since `before`; returns how many.
        fn drop_undelivered_addresses(&self, before: Instant, now: Instant) -> Result<u64>;
        /// Undelivered events: (all, due now).
        fn webhooks_pending(&self, now: Instant) -> Result<(i64, i64)>;
    }
}

impl ImportTx {
    delegate! { self:
        /// Appends valid rows, each with its line in the file.
        fn stage(&mut self, rows: &[(u64, Contact)]) -> Result<()>;
        fn finish_staging(&mut self) -> Result<()>;
        /// Staged rows in (address, line) order after `cursor`.
        fn staged(&mut self, cursor: &StageCursor, limit: i64) -> Result<Vec<(u64, Contact)>>;
        fn existing(&mut self, keys: &[&str]) -> Result<HashMap<String, StoredContact>>;
        /// The tombstone dates of those `keys` that have one.
        fn tombstoned(&mut self, keys: &[Vec<u8>]) -> Result<HashMap<Vec<u8>, Instant>>;
        /// Inserts new contacts; returns their row ids by address key.
        fn insert(&mut self, contacts: &[&Contact], now: Instant) -> Result<HashMap<String, i64>>;
        fn update(&mut self, id: i64, c: &Contact, now: Instant) -> Result<()>;
        fn append_ledger(&mut self, entries: &[(i64, LedgerEntry)]) -> Result<()>;
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Self::Sqlite(t) => t.commit().await,
            Self::Postgres(t) => t.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<()> {
        match self {
            Self::Sqlite(t) => t.rollback().await,
            Self::Postgres(t) => t.rollback().await,
        }
    }
}

impl LaunchTx {
    delegate! { self:
        /// Creates the campaign; `None` if one of that name exists (launching twice is a no-op).
        fn create_campaign(&mut self, launched: &LaunchedCampaign<'_>, now: Instant) -> Result<Option<i64>>;
        /// Queues one wave for these contacts; a contact already queued for it is skipped.
        fn enqueue(&mut self, campaign_id: i64, wave: i64, contacts: &[(i64, crate::policy::ContactClass)], due_at: Instant) -> Result<u64>;
        /// Loads a campaign's code pool; a code listed twice is kept once.
        fn add_bonus_codes(&mut self, campaign_id: i64, codes: &[String]) -> Result<u64>;
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Self::Sqlite(t) => t.commit().await,
            Self::Postgres(t) => t.commit().await,
        }
    }
}
