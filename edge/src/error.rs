//! Errors the edge answers with: one JSON shape, one status code per kind.

use serde::Serialize;
use thiserror::Error;

/// Everything the edge can refuse over HTTP.
#[derive(Debug, Error)]
pub enum EdgeError {
    /// A room endpoint was called without a WebSocket upgrade.
    #[error("expected a WebSocket upgrade (`Upgrade: websocket`) on {0}")]
    UpgradeRequired(String),
    /// A request that cannot be understood.
    #[error("{0}")]
    BadRequest(String),
    /// A token that was missing or refused.
    #[error("{0}")]
    Token(confab_core::authority::token::TokenError),
    /// A web page from an origin that may not use this server.
    #[error("{0}")]
    Origin(confab_core::authority::origin::OriginError),
    /// A refused operation (its own code and status).
    #[error("{0}")]
    Op(confab_core::authority::OpError),
    /// A REST request refused before it reached the room's operations.
    #[error("{0}")]
    Rest(confab_core::authority::rest::RestError),
    /// The server is not configured to serve this.
    #[error("server misconfigured: {0}")]
    Misconfigured(String),
    /// Storage failed.
    #[error("storage failed: {0}")]
    Storage(String),
    /// The platform failed.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The JSON body of an error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message of an error.
#[derive(Debug, Serialize)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
}

impl EdgeError {
    /// HTTP status for this error.
    pub fn status_code(&self) -> u16 {
        match self {
            EdgeError::UpgradeRequired(_) => 426,
            EdgeError::BadRequest(_) => 400,
            EdgeError::Token(confab_core::authority::token::TokenError::Missing)
            | EdgeError::Token(confab_core::authority::token::TokenError::Expired { .. }) => 401,
            EdgeError::Token(confab_core::authority::token::TokenError::Malformed(_)) => 400,
            EdgeError::Token(_) => 403,
            EdgeError::Origin(_) => 403,
            EdgeError::Op(e) => op_status(e.code),
            EdgeError::Rest(e) => rest_status(e),
            EdgeError::Misconfigured(_) => 503,
            EdgeError::Storage(_) | EdgeError::Internal(_) => 500,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EdgeError::UpgradeRequired(_) => "upgrade_required",
            EdgeError::BadRequest(_) => "invalid_request",
            EdgeError::Token(e) => e.code(),
            EdgeError::Origin(e) => e.code(),
            EdgeError::Op(e) => e.code.as_str(),
            EdgeError::Rest(e) => e.code(),
            EdgeError::Misconfigured(_) => "misconfigured",
            EdgeError::Storage(_) => "storage_error",
            EdgeError::Internal(_) => "internal_error",
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
            },
        }
    }
}

/// The HTTP status for a refused operation: the one place the edge maps core's codes.
pub fn op_status(code: confab_core::authority::OpCode) -> u16 {
    use confab_core::authority::OpCode as C;
    match code {
        C::Invalid => 400,
        C::Forbidden => 403,
        C::NotFound => 404,
        C::Conflict | C::LeaseRequired | C::LockHeld | C::LockNotHeld => 409,
        C::FileTooLarge | C::QuotaExceeded => 413,
    }
}

/// The HTTP status for a refused REST request.
pub fn rest_status(e: &confab_core::authority::rest::RestError) -> u16 {
    use confab_core::authority::rest::RestError as R;
    match e {
        R::NotFound { .. } => 404,
        R::InvalidRoom(_) | R::BadRequest(_) => 400,
        R::TooLarge(_) => 413,
        R::Op(e) => op_status(e.code),
    }
}

impl From<confab_core::authority::rest::RestError> for EdgeError {
    fn from(e: confab_core::authority::rest::RestError) -> Self {
        EdgeError::Rest(e)
    }
}

/// Cut `reason` to at most 123 bytes on a character boundary.
pub fn truncate_reason(reason: &str) -> String {
    const MAX: usize = 123;
    if reason.len() <= MAX {
        return reason.to_owned();
    }
    let mut end = MAX;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_status_and_json() {
        let e = EdgeError::Rest(confab_core::authority::rest::RestError::NotFound {
            method: "GET".into(),
            path: "/x".into(),
        });
        assert_eq!(e.status_code(), 404);
        let json = serde_json::to_value(e.body()).unwrap();
        assert_eq!(json["error"]["code"], "not_found");
        assert_eq!(json["error"]["message"], "no route for GET /x");
        assert_eq!(
            EdgeError::UpgradeRequired("/rooms/a".into()).status_code(),
            426
        );
    }

    #[test]
    fn close_reasons_fit_a_close_frame() {
        let long = "é".repeat(200);
        let reason = truncate_reason(&long);
        assert!(reason.len() <= 123);
        assert!(long.starts_with(&reason));
    }
}
