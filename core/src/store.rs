//! Persistence: the storage trait the edge implements over Durable Object SQLite, and
//! the policy that decides when the update log is compacted into a snapshot.
//!
//! Every stored row stays well under the platform's 2 MB row limit: snapshots are split
//! into [`Policy::chunk_bytes`] parts, and an update larger than a part triggers a
//! compaction instead of being logged as one row.

use crate::room::Room;

/// Where a room's state lives.
pub trait Store {
    /// The platform's error.
    type Error;
    /// Append one update to the log.
    fn append_update(&mut self, update: &[u8]) -> Result<(), Self::Error>;
    /// Replace the snapshot with `parts` (in order) and empty the log, atomically.
    fn write_snapshot(&mut self, parts: &[&[u8]]) -> Result<(), Self::Error>;
    /// The log's size.
    fn log_stats(&self) -> Result<LogStats, Self::Error>;
}

/// The size of the update log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Number of rows.
    pub rows: u64,
    /// Total bytes.
    pub bytes: u64,
}

/// When to compact and how big a stored row may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Compact once the log holds this many rows.
    pub max_log_rows: u64,
    /// Compact once the log holds this many bytes.
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

/// Write the room's unpersisted updates; compact when the policy says so.
pub fn persist<S: Store>(
    room: &mut Room,
    store: &mut S,
    policy: &Policy,
) -> Result<Persisted, S::Error> {
    let updates = room.take_unpersisted();
    let oversize = updates.iter().any(|u| u.len() > policy.chunk_bytes);
    let stats = store.log_stats()?;
    let bytes: u64 = updates.iter().map(|u| u.len() as u64).sum();
    if oversize
        || stats.rows + updates.len() as u64 > policy.max_log_rows
        || stats.bytes + bytes > policy.max_log_bytes
    {
        compact(room, store, policy)?;
        return Ok(Persisted {
            appended: 0,
            compacted: true,
            log_rows: 0,
        });
    }
    for update in &updates {
        store.append_update(update)?;
    }
    Ok(Persisted {
        appended: updates.len(),
        compacted: false,
        log_rows: stats.rows + updates.len() as u64,
    })
}

/// Fold everything into a fresh snapshot split into row-sized parts.
pub fn compact<S: Store>(room: &mut Room, store: &mut S, policy: &Policy) -> Result<(), S::Error> {
    // The snapshot covers anything still unpersisted.
    room.take_unpersisted();
    let snapshot = room.snapshot();
    let parts: Vec<&[u8]> = snapshot.chunks(policy.chunk_bytes.max(1)).collect();
    store.write_snapshot(&parts)
}

/// An in-memory [`Store`] for tests and for embedding a room in a process.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    /// Snapshot parts in order.
    pub snapshot: Vec<Vec<u8>>,
    /// Update log in order.
    pub log: Vec<Vec<u8>>,
}

impl MemoryStore {
    /// Rebuild the room this store holds.
    pub fn load(&self, now_ms: u64) -> crate::Result<Room> {
        Room::load(&self.snapshot, &self.log, now_ms)
    }
}

impl Store for MemoryStore {
    type Error = std::convert::Infallible;

    fn append_update(&mut self, update: &[u8]) -> Result<(), Self::Error> {
        self.log.push(update.to_vec());
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
            bytes: self.log.iter().map(|u| u.len() as u64).sum(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Participant;
    use crate::session::Session;

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
    fn oversize_update_goes_to_chunked_snapshot() {
        let policy = Policy {
            chunk_bytes: 1024,
            ..Policy::default()
        };
        let mut store = MemoryStore::default();
        let mut room = Room::new(0);
        let mut s = Session::new(9, Participant::person("a", "A"), 0);
        edit(&mut room, &mut s, &"x".repeat(10_000));
        assert!(persist(&mut room, &mut store, &policy).unwrap().compacted);
        assert!(store.snapshot.len() > 1, "snapshot split into parts");
        assert!(store.snapshot.iter().all(|p| p.len() <= 1024));
        assert_eq!(
            store.load(0).unwrap().document_text("d").map(|t| t.len()),
            Some(10_000)
        );
    }

    #[test]
    fn corrupt_storage_is_an_error_not_a_panic() {
        let store = MemoryStore {
            snapshot: vec![vec![1, 2, 3]],
            log: vec![],
        };
        assert!(store.load(0).is_err());
    }
}
