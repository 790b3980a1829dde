//! Unit tests.

use super::*;
use crate::conflict::Choice;
use crate::model::context::ContextDraft;
use crate::model::presence::{AWAY_AFTER_MS, IDLE_AFTER_MS};
use crate::model::view::ViewPatch;
use crate::model::{Role, TurnStatus};

fn person(id: &str) -> Participant {
    Participant::person(id, id.to_uppercase())
}

#[test]
fn local_edits_queue_one_merged_update() -> Result<()> {
    let mut s = Session::new(1, person("a"), 0);
    s.drain_outgoing(); // the initial presence
    s.doc_mut().create_document(Some("d"), "D", 0)?;
    for (i, ch) in "hello".chars().enumerate() {
        s.doc_mut().insert_text("d", i as u32, &ch.to_string())?;
    }
    let frames = s.drain_outgoing();
    assert_eq!(frames.len(), 1);
    assert!(s.drain_outgoing().is_empty());
    let mut other = Session::new(2, person("b"), 0);
    other.drain_outgoing();
    let got = other.receive(&frames[0], 0)?;
    assert!(got.doc_changed);
    assert_eq!(other.doc().document_text("d")?, "hello");
    // Remote changes are not echoed back.
    assert!(other.drain_outgoing().is_empty());
    Ok(())
}

#[test]
fn conflicts_notify_the_people_involved_and_agents_when_asked() -> Result<()> {
    let mut a = Session::new(1, person("a"), 0);
    let mut b = Session::new(2, person("b"), 0);
    let mut c = Session::new(3, person("c"), 0);
    let mut bot = Session::new(4, Participant::agent("bot", "Bot"), 0);
    // Peers without a room: each records who its client id is, as an unverified
    // editor does when the room tells it so.
    let editor = crate::protocol::session(
        &serde_json::json!({ "role": "editor", "readOnly": false, "verified": false }),
    );
    for s in [&mut a, &mut b, &mut c, &mut bot] {
        s.receive(&editor, 0)?;
    }
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    a.doc_mut().insert_text("d", 0, "price: 10 EUR")?;
    let deliver = |from: &mut Session, to: &mut [&mut Session]| -> Result<()> {
        for frame in from.drain_outgoing() {
            for s in to.iter_mut() {
                s.receive(&frame, 1)?;
            }
        }
        Ok(())
    };
    deliver(&mut a, &mut [&mut b, &mut c, &mut bot])?;
    for s in [&mut a, &mut b, &mut c, &mut bot] {
        assert!(s.poll_conflicts().is_empty());
    }
    // a and b both change the price without seeing each other.
    a.doc_mut().replace_text("d", 7, 2, "12")?;
    b.doc_mut().replace_text("d", 7, 2, "15")?;
    deliver(&mut a, &mut [&mut b, &mut c, &mut bot])?;
    deliver(&mut b, &mut [&mut a, &mut c, &mut bot])?;
    let seen: Vec<(NoticeKind, bool)> = [&mut a, &mut b, &mut c, &mut bot]
        .into_iter()
        .map(|s| {
            let notices = s.poll_conflicts();
            assert_eq!(notices.len(), 1);
            (notices[0].kind, notices[0].needs_input)
        })
        .collect();
    assert_eq!(
        seen,
        [
            (NoticeKind::Raised, true),
            (NoticeKind::Raised, true),
            (NoticeKind::Raised, false),
            (NoticeKind::Raised, false)
        ]
    );
    assert!(a.poll_conflicts().is_empty(), "told once");
    let id = a.conflicts()[0].id.clone();
    c.resolve_conflict(&id, Choice::Agent, None, None, 5)?;
    deliver(&mut c, &mut [&mut a, &mut b, &mut bot])?;
    let asked = bot.poll_conflicts();
    assert_eq!(
        (asked[0].kind, asked[0].needs_input),
        (NoticeKind::AwaitingAgent, true)
    );
    assert!(!a.poll_conflicts()[0].needs_input, "people are not asked");
    b.poll_conflicts();
    // The agent proposes a merge: the people with a side, and the one who asked, decide.
    bot.propose_merge(&id, "12-15", "Both prices, as a range.", 6)?;
    deliver(&mut bot, &mut [&mut a, &mut b, &mut c])?;
    let told: Vec<(NoticeKind, bool)> = [&mut a, &mut b, &mut c, &mut bot]
        .into_iter()
        .map(|s| {
            s.poll_conflicts()
                .first()
                .map(|n| (n.kind, n.needs_input))
                .unwrap_or((NoticeKind::Raised, false))
        })
        .collect();
    assert_eq!(told[..3], [(NoticeKind::Proposed, true); 3]);
    a.resolve_conflict(&id, Choice::Proposal, None, None, 6)?;
    deliver(&mut a, &mut [&mut b, &mut c, &mut bot])?;
    let done = a.poll_conflicts();
    assert_eq!(done[0].kind, NoticeKind::Resolved);
    assert_eq!(a.doc().document_text("d")?, "price: 12-15 EUR");
    use yrs::updates::decoder::Decode;
    let late = Session::new(5, person("e"), 9);
    let mut late = late;
    late.doc()
        .doc()
        .transact_mut()
        .apply_update(
            yrs::Update::decode_v1(&a.doc().doc().transact().encode_diff_v1(&Default::default()))
                .expect("valid"),
        )
        .expect("applies");
    assert!(
        late.poll_conflicts().is_empty(),
        "already resolved: nothing to tell"
    );
    assert_eq!(late.conflicts().len(), 1);
    Ok(())
}

#[test]
fn offline_edits_travel_in_the_sync_reply() -> Result<()> {
    let mut a = Session::new(1, person("a"), 0);
    let mut b = Session::new(2, person("b"), 0);
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    a.doc_mut().insert_text("d", 0, "offline")?;
    let hs = a.handshake();
    assert!(
        a.drain_outgoing().is_empty(),
        "handshake replaces queued updates"
    );
    // b plays the room: answer step 1 with step 2.
    let reply = b.receive(&hs[0], 0)?.replies;
    let got = a.receive(&reply[0], 0)?;
    assert!(got.became_synced && a.is_synced());
    let step1 = protocol::sync_step1(b.doc().doc().transact().state_vector());
    let answer = a.receive(&step1, 0)?.replies;
    b.receive(&answer[0], 0)?;
    assert_eq!(b.doc().document_text("d")?, "offline");
    Ok(())
}

/// A room for the session tests below: frames go in, and what the room sends this
/// connection (acknowledgements included, as the edge sends them once stored) comes
/// back.
fn exchange(
    room: &mut crate::room::Room,
    conn: u64,
    session: &mut Session,
    mut up: Vec<Vec<u8>>,
    mut down: Vec<Vec<u8>>,
) -> Result<()> {
    for _ in 0..8 {
        for frame in up.drain(..) {
            down.extend(room.receive(conn, &frame, 0)?.into_iter().map(|o| o.frame));
        }
        down.extend(room.take_acks().into_iter().map(|o| o.frame));
        for frame in down.drain(..) {
            up.extend(session.receive(&frame, 0)?.replies);
        }
        up.extend(session.drain_outgoing());
        if up.is_empty() {
            break;
        }
    }
    Ok(())
}

fn connect(room: &mut crate::room::Room, conn: u64, session: &mut Session) -> Result<()> {
    let greeting = room
        .connect(conn, true)
        .into_iter()
        .map(|o| o.frame)
        .collect();
    let hello = session.handshake();
    exchange(room, conn, session, hello, greeting)
}

#[test]
fn edits_made_offline_stay_unsaved_until_the_room_acknowledges_them() -> Result<()> {
    let mut room = crate::room::Room::new(0);
    let mut a = Session::new(1, person("a"), 0);
    connect(&mut room, 1, &mut a)?;
    assert!(a.is_synced());
    assert_eq!(
        a.unacked(),
        (0, 0),
        "the handshake's answer was acknowledged"
    );
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    assert_eq!(a.unacked().0, 1, "queued, not yet sent");
    exchange(&mut room, 1, &mut a, Vec::new(), Vec::new())?;
    assert_eq!(a.unacked(), (0, 0));
    // The socket drops; edits go on, and the transport drops what it cannot send.
    room.disconnect(1, 0);
    a.disconnected();
    a.doc_mut().insert_text("d", 0, "written offline")?;
    drop(a.drain_outgoing());
    a.doc_mut().insert_text("d", 15, "!")?;
    let (count, bytes) = a.unacked();
    assert!(
        count >= 2 && bytes > 0,
        "unsent edits are unsaved: {count}, {bytes}"
    );
    // Back online: still unsaved until the room answers the handshake and stores
    // the answer.
    let greeting: Vec<Vec<u8>> = room.connect(2, true).into_iter().map(|o| o.frame).collect();
    let hello = a.handshake();
    assert!(a.unacked().0 >= 2, "a handshake alone saves nothing");
    assert!(a
        .drain_outgoing()
        .iter()
        .all(|f| f[0] == protocol::MSG_AWARENESS));
    exchange(&mut room, 2, &mut a, hello, greeting)?;
    assert_eq!(a.unacked(), (0, 0));
    assert_eq!(room.document_text("d").as_deref(), Some("written offline!"));
    Ok(())
}

#[test]
fn a_stored_state_loaded_after_a_reload_sends_its_offline_edits_on_the_next_handshake() -> Result<()>
{
    let mut room = crate::room::Room::new(0);
    let mut a = Session::new(1, person("a"), 0);
    connect(&mut room, 1, &mut a)?;
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    exchange(&mut room, 1, &mut a, Vec::new(), Vec::new())?;
    // Offline: an edit the room never gets, then the page goes (its state was kept).
    room.disconnect(1, 0);
    a.disconnected();
    a.doc_mut().insert_text("d", 0, "written offline")?;
    drop(a.drain_outgoing());
    let kept = a.encode_state();
    drop(a);
    // The reloaded page: a new session (a new client id) takes in what was kept. Nothing
    // is queued as its own change...
    let mut b = Session::new(2, person("a"), 1);
    b.load_stored(&kept)?;
    assert_eq!(b.doc().document_text("d")?, "written offline");
    assert!(
        b.drain_outgoing()
            .iter()
            .all(|f| f[0] == protocol::MSG_AWARENESS),
        "a stored state is not sent as a change"
    );
    // ...and the handshake's answer carries the offline edit, under the client that
    // made it.
    connect(&mut room, 2, &mut b)?;
    assert_eq!(room.document_text("d").as_deref(), Some("written offline"));
    assert_eq!(
        b.load_stored(&[1, 2, 3]).map_err(|e| e.code()),
        Err("invalid_argument")
    );
    Ok(())
}

#[test]
fn edits_before_the_room_answers_the_handshake_are_unsaved() -> Result<()> {
    let mut room = crate::room::Room::new(0);
    let mut a = Session::new(1, person("a"), 0);
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    drop(a.drain_outgoing());
    assert!(a.unacked().0 > 0, "never connected: nothing is saved");
    let greeting: Vec<Vec<u8>> = room.connect(1, true).into_iter().map(|o| o.frame).collect();
    let hello = a.handshake();
    // The socket is open and the room has not answered yet.
    a.doc_mut().insert_text("d", 0, "early")?;
    assert!(a
        .drain_outgoing()
        .iter()
        .all(|f| f[0] == protocol::MSG_AWARENESS));
    assert!(a.unacked().0 > 0);
    exchange(&mut room, 1, &mut a, hello, greeting)?;
    assert_eq!(a.unacked(), (0, 0));
    assert_eq!(room.document_text("d").as_deref(), Some("early"));
    Ok(())
}

#[test]
fn updates_no_room_acknowledges_stay_unsaved() -> Result<()> {
    // A plain Yjs room (no Confab greeting) never acknowledges: the session cannot
    // know its edits are stored, so it does not claim they are.
    let mut room = crate::room::Room::new(0);
    let mut a = Session::new(1, person("a"), 0);
    let greeting = room
        .connect(1, false)
        .into_iter()
        .map(|o| o.frame)
        .collect();
    let hello = a.handshake();
    exchange(&mut room, 1, &mut a, hello, greeting)?;
    assert!(a.is_synced());
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    a.doc_mut().insert_text("d", 0, "plain")?;
    exchange(&mut room, 1, &mut a, Vec::new(), Vec::new())?;
    assert_eq!(
        room.document_text("d").as_deref(),
        Some("plain"),
        "delivered"
    );
    assert!(a.unacked().0 > 0, "but never acknowledged");
    Ok(())
}

#[test]
fn presence_renews_and_times_out() -> Result<()> {
    let mut a = Session::new(1, person("a"), 0);
    let mut b = Session::new(2, person("b"), 0);
    assert!(matches!(
        a.set_presence("[1]"),
        Err(Error::InvalidPresence(_))
    ));
    a.set_presence(r#"{"status":"active"}"#)?;
    let frames: Vec<Vec<u8>> = a
        .drain_outgoing()
        .into_iter()
        .filter(|f| f[0] == protocol::MSG_AWARENESS)
        .collect();
    assert_eq!(frames.len(), 1);
    assert!(b.receive(&frames[0], 0)?.presence_changed);
    let peer = b
        .peers()
        .into_iter()
        .find(|p| !p.is_self)
        .expect("a is visible");
    let state: serde_json::Value = serde_json::from_str(&peer.state).unwrap();
    assert_eq!(state["user"]["id"], "a");
    assert_eq!(state["status"], "active");
    // a is synced elsewhere: it renews after 15 s.
    a.synced = true;
    assert!(a.tick(10_000).frames.is_empty());
    let renew = a.tick(PRESENCE_RENEW_MS).frames;
    assert_eq!(renew.len(), 1);
    b.receive(&renew[0], PRESENCE_RENEW_MS)?;
    // Without further renewals b drops a after the timeout.
    let changed = b
        .tick(PRESENCE_RENEW_MS + PRESENCE_TIMEOUT_MS - 1)
        .presence_changed;
    assert!(!changed);
    let changed = b
        .tick(PRESENCE_RENEW_MS + PRESENCE_TIMEOUT_MS)
        .presence_changed;
    assert!(changed);
    assert!(b.peers().iter().all(|p| p.is_self));
    Ok(())
}

#[test]
fn leaving_and_disconnecting_leave_no_ghosts() -> Result<()> {
    let mut a = Session::new(1, person("a"), 0);
    let mut b = Session::new(2, person("b"), 0);
    b.set_presence("{}")?;
    a.set_presence("{}")?;
    for frame in a.drain_outgoing() {
        b.receive(&frame, 0)?;
    }
    assert_eq!(b.peers().len(), 2);
    let bye = a.leave();
    assert!(b.receive(&bye[0], 1)?.presence_changed);
    assert_eq!(b.peers().len(), 1);
    a.set_presence("{}")?;
    for frame in a.drain_outgoing() {
        b.receive(&frame, 2)?;
    }
    assert_eq!(b.peers().len(), 2, "a returning is visible at once");
    b.disconnected();
    assert_eq!(b.peers().len(), 1);
    // Leaving, then connecting again, publishes the same presence again.
    a.set_activity(Some("reviewing"));
    a.leave();
    let hello = a.handshake();
    let mut c = Session::new(3, person("c"), 3);
    for frame in &hello {
        c.receive(frame, 3)?;
    }
    let back = c
        .presence()
        .into_iter()
        .find(|p| p.user.id == "a")
        .expect("a is back");
    assert_eq!(back.activity.as_deref(), Some("reviewing"));
    Ok(())
}

#[test]
fn turn_chunks_are_batched_into_one_update() -> Result<()> {
    let mut agent = Session::new(1, Participant::agent("bot", "Bot"), 0);
    let mut reader = Session::new(2, person("r"), 0);
    agent.drain_outgoing(); // the initial presence
    agent.ensure_conversation("c", "C", 0)?;
    let turn = agent.open_turn("c", Role::Assistant, 1)?;
    for token in ["Hel", "lo", ", ", "team"] {
        agent.append_turn(&turn, token)?;
    }
    assert!(agent.has_buffered_turn_text());
    assert_eq!(
        agent.doc().messages("c")?[0].text,
        "",
        "not written before a flush"
    );
    agent.flush_turns()?;
    let frames = agent.drain_outgoing();
    assert_eq!(frames.len(), 1);
    reader.receive(&frames[0], 2)?;
    let m = &reader.doc().messages("c")?[0];
    assert_eq!(
        (m.text.as_str(), m.status),
        ("Hello, team", TurnStatus::Streaming)
    );
    // A full buffer flushes by itself.
    agent.append_turn(&turn, &"x".repeat(MAX_TURN_BATCH_BYTES))?;
    assert!(!agent.has_buffered_turn_text());
    agent.finish_turn(&turn)?;
    assert_eq!(agent.doc().messages("c")?[0].status, TurnStatus::Done);
    Ok(())
}

#[test]
fn a_stop_from_someone_else_drops_buffered_text() -> Result<()> {
    let mut agent = Session::new(1, Participant::agent("bot", "Bot"), 0);
    let mut person_side = Session::new(2, person("p"), 0);
    agent.ensure_conversation("c", "C", 0)?;
    let turn = agent.open_turn("c", Role::Assistant, 1)?;
    agent.append_turn(&turn, "first ")?;
    agent.flush_turns()?;
    person_side.receive(&agent.drain_outgoing()[0], 2)?;
    agent.append_turn(&turn, "never seen")?;
    person_side.request_stop(&turn, 3)?;
    agent.receive(&person_side.drain_outgoing()[0], 3)?;
    let err = agent.flush_turns().unwrap_err();
    assert!(
        matches!(
            err,
            Error::TurnClosed {
                status: "stopped",
                ..
            }
        ),
        "{err}"
    );
    assert!(agent.append_turn(&turn, "more").is_err());
    assert_eq!(agent.doc().messages("c")?[0].text, "first ");
    Ok(())
}

#[test]
fn a_vanished_writer_leaves_an_interrupted_turn() -> Result<()> {
    let mut agent = Session::new(1, Participant::agent("bot", "Bot"), 0);
    let mut watcher = Session::new(2, person("w"), 0);
    watcher.synced = true;
    agent.set_presence("{}")?;
    agent.ensure_conversation("c", "C", 0)?;
    let turn = agent.open_turn("c", Role::Assistant, 0)?;
    agent.append_turn(&turn, "partial")?;
    agent.flush_turns()?;
    for frame in agent.drain_outgoing() {
        watcher.receive(&frame, 1_000)?;
    }
    // Still present: nothing happens.
    assert!(!watcher.tick(20_000).turns_interrupted);
    assert_eq!(
        watcher.doc().messages("c")?[0].status,
        TurnStatus::Streaming
    );
    // No presence renewal for the timeout: the agent is gone and so is its turn.
    let tick = watcher.tick(1_000 + PRESENCE_TIMEOUT_MS);
    assert!(tick.turns_interrupted, "the page redraws the turn");
    assert!(
        !watcher.drain_outgoing().is_empty(),
        "the interruption goes to the room"
    );
    let m = &watcher.doc().messages("c")?[0];
    assert_eq!(
        (m.status, m.text.as_str()),
        (TurnStatus::Interrupted, "partial")
    );
    // The writer never interrupts its own turn.
    assert!(agent.doc().open_turns().len() == 1);
    agent.synced = true;
    agent.tick(10 * PRESENCE_TIMEOUT_MS);
    assert_eq!(agent.doc().messages("c")?[0].status, TurnStatus::Streaming);
    Ok(())
}

#[test]
fn sync_partners_are_other_people_present() -> Result<()> {
    let mut a = Session::new(1, person("a"), 0);
    let mut b1 = Session::new(2, person("b"), 0);
    let mut b2 = Session::new(3, person("b"), 0);
    let mut bot = Session::new(4, Participant::agent("bot", "Bot"), 0);
    for other in [&mut b1, &mut b2, &mut bot] {
        for frame in other.drain_outgoing() {
            a.receive(&frame, 0)?;
        }
    }
    let ids = |ps: Vec<Participant>| ps.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(ids(a.present_participants()), ["b", "bot"]);
    assert_eq!(ids(a.sync_partners()), ["b"]);
    a.set_view(&ViewPatch {
        tabs: Some(vec!["chat".into()]),
        ..ViewPatch::default()
    })?;
    a.start_sync("b", 1)?;
    assert_eq!(
        a.view_state().sync.map(|s| s.members),
        Some(vec!["a".to_owned(), "b".to_owned()])
    );
    a.stop_sync()?;
    assert_eq!(a.view_state().view.tabs, ["chat"]);
    Ok(())
}

#[test]
fn structured_presence_travels_and_cursors_follow_edits() -> Result<()> {
    let mut a = Session::new(1, person("a"), 0);
    let mut b = Session::new(2, person("b"), 0);
    a.doc_mut().create_document(Some("d"), "D", 0)?;
    a.doc_mut().insert_text("d", 0, "hello world")?;
    a.set_activity(Some("reviewing d"));
    a.set_typing(Some("main"));
    a.set_cursor("d", 6, 11)?;
    assert!(a.set_cursor("d", 99, 99).is_err());
    a.set_presence(r##"{"color":"#30bced","typingIn":null}"##)?;
    a.set_typing(Some("main"));
    for frame in a.drain_outgoing() {
        b.receive(&frame, 0)?;
    }
    // b edits before a's selection: the selection moves with the text.
    b.doc_mut().insert_text("d", 0, ">> ")?;
    let seen = b
        .presence()
        .into_iter()
        .find(|p| !p.is_self)
        .expect("a is present");
    assert_eq!(seen.activity.as_deref(), Some("reviewing d"));
    assert_eq!(seen.typing_in.as_deref(), Some("main"));
    assert_eq!(seen.status, PresenceStatus::Active);
    let cursor = seen.cursor.expect("cursor");
    assert_eq!(
        (cursor.document.as_str(), cursor.anchor, cursor.head),
        ("d", 9, 14)
    );
    assert_eq!(b.typing_in("main").len(), 1);
    let raw = b.peers().into_iter().find(|p| !p.is_self).unwrap().state;
    assert!(raw.contains("#30bced"), "app fields kept: {raw}");
    Ok(())
}

#[test]
fn status_goes_idle_then_away_and_back_with_input() -> Result<()> {
    let mut a = Session::new(1, person("a"), 0);
    a.drain_outgoing();
    assert!(a.tick(IDLE_AFTER_MS - 1).frames.is_empty());
    let frames = a.tick(IDLE_AFTER_MS).frames;
    assert_eq!(frames.len(), 1);
    assert_eq!(a.presence()[0].status, PresenceStatus::Idle);
    a.tick(AWAY_AFTER_MS);
    assert_eq!(a.presence()[0].status, PresenceStatus::Away);
    a.note_input(AWAY_AFTER_MS + 1);
    assert_eq!(a.presence()[0].status, PresenceStatus::Active);
    assert_eq!(a.drain_outgoing().len(), 1, "the change is sent");
    Ok(())
}

#[test]
fn private_context_stays_local_until_shared() -> Result<()> {
    use crate::model::context::{ContextKind, ContextStatus};
    let mut a = Session::new(1, person("a"), 0);
    a.drain_outgoing();
    let draft = ContextDraft {
        kind: ContextKind::Knowledge,
        text: "the staging DB is slow on Mondays".into(),
        tags: vec!["db".into()],
        refs: vec![],
    };
    let private = a.add_private_context(draft, 1)?;
    assert!(a.drain_outgoing().is_empty(), "nothing goes to the room");
    assert!(a.doc().context_entries().is_empty());
    assert_eq!(a.relevant_context(&["db".into()], &[]).len(), 1);
    let shared = a.share_private_context(&private, 2)?;
    assert_eq!(
        a.drain_outgoing().len(),
        1,
        "sharing is an edit of the room"
    );
    let entries = a.doc().context_entries();
    assert_eq!(
        (entries[0].id.as_str(), entries[0].status),
        (shared.as_str(), ContextStatus::Proposed)
    );
    assert_eq!(entries[0].author.id, "a");
    assert_eq!(a.relevant_context(&["db".into()], &[]).len(), 2);
    a.remove_private_context(&private)?;
    assert!(a.remove_private_context(&private).is_err());
    Ok(())
}

#[test]
fn bad_frames_are_errors() {
    let mut s = Session::new(1, person("a"), 0);
    assert_eq!(s.receive(&[], 0).unwrap_err(), Error::EmptyFrame);
    assert!(s
        .receive(&[0, 1, 3, 1, 2], 0)
        .unwrap_err()
        .is_protocol_error());
}

#[test]
fn an_ack_of_the_largest_number_acknowledges_everything_without_overflow() {
    let mut s = Session::new(1, person("ada"), 0);
    s.doc_mut().create_document(Some("d"), "D", 0).unwrap();
    s.doc_mut().insert_text("d", 0, "x").unwrap();
    let _ = s.drain_outgoing();
    let got = s.receive(&protocol::ack(u64::MAX), 0).unwrap();
    assert_eq!(got.acked, Some(u64::MAX));
}

#[test]
fn a_verified_identity_replaces_the_one_the_client_gave_in_presence_at_once() {
    let mut s = Session::new(1, person("someone"), 0);
    s.set_presence(r#"{"activity":"reading"}"#).unwrap();
    let _ = s.drain_outgoing();
    let verified = protocol::session(&serde_json::json!({
        "user": "olga", "name": "Olga", "kind": "person",
        "role": "editor", "readOnly": false, "verified": true,
    }));
    s.receive(&verified, 0).unwrap();
    assert_eq!(s.me().id, "olga");
    let mine = s
        .presence()
        .into_iter()
        .find(|p| p.is_self)
        .expect("own presence");
    assert_eq!(
        (mine.user.id.as_str(), mine.user.name.as_str()),
        ("olga", "Olga")
    );
    assert!(
        !s.drain_outgoing().is_empty(),
        "the new identity goes out at once"
    );
}
