//! The edge's configuration, read from the Worker's environment once per request.
//!
//! - `CONFAB_SECRET` (a secret: `wrangler secret put CONFAB_SECRET`): signs and
//!   verifies room tokens. Required unless in development mode.
//! - `CONFAB_API_KEY` (a secret): the app backend's key for the REST API (`Authorization:
//!   Bearer <key>`), e.g. to mint tokens with `POST /rooms/<room>/tokens`.
//! - `CONFAB_DEV = "1"`: development mode (what `make dev` and the tests run, set in
//!   `edge/.dev.vars`, which `wrangler deploy` ignores). Connections without a token
//!   join as anonymous editors; the secret and API key default to [`DEV_SECRET`] and
//!   [`DEV_API_KEY`]. A token that is present but invalid is refused in every mode.
//! - `CONFAB_ALLOWED_ORIGINS`: web origins besides the server's own whose pages may open
//!   sockets and call the REST API, comma separated (`https://app.example.com,
//!   http://localhost:5173`). A request whose `Origin` is neither is refused (close
//!   4403 or `403 origin_forbidden`); requests without an `Origin` (Node, agents,
//!   servers) are not browser pages and pass. See [`confab_core::authority::origin`].
//! - Limits: `CONFAB_MAX_FRAME_BYTES`, `CONFAB_RATE_PER_SEC`, `CONFAB_RATE_BURST`,
//!   `CONFAB_MAX_CONNECTIONS`, `CONFAB_MAX_BODY_BYTES`, `CONFAB_MAX_ROOM_BYTES`,
//!   `CONFAB_MAX_CONNECTIONS_PER_USER`, `CONFAB_WRITER_RESERVE`; for files
//!   `CONFAB_MAX_FILE_BYTES` (one upload), `CONFAB_MAX_FILES_BYTES` (a room's quota) and
//!   `CONFAB_MAX_FILES` (entries in a room's tree).
//! - Search: `CONFAB_EMBEDDINGS_URL` (an OpenAI-compatible API's base URL, e.g.
//!   `https://api.openai.com/v1`), `CONFAB_EMBEDDINGS_MODEL` (default
//!   `text-embedding-3-small`) and the secret `CONFAB_EMBEDDINGS_KEY`: when set, search
//!   orders its hits by meaning too.

use confab_core::authority::origin::OriginPolicy;
use confab_core::room::limits::Limits;

use crate::error::EdgeError;

/// The documented development secret (never use it for a deployed room server).
pub const DEV_SECRET: &str = "confab-dev-secret";
/// The documented development API key.
pub const DEV_API_KEY: &str = "confab-dev-api-key";

/// Settings the edge runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Development mode: anonymous connections allowed.
    pub dev: bool,
    /// Token secret (`None`: not configured, outside development mode).
    pub secret: Option<String>,
    /// REST API key, if configured.
    pub api_key: Option<String>,
    /// Web origins allowed besides the server's own.
    pub origins: OriginPolicy,
    /// Limits.
    pub limits: Limits,
    /// An OpenAI-compatible embeddings endpoint that orders search hits by meaning.
    pub embeddings: Option<Embeddings>,
    /// How many fan-out objects serve a room's viewers (`CONFAB_FANOUT_OBJECTS`, 4).
    pub fanout_objects: u32,
}

/// Where search gets embeddings: `POST <url>/embeddings` with `{ model, input }`, as
/// OpenAI's API and the many servers compatible with it answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embeddings {
    /// The API's base URL (`https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`).
    pub url: String,
    /// The model.
    pub model: String,
    /// Its API key, sent as `Authorization: Bearer`.
    pub key: Option<String>,
}

impl Config {
    /// Build from variable lookups (`get(name)` returns the variable or secret).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, EdgeError> {
        let dev = get("CONFAB_DEV").is_some_and(|v| v == "1" || v == "true");
        let non_empty = |name: &str| get(name).filter(|v| !v.is_empty());
        let secret = non_empty("CONFAB_SECRET").or_else(|| dev.then(|| DEV_SECRET.to_owned()));
        let api_key = non_empty("CONFAB_API_KEY").or_else(|| dev.then(|| DEV_API_KEY.to_owned()));
        let origins = OriginPolicy::parse(&get("CONFAB_ALLOWED_ORIGINS").unwrap_or_default())
            .map_err(|e| EdgeError::Misconfigured(format!("CONFAB_ALLOWED_ORIGINS: {e}")))?;
        let mut limits = Limits::default();
        let num = |name: &str| -> Result<Option<u64>, EdgeError> {
            non_empty(name)
                .map(|v| {
                    v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        EdgeError::Misconfigured(format!(
                            "{name} must be a positive whole number; got `{v}`"
                        ))
                    })
                })
                .transpose()
        };
        if let Some(n) = num("CONFAB_MAX_FRAME_BYTES")? {
            limits.max_frame_bytes = n as usize;
        }
        if let Some(n) = num("CONFAB_RATE_PER_SEC")? {
            limits.messages_per_sec = n.min(u64::from(u32::MAX)) as u32;
        }
        if let Some(n) = num("CONFAB_RATE_BURST")? {
            limits.burst = n.min(u64::from(u32::MAX)) as u32;
        }
        if let Some(n) = num("CONFAB_MAX_CONNECTIONS")? {
            limits.max_connections = n as usize;
        }
        if let Some(n) = num("CONFAB_MAX_BODY_BYTES")? {
            limits.max_body_bytes = n as usize;
        }
        if let Some(n) = num("CONFAB_MAX_ROOM_BYTES")? {
            limits.max_room_bytes = n;
        }
        if let Some(n) = num("CONFAB_MAX_CONNECTIONS_PER_USER")? {
            limits.max_connections_per_user = n as usize;
        }
        if let Some(n) = num("CONFAB_WRITER_RESERVE")? {
            limits.writer_reserve = n as usize;
        }
        if let Some(n) = num("CONFAB_MAX_FILE_BYTES")? {
            limits.max_file_bytes = n;
        }
        if let Some(n) = num("CONFAB_MAX_FILES_BYTES")? {
            limits.max_files_bytes = n;
        }
        if let Some(n) = num("CONFAB_MAX_FILES")? {
            limits.max_files = n as usize;
        }
        let fanout_objects = match num("CONFAB_FANOUT_OBJECTS")? {
            Some(n) => u32::try_from(n)
                .ok()
                .filter(|n| *n <= 1024)
                .ok_or_else(|| {
                    EdgeError::Misconfigured(format!(
                        "CONFAB_FANOUT_OBJECTS must be 1 to 1024; got {n}"
                    ))
                })?,
            None => confab_core::room::fanout::DEFAULT_OBJECTS,
        };
        let embeddings = match non_empty("CONFAB_EMBEDDINGS_URL") {
            None => None,
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Some(Embeddings {
                    url: url.trim_end_matches('/').to_owned(),
                    model: non_empty("CONFAB_EMBEDDINGS_MODEL")
                        .unwrap_or_else(|| "text-embedding-3-small".to_owned()),
                    key: non_empty("CONFAB_EMBEDDINGS_KEY"),
                })
            }
            Some(url) => {
                return Err(EdgeError::Misconfigured(format!(
                    "CONFAB_EMBEDDINGS_URL must be an http(s) URL; got `{url}`"
                )))
            }
        };
        Ok(Config {
            dev,
            secret,
            api_key,
            origins,
            limits,
            embeddings,
            fanout_objects,
        })
    }

    /// The token secret, or why rooms cannot be served.
    pub fn secret(&self) -> Result<&str, EdgeError> {
        self.secret.as_deref().ok_or_else(|| {
            EdgeError::Misconfigured(
                "CONFAB_SECRET is not set (run `wrangler secret put CONFAB_SECRET`, or set \
                 CONFAB_DEV=1 for local development)"
                    .into(),
            )
        })
    }
}

/// What `GET /health` answers: the service, version and mode while the deployment can
/// serve rooms, or why it cannot (a missing `CONFAB_SECRET` outside development mode,
/// a variable that does not parse), which the edge answers with `503 misconfigured`.
pub fn health(config: Result<Config, EdgeError>) -> Result<serde_json::Value, EdgeError> {
    let config = config?;
    config.secret()?;
    Ok(serde_json::json!({
        "ok": true,
        "service": "confab-edge",
        "version": env!("CARGO_PKG_VERSION"),
        "mode": if config.dev { "development" } else { "production" },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn development_mode_has_documented_defaults_and_production_needs_a_secret() {
        let dev = Config::from_lookup(lookup(&[("CONFAB_DEV", "1")])).unwrap();
        assert_eq!(dev.secret().unwrap(), DEV_SECRET);
        assert_eq!(dev.api_key.as_deref(), Some(DEV_API_KEY));
        let prod = Config::from_lookup(lookup(&[])).unwrap();
        assert!(prod
            .secret()
            .unwrap_err()
            .to_string()
            .contains("CONFAB_SECRET is not set"));
        assert_eq!(prod.api_key, None);
        let limits = Config::from_lookup(lookup(&[("CONFAB_MAX_CONNECTIONS", "3")])).unwrap();
        assert_eq!(limits.limits.max_connections, 3);
        let err = Config::from_lookup(lookup(&[("CONFAB_RATE_PER_SEC", "fast")])).unwrap_err();
        assert!(err
            .to_string()
            .contains("CONFAB_RATE_PER_SEC must be a positive whole number"));
    }

    #[test]
    fn allowed_origins_are_parsed_once_and_a_bad_entry_is_a_misconfiguration() {
        let none = Config::from_lookup(lookup(&[("CONFAB_DEV", "1")])).unwrap();
        assert!(none.origins.allowed().is_empty());
        let some = Config::from_lookup(lookup(&[(
            "CONFAB_ALLOWED_ORIGINS",
            "https://app.example.com, http://localhost:5173",
        )]))
        .unwrap();
        assert_eq!(
            some.origins.allowed(),
            ["https://app.example.com", "http://localhost:5173"]
        );
        let err = Config::from_lookup(lookup(&[("CONFAB_ALLOWED_ORIGINS", "*")])).unwrap_err();
        assert_eq!(err.status_code(), 503);
        assert!(err
            .to_string()
            .starts_with("server misconfigured: CONFAB_ALLOWED_ORIGINS: \"*\" is not an origin"));
    }

    #[test]
    fn health_is_not_ok_without_a_secret_in_production() {
        let prod = |pairs| health(Config::from_lookup(lookup(pairs)));
        let err = prod(&[]).unwrap_err();
        assert_eq!((err.status_code(), err.code()), (503, "misconfigured"));
        assert!(
            err.to_string().contains("CONFAB_SECRET is not set"),
            "{err}"
        );
        // An empty secret is no secret.
        assert!(prod(&[("CONFAB_SECRET", "")]).is_err());
        let err = prod(&[("CONFAB_SECRET", "s"), ("CONFAB_MAX_BODY_BYTES", "0")]).unwrap_err();
        assert!(err.to_string().contains("CONFAB_MAX_BODY_BYTES"), "{err}");
        let ok = prod(&[("CONFAB_SECRET", "s")]).unwrap();
        assert_eq!(
            (ok["ok"].as_bool(), ok["mode"].as_str()),
            (Some(true), Some("production"))
        );
        let dev = prod(&[("CONFAB_DEV", "1")]).unwrap();
        assert_eq!(dev["mode"], "development");
    }
}
