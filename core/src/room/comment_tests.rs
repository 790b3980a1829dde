//! Comments through the room: a reviewer comments though they may not edit, only in
//! their own name, and the room raises an event for each comment, reply and resolution.

use super::tests::{actor, first_refusal, room_with};
use crate::authority::token::Role;
use crate::authority::EventKind;
use crate::doc::Participant;

#[test]
fn a_reviewer_comments_in_their_own_name_and_each_step_is_an_event() {
    let (mut room, mut owner, mut reviewer, msg) = room_with(actor("r", Role::Reviewer));
    room.take_events(true);
    let id = reviewer
        .comment_on_range("spec", 6, 11, "world is vague", 0)
        .unwrap();
    for f in reviewer.drain_outgoing() {
        room.receive(2, &f, 0).expect("a reviewer may comment");
    }
    reviewer.comment_on_message(&msg, "agreed", 0).unwrap();
    for f in reviewer.drain_outgoing() {
        room.receive(2, &f, 0)
            .expect("and start a thread on a message");
    }
    let added: Vec<_> = room
        .take_events(false)
        .into_iter()
        .filter(|e| e.action == EventKind::CommentAdded)
        .collect();
    assert_eq!(added.len(), 2);
    assert_eq!(added[0].detail["quote"], "world");

    // Someone else's name, or someone else's comment: refused, nothing applied.
    let owner_p = Participant::person("o", "O");
    reviewer
        .doc_mut()
        .comment_on_range("spec", 0, 5, "forged", &owner_p, 0)
        .unwrap();
    let err = first_refusal(&mut room, 2, &reviewer.drain_outgoing());
    assert_eq!(err.code(), "not_yours", "{err}");

    // The owner sees it, replies and resolves it: events the feed and webhooks carry.
    for frame in room.whole_room_frames().to_vec() {
        owner.receive(&frame, 0).unwrap();
    }
    owner.reply_to_comment(&id, "fixed", 1).unwrap();
    owner.set_comment_resolved(&id, true, 2).unwrap();
    for f in owner.drain_outgoing() {
        room.receive(1, &f, 0).unwrap();
    }
    let actions: Vec<EventKind> = room
        .take_events(false)
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.as_str().starts_with("comment."))
        .collect();
    assert_eq!(
        actions,
        [EventKind::CommentReplied, EventKind::CommentResolved]
    );
}

#[test]
fn after_a_restart_the_first_reply_and_resolution_on_an_old_comment_are_events() {
    let (mut room, mut owner, _reviewer, _) = room_with(actor("r", Role::Reviewer));
    let id = owner
        .comment_on_range("spec", 0, 5, "greeting?", 0)
        .unwrap();
    owner.reply_to_comment(&id, "first", 0).unwrap();
    for f in owner.drain_outgoing() {
        room.receive(1, &f, 0).unwrap();
    }
    // The object restarts long after: the room is rebuilt from storage.
    let later = 3_600_000;
    let mut restored = super::Room::load([room.snapshot()], Vec::<Vec<u8>>::new(), later).unwrap();
    restored.restore_connection(
        1,
        true,
        true,
        room.awareness_clients(1),
        actor("o", Role::Owner),
        0,
    );
    restored.take_events(true);
    owner.reply_to_comment(&id, "second", later).unwrap();
    owner.set_comment_resolved(&id, true, later).unwrap();
    for f in owner.drain_outgoing() {
        restored.receive(1, &f, later).unwrap();
    }
    let events: Vec<(EventKind, String)> = restored
        .take_events(false)
        .into_iter()
        .filter(|e| e.action.as_str().starts_with("comment."))
        .map(|e| {
            (
                e.action,
                e.detail["text"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            (EventKind::CommentReplied, "second".to_owned()),
            (EventKind::CommentResolved, String::new())
        ],
        "only what is new: the old reply is not announced again"
    );
}
