//! The transport: one WebSocket at a time, the connect watchdog, reconnecting with
//! backoff, the presence tick, and the flow of frames between the socket and core's
//! [`Session`]. Whatever drops a socket settles the requests sent on it.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::errors::{code_of, coded_error, to_js};
use crate::events::{emit, Event};
use crate::{
    AccessRole, AfterClose, CloseCode, ConnectionState, Liveness, Next, Reconnect, Session,
};

thread_local! {
    /// A listener that ignores its event, made once and kept for the page's life.
    static IGNORE_EVENT: Function = Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| {})
        .into_js_value()
        .unchecked_into();
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    pub(crate) fn set_timeout(handler: &JsValue, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    pub(crate) fn clear_timeout(handle: &JsValue);
    #[wasm_bindgen(js_name = setInterval)]
    pub(crate) fn set_interval(handler: &JsValue, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearInterval)]
    pub(crate) fn clear_interval(handle: &JsValue);
}

/// How long turn text may wait in the buffer before it is written (about a frame).
const TURN_FLUSH_MS: i32 = 16;
/// How long after a change conflicts are looked for again (changes in between share one look).
const CONFLICT_CHECK_MS: i32 = 60;

pub(crate) fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

pub(crate) struct SocketHandlers {
    _error: Closure<dyn FnMut(JsValue)>,
    _open: Closure<dyn FnMut(JsValue)>,
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut(CloseEvent)>,
}

pub(crate) struct Inner {
    pub(crate) session: Session,
    pub(crate) url: String,
    pub(crate) ws_ctor: Option<Function>,
    pub(crate) socket: Option<WebSocket>,
    pub(crate) handlers: Option<SocketHandlers>,
    pub(crate) generation: u64,
    /// Core's connection state machine: when to open, retry or stay offline.
    pub(crate) conn: Reconnect,
    pub(crate) retry_timer: Option<JsValue>,
    /// The connect watchdog of the socket being opened.
    pub(crate) watchdog_timer: Option<JsValue>,
    pub(crate) tick_timer: Option<JsValue>,
    pub(crate) tick_closure: Option<Closure<dyn FnMut()>>,
    pub(crate) turn_timer: Option<JsValue>,
    pub(crate) conflict_timer: Option<JsValue>,
    pub(crate) listener: Option<Function>,
    /// The URL without a token.
    pub(crate) base_url: String,
    pub(crate) token: Option<String>,
    /// Who the room says this connection is.
    pub(crate) role: Option<AccessRole>,
    /// Requests waiting for an answer: id → (resolve, reject).
    pub(crate) requests: std::collections::HashMap<u64, (Function, Function)>,
    pub(crate) next_request: u64,
}

/// How long a socket may take to open before it is abandoned and retried.
const CONNECT_TIMEOUT_MS: i32 = 5_000;

impl Inner {
    /// Report a state change the machine made.
    pub(crate) fn report(changed: Option<ConnectionState>, events: &mut Vec<Event>) {
        if let Some(state) = changed {
            events.push(Event::Status { state, close: None });
        }
    }

    pub(crate) fn send(&self, frames: Vec<Vec<u8>>) {
        let Some(ws) = &self.socket else { return };
        if ws.ready_state() != WebSocket::OPEN {
            return;
        }
        for frame in frames {
            // Copy into a JS-owned buffer: a view into wasm memory could move under
            // runtimes that queue the send.
            let bytes = Uint8Array::from(frame.as_slice());
            let _ = ws.send_with_array_buffer_view(&bytes);
        }
    }

    /// Where saving stands now, as an event.
    pub(crate) fn saved(&self) -> Event {
        let unacked = self.session.unsaved_updates();
        Event::Saved(unacked, self.conn.save_state(unacked))
    }

    /// Send what local edits queued; drop it when offline (the next handshake carries it).
    pub(crate) fn flush(&mut self) {
        let frames = self.session.drain_outgoing();
        if self.conn.can_send() {
            self.send(frames);
        }
    }

    /// Settle every request still waiting for the room's answer.
    pub(crate) fn reject_requests(&mut self, code: &str, message: &str) {
        for (_, (_, reject)) in self.requests.drain() {
            let _ = reject.call1(&JsValue::NULL, &coded_error(code, message));
        }
    }

    /// Take the socket out of service and reject what was sent on it with `code`.
    pub(crate) fn drop_socket(&mut self, code: &str, message: &str) -> Option<WebSocket> {
        self.reject_requests(code, message);
        self.detach_socket()
    }

    fn detach_socket(&mut self) -> Option<WebSocket> {
        let ws = self.socket.take()?;
        ws.set_onopen(None);
        ws.set_onmessage(None);
        ws.set_onclose(None);
        // Closing a socket that is still connecting raises an error event; with no
        // listener Node's `ws` would throw it. (A compiled no-op, not `new Function`:
        // Workers and pages with a strict Content-Security-Policy allow no eval.)
        IGNORE_EVENT.with(|ignore| ws.set_onerror(Some(ignore)));
        self.handlers = None;
        Some(ws)
    }

    pub(crate) fn cancel_retry(&mut self) {
        if let Some(t) = self.retry_timer.take() {
            clear_timeout(&t);
        }
        self.cancel_watchdog();
    }

    /// Stop the connect watchdog: the socket opened, or is abandoned.
    pub(crate) fn cancel_watchdog(&mut self) {
        if let Some(t) = self.watchdog_timer.take() {
            clear_timeout(&t);
        }
    }

    pub(crate) fn stop_ticking(&mut self) {
        if let Some(t) = self.tick_timer.take() {
            clear_interval(&t);
        }
        self.tick_closure = None;
    }
}

pub(crate) fn open_socket(rc: &Rc<RefCell<Inner>>) {
    let mut events = Vec::new();
    {
        let mut inner = rc.borrow_mut();
        inner.cancel_retry();
        if let Some(old) = inner.drop_socket(
            "connection_lost",
            "the connection was replaced before the room answered",
        ) {
            let _ = old.close();
        }
        inner.generation += 1;
        let generation = inner.generation;
        Inner::report(inner.conn.opening(), &mut events);
        let Some(ctor) = inner.ws_ctor.clone() else {
            events.push(Event::error(
                "no_websocket",
                "no WebSocket in this runtime: pass { WebSocket } (for example from the `ws` package) in the room options",
            ));
            Inner::report(inner.conn.disconnect(), &mut events);
            drop(inner);
            emit(rc, events);
            return;
        };
        let args = js_sys::Array::of1(&JsValue::from_str(&inner.url));
        match Reflect::construct(&ctor, &args) {
            Ok(ws) => {
                let ws: WebSocket = ws.unchecked_into();
                ws.set_binary_type(BinaryType::Arraybuffer);
                let weak = Rc::downgrade(rc);
                let on_open = {
                    let weak = weak.clone();
                    Closure::<dyn FnMut(JsValue)>::new(move |_| socket_opened(&weak, generation))
                };
                let on_message = {
                    let weak = weak.clone();
                    Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                        socket_message(&weak, generation, e.data())
                    })
                };
                let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
                    socket_closed(&weak, generation, e.code(), e.reason())
                });
                // A failed connection also closes; its error is reported there. (Node's
                // `ws` throws an `error` event nobody listens to.)
                let on_error = Closure::<dyn FnMut(JsValue)>::new(|_| {});
                ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
                ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
                ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
                // A socket that never opens (a server that accepted the TCP connection
                // and is not answering yet, during a restart) is abandoned and retried.
                let watchdog = {
                    let weak = Rc::downgrade(rc);
                    Closure::once_into_js(move || {
                        let Some(rc) = weak.upgrade() else { return };
                        rc.borrow_mut().watchdog_timer = None;
                        let stuck = {
                            let inner = rc.borrow();
                            inner.generation == generation
                                && inner.conn.state() == ConnectionState::Connecting
                        };
                        if stuck {
                            let dropped = rc.borrow_mut().drop_socket(
                                "connection_lost",
                                "the connection did not open in time; retrying",
                            );
                            if let Some(ws) = dropped {
                                let _ = ws.close();
                            }
                            schedule_retry(&rc, None);
                        }
                    })
                };
                inner.watchdog_timer = Some(set_timeout(&watchdog, CONNECT_TIMEOUT_MS));
                inner.socket = Some(ws);
                inner.handlers = Some(SocketHandlers {
                    _error: on_error,
                    _open: on_open,
                    _message: on_message,
                    _close: on_close,
                });
            }
            Err(e) => {
                let message = e
                    .dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
                    .unwrap_or_else(|| format!("{e:?}"));
                events.push(Event::error(
                    "socket_failed",
                    format!("could not open a WebSocket to {}: {message}", inner.url),
                ));
                drop(inner);
                emit(rc, events);
                schedule_retry(rc, None);
                return;
            }
        }
    }
    emit(rc, events);
}

/// Periodic upkeep, every [`Heartbeat::check_every_ms`]: presence renewal and peers'
/// timeouts, turns whose writer vanished, and the heartbeat that tells a quiet
/// connection from a dead one.
pub(crate) fn tick(rc: &Rc<RefCell<Inner>>) {
    let mut events = Vec::new();
    let dead = {
        let mut inner = rc.borrow_mut();
        let now = now_ms();
        let tick = inner.session.tick(now);
        inner.send(tick.frames);
        if tick.presence_changed {
            events.push(Event::Presence);
        }
        if tick.turns_interrupted {
            // A turn shown as "writing…" is over: listeners redraw it.
            inner.flush();
            events.push(Event::Change("local"));
        }
        match inner.conn.check(now) {
            Liveness::Alive => false,
            Liveness::Ping => {
                let ping = inner.session.ping();
                inner.send(vec![ping]);
                false
            }
            Liveness::Dead => true,
        }
    };
    emit(rc, events);
    if dead {
        let silent = rc.borrow().conn.heartbeat().dead_after_ms / 1000;
        give_up_socket(
            rc,
            &format!("no answer from the room for {silent} s; reconnecting"),
        );
    }
}

/// Abandon the open socket as lost (it never closed: the network dropped it) and
/// reconnect, as if it had closed.
fn give_up_socket(rc: &Rc<RefCell<Inner>>, reason: &str) {
    {
        let mut inner = rc.borrow_mut();
        if let Some(ws) = inner.drop_socket("connection_lost", reason) {
            let _ = ws.close();
        }
        inner.session.disconnected();
    }
    emit(rc, vec![Event::Presence]);
    schedule_retry(rc, None);
}

/// Look for new, agent-awaiting and resolved conflicts shortly after the doc changed,
/// and tell the listener (`conflict` events).
pub(crate) fn schedule_conflict_check(rc: &Rc<RefCell<Inner>>) {
    let mut inner = rc.borrow_mut();
    if inner.conflict_timer.is_some() {
        return;
    }
    let weak = Rc::downgrade(rc);
    let check = Closure::once_into_js(move || {
        let Some(rc) = weak.upgrade() else { return };
        let events: Vec<Event> = {
            let mut inner = rc.borrow_mut();
            inner.conflict_timer = None;
            inner
                .session
                .poll_conflicts()
                .iter()
                .filter_map(|notice| to_js(notice).ok().map(Event::Conflict))
                .collect()
        };
        emit(&rc, events);
    });
    inner.conflict_timer = Some(set_timeout(&check, CONFLICT_CHECK_MS));
}

/// Write buffered turn text about once a frame: one transaction, one update.
pub(crate) fn schedule_turn_flush(rc: &Rc<RefCell<Inner>>) {
    let mut inner = rc.borrow_mut();
    if inner.turn_timer.is_some() || !inner.session.has_buffered_turn_text() {
        return;
    }
    let weak = Rc::downgrade(rc);
    let flush = Closure::once_into_js(move || {
        let Some(rc) = weak.upgrade() else { return };
        let mut events = Vec::new();
        {
            let mut inner = rc.borrow_mut();
            inner.turn_timer = None;
            let before = inner.session.doc_version();
            if let Err(e) = inner.session.flush_turns() {
                events.push(Event::error(code_of(&e), e.to_string()));
            }
            if inner.session.doc_version() != before {
                events.push(Event::Change("local"));
            }
            inner.flush();
        }
        emit(&rc, events);
    });
    inner.turn_timer = Some(set_timeout(&flush, TURN_FLUSH_MS));
}

/// The socket closed (with its code and reason) or failed: core's machine decides
/// whether and when to open another.
pub(crate) fn schedule_retry(rc: &Rc<RefCell<Inner>>, close: Option<(u16, String)>) {
    let mut events = Vec::new();
    {
        let mut inner = rc.borrow_mut();
        inner.cancel_watchdog();
        let code = close.as_ref().map(|(code, _)| *code);
        let (state, next) = inner.conn.closed(code, js_sys::Math::random());
        events.push(Event::Status { state, close });
        if let Next::RetryIn(delay) = next {
            let weak = Rc::downgrade(rc);
            let retry = Closure::once_into_js(move || {
                if let Some(rc) = weak.upgrade() {
                    rc.borrow_mut().retry_timer = None;
                    if rc.borrow().conn.wanted() {
                        open_socket(&rc);
                    }
                }
            });
            inner.retry_timer = Some(set_timeout(&retry, delay as i32));
        }
    }
    emit(rc, events);
}

pub(crate) fn with_token(base: &str, token: Option<&str>) -> String {
    match token {
        Some(t) if !t.is_empty() => format!(
            "{base}&token={}",
            String::from(js_sys::encode_uri_component(t))
        ),
        _ => base.to_owned(),
    }
}

fn socket_opened(weak: &Weak<RefCell<Inner>>, generation: u64) {
    let Some(rc) = weak.upgrade() else { return };
    let mut events = Vec::new();
    {
        let mut inner = rc.borrow_mut();
        if inner.generation != generation {
            return;
        }
        inner.cancel_watchdog();
        inner.conn.heard(now_ms());
        Inner::report(inner.conn.opened(), &mut events);
        let frames = inner.session.handshake();
        inner.send(frames);
    }
    emit(&rc, events);
}

fn socket_message(weak: &Weak<RefCell<Inner>>, generation: u64, data: JsValue) {
    let Some(rc) = weak.upgrade() else { return };
    let mut events = Vec::new();
    {
        let mut inner = rc.borrow_mut();
        if inner.generation != generation {
            return;
        }
        if !data.is_instance_of::<js_sys::ArrayBuffer>() {
            events.push(Event::error(
                "bad_frame",
                "the room sent a text frame; Confab speaks binary frames only",
            ));
            drop(inner);
            emit(&rc, events);
            return;
        }
        let bytes = Uint8Array::new(&data).to_vec();
        let now = now_ms();
        inner.conn.heard(now);
        match inner.session.receive(&bytes, now) {
            Ok(got) => {
                inner.send(got.replies);
                if got.became_synced {
                    Inner::report(inner.conn.synced(), &mut events);
                }
                inner.flush();
                if got.doc_changed {
                    events.push(Event::Change("remote"));
                }
                if got.presence_changed {
                    events.push(Event::Presence);
                }
                if let Some(reason) = got.denied {
                    events.push(Event::error(
                        "access_denied",
                        format!("the room denied access: {reason}"),
                    ));
                }
                if let Some(info) = got.session {
                    inner.role = info["role"].as_str().and_then(AccessRole::parse);
                    if let Ok(v) = to_js(&info) {
                        events.push(Event::Session(v));
                    }
                    // A verified identity may have replaced this participant's own
                    // presence: listeners redraw who is here.
                    events.push(Event::Presence);
                }
                if got.acked.is_some() {
                    events.push(inner.saved());
                }
                for event in got.events {
                    if let Ok(v) = to_js(&event) {
                        events.push(Event::Feed(v));
                    }
                }
                for (id, body) in got.responses {
                    if let Some((resolve, reject)) = inner.requests.remove(&id) {
                        if body["ok"] == true {
                            let _ = resolve
                                .call1(&JsValue::NULL, &to_js(&body["result"]).unwrap_or_default());
                        } else {
                            let code = body["error"]["code"].as_str().unwrap_or("error");
                            let message = format!(
                                "{} ({code})",
                                body["error"]["message"].as_str().unwrap_or("refused"),
                            );
                            let _ = reject.call1(&JsValue::NULL, &coded_error(code, &message));
                        }
                    }
                }
            }
            Err(e) => {
                events.push(Event::error(
                    code_of(&e),
                    format!("bad frame from the room: {e}"),
                ));
                if let Some(ws) = &inner.socket {
                    let _ = ws.close_with_code_and_reason(
                        CloseCode::ProtocolError.code(),
                        "bad frame from the room",
                    );
                }
            }
        }
    }
    let changed = events.iter().any(|e| matches!(e, Event::Change(_)));
    emit(&rc, events);
    if changed {
        schedule_conflict_check(&rc);
    }
}

fn socket_closed(weak: &Weak<RefCell<Inner>>, generation: u64, code: u16, reason: String) {
    let Some(rc) = weak.upgrade() else { return };
    let mut events = Vec::new();
    {
        let mut inner = rc.borrow_mut();
        if inner.generation != generation {
            return;
        }
        inner.drop_socket(
            "connection_lost",
            "the connection closed before the room answered",
        );
        inner.session.disconnected();
        events.push(Event::Presence);
        if CloseCode::is_notable(code) && !reason.is_empty() {
            events.push(Event::error(
                "closed_by_room",
                format!("the room closed the connection: {reason} (code {code})"),
            ));
        }
        if CloseCode::after_close(code) == AfterClose::RefreshToken {
            events.push(Event::TokenExpired(reason.clone()));
        }
    }
    emit(&rc, events);
    schedule_retry(&rc, Some((code, reason)));
}
