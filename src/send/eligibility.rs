//! Whether a queued message may still leave (pure). A launch selects the lawful audience,
//! but a contact can withdraw, be re-imported without a basis, bounce or be erased in the
//! weeks a campaign runs; every message is checked again when a sender claims it.

use crate::domain::Instant;
use crate::policy::{ContactClass, Policy};
use crate::store::{Claimed, THANK_YOU_WAVE};

/// Why a queued message was cancelled instead of sent. Stored with the delivery and
/// counted in `campaign status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    /// Withdrew or objected since the launch.
    Withdrawn,
    /// No longer any lawful basis to write (e.g. re-imported without consent).
    NoBasis,
    /// Bounced or left: never written to again.
    Suppressed,
    /// Erased (purged or forgotten) while the message waited.
    Erased,
}

impl Cancel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Withdrawn => "withdrawn",
            Self::NoBasis => "no_basis",
            Self::Suppressed => "suppressed",
            Self::Erased => "erased",
        }
    }
}

/// The facts that decide, as they stand in the claim's transaction.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    pub class: ContactClass,
    pub suppressed: bool,
    /// The thank-you after a confirmation, not a request.
    pub thank_you: bool,
}

/// `None`: it may go. A request needs a class that may be asked (`stale`, `weak`,
/// `soft_opt_in`), or `valid` — a contact who gained a good consent meanwhile is not
/// harmed by the request it was already due, and `valid` is what a confirmation of
/// another campaign makes. A thank-you follows a confirmation, so only a withdrawal
/// or a suppression stops it.
pub fn refusal(s: Standing) -> Option<Cancel> {
    if s.suppressed {
        return Some(Cancel::Suppressed);
    }
    match s.class {
        ContactClass::Withdrawn => Some(Cancel::Withdrawn),
        ContactClass::NoBasis if !s.thank_you => Some(Cancel::NoBasis),
        _ => None,
    }
}

/// The rule applied to a claimed delivery under `policy` at `now`.
pub fn check(claimed: &Claimed, policy: &Policy, now: Instant) -> Option<Cancel> {
    refusal(Standing {
        class: policy.classify(&claimed.contact.contact, now).class,
        suppressed: claimed.suppressed,
        thank_you: claimed.wave == THANK_YOU_WAVE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContactClass::*;

    #[test]
    fn who_may_still_be_written_to() {
        let cases = [
            // (class, suppressed, thank-you, expected)
            (Stale, false, false, None),
            (Weak, false, false, None),
            (SoftOptIn, false, false, None),
            (Valid, false, false, None),
            (Withdrawn, false, false, Some(Cancel::Withdrawn)),
            (NoBasis, false, false, Some(Cancel::NoBasis)),
            (Weak, true, false, Some(Cancel::Suppressed)),
            (Valid, false, true, None),
            (NoBasis, false, true, None),
            (Withdrawn, false, true, Some(Cancel::Withdrawn)),
            (Valid, true, true, Some(Cancel::Suppressed)),
        ];
        for (class, suppressed, thank_you, expected) in cases {
            let got = refusal(Standing {
                class,
                suppressed,
                thank_you,
            });
            assert_eq!(
                got, expected,
                "{class} suppressed={suppressed} thanks={thank_you}"
            );
        }
    }
}
