//! Conversations and their messages: who wrote each, in which role, where each stands,
//! the reactions on it, and the record a merged branch leaves. Messages of every
//! conversation are ordered the same on every replica (creation time, then id).

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use yrs::{Any, Doc, GetString, Map, MapPrelim, MapRef, Out, ReadTxn, TextPrelim, Transact};

use crate::doc::read::{any_str, get_num, get_str};
use crate::doc::schema::MESSAGES;
use crate::doc::{Participant, ParticipantKind, RoomDoc};
use crate::error::{Error, Result};
use crate::names::named_enum;

named_enum! {
    /// The role a message plays in an AI conversation.
    #[cfg_attr(feature = "ts", ts(rename = "MessageRole"))]
    pub enum Role {
        /// Written by a person.
        User = "user",
        /// Written by an AI agent.
        Assistant = "assistant",
        /// Instructions for the agents.
        System = "system",
        /// Output of a tool call.
        Tool = "tool",
    }
}

impl Role {
    /// The role of a message whose author does not say: an agent's messages are the
    /// assistant's, a person's the user's.
    pub fn default_for(kind: ParticipantKind) -> Self {
        match kind {
            ParticipantKind::Agent => Role::Assistant,
            ParticipantKind::Person => Role::User,
        }
    }
}

/// A conversation in the room.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ConversationInfo"))]
pub struct Conversation {
    /// Conversation id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Participant id of whoever created it.
    pub created_by: String,
    /// Creation time, ms since the Unix epoch.
    pub created_at: f64,
    /// For a branch: the conversation and message it was forked at.
    pub fork_of: Option<ForkPoint>,
}

/// Where a branch was forked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ForkPoint {
    /// The parent conversation.
    pub conversation: String,
    /// The parent's message the branch starts after.
    pub message: String,
}

/// A message in a conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MessageInfo"))]
pub struct Message {
    /// Message id.
    pub id: String,
    /// Conversation it belongs to.
    pub conversation: String,
    /// Who wrote it.
    pub author: Participant,
    /// Its role.
    pub role: Role,
    /// Its text (for an agent turn, as far as it has streamed).
    pub text: String,
    /// Creation time, ms since the Unix epoch.
    pub created_at: f64,
    /// Where the message stands: `done` for a plain post, the turn's state for a
    /// streamed agent turn.
    pub status: TurnStatus,
    /// Why the turn failed, when `status` is `error`.
    pub error: Option<String>,
    /// Who asked the turn to stop.
    pub stop_requested_by: Option<Participant>,
    /// Reactions, ordered by kind then participant id.
    pub reactions: Vec<Reaction>,
    /// Set when the message records a merged branch.
    pub merge: Option<MergeRecord>,
}

named_enum! {
    /// Where a message stands.
    pub enum TurnStatus {
        /// Opened; no text yet.
        Pending = "pending",
        /// Text is arriving.
        Streaming = "streaming",
        /// Finished (every plain post is `done`).
        Done = "done",
        /// Someone asked it to stop.
        Stopped = "stopped",
        /// Its writer vanished mid-turn.
        Interrupted = "interrupted",
        /// Failed, with a reason.
        Error = "error",
    }
}

impl TurnStatus {
    /// True while text may still arrive.
    pub fn is_open(self) -> bool {
        matches!(self, TurnStatus::Pending | TurnStatus::Streaming)
    }
}

/// A reaction (mark) on a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ReactionInfo"))]
pub struct Reaction {
    /// What kind, e.g. "helpful".
    pub kind: String,
    /// Who made it.
    pub by: Participant,
    /// When, ms since the Unix epoch.
    pub at: f64,
}

/// What a merge brings back from a branch, as structured fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MergeSummary {
    /// The summary in prose.
    pub summary: String,
    /// Key findings.
    pub key_findings: Vec<String>,
    /// Recommendations.
    pub recommendations: Vec<String>,
    /// Action items.
    pub action_items: Vec<String>,
}

/// The record a merged branch leaves in its parent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MergeRecord {
    /// The branch merged.
    pub branch: String,
    /// The branch's messages brought back, in branch order.
    pub messages: Vec<String>,
    /// What the branch found.
    #[serde(flatten)]
    pub summary: MergeSummary,
    /// Who merged it.
    pub by: Participant,
}

impl MergeRecord {
    pub(crate) fn to_any(&self) -> Any {
        let list = |v: &[String]| Any::Array(v.iter().map(|s| Any::from(s.as_str())).collect());
        let mut m = HashMap::new();
        m.insert("branch".to_owned(), Any::from(self.branch.as_str()));
        m.insert("messages".to_owned(), list(&self.messages));
        m.insert(
            "summary".to_owned(),
            Any::from(self.summary.summary.as_str()),
        );
        m.insert("keyFindings".to_owned(), list(&self.summary.key_findings));
        m.insert(
            "recommendations".to_owned(),
            list(&self.summary.recommendations),
        );
        m.insert("actionItems".to_owned(), list(&self.summary.action_items));
        m.insert("by".to_owned(), self.by.to_any());
        Any::Map(Arc::new(m))
    }

    pub(crate) fn from_any(any: &Any) -> Option<Self> {
        let Any::Map(m) = any else { return None };
        let list = |key: &str| -> Vec<String> {
            match m.get(key) {
                Some(Any::Array(items)) => items.iter().filter_map(any_str).collect(),
                _ => Vec::new(),
            }
        };
        Some(MergeRecord {
            branch: any_str(m.get("branch")?)?,
            messages: list("messages"),
            summary: MergeSummary {
                summary: m.get("summary").and_then(any_str).unwrap_or_default(),
                key_findings: list("keyFindings"),
                recommendations: list("recommendations"),
                action_items: list("actionItems"),
            },
            by: Participant::from_any(m.get("by")?)?,
        })
    }
}

pub(crate) fn read_reactions<T: ReadTxn>(map: &MapRef, txn: &T) -> Vec<Reaction> {
    let mut out: Vec<Reaction> = map
        .iter(txn)
        .filter_map(|(_, value)| {
            let Out::Any(Any::Map(r)) = value else {
                return None;
            };
            Some(Reaction {
                kind: any_str(r.get("kind")?)?,
                by: Participant::from_any(r.get("by")?)?,
                at: match r.get("at") {
                    Some(Any::Number(n)) => n.as_f64().unwrap_or(0.0),
                    _ => 0.0,
                },
            })
        })
        .collect();
    out.sort_by(|a, b| a.kind.cmp(&b.kind).then(a.by.id.cmp(&b.by.id)));
    out
}

impl RoomDoc {
    /// Create a conversation; returns its id (generated when `id` is `None`).
    pub fn create_conversation(
        &mut self,
        id: Option<&str>,
        title: &str,
        creator: &Participant,
        now_ms: u64,
    ) -> Result<String> {
        let id = self.pick_id(id)?;
        let mut txn = self.doc.transact_mut();
        if self.conversations.get(&txn, &id).is_some() {
            return Err(Error::AlreadyExists {
                kind: "conversation",
                id,
            });
        }
        let entry = MapPrelim::from_iter([
            ("title", Any::from(title)),
            ("createdBy", Any::from(creator.id.as_str())),
            ("createdAt", Any::from(now_ms as f64)),
        ]);
        self.conversations.insert(&mut txn, id.as_str(), entry);
        Ok(id)
    }

    /// Create the conversation unless it exists.
    pub fn ensure_conversation(
        &mut self,
        id: &str,
        title: &str,
        creator: &Participant,
        now_ms: u64,
    ) -> Result<()> {
        match self.create_conversation(Some(id), title, creator, now_ms) {
            Ok(_) | Err(Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Set conversation `conversation`'s title (a tracked field: concurrent renames
    /// conflict, as a document's do).
    pub fn set_conversation_title(&mut self, conversation: &str, title: &str) -> Result<()> {
        if title.trim().is_empty() {
            return Err(Error::Empty("title"));
        }
        self.write_field("conversations", conversation, "title", Any::from(title))
    }

    /// Every conversation, oldest first.
    pub fn conversations(&self) -> Vec<Conversation> {
        let txn = self.doc.transact();
        let mut out: Vec<Conversation> = self
            .conversations
            .iter(&txn)
            .filter_map(|(id, value)| {
                let Out::YMap(m) = value else { return None };
                Some(Conversation {
                    id: id.to_owned(),
                    title: get_str(&m, &txn, "title").unwrap_or_default(),
                    created_by: get_str(&m, &txn, "createdBy").unwrap_or_default(),
                    created_at: get_num(&m, &txn, "createdAt").unwrap_or(0.0),
                    fork_of: fork_point(&m, &txn).map(|(conversation, message)| ForkPoint {
                        conversation,
                        message,
                    }),
                })
            })
            .collect();
        out.sort_by(|a, b| a.created_at.total_cmp(&b.created_at).then(a.id.cmp(&b.id)));
        out
    }

    /// Post a message; returns its id.
    pub fn post_message(
        &mut self,
        conversation: &str,
        author: &Participant,
        role: Role,
        text: &str,
        now_ms: u64,
    ) -> Result<String> {
        self.insert_message(
            conversation,
            author,
            role,
            text,
            TurnStatus::Done,
            None,
            now_ms,
        )
    }

    /// Insert a message with its status (and, for an agent turn, the yrs client id of
    /// the writer).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert_message(
        &mut self,
        conversation: &str,
        author: &Participant,
        role: Role,
        text: &str,
        status: TurnStatus,
        writer: Option<u64>,
        now_ms: u64,
    ) -> Result<String> {
        let id = self.fresh_id();
        let mut txn = self.doc.transact_mut();
        if self.conversations.get(&txn, conversation).is_none() {
            return Err(Error::UnknownConversation(conversation.to_owned()));
        }
        let mut entry = MapPrelim::from_iter([
            ("conversation", yrs::In::from(Any::from(conversation))),
            ("author", yrs::In::from(author.to_any())),
            ("role", yrs::In::from(Any::from(role.as_str()))),
            ("text", yrs::In::from(TextPrelim::new(text))),
            ("createdAt", yrs::In::from(Any::from(now_ms as f64))),
            ("status", yrs::In::from(Any::from(status.as_str()))),
            ("reactions", yrs::In::from(MapPrelim::default())),
        ]);
        if let Some(writer) = writer {
            entry.insert("writer".into(), yrs::In::from(Any::from(writer as f64)));
        }
        self.messages.insert(&mut txn, id.as_str(), entry);
        Ok(id)
    }

    /// The messages of a conversation in their deterministic order: by creation time,
    /// then id, so every replica lists them identically. A branch lists its parent's
    /// messages up to the message it was forked at, then its own.
    pub fn messages(&self, conversation: &str) -> Result<Vec<Message>> {
        let txn = self.doc.transact();
        self.messages_in(&txn, conversation, 0)
    }

    fn messages_in<T: ReadTxn>(
        &self,
        txn: &T,
        conversation: &str,
        depth: u32,
    ) -> Result<Vec<Message>> {
        let Some(Out::YMap(conv)) = self.conversations.get(txn, conversation) else {
            return Err(Error::UnknownConversation(conversation.to_owned()));
        };
        let mut out = Vec::new();
        if let Some((parent, at)) = fork_point(&conv, txn) {
            // Depth bounds a (malicious) cycle of forks.
            if depth < 64 {
                if let Ok(inherited) = self.messages_in(txn, &parent, depth + 1) {
                    let keep = inherited
                        .iter()
                        .position(|m| m.id == at)
                        .map_or(inherited.len(), |i| i + 1);
                    out.extend(inherited.into_iter().take(keep));
                }
            }
        }
        out.extend(self.own_messages(txn, conversation));
        Ok(out)
    }

    /// A conversation's own messages (without what a branch inherits), ordered.
    pub(crate) fn own_messages<T: ReadTxn>(&self, txn: &T, conversation: &str) -> Vec<Message> {
        let mut out: Vec<Message> = self
            .messages
            .iter(txn)
            .filter_map(|(id, value)| {
                let Out::YMap(m) = value else { return None };
                if get_str(&m, txn, "conversation")? != conversation {
                    return None;
                }
                read_message(id, &m, txn)
            })
            .collect();
        out.sort_by(|a, b| a.created_at.total_cmp(&b.created_at).then(a.id.cmp(&b.id)));
        out
    }
}

/// One message by id, read from any doc holding a room.
pub fn message_in(doc: &Doc, id: &str) -> Option<Message> {
    let txn = doc.transact();
    let Some(Out::YMap(m)) = txn.get_map(MESSAGES)?.get(&txn, id) else {
        return None;
    };
    read_message(id, &m, &txn)
}

fn read_message<T: ReadTxn>(id: &str, m: &MapRef, txn: &T) -> Option<Message> {
    let author = match m.get(txn, "author")? {
        Out::Any(any) => Participant::from_any(&any)?,
        _ => return None,
    };
    let text = match m.get(txn, "text")? {
        Out::YText(t) => t.get_string(txn),
        Out::Any(Any::String(s)) => s.to_string(),
        _ => return None,
    };
    let reactions = match m.get(txn, "reactions") {
        Some(Out::YMap(r)) => read_reactions(&r, txn),
        _ => Vec::new(),
    };
    Some(Message {
        id: id.to_owned(),
        conversation: get_str(m, txn, "conversation")?,
        author,
        role: Role::parse(&get_str(m, txn, "role")?)?,
        text,
        created_at: get_num(m, txn, "createdAt").unwrap_or(0.0),
        status: get_str(m, txn, "status")
            .and_then(|s| TurnStatus::parse(&s))
            .unwrap_or(TurnStatus::Done),
        error: get_str(m, txn, "error"),
        stop_requested_by: match m.get(txn, "stopRequestedBy") {
            Some(Out::Any(any)) => Participant::from_any(&any),
            _ => None,
        },
        reactions,
        merge: match m.get(txn, "merge") {
            Some(Out::Any(any)) => MergeRecord::from_any(&any),
            _ => None,
        },
    })
}

/// The (parent conversation, message) a branch was forked at.
pub(crate) fn fork_point<T: ReadTxn>(conv: &MapRef, txn: &T) -> Option<(String, String)> {
    let Some(Out::Any(Any::Map(fork))) = conv.get(txn, "forkOf") else {
        return None;
    };
    Some((
        any_str(fork.get("conversation")?)?,
        any_str(fork.get("message")?)?,
    ))
}
