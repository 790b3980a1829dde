//! This participant's presence: status, activity, typing, cursor and follow, published
//! as a Yjs awareness state, and everyone else's as the session sees it.

use crate::doc::Participant;
use crate::error::{Error, Result};
use crate::model::presence::{read_presence, sticky_position, Presence, PresenceStatus};
use crate::protocol::{self};

use super::*;

impl Session {
    /// Update this session's presence with the fields of a JSON object (status,
    /// activity, cursor, app fields, ...): given fields replace earlier values, `null`
    /// removes a field. Confab keeps `user` = this participant.
    pub fn set_presence(&mut self, json: &str) -> Result<()> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::InvalidPresence(e.to_string()))?;
        let serde_json::Value::Object(fields) = value else {
            return Err(Error::InvalidPresence(format!(
                "expected a JSON object, got `{json}`"
            )));
        };
        self.merge_presence(fields);
        Ok(())
    }

    pub(super) fn merge_presence(&mut self, fields: serde_json::Map<String, serde_json::Value>) {
        if self.presence.is_none() {
            self.presence = self.parked_presence.take();
        }
        let state = self.presence.get_or_insert_with(serde_json::Map::new);
        for (key, value) in fields {
            if key == "user" {
                continue;
            }
            if value.is_null() {
                state.remove(&key);
            } else {
                state.insert(key, value);
            }
        }
        self.publish_presence();
    }

    pub(super) fn set_presence_field(&mut self, key: &str, value: serde_json::Value) {
        let mut fields = serde_json::Map::new();
        fields.insert(key.to_owned(), value);
        self.merge_presence(fields);
    }

    /// Set a status by hand ("away", "back in 10 min"): it holds, whatever the input,
    /// until cleared with `None`, when the status follows input again.
    pub fn set_manual_status(&mut self, status: Option<PresenceStatus>, note: Option<&str>) {
        self.manual_status = status;
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        self.set_presence_field("note", note.map_or(serde_json::Value::Null, Into::into));
        let status = status.unwrap_or(PresenceStatus::after_quiet(
            self.clock.now().saturating_sub(self.last_input),
        ));
        self.status = status;
        self.set_presence_field("status", status.as_str().into());
    }

    /// Report input from this participant (a key, a click, an edit): they are active.
    pub fn note_input(&mut self, now_ms: u64) {
        self.clock.set(now_ms);
        self.last_input = self.last_input.max(now_ms);
        if self.manual_status.is_none() && self.status != PresenceStatus::Active {
            self.status = PresenceStatus::Active;
            self.set_presence_field("status", PresenceStatus::Active.as_str().into());
        }
    }

    /// Say what this participant is doing ("reviewing spec", "running tool grep");
    /// `None` clears it.
    pub fn set_activity(&mut self, activity: Option<&str>) {
        self.set_presence_field(
            "activity",
            activity.map_or(serde_json::Value::Null, Into::into),
        );
    }

    /// Say which conversation this participant is typing in; `None` when they stop.
    pub fn set_typing(&mut self, conversation: Option<&str>) {
        self.set_presence_field(
            "typingIn",
            conversation.map_or(serde_json::Value::Null, Into::into),
        );
    }

    /// Say whose view this participant follows (a user id); `None` to stop.
    pub fn set_following(&mut self, user: Option<&str>) {
        self.set_presence_field(
            "following",
            user.map_or(serde_json::Value::Null, Into::into),
        );
    }

    /// Publish this participant's cursor or selection in a document as relative
    /// positions, so peers resolve it correctly after concurrent edits.
    pub fn set_cursor(&mut self, document: &str, anchor: u32, head: u32) -> Result<()> {
        // An unknown document is named as such; the length only names the range in an
        // error: a cursor update (20 a second per participant) must not read the whole
        // document.
        self.doc.document_ref_checked(document)?;
        let text_len = || {
            self.doc
                .document_text(document)
                .map(|t| t.encode_utf16().count() as u32)
                .unwrap_or(0)
        };
        let resolve = |index: u32| {
            sticky_position(&self.doc, document, index).ok_or_else(|| Error::OutOfRange {
                target: document.to_owned(),
                index,
                end: u64::from(index),
                len: text_len(),
            })
        };
        let (anchor, head) = (resolve(anchor)?, resolve(head)?);
        let cursor = serde_json::json!({
            "document": document,
            "anchor": anchor,
            "head": head,
        });
        self.set_presence_field("cursor", cursor);
        // Each undo step keeps the selection it was made from.
        self.doc.note_caret(Some(crate::doc::undo::Caret {
            document: document.to_owned(),
            anchor,
            head,
        }));
        Ok(())
    }

    /// Remove this participant's cursor.
    pub fn clear_cursor(&mut self) {
        self.set_presence_field("cursor", serde_json::Value::Null);
        self.doc.note_caret(None);
    }

    /// Everyone's structured presence (this session included), by client id. States
    /// without a Confab `user` (stock Yjs clients) are left out; see [`Session::peers`].
    pub fn presence(&self) -> Vec<Presence> {
        self.peers()
            .into_iter()
            .filter_map(|p| read_presence(&self.doc, p.client_id, &p.state, p.is_self))
            .collect()
    }

    /// Who is typing in `conversation` (other than this participant).
    pub fn typing_in(&self, conversation: &str) -> Vec<Participant> {
        let mut out: Vec<Participant> = self
            .presence()
            .into_iter()
            .filter(|p| {
                !p.is_self
                    && p.user.id != self.me.id
                    && p.typing_in.as_deref() == Some(conversation)
            })
            .map(|p| p.user)
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        out
    }

    pub(super) fn publish_presence(&mut self) {
        let Some(fields) = &self.presence else { return };
        let mut state = fields.clone();
        state.insert(
            "user".to_owned(),
            serde_json::json!({ "id": self.me.id, "name": self.me.name, "kind": self.me.kind }),
        );
        self.awareness
            .set_local_state_raw(serde_json::Value::Object(state).to_string());
        self.presence_dirty = true;
    }

    pub(super) fn presence_frame(&mut self) -> Option<Vec<u8>> {
        let me = self.awareness.client_id();
        let update = self.awareness.update_with_clients([me]).ok()?;
        self.presence_sent_at = self.clock.now();
        Some(protocol::awareness(update))
    }

    /// This session's own awareness state as an encoded awareness update (v1).
    pub fn presence_snapshot(&self) -> Vec<u8> {
        use yrs::updates::encoder::Encode;
        let me = self.awareness.client_id();
        self.awareness
            .update_with_clients([me])
            .map(|u| u.encode_v1())
            .unwrap_or_default()
    }

    /// Everyone present, this session included, ordered by client id.
    pub fn peers(&self) -> Vec<Peer> {
        let me = self.awareness.client_id();
        let mut peers: Vec<Peer> = self
            .awareness
            .iter()
            .filter_map(|(id, state)| {
                Some(Peer {
                    client_id: id.get(),
                    state: state.data.as_deref()?.to_owned(),
                    is_self: id == me,
                })
            })
            .collect();
        peers.sort_by_key(|p| p.client_id);
        peers
    }

    /// Periodic upkeep: renew our presence before peers time it out, drop peers whose
    /// presence was not renewed in time, and mark their open turns interrupted.
    pub fn tick(&mut self, now_ms: u64) -> Tick {
        self.clock.set(now_ms);
        self.doc.set_time(now_ms);
        let mut frames = Vec::new();
        let status = self.manual_status.unwrap_or(PresenceStatus::after_quiet(
            now_ms.saturating_sub(self.last_input),
        ));
        if status != self.status && self.presence.is_some() {
            self.status = status;
            self.set_presence_field("status", status.as_str().into());
            self.presence_dirty = false;
            frames.extend(self.presence_frame());
        }
        if self.presence.is_some()
            && self.synced
            && now_ms.saturating_sub(self.presence_sent_at) >= PRESENCE_RENEW_MS
        {
            self.publish_presence();
            self.presence_dirty = false;
            frames.extend(self.presence_frame());
        }
        let me = self.awareness.client_id();
        let stale: Vec<_> = self
            .awareness
            .iter()
            .filter(|(id, state)| {
                *id != me
                    && state.data.is_some()
                    && now_ms.saturating_sub(state.last_updated) >= PRESENCE_TIMEOUT_MS
            })
            .map(|(id, _)| id)
            .collect();
        let presence_changed = !stale.is_empty();
        for id in stale {
            self.awareness.remove_state(id);
        }
        Tick {
            frames,
            presence_changed,
            turns_interrupted: self.interrupt_orphaned_turns(now_ms),
        }
    }

    /// Frames announcing that this session leaves (its presence removed for everyone).
    pub fn leave(&mut self) -> Vec<Vec<u8>> {
        // Kept aside: the next handshake (a later connect) publishes it again.
        self.parked_presence = self.presence.take();
        self.awareness.clean_local_state();
        let me = self.awareness.client_id();
        match self.awareness.update_with_clients([me]) {
            Ok(update) => vec![protocol::awareness(update)],
            Err(_) => Vec::new(),
        }
    }
}
