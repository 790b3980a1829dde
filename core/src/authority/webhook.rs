//! Webhook subscriptions, their targets, payload signatures and the retry schedule.
//!
//! A delivery is an HTTP POST of JSON with the header
//! `Confab-Signature: t=<ms>,v1=<hex HMAC-SHA256 of "<ms>.<body>" under the hook's secret>`.
//! A receiver recomputes the HMAC over the timestamp and the raw body and compares.
//! Failed deliveries (a network error, a redirect, or any other status than 2xx) are
//! retried with exponential backoff, [`MAX_ATTEMPTS`] attempts in all. Redirects are
//! never followed: the signature would go to a host nobody subscribed.
//!
//! A hook's URL is judged here, once, for the edge: `http` or `https`, a host, no
//! `user:pass@`, and outside development mode ([`Targets::Public`]) no loopback,
//! private, shared, link-local, multicast or local-only name target. What the room
//! shows of a URL anywhere but to an owner asking for the hook list is
//! [`redact_url`]'s form: scheme, host, port and path.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use thiserror::Error;
use url::{Host, Url};

use crate::authority::token::{hex, hmac_sha256};

use super::op::{IdArgs, WebhookArgs};
use super::{Cx, EventKind, OpError, OpResult, Outcome};

/// The events a webhook may subscribe to: every [`EventKind`] that is
/// [subscribable](EventKind::subscribable).
pub fn events() -> Vec<&'static str> {
    EventKind::subscribable_kinds()
        .map(EventKind::as_str)
        .collect()
}

/// Webhooks per room.
pub const MAX_WEBHOOKS: usize = 20;
/// Attempts per delivery, the first included.
pub const MAX_ATTEMPTS: u32 = 6;
/// Delay before the first retry; each retry doubles it.
pub const FIRST_RETRY_MS: u64 = 1_000;
/// Path prefixes one webhook may filter by.
pub const MAX_PATH_FILTERS: usize = 20;
/// Longest webhook URL, in bytes.
pub const MAX_URL_BYTES: usize = 2048;

/// Which hosts a webhook may target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Targets {
    /// Public hosts only: what a deployed room allows.
    #[default]
    Public,
    /// Any host, loopback and private networks included: development mode, where the
    /// receiver is usually a local process.
    Any,
}

impl Targets {
    /// [`Targets::Any`] in development mode, else [`Targets::Public`].
    pub fn for_dev_mode(dev: bool) -> Self {
        if dev {
            Targets::Any
        } else {
            Targets::Public
        }
    }
}

/// Why a webhook URL was refused. URLs in these messages are redacted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UrlError {
    /// Longer than [`MAX_URL_BYTES`].
    #[error("`url` is {len} bytes; the limit is {MAX_URL_BYTES}")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// White space anywhere (URL parsers drop or encode it silently).
    #[error("`url` `{url}` contains white space")]
    WhiteSpace {
        /// The first 80 characters of what was given.
        url: String,
    },
    /// Not a URL at all (`http://` with nothing after it is one of these).
    #[error("`url` `{url}` is not a valid url: {reason}")]
    Malformed {
        /// The first 80 characters of what was given.
        url: String,
        /// What the parser said.
        reason: String,
    },
    /// A scheme other than `http` or `https`.
    #[error("`url` `{url}` has the scheme `{scheme}`; only http and https are allowed")]
    Scheme {
        /// The URL, redacted.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// No host.
    #[error("`url` `{url}` has no host")]
    NoHost {
        /// The URL, redacted.
        url: String,
    },
    /// `user:pass@` in the URL: it would be shown and stored as plain text.
    #[error(
        "`url` `{url}` carries a user name or password (`user:pass@`); \
         receivers check the signature instead"
    )]
    Credentials {
        /// The URL, redacted.
        url: String,
    },
    /// A loopback, private, link-local or other non-public target, outside development
    /// mode.
    #[error(
        "`url` `{url}` targets `{host}`, a {kind}; webhooks reach public hosts only \
         (development mode allows local ones)"
    )]
    NotPublic {
        /// The URL, redacted.
        url: String,
        /// The host as parsed.
        host: String,
        /// What kind of target it is (`loopback address`, `private address`, ...).
        kind: &'static str,
    },
}

/// Why a `webhook.create` request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The URL.
    #[error("webhook.create: {0}")]
    Url(#[from] UrlError),
    /// No events.
    #[error("webhook.create: `events` is empty")]
    NoEvents,
    /// An event that does not exist.
    #[error("webhook.create: unknown event `{0}` (expected any of {events})", events = events().join(", "))]
    UnknownEvent(String),
    /// Path filters that are empty, too long or too many.
    #[error("webhook.create: `paths` holds 1 to {MAX_PATH_FILTERS} prefixes of 1 to 1024 bytes (`/` alone matches every path: leave `paths` out)")]
    Paths,
    /// A secret too short or too long.
    #[error("webhook.create: `secret` must be 16 to 256 bytes; got {0}")]
    Secret(usize),
}

/// A room's webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// Id (`w<number>`).
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Subscribed events.
    pub events: Vec<String>,
    /// Signing secret (never shown after creation).
    pub secret: String,
    /// Created, ms since the Unix epoch.
    pub created_at: u64,
    /// Path prefixes (without a leading `/`): when any, only file events under one of
    /// them are delivered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

impl Webhook {
    /// The hook without its secret, for owners (the URL in full: they set it).
    pub fn public(&self) -> Value {
        json!({ "id": self.id, "url": self.url, "events": self.events, "paths": self.paths, "createdAt": self.created_at })
    }

    /// The URL as the audit log and the live feed show it (see [`redact_url`]).
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// Validate a `webhook.create` request; `targets` says which hosts are allowed.
pub fn parse_config(
    c: WebhookArgs,
    id: String,
    now_ms: u64,
    targets: Targets,
) -> Result<Webhook, ConfigError> {
    let url = check_url(&c.url, targets)?;
    if c.events.is_empty() {
        return Err(ConfigError::NoEvents);
    }
    if let Some(bad) = c
        .events
        .iter()
        .find(|e| EventKind::parse(e).is_none_or(|k| !k.subscribable()))
    {
        return Err(ConfigError::UnknownEvent(bad.clone()));
    }
    if c.secret.len() < 16 || c.secret.len() > 256 {
        return Err(ConfigError::Secret(c.secret.len()));
    }
    let paths: Vec<String> = c
        .paths
        .unwrap_or_default()
        .iter()
        .map(|p| p.trim_start_matches('/').to_owned())
        .collect();
    if paths.len() > MAX_PATH_FILTERS || paths.iter().any(|p| p.is_empty() || p.len() > 1024) {
        return Err(ConfigError::Paths);
    }
    Ok(Webhook {
        id,
        url: url.into(),
        events: c.events,
        secret: c.secret,
        created_at: now_ms,
        paths,
    })
}

/// Parse and judge a webhook URL: `http` or `https`, a host, no user name or password,
/// and with [`Targets::Public`] a host that is neither an address outside the public
/// internet nor a name that only resolves locally. The URL comes back normalized the
/// way `fetch` reads it (`http://2130706433/` is `http://127.0.0.1/`).
pub fn check_url(raw: &str, targets: Targets) -> Result<Url, UrlError> {
    if raw.len() > MAX_URL_BYTES {
        return Err(UrlError::TooLong { len: raw.len() });
    }
    if raw.contains(char::is_whitespace) {
        return Err(UrlError::WhiteSpace {
            url: raw.chars().take(80).collect(),
        });
    }
    let url = Url::parse(raw).map_err(|e| UrlError::Malformed {
        url: raw.chars().take(80).collect(),
        reason: e.to_string(),
    })?;
    let shown = || redact_url(url.as_str());
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(UrlError::Scheme {
            url: shown(),
            scheme: url.scheme().to_owned(),
        });
    }
    let Some(host) = url.host().filter(|h| !matches!(h, Host::Domain(""))) else {
        return Err(UrlError::NoHost { url: shown() });
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials { url: shown() });
    }
    if targets == Targets::Public {
        if let Some(kind) = non_public(&host) {
            return Err(UrlError::NotPublic {
                url: shown(),
                host: host.to_string(),
                kind,
            });
        }
    }
    Ok(url)
}

/// What kind of non-public target `host` is, if it is one.
fn non_public(host: &Host<&str>) -> Option<&'static str> {
    match host {
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let under = |zone: &str| name == zone || name.ends_with(&format!(".{zone}"));
            if under("localhost") {
                Some("loopback name")
            } else if [
                "local",
                "internal",
                "localdomain",
                "home.arpa",
                "lan",
                "intranet",
            ]
            .iter()
            .any(|z| under(z))
            {
                Some("local-network name")
            } else if !name.contains('.') {
                Some("single-label (intranet) name")
            } else {
                None
            }
        }
        Host::Ipv4(ip) => non_public_v4(*ip),
        Host::Ipv6(ip) => non_public_v6(*ip),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match (a, b) {
        _ if ip.is_unspecified() => "unspecified address",
        _ if ip.is_loopback() => "loopback address",
        _ if ip.is_private() => "private address",
        _ if ip.is_link_local() => "link-local address",
        (100, 64..=127) => "shared (carrier-grade NAT) address",
        (0, _) => "this-network address",
        (198, 18..=19) => "benchmarking address",
        (192, 0) if ip.octets()[2] == 0 => "protocol-assignment address",
        (224..=239, _) => "multicast address",
        (240..=255, _) => "reserved or broadcast address",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let seg = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified address");
    }
    if ip.is_loopback() {
        return Some("loopback address");
    }
    // IPv4 inside IPv6 (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64
    // `64:ff9b::a.b.c.d`) reaches the IPv4 address: judge that.
    let embedded = Ipv4Addr::new(
        (seg[6] >> 8) as u8,
        seg[6] as u8,
        (seg[7] >> 8) as u8,
        seg[7] as u8,
    );
    let mapped = seg[..5] == [0; 5] && (seg[5] == 0xffff || seg[5] == 0);
    let nat64 = seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if mapped || nat64 {
        return non_public_v4(embedded);
    }
    Some(match seg[0] {
        s if s & 0xfe00 == 0xfc00 => "private (unique-local) address",
        s if s & 0xffc0 == 0xfe80 => "link-local address",
        s if s & 0xffc0 == 0xfec0 => "site-local address",
        s if s & 0xff00 == 0xff00 => "multicast address",
        _ => return None,
    })
}

/// A URL as the room shows it to anyone but an owner listing hooks: scheme, host, port
/// and path; a user name, password, query or fragment is dropped (a query or fragment
/// shows as `?…`, so a reader knows something was there). What does not parse shows as
/// `(not a valid url)`.
pub fn redact_url(raw: &str) -> String {
    let Ok(url) = Url::parse(raw) else {
        return "(not a valid url)".into();
    };
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(url.path());
    if url.query().is_some() || url.fragment().is_some() {
        out.push_str("?…");
    }
    out
}

/// What a delivery attempt got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The receiver answered with this HTTP status (redirects are not followed).
    Status(u16),
    /// The receiver could not be reached: why.
    Unreachable(String),
    /// Not sent: the hook's URL is not allowed (a hook stored before a rule existed).
    Refused(UrlError),
}

/// What became of a delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered {
        /// The status.
        status: u16,
    },
    /// Anything else.
    Failed {
        /// The status, when the receiver answered.
        status: Option<u16>,
        /// Why it failed.
        error: String,
        /// When to try again; `None` when the delivery was given up.
        retry_at: Option<u64>,
    },
}

impl Attempt {
    /// Judge attempt number `attempt` (1-based), sent at `sent_at`.
    pub fn judge(answer: Answer, attempt: u32, sent_at: u64) -> Self {
        let retry_at = retry_delay_ms(attempt).map(|d| sent_at.saturating_add(d));
        match answer {
            Answer::Status(status) if (200..300).contains(&status) => Attempt::Delivered { status },
            Answer::Status(status) if (300..400).contains(&status) => Attempt::Failed {
                status: Some(status),
                error: format!(
                    "the receiver answered {status}, a redirect; redirects are not followed"
                ),
                retry_at,
            },
            Answer::Status(status) => Attempt::Failed {
                status: Some(status),
                error: format!("the receiver answered {status}"),
                retry_at,
            },
            Answer::Unreachable(error) => Attempt::Failed {
                status: None,
                error,
                retry_at,
            },
            // The same URL will be refused next time too: give up at once.
            Answer::Refused(e) => Attempt::Failed {
                status: None,
                error: format!("not sent: {e}"),
                retry_at: None,
            },
        }
    }

    /// When to try again, if at all.
    pub fn retry_at(&self) -> Option<u64> {
        match self {
            Attempt::Delivered { .. } => None,
            Attempt::Failed { retry_at, .. } => *retry_at,
        }
    }
}

/// The `Confab-Signature` header for `body` sent at `timestamp_ms`.
pub fn signature(secret: &str, timestamp_ms: u64, body: &str) -> String {
    let mac = hmac_sha256(
        secret.as_bytes(),
        format!("{timestamp_ms}.{body}").as_bytes(),
    );
    format!("t={timestamp_ms},v1={}", hex(&mac))
}

/// When to try again after failed attempt number `attempt` (1-based), or `None` when
/// that was the last.
pub fn retry_delay_ms(attempt: u32) -> Option<u64> {
    (attempt < MAX_ATTEMPTS).then(|| FIRST_RETRY_MS << (attempt - 1).min(20))
}

impl super::Authority {
    pub(super) fn create_webhook(&mut self, cx: &Cx<'_>, a: WebhookArgs) -> OpResult {
        cx.require_owner()?;
        let hook = parse_config(a, self.next_id("w"), cx.now_ms, self.targets)
            .map_err(|e| OpError::invalid(e.to_string()))?;
        if self.webhooks.len() >= MAX_WEBHOOKS {
            return Err(OpError::invalid(format!(
                "a room has at most {MAX_WEBHOOKS} webhooks"
            )));
        }
        self.webhooks.push(hook.clone());
        let e = cx.event(
            EventKind::WebhookCreated,
            Some(&hook.id),
            json!({ "url": hook.redacted_url(), "events": hook.events }),
        );
        Ok(Outcome::new(json!({ "webhook": hook.public() }), vec![e]))
    }

    pub(super) fn list_webhooks(&self, cx: &Cx<'_>) -> OpResult {
        cx.require_owner()?;
        let list: Vec<Value> = self.webhooks.iter().map(Webhook::public).collect();
        Ok(Outcome::new(json!({ "webhooks": list }), vec![]))
    }

    pub(super) fn delete_webhook(&mut self, cx: &Cx<'_>, a: IdArgs) -> OpResult {
        cx.require_owner()?;
        let before = self.webhooks.len();
        self.webhooks.retain(|h| h.id != a.id);
        if self.webhooks.len() == before {
            return Err(OpError::not_found(format!("no webhook `{}`", a.id)));
        }
        let e = cx.event(EventKind::WebhookDeleted, Some(&a.id), json!({}));
        Ok(Outcome::new(json!({ "deleted": a.id }), vec![e]))
    }

    /// Webhooks subscribed to `event`: its kind, and when a hook filters by path,
    /// a path of the event under one of its prefixes.
    pub fn hooks_for(&self, event: &super::Event) -> Vec<Webhook> {
        self.webhooks
            .iter()
            .filter(|h| h.events.iter().any(|e| e == event.action.as_str()))
            .filter(|h| {
                h.paths.is_empty()
                    || event_paths(event).any(|p| h.paths.iter().any(|f| p.starts_with(f.as_str())))
            })
            .cloned()
            .collect()
    }

    /// A webhook by id.
    pub fn hook(&self, id: &str) -> Option<&Webhook> {
        self.webhooks.iter().find(|h| h.id == id)
    }

    /// Let webhooks target loopback, private and link-local hosts ([`Targets::Any`], for
    /// development mode) or public hosts only ([`Targets::Public`], the default).
    pub fn set_webhook_targets(&mut self, targets: Targets) {
        self.targets = targets;
    }

    /// May a delivery go to `hook`'s URL? Not when the URL breaks a rule it was stored
    /// before (or a deployment that left development mode).
    pub fn check_hook_target(&self, hook: &Webhook) -> Result<(), UrlError> {
        check_url(&hook.url, self.targets).map(|_| ())
    }
}

/// The paths a file event is about (`path`, or a move's `from` and `to`).
fn event_paths(event: &super::Event) -> impl Iterator<Item = &str> {
    ["path", "from", "to"]
        .into_iter()
        .filter_map(|k| event.detail.get(k).and_then(Value::as_str))
}

/// The body POSTed for one event to one webhook: a delivery id unique per event and
/// hook (`<audit seq>-<hook id>`, so a receiver can drop repeats), the room, and the
/// event as the feed shows it.
pub fn envelope(room: &str, seq: u64, hook: &Webhook, event: &Value) -> Value {
    json!({ "id": format!("{seq}-{}", hook.id), "room": room, "event": event })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef";

    fn config(url: &str, targets: Targets) -> Result<Webhook, ConfigError> {
        parse_config(
            WebhookArgs {
                url: url.into(),
                events: vec!["join".into()],
                secret: SECRET.into(),
                paths: None,
            },
            "w1".into(),
            5,
            targets,
        )
    }

    #[test]
    fn configs_are_checked_and_secrets_stay_hidden() {
        let ok = config("https://hooks.example.com/h", Targets::Public).unwrap();
        assert!(ok.public().get("secret").is_none());
        for (raw, needle) in [
            (
                json!({"url": "ftp://example.com/x", "events": ["join"], "secret": SECRET}),
                "scheme `ftp`; only http and https",
            ),
            (
                json!({"url": "http://example.com", "events": ["nope"], "secret": SECRET}),
                "unknown event `nope`",
            ),
            (
                json!({"url": "http://example.com", "events": ["join"], "secret": "short"}),
                "16 to 256 bytes; got 5",
            ),
            (
                json!({"url": "http://example.com", "events": ["join"]}),
                "missing field `secret`",
            ),
        ] {
            let err = match crate::authority::Op::parse("webhook.create", raw) {
                Err(e) => e.to_string(),
                Ok(crate::authority::Op::WebhookCreate(a)) => {
                    let refused = parse_config(a, "w".into(), 0, Targets::Public);
                    refused.expect_err("refused").to_string()
                }
                Ok(other) => panic!("{other:?}"),
            };
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn webhook_urls_are_validated_and_local_targets_refused_outside_development() {
        let refused = [
            ("http://", "not a valid url: empty host"),
            ("https://:443/x", "not a valid url: empty host"),
            ("not-a-url", "not a valid url"),
            ("https://hooks.example.com/a\nb", "contains white space"),
            ("file:///etc/passwd", "scheme `file`"),
            ("javascript:alert(1)", "scheme `javascript`"),
            (
                "https://bob:hunter2@hooks.example.com/x",
                "carries a user name or password",
            ),
            ("https://tok@hooks.example.com/x", "user name or password"),
        ];
        for (url, needle) in refused {
            for targets in [Targets::Public, Targets::Any] {
                let err = config(url, targets).unwrap_err().to_string();
                assert!(err.contains(needle), "{url}: {err}");
                assert!(!err.contains("hunter2"), "{err}");
            }
        }
        let local = [
            ("http://127.0.0.1:9/h", "`127.0.0.1`, a loopback address"),
            ("http://127.9.9.9/h", "loopback address"),
            ("http://2130706433/h", "`127.0.0.1`, a loopback address"),
            ("http://0x7f.1/h", "loopback address"),
            ("http://[::1]/h", "`[::1]`, a loopback address"),
            ("http://[::ffff:127.0.0.1]/h", "loopback address"),
            ("http://[::ffff:10.0.0.1]/h", "private address"),
            ("http://localhost:8787/h", "`localhost`, a loopback name"),
            ("http://LOCALHOST./h", "loopback name"),
            ("http://api.localhost/h", "loopback name"),
            ("http://10.1.2.3/h", "private address"),
            ("http://172.16.0.1/h", "private address"),
            ("http://172.31.255.255/h", "private address"),
            ("http://192.168.1.1/h", "private address"),
            ("http://100.64.0.1/h", "shared (carrier-grade NAT) address"),
            ("http://169.254.169.254/latest", "link-local address"),
            ("http://0.0.0.0/h", "unspecified address"),
            ("http://[::]/h", "unspecified address"),
            ("http://[fc00::1]/h", "unique-local"),
            ("http://[fd12:3456::1]/h", "unique-local"),
            ("http://[fe80::1]/h", "link-local address"),
            ("http://[64:ff9b::7f00:1]/h", "loopback address"),
            ("http://224.0.0.1/h", "multicast address"),
            ("http://255.255.255.255/h", "broadcast"),
            ("http://printer.local/h", "local-network name"),
            ("http://metadata.google.internal/h", "local-network name"),
            ("http://metadata/h", "single-label"),
        ];
        for (url, needle) in local {
            let err = config(url, Targets::Public).unwrap_err().to_string();
            assert!(err.contains(needle), "{url}: {err}");
            assert!(err.contains("public hosts only"), "{err}");
            config(url, Targets::Any).unwrap_or_else(|e| panic!("{url} in development: {e}"));
        }
        for url in [
            "https://hooks.example.com/x?token=1",
            "http://93.184.216.34:8080/h",
            "https://[2606:4700::1111]/h",
            "http://172.32.0.1/h",
            "http://100.128.0.1/h",
        ] {
            config(url, Targets::Public).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        assert_eq!(
            config("http://2130706433/h", Targets::Any).unwrap().url,
            "http://127.0.0.1/h",
            "stored the way fetch reads it"
        );
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
        assert!(matches!(
            check_url(&long, Targets::Any),
            Err(UrlError::TooLong { .. })
        ));
    }

    #[test]
    fn path_filters_pick_file_events_under_their_prefixes() {
        let mut a = crate::authority::Authority::new();
        let hook = |paths: Option<Vec<String>>| WebhookArgs {
            url: "https://hooks.example.com/h".into(),
            events: vec!["file.added".into(), "file.moved".into()],
            secret: SECRET.into(),
            paths,
        };
        a.webhooks.push(
            parse_config(
                hook(Some(vec!["/output/".into()])),
                "w1".into(),
                0,
                Targets::Public,
            )
            .unwrap(),
        );
        a.webhooks
            .push(parse_config(hook(None), "w2".into(), 0, Targets::Public).unwrap());
        let event = |kind, detail| super::super::Event::new(kind, None, None, detail, 0);
        let ids =
            |e: &super::super::Event| a.hooks_for(e).into_iter().map(|h| h.id).collect::<Vec<_>>();
        assert_eq!(
            ids(&event(
                EventKind::FileAdded,
                json!({ "path": "output/r.pdf" })
            )),
            ["w1", "w2"]
        );
        assert_eq!(
            ids(&event(
                EventKind::FileAdded,
                json!({ "path": "outputs/r.pdf" })
            )),
            ["w2"]
        );
        assert_eq!(
            ids(&event(
                EventKind::FileMoved,
                json!({ "from": "tmp/r", "to": "output/r" })
            )),
            ["w1", "w2"]
        );
        assert!(parse_config(
            hook(Some(vec!["/".into()])),
            "w3".into(),
            0,
            Targets::Public
        )
        .unwrap_err()
        .to_string()
        .contains("leave `paths` out"));
    }

    #[test]
    fn redacted_urls_keep_scheme_host_port_and_path_only() {
        for (url, shown) in [
            (
                "https://bob:pw@hooks.example.com/x?token=s3cret#frag",
                "https://hooks.example.com/x?…",
            ),
            (
                "http://hooks.example.com:8443/a/b",
                "http://hooks.example.com:8443/a/b",
            ),
            (
                "https://hooks.example.com#k",
                "https://hooks.example.com/?…",
            ),
            ("https://[::1]:9/x?a", "https://[::1]:9/x?…"),
            ("http://", "(not a valid url)"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn redirects_and_refused_targets_are_failed_deliveries() {
        assert_eq!(
            Attempt::judge(Answer::Status(204), 1, 0),
            Attempt::Delivered { status: 204 }
        );
        let Attempt::Failed {
            status,
            error,
            retry_at,
        } = Attempt::judge(Answer::Status(302), 1, 10)
        else {
            panic!("a redirect is not a delivery");
        };
        assert_eq!((status, retry_at), (Some(302), Some(1_010)));
        assert!(error.contains("302, a redirect; redirects are not followed"));
        let refused = check_url("http://127.0.0.1/h", Targets::Public).unwrap_err();
        assert!(matches!(
            Attempt::judge(Answer::Refused(refused), 1, 10),
            Attempt::Failed { retry_at: None, status: None, ref error } if error.starts_with("not sent: ")
        ));
        assert_eq!(
            Attempt::judge(Answer::Unreachable("x".into()), MAX_ATTEMPTS, 0).retry_at(),
            None
        );
    }

    #[test]
    fn signatures_and_backoff() {
        let sig = signature("k", 1000, "{}");
        assert_eq!(
            sig,
            format!("t=1000,v1={}", hex(&hmac_sha256(b"k", b"1000.{}")))
        );
        assert_ne!(sig, signature("k", 1001, "{}"));
        assert_eq!(retry_delay_ms(1), Some(1_000));
        assert_eq!(retry_delay_ms(3), Some(4_000));
        assert_eq!(retry_delay_ms(MAX_ATTEMPTS), None);
    }
}
