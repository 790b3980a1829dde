//! Webhook subscriptions, payload signatures and the retry schedule.
//!
//! A delivery is an HTTP POST of JSON with the header
//! `Confab-Signature: t=<ms>,v1=<hex HMAC-SHA256 of "<ms>.<body>" under the hook's secret>`.
//! A receiver recomputes the HMAC over the timestamp and the raw body and compares.
//! Failed deliveries (a network error or a status other than 2xx) are retried with
//! exponential backoff, [`MAX_ATTEMPTS`] attempts in all.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::{hex, hmac_sha256};

/// Events a webhook may subscribe to.
pub const EVENTS: &[&str] = &[
    "join",
    "leave",
    "message.posted",
    "turn.finished",
    "lock.acquired",
    "lock.released",
    "lock.expired",
    "conflict.raised",
    "handoff",
    "role.changed",
    "stop.requested",
    "activity.started",
    "activity.completed",
    "collaboration.started",
    "collaboration.ended",
];

/// Webhooks per room.
pub const MAX_WEBHOOKS: usize = 20;
/// Attempts per delivery, the first included.
pub const MAX_ATTEMPTS: u32 = 6;
/// Delay before the first retry; each retry doubles it.
pub const FIRST_RETRY_MS: u64 = 1_000;

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
}

impl Webhook {
    /// The hook without its secret.
    pub fn public(&self) -> Value {
        json!({ "id": self.id, "url": self.url, "events": self.events, "createdAt": self.created_at })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    url: String,
    events: Vec<String>,
    secret: String,
}

/// Validate a `webhook.create` request.
pub fn parse_config(raw: Value, id: String, now_ms: u64) -> Result<Webhook, String> {
    let c: Config = serde_json::from_value(raw).map_err(|e| format!("webhook.create: {e}"))?;
    let scheme_ok = c.url.starts_with("https://") || c.url.starts_with("http://");
    if !scheme_ok || c.url.len() > 2048 || c.url.contains(char::is_whitespace) {
        return Err(format!(
            "webhook.create: `url` must be an http(s) URL of at most 2048 bytes; got `{}`",
            c.url.chars().take(80).collect::<String>()
        ));
    }
    if c.events.is_empty() {
        return Err("webhook.create: `events` is empty".into());
    }
    if let Some(bad) = c.events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
        return Err(format!(
            "webhook.create: unknown event `{bad}` (expected any of {})",
            EVENTS.join(", ")
        ));
    }
    if c.secret.len() < 16 || c.secret.len() > 256 {
        return Err("webhook.create: `secret` must be 16 to 256 bytes".into());
    }
    Ok(Webhook {
        id,
        url: c.url,
        events: c.events,
        secret: c.secret,
        created_at: now_ms,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_checked_and_secrets_stay_hidden() {
        let ok = parse_config(
            json!({"url": "http://127.0.0.1:9/h", "events": ["join"], "secret": "0123456789abcdef"}),
            "w1".into(),
            5,
        )
        .unwrap();
        assert!(ok.public().get("secret").is_none());
        for (raw, needle) in [
            (
                json!({"url": "ftp://x", "events": ["join"], "secret": "0123456789abcdef"}),
                "http(s)",
            ),
            (
                json!({"url": "http://x", "events": ["nope"], "secret": "0123456789abcdef"}),
                "unknown event `nope`",
            ),
            (
                json!({"url": "http://x", "events": ["join"], "secret": "short"}),
                "16 to 256",
            ),
            (
                json!({"url": "http://x", "events": ["join"]}),
                "missing field `secret`",
            ),
        ] {
            let err = parse_config(raw, "w".into(), 0).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
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
