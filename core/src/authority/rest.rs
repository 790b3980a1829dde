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
    /// `/spaces/<space>` and below: a team space (see
    /// [`crate::authority::space::SpaceCall`]); `rest` is empty for its live feed.
    Space {
        /// The space.
        space: String,
        /// The path below the space, split and percent-decoded.
        rest: Vec<String>,
    },
    /// `/users/<user>/inbox` and below: a person's notifications (see
    /// [`crate::authority::inbox::InboxCall`]); `rest` is empty for the list or its live
    /// feed.
    Inbox {
        /// Whose.
        user: String,
        /// The path below `inbox`.
        rest: Vec<String>,
    },
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
    if let Some(raw) = path.strip_prefix("/spaces/") {
        let (first, rest) = split_path(raw)?;
        let space = room_name(first).map_err(|e| match e {
            RestError::InvalidRoom(why) => RestError::InvalidRoom(format!("space name: {why}")),
            e => e,
        })?;
        return Ok(Route::Space { space, rest });
    }
    if let Some(raw) = path.strip_prefix("/users/") {
        let (first, rest) = split_path(raw)?;
        let user = percent_decode(first).ok_or_else(|| {
            RestError::BadRequest(format!("`{first}` is not valid percent-encoded UTF-8"))
        })?;
        super::token::check_user_id(&user)
            .map_err(|e| RestError::BadRequest(format!("user id: {e}")))?;
        return match rest.split_first() {
            Some((inbox, rest)) if inbox == "inbox" => Ok(Route::Inbox {
                user,
                rest: rest.to_vec(),
            }),
            _ => Err(not_found()),
        };
    }
    let Some(raw) = path.strip_prefix("/rooms/") else {
        return Err(not_found());
    };
    // Room names never contain `/` (see `room_name`), so the first segment is the room.
    let (first, rest) = split_path(raw)?;
    let name = room_name(first)?;
    if rest.is_empty() {
        return if method == "GET" {
            Ok(Route::Room(name))
        } else {
            Err(not_found())
        };
    }
    Ok(Route::Api { room: name, rest })
}

/// The first segment of `raw` (still encoded) and the rest, split and decoded.
fn split_path(raw: &str) -> Result<(&str, Vec<String>), RestError> {
    let mut segments = raw.split('/');
    let first = segments.next().unwrap_or_default();
    let rest = segments
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_decode(s).ok_or_else(|| {
                RestError::BadRequest(format!("`{s}` is not valid percent-encoded UTF-8"))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((first, rest))
}

/// Decode and validate a room name taken from a URL path segment.
pub fn room_name(raw: &str) -> Result<String, RestError> {
    let name = percent_decode(raw).ok_or_else(|| {
        RestError::InvalidRoom(format!("`{raw}` is not valid percent-encoded UTF-8"))
    })?;
    check_room_name(&name).map_err(RestError::InvalidRoom)?;
    Ok(name)
}

/// Why `name` cannot name a room, if it cannot: empty, over [`MAX_ROOM_NAME`] bytes, or
/// holding a control character or `/`. Clients check with this before they connect, so
/// a name the server would refuse is refused at once, with the same reason.
pub fn check_room_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > MAX_ROOM_NAME {
        return Err(format!(
            "the name is {} bytes long; the limit is {MAX_ROOM_NAME}",
            name.len()
        ));
    }
    if name.chars().any(|c| c.is_control() || c == '/') {
        return Err(format!("`{name}` contains a control character or `/`"));
    }
    Ok(())
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
    /// Upload the request's raw body as the file at `path` (see
    /// [`crate::room::Room::prepare_upload`]).
    Upload {
        /// Where.
        path: String,
        /// The fencing token of the caller's lease covering the path.
        fence: Option<u64>,
    },
    /// Download the file at `path`: its current content, or the version with `hash`.
    Download {
        /// Which file.
        path: String,
        /// Which version (any the file had, deleted files included).
        hash: Option<String>,
    },
}

/// Largest audit page.
pub const MAX_PAGE: u64 = 1000;

/// What a REST route runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// The named operation.
    Op(&'static str),
    /// A page of the audit log.
    Audit,
    /// The room's statistics.
    Stats,
    /// The room's conflicts.
    Conflicts,
    /// A file's bytes, from the request body.
    Upload,
    /// A file's bytes, in the response body.
    Download,
}

/// How a query parameter is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// As text.
    Text,
    /// As a whole number.
    Number,
    /// As `true` or `false` (also `1` or `0`).
    Flag,
    /// As a list, comma separated.
    List,
}

/// A query parameter a route reads into its operation's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryParam {
    /// Its name (also the argument's).
    pub name: &'static str,
    /// How it is read.
    pub kind: QueryKind,
    /// The route refuses a request without it.
    pub required: bool,
}

/// One REST route: the method, the path below `/rooms/<room>` (`{name}` segments are
/// parameters, passed to the operation as the argument `name`), what it runs, whether
/// it reads a JSON body, and the query parameters it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: &'static str,
    /// The path below the room, `""` for the room itself.
    pub path: &'static str,
    /// What it runs.
    pub runs: Runs,
    /// The JSON body is the operation's arguments.
    pub body: bool,
    /// Query parameters read into the arguments.
    pub query: &'static [QueryParam],
}

const fn route_of(method: &'static str, path: &'static str, runs: Runs, body: bool) -> RouteSpec {
    RouteSpec {
        method,
        path,
        runs,
        body,
        query: &[],
    }
}

const fn read(method: &'static str, path: &'static str, op: &'static str) -> RouteSpec {
    route_of(method, path, Runs::Op(op), false)
}

const fn write(method: &'static str, path: &'static str, op: &'static str) -> RouteSpec {
    route_of(method, path, Runs::Op(op), true)
}

const TEXT: QueryKind = QueryKind::Text;
const NUMBER: QueryKind = QueryKind::Number;

const fn param(name: &'static str, kind: QueryKind, required: bool) -> QueryParam {
    QueryParam {
        name,
        kind,
        required,
    }
}

/// Every REST route of a room: the one table `call` and the OpenAPI check read.
pub const ROUTES: &[RouteSpec] = &[
    read("GET", "", "room.summary"),
    route_of("GET", "stats", Runs::Stats, false),
    route_of("GET", "conflicts", Runs::Conflicts, false),
    RouteSpec {
        query: &[
            QueryParam {
                name: "after",
                kind: NUMBER,
                required: false,
            },
            QueryParam {
                name: "limit",
                kind: NUMBER,
                required: false,
            },
        ],
        ..route_of("GET", "audit", Runs::Audit, false)
    },
    RouteSpec {
        query: &[QueryParam {
            name: "conversation",
            kind: TEXT,
            required: false,
        }],
        ..read("GET", "messages", "message.list")
    },
    write("POST", "messages", "message.post"),
    read("GET", "documents", "document.list"),
    read("GET", "documents/{id}", "document.get"),
    write("PUT", "documents/{id}", "document.write"),
    read("GET", "presence", "presence.list"),
    read("GET", "locks", "lock.list"),
    write("POST", "locks", "lock.acquire"),
    write("POST", "locks/renew", "lock.renew"),
    write("POST", "locks/release", "lock.release"),
    RouteSpec {
        query: &[
            QueryParam {
                name: "resource",
                kind: TEXT,
                required: true,
            },
            QueryParam {
                name: "fence",
                kind: NUMBER,
                required: true,
            },
        ],
        ..read("GET", "locks/verify", "lock.verify")
    },
    write("PUT", "locks/policy", "lock.policy"),
    read("GET", "activities", "activity.list"),
    write("POST", "activities", "activity.record"),
    write("POST", "activities/{id}/complete", "activity.complete"),
    read("GET", "agents", "agent.list"),
    write("PUT", "agents/me/status", "agent.status"),
    read("GET", "collaborations", "collaboration.list"),
    write("POST", "collaborations", "collaboration.start"),
    write(
        "POST",
        "collaborations/{id}/decisions",
        "collaboration.decide",
    ),
    write("POST", "collaborations/{id}/end", "collaboration.end"),
    read("GET", "webhooks", "webhook.list"),
    write("POST", "webhooks", "webhook.create"),
    read("DELETE", "webhooks/{id}", "webhook.delete"),
    write("POST", "tokens", "member.invite"),
    read("GET", "members", "member.list"),
    write("PUT", "members/{user}", "member.role"),
    read("DELETE", "members/{user}", "member.remove"),
    write("POST", "transfer", "member.transfer"),
    read("POST", "leave", "member.leave"),
    read("GET", "suggestions", "suggestion.list"),
    read("POST", "suggestions/{id}/accept", "suggestion.accept"),
    read("POST", "suggestions/{id}/reject", "suggestion.reject"),
    RouteSpec {
        query: &[
            param("prefix", TEXT, false),
            param("deleted", QueryKind::Flag, false),
        ],
        ..read("GET", "files", "file.list")
    },
    RouteSpec {
        query: &[param("path", TEXT, true)],
        ..read("GET", "files/entry", "file.get")
    },
    write("PUT", "files/text", "file.write"),
    write("POST", "files/move", "file.move"),
    write("POST", "files/delete", "file.delete"),
    write("POST", "files/restore", "file.restore"),
    write("POST", "folders", "folder.create"),
    RouteSpec {
        query: &[
            param("query", TEXT, true),
            param("kinds", QueryKind::List, false),
            param("author", TEXT, false),
            param("after", NUMBER, false),
            param("before", NUMBER, false),
            param("limit", NUMBER, false),
        ],
        ..read("GET", "search", "search")
    },
    RouteSpec {
        query: &[param("path", TEXT, true), param("fence", NUMBER, false)],
        ..route_of("PUT", "files/content", Runs::Upload, false)
    },
    RouteSpec {
        query: &[param("path", TEXT, true), param("hash", TEXT, false)],
        ..route_of("GET", "files/content", Runs::Download, false)
    },
];

impl RouteSpec {
    /// The path parameters' values when `segs` matches this route's path.
    fn matches<'a>(&self, segs: &[&'a str]) -> Option<Vec<(&'static str, &'a str)>> {
        let pattern: Vec<&'static str> = self.path.split('/').filter(|s| !s.is_empty()).collect();
        if pattern.len() != segs.len() {
            return None;
        }
        let mut params = Vec::new();
        for (p, s) in pattern.iter().zip(segs) {
            match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => params.push((name, *s)),
                None if p == s => {}
                None => return None,
            }
        }
        Some(params)
    }
}

/// What the route for `method` and `rest` (the path below `/rooms/<room>`) runs, if
/// one matches: the edge reads an upload's body as bytes, not JSON.
pub fn runs(method: &str, rest: &[String]) -> Option<Runs> {
    let segs: Vec<&str> = rest.iter().map(String::as_str).collect();
    ROUTES
        .iter()
        .find(|r| r.method == method && r.matches(&segs).is_some())
        .map(|r| r.runs)
}

/// Map `method` and the path below `/rooms/<room>` (split on `/`, already
/// percent-decoded) with its query pairs and JSON body onto a [`Call`], by [`ROUTES`].
pub fn call(
    method: &str,
    rest: &[String],
    query: &[(String, String)],
    body: Option<Value>,
) -> Result<Call, RestError> {
    let segs: Vec<&str> = rest.iter().map(String::as_str).collect();
    let (spec, params) = ROUTES
        .iter()
        .filter(|r| r.method == method)
        .find_map(|r| r.matches(&segs).map(|p| (r, p)))
        .ok_or_else(|| RestError::NotFound {
            method: method.to_owned(),
            path: format!("/rooms/<room>/{}", rest.join("/")),
        })?;
    let mut args = match (spec.body, body) {
        (true, Some(Value::Object(m))) => m,
        (true, None | Some(Value::Null)) | (false, _) => Map::new(),
        (true, Some(other)) => {
            return Err(RestError::BadRequest(format!(
                "the request body must be a JSON object; got {}",
                kind(&other)
            )))
        }
    };
    for (name, value) in params {
        args.insert(name.to_owned(), json!(value));
    }
    for p in spec.query {
        match (query.iter().find(|(n, _)| n == p.name), p.kind) {
            (Some((_, v)), QueryKind::Text) => {
                args.insert(p.name.to_owned(), json!(v));
            }
            (Some((_, v)), QueryKind::Number) => {
                let n = v.parse::<u64>().map_err(|_| {
                    RestError::BadRequest(format!(
                        "query parameter `{}` must be a whole number; got `{v}`",
                        p.name
                    ))
                })?;
                args.insert(p.name.to_owned(), json!(n));
            }
            (Some((_, v)), QueryKind::List) => {
                let items: Vec<&str> = v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                args.insert(p.name.to_owned(), json!(items));
            }
            (Some((_, v)), QueryKind::Flag) => {
                let b = match v.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(RestError::BadRequest(format!(
                            "query parameter `{}` must be true or false; got `{v}`",
                            p.name
                        )))
                    }
                };
                args.insert(p.name.to_owned(), json!(b));
            }
            (None, _) if p.required => {
                return Err(RestError::BadRequest(format!(
                    "query parameter `{}` is required",
                    p.name
                )))
            }
            (None, _) => {}
        }
    }
    match spec.runs {
        Runs::Op(name) => Ok(Call::Op(Op::parse(name, Value::Object(args))?)),
        Runs::Stats => Ok(Call::Stats),
        Runs::Conflicts => Ok(Call::Conflicts),
        Runs::Upload => Ok(Call::Upload {
            path: args
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            fence: args.get("fence").and_then(Value::as_u64),
        }),
        Runs::Download => Ok(Call::Download {
            path: args
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            hash: args.get("hash").and_then(Value::as_str).map(str::to_owned),
        }),
        Runs::Audit => {
            let limit = args.get("limit").and_then(Value::as_u64).unwrap_or(100);
            if limit == 0 || limit > MAX_PAGE {
                return Err(RestError::BadRequest(format!(
                    "query parameter `limit` must be 1 to {MAX_PAGE}; got {limit}"
                )));
            }
            Ok(Call::Audit {
                after: args.get("after").and_then(Value::as_u64).unwrap_or(0),
                limit,
            })
        }
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
