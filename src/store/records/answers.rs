//! Answers: what a token leads to, and what a view, a confirmation or a withdrawal writes.

use super::{LedgerEntry, StoredContact};
use crate::domain::{ConsentRecord, DeliveryState, Instant};
use crate::effects::Effects;

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

/// What an answer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub outcome: Outcome,
    /// The contact's code from the campaign's pool, when it has one.
    pub code: Option<String>,
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
