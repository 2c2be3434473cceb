//! What PostgreSQL does not do yet: each fails loudly, naming itself, never silently.

use super::PgStore;
use crate::domain::{ConsentRecord, DeliveryState, Instant};
use crate::effects::Effects;
use crate::store::*;
use anyhow::{Result, bail};
use std::collections::BTreeMap;

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
        answer_context(&self, campaign: &str, public_id: &str) -> Result<Option<AnswerContext>>;
        record_view(&self, contact_id: i64, campaign_id: i64, entry: &LedgerEntry) -> Result<bool>;
        record_answer(&self, w: &AnswerWrite<'_>, decide: impl FnOnce(&ConsentRecord) -> Effects) -> Result<Answered>;
        delivery_counts(&self, campaign_id: i64) -> Result<BTreeMap<(i64, DeliveryState), i64>>;
        outcome_reasons(&self, campaign_id: i64) -> Result<BTreeMap<String, BTreeMap<String, i64>>>;
        answer_counts(&self, campaign: &CampaignRow) -> Result<AnswerCounts>;
        recount(&self, campaign: &CampaignRow) -> Result<(Counters, Counters)>;
        queue_non_responders(&self, campaign_id: i64, launched_at: Instant, due_at: Instant, now: Instant) -> Result<u64>;
        non_responders(&self, campaign_id: i64, launched_at: Instant) -> Result<Vec<i64>>;
        contacts_by_ids(&self, ids: &[i64]) -> Result<Vec<StoredContact>>;
        due_for_erasure(&self, now: Instant, after: i64, limit: i64) -> Result<Vec<Due>>;
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
        enqueue_reminders(&self, campaign_id: i64, campaign: &str, wave: i64, due_at: Instant, now: Instant) -> Result<u64>;
        webhooks_due(&self, now: Instant, limit: i64) -> Result<Vec<OutboxEvent>>;
        webhook_delivered(&self, id: i64, now: Instant) -> Result<()>;
        webhook_failed(&self, id: i64, error: &str, next_attempt_at: Instant) -> Result<()>;
        drop_undelivered_addresses(&self, before: Instant, now: Instant) -> Result<u64>;
        webhooks_pending(&self, now: Instant) -> Result<(i64, i64)>;
    }
}
