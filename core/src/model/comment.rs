//! Comment threads: on a range of a document, anchored by relative positions so the
//! range moves with the edits around it, or on a chat message. Each has replies, and is
//! resolved and reopened. Reviewers, who may not edit, may comment (the room's gate lets
//! them write this root, and only under their own name).

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, GetString, IndexedSequence, Map, MapPrelim, MapRef, Out,
    ReadTxn, StickyIndex, Text, Transact, WriteTxn,
};

use crate::doc::schema::{doc_text_name, COMMENTS};
use crate::doc::{Participant, RoomDoc};
use crate::error::{Error, Result};

/// Longest comment or reply, in bytes.
pub const MAX_COMMENT_BYTES: usize = 8 * 1024;

/// Where a comment is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CommentAnchor {
    /// The document, for a comment on a range.
    pub document: Option<String>,
    /// Where the range is now (UTF-16), following the edits since.
    pub start: Option<u32>,
    /// Its end, exclusive.
    pub end: Option<u32>,
    /// The text the range held when commented.
    pub quote: Option<String>,
    /// The message, for a comment on a chat message (a thread).
    pub message: Option<String>,
}

/// A reply in a thread.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CommentReply {
    /// Who wrote it.
    pub author: Participant,
    /// What they wrote.
    pub text: String,
    /// When (ms since the epoch).
    pub at: f64,
}

/// A comment and its thread.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "CommentInfo"))]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// Id.
    pub id: String,
    /// Who wrote it.
    pub author: Participant,
    /// What they wrote.
    pub text: String,
    /// When (ms since the epoch).
    pub created_at: f64,
    /// Where it is.
    pub anchor: CommentAnchor,
    /// Who resolved it, while it is resolved.
    pub resolved_by: Option<Participant>,
    /// Replies, oldest first.
    pub replies: Vec<CommentReply>,
}

fn check_text(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::Empty("comment text"));
    }
    if text.len() > MAX_COMMENT_BYTES {
        return Err(Error::LimitExceeded(format!(
            "a comment of {} bytes exceeds the limit of {MAX_COMMENT_BYTES}",
            text.len()
        )));
    }
    Ok(())
}

fn get_str<T: ReadTxn>(m: &MapRef, txn: &T, key: &str) -> Option<String> {
    match m.get(txn, key)? {
        Out::Any(Any::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

impl RoomDoc {
    /// Comment on `start..end` of document `doc`; returns the comment's id.
    pub fn comment_on_range(
        &mut self,
        doc: &str,
        start: u32,
        end: u32,
        text: &str,
        by: &Participant,
        now_ms: u64,
    ) -> Result<String> {
        check_text(text)?;
        let body = self.document_ref_checked(doc)?;
        let id = self.fresh_id();
        let mut txn = self.doc.transact_mut();
        let len = body.len(&txn);
        if start > end || end > len {
            return Err(Error::OutOfRange {
                target: format!("document `{doc}`"),
                index: start,
                end: u64::from(end),
                len,
            });
        }
        let quote: String = {
            let units: Vec<u16> = body.get_string(&txn).encode_utf16().collect();
            String::from_utf16_lossy(&units[start as usize..end as usize])
        };
        // The range follows its first and last characters, as an editor's selection does.
        let from = body
            .sticky_index(&txn, start, yrs::Assoc::After)
            .or_else(|| body.sticky_index(&txn, start, yrs::Assoc::Before));
        let to = body
            .sticky_index(&txn, end, yrs::Assoc::Before)
            .or_else(|| body.sticky_index(&txn, end, yrs::Assoc::After));
        let mut anchor: HashMap<String, Any> = HashMap::new();
        anchor.insert("doc".into(), Any::from(doc));
        anchor.insert("quote".into(), Any::from(quote));
        if let (Some(from), Some(to)) = (from, to) {
            anchor.insert("from".into(), Any::from(from.encode_v1()));
            anchor.insert("to".into(), Any::from(to.encode_v1()));
        }
        Self::insert_comment(&mut txn, &id, Any::Map(Arc::new(anchor)), text, by, now_ms);
        Ok(id)
    }

    /// Start a thread on chat message `message`; returns the comment's id.
    pub fn comment_on_message(
        &mut self,
        message: &str,
        text: &str,
        by: &Participant,
        now_ms: u64,
    ) -> Result<String> {
        check_text(text)?;
        if crate::model::message_in(&self.doc, message).is_none() {
            return Err(Error::UnknownMessage(message.to_owned()));
        }
        let id = self.fresh_id();
        let mut anchor: HashMap<String, Any> = HashMap::new();
        anchor.insert("message".into(), Any::from(message));
        let mut txn = self.doc.transact_mut();
        Self::insert_comment(&mut txn, &id, Any::Map(Arc::new(anchor)), text, by, now_ms);
        Ok(id)
    }

    fn insert_comment(
        txn: &mut yrs::TransactionMut<'_>,
        id: &str,
        anchor: Any,
        text: &str,
        by: &Participant,
        now_ms: u64,
    ) {
        let comments = txn.get_or_insert_map(COMMENTS);
        let entry = MapPrelim::from_iter([
            ("author", yrs::In::Any(by.to_any())),
            ("text", yrs::In::Any(Any::from(text))),
            ("createdAt", yrs::In::Any(Any::from(now_ms as f64))),
            ("anchor", yrs::In::Any(anchor)),
            ("replies", yrs::In::Array(ArrayPrelim::default())),
        ]);
        comments.insert(txn, id, entry);
    }

    fn comment_map<T: ReadTxn>(&self, txn: &T, id: &str) -> Result<MapRef> {
        match txn.get_map(COMMENTS).and_then(|c| c.get(txn, id)) {
            Some(Out::YMap(m)) => Ok(m),
            _ => Err(Error::UnknownComment(id.to_owned())),
        }
    }

    /// Reply in comment `id`'s thread.
    pub fn reply_to_comment(
        &mut self,
        id: &str,
        text: &str,
        by: &Participant,
        now_ms: u64,
    ) -> Result<()> {
        check_text(text)?;
        let mut txn = self.doc.transact_mut();
        let comment = self.comment_map(&txn, id)?;
        let replies = match comment.get(&txn, "replies") {
            Some(Out::YArray(a)) => a,
            _ => comment.insert(&mut txn, "replies", ArrayPrelim::default()),
        };
        let mut reply: HashMap<String, Any> = HashMap::new();
        reply.insert("author".into(), by.to_any());
        reply.insert("text".into(), Any::from(text));
        reply.insert("at".into(), Any::from(now_ms as f64));
        replies.push_back(&mut txn, Any::Map(Arc::new(reply)));
        Ok(())
    }

    /// Resolve comment `id` (or, with `false`, reopen it).
    pub fn set_comment_resolved(
        &mut self,
        id: &str,
        resolved: bool,
        by: &Participant,
        now_ms: u64,
    ) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let comment = self.comment_map(&txn, id)?;
        if resolved {
            let mut r: HashMap<String, Any> = HashMap::new();
            r.insert("by".into(), by.to_any());
            r.insert("at".into(), Any::from(now_ms as f64));
            comment.insert(&mut txn, "resolved", Any::Map(Arc::new(r)));
        } else {
            comment.insert(&mut txn, "resolved", Any::Null);
        }
        Ok(())
    }

    /// Every comment, oldest first, with ranges where they are now.
    pub fn comments(&self) -> Vec<Comment> {
        let txn = self.doc.transact();
        let Some(root) = txn.get_map(COMMENTS) else {
            return Vec::new();
        };
        let mut out: Vec<Comment> = root
            .iter(&txn)
            .filter_map(|(id, value)| match value {
                Out::YMap(m) => read_comment(&txn, id, &m),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| a.created_at.total_cmp(&b.created_at).then(a.id.cmp(&b.id)));
        out
    }

    /// One comment.
    pub fn comment(&self, id: &str) -> Result<Comment> {
        let txn = self.doc.transact();
        let m = self.comment_map(&txn, id)?;
        read_comment(&txn, id, &m).ok_or_else(|| Error::UnknownComment(id.to_owned()))
    }
}

/// Each comment in `doc` with whether it is resolved and how many replies it has: what
/// a room remembers to tell a new reply or resolution from what it already announced.
pub fn comment_states(doc: &yrs::Doc) -> Vec<(String, (bool, usize))> {
    let txn = doc.transact();
    let Some(root) = txn.get_map(COMMENTS) else {
        return Vec::new();
    };
    root.iter(&txn)
        .filter_map(|(id, value)| {
            let Out::YMap(m) = value else { return None };
            let resolved = matches!(m.get(&txn, "resolved"), Some(Out::Any(Any::Map(_))));
            let replies = match m.get(&txn, "replies") {
                Some(Out::YArray(a)) => read_replies(&txn, &a).len(),
                _ => 0,
            };
            Some((id.to_owned(), (resolved, replies)))
        })
        .collect()
}

/// Comment `id` as it is in `doc` (the room's own copy, which is no [`RoomDoc`]).
pub fn comment_in(doc: &yrs::Doc, id: &str) -> Option<Comment> {
    let txn = doc.transact();
    match txn.get_map(COMMENTS)?.get(&txn, id)? {
        Out::YMap(m) => read_comment(&txn, id, &m),
        _ => None,
    }
}

fn read_comment<T: ReadTxn>(txn: &T, id: &str, m: &MapRef) -> Option<Comment> {
    let author = match m.get(txn, "author")? {
        Out::Any(a) => Participant::from_any(&a)?,
        _ => return None,
    };
    let text = get_str(m, txn, "text").unwrap_or_default();
    let created_at = match m.get(txn, "createdAt") {
        Some(Out::Any(Any::Number(n))) => n.as_f64().unwrap_or(0.0),
        _ => 0.0,
    };
    let anchor = match m.get(txn, "anchor") {
        Some(Out::Any(Any::Map(a))) => read_anchor(txn, &a),
        _ => return None,
    };
    let resolved_by = match m.get(txn, "resolved") {
        Some(Out::Any(Any::Map(r))) => r.get("by").and_then(Participant::from_any),
        _ => None,
    };
    let replies = match m.get(txn, "replies") {
        Some(Out::YArray(a)) => read_replies(txn, &a),
        _ => Vec::new(),
    };
    Some(Comment {
        id: id.to_owned(),
        author,
        text,
        created_at,
        anchor,
        resolved_by,
        replies,
    })
}

fn read_anchor<T: ReadTxn>(txn: &T, a: &HashMap<String, Any>) -> CommentAnchor {
    let text = |key: &str| match a.get(key) {
        Some(Any::String(s)) => Some(s.to_string()),
        _ => None,
    };
    let sticky = |key: &str| match a.get(key) {
        Some(Any::Buffer(b)) => StickyIndex::decode_v1(b).ok(),
        _ => None,
    };
    let document = text("doc");
    let (mut start, mut end) = (None, None);
    if let (Some(doc), Some(from), Some(to)) = (&document, sticky("from"), sticky("to")) {
        // A body this replica has no root for yet reads as no range.
        if txn.get_text(doc_text_name(doc).as_str()).is_some() {
            if let (Some(s), Some(e)) = (from.get_offset(txn), to.get_offset(txn)) {
                start = Some(s.index);
                end = Some(e.index.max(s.index));
            }
        }
    }
    CommentAnchor {
        document,
        start,
        end,
        quote: text("quote"),
        message: text("message"),
    }
}

fn read_replies<T: ReadTxn>(txn: &T, a: &ArrayRef) -> Vec<CommentReply> {
    a.iter(txn)
        .filter_map(|v| match v {
            Out::Any(Any::Map(r)) => Some(CommentReply {
                author: r.get("author").and_then(Participant::from_any)?,
                text: match r.get("text") {
                    Some(Any::String(s)) => s.to_string(),
                    _ => String::new(),
                },
                at: match r.get("at") {
                    Some(Any::Number(n)) => n.as_f64().unwrap_or(0.0),
                    _ => 0.0,
                },
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_comment_moves_with_edits_and_threads_resolve_and_reopen() {
        let ada = Participant::person("ada", "Ada");
        let rita = Participant::person("rita", "Rita");
        let mut doc = RoomDoc::new(1);
        doc.create_document(Some("plan"), "Plan", 0).unwrap();
        doc.insert_text("plan", 0, "Ship the API on Monday.")
            .unwrap();
        let id = doc
            .comment_on_range("plan", 16, 22, "Monday is a holiday", &rita, 10)
            .unwrap();
        doc.insert_text("plan", 0, "Plan: ").unwrap();
        let c = doc.comment(&id).unwrap();
        assert_eq!((c.anchor.start, c.anchor.end), (Some(22), Some(28)));
        assert_eq!(c.anchor.quote.as_deref(), Some("Monday"));
        assert_eq!(&doc.document_text("plan").unwrap()[22..28], "Monday");
        doc.reply_to_comment(&id, "Tuesday then", &ada, 20).unwrap();
        doc.set_comment_resolved(&id, true, &ada, 30).unwrap();
        let c = doc.comment(&id).unwrap();
        assert_eq!(c.resolved_by.as_ref().map(|p| p.id.as_str()), Some("ada"));
        assert_eq!(c.replies[0].text, "Tuesday then");
        doc.set_comment_resolved(&id, false, &rita, 40).unwrap();
        assert!(doc.comments()[0].resolved_by.is_none());
    }

    #[test]
    fn bad_comments_are_refused_with_the_reason() {
        let ada = Participant::person("ada", "Ada");
        let mut doc = RoomDoc::new(1);
        doc.create_document(Some("plan"), "Plan", 0).unwrap();
        doc.insert_text("plan", 0, "abc").unwrap();
        let err = doc
            .comment_on_range("plan", 1, 9, "x", &ada, 0)
            .unwrap_err();
        assert_eq!(err.code(), "out_of_range");
        assert_eq!(
            doc.comment_on_range("plan", 0, 1, "  ", &ada, 0)
                .unwrap_err()
                .code(),
            "invalid_argument"
        );
        let err = doc.comment_on_message("nope", "x", &ada, 0).unwrap_err();
        assert_eq!(err.code(), "not_found");
        assert_eq!(
            doc.reply_to_comment("c9", "x", &ada, 0).unwrap_err().code(),
            "not_found"
        );
    }
}
