//! Comment threads on document ranges and chat messages. Reviewers may comment (the
//! room's gate lets them), viewers may not.

use wasm_bindgen::prelude::*;

use super::Room;
use crate::errors::to_js;

#[wasm_bindgen]
impl Room {
    /// Comment on `start..end` (UTF-16) of document `document`; returns the comment's id.
    #[wasm_bindgen(js_name = commentOnRange)]
    pub fn comment_on_range(
        &self,
        document: &str,
        start: u32,
        end: u32,
        text: &str,
    ) -> Result<String, JsValue> {
        self.react_edit(|s, now| s.comment_on_range(document, start, end, text, now))
    }

    /// Start a thread on chat message `message`; returns the comment's id.
    #[wasm_bindgen(js_name = commentOnMessage)]
    pub fn comment_on_message(&self, message: &str, text: &str) -> Result<String, JsValue> {
        self.react_edit(|s, now| s.comment_on_message(message, text, now))
    }

    /// Reply in comment `id`'s thread.
    #[wasm_bindgen(js_name = replyToComment)]
    pub fn reply_to_comment(&self, id: &str, text: &str) -> Result<(), JsValue> {
        self.react_edit(|s, now| s.reply_to_comment(id, text, now))
    }

    /// Resolve comment `id`, or reopen it with `false`.
    #[wasm_bindgen(js_name = resolveComment)]
    pub fn resolve_comment(&self, id: &str, resolved: bool) -> Result<(), JsValue> {
        self.react_edit(|s, now| s.set_comment_resolved(id, resolved, now))
    }

    /// Every comment, oldest first, with each range where it is now.
    #[wasm_bindgen(unchecked_return_type = "CommentInfo[]")]
    pub fn comments(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.doc().comments())
    }
}
