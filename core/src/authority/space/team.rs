//! Who belongs to a space: its members with their roles, and its shared agents with
//! what each is doing (available, in use in a room, or scheduled for a task).
//!
//! - A member's record wins over the role in their token, as in a room; a person who
//!   opens the space with a token becomes a member with that token's role. A lead may
//!   change roles and remove members (a removed member's token is refused), and the
//!   space always keeps a lead.
//! - A shared agent is registered by a contributor or lead. Its state comes from the
//!   rooms' reports: "in use" while a room has it present, "scheduled" while a task is
//!   due later, "available" otherwise. A scheduled task is posted, when due, in its room
//!   as a message from whoever scheduled it that mentions the agent, so the agent's
//!   process answers it as it answers any person.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::super::error::OpError;
use super::super::token::Role;
use super::super::Actor;
use super::{sort_by_rank_then_name, space_role_label, Directory};

/// The longest agent description or scheduled task, in bytes.
pub const MAX_TEXT: usize = 2_000;
/// The shortest repeat of a scheduled task, in minutes.
pub const MIN_REPEAT_MINUTES: u32 = 5;
/// The most shared agents a space registers.
pub const MAX_AGENTS: usize = 100;

/// A member's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Member {
    pub(super) name: String,
    pub(super) role: Role,
    pub(super) since: u64,
}

/// A member as the space lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpaceMember {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role in the space (`owner`, `editor`, `reviewer`, `viewer`).
    pub role: Role,
    /// The role as the workspace shows it: lead, contributor, reviewer, viewer.
    pub label: &'static str,
    /// When they became a member (ms since the epoch).
    pub since: u64,
}

/// A task an agent is scheduled to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// The room it is done in.
    pub room: String,
    /// What to ask the agent.
    pub task: String,
    /// When it is next due (ms since the epoch).
    pub at: u64,
    /// Repeat every this many minutes (`None`: once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_minutes: Option<u32>,
    /// Who scheduled it (the task is posted as theirs).
    pub by: String,
    /// Their name.
    pub by_name: String,
}

/// A shared agent's registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Registered {
    pub(super) name: String,
    pub(super) description: String,
    pub(super) model: Option<String>,
    pub(super) added_by: String,
    pub(super) schedule: Option<Schedule>,
}

/// A shared agent as the space lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedAgent {
    /// The agent's user id (what it joins rooms as).
    pub id: String,
    /// Its name (what people @mention).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The model it runs on, if said.
    pub model: Option<String>,
    /// `in use` (present in a room now), `scheduled` (a task is due later) or
    /// `available`.
    pub state: &'static str,
    /// The rooms it is in now.
    pub rooms: Vec<String>,
    /// What it is doing, as it said.
    pub activity: Option<String>,
    /// Its next task, if any.
    pub schedule: Option<Schedule>,
    /// False for an agent seen in a room but not registered with the space.
    pub registered: bool,
}

/// `PUT /spaces/<space>/members/<user>`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// The new role: a room role or its space label (`lead`, `contributor`).
    pub role: String,
    /// Their name, for a member the space has not met yet.
    pub name: Option<String>,
}

/// `PUT /spaces/<space>/agents/<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentPatch {
    /// Its name (what people @mention).
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The model it runs on.
    pub model: Option<String>,
}

/// `PUT /spaces/<space>/agents/<id>/schedule`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScheduleRequest {
    /// The room (one of the space's).
    pub room: String,
    /// What to ask.
    pub task: String,
    /// When (ms since the epoch).
    pub at: u64,
    /// Repeat every this many minutes.
    pub every_minutes: Option<u32>,
}

impl Schedule {
    /// The message that asks the agent (named `agent`) for the task, in its room: it
    /// mentions the agent, so the agent answers it as it answers any person.
    pub fn message(&self, agent: &str) -> String {
        format!("@{agent} {} (scheduled by {})", self.task, self.by_name)
    }
}

/// A role from a request: a room role or the label the workspace shows for it.
pub fn parse_space_role(text: &str) -> Result<Role, OpError> {
    match text {
        "lead" => Ok(Role::Owner),
        "contributor" => Ok(Role::Editor),
        other => Role::parse(other).ok_or_else(|| {
            OpError::invalid(format!(
                "unknown role `{other}`: use lead, contributor, reviewer or viewer"
            ))
        }),
    }
}

/// The members and shared agents of a space (part of [`Directory`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Team {
    #[serde(default)]
    pub(super) members: BTreeMap<String, Member>,
    /// Members a lead removed: their tokens are refused.
    #[serde(default)]
    pub(super) removed: BTreeSet<String>,
    #[serde(default)]
    pub(super) agents: BTreeMap<String, Registered>,
}

fn check_text(what: &str, text: &str, required: bool) -> Result<String, OpError> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(OpError::invalid(format!("{what} is empty")));
    }
    if text.len() > MAX_TEXT {
        return Err(OpError::invalid(format!(
            "{what} is {} bytes long; the limit is {MAX_TEXT}",
            text.len()
        )));
    }
    Ok(text.to_owned())
}

impl Directory {
    /// The role `actor` (as their token says) has in this space, or why they may not
    /// come in. A person with a token who is new to the space becomes a member; the
    /// `bool` says the directory changed (store it).
    pub fn admit(&mut self, actor: Actor, now: u64) -> Result<(Actor, bool), OpError> {
        if self.team.removed.contains(&actor.id) {
            return Err(OpError::forbidden(format!(
                "{} was removed from this space; a lead must add them again",
                actor.id
            )));
        }
        if let Some(member) = self.team.members.get(&actor.id) {
            let role = member.role;
            return Ok((Actor { role, ..actor }, false));
        }
        let joins = actor.verified() && actor.kind == crate::doc::ParticipantKind::Person;
        if joins && actor.id != super::super::actor::SERVER {
            self.team.members.insert(
                actor.id.clone(),
                Member {
                    name: actor.name.clone(),
                    role: actor.role,
                    since: now,
                },
            );
        }
        Ok((actor, joins))
    }

    /// Every member, leads first, then by name.
    pub fn members(&self) -> Vec<SpaceMember> {
        let mut out: Vec<SpaceMember> = self
            .team
            .members
            .iter()
            .map(|(id, m)| SpaceMember {
                id: id.clone(),
                name: m.name.clone(),
                role: m.role,
                label: space_role_label(m.role),
                since: m.since,
            })
            .collect();
        let rank = |m: &SpaceMember| match m.role {
            Role::Owner => 0,
            Role::Editor => 1,
            Role::Reviewer => 2,
            Role::Viewer => 3,
        };
        sort_by_rank_then_name(&mut out, rank, |m| &m.name);
        out
    }

    /// A member's role, when the space has a record of them.
    pub fn member_role(&self, user: &str) -> Option<Role> {
        self.team.members.get(user).map(|m| m.role)
    }

    fn leads(&self) -> usize {
        self.team
            .members
            .values()
            .filter(|m| m.role == Role::Owner)
            .count()
    }

    /// Give `user` `role` (adding them, or bringing back someone removed).
    pub(super) fn set_member(
        &mut self,
        user: &str,
        patch: &MemberPatch,
        now: u64,
    ) -> Result<Role, OpError> {
        let role = parse_space_role(&patch.role)?;
        if user.trim().is_empty() {
            return Err(OpError::invalid("a member needs a user id"));
        }
        let was = self.member_role(user);
        if was == Some(Role::Owner) && role != Role::Owner && self.leads() == 1 {
            return Err(OpError::conflict(format!(
                "{user} is the space's only lead: make someone else a lead first"
            )));
        }
        self.team.removed.remove(user);
        let name = match (&patch.name, self.team.members.get(user)) {
            (Some(name), _) => check_text("the name", name, true)?,
            (None, Some(m)) => m.name.clone(),
            (None, None) => user.to_owned(),
        };
        let since = self.team.members.get(user).map_or(now, |m| m.since);
        self.team
            .members
            .insert(user.to_owned(), Member { name, role, since });
        Ok(role)
    }

    /// Remove `user`: their tokens are refused until a lead adds them again.
    pub(super) fn remove_member(&mut self, user: &str) -> Result<(), OpError> {
        let Some(member) = self.team.members.get(user) else {
            return Err(OpError::not_found(format!("{user} is not a member")));
        };
        if member.role == Role::Owner && self.leads() == 1 {
            return Err(OpError::conflict(format!(
                "{user} is the space's only lead: make someone else a lead first"
            )));
        }
        self.team.members.remove(user);
        self.team.removed.insert(user.to_owned());
        Ok(())
    }

    /// Register agent `id`, or change its name, description or model.
    pub(super) fn put_agent(
        &mut self,
        id: &str,
        patch: &AgentPatch,
        by: &str,
    ) -> Result<(), OpError> {
        let name = check_text("the agent's name", &patch.name, true)?;
        let description = check_text("the description", &patch.description, false)?;
        let model = match &patch.model {
            Some(m) => Some(check_text("the model", m, true)?),
            None => None,
        };
        if let Some(agent) = self.team.agents.get_mut(id) {
            agent.name = name;
            agent.description = description;
            agent.model = model;
            return Ok(());
        }
        if self.team.agents.len() >= MAX_AGENTS {
            return Err(OpError::invalid(format!(
                "a space registers at most {MAX_AGENTS} agents"
            )));
        }
        self.team.agents.insert(
            id.to_owned(),
            Registered {
                name,
                description,
                model,
                added_by: by.to_owned(),
                schedule: None,
            },
        );
        Ok(())
    }

    pub(super) fn remove_agent(&mut self, id: &str) -> Result<(), OpError> {
        self.team
            .agents
            .remove(id)
            .map(drop)
            .ok_or_else(|| unknown_agent(id))
    }

    /// Schedule agent `id`'s next task (replacing any it had).
    pub(super) fn schedule_agent(
        &mut self,
        id: &str,
        request: &ScheduleRequest,
        by: &Actor,
        now: u64,
    ) -> Result<Schedule, OpError> {
        if !self.has(&request.room) {
            return Err(OpError::not_found(format!(
                "no room `{}` in this space",
                request.room
            )));
        }
        let task = check_text("the task", &request.task, true)?;
        if request.at <= now {
            return Err(OpError::invalid(format!(
                "`at` ({}) is not in the future (now is {now})",
                request.at
            )));
        }
        if let Some(every) = request.every_minutes {
            if every < MIN_REPEAT_MINUTES {
                return Err(OpError::invalid(format!(
                    "`everyMinutes` is {every}; a task repeats at most every {MIN_REPEAT_MINUTES} minutes"
                )));
            }
        }
        let agent = self
            .team
            .agents
            .get_mut(id)
            .ok_or_else(|| unknown_agent(id))?;
        let schedule = Schedule {
            room: request.room.clone(),
            task,
            at: request.at,
            every_minutes: request.every_minutes,
            by: by.id.clone(),
            by_name: by.name.clone(),
        };
        agent.schedule = Some(schedule.clone());
        Ok(schedule)
    }

    pub(super) fn unschedule_agent(&mut self, id: &str) -> Result<(), OpError> {
        let agent = self
            .team
            .agents
            .get_mut(id)
            .ok_or_else(|| unknown_agent(id))?;
        agent
            .schedule
            .take()
            .map(drop)
            .ok_or_else(|| OpError::not_found(format!("agent `{id}` has no scheduled task")))
    }

    /// The tasks due at `now`, as (agent id, agent name, task): a one-off task is
    /// taken off, a repeating one moves to its next time after `now`.
    pub fn take_due(&mut self, now: u64) -> Vec<(String, String, Schedule)> {
        let mut due = Vec::new();
        for (id, agent) in &mut self.team.agents {
            let Some(schedule) = agent.schedule.as_mut() else {
                continue;
            };
            if schedule.at > now {
                continue;
            }
            due.push((id.clone(), agent.name.clone(), schedule.clone()));
            match schedule.every_minutes {
                Some(every) => {
                    let step = u64::from(every) * 60_000;
                    let behind = (now - schedule.at) / step + 1;
                    schedule.at += behind * step;
                }
                None => agent.schedule = None,
            }
        }
        due
    }

    /// When the next scheduled task is due.
    pub fn next_task_at(&self) -> Option<u64> {
        self.team
            .agents
            .values()
            .filter_map(|a| a.schedule.as_ref().map(|s| s.at))
            .min()
    }

    /// The space's agents as of `now`: every registered one, and any other agent a room
    /// has present; in use first, then scheduled, then available, each by name.
    pub fn agents(&self, now: u64) -> Vec<SharedAgent> {
        let rooms = self.list(now);
        let mut out: Vec<SharedAgent> = self
            .team
            .agents
            .iter()
            .map(|(id, a)| SharedAgent {
                id: id.clone(),
                name: a.name.clone(),
                description: a.description.clone(),
                model: a.model.clone(),
                state: if a.schedule.is_some() {
                    "scheduled"
                } else {
                    "available"
                },
                rooms: Vec::new(),
                activity: None,
                schedule: a.schedule.clone(),
                registered: true,
            })
            .collect();
        for room in &rooms {
            for p in room.present.iter().filter(|p| p.kind == "agent") {
                let at = match out.iter().position(|a| a.id == p.id) {
                    Some(at) => at,
                    None => {
                        out.push(SharedAgent {
                            id: p.id.clone(),
                            name: p.name.clone(),
                            description: String::new(),
                            model: None,
                            state: "available",
                            rooms: Vec::new(),
                            activity: None,
                            schedule: None,
                            registered: false,
                        });
                        out.len() - 1
                    }
                };
                let agent = &mut out[at];
                agent.state = "in use";
                if !agent.rooms.contains(&room.title) {
                    agent.rooms.push(room.title.clone());
                }
                agent.activity = agent.activity.take().or_else(|| p.activity.clone());
            }
        }
        let rank = |a: &SharedAgent| match a.state {
            "in use" => 0,
            "scheduled" => 1,
            _ => 2,
        };
        sort_by_rank_then_name(&mut out, rank, |a| &a.name);
        out
    }
}

fn unknown_agent(id: &str) -> OpError {
    OpError::not_found(format!("no shared agent `{id}` in this space"))
}

#[cfg(test)]
mod tests {
    use super::super::{Present, Report};
    use super::*;
    use crate::authority::OpCode;
    use crate::doc::ParticipantKind;

    fn person(id: &str, role: Role) -> Actor {
        Actor {
            id: id.into(),
            name: id.to_uppercase(),
            kind: ParticipantKind::Person,
            role,
            guest: false,
        }
    }

    #[test]
    fn members_keep_their_recorded_role_and_a_space_keeps_a_lead() {
        let mut d = Directory::default();
        let (kim, joined) = d.admit(person("kim", Role::Owner), 1).unwrap();
        assert!(joined);
        assert_eq!(kim.role, Role::Owner);
        let (_, again) = d.admit(person("kim", Role::Owner), 2).unwrap();
        assert!(!again, "a known member changes nothing");
        d.admit(person("lee", Role::Editor), 3).unwrap();
        // A lead makes Lee a reviewer: Lee's editor token now carries a reviewer.
        let patch = MemberPatch {
            role: "reviewer".into(),
            name: None,
        };
        d.set_member("lee", &patch, 4).unwrap();
        let (lee, _) = d.admit(person("lee", Role::Editor), 5).unwrap();
        assert_eq!(lee.role, Role::Reviewer);
        let labels: Vec<(String, &str)> =
            d.members().into_iter().map(|m| (m.name, m.label)).collect();
        assert_eq!(labels, [("KIM".into(), "lead"), ("LEE".into(), "reviewer")]);
        // The only lead stays a lead, and stays.
        let demote = MemberPatch {
            role: "contributor".into(),
            name: None,
        };
        let err = d.set_member("kim", &demote, 6).unwrap_err();
        assert_eq!(err.code, OpCode::Conflict);
        assert!(err.message.contains("only lead"), "{err:?}");
        assert_eq!(d.remove_member("kim").unwrap_err().code, OpCode::Conflict);
        // A removed member's token is refused until a lead adds them again.
        d.remove_member("lee").unwrap();
        let refused = d.admit(person("lee", Role::Editor), 7).unwrap_err();
        assert_eq!(refused.code, OpCode::Forbidden);
        d.set_member("lee", &demote, 8).unwrap();
        assert_eq!(
            d.admit(person("lee", Role::Viewer), 9).unwrap().0.role,
            Role::Editor
        );
        let bad = MemberPatch {
            role: "boss".into(),
            name: None,
        };
        let err = d.set_member("lee", &bad, 10).unwrap_err();
        assert!(err.message.contains("unknown role `boss`"), "{err:?}");
    }

    #[test]
    fn agents_are_in_use_scheduled_or_available_and_tasks_come_due() {
        let mut d = Directory::default();
        d.create("plan", "Planning", "kim", 0).unwrap();
        let scout = AgentPatch {
            name: "Scout".into(),
            description: "Researches".into(),
            model: Some("any".into()),
        };
        d.put_agent("scout", &scout, "kim").unwrap();
        let writer = AgentPatch {
            name: "Writer".into(),
            description: String::new(),
            model: None,
        };
        d.put_agent("writer", &writer, "kim").unwrap();
        let states = |d: &Directory, now| -> Vec<(String, &'static str)> {
            d.agents(now)
                .into_iter()
                .map(|a| (a.name, a.state))
                .collect()
        };
        assert_eq!(
            states(&d, 1),
            [
                ("Scout".into(), "available"),
                ("Writer".into(), "available")
            ]
        );
        let kim = person("kim", Role::Editor);
        let request = ScheduleRequest {
            room: "plan".into(),
            task: "summarise the day".into(),
            at: 1_000,
            every_minutes: Some(60),
        };
        d.schedule_agent("writer", &request, &kim, 10).unwrap();
        let present = Present {
            id: "scout".into(),
            name: "Scout".into(),
            kind: "agent".into(),
            status: "active".into(),
            activity: Some("reading".into()),
            note: None,
        };
        let report = Report {
            boot: 1,
            seq: 1,
            people: 0,
            agents: 1,
            at: 20,
            present: vec![present],
        };
        assert!(d.report("plan", report));
        let agents = d.agents(30);
        assert_eq!(
            states(&d, 30),
            [("Scout".into(), "in use"), ("Writer".into(), "scheduled")]
        );
        assert_eq!(agents[0].rooms, ["Planning"]);
        assert_eq!(agents[0].activity.as_deref(), Some("reading"));
        assert_eq!(d.next_task_at(), Some(1_000));
        assert!(d.take_due(999).is_empty());
        // Late by 2.5 hours: it runs once and moves to its next hour.
        let due = d.take_due(1_000 + 150 * 60_000);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].2.task, "summarise the day");
        assert_eq!(due[0].2.by, "kim");
        assert_eq!(d.next_task_at(), Some(1_000 + 180 * 60_000));
        // Refusals name what was wrong.
        let past = ScheduleRequest { at: 5, ..request };
        let err = d.schedule_agent("writer", &past, &kim, 10).unwrap_err();
        assert!(err.message.contains("not in the future"), "{err:?}");
        let nowhere = ScheduleRequest {
            room: "nope".into(),
            at: 50,
            ..past
        };
        let err = d.schedule_agent("writer", &nowhere, &kim, 10).unwrap_err();
        assert_eq!(err.code, OpCode::NotFound);
        d.unschedule_agent("writer").unwrap();
        assert!(d.take_due(u64::MAX / 2).is_empty());
        d.remove_agent("scout").unwrap();
        assert_eq!(d.remove_agent("scout").unwrap_err().code, OpCode::NotFound);
    }
}
