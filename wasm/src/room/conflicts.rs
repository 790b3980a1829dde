//! Conflicts: list them and resolve them.

use wasm_bindgen::prelude::*;

use super::Room;
use crate::errors::{to_js, type_error};
use crate::Choice;

#[wasm_bindgen]
impl Room {
    /// Every conflict in the room, oldest first.
    #[wasm_bindgen(unchecked_return_type = "Conflict[]")]
    pub fn conflicts(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow_mut().session.conflicts())
    }

    /// Resolve a conflict: keep `mine`, `theirs`, a `side` by number, `both`, a
    /// `manual` merge (`text`), ask an `agent`, or accept its `proposal`.
    #[wasm_bindgen(js_name = resolveConflict)]
    pub fn resolve_conflict(
        &self,
        id: &str,
        #[wasm_bindgen(unchecked_param_type = "ConflictChoice")] choice: &str,
        side: Option<u32>,
        text: Option<String>,
    ) -> Result<(), JsValue> {
        let choice = Choice::parse(choice).ok_or_else(|| {
            type_error(&format!(
                "unknown choice `{choice}`: use mine, theirs, side, both, manual, agent or proposal"
            ))
        })?;
        self.edit(|s, now| {
            s.resolve_conflict(id, choice, side.map(|n| n as usize), text.as_deref(), now)
        })
    }

    /// Propose `text` as the merge of a conflict, with a one-paragraph `rationale`: held
    /// until a person accepts it (choice `proposal`) or rejects it.
    #[wasm_bindgen(js_name = proposeMerge)]
    pub fn propose_merge(&self, id: &str, text: &str, rationale: &str) -> Result<(), JsValue> {
        self.edit(|s, now| s.propose_merge(id, text, rationale, now))
    }

    /// Turn down the merge proposed for a conflict: it is open again.
    #[wasm_bindgen(js_name = rejectProposal)]
    pub fn reject_proposal(&self, id: &str) -> Result<(), JsValue> {
        self.edit(|s, now| s.reject_proposal(id, now))
    }
}
