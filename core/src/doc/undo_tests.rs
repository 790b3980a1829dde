//! Undo takes back the undoing replica's own last step and nothing of anyone else's.

use std::collections::HashSet;

use proptest::prelude::*;

use super::*;
use crate::doc::{sync_docs as sync, Participant};

/// Every visible character's id in document `d`.
fn visible(doc: &RoomDoc) -> HashSet<(u64, u32)> {
    doc.sequence_chars("d")
        .unwrap()
        .iter()
        .filter(|c| !c.deleted)
        .map(|c| (c.client, c.clock))
        .collect()
}

fn text(doc: &RoomDoc) -> String {
    doc.document_text("d").unwrap()
}

/// Replicas 1..=n sharing document `d`, which holds `start`.
fn replicas(n: u64, start: &str) -> Vec<RoomDoc> {
    let mut all: Vec<RoomDoc> = (1..=n).map(RoomDoc::new).collect();
    for (i, r) in all.iter_mut().enumerate() {
        let id = format!("p{i}");
        r.register_client(i as u64 + 1, &Participant::person(&id, &id));
    }
    all[0].create_document(Some("d"), "Notes", 0).unwrap();
    all[0].insert_text("d", 0, start).unwrap();
    // The document's creation is no one's step to undo.
    all[0].undo_history = History::default();
    for i in 1..all.len() {
        sync(&all[0], &all[i]);
    }
    all
}

#[test]
fn typing_is_grouped_and_undone_step_by_step() -> Result<()> {
    let mut doc = replicas(1, "").remove(0);
    for (i, ch) in "hello".chars().enumerate() {
        doc.set_time(1_000 + i as u64 * 100);
        doc.insert_text("d", i as u32, &ch.to_string())?;
    }
    // A pause longer than the capture time starts a new step.
    doc.set_time(5_000);
    doc.insert_text("d", 5, " world")?;
    assert!(doc.can_undo("d") && !doc.can_redo("d"));
    assert!(doc.undo("d")?.is_some());
    assert_eq!(text(&doc), "hello");
    assert!(doc.undo("d")?.is_some());
    assert_eq!(text(&doc), "");
    assert!(doc.undo("d")?.is_none(), "nothing left to undo");
    assert!(doc.redo("d")?.is_some());
    assert_eq!(text(&doc), "hello");
    assert!(doc.redo("d")?.is_some());
    assert_eq!(text(&doc), "hello world");
    assert!(!doc.can_redo("d"));
    // A new edit after an undo clears what could be redone.
    assert!(doc.undo("d")?.is_some());
    doc.set_time(9_000);
    doc.insert_text("d", 0, ">")?;
    assert!(!doc.can_redo("d"));
    assert_eq!(text(&doc), ">hello");
    Ok(())
}

#[test]
fn undo_keeps_what_others_wrote_meanwhile() -> Result<()> {
    let mut all = replicas(2, "one two three");
    let (a, b) = all.split_at_mut(1);
    let (a, b) = (&mut a[0], &mut b[0]);
    a.replace_text("d", 4, 3, "TWO")?;
    sync(a, b);
    b.insert_text("d", 0, "[b] ")?;
    b.insert_text("d", 11, "!")?;
    sync(b, a);
    assert_eq!(text(a), "[b] one TWO! three");
    assert!(a.undo("d")?.is_some());
    assert_eq!(text(a), "[b] one two! three");
    sync(a, b);
    assert_eq!(text(b), text(a));
    assert!(a.redo("d")?.is_some());
    assert_eq!(text(a), "[b] one TWO! three");
    Ok(())
}

#[test]
fn deleting_someone_elses_text_is_undone_by_writing_it_again() -> Result<()> {
    let mut all = replicas(2, "");
    let (a, b) = all.split_at_mut(1);
    let (a, b) = (&mut a[0], &mut b[0]);
    b.insert_text("d", 0, "Bob's line")?;
    sync(b, a);
    a.replace_text("d", 0, 10, "")?;
    assert_eq!(text(a), "");
    assert!(a.undo("d")?.is_some());
    assert_eq!(text(a), "Bob's line");
    // Bob's step left no trace of its own (Ada's copy is hers): nothing for him to undo.
    sync(a, b);
    assert!(b.can_undo("d"));
    assert!(b.undo("d")?.is_none());
    assert_eq!(text(b), "Bob's line");
    Ok(())
}

#[test]
fn an_agent_turn_is_one_step() -> Result<()> {
    let mut doc = replicas(1, "Intro.\n").remove(0);
    doc.act_for(Some("turn-1"), Some("m"));
    for (i, line) in ["First.\n", "Second.\n", "Third.\n"].iter().enumerate() {
        doc.set_time(10_000 * (i as u64 + 1));
        let end = text(&doc).encode_utf16().count() as u32;
        doc.insert_text("d", end, line)?;
    }
    doc.act_for(Some("turn-2"), Some("m"));
    doc.set_time(40_000);
    doc.insert_text("d", 0, "# ")?;
    doc.act_for(None, None);
    assert!(doc.undo("d")?.is_some());
    assert_eq!(text(&doc), "Intro.\nFirst.\nSecond.\nThird.\n");
    assert!(doc.undo("d")?.is_some());
    assert_eq!(text(&doc), "Intro.\n", "the whole first turn at once");
    Ok(())
}

#[derive(Debug, Clone)]
enum Op {
    /// Replica, position (a fraction of the text), length to delete, text to insert.
    Edit(usize, f64, u32, String),
    Undo(usize),
    Redo(usize),
    /// From, to.
    Sync(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..4, 0.0f64..1.0, 0u32..5, "[a-z]{0,4}")
            .prop_map(|(who, at, len, text)| Op::Edit(who, at, len, text)),
        2 => (0usize..4).prop_map(Op::Undo),
        1 => (0usize..4).prop_map(Op::Redo),
        2 => (0usize..4, 0usize..4).prop_map(|(a, b)| Op::Sync(a, b)),
    ]
}

/// Three people and an agent (replica 3, in turns) edit, undo, redo and sync at random.
fn check(ops: &[Op]) -> std::result::Result<(), TestCaseError> {
    let mut all = replicas(4, "The quick brown fox.");
    let mut now = 1_000;
    for (n, o) in ops.iter().enumerate() {
        now += 700; // past the capture time: each edit is a step of its own
        for r in all.iter_mut() {
            r.set_time(now);
        }
        all[3].act_for(Some(&format!("turn-{}", n / 6)), Some("m"));
        match o {
            Op::Edit(r, at, len, chunk) => {
                let doc = &mut all[*r];
                let size = text(doc).encode_utf16().count() as u32;
                let from = ((f64::from(size) * at) as u32).min(size);
                let len = (*len).min(size - from);
                doc.replace_text("d", from, len, chunk).unwrap();
            }
            Op::Undo(r) => {
                let doc = &mut all[*r];
                let Some(step) = doc
                    .undo_history
                    .docs
                    .get("d")
                    .and_then(|s| s.undo.last().cloned())
                else {
                    prop_assert!(doc.undo("d").unwrap().is_none());
                    continue;
                };
                let before = visible(doc);
                let before_text = text(doc);
                if doc.undo("d").unwrap().is_none() {
                    // Every step left had been wiped out by others: nothing changes.
                    prop_assert_eq!(text(doc), before_text);
                    continue;
                }
                let after = visible(doc);
                let own = doc.doc.client_id().get();
                // Nothing anyone else wrote that was visible went away.
                for id in before.iter().filter(|(c, _)| *c != own) {
                    prop_assert!(after.contains(id), "{id:?} of another writer was removed");
                }
                // Nothing the step inserted is visible any more.
                for &(c, start, end) in &step.inserted {
                    for clock in start..end {
                        prop_assert!(
                            !after.contains(&(c, clock)),
                            "({c}, {clock}) survived its undo"
                        );
                    }
                }
                // Redo at once gives back the same text, and undo again takes it back.
                prop_assert!(doc.redo("d").unwrap().is_some());
                prop_assert_eq!(text(doc), before_text);
                prop_assert!(doc.undo("d").unwrap().is_some());
            }
            Op::Redo(r) => {
                let doc = &mut all[*r];
                let can = doc.can_redo("d");
                prop_assert_eq!(doc.redo("d").unwrap().is_some(), can);
            }
            Op::Sync(a, b) if a != b => sync(&all[*a], &all[*b]),
            Op::Sync(..) => {}
        }
    }
    for a in 0..4 {
        for b in 0..4 {
            if a != b {
                sync(&all[a], &all[b]);
            }
        }
    }
    let first = text(&all[0]);
    for r in &all[1..] {
        prop_assert_eq!(text(r), first.clone(), "replicas diverged");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn undo_takes_back_only_the_undoers_last_step(ops in proptest::collection::vec(op(), 1..40)) {
        check(&ops)?;
    }
}

/// The history survives a reload: what one page kept, the next page (a new client id,
/// the same participant) undoes; someone else on the same device gets nothing.
#[test]
fn a_kept_history_is_undone_on_the_next_page_by_its_owner_only() -> Result<()> {
    let mut all = replicas(2, "one two");
    let (a, b) = all.split_at_mut(1);
    let (a, b) = (&mut a[0], &mut b[0]);
    a.insert_text("d", 7, " three")?;
    a.stop_capturing("d");
    a.replace_text("d", 0, 3, "ONE")?;
    sync(a, b);
    let kept = a.encode_undo_history("p0");

    // The next page: a fresh replica with the room's state and the kept history.
    let mut page = RoomDoc::new(9);
    sync(a, &page);
    let mut stranger = RoomDoc::new(10);
    sync(a, &stranger);
    assert!(!stranger.load_undo_history(&kept, "p1")?, "someone else's");
    assert!(!stranger.can_undo("d"));
    for bad in [&b"not a history"[..], &kept[..kept.len() - 1]] {
        assert_eq!(
            page.load_undo_history(bad, "p0").map_err(|e| e.code()),
            Err("invalid_argument")
        );
    }
    assert!(!page.can_undo("d"), "a refused history changes nothing");
    assert!(page.load_undo_history(&kept, "p0")?);
    assert!(page.undo("d")?.is_some());
    assert_eq!(text(&page), "one two three");
    assert!(page.undo("d")?.is_some());
    assert_eq!(text(&page), "one two");
    assert!(page.undo("d")?.is_none());
    // The next edit is a step of its own, not joined to a kept one.
    assert!(page.redo("d")?.is_some());
    page.insert_text("d", 0, "> ")?;
    assert!(page.undo("d")?.is_some());
    assert_eq!(text(&page), "one two three");
    sync(&page, b);
    assert_eq!(text(b), "one two three");

    // What could be redone comes back too, unless the new page edited already (which
    // cleared it there).
    assert!(a.undo("d")?.is_some());
    let with_redo = a.encode_undo_history("p0");
    let (mut fresh, mut busy) = (RoomDoc::new(11), RoomDoc::new(12));
    sync(a, &fresh);
    sync(a, &busy);
    busy.insert_text("d", 0, "* ")?;
    assert!(fresh.load_undo_history(&with_redo, "p0")?);
    assert!(busy.load_undo_history(&with_redo, "p0")?);
    assert!(fresh.can_redo("d") && !busy.can_redo("d"));
    assert!(busy.can_undo("d"));
    Ok(())
}
