//! The room's authority: members and roles, leases, agent activities, collaboration
//! sessions and webhook subscriptions, and the events every change raises.
//!
//! Requests arrive as named operations with JSON arguments — the same from a socket
//! and from the REST API — and [`Authority::handle`] answers each with a JSON result
//! and the [`Event`]s to audit, broadcast and deliver to webhooks. The state is small
//! and serializes to one JSON value the edge stores after every change.

pub mod locks;
pub mod origin;
pub mod token;
pub mod webhook;

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use thiserror::Error;

use crate::authority::locks::{Holder, LeasePolicy, LockError, LockTable};
use crate::authority::token::{Claims, Role};
use crate::doc::{Participant, ParticipantKind};
use crate::names::named_enum;
use webhook::{Attempt, Targets, UrlError, Webhook};

/// Activities and collaborations kept in the room's state (older ones stay in the
/// audit log).
pub const KEEP_RECORDS: usize = 500;
/// Longest free text in an activity, decision or title, in bytes.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// The user id of [`Actor::anonymous`] (a token's user id may not be this).
pub const ANONYMOUS: &str = "anonymous";
/// The user id of [`Actor::server`] (a token's user id may not be this).
pub const SERVER: &str = "server";

/// Who is asking: a participant with their effective role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Person or agent.
    pub kind: ParticipantKind,
    /// Effective role in this room.
    pub role: Role,
}

impl Actor {
    /// The app's backend, calling with the server API key: an owner.
    pub fn server() -> Self {
        Actor {
            id: SERVER.into(),
            name: SERVER.into(),
            kind: ParticipantKind::Agent,
            role: Role::Owner,
        }
    }

    /// True for [`Actor::anonymous`]: no token vouches for who this is.
    pub fn is_anonymous(&self) -> bool {
        self.id == ANONYMOUS
    }

    /// Anyone connecting without a token in development mode: an editor.
    pub fn anonymous() -> Self {
        Actor {
            id: ANONYMOUS.into(),
            name: ANONYMOUS.into(),
            kind: ParticipantKind::Person,
            role: Role::Editor,
        }
    }

    /// The participant part.
    pub fn participant(&self) -> Participant {
        Participant {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind,
        }
    }

    fn holder(&self) -> Holder {
        Holder {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind,
        }
    }

    fn summary(&self) -> Value {
        json!({ "id": self.id, "name": self.name, "kind": self.kind.as_str() })
    }
}

/// Something that happened, to audit, show live and send to webhooks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// What happened (`join`, `lock.acquired`, ... see [`webhook::EVENTS`]).
    pub action: String,
    /// Who did it (`None` for the room itself, e.g. a lease expiring).
    pub actor: Option<Value>,
    /// What it was done to (a resource, user, document, id).
    pub target: Option<String>,
    /// Details.
    pub detail: Value,
    /// When, ms since the Unix epoch.
    pub at: u64,
}

impl Event {
    /// An event by `actor` (or the room, with `None`).
    pub fn new(
        action: &str,
        actor: Option<&Actor>,
        target: Option<&str>,
        detail: Value,
        at: u64,
    ) -> Self {
        Event {
            action: action.to_owned(),
            actor: actor.map(Actor::summary),
            target: target.map(str::to_owned),
            detail,
            at,
        }
    }
}

/// Why an operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct OpError {
    /// Stable machine-readable code.
    pub code: &'static str,
    /// HTTP status for the REST API.
    pub status: u16,
    /// What was wrong.
    pub message: String,
}

impl OpError {
    /// A bad request naming what was wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        OpError {
            code: "invalid_request",
            status: 400,
            message: message.into(),
        }
    }

    /// The actor's role does not allow this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        OpError {
            code: "forbidden",
            status: 403,
            message: message.into(),
        }
    }

    /// Nothing with that id.
    pub fn not_found(message: impl Into<String>) -> Self {
        OpError {
            code: "not_found",
            status: 404,
            message: message.into(),
        }
    }
}

impl From<LockError> for OpError {
    fn from(e: LockError) -> Self {
        let status = match e {
            LockError::Held { .. } => 409,
            LockError::NotHeld { .. } => 409,
            LockError::Invalid(_) => 400,
        };
        OpError {
            code: e.code(),
            status,
            message: e.to_string(),
        }
    }
}

named_enum! {
    /// What an agent's recorded activity is.
    pub enum ActivityKind {
        /// The agent started working.
        AgentStarted = "agent_started",
        /// The agent finished.
        AgentCompleted = "agent_completed",
        /// Read from memory.
        MemoryRead = "memory_read",
        /// Wrote to memory.
        MemoryWrite = "memory_write",
        /// Deleted from memory.
        MemoryDelete = "memory_delete",
        /// A council debated.
        CouncilDebate = "council_debate",
        /// A council synthesized positions.
        CouncilSynthesis = "council_synthesis",
        /// A council decided.
        CouncilDecision = "council_decision",
        /// A task was assigned.
        TaskAssigned = "task_assigned",
        /// A task was completed.
        TaskCompleted = "task_completed",
        /// A message was sent.
        MessageSent = "message_sent",
        /// A collaboration started.
        CollaborationStarted = "collaboration_started",
        /// A collaboration ended.
        CollaborationEnded = "collaboration_ended",
    }
}

named_enum! {
    /// Where an activity stands.
    pub enum ActivityStatus {
        /// Under way.
        Started = "started",
        /// Done.
        Completed = "completed",
        /// Gave up or failed.
        Failed = "failed",
    }
}

/// One recorded agent activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// Id (`a<number>`).
    pub id: String,
    /// The agent's user id.
    pub agent: String,
    /// The agent's name.
    pub agent_name: String,
    /// What kind of activity.
    pub kind: String,
    /// One line on what it is.
    pub summary: String,
    /// Free-form details.
    pub detail: Value,
    /// Under way, done or failed.
    pub status: String,
    /// What came of it.
    pub result: Option<String>,
    /// A collaboration it belongs to.
    pub collaboration: Option<String>,
    /// Started, ms since the Unix epoch.
    pub started_at: u64,
    /// Completed, ms since the Unix epoch.
    pub completed_at: Option<u64>,
}

/// A decision point in a collaboration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Who decided.
    pub by: String,
    /// What was decided.
    pub text: String,
    /// When, ms since the Unix epoch.
    pub at: u64,
}

/// A collaboration session between participants (agents and people).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collaboration {
    /// Id (`c<number>`).
    pub id: String,
    /// What it is about.
    pub title: String,
    /// Who started it.
    pub started_by: String,
    /// Participants' user ids.
    pub participants: Vec<String>,
    /// Decision points, in order.
    pub decisions: Vec<Decision>,
    /// `active` or `ended`.
    pub status: String,
    /// How it ended.
    pub outcome: Option<String>,
    /// Started, ms since the Unix epoch.
    pub started_at: u64,
    /// Ended, ms since the Unix epoch.
    pub ended_at: Option<u64>,
}

/// A member's record, once the room has one (an invitation, a role change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Role in this room; overrides the role in older tokens.
    pub role: Role,
    /// Display name, when known.
    pub name: String,
}

/// An update held for review because its author had no lease on the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    /// Id (`s<number>`).
    pub id: String,
    /// The document it changes.
    pub document: String,
    /// Author's user id.
    pub author: String,
    /// Author's name.
    pub author_name: String,
    /// The held update (v1, base64url).
    pub update: String,
    /// `pending`, `accepted` or `rejected`.
    pub status: String,
    /// When, ms since the Unix epoch.
    pub at: u64,
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
    agent_status: BTreeMap<String, String>,
    next_id: u64,
    /// Which hosts webhooks may target: configuration, not state (public only unless
    /// the edge says it runs in development mode).
    #[serde(skip)]
    targets: Targets,
}

/// Parse an operation's JSON arguments (`null` reads as `{}`); the error names `op` and
/// the field.
pub(crate) fn args<T: DeserializeOwned>(op: &str, value: Value) -> Result<T, OpError> {
    let value = if value.is_null() { json!({}) } else { value };
    serde_json::from_value(value).map_err(|e| OpError::invalid(format!("{op}: {e}")))
}

fn check_text(what: &str, text: &str) -> Result<(), OpError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(OpError::invalid(format!(
            "{what} is {} bytes; the limit is {MAX_TEXT_BYTES}",
            text.len()
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AcquireArgs {
    resource: String,
    ttl_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RenewArgs {
    resource: String,
    fence: u64,
    ttl_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaseArgs {
    resource: String,
    fence: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyArgs {
    document: String,
    policy: Option<LeasePolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivityArgs {
    kind: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    detail: Value,
    #[serde(default)]
    collaboration: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteArgs {
    id: String,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    failed: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusArgs {
    status: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CollabArgs {
    title: String,
    #[serde(default)]
    participants: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideArgs {
    id: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndArgs {
    id: String,
    #[serde(default)]
    outcome: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleArgs {
    user: String,
    role: Role,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserArgs {
    user: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdArgs {
    id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InviteArgs {
    role: Role,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    kind: Option<ParticipantKind>,
    #[serde(default)]
    ttl_secs: Option<u64>,
}

/// Longest invitation, in seconds (7 days); the default is one hour.
pub const MAX_INVITE_SECS: u64 = 7 * 24 * 3600;

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

    fn next_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    /// The role someone connecting with these claims has in this room, or why they may
    /// not join: the member record (role changes, transfers) wins over the token.
    pub fn admit(&self, claims: &Claims) -> Result<Actor, OpError> {
        if self.removed.contains(&claims.sub) {
            return Err(OpError::forbidden(format!(
                "{} left or was removed from this room; an owner must invite them again",
                claims.sub
            )));
        }
        let role = self
            .members
            .get(&claims.sub)
            .map_or(claims.role, |m| m.role);
        Ok(Actor {
            id: claims.sub.clone(),
            name: claims.name.clone(),
            kind: claims.kind,
            role,
        })
    }

    /// The role the member list gives `user`, if it has a record.
    pub fn member_role(&self, user: &str) -> Option<Role> {
        self.members.get(user).map(|m| m.role)
    }

    /// Hold `update` by `actor` for `document`; returns the suggestion's id.
    pub fn add_suggestion(
        &mut self,
        actor: &Actor,
        document: &str,
        update: &[u8],
        now_ms: u64,
    ) -> String {
        let id = self.next_id("s");
        self.suggestions.push(Suggestion {
            id: id.clone(),
            document: document.to_owned(),
            author: actor.id.clone(),
            author_name: actor.name.clone(),
            update: crate::authority::token::base64url(update),
            status: "pending".into(),
            at: now_ms,
        });
        trim_suggestions(&mut self.suggestions);
        id
    }

    /// A pending suggestion's document and update.
    pub fn suggestion_update(&self, id: &str) -> Result<(String, Vec<u8>), OpError> {
        let s = self
            .suggestions
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| OpError::not_found(format!("no suggestion `{id}`")))?;
        if s.status != "pending" {
            return Err(OpError {
                code: "conflict",
                status: 409,
                message: format!("suggestion `{id}` is already {}", s.status),
            });
        }
        let update = crate::authority::token::unbase64url(&s.update)
            .ok_or_else(|| OpError::invalid(format!("stored suggestion `{id}` is damaged")))?;
        Ok((s.document.clone(), update))
    }

    /// Only an owner, or the holder of the document's lease, may `verb` (accept or
    /// reject) a suggestion for `doc`.
    pub fn may_decide_suggestion(
        &self,
        actor: &Actor,
        doc: &str,
        verb: &str,
        now_ms: u64,
    ) -> Result<(), OpError> {
        // A lease counts only while its holder may still write: a role change ends the
        // lease, and this holds even for one that outlived a change (a token's role).
        let holder = actor.role.can_edit()
            && self.locks.policies().contains_key(doc)
            && self.locks.write_check(doc, &actor.id, now_ms).is_ok();
        if actor.role.is_owner() || holder {
            Ok(())
        } else {
            Err(OpError::forbidden(format!(
                "only an owner or the holder of `doc:{doc}` may {verb} suggestions for it"
            )))
        }
    }

    /// Mark a suggestion accepted or rejected.
    pub fn resolve_suggestion(&mut self, id: &str, accepted: bool) {
        if let Some(s) = self.suggestions.iter_mut().find(|s| s.id == id) {
            s.status = if accepted { "accepted" } else { "rejected" }.into();
        }
    }

    /// The room's members with a record, and their roles.
    pub fn members(&self) -> Value {
        let list: Vec<Value> = self
            .members
            .iter()
            .map(|(id, m)| json!({ "user": id, "name": m.name, "role": m.role }))
            .collect();
        json!({ "members": list })
    }

    /// Webhooks subscribed to `action`.
    pub fn hooks_for(&self, action: &str) -> Vec<Webhook> {
        self.webhooks
            .iter()
            .filter(|h| h.events.iter().any(|e| e == action))
            .cloned()
            .collect()
    }

    /// A webhook by id.
    pub fn hook(&self, id: &str) -> Option<&Webhook> {
        self.webhooks.iter().find(|h| h.id == id)
    }

    /// Let webhooks target loopback, private and link-local hosts ([`Targets::Any`], for
    /// development mode) or public hosts only ([`Targets::Public`], the default).
    pub fn set_webhook_targets(&mut self, targets: Targets) {
        self.targets = targets;
    }

    /// May a delivery go to `hook`'s URL? Not when the URL breaks a rule it was stored
    /// before (or a deployment that left development mode).
    pub fn check_hook_target(&self, hook: &Webhook) -> Result<(), UrlError> {
        webhook::check_url(&hook.url, self.targets).map(|_| ())
    }

    /// May `actor` read the room's record (the audit log)? Owners and editors, who run
    /// the room and its leases, may; reviewers and viewers may not.
    pub fn may_read_audit(actor: &Actor) -> Result<(), OpError> {
        Self::require(actor, "reading the audit log", Role::Editor)
    }

    /// End the live leases of `user`, whose role is now `role` (`None`: they left or
    /// were removed), when that role may not hold them (viewers and reviewers hold no
    /// write leases): one `lock.released` event by `by` for each, with the reason.
    fn end_leases(
        &mut self,
        by: &Actor,
        user: &str,
        role: Option<Role>,
        now_ms: u64,
    ) -> Vec<Event> {
        if role.is_some_and(Role::can_edit) {
            return Vec::new();
        }
        let reason = match role {
            Some(role) => format!("{user} is now {}", role.as_str()),
            None => format!("{user} left or was removed from the room"),
        };
        self.locks
            .release_held_by(user, now_ms)
            .into_iter()
            .map(|lease| {
                Event::new(
                    "lock.released",
                    Some(by),
                    Some(&lease.resource),
                    json!({ "lease": lease, "reason": reason }),
                    now_ms,
                )
            })
            .collect()
    }

    /// Refuse giving `user` the role `role` when that would leave the room with no
    /// owner: an owner does not demote themselves (they transfer ownership), and no
    /// one demotes the last owner on record.
    fn keep_an_owner(
        &self,
        actor: &Actor,
        op: &str,
        user: &str,
        role: Role,
    ) -> Result<(), OpError> {
        if role.is_owner() {
            return Ok(());
        }
        let person = *actor != Actor::server();
        let is_self = person && user == actor.id;
        let owner = self
            .members
            .get(user)
            .map_or(is_self && actor.role.is_owner(), |m| m.role.is_owner());
        if !owner {
            return Ok(());
        }
        if is_self {
            return Err(OpError::invalid(format!(
                "{op}: {user} owns this room and cannot make themselves {}; transfer \
                 ownership first",
                role.as_str()
            )));
        }
        let another = (person && actor.role.is_owner())
            || self
                .members
                .iter()
                .any(|(id, m)| id != user && m.role.is_owner());
        if another {
            Ok(())
        } else {
            Err(OpError::invalid(format!(
                "{op}: {user} is the room's last owner; making them {} would leave the room \
                 with no owner; transfer ownership first",
                role.as_str()
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
                    "lock.expired",
                    None,
                    Some(&l.resource),
                    json!({ "lease": l }),
                    now_ms,
                )
            })
            .collect()
    }

    /// An agent's status: explicit, else active while it has an activity under way.
    pub fn agent_status(&self, agent: &str) -> &str {
        if let Some(s) = self.agent_status.get(agent) {
            return s;
        }
        let busy = self
            .activities
            .iter()
            .any(|a| a.agent == agent && a.status == ActivityStatus::Started.as_str());
        if busy {
            "active"
        } else {
            "idle"
        }
    }

    fn require_owner(actor: &Actor, op: &str) -> Result<(), OpError> {
        if actor.role.is_owner() {
            Ok(())
        } else {
            Err(OpError::forbidden(format!(
                "{op} is an owner action; {} is {}",
                actor.id,
                actor.role.as_str()
            )))
        }
    }

    /// Refuse `op` unless `actor` has at least `role`.
    pub(crate) fn require(actor: &Actor, op: &str, role: Role) -> Result<(), OpError> {
        if actor.role.at_least(role) {
            Ok(())
        } else {
            Err(OpError::forbidden(format!(
                "{op} needs the {} role or above; {} is {}",
                role.as_str(),
                actor.id,
                actor.role.as_str()
            )))
        }
    }

    fn status_event(&self, agent: &Actor, before: &str, now_ms: u64) -> Option<Event> {
        let after = self.agent_status(&agent.id);
        (after != before).then(|| {
            Event::new(
                "agent.status",
                Some(agent),
                Some(&agent.id),
                json!({ "status": after }),
                now_ms,
            )
        })
    }

    /// Run one operation for `actor`.
    pub fn handle(
        &mut self,
        actor: &Actor,
        op: &str,
        raw: Value,
        now_ms: u64,
    ) -> Result<Outcome, OpError> {
        let ev = |action: &str, target: Option<&str>, detail: Value| {
            Event::new(action, Some(actor), target, detail, now_ms)
        };
        let done = |result: Value, events: Vec<Event>| Ok(Outcome::new(result, events));
        match op {
            "lock.acquire" => {
                Self::require(actor, op, Role::Editor)?;
                let a: AcquireArgs = args(op, raw)?;
                let lease = self
                    .locks
                    .acquire(&a.resource, &actor.holder(), a.ttl_ms, now_ms)?;
                let e = ev(
                    "lock.acquired",
                    Some(&a.resource),
                    json!({ "lease": lease }),
                );
                done(json!({ "lease": lease }), vec![e])
            }
            "lock.renew" => {
                Self::require(actor, op, Role::Editor)?;
                let a: RenewArgs = args(op, raw)?;
                let lease = self
                    .locks
                    .renew(&a.resource, &actor.id, a.fence, a.ttl_ms, now_ms)?;
                let e = ev("lock.renewed", Some(&a.resource), json!({ "lease": lease }));
                done(json!({ "lease": lease }), vec![e])
            }
            "lock.release" => {
                Self::require(actor, op, Role::Editor)?;
                let a: LeaseArgs = args(op, raw)?;
                let lease = self
                    .locks
                    .release(&a.resource, &actor.id, a.fence, now_ms)?;
                let e = ev(
                    "lock.released",
                    Some(&a.resource),
                    json!({ "lease": lease }),
                );
                done(json!({ "released": lease }), vec![e])
            }
            "lock.verify" => {
                let a: LeaseArgs = args(op, raw)?;
                match self.locks.verify(&a.resource, a.fence, now_ms) {
                    Ok(lease) => done(json!({ "valid": true, "lease": lease }), vec![]),
                    Err(e) => done(json!({ "valid": false, "reason": e.to_string() }), vec![]),
                }
            }
            "lock.list" => done(
                json!({ "leases": self.locks.leases(now_ms), "policies": self.locks.policies() }),
                vec![],
            ),
            "lock.policy" => {
                Self::require_owner(actor, op)?;
                let a: PolicyArgs = args(op, raw)?;
                if a.document.is_empty() {
                    return Err(OpError::invalid("lock.policy: `document` is empty"));
                }
                self.locks.set_policy(&a.document, a.policy);
                let e = ev(
                    "lock.policy",
                    Some(&a.document),
                    json!({ "policy": a.policy }),
                );
                done(json!({ "policies": self.locks.policies() }), vec![e])
            }
            "activity.record" => {
                Self::require(actor, op, Role::Reviewer)?;
                let a: ActivityArgs = args(op, raw)?;
                let kind = ActivityKind::parse(&a.kind).ok_or_else(|| {
                    OpError::invalid(format!(
                        "activity.record: unknown kind `{}` (expected one of agent_started, \
                         agent_completed, memory_read, memory_write, memory_delete, \
                         council_debate, council_synthesis, council_decision, task_assigned, \
                         task_completed, message_sent, collaboration_started, \
                         collaboration_ended)",
                        a.kind
                    ))
                })?;
                check_text("summary", &a.summary)?;
                check_text("detail", &a.detail.to_string())?;
                if let Some(c) = &a.collaboration {
                    self.collaboration(c)?;
                }
                let before = self.agent_status(&actor.id).to_owned();
                let activity = Activity {
                    id: self.next_id("a"),
                    agent: actor.id.clone(),
                    agent_name: actor.name.clone(),
                    kind: kind.as_str().to_owned(),
                    summary: a.summary,
                    detail: a.detail,
                    status: ActivityStatus::Started.as_str().to_owned(),
                    result: None,
                    collaboration: a.collaboration,
                    started_at: now_ms,
                    completed_at: None,
                };
                self.activities.push(activity.clone());
                trim(&mut self.activities);
                let mut events = vec![ev(
                    "activity.started",
                    Some(&activity.id),
                    json!({ "activity": activity }),
                )];
                events.extend(self.status_event(actor, &before, now_ms));
                done(json!({ "activity": activity }), events)
            }
            "activity.complete" => {
                let a: CompleteArgs = args(op, raw)?;
                let before = self.agent_status(&actor.id).to_owned();
                let activity = self
                    .activities
                    .iter_mut()
                    .find(|x| x.id == a.id)
                    .ok_or_else(|| OpError::not_found(format!("no activity `{}`", a.id)))?;
                if activity.agent != actor.id && !actor.role.is_owner() {
                    return Err(OpError::forbidden(format!(
                        "activity `{}` belongs to {}",
                        a.id, activity.agent
                    )));
                }
                if activity.status != ActivityStatus::Started.as_str() {
                    return Err(OpError {
                        code: "conflict",
                        status: 409,
                        message: format!("activity `{}` is already {}", a.id, activity.status),
                    });
                }
                if let Some(r) = &a.result {
                    check_text("result", r)?;
                }
                activity.status = if a.failed {
                    ActivityStatus::Failed
                } else {
                    ActivityStatus::Completed
                }
                .as_str()
                .to_owned();
                activity.result = a.result;
                activity.completed_at = Some(now_ms);
                let activity = activity.clone();
                let mut events = vec![ev(
                    "activity.completed",
                    Some(&activity.id),
                    json!({ "activity": activity }),
                )];
                events.extend(self.status_event(actor, &before, now_ms));
                done(json!({ "activity": activity }), events)
            }
            "activity.list" => done(json!({ "activities": self.activities }), vec![]),
            "agent.status" => {
                Self::require(actor, op, Role::Reviewer)?;
                let a: StatusArgs = args(op, raw)?;
                if a.status != "active" && a.status != "idle" {
                    return Err(OpError::invalid(format!(
                        "agent.status: `{}` is not active or idle",
                        a.status
                    )));
                }
                let before = self.agent_status(&actor.id).to_owned();
                self.agent_status.insert(actor.id.clone(), a.status.clone());
                let events = self
                    .status_event(actor, &before, now_ms)
                    .into_iter()
                    .collect();
                done(json!({ "agent": actor.id, "status": a.status }), events)
            }
            "agent.list" => {
                let mut agents: BTreeSet<&str> =
                    self.activities.iter().map(|a| a.agent.as_str()).collect();
                agents.extend(self.agent_status.keys().map(String::as_str));
                let list: Vec<Value> = agents
                    .into_iter()
                    .map(|a| json!({ "agent": a, "status": self.agent_status(a) }))
                    .collect();
                done(json!({ "agents": list }), vec![])
            }
            "collaboration.start" => {
                Self::require(actor, op, Role::Reviewer)?;
                let a: CollabArgs = args(op, raw)?;
                if a.title.trim().is_empty() {
                    return Err(OpError::invalid("collaboration.start: `title` is empty"));
                }
                check_text("title", &a.title)?;
                let mut participants = a.participants;
                if !participants.contains(&actor.id) {
                    participants.insert(0, actor.id.clone());
                }
                let c = Collaboration {
                    id: self.next_id("c"),
                    title: a.title,
                    started_by: actor.id.clone(),
                    participants,
                    decisions: Vec::new(),
                    status: "active".into(),
                    outcome: None,
                    started_at: now_ms,
                    ended_at: None,
                };
                self.collaborations.push(c.clone());
                trim(&mut self.collaborations);
                let e = ev(
                    "collaboration.started",
                    Some(&c.id),
                    json!({ "collaboration": c }),
                );
                done(json!({ "collaboration": c }), vec![e])
            }
            "collaboration.decide" | "collaboration.end" => {
                Self::require(actor, op, Role::Reviewer)?;
                let (id, text, ending) = if op == "collaboration.decide" {
                    let a: DecideArgs = args(op, raw)?;
                    (a.id, Some(a.text), false)
                } else {
                    let a: EndArgs = args(op, raw)?;
                    (a.id, a.outcome, true)
                };
                if let Some(t) = &text {
                    check_text("text", t)?;
                }
                let c = self.collaboration(&id)?;
                if c.status != "active" {
                    return Err(OpError {
                        code: "conflict",
                        status: 409,
                        message: format!("collaboration `{id}` has ended"),
                    });
                }
                let action = if ending {
                    c.status = "ended".into();
                    c.outcome = text;
                    c.ended_at = Some(now_ms);
                    "collaboration.ended"
                } else {
                    c.decisions.push(Decision {
                        by: actor.id.clone(),
                        text: text.unwrap_or_default(),
                        at: now_ms,
                    });
                    "collaboration.decision"
                };
                let c = c.clone();
                let e = ev(action, Some(&c.id), json!({ "collaboration": c }));
                done(json!({ "collaboration": c }), vec![e])
            }
            "collaboration.list" => done(json!({ "collaborations": self.collaborations }), vec![]),
            "member.list" => done(self.members(), vec![]),
            "member.invite" => {
                Self::require_owner(actor, op)?;
                let a: InviteArgs = args(op, raw)?;
                let ttl = a.ttl_secs.unwrap_or(3600);
                if ttl == 0 || ttl > MAX_INVITE_SECS {
                    return Err(OpError::invalid(format!(
                        "member.invite: ttlSecs must be 1 to {MAX_INVITE_SECS}; got {ttl}"
                    )));
                }
                let user = a
                    .user
                    .unwrap_or_else(|| format!("guest-{}", self.next_id("")));
                if user.is_empty() || user.len() > 128 {
                    return Err(OpError::invalid(
                        "member.invite: `user` must be 1 to 128 bytes",
                    ));
                }
                crate::authority::token::check_user_id(&user)
                    .map_err(|e| OpError::invalid(format!("member.invite: {e}")))?;
                self.keep_an_owner(actor, op, &user, a.role)?;
                let name = a.name.unwrap_or_else(|| user.clone());
                self.removed.remove(&user);
                self.members.insert(
                    user.clone(),
                    Member {
                        role: a.role,
                        name: name.clone(),
                    },
                );
                let claims = Claims {
                    room: String::new(),
                    sub: user.clone(),
                    name,
                    kind: a.kind.unwrap_or(ParticipantKind::Person),
                    role: a.role,
                    exp: now_ms / 1000 + ttl,
                };
                let mut events = vec![ev(
                    "member.invited",
                    Some(&user),
                    json!({ "role": a.role, "expiresAt": claims.exp }),
                )];
                events.extend(self.end_leases(actor, &user, Some(a.role), now_ms));
                let mut out = Outcome::new(json!({ "user": user, "role": a.role }), events);
                out.mint = Some(claims);
                out.role_change = Some((user, Some(a.role)));
                Ok(out)
            }
            "member.role" => {
                Self::require_owner(actor, op)?;
                let a: RoleArgs = args(op, raw)?;
                if self.removed.contains(&a.user) {
                    return Err(OpError::invalid(format!(
                        "member.role: {} left or was removed from this room; invite them again",
                        a.user
                    )));
                }
                self.keep_an_owner(actor, op, &a.user, a.role)?;
                let before = self.members.get(&a.user).map(|m| m.role);
                let name = self
                    .members
                    .get(&a.user)
                    .map_or_else(|| a.user.clone(), |m| m.name.clone());
                self.members
                    .insert(a.user.clone(), Member { role: a.role, name });
                let mut events = vec![ev(
                    "role.changed",
                    Some(&a.user),
                    json!({ "from": before, "to": a.role }),
                )];
                events.extend(self.end_leases(actor, &a.user, Some(a.role), now_ms));
                let mut out = Outcome::new(json!({ "user": a.user, "role": a.role }), events);
                out.role_change = Some((a.user, Some(a.role)));
                Ok(out)
            }
            "member.transfer" => {
                Self::require_owner(actor, op)?;
                let a: UserArgs = args(op, raw)?;
                if a.user == actor.id {
                    return Err(OpError::invalid(
                        "member.transfer: you already own this room",
                    ));
                }
                if self.removed.contains(&a.user) {
                    return Err(OpError::invalid(format!(
                        "member.transfer: {} left this room",
                        a.user
                    )));
                }
                let name = self
                    .members
                    .get(&a.user)
                    .map_or_else(|| a.user.clone(), |m| m.name.clone());
                self.members.insert(
                    a.user.clone(),
                    Member {
                        role: Role::Owner,
                        name,
                    },
                );
                // The app's backend (the API key) stays an owner; a person steps down.
                if *actor != Actor::server() {
                    self.members.insert(
                        actor.id.clone(),
                        Member {
                            role: Role::Editor,
                            name: actor.name.clone(),
                        },
                    );
                }
                let e = ev(
                    "role.changed",
                    Some(&a.user),
                    json!({ "to": "owner", "transferredFrom": actor.id }),
                );
                let e2 = ev(
                    "role.changed",
                    Some(&actor.id),
                    json!({ "from": "owner", "to": "editor", "transferredTo": a.user }),
                );
                let mut out = Outcome::new(json!({ "owner": a.user }), vec![e, e2]);
                // The new owner's connections learn it; the edge also tells the actor's.
                out.role_change = Some((a.user, Some(Role::Owner)));
                Ok(out)
            }
            "member.leave" | "member.remove" => {
                let user = if op == "member.leave" {
                    if *actor == Actor::anonymous() || *actor == Actor::server() {
                        return Err(OpError::invalid(format!(
                            "member.leave: {} has no membership to leave (it carries no token)",
                            actor.id
                        )));
                    }
                    actor.id.clone()
                } else {
                    Self::require_owner(actor, op)?;
                    args::<UserArgs>(op, raw)?.user
                };
                let owner = self
                    .members
                    .get(&user)
                    .map_or(user == actor.id && actor.role.is_owner(), |m| {
                        m.role.is_owner()
                    });
                if owner {
                    return Err(OpError::invalid(format!(
                        "{op}: {user} owns this room; transfer ownership first"
                    )));
                }
                self.members.remove(&user);
                self.removed.insert(user.clone());
                let action = if op == "member.leave" {
                    "member.left"
                } else {
                    "member.removed"
                };
                let mut events = vec![ev(action, Some(&user), json!({}))];
                events.extend(self.end_leases(actor, &user, None, now_ms));
                let mut out = Outcome::new(json!({ "user": user, "left": true }), events);
                out.role_change = Some((user, None));
                Ok(out)
            }
            "webhook.create" => {
                Self::require_owner(actor, op)?;
                let hook = webhook::parse_config(raw, self.next_id("w"), now_ms, self.targets)
                    .map_err(|e| OpError::invalid(e.to_string()))?;
                if self.webhooks.len() >= webhook::MAX_WEBHOOKS {
                    return Err(OpError::invalid(format!(
                        "a room has at most {} webhooks",
                        webhook::MAX_WEBHOOKS
                    )));
                }
                self.webhooks.push(hook.clone());
                let e = ev(
                    "webhook.created",
                    Some(&hook.id),
                    json!({ "url": hook.redacted_url(), "events": hook.events }),
                );
                done(json!({ "webhook": hook.public() }), vec![e])
            }
            "webhook.list" => {
                Self::require_owner(actor, op)?;
                let list: Vec<Value> = self.webhooks.iter().map(Webhook::public).collect();
                done(json!({ "webhooks": list }), vec![])
            }
            "webhook.delete" => {
                Self::require_owner(actor, op)?;
                let a: IdArgs = args(op, raw)?;
                let before = self.webhooks.len();
                self.webhooks.retain(|h| h.id != a.id);
                if self.webhooks.len() == before {
                    return Err(OpError::not_found(format!("no webhook `{}`", a.id)));
                }
                let e = ev("webhook.deleted", Some(&a.id), json!({}));
                done(json!({ "deleted": a.id }), vec![e])
            }
            "suggestion.list" => {
                let list: Vec<Value> = self
                    .suggestions
                    .iter()
                    .map(|s| {
                        let mut v = serde_json::to_value(s).unwrap_or_default();
                        if let Some(o) = v.as_object_mut() {
                            o.remove("update");
                            o.insert("bytes".into(), json!(s.update.len() * 3 / 4));
                        }
                        v
                    })
                    .collect();
                done(json!({ "suggestions": list }), vec![])
            }
            "suggestion.reject" => {
                let a: IdArgs = args(op, raw)?;
                let (doc, _) = self.suggestion_update(&a.id)?;
                self.may_decide_suggestion(actor, &doc, "reject", now_ms)?;
                self.resolve_suggestion(&a.id, false);
                let e = ev(
                    "suggestion.rejected",
                    Some(&a.id),
                    json!({ "document": doc }),
                );
                done(json!({ "rejected": a.id }), vec![e])
            }
            other => Err(OpError::not_found(format!("unknown operation `{other}`"))),
        }
    }

    fn collaboration(&mut self, id: &str) -> Result<&mut Collaboration, OpError> {
        self.collaborations
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| OpError::not_found(format!("no collaboration `{id}`")))
    }
}

/// The audited event for attempt number `attempt` of `delivery` to `hook`, its URL
/// redacted: `webhook.delivered`, or `webhook.failed` with the status when the receiver
/// answered (a redirect is a failure: it is never followed).
pub fn delivery_event(
    hook: &Webhook,
    delivery: Value,
    attempt: u32,
    judged: &Attempt,
    at: u64,
) -> Event {
    let url = hook.redacted_url();
    let (action, detail) = match judged {
        Attempt::Delivered { status } => (
            "webhook.delivered",
            json!({ "delivery": delivery, "url": url, "status": status, "attempt": attempt }),
        ),
        Attempt::Failed {
            status,
            error,
            retry_at,
        } => (
            "webhook.failed",
            json!({
                "delivery": delivery, "url": url, "status": status, "error": error,
                "attempt": attempt, "retryAt": retry_at, "gaveUp": retry_at.is_none(),
            }),
        ),
    };
    Event::new(action, None, Some(&hook.id), detail, at)
}

/// Keep at most [`KEEP_RECORDS`] suggestions, dropping decided ones first.
fn trim_suggestions(list: &mut Vec<Suggestion>) {
    while list.len() > KEEP_RECORDS {
        match list.iter().position(|s| s.status != "pending") {
            Some(i) => {
                list.remove(i);
            }
            None => {
                list.remove(0);
            }
        }
    }
}

/// Keep the most recent [`KEEP_RECORDS`], but never drop one still under way.
fn trim<T: Serialize>(list: &mut Vec<T>) {
    while list.len() > KEEP_RECORDS {
        let done = list.iter().position(|x| {
            let v = serde_json::to_value(x).unwrap_or_default();
            v["status"] != "started" && v["status"] != "active"
        });
        match done {
            Some(i) => {
                list.remove(i);
            }
            None => break,
        }
    }
}

#[cfg(test)]
mod tests;
