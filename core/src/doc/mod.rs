//! The base layer: the room document on `yrs`, which every feature stands on.
//!
//! - [`schema`]: every root name of the room document, in one place.
//! - [`read`]: typed accessors over yrs values.
//! - [`participant`]: who is in the room.
//! - [`text`]: text editing in UTF-16 units, with the position index ([`position`]).
//! - [`causal`]: each writer's causal record (epochs), which conflict detection reads.
//! - [`bridged`]: changes a local replica (the Yjs bridge) made under a client id of its own.
//! - [`record`]: per-transaction bookkeeping: deletion records, the field log, and the
//!   client → participant map.
//!
//! Nothing here knows about conversations, conflicts or the server: features in
//! [`crate::model`] and above extend [`RoomDoc`] with their own `impl` blocks.

pub mod bridged;
pub mod causal;
pub mod participant;
pub(crate) mod position;
pub mod read;
pub mod record;
pub mod revert;
pub mod schema;
pub mod text;
pub mod undo;
mod undo_kept;

use std::collections::HashMap;
use std::sync::Arc;

use yrs::types::ToJson;
use yrs::{Any, Doc, MapRef, OffsetKind, Options, Transact};

pub use participant::{Participant, ParticipantKind};
pub use schema::doc_text_name;
pub use text::minimal_edit;

use crate::error::{Error, Result};
use schema::{CONVERSATIONS, DOCUMENTS, MESSAGES};
use text::TextCache;

/// The room document on `yrs`.
pub struct RoomDoc {
    pub(crate) doc: Doc,
    pub(crate) conversations: MapRef,
    pub(crate) messages: MapRef,
    pub(crate) documents: MapRef,
    pub(crate) next_id: u64,
    pub(crate) epochs: causal::EpochIndex,
    pub(crate) writer: causal::EpochWriter,
    /// Per document: what Confab knows about its text to edit it fast.
    pub(crate) texts: HashMap<String, TextCache>,
    /// Edit through Confab's own index (true) or through yrs's index-based API.
    pub(crate) fast_edits: bool,
    /// Who this doc's own client id acts for, until the room's record says (a session
    /// names itself here; the `clients` map is written by the room, or, for an
    /// anonymous editor, once the room lets it write).
    pub(crate) local: Option<Participant>,
    /// Client ids of local replicas whose changes this doc applied (see [`bridged`]).
    pub(crate) bridged: bridged::Bridged,
    /// This replica's own steps, to undo and redo (see [`undo`]).
    pub(crate) undo_history: undo::History,
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
            let map = doc.get_or_insert_map(causal::EPOCHS);
            let deletions = doc.get_or_insert_map(schema::DELETIONS);
            let txn = doc.transact();
            causal::EpochIndex::new(&map, &deletions, &txn)
        };
        RoomDoc {
            doc,
            conversations,
            messages,
            documents,
            next_id: 0,
            epochs,
            writer: causal::EpochWriter::default(),
            texts: HashMap::new(),
            fast_edits: true,
            local: None,
            bridged: bridged::Bridged::default(),
            undo_history: undo::History::default(),
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

    pub(crate) fn pick_id(&mut self, id: Option<&str>) -> Result<String> {
        match id {
            Some("") => Err(Error::Empty("id")),
            Some(id) => Ok(id.to_owned()),
            None => Ok(self.fresh_id()),
        }
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
    use yrs::ReadTxn;
    let sv = to.doc().transact().state_vector();
    let update = from.doc().transact().encode_diff_v1(&sv);
    to.doc()
        .transact_mut()
        .apply_update(yrs::Update::decode_v1(&update).expect("a valid update"))
        .expect("the update applies");
}
