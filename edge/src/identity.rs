//! Who a request is from: verified by the stateless Worker before the room wakes, and
//! handed to the room's Durable Object in a header only the Worker can set.

use confab_core::auth::{verify, Claims, TokenError};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::EdgeError;

/// Header carrying the verified identity from the Worker to the room object.
pub const IDENTITY_HEADER: &str = "X-Confab-Identity";
/// Header carrying the room's name to the room object (it signs invitations for it).
pub const ROOM_HEADER: &str = "X-Confab-Room";

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Identity {
    /// A participant with a valid room token.
    Token {
        /// Its claims.
        claims: Claims,
    },
    /// The app's backend, with the server API key.
    Server,
    /// No token, in development mode.
    Anonymous,
}

/// Check the token (or API key) a request carries for `room` at `now_ms`.
pub fn authenticate(
    config: &Config,
    room: &str,
    token: Option<&str>,
    now_ms: u64,
) -> Result<Identity, EdgeError> {
    let secret = config.secret()?;
    match token.filter(|t| !t.is_empty()) {
        Some(t) if config.api_key.as_deref().is_some_and(|k| same(k, t)) => Ok(Identity::Server),
        Some(t) => verify(secret.as_bytes(), t, room, now_ms)
            .map(|claims| Identity::Token { claims })
            .map_err(EdgeError::Token),
        None if config.dev => Ok(Identity::Anonymous),
        None => Err(EdgeError::Token(TokenError::Missing)),
    }
}

/// Compare without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The token a request carries: `?token=` or `Authorization: Bearer`.
pub fn token_from(query: &[(String, String)], authorization: Option<&str>) -> Option<String> {
    query
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.clone())
        .or_else(|| {
            authorization
                .and_then(|h| h.strip_prefix("Bearer "))
                .map(|t| t.trim().to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_core::auth::{mint, Role};
    use confab_core::model::ParticipantKind;

    fn config(dev: bool) -> Config {
        Config::from_lookup(move |k| match k {
            "CONFAB_DEV" if dev => Some("1".into()),
            "CONFAB_SECRET" if !dev => Some("s3cret".into()),
            "CONFAB_API_KEY" if !dev => Some("key".into()),
            _ => None,
        })
        .unwrap()
    }

    #[test]
    fn tokens_keys_and_anonymous_callers() {
        let claims = Claims {
            room: "r".into(),
            sub: "u".into(),
            name: "U".into(),
            kind: ParticipantKind::Person,
            role: Role::Viewer,
            exp: 100,
        };
        let prod = config(false);
        let token = mint(b"s3cret", &claims);
        assert_eq!(
            authenticate(&prod, "r", Some(&token), 0).unwrap(),
            Identity::Token {
                claims: claims.clone()
            }
        );
        assert_eq!(
            authenticate(&prod, "r", Some("key"), 0).unwrap(),
            Identity::Server
        );
        assert_eq!(
            authenticate(&prod, "r", None, 0).unwrap_err().status_code(),
            401
        );
        // Development mode still refuses a present but invalid token.
        let dev = config(true);
        assert_eq!(
            authenticate(&dev, "r", None, 0).unwrap(),
            Identity::Anonymous
        );
        assert_eq!(
            authenticate(&dev, "r", Some(&token), 0)
                .unwrap_err()
                .status_code(),
            403
        );
        assert_eq!(token_from(&[], Some("Bearer abc")), Some("abc".to_owned()));
    }
}
