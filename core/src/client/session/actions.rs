//! What a participant does in the room through its session: chat, turns, views,
//! shared and private context, versions and conflicts, each attributed to them.

use yrs::{ReadTxn, Transact};

use crate::conflict::{BasedWrite, Choice, Conflict, NoticeKind};
use crate::doc::{Participant, ParticipantKind};
use crate::error::{Error, Result};
use crate::model::context::{
    relevant, ContextDraft, ContextEntry, ContextEventKind, ContextStatus, HandoffSummary,
};
use crate::model::view::{ViewPatch, ViewState};
use crate::model::MergeSummary;
use crate::model::Role;

use super::*;

impl Session {
    /// Create a conversation as this participant.
    pub fn create_conversation(
        &mut self,
        id: Option<&str>,
        title: &str,
        now_ms: u64,
    ) -> Result<String> {
        let me = self.me.clone();
        self.doc.create_conversation(id, title, &me, now_ms)
    }

    /// Create the conversation unless it exists.
    pub fn ensure_conversation(&mut self, id: &str, title: &str, now_ms: u64) -> Result<()> {
        let me = self.me.clone();
        self.doc.ensure_conversation(id, title, &me, now_ms)
    }

    /// Post a message as this participant.
    pub fn post_message(
        &mut self,
        conversation: &str,
        role: Role,
        text: &str,
        now_ms: u64,
    ) -> Result<String> {
        let me = self.me.clone();
        self.doc.post_message(conversation, &me, role, text, now_ms)
    }

    /// Open an agent turn written by this session; returns its message id.
    pub fn open_turn(&mut self, conversation: &str, role: Role, now_ms: u64) -> Result<String> {
        self.flush_turns()?;
        let me = self.me.clone();
        let writer = self.client_id();
        self.doc.open_turn(conversation, &me, role, writer, now_ms)
    }

    /// Buffer a chunk of an open turn's text. It is written with other buffered chunks
    /// in one transaction by [`Session::flush_turns`] (called by the transport every
    /// frame) or at once when the buffer is full.
    pub fn append_turn(&mut self, id: &str, chunk: &str) -> Result<()> {
        let status = self.doc.turn_status(id)?;
        if !status.is_open() {
            self.discard_buffered(id);
            return Err(Error::TurnClosed {
                id: id.to_owned(),
                status: status.as_str(),
            });
        }
        self.turn_buffer_bytes += chunk.len();
        self.turn_buffer.push((id.to_owned(), chunk.to_owned()));
        if self.turn_buffer_bytes >= MAX_TURN_BATCH_BYTES {
            self.flush_turns()?;
        }
        Ok(())
    }

    pub(super) fn discard_buffered(&mut self, id: &str) {
        self.turn_buffer.retain(|(t, _)| t != id);
        self.turn_buffer_bytes = self.turn_buffer.iter().map(|(_, c)| c.len()).sum();
    }

    /// True when turn text is waiting to be written.
    pub fn has_buffered_turn_text(&self) -> bool {
        !self.turn_buffer.is_empty()
    }

    /// Write all buffered turn text in one transaction. When a turn was closed in the
    /// meantime (someone stopped it), its chunks are dropped and the error says so; the
    /// other turns' chunks are written.
    pub fn flush_turns(&mut self) -> Result<()> {
        if self.turn_buffer.is_empty() {
            return Ok(());
        }
        let mut chunks = std::mem::take(&mut self.turn_buffer);
        self.turn_buffer_bytes = 0;
        let mut refused = None;
        chunks.retain(|(id, _)| match self.doc.turn_status(id) {
            Ok(status) if status.is_open() => true,
            Ok(status) => {
                refused.get_or_insert(Error::TurnClosed {
                    id: id.clone(),
                    status: status.as_str(),
                });
                false
            }
            Err(e) => {
                refused.get_or_insert(e);
                false
            }
        });
        self.doc.append_turn_chunks(&chunks)?;
        refused.map_or(Ok(()), Err)
    }

    /// Finish a turn (its buffered text is written first).
    pub fn finish_turn(&mut self, id: &str) -> Result<()> {
        self.flush_turns()?;
        self.doc.finish_turn(id)
    }

    /// Fail a turn with a reason (its buffered text is written first).
    pub fn fail_turn(&mut self, id: &str, reason: &str) -> Result<()> {
        self.flush_turns()?;
        self.doc.fail_turn(id, reason)
    }

    /// Ask an open turn to stop, as this participant.
    pub fn request_stop(&mut self, id: &str, now_ms: u64) -> Result<()> {
        self.discard_buffered(id);
        let me = self.me.clone();
        self.doc.request_stop(id, &me, now_ms)
    }

    /// React to a message as this participant.
    pub fn react(&mut self, message: &str, kind: &str, now_ms: u64) -> Result<()> {
        let me = self.me.clone();
        self.doc.react(message, kind, &me, now_ms)
    }

    /// Take back this participant's reaction.
    pub fn unreact(&mut self, message: &str, kind: &str) -> Result<()> {
        let me = self.me.clone();
        self.doc.unreact(message, kind, &me)
    }

    /// Comment on `start..end` of document `doc`, as this participant.
    pub fn comment_on_range(
        &mut self,
        doc: &str,
        start: u32,
        end: u32,
        text: &str,
        now_ms: u64,
    ) -> Result<String> {
        let me = self.me.clone();
        self.doc
            .comment_on_range(doc, start, end, text, &me, now_ms)
    }

    /// Start a thread on a chat message, as this participant.
    pub fn comment_on_message(&mut self, message: &str, text: &str, now_ms: u64) -> Result<String> {
        let me = self.me.clone();
        self.doc.comment_on_message(message, text, &me, now_ms)
    }

    /// Reply in a comment's thread, as this participant.
    pub fn reply_to_comment(&mut self, id: &str, text: &str, now_ms: u64) -> Result<()> {
        let me = self.me.clone();
        self.doc.reply_to_comment(id, text, &me, now_ms)
    }

    /// Resolve (or reopen) a comment, as this participant.
    pub fn set_comment_resolved(&mut self, id: &str, resolved: bool, now_ms: u64) -> Result<()> {
        let me = self.me.clone();
        self.doc.set_comment_resolved(id, resolved, &me, now_ms)
    }

    /// Fork a conversation at a message, as this participant.
    pub fn fork_conversation(
        &mut self,
        parent: &str,
        at_message: &str,
        title: &str,
        now_ms: u64,
    ) -> Result<String> {
        let me = self.me.clone();
        self.doc
            .fork_conversation(parent, at_message, title, &me, now_ms)
    }

    /// Merge a branch back into its parent, as this participant.
    pub fn merge_branch(
        &mut self,
        branch: &str,
        picked: &[String],
        summary: MergeSummary,
        now_ms: u64,
    ) -> Result<String> {
        let me = self.me.clone();
        self.doc.merge_branch(branch, picked, summary, &me, now_ms)
    }

    /// Everyone present other than this participant, one entry per participant id,
    /// ordered by id (several tabs of one person count once).
    pub fn present_participants(&self) -> Vec<Participant> {
        let mut out: Vec<Participant> = Vec::new();
        for peer in self.peers() {
            let Ok(state) = serde_json::from_str::<serde_json::Value>(&peer.state) else {
                continue;
            };
            let user = &state["user"];
            let (Some(id), Some(name)) = (user["id"].as_str(), user["name"].as_str()) else {
                continue;
            };
            let Some(kind) = user["kind"].as_str().and_then(ParticipantKind::parse) else {
                continue;
            };
            if id == self.me.id || out.iter().any(|p| p.id == id) {
                continue;
            }
            out.push(Participant {
                id: id.to_owned(),
                name: name.to_owned(),
                kind,
            });
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// Online teammates this participant can sync views with: other people present.
    pub fn sync_partners(&self) -> Vec<Participant> {
        self.present_participants()
            .into_iter()
            .filter(|p| p.kind == ParticipantKind::Person)
            .collect()
    }

    /// This participant's view (the shared one while synced).
    pub fn view_state(&self) -> ViewState {
        self.doc.view_state(&self.me.id)
    }

    /// Change this participant's view (the shared one while synced).
    pub fn set_view(&mut self, patch: &ViewPatch) -> Result<()> {
        let me = self.me.id.clone();
        self.doc.set_view(&me, patch)
    }

    /// Start following one view with `partner` (a participant id), initialised from
    /// this participant's view.
    pub fn start_sync(&mut self, partner: &str, now_ms: u64) -> Result<String> {
        let me = self.me.id.clone();
        self.doc.start_sync(&me, partner, now_ms)
    }

    /// Stop syncing: both get an independent copy of the shared view.
    pub fn stop_sync(&mut self) -> Result<()> {
        let me = self.me.id.clone();
        self.doc.stop_sync(&me)
    }

    /// Add an entry to this person's private context (kept in this session only).
    pub fn add_private_context(&mut self, draft: ContextDraft, now_ms: u64) -> Result<String> {
        if draft.text.trim().is_empty() {
            return Err(Error::Empty("context text"));
        }
        self.next_private += 1;
        let id = format!("private-{}", self.next_private);
        self.private_context.push(ContextEntry {
            id: id.clone(),
            kind: draft.kind,
            text: draft.text,
            author: self.me.clone(),
            tags: draft.tags,
            refs: draft.refs,
            status: ContextStatus::Accepted,
            private: true,
            created_at: now_ms as f64,
        });
        Ok(id)
    }

    /// This person's private context.
    pub fn private_context(&self) -> &[ContextEntry] {
        &self.private_context
    }

    /// Drop a private entry.
    pub fn remove_private_context(&mut self, id: &str) -> Result<()> {
        let before = self.private_context.len();
        self.private_context.retain(|e| e.id != id);
        if self.private_context.len() == before {
            return Err(Error::UnknownContextEntry(id.to_owned()));
        }
        Ok(())
    }

    /// Share a private entry with the room: an explicit, attributed act; it lands
    /// `proposed`. The private copy stays. Returns the shared entry's id.
    pub fn share_private_context(&mut self, id: &str, now_ms: u64) -> Result<String> {
        let entry = self
            .private_context
            .iter()
            .find(|e| e.id == id)
            .cloned()
            .ok_or_else(|| Error::UnknownContextEntry(id.to_owned()))?;
        let draft = ContextDraft {
            kind: entry.kind,
            text: entry.text,
            tags: entry.tags,
            refs: entry.refs,
        };
        self.propose_context(&draft, now_ms)
    }

    /// Propose an entry to the room's shared context as this participant.
    pub fn propose_context(&mut self, draft: &ContextDraft, now_ms: u64) -> Result<String> {
        let me = self.me.clone();
        self.doc.propose_context(draft, &me, now_ms)
    }

    /// Accept (or re-confirm) a shared entry, as the context owner.
    pub fn accept_context(&mut self, id: &str) -> Result<()> {
        let me = self.me.clone();
        self.doc.accept_context(id, &me)
    }

    /// Retire a shared entry, as the context owner.
    pub fn retire_context(&mut self, id: &str) -> Result<()> {
        let me = self.me.clone();
        self.doc.retire_context(id, &me)
    }

    /// Hand the context-owner role to `next` (a participant id).
    pub fn set_context_owner(&mut self, next: &str) -> Result<()> {
        let me = self.me.clone();
        self.doc.set_context_owner(&me, next)
    }

    /// Shared and private entries relevant to `tags` and `refs`, best first.
    pub fn relevant_context(&self, tags: &[String], refs: &[String]) -> Vec<ContextEntry> {
        let mut all = self.doc.context_entries();
        all.extend(self.private_context.iter().cloned());
        relevant(&all, tags, refs)
    }

    /// Raise an announcement, a question or a handoff as this participant.
    pub fn raise_context_event(
        &mut self,
        kind: ContextEventKind,
        text: &str,
        to: Option<&str>,
        now_ms: u64,
    ) -> Result<String> {
        let me = self.me.clone();
        self.doc.raise_context_event(kind, text, to, &me, now_ms)
    }

    /// The room's handoff summary.
    pub fn handoff_summary(&self) -> HandoffSummary {
        self.doc.handoff_summary()
    }

    /// Name the room's current state as a version, as this participant.
    pub fn create_version(&mut self, name: &str, now_ms: u64) -> Result<String> {
        let me = self.me.clone();
        self.doc.create_version(name, &me, now_ms)
    }

    /// The state vector of the local doc, encoded (v1).
    pub fn state_vector(&self) -> Vec<u8> {
        use yrs::updates::encoder::Encode;
        self.doc.doc().transact().state_vector().encode_v1()
    }

    /// Every conflict in the room (computed again only after the doc changed).
    pub fn conflicts(&mut self) -> Vec<Conflict> {
        let version = self.doc_version();
        match &self.conflicts {
            Some((at, list)) if *at == version => list.clone(),
            _ => {
                let list = self.doc.conflicts();
                self.conflicts = Some((version, list.clone()));
                list
            }
        }
    }

    /// What changed in the room's conflicts since the last call, for this participant:
    /// new conflicts (with `needs_input` when they have a side), requests for an agent
    /// (`needs_input` for agents) and resolutions. Conflicts already resolved when
    /// first seen are not reported.
    pub fn poll_conflicts(&mut self) -> Vec<ConflictNotice> {
        let conflicts = self.conflicts();
        let changes = self.conflict_watch.changes(conflicts);
        changes
            .into_iter()
            .map(|(kind, conflict)| {
                let needs_input = match kind {
                    NoticeKind::Raised => {
                        conflict.participants().iter().any(|p| p.id == self.me.id)
                    }
                    NoticeKind::AwaitingAgent => self.me.kind == ParticipantKind::Agent,
                    // A proposed merge waits for a person: those with a side, and who asked.
                    NoticeKind::Proposed => {
                        self.me.kind == ParticipantKind::Person
                            && (conflict.participants().iter().any(|p| p.id == self.me.id)
                                || conflict
                                    .asked_by
                                    .as_ref()
                                    .is_some_and(|p| p.id == self.me.id))
                    }
                    NoticeKind::Resolved => false,
                };
                ConflictNotice {
                    kind,
                    needs_input,
                    conflict,
                }
            })
            .collect()
    }

    /// Resolve a conflict as this participant (see [`RoomDoc::resolve_conflict`]).
    pub fn resolve_conflict(
        &mut self,
        id: &str,
        choice: Choice,
        side: Option<usize>,
        text: Option<&str>,
        now_ms: u64,
    ) -> Result<()> {
        self.doc.set_time(now_ms);
        let me = self.me.clone();
        self.doc.resolve_conflict(id, choice, side, text, &me)
    }

    /// The whole room document as one Yjs v1 update (what `Y.encodeStateAsUpdate` gives):
    /// a backup, or the state to hand a stock Yjs document.
    pub fn encode_state(&self) -> Vec<u8> {
        self.doc
            .doc()
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default())
    }

    /// Apply a Yjs v1 update (from [`Session::encode_state`], a stock Yjs document, a
    /// backup) as this session's change: it merges here and goes to the room, which keeps
    /// what it already has. A malformed update changes nothing.
    pub fn apply_update(&mut self, bytes: &[u8]) -> Result<()> {
        use yrs::updates::decoder::Decode;
        let update =
            yrs::Update::decode_v1(bytes).map_err(|e| Error::NotAnUpdate(e.to_string()))?;
        self.doc
            .doc()
            .transact_mut()
            .apply_update(update)
            .map_err(|e| Error::NotAnUpdate(e.to_string()))
    }

    /// Take in what this device kept of the room in an earlier session (an
    /// [`Session::encode_state`] it stored), as the room's own state rather than a new
    /// change: nothing is queued to send, and the handshake's answer carries whatever of
    /// it the room lacks (edits made offline before a reload go out then, under the
    /// client id that made them). A malformed update changes nothing.
    pub fn load_stored(&mut self, bytes: &[u8]) -> Result<()> {
        use yrs::updates::decoder::Decode;
        let update =
            yrs::Update::decode_v1(bytes).map_err(|e| Error::NotAnUpdate(e.to_string()))?;
        self.apply_remote(update)
            .map_err(|e| Error::NotAnUpdate(e.to_string()))
    }

    /// Apply a change a local replica made under its own yrs client id `client` (the
    /// Yjs bridge's `Y.Doc`) as this participant's edit: attributed, recorded for
    /// conflict detection, and sent to the room (see [`RoomDoc::apply_bridged`]).
    pub fn apply_bridged(&mut self, update: &[u8], client: u64) -> Result<()> {
        // The update writes under the replica's client id alone (it may delete anyone's
        // text): anything else is not the replica's change. Bad bytes change nothing.
        let scan = crate::protocol::scan::scan_update_v1(update)
            .map_err(|e| Error::NotAnUpdate(e.to_string()))?;
        if let Some(run) = scan.runs.iter().find(|r| r.client != client) {
            return Err(Error::NotAnUpdate(format!(
                "a bridged change from client {client} writes under client {}",
                run.client
            )));
        }
        self.doc.apply_bridged(update, client)?;
        // A verified participant's client ids are recorded by the room; an unverified
        // editor names its own, as for its main client id.
        if self.names_own_clients
            && self.doc.recorded_participant(client).as_ref() != Some(&self.me)
        {
            let me = self.me.clone();
            self.doc.register_client(client, &me);
        }
        Ok(())
    }

    /// Start (`true`) or stop mirroring: while on, every change to the room document,
    /// local or remote, is kept for [`Session::take_mirrored`]. That includes the
    /// changes [`Session::apply_bridged`] made, whose transactions also carry this
    /// session's bookkeeping: a replica skips what it wrote itself.
    pub fn set_mirroring(&mut self, on: bool) {
        let mut mirror = self
            .mirror
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *mirror = on.then(Vec::new);
    }

    /// The changes kept since the last call, oldest first, as Yjs v1 updates (none
    /// when mirroring is off).
    pub fn take_mirrored(&mut self) -> Vec<Vec<u8>> {
        let mut mirror = self
            .mirror
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        mirror.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Suggest an edit for review as this participant (see [`RoomDoc::suggest_edit`]).
    pub fn suggest_edit(
        &mut self,
        doc: &str,
        start: u32,
        end: u32,
        text: &str,
        note: &str,
        now_ms: u64,
    ) -> Result<String> {
        self.doc.set_time(now_ms);
        let me = self.me.clone();
        self.doc.suggest_edit(doc, start, end, text, note, &me)
    }

    /// Propose a merge for a conflict as this participant (see [`RoomDoc::propose_merge`]).
    pub fn propose_merge(
        &mut self,
        id: &str,
        text: &str,
        rationale: &str,
        now_ms: u64,
    ) -> Result<()> {
        self.doc.set_time(now_ms);
        let me = self.me.clone();
        self.doc.propose_merge(id, text, rationale, &me)
    }

    /// Turn down a proposed merge (see [`RoomDoc::reject_proposal`]).
    pub fn reject_proposal(&mut self, id: &str, now_ms: u64) -> Result<()> {
        self.doc.set_time(now_ms);
        let me = self.me.clone();
        self.doc.reject_proposal(id, &me)
    }

    /// Write over a range of the text read at `base` (see [`RoomDoc::write_based`]).
    pub fn write_based(
        &mut self,
        doc: &str,
        start: u32,
        end: u32,
        text: &str,
        base: &[u8],
        now_ms: u64,
    ) -> Result<BasedWrite> {
        self.doc.set_time(now_ms);
        let me = self.me.clone();
        self.doc.write_based(doc, start, end, text, base, &me)
    }
}
