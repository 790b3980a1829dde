//! A read-only mirror of a room for a fan-out object: it follows the room over one
//! upstream connection and serves many viewers from its own replica, so a big audience
//! costs the room one connection per fan-out object instead of one per viewer.
//!
//! The mirror speaks the stock y-sync protocol on both sides. Upstream it asks for what
//! it lacks (sync step 1 with its state vector, again after every reconnect, so nothing
//! is missed), applies what the room sends and passes each update and presence change
//! on to every viewer, in the order the room sent them. Viewers are answered from the
//! replica; until the replica has caught up with the room their questions wait. A viewer
//! that sends content of its own is refused: the tier is read-only, writers stay on
//! the room.

use std::collections::BTreeSet;

use yrs::sync::Awareness;
use yrs::updates::decoder::Decode;
use yrs::{Doc, Options, ReadTxn, StateVector, Transact, Update};

use super::receive::to_one;
use super::whole::sync_frames;
use super::{ConnId, Outgoing, Recipient};
use crate::clock::ManualClock;
use crate::error::{Error, Result};
use crate::protocol::{self, Incoming};

/// How many fan-out objects serve a room's viewers unless configured otherwise.
pub const DEFAULT_OBJECTS: u32 = 4;

/// Which of a room's `objects` fan-out objects serves viewers from `region` (a
/// Cloudflare colo or any name a client gives): the same one for everyone there, so a
/// region's viewers share one object near them.
pub fn slot(region: &str, objects: u32) -> u32 {
    let hash = crate::conflict::fnv_str(region);
    (hash % u64::from(objects.max(1))) as u32
}

/// The name of a room's fan-out object `slot` (its Durable Object name).
pub fn object_name(room: &str, slot: u32) -> String {
    format!("{room}#{slot}")
}

/// An update with nothing in it (v1): no clients, no deletions.
const EMPTY_UPDATE: [u8; 2] = [0, 0];

/// A room's replica and its viewers.
pub struct Mirror {
    awareness: Awareness,
    clock: ManualClock,
    /// The room answered our sync step 1 on the current upstream connection.
    synced: bool,
    viewers: BTreeSet<ConnId>,
    /// Viewers whose sync step 1 waits for the replica to catch up (with what they had).
    waiting: Vec<(ConnId, StateVector)>,
}

impl Mirror {
    /// An empty replica (it fills from the room once connected upstream).
    pub fn new(now_ms: u64) -> Self {
        // It never writes: no client id of its own is needed (none is drawn at random).
        let options = Options {
            offset_kind: yrs::OffsetKind::Utf16,
            skip_gc: true,
            ..Options::with_client_id(yrs::ClientID::new(0))
        };
        let clock = ManualClock::new(now_ms);
        Mirror {
            awareness: Awareness::with_clock(Doc::with_options(options), clock.clone()),
            clock,
            synced: false,
            viewers: BTreeSet::new(),
            waiting: Vec::new(),
        }
    }

    /// The frame that opens (or reopens) the upstream connection: what the replica has,
    /// so the room answers with everything since.
    pub fn upstream_hello(&mut self) -> Vec<u8> {
        self.synced = false;
        protocol::sync_step1(self.awareness.doc().transact().state_vector())
    }

    /// Whether the replica has caught up with the room on this upstream connection.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// The upstream connection closed: viewers' questions wait for the next one.
    pub fn upstream_lost(&mut self) {
        self.synced = false;
    }

    /// A frame from the room. Returns the frames for viewers (updates and presence for
    /// everyone, answers for the viewers that waited) and for the room (`to_room`).
    pub fn from_upstream(&mut self, frame: &[u8], now_ms: u64) -> Result<Relayed> {
        self.clock.set(now_ms);
        let mut out = Relayed::default();
        for message in protocol::decode_frame(frame)? {
            match message {
                // The room asks what the replica has that it lacks: nothing, ever.
                Incoming::SyncStep1(_) => out
                    .to_room
                    .push(protocol::sync_step2(EMPTY_UPDATE.to_vec())),
                Incoming::SyncStep2(raw) => {
                    out.to_viewers.push(self.take_upstream_update(raw)?);
                    if !self.synced {
                        self.synced = true;
                        for (conn, sv) in std::mem::take(&mut self.waiting) {
                            out.to_viewers.extend(self.answer(conn, &sv));
                        }
                    }
                }
                Incoming::Update(raw) => out.to_viewers.push(self.take_upstream_update(raw)?),
                Incoming::Awareness(update) => {
                    let frame = protocol::awareness(update.clone());
                    self.awareness
                        .apply_update(update)
                        .map_err(|e| Error::malformed("awareness update", e))?;
                    out.to_viewers.push(Outgoing {
                        to: Recipient::All,
                        frame,
                    });
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Apply an update from the room and pass it on to every viewer.
    fn take_upstream_update(&mut self, raw: Vec<u8>) -> Result<Outgoing> {
        let update = protocol::update_of(&raw)?;
        self.awareness
            .doc()
            .transact_mut()
            .apply_update(update)
            .map_err(|e| Error::InvalidUpdate(e.to_string()))?;
        Ok(Outgoing {
            to: Recipient::All,
            frame: protocol::sync_update(raw),
        })
    }

    /// A viewer connected: ask what it has (so a returning viewer gets only what it
    /// missed) and show it who is here.
    pub fn join(&mut self, conn: ConnId) -> Vec<Outgoing> {
        self.viewers.insert(conn);
        let mut frames = vec![protocol::sync_step1(
            self.awareness.doc().transact().state_vector(),
        )];
        if let Ok(update) = self.awareness.update() {
            if !update.clients.is_empty() {
                frames.push(protocol::awareness(update));
            }
        }
        to_one(conn, frames)
    }

    /// A viewer left.
    pub fn leave(&mut self, conn: ConnId) {
        self.viewers.remove(&conn);
        self.waiting.retain(|(c, _)| *c != conn);
    }

    /// The viewers connected here.
    pub fn viewer_count(&self) -> usize {
        self.viewers.len()
    }

    /// A frame from a viewer: its sync step 1 is answered from the replica (or waits
    /// for it to catch up); an update with content of its own is refused with
    /// [`Error::ViewerWrite`]; the rest (an empty step 2, its presence) is dropped.
    pub fn from_viewer(&mut self, conn: ConnId, frame: &[u8]) -> Result<Vec<Outgoing>> {
        let mut out = Vec::new();
        for message in protocol::decode_frame(frame)? {
            match message {
                Incoming::SyncStep1(sv) if self.synced => out.extend(self.answer(conn, &sv)),
                Incoming::SyncStep1(sv) => self.waiting.push((conn, sv)),
                Incoming::SyncStep2(raw) | Incoming::Update(raw) if self.adds_content(&raw)? => {
                    return Err(Error::ViewerWrite {
                        who: "a connection watching through a fan-out object".into(),
                        what: "connect to the room itself to write".into(),
                    });
                }
                _ => {}
            }
        }
        Ok(out)
    }

    fn answer(&self, conn: ConnId, sv: &StateVector) -> Vec<Outgoing> {
        let diff = self.awareness.doc().transact().encode_diff_v1(sv);
        to_one(conn, sync_frames(diff))
    }

    /// Whether `raw` holds items the replica lacks (deletions a viewer's replica made
    /// are not looked at: they never leave the viewer).
    fn adds_content(&self, raw: &[u8]) -> Result<bool> {
        let update = Update::decode_v1(raw).map_err(|e| Error::malformed("sync update", e))?;
        let theirs = update.state_vector();
        let ours = self.awareness.doc().transact().state_vector();
        Ok(theirs
            .iter()
            .any(|(client, &clock)| clock > ours.get(client)))
    }

    /// The replica's whole text of root `name` (for tests and checks).
    pub fn text(&self, name: &str) -> String {
        use yrs::GetString;
        let doc = self.awareness.doc();
        let text = doc.get_or_insert_text(name);
        let txn = doc.transact();
        text.get_string(&txn)
    }
}

/// What one upstream frame gives: frames for viewers, and answers for the room.
#[derive(Debug, Default)]
pub struct Relayed {
    /// To viewers (`Recipient::All` for every viewer, `Only` for one).
    pub to_viewers: Vec<Outgoing>,
    /// To the room, on the upstream connection.
    pub to_room: Vec<Vec<u8>>,
}
