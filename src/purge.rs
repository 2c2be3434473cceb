//! Deadline, deletion queue and purge (DESIGN §2.7).
//!
//! After a campaign's deadline its silent contacts are queued, due after `grace`;
//! leavers and hard bounces are queued when they happen. A purge erases what is due,
//! in batches, each batch all or nothing, so a purge stopped anywhere resumes cleanly.
//! A legal hold keeps a contact; a confirmation made after queueing keeps it too.

use crate::campaign::Campaign;
use crate::config::Config;
use crate::domain::{CampaignState, Instant, Span};
use crate::secrets::Secrets;
use crate::store::{CampaignRow, Erasure, Store, StoredContact};
use anyhow::Result;
use serde::Serialize;

#[derive(Debug, Default, Clone, Serialize)]
pub struct PurgeReport {
    pub purged: u64,
    /// Due but under legal hold: kept, listed for the marketer.
    pub held: Vec<String>,
    /// Due but answered meanwhile (confirmed, or re-imported with consent): kept.
    pub kept: u64,
    /// With `--dry-run`: every address that would be erased.
    pub would_purge: Vec<String>,
    /// Non-responders queued now because a campaign's deadline passed.
    pub newly_queued: u64,
    pub dry_run: bool,
}

/// When a campaign's silent contacts are queued, and when they fall due.
fn deadline_and_due(row: &CampaignRow) -> Option<(Instant, Instant)> {
    let campaign = Campaign::parse(&row.definition, &row.source_file).ok()?;
    let deadline = campaign.deadline.at(row.launched_at);
    Some((deadline, campaign.grace.after(deadline)))
}

/// Queues the non-responders of every campaign whose deadline has passed. Returns how many.
pub async fn close_campaigns(store: &Store, now: Instant) -> Result<u64> {
    let mut queued = 0;
    for row in store.campaigns().await? {
        if row.state == CampaignState::Cancelled || store.campaign_closed(row.id).await? {
            continue;
        }
        if let Some((deadline, due)) = deadline_and_due(&row)
            && now >= deadline
        {
            queued += store
                .queue_non_responders(row.id, row.launched_at, due, now)
                .await?;
        }
    }
    Ok(queued)
}

/// Why a due contact is kept after all.
fn keep_reason(
    c: &StoredContact,
    queued_at: Instant,
    config: &Config,
    now: Instant,
) -> Option<&'static str> {
    if c.contact.legal_hold == Some(true) {
        return Some("legal_hold");
    }
    // Came back with a good consent after it was queued (a confirmation, a re-import).
    let class = config.policy.classify(&c.contact, now).class;
    let fresh = c.contact.consent.at.is_some_and(|at| at >= queued_at);
    (fresh && matches!(class, crate::policy::ContactClass::Valid)).then_some("consented")
}

/// When a purge that erased someone rewrites the database (see [`scrub`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scrub {
    /// At its end: `purge` and `forget` from the command line.
    Now,
    /// Not again within this span of the last rewrite: `serve`'s purge every minute
    /// would otherwise hold every answer for seconds each time it erased a leaver. The
    /// rewrite still owed is kept in the database and done when the span is over.
    Spaced(Span),
}

impl Scrub {
    /// Whether a rewrite may run at `now`, the last one having run at `last`.
    pub fn allows(self, last: Option<Instant>, now: Instant) -> bool {
        match self {
            Scrub::Now => true,
            Scrub::Spaced(span) => last.is_none_or(|last| span.after(last) <= now),
        }
    }
}

pub async fn purge(
    store: &Store,
    config: &Config,
    secrets: &Secrets,
    now: Instant,
    dry_run: bool,
    when: Scrub,
) -> Result<PurgeReport> {
    let mut report = PurgeReport {
        dry_run,
        ..Default::default()
    };
    if dry_run {
        return preview(store, config, now, report).await;
    }
    report.newly_queued = close_campaigns(store, now).await?;
    let run = store.start_purge_run(now, false).await?;
    let policy_version = config.policy.version();
    let per_batch = i64::from(config.purge.batch.get());
    let mut after = 0;
    loop {
        let due = store.due_for_erasure(now, after, per_batch).await?;
        let Some(last) = due.last() else { break };
        after = last.contact.id;
        let mut batch = Vec::with_capacity(due.len());
        let mut consented = Vec::new();
        for d in &due {
            match keep_reason(&d.contact, d.queued_at, config, now) {
                Some("legal_hold") => report.held.push(d.contact.contact.email.to_string()),
                Some(_) => consented.push(d.contact.id),
                None => batch.push(Erasure {
                    contact_id: d.contact.id,
                    public_id: d.contact.public_id.clone(),
                    email: d.contact.contact.email.to_string(),
                    external_id: d.contact.contact.external_id.clone(),
                    tombstone: secrets.tombstone(d.contact.contact.email.key()),
                    reason: d.reason.clone(),
                    policy_version: policy_version.clone(),
                }),
            }
        }
        store.dequeue(&consented).await?;
        report.kept += consented.len() as u64;
        let erased = store.erase(&batch, now).await?;
        store.after_erase_batch().await?;
        report.kept += (batch.len() - erased.len()) as u64;
        report.purged += erased.len() as u64;
        metrics::counter!("reconsent_purged_total").increment(erased.len() as u64);
    }
    store
        .finish_purge_run(
            run,
            now,
            report.purged,
            report.held.len() as u64,
            report.kept,
        )
        .await?;
    scrub(store, now, when).await?;
    Ok(report)
}

/// Rewrites the database if an erasure ran since the last rewrite, this one or one
/// that was stopped: only then is no byte of an erased contact left in the files. Once
/// at the end, not per batch, since it rewrites the whole file.
async fn scrub(store: &Store, now: Instant, when: Scrub) -> Result<()> {
    let in_time = match when {
        Scrub::Now => true,
        Scrub::Spaced(_) => when.allows(store.last_scrub().await?, now),
    };
    if in_time && store.scrub_due().await? {
        store.scrub(now).await
    } else {
        store.settle().await
    }
}

/// What a purge at `now` would erase, writing nothing: what is queued and due, plus
/// the silent of campaigns whose deadline and grace will have passed by then.
async fn preview(
    store: &Store,
    config: &Config,
    now: Instant,
    mut report: PurgeReport,
) -> Result<PurgeReport> {
    let mut ids = std::collections::BTreeSet::new();
    let per_batch = i64::from(config.purge.batch.get());
    let mut after = 0;
    loop {
        let due = store.due_for_erasure(now, after, per_batch).await?;
        let Some(last) = due.last() else { break };
        after = last.contact.id;
        for d in due {
            match keep_reason(&d.contact, d.queued_at, config, now) {
                Some("legal_hold") => report.held.push(d.contact.contact.email.to_string()),
                Some(_) => report.kept += 1,
                None => {
                    ids.insert(d.contact.id);
                }
            }
        }
    }
    for row in store.campaigns().await? {
        if row.state == CampaignState::Cancelled || store.campaign_closed(row.id).await? {
            continue;
        }
        let Some((deadline, due)) = deadline_and_due(&row) else {
            continue;
        };
        if now < deadline || now < due {
            continue;
        }
        let silent = store.non_responders(row.id, row.launched_at).await?;
        for c in store.contacts_by_ids(&silent).await? {
            match keep_reason(&c, deadline, config, now) {
                Some("legal_hold") => report.held.push(c.contact.email.to_string()),
                Some(_) => {}
                None => {
                    ids.insert(c.id);
                }
            }
        }
    }
    let ids: Vec<i64> = ids.into_iter().collect();
    report.would_purge = store
        .contacts_by_ids(&ids)
        .await?
        .into_iter()
        .map(|c| c.contact.email.to_string())
        .collect();
    report.held.sort();
    report.held.dedup();
    Ok(report)
}

/// Erasure on request (GDPR Art. 17): at once, tombstoned, audited.
pub async fn forget(
    store: &Store,
    config: &Config,
    secrets: &Secrets,
    c: &StoredContact,
    now: Instant,
) -> Result<bool> {
    let erasure = Erasure {
        contact_id: c.id,
        public_id: c.public_id.clone(),
        email: c.contact.email.to_string(),
        external_id: c.contact.external_id.clone(),
        tombstone: secrets.tombstone(c.contact.email.key()),
        reason: "erasure_request".into(),
        policy_version: config.policy.version(),
    };
    store
        .queue_erasure(c.id, "erasure_request", now, now)
        .await?;
    // A run of its own, so that a forget stopped before its scrub is scrubbed by the next.
    let run = store.start_purge_run(now, false).await?;
    let erased = !store.erase(&[erasure], now).await?.is_empty();
    store
        .finish_purge_run(run, now, u64::from(erased), 0, u64::from(!erased))
        .await?;
    scrub(store, now, Scrub::Now).await?;
    Ok(erased)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_instant;

    #[test]
    fn a_scheduled_rewrite_waits_its_turn() {
        let t = |s: &str| parse_instant(s).unwrap();
        let hourly = Scrub::Spaced(Span::Seconds(3_600));
        let cases = [
            (
                Scrub::Now,
                Some("2026-12-02T10:00:00Z"),
                "2026-12-02T10:00:01Z",
                true,
            ),
            (hourly, None, "2026-12-02T10:00:00Z", true),
            (
                hourly,
                Some("2026-12-02T10:00:00Z"),
                "2026-12-02T10:59:59Z",
                false,
            ),
            (
                hourly,
                Some("2026-12-02T10:00:00Z"),
                "2026-12-02T11:00:00Z",
                true,
            ),
        ];
        for (when, last, now, expected) in cases {
            assert_eq!(
                when.allows(last.map(t), t(now)),
                expected,
                "{when:?} last {last:?} now {now}"
            );
        }
    }
}
