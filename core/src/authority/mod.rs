//! The room's authority: members and roles, leases, agent activities, collaboration
//! sessions, suggestions and webhook subscriptions, and the events every change raises.
//!
//! Requests arrive as an [`Op`] — parsed once, the same from a socket, the REST API and
//! wasm — and [`Authority::handle`] answers each with a JSON result and the [`Event`]s
//! to audit, broadcast and deliver to webhooks. The state is small and serializes to one
//! JSON value the edge stores after every change.
//!
//! - [`op`]: every operation and its arguments; [`error`]: why one is refused.
//! - [`actor`]: who is asking; [`event`]: what happened.
//! - [`token`]: signed room tokens and roles; [`origin`]: which pages may connect;
//!   [`rest`]: the REST API's routes, parsed once onto operations.
//! - [`space`]: a team space's room directory (live counts reported by rooms);
//!   [`inbox`]: a person's notifications across rooms and spaces.
//! - [`locks`]: leases and fencing; [`members`], [`activity`], [`collaboration`],
//!   [`suggestion`], [`webhook`]: one file per part of the state.

pub mod activity;
pub mod actor;
pub mod collaboration;
pub mod error;
pub mod event;
pub mod guest;
pub mod inbox;
pub mod locks;
pub mod members;
pub mod mention;
pub mod op;
pub mod origin;
pub mod rest;
pub mod space;
pub mod suggestion;
pub mod token;
pub mod webhook;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use activity::{Activity, ActivityKind, ActivityStatus, AgentState};
pub use actor::{Actor, ANONYMOUS, SERVER};
pub use collaboration::{Collaboration, CollaborationStatus, Decision};
pub use error::{OpCode, OpError};
pub use event::{delivery_event, Event, EventKind};
pub use members::{Member, MAX_INVITE_SECS};
pub use op::Op;
pub use suggestion::{Suggestion, SuggestionStatus};

use locks::LockTable;
use token::{Claims, Role};
use webhook::{Targets, Webhook};

/// Activities and collaborations kept in the room's state (older ones stay in the
/// audit log).
pub const KEEP_RECORDS: usize = 500;
/// Longest free text in an activity, decision or title, in bytes.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// What an operation did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The JSON result for the caller.
    pub result: Value,
    /// Events to audit, broadcast and deliver.
    pub events: Vec<Event>,
    /// Claims to sign into a token for the caller (`member.invite`).
    pub mint: Option<Claims>,
    /// A user whose role changed: connections of theirs must learn their new role (or,
    /// with `None`, be closed because they left or were removed).
    pub role_change: Option<(String, Option<Role>)>,
}

impl Outcome {
    fn new(result: Value, events: Vec<Event>) -> Self {
        Outcome {
            result,
            events,
            mint: None,
            role_change: None,
        }
    }
}

/// What an operation handler returns.
type OpResult = Result<Outcome, OpError>;

/// The call an operation handler serves: who asks, under which operation, and when.
pub(crate) struct Cx<'a> {
    pub(crate) actor: &'a Actor,
    pub(crate) op: &'static str,
    pub(crate) now_ms: u64,
}

impl Cx<'_> {
    /// An event by the caller, now.
    fn event(&self, kind: EventKind, target: Option<&str>, detail: Value) -> Event {
        Event::new(kind, Some(self.actor), target, detail, self.now_ms)
    }

    /// Refuse unless the caller has at least `role`.
    pub(crate) fn require(&self, role: Role) -> Result<(), OpError> {
        Authority::require(self.actor, self.op, role)
    }

    /// Refuse unless the caller owns the room.
    fn require_owner(&self) -> Result<(), OpError> {
        if self.actor.role.is_owner() {
            Ok(())
        } else {
            Err(OpError::forbidden(format!(
                "{} is an owner action; {} is {}{}",
                self.op,
                self.actor.id,
                self.actor.role.as_str(),
                credential_hint(self.actor)
            )))
        }
    }
}

/// The room's authority state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Authority {
    /// Leases.
    pub locks: LockTable,
    members: BTreeMap<String, Member>,
    /// Users who left or were removed: refused until invited again.
    removed: BTreeSet<String>,
    activities: Vec<Activity>,
    collaborations: Vec<Collaboration>,
    webhooks: Vec<Webhook>,
    suggestions: Vec<Suggestion>,
    /// Agents whose status was set explicitly.
    agent_status: BTreeMap<String, AgentState>,
    next_id: u64,
    /// Everyone seen present in the room, by id (whom a message can @mention).
    #[serde(default)]
    seen: BTreeMap<String, mention::Known>,
    /// Which hosts webhooks may target: configuration, not state (public only unless
    /// the edge says it runs in development mode).
    #[serde(skip)]
    targets: Targets,
}

impl Authority {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Load from the JSON [`Authority::to_json`] wrote.
    pub fn from_json(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("stored room authority: {e}"))
    }

    /// Serialize for storage.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("authority state serializes")
    }

    /// Remember who is present (see [`Authority::known`]); true when someone is new
    /// or was renamed. The record keeps [`KEEP_RECORDS`] people at most.
    pub fn note_seen(&mut self, present: &[space::Present]) -> bool {
        let mut changed = false;
        for p in present {
            if self.seen.get(&p.id).is_some_and(|k| k.name == p.name) {
                continue;
            }
            if self.seen.len() >= KEEP_RECORDS && !self.seen.contains_key(&p.id) {
                continue;
            }
            let known = mention::Known {
                id: p.id.clone(),
                name: p.name.clone(),
            };
            self.seen.insert(p.id.clone(), known);
            changed = true;
        }
        changed
    }

    /// Everyone the room knows by name: its members and everyone it has seen present.
    pub fn known(&self) -> Vec<mention::Known> {
        let mut out: Vec<mention::Known> = self.seen.values().cloned().collect();
        for (id, m) in &self.members {
            if !self.seen.contains_key(id) {
                out.push(mention::Known {
                    id: id.clone(),
                    name: m.name.clone(),
                });
            }
        }
        out
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    /// May `actor` read the room's record (the audit log)? Owners and editors, who run
    /// the room and its leases, may; reviewers and viewers may not.
    pub fn may_read_audit(actor: &Actor) -> Result<(), OpError> {
        Self::require(actor, "reading the audit log", Role::Editor)
    }

    /// Refuse `op` unless `actor` has at least `role`.
    pub fn require(actor: &Actor, op: &str, role: Role) -> Result<(), OpError> {
        if actor.role.at_least(role) {
            Ok(())
        } else {
            Err(OpError::forbidden(format!(
                "{op} needs the {} role or above; {} is {}{}",
                role.as_str(),
                actor.id,
                actor.role.as_str(),
                credential_hint(actor)
            )))
        }
    }

    /// Lapse expired leases: the events to report.
    pub fn expire(&mut self, now_ms: u64) -> Vec<Event> {
        self.locks
            .expire(now_ms)
            .into_iter()
            .map(|l| {
                Event::new(
                    EventKind::LockExpired,
                    None,
                    Some(&l.resource),
                    json!({ "lease": l }),
                    now_ms,
                )
            })
            .collect()
    }

    /// Run an operation for `actor`. The room's own operations (messages, documents,
    /// presence, the summary, accepting a suggestion) are the room's to run: here they
    /// are refused as not found.
    pub fn handle(&mut self, actor: &Actor, op: Op, now_ms: u64) -> OpResult {
        let cx = Cx {
            actor,
            op: op.name(),
            now_ms,
        };
        let done = |result: Value| Ok(Outcome::new(result, vec![]));
        match op {
            Op::LockAcquire(a) => self.acquire(&cx, a),
            Op::LockRenew(a) => self.renew(&cx, a),
            Op::LockRelease(a) => self.release(&cx, a),
            Op::LockVerify(a) => self.verify(a, now_ms),
            Op::LockList => done(
                json!({ "leases": self.locks.leases(now_ms), "policies": self.locks.policies() }),
            ),
            Op::LockPolicy(a) => self.set_policy(&cx, a),
            Op::ActivityRecord(a) => self.record_activity(&cx, a),
            Op::ActivityComplete(a) => self.complete_activity(&cx, a),
            Op::ActivityList => done(json!({ "activities": self.activities })),
            Op::AgentStatus(a) => self.set_agent_status(&cx, a),
            Op::AgentList => self.list_agents(),
            Op::AgentInvite(a) => self.invite_agent(&cx, a),
            Op::CollaborationStart(a) => self.start_collaboration(&cx, a),
            Op::CollaborationDecide(a) => self.decide(&cx, a),
            Op::CollaborationEnd(a) => self.end_collaboration(&cx, a),
            Op::CollaborationList => done(json!({ "collaborations": self.collaborations })),
            Op::MemberList => done(self.members()),
            Op::MemberInvite(a) => self.invite(&cx, a),
            Op::MemberRole(a) => self.set_role(&cx, a),
            Op::MemberTransfer(a) => self.transfer(&cx, a),
            Op::MemberLeave => self.leave(&cx),
            Op::MemberRemove(a) => self.remove(&cx, a),
            Op::WebhookCreate(a) => self.create_webhook(&cx, a),
            Op::WebhookList => self.list_webhooks(&cx),
            Op::WebhookDelete(a) => self.delete_webhook(&cx, a),
            Op::SuggestionList => self.list_suggestions(),
            Op::RoomSummary
            | Op::PresenceList
            | Op::MessageList(_)
            | Op::MessagePost(_)
            | Op::DocumentList
            | Op::DocumentGet(_)
            | Op::DocumentWrite(_)
            | Op::SuggestionAccept(_)
            | Op::SuggestionReject(_)
            | Op::FileList(_)
            | Op::FileGet(_)
            | Op::FileWrite(_)
            | Op::FileMove(_)
            | Op::FileDelete(_)
            | Op::FileRestore(_)
            | Op::FolderCreate(_)
            | Op::Search(_) => Err(OpError::not_found(format!(
                "`{}` is the room's operation, not the authority's",
                cx.op
            ))),
        }
    }
}

/// For a caller who sent no credential (development mode's anonymous editor): how to
/// send one.
fn credential_hint(actor: &Actor) -> &'static str {
    if !actor.verified() {
        " (no token or API key came with the request: send the server's API key, \
         CONFAB_API_KEY, or a room token as `Authorization: Bearer <key or token>`)"
    } else {
        ""
    }
}

/// Refuse free text over [`MAX_TEXT_BYTES`].
fn check_text(what: &str, text: &str) -> Result<(), OpError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(OpError::invalid(format!(
            "{what} is {} bytes; the limit is {MAX_TEXT_BYTES}",
            text.len()
        )));
    }
    Ok(())
}

/// A record that may be dropped from the state once it is over.
trait Settled {
    /// True once it is over (done, failed, ended).
    fn settled(&self) -> bool;
}

/// Keep the most recent [`KEEP_RECORDS`], but never drop one still under way.
fn trim<T: Settled>(list: &mut Vec<T>) {
    while list.len() > KEEP_RECORDS {
        match list.iter().position(Settled::settled) {
            Some(i) => {
                list.remove(i);
            }
            None => break,
        }
    }
}

#[cfg(test)]
mod tests;
