//! Views: what a user looks at, and following one view with a teammate.

use wasm_bindgen::prelude::*;

use super::Room;
use crate::errors::{to_js, type_error};
use crate::ViewPatch;

#[wasm_bindgen]
impl Room {
    /// This user's view (tabs, active tab, layout) and whom they are synced with.
    #[wasm_bindgen(unchecked_return_type = "ViewState")]
    pub fn view(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.view_state())
    }

    /// Change this user's view — the shared one while synced with a teammate.
    #[wasm_bindgen(js_name = setView)]
    pub fn set_view(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ViewPatch")] patch: JsValue,
    ) -> Result<(), JsValue> {
        let patch: ViewPatch = serde_wasm_bindgen::from_value(patch)
            .map_err(|e| type_error(&format!("invalid view change: {e}")))?;
        self.edit(|s, _| s.set_view(&patch))
    }

    /// Online teammates to sync with: other people present in the room.
    #[wasm_bindgen(js_name = syncPartners, unchecked_return_type = "ParticipantInfo[]")]
    pub fn sync_partners(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.sync_partners())
    }

    /// Follow one shared view with `partner` (a user id), starting from this user's view.
    /// Returns the sync's id.
    #[wasm_bindgen(js_name = startSync)]
    pub fn start_sync(&self, partner: &str) -> Result<String, JsValue> {
        self.edit(|s, now| s.start_sync(partner, now))
    }

    /// Stop syncing: each member keeps an independent copy of the shared view.
    #[wasm_bindgen(js_name = stopSync)]
    pub fn stop_sync(&self) -> Result<(), JsValue> {
        self.edit(|s, _| s.stop_sync())
    }
}
