//! # confab-wasm
//!
//! WebAssembly bindings of Confab for browsers and Node. [`Room`] joins a room on a
//! Confab edge over a WebSocket, applies local edits at once, merges remote ones,
//! reconnects with backoff and reports its connection state. Every decision is made by
//! `confab-core`; this crate is glue: sockets, timers and JavaScript values.
//!
//! - [`room`]: the `#[wasm_bindgen]` methods of [`Room`], one file per feature;
//! - `transport`: the socket, the retry and watchdog timers, the frame flow;
//! - `events`: what the room reports to its JavaScript listener;
//! - `options`: the shapes JavaScript passes in;
//! - `errors`: every error that reaches JavaScript, with a stable `code`;
//! - `types`: the TypeScript declarations of the values that cross the boundary.

// The core types the glue translates, imported once for every module.
pub(crate) use confab_core::authority::token::Role as AccessRole;
pub(crate) use confab_core::client::connection::{
    Backoff, ConnectionState, Heartbeat, Liveness, Next, Reconnect, SaveState,
};
pub(crate) use confab_core::client::session::Session;
pub(crate) use confab_core::conflict::{Choice, Granularity, StalePolicy};
pub(crate) use confab_core::doc::{Participant, ParticipantKind};
pub(crate) use confab_core::model::context::{ContextDraft, ContextEventKind, ContextKind};
pub(crate) use confab_core::model::view::ViewPatch;
pub(crate) use confab_core::model::{MergeSummary, Role};
pub(crate) use confab_core::protocol::close::{AfterClose, CloseCode};

mod errors;
mod events;
mod options;
pub mod room;
mod transport;
mod types;

pub use room::Room;
