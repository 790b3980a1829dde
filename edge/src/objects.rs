//! What the space and inbox objects share with rooms: who a request is from, calls from
//! one object to another, and live JSON feeds over hibernating WebSockets.
//!
//! Calls between objects go to paths below `/internal/`: the Worker routes no such
//! path, so only another object can make them.

use serde_json::Value;
use worker::{Env, Request, RequestInit, Response, State, WebSocketPair};

use crate::error::EdgeError;
use crate::identity::{Identity, IDENTITY_HEADER};

/// Paths only objects call each other on.
pub const INTERNAL: &str = "/internal/";

/// Who the Worker says this request is from.
pub fn identity(req: &Request) -> Result<Identity, EdgeError> {
    let header = req
        .headers()
        .get(IDENTITY_HEADER)
        .ok()
        .flatten()
        .ok_or_else(|| EdgeError::BadRequest("requests reach objects through the Worker".into()))?;
    serde_json::from_str(&header).map_err(|e| EdgeError::Internal(format!("identity header: {e}")))
}

/// POST `body` to `path` (below [`INTERNAL`]) of object `name` in `binding`; returns its
/// JSON answer.
pub async fn call(
    env: &Env,
    binding: &str,
    name: &str,
    path: &str,
    body: &Value,
) -> Result<Value, EdgeError> {
    let mut init = RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_body(Some(body.to_string().into()));
    let url = format!("https://object{INTERNAL}{path}");
    let req = Request::new_with_init(&url, &init)?;
    let stub = env
        .durable_object(binding)?
        .id_from_name(name)?
        .get_stub()?;
    let mut res = stub.fetch_with_request(req).await?;
    let status = res.status_code();
    let text = res.text().await?;
    if status >= 400 {
        return Err(EdgeError::Internal(format!(
            "{binding} `{name}` answered {path} with {status}: {text}"
        )));
    }
    serde_json::from_str(&text).map_err(|e| EdgeError::Internal(format!("{path}: {e}")))
}

/// The JSON body of an internal call.
pub async fn body(req: &mut Request) -> Result<Value, EdgeError> {
    let bytes = req.bytes().await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| EdgeError::BadRequest(format!("internal call body: {e}")))
}

/// Accept a live feed socket (it hibernates with the object) and send it `first`.
pub fn accept_feed(state: &State, first: &Value) -> worker::Result<Response> {
    let pair = WebSocketPair::new()?;
    state.accept_web_socket(&pair.server);
    pair.server.send_with_str(first.to_string())?;
    Response::from_websocket(pair.client)
}

/// Send `message` to every live feed socket of the object.
pub fn broadcast(state: &State, message: &Value) {
    let text = message.to_string();
    for ws in state.get_websockets() {
        let _ = ws.send_with_str(&text);
    }
}

/// An object's SQLite store, opened on first use.
#[derive(Default)]
pub struct LazyStore(std::cell::RefCell<Option<crate::sql_store::SqlStore>>);

impl LazyStore {
    /// Run `f` on the store of `state`'s object.
    pub fn with<T>(
        &self,
        state: &State,
        f: impl FnOnce(&mut crate::sql_store::SqlStore) -> Result<T, EdgeError>,
    ) -> Result<T, EdgeError> {
        let mut slot = self.0.borrow_mut();
        if slot.is_none() {
            *slot = Some(crate::sql_store::SqlStore::open(state.storage().sql())?);
        }
        f(slot.as_mut().expect("just opened"))
    }

    /// Keep the name the Worker sends with a request (the object only knows its id).
    pub fn remember_name(&self, state: &State, req: &Request) -> Result<(), EdgeError> {
        let Some(name) = req.headers().get(crate::identity::ROOM_HEADER)? else {
            return Ok(());
        };
        let name = js_sys::decode_uri_component(&name)
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or(name);
        self.with(state, |s| {
            if s.get("name")?.as_deref() != Some(name.as_str()) {
                s.put("name", &name)?;
            }
            Ok(())
        })
    }

    /// The name kept by [`LazyStore::remember_name`].
    pub fn name(&self, state: &State) -> Result<Option<String>, EdgeError> {
        self.with(state, |s| s.get("name"))
    }
}

/// True for a WebSocket upgrade.
pub fn is_upgrade(req: &Request) -> Result<bool, EdgeError> {
    Ok(req
        .headers()
        .get("Upgrade")?
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket")))
}

/// What a feed object answers: JSON, or a new feed socket that starts with a message.
pub enum Answer {
    /// A JSON body.
    Json(Value),
    /// Open a feed, sending this first.
    Feed(Value),
}

/// Answer a feed object's request, or say why not.
pub fn respond(state: &State, answer: Result<Answer, EdgeError>) -> worker::Result<Response> {
    match answer {
        Ok(Answer::Json(value)) => Response::from_json(&value),
        Ok(Answer::Feed(first)) => accept_feed(state, &first),
        Err(err) => crate::worker_entry::error_response(&err),
    }
}

/// Answer a feed socket's close: the feeds only speak, so there is nothing to tidy.
pub fn closed(ws: &worker::WebSocket) {
    let _ = ws.close(Some(1000), Some("bye"));
}
