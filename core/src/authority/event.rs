//! Something that happened in a room, to audit, show live and deliver to webhooks.

use serde::Serialize;
use serde_json::{json, Value};

use super::actor::Actor;
use super::webhook::{Attempt, Webhook};
use crate::names::named_enum;

named_enum! {
    /// What happened. Every event a room raises is one of these; the webhook event
    /// list is derived from it ([`EventKind::subscribable`]).
    pub enum EventKind {
        /// Someone connected.
        Join = "join",
        /// Someone's last connection closed.
        Leave = "leave",
        /// A connection's edits since the last record, batched.
        Edit = "edit",
        /// A message was posted.
        MessagePosted = "message.posted",
        /// An agent turn finished.
        TurnFinished = "turn.finished",
        /// Someone asked a turn to stop.
        StopRequested = "stop.requested",
        /// Someone handed work over.
        Handoff = "handoff",
        /// A lease was taken.
        LockAcquired = "lock.acquired",
        /// A lease was extended.
        LockRenewed = "lock.renewed",
        /// A lease was given back (or ended by a role change).
        LockReleased = "lock.released",
        /// A lease lapsed.
        LockExpired = "lock.expired",
        /// A document's lease policy changed.
        LockPolicy = "lock.policy",
        /// The room's stored size passed the warning line of its limit.
        RoomSizeWarning = "room.size-warning",
        /// A conflict was found.
        ConflictRaised = "conflict.raised",
        /// An agent proposed a merge for a conflict; it waits for a person.
        ConflictProposed = "conflict.proposed",
        /// Someone's role changed.
        RoleChanged = "role.changed",
        /// Someone was invited.
        MemberInvited = "member.invited",
        /// Someone left.
        MemberLeft = "member.left",
        /// Someone was removed.
        MemberRemoved = "member.removed",
        /// An agent activity started.
        ActivityStarted = "activity.started",
        /// An agent activity finished.
        ActivityCompleted = "activity.completed",
        /// An agent's status changed.
        AgentStatus = "agent.status",
        /// A collaboration started.
        CollaborationStarted = "collaboration.started",
        /// A collaboration recorded a decision.
        CollaborationDecision = "collaboration.decision",
        /// A collaboration ended.
        CollaborationEnded = "collaboration.ended",
        /// An edit was held for review.
        SuggestionCreated = "suggestion.created",
        /// A held edit was applied.
        SuggestionAccepted = "suggestion.accepted",
        /// A held edit was dropped.
        SuggestionRejected = "suggestion.rejected",
        /// A comment was added (on a document range or a message).
        CommentAdded = "comment.added",
        /// Someone replied in a comment's thread.
        CommentReplied = "comment.replied",
        /// A comment was resolved.
        CommentResolved = "comment.resolved",
        /// A resolved comment was reopened.
        CommentReopened = "comment.reopened",
        /// A file was uploaded or written at a new path.
        FileAdded = "file.added",
        /// A file got new content.
        FileUpdated = "file.updated",
        /// A file or folder was moved or renamed.
        FileMoved = "file.moved",
        /// A file or folder was deleted (kept in history).
        FileDeleted = "file.deleted",
        /// A deleted file or folder was brought back.
        FileRestored = "file.restored",
        /// A folder was created.
        FolderCreated = "folder.created",
        /// An upload did not complete: nothing was added.
        FileUploadFailed = "file.upload-failed",
        /// A room was added to its space.
        RoomCreated = "room.created",
        /// A room was given a new title.
        RoomRenamed = "room.renamed",
        /// A room was archived.
        RoomArchived = "room.archived",
        /// An archived room was brought back.
        RoomRestored = "room.restored",
        /// A room was deleted from its space.
        RoomDeleted = "room.deleted",
        /// A space's settings changed.
        SpaceSettings = "space.settings",
        /// A space member's role was set, or the member removed.
        SpaceMember = "space.member",
        /// A shared agent was registered, changed, removed, scheduled or run.
        SpaceAgent = "space.agent",
        /// A webhook was created.
        WebhookCreated = "webhook.created",
        /// A webhook was deleted.
        WebhookDeleted = "webhook.deleted",
        /// A webhook delivery arrived.
        WebhookDelivered = "webhook.delivered",
        /// A webhook delivery failed.
        WebhookFailed = "webhook.failed",
    }
}

impl EventKind {
    /// May a webhook subscribe to it? Every kind but edit batches (the live document
    /// is the place for those) and the webhooks' own deliveries (a delivery would raise
    /// a delivery).
    pub fn subscribable(self) -> bool {
        !matches!(
            self,
            EventKind::Edit | EventKind::WebhookDelivered | EventKind::WebhookFailed
        )
    }

    /// Every kind a webhook may subscribe to.
    pub fn subscribable_kinds() -> impl Iterator<Item = EventKind> {
        EventKind::ALL.iter().copied().filter(|k| k.subscribable())
    }
}

/// Something that happened, to audit, show live and send to webhooks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// What happened.
    pub action: EventKind,
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
        action: EventKind,
        actor: Option<&Actor>,
        target: Option<&str>,
        detail: Value,
        at: u64,
    ) -> Self {
        Event {
            action,
            actor: actor.map(Actor::summary),
            target: target.map(str::to_owned),
            detail,
            at,
        }
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
            EventKind::WebhookDelivered,
            json!({ "delivery": delivery, "url": url, "status": status, "attempt": attempt }),
        ),
        Attempt::Failed {
            status,
            error,
            retry_at,
        } => (
            EventKind::WebhookFailed,
            json!({
                "delivery": delivery, "url": url, "status": status, "error": error,
                "attempt": attempt, "retryAt": retry_at, "gaveUp": retry_at.is_none(),
            }),
        ),
    };
    Event::new(action, None, Some(&hook.id), detail, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialize_as_their_names() {
        let e = Event::new(EventKind::LockAcquired, None, Some("doc:a"), json!({}), 1);
        assert_eq!(
            serde_json::to_value(&e).expect("json")["action"],
            "lock.acquired"
        );
        assert!(EventKind::subscribable_kinds().any(|k| k == EventKind::Join));
        assert!(!EventKind::subscribable_kinds().any(|k| k == EventKind::WebhookFailed));
    }
}
