//! Reconnect policy and the connection state a client reports.

use crate::names::named_enum;

named_enum! {
    /// Where a client's connection to its room stands.
    pub enum ConnectionState {
        /// Not connected and not trying (before `connect()` or after `disconnect()`).
        Offline = "offline",
        /// Opening a socket.
        Connecting = "connecting",
        /// Socket open; exchanging state with the room.
        Syncing = "syncing",
        /// Socket open and the room's state has been merged: edits flow live.
        Synced = "synced",
        /// The socket dropped; waiting to retry.
        Reconnecting = "reconnecting",
    }
}

/// Exponential backoff with jitter, capped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// First delay in milliseconds.
    pub base_ms: u32,
    /// Largest delay in milliseconds.
    pub max_ms: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_ms: 250,
            max_ms: 10_000,
        }
    }
}

impl Backoff {
    /// Delay before retry number `attempt` (0-based). `jitter` in `[0, 1)` spreads
    /// clients that lost the same server so they do not all return at once: the delay
    /// is drawn from the upper half of the exponential step.
    pub fn delay_ms(&self, attempt: u32, jitter: f64) -> u32 {
        let step = u64::from(self.base_ms)
            .saturating_mul(1u64 << attempt.min(20))
            .min(u64::from(self.max_ms));
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let half = step / 2;
        (half + (half as f64 * jitter) as u64) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let b = Backoff::default();
        assert_eq!(b.delay_ms(0, 0.0), 125);
        assert_eq!(b.delay_ms(1, 0.0), 250);
        assert_eq!(b.delay_ms(3, 0.999), 1999);
        assert_eq!(b.delay_ms(30, 0.0), 5_000);
        assert!(b.delay_ms(30, 1.0) <= 10_000);
        assert_eq!(b.delay_ms(2, f64::NAN), 500);
    }
}
