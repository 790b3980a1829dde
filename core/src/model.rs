//! The room document: conversations, messages and shared documents on one `yrs` doc.
//!
//! Layout (readable by any Yjs client):
//!
//! | root | kind | holds |
//! |---|---|---|
//! | `conversations` | map | id → map { title, createdBy, createdAt } |
//! | `messages` | map | id → map { conversation, author { id, name, kind }, role, text (Y.Text), createdAt } |
//! | `documents` | map | id → map { title, kind, createdAt } |
//! | `doc:<id>` | text | the body of document `<id>` |
//! | `clients` | map | yrs client id → participant (attribution) |
//! | `deletions` | map | `<client>:<clock>:<deleter>` → who deleted a range, and when in their record |
//! | `epochs` | map | `<client>:<clock>` → what that client had seen from there on (see [`crate::causal`]) |
//! | `fieldlog` | map | every write of a tracked field, so a concurrent write's value is kept |
//! | `conflicts` | map | stale-base writes (held suggestions or applied with a record) |
//! | `resolutions` | map | conflict id → who resolved it, how, when (or who asked an agent) |
//!
//! A document's body is a root text so that two clients creating the same document
//! concurrently edit one text instead of racing to install two.
//! All text offsets are UTF-16 code units, as in JavaScript and Yjs.

use crate::names::named_enum;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use yrs::types::ToJson;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Doc, GetString, Map, MapPrelim, MapRef, OffsetKind, Options, Out, ReadTxn, Text,
    TextPrelim, TextRef, Transact, TransactionMut, WriteTxn,
};

use crate::error::{Error, Result};
use crate::turn::{MergeRecord, Reaction, TurnStatus};

const CONVERSATIONS: &str = "conversations";
const MESSAGES: &str = "messages";
const DOCUMENTS: &str = "documents";
const DOC_TEXT_PREFIX: &str = "doc:";

named_enum! {
    /// Whether a participant is a person or an AI agent.
    pub enum ParticipantKind {
        /// A human.
        Person = "person",
        /// An AI agent.
        Agent = "agent",
    }
}

/// Someone in the room: a person or an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Participant {
    /// Stable id chosen by the app.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Person or agent.
    pub kind: ParticipantKind,
}

impl Participant {
    /// A person.
    pub fn person(id: impl Into<String>, name: impl Into<String>) -> Self {
        Participant {
            id: id.into(),
            name: name.into(),
            kind: ParticipantKind::Person,
        }
    }

    /// An agent.
    pub fn agent(id: impl Into<String>, name: impl Into<String>) -> Self {
        Participant {
            id: id.into(),
            name: name.into(),
            kind: ParticipantKind::Agent,
        }
    }

    pub(crate) fn to_any(&self) -> Any {
        let mut m = HashMap::new();
        m.insert("id".to_owned(), Any::from(self.id.as_str()));
        m.insert("name".to_owned(), Any::from(self.name.as_str()));
        m.insert("kind".to_owned(), Any::from(self.kind.as_str()));
        Any::Map(Arc::new(m))
    }

    pub(crate) fn from_any(any: &Any) -> Option<Self> {
        let Any::Map(m) = any else { return None };
        Some(Participant {
            id: any_str(m.get("id")?)?,
            name: any_str(m.get("name")?)?,
            kind: ParticipantKind::parse(&any_str(m.get("kind")?)?)?,
        })
    }
}

named_enum! {
    /// The role a message plays in an AI conversation.
    pub enum Role {
        /// Written by a person.
        User = "user",
        /// Written by an AI agent.
        Assistant = "assistant",
        /// Instructions for the agents.
        System = "system",
        /// Output of a tool call.
        Tool = "tool",
    }
}

/// A conversation in the room.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    /// Conversation id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Participant id of whoever created it.
    pub created_by: String,
    /// Creation time, ms since the Unix epoch.
    pub created_at: f64,
    /// For a branch: the conversation and message it was forked at.
    pub fork_of: Option<ForkPoint>,
}

/// Where a branch was forked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForkPoint {
    /// The parent conversation.
    pub conversation: String,
    /// The parent's message the branch starts after.
    pub message: String,
}

/// A message in a conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Message id.
    pub id: String,
    /// Conversation it belongs to.
    pub conversation: String,
    /// Who wrote it.
    pub author: Participant,
    /// Its role.
    pub role: Role,
    /// Its text (for an agent turn, as far as it has streamed).
    pub text: String,
    /// Creation time, ms since the Unix epoch.
    pub created_at: f64,
    /// Where the message stands: `done` for a plain post, the turn's state for a
    /// streamed agent turn.
    pub status: TurnStatus,
    /// Why the turn failed, when `status` is `error`.
    pub error: Option<String>,
    /// Who asked the turn to stop.
    pub stop_requested_by: Option<Participant>,
    /// Reactions, ordered by kind then participant id.
    pub reactions: Vec<Reaction>,
    /// Set when the message records a merged branch.
    pub merge: Option<MergeRecord>,
}

/// A shared document's metadata.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
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

/// The room document on `yrs`.
pub struct RoomDoc {
    pub(crate) doc: Doc,
    pub(crate) conversations: MapRef,
    pub(crate) messages: MapRef,
    pub(crate) documents: MapRef,
    next_id: u64,
    pub(crate) epochs: crate::causal::EpochIndex,
    pub(crate) writer: crate::causal::EpochWriter,
    /// Per document: what Confab knows about its text to edit it fast.
    texts: HashMap<String, TextCache>,
    /// Edit through Confab's own index (true) or through yrs's index-based API.
    fast_edits: bool,
    /// Who this doc's own client id acts for, until the room's record says (a session
    /// names itself here; the `clients` map is written by the room, or, for an
    /// anonymous editor, once the room lets it write).
    pub(crate) local: Option<Participant>,
}

/// What Confab keeps about one document's text between edits.
struct TextCache {
    text: TextRef,
    root: Arc<str>,
    flags: Arc<TextFlags>,
    /// Whether the text may hold surrogate pairs (range checks then read the text).
    astral: bool,
    /// The item sequence (see [`crate::position`]); `None` while it must be rebuilt.
    index: Option<crate::position::Runs>,
    /// The text holds something other than plain strings (embeds or formatting from a
    /// rich-text Yjs client): edits go through yrs's own API.
    rich: bool,
}

/// Set by an observer on the text: `changed` when a transaction other than Confab's
/// own indexed edit (flagged `ours` while it runs) changed the text.
#[derive(Default)]
struct TextFlags {
    changed: std::sync::atomic::AtomicBool,
    ours: std::sync::atomic::AtomicBool,
}

impl RoomDoc {
    /// A new, empty room document whose local edits carry `client_id`.
    pub fn new(client_id: u64) -> Self {
        let mut options = Options::with_client_id(yrs::ClientID::new(client_id));
        options.offset_kind = OffsetKind::Utf16;
        // Deleted content is kept so every named version can be read back.
        options.skip_gc = true;
        Self::from_doc(Doc::with_options(options))
    }

    /// Wrap an existing doc (which should use UTF-16 offsets).
    pub fn from_doc(doc: Doc) -> Self {
        let conversations = doc.get_or_insert_map(CONVERSATIONS);
        let messages = doc.get_or_insert_map(MESSAGES);
        let documents = doc.get_or_insert_map(DOCUMENTS);
        let epochs = {
            let map = doc.get_or_insert_map(crate::causal::EPOCHS);
            let txn = doc.transact();
            crate::causal::EpochIndex::new(&map, &txn)
        };
        RoomDoc {
            doc,
            conversations,
            messages,
            documents,
            next_id: 0,
            epochs,
            writer: crate::causal::EpochWriter::default(),
            texts: HashMap::new(),
            fast_edits: true,
            local: None,
        }
    }

    /// The underlying `yrs` doc.
    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Start this writer's generated ids at `n` (a server that edits under one client
    /// id across restarts seeds it with the time, so ids never repeat).
    pub fn seed_ids(&mut self, n: u64) {
        self.next_id = self.next_id.max(n);
    }

    pub(crate) fn fresh_id(&mut self) -> String {
        self.next_id += 1;
        format!("{:x}-{}", self.doc.client_id().get(), self.next_id)
    }

    fn pick_id(&mut self, id: Option<&str>) -> Result<String> {
        match id {
            Some("") => Err(Error::Empty("id")),
            Some(id) => Ok(id.to_owned()),
            None => Ok(self.fresh_id()),
        }
    }

    /// Create a conversation; returns its id (generated when `id` is `None`).
    pub fn create_conversation(
        &mut self,
        id: Option<&str>,
        title: &str,
        creator: &Participant,
        now_ms: u64,
    ) -> Result<String> {
        let id = self.pick_id(id)?;
        let mut txn = self.doc.transact_mut();
        if self.conversations.get(&txn, &id).is_some() {
            return Err(Error::AlreadyExists {
                kind: "conversation",
                id,
            });
        }
        let entry = MapPrelim::from_iter([
            ("title", Any::from(title)),
            ("createdBy", Any::from(creator.id.as_str())),
            ("createdAt", Any::from(now_ms as f64)),
        ]);
        self.conversations.insert(&mut txn, id.as_str(), entry);
        Ok(id)
    }

    /// Create the conversation unless it exists.
    pub fn ensure_conversation(
        &mut self,
        id: &str,
        title: &str,
        creator: &Participant,
        now_ms: u64,
    ) -> Result<()> {
        match self.create_conversation(Some(id), title, creator, now_ms) {
            Ok(_) | Err(Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every conversation, oldest first.
    pub fn conversations(&self) -> Vec<Conversation> {
        let txn = self.doc.transact();
        let mut out: Vec<Conversation> = self
            .conversations
            .iter(&txn)
            .filter_map(|(id, value)| {
                let Out::YMap(m) = value else { return None };
                Some(Conversation {
                    id: id.to_owned(),
                    title: get_str(&m, &txn, "title").unwrap_or_default(),
                    created_by: get_str(&m, &txn, "createdBy").unwrap_or_default(),
                    created_at: get_num(&m, &txn, "createdAt").unwrap_or(0.0),
                    fork_of: fork_point(&m, &txn).map(|(conversation, message)| ForkPoint {
                        conversation,
                        message,
                    }),
                })
            })
            .collect();
        out.sort_by(|a, b| a.created_at.total_cmp(&b.created_at).then(a.id.cmp(&b.id)));
        out
    }

    /// Post a message; returns its id.
    pub fn post_message(
        &mut self,
        conversation: &str,
        author: &Participant,
        role: Role,
        text: &str,
        now_ms: u64,
    ) -> Result<String> {
        self.insert_message(
            conversation,
            author,
            role,
            text,
            TurnStatus::Done,
            None,
            now_ms,
        )
    }

    /// Insert a message with its status (and, for an agent turn, the yrs client id of
    /// the writer).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert_message(
        &mut self,
        conversation: &str,
        author: &Participant,
        role: Role,
        text: &str,
        status: TurnStatus,
        writer: Option<u64>,
        now_ms: u64,
    ) -> Result<String> {
        let id = self.fresh_id();
        let mut txn = self.doc.transact_mut();
        if self.conversations.get(&txn, conversation).is_none() {
            return Err(Error::UnknownConversation(conversation.to_owned()));
        }
        let mut entry = MapPrelim::from_iter([
            ("conversation", yrs::In::from(Any::from(conversation))),
            ("author", yrs::In::from(author.to_any())),
            ("role", yrs::In::from(Any::from(role.as_str()))),
            ("text", yrs::In::from(TextPrelim::new(text))),
            ("createdAt", yrs::In::from(Any::from(now_ms as f64))),
            ("status", yrs::In::from(Any::from(status.as_str()))),
            ("reactions", yrs::In::from(MapPrelim::default())),
        ]);
        if let Some(writer) = writer {
            entry.insert("writer".into(), yrs::In::from(Any::from(writer as f64)));
        }
        self.messages.insert(&mut txn, id.as_str(), entry);
        Ok(id)
    }

    /// The messages of a conversation in their deterministic order: by creation time,
    /// then id, so every replica lists them identically. A branch lists its parent's
    /// messages up to the message it was forked at, then its own.
    pub fn messages(&self, conversation: &str) -> Result<Vec<Message>> {
        let txn = self.doc.transact();
        self.messages_in(&txn, conversation, 0)
    }

    fn messages_in<T: ReadTxn>(
        &self,
        txn: &T,
        conversation: &str,
        depth: u32,
    ) -> Result<Vec<Message>> {
        let Some(Out::YMap(conv)) = self.conversations.get(txn, conversation) else {
            return Err(Error::UnknownConversation(conversation.to_owned()));
        };
        let mut out = Vec::new();
        if let Some((parent, at)) = fork_point(&conv, txn) {
            // Depth bounds a (malicious) cycle of forks.
            if depth < 64 {
                if let Ok(inherited) = self.messages_in(txn, &parent, depth + 1) {
                    let keep = inherited
                        .iter()
                        .position(|m| m.id == at)
                        .map_or(inherited.len(), |i| i + 1);
                    out.extend(inherited.into_iter().take(keep));
                }
            }
        }
        out.extend(self.own_messages(txn, conversation));
        Ok(out)
    }

    /// A conversation's own messages (without what a branch inherits), ordered.
    pub(crate) fn own_messages<T: ReadTxn>(&self, txn: &T, conversation: &str) -> Vec<Message> {
        let mut out: Vec<Message> = self
            .messages
            .iter(txn)
            .filter_map(|(id, value)| {
                let Out::YMap(m) = value else { return None };
                if get_str(&m, txn, "conversation")? != conversation {
                    return None;
                }
                read_message(id, &m, txn)
            })
            .collect();
        out.sort_by(|a, b| a.created_at.total_cmp(&b.created_at).then(a.id.cmp(&b.id)));
        out
    }

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

    pub(crate) fn document_ref_checked(&self, id: &str) -> Result<TextRef> {
        let known = {
            let txn = self.doc.transact();
            self.documents.get(&txn, id).is_some()
        };
        if !known {
            return Err(Error::UnknownDocument(id.to_owned()));
        }
        // A document created elsewhere and still empty has no body root here yet (an
        // empty text travels as nothing): make it, typed, so it reads as "".
        Ok(self.doc.get_or_insert_text(doc_text_name(id).as_str()))
    }

    /// Bring document `id`'s cache up to date: watch the text once, and after any change
    /// Confab did not make itself, read it again (one walk) for its item sequence and
    /// whether it holds surrogate pairs.
    fn text_cache(&mut self, id: &str) -> Result<&mut TextCache> {
        use std::sync::atomic::Ordering::Relaxed;
        if !self.texts.contains_key(id) {
            // Documents are never removed: once known, the cache stands for it.
            let text = self.document_ref_checked(id)?;
            let flags = Arc::new(TextFlags::default());
            flags.changed.store(true, Relaxed);
            let seen = flags.clone();
            yrs::types::Observable::observe(&text, "confab-text-cache", move |_, _| {
                if !seen.ours.load(Relaxed) {
                    seen.changed.store(true, Relaxed);
                }
            });
            self.texts.insert(
                id.to_owned(),
                TextCache {
                    text,
                    root: doc_text_name(id).into(),
                    flags,
                    astral: true,
                    index: None,
                    rich: false,
                },
            );
        }
        let doc = &self.doc;
        let cache = self.texts.get_mut(id).expect("inserted above");
        if cache.flags.changed.swap(false, Relaxed) {
            let (items, rich) = crate::position::item_sequence(doc, &cache.text);
            let astral = items
                .iter()
                .any(|i| i.text.chars().any(|c| u32::from(c) > 0xFFFF));
            let runs = items.iter().map(|i| crate::position::Run {
                client: i.client,
                clock: i.clock,
                len: i.text.encode_utf16().count() as u32,
                deleted: i.deleted,
            });
            cache.astral = astral;
            cache.rich = rich;
            cache.index = Some(crate::position::Runs::new(runs));
        }
        Ok(cache)
    }

    /// Whether document `id` is edited through yrs's API because it holds rich content.
    #[cfg(test)]
    pub(crate) fn edits_through_yrs(&self, id: &str) -> bool {
        self.texts.get(id).is_some_and(|c| c.rich)
    }

    /// Edit through yrs's own index-based API (`false`) instead of Confab's index
    /// (`true`, the default). Both produce the same updates; this is for benchmarks and
    /// tests that compare them.
    pub fn set_fast_edits(&mut self, fast: bool) {
        self.fast_edits = fast;
    }

    /// Replace `len` UTF-16 code units at `index` of document `id` with `chunk`, in one
    /// transaction, recording deletions and the writer's epoch.
    fn edit_text(&mut self, id: &str, index: u32, len: u32, chunk: &str) -> Result<()> {
        use std::sync::atomic::Ordering::Relaxed;
        let own = self.doc.client_id().get();
        let fast = self.fast_edits;
        let cache = self.text_cache(id)?;
        let (text, root) = (cache.text.clone(), cache.root.clone());
        let astral = cache.astral;
        let use_index = fast && !cache.rich;
        cache.flags.ours.store(use_index, Relaxed);
        let flags = cache.flags.clone();
        let mut index_runs = if use_index { cache.index.take() } else { None };
        let outcome = (|| -> Result<()> {
            let mut txn = self.doc.transact_mut();
            check_range(&text, &txn, id, index, len, astral)?;
            match index_runs.as_mut() {
                Some(runs) => {
                    debug_assert_eq!(runs.len(), text.len(&txn), "the index is out of step");
                    if len > 0 {
                        let gone = runs.delete(index, len);
                        let update = crate::position::delete_update(&gone);
                        txn.apply_update(
                            yrs::Update::decode_v1(&update)
                                .map_err(|e| Error::malformed("local delete", e))?,
                        )
                        .map_err(|e| Error::InvalidUpdate(e.to_string()))?;
                    }
                    if !chunk.is_empty() {
                        // Nothing of ours was written yet in this transaction.
                        let clock = txn.before_state().get(&yrs::ClientID::new(own));
                        let units = chunk.encode_utf16().count() as u32;
                        let (origin, right) = runs.insert(index, own, clock, units);
                        let update =
                            crate::position::insert_update(own, clock, origin, right, &root, chunk);
                        txn.apply_update(
                            yrs::Update::decode_v1(&update)
                                .map_err(|e| Error::malformed("local insert", e))?,
                        )
                        .map_err(|e| Error::InvalidUpdate(e.to_string()))?;
                    }
                }
                None => {
                    if len > 0 {
                        text.remove_range(&mut txn, index, len);
                    }
                    if !chunk.is_empty() {
                        text.insert(&mut txn, index, chunk);
                    }
                }
            }
            if len > 0 {
                // After the insert, so both paths give the inserted text the same ids.
                crate::history::record_deletions(&mut txn, own);
            }
            if len > 0 || !chunk.is_empty() {
                self.writer.note(&mut txn, own);
            }
            Ok(())
        })();
        flags.ours.store(false, Relaxed);
        let cache = self.texts.get_mut(id).expect("cached above");
        match outcome {
            Ok(()) => {
                if use_index {
                    cache.index = index_runs;
                }
                if chunk.chars().any(|c| u32::from(c) > 0xFFFF) {
                    cache.astral = true;
                }
            }
            // Nothing was applied for a refused range; for anything else, read again.
            Err(Error::OutOfRange { .. }) | Err(Error::SplitsSurrogate { .. }) => {
                if use_index {
                    cache.index = index_runs;
                }
            }
            Err(_) => flags.changed.store(true, Relaxed),
        }
        outcome
    }

    /// The body of a shared document.
    pub fn document_text(&self, id: &str) -> Result<String> {
        let text = self.document_ref_checked(id)?;
        let txn = self.doc.transact();
        Ok(text.get_string(&txn))
    }

    /// Insert `chunk` at UTF-16 offset `index` of a document.
    pub fn insert_text(&mut self, id: &str, index: u32, chunk: &str) -> Result<()> {
        self.edit_text(id, index, 0, chunk)
    }

    /// Replace `len` UTF-16 code units at `index` of a document with `chunk`, in one
    /// transaction (one change: a concurrent replacement of the same text conflicts).
    pub fn replace_text(&mut self, id: &str, index: u32, len: u32, chunk: &str) -> Result<()> {
        self.edit_text(id, index, len, chunk)
    }

    /// Make a document's body `next` with the smallest single replace (one change, so
    /// the parts `next` shares with the present text keep their authors). Nothing
    /// changes when the text is already `next`.
    pub fn set_text(&mut self, id: &str, next: &str) -> Result<()> {
        let now = self.document_text(id)?;
        let (index, len, chunk) = crate::history::minimal_edit(&now, next);
        if len == 0 && chunk.is_empty() {
            return Ok(());
        }
        self.edit_text(id, index, len, &chunk)
    }

    /// Delete `len` UTF-16 code units at `index` of a document.
    pub fn delete_text(&mut self, id: &str, index: u32, len: u32) -> Result<()> {
        self.edit_text(id, index, len, "")
    }

    /// The whole document as JSON-like data (for debugging and tests).
    pub fn to_json(&self) -> Any {
        let txn = self.doc.transact();
        let mut m = HashMap::new();
        m.insert(CONVERSATIONS.to_owned(), self.conversations.to_json(&txn));
        m.insert(MESSAGES.to_owned(), self.messages.to_json(&txn));
        m.insert(DOCUMENTS.to_owned(), self.documents.to_json(&txn));
        Any::Map(Arc::new(m))
    }
}

/// Bring `to` up to date with `from` (test helper shared by the modules' tests).
#[cfg(test)]
pub(crate) fn sync_docs(from: &RoomDoc, to: &RoomDoc) {
    use yrs::updates::decoder::Decode;
    let sv = to.doc().transact().state_vector();
    let update = from.doc().transact().encode_diff_v1(&sv);
    to.doc()
        .transact_mut()
        .apply_update(yrs::Update::decode_v1(&update).expect("a valid update"))
        .expect("the update applies");
}

/// One message by id, read from any doc holding a room.
pub fn message_in(doc: &Doc, id: &str) -> Option<Message> {
    let txn = doc.transact();
    let Some(Out::YMap(m)) = txn.get_map(MESSAGES)?.get(&txn, id) else {
        return None;
    };
    read_message(id, &m, &txn)
}

/// The name of the root text holding document `id`'s body.
pub fn doc_text_name(id: &str) -> String {
    format!("{DOC_TEXT_PREFIX}{id}")
}

/// Validate a UTF-16 range before handing it to `yrs`, which panics on ranges past
/// the end and would split surrogate pairs.
fn check_range(
    text: &TextRef,
    txn: &TransactionMut<'_>,
    target: &str,
    index: u32,
    len: u32,
    astral: bool,
) -> Result<()> {
    let doc_len = text.len(txn);
    let end = u64::from(index) + u64::from(len);
    if end > u64::from(doc_len) {
        return Err(Error::OutOfRange {
            target: target.to_owned(),
            index,
            end,
            len: doc_len,
        });
    }
    let bounds = [index, end as u32];
    let needs_check = astral && bounds.iter().any(|&b| b != 0 && b != doc_len);
    if needs_check {
        let units: Vec<u16> = text.get_string(txn).encode_utf16().collect();
        for b in bounds {
            let b_usize = b as usize;
            if b_usize > 0
                && b_usize < units.len()
                && (0xDC00..0xE000).contains(&units[b_usize])
                && (0xD800..0xDC00).contains(&units[b_usize - 1])
            {
                return Err(Error::SplitsSurrogate {
                    target: target.to_owned(),
                    index: b,
                });
            }
        }
    }
    Ok(())
}

fn read_message<T: ReadTxn>(id: &str, m: &MapRef, txn: &T) -> Option<Message> {
    let author = match m.get(txn, "author")? {
        Out::Any(any) => Participant::from_any(&any)?,
        _ => return None,
    };
    let text = match m.get(txn, "text")? {
        Out::YText(t) => t.get_string(txn),
        Out::Any(Any::String(s)) => s.to_string(),
        _ => return None,
    };
    let reactions = match m.get(txn, "reactions") {
        Some(Out::YMap(r)) => crate::turn::read_reactions(&r, txn),
        _ => Vec::new(),
    };
    Some(Message {
        id: id.to_owned(),
        conversation: get_str(m, txn, "conversation")?,
        author,
        role: Role::parse(&get_str(m, txn, "role")?)?,
        text,
        created_at: get_num(m, txn, "createdAt").unwrap_or(0.0),
        status: get_str(m, txn, "status")
            .and_then(|s| TurnStatus::parse(&s))
            .unwrap_or(TurnStatus::Done),
        error: get_str(m, txn, "error"),
        stop_requested_by: match m.get(txn, "stopRequestedBy") {
            Some(Out::Any(any)) => Participant::from_any(&any),
            _ => None,
        },
        reactions,
        merge: match m.get(txn, "merge") {
            Some(Out::Any(any)) => MergeRecord::from_any(&any),
            _ => None,
        },
    })
}

/// The (parent conversation, message) a branch was forked at.
pub(crate) fn fork_point<T: ReadTxn>(conv: &MapRef, txn: &T) -> Option<(String, String)> {
    let Some(Out::Any(Any::Map(fork))) = conv.get(txn, "forkOf") else {
        return None;
    };
    Some((
        any_str(fork.get("conversation")?)?,
        any_str(fork.get("message")?)?,
    ))
}

pub(crate) fn any_str(any: &Any) -> Option<String> {
    match any {
        Any::String(s) => Some(s.to_string()),
        _ => None,
    }
}

pub(crate) fn get_str<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<String> {
    match map.get(txn, key)? {
        Out::Any(any) => any_str(&any),
        Out::YText(t) => Some(t.get_string(txn)),
        _ => None,
    }
}

pub(crate) fn get_num<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<f64> {
    match map.get(txn, key)? {
        Out::Any(Any::Number(n)) => n.as_f64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_docs as sync;

    #[test]
    fn conversations_and_messages() -> Result<()> {
        let ada = Participant::person("ada", "Ada");
        let mut doc = RoomDoc::new(1);
        let conv = doc.create_conversation(Some("main"), "Main", &ada, 10)?;
        let first = doc.post_message(&conv, &ada, Role::User, "hello", 20)?;
        doc.post_message(
            &conv,
            &Participant::agent("bot", "Bot"),
            Role::Assistant,
            "hi!",
            30,
        )?;
        let msgs = doc.messages(&conv)?;
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].id, first);
        assert_eq!(msgs[0].author, ada);
        assert_eq!(msgs[1].author.kind, ParticipantKind::Agent);
        assert_eq!(msgs[1].role, Role::Assistant);
        assert_eq!(msgs[1].text, "hi!");
        assert_eq!(
            doc.post_message("nope", &ada, Role::User, "x", 1)
                .unwrap_err(),
            Error::UnknownConversation("nope".into())
        );
        assert!(matches!(
            doc.create_conversation(Some("main"), "again", &ada, 1),
            Err(Error::AlreadyExists { .. })
        ));
        Ok(())
    }

    #[test]
    fn concurrent_posts_order_identically_everywhere() -> Result<()> {
        let (a, b) = (Participant::person("a", "A"), Participant::person("b", "B"));
        let mut one = RoomDoc::new(1);
        let mut two = RoomDoc::new(2);
        one.create_conversation(Some("c"), "C", &a, 0)?;
        sync(&one, &two);
        one.post_message("c", &a, Role::User, "from one", 5)?;
        two.post_message("c", &b, Role::User, "from two", 5)?;
        two.post_message("c", &b, Role::User, "earlier", 4)?;
        sync(&one, &two);
        sync(&two, &one);
        let texts = |d: &RoomDoc| -> Vec<String> {
            d.messages("c")
                .unwrap()
                .into_iter()
                .map(|m| m.text)
                .collect()
        };
        assert_eq!(texts(&one), texts(&two));
        assert_eq!(texts(&one)[0], "earlier");
        Ok(())
    }

    #[test]
    fn document_edits_use_utf16_offsets() -> Result<()> {
        let mut doc = RoomDoc::new(1);
        doc.create_document(Some("d"), "Doc", 0)?;
        doc.insert_text("d", 0, "a😀b")?;
        // "😀" is two UTF-16 code units: "b" sits at 3.
        doc.insert_text("d", 3, "X")?;
        assert_eq!(doc.document_text("d")?, "a😀Xb");
        doc.delete_text("d", 1, 2)?;
        assert_eq!(doc.document_text("d")?, "aXb");
        Ok(())
    }

    #[test]
    fn bad_ranges_are_refused_without_touching_the_doc() -> Result<()> {
        let mut doc = RoomDoc::new(1);
        doc.create_document(Some("d"), "Doc", 0)?;
        doc.insert_text("d", 0, "a😀b")?;
        let err = doc.insert_text("d", 9, "x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "range 9..9 is outside `d` of length 4 (UTF-16 code units)"
        );
        assert!(matches!(
            doc.delete_text("d", 2, 5),
            Err(Error::OutOfRange { .. })
        ));
        assert!(matches!(
            doc.insert_text("d", 2, "x"),
            Err(Error::SplitsSurrogate { index: 2, .. })
        ));
        assert!(matches!(
            doc.delete_text("d", 0, 2),
            Err(Error::SplitsSurrogate { index: 2, .. })
        ));
        assert_eq!(
            doc.insert_text("zz", 0, "x").unwrap_err(),
            Error::UnknownDocument("zz".into())
        );
        assert_eq!(doc.document_text("d")?, "a😀b");
        // A pair that arrives from elsewhere is guarded too.
        doc.create_document(Some("e"), "Plain", 0)?;
        doc.insert_text("e", 0, "plain")?;
        let mut other = RoomDoc::new(2);
        sync_docs(&doc, &other);
        other.insert_text("e", 5, "!")?; // "e" reads as plain here
        doc.insert_text("e", 0, "🎉")?;
        sync_docs(&doc, &other);
        assert!(matches!(
            other.delete_text("e", 1, 1),
            Err(Error::SplitsSurrogate { index: 1, .. })
        ));
        Ok(())
    }

    #[test]
    fn concurrent_document_creation_shares_one_text() -> Result<()> {
        let mut one = RoomDoc::new(1);
        let mut two = RoomDoc::new(2);
        one.create_document(Some("notes"), "Notes", 0)?;
        two.create_document(Some("notes"), "Notes", 0)?;
        one.insert_text("notes", 0, "one ")?;
        two.insert_text("notes", 0, "two ")?;
        sync(&one, &two);
        sync(&two, &one);
        let text = one.document_text("notes")?;
        assert_eq!(text, two.document_text("notes")?);
        assert!(text.contains("one ") && text.contains("two "), "{text}");
        assert_eq!(one.documents().len(), 1);
        Ok(())
    }
}
