//! The throttle: one schedule per campaign, kept in the database, so that the rate holds
//! however many senders work on the campaign (a limiter in each process would multiply
//! the rate by the number of processes).
//!
//! The schedule is GCRA (the algorithm behind `governor`): the campaign row holds the
//! theoretical arrival time (TAT) of its next message. A sender reserves a few slots at
//! a time with one `UPDATE`, and sends each message at its slot's instant. Slots are
//! absolute times, so a late wake-up does not slow the rate down.
//!
//! The burst is spent as lateness, not as an opening rush: a message may leave up to
//! `burst − 1` periods after its slot (so a short stall is caught up), never before it.
//! Any one-second window of *send* times then holds at most the slots of one second
//! plus that lateness: rate + burst − 1, leaving one message for the timer's jitter. A
//! message later than that gives up its slot and takes the next.

use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// The schedule's parameters, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// One message per `period`.
    pub period: i64,
    /// How late after its slot a message may still go: `burst − 1` periods, and at
    /// least one.
    pub lateness: i64,
}

impl Quota {
    /// `rate` per second with `burst` on top: no second carries more than rate + burst.
    pub fn new(per_second: f64, burst: u32) -> Self {
        let period = (1e6 / per_second.max(1e-6)).round().max(1.0) as i64;
        Self {
            period,
            lateness: period.saturating_mul(i64::from(burst.max(2) - 1)),
        }
    }

    /// Can a message whose slot is `slot` still go at `now`?
    pub fn in_time(&self, slot: i64, now: i64) -> bool {
        now - slot <= self.lateness
    }

    /// How many slots to take at once: about 20 ms of the rate, so senders sharing the
    /// campaign interleave finely and a sender that stops wastes little.
    pub fn block(&self) -> i64 {
        (20_000 / self.period).clamp(1, 64)
    }
}

/// The instants of `k` slots reserved at `now`, given the TAT the database holds *after*
/// the reservation (`max(tat, now) + k·period`): one period apart, the first at the
/// reservation's first TAT.
pub fn slots(tat_after: i64, k: i64, quota: Quota, now: i64) -> Vec<i64> {
    let base = (tat_after - k * quota.period).max(now);
    (0..k).map(|j| base + j * quota.period).collect()
}

/// The new TAT after reserving `k` slots at `now`: the database computes the same.
pub fn tat_after(tat: Option<i64>, k: i64, quota: Quota, now: i64) -> i64 {
    tat.unwrap_or(now).max(now) + k * quota.period
}

pub fn unix_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Above this rate (period under 20 µs) no machine's SMTP keeps up, so the campaign
/// is not paced at all: it is what "unthrottled" is spelled as.
const UNLIMITED_PERIOD: i64 = 20;

/// A boxed `reserve(now, k)`: reserves `k` slots, returns the schedule's time after them.
type Reserve =
    Box<dyn FnMut(i64, i64) -> std::pin::Pin<Box<dyn Future<Output = Option<i64>> + Send>> + Send>;

/// One campaign's slots for this sender. A task reserves the next block while the
/// current one is being used, so the database's latency never delays a message.
pub struct Pace {
    quota: Quota,
    /// Until the first slot is wanted: slots reserved before a sender is ready to use
    /// them would all be late, and go out in one burst.
    reserve: Option<Reserve>,
    slots: Option<mpsc::Receiver<i64>>,
    feed: Option<tokio::task::JoinHandle<()>>,
}

impl Pace {
    /// `reserve(now, k)` reserves `k` slots and returns the schedule's time after them,
    /// or `None` once it cannot.
    pub fn new<F, Fut>(quota: Quota, mut reserve: F) -> Self
    where
        F: FnMut(i64, i64) -> Fut + Send + 'static,
        Fut: Future<Output = Option<i64>> + Send + 'static,
    {
        Self {
            quota,
            reserve: Some(Box::new(move |now, k| Box::pin(reserve(now, k)))),
            slots: None,
            feed: None,
        }
    }

    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// The next slot, in µs since the epoch (now, for an unthrottled campaign); `None`
    /// if slots can no longer be had. Whether it is still in time when the message is
    /// ready is [`Quota::in_time`]'s to say.
    pub async fn next_slot(&mut self) -> Option<i64> {
        if self.quota.period < UNLIMITED_PERIOD {
            return Some(unix_micros());
        }
        if let Some(reserve) = self.reserve.take() {
            let (rx, feed) = feed(self.quota, reserve);
            self.slots = Some(rx);
            self.feed = Some(feed);
        }
        self.slots.as_mut()?.recv().await
    }
}

/// Keeps two blocks of slots ahead: the next is reserved well before it is needed.
fn feed(quota: Quota, mut reserve: Reserve) -> (mpsc::Receiver<i64>, tokio::task::JoinHandle<()>) {
    let k = quota.block();
    let (tx, rx) = mpsc::channel(2 * k as usize);
    let task = tokio::spawn(async move {
        loop {
            let now = unix_micros();
            let Some(tat) = reserve(now, k).await else {
                return;
            };
            for slot in slots(tat, k, quota, now) {
                if tx.send(slot).await.is_err() {
                    return;
                }
            }
        }
    });
    (rx, task)
}

impl Drop for Pace {
    fn drop(&mut self) {
        if let Some(feed) = &self.feed {
            feed.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reserves `k` slots at `now` against `tat`, as the store does.
    fn reserve(tat: &mut Option<i64>, k: i64, quota: Quota, now: i64) -> Vec<i64> {
        let after = tat_after(*tat, k, quota, now);
        *tat = Some(after);
        slots(after, k, quota, now)
    }

    #[test]
    fn quota_from_rate_and_burst() {
        let cases = [
            // per second, burst, period µs, lateness µs, block
            (10.0, 5, 100_000, 400_000, 1),
            (100.0, 5, 10_000, 40_000, 2),
            (1_000.0, 5, 1_000, 4_000, 20),
            (1_000.0, 1, 1_000, 1_000, 20),
            (1_000_000.0, 5, 1, 4, 64),
            (1.0 / 60.0, 1, 60_000_000, 60_000_000, 1),
        ];
        for (rate, burst, period, lateness, block) in cases {
            let q = Quota::new(rate, burst);
            assert_eq!((q.period, q.lateness, q.block()), (period, lateness, block));
        }
        let q = Quota::new(1_000.0, 5);
        assert!(q.in_time(10_000, 10_000));
        assert!(q.in_time(10_000, 14_000));
        assert!(!q.in_time(10_000, 14_001));
    }

    #[test]
    fn schedules() {
        let q = Quota::new(10.0, 3); // one per 100 ms
        let ms = 1_000;
        // (what, reservations as (k, now), the slots each got)
        type Case = (&'static str, Vec<(i64, i64)>, Vec<Vec<i64>>);
        let cases: [Case; 4] = [
            (
                "a fresh campaign starts at once, then one per period",
                vec![(5, 0)],
                vec![vec![0, 100 * ms, 200 * ms, 300 * ms, 400 * ms]],
            ),
            (
                "reservations one after another continue the schedule",
                vec![(2, 0), (2, 0), (2, 0)],
                vec![
                    vec![0, 100 * ms],
                    vec![200 * ms, 300 * ms],
                    vec![400 * ms, 500 * ms],
                ],
            ),
            (
                "after a pause the schedule starts again from now: idle time is not owed",
                vec![(1, 0), (4, 10_000 * ms)],
                vec![
                    vec![0],
                    vec![10_000 * ms, 10_100 * ms, 10_200 * ms, 10_300 * ms],
                ],
            ),
            (
                "two senders sharing a campaign get interleaved slots",
                vec![(3, 0), (3, 50 * ms), (3, 60 * ms)],
                vec![
                    vec![0, 100 * ms, 200 * ms],
                    vec![300 * ms, 400 * ms, 500 * ms],
                    vec![600 * ms, 700 * ms, 800 * ms],
                ],
            ),
        ];
        for (what, reservations, want) in cases {
            let mut tat = None;
            let got: Vec<Vec<i64>> = reservations
                .iter()
                .map(|&(k, now)| reserve(&mut tat, k, q, now))
                .collect();
            assert_eq!(got, want, "{what}");
        }
    }

    /// Messages leave late by any amount the burst allows (and those later give up
    /// their slot): still no one-second window of send times holds more than
    /// rate + burst − 1.
    #[test]
    fn no_window_of_send_times_above_rate_plus_burst() {
        for (rate, burst) in [(10.0, 5), (100.0, 5), (1_000.0, 5), (1_000.0, 1)] {
            let q = Quota::new(rate, burst);
            let mut tat = None;
            let mut sent = Vec::new();
            let mut given_up = 0;
            let mut now = 0;
            let mut noise: u64 = 7;
            for _ in 0..(rate as i64 * 20 / q.block()) {
                for slot in reserve(&mut tat, q.block(), q, now) {
                    // Up to 1.5× the allowed lateness, spread over the slots.
                    noise = noise
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    let late = (noise >> 33) as i64 % (q.lateness * 3 / 2 + 1);
                    if q.in_time(slot, slot + late) {
                        sent.push(slot + late);
                    } else {
                        given_up += 1;
                    }
                    now = slot;
                }
            }
            sent.sort();
            let mut j = 0;
            let mut busiest = 0;
            for i in 0..sent.len() {
                while sent[i] - sent[j] >= 1_000_000 {
                    j += 1;
                }
                busiest = busiest.max(i - j + 1);
            }
            let limit = rate as usize + burst.max(2) as usize - 1;
            assert!(
                busiest <= limit,
                "{rate}/s burst {burst}: {busiest} in one second"
            );
            assert!(
                given_up > 0,
                "the lateness drawn should pass the limit sometimes"
            );
        }
    }
}
