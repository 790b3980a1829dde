//! The room's limits at work: admission, shared rate limits, the size limit and write
//! budgets, presence and answer budgets, and the client ids the gate lets a writer claim
//! (see [`crate::room::limits`] for the numbers and [`crate::room::gate`] for the write gate).

use serde_json::json;

use super::gate;
use super::limits::Bucket;
use super::{Closure, ConnId, Outgoing, Room};
use crate::authority::{Actor, EventKind};
use crate::doc::Participant;
use crate::error::{Error, Result};
use crate::protocol::close::CloseCode;
use crate::protocol::scan::scan_update_v1;

/// What one participant may still send, across their connections.
#[derive(Debug)]
pub(super) struct UserBudget {
    pub(super) messages: Bucket,
    pub(super) bytes: Bucket,
}

/// How large a room's stored document is (see [`Room::size`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomSize {
    /// Bytes of the last snapshot plus the updates stored since.
    pub stored_bytes: u64,
    /// The room's limit ([`crate::room::limits::Limits::max_room_bytes`]).
    pub max_room_bytes: u64,
    /// Past the share of the limit from which the room warns its owners.
    pub near_limit: bool,
}

impl Room {
    pub(super) fn gate_view(&self) -> gate::RoomView<'_> {
        gate::RoomView {
            doc: self.awareness.doc(),
            zones: &self.zones,
            owners: &self.owners,
            locks: &self.authority.locks,
        }
    }

    /// Messages per second per participant across their connections, and for all
    /// viewers and reviewers together. Anonymous editors (development mode) share one
    /// identity, so only their per-connection limit applies.
    pub(super) fn check_shared_rate(&mut self, actor: &Actor, now_ms: u64) -> Result<()> {
        let limits = self.limits;
        if !actor.role.can_edit() {
            let per_sec = u64::from(limits.read_only_messages_per_sec);
            let bucket = self
                .read_only
                .get_or_insert_with(|| Bucket::full(2 * per_sec, now_ms));
            if !bucket.take(1, 2 * per_sec, per_sec, now_ms) {
                return Err(Error::LimitExceeded(format!(
                    "rate limit: the room's viewers and reviewers together send more than \
                     {per_sec} messages per second"
                )));
            }
        }
        if actor.is_anonymous() {
            return Ok(());
        }
        let per_sec = u64::from(limits.user_messages_per_sec);
        if !self
            .user_budget(actor, now_ms)
            .messages
            .take(1, 2 * per_sec, per_sec, now_ms)
        {
            return Err(Error::LimitExceeded(format!(
                "rate limit: {} sends more than {per_sec} messages per second across their \
                 connections",
                actor.id
            )));
        }
        Ok(())
    }

    fn user_budget(&mut self, actor: &Actor, now_ms: u64) -> &mut UserBudget {
        let limits = self.limits;
        self.users
            .entry(actor.id.clone())
            .or_insert_with(|| UserBudget {
                messages: Bucket::full(2 * u64::from(limits.user_messages_per_sec), now_ms),
                bytes: Bucket::full(limits.max_room_bytes, now_ms),
            })
    }

    /// The room stays within its size limit, and each participant within their write
    /// budget, before anything is applied.
    pub(super) fn check_size(&mut self, actor: &Actor, bytes: u64, now_ms: u64) -> Result<()> {
        let limits = self.limits;
        if self.size_bytes + bytes > limits.max_room_bytes {
            return Err(Error::LimitExceeded(format!(
                "room is full: it stores {} bytes, and {bytes} more would pass its limit of {} \
                 bytes (its owners can make room by deleting content, or raise \
                 CONFAB_MAX_ROOM_BYTES)",
                self.size_bytes, limits.max_room_bytes
            )));
        }
        let capacity = limits.max_room_bytes;
        let per_sec = limits.user_bytes_per_sec;
        if !self
            .user_budget(actor, now_ms)
            .bytes
            .take(bytes, capacity, per_sec, now_ms)
        {
            return Err(Error::LimitExceeded(format!(
                "write budget: {} writes more than {per_sec} bytes per second; this update of \
                 {bytes} bytes was refused, try again shortly",
                actor.id
            )));
        }
        Ok(())
    }

    /// A presence state within the size limit, from a connection within its number of
    /// presence ids.
    pub(super) fn check_presence(
        &self,
        conn: ConnId,
        update: &yrs::sync::AwarenessUpdate,
    ) -> Result<()> {
        let limits = self.limits;
        if let Some(big) = update
            .clients
            .values()
            .find(|e| e.json.len() > limits.max_presence_bytes)
        {
            return Err(Error::LimitExceeded(format!(
                "a presence state of {} bytes exceeds the limit of {} bytes",
                big.json.len(),
                limits.max_presence_bytes
            )));
        }
        let held = self
            .connections
            .get(&conn)
            .map_or(0, |c| c.awareness_clients.len());
        let new = self.claimable(conn, update).filter(|id| {
            self.connections
                .get(&conn)
                .is_none_or(|c| !c.awareness_clients.contains(id))
        });
        let total = held + new.count();
        if total > limits.max_presence_ids {
            return Err(Error::LimitExceeded(format!(
                "a connection may publish presence for at most {} client ids; this one would \
                 hold {total}",
                limits.max_presence_ids
            )));
        }
        Ok(())
    }

    /// Send `answer` if the connection's answer budget allows; otherwise close it.
    pub(super) fn within_answer_budget(
        &mut self,
        conn: ConnId,
        answer: Vec<Outgoing>,
        now_ms: u64,
    ) -> Vec<Outgoing> {
        let limits = self.limits;
        let bytes: u64 = answer.iter().map(|o| o.frame.len() as u64).sum();
        let capacity = 2 * limits.max_room_bytes;
        let Some(c) = self.connections.get_mut(&conn) else {
            return answer;
        };
        let bucket = c
            .answers
            .get_or_insert_with(|| Bucket::full(capacity, now_ms));
        if bucket.take(bytes, capacity, limits.answer_bytes_per_sec, now_ms) {
            return answer;
        }
        self.closures.push(Closure {
            conn,
            code: CloseCode::Policy,
            reason: format!(
                "answer budget: this connection asked for more than {} bytes per second of \
                 the room's state",
                limits.answer_bytes_per_sec
            ),
        });
        Vec::new()
    }

    /// Client ids written under for the first time become the writer's; the room
    /// records whose they are (from the token's identity, never from the client).
    pub(super) fn claim_clients(
        &mut self,
        actor: &Actor,
        claims: &[u64],
        now_ms: u64,
    ) -> Vec<Outgoing> {
        if claims.is_empty() {
            return Vec::new();
        }
        for client in claims {
            self.owners.insert(*client, actor.id.clone());
        }
        if actor.is_anonymous() {
            // Development mode: clients name themselves.
            return Vec::new();
        }
        let who = Participant {
            id: actor.id.clone(),
            name: actor.name.clone(),
            kind: actor.kind,
        };
        let writer = self.writer(now_ms);
        for client in claims {
            writer.register_client(*client, &who);
        }
        let changes = self.drain_changes();
        for change in &changes {
            if let Ok(scan) = scan_update_v1(change) {
                self.zones.record(&scan);
            }
        }
        self.queue_changes(None, changes)
    }

    /// Whether the room told its owners it nears its size limit; warn (an event) when it
    /// first passes the line.
    pub(super) fn note_size(&mut self) {
        let limits = self.limits;
        let near = self.size().near_limit;
        if near && !self.size_warned {
            self.event(
                EventKind::RoomSizeWarning,
                None,
                None,
                json!({ "bytes": self.size_bytes, "maxBytes": limits.max_room_bytes }),
            );
        }
        self.size_warned = near;
    }

    /// How large the stored document is, against its limit.
    pub fn size(&self) -> RoomSize {
        let limits = self.limits;
        RoomSize {
            stored_bytes: self.size_bytes,
            max_room_bytes: limits.max_room_bytes,
            near_limit: self.size_bytes
                >= limits.max_room_bytes / 100 * u64::from(limits.warn_room_percent),
        }
    }

    /// The room was compacted into a snapshot of `bytes`.
    pub fn note_compacted(&mut self, bytes: u64) {
        self.size_bytes = bytes;
        self.note_size();
    }

    /// Admit `actor` as a new connection? Refused with a close code and reason when the
    /// room is full, when the rest is kept for editors, or when the participant holds
    /// too many connections here.
    pub fn admit(&self, actor: &Actor) -> std::result::Result<(), (CloseCode, String)> {
        let limits = self.limits;
        let count = self.connections.len();
        if count >= limits.max_connections {
            return Err((
                CloseCode::TryLater,
                format!(
                    "room is full: {count} connections, the limit is {}; try again later",
                    limits.max_connections
                ),
            ));
        }
        let open_to_all = limits.max_connections.saturating_sub(limits.writer_reserve);
        if !actor.role.can_edit() && count >= open_to_all {
            return Err((
                CloseCode::TryLater,
                format!(
                    "room is full for viewers and reviewers: {count} connections, and the last \
                     {} are kept for editors; try again later",
                    limits.writer_reserve
                ),
            ));
        }
        if !actor.is_anonymous() {
            let mine = self
                .connections
                .values()
                .filter(|c| c.actor.id == actor.id)
                .count();
            if mine >= limits.max_connections_per_user {
                return Err((
                    CloseCode::TryLater,
                    format!(
                        "{} has {mine} connections open in this room, the limit is {}; close \
                         some first",
                        actor.id, limits.max_connections_per_user
                    ),
                ));
            }
        }
        Ok(())
    }
}
