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
        // `more`: the update goes on in the next row. Rooms stored before large updates
        // were split have no such column yet.
        let has_more = sql
            .exec(
                "SELECT COUNT(*) FROM pragma_table_info('updates') WHERE name = 'more'",
                None,
            )
            .map_err(storage_error)?
            .raw()
            .next()
            .transpose()
            .map_err(storage_error)?
            .and_then(|row| row.into_iter().next());
        if !matches!(has_more, Some(SqlStorageValue::Integer(n)) if n > 0) {
            sql.exec(
                "ALTER TABLE updates ADD COLUMN more INTEGER NOT NULL DEFAULT 0",
                None,
            )
            .map_err(storage_error)?;
        }
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

    /// The update log, oldest first, each update's parts joined.
    pub fn log(&self) -> Result<Vec<Vec<u8>>, EdgeError> {
        let query = "SELECT data, more FROM updates ORDER BY seq";
        let cursor = self.sql.exec(query, None).map_err(storage_error)?;
        let mut out = Vec::new();
        let mut open: Option<Vec<u8>> = None;
        for row in cursor.raw() {
            let mut row = row.map_err(storage_error)?.into_iter();
            let (Some(SqlStorageValue::Blob(bytes)), Some(SqlStorageValue::Integer(more))) =
                (row.next(), row.next())
            else {
                return Err(EdgeError::Storage(format!(
                    "expected a blob and a flag from `{query}`"
                )));
            };
            let mut update = open.take().unwrap_or_default();
            update.extend_from_slice(&bytes);
            if more != 0 {
                open = Some(update);
            } else {
                out.push(update);
            }
        }
        if open.is_some() {
            return Err(EdgeError::Storage(
                "the update log ends inside a split update".into(),
            ));
        }
        Ok(out)
    }
}

impl Store for SqlStore {
    type Error = EdgeError;

    fn append_update(&mut self, parts: &[&[u8]]) -> Result<(), EdgeError> {
        // Runs inside one Durable Object event with no await: the rows commit together.
        for (i, part) in parts.iter().enumerate() {
            self.sql
                .exec(
                    "INSERT INTO updates (data, more) VALUES (?, ?)",
                    vec![
                        SqlStorageValue::Blob(part.to_vec()),
                        SqlStorageValue::Integer(i64::from(i + 1 < parts.len())),
                    ],
                )
                .map_err(storage_error)?;
            self.stats.bytes += part.len() as u64;
        }
        self.stats.rows += 1;
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
        self.stats = LogStats {
            snapshot_bytes: parts.iter().map(|p| p.len() as u64).sum(),
            ..LogStats::default()
        };
        Ok(())
    }

    fn log_stats(&self) -> Result<LogStats, EdgeError> {
        Ok(self.stats)
    }
}

fn count_log(sql: &SqlStorage) -> Result<LogStats, EdgeError> {
    let cursor = sql
        .exec(
            "SELECT (SELECT COUNT(*) FROM updates WHERE more = 0), \
                    (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM updates), \
                    (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM snapshot)",
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
        snapshot_bytes: num(row.get(2)),
    })
}
