//! What an SMTP answer means for a delivery: the rules of retry, bounce and pause,
//! as a pure function with a table of cases.

use crate::domain::Span;
use std::time::Duration;

/// Where in the SMTP conversation a failure happened. Before the message body was on
/// the wire nothing can have been delivered; once it was, a lost connection leaves the
/// message's fate unknown, and resending could make a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connecting, greeting, EHLO, STARTTLS, AUTH.
    Connect,
    /// MAIL FROM, RCPT TO, DATA (the command, before its 354).
    Envelope,
    /// The body and the final dot, awaiting the server's verdict.
    Body,
}

/// A failure as the sender saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with this reply code and text.
    Reply { code: u16, text: String },
    /// The connection broke or timed out, or could not be made.
    Connection(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Try again later; nobody is blamed.
    Retry {
        after: Duration,
        why: String,
    },
    /// The address does not exist (5.1.x): suppress it, queue it for deletion.
    Bounced(String),
    /// Refused for good for a reason that is not the address (e.g. 5.2.2 mailbox full
    /// after all retries, 5.3.4 too big): no more tries for this wave.
    Failed(String),
    /// The server may or may not have taken it: counted, never resent in this wave.
    Unknown(String),
    /// The server refuses the sender for good (5.7.x: policy, DMARC, authentication):
    /// the campaign stops until the marketer fixes it; the message goes back to the
    /// queue and the recipient is not blamed.
    PauseCampaign(String),
    /// The recipient's domain asks us to slow down (421 after the greeting, or 4.7.x:
    /// rate limits, reputation, greylisting by policy): that domain's pace halves and
    /// the message waits for its turn; it is not an attempt and nobody is blamed.
    SlowDown(String),
}

/// Retry policy: capped exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(60),
            cap: Duration::from_secs(3_600),
            max_attempts: 8,
        }
    }
}

impl Backoff {
    /// The wait before attempt `attempts + 1`, after `attempts` failed ones.
    pub fn delay(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
        self.first.saturating_mul(factor).min(self.cap)
    }

    pub fn from_spans(first: Span, cap: Span, max_attempts: u32) -> Self {
        let secs = |s: Span| match s {
            Span::Seconds(n) => n.max(0) as u64,
            Span::Months(m) => u64::from(m) * 30 * 86_400,
        };
        Self {
            first: Duration::from_secs(secs(first)),
            cap: Duration::from_secs(secs(cap)),
            max_attempts,
        }
    }
}

/// The enhanced status code (RFC 3463) at the start of a reply text, e.g. `5.1.1`.
pub fn enhanced_code(text: &str) -> Option<(u8, u16, u16)> {
    let word = text.split_whitespace().next()?;
    let mut parts = word.trim_end_matches([',', ';', ':']).split('.');
    let class = parts
        .next()?
        .parse::<u8>()
        .ok()
        .filter(|c| matches!(c, 2 | 4 | 5))?;
    let subject = parts.next()?.parse().ok()?;
    let detail = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((class, subject, detail))
}

/// Decides what a failure means. `attempts` counts this one.
pub fn classify(failure: &Failure, phase: Phase, attempts: u32, backoff: &Backoff) -> Outcome {
    let retry_or_fail = |why: String| {
        if attempts >= backoff.max_attempts {
            Outcome::Failed(format!("{why} (gave up after {attempts} attempts)"))
        } else {
            Outcome::Retry {
                after: backoff.delay(attempts),
                why,
            }
        }
    };
    match failure {
        Failure::Connection(why) if phase == Phase::Body => Outcome::Unknown(format!(
            "the connection was lost after the message was sent and before the server answered ({why}); not resent, to avoid a duplicate"
        )),
        Failure::Connection(why) => retry_or_fail(format!("connection: {why}")),
        Failure::Reply { code, text } => {
            let said = format!("{code} {}", text.trim());
            let enhanced = enhanced_code(text);
            match (code / 100, enhanced) {
                (4, Some((_, 7, _))) => Outcome::SlowDown(said),
                // A 421 greeting is the server's, not a domain's: retried like any 4xx.
                (4, _) if *code == 421 && phase != Phase::Connect => Outcome::SlowDown(said),
                (5, Some((_, 7, _))) => Outcome::PauseCampaign(said),
                (5, Some((_, 1, _))) => Outcome::Bounced(said),
                // 550/551/553 without an enhanced code are the classic "no such user" replies
                // at RCPT; elsewhere, a bare 5xx says nothing about the address.
                (5, None) if phase == Phase::Envelope && matches!(code, 550 | 551 | 553) => {
                    Outcome::Bounced(said)
                }
                (5, _) => Outcome::Failed(said),
                (4, _) => retry_or_fail(said),
                _ => Outcome::Failed(format!("unexpected reply {said}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Phase::*;

    fn reply(code: u16, text: &str) -> Failure {
        Failure::Reply {
            code,
            text: text.to_string(),
        }
    }

    #[test]
    fn enhanced_codes() {
        let cases = [
            (
                "5.1.1 <x@example.com>: Recipient address rejected",
                Some((5, 1, 1)),
            ),
            ("4.7.1 Try again later", Some((4, 7, 1))),
            (
                "5.7.26 Unauthenticated email from example.com is not accepted due to DMARC",
                Some((5, 7, 26)),
            ),
            ("  5.2.2 Mailbox full", Some((5, 2, 2))),
            ("Error: command not implemented", None),
            ("5.1 nonsense", None),
            ("3.1.1 no", None),
        ];
        for (text, want) in cases {
            assert_eq!(enhanced_code(text), want, "{text}");
        }
    }

    #[test]
    fn classifications() {
        let b = Backoff::default();
        let cases: Vec<(Failure, Phase, u32, &str)> = vec![
            (reply(550, "5.1.1 User unknown"), Envelope, 1, "bounced"),
            (reply(550, "5.1.1 User unknown"), Body, 1, "bounced"),
            (
                reply(553, "mailbox name not allowed"),
                Envelope,
                1,
                "bounced",
            ),
            (reply(550, "Message rejected as spam"), Body, 1, "failed"),
            (reply(552, "5.2.2 Mailbox full"), Body, 1, "failed"),
            (reply(554, "5.3.4 Message too big"), Body, 1, "failed"),
            (
                reply(550, "5.7.1 Service unavailable, client host blocked"),
                Envelope,
                1,
                "pause",
            ),
            (
                reply(550, "5.7.26 DMARC policy violation"),
                Body,
                1,
                "pause",
            ),
            (
                reply(451, "4.7.1 Greylisted, try again"),
                Envelope,
                1,
                "slow down",
            ),
            (
                reply(450, "4.7.0 Too many messages from your IP, slow down"),
                Envelope,
                8,
                "slow down",
            ),
            (
                reply(421, "4.7.0 Try again later, closing connection"),
                Envelope,
                1,
                "slow down",
            ),
            (reply(421, "Rate limit exceeded"), Body, 1, "slow down"),
            (
                reply(421, "4.4.2 Too many connections"),
                Connect,
                1,
                "retry",
            ),
            (reply(451, "4.3.0 Temporary failure"), Body, 1, "retry"),
            (reply(450, "mailbox busy"), Envelope, 7, "retry"),
            (reply(450, "mailbox busy"), Envelope, 8, "failed"),
            (Failure::Connection("refused".into()), Connect, 1, "retry"),
            (Failure::Connection("reset".into()), Envelope, 1, "retry"),
            (Failure::Connection("reset".into()), Body, 1, "unknown"),
            (Failure::Connection("timed out".into()), Body, 1, "unknown"),
        ];
        for (failure, phase, attempts, want) in cases {
            let got = classify(&failure, phase, attempts, &b);
            let kind = match got {
                Outcome::Sent => "sent",
                Outcome::Retry { .. } => "retry",
                Outcome::Bounced(_) => "bounced",
                Outcome::Failed(_) => "failed",
                Outcome::Unknown(_) => "unknown",
                Outcome::PauseCampaign(_) => "pause",
                Outcome::SlowDown(_) => "slow down",
            };
            assert_eq!(
                kind, want,
                "{failure:?} in {phase:?}, attempt {attempts}: {got:?}"
            );
        }
    }

    #[test]
    fn greylisting_is_retried_not_paused_when_it_is_not_a_policy_code() {
        // 4.7.x slows the domain down; a plain 450 at RCPT (classic greylisting without
        // an enhanced code) retries.
        let got = classify(&reply(450, "Greylisted"), Envelope, 1, &Backoff::default());
        assert!(matches!(got, Outcome::Retry { .. }), "{got:?}");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff::default();
        let waits: Vec<u64> = (1..=8).map(|a| b.delay(a).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
