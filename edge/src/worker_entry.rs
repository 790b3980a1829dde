//! The stateless Worker: route, verify the caller's token, then hand room traffic to
//! the room's Durable Object with the verified identity.

use confab_core::protocol::close::CloseCode;
use worker::{
    event, Context, Env, Headers, Method, Request, RequestInit, Response, Result, WebSocketPair,
};

use crate::config::{health, Config};
use crate::error::{truncate_reason, EdgeError};
use crate::identity::{
    authenticate, authenticate_person, space_resource, token_from, with_guest, Identity,
    IDENTITY_HEADER, ROOM_HEADER,
};
use confab_core::authority::rest::{route, Route};

/// Binding name of the room Durable Object namespace (see `wrangler.toml`).
pub const ROOMS_BINDING: &str = "ROOMS";
/// Binding name of the space objects (one per team space).
pub const SPACES_BINDING: &str = "SPACES";
/// Binding name of the inbox objects (one per person).
pub const INBOXES_BINDING: &str = "INBOXES";

/// The REST API's OpenAPI document.
const OPENAPI: &str = include_str!("../openapi.json");

pub fn error_response(err: &EdgeError) -> Result<Response> {
    Ok(Response::from_json(&err.body())?.with_status(err.status_code()))
}

/// Read the configuration from the Worker's variables and secrets.
pub fn config(env: &Env) -> std::result::Result<Config, EdgeError> {
    Config::from_lookup(|name| env.var(name).ok().map(|v| v.to_string()))
}

/// Accept a socket only to close it at once with `code` and `reason`: a browser sees
/// the reason of a close, never the status of a refused upgrade.
pub fn refuse_socket(code: CloseCode, reason: &str) -> Result<Response> {
    let pair = WebSocketPair::new()?;
    pair.server.accept()?;
    pair.server
        .close(Some(code.code()), Some(truncate_reason(reason)))?;
    Response::from_websocket(pair.client)
}

fn is_upgrade(req: &Request) -> Result<bool> {
    Ok(req
        .headers()
        .get("Upgrade")?
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket")))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    console_error_panic_hook::set_once();
    let path = req.path();
    // Which object, under which name, and which credential check.
    let upgrade = is_upgrade(&req)?;
    let (binding, name, check, websocket) = match route(req.method().as_ref(), &path) {
        Ok(Route::Health) => {
            // Not ok while the deployment cannot serve rooms (no secret in production).
            return match health(config(&env)) {
                Ok(report) => Response::from_json(&report),
                Err(err) => error_response(&err),
            };
        }
        Ok(Route::OpenApi) => {
            let mut res = Response::ok(OPENAPI)?;
            res.headers_mut().set("Content-Type", "application/json")?;
            return Ok(res);
        }
        Ok(Route::Room(name)) => (ROOMS_BINDING, name.clone(), Check::Resource(name), upgrade),
        Ok(Route::Api { room, .. }) => (ROOMS_BINDING, room.clone(), Check::Resource(room), false),
        Ok(Route::Space { space, rest }) => (
            SPACES_BINDING,
            space.clone(),
            Check::Resource(space_resource(&space)),
            upgrade && rest.is_empty(),
        ),
        Ok(Route::Inbox { user, rest }) => (
            INBOXES_BINDING,
            user.clone(),
            Check::Person(user),
            upgrade && rest.is_empty(),
        ),
        Err(err) => return error_response(&EdgeError::Rest(err)),
    };
    let url = req.url()?;
    let query: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let origin = req.headers().get("Origin")?;
    let authorization = req.headers().get("Authorization")?;
    let identity = config(&env).and_then(|config| {
        // A page from another origin is refused before its token is looked at.
        config
            .origins
            .check(origin.as_deref(), &url.origin().ascii_serialization())
            .map_err(EdgeError::Origin)?;
        let token = token_from(&query, authorization.as_deref())?;
        let now = worker::Date::now().as_millis();
        match &check {
            Check::Resource(resource) => authenticate(&config, resource, token.as_deref(), now),
            Check::Person(user) => authenticate_person(&config, user, token.as_deref(), now),
        }
    });
    // A tokenless request to a room may name itself (development mode's guests).
    let identity = identity.and_then(|i| {
        if binding == ROOMS_BINDING {
            with_guest(i, &query).map_err(EdgeError::BadRequest)
        } else {
            Ok(i)
        }
    });
    let identity = match identity {
        Ok(identity) => identity,
        Err(EdgeError::BadRequest(reason)) if websocket => {
            return refuse_socket(CloseCode::InvalidData, &reason)
        }
        Err(EdgeError::Token(e)) if websocket => {
            return refuse_socket(e.close_code(), &e.to_string())
        }
        Err(EdgeError::Origin(e)) if websocket => {
            return refuse_socket(e.close_code(), &e.to_string())
        }
        Err(EdgeError::Op(e)) if websocket => {
            return refuse_socket(CloseCode::Forbidden, &e.message)
        }
        Err(err) if websocket => return refuse_socket(CloseCode::Internal, &err.to_string()),
        Err(err) => return error_response(&err),
    };
    // A socket that asks to watch (`?view=<region>`) goes to one of the room's fan-out
    // objects, which serves it read-only from its mirror of the room.
    if binding == ROOMS_BINDING && websocket {
        if let Some((_, asked)) = query.iter().find(|(k, _)| k == "view") {
            let objects = config(&env).map_or(confab_core::room::fanout::DEFAULT_OBJECTS, |c| {
                c.fanout_objects
            });
            // `?view` alone: the data center the viewer reached (where the platform says).
            let colo = req.cf().map(|cf| cf.colo()).unwrap_or_default();
            let region = if asked.is_empty() {
                colo.as_str()
            } else {
                asked.as_str()
            };
            let slot = confab_core::room::fanout::slot(region, objects);
            let object = confab_core::room::fanout::object_name(&name, slot);
            return forward_as(
                req,
                &env,
                crate::fanout_object::FANOUT_BINDING,
                &object,
                &name,
                &identity,
            )
            .await;
        }
    }
    forward(req, &env, binding, &name, &identity).await
}

/// How a request's credential is checked.
enum Check {
    /// A token minted for this resource (a room, or `space:<space>`).
    Resource(String),
    /// Any token of this person.
    Person(String),
}

impl From<worker::Error> for EdgeError {
    fn from(e: worker::Error) -> Self {
        EdgeError::Internal(e.to_string())
    }
}

impl From<EdgeError> for worker::Error {
    fn from(e: EdgeError) -> Self {
        worker::Error::RustError(e.to_string())
    }
}

/// Send the request on to its object (a room, space or inbox) with the verified
/// identity and the object's name (replacing any such headers the caller sent).
async fn forward(
    req: Request,
    env: &Env,
    binding: &str,
    room: &str,
    identity: &Identity,
) -> Result<Response> {
    forward_as(req, env, binding, room, room, identity).await
}

/// [`forward`] to the object named `object`, for room (or space, or inbox) `room`.
async fn forward_as(
    req: Request,
    env: &Env,
    binding: &str,
    object: &str,
    room: &str,
    identity: &Identity,
) -> Result<Response> {
    let headers = Headers::new();
    for (k, v) in req.headers().entries() {
        if !k.eq_ignore_ascii_case(IDENTITY_HEADER) && !k.eq_ignore_ascii_case(ROOM_HEADER) {
            headers.append(&k, &v)?;
        }
    }
    headers.set(IDENTITY_HEADER, &serde_json::to_string(identity)?)?;
    headers.set(
        ROOM_HEADER,
        &js_sys::encode_uri_component(room)
            .as_string()
            .unwrap_or_default(),
    )?;
    let method = req.method();
    let mut init = RequestInit::new();
    init.with_method(method.clone()).with_headers(headers);
    // The body streams through to the object (an upload of many megabytes is never
    // held here, and one cut off midway reaches the object as the error it is).
    if !matches!(method, Method::Get | Method::Head) {
        let raw: &web_sys::Request = req.inner();
        init.with_body(raw.body().map(Into::into));
    }
    let inner = Request::new_with_init(req.url()?.as_ref(), &init)?;
    let namespace = env.durable_object(binding)?;
    let stub = namespace.id_from_name(object)?.get_stub()?;
    stub.fetch_with_request(inner).await
}
