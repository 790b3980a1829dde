//! The fan-out mirror between a room and stock viewers.

use yrs::updates::decoder::Decode;
use yrs::{GetString, ReadTxn, Text, Transact, Update};

use super::fanout::Mirror;
use super::*;
use crate::authority::Actor;
use crate::protocol::{decode_frame, Incoming};

/// A stock viewer: a plain yrs doc that answers like y-websocket's client.
struct Viewer {
    doc: Doc,
}

impl Viewer {
    fn new() -> Self {
        Viewer { doc: Doc::new() }
    }

    fn hello(&self) -> Vec<u8> {
        protocol::sync_step1(self.doc.transact().state_vector())
    }

    fn take(&self, frames: &[Vec<u8>]) {
        for f in frames {
            for m in decode_frame(f).unwrap() {
                if let Incoming::SyncStep2(raw) | Incoming::Update(raw) = m {
                    self.doc
                        .transact_mut()
                        .apply_update(Update::decode_v1(&raw).unwrap())
                        .unwrap();
                }
            }
        }
    }

    fn text(&self) -> String {
        let text = self.doc.get_or_insert_text("text");
        let txn = self.doc.transact();
        text.get_string(&txn)
    }
}

/// A room with a writer (a plain yrs doc on connection 1) and a mirror connected
/// upstream on connection 9; frames pass until quiet.
struct World {
    room: Room,
    writer: Doc,
    mirror: Mirror,
    /// Viewer frames, by viewer connection.
    to_viewers: Vec<Outgoing>,
}

impl World {
    fn new() -> Self {
        let mut room = Room::new(0);
        room.connect_as(1, false, Actor::anonymous());
        let mut w = World {
            room,
            writer: Doc::new(),
            mirror: Mirror::new(0),
            to_viewers: Vec::new(),
        };
        w.connect_mirror();
        w
    }

    fn connect_mirror(&mut self) {
        let greeting = self.room.connect_as(9, false, Actor::fanout("test"));
        let hello = self.mirror.upstream_hello();
        let mut down: Vec<Vec<u8>> = greeting.into_iter().map(|o| o.frame).collect();
        down.extend(
            self.room
                .receive(9, &hello, 0)
                .unwrap()
                .into_iter()
                .map(|o| o.frame),
        );
        self.upstream(down);
    }

    fn upstream(&mut self, mut down: Vec<Vec<u8>>) {
        while !down.is_empty() {
            let mut up = Vec::new();
            for f in down.drain(..) {
                let relayed = self.mirror.from_upstream(&f, 0).unwrap();
                self.to_viewers.extend(relayed.to_viewers);
                up.extend(relayed.to_room);
            }
            for f in up {
                down.extend(
                    self.room
                        .receive(9, &f, 0)
                        .unwrap()
                        .into_iter()
                        .filter(|o| o.to.includes(9))
                        .map(|o| o.frame),
                );
            }
        }
    }

    /// The writer types; the room relays to the mirror.
    fn write(&mut self, at: u32, s: &str) {
        let before = self.writer.transact().state_vector();
        let text = self.writer.get_or_insert_text("text");
        text.insert(&mut self.writer.transact_mut(), at, s);
        let update = self.writer.transact().encode_diff_v1(&before);
        let mut out = self
            .room
            .receive(1, &protocol::sync_update(update), 0)
            .unwrap();
        out.extend(self.room.flush_relay());
        let down = out
            .into_iter()
            .filter(|o| o.to.includes(9))
            .map(|o| o.frame)
            .collect();
        self.upstream(down);
    }

    /// Frames for viewer `conn` so far (taken).
    fn for_viewer(&mut self, conn: ConnId) -> Vec<Vec<u8>> {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.to_viewers)
            .into_iter()
            .partition(|o| o.to.includes(conn));
        self.to_viewers = rest
            .into_iter()
            .filter(|o| !matches!(o.to, Recipient::All))
            .collect();
        mine.into_iter().map(|o| o.frame).collect()
    }
}

#[test]
fn viewers_get_the_room_from_the_mirror_and_every_update_after() {
    let mut w = World::new();
    w.write(0, "Hello");
    let viewer = Viewer::new();
    let greeting = w.mirror.join(5);
    viewer.take(&greeting.into_iter().map(|o| o.frame).collect::<Vec<_>>());
    let answer = w.mirror.from_viewer(5, &viewer.hello()).unwrap();
    viewer.take(&answer.into_iter().map(|o| o.frame).collect::<Vec<_>>());
    assert_eq!(viewer.text(), "Hello");
    w.to_viewers.clear();
    w.write(5, ", world");
    w.write(0, ">> ");
    let frames = w.for_viewer(5);
    assert_eq!(frames.len(), 2, "one frame per update, in order");
    viewer.take(&frames);
    assert_eq!(viewer.text(), ">> Hello, world");
    assert_eq!(w.mirror.text("text"), ">> Hello, world");
}

#[test]
fn a_viewer_that_joins_before_the_mirror_caught_up_waits_for_it() {
    let mut room = Room::new(0);
    room.connect_as(1, false, Actor::anonymous());
    let writer = Doc::new();
    writer
        .get_or_insert_text("text")
        .insert(&mut writer.transact_mut(), 0, "kept");
    let update = writer.transact().encode_diff_v1(&Default::default());
    room.receive(1, &protocol::sync_update(update), 0).unwrap();
    let mut mirror = Mirror::new(0);
    let viewer = Viewer::new();
    mirror.join(5);
    assert!(
        mirror.from_viewer(5, &viewer.hello()).unwrap().is_empty(),
        "it waits"
    );
    room.connect_as(9, false, Actor::fanout("test"));
    let hello = mirror.upstream_hello();
    let mut answered = Vec::new();
    for o in room.receive(9, &hello, 0).unwrap() {
        answered.extend(mirror.from_upstream(&o.frame, 0).unwrap().to_viewers);
    }
    viewer.take(
        &answered
            .into_iter()
            .filter(|o| o.to.includes(5))
            .map(|o| o.frame)
            .collect::<Vec<_>>(),
    );
    assert_eq!(viewer.text(), "kept");
}

#[test]
fn a_viewer_cannot_write_through_the_mirror() {
    let mut w = World::new();
    w.write(0, "read me");
    w.mirror.join(5);
    let viewer = Viewer::new();
    // An empty step 2 (what a fresh stock client answers) is fine.
    let empty = protocol::sync_step2(viewer.doc.transact().encode_diff_v1(&Default::default()));
    assert!(w.mirror.from_viewer(5, &empty).is_ok());
    viewer
        .doc
        .get_or_insert_text("text")
        .insert(&mut viewer.doc.transact_mut(), 0, "mine");
    let mine = protocol::sync_update(viewer.doc.transact().encode_diff_v1(&Default::default()));
    let err = w.mirror.from_viewer(5, &mine).unwrap_err();
    assert_eq!(err.code(), "viewer");
    assert_eq!(w.mirror.text("text"), "read me");
}

#[test]
fn after_losing_the_room_the_mirror_asks_for_what_it_missed_only() {
    let mut w = World::new();
    w.write(0, "one ");
    w.room.disconnect(9, 0);
    w.mirror.upstream_lost();
    // The room goes on without the mirror.
    w.room.connect_as(3, false, Actor::anonymous());
    w.write(4, "two ");
    w.to_viewers.clear();
    w.connect_mirror();
    assert!(w.mirror.is_synced());
    assert_eq!(w.mirror.text("text"), "one two ");
    // What went to viewers is the missing part, not the whole room again.
    let sent: usize = w.to_viewers.iter().map(|o| o.frame.len()).sum();
    assert!(sent < 60, "{sent} bytes");
}
