//! Every error that reaches JavaScript: an `Error` with a stable `code` a program can
//! branch on, and the reason (core's message, with the offending values). The npm
//! package turns each into a `ConfabError`; its `ConfabErrorCode` lists the codes.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

/// The stable code of one of core's errors: core decides it.
fn core_code(err: &confab_core::Error) -> &'static str {
    err.code()
}

/// One of core's errors as a coded JavaScript `Error` (a `RangeError` for offsets).
pub(crate) fn js_error(err: confab_core::Error) -> JsValue {
    let code = core_code(&err);
    if code == "out_of_range" {
        with_code(js_sys::RangeError::new(&err.to_string()).into(), code)
    } else {
        coded_error(code, &err.to_string())
    }
}

/// The code an error event carries for one of core's errors.
pub(crate) fn code_of(err: &confab_core::Error) -> &'static str {
    core_code(err)
}

/// A bad argument from JavaScript (a wrong shape, an unknown name): a `TypeError`.
pub(crate) fn type_error(message: &str) -> JsValue {
    with_code(js_sys::TypeError::new(message).into(), "invalid_argument")
}

/// An `Error` carrying a stable `code` a program can branch on, and the reason.
pub(crate) fn coded_error(code: &str, message: &str) -> JsValue {
    with_code(js_sys::Error::new(message).into(), code)
}

fn with_code(err: JsValue, code: &str) -> JsValue {
    let _ = Reflect::set(&err, &"code".into(), &code.into());
    err
}

/// A Rust value as a plain JavaScript value (objects, not maps).
pub(crate) fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value
        .serialize(&serializer)
        .map_err(|e| coded_error("internal", &e.to_string()))
}
