//! The client side a browser or agent drives: the [`session`] (the local replica, the
//! outbox with numbering and acks, conflict and presence notices) and the reconnect
//! policy ([`backoff`]).

pub mod backoff;
pub mod session;
