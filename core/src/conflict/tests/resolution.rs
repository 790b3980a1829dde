//! Resolving conflicts: who chose what, what a resolved conflict quotes, and rounds of
//! edits after a resolution.

use super::*;

#[test]
fn a_change_made_while_someone_resolved_is_a_new_conflict_with_the_resolution() -> Result<()> {
    let (mut one, mut two) = figures_in_conflict()?;
    let id = one.conflicts()[0].id.clone();
    // Bob settles it while Ada, who has seen both figures, changes hers again.
    two.resolve_conflict(&id, Choice::Manual, None, Some("$2.7B"), &bob())?;
    let mine = at(&one, "$2.5B");
    one.replace_text("d", mine, 5, "$2.6B")?;
    both_ways(&one, &two);
    // The first collision stays resolved as Bob saw it; Ada's new change and Bob's
    // resolution, made without seeing each other, are a collision of their own.
    let first = one.conflict(&id)?;
    assert_eq!(first.status, ConflictStatus::Resolved);
    assert_eq!(
        first
            .sides
            .iter()
            .map(|s| s.inserted.as_str())
            .collect::<Vec<_>>(),
        ["$2.5B", "$3.2B"]
    );
    let open: Vec<Conflict> = one
        .conflicts()
        .into_iter()
        .filter(|c| c.status == ConflictStatus::Open)
        .collect();
    assert_eq!(open.len(), 1, "{open:#?}");
    assert_ne!(open[0].id, id);
    let authors: Vec<&str> = open[0]
        .sides
        .iter()
        .map(|s| s.author.as_ref().map_or("?", |p| p.id.as_str()))
        .collect();
    assert_eq!(authors, ["ada", "bob"]);
    assert_eq!(open[0].sides[0].inserted, "$2.6B");
    assert_eq!(two.conflicts(), one.conflicts(), "alike on both replicas");
    // Ada lets Bob's figure stand.
    one.resolve_conflict(&open[0].id, Choice::Theirs, None, None, &ada())?;
    both_ways(&one, &two);
    assert!(two
        .conflicts()
        .iter()
        .all(|c| c.status == ConflictStatus::Resolved));
    assert_eq!(two.document_text("d")?, TEXT.replace("$2.0B", "$2.7B"));
    Ok(())
}
#[test]
fn resolving_keeps_a_side_once_and_says_who_chose() -> Result<()> {
    let (mut one, mut two) = figures_in_conflict()?;
    let id = one.conflicts()[0].id.clone();
    assert!(matches!(
        one.resolve_conflict(&id, Choice::Mine, None, None, &bot()),
        Err(Error::NotASide(_))
    ));
    assert!(matches!(
        one.resolve_conflict(&id, Choice::Manual, None, None, &ada()),
        Err(Error::InvalidChoice(_))
    ));
    two.set_time(5_000);
    two.resolve_conflict(&id, Choice::Theirs, None, None, &bob())?;
    both_ways(&one, &two);
    assert_eq!(one.document_text("d")?, TEXT.replace("$2.0B", "$2.5B"));
    let c = one.conflict(&id)?;
    assert_eq!(c.status, ConflictStatus::Resolved);
    let r = c.resolution.expect("a resolution");
    assert_eq!(
        (r.choice, r.side, r.by.id.as_str(), r.at),
        (Choice::Theirs, Some(0), "bob", 5_000.0)
    );
    assert!(matches!(
        one.resolve_conflict(&id, Choice::Mine, None, None, &ada()),
        Err(Error::AlreadyResolved(_))
    ));
    assert_eq!(
        one.conflicts().len(),
        1,
        "the resolution raised no new conflict"
    );
    Ok(())
}
#[test]
fn keeping_the_side_that_edited_inside_a_deletion_restores_the_text() -> Result<()> {
    let (mut one, mut two) = pair()?;
    one.delete_text("d", at(&one, "Costs"), 17)?;
    two.insert_text("d", at(&two, "flat"), "almost ")?;
    both_ways(&one, &two);
    let id = one.conflicts()[0].id.clone();
    one.resolve_conflict(&id, Choice::Side, Some(1), None, &bot())?;
    assert_eq!(
        one.document_text("d")?,
        "Revenue was $2.0B last year.\nCosts were almost flat.\n"
    );
    Ok(())
}
#[test]
fn both_manual_and_ask_the_agent() -> Result<()> {
    for choice in [Choice::Both, Choice::Manual, Choice::Agent] {
        let (mut one, mut two) = figures_in_conflict()?;
        let merged = one.document_text("d")?;
        let id = one.conflicts()[0].id.clone();
        one.resolve_conflict(&id, choice, None, Some("$2.5–3.2B"), &ada())?;
        both_ways(&one, &two);
        let c = two.conflict(&id)?;
        match choice {
            Choice::Both => {
                assert_eq!(two.document_text("d")?, merged);
                assert_eq!(c.status, ConflictStatus::Resolved);
            }
            Choice::Manual => {
                assert_eq!(two.document_text("d")?, TEXT.replace("$2.0B", "$2.5–3.2B"));
                assert_eq!(c.status, ConflictStatus::Resolved);
            }
            _ => {
                assert_eq!(c.status, ConflictStatus::AwaitingAgent);
                assert_eq!(c.asked_by, Some(ada()));
                // Any agent answers with its merge.
                let mut agent = RoomDoc::new(9);
                agent.register_client(9, &bot());
                sync(&two, &agent);
                agent.resolve_conflict(&id, Choice::Manual, None, Some("$2.5B (est.)"), &bot())?;
                sync(&agent, &one);
                let done = one.conflict(&id)?;
                assert_eq!(done.status, ConflictStatus::Resolved);
                assert_eq!(done.asked_by, Some(ada()));
                assert_eq!(done.resolution.map(|r| r.by), Some(bot()));
                assert_eq!(
                    one.document_text("d")?,
                    TEXT.replace("$2.0B", "$2.5B (est.)")
                );
            }
        }
    }
    Ok(())
}
mod resolved_sides {
    use super::*;
    use proptest::prelude::*;

    const NOTE: &str = "The meeting is on Tuesday at noon.";

    /// One side's edit of "Tuesday": delete `len` units at `from` (within the word),
    /// then type `word` there one key at a time, as the demo's notes do.
    fn type_over(doc: &mut RoomDoc, from: u32, len: u32, word: &str) -> Result<()> {
        let i = at(doc, "Tuesday") + from;
        doc.delete_text("d", i, len)?;
        for (k, ch) in word.chars().enumerate() {
            doc.insert_text("d", i + k as u32, &ch.to_string())?;
        }
        Ok(())
    }

    fn inserted_by(c: &Conflict) -> Vec<(String, String)> {
        let mut sides: Vec<_> = c
            .sides
            .iter()
            .map(|s| {
                let who = s.author.as_ref().map_or("?", |p| p.id.as_str()).to_owned();
                (who, s.inserted.clone())
            })
            .collect();
        sides.sort();
        sides
    }

    fn edit() -> impl Strategy<Value = (u32, u32, String)> {
        (0u32..7, 0u32..=7, "[a-zA-Z]{1,8}")
            .prop_map(|(from, len, word)| (from, len.min(7 - from), word))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        /// Whoever resolves, however: a resolved conflict reports as each side's text
        /// exactly what that side typed, on every replica ("Friday" never becomes "Fri").
        #[test]
        fn a_resolved_conflict_quotes_each_side_exactly(
            (a_from, a_len, a_word) in edit(),
            (b_from, b_len, b_word) in edit(),
            how in 0usize..4,
            by_agent in any::<bool>(),
            manual in "[a-z /]{0,12}",
        ) {
            let mut one = RoomDoc::new(1);
            let mut two = RoomDoc::new(2);
            let mut agent = RoomDoc::new(9);
            one.register_client(1, &ada());
            two.register_client(2, &bob());
            agent.register_client(9, &bot());
            one.create_document(Some("d"), "Notes", 0)?;
            one.insert_text("d", 0, NOTE)?;
            both_ways(&one, &two);
            type_over(&mut one, a_from, a_len, &a_word)?;
            type_over(&mut two, b_from, b_len, &b_word)?;
            both_ways(&one, &two);
            sync(&one, &agent);
            let typed = {
                let mut t = vec![("ada".to_owned(), a_word.clone()), ("bob".to_owned(), b_word.clone())];
                t.sort();
                t
            };
            let found = one.conflicts();
            // Two words typed into one word at once always collide.
            prop_assert_eq!(found.len(), 1, "{:#?}", found);
            let c = &found[0];
            prop_assert_eq!(inserted_by(c), typed.clone());
            let (choice, side, text) = match how {
                0 => (Choice::Side, Some(0), None),
                1 => (Choice::Side, Some(1), None),
                2 => (Choice::Both, None, None),
                _ => {
                    // The demo agent's answer: both sides, a " / " between them.
                    let (x, y) = (&c.sides[0].inserted, &c.sides[1].inserted);
                    let glued = [format!("{x}{y}"), format!("{y}{x}")]
                        .into_iter()
                        .find(|g| c.current.contains(g.as_str()));
                    let text = match glued {
                        Some(g) if manual.is_empty() => c.current.replace(&g, &format!("{x} / {y}")),
                        _ => manual.clone(),
                    };
                    (Choice::Manual, None, Some(text))
                }
            };
            if by_agent {
                agent.resolve_conflict(&c.id, choice, side, text.as_deref(), &bot())?;
            } else {
                one.resolve_conflict(&c.id, choice, side, text.as_deref(), &ada())?;
            }
            for _ in 0..2 {
                sync(&agent, &one);
                both_ways(&one, &two);
                sync(&one, &agent);
            }
            for replica in [&mut one, &mut two, &mut agent] {
                let done = replica.conflict(&c.id)?;
                prop_assert_eq!(done.status, ConflictStatus::Resolved);
                prop_assert_eq!(inserted_by(&done), typed.clone());
                prop_assert_eq!(&done.before, &c.before);
                let units: Vec<u16> = replica.document_text("d")?.encode_utf16().collect();
                let now = String::from_utf16_lossy(&units[done.start as usize..done.end as usize]);
                prop_assert_eq!(&done.current, &now, "current is what the room shows there");
            }
        }
    }
}
#[test]
fn each_round_of_edits_to_one_word_is_a_conflict_of_its_own() -> Result<()> {
    let (mut one, mut two) = pair()?;
    let word = |d: &RoomDoc| {
        let t = d.document_text("d").unwrap();
        let s = t.find("was ").unwrap() + 4;
        let e = t.find(" last").unwrap();
        (
            t[..s].encode_utf16().count() as u32,
            t[s..e].encode_utf16().count() as u32,
        )
    };
    let rounds = [("$2.5B", "$3.2B"), ("$2.6B", "$3.0B"), ("$2.8B", "$2.9B")];
    for (round, (a, b)) in rounds.iter().enumerate() {
        let (i, n) = word(&one);
        one.replace_text("d", i, n, a)?;
        let (i, n) = word(&two);
        two.replace_text("d", i, n, b)?;
        both_ways(&one, &two);
        let found = one.conflicts();
        assert_eq!(found.len(), round + 1, "{found:#?}");
        assert_eq!(two.conflicts(), found);
        // Each conflict quotes its own round: what each side typed then, over what
        // both had before it.
        for (k, (x, y)) in rounds[..=round].iter().enumerate() {
            let before = if k == 0 {
                "$2.0B".to_owned()
            } else {
                format!("{}{}", rounds[k - 1].0, rounds[k - 1].1)
            };
            let c = found
                .iter()
                .find(|c| c.before == before)
                .unwrap_or_else(|| panic!("round {k} ({before}) in {found:#?}"));
            let sides: Vec<&str> = c.sides.iter().map(|s| s.inserted.as_str()).collect();
            assert_eq!(sides, [*x, *y], "round {k}");
        }
    }
    Ok(())
}

#[test]
fn an_agents_proposed_merge_waits_for_a_person_who_accepts_or_rejects_it() -> Result<()> {
    let (mut one, mut two) = figures_in_conflict()?;
    let merged = one.document_text("d")?;
    let id = one.conflicts()[0].id.clone();
    one.resolve_conflict(&id, Choice::Agent, None, None, &ada())?;
    let mut agent = RoomDoc::new(9);
    agent.register_client(9, &bot());
    sync(&one, &agent);
    // Nothing to accept before anything is proposed.
    let e = one
        .resolve_conflict(&id, Choice::Proposal, None, None, &ada())
        .expect_err("no proposal yet");
    assert!(e.to_string().contains("no proposed merge"), "{e}");
    agent.propose_merge(&id, "$2.5B", "Ada's figure is the audited one.", &bot())?;
    sync(&agent, &one);
    sync(&agent, &two);
    let c = two.conflict(&id)?;
    assert_eq!(c.status, ConflictStatus::Proposed);
    assert_eq!(c.asked_by, Some(ada()));
    let p = c.proposal.expect("proposal");
    assert_eq!((p.text.as_str(), p.by.clone()), ("$2.5B", bot()));
    assert_eq!(p.rationale, "Ada's figure is the audited one.");
    assert_eq!(
        two.document_text("d")?,
        merged,
        "held: the text is unchanged"
    );
    // Bob turns it down: open again, with nothing proposed.
    two.reject_proposal(&id, &bob())?;
    both_ways(&one, &two);
    sync(&two, &agent);
    let c = one.conflict(&id)?;
    assert_eq!((c.status, c.proposal), (ConflictStatus::Open, None));
    assert!(
        one.reject_proposal(&id, &ada()).is_err(),
        "nothing left to reject"
    );
    // A second proposal, accepted by Ada: her change, with the record of who proposed.
    agent.propose_merge(&id, "$2.5–3.2B", "Both figures, as a range.", &bot())?;
    sync(&agent, &one);
    one.resolve_conflict(&id, Choice::Proposal, None, None, &ada())?;
    both_ways(&one, &two);
    let done = two.conflict(&id)?;
    assert_eq!(done.status, ConflictStatus::Resolved);
    let r = done.resolution.expect("resolution");
    assert_eq!((r.choice, r.by), (Choice::Proposal, ada()));
    assert_eq!(done.proposal.map(|p| p.by), Some(bot()));
    assert_eq!(two.document_text("d")?, TEXT.replace("$2.0B", "$2.5–3.2B"));
    assert_eq!(one.conflicts(), two.conflicts(), "alike on both replicas");
    Ok(())
}

#[test]
fn a_suggested_edit_is_held_with_its_note_until_a_person_accepts_or_rejects_it() -> Result<()> {
    let (mut one, mut two) = pair()?;
    let i = at(&one, "flat");
    let id = one.suggest_edit("d", i, i + 4, "up 3%", "The Q4 report says 3%.", &bot())?;
    both_ways(&one, &two);
    assert_eq!(two.document_text("d")?, TEXT, "held: nothing changed yet");
    let c = two.conflict(&id)?;
    assert_eq!(
        (c.kind, c.held, c.stale),
        (ConflictKind::Suggestion, true, false)
    );
    assert_eq!((c.before.as_str(), c.current.as_str()), ("flat", "flat"));
    let p = c.proposal.expect("the suggestion and its note");
    assert_eq!(
        (p.text.as_str(), p.rationale.as_str()),
        ("up 3%", "The Q4 report says 3%.")
    );
    assert_eq!(p.by, bot());
    // An edit made meanwhile around it moves it along.
    one.insert_text("d", 0, "FY: ")?;
    both_ways(&one, &two);
    two.resolve_conflict(&id, Choice::Side, Some(1), None, &bob())?;
    both_ways(&one, &two);
    assert_eq!(
        one.document_text("d")?,
        format!("FY: {}", TEXT.replace("flat", "up 3%"))
    );
    assert_eq!(one.conflict(&id)?.status, ConflictStatus::Resolved);
    // Rejected, a suggestion changes nothing.
    let j = at(&one, "last year");
    let other = one.suggest_edit("d", j, j + 9, "in 2025", "Name the year.", &bot())?;
    one.resolve_conflict(&other, Choice::Side, Some(0), None, &ada())?;
    assert!(one.document_text("d")?.contains("last year"));
    assert!(
        one.suggest_edit("d", 5, 9_999, "x", "", &bot()).is_err(),
        "out of range"
    );
    Ok(())
}
