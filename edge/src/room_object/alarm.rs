//! The object's one timer: a Durable Object alarm set for the earliest thing due —
//! compaction, a conflict check, a lease expiring, a webhook delivery. The object runs
//! no interval timers, so between alarms it can hibernate.

use confab_core::room::store::Policy;

use super::{now_ms, RoomObject};
use crate::commit;
use crate::error::EdgeError;

/// Look for new conflicts this long after the document last changed.
pub(super) const CONFLICT_CHECK_AFTER_MS: u64 = 2_000;

/// Compact the update log this long after the last write, when the room is quiet.
pub(super) const COMPACT_AFTER_MS: u64 = 30_000;

impl RoomObject {
    /// Set the alarm for the earliest thing due, unless the one already set comes first.
    pub(super) async fn schedule_alarm(&self) -> Result<(), EdgeError> {
        let leases = self
            .room
            .borrow()
            .as_ref()
            .and_then(|r| r.authority().locks.next_expiry());
        let deliveries = self.store()?.next_delivery_at()?;
        let next = [
            self.compact_at.get(),
            self.conflict_check_at.get(),
            leases,
            deliveries,
            self.next_report_at(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else { return Ok(()) };
        if self
            .alarm_at
            .get()
            .is_some_and(|at| at <= next && at > now_ms())
        {
            return Ok(());
        }
        self.alarm_at.set(Some(next));
        // `set_alarm` takes an offset from now in milliseconds, not a time.
        let offset = next.saturating_sub(now_ms()) as i64;
        self.state
            .storage()
            .set_alarm(offset)
            .await
            .map_err(|e| EdgeError::Storage(format!("setting the alarm: {e}")))
    }

    /// The alarm: expire leases, post due webhooks, announce new conflicts, compact a
    /// quiet room, store and send what all that recorded; then set the next alarm
    /// whatever happened (retries, leases, compaction).
    pub(super) async fn on_alarm(&self) -> Result<(), EdgeError> {
        self.alarm_at.set(None);
        let result = self.due(now_ms()).await;
        let next = self.schedule_alarm().await;
        result.and(next)
    }

    async fn due(&self, now: u64) -> Result<(), EdgeError> {
        self.with_room(|room| room.expire_leases(now))?;
        self.deliver_webhooks().await?;
        self.report_due(now).await;
        if self.conflict_check_at.get().is_some_and(|at| at <= now) {
            self.conflict_check_at.set(None);
            self.check_conflicts()?;
        }
        if self.compact_at.get().is_some_and(|at| at <= now) {
            self.compact_at.set(None);
            self.compact()?;
        }
        let settled = self.settle(false)?;
        self.send_settled(settled);
        Ok(())
    }

    /// Fold the update log into a snapshot (a failed write drops the room: see
    /// [`commit::compact`]).
    fn compact(&self) -> Result<(), EdgeError> {
        // Loaded first: `with_room` reads the store itself.
        self.with_room(|_| ())?;
        let compacted = {
            let mut store = self.store()?;
            commit::compact(&mut self.room.borrow_mut(), &mut *store, &Policy::default())
        };
        compacted.map(drop).map_err(|e| self.storage_failed(e))
    }
}
