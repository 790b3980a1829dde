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
//! the same conflicts — exactly the ones pinned below.
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

/// The one conflict at the default granularity (see the test).
const WORD_CONFLICT: &str = "t0a62c4f80e13fb2b";

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
    // The trace's own shape (counted from its JSON): one patch per transaction, and
    // 2,258 transactions with two parents (an author catching up with the other's edits).
    assert_eq!((trace.txns.len(), patches, merges), (26_078, 26_078, 2_258));
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

    // The conflicts, pinned (computed once, then checked against the trace by hand).
    // The two authors mostly type in different places; the one place they collide at
    // the default granularity (the same word) is around char 3798, transactions
    // 22359–22377 of the trace:
    // - from version 22359 ("…X." with "." at 3798), editor1 types " The" after the "."
    //   (22360–22363) while editor0 deletes the "." and types ", hu" (22364–22368);
    // - editor0 then catches up with editor1's first " " only (22376 merges 22360) and
    //   types "h?"; editor1 catches up with the deletion only (22369) and types " whole ".
    // The text ends ", huh? The whole ". editor0's ", hu" and editor1's " " were
    // written without either seeing the other, and only "h?" lies between them — text
    // editor0 wrote later, after seeing that " ", which separates them at char
    // granularity (any text written after a change does) but is no word boundary
    // (no whitespace). So: one text conflict at word granularity, none at char.
    assert_eq!(
        (
            list.len(),
            kinds(ConflictKind::Field),
            kinds(ConflictKind::Stale)
        ),
        (1, 0, 0),
        "{:#?}",
        list.iter().map(show).collect::<Vec<_>>()
    );
    let word = &list[0];
    assert_eq!(word.kind, ConflictKind::Text);
    assert_eq!(word.id, WORD_CONFLICT);
    assert_eq!(
        (
            word.start,
            word.end,
            word.before.as_str(),
            word.current.as_str()
        ),
        (3798, 3815, ".", ", huh? The whole ")
    );
    let sides: Vec<(&str, &str, &str)> = word
        .sides
        .iter()
        .map(|s| {
            (
                s.author.as_ref().map_or("?", |p| p.id.as_str()),
                s.inserted.as_str(),
                s.deleted.as_str(),
            )
        })
        .collect();
    assert_eq!(
        sides,
        [("editor0", ", huh?", "."), ("editor1", " The whole ", "")]
    );

    // The same trace judged at the other granularities (a room-wide setting). A coarser
    // granularity only joins more changes: char ⊆ word ⊆ line. At char: none (above).
    // At line: the word conflict and two more, each two concurrent edits far apart on
    // one line: on the first line editor0 appends " win" while editor1 inserts "n "
    // near its start, and around char 1057 editor0 types "e means th" while editor1
    // deletes a "t" earlier on the line.
    let pinned: [(Granularity, &[&str]); 2] = [
        (Granularity::Char, &[]),
        (
            Granularity::Line,
            &["t04c66b3706876d42", WORD_CONFLICT, "t10146fe66f3e493a"],
        ),
    ];
    for (g, ids) in pinned {
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
        let found: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(found, ids, "conflicts at granularity {}", g.as_str());
        assert!(list.iter().all(|c| c.kind == ConflictKind::Text));
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

/// The room's scan skips every change that the writers' epochs show concurrent with
/// nothing. Along the whole replay (every 40th merge, on the replica that merged) and at
/// the end, it finds exactly what the full walk finds.
#[test]
fn the_room_finds_what_the_full_walk_finds_along_the_trace() {
    let trace = load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(TRACE));
    let mut merges = 0usize;
    let mut compared = 0usize;
    let (mut peers, _) = replay(&trace, |doc| {
        merges += 1;
        if merges % 40 == 0 {
            let fast = doc.conflicts();
            let full = doc.conflicts_by_full_walk();
            assert!(
                fast == full,
                "after merge {merges}: {fast:#?}\nthe full walk: {full:#?}"
            );
            compared += 1;
        }
    });
    sync_all(&mut peers);
    for p in &mut peers {
        for granularity in [Granularity::Char, Granularity::Word, Granularity::Line] {
            p.doc.set_granularity(DOC, granularity).unwrap();
            assert!(p.doc.conflicts() == p.doc.conflicts_by_full_walk());
        }
    }
    assert!(compared >= 50, "only {compared} comparisons");
}
