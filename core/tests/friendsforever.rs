//! Replay of a real concurrent editing trace through conflict detection:
//! `friendsforever` from josephg's editing traces (two people writing one document,
//! sometimes at once), on two replicas, one per author.
//!
//! Every transaction of the trace names the versions it was made on (`parents`); its
//! author's replica is first brought to exactly that version by applying, in order, the
//! other author's transactions it had seen (each kept as the yrs update it produced),
//! then its patches are applied with the room's text API. So each replica's causal
//! record (see `confab_core::doc::causal`) is the trace's: edits the trace marks concurrent
//! are concurrent here. At the end both replicas hold the trace's final text and report
//! the same conflicts.
//!
//! The trace ships with the tests (`core/tests/data/`, CC BY 4.0, see the README there;
//! gzipped JSON, decompressed with the system `gzip`); the test fails when it is missing.

mod support {
    pub mod concurrent;
}

use std::path::PathBuf;
use std::time::Instant;

use confab_core::conflict::{Conflict, ConflictKind, Granularity};
use support::concurrent::{load, parse_time, replay, sync_all, DOC};
use yrs::{Map, ReadTxn, Transact};

const TRACE: &str = "tests/data/friendsforever.json.gz";

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
    let trace = load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(TRACE));
    let loaded = started.elapsed();
    let replay_started = Instant::now();
    let (mut peers, counts) = replay(&trace, |_| {});
    let replay = replay_started.elapsed();
    let (merges, remote, patches) = (counts.merges, counts.remote, counts.patches);
    sync_all(&mut peers);
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
