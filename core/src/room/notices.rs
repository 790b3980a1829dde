//! Notifications the room raises for people's inboxes: an @mention in a finished
//! message. The edge delivers each to the person's inbox with the room's name and space.

use serde_json::{json, Value};

use super::Room;
use crate::authority::inbox::{NewNotification, NoticeKind, Urgency};
use crate::authority::mention::mentioned;
use crate::authority::{Event, EventKind};
use crate::model::Message;

/// Longest excerpt of a message a notification carries, in characters.
const EXCERPT_CHARS: usize = 280;

/// What a conflict event says of its sides (its JSON, read back).
#[derive(serde::Deserialize)]
struct ConflictSides {
    doc: Option<String>,
    sides: Vec<SideOf>,
}

#[derive(serde::Deserialize)]
struct SideOf {
    author: Option<AuthorOf>,
    #[serde(default)]
    inserted: String,
}

#[derive(serde::Deserialize)]
struct AuthorOf {
    id: String,
}

/// A notification for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Whose inbox.
    pub user: String,
    /// What to deliver (the edge adds the room and space).
    pub notification: NewNotification,
    /// Who it is from: `{id, name, kind}`.
    pub from: Value,
}

impl Room {
    /// Queue a notification for everyone `message` mentions (never its author).
    pub(super) fn notice_mentions(&mut self, message: &Message) {
        let place = format!("message:{}", message.id);
        self.notice_mentions_in(&message.text, &message.author, &place, "");
    }

    /// Queue a notification for everyone `text` by `author` mentions; `target` is where
    /// it opens, `where_` says where the mention is ("in a comment"), if anywhere special.
    pub(super) fn notice_mentions_in(
        &mut self,
        text: &str,
        author: &crate::doc::Participant,
        target: &str,
        where_: &str,
    ) {
        let mut known = self.authority.known();
        for p in self.present() {
            if !known.iter().any(|k| k.id == p.id) {
                known.push(crate::authority::mention::Known {
                    id: p.id,
                    name: p.name,
                });
            }
        }
        let excerpt: String = text.chars().take(EXCERPT_CHARS).collect();
        for user in mentioned(text, &known) {
            if user == author.id {
                continue;
            }
            self.notices.push(Notice {
                user,
                notification: NewNotification {
                    kind: NoticeKind::Mention,
                    urgency: None,
                    title: format!(
                        "{} mentioned you{}{where_}",
                        author.name,
                        if where_.is_empty() { "" } else { " " }
                    ),
                    body: Some(excerpt.clone()),
                    space: None,
                    room: None,
                    target: (!target.is_empty()).then(|| target.to_owned()),
                },
                from: json!({ "id": author.id, "name": author.name, "kind": author.kind.as_str() }),
            });
        }
    }

    /// The notifications an event raises: an invitation for the invitee, a handoff for
    /// whom it hands to, a held suggestion for the lease holder who reviews it, and a
    /// conflict for everyone with a side in it ("needs your input", urgent).
    pub(super) fn notices_for(&mut self, e: &Event) {
        let from = e.actor.clone().unwrap_or(Value::Null);
        let actor_name = from["name"].as_str().unwrap_or("Someone").to_owned();
        let mut tell = |user: &str,
                        kind: NoticeKind,
                        urgency: Option<Urgency>,
                        title: String,
                        body: Option<String>,
                        target: Option<String>| {
            if from["id"].as_str() == Some(user) {
                return;
            }
            self.notices.push(Notice {
                user: user.to_owned(),
                notification: NewNotification {
                    kind,
                    urgency,
                    title,
                    body,
                    space: None,
                    room: None,
                    target,
                },
                from: from.clone(),
            });
        };
        match e.action {
            EventKind::MemberInvited => {
                if let Some(user) = &e.target {
                    let role = e.detail["role"].as_str().unwrap_or("member");
                    let title = format!("{actor_name} invited you to this room as {role}");
                    tell(user, NoticeKind::Invitation, None, title, None, None);
                }
            }
            EventKind::Handoff => {
                let Some(to) = e.detail["to"].as_str() else {
                    return;
                };
                // `to` is an id, or a name the room knows.
                let user = self
                    .authority
                    .known()
                    .into_iter()
                    .find(|k| k.id == to || k.name.eq_ignore_ascii_case(to))
                    .map_or_else(|| to.to_owned(), |k| k.id);
                let body = e.detail["text"].as_str().map(str::to_owned);
                let title = format!("{actor_name} handed work to you");
                tell(
                    &user,
                    NoticeKind::Handoff,
                    Some(Urgency::Urgent),
                    title,
                    body,
                    None,
                );
            }
            EventKind::SuggestionCreated => {
                let Some(doc) = e.detail["document"].as_str() else {
                    return;
                };
                let resource = format!("doc:{doc}");
                let holders: Vec<String> = self
                    .authority
                    .locks
                    .leases(e.at)
                    .into_iter()
                    .filter(|l| l.resource == resource)
                    .map(|l| l.holder)
                    .collect();
                for holder in holders {
                    let title = format!(
                        "{actor_name} suggested a change to {doc}: it waits for your review"
                    );
                    tell(
                        &holder,
                        NoticeKind::Review,
                        None,
                        title,
                        None,
                        Some(resource.clone()),
                    );
                }
            }
            EventKind::ConflictRaised => {
                let Ok(conflict) =
                    serde_json::from_value::<ConflictSides>(e.detail["conflict"].clone())
                else {
                    return;
                };
                let place = conflict.doc.as_deref().map(|d| format!("doc:{d}"));
                let title = match &conflict.doc {
                    Some(doc) => format!("A conflict in {doc} needs your input"),
                    None => "A conflict needs your input".to_owned(),
                };
                let mut told: Vec<String> = Vec::new();
                for side in conflict.sides {
                    let Some(author) = side.author else { continue };
                    if told.contains(&author.id) {
                        continue;
                    }
                    told.push(author.id.clone());
                    tell(
                        &author.id,
                        NoticeKind::Conflict,
                        Some(Urgency::Urgent),
                        title.clone(),
                        Some(side.inserted),
                        place.clone(),
                    );
                }
            }
            EventKind::LockReleased | EventKind::LockExpired => {
                let Some(resource) = e.target.clone() else {
                    return;
                };
                let waiting = self.authority.locks.take_waiting(&resource);
                if !waiting.is_empty() {
                    self.authority_dirty = true;
                }
                for user in waiting {
                    let title = format!("The lock you waited for is free: {resource}");
                    self.notices.push(Notice {
                        user,
                        notification: NewNotification {
                            kind: NoticeKind::LockFree,
                            urgency: Some(Urgency::Normal),
                            title,
                            body: None,
                            space: None,
                            room: None,
                            target: Some(resource.clone()),
                        },
                        from: Value::Null,
                    });
                }
            }
            _ => {}
        }
    }

    /// The notifications raised since the last call.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }
}
