//! Per-connection and per-room limits, with the errors that name them.

use serde::{Deserialize, Serialize};

/// The limits a room enforces. The edge reads overrides from its environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
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
    /// Largest stored document a room holds, in bytes of its encoded updates: checked
    /// before an update is applied, so the room always loads again within the memory a
    /// Durable Object has.
    pub max_room_bytes: u64,
    /// Share of `max_room_bytes` (in percent) from which the room warns its owners.
    pub warn_room_percent: u8,
    /// Bytes of updates one participant may write per second on average, across all
    /// their connections (bursts up to `max_room_bytes`).
    pub user_bytes_per_sec: u64,
    /// Messages one frame may hold.
    pub max_messages_per_frame: usize,
    /// Largest presence state (JSON bytes) one client may publish.
    pub max_presence_bytes: usize,
    /// Presence client ids one connection may publish states for.
    pub max_presence_ids: usize,
    /// Connections one participant may hold open in a room.
    pub max_connections_per_user: usize,
    /// Connections kept for owners and editors: viewers and reviewers may not take them.
    pub writer_reserve: usize,
    /// Messages per second one participant may send across all their connections (with
    /// bursts of twice that).
    pub user_messages_per_sec: u32,
    /// Messages per second all viewers and reviewers of a room may send together (with
    /// bursts of twice that), so a read-only crowd cannot starve the people editing.
    pub read_only_messages_per_sec: u32,
    /// Bytes per second of answers (sync answers, presence answers) one connection may
    /// ask the room for on average; bursts up to twice `max_room_bytes`. A connection
    /// that asks for more is closed.
    pub answer_bytes_per_sec: u64,
    /// Largest file an upload may carry, in bytes.
    pub max_file_bytes: u64,
    /// Bytes of file content a room may keep (every version of every file, deleted
    /// ones included: their bytes stay for history).
    pub max_files_bytes: u64,
    /// Entries (files and folders, deleted ones included) a room's tree may hold.
    pub max_files: usize,
    /// Largest text file that opens as a shared document; a bigger one is kept as
    /// bytes only.
    pub max_text_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: crate::protocol::MAX_FRAME_BYTES,
            messages_per_sec: 1_000,
            burst: 2_000,
            max_connections: 1_000,
            max_body_bytes: 1024 * 1024,
            // yrs holds a densely edited document in about 8 bytes of memory per stored
            // byte (the benchmark's traces: 3 MB for B4's 400 KB): 8 MiB stays well
            // inside a Durable Object's 128 MB. Rooms of large pastes may raise it.
            max_room_bytes: 8 * 1024 * 1024,
            warn_room_percent: 80,
            user_bytes_per_sec: 1024 * 1024,
            max_messages_per_frame: 64,
            max_presence_bytes: 16 * 1024,
            max_presence_ids: 8,
            max_connections_per_user: 50,
            writer_reserve: 50,
            user_messages_per_sec: 2_000,
            read_only_messages_per_sec: 2_000,
            answer_bytes_per_sec: 8 * 1024 * 1024,
            // A Durable Object holds an upload in memory while it is hashed and stored.
            max_file_bytes: 25 * 1024 * 1024,
            max_files_bytes: 1024 * 1024 * 1024,
            max_files: 10_000,
            max_text_file_bytes: 512 * 1024,
        }
    }
}

/// A token bucket: `burst` messages at once, refilled at `per_sec`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimiter {
    tokens: f64,
    last_ms: u64,
}

/// A token bucket of units (messages or bytes) that refills continuously.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    level: f64,
    last_ms: u64,
}

impl Bucket {
    /// A full bucket of `capacity` at `now_ms`.
    pub fn full(capacity: u64, now_ms: u64) -> Self {
        Bucket {
            level: capacity as f64,
            last_ms: now_ms,
        }
    }

    /// Take `units` at `now_ms` from a bucket of `capacity` refilled at `per_sec`;
    /// `false` (and nothing taken) when there are not enough.
    pub fn take(&mut self, units: u64, capacity: u64, per_sec: u64, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.last_ms) as f64 / 1000.0;
        self.last_ms = self.last_ms.max(now_ms);
        self.level = (self.level + elapsed * per_sec as f64).min(capacity as f64);
        if self.level >= units as f64 {
            self.level -= units as f64;
            true
        } else {
            false
        }
    }
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

    #[test]
    fn byte_buckets_refuse_what_does_not_fit_and_refill() {
        let mut b = Bucket::full(1_000, 0);
        assert!(b.take(600, 1_000, 100, 0));
        assert!(!b.take(600, 1_000, 100, 0), "400 left");
        assert!(b.take(400, 1_000, 100, 0));
        // Two seconds refill 200.
        assert!(!b.take(201, 1_000, 100, 2_000));
        assert!(b.take(200, 1_000, 100, 2_000));
    }
}
