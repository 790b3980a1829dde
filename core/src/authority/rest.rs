//! The REST API, parsed once and strictly: [`route`] takes a request's method and path
//! to the health check, the OpenAPI document, a room's socket or a room's REST call, and
//! [`call`] maps a REST call onto one typed [`Op`] (the same operations a socket sends as
//! requests) or one of the few reads only REST has. The OpenAPI document
//! (`edge/openapi.json`, served at `/openapi.json`) describes these routes; the edge
//! suite checks the server against it.

use serde_json::{json, Map, Value};
use thiserror::Error;

use super::{Op, OpError};

/// Why a REST request was refused before it reached a room's operations.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RestError {
    /// No route matches.
    #[error("no route for {method} {path}")]
    NotFound {
        /// Request method.
        method: String,
        /// Request path.
        path: String,
    },
    /// A room name that cannot be used.
    #[error("invalid room name: {0}")]
    InvalidRoom(String),
    /// A request that cannot be understood (its path, query or body).
    #[error("{0}")]
    BadRequest(String),
    /// A request body over the limit.
    #[error("{0}")]
    TooLarge(String),
    /// The operation's arguments were refused.
    #[error("{0}")]
    Op(#[from] OpError),
}

impl RestError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            RestError::NotFound { .. } => "not_found",
            RestError::InvalidRoom(_) => "invalid_room",
            RestError::BadRequest(_) => "invalid_request",
            RestError::TooLarge(_) => "body_too_large",
            RestError::Op(e) => e.code.as_str(),
        }
    }
}

/// Longest room name accepted, in bytes.
pub const MAX_ROOM_NAME: usize = 128;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /health`.
    Health,
    /// `GET /openapi.json`: the REST API's OpenAPI document.
    OpenApi,
    /// `/rooms/<room>`: the room's WebSocket (or, with `GET`, its summary).
    Room(String),
    /// `/rooms/<room>/<rest…>`: the room's REST API (see [`call`]).
    Api {
        /// The room.
        room: String,
        /// The path below the room, split on `/` and percent-decoded.
        rest: Vec<String>,
    },
}

/// Route a request by method and path (without the query).
pub fn route(method: &str, path: &str) -> Result<Route, RestError> {
    let not_found = || RestError::NotFound {
        method: method.to_owned(),
        path: path.to_owned(),
    };
    match (method, path) {
        ("GET", "/health") => return Ok(Route::Health),
        ("GET", "/openapi.json") => return Ok(Route::OpenApi),
        _ => {}
    }
    let Some(raw) = path.strip_prefix("/rooms/") else {
        return Err(not_found());
    };
    // Room names never contain `/` (see `room_name`), so the first segment is the room.
    let mut segments = raw.split('/');
    let name = room_name(segments.next().unwrap_or_default())?;
    let rest: Vec<String> = segments
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_decode(s).ok_or_else(|| {
                RestError::BadRequest(format!("`{s}` is not valid percent-encoded UTF-8"))
            })
        })
        .collect::<Result<_, _>>()?;
    if rest.is_empty() {
        return if method == "GET" {
            Ok(Route::Room(name))
        } else {
            Err(not_found())
        };
    }
    Ok(Route::Api { room: name, rest })
}

/// Decode and validate a room name taken from a URL path segment.
pub fn room_name(raw: &str) -> Result<String, RestError> {
    let name = percent_decode(raw).ok_or_else(|| {
        RestError::InvalidRoom(format!("`{raw}` is not valid percent-encoded UTF-8"))
    })?;
    if name.is_empty() {
        return Err(RestError::InvalidRoom("the name is empty".into()));
    }
    if name.len() > MAX_ROOM_NAME {
        return Err(RestError::InvalidRoom(format!(
            "the name is {} bytes long; the limit is {MAX_ROOM_NAME}",
            name.len()
        )));
    }
    if name.chars().any(|c| c.is_control() || c == '/') {
        return Err(RestError::InvalidRoom(format!(
            "`{name}` contains a control character or `/`"
        )));
    }
    Ok(name)
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What a REST request asks the room for.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// Run an operation (parsed: its arguments are checked).
    Op(Op),
    /// Read the audit log: entries with `seq > after`, at most `limit`. Owners and
    /// editors only (`Authority::may_read_audit` decides).
    Audit {
        /// Exclusive lower bound.
        after: u64,
        /// Page size (1..=1000).
        limit: u64,
    },
    /// Room statistics.
    Stats,
    /// The conflicts the room sees.
    Conflicts,
}

/// Largest audit page.
pub const MAX_PAGE: u64 = 1000;

/// Map `method` and the path below `/rooms/<room>` (split on `/`, already
/// percent-decoded) with its query pairs and JSON body onto a [`Call`].
pub fn call(
    method: &str,
    rest: &[String],
    query: &[(String, String)],
    body: Option<Value>,
) -> Result<Call, RestError> {
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let not_found = || RestError::NotFound {
        method: method.to_owned(),
        path: format!("/rooms/<room>/{}", rest.join("/")),
    };
    let body_obj = |extra: &[(&str, Value)]| -> Result<Value, RestError> {
        let mut map = match body.clone() {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(RestError::BadRequest(format!(
                    "the request body must be a JSON object; got {}",
                    kind(&other)
                )))
            }
        };
        for (k, v) in extra {
            map.insert((*k).to_owned(), v.clone());
        }
        Ok(Value::Object(map))
    };
    let num = |k: &str| -> Result<Option<u64>, RestError> {
        q(k).map(|v| {
            v.parse::<u64>().map_err(|_| {
                RestError::BadRequest(format!(
                    "query parameter `{k}` must be a whole number; got `{v}`"
                ))
            })
        })
        .transpose()
    };
    let segs: Vec<&str> = rest.iter().map(String::as_str).collect();
    let op = |name: &'static str, args: Value| Ok(Call::Op(Op::parse(name, args)?));
    match (method, segs.as_slice()) {
        ("GET", []) => op("room.summary", json!({})),
        ("GET", ["stats"]) => Ok(Call::Stats),
        ("GET", ["conflicts"]) => Ok(Call::Conflicts),
        ("GET", ["audit"]) => {
            let limit = num("limit")?.unwrap_or(100);
            if limit == 0 || limit > MAX_PAGE {
                return Err(RestError::BadRequest(format!(
                    "query parameter `limit` must be 1 to {MAX_PAGE}; got {limit}"
                )));
            }
            Ok(Call::Audit {
                after: num("after")?.unwrap_or(0),
                limit,
            })
        }
        ("GET", ["messages"]) => op(
            "message.list",
            q("conversation").map_or(json!({}), |c| json!({ "conversation": c })),
        ),
        ("POST", ["messages"]) => op("message.post", body_obj(&[])?),
        ("GET", ["documents"]) => op("document.list", json!({})),
        ("GET", ["documents", id]) => op("document.get", json!({ "id": id })),
        ("PUT", ["documents", id]) => op("document.write", body_obj(&[("id", json!(id))])?),
        ("GET", ["presence"]) => op("presence.list", json!({})),
        ("GET", ["locks"]) => op("lock.list", json!({})),
        ("POST", ["locks"]) => op("lock.acquire", body_obj(&[])?),
        ("POST", ["locks", "renew"]) => op("lock.renew", body_obj(&[])?),
        ("POST", ["locks", "release"]) => op("lock.release", body_obj(&[])?),
        ("GET", ["locks", "verify"]) => {
            let resource = q("resource").ok_or_else(|| {
                RestError::BadRequest("query parameter `resource` is required".into())
            })?;
            let fence = num("fence")?.ok_or_else(|| {
                RestError::BadRequest("query parameter `fence` is required".into())
            })?;
            op(
                "lock.verify",
                json!({ "resource": resource, "fence": fence }),
            )
        }
        ("PUT", ["locks", "policy"]) => op("lock.policy", body_obj(&[])?),
        ("GET", ["activities"]) => op("activity.list", json!({})),
        ("POST", ["activities"]) => op("activity.record", body_obj(&[])?),
        ("POST", ["activities", id, "complete"]) => {
            op("activity.complete", body_obj(&[("id", json!(id))])?)
        }
        ("GET", ["agents"]) => op("agent.list", json!({})),
        ("PUT", ["agents", "me", "status"]) => op("agent.status", body_obj(&[])?),
        ("GET", ["collaborations"]) => op("collaboration.list", json!({})),
        ("POST", ["collaborations"]) => op("collaboration.start", body_obj(&[])?),
        ("POST", ["collaborations", id, "decisions"]) => {
            op("collaboration.decide", body_obj(&[("id", json!(id))])?)
        }
        ("POST", ["collaborations", id, "end"]) => {
            op("collaboration.end", body_obj(&[("id", json!(id))])?)
        }
        ("GET", ["webhooks"]) => op("webhook.list", json!({})),
        ("POST", ["webhooks"]) => op("webhook.create", body_obj(&[])?),
        ("DELETE", ["webhooks", id]) => op("webhook.delete", json!({ "id": id })),
        ("POST", ["tokens"]) => op("member.invite", body_obj(&[])?),
        ("GET", ["members"]) => op("member.list", json!({})),
        ("PUT", ["members", user]) => op("member.role", body_obj(&[("user", json!(user))])?),
        ("DELETE", ["members", user]) => op("member.remove", json!({ "user": user })),
        ("POST", ["transfer"]) => op("member.transfer", body_obj(&[])?),
        ("POST", ["leave"]) => op("member.leave", json!({})),
        ("GET", ["suggestions"]) => op("suggestion.list", json!({})),
        ("POST", ["suggestions", id, "accept"]) => op("suggestion.accept", json!({ "id": id })),
        ("POST", ["suggestions", id, "reject"]) => op("suggestion.reject", json!({ "id": id })),
        _ => Err(not_found()),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parse a request body: empty is `None`; anything else must be JSON.
pub fn parse_body(bytes: &[u8], max: usize) -> Result<Option<Value>, RestError> {
    if bytes.len() > max {
        return Err(RestError::TooLarge(format!(
            "the request body is {} bytes; the limit is {max}",
            bytes.len()
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| RestError::BadRequest(format!("the request body is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("GET", "/health").unwrap(), Route::Health);
        assert_eq!(
            route("GET", "/rooms/demo").unwrap(),
            Route::Room("demo".into())
        );
        assert_eq!(
            route("GET", "/rooms/team%20chat").unwrap(),
            Route::Room("team chat".into())
        );
        assert_eq!(
            route("GET", "/rooms/team%20chat/conflicts").unwrap(),
            Route::Api {
                room: "team chat".into(),
                rest: vec!["conflicts".into()]
            }
        );
        assert_eq!(
            route("POST", "/rooms/r/activities/a%201/complete").unwrap(),
            Route::Api {
                room: "r".into(),
                rest: vec!["activities".into(), "a 1".into(), "complete".into()]
            }
        );
        assert_eq!(route("POST", "/health").unwrap_err().code(), "not_found");
        assert_eq!(route("POST", "/rooms/r").unwrap_err().code(), "not_found");
        assert_eq!(
            route("GET", "/nope").unwrap_err().to_string(),
            "no route for GET /nope"
        );
    }

    #[test]
    fn bad_room_names_say_why() {
        assert!(route("GET", "/rooms/")
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(route("GET", "/rooms/a%2Fb")
            .unwrap_err()
            .to_string()
            .contains("`/`"));
        assert!(route("GET", "/rooms/%zz")
            .unwrap_err()
            .to_string()
            .contains("percent"));
        let long = "x".repeat(MAX_ROOM_NAME + 1);
        assert!(route("GET", &format!("/rooms/{long}"))
            .unwrap_err()
            .to_string()
            .contains("limit is 128"));
    }

    fn segs(path: &str) -> Vec<String> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn routes_map_onto_operations() {
        let c = call(
            "POST",
            &segs("activities/a1/complete"),
            &[],
            Some(json!({"result": "ok"})),
        )
        .unwrap();
        assert_eq!(
            c,
            Call::Op(Op::parse("activity.complete", json!({"id": "a1", "result": "ok"})).unwrap())
        );
        let c = call(
            "GET",
            &segs("locks/verify"),
            &[
                ("resource".into(), "doc:a".into()),
                ("fence".into(), "3".into()),
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            c,
            Call::Op(Op::parse("lock.verify", json!({"resource": "doc:a", "fence": 3})).unwrap())
        );
        assert_eq!(
            call("GET", &[], &[], None).unwrap(),
            Call::Op(Op::RoomSummary)
        );
        assert_eq!(
            call("GET", &segs("audit"), &[("after".into(), "5".into())], None).unwrap(),
            Call::Audit {
                after: 5,
                limit: 100
            }
        );
    }

    #[test]
    fn bad_requests_say_what_was_wrong() {
        let err = call("POST", &segs("locks"), &[], Some(json!([1]))).unwrap_err();
        assert!(
            err.to_string()
                .contains("must be a JSON object; got an array"),
            "{err}"
        );
        let err = call("GET", &segs("audit"), &[("limit".into(), "x".into())], None).unwrap_err();
        assert!(
            err.to_string().contains("`limit` must be a whole number"),
            "{err}"
        );
        let err = call(
            "GET",
            &segs("audit"),
            &[("limit".into(), "5000".into())],
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("1 to 1000"), "{err}");
        assert_eq!(
            call("PATCH", &segs("locks"), &[], None).unwrap_err().code(),
            "not_found"
        );
        assert!(parse_body(b"{", 10)
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
        assert_eq!(parse_body(b"{}", 1).unwrap_err().code(), "body_too_large");
        assert_eq!(parse_body(b"  ", 10).unwrap(), None);
    }
}
