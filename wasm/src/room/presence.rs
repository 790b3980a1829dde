//! Presence: who is here, their status, activity, typing, cursor and whom they follow.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use super::Room;
use crate::errors::{js_error, to_js, type_error};
use crate::events::{emit, Event};
use crate::transport::now_ms;
use crate::Session;

#[wasm_bindgen]
impl Room {
    /// Set this client's presence (a plain object: status, activity, cursor, ...).
    /// Confab adds `user` from the room options.
    #[wasm_bindgen(js_name = setPresence)]
    pub fn set_presence(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Record<string, unknown>")] state: JsValue,
    ) -> Result<(), JsValue> {
        let json = js_sys::JSON::stringify(&state)
            .map_err(|_| type_error("presence must be JSON-serialisable"))?;
        {
            let mut inner = self.inner.borrow_mut();
            inner
                .session
                .set_presence(&String::from(json))
                .map_err(js_error)?;
            inner.flush();
        }
        emit(&self.inner, vec![Event::Presence]);
        Ok(())
    }

    fn presence_edit(
        &self,
        f: impl FnOnce(&mut Session) -> confab_core::Result<()>,
    ) -> Result<(), JsValue> {
        {
            let mut inner = self.inner.borrow_mut();
            f(&mut inner.session).map_err(js_error)?;
            inner.flush();
        }
        emit(&self.inner, vec![Event::Presence]);
        Ok(())
    }

    /// Everyone's structured presence: status, activity, typing, cursor (resolved to
    /// current offsets), view, following.
    #[wasm_bindgen(unchecked_return_type = "PresenceInfo[]")]
    pub fn presence(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.presence())
    }

    /// Everyone present other than this user (people and agents), once each.
    #[wasm_bindgen(unchecked_return_type = "ParticipantInfo[]")]
    pub fn participants(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.present_participants())
    }

    /// Report input (key, click) so this user shows as active rather than idle or away.
    /// Local edits report input by themselves.
    #[wasm_bindgen(js_name = noteInput)]
    pub fn note_input(&self) -> Result<(), JsValue> {
        self.presence_edit(|s| {
            s.note_input(now_ms());
            Ok(())
        })
    }

    /// Set a status by hand: `"active"`, `"idle"` or `"away"` with an optional note
    /// ("back in 10 min"); `null` lets the status follow input again.
    #[wasm_bindgen(js_name = setManualStatus)]
    pub fn set_manual_status(
        &self,
        status: Option<String>,
        note: Option<String>,
    ) -> Result<(), JsValue> {
        let status = match status.as_deref() {
            None => None,
            Some(s) => Some(
                confab_core::model::presence::PresenceStatus::parse(s).ok_or_else(|| {
                    crate::errors::coded_error(
                        "invalid_argument",
                        &format!("unknown status `{s}` (expected active, idle or away)"),
                    )
                })?,
            ),
        };
        self.presence_edit(|s| {
            s.set_manual_status(status, note.as_deref());
            Ok(())
        })
    }

    /// Say what this user or agent is doing ("reviewing spec"); `null` clears it.
    #[wasm_bindgen(js_name = setActivity)]
    pub fn set_activity(&self, activity: Option<String>) -> Result<(), JsValue> {
        self.presence_edit(|s| {
            s.set_activity(activity.as_deref());
            Ok(())
        })
    }

    /// Say which conversation this user is typing in; `null` when they stop.
    #[wasm_bindgen(js_name = setTyping)]
    pub fn set_typing(&self, conversation: Option<String>) -> Result<(), JsValue> {
        self.presence_edit(|s| {
            s.set_typing(conversation.as_deref());
            Ok(())
        })
    }

    /// Publish this user's cursor or selection in a document (UTF-16 offsets); peers
    /// see it move with concurrent edits.
    #[wasm_bindgen(js_name = setCursor)]
    pub fn set_cursor(&self, document: &str, anchor: u32, head: u32) -> Result<(), JsValue> {
        self.presence_edit(|s| s.set_cursor(document, anchor, head))
    }

    /// Remove this user's cursor.
    #[wasm_bindgen(js_name = clearCursor)]
    pub fn clear_cursor(&self) -> Result<(), JsValue> {
        self.presence_edit(|s| {
            s.clear_cursor();
            Ok(())
        })
    }

    /// Follow another user's view (a user id); `null` to stop.
    pub fn follow(&self, user: Option<String>) -> Result<(), JsValue> {
        self.presence_edit(|s| {
            s.set_following(user.as_deref());
            Ok(())
        })
    }

    /// Who (other than this user) is typing in `conversation`.
    #[wasm_bindgen(js_name = typingIn, unchecked_return_type = "ParticipantInfo[]")]
    pub fn typing_in(&self, conversation: &str) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.typing_in(conversation))
    }

    /// Everyone present (this client included), each with their presence state.
    #[wasm_bindgen(unchecked_return_type = "PeerInfo[]")]
    pub fn peers(&self) -> Result<JsValue, JsValue> {
        let peers = self.inner.borrow().session.peers();
        let out = js_sys::Array::new();
        for peer in peers {
            let obj = js_sys::Object::new();
            Reflect::set(
                &obj,
                &"clientId".into(),
                &JsValue::from(peer.client_id as f64),
            )?;
            Reflect::set(&obj, &"isSelf".into(), &JsValue::from(peer.is_self))?;
            let state = js_sys::JSON::parse(&peer.state).unwrap_or(JsValue::NULL);
            Reflect::set(&obj, &"state".into(), &state)?;
            out.push(&obj);
        }
        Ok(out.into())
    }
}
