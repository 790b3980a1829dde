//! Conversations, messages, agent turns, reactions and branches.

use wasm_bindgen::prelude::*;

use super::Room;
use crate::errors::{js_error, to_js};
use crate::options::{parse_merge_summary, parse_role};
use crate::transport::schedule_turn_flush;
use crate::Role;

#[wasm_bindgen]
impl Room {
    /// Create a conversation; returns its id.
    #[wasm_bindgen(js_name = createConversation)]
    pub fn create_conversation(&self, title: &str, id: Option<String>) -> Result<String, JsValue> {
        self.edit(|s, now| s.create_conversation(id.as_deref(), title, now))
    }

    /// Create the conversation `id` unless it exists (arguments in `createConversation`'s
    /// order: title, then id).
    #[wasm_bindgen(js_name = ensureConversation)]
    pub fn ensure_conversation(&self, title: &str, id: &str) -> Result<(), JsValue> {
        self.edit(|s, now| s.ensure_conversation(id, title, now))
    }

    /// Rename a conversation (concurrent renames are kept as a conflict).
    #[wasm_bindgen(js_name = setConversationTitle)]
    pub fn set_conversation_title(&self, id: &str, title: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.doc_mut().set_conversation_title(id, title))
    }

    /// Every conversation, oldest first.
    #[wasm_bindgen(unchecked_return_type = "ConversationInfo[]")]
    pub fn conversations(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.doc().conversations())
    }

    /// Post a message as this participant; `role` defaults to "user" for people and
    /// "assistant" for agents. Returns its id.
    #[wasm_bindgen(js_name = postMessage)]
    pub fn post_message(
        &self,
        conversation: &str,
        text: &str,
        #[wasm_bindgen(unchecked_param_type = "MessageRole | undefined")] role: Option<String>,
    ) -> Result<String, JsValue> {
        let role = parse_role(
            role.as_deref(),
            Role::default_for(self.inner.borrow().session.me().kind),
        )?;
        self.edit(|s, now| s.post_message(conversation, role, text, now))
    }

    /// The messages of a conversation, in the same order on every replica.
    #[wasm_bindgen(unchecked_return_type = "MessageInfo[]")]
    pub fn messages(&self, conversation: &str) -> Result<JsValue, JsValue> {
        let msgs = self
            .inner
            .borrow()
            .session
            .doc()
            .messages(conversation)
            .map_err(js_error)?;
        to_js(&msgs)
    }

    /// Open an agent turn in `conversation` written by this client; its text streams
    /// in with `appendTurn`. `role` defaults to "assistant". Returns the message id.
    #[wasm_bindgen(js_name = openTurn)]
    pub fn open_turn(
        &self,
        conversation: &str,
        #[wasm_bindgen(unchecked_param_type = "MessageRole | undefined")] role: Option<String>,
    ) -> Result<String, JsValue> {
        let role = parse_role(role.as_deref(), Role::Assistant)?;
        self.edit(|s, now| s.open_turn(conversation, role, now))
    }

    /// Append text to an open turn. Chunks are batched and written about once a frame;
    /// throws when the turn was stopped or closed.
    #[wasm_bindgen(js_name = appendTurn)]
    pub fn append_turn(&self, id: &str, chunk: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.append_turn(id, chunk))?;
        schedule_turn_flush(&self.inner);
        Ok(())
    }

    /// The status of a message (a plain post is `done`).
    #[wasm_bindgen(js_name = turnStatus, unchecked_return_type = "TurnStatus")]
    pub fn turn_status(&self, id: &str) -> Result<String, JsValue> {
        self.inner
            .borrow()
            .session
            .doc()
            .turn_status(id)
            .map(|s| s.as_str().to_owned())
            .map_err(js_error)
    }

    /// Finish an open turn (`done`).
    #[wasm_bindgen(js_name = finishTurn)]
    pub fn finish_turn(&self, id: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.finish_turn(id))
    }

    /// Fail an open turn (`error`) with a reason everyone sees.
    #[wasm_bindgen(js_name = failTurn)]
    pub fn fail_turn(&self, id: &str, reason: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.fail_turn(id, reason))
    }

    /// Ask an open turn to stop (`stopped`); anyone in the room may.
    #[wasm_bindgen(js_name = stopTurn)]
    pub fn stop_turn(&self, id: &str) -> Result<(), JsValue> {
        self.edit(|s, now| s.request_stop(id, now))
    }

    /// React to a message (e.g. "helpful"), as this participant.
    pub fn react(&self, message: &str, kind: &str) -> Result<(), JsValue> {
        self.react_edit(|s, now| s.react(message, kind, now))
    }

    /// Take back this participant's reaction.
    pub fn unreact(&self, message: &str, kind: &str) -> Result<(), JsValue> {
        self.react_edit(|s, _| s.unreact(message, kind))
    }

    /// Fork `parent` at `atMessage`; the branch sees the parent up to that message,
    /// then its own. Returns the branch's conversation id.
    #[wasm_bindgen(js_name = forkConversation)]
    pub fn fork_conversation(
        &self,
        parent: &str,
        at_message: &str,
        title: &str,
    ) -> Result<String, JsValue> {
        self.edit(|s, now| s.fork_conversation(parent, at_message, title, now))
    }

    /// The branches forked from a conversation, with their participants.
    #[wasm_bindgen(unchecked_return_type = "BranchInfo[]")]
    pub fn branches(&self, conversation: &str) -> Result<JsValue, JsValue> {
        let branches = self
            .inner
            .borrow()
            .session
            .doc()
            .branches(conversation)
            .map_err(js_error)?;
        to_js(&branches)
    }

    /// Merge a branch into its parent as an attributed merge record carrying the picked
    /// messages and a structured summary. Returns the record's message id.
    #[wasm_bindgen(js_name = mergeBranch)]
    pub fn merge_branch(
        &self,
        branch: &str,
        picked: Vec<String>,
        #[wasm_bindgen(unchecked_param_type = "MergeSummary")] summary: JsValue,
    ) -> Result<String, JsValue> {
        let summary = parse_merge_summary(summary)?;
        self.edit(|s, now| s.merge_branch(branch, &picked, summary, now))
    }
}
