//! Collaboration sessions between agents and people: who takes part, the decisions on
//! the way, and how it ended.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::op::{CollabArgs, DecideArgs, EndArgs};
use super::token::Role;
use super::{check_text, trim, Authority, Cx, EventKind, OpError, OpResult, Outcome};
use crate::names::named_enum;

named_enum! {
    /// Where a collaboration stands.
    pub enum CollaborationStatus {
        /// Under way.
        Active = "active",
        /// Over.
        Ended = "ended",
    }
}

/// A decision point in a collaboration.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Who decided.
    pub by: String,
    /// What was decided.
    pub text: String,
    /// When, ms since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at: u64,
}

/// A collaboration session between participants (agents and people).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// Active or ended.
    pub status: CollaborationStatus,
    /// How it ended.
    pub outcome: Option<String>,
    /// Started, ms since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub started_at: u64,
    /// Ended, ms since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub ended_at: Option<u64>,
}

impl super::Settled for Collaboration {
    fn settled(&self) -> bool {
        self.status != CollaborationStatus::Active
    }
}

impl Authority {
    pub(super) fn collaboration(&mut self, id: &str) -> Result<&mut Collaboration, OpError> {
        self.collaborations
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| OpError::not_found(format!("no collaboration `{id}`")))
    }

    /// An active collaboration, for a decision or its end.
    fn active_collaboration(&mut self, id: &str) -> Result<&mut Collaboration, OpError> {
        let c = self.collaboration(id)?;
        if c.status != CollaborationStatus::Active {
            return Err(OpError::conflict(format!("collaboration `{id}` has ended")));
        }
        Ok(c)
    }

    pub(super) fn start_collaboration(&mut self, cx: &Cx<'_>, a: CollabArgs) -> OpResult {
        cx.require(Role::Reviewer)?;
        if a.title.trim().is_empty() {
            return Err(OpError::invalid("collaboration.start: `title` is empty"));
        }
        check_text("title", &a.title)?;
        let mut participants = a.participants.unwrap_or_default();
        if !participants.contains(&cx.actor.id) {
            participants.insert(0, cx.actor.id.clone());
        }
        let c = Collaboration {
            id: self.next_id("c"),
            title: a.title,
            started_by: cx.actor.id.clone(),
            participants,
            decisions: Vec::new(),
            status: CollaborationStatus::Active,
            outcome: None,
            started_at: cx.now_ms,
            ended_at: None,
        };
        self.collaborations.push(c.clone());
        trim(&mut self.collaborations);
        let e = cx.event(
            EventKind::CollaborationStarted,
            Some(&c.id),
            json!({ "collaboration": c }),
        );
        Ok(Outcome::new(json!({ "collaboration": c }), vec![e]))
    }

    pub(super) fn decide(&mut self, cx: &Cx<'_>, a: DecideArgs) -> OpResult {
        cx.require(Role::Reviewer)?;
        check_text("text", &a.text)?;
        let c = self.active_collaboration(&a.id)?;
        c.decisions.push(Decision {
            by: cx.actor.id.clone(),
            text: a.text,
            at: cx.now_ms,
        });
        let c = c.clone();
        let e = cx.event(
            EventKind::CollaborationDecision,
            Some(&c.id),
            json!({ "collaboration": c }),
        );
        Ok(Outcome::new(json!({ "collaboration": c }), vec![e]))
    }

    pub(super) fn end_collaboration(&mut self, cx: &Cx<'_>, a: EndArgs) -> OpResult {
        cx.require(Role::Reviewer)?;
        if let Some(t) = &a.outcome {
            check_text("text", t)?;
        }
        let c = self.active_collaboration(&a.id)?;
        c.status = CollaborationStatus::Ended;
        c.outcome = a.outcome;
        c.ended_at = Some(cx.now_ms);
        let c = c.clone();
        let e = cx.event(
            EventKind::CollaborationEnded,
            Some(&c.id),
            json!({ "collaboration": c }),
        );
        Ok(Outcome::new(json!({ "collaboration": c }), vec![e]))
    }
}
