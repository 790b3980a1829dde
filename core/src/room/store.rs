//! Persistence: the storage trait the edge implements over Durable Object SQLite, and
//! the policy that decides when the update log is compacted into a snapshot.
//!
//! Every stored row stays well under the platform's 2 MB row limit: snapshots and large
//! updates are split into [`Policy::chunk_bytes`] parts. Compaction rewrites the whole
//! room, so it waits until the log is as large as the snapshot it would replace: the
//! bytes written stay proportional to the bytes received, however big the room grows.

use crate::room::Room;

/// Where a room's state lives.
pub trait Store {
    /// The platform's error.
    type Error;
    /// Append one update to the log, in `parts` (consecutive rows, read back joined).
    fn append_update(&mut self, parts: &[&[u8]]) -> Result<(), Self::Error>;
    /// Replace the snapshot with `parts` (in order) and empty the log, atomically.
    fn write_snapshot(&mut self, parts: &[&[u8]]) -> Result<(), Self::Error>;
    /// The log's size.
    fn log_stats(&self) -> Result<LogStats, Self::Error>;
}

/// The size of the update log (and of the snapshot it would be folded into).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Number of updates in the log.
    pub rows: u64,
    /// Total bytes of the log.
    pub bytes: u64,
    /// Total bytes of the snapshot.
    pub snapshot_bytes: u64,
}

/// When to compact and how big a stored row may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Compact once the log holds this many updates (more for a big snapshot: one more
    /// such allowance per `max_log_bytes` of snapshot).
    pub max_log_rows: u64,
    /// Compact once the log holds this many bytes, or as many as the snapshot if that
    /// is more.
    pub max_log_bytes: u64,
    /// Largest stored row.
    pub chunk_bytes: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_log_rows: 500,
            max_log_bytes: 4 * 1024 * 1024,
            chunk_bytes: 512 * 1024,
        }
    }
}

/// What [`persist`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Persisted {
    /// Updates appended to the log.
    pub appended: usize,
    /// True when the log was folded into a new snapshot.
    pub compacted: bool,
    /// Rows left in the log.
    pub log_rows: u64,
}

/// Write the room's unpersisted updates; compact when the policy says so. An update
/// counts as persisted only once its write succeeded: after a failed write the room
/// still holds it (and acknowledges nothing for it), so the next call writes it again.
pub fn persist<S: Store>(
    room: &mut Room,
    store: &mut S,
    policy: &Policy,
) -> Result<Persisted, S::Error> {
    let stats = store.log_stats()?;
    let updates = room.unpersisted();
    let count = updates.len();
    let bytes: u64 = updates.iter().map(|u| u.len() as u64).sum();
    let rows = stats.rows + count as u64;
    let max_bytes = policy.max_log_bytes.max(stats.snapshot_bytes);
    let max_rows = policy.max_log_rows * (1 + stats.snapshot_bytes / policy.max_log_bytes.max(1));
    if rows > max_rows || stats.bytes + bytes > max_bytes {
        compact(room, store, policy)?;
        return Ok(Persisted {
            appended: 0,
            compacted: true,
            log_rows: 0,
        });
    }
    for _ in 0..count {
        let update = &room.unpersisted()[0];
        let parts: Vec<&[u8]> = update.chunks(policy.chunk_bytes.max(1)).collect();
        store.append_update(&parts)?;
        room.mark_persisted(1);
    }
    Ok(Persisted {
        appended: count,
        compacted: false,
        log_rows: rows,
    })
}

/// Fold everything into a fresh snapshot split into row-sized parts.
pub fn compact<S: Store>(room: &mut Room, store: &mut S, policy: &Policy) -> Result<(), S::Error> {
    // The snapshot covers anything still unpersisted, once it is written.
    let pending = room.unpersisted().len();
    let snapshot = room.snapshot();
    let parts: Vec<&[u8]> = snapshot.chunks(policy.chunk_bytes.max(1)).collect();
    store.write_snapshot(&parts)?;
    room.mark_persisted(pending);
    room.note_compacted(snapshot.len() as u64);
    Ok(())
}

/// An in-memory [`Store`] for tests and for embedding a room in a process.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    /// Snapshot parts in order.
    pub snapshot: Vec<Vec<u8>>,
    /// Update log in order, each update in its parts.
    pub log: Vec<Vec<Vec<u8>>>,
}

impl MemoryStore {
    /// Rebuild the room this store holds.
    pub fn load(&self, now_ms: u64) -> crate::Result<Room> {
        Room::load(&self.snapshot, self.log.iter().map(|u| u.concat()), now_ms)
    }
}

impl Store for MemoryStore {
    type Error = std::convert::Infallible;

    fn append_update(&mut self, parts: &[&[u8]]) -> Result<(), Self::Error> {
        self.log.push(parts.iter().map(|p| p.to_vec()).collect());
        Ok(())
    }

    fn write_snapshot(&mut self, parts: &[&[u8]]) -> Result<(), Self::Error> {
        self.snapshot = parts.iter().map(|p| p.to_vec()).collect();
        self.log.clear();
        Ok(())
    }

    fn log_stats(&self) -> Result<LogStats, Self::Error> {
        Ok(LogStats {
            rows: self.log.len() as u64,
            bytes: self.log.iter().flatten().map(|p| p.len() as u64).sum(),
            snapshot_bytes: self.snapshot.iter().map(|p| p.len() as u64).sum(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::session::Session;
    use crate::doc::Participant;

    fn edit(room: &mut Room, session: &mut Session, text: &str) {
        let len = session
            .doc()
            .document_text("d")
            .map(|t| t.encode_utf16().count())
            .unwrap_or(0);
        session.doc_mut().ensure_document("d", "D", 0).unwrap();
        session
            .doc_mut()
            .insert_text("d", len as u32, text)
            .unwrap();
        if room.actor(1).is_none() {
            room.connect(1, false);
        }
        for frame in session.drain_outgoing() {
            room.receive(1, &frame, 0).unwrap();
        }
    }

    #[test]
    fn log_then_compact_then_restore() {
        let policy = Policy {
            max_log_rows: 3,
            max_log_bytes: 1 << 20,
            chunk_bytes: 1024,
        };
        let mut store = MemoryStore::default();
        let mut room = Room::new(0);
        let mut s = Session::new(9, Participant::person("a", "A"), 0);
        edit(&mut room, &mut s, "one ");
        let p = persist(&mut room, &mut store, &policy).unwrap();
        assert_eq!((p.appended, p.compacted), (1, false));
        assert!(!room.is_dirty());
        edit(&mut room, &mut s, "two ");
        edit(&mut room, &mut s, "three ");
        persist(&mut room, &mut store, &policy).unwrap();
        assert_eq!(store.log.len(), 3);
        assert_eq!(
            store.load(0).unwrap().document_text("d").as_deref(),
            Some("one two three ")
        );
        edit(&mut room, &mut s, "four");
        let p = persist(&mut room, &mut store, &policy).unwrap();
        assert!(p.compacted);
        assert!(store.log.is_empty());
        assert_eq!(store.snapshot.len(), 1);
        let restored = store.load(0).unwrap();
        assert_eq!(
            restored.document_text("d").as_deref(),
            Some("one two three four")
        );
        assert!(!restored.is_dirty());
    }

    #[test]
    fn a_large_update_is_logged_in_parts() {
        let policy = Policy {
            chunk_bytes: 1024,
            ..Policy::default()
        };
        let mut store = MemoryStore::default();
        let mut room = Room::new(0);
        let mut s = Session::new(9, Participant::person("a", "A"), 0);
        edit(&mut room, &mut s, &"x".repeat(10_000));
        let p = persist(&mut room, &mut store, &policy).unwrap();
        assert_eq!((p.appended, p.compacted), (1, false));
        assert!(store.log[0].len() > 1, "update split into parts");
        assert!(store.log.iter().flatten().all(|p| p.len() <= 1024));
        assert_eq!(
            store.load(0).unwrap().document_text("d").map(|t| t.len()),
            Some(10_000)
        );
        // A compaction splits the snapshot the same way.
        compact(&mut room, &mut store, &policy).unwrap();
        assert!(store.snapshot.len() > 1);
        assert!(store.snapshot.iter().all(|p| p.len() <= 1024));
        assert_eq!(
            store.load(0).unwrap().document_text("d").map(|t| t.len()),
            Some(10_000)
        );
    }

    #[test]
    fn compaction_waits_for_a_log_as_large_as_the_snapshot() {
        let policy = Policy {
            max_log_rows: 1000,
            max_log_bytes: 4096,
            chunk_bytes: 1024,
        };
        let mut store = MemoryStore::default();
        let mut room = Room::new(0);
        let mut s = Session::new(9, Participant::person("a", "A"), 0);
        let mut written = 0u64;
        let mut received = 0u64;
        let mut compactions = 0;
        for _ in 0..200 {
            let before = store.log_stats().unwrap();
            edit(&mut room, &mut s, &"y".repeat(1000));
            let incoming = room.unpersisted_bytes();
            received += incoming;
            let p = persist(&mut room, &mut store, &policy).unwrap();
            let after = store.log_stats().unwrap();
            if p.compacted {
                compactions += 1;
                written += after.snapshot_bytes;
                // Only once the log outgrew the snapshot it replaces.
                assert!(before.bytes + incoming > before.snapshot_bytes.max(4096));
            } else {
                written += after.bytes - before.bytes;
            }
        }
        assert!(compactions >= 3, "the room was compacted as it grew");
        // Doubling: everything written is a small multiple of what came in, not the
        // square of it.
        assert!(
            written < 4 * received,
            "wrote {written} for {received} received"
        );
        assert_eq!(
            store.load(0).unwrap().document_text("d").map(|t| t.len()),
            Some(200_000)
        );
    }

    #[test]
    fn corrupt_storage_is_an_error_not_a_panic() {
        let store = MemoryStore {
            snapshot: vec![vec![1, 2, 3]],
            log: vec![],
        };
        assert!(store.load(0).is_err());
        let store = MemoryStore {
            snapshot: vec![],
            log: vec![vec![vec![0, 9], vec![7]]],
        };
        assert!(store.load(0).is_err());
    }

    /// A store whose next write fails.
    struct Flaky {
        inner: MemoryStore,
        fail: bool,
    }

    impl Store for Flaky {
        type Error = &'static str;

        fn append_update(&mut self, parts: &[&[u8]]) -> Result<(), Self::Error> {
            if std::mem::take(&mut self.fail) {
                return Err("disk full");
            }
            let Ok(()) = self.inner.append_update(parts);
            Ok(())
        }

        fn write_snapshot(&mut self, parts: &[&[u8]]) -> Result<(), Self::Error> {
            if std::mem::take(&mut self.fail) {
                return Err("disk full");
            }
            let Ok(()) = self.inner.write_snapshot(parts);
            Ok(())
        }

        fn log_stats(&self) -> Result<LogStats, Self::Error> {
            let Ok(stats) = self.inner.log_stats();
            Ok(stats)
        }
    }

    #[test]
    fn a_failed_write_keeps_the_update_for_the_next_one() {
        let mut room = Room::new(0);
        let mut s = Session::new(1, Participant::person("a", "A"), 0);
        let mut store = Flaky {
            inner: MemoryStore::default(),
            fail: true,
        };
        let policy = Policy::default();
        edit(&mut room, &mut s, "kept");
        assert_eq!(persist(&mut room, &mut store, &policy), Err("disk full"));
        assert!(
            !room.unpersisted().is_empty(),
            "the update is still unstored"
        );
        persist(&mut room, &mut store, &policy).expect("the second write succeeds");
        assert!(room.unpersisted().is_empty());
        let back = store.inner.load(0).expect("the store loads");
        assert_eq!(back.document_text("d").as_deref(), Some("kept"));
        store.fail = true;
        edit(&mut room, &mut s, " and compacted");
        assert_eq!(compact(&mut room, &mut store, &policy), Err("disk full"));
        assert!(
            !room.unpersisted().is_empty(),
            "a failed compaction stores nothing"
        );
        compact(&mut room, &mut store, &policy).expect("the second compaction succeeds");
        let back = store.inner.load(0).expect("the store loads");
        assert_eq!(
            back.document_text("d").as_deref(),
            Some("kept and compacted")
        );
    }
}
