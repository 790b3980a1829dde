//! Injected time. Core never reads the system clock: callers pass `now_ms` and core
//! forwards it to the parts of `yrs` that want a [`yrs::sync::Clock`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A clock whose time is set by the caller before each call into core.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock that reads `now_ms` until told otherwise.
    pub fn new(now_ms: u64) -> Self {
        ManualClock(Arc::new(AtomicU64::new(now_ms)))
    }

    /// Move the clock to `now_ms`. Time never runs backwards: an earlier value is ignored.
    pub fn set(&self, now_ms: u64) {
        self.0.fetch_max(now_ms, Ordering::Relaxed);
    }

    /// The current time in milliseconds.
    pub fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl yrs::sync::Clock for ManualClock {
    fn now(&self) -> yrs::sync::Timestamp {
        ManualClock::now(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_never_runs_backwards() {
        let clock = ManualClock::new(100);
        clock.set(50);
        assert_eq!(clock.now(), 100);
        clock.set(150);
        assert_eq!(clock.now(), 150);
    }
}
