//! Taking frames from connections: the whole frame is checked, then applied message
//! by message — sync, updates, presence and requests — and relayed.

use serde_json::{json, Value};
use yrs::{ReadTxn, StateVector, Transact, Update};

use super::gate::{self, Admitted};
use super::limits::RateLimiter;
use super::whole::sync_frames;
use super::*;
use crate::authority::Actor;
use crate::error::{Error, Result};
use crate::protocol::scan::{scan_update_v1, Scan};
use crate::protocol::{self, decode_frame_scanned, Incoming};

/// What checking a frame found: each update's scan and what the gate admitted, and the
/// frame's sequence number.
#[derive(Default)]
struct CheckedFrame {
    scans: Vec<(Scan, Admitted)>,
    seq: Option<u64>,
}

impl Room {
    /// Take a frame from a connection; returns what to send where. A frame is checked
    /// as a whole before any of it is applied: the frame's size and rate, every update
    /// against the write gate and the size budget, every presence state. A frame that
    /// fails a check changes nothing. Once checked, its messages apply in order; the
    /// only failure after that point is yrs refusing an update the scanner accepted, and
    /// then the messages before it stay applied but the frame is not acknowledged, so
    /// the sender sends it again (applying an update twice is harmless).
    pub fn receive(&mut self, conn: ConnId, frame: &[u8], now_ms: u64) -> Result<Vec<Outgoing>> {
        self.clock.set(now_ms);
        let (actor, last_seq) = self.admit_frame(conn, frame.len(), now_ms)?;
        let limits = self.limits;
        let (messages, scanned) = decode_frame_scanned(frame, limits.max_messages_per_frame)?;
        let checked = self.check_frame(conn, &actor, last_seq, &messages, scanned, now_ms)?;
        let mut scans = checked.scans.into_iter();
        let mut out = Vec::new();
        // However many a frame asks, one answer of each kind.
        let (mut answered_sync, mut answered_presence) = (false, false);
        for message in messages {
            match message {
                Incoming::SyncStep1(sv) if !std::mem::replace(&mut answered_sync, true) => {
                    out.extend(self.answer_sync(conn, &sv, now_ms));
                }
                Incoming::SyncStep2(raw) | Incoming::Update(raw) => {
                    if let Some((scan, admitted)) = scans.next() {
                        let taken = self.take_update(conn, &actor, raw, scan, admitted, now_ms)?;
                        out.extend(taken);
                    }
                }
                Incoming::Awareness(update) => out.push(self.take_awareness(conn, update)?),
                Incoming::AwarenessQuery if !std::mem::replace(&mut answered_presence, true) => {
                    out.extend(self.answer_presence(conn, now_ms));
                }
                Incoming::Request { id, op, args } => {
                    out.extend(self.answer_request(conn, &actor, id, &op, args, now_ms));
                }
                _ => {}
            }
        }
        if let Some(n) = checked.seq {
            if let Some(c) = self.connections.get_mut(&conn) {
                c.last_seq = n;
            }
            self.acks.push((conn, n));
        }
        Ok(out)
    }

    /// The frame's size and the connection's message rate; returns who sent it and the
    /// last sequence number seen from them.
    fn admit_frame(&mut self, conn: ConnId, len: usize, now_ms: u64) -> Result<(Actor, u64)> {
        let limits = self.limits;
        if len > limits.max_frame_bytes {
            return Err(Error::FrameTooLarge {
                size: len,
                max: limits.max_frame_bytes,
            });
        }
        // A frame from a connection the room never admitted has no known actor: it is
        // refused, never taken for an anonymous editor.
        let c = self
            .connections
            .get_mut(&conn)
            .ok_or(Error::UnknownConnection(conn))?;
        let rate = c
            .rate
            .get_or_insert_with(|| RateLimiter::new(&limits, now_ms));
        if !rate.allow(&limits, now_ms) {
            return Err(Error::RateLimited {
                per_sec: limits.messages_per_sec,
                burst: limits.burst,
            });
        }
        let (actor, last_seq) = (c.actor.clone(), c.last_seq);
        self.check_shared_rate(&actor, now_ms)?;
        Ok((actor, last_seq))
    }

    /// Check every message of a frame before anything is applied: message kinds a
    /// client may send, sequence numbers, each update against the write gate, the
    /// frame's bytes against the size budget, and presence states.
    fn check_frame(
        &mut self,
        conn: ConnId,
        actor: &Actor,
        mut last_seq: u64,
        messages: &[Incoming],
        scanned: Vec<Scan>,
        now_ms: u64,
    ) -> Result<CheckedFrame> {
        let mut scanned = scanned.into_iter();
        let mut checked = CheckedFrame::default();
        let mut written = 0u64;
        for message in messages {
            match message {
                Incoming::Hello(_)
                | Incoming::Response { .. }
                | Incoming::Event(_)
                | Incoming::Ack(_)
                | Incoming::Session(_) => {
                    return Err(Error::UnsupportedMessage(message.kind()));
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
                    checked.seq = Some(*n);
                }
                Incoming::SyncStep2(raw) | Incoming::Update(raw) => {
                    let scan = match scanned.next() {
                        Some(scan) => scan,
                        None => scan_update_v1(raw)?,
                    };
                    let admitted = gate::check(&self.gate_view(), actor, raw, &scan, now_ms)?;
                    if admitted.writes {
                        written += raw.len() as u64;
                    }
                    checked.scans.push((scan, admitted));
                }
                Incoming::Awareness(update) => self.check_presence(conn, update)?,
                _ => {}
            }
        }
        if written > 0 {
            self.check_size(actor, written, now_ms)?;
        }
        Ok(checked)
    }

    /// Answer a sync step 1, within the connection's answer budget; from then on the
    /// connection gets live updates.
    fn answer_sync(&mut self, conn: ConnId, sv: &StateVector, now_ms: u64) -> Vec<Outgoing> {
        let answer = self.sync_answer(conn, sv);
        let out = self.within_answer_budget(conn, answer, now_ms);
        if let Some(c) = self.connections.get_mut(&conn) {
            c.synced = true;
        }
        out
    }

    /// Apply one checked update (or hold it as a suggestion), record what it touched,
    /// and relay it.
    fn take_update(
        &mut self,
        conn: ConnId,
        actor: &Actor,
        raw: Vec<u8>,
        scan: Scan,
        admitted: Admitted,
        now_ms: u64,
    ) -> Result<Vec<Outgoing>> {
        if let Some(doc) = admitted.suggest {
            self.suggest(actor, &doc, raw, now_ms);
            return Ok(Vec::new());
        }
        self.apply(protocol::update_of(&raw)?)?;
        self.zones.record(&scan);
        let changes = self.drain_changes();
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let touched = self.zones.touched(&scan);
        self.note_edit(conn, actor, &touched, raw.len());
        self.notice_doc_events(actor, &scan, &touched, now_ms);
        let mut out = self.queue_changes(Some(conn), changes);
        out.extend(self.claim_clients(actor, &admitted.claims, now_ms));
        Ok(out)
    }

    /// Apply a checked presence update and relay it to everyone, the sender too, as the
    /// stock server does: a y-websocket client that hears nothing for 30 s reconnects,
    /// and its own awareness renewal every 15 s is what a lone client hears.
    fn take_awareness(
        &mut self,
        conn: ConnId,
        update: yrs::sync::AwarenessUpdate,
    ) -> Result<Outgoing> {
        self.claim_awareness(conn, &update);
        self.presence_moved(&update);
        let frame = protocol::awareness(update.clone());
        self.awareness
            .apply_update(update)
            .map_err(|e| Error::malformed("awareness update", e))?;
        Ok(Outgoing {
            to: Recipient::All,
            frame,
        })
    }

    /// Everyone's presence, to one connection that asked, within its answer budget.
    fn answer_presence(&mut self, conn: ConnId, now_ms: u64) -> Vec<Outgoing> {
        match self.full_awareness_frame() {
            Some(frame) => {
                let answer = vec![Outgoing {
                    to: Recipient::Only(conn),
                    frame,
                }];
                self.within_answer_budget(conn, answer, now_ms)
            }
            None => Vec::new(),
        }
    }

    /// Run a request and answer the connection that sent it (a search waits for the
    /// edge: see [`Room::take_deferred`]).
    fn answer_request(
        &mut self,
        conn: ConnId,
        actor: &Actor,
        id: u64,
        op: &str,
        args: Value,
        now_ms: u64,
    ) -> Option<Outgoing> {
        let parsed = crate::authority::Op::parse(op, args);
        if let Ok(op) = &parsed {
            if self.defer(conn, id, actor, op) {
                return None;
            }
        }
        let body = match parsed.and_then(|op| self.handle_op(actor, op, now_ms)) {
            Ok(result) => json!({ "ok": true, "result": result }),
            Err(e) => json!({ "ok": false, "error": { "code": e.code, "message": e.message } }),
        };
        Some(Outgoing {
            to: Recipient::Only(conn),
            frame: protocol::response(id, &body),
        })
    }

    /// The answer to a sync step 1: everything the connection lacks, in parts of at most
    /// [`SYNC_CHUNK_BYTES`] (each a valid update; the last one is the sync step 2, so a
    /// stock client counts itself synced once it has everything).
    fn sync_answer(&mut self, conn: ConnId, sv: &StateVector) -> Vec<Outgoing> {
        let frames = if sv.is_empty() {
            self.whole_room_frames()
        } else {
            sync_frames(self.diff(sv))
        };
        to_one(conn, frames)
    }

    /// Relay (or queue, when coalescing) and keep for persistence the changes an
    /// update made. `from` is the sender (`None` for the room's own writes).
    pub(super) fn queue_changes(
        &mut self,
        from: Option<ConnId>,
        changes: Vec<Vec<u8>>,
    ) -> Vec<Outgoing> {
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
            if self.full_state.as_mut().is_some_and(|w| !w.follow(&change)) {
                self.full_state = None;
            }
            self.unpersisted.push(change);
        }
        self.note_size();
        out
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
    pub(super) fn claimable<'a>(
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

    pub(super) fn apply(&mut self, update: Update) -> Result<()> {
        let mut txn = self.awareness.doc().transact_mut();
        txn.apply_update(update)
            .map_err(|e| Error::InvalidUpdate(e.to_string()))
    }

    pub(super) fn diff(&self, sv: &StateVector) -> Vec<u8> {
        self.awareness.doc().transact().encode_diff_v1(sv)
    }

    pub(super) fn full_awareness_frame(&self) -> Option<Vec<u8>> {
        let update = self.awareness.update().ok()?;
        if update.clients.is_empty() {
            None
        } else {
            Some(protocol::awareness(update))
        }
    }
}

/// `frames`, each for connection `conn` alone.
pub(crate) fn to_one(conn: ConnId, frames: Vec<Vec<u8>>) -> Vec<Outgoing> {
    frames
        .into_iter()
        .map(|frame| Outgoing {
            to: Recipient::Only(conn),
            frame,
        })
        .collect()
}
