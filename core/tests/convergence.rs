//! Seeded convergence test: eight peers perform random operations on every structure
//! of the room (messages, agent turns, reactions, branches, documents, views, syncs,
//! presence) through a server room, while the connector drops, reorders, duplicates and
//! partitions frames. After healing, every replica — and the server — is identical, and
//! no operation a peer performed is lost.
//!
//! The faults are the ones a WebSocket relay really has: frames are reordered across
//! connections (each peer's traffic interleaves at random with everyone else's), a
//! dropped frame takes its connection down with everything in flight (a socket never
//! loses a frame silently and carries on), frames are duplicated, and peers are
//! partitioned and rejoin. Within one connection order is kept, as TCP keeps it.
//!
//! This test found that a client could receive a live update before the sync answer
//! holding what the update builds on (the relay used to forward updates to a socket
//! from the moment it connected); yrs 0.28.1 then integrates GC ranges over pending
//! skips and overflows in `BlockStore::push`. The room now relays updates to a
//! connection only after answering its sync step 1, and a session holds its live
//! updates until it has answered the room's.
//!
//! `make test` runs a modest number of seeds; set `CONFAB_CONVERGENCE_CASES` for more. A
//! failure names its seed and the command that runs it alone (`one_seed`).
//! The long form (`make fuzz`) is the ignored `a_million_operations_converge`: seeds one
//! after another until `CONFAB_CONVERGENCE_OPS` random operations (default 1,000,000)
//! have run, counting divergences instead of stopping at the first.

mod support {
    pub mod rng;
}

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use confab_core::doc::{Participant, RoomDoc};

use confab_core::client::session::Session;
use confab_core::model::view::ViewPatch;
use confab_core::model::Role;
use confab_core::model::{MergeSummary, TurnStatus};
use confab_core::room::{ConnId, Room};
use proptest::prelude::*;
use support::rng::Rng;
use yrs::updates::decoder::Decode;
use yrs::{Transact, Update};

const PEERS: usize = 8;
const STEPS: usize = 400;
const DUP: u64 = 5;

/// Random operations performed so far by this process (the long form reports them).
static OPERATIONS: AtomicU64 = AtomicU64::new(0);

struct Peer {
    session: Session,
    online: bool,
    /// Frames from this peer to the room, and from the room to this peer.
    up: Vec<Vec<u8>>,
    down: Vec<Vec<u8>>,
}

struct World {
    room: Room,
    peers: Vec<Peer>,
    rng: Rng,
    now: u64,
    /// Message ids (and their final text when closed) every replica must end with.
    posted: BTreeMap<String, Option<String>>,
    conversations: BTreeSet<String>,
}

impl World {
    fn new(seed: u64) -> Self {
        let peers = (0..PEERS)
            .map(|i| {
                let me = if i % 4 == 3 {
                    Participant::agent(format!("agent{i}"), format!("Agent {i}"))
                } else {
                    Participant::person(format!("user{i}"), format!("User {i}"))
                };
                Peer {
                    session: Session::new(1000 + i as u64, me, 0),
                    online: false,
                    up: Vec::new(),
                    down: Vec::new(),
                }
            })
            .collect();
        let mut world = World {
            room: Room::new(0),
            peers,
            rng: Rng(seed | 1),
            now: 0,
            posted: BTreeMap::new(),
            conversations: BTreeSet::new(),
        };
        for i in 0..PEERS {
            world.connect(i);
        }
        world
    }

    fn connect(&mut self, i: usize) {
        let conn = i as ConnId;
        let greeting = self.room.connect(conn, true);
        let peer = &mut self.peers[i];
        peer.online = true;
        peer.down.extend(greeting.into_iter().map(|o| o.frame));
        peer.up.extend(peer.session.handshake());
    }

    fn partition(&mut self, i: usize) {
        let peer = &mut self.peers[i];
        peer.online = false;
        // Whatever was in flight is lost with the connection.
        peer.up.clear();
        peer.down.clear();
        peer.session.disconnected();
        let out = self.room.disconnect(i as ConnId, self.now);
        self.route(out);
    }

    fn route(&mut self, out: Vec<confab_core::room::Outgoing>) {
        for o in out {
            for (j, peer) in self.peers.iter_mut().enumerate() {
                if peer.online && o.to.includes(j as ConnId) {
                    peer.down.push(o.frame.clone());
                }
            }
        }
    }

    /// Take the next frame of a connection's queue; sometimes deliver it twice
    /// (duplicate). `None` when the queue is empty.
    fn take(rng: &mut Rng, queue: &mut Vec<Vec<u8>>) -> Option<Vec<u8>> {
        if queue.is_empty() {
            return None;
        }
        if rng.chance(DUP) {
            return Some(queue[0].clone());
        }
        Some(queue.remove(0))
    }

    fn deliver_one(&mut self, i: usize) {
        if !self.peers[i].online {
            return;
        }
        if self.rng.chance(3) {
            // A dropped frame: the connection dies with everything in flight.
            self.partition(i);
            return;
        }
        if self.rng.chance(50) {
            if let Some(frame) = Self::take(&mut self.rng, &mut self.peers[i].up) {
                let out = self
                    .room
                    .receive(i as ConnId, &frame, self.now)
                    .expect("room accepts peer frames");
                self.route(out);
            }
        } else if let Some(frame) = Self::take(&mut self.rng, &mut self.peers[i].down) {
            let peer = &mut self.peers[i];
            let got = peer
                .session
                .receive(&frame, self.now)
                .expect("peer accepts room frames");
            peer.up.extend(got.replies);
        }
    }

    fn random_op(&mut self, i: usize) {
        OPERATIONS.fetch_add(1, Ordering::Relaxed);
        let now = self.now;
        let choice = self.rng.below(12);
        let pick = self.rng.next();
        let peer = &mut self.peers[i];
        let s = &mut peer.session;
        let conversations: Vec<String> =
            s.doc().conversations().into_iter().map(|c| c.id).collect();
        let conv = conversations
            .get(pick as usize % conversations.len().max(1))
            .cloned();
        let messages = conv
            .as_ref()
            .map(|c| s.doc().messages(c).unwrap_or_default())
            .unwrap_or_default();
        let message = messages.get(pick as usize % messages.len().max(1)).cloned();
        let users: Vec<String> = (0..PEERS)
            .map(|j| {
                if j % 4 == 3 {
                    format!("agent{j}")
                } else {
                    format!("user{j}")
                }
            })
            .collect();
        match (choice, conv, message) {
            (0, _, _) => {
                let id = s
                    .create_conversation(None, &format!("c{i}-{now}"), now)
                    .unwrap();
                self.conversations.insert(id);
            }
            (1, Some(c), _) => {
                let text = format!("m{i}-{now}");
                let id = s.post_message(&c, Role::User, &text, now).unwrap();
                self.posted.insert(id, Some(text));
            }
            (2, Some(c), _) => {
                let id = s.open_turn(&c, Role::Assistant, now).unwrap();
                self.posted.insert(id, None);
            }
            (3, _, Some(m)) if m.status.is_open() => {
                if s.append_turn(&m.id, &format!("t{i} ")).is_ok() {
                    let _ = s.flush_turns();
                }
            }
            (4, _, Some(m)) if m.status.is_open() => {
                let _ = match pick % 3 {
                    0 => s.finish_turn(&m.id),
                    1 => s.request_stop(&m.id, now),
                    _ => s.fail_turn(&m.id, "boom"),
                };
            }
            (5, _, Some(m)) => {
                s.react(&m.id, if pick % 2 == 0 { "helpful" } else { "wrong" }, now)
                    .unwrap();
            }
            (6, Some(c), Some(m)) => {
                let id = s.fork_conversation(&c, &m.id, "branch", now).unwrap();
                self.conversations.insert(id);
            }
            (7, Some(c), _) => {
                let own: Vec<String> = messages
                    .iter()
                    .filter(|m| m.conversation == c)
                    .map(|m| m.id.clone())
                    .collect();
                let summary = MergeSummary {
                    summary: format!("merge{i}"),
                    ..MergeSummary::default()
                };
                if let Ok(id) = s.merge_branch(&c, &own, summary, now) {
                    self.posted.insert(id, Some(format!("merge{i}")));
                }
            }
            (8, _, _) => {
                s.doc_mut()
                    .ensure_document("shared", "Shared", now)
                    .unwrap();
                let len = s
                    .doc()
                    .document_text("shared")
                    .unwrap()
                    .encode_utf16()
                    .count() as u32;
                if len > 0 && pick % 3 == 0 {
                    let at = (pick >> 8) as u32 % len;
                    let n = ((pick >> 20) as u32 % 4).min(len - at);
                    s.doc_mut().delete_text("shared", at, n).unwrap();
                } else {
                    let at = if len == 0 {
                        0
                    } else {
                        (pick >> 8) as u32 % (len + 1)
                    };
                    s.doc_mut()
                        .insert_text("shared", at, &format!("<{i}>"))
                        .unwrap();
                }
            }
            (9, _, _) => {
                let patch = ViewPatch {
                    tabs: Some(vec![format!("tab{}", pick % 5)]),
                    active_tab: Some(format!("tab{}", pick % 5)),
                    ..ViewPatch::default()
                };
                s.set_view(&patch).unwrap();
            }
            (10, _, _) => {
                let partner = &users[pick as usize % PEERS];
                if pick % 3 == 0 {
                    s.stop_sync().unwrap();
                } else {
                    let _ = s.start_sync(partner, now);
                }
            }
            _ => {
                s.set_activity(Some(&format!("step {now}")));
            }
        }
        let frames = peer.session.drain_outgoing();
        if peer.online {
            peer.up.extend(frames);
        }
    }

    fn run(&mut self) {
        for _ in 0..STEPS {
            self.now += 10;
            let i = self.rng.below(PEERS);
            match self.rng.below(10) {
                0..=3 => self.random_op(i),
                4 => {
                    if self.peers[i].online && self.rng.chance(30) {
                        self.partition(i);
                    } else if !self.peers[i].online {
                        self.connect(i);
                    }
                }
                _ => {
                    for _ in 0..3 {
                        let j = self.rng.below(PEERS);
                        self.deliver_one(j);
                    }
                }
            }
        }
    }

    /// Reconnect everyone and deliver everything, in order, without faults.
    fn heal(&mut self) {
        for i in 0..PEERS {
            if self.peers[i].online {
                self.partition(i);
            }
            self.connect(i);
        }
        for _ in 0..10_000 {
            let mut moved = false;
            for i in 0..PEERS {
                while !self.peers[i].up.is_empty() {
                    let frame = self.peers[i].up.remove(0);
                    let out = self
                        .room
                        .receive(i as ConnId, &frame, self.now)
                        .expect("room accepts");
                    self.route(out);
                    moved = true;
                }
                while !self.peers[i].down.is_empty() {
                    let frame = self.peers[i].down.remove(0);
                    let got = self.peers[i]
                        .session
                        .receive(&frame, self.now)
                        .expect("peer accepts");
                    self.peers[i].up.extend(got.replies);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
        panic!("frames kept flowing after healing");
    }
}

fn check(seed: u64) -> Result<(), TestCaseError> {
    let mut world = World::new(seed);
    world.peers[0]
        .session
        .ensure_conversation("main", "Main", 0)
        .unwrap();
    world.conversations.insert("main".into());
    let first = world.peers[0].session.drain_outgoing();
    world.peers[0].up.extend(first);
    world.run();
    // The run must exercise the room: a seed whose first round posted little keeps
    // going (more faults, more operations) until it has, so the guard below holds by
    // construction rather than by luck of the seed.
    for _ in 0..8 {
        if world.posted.len() >= 4 {
            break;
        }
        world.run();
    }
    world.heal();

    // Every replica — and the server — holds the same state.
    let server = RoomDoc::new(1);
    server
        .doc()
        .transact_mut()
        .apply_update(Update::decode_v1(&world.room.snapshot()).unwrap())
        .unwrap();
    let reference = server.to_json();
    for (i, peer) in world.peers.iter().enumerate() {
        prop_assert_eq!(
            &peer.session.doc().to_json(),
            &reference,
            "peer {} differs from the room (seed {})",
            i,
            seed
        );
        prop_assert!(peer.session.is_synced());
        let views: Vec<_> = (0..PEERS)
            .map(|j| peer.session.doc().view_state(&format!("user{j}")))
            .collect();
        let views0: Vec<_> = (0..PEERS)
            .map(|j| world.peers[0].session.doc().view_state(&format!("user{j}")))
            .collect();
        prop_assert_eq!(views, views0);
    }
    // The run really exercised the room.
    prop_assert!(
        world.posted.len() >= 4,
        "only {} messages posted (seed {})",
        world.posted.len(),
        seed
    );
    prop_assert!(
        !server
            .document_text("shared")
            .unwrap_or_default()
            .is_empty()
            || world.posted.len() > 20
    );
    // Nothing anyone did is lost.
    let all: BTreeMap<String, confab_core::model::Message> = world
        .conversations
        .iter()
        .flat_map(|c| server.messages(c).unwrap_or_default())
        .map(|m| (m.id.clone(), m))
        .collect();
    for conv in &world.conversations {
        prop_assert!(
            server.messages(conv).is_ok(),
            "conversation {} lost (seed {})",
            conv,
            seed
        );
    }
    for (id, text) in &world.posted {
        let Some(m) = all.get(id) else {
            return Err(TestCaseError::fail(format!(
                "message {id} lost (seed {seed})"
            )));
        };
        if let Some(text) = text {
            prop_assert_eq!(&m.text, text);
            prop_assert_eq!(m.status, TurnStatus::Done);
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("CONFAB_CONVERGENCE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn eight_peers_converge_under_faults(seed in any::<u64>()) {
        check(seed).map_err(|e| reproducible(e, seed))?;
    }
}

/// `e` with the one line that runs its seed again.
fn reproducible(e: TestCaseError, seed: u64) -> TestCaseError {
    TestCaseError::fail(format!(
        "{e}\nreproduce: CONFAB_CONVERGENCE_SEED={seed} cargo test -p confab-core \
         --test convergence one_seed -- --ignored"
    ))
}

#[test]
#[ignore = "runs the seed in CONFAB_CONVERGENCE_SEED (a failure names it)"]
fn one_seed() -> Result<(), TestCaseError> {
    let seed = std::env::var("CONFAB_CONVERGENCE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("set CONFAB_CONVERGENCE_SEED to the seed a failure named");
    check(seed).map_err(|e| reproducible(e, seed))
}

#[test]
fn fixed_seeds_converge() -> Result<(), TestCaseError> {
    // 17228962748839599274 and 12370203965705921645 posted too few messages in one
    // round (issue: the convergence guard failed about 1 run in 20).
    for seed in [1, 42, 0xC0FFEE, 17228962748839599274, 12370203965705921645] {
        check(seed).map_err(|e| reproducible(e, seed))?;
    }
    Ok(())
}

#[test]
#[ignore = "long; run by `make fuzz`"]
fn a_million_operations_converge() {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let target = env("CONFAB_CONVERGENCE_OPS", 1_000_000);
    let first = env("CONFAB_CONVERGENCE_SEED", 1);
    let mut seeds = Rng(first | 1);
    // Operations are counted only for cases that passed every check; a case that posted
    // too few messages to count stops before its loss checks, so it is reported apart.
    let (mut ops, mut cases, mut too_quiet) = (0u64, 0u64, Vec::new());
    let mut diverged = Vec::new();
    while ops < target {
        let seed = seeds.next();
        cases += 1;
        let before = OPERATIONS.load(Ordering::Relaxed);
        match std::panic::catch_unwind(|| check(seed)) {
            Ok(Ok(())) => ops += OPERATIONS.load(Ordering::Relaxed) - before,
            Ok(Err(e)) if e.to_string().contains("messages posted") => too_quiet.push(seed),
            Ok(Err(e)) => diverged.push(format!("seed {seed}: {e}")),
            Err(_) => diverged.push(format!("seed {seed}: panicked")),
        }
    }
    println!(
        "convergence: {ops} random operations in {} passing cases of {cases} over {PEERS} \
         peers (drops, reorders, duplicates, partitions; first seed {first}); \
         {} divergences; {} cases posted too few messages to count: {too_quiet:?}",
        cases - diverged.len() as u64 - too_quiet.len() as u64,
        diverged.len(),
        too_quiet.len(),
    );
    assert!(diverged.is_empty(), "divergences: {diverged:#?}");
}
