//! What the room's search index holds: the rows each searchable item of the document
//! becomes (a document in paragraph-sized chunks, a message, a comment with its
//! replies, a shared-context entry, a file's path). The room keeps the index up to date
//! item by item as updates are stored ([`crate::room::search`]); the edge stores the
//! rows in SQLite FTS5.
//!
//! Items are named `doc:<id>`, `message:<id>`, `comment:<id>`, `context:<id>` and
//! `file:<path>`. Each row has a key stable within its item (a document's unchanged
//! paragraph keeps its key, so only what changed is written again).

use serde::Serialize;

use crate::doc::{Participant, RoomDoc};
use crate::names::named_enum;

/// Longest chunk of a document's text, in bytes (a longer paragraph is cut at a line
/// break or a space before this).
pub const MAX_CHUNK_BYTES: usize = 1500;

named_enum! {
    /// What a search hit is.
    pub enum SearchKind {
        /// A shared document's text.
        Document = "document",
        /// A file: a text file's text, or any file's path.
        File = "file",
        /// A chat message.
        Message = "message",
        /// A comment or a reply in its thread.
        Comment = "comment",
        /// A shared-context entry.
        Context = "context",
    }
}

/// One row of the index.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRow {
    /// Its key within its item.
    pub chunk: String,
    /// What it is.
    pub kind: SearchKind,
    /// What a hit opens: `doc:<id>`, `message:<id>`, `comment:<id>`, `context:<id>` or
    /// `file:<path>`.
    pub target: String,
    /// Where it is, for people: a document's title, a file's path, a conversation.
    pub place: String,
    /// Who wrote it, when the document records it (a document's chunk: `None`, the
    /// indexer names who changed it).
    pub author: Option<Participant>,
    /// When, ms since the Unix epoch (`None` as for `author`).
    pub at: Option<u64>,
    /// The text searched.
    pub text: String,
}

/// A text cut into chunks: (key, chunk), in order. A paragraph (text between blank
/// lines) is one chunk unless longer than [`MAX_CHUNK_BYTES`]. Keys are the chunk's
/// hash and its occurrence, so an unchanged paragraph keeps its key wherever it moves.
pub fn chunks(text: &str) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    let mut seen: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    for paragraph in text.split("\n\n") {
        let mut rest = paragraph;
        while !rest.trim().is_empty() {
            let cut = cut_at(rest);
            let (piece, tail) = rest.split_at(cut);
            rest = tail;
            if piece.trim().is_empty() {
                continue;
            }
            let hash = fnv(piece);
            let n = seen.entry(hash).or_insert(0);
            out.push((format!("{hash:016x}-{n}"), piece));
            *n += 1;
        }
    }
    out
}

/// Where to cut `text` so the first piece stays within [`MAX_CHUNK_BYTES`]: the whole,
/// else after the last line break or space before the limit, else at the limit (on a
/// character boundary).
fn cut_at(text: &str) -> usize {
    if text.len() <= MAX_CHUNK_BYTES {
        return text.len();
    }
    let mut limit = MAX_CHUNK_BYTES;
    while !text.is_char_boundary(limit) {
        limit -= 1;
    }
    let head = &text[..limit];
    head.rfind('\n')
        .or_else(|| head.rfind(' '))
        .map(|i| i + 1)
        .filter(|&i| i > MAX_CHUNK_BYTES / 4)
        .unwrap_or(limit)
}

fn fnv(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

impl RoomDoc {
    /// Every searchable item of the room.
    pub fn search_items(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .documents()
            .into_iter()
            .map(|d| format!("doc:{}", d.id))
            .collect();
        for c in self.conversations() {
            if let Ok(messages) = self.messages(&c.id) {
                out.extend(messages.into_iter().map(|m| format!("message:{}", m.id)));
            }
        }
        out.extend(
            self.comments()
                .into_iter()
                .map(|c| format!("comment:{}", c.id)),
        );
        out.extend(
            self.context_entries()
                .into_iter()
                .map(|e| format!("context:{}", e.id)),
        );
        out.extend(
            self.file_entries()
                .into_iter()
                .filter(|f| f.live() && !f.folder)
                .map(|f| format!("file:{}", f.path)),
        );
        out
    }

    /// The rows `item` becomes now (none when it is gone or has no text).
    pub fn search_rows(&self, item: &str) -> Vec<SearchRow> {
        let Some((kind, id)) = item.split_once(':') else {
            return Vec::new();
        };
        match kind {
            "doc" => self.document_rows(id),
            "message" => self.message_rows(id),
            "comment" => self.comment_rows(id),
            "context" => self.context_rows(id),
            "file" => self.file_rows(id),
            _ => Vec::new(),
        }
    }

    fn document_rows(&self, id: &str) -> Vec<SearchRow> {
        let Some(info) = self.documents().into_iter().find(|d| d.id == id) else {
            return Vec::new();
        };
        let Ok(text) = self.document_text(id) else {
            return Vec::new();
        };
        let files = self.file_entries();
        let (kind, place) = match files
            .iter()
            .find(|f| f.live() && f.doc.as_deref() == Some(id))
        {
            Some(file) => (SearchKind::File, file.path.clone()),
            // The text of a deleted file is in its history, not found by search.
            None if files.iter().any(|f| f.doc.as_deref() == Some(id)) => return Vec::new(),
            None => (SearchKind::Document, info.title),
        };
        chunks(&text)
            .into_iter()
            .map(|(chunk, piece)| SearchRow {
                chunk,
                kind,
                target: format!("doc:{id}"),
                place: place.clone(),
                author: None,
                at: None,
                text: piece.to_owned(),
            })
            .collect()
    }

    fn message_rows(&self, id: &str) -> Vec<SearchRow> {
        let Some(m) = crate::model::message_in(&self.doc, id) else {
            return Vec::new();
        };
        let place = self
            .conversations()
            .into_iter()
            .find(|c| c.id == m.conversation)
            .map_or_else(|| m.conversation.clone(), |c| c.title);
        chunks(&m.text)
            .into_iter()
            .map(|(chunk, piece)| SearchRow {
                chunk,
                kind: SearchKind::Message,
                target: format!("message:{id}"),
                place: place.clone(),
                author: Some(m.author.clone()),
                at: Some(m.created_at as u64),
                text: piece.to_owned(),
            })
            .collect()
    }

    fn comment_rows(&self, id: &str) -> Vec<SearchRow> {
        let Some(c) = crate::model::comment::comment_in(&self.doc, id) else {
            return Vec::new();
        };
        let place = match (&c.anchor.document, &c.anchor.message) {
            (Some(doc), _) => self
                .documents()
                .into_iter()
                .find(|d| &d.id == doc)
                .map_or_else(|| doc.clone(), |d| d.title),
            (_, Some(_)) => "a message's thread".to_owned(),
            _ => String::new(),
        };
        let row = |chunk: String, author: &Participant, at: f64, text: &str| SearchRow {
            chunk,
            kind: SearchKind::Comment,
            target: format!("comment:{id}"),
            place: place.clone(),
            author: Some(author.clone()),
            at: Some(at as u64),
            text: text.to_owned(),
        };
        let mut out = vec![row("comment".into(), &c.author, c.created_at, &c.text)];
        for (n, r) in c.replies.iter().enumerate() {
            out.push(row(format!("reply-{n}"), &r.author, r.at, &r.text));
        }
        out.retain(|r| !r.text.trim().is_empty());
        out
    }

    fn context_rows(&self, id: &str) -> Vec<SearchRow> {
        let Some(e) = self.context_entries().into_iter().find(|e| e.id == id) else {
            return Vec::new();
        };
        vec![SearchRow {
            chunk: "entry".into(),
            kind: SearchKind::Context,
            target: format!("context:{id}"),
            place: e.kind.as_str().to_owned(),
            author: Some(e.author.clone()),
            at: Some(e.created_at as u64),
            text: e.text,
        }]
    }

    fn file_rows(&self, path: &str) -> Vec<SearchRow> {
        let Some(f) = self.file_entry(path).filter(|f| f.live() && !f.folder) else {
            return Vec::new();
        };
        let author = Participant {
            id: f.author.id.clone(),
            name: f.author.name.clone(),
            kind: crate::doc::ParticipantKind::parse(&f.author.kind)
                .unwrap_or(crate::doc::ParticipantKind::Person),
        };
        vec![SearchRow {
            chunk: "path".into(),
            kind: SearchKind::File,
            target: format!("file:{path}"),
            place: path.to_owned(),
            author: Some(author),
            at: Some(f.updated_at),
            text: path.to_owned(),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_keep_their_keys_when_others_change() {
        let before = chunks("Intro.\n\nThe launch is on Friday.\n\nOwner: Sam.");
        let after = chunks("Intro, longer now.\n\nThe launch is on Friday.\n\nOwner: Sam.");
        assert_eq!(before.len(), 3);
        assert_eq!(
            before[1..],
            after[1..],
            "unchanged paragraphs keep their keys"
        );
        assert_ne!(before[0].0, after[0].0);
        // The same paragraph twice: two keys.
        let twice = chunks("same\n\nsame");
        assert_ne!(twice[0].0, twice[1].0);
    }

    #[test]
    fn long_paragraphs_are_cut_at_a_break_within_the_limit() {
        let text = "word ".repeat(1000);
        let pieces = chunks(&text);
        assert!(pieces.len() >= 4);
        assert!(pieces.iter().all(|(_, p)| p.len() <= MAX_CHUNK_BYTES));
        assert_eq!(pieces.iter().map(|(_, p)| *p).collect::<String>(), text);
        let wide = "é".repeat(2000);
        assert!(chunks(&wide)
            .iter()
            .all(|(_, p)| p.len() <= MAX_CHUNK_BYTES));
    }

    #[test]
    fn items_become_rows_with_where_and_who() {
        let ada = Participant::person("ada", "Ada");
        let mut doc = RoomDoc::new(1);
        doc.create_document(Some("plan"), "Plan", 1).unwrap();
        doc.insert_text("plan", 0, "Ship on Friday.\n\nBudget approved.")
            .unwrap();
        doc.ensure_conversation("main", "Main", &ada, 1).unwrap();
        let msg = doc
            .post_message("main", &ada, crate::model::Role::User, "Friday works", 5)
            .unwrap();
        let items = doc.search_items();
        assert_eq!(items, ["doc:plan".to_owned(), format!("message:{msg}")]);
        let rows = doc.search_rows("doc:plan");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (
                rows[0].kind,
                rows[0].place.as_str(),
                rows[0].author.is_none()
            ),
            (SearchKind::Document, "Plan", true)
        );
        let rows = doc.search_rows(&format!("message:{msg}"));
        assert_eq!(
            (
                rows[0].place.as_str(),
                rows[0].at,
                rows[0].author.as_ref().map(|a| a.id.as_str())
            ),
            ("Main", Some(5), Some("ada"))
        );
        assert!(doc.search_rows("message:gone").is_empty());
    }
}
