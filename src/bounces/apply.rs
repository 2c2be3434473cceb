//! One late event, from whichever source: found in the deliveries by its tokens,
//! decided by [`rule`](super::rule), written once.

use super::Source;
use super::report::Event;
use super::rule::{self, DeletionDue, EventKind};
use crate::campaign::Campaign;
use crate::config::Config;
use crate::domain::Instant;
use crate::store::{LateApplied, LateWrite, LedgerEntry, Store};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::sync::Arc;

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied(EventKind),
    /// Reported before: nothing changed.
    Already(EventKind),
    /// No delivery has any of its tokens.
    Unmatched,
}

/// Applies events; keeps the launched campaigns it needed, parsed once.
pub struct Applier<'a> {
    store: &'a Store,
    config: &'a Config,
    campaigns: HashMap<i64, Arc<Campaign>>,
}

impl<'a> Applier<'a> {
    pub fn new(store: &'a Store, config: &'a Config) -> Self {
        Self {
            store,
            config,
            campaigns: HashMap::new(),
        }
    }

    /// `report_key` names the report (a DSN's Message-ID, a provider's event id): a
    /// soft bounce counts once per report; a hard bounce or a complaint once per
    /// delivery, whoever reports it and however often.
    pub async fn apply(
        &mut self,
        source: Source,
        report_key: &str,
        tokens: &[String],
        event: &Event,
        now: Instant,
    ) -> Result<Outcome> {
        let mut target = None;
        for token in tokens {
            if let Some(t) = self.store.late_target(token).await? {
                target = Some(t);
                break;
            }
        }
        let Some(target) = target else {
            return Ok(Outcome::Unmatched);
        };
        let campaign = self.campaign(target.campaign_id).await?;
        let effect = rule::effect(event.kind);
        let event_key = match event.kind {
            EventKind::SoftBounce => format!(
                "soft_bounce:{}:{}:{report_key}",
                target.delivery_id,
                source.as_str()
            ),
            kind => format!("{}:{}", kind.as_str(), target.delivery_id),
        };
        let deletion_due = match effect.deletion {
            Some(DeletionDue::AfterGrace) => campaign.grace.after(now),
            Some(DeletionDue::Now) | None => now,
        };
        let ledger = LedgerEntry {
            event: effect.ledger_event,
            at: now,
            campaign: Some(campaign.name.clone()),
            wave: Some(wave_name(&campaign, target.wave)),
            message_id: Some(target.message_id.clone()),
            policy_version: self.config.policy.version(),
            detail: Some(serde_json::json!({
                "late": event.kind.as_str(),
                "source": source.as_str(),
                "status": event.status,
                "diagnostic": event.detail,
                "report": report_key,
            })),
            ..Default::default()
        };
        let bounced = effect.bounced.then(|| bounce_error(source, event));
        let write = LateWrite {
            event_key: &event_key,
            target: &target,
            kind: event.kind.as_str(),
            source: source.as_str(),
            status: event.status.as_deref(),
            bounced: bounced.as_deref(),
            suppress: effect.suppress.map(|reason| (reason, deletion_due)),
            withdraw: effect.withdraw,
            webhook: effect.webhook,
            ledger: &ledger,
            at: now,
        };
        Ok(match self.store.apply_late_event(&write).await? {
            LateApplied::Applied => {
                metrics::counter!("reconsent_late_events_total", "kind" => event.kind.as_str(), "source" => source.as_str())
                    .increment(1);
                Outcome::Applied(event.kind)
            }
            LateApplied::Already => Outcome::Already(event.kind),
        })
    }

    async fn campaign(&mut self, id: i64) -> Result<Arc<Campaign>> {
        if let Some(c) = self.campaigns.get(&id) {
            return Ok(c.clone());
        }
        let row = self
            .store
            .campaign_by_id(id)
            .await?
            .with_context(|| format!("campaign {id} of a delivery is missing"))?;
        let campaign = Campaign::parse(&row.definition, &row.source_file)
            .map_err(|e| anyhow::anyhow!("the launched campaign {} is damaged: {e}", row.name))?;
        let campaign = Arc::new(campaign);
        self.campaigns.insert(id, campaign.clone());
        Ok(campaign)
    }
}

/// What the delivery's error says, as an SMTP bounce's would: where it came from and
/// the remote server's words.
fn bounce_error(source: Source, event: &Event) -> String {
    let status = event.status.as_deref().unwrap_or("no status");
    match &event.detail {
        Some(d) => format!("late bounce ({}): {status} {d}", source.as_str()),
        None => format!("late bounce ({}): {status}", source.as_str()),
    }
}

/// The wave's name as the ledger's `requested` entries give it.
fn wave_name(campaign: &Campaign, wave: i64) -> String {
    usize::try_from(wave)
        .ok()
        .and_then(|w| campaign.waves.get(w))
        .map_or_else(|| "thank-you".to_string(), |w| w.name.clone())
}
