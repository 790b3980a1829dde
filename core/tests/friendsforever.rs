//! Replay of a real concurrent editing trace through conflict detection:
//! `friendsforever` from josephg's editing traces (two people writing one document,
//! sometimes at once), on two replicas, one per author.
//!
//! Every transaction of the trace names the versions it was made on (`parents`); its
//! author's replica is first brought to exactly that version by applying, in order, the
//! other author's transactions it had seen (each kept as the yrs update it produced),
//! then its patches are applied with the room's text API. So each replica's causal
//! record (see `confab_core::causal`) is the trace's: edits the trace marks concurrent
//! are concurrent here. At the end both replicas hold the trace's final text and report
//! the same conflicts.
//!
//! The trace ships with the tests (`core/tests/data/`, CC BY 4.0, see the README there;
//! gzipped JSON, decompressed with the system `gzip`); the test fails when it is missing.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use confab_core::conflict::{Conflict, ConflictKind, Granularity};
use confab_core::model::{Participant, RoomDoc};
use serde::Deserialize;
use yrs::updates::decoder::Decode;
use yrs::{Map, ReadTxn, Transact, Update};

const DOC: &str = "d";
const TRACE: &str = "tests/data/friendsforever.json.gz";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Trace {
    kind: String,
    end_content: String,
    num_agents: usize,
    txns: Vec<Txn>,
}

#[derive(Deserialize)]
struct Txn {
    parents: Vec<usize>,
    agent: usize,
    #[serde(default)]
    time: Option<String>,
    /// `[position, deleted, inserted]`, positions and counts in Unicode scalar values.
    patches: Vec<(usize, usize, String)>,
}

fn load() -> Trace {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(TRACE);
    assert!(
        path.is_file(),
        "the friendsforever trace is missing: expected it at {} (see core/tests/data/README.md)",
        path.display()
    );
    let out = Command::new("gzip")
        .arg("-dc")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gzip to read {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "gzip -dc {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let trace: Trace = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{} is not a trace: {e}", path.display()));
    assert_eq!(trace.kind, "concurrent");
    trace
}

/// Milliseconds since the Unix epoch of an RFC 3339 time such as
/// `1970-01-01T00:00:00+00:00` (seconds may have a fraction; `Z` or `±hh:mm`).
fn parse_time(s: &str) -> Option<u64> {
    let num = |t: &str| t.parse::<i64>().ok();
    let (date, rest) = s.split_once('T')?;
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(k) => rest.split_at(k),
        None => (rest, ""),
    };
    let mut c = clock.split(':');
    let (hh, mm) = (num(c.next()?)?, num(c.next()?)?);
    let secs: f64 = c.next()?.parse().ok()?;
    let offset_min = match offset.as_bytes().first() {
        None | Some(b'Z' | b'z') => 0,
        Some(&sign) => {
            let (oh, om) = offset[1..].split_once(':')?;
            let v = num(oh)? * 60 + num(om)?;
            if sign == b'-' {
                -v
            } else {
                v
            }
        }
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let ms = (days * 86_400 + hh * 3_600 + mm * 60 - offset_min * 60) * 1_000
        + (secs * 1_000.0).round() as i64;
    u64::try_from(ms).ok()
}

/// One author's replica, keeping the update each of its own calls produced.
struct Replica {
    doc: RoomDoc,
    sink: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Replica {
    fn new(client: u64, who: &Participant) -> Self {
        let mut doc = RoomDoc::new(client);
        doc.register_client(client, who);
        let sink: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let s = sink.clone();
        doc.doc()
            .observe_update_v1("capture", move |_, e| {
                s.lock().unwrap().push(e.update.clone());
            })
            .unwrap();
        Replica { doc, sink }
    }

    fn apply(&mut self, update: &[u8]) {
        self.doc
            .doc()
            .transact_mut()
            .apply_update(Update::decode_v1(update).expect("a valid update"))
            .expect("the update applies");
        self.sink.lock().unwrap().clear();
    }

    fn sync_from(&mut self, from: &RoomDoc) {
        let sv = self.doc.doc().transact().state_vector();
        let update = from.doc().transact().encode_diff_v1(&sv);
        self.apply(&update);
    }

    fn take_updates(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.sink.lock().unwrap())
    }
}

fn editor(agent: usize) -> Participant {
    Participant::person(format!("editor{agent}"), format!("Editor {agent}"))
}

/// UTF-16 offset of Unicode scalar offset `pos` in `text`.
fn utf16_offset(text: &str, pos: usize) -> u32 {
    text.chars().take(pos).map(|c| c.len_utf16() as u32).sum()
}

fn show(c: &Conflict) -> String {
    let sides: Vec<String> = c
        .sides
        .iter()
        .map(|s| {
            format!(
                "{} inserted {:?} deleted {:?}",
                s.author.as_ref().map_or("?", |p| p.id.as_str()),
                s.inserted,
                s.deleted
            )
        })
        .collect();
    format!(
        "{} [{}] at {}..{}: before {:?}, current {:?}; {}",
        c.id,
        c.kind.as_str(),
        c.start,
        c.end,
        c.before,
        c.current,
        sides.join(" | ")
    )
}

#[test]
fn friendsforever_replays_with_the_same_conflicts_on_both_replicas() {
    let started = Instant::now();
    let trace = load();
    let n = trace.num_agents;
    assert!(n >= 2, "a concurrent trace has several agents");
    let loaded = started.elapsed();

    // For every transaction, how many of each agent's transactions its parents had
    // seen (`before`), and its index in its agent's own sequence.
    let mut counts = vec![0usize; n];
    let mut seq = Vec::with_capacity(trace.txns.len());
    let mut before: Vec<Vec<usize>> = Vec::with_capacity(trace.txns.len());
    let mut after: Vec<Vec<usize>> = Vec::with_capacity(trace.txns.len());
    for (i, t) in trace.txns.iter().enumerate() {
        let mut b = vec![0usize; n];
        for &p in &t.parents {
            assert!(p < i, "txn {i}: parent {p} comes later");
            for (k, v) in b.iter_mut().enumerate() {
                *v = (*v).max(after[p][k]);
            }
        }
        let own = counts[t.agent];
        assert_eq!(
            b[t.agent], own,
            "txn {i}: agent {} had not seen its own earlier transactions",
            t.agent
        );
        counts[t.agent] += 1;
        let mut a = b.clone();
        a[t.agent] = own + 1;
        seq.push(own);
        before.push(b);
        after.push(a);
    }
    // Positions count Unicode scalar values; with no character outside the BMP in
    // the trace they equal UTF-16 offsets and the text need not be read per patch.
    let astral = trace
        .txns
        .iter()
        .flat_map(|t| &t.patches)
        .any(|p| p.2.chars().any(|c| c.len_utf16() > 1));

    let mut peers: Vec<Replica> = (0..n)
        .map(|a| Replica::new(a as u64 + 1, &editor(a)))
        .collect();
    peers[0]
        .doc
        .create_document(Some(DOC), "Friends forever", 0)
        .unwrap();
    for a in 1..n {
        let (first, rest) = peers.split_at_mut(a);
        rest[0].sync_from(&first[0].doc);
    }
    for a in 1..n {
        let (first, rest) = peers.split_at_mut(a);
        first[0].sync_from(&rest[0].doc);
    }
    for a in 1..n {
        let (first, rest) = peers.split_at_mut(a);
        rest[0].sync_from(&first[0].doc);
    }
    for p in &mut peers {
        p.take_updates();
    }

    // Replay.
    let replay_started = Instant::now();
    // updates[agent][seq]: the updates that transaction produced, in order.
    let mut updates: Vec<Vec<Vec<Vec<u8>>>> = vec![Vec::new(); n];
    // applied[g][o]: how many of agent o's transactions replica g has.
    let mut applied = vec![vec![0usize; n]; n];
    let (mut patches, mut merges, mut remote) = (0usize, 0usize, 0usize);
    for (i, t) in trace.txns.iter().enumerate() {
        let g = t.agent;
        if t.parents.len() > 1 {
            merges += 1;
        }
        for o in (0..n).filter(|&o| o != g) {
            let need = before[i][o];
            assert!(
                applied[g][o] <= need,
                "txn {i}: replica {g} has seen more of agent {o} than the trace says"
            );
            while applied[g][o] < need {
                for u in &updates[o][applied[g][o]] {
                    peers[g].apply(u);
                }
                applied[g][o] += 1;
                remote += 1;
            }
        }
        let peer = &mut peers[g];
        if let Some(ms) = t.time.as_deref().and_then(parse_time) {
            peer.doc.set_time(ms);
        }
        for (pos, del, ins) in &t.patches {
            let (at, len) = if astral {
                let text = peer.doc.document_text(DOC).unwrap();
                let at = utf16_offset(&text, *pos);
                let end = utf16_offset(&text, pos + del);
                (at, end - at)
            } else {
                (*pos as u32, *del as u32)
            };
            let done = match (len, ins.is_empty()) {
                (0, _) => peer.doc.insert_text(DOC, at, ins),
                (_, true) => peer.doc.delete_text(DOC, at, len),
                _ => peer.doc.replace_text(DOC, at, len, ins),
            };
            done.unwrap_or_else(|e| {
                panic!("txn {i} (agent {g}) patch [{pos}, {del}, {ins:?}]: {e}")
            });
            patches += 1;
        }
        assert_eq!(updates[g].len(), seq[i]);
        updates[g].push(peer.take_updates());
        applied[g][g] += 1;
    }
    let replay = replay_started.elapsed();

    // Full sync, both ways.
    for _ in 0..2 {
        for a in 0..n {
            for b in (0..n).filter(|&b| b != a) {
                let (lo, hi) = peers.split_at_mut(a.max(b));
                let (from, to) = if a < b {
                    (&lo[a], &mut hi[0])
                } else {
                    (&hi[0], &mut lo[b])
                };
                to.sync_from(&from.doc);
            }
        }
    }
    for (a, p) in peers.iter().enumerate() {
        let text = p.doc.document_text(DOC).unwrap();
        assert!(
            text == trace.end_content,
            "replica {a} ends with {} chars, the trace with {}; first difference at char {}",
            text.chars().count(),
            trace.end_content.chars().count(),
            text.chars()
                .zip(trace.end_content.chars())
                .take_while(|(x, y)| x == y)
                .count()
        );
    }

    let mut found: Vec<Vec<Conflict>> = Vec::new();
    let mut timings = Vec::new();
    for p in &mut peers {
        let t0 = Instant::now();
        found.push(p.doc.conflicts());
        timings.push(t0.elapsed());
    }
    let t0 = Instant::now();
    let again = peers[0].doc.conflicts();
    let warm = t0.elapsed();
    for (a, list) in found.iter().enumerate().skip(1) {
        assert!(
            *list == found[0],
            "replica {a} reports {} conflicts, replica 0 {}",
            list.len(),
            found[0].len()
        );
    }
    assert!(again == found[0], "asking twice gives another answer");

    let records = |name: &str| {
        let txn = peers[0].doc.doc().transact();
        txn.get_map(name).map_or(0, |m| m.len(&txn))
    };
    let (epochs, deletions) = (records("epochs"), records("deletions"));
    let list = &found[0];
    let kinds = |k: ConflictKind| list.iter().filter(|c| c.kind == k).count();
    eprintln!(
        "friendsforever: {} txns ({merges} merges, {remote} remote applications), {patches} patches, \
         {} chars, {epochs} epoch and {deletions} deletion records; load {loaded:.2?}, replay {replay:.2?}",
        trace.txns.len(),
        trace.end_content.chars().count()
    );
    eprintln!(
        "conflicts(): {timings:.2?} (first call per replica), {warm:.2?} (again); \
         {} conflicts ({} text, {} field, {} stale) at granularity {}",
        list.len(),
        kinds(ConflictKind::Text),
        kinds(ConflictKind::Field),
        kinds(ConflictKind::Stale),
        peers[0].doc.granularity(DOC).as_str()
    );
    for c in list.iter().take(5) {
        eprintln!("  {}", show(c));
    }

    // The same trace judged at the other granularities (a room-wide setting).
    for g in [Granularity::Char, Granularity::Line] {
        peers[0].doc.set_granularity(DOC, g).unwrap();
        let (first, rest) = peers.split_at_mut(1);
        for p in rest {
            p.sync_from(&first[0].doc);
        }
        let t0 = Instant::now();
        let list = peers[0].doc.conflicts();
        let took = t0.elapsed();
        for (a, p) in peers.iter_mut().enumerate().skip(1) {
            assert!(
                p.doc.conflicts() == list,
                "replica {a} differs at {}",
                g.as_str()
            );
        }
        eprintln!(
            "granularity {}: {} conflicts in {took:.2?}",
            g.as_str(),
            list.len()
        );
        for c in list.iter().take(10) {
            eprintln!("  {}", show(c));
        }
    }
}

#[test]
fn trace_times_parse() {
    assert_eq!(parse_time("1970-01-01T00:00:00+00:00"), Some(0));
    assert_eq!(parse_time("2000-01-01T00:00:00Z"), Some(946_684_800_000));
    assert_eq!(
        parse_time("2000-01-01T01:00:00.25+01:00"),
        Some(946_684_800_250)
    );
    assert_eq!(
        parse_time("1999-12-31T19:00:00-05:00"),
        Some(946_684_800_000)
    );
    assert_eq!(parse_time("not a time"), None);
}
