//! # confab-wasm
//!
//! WebAssembly bindings of Confab for browsers and Node. [`Room`] joins a room on a
//! Confab edge over a WebSocket, applies local edits at once, merges remote ones,
//! reconnects with backoff and reports its connection state. Every decision is made by
//! `confab-core`; this crate is glue: sockets, timers and JavaScript values.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use confab_core::client::backoff::{Backoff, ConnectionState};
use confab_core::client::session::Session;
use confab_core::conflict::{Choice, Granularity, StalePolicy};
use confab_core::doc::{Participant, ParticipantKind};
use confab_core::model::context::{ContextDraft, ContextEventKind, ContextKind};
use confab_core::model::view::ViewPatch;
use confab_core::model::MergeSummary;
use confab_core::model::Role;
use js_sys::{Function, Reflect, Uint8Array};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

/// How often presence is renewed and stale peers are dropped.
const TICK_MS: i32 = 2_500;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &JsValue, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
    #[wasm_bindgen(js_name = setInterval)]
    fn set_interval(handler: &JsValue, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearInterval)]
    fn clear_interval(handle: &JsValue);
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Options for `new Room(...)`. */
export interface RoomOptions {
  /** Base URL of the edge's rooms, e.g. `ws://127.0.0.1:8787/rooms`. */
  url: string;
  /** Room name; joined as `<url>/<room>`. */
  room: string;
  /** Who this client is. */
  user: { id: string; name: string; kind?: "person" | "agent" };
  /** WebSocket constructor; defaults to `globalThis.WebSocket` (pass `ws` in Node 20). */
  WebSocket?: unknown;
  /** yrs client id of this tab's edits; random when omitted. */
  clientId?: number;
  /** Room token minted by your backend (optional in development mode). */
  token?: string;
}
/** Who this connection is in the room, as the room says. */
export interface SessionInfo {
  user: string; name: string; kind: "person" | "agent";
  role: "owner" | "editor" | "reviewer" | "viewer"; readOnly: boolean;
}
/** One entry of the room's audit log and live feed. */
export interface FeedEvent {
  seq: number; action: string; actor: ParticipantInfo | null; target: string | null;
  detail: unknown; at: number;
}
/** Where a room's connection stands. */
export type ConnectionState = "offline" | "connecting" | "syncing" | "synced" | "reconnecting";
/** What a room reports to its listener. */
export type RoomEvent =
  | { type: "status"; state: ConnectionState; code?: number; reason?: string }
  | { type: "change"; origin: "local" | "remote" }
  | { type: "presence" }
  | { type: "error"; message: string }
  | { type: "session"; session: SessionInfo }
  /** The count of local edits the room has not stored changed (0: all saved). */
  | { type: "saved"; unacked: number }
  | { type: "feed"; event: FeedEvent }
  | { type: "token-expired"; reason: string }
  | ({ type: "conflict" } & ConflictNotice);
export interface ParticipantInfo { id: string; name: string; kind: "person" | "agent" }
export interface ConversationInfo {
  id: string; title: string; createdBy: string; createdAt: number;
  /** For a branch: where it was forked. */
  forkOf: { conversation: string; message: string } | null;
}
/** Where a message stands: plain posts are `done`; agent turns move through the rest. */
export type TurnStatus = "pending" | "streaming" | "done" | "stopped" | "interrupted" | "error";
export interface ReactionInfo { kind: string; by: ParticipantInfo; at: number }
/** Structured findings a merged branch brings back. */
export interface MergeSummary {
  summary: string; keyFindings?: string[]; recommendations?: string[]; actionItems?: string[];
}
export interface MergeRecord {
  branch: string; messages: string[]; summary: string; keyFindings: string[];
  recommendations: string[]; actionItems: string[]; by: ParticipantInfo;
}
export interface MessageInfo {
  id: string; conversation: string; author: ParticipantInfo;
  role: "user" | "assistant" | "system" | "tool"; text: string; createdAt: number;
  status: TurnStatus; error: string | null; stopRequestedBy: ParticipantInfo | null;
  reactions: ReactionInfo[]; merge: MergeRecord | null;
}
/** What a user looks at; shared with a partner while synced. */
export interface View { tabs: string[]; activeTab: string | null; panels: string[]; split: number | null }
/** A change to a view: only the fields given change. */
export interface ViewPatch { tabs?: string[]; activeTab?: string; panels?: string[]; split?: number }
export interface SyncInfo { id: string; members: string[]; startedBy: string }
export interface ViewState { view: View; sync: SyncInfo | null }
export interface BranchInfo {
  id: string; title: string; forkMessage: string; participants: ParticipantInfo[]; createdAt: number;
}
export interface DocumentInfo { id: string; title: string; kind: string; createdAt: number }
/** A participant's structured presence. Offline participants are simply absent. */
export interface PresenceInfo {
  clientId: number; user: ParticipantInfo; status: "active" | "idle" | "away";
  activity: string | null; typingIn: string | null;
  cursor: { document: string; anchor: number; head: number } | null;
  view: string | null; following: string | null; isSelf: boolean;
}
export type ContextKind = "convention" | "decision" | "in-progress" | "resolved" | "knowledge";
/** A new context entry. Refs name documents (`doc:<id>`) or paths (`path:<path>`). */
export interface ContextDraft { kind: ContextKind; text: string; tags?: string[]; refs?: string[] }
export interface ContextEntry {
  id: string; kind: ContextKind; text: string; author: ParticipantInfo; tags: string[]; refs: string[];
  status: "proposed" | "accepted" | "stale" | "retired"; private: boolean; createdAt: number;
}
export interface ContextEvent {
  id: string; kind: "announcement" | "question" | "handoff"; text: string; author: ParticipantInfo;
  to: string | null; answer: string | null; at: number;
}
export interface HandoffSummary {
  decisions: string[]; openQuestions: string[]; inProgress: { who: string; what: string }[]; handoffs: string[];
}
export interface VersionInfo { id: string; name: string; author: ParticipantInfo; at: number }
/**
 * A span of a version diff: `author` wrote the span's text, `deletedBy` deleted it;
 * `client` is the CRDT client that wrote it.
 */
export interface DiffSpan {
  text: string; change: "unchanged" | "inserted" | "deleted";
  author: ParticipantInfo | null; deletedBy: ParticipantInfo | null; client: number | null;
  turn: string | null; model: string | null;
}
/** Who wrote a stretch of a document's current text (UTF-16 offsets); agents' spans name the turn and model when recorded. */
export interface BlameSpan {
  text: string; start: number; end: number; author: ParticipantInfo | null; agent: boolean; client: number | null;
  turn: string | null; model: string | null;
}
/** How close concurrent changes must be to conflict: the same characters, word or line. */
export type Granularity = "char" | "word" | "line";
/** What a write from a stale base does: held as a suggestion, or applied with a record. */
export type StalePolicy = "suggest" | "apply";
export type ConflictChoice = "mine" | "theirs" | "side" | "both" | "manual" | "agent";
export interface ConflictSide {
  author: ParticipantInfo | null; client: number; inserted: string; deleted: string; at: number;
  turn: string | null; model: string | null; stale: boolean;
}
export interface ConflictResolution {
  choice: ConflictChoice; side: number | null; text: string | null; by: ParticipantInfo; at: number;
}
/**
 * Concurrent changes the CRDT merged silently. `start`/`end` locate the stretch in the
 * document now (UTF-16); `before` is what both sides started from; `current` what the
 * room shows. Ids are equal on every replica.
 */
export interface Conflict {
  id: string; kind: "text" | "field" | "stale"; doc: string | null; field: string | null;
  start: number; end: number; before: string; current: string; sides: ConflictSide[];
  stale: boolean; held: boolean; status: "open" | "awaiting-agent" | "resolved";
  askedBy: ParticipantInfo | null; resolution: ConflictResolution | null; at: number;
}
/** A change in the room's conflicts; `needsInput` when this participant should act. */
export interface ConflictNotice { kind: "raised" | "awaiting-agent" | "resolved"; needsInput: boolean; conflict: Conflict }
/** A document's text with the version it was read at (declare it when writing back). */
export interface DocumentRead { text: string; base: Uint8Array }
export interface BasedWrite { applied: boolean; conflict: string | null; start: number; end: number }
export interface PeerInfo { clientId: number; isSelf: boolean; state: Record<string, unknown> & { user?: ParticipantInfo } }
"#;

#[derive(Deserialize)]
struct UserOptions {
    id: String,
    name: String,
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct ContextDraftInput {
    kind: String,
    text: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    refs: Vec<String>,
}

impl ContextDraftInput {
    fn parse(value: JsValue) -> Result<ContextDraft, JsValue> {
        let input: ContextDraftInput = serde_wasm_bindgen::from_value(value)
            .map_err(|e| type_error(&format!("invalid context entry: {e}")))?;
        let kind = ContextKind::parse(&input.kind).ok_or_else(|| {
            type_error(&format!(
                "invalid context entry: kind must be convention, decision, in-progress, resolved or knowledge, got {:?}",
                input.kind
            ))
        })?;
        Ok(ContextDraft {
            kind,
            text: input.text,
            tags: input.tags,
            refs: input.refs,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MergeSummaryInput {
    summary: String,
    #[serde(default)]
    key_findings: Vec<String>,
    #[serde(default)]
    recommendations: Vec<String>,
    #[serde(default)]
    action_items: Vec<String>,
}

/// How long turn text may wait in the buffer before it is written (about a frame).
const TURN_FLUSH_MS: i32 = 16;
/// How long after a change conflicts are looked for again (changes in between share one look).
const CONFLICT_CHECK_MS: i32 = 60;

#[derive(Deserialize)]
struct PlainOptions {
    url: String,
    room: String,
    user: UserOptions,
    #[serde(default, rename = "clientId")]
    client_id: Option<f64>,
    #[serde(default)]
    token: Option<String>,
}

/// A JavaScript `Error` (or `RangeError` for offsets) carrying core's message.
fn js_error(err: confab_core::Error) -> JsValue {
    match err {
        confab_core::Error::OutOfRange { .. } | confab_core::Error::SplitsSurrogate { .. } => {
            js_sys::RangeError::new(&err.to_string()).into()
        }
        other => js_sys::Error::new(&other.to_string()).into(),
    }
}

/// A message role from JavaScript, `default` when omitted.
fn parse_role(role: Option<&str>, default: Role) -> Result<Role, JsValue> {
    match role {
        None => Ok(default),
        Some(r) => Role::parse(r).ok_or_else(|| {
            type_error(&format!(
                "role must be \"user\", \"assistant\", \"system\" or \"tool\", got {r:?}"
            ))
        }),
    }
}

fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// An `Error` carrying a stable `code` a program can branch on, and the reason.
fn coded_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    let _ = Reflect::set(&err, &"code".into(), &code.into());
    err.into()
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value
        .serialize(&serializer)
        .map_err(|e| type_error(&e.to_string()))
}

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

enum Event {
    Status {
        state: ConnectionState,
        close: Option<(u16, String)>,
    },
    Change(&'static str),
    Presence,
    Error(String),
    Conflict(JsValue),
    Session(JsValue),
    Saved(usize),
    Feed(JsValue),
    TokenExpired(String),
}

impl Event {
    fn to_js(&self) -> JsValue {
        let obj = js_sys::Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&obj, &JsValue::from_str(k), &v);
        };
        match self {
            Event::Status { state, close } => {
                set("type", "status".into());
                set("state", state.as_str().into());
                if let Some((code, reason)) = close {
                    set("code", JsValue::from(*code));
                    set("reason", reason.as_str().into());
                }
            }
            Event::Change(origin) => {
                set("type", "change".into());
                set("origin", (*origin).into());
            }
            Event::Presence => set("type", "presence".into()),
            Event::Error(message) => {
                set("type", "error".into());
                set("message", message.as_str().into());
            }
            Event::Session(info) => {
                set("type", "session".into());
                set("session", info.clone());
            }
            Event::Saved(n) => {
                set("type", "saved".into());
                set("unacked", JsValue::from(*n as u32));
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

struct SocketHandlers {
    _error: Closure<dyn FnMut(JsValue)>,
    _open: Closure<dyn FnMut(JsValue)>,
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut(CloseEvent)>,
}

struct Inner {
    session: Session,
    url: String,
    ws_ctor: Option<Function>,
    socket: Option<WebSocket>,
    handlers: Option<SocketHandlers>,
    generation: u64,
    state: ConnectionState,
    wanted: bool,
    attempt: u32,
    backoff: Backoff,
    retry_timer: Option<JsValue>,
    tick_timer: Option<JsValue>,
    tick_closure: Option<Closure<dyn FnMut()>>,
    turn_timer: Option<JsValue>,
    conflict_timer: Option<JsValue>,
    listener: Option<Function>,
    /// The URL without a token.
    base_url: String,
    token: Option<String>,
    /// Who the room says this connection is.
    role: Option<String>,
    /// Requests waiting for an answer: id → (resolve, reject).
    requests: std::collections::HashMap<u64, (Function, Function)>,
    next_request: u64,
}

/// Close codes that retrying cannot fix (refused tokens, forbidden writes, a member
/// removed): the client stops reconnecting and reports why.
fn refused(code: u16) -> bool {
    matches!(code, 1008 | 4400 | 4401 | 4403 | 4404 | 4410)
}

/// The room refused the token for being expired: fetch a fresh one, then `setToken`.
const TOKEN_EXPIRED: u16 = 4419;

/// How long a socket may take to open before it is abandoned and retried.
const CONNECT_TIMEOUT_MS: i32 = 5_000;

impl Inner {
    fn set_state(&mut self, state: ConnectionState, events: &mut Vec<Event>) {
        if self.state != state {
            self.state = state;
            events.push(Event::Status { state, close: None });
        }
    }

    fn send(&self, frames: Vec<Vec<u8>>) {
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

    /// Send what local edits queued; drop it when offline (the next handshake carries it).
    fn flush(&mut self) {
        let frames = self.session.drain_outgoing();
        if matches!(
            self.state,
            ConnectionState::Syncing | ConnectionState::Synced
        ) {
            self.send(frames);
        }
    }

    /// Settle every request still waiting for the room's answer.
    fn reject_requests(&mut self, code: &str, message: &str) {
        for (_, (_, reject)) in self.requests.drain() {
            let _ = reject.call1(&JsValue::NULL, &coded_error(code, message));
        }
    }

    fn detach_socket(&mut self) -> Option<WebSocket> {
        let ws = self.socket.take()?;
        ws.set_onopen(None);
        ws.set_onmessage(None);
        ws.set_onclose(None);
        // Closing a socket that is still connecting raises an error event; with no
        // listener Node's `ws` would throw it.
        ws.set_onerror(Some(&Function::new_no_args("")));
        self.handlers = None;
        Some(ws)
    }

    fn cancel_retry(&mut self) {
        if let Some(t) = self.retry_timer.take() {
            clear_timeout(&t);
        }
    }

    fn stop_ticking(&mut self) {
        if let Some(t) = self.tick_timer.take() {
            clear_interval(&t);
        }
        self.tick_closure = None;
    }
}

/// A live Confab room: one shared document with conversations, messages, documents and
/// presence, kept in sync with the edge.
#[wasm_bindgen]
pub struct Room {
    inner: Rc<RefCell<Inner>>,
}

fn emit(inner: &Rc<RefCell<Inner>>, events: Vec<Event>) {
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

fn open_socket(rc: &Rc<RefCell<Inner>>) {
    let mut events = Vec::new();
    {
        let mut inner = rc.borrow_mut();
        inner.cancel_retry();
        if let Some(old) = inner.detach_socket() {
            let _ = old.close();
        }
        inner.generation += 1;
        let generation = inner.generation;
        inner.set_state(ConnectionState::Connecting, &mut events);
        let Some(ctor) = inner.ws_ctor.clone() else {
            events.push(Event::Error(
                "no WebSocket in this runtime: pass { WebSocket } (for example from the `ws` package) in the room options".into(),
            ));
            inner.wanted = false;
            inner.set_state(ConnectionState::Offline, &mut events);
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
                        let stuck = {
                            let inner = rc.borrow();
                            inner.generation == generation
                                && inner.state == ConnectionState::Connecting
                        };
                        if stuck {
                            if let Some(ws) = rc.borrow_mut().detach_socket() {
                                let _ = ws.close();
                            }
                            schedule_retry(&rc, None);
                        }
                    })
                };
                set_timeout(&watchdog, CONNECT_TIMEOUT_MS);
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
                events.push(Event::Error(format!(
                    "could not open a WebSocket to {}: {message}",
                    inner.url
                )));
                drop(inner);
                emit(rc, events);
                schedule_retry(rc, None);
                return;
            }
        }
    }
    emit(rc, events);
}

/// Look for new, agent-awaiting and resolved conflicts shortly after the doc changed,
/// and tell the listener (`conflict` events).
fn schedule_conflict_check(rc: &Rc<RefCell<Inner>>) {
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
fn schedule_turn_flush(rc: &Rc<RefCell<Inner>>) {
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
                events.push(Event::Error(e.to_string()));
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

fn schedule_retry(rc: &Rc<RefCell<Inner>>, close: Option<(u16, String)>) {
    let mut events = Vec::new();
    {
        let mut inner = rc.borrow_mut();
        if !inner.wanted {
            inner.state = ConnectionState::Offline;
            events.push(Event::Status {
                state: ConnectionState::Offline,
                close,
            });
        } else {
            let delay = inner
                .backoff
                .delay_ms(inner.attempt, js_sys::Math::random());
            inner.attempt = inner.attempt.saturating_add(1);
            inner.state = ConnectionState::Reconnecting;
            events.push(Event::Status {
                state: ConnectionState::Reconnecting,
                close,
            });
            let weak = Rc::downgrade(rc);
            let retry = Closure::once_into_js(move || {
                if let Some(rc) = weak.upgrade() {
                    rc.borrow_mut().retry_timer = None;
                    if rc.borrow().wanted {
                        open_socket(&rc);
                    }
                }
            });
            inner.retry_timer = Some(set_timeout(&retry, delay as i32));
        }
    }
    emit(rc, events);
}

fn with_token(base: &str, token: Option<&str>) -> String {
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
        inner.set_state(ConnectionState::Syncing, &mut events);
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
            events.push(Event::Error(
                "the room sent a text frame; Confab speaks binary frames only".into(),
            ));
            drop(inner);
            emit(&rc, events);
            return;
        }
        let bytes = Uint8Array::new(&data).to_vec();
        match inner.session.receive(&bytes, now_ms()) {
            Ok(got) => {
                inner.send(got.replies);
                if got.became_synced {
                    inner.attempt = 0;
                    inner.set_state(ConnectionState::Synced, &mut events);
                }
                inner.flush();
                if got.doc_changed {
                    events.push(Event::Change("remote"));
                }
                if got.presence_changed {
                    events.push(Event::Presence);
                }
                if let Some(reason) = got.denied {
                    events.push(Event::Error(format!("the room denied access: {reason}")));
                }
                if let Some(info) = got.session {
                    inner.role = info["role"].as_str().map(str::to_owned);
                    if let Ok(v) = to_js(&info) {
                        events.push(Event::Session(v));
                    }
                }
                if got.acked.is_some() {
                    events.push(Event::Saved(inner.session.unacked().0));
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
                events.push(Event::Error(format!("bad frame from the room: {e}")));
                if let Some(ws) = &inner.socket {
                    let _ = ws.close_with_code_and_reason(1002, "bad frame from the room");
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
        inner.detach_socket();
        inner.session.disconnected();
        events.push(Event::Presence);
        inner.reject_requests(
            "connection_closed",
            "the connection closed before the room answered",
        );
        if code != 1000 && code != 1001 && code != 1005 && code != 1006 && !reason.is_empty() {
            events.push(Event::Error(format!(
                "the room closed the connection: {reason} (code {code})"
            )));
        }
        if code == TOKEN_EXPIRED {
            events.push(Event::TokenExpired(reason.clone()));
        }
        if refused(code) || code == TOKEN_EXPIRED {
            // Retrying with the same token or the same edits would be refused again:
            // stay offline until the app acts (a fresh token, another role).
            inner.wanted = false;
        }
    }
    emit(&rc, events);
    schedule_retry(&rc, Some((code, reason)));
}

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
        let base = plain.url.trim_end_matches('/');
        let base_url = format!(
            "{base}/{}?protocol=confab",
            String::from(js_sys::encode_uri_component(&plain.room))
        );
        let url = with_token(&base_url, plain.token.as_deref());
        Ok(Room {
            inner: Rc::new(RefCell::new(Inner {
                session: Session::new(client_id, me, now_ms()),
                url,
                ws_ctor,
                socket: None,
                handlers: None,
                generation: 0,
                state: ConnectionState::Offline,
                wanted: false,
                attempt: 0,
                backoff: Backoff::default(),
                retry_timer: None,
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
            if inner.wanted {
                return;
            }
            inner.wanted = true;
            inner.attempt = 0;
            if inner.tick_timer.is_none() {
                let weak = Rc::downgrade(&self.inner);
                let tick = Closure::<dyn FnMut()>::new(move || {
                    let Some(rc) = weak.upgrade() else { return };
                    let changed = {
                        let mut inner = rc.borrow_mut();
                        let (frames, changed) = inner.session.tick(now_ms());
                        inner.send(frames);
                        changed
                    };
                    if changed {
                        emit(&rc, vec![Event::Presence]);
                    }
                });
                let handle = set_interval(tick.as_ref(), TICK_MS);
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
                events.push(Event::Error(e.to_string()));
            }
            inner.flush();
            inner.wanted = false;
            inner.cancel_retry();
            inner.stop_ticking();
            let bye = inner.session.leave();
            inner.send(bye);
            if let Some(ws) = inner.detach_socket() {
                let _ = ws.close_with_code_and_reason(1000, "client disconnected");
            }
            inner.reject_requests(
                "disconnected",
                "the client disconnected before the room answered",
            );
            inner.session.disconnected();
            inner.set_state(ConnectionState::Offline, &mut events);
            events.push(Event::Presence);
        }
        emit(&self.inner, events);
    }

    /// `offline`, `connecting`, `syncing`, `synced` or `reconnecting`.
    #[wasm_bindgen(getter, unchecked_return_type = "ConnectionState")]
    pub fn state(&self) -> String {
        self.inner.borrow().state.as_str().to_owned()
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
    /// reconnect with it.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&self, token: &str) {
        {
            let mut inner = self.inner.borrow_mut();
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

    /// This connection's role in the room, once the room said it.
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "\"owner\" | \"editor\" | \"reviewer\" | \"viewer\" | undefined"
    )]
    pub fn role(&self) -> Option<String> {
        self.inner.borrow().role.clone()
    }

    /// True when the room lets this connection read only (viewer) or only react
    /// (reviewer): local edits are refused before they are made.
    #[wasm_bindgen(getter, js_name = readOnly)]
    pub fn read_only(&self) -> bool {
        matches!(
            self.inner.borrow().role.as_deref(),
            Some("viewer" | "reviewer")
        )
    }

    /// Local updates the room has not stored: sent and unacknowledged, or not yet sent
    /// (made offline or before the room answered). 0 when every local edit is saved.
    #[wasm_bindgen(getter)]
    pub fn unacked(&self) -> u32 {
        self.inner.borrow().session.unacked().0 as u32
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
        if let Some(role @ ("viewer" | "reviewer")) = self.inner.borrow().role.as_deref() {
            return Err(js_sys::Error::new(&format!(
                "this room is read-only for you (you are a {role}{})",
                if role == "reviewer" {
                    "; reviewers may react and vote"
                } else {
                    ""
                }
            ))
            .into());
        }
        self.edit_unchecked(f)
    }

    /// An edit a reviewer may make too (reactions and votes).
    fn react_edit<T>(
        &self,
        f: impl FnOnce(&mut Session, u64) -> confab_core::Result<T>,
    ) -> Result<T, JsValue> {
        if self.inner.borrow().role.as_deref() == Some("viewer") {
            return Err(
                js_sys::Error::new("this room is read-only for you (you are a viewer)").into(),
            );
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
            (
                result,
                changed,
                (before.1 && unsaved > 0).then_some(unsaved),
            )
        };
        let mut events = Vec::new();
        if changed {
            events.push(Event::Change("local"));
        }
        if let Some(unsaved) = unsaved {
            // Saved became unsaved (offline too); acks tell when it is saved again. Not
            // on every edit: that is a JS event per keystroke.
            events.push(Event::Saved(unsaved));
        }
        emit(&self.inner, events);
        if changed {
            schedule_conflict_check(&self.inner);
        }
        Ok(result)
    }

    /// Create a conversation; returns its id.
    #[wasm_bindgen(js_name = createConversation)]
    pub fn create_conversation(&self, title: &str, id: Option<String>) -> Result<String, JsValue> {
        self.edit(|s, now| s.create_conversation(id.as_deref(), title, now))
    }

    /// Create the conversation `id` unless it exists.
    #[wasm_bindgen(js_name = ensureConversation)]
    pub fn ensure_conversation(&self, id: &str, title: &str) -> Result<(), JsValue> {
        self.edit(|s, now| s.ensure_conversation(id, title, now))
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
        #[wasm_bindgen(
            unchecked_param_type = "\"user\" | \"assistant\" | \"system\" | \"tool\" | undefined"
        )]
        role: Option<String>,
    ) -> Result<String, JsValue> {
        let role = parse_role(
            role.as_deref(),
            match self.inner.borrow().session.me().kind {
                ParticipantKind::Person => Role::User,
                ParticipantKind::Agent => Role::Assistant,
            },
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
        #[wasm_bindgen(
            unchecked_param_type = "\"user\" | \"assistant\" | \"system\" | \"tool\" | undefined"
        )]
        role: Option<String>,
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
        let input: MergeSummaryInput = serde_wasm_bindgen::from_value(summary)
            .map_err(|e| type_error(&format!("invalid merge summary: {e}")))?;
        let summary = MergeSummary {
            summary: input.summary,
            key_findings: input.key_findings,
            recommendations: input.recommendations,
            action_items: input.action_items,
        };
        self.edit(|s, now| s.merge_branch(branch, &picked, summary, now))
    }

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

    /// Everyone present other than this user (people and agents), once each.
    #[wasm_bindgen(unchecked_return_type = "ParticipantInfo[]")]
    pub fn participants(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.present_participants())
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

    /// Name the room's current state as a version (a checkpoint); returns its id.
    #[wasm_bindgen(js_name = createVersion)]
    pub fn create_version(&self, name: &str) -> Result<String, JsValue> {
        self.edit(|s, now| s.create_version(name, now))
    }

    /// Every named version, oldest first.
    #[wasm_bindgen(unchecked_return_type = "VersionInfo[]")]
    pub fn versions(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.doc().versions())
    }

    /// A document's text as it was at a version.
    #[wasm_bindgen(js_name = documentAt)]
    pub fn document_at(&self, version: &str, document: &str) -> Result<String, JsValue> {
        self.inner
            .borrow_mut()
            .session
            .doc_mut()
            .document_at(version, document)
            .map_err(js_error)
    }

    /// How a document changed from version `from` (the beginning when omitted) to `to`
    /// (now when omitted), span by span, with who wrote each span.
    #[wasm_bindgen(js_name = diffVersions, unchecked_return_type = "DiffSpan[]")]
    pub fn diff_versions(
        &self,
        document: &str,
        from: Option<String>,
        to: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let spans = self
            .inner
            .borrow_mut()
            .session
            .doc_mut()
            .diff_versions(document, from.as_deref(), to.as_deref())
            .map_err(js_error)?;
        to_js(&spans)
    }

    /// Bring every document back to a version, as a new change attributed to you.
    /// Returns the ids of the documents that changed.
    #[wasm_bindgen(js_name = restoreVersion)]
    pub fn restore_version(&self, version: &str) -> Result<Vec<String>, JsValue> {
        self.edit(|s, _| s.doc_mut().restore_version(version))
    }

    /// Who wrote each stretch of a document's current text between `start` and `end`
    /// (the whole text when omitted).
    #[wasm_bindgen(unchecked_return_type = "BlameSpan[]")]
    pub fn blame(
        &self,
        document: &str,
        start: Option<u32>,
        end: Option<u32>,
    ) -> Result<JsValue, JsValue> {
        let mut inner = self.inner.borrow_mut();
        let doc = inner.session.doc_mut();
        let len = doc
            .document_text(document)
            .map_err(js_error)?
            .encode_utf16()
            .count() as u32;
        let spans = doc
            .blame(document, start.unwrap_or(0), end.unwrap_or(len))
            .map_err(js_error)?;
        to_js(&spans)
    }

    /// Who a CRDT client id acts for (every change carries one).
    #[wasm_bindgen(js_name = participantForClient, unchecked_return_type = "ParticipantInfo | null")]
    pub fn participant_for_client(&self, client: f64) -> Result<JsValue, JsValue> {
        to_js(
            &self
                .inner
                .borrow()
                .session
                .doc()
                .participant_for_client(client as u64),
        )
    }

    /// Replace `length` UTF-16 code units at `index` with `text`, as one change.
    #[wasm_bindgen(js_name = replaceRange)]
    pub fn replace_range(
        &self,
        id: &str,
        index: u32,
        length: u32,
        text: &str,
    ) -> Result<(), JsValue> {
        self.edit(|s, _| s.doc_mut().replace_text(id, index, length, text))
    }

    /// Rename a document (concurrent renames are kept as a conflict).
    #[wasm_bindgen(js_name = setDocumentTitle)]
    pub fn set_document_title(&self, id: &str, title: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.doc_mut().set_document_title(id, title))
    }

    /// Every conflict in the room, oldest first.
    #[wasm_bindgen(unchecked_return_type = "Conflict[]")]
    pub fn conflicts(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow_mut().session.conflicts())
    }

    /// Resolve a conflict: keep `mine`, `theirs`, a `side` by number, `both`, a
    /// `manual` merge (`text`), or ask an `agent`.
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
                "unknown choice `{choice}`: use mine, theirs, side, both, manual or agent"
            ))
        })?;
        self.edit(|s, now| {
            s.resolve_conflict(id, choice, side.map(|n| n as usize), text.as_deref(), now)
        })
    }

    /// A document's text and the version it was read at, to declare as the base of a
    /// later `writeBased`.
    #[wasm_bindgen(js_name = readDocument, unchecked_return_type = "DocumentRead")]
    pub fn read_document(&self, id: &str) -> Result<JsValue, JsValue> {
        let read = self
            .inner
            .borrow()
            .session
            .doc()
            .read_document(id)
            .map_err(js_error)?;
        let obj = js_sys::Object::new();
        Reflect::set(&obj, &"text".into(), &read.text.as_str().into())?;
        Reflect::set(
            &obj,
            &"base".into(),
            &Uint8Array::from(read.base.as_slice()),
        )?;
        Ok(obj.into())
    }

    /// Replace `start..end` of the text as read at `base` with `text`. If others
    /// changed that range since, the write is held as a suggestion or applied with a
    /// conflict record, by the document's stale policy.
    #[wasm_bindgen(js_name = writeBased, unchecked_return_type = "BasedWrite")]
    pub fn write_based(
        &self,
        id: &str,
        start: u32,
        end: u32,
        text: &str,
        base: &[u8],
    ) -> Result<JsValue, JsValue> {
        let out = self.edit(|s, now| s.write_based(id, start, end, text, base, now))?;
        to_js(&out)
    }

    /// Set how close concurrent changes to a document must be to conflict.
    #[wasm_bindgen(js_name = setGranularity)]
    pub fn set_granularity(
        &self,
        id: &str,
        #[wasm_bindgen(unchecked_param_type = "Granularity")] granularity: &str,
    ) -> Result<(), JsValue> {
        let g = Granularity::parse(granularity).ok_or_else(|| {
            type_error(&format!(
                "unknown granularity `{granularity}`: use char, word or line"
            ))
        })?;
        self.edit(|s, _| s.doc_mut().set_granularity(id, g))
    }

    /// Set what a stale write to a document does.
    #[wasm_bindgen(js_name = setStalePolicy)]
    pub fn set_stale_policy(
        &self,
        id: &str,
        #[wasm_bindgen(unchecked_param_type = "StalePolicy")] policy: &str,
    ) -> Result<(), JsValue> {
        let p = StalePolicy::parse(policy).ok_or_else(|| {
            type_error(&format!(
                "unknown stale policy `{policy}`: use suggest or apply"
            ))
        })?;
        self.edit(|s, _| s.doc_mut().set_stale_policy(id, p))
    }

    /// Agents: attribute the next edits to a turn (and model); call with no arguments
    /// to stop.
    #[wasm_bindgen(js_name = actFor)]
    pub fn act_for(&self, turn: Option<String>, model: Option<String>) {
        self.inner
            .borrow_mut()
            .session
            .doc_mut()
            .act_for(turn.as_deref(), model.as_deref());
    }

    /// Change a shared context entry's text.
    #[wasm_bindgen(js_name = editContext)]
    pub fn edit_context(&self, id: &str, text: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.doc_mut().edit_context(id, text))
    }

    /// Create a shared document; returns its id.
    #[wasm_bindgen(js_name = createDocument)]
    pub fn create_document(&self, title: &str, id: Option<String>) -> Result<String, JsValue> {
        self.edit(|s, now| s.doc_mut().create_document(id.as_deref(), title, now))
    }

    /// Create the document `id` unless it exists.
    #[wasm_bindgen(js_name = ensureDocument)]
    pub fn ensure_document(&self, id: &str, title: &str) -> Result<(), JsValue> {
        self.edit(|s, now| s.doc_mut().ensure_document(id, title, now))
    }

    /// Every shared document, oldest first.
    #[wasm_bindgen(unchecked_return_type = "DocumentInfo[]")]
    pub fn documents(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.doc().documents())
    }

    /// A document's text.
    #[wasm_bindgen(js_name = documentText)]
    pub fn document_text(&self, id: &str) -> Result<String, JsValue> {
        self.inner
            .borrow()
            .session
            .doc()
            .document_text(id)
            .map_err(js_error)
    }

    /// Insert `text` at UTF-16 offset `index` (JavaScript string indices).
    #[wasm_bindgen(js_name = insertText)]
    pub fn insert_text(&self, id: &str, index: u32, text: &str) -> Result<(), JsValue> {
        self.edit(|s, _| s.doc_mut().insert_text(id, index, text))
    }

    /// Delete `length` UTF-16 code units at `index`.
    #[wasm_bindgen(js_name = deleteText)]
    pub fn delete_text(&self, id: &str, index: u32, length: u32) -> Result<(), JsValue> {
        self.edit(|s, _| s.doc_mut().delete_text(id, index, length))
    }

    /// Set this client's presence (a plain object: status, activity, cursor, ...).
    /// Confab adds `user` from the room options.
    #[wasm_bindgen(js_name = setPresence)]
    pub fn set_presence(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Record<string, unknown>")] state: JsValue,
    ) -> Result<(), JsValue> {
        let json = js_sys::JSON::stringify(&state)
            .map_err(|_| type_error("presence must be JSON-serialisable"))?;
        {
            let mut inner = self.inner.borrow_mut();
            inner
                .session
                .set_presence(&String::from(json))
                .map_err(js_error)?;
            inner.flush();
        }
        emit(&self.inner, vec![Event::Presence]);
        Ok(())
    }

    fn presence_edit(
        &self,
        f: impl FnOnce(&mut Session) -> confab_core::Result<()>,
    ) -> Result<(), JsValue> {
        {
            let mut inner = self.inner.borrow_mut();
            f(&mut inner.session).map_err(js_error)?;
            inner.flush();
        }
        emit(&self.inner, vec![Event::Presence]);
        Ok(())
    }

    /// Everyone's structured presence: status, activity, typing, cursor (resolved to
    /// current offsets), view, following.
    #[wasm_bindgen(unchecked_return_type = "PresenceInfo[]")]
    pub fn presence(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.presence())
    }

    /// Report input (key, click) so this user shows as active rather than idle or away.
    /// Local edits report input by themselves.
    #[wasm_bindgen(js_name = noteInput)]
    pub fn note_input(&self) -> Result<(), JsValue> {
        self.presence_edit(|s| {
            s.note_input(now_ms());
            Ok(())
        })
    }

    /// Say what this user or agent is doing ("reviewing spec"); `null` clears it.
    #[wasm_bindgen(js_name = setActivity)]
    pub fn set_activity(&self, activity: Option<String>) -> Result<(), JsValue> {
        self.presence_edit(|s| {
            s.set_activity(activity.as_deref());
            Ok(())
        })
    }

    /// Say which conversation this user is typing in; `null` when they stop.
    #[wasm_bindgen(js_name = setTyping)]
    pub fn set_typing(&self, conversation: Option<String>) -> Result<(), JsValue> {
        self.presence_edit(|s| {
            s.set_typing(conversation.as_deref());
            Ok(())
        })
    }

    /// Publish this user's cursor or selection in a document (UTF-16 offsets); peers
    /// see it move with concurrent edits.
    #[wasm_bindgen(js_name = setCursor)]
    pub fn set_cursor(&self, document: &str, anchor: u32, head: u32) -> Result<(), JsValue> {
        self.presence_edit(|s| s.set_cursor(document, anchor, head))
    }

    /// Remove this user's cursor.
    #[wasm_bindgen(js_name = clearCursor)]
    pub fn clear_cursor(&self) -> Result<(), JsValue> {
        self.presence_edit(|s| {
            s.clear_cursor();
            Ok(())
        })
    }

    /// Follow another user's view (a user id); `null` to stop.
    pub fn follow(&self, user: Option<String>) -> Result<(), JsValue> {
        self.presence_edit(|s| {
            s.set_following(user.as_deref());
            Ok(())
        })
    }

    /// Who (other than this user) is typing in `conversation`.
    #[wasm_bindgen(js_name = typingIn, unchecked_return_type = "ParticipantInfo[]")]
    pub fn typing_in(&self, conversation: &str) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().session.typing_in(conversation))
    }

    /// Everyone present (this client included), each with their presence state.
    #[wasm_bindgen(unchecked_return_type = "PeerInfo[]")]
    pub fn peers(&self) -> Result<JsValue, JsValue> {
        let peers = self.inner.borrow().session.peers();
        let out = js_sys::Array::new();
        for peer in peers {
            let obj = js_sys::Object::new();
            Reflect::set(
                &obj,
                &"clientId".into(),
                &JsValue::from(peer.client_id as f64),
            )?;
            Reflect::set(&obj, &"isSelf".into(), &JsValue::from(peer.is_self))?;
            let state = js_sys::JSON::parse(&peer.state).unwrap_or(JsValue::NULL);
            Reflect::set(&obj, &"state".into(), &state)?;
            out.push(&obj);
        }
        Ok(out.into())
    }

    /// Disconnect and release every timer and callback.
    pub fn destroy(&self) {
        self.disconnect();
        self.inner.borrow_mut().listener = None;
    }
}
