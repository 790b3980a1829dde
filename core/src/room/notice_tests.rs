//! Notifications the room raises from what happens in it: an invitation for the invitee,
//! a handoff for whom it hands to (urgent), never one for the person who acted.

use serde_json::json;

use super::tests::{actor, room_with};
use crate::authority::inbox::{NoticeKind, Urgency};
use crate::authority::token::Role;
use crate::model::context::ContextEventKind;

#[test]
fn an_invitation_and_a_handoff_notify_whom_they_name() {
    let (mut room, mut owner, mut other, _) = room_with(actor("e", Role::Editor));
    room.set_token_key(b"secret", "r");
    // E is here: the room knows E by name from now on.
    other.set_activity(Some("drafting"));
    for f in other.drain_outgoing() {
        room.receive(2, &f, 0).unwrap();
    }
    let present = room.take_present_change().expect("E's presence arrived");
    assert!(present.iter().any(|p| p.name == "E"));
    room.take_events(true);
    room.request(
        &actor("o", Role::Owner),
        "member.invite",
        json!({ "role": "reviewer", "user": "zed", "name": "Zed" }),
        0,
    )
    .unwrap();
    owner
        .raise_context_event(
            ContextEventKind::Handoff,
            "the launch plan is yours",
            Some("E"),
            1,
        )
        .unwrap();
    for f in owner.drain_outgoing() {
        room.receive(1, &f, 1).unwrap();
    }
    room.take_events(false);
    let notices = room.take_notices();
    let got: Vec<(&str, NoticeKind, Option<Urgency>)> = notices
        .iter()
        .map(|n| (n.user.as_str(), n.notification.kind, n.notification.urgency))
        .collect();
    assert_eq!(
        got,
        [
            ("zed", NoticeKind::Invitation, None),
            ("e", NoticeKind::Handoff, Some(Urgency::Urgent)),
        ],
        "the handoff names E by name; the room knows E's id"
    );
    assert_eq!(
        notices[0].notification.title,
        "O invited you to this room as reviewer"
    );
    assert_eq!(
        notices[1].notification.body.as_deref(),
        Some("the launch plan is yours")
    );
}

#[test]
fn someone_refused_a_lock_is_told_when_it_comes_free() {
    let (mut room, _owner, _other, _) = room_with(actor("e", Role::Editor));
    let (ada, bob) = (actor("ada", Role::Editor), actor("bob", Role::Editor));
    let lease = room
        .request(
            &ada,
            "lock.acquire",
            json!({ "resource": "doc:spec", "ttlMs": 60_000 }),
            0,
        )
        .unwrap();
    let refused = room
        .request(
            &bob,
            "lock.acquire",
            json!({ "resource": "doc:spec", "ttlMs": 60_000 }),
            1,
        )
        .unwrap_err();
    assert_eq!(refused.code.as_str(), "lock_held");
    room.take_events(false);
    assert!(room.take_notices().is_empty(), "nothing yet");
    let fence = lease["lease"]["fence"].clone();
    room.request(
        &ada,
        "lock.release",
        json!({ "resource": "doc:spec", "fence": fence }),
        2,
    )
    .unwrap();
    room.take_events(false);
    let notices = room.take_notices();
    assert_eq!(notices.len(), 1);
    assert_eq!(
        (notices[0].user.as_str(), notices[0].notification.kind),
        ("bob", NoticeKind::LockFree)
    );
    // Told once: the next release tells nobody.
    let again = room
        .request(
            &bob,
            "lock.acquire",
            json!({ "resource": "doc:spec", "ttlMs": 60_000 }),
            3,
        )
        .unwrap();
    let fence = again["lease"]["fence"].clone();
    room.request(
        &bob,
        "lock.release",
        json!({ "resource": "doc:spec", "fence": fence }),
        4,
    )
    .unwrap();
    room.take_events(false);
    assert!(room.take_notices().is_empty());
}
