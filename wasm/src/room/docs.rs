//! Shared documents: text edits by range or whole text, based writes, titles, and how
//! concurrent and stale writes are treated.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use super::Room;
use crate::errors::{js_error, to_js, type_error};
use crate::events::{emit, Event};
use crate::{Granularity, StalePolicy};

#[wasm_bindgen]
impl Room {
    /// Create a shared document; returns its id.
    #[wasm_bindgen(js_name = createDocument)]
    pub fn create_document(&self, title: &str, id: Option<String>) -> Result<String, JsValue> {
        self.edit(|s, now| s.doc_mut().create_document(id.as_deref(), title, now))
    }

    /// Create the document `id` unless it exists (arguments in `createDocument`'s order:
    /// title, then id).
    #[wasm_bindgen(js_name = ensureDocument)]
    pub fn ensure_document(&self, title: &str, id: &str) -> Result<(), JsValue> {
        self.edit(|s, now| s.doc_mut().ensure_document(id, title, now))
    }

    /// Every shared document, oldest first.
    #[wasm_bindgen(unchecked_return_type = "DocumentInfo[]")]
    pub fn documents(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.doc().documents())
    }

    /// A document's text.
    #[wasm_bindgen(js_name = documentText)]
    pub fn document_text(&self, id: &str) -> Result<String, JsValue> {
        self.inner
            .borrow()
            .session
            .doc()
            .document_text(id)
            .map_err(js_error)
    }

    /// The text of root `name` as stock Yjs reads it (`Y.Doc.getText(name)`): for a
    /// document imported with `applyUpdate` from a plain Yjs app.
    #[wasm_bindgen(js_name = rootText)]
    pub fn root_text(&self, name: &str) -> Result<String, JsValue> {
        self.inner
            .borrow()
            .session
            .doc()
            .root_text(name)
            .map_err(js_error)
    }

    /// Rename a document (concurrent renames are kept as a conflict).
    #[wasm_bindgen(js_name = setDocumentTitle)]
    pub fn set_document_title(&self, id: &str, title: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.doc_mut().set_document_title(id, title))
    }

    /// Insert `text` at UTF-16 offset `index` (JavaScript string indices).
    #[wasm_bindgen(js_name = insertText)]
    pub fn insert_text(&self, id: &str, index: u32, text: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.doc_mut().insert_text(id, index, text))
    }

    /// Delete `length` UTF-16 code units at `index`.
    #[wasm_bindgen(js_name = deleteText)]
    pub fn delete_text(&self, id: &str, index: u32, length: u32) -> Result<(), JsValue> {
        self.edit(|s, _| s.doc_mut().delete_text(id, index, length))
    }

    /// Replace a document's whole text with `next` by the smallest single edit (core
    /// keeps the common prefix and suffix): what a `<textarea>` binding needs.
    #[wasm_bindgen(js_name = setText)]
    pub fn set_text(&self, id: &str, next: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.doc_mut().set_text(id, next))
    }

    /// Take back this person's last step in document `id` (their own edits only: what
    /// others wrote stays), as a new change; `null` when there is nothing to undo.
    #[wasm_bindgen(unchecked_return_type = "Undone | null")]
    pub fn undo(&self, id: &str) -> Result<JsValue, JsValue> {
        let done = self.edit(|s, _| s.doc_mut().undo(id))?;
        done.map_or(Ok(JsValue::NULL), |d| to_js(&d))
    }

    /// Make again the step `undo` last took back in document `id`; `null` when there
    /// is nothing to redo.
    #[wasm_bindgen(unchecked_return_type = "Undone | null")]
    pub fn redo(&self, id: &str) -> Result<JsValue, JsValue> {
        let done = self.edit(|s, _| s.doc_mut().redo(id))?;
        done.map_or(Ok(JsValue::NULL), |d| to_js(&d))
    }

    /// Which documents agent turn `turn` changed, and who reverted it already.
    #[wasm_bindgen(js_name = turnEdits, unchecked_return_type = "TurnEdits")]
    pub fn turn_edits(&self, turn: &str) -> Result<JsValue, JsValue> {
        let edits = self
            .inner
            .borrow_mut()
            .session
            .doc_mut()
            .turn_edits(turn)
            .map_err(js_error)?;
        to_js(&edits)
    }

    /// This person's undo history, as bytes to keep across a reload.
    #[wasm_bindgen(js_name = encodeUndoHistory)]
    pub fn encode_undo_history(&self) -> Vec<u8> {
        let inner = self.inner.borrow();
        let me = inner.session.me().id.clone();
        inner.session.doc().encode_undo_history(&me)
    }

    /// Take in a history `encodeUndoHistory` wrote (under the steps kept since): false
    /// when it is someone else's, or undo tracking is off.
    #[wasm_bindgen(js_name = loadUndoHistory)]
    pub fn load_undo_history(&self, kept: &[u8]) -> Result<bool, JsValue> {
        let mut inner = self.inner.borrow_mut();
        let me = inner.session.me().id.clone();
        inner
            .session
            .doc_mut()
            .load_undo_history(kept, &me)
            .map_err(js_error)
    }

    /// Whether `undo` has a step to take back in document `id`.
    #[wasm_bindgen(js_name = canUndo)]
    pub fn can_undo(&self, id: &str) -> bool {
        self.inner.borrow().session.doc().can_undo(id)
    }

    /// Whether `redo` has a step to make again in document `id`.
    #[wasm_bindgen(js_name = canRedo)]
    pub fn can_redo(&self, id: &str) -> bool {
        self.inner.borrow().session.doc().can_redo(id)
    }

    /// End the current undo step in document `id`: the next edit starts a new one
    /// (an editor calls this when the caret jumps elsewhere).
    #[wasm_bindgen(js_name = stopCapturing)]
    pub fn stop_capturing(&self, id: &str) {
        self.inner.borrow_mut().session.doc_mut().stop_capturing(id);
    }

    /// Replace `length` UTF-16 code units at `index` with `text`, as one change.
    #[wasm_bindgen(js_name = replaceRange)]
    pub fn replace_range(
        &self,
        id: &str,
        index: u32,
        length: u32,
        text: &str,
    ) -> Result<(), JsValue> {
        self.edit(|s, _| s.doc_mut().replace_text(id, index, length, text))
    }

    /// A document's text and the version it was read at, to declare as the base of a
    /// later `writeBased`.
    #[wasm_bindgen(js_name = readDocument, unchecked_return_type = "DocumentRead")]
    pub fn read_document(&self, id: &str) -> Result<JsValue, JsValue> {
        let read = self
            .inner
            .borrow()
            .session
            .doc()
            .read_document(id)
            .map_err(js_error)?;
        let obj = js_sys::Object::new();
        Reflect::set(&obj, &"text".into(), &read.text.as_str().into())?;
        Reflect::set(
            &obj,
            &"base".into(),
            &Uint8Array::from(read.base.as_slice()),
        )?;
        Ok(obj.into())
    }

    /// Replace `start..end` of the text as read at `base` with `text`. If others
    /// changed that range since, the write is held for a person to decide or applied with a
    /// conflict record, by the document's stale policy.
    #[wasm_bindgen(js_name = writeBased, unchecked_return_type = "BasedWrite")]
    pub fn write_based(
        &self,
        id: &str,
        start: u32,
        end: u32,
        text: &str,
        base: &[u8],
    ) -> Result<JsValue, JsValue> {
        let out = self.edit(|s, now| s.write_based(id, start, end, text, base, now))?;
        to_js(&out)
    }

    /// Suggest replacing `start..end` of a document (as it is now) with `text`, with a
    /// `note` for the reviewer: held until a person accepts or rejects it. Returns the
    /// suggestion's id (a conflict of kind `suggestion`).
    #[wasm_bindgen(js_name = suggestEdit)]
    pub fn suggest_edit(
        &self,
        id: &str,
        start: u32,
        end: u32,
        text: &str,
        note: &str,
    ) -> Result<String, JsValue> {
        self.edit(|s, now| s.suggest_edit(id, start, end, text, note, now))
    }

    /// The whole room as one Yjs v1 update (what `Y.encodeStateAsUpdate` gives).
    #[wasm_bindgen(js_name = encodeState)]
    pub fn encode_state(&self) -> Vec<u8> {
        self.inner.borrow().session.encode_state()
    }

    /// Apply a Yjs v1 update (from `encodeState`, a stock Yjs document, a backup) as this
    /// client's change: merged here and sent to the room.
    #[wasm_bindgen(js_name = applyUpdate)]
    pub fn apply_update(&self, update: &[u8]) -> Result<(), JsValue> {
        self.edit(|s, _| s.apply_update(update))
    }

    /// Take in a state this device kept of the room (`encodeState` from an earlier
    /// session) as the room's own, not as a change: the next handshake sends the room
    /// whatever of it the room lacks (edits made offline before a reload).
    #[wasm_bindgen(js_name = loadStored)]
    pub fn load_stored(&self, update: &[u8]) -> Result<(), JsValue> {
        let changed = {
            let mut inner = self.inner.borrow_mut();
            let before = inner.session.doc_version();
            inner.session.load_stored(update).map_err(js_error)?;
            inner.session.doc_version() != before
        };
        if changed {
            emit(&self.inner, vec![Event::Change("remote")]);
        }
        Ok(())
    }

    /// Apply a change a local replica (the Yjs bridge's `Y.Doc`) made under its own
    /// client id `client`, as this participant's edit: attributed, checked for
    /// conflicts, and sent to the room.
    #[wasm_bindgen(js_name = applyBridged)]
    pub fn apply_bridged(&self, update: &[u8], client: f64) -> Result<(), JsValue> {
        if !((1.0..=9_007_199_254_740_991.0).contains(&client) && client.fract() == 0.0) {
            return Err(type_error(&format!(
                "a client id is a positive integer; got {client}"
            )));
        }
        self.edit(|s, _| s.apply_bridged(update, client as u64))
    }

    /// Start (`true`) or stop keeping every change this client did not get through
    /// `applyBridged`, local and remote, for `takeMirrored`.
    #[wasm_bindgen(js_name = setMirroring)]
    pub fn set_mirroring(&self, on: bool) {
        self.inner.borrow_mut().session.set_mirroring(on);
    }

    /// The changes kept since the last call, oldest first, as Yjs v1 updates.
    #[wasm_bindgen(js_name = takeMirrored, unchecked_return_type = "Uint8Array[]")]
    pub fn take_mirrored(&self) -> js_sys::Array {
        self.inner
            .borrow_mut()
            .session
            .take_mirrored()
            .into_iter()
            .map(|u| JsValue::from(Uint8Array::from(u.as_slice())))
            .collect()
    }

    /// Set how close concurrent changes to a document must be to conflict.
    #[wasm_bindgen(js_name = setGranularity)]
    pub fn set_granularity(
        &self,
        id: &str,
        #[wasm_bindgen(unchecked_param_type = "Granularity")] granularity: &str,
    ) -> Result<(), JsValue> {
        let g = Granularity::parse(granularity).ok_or_else(|| {
            type_error(&format!(
                "unknown granularity `{granularity}`: use char, word or line"
            ))
        })?;
        self.edit(|s, _| s.doc_mut().set_granularity(id, g))
    }

    /// Set what a stale write to a document does.
    #[wasm_bindgen(js_name = setStalePolicy)]
    pub fn set_stale_policy(
        &self,
        id: &str,
        #[wasm_bindgen(unchecked_param_type = "StalePolicy")] policy: &str,
    ) -> Result<(), JsValue> {
        let p = StalePolicy::parse(policy).ok_or_else(|| {
            type_error(&format!(
                "unknown stale policy `{policy}`: use hold or apply"
            ))
        })?;
        self.edit(|s, _| s.doc_mut().set_stale_policy(id, p))
    }

    /// Take back everything agent turn `turn` wrote, in every document it touched, as
    /// this person's change (one undo step per document). Where someone edited inside
    /// the turn's text since, that stretch stays and is raised as a suggestion.
    #[wasm_bindgen(js_name = revertTurn, unchecked_return_type = "TurnRevert")]
    pub fn revert_turn(&self, turn: &str) -> Result<JsValue, JsValue> {
        let done = self.edit(|s, _| {
            let me = s.me().clone();
            s.doc_mut().revert_turn(turn, &me)
        })?;
        to_js(&done)
    }

    /// Agents: attribute the next edits to a turn (and model); call with no arguments
    /// to stop.
    #[wasm_bindgen(js_name = actFor)]
    pub fn act_for(&self, turn: Option<String>, model: Option<String>) {
        self.inner
            .borrow_mut()
            .session
            .doc_mut()
            .act_for(turn.as_deref(), model.as_deref());
    }
}
