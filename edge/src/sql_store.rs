//! The room's [`Store`] over Durable Object SQLite.

use confab_core::store::{LogStats, Store};
use worker::{SqlStorage, SqlStorageValue};

use crate::error::EdgeError;

/// Two tables: the update log and the snapshot's parts.
pub struct SqlStore {
    sql: SqlStorage,
    /// The log's size, counted once when opened and kept up to date by every write
    /// (this object is the only writer), so a persist does not scan the table.
    stats: LogStats,
}

fn storage_error(e: worker::Error) -> EdgeError {
    EdgeError::Storage(e.to_string())
}

impl SqlStore {
    /// Open the store, creating its tables on first use.
    pub fn open(sql: SqlStorage) -> Result<Self, EdgeError> {
        sql.exec(
            "CREATE TABLE IF NOT EXISTS updates (seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL)",
            None,
        )
        .map_err(storage_error)?;
        sql.exec(
            "CREATE TABLE IF NOT EXISTS snapshot (part INTEGER PRIMARY KEY, data BLOB NOT NULL)",
            None,
        )
        .map_err(storage_error)?;
        let stats = count_log(&sql)?;
        Ok(SqlStore { sql, stats })
    }

    fn blobs(&self, query: &str) -> Result<Vec<Vec<u8>>, EdgeError> {
        let cursor = self.sql.exec(query, None).map_err(storage_error)?;
        let mut out = Vec::new();
        for row in cursor.raw() {
            let row = row.map_err(storage_error)?;
            match row.into_iter().next() {
                Some(SqlStorageValue::Blob(bytes)) => out.push(bytes),
                other => {
                    return Err(EdgeError::Storage(format!(
                        "expected a blob from `{query}`, got {other:?}"
                    )))
                }
            }
        }
        Ok(out)
    }

    /// The snapshot's parts, in order.
    pub fn snapshot_parts(&self) -> Result<Vec<Vec<u8>>, EdgeError> {
        self.blobs("SELECT data FROM snapshot ORDER BY part")
    }

    /// The update log, oldest first.
    pub fn log(&self) -> Result<Vec<Vec<u8>>, EdgeError> {
        self.blobs("SELECT data FROM updates ORDER BY seq")
    }
}

impl Store for SqlStore {
    type Error = EdgeError;

    fn append_update(&mut self, update: &[u8]) -> Result<(), EdgeError> {
        self.sql
            .exec(
                "INSERT INTO updates (data) VALUES (?)",
                vec![SqlStorageValue::Blob(update.to_vec())],
            )
            .map_err(storage_error)?;
        self.stats.rows += 1;
        self.stats.bytes += update.len() as u64;
        Ok(())
    }

    fn write_snapshot(&mut self, parts: &[&[u8]]) -> Result<(), EdgeError> {
        // Runs inside one Durable Object event with no await: the writes commit together.
        self.sql
            .exec("DELETE FROM snapshot", None)
            .map_err(storage_error)?;
        for (i, part) in parts.iter().enumerate() {
            self.sql
                .exec(
                    "INSERT INTO snapshot (part, data) VALUES (?, ?)",
                    vec![
                        SqlStorageValue::Integer(i as i64),
                        SqlStorageValue::Blob(part.to_vec()),
                    ],
                )
                .map_err(storage_error)?;
        }
        self.sql
            .exec("DELETE FROM updates", None)
            .map_err(storage_error)?;
        self.stats = LogStats::default();
        Ok(())
    }

    fn log_stats(&self) -> Result<LogStats, EdgeError> {
        Ok(self.stats)
    }
}

fn count_log(sql: &SqlStorage) -> Result<LogStats, EdgeError> {
    let cursor = sql
        .exec(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM updates",
            None,
        )
        .map_err(storage_error)?;
    let row = cursor
        .raw()
        .next()
        .transpose()
        .map_err(storage_error)?
        .unwrap_or_default();
    let num = |v: Option<&SqlStorageValue>| match v {
        Some(SqlStorageValue::Integer(n)) => *n as u64,
        Some(SqlStorageValue::Float(f)) => *f as u64,
        _ => 0,
    };
    Ok(LogStats {
        rows: num(row.first()),
        bytes: num(row.get(1)),
    })
}
