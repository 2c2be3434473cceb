//! The engine's idea of now: the real clock, or `--now` moving forward from the
//! given instant as real time passes (so a throttle still throttles).

use crate::domain::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Instant,
    started: std::time::Instant,
    fixed: bool,
}

impl Clock {
    pub fn real() -> Self {
        Self {
            base: chrono::Utc::now(),
            started: std::time::Instant::now(),
            fixed: false,
        }
    }

    /// Starts at `base` and runs at the speed of real time.
    pub fn from(base: Instant) -> Self {
        Self {
            base,
            started: std::time::Instant::now(),
            fixed: true,
        }
    }

    pub fn now(&self) -> Instant {
        if self.fixed {
            self.base + chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default()
        } else {
            chrono::Utc::now()
        }
    }
}
