//! The room's file tree, read from the local replica. The room alone writes it: files
//! change through requests (`file.*`) and uploads over HTTP, which the npm package
//! makes.

use wasm_bindgen::prelude::*;

use super::Room;
use crate::errors::to_js;

#[wasm_bindgen]
impl Room {
    /// The room's file tree, deleted entries included, by path.
    #[wasm_bindgen(unchecked_return_type = "FileEntry[]")]
    pub fn files(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.doc().file_entries())
    }
}
