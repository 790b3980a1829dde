//! The REST API: each route maps onto one operation of the room (the same operations a
//! socket sends as requests), kept pure so the mapping is tested natively. The
//! OpenAPI document (`edge/openapi.json`, served at `/openapi.json`) describes these
//! routes; the edge suite checks the server against it.

use serde_json::{json, Map, Value};

use crate::error::EdgeError;

/// What a REST request asks the room for.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// Run an operation with these arguments.
    Op(&'static str, Value),
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
) -> Result<Call, EdgeError> {
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let not_found = || EdgeError::NotFound {
        method: method.to_owned(),
        path: format!("/rooms/<room>/{}", rest.join("/")),
    };
    let body_obj = |extra: &[(&str, Value)]| -> Result<Value, EdgeError> {
        let mut map = match body.clone() {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(EdgeError::BadRequest(format!(
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
    let num = |k: &str| -> Result<Option<u64>, EdgeError> {
        q(k).map(|v| {
            v.parse::<u64>().map_err(|_| {
                EdgeError::BadRequest(format!(
                    "query parameter `{k}` must be a whole number; got `{v}`"
                ))
            })
        })
        .transpose()
    };
    let segs: Vec<&str> = rest.iter().map(String::as_str).collect();
    let op = |name: &'static str, args: Value| Ok(Call::Op(name, args));
    match (method, segs.as_slice()) {
        ("GET", []) => op("room.summary", json!({})),
        ("GET", ["stats"]) => Ok(Call::Stats),
        ("GET", ["conflicts"]) => Ok(Call::Conflicts),
        ("GET", ["audit"]) => {
            let limit = num("limit")?.unwrap_or(100);
            if limit == 0 || limit > MAX_PAGE {
                return Err(EdgeError::BadRequest(format!(
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
                EdgeError::BadRequest("query parameter `resource` is required".into())
            })?;
            let fence = num("fence")?.ok_or_else(|| {
                EdgeError::BadRequest("query parameter `fence` is required".into())
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
pub fn parse_body(bytes: &[u8], max: usize) -> Result<Option<Value>, EdgeError> {
    if bytes.len() > max {
        return Err(EdgeError::TooLarge(format!(
            "the request body is {} bytes; the limit is {max}",
            bytes.len()
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| EdgeError::BadRequest(format!("the request body is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            Call::Op("activity.complete", json!({"id": "a1", "result": "ok"}))
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
            Call::Op("lock.verify", json!({"resource": "doc:a", "fence": 3}))
        );
        assert_eq!(
            call("GET", &[], &[], None).unwrap(),
            Call::Op("room.summary", json!({}))
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
            call("PATCH", &segs("locks"), &[], None)
                .unwrap_err()
                .status_code(),
            404
        );
        assert!(parse_body(b"{", 10)
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
        assert_eq!(parse_body(b"{}", 1).unwrap_err().status_code(), 413);
        assert_eq!(parse_body(b"  ", 10).unwrap(), None);
    }
}
