//! History: named versions, diffs between them, restore, and blame.

use wasm_bindgen::prelude::*;

use super::Room;
use crate::errors::{js_error, to_js};

#[wasm_bindgen]
impl Room {
    /// Name the room's current state as a version (a checkpoint); returns its id.
    #[wasm_bindgen(js_name = createVersion)]
    pub fn create_version(&self, name: &str) -> Result<String, JsValue> {
        self.edit(|s, now| s.create_version(name, now))
    }

    /// Every named version, oldest first.
    #[wasm_bindgen(unchecked_return_type = "VersionInfo[]")]
    pub fn versions(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.doc().versions())
    }

    /// A document's text as it was at a version.
    #[wasm_bindgen(js_name = documentAt)]
    pub fn document_at(&self, version: &str, document: &str) -> Result<String, JsValue> {
        self.inner
            .borrow_mut()
            .session
            .doc_mut()
            .document_at(version, document)
            .map_err(js_error)
    }

    /// How a document changed from version `from` (the beginning when omitted) to `to`
    /// (now when omitted), span by span, with who wrote each span.
    #[wasm_bindgen(js_name = diffVersions, unchecked_return_type = "DiffSpan[]")]
    pub fn diff_versions(
        &self,
        document: &str,
        from: Option<String>,
        to: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let spans = self
            .inner
            .borrow_mut()
            .session
            .doc_mut()
            .diff_versions(document, from.as_deref(), to.as_deref())
            .map_err(js_error)?;
        to_js(&spans)
    }

    /// Bring every document back to a version, as a new change attributed to you.
    /// Returns the ids of the documents that changed.
    #[wasm_bindgen(js_name = restoreVersion)]
    pub fn restore_version(&self, version: &str) -> Result<Vec<String>, JsValue> {
        self.edit(|s, _| s.doc_mut().restore_version(version))
    }

    /// Who wrote each stretch of a document's current text between `start` and `end`
    /// (the whole text when omitted).
    #[wasm_bindgen(unchecked_return_type = "BlameSpan[]")]
    pub fn blame(
        &self,
        document: &str,
        start: Option<u32>,
        end: Option<u32>,
    ) -> Result<JsValue, JsValue> {
        let mut inner = self.inner.borrow_mut();
        let doc = inner.session.doc_mut();
        let len = doc
            .document_text(document)
            .map_err(js_error)?
            .encode_utf16()
            .count() as u32;
        let spans = doc
            .blame(document, start.unwrap_or(0), end.unwrap_or(len))
            .map_err(js_error)?;
        to_js(&spans)
    }

    /// Who a CRDT client id acts for (every change carries one).
    #[wasm_bindgen(js_name = participantForClient, unchecked_return_type = "ParticipantInfo | null")]
    pub fn participant_for_client(&self, client: f64) -> Result<JsValue, JsValue> {
        to_js(
            &self
                .inner
                .borrow()
                .session
                .doc()
                .participant_for_client(client as u64),
        )
    }
}
