//! Seeded property test for conflict detection: five peers (four people and an agent)
//! edit one shared document concurrently — inserts, deletes and replacements at random
//! UTF-16 offsets, ASCII with the odd multi-byte BMP character — sometimes rename it
//! concurrently (a tracked field), and the agent switches turn and model and writes back
//! over what it read earlier (stale-base writes, held or applied by policy). Changes
//! travel between random pairs of peers: whole state diffs (`encode_diff_v1` against the
//! receiver's state vector), and single transactions in shuffled order, some delivered
//! twice. A transaction is only ever delivered once the receiver has everything it
//! builds on (yrs 0.28.1 can overflow in `BlockStore::push` when an update arrives far
//! ahead of its dependencies). Peers also ask for conflicts mid-run.
//!
//! After a full sync every replica holds the same text and reports the same conflicts
//! (the whole records: ids, kinds, sides, before/current, offsets, times), and so do
//! fresh replicas that receive the same transactions in other orders: one gets every
//! transaction, one gets the set a peer had at a random intermediate point (and must
//! report what that peer reported then), one gets the final state as a single update.
//! Field conflicts are checked against an oracle built from each write's state vector,
//! stale records against the writes that reported one, text conflicts against the final
//! text. Across all cases every kind must actually be found, and edits that each saw
//! everything before them must raise none.
//!
//! `CONFAB_CONFLICT_CASES` sets the number of random seeds (default 30); a failing seed
//! can be added to `fixed_seeds_report_the_same_conflicts`.

mod support {
    pub mod rng;
}

use std::cell::Cell;
use std::sync::{Arc, Mutex};

use confab_core::conflict::{Conflict, ConflictKind, Granularity, StalePolicy};
use confab_core::doc::{Participant, RoomDoc};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use support::rng::Rng;
use yrs::updates::decoder::Decode;
use yrs::{ClientID, ReadTxn, StateVector, Transact, Update};

const PEERS: usize = 5;
const STEPS: usize = 160;
const DOC: &str = "d";
const START: &str = "The quick brown fox jumps over the lazy dog.\n\
                     Revenue was $2.0B last year, up from $1.8B.\n\
                     Costs were flat; margins improved a little.\n";
const TITLES: [&str; 4] = ["Report", "Q3 report", "Annual report", "Draft"];
/// Inserted text: ASCII words and spaces, a newline, and multi-byte BMP characters.
const CHUNKS: [&str; 14] = [
    "a", "big ", "red", " cat", "x", "\n", " ", "tax ", "é", "—", "naïve ", "über", "中文 ", "€5",
];

/// One local transaction, as its writer produced it.
struct Captured {
    client: ClientID,
    /// The writer's state before the transaction: everything the update builds on.
    before: StateVector,
    /// The writer's own clock after the transaction.
    end: u32,
    update: Vec<u8>,
}

/// A tracked title write, for the field-conflict oracle.
struct TitleWrite {
    client: u64,
    clock: u32,
    before: StateVector,
    value: String,
}

/// A replica that records the updates of its own transactions.
struct Replica {
    doc: RoomDoc,
    client: ClientID,
    sink: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Replica {
    fn new(client: u64) -> Self {
        let doc = RoomDoc::new(client);
        let sink: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let s = sink.clone();
        doc.doc()
            .observe_update_v1("capture", move |_, e| {
                s.lock().unwrap().push(e.update.clone());
            })
            .unwrap();
        Replica {
            doc,
            client: ClientID::new(client),
            sink,
        }
    }

    fn sv(&self) -> StateVector {
        self.doc.doc().transact().state_vector()
    }

    /// Run a local change and log the update it produced.
    fn local<T>(&mut self, log: &mut Vec<Captured>, f: impl FnOnce(&mut RoomDoc) -> T) -> T {
        let before = self.sv();
        self.sink.lock().unwrap().clear();
        let out = f(&mut self.doc);
        let updates = std::mem::take(&mut *self.sink.lock().unwrap());
        let end = self.sv().get(&self.client);
        if end > before.get(&self.client) {
            let update = match updates.len() {
                1 => updates.into_iter().next().unwrap(),
                _ => yrs::merge_updates_v1(&updates).unwrap(),
            };
            log.push(Captured {
                client: self.client,
                before,
                end,
                update,
            });
        }
        out
    }

    fn apply(&mut self, update: &[u8]) {
        self.doc
            .doc()
            .transact_mut()
            .apply_update(Update::decode_v1(update).expect("a valid update"))
            .expect("the update applies");
        self.sink.lock().unwrap().clear();
    }

    /// Bring this replica up to date with `from` (as `sync_docs` in the crate's tests).
    fn sync_from(&mut self, from: &RoomDoc) {
        let sv = self.sv();
        let update = from.doc().transact().encode_diff_v1(&sv);
        self.apply(&update);
    }

    fn has(&self, u: &Captured) -> bool {
        self.sv().get(&u.client) >= u.end
    }

    fn ready_for(&self, u: &Captured) -> bool {
        let sv = self.sv();
        u.before.iter().all(|(c, &n)| sv.get(c) >= n)
    }

    fn text(&self) -> String {
        self.doc.document_text(DOC).unwrap_or_default()
    }
}

fn participant(i: usize) -> Participant {
    if i == PEERS - 1 {
        Participant::agent(format!("agent{i}"), format!("Agent {i}"))
    } else {
        Participant::person(format!("user{i}"), format!("User {i}"))
    }
}

fn client_of(i: usize) -> u64 {
    1 + i as u64
}

/// What a peer reported at some point, with the state it reported it from.
struct Checkpoint {
    peer: usize,
    sv: StateVector,
    text: String,
    conflicts: Vec<Conflict>,
}

struct World {
    peers: Vec<Replica>,
    log: Vec<Captured>,
    titles: Vec<TitleWrite>,
    /// The agent's last read of the document (text, base), for a later based write.
    read: Option<(String, Vec<u8>)>,
    /// Ids of the stale-base records the agent's writes made.
    stale: Vec<String>,
    rng: Rng,
    now: u64,
    seed: u64,
}

impl World {
    fn new(seed: u64) -> Self {
        let mut rng = Rng(seed | 1);
        let mut log = Vec::new();
        let mut peers: Vec<Replica> = (0..PEERS).map(|i| Replica::new(client_of(i))).collect();
        for (i, p) in peers.iter_mut().enumerate() {
            p.doc.set_time(1_000);
            p.local(&mut log, |d| {
                d.register_client(client_of(i), &participant(i))
            });
        }
        let granularity = [Granularity::Word, Granularity::Char, Granularity::Line][rng.below(3)];
        peers[0].local(&mut log, |d| {
            d.create_document(Some(DOC), "Report", 1_000).unwrap()
        });
        peers[0].local(&mut log, |d| d.insert_text(DOC, 0, START).unwrap());
        peers[0].local(&mut log, |d| d.set_granularity(DOC, granularity).unwrap());
        // Everyone starts from the document; registrations spread as the run goes.
        let (first, rest) = peers.split_at_mut(1);
        for p in rest {
            p.sync_from(&first[0].doc);
        }
        World {
            peers,
            log,
            titles: Vec::new(),
            read: None,
            stale: Vec::new(),
            rng,
            now: 1_000,
            seed,
        }
    }

    fn edit(&mut self, i: usize) {
        let rng = &mut self.rng;
        let peer = &mut self.peers[i];
        let len = peer.text().encode_utf16().count() as u32;
        // Half the edits land in the first line, so concurrent edits meet often.
        let span = if rng.chance(50) { len.min(45) } else { len };
        let at = rng.below(span as usize + 1) as u32;
        let n = (1 + rng.below(6) as u32).min(len - at);
        let chunk = CHUNKS[rng.below(CHUNKS.len())];
        let kind = rng.below(3);
        peer.local(&mut self.log, |d| match kind {
            0 => d.insert_text(DOC, at, chunk),
            1 => d.delete_text(DOC, at, n),
            _ => d.replace_text(DOC, at, n, chunk),
        })
        .unwrap();
    }

    fn rename(&mut self, i: usize) {
        let value = TITLES[self.rng.below(TITLES.len())].to_owned();
        let peer = &mut self.peers[i];
        let before = peer.sv();
        let client = client_of(i);
        peer.local(&mut self.log, |d| d.set_document_title(DOC, &value))
            .unwrap();
        self.titles.push(TitleWrite {
            client,
            clock: before.get(&ClientID::new(client)),
            before,
            value,
        });
    }

    /// The agent (the last peer) reads the document, or writes back over a range of
    /// what it last read, or changes the turn and model its edits are for.
    fn agent_step(&mut self) {
        let i = PEERS - 1;
        let choice = self.rng.below(4);
        let pick = self.rng.next();
        let peer = &mut self.peers[i];
        match choice {
            0 => {
                let turn = format!("turn-{}", pick % 3);
                let model = ["model-a", "model-b"][(pick >> 8) as usize % 2];
                if pick % 4 == 0 {
                    peer.doc.act_for(None, None);
                } else {
                    peer.doc.act_for(Some(&turn), Some(model));
                }
            }
            1 => {
                let policy = if pick % 2 == 0 {
                    StalePolicy::Apply
                } else {
                    StalePolicy::Hold
                };
                peer.local(&mut self.log, |d| d.set_stale_policy(DOC, policy))
                    .unwrap();
            }
            _ => match self.read.take() {
                Some((text, base)) => {
                    let len = text.encode_utf16().count() as u64;
                    let start = (pick % (len + 1)) as u32;
                    let end = (u64::from(start) + (pick >> 16) % 12).min(len) as u32;
                    let chunk = CHUNKS[(pick >> 32) as usize % CHUNKS.len()];
                    let who = participant(i);
                    let out = peer
                        .local(&mut self.log, |d| {
                            d.write_based(DOC, start, end, chunk, &base, &who)
                        })
                        .unwrap();
                    self.stale.extend(out.conflict);
                }
                None => {
                    let read = peer.doc.read_document(DOC).unwrap();
                    self.read = Some((read.text, read.base));
                }
            },
        }
    }

    /// Everything `from` has and `to` lacks, as one diff.
    fn deliver_all(&mut self, from: usize, to: usize) {
        if from == to {
            return;
        }
        let (a, b) = pick_two(&mut self.peers, from, to);
        b.sync_from(&a.doc);
    }

    /// A few of the transactions `from` has and `to` lacks, one by one in random
    /// (causally valid) order, sometimes twice, sometimes one `to` already had.
    fn deliver_some(&mut self, from: usize, to: usize) {
        let count = 1 + self.rng.below(4);
        for _ in 0..count {
            let (src, dst) = (&self.peers[from], &self.peers[to]);
            let ready: Vec<usize> = (0..self.log.len())
                .filter(|&k| {
                    let u = &self.log[k];
                    src.has(u) && !dst.has(u) && dst.ready_for(u)
                })
                .collect();
            if ready.is_empty() {
                break;
            }
            let k = ready[self.rng.below(ready.len())];
            self.peers[to].apply(&self.log[k].update);
            if self.rng.chance(15) {
                self.peers[to].apply(&self.log[k].update);
            }
        }
        if self.rng.chance(20) {
            let old: Vec<usize> = (0..self.log.len())
                .filter(|&k| self.peers[to].has(&self.log[k]))
                .collect();
            if !old.is_empty() {
                let k = old[self.rng.below(old.len())];
                self.peers[to].apply(&self.log[k].update);
            }
        }
    }

    fn run(&mut self) -> Checkpoint {
        let mid = STEPS / 4 + self.rng.below(STEPS / 2);
        let mut checkpoint = None;
        for step in 0..STEPS {
            self.now += 10;
            let i = self.rng.below(PEERS);
            let j = self.rng.below(PEERS);
            self.peers[i].doc.set_time(self.now);
            match self.rng.below(22) {
                0..=8 => self.edit(i),
                9 => self.rename(i),
                20 | 21 => self.agent_step(),
                10..=13 => self.deliver_all(i, j),
                14..=18 => self.deliver_some(i, j),
                _ => {
                    // Ask for conflicts mid-run: replicas must not depend on when.
                    self.peers[i].doc.conflicts();
                }
            }
            if step == mid {
                let p = &mut self.peers[i];
                checkpoint = Some(Checkpoint {
                    peer: i,
                    sv: p.sv(),
                    text: p.text(),
                    conflicts: p.doc.conflicts(),
                });
            }
        }
        checkpoint.expect("a checkpoint")
    }

    fn heal(&mut self) {
        for _ in 0..2 {
            for from in 0..PEERS {
                for to in 0..PEERS {
                    self.deliver_all(from, to);
                }
            }
        }
    }

    /// A fresh replica that receives, one by one in random causal order (with some
    /// duplicates), every logged transaction contained in `upto`.
    fn replay(&mut self, client: u64, upto: &StateVector) -> Replica {
        let mut r = Replica::new(client);
        let mut todo: Vec<usize> = (0..self.log.len())
            .filter(|&k| upto.get(&self.log[k].client) >= self.log[k].end)
            .collect();
        while !todo.is_empty() {
            let ready: Vec<usize> = (0..todo.len())
                .filter(|&x| r.ready_for(&self.log[todo[x]]))
                .collect();
            assert!(
                !ready.is_empty(),
                "stuck replaying (seed {}): the log is not causally closed",
                self.seed
            );
            let k = todo.swap_remove(ready[self.rng.below(ready.len())]);
            r.apply(&self.log[k].update);
            if self.rng.chance(5) {
                r.apply(&self.log[k].update);
            }
        }
        r
    }
}

fn pick_two(peers: &mut [Replica], a: usize, b: usize) -> (&Replica, &mut Replica) {
    assert_ne!(a, b);
    if a < b {
        let (lo, hi) = peers.split_at_mut(b);
        (&lo[a], &mut hi[0])
    } else {
        let (lo, hi) = peers.split_at_mut(a);
        (&hi[0], &mut lo[b])
    }
}

/// A readable digest of a conflict list, for failure messages.
fn digest(list: &[Conflict]) -> Vec<String> {
    list.iter()
        .map(|c| {
            let sides: Vec<String> = c
                .sides
                .iter()
                .map(|s| format!("{}:+{:?}-{:?}", s.client, s.inserted, s.deleted))
                .collect();
            format!(
                "{} {} {}..{} before={:?} current={:?} {}",
                c.id,
                c.kind.as_str(),
                c.start,
                c.end,
                c.before,
                c.current,
                sides.join(" ")
            )
        })
        .collect()
}

fn same_conflicts(
    what: &str,
    seed: u64,
    got: &[Conflict],
    want: &[Conflict],
) -> Result<(), TestCaseError> {
    if got != want {
        let (g, w) = (digest(got), digest(want));
        return Err(TestCaseError::fail(format!(
            "{what} (seed {seed}): conflicts differ\n got: {g:#?}\nwant: {w:#?}\n(full: {got:#?} vs {want:#?})"
        )));
    }
    Ok(())
}

/// Field conflicts the causal record implies: concurrent title writes of different
/// values, as normalized ((client, value), (client, value)) pairs.
fn expected_field_conflicts(titles: &[TitleWrite]) -> Vec<((u64, String), (u64, String))> {
    let mut out = Vec::new();
    for (x, a) in titles.iter().enumerate() {
        for b in &titles[x + 1..] {
            if a.client == b.client || a.value == b.value {
                continue;
            }
            let b_saw_a = b.before.get(&ClientID::new(a.client)) > a.clock;
            let a_saw_b = a.before.get(&ClientID::new(b.client)) > b.clock;
            if !b_saw_a && !a_saw_b {
                let (p, q) = ((a.client, a.value.clone()), (b.client, b.value.clone()));
                out.push(if p <= q { (p, q) } else { (q, p) });
            }
        }
    }
    out.sort();
    out
}

/// Run one seed; returns (text, field, stale) conflicts found.
fn check(seed: u64) -> Result<(usize, usize, usize), TestCaseError> {
    let mut world = World::new(seed);
    let checkpoint = world.run();
    world.heal();

    // One state everywhere.
    let sv0 = world.peers[0].sv();
    let text = world.peers[0].text();
    let json = world.peers[0].doc.to_json();
    for (i, p) in world.peers.iter().enumerate() {
        prop_assert_eq!(p.sv(), sv0.clone(), "peer {} state (seed {})", i, seed);
        prop_assert_eq!(p.text(), text.clone(), "peer {} text (seed {})", i, seed);
        prop_assert_eq!(
            p.doc.to_json(),
            json.clone(),
            "peer {} json (seed {})",
            i,
            seed
        );
    }

    // The same conflicts everywhere, and asking twice changes nothing.
    let reference = world.peers[0].doc.conflicts();
    for i in 0..PEERS {
        let got = world.peers[i].doc.conflicts();
        same_conflicts(&format!("peer {i} vs peer 0"), seed, &got, &reference)?;
        let again = world.peers[i].doc.conflicts();
        same_conflicts(&format!("peer {i} asked twice"), seed, &again, &got)?;
    }

    // Other delivery orders of the same transactions: one by one, shuffled...
    let mut shuffled = world.replay(100, &sv0);
    prop_assert_eq!(
        shuffled.text(),
        text.clone(),
        "shuffled replay text (seed {})",
        seed
    );
    same_conflicts(
        "shuffled replay",
        seed,
        &shuffled.doc.conflicts(),
        &reference,
    )?;
    // ...and everything at once.
    let mut whole = Replica::new(101);
    whole.apply(
        &world.peers[PEERS - 1]
            .doc
            .doc()
            .transact()
            .encode_state_as_update_v1(&StateVector::default()),
    );
    same_conflicts(
        "single-update replica",
        seed,
        &whole.doc.conflicts(),
        &reference,
    )?;

    // The intermediate point: a replica that gets exactly what the peer had then, in
    // another order, reports exactly what the peer reported.
    let mut mid = world.replay(102, &checkpoint.sv);
    prop_assert_eq!(
        mid.sv(),
        checkpoint.sv.clone(),
        "checkpoint state (seed {})",
        seed
    );
    prop_assert_eq!(
        mid.text(),
        checkpoint.text.clone(),
        "checkpoint text (seed {})",
        seed
    );
    same_conflicts(
        &format!("replay of peer {}'s intermediate state", checkpoint.peer),
        seed,
        &mid.doc.conflicts(),
        &checkpoint.conflicts,
    )?;

    // Field conflicts: exactly the concurrent renames to different titles.
    let mut fields: Vec<((u64, String), (u64, String))> = reference
        .iter()
        .filter(|c| c.kind == ConflictKind::Field)
        .map(|c| {
            prop_assert_eq!(c.field.as_deref(), Some("documents/d/title"));
            prop_assert_eq!(c.sides.len(), 2);
            let p = (c.sides[0].client, c.sides[0].inserted.clone());
            let q = (c.sides[1].client, c.sides[1].inserted.clone());
            Ok(if p <= q { (p, q) } else { (q, p) })
        })
        .collect::<Result<_, TestCaseError>>()?;
    fields.sort();
    prop_assert_eq!(
        &fields,
        &expected_field_conflicts(&world.titles),
        "field conflicts (seed {})",
        seed
    );

    // Text conflicts: two different registered writers, each with a change, and
    // `current` is what the document shows at start..end.
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut texts = 0;
    for c in reference.iter().filter(|c| c.kind == ConflictKind::Text) {
        texts += 1;
        prop_assert_eq!(c.doc.as_deref(), Some(DOC));
        prop_assert_eq!(c.sides.len(), 2, "{:#?}", c);
        prop_assert!(c.sides[0].client != c.sides[1].client, "{:#?}", c);
        for s in &c.sides {
            prop_assert!(
                !s.inserted.is_empty() || !s.deleted.is_empty(),
                "a side without a change (seed {}): {:#?}",
                seed,
                c
            );
            let i = (s.client - 1) as usize;
            prop_assert_eq!(s.author.as_ref(), Some(&participant(i)));
        }
        prop_assert!(
            c.start <= c.end && c.end as usize <= units.len(),
            "{:#?}",
            c
        );
        prop_assert_eq!(
            String::from_utf16_lossy(&units[c.start as usize..c.end as usize]),
            c.current.clone(),
            "current is not the text at start..end (seed {})",
            seed
        );
    }
    // Stale-base records: exactly the ones the agent's writes reported.
    let mut stale: Vec<&str> = Vec::new();
    for c in reference.iter().filter(|c| c.kind == ConflictKind::Stale) {
        stale.push(&c.id);
        prop_assert!(
            c.stale && c.sides.len() == 2 && c.sides[1].stale,
            "{:#?}",
            c
        );
        prop_assert_eq!(c.sides[1].author.as_ref(), Some(&participant(PEERS - 1)));
        prop_assert!(
            c.start <= c.end && c.end as usize <= units.len(),
            "{:#?}",
            c
        );
        prop_assert_eq!(
            String::from_utf16_lossy(&units[c.start as usize..c.end as usize]),
            c.current.clone()
        );
    }
    stale.sort_unstable();
    let mut made: Vec<&str> = world.stale.iter().map(String::as_str).collect();
    made.sort_unstable();
    let stales = stale.len();
    prop_assert_eq!(stale, made, "stale records (seed {})", seed);
    Ok((texts, fields.len(), stales))
}

fn cases() -> u32 {
    std::env::var("CONFAB_CONFLICT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
}

#[test]
fn five_peers_report_the_same_conflicts_in_any_delivery_order() {
    let config = ProptestConfig {
        cases: cases(),
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let (texts, fields, stales) = (Cell::new(0usize), Cell::new(0usize), Cell::new(0usize));
    let runs = Cell::new(0usize);
    let result = TestRunner::new(config).run(&any::<u64>(), |seed| {
        let (t, f, s) = check(seed)?;
        texts.set(texts.get() + t);
        fields.set(fields.get() + f);
        stales.set(stales.get() + s);
        runs.set(runs.get() + 1);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "{} cases: {} text, {} field and {} stale-base conflicts",
        runs.get(),
        texts.get(),
        fields.get(),
        stales.get()
    );
    // Detection must not silently find nothing.
    assert!(texts.get() > 0, "no text conflict in {} cases", runs.get());
    assert!(
        fields.get() > 0,
        "no field conflict in {} cases",
        runs.get()
    );
    assert!(stales.get() > 0, "no stale write in {} cases", runs.get());
}

#[test]
fn fixed_seeds_report_the_same_conflicts() -> Result<(), TestCaseError> {
    let mut found = (0, 0);
    for seed in [1, 42, 0xC0FFEE] {
        let (t, f, _) = check(seed)?;
        found = (found.0 + t, found.1 + f);
    }
    prop_assert!(found.0 > 0 && found.1 > 0, "{:?}", found);
    Ok(())
}

/// The negative check: when every change reaches everyone before the next one is
/// made, nothing is concurrent and nothing may be flagged.
#[test]
fn sequential_edits_never_conflict() {
    for seed in [7, 99, 0xBEEF, 31337] {
        let mut world = World::new(seed);
        world.heal();
        for _ in 0..60 {
            world.now += 10;
            let i = world.rng.below(PEERS);
            world.peers[i].doc.set_time(world.now);
            if world.rng.chance(10) {
                world.rename(i);
            } else {
                world.edit(i);
            }
            for to in 0..PEERS {
                world.deliver_all(i, to);
            }
        }
        for (i, p) in world.peers.iter_mut().enumerate() {
            let found = p.doc.conflicts();
            assert!(
                found.is_empty(),
                "peer {i} flags sequential edits (seed {seed}): {:#?}",
                digest(&found)
            );
        }
    }
}

/// A text conflict's `before` is the text both sides started from: not text written
/// after both (here Ada's own later "Z", typed once Bob's "Y" had arrived), and still the
/// text both started from when someone deletes it afterwards. Both sides started from
/// "b" between them.
#[test]
fn before_holds_only_what_both_sides_started_from() {
    for later_delete in [false, true] {
        let mut log = Vec::new();
        let (mut ada, mut bob) = (Replica::new(1), Replica::new(2));
        ada.doc.register_client(1, &participant(0));
        bob.doc.register_client(2, &participant(1));
        ada.doc.create_document(Some(DOC), "T", 0).unwrap();
        ada.doc.insert_text(DOC, 0, "ab cd").unwrap();
        bob.sync_from(&ada.doc);
        ada.sync_from(&bob.doc);
        // Concurrent: Ada "aXb cd", Bob "abY cd" → "aXbY cd".
        ada.local(&mut log, |d| d.insert_text(DOC, 1, "X")).unwrap();
        bob.local(&mut log, |d| d.insert_text(DOC, 2, "Y")).unwrap();
        ada.sync_from(&bob.doc);
        // Then Ada, having seen Y, edits between them: a sequential edit.
        if later_delete {
            ada.doc.delete_text(DOC, 2, 1).unwrap(); // "aXY cd"
        } else {
            ada.doc.insert_text(DOC, 3, "Z").unwrap(); // "aXbZY cd"
        }
        bob.sync_from(&ada.doc);
        let found = ada.doc.conflicts();
        assert_eq!(found, bob.doc.conflicts());
        assert_eq!(found.len(), 1, "{:#?}", digest(&found));
        let c = &found[0];
        assert_eq!(
            (c.sides[0].inserted.as_str(), c.sides[1].inserted.as_str()),
            ("X", "Y")
        );
        assert_eq!(c.current, if later_delete { "XY" } else { "XbZY" });
        // Actual: "bZ" (later insert), "" (later delete).
        assert_eq!(c.before, "b", "later_delete: {later_delete}");
    }
}
