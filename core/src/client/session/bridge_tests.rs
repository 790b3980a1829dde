//! Unit tests of bridged changes: a local replica (what the Yjs bridge keeps) written
//! under its own client id, mirrored from the session and handed back to it.

use super::*;

fn person(id: &str) -> Participant {
    Participant::person(id, id.to_uppercase())
}

/// A local replica of the room, as the Yjs bridge keeps one: its own client id, kept in
/// step with the session by what the session mirrors, its edits handed back bridged.
struct Replica {
    doc: yrs::Doc,
    client: u64,
}

impl Replica {
    fn of(session: &mut Session, client: u64) -> Replica {
        use yrs::updates::decoder::Decode;
        let mut options = yrs::Options::with_client_id(yrs::ClientID::new(client));
        options.offset_kind = yrs::OffsetKind::Utf16;
        let doc = yrs::Doc::with_options(options);
        session.set_mirroring(true);
        let state = session.encode_state();
        doc.transact_mut()
            .apply_update(yrs::Update::decode_v1(&state).expect("valid"))
            .expect("applies");
        Replica { doc, client }
    }

    /// Take in what the session mirrored.
    fn pull(&self, session: &mut Session) {
        use yrs::updates::decoder::Decode;
        for update in session.take_mirrored() {
            self.doc
                .transact_mut()
                .apply_update(yrs::Update::decode_v1(&update).expect("valid"))
                .expect("applies");
        }
    }

    /// Replace `len` units at `index` of document `id` here, and hand the change to
    /// `session` bridged.
    fn replace(
        &self,
        session: &mut Session,
        id: &str,
        index: u32,
        len: u32,
        with: &str,
    ) -> Result<()> {
        use yrs::{ReadTxn, Text};
        let before = self.doc.transact().state_vector();
        {
            let text = self
                .doc
                .get_or_insert_text(crate::doc::doc_text_name(id).as_str());
            let mut txn = self.doc.transact_mut();
            text.remove_range(&mut txn, index, len);
            text.insert(&mut txn, index, with);
        }
        let update = self.doc.transact().encode_diff_v1(&before);
        session.apply_bridged(&update, self.client)
    }

    fn text(&self, id: &str) -> String {
        use yrs::GetString;
        let text = self
            .doc
            .get_or_insert_text(crate::doc::doc_text_name(id).as_str());
        text.get_string(&self.doc.transact())
    }
}

/// Hand everything `from` has queued to `to`.
fn deliver(from: &mut Session, to: &mut Session) -> Result<()> {
    for frame in from.drain_outgoing() {
        to.receive(&frame, 1)?;
    }
    Ok(())
}

/// Two unverified editors (development mode), each with a replica (client ids 101 and
/// 102), and document "d" reading "price: 10 EUR" everywhere.
fn two_editors_with_replicas() -> Result<(Session, Session, Replica, Replica)> {
    let mut a = Session::new(1, person("a"), 0);
    let mut b = Session::new(2, person("b"), 0);
    let editor = crate::protocol::session(
        &serde_json::json!({ "role": "editor", "readOnly": false, "verified": false }),
    );
    for s in [&mut a, &mut b] {
        s.receive(&editor, 0)?;
    }
    let (ra, rb) = (Replica::of(&mut a, 101), Replica::of(&mut b, 102));
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    a.doc_mut().insert_text("d", 0, "price: 10 EUR")?;
    deliver(&mut a, &mut b)?;
    ra.pull(&mut a);
    rb.pull(&mut b);
    Ok((a, b, ra, rb))
}

#[test]
fn bridged_edits_are_the_participants_own_attributed_and_in_conflict_detection() -> Result<()> {
    let (mut a, mut b, ra, rb) = two_editors_with_replicas()?;
    assert_eq!(
        (ra.text("d"), rb.text("d")),
        ("price: 10 EUR".into(), "price: 10 EUR".into())
    );
    assert!(a.take_mirrored().is_empty(), "taken once");

    // An editor on each side changes the price without seeing the other.
    ra.replace(&mut a, "d", 7, 2, "12")?;
    rb.replace(&mut b, "d", 7, 2, "15")?;
    // The bridged change comes back with the session's bookkeeping; the replica skips
    // what it has and takes the rest, so it holds everything the session holds.
    let back = a.take_mirrored();
    assert!(!back.is_empty());
    assert_eq!(a.doc().document_text("d")?, "price: 12 EUR");
    for update in back {
        use yrs::updates::decoder::Decode;
        let update = yrs::Update::decode_v1(&update).expect("valid");
        ra.doc.transact_mut().apply_update(update).expect("applies");
    }
    let sv = |d: &yrs::Doc| yrs::ReadTxn::state_vector(&d.transact());
    assert_eq!(
        sv(&ra.doc),
        sv(a.doc().doc()),
        "the replica has all the session has"
    );
    deliver(&mut a, &mut b)?;
    deliver(&mut b, &mut a)?;
    ra.pull(&mut a);
    rb.pull(&mut b);
    assert_eq!(sv(&ra.doc), sv(a.doc().doc()));
    assert_eq!(sv(&rb.doc), sv(b.doc().doc()));
    let merged = a.doc().document_text("d")?;
    assert_eq!(b.doc().document_text("d")?, merged);
    assert_eq!((ra.text("d"), rb.text("d")), (merged.clone(), merged));

    for s in [&mut a, &mut b] {
        let notices = s.poll_conflicts();
        assert_eq!(notices.len(), 1, "one conflict, seen alike on both sides");
        let mut authors: Vec<(String, String)> = notices[0]
            .conflict
            .sides
            .iter()
            .map(|side| {
                let who = side
                    .author
                    .as_ref()
                    .map(|p| p.id.clone())
                    .unwrap_or_default();
                (who, side.inserted.clone())
            })
            .collect();
        authors.sort();
        assert_eq!(
            authors,
            [("a".into(), "12".into()), ("b".into(), "15".into())]
        );
    }
    // Blame names the participant behind the replica's client id.
    let len = a.doc().document_text("d")?.len() as u32;
    let spans = a.doc_mut().blame("d", 0, len)?;
    let twelve = spans
        .iter()
        .find(|s| s.text.contains("12"))
        .expect("a's text is there");
    assert_eq!(
        (twelve.author.as_ref().map(|p| p.id.as_str()), twelve.client),
        (Some("a"), Some(101))
    );
    Ok(())
}

#[test]
fn a_bridged_change_must_come_from_a_client_of_its_own() -> Result<()> {
    let mut a = Session::new(1, person("a"), 0);
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    let replica = Replica::of(&mut a, 7);
    let own = replica.replace(&mut a, "d", 0, 0, "x").map(|_| ());
    assert_eq!(own, Ok(()));
    let text_before = a.doc().document_text("d")?;
    // Another replica's update handed in under the wrong id, and junk: nothing changes.
    let other = Replica::of(&mut a, 8);
    let wrong = other.replace(&mut a, "d", 0, 0, "y");
    let stolen = {
        use yrs::{ReadTxn, Text};
        let before = other.doc.transact().state_vector();
        let text = other.doc.get_or_insert_text("doc:d");
        text.insert(&mut other.doc.transact_mut(), 0, "z");
        let update = other.doc.transact().encode_diff_v1(&before);
        a.apply_bridged(&update, 9)
    };
    assert!(wrong.is_ok(), "client 8 writes under its own id");
    let err = stolen.expect_err("client 9 cannot hand in client 8's change");
    assert_eq!(err.code(), "invalid_argument");
    assert!(err.to_string().contains("writes under client 8"), "{err}");
    assert_eq!(
        a.apply_bridged(&[1, 2, 3], 7).map_err(|e| e.code()),
        Err("invalid_argument")
    );
    assert_eq!(
        a.apply_bridged(&[0, 0], 1).map_err(|e| e.code()),
        Err("invalid_argument")
    );
    assert_eq!(a.doc().document_text("d")?, format!("y{text_before}"));
    Ok(())
}

#[test]
/// A bridged replica's pure deletion writes no item of its own, so its next record has
/// the same clock: that record must still hold everything the replica had seen (it
/// once kept only what changed since the deletion, and raised a false conflict).
fn a_bridged_deletion_then_insertion_conflicts_only_with_the_concurrent_edit() -> Result<()> {
    let (mut a, mut b, ra, rb) = two_editors_with_replicas()?;
    // Formatting, as a rich-text binding writes it, changes nothing of this.
    {
        use yrs::{ReadTxn, Text};
        let before = ra.doc.transact().state_vector();
        let text = ra.doc.get_or_insert_text("doc:d");
        let mut attrs = std::collections::HashMap::new();
        attrs.insert(std::sync::Arc::<str>::from("bold"), yrs::Any::Bool(true));
        text.format(&mut ra.doc.transact_mut(), 0, 5, attrs);
        let update = ra.doc.transact().encode_diff_v1(&before);
        a.apply_bridged(&update, 101)?;
    }
    deliver(&mut a, &mut b)?;
    ra.pull(&mut a);
    rb.pull(&mut b);
    ra.replace(&mut a, "d", 7, 2, "")?;
    ra.replace(&mut a, "d", 7, 0, "12")?;
    rb.replace(&mut b, "d", 7, 2, "")?;
    rb.replace(&mut b, "d", 7, 0, "15")?;
    deliver(&mut a, &mut b)?;
    deliver(&mut b, &mut a)?;
    for s in [&mut a, &mut b] {
        let sides: Vec<Vec<(u64, String)>> = s
            .conflicts()
            .iter()
            .map(|c| {
                c.sides
                    .iter()
                    .map(|x| (x.client, x.inserted.clone()))
                    .collect()
            })
            .collect();
        assert_eq!(sides, [[(101, "12".to_owned()), (102, "15".to_owned())]]);
    }
    Ok(())
}

/// The bridge's edits are the participant's undo steps: undo through the session takes
/// them back, the replica follows, the other editor's text stays, and the caret comes
/// back to where the undone edit was made.
#[test]
fn bridged_edits_are_undone_by_the_sessions_undo_with_the_caret() -> Result<()> {
    let (mut a, mut b, ra, rb) = two_editors_with_replicas()?;
    // a's caret after "10" (as the bridge publishes it), then a types there.
    a.set_cursor("d", 9, 9)?;
    a.doc_mut().set_time(1_000);
    ra.replace(&mut a, "d", 9, 0, ".50")?;
    a.doc_mut().set_time(1_100);
    ra.replace(&mut a, "d", 12, 0, "!")?;
    // b edits elsewhere meanwhile.
    rb.replace(&mut b, "d", 0, 0, "Total ")?;
    deliver(&mut a, &mut b)?;
    deliver(&mut b, &mut a)?;
    ra.pull(&mut a);
    assert_eq!(a.doc().document_text("d")?, "Total price: 10.50! EUR");
    a.set_cursor("d", 19, 19)?;

    let undone = a.doc_mut().undo("d")?.expect("a step to undo");
    assert_eq!(a.doc().document_text("d")?, "Total price: 10 EUR");
    ra.pull(&mut a);
    assert_eq!(ra.text("d"), "Total price: 10 EUR", "the replica follows");
    // Where the caret was when the step began, moved by b's edit before it.
    let at = |anchor, head| Some(crate::doc::undo::UndoSelection { anchor, head });
    assert_eq!(
        (undone.document.as_str(), undone.selection),
        ("d", at(15, 15))
    );
    // Redo brings the caret back to where it was when undo was pressed.
    let redone = a.doc_mut().redo("d")?.expect("a step to redo");
    assert_eq!(a.doc().document_text("d")?, "Total price: 10.50! EUR");
    assert_eq!(redone.selection, at(19, 19));
    deliver(&mut a, &mut b)?;
    assert_eq!(b.doc().document_text("d")?, "Total price: 10.50! EUR");
    Ok(())
}

/// A deleted selection comes back selected: both ends hold where the undo writes the
/// text back, just before its tombstones.
#[test]
fn undoing_a_deleted_selection_selects_it_again() -> Result<()> {
    let (mut a, _b, ra, _rb) = two_editors_with_replicas()?;
    // Later than the document's first text (a's own step too).
    a.doc_mut().set_time(5_000);
    // "price: " selected backwards (head before anchor), then deleted.
    a.set_cursor("d", 7, 0)?;
    ra.replace(&mut a, "d", 0, 7, "")?;
    a.set_cursor("d", 0, 0)?;
    assert_eq!(a.doc().document_text("d")?, "10 EUR");
    let undone = a.doc_mut().undo("d")?.expect("a step to undo");
    assert_eq!(a.doc().document_text("d")?, "price: 10 EUR");
    let selection = undone.selection.expect("the selection it was made from");
    assert_eq!((selection.anchor, selection.head), (7, 0));
    // Without a caret in the document, the step has no selection to give back.
    a.clear_cursor();
    a.doc_mut().stop_capturing("d");
    ra.pull(&mut a);
    ra.replace(&mut a, "d", 0, 0, "> ")?;
    assert_eq!(a.doc_mut().undo("d")?.expect("a step").selection, None);
    Ok(())
}

#[test]
fn redo_puts_the_caret_back_at_the_end_of_the_text() -> Result<()> {
    let (mut a, _b, ra, _rb) = two_editors_with_replicas()?;
    a.doc_mut().set_time(5_000);
    a.set_cursor("d", 13, 13)?;
    ra.replace(&mut a, "d", 13, 0, " net")?;
    ra.pull(&mut a);
    a.set_cursor("d", 17, 17)?;
    let undone = a.doc_mut().undo("d")?.expect("a step");
    assert_eq!(undone.selection.map(|s| s.head), Some(13));
    let redone = a.doc_mut().redo("d")?.expect("a step");
    assert_eq!(a.doc().document_text("d")?, "price: 10 EUR net");
    assert_eq!(redone.selection.map(|s| s.head), Some(17));
    Ok(())
}

/// An undo is an edit like any other for conflict detection: taking back your change
/// while someone else rewrites the same words raises a conflict with both sides.
#[test]
fn an_undo_concurrent_with_an_edit_of_the_same_words_is_a_conflict() -> Result<()> {
    let (mut a, mut b, ra, rb) = two_editors_with_replicas()?;
    a.doc_mut().set_time(5_000);
    ra.replace(&mut a, "d", 7, 2, "12")?;
    deliver(&mut a, &mut b)?;
    rb.pull(&mut b);
    assert_eq!(b.doc().document_text("d")?, "price: 12 EUR");
    // a takes "12" back while b, not having seen that, makes it "15".
    a.doc_mut().undo("d")?.expect("a step to undo");
    rb.replace(&mut b, "d", 7, 2, "15")?;
    deliver(&mut a, &mut b)?;
    deliver(&mut b, &mut a)?;
    for s in [&mut a, &mut b] {
        let conflicts = s.conflicts();
        assert_eq!(conflicts.len(), 1, "one conflict at each side");
        let inserted: Vec<&str> = conflicts[0]
            .sides
            .iter()
            .map(|x| x.inserted.as_str())
            .collect();
        assert!(inserted.contains(&"15"), "b's side: {inserted:?}");
        assert!(
            inserted.contains(&"10"),
            "a's undo, writing 10 again: {inserted:?}"
        );
    }
    Ok(())
}

/// One bridged update over two documents: each gets the step, and the caret's
/// selection goes to the step of the caret's document, whichever is recorded first.
#[test]
fn a_bridged_update_over_two_documents_keeps_the_carets_selection_for_its_document() -> Result<()> {
    let (mut a, _b, ra, _rb) = two_editors_with_replicas()?;
    a.doc_mut().create_document(Some("e"), "E", 0)?;
    a.doc_mut().insert_text("e", 0, "total: 5")?;
    ra.pull(&mut a);
    a.doc_mut().set_time(5_000);
    a.set_cursor("e", 8, 8)?;
    let update = {
        use yrs::{ReadTxn, Text};
        let before = ra.doc.transact().state_vector();
        {
            let (d, e) = (
                ra.doc.get_or_insert_text("doc:d"),
                ra.doc.get_or_insert_text("doc:e"),
            );
            let mut txn = ra.doc.transact_mut();
            d.insert(&mut txn, 13, "!");
            e.insert(&mut txn, 8, "0");
        }
        ra.doc.transact().encode_diff_v1(&before)
    };
    a.apply_bridged(&update, ra.client)?;
    a.set_cursor("e", 9, 9)?;
    let undone = a.doc_mut().undo("e")?.expect("a step in e");
    assert_eq!(a.doc().document_text("e")?, "total: 5");
    assert_eq!(undone.selection.map(|s| (s.anchor, s.head)), Some((8, 8)));
    assert!(a.doc_mut().undo("d")?.is_some(), "d has the step too");
    assert_eq!(a.doc().document_text("d")?, "price: 10 EUR");
    Ok(())
}

/// Steps made as one participant are not another's: when the room names this
/// connection someone else, the history goes.
#[test]
fn a_new_identity_starts_with_no_undo_history() -> Result<()> {
    let (mut a, _b, ra, _rb) = two_editors_with_replicas()?;
    ra.replace(&mut a, "d", 0, 0, "> ")?;
    assert!(a.doc().can_undo("d"));
    let same = crate::protocol::session(&serde_json::json!({
        "role": "editor", "readOnly": false, "verified": true,
        "user": "a", "name": "A (renamed)", "kind": "person",
    }));
    a.receive(&same, 0)?;
    assert!(a.doc().can_undo("d"), "the same participant keeps it");
    let other = crate::protocol::session(&serde_json::json!({
        "role": "editor", "readOnly": false, "verified": true,
        "user": "z", "name": "Z", "kind": "person",
    }));
    a.receive(&other, 0)?;
    assert!(!a.doc().can_undo("d"));
    Ok(())
}
