//! The room's conflict scan skips every change its writers' epochs show concurrent with
//! nothing: it must find exactly what the full walk finds.

use proptest::prelude::*;

use super::*;

/// One step of a random session: someone edits, or one replica receives another's
/// changes.
#[derive(Debug, Clone)]
enum Step {
    /// Replica, position (a fraction of the text), length to delete, text to insert.
    Edit(usize, f64, u32, String),
    /// From, to.
    Sync(usize, usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0usize..4, 0.0f64..1.0, 0u32..6, "[a-z ]{0,6}")
            .prop_map(|(who, at, len, text)| Step::Edit(who, at, len, text)),
        2 => (0usize..4, 0usize..4).prop_map(|(a, b)| Step::Sync(a, b)),
    ]
}

/// Three people and an agent on one document; after every few steps and at the end,
/// every replica's conflicts equal the full walk's, at each granularity.
fn check(steps: &[Step], granularity: Granularity) -> std::result::Result<(), TestCaseError> {
    let who = [ada(), bob(), Participant::person("cy", "Cy"), bot()];
    let mut replicas: Vec<RoomDoc> = (0..4).map(|i| RoomDoc::new(i as u64 + 1)).collect();
    for (i, r) in replicas.iter_mut().enumerate() {
        r.register_client(i as u64 + 1, &who[i]);
        r.set_time(1_000 * (i as u64 + 1));
    }
    replicas[0].create_document(Some("d"), "Notes", 0).unwrap();
    replicas[0].insert_text("d", 0, TEXT).unwrap();
    replicas[0].set_granularity("d", granularity).unwrap();
    for i in 1..4 {
        sync(&replicas[0], &replicas[i]);
    }
    let agree = |replicas: &mut [RoomDoc]| -> std::result::Result<(), TestCaseError> {
        for (i, r) in replicas.iter_mut().enumerate() {
            let (fast, full) = (r.conflicts(), r.conflicts_by_full_walk());
            prop_assert!(
                fast == full,
                "replica {}: {:#?}\nfull walk: {:#?}",
                i,
                fast,
                full
            );
        }
        Ok(())
    };
    for (n, s) in steps.iter().enumerate() {
        match s {
            Step::Edit(r, at, len, text) => {
                let doc = &mut replicas[*r];
                let size = doc.document_text("d").unwrap().encode_utf16().count() as u32;
                let from = ((f64::from(size) * at) as u32).min(size);
                let len = (*len).min(size - from);
                doc.replace_text("d", from, len, text).unwrap();
            }
            Step::Sync(a, b) if a != b => sync(&replicas[*a], &replicas[*b]),
            Step::Sync(..) => {}
        }
        if n % 5 == 4 {
            agree(&mut replicas)?;
        }
    }
    for a in 0..4 {
        for b in 0..4 {
            if a != b {
                sync(&replicas[a], &replicas[b]);
            }
        }
    }
    agree(&mut replicas)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_scan_finds_what_the_full_walk_finds(
        steps in proptest::collection::vec(step(), 1..40),
        granularity in prop_oneof![Just(Granularity::Char), Just(Granularity::Word), Just(Granularity::Line)],
    ) {
        check(&steps, granularity)?;
    }
}

#[test]
fn people_taking_turns_need_no_scan_and_have_no_conflict() -> Result<()> {
    let (mut one, mut two) = pair()?;
    for round in 0..5 {
        one.insert_text("d", 0, &format!("Ada {round}. "))?;
        both_ways(&one, &two);
        two.insert_text("d", 0, &format!("Bob {round}. "))?;
        both_ways(&one, &two);
    }
    assert!(one.conflicts().is_empty());
    assert!(one.conflicts_by_full_walk().is_empty());
    // The epochs alone rule out any concurrency: no document is read.
    assert!(!one.overlaps().any());
    // Once both type without seeing each other, they may meet.
    one.insert_text("d", 0, "A")?;
    two.insert_text("d", 0, "B")?;
    both_ways(&one, &two);
    assert!(one.overlaps().any());
    Ok(())
}
