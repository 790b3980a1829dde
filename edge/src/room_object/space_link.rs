//! The room's ties to other objects: its space (who is in the room, reported through
//! core's throttle; what the space did to the room, recorded here), and people's
//! inboxes (the notifications the room raised, such as @mentions).

use confab_core::authority::op::Op;
use confab_core::authority::space::Report;
use confab_core::authority::{Event, EventKind};
use confab_core::protocol::close::CloseCode;
use serde_json::{json, Value};
use worker::Request;

use super::{now_ms, RoomObject};
use crate::error::EdgeError;
use crate::objects::{self, INTERNAL};
use crate::worker_entry::{INBOXES_BINDING, SPACES_BINDING};

/// Stored when the room was deleted from its space: it refuses every connection.
pub(super) const DELETED: &str = "deleted";

impl RoomObject {
    /// The space this room belongs to, if any (read once, then kept).
    fn space(&self) -> Result<Option<String>, EdgeError> {
        if let Some(known) = self.space.borrow().as_ref() {
            return Ok(known.clone());
        }
        let space = self.store()?.get("space")?.filter(|s| !s.is_empty());
        *self.space.borrow_mut() = Some(space.clone());
        Ok(space)
    }

    /// Why the room refuses connections, when it was deleted.
    pub(super) fn deleted_reason(&self) -> Result<Option<String>, EdgeError> {
        self.store()?.get(DELETED)
    }

    /// A call from another object (see [`crate::objects`]).
    pub(super) async fn on_internal(&self, mut req: Request) -> Result<Value, EdgeError> {
        let path = req.path();
        let body = objects::body(&mut req).await?;
        match path.strip_prefix(INTERNAL) {
            Some("space") => self.told_by_space(body).await,
            Some("task") => self.post_task(body).await,
            _ => Err(EdgeError::BadRequest(format!("no internal call {path}"))),
        }
    }

    /// A shared agent's scheduled task, due now: posted in the main conversation as a
    /// message from whoever scheduled it that mentions the agent. Returns the message.
    async fn post_task(&self, body: Value) -> Result<Value, EdgeError> {
        let field = |name: &str| {
            body[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| EdgeError::BadRequest(format!("scheduled task: no `{name}`")))
        };
        let (by, by_name, text) = (field("by")?, field("byName")?, field("text")?);
        let op = Op::parse("message.post", json!({ "text": text })).map_err(EdgeError::Op)?;
        let result = self
            .with_room(|room| {
                let actor = room.authority().scheduled_by(&by, &by_name)?;
                room.handle_op(&actor, op, now_ms())
            })?
            .map_err(EdgeError::Op)?;
        self.after_op().await?;
        Ok(result)
    }

    /// The space created, renamed, archived or deleted this room.
    async fn told_by_space(&self, body: Value) -> Result<Value, EdgeError> {
        let space = body["space"].as_str().unwrap_or_default().to_owned();
        let e = &body["event"];
        let action = e["action"]
            .as_str()
            .and_then(EventKind::parse)
            .ok_or_else(|| EdgeError::BadRequest(format!("space event: {e}")))?;
        let event = Event {
            action,
            actor: Some(e["actor"].clone()).filter(|a| !a.is_null()),
            target: e["target"].as_str().map(str::to_owned),
            detail: e["detail"].clone(),
            at: e["at"].as_u64().unwrap_or_else(now_ms),
        };
        self.store()?.put("space", &space)?;
        // The room may not have been reached through the Worker yet: keep its name.
        if let Some(name) = body["room"].as_str() {
            if self.store()?.get("name")?.is_none() {
                self.store()?.put("name", name)?;
            }
        }
        *self.space.borrow_mut() = Some(Some(space.clone()));
        self.with_room(|room| room.record_event(event))?;
        let settled = self.settle(false)?;
        self.send_settled(settled);
        if action == EventKind::RoomDeleted {
            let reason = format!("this room was deleted from space {space}");
            self.store()?.put(DELETED, &reason)?;
            for ws in self.state.get_websockets() {
                let _ = ws.close(Some(CloseCode::Removed.code()), Some(&reason));
            }
        } else {
            // The space knows nothing of who is here yet: tell it now.
            let present = self.with_room(|room| room.present())?;
            let report = {
                let mut throttle = self.throttle.borrow_mut();
                throttle.reset();
                throttle.changed(present, now_ms())
            };
            if let Some(report) = report {
                self.send_report(&space, report).await;
            }
        }
        self.schedule_alarm().await?;
        Ok(json!({ "recorded": action.as_str() }))
    }

    /// Someone may have come or gone: report it to the space when the throttle says.
    pub(super) async fn presence_moved(&self) {
        let Ok(Some(present)) = self.with_room(|room| room.take_present_change()) else {
            return;
        };
        let Ok(Some(space)) = self.space() else {
            return;
        };
        let report = self.throttle.borrow_mut().changed(present, now_ms());
        if let Some(report) = report {
            self.send_report(&space, report).await;
        }
        if let Err(e) = self.schedule_alarm().await {
            worker::console_error!("scheduling an alarm failed: {e}");
        }
    }

    /// The alarm: a held-back report or a heartbeat is due.
    pub(super) async fn report_due(&self, now: u64) {
        let Ok(Some(space)) = self.space() else {
            return;
        };
        let report = self.throttle.borrow_mut().due(now);
        if let Some(report) = report {
            self.send_report(&space, report).await;
        }
    }

    /// When the throttle wants to be asked again.
    pub(super) fn next_report_at(&self) -> Option<u64> {
        self.throttle.borrow().next_at()
    }

    async fn send_report(&self, space: &str, report: Report) {
        let Ok(Some(name)) = self.store().and_then(|s| s.get("name")) else {
            return;
        };
        let body = json!({ "room": name, "report": report });
        match objects::call(&self.env, SPACES_BINDING, space, "report", &body).await {
            // The space no longer lists this room: stop reporting to it.
            Ok(answer) if answer["listed"] == false => {
                *self.space.borrow_mut() = Some(None);
                if let Ok(mut store) = self.store() {
                    let _ = store.put("space", "");
                }
            }
            Ok(_) => {}
            Err(e) => worker::console_error!("reporting to space {space}: {e}"),
        }
    }

    /// Deliver the notifications the room raised to each person's inbox, with the
    /// room's name and space. A delivery that fails is logged; the room goes on.
    pub(super) async fn deliver_notices(&self) {
        let Ok(notices) = self.with_room(|room| room.take_notices()) else {
            return;
        };
        if notices.is_empty() {
            return;
        }
        let name = self.store().ok().and_then(|s| s.get("name").ok().flatten());
        let space = self.space().ok().flatten();
        for notice in notices {
            let mut notification = notice.notification;
            notification.room = name.clone();
            notification.space = space.clone();
            let body = json!({ "notification": notification, "from": notice.from });
            if let Err(e) =
                objects::call(&self.env, INBOXES_BINDING, &notice.user, "deliver", &body).await
            {
                worker::console_error!("delivering to {}'s inbox: {e}", notice.user);
            }
        }
    }
}
