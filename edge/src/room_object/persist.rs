//! Relaying, storing and acknowledging updates. An update is relayed at once, written
//! in the same burst, and acknowledged to its sender only once everything the room has
//! applied is stored ([`commit`]). A write that fails drops the room and every socket
//! ([`RoomObject::storage_failed`]).

use confab_core::protocol::close::CloseCode;
use confab_core::room::store::Policy;

use super::alarm::{COMPACT_AFTER_MS, CONFLICT_CHECK_AFTER_MS};
use super::{now_ms, RoomObject};
use crate::commit;
use crate::error::{truncate_reason, EdgeError};

/// Updates that arrive within this long of the last relay are taken for a burst and
/// coalesced (see [`RoomObject::flush_soon`]).
const BURST_MS: u64 = 5;

impl RoomObject {
    /// Something the room applied could not be stored, so the room in memory is ahead
    /// of storage: drop it (the next use reloads what storage holds, and the acks it
    /// owed go with it) and the store (its running log size may count a half-written
    /// update), and close every socket, so each client syncs again — giving the room
    /// back what it lost — and re-sends what it has not had acked. Returns `err`.
    pub(super) fn storage_failed(&self, err: EdgeError) -> EdgeError {
        worker::console_error!("dropping the room after a failed write: {err}");
        self.room.borrow_mut().take();
        self.store.borrow_mut().take();
        let reason = truncate_reason(&format!("{err}; reconnect"));
        let sockets = std::mem::take(&mut *self.sockets.borrow_mut());
        for ws in sockets.values() {
            // Already closing or closed: nothing more to do for it.
            let _ = ws.close(Some(CloseCode::Internal.code()), Some(reason.clone()));
        }
        err
    }

    /// Store what the room applied; schedule compaction for when it is quiet.
    async fn persist(&self) -> Result<(), EdgeError> {
        let persisted = {
            let mut store = self.store()?;
            commit::persist(&mut self.room.borrow_mut(), &mut *store, &Policy::default())
        };
        let persisted = persisted.map_err(|e| self.storage_failed(e))?;
        // What was stored is searchable from now on.
        if persisted.is_some() {
            self.index_search();
        }
        if persisted.is_some_and(|p| p.log_rows > 0) {
            if self.compact_at.get().is_none() {
                self.compact_at.set(Some(now_ms() + COMPACT_AFTER_MS));
            }
            if self.conflict_check_at.get().is_none() {
                self.conflict_check_at
                    .set(Some(now_ms() + CONFLICT_CHECK_AFTER_MS));
            }
        }
        self.schedule_alarm().await
    }

    /// Relay and store the room's queued updates. At rest (the last flush was a while
    /// ago) that happens at once. In a burst, the first handler with something queued
    /// yields to a zero timer so the frames already waiting in this object's input are
    /// read first — the handlers that run meanwhile only queue — and then one merged
    /// frame per burst goes out to each client and one row is written.
    pub(super) async fn flush_soon(&self) -> Result<(), EdgeError> {
        let queued = self
            .room
            .borrow()
            .as_ref()
            .is_some_and(|r| r.has_pending_relay());
        if !queued {
            self.ack_if_stored();
            return Ok(());
        }
        if self.flush_pending.replace(true) {
            return Ok(());
        }
        let now = now_ms();
        if now.saturating_sub(self.last_flush_ms.get()) < BURST_MS {
            worker::Delay::from(std::time::Duration::ZERO).await;
        }
        self.last_flush_ms.set(now_ms());
        self.flush_pending.set(false);
        let out = self.with_room(|room| room.flush_relay())?;
        // Relay first: receivers hold the update either way, and a room that loses it
        // before it is stored gets it back from them (or the sender) at their next sync.
        self.deliver(&out, None);
        self.persist().await?;
        let settled = self.settle(true)?;
        self.send_settled(settled);
        // Stored: now the senders may forget what they sent.
        self.ack_if_stored();
        Ok(())
    }

    /// Acknowledge what the room applied, once all of it is stored and no flush is
    /// under way that will store and acknowledge it (acks are cumulative: one for an
    /// update that changed nothing must wait for an earlier one still unstored).
    pub(super) fn ack_if_stored(&self) {
        if self.flush_pending.get() {
            return;
        }
        let acks = commit::stored_acks(&mut self.room.borrow_mut());
        self.deliver(&acks, None);
    }
}
