//! The outbox: local edits merged into one update, numbered for acknowledgement once a
//! Confab room greeted the session, and counted until the room says they are stored.

use crate::protocol::{self};

use super::*;

impl Session {
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

    pub(super) fn take_outbox(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(
            &mut *self
                .outbox
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Frames carrying `update`: split into parts of at most [`CHUNK_BYTES`] (a room
    /// refuses frames over its limit), each numbered for acknowledgement when the room
    /// speaks Confab's protocol.
    pub(super) fn numbered(&mut self, update: Vec<u8>, step2: bool) -> Vec<Vec<u8>> {
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

    /// The heartbeat frame, for a connection that has been quiet: the room answers it
    /// at once. To a Confab room, the last sequence number again (acknowledged as soon
    /// as what it numbers is stored); to a stock server, a presence query (answered
    /// with everyone's presence).
    pub fn ping(&self) -> Vec<u8> {
        if self.hello.is_some() {
            protocol::seq(self.last_seq)
        } else {
            vec![protocol::MSG_QUERY_AWARENESS]
        }
    }

    /// Local updates the room has not acknowledged as stored: (count, bytes). They are
    /// the frames sent and not yet acknowledged, and the edits not yet sent: made
    /// offline, before the room answered the handshake, or sent without a number for
    /// the room to acknowledge. Zero once the room has stored every local edit.
    pub fn unacked(&self) -> (usize, usize) {
        let mut queued = Pending::default();
        queued.add(
            &self
                .outbox
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        (
            self.unacked.len() + self.unsent.updates + queued.updates,
            self.unacked.values().sum::<usize>() + self.unsent.bytes + queued.bytes,
        )
    }

    /// The count of [`Session::unacked`] alone, without summing sizes (cheap enough
    /// to ask on every edit).
    pub fn unsaved_updates(&self) -> usize {
        let queued = self
            .outbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len();
        self.unacked.len() + self.unsent.updates + queued
    }
}
