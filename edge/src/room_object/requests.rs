//! HTTP requests to the room: who they are from, and the REST calls.

use confab_core::authority::op::Op;
use confab_core::authority::rest::{self, Call, Route, Runs};
use confab_core::authority::Actor;
use confab_core::room::store::Store;
use serde_json::{json, Value};
use wasm_bindgen::JsCast;
use worker::{Method, Request};

use super::{now_ms, RoomObject};
use crate::error::EdgeError;
use crate::identity::{Identity, IDENTITY_HEADER, ROOM_HEADER};
use crate::worker_entry::config;

/// What a REST call answers: JSON, or a response of its own (a download).
pub(super) enum Reply {
    /// A JSON body.
    Json(Value),
    /// The response as is.
    Raw(worker::Response),
}

impl RoomObject {
    /// Who the Worker says this request is from, with the role the room gives them.
    pub(super) fn actor(&self, req: &Request) -> Result<Actor, EdgeError> {
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
            Identity::Guest { actor } => Ok(actor),
            Identity::Token { claims } => self
                .with_room(|room| room.authority().admit(&claims))?
                .map_err(EdgeError::Op),
        }
    }

    /// One REST call.
    pub(super) async fn on_request(
        &self,
        mut req: Request,
        actor: Actor,
    ) -> Result<Reply, EdgeError> {
        let url = req.url()?;
        let query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        // The same strict parse the Worker routed by: one parser for every path. The
        // room's own path (`GET /rooms/<room>`) is the summary: no segments below it.
        let rest_path = match rest::route(req.method().as_ref(), url.path())? {
            Route::Api { rest, .. } => rest,
            Route::Room(_) => Vec::new(),
            Route::Health | Route::OpenApi | Route::Space { .. } | Route::Inbox { .. } => {
                return Err(EdgeError::BadRequest(format!(
                    "{} is not a REST path of a room",
                    url.path()
                )))
            }
        };
        if rest::runs(req.method().as_ref(), &rest_path) == Some(Runs::Upload) {
            let Call::Upload { path, fence } = rest::call("PUT", &rest_path, &query, None)? else {
                return Err(EdgeError::Internal(
                    "an upload route that is not one".into(),
                ));
            };
            return Ok(Reply::Json(self.upload(req, &actor, &path, fence).await?));
        }
        let max = self.with_room(|room| room.limits().max_body_bytes)?;
        let body = if matches!(req.method(), Method::Get | Method::Head | Method::Delete) {
            None
        } else {
            rest::parse_body(&req.bytes().await?, max)?
        };
        let json = match rest::call(req.method().as_ref(), &rest_path, &query, body)? {
            Call::Op(Op::Search(args)) => self.search(&actor, args).await,
            Call::Op(op) => {
                let result = self
                    .with_room(|room| room.handle_op(&actor, op, now_ms()))?
                    .map_err(EdgeError::Op)?;
                self.after_op().await?;
                Ok(result)
            }
            Call::Download { path, hash } => {
                return Ok(Reply::Raw(self.download(&path, hash.as_deref()).await?))
            }
            Call::Upload { .. } => Err(EdgeError::BadRequest(
                "uploads are `PUT /rooms/<room>/files/content?path=…`".into(),
            )),
            Call::Audit { after, limit } => {
                confab_core::authority::Authority::may_read_audit(&actor).map_err(EdgeError::Op)?;
                let entries = self.store()?.audit(after, limit, false)?;
                let next = entries.last().and_then(|e| e["seq"].as_u64());
                Ok(json!({ "entries": entries, "next": next }))
            }
            Call::Stats => self.stats(),
            Call::Conflicts => Ok(json!({ "conflicts": self.with_room(|room| room.conflicts())? })),
        };
        json.map(Reply::Json)
    }

    /// What follows an operation the room ran outside a socket (a REST call, a task
    /// its space scheduled): its events settled and sent, its changes stored soon, the
    /// alarm set, and the notifications it raised delivered.
    pub(super) async fn after_op(&self) -> Result<(), EdgeError> {
        let settled = self.settle(false)?;
        self.send_settled(settled);
        self.flush_soon().await?;
        self.store_blobs().await;
        self.schedule_alarm().await?;
        self.deliver_notices().await;
        Ok(())
    }

    /// The room's size, connections and storage. `wasmMemoryBytes` is the linear
    /// memory of this isolate's wasm instance (shared by the rooms it hosts; it grows
    /// and never shrinks, so it is the peak the rooms have needed).
    fn stats(&self) -> Result<Value, EdgeError> {
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
                room.whole_room_bytes(),
                room.size(),
            )
        })?;
        let log = self.store()?.log_stats()?;
        let search_rows = self.search_rows()?;
        Ok(json!({
            "connections": connections,
            "presence": presence,
            "documentBytes": document_bytes,
            "storedBytes": size.stored_bytes,
            "maxRoomBytes": size.max_room_bytes,
            "nearLimit": size.near_limit,
            "searchRows": search_rows,
            "storedLogUpdates": log.rows,
            "storedLogBytes": log.bytes,
            "storedSnapshotBytes": log.snapshot_bytes,
            "wasmMemoryBytes": wasm_bytes,
        }))
    }
}
