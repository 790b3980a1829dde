//! Wire frames: the y-sync protocol (via `yrs::sync`) plus Confab's own message types.
//!
//! A frame is one WebSocket binary message holding one or more messages, each starting
//! with a varuint type: `0` sync (step 1, step 2, update), `1` awareness, `2` auth,
//! `3` awareness query — exactly what stock `y-websocket` speaks. Confab clients, and
//! only they, also receive Confab message types (see [`MSG_CONFAB_HELLO`]).
//!
//! [`decode_frame`] reads and validates a whole frame before anything is applied, so a
//! frame that fails anywhere changes nothing. It never panics on any input.

pub mod close;
pub mod scan;

use yrs::encoding::read::{Cursor, Read};
use yrs::encoding::write::Write;
use yrs::sync::{AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::{Encode, Encoder, EncoderV1};
use yrs::{StateVector, Update};

use crate::error::{Error, Result};
use crate::protocol::scan::Scan;

/// Largest frame a room accepts from a connection.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// y-sync message type: document sync.
pub const MSG_SYNC: u8 = yrs::sync::protocol::MSG_SYNC;
/// y-sync message type: awareness (presence) update.
pub const MSG_AWARENESS: u8 = yrs::sync::protocol::MSG_AWARENESS;
/// y-sync message type: auth.
pub const MSG_AUTH: u8 = yrs::sync::protocol::MSG_AUTH;
/// y-sync message type: ask for everyone's awareness state.
pub const MSG_QUERY_AWARENESS: u8 = yrs::sync::protocol::MSG_QUERY_AWARENESS;
/// Confab message type: the room greets a Confab client (session id, server time).
pub const MSG_CONFAB_HELLO: u8 = 100;

/// Confab message type: a request to the room's authority (client → room): a request
/// id, an operation name and JSON arguments.
pub const MSG_CONFAB_REQUEST: u8 = 101;
/// Confab message type: the answer to a request (room → client): the request id and
/// JSON `{"ok": true, "result": …}` or `{"ok": false, "error": {"code", "message"}}`.
pub const MSG_CONFAB_RESPONSE: u8 = 102;
/// Confab message type: one event of the room's live feed, as JSON (room → client).
pub const MSG_CONFAB_EVENT: u8 = 103;
/// Confab message type: the sequence number of the updates that follow in the same
/// frame (client → room); the room acknowledges it once they are stored. A frame that
/// holds only the last number sent is the client's heartbeat: the room answers it with
/// an ack at once (nothing is left to store), so a quiet connection is told from a dead
/// one.
pub const MSG_CONFAB_SEQ: u8 = 104;
/// Confab message type: every update up to this sequence number is stored (room →
/// client).
pub const MSG_CONFAB_ACK: u8 = 105;
/// Confab message type: who the connection is in the room, as JSON `{user, name, kind,
/// role, readOnly}` (room → client; again whenever the role changes).
pub const MSG_CONFAB_SESSION: u8 = 106;

/// The room's greeting to a Confab client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    /// The connection's id within the room.
    pub session: u64,
    /// The room's clock when it greeted, in milliseconds since the Unix epoch.
    pub server_time_ms: u64,
}

/// One decoded, validated message.
#[derive(Debug)]
pub enum Incoming {
    /// Sync step 1: the sender's state vector; answer with what it lacks.
    SyncStep1(StateVector),
    /// Sync step 2: the updates the receiver lacked (v1 bytes, scanned; yrs decodes
    /// them only when they are applied, see [`update_of`]).
    SyncStep2(Vec<u8>),
    /// A live document update (v1 bytes, scanned).
    Update(Vec<u8>),
    /// Presence states.
    Awareness(AwarenessUpdate),
    /// A request for every known presence state.
    AwarenessQuery,
    /// y-protocols auth message; `Some(reason)` when permission was denied.
    Auth(Option<String>),
    /// Confab's session greeting.
    Hello(Hello),
    /// A request to the room's authority.
    Request {
        /// Chosen by the client; echoed in the response.
        id: u64,
        /// Operation name (`lock.acquire`, ...).
        op: String,
        /// JSON arguments.
        args: serde_json::Value,
    },
    /// A response to a request (JSON).
    Response {
        /// The request's id.
        id: u64,
        /// `{"ok": …}` JSON.
        body: serde_json::Value,
    },
    /// A live feed event (JSON).
    Event(serde_json::Value),
    /// Sequence number of the updates that follow.
    Seq(u64),
    /// Updates up to this sequence number are stored.
    Ack(u64),
    /// Who this connection is in the room.
    Session(serde_json::Value),
}

impl Incoming {
    /// The message type byte this message travels under.
    pub fn kind(&self) -> u8 {
        match self {
            Incoming::SyncStep1(_) | Incoming::SyncStep2(..) | Incoming::Update(..) => MSG_SYNC,
            Incoming::Awareness(_) => MSG_AWARENESS,
            Incoming::AwarenessQuery => MSG_QUERY_AWARENESS,
            Incoming::Auth(_) => MSG_AUTH,
            Incoming::Hello(_) => MSG_CONFAB_HELLO,
            Incoming::Request { .. } => MSG_CONFAB_REQUEST,
            Incoming::Response { .. } => MSG_CONFAB_RESPONSE,
            Incoming::Event(_) => MSG_CONFAB_EVENT,
            Incoming::Seq(_) => MSG_CONFAB_SEQ,
            Incoming::Ack(_) => MSG_CONFAB_ACK,
            Incoming::Session(_) => MSG_CONFAB_SESSION,
        }
    }
}

/// Decode and validate every message in `frame`.
pub fn decode_frame(frame: &[u8]) -> Result<Vec<Incoming>> {
    decode_frame_scanned(frame, usize::MAX).map(|(messages, _)| messages)
}

/// [`decode_frame`] for a frame from an untrusted peer: every update is scanned (see
/// [`crate::protocol::scan`]) before yrs decodes it, so what yrs would choke on is refused
/// first; the scans come back in the order of the frame's updates. At most
/// `max_messages` messages are read.
pub fn decode_frame_scanned(
    frame: &[u8],
    max_messages: usize,
) -> Result<(Vec<Incoming>, Vec<Scan>)> {
    if frame.is_empty() {
        return Err(Error::EmptyFrame);
    }
    if frame.len() > MAX_FRAME_BYTES {
        return Err(Error::FrameTooLarge {
            size: frame.len(),
            max: MAX_FRAME_BYTES,
        });
    }
    let mut cursor = Cursor::new(frame);
    let (mut out, mut scans) = (Vec::new(), Vec::new());
    while cursor.has_content() {
        if out.len() == max_messages {
            let mut more = 0usize;
            while cursor.has_content() {
                decode_message(&mut cursor, &mut Vec::new())?;
                more += 1;
            }
            return Err(Error::LimitExceeded(format!(
                "a frame of {} messages exceeds the limit of {max_messages} messages per frame",
                out.len() + more
            )));
        }
        out.push(decode_message(&mut cursor, &mut scans)?);
    }
    Ok((out, scans))
}

fn decode_message(cursor: &mut Cursor<'_>, scans: &mut Vec<Scan>) -> Result<Incoming> {
    let tag: u8 = cursor
        .read_var()
        .map_err(|e| Error::malformed("message type", e))?;
    match tag {
        MSG_SYNC => {
            let step: u8 = cursor
                .read_var()
                .map_err(|e| Error::malformed("sync message", e))?;
            let payload = cursor
                .read_buf()
                .map_err(|e| Error::malformed("sync message", e))?;
            match step {
                0 => StateVector::decode_v1(payload)
                    .map(Incoming::SyncStep1)
                    .map_err(|e| Error::malformed("state vector", e)),
                1 => scan_update(payload, scans).map(|()| Incoming::SyncStep2(payload.to_vec())),
                2 => scan_update(payload, scans).map(|()| Incoming::Update(payload.to_vec())),
                other => Err(Error::malformed(
                    "sync message",
                    format!("unknown sync step {other}"),
                )),
            }
        }
        MSG_AWARENESS => {
            let payload = cursor
                .read_buf()
                .map_err(|e| Error::malformed("awareness update", e))?;
            let update = AwarenessUpdate::decode_v1(payload)
                .map_err(|e| Error::malformed("awareness update", e))?;
            for entry in update.clients.values() {
                if serde_json::from_str::<serde::de::IgnoredAny>(&entry.json).is_err() {
                    return Err(Error::malformed(
                        "awareness update",
                        "a client state is not valid JSON",
                    ));
                }
            }
            Ok(Incoming::Awareness(update))
        }
        MSG_AUTH => {
            let denied: u8 = cursor
                .read_var()
                .map_err(|e| Error::malformed("auth message", e))?;
            if denied == yrs::sync::protocol::PERMISSION_DENIED {
                let reason = cursor
                    .read_string()
                    .map_err(|e| Error::malformed("auth message", e))?;
                Ok(Incoming::Auth(Some(reason.to_owned())))
            } else {
                Ok(Incoming::Auth(None))
            }
        }
        MSG_QUERY_AWARENESS => Ok(Incoming::AwarenessQuery),
        MSG_CONFAB_HELLO => {
            let session: u64 = cursor
                .read_var()
                .map_err(|e| Error::malformed("hello", e))?;
            let server_time_ms: u64 = cursor
                .read_var()
                .map_err(|e| Error::malformed("hello", e))?;
            Ok(Incoming::Hello(Hello {
                session,
                server_time_ms,
            }))
        }
        MSG_CONFAB_REQUEST => {
            let id: u64 = cursor
                .read_var()
                .map_err(|e| Error::malformed("request", e))?;
            let op = cursor
                .read_string()
                .map_err(|e| Error::malformed("request", e))?
                .to_owned();
            let args = read_json(cursor, "request")?;
            Ok(Incoming::Request { id, op, args })
        }
        MSG_CONFAB_RESPONSE => {
            let id: u64 = cursor
                .read_var()
                .map_err(|e| Error::malformed("response", e))?;
            let body = read_json(cursor, "response")?;
            Ok(Incoming::Response { id, body })
        }
        MSG_CONFAB_EVENT => read_json(cursor, "event").map(Incoming::Event),
        MSG_CONFAB_SESSION => read_json(cursor, "session").map(Incoming::Session),
        MSG_CONFAB_SEQ => cursor
            .read_var()
            .map(Incoming::Seq)
            .map_err(|e| Error::malformed("sequence number", e)),
        MSG_CONFAB_ACK => cursor
            .read_var()
            .map(Incoming::Ack)
            .map_err(|e| Error::malformed("ack", e)),
        other => Err(Error::UnsupportedMessage(other)),
    }
}

fn read_json(cursor: &mut Cursor<'_>, what: &'static str) -> Result<serde_json::Value> {
    let text = cursor
        .read_string()
        .map_err(|e| Error::malformed(what, e))?;
    serde_json::from_str(text).map_err(|e| Error::malformed(what, format!("invalid JSON: {e}")))
}

fn with_json(tag: u8, head: Option<u64>, json: &serde_json::Value) -> Vec<u8> {
    let mut enc = EncoderV1::new();
    enc.write_var(tag);
    if let Some(h) = head {
        enc.write_var(h);
    }
    enc.write_string(&json.to_string());
    enc.to_vec()
}

/// A request frame.
pub fn request(id: u64, op: &str, args: &serde_json::Value) -> Vec<u8> {
    let mut enc = EncoderV1::new();
    enc.write_var(MSG_CONFAB_REQUEST);
    enc.write_var(id);
    enc.write_string(op);
    enc.write_string(&args.to_string());
    enc.to_vec()
}

/// A response frame.
pub fn response(id: u64, body: &serde_json::Value) -> Vec<u8> {
    with_json(MSG_CONFAB_RESPONSE, Some(id), body)
}

/// A live-feed event frame.
pub fn event(json: &serde_json::Value) -> Vec<u8> {
    with_json(MSG_CONFAB_EVENT, None, json)
}

/// A session frame.
pub fn session(json: &serde_json::Value) -> Vec<u8> {
    with_json(MSG_CONFAB_SESSION, None, json)
}

/// A sequence-number message (prefix it to the update frame it numbers).
pub fn seq(n: u64) -> Vec<u8> {
    let mut enc = EncoderV1::new();
    enc.write_var(MSG_CONFAB_SEQ);
    enc.write_var(n);
    enc.to_vec()
}

/// An ack frame.
pub fn ack(n: u64) -> Vec<u8> {
    let mut enc = EncoderV1::new();
    enc.write_var(MSG_CONFAB_ACK);
    enc.write_var(n);
    enc.to_vec()
}

fn scan_update(payload: &[u8], scans: &mut Vec<Scan>) -> Result<()> {
    // The scanner reads without recursion and bounds what yrs would read recursively
    // (nested values, counts it would reserve memory for): a hostile update is refused
    // before yrs sees it.
    scans.push(crate::protocol::scan::scan_update_v1(payload)?);
    Ok(())
}

/// Decode a scanned update for yrs to apply: the one place yrs reads an update's bytes.
pub fn update_of(raw: &[u8]) -> Result<Update> {
    Update::decode_v1(raw).map_err(|e| Error::malformed("sync update", e))
}

/// Encode one y-sync message as a frame.
pub fn encode(message: &Message) -> Vec<u8> {
    message.encode_v1()
}

/// A sync step 1 frame carrying `sv`.
pub fn sync_step1(sv: StateVector) -> Vec<u8> {
    encode(&Message::Sync(SyncMessage::SyncStep1(sv)))
}

/// A sync step 2 frame carrying `update` (v1 encoding).
pub fn sync_step2(update: Vec<u8>) -> Vec<u8> {
    sync_frame(yrs::sync::protocol::MSG_SYNC_STEP_2, &update)
}

/// A live update frame carrying `update` (v1 encoding).
pub fn sync_update(update: Vec<u8>) -> Vec<u8> {
    sync_frame(yrs::sync::protocol::MSG_SYNC_UPDATE, &update)
}

/// A sync frame of `kind` (step 2 or update) carrying `update`, copied once: what yrs's
/// `Message::Sync` encodes, without taking the update.
pub(crate) fn sync_frame(kind: u8, update: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(update.len() + 12);
    frame.write_var(MSG_SYNC);
    frame.write_var(kind);
    frame.write_buf(update);
    frame
}

/// An awareness frame.
pub fn awareness(update: AwarenessUpdate) -> Vec<u8> {
    encode(&Message::Awareness(update))
}

/// Confab's hello frame.
pub fn hello(hello: Hello) -> Vec<u8> {
    let mut enc = EncoderV1::new();
    enc.write_var(MSG_CONFAB_HELLO);
    enc.write_var(hello.session);
    enc.write_var(hello.server_time_ms);
    enc.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;
    use std::sync::Arc;
    use yrs::sync::awareness::AwarenessUpdateEntry;
    use yrs::{Doc, ReadTxn, Text, Transact};

    fn sample_update() -> Vec<u8> {
        let doc = Doc::with_client_id(7);
        let text = doc.get_or_insert_text("t");
        text.insert(&mut doc.transact_mut(), 0, "hi");
        let txn = doc.transact();
        txn.encode_state_as_update_v1(&StateVector::default())
    }

    #[test]
    fn sync_messages_round_trip() -> Result<()> {
        let update = sample_update();
        let mut sv = StateVector::default();
        sv.set_max(yrs::ClientID::new(7), 2);
        let frame = [
            sync_step1(sv.clone()),
            sync_step2(update.clone()),
            sync_update(update.clone()),
        ]
        .concat();
        let msgs = decode_frame(&frame)?;
        assert_eq!(msgs.len(), 3);
        assert!(matches!(&msgs[0], Incoming::SyncStep1(got) if *got == sv));
        assert!(
            matches!(&msgs[1], Incoming::SyncStep2(raw) if update_of(raw).unwrap().encode_v1() == update && *raw == update)
        );
        assert!(
            matches!(&msgs[2], Incoming::Update(raw) if update_of(raw).unwrap().encode_v1() == update)
        );
        Ok(())
    }

    #[test]
    fn awareness_and_hello_round_trip() -> Result<()> {
        let mut clients = HashMap::new();
        clients.insert(
            yrs::ClientID::new(42),
            AwarenessUpdateEntry {
                clock: 3,
                json: Arc::from(r#"{"user":{"name":"Ada"}}"#),
            },
        );
        let update = AwarenessUpdate { clients };
        let greeting = Hello {
            session: 9,
            server_time_ms: 1_700_000_000_000,
        };
        let frame = [awareness(update.clone()), hello(greeting)].concat();
        let msgs = decode_frame(&frame)?;
        assert!(matches!(&msgs[0], Incoming::Awareness(got) if *got == update));
        assert!(matches!(&msgs[1], Incoming::Hello(got) if *got == greeting));
        Ok(())
    }

    #[test]
    fn bad_frames_are_errors_that_name_the_problem() {
        assert_eq!(decode_frame(&[]).unwrap_err(), Error::EmptyFrame);
        assert_eq!(
            decode_frame(&[42]).unwrap_err(),
            Error::UnsupportedMessage(42)
        );
        let err = decode_frame(&[0, 2, 5, 1, 2]).unwrap_err();
        assert!(err.to_string().contains("malformed sync"), "{err}");
        let err = decode_frame(&[0, 9, 0]).unwrap_err();
        assert!(err.to_string().contains("unknown sync step 9"), "{err}");
        // A valid message followed by a truncated one fails as a whole.
        let mut frame = sync_update(sample_update());
        frame.extend_from_slice(&[0, 2, 200]);
        assert!(decode_frame(&frame).is_err());
        // Awareness whose state is not JSON.
        let mut clients = HashMap::new();
        clients.insert(
            yrs::ClientID::new(1),
            AwarenessUpdateEntry {
                clock: 1,
                json: Arc::from("{not json"),
            },
        );
        let err = decode_frame(&awareness(AwarenessUpdate { clients })).unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
        let big = vec![0u8; MAX_FRAME_BYTES + 1];
        assert!(matches!(
            decode_frame(&big),
            Err(Error::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn confab_messages_round_trip() -> Result<()> {
        let args = serde_json::json!({"resource": "doc:a", "ttlMs": 1000});
        let frame = [
            request(7, "lock.acquire", &args),
            response(7, &serde_json::json!({"ok": true})),
            event(&serde_json::json!({"action": "join"})),
            seq(3),
            sync_update(sample_update()),
            ack(3),
            session(&serde_json::json!({"role": "viewer"})),
        ]
        .concat();
        let msgs = decode_frame(&frame)?;
        assert!(
            matches!(&msgs[0], Incoming::Request { id: 7, op, args: a } if op == "lock.acquire" && *a == args)
        );
        assert!(matches!(&msgs[1], Incoming::Response { id: 7, body } if body["ok"] == true));
        assert!(matches!(&msgs[2], Incoming::Event(e) if e["action"] == "join"));
        assert!(matches!(msgs[3], Incoming::Seq(3)));
        assert!(matches!(msgs[5], Incoming::Ack(3)));
        assert!(matches!(&msgs[6], Incoming::Session(s) if s["role"] == "viewer"));
        let mut bad = request(1, "x", &serde_json::Value::Null);
        bad.truncate(bad.len() - 1);
        let err = decode_frame(&bad).unwrap_err();
        assert!(err.to_string().contains("malformed request"), "{err}");
        Ok(())
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_frame(&bytes);
        }

        #[test]
        fn hello_round_trips(session in any::<u64>(), time in any::<u64>()) {
            let h = Hello { session, server_time_ms: time };
            let msgs = decode_frame(&hello(h)).unwrap();
            prop_assert!(matches!(&msgs[0], Incoming::Hello(got) if *got == h));
        }

        #[test]
        fn mutated_sync_frames_never_panic(flip in 0usize..64, value in any::<u8>()) {
            let mut frame = sync_update(sample_update());
            let i = flip % frame.len();
            frame[i] = value;
            let _ = decode_frame(&frame);
        }
    }
}
