//! Room tokens and roles.
//!
//! An app's backend mints a short-lived token for one participant in one room; the edge
//! verifies it before the room wakes. A token is `v1.<claims>.<signature>`: the claims
//! are JSON in unpadded base64url, the signature is HMAC-SHA256 over `v1.<claims>` with
//! the room server's secret, also base64url.
//!
//! Both parts must be canonical base64url (the one text [`base64url`] produces for
//! their bytes), and the claims must name a user: a blank `sub` is malformed, and a
//! blank `name` falls back to `sub`. A request presents its token as `?token=` or as
//! `Authorization: Bearer` (any case), see [`presented_token`].
//!
//! ```
//! use confab_core::authority::token::{mint, verify, Claims, Role};
//! use confab_core::doc::ParticipantKind;
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

use crate::doc::{Participant, ParticipantKind};
use crate::names::named_enum;
use crate::protocol::close::CloseCode;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of every token this version mints.
const VERSION: &str = "v1";

/// Longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;

named_enum! {
    /// What a participant may do in a room, from most to least.
    #[cfg_attr(feature = "ts", ts(rename = "MemberRole"))]
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
    /// The claims as the edge believes them: the user id must name someone (see
    /// [`check_user_id`]), and the display name may not hold control characters. An
    /// empty or blank name falls back to the user id, as `member.invite` does.
    fn checked(mut self) -> Result<Self, TokenError> {
        check_user_id(&self.sub).map_err(|e| TokenError::Malformed(format!("claims: {e}")))?;
        if self.name.chars().any(char::is_control) {
            return Err(TokenError::Malformed(format!(
                "claims: the display name {:?} contains a control character",
                self.name
            )));
        }
        if self.name.trim().is_empty() {
            self.name = self.sub.clone();
        }
        Ok(self)
    }

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
    pub fn close_code(&self) -> CloseCode {
        match self {
            TokenError::Missing => CloseCode::TokenMissing,
            TokenError::Malformed(_) => CloseCode::TokenMalformed,
            TokenError::BadSignature => CloseCode::Forbidden,
            TokenError::Expired { .. } => CloseCode::TokenExpired,
            TokenError::WrongRoom { .. } => CloseCode::WrongRoom,
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
    verify_for(secret, token, Some(room), now_ms)
}

/// Check `token` as proof of who its bearer is, whatever room it was minted for (a
/// person's inbox takes any of their room tokens): signature, then expiry.
pub fn verify_identity(secret: &[u8], token: &str, now_ms: u64) -> Result<Claims, TokenError> {
    verify_for(secret, token, None, now_ms)
}

fn verify_for(
    secret: &[u8],
    token: &str,
    room: Option<&str>,
    now_ms: u64,
) -> Result<Claims, TokenError> {
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
    let sig = decode_base64url(sig)
        .map_err(|e| TokenError::Malformed(format!("the signature is not base64url: {e}")))?;
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(version.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&sig)
        .map_err(|_| TokenError::BadSignature)?;
    let json = decode_base64url(body)
        .map_err(|e| TokenError::Malformed(format!("the claims are not base64url: {e}")))?;
    let claims: Claims =
        serde_json::from_slice(&json).map_err(|e| TokenError::Malformed(format!("claims: {e}")))?;
    let claims = claims.checked()?;
    if let Some(room) = room.filter(|r| *r != claims.room) {
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

/// Why text is not canonical unpadded base64url.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Base64Error {
    /// A character outside the base64url alphabet (padding `=` included).
    #[error("character {ch:?} at byte {at} is not in the base64url alphabet")]
    Character {
        /// The character.
        ch: char,
        /// Its byte offset.
        at: usize,
    },
    /// A length no unpadded encoding has (4n+1).
    #[error("{len} characters is not a length unpadded base64url can have")]
    Length {
        /// The length, in characters.
        len: usize,
    },
    /// The last character sets bits no byte uses: another text for the same bytes.
    #[error("the last character {ch:?} sets unused bits (the canonical one is {canonical:?})")]
    NonCanonical {
        /// The character found.
        ch: char,
        /// The character that encodes the same bytes canonically.
        canonical: char,
    },
}

fn sextet(c: u8) -> Option<u32> {
    B64.iter().position(|b| *b == c).map(|v| v as u32)
}

/// Decode unpadded base64url, refusing every text [`base64url`] would not produce: a
/// character outside the alphabet, an impossible length, or a last character whose
/// unused low bits are set (so each byte string has exactly one accepted text).
pub fn decode_base64url(text: &str) -> Result<Vec<u8>, Base64Error> {
    let bytes = text.as_bytes();
    if bytes.len() % 4 == 1 {
        return Err(Base64Error::Length { len: bytes.len() });
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for (c, chunk) in bytes.chunks(4).enumerate() {
        let mut n = 0u32;
        for (i, b) in chunk.iter().enumerate() {
            let at = c * 4 + i;
            // Every byte before `at` is ASCII, so `at` is a character boundary.
            let v = sextet(*b).ok_or_else(|| Base64Error::Character {
                ch: text[at..]
                    .chars()
                    .next()
                    .unwrap_or(char::REPLACEMENT_CHARACTER),
                at,
            })?;
            n |= v << (18 - 6 * i);
        }
        let kept = chunk.len() - 1;
        // The bits below the decoded bytes: an encoder leaves them zero.
        let unused = (1u32 << (24 - 8 * kept)) - 1;
        if n & unused != 0 {
            let last = chunk[kept];
            let spare = (6 * chunk.len() - 8 * kept) as u32;
            let v = sextet(last).unwrap_or_default();
            return Err(Base64Error::NonCanonical {
                ch: char::from(last),
                canonical: char::from(B64[(v & !((1 << spare) - 1)) as usize]),
            });
        }
        for i in 0..kept {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Ok(out)
}

/// [`decode_base64url`], without the reason.
pub fn unbase64url(text: &str) -> Option<Vec<u8>> {
    decode_base64url(text).ok()
}

/// Why a user id cannot name a participant.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UserIdError {
    /// Empty, or only whitespace.
    #[error("the user id (`sub`) is empty")]
    Blank,
    /// Leading or trailing whitespace: it would look like another participant's id.
    #[error("the user id {0:?} starts or ends with whitespace")]
    Padded(String),
    /// A control character.
    #[error("the user id {0:?} contains a control character")]
    Control(String),
    /// An id the room uses for callers without a token (`anonymous`, development mode)
    /// or for the app's backend (`server`): a token naming it would pass for them.
    #[error("the user id {0:?} is reserved")]
    Reserved(String),
}

/// Check that `id` can name a participant: not blank, no surrounding whitespace, no
/// control characters.
pub fn check_user_id(id: &str) -> Result<(), UserIdError> {
    if id.trim().is_empty() {
        return Err(UserIdError::Blank);
    }
    if id.trim() != id {
        return Err(UserIdError::Padded(id.to_owned()));
    }
    if id.chars().any(char::is_control) {
        return Err(UserIdError::Control(id.to_owned()));
    }
    if id == crate::authority::ANONYMOUS || id == crate::authority::SERVER {
        return Err(UserIdError::Reserved(id.to_owned()));
    }
    Ok(())
}

/// The token a request presents: from its `token` query parameters (every value, in
/// order) and its `Authorization` header. `None` only when it presents none at all;
/// a credential that is present but unusable is refused, never taken for no token
/// (which development mode would admit as an anonymous editor): an empty `?token=`,
/// two `?token=`s, a header that is not `Bearer <token>` (the scheme is
/// case-insensitive, RFC 7235), or a header and a query that disagree.
pub fn presented_token<'a>(
    query: &[&'a str],
    authorization: Option<&'a str>,
) -> Result<Option<&'a str>, TokenError> {
    let from_query = match query {
        [] => None,
        [""] => {
            return Err(TokenError::Malformed(
                "the `token` query parameter is empty".into(),
            ))
        }
        [t] => Some(*t),
        many => {
            return Err(TokenError::Malformed(format!(
                "{} `token` query parameters; send one",
                many.len()
            )))
        }
    };
    let from_header = authorization.map(bearer_token).transpose()?;
    match (from_query, from_header) {
        (Some(q), Some(h)) if q != h => Err(TokenError::Malformed(
            "the `token` query parameter and the Authorization header carry different tokens"
                .into(),
        )),
        (q, h) => Ok(q.or(h)),
    }
}

/// The token in an `Authorization: Bearer <token>` header value.
pub fn bearer_token(header: &str) -> Result<&str, TokenError> {
    let header = header.trim();
    let (scheme, rest) = header.split_once([' ', '\t']).unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // A short prefix only: a token pasted without its scheme is a secret.
        let shown: String = scheme.chars().take(12).collect();
        let more = if shown.len() < scheme.len() {
            "…"
        } else {
            ""
        };
        return Err(TokenError::Malformed(format!(
            "the Authorization header's scheme is {shown:?}{more}; expected `Bearer <token>`"
        )));
    }
    let token = rest.trim();
    if token.is_empty() {
        return Err(TokenError::Malformed(
            "the Authorization header has no token after `Bearer`".into(),
        ));
    }
    if token.contains(char::is_whitespace) {
        return Err(TokenError::Malformed(
            "the Authorization header's token contains whitespace".into(),
        ));
    }
    Ok(token)
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
        .map(|e| e.close_code().code())
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

    /// A token for `claims` given as raw JSON, signed with `k`.
    fn signed(json: &str) -> String {
        let signed = format!("v1.{}", base64url(json.as_bytes()));
        format!(
            "{signed}.{}",
            base64url(&hmac_sha256(b"k", signed.as_bytes()))
        )
    }

    /// `text` with its last character's lowest bit flipped.
    fn flip_last_bit(text: &str) -> String {
        let (head, last) = text.split_at(text.len() - 1);
        let v = sextet(last.as_bytes()[0]).unwrap();
        format!("{head}{}", char::from(B64[(v ^ 1) as usize]))
    }

    #[test]
    fn a_signature_with_unused_bits_set_is_malformed() {
        let token = mint(b"k", &claims());
        // 32 bytes of signature end in a character with two unused bits: flipping one
        // leaves the decoded bytes (and so the HMAC) unchanged.
        let altered = flip_last_bit(&token);
        assert!(decode_base64url(&flip_last_bit(token.rsplit('.').next().unwrap())).is_err());
        let err = verify(b"k", &altered, "r", 0).unwrap_err();
        assert!(matches!(err, TokenError::Malformed(_)), "{err:?}");
        assert!(
            err.to_string().contains("the signature is not base64url"),
            "{err}"
        );
        assert!(err.to_string().contains("unused bits"), "{err}");
        assert_eq!(err.close_code(), CloseCode::TokenMalformed);
    }

    #[test]
    fn non_canonical_claims_are_malformed_even_when_signed() {
        // A minter that leaves the claims' unused bits set: the signature covers the
        // text, so it verifies, but the text is not the one encoding of the claims.
        let json = serde_json::to_vec(&claims()).unwrap();
        assert_ne!(json.len() % 3, 0, "the claims end in a partial group");
        let body = flip_last_bit(&base64url(&json));
        let signed = format!("v1.{body}");
        let token = format!(
            "{signed}.{}",
            base64url(&hmac_sha256(b"k", signed.as_bytes()))
        );
        let err = verify(b"k", &token, "r", 0).unwrap_err();
        assert!(
            err.to_string().contains("the claims are not base64url"),
            "{err}"
        );
    }

    #[test]
    fn base64url_refusals_say_which_character() {
        assert_eq!(
            decode_base64url("QQ==").unwrap_err(),
            Base64Error::Character { ch: '=', at: 2 }
        );
        assert_eq!(
            decode_base64url("QR").unwrap_err(),
            Base64Error::NonCanonical {
                ch: 'R',
                canonical: 'Q'
            }
        );
        assert_eq!(
            decode_base64url("QUJ").unwrap_err(),
            Base64Error::NonCanonical {
                ch: 'J',
                canonical: 'I'
            }
        );
        assert_eq!(
            decode_base64url("QUJDR").unwrap_err(),
            Base64Error::Length { len: 5 }
        );
        assert_eq!(
            decode_base64url("Qé").unwrap_err(),
            Base64Error::Character { ch: 'é', at: 1 }
        );
        assert_eq!(decode_base64url("QUI").unwrap(), b"AB");
    }

    #[test]
    fn a_blank_user_id_is_malformed() {
        for sub in ["", "   ", "\t", " ada", "ada ", "a\u{0}b", "a\nb"] {
            let json = serde_json::json!({
                "room": "r", "sub": sub, "name": "Ada", "kind": "person",
                "role": "editor", "exp": 9,
            });
            let err = verify(b"k", &signed(&json.to_string()), "r", 0).unwrap_err();
            assert!(matches!(err, TokenError::Malformed(_)), "{sub:?}: {err:?}");
            assert!(err.to_string().contains("user id"), "{sub:?}: {err}");
        }
        assert_eq!(
            check_user_id("").unwrap_err().to_string(),
            "the user id (`sub`) is empty"
        );
        assert_eq!(
            check_user_id("ada ").unwrap_err().to_string(),
            "the user id \"ada \" starts or ends with whitespace"
        );
        assert_eq!(check_user_id("ada lovelace@example.com"), Ok(()));
        // A token for `anonymous` would pass for development mode's unverified editors.
        assert_eq!(
            check_user_id("anonymous"),
            Err(UserIdError::Reserved("anonymous".into()))
        );
        assert!(check_user_id("server").is_err());
    }

    #[test]
    fn a_blank_name_falls_back_to_the_user_id_and_control_characters_are_refused() {
        let token = |name: &str| {
            signed(
                &serde_json::json!({
                    "room": "r", "sub": "u1", "name": name, "kind": "person",
                    "role": "viewer", "exp": 9,
                })
                .to_string(),
            )
        };
        assert_eq!(verify(b"k", &token(""), "r", 0).unwrap().name, "u1");
        assert_eq!(verify(b"k", &token("  "), "r", 0).unwrap().name, "u1");
        assert_eq!(
            verify(b"k", &token("Ada L."), "r", 0).unwrap().name,
            "Ada L."
        );
        let err = verify(b"k", &token("Ada\u{202e}\n"), "r", 0).unwrap_err();
        assert!(err.to_string().contains("display name"), "{err}");
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for header in [
            "Bearer abc",
            "bearer abc",
            "BEARER abc",
            "bEaReR \t abc ",
            " Bearer abc",
        ] {
            assert_eq!(bearer_token(header), Ok("abc"), "{header:?}");
        }
    }

    #[test]
    fn an_unusable_authorization_header_is_refused_not_ignored() {
        for (header, why) in [
            ("Basic YWRhOnB3", "scheme is \"Basic\""),
            ("Bearer", "no token after `Bearer`"),
            ("Bearer   ", "no token after `Bearer`"),
            ("", "scheme is \"\""),
            ("Bearer a b", "contains whitespace"),
            ("v1.eyJyb29tIjoiciJ9.c2ln", "scheme is \"v1.eyJyb29tI\"…"),
            ("Token abc", "scheme is \"Token\""),
        ] {
            let err = presented_token(&[], Some(header)).unwrap_err();
            assert!(
                matches!(err, TokenError::Malformed(_)),
                "{header:?}: {err:?}"
            );
            assert!(err.to_string().contains(why), "{header:?}: {err}");
        }
        assert_eq!(presented_token(&[], None), Ok(None));
        assert_eq!(presented_token(&["t"], None), Ok(Some("t")));
        assert_eq!(presented_token(&[], Some("bearer t")), Ok(Some("t")));
        assert_eq!(presented_token(&["t"], Some("Bearer t")), Ok(Some("t")));
        for (query, header, why) in [
            (&[""][..], None, "query parameter is empty"),
            (&["a", "b"][..], None, "2 `token` query parameters"),
            (&["a"][..], Some("Bearer b"), "carry different tokens"),
            (&["a"][..], Some("Basic b"), "scheme is \"Basic\""),
        ] {
            let err = presented_token(query, header).unwrap_err();
            assert!(err.to_string().contains(why), "{query:?} {header:?}: {err}");
        }
    }

    proptest! {
        #[test]
        fn base64url_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(unbase64url(&base64url(&bytes)), Some(bytes));
        }

        /// Each byte string has one accepted text: whatever decodes re-encodes to itself.
        #[test]
        fn only_canonical_base64url_decodes(text in "[A-Za-z0-9_-]{0,12}") {
            if let Ok(bytes) = decode_base64url(&text) {
                prop_assert_eq!(base64url(&bytes), text);
            }
        }

        #[test]
        fn verifying_garbage_never_panics(s in ".{0,200}") {
            let _ = verify(b"k", &s, "r", 0);
        }
    }
}
