//! Fan-out objects: read-only mirrors of a room for big audiences (see
//! `ARCHITECTURE.md`, "Big audiences"). A viewer's socket to `/rooms/<room>?view=<region>`
//! is routed by the Worker to one of the room's fan-out objects (`<room>#<slot>`, the
//! slot chosen from the region by core). The object follows the room over one upstream
//! socket, as a viewer, and answers and relays to its own viewers from its replica
//! (core's [`Mirror`]), so a room with thousands of watchers carries a handful of
//! connections.
//!
//! Viewer sockets are accepted without hibernation: the object must stay in memory to
//! keep following the room. When it restarts, its sockets close, viewers reconnect and
//! ask for what they lack; the new instance follows the room again from nothing.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use confab_core::authority::Actor;
use confab_core::protocol::close::CloseCode;
use confab_core::room::fanout::Mirror;
use confab_core::room::{ConnId, Outgoing, Recipient};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use worker::{
    durable_object, DurableObject, Env, Headers, Request, RequestInit, Response, Result, State,
    WebSocketPair,
};

use crate::error::truncate_reason;
use crate::identity::{Identity, IDENTITY_HEADER, ROOM_HEADER};
use crate::worker_entry::ROOMS_BINDING;

/// Binding name of the fan-out objects (see `wrangler.toml`).
pub const FANOUT_BINDING: &str = "FANOUT";

/// How long to wait before following the room again after its socket closed (ms).
const RECONNECT_MS: i32 = 250;

fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

type Handler = Closure<dyn FnMut(JsValue)>;

/// One open socket and the handlers that keep its events coming.
struct Socket {
    ws: web_sys::WebSocket,
    _handlers: [Handler; 2],
}

impl Socket {
    /// Close the socket; its handlers are detached first, so no event of it reaches a
    /// handler that is gone.
    fn close(self, code: CloseCode, reason: &str) {
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close_with_code_and_reason(code.code(), reason);
    }
}

/// What a fan-out object holds in memory.
struct Fan {
    mirror: Mirror,
    /// The room's name, from the first viewer's request.
    room: Option<String>,
    /// This object's name (`<room>#<slot>`), for the room's records.
    name: String,
    upstream: Option<Socket>,
    connecting: bool,
    viewers: BTreeMap<ConnId, Socket>,
    /// Viewers served since this instance started (its connection ids are 1..).
    next_conn: ConnId,
}

type Shared = Rc<RefCell<Fan>>;

/// A room's fan-out object.
#[durable_object]
pub struct FanoutObject {
    env: Env,
    fan: Shared,
}

/// The bytes of a message event's binary data (text frames give `None`).
fn bytes_of(event: &JsValue) -> Option<Vec<u8>> {
    let data = js_sys::Reflect::get(event, &"data".into()).ok()?;
    data.dyn_ref::<js_sys::ArrayBuffer>()
        .map(|buffer| js_sys::Uint8Array::new(buffer).to_vec())
}

/// Send `frame` on `ws`, from a copy of its own: the runtime may read a view of wasm
/// memory after that memory was reused (the room read garbage when it did).
fn send(ws: &web_sys::WebSocket, frame: &[u8]) {
    let _ = ws.send_with_array_buffer(&js_sys::Uint8Array::from(frame).buffer());
}

/// Send frames to their viewers: each frame is copied out of wasm memory once.
fn deliver(fan: &Fan, out: &[Outgoing]) {
    for o in out {
        let buffer = js_sys::Uint8Array::from(o.frame.as_slice()).buffer();
        match &o.to {
            Recipient::Only(conn) => {
                if let Some(s) = fan.viewers.get(conn) {
                    let _ = s.ws.send_with_array_buffer(&buffer);
                }
            }
            to => {
                for (conn, s) in &fan.viewers {
                    if to.includes(*conn) {
                        let _ = s.ws.send_with_array_buffer(&buffer);
                    }
                }
            }
        }
    }
}

/// Follow the room: open the upstream socket (as a viewer the room admits by the
/// identity this object gives), say what the replica has, and relay what comes.
async fn follow(shared: Shared, env: Env) {
    let Some(room) = ({
        let mut fan = shared.borrow_mut();
        if fan.upstream.is_some() || fan.connecting {
            return;
        }
        fan.connecting = true;
        fan.room.clone()
    }) else {
        shared.borrow_mut().connecting = false;
        return;
    };
    let opened = open_upstream(&shared, &env, &room).await;
    let mut fan = shared.borrow_mut();
    fan.connecting = false;
    match opened {
        Ok(socket) => {
            let hello = fan.mirror.upstream_hello();
            send(&socket.ws, &hello);
            fan.upstream = Some(socket);
        }
        Err(e) => {
            worker::console_error!("fan-out {}: following the room failed: {e}", fan.name);
            drop(fan);
            follow_later(shared, env);
        }
    }
}

/// Follow the room again after a pause (its socket closed, or opening it failed).
fn follow_later(shared: Shared, env: Env) {
    wasm_bindgen_futures::spawn_local(async move {
        worker::Delay::from(std::time::Duration::from_millis(RECONNECT_MS as u64)).await;
        // Nobody left to serve: the next viewer follows the room again.
        if shared.borrow().viewers.is_empty() {
            return;
        }
        follow(shared, env).await;
    });
}

async fn open_upstream(shared: &Shared, env: &Env, room: &str) -> Result<Socket> {
    let name = shared.borrow().name.clone();
    let headers = Headers::new();
    headers.set("Upgrade", "websocket")?;
    let identity = Identity::Guest {
        actor: Actor::fanout(&name),
    };
    headers.set(IDENTITY_HEADER, &serde_json::to_string(&identity)?)?;
    let encoded = js_sys::encode_uri_component(room)
        .as_string()
        .unwrap_or_default();
    headers.set(ROOM_HEADER, &encoded)?;
    let mut init = RequestInit::new();
    init.with_headers(headers);
    let req = Request::new_with_init(&format!("https://room/rooms/{encoded}"), &init)?;
    let stub = env
        .durable_object(ROOMS_BINDING)?
        .id_from_name(room)?
        .get_stub()?;
    let res = stub.fetch_with_request(req).await?;
    let ws = res
        .websocket()
        .ok_or_else(|| worker::Error::RustError("the room answered without a socket".into()))?;
    ws.accept()?;
    let raw: web_sys::WebSocket = ws.as_ref().clone();
    raw.set_binary_type(web_sys::BinaryType::Arraybuffer);
    let on_message = {
        let shared = shared.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let Some(bytes) = bytes_of(&event) else {
                return;
            };
            let mut fan = shared.borrow_mut();
            match fan.mirror.from_upstream(&bytes, now_ms()) {
                Ok(relayed) => {
                    deliver(&fan, &relayed.to_viewers);
                    if let Some(up) = &fan.upstream {
                        for frame in &relayed.to_room {
                            send(&up.ws, frame);
                        }
                    }
                }
                Err(e) => worker::console_error!("fan-out {}: from the room: {e}", fan.name),
            }
        })
    };
    let on_close = {
        let shared = shared.clone();
        let env = env.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| {
            {
                let mut fan = shared.borrow_mut();
                fan.upstream = None;
                fan.mirror.upstream_lost();
            }
            follow_later(shared.clone(), env.clone());
        })
    };
    raw.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    raw.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    Ok(Socket {
        ws: raw,
        _handlers: [on_message, on_close],
    })
}

impl FanoutObject {
    /// A viewer's socket: greeted from the replica, answered and relayed to from then on.
    fn on_viewer(&self, room: String) -> Result<Response> {
        let pair = WebSocketPair::new()?;
        pair.server.accept()?;
        let raw: web_sys::WebSocket = pair.server.as_ref().clone();
        raw.set_binary_type(web_sys::BinaryType::Arraybuffer);
        let conn = {
            let mut fan = self.fan.borrow_mut();
            fan.room.get_or_insert(room);
            fan.next_conn += 1;
            fan.next_conn
        };
        let on_message = {
            let shared = self.fan.clone();
            let ws = raw.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                let mut fan = shared.borrow_mut();
                let Some(bytes) = bytes_of(&event) else {
                    let _ = ws.close_with_code_and_reason(
                        CloseCode::Unsupported.code(),
                        "text frames are not accepted; Confab speaks binary y-sync frames",
                    );
                    return;
                };
                match fan.mirror.from_viewer(conn, &bytes) {
                    Ok(out) => deliver(&fan, &out),
                    Err(e) => {
                        fan.mirror.leave(conn);
                        if let Some(s) = fan.viewers.remove(&conn) {
                            s.close(e.close_code(), &truncate_reason(&e.to_string()));
                        }
                    }
                }
            })
        };
        let on_close = {
            let shared = self.fan.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| {
                let mut fan = shared.borrow_mut();
                fan.mirror.leave(conn);
                fan.viewers.remove(&conn);
                // Nobody left to serve: stop following (the next viewer follows again,
                // asking only for what the replica lacks).
                if fan.viewers.is_empty() {
                    if let Some(up) = fan.upstream.take() {
                        up.close(CloseCode::Normal, "no viewers left");
                        fan.mirror.upstream_lost();
                    }
                }
            })
        };
        raw.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        raw.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        {
            let mut fan = self.fan.borrow_mut();
            fan.viewers.insert(
                conn,
                Socket {
                    ws: raw,
                    _handlers: [on_message, on_close],
                },
            );
            let greeting = fan.mirror.join(conn);
            deliver(&fan, &greeting);
        }
        wasm_bindgen_futures::spawn_local(follow(self.fan.clone(), self.env.clone()));
        Response::from_websocket(pair.client)
    }

    /// Drop every socket and the replica, as a restart of the object would.
    fn restart(&self) {
        let (viewers, upstream) = {
            let mut fan = self.fan.borrow_mut();
            fan.mirror = Mirror::new(now_ms());
            (std::mem::take(&mut fan.viewers), fan.upstream.take())
        };
        for s in viewers.into_values() {
            s.close(CloseCode::GoingAway, "the fan-out object restarted");
        }
        if let Some(up) = upstream {
            up.close(CloseCode::Normal, "restarting");
        }
    }

    /// What this object holds, for tests and operators.
    fn stats(&self) -> serde_json::Value {
        let fan = self.fan.borrow();
        serde_json::json!({
            "name": fan.name,
            "viewers": fan.viewers.len(),
            "following": fan.upstream.is_some(),
            "synced": fan.mirror.is_synced(),
            "served": fan.next_conn,
        })
    }
}

impl DurableObject for FanoutObject {
    fn new(state: State, env: Env) -> Self {
        let name = state.id().name().unwrap_or_default();
        FanoutObject {
            env,
            fan: Rc::new(RefCell::new(Fan {
                mirror: Mirror::new(now_ms()),
                room: None,
                name,
                upstream: None,
                connecting: false,
                viewers: BTreeMap::new(),
                next_conn: 0,
            })),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let path = req.path();
        if path == format!("{}stats", crate::objects::INTERNAL) {
            return Response::from_json(&self.stats());
        }
        // A restart as the platform does one (a deploy, an eviction): every socket
        // closes and the replica is gone; viewers reconnect to a fresh replica. (The
        // runtime's own `abort()` left local workerd unable to start the object again.)
        // Only another object, or a test through the runtime, reaches internal paths.
        if path == format!("{}restart", crate::objects::INTERNAL) {
            self.restart();
            return Response::ok("restarted");
        }
        let room = req
            .headers()
            .get(ROOM_HEADER)?
            .and_then(|name| js_sys::decode_uri_component(&name).ok()?.as_string())
            .ok_or_else(|| {
                worker::Error::RustError("viewers reach a fan-out object through the Worker".into())
            })?;
        self.on_viewer(room)
    }
}
