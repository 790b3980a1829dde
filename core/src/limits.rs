//! Per-connection and per-room limits, with the errors that name them.

use serde::{Deserialize, Serialize};

/// The limits a room enforces. The edge reads overrides from its environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Largest frame a connection may send, in bytes.
    pub max_frame_bytes: usize,
    /// Messages per second a connection may send on average.
    pub messages_per_sec: u32,
    /// Messages a connection may send in one burst above the average.
    pub burst: u32,
    /// Open connections per room.
    pub max_connections: usize,
    /// Largest REST request body, in bytes.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: crate::protocol::MAX_FRAME_BYTES,
            messages_per_sec: 1_000,
            burst: 2_000,
            max_connections: 1_000,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// A token bucket: `burst` messages at once, refilled at `per_sec`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimiter {
    tokens: f64,
    last_ms: u64,
}

impl RateLimiter {
    /// A full bucket at `now_ms`.
    pub fn new(limits: &Limits, now_ms: u64) -> Self {
        RateLimiter {
            tokens: f64::from(limits.burst),
            last_ms: now_ms,
        }
    }

    /// Take one message at `now_ms`; `false` when over the limit.
    pub fn allow(&mut self, limits: &Limits, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.last_ms) as f64 / 1000.0;
        self.last_ms = self.last_ms.max(now_ms);
        self.tokens = (self.tokens + elapsed * f64::from(limits.messages_per_sec))
            .min(f64::from(limits.burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_pass_and_sustained_floods_do_not() {
        let limits = Limits {
            messages_per_sec: 10,
            burst: 5,
            ..Limits::default()
        };
        let mut r = RateLimiter::new(&limits, 0);
        assert!((0..5).all(|_| r.allow(&limits, 0)));
        assert!(!r.allow(&limits, 0));
        // 100 ms refills one message.
        assert!(r.allow(&limits, 100));
        assert!(!r.allow(&limits, 100));
        // A second later the bucket is full again, never fuller.
        assert_eq!((0..20).filter(|_| r.allow(&limits, 5_000)).count(), 5);
    }
}
