//! Room tokens and roles.
//!
//! An app's backend mints a short-lived token for one participant in one room; the edge
//! verifies it before the room wakes. A token is `v1.<claims>.<signature>`: the claims
//! are JSON in unpadded base64url, the signature is HMAC-SHA256 over `v1.<claims>` with
//! the room server's secret, also base64url.
//!
//! ```
//! use confab_core::auth::{mint, verify, Claims, Role};
//! use confab_core::model::ParticipantKind;
//!
//! let claims = Claims {
//!     room: "design".into(),
//!     sub: "ada".into(),
//!     name: "Ada".into(),
//!     kind: ParticipantKind::Person,
//!     role: Role::Editor,
//!     exp: 1_700_000_600,
//! };
//! let token = mint(b"secret", &claims);
//! let now_ms = 1_700_000_000_000;
//! assert_eq!(verify(b"secret", &token, "design", now_ms).unwrap(), claims);
//! assert!(verify(b"other secret", &token, "design", now_ms).is_err());
//! ```

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

use crate::model::{Participant, ParticipantKind};
use crate::names::named_enum;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of every token this version mints.
const VERSION: &str = "v1";

/// Longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;

named_enum! {
    /// What a participant may do in a room, from most to least.
    pub enum Role {
        /// Everything an editor may, plus invite, change roles, transfer ownership,
        /// configure webhooks and lease policies.
        Owner = "owner",
        /// Edits conversations and documents.
        Editor = "editor",
        /// Reacts and votes on messages; no edits.
        Reviewer = "reviewer",
        /// Reads only.
        Viewer = "viewer",
    }
}

impl Role {
    /// May change the room's documents and conversations.
    pub fn can_edit(self) -> bool {
        matches!(self, Role::Owner | Role::Editor)
    }

    /// May react and vote.
    pub fn can_react(self) -> bool {
        self != Role::Viewer
    }

    /// May take owner actions.
    pub fn is_owner(self) -> bool {
        self == Role::Owner
    }

    fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Editor => 2,
            Role::Reviewer => 1,
            Role::Viewer => 0,
        }
    }

    /// True when this role may do at least what `other` may.
    pub fn at_least(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Role::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown role `{s}` (expected owner, editor, reviewer or viewer)"
            ))
        })
    }
}

impl<'de> Deserialize<'de> for ParticipantKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ParticipantKind::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown kind `{s}` (expected person or agent)"))
        })
    }
}

/// What a token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The one room the token is good for.
    pub room: String,
    /// The participant's stable user id.
    pub sub: String,
    /// Display name.
    pub name: String,
    /// Person or agent.
    pub kind: ParticipantKind,
    /// Role granted by the token (the room's member list may have changed it since).
    pub role: Role,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

impl Claims {
    /// The participant the token names.
    pub fn participant(&self) -> Participant {
        Participant {
            id: self.sub.clone(),
            name: self.name.clone(),
            kind: self.kind,
        }
    }
}

/// Why a token was refused. Each has its own code and WebSocket close code, so a client
/// can tell "fetch a fresh token" from "this will never work".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    /// No token, where one is required.
    #[error("a room token is required (pass ?token=… or an Authorization: Bearer header)")]
    Missing,
    /// Not a token at all.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// Signed with another secret, or altered.
    #[error("token signature does not match: it was not minted with this server's secret")]
    BadSignature,
    /// Past its expiry.
    #[error("token expired at {expired_at} (Unix seconds); fetch a fresh one")]
    Expired {
        /// When it expired, seconds since the Unix epoch.
        expired_at: u64,
    },
    /// Minted for another room.
    #[error("token is for room `{token_room}`, not `{room}`")]
    WrongRoom {
        /// The room named in the token.
        token_room: String,
        /// The room asked for.
        room: String,
    },
}

impl TokenError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Missing => "token_missing",
            TokenError::Malformed(_) => "token_malformed",
            TokenError::BadSignature => "token_forged",
            TokenError::Expired { .. } => "token_expired",
            TokenError::WrongRoom { .. } => "token_wrong_room",
        }
    }

    /// WebSocket close code (4000–4999 is the application's range).
    pub fn close_code(&self) -> u16 {
        match self {
            TokenError::Missing => 4401,
            TokenError::Malformed(_) => 4400,
            TokenError::BadSignature => 4403,
            TokenError::Expired { .. } => 4419,
            TokenError::WrongRoom { .. } => 4404,
        }
    }
}

/// HMAC-SHA256 of `message` under `secret`.
pub fn hmac_sha256(secret: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// Sign `claims` with `secret`.
pub fn mint(secret: &[u8], claims: &Claims) -> String {
    let json = serde_json::to_vec(claims).expect("claims serialize");
    let signed = format!("{VERSION}.{}", base64url(&json));
    let sig = hmac_sha256(secret, signed.as_bytes());
    format!("{signed}.{}", base64url(&sig))
}

/// Check `token` for `room` at `now_ms`: signature first (nothing in an unsigned token
/// is believed), then room, then expiry.
pub fn verify(secret: &[u8], token: &str, room: &str, now_ms: u64) -> Result<Claims, TokenError> {
    if token.is_empty() {
        return Err(TokenError::Missing);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed(format!(
            "{} bytes long; the limit is {MAX_TOKEN_BYTES}",
            token.len()
        )));
    }
    let mut parts = token.split('.');
    let (Some(version), Some(body), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed(
            "expected three dot-separated parts (v1.<claims>.<signature>)".into(),
        ));
    };
    if version != VERSION {
        return Err(TokenError::Malformed(format!(
            "unknown token version `{version}` (expected {VERSION})"
        )));
    }
    let sig = unbase64url(sig)
        .ok_or_else(|| TokenError::Malformed("the signature is not base64url".into()))?;
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(version.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&sig)
        .map_err(|_| TokenError::BadSignature)?;
    let json = unbase64url(body)
        .ok_or_else(|| TokenError::Malformed("the claims are not base64url".into()))?;
    let claims: Claims =
        serde_json::from_slice(&json).map_err(|e| TokenError::Malformed(format!("claims: {e}")))?;
    if claims.room != room {
        return Err(TokenError::WrongRoom {
            token_room: claims.room,
            room: room.to_owned(),
        });
    }
    if claims.exp.saturating_mul(1000) <= now_ms {
        return Err(TokenError::Expired {
            expired_at: claims.exp,
        });
    }
    Ok(claims)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url.
pub fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Decode unpadded base64url; `None` on any other character or an impossible length.
pub fn unbase64url(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = B64.iter().position(|b| b == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn claims() -> Claims {
        Claims {
            room: "r".into(),
            sub: "u1".into(),
            name: "Ada".into(),
            kind: ParticipantKind::Agent,
            role: Role::Reviewer,
            exp: 2_000,
        }
    }

    #[test]
    fn every_refusal_has_its_own_reason() {
        let token = mint(b"k", &claims());
        assert_eq!(verify(b"k", &token, "r", 1_000_000).unwrap(), claims());
        assert_eq!(verify(b"k", "", "r", 0).unwrap_err(), TokenError::Missing);
        assert_eq!(
            verify(b"other", &token, "r", 0).unwrap_err(),
            TokenError::BadSignature
        );
        assert_eq!(
            verify(b"k", &token, "r", 2_000_000).unwrap_err(),
            TokenError::Expired { expired_at: 2_000 }
        );
        assert!(matches!(
            verify(b"k", &token, "s", 0).unwrap_err(),
            TokenError::WrongRoom { .. }
        ));
        assert!(matches!(
            verify(b"k", "nonsense", "r", 0).unwrap_err(),
            TokenError::Malformed(_)
        ));
        // Altered claims (a viewer promoting itself) no longer match the signature.
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims();
        forged.role = Role::Owner;
        let body = base64url(&serde_json::to_vec(&forged).unwrap());
        parts[1] = &body;
        assert_eq!(
            verify(b"k", &parts.join("."), "r", 0).unwrap_err(),
            TokenError::BadSignature
        );
        let codes: std::collections::BTreeSet<u16> = [
            TokenError::Missing,
            TokenError::Malformed(String::new()),
            TokenError::BadSignature,
            TokenError::Expired { expired_at: 0 },
            TokenError::WrongRoom {
                token_room: String::new(),
                room: String::new(),
            },
        ]
        .iter()
        .map(TokenError::close_code)
        .collect();
        assert_eq!(codes.len(), 5, "one close code per reason");
    }

    #[test]
    fn signed_claims_with_an_unknown_role_are_malformed() {
        let json = br#"{"room":"r","sub":"u","name":"U","kind":"person","role":"root","exp":9}"#;
        let signed = format!("v1.{}", base64url(json));
        let token = format!(
            "{signed}.{}",
            base64url(&hmac_sha256(b"k", signed.as_bytes()))
        );
        let err = verify(b"k", &token, "r", 0).unwrap_err();
        assert!(err.to_string().contains("unknown role `root`"), "{err}");
    }

    #[test]
    fn roles_order() {
        assert!(Role::Owner.at_least(Role::Editor));
        assert!(!Role::Reviewer.can_edit());
        assert!(Role::Reviewer.can_react());
        assert!(!Role::Viewer.can_react());
        assert_eq!(Role::parse("viewer"), Some(Role::Viewer));
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    proptest! {
        #[test]
        fn base64url_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(unbase64url(&base64url(&bytes)), Some(bytes));
        }

        #[test]
        fn verifying_garbage_never_panics(s in ".{0,200}") {
            let _ = verify(b"k", &s, "r", 0);
        }
    }
}
