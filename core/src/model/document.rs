//! Shared documents: their metadata (title, kind, creation time). Their bodies are
//! root texts edited through [`crate::doc::text`].

use serde::Serialize;
use yrs::{Any, Map, MapPrelim, Out, Transact, WriteTxn};

use crate::doc::read::{get_num, get_str};
use crate::doc::{doc_text_name, RoomDoc};
use crate::error::{Error, Result};

/// A shared document's metadata.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DocumentInfo {
    /// Document id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Kind, e.g. "text" or "code".
    pub kind: String,
    /// Creation time, ms since the Unix epoch.
    pub created_at: f64,
}

impl RoomDoc {
    /// Create a shared document; returns its id.
    pub fn create_document(
        &mut self,
        id: Option<&str>,
        title: &str,
        now_ms: u64,
    ) -> Result<String> {
        let id = self.pick_id(id)?;
        let mut txn = self.doc.transact_mut();
        if self.documents.get(&txn, &id).is_some() {
            return Err(Error::AlreadyExists {
                kind: "document",
                id,
            });
        }
        let entry = MapPrelim::from_iter([
            ("title", Any::from(title)),
            ("kind", Any::from("text")),
            ("createdAt", Any::from(now_ms as f64)),
        ]);
        self.documents.insert(&mut txn, id.as_str(), entry);
        txn.get_or_insert_text(doc_text_name(&id));
        Ok(id)
    }

    /// Create the document unless it exists.
    pub fn ensure_document(&mut self, id: &str, title: &str, now_ms: u64) -> Result<()> {
        match self.create_document(Some(id), title, now_ms) {
            Ok(_) | Err(Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every shared document, oldest first.
    pub fn documents(&self) -> Vec<DocumentInfo> {
        let txn = self.doc.transact();
        let mut out: Vec<DocumentInfo> = self
            .documents
            .iter(&txn)
            .filter_map(|(id, value)| {
                let Out::YMap(m) = value else { return None };
                Some(DocumentInfo {
                    id: id.to_owned(),
                    title: get_str(&m, &txn, "title").unwrap_or_default(),
                    kind: get_str(&m, &txn, "kind").unwrap_or_else(|| "text".to_owned()),
                    created_at: get_num(&m, &txn, "createdAt").unwrap_or(0.0),
                })
            })
            .collect();
        out.sort_by(|a, b| a.created_at.total_cmp(&b.created_at).then(a.id.cmp(&b.id)));
        out
    }

    /// Set document `doc`'s title (a tracked field: concurrent renames conflict).
    pub fn set_document_title(&mut self, doc: &str, title: &str) -> Result<()> {
        if title.trim().is_empty() {
            return Err(Error::Empty("title"));
        }
        self.write_field("documents", doc, "title", Any::from(title))
    }
}
