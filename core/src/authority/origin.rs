//! Which web pages may use a room server: the check on a request's `Origin` header.
//!
//! A browser names the page behind every WebSocket upgrade (and every cross-origin or
//! non-GET request) in `Origin`, and a page cannot forge it. Without a check, any site
//! a developer visits could open sockets to a development server on localhost, where
//! a caller without a token joins as an editor. So a request that carries an `Origin`
//! must come from the server's own origin or from one the deployment allows; a request
//! without one comes from no browser page (Node's `ws`, agents, servers) and passes, as
//! the token checks still apply to it.
//!
//! ```
//! use confab_core::authority::origin::OriginPolicy;
//!
//! let policy = OriginPolicy::parse("https://app.example.com, http://localhost:5173")?;
//! let own = "https://rooms.example.com";
//! assert!(policy.check(None, own).is_ok());
//! assert!(policy.check(Some("https://rooms.example.com"), own).is_ok());
//! assert!(policy.check(Some("https://APP.example.com:443"), own).is_ok());
//! assert!(policy.check(Some("https://evil.example"), own).is_err());
//! # Ok::<(), confab_core::authority::origin::OriginError>(())
//! ```

use thiserror::Error;

/// Why an origin was refused, or an allow-list entry is not an origin.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OriginError {
    /// A page from another origin, not on the allow-list.
    #[error("origin {origin:?} is not allowed: it is not this server's origin ({own}) or an allowed origin")]
    Forbidden {
        /// The `Origin` the request carried.
        origin: String,
        /// The server's own origin, as the request reached it.
        own: String,
    },
    /// An allow-list entry that is not `scheme://host[:port]`.
    #[error("{value:?} is not an origin ({why}); write scheme://host[:port], e.g. https://app.example.com")]
    Invalid {
        /// The entry.
        value: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

impl OriginError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            OriginError::Forbidden { .. } => "origin_forbidden",
            OriginError::Invalid { .. } => "origin_invalid",
        }
    }

    /// WebSocket close code: a refusal that retrying cannot fix, like a forged token.
    pub fn close_code(&self) -> crate::protocol::close::CloseCode {
        crate::protocol::close::CloseCode::Forbidden
    }
}

/// The origins allowed besides the server's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginPolicy {
    allowed: Vec<String>,
}

impl OriginPolicy {
    /// Parse a comma-separated allow-list of origins (`https://app.example.com,
    /// http://localhost:5173`); blank entries are skipped. Hosts compare in lowercase,
    /// default ports (80, 443) may be left out, and a trailing `/` is ignored; there is
    /// no wildcard.
    pub fn parse(list: &str) -> Result<Self, OriginError> {
        let allowed = list
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| {
                normalize(v.strip_suffix('/').unwrap_or(v)).map_err(|why| OriginError::Invalid {
                    value: v.to_owned(),
                    why,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(OriginPolicy { allowed })
    }

    /// The allowed origins, normalized.
    pub fn allowed(&self) -> &[String] {
        &self.allowed
    }

    /// May a request with this `Origin` header use a server whose own origin is `own`
    /// (`scheme://host[:port]` of the URL it was reached at)? No header: yes. A header
    /// that is not an origin (`null` from a sandboxed frame or a file): no.
    pub fn check(&self, origin: Option<&str>, own: &str) -> Result<(), OriginError> {
        let Some(origin) = origin else {
            return Ok(());
        };
        let refused = || OriginError::Forbidden {
            origin: origin.to_owned(),
            own: own.to_owned(),
        };
        let origin = normalize(origin).map_err(|_| refused())?;
        if normalize(own).is_ok_and(|own| own == origin) || self.allowed.contains(&origin) {
            Ok(())
        } else {
            Err(refused())
        }
    }
}

/// `scheme://host[:port]` in one spelling: lowercase, without the default port.
fn normalize(value: &str) -> Result<String, &'static str> {
    let (scheme, rest) = value.split_once("://").ok_or("no scheme")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err("the scheme is not http or https"),
    };
    if rest.contains(['/', '?', '#', '@']) {
        return Err("an origin has no path, query or user");
    }
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => {
            let (inner, after) = v6.split_once(']').ok_or("an unclosed `[`")?;
            if inner.is_empty()
                || !inner
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            {
                return Err("the IPv6 host is not an address");
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or("junk after the IPv6 host")?),
            };
            (format!("[{inner}]"), port)
        }
        None => {
            let (host, port) = match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            };
            if host.is_empty() {
                return Err("no host");
            }
            if !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            {
                return Err("the host has a character no host name has (use punycode)");
            }
            (host.to_owned(), port)
        }
    };
    let port = port
        .map(|p| {
            p.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| p.parse::<u16>().ok())
                .flatten()
                .ok_or("the port is not a number from 0 to 65535")
        })
        .transpose()?
        .filter(|p| *p != default_port);
    let host = host.to_ascii_lowercase();
    Ok(match port {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OWN: &str = "http://127.0.0.1:8787";

    #[test]
    fn a_page_from_another_origin_is_refused() {
        let none = OriginPolicy::default();
        let err = none.check(Some("https://evil.example"), OWN).unwrap_err();
        assert_eq!(
            err,
            OriginError::Forbidden {
                origin: "https://evil.example".into(),
                own: OWN.into()
            }
        );
        assert_eq!(
            (err.code(), err.close_code().code()),
            ("origin_forbidden", 4403)
        );
        assert!(err
            .to_string()
            .starts_with("origin \"https://evil.example\" is not allowed"));
        // Another port on the same host is another origin, and so is another scheme.
        assert!(none.check(Some("http://127.0.0.1:5173"), OWN).is_err());
        assert!(none.check(Some("https://127.0.0.1:8787"), OWN).is_err());
        assert!(none.check(Some("http://localhost:8787"), OWN).is_err());
        // Not an origin at all: a sandboxed frame or a file sends `null`.
        for odd in [
            "null",
            "",
            "http://",
            "file://",
            "http://127.0.0.1:8787/x",
            "ws://127.0.0.1:8787",
        ] {
            assert!(none.check(Some(odd), OWN).is_err(), "{odd:?}");
        }
    }

    #[test]
    fn the_servers_own_origin_and_non_browser_callers_pass() {
        let none = OriginPolicy::default();
        assert_eq!(none.check(None, OWN), Ok(()));
        assert_eq!(none.check(Some(OWN), OWN), Ok(()));
        assert_eq!(none.check(Some("HTTP://127.0.0.1:8787"), OWN), Ok(()));
        assert_eq!(
            none.check(
                Some("https://rooms.example.com"),
                "https://rooms.example.com:443"
            ),
            Ok(())
        );
        assert_eq!(
            none.check(Some("http://[::1]:8787"), "http://[::1]:8787"),
            Ok(())
        );
    }

    #[test]
    fn the_allow_list_admits_exactly_its_origins() -> Result<(), OriginError> {
        let policy = OriginPolicy::parse(
            " https://App.example.com/ ,, http://localhost:5173,http://[::1]:80",
        )?;
        assert_eq!(
            policy.allowed(),
            [
                "https://app.example.com",
                "http://localhost:5173",
                "http://[::1]"
            ]
        );
        assert_eq!(policy.check(Some("https://app.example.com"), OWN), Ok(()));
        assert_eq!(policy.check(Some("http://localhost:5173"), OWN), Ok(()));
        assert_eq!(policy.check(Some("http://[::1]"), OWN), Ok(()));
        assert!(policy
            .check(Some("https://app.example.com.evil.example"), OWN)
            .is_err());
        assert!(policy.check(Some("http://app.example.com"), OWN).is_err());
        assert!(policy.check(Some("http://localhost:5174"), OWN).is_err());
        assert_eq!(OriginPolicy::parse("")?, OriginPolicy::default());
        Ok(())
    }

    #[test]
    fn allow_list_entries_that_are_not_origins_say_why() {
        for (entry, why) in [
            ("*", "no scheme"),
            ("app.example.com", "no scheme"),
            ("ftp://app.example.com", "not http or https"),
            ("https://app.example.com/path", "no path"),
            ("https://user@app.example.com", "no path, query or user"),
            ("https://app.example.com:99999", "port"),
            ("https://app.example.com:", "port"),
            ("https://bücher.example", "punycode"),
            ("https://[::1", "unclosed"),
            ("https://:443", "no host"),
        ] {
            let err = OriginPolicy::parse(&format!("https://ok.example,{entry}")).unwrap_err();
            assert!(
                matches!(&err, OriginError::Invalid { value, .. } if value == entry),
                "{entry}: {err:?}"
            );
            assert!(err.to_string().contains(why), "{entry}: {err}");
        }
    }

    proptest! {
        #[test]
        fn checking_any_header_never_panics(origin in ".{0,60}", own in ".{0,40}") {
            let _ = OriginPolicy::default().check(Some(&origin), &own);
            let _ = OriginPolicy::parse(&origin);
        }
    }
}
