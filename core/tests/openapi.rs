//! The OpenAPI document (`edge/openapi.json`) against the code that serves it: the same
//! routes as [`ROUTES`], each running the documented operation with the documented
//! query and path parameters, and every documented request body accepted by the
//! operation's own argument parser — a required property missing is refused, an
//! optional one missing is not. A route or field added on one side only fails here.

use std::collections::{BTreeMap, BTreeSet};

use confab_core::authority::rest::{call, Call, QueryKind, Runs, ROUTES};
use serde_json::{json, Map, Value};

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../edge/openapi.json");
    let text = std::fs::read_to_string(path).expect("edge/openapi.json is readable");
    serde_json::from_str(&text).expect("edge/openapi.json is JSON")
}

/// Follow a local `$ref`.
fn deref<'a>(spec: &'a Value, node: &'a Value) -> &'a Value {
    match node["$ref"].as_str() {
        Some(r) => {
            let path = r.strip_prefix("#/").expect("a local reference");
            let target = path.split('/').fold(spec, |n, key| &n[key]);
            deref(spec, target)
        }
        None => node,
    }
}

/// A value the schema allows, as simple as it gets.
fn sample(spec: &Value, schema: &Value) -> Value {
    let schema = deref(spec, schema);
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = schema[key]
            .as_array()
            .and_then(|o| o.iter().find(|s| deref(spec, s)["type"] != "null"))
        {
            return sample(spec, first);
        }
    }
    let ty = match &schema["type"] {
        Value::Array(types) => types
            .iter()
            .find(|t| *t != "null")
            .cloned()
            .unwrap_or(Value::Null),
        other => other.clone(),
    };
    match ty.as_str() {
        Some("string") => json!("x"),
        Some("integer") | Some("number") => json!(schema["minimum"].as_u64().unwrap_or(1)),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        Some("object") => json!({}),
        _ => Value::Null,
    }
}

/// The documented routes below `/rooms/{room}`: (method, path) → operation.
fn documented(spec: &Value) -> BTreeMap<(String, String), &Value> {
    let mut out = BTreeMap::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        let Some(rest) = path.strip_prefix("/rooms/{room}") else {
            continue;
        };
        for (method, op) in item.as_object().expect("a path item") {
            if method == "parameters" {
                continue;
            }
            let rest = rest.trim_start_matches('/').to_owned();
            out.insert((method.to_uppercase(), rest), op);
        }
    }
    out
}

fn parameters<'a>(spec: &'a Value, op: &'a Value, place: &str) -> Vec<&'a Value> {
    op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| deref(spec, p))
                .filter(|p| p["in"] == place && p["name"] != "room")
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_document_lists_exactly_the_routes_the_room_serves() {
    let spec = spec();
    let documented = documented(&spec);
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let listed: BTreeSet<(String, String)> = documented.keys().cloned().collect();
    assert_eq!(listed, served, "documented routes = served routes");
    assert!(served.len() >= 30, "{} routes", served.len());
    for route in ROUTES {
        let op = documented[&(route.method.to_owned(), route.path.to_owned())];
        let runs = op["x-confab-operation"].as_str();
        let expected = match route.runs {
            Runs::Op(name) => Some(name),
            Runs::Audit | Runs::Stats | Runs::Conflicts | Runs::Upload | Runs::Download => None,
        };
        assert_eq!(runs, expected, "{} {} runs", route.method, route.path);
        let query: BTreeMap<&str, bool> = parameters(&spec, op, "query")
            .into_iter()
            .map(|p| (p["name"].as_str().expect("a name"), p["required"] == true))
            .collect();
        let served_query: BTreeMap<&str, bool> =
            route.query.iter().map(|q| (q.name, q.required)).collect();
        assert_eq!(query, served_query, "{} {} query", route.method, route.path);
        let path_params: BTreeSet<&str> = parameters(&spec, op, "path")
            .into_iter()
            .map(|p| p["name"].as_str().expect("a name"))
            .collect();
        let served_params: BTreeSet<&str> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        assert_eq!(
            path_params, served_params,
            "{} {} path",
            route.method, route.path
        );
        assert_eq!(
            op.get("requestBody").is_some(),
            route.body || route.runs == Runs::Upload,
            "{} {}: a body is documented exactly when the route reads one",
            route.method,
            route.path
        );
    }
}

#[test]
fn every_documented_request_body_is_what_the_operation_parses() {
    let spec = spec();
    let documented = documented(&spec);
    let mut checked = 0;
    for route in ROUTES {
        let Runs::Op(name) = route.runs else { continue };
        let op = documented[&(route.method.to_owned(), route.path.to_owned())];
        let segs: Vec<String> = route
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.starts_with('{') {
                    "p1".to_owned()
                } else {
                    s.to_owned()
                }
            })
            .collect();
        let query: Vec<(String, String)> = route
            .query
            .iter()
            .map(|q| {
                let v = match q.kind {
                    QueryKind::Text => "x",
                    QueryKind::Number => "1",
                    QueryKind::Flag => "true",
                    QueryKind::List => "document,message",
                };
                (q.name.to_owned(), v.to_owned())
            })
            .collect();
        let parse = |body: Option<Value>| call(route.method, &segs, &query, body);
        let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema") else {
            let parsed = parse(None).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                matches!(parsed, Call::Op(ref o) if o.name() == name),
                "{name}"
            );
            continue;
        };
        let schema = deref(&spec, schema);
        assert_eq!(
            schema["additionalProperties"], false,
            "{name}: unknown fields refused"
        );
        let properties = schema["properties"].as_object().expect("properties");
        let required: BTreeSet<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let full: Map<String, Value> = properties
            .iter()
            .map(|(k, s)| (k.clone(), sample(&spec, s)))
            .collect();
        let parsed = parse(Some(Value::Object(full.clone())))
            .unwrap_or_else(|e| panic!("{name}: every documented property is accepted: {e}"));
        assert!(
            matches!(parsed, Call::Op(ref o) if o.name() == name),
            "{name}"
        );
        for key in properties.keys() {
            let mut without = full.clone();
            without.remove(key);
            let answer = parse(Some(Value::Object(without)));
            if required.contains(key.as_str()) {
                let err = answer.expect_err(&format!("{name}: `{key}` is required"));
                assert!(err.to_string().contains(key.as_str()), "{name}: {err}");
            } else {
                answer.unwrap_or_else(|e| panic!("{name}: `{key}` is optional: {e}"));
            }
        }
        let mut extra = full.clone();
        extra.insert("undocumented".into(), json!(1));
        assert!(
            parse(Some(Value::Object(extra))).is_err(),
            "{name}: an undocumented field is refused"
        );
        checked += 1;
    }
    assert!(checked >= 15, "{checked} request bodies checked");
}
