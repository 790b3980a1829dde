//! Members and roles: invitations (signed tokens), role changes, ownership transfer,
//! leaving and removal. A room always keeps an owner, and a role that may not write
//! loses its leases at once.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::op::{AgentInviteArgs, InviteArgs, RoleArgs, UserArgs};
use super::token::{Claims, Role};
use super::{Actor, Authority, Cx, Event, EventKind, OpError, OpResult, Outcome};
use crate::doc::ParticipantKind;

/// Longest invitation, in seconds (7 days); the default is one hour.
pub const MAX_INVITE_SECS: u64 = 7 * 24 * 3600;

/// A member's record, once the room has one (an invitation, a role change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Role in this room; overrides the role in older tokens.
    pub role: Role,
    /// Display name, when known.
    pub name: String,
}

impl Authority {
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
            guest: false,
        })
    }

    /// Who posts a task that `user` (named `name`) scheduled in the room's space: them,
    /// as a person with the role this room's member list gives them (an editor when it
    /// has no record; a removed member posts nothing).
    pub fn scheduled_by(&self, user: &str, name: &str) -> Result<Actor, OpError> {
        if self.removed.contains(user) {
            return Err(OpError::forbidden(format!(
                "{user} left or was removed from this room; their scheduled task is not posted"
            )));
        }
        Ok(Actor {
            id: user.to_owned(),
            name: name.to_owned(),
            kind: ParticipantKind::Person,
            role: self.member_role(user).unwrap_or(Role::Editor),
            guest: false,
        })
    }

    /// The role the member list gives `user`, if it has a record.
    pub fn member_role(&self, user: &str) -> Option<Role> {
        self.members.get(user).map(|m| m.role)
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

    fn name_of(&self, user: &str) -> String {
        self.members
            .get(user)
            .map_or_else(|| user.to_owned(), |m| m.name.clone())
    }

    pub(super) fn invite(&mut self, cx: &Cx<'_>, a: InviteArgs) -> OpResult {
        cx.require_owner()?;
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
        super::token::check_user_id(&user)
            .map_err(|e| OpError::invalid(format!("member.invite: {e}")))?;
        self.keep_an_owner(cx, &user, a.role)?;
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
            exp: (cx.now_ms / 1000).saturating_add(ttl),
        };
        let mut events = vec![cx.event(
            EventKind::MemberInvited,
            Some(&user),
            json!({ "role": a.role, "expiresAt": claims.exp }),
        )];
        events.extend(self.end_leases(cx, &user, Some(a.role)));
        let mut out = Outcome::new(json!({ "user": user, "role": a.role }), events);
        out.mint = Some(claims);
        out.role_change = Some((user, Some(a.role)));
        Ok(out)
    }

    /// An editor (or owner) brings an agent in: the agent gets its own identity and
    /// token, so what it writes is attributed to it and its role is checked like
    /// anyone's. Its id is derived from the inviter's (`agent:<inviter>:<name>`), its
    /// role is editor at most (lower if an owner lowered it), and an agent an owner
    /// removed stays out until an owner invites it again.
    pub(super) fn invite_agent(&mut self, cx: &Cx<'_>, a: AgentInviteArgs) -> OpResult {
        cx.require(Role::Editor)?;
        let ttl = a.ttl_secs.unwrap_or(3600);
        if ttl == 0 || ttl > MAX_INVITE_SECS {
            return Err(OpError::invalid(format!(
                "agent.invite: ttlSecs must be 1 to {MAX_INVITE_SECS}; got {ttl}"
            )));
        }
        let name = a.name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(OpError::invalid(
                "agent.invite: `name` must be 1 to 64 characters, without control characters",
            ));
        }
        let slug: String = name
            .chars()
            .map(|c| {
                if c.is_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let user = format!("agent:{}:{}", cx.actor.id, slug);
        if self.removed.contains(&user) {
            return Err(OpError::forbidden(format!(
                "agent.invite: an owner removed {user} from this room; only an owner can invite it again"
            )));
        }
        let role = match self.members.get(&user) {
            Some(m) if !m.role.at_least(Role::Editor) => m.role,
            _ => Role::Editor,
        };
        self.members.insert(
            user.clone(),
            Member {
                role,
                name: name.to_owned(),
            },
        );
        let claims = Claims {
            room: String::new(),
            sub: user.clone(),
            name: name.to_owned(),
            kind: ParticipantKind::Agent,
            role,
            exp: (cx.now_ms / 1000).saturating_add(ttl),
        };
        let events = vec![cx.event(
            EventKind::MemberInvited,
            Some(&user),
            json!({ "role": role, "kind": "agent", "expiresAt": claims.exp }),
        )];
        let mut out = Outcome::new(json!({ "user": user, "role": role }), events);
        out.mint = Some(claims);
        Ok(out)
    }

    pub(super) fn set_role(&mut self, cx: &Cx<'_>, a: RoleArgs) -> OpResult {
        cx.require_owner()?;
        if self.removed.contains(&a.user) {
            return Err(OpError::invalid(format!(
                "member.role: {} left or was removed from this room; invite them again",
                a.user
            )));
        }
        self.keep_an_owner(cx, &a.user, a.role)?;
        let before = self.members.get(&a.user).map(|m| m.role);
        let name = self.name_of(&a.user);
        self.members
            .insert(a.user.clone(), Member { role: a.role, name });
        let mut events = vec![cx.event(
            EventKind::RoleChanged,
            Some(&a.user),
            json!({ "from": before, "to": a.role }),
        )];
        events.extend(self.end_leases(cx, &a.user, Some(a.role)));
        let mut out = Outcome::new(json!({ "user": a.user, "role": a.role }), events);
        out.role_change = Some((a.user, Some(a.role)));
        Ok(out)
    }

    pub(super) fn transfer(&mut self, cx: &Cx<'_>, a: UserArgs) -> OpResult {
        cx.require_owner()?;
        let actor = cx.actor;
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
        let name = self.name_of(&a.user);
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
        let e = cx.event(
            EventKind::RoleChanged,
            Some(&a.user),
            json!({ "to": "owner", "transferredFrom": actor.id }),
        );
        let e2 = cx.event(
            EventKind::RoleChanged,
            Some(&actor.id),
            json!({ "from": "owner", "to": "editor", "transferredTo": a.user }),
        );
        let mut out = Outcome::new(json!({ "owner": a.user }), vec![e, e2]);
        // The new owner's connections learn it; the edge also tells the actor's.
        out.role_change = Some((a.user, Some(Role::Owner)));
        Ok(out)
    }

    pub(super) fn leave(&mut self, cx: &Cx<'_>) -> OpResult {
        let actor = cx.actor;
        if !actor.verified() || *actor == Actor::server() {
            return Err(OpError::invalid(format!(
                "member.leave: {} has no membership to leave (it carries no token)",
                actor.id
            )));
        }
        self.drop_member(cx, actor.id.clone(), EventKind::MemberLeft)
    }

    pub(super) fn remove(&mut self, cx: &Cx<'_>, a: UserArgs) -> OpResult {
        cx.require_owner()?;
        self.drop_member(cx, a.user, EventKind::MemberRemoved)
    }

    fn drop_member(&mut self, cx: &Cx<'_>, user: String, kind: EventKind) -> OpResult {
        let actor = cx.actor;
        let owner = self
            .members
            .get(&user)
            .map_or(user == actor.id && actor.role.is_owner(), |m| {
                m.role.is_owner()
            });
        if owner {
            return Err(OpError::invalid(format!(
                "{}: {user} owns this room; transfer ownership first",
                cx.op
            )));
        }
        self.members.remove(&user);
        self.removed.insert(user.clone());
        let mut events = vec![cx.event(kind, Some(&user), json!({}))];
        events.extend(self.end_leases(cx, &user, None));
        let mut out = Outcome::new(json!({ "user": user, "left": true }), events);
        out.role_change = Some((user, None));
        Ok(out)
    }

    /// End the live leases of `user`, whose role is now `role` (`None`: they left or
    /// were removed), when that role may not hold them (viewers and reviewers hold no
    /// write leases): one `lock.released` event by the caller for each, with the reason.
    fn end_leases(&mut self, cx: &Cx<'_>, user: &str, role: Option<Role>) -> Vec<Event> {
        if role.is_some_and(Role::can_edit) {
            return Vec::new();
        }
        let reason = match role {
            Some(role) => format!("{user} is now {}", role.as_str()),
            None => format!("{user} left or was removed from the room"),
        };
        self.locks
            .release_held_by(user, cx.now_ms)
            .into_iter()
            .map(|lease| {
                cx.event(
                    EventKind::LockReleased,
                    Some(&lease.resource),
                    json!({ "lease": lease, "reason": reason }),
                )
            })
            .collect()
    }

    /// Refuse giving `user` the role `role` when that would leave the room with no
    /// owner: an owner does not demote themselves (they transfer ownership), and no
    /// one demotes the last owner on record.
    fn keep_an_owner(&self, cx: &Cx<'_>, user: &str, role: Role) -> Result<(), OpError> {
        if role.is_owner() {
            return Ok(());
        }
        let (actor, op) = (cx.actor, cx.op);
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
}
