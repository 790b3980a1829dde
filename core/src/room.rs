//! The server side of a room, sans-IO.
//!
//! The edge feeds it what happens on sockets — [`Room::connect`], [`Room::receive`],
//! [`Room::disconnect`] — and sends the [`Outgoing`] frames it returns. Updates that
//! changed the document are kept until [`crate::store::persist`] writes them: that is
//! the dirty signal. The room is schema-agnostic: any valid Yjs update is accepted,
//! stored and relayed.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use yrs::sync::Awareness;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Options, ReadTxn, StateVector, Transact, Update};

use crate::clock::ManualClock;
use crate::error::{Error, Result};
use crate::model::doc_text_name;
use crate::protocol::{self, decode_frame, Hello, Incoming};

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

#[derive(Debug, Default)]
struct Connection {
    /// Speaks Confab's extra message types (announced when it connected).
    confab: bool,
    /// Awareness client ids this connection has published states for.
    awareness_clients: BTreeSet<u64>,
    /// The room has answered this connection's sync step 1. Live updates are relayed
    /// only from then on: everything before is in that answer, and an update that
    /// arrives ahead of what it builds on would leave the client with a gap.
    synced: bool,
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
    /// The whole room as one sync step 2 frame, kept until the document changes: a
    /// joiner that has nothing (every fresh client, every storm of reloads) gets it
    /// without the room encoding itself again.
    full_state: Option<Vec<u8>>,
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
            full_state: None,
        }
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

    /// Rebuild a room from what [`crate::store`] wrote: the snapshot's parts in order,
    /// then the update log in order. Restored state is not dirty.
    pub fn load<P, L>(snapshot_parts: P, log: L, now_ms: u64) -> Result<Self>
    where
        P: IntoIterator,
        P::Item: AsRef<[u8]>,
        L: IntoIterator,
        L::Item: AsRef<[u8]>,
    {
        let room = Room::new(now_ms);
        let snapshot: Vec<u8> = snapshot_parts
            .into_iter()
            .flat_map(|p| p.as_ref().to_vec())
            .collect();
        {
            let mut txn = room.awareness.doc().transact_mut();
            if !snapshot.is_empty() {
                let update = Update::decode_v1(&snapshot)
                    .map_err(|e| Error::malformed("stored snapshot", e))?;
                txn.apply_update(update)
                    .map_err(|e| Error::InvalidUpdate(e.to_string()))?;
            }
            for entry in log {
                let update = Update::decode_v1(entry.as_ref())
                    .map_err(|e| Error::malformed("stored update", e))?;
                txn.apply_update(update)
                    .map_err(|e| Error::InvalidUpdate(e.to_string()))?;
            }
        }
        room.drain_changes();
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
        self.connections.insert(
            conn,
            Connection {
                confab,
                awareness_clients: BTreeSet::new(),
                synced: false,
            },
        );
        let mut out = Vec::new();
        if confab {
            out.push(Outgoing {
                to: Recipient::Only(conn),
                frame: protocol::hello(Hello {
                    session: conn,
                    server_time_ms: self.clock.now(),
                }),
            });
        }
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
    ) {
        self.connections.insert(
            conn,
            Connection {
                confab,
                awareness_clients: awareness_clients.into_iter().collect(),
                synced,
            },
        );
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
        let messages = decode_frame(frame)?;
        if messages.iter().any(|m| matches!(m, Incoming::Hello(_))) {
            return Err(Error::UnsupportedMessage(protocol::MSG_CONFAB_HELLO));
        }
        self.connections.entry(conn).or_default();
        let mut out = Vec::new();
        for message in messages {
            match message {
                Incoming::SyncStep1(sv) => {
                    let frame = if sv.is_empty() {
                        self.whole_room_frame().to_vec()
                    } else {
                        protocol::sync_step2(self.diff(&sv))
                    };
                    out.push(Outgoing {
                        to: Recipient::Only(conn),
                        frame,
                    });
                    if let Some(c) = self.connections.get_mut(&conn) {
                        c.synced = true;
                    }
                }
                Incoming::SyncStep2(update) | Incoming::Update(update) => {
                    self.apply(update)?;
                    let changes = self.drain_changes();
                    if !changes.is_empty() {
                        self.full_state = None;
                    }
                    let recipients = if self.coalesce {
                        Vec::new()
                    } else {
                        self.synced(Some(conn))
                    };
                    for change in changes {
                        if self.coalesce {
                            self.relay_queue.push((conn, change.clone()));
                        } else if !recipients.is_empty() {
                            out.push(Outgoing {
                                to: Recipient::Many(recipients.clone()),
                                frame: protocol::sync_update(change.clone()),
                            });
                        }
                        self.unpersisted.push(change);
                    }
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
                    if let Some(frame) = self.full_awareness_frame() {
                        out.push(Outgoing {
                            to: Recipient::Only(conn),
                            frame,
                        });
                    }
                }
                Incoming::Auth(_) | Incoming::Hello(_) => {}
            }
        }
        Ok(out)
    }

    /// Record which awareness clients `conn` speaks for. A connection claims a client
    /// id nobody else holds, or one whose state it brings with a newer clock (that
    /// client reconnected through it). A client that merely forwards others' states —
    /// as y-websocket does when answering an awareness query — claims nothing of theirs,
    /// so closing it never removes someone else's presence.
    fn claim_awareness(&mut self, conn: ConnId, update: &yrs::sync::AwarenessUpdate) {
        for (id, entry) in &update.clients {
            let raw = id.get();
            let held_elsewhere = self
                .connections
                .iter()
                .any(|(other, c)| *other != conn && c.awareness_clients.contains(&raw));
            let newer = self
                .awareness
                .meta(*id)
                .is_none_or(|(clock, _)| entry.clock > clock);
            if held_elsewhere && !newer {
                continue;
            }
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
        let mut doc = crate::model::RoomDoc::from_doc(self.awareness.doc().clone());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Participant;
    use crate::session::Session;

    /// Deliver every frame between a room and its sessions until nothing moves.
    pub(crate) fn pump(
        room: &mut Room,
        clients: &mut [(ConnId, &mut Session)],
        mut pending: Vec<Outgoing>,
    ) {
        for _ in 0..32 {
            let mut upstream: Vec<(ConnId, Vec<u8>)> = Vec::new();
            for (conn, session) in clients.iter_mut() {
                for o in pending.iter().filter(|o| o.to.includes(*conn)) {
                    let got = session
                        .receive(&o.frame, 0)
                        .expect("client accepts room frames");
                    upstream.extend(got.replies.into_iter().map(|f| (*conn, f)));
                }
                upstream.extend(session.drain_outgoing().into_iter().map(|f| (*conn, f)));
            }
            pending.clear();
            if upstream.is_empty() {
                return;
            }
            for (conn, frame) in upstream {
                pending.extend(
                    room.receive(conn, &frame, 0)
                        .expect("room accepts client frames"),
                );
            }
        }
        panic!("frames kept flowing");
    }

    /// A room with sessions a (conn 1) and b (conn 2), joined and synced.
    fn two_joined() -> (Room, Session, Session) {
        let mut room = Room::new(0);
        let mut a = Session::new(1, Participant::person("a", "A"), 0);
        let mut b = Session::new(2, Participant::person("b", "B"), 0);
        let mut pending = join(&mut room, 1, &mut a);
        pending.extend(join(&mut room, 2, &mut b));
        pump(&mut room, &mut [(1, &mut a), (2, &mut b)], pending);
        (room, a, b)
    }

    fn join(room: &mut Room, conn: ConnId, session: &mut Session) -> Vec<Outgoing> {
        let mut out = room.connect(conn, true);
        for frame in session.handshake() {
            out.extend(room.receive(conn, &frame, 0).unwrap());
        }
        out
    }

    #[test]
    fn two_sessions_converge_through_the_room() -> Result<()> {
        let (mut room, mut a, mut b) = two_joined();
        a.doc_mut().create_document(Some("d"), "D", 0)?;
        a.doc_mut().insert_text("d", 0, "hello")?;
        b.doc_mut().ensure_document("d", "D", 0)?;
        b.doc_mut().insert_text("d", 0, "!")?;
        pump(&mut room, &mut [(1, &mut a), (2, &mut b)], Vec::new());
        let text = a.doc().document_text("d")?;
        assert_eq!(text, b.doc().document_text("d")?);
        assert_eq!(room.document_text("d"), Some(text));
        assert!(room.is_dirty());
        Ok(())
    }

    #[test]
    fn coalesced_updates_go_out_once_per_burst() -> Result<()> {
        let (mut room, mut a, mut b) = two_joined();
        let mut c = Session::new(3, Participant::person("c", "C"), 0);
        let pending = join(&mut room, 3, &mut c);
        pump(&mut room, &mut [(3, &mut c)], pending);
        room.set_coalescing(true);

        // One sender: nothing goes out until the flush, then one frame to the others.
        a.doc_mut().create_document(Some("d"), "D", 0)?;
        a.doc_mut().insert_text("d", 0, "hello")?;
        for frame in a.drain_outgoing() {
            assert!(room.receive(1, &frame, 0)?.is_empty(), "updates wait");
        }
        assert!(room.has_pending_relay());
        let out = room.flush_relay();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].to, Recipient::Many(vec![2, 3]));
        assert!(!room.has_pending_relay());
        assert!(room.flush_relay().is_empty());
        pump(&mut room, &mut [(2, &mut b), (3, &mut c)], out);
        assert_eq!(c.doc().document_text("d")?, "hello");

        // Two senders in one burst: one merged update for everyone.
        a.doc_mut().insert_text("d", 5, " world")?;
        b.doc_mut().insert_text("d", 0, ">")?;
        for (conn, s) in [(1, &mut a), (2, &mut b)] {
            for frame in s.drain_outgoing() {
                room.receive(conn, &frame, 0)?;
            }
        }
        let out = room.flush_relay();
        assert_eq!(out.len(), 1, "one merged frame");
        assert_eq!(out[0].to, Recipient::Many(vec![1, 2, 3]));
        pump(&mut room, &mut [(1, &mut a), (2, &mut b), (3, &mut c)], out);
        let text = c.doc().document_text("d")?;
        assert_eq!(text, ">hello world");
        assert_eq!(a.doc().document_text("d")?, text);
        assert_eq!(b.doc().document_text("d")?, text);
        assert_eq!(room.document_text("d"), Some(text));
        Ok(())
    }

    #[test]
    fn fresh_joiners_get_the_current_whole_room() -> Result<()> {
        let (mut room, mut a, _b) = two_joined();
        let empty_step1 = protocol::encode(&yrs::sync::Message::Sync(
            yrs::sync::SyncMessage::SyncStep1(StateVector::default()),
        ));
        let whole = |room: &mut Room, conn: ConnId| -> String {
            let out = room.receive(conn, &empty_step1, 0).unwrap();
            let doc = Doc::new();
            let Ok(messages) = decode_frame(&out[0].frame) else {
                panic!("a frame the room wrote decodes")
            };
            let Some(Incoming::SyncStep2(update)) = messages.into_iter().next() else {
                panic!("the answer is a sync step 2")
            };
            doc.transact_mut().apply_update(update).unwrap();
            let txn = doc.transact();
            txn.get_text(doc_text_name("d").as_str())
                .map(|t| t.get_string(&txn))
                .unwrap_or_default()
        };
        a.doc_mut().create_document(Some("d"), "D", 0)?;
        a.doc_mut().insert_text("d", 0, "one")?;
        pump(&mut room, &mut [(1, &mut a)], Vec::new());
        assert_eq!(whole(&mut room, 7), "one");
        assert_eq!(whole(&mut room, 8), "one", "the kept answer");
        a.doc_mut().insert_text("d", 3, " two")?;
        pump(&mut room, &mut [(1, &mut a)], Vec::new());
        assert_eq!(whole(&mut room, 9), "one two", "not the stale answer");
        Ok(())
    }

    #[test]
    fn late_joiner_gets_full_state() -> Result<()> {
        let mut room = Room::new(0);
        let mut a = Session::new(1, Participant::person("a", "A"), 0);
        let pending = join(&mut room, 1, &mut a);
        pump(&mut room, &mut [(1, &mut a)], pending);
        a.ensure_conversation("c", "C", 0)?;
        a.post_message("c", crate::model::Role::User, "first", 1)?;
        pump(&mut room, &mut [(1, &mut a)], Vec::new());
        let mut late = Session::new(3, Participant::person("l", "L"), 0);
        let pending = join(&mut room, 3, &mut late);
        pump(&mut room, &mut [(3, &mut late)], pending);
        assert!(late.is_synced());
        assert_eq!(late.doc().messages("c")?[0].text, "first");
        Ok(())
    }

    #[test]
    fn malformed_frame_changes_nothing() -> Result<()> {
        let mut room = Room::new(0);
        let mut a = Session::new(1, Participant::person("a", "A"), 0);
        let pending = join(&mut room, 1, &mut a);
        pump(&mut room, &mut [(1, &mut a)], pending);
        room.take_unpersisted();
        a.doc_mut().create_document(Some("d"), "D", 0)?;
        let good = a.drain_outgoing().concat();
        let mut frame = good.clone();
        frame.extend_from_slice(&[0, 2, 0xff, 0xff]);
        let before = room.snapshot();
        let err = room.receive(1, &frame, 0).unwrap_err();
        assert!(err.is_protocol_error());
        assert!(err.to_string().starts_with("malformed"), "{err}");
        assert_eq!(room.snapshot(), before);
        assert!(!room.is_dirty());
        room.receive(1, &good, 0)?;
        assert!(room.is_dirty());
        Ok(())
    }

    #[test]
    fn closing_a_socket_removes_only_its_presence() -> Result<()> {
        let (mut room, _a, mut b) = two_joined();
        assert_eq!(room.presence_count(), 2);
        assert_eq!(b.peers().len(), 2);
        let out = room.disconnect(1, 10);
        assert_eq!(room.presence_count(), 1);
        assert_eq!(room.awareness_clients(2), vec![2]);
        for o in out {
            assert!(o.to.includes(2));
            b.receive(&o.frame, 10)?;
        }
        let peers = b.peers();
        assert_eq!(peers.len(), 1);
        assert!(peers[0].is_self);
        Ok(())
    }

    /// Found by the convergence property test: a live update relayed to a socket before
    /// the room answered its sync step 1 can arrive ahead of what it builds on.
    #[test]
    fn updates_wait_for_the_sync_answer() -> Result<()> {
        let mut room = Room::new(0);
        let mut a = Session::new(1, Participant::person("a", "A"), 0);
        let pending = join(&mut room, 1, &mut a);
        pump(&mut room, &mut [(1, &mut a)], pending);
        // b connects; its sync step 1 has not reached the room yet.
        let greeting = room.connect(2, true);
        assert!(!room.is_synced(2));
        a.doc_mut().create_document(Some("d"), "D", 0)?;
        let mut relayed = Vec::new();
        for frame in a.drain_outgoing() {
            relayed.extend(room.receive(1, &frame, 0)?);
        }
        assert!(
            relayed.iter().all(|o| !o.to.includes(2)),
            "nothing relayed to b yet"
        );
        // b's step 1 arrives: the answer carries the update.
        let mut b = Session::new(2, Participant::person("b", "B"), 0);
        let mut out = greeting;
        for frame in b.handshake() {
            out.extend(room.receive(2, &frame, 0)?);
        }
        assert!(room.is_synced(2));
        pump(&mut room, &mut [(2, &mut b)], out);
        assert_eq!(b.doc().documents().len(), 1);
        // From now on b gets live updates.
        a.doc_mut().insert_text("d", 0, "live")?;
        let mut relayed = Vec::new();
        for frame in a.drain_outgoing() {
            relayed.extend(room.receive(1, &frame, 0)?);
        }
        assert!(relayed.iter().any(|o| o.to.includes(2)));
        Ok(())
    }

    #[test]
    fn a_session_holds_updates_until_it_answers_the_rooms_step1() -> Result<()> {
        let mut room = Room::new(0);
        let mut a = Session::new(1, Participant::person("a", "A"), 0);
        let greeting = room.connect(1, true);
        let hello = a.handshake();
        a.doc_mut().create_document(Some("d"), "D", 0)?;
        a.doc_mut().insert_text("d", 0, "offline")?;
        assert!(
            a.drain_outgoing()
                .iter()
                .all(|f| f[0] != protocol::MSG_SYNC),
            "no update before the answer"
        );
        let mut out = Vec::new();
        for frame in hello {
            out.extend(room.receive(1, &frame, 0)?);
        }
        out.extend(greeting);
        pump(&mut room, &mut [(1, &mut a)], out);
        assert_eq!(
            room.document_text("d").as_deref(),
            Some("offline"),
            "the answer carried it"
        );
        Ok(())
    }

    #[test]
    fn a_restored_room_asks_for_presence_and_forwarders_claim_nothing() -> Result<()> {
        let (room, mut a, mut b) = two_joined();
        // The object hibernates: the room is rebuilt from storage and attachments.
        let mut restored = Room::load([room.snapshot()], Vec::<Vec<u8>>::new(), 0)?;
        restored.restore_connection(1, true, true, room.awareness_clients(1));
        restored.restore_connection(2, true, true, room.awareness_clients(2));
        assert_eq!(restored.presence_count(), 0, "presence lived in memory");
        let ask = restored.after_restore();
        assert_eq!(ask.len(), 1);
        // a answers with its own state; a forwarder answering with everyone's states
        // (as y-websocket does) must not take over b's presence.
        let everyone = {
            let reply = a.receive(&ask[0].frame, 0)?.replies;
            reply.concat()
        };
        let b_state = b.receive(&ask[0].frame, 0)?.replies.concat();
        restored.receive(2, &b_state, 0)?;
        restored.receive(1, &everyone, 0)?;
        let forwarded = protocol::awareness(a_and_b_states(&a, &b));
        restored.receive(1, &forwarded, 0)?;
        assert_eq!(restored.presence_count(), 2);
        assert_eq!(restored.awareness_clients(1), vec![1]);
        assert_eq!(restored.awareness_clients(2), vec![2]);
        // Closing a removes only a.
        restored.disconnect(1, 1);
        assert_eq!(restored.presence_count(), 1);
        Ok(())
    }

    /// An awareness update carrying both sessions' current states, as a forwarder sends.
    fn a_and_b_states(a: &Session, b: &Session) -> yrs::sync::AwarenessUpdate {
        use yrs::updates::decoder::Decode;
        let mut clients = std::collections::HashMap::new();
        for s in [a, b] {
            let update =
                yrs::sync::AwarenessUpdate::decode_v1(&s.presence_snapshot()).expect("valid");
            clients.extend(update.clients);
        }
        yrs::sync::AwarenessUpdate { clients }
    }

    #[test]
    fn stock_clients_get_no_confab_messages() {
        let mut room = Room::new(5);
        let out = room.connect(1, false);
        assert!(out.iter().all(|o| o.frame[0] != protocol::MSG_CONFAB_HELLO));
        let out = room.connect(2, true);
        assert_eq!(out[0].frame[0], protocol::MSG_CONFAB_HELLO);
    }

    #[test]
    fn clients_may_not_send_hello() {
        let mut room = Room::new(0);
        let err = room
            .receive(
                1,
                &protocol::hello(Hello {
                    session: 1,
                    server_time_ms: 0,
                }),
                0,
            )
            .unwrap_err();
        assert_eq!(err, Error::UnsupportedMessage(protocol::MSG_CONFAB_HELLO));
    }
}
