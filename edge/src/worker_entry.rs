//! The stateless Worker: route, then hand room traffic to the room's Durable Object.

use worker::{event, Context, Env, Request, Response, Result};

use crate::error::EdgeError;
use crate::route::{route, Route};

/// Binding name of the room Durable Object namespace (see `wrangler.toml`).
pub const ROOMS_BINDING: &str = "ROOMS";

pub fn error_response(err: &EdgeError) -> Result<Response> {
    Ok(Response::from_json(&err.body())?.with_status(err.status_code()))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    console_error_panic_hook::set_once();
    let path = req.path();
    match route(req.method().as_ref(), &path) {
        Ok(Route::Health) => Response::from_json(&serde_json::json!({
            "ok": true,
            "service": "confab-edge",
            "version": env!("CARGO_PKG_VERSION"),
        })),
        Ok(Route::Room(name)) => {
            let upgrade = req.headers().get("Upgrade")?.unwrap_or_default();
            if !upgrade.eq_ignore_ascii_case("websocket") {
                return error_response(&EdgeError::UpgradeRequired(path));
            }
            let namespace = env.durable_object(ROOMS_BINDING)?;
            let stub = namespace.id_from_name(&name)?.get_stub()?;
            stub.fetch_with_request(req).await
        }
        Ok(Route::Conflicts(name) | Route::Stats(name)) => {
            let namespace = env.durable_object(ROOMS_BINDING)?;
            let stub = namespace.id_from_name(&name)?.get_stub()?;
            stub.fetch_with_request(req).await
        }
        Err(err) => error_response(&err),
    }
}
