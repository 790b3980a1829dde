//! One Durable Object per room: accepts WebSockets with the hibernation API, feeds
//! their frames to `confab-core`'s [`Room`], sends what it returns, and persists the
//! room in SQLite. The in-memory room is rebuilt from storage whenever the object
//! starts (first use, after eviction, after hibernation or a restart).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use confab_core::authority::webhook::{self, Answer, Attempt};
use confab_core::authority::{Actor, Event, EventKind};
use confab_core::protocol::close::CloseCode;
use confab_core::room::store::{self, Policy, Store};
use confab_core::room::{ConnId, Outgoing, Recipient, Room};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::{
    durable_object, DurableObject, Env, Fetch, Headers, Method, Request, RequestInit,
    RequestRedirect, Response, Result, State, WebSocket, WebSocketIncomingMessage, WebSocketPair,
};

use wasm_bindgen::JsCast;

use crate::error::{truncate_reason, EdgeError};
use crate::identity::{Identity, IDENTITY_HEADER, ROOM_HEADER};
use crate::sql_store::SqlStore;
use crate::worker_entry::{config, error_response};
use confab_core::authority::rest::{self, Call, Route};

/// Events kept in memory for the live feed (the audit log on disk keeps them all).
const FEED_CAPACITY: usize = 1000;

/// Look for new conflicts this long after the document last changed.
const CONFLICT_CHECK_AFTER_MS: u64 = 2_000;

/// Compact the update log this long after the last write, when the room is quiet.
const COMPACT_AFTER_MS: u64 = 30_000;

/// Updates that arrive within this long of the last relay are taken for a burst and
/// coalesced (see `RoomObject::flush_soon`).
const BURST_MS: u64 = 5;

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
    env: Env,
    /// The live feed's last events.
    feed: RefCell<VecDeque<Value>>,
    /// Conflict ids already announced (`None` until first read from storage).
    known_conflicts: RefCell<Option<BTreeSet<String>>>,
    /// When to look for new conflicts.
    conflict_check_at: Cell<Option<u64>>,
    /// When compaction is due.
    compact_at: Cell<Option<u64>>,
    /// The alarm this instance last set.
    alarm_at: Cell<Option<u64>>,
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
            let config = config(&self.env)?;
            room.set_limits(config.limits);
            let mut authority = match store.get("authority")? {
                Some(json) => confab_core::authority::Authority::from_json(&json)
                    .map_err(EdgeError::Storage)?,
                None => confab_core::authority::Authority::new(),
            };
            authority.set_webhook_targets(webhook::Targets::for_dev_mode(config.dev));
            room.set_authority(authority);
            if let (Ok(secret), Some(name)) = (config.secret(), store.get("name")?) {
                room.set_token_key(secret.as_bytes(), &name);
            }
            let sockets = self.state.get_websockets();
            let mut by_conn = self.sockets.borrow_mut();
            by_conn.clear();
            for ws in &sockets {
                if let Some(a) = attachment(ws) {
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
        if persisted.log_rows > 0 && self.compact_at.get().is_none() {
            self.compact_at.set(Some(now_ms() + COMPACT_AFTER_MS));
        }
        if persisted.log_rows > 0 && self.conflict_check_at.get().is_none() {
            self.conflict_check_at
                .set(Some(now_ms() + CONFLICT_CHECK_AFTER_MS));
        }
        self.schedule_alarm().await
    }

    /// Set the alarm for the earliest thing due: compaction, a conflict check, a lease
    /// expiring, a webhook delivery. The object runs no interval timers, so between
    /// alarms it can hibernate.
    async fn schedule_alarm(&self) -> std::result::Result<(), EdgeError> {
        let leases = self
            .room
            .borrow()
            .as_ref()
            .and_then(|r| r.authority().locks.next_expiry());
        let deliveries = self.store()?.next_delivery_at()?;
        let next = [
            self.compact_at.get(),
            self.conflict_check_at.get(),
            leases,
            deliveries,
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else { return Ok(()) };
        if self
            .alarm_at
            .get()
            .is_some_and(|at| at <= next && at > now_ms())
        {
            return Ok(());
        }
        self.alarm_at.set(Some(next));
        // `set_alarm` takes an offset from now in milliseconds, not a time.
        let offset = next.saturating_sub(now_ms()) as i64;
        self.state
            .storage()
            .set_alarm(offset)
            .await
            .map_err(|e| EdgeError::Storage(e.to_string()))
    }

    /// Audit, show live and queue for webhooks what the room recorded; send frames it
    /// produced outside a received frame; close connections it dropped; store its
    /// authority state if it changed (then `true`: its leases may need an alarm).
    /// Synchronous: the rows commit with the event.
    fn settle(&self, with_edits: bool) -> std::result::Result<bool, EdgeError> {
        let (events, pending, closures, authority) = {
            let mut slot = self.room.borrow_mut();
            let Some(room) = slot.as_mut() else {
                return Ok(false);
            };
            (
                room.take_events(with_edits),
                room.take_pending(),
                room.take_closures(),
                room.take_authority_json(),
            )
        };
        let changed = authority.is_some();
        if let Some(json) = authority {
            self.store()?.put("authority", &json)?;
        }
        self.record(events)?;
        self.deliver(&pending, None);
        for c in closures {
            let ws = self.sockets.borrow().get(&c.conn).cloned();
            if let Some(ws) = ws {
                self.refuse(&ws, c.conn, c.code, &c.reason);
            }
        }
        Ok(changed)
    }

    /// Append events to the audit log, the live feed and the webhook queue.
    fn record(&self, events: Vec<Event>) -> std::result::Result<(), EdgeError> {
        if events.is_empty() {
            return Ok(());
        }
        let name = self.store()?.get("name")?.unwrap_or_default();
        let mut frames = Vec::new();
        for e in events {
            let actor = e.actor.as_ref().map(Value::to_string);
            let seq = self.store()?.append_audit(
                e.at,
                e.action.as_str(),
                actor.as_deref(),
                e.target.as_deref(),
                &e.detail.to_string(),
            )?;
            let mut entry = serde_json::to_value(&e).unwrap_or_default();
            entry["seq"] = json!(seq);
            let hooks = self
                .room
                .borrow()
                .as_ref()
                .map(|r| r.authority().hooks_for(e.action))
                .unwrap_or_default();
            for hook in hooks {
                let body = json!({
                    "id": format!("{seq}-{}", hook.id),
                    "room": name,
                    "event": entry,
                });
                self.store()?
                    .enqueue_delivery(&hook.id, &body.to_string(), e.at)?;
            }
            frames.push(confab_core::protocol::event(&entry));
            let mut feed = self.feed.borrow_mut();
            if feed.len() == FEED_CAPACITY {
                feed.pop_front();
            }
            feed.push_back(entry);
        }
        let confab: Vec<ConnId> = self
            .room
            .borrow()
            .as_ref()
            .map(|r| {
                self.sockets
                    .borrow()
                    .keys()
                    .copied()
                    .filter(|c| r.is_confab(*c))
                    .collect()
            })
            .unwrap_or_default();
        let out: Vec<Outgoing> = frames
            .into_iter()
            .map(|frame| Outgoing {
                to: Recipient::Many(confab.clone()),
                frame,
            })
            .collect();
        self.deliver(&out, None);
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
        if !queued {
            return self.ack_if_stored();
        }
        if self.flush_pending.replace(true) {
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
        self.persist().await?;
        self.settle(true)?;
        // Stored: now the senders may forget what they sent.
        let acks = self.with_room(|room| room.take_acks())?;
        self.deliver(&acks, None);
        Ok(())
    }

    /// Acknowledge at once the updates that changed nothing (the room had them), when
    /// no flush is under way that will store and acknowledge them.
    fn ack_if_stored(&self) -> std::result::Result<(), EdgeError> {
        if self.flush_pending.get() {
            return Ok(());
        }
        let acks = self.with_room(|room| {
            if room.is_dirty() || room.has_pending_relay() {
                Vec::new()
            } else {
                room.take_acks()
            }
        })?;
        self.deliver(&acks, None);
        Ok(())
    }

    /// Close `ws` for a refused frame and remove its presence for everyone else.
    fn refuse(&self, ws: &WebSocket, conn: ConnId, code: CloseCode, reason: &str) {
        let _ = ws.close(Some(code.code()), Some(truncate_reason(reason)));
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
        let (connections, presence, document_bytes, size) = self.with_room(|room| {
            (
                room.connection_count(),
                room.presence_count(),
                room.whole_room_frame().len(),
                room.size(),
            )
        })?;
        let log = self.store()?.log_stats()?;
        Ok(serde_json::json!({
            "connections": connections,
            "presence": presence,
            "documentBytes": document_bytes,
            "storedBytes": size.stored_bytes,
            "maxRoomBytes": size.max_room_bytes,
            "nearLimit": size.near_limit,
            "storedLogUpdates": log.rows,
            "storedLogBytes": log.bytes,
            "storedSnapshotBytes": log.snapshot_bytes,
            "wasmMemoryBytes": wasm_bytes,
        }))
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
        server.serialize_attachment(Attachment {
            conn,
            confab,
            synced: false,
            awareness: Vec::new(),
            actor: actor.clone(),
        })?;
        self.sockets.borrow_mut().insert(conn, server.clone());
        match loaded.and_then(|_| self.with_room(|room| room.connect_as(conn, confab, actor))) {
            Ok(out) => {
                for o in out {
                    server.send_with_bytes(&o.frame)?;
                }
                if let Err(e) = self.settle(false) {
                    worker::console_error!("settling a join failed: {e}");
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
        if let Err(e) = self.settle(false) {
            worker::console_error!("settling a leave failed: {e}");
        }
    }

    /// Who the Worker says this request is from, with the role the room gives them.
    fn actor(&self, req: &Request) -> std::result::Result<Actor, EdgeError> {
        let header = req
            .headers()
            .get(IDENTITY_HEADER)
            .ok()
            .flatten()
            .ok_or_else(|| {
                EdgeError::BadRequest("requests reach a room through the Worker".into())
            })?;
        let identity: Identity = serde_json::from_str(&header)
            .map_err(|e| EdgeError::Internal(format!("identity header: {e}")))?;
        // Remember the room's name (the object only knows its id), to sign invitations.
        if let Some(name) = req.headers().get(ROOM_HEADER).ok().flatten() {
            let name = js_sys::decode_uri_component(&name)
                .ok()
                .and_then(|n| n.as_string())
                .unwrap_or(name);
            let mut store = self.store()?;
            if store.get("name")?.as_deref() != Some(name.as_str()) {
                store.put("name", &name)?;
                drop(store);
                if let (Some(room), Ok(config)) =
                    (self.room.borrow_mut().as_mut(), config(&self.env))
                {
                    if let Ok(secret) = config.secret() {
                        room.set_token_key(secret.as_bytes(), &name);
                    }
                }
            }
        }
        match identity {
            Identity::Server => Ok(Actor::server()),
            Identity::Anonymous => Ok(Actor::anonymous()),
            Identity::Token { claims } => self
                .with_room(|room| room.authority().admit(&claims))?
                .map_err(EdgeError::Op),
        }
    }

    /// One REST call.
    async fn on_request(
        &self,
        mut req: Request,
        actor: Actor,
    ) -> std::result::Result<Value, EdgeError> {
        let url = req.url()?;
        let query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        // The same strict parse the Worker routed by: one parser for every path.
        let Route::Api {
            rest: rest_path, ..
        } = rest::route(req.method().as_ref(), url.path())?
        else {
            return Err(EdgeError::BadRequest(format!(
                "{} is not a REST path of a room",
                url.path()
            )));
        };
        let max = self.with_room(|room| room.limits().max_body_bytes)?;
        let body = if matches!(req.method(), Method::Get | Method::Head | Method::Delete) {
            None
        } else {
            rest::parse_body(&req.bytes().await?, max)?
        };
        match rest::call(req.method().as_ref(), &rest_path, &query, body)? {
            Call::Op(op) => {
                let result = self
                    .with_room(|room| room.handle_op(&actor, op, now_ms()))?
                    .map_err(EdgeError::Op)?;
                self.settle(false)?;
                self.flush_soon().await?;
                self.schedule_alarm().await?;
                Ok(result)
            }
            Call::Audit { after, limit } => {
                confab_core::authority::Authority::may_read_audit(&actor).map_err(EdgeError::Op)?;
                let entries = self.store()?.audit(after, limit, false)?;
                let next = entries.last().and_then(|e| e["seq"].as_u64());
                Ok(json!({ "entries": entries, "next": next }))
            }
            Call::Stats => self.stats(),
            Call::Conflicts => Ok(json!({ "conflicts": self.with_room(|room| room.conflicts())? })),
        }
    }

    /// Deliver due webhooks: signed POSTs; failures retried with backoff, each attempt
    /// audited.
    async fn deliver_webhooks(&self) -> std::result::Result<(), EdgeError> {
        let due = self.store()?.due_deliveries(now_ms())?;
        for (id, hook_id, body, attempts) in due {
            let hook = self
                .room
                .borrow()
                .as_ref()
                .and_then(|r| r.authority().hook(&hook_id).cloned());
            let Some(hook) = hook else {
                // The hook was deleted: drop its queue.
                self.store()?.settle_delivery(id, attempts, None)?;
                continue;
            };
            let attempt = attempts + 1;
            let sent_at = now_ms();
            let allowed = self
                .room
                .borrow()
                .as_ref()
                .map_or(Ok(()), |r| r.authority().check_hook_target(&hook));
            let answer = match allowed {
                Ok(()) => {
                    let signature = webhook::signature(&hook.secret, sent_at, &body);
                    post(&hook.url, &body, &signature, &hook_id).await
                }
                Err(refused) => Answer::Refused(refused),
            };
            let judged = Attempt::judge(answer, attempt, sent_at);
            self.store()?
                .settle_delivery(id, attempt, judged.retry_at())?;
            let delivery = serde_json::from_str::<Value>(&body)
                .ok()
                .map(|b| b["id"].clone())
                .unwrap_or_default();
            let event =
                confab_core::authority::delivery_event(&hook, delivery, attempt, &judged, sent_at);
            self.with_room(|room| room.record_event(event))?;
        }
        Ok(())
    }

    /// Announce conflicts the room has not announced before.
    fn check_conflicts(&self) -> std::result::Result<(), EdgeError> {
        let list = self.with_room(|room| room.conflicts())?;
        let mut known = self.known_conflicts.borrow_mut();
        let first_look = known.is_none();
        let set = known.get_or_insert_with(|| {
            self.store()
                .ok()
                .and_then(|s| s.get("conflicts.known").ok().flatten())
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_default()
        });
        let mut events = Vec::new();
        for c in &list {
            let v = serde_json::to_value(c).unwrap_or_default();
            let id = v["id"].as_str().unwrap_or_default().to_owned();
            if set.insert(id.clone()) {
                events.push(Event::new(
                    EventKind::ConflictRaised,
                    None,
                    Some(&id),
                    json!({ "conflict": v }),
                    now_ms(),
                ));
            }
        }
        if !events.is_empty() || first_look {
            self.store()?.put(
                "conflicts.known",
                &serde_json::to_string(&*set).unwrap_or_default(),
            )?;
        }
        drop(known);
        self.with_room(|room| events.into_iter().for_each(|e| room.record_event(e)))?;
        Ok(())
    }
}

/// POST a webhook body without following redirects (the signature must reach only the
/// subscribed host; a 3xx comes back as the answer): the receiver's status, or why it
/// could not be reached (its URL redacted).
async fn post(url: &str, body: &str, signature: &str, hook: &str) -> Answer {
    let sent = async {
        let headers = Headers::new();
        headers.set("Content-Type", "application/json")?;
        headers.set("Confab-Signature", signature)?;
        headers.set("Confab-Webhook", hook)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual)
            .with_body(Some(wasm_bindgen::JsValue::from_str(body)));
        let req = Request::new_with_init(url, &init)?;
        Fetch::Request(req).send().await.map(|r| r.status_code())
    };
    match sent.await {
        Ok(status) => Answer::Status(status),
        Err(e) => Answer::Unreachable(format!("could not reach {}: {e}", webhook::redact_url(url))),
    }
}

impl DurableObject for RoomObject {
    fn new(state: State, env: Env) -> Self {
        RoomObject {
            state,
            env,
            feed: RefCell::new(VecDeque::new()),
            known_conflicts: RefCell::new(None),
            conflict_check_at: Cell::new(None),
            compact_at: Cell::new(None),
            alarm_at: Cell::new(None),
            room: RefCell::new(None),
            store: RefCell::new(None),
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
        let upgrade = req
            .headers()
            .get("Upgrade")?
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        let actor = self.actor(&req);
        if upgrade {
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
            Ok(value) => Response::from_json(&value),
            Err(err) => error_response(&err),
        }
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        let Some(mut a) = attachment(&ws) else {
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
                    ws.serialize_attachment(&a)?;
                }
                self.deliver(&out, None);
                match self.settle(false) {
                    // A lease taken or renewed over the socket expires by an alarm.
                    Ok(true) => {
                        if let Err(e) = self.schedule_alarm().await {
                            worker::console_error!("scheduling an alarm failed: {e}");
                        }
                    }
                    Ok(false) => {}
                    Err(e) => worker::console_error!("settling a frame failed: {e}"),
                }
                if let Err(e) = self.flush_soon().await {
                    // Not stored: drop the socket so the client re-sends on reconnect.
                    self.refuse(&ws, a.conn, CloseCode::Internal, &e.to_string());
                    return Ok(());
                }
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
        self.alarm_at.set(None);
        let now = now_ms();
        let mut result: std::result::Result<(), EdgeError> =
            self.with_room(|room| room.expire_leases(now)).map(|_| ());
        if result.is_ok() {
            result = self.deliver_webhooks().await;
        }
        if result.is_ok() && self.conflict_check_at.get().is_some_and(|at| at <= now) {
            self.conflict_check_at.set(None);
            result = self.check_conflicts();
        }
        if result.is_ok() && self.compact_at.get().is_some_and(|at| at <= now) {
            self.compact_at.set(None);
            result = self
                .with_room(|room| {
                    let mut store = self.store()?;
                    if store.log_stats()?.rows > 0 {
                        store::compact(room, &mut *store, &Policy::default())?;
                    }
                    Ok(())
                })
                .and_then(|compacted| compacted);
        }
        if result.is_ok() {
            result = self.settle(false).map(drop);
        }
        // Whatever happened, keep the next alarm (retries, leases, compaction) set.
        let next = self.schedule_alarm().await;
        match result.and(next) {
            Ok(()) => Response::ok("done"),
            Err(e) => Response::error(e.to_string(), 500),
        }
    }
}
