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
use crate::conflict::{BasedWrite, Choice, Conflict, ConflictWatch, NoticeKind};
use crate::doc::{Participant, ParticipantKind, RoomDoc};
use crate::error::{Error, Result};
use crate::model::context::{
    relevant, ContextDraft, ContextEntry, ContextEventKind, ContextStatus, HandoffSummary,
};
use crate::model::presence::{read_presence, relative_position, Presence, PresenceStatus};
use crate::model::view::{ViewPatch, ViewState};
use crate::model::MergeSummary;
use crate::model::Role;
use crate::protocol::{self, decode_frame, Hello, Incoming};

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
        let (sink, version) = (outbox.clone(), doc_version.clone());
        let remote = Origin::from(REMOTE);
        doc.doc()
            .observe_update_v1("confab-session", move |txn, event| {
                version.fetch_add(1, Ordering::Relaxed);
                if txn.origin() != Some(&remote) {
                    if let Ok(mut sink) = sink.lock() {
                        sink.push(event.update.clone());
                    }
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
                Incoming::SyncStep2(update, _) => {
                    self.apply_remote(update)?;
                    if !self.synced {
                        self.synced = true;
                        self.synced_at = now_ms;
                        got.became_synced = true;
                    }
                }
                Incoming::Update(update, _) => self.apply_remote(update)?,
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
                    self.unacked = self.unacked.split_off(&(n + 1));
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
                self.me = Participant {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    kind,
                };
                let me = self.me.clone();
                self.doc.set_local_participant(&me);
            }
            return;
        }
        let read_only = info.get("readOnly").and_then(serde_json::Value::as_bool) != Some(false);
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

    fn apply_remote(&mut self, update: yrs::Update) -> Result<()> {
        let mut txn = self.doc.doc().transact_mut_with(REMOTE);
        txn.apply_update(update)
            .map_err(|e| Error::InvalidUpdate(e.to_string()))
    }

    /// Frames carrying local edits (merged into one update) and presence changes made
    /// since the last call.
    ///
    /// Update frames are numbered for acknowledgement once a Confab room greeted this
    /// session. Without a greeting (offline, or talking to a plain Yjs peer) they go
    /// out unnumbered and their updates count as unsaved in [`Session::unacked`] until
    /// the sync answer of a later handshake carries them.
    pub fn drain_outgoing(&mut self) -> Vec<Vec<u8>> {
        let updates = if self.awaiting_room_step1 {
            Vec::new()
        } else {
            self.take_outbox()
        };
        if self.hello.is_none() {
            self.unsent.add(&updates);
        }
        let mut frames = Vec::new();
        match updates.len() {
            0 => {}
            1 => {
                frames.extend(self.numbered(updates.into_iter().next().unwrap_or_default(), false))
            }
            _ => match yrs::merge_updates_v1(&updates) {
                Ok(merged) => frames.extend(self.numbered(merged, false)),
                Err(_) => {
                    for u in updates {
                        frames.extend(self.numbered(u, false));
                    }
                }
            },
        }
        if self.presence_dirty {
            self.presence_dirty = false;
            frames.extend(self.presence_frame());
        }
        frames
    }

    fn take_outbox(&mut self) -> Vec<Vec<u8>> {
        match self.outbox.lock() {
            Ok(mut outbox) => std::mem::take(&mut *outbox),
            Err(_) => Vec::new(),
        }
    }

    /// Frames carrying `update`: split into parts of at most [`CHUNK_BYTES`] (a room
    /// refuses frames over its limit), each numbered for acknowledgement when the room
    /// speaks Confab's protocol.
    fn numbered(&mut self, update: Vec<u8>, step2: bool) -> Vec<Vec<u8>> {
        let parts = if update.len() > CHUNK_BYTES {
            crate::protocol::scan::split_update_v1(&update, CHUNK_BYTES)
                .unwrap_or_else(|_| vec![update])
        } else {
            vec![update]
        };
        let last = parts.len().saturating_sub(1);
        parts
            .into_iter()
            .enumerate()
            .map(|(i, part)| {
                let body = if step2 && i == last {
                    protocol::sync_step2(part)
                } else {
                    protocol::sync_update(part)
                };
                if self.hello.is_none() {
                    return body;
                }
                self.last_seq += 1;
                self.unacked.insert(self.last_seq, body.len());
                [protocol::seq(self.last_seq), body].concat()
            })
            .collect()
    }

    /// Local updates the room has not acknowledged as stored: (count, bytes). They are
    /// the frames sent and not yet acknowledged, and the edits not yet sent: made
    /// offline, before the room answered the handshake, or sent without a number for
    /// the room to acknowledge. Zero once the room has stored every local edit.
    pub fn unacked(&self) -> (usize, usize) {
        let queued = self.outbox.lock().map_or(Pending::default(), |outbox| {
            let mut queued = Pending::default();
            queued.add(&outbox);
            queued
        });
        (
            self.unacked.len() + self.unsent.updates + queued.updates,
            self.unacked.values().sum::<usize>() + self.unsent.bytes + queued.bytes,
        )
    }

    /// The count of [`Session::unacked`] alone, without summing sizes (cheap enough
    /// to ask on every edit).
    pub fn unsaved_updates(&self) -> usize {
        let queued = self.outbox.lock().map_or(0, |outbox| outbox.len());
        self.unacked.len() + self.unsent.updates + queued
    }

    /// Update this session's presence with the fields of a JSON object (status,
    /// activity, cursor, app fields, ...): given fields replace earlier values, `null`
    /// removes a field. Confab keeps `user` = this participant.
    pub fn set_presence(&mut self, json: &str) -> Result<()> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::InvalidPresence(e.to_string()))?;
        let serde_json::Value::Object(fields) = value else {
            return Err(Error::InvalidPresence(format!(
                "expected a JSON object, got `{json}`"
            )));
        };
        self.merge_presence(fields);
        Ok(())
    }

    fn merge_presence(&mut self, fields: serde_json::Map<String, serde_json::Value>) {
        if self.presence.is_none() {
            self.presence = self.parked_presence.take();
        }
        let state = self.presence.get_or_insert_with(serde_json::Map::new);
        for (key, value) in fields {
            if key == "user" {
                continue;
            }
            if value.is_null() {
                state.remove(&key);
            } else {
                state.insert(key, value);
            }
        }
        self.publish_presence();
    }

    fn set_presence_field(&mut self, key: &str, value: serde_json::Value) {
        let mut fields = serde_json::Map::new();
        fields.insert(key.to_owned(), value);
        self.merge_presence(fields);
    }

    /// Report input from this participant (a key, a click, an edit): they are active.
    pub fn note_input(&mut self, now_ms: u64) {
        self.clock.set(now_ms);
        self.last_input = self.last_input.max(now_ms);
        if self.status != PresenceStatus::Active {
            self.status = PresenceStatus::Active;
            self.set_presence_field("status", PresenceStatus::Active.as_str().into());
        }
    }

    /// Say what this participant is doing ("reviewing spec", "running tool grep");
    /// `None` clears it.
    pub fn set_activity(&mut self, activity: Option<&str>) {
        self.set_presence_field(
            "activity",
            activity.map_or(serde_json::Value::Null, Into::into),
        );
    }

    /// Say which conversation this participant is typing in; `None` when they stop.
    pub fn set_typing(&mut self, conversation: Option<&str>) {
        self.set_presence_field(
            "typingIn",
            conversation.map_or(serde_json::Value::Null, Into::into),
        );
    }

    /// Say whose view this participant follows (a user id); `None` to stop.
    pub fn set_following(&mut self, user: Option<&str>) {
        self.set_presence_field(
            "following",
            user.map_or(serde_json::Value::Null, Into::into),
        );
    }

    /// Publish this participant's cursor or selection in a document as relative
    /// positions, so peers resolve it correctly after concurrent edits.
    pub fn set_cursor(&mut self, document: &str, anchor: u32, head: u32) -> Result<()> {
        // An unknown document is named as such; the length only names the range in an
        // error: a cursor update (20 a second per participant) must not read the whole
        // document.
        self.doc.document_ref_checked(document)?;
        let text_len = || {
            self.doc
                .document_text(document)
                .map(|t| t.encode_utf16().count() as u32)
                .unwrap_or(0)
        };
        let resolve = |index: u32| {
            relative_position(&self.doc, document, index).ok_or_else(|| Error::OutOfRange {
                target: document.to_owned(),
                index,
                end: u64::from(index),
                len: text_len(),
            })
        };
        let cursor = serde_json::json!({
            "document": document,
            "anchor": resolve(anchor)?,
            "head": resolve(head)?,
        });
        self.set_presence_field("cursor", cursor);
        Ok(())
    }

    /// Remove this participant's cursor.
    pub fn clear_cursor(&mut self) {
        self.set_presence_field("cursor", serde_json::Value::Null);
    }

    /// Everyone's structured presence (this session included), by client id. States
    /// without a Confab `user` (stock Yjs clients) are left out; see [`Session::peers`].
    pub fn presence(&self) -> Vec<Presence> {
        self.peers()
            .into_iter()
            .filter_map(|p| read_presence(&self.doc, p.client_id, &p.state, p.is_self))
            .collect()
    }

    /// Who is typing in `conversation` (other than this participant).
    pub fn typing_in(&self, conversation: &str) -> Vec<Participant> {
        let mut out: Vec<Participant> = self
            .presence()
            .into_iter()
            .filter(|p| {
                !p.is_self
                    && p.user.id != self.me.id
                    && p.typing_in.as_deref() == Some(conversation)
            })
            .map(|p| p.user)
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        out
    }

    fn publish_presence(&mut self) {
        let Some(fields) = &self.presence else { return };
        let mut state = fields.clone();
        state.insert(
            "user".to_owned(),
            serde_json::json!({ "id": self.me.id, "name": self.me.name, "kind": self.me.kind }),
        );
        self.awareness
            .set_local_state_raw(serde_json::Value::Object(state).to_string());
        self.presence_dirty = true;
    }

    fn presence_frame(&mut self) -> Option<Vec<u8>> {
        let me = self.awareness.client_id();
        let update = self.awareness.update_with_clients([me]).ok()?;
        self.presence_sent_at = self.clock.now();
        Some(protocol::awareness(update))
    }

    /// This session's own awareness state as an encoded awareness update (v1).
    pub fn presence_snapshot(&self) -> Vec<u8> {
        use yrs::updates::encoder::Encode;
        let me = self.awareness.client_id();
        self.awareness
            .update_with_clients([me])
            .map(|u| u.encode_v1())
            .unwrap_or_default()
    }

    /// Everyone present, this session included, ordered by client id.
    pub fn peers(&self) -> Vec<Peer> {
        let me = self.awareness.client_id();
        let mut peers: Vec<Peer> = self
            .awareness
            .iter()
            .filter_map(|(id, state)| {
                Some(Peer {
                    client_id: id.get(),
                    state: state.data.as_deref()?.to_owned(),
                    is_self: id == me,
                })
            })
            .collect();
        peers.sort_by_key(|p| p.client_id);
        peers
    }

    /// Periodic upkeep: renew our presence before peers time it out, and drop peers
    /// whose presence was not renewed in time. Returns frames to send and whether the
    /// set of peers changed.
    pub fn tick(&mut self, now_ms: u64) -> (Vec<Vec<u8>>, bool) {
        self.clock.set(now_ms);
        self.doc.set_time(now_ms);
        let mut frames = Vec::new();
        let status = PresenceStatus::after_quiet(now_ms.saturating_sub(self.last_input));
        if status != self.status && self.presence.is_some() {
            self.status = status;
            self.set_presence_field("status", status.as_str().into());
            self.presence_dirty = false;
            frames.extend(self.presence_frame());
        }
        if self.presence.is_some()
            && self.synced
            && now_ms.saturating_sub(self.presence_sent_at) >= PRESENCE_RENEW_MS
        {
            self.publish_presence();
            self.presence_dirty = false;
            frames.extend(self.presence_frame());
        }
        let me = self.awareness.client_id();
        let stale: Vec<_> = self
            .awareness
            .iter()
            .filter(|(id, state)| {
                *id != me
                    && state.data.is_some()
                    && now_ms.saturating_sub(state.last_updated) >= PRESENCE_TIMEOUT_MS
            })
            .map(|(id, _)| id)
            .collect();
        let mut changed = !stale.is_empty();
        for id in stale {
            self.awareness.remove_state(id);
        }
        changed |= self.interrupt_orphaned_turns(now_ms);
        (frames, changed)
    }

    /// Frames announcing that this session leaves (its presence removed for everyone).
    pub fn leave(&mut self) -> Vec<Vec<u8>> {
        // Kept aside: the next handshake (a later connect) publishes it again.
        self.parked_presence = self.presence.take();
        self.awareness.clean_local_state();
        let me = self.awareness.client_id();
        match self.awareness.update_with_clients([me]) {
            Ok(update) => vec![protocol::awareness(update)],
            Err(_) => Vec::new(),
        }
    }

    /// Create a conversation as this participant.
    pub fn create_conversation(
        &mut self,
        id: Option<&str>,
        title: &str,
        now_ms: u64,
    ) -> Result<String> {
        let me = self.me.clone();
        self.doc.create_conversation(id, title, &me, now_ms)
    }

    /// Create the conversation unless it exists.
    pub fn ensure_conversation(&mut self, id: &str, title: &str, now_ms: u64) -> Result<()> {
        let me = self.me.clone();
        self.doc.ensure_conversation(id, title, &me, now_ms)
    }

    /// Post a message as this participant.
    pub fn post_message(
        &mut self,
        conversation: &str,
        role: Role,
        text: &str,
        now_ms: u64,
    ) -> Result<String> {
        let me = self.me.clone();
        self.doc.post_message(conversation, &me, role, text, now_ms)
    }

    /// Open an agent turn written by this session; returns its message id.
    pub fn open_turn(&mut self, conversation: &str, role: Role, now_ms: u64) -> Result<String> {
        self.flush_turns()?;
        let me = self.me.clone();
        let writer = self.client_id();
        self.doc.open_turn(conversation, &me, role, writer, now_ms)
    }

    /// Buffer a chunk of an open turn's text. It is written with other buffered chunks
    /// in one transaction by [`Session::flush_turns`] (called by the transport every
    /// frame) or at once when the buffer is full.
    pub fn append_turn(&mut self, id: &str, chunk: &str) -> Result<()> {
        let status = self.doc.turn_status(id)?;
        if !status.is_open() {
            self.discard_buffered(id);
            return Err(Error::TurnClosed {
                id: id.to_owned(),
                status: status.as_str(),
            });
        }
        self.turn_buffer_bytes += chunk.len();
        self.turn_buffer.push((id.to_owned(), chunk.to_owned()));
        if self.turn_buffer_bytes >= MAX_TURN_BATCH_BYTES {
            self.flush_turns()?;
        }
        Ok(())
    }

    fn discard_buffered(&mut self, id: &str) {
        self.turn_buffer.retain(|(t, _)| t != id);
        self.turn_buffer_bytes = self.turn_buffer.iter().map(|(_, c)| c.len()).sum();
    }

    /// True when turn text is waiting to be written.
    pub fn has_buffered_turn_text(&self) -> bool {
        !self.turn_buffer.is_empty()
    }

    /// Write all buffered turn text in one transaction. When a turn was closed in the
    /// meantime (someone stopped it), its chunks are dropped and the error says so; the
    /// other turns' chunks are written.
    pub fn flush_turns(&mut self) -> Result<()> {
        if self.turn_buffer.is_empty() {
            return Ok(());
        }
        let mut chunks = std::mem::take(&mut self.turn_buffer);
        self.turn_buffer_bytes = 0;
        let mut refused = None;
        chunks.retain(|(id, _)| match self.doc.turn_status(id) {
            Ok(status) if status.is_open() => true,
            Ok(status) => {
                refused.get_or_insert(Error::TurnClosed {
                    id: id.clone(),
                    status: status.as_str(),
                });
                false
            }
            Err(e) => {
                refused.get_or_insert(e);
                false
            }
        });
        self.doc.append_turn_chunks(&chunks)?;
        refused.map_or(Ok(()), Err)
    }

    /// Finish a turn (its buffered text is written first).
    pub fn finish_turn(&mut self, id: &str) -> Result<()> {
        self.flush_turns()?;
        self.doc.finish_turn(id)
    }

    /// Fail a turn with a reason (its buffered text is written first).
    pub fn fail_turn(&mut self, id: &str, reason: &str) -> Result<()> {
        self.flush_turns()?;
        self.doc.fail_turn(id, reason)
    }

    /// Ask an open turn to stop, as this participant.
    pub fn request_stop(&mut self, id: &str, now_ms: u64) -> Result<()> {
        self.discard_buffered(id);
        let me = self.me.clone();
        self.doc.request_stop(id, &me, now_ms)
    }

    /// React to a message as this participant.
    pub fn react(&mut self, message: &str, kind: &str, now_ms: u64) -> Result<()> {
        let me = self.me.clone();
        self.doc.react(message, kind, &me, now_ms)
    }

    /// Take back this participant's reaction.
    pub fn unreact(&mut self, message: &str, kind: &str) -> Result<()> {
        let me = self.me.clone();
        self.doc.unreact(message, kind, &me)
    }

    /// Fork a conversation at a message, as this participant.
    pub fn fork_conversation(
        &mut self,
        parent: &str,
        at_message: &str,
        title: &str,
        now_ms: u64,
    ) -> Result<String> {
        let me = self.me.clone();
        self.doc
            .fork_conversation(parent, at_message, title, &me, now_ms)
    }

    /// Merge a branch back into its parent, as this participant.
    pub fn merge_branch(
        &mut self,
        branch: &str,
        picked: &[String],
        summary: MergeSummary,
        now_ms: u64,
    ) -> Result<String> {
        let me = self.me.clone();
        self.doc.merge_branch(branch, picked, summary, &me, now_ms)
    }

    /// Everyone present other than this participant, one entry per participant id,
    /// ordered by id (several tabs of one person count once).
    pub fn present_participants(&self) -> Vec<Participant> {
        let mut out: Vec<Participant> = Vec::new();
        for peer in self.peers() {
            let Ok(state) = serde_json::from_str::<serde_json::Value>(&peer.state) else {
                continue;
            };
            let user = &state["user"];
            let (Some(id), Some(name)) = (user["id"].as_str(), user["name"].as_str()) else {
                continue;
            };
            let Some(kind) = user["kind"].as_str().and_then(ParticipantKind::parse) else {
                continue;
            };
            if id == self.me.id || out.iter().any(|p| p.id == id) {
                continue;
            }
            out.push(Participant {
                id: id.to_owned(),
                name: name.to_owned(),
                kind,
            });
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// Online teammates this participant can sync views with: other people present.
    pub fn sync_partners(&self) -> Vec<Participant> {
        self.present_participants()
            .into_iter()
            .filter(|p| p.kind == ParticipantKind::Person)
            .collect()
    }

    /// This participant's view (the shared one while synced).
    pub fn view_state(&self) -> ViewState {
        self.doc.view_state(&self.me.id)
    }

    /// Change this participant's view (the shared one while synced).
    pub fn set_view(&mut self, patch: &ViewPatch) -> Result<()> {
        let me = self.me.id.clone();
        self.doc.set_view(&me, patch)
    }

    /// Start following one view with `partner` (a participant id), initialised from
    /// this participant's view.
    pub fn start_sync(&mut self, partner: &str, now_ms: u64) -> Result<String> {
        let me = self.me.id.clone();
        self.doc.start_sync(&me, partner, now_ms)
    }

    /// Stop syncing: both get an independent copy of the shared view.
    pub fn stop_sync(&mut self) -> Result<()> {
        let me = self.me.id.clone();
        self.doc.stop_sync(&me)
    }

    /// Add an entry to this person's private context (kept in this session only).
    pub fn add_private_context(&mut self, draft: ContextDraft, now_ms: u64) -> Result<String> {
        if draft.text.trim().is_empty() {
            return Err(Error::Empty("context text"));
        }
        self.next_private += 1;
        let id = format!("private-{}", self.next_private);
        self.private_context.push(ContextEntry {
            id: id.clone(),
            kind: draft.kind,
            text: draft.text,
            author: self.me.clone(),
            tags: draft.tags,
            refs: draft.refs,
            status: ContextStatus::Accepted,
            private: true,
            created_at: now_ms as f64,
        });
        Ok(id)
    }

    /// This person's private context.
    pub fn private_context(&self) -> &[ContextEntry] {
        &self.private_context
    }

    /// Drop a private entry.
    pub fn remove_private_context(&mut self, id: &str) -> Result<()> {
        let before = self.private_context.len();
        self.private_context.retain(|e| e.id != id);
        if self.private_context.len() == before {
            return Err(Error::UnknownContextEntry(id.to_owned()));
        }
        Ok(())
    }

    /// Share a private entry with the room: an explicit, attributed act; it lands
    /// `proposed`. The private copy stays. Returns the shared entry's id.
    pub fn share_private_context(&mut self, id: &str, now_ms: u64) -> Result<String> {
        let entry = self
            .private_context
            .iter()
            .find(|e| e.id == id)
            .cloned()
            .ok_or_else(|| Error::UnknownContextEntry(id.to_owned()))?;
        let draft = ContextDraft {
            kind: entry.kind,
            text: entry.text,
            tags: entry.tags,
            refs: entry.refs,
        };
        self.propose_context(&draft, now_ms)
    }

    /// Propose an entry to the room's shared context as this participant.
    pub fn propose_context(&mut self, draft: &ContextDraft, now_ms: u64) -> Result<String> {
        let me = self.me.clone();
        self.doc.propose_context(draft, &me, now_ms)
    }

    /// Accept (or re-confirm) a shared entry, as the context owner.
    pub fn accept_context(&mut self, id: &str) -> Result<()> {
        let me = self.me.clone();
        self.doc.accept_context(id, &me)
    }

    /// Retire a shared entry, as the context owner.
    pub fn retire_context(&mut self, id: &str) -> Result<()> {
        let me = self.me.clone();
        self.doc.retire_context(id, &me)
    }

    /// Hand the context-owner role to `next` (a participant id).
    pub fn set_context_owner(&mut self, next: &str) -> Result<()> {
        let me = self.me.clone();
        self.doc.set_context_owner(&me, next)
    }

    /// Shared and private entries relevant to `tags` and `refs`, best first.
    pub fn relevant_context(&self, tags: &[String], refs: &[String]) -> Vec<ContextEntry> {
        let mut all = self.doc.context_entries();
        all.extend(self.private_context.iter().cloned());
        relevant(&all, tags, refs)
    }

    /// Raise an announcement, a question or a handoff as this participant.
    pub fn raise_context_event(
        &mut self,
        kind: ContextEventKind,
        text: &str,
        to: Option<&str>,
        now_ms: u64,
    ) -> Result<String> {
        let me = self.me.clone();
        self.doc.raise_context_event(kind, text, to, &me, now_ms)
    }

    /// The room's handoff summary.
    pub fn handoff_summary(&self) -> HandoffSummary {
        self.doc.handoff_summary()
    }

    /// Name the room's current state as a version, as this participant.
    pub fn create_version(&mut self, name: &str, now_ms: u64) -> Result<String> {
        let me = self.me.clone();
        self.doc.create_version(name, &me, now_ms)
    }

    /// The state vector of the local doc, encoded (v1).
    pub fn state_vector(&self) -> Vec<u8> {
        use yrs::updates::encoder::Encode;
        self.doc.doc().transact().state_vector().encode_v1()
    }

    /// Every conflict in the room (computed again only after the doc changed).
    pub fn conflicts(&mut self) -> Vec<Conflict> {
        let version = self.doc_version();
        match &self.conflicts {
            Some((at, list)) if *at == version => list.clone(),
            _ => {
                let list = self.doc.conflicts();
                self.conflicts = Some((version, list.clone()));
                list
            }
        }
    }

    /// What changed in the room's conflicts since the last call, for this participant:
    /// new conflicts (with `needs_input` when they have a side), requests for an agent
    /// (`needs_input` for agents) and resolutions. Conflicts already resolved when
    /// first seen are not reported.
    pub fn poll_conflicts(&mut self) -> Vec<ConflictNotice> {
        let conflicts = self.conflicts();
        let changes = self.conflict_watch.changes(conflicts);
        changes
            .into_iter()
            .map(|(kind, conflict)| {
                let needs_input = match kind {
                    NoticeKind::Raised => {
                        conflict.participants().iter().any(|p| p.id == self.me.id)
                    }
                    NoticeKind::AwaitingAgent => self.me.kind == ParticipantKind::Agent,
                    NoticeKind::Resolved => false,
                };
                ConflictNotice {
                    kind,
                    needs_input,
                    conflict,
                }
            })
            .collect()
    }

    /// Resolve a conflict as this participant (see [`RoomDoc::resolve_conflict`]).
    pub fn resolve_conflict(
        &mut self,
        id: &str,
        choice: Choice,
        side: Option<usize>,
        text: Option<&str>,
        now_ms: u64,
    ) -> Result<()> {
        self.doc.set_time(now_ms);
        let me = self.me.clone();
        self.doc.resolve_conflict(id, choice, side, text, &me)
    }

    /// Write over a range of the text read at `base` (see [`RoomDoc::write_based`]).
    pub fn write_based(
        &mut self,
        doc: &str,
        start: u32,
        end: u32,
        text: &str,
        base: &[u8],
        now_ms: u64,
    ) -> Result<BasedWrite> {
        self.doc.set_time(now_ms);
        let me = self.me.clone();
        self.doc.write_based(doc, start, end, text, base, &me)
    }
}

#[cfg(test)]
mod tests;
