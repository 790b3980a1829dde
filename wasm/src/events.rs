//! What a room reports to its JavaScript listener (`RoomEvent` in TypeScript).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::errors::coded_error;
use crate::transport::Inner;
use crate::{ConnectionState, SaveState};

/// The name a connection state has in JavaScript: y-websocket's words where they
/// apply (`disconnected`, `connecting`, `connected` for an open socket still
/// syncing), Confab's own for the rest (`synced`, `reconnecting`).
pub(crate) fn status_name(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Offline => "disconnected",
        ConnectionState::Connecting => "connecting",
        ConnectionState::Syncing => "connected",
        ConnectionState::Synced => "synced",
        ConnectionState::Reconnecting => "reconnecting",
    }
}

/// One event for the listener.
pub(crate) enum Event {
    /// The connection's status changed; `close` is the socket's close code and reason.
    Status {
        state: ConnectionState,
        close: Option<(u16, String)>,
    },
    /// The document changed, by a local edit or a remote one.
    Change(&'static str),
    /// Someone's presence changed.
    Presence,
    /// Something went wrong outside any call: a stable code and the reason.
    Error { code: &'static str, message: String },
    /// A conflict was raised, handed to an agent or resolved.
    Conflict(JsValue),
    /// The room said who this connection is.
    Session(JsValue),
    /// The count of local edits the room has not stored changed, and so where saving
    /// stands.
    Saved(usize, SaveState),
    /// An entry of the room's live feed.
    Feed(JsValue),
    /// The room refused the token for being expired.
    TokenExpired(String),
}

impl Event {
    /// An error event.
    pub(crate) fn error(code: &'static str, message: impl Into<String>) -> Event {
        Event::Error {
            code,
            message: message.into(),
        }
    }

    fn to_js(&self) -> JsValue {
        if let Event::Change(origin) = self {
            return change_event(origin);
        }
        let obj = js_sys::Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&obj, &JsValue::from_str(k), &v);
        };
        match self {
            Event::Status { state, close } => {
                set("type", "status".into());
                set("status", status_name(*state).into());
                if let Some((code, reason)) = close {
                    set("code", JsValue::from(*code));
                    set("reason", reason.as_str().into());
                }
            }
            Event::Change(_) => {} // answered above
            Event::Presence => set("type", "presence".into()),
            Event::Error { code, message } => {
                set("type", "error".into());
                set("error", coded_error(code, message));
            }
            Event::Session(info) => {
                set("type", "session".into());
                set("session", info.clone());
            }
            Event::Saved(n, state) => {
                set("type", "saved".into());
                set("unacked", JsValue::from(*n as u32));
                set("saveState", state.as_str().into());
            }
            Event::Feed(event) => {
                set("type", "feed".into());
                set("event", event.clone());
            }
            Event::TokenExpired(reason) => {
                set("type", "token-expired".into());
                set("reason", reason.as_str().into());
            }
            Event::Conflict(notice) => {
                set("type", "conflict".into());
                for key in ["kind", "needsInput", "conflict"] {
                    let value = Reflect::get(notice, &JsValue::from_str(key)).unwrap_or_default();
                    set(key, value);
                }
            }
        }
        obj.into()
    }
}

thread_local! {
    /// One frozen `{ type: "change", origin }` object per origin: a change event is
    /// sent for every edit, and building it was a tenth of a local edit's cost.
    static CHANGE_EVENTS: RefCell<Vec<(&'static str, JsValue)>> = const { RefCell::new(Vec::new()) };
}

fn change_event(origin: &'static str) -> JsValue {
    CHANGE_EVENTS.with(|cache| {
        if let Some((_, event)) = cache.borrow().iter().find(|(o, _)| *o == origin) {
            return event.clone();
        }
        let obj = js_sys::Object::new();
        let _ = Reflect::set(&obj, &"type".into(), &"change".into());
        let _ = Reflect::set(&obj, &"origin".into(), &origin.into());
        let event: JsValue = js_sys::Object::freeze(&obj).into();
        cache.borrow_mut().push((origin, event.clone()));
        event
    })
}

/// Hand `events` to the listener, in order (outside any borrow of the room).
pub(crate) fn emit(inner: &Rc<RefCell<Inner>>, events: Vec<Event>) {
    if events.is_empty() {
        return;
    }
    let listener = inner.borrow().listener.clone();
    if let Some(listener) = listener {
        for event in events {
            let _ = listener.call1(&JsValue::NULL, &event.to_js());
        }
    }
}
