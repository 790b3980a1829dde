//! The client side of a room, sans-IO: what a browser tab or an agent drives.
//!
//! The transport (WebSocket in `confab-wasm`) calls [`Session::handshake`] when a socket
//! opens, [`Session::receive`] for every frame, [`Session::drain_outgoing`] after local
//! edits, [`Session::tick`] every few seconds and [`Session::disconnected`] when the
//! socket drops. Local edits apply at once; the session queues their updates.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use yrs::sync::Awareness;
use yrs::{Origin, ReadTxn, Transact};

use crate::clock::ManualClock;
use crate::conflict::{Conflict, ConflictWatch, NoticeKind};
use crate::doc::{Participant, RoomDoc};
use crate::error::{Error, Result};
use crate::model::context::ContextEntry;
use crate::model::presence::PresenceStatus;
use crate::protocol::{self, decode_frame, Hello, Incoming};

mod actions;
mod outbox;
mod presence;

/// Origin tag of transactions that apply remote updates; everything else is local.
const REMOTE: &str = "confab-remote";

/// Largest update a session sends in one frame; bigger ones go in parts.
pub const CHUNK_BYTES: usize = 1024 * 1024;

/// A presence state is renewed this often so peers know the client is alive.
pub const PRESENCE_RENEW_MS: u64 = 15_000;
/// A peer whose presence was not renewed for this long is considered gone.
pub const PRESENCE_TIMEOUT_MS: u64 = 30_000;
/// Buffered turn text is written once it reaches this many bytes (the transport also
/// flushes it every frame or so): agents emit hundreds of tokens a second, and each
/// transaction is one update on the wire.
pub const MAX_TURN_BATCH_BYTES: usize = 4 * 1024;

/// What [`Session::tick`] did.
#[derive(Debug, Default)]
pub struct Tick {
    /// Frames to send (presence renewed or changed).
    pub frames: Vec<Vec<u8>>,
    /// Peers dropped for not renewing their presence.
    pub presence_changed: bool,
    /// Open turns whose writer vanished were marked interrupted: the document changed,
    /// and the change is in the outbox.
    pub turns_interrupted: bool,
}

/// What a received frame did.
#[derive(Debug, Default)]
pub struct Received {
    /// Frames to send back to the room.
    pub replies: Vec<Vec<u8>>,
    /// The document changed.
    pub doc_changed: bool,
    /// Someone's presence changed.
    pub presence_changed: bool,
    /// This frame completed the initial sync.
    pub became_synced: bool,
    /// The room's greeting, if this frame carried it.
    pub hello: Option<Hello>,
    /// The room denied access, with its reason.
    pub denied: Option<String>,
    /// Answers to requests: (request id, `{"ok": …}` JSON).
    pub responses: Vec<(u64, serde_json::Value)>,
    /// Live-feed events.
    pub events: Vec<serde_json::Value>,
    /// The room stored every update up to this sequence number.
    pub acked: Option<u64>,
    /// Who this connection is in the room (user, role, readOnly), when it changed.
    pub session: Option<serde_json::Value>,
}

/// Someone present in the room.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Peer {
    /// Their awareness (yrs) client id.
    pub client_id: u64,
    /// Their presence state as JSON text.
    pub state: String,
    /// True for this session's own state.
    pub is_self: bool,
}

/// The client side of a room.
pub struct Session {
    doc: RoomDoc,
    awareness: Awareness,
    clock: ManualClock,
    me: Participant,
    /// Local updates not yet handed out in a frame.
    outbox: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Local updates that left the outbox without a sequence number (no room greeted
    /// this session, or a handshake set them aside for its sync answer): nothing will
    /// acknowledge them, so they stay unsaved until a numbered sync answer carries them.
    unsent: Pending,
    /// Last sequence number given to an outgoing update frame.
    last_seq: u64,
    /// Sequence numbers sent and not yet acknowledged as stored, with their bytes.
    unacked: std::collections::BTreeMap<u64, usize>,
    doc_version: Arc<AtomicU64>,
    /// While a local replica mirrors the room (the Yjs bridge): every change, local and
    /// remote, as updates not yet taken.
    mirror: Arc<Mutex<Option<Vec<Vec<u8>>>>>,
    /// An unverified editor (development mode): it records its client ids itself.
    names_own_clients: bool,
    presence: Option<serde_json::Map<String, serde_json::Value>>,
    presence_dirty: bool,
    presence_sent_at: u64,
    synced: bool,
    synced_at: u64,
    /// Between a handshake and our answer to the room's sync step 1: local updates
    /// wait, because that answer carries them (sent earlier, the room would get updates
    /// ahead of the offline edits they build on).
    awaiting_room_step1: bool,
    hello: Option<Hello>,
    turn_buffer: Vec<(String, String)>,
    turn_buffer_bytes: usize,
    /// When each awareness client was last seen present.
    last_seen: HashMap<u64, u64>,
    /// When this participant last gave input (typing, clicking, an edit).
    last_input: u64,
    status: PresenceStatus,
    /// A status set by hand (see [`Session::set_manual_status`]).
    manual_status: Option<PresenceStatus>,
    /// Presence set aside by [`Session::leave`] until the next handshake.
    parked_presence: Option<serde_json::Map<String, serde_json::Value>>,
    /// This person's private context: never written to the room.
    private_context: Vec<ContextEntry>,
    next_private: u64,
    /// The conflicts last computed, and at which doc version.
    conflicts: Option<(u64, Vec<Conflict>)>,
    /// Each conflict's status when this session last reported it.
    conflict_watch: ConflictWatch,
}

/// A count of updates and their size in bytes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Pending {
    updates: usize,
    bytes: usize,
}

impl Pending {
    fn add(&mut self, updates: &[Vec<u8>]) {
        self.updates += updates.len();
        self.bytes += updates.iter().map(Vec::len).sum::<usize>();
    }
}

/// A change in the room's conflicts, told to one participant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictNotice {
    /// What happened.
    pub kind: NoticeKind,
    /// True when this participant should act: they have a side in a new conflict, or
    /// they are an agent and someone asked an agent to resolve it.
    pub needs_input: bool,
    /// The conflict as it stands.
    pub conflict: Conflict,
}

impl Session {
    /// A session for `me` whose edits carry yrs client id `client_id` (unique per tab:
    /// pick it at random).
    pub fn new(client_id: u64, me: Participant, now_ms: u64) -> Self {
        let doc = RoomDoc::new(client_id);
        let outbox: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let doc_version: Arc<AtomicU64> = Arc::default();
        let mirror: Arc<Mutex<Option<Vec<Vec<u8>>>>> = Arc::default();
        let (sink, version, replica) = (outbox.clone(), doc_version.clone(), mirror.clone());
        let remote = Origin::from(REMOTE);
        doc.doc()
            .observe_update_v1("confab-session", move |txn, event| {
                version.fetch_add(1, Ordering::Relaxed);
                // Every change, a bridged one too: its transaction also carries this
                // session's bookkeeping (deletions, the causal record), which the
                // replica needs before anything written after it; what the replica
                // wrote itself it already has, and skips.
                let mut replica = replica
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(updates) = replica.as_mut() {
                    updates.push(event.update.clone());
                }
                drop(replica);
                if txn.origin() != Some(&remote) {
                    // A panic while holding the lock leaves the list whole: keep using it.
                    let mut sink = sink
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    sink.push(event.update.clone());
                }
            })
            .expect("no transaction is open on a doc that was just created");
        // Every change this session makes is attributed to `me`: the room records that
        // from the token's identity, or, for an anonymous editor (development mode),
        // the session does once the room says it may write (see `Session::receive`).
        let mut doc = doc;
        doc.set_local_participant(&me);
        let clock = ManualClock::new(now_ms);
        let awareness = Awareness::with_clock(doc.doc().clone(), clock.clone());
        let mut session = Session {
            doc,
            awareness,
            clock,
            me,
            outbox,
            unsent: Pending::default(),
            last_seq: 0,
            unacked: std::collections::BTreeMap::new(),
            doc_version,
            mirror,
            names_own_clients: false,
            presence: None,
            presence_dirty: false,
            presence_sent_at: 0,
            synced: false,
            synced_at: 0,
            awaiting_room_step1: false,
            hello: None,
            turn_buffer: Vec::new(),
            turn_buffer_bytes: 0,
            last_seen: HashMap::new(),
            last_input: now_ms,
            status: PresenceStatus::Active,
            manual_status: None,
            parked_presence: None,
            private_context: Vec::new(),
            next_private: 0,
            conflicts: None,
            conflict_watch: ConflictWatch::new(),
        };
        // Everyone is present from the start (with `user`), so peers can tell a live
        // writer from a vanished one even when the app never sets presence.
        let mut initial = serde_json::Map::new();
        initial.insert("status".to_owned(), PresenceStatus::Active.as_str().into());
        session.presence = Some(initial);
        session.publish_presence();
        session
    }

    /// Who this session acts as.
    pub fn me(&self) -> &Participant {
        &self.me
    }

    /// The yrs client id of this session's edits.
    pub fn client_id(&self) -> u64 {
        self.doc.doc().client_id().get()
    }

    /// The room document (read).
    pub fn doc(&self) -> &RoomDoc {
        &self.doc
    }

    /// The room document (edit). Edits apply at once; call [`Session::drain_outgoing`]
    /// afterwards to get the frames that carry them.
    pub fn doc_mut(&mut self) -> &mut RoomDoc {
        &mut self.doc
    }

    /// True once the room's state has been merged after the latest handshake.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// The room's greeting on the current connection.
    pub fn hello(&self) -> Option<Hello> {
        self.hello
    }

    /// A counter that moves whenever the document changes (local or remote).
    pub fn doc_version(&self) -> u64 {
        self.doc_version.load(Ordering::Relaxed)
    }

    /// Frames to send when a socket opens: our state vector (the room answers with what
    /// we lack and asks for what it lacks, which carries our offline edits) and our
    /// presence.
    pub fn handshake(&mut self) -> Vec<Vec<u8>> {
        self.synced = false;
        self.awaiting_room_step1 = true;
        self.hello = None;
        // Queued updates are covered by the sync step 2 we send in reply to the room;
        // until then they are unsent.
        let queued = self.take_outbox();
        self.unsent.add(&queued);
        let sv = self.doc.doc().transact().state_vector();
        let mut frames = vec![protocol::sync_step1(sv)];
        if let Some(parked) = self.parked_presence.take() {
            self.presence = Some(parked);
            self.publish_presence();
        }
        if self.presence.is_some() {
            frames.extend(self.presence_frame());
        }
        self.presence_dirty = false;
        frames
    }

    /// The socket dropped: everyone else's presence is unknown until we are back, so
    /// drop it (no ghosts), and mark the session unsynced.
    pub fn disconnected(&mut self) {
        self.synced = false;
        self.hello = None;
        let me = self.awareness.client_id();
        let others: Vec<_> = self
            .awareness
            .iter()
            .map(|(id, _)| id)
            .filter(|id| *id != me)
            .collect();
        for id in others {
            self.awareness.remove_state(id);
        }
    }

    /// Handle one frame from the room.
    pub fn receive(&mut self, frame: &[u8], now_ms: u64) -> Result<Received> {
        self.clock.set(now_ms);
        self.doc.set_time(now_ms);
        let messages = decode_frame(frame)?;
        let before = self.doc_version();
        let mut got = Received::default();
        for message in messages {
            match message {
                Incoming::SyncStep1(sv) => {
                    let diff = self.doc.doc().transact().encode_diff_v1(&sv);
                    // Numbered: once it is acknowledged, so is everything sent before
                    // (it carries whatever the room lacked).
                    got.replies.extend(self.numbered(diff, true));
                    // The answer carries everything queued so far.
                    self.awaiting_room_step1 = false;
                    let queued = self.take_outbox();
                    if self.hello.is_some() {
                        // Numbered: its acknowledgement covers every unsent edit.
                        self.unsent = Pending::default();
                    } else {
                        self.unsent.add(&queued);
                    }
                }
                Incoming::SyncStep2(raw) => {
                    self.apply_remote(protocol::update_of(&raw)?)?;
                    if !self.synced {
                        self.synced = true;
                        self.synced_at = now_ms;
                        got.became_synced = true;
                    }
                }
                Incoming::Update(raw) => self.apply_remote(protocol::update_of(&raw)?)?,
                Incoming::Awareness(update) => {
                    // Only the states in this update changed: note those (walking
                    // everyone's on every update made a room of n cost n² per round).
                    let present: Vec<yrs::ClientID> = update
                        .clients
                        .iter()
                        .filter(|(_, e)| &*e.json != "null")
                        .map(|(id, _)| *id)
                        .collect();
                    let summary = self
                        .awareness
                        .apply_update_summary(update)
                        .map_err(|e| Error::malformed("awareness update", e))?;
                    got.presence_changed |= summary.is_some();
                    for id in present {
                        if let Some((_, at)) = self.awareness.meta(id) {
                            let seen = self.last_seen.entry(id.get()).or_default();
                            *seen = (*seen).max(at);
                        }
                    }
                }
                Incoming::AwarenessQuery => got.replies.extend(self.presence_frame()),
                Incoming::Auth(reason) => got.denied = reason,
                Incoming::Hello(hello) => {
                    self.hello = Some(hello);
                    got.hello = Some(hello);
                }
                Incoming::Response { id, body } => got.responses.push((id, body)),
                Incoming::Event(event) => got.events.push(event),
                Incoming::Ack(n) => {
                    // The room's number is the peer's to choose: u64::MAX acknowledges all.
                    self.unacked = match n.checked_add(1) {
                        Some(next) => self.unacked.split_off(&next),
                        None => Default::default(),
                    };
                    got.acked = Some(n);
                }
                Incoming::Session(info) => {
                    self.adopt_identity(&info);
                    got.session = Some(info);
                }
                Incoming::Request { .. } => {
                    return Err(Error::UnsupportedMessage(protocol::MSG_CONFAB_REQUEST))
                }
                Incoming::Seq(_) => {
                    return Err(Error::UnsupportedMessage(protocol::MSG_CONFAB_SEQ))
                }
            }
        }
        got.doc_changed = self.doc_version() != before;
        Ok(got)
    }

    /// Take what the room says about this connection: a verified identity replaces the
    /// one the app gave (a token's identity is the one the room accepts in authorship
    /// fields, and the room records the client id for it); an unverified editor
    /// (development mode) records its own client id. Read-only roles write nothing.
    fn adopt_identity(&mut self, info: &serde_json::Value) {
        let text = |key: &str| info.get(key).and_then(serde_json::Value::as_str);
        let verified = info.get("verified").and_then(serde_json::Value::as_bool) == Some(true);
        if verified {
            if let (Some(id), Some(name), Some(kind)) = (
                text("user"),
                text("name"),
                text("kind").and_then(crate::doc::ParticipantKind::parse),
            ) {
                let me = Participant {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    kind,
                };
                if me != self.me {
                    // Steps made as someone else are not the new identity's to undo.
                    if me.id != self.me.id {
                        self.doc.forget_undo_history();
                    }
                    self.me = me.clone();
                    self.doc.set_local_participant(&me);
                    // Everyone sees the token's identity at once, not at the next renewal.
                    self.publish_presence();
                }
            }
            return;
        }
        let read_only = info.get("readOnly").and_then(serde_json::Value::as_bool) != Some(false);
        self.names_own_clients = !read_only;
        let client = self.doc.doc().client_id().get();
        if !read_only && self.doc.recorded_participant(client).as_ref() != Some(&self.me) {
            let me = self.me.clone();
            self.doc.register_client(client, &me);
        }
    }

    /// Remember when each present peer last renewed its presence.
    fn note_present(&mut self) {
        for (id, state) in self.awareness.iter() {
            if state.data.is_some() {
                let seen = self.last_seen.entry(id.get()).or_default();
                *seen = (*seen).max(state.last_updated);
            }
        }
    }

    /// Mark open turns whose writer has not been present for [`PRESENCE_TIMEOUT_MS`]
    /// as interrupted. Only a synced session judges, and only after it has been synced
    /// long enough to have heard everyone's presence. Returns true when any changed.
    fn interrupt_orphaned_turns(&mut self, now_ms: u64) -> bool {
        if !self.synced {
            return false;
        }
        self.note_present();
        let me = self.client_id();
        let mut changed = false;
        for (id, writer) in self.doc.open_turns() {
            if writer == me {
                continue;
            }
            let since = self
                .last_seen
                .get(&writer)
                .copied()
                .unwrap_or(self.synced_at);
            if now_ms.saturating_sub(since) >= PRESENCE_TIMEOUT_MS {
                changed |= self.doc.interrupt_turn(&id).unwrap_or(false);
            }
        }
        changed
    }

    pub(super) fn apply_remote(&mut self, update: yrs::Update) -> Result<()> {
        let mut txn = self.doc.doc().transact_mut_with(REMOTE);
        txn.apply_update(update)
            .map_err(|e| Error::InvalidUpdate(e.to_string()))
    }
}

#[cfg(test)]
mod bridge_tests;
#[cfg(test)]
mod tests;
