//! The room's features on top of [`crate::doc`]: each file extends
//! [`RoomDoc`](crate::doc::RoomDoc) with one feature's reads and writes.
//!
//! - [`conversation`]: conversations, messages, reactions, merge records.
//! - [`turn`]: agent turns that stream, stop requests, reactions, branches and merges.
//! - [`document`]: shared documents' metadata.
//! - [`history`]: named versions, diffs with authors, restore.
//! - [`context`]: the shared AI context, its events and the handoff summary.
//! - [`view`]: each person's tabs and layout, and "sync with a teammate".
//! - [`presence`]: who is here and what they are doing (awareness states).
//! - [`comment`]: comment threads on document ranges and chat messages.
//! - [`files`]: the file tree (paths, sizes, hashes, versions; the bytes live elsewhere).
//! - [`search`]: the rows each searchable item becomes in the room's search index.

pub mod comment;
pub mod context;
pub mod conversation;
pub mod document;
pub mod files;
pub mod history;
pub mod presence;
pub mod search;
pub mod turn;
pub mod view;

#[cfg(test)]
mod tests;

pub use comment::{Comment, CommentAnchor, CommentReply};
pub use conversation::{
    message_in, Conversation, ForkPoint, MergeRecord, MergeSummary, Message, Reaction, Role,
    TurnStatus,
};
pub use document::DocumentInfo;
