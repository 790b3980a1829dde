//! The space's REST calls (`/spaces/<space>/…`), parsed once, each with the role it
//! needs and the event it raises. The space's object only stores and sends what
//! [`Directory::handle`] decides.

use serde::Deserialize;
use serde_json::{json, Value};

use super::super::error::OpError;
use super::super::event::{Event, EventKind};
use super::super::rest::{RestError, MAX_PAGE};
use super::super::token::Role;
use super::super::Actor;
use super::team::{AgentPatch, MemberPatch, ScheduleRequest};
use super::{Directory, MAX_TITLE};

/// A change to a room of the space: a new title, archived or not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceRoomPatch {
    /// New title.
    pub title: Option<String>,
    /// Archive (true) or bring back (false).
    pub archived: Option<bool>,
}

/// A change to the space's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SpaceSettingsPatch {
    /// Allow sharing rooms outside the space.
    pub external_sharing: Option<bool>,
    /// Archive rooms idle this many days; `0` turns it off.
    pub auto_archive_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRoom {
    name: String,
    title: Option<String>,
}

/// What a request to a space asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpaceCall {
    /// `GET /spaces/<space>/rooms`: every room with its live counts.
    Rooms,
    /// `POST /spaces/<space>/rooms`: a new room.
    Create {
        /// The room's name (what clients connect to).
        name: String,
        /// Its title (the name when none is given).
        title: String,
    },
    /// `PATCH /spaces/<space>/rooms/<room>`.
    Update {
        /// The room.
        name: String,
        /// What changes.
        patch: SpaceRoomPatch,
    },
    /// `DELETE /spaces/<space>/rooms/<room>`.
    Delete {
        /// The room.
        name: String,
    },
    /// `GET /spaces/<space>/settings`.
    Settings,
    /// `PATCH /spaces/<space>/settings`.
    SetSettings(SpaceSettingsPatch),
    /// `GET /spaces/<space>/members`.
    Members,
    /// `PUT /spaces/<space>/members/<user>`: a role for a member (new or not).
    SetMember {
        /// The member's user id.
        user: String,
        /// The role, and a name for someone new.
        patch: MemberPatch,
    },
    /// `DELETE /spaces/<space>/members/<user>`.
    RemoveMember {
        /// The member's user id.
        user: String,
    },
    /// `GET /spaces/<space>/agents`: the shared agents, with what each is doing.
    Agents,
    /// `PUT /spaces/<space>/agents/<id>`: register an agent, or change it.
    PutAgent {
        /// The agent's user id.
        id: String,
        /// Its name, description and model.
        patch: AgentPatch,
    },
    /// `DELETE /spaces/<space>/agents/<id>`.
    RemoveAgent {
        /// The agent's user id.
        id: String,
    },
    /// `PUT /spaces/<space>/agents/<id>/schedule`: the agent's next task.
    Schedule {
        /// The agent's user id.
        id: String,
        /// Where, what and when.
        request: ScheduleRequest,
    },
    /// `DELETE /spaces/<space>/agents/<id>/schedule`.
    Unschedule {
        /// The agent's user id.
        id: String,
    },
    /// `GET /spaces/<space>/audit`: entries with `seq > after`, at most `limit`.
    Audit {
        /// Exclusive lower bound.
        after: u64,
        /// Page size.
        limit: u64,
    },
}

/// The label the workspace shows for a space role: the seeds' lead, contributor and
/// reviewer over the room roles owner, editor and reviewer.
pub fn space_role_label(role: Role) -> &'static str {
    match role {
        Role::Owner => "lead",
        Role::Editor => "contributor",
        Role::Reviewer => "reviewer",
        Role::Viewer => "viewer",
    }
}

impl SpaceCall {
    /// Parse `method` on the path below `/spaces/<space>` (split, percent-decoded).
    pub fn parse(
        method: &str,
        rest: &[String],
        query: &[(String, String)],
        body: Option<Value>,
    ) -> Result<SpaceCall, RestError> {
        let segs: Vec<&str> = rest.iter().map(String::as_str).collect();
        let call = match (method, segs.as_slice()) {
            ("GET", ["rooms"]) => SpaceCall::Rooms,
            ("POST", ["rooms"]) => {
                let new: NewRoom = from_body(body)?;
                let title = new.title.unwrap_or_else(|| new.name.clone());
                SpaceCall::Create {
                    name: new.name,
                    title,
                }
            }
            ("PATCH", ["rooms", name]) => SpaceCall::Update {
                name: (*name).to_owned(),
                patch: from_body(body)?,
            },
            ("DELETE", ["rooms", name]) => SpaceCall::Delete {
                name: (*name).to_owned(),
            },
            ("GET", ["members"]) => SpaceCall::Members,
            ("PUT", ["members", user]) => SpaceCall::SetMember {
                user: (*user).to_owned(),
                patch: from_body(body)?,
            },
            ("DELETE", ["members", user]) => SpaceCall::RemoveMember {
                user: (*user).to_owned(),
            },
            ("GET", ["agents"]) => SpaceCall::Agents,
            ("PUT", ["agents", id]) => SpaceCall::PutAgent {
                id: (*id).to_owned(),
                patch: from_body(body)?,
            },
            ("DELETE", ["agents", id]) => SpaceCall::RemoveAgent {
                id: (*id).to_owned(),
            },
            ("PUT", ["agents", id, "schedule"]) => SpaceCall::Schedule {
                id: (*id).to_owned(),
                request: from_body(body)?,
            },
            ("DELETE", ["agents", id, "schedule"]) => SpaceCall::Unschedule {
                id: (*id).to_owned(),
            },
            ("GET", ["settings"]) => SpaceCall::Settings,
            ("PATCH", ["settings"]) => SpaceCall::SetSettings(from_body(body)?),
            ("GET", ["audit"]) => {
                let number = |name: &str, default: u64| -> Result<u64, RestError> {
                    match query.iter().find(|(k, _)| k == name) {
                        None => Ok(default),
                        Some((_, v)) => v.parse().map_err(|_| {
                            RestError::BadRequest(format!(
                                "query parameter `{name}` must be a whole number; got `{v}`"
                            ))
                        }),
                    }
                };
                let limit = number("limit", 100)?;
                if limit == 0 || limit > MAX_PAGE {
                    return Err(RestError::BadRequest(format!(
                        "query parameter `limit` must be 1 to {MAX_PAGE}; got {limit}"
                    )));
                }
                SpaceCall::Audit {
                    after: number("after", 0)?,
                    limit,
                }
            }
            _ => {
                return Err(RestError::NotFound {
                    method: method.to_owned(),
                    path: format!("/spaces/<space>/{}", rest.join("/")),
                })
            }
        };
        Ok(call)
    }

    /// The least space role that may make this call: members read; contributors
    /// create, rename and archive rooms and manage the shared agents; leads delete
    /// rooms, change settings and decide who is a member with which role.
    pub fn needs(&self) -> Role {
        match self {
            SpaceCall::Rooms | SpaceCall::Settings | SpaceCall::Members | SpaceCall::Agents => {
                Role::Viewer
            }
            SpaceCall::Audit { .. }
            | SpaceCall::Create { .. }
            | SpaceCall::Update { .. }
            | SpaceCall::PutAgent { .. }
            | SpaceCall::RemoveAgent { .. }
            | SpaceCall::Schedule { .. }
            | SpaceCall::Unschedule { .. } => Role::Editor,
            SpaceCall::Delete { .. }
            | SpaceCall::SetSettings(_)
            | SpaceCall::SetMember { .. }
            | SpaceCall::RemoveMember { .. } => Role::Owner,
        }
    }
}

fn from_body<T: for<'de> Deserialize<'de>>(body: Option<Value>) -> Result<T, RestError> {
    let body = body.unwrap_or_else(|| json!({}));
    serde_json::from_value(body).map_err(|e| RestError::BadRequest(format!("request body: {e}")))
}

/// What a space call did: the answer, and the event to audit, show live and hand to
/// the room it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct SpaceOutcome {
    /// The JSON answer.
    pub result: Value,
    /// What happened (nothing, for a read).
    pub events: Vec<Event>,
    /// The room the event concerns (it records it in its own audit log and webhooks).
    pub room: Option<String>,
}

impl Directory {
    /// Run `call` for `actor` (whose role is its role in the space) at `now`. Audit
    /// reads are answered by the object, which holds the log.
    pub fn handle(
        &mut self,
        actor: &Actor,
        call: SpaceCall,
        now: u64,
    ) -> Result<SpaceOutcome, OpError> {
        if !actor.role.at_least(call.needs()) {
            return Err(OpError::forbidden(format!(
                "this needs a space {} or above; {} is a {}",
                space_role_label(call.needs()),
                actor.name,
                space_role_label(actor.role)
            )));
        }
        let event = |kind: EventKind, room: &str, detail: Value| {
            Event::new(kind, Some(actor), Some(room), detail, now)
        };
        let done = |result: Value, events: Vec<Event>, room: Option<&str>| SpaceOutcome {
            result,
            events,
            room: room.map(str::to_owned),
        };
        Ok(match call {
            SpaceCall::Rooms => done(json!({ "rooms": self.list(now) }), vec![], None),
            SpaceCall::Settings => done(json!(self.settings), vec![], None),
            SpaceCall::Audit { .. } => done(Value::Null, vec![], None),
            SpaceCall::Members => done(json!({ "members": self.members() }), vec![], None),
            SpaceCall::Agents => done(json!({ "agents": self.agents(now) }), vec![], None),
            SpaceCall::SetMember { user, patch } => {
                let role = self.set_member(&user, &patch, now)?;
                let detail = json!({ "user": user, "role": role, "label": space_role_label(role) });
                let ev = Event::new(
                    EventKind::SpaceMember,
                    Some(actor),
                    Some(&user),
                    detail,
                    now,
                );
                let member = self.members().into_iter().find(|m| m.id == user);
                done(json!(member), vec![ev], None)
            }
            SpaceCall::RemoveMember { user } => {
                self.remove_member(&user)?;
                let detail = json!({ "user": user, "removed": true });
                let ev = Event::new(
                    EventKind::SpaceMember,
                    Some(actor),
                    Some(&user),
                    detail,
                    now,
                );
                done(json!({ "removed": user }), vec![ev], None)
            }
            SpaceCall::PutAgent { id, patch } => {
                self.put_agent(&id, &patch, &actor.id)?;
                let detail =
                    json!({ "agent": id, "name": patch.name.trim(), "change": "registered" });
                let ev = Event::new(EventKind::SpaceAgent, Some(actor), Some(&id), detail, now);
                let agent = self.agents(now).into_iter().find(|a| a.id == id);
                done(json!(agent), vec![ev], None)
            }
            SpaceCall::RemoveAgent { id } => {
                self.remove_agent(&id)?;
                let detail = json!({ "agent": id, "change": "removed" });
                let ev = Event::new(EventKind::SpaceAgent, Some(actor), Some(&id), detail, now);
                done(json!({ "removed": id }), vec![ev], None)
            }
            SpaceCall::Schedule { id, request } => {
                let schedule = self.schedule_agent(&id, &request, actor, now)?;
                let detail = json!({ "agent": id, "change": "scheduled", "schedule": schedule });
                let ev = Event::new(EventKind::SpaceAgent, Some(actor), Some(&id), detail, now);
                done(json!(schedule), vec![ev], None)
            }
            SpaceCall::Unschedule { id } => {
                self.unschedule_agent(&id)?;
                let detail = json!({ "agent": id, "change": "unscheduled" });
                let ev = Event::new(EventKind::SpaceAgent, Some(actor), Some(&id), detail, now);
                done(json!({ "unscheduled": id }), vec![ev], None)
            }
            SpaceCall::Create { name, title } => {
                let room = json!(self.create(&name, &title, &actor.id, now)?);
                let ev = event(EventKind::RoomCreated, &name, json!({ "title": title }));
                done(room, vec![ev], Some(&name))
            }
            SpaceCall::Update { name, patch } => {
                if patch.title.is_none() && patch.archived.is_none() {
                    return Err(OpError::invalid(
                        "nothing to change: send `title`, `archived` or both",
                    ));
                }
                let mut events = Vec::new();
                if let Some(title) = &patch.title {
                    let was = self.rooms.get(&name).map(|e| e.room.title.clone());
                    self.rename(&name, title, now)?;
                    events.push(event(
                        EventKind::RoomRenamed,
                        &name,
                        json!({ "title": title.trim(), "was": was }),
                    ));
                }
                if let Some(archived) = patch.archived {
                    self.set_archived(&name, archived, now)?;
                    let kind = if archived {
                        EventKind::RoomArchived
                    } else {
                        EventKind::RoomRestored
                    };
                    let title = self.rooms.get(&name).map(|e| e.room.title.clone());
                    events.push(event(kind, &name, json!({ "title": title })));
                }
                let room = self.list(now).into_iter().find(|r| r.name == name);
                done(json!(room), events, Some(&name))
            }
            SpaceCall::Delete { name } => {
                let room = self.delete(&name)?;
                let ev = event(
                    EventKind::RoomDeleted,
                    &name,
                    json!({ "title": room.title }),
                );
                done(json!({ "deleted": name }), vec![ev], Some(&name))
            }
            SpaceCall::SetSettings(patch) => {
                if let Some(on) = patch.external_sharing {
                    self.settings.external_sharing = on;
                }
                if let Some(days) = patch.auto_archive_days {
                    self.settings.auto_archive_days = (days > 0).then_some(days);
                }
                let ev = Event::new(
                    EventKind::SpaceSettings,
                    Some(actor),
                    None,
                    json!(self.settings),
                    now,
                );
                done(json!(self.settings), vec![ev], None)
            }
        })
    }
}

/// The title check, shared with [`Directory::create`].
pub(super) fn check_title(title: &str) -> Result<String, OpError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(OpError::invalid("a room needs a title"));
    }
    if title.len() > MAX_TITLE {
        return Err(OpError::invalid(format!(
            "the title is {} bytes long; the limit is {MAX_TITLE}",
            title.len()
        )));
    }
    Ok(title.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::OpCode;
    use crate::doc::ParticipantKind;

    fn who(role: Role) -> Actor {
        Actor {
            id: "ada".into(),
            name: "Ada".into(),
            kind: ParticipantKind::Person,
            role,
            guest: false,
        }
    }

    fn parse(method: &str, path: &str, body: Value) -> Result<SpaceCall, RestError> {
        let rest: Vec<String> = path.split('/').map(str::to_owned).collect();
        SpaceCall::parse(method, &rest, &[], Some(body))
    }

    #[test]
    fn calls_parse_strictly_and_name_what_was_wrong() {
        assert_eq!(
            parse("POST", "rooms", json!({"name": "design"})).unwrap(),
            SpaceCall::Create {
                name: "design".into(),
                title: "design".into()
            }
        );
        let err = parse("PATCH", "rooms/design", json!({"titel": "x"})).unwrap_err();
        assert!(err.to_string().contains("unknown field `titel`"), "{err}");
        assert_eq!(
            parse("PUT", "rooms", json!({})).unwrap_err().code(),
            "not_found"
        );
        let err = SpaceCall::parse(
            "GET",
            &["audit".into()],
            &[("limit".into(), "0".into())],
            None,
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_request");
    }

    #[test]
    fn roles_decide_who_may_do_what_and_changes_raise_events() {
        let mut d = Directory::default();
        let viewer = who(Role::Viewer);
        let create = parse("POST", "rooms", json!({"name": "r", "title": "Roadmap"})).unwrap();
        let refused = d.handle(&viewer, create.clone(), 1).unwrap_err();
        assert_eq!(refused.code, OpCode::Forbidden);
        assert!(
            refused.message.contains("a space contributor or above"),
            "{refused:?}"
        );
        let made = d.handle(&who(Role::Editor), create, 1).unwrap();
        assert_eq!(made.events[0].action, EventKind::RoomCreated);
        assert_eq!(made.room.as_deref(), Some("r"));
        let both = json!({"title": "Roadmap 2", "archived": true});
        let archive = parse("PATCH", "rooms/r", both).unwrap();
        let out = d.handle(&who(Role::Editor), archive, 2).unwrap();
        let actions: Vec<EventKind> = out.events.iter().map(|e| e.action).collect();
        assert_eq!(actions, [EventKind::RoomRenamed, EventKind::RoomArchived]);
        assert_eq!(out.result["archived"], true);
        let delete = parse("DELETE", "rooms/r", json!(null)).unwrap();
        assert_eq!(
            d.handle(&who(Role::Editor), delete.clone(), 3)
                .unwrap_err()
                .code,
            OpCode::Forbidden,
            "only a lead deletes"
        );
        let gone = d.handle(&who(Role::Owner), delete, 3).unwrap();
        assert_eq!(gone.events[0].action, EventKind::RoomDeleted);
        assert!(!d.has("r"));
        let empty = parse("PATCH", "rooms/r", json!({})).unwrap();
        assert!(d
            .handle(&who(Role::Owner), empty, 4)
            .unwrap_err()
            .message
            .contains("nothing to change"));
    }
}
