//! Every root name of the room document, in one place. The room document is readable
//! by any Yjs client:
//!
//! Layout (readable by any Yjs client):
//!
//! | root | kind | holds |
//! |---|---|---|
//! | `conversations` | map | id → map { title, createdBy, createdAt } |
//! | `messages` | map | id → map { conversation, author { id, name, kind }, role, text (Y.Text), createdAt } |
//! | `documents` | map | id → map { title, kind, createdAt } |
//! | `doc:<id>` | text | the body of document `<id>` |
//! | `rich:<id>` | XML fragment | a rich-text body beside it, written by ProseMirror-family editors through the Yjs bridge (leases cover it; conflict detection reads `doc:<id>` only) |
//! | `clients` | map | yrs client id → participant (attribution) |
//! | `deletions` | map | `<client>:<clock>:<deleter>` → who deleted a range, and when in their record |
//! | `epochs` | map | `<client>:<clock>` → what that client had seen from there on (see [`crate::doc::causal`]) |
//! | `fieldlog` | map | every write of a tracked field, so a concurrent write's value is kept |
//! | `conflicts` | map | stale-base writes (held suggestions or applied with a record) |
//! | `resolutions` | map | conflict id → who resolved it, how, when (or who asked an agent) |
//! | `files` | map | path → { path, folder, size, type, hash, doc?, author, createdAt, updatedAt, deletedAt?, versions } (written by the room only; see [`crate::model::files`]) |
//! | `comments` | map | id → map { author, text, createdAt, anchor { doc, from, to, quote } or { message }, resolved, replies (array) } |
//!
//! A document's body is a root text so that two clients creating the same document
//! concurrently edit one text instead of racing to install two.
//! All text offsets are UTF-16 code units, as in JavaScript and Yjs.

/// Conversations: id → map { title, createdBy, createdAt, forkOf? }.
pub const CONVERSATIONS: &str = "conversations";
/// Messages: id → map { conversation, author, role, text (Y.Text), createdAt, status, reactions }.
pub const MESSAGES: &str = "messages";
/// Shared documents' metadata: id → map { title, kind, createdAt }.
pub const DOCUMENTS: &str = "documents";
/// The prefix of the root text holding a document's body.
pub const DOC_TEXT_PREFIX: &str = "doc:";
/// The prefix of the root XML fragment holding a document's rich-text body.
pub const RICH_TEXT_PREFIX: &str = "rich:";
/// yrs client id → participant (attribution).
pub const CLIENTS: &str = "clients";
/// Named versions.
pub const VERSIONS: &str = "versions";
/// Who deleted which range (a delete set carries no author).
pub const DELETIONS: &str = "deletions";
/// Each writer's causal record.
pub const EPOCHS: &str = "epochs";
/// Every write of a tracked field.
pub const FIELD_LOG: &str = "fieldlog";
/// Stale-base writes (held suggestions or applied with a record).
pub const CONFLICTS: &str = "conflicts";
/// Conflict id → who resolved it, how and when.
pub const RESOLUTIONS: &str = "resolutions";
/// Shared AI context entries.
pub const CONTEXT: &str = "context";
/// Announcements, questions and handoffs.
pub const CONTEXT_EVENTS: &str = "contextEvents";
/// Room-wide roles (the context owner).
pub const ROLES: &str = "roles";
/// Each person's view (tabs and layout).
pub const VIEWS: &str = "views";
/// Active "sync with a teammate" pairs.
pub const SYNCS: &str = "syncs";
/// Comment threads on document ranges and messages.
pub const COMMENTS: &str = "comments";

/// The file tree: path → entry (written by the room only).
pub const FILES: &str = "files";

/// The roots Confab keeps as maps (everything but the document bodies).
pub const MAP_ROOTS: [&str; 17] = [
    CONVERSATIONS,
    MESSAGES,
    DOCUMENTS,
    CLIENTS,
    VERSIONS,
    DELETIONS,
    EPOCHS,
    FIELD_LOG,
    CONFLICTS,
    RESOLUTIONS,
    CONTEXT,
    CONTEXT_EVENTS,
    ROLES,
    VIEWS,
    SYNCS,
    COMMENTS,
    FILES,
];

/// The document whose body (plain or rich) root `name` is, if it is one.
pub fn document_of_root(name: &str) -> Option<&str> {
    name.strip_prefix(DOC_TEXT_PREFIX)
        .or_else(|| name.strip_prefix(RICH_TEXT_PREFIX))
}

/// The name of the root text holding document `id`'s body.
pub fn doc_text_name(id: &str) -> String {
    format!("{DOC_TEXT_PREFIX}{id}")
}
