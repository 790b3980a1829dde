//! Tests of conversations, messages and document edits.

use crate::doc::{sync_docs as sync, Participant, ParticipantKind, RoomDoc};
use crate::error::{Error, Result};
use crate::model::Role;

#[test]
fn conversations_and_messages() -> Result<()> {
    let ada = Participant::person("ada", "Ada");
    let mut doc = RoomDoc::new(1);
    let conv = doc.create_conversation(Some("main"), "Main", &ada, 10)?;
    let first = doc.post_message(&conv, &ada, Role::User, "hello", 20)?;
    doc.post_message(
        &conv,
        &Participant::agent("bot", "Bot"),
        Role::Assistant,
        "hi!",
        30,
    )?;
    let msgs = doc.messages(&conv)?;
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].id, first);
    assert_eq!(msgs[0].author, ada);
    assert_eq!(msgs[1].author.kind, ParticipantKind::Agent);
    assert_eq!(msgs[1].role, Role::Assistant);
    assert_eq!(msgs[1].text, "hi!");
    assert_eq!(
        doc.post_message("nope", &ada, Role::User, "x", 1)
            .unwrap_err(),
        Error::UnknownConversation("nope".into())
    );
    assert!(matches!(
        doc.create_conversation(Some("main"), "again", &ada, 1),
        Err(Error::AlreadyExists { .. })
    ));
    Ok(())
}

#[test]
fn concurrent_posts_order_identically_everywhere() -> Result<()> {
    let (a, b) = (Participant::person("a", "A"), Participant::person("b", "B"));
    let mut one = RoomDoc::new(1);
    let mut two = RoomDoc::new(2);
    one.create_conversation(Some("c"), "C", &a, 0)?;
    sync(&one, &two);
    one.post_message("c", &a, Role::User, "from one", 5)?;
    two.post_message("c", &b, Role::User, "from two", 5)?;
    two.post_message("c", &b, Role::User, "earlier", 4)?;
    sync(&one, &two);
    sync(&two, &one);
    let texts = |d: &RoomDoc| -> Vec<String> {
        d.messages("c")
            .unwrap()
            .into_iter()
            .map(|m| m.text)
            .collect()
    };
    assert_eq!(texts(&one), texts(&two));
    assert_eq!(texts(&one)[0], "earlier");
    Ok(())
}

#[test]
fn document_edits_use_utf16_offsets() -> Result<()> {
    let mut doc = RoomDoc::new(1);
    doc.create_document(Some("d"), "Doc", 0)?;
    doc.insert_text("d", 0, "a😀b")?;
    // "😀" is two UTF-16 code units: "b" sits at 3.
    doc.insert_text("d", 3, "X")?;
    assert_eq!(doc.document_text("d")?, "a😀Xb");
    doc.delete_text("d", 1, 2)?;
    assert_eq!(doc.document_text("d")?, "aXb");
    Ok(())
}

#[test]
fn bad_ranges_are_refused_without_touching_the_doc() -> Result<()> {
    let mut doc = RoomDoc::new(1);
    doc.create_document(Some("d"), "Doc", 0)?;
    doc.insert_text("d", 0, "a😀b")?;
    let err = doc.insert_text("d", 9, "x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "range 9..9 is outside `d` of length 4 (UTF-16 code units)"
    );
    assert!(matches!(
        doc.delete_text("d", 2, 5),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        doc.insert_text("d", 2, "x"),
        Err(Error::SplitsSurrogate { index: 2, .. })
    ));
    assert!(matches!(
        doc.delete_text("d", 0, 2),
        Err(Error::SplitsSurrogate { index: 2, .. })
    ));
    assert_eq!(
        doc.insert_text("zz", 0, "x").unwrap_err(),
        Error::UnknownDocument("zz".into())
    );
    assert_eq!(doc.document_text("d")?, "a😀b");
    // A pair that arrives from elsewhere is guarded too.
    doc.create_document(Some("e"), "Plain", 0)?;
    doc.insert_text("e", 0, "plain")?;
    let mut other = RoomDoc::new(2);
    sync(&doc, &other);
    other.insert_text("e", 5, "!")?; // "e" reads as plain here
    doc.insert_text("e", 0, "🎉")?;
    sync(&doc, &other);
    assert!(matches!(
        other.delete_text("e", 1, 1),
        Err(Error::SplitsSurrogate { index: 1, .. })
    ));
    Ok(())
}

#[test]
fn concurrent_document_creation_shares_one_text() -> Result<()> {
    let mut one = RoomDoc::new(1);
    let mut two = RoomDoc::new(2);
    one.create_document(Some("notes"), "Notes", 0)?;
    two.create_document(Some("notes"), "Notes", 0)?;
    one.insert_text("notes", 0, "one ")?;
    two.insert_text("notes", 0, "two ")?;
    sync(&one, &two);
    sync(&two, &one);
    let text = one.document_text("notes")?;
    assert_eq!(text, two.document_text("notes")?);
    assert!(text.contains("one ") && text.contains("two "), "{text}");
    assert_eq!(one.documents().len(), 1);
    Ok(())
}
