//! A person reverts an agent's turn: its text goes in every document, others' edits
//! stay, and an edit made inside the turn's text since is raised, not dropped.

use super::*;
use crate::doc::sync_docs as sync;

fn both_ways(a: &RoomDoc, b: &RoomDoc) {
    sync(a, b);
    sync(b, a);
}

/// Ada (client 1) and an agent (client 2) sharing documents `a` and `b`.
fn ada_and_agent() -> Result<(RoomDoc, RoomDoc)> {
    let mut ada = RoomDoc::new(1);
    let mut bot = RoomDoc::new(2);
    ada.register_client(1, &Participant::person("ada", "Ada"));
    bot.register_client(2, &Participant::agent("bot", "Bot"));
    ada.set_time(1_000);
    bot.set_time(1_000);
    ada.create_document(Some("a"), "Plan", 0)?;
    ada.insert_text("a", 0, "Ship on Friday.")?;
    ada.create_document(Some("b"), "Notes", 0)?;
    ada.insert_text("b", 0, "Risks: none.")?;
    both_ways(&ada, &bot);
    Ok((ada, bot))
}

fn text(doc: &RoomDoc, id: &str) -> String {
    doc.document_text(id).unwrap()
}

#[test]
fn a_person_reverts_an_agent_turn_across_two_documents_in_one_action() -> Result<()> {
    let (mut ada, mut bot) = ada_and_agent()?;
    bot.act_for(Some("t1"), Some("m"));
    bot.set_time(2_000);
    // Streamed: several edits, in both documents, one of them a deletion.
    bot.insert_text("a", 15, " Tests first.")?;
    bot.set_time(3_000);
    bot.insert_text("a", 28, " Then docs.")?;
    bot.replace_text("b", 7, 4, "late QA")?;
    bot.act_for(None, None);
    both_ways(&ada, &bot);
    assert_eq!(text(&ada, "a"), "Ship on Friday. Tests first. Then docs.");
    assert_eq!(text(&ada, "b"), "Risks: late QA.");
    // Ada's own edit, elsewhere, after the turn.
    ada.set_time(4_000);
    ada.insert_text("a", 0, "Goal: ")?;
    let done = ada.revert_turn("t1", &Participant::person("ada", "Ada"))?;
    assert_eq!(done.documents, vec!["a".to_owned(), "b".to_owned()]);
    assert!(done.conflicts.is_empty());
    assert_eq!(text(&ada, "a"), "Goal: Ship on Friday.");
    assert_eq!(text(&ada, "b"), "Risks: none.");
    both_ways(&ada, &bot);
    assert_eq!(text(&bot, "a"), "Goal: Ship on Friday.");
    assert_eq!(text(&bot, "b"), "Risks: none.");
    // Once only, on every replica: a second revert would write the deletions twice.
    let again = bot
        .revert_turn("t1", &Participant::agent("bot", "Bot"))
        .unwrap_err();
    assert_eq!(again.code(), "already_resolved");
    assert!(again.to_string().contains("Ada"), "{again}");
    // The revert is Ada's step: she can undo it.
    assert!(ada.undo("a")?.is_some());
    assert_eq!(
        text(&ada, "a"),
        "Goal: Ship on Friday. Tests first. Then docs."
    );
    Ok(())
}

#[test]
fn an_edit_made_inside_the_turns_text_since_is_raised_not_dropped() -> Result<()> {
    let (mut ada, mut bot) = ada_and_agent()?;
    bot.act_for(Some("t1"), Some("m"));
    bot.set_time(2_000);
    bot.insert_text("a", 15, " Tests first, then docs.")?;
    bot.insert_text("b", 12, " Late QA.")?;
    bot.act_for(None, None);
    both_ways(&ada, &bot);
    // Ada changes words inside the agent's sentence.
    ada.set_time(3_000);
    let at = text(&ada, "a").find("then").unwrap() as u32;
    ada.replace_text("a", at, 4, "and then")?;
    let done = ada.revert_turn("t1", &Participant::person("ada", "Ada"))?;
    assert_eq!(done.conflicts.len(), 1, "{done:?}");
    // The contested sentence is left as it is; the rest of the turn is reverted.
    assert_eq!(
        text(&ada, "a"),
        "Ship on Friday. Tests first, and then docs."
    );
    assert_eq!(text(&ada, "b"), "Risks: none.");
    let conflict = ada.conflict(&done.conflicts[0])?;
    assert_eq!(conflict.doc.as_deref(), Some("a"));
    assert_eq!(conflict.sides.len(), 2);
    // The suggestion's side is the sentence without the agent's words: Ada's own stay.
    let proposal = conflict
        .proposal
        .as_ref()
        .map(|p| p.text.clone())
        .unwrap_or_default();
    assert_eq!(proposal, "and then");
    Ok(())
}

#[test]
fn an_edit_between_two_places_the_turn_wrote_is_no_conflict() -> Result<()> {
    let (mut ada, mut bot) = ada_and_agent()?;
    bot.act_for(Some("t1"), Some("m"));
    bot.set_time(2_000);
    bot.insert_text("a", 0, "Draft: ")?;
    let end = text(&bot, "a").encode_utf16().count() as u32;
    bot.insert_text("a", end, " Then docs.")?;
    bot.act_for(None, None);
    both_ways(&ada, &bot);
    // Ada edits the older text between the turn's two places.
    ada.set_time(3_000);
    let at = text(&ada, "a").find("Friday").unwrap() as u32;
    ada.replace_text("a", at, 6, "Monday")?;
    let done = ada.revert_turn("t1", &Participant::person("ada", "Ada"))?;
    assert!(done.conflicts.is_empty(), "{done:?}");
    assert_eq!(text(&ada, "a"), "Ship on Monday.");
    Ok(())
}

#[test]
fn typing_and_erasing_within_one_step_undoes_to_nothing() -> Result<()> {
    let (mut ada, _) = ada_and_agent()?;
    ada.set_time(10_000);
    ada.insert_text("b", 0, "ab")?;
    ada.set_time(10_100);
    ada.replace_text("b", 1, 1, "")?;
    assert_eq!(text(&ada, "b"), "aRisks: none.");
    assert!(ada.undo("b")?.is_some());
    assert_eq!(text(&ada, "b"), "Risks: none.");
    Ok(())
}

#[test]
fn a_turn_that_wrote_nothing_is_not_found() -> Result<()> {
    let (mut ada, _) = ada_and_agent()?;
    let err = ada
        .revert_turn("nope", &Participant::person("ada", "Ada"))
        .unwrap_err();
    assert_eq!(err.code(), "not_found");
    Ok(())
}

/// `turn_edits` names the documents a turn changed (by writing or deleting) and who
/// reverted it, without changing anything.
#[test]
fn turn_edits_names_the_documents_a_turn_changed_and_who_reverted_it() -> Result<()> {
    let (mut ada, mut bot) = ada_and_agent()?;
    // A turn that only deletes, and one that writes nothing to any document.
    bot.act_for(Some("t1"), None);
    bot.replace_text("b", 0, 3, "")?;
    bot.act_for(None, None);
    bot.act_for(Some("t2"), None);
    bot.act_for(None, None);
    sync(&bot, &ada);
    let edits = ada.turn_edits("t1")?;
    assert_eq!(
        (edits.documents, edits.reverted_by),
        (vec!["b".to_owned()], None)
    );
    assert!(ada.turn_edits("t2")?.documents.is_empty());
    assert!(ada.turn_edits("nope")?.documents.is_empty());
    ada.revert_turn("t1", &Participant::person("ada", "Ada"))?;
    assert_eq!(text(&ada, "b"), "Risks: none.");
    sync(&ada, &bot);
    assert_eq!(bot.turn_edits("t1")?.reverted_by.as_deref(), Some("Ada"));
    Ok(())
}
