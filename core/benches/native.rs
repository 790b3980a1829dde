//! Native contestants for `make bench`: `cargo bench -p confab-core --bench native --
//! <scenario> <contestant> <input>` prints one JSON line `{ "ms": .., "ok": .. }`.
//!
//! - `local yrs <trace>`: the trace replayed through yrs's own `Text` API, one
//!   transaction per trace transaction (the "yrs native" contestant).
//! - `local core <trace>`: the same through Confab's `RoomDoc` (what the wasm API runs).
//! - `merge plain|detect friendsforever`: the concurrent trace as two peers, without and
//!   with conflict detection.
//! - `detect filtered|full <trace>`: one writer's trace replayed, then the room's
//!   conflicts asked once (what a client's poll after typing costs), with the epochs'
//!   pre-filter or by the full walk.
//! - `presence session <n>`: scenario 4, one simulated second of `n` participants moving
//!   their cursors at 20 Hz through Confab's `Session`, every update applied by an observer.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "../tests/support/concurrent.rs"]
mod concurrent;

use confab_core::doc::RoomDoc;
use serde::Deserialize;
use yrs::updates::decoder::Decode;
use yrs::{GetString, Text, Transact};

#[derive(Deserialize)]
struct Trace {
    #[serde(rename = "endContent")]
    end_content: String,
    txns: Vec<Txn>,
}

#[derive(Deserialize)]
struct Txn {
    patches: Vec<(u32, u32, String)>,
}

fn data_dir() -> PathBuf {
    std::env::var_os("CONFAB_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench-data")
        })
}

fn gunzip(path: PathBuf) -> String {
    let mut child = Command::new("gzip")
        .arg("-dc")
        .arg(&path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip runs");
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut out)
        .expect("utf-8 JSON");
    assert!(
        child.wait().expect("gzip ends").success(),
        "gzip -dc {}",
        path.display()
    );
    out
}

fn trace(name: &str) -> Trace {
    if name == "random-100k" {
        return random_inserts(100_000);
    }
    let file = match name {
        "automerge-paper" => "josephg-editing-traces/sequential_traces/automerge-paper.json.gz",
        "seph-blog1" => "josephg-editing-traces/sequential_traces/ascii_only/seph-blog1.json.gz",
        "rustcode" => "josephg-editing-traces/sequential_traces/ascii_only/rustcode.json.gz",
        other => panic!("unknown trace {other}"),
    };
    serde_json::from_str(&gunzip(data_dir().join(file))).expect("a trace")
}

/// The same pseudo-random sequence as tests/bench/contestants.mjs.
fn random_inserts(count: usize) -> Trace {
    let mut seed: u32 = 0x9e37_79b9;
    let mut chars: Vec<char> = Vec::new();
    let mut txns = Vec::new();
    for i in 0..count {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let pos = ((f64::from(seed) / 4_294_967_296.0) * (chars.len() + 1) as f64) as usize;
        let ch = char::from(b'a' + (i % 26) as u8);
        chars.insert(pos, ch);
        txns.push(Txn {
            patches: vec![(pos as u32, 0, ch.to_string())],
        });
    }
    Trace {
        end_content: chars.into_iter().collect(),
        txns,
    }
}

fn local_yrs(t: &Trace) -> (f64, bool) {
    let doc = yrs::Doc::new();
    let text = doc.get_or_insert_text("text");
    let start = Instant::now();
    for txn in &t.txns {
        let mut tx = doc.transact_mut();
        for (pos, del, ins) in &txn.patches {
            if *del > 0 {
                text.remove_range(&mut tx, *pos, *del);
            }
            if !ins.is_empty() {
                text.insert(&mut tx, *pos, ins);
            }
        }
    }
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let ok = text.get_string(&doc.transact()) == t.end_content;
    (ms, ok)
}

/// Through the room document, with its undo history kept (`undo`) or not.
fn local_core(t: &Trace, undo: bool) -> (f64, bool) {
    let mut doc = RoomDoc::new(1);
    doc.set_undo_tracking(undo);
    doc.create_document(Some("d"), "Bench", 0)
        .expect("a document");
    let start = Instant::now();
    for txn in &t.txns {
        for (pos, del, ins) in &txn.patches {
            doc.replace_text("d", *pos, *del, ins)
                .expect("an edit in range");
        }
    }
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let ok = doc.document_text("d").expect("the document") == t.end_content;
    (ms, ok)
}

/// Through a client `Session`, as the wasm `Room` drives it: each edit's update is
/// encoded for the outbox and drained, as when offline.
fn local_session(t: &Trace) -> (f64, bool) {
    let me = confab_core::doc::Participant::person("bench", "Bench");
    let mut session = confab_core::client::session::Session::new(1, me, 0);
    session
        .doc_mut()
        .create_document(Some("d"), "Bench", 0)
        .expect("a document");
    let start = Instant::now();
    for txn in &t.txns {
        for (pos, del, ins) in &txn.patches {
            session
                .doc_mut()
                .replace_text("d", *pos, *del, ins)
                .expect("an edit in range");
            session.drain_outgoing();
        }
    }
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let ok = session.doc().document_text("d").expect("the document") == t.end_content;
    (ms, ok)
}

/// Scenario 3: the concurrent friendsforever trace as two replicas, merging each
/// transaction's parents; `detect` also asks for the room's conflicts on the replica
/// that just merged, as a client would after every remote change.
fn merge(detect: bool) -> (f64, bool) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/friendsforever.json.gz");
    let trace = concurrent::load(&path);
    let start = Instant::now();
    let mut found = 0usize;
    let (mut peers, _) = concurrent::replay(&trace, |doc| {
        if detect {
            found = found.max(doc.conflicts().len());
        }
    });
    concurrent::sync_all(&mut peers);
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let ok = peers.iter().all(|p| {
        p.doc.document_text(concurrent::DOC).ok().as_deref() == Some(trace.end_content.as_str())
    });
    (ms, ok)
}

/// Scenario 3, second part: a one-writer trace replayed, then one `conflicts()` call,
/// timed alone. `ok`: nothing found (one writer cannot collide with itself).
fn detect_once(t: &Trace, full: bool) -> (f64, bool) {
    let mut doc = RoomDoc::new(1);
    doc.create_document(Some("d"), "Bench", 0)
        .expect("a document");
    for txn in &t.txns {
        for (pos, del, ins) in &txn.patches {
            doc.replace_text("d", *pos, *del, ins)
                .expect("an edit in range");
        }
    }
    let start = Instant::now();
    let found = if full {
        doc.conflicts_by_full_walk()
    } else {
        doc.conflicts()
    };
    let ms = start.elapsed().as_secs_f64() * 1e3;
    (ms, found.is_empty())
}

/// Scenario 4: `n` participants in one 2,000-character document each move their cursor
/// 20 times (one simulated second at 20 Hz): each update is made by the participant's
/// session (a relative position, encoded as an awareness update) and applied by an
/// observer's session. `ok`: the observer sees every participant's last cursor.
fn presence(n: usize) -> (f64, bool) {
    use confab_core::client::session::Session;
    use confab_core::doc::Participant;
    let mut seed = Session::new(1, Participant::person("seed", "Seed"), 0);
    seed.doc_mut()
        .create_document(Some("d"), "Doc", 0)
        .expect("a document");
    seed.doc_mut()
        .insert_text("d", 0, &"lorem ipsum ".repeat(167)[..2000])
        .expect("text");
    let state = {
        let txn = seed.doc().doc().transact();
        yrs::ReadTxn::encode_state_as_update_v1(&txn, &yrs::StateVector::default())
    };
    let joined = |id: u64, name: &str| {
        let mut s = Session::new(id, Participant::person(name, name), 0);
        let update = yrs::Update::decode_v1(&state).expect("the seed's state");
        s.doc_mut()
            .doc()
            .transact_mut()
            .apply_update(update)
            .expect("applies");
        s
    };
    let mut people: Vec<Session> = (0..n)
        .map(|i| joined(10 + i as u64, &format!("p{i}")))
        .collect();
    let mut observer = joined(5, "observer");
    let mut rng = 0x2545_f491_u32;
    let mut last = vec![0u32; n];
    let start = Instant::now();
    for tick in 0..20u64 {
        for (i, p) in people.iter_mut().enumerate() {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            let pos = rng % 2000;
            last[i] = pos;
            p.set_cursor("d", pos, pos).expect("a cursor in range");
            for frame in p.drain_outgoing() {
                observer
                    .receive(&frame, tick * 50)
                    .expect("the observer applies it");
            }
        }
    }
    let ms = start.elapsed().as_secs_f64() * 1e3;
    // Resolving every cursor is what a client does to draw them, once per frame: not
    // per update, so not timed.
    let seen = observer.presence();
    let ok = people.iter().zip(&last).all(|(p, pos)| {
        seen.iter().any(|peer| {
            peer.client_id == p.client_id()
                && peer
                    .cursor
                    .as_ref()
                    .is_some_and(|c| c.anchor == *pos && c.document == "d")
        })
    });
    (ms, ok)
}

/// Peak resident memory of this process so far, in MiB (Linux; 0 elsewhere).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Scenario 2: a whole document as one update, bytes in, text out, through yrs (what
/// Confab's core and edge run); memory is the growth of peak RSS over the bytes read.
fn load_yrs(name: &str) -> (f64, bool, f64, usize) {
    let (file, v2) = match name {
        "S1" => ("josephg-egwalker-paper/datasets/S1.yjs", true),
        "S2" => ("josephg-egwalker-paper/datasets/S2.yjs", true),
        "C1" => ("josephg-egwalker-paper/datasets/C1.yjs", true),
        "B4" => ("y-crdt/assets/bench-input/b4-update.bin", false),
        other => panic!("unknown document {other}"),
    };
    let bytes = std::fs::read(data_dir().join(file)).expect("the document file");
    let before = peak_rss_mb();
    let start = Instant::now();
    let update = if v2 {
        yrs::Update::decode_v2(&bytes)
    } else {
        yrs::Update::decode_v1(&bytes)
    }
    .expect("a valid update");
    let doc = RoomDoc::new(1);
    doc.doc()
        .transact_mut()
        .apply_update(update)
        .expect("the update applies");
    let text = {
        let txn = doc.doc().transact();
        yrs::ReadTxn::get_text(&txn, "text")
            .map(|t| t.get_string(&txn))
            .unwrap_or_default()
    };
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let chars = text.chars().count();
    (ms, chars > 0, peak_rss_mb() - before, chars)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [scenario, contestant, input] = args.as_slice() else {
        eprintln!("usage: native <scenario> <contestant> <input>");
        std::process::exit(2);
    };
    if (scenario.as_str(), contestant.as_str()) == ("load", "yrs") {
        let (ms, ok, mem, chars) = load_yrs(input);
        println!(
            "{}",
            serde_json::json!({ "ms": ms, "ok": ok, "memMB": mem, "chars": chars })
        );
        return;
    }
    let (ms, ok) = match (scenario.as_str(), contestant.as_str()) {
        ("local", "yrs") => local_yrs(&trace(input)),
        ("local", "core") => local_core(&trace(input), true),
        ("local", "core-untracked") => local_core(&trace(input), false),
        ("local", "session") => local_session(&trace(input)),
        ("merge", "plain") => merge(false),
        ("merge", "detect") => merge(true),
        ("detect", "filtered") => detect_once(&trace(input), false),
        ("detect", "full") => detect_once(&trace(input), true),
        ("presence", "session") => presence(input.parse().expect("a participant count")),
        _ => {
            eprintln!("unknown {scenario}/{contestant}");
            std::process::exit(2);
        }
    };
    println!("{}", serde_json::json!({ "ms": ms, "ok": ok }));
}
