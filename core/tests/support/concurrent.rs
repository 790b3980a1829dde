//! A concurrent editing trace (josephg's format) replayed as one Confab replica per
//! author: shared by `core/tests/friendsforever.rs` and the `native` benchmark.
#![allow(dead_code)] // each user takes what it needs

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use confab_core::doc::{Participant, RoomDoc};
use serde::Deserialize;
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, Transact, Update};

/// The document the trace is written into.
pub const DOC: &str = "d";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    pub kind: String,
    pub end_content: String,
    pub num_agents: usize,
    pub txns: Vec<Txn>,
}

#[derive(Deserialize)]
pub struct Txn {
    pub parents: Vec<usize>,
    pub agent: usize,
    #[serde(default)]
    pub time: Option<String>,
    /// `[position, deleted, inserted]`, positions and counts in Unicode scalar values.
    pub patches: Vec<(usize, usize, String)>,
}

pub fn load(path: &Path) -> Trace {
    assert!(
        path.is_file(),
        "the friendsforever trace is missing: expected it at {} (see core/tests/data/README.md)",
        path.display()
    );
    let out = Command::new("gzip")
        .arg("-dc")
        .arg(path)
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
pub fn parse_time(s: &str) -> Option<u64> {
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
pub struct Replica {
    pub doc: RoomDoc,
    sink: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Replica {
    pub fn new(client: u64, who: &Participant) -> Self {
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

    pub fn apply(&mut self, update: &[u8]) {
        self.doc
            .doc()
            .transact_mut()
            .apply_update(Update::decode_v1(update).expect("a valid update"))
            .expect("the update applies");
        self.sink.lock().unwrap().clear();
    }

    pub fn sync_from(&mut self, from: &RoomDoc) {
        let sv = self.doc.doc().transact().state_vector();
        let update = from.doc().transact().encode_diff_v1(&sv);
        self.apply(&update);
    }

    pub fn take_updates(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.sink.lock().unwrap())
    }
}

pub fn editor(agent: usize) -> Participant {
    Participant::person(format!("editor{agent}"), format!("Editor {agent}"))
}

/// UTF-16 offset of Unicode scalar offset `pos` in `text`.
pub fn utf16_offset(text: &str, pos: usize) -> u32 {
    text.chars().take(pos).map(|c| c.len_utf16() as u32).sum()
}

/// What a replay did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Replayed {
    pub merges: usize,
    pub remote: usize,
    pub patches: usize,
}

/// Replay `trace` on one replica per author. Before each transaction its author's
/// replica is brought to exactly the version the transaction names (the other authors'
/// transactions it had seen, applied in order); `after_merge` runs on that replica
/// whenever it just received others' changes. Returns the replicas (not yet synced in
/// full) and counts.
pub fn replay(
    trace: &Trace,
    mut after_merge: impl FnMut(&mut RoomDoc),
) -> (Vec<Replica>, Replayed) {
    let n = trace.num_agents;
    assert!(n >= 2, "a concurrent trace has several agents");
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
        let mut applied_now = 0;
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
                applied_now += 1;
            }
        }
        if applied_now > 0 {
            after_merge(&mut peers[g].doc);
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
    (
        peers,
        Replayed {
            merges,
            remote,
            patches,
        },
    )
}

/// Bring every replica up to date with every other.
pub fn sync_all(peers: &mut [Replica]) {
    let n = peers.len();
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
}
