//! Hostile updates and frames, as an attacker sends them (raw Yjs bytes, not the API):
//! each is refused with its own reason, nothing it carries reaches the room, what was
//! acknowledged stays, and the stored room still loads.

use std::collections::HashMap;
use std::sync::Arc;

use confab_core::authority::token::Role;
use confab_core::authority::Actor;
use confab_core::client::session::Session;
use confab_core::doc::{Participant, ParticipantKind};
use confab_core::protocol;
use confab_core::protocol::scan::MAX_CLOCK;
use confab_core::room::limits::Limits;
use confab_core::room::store::{persist, MemoryStore, Policy};
use confab_core::room::{ConnId, Outgoing, Room};
use confab_core::Error;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Doc, Map, MapPrelim, ReadTxn, StateVector, Text, Transact, TransactionMut, Update,
    WriteTxn,
};

fn actor(id: &str, role: Role) -> Actor {
    Actor {
        id: id.into(),
        name: id.to_uppercase(),
        kind: ParticipantKind::Person,
        role,
        guest: false,
    }
}

fn participant(a: &Actor) -> Participant {
    Participant {
        id: a.id.clone(),
        name: a.name.clone(),
        kind: a.kind,
    }
}

/// A room, an owner `o` (conn 1, client 1) who wrote a document, a conversation and a
/// message, and each of `others` joined on conns 2, 3, … with clients 2, 3, ….
struct Scene {
    room: Room,
    sessions: Vec<(ConnId, Session)>,
    message: String,
}

impl Scene {
    fn new(others: &[Actor]) -> Scene {
        Scene::with_limits(others, Limits::default())
    }

    fn with_limits(others: &[Actor], limits: Limits) -> Scene {
        let mut room = Room::new(0);
        room.set_limits(limits);
        let mut scene = Scene {
            room,
            sessions: Vec::new(),
            message: String::new(),
        };
        let owner = actor("o", Role::Owner);
        scene.join(1, owner.clone());
        let o = scene.session(1);
        o.doc_mut()
            .create_document(Some("spec"), "Spec", 0)
            .unwrap();
        o.doc_mut().insert_text("spec", 0, "hello world").unwrap();
        o.doc_mut()
            .ensure_conversation("main", "Main", &participant(&owner), 0)
            .unwrap();
        let message = o
            .doc_mut()
            .post_message(
                "main",
                &participant(&owner),
                confab_core::model::Role::User,
                "hi",
                0,
            )
            .unwrap();
        scene.message = message;
        scene.pump();
        for (i, who) in others.iter().enumerate() {
            scene.join(i as ConnId + 2, who.clone());
        }
        scene
    }

    fn join(&mut self, conn: ConnId, who: Actor) {
        let mut s = Session::new(conn, participant(&who), 0);
        let mut frames: Vec<Outgoing> = self.room.connect_as(conn, true, who);
        for f in s.handshake() {
            frames.extend(self.room.receive(conn, &f, 0).unwrap());
        }
        self.sessions.push((conn, s));
        self.deliver(frames);
        self.pump();
    }

    fn session(&mut self, conn: ConnId) -> &mut Session {
        &mut self
            .sessions
            .iter_mut()
            .find(|(c, _)| *c == conn)
            .unwrap()
            .1
    }

    fn deliver(&mut self, mut frames: Vec<Outgoing>) {
        while !frames.is_empty() {
            let mut next = Vec::new();
            for o in frames {
                for (conn, s) in self.sessions.iter_mut() {
                    if o.to.includes(*conn) {
                        for reply in s.receive(&o.frame, 0).unwrap().replies {
                            next.extend(self.room.receive(*conn, &reply, 0).unwrap());
                        }
                    }
                }
            }
            next.extend(self.room.take_pending());
            frames = next;
        }
    }

    /// Send every session's queued frames until nothing moves.
    fn pump(&mut self) {
        loop {
            let mut frames = Vec::new();
            for (conn, s) in self.sessions.iter_mut() {
                for f in s.drain_outgoing() {
                    frames.extend(self.room.receive(*conn, &f, 0).unwrap());
                }
            }
            frames.extend(self.room.take_pending());
            if frames.is_empty() {
                return;
            }
            self.deliver(frames);
        }
    }

    /// Send `update` from `conn` as a live update frame; the room's error, if refused.
    fn attack(&mut self, conn: ConnId, update: Vec<u8>) -> Result<(), Error> {
        let before = self.room.snapshot();
        let result = self
            .room
            .receive(conn, &protocol::sync_update(update), 0)
            .map(drop);
        if result.is_err() {
            assert_eq!(
                self.room.snapshot(),
                before,
                "a refused update changes nothing"
            );
        }
        result
    }

    /// The room as stored, loaded again.
    fn reload(&mut self) -> Room {
        let mut store = MemoryStore::default();
        self.room.take_unpersisted();
        confab_core::room::store::compact(&mut self.room, &mut store, &Policy::default()).unwrap();
        persist(&mut self.room, &mut store, &Policy::default()).unwrap();
        store.load(0).expect("the stored room loads")
    }
}

/// An update made by a plain yrs doc with client id `client` that already has the
/// room's state, as any Yjs client can make.
fn forge(scene: &Scene, client: u64, change: impl FnOnce(&mut TransactionMut)) -> Vec<u8> {
    let doc = Doc::with_client_id(client);
    let state = scene.room.snapshot();
    doc.transact_mut()
        .apply_update(Update::decode_v1(&state).unwrap())
        .unwrap();
    let sv = doc.transact().state_vector();
    change(&mut doc.transact_mut());
    let diff = doc.transact().encode_diff_v1(&sv);
    diff
}

fn var(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// One GC struct of `len` clocks for `client` from `clock`, and an empty delete set.
fn gc_struct(client: u64, clock: u64, len: u64) -> Vec<u8> {
    let mut u = vec![1, 1];
    var(&mut u, client);
    var(&mut u, clock);
    u.push(0);
    var(&mut u, len);
    u.push(0);
    u
}

fn clock_of(room: &Room, client: u64) -> u32 {
    let state = room.snapshot();
    let update = Update::decode_v1(&state).unwrap();
    update.state_vector().get(&yrs::ClientID::new(client))
}

fn expect_refusal(result: Result<(), Error>, words: &str) {
    let err = result.expect_err("refused");
    assert!(
        err.to_string().contains(words),
        "`{err}` should say `{words}`"
    );
    assert!(err.is_protocol_error(), "{err} closes the socket");
}

#[test]
fn gc_structs_for_the_rooms_own_client_are_refused_and_the_room_still_loads() {
    let viewer = actor("mallory", Role::Viewer);
    let editor = actor("eve", Role::Editor);
    let mut scene = Scene::new(&[viewer, editor]);
    // The 17-byte update of the attack run: client 0 pushed to 2^32 - 3.
    let attack = gc_struct(0, u64::from(clock_of(&scene.room, 0)), (1 << 32) - 3);
    expect_refusal(scene.attack(2, attack.clone()), "clock");
    expect_refusal(scene.attack(3, attack), "clock");
    // Within the clock limit it is still the room's own client.
    let small = gc_struct(0, u64::from(clock_of(&scene.room, 0)), 1000);
    expect_refusal(scene.attack(2, small.clone()), "viewer");
    expect_refusal(scene.attack(3, small), "client id 0 belongs to the room");
    // The room goes on writing for itself, and its stored form loads.
    let server = Actor::server();
    scene
        .room
        .request(
            &server,
            "message.post",
            serde_json::json!({"conversation": "main", "text": "from REST"}),
            0,
        )
        .unwrap();
    let loaded = scene.reload();
    assert_eq!(loaded.document_text("spec").as_deref(), Some("hello world"));
}

#[test]
fn an_editors_client_id_is_hers_alone() {
    let ada = actor("ada", Role::Editor);
    let eve = actor("eve", Role::Editor);
    let mut scene = Scene::new(&[ada, eve]);
    scene
        .session(2)
        .doc_mut()
        .insert_text("spec", 0, "Ada: ")
        .unwrap();
    scene.pump();
    let ada_clock = clock_of(&scene.room, 2);
    assert!(ada_clock > 0);
    // Eve pushes Ada's clock (GC), or writes an item under Ada's client id.
    let gc = gc_struct(2, u64::from(ada_clock), 1 << 20);
    expect_refusal(scene.attack(3, gc), "client id 2 belongs to ada");
    let item = forge(&scene, 2, |txn| {
        txn.get_or_insert_text("doc:spec").insert(txn, 0, "forged ");
    });
    expect_refusal(scene.attack(3, item), "client id 2 belongs to ada");
    // Ada's next edits are applied and stored.
    for i in 0..10 {
        scene
            .session(2)
            .doc_mut()
            .insert_text("spec", 0, &i.to_string())
            .unwrap();
        scene.pump();
    }
    let loaded = scene.reload();
    assert_eq!(
        loaded.document_text("spec").as_deref(),
        Some("9876543210Ada: hello world")
    );
    // Her own clock may grow, never past the limit.
    let own = gc_struct(2, u64::from(clock_of(&scene.room, 2)), u64::from(MAX_CLOCK));
    expect_refusal(scene.attack(2, own), "exceeds the limit");
}

#[test]
fn a_viewer_writes_nothing_not_even_bookkeeping() {
    let mut scene = Scene::new(&[actor("mallory", Role::Viewer)]);
    assert!(
        scene.room.is_synced(2),
        "a viewer's own sync step 2 is accepted"
    );
    let who = |id: &str| {
        let mut m = HashMap::new();
        for (k, v) in [("id", id), ("name", "Mallory"), ("kind", "person")] {
            m.insert(k.to_owned(), Any::from(v));
        }
        Any::Map(Arc::new(m))
    };
    let rewrite = forge(&scene, 99, |txn| {
        txn.get_or_insert_map("clients")
            .insert(txn, "1", who("mallory"));
    });
    expect_refusal(scene.attack(2, rewrite), "mallory is a viewer");
    let own = forge(&scene, 99, |txn| {
        txn.get_or_insert_map("epochs")
            .insert(txn, "99:0", "x".repeat(100_000));
    });
    expect_refusal(scene.attack(2, own), "mallory is a viewer");
}

#[test]
fn attribution_is_recorded_by_the_room_from_the_token() {
    let ada = actor("ada", Role::Editor);
    let eve = actor("eve", Role::Editor);
    let mut scene = Scene::new(&[ada.clone(), eve]);
    scene
        .session(2)
        .doc_mut()
        .insert_text("spec", 0, "A")
        .unwrap();
    scene.pump();
    // The room wrote who client 2 is, from the token's identity.
    let blame = confab_core::doc::RoomDoc::from_doc({
        let doc = Doc::new();
        doc.transact_mut()
            .apply_update(Update::decode_v1(&scene.room.snapshot()).unwrap())
            .unwrap();
        doc
    });
    assert_eq!(blame.participant_for_client(2), Some(participant(&ada)));
    // Eve cannot rename Ada's client, nor name her own after Ada.
    let as_ada = participant(&ada);
    let rename = forge(&scene, 3, |txn| {
        txn.get_or_insert_map("clients")
            .insert(txn, "2", participant_any(&as_ada));
    });
    expect_refusal(scene.attack(3, rename), "eve may not write");
    let own_as_ada = forge(&scene, 33, |txn| {
        txn.get_or_insert_map("clients")
            .insert(txn, "33", participant_any(&as_ada));
    });
    expect_refusal(scene.attack(3, own_as_ada), "eve may not write");
}

fn participant_any(p: &Participant) -> Any {
    let mut m = HashMap::new();
    m.insert("id".to_owned(), Any::from(p.id.as_str()));
    m.insert("name".to_owned(), Any::from(p.name.as_str()));
    m.insert("kind".to_owned(), Any::from(p.kind.as_str()));
    Any::Map(Arc::new(m))
}

#[test]
fn nobody_posts_reacts_or_curates_in_someone_elses_name() {
    let ada = actor("ada", Role::Editor);
    let eve = actor("eve", Role::Editor);
    let rita = actor("rita", Role::Reviewer);
    let mut scene = Scene::new(&[ada.clone(), eve.clone(), rita]);
    // Eve posts a message authored by Ada.
    let as_ada = participant(&ada);
    let post = |author: &Participant| {
        let author = participant_any(author);
        move |txn: &mut TransactionMut| {
            let messages = txn.get_or_insert_map("messages");
            messages.insert(
                txn,
                "m-forged",
                MapPrelim::from_iter([
                    ("conversation", yrs::In::from(Any::from("main"))),
                    ("author", yrs::In::from(author)),
                    ("role", yrs::In::from(Any::from("user"))),
                ]),
            );
        }
    };
    let forged = forge(&scene, 33, post(&as_ada));
    expect_refusal(scene.attack(3, forged), "eve may not write someone else");
    let honest = forge(&scene, 33, post(&participant(&eve)));
    scene.attack(3, honest).expect("her own name is fine");

    // Rita (reviewer) reacts as Ada, or with a blob.
    let message = scene.message.clone();
    let react = |key: String, by: Participant, pad: usize| {
        let message = message.clone();
        move |txn: &mut TransactionMut| {
            let messages = txn.get_or_insert_map("messages");
            let Some(yrs::Out::YMap(m)) = messages.get(txn, &message) else {
                panic!("message exists")
            };
            let Some(yrs::Out::YMap(reactions)) = m.get(txn, "reactions") else {
                panic!("reactions exist")
            };
            let mut r = HashMap::new();
            r.insert("kind".to_owned(), Any::from("+1"));
            r.insert("by".to_owned(), participant_any(&by));
            r.insert("pad".to_owned(), Any::from("x".repeat(pad)));
            reactions.insert(txn, key, Any::Map(Arc::new(r)));
        }
    };
    let rita_p = Participant::person("rita", "RITA");
    let forged = forge(&scene, 44, react("+1:ada".into(), as_ada.clone(), 0));
    expect_refusal(
        scene.attack(4, forged),
        "rita may not write a reaction by someone else",
    );
    let blob = forge(
        &scene,
        44,
        react("+1:rita".into(), rita_p.clone(), 512 * 1024),
    );
    expect_refusal(scene.attack(4, blob), "exceeds the limit");
    let honest = forge(&scene, 44, react("+1:rita".into(), rita_p, 0));
    scene.attack(4, honest).expect("her own reaction is fine");

    // The owner names herself context owner; Eve takes the role or accepts an entry.
    scene
        .session(1)
        .doc_mut()
        .set_context_owner(&participant(&actor("o", Role::Owner)), "o")
        .unwrap();
    scene.pump();
    let takeover = forge(&scene, 33, |txn| {
        txn.get_or_insert_map("roles")
            .insert(txn, "contextOwner", "eve");
    });
    expect_refusal(scene.attack(3, takeover), "only the context owner (o)");
    let draft = confab_core::model::context::ContextDraft {
        kind: confab_core::model::context::ContextKind::Decision,
        text: "ship it".into(),
        tags: vec![],
        refs: vec![],
    };
    let entry = scene
        .session(3)
        .doc_mut()
        .propose_context(&draft, &participant(&eve), 0)
        .unwrap();
    scene.pump();
    let accept = forge(&scene, 33, |txn| {
        let context = txn.get_or_insert_map("context");
        let Some(yrs::Out::YMap(m)) = context.get(txn, &entry) else {
            panic!("entry exists")
        };
        m.insert(txn, "status", "accepted");
    });
    expect_refusal(
        scene.attack(3, accept),
        "only the context owner (o) may curate",
    );
}

#[test]
fn a_deeply_nested_value_is_refused_before_yrs_reads_it() {
    let mut scene = Scene::new(&[actor("eve", Role::Editor)]);
    // An Any array nested 10 000 levels, as a map entry of client 3.
    let mut u = vec![1, 1, 3, 0];
    u.push(0x28); // Any content (8) with a parent_sub (0x20)
    u.push(1); // parent is a root, by name
    var(&mut u, 4);
    u.extend_from_slice(b"deep");
    var(&mut u, 1);
    u.push(b'k');
    u.push(1); // one Any value
    for _ in 0..10_000 {
        u.extend_from_slice(&[117, 1]);
    }
    u.push(126);
    u.push(0);
    expect_refusal(scene.attack(2, u), "nested deeper than 64");
}

#[test]
fn one_frame_gets_one_answer_and_a_bounded_number_of_messages() {
    let mut scene = Scene::new(&[actor("mallory", Role::Viewer)]);
    let step1 = protocol::sync_step1(StateVector::default());
    let flood: Vec<u8> = step1
        .iter()
        .copied()
        .cycle()
        .take(step1.len() * 10_000)
        .collect();
    let err = scene.room.receive(2, &flood, 0).unwrap_err();
    assert!(err.to_string().contains("messages per frame"), "{err}");
    let two: Vec<u8> = step1
        .iter()
        .copied()
        .cycle()
        .take(step1.len() * 2)
        .collect();
    let out = scene.room.receive(2, &two, 0).unwrap();
    // One answer (its updates, the last a sync step 2), not one per ask.
    let step2s = out
        .iter()
        .filter_map(|o| protocol::decode_frame(&o.frame).ok())
        .flatten()
        .filter(|m| matches!(m, protocol::Incoming::SyncStep2(..)))
        .count();
    assert_eq!(step2s, 1, "one whole-room answer for a frame asking twice");
    // Asking over and over soon passes the answer budget, and the room closes it.
    scene.room.set_limits(Limits {
        max_room_bytes: 4096,
        answer_bytes_per_sec: 1,
        ..Limits::default()
    });
    let mut closed = false;
    for _ in 0..100 {
        scene.room.receive(2, &step1, 0).unwrap();
        if let Some(c) = scene.room.take_closures().into_iter().find(|c| c.conn == 2) {
            assert!(c.reason.contains("answer budget"), "{}", c.reason);
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "the answer budget closes a connection that keeps asking"
    );
}

#[test]
fn presence_states_and_ids_are_bounded() {
    let mut scene = Scene::new(&[actor("mallory", Role::Viewer)]);
    let state = |n: usize| format!("{{\"pad\":\"{}\"}}", "x".repeat(n));
    let frame = |entries: Vec<(u64, String)>| {
        let clients = entries
            .into_iter()
            .map(|(id, json)| {
                (
                    yrs::ClientID::new(id),
                    yrs::sync::awareness::AwarenessUpdateEntry {
                        clock: 1,
                        json: json.into(),
                    },
                )
            })
            .collect();
        protocol::awareness(yrs::sync::AwarenessUpdate { clients })
    };
    let err = scene
        .room
        .receive(2, &frame(vec![(500, state(1024 * 1024))]), 0)
        .unwrap_err();
    assert!(err.to_string().contains("presence state"), "{err}");
    let many: Vec<(u64, String)> = (0..100_000).map(|i| (1000 + i, state(1))).collect();
    let err = scene.room.receive(2, &frame(many), 0).unwrap_err();
    assert!(err.to_string().contains("at most 8 client ids"), "{err}");
    scene
        .room
        .receive(2, &frame(vec![(500, state(10))]), 0)
        .expect("a small state is fine");
}

#[test]
fn an_update_the_room_cannot_integrate_is_refused_not_acked() {
    let mut scene = Scene::new(&[actor("eve", Role::Editor)]);
    // Two updates by eve (conn 2) under client 3; only the second is sent, so it has a
    // gap before it.
    let doc = Doc::with_client_id(3);
    doc.transact_mut()
        .apply_update(Update::decode_v1(&scene.room.snapshot()).unwrap())
        .unwrap();
    let text = doc.get_or_insert_text("doc:spec");
    let sv = doc.transact().state_vector();
    text.insert(&mut doc.transact_mut(), 0, "first ");
    let sv2 = doc.transact().state_vector();
    text.insert(&mut doc.transact_mut(), 0, "second ");
    let second = doc.transact().encode_diff_v1(&sv2);
    scene.room.take_acks();
    let mut frame = protocol::seq(1);
    frame.extend(protocol::sync_update(second));
    let err = scene.room.receive(2, &frame, 0).unwrap_err();
    assert!(matches!(err, Error::Unsynced(_)), "{err}");
    assert!(scene.room.take_acks().is_empty(), "nothing acknowledged");
    // Sent in order, both apply.
    let both = doc.transact().encode_diff_v1(&sv);
    scene.attack(2, both).unwrap();
    assert_eq!(
        scene.room.document_text("spec").as_deref(),
        Some("second first hello world")
    );
}

#[test]
fn a_room_filled_to_its_limit_refuses_more_and_loads_again() {
    let eve = actor("eve", Role::Editor);
    let limits = Limits {
        max_room_bytes: 64 * 1024,
        ..Limits::default()
    };
    let mut scene = Scene::with_limits(&[eve], limits);
    let mut refused = None;
    for i in 0..100 {
        scene
            .session(2)
            .doc_mut()
            .insert_text("spec", 0, &"x".repeat(1000))
            .unwrap();
        let frames = scene.session(2).drain_outgoing();
        if let Some(err) = frames
            .iter()
            .find_map(|f| scene.room.receive(2, f, 0).err())
        {
            refused = Some((i, err));
            break;
        }
    }
    let (i, err) = refused.expect("the room fills up");
    assert!(i > 50, "about 64 KiB went in first ({i} KB)");
    assert!(err.to_string().contains("room is full"), "{err}");
    let size = scene.room.size();
    assert!(size.near_limit && size.stored_bytes <= size.max_room_bytes);
    let events = scene.room.take_events(false);
    assert!(events.iter().any(|e| e.action == "room.size-warning"));
    let loaded = scene.reload();
    assert!(loaded.document_text("spec").unwrap().len() > 50_000);
}

#[test]
fn one_participant_cannot_take_every_connection() {
    let limits = Limits {
        max_connections: 20,
        writer_reserve: 5,
        max_connections_per_user: 10,
        ..Limits::default()
    };
    let mut room = Room::new(0);
    room.set_limits(limits);
    let viewer = actor("mallory", Role::Viewer);
    let mut open = 0;
    while room.admit(&viewer).is_ok() {
        room.connect_as(100 + open, true, viewer.clone());
        open += 1;
    }
    assert_eq!(open, 10, "one participant holds at most 10");
    let (_, reason) = room.admit(&viewer).unwrap_err();
    assert!(reason.contains("mallory has 10 connections"), "{reason}");
    for i in 0..5 {
        let v = actor(&format!("v{i}"), Role::Viewer);
        assert!(room.admit(&v).is_ok());
        room.connect_as(200 + i, true, v);
    }
    // 15 open: the last 5 are kept for editors and owners.
    let (_, reason) = room.admit(&actor("v9", Role::Viewer)).unwrap_err();
    assert!(reason.contains("kept for editors"), "{reason}");
    assert!(room.admit(&actor("o", Role::Owner)).is_ok());
}

#[test]
fn a_flood_of_read_only_frames_is_limited_across_connections() {
    let limits = Limits {
        read_only_messages_per_sec: 100,
        user_messages_per_sec: 50,
        ..Limits::default()
    };
    let mut room = Room::new(0);
    room.set_limits(limits);
    for i in 0..5 {
        room.connect_as(i, true, actor("mallory", Role::Viewer));
    }
    let query = protocol::encode(&yrs::sync::Message::AwarenessQuery);
    let passed = (0..500)
        .filter(|i| room.receive(i % 5, &query, 0).is_ok())
        .count();
    assert_eq!(
        passed, 100,
        "one viewer's sockets share a burst of twice 50 a second"
    );
    room.connect_as(9, true, actor("ada", Role::Editor));
    assert!(
        room.receive(9, &query, 0).is_ok(),
        "an editor is not held back"
    );
}
