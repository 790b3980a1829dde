//! Unit tests.

use super::*;
use crate::doc::sync_docs as sync;

const TEXT: &str = "Revenue was $2.0B last year.\nCosts were flat.\n";

fn ada() -> Participant {
    Participant::person("ada", "Ada")
}

fn bob() -> Participant {
    Participant::person("bob", "Bob")
}

fn bot() -> Participant {
    Participant::agent("bot", "Bot")
}

/// Two replicas (Ada on client 1, Bob on client 2) sharing document `d`.
fn pair() -> Result<(RoomDoc, RoomDoc)> {
    let mut one = RoomDoc::new(1);
    let mut two = RoomDoc::new(2);
    one.register_client(1, &ada());
    two.register_client(2, &bob());
    one.set_time(1_000);
    two.set_time(2_000);
    one.create_document(Some("d"), "Report", 0)?;
    one.insert_text("d", 0, TEXT)?;
    sync(&one, &two);
    sync(&two, &one);
    Ok((one, two))
}

fn both_ways(one: &RoomDoc, two: &RoomDoc) {
    sync(one, two);
    sync(two, one);
}

/// Two replicas that replaced `$2.0B` without seeing each other (Ada `$2.5B`, Bob
/// `$3.2B`), merged both ways: one conflict.
fn figures_in_conflict() -> Result<(RoomDoc, RoomDoc)> {
    let (mut one, mut two) = pair()?;
    let i = at(&one, "$2.0B");
    one.replace_text("d", i, 5, "$2.5B")?;
    two.replace_text("d", i, 5, "$3.2B")?;
    both_ways(&one, &two);
    Ok((one, two))
}

fn at(doc: &RoomDoc, needle: &str) -> u32 {
    let text = doc.document_text("d").unwrap();
    let byte = text.find(needle).expect("needle in text");
    text[..byte].encode_utf16().count() as u32
}

fn ids(doc: &mut RoomDoc) -> Vec<String> {
    doc.conflicts().into_iter().map(|c| c.id).collect()
}

#[test]
fn concurrent_replacements_of_one_span_conflict_alike_everywhere() -> Result<()> {
    let (mut one, mut two) = pair()?;
    let i = at(&one, "$2.0B");
    one.replace_text("d", i, 5, "$2.5B")?;
    two.replace_text("d", i, 5, "$3.2B")?;
    both_ways(&one, &two);
    let text = one.document_text("d")?;
    assert!(
        text.contains("$2.5B$3.2B") || text.contains("$3.2B$2.5B"),
        "{text}"
    );
    let found = one.conflicts();
    assert_eq!(found.len(), 1, "{found:#?}");
    let c = &found[0];
    assert_eq!(c.kind, ConflictKind::Text);
    assert_eq!(c.doc.as_deref(), Some("d"));
    assert_eq!(c.before, "$2.0B");
    assert_eq!(c.status, ConflictStatus::Open);
    let sides: Vec<(&str, &str, &str)> = c
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
        [("ada", "$2.5B", "$2.0B"), ("bob", "$3.2B", "$2.0B")]
    );
    assert_eq!(c.current.len(), 10);
    let units: Vec<u16> = text.encode_utf16().collect();
    assert_eq!(
        String::from_utf16_lossy(&units[c.start as usize..c.end as usize]),
        c.current
    );
    assert_eq!(
        ids(&mut two),
        vec![c.id.clone()],
        "the same record on both replicas"
    );
    Ok(())
}

#[test]
fn a_side_is_only_what_the_other_had_not_seen() -> Result<()> {
    // Ada writes the text and then edits it in one stretch (one epoch: she hears
    // nothing from Bob in between); Bob saw the text, not her edit.
    let mut one = RoomDoc::new(1);
    let mut two = RoomDoc::new(2);
    one.register_client(1, &ada());
    one.create_document(Some("d"), "Report", 0)?;
    one.insert_text("d", 0, TEXT)?;
    sync(&one, &two);
    two.register_client(2, &bob());
    let i = at(&one, "$2.0B");
    one.replace_text("d", i, 5, "$2.5B")?;
    two.replace_text("d", i, 5, "$3.2B")?;
    both_ways(&one, &two);
    let c = one.conflicts().remove(0);
    let sides: Vec<(&str, &str)> = c
        .sides
        .iter()
        .map(|s| (s.inserted.as_str(), s.deleted.as_str()))
        .collect();
    assert_eq!(sides, [("$2.5B", "$2.0B"), ("$3.2B", "$2.0B")]);
    assert_eq!(
        c.before, "$2.0B",
        "Ada's own earlier text is what both started from"
    );
    let bobs = c.sides.iter().position(|s| s.client == 2).unwrap();
    one.resolve_conflict(&c.id, Choice::Side, Some(bobs), None, &ada())?;
    assert_eq!(one.document_text("d")?, TEXT.replace("$2.0B", "$3.2B"));
    Ok(())
}

#[test]
fn deleting_the_same_text_twice_is_no_conflict() -> Result<()> {
    let (mut one, mut two) = pair()?;
    one.delete_text("d", at(&one, " last year"), 10)?;
    two.delete_text("d", at(&two, " last year"), 10)?;
    both_ways(&one, &two);
    assert_eq!(one.document_text("d")?, TEXT.replace(" last year", ""));
    assert!(one.conflicts().is_empty());
    Ok(())
}

#[test]
fn reading_an_old_version_on_one_replica_changes_no_conflict() -> Result<()> {
    // Ada types " again" in two steps with a version in between; Bob appends at the
    // same spot. Reading that version splits Ada's text on Bob's replica only.
    let mut one = RoomDoc::new(1);
    let mut two = RoomDoc::new(2);
    one.create_document(Some("d"), "D", 0)?;
    one.insert_text("d", 0, "Hello world")?;
    sync(&one, &two);
    one.insert_text("d", 11, " ag")?;
    let v = one.create_version("mid", &ada(), 1)?;
    one.insert_text("d", 14, "ain")?;
    two.insert_text("d", 11, "!!")?;
    both_ways(&one, &two);
    let before = ids(&mut two);
    assert_eq!(two.document_at(&v, "d")?, "Hello world ag");
    let found = two.conflicts();
    assert_eq!(
        found.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        before
    );
    assert_eq!(found, one.conflicts());
    assert_eq!(found[0].sides[0].inserted, " again");
    Ok(())
}

#[test]
fn sequential_edits_and_distant_concurrent_edits_are_not_conflicts() -> Result<()> {
    let (mut one, mut two) = pair()?;
    // Sequential: Bob saw Ada's replacement before replacing it again.
    let i = at(&one, "$2.0B");
    one.replace_text("d", i, 5, "$2.5B")?;
    both_ways(&one, &two);
    two.replace_text("d", i, 5, "$3.2B")?;
    both_ways(&one, &two);
    // Concurrent, but in different paragraphs (lines).
    let c = at(&one, "flat");
    one.insert_text("d", 0, "Q3: ")?;
    two.replace_text("d", c, 4, "down")?;
    both_ways(&one, &two);
    assert_eq!(
        one.document_text("d")?,
        "Q3: Revenue was $3.2B last year.\nCosts were down.\n"
    );
    assert!(one.conflicts().is_empty(), "{:#?}", one.conflicts());
    assert!(two.conflicts().is_empty());
    Ok(())
}

#[test]
fn granularity_decides_how_close_is_too_close() -> Result<()> {
    let (mut one, mut two) = pair()?;
    // Same line, different words.
    one.replace_text("d", at(&one, "Revenue"), 7, "Income")?;
    two.replace_text("d", at(&two, "last"), 4, "this")?;
    both_ways(&one, &two);
    assert_eq!(one.granularity("d"), Granularity::Word);
    assert!(one.conflicts().is_empty(), "different words do not collide");
    one.set_granularity("d", Granularity::Line)?;
    both_ways(&one, &two);
    let line = one.conflicts();
    assert_eq!(line.len(), 1, "the same line does");
    assert_eq!(ids(&mut two), [line[0].id.clone()]);
    one.set_granularity("d", Granularity::Char)?;
    both_ways(&one, &two);
    assert!(one.conflicts().is_empty());
    Ok(())
}

#[test]
fn adjacent_insertions_and_edits_inside_a_deleted_span_conflict() -> Result<()> {
    // One spot: both insert right after "year".
    let (mut one, mut two) = pair()?;
    let i = at(&one, ".\nCosts");
    one.insert_text("d", i, " (audited)")?;
    two.insert_text("d", i, " (estimate)")?;
    both_ways(&one, &two);
    assert_eq!(one.conflicts().len(), 1);
    // A delete racing an edit inside it.
    let (mut one, mut two) = pair()?;
    let s = at(&one, "Costs");
    one.delete_text("d", s, 17)?; // "Costs were flat.\n"
    two.insert_text("d", at(&two, "flat"), "almost ")?;
    both_ways(&one, &two);
    assert_eq!(
        one.document_text("d")?,
        "Revenue was $2.0B last year.\nalmost "
    );
    let found = one.conflicts();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].sides[0].deleted, "Costs were flat.\n");
    assert_eq!(found[0].sides[1].inserted, "almost ");
    assert_eq!(ids(&mut two), [found[0].id.clone()]);
    Ok(())
}

#[test]
fn any_delivery_order_gives_the_same_conflicts() -> Result<()> {
    let (mut one, mut two) = pair()?;
    let mut three = RoomDoc::new(3);
    three.register_client(3, &bot());
    sync(&one, &three);
    let i = at(&one, "$2.0B");
    one.replace_text("d", i, 5, "$2.5B")?;
    two.replace_text("d", i, 5, "$3.2B")?;
    three.replace_text("d", i + 1, 3, "9.9")?;
    // Different orders: one ← three ← two, two ← one ← three, three ← two ← one.
    sync(&three, &one);
    sync(&two, &one);
    sync(&one, &two);
    sync(&three, &two);
    sync(&two, &three);
    sync(&one, &three);
    let reference = ids(&mut one);
    assert_eq!(
        reference.len(),
        3,
        "three pairs collide: {:#?}",
        one.conflicts()
    );
    assert_eq!(ids(&mut two), reference);
    assert_eq!(ids(&mut three), reference);
    Ok(())
}

#[test]
fn concurrent_conversation_renames_conflict_like_document_renames() -> Result<()> {
    let (mut one, mut two) = pair()?;
    let alice = Participant::person("alice", "Alice");
    one.create_conversation(Some("c"), "Ideas", &alice, 1)?;
    both_ways(&one, &two);
    one.set_conversation_title("c", "Launch ideas")?;
    both_ways(&one, &two);
    assert_eq!(two.conversations()[0].title, "Launch ideas");
    assert!(
        one.conflicts().is_empty(),
        "a rename after a rename is no conflict"
    );
    one.set_conversation_title("c", "Q3 ideas")?;
    two.set_conversation_title("c", "Launch plan")?;
    both_ways(&one, &two);
    let found = one.conflicts();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].field.as_deref(), Some("conversations/c/title"));
    assert!(matches!(
        one.set_conversation_title("c", " "),
        Err(Error::Empty("title"))
    ));
    assert!(one.set_conversation_title("nope", "x").is_err());
    Ok(())
}

#[test]
fn concurrent_field_writes_keep_both_values() -> Result<()> {
    let (mut one, mut two) = pair()?;
    one.set_document_title("d", "Q3 report")?;
    two.set_document_title("d", "Annual report")?;
    both_ways(&one, &two);
    let kept = one.documents()[0].title.clone();
    assert_eq!(two.documents()[0].title, kept, "the CRDT kept one");
    let found = one.conflicts();
    assert_eq!(found.len(), 1);
    let c = &found[0];
    assert_eq!(
        (c.kind, c.field.as_deref()),
        (ConflictKind::Field, Some("documents/d/title"))
    );
    let values: Vec<&str> = c.sides.iter().map(|s| s.inserted.as_str()).collect();
    assert_eq!(
        values,
        ["Q3 report", "Annual report"],
        "the dropped value is kept"
    );
    assert_eq!(c.current, kept);
    assert_eq!(ids(&mut two), vec![c.id.clone()]);
    // Sequential renames are no conflict; the loser picks its own value back.
    let loser = if kept == "Q3 report" {
        (&mut two, bob())
    } else {
        (&mut one, ada())
    };
    loser
        .0
        .resolve_conflict(&c.id, Choice::Mine, None, None, &loser.1)?;
    both_ways(&one, &two);
    assert_ne!(one.documents()[0].title, kept);
    assert_eq!(one.conflicts().len(), 1);
    Ok(())
}

#[test]
fn a_turn_finished_while_someone_stopped_it_and_two_context_edits_conflict() -> Result<()> {
    let (mut one, mut two) = pair()?;
    one.create_conversation(Some("c"), "Chat", &ada(), 0)?;
    let turn = one.open_turn("c", &bot(), crate::model::Role::Assistant, 1, 0)?;
    let draft = crate::model::context::ContextDraft {
        kind: crate::model::context::ContextKind::Decision,
        text: "Ship on Friday".into(),
        tags: vec![],
        refs: vec![],
    };
    let entry = one.propose_context(&draft, &ada(), 0)?;
    both_ways(&one, &two);
    one.finish_turn(&turn)?;
    two.request_stop(&turn, &bob(), 3)?;
    one.edit_context(&entry, "Ship on Monday")?;
    two.edit_context(&entry, "Ship next week")?;
    both_ways(&one, &two);
    let mut fields: Vec<(String, Vec<String>)> = one
        .conflicts()
        .into_iter()
        .map(|c| {
            (
                c.field.unwrap_or_default(),
                c.sides.into_iter().map(|s| s.inserted).collect(),
            )
        })
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            (
                format!("context/{entry}/text"),
                vec!["Ship on Monday".to_owned(), "Ship next week".to_owned()]
            ),
            (
                format!("messages/{turn}/status"),
                vec!["done".to_owned(), "stopped".to_owned()]
            ),
        ]
    );
    assert!(matches!(
        one.edit_context("nope", "x"),
        Err(Error::UnknownContextEntry(_))
    ));
    Ok(())
}

#[test]
fn a_stale_agent_write_is_held_or_applied_by_policy() -> Result<()> {
    let (mut person, mut agent) = pair()?;
    agent.act_for(Some("turn-7"), Some("gpt-x"));
    let read = agent.read_document("d")?;
    let (s, e) = (0, 28); // "Revenue was $2.0B last year."
                          // The person edits inside that sentence after the agent read it.
    person.replace_text("d", at(&person, "2.0"), 3, "2.1")?;
    both_ways(&person, &agent);
    let out = agent.write_based("d", s, e, "Revenue grew to $2.5B.", &read.base, &bot())?;
    assert!(!out.applied, "held by the default policy");
    assert_eq!(agent.document_text("d")?, TEXT.replace("2.0", "2.1"));
    both_ways(&person, &agent);
    let c = person.conflict(out.conflict.as_deref().unwrap())?;
    assert!(c.stale && c.held);
    assert_eq!(c.kind, ConflictKind::Stale);
    assert_eq!(c.current, "Revenue was $2.1B last year.");
    assert_eq!(c.sides[1].inserted, "Revenue grew to $2.5B.");
    assert_eq!(
        (c.sides[1].turn.as_deref(), c.sides[1].model.as_deref()),
        (Some("turn-7"), Some("gpt-x"))
    );
    assert_eq!(c.sides[0].author, Some(ada()));
    assert_eq!(
        (c.sides[0].inserted.as_str(), c.sides[0].deleted.as_str()),
        ("2.1", "2.0")
    );
    // Accepting the suggestion applies it, attributed to whoever accepts.
    person.resolve_conflict(&c.id, Choice::Side, Some(1), None, &ada())?;
    assert_eq!(
        person.document_text("d")?,
        "Revenue grew to $2.5B.\nCosts were flat.\n"
    );

    // Policy "apply": written at once, with a record; "theirs" puts the person's back.
    let (mut person, mut agent) = pair()?;
    person.set_stale_policy("d", StalePolicy::Apply)?;
    let read = agent.read_document("d")?;
    person.replace_text("d", at(&person, "2.0"), 3, "2.1")?;
    both_ways(&person, &agent);
    let out = agent.write_based("d", 0, 28, "Revenue grew.", &read.base, &bot())?;
    assert!(out.applied);
    assert_eq!(
        agent.document_text("d")?,
        "Revenue grew.\nCosts were flat.\n"
    );
    agent.resolve_conflict(
        out.conflict.as_deref().unwrap(),
        Choice::Side,
        Some(0),
        None,
        &bot(),
    )?;
    assert_eq!(agent.document_text("d")?, TEXT.replace("2.0", "2.1"));
    Ok(())
}

#[test]
fn a_replacement_at_the_edge_of_a_stale_range_is_seen_and_not_glued_on() -> Result<()> {
    let (mut person, mut agent) = pair()?;
    person.set_stale_policy("d", StalePolicy::Apply)?;
    both_ways(&person, &agent);
    let read = agent.read_document("d")?;
    // Ada replaces the last words of the sentence the agent will rewrite.
    person.replace_text("d", at(&person, "year."), 5, "quarter.")?;
    both_ways(&person, &agent);
    let out = agent.write_based("d", 0, 28, "Revenue grew.", &read.base, &bot())?;
    assert!(out.applied && out.conflict.is_some());
    assert_eq!(
        agent.document_text("d")?,
        "Revenue grew.\nCosts were flat.\n"
    );
    let c = agent.conflict(out.conflict.as_deref().unwrap())?;
    assert_eq!(c.before, "Revenue was $2.0B last quarter.");
    assert_eq!(
        (c.sides[0].inserted.as_str(), c.sides[0].deleted.as_str()),
        ("quarter.", "year.")
    );
    // A base from another room is refused, not a crash.
    let mut stranger = RoomDoc::new(77);
    stranger.create_document(Some("d"), "D", 0)?;
    stranger.insert_text("d", 0, "elsewhere")?;
    stranger.delete_text("d", 0, 4)?;
    let foreign = stranger.read_document("d")?;
    assert!(matches!(
        agent.write_based("d", 0, 1, "x", &foreign.base, &bot()),
        Err(Error::Malformed { .. })
    ));
    Ok(())
}

#[test]
fn a_write_from_an_old_base_that_nobody_touched_maps_onto_the_current_text() -> Result<()> {
    let (mut person, mut agent) = pair()?;
    let read = agent.read_document("d")?;
    person.insert_text("d", 0, "Summary. ")?; // before the range: not a conflict
    both_ways(&person, &agent);
    let start = read.text.find("Costs").unwrap() as u32;
    let out = agent.write_based("d", start, start + 5, "Expenses", &read.base, &bot())?;
    assert_eq!((out.applied, out.conflict.as_deref()), (true, None));
    assert_eq!(
        agent.document_text("d")?,
        "Summary. Revenue was $2.0B last year.\nExpenses were flat.\n"
    );
    assert!(matches!(
        agent.write_based("d", 0, 999, "x", &read.base, &bot()),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        agent.write_based("d", 0, 1, "x", b"junk", &bot()),
        Err(Error::Malformed { .. })
    ));
    Ok(())
}

#[test]
fn blame_names_people_and_agents_with_turn_and_model() -> Result<()> {
    let (mut one, mut two) = pair()?;
    let mut agent = RoomDoc::new(3);
    agent.register_client(3, &bot());
    sync(&one, &agent);
    agent.act_for(Some("turn-1"), Some("model-a"));
    agent.insert_text("d", 0, "Draft: ")?;
    agent.act_for(None, None);
    agent.insert_text("d", 0, ">")?;
    sync(&agent, &two);
    two.delete_text("d", at(&two, "Costs"), 6)?;
    sync(&two, &one);
    let spans = one.blame(
        "d",
        0,
        one.document_text("d")?.encode_utf16().count() as u32,
    )?;
    type Shape<'a> = (&'a str, &'a str, bool, Option<&'a str>, Option<&'a str>);
    let shape: Vec<Shape> = spans
        .iter()
        .map(|s| {
            (
                s.text.as_str(),
                s.author.as_ref().map_or("?", |p| p.id.as_str()),
                s.agent,
                s.turn.as_deref(),
                s.model.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (">", "bot", true, None, None),
            ("Draft: ", "bot", true, Some("turn-1"), Some("model-a")),
            (
                "Revenue was $2.0B last year.\nwere flat.\n",
                "ada",
                false,
                None,
                None
            ),
        ]
    );
    let middle = one.blame("d", 3, 10)?;
    assert_eq!(
        middle.iter().map(|b| b.text.as_str()).collect::<Vec<_>>(),
        ["aft: ", "Re"]
    );
    assert!(matches!(
        one.blame("d", 3, 999),
        Err(Error::OutOfRange { .. })
    ));
    Ok(())
}

mod oracle;
mod resolution;
