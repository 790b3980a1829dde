//! One Durable Object per room: accepts WebSockets with the hibernation API, feeds
//! their frames to `confab-core`'s [`Room`], sends what it returns, and persists the
//! room in SQLite. The in-memory room is rebuilt from storage whenever the object
//! starts (first use, after eviction, after hibernation or a restart).
//!
//! This file holds the object's hooks and the glue they share (loading the room,
//! sending frames, closing sockets). The rest sits beside it, each part an `impl`
//! block on the same object, so none of the object's state is opened to the crate:
//! - [`persist`]: relaying, storing and acknowledging updates; a failed write;
//! - [`feed`]: the audit log, the live feed, the webhook queue, conflict announcements;
//! - [`webhooks`]: posting queued webhooks;
//! - [`alarm`]: the one alarm, and what runs when it fires;
//! - [`files`]: files' bytes in the R2 bucket, uploaded and downloaded;
//! - [`requests`]: who a request is from, and the REST calls;
//! - [`search`]: the search index kept up to date, and queries answered from it;
//! - [`space_link`]: reports to the room's space, what the space did to it, and
//!   notifications for people's inboxes.

mod alarm;
mod feed;
mod files;
mod persist;
mod requests;
mod search;
mod space_link;
mod webhooks;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};

use confab_core::authority::webhook;
use confab_core::authority::Actor;
use confab_core::protocol::close::CloseCode;
use confab_core::room::{ConnId, Outgoing, Recipient, Room};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, State, WebSocket,
    WebSocketIncomingMessage, WebSocketPair,
};

use crate::error::{truncate_reason, EdgeError};
use crate::sql_store::SqlStore;
use crate::worker_entry::{config, error_response};

/// What each socket carries across hibernation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Attachment {
    conn: ConnId,
    confab: bool,
    #[serde(default)]
    synced: bool,
    awareness: Vec<u64>,
    /// Who is connected. An attachment without one (written before actors were kept)
    /// does not parse, and the socket is closed to reconnect: never an anonymous editor.
    actor: Actor,
}

fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

fn random_conn_id() -> ConnId {
    (js_sys::Math::random() * 9_007_199_254_740_991.0) as ConnId
}

fn attachment(ws: &WebSocket) -> Option<Attachment> {
    ws.deserialize_attachment::<Attachment>().ok().flatten()
}

/// The socket as a key of [`RoomObject::conn_of`].
fn socket_key(ws: &WebSocket) -> &js_sys::Object {
    use wasm_bindgen::JsCast;
    let raw: &web_sys::WebSocket = ws.as_ref();
    raw.unchecked_ref()
}

/// A room's Durable Object.
#[durable_object]
pub struct RoomObject {
    state: State,
    room: RefCell<Option<Room>>,
    store: RefCell<Option<SqlStore>>,
    /// A handler is waiting to flush the room's queued updates.
    flush_pending: Cell<bool>,
    /// When updates were last relayed (ms).
    last_flush_ms: Cell<u64>,
    /// Open sockets by connection id, rebuilt with the room (so relaying a frame does
    /// not parse every socket's attachment).
    sockets: RefCell<BTreeMap<ConnId, WebSocket>>,
    /// Each socket's attachment as this instance last wrote or read it, found through
    /// `conn_of` (socket → connection id): reading the stored attachment back took a
    /// tenth of the time a relayed message costs. After hibernation both start empty
    /// and fill from the stored attachments.
    attachments: RefCell<std::collections::HashMap<ConnId, Attachment>>,
    conn_of: js_sys::WeakMap,
    env: Env,
    /// The live feed's last events.
    feed: RefCell<VecDeque<Value>>,
    /// Conflict ids already announced (`None` until first read from storage).

    /// When to look for new conflicts.
    conflict_check_at: Cell<Option<u64>>,
    /// When compaction is due.
    compact_at: Cell<Option<u64>>,
    /// The alarm this instance last set.
    alarm_at: Cell<Option<u64>>,
    /// When to report who is here to the room's space.
    throttle: RefCell<confab_core::authority::space::ReportThrottle>,
    /// The room's space (`Some(None)`: none), once read.
    space: RefCell<Option<Option<String>>>,
    /// The search index was checked (and rebuilt if it had to be) by this instance.
    search_ready: Cell<bool>,
}

impl RoomObject {
    fn store(&self) -> std::result::Result<std::cell::RefMut<'_, SqlStore>, EdgeError> {
        let mut slot = self.store.borrow_mut();
        if slot.is_none() {
            *slot = Some(SqlStore::open(self.state.storage().sql())?);
        }
        Ok(std::cell::RefMut::map(slot, |s| {
            s.as_mut().expect("just set")
        }))
    }

    /// `ws`'s attachment: as this instance keeps it, else read from the socket.
    fn attachment_of(&self, ws: &WebSocket) -> Option<Attachment> {
        let conn = self.conn_of.get(socket_key(ws)).as_f64();
        if let Some(a) = conn.and_then(|c| self.attachments.borrow().get(&(c as ConnId)).cloned()) {
            return Some(a);
        }
        let a = attachment(ws)?;
        self.keep_attachment(ws, &a);
        Some(a)
    }

    /// Store `a` on `ws` (it outlives hibernation) and keep it here.
    fn set_attachment(&self, ws: &WebSocket, a: &Attachment) -> Result<()> {
        ws.serialize_attachment(a)?;
        self.keep_attachment(ws, a);
        Ok(())
    }

    fn keep_attachment(&self, ws: &WebSocket, a: &Attachment) {
        self.conn_of.set(
            socket_key(ws),
            &wasm_bindgen::JsValue::from_f64(a.conn as f64),
        );
        self.attachments.borrow_mut().insert(a.conn, a.clone());
    }

    /// Run `f` on the room, loading it (and the sockets that outlived it) first.
    fn with_room<T>(&self, f: impl FnOnce(&mut Room) -> T) -> std::result::Result<T, EdgeError> {
        let mut slot = self.room.borrow_mut();
        if slot.is_none() {
            let store = self.store()?;
            let mut room = Room::load(store.snapshot_parts()?, store.log()?, now_ms())
                .map_err(|e| EdgeError::Storage(format!("stored room could not be loaded: {e}")))?;
            room.set_coalescing(true);
            let config = config(&self.env)?;
            room.set_limits(config.limits);
            let mut authority = match store.get("authority")? {
                Some(json) => confab_core::authority::Authority::from_json(&json)
                    .map_err(EdgeError::Storage)?,
                None => confab_core::authority::Authority::new(),
            };
            authority.set_webhook_targets(webhook::Targets::for_dev_mode(config.dev));
            room.set_authority(authority);
            if let Some(json) = store.get("conflicts.watch")? {
                let watch = serde_json::from_str(&json).map_err(|e| {
                    EdgeError::Storage(format!("stored conflicts.watch does not parse: {e}"))
                })?;
                room.set_conflict_watch(watch);
            }
            if let (Ok(secret), Some(name)) = (config.secret(), store.get("name")?) {
                room.set_token_key(secret.as_bytes(), &name);
            }
            let sockets = self.state.get_websockets();
            let mut by_conn = self.sockets.borrow_mut();
            by_conn.clear();
            for ws in &sockets {
                if let Some(a) = self.attachment_of(ws) {
                    room.restore_connection(a.conn, a.confab, a.synced, a.awareness, a.actor, 0);
                    by_conn.insert(a.conn, ws.clone());
                }
            }
            // Presence lived only in memory: ask the sockets that outlived it again.
            for o in room.after_restore() {
                for ws in &sockets {
                    let _ = ws.send_with_bytes(&o.frame);
                }
            }
            *slot = Some(room);
        }
        Ok(f(slot.as_mut().expect("just loaded")))
    }

    /// Send frames to their recipients among the open sockets. Each frame is copied
    /// out of wasm memory once and the same (never mutated) buffer goes to every
    /// recipient: with N sockets that is one copy per frame, not N.
    fn deliver(&self, out: &[Outgoing], skip: Option<ConnId>) {
        let sockets = self.sockets.borrow();
        for o in out {
            let buffer = js_sys::Uint8Array::from(o.frame.as_slice()).buffer();
            let mut send = |ws: &WebSocket| {
                let raw: &web_sys::WebSocket = ws.as_ref();
                let _ = raw.send_with_array_buffer(&buffer);
            };
            match &o.to {
                Recipient::Only(conn) => sockets.get(conn).into_iter().for_each(&mut send),
                Recipient::Many(conns) => conns
                    .iter()
                    .filter(|c| Some(**c) != skip)
                    .filter_map(|c| sockets.get(c))
                    .for_each(&mut send),
                to => sockets
                    .iter()
                    .filter(|(c, _)| Some(**c) != skip && to.includes(**c))
                    .for_each(|(_, ws)| send(ws)),
            }
        }
    }

    /// Close `ws` for a refused frame and remove its presence for everyone else.
    fn refuse(&self, ws: &WebSocket, conn: ConnId, code: CloseCode, reason: &str) {
        let _ = ws.close(Some(code.code()), Some(truncate_reason(reason)));
        self.sockets.borrow_mut().remove(&conn);
        self.attachments.borrow_mut().remove(&conn);
        self.disconnect(conn);
    }

    /// Remove `conn` from the room, if one is loaded, and tell the others it left. A
    /// room that is not loaded (it failed to load, or was dropped after a failed write)
    /// is not loaded for this: when it is, it restores only the sockets still open.
    fn disconnect(&self, conn: ConnId) {
        let out = self
            .room
            .borrow_mut()
            .as_mut()
            .map(|room| room.disconnect(conn, now_ms()))
            .unwrap_or_default();
        self.deliver(&out, Some(conn));
    }

    fn on_connect(&self, confab: bool, actor: Actor) -> Result<Response> {
        // Load the room before accepting, so the new socket is not taken for one that
        // outlived an earlier instance of the room.
        let loaded = self.with_room(|room| room.admit(&actor));
        let pair = WebSocketPair::new()?;
        let server = pair.server;
        if let Ok(Err((code, reason))) = &loaded {
            server.accept()?;
            server.close(Some(code.code()), Some(truncate_reason(reason)))?;
            return Response::from_websocket(pair.client);
        }
        self.state.accept_web_socket(&server);
        let conn = random_conn_id();
        self.set_attachment(
            &server,
            &Attachment {
                conn,
                confab,
                synced: false,
                awareness: Vec::new(),
                actor: actor.clone(),
            },
        )?;
        self.sockets.borrow_mut().insert(conn, server.clone());
        match loaded.and_then(|_| self.with_room(|room| room.connect_as(conn, confab, actor))) {
            // The join is recorded before the joiner hears anything (a failed write has
            // closed every socket, this one too).
            Ok(out) => {
                if let Ok(settled) = self.settle(false) {
                    for o in out {
                        server.send_with_bytes(&o.frame)?;
                    }
                    self.send_settled(settled);
                }
            }
            Err(e) => {
                let _ = server.close(
                    Some(CloseCode::Internal.code()),
                    Some(truncate_reason(&e.to_string())),
                );
            }
        }
        Response::from_websocket(pair.client)
    }

    fn on_close(&self, ws: &WebSocket) {
        let Some(a) = self.attachment_of(ws) else {
            return;
        };
        self.sockets.borrow_mut().remove(&a.conn);
        self.attachments.borrow_mut().remove(&a.conn);
        // Loads the room if it is not (after hibernation): the others must hear that
        // this participant left.
        if let Ok(out) = self.with_room(|room| room.disconnect(a.conn, now_ms())) {
            self.deliver(&out, Some(a.conn));
        }
        // A failed write has already dropped the room and closed every socket.
        if let Ok(settled) = self.settle(false) {
            self.send_settled(settled);
        }
    }
}

impl DurableObject for RoomObject {
    fn new(state: State, env: Env) -> Self {
        RoomObject {
            state,
            env,
            feed: RefCell::new(VecDeque::new()),
            conflict_check_at: Cell::new(None),
            compact_at: Cell::new(None),
            alarm_at: Cell::new(None),
            // A restart is a new boot: its reports replace the old object's.
            throttle: RefCell::new(confab_core::authority::space::ReportThrottle::new(now_ms())),
            space: RefCell::new(None),
            search_ready: Cell::new(false),
            room: RefCell::new(None),
            store: RefCell::new(None),
            flush_pending: Cell::new(false),
            last_flush_ms: Cell::new(0),
            sockets: RefCell::new(BTreeMap::new()),
            attachments: RefCell::new(std::collections::HashMap::new()),
            conn_of: js_sys::WeakMap::new(),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        if req.path().starts_with(crate::objects::INTERNAL) {
            return match self.on_internal(req).await {
                Ok(value) => Response::from_json(&value),
                Err(err) => error_response(&err),
            };
        }
        let url = req.url()?;
        let confab = url
            .query_pairs()
            .any(|(k, v)| k == "protocol" && v == "confab");
        let upgrade = req
            .headers()
            .get("Upgrade")?
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        let actor = self.actor(&req);
        if upgrade {
            if let Ok(Some(reason)) = self.deleted_reason() {
                return crate::worker_entry::refuse_socket(CloseCode::Removed, &reason);
            }
            return match actor {
                Ok(actor) => self.on_connect(confab, actor),
                Err(EdgeError::Op(e)) => {
                    crate::worker_entry::refuse_socket(CloseCode::Forbidden, &e.message)
                }
                Err(e) => crate::worker_entry::refuse_socket(CloseCode::Internal, &e.to_string()),
            };
        }
        let result = match actor {
            Ok(actor) => self.on_request(req, actor).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(requests::Reply::Json(value)) => Response::from_json(&value),
            Ok(requests::Reply::Raw(res)) => Ok(res),
            Err(err) => error_response(&err),
        }
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        let Some(mut a) = self.attachment_of(&ws) else {
            let _ = ws.close(
                Some(CloseCode::Internal.code()),
                Some("connection state lost; reconnect"),
            );
            return Ok(());
        };
        let bytes = match message {
            WebSocketIncomingMessage::Binary(bytes) => bytes,
            WebSocketIncomingMessage::String(_) => {
                self.refuse(
                    &ws,
                    a.conn,
                    CloseCode::Unsupported,
                    "text frames are not accepted; Confab speaks binary y-sync frames",
                );
                return Ok(());
            }
        };
        let result = self.with_room(|room| {
            let out = room.receive(a.conn, &bytes, now_ms());
            (out, room.awareness_clients(a.conn), room.is_synced(a.conn))
        });
        match result {
            Ok((Ok(out), awareness, synced)) => {
                if awareness != a.awareness || synced != a.synced {
                    a.awareness = awareness;
                    a.synced = synced;
                    self.set_attachment(&ws, &a)?;
                }
                // What the frame recorded is stored before its answers go out; a failed
                // write has closed every socket (this one too): nothing more to do.
                let Ok(settled) = self.settle(false) else {
                    return Ok(());
                };
                // A file the room wrote is downloadable by its hash once it is answered.
                self.store_blobs().await;
                self.deliver(&out, None);
                self.answer_deferred().await;
                let authority_changed = settled.authority_changed;
                self.send_settled(settled);
                // A lease taken or renewed over the socket expires by an alarm.
                if authority_changed {
                    if let Err(e) = self.schedule_alarm().await {
                        worker::console_error!("scheduling an alarm failed: {e}");
                    }
                }
                if let Err(e) = self.flush_soon().await {
                    // Not stored: drop the socket so the client re-sends on reconnect.
                    self.refuse(&ws, a.conn, CloseCode::Internal, &e.to_string());
                }
                self.presence_moved().await;
                self.deliver_notices().await;
            }
            Ok((Err(err), _, _)) => {
                self.refuse(&ws, a.conn, err.close_code(), &err.to_string());
            }
            Err(e) => self.refuse(&ws, a.conn, CloseCode::Internal, &e.to_string()),
        }
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        self.on_close(&ws);
        self.presence_moved().await;
        // Echo the client's code; the ones a close frame may not carry (no code, an
        // abnormal drop, a TLS failure) become a normal close.
        let code = match u16::try_from(code) {
            Ok(c) if CloseCode::sendable(c) => c,
            _ => CloseCode::Normal.code(),
        };
        let _ = ws.close(Some(code), Some("bye"));
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        self.on_close(&ws);
        self.presence_moved().await;
        Ok(())
    }

    async fn alarm(&self) -> Result<Response> {
        match self.on_alarm().await {
            Ok(()) => Response::ok("done"),
            Err(e) => Response::error(e.to_string(), 500),
        }
    }
}
