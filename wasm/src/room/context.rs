//! The AI context: shared entries, private ones, announcements, questions and handoffs.

use wasm_bindgen::prelude::*;

use super::Room;
use crate::errors::{js_error, to_js};
use crate::options::ContextDraftInput;
use crate::transport::now_ms;
use crate::ContextEventKind;

#[wasm_bindgen]
impl Room {
    /// The room's shared AI context, with staleness worked out now.
    #[wasm_bindgen(js_name = sharedContext, unchecked_return_type = "ContextEntry[]")]
    pub fn shared_context(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.doc().context_entries())
    }

    /// Propose an entry to the shared context (it lands `proposed`); returns its id.
    #[wasm_bindgen(js_name = proposeContext)]
    pub fn propose_context(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ContextDraft")] draft: JsValue,
    ) -> Result<String, JsValue> {
        let draft = ContextDraftInput::parse(draft)?;
        self.edit(|s, now| s.propose_context(&draft, now))
    }

    /// Accept (or re-confirm) a shared entry, as the context owner.
    #[wasm_bindgen(js_name = acceptContext)]
    pub fn accept_context(&self, id: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.accept_context(id))
    }

    /// Retire a shared entry, as the context owner.
    #[wasm_bindgen(js_name = retireContext)]
    pub fn retire_context(&self, id: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.retire_context(id))
    }

    /// Change a shared context entry's text.
    #[wasm_bindgen(js_name = editContext)]
    pub fn edit_context(&self, id: &str, text: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.doc_mut().edit_context(id, text))
    }

    /// The context owner's user id, if one is named.
    #[wasm_bindgen(js_name = contextOwner)]
    pub fn context_owner(&self) -> Option<String> {
        self.inner.borrow().session.doc().context_owner()
    }

    /// Hand the context-owner role to another user (only the owner may; anyone while
    /// none is named).
    #[wasm_bindgen(js_name = setContextOwner)]
    pub fn set_context_owner(&self, user: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.set_context_owner(user))
    }

    /// Add an entry to your private context: it stays in this client, never in the room.
    #[wasm_bindgen(js_name = addPrivateContext)]
    pub fn add_private_context(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ContextDraft")] draft: JsValue,
    ) -> Result<String, JsValue> {
        let draft = ContextDraftInput::parse(draft)?;
        let mut inner = self.inner.borrow_mut();
        inner
            .session
            .add_private_context(draft, now_ms())
            .map_err(js_error)
    }

    /// Your private context.
    #[wasm_bindgen(js_name = privateContext, unchecked_return_type = "ContextEntry[]")]
    pub fn private_context(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.private_context())
    }

    /// Drop a private entry.
    #[wasm_bindgen(js_name = removePrivateContext)]
    pub fn remove_private_context(&self, id: &str) -> Result<(), JsValue> {
        self.inner
            .borrow_mut()
            .session
            .remove_private_context(id)
            .map_err(js_error)
    }

    /// Share a private entry with the room, attributed to you; it lands `proposed`.
    #[wasm_bindgen(js_name = sharePrivateContext)]
    pub fn share_private_context(&self, id: &str) -> Result<String, JsValue> {
        self.edit(|s, now| s.share_private_context(id, now))
    }

    /// Shared and private entries relevant to these tags and refs, best first.
    #[wasm_bindgen(js_name = relevantContext, unchecked_return_type = "ContextEntry[]")]
    pub fn relevant_context(
        &self,
        tags: Vec<String>,
        refs: Vec<String>,
    ) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.relevant_context(&tags, &refs))
    }

    /// Make an announcement; returns its id.
    pub fn announce(&self, text: &str) -> Result<String, JsValue> {
        self.edit(|s, now| s.raise_context_event(ContextEventKind::Announcement, text, None, now))
    }

    /// Ask the team a question; returns its id.
    pub fn ask(&self, text: &str) -> Result<String, JsValue> {
        self.edit(|s, now| s.raise_context_event(ContextEventKind::Question, text, None, now))
    }

    /// Raise an insight (a finding, a risk) for the people in the room; returns its id.
    #[wasm_bindgen(js_name = raiseInsight)]
    pub fn raise_insight(&self, text: &str) -> Result<String, JsValue> {
        self.edit(|s, now| s.raise_context_event(ContextEventKind::Insight, text, None, now))
    }

    /// Answer a question.
    #[wasm_bindgen(js_name = answerQuestion)]
    pub fn answer_question(&self, id: &str, answer: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.doc_mut().answer_question(id, answer))
    }

    /// Hand work to someone (a user id); returns the event's id.
    pub fn handoff(&self, to: &str, text: &str) -> Result<String, JsValue> {
        self.edit(|s, now| s.raise_context_event(ContextEventKind::Handoff, text, Some(to), now))
    }

    /// Announcements, questions and handoffs, oldest first.
    #[wasm_bindgen(js_name = contextEvents, unchecked_return_type = "ContextEvent[]")]
    pub fn context_events(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.doc().context_events())
    }

    /// Decisions, open questions, work in progress and who holds it, handoffs — derived
    /// from the room, the same on every replica.
    #[wasm_bindgen(js_name = handoffSummary, unchecked_return_type = "HandoffSummary")]
    pub fn handoff_summary(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.handoff_summary())
    }

    /// The handoff summary as Markdown.
    #[wasm_bindgen(js_name = handoffMarkdown)]
    pub fn handoff_markdown(&self) -> String {
        self.inner.borrow().session.handoff_summary().to_markdown()
    }
}
