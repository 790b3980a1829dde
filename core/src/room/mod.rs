//! The server side of a room, sans-IO.
//!
//! The edge feeds it what happens on sockets — [`Room::connect`], [`Room::receive`],
//! [`Room::disconnect`] — and sends the [`Outgoing`] frames it returns. Updates that
//! changed the document are kept until [`crate::room::store::persist`] writes them: that is
//! the dirty signal.
//!
//! The room is not schema-agnostic: before yrs sees an update, the write [`gate`] reads
//! it and refuses what its sender may not write (another participant's client id, a
//! viewer's edit, a message in someone else's name, a gap). What passes is applied,
//! stored and relayed unchanged. The room also writes on its own behalf, under client
//! id 0: the REST API's posts and documents, accepted suggestions, the `clients` record.
//!
//! - [`receive`](Room::receive): a frame is checked whole, then applied (`receive.rs`).
//! - `admit.rs`: who may connect, rates, size and answer budgets, presence claims.
//! - `ops.rs`: requests — the room's own operations, and the authority's.
//! - `events.rs`: what edits tell the feed (edit batches, turns, suggestions).
//! - [`files`]: uploads around the object store, and the file tree's operations.
//! - [`search`]: what the search index holds and what a query means (the edge runs it).
//! - [`gate`], [`limits`], [`store`]: the write gate, the limits, the storage policy.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use yrs::sync::Awareness;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Options, ReadTxn, StateVector, Transact, Update};

use serde_json::{json, Value};

use crate::authority::{Actor, Authority, Event, EventKind};
use crate::clock::ManualClock;
use crate::doc::{doc_text_name, RoomDoc};
use crate::error::{Error, Result};
use crate::protocol::close::CloseCode;
use crate::protocol::scan::{scan_stored_v1, ZoneIndex};
use crate::protocol::{self, Hello};
use limits::{Bucket, Limits, RateLimiter};

mod admit;
mod events;
pub mod fanout;
pub mod files;
pub mod gate;
mod headcount;
pub mod limits;
mod notices;
mod ops;
mod receive;
pub mod search;
pub mod store;
mod whole;

pub use admit::RoomSize;
use admit::UserBudget;
pub use notices::Notice;
use whole::WholeRoom;

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
    /// Why.
    pub code: CloseCode,
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
    /// The whole room for a joiner that has nothing (every fresh client, every storm of
    /// reloads), encoded once and kept with the changes since (see [`whole`]).
    full_state: Option<WholeRoom>,
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
    /// Comments as last seen (resolved?, replies), to notice replies and resolutions.
    comments_seen: HashMap<String, (bool, usize)>,
    /// Signs invitations: (secret, room name).
    token_key: Option<(Vec<u8>, String)>,
    /// Writes on the room's own behalf (REST posts, accepted suggestions).
    writer: Option<RoomDoc>,
    /// Search index items changed since the edge last took them: who changed each, when.
    search_dirty: BTreeMap<String, (crate::doc::Participant, u64)>,
    /// Search requests from sockets, for the edge to answer.
    deferred: Vec<search::Deferred>,
    /// Files' bytes the room wrote itself (`file.write`), for the edge to store by hash.
    blobs: Vec<(String, Vec<u8>)>,
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
    /// What the room has announced of its conflicts.
    conflict_watch: crate::conflict::ConflictWatch,
    /// Someone may have come or gone since [`Room::take_present_change`].
    presence_dirty: bool,
    /// Per awareness client, what of its state the space's directory shows.
    presence_digests: HashMap<u64, String>,
    /// Notifications for people's inboxes (see [`Room::take_notices`]).
    notices: Vec<notices::Notice>,
}

impl Room {
    /// An empty room.
    pub fn new(now_ms: u64) -> Self {
        // Client id 0 is the room's own: it writes on its own behalf under it (REST
        // posts, accepted suggestions, the `clients` record, see `Room::writer`), and
        // the write gate refuses it to every participant.
        let mut options = Options::with_client_id(yrs::ClientID::new(0));
        // Keep deleted content so late joiners can still read every named version (and
        // conflicts can be found from the room's own copy); count like clients do.
        options.skip_gc = true;
        options.offset_kind = yrs::OffsetKind::Utf16;
        let doc = Doc::with_options(options);
        let changes: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let sink = changes.clone();
        doc.observe_update_v1("confab-room", move |_, event| {
            // A panic while holding the lock leaves the list whole: keep using it.
            let mut sink = sink
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            sink.push(event.update.clone());
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
            comments_seen: HashMap::new(),
            token_key: None,
            writer: None,
            blobs: Vec::new(),
            search_dirty: BTreeMap::new(),
            deferred: Vec::new(),
            owners: HashMap::new(),
            size_bytes: 0,
            size_warned: false,
            users: HashMap::new(),
            read_only: None,
            conflict_watch: crate::conflict::ConflictWatch::new(),
            presence_dirty: false,
            presence_digests: HashMap::new(),
            notices: Vec::new(),
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
        // What the comments were, so the first reply or resolution after a restart is
        // told from what was announced before it.
        room.comments_seen = crate::model::comment::comment_states(room.awareness.doc())
            .into_iter()
            .collect();
        Ok(room)
    }

    fn drain_changes(&self) -> Vec<Vec<u8>> {
        std::mem::take(
            &mut *self
                .changes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
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
        self.event(
            EventKind::Join,
            Some(&actor),
            None,
            json!({ "role": actor.role }),
        );
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

    /// Connections to close (they left or were removed), since the last call.
    pub fn take_closures(&mut self) -> Vec<Closure> {
        std::mem::take(&mut self.closures)
    }

    /// Frames produced outside [`Room::receive`] (role changes, the room's own writes),
    /// to send now.
    pub fn take_pending(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.pending)
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
        self.event(EventKind::Leave, Some(&gone.actor), None, json!({}));
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
        self.presence_dirty = true;
        for id in &ids {
            self.awareness.remove_state(*id);
            self.presence_digests.remove(&id.get());
        }
        match self.awareness.update_with_clients(ids) {
            Ok(update) => vec![Outgoing {
                to: Recipient::All,
                frame: protocol::awareness(update),
            }],
            Err(_) => Vec::new(),
        }
    }

    /// The whole room as sync frames (what a joiner with nothing gets): the room's
    /// state in parts of about [`SYNC_CHUNK_BYTES`], then the changes since it was
    /// encoded, the last frame a sync step 2.
    pub fn whole_room_frames(&mut self) -> Vec<Vec<u8>> {
        self.whole_room().frames()
    }

    /// The bytes of the updates in [`Self::whole_room_frames`].
    pub fn whole_room_bytes(&mut self) -> usize {
        self.whole_room().bytes()
    }

    /// The kept whole room, encoded first if it is not kept.
    fn whole_room(&mut self) -> &WholeRoom {
        if self.full_state.is_none() {
            let state = self.diff(&StateVector::default());
            self.full_state = Some(WholeRoom::new(state));
        }
        self.full_state.as_ref().expect("just encoded")
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

    /// The updates not yet persisted (oldest first), left in place until
    /// [`Room::mark_persisted`] says they are stored.
    pub fn unpersisted(&self) -> &[Vec<u8>] {
        &self.unpersisted
    }

    /// The oldest `n` unpersisted updates are stored.
    pub fn mark_persisted(&mut self, n: usize) {
        let n = n.min(self.unpersisted.len());
        self.unpersisted.drain(..n);
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
        "verified": actor.verified(),
    })
}

#[cfg(test)]
mod comment_tests;
#[cfg(test)]
mod fanout_tests;
#[cfg(test)]
mod file_tests;
#[cfg(test)]
mod notice_tests;
#[cfg(test)]
mod tests;
