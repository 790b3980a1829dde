//! A person's notification inbox, across rooms and spaces: what the user's object keeps
//! and the calls it answers (`/users/<user>/inbox…`).
//!
//! Notifications arrive from rooms (an @mention, a lock that came free), from the app's
//! backend with the server key, and in development mode from anyone. Each has a kind,
//! an urgency and the place it opens (a space, a room, a message or document in it).
//! The newest [`KEEP`] are kept, read or not.
//!
//! With the deployment's inbox webhook set, each notification is also forwarded there
//! (how an app sends it on by email or chat): failed attempts are retried on the room
//! webhooks' schedule ([`retry_delay_ms`]), and the queue survives restarts.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::OpError;
use super::rest::RestError;
use super::webhook::{Answer, Attempt};
use crate::names::named_enum;

/// Notifications kept per person (the oldest go first).
pub const KEEP: usize = 500;
/// Longest title, in bytes.
pub const MAX_TITLE: usize = 300;
/// Longest body, in bytes.
pub const MAX_BODY: usize = 4_000;

named_enum! {
    /// What a notification is about.
    pub enum NoticeKind {
        /// An invitation to collaborate.
        Invitation = "invitation",
        /// Someone @mentioned you.
        Mention = "mention",
        /// An agent noticed something worth your attention.
        Insight = "insight",
        /// A conflict waits for your decision.
        Conflict = "conflict",
        /// Work was handed to you.
        Handoff = "handoff",
        /// A suggestion waits for your review.
        Review = "review",
        /// A lock you waited for is free.
        LockFree = "lock.free",
    }
}

named_enum! {
    /// How soon it needs you.
    pub enum Urgency {
        /// Whenever.
        Low = "low",
        /// Soon.
        Normal = "normal",
        /// Now (the workspace shows it as a toast).
        Urgent = "urgent",
    }
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// `n<number>`, unique in this inbox.
    pub id: String,
    /// What it is about.
    pub kind: NoticeKind,
    /// How soon it needs you.
    pub urgency: Urgency,
    /// One line.
    pub title: String,
    /// More, when there is more.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// Where it opens: the space, the room, and a message or document in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    /// The room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// A message (`message:<id>`) or document (`doc:<id>`) in the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Who it is from (`{id, name, kind}`), when someone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
    /// When it arrived, ms since the epoch.
    pub at: u64,
    /// Read yet?
    pub read: bool,
}

/// A notification to deliver, as a caller sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNotification {
    /// What it is about.
    pub kind: NoticeKind,
    /// How soon (normal when not said).
    #[serde(default)]
    pub urgency: Option<Urgency>,
    /// One line.
    pub title: String,
    /// More.
    #[serde(default)]
    pub body: Option<String>,
    /// The space.
    #[serde(default)]
    pub space: Option<String>,
    /// The room.
    #[serde(default)]
    pub room: Option<String>,
    /// A message or document in the room.
    #[serde(default)]
    pub target: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadArgs {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    all: bool,
}

/// What a request to an inbox asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxCall {
    /// `GET /users/<user>/inbox` (`?unread=true` for unread ones only).
    List {
        /// Unread ones only.
        unread: bool,
    },
    /// `POST /users/<user>/inbox`: deliver one.
    Deliver(NewNotification),
    /// `POST /users/<user>/inbox/read`: mark some (`ids`) or `all` read.
    Read {
        /// Which.
        ids: Vec<String>,
        /// Every one.
        all: bool,
    },
}

impl InboxCall {
    /// Parse `method` on the path below `/users/<user>/inbox`.
    pub fn parse(
        method: &str,
        rest: &[String],
        query: &[(String, String)],
        body: Option<Value>,
    ) -> Result<InboxCall, RestError> {
        let segs: Vec<&str> = rest.iter().map(String::as_str).collect();
        let from_body = |body: Option<Value>| body.unwrap_or_else(|| json!({}));
        let bad = |e: serde_json::Error| RestError::BadRequest(format!("request body: {e}"));
        match (method, segs.as_slice()) {
            ("GET", []) => {
                let unread = match query.iter().find(|(k, _)| k == "unread") {
                    None => false,
                    Some((_, v)) if v == "true" => true,
                    Some((_, v)) if v == "false" => false,
                    Some((_, v)) => {
                        return Err(RestError::BadRequest(format!(
                            "query parameter `unread` must be true or false; got `{v}`"
                        )))
                    }
                };
                Ok(InboxCall::List { unread })
            }
            ("POST", []) => Ok(InboxCall::Deliver(
                serde_json::from_value(from_body(body)).map_err(bad)?,
            )),
            ("POST", ["read"]) => {
                let args: ReadArgs = serde_json::from_value(from_body(body)).map_err(bad)?;
                if args.ids.is_empty() && !args.all {
                    return Err(RestError::BadRequest(
                        "say which to mark read: `ids` or `all: true`".into(),
                    ));
                }
                Ok(InboxCall::Read {
                    ids: args.ids,
                    all: args.all,
                })
            }
            _ => Err(RestError::NotFound {
                method: method.to_owned(),
                path: format!("/users/<user>/inbox/{}", rest.join("/")),
            }),
        }
    }
}

/// A notification waiting to be forwarded to the inbox webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Forward {
    id: String,
    /// Attempts made so far.
    attempts: u32,
    /// When the next attempt is due.
    due: u64,
}

/// One person's notifications, newest last.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inbox {
    items: VecDeque<Notification>,
    next: u64,
    /// What still has to reach the inbox webhook.
    #[serde(default)]
    forwards: VecDeque<Forward>,
}

impl Inbox {
    /// Load what [`Inbox::to_json`] wrote.
    pub fn from_json(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("stored inbox: {e}"))
    }

    /// Serialize for storage.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an inbox always serializes")
    }

    /// Deliver `new` from `from` at `now`; returns it as kept.
    pub fn deliver(
        &mut self,
        new: NewNotification,
        from: Option<Value>,
        now: u64,
    ) -> Result<&Notification, OpError> {
        let title = new.title.trim();
        if title.is_empty() {
            return Err(OpError::invalid("a notification needs a title"));
        }
        for (what, text, max) in [
            ("title", title, MAX_TITLE),
            ("body", new.body.as_deref().unwrap_or_default(), MAX_BODY),
        ] {
            if text.len() > max {
                return Err(OpError::invalid(format!(
                    "the {what} is {} bytes long; the limit is {max}",
                    text.len()
                )));
            }
        }
        self.next += 1;
        if self.items.len() == KEEP {
            self.items.pop_front();
        }
        self.items.push_back(Notification {
            id: format!("n{}", self.next),
            kind: new.kind,
            urgency: new.urgency.unwrap_or(Urgency::Normal),
            title: title.to_owned(),
            body: new.body.unwrap_or_default(),
            space: new.space,
            room: new.room,
            target: new.target,
            from,
            at: now,
            read: false,
        });
        Ok(self.items.back().expect("just pushed"))
    }

    /// Queue notification `id` for the inbox webhook, due at `now` (the oldest waiting
    /// one is dropped when [`KEEP`] wait).
    pub fn queue_forward(&mut self, id: &str, now: u64) {
        if self.forwards.len() == KEEP {
            self.forwards.pop_front();
        }
        self.forwards.push_back(Forward {
            id: id.to_owned(),
            attempts: 0,
            due: now,
        });
    }

    /// The notifications due to be forwarded at `now`, each with its attempt number
    /// (1-based). One that left the inbox meanwhile is dropped from the queue.
    pub fn due_forwards(&mut self, now: u64) -> Vec<(Notification, u32)> {
        let items = &self.items;
        self.forwards.retain(|f| items.iter().any(|n| n.id == f.id));
        self.forwards
            .iter()
            .filter(|f| f.due <= now)
            .filter_map(|f| {
                let n = self.items.iter().find(|n| n.id == f.id)?;
                Some((n.clone(), f.attempts + 1))
            })
            .collect()
    }

    /// Settle attempt `attempt` at forwarding `id`, sent at `sent_at`: delivered or given
    /// up, it leaves the queue; otherwise it waits for its retry. Returns the judgement.
    pub fn settle_forward(
        &mut self,
        id: &str,
        attempt: u32,
        answer: Answer,
        sent_at: u64,
    ) -> Attempt {
        let judged = Attempt::judge(answer, attempt, sent_at);
        match judged.retry_at() {
            Some(due) => {
                if let Some(f) = self.forwards.iter_mut().find(|f| f.id == id) {
                    f.attempts = attempt;
                    f.due = due;
                }
            }
            None => self.forwards.retain(|f| f.id != id),
        }
        judged
    }

    /// When the next forwarding attempt is due.
    pub fn next_forward_at(&self) -> Option<u64> {
        self.forwards.iter().map(|f| f.due).min()
    }

    /// Newest first (unread ones only with `unread`), with the unread count.
    pub fn list(&self, unread: bool) -> Value {
        let items: Vec<&Notification> = self
            .items
            .iter()
            .rev()
            .filter(|n| !unread || !n.read)
            .collect();
        json!({ "notifications": items, "unread": self.unread() })
    }

    /// How many are unread.
    pub fn unread(&self) -> usize {
        self.items.iter().filter(|n| !n.read).count()
    }

    /// Mark `ids` (or every one, with `all`) read; returns how many changed. An id this
    /// inbox does not hold is refused, and nothing changes.
    pub fn mark_read(&mut self, ids: &[String], all: bool) -> Result<usize, OpError> {
        if let Some(missing) = ids
            .iter()
            .find(|id| !self.items.iter().any(|n| &n.id == *id))
        {
            return Err(OpError::not_found(format!(
                "no notification `{missing}` in this inbox"
            )));
        }
        let mut changed = 0;
        for n in self.items.iter_mut() {
            if !n.read && (all || ids.contains(&n.id)) {
                n.read = true;
                changed += 1;
            }
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::OpCode;

    fn mention(title: &str) -> NewNotification {
        NewNotification {
            kind: NoticeKind::Mention,
            urgency: None,
            title: title.into(),
            body: None,
            space: None,
            room: Some("design".into()),
            target: Some("message:m1".into()),
        }
    }

    #[test]
    fn notifications_arrive_unread_newest_first_and_are_marked_read() {
        let mut inbox = Inbox::default();
        inbox
            .deliver(mention("Ada mentioned you"), None, 1)
            .unwrap();
        let urgent = NewNotification {
            urgency: Some(Urgency::Urgent),
            kind: NoticeKind::Conflict,
            ..mention("A conflict needs you")
        };
        inbox.deliver(urgent, None, 2).unwrap();
        let listed = inbox.list(false);
        assert_eq!(listed["unread"], 2);
        assert_eq!(listed["notifications"][0]["urgency"], "urgent");
        assert_eq!(listed["notifications"][1]["kind"], "mention");
        assert_eq!(listed["notifications"][1]["urgency"], "normal");
        assert_eq!(inbox.mark_read(&["n1".into()], false).unwrap(), 1);
        assert_eq!(inbox.list(true)["notifications"][0]["id"], "n2");
        let err = inbox.mark_read(&["n9".into()], false).unwrap_err();
        assert_eq!(err.code, OpCode::NotFound);
        assert_eq!(inbox.mark_read(&[], true).unwrap(), 1);
        assert_eq!(inbox.unread(), 0);
        let back = Inbox::from_json(&inbox.to_json()).unwrap();
        assert_eq!(back, inbox);
    }

    #[test]
    fn bad_notifications_are_refused_with_the_reason_and_old_ones_make_room() {
        let mut inbox = Inbox::default();
        assert!(inbox
            .deliver(mention("  "), None, 1)
            .unwrap_err()
            .message
            .contains("needs a title"));
        let long = "x".repeat(MAX_TITLE + 1);
        assert!(inbox
            .deliver(mention(&long), None, 1)
            .unwrap_err()
            .message
            .contains("the title is 301 bytes long"));
        for i in 0..KEEP + 3 {
            inbox.deliver(mention(&format!("{i}")), None, 1).unwrap();
        }
        let listed = inbox.list(false);
        assert_eq!(listed["notifications"].as_array().unwrap().len(), KEEP);
        assert_eq!(listed["notifications"][0]["id"], format!("n{}", KEEP + 3));
        let err = InboxCall::parse(
            "POST",
            &[],
            &[],
            Some(json!({"kind": "shout", "title": "x"})),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown notice kind `shout`"),
            "{err}"
        );
        let err = InboxCall::parse("POST", &["read".into()], &[], None).unwrap_err();
        assert!(err.to_string().contains("`ids` or `all: true`"), "{err}");
    }

    #[test]
    fn forwards_are_retried_with_backoff_until_delivered_or_given_up() {
        use crate::authority::webhook::{FIRST_RETRY_MS, MAX_ATTEMPTS};
        let mut inbox = Inbox::default();
        let id = inbox.deliver(mention("one"), None, 10).unwrap().id.clone();
        inbox.queue_forward(&id, 10);
        assert_eq!(inbox.next_forward_at(), Some(10));
        let due = inbox.due_forwards(10);
        assert_eq!((due[0].0.id.as_str(), due[0].1), (id.as_str(), 1));
        // The receiver fails: tried again after the first delay, then twice that.
        let judged = inbox.settle_forward(&id, 1, Answer::Status(503), 20);
        assert!(matches!(
            judged,
            Attempt::Failed {
                status: Some(503),
                ..
            }
        ));
        assert_eq!(inbox.next_forward_at(), Some(20 + FIRST_RETRY_MS));
        assert!(inbox.due_forwards(20).is_empty(), "not due yet");
        let again = inbox.due_forwards(20 + FIRST_RETRY_MS);
        assert_eq!(again[0].1, 2);
        inbox.settle_forward(&id, 2, Answer::Unreachable("refused".into()), 1_100);
        assert_eq!(inbox.next_forward_at(), Some(1_100 + 2 * FIRST_RETRY_MS));
        inbox.settle_forward(&id, 3, Answer::Status(204), 3_200);
        assert_eq!(inbox.next_forward_at(), None, "delivered: off the queue");
        // The last attempt fails: given up.
        let two = inbox.deliver(mention("two"), None, 20).unwrap().id.clone();
        inbox.queue_forward(&two, 20);
        let last = inbox.settle_forward(&two, MAX_ATTEMPTS, Answer::Status(500), 30);
        assert_eq!(last.retry_at(), None);
        assert_eq!(inbox.next_forward_at(), None);
        // A queue survives storage.
        inbox.queue_forward(&two, 40);
        let back = Inbox::from_json(&inbox.to_json()).unwrap();
        assert_eq!(back.next_forward_at(), Some(40));
    }
}
