//! Answers: what a token leads to, and what a view, a confirmation or a withdrawal writes.

use super::{LedgerEntry, StoredContact};
use crate::domain::{ConsentRecord, DeliveryState, Instant};
use crate::effects::Effects;
use std::collections::HashMap;

/// What an answer refers to: the contact, its campaign, and the request it answers.
#[derive(Debug, Clone)]
pub struct AnswerContext {
    pub contact: StoredContact,
    pub campaign: AnswerCampaign,
    /// The latest request that reached (or may have reached) the contact.
    pub delivery: Option<RequestDelivery>,
}

/// Of a campaign, what every answer needs; the definition itself is parsed once per
/// server (`web::AppState::campaign`), found by its hash.
#[derive(Debug, Clone)]
pub struct AnswerCampaign {
    pub id: i64,
    pub name: String,
    pub definition_sha256: String,
    pub privacy_sha256: Option<String>,
}

impl RequestDelivery {
    /// Of a contact's requests in a campaign, latest wave first (with each one's state),
    /// the latest that reached, or may have reached, the contact.
    pub fn latest_reached(
        requests: impl IntoIterator<Item = (DeliveryState, RequestDelivery)>,
    ) -> Option<RequestDelivery> {
        requests
            .into_iter()
            .find(|(state, _)| matches!(state, DeliveryState::Sent | DeliveryState::Unknown))
            .map(|(_, d)| d)
    }
}

#[derive(Debug, Clone)]
pub struct RequestDelivery {
    pub wave: i64,
    pub message_id: Option<String>,
    pub content_sha256: Option<String>,
    pub sent_at: Option<Instant>,
}

/// How the contact's consent reads after a confirmation.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub at: Instant,
    pub text_version: String,
    pub ip: Option<String>,
    pub source: String,
}

/// What an answer writes, decided from the consent read inside the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Nothing,
    /// The consent given (again): a `confirmed` entry, the thank-you queued once.
    Confirm,
    /// The consent withdrawn: suppressed, queued for deletion.
    Withdraw,
}

/// One answer to write: `entry` goes to the ledger when something changes.
pub struct AnswerWrite<'a> {
    pub contact_id: i64,
    pub campaign_id: i64,
    pub entry: &'a LedgerEntry,
    /// The consent a confirmation records; `None` for a withdrawal.
    pub consent: Option<&'a NewConsent>,
    pub at: Instant,
}

/// One answer as the response server hands it to the store, owned so that answers
/// arriving together can be written in one transaction (see `web::commit`).
pub struct AnswerJob {
    pub contact_id: i64,
    pub campaign_id: i64,
    pub entry: LedgerEntry,
    pub consent: Option<NewConsent>,
    pub at: Instant,
    /// The rule (`web::decide`) that says what the answer writes, given the consent as
    /// it stands inside the write transaction.
    pub decide: Box<dyn Fn(&ConsentRecord) -> Effects + Send + Sync>,
}

impl AnswerJob {
    pub fn write(&self) -> AnswerWrite<'_> {
        AnswerWrite {
            contact_id: self.contact_id,
            campaign_id: self.campaign_id,
            entry: &self.entry,
            consent: self.consent.as_ref(),
            at: self.at,
        }
    }
}

/// Answers in the order given, cut into rounds of distinct contacts: a contact answering
/// twice in a group must see its first answer's effects, so its second starts a round.
pub fn answer_rounds(jobs: &[AnswerJob]) -> Vec<&[AnswerJob]> {
    let mut out = Vec::new();
    let mut rest = jobs;
    while !rest.is_empty() {
        let mut seen = std::collections::HashSet::new();
        let n = rest
            .iter()
            .position(|j| !seen.insert(j.contact_id))
            .unwrap_or(rest.len());
        let (round, later) = rest.split_at(n);
        out.push(round);
        rest = later;
    }
    out
}

/// A round of answers decided: each answer's effects on its contact's consent as read
/// inside the transaction, `None` for a contact that is gone (erased by a purge between
/// the page and the button: nothing is written).
pub struct Decided<'a> {
    jobs: &'a [AnswerJob],
    effects: Vec<Option<Effects>>,
}

impl<'a> Decided<'a> {
    pub fn new(jobs: &'a [AnswerJob], consents: &HashMap<i64, ConsentRecord>) -> Self {
        let effects = jobs
            .iter()
            .map(|j| consents.get(&j.contact_id).map(|c| (j.decide)(c)))
            .collect();
        Self { jobs, effects }
    }

    /// The ledger entries the round appends, in the answers' order.
    pub fn ledger(&self) -> Vec<(i64, &'a LedgerEntry)> {
        self.each()
            .filter(|(_, e)| e.is_some_and(|e| e.ledger))
            .map(|(j, _)| (j.contact_id, &j.entry))
            .collect()
    }

    pub fn lists(&self) -> anyhow::Result<EffectLists> {
        EffectLists::of(self.jobs, &self.effects)
    }

    pub fn each(&self) -> impl Iterator<Item = (&'a AnswerJob, Option<&Effects>)> {
        self.jobs
            .iter()
            .zip(self.effects.iter().map(Option::as_ref))
    }
}

/// What a round's answers write, as JSON lists a statement each takes whole: the lists
/// a backend binds, so one statement serves every answer of the round.
#[derive(Debug, Default, PartialEq)]
pub struct EffectLists {
    /// `[contact, at, text version, ip, source]`: the consent a confirmation gives.
    pub give: Vec<serde_json::Value>,
    /// `[contact, at]`
    pub withdraw: Vec<serde_json::Value>,
    /// `[contact, reason]`: a suppression lifted.
    pub lift: Vec<serde_json::Value>,
    /// `[contact, reason, at]`: suppressed and queued for erasure, due at once.
    pub suppress: Vec<serde_json::Value>,
    /// `contact`: off the deletion queue.
    pub undelete: Vec<serde_json::Value>,
    /// `[contact, campaign]`: reminders not sent yet, cancelled.
    pub cancel_reminders: Vec<serde_json::Value>,
    /// `[contact, campaign]`: a thank-you not sent yet, cancelled.
    pub cancel_thank_you: Vec<serde_json::Value>,
    /// `[campaign, contact, at]`: the thank-you queued.
    pub queue_thank_you: Vec<serde_json::Value>,
}

impl EffectLists {
    /// `decided`: each answer's effects, `None` for a contact that is gone.
    pub fn of(jobs: &[AnswerJob], decided: &[Option<Effects>]) -> anyhow::Result<Self> {
        use serde_json::json;
        let mut l = Self::default();
        for (j, e) in jobs.iter().zip(decided) {
            let Some(e) = e else { continue };
            let (id, at) = (j.contact_id, j.at.timestamp());
            if e.give_consent {
                let Some(c) = &j.consent else {
                    anyhow::bail!("a confirmation without the consent to record");
                };
                l.give.push(json!([
                    id,
                    c.at.timestamp(),
                    c.text_version,
                    c.ip,
                    c.source
                ]));
            }
            if e.withdraw_consent {
                l.withdraw.push(json!([id, at]));
            }
            if let Some(reason) = e.lift_suppression {
                l.lift.push(json!([id, reason.as_str()]));
            }
            if let Some(reason) = e.suppress {
                l.suppress.push(json!([id, reason.as_str(), at]));
            }
            if e.cancel_deletion {
                l.undelete.push(json!(id));
            }
            if e.cancel_reminders {
                l.cancel_reminders.push(json!([id, j.campaign_id]));
            }
            if e.cancel_thank_you {
                l.cancel_thank_you.push(json!([id, j.campaign_id]));
            }
            if e.queue_thank_you {
                l.queue_thank_you.push(json!([j.campaign_id, id, at]));
            }
        }
        Ok(l)
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The lists as JSON text, in the order of the fields.
    pub fn texts(self) -> [String; 8] {
        [
            self.give,
            self.withdraw,
            self.lift,
            self.suppress,
            self.undelete,
            self.cancel_reminders,
            self.cancel_thank_you,
            self.queue_thank_you,
        ]
        .map(|l| serde_json::Value::Array(l).to_string())
    }
}

/// What an answer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub outcome: Outcome,
    /// The contact's code from the campaign's pool, when it has one.
    pub code: Option<String>,
}

impl Answered {
    /// `effects`: what the answer was decided to write, `None` when its contact is gone.
    pub fn of(effects: Option<&Effects>, code: Option<String>) -> Self {
        let outcome = match effects {
            None => Outcome::Gone,
            Some(e) if e.changes_anything() => Outcome::Changed,
            Some(_) => Outcome::Unchanged,
        };
        Self { outcome, code }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Changed,
    /// Already so (a double click, a second leave): nothing written.
    Unchanged,
    /// The contact is no longer there (erased a moment ago): nothing written.
    Gone,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(wave: i64) -> RequestDelivery {
        RequestDelivery {
            wave,
            message_id: None,
            content_sha256: None,
            sent_at: None,
        }
    }

    fn job(contact_id: i64, consent: Option<NewConsent>) -> AnswerJob {
        AnswerJob {
            contact_id,
            campaign_id: 7,
            entry: LedgerEntry::default(),
            consent,
            at: crate::domain::from_unix(1_000),
            decide: Box::new(|_| Effects::default()),
        }
    }

    #[test]
    fn a_contact_answering_twice_in_a_group_starts_a_new_round() {
        let cases: &[(&[i64], &[usize])] = &[
            (&[], &[]),
            (&[1], &[1]),
            (&[1, 2, 3], &[3]),
            (&[1, 1], &[1, 1]),
            (&[1, 2, 1, 3], &[2, 2]),
            (&[1, 2, 2, 1], &[2, 2]),
            (&[5, 5, 5], &[1, 1, 1]),
        ];
        for (contacts, sizes) in cases {
            let jobs: Vec<AnswerJob> = contacts.iter().map(|c| job(*c, None)).collect();
            let got: Vec<usize> = answer_rounds(&jobs).iter().map(|r| r.len()).collect();
            assert_eq!(got, *sizes, "{contacts:?}");
        }
    }

    #[test]
    fn a_round_writes_each_answer_into_the_lists_of_its_effects() {
        use crate::effects::Suppression;
        let consent = NewConsent {
            at: crate::domain::from_unix(1_000),
            text_version: "spring:abc".into(),
            ip: Some("192.0.2.1".into()),
            source: "page".into(),
        };
        let jobs = [job(1, Some(consent)), job(2, None), job(3, None)];
        let decided = [
            Some(Effects::of_answer(Change::Confirm, false)),
            Some(Effects::of_answer(Change::Withdraw, false)),
            None,
        ];
        let l = EffectLists::of(&jobs, &decided).unwrap();
        let j = |v: serde_json::Value| vec![v];
        use serde_json::json;
        assert_eq!(
            l.give,
            j(json!([1, 1000, "spring:abc", "192.0.2.1", "page"]))
        );
        assert_eq!(l.withdraw, j(json!([2, 1000])));
        assert_eq!(l.lift, j(json!([1, Suppression::Left.as_str()])));
        assert_eq!(l.suppress, j(json!([2, Suppression::Left.as_str(), 1000])));
        assert_eq!(l.undelete, j(json!(1)));
        assert_eq!(l.cancel_reminders, vec![json!([1, 7]), json!([2, 7])]);
        assert_eq!(l.cancel_thank_you, j(json!([2, 7])));
        assert_eq!(l.queue_thank_you, j(json!([7, 1, 1000])));
        assert!(
            EffectLists::of(&jobs, &[None, None, None])
                .unwrap()
                .is_empty()
        );
        // A confirmation must carry the consent it records.
        let bare = [job(1, None)];
        assert!(EffectLists::of(&bare, &[decided[0]]).is_err());
    }

    #[test]
    fn the_request_an_answer_refers_to_is_the_latest_that_may_have_arrived() {
        use DeliveryState::*;
        // A contact's requests, latest wave first, and the wave an answer refers to.
        type Requests = &'static [(DeliveryState, i64)];
        let cases: &[(Requests, Option<i64>)] = &[
            (&[], None),
            (&[(Sent, 0)], Some(0)),
            (&[(Queued, 1), (Sent, 0)], Some(0)),
            (&[(Unknown, 1), (Sent, 0)], Some(1)),
            (&[(Sent, 2), (Sent, 1), (Sent, 0)], Some(2)),
            (&[(Bounced, 1), (Failed, 0)], None),
            (&[(Cancelled, 1), (Retry, 0)], None),
        ];
        for (requests, expected) in cases {
            let got = RequestDelivery::latest_reached(
                requests
                    .iter()
                    .map(|(state, wave)| (*state, request(*wave))),
            );
            assert_eq!(got.map(|d| d.wave), *expected, "{requests:?}");
        }
    }
}
