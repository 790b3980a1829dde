//! Changes a local replica made under a client id of its own: the Yjs bridge keeps a
//! `Y.Doc` in step with the room, and an editor binding's edit there arrives here as a
//! Yjs update written under the `Y.Doc`'s client id. It is this participant's change
//! like any other: applied with the same bookkeeping as [`RoomDoc::insert_text`] (who
//! deleted what, the writer's causal record), and attributed to the local participant
//! until the room records the client id as theirs.

use std::collections::HashMap;

use yrs::updates::decoder::Decode;
use yrs::{Origin, Transact};

use crate::doc::causal::EpochWriter;
use crate::doc::schema::DOC_TEXT_PREFIX;
use crate::doc::RoomDoc;
use crate::error::{Error, Result};

/// The origin of a bridged change's transaction.
pub const BRIDGED: &str = "confab-bridged";

/// What this doc keeps for each client id it applied bridged changes for.
#[derive(Default)]
pub(crate) struct Bridged {
    /// Each bridged client's causal record writer.
    writers: HashMap<u64, EpochWriter>,
}

impl Bridged {
    pub(crate) fn has(&self, client: u64) -> bool {
        self.writers.contains_key(&client)
    }

    pub(crate) fn clients(&self) -> impl Iterator<Item = u64> + '_ {
        self.writers.keys().copied()
    }
}

impl RoomDoc {
    /// Apply `update`, written by a local replica under yrs client id `client`, as this
    /// participant's change. `client` must be neither this doc's own id nor the room's
    /// (0); the caller (the client session) has checked that the
    /// update writes under `client` alone (it may delete anyone's text). Bad bytes
    /// change nothing.
    pub(crate) fn apply_bridged(&mut self, update: &[u8], client: u64) -> Result<()> {
        let own = self.doc.client_id().get();
        if client == own || client == 0 {
            return Err(Error::NotAnUpdate(format!(
                "a bridged change needs a client id of its own, not {client}"
            )));
        }
        let decoded =
            yrs::Update::decode_v1(update).map_err(|e| Error::NotAnUpdate(e.to_string()))?;
        self.before_local_edit(None);
        let (acting, now_ms) = (self.writer.acting.clone(), self.writer.now_ms);
        let writer = self.bridged.writers.entry(client).or_default();
        writer.acting = acting;
        writer.now_ms = now_ms;
        let mut txn = self.doc.transact_mut_with(Origin::from(BRIDGED));
        txn.apply_update(decoded).map_err(|e| {
            self.undo_history.drop_pending();
            Error::InvalidUpdate(e.to_string())
        })?;
        let (before, after) = (
            txn.before_state().get(&yrs::ClientID::new(client)),
            txn.after_state().get(&yrs::ClientID::new(client)),
        );
        let deleted = if txn.delete_set().is_empty() {
            Vec::new()
        } else {
            crate::doc::record::record_deletions(&mut txn, client)
        };
        if before != after || !deleted.is_empty() {
            writer.note(&mut txn, client);
        }
        // Which documents' text it changed, for the undo history: the roots yrs lists
        // once the transaction is committed.
        txn.commit();
        let documents: Vec<String> = txn
            .changed_parent_types()
            .iter()
            .filter_map(|branch| match branch.id() {
                yrs::branch::BranchID::Root(name) => {
                    // Plain text only: a rich body's steps would have nothing to undo.
                    name.strip_prefix(DOC_TEXT_PREFIX).map(str::to_owned)
                }
                yrs::branch::BranchID::Nested(_) => None,
            })
            .collect();
        drop(txn);
        let inserted = (before != after).then_some((client, before, after));
        let (turn, now_ms) = (self.writer.acting.0.clone(), self.writer.now_ms);
        for doc in documents {
            self.undo_history
                .record(&doc, inserted, deleted.clone(), turn.as_deref(), now_ms);
        }
        self.after_local_edit();
        Ok(())
    }
}
