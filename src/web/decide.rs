//! What an answer changes, decided from the consent as it stands inside the write
//! transaction (pure): a second click, or a click racing another, changes nothing twice.

use crate::domain::{ConsentMethod, ConsentRecord};
use crate::store::Change;

/// What the person pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Confirm,
    /// The leave button, or the one-click unsubscribe.
    Leave,
}

/// `Confirm` unless the contact confirmed with this engine and has not withdrawn since;
/// `Withdraw` unless withdrawn with no consent given after it.
pub fn decide(consent: &ConsentRecord, reply: Reply) -> Change {
    match reply {
        Reply::Confirm if confirmed(consent) => Change::Nothing,
        Reply::Confirm => Change::Confirm,
        Reply::Leave if left(consent) => Change::Nothing,
        Reply::Leave => Change::Withdraw,
    }
}

fn confirmed(c: &ConsentRecord) -> bool {
    c.method == Some(ConsentMethod::Reconsent) && c.withdrawn_at.is_none()
}

/// A consent given at the very second of the withdrawal is older than it: answers share
/// seconds, and the withdrawal is the safer reading.
fn left(c: &ConsentRecord) -> bool {
    c.withdrawn_at
        .is_some_and(|w| c.at.is_none_or(|at| at <= w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_instant;

    fn consent(
        method: Option<ConsentMethod>,
        at: Option<&str>,
        withdrawn: Option<&str>,
    ) -> ConsentRecord {
        ConsentRecord {
            at: at.map(|t| parse_instant(t).unwrap()),
            method,
            withdrawn_at: withdrawn.map(|t| parse_instant(t).unwrap()),
            ..Default::default()
        }
    }

    #[test]
    fn each_answer_changes_only_what_is_not_so_already() {
        use ConsentMethod::Reconsent;
        use Reply::{Confirm, Leave};
        let t1 = Some("2026-11-01T00:00:00Z");
        let t2 = Some("2026-11-02T00:00:00Z");
        let other = Some(ConsentMethod::DoubleOptIn);
        let cases = [
            // (consent before, answer, what changes)
            (consent(None, None, None), Confirm, Change::Confirm),
            (consent(None, None, None), Leave, Change::Withdraw),
            (consent(other, t1, None), Confirm, Change::Confirm),
            (consent(other, t1, None), Leave, Change::Withdraw),
            (consent(Some(Reconsent), t1, None), Confirm, Change::Nothing),
            (consent(Some(Reconsent), t1, None), Leave, Change::Withdraw),
            // Withdrawn: leaving again is nothing, confirming brings the consent back.
            (consent(Some(Reconsent), t1, t2), Leave, Change::Nothing),
            (consent(Some(Reconsent), t1, t2), Confirm, Change::Confirm),
            (consent(Some(Reconsent), t1, t1), Leave, Change::Nothing),
            (consent(None, None, t1), Leave, Change::Nothing),
            (consent(None, None, t1), Confirm, Change::Confirm),
            // An older withdrawal, a newer consent (imported): leaving withdraws again.
            (consent(other, t2, t1), Leave, Change::Withdraw),
            (consent(other, t2, t1), Confirm, Change::Confirm),
        ];
        for (i, (before, reply, change)) in cases.iter().enumerate() {
            assert_eq!(
                decide(before, *reply),
                *change,
                "case {i}: {before:?} {reply:?}"
            );
        }
    }
}
