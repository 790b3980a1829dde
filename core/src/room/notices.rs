//! Notifications the room raises for people's inboxes: an @mention in a finished
//! message. The edge delivers each to the person's inbox with the room's name and space.

use serde_json::{json, Value};

use super::Room;
use crate::authority::inbox::{NewNotification, NoticeKind};
use crate::authority::mention::mentioned;
use crate::model::Message;

/// Longest excerpt of a message a notification carries, in characters.
const EXCERPT_CHARS: usize = 280;

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

    /// The notifications raised since the last call.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }
}
