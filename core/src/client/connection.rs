//! A client's connection to its room: the state it reports, and the state machine that
//! decides when to open a socket, when to retry and when to stay offline. The transport
//! (wasm's WebSocket glue) feeds it what happens and does what it says; it owns no
//! timer and no socket.

use crate::names::named_enum;
use crate::protocol::close::{AfterClose, CloseCode};

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

named_enum! {
    /// Whether the room has stored this client's edits: what a "saving…" indicator
    /// shows, from the connection state and the count of edits not yet acknowledged.
    pub enum SaveState {
        /// The room has stored every local edit.
        Saved = "saved",
        /// Edits are on their way: sent, or about to be, over a live connection.
        Saving = "saving",
        /// Edits wait on this device until the room is reachable again.
        Unsaved = "unsaved",
    }
}

/// How a client tells a quiet connection from a dead one (a socket the network
/// dropped without closing: no close event may come for minutes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heartbeat {
    /// After this long without a frame from the room, ask it for one (the session's
    /// [`ping`](crate::client::Session::ping)).
    pub ping_after_ms: u32,
    /// After this long without a frame from the room, the connection is dead: it is
    /// closed and a new one opened (y-websocket waits 30 s too).
    pub dead_after_ms: u32,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            ping_after_ms: 10_000,
            dead_after_ms: 30_000,
        }
    }
}

impl Heartbeat {
    /// A heartbeat that gives up after `dead_after_ms`, asking after a third of it.
    pub fn dead_after(dead_after_ms: u32) -> Self {
        let dead_after_ms = dead_after_ms.max(MIN_DEAD_AFTER_MS);
        Heartbeat {
            ping_after_ms: dead_after_ms / 3,
            dead_after_ms,
        }
    }

    /// How often the transport should call [`Reconnect::check`]: often enough to ping
    /// on time, and never busier than four times a second.
    pub fn check_every_ms(&self) -> u32 {
        (self.ping_after_ms / 2).clamp(250, 2_500)
    }
}

/// The shortest `dead_after_ms` a heartbeat accepts: a round trip must fit well inside.
pub const MIN_DEAD_AFTER_MS: u32 = 1_000;

/// What [`Reconnect::check`] found about an open connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Heard from recently enough, or not open.
    Alive,
    /// Quiet for a while: send the session's ping.
    Ping,
    /// Silent too long: close the socket and reconnect ([`Reconnect::closed`]).
    Dead,
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

/// What the transport does after a socket closed or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Open a new socket after this many milliseconds.
    RetryIn(u32),
    /// Stay offline: the app disconnected, or the room refused what a retry would
    /// send again (see [`CloseCode::after_close`]).
    Stay,
}

/// The connection state machine. Every transition returns the new state when it
/// changed, for the transport to report.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconnect {
    state: ConnectionState,
    wanted: bool,
    attempt: u32,
    backoff: Backoff,
    heartbeat: Heartbeat,
    /// When the open socket last brought a frame (or opened).
    heard_at: u64,
    /// When the last ping went out since then.
    pinged_at: Option<u64>,
}

impl Reconnect {
    /// Offline, not wanting to connect.
    pub fn new(backoff: Backoff, heartbeat: Heartbeat) -> Self {
        Reconnect {
            state: ConnectionState::Offline,
            wanted: false,
            attempt: 0,
            backoff,
            heartbeat,
            heard_at: 0,
            pinged_at: None,
        }
    }

    /// How this connection tells quiet from dead.
    pub fn heartbeat(&self) -> Heartbeat {
        self.heartbeat
    }

    /// Whether the room has stored this client's edits, given how many are not yet
    /// acknowledged.
    pub fn save_state(&self, unacknowledged: usize) -> SaveState {
        if unacknowledged == 0 {
            SaveState::Saved
        } else if self.can_send() {
            SaveState::Saving
        } else {
            SaveState::Unsaved
        }
    }

    /// The open socket brought a frame (or just opened) at `now_ms`.
    pub fn heard(&mut self, now_ms: u64) {
        self.heard_at = now_ms;
        self.pinged_at = None;
    }

    /// Whether the open connection is alive at `now_ms`: a ping is due after
    /// [`Heartbeat::ping_after_ms`] of silence (and again each time as long after), and
    /// after [`Heartbeat::dead_after_ms`] the connection is dead.
    pub fn check(&mut self, now_ms: u64) -> Liveness {
        if !self.can_send() {
            return Liveness::Alive;
        }
        let quiet = now_ms.saturating_sub(self.heard_at);
        if quiet >= u64::from(self.heartbeat.dead_after_ms) {
            return Liveness::Dead;
        }
        let since_ping = self.pinged_at.map_or(quiet, |at| now_ms.saturating_sub(at));
        if quiet >= u64::from(self.heartbeat.ping_after_ms)
            && since_ping >= u64::from(self.heartbeat.ping_after_ms)
        {
            self.pinged_at = Some(now_ms);
            return Liveness::Ping;
        }
        Liveness::Alive
    }

    /// Where the connection stands.
    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// The app asked to be connected (and has not disconnected since).
    pub fn wanted(&self) -> bool {
        self.wanted
    }

    /// Local edits may go out now: the socket is open and the room greeted it.
    pub fn can_send(&self) -> bool {
        matches!(
            self.state,
            ConnectionState::Syncing | ConnectionState::Synced
        )
    }

    fn set(&mut self, state: ConnectionState) -> Option<ConnectionState> {
        (self.state != state).then(|| {
            self.state = state;
            state
        })
    }

    /// The app asks to connect: true when a socket should be opened now (false when
    /// it already wanted to be connected).
    pub fn connect(&mut self) -> bool {
        if self.wanted {
            return false;
        }
        self.wanted = true;
        self.attempt = 0;
        true
    }

    /// A socket is being opened.
    pub fn opening(&mut self) -> Option<ConnectionState> {
        self.set(ConnectionState::Connecting)
    }

    /// The socket opened; the exchange with the room starts.
    pub fn opened(&mut self) -> Option<ConnectionState> {
        self.set(ConnectionState::Syncing)
    }

    /// The room's state has been merged: edits flow live, and retries start over.
    pub fn synced(&mut self) -> Option<ConnectionState> {
        self.attempt = 0;
        self.set(ConnectionState::Synced)
    }

    /// The app disconnected, or nothing can connect (no WebSocket in this runtime).
    pub fn disconnect(&mut self) -> Option<ConnectionState> {
        self.wanted = false;
        self.set(ConnectionState::Offline)
    }

    /// The socket closed with `code` (`None`: it failed, or never opened in time).
    /// `jitter` in `[0, 1)` spreads clients that lost the same server.
    pub fn closed(&mut self, code: Option<u16>, jitter: f64) -> (ConnectionState, Next) {
        if code.is_some_and(|c| CloseCode::after_close(c) != AfterClose::Retry) {
            // Retrying with the same token or the same edits would be refused again:
            // stay offline until the app acts (a fresh token, another role).
            self.wanted = false;
        }
        if !self.wanted {
            self.state = ConnectionState::Offline;
            return (self.state, Next::Stay);
        }
        let delay = self.backoff.delay_ms(self.attempt, jitter);
        self.attempt = self.attempt.saturating_add(1);
        self.state = ConnectionState::Reconnecting;
        (self.state, Next::RetryIn(delay))
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

    #[test]
    fn the_machine_retries_drops_and_stops_on_refusals() {
        let mut c = Reconnect::new(Backoff::default(), Heartbeat::default());
        assert!(c.connect());
        assert!(!c.connect(), "already wanted");
        assert_eq!(c.opening(), Some(ConnectionState::Connecting));
        assert_eq!(c.opened(), Some(ConnectionState::Syncing));
        assert!(c.can_send());
        assert_eq!(c.synced(), Some(ConnectionState::Synced));
        assert_eq!(c.synced(), None, "no change, nothing to report");
        let (state, next) = c.closed(Some(1006), 0.0);
        assert_eq!(
            (state, next),
            (ConnectionState::Reconnecting, Next::RetryIn(125))
        );
        let (_, next) = c.closed(None, 0.0);
        assert_eq!(next, Next::RetryIn(250), "the second retry waits longer");
        assert!(!c.can_send());
        c.opened();
        c.synced();
        assert_eq!(
            c.closed(Some(1006), 0.0).1,
            Next::RetryIn(125),
            "a sync starts over"
        );
        assert_eq!(
            c.closed(Some(4410), 0.0),
            (ConnectionState::Offline, Next::Stay)
        );
        assert!(!c.wanted(), "a removed member stays offline");
        assert!(c.connect(), "until the app connects again");
        c.opening();
        assert_eq!(
            c.closed(Some(4419), 0.0).1,
            Next::Stay,
            "an expired token waits"
        );
        c.connect();
        c.opening();
        assert_eq!(c.disconnect(), Some(ConnectionState::Offline));
        assert_eq!(
            c.closed(Some(1000), 0.0).1,
            Next::Stay,
            "a disconnect is final"
        );
    }

    #[test]
    fn a_silent_connection_is_pinged_then_given_up() {
        let mut c = Reconnect::new(Backoff::default(), Heartbeat::dead_after(3_000));
        assert_eq!(c.check(0), Liveness::Alive, "not open: nothing to check");
        c.connect();
        c.opening();
        c.opened();
        c.heard(1_000);
        assert_eq!(c.check(1_999), Liveness::Alive);
        assert_eq!(c.check(2_000), Liveness::Ping, "quiet for ping_after_ms");
        assert_eq!(c.check(2_500), Liveness::Alive, "one ping per interval");
        c.heard(2_010);
        assert_eq!(
            c.check(3_000),
            Liveness::Alive,
            "the answer counts as heard"
        );
        assert_eq!(c.check(3_010), Liveness::Ping);
        assert_eq!(c.check(4_010), Liveness::Ping, "asked again");
        assert_eq!(c.check(5_009), Liveness::Alive);
        assert_eq!(c.check(5_010), Liveness::Dead, "silent for dead_after_ms");
        let (state, next) = c.closed(None, 0.0);
        assert_eq!(state, ConnectionState::Reconnecting);
        assert!(matches!(next, Next::RetryIn(_)));
        assert_eq!(c.check(60_000), Liveness::Alive, "closed: nothing to check");
        assert_eq!(Heartbeat::dead_after(10).dead_after_ms, MIN_DEAD_AFTER_MS);
        assert_eq!(Heartbeat::default().check_every_ms(), 2_500);
        assert_eq!(Heartbeat::dead_after(1_000).check_every_ms(), 250);
    }

    #[test]
    fn saved_saving_and_unsaved_follow_the_connection() {
        let mut c = Reconnect::new(Backoff::default(), Heartbeat::default());
        assert_eq!(c.save_state(0), SaveState::Saved);
        assert_eq!(c.save_state(2), SaveState::Unsaved, "offline: kept here");
        c.connect();
        c.opening();
        assert_eq!(c.save_state(2), SaveState::Unsaved, "not open yet");
        c.opened();
        assert_eq!(c.save_state(2), SaveState::Saving);
        c.synced();
        assert_eq!(c.save_state(2), SaveState::Saving);
        assert_eq!(c.save_state(0), SaveState::Saved);
        c.closed(Some(1006), 0.5);
        assert_eq!(c.save_state(1), SaveState::Unsaved, "reconnecting");
    }
}
