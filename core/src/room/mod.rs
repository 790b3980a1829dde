//! The server side of a room, sans-IO.
//!
//! The edge feeds it what happens on sockets — [`Room::connect`], [`Room::receive`],
//! [`Room::disconnect`] — and sends the [`Outgoing`] frames it returns. Updates that
//! changed the document are kept until [`crate::room::store::persist`] writes them: that is
//! the dirty signal. The room is schema-agnostic: any valid Yjs update is accepted,
//! stored and relayed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use yrs::sync::Awareness;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Map, Options, ReadTxn, StateVector, Transact, Update};

use serde_json::{json, Value};

use crate::authority::token::Role;
use crate::authority::{Actor, Authority, Event, OpError};
use crate::clock::ManualClock;
use crate::doc::{doc_text_name, RoomDoc};
use crate::error::{Error, Result};
use crate::protocol::scan::{
    scan_stored_v1, scan_update_v1, split_update_v1, Scan, ZoneIndex, ZonePath,
};
use crate::protocol::{self, decode_frame_scanned, Hello, Incoming};
use gate::Admitted;
use limits::{Bucket, Limits, RateLimiter};

/// Close code for a connection that asked for more answers than its budget.
pub const CLOSE_POLICY: u16 = 1008;
/// Close code for a room that takes no more connections (for this participant or role).
pub const CLOSE_TRY_LATER: u16 = 1013;

mod admit;
pub mod gate;
pub mod limits;
pub mod store;
pub use admit::RoomSize;
use admit::UserBudget;

/// A connection's id within its room, chosen by the edge.
pub type ConnId = u64;

/// Who a frame goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// Only this connection.
    Only(ConnId),
    /// Every connection but this one.
    AllExcept(ConnId),
    /// Every connection.
    All,
    /// These connections.
    Many(Vec<ConnId>),
}

impl Recipient {
    /// True when a frame for this recipient goes to `conn`.
    pub fn includes(&self, conn: ConnId) -> bool {
        match self {
            Recipient::Only(c) => *c == conn,
            Recipient::AllExcept(c) => *c != conn,
            Recipient::All => true,
            Recipient::Many(conns) => conns.contains(&conn),
        }
    }
}

/// A frame to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its recipients.
    pub to: Recipient,
    /// The bytes of one binary WebSocket message.
    pub frame: Vec<u8>,
}

/// Largest frame the room sends a joiner in one piece; a bigger initial sync goes out
/// in parts, each a valid update.
pub const SYNC_CHUNK_BYTES: usize = 1024 * 1024;

#[derive(Debug)]
struct Connection {
    /// Who is connected, with their effective role.
    actor: Actor,
    /// Last update sequence number seen from this connection.
    last_seq: u64,
    /// Messages-per-second budget.
    rate: Option<RateLimiter>,
    /// Speaks Confab's extra message types (announced when it connected).
    confab: bool,
    /// Awareness client ids this connection has published states for.
    awareness_clients: BTreeSet<u64>,
    /// The room has answered this connection's sync step 1. Live updates are relayed
    /// only from then on: everything before is in that answer, and an update that
    /// arrives ahead of what it builds on would leave the client with a gap.
    synced: bool,
    /// Bytes of answers (sync, presence) this connection may still ask for.
    answers: Option<Bucket>,
}

impl Default for Connection {
    fn default() -> Self {
        Connection {
            actor: Actor::anonymous(),
            last_seq: 0,
            rate: None,
            confab: false,
            awareness_clients: BTreeSet::new(),
            synced: false,
            answers: None,
        }
    }
}

/// What one connection changed since the last [`Room::take_events`]: an audited edit
/// batch.
#[derive(Debug, Default)]
struct EditBatch {
    actor: Option<Actor>,
    updates: u64,
    bytes: u64,
    zones: BTreeSet<String>,
}

/// A connection the edge must close, with the code and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    /// The connection.
    pub conn: ConnId,
    /// WebSocket close code.
    pub code: u16,
    /// Reason.
    pub reason: String,
}

/// One room on the server.
pub struct Room {
    awareness: Awareness,
    clock: ManualClock,
    connections: HashMap<ConnId, Connection>,
    /// Updates produced by transactions that changed the doc, in order; filled by an
    /// observer on the doc.
    changes: Arc<Mutex<Vec<Vec<u8>>>>,
    unpersisted: Vec<Vec<u8>>,
    /// When set, document updates are not relayed as they arrive but queued here (with
    /// their sender) until [`Room::flush_relay`].
    coalesce: bool,
    relay_queue: Vec<(ConnId, Vec<u8>)>,
    /// Frames to send that no received frame caused (see [`Room::take_pending`]).
    pending: Vec<Outgoing>,
    /// The whole room as one sync step 2 frame, kept until the document changes: a
    /// joiner that has nothing (every fresh client, every storm of reloads) gets it
    /// without the room encoding itself again.
    full_state: Option<Vec<u8>>,
    /// Members, leases, activities, webhooks.
    authority: Authority,
    /// The authority changed since [`Room::take_authority_json`].
    authority_dirty: bool,
    limits: Limits,
    /// Which container every applied item lives in.
    zones: ZoneIndex,
    /// (connection, sequence number) of updates applied and not yet acknowledged.
    acks: Vec<(ConnId, u64)>,
    events: Vec<Event>,
    edits: BTreeMap<ConnId, EditBatch>,
    closures: Vec<Closure>,
    /// Status of messages as last seen, to notice finished turns and stop requests.
    turns: HashMap<String, (String, bool)>,
    /// Signs invitations: (secret, room name).
    token_key: Option<(Vec<u8>, String)>,
    /// Writes on the room's own behalf (REST posts, accepted suggestions).
    writer: Option<RoomDoc>,
    /// Client id → the participant it belongs to (see [`crate::room::gate`]).
    owners: HashMap<u64, String>,
    /// Bytes of the stored document: the last snapshot plus the updates since.
    size_bytes: u64,
    /// The room told its owners it nears its size limit (until it is compacted below).
    size_warned: bool,
    /// What each participant may still send, across their connections.
    users: HashMap<String, UserBudget>,
    /// Messages all viewers and reviewers may still send together.
    read_only: Option<Bucket>,
}

impl Room {
    /// An empty room.
    pub fn new(now_ms: u64) -> Self {
        // The server never edits, so its own client id is never used in an update.
        let mut options = Options::with_client_id(yrs::ClientID::new(0));
        // Keep deleted content so late joiners can still read every named version (and
        // conflicts can be found from the room's own copy); count like clients do.
        options.skip_gc = true;
        options.offset_kind = yrs::OffsetKind::Utf16;
        let doc = Doc::with_options(options);
        let changes: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let sink = changes.clone();
        doc.observe_update_v1("confab-room", move |_, event| {
            if let Ok(mut sink) = sink.lock() {
                sink.push(event.update.clone());
            }
        })
        .expect("no transaction is open on a doc that was just created");
        let clock = ManualClock::new(now_ms);
        Room {
            awareness: Awareness::with_clock(doc, clock.clone()),
            clock,
            connections: HashMap::new(),
            changes,
            unpersisted: Vec::new(),
            coalesce: false,
            relay_queue: Vec::new(),
            pending: Vec::new(),
            full_state: None,
            authority: Authority::new(),
            authority_dirty: false,
            limits: Limits::default(),
            zones: ZoneIndex::new(),
            acks: Vec::new(),
            events: Vec::new(),
            edits: BTreeMap::new(),
            closures: Vec::new(),
            turns: HashMap::new(),
            token_key: None,
            writer: None,
            owners: HashMap::new(),
            size_bytes: 0,
            size_warned: false,
            users: HashMap::new(),
            read_only: None,
        }
    }

    /// Enforce these limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Restore the authority state stored by [`Room::take_authority_json`].
    pub fn set_authority(&mut self, authority: Authority) {
        self.authority = authority;
    }

    /// The authority state, read-only.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The authority's JSON when it changed since the last call.
    pub fn take_authority_json(&mut self) -> Option<String> {
        std::mem::take(&mut self.authority_dirty).then(|| self.authority.to_json())
    }

    /// Sign invitations with `secret` for room `name`.
    pub fn set_token_key(&mut self, secret: &[u8], name: &str) {
        self.token_key = Some((secret.to_vec(), name.to_owned()));
    }

    /// Queue document updates for [`Room::flush_relay`] instead of returning them from
    /// [`Room::receive`]. A server that flushes once the updates waiting in its input
    /// have been read sends each receiver one frame per burst instead of one per update:
    /// under load that is far less work for every client, and at rest (one update per
    /// burst) it changes nothing.
    pub fn set_coalescing(&mut self, on: bool) {
        self.coalesce = on;
    }

    /// True when updates wait for [`Room::flush_relay`].
    pub fn has_pending_relay(&self) -> bool {
        !self.relay_queue.is_empty()
    }

    /// The frames that relay every queued update. Updates from one sender go to every
    /// other synced connection; updates from several senders are merged into one
    /// update that every synced connection gets (a sender receiving its own changes
    /// back applies nothing, as with the stock server, which echoes every update).
    pub fn flush_relay(&mut self) -> Vec<Outgoing> {
        let queue = std::mem::take(&mut self.relay_queue);
        let Some((first, _)) = queue.first() else {
            return Vec::new();
        };
        let first = *first;
        let one_sender = queue.iter().all(|(c, _)| *c == first);
        let recipients = self.synced(one_sender.then_some(first));
        if recipients.is_empty() {
            return Vec::new();
        }
        let to = Recipient::Many(recipients);
        let frames: Vec<Vec<u8>> = if queue.len() == 1 {
            queue.into_iter().map(|(_, u)| u).collect()
        } else {
            match yrs::merge_updates_v1(queue.iter().map(|(_, u)| u.as_slice())) {
                Ok(merged) => vec![merged],
                // Every queued update was applied by this room's doc, so merging them
                // cannot fail; were it to, relay them one by one.
                Err(_) => queue.into_iter().map(|(_, u)| u).collect(),
            }
        };
        frames
            .into_iter()
            .map(|u| Outgoing {
                to: to.clone(),
                frame: protocol::sync_update(u),
            })
            .collect()
    }

    /// Rebuild a room from what [`crate::room::store`] wrote: the snapshot's parts in order,
    /// then the update log in order. Restored state is not dirty.
    pub fn load<P, L>(snapshot_parts: P, log: L, now_ms: u64) -> Result<Self>
    where
        P: IntoIterator,
        P::Item: AsRef<[u8]>,
        L: IntoIterator,
        L::Item: AsRef<[u8]>,
    {
        let mut room = Room::new(now_ms);
        let snapshot: Vec<u8> = snapshot_parts
            .into_iter()
            .flat_map(|p| p.as_ref().to_vec())
            .collect();
        {
            let mut txn = room.awareness.doc().transact_mut();
            let stored = (!snapshot.is_empty()).then_some(snapshot.as_slice());
            let log: Vec<L::Item> = log.into_iter().collect();
            for (i, entry) in stored
                .into_iter()
                .chain(log.iter().map(|e| e.as_ref()))
                .enumerate()
            {
                let what = if i == 0 && !snapshot.is_empty() {
                    "stored snapshot"
                } else {
                    "stored update"
                };
                // Scanned before yrs reads it (what yrs would choke on is refused); a
                // room stored before today's clock limit still loads.
                let scan = scan_stored_v1(entry)?;
                let update = Update::decode_v1(entry).map_err(|e| Error::malformed(what, e))?;
                room.zones.record(&scan);
                room.size_bytes += entry.len() as u64;
                txn.apply_update(update)
                    .map_err(|e| Error::InvalidUpdate(e.to_string()))?;
            }
        }
        room.drain_changes();
        room.owners = gate::owners_from_doc(room.awareness.doc());
        Ok(room)
    }

    fn drain_changes(&self) -> Vec<Vec<u8>> {
        match self.changes.lock() {
            Ok(mut c) => std::mem::take(&mut *c),
            Err(_) => Vec::new(),
        }
    }

    /// A new connection. `confab` is true when the client announced Confab's protocol;
    /// only such clients get Confab's own message types.
    pub fn connect(&mut self, conn: ConnId, confab: bool) -> Vec<Outgoing> {
        self.connect_as(conn, confab, Actor::anonymous())
    }

    /// A new connection by `actor` (verified by the edge, role as the room knows it).
    pub fn connect_as(&mut self, conn: ConnId, confab: bool, actor: Actor) -> Vec<Outgoing> {
        let mut out = Vec::new();
        if confab {
            out.push(Outgoing {
                to: Recipient::Only(conn),
                frame: protocol::hello(Hello {
                    session: conn,
                    server_time_ms: self.clock.now(),
                }),
            });
            out.push(Outgoing {
                to: Recipient::Only(conn),
                frame: protocol::session(&session_info(&actor)),
            });
        }
        self.event("join", Some(&actor), None, json!({ "role": actor.role }));
        self.connections.insert(
            conn,
            Connection {
                actor,
                confab,
                ..Connection::default()
            },
        );
        let sv = self.awareness.doc().transact().state_vector();
        out.push(Outgoing {
            to: Recipient::Only(conn),
            frame: protocol::sync_step1(sv),
        });
        if let Some(frame) = self.full_awareness_frame() {
            out.push(Outgoing {
                to: Recipient::Only(conn),
                frame,
            });
        }
        out
    }

    /// Re-register a connection that outlived this in-memory room (the edge's object
    /// hibernated and woke up): no frames are sent, but its awareness ids are known
    /// again, so closing it removes exactly its presence.
    pub fn restore_connection(
        &mut self,
        conn: ConnId,
        confab: bool,
        synced: bool,
        awareness_clients: impl IntoIterator<Item = u64>,
        actor: Actor,
        last_seq: u64,
    ) {
        self.connections.insert(
            conn,
            Connection {
                actor,
                last_seq,
                rate: None,
                confab,
                awareness_clients: awareness_clients.into_iter().collect(),
                synced,
                answers: None,
            },
        );
    }

    /// Who is on `conn`.
    pub fn actor(&self, conn: ConnId) -> Option<&Actor> {
        self.connections.get(&conn).map(|c| &c.actor)
    }

    /// The last update sequence number `conn` sent.
    pub fn last_seq(&self, conn: ConnId) -> u64 {
        self.connections.get(&conn).map_or(0, |c| c.last_seq)
    }

    /// True once the room has answered `conn`'s sync step 1 (it gets live updates).
    pub fn is_synced(&self, conn: ConnId) -> bool {
        self.connections.get(&conn).is_some_and(|c| c.synced)
    }

    /// Synced connections (but `except`), in order.
    fn synced(&self, except: Option<ConnId>) -> Vec<ConnId> {
        let mut out: Vec<ConnId> = self
            .connections
            .iter()
            .filter(|(id, c)| Some(**id) != except && c.synced)
            .map(|(id, _)| *id)
            .collect();
        out.sort_unstable();
        out
    }

    /// The awareness client ids `conn` has published.
    pub fn awareness_clients(&self, conn: ConnId) -> Vec<u64> {
        self.connections
            .get(&conn)
            .map(|c| c.awareness_clients.iter().copied().collect())
            .unwrap_or_default()
    }

    /// True when `conn` speaks Confab's protocol.
    pub fn is_confab(&self, conn: ConnId) -> bool {
        self.connections.get(&conn).is_some_and(|c| c.confab)
    }

    /// Number of live connections.
    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// Handle one frame from `conn`. The whole frame is decoded and validated first: on
    /// error nothing in the room changes and the edge should close that connection with
    /// the error's text as the reason.
    pub fn receive(&mut self, conn: ConnId, frame: &[u8], now_ms: u64) -> Result<Vec<Outgoing>> {
        self.clock.set(now_ms);
        let limits = self.limits;
        if frame.len() > limits.max_frame_bytes {
            return Err(Error::FrameTooLarge {
                size: frame.len(),
                max: limits.max_frame_bytes,
            });
        }
        let c = self.connections.entry(conn).or_default();
        let rate = c
            .rate
            .get_or_insert_with(|| RateLimiter::new(&limits, now_ms));
        if !rate.allow(&limits, now_ms) {
            return Err(Error::RateLimited {
                per_sec: limits.messages_per_sec,
                burst: limits.burst,
            });
        }
        let (actor, mut last_seq) = (c.actor.clone(), c.last_seq);
        self.check_shared_rate(&actor, now_ms)?;
        let (messages, scanned) = decode_frame_scanned(frame, limits.max_messages_per_frame)?;
        let mut scanned = scanned.into_iter();
        // Check the whole frame before anything is applied: it is refused as a whole.
        let mut scans = Vec::new();
        let mut seq = None;
        let mut written = 0u64;
        for message in &messages {
            match message {
                Incoming::Hello(_) => {
                    return Err(Error::UnsupportedMessage(protocol::MSG_CONFAB_HELLO))
                }
                Incoming::Response { .. } => {
                    return Err(Error::UnsupportedMessage(protocol::MSG_CONFAB_RESPONSE))
                }
                Incoming::Event(_) => {
                    return Err(Error::UnsupportedMessage(protocol::MSG_CONFAB_EVENT))
                }
                Incoming::Ack(_) => {
                    return Err(Error::UnsupportedMessage(protocol::MSG_CONFAB_ACK))
                }
                Incoming::Session(_) => {
                    return Err(Error::UnsupportedMessage(protocol::MSG_CONFAB_SESSION))
                }
                Incoming::Seq(n) => {
                    // The same number again is a repeat (applying an update twice is
                    // harmless); a smaller one means frames were reordered.
                    if *n < last_seq {
                        return Err(Error::OutOfOrder(format!(
                            "update sequence number {n} after {last_seq}; numbers must not go back"
                        )));
                    }
                    last_seq = *n;
                    seq = Some(*n);
                }
                Incoming::SyncStep2(_, raw) | Incoming::Update(_, raw) => {
                    let scan = match scanned.next() {
                        Some(scan) => scan,
                        None => scan_update_v1(raw)?,
                    };
                    let admitted = gate::check(&self.gate_view(), &actor, raw, &scan, now_ms)?;
                    if admitted.writes {
                        written += raw.len() as u64;
                    }
                    scans.push((scan, admitted));
                }
                Incoming::Awareness(update) => self.check_presence(conn, update)?,
                _ => {}
            }
        }
        if written > 0 {
            self.check_size(&actor, written, now_ms)?;
        }
        let mut scans = scans.into_iter();
        let mut out = Vec::new();
        // However many a frame asks, one answer of each kind.
        let (mut answered_sync, mut answered_presence) = (false, false);
        for message in messages {
            match message {
                Incoming::SyncStep1(sv) => {
                    if std::mem::replace(&mut answered_sync, true) {
                        continue;
                    }
                    let answer = self.sync_answer(conn, &sv);
                    out.extend(self.within_answer_budget(conn, answer, now_ms));
                    if let Some(c) = self.connections.get_mut(&conn) {
                        c.synced = true;
                    }
                }
                Incoming::SyncStep2(update, raw) | Incoming::Update(update, raw) => {
                    let Some((
                        scan,
                        Admitted {
                            suggest, claims, ..
                        },
                    )) = scans.next()
                    else {
                        continue;
                    };
                    if let Some(doc) = suggest {
                        self.suggest(&actor, &doc, raw, now_ms);
                        continue;
                    }
                    self.apply(update)?;
                    self.zones.record(&scan);
                    let changes = self.drain_changes();
                    if changes.is_empty() {
                        continue;
                    }
                    let touched = self.zones.touched(&scan);
                    self.note_edit(conn, &actor, &touched, raw.len());
                    self.notice_doc_events(&actor, &scan, &touched, now_ms);
                    out.extend(self.queue_changes(Some(conn), changes));
                    out.extend(self.claim_clients(&actor, &claims, now_ms));
                }
                Incoming::Awareness(update) => {
                    self.claim_awareness(conn, &update);
                    let frame = protocol::awareness(update.clone());
                    self.awareness
                        .apply_update(update)
                        .map_err(|e| Error::malformed("awareness update", e))?;
                    // Back to the sender too, as the stock server does: a y-websocket
                    // client that hears nothing for 30 s reconnects, and its own
                    // awareness renewal every 15 s is what a lone client hears.
                    out.push(Outgoing {
                        to: Recipient::All,
                        frame,
                    });
                }
                Incoming::AwarenessQuery => {
                    if std::mem::replace(&mut answered_presence, true) {
                        continue;
                    }
                    if let Some(frame) = self.full_awareness_frame() {
                        let answer = vec![Outgoing {
                            to: Recipient::Only(conn),
                            frame,
                        }];
                        out.extend(self.within_answer_budget(conn, answer, now_ms));
                    }
                }
                Incoming::Request { id, op, args } => {
                    let body = match self.handle_op(&actor, &op, args, now_ms) {
                        Ok(result) => json!({ "ok": true, "result": result }),
                        Err(e) => {
                            json!({ "ok": false, "error": { "code": e.code, "message": e.message } })
                        }
                    };
                    out.push(Outgoing {
                        to: Recipient::Only(conn),
                        frame: protocol::response(id, &body),
                    });
                }
                _ => {}
            }
        }
        if let Some(n) = seq {
            if let Some(c) = self.connections.get_mut(&conn) {
                c.last_seq = n;
            }
            self.acks.push((conn, n));
        }
        Ok(out)
    }

    /// The answer to a sync step 1: everything the connection lacks, in parts of at most
    /// [`SYNC_CHUNK_BYTES`] (each a valid update; the last one is the sync step 2, so a
    /// stock client counts itself synced once it has everything).
    fn sync_answer(&mut self, conn: ConnId, sv: &StateVector) -> Vec<Outgoing> {
        let update = if sv.is_empty() {
            None
        } else {
            Some(self.diff(sv))
        };
        let frames = match update {
            None if self.whole_room_frame().len() <= SYNC_CHUNK_BYTES => {
                vec![self.whole_room_frame().to_vec()]
            }
            Some(u) if u.len() <= SYNC_CHUNK_BYTES => vec![protocol::sync_step2(u)],
            other => {
                let u = other.unwrap_or_else(|| self.diff(sv));
                let parts = split_update_v1(&u, SYNC_CHUNK_BYTES).unwrap_or_else(|_| vec![u]);
                let last = parts.len().saturating_sub(1);
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| {
                        if i == last {
                            protocol::sync_step2(p)
                        } else {
                            protocol::sync_update(p)
                        }
                    })
                    .collect()
            }
        };
        frames
            .into_iter()
            .map(|frame| Outgoing {
                to: Recipient::Only(conn),
                frame,
            })
            .collect()
    }

    /// Relay (or queue, when coalescing) and keep for persistence the changes an
    /// update made. `from` is the sender (`None` for the room's own writes).
    fn queue_changes(&mut self, from: Option<ConnId>, changes: Vec<Vec<u8>>) -> Vec<Outgoing> {
        self.full_state = None;
        let mut out = Vec::new();
        let recipients = if self.coalesce {
            Vec::new()
        } else {
            self.synced(from)
        };
        for change in changes {
            if self.coalesce {
                self.relay_queue.push((from.unwrap_or(0), change.clone()));
            } else if !recipients.is_empty() {
                out.push(Outgoing {
                    to: Recipient::Many(recipients.clone()),
                    frame: protocol::sync_update(change.clone()),
                });
            }
            self.size_bytes += change.len() as u64;
            self.unpersisted.push(change);
        }
        self.note_size();
        out
    }

    /// Hold an update as a suggestion for `doc`.
    fn suggest(&mut self, actor: &Actor, doc: &str, update: Vec<u8>, now_ms: u64) {
        let bytes = update.len();
        let id = self.authority.add_suggestion(actor, doc, &update, now_ms);
        self.authority_dirty = true;
        self.event(
            "suggestion.created",
            Some(actor),
            Some(&id),
            json!({ "document": doc, "bytes": bytes }),
        );
    }

    fn note_edit(
        &mut self,
        conn: ConnId,
        actor: &Actor,
        touched: &BTreeSet<Option<ZonePath>>,
        bytes: usize,
    ) {
        let zones = touched.iter().flatten().filter_map(|p| p.first().cloned());
        let batch = self.edits.entry(conn).or_default();
        batch.actor.get_or_insert_with(|| actor.clone());
        batch.updates += 1;
        batch.bytes += bytes as u64;
        batch.zones.extend(zones);
    }

    /// Events the document itself carries: a new message, a turn that finished, a stop
    /// request, a handoff.
    fn notice_doc_events(
        &mut self,
        actor: &Actor,
        scan: &Scan,
        touched: &BTreeSet<Option<ZonePath>>,
        now_ms: u64,
    ) {
        let mut messages = BTreeSet::new();
        for item in &scan.items {
            if let (true, Some(crate::protocol::scan::ParentRef::Root(root)), Some(key)) =
                (item.is_type, &item.parent, &item.parent_sub)
            {
                if root == "messages" {
                    messages.insert(key.clone());
                } else if root == "contextEvents" && self.is_handoff(key) {
                    self.event("handoff", Some(actor), Some(key), json!({}));
                }
            }
        }
        for path in touched.iter().flatten() {
            if path.len() >= 2 && path[0] == "messages" {
                messages.insert(path[1].clone());
            }
        }
        for id in messages {
            let Some(m) = crate::model::message_in(self.awareness.doc(), &id) else {
                continue;
            };
            let status = m.status.as_str().to_owned();
            let stop = m.stop_requested_by.is_some();
            let before = self.turns.insert(id.clone(), (status.clone(), stop));
            let detail = json!({
                "message": id,
                "conversation": m.conversation,
                "author": m.author,
                "status": status,
            });
            if before.is_none() && m.created_at as u64 + 60_000 > now_ms {
                self.event("message.posted", Some(actor), Some(&id), detail.clone());
            }
            // A message first seen already closed (a plain post) finished no turn here.
            let (was, stopped) = before.unwrap_or_else(|| (status.clone(), false));
            let open = |s: &str| s == "pending" || s == "streaming";
            if open(&was) && !open(&status) {
                self.event("turn.finished", Some(actor), Some(&id), detail.clone());
            }
            if stop && !stopped {
                self.event("stop.requested", Some(actor), Some(&id), detail);
            }
        }
    }

    fn is_handoff(&self, id: &str) -> bool {
        let txn = self.awareness.doc().transact();
        let Some(events) = txn.get_map("contextEvents") else {
            return false;
        };
        matches!(
            events.get(&txn, id),
            Some(yrs::Out::YMap(m)) if matches!(m.get(&txn, "kind"), Some(yrs::Out::Any(yrs::Any::String(k))) if &*k == "handoff")
        )
    }

    fn event(&mut self, action: &str, actor: Option<&Actor>, target: Option<&str>, detail: Value) {
        let at = self.clock.now();
        self.events
            .push(Event::new(action, actor, target, detail, at));
    }

    /// Events since the last call, oldest first: the edge audits them, shows them live
    /// and sends them to webhooks. With `with_edits`, the edit batches too (one per
    /// connection since the last such call): the edge asks for them once per flush.
    pub fn take_events(&mut self, with_edits: bool) -> Vec<Event> {
        let at = self.clock.now();
        let edits = if with_edits {
            std::mem::take(&mut self.edits)
        } else {
            BTreeMap::new()
        };
        for (_, batch) in edits {
            let zones: Vec<String> = batch.zones.into_iter().collect();
            let target = zones.join(",");
            self.events.push(Event::new(
                "edit",
                batch.actor.as_ref(),
                (!target.is_empty()).then_some(target.as_str()),
                json!({ "updates": batch.updates, "bytes": batch.bytes, "touched": zones }),
                at,
            ));
        }
        std::mem::take(&mut self.events)
    }

    /// Acks for the updates applied since the last call: call once they are stored.
    pub fn take_acks(&mut self) -> Vec<Outgoing> {
        let mut last: BTreeMap<ConnId, u64> = BTreeMap::new();
        for (conn, n) in std::mem::take(&mut self.acks) {
            let e = last.entry(conn).or_default();
            *e = (*e).max(n);
        }
        last.into_iter()
            .filter(|(c, _)| self.connections.contains_key(c))
            .map(|(conn, n)| Outgoing {
                to: Recipient::Only(conn),
                frame: protocol::ack(n),
            })
            .collect()
    }

    /// Lapse the leases that expired by `now_ms` (their events wait in
    /// [`Room::take_events`]); returns when the next one lapses.
    pub fn expire_leases(&mut self, now_ms: u64) -> Option<u64> {
        self.clock.set(now_ms);
        let events = self.authority.expire(now_ms);
        if !events.is_empty() {
            self.authority_dirty = true;
            self.events.extend(events);
        }
        self.authority.locks.next_expiry()
    }

    /// Record an event the edge itself raised (a webhook delivery, a conflict seen).
    pub fn record_event(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Connections to close (they left or were removed), since the last call.
    pub fn take_closures(&mut self) -> Vec<Closure> {
        std::mem::take(&mut self.closures)
    }

    /// Run an operation for `actor`: the authority's (leases, members, activities,
    /// collaborations, webhooks) or the room's own (messages, documents, presence,
    /// suggestions). Events it raises wait in [`Room::take_events`]; frames (role
    /// changes, the room's own writes) are relayed from [`Room::take_pending`].
    pub fn handle_op(
        &mut self,
        actor: &Actor,
        op: &str,
        args: Value,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        self.clock.set(now_ms);
        match op {
            "room.summary" => return Ok(self.summary(now_ms)),
            "presence.list" => return Ok(json!({ "presence": self.presence_states() })),
            "message.list" | "message.post" | "document.list" | "document.get"
            | "document.write" | "suggestion.accept" => {
                return self.doc_op(actor, op, args, now_ms);
            }
            _ => {}
        }
        let before: Vec<(String, Role)> = self.member_roles();
        let outcome = self.authority.handle(actor, op, args, now_ms)?;
        if !op.ends_with(".list") && op != "lock.verify" {
            self.authority_dirty = true;
        }
        self.events.extend(outcome.events);
        let mut result = outcome.result;
        if let Some(mut claims) = outcome.mint {
            let Some((secret, room)) = &self.token_key else {
                return Err(OpError::invalid(
                    "this room cannot sign invitations (no secret)",
                ));
            };
            claims.room = room.clone();
            result["token"] = Value::from(crate::authority::token::mint(secret, &claims));
            result["expiresAt"] = Value::from(claims.exp);
        }
        if let Some((user, None)) = &outcome.role_change {
            for (conn, c) in &self.connections {
                if &c.actor.id == user {
                    self.closures.push(Closure {
                        conn: *conn,
                        code: 4410,
                        reason: format!("{user} left or was removed from the room"),
                    });
                }
            }
        }
        if before != self.member_roles() || outcome.role_change.is_some() {
            self.refresh_roles();
        }
        Ok(result)
    }

    fn member_roles(&self) -> Vec<(String, Role)> {
        self.connections
            .values()
            .map(|c| (c.actor.id.clone(), c.actor.role))
            .collect()
    }

    /// Give every connection its current role from the member list, and tell the ones
    /// whose role changed.
    fn refresh_roles(&mut self) {
        let mut changed = Vec::new();
        for (conn, c) in self.connections.iter_mut() {
            if let Some(role) = self.authority.member_role(&c.actor.id) {
                if role != c.actor.role {
                    c.actor.role = role;
                    changed.push(*conn);
                }
            }
        }
        for conn in changed {
            if let Some(c) = self.connections.get(&conn) {
                if c.confab {
                    self.pending.push(Outgoing {
                        to: Recipient::Only(conn),
                        frame: protocol::session(&session_info(&c.actor)),
                    });
                }
            }
        }
    }

    /// Frames produced outside [`Room::receive`] (role changes, the room's own writes),
    /// to send now.
    pub fn take_pending(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.pending)
    }

    fn presence_states(&self) -> Vec<Value> {
        self.awareness
            .iter()
            .filter_map(|(id, s)| {
                let data = s.data.as_ref()?;
                let state: Value = serde_json::from_str(data).ok()?;
                Some(json!({ "clientId": id.get(), "state": state }))
            })
            .collect()
    }

    fn summary(&self, now_ms: u64) -> Value {
        let reader = self.reader();
        let documents: Vec<Value> = reader
            .documents()
            .into_iter()
            .map(|d| json!({ "id": d.id, "title": d.title }))
            .collect();
        let conversations: Vec<String> = reader.conversations().into_iter().map(|c| c.id).collect();
        let online: Vec<Value> = self
            .connections
            .values()
            .map(|c| json!({ "user": c.actor.id, "name": c.actor.name, "kind": c.actor.kind.as_str(), "role": c.actor.role }))
            .collect();
        json!({
            "connections": self.connections.len(),
            "online": online,
            "presence": self.presence_count(),
            "documents": documents,
            "conversations": conversations,
            "leases": self.authority.locks.leases(now_ms),
            "policies": self.authority.locks.policies(),
        })
    }

    /// Operations on the document itself, written under the room's own client id.
    fn doc_op(
        &mut self,
        actor: &Actor,
        op: &str,
        args: Value,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ListArgs {
            #[serde(default)]
            conversation: Option<String>,
        }
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct IdArgs {
            id: String,
        }
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct PostArgs {
            #[serde(default)]
            conversation: Option<String>,
            text: String,
        }
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct WriteArgs {
            id: String,
            text: String,
            #[serde(default)]
            title: Option<String>,
            #[serde(default)]
            fence: Option<u64>,
        }
        use crate::authority::args as parse;
        let core_err = |e: Error| match e {
            Error::UnknownConversation(_)
            | Error::UnknownDocument(_)
            | Error::UnknownMessage(_) => OpError::not_found(e.to_string()),
            e => OpError::invalid(e.to_string()),
        };
        let result = match op {
            "message.list" => {
                let a: ListArgs = parse(op, args)?;
                let reader = self.reader();
                let conversations = match a.conversation {
                    Some(c) => vec![c],
                    None => reader.conversations().into_iter().map(|c| c.id).collect(),
                };
                let mut all = Vec::new();
                for c in conversations {
                    all.extend(reader.messages(&c).map_err(core_err)?);
                }
                return Ok(json!({ "messages": all }));
            }
            "document.list" => {
                let reader = self.reader();
                let docs: Vec<Value> = reader
                    .documents()
                    .into_iter()
                    .map(|d| {
                        let len = reader
                            .document_text(&d.id)
                            .map_or(0, |t| t.encode_utf16().count());
                        json!({ "id": d.id, "title": d.title, "length": len })
                    })
                    .collect();
                return Ok(json!({ "documents": docs }));
            }
            "document.get" => {
                let id = parse::<IdArgs>(op, args)?.id;
                let reader = self.reader();
                let info = reader
                    .documents()
                    .into_iter()
                    .find(|d| d.id == id)
                    .ok_or_else(|| OpError::not_found(format!("unknown document `{id}`")))?;
                let text = reader.document_text(&id).map_err(core_err)?;
                return Ok(json!({ "id": id, "title": info.title, "text": text }));
            }
            "message.post" => {
                Authority::require(actor, op, Role::Editor)?;
                let a: PostArgs = parse(op, args)?;
                let conversation = a.conversation.unwrap_or_else(|| "main".into());
                let text = a.text;
                if text.len() > crate::authority::MAX_TEXT_BYTES * 16 {
                    return Err(OpError::invalid("message.post: `text` is over 256 KiB"));
                }
                let who = actor.participant();
                let role = if who.kind == crate::doc::ParticipantKind::Agent {
                    crate::model::Role::Assistant
                } else {
                    crate::model::Role::User
                };
                let writer = self.writer(now_ms);
                writer
                    .ensure_conversation(&conversation, &conversation, &who, now_ms)
                    .map_err(core_err)?;
                let id = writer
                    .post_message(&conversation, &who, role, &text, now_ms)
                    .map_err(core_err)?;
                json!({ "id": id, "conversation": conversation })
            }
            "document.write" => {
                Authority::require(actor, op, Role::Editor)?;
                let a: WriteArgs = parse(op, args)?;
                let (id, text) = (a.id, a.text);
                if let Some(fence) = a.fence {
                    let lease = self
                        .authority
                        .locks
                        .verify(&format!("doc:{id}"), fence, now_ms)
                        .map_err(OpError::from)?;
                    if lease.holder != actor.id {
                        return Err(OpError::forbidden(format!(
                            "fencing token {fence} belongs to {}",
                            lease.holder
                        )));
                    }
                }
                if let Err(policy) = self.authority.locks.write_check(&id, &actor.id, now_ms) {
                    return Err(OpError {
                        code: "lease_required",
                        status: 409,
                        message: format!(
                            "document `{id}` requires a lease for writes ({} policy) and {} holds none: acquire `doc:{id}` first",
                            policy.as_str(),
                            actor.id
                        ),
                    });
                }
                let title = a.title.unwrap_or_else(|| id.clone());
                let writer = self.writer(now_ms);
                writer
                    .ensure_document(&id, &title, now_ms)
                    .map_err(core_err)?;
                let len = writer
                    .document_text(&id)
                    .map_err(core_err)?
                    .encode_utf16()
                    .count() as u32;
                writer.replace_text(&id, 0, len, &text).map_err(core_err)?;
                json!({ "id": id, "length": text.encode_utf16().count() })
            }
            "suggestion.accept" => {
                let id = parse::<IdArgs>(op, args)?.id;
                let (doc, update) = self.authority.suggestion_update(&id)?;
                self.authority
                    .may_decide_suggestion(actor, &doc, "accept", now_ms)?;
                let decoded = Update::decode_v1(&update)
                    .map_err(|e| OpError::invalid(format!("stored suggestion `{id}`: {e}")))?;
                let scan = scan_update_v1(&update).map_err(|e| OpError::invalid(e.to_string()))?;
                self.apply(decoded)
                    .map_err(|e| OpError::invalid(e.to_string()))?;
                self.zones.record(&scan);
                self.authority.resolve_suggestion(&id, true);
                self.authority_dirty = true;
                self.event(
                    "suggestion.accepted",
                    Some(actor),
                    Some(&id),
                    json!({ "document": doc }),
                );
                json!({ "accepted": id, "document": doc })
            }
            _ => return Err(OpError::not_found(format!("unknown operation `{op}`"))),
        };
        let changes = self.drain_changes();
        for change in &changes {
            if let Ok(scan) = scan_update_v1(change) {
                self.zones.record(&scan);
                let touched = self.zones.touched(&scan);
                self.notice_doc_events(actor, &scan, &touched, now_ms);
            }
        }
        let out = self.queue_changes(None, changes);
        self.pending.extend(out);
        Ok(result)
    }

    /// The room's own writer (client id 0, ids seeded with the time so they never
    /// repeat across restarts).
    fn writer(&mut self, now_ms: u64) -> &mut RoomDoc {
        let doc = self.awareness.doc().clone();
        self.writer.get_or_insert_with(|| {
            let mut w = RoomDoc::from_doc(doc);
            w.epochs.detach();
            w.seed_ids(now_ms);
            w
        })
    }

    fn reader(&self) -> RoomDoc {
        let doc = RoomDoc::from_doc(self.awareness.doc().clone());
        doc.epochs.detach();
        doc
    }

    /// Record which awareness clients `conn` speaks for. A connection claims a client
    /// id nobody else holds, or one whose state it brings with a newer clock (that
    /// client reconnected through it). A client that merely forwards others' states —
    /// as y-websocket does when answering an awareness query — claims nothing of theirs,
    /// so closing it never removes someone else's presence.
    fn claim_awareness(&mut self, conn: ConnId, update: &yrs::sync::AwarenessUpdate) {
        let claimed: Vec<u64> = self.claimable(conn, update).collect();
        for raw in claimed {
            for (other, c) in self.connections.iter_mut() {
                if *other != conn {
                    c.awareness_clients.remove(&raw);
                }
            }
            if let Some(c) = self.connections.get_mut(&conn) {
                c.awareness_clients.insert(raw);
            }
        }
    }

    /// The awareness client ids of `update` that `conn` would claim.
    fn claimable<'a>(
        &'a self,
        conn: ConnId,
        update: &'a yrs::sync::AwarenessUpdate,
    ) -> impl Iterator<Item = u64> + 'a {
        update.clients.iter().filter_map(move |(id, entry)| {
            let raw = id.get();
            let held_elsewhere = self
                .connections
                .iter()
                .any(|(other, c)| *other != conn && c.awareness_clients.contains(&raw));
            let newer = self
                .awareness
                .meta(*id)
                .is_none_or(|(clock, _)| entry.clock > clock);
            (!held_elsewhere || newer).then_some(raw)
        })
    }

    /// Frames to send once a room was rebuilt while sockets stayed open (the object
    /// hibernated or was evicted): presence lived only in memory, so ask every
    /// connection for its awareness again.
    pub fn after_restore(&self) -> Vec<Outgoing> {
        if self.connections.is_empty() {
            return Vec::new();
        }
        vec![Outgoing {
            to: Recipient::All,
            frame: protocol::encode(&yrs::sync::Message::AwarenessQuery),
        }]
    }

    /// A connection closed: forget it and remove the presence states it published —
    /// and only those — for everyone else.
    pub fn disconnect(&mut self, conn: ConnId, now_ms: u64) -> Vec<Outgoing> {
        self.clock.set(now_ms);
        let Some(gone) = self.connections.remove(&conn) else {
            return Vec::new();
        };
        self.event("leave", Some(&gone.actor), None, json!({}));
        let still_owned: BTreeSet<u64> = self
            .connections
            .values()
            .flat_map(|c| c.awareness_clients.iter().copied())
            .collect();
        let ids: Vec<yrs::ClientID> = gone
            .awareness_clients
            .into_iter()
            .filter(|id| !still_owned.contains(id))
            .map(yrs::ClientID::new)
            .filter(|id| self.awareness.meta(*id).is_some())
            .collect();
        if ids.is_empty() {
            return Vec::new();
        }
        for id in &ids {
            self.awareness.remove_state(*id);
        }
        match self.awareness.update_with_clients(ids) {
            Ok(update) => vec![Outgoing {
                to: Recipient::All,
                frame: protocol::awareness(update),
            }],
            Err(_) => Vec::new(),
        }
    }

    fn apply(&mut self, update: Update) -> Result<()> {
        let mut txn = self.awareness.doc().transact_mut();
        txn.apply_update(update)
            .map_err(|e| Error::InvalidUpdate(e.to_string()))
    }

    /// The whole room as one sync step 2 frame (what a joiner with nothing gets), kept
    /// until the document changes.
    pub fn whole_room_frame(&mut self) -> &[u8] {
        if self.full_state.is_none() {
            let diff = self.diff(&StateVector::default());
            self.full_state = Some(protocol::sync_step2(diff));
        }
        self.full_state.as_deref().unwrap_or_default()
    }

    fn diff(&self, sv: &StateVector) -> Vec<u8> {
        self.awareness.doc().transact().encode_diff_v1(sv)
    }

    fn full_awareness_frame(&self) -> Option<Vec<u8>> {
        let update = self.awareness.update().ok()?;
        if update.clients.is_empty() {
            None
        } else {
            Some(protocol::awareness(update))
        }
    }

    /// True when some applied update has not been persisted yet.
    pub fn is_dirty(&self) -> bool {
        !self.unpersisted.is_empty()
    }

    /// Bytes of the updates not yet persisted.
    pub fn unpersisted_bytes(&self) -> u64 {
        self.unpersisted.iter().map(|u| u.len() as u64).sum()
    }

    /// Hand over the updates not yet persisted (oldest first).
    pub fn take_unpersisted(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.unpersisted)
    }

    /// The whole document as one update (v1), for compaction.
    pub fn snapshot(&self) -> Vec<u8> {
        self.awareness
            .doc()
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// Number of presence states currently known (not removed).
    pub fn presence_count(&self) -> usize {
        self.awareness
            .iter()
            .filter(|(_, s)| s.data.is_some())
            .count()
    }

    /// Every conflict in the room, found by the same code as on every client.
    pub fn conflicts(&self) -> Vec<crate::conflict::Conflict> {
        let mut doc = crate::doc::RoomDoc::from_doc(self.awareness.doc().clone());
        let list = doc.conflicts();
        // The room keeps its doc: leave no observer behind filling a queue nobody reads.
        doc.epochs.detach();
        list
    }

    /// Read a Confab document's body (for tests and diagnostics; the room itself does
    /// not interpret the document).
    pub fn document_text(&self, id: &str) -> Option<String> {
        let txn = self.awareness.doc().transact();
        txn.get_text(doc_text_name(id).as_str())
            .map(|t| t.get_string(&txn))
    }
}

/// What a Confab client learns about itself.
fn session_info(actor: &Actor) -> Value {
    json!({
        "user": actor.id,
        "name": actor.name,
        "kind": actor.kind.as_str(),
        "role": actor.role,
        "readOnly": !actor.role.can_edit(),
        "verified": !actor.is_anonymous(),
    })
}

#[cfg(test)]
mod tests;
