//! What PostgreSQL does not do yet: each fails loudly, naming itself, never silently.

use super::{ImportTx, LaunchTx, PgStore};
use crate::domain::{ConsentRecord, Contact, Instant};
use crate::secrets::Secrets;
use crate::store::*;
use anyhow::{Result, bail};
use std::collections::{BTreeMap, HashMap, HashSet};

macro_rules! unsupported {
    ($($name:ident(&$($self_:ident)+ $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        $(
            #[allow(unused_variables)]
            pub async fn $name(&$($self_)+ $(, $arg: $ty)*) -> $ret {
                bail!(concat!("not supported on PostgreSQL yet: ", stringify!($name)))
            }
        )*
    };
}

impl PgStore {
    unsupported! {
        add_secret(&self, name: &str, value: &[u8], now: Instant) -> Result<()>;
        secret(&self, name: &str) -> Result<Option<Vec<u8>>>;
        move_tombstone_key_out(&self, path: &[u8], now: Instant) -> Result<()>;
        secrets(&self) -> Result<Secrets>;
        count_contacts(&self) -> Result<i64>;
        contact_by_key(&self, email_key: &str) -> Result<Option<StoredContact>>;
        tombstone(&self, key: &[u8]) -> Result<Option<Tombstone>>;
        ledger(&self, contact_id: i64) -> Result<Vec<LedgerEntry>>;
        add_tombstone(&self, key: &[u8], reason: &str, at: Instant) -> Result<()>;
        answer_context(&self, campaign: &str, public_id: &str) -> Result<Option<AnswerContext>>;
        record_view(&self, contact_id: i64, campaign_id: i64, entry: &LedgerEntry) -> Result<bool>;
        record_answer(&self, w: &AnswerWrite<'_>, decide: impl FnOnce(&ConsentRecord) -> Change) -> Result<Answered>;
        campaign(&self, name: &str) -> Result<Option<CampaignRow>>;
        campaign_by_id(&self, id: i64) -> Result<Option<CampaignRow>>;
        campaign_sendable(&self, id: i64) -> Result<bool>;
        campaigns(&self) -> Result<Vec<CampaignRow>>;
        set_campaign_state(&self, id: i64, state: &str, reason: Option<&str>, now: Instant) -> Result<()>;
        cancel_pending(&self, campaign_id: i64) -> Result<u64>;
        delivery_counts(&self, campaign_id: i64) -> Result<BTreeMap<(i64, String), i64>>;
        outcome_reasons(&self, campaign_id: i64) -> Result<BTreeMap<String, BTreeMap<String, i64>>>;
        answer_counts(&self, campaign: &CampaignRow) -> Result<AnswerCounts>;
        queue_non_responders(&self, campaign_id: i64, launched_at: Instant, due_at: Instant, now: Instant) -> Result<u64>;
        non_responders(&self, campaign_id: i64, launched_at: Instant) -> Result<Vec<i64>>;
        contacts_by_ids(&self, ids: &[i64]) -> Result<Vec<StoredContact>>;
        due_for_erasure(&self, now: Instant, after: i64, limit: i64) -> Result<Vec<Due>>;
        campaign_closed(&self, id: i64) -> Result<bool>;
        dequeue(&self, contact_ids: &[i64]) -> Result<()>;
        erase(&self, batch: &[Erasure], now: Instant) -> Result<Vec<i64>>;
        after_erase_batch(&self) -> Result<()>;
        last_scrub(&self) -> Result<Option<Instant>>;
        scrub_due(&self) -> Result<bool>;
        scrub(&self, now: Instant) -> Result<()>;
        settle(&self) -> Result<()>;
        start_purge_run(&self, now: Instant, dry_run: bool) -> Result<i64>;
        finish_purge_run(&self, id: i64, now: Instant, purged: u64, held: u64, kept: u64) -> Result<()>;
        queue_erasure(&self, contact_id: i64, reason: &str, now: Instant, due_at: Instant) -> Result<()>;
        answers_over_time(&self, campaign: &str, bucket_secs: i64) -> Result<Vec<(i64, String, bool, i64)>>;
        answers_by_wave(&self, campaign: &str) -> Result<Vec<(String, String, i64)>>;
        rate_by(&self, campaign: &CampaignRow, by: RateBy) -> Result<Vec<RateRow>>;
        bounce_texts(&self, campaign_id: i64) -> Result<Vec<(String, i64)>>;
        deletion_calendar(&self, campaign_id: i64) -> Result<Vec<DueDay>>;
        silent_held(&self, campaign_id: i64, launched_at: Instant) -> Result<i64>;
        due_by_day(&self, from: Instant, until: Instant) -> Result<Vec<DueDay>>;
        sent_since(&self, since: Instant) -> Result<Vec<(i64, i64)>>;
        recover_abandoned(&self, now: Instant) -> Result<(u64, u64)>;
        claim(&self, worker: &str, campaign_id: i64, now: Instant, lease_until: Instant, limit: i64, refuse: &(dyn Fn(&Claimed) -> Option<&'static str> + Sync)) -> Result<Vec<Claimed>>;
        still_claimed(&self, ids: &[i64]) -> Result<HashSet<i64>>;
        release(&self, ids: &[i64]) -> Result<()>;
        renew_leases(&self, worker: &str, lease_until: Instant) -> Result<()>;
        journal(&self, results: &[(i64, i64, i64, Fate)], slots: &[SlotRequest], now: Instant) -> Result<Vec<i64>>;
        queue_state(&self, campaign_id: Option<i64>, now: Instant) -> Result<QueueState>;
        is_suppressed(&self, contact_id: i64) -> Result<bool>;
        suppressed_ids(&self) -> Result<HashSet<i64>>;
        enqueue_reminders(&self, campaign_id: i64, campaign: &str, wave: i64, due_at: Instant, now: Instant) -> Result<u64>;
        webhooks_due(&self, now: Instant, limit: i64) -> Result<Vec<OutboxEvent>>;
        webhook_delivered(&self, id: i64, now: Instant) -> Result<()>;
        webhook_failed(&self, id: i64, error: &str, next_attempt_at: Instant) -> Result<()>;
        drop_undelivered_addresses(&self, before: Instant, now: Instant) -> Result<u64>;
        webhooks_pending(&self, now: Instant) -> Result<(i64, i64)>;
        begin_import(&self) -> Result<ImportTx>;
        begin_launch(&self) -> Result<LaunchTx>;
    }

    pub fn contacts(
        &self,
        _page_size: i64,
    ) -> tokio::sync::mpsc::Receiver<Result<Vec<StoredContact>>> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let _ = tx.try_send(Err(anyhow::anyhow!(
            "not supported on PostgreSQL yet: contacts"
        )));
        rx
    }
}

impl ImportTx {
    unsupported! {
        stage(&mut self, rows: &[(u64, Contact)]) -> Result<()>;
        finish_staging(&mut self) -> Result<()>;
        staged(&mut self, cursor: &StageCursor, limit: i64) -> Result<Vec<(u64, Contact)>>;
        existing(&mut self, keys: &[&str]) -> Result<HashMap<String, StoredContact>>;
        tombstoned(&mut self, keys: &[Vec<u8>]) -> Result<HashMap<Vec<u8>, Instant>>;
        insert(&mut self, contacts: &[&Contact], now: Instant) -> Result<HashMap<String, i64>>;
        update(&mut self, id: i64, c: &Contact, now: Instant) -> Result<()>;
        append_ledger(&mut self, entries: &[(i64, LedgerEntry)]) -> Result<()>;
    }
}

impl LaunchTx {
    unsupported! {
        create_campaign(&mut self, launched: &LaunchedCampaign<'_>, now: Instant) -> Result<Option<i64>>;
        enqueue(&mut self, campaign_id: i64, wave: i64, contact_ids: &[i64], due_at: Instant) -> Result<u64>;
        add_bonus_codes(&mut self, campaign_id: i64, codes: &[String]) -> Result<u64>;
    }
}
