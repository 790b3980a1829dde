//! Who a request is from: verified by the stateless Worker before the room wakes, and
//! handed to the room's Durable Object in a header only the Worker can set.

use confab_core::authority::guest::guest_from_query;
use confab_core::authority::token::{presented_token, verify, verify_identity, Claims, TokenError};
use confab_core::authority::Actor;
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
    /// No token, in development mode, from a socket that named itself (core's
    /// [`guest`](confab_core::authority::guest)).
    Guest {
        /// Who it says it is: an unverified editor.
        actor: Actor,
    },
}

/// A tokenless socket to a room that names itself becomes that guest; any other
/// identity stays as it is. `Err` says what is wrong with the name it gave.
pub fn with_guest(identity: Identity, query: &[(String, String)]) -> Result<Identity, String> {
    match identity {
        Identity::Anonymous => {
            Ok(guest_from_query(query)?
                .map_or(Identity::Anonymous, |actor| Identity::Guest { actor }))
        }
        other => Ok(other),
    }
}

/// Check the token (or API key) a request carries for `room` at `now_ms`.
pub fn authenticate(
    config: &Config,
    room: &str,
    token: Option<&str>,
    now_ms: u64,
) -> Result<Identity, EdgeError> {
    credential(config, token, |secret, t| {
        verify(secret, t, room, now_ms).map_err(|e| match e {
            // Not shaped like a token at all: most likely a mistyped API key.
            TokenError::Malformed(_) if !t.starts_with("v1.") => {
                EdgeError::Token(TokenError::Malformed(
                    "the credential is neither this server's API key (CONFAB_API_KEY) nor \
                     a room token (v1.<claims>.<signature>, minted with POST \
                     /rooms/<room>/tokens); send one as `Authorization: Bearer <key or token>`"
                        .into(),
                ))
            }
            e => EdgeError::Token(e),
        })
    })
}

/// The resource name a space's tokens are minted for: `space:<space>` (so a room token
/// never opens a space, and a space token never opens a room of that name's space).
pub fn space_resource(space: &str) -> String {
    format!("space:{space}")
}

/// Check the credential a request to `user`'s inbox carries: the server key, or any
/// valid room token of that very person (the inbox is theirs wherever they signed in).
pub fn authenticate_person(
    config: &Config,
    user: &str,
    token: Option<&str>,
    now_ms: u64,
) -> Result<Identity, EdgeError> {
    credential(config, token, |secret, t| {
        let claims = verify_identity(secret, t, now_ms).map_err(EdgeError::Token)?;
        if claims.sub != user {
            return Err(EdgeError::Op(confab_core::authority::OpError::forbidden(
                format!(
                    "this token is {}'s; only {user} (or the app's backend) may read \
                     {user}'s inbox",
                    claims.sub
                ),
            )));
        }
        Ok(claims)
    })
}

/// The one decision on credentials: the server API key is the app's backend; any other
/// credential is a token `check` verifies; none is an anonymous caller in development
/// mode only.
fn credential(
    config: &Config,
    token: Option<&str>,
    check: impl FnOnce(&[u8], &str) -> Result<Claims, EdgeError>,
) -> Result<Identity, EdgeError> {
    let secret = config.secret()?;
    match token {
        Some(t) if config.api_key.as_deref().is_some_and(|k| same(k, t)) => Ok(Identity::Server),
        Some(t) => check(secret.as_bytes(), t).map(|claims| Identity::Token { claims }),
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

/// The token a request carries: `?token=` or `Authorization: Bearer` (any case). A
/// credential that is present but unusable is refused here, so that development mode
/// never admits it as an anonymous caller (see [`presented_token`]).
pub fn token_from(
    query: &[(String, String)],
    authorization: Option<&str>,
) -> Result<Option<String>, EdgeError> {
    let tokens: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "token")
        .map(|(_, v)| v.as_str())
        .collect();
    presented_token(&tokens, authorization)
        .map(|t| t.map(str::to_owned))
        .map_err(EdgeError::Token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_core::authority::token::{mint, Role};
    use confab_core::doc::ParticipantKind;

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
        assert_eq!(
            token_from(&[], Some("Bearer abc")).unwrap(),
            Some("abc".to_owned())
        );
    }

    #[test]
    fn a_wrong_api_key_is_told_what_the_server_takes() {
        let err = authenticate(&config(false), "r", Some("not-the-key"), 0).unwrap_err();
        assert_eq!(err.code(), "token_malformed");
        let message = err.to_string();
        assert!(
            message.contains("neither this server's API key (CONFAB_API_KEY)"),
            "{message}"
        );
        assert!(
            message.contains("`Authorization: Bearer <key or token>`"),
            "{message}"
        );
        // A token-shaped credential keeps its own, precise reason.
        let err = authenticate(&config(false), "r", Some("v1.x"), 0).unwrap_err();
        assert!(!err.to_string().contains("API key"), "{err}");
    }

    /// Authenticate a request in development mode as the Worker does.
    fn dev_caller(
        query: &[(&str, &str)],
        authorization: Option<&str>,
    ) -> Result<Identity, EdgeError> {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let token = token_from(&query, authorization)?;
        authenticate(&config(true), "r", token.as_deref(), 0)
    }

    #[test]
    fn a_lowercase_bearer_header_is_the_token_not_an_anonymous_caller() {
        let claims = Claims {
            room: "r".into(),
            sub: "vic".into(),
            name: "Vic".into(),
            kind: ParticipantKind::Person,
            role: Role::Viewer,
            exp: 100,
        };
        let viewer = mint(crate::config::DEV_SECRET.as_bytes(), &claims);
        for scheme in ["bearer", "BEARER", "Bearer"] {
            assert_eq!(
                dev_caller(&[], Some(&format!("{scheme} {viewer}"))).unwrap(),
                Identity::Token {
                    claims: claims.clone()
                },
                "{scheme}"
            );
        }
        assert_eq!(
            dev_caller(&[], Some(&format!("bearer {}", crate::config::DEV_API_KEY))).unwrap(),
            Identity::Server
        );
        assert_eq!(dev_caller(&[], None).unwrap(), Identity::Anonymous);
    }

    #[test]
    fn an_unusable_credential_is_refused_even_in_development_mode() {
        for (query, header) in [
            (&[][..], Some("Basic YWRhOnB3")),
            (&[][..], Some("Bearer")),
            (&[][..], Some("")),
            (&[("token", "")][..], None),
            (&[("token", "a"), ("token", "b")][..], None),
            (&[("token", "a")][..], Some("Bearer b")),
        ] {
            let err = dev_caller(query, header).unwrap_err();
            assert_eq!(
                (err.status_code(), err.code()),
                (400, "token_malformed"),
                "{query:?} {header:?}: {err}"
            );
        }
        // A present but empty token reaching `authenticate` is refused, not anonymous.
        let err = authenticate(&config(true), "r", Some(""), 0).unwrap_err();
        assert_eq!(err.code(), "token_missing");
    }
}
