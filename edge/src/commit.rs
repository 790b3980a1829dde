//! Nothing is acknowledged before it is stored.
//!
//! The room's Durable Object relays an update at once, then writes it, then tells the
//! sender it may forget it (an ack). [`confab_core::room::store::persist`] hands the room's
//! unstored updates to the store before the store has written them, so after a failed
//! write the room in memory holds updates that storage lacks, no longer counts them as
//! unstored, and would ack them. Here a failed write discards the room instead: the next
//! use reloads it from what storage holds, its acks go with it, and the object closes
//! every socket so each client syncs again and re-sends what was never acked (see
//! `room_object::persist`). Platform-free, so it is tested natively.

use confab_core::room::store::{self, Persisted, Policy, Store};
use confab_core::room::{Outgoing, Room};

/// Store what the room in `slot` applied since the last call (`None`: nothing to store,
/// or no room loaded). When the store fails the room is dropped from `slot`.
pub fn persist<S: Store>(
    slot: &mut Option<Room>,
    store: &mut S,
    policy: &Policy,
) -> Result<Option<Persisted>, S::Error> {
    let Some(room) = slot.as_mut() else {
        return Ok(None);
    };
    if !room.is_dirty() {
        return Ok(None);
    }
    store::persist(room, store, policy)
        .map(Some)
        .inspect_err(|_| {
            *slot = None;
        })
}

/// Fold the update log into a new snapshot when the log holds anything (then `true`).
/// When the store fails the room is dropped from `slot`, as in [`persist`].
pub fn compact<S: Store>(
    slot: &mut Option<Room>,
    store: &mut S,
    policy: &Policy,
) -> Result<bool, S::Error> {
    let Some(room) = slot.as_mut() else {
        return Ok(false);
    };
    let result = store.log_stats().and_then(|stats| {
        if stats.rows == 0 {
            return Ok(false);
        }
        store::compact(room, store, policy).map(|()| true)
    });
    result.inspect_err(|_| *slot = None)
}

/// The acks the room owes, once everything it has applied is stored: none while an
/// update waits to be relayed or written (its sender's ack would cover it, as acks are
/// cumulative), and none from a room that was discarded.
pub fn stored_acks(slot: &mut Option<Room>) -> Vec<Outgoing> {
    match slot {
        Some(room) if !room.is_dirty() && !room.has_pending_relay() => room.take_acks(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EdgeError;
    use confab_core::client::session::Session;
    use confab_core::doc::Participant;
    use confab_core::room::store::{LogStats, MemoryStore};
    use confab_core::room::ConnId;

    type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

    /// A [`MemoryStore`] whose writes fail while `failing` is set (a full disk, a
    /// storage outage): the failure reaches the real persist path.
    #[derive(Default)]
    struct FlakyStore {
        inner: MemoryStore,
        failing: bool,
    }

    impl FlakyStore {
        fn check(&self) -> std::result::Result<(), EdgeError> {
            if self.failing {
                return Err(EdgeError::Storage(
                    "SQLITE_FULL: database or disk is full".into(),
                ));
            }
            Ok(())
        }
    }

    impl Store for FlakyStore {
        type Error = EdgeError;

        fn append_update(&mut self, parts: &[&[u8]]) -> std::result::Result<(), EdgeError> {
            self.check()?;
            let Ok(()) = self.inner.append_update(parts);
            Ok(())
        }

        fn write_snapshot(&mut self, parts: &[&[u8]]) -> std::result::Result<(), EdgeError> {
            self.check()?;
            let Ok(()) = self.inner.write_snapshot(parts);
            Ok(())
        }

        fn log_stats(&self) -> std::result::Result<LogStats, EdgeError> {
            let Ok(stats) = self.inner.log_stats();
            Ok(stats)
        }
    }

    /// Carry frames both ways between the room and one client until both are quiet.
    fn pump(slot: &mut Option<Room>, conn: ConnId, session: &mut Session, out: Vec<Outgoing>) {
        let room = slot.as_mut().expect("a loaded room");
        let mut pending = out;
        for _ in 0..32 {
            let mut upstream = Vec::new();
            for o in pending.iter().filter(|o| o.to.includes(conn)) {
                let got = session
                    .receive(&o.frame, 0)
                    .expect("client accepts room frames");
                upstream.extend(got.replies);
            }
            upstream.extend(session.drain_outgoing());
            if upstream.is_empty() {
                return;
            }
            pending = upstream
                .iter()
                .flat_map(|f| {
                    room.receive(conn, f, 0)
                        .expect("room accepts client frames")
                })
                .collect();
        }
        panic!("the room and the client kept talking");
    }

    fn join(slot: &mut Option<Room>, conn: ConnId, session: &mut Session) {
        let mut out = slot.as_mut().expect("a loaded room").connect(conn, true);
        for frame in session.handshake() {
            out.extend(slot.as_mut().unwrap().receive(conn, &frame, 0).unwrap());
        }
        pump(slot, conn, session, out);
    }

    fn append(session: &mut Session, text: &str) -> Result<()> {
        session.doc_mut().ensure_document("d", "D", 0)?;
        let len = session.doc().document_text("d")?.encode_utf16().count();
        session.doc_mut().insert_text("d", len as u32, text)?;
        Ok(())
    }

    fn stored_text(store: &FlakyStore) -> Result<Option<String>> {
        Ok(store.inner.load(0)?.document_text("d"))
    }

    /// Write, then ack what was written; the client applies the acks.
    fn commit(
        slot: &mut Option<Room>,
        store: &mut FlakyStore,
        policy: &Policy,
        conn: ConnId,
        session: &mut Session,
    ) -> std::result::Result<(), EdgeError> {
        persist(slot, store, policy)?;
        let acks = stored_acks(slot);
        if slot.is_some() {
            pump(slot, conn, session, acks);
        }
        Ok(())
    }

    fn a_failed_write_is_never_acked_with(policy: Policy) -> Result<()> {
        let mut store = FlakyStore::default();
        let mut slot = Some(store.inner.load(0)?);
        let mut a = Session::new(7, Participant::person("a", "A"), 0);
        join(&mut slot, 1, &mut a);
        append(&mut a, "kept ")?;
        pump(&mut slot, 1, &mut a, Vec::new());
        commit(&mut slot, &mut store, &policy, 1, &mut a)?;
        assert_eq!(a.unacked().0, 0, "a stored update is acked");

        store.failing = true;
        append(&mut a, "lost")?;
        pump(&mut slot, 1, &mut a, Vec::new());
        assert_eq!(a.unacked().0, 1);
        let err = commit(&mut slot, &mut store, &policy, 1, &mut a).unwrap_err();
        assert!(err.to_string().contains("SQLITE_FULL"), "{err}");
        assert!(
            slot.is_none(),
            "the room that is ahead of storage is dropped"
        );
        assert!(stored_acks(&mut slot).is_empty());
        assert_eq!(
            a.unacked().0,
            1,
            "the client still holds the unstored update"
        );
        assert_eq!(stored_text(&store)?.as_deref(), Some("kept "));

        // The room comes back as storage holds it; the client reconnects (the object
        // closed its socket) and its re-sent update is stored, then acked.
        store.failing = false;
        slot = Some(store.inner.load(0)?);
        a.disconnected();
        join(&mut slot, 2, &mut a);
        commit(&mut slot, &mut store, &policy, 2, &mut a)?;
        assert_eq!(a.unacked().0, 0);
        assert_eq!(stored_text(&store)?.as_deref(), Some("kept lost"));
        Ok(())
    }

    #[test]
    fn a_failed_log_append_is_never_acked() -> Result<()> {
        a_failed_write_is_never_acked_with(Policy::default())
    }

    #[test]
    fn a_failed_compaction_on_persist_is_never_acked() -> Result<()> {
        // Every persist past the first update folds the log into a snapshot.
        a_failed_write_is_never_acked_with(Policy {
            max_log_rows: 1,
            ..Policy::default()
        })
    }

    #[test]
    fn a_failed_compaction_drops_the_room() -> Result<()> {
        let mut store = FlakyStore::default();
        let mut slot = Some(store.inner.load(0)?);
        let mut a = Session::new(7, Participant::person("a", "A"), 0);
        join(&mut slot, 1, &mut a);
        append(&mut a, "logged")?;
        pump(&mut slot, 1, &mut a, Vec::new());
        persist(&mut slot, &mut store, &Policy::default())?;
        store.failing = true;
        assert!(compact(&mut slot, &mut store, &Policy::default()).is_err());
        assert!(slot.is_none());
        // The log still holds the update.
        assert_eq!(stored_text(&store)?.as_deref(), Some("logged"));
        store.failing = false;
        slot = Some(store.inner.load(0)?);
        assert!(compact(&mut slot, &mut store, &Policy::default())?);
        assert!(store.inner.log.is_empty());
        assert_eq!(stored_text(&store)?.as_deref(), Some("logged"));
        Ok(())
    }

    #[test]
    fn no_ack_while_an_update_waits_to_be_stored() -> Result<()> {
        let mut store = FlakyStore::default();
        let mut slot = Some(store.inner.load(0)?);
        let mut a = Session::new(7, Participant::person("a", "A"), 0);
        join(&mut slot, 1, &mut a);
        persist(&mut slot, &mut store, &Policy::default())?;
        let acks = stored_acks(&mut slot);
        pump(&mut slot, 1, &mut a, acks);
        append(&mut a, "x")?;
        pump(&mut slot, 1, &mut a, Vec::new());
        assert!(stored_acks(&mut slot).is_empty(), "written yet? no: no ack");
        persist(&mut slot, &mut store, &Policy::default())?;
        assert_eq!(stored_acks(&mut slot).len(), 1);
        Ok(())
    }
}
