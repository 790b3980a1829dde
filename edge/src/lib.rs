//! # confab-edge
//!
//! Confab's Cloudflare Worker. A stateless router sends `GET /health` to a JSON answer
//! and `/rooms/<room>` WebSocket upgrades to one Durable Object per room name
//! ([`room_object`]), which relays frames between the room's sockets and persists the
//! room in its SQLite storage. `/spaces/<space>` goes to one object per team space
//! (`space_object`: its room directory) and `/users/<user>/inbox` to one per person
//! (`inbox_object`: their notifications). Every decision is made by `confab-core`; this crate is
//! the platform glue. The demo site is served from static assets by the same Worker.
//!
//! The Worker glue only exists for `wasm32`; the pure parts ([`commit`], [`config`],
//! [`error`], [`identity`]) build and test natively. Routes and the REST API's mapping
//! onto operations are core's (`confab_core::authority::rest`).

pub mod commit;
pub mod config;
pub mod error;
pub mod identity;

#[cfg(target_arch = "wasm32")]
mod fanout_object;
#[cfg(target_arch = "wasm32")]
mod inbox_object;
#[cfg(target_arch = "wasm32")]
mod objects;
#[cfg(target_arch = "wasm32")]
mod room_object;
#[cfg(target_arch = "wasm32")]
mod search_index;
#[cfg(target_arch = "wasm32")]
mod space_object;
#[cfg(target_arch = "wasm32")]
mod sql_store;
#[cfg(target_arch = "wasm32")]
mod worker_entry;
