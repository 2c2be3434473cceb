//! `campaign status`: the funnel, overall and per wave, built from the store's counts.

use super::definition::Campaign;
use crate::domain::{CampaignState, DeliveryState};
use crate::store::{AnswerCounts, CampaignRow};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct WaveFunnel {
    pub wave: String,
    pub targeted: i64,
    pub queued: i64,
    pub sent: i64,
    pub retrying: i64,
    pub failed: i64,
    pub bounced: i64,
    pub unknown: i64,
    pub cancelled: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Status {
    pub campaign: String,
    pub state: CampaignState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    pub launched_at: String,
    pub deadline: String,
    pub targeted: i64,
    pub queued: i64,
    pub sent: i64,
    pub retrying: i64,
    pub failed: i64,
    pub bounced: i64,
    pub unknown: i64,
    pub cancelled: i64,
    /// Why messages were cancelled before they went (e.g. `withdrawn`, `erased`).
    pub cancelled_reasons: BTreeMap<String, i64>,
    /// The reasons of failures, as the server or the sender gave them.
    pub failed_reasons: BTreeMap<String, i64>,
    /// Thank-you mails with the bonus, sent after a confirmation.
    pub thank_you_sent: i64,
    pub viewed: i64,
    pub confirmed: i64,
    pub left: i64,
    /// Answers that came too soon after delivery or from a known scanner: recorded,
    /// shown apart, not counted above.
    pub suspect: i64,
    pub no_response: i64,
    pub queued_for_deletion: i64,
    pub purged: i64,
    /// Confirmed ÷ delivered (sent in the first wave), in [0, 1].
    pub confirmation_rate: f64,
    pub waves: Vec<WaveFunnel>,
}

/// `deliveries` maps (wave index, state) to a count.
pub fn funnel(
    row: &CampaignRow,
    campaign: &Campaign,
    deliveries: &BTreeMap<(i64, DeliveryState), i64>,
    mut reasons: BTreeMap<String, BTreeMap<String, i64>>,
    answers: &AnswerCounts,
) -> Status {
    let mut waves: Vec<WaveFunnel> = campaign
        .waves
        .iter()
        .map(|w| WaveFunnel {
            wave: w.name.clone(),
            ..Default::default()
        })
        .collect();
    for ((wave, state), n) in deliveries {
        let Some(w) = usize::try_from(*wave).ok().and_then(|i| waves.get_mut(i)) else {
            continue;
        };
        w.targeted += n;
        use DeliveryState as S;
        match state {
            S::Queued | S::Claimed | S::Sending => w.queued += n,
            S::Sent => w.sent += n,
            S::Retry => w.retrying += n,
            S::Failed => w.failed += n,
            S::Bounced => w.bounced += n,
            S::Unknown => w.unknown += n,
            S::Cancelled => w.cancelled += n,
        }
    }
    let sum = |f: fn(&WaveFunnel) -> i64| waves.iter().map(f).sum::<i64>();
    let answered = |event: &str| {
        answers
            .by_event
            .get(&(event.to_string(), false))
            .copied()
            .unwrap_or(0)
    };
    let suspect: i64 = answers
        .by_event
        .iter()
        .filter(|((e, s), _)| *s && e != "viewed")
        .map(|(_, n)| n)
        .sum();
    let first = waves.first().cloned().unwrap_or_default();
    let (confirmed, left) = (answered("confirmed"), answered("left"));
    let reached = first.sent + first.unknown;
    Status {
        campaign: row.name.clone(),
        state: row.state,
        state_reason: row.state_reason.clone(),
        launched_at: row.launched_at.to_rfc3339(),
        deadline: campaign.deadline.at(row.launched_at).to_rfc3339(),
        // A contact is targeted once, whatever the number of reminders.
        targeted: first.targeted,
        queued: sum(|w| w.queued),
        sent: sum(|w| w.sent),
        retrying: sum(|w| w.retrying),
        failed: sum(|w| w.failed),
        bounced: sum(|w| w.bounced),
        unknown: sum(|w| w.unknown),
        cancelled: sum(|w| w.cancelled),
        cancelled_reasons: reasons.remove("cancelled").unwrap_or_default(),
        failed_reasons: reasons.remove("failed").unwrap_or_default(),
        thank_you_sent: deliveries
            .get(&(crate::store::THANK_YOU_WAVE, DeliveryState::Sent))
            .copied()
            .unwrap_or(0),
        viewed: answered("viewed"),
        confirmed,
        left,
        suspect,
        no_response: (reached - answers.answered).max(0),
        queued_for_deletion: answers.queued_for_deletion,
        purged: answers.purged,
        confirmation_rate: if first.sent > 0 {
            confirmed as f64 / first.sent as f64
        } else {
            0.0
        },
        waves,
    }
}
