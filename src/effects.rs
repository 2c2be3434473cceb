//! What an answer or a bounce changes besides its ledger entry, decided once, here, for
//! every backend: the store writes exactly the effects it is handed, nothing more.
//!
//! A confirmation gives the consent (again), wins over a pending deletion and a
//! leave's suppression, stops the reminders, and queues one thank-you (with a code from
//! the pool). A withdrawal suppresses, queues the erasure at once, and stops what was
//! still to be sent, the thank-you included. A hard bounce suppresses and queues the
//! erasure. "Already so" changes nothing.

use crate::store::Change;

/// Why a contact is never written to again (the `suppressions` and `deletion_queue`
/// reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppression {
    Left,
    HardBounce,
}

impl Suppression {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::HardBounce => "hard_bounce",
        }
    }
}

/// The contact's bonus code from the campaign's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Code {
    #[default]
    None,
    /// The one drawn before, else a free one now.
    Draw,
    /// The one drawn before, if any (a second confirmation shows it again).
    Show,
}

/// The writes of one answer or bounce, each a flag the store executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effects {
    /// The answer's ledger entry is written.
    pub ledger: bool,
    /// The contact's consent becomes this engine's confirmation, any withdrawal undone.
    pub give_consent: bool,
    /// The contact's consent is withdrawn at the answer's time.
    pub withdraw_consent: bool,
    /// Suppressed, and queued for erasure (due at once for a leave).
    pub suppress: Option<Suppression>,
    /// A suppression for this reason is lifted (a leaver who confirms again).
    pub lift_suppression: Option<Suppression>,
    /// Taken off the deletion queue: the address is alive and willing.
    pub cancel_deletion: bool,
    /// Reminders of the campaign not sent yet are cancelled.
    pub cancel_reminders: bool,
    /// The thank-you mail is queued, once per contact and campaign.
    pub queue_thank_you: bool,
    /// A thank-you not sent yet is not sent.
    pub cancel_thank_you: bool,
    pub code: Code,
    /// The event for the shop's systems (`contact.confirmed`, `contact.left`).
    pub webhook: Option<&'static str>,
    /// `contact.queued_for_deletion` for the shop's systems.
    pub webhook_queued: bool,
}

impl Effects {
    /// What an answer's change writes; `pool`: the campaign gives codes from a pool.
    pub fn of_answer(change: Change, pool: bool) -> Self {
        let code = |c| if pool { c } else { Code::None };
        match change {
            Change::Nothing => Self {
                code: code(Code::Show),
                ..Self::default()
            },
            Change::Confirm => Self {
                ledger: true,
                give_consent: true,
                lift_suppression: Some(Suppression::Left),
                cancel_deletion: true,
                cancel_reminders: true,
                queue_thank_you: true,
                code: code(Code::Draw),
                webhook: Some("contact.confirmed"),
                ..Self::default()
            },
            Change::Withdraw => Self {
                ledger: true,
                withdraw_consent: true,
                suppress: Some(Suppression::Left),
                cancel_reminders: true,
                cancel_thank_you: true,
                webhook: Some("contact.left"),
                webhook_queued: true,
                ..Self::default()
            },
        }
    }

    /// What a hard bounce writes besides the delivery's state.
    pub fn of_bounce() -> Self {
        Self {
            suppress: Some(Suppression::HardBounce),
            webhook_queued: true,
            ..Self::default()
        }
    }

    /// Whether anything is written (else the answer was "already so").
    pub fn changes_anything(&self) -> bool {
        Self {
            code: Code::None,
            ..*self
        } != Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_change_writes_its_effects() {
        let none = Effects::default();
        // (change, pool, what is written)
        let cases = [
            (Change::Nothing, false, none),
            (
                Change::Nothing,
                true,
                Effects {
                    code: Code::Show,
                    ..none
                },
            ),
            (
                Change::Confirm,
                true,
                Effects {
                    ledger: true,
                    give_consent: true,
                    lift_suppression: Some(Suppression::Left),
                    cancel_deletion: true,
                    cancel_reminders: true,
                    queue_thank_you: true,
                    code: Code::Draw,
                    webhook: Some("contact.confirmed"),
                    ..none
                },
            ),
            (
                Change::Withdraw,
                true,
                Effects {
                    ledger: true,
                    withdraw_consent: true,
                    suppress: Some(Suppression::Left),
                    cancel_reminders: true,
                    cancel_thank_you: true,
                    webhook: Some("contact.left"),
                    webhook_queued: true,
                    ..none
                },
            ),
        ];
        for (change, pool, want) in cases {
            assert_eq!(
                Effects::of_answer(change, pool),
                want,
                "{change:?} pool={pool}"
            );
        }
        assert_eq!(
            Effects::of_answer(Change::Confirm, false).code,
            Code::None,
            "no pool, no code"
        );
    }

    #[test]
    fn a_confirmation_cancels_a_pending_deletion_and_a_withdrawal_never_does() {
        assert!(Effects::of_answer(Change::Confirm, false).cancel_deletion);
        assert!(!Effects::of_answer(Change::Withdraw, false).cancel_deletion);
        assert!(!Effects::of_bounce().cancel_deletion);
    }

    #[test]
    fn a_bounce_suppresses_and_queues_the_erasure() {
        let b = Effects::of_bounce();
        assert_eq!(b.suppress, Some(Suppression::HardBounce));
        assert!(b.webhook_queued && !b.ledger && !b.queue_thank_you);
    }

    #[test]
    fn only_a_second_answer_changes_nothing() {
        assert!(!Effects::of_answer(Change::Nothing, true).changes_anything());
        assert!(Effects::of_answer(Change::Confirm, false).changes_anything());
        assert!(Effects::of_answer(Change::Withdraw, false).changes_anything());
    }
}
