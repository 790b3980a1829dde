//! Search ("intelligence mode"): which items of the room changed since the index was
//! last brought up to date, the rows each now becomes, what a query means, and the
//! hits it answers with. The edge stores the rows in SQLite FTS5 as updates are stored
//! and runs the query there; every decision is made here.
//!
//! A search request over a socket cannot be answered from memory: the room defers it
//! ([`Room::take_deferred`]) and the edge answers it ([`Room::deferred_answer`]).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::*;
use crate::authority::op::SearchArgs;
use crate::authority::{Actor, Op, OpError};
use crate::doc::Participant;
use crate::model::search::{SearchKind, SearchRow};
use crate::protocol::scan::{ParentRef, Scan, ZonePath};

/// The index's layout version: an index stored under another is rebuilt.
pub const INDEX_VERSION: &str = "1";
/// Most hits one query answers with.
pub const MAX_HITS: u32 = 100;
/// Hits when the query does not say.
pub const DEFAULT_HITS: u32 = 20;
/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 256;
/// Most terms in one query.
pub const MAX_TERMS: usize = 16;
/// Candidates a semantic ranking reorders.
pub const RERANK_CANDIDATES: u32 = 50;
/// Rows read per hit asked for: a long document matches in many paragraphs, and each
/// place counts once.
pub const ROWS_PER_HIT: u32 = 5;

/// One row to store, with who wrote it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRow {
    /// Its key within its item.
    pub chunk: String,
    /// `document`, `file`, `message`, `comment` or `context`.
    pub kind: &'static str,
    /// What a hit opens.
    pub target: String,
    /// Where it is, for people.
    pub place: String,
    /// Who wrote it.
    pub author: Participant,
    /// When, ms since the Unix epoch.
    pub at: u64,
    /// Its text.
    pub text: String,
}

/// An item's rows as they are now: the index replaces the item's rows with these,
/// keeping a stored row whose key is among them (and its author and time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexChange {
    /// The item (`doc:<id>`, `message:<id>`, ...).
    pub item: String,
    /// Its rows; none when it is gone.
    pub rows: Vec<IndexRow>,
}

/// A search request over a socket, for the edge to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Deferred {
    /// The connection that asked.
    pub conn: ConnId,
    /// The request's id.
    pub id: u64,
    /// Who asked.
    pub actor: Actor,
    /// What.
    pub args: SearchArgs,
}

/// A query checked and put in the index's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPlan {
    /// The FTS5 match expression: every term (the last as a prefix).
    pub all_terms: String,
    /// The same terms, any of them (the candidates a semantic ranking reorders).
    pub any_term: String,
    /// Kinds to keep (empty: all).
    pub kinds: Vec<String>,
    /// Author to keep.
    pub author: Option<String>,
    /// Written at or after.
    pub after: u64,
    /// Written before.
    pub before: u64,
    /// Most hits.
    pub limit: u32,
    /// The query as given (for a semantic ranking).
    pub query: String,
}

/// A row the index matched, as the edge read it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawHit {
    /// Its item.
    pub item: String,
    /// Its kind.
    pub kind: String,
    /// What it opens.
    pub target: String,
    /// Where it is.
    pub place: String,
    /// Author id, name and kind.
    pub author: (String, String, String),
    /// When.
    pub at: u64,
    /// The snippet, matches between `\u{2}` and `\u{3}`.
    pub snippet: String,
    /// The row's whole text.
    pub text: String,
    /// The index's rank (lower is better).
    pub rank: f64,
}

/// Check a query: not blank, not too long, known kinds, a sane time range.
pub fn plan(args: &SearchArgs) -> std::result::Result<SearchPlan, OpError> {
    let query = args.query.trim();
    if query.is_empty() {
        return Err(OpError::invalid("search: `query` is blank"));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(OpError::invalid(format!(
            "search: `query` is over {MAX_QUERY_CHARS} characters"
        )));
    }
    let terms = terms(query);
    if terms.is_empty() {
        return Err(OpError::invalid(
            "search: `query` has no words to look for (only punctuation)",
        ));
    }
    if terms.len() > MAX_TERMS {
        return Err(OpError::invalid(format!(
            "search: `query` has {} terms; the limit is {MAX_TERMS}",
            terms.len()
        )));
    }
    let kinds = args.kinds.clone().unwrap_or_default();
    if let Some(bad) = kinds.iter().find(|k| SearchKind::parse(k).is_none()) {
        return Err(OpError::invalid(format!(
            "search: unknown kind `{bad}` (expected any of document, file, message, comment, context)"
        )));
    }
    let limit = args.limit.unwrap_or(DEFAULT_HITS);
    if limit == 0 || limit > MAX_HITS {
        return Err(OpError::invalid(format!(
            "search: `limit` must be 1 to {MAX_HITS}; got {limit}"
        )));
    }
    let (after, before) = (
        args.after.unwrap_or(0),
        args.before.unwrap_or(u64::MAX >> 11),
    );
    if after >= before {
        return Err(OpError::invalid(
            "search: `after` must come before `before`",
        ));
    }
    let quoted: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(i, (t, phrase))| {
            let q = format!("\"{}\"", t.replace('"', "\"\""));
            if i + 1 == terms.len() && !phrase {
                format!("{q}*")
            } else {
                q
            }
        })
        .collect();
    Ok(SearchPlan {
        all_terms: quoted.join(" "),
        any_term: quoted.join(" OR "),
        kinds,
        author: args.author.clone().filter(|a| !a.is_empty()),
        after,
        before,
        limit,
        query: query.to_owned(),
    })
}

/// The query's terms: words, and phrases in double quotes (`true`).
fn terms(query: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for (i, part) in query.split('"').enumerate() {
        if i % 2 == 1 {
            let phrase = part.split_whitespace().collect::<Vec<_>>().join(" ");
            if phrase.chars().any(char::is_alphanumeric) {
                out.push((phrase, true));
            }
        } else {
            out.extend(
                part.split_whitespace()
                    .filter(|w| w.chars().any(char::is_alphanumeric))
                    .map(|w| (w.to_owned(), false)),
            );
        }
    }
    out
}

/// Reorder `hits` by meaning: each hit's cosine similarity to the query's vector,
/// blended with its place in the text ranking (so exact matches stay near the top).
pub fn rerank(hits: &mut Vec<Value>, query: &[f32], vectors: &[Vec<f32>]) {
    let n = hits.len().max(1) as f64;
    let mut scored: Vec<(f64, Value)> = std::mem::take(hits)
        .into_iter()
        .zip(vectors)
        .enumerate()
        .map(|(i, (mut hit, v))| {
            let similarity = cosine(query, v);
            let textual = 1.0 - i as f64 / n;
            let score = 0.7 * similarity + 0.3 * textual;
            hit["similarity"] = json!((similarity * 1000.0).round() / 1000.0);
            (score, hit)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    *hits = scored.into_iter().map(|(_, h)| h).collect();
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

impl Room {
    /// Note the items an applied update changed (its actor wrote them, now).
    pub(super) fn note_search(
        &mut self,
        actor: &Actor,
        scan: &Scan,
        touched: &BTreeSet<Option<ZonePath>>,
        now_ms: u64,
    ) {
        let mut items = BTreeSet::new();
        for path in touched.iter().flatten() {
            let Some(root) = path.first() else { continue };
            if let Some(doc) = crate::doc::schema::document_of_root(root) {
                items.insert(format!("doc:{doc}"));
            } else if let Some(id) = path.get(1) {
                if let Some(kind) = item_kind(root) {
                    items.insert(format!("{kind}:{id}"));
                }
            }
        }
        for item in &scan.items {
            if let (Some(ParentRef::Root(root)), Some(key)) = (&item.parent, &item.parent_sub) {
                if let Some(kind) = item_kind(root) {
                    items.insert(format!("{kind}:{key}"));
                }
            }
        }
        for item in items {
            self.note_search_item(item, actor, now_ms);
        }
    }

    /// Note that `item` changed, by `actor`, now.
    pub(super) fn note_search_item(&mut self, item: String, actor: &Actor, now_ms: u64) {
        self.search_dirty
            .insert(item, (actor.participant(), now_ms));
    }

    /// Whether some item changed since [`Self::take_search_changes`] was last called.
    pub fn has_search_changes(&self) -> bool {
        !self.search_dirty.is_empty()
    }

    /// The rows of every item that changed since the last call: the edge writes them to
    /// the index as it stores the updates that changed them.
    pub fn take_search_changes(&mut self) -> Vec<IndexChange> {
        let dirty = std::mem::take(&mut self.search_dirty);
        if dirty.is_empty() {
            return Vec::new();
        }
        let reader = self.reader();
        dirty
            .into_iter()
            .map(|(item, (who, at))| IndexChange {
                rows: reader
                    .search_rows(&item)
                    .into_iter()
                    .map(|r| index_row(r, &who, at))
                    .collect(),
                item,
            })
            .collect()
    }

    /// Every item's rows, for an index built from nothing: a document's chunks are
    /// attributed by blame to whoever wrote most of each.
    pub fn search_rebuild(&mut self, now_ms: u64) -> Vec<IndexChange> {
        self.search_dirty.clear();
        let mut reader = self.reader();
        let room = Participant::person("room", "the room");
        reader
            .search_items()
            .into_iter()
            .map(|item| {
                let rows = reader.search_rows(&item);
                let authors = match item.strip_prefix("doc:") {
                    Some(doc) => chunk_authors(&mut reader, doc, &rows),
                    None => Vec::new(),
                };
                let rows = rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let who = authors
                            .get(i)
                            .cloned()
                            .flatten()
                            .unwrap_or_else(|| room.clone());
                        index_row(r, &who, now_ms)
                    })
                    .collect();
                IndexChange { item, rows }
            })
            .collect()
    }

    /// The hits for `plan` from the rows the index matched: each with where it is, who
    /// wrote it and when, a snippet and its matches (UTF-16 ranges in the snippet), and
    /// for a document the offset of its chunk in the text now.
    /// One hit per place it opens (the best of its rows; `matches` counts them all),
    /// at most `limit`.
    pub fn search_hits(&self, raw: Vec<RawHit>, limit: usize) -> Vec<Value> {
        let reader = self.reader();
        let mut texts: std::collections::HashMap<String, Option<String>> = Default::default();
        let mut matches: std::collections::HashMap<String, usize> = Default::default();
        for h in &raw {
            *matches.entry(h.target.clone()).or_default() += 1;
        }
        let mut seen = BTreeSet::new();
        raw.into_iter()
            .filter(|h| seen.insert(h.target.clone()))
            .take(limit)
            .map(|h| {
                let (snippet, highlights) = marks(&h.snippet);
                let mut hit = json!({
                    "kind": h.kind,
                    "target": h.target,
                    "place": h.place,
                    "author": { "id": h.author.0, "name": h.author.1, "kind": h.author.2 },
                    "at": h.at,
                    "snippet": snippet,
                    "highlights": highlights,
                    "matches": matches.get(&h.target).copied().unwrap_or(1),
                });
                if let Some(doc) = h.target.strip_prefix("doc:") {
                    let text = texts
                        .entry(doc.to_owned())
                        .or_insert_with(|| reader.document_text(doc).ok());
                    if let Some(at) = text.as_deref().and_then(|t| t.find(&h.text)) {
                        let offset = text
                            .as_deref()
                            .map_or(0, |t| t[..at].encode_utf16().count());
                        hit["offset"] = json!(offset);
                    }
                }
                hit
            })
            .collect()
    }

    /// Search requests from sockets, for the edge to answer.
    pub fn take_deferred(&mut self) -> Vec<Deferred> {
        std::mem::take(&mut self.deferred)
    }

    /// The response frame for deferred request `id` of `conn`.
    pub fn deferred_answer(
        &self,
        conn: ConnId,
        id: u64,
        result: std::result::Result<Value, OpError>,
    ) -> Outgoing {
        let body = match result {
            Ok(result) => json!({ "ok": true, "result": result }),
            Err(e) => json!({ "ok": false, "error": { "code": e.code, "message": e.message } }),
        };
        Outgoing {
            to: Recipient::Only(conn),
            frame: protocol::response(id, &body),
        }
    }

    /// Defer `op` from `conn` when only the edge can answer it (a search).
    pub(super) fn defer(&mut self, conn: ConnId, id: u64, actor: &Actor, op: &Op) -> bool {
        let Op::Search(args) = op else { return false };
        self.deferred.push(Deferred {
            conn,
            id,
            actor: actor.clone(),
            args: args.clone(),
        });
        true
    }
}

/// The item kind of a root map's entries, for those the index holds.
fn item_kind(root: &str) -> Option<&'static str> {
    match root {
        "documents" => Some("doc"),
        "messages" => Some("message"),
        crate::doc::schema::COMMENTS => Some("comment"),
        "context" => Some("context"),
        crate::doc::schema::FILES => Some("file"),
        _ => None,
    }
}

fn index_row(r: SearchRow, who: &Participant, at: u64) -> IndexRow {
    IndexRow {
        chunk: r.chunk,
        kind: r.kind.as_str(),
        target: r.target,
        place: r.place,
        author: r.author.unwrap_or_else(|| who.clone()),
        at: r.at.unwrap_or(at),
        text: r.text,
    }
}

/// For each row of document `doc` (its chunks, in order), who wrote most of it.
fn chunk_authors(
    reader: &mut crate::doc::RoomDoc,
    doc: &str,
    rows: &[SearchRow],
) -> Vec<Option<Participant>> {
    let Ok(text) = reader.document_text(doc) else {
        return Vec::new();
    };
    let len = text.encode_utf16().count() as u32;
    let Ok(spans) = reader.blame(doc, 0, len) else {
        return Vec::new();
    };
    let mut from = 0usize;
    rows.iter()
        .map(|r| {
            let at = text[from..].find(&r.text).map(|i| from + i)?;
            from = at + r.text.len();
            let start = text[..at].encode_utf16().count() as u32;
            let end = start + r.text.encode_utf16().count() as u32;
            let mut best: Option<(u32, Participant)> = None;
            for s in &spans {
                let overlap = s.end.min(end).saturating_sub(s.start.max(start));
                if let (true, Some(a)) = (overlap > 0, &s.author) {
                    if best.as_ref().is_none_or(|(n, _)| overlap > *n) {
                        best = Some((overlap, a.clone()));
                    }
                }
            }
            best.map(|(_, a)| a)
        })
        .collect()
}

/// A snippet without its match markers, and the matches' UTF-16 ranges in it.
fn marks(snippet: &str) -> (String, Vec<[usize; 2]>) {
    let mut out = String::new();
    let mut ranges = Vec::new();
    let mut at = 0usize;
    let mut open = None;
    for c in snippet.chars() {
        match c {
            '\u{2}' => open = Some(at),
            '\u{3}' => {
                if let Some(start) = open.take() {
                    ranges.push([start, at]);
                }
            }
            c => {
                out.push(c);
                at += c.len_utf16();
            }
        }
    }
    (out, ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_quoted_terms_the_last_a_prefix() {
        let p = plan(&SearchArgs {
            query: "launch \"on Friday\" budg".into(),
            ..SearchArgs::default()
        })
        .unwrap();
        assert_eq!(p.all_terms, "\"launch\" \"on Friday\" \"budg\"*");
        assert_eq!(p.any_term, "\"launch\" OR \"on Friday\" OR \"budg\"*");
        let p = plan(&SearchArgs {
            query: "say \"hi".into(),
            ..SearchArgs::default()
        })
        .unwrap();
        assert_eq!(p.all_terms, "\"say\" \"hi\"");
        for (query, why) in [
            ("   ", "blank"),
            ("!!! ??", "no words"),
            ("a ".repeat(20).as_str(), "terms"),
        ] {
            let err = plan(&SearchArgs {
                query: query.into(),
                ..SearchArgs::default()
            })
            .unwrap_err();
            assert!(err.message.contains(why), "{query:?}: {}", err.message);
        }
        let err = plan(&SearchArgs {
            query: "x".into(),
            kinds: Some(vec!["tweet".into()]),
            ..SearchArgs::default()
        })
        .unwrap_err();
        assert!(
            err.message.contains("unknown kind `tweet`"),
            "{}",
            err.message
        );
        let err = plan(&SearchArgs {
            query: "x".into(),
            limit: Some(0),
            ..SearchArgs::default()
        })
        .unwrap_err();
        assert!(err.message.contains("1 to 100"), "{}", err.message);
    }

    #[test]
    fn snippets_lose_their_markers_and_keep_utf16_ranges() {
        let (text, ranges) = marks("…the \u{2}café\u{3} on 😀 \u{2}Friday\u{3}");
        assert_eq!(text, "…the café on 😀 Friday");
        assert_eq!(ranges, [[5, 9], [16, 22]]);
    }

    #[test]
    fn a_semantic_ranking_moves_the_closest_meaning_up() {
        let mut hits = vec![json!({ "target": "a" }), json!({ "target": "b" })];
        rerank(&mut hits, &[1.0, 0.0], &[vec![0.0, 1.0], vec![1.0, 0.1]]);
        assert_eq!(hits[0]["target"], "b");
        assert!(hits[0]["similarity"].as_f64().unwrap() > 0.9);
    }
}
