//! The states a campaign, a delivery and a ledger entry can be in, as the database
//! column spells them (`as_str`, `parse`): one list each, matched exhaustively.

/// Writes the enum, its column spelling both ways, and `Display`.
macro_rules! column_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

column_enum! {
    /// A launched campaign: sending, held, stopped for good, or past its deadline.
    CampaignState {
        #[default]
        Running => "running",
        Paused => "paused",
        Cancelled => "cancelled",
        /// The deadline passed: only thank-you mails still go out.
        Completed => "completed",
    }
}

column_enum! {
    /// One message to one contact: queued → claimed → sent | retry | bounced | failed |
    /// unknown; or cancelled.
    DeliveryState {
        #[default]
        Queued => "queued",
        /// Held by a sender; never handed to a server unless its wire log says so.
        Claimed => "claimed",
        /// How an earlier version marked what it was about to send.
        Sending => "sending",
        Sent => "sent",
        Retry => "retry",
        Bounced => "bounced",
        Failed => "failed",
        /// The server may have it: never resent.
        Unknown => "unknown",
        Cancelled => "cancelled",
    }
}

column_enum! {
    /// What a consent ledger entry records (DESIGN §2.6).
    LedgerEvent {
        #[default]
        Imported => "imported",
        Requested => "requested",
        /// The thank-you mail after a confirmation.
        Thanked => "thanked",
        Viewed => "viewed",
        Confirmed => "confirmed",
        Left => "left",
        /// The one-click unsubscribe (RFC 8058).
        Withdrawn => "withdrawn",
        Erased => "erased",
        /// A hard bounce reported after sending (DSN, relay webhook).
        Bounced => "bounced",
        /// A soft bounce reported after sending: counted, nothing else.
        SoftBounced => "soft_bounced",
    }
}

impl CampaignState {
    /// Whether a sender takes this campaign's requests (thank-you mails also go out
    /// once it is completed).
    pub fn sends_requests(self) -> bool {
        self == Self::Running
    }

    pub fn sends_thanks(self) -> bool {
        matches!(self, Self::Running | Self::Completed)
    }
}

impl LedgerEvent {
    /// An answer of the person: it ends their silence.
    pub fn is_answer(self) -> bool {
        matches!(self, Self::Confirmed | Self::Left | Self::Withdrawn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_as_written() {
        for s in CampaignState::ALL {
            assert_eq!(CampaignState::parse(s.as_str()), Some(*s));
        }
        for s in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(s.as_str()), Some(*s));
        }
        for s in LedgerEvent::ALL {
            assert_eq!(LedgerEvent::parse(s.as_str()), Some(*s));
        }
        assert_eq!(CampaignState::parse("Running"), None);
        assert_eq!(DeliveryState::parse(""), None);
    }

    #[test]
    fn what_each_campaign_state_sends() {
        use CampaignState::*;
        let cases = [
            (Running, true, true),
            (Paused, false, false),
            (Cancelled, false, false),
            (Completed, false, true),
        ];
        for (state, requests, thanks) in cases {
            assert_eq!(state.sends_requests(), requests, "{state}");
            assert_eq!(state.sends_thanks(), thanks, "{state}");
        }
    }

    #[test]
    fn answers_are_confirmations_and_leaves() {
        let answers: Vec<_> = LedgerEvent::ALL.iter().filter(|e| e.is_answer()).collect();
        assert_eq!(
            answers,
            [
                &LedgerEvent::Confirmed,
                &LedgerEvent::Left,
                &LedgerEvent::Withdrawn
            ]
        );
    }
}
