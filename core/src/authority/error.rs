//! Why an operation was refused: a stable code and the reason. HTTP statuses are the
//! edge's business; JavaScript sees the code.

use thiserror::Error;

use super::locks::LockError;
use crate::names::named_enum;

named_enum! {
    /// The stable code of a refused operation.
    pub enum OpCode {
        /// The arguments are wrong (a missing field, a bad value, a limit).
        Invalid = "invalid_request",
        /// The operation, or what it names, does not exist.
        NotFound = "not_found",
        /// The caller's role does not allow it.
        Forbidden = "forbidden",
        /// The thing is no longer in a state that allows it (ended, decided).
        Conflict = "conflict",
        /// The document requires a lease for writes and the caller holds none.
        LeaseRequired = "lease_required",
        /// Someone else holds an overlapping lease.
        LockHeld = "lock_held",
        /// The caller does not hold that lease (wrong fence, expired).
        LockNotHeld = "lock_not_held",
        /// A file over the room's largest file size.
        FileTooLarge = "file_too_large",
        /// The room's files would use more than its quota.
        QuotaExceeded = "quota_exceeded",
    }
}

/// Why an operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct OpError {
    /// Stable machine-readable code.
    pub code: OpCode,
    /// What was wrong.
    pub message: String,
}

impl OpError {
    /// An error with `code`.
    pub fn new(code: OpCode, message: impl Into<String>) -> Self {
        OpError {
            code,
            message: message.into(),
        }
    }

    /// A bad request naming what was wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(OpCode::Invalid, message)
    }

    /// Not allowed for the caller's role.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(OpCode::Forbidden, message)
    }

    /// Unknown id.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(OpCode::NotFound, message)
    }

    /// No longer in a state that allows it.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(OpCode::Conflict, message)
    }

    /// An operation name no room knows.
    pub fn unknown_operation(name: &str) -> Self {
        Self::not_found(format!("unknown operation `{name}`"))
    }
}

impl From<LockError> for OpError {
    fn from(e: LockError) -> Self {
        let code = match e {
            LockError::Held { .. } => OpCode::LockHeld,
            LockError::NotHeld { .. } => OpCode::LockNotHeld,
            LockError::Invalid(_) => OpCode::Invalid,
        };
        OpError::new(code, e.to_string())
    }
}
