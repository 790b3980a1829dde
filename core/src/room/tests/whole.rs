//! What a joiner with nothing gets: the whole room, kept across changes and cut into
//! parts for a big room (see [`super::whole`]).

use super::*;

#[test]
fn fresh_joiners_get_the_current_whole_room() -> Result<()> {
    let (mut room, mut a, _b) = two_joined();
    let empty_step1 = protocol::encode(&yrs::sync::Message::Sync(
        yrs::sync::SyncMessage::SyncStep1(StateVector::default()),
    ));
    let whole = |room: &mut Room, conn: ConnId| -> String {
        room.connect(conn, false);
        let out = room.receive(conn, &empty_step1, 0).unwrap();
        let doc = Doc::new();
        // Updates (the kept state, the changes since), the last one a sync step 2.
        for (i, o) in out.iter().enumerate() {
            let Ok(messages) = decode_frame(&o.frame) else {
                panic!("a frame the room wrote decodes")
            };
            let raw = match messages.into_iter().next() {
                Some(Incoming::SyncStep2(raw)) if i + 1 == out.len() => raw,
                Some(Incoming::Update(raw)) if i + 1 < out.len() => raw,
                other => panic!("frame {i} of {} is {other:?}", out.len()),
            };
            doc.transact_mut()
                .apply_update(protocol::update_of(&raw).unwrap())
                .unwrap();
        }
        let txn = doc.transact();
        txn.get_text(doc_text_name("d").as_str())
            .map(|t| t.get_string(&txn))
            .unwrap_or_default()
    };
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    a.doc_mut().insert_text("d", 0, "one")?;
    pump(&mut room, &mut [(1, &mut a)], Vec::new());
    assert_eq!(whole(&mut room, 7), "one");
    assert_eq!(whole(&mut room, 8), "one", "the kept answer");
    a.doc_mut().insert_text("d", 3, " two")?;
    pump(&mut room, &mut [(1, &mut a)], Vec::new());
    assert_eq!(whole(&mut room, 9), "one two", "not the stale answer");
    Ok(())
}

#[test]
fn late_joiner_gets_full_state() -> Result<()> {
    let mut room = Room::new(0);
    let mut a = Session::new(1, Participant::person("a", "A"), 0);
    let pending = join(&mut room, 1, &mut a);
    pump(&mut room, &mut [(1, &mut a)], pending);
    a.ensure_conversation("c", "C", 0)?;
    a.post_message("c", crate::model::Role::User, "first", 1)?;
    pump(&mut room, &mut [(1, &mut a)], Vec::new());
    let mut late = Session::new(3, Participant::person("l", "L"), 0);
    let pending = join(&mut room, 3, &mut late);
    pump(&mut room, &mut [(3, &mut late)], pending);
    assert!(late.is_synced());
    assert_eq!(late.doc().messages("c")?[0].text, "first");
    Ok(())
}

#[test]
fn a_big_room_joins_in_parts_ending_with_sync_step_2() -> Result<()> {
    let mut room = Room::new(0);
    let mut a = Session::new(1, Participant::person("a", "A"), 0);
    let pending = join(&mut room, 1, &mut a);
    pump(&mut room, &mut [(1, &mut a)], pending);
    a.doc_mut().create_document(Some("big"), "Big", 0)?;
    let chunk = "x".repeat(64 * 1024);
    for _ in 0..48 {
        // At the start each time, so yrs cannot squash the inserts into one item.
        a.doc_mut().insert_text("big", 0, &chunk)?;
        pump(&mut room, &mut [(1, &mut a)], Vec::new());
    }
    let mut b = Session::new(2, Participant::person("b", "B"), 0);
    let mut out = room.connect(2, false);
    for f in b.handshake() {
        out.extend(room.receive(2, &f, 0)?);
    }
    let parts: Vec<&Outgoing> = out.iter().filter(|o| o.frame.len() > 1000).collect();
    assert!(parts.len() >= 3, "{} parts", parts.len());
    assert!(parts.iter().all(|o| o.frame.len() <= SYNC_CHUNK_BYTES + 64));
    let last = decode_frame(&parts[parts.len() - 1].frame)?;
    assert!(matches!(last[0], Incoming::SyncStep2(..)));
    pump(&mut room, &mut [(2, &mut b)], out);
    assert_eq!(b.doc().document_text("big")?.len(), 48 * 64 * 1024);
    // The parts are kept for the next joiner, and stay kept across a small change.
    let kept = room.full_state.as_ref().map(|w| w.parts().as_ptr());
    let mut c = Session::new(3, Participant::person("c", "C"), 0);
    let mut out = room.connect(3, false);
    for f in c.handshake() {
        out.extend(room.receive(3, &f, 0)?);
    }
    assert_eq!(room.full_state.as_ref().map(|w| w.parts().as_ptr()), kept);
    pump(&mut room, &mut [(3, &mut c)], out);
    assert_eq!(c.doc().document_text("big")?.len(), 48 * 64 * 1024);
    a.doc_mut().insert_text("big", 0, "more")?;
    pump(&mut room, &mut [(1, &mut a)], Vec::new());
    assert_eq!(
        room.full_state.as_ref().map(|w| w.parts().as_ptr()),
        kept,
        "encoded again for a small change"
    );
    // The next joiner gets the kept parts and the change after them, and ends whole.
    let mut d = Session::new(4, Participant::person("d", "D"), 0);
    let mut out = room.connect(4, false);
    for f in d.handshake() {
        out.extend(room.receive(4, &f, 0)?);
    }
    let sync: Vec<Incoming> = out
        .iter()
        .filter_map(|o| decode_frame(&o.frame).ok())
        .flatten()
        .filter(|m| matches!(m, Incoming::Update(..) | Incoming::SyncStep2(..)))
        .collect();
    assert!(sync.len() >= 4, "the parts and the change: {}", sync.len());
    assert!(matches!(sync.last(), Some(Incoming::SyncStep2(..))));
    pump(&mut room, &mut [(4, &mut d)], out);
    let text = d.doc().document_text("big")?;
    assert_eq!(text.len(), 48 * 64 * 1024 + 4);
    assert!(text.starts_with("more"));
    Ok(())
}

/// The kept whole room follows small changes, and is encoded again once the changes
/// since would be more than its share: a joiner never replays much more than the room.
#[test]
fn whole_room_is_encoded_again_when_changes_outgrow_it() -> Result<()> {
    let mut room = Room::new(0);
    let mut a = Session::new(1, Participant::person("a", "A"), 0);
    let mut out = room.connect(1, false);
    for f in a.handshake() {
        out.extend(room.receive(1, &f, 0)?);
    }
    pump(&mut room, &mut [(1, &mut a)], out);
    a.doc_mut().create_document(Some("notes"), "Notes", 0)?;
    a.doc_mut().insert_text("notes", 0, "hello")?;
    pump(&mut room, &mut [(1, &mut a)], Vec::new());
    room.whole_room_frames();
    let kept = room.full_state.as_ref().map(|w| w.parts().as_ptr());
    // Changes of 1 kB each: a small room keeps 4 kB of them at most.
    let mut reencoded = false;
    for i in 0..80 {
        a.doc_mut()
            .insert_text("notes", 0, &format!("{i:04}{}", "y".repeat(996)))?;
        pump(&mut room, &mut [(1, &mut a)], Vec::new());
        let now = room.full_state.as_ref().map(|w| w.parts().as_ptr());
        if now.is_some() && now != kept {
            reencoded = true;
            break;
        }
        if room.full_state.is_none() {
            room.whole_room_frames();
            reencoded = true;
            break;
        }
    }
    assert!(reencoded, "kept past its share");
    // Every answer, kept or fresh, brings a joiner to the room's text.
    let mut b = Session::new(2, Participant::person("b", "B"), 0);
    let mut out = room.connect(2, false);
    for f in b.handshake() {
        out.extend(room.receive(2, &f, 0)?);
    }
    pump(&mut room, &mut [(2, &mut b)], out);
    assert_eq!(
        b.doc().document_text("notes")?,
        a.doc().document_text("notes")?
    );
    Ok(())
}
