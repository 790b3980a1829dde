//! History: who made each change, named versions, diffs between versions with the
//! author of every span, and restoring a version as a new change.
//!
//! Every session records its yrs client id → participant in the room's `clients` map,
//! so any change (an inserted or deleted span carries its client id) is attributed to a
//! person or an agent. A version is a named snapshot (state vector + delete set) with
//! author and time. Room documents keep deleted content (no garbage collection) so any
//! version can be read back on any replica.

use serde::Serialize;
use yrs::types::text::{ChangeKind, YChange};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Any, Map, MapPrelim, Out, ReadTxn, Snapshot, Text, Transact, WriteTxn};

use crate::doc::read::{get_num, get_str};
use crate::doc::record::deletion_records;
use crate::doc::schema::VERSIONS;
use crate::doc::{doc_text_name, minimal_edit, Participant, RoomDoc};
use crate::error::{Error, Result};

/// A named version of the room.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VersionInfo {
    /// Version id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Who made it.
    pub author: Participant,
    /// When, ms since the Unix epoch.
    pub at: f64,
}

/// What happened to a span between two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SpanChange {
    /// In both versions.
    Unchanged,
    /// Inserted since the older version.
    Inserted,
    /// Deleted since the older version.
    Deleted,
}

/// A span of a document diff.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DiffSpan {
    /// The text of the span.
    pub text: String,
    /// What happened to it.
    pub change: SpanChange,
    /// Who wrote the span's text.
    pub author: Option<Participant>,
    /// For a deleted span: who deleted it (when a Confab client did).
    pub deleted_by: Option<Participant>,
    /// The yrs client id that wrote the span.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub client: Option<u64>,
    /// The agent turn the span was written for, when recorded.
    pub turn: Option<String>,
    /// The agent's model, when recorded.
    pub model: Option<String>,
}

impl RoomDoc {
    /// Name the current state of the room as a version; returns its id.
    pub fn create_version(
        &mut self,
        name: &str,
        author: &Participant,
        now_ms: u64,
    ) -> Result<String> {
        if name.trim().is_empty() {
            return Err(Error::Empty("version name"));
        }
        let id = self.fresh_id();
        let mut txn = self.doc.transact_mut();
        let snapshot = txn.snapshot().encode_v1();
        let versions = txn.get_or_insert_map(VERSIONS);
        let entry = MapPrelim::from_iter([
            ("name", Any::from(name)),
            ("author", author.to_any()),
            ("at", Any::from(now_ms as f64)),
            ("snapshot", Any::from(snapshot)),
        ]);
        versions.insert(&mut txn, id.as_str(), entry);
        Ok(id)
    }

    /// Every named version, oldest first.
    pub fn versions(&self) -> Vec<VersionInfo> {
        let txn = self.doc.transact();
        let Some(versions) = txn.get_map(VERSIONS) else {
            return Vec::new();
        };
        let mut out: Vec<VersionInfo> = versions
            .iter(&txn)
            .filter_map(|(id, value)| {
                let Out::YMap(m) = value else { return None };
                Some(VersionInfo {
                    id: id.to_owned(),
                    name: get_str(&m, &txn, "name")?,
                    author: match m.get(&txn, "author")? {
                        Out::Any(a) => Participant::from_any(&a)?,
                        _ => return None,
                    },
                    at: get_num(&m, &txn, "at").unwrap_or(0.0),
                })
            })
            .collect();
        out.sort_by(|a, b| a.at.total_cmp(&b.at).then(a.id.cmp(&b.id)));
        out
    }

    fn version_snapshot(&self, id: &str) -> Result<Snapshot> {
        let txn = self.doc.transact();
        let bytes = txn
            .get_map(VERSIONS)
            .and_then(|versions| match versions.get(&txn, id) {
                Some(Out::YMap(m)) => match m.get(&txn, "snapshot") {
                    Some(Out::Any(Any::Buffer(b))) => Some(b),
                    _ => None,
                },
                _ => None,
            })
            .ok_or_else(|| Error::UnknownVersion(id.to_owned()))?;
        Snapshot::decode_v1(&bytes).map_err(|e| Error::malformed("stored version", e))
    }

    /// Document `doc` as it was at version `version` (empty if it did not exist yet).
    pub fn document_at(&mut self, version: &str, doc: &str) -> Result<String> {
        let snapshot = self.version_snapshot(version)?;
        let spans = self.diff_spans(doc, Some(&snapshot), Some(&snapshot))?;
        Ok(spans.into_iter().map(|s| s.text).collect())
    }

    /// How document `doc` changed from version `from` (the beginning when `None`) to
    /// version `to` (now when `None`), span by span, with the author of each change.
    pub fn diff_versions(
        &mut self,
        doc: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<DiffSpan>> {
        let lo = from.map(|v| self.version_snapshot(v)).transpose()?;
        let hi = match to {
            Some(v) => self.version_snapshot(v)?,
            None => self.doc.transact().snapshot(),
        };
        let lo = lo.unwrap_or_else(|| Snapshot::new(Default::default(), Default::default()));
        self.diff_spans(doc, Some(&hi), Some(&lo))
    }

    fn diff_spans(
        &mut self,
        doc: &str,
        hi: Option<&Snapshot>,
        lo: Option<&Snapshot>,
    ) -> Result<Vec<DiffSpan>> {
        let text = {
            let txn = self.doc.transact();
            txn.get_text(doc_text_name(doc).as_str())
                .ok_or_else(|| Error::UnknownDocument(doc.to_owned()))?
        };
        let names = self.clients_by_id();
        self.epochs.refresh();
        let deletions = deletion_records(&self.doc.transact());
        // Reading a past version splits blocks at its boundaries; that changes no content.
        let chunks = {
            let mut txn = self.doc.transact_mut();
            text.diff_range(&mut txn, hi, lo, YChange::identity)
        };
        let mut spans: Vec<DiffSpan> = Vec::new();
        for chunk in chunks {
            let Out::Any(Any::String(s)) = chunk.insert else {
                continue;
            };
            let (change, id) = match chunk.ychange {
                Some(YChange {
                    kind: ChangeKind::Added,
                    id,
                }) => (SpanChange::Inserted, Some(id)),
                Some(YChange {
                    kind: ChangeKind::Removed,
                    id,
                }) => (SpanChange::Deleted, Some(id)),
                None => (SpanChange::Unchanged, None),
            };
            let client = id.map(|id| id.client.get());
            let epoch = id.and_then(|id| self.epochs.at(id.client.get(), id.clock));
            let (turn, model) = (
                epoch.and_then(|e| e.turn.clone()),
                epoch.and_then(|e| e.model.clone()),
            );
            let author = client.and_then(|c| names.get(&c).cloned());
            let deleted_by = match (id, change) {
                (Some(id), SpanChange::Deleted) => deletions
                    .get(&id.client.get())
                    .and_then(|ranges| {
                        ranges
                            .iter()
                            .find(|(start, end, _, _)| (*start..*end).contains(&id.clock))
                    })
                    .and_then(|(_, _, by, _)| names.get(by).cloned()),
                _ => None,
            };
            match spans.last_mut() {
                Some(last)
                    if last.change == change
                        && last.client == client
                        && last.deleted_by == deleted_by
                        && last.turn == turn =>
                {
                    last.text.push_str(&s)
                }
                _ => spans.push(DiffSpan {
                    text: s.to_string(),
                    change,
                    author,
                    deleted_by,
                    client,
                    turn,
                    model,
                }),
            }
        }
        Ok(spans)
    }

    /// Bring every document back to how it was at `version`, as a new change (made by
    /// whoever calls it, so it is attributed like any other edit). Returns the ids of
    /// the documents that changed.
    pub fn restore_version(&mut self, version: &str) -> Result<Vec<String>> {
        let mut changed = Vec::new();
        for info in self.documents() {
            let old = self.document_at(version, &info.id)?;
            let now = self.document_text(&info.id)?;
            if old == now {
                continue;
            }
            let (start, removed, inserted) = minimal_edit(&now, &old);
            if removed > 0 {
                self.delete_text(&info.id, start, removed)?;
            }
            if !inserted.is_empty() {
                self.insert_text(&info.id, start, &inserted)?;
            }
            changed.push(info.id);
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::sync_docs as sync;

    /// Ada wrote "hello world" in document `d`; both replicas have it.
    fn ada_and_bot() -> Result<(RoomDoc, RoomDoc, Participant, Participant)> {
        let (ada, bot) = (
            Participant::person("ada", "Ada"),
            Participant::agent("bot", "Bot"),
        );
        let mut one = RoomDoc::new(1);
        let mut two = RoomDoc::new(2);
        one.register_client(1, &ada);
        two.register_client(2, &bot);
        one.create_document(Some("d"), "D", 0)?;
        one.insert_text("d", 0, "hello world")?;
        sync(&one, &two);
        Ok((one, two, ada, bot))
    }

    #[test]
    fn diffs_name_who_inserted_and_deleted() -> Result<()> {
        let (mut one, mut two, ada, _) = ada_and_bot()?;
        let v1 = one.create_version("draft", &ada, 10)?;
        two.delete_text("d", 0, 6)?; // bot deletes "hello "
        two.insert_text("d", 5, "!")?; // bot appends "!"
        sync(&two, &one);
        let v2 = one.create_version("review", &ada, 20)?;
        assert_eq!(
            one.versions()
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>(),
            ["draft", "review"]
        );
        assert_eq!(one.document_at(&v1, "d")?, "hello world");
        assert_eq!(one.document_at(&v2, "d")?, "world!");
        let spans = one.diff_versions("d", Some(&v1), Some(&v2))?;
        let shape: Vec<(&str, SpanChange, Option<&str>)> = spans
            .iter()
            .map(|s| {
                (
                    s.text.as_str(),
                    s.change,
                    s.author.as_ref().map(|p| p.id.as_str()),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("hello ", SpanChange::Deleted, Some("ada")),
                ("world", SpanChange::Unchanged, None),
                ("!", SpanChange::Inserted, Some("bot")),
            ]
        );
        // From the beginning, everything is an insertion by its author.
        let all = one.diff_versions("d", None, None)?;
        assert!(all.iter().all(|s| s.change != SpanChange::Unchanged));
        assert!(matches!(
            one.document_at("nope", "d"),
            Err(Error::UnknownVersion(_))
        ));
        Ok(())
    }

    #[test]
    fn restoring_a_version_is_a_new_change_that_syncs() -> Result<()> {
        let ada = Participant::person("ada", "Ada");
        let mut one = RoomDoc::new(1);
        one.register_client(1, &ada);
        one.create_document(Some("d"), "D", 0)?;
        one.insert_text("d", 0, "a😀 version one")?;
        let v1 = one.create_version("one", &ada, 1)?;
        one.delete_text("d", 3, 12)?;
        one.insert_text("d", 3, " two!")?;
        assert_eq!(one.document_text("d")?, "a😀 two!");
        let two = RoomDoc::new(2);
        sync(&one, &two);
        assert_eq!(one.restore_version(&v1)?, ["d"]);
        assert_eq!(one.document_text("d")?, "a😀 version one");
        sync(&one, &two);
        assert_eq!(two.document_text("d")?, "a😀 version one");
        assert_eq!(one.participant_for_client(1), Some(ada));
        Ok(())
    }

    #[test]
    fn minimal_edits() {
        assert_eq!(minimal_edit("abc", "abc"), (3, 0, String::new()));
        assert_eq!(minimal_edit("abXc", "abc"), (2, 1, String::new()));
        assert_eq!(minimal_edit("ac", "abc"), (1, 0, "b".into()));
        assert_eq!(minimal_edit("😀", "😃"), (0, 2, "😃".into()));
    }
}
