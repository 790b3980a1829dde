//! Request routing, kept pure so it is tested natively.

use crate::error::EdgeError;

/// Longest room name accepted, in bytes.
pub const MAX_ROOM_NAME: usize = 128;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /health`.
    Health,
    /// `/rooms/<room>`: the room's WebSocket.
    Room(String),
    /// `GET /rooms/<room>/conflicts`: the conflicts the room's authority sees.
    Conflicts(String),
    /// `GET /rooms/<room>/stats`: the room's size, connections and storage.
    Stats(String),
}

/// Route a request by method and path (without the query).
pub fn route(method: &str, path: &str) -> Result<Route, EdgeError> {
    let not_found = || EdgeError::NotFound {
        method: method.to_owned(),
        path: path.to_owned(),
    };
    if path == "/health" && method == "GET" {
        return Ok(Route::Health);
    }
    if let Some(raw) = path.strip_prefix("/rooms/") {
        if method != "GET" {
            return Err(not_found());
        }
        // Room names never contain `/` (see `room_name`), so this suffix is unambiguous.
        if let Some(raw) = raw.strip_suffix("/conflicts") {
            return room_name(raw).map(Route::Conflicts);
        }
        if let Some(raw) = raw.strip_suffix("/stats") {
            return room_name(raw).map(Route::Stats);
        }
        return room_name(raw).map(Route::Room);
    }
    Err(not_found())
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
            Route::Conflicts("team chat".into())
        );
        assert_eq!(
            route("GET", "/rooms/r/stats").unwrap(),
            Route::Stats("r".into())
        );
        assert_eq!(route("POST", "/health").unwrap_err().status_code(), 404);
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
