//! Pacing per recipient domain, on top of the campaign's shared rate: large mailbox
//! providers defer or block a sender that sends them too much at once, whatever the
//! campaign's rate. In-process (one sender's view); the campaign rate is the global one.
//!
//! - `[sending.domains]` sets a limit per domain (`"wp.pl" = "5/s"`); [`DEFAULT_LIMITS`]
//!   are used for the large providers it does not name.
//! - A domain that answers 421 or 4.7.x (rate limiting, reputation) slows down by itself:
//!   its rate halves, then recovers by a tenth of its limit a minute ([`Throttle`]). A
//!   domain with no limit gets one on its first such answer: half the campaign's rate, at
//!   most [`UNLISTED_START`]. The message is tried again in its domain's turn: neither
//!   failed nor counted as an attempt.
//! - Admission: `governor` decides whether a domain may take a message now. One it
//!   refuses gets the next turn in the domain's queue (a GCRA schedule of turns): held in
//!   memory if that turn is within [`HOLD`], else put back in the database until then.
//!   A message that comes back for its turn goes at once, so each message waits once.

use crate::campaign::definition::Rate;
use governor::{DefaultDirectRateLimiter, Quota};
use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::time::Duration;

/// Limits for the large providers of the markets reconsent is made for (PL, CZ, SK, DE)
/// and the global ones. These are conservative starting points for one sending IP, not
/// published figures: the providers publish none, and answer 421 / 4.7.x when a sender
/// goes too fast, which then slows that domain down further by itself.
pub const DEFAULT_LIMITS: &[(&str, &str)] = &[
    // Poland: Wirtualna Polska (wp.pl, o2.pl, tlen.pl), Ringier Axel Springer (onet.pl,
    // op.pl, vp.pl), Interia, Gazeta.
    ("wp.pl", "5/s"),
    ("o2.pl", "5/s"),
    ("tlen.pl", "5/s"),
    ("onet.pl", "5/s"),
    ("op.pl", "5/s"),
    ("vp.pl", "5/s"),
    ("onet.eu", "5/s"),
    ("interia.pl", "5/s"),
    ("interia.eu", "5/s"),
    ("poczta.fm", "5/s"),
    ("gazeta.pl", "5/s"),
    // Czechia: Seznam (seznam.cz, email.cz, post.cz), Centrum (centrum.cz, atlas.cz, volny.cz).
    ("seznam.cz", "10/s"),
    ("email.cz", "10/s"),
    ("post.cz", "10/s"),
    ("centrum.cz", "5/s"),
    ("atlas.cz", "5/s"),
    ("volny.cz", "5/s"),
    // Slovakia.
    ("azet.sk", "5/s"),
    ("post.sk", "5/s"),
    ("centrum.sk", "5/s"),
    ("zoznam.sk", "5/s"),
    // Germany: United Internet (gmx, web.de), Telekom, freenet.
    ("gmx.de", "10/s"),
    ("gmx.net", "10/s"),
    ("gmx.at", "10/s"),
    ("web.de", "10/s"),
    ("t-online.de", "5/s"),
    ("freenet.de", "5/s"),
    // Global.
    ("gmail.com", "20/s"),
    ("googlemail.com", "20/s"),
    ("outlook.com", "10/s"),
    ("hotmail.com", "10/s"),
    ("live.com", "10/s"),
    ("yahoo.com", "10/s"),
    ("icloud.com", "10/s"),
];

/// An unlisted domain's limit on its first deferral, before the halving: half of it is
/// where it starts.
pub const UNLISTED_START: f64 = 50.0;
/// No domain is slowed below one message a minute.
const FLOOR: f64 = 1.0 / 60.0;
/// Deferrals closer together than this are one event: the messages in flight on every
/// connection meet the same answer, and that is one signal, not several.
const COOL_DOWN_US: i64 = 2_000_000;
/// How often a slowed domain gets a step of its rate back, and how big the step is.
const RECOVER_EVERY_US: i64 = 60_000_000;
const RECOVER_STEP: f64 = 0.1;
const S: i64 = 1_000_000;
/// A turn at most this far ahead waits in memory; a later one, in the database.
pub const HOLD: Duration = Duration::from_secs(2);

/// The limits in force: the defaults, then the configuration's (which win).
pub fn limits(configured: &BTreeMap<String, Rate>) -> HashMap<String, f64> {
    let mut all: HashMap<String, f64> = DEFAULT_LIMITS
        .iter()
        .filter_map(|(d, r)| Some((d.to_string(), Rate::parse(r).ok()?.per_second())))
        .collect();
    for (domain, rate) in configured {
        all.insert(domain.trim().to_ascii_lowercase(), rate.per_second());
    }
    all
}

/// A domain's rate as its answers have shaped it: a pure rule, times in µs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    /// Messages a second the domain may take when all is well.
    pub limit: f64,
    /// Messages a second it takes now.
    pub rate: f64,
    /// When `rate` last changed.
    pub changed_at: i64,
    /// When it was last halved.
    pub cut_at: Option<i64>,
}

impl Throttle {
    pub fn new(limit: f64, now: i64) -> Self {
        Self {
            limit,
            rate: limit,
            changed_at: now,
            cut_at: None,
        }
    }

    /// The domain answered 421 or 4.7.x: half the rate, unless it was just halved.
    pub fn deferred(self, now: i64) -> Self {
        if self.cut_at.is_some_and(|at| now - at < COOL_DOWN_US) {
            return self;
        }
        Self {
            rate: (self.rate / 2.0).max(FLOOR),
            changed_at: now,
            cut_at: Some(now),
            ..self
        }
    }

    /// Time passed without a deferral: a tenth of the limit back per minute.
    pub fn recovered(self, now: i64) -> Self {
        if self.rate >= self.limit || now - self.changed_at < RECOVER_EVERY_US {
            return self;
        }
        let steps = ((now - self.changed_at) / RECOVER_EVERY_US) as f64;
        Self {
            rate: (self.rate + steps * RECOVER_STEP * self.limit).min(self.limit),
            changed_at: now,
            ..self
        }
    }

    fn period_us(&self) -> i64 {
        (1e6 / self.rate.max(FLOOR)).round().max(1.0) as i64
    }
}

/// What to do with a message for a domain now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Go,
    /// Its turn is at this instant (µs since the epoch), soon: wait in memory.
    Hold(i64),
    /// Its turn is at this instant, later: back to the database until then.
    Postpone(i64),
}

struct Domain {
    throttle: Throttle,
    limiter: DefaultDirectRateLimiter,
    /// The last turn given to a waiting message (GCRA's theoretical arrival time).
    queue_until: i64,
}

fn limiter(rate: f64) -> DefaultDirectRateLimiter {
    let period = Duration::from_secs_f64(1.0 / rate.max(FLOOR));
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN);
    DefaultDirectRateLimiter::direct(quota)
}

impl Domain {
    fn new(throttle: Throttle) -> Self {
        Self {
            limiter: limiter(throttle.rate),
            throttle,
            queue_until: 0,
        }
    }

    fn set(&mut self, throttle: Throttle) {
        if throttle.rate != self.throttle.rate {
            self.limiter = limiter(throttle.rate);
        }
        self.throttle = throttle;
    }

    /// The next turn in the queue: one period after the last, and not before `now`.
    fn turn(&mut self, now: i64) -> i64 {
        let turn = self.queue_until.max(now) + self.throttle.period_us();
        self.queue_until = turn;
        turn
    }
}

/// Every domain's pacing in this sender.
pub struct Domains {
    limits: HashMap<String, f64>,
    paced: HashMap<String, Domain>,
    /// Messages given a turn, by delivery: they go when they come back for it.
    turns: HashMap<i64, i64>,
}

impl Domains {
    pub fn new(limits: HashMap<String, f64>) -> Self {
        Self {
            limits,
            paced: HashMap::new(),
            turns: HashMap::new(),
        }
    }

    fn domain(&mut self, name: &str, now: i64) -> Option<&mut Domain> {
        if !self.paced.contains_key(name) {
            let limit = *self.limits.get(name)?;
            self.paced
                .insert(name.to_string(), Domain::new(Throttle::new(limit, now)));
        }
        self.paced.get_mut(name)
    }

    /// May a message for `domain` go now (µs since the epoch)?
    pub fn admit(&mut self, domain: &str, delivery_id: i64, now: i64) -> Admit {
        let returning = self.turns.remove(&delivery_id);
        let Some(d) = self.domain(domain, now) else {
            return Admit::Go;
        };
        let throttle = d.throttle.recovered(now);
        d.set(throttle);
        if let Some(turn) = returning {
            // Back for the turn it was given: it goes then, ahead of newcomers.
            if turn > now + 1_000 {
                self.turns.insert(delivery_id, turn);
                return Admit::Hold(turn);
            }
            return Admit::Go;
        }
        // Others wait for turns already: this one queues behind them.
        if d.queue_until <= now && d.limiter.check().is_ok() {
            return Admit::Go;
        }
        let turn = d.turn(now);
        self.wait_for(turn, delivery_id, now)
    }

    /// The message waits for `turn`: in memory if it is soon, else in the database.
    fn wait_for(&mut self, turn: i64, delivery_id: i64, now: i64) -> Admit {
        self.turns.insert(delivery_id, turn);
        if turn - now <= HOLD.as_micros() as i64 {
            Admit::Hold(turn)
        } else {
            Admit::Postpone(turn)
        }
    }

    /// `domain` answered 421 or 4.7.x: it slows down; the message (`delivery_id`) gets
    /// the domain's next turn.
    /// `campaign_rate` is where an unlisted domain starts (at most [`UNLISTED_START`]).
    pub fn deferred(
        &mut self,
        domain: &str,
        delivery_id: i64,
        now: i64,
        campaign_rate: f64,
    ) -> Admit {
        if !self.paced.contains_key(domain) && !self.limits.contains_key(domain) {
            let start = Throttle::new(campaign_rate.min(UNLISTED_START), now);
            self.paced.insert(domain.to_string(), Domain::new(start));
        }
        let Some(d) = self.domain(domain, now) else {
            return Admit::Go;
        };
        let throttle = d.throttle.recovered(now).deferred(now);
        d.set(throttle);
        // The limiter's own idea of the next free moment is of the old rate.
        let _ = d.limiter.check();
        let turn = d.turn(now);
        self.wait_for(turn, delivery_id, now)
    }

    /// A domain's current rate, if it is paced.
    pub fn rate(&self, domain: &str) -> Option<f64> {
        self.paced.get(domain).map(|d| d.throttle.rate)
    }

    /// Messages given a turn that has not long passed: a sender that waits for its
    /// queue to empty waits for these too. A turn ten seconds past is forgotten (its
    /// message was paused or taken by another sender).
    pub fn waiting(&self, now: i64) -> bool {
        self.turns.values().any(|&turn| turn > now - 10 * S)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_down_and_recovery() {
        // (what, events as (µs, deferred? else time passing), the rate after each)
        type Case = (&'static str, Vec<(i64, bool)>, Vec<f64>);
        let cases: [Case; 5] = [
            ("a deferral halves the rate", vec![(0, true)], vec![5.0]),
            (
                "deferrals of one burst count once",
                vec![(0, true), (S / 2, true), (S, true)],
                vec![5.0, 5.0, 5.0],
            ),
            (
                "deferrals seconds apart halve again",
                vec![(0, true), (3 * S, true), (6 * S, true)],
                vec![5.0, 2.5, 1.25],
            ),
            (
                "recovery: a tenth of the limit a minute, not more than the limit",
                vec![
                    (0, true),
                    (30 * S, false),
                    (60 * S, false),
                    (120 * S, false),
                    (1_000 * S, false),
                ],
                vec![5.0, 5.0, 6.0, 7.0, 10.0],
            ),
            (
                "never below one a minute",
                (0..20).map(|i| (i * 3 * S, true)).collect(),
                [
                    5.0, 2.5, 1.25, 0.625, 0.3125, 0.15625, 0.078125, 0.0390625, 0.01953125,
                ]
                .into_iter()
                .chain(std::iter::repeat_n(FLOOR, 11))
                .collect(),
            ),
        ];
        for (what, events, want) in cases {
            let mut t = Throttle::new(10.0, 0);
            let got: Vec<f64> = events
                .iter()
                .map(|&(now, deferred)| {
                    t = if deferred {
                        t.recovered(now).deferred(now)
                    } else {
                        t.recovered(now)
                    };
                    t.rate
                })
                .collect();
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-9, "{what}: {got:?} vs {want:?}");
            }
            assert_eq!(got.len(), want.len(), "{what}");
        }
    }

    #[test]
    fn limits_merge_defaults_and_configuration() {
        let mut configured = BTreeMap::new();
        configured.insert("WP.pl".to_string(), Rate::parse("2/s").unwrap());
        configured.insert("shop.example".to_string(), Rate::parse("60/min").unwrap());
        let l = limits(&configured);
        assert_eq!(l["wp.pl"], 2.0);
        assert_eq!(l["shop.example"], 1.0);
        assert_eq!(l["gmail.com"], 20.0);
        for (domain, rate) in DEFAULT_LIMITS {
            assert!(Rate::parse(rate).is_ok(), "{domain}: {rate}");
        }
    }

    #[test]
    fn a_paced_domain_queues_what_it_cannot_take_now() {
        let mut limits = HashMap::new();
        limits.insert("wp.pl".to_string(), 1.0);
        let mut d = Domains::new(limits);
        let now = 1_000 * S;
        // Unlisted domains are not paced until they defer.
        assert_eq!(d.admit("example.com", 1, now), Admit::Go);
        assert_eq!(d.admit("wp.pl", 2, now), Admit::Go);
        // One a second: the next waits a second, in memory; those after, in the database.
        assert_eq!(d.admit("wp.pl", 3, now), Admit::Hold(now + S));
        assert_eq!(d.admit("wp.pl", 4, now), Admit::Hold(now + 2 * S));
        assert_eq!(d.admit("wp.pl", 5, now), Admit::Postpone(now + 3 * S));
        // A message back for its turn goes then, not before; newcomers queue behind.
        assert_eq!(d.admit("wp.pl", 3, now + S / 2), Admit::Hold(now + S));
        assert_eq!(d.admit("wp.pl", 3, now + S), Admit::Go);
        assert_eq!(d.admit("wp.pl", 6, now + S), Admit::Postpone(now + 4 * S));
        // A deferral from an unlisted domain paces it from then on, at half the start.
        assert_eq!(d.rate("example.com"), None);
        assert!(matches!(
            d.deferred("example.com", 7, now, 100.0),
            Admit::Hold(_)
        ));
        assert!(d.waiting(now));
        assert_eq!(d.rate("example.com"), Some(25.0));
        assert_eq!(d.admit("example.com", 7, now + S), Admit::Go);
    }
}
