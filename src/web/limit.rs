//! Limits per client address on the link routes (`[web] rate_per_ip`, `burst`): a loop
//! of requests from one address gets 429 with `Retry-After` and changes nothing.

use super::AppState;
use crate::config::WebConfig;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

pub struct Limiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl Limiter {
    pub fn new(web: &WebConfig) -> Self {
        let period = Duration::from_secs_f64(1.0 / web.rate_per_ip.per_second());
        let burst = NonZeroU32::new(web.burst).unwrap_or(NonZeroU32::MIN);
        // A rate is at least one a year (a `u32` count per hour), so a period exists.
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when `ip` is over its limit.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets addresses whose limit has fully recovered, so the table stays small.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }
}

pub async fn per_client(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let ip = s.client_ip(req.headers(), req.extensions());
    match s.limiter.check(ip) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut res = (StatusCode::TOO_MANY_REQUESTS, "too many requests\n").into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate_per_address() {
        let web = WebConfig {
            rate_per_ip: crate::campaign::definition::Rate::parse("1/min").unwrap(),
            burst: 3,
            ..WebConfig::default()
        };
        let l = Limiter::new(&web);
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let b: IpAddr = "203.0.113.8".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(l.check(a), Ok(()));
        }
        let wait = l.check(a).unwrap_err();
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert_eq!(l.check(b), Ok(()), "another address has its own limit");
    }
}
