//! What a late event does: the rules, decided here and written by the store.
//!
//! | event | the delivery | the contact | the shop |
//! |---|---|---|---|
//! | hard bounce (the address is dead) | `bounced` | suppressed, queued for deletion after the campaign's grace | `contact.queued_for_deletion` |
//! | soft bounce (full, greylisted, refused for now) | counted | nothing: the next wave tries again | nothing |
//! | complaint (the person pressed "spam") | counted | withdrawn: suppressed, reminders cancelled, queued for deletion at once | `contact.complained`, `contact.queued_for_deletion` |

use super::report::{Action, Status};
use crate::domain::LedgerEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    HardBounce,
    SoftBounce,
    Complaint,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HardBounce => "hard_bounce",
            Self::SoftBounce => "soft_bounce",
            Self::Complaint => "complaint",
        }
    }
}

/// When a contact's deletion falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionDue {
    /// After the campaign's grace, as for a bounce during the SMTP conversation.
    AfterGrace,
    /// At once, as for someone who left.
    Now,
}

/// What the store writes for one event, beside counting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    pub ledger_event: LedgerEvent,
    /// The delivery is marked `bounced`.
    pub bounced: bool,
    /// The suppression's (and the deletion queue's) reason.
    pub suppress: Option<&'static str>,
    /// The consent is withdrawn and every waiting reminder cancelled.
    pub withdraw: bool,
    pub deletion: Option<DeletionDue>,
    /// The event the shop is sent besides `contact.queued_for_deletion`.
    pub webhook: Option<&'static str>,
}

pub fn effect(kind: EventKind) -> Effect {
    match kind {
        EventKind::HardBounce => Effect {
            ledger_event: LedgerEvent::Bounced,
            bounced: true,
            suppress: Some("hard_bounce"),
            withdraw: false,
            deletion: Some(DeletionDue::AfterGrace),
            webhook: None,
        },
        EventKind::SoftBounce => Effect {
            ledger_event: LedgerEvent::SoftBounced,
            bounced: false,
            suppress: None,
            withdraw: false,
            deletion: None,
            webhook: None,
        },
        // A complaint is the strongest "no" there is: a mailbox provider will stop taking
        // this sender's mail if it goes on.
        EventKind::Complaint => Effect {
            ledger_event: LedgerEvent::Withdrawn,
            bounced: false,
            suppress: Some("complaint"),
            withdraw: true,
            deletion: Some(DeletionDue::Now),
            webhook: Some("contact.complained"),
        },
    }
}

/// What one recipient's lines of a DSN report: `None` for what is no failure (delivered,
/// relayed, expanded) or not one yet (delayed: the relay still tries).
///
/// A failure is hard when the status blames the address: 5.1.x (no such user, bad
/// domain), 5.2.1 (mailbox disabled) and 5.4.4 (the domain does not route). Every
/// other failure — a full mailbox, a message too big, a policy or spam refusal — is
/// soft: the address may well be alive, and the recipient is not blamed.
pub fn bounce_kind(action: Action, status: Option<Status>) -> Option<EventKind> {
    if action != Action::Failed {
        return None;
    }
    Some(match status {
        Some(Status(5, 1, _) | Status(5, 2, 1) | Status(5, 4, 4)) => EventKind::HardBounce,
        // A failure without a usable status says nothing about the address.
        _ => EventKind::SoftBounce,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsn_lines_to_events() {
        use Action::*;
        use EventKind::*;
        let cases = [
            (Failed, Some(Status(5, 1, 1)), Some(HardBounce)),
            (Failed, Some(Status(5, 1, 10)), Some(HardBounce)),
            (Failed, Some(Status(5, 2, 1)), Some(HardBounce)),
            (Failed, Some(Status(5, 4, 4)), Some(HardBounce)),
            (Failed, Some(Status(5, 2, 2)), Some(SoftBounce)),
            (Failed, Some(Status(5, 7, 1)), Some(SoftBounce)),
            (Failed, Some(Status(5, 3, 4)), Some(SoftBounce)),
            (Failed, Some(Status(4, 4, 7)), Some(SoftBounce)),
            (Failed, None, Some(SoftBounce)),
            (Delayed, Some(Status(4, 4, 1)), None),
            (Delivered, Some(Status(2, 0, 0)), None),
            (Relayed, Some(Status(2, 0, 0)), None),
            (Expanded, Some(Status(2, 0, 0)), None),
        ];
        for (action, status, want) in cases {
            assert_eq!(bounce_kind(action, status), want, "{action:?} {status:?}");
        }
    }

    #[test]
    fn events_to_effects() {
        use DeletionDue::*;
        // (kind, ledger, bounced, suppress, withdraw, deletion, webhook)
        let cases = [
            (
                EventKind::HardBounce,
                LedgerEvent::Bounced,
                true,
                Some("hard_bounce"),
                false,
                Some(AfterGrace),
                None,
            ),
            (
                EventKind::SoftBounce,
                LedgerEvent::SoftBounced,
                false,
                None,
                false,
                None,
                None,
            ),
            (
                EventKind::Complaint,
                LedgerEvent::Withdrawn,
                false,
                Some("complaint"),
                true,
                Some(Now),
                Some("contact.complained"),
            ),
        ];
        for (kind, ledger_event, bounced, suppress, withdraw, deletion, webhook) in cases {
            assert_eq!(
                effect(kind),
                Effect {
                    ledger_event,
                    bounced,
                    suppress,
                    withdraw,
                    deletion,
                    webhook
                },
                "{kind:?}"
            );
        }
    }
}
