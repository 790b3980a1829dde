//! # confab-core
//!
//! The sans-IO heart of Confab. Everything that decides *what happens* in a room lives
//! here and is tested with plain `cargo test`:
//!
//! - [`model`]: the room document on `yrs` — conversations, messages and shared
//!   documents, with UTF-16 offsets so indices match JavaScript strings and Yjs.
//! - [`protocol`]: decoding and encoding of y-sync frames (sync step 1/2, update,
//!   awareness) plus Confab's own message types. Decoding never panics.
//! - [`room`]: the server side of a room: takes frames from connections, returns the
//!   frames to send and a dirty signal for persistence.
//! - [`update_scan`] and [`gate`]: what an update holds, read from its bytes before yrs
//!   sees it, and whether its sender may make it (client ids, roles, authorship,
//!   structure); [`limits`]: what one connection, participant and room may use.
//! - [`session`]: the client side a browser or agent drives.
//! - [`store`]: the storage trait and compaction policy the edge implements over SQLite.
//! - [`backoff`]: reconnect delays and the connection state a client reports.
//! - [`auth`] and [`origin`]: who may use a room: tokens and roles, and which web
//!   pages may reach the server.
//!
//! Core owns no clock and no randomness: every call that needs the time takes `now_ms`.
//!
//! ```
//! use confab_core::{client::session::Session, doc::Participant, room::Room};
//!
//! # fn main() -> confab_core::Result<()> {
//! let mut room = Room::new(0);
//! let mut alice = Session::new(1, Participant::person("alice", "Alice"), 0);
//! let conn = 7;
//! // The room greets the connection with its sync step 1; alice opens with hers and
//! // answers the room's.
//! let greeting = room.connect(conn, false);
//! let mut to_room = alice.handshake();
//! for o in greeting {
//!     to_room.extend(alice.receive(&o.frame, 0)?.replies);
//! }
//! // Local edits apply at once and queue their updates.
//! let id = alice.doc_mut().create_document(Some("notes"), "Notes", 0)?;
//! alice.doc_mut().insert_text(&id, 0, "hello")?;
//! to_room.extend(alice.drain_outgoing());
//! for frame in to_room {
//!     room.receive(conn, &frame, 0)?;
//! }
//! assert_eq!(room.document_text("notes").as_deref(), Some("hello"));
//! # Ok(())
//! # }
//! ```

pub mod authority;
pub mod client;
pub mod clock;
pub mod conflict;
pub mod doc;
pub mod error;
pub mod model;
mod names;
pub mod protocol;
pub mod room;

pub use error::{Error, Result};
