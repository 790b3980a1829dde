//! Unit tests.

use super::*;
use crate::authority::token::Role;
use crate::client::session::Session;
use crate::doc::Participant;
use crate::protocol::{decode_frame, Incoming};

/// Deliver every frame between a room and its sessions until nothing moves.
pub(crate) fn pump(
    room: &mut Room,
    clients: &mut [(ConnId, &mut Session)],
    mut pending: Vec<Outgoing>,
) {
    for _ in 0..32 {
        let mut upstream: Vec<(ConnId, Vec<u8>)> = Vec::new();
        for (conn, session) in clients.iter_mut() {
            for o in pending.iter().filter(|o| o.to.includes(*conn)) {
                let got = session
                    .receive(&o.frame, 0)
                    .expect("client accepts room frames");
                upstream.extend(got.replies.into_iter().map(|f| (*conn, f)));
            }
            upstream.extend(session.drain_outgoing().into_iter().map(|f| (*conn, f)));
        }
        pending.clear();
        if upstream.is_empty() {
            return;
        }
        for (conn, frame) in upstream {
            pending.extend(
                room.receive(conn, &frame, 0)
                    .expect("room accepts client frames"),
            );
        }
    }
    panic!("frames kept flowing");
}

/// A room with sessions a (conn 1) and b (conn 2), joined and synced.
fn two_joined() -> (Room, Session, Session) {
    let mut room = Room::new(0);
    let mut a = Session::new(1, Participant::person("a", "A"), 0);
    let mut b = Session::new(2, Participant::person("b", "B"), 0);
    let mut pending = join(&mut room, 1, &mut a);
    pending.extend(join(&mut room, 2, &mut b));
    pump(&mut room, &mut [(1, &mut a), (2, &mut b)], pending);
    (room, a, b)
}

fn join(room: &mut Room, conn: ConnId, session: &mut Session) -> Vec<Outgoing> {
    let mut out = room.connect(conn, true);
    for frame in session.handshake() {
        out.extend(room.receive(conn, &frame, 0).unwrap());
    }
    out
}

#[test]
fn two_sessions_converge_through_the_room() -> Result<()> {
    let (mut room, mut a, mut b) = two_joined();
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    a.doc_mut().insert_text("d", 0, "hello")?;
    b.doc_mut().ensure_document("d", "D", 0)?;
    b.doc_mut().insert_text("d", 0, "!")?;
    pump(&mut room, &mut [(1, &mut a), (2, &mut b)], Vec::new());
    let text = a.doc().document_text("d")?;
    assert_eq!(text, b.doc().document_text("d")?);
    assert_eq!(room.document_text("d"), Some(text));
    assert!(room.is_dirty());
    Ok(())
}

#[test]
fn coalesced_updates_go_out_once_per_burst() -> Result<()> {
    let (mut room, mut a, mut b) = two_joined();
    let mut c = Session::new(3, Participant::person("c", "C"), 0);
    let pending = join(&mut room, 3, &mut c);
    pump(&mut room, &mut [(3, &mut c)], pending);
    room.set_coalescing(true);

    // One sender: nothing goes out until the flush, then one frame to the others.
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    a.doc_mut().insert_text("d", 0, "hello")?;
    for frame in a.drain_outgoing() {
        assert!(room.receive(1, &frame, 0)?.is_empty(), "updates wait");
    }
    assert!(room.has_pending_relay());
    let out = room.flush_relay();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].to, Recipient::Many(vec![2, 3]));
    assert!(!room.has_pending_relay());
    assert!(room.flush_relay().is_empty());
    pump(&mut room, &mut [(2, &mut b), (3, &mut c)], out);
    assert_eq!(c.doc().document_text("d")?, "hello");

    // Two senders in one burst: one merged update for everyone.
    a.doc_mut().insert_text("d", 5, " world")?;
    b.doc_mut().insert_text("d", 0, ">")?;
    for (conn, s) in [(1, &mut a), (2, &mut b)] {
        for frame in s.drain_outgoing() {
            room.receive(conn, &frame, 0)?;
        }
    }
    let out = room.flush_relay();
    assert_eq!(out.len(), 1, "one merged frame");
    assert_eq!(out[0].to, Recipient::Many(vec![1, 2, 3]));
    pump(&mut room, &mut [(1, &mut a), (2, &mut b), (3, &mut c)], out);
    let text = c.doc().document_text("d")?;
    assert_eq!(text, ">hello world");
    assert_eq!(a.doc().document_text("d")?, text);
    assert_eq!(b.doc().document_text("d")?, text);
    assert_eq!(room.document_text("d"), Some(text));
    Ok(())
}

#[test]
fn malformed_frame_changes_nothing() -> Result<()> {
    let mut room = Room::new(0);
    let mut a = Session::new(1, Participant::person("a", "A"), 0);
    let pending = join(&mut room, 1, &mut a);
    pump(&mut room, &mut [(1, &mut a)], pending);
    room.take_unpersisted();
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    let good = a.drain_outgoing().concat();
    let mut frame = good.clone();
    frame.extend_from_slice(&[0, 2, 0xff, 0xff]);
    let before = room.snapshot();
    let err = room.receive(1, &frame, 0).unwrap_err();
    assert!(err.is_protocol_error());
    assert!(err.to_string().starts_with("malformed"), "{err}");
    assert_eq!(room.snapshot(), before);
    assert!(!room.is_dirty());
    room.receive(1, &good, 0)?;
    assert!(room.is_dirty());
    Ok(())
}

#[test]
fn closing_a_socket_removes_only_its_presence() -> Result<()> {
    let (mut room, _a, mut b) = two_joined();
    assert_eq!(room.presence_count(), 2);
    assert_eq!(b.peers().len(), 2);
    let out = room.disconnect(1, 10);
    assert_eq!(room.presence_count(), 1);
    assert_eq!(room.awareness_clients(2), vec![2]);
    for o in out {
        assert!(o.to.includes(2));
        b.receive(&o.frame, 10)?;
    }
    let peers = b.peers();
    assert_eq!(peers.len(), 1);
    assert!(peers[0].is_self);
    Ok(())
}

/// Found by the convergence property test: a live update relayed to a socket before
/// the room answered its sync step 1 can arrive ahead of what it builds on.
#[test]
fn updates_wait_for_the_sync_answer() -> Result<()> {
    let mut room = Room::new(0);
    let mut a = Session::new(1, Participant::person("a", "A"), 0);
    let pending = join(&mut room, 1, &mut a);
    pump(&mut room, &mut [(1, &mut a)], pending);
    // b connects; its sync step 1 has not reached the room yet.
    let greeting = room.connect(2, true);
    assert!(!room.is_synced(2));
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    let mut relayed = Vec::new();
    for frame in a.drain_outgoing() {
        relayed.extend(room.receive(1, &frame, 0)?);
    }
    assert!(
        relayed.iter().all(|o| !o.to.includes(2)),
        "nothing relayed to b yet"
    );
    // b's step 1 arrives: the answer carries the update.
    let mut b = Session::new(2, Participant::person("b", "B"), 0);
    let mut out = greeting;
    for frame in b.handshake() {
        out.extend(room.receive(2, &frame, 0)?);
    }
    assert!(room.is_synced(2));
    pump(&mut room, &mut [(2, &mut b)], out);
    assert_eq!(b.doc().documents().len(), 1);
    // From now on b gets live updates.
    a.doc_mut().insert_text("d", 0, "live")?;
    let mut relayed = Vec::new();
    for frame in a.drain_outgoing() {
        relayed.extend(room.receive(1, &frame, 0)?);
    }
    assert!(relayed.iter().any(|o| o.to.includes(2)));
    Ok(())
}

#[test]
fn a_session_holds_updates_until_it_answers_the_rooms_step1() -> Result<()> {
    let mut room = Room::new(0);
    let mut a = Session::new(1, Participant::person("a", "A"), 0);
    let greeting = room.connect(1, true);
    let hello = a.handshake();
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    a.doc_mut().insert_text("d", 0, "offline")?;
    assert!(
        a.drain_outgoing()
            .iter()
            .all(|f| f[0] != protocol::MSG_SYNC),
        "no update before the answer"
    );
    let mut out = Vec::new();
    for frame in hello {
        out.extend(room.receive(1, &frame, 0)?);
    }
    out.extend(greeting);
    pump(&mut room, &mut [(1, &mut a)], out);
    assert_eq!(
        room.document_text("d").as_deref(),
        Some("offline"),
        "the answer carried it"
    );
    Ok(())
}

#[test]
fn a_restored_room_asks_for_presence_and_forwarders_claim_nothing() -> Result<()> {
    let (room, mut a, mut b) = two_joined();
    // The object hibernates: the room is rebuilt from storage and attachments.
    let mut restored = Room::load([room.snapshot()], Vec::<Vec<u8>>::new(), 0)?;
    restored.restore_connection(
        1,
        true,
        true,
        room.awareness_clients(1),
        Actor::anonymous(),
        0,
    );
    restored.restore_connection(
        2,
        true,
        true,
        room.awareness_clients(2),
        Actor::anonymous(),
        0,
    );
    assert_eq!(restored.presence_count(), 0, "presence lived in memory");
    let ask = restored.after_restore();
    assert_eq!(ask.len(), 1);
    // a answers with its own state; a forwarder answering with everyone's states
    // (as y-websocket does) must not take over b's presence.
    let everyone = {
        let reply = a.receive(&ask[0].frame, 0)?.replies;
        reply.concat()
    };
    let b_state = b.receive(&ask[0].frame, 0)?.replies.concat();
    restored.receive(2, &b_state, 0)?;
    restored.receive(1, &everyone, 0)?;
    let forwarded = protocol::awareness(a_and_b_states(&a, &b));
    restored.receive(1, &forwarded, 0)?;
    assert_eq!(restored.presence_count(), 2);
    assert_eq!(restored.awareness_clients(1), vec![1]);
    assert_eq!(restored.awareness_clients(2), vec![2]);
    // Closing a removes only a.
    restored.disconnect(1, 1);
    assert_eq!(restored.presence_count(), 1);
    Ok(())
}

/// An awareness update carrying both sessions' current states, as a forwarder sends.
fn a_and_b_states(a: &Session, b: &Session) -> yrs::sync::AwarenessUpdate {
    use yrs::updates::decoder::Decode;
    let mut clients = std::collections::HashMap::new();
    for s in [a, b] {
        let update = yrs::sync::AwarenessUpdate::decode_v1(&s.presence_snapshot()).expect("valid");
        clients.extend(update.clients);
    }
    yrs::sync::AwarenessUpdate { clients }
}

#[test]
fn stock_clients_get_no_confab_messages() {
    let mut room = Room::new(5);
    let out = room.connect(1, false);
    assert!(out.iter().all(|o| o.frame[0] != protocol::MSG_CONFAB_HELLO));
    let out = room.connect(2, true);
    assert_eq!(out[0].frame[0], protocol::MSG_CONFAB_HELLO);
}

#[test]
fn clients_may_not_send_hello() {
    let mut room = Room::new(0);
    room.connect(1, true);
    let err = room
        .receive(
            1,
            &protocol::hello(Hello {
                session: 1,
                server_time_ms: 0,
            }),
            0,
        )
        .unwrap_err();
    assert_eq!(err, Error::UnsupportedMessage(protocol::MSG_CONFAB_HELLO));
}

pub(super) fn actor(id: &str, role: Role) -> Actor {
    Actor {
        id: id.into(),
        name: id.to_uppercase(),
        kind: crate::doc::ParticipantKind::Person,
        role,
        guest: false,
    }
}

/// The error the room answers the first refused frame of `frames` with.
pub(super) fn first_refusal(room: &mut Room, conn: ConnId, frames: &[Vec<u8>]) -> Error {
    frames
        .iter()
        .find_map(|f| room.receive(conn, f, 0).err())
        .expect("refused")
}

/// A room with an owner session (conn 1) that made a document and a message, and a
/// second session (conn 2) joined as `who`.
pub(super) fn room_with(who: Actor) -> (Room, Session, Session, String) {
    let mut room = Room::new(0);
    let mut owner = Session::new(1, Participant::person("o", "O"), 0);
    let mut other = Session::new(2, Participant::person(&who.id, &who.name), 0);
    let mut pending = room.connect_as(1, true, actor("o", Role::Owner));
    for f in owner.handshake() {
        pending.extend(room.receive(1, &f, 0).unwrap());
    }
    pump(&mut room, &mut [(1, &mut owner)], pending);
    owner
        .doc_mut()
        .create_document(Some("spec"), "Spec", 0)
        .unwrap();
    owner
        .doc_mut()
        .insert_text("spec", 0, "hello world")
        .unwrap();
    owner
        .doc_mut()
        .ensure_conversation("main", "Main", &Participant::person("o", "O"), 0)
        .unwrap();
    let msg = owner
        .doc_mut()
        .post_message(
            "main",
            &Participant::person("o", "O"),
            crate::model::Role::User,
            "hi",
            0,
        )
        .unwrap();
    pump(&mut room, &mut [(1, &mut owner)], Vec::new());
    let mut pending = room.connect_as(2, true, who);
    for f in other.handshake() {
        pending.extend(room.receive(2, &f, 0).unwrap());
    }
    pump(&mut room, &mut [(1, &mut owner), (2, &mut other)], pending);
    room.take_unpersisted();
    (room, owner, other, msg)
}

#[test]
fn a_viewer_syncs_but_its_edits_are_refused_unapplied_and_unrelayed() {
    let (mut room, _owner, mut viewer, _) = room_with(actor("v", Role::Viewer));
    assert!(
        room.is_synced(2),
        "a viewer's (empty) sync step 2 is accepted"
    );
    viewer.doc_mut().insert_text("spec", 0, "X").unwrap();
    let err = first_refusal(&mut room, 2, &viewer.drain_outgoing());
    assert!(err.to_string().contains("v is a viewer"), "{err}");
    assert_eq!(room.document_text("spec").as_deref(), Some("hello world"));
    assert!(!room.is_dirty() && !room.has_pending_relay());
}

#[test]
fn a_reviewer_may_react_but_not_edit() {
    let (mut room, _owner, mut reviewer, msg) = room_with(actor("r", Role::Reviewer));
    reviewer.react(&msg, "+1", 0).unwrap();
    for f in reviewer.drain_outgoing() {
        room.receive(2, &f, 0).expect("a reaction is allowed");
    }
    assert!(room.is_dirty(), "the reaction was applied");
    reviewer.doc_mut().insert_text("spec", 0, "X").unwrap();
    let err = first_refusal(&mut room, 2, &reviewer.drain_outgoing());
    assert!(
        err.to_string().contains("reviewers may react and vote"),
        "{err}"
    );
}

#[test]
fn leases_gate_writes_and_suggestions_wait_for_acceptance() {
    let (mut room, _owner, mut ed, _) = room_with(actor("e", Role::Editor));
    let owner = actor("o", Role::Owner);
    let e = actor("e", Role::Editor);
    room.request(
        &owner,
        "lock.policy",
        json!({"document": "spec", "policy": "refuse"}),
        0,
    )
    .unwrap();
    ed.doc_mut().insert_text("spec", 5, ",").unwrap();
    let frames = ed.drain_outgoing();
    let err = first_refusal(&mut room, 2, &frames);
    assert!(err.to_string().contains("requires a lease"), "{err}");
    assert_eq!(room.document_text("spec").as_deref(), Some("hello world"));
    // With the lease the same update goes through.
    room.request(
        &e,
        "lock.acquire",
        json!({"resource": "doc:spec", "ttlMs": 1000}),
        0,
    )
    .unwrap();
    for f in &frames {
        room.receive(2, f, 10).unwrap();
    }
    assert_eq!(room.document_text("spec").as_deref(), Some("hello, world"));
    // Suggest policy: held, then accepted by the owner.
    room.request(
        &owner,
        "lock.policy",
        json!({"document": "spec", "policy": "suggest"}),
        0,
    )
    .unwrap();
    room.expire_leases(5_000);
    ed.doc_mut().insert_text("spec", 0, ">").unwrap();
    for f in ed.drain_outgoing() {
        room.receive(2, &f, 5_000).unwrap();
    }
    assert_eq!(room.document_text("spec").as_deref(), Some("hello, world"));
    let list = room
        .request(&owner, "suggestion.list", Value::Null, 5_000)
        .unwrap();
    let id = list["suggestions"][0]["id"].as_str().unwrap().to_owned();
    room.request(&owner, "suggestion.accept", json!({"id": id}), 5_000)
        .unwrap();
    assert_eq!(room.document_text("spec").as_deref(), Some(">hello, world"));
    let actions: Vec<String> = room
        .take_events(true)
        .into_iter()
        .map(|e| e.action.as_str().to_owned())
        .collect();
    for want in [
        "lock.policy",
        "lock.acquired",
        "lock.expired",
        "suggestion.created",
        "suggestion.accepted",
        "edit",
    ] {
        assert!(
            actions.iter().any(|a| a == want),
            "{want} missing from {actions:?}"
        );
    }
}

#[test]
fn a_lease_policy_covers_a_documents_rich_text_body_too() {
    let (mut room, _owner, mut ed, _) = room_with(actor("e", Role::Editor));
    let owner = actor("o", Role::Owner);
    room.request(
        &owner,
        "lock.policy",
        json!({"document": "spec", "policy": "refuse"}),
        0,
    )
    .unwrap();
    // What y-prosemirror writes through the Yjs bridge: the body beside the text.
    {
        use yrs::{XmlFragment, XmlTextPrelim};
        let doc = ed.doc().doc().clone();
        let body = doc.get_or_insert_xml_fragment("rich:spec");
        let mut txn = doc.transact_mut();
        body.push_back(&mut txn, XmlTextPrelim::new("draft"));
    }
    let frames = ed.drain_outgoing();
    let err = first_refusal(&mut room, 2, &frames);
    assert!(err.to_string().contains("requires a lease"), "{err}");
}

#[test]
fn updates_are_acknowledged_in_order_and_out_of_order_numbers_refused() {
    let (mut room, mut a, _b) = two_joined();
    for ack in room.take_acks().iter().filter(|o| o.to.includes(1)) {
        a.receive(&ack.frame, 0).unwrap();
    }
    assert_eq!(
        a.unacked(),
        (0, 0),
        "the handshake's answer was acknowledged"
    );
    a.doc_mut().create_document(Some("d"), "D", 0).unwrap();
    let frames = a.drain_outgoing();
    assert_eq!(a.unacked().0, 1);
    for f in &frames {
        room.receive(1, f, 0).unwrap();
    }
    let acks = room.take_acks();
    assert_eq!(acks.len(), 1);
    a.receive(&acks[0].frame, 0).unwrap();
    assert_eq!(a.unacked(), (0, 0));
    // The same numbered frame again is a harmless repeat; an earlier number is out
    // of order.
    room.receive(1, &frames[0], 0).unwrap();
    let mut stale = protocol::seq(1);
    stale.extend(protocol::sync_update(Vec::from([0u8, 0])));
    let err = room.receive(1, &stale, 0).unwrap_err();
    assert!(matches!(err, Error::OutOfOrder(_)), "{err}");
}

#[test]
fn requests_over_the_socket_get_answers_and_raise_events() {
    let (mut room, _a, _b) = two_joined();
    room.take_events(true);
    let frame = protocol::request(
        9,
        "lock.acquire",
        &json!({"resource": "doc:d", "ttlMs": 500}),
    );
    let out = room.receive(1, &frame, 0).unwrap();
    let msgs = decode_frame(&out[0].frame).unwrap();
    assert!(
        matches!(&msgs[0], Incoming::Response { id: 9, body } if body["ok"] == true && body["result"]["lease"]["fence"] == 1)
    );
    let frame = protocol::request(10, "lock.acquire", &json!({"resource": "doc:d"}));
    let out = room.receive(2, &frame, 0).unwrap();
    let msgs = decode_frame(&out[0].frame).unwrap();
    assert!(
        matches!(&msgs[0], Incoming::Response { id: 10, body } if body["error"]["message"].as_str().unwrap().contains("ttlMs"))
    );
    let actions: Vec<String> = room
        .take_events(false)
        .into_iter()
        .map(|e| e.action.as_str().to_owned())
        .collect();
    assert_eq!(actions, ["lock.acquired"]);
}

#[test]
fn limits_refuse_floods_and_big_frames() {
    let (mut room, _a, _b) = two_joined();
    room.set_limits(Limits {
        messages_per_sec: 10,
        burst: 3,
        max_frame_bytes: 64,
        ..Limits::default()
    });
    let query = protocol::encode(&yrs::sync::Message::AwarenessQuery);
    room.connect(5, false);
    room.connect(6, false);
    let results: Vec<bool> = (0..5).map(|_| room.receive(5, &query, 0).is_ok()).collect();
    assert_eq!(results, [true, true, true, false, false]);
    let err = room.receive(6, &[0u8; 65], 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "frame of 65 bytes exceeds the limit of 64 bytes"
    );
}

#[test]
fn posts_and_finished_turns_become_events() {
    let (mut room, mut a, _b) = two_joined();
    room.take_events(true);
    let me = Participant::person("a", "A");
    a.doc_mut()
        .ensure_conversation("main", "Main", &me, 0)
        .unwrap();
    a.doc_mut()
        .post_message("main", &me, crate::model::Role::User, "hello", 0)
        .unwrap();
    pump(&mut room, &mut [(1, &mut a)], Vec::new());
    let out = room
        .request(
            &actor("bot", Role::Editor),
            "message.post",
            json!({"conversation": "main", "text": "hi back"}),
            0,
        )
        .unwrap();
    assert!(out["id"].is_string());
    let actions: Vec<String> = room
        .take_events(true)
        .into_iter()
        .map(|e| e.action.as_str().to_owned())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| *a == "message.posted").count(),
        2,
        "{actions:?}"
    );
    assert!(room.has_pending_relay() || !room.take_pending().is_empty());
    let list = room
        .request(
            &actor("x", Role::Viewer),
            "message.list",
            json!({"conversation": "main"}),
            0,
        )
        .unwrap();
    assert_eq!(list["messages"].as_array().map(Vec::len), Some(2));
}

#[test]
fn a_frame_on_a_connection_never_admitted_is_refused() {
    let mut room = Room::new(0);
    let query = protocol::encode(&yrs::sync::Message::AwarenessQuery);
    let err = room.receive(42, &query, 0).unwrap_err();
    assert_eq!(err, Error::UnknownConnection(42));
    assert!(room.actor(42).is_none(), "no anonymous editor was made up");
    room.connect(42, false);
    assert!(room.receive(42, &query, 0).is_ok());
}

/// A participant's Yjs bridge (a replica under its own client id) whose first change is
/// a pure deletion names its client only in its causal record: the room takes the client
/// as the participant's, for a verified editor and for a development-mode guest alike.
#[test]
fn a_bridged_replica_whose_first_change_is_a_deletion_is_admitted() {
    use yrs::updates::decoder::Decode;
    use yrs::{ReadTxn, Text, Transact};
    for guest in [false, true] {
        let who = Actor {
            guest,
            ..actor("e", Role::Editor)
        };
        let (mut room, _owner, mut editor, _) = room_with(who);
        let replica = yrs::Doc::with_options(yrs::Options {
            offset_kind: yrs::OffsetKind::Utf16,
            ..yrs::Options::with_client_id(yrs::ClientID::new(777))
        });
        let state = editor.encode_state();
        replica
            .transact_mut()
            .apply_update(yrs::Update::decode_v1(&state).unwrap())
            .unwrap();
        let before = replica.transact().state_vector();
        let text = replica.get_or_insert_text(crate::doc::doc_text_name("spec").as_str());
        text.remove_range(&mut replica.transact_mut(), 5, 6);
        let update = replica.transact().encode_diff_v1(&before);
        editor.apply_bridged(&update, 777).unwrap();
        for f in editor.drain_outgoing() {
            room.receive(2, &f, 0)
                .unwrap_or_else(|e| panic!("guest {guest}: {e}"));
        }
        assert_eq!(room.document_text("spec").as_deref(), Some("hello"));
    }
}

mod whole;
