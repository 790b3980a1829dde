//! Typed errors for everything core can refuse.

use thiserror::Error;

/// Result alias used across `confab-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything core can refuse, with the offending values in the message.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// A frame with no bytes at all.
    #[error("empty frame")]
    EmptyFrame,
    /// A frame larger than the room accepts.
    #[error("frame of {size} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// Size of the offending frame.
        size: usize,
        /// Largest frame accepted.
        max: usize,
    },
    /// Bytes that are not a valid message of the named kind.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded ("frame", "sync update", "awareness update", ...).
        what: &'static str,
        /// Why decoding failed.
        reason: String,
    },
    /// A message type this endpoint does not accept.
    #[error("unsupported message type {0}")]
    UnsupportedMessage(u8),
    /// A sync update that decoded but could not be applied.
    #[error("update could not be applied: {0}")]
    InvalidUpdate(String),
    /// Bytes handed to `apply_update` that are not a Yjs v1 update (nothing changed).
    #[error("not a Yjs v1 update: {0}")]
    NotAnUpdate(String),
    /// A root name that is not a text (one of the room's own maps, or empty).
    #[error("`{0}` is not a text root: the room keeps it as a map")]
    NotAText(String),
    /// A presence (awareness) state that is not a JSON object.
    #[error("invalid presence state: {0}")]
    InvalidPresence(String),
    /// A conversation id that does not exist in the room.
    #[error("unknown conversation `{0}`")]
    UnknownConversation(String),
    /// A document id that does not exist in the room.
    #[error("unknown document `{0}`")]
    UnknownDocument(String),
    /// An id that is already taken.
    #[error("{kind} `{id}` already exists")]
    AlreadyExists {
        /// "conversation" or "document".
        kind: &'static str,
        /// The id that is taken.
        id: String,
    },
    /// A UTF-16 index or range outside a text.
    #[error("range {index}..{end} is outside `{target}` of length {len} (UTF-16 code units)")]
    OutOfRange {
        /// The text addressed.
        target: String,
        /// Start of the requested range.
        index: u32,
        /// End of the requested range.
        end: u64,
        /// Length of the text.
        len: u32,
    },
    /// A UTF-16 index that would split a surrogate pair.
    #[error("index {index} splits a surrogate pair in `{target}`")]
    SplitsSurrogate {
        /// The text addressed.
        target: String,
        /// The offending index.
        index: u32,
    },
    /// A message id that does not exist in the room.
    #[error("unknown message `{0}`")]
    UnknownMessage(String),
    /// A turn that no longer takes text or status changes.
    #[error("turn `{id}` is {status}; it takes no more text")]
    TurnClosed {
        /// The turn's message id.
        id: String,
        /// Its status.
        status: &'static str,
    },
    /// A conversation that is not a branch where a branch is needed.
    #[error("conversation `{0}` is not a branch")]
    NotABranch(String),
    /// A view or sync change that cannot be made.
    #[error("invalid view change: {0}")]
    InvalidView(String),
    /// Kept undo history that does not read as one.
    #[error("not an undo history this version kept: {0}")]
    InvalidUndoHistory(String),
    /// A context entry or event id that does not exist.
    #[error("unknown context entry `{0}`")]
    UnknownContextEntry(String),
    /// A curation step only the context owner may take.
    #[error("only the context owner ({owner}) may {what}; {who} is not")]
    NotContextOwner {
        /// Who tried.
        who: String,
        /// Who owns the context.
        owner: String,
        /// What they tried.
        what: String,
    },
    /// A version id that does not exist.
    #[error("unknown version `{0}`")]
    UnknownVersion(String),
    /// A comment id that does not exist.
    #[error("unknown comment `{0}`")]
    UnknownComment(String),
    /// An agent turn that wrote nothing to any document here.
    #[error("turn `{0}` wrote nothing to any document")]
    UnknownTurn(String),
    /// An agent turn someone already took back (undo that revert, or redo it, instead).
    #[error("turn `{turn}` was already reverted by {by}: undo or redo that revert instead")]
    TurnReverted {
        /// The turn.
        turn: String,
        /// Who reverted it.
        by: String,
    },
    /// A value that must not be empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// A conflict id that does not exist in the room.
    #[error("unknown conflict `{0}`")]
    UnknownConflict(String),
    /// A conflict that someone already resolved.
    #[error("conflict `{0}` is already resolved")]
    AlreadyResolved(String),
    /// "mine" or "theirs" from someone who has no side in the conflict.
    #[error("you have no side in conflict `{0}`: choose a side by number, both, manual or agent")]
    NotASide(String),
    /// A resolution that is missing what its choice needs.
    #[error("invalid resolution: {0}")]
    InvalidChoice(String),
    /// A tracked field whose entry does not exist.
    #[error("unknown field `{0}`")]
    UnknownField(String),
    /// A viewer tried to change the room.
    #[error("{who} is a viewer in this room: viewers may not change it ({what})")]
    ViewerWrite {
        /// Who tried.
        who: String,
        /// What the update touched.
        what: String,
    },
    /// A reviewer tried to edit (reviewers may react and vote).
    #[error("{who} is a reviewer in this room: reviewers may react and vote, not edit ({what})")]
    ReviewerWrite {
        /// Who tried.
        who: String,
        /// What the update touched.
        what: String,
    },
    /// A write to a document that requires a lease, by someone who holds none.
    #[error("document `{doc}` requires a lease for writes and {who} holds none: acquire `doc:{doc}` first")]
    LeaseRequired {
        /// The document.
        doc: String,
        /// Who tried.
        who: String,
    },
    /// A write under a client id that belongs to someone else (or to the room).
    #[error(
        "client id {client} belongs to {owner}: {who} may write only under its own client ids"
    )]
    NotYourClient {
        /// The client id.
        client: u64,
        /// Whose it is.
        owner: String,
        /// Who tried.
        who: String,
    },
    /// A record written in someone else's name (authorship comes from the token).
    #[error("{who} may not write {what}: authorship comes from the token")]
    Forged {
        /// Who tried.
        who: String,
        /// What they wrote.
        what: String,
    },
    /// A write to what only the room writes (the file tree).
    #[error("{who} may not write {what}: only the room writes it")]
    RoomOnly {
        /// Who tried.
        who: String,
        /// What they wrote.
        what: String,
    },
    /// A connection sending faster than the room allows.
    #[error("rate limit: more than {per_sec} messages per second (bursts of {burst})")]
    RateLimited {
        /// Messages per second allowed on average.
        per_sec: u32,
        /// Burst allowed.
        burst: u32,
    },
    /// A frame on a connection the room never admitted (no known actor).
    #[error("connection {0} was never admitted to this room; reconnect")]
    UnknownConnection(u64),
    /// A message that arrived out of order.
    #[error("out of order: {0}")]
    OutOfOrder(String),

    /// An update that builds on content the room does not have (it would sit in memory,
    /// neither applied nor stored): the client should sync first.
    #[error("update builds on content the room does not have: {0}; sync first")]
    Unsynced(String),

    /// A limit of the room's (size, write budget, presence, output, connections).
    #[error("{0}")]
    LimitExceeded(String),
}

impl Error {
    /// True when the error comes from bytes a peer sent (the connection should be closed),
    /// false when it is a refused local call.
    pub fn is_protocol_error(&self) -> bool {
        matches!(
            self,
            Error::EmptyFrame
                | Error::FrameTooLarge { .. }
                | Error::Malformed { .. }
                | Error::UnsupportedMessage(_)
                | Error::InvalidUpdate(_)
                | Error::ViewerWrite { .. }
                | Error::ReviewerWrite { .. }
                | Error::LeaseRequired { .. }
                | Error::NotYourClient { .. }
                | Error::Forged { .. }
                | Error::RoomOnly { .. }
                | Error::NotContextOwner { .. }
                | Error::RateLimited { .. }
                | Error::OutOfOrder(_)
                | Error::UnknownConnection(_)
                | Error::Unsynced(_)
                | Error::LimitExceeded(_)
        )
    }

    pub(crate) fn malformed(what: &'static str, reason: impl ToString) -> Self {
        Error::Malformed {
            what,
            reason: reason.to_string(),
        }
    }

    /// The stable code a program branches on (JavaScript sees it as `code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::OutOfRange { .. } | Error::SplitsSurrogate { .. } => "out_of_range",
            Error::UnknownConversation(_)
            | Error::UnknownDocument(_)
            | Error::UnknownMessage(_)
            | Error::UnknownContextEntry(_)
            | Error::UnknownVersion(_)
            | Error::UnknownComment(_)
            | Error::UnknownTurn(_)
            | Error::UnknownConflict(_)
            | Error::UnknownField(_) => "not_found",
            Error::AlreadyExists { .. } => "already_exists",
            Error::AlreadyResolved(_) | Error::TurnReverted { .. } => "already_resolved",
            Error::TurnClosed { .. } => "turn_closed",
            Error::ViewerWrite { .. } => "viewer",
            Error::ReviewerWrite { .. } => "reviewer",
            Error::LeaseRequired { .. } => "lease_required",
            Error::NotYourClient { .. } | Error::Forged { .. } => "not_yours",
            Error::NotContextOwner { .. } | Error::RoomOnly { .. } => "forbidden",
            Error::RateLimited { .. } => "rate_limited",
            Error::LimitExceeded(_) => "limit_exceeded",
            Error::Unsynced(_) => "unsynced",
            Error::UnknownConnection(_) => "unknown_connection",
            Error::EmptyFrame
            | Error::FrameTooLarge { .. }
            | Error::Malformed { .. }
            | Error::UnsupportedMessage(_)
            | Error::InvalidUpdate(_)
            | Error::OutOfOrder(_) => "bad_frame",
            Error::InvalidPresence(_)
            | Error::NotAnUpdate(_)
            | Error::NotAText(_)
            | Error::NotABranch(_)
            | Error::InvalidView(_)
            | Error::InvalidUndoHistory(_)
            | Error::Empty(_)
            | Error::NotASide(_)
            | Error::InvalidChoice(_) => "invalid_argument",
        }
    }
}
