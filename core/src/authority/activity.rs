//! Agent activities and agent status: what each agent is doing, recorded by the agent
//! and shown to everyone.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::op::{ActivityArgs, CompleteArgs, StatusArgs};
use super::token::Role;
use super::{check_text, trim, Authority, Cx, Event, EventKind, OpError, OpResult, Outcome};
use crate::names::named_enum;

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

named_enum! {
    /// Whether an agent is working.
    pub enum AgentState {
        /// Working.
        Active = "active",
        /// Not working.
        Idle = "idle",
    }
}

/// One recorded agent activity.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    pub kind: ActivityKind,
    /// One line on what it is.
    pub summary: String,
    /// Free-form details.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub detail: Value,
    /// Under way, done or failed.
    pub status: ActivityStatus,
    /// What came of it.
    pub result: Option<String>,
    /// A collaboration it belongs to.
    pub collaboration: Option<String>,
    /// Started, ms since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub started_at: u64,
    /// Completed, ms since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub completed_at: Option<u64>,
}

impl super::Settled for Activity {
    fn settled(&self) -> bool {
        self.status != ActivityStatus::Started
    }
}

impl Authority {
    /// An agent's status: explicit, else active while it has an activity under way.
    pub fn agent_status(&self, agent: &str) -> AgentState {
        if let Some(s) = self.agent_status.get(agent) {
            return *s;
        }
        let busy = self
            .activities
            .iter()
            .any(|a| a.agent == agent && a.status == ActivityStatus::Started);
        if busy {
            AgentState::Active
        } else {
            AgentState::Idle
        }
    }

    fn status_event(&self, cx: &Cx<'_>, before: AgentState) -> Option<Event> {
        let after = self.agent_status(&cx.actor.id);
        (after != before).then(|| {
            cx.event(
                EventKind::AgentStatus,
                Some(&cx.actor.id),
                json!({ "status": after }),
            )
        })
    }

    pub(super) fn record_activity(&mut self, cx: &Cx<'_>, a: ActivityArgs) -> OpResult {
        cx.require(Role::Reviewer)?;
        let summary = a.summary.unwrap_or_default();
        let detail = a.detail.unwrap_or(Value::Null);
        check_text("summary", &summary)?;
        check_text("detail", &detail.to_string())?;
        if let Some(c) = &a.collaboration {
            self.collaboration(c)?;
        }
        let before = self.agent_status(&cx.actor.id);
        let activity = Activity {
            id: self.next_id("a"),
            agent: cx.actor.id.clone(),
            agent_name: cx.actor.name.clone(),
            kind: a.kind,
            summary,
            detail,
            status: ActivityStatus::Started,
            result: None,
            collaboration: a.collaboration,
            started_at: cx.now_ms,
            completed_at: None,
        };
        self.activities.push(activity.clone());
        trim(&mut self.activities);
        let mut events = vec![cx.event(
            EventKind::ActivityStarted,
            Some(&activity.id),
            json!({ "activity": activity }),
        )];
        events.extend(self.status_event(cx, before));
        Ok(Outcome::new(json!({ "activity": activity }), events))
    }

    pub(super) fn complete_activity(&mut self, cx: &Cx<'_>, a: CompleteArgs) -> OpResult {
        let before = self.agent_status(&cx.actor.id);
        let activity = self
            .activities
            .iter_mut()
            .find(|x| x.id == a.id)
            .ok_or_else(|| OpError::not_found(format!("no activity `{}`", a.id)))?;
        if activity.agent != cx.actor.id && !cx.actor.role.is_owner() {
            return Err(OpError::forbidden(format!(
                "activity `{}` belongs to {}",
                a.id, activity.agent
            )));
        }
        if activity.status != ActivityStatus::Started {
            return Err(OpError::conflict(format!(
                "activity `{}` is already {}",
                a.id, activity.status
            )));
        }
        if let Some(r) = &a.result {
            check_text("result", r)?;
        }
        activity.status = if a.failed.unwrap_or(false) {
            ActivityStatus::Failed
        } else {
            ActivityStatus::Completed
        };
        activity.result = a.result;
        activity.completed_at = Some(cx.now_ms);
        let activity = activity.clone();
        let mut events = vec![cx.event(
            EventKind::ActivityCompleted,
            Some(&activity.id),
            json!({ "activity": activity }),
        )];
        events.extend(self.status_event(cx, before));
        Ok(Outcome::new(json!({ "activity": activity }), events))
    }

    pub(super) fn set_agent_status(&mut self, cx: &Cx<'_>, a: StatusArgs) -> OpResult {
        cx.require(Role::Reviewer)?;
        let before = self.agent_status(&cx.actor.id);
        self.agent_status.insert(cx.actor.id.clone(), a.status);
        let events = self.status_event(cx, before).into_iter().collect();
        Ok(Outcome::new(
            json!({ "agent": cx.actor.id, "status": a.status }),
            events,
        ))
    }

    pub(super) fn list_agents(&self) -> OpResult {
        let mut agents: BTreeSet<&str> = self.activities.iter().map(|a| a.agent.as_str()).collect();
        agents.extend(self.agent_status.keys().map(String::as_str));
        let list: Vec<Value> = agents
            .into_iter()
            .map(|a| json!({ "agent": a, "status": self.agent_status(a) }))
            .collect();
        Ok(Outcome::new(json!({ "agents": list }), vec![]))
    }
}
