//! Requests to the room: the room's own operations (summary, presence, messages and
//! documents over REST, accepting a suggestion) and, for the rest, the authority.

use serde_json::{json, Value};
use yrs::updates::decoder::Decode;
use yrs::Update;

use super::*;
use crate::authority::op::{DocumentWriteArgs, MessageListArgs, MessagePostArgs};
use crate::authority::token::Role;
use crate::authority::{Actor, Authority, Op, OpCode, OpError};
use crate::doc::RoomDoc;
use crate::error::Error;
use crate::protocol::close::CloseCode;
use crate::protocol::scan::scan_update_v1;

impl Room {
    /// Run an operation given by name and JSON arguments (a request frame, the REST
    /// API): parsed once into an [`Op`], then [`Room::handle_op`].
    pub fn request(
        &mut self,
        actor: &Actor,
        name: &str,
        args: Value,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        self.handle_op(actor, Op::parse(name, args)?, now_ms)
    }

    /// Run an operation for `actor`: the authority's (leases, members, activities,
    /// collaborations, webhooks) or the room's own (messages, documents, presence,
    /// suggestions). Events it raises wait in [`Room::take_events`]; frames (role
    /// changes, the room's own writes) are relayed from [`Room::take_pending`].
    pub fn handle_op(
        &mut self,
        actor: &Actor,
        op: Op,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        self.clock.set(now_ms);
        let name = op.name();
        match op {
            Op::RoomSummary => return Ok(self.summary(now_ms)),
            Op::PresenceList => return Ok(json!({ "presence": self.presence_states() })),
            Op::MessageList(a) => return self.list_messages(a),
            Op::DocumentList => return Ok(self.list_documents()),
            Op::DocumentGet(a) => return self.get_document(&a.id),
            Op::MessagePost(a) => {
                Authority::require(actor, name, Role::Editor)?;
                let result = self.post_message(actor, a, now_ms)?;
                self.relay_own_writes(actor, now_ms);
                return Ok(result);
            }
            Op::DocumentWrite(a) => {
                Authority::require(actor, name, Role::Editor)?;
                let result = self.write_document(actor, a, now_ms)?;
                self.relay_own_writes(actor, now_ms);
                return Ok(result);
            }
            Op::FileList(_)
            | Op::FileGet(_)
            | Op::FileWrite(_)
            | Op::FileMove(_)
            | Op::FileDelete(_)
            | Op::FileRestore(_)
            | Op::FolderCreate(_) => return self.file_op(actor, op, now_ms),
            Op::Search(_) => {
                return Err(OpError::invalid(
                    "search is answered by the server from the room's index (a socket request or GET /rooms/<room>/search)",
                ))
            }
            Op::SuggestionAccept(a) => {
                let result = self.accept_suggestion(actor, &a.id, now_ms)?;
                self.relay_own_writes(actor, now_ms);
                return Ok(result);
            }
            Op::SuggestionReject(a) => return self.reject_suggestion(actor, &a.id, now_ms),
            _ => {}
        }
        let reads_only = op.reads_only();
        let before: Vec<(String, Role)> = self.member_roles();
        let outcome = self.authority.handle(actor, op, now_ms)?;
        if !reads_only {
            self.authority_dirty = true;
        }
        self.events.extend(outcome.events);
        let mut result = outcome.result;
        if let Some(mut claims) = outcome.mint {
            let Some((secret, room)) = &self.token_key else {
                return Err(OpError::invalid(
                    "this room cannot sign invitations (no secret)",
                ));
            };
            claims.room = room.clone();
            result["token"] = Value::from(crate::authority::token::mint(secret, &claims));
            result["expiresAt"] = Value::from(claims.exp);
        }
        if let Some((user, None)) = &outcome.role_change {
            for (conn, c) in &self.connections {
                if &c.actor.id == user {
                    self.closures.push(Closure {
                        conn: *conn,
                        code: CloseCode::Removed,
                        reason: format!("{user} left or was removed from the room"),
                    });
                }
            }
        }
        if before != self.member_roles() || outcome.role_change.is_some() {
            self.refresh_roles();
        }
        Ok(result)
    }

    pub(super) fn member_roles(&self) -> Vec<(String, Role)> {
        self.connections
            .values()
            .map(|c| (c.actor.id.clone(), c.actor.role))
            .collect()
    }

    /// Give every connection its current role from the member list, and tell the ones
    /// whose role changed.
    pub(super) fn refresh_roles(&mut self) {
        let mut changed = Vec::new();
        for (conn, c) in self.connections.iter_mut() {
            if let Some(role) = self.authority.member_role(&c.actor.id) {
                if role != c.actor.role {
                    c.actor.role = role;
                    changed.push(*conn);
                }
            }
        }
        for conn in changed {
            if let Some(c) = self.connections.get(&conn) {
                if c.confab {
                    self.pending.push(Outgoing {
                        to: Recipient::Only(conn),
                        frame: protocol::session(&session_info(&c.actor)),
                    });
                }
            }
        }
    }

    pub(super) fn presence_states(&self) -> Vec<Value> {
        self.awareness
            .iter()
            .filter_map(|(id, s)| {
                let data = s.data.as_ref()?;
                let state: Value = serde_json::from_str(data).ok()?;
                Some(json!({ "clientId": id.get(), "state": state }))
            })
            .collect()
    }

    pub(super) fn summary(&self, now_ms: u64) -> Value {
        let reader = self.reader();
        let documents: Vec<Value> = reader
            .documents()
            .into_iter()
            .map(|d| json!({ "id": d.id, "title": d.title }))
            .collect();
        let conversations: Vec<String> = reader.conversations().into_iter().map(|c| c.id).collect();
        let online: Vec<Value> = self
            .connections
            .values()
            .map(|c| json!({ "user": c.actor.id, "name": c.actor.name, "kind": c.actor.kind.as_str(), "role": c.actor.role }))
            .collect();
        json!({
            "connections": self.connections.len(),
            "online": online,
            "presence": self.presence_count(),
            "documents": documents,
            "conversations": conversations,
            "leases": self.authority.locks.leases(now_ms),
            "policies": self.authority.locks.policies(),
        })
    }

    /// The room's own writer (client id 0, ids seeded with the time so they never
    /// repeat across restarts).
    pub(super) fn writer(&mut self, now_ms: u64) -> &mut RoomDoc {
        let doc = self.awareness.doc().clone();
        self.writer.get_or_insert_with(|| {
            let mut w = RoomDoc::from_doc(doc);
            w.epochs.detach();
            w.seed_ids(now_ms);
            w
        })
    }

    pub(super) fn reader(&self) -> RoomDoc {
        let doc = RoomDoc::from_doc(self.awareness.doc().clone());
        doc.epochs.detach();
        doc
    }

    /// Relay what the room's own writer changed, and note the document events in it.
    pub(super) fn relay_own_writes(&mut self, actor: &Actor, now_ms: u64) {
        let changes = self.drain_changes();
        for change in &changes {
            if let Ok(scan) = scan_update_v1(change) {
                self.zones.record(&scan);
                let touched = self.zones.touched(&scan);
                self.notice_doc_events(actor, &scan, &touched, now_ms);
            }
        }
        let out = self.queue_changes(None, changes);
        self.pending.extend(out);
    }

    fn list_messages(&self, a: MessageListArgs) -> std::result::Result<Value, OpError> {
        let reader = self.reader();
        let conversations = match a.conversation {
            Some(c) => vec![c],
            None => reader.conversations().into_iter().map(|c| c.id).collect(),
        };
        let mut all = Vec::new();
        for c in conversations {
            all.extend(reader.messages(&c).map_err(core_err)?);
        }
        Ok(json!({ "messages": all }))
    }

    fn list_documents(&self) -> Value {
        let reader = self.reader();
        let docs: Vec<Value> = reader
            .documents()
            .into_iter()
            .map(|d| {
                let len = reader
                    .document_text(&d.id)
                    .map_or(0, |t| t.encode_utf16().count());
                json!({ "id": d.id, "title": d.title, "length": len })
            })
            .collect();
        json!({ "documents": docs })
    }

    fn get_document(&self, id: &str) -> std::result::Result<Value, OpError> {
        let reader = self.reader();
        let info = reader
            .documents()
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| OpError::not_found(format!("unknown document `{id}`")))?;
        let text = reader.document_text(id).map_err(core_err)?;
        Ok(json!({ "id": id, "title": info.title, "text": text }))
    }

    fn post_message(
        &mut self,
        actor: &Actor,
        a: MessagePostArgs,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        let conversation = a.conversation.unwrap_or_else(|| "main".into());
        if a.text.len() > crate::authority::MAX_TEXT_BYTES * 16 {
            return Err(OpError::invalid("message.post: `text` is over 256 KiB"));
        }
        let who = actor.participant();
        let role = crate::model::Role::default_for(who.kind);
        let writer = self.writer(now_ms);
        writer
            .ensure_conversation(&conversation, &conversation, &who, now_ms)
            .map_err(core_err)?;
        let id = writer
            .post_message(&conversation, &who, role, &a.text, now_ms)
            .map_err(core_err)?;
        Ok(json!({ "id": id, "conversation": conversation }))
    }

    fn write_document(
        &mut self,
        actor: &Actor,
        a: DocumentWriteArgs,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        let (id, text) = (a.id, a.text);
        if let Some(fence) = a.fence {
            let lease = self
                .authority
                .locks
                .verify(&format!("doc:{id}"), fence, now_ms)
                .map_err(OpError::from)?;
            if lease.holder != actor.id {
                return Err(OpError::forbidden(format!(
                    "fencing token {fence} belongs to {}",
                    lease.holder
                )));
            }
        }
        if let Err(policy) = self.authority.locks.write_check(&id, &actor.id, now_ms) {
            return Err(OpError::new(
                OpCode::LeaseRequired,
                format!(
                    "document `{id}` requires a lease for writes ({} policy) and {} holds none: acquire `doc:{id}` first",
                    policy.as_str(),
                    actor.id
                ),
            ));
        }
        let title = a.title.unwrap_or_else(|| id.clone());
        let writer = self.writer(now_ms);
        writer
            .ensure_document(&id, &title, now_ms)
            .map_err(core_err)?;
        let len = writer
            .document_text(&id)
            .map_err(core_err)?
            .encode_utf16()
            .count() as u32;
        writer.replace_text(&id, 0, len, &text).map_err(core_err)?;
        Ok(json!({ "id": id, "length": text.encode_utf16().count() }))
    }

    fn accept_suggestion(
        &mut self,
        actor: &Actor,
        id: &str,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        let (doc, update) = self.authority.suggestion_update(id)?;
        let file = self.file_path_of(&doc);
        self.authority
            .may_decide_suggestion(actor, &doc, file.as_deref(), "accept", now_ms)?;
        let decoded = Update::decode_v1(&update)
            .map_err(|e| OpError::invalid(format!("stored suggestion `{id}`: {e}")))?;
        let scan = scan_update_v1(&update).map_err(|e| OpError::invalid(e.to_string()))?;
        self.apply(decoded)
            .map_err(|e| OpError::invalid(e.to_string()))?;
        self.zones.record(&scan);
        self.authority.resolve_suggestion(id, true);
        self.authority_dirty = true;
        self.event(
            EventKind::SuggestionAccepted,
            Some(actor),
            Some(id),
            json!({ "document": doc }),
        );
        Ok(json!({ "accepted": id, "document": doc }))
    }
}

impl Room {
    /// Drop a held edit (owners, and whoever holds the document's lease or a `path:`
    /// lease over its file).
    fn reject_suggestion(
        &mut self,
        actor: &Actor,
        id: &str,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        let (doc, _) = self.authority.suggestion_update(id)?;
        let file = self.file_path_of(&doc);
        self.authority
            .may_decide_suggestion(actor, &doc, file.as_deref(), "reject", now_ms)?;
        self.authority.resolve_suggestion(id, false);
        self.authority_dirty = true;
        self.event(
            EventKind::SuggestionRejected,
            Some(actor),
            Some(id),
            json!({ "document": doc }),
        );
        Ok(json!({ "rejected": id }))
    }

    /// The path of the live file whose body is document `doc`.
    fn file_path_of(&self, doc: &str) -> Option<String> {
        let txn = self.awareness.doc().transact();
        crate::model::files::path_of_document(&txn, doc)
    }
}

/// A core error as an operation's error: unknown things are not found, the rest invalid.
fn core_err(e: Error) -> OpError {
    match e {
        Error::UnknownConversation(_) | Error::UnknownDocument(_) | Error::UnknownMessage(_) => {
            OpError::not_found(e.to_string())
        }
        e => OpError::invalid(e.to_string()),
    }
}
