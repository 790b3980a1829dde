//! Every operation a room answers, parsed once.
//!
//! An operation travels as a name and JSON arguments — in a request frame from a
//! socket, from the REST API, from wasm's `request()` — and [`Op::parse`] turns the
//! pair into one typed value before anything acts on it: an unknown name, an unknown
//! field or a wrong type is refused there, with a message naming the operation and the
//! field. The room then handles its own operations and hands the rest to the
//! [`Authority`](super::Authority).

use serde::Deserialize;
use serde_json::{json, Value};

use super::error::OpError;
use super::locks::LeasePolicy;
use super::token::Role;
use super::{ActivityKind, AgentState};
use crate::doc::ParticipantKind;

/// Declare the operations: one line each gives the enum variant, its wire name, its
/// arguments and whether it only reads.
macro_rules! ops {
    ($(
        $(#[$meta:meta])*
        $name:literal => $variant:ident $(($args:ty))?, $access:ident;
    )+) => {
        /// One room operation with its arguments.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Op {
            $($(#[$meta])* $variant $(($args))?,)+
        }

        impl Op {
            /// Every operation's wire name.
            pub const NAMES: &'static [&'static str] = &[$($name,)+];

            /// Parse a named operation and its JSON arguments (`null` reads as `{}`).
            pub fn parse(name: &str, args: Value) -> Result<Op, OpError> {
                match name {
                    $($name => ops!(@parse $variant, $name, args $(, $args)?),)+
                    _ => Err(OpError::unknown_operation(name)),
                }
            }

            /// The operation's wire name.
            pub fn name(&self) -> &'static str {
                match self {
                    $(ops!(@pat $variant $(, $args)?) => $name,)+
                }
            }

            /// The TypeScript map from every operation's name to its arguments' type
            /// (`void` when it takes none), for the npm package's typed `request`.
            #[cfg(feature = "ts")]
            pub fn ts_args_map() -> String {
                let mut out = String::from(
                    "/**\n * The arguments of every operation a room answers (`void`: none).\n */\nexport type OpArgs = {\n",
                );
                $(out.push_str(&format!("  \"{}\": {},\n", $name, ops!(@ts $($args)?)));)+
                out.push_str("};\n");
                out
            }

            /// True for an operation that changes nothing (lists, reads, checks).
            pub fn reads_only(&self) -> bool {
                match self {
                    $(ops!(@pat $variant $(, $args)?) => ops!(@access $access),)+
                }
            }
        }
    };
    (@parse $variant:ident, $name:literal, $args:ident, $ty:ty) => {
        Ok(Op::$variant(parse_args::<$ty>($name, $args)?))
    };
    (@parse $variant:ident, $name:literal, $args:ident) => {{
        no_args($name, $args)?;
        Ok(Op::$variant)
    }};
    (@pat $variant:ident, $ty:ty) => { Op::$variant(_) };
    (@pat $variant:ident) => { Op::$variant };
    (@ts $ty:ty) => { <$ty as ts_rs::TS>::name() };
    (@ts) => { "void".to_owned() };
    (@access read) => { true };
    (@access write) => { false };
}

ops! {
    /// The room at a glance: people, documents, conversations.
    "room.summary" => RoomSummary, read;
    /// Everyone's presence.
    "presence.list" => PresenceList, read;
    /// Messages of one conversation, or of all.
    "message.list" => MessageList(MessageListArgs), read;
    /// Post a message as the caller.
    "message.post" => MessagePost(MessagePostArgs), write;
    /// Every document with its length.
    "document.list" => DocumentList, read;
    /// One document's title and text.
    "document.get" => DocumentGet(IdArgs), read;
    /// Replace a document's text (created when missing).
    "document.write" => DocumentWrite(DocumentWriteArgs), write;
    /// Take a lease on a resource.
    "lock.acquire" => LockAcquire(AcquireArgs), write;
    /// Extend a lease the caller holds.
    "lock.renew" => LockRenew(RenewArgs), write;
    /// Give a lease back.
    "lock.release" => LockRelease(LeaseArgs), write;
    /// Is a fencing token still good?
    "lock.verify" => LockVerify(LeaseArgs), read;
    /// Live leases and document policies.
    "lock.list" => LockList, read;
    /// Set or clear a document's lease policy (owners).
    "lock.policy" => LockPolicy(PolicyArgs), write;
    /// Record an agent activity.
    "activity.record" => ActivityRecord(ActivityArgs), write;
    /// Finish an activity.
    "activity.complete" => ActivityComplete(CompleteArgs), write;
    /// Recent activities.
    "activity.list" => ActivityList, read;
    /// Set the calling agent's status.
    "agent.status" => AgentStatus(StatusArgs), write;
    /// Every agent with its status.
    "agent.list" => AgentList, read;
    /// Bring an agent in with its own token, as an editor at most (editors and owners).
    "agent.invite" => AgentInvite(AgentInviteArgs), write;
    /// Start a collaboration.
    "collaboration.start" => CollaborationStart(CollabArgs), write;
    /// Record a decision in a collaboration.
    "collaboration.decide" => CollaborationDecide(DecideArgs), write;
    /// End a collaboration.
    "collaboration.end" => CollaborationEnd(EndArgs), write;
    /// Recent collaborations.
    "collaboration.list" => CollaborationList, read;
    /// Members with a record, and their roles.
    "member.list" => MemberList, read;
    /// Invite someone with a role; answers with a signed token (owners).
    "member.invite" => MemberInvite(InviteArgs), write;
    /// Change a member's role (owners).
    "member.role" => MemberRole(RoleArgs), write;
    /// Hand the room's ownership to someone else (owners).
    "member.transfer" => MemberTransfer(UserArgs), write;
    /// Leave the room.
    "member.leave" => MemberLeave, write;
    /// Remove a member (owners).
    "member.remove" => MemberRemove(UserArgs), write;
    /// Subscribe a URL to events (owners).
    "webhook.create" => WebhookCreate(WebhookArgs), write;
    /// The room's webhooks, without secrets (owners).
    "webhook.list" => WebhookList, read;
    /// Delete a webhook (owners).
    "webhook.delete" => WebhookDelete(IdArgs), write;
    /// Edits held for review.
    "suggestion.list" => SuggestionList, read;
    /// Apply a held edit (owners and the document's lease holder).
    "suggestion.accept" => SuggestionAccept(IdArgs), write;
    /// Drop a held edit (owners and the document's lease holder).
    "suggestion.reject" => SuggestionReject(IdArgs), write;
    /// The file tree (live entries; with `deleted`, the deleted ones too).
    "file.list" => FileList(FileListArgs), read;
    /// One file's entry, and a text file's current text.
    "file.get" => FileGet(PathArgs), read;
    /// Write a text file (created when missing; its document's text replaced).
    "file.write" => FileWrite(FileWriteArgs), write;
    /// Move or rename a file or folder (everything under a folder moves with it).
    "file.move" => FileMove(FileMoveArgs), write;
    /// Delete a file or folder: kept in history as a tombstone, restorable.
    "file.delete" => FileDelete(PathArgs), write;
    /// Bring back a deleted file or folder.
    "file.restore" => FileRestore(PathArgs), write;
    /// Create a folder (and the folders above it).
    "folder.create" => FolderCreate(PathArgs), write;
    /// Full-text search over documents, files, messages, comments and shared context
    /// (answered by the edge, from the room's index).
    "search" => Search(SearchArgs), read;
}

/// Parse an operation's JSON arguments (`null` reads as `{}`); the error names the
/// operation and the field.
fn parse_args<T: serde::de::DeserializeOwned>(op: &str, value: Value) -> Result<T, OpError> {
    let value = if value.is_null() { json!({}) } else { value };
    serde_json::from_value(value).map_err(|e| OpError::invalid(format!("{op}: {e}")))
}

/// An operation without arguments accepts `null` or `{}` and nothing else.
fn no_args(op: &str, value: Value) -> Result<(), OpError> {
    match value {
        Value::Null => Ok(()),
        Value::Object(m) if m.is_empty() => Ok(()),
        Value::Object(m) => Err(OpError::invalid(format!(
            "{op}: takes no arguments; got `{}`",
            m.keys().next().map_or("", String::as_str)
        ))),
        _ => Err(OpError::invalid(format!("{op}: takes no arguments"))),
    }
}

/// `message.list`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageListArgs {
    /// Only this conversation.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub conversation: Option<String>,
}

/// `message.post`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagePostArgs {
    /// The conversation (default `main`, created when missing).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub conversation: Option<String>,
    /// The text.
    pub text: String,
}

/// `document.write`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentWriteArgs {
    /// The document.
    pub id: String,
    /// Its whole new text.
    pub text: String,
    /// A title, when the document is created.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub title: Option<String>,
    /// The fencing token of the caller's lease on `doc:<id>`.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub fence: Option<u64>,
}

/// An operation on one thing by id.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdArgs {
    /// Its id.
    pub id: String,
}

/// `lock.acquire`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AcquireArgs {
    /// What to lease (`doc:<id>`, `doc:<id>#<start>-<end>`, `path:<prefix>`, ...).
    pub resource: String,
    /// For how long, in milliseconds.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub ttl_ms: u64,
}

/// `lock.renew`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RenewArgs {
    /// The leased resource.
    pub resource: String,
    /// The lease's fencing token.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub fence: u64,
    /// New time to live, in milliseconds.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub ttl_ms: u64,
}

/// `lock.release` and `lock.verify`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseArgs {
    /// The leased resource.
    pub resource: String,
    /// The lease's fencing token.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub fence: u64,
}

/// `lock.policy`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyArgs {
    /// The document.
    pub document: String,
    /// Its policy; `null` clears it.
    pub policy: Option<LeasePolicy>,
}

/// `activity.record`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityArgs {
    /// What kind of activity.
    pub kind: ActivityKind,
    /// One line on what it is.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub summary: Option<String>,
    /// Free-form details.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "unknown"))]
    pub detail: Option<Value>,
    /// The collaboration it belongs to.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub collaboration: Option<String>,
}

/// `activity.complete`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteArgs {
    /// The activity.
    pub id: String,
    /// What came of it.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub result: Option<String>,
    /// It failed.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub failed: Option<bool>,
}

/// `agent.status`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusArgs {
    /// Active or idle.
    pub status: AgentState,
}

/// `collaboration.start`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollabArgs {
    /// What it is about.
    pub title: String,
    /// Who takes part (the caller always does).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub participants: Option<Vec<String>>,
}

/// `collaboration.decide`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideArgs {
    /// The collaboration.
    pub id: String,
    /// What was decided.
    pub text: String,
}

/// `collaboration.end`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndArgs {
    /// The collaboration.
    pub id: String,
    /// How it ended.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub outcome: Option<String>,
}

/// `member.role`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleArgs {
    /// The member.
    pub user: String,
    /// Their new role.
    pub role: Role,
}

/// `member.transfer` and `member.remove`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserArgs {
    /// The member.
    pub user: String,
}

/// `member.invite`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InviteArgs {
    /// The role to give.
    pub role: Role,
    /// The invitee's user id (a guest id when missing).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub user: Option<String>,
    /// Their display name.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub name: Option<String>,
    /// Person or agent.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub kind: Option<ParticipantKind>,
    /// How long the token is good for, in seconds (default one hour).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub ttl_secs: Option<u64>,
}

/// `agent.invite`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgentInviteArgs {
    /// The agent's display name; its user id is derived from it and the inviter's.
    pub name: String,
    /// How long the token is good for, in seconds (default one hour).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub ttl_secs: Option<u64>,
}

/// `file.list`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileListArgs {
    /// Only entries under this folder.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub prefix: Option<String>,
    /// Include deleted entries (tombstones kept for history).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub deleted: Option<bool>,
}

/// An operation on one path, with the fencing token of the caller's `path:` lease.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathArgs {
    /// The file or folder.
    pub path: String,
    /// The fencing token of the caller's lease covering the path.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub fence: Option<u64>,
}

/// `file.write`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWriteArgs {
    /// The file.
    pub path: String,
    /// Its whole new text.
    pub text: String,
    /// Its media type (default: by its name, else `text/plain`).
    #[serde(default, rename = "type")]
    #[cfg_attr(feature = "ts", ts(optional, rename = "type"))]
    pub content_type: Option<String>,
    /// The fencing token of the caller's lease covering the path.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub fence: Option<u64>,
}

/// `file.move`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMoveArgs {
    /// Where it is.
    pub from: String,
    /// Where it goes (nothing live may be there).
    pub to: String,
    /// The fencing token of the caller's lease covering both paths.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub fence: Option<u64>,
}

/// `search`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Words to find (all of them; the last may be the start of a word). `"…"` quotes
    /// a phrase.
    pub query: String,
    /// Only these kinds: `document`, `file`, `message`, `comment`, `context`.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub kinds: Option<Vec<String>>,
    /// Only what this participant (user id) wrote.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub author: Option<String>,
    /// Only what was written at or after this time (ms since the Unix epoch).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub after: Option<u64>,
    /// Only what was written before this time.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub before: Option<u64>,
    /// Most hits (1 to 100, default 20).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub limit: Option<u32>,
}

/// `webhook.create`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookArgs {
    /// Where deliveries are POSTed.
    pub url: String,
    /// The events to deliver.
    pub events: Vec<String>,
    /// The signing secret, 16 to 256 bytes.
    pub secret: String,
    /// Deliver only events about these paths: each a prefix (`/output/`) of a file
    /// event's path (or of a move's either end). Events without a path are not sent.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub paths: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_alike() {
        for name in Op::NAMES {
            let args = match *name {
                "room.summary" | "presence.list" | "document.list" | "lock.list"
                | "activity.list" | "agent.list" | "collaboration.list" | "member.list"
                | "member.leave" | "webhook.list" | "suggestion.list" => Value::Null,
                _ => continue,
            };
            assert_eq!(Op::parse(name, args).expect("parses").name(), *name);
        }
        let op = Op::parse("lock.acquire", json!({ "resource": "doc:a", "ttlMs": 5 }));
        assert_eq!(op.expect("parses").name(), "lock.acquire");
    }

    #[test]
    fn bad_operations_name_what_was_wrong() {
        let e = Op::parse("lock.steal", json!({})).expect_err("unknown");
        assert_eq!(e.code.as_str(), "not_found");
        assert!(e.message.contains("lock.steal"), "{}", e.message);
        let e = Op::parse("lock.list", json!({ "x": 1 })).expect_err("no args");
        assert!(e.message.contains("takes no arguments"), "{}", e.message);
        let e = Op::parse("lock.acquire", json!({ "resource": "doc:a" })).expect_err("ttl");
        assert!(e.message.starts_with("lock.acquire:"), "{}", e.message);
        assert!(e.message.contains("ttlMs"), "{}", e.message);
        let e = Op::parse("agent.status", json!({ "status": "asleep" })).expect_err("state");
        assert!(
            e.message.contains("(expected active or idle)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn reads_change_nothing() {
        assert!(
            Op::parse("lock.verify", json!({ "resource": "doc:a", "fence": 1 }))
                .expect("parses")
                .reads_only()
        );
        assert!(!Op::parse("member.leave", Value::Null)
            .expect("parses")
            .reads_only());
    }
}
