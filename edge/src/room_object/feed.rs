//! What the room records: the audit log on disk, the live feed in memory and to the
//! Confab sockets, the webhook queue, and the conflicts it announces. Each event is
//! written before anything about it is sent.

use confab_core::authority::webhook;
use confab_core::authority::Event;
use confab_core::room::{Closure, ConnId, Outgoing, Recipient};
use serde_json::{json, Value};

use super::RoomObject;
use crate::error::EdgeError;

/// Events kept in memory for the live feed (the audit log on disk keeps them all).
const FEED_CAPACITY: usize = 1000;

/// What [`RoomObject::settle`] stored and has yet to send.
#[must_use = "settled frames and closures are sent with `RoomObject::send_settled`"]
pub(super) struct Settled {
    /// Live-feed events, then the frames the room produced outside a received frame.
    frames: Vec<Outgoing>,
    /// Connections the room dropped.
    closures: Vec<Closure>,
    /// The authority's state changed (its leases may need an alarm).
    pub(super) authority_changed: bool,
}

impl RoomObject {
    /// Store what the room recorded — its authority state if it changed, its events in
    /// the audit log and the webhook queue — and return what to send about it.
    /// Synchronous: the rows commit with the event. A failed write is a storage
    /// failure (see [`RoomObject::storage_failed`]): nothing about it is sent.
    pub(super) fn settle(&self, with_edits: bool) -> Result<Settled, EdgeError> {
        self.try_settle(with_edits)
            .map_err(|e| self.storage_failed(e))
    }

    fn try_settle(&self, with_edits: bool) -> Result<Settled, EdgeError> {
        let (events, pending, closures, authority) = {
            let mut slot = self.room.borrow_mut();
            let Some(room) = slot.as_mut() else {
                return Ok(Settled {
                    frames: Vec::new(),
                    closures: Vec::new(),
                    authority_changed: false,
                });
            };
            (
                room.take_events(with_edits),
                room.take_pending(),
                room.take_closures(),
                room.take_authority_json(),
            )
        };
        let authority_changed = authority.is_some();
        if let Some(json) = authority {
            self.store()?.put("authority", &json)?;
        }
        let mut frames = self.record(events)?;
        frames.extend(pending);
        Ok(Settled {
            frames,
            closures,
            authority_changed,
        })
    }

    /// Send what [`RoomObject::settle`] stored; close the connections the room dropped.
    pub(super) fn send_settled(&self, settled: Settled) {
        self.deliver(&settled.frames, None);
        for c in settled.closures {
            let ws = self.sockets.borrow().get(&c.conn).cloned();
            if let Some(ws) = ws {
                self.refuse(&ws, c.conn, c.code, &c.reason);
            }
        }
    }

    /// Append events to the audit log and the webhook queue, and to the live feed;
    /// returns the feed frames for the Confab sockets.
    fn record(&self, events: Vec<Event>) -> Result<Vec<Outgoing>, EdgeError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        // A room that no request has reached through the Worker yet has no stored name:
        // its webhook bodies name it "".
        let name = self.store()?.get("name")?.unwrap_or_default();
        let mut frames = Vec::new();
        for e in events {
            let actor = e.actor.as_ref().map(Value::to_string);
            let seq = self.store()?.append_audit(
                e.at,
                e.action.as_str(),
                actor.as_deref(),
                e.target.as_deref(),
                &e.detail.to_string(),
            )?;
            let mut entry = serde_json::to_value(&e)
                .map_err(|err| EdgeError::Internal(format!("event {}: {err}", e.action)))?;
            entry["seq"] = json!(seq);
            let hooks = self
                .room
                .borrow()
                .as_ref()
                .map(|r| r.authority().hooks_for(&e))
                // No room loaded: no subscriptions to queue for.
                .unwrap_or_default();
            for hook in hooks {
                let body = webhook::envelope(&name, seq, &hook, &entry);
                self.store()?
                    .enqueue_delivery(&hook.id, &body.to_string(), e.at)?;
            }
            frames.push(confab_core::protocol::event(&entry));
            let mut feed = self.feed.borrow_mut();
            if feed.len() == FEED_CAPACITY {
                feed.pop_front();
            }
            feed.push_back(entry);
        }
        let confab: Vec<ConnId> = self
            .room
            .borrow()
            .as_ref()
            .map(|r| {
                self.sockets
                    .borrow()
                    .keys()
                    .copied()
                    .filter(|c| r.is_confab(*c))
                    .collect()
            })
            // No room loaded: no Confab sockets to show the feed to.
            .unwrap_or_default();
        Ok(frames
            .into_iter()
            .map(|frame| Outgoing {
                to: Recipient::Many(confab.clone()),
                frame,
            })
            .collect())
    }

    /// Announce conflicts the room has not announced before (core's conflict watch
    /// decides which), and store what the room has seen first: a watch that cannot be
    /// written is a storage failure (announcing every conflict again, or forgetting
    /// what was announced, would be worse).
    pub(super) fn check_conflicts(&self) -> Result<(), EdgeError> {
        let changed = self.with_room(|room| room.announce_conflicts())?;
        if changed {
            let json = self
                .with_room(|room| serde_json::to_string(room.conflict_watch()))?
                .map_err(|e| EdgeError::Internal(format!("conflict watch: {e}")))?;
            let written = self.store()?.put("conflicts.watch", &json);
            written.map_err(|e| self.storage_failed(e))?;
        }
        Ok(())
    }
}
