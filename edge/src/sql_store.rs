//! The room's [`Store`] over Durable Object SQLite.

use confab_core::room::store::{LogStats, Store};
use worker::{SqlStorage, SqlStorageValue};

use crate::error::EdgeError;

/// Two tables: the update log and the snapshot's parts.
pub struct SqlStore {
    sql: SqlStorage,
    /// The log's size, counted once when opened and kept up to date by every write
    /// (this object is the only writer), so a persist does not scan the table.
    stats: LogStats,
}

/// An integer column: SQLite's integers can arrive as JavaScript numbers (floats).
fn int(v: Option<&SqlStorageValue>) -> Option<i64> {
    match v {
        Some(SqlStorageValue::Integer(n)) => Some(*n),
        Some(SqlStorageValue::Float(f)) if f.fract() == 0.0 => Some(*f as i64),
        _ => None,
    }
}

fn storage_error(e: worker::Error) -> EdgeError {
    EdgeError::Storage(e.to_string())
}

/// Run `query` with `args`; every row it answers, as raw values.
pub fn rows(
    sql: &SqlStorage,
    query: &str,
    args: Vec<SqlStorageValue>,
) -> Result<Vec<Vec<SqlStorageValue>>, EdgeError> {
    let cursor = sql.exec(query, args).map_err(storage_error)?;
    cursor.raw().map(|r| r.map_err(storage_error)).collect()
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
        for table in [
            // The authority's state (members, leases, webhooks, ...) as one JSON value.
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            // Append-only: nothing is ever deleted from it.
            "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, \
             at INTEGER NOT NULL, action TEXT NOT NULL, actor TEXT, target TEXT, detail TEXT NOT NULL)",
            // Webhook deliveries not yet made.
            "CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, \
             hook TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL, next_at INTEGER NOT NULL)",
        ] {
            sql.exec(table, None).map_err(storage_error)?;
        }
        let stats = count_log(&sql)?;
        Ok(SqlStore { sql, stats })
    }

    fn rows(
        &self,
        query: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<Vec<Vec<SqlStorageValue>>, EdgeError> {
        rows(&self.sql, query, args)
    }

    /// A stored value.
    pub fn get(&self, key: &str) -> Result<Option<String>, EdgeError> {
        let rows = self.rows(
            "SELECT value FROM kv WHERE key = ?",
            vec![SqlStorageValue::String(key.to_owned())],
        )?;
        match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
            Some(SqlStorageValue::String(s)) => Ok(Some(s)),
            None => Ok(None),
            Some(other) => Err(EdgeError::Storage(format!(
                "stored value {key} is not text: {other:?}"
            ))),
        }
    }

    /// Store a value.
    pub fn put(&mut self, key: &str, value: &str) -> Result<(), EdgeError> {
        self.rows(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![
                SqlStorageValue::String(key.to_owned()),
                SqlStorageValue::String(value.to_owned()),
            ],
        )?;
        Ok(())
    }

    /// Append an audit entry; returns its sequence number.
    pub fn append_audit(
        &mut self,
        at: u64,
        action: &str,
        actor: Option<&str>,
        target: Option<&str>,
        detail: &str,
    ) -> Result<u64, EdgeError> {
        let opt = |v: Option<&str>| {
            v.map_or(SqlStorageValue::Null, |s| {
                SqlStorageValue::String(s.to_owned())
            })
        };
        let rows = self.rows(
            "INSERT INTO audit (at, action, actor, target, detail) VALUES (?, ?, ?, ?, ?) RETURNING seq",
            vec![
                SqlStorageValue::Integer(at as i64),
                SqlStorageValue::String(action.to_owned()),
                opt(actor),
                opt(target),
                SqlStorageValue::String(detail.to_owned()),
            ],
        )?;
        match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
            Some(SqlStorageValue::Integer(n)) => Ok(n as u64),
            other => Err(EdgeError::Storage(format!(
                "audit insert returned {other:?}"
            ))),
        }
    }

    /// Audit entries with `seq > after`, oldest first, at most `limit`; or, with
    /// `newest`, the last `limit` entries.
    pub fn audit(
        &self,
        after: u64,
        limit: u64,
        newest: bool,
    ) -> Result<Vec<serde_json::Value>, EdgeError> {
        let query = if newest {
            "SELECT * FROM (SELECT seq, at, action, actor, target, detail FROM audit WHERE seq > ? ORDER BY seq DESC LIMIT ?) ORDER BY seq"
        } else {
            "SELECT seq, at, action, actor, target, detail FROM audit WHERE seq > ? ORDER BY seq LIMIT ?"
        };
        let rows = self.rows(
            query,
            vec![
                SqlStorageValue::Integer(after as i64),
                SqlStorageValue::Integer(limit as i64),
            ],
        )?;
        rows.into_iter().map(audit_entry).collect()
    }

    /// Queue a webhook delivery.
    pub fn enqueue_delivery(
        &mut self,
        hook: &str,
        body: &str,
        next_at: u64,
    ) -> Result<(), EdgeError> {
        self.rows(
            "INSERT INTO deliveries (hook, body, attempts, next_at) VALUES (?, ?, 0, ?)",
            vec![
                SqlStorageValue::String(hook.to_owned()),
                SqlStorageValue::String(body.to_owned()),
                SqlStorageValue::Integer(next_at as i64),
            ],
        )?;
        Ok(())
    }

    /// Deliveries due by `now_ms`: (id, hook, body, attempts so far).
    pub fn due_deliveries(
        &self,
        now_ms: u64,
    ) -> Result<Vec<(i64, String, String, u32)>, EdgeError> {
        let rows = self.rows(
            "SELECT id, hook, body, attempts FROM deliveries WHERE next_at <= ? ORDER BY id LIMIT 50",
            vec![SqlStorageValue::Integer(now_ms as i64)],
        )?;
        rows.into_iter()
            .map(|r| {
                let delivery = match r.as_slice() {
                    [id, SqlStorageValue::String(hook), SqlStorageValue::String(body), n] => {
                        int(Some(id))
                            .zip(int(Some(n)))
                            .map(|(id, n)| (id, hook.clone(), body.clone(), n as u32))
                    }
                    _ => None,
                };
                // Skipping it would leave it due forever, waking the alarm for nothing.
                delivery.ok_or_else(|| {
                    EdgeError::Storage(format!("malformed webhook delivery row: {r:?}"))
                })
            })
            .collect()
    }

    /// Reschedule a delivery after a failed attempt, or (with `None`) drop it.
    pub fn settle_delivery(
        &mut self,
        id: i64,
        attempts: u32,
        next_at: Option<u64>,
    ) -> Result<(), EdgeError> {
        match next_at {
            Some(at) => self.rows(
                "UPDATE deliveries SET attempts = ?, next_at = ? WHERE id = ?",
                vec![
                    SqlStorageValue::Integer(i64::from(attempts)),
                    SqlStorageValue::Integer(at as i64),
                    SqlStorageValue::Integer(id),
                ],
            )?,
            None => self.rows(
                "DELETE FROM deliveries WHERE id = ?",
                vec![SqlStorageValue::Integer(id)],
            )?,
        };
        Ok(())
    }

    /// When the next queued delivery is due.
    pub fn next_delivery_at(&self) -> Result<Option<u64>, EdgeError> {
        let rows = self.rows("SELECT MIN(next_at) FROM deliveries", Vec::new())?;
        match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
            // `MIN` over no rows.
            None | Some(SqlStorageValue::Null) => Ok(None),
            Some(v) => int(Some(&v))
                .map(|n| Some(n as u64))
                .ok_or_else(|| EdgeError::Storage(format!("next webhook delivery time is {v:?}"))),
        }
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
            // A row that does not continue an update starts one.
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

/// One audit row as JSON. The row was written by `append_audit`: a column of another
/// type, or JSON that does not parse, is corrupt storage, not an entry to show.
fn audit_entry(row: Vec<SqlStorageValue>) -> Result<serde_json::Value, EdgeError> {
    let corrupt = |what: &str| EdgeError::Storage(format!("audit row {what}: {row:?}"));
    // `actor` and `target` may be NULL; the rest may not.
    let text = |i: usize| match row.get(i) {
        Some(SqlStorageValue::String(s)) => Ok(Some(s.clone())),
        Some(SqlStorageValue::Null) => Ok(None),
        _ => Err(corrupt("has a column that is not text")),
    };
    let num = |i: usize| int(row.get(i)).ok_or_else(|| corrupt("has no number"));
    let json = |v: Option<String>| match v {
        Some(s) => serde_json::from_str::<serde_json::Value>(&s)
            .map_err(|e| corrupt(&format!("holds JSON that does not parse ({e})"))),
        None => Ok(serde_json::Value::Null),
    };
    let action = text(2)?.ok_or_else(|| corrupt("has no action"))?;
    let detail = text(5)?.ok_or_else(|| corrupt("has no detail"))?;
    Ok(serde_json::json!({
        "seq": num(0)?,
        "at": num(1)?,
        "action": action,
        "actor": json(text(3)?)?,
        "target": text(4)?,
        "detail": json(Some(detail))?,
    }))
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
        .ok_or_else(|| EdgeError::Storage("counting the update log returned no row".into()))?;
    let num = |i: usize| {
        int(row.get(i))
            .map(|n| n as u64)
            .ok_or_else(|| EdgeError::Storage(format!("counting the update log returned {row:?}")))
    };
    Ok(LogStats {
        rows: num(0)?,
        bytes: num(1)?,
        snapshot_bytes: num(2)?,
    })
}
