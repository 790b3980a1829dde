//! One Durable Object per room: accepts WebSockets with the hibernation API, feeds
//! their frames to `confab-core`'s [`Room`], sends what it returns, and persists the
//! room in SQLite. The in-memory room is rebuilt from storage whenever the object
//! starts (first use, after eviction, after hibernation or a restart).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use confab_core::room::{ConnId, Outgoing, Recipient, Room};
use confab_core::store::{self, Policy, Store};
use serde::{Deserialize, Serialize};
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, State, WebSocket,
    WebSocketIncomingMessage, WebSocketPair,
};

use wasm_bindgen::JsCast;

use crate::error::{close_for, truncate_reason, EdgeError};
use crate::sql_store::SqlStore;
use crate::worker_entry::error_response;

/// Compact the update log this long after the last write, when the room is quiet.
const COMPACT_AFTER_MS: i64 = 30_000;

/// Updates that arrive within this long of the last relay are taken for a burst and
/// coalesced (see `RoomObject::flush_soon`).
const BURST_MS: u64 = 5;

/// What each socket carries across hibernation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Attachment {
    conn: ConnId,
    confab: bool,
    #[serde(default)]
    synced: bool,
    awareness: Vec<u64>,
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

/// A room's Durable Object.
#[durable_object]
pub struct RoomObject {
    state: State,
    room: RefCell<Option<Room>>,
    store: RefCell<Option<SqlStore>>,
    alarm_set: Cell<bool>,
    /// A handler is waiting to flush the room's queued updates.
    flush_pending: Cell<bool>,
    /// When updates were last relayed (ms).
    last_flush_ms: Cell<u64>,
    /// Open sockets by connection id, rebuilt with the room (so relaying a frame does
    /// not parse every socket's attachment).
    sockets: RefCell<BTreeMap<ConnId, WebSocket>>,
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

    /// Run `f` on the room, loading it (and the sockets that outlived it) first.
    fn with_room<T>(&self, f: impl FnOnce(&mut Room) -> T) -> std::result::Result<T, EdgeError> {
        let mut slot = self.room.borrow_mut();
        if slot.is_none() {
            let store = self.store()?;
            let mut room = Room::load(store.snapshot_parts()?, store.log()?, now_ms())
                .map_err(|e| EdgeError::Storage(format!("stored room could not be loaded: {e}")))?;
            room.set_coalescing(true);
            let sockets = self.state.get_websockets();
            let mut by_conn = self.sockets.borrow_mut();
            by_conn.clear();
            for ws in &sockets {
                if let Some(a) = attachment(ws) {
                    room.restore_connection(a.conn, a.confab, a.synced, a.awareness);
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

    /// Persist what the room applied; schedule compaction for when it is quiet.
    async fn persist(&self) -> std::result::Result<(), EdgeError> {
        let persisted = {
            let mut slot = self.room.borrow_mut();
            let Some(room) = slot.as_mut() else {
                return Ok(());
            };
            if !room.is_dirty() {
                return Ok(());
            }
            let mut store = self.store()?;
            store::persist(room, &mut *store, &Policy::default())?
        };
        if persisted.log_rows > 0 && !self.alarm_set.get() {
            self.alarm_set.set(true);
            let when = worker::Date::now().as_millis() as i64 + COMPACT_AFTER_MS;
            self.state
                .storage()
                .set_alarm(when)
                .await
                .map_err(|e| EdgeError::Storage(e.to_string()))?;
        }
        Ok(())
    }

    /// Relay and store the room's queued updates. At rest (the last flush was a while
    /// ago) that happens at once. In a burst, the first handler with something queued
    /// yields to a zero timer so the frames already waiting in this object's input are
    /// read first — the handlers that run meanwhile only queue — and then one merged
    /// frame per burst goes out to each client and one row is written.
    async fn flush_soon(&self) -> std::result::Result<(), EdgeError> {
        let queued = self
            .room
            .borrow()
            .as_ref()
            .is_some_and(|r| r.has_pending_relay());
        if !queued || self.flush_pending.replace(true) {
            return Ok(());
        }
        let now = now_ms();
        if now.saturating_sub(self.last_flush_ms.get()) < BURST_MS {
            worker::Delay::from(std::time::Duration::ZERO).await;
        }
        self.last_flush_ms.set(now_ms());
        self.flush_pending.set(false);
        let out = self.with_room(|room| room.flush_relay())?;
        // Relay first: receivers hold the update either way, and a room that loses it
        // before it is stored gets it back from them (or the sender) at their next sync.
        self.deliver(&out, None);
        self.persist().await
    }

    /// Close `ws` for a refused frame and remove its presence for everyone else.
    fn refuse(&self, ws: &WebSocket, conn: ConnId, code: u16, reason: &str) {
        let _ = ws.close(Some(code), Some(truncate_reason(reason)));
        self.sockets.borrow_mut().remove(&conn);
        if let Ok(out) = self.with_room(|room| room.disconnect(conn, now_ms())) {
            self.deliver(&out, Some(conn));
        }
    }

    /// The room's size, connections and storage. `wasmMemoryBytes` is the linear
    /// memory of this isolate's wasm instance (shared by the rooms it hosts; it grows
    /// and never shrinks, so it is the peak the rooms have needed).
    fn stats(&self) -> std::result::Result<serde_json::Value, EdgeError> {
        // Read before the room's answer below is encoded, so that does not count.
        let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().into();
        let wasm_bytes = memory
            .buffer()
            .dyn_into::<js_sys::ArrayBuffer>()
            .map(|b| b.byte_length())
            .unwrap_or(0);
        // The joiners' kept answer: measured once, and the next joiner reuses it.
        let (connections, presence, document_bytes) = self.with_room(|room| {
            (
                room.connection_count(),
                room.presence_count(),
                room.whole_room_frame().len(),
            )
        })?;
        let log = self.store()?.log_stats()?;
        Ok(serde_json::json!({
            "connections": connections,
            "presence": presence,
            "documentBytes": document_bytes,
            "storedLogUpdates": log.rows,
            "storedLogBytes": log.bytes,
            "storedSnapshotBytes": log.snapshot_bytes,
            "wasmMemoryBytes": wasm_bytes,
        }))
    }

    fn on_connect(&self, confab: bool) -> Result<Response> {
        // Load the room before accepting, so the new socket is not taken for one that
        // outlived an earlier instance of the room.
        let loaded = self.with_room(|_| ());
        let pair = WebSocketPair::new()?;
        let server = pair.server;
        self.state.accept_web_socket(&server);
        let conn = random_conn_id();
        server.serialize_attachment(Attachment {
            conn,
            confab,
            synced: false,
            awareness: Vec::new(),
        })?;
        self.sockets.borrow_mut().insert(conn, server.clone());
        match loaded.and_then(|()| self.with_room(|room| room.connect(conn, confab))) {
            Ok(out) => {
                for o in out {
                    server.send_with_bytes(&o.frame)?;
                }
            }
            Err(e) => {
                let _ = server.close(Some(1011), Some(truncate_reason(&e.to_string())));
            }
        }
        Response::from_websocket(pair.client)
    }

    fn on_close(&self, ws: &WebSocket) {
        let Some(a) = attachment(ws) else { return };
        self.sockets.borrow_mut().remove(&a.conn);
        if let Ok(out) = self.with_room(|room| room.disconnect(a.conn, now_ms())) {
            self.deliver(&out, Some(a.conn));
        }
    }
}

impl DurableObject for RoomObject {
    fn new(state: State, _env: Env) -> Self {
        RoomObject {
            state,
            room: RefCell::new(None),
            store: RefCell::new(None),
            alarm_set: Cell::new(false),
            flush_pending: Cell::new(false),
            last_flush_ms: Cell::new(0),
            sockets: RefCell::new(BTreeMap::new()),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let url = req.url()?;
        let confab = url
            .query_pairs()
            .any(|(k, v)| k == "protocol" && v == "confab");
        if url.path().ends_with("/conflicts") {
            // The same detection every client runs, on the room's own copy.
            return match self.with_room(|room| room.conflicts()) {
                Ok(list) => Response::from_json(&serde_json::json!({ "conflicts": list })),
                Err(err) => error_response(&err),
            };
        }
        if url.path().ends_with("/stats") {
            return match self.stats() {
                Ok(stats) => Response::from_json(&stats),
                Err(err) => error_response(&err),
            };
        }
        let upgrade = req.headers().get("Upgrade")?.unwrap_or_default();
        if !upgrade.eq_ignore_ascii_case("websocket") {
            return error_response(&EdgeError::UpgradeRequired(url.path().to_owned()));
        }
        self.on_connect(confab)
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        let Some(mut a) = attachment(&ws) else {
            let _ = ws.close(Some(1011), Some("connection state lost; reconnect"));
            return Ok(());
        };
        let bytes = match message {
            WebSocketIncomingMessage::Binary(bytes) => bytes,
            WebSocketIncomingMessage::String(_) => {
                self.refuse(
                    &ws,
                    a.conn,
                    1003,
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
                    ws.serialize_attachment(&a)?;
                }
                self.deliver(&out, None);
                if let Err(e) = self.flush_soon().await {
                    // Not stored: drop the socket so the client re-sends on reconnect.
                    self.refuse(&ws, a.conn, 1011, &e.to_string());
                    return Ok(());
                }
            }
            Ok((Err(err), _, _)) => {
                let (code, reason) = close_for(&err);
                self.refuse(&ws, a.conn, code, &reason);
            }
            Err(e) => self.refuse(&ws, a.conn, 1011, &e.to_string()),
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
        let code = match code {
            1005 | 1006 | 1015 => 1000,
            c => c as u16,
        };
        let _ = ws.close(Some(code), Some("bye"));
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        self.on_close(&ws);
        Ok(())
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm_set.set(false);
        let result = self
            .with_room(|room| {
                let mut store = self.store()?;
                if store.log_stats()?.rows > 0 {
                    store::compact(room, &mut *store, &Policy::default())?;
                }
                Ok(())
            })
            .and_then(|compacted| compacted);
        match result {
            Ok(()) => Response::ok("compacted"),
            Err(e) => Response::error(e.to_string(), 500),
        }
    }
}
