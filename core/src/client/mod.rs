//! The client side a browser or agent drives: the [`session`] (the local replica, the
//! outbox with numbering and acks, conflict and presence notices) and the connection
//! state machine with its reconnect policy ([`connection`]).

pub mod connection;
pub mod session;
