//! Request routing, kept pure so it is tested natively.

use crate::error::EdgeError;

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
    /// `/rooms/<room>/<rest…>`: the room's REST API (see [`crate::rest`]).
    Api {
        /// The room.
        room: String,
        /// The path below the room, split on `/` and percent-decoded.
        rest: Vec<String>,
    },
}

/// Route a request by method and path (without the query).
pub fn route(method: &str, path: &str) -> Result<Route, EdgeError> {
    let not_found = || EdgeError::NotFound {
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
                EdgeError::BadRequest(format!("`{s}` is not valid percent-encoded UTF-8"))
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
pub fn room_name(raw: &str) -> Result<String, EdgeError> {
    let name = percent_decode(raw).ok_or_else(|| {
        EdgeError::InvalidRoom(format!("`{raw}` is not valid percent-encoded UTF-8"))
    })?;
    if name.is_empty() {
        return Err(EdgeError::InvalidRoom("the name is empty".into()));
    }
    if name.len() > MAX_ROOM_NAME {
        return Err(EdgeError::InvalidRoom(format!(
            "the name is {} bytes long; the limit is {MAX_ROOM_NAME}",
            name.len()
        )));
    }
    if name.chars().any(|c| c.is_control() || c == '/') {
        return Err(EdgeError::InvalidRoom(format!(
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
        assert_eq!(route("POST", "/health").unwrap_err().status_code(), 404);
        assert_eq!(route("POST", "/rooms/r").unwrap_err().status_code(), 404);
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
}
