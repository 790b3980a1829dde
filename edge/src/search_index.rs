//! The room's search index in Durable Object SQLite: an FTS5 table of texts and a
//! plain table of what each row is (its item and key, kind, place, author, time).
//! Core says which rows each item has ([`IndexChange`]) and what a query means
//! ([`SearchPlan`]); this only stores and matches.

use std::collections::HashMap;

use confab_core::room::search::{IndexChange, RawHit, SearchPlan, INDEX_VERSION};
use worker::{SqlStorage, SqlStorageValue};

use crate::error::EdgeError;

/// The kv key holding the index's layout version.
const VERSION_KEY: &str = "search.version";

fn storage_error(e: worker::Error) -> EdgeError {
    EdgeError::Storage(format!("search index: {e}"))
}

fn text(v: &SqlStorageValue) -> String {
    match v {
        SqlStorageValue::String(s) => s.clone(),
        _ => String::new(),
    }
}

fn int(v: &SqlStorageValue) -> i64 {
    match v {
        SqlStorageValue::Integer(n) => *n,
        SqlStorageValue::Float(f) => *f as i64,
        _ => 0,
    }
}

/// The index over one room's SQLite storage.
pub struct SearchIndex {
    sql: SqlStorage,
}

impl SearchIndex {
    /// Open the index, creating its tables on first use.
    pub fn open(sql: SqlStorage) -> Result<Self, EdgeError> {
        for table in [
            "CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(text, tokenize = 'unicode61 remove_diacritics 2')",
            "CREATE TABLE IF NOT EXISTS search_rows (rowid INTEGER PRIMARY KEY, item TEXT NOT NULL, \
             chunk TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL, place TEXT NOT NULL, \
             author_id TEXT NOT NULL, author_name TEXT NOT NULL, author_kind TEXT NOT NULL, at INTEGER NOT NULL)",
            "CREATE INDEX IF NOT EXISTS search_rows_item ON search_rows (item)",
        ] {
            sql.exec(table, None).map_err(storage_error)?;
        }
        Ok(SearchIndex { sql })
    }

    /// The index of a store whose tables exist (made by [`Self::open`] earlier).
    pub fn attach(sql: SqlStorage) -> Self {
        SearchIndex { sql }
    }

    fn rows(
        &self,
        query: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<Vec<Vec<SqlStorageValue>>, EdgeError> {
        crate::sql_store::rows(&self.sql, query, args)
    }

    /// Is the stored index built with this layout?
    pub fn current(&self) -> Result<bool, EdgeError> {
        let rows = self.rows(
            "SELECT value FROM kv WHERE key = ?",
            vec![VERSION_KEY.into()],
        )?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .is_some_and(|v| text(v) == INDEX_VERSION))
    }

    /// Say whether the stored index can be trusted (a failed write marks it for a
    /// rebuild).
    pub fn mark(&self, current: bool) -> Result<(), EdgeError> {
        let value = if current { INDEX_VERSION } else { "stale" };
        self.rows(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![VERSION_KEY.into(), value.into()],
        )?;
        Ok(())
    }

    /// Empty the index (before a rebuild).
    pub fn clear(&self) -> Result<(), EdgeError> {
        self.rows("DELETE FROM search", vec![])?;
        self.rows("DELETE FROM search_rows", vec![])?;
        Ok(())
    }

    /// Bring each changed item's rows to what core says: rows whose key is gone are
    /// deleted, new keys inserted, kept rows keep their author and time (their place
    /// follows a rename). Returns the rows written.
    pub fn apply(&self, changes: &[IndexChange]) -> Result<usize, EdgeError> {
        let mut written = 0;
        for change in changes {
            let stored = self.rows(
                "SELECT rowid, chunk, kind, target, place FROM search_rows WHERE item = ?",
                vec![change.item.as_str().into()],
            )?;
            let mut have: HashMap<String, (i64, String, String, String)> = stored
                .iter()
                .map(|r| {
                    (
                        text(&r[1]),
                        (int(&r[0]), text(&r[2]), text(&r[3]), text(&r[4])),
                    )
                })
                .collect();
            for row in &change.rows {
                if let Some((rowid, kind, target, place)) = have.remove(&row.chunk) {
                    if (kind.as_str(), &target, &place) != (row.kind, &row.target, &row.place) {
                        self.rows(
                            "UPDATE search_rows SET kind = ?, target = ?, place = ? WHERE rowid = ?",
                            vec![
                                row.kind.into(),
                                row.target.as_str().into(),
                                row.place.as_str().into(),
                                SqlStorageValue::Integer(rowid),
                            ],
                        )?;
                    }
                    continue;
                }
                let inserted = self.rows(
                    "INSERT INTO search_rows (item, chunk, kind, target, place, author_id, author_name, author_kind, at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING rowid",
                    vec![
                        change.item.as_str().into(),
                        row.chunk.as_str().into(),
                        row.kind.into(),
                        row.target.as_str().into(),
                        row.place.as_str().into(),
                        row.author.id.as_str().into(),
                        row.author.name.as_str().into(),
                        row.author.kind.as_str().into(),
                        SqlStorageValue::Integer(row.at as i64),
                    ],
                )?;
                let rowid = inserted
                    .first()
                    .and_then(|r| r.first())
                    .map(int)
                    .ok_or_else(|| {
                        EdgeError::Storage("search index: an insert returned no rowid".into())
                    })?;
                self.rows(
                    "INSERT INTO search (rowid, text) VALUES (?, ?)",
                    vec![SqlStorageValue::Integer(rowid), row.text.as_str().into()],
                )?;
                written += 1;
            }
            for (rowid, ..) in have.into_values() {
                self.rows(
                    "DELETE FROM search WHERE rowid = ?",
                    vec![SqlStorageValue::Integer(rowid)],
                )?;
                self.rows(
                    "DELETE FROM search_rows WHERE rowid = ?",
                    vec![SqlStorageValue::Integer(rowid)],
                )?;
            }
        }
        Ok(written)
    }

    /// The rows matching `expression` (one of the plan's match expressions) within the
    /// plan's filters, best first, at most `limit`.
    pub fn query(
        &self,
        plan: &SearchPlan,
        expression: &str,
        limit: u32,
    ) -> Result<Vec<RawHit>, EdgeError> {
        let kinds = if plan.kinds.is_empty() {
            String::new()
        } else {
            format!(",{},", plan.kinds.join(","))
        };
        let rows = self.rows(
            "SELECT r.item, r.kind, r.target, r.place, r.author_id, r.author_name, r.author_kind, r.at, \
             snippet(search, 0, char(2), char(3), '…', 24), search.text, bm25(search) \
             FROM search JOIN search_rows r ON r.rowid = search.rowid \
             WHERE search MATCH ? AND (? = '' OR instr(?, ',' || r.kind || ',') > 0) \
             AND (? = '' OR r.author_id = ?) AND r.at >= ? AND r.at < ? \
             ORDER BY bm25(search) LIMIT ?",
            vec![
                expression.into(),
                kinds.as_str().into(),
                kinds.as_str().into(),
                plan.author.as_deref().unwrap_or("").into(),
                plan.author.as_deref().unwrap_or("").into(),
                SqlStorageValue::Integer(plan.after as i64),
                SqlStorageValue::Integer(plan.before as i64),
                SqlStorageValue::Integer(i64::from(limit)),
            ],
        )?;
        Ok(rows
            .iter()
            .filter(|r| r.len() == 11)
            .map(|r| RawHit {
                item: text(&r[0]),
                kind: text(&r[1]),
                target: text(&r[2]),
                place: text(&r[3]),
                author: (text(&r[4]), text(&r[5]), text(&r[6])),
                at: int(&r[7]).max(0) as u64,
                snippet: text(&r[8]),
                text: text(&r[9]),
                rank: match &r[10] {
                    SqlStorageValue::Float(f) => *f,
                    other => int(other) as f64,
                },
            })
            .collect())
    }

    /// Rows in the index (for the room's statistics).
    pub fn size(&self) -> Result<u64, EdgeError> {
        let rows = self.rows("SELECT COUNT(*) FROM search_rows", vec![])?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .map(int)
            .unwrap_or(0)
            .max(0) as u64)
    }
}
