//! [`Room`]: its constructor, the connection's lifecycle (connect, disconnect,
//! destroy, token), requests to the room's authority, and the gates every local edit
//! passes. The features' methods are in this folder's other files.

mod chat;
mod comments;
mod conflicts;
mod context;
mod docs;
mod files;
mod history;
mod presence;
mod views;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::errors::{code_of, coded_error, js_error, type_error};
use crate::events::{emit, status_name, Event};
use crate::options::PlainOptions;
use crate::transport::{
    clear_timeout, now_ms, open_socket, schedule_conflict_check, set_interval, tick, with_token,
    Inner,
};
use crate::{Backoff, CloseCode, Heartbeat, Participant, ParticipantKind, Reconnect, Session};
use confab_core::client::connection::MIN_DEAD_AFTER_MS;

#[wasm_bindgen]
impl Room {
    /// Create a room client (offline until `connect()`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "RoomOptions")] options: JsValue,
    ) -> Result<Room, JsValue> {
        let plain: PlainOptions = serde_wasm_bindgen::from_value(options.clone())
            .map_err(|e| type_error(&format!("invalid room options: {e}")))?;
        if plain.room.is_empty() {
            return Err(type_error("invalid room options: `room` must not be empty"));
        }
        let kind = match plain.user.kind.as_deref() {
            None => ParticipantKind::Person,
            Some(k) => ParticipantKind::parse(k).ok_or_else(|| {
                type_error(&format!(
                    "invalid room options: user.kind must be \"person\" or \"agent\", got {k:?}"
                ))
            })?,
        };
        let me = Participant {
            id: plain.user.id,
            name: plain.user.name,
            kind,
        };
        let ws_ctor = Reflect::get(&options, &JsValue::from_str("WebSocket"))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
            .or_else(|| Reflect::get(&js_sys::global(), &JsValue::from_str("WebSocket")).ok())
            .and_then(|v| v.dyn_into::<Function>().ok());
        let client_id = match plain.client_id {
            Some(id) if (0.0..9_007_199_254_740_992.0).contains(&id) && id.fract() == 0.0 => {
                id as u64
            }
            Some(id) => {
                return Err(type_error(&format!(
                    "invalid room options: clientId must be a safe non-negative integer, got {id}"
                )))
            }
            None => (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64,
        };
        // A name the room server would refuse is refused here, at once and with its
        // reason (retrying could never connect).
        confab_core::authority::rest::check_room_name(&plain.room).map_err(|reason| {
            coded_error("invalid_room", &format!("invalid room name: {reason}"))
        })?;
        let base = plain.url.trim_end_matches('/');
        let base_url = format!(
            "{base}/{}?protocol=confab",
            String::from(js_sys::encode_uri_component(&plain.room))
        );
        // Without a token (development mode) a guest names itself: the room knows it
        // by name, unverified.
        let url = match plain.token.as_deref() {
            Some(t) if !t.is_empty() => with_token(&base_url, Some(t)),
            _ if plain.guest => format!(
                "{base_url}{}",
                confab_core::authority::guest::guest_query(&me)
            ),
            _ => base_url.clone(),
        };
        let heartbeat = match plain.heartbeat_timeout_ms {
            None => Heartbeat::default(),
            Some(ms)
                if ms.is_finite() && ms >= f64::from(MIN_DEAD_AFTER_MS) && ms <= f64::from(u32::MAX) =>
            {
                Heartbeat::dead_after(ms as u32)
            }
            Some(ms) => {
                return Err(type_error(&format!(
                    "invalid room options: heartbeatTimeoutMs must be at least {MIN_DEAD_AFTER_MS} (ms), got {ms}"
                )))
            }
        };
        Ok(Room {
            inner: Rc::new(RefCell::new(Inner {
                session: Session::new(client_id, me, now_ms()),
                url,
                ws_ctor,
                socket: None,
                handlers: None,
                generation: 0,
                conn: Reconnect::new(Backoff::default(), heartbeat),
                retry_timer: None,
                watchdog_timer: None,
                tick_timer: None,
                tick_closure: None,
                turn_timer: None,
                conflict_timer: None,
                listener: None,
                base_url,
                token: plain.token,
                role: None,
                requests: std::collections::HashMap::new(),
                next_request: 0,
            })),
        })
    }

    /// Receive every event (`status`, `change`, `presence`, `error`) in one callback.
    #[wasm_bindgen(js_name = setListener)]
    pub fn set_listener(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((event: RoomEvent) => void) | null")]
        listener: Option<Function>,
    ) {
        self.inner.borrow_mut().listener = listener;
    }

    /// Connect (and keep reconnecting with backoff until `disconnect()`).
    pub fn connect(&self) {
        {
            let mut inner = self.inner.borrow_mut();
            if !inner.conn.connect() {
                return;
            }
            if inner.tick_timer.is_none() {
                let weak = Rc::downgrade(&self.inner);
                let tick = Closure::<dyn FnMut()>::new(move || {
                    if let Some(rc) = weak.upgrade() {
                        tick(&rc);
                    }
                });
                let every = inner.conn.heartbeat().check_every_ms();
                let handle = set_interval(tick.as_ref(), every as i32);
                // In Node, do not keep the process alive just for presence upkeep.
                if let Ok(unref) = Reflect::get(&handle, &JsValue::from_str("unref")) {
                    if let Some(unref) = unref.dyn_ref::<Function>() {
                        let _ = unref.call0(&handle);
                    }
                }
                inner.tick_timer = Some(handle);
                inner.tick_closure = Some(tick);
            }
        }
        open_socket(&self.inner);
    }

    /// Leave the room: announce departure, close the socket and stop reconnecting.
    /// Local edits keep working and are sent on the next `connect()`.
    pub fn disconnect(&self) {
        let mut events = Vec::new();
        {
            let mut inner = self.inner.borrow_mut();
            if let Some(t) = inner.turn_timer.take() {
                clear_timeout(&t);
            }
            if let Some(t) = inner.conflict_timer.take() {
                clear_timeout(&t);
            }
            // Buffered turn text goes out before we leave.
            if let Err(e) = inner.session.flush_turns() {
                events.push(Event::error(code_of(&e), e.to_string()));
            }
            inner.flush();
            let offline = inner.conn.disconnect();
            inner.cancel_retry();
            inner.stop_ticking();
            let bye = inner.session.leave();
            inner.send(bye);
            if let Some(ws) = inner.drop_socket(
                "disconnected",
                "the client disconnected before the room answered",
            ) {
                let _ =
                    ws.close_with_code_and_reason(CloseCode::Normal.code(), "client disconnected");
            }
            inner.session.disconnected();
            Inner::report(offline, &mut events);
            events.push(Event::Presence);
        }
        emit(&self.inner, events);
    }

    /// Disconnect and release every timer and callback. Requests still waiting reject
    /// with `code` `"destroyed"`. Safe to call twice.
    pub fn destroy(&self) {
        self.inner.borrow_mut().reject_requests(
            "destroyed",
            "the room was destroyed before the room answered",
        );
        self.disconnect();
        self.inner.borrow_mut().listener = None;
    }

    /// `disconnected`, `connecting`, `connected` (open, syncing), `synced` or
    /// `reconnecting`.
    #[wasm_bindgen(getter, unchecked_return_type = "ConnectionStatus")]
    pub fn status(&self) -> String {
        status_name(self.inner.borrow().conn.state()).to_owned()
    }

    /// True once the room's state has been merged on the current connection.
    #[wasm_bindgen(getter)]
    pub fn synced(&self) -> bool {
        self.inner.borrow().session.is_synced()
    }

    /// The URL this room connects to.
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.inner.borrow().url.clone()
    }

    /// The yrs client id of this client's edits.
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> f64 {
        self.inner.borrow().session.client_id() as f64
    }

    /// The session id the room gave this connection, once greeted.
    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> Option<f64> {
        self.inner
            .borrow()
            .session
            .hello()
            .map(|h| h.session as f64)
    }

    /// Use a fresh token (after a `token-expired` event, or to change identity) and
    /// reconnect with it. Requests sent on the old connection reject with `code`
    /// `"token_changed"`.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&self, token: &str) {
        {
            let mut inner = self.inner.borrow_mut();
            inner.reject_requests(
                "token_changed",
                "the token changed before the room answered; send the request again",
            );
            inner.token = Some(token.to_owned());
            inner.url = with_token(&inner.base_url, Some(token));
        }
        let open = self.inner.borrow().socket.is_some();
        if open {
            open_socket(&self.inner);
        } else {
            self.connect();
        }
    }

    /// Use this token from the next connection on, without touching the current one
    /// (a token is checked when a connection opens): how a token refreshed before it
    /// expires takes over, with nothing pending rejected.
    #[wasm_bindgen(js_name = refreshToken)]
    pub fn refresh_token(&self, token: &str) {
        let mut inner = self.inner.borrow_mut();
        inner.token = Some(token.to_owned());
        inner.url = with_token(&inner.base_url, Some(token));
    }

    /// This connection's role in the room, once the room said it.
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "\"owner\" | \"editor\" | \"reviewer\" | \"viewer\" | undefined"
    )]
    pub fn role(&self) -> Option<String> {
        self.inner.borrow().role.map(|r| r.as_str().to_owned())
    }

    /// True when the room lets this connection read only (viewer) or only react
    /// (reviewer): local edits are refused before they are made.
    #[wasm_bindgen(getter, js_name = readOnly)]
    pub fn read_only(&self) -> bool {
        self.inner.borrow().role.is_some_and(|r| !r.can_edit())
    }

    /// Local updates the room has not stored: sent and unacknowledged, or not yet sent
    /// (made offline or before the room answered). 0 when every local edit is saved.
    #[wasm_bindgen(getter)]
    pub fn unacked(&self) -> u32 {
        self.inner.borrow().session.unacked().0 as u32
    }

    /// Whether the room has stored this client's edits: `saved`, `saving` (on their
    /// way over a live connection) or `unsaved` (kept here until the room is reachable).
    #[wasm_bindgen(getter, js_name = saveState, unchecked_return_type = "SaveState")]
    pub fn save_state(&self) -> String {
        let inner = self.inner.borrow();
        let unacked = inner.session.unsaved_updates();
        inner.conn.save_state(unacked).as_str().to_owned()
    }

    /// Ask the room's authority: `lock.acquire`, `activity.record`, ... (the same
    /// operations as the REST API). Resolves with the result; rejects with an `Error`
    /// whose `code` names the refusal.
    #[wasm_bindgen(unchecked_return_type = "Promise<any>")]
    pub fn request(&self, op: &str, args: JsValue) -> js_sys::Promise {
        let inner = self.inner.clone();
        let op = op.to_owned();
        js_sys::Promise::new(&mut move |resolve, reject| {
            let args: serde_json::Value = if args.is_undefined() || args.is_null() {
                serde_json::Value::Null
            } else {
                match serde_wasm_bindgen::from_value(args.clone()) {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = reject.call1(
                            &JsValue::NULL,
                            &type_error(&format!("request arguments: {e}")),
                        );
                        return;
                    }
                }
            };
            let mut inner = inner.borrow_mut();
            if inner.socket.is_none() || inner.session.hello().is_none() {
                let _ = reject.call1(
                    &JsValue::NULL,
                    &coded_error(
                        "not_connected",
                        &format!("cannot send `{op}`: not connected to the room"),
                    ),
                );
                return;
            }
            inner.next_request += 1;
            let id = inner.next_request;
            inner.requests.insert(id, (resolve, reject));
            let frame = confab_core::protocol::request(id, &op, &args);
            inner.send(vec![frame]);
        })
    }

    fn edit<T>(
        &self,
        f: impl FnOnce(&mut Session, u64) -> confab_core::Result<T>,
    ) -> Result<T, JsValue> {
        let role = self.inner.borrow().role;
        if let Some(role) = role.filter(|r| !r.can_edit()) {
            return Err(coded_error(
                "read_only",
                &format!(
                    "this room is read-only for you (you are a {role}{})",
                    if role.can_react() {
                        "; reviewers may react and vote"
                    } else {
                        ""
                    }
                ),
            ));
        }
        self.edit_unchecked(f)
    }

    /// An edit a reviewer may make too (reactions and votes).
    fn react_edit<T>(
        &self,
        f: impl FnOnce(&mut Session, u64) -> confab_core::Result<T>,
    ) -> Result<T, JsValue> {
        if self.inner.borrow().role.is_some_and(|r| !r.can_react()) {
            return Err(coded_error(
                "read_only",
                "this room is read-only for you (you are a viewer)",
            ));
        }
        self.edit_unchecked(f)
    }

    fn edit_unchecked<T>(
        &self,
        f: impl FnOnce(&mut Session, u64) -> confab_core::Result<T>,
    ) -> Result<T, JsValue> {
        let (result, changed, unsaved) = {
            let mut inner = self.inner.borrow_mut();
            let before = (
                inner.session.doc_version(),
                inner.session.unsaved_updates() == 0,
            );
            let now = now_ms();
            inner.session.note_input(now);
            inner.session.doc_mut().set_time(now);
            let result = f(&mut inner.session, now).map_err(js_error)?;
            let changed = inner.session.doc_version() != before.0;
            inner.flush();
            let unsaved = inner.session.unsaved_updates();
            let saved = (before.1 && unsaved > 0)
                .then(|| Event::Saved(unsaved, inner.conn.save_state(unsaved)));
            (result, changed, saved)
        };
        let mut events = Vec::new();
        if changed {
            events.push(Event::Change("local"));
        }
        if let Some(saved) = unsaved {
            // Saved became unsaved (offline too); acks tell when it is saved again. Not
            // on every edit: that is a JS event per keystroke.
            events.push(saved);
        }
        emit(&self.inner, events);
        if changed {
            schedule_conflict_check(&self.inner);
        }
        Ok(result)
    }
}

/// A live Confab room: one shared document with conversations, messages, documents and
/// presence, kept in sync with the edge.
#[wasm_bindgen]
pub struct Room {
    inner: Rc<RefCell<Inner>>,
}
