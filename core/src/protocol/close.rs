//! WebSocket close codes: why a room closes a connection, and what a client does next.
//! The room, the edge and the client all name codes through [`CloseCode`]; no bare
//! numbers elsewhere.

/// Why a connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: closed on purpose (`disconnect()`, a page closing).
    Normal,
    /// 1001: the other side went away (a tab closing, a server restarting).
    GoingAway,
    /// 1002: a frame broke the protocol (the client got a frame it cannot read).
    ProtocolError,
    /// 1003: a message type this side does not take.
    Unsupported,
    /// 1005: the close carried no code.
    NoCode,
    /// 1006: the connection dropped without a close.
    Abnormal,
    /// 1007: a frame or update that does not decode, or that yrs refused.
    InvalidData,
    /// 1008: a write the sender may not make, or a rate or size limit.
    Policy,
    /// 1009: a frame over the size limit.
    TooBig,
    /// 1011: the server failed (storage, platform); retry.
    Internal,
    /// 1013: the room is full for now; retry later.
    TryLater,
    /// 1015: the TLS handshake failed (reported, never sent).
    TlsFailure,
    /// 4400: the token does not parse.
    TokenMalformed,
    /// 4401: a token is required and none came.
    TokenMissing,
    /// 4403: the token's signature is wrong, the page's origin may not connect, or the
    /// participant may not join (left or removed).
    Forbidden,
    /// 4404: the token is for another room.
    WrongRoom,
    /// 4410: the participant left or was removed while connected.
    Removed,
    /// 4419: the token expired: fetch a fresh one.
    TokenExpired,
}

/// What a client does after its connection closed with a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterClose {
    /// Reconnect with backoff.
    Retry,
    /// Stay offline and report why: retrying would be refused again.
    Stop,
    /// Stay offline until the app gives a fresh token.
    RefreshToken,
}

const TABLE: &[(CloseCode, u16)] = &[
    (CloseCode::Normal, 1000),
    (CloseCode::GoingAway, 1001),
    (CloseCode::ProtocolError, 1002),
    (CloseCode::Unsupported, 1003),
    (CloseCode::NoCode, 1005),
    (CloseCode::Abnormal, 1006),
    (CloseCode::InvalidData, 1007),
    (CloseCode::Policy, 1008),
    (CloseCode::TooBig, 1009),
    (CloseCode::Internal, 1011),
    (CloseCode::TryLater, 1013),
    (CloseCode::TlsFailure, 1015),
    (CloseCode::TokenMalformed, 4400),
    (CloseCode::TokenMissing, 4401),
    (CloseCode::Forbidden, 4403),
    (CloseCode::WrongRoom, 4404),
    (CloseCode::Removed, 4410),
    (CloseCode::TokenExpired, 4419),
];

impl CloseCode {
    /// The number on the wire.
    pub fn code(self) -> u16 {
        TABLE
            .iter()
            .find(|(c, _)| *c == self)
            .map_or(1011, |(_, n)| *n)
    }

    /// The code for a number; `None` for one Confab never sends.
    pub fn from_code(code: u16) -> Option<Self> {
        TABLE.iter().find(|(_, n)| *n == code).map(|(c, _)| *c)
    }

    /// What a client does next. Refusals that the same token or the same edits would
    /// meet again stop the client; an expired token waits for a fresh one; everything
    /// else (drops, restarts, a full room, a server failure) is retried with backoff.
    pub fn after_close(code: u16) -> AfterClose {
        match Self::from_code(code) {
            Some(
                CloseCode::Policy
                | CloseCode::TokenMalformed
                | CloseCode::TokenMissing
                | CloseCode::Forbidden
                | CloseCode::WrongRoom
                | CloseCode::Removed,
            ) => AfterClose::Stop,
            Some(CloseCode::TokenExpired) => AfterClose::RefreshToken,
            _ => AfterClose::Retry,
        }
    }

    /// May a close frame carry this code? Not the ones that only report a drop.
    pub fn sendable(code: u16) -> bool {
        (1000..5000).contains(&code)
            && !matches!(
                Self::from_code(code),
                Some(CloseCode::NoCode | CloseCode::Abnormal | CloseCode::TlsFailure)
            )
    }

    /// Whether a close with this code is worth telling the person about (not an
    /// ordinary close or drop).
    pub fn is_notable(code: u16) -> bool {
        !matches!(
            Self::from_code(code),
            Some(
                CloseCode::Normal | CloseCode::GoingAway | CloseCode::NoCode | CloseCode::Abnormal
            )
        )
    }
}

impl crate::error::Error {
    /// The close code for a connection whose frame was refused with this error.
    pub fn close_code(&self) -> CloseCode {
        use crate::error::Error as E;
        match self {
            E::FrameTooLarge { .. } => CloseCode::TooBig,
            E::UnsupportedMessage(_) => CloseCode::Unsupported,
            E::UnknownConnection(_) => CloseCode::Internal,
            E::ViewerWrite { .. }
            | E::ReviewerWrite { .. }
            | E::LeaseRequired { .. }
            | E::NotYourClient { .. }
            | E::Forged { .. }
            | E::RoomOnly { .. }
            | E::NotContextOwner { .. }
            | E::RateLimited { .. }
            | E::LimitExceeded(_) => CloseCode::Policy,
            _ => CloseCode::InvalidData,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_decide_what_comes_next() {
        for (code, n) in TABLE {
            assert_eq!(code.code(), *n);
            assert_eq!(CloseCode::from_code(*n), Some(*code));
        }
        assert_eq!(CloseCode::after_close(4419), AfterClose::RefreshToken);
        assert_eq!(CloseCode::after_close(4410), AfterClose::Stop);
        assert_eq!(CloseCode::after_close(1008), AfterClose::Stop);
        assert_eq!(CloseCode::after_close(1013), AfterClose::Retry);
        assert_eq!(CloseCode::after_close(1006), AfterClose::Retry);
        assert_eq!(CloseCode::after_close(4999), AfterClose::Retry);
        assert!(!CloseCode::is_notable(1006));
        assert!(CloseCode::sendable(4001) && CloseCode::sendable(1000));
        assert!(
            !CloseCode::sendable(1006) && !CloseCode::sendable(1015) && !CloseCode::sendable(999)
        );
        assert!(CloseCode::is_notable(1008));
    }
}
