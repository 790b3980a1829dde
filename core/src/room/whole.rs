//! The whole room as a joiner with nothing gets it, kept across changes.
//!
//! Encoding a big room's state takes a long time next to relaying one keystroke, and
//! every fresh client (every storm of reloads) asks for it. So the room encodes it once
//! and keeps it. A change made afterwards is kept after it, in order, instead of
//! throwing the encoding away: a joiner gets the encoded state, then the changes since.
//! Only when those changes have grown past a share of the state is it encoded again, so
//! a joiner never replays much more than the room holds.

use yrs::sync::protocol::{MSG_SYNC_STEP_2, MSG_SYNC_UPDATE};

use super::SYNC_CHUNK_BYTES;
use crate::protocol::{self, scan::split_update_v1};

/// Changes kept after the state before it is encoded again: an eighth of the state's
/// bytes, or this many, whichever is more.
const TAIL_MIN_BYTES: usize = 4 * 1024;
/// Changes kept one by one; past this many they are merged into one update, so that a
/// joiner gets few frames however many changes there were.
const TAIL_MERGE_AT: usize = 32;

/// The room's state when it was encoded, and the changes applied since.
#[derive(Debug)]
pub(crate) struct WholeRoom {
    /// The state, cut into updates of about [`SYNC_CHUNK_BYTES`].
    parts: Vec<Vec<u8>>,
    state_bytes: usize,
    /// The changes since, oldest first.
    tail: Vec<Vec<u8>>,
    tail_bytes: usize,
}

impl WholeRoom {
    /// Keep `state`, one update of the whole room.
    pub(crate) fn new(state: Vec<u8>) -> Self {
        let state_bytes = state.len();
        WholeRoom {
            parts: cut(state),
            state_bytes,
            tail: Vec::new(),
            tail_bytes: 0,
        }
    }

    /// Keep `change`, just applied, after the state. False when the changes would grow
    /// past their share: the room encodes its state again instead.
    pub(crate) fn follow(&mut self, change: &[u8]) -> bool {
        let budget = (self.state_bytes / 8).max(TAIL_MIN_BYTES);
        if self.tail_bytes + change.len() > budget {
            return false;
        }
        self.tail.push(change.to_vec());
        if self.tail.len() > TAIL_MERGE_AT {
            match yrs::merge_updates_v1(&self.tail) {
                Ok(merged) => self.tail = vec![merged],
                Err(_) => return false,
            }
        }
        self.tail_bytes = self.tail.iter().map(Vec::len).sum();
        true
    }

    /// The frames for a joiner: the state's parts, then the changes since.
    pub(crate) fn frames(&self) -> Vec<Vec<u8>> {
        let updates: Vec<&[u8]> = self
            .parts
            .iter()
            .chain(&self.tail)
            .map(Vec::as_slice)
            .collect();
        framed(&updates)
    }

    /// Bytes of the updates a joiner gets.
    pub(crate) fn bytes(&self) -> usize {
        self.state_bytes + self.tail_bytes
    }

    /// The parts of the state as kept (a test checks they are not encoded again).
    #[cfg(test)]
    pub(crate) fn parts(&self) -> &[Vec<u8>] {
        &self.parts
    }
}

/// Frames carrying `update` to a joiner: one sync step 2, or for an update past
/// [`SYNC_CHUNK_BYTES`], updates of about that size (each valid on its own) of which the
/// last is the sync step 2, so a client counts itself synced once it has all of them.
pub(crate) fn sync_frames(update: Vec<u8>) -> Vec<Vec<u8>> {
    let parts = cut(update);
    framed(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>())
}

/// `updates` as frames, each an update but the last, which is the sync step 2.
fn framed(updates: &[&[u8]]) -> Vec<Vec<u8>> {
    updates
        .iter()
        .enumerate()
        .map(|(i, update)| {
            let kind = if i + 1 == updates.len() {
                MSG_SYNC_STEP_2
            } else {
                MSG_SYNC_UPDATE
            };
            protocol::sync_frame(kind, update)
        })
        .collect()
}

/// `update` cut into updates of about [`SYNC_CHUNK_BYTES`], each valid on its own (one
/// piece when it is smaller, or when it cannot be cut).
fn cut(update: Vec<u8>) -> Vec<Vec<u8>> {
    if update.len() <= SYNC_CHUNK_BYTES {
        return vec![update];
    }
    split_update_v1(&update, SYNC_CHUNK_BYTES).unwrap_or_else(|_| vec![update])
}
