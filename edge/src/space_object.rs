//! One Durable Object per team space: its room directory (core's
//! [`Directory`](confab_core::authority::space::Directory)), the audit log of what was
//! done to it, and a live feed of the directory for every open space page.
//!
//! - Rooms report who is in them (`/internal/report`); reports that cross, or come
//!   from an object that has since restarted, change nothing (core decides).
//! - Creating, renaming, archiving and deleting a room is audited here, shown live, and
//!   handed to the room, which records it in its own audit log and webhooks.
//! - The alarm fires when a silent room's counts go stale (so the feed shows it empty
//!   without anyone asking), when a shared agent's scheduled task is due (the room
//!   posts it, mentioning the agent) and, with auto-archive on, to archive idle rooms.
//! - Who may do what is the member list's call (core's `Directory::admit`).

use std::cell::RefCell;

use confab_core::authority::space::{Directory, Report, SpaceCall};
use confab_core::authority::token::Role;
use confab_core::authority::{Actor, Event};
use serde_json::{json, Value};
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, State, WebSocket,
    WebSocketIncomingMessage,
};

use crate::error::EdgeError;
use crate::identity::Identity;
use crate::objects::{self, Answer, LazyStore, INTERNAL};
use crate::sql_store::SqlStore;
use crate::worker_entry::ROOMS_BINDING;

/// How often a space with auto-archive on looks for idle rooms.
const ARCHIVE_CHECK_MS: u64 = 60 * 60 * 1000;

fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

/// A space's Durable Object.
#[durable_object]
pub struct SpaceObject {
    state: State,
    env: Env,
    directory: RefCell<Option<Directory>>,
    store: LazyStore,
}

/// The role a caller has in a space. The server key leads; in development mode a
/// caller without a token leads too (there is no one else to); a token minted for
/// `space:<space>` carries its role.
fn space_actor(identity: Identity) -> Actor {
    match identity {
        Identity::Server => Actor::server(),
        Identity::Anonymous | Identity::Guest { .. } => Actor {
            role: Role::Owner,
            ..Actor::anonymous()
        },
        Identity::Token { claims } => Actor {
            id: claims.sub,
            name: claims.name,
            kind: claims.kind,
            role: claims.role,
            guest: false,
        },
    }
}

impl SpaceObject {
    fn with_store<T>(
        &self,
        f: impl FnOnce(&mut SqlStore) -> std::result::Result<T, EdgeError>,
    ) -> std::result::Result<T, EdgeError> {
        self.store.with(&self.state, f)
    }

    /// Run `f` on the directory, loading it first; a change is stored before `f`'s
    /// answer is used.
    fn with_directory<T>(
        &self,
        f: impl FnOnce(&mut Directory) -> T,
    ) -> std::result::Result<T, EdgeError> {
        let mut slot = self.directory.borrow_mut();
        if slot.is_none() {
            let loaded = match self.with_store(|s| s.get("directory"))? {
                Some(json) => Directory::from_json(&json).map_err(EdgeError::Storage)?,
                None => Directory::default(),
            };
            *slot = Some(loaded);
        }
        Ok(f(slot.as_mut().expect("just loaded")))
    }

    fn save(&self) -> std::result::Result<(), EdgeError> {
        let json = self.with_directory(|d| d.to_json())?;
        self.with_store(|s| s.put("directory", &json))
    }

    /// Every room as of now, everyone seen in them, the members, the shared agents and
    /// the settings (`GET /spaces/<space>`).
    fn summary(&self) -> std::result::Result<Value, EdgeError> {
        let now = now_ms();
        self.with_directory(|d| {
            json!({
                "rooms": d.list(now),
                "people": d.people(now),
                "members": d.members(),
                "agents": d.agents(now),
                "settings": d.settings,
            })
        })
    }

    /// The caller's role in this space: their member record's, or why they may not
    /// come in (a person new to the space is recorded as a member).
    fn admit(&self, actor: Actor) -> std::result::Result<Actor, EdgeError> {
        let (actor, joined) = self
            .with_directory(|d| d.admit(actor, now_ms()))?
            .map_err(EdgeError::Op)?;
        if joined {
            self.save()?;
            self.publish()?;
        }
        Ok(actor)
    }

    /// The feed's message: the summary, typed.
    fn snapshot(&self) -> std::result::Result<Value, EdgeError> {
        let mut message = self.summary()?;
        message["type"] = json!("rooms");
        Ok(message)
    }

    fn publish(&self) -> std::result::Result<(), EdgeError> {
        objects::broadcast(&self.state, &self.snapshot()?);
        Ok(())
    }

    /// Audit `event`, show it live, and return its entry.
    fn record(&self, event: &Event) -> std::result::Result<Value, EdgeError> {
        let actor = event.actor.as_ref().map(Value::to_string);
        let seq = self.with_store(|s| {
            s.append_audit(
                event.at,
                event.action.as_str(),
                actor.as_deref(),
                event.target.as_deref(),
                &event.detail.to_string(),
            )
        })?;
        let mut entry = serde_json::to_value(event)
            .map_err(|e| EdgeError::Internal(format!("event {}: {e}", event.action)))?;
        entry["seq"] = json!(seq);
        objects::broadcast(&self.state, &json!({ "type": "event", "event": entry }));
        Ok(entry)
    }

    /// Set the alarm for the next count to go stale, the next scheduled task, or the
    /// next auto-archive check.
    async fn schedule(&self) -> std::result::Result<(), EdgeError> {
        let now = now_ms();
        let (stale, task, archiving) = self.with_directory(|d| {
            (
                d.next_stale_at(now),
                d.next_task_at(),
                d.settings.auto_archive_days,
            )
        })?;
        let archive = archiving.map(|_| now + ARCHIVE_CHECK_MS);
        if let Some(next) = [stale, task, archive].into_iter().flatten().min() {
            self.state
                .storage()
                .set_alarm(next.saturating_sub(now) as i64)
                .await
                .map_err(|e| EdgeError::Storage(format!("setting the alarm: {e}")))?;
        }
        Ok(())
    }

    /// Tell room `room` what happened to it: it records the event in its own audit log
    /// and webhooks, learns its space (on creation) or closes (on deletion).
    async fn tell_room(
        &self,
        space: &str,
        room: &str,
        event: &Event,
    ) -> std::result::Result<(), EdgeError> {
        let body = json!({ "space": space, "room": room, "event": event });
        objects::call(&self.env, ROOMS_BINDING, room, "space", &body)
            .await
            .map(drop)
    }

    async fn on_internal(&self, mut req: Request) -> std::result::Result<Value, EdgeError> {
        let path = req.path();
        let body = objects::body(&mut req).await?;
        match path.strip_prefix(INTERNAL) {
            Some("report") => {
                let room = body["room"].as_str().unwrap_or_default().to_owned();
                let report: Report = serde_json::from_value(body["report"].clone())
                    .map_err(|e| EdgeError::BadRequest(format!("room report: {e}")))?;
                let taken = self.with_directory(|d| d.report(&room, report))?;
                if taken {
                    self.save()?;
                    self.publish()?;
                    self.schedule().await?;
                }
                // A room this space does not list is told so, and stops reporting.
                let listed = self.with_directory(|d| d.has(&room))?;
                Ok(json!({ "taken": taken, "listed": listed }))
            }
            _ => Err(EdgeError::BadRequest(format!("no internal call {path}"))),
        }
    }

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
        let (space, rest) =
            match confab_core::authority::rest::route(req.method().as_ref(), url.path())? {
                confab_core::authority::rest::Route::Space { space, rest } => (space, rest),
                _ => return Err(EdgeError::BadRequest("not a space path".into())),
            };
        if rest.is_empty() && req.method() == Method::Get {
            return self.summary();
        }
        let body = if matches!(req.method(), Method::Get | Method::Head | Method::Delete) {
            None
        } else {
            confab_core::authority::rest::parse_body(&req.bytes().await?, 64 * 1024)?
        };
        let call = SpaceCall::parse(req.method().as_ref(), &rest, &query, body)?;
        if let SpaceCall::Audit { after, limit } = call {
            if !actor.role.at_least(call.needs()) {
                return Err(EdgeError::Op(confab_core::authority::OpError::forbidden(
                    "the space's audit log is for its leads and contributors",
                )));
            }
            let entries = self.with_store(|s| s.audit(after, limit, false))?;
            let next = entries.last().and_then(|e| e["seq"].as_u64());
            return Ok(json!({ "entries": entries, "next": next }));
        }
        let outcome = self
            .with_directory(|d| d.handle(&actor, call, now_ms()))?
            .map_err(EdgeError::Op)?;
        if !outcome.events.is_empty() {
            self.save()?;
            for event in &outcome.events {
                self.record(event)?;
            }
            self.publish()?;
            if let Some(room) = &outcome.room {
                // The directory has changed whatever the room says; a room that cannot
                // be told now hears nothing of it, and the log says so.
                for event in &outcome.events {
                    if let Err(e) = self.tell_room(&space, room, event).await {
                        worker::console_error!("telling room {room}: {e}");
                    }
                }
            }
            self.schedule().await?;
        }
        Ok(outcome.result)
    }

    /// Hand the tasks due now to their rooms, each posted there as a message that
    /// mentions its agent; each run (or why it could not be posted) is audited.
    async fn run_due_tasks(&self, space: &str, now: u64) -> std::result::Result<(), EdgeError> {
        let due = self.with_directory(|d| d.take_due(now))?;
        if due.is_empty() {
            return Ok(());
        }
        self.save()?;
        for (agent, name, schedule) in due {
            let body = json!({
                "space": space,
                "room": schedule.room,
                "by": schedule.by,
                "byName": schedule.by_name,
                "text": schedule.message(&name),
            });
            let posted =
                objects::call(&self.env, ROOMS_BINDING, &schedule.room, "task", &body).await;
            let mut detail = json!({ "agent": agent, "change": "ran", "room": schedule.room, "task": schedule.task });
            match posted {
                Ok(answer) => detail["message"] = answer["id"].clone(),
                Err(e) => detail["error"] = json!(e.to_string()),
            }
            let event = Event::new(
                confab_core::authority::EventKind::SpaceAgent,
                None,
                Some(&agent),
                detail,
                now,
            );
            self.record(&event)?;
        }
        Ok(())
    }

    /// Run the tasks that are due, auto-archive idle rooms and show counts that went
    /// stale.
    async fn on_alarm(&self) -> std::result::Result<(), EdgeError> {
        let now = now_ms();
        let space = self.store.name(&self.state)?.unwrap_or_default();
        self.run_due_tasks(&space, now).await?;
        let archived = self.with_directory(|d| d.auto_archive(now))?;
        if !archived.is_empty() {
            self.save()?;
        }
        for room in archived {
            let event = Event::new(
                confab_core::authority::EventKind::RoomArchived,
                None,
                Some(&room),
                json!({ "reason": "idle" }),
                now,
            );
            self.record(&event)?;
            if let Err(e) = self.tell_room(&space, &room, &event).await {
                worker::console_error!("telling room {room}: {e}");
            }
        }
        self.publish()?;
        self.schedule().await
    }
}

impl DurableObject for SpaceObject {
    fn new(state: State, env: Env) -> Self {
        SpaceObject {
            state,
            env,
            directory: RefCell::new(None),
            store: LazyStore::default(),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        if req.path().starts_with(INTERNAL) {
            let answer = self.on_internal(req).await.map(Answer::Json);
            return objects::respond(&self.state, answer);
        }
        let answer = async {
            self.store.remember_name(&self.state, &req)?;
            let actor = self.admit(space_actor(objects::identity(&req)?))?;
            if objects::is_upgrade(&req)? {
                return Ok(Answer::Feed(self.snapshot()?));
            }
            self.on_request(req, actor).await.map(Answer::Json)
        }
        .await;
        objects::respond(&self.state, answer)
    }

    async fn websocket_message(
        &self,
        _ws: WebSocket,
        _message: WebSocketIncomingMessage,
    ) -> Result<()> {
        // The feed only speaks; what a page sends is ignored.
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        objects::closed(&ws);
        Ok(())
    }

    async fn alarm(&self) -> Result<Response> {
        match self.on_alarm().await {
            Ok(()) => Response::ok("done"),
            Err(e) => Response::error(e.to_string(), 500),
        }
    }
}
