//! Unit tests.

use super::*;
use crate::authority::locks::LeasePolicy;
use crate::authority::webhook::Attempt;
use crate::doc::ParticipantKind;

impl Authority {
    /// Parse and run an operation, as the room does for a request.
    fn call(&mut self, actor: &Actor, name: &str, args: Value, now_ms: u64) -> OpResult {
        self.handle(actor, Op::parse(name, args)?, now_ms)
    }
}

fn actor(id: &str, role: Role) -> Actor {
    Actor {
        id: id.into(),
        name: id.to_uppercase(),
        kind: ParticipantKind::Agent,
        role,
        guest: false,
    }
}

#[test]
fn locks_through_operations_raise_events() -> Result<(), OpError> {
    let mut a = Authority::new();
    let bot = actor("bot", Role::Editor);
    let out = a.call(
        &bot,
        "lock.acquire",
        json!({"resource": "doc:x", "ttlMs": 1000}),
        5,
    )?;
    assert_eq!(out.events[0].action, "lock.acquired");
    let fence = out.result["lease"]["fence"].as_u64().unwrap();
    let err = a
        .call(
            &actor("other", Role::Editor),
            "lock.acquire",
            json!({"resource": "doc:x", "ttlMs": 1000}),
            6,
        )
        .unwrap_err();
    assert_eq!(err.code, OpCode::LockHeld);
    let v = a.call(
        &actor("x", Role::Viewer),
        "lock.verify",
        json!({"resource": "doc:x", "fence": fence}),
        7,
    )?;
    assert_eq!(v.result["valid"], true);
    // A viewer may not take a lease; bad arguments name the field.
    let err = a
        .call(
            &actor("v", Role::Viewer),
            "lock.acquire",
            json!({"resource": "y", "ttlMs": 1000}),
            8,
        )
        .unwrap_err();
    assert_eq!(err.code, "forbidden");
    let err = a
        .call(&bot, "lock.acquire", json!({"resource": "y"}), 8)
        .unwrap_err();
    assert!(err.message.contains("missing field `ttlMs`"), "{err}");
    let err = a
        .call(
            &bot,
            "lock.acquire",
            json!({"resource": "y", "ttlMs": "x"}),
            8,
        )
        .unwrap_err();
    assert!(err.message.contains("invalid type"), "{err}");
    assert_eq!(a.expire(1_005).len(), 1);
    Ok(())
}

#[test]
fn roles_change_transfer_and_leave() -> Result<(), OpError> {
    let mut a = Authority::new();
    let owner = actor("o", Role::Owner);
    let claims = |sub: &str, role| Claims {
        room: "r".into(),
        sub: sub.into(),
        name: sub.into(),
        kind: ParticipantKind::Person,
        role,
        exp: 10,
    };
    let err = a
        .call(
            &actor("e", Role::Editor),
            "member.role",
            json!({"user": "v", "role": "editor"}),
            0,
        )
        .unwrap_err();
    assert_eq!(err.code, "forbidden");
    let out = a.call(
        &owner,
        "member.role",
        json!({"user": "v", "role": "editor"}),
        0,
    )?;
    assert_eq!(out.role_change, Some(("v".into(), Some(Role::Editor))));
    assert_eq!(a.admit(&claims("v", Role::Viewer))?.role, Role::Editor);
    let out = a.call(
        &owner,
        "member.invite",
        json!({"role": "reviewer", "user": "r"}),
        1_000,
    )?;
    assert_eq!(out.mint.as_ref().map(|c| c.role), Some(Role::Reviewer));
    assert_eq!(out.mint.as_ref().map(|c| c.exp), Some(3_601));
    // Transfer: o becomes an editor, v the owner.
    a.call(&owner, "member.transfer", json!({"user": "v"}), 0)?;
    assert_eq!(a.admit(&claims("o", Role::Owner))?.role, Role::Editor);
    assert_eq!(a.admit(&claims("v", Role::Viewer))?.role, Role::Owner);
    // The owner cannot leave; others can, and are refused until invited again.
    let new_owner = actor("v", Role::Owner);
    assert!(a.call(&new_owner, "member.leave", json!({}), 0).is_err());
    a.call(&actor("r", Role::Reviewer), "member.leave", json!({}), 0)?;
    assert!(a.admit(&claims("r", Role::Reviewer)).is_err());
    a.call(
        &new_owner,
        "member.invite",
        json!({"role": "viewer", "user": "r"}),
        0,
    )?;
    assert_eq!(a.admit(&claims("r", Role::Reviewer))?.role, Role::Viewer);
    let back = Authority::from_json(&a.to_json()).unwrap();
    assert_eq!(back, a);
    Ok(())
}

fn actions(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.action.as_str()).collect()
}

#[test]
fn role_changes_end_the_leases_the_new_role_may_not_hold() -> Result<(), OpError> {
    let mut a = Authority::new();
    let owner = actor("o", Role::Owner);
    let ed = actor("ed", Role::Editor);
    a.call(
        &owner,
        "lock.policy",
        json!({"document": "spec", "policy": "suggest"}),
        0,
    )?;
    let doc = a.call(
        &ed,
        "lock.acquire",
        json!({"resource": "doc:spec", "ttlMs": 86_400_000}),
        1,
    )?;
    let fence = doc.result["lease"]["fence"].as_u64().unwrap();
    a.call(
        &ed,
        "lock.acquire",
        json!({"resource": "path:src/", "ttlMs": 1_000}),
        1,
    )?;
    let suggestion = a.add_suggestion(&actor("al", Role::Editor), "spec", b"\0\0", 2);
    a.may_decide_suggestion(&ed, "spec", None, "accept", 3)?;

    // Demoted to viewer: both leases end at once, each with its reason.
    let out = a.call(
        &owner,
        "member.role",
        json!({"user": "ed", "role": "viewer"}),
        10,
    )?;
    assert_eq!(
        actions(&out.events),
        ["role.changed", "lock.released", "lock.released"]
    );
    assert_eq!(out.events[1].target.as_deref(), Some("doc:spec"));
    assert_eq!(out.events[1].detail["reason"], "ed is now viewer");
    assert_eq!(out.events[1].actor, Some(owner.summary()));
    assert!(a.locks.leases(10).is_empty());
    // The editors are no longer locked out.
    a.call(
        &actor("bo", Role::Editor),
        "lock.acquire",
        json!({"resource": "doc:spec", "ttlMs": 1_000}),
        11,
    )?;

    // Every lease operation checks the caller's role now, not at grant time.
    let viewer = actor("ed", Role::Viewer);
    for (op, args) in [
        ("lock.acquire", json!({"resource": "x", "ttlMs": 1_000})),
        (
            "lock.renew",
            json!({"resource": "doc:spec", "fence": fence, "ttlMs": 86_400_000}),
        ),
        (
            "lock.release",
            json!({"resource": "doc:spec", "fence": fence}),
        ),
    ] {
        let err = a.call(&viewer, op, args, 12).unwrap_err();
        assert_eq!(err.code, "forbidden", "{op}: {err}");
        assert!(err.message.contains("ed is viewer"), "{err}");
    }
    let err = a
        .may_decide_suggestion(
            &viewer,
            &a.suggestion_update(&suggestion)?.0,
            None,
            "reject",
            12,
        )
        .unwrap_err();
    assert_eq!(err.code.as_str(), "forbidden", "{err}");

    // Lowered through an invitation, removed, or leaving: the same.
    for (op, user, args, reason) in [
        (
            "member.invite",
            "bo",
            json!({"user": "bo", "role": "reviewer"}),
            "bo is now reviewer",
        ),
        (
            "member.remove",
            "cy",
            json!({"user": "cy"}),
            "cy left or was removed from the room",
        ),
        (
            "member.leave",
            "di",
            json!({}),
            "di left or was removed from the room",
        ),
    ] {
        let holder = actor(user, Role::Editor);
        let resource = format!("doc:{user}");
        if user != "bo" {
            a.call(
                &holder,
                "lock.acquire",
                json!({"resource": resource, "ttlMs": 1_000}),
                20,
            )?;
        }
        let by = if op == "member.leave" {
            &holder
        } else {
            &owner
        };
        let out = a.call(by, op, args, 21)?;
        let released: Vec<&Event> = out
            .events
            .iter()
            .filter(|e| e.action == "lock.released")
            .collect();
        assert_eq!(released.len(), 1, "{op}: {:?}", out.events);
        assert_eq!(released[0].detail["reason"], reason);
        assert!(a.locks.leases(21).iter().all(|l| l.holder != user), "{op}");
    }

    // Raised, or kept at a role that writes: leases stay.
    let eve = actor("eve", Role::Editor);
    a.call(
        &eve,
        "lock.acquire",
        json!({"resource": "doc:e", "ttlMs": 1_000}),
        30,
    )?;
    let out = a.call(
        &owner,
        "member.role",
        json!({"user": "eve", "role": "owner"}),
        31,
    )?;
    assert_eq!(actions(&out.events), ["role.changed"]);
    a.call(&owner, "member.transfer", json!({"user": "eve"}), 32)?;
    assert_eq!(a.locks.leases(32).len(), 1);
    Ok(())
}

#[test]
fn a_lease_that_outlived_a_role_change_decides_nothing() -> Result<(), OpError> {
    // A lease granted while the token said editor; the caller now comes as a viewer.
    let mut a = Authority::new();
    a.locks.set_policy("spec", Some(LeasePolicy::Suggest));
    let lease = a.call(
        &actor("ed", Role::Editor),
        "lock.acquire",
        json!({"resource": "doc:spec", "ttlMs": 86_400_000}),
        0,
    )?;
    let fence = lease.result["lease"]["fence"].clone();
    let id = a.add_suggestion(&actor("al", Role::Editor), "spec", b"\0\0", 1);
    let viewer = actor("ed", Role::Viewer);
    let err = a
        .may_decide_suggestion(&viewer, "spec", None, "accept", 2)
        .unwrap_err();
    assert!(err.message.contains("only an owner or the holder"), "{err}");
    assert!(a
        .call(&viewer, "suggestion.reject", json!({"id": id}), 2)
        .is_err());
    assert!(a
        .call(
            &viewer,
            "lock.renew",
            json!({"resource": "doc:spec", "fence": fence, "ttlMs": 1_000}),
            2
        )
        .is_err());
    Ok(())
}

#[test]
fn no_member_operation_leaves_the_room_without_an_owner() -> Result<(), OpError> {
    let mut a = Authority::new();
    let owner = actor("o", Role::Owner);
    for (op, args) in [
        ("member.invite", json!({"user": "o", "role": "viewer"})),
        ("member.role", json!({"user": "o", "role": "editor"})),
    ] {
        let err = a.call(&owner, op, args, 0).unwrap_err();
        assert_eq!(err.code, "invalid_request");
        assert!(
            err.message
                .contains("o owns this room and cannot make themselves"),
            "{err}"
        );
    }
    let err = a.call(&owner, "member.leave", json!({}), 0).unwrap_err();
    assert!(err.message.contains("o owns this room"), "{err}");
    // Re-inviting oneself as owner changes nothing and is fine.
    a.call(
        &owner,
        "member.invite",
        json!({"user": "o", "role": "owner"}),
        0,
    )?;
    // The app's backend may not demote the last owner on record either...
    let err = a
        .call(
            &Actor::server(),
            "member.invite",
            json!({"user": "o", "role": "viewer"}),
            0,
        )
        .unwrap_err();
    assert!(err.message.contains("o is the room's last owner"), "{err}");
    let err = a
        .call(
            &Actor::server(),
            "member.role",
            json!({"user": "o", "role": "editor"}),
            0,
        )
        .unwrap_err();
    assert!(
        err.message.contains("would leave the room with no owner"),
        "{err}"
    );
    let err = a
        .call(&Actor::server(), "member.remove", json!({"user": "o"}), 0)
        .unwrap_err();
    assert!(err.message.contains("o owns this room"), "{err}");
    // ...but may once there is another; and an owner may demote another owner.
    a.call(
        &Actor::server(),
        "member.role",
        json!({"user": "p", "role": "owner"}),
        0,
    )?;
    a.call(
        &Actor::server(),
        "member.role",
        json!({"user": "o", "role": "editor"}),
        0,
    )?;
    a.call(
        &owner,
        "member.invite",
        json!({"user": "q", "role": "owner"}),
        0,
    )?;
    a.call(
        &actor("p", Role::Owner),
        "member.role",
        json!({"user": "q", "role": "viewer"}),
        0,
    )?;
    assert_eq!(a.member_role("p"), Some(Role::Owner));
    Ok(())
}

#[test]
fn the_audit_log_is_for_owners_and_editors() {
    assert!(Authority::may_read_audit(&Actor::server()).is_ok());
    assert!(Authority::may_read_audit(&actor("o", Role::Owner)).is_ok());
    assert!(Authority::may_read_audit(&actor("e", Role::Editor)).is_ok());
    for role in [Role::Reviewer, Role::Viewer] {
        let err = Authority::may_read_audit(&actor("v", role)).unwrap_err();
        assert_eq!(err.code, OpCode::Forbidden);
        assert!(
            err.message
                .contains("reading the audit log needs the editor role"),
            "{err}"
        );
    }
}

#[test]
fn webhooks_reach_public_hosts_and_events_show_redacted_urls() -> Result<(), OpError> {
    let mut a = Authority::new();
    let owner = actor("o", Role::Owner);
    let hook = |url: &str| json!({"url": url, "events": ["join"], "secret": "0123456789abcdef"});
    let err = a
        .call(&owner, "webhook.create", hook("http://127.0.0.1:9/h"), 0)
        .unwrap_err();
    assert_eq!(err.code, "invalid_request");
    assert!(err.message.contains("loopback address"), "{err}");
    let err = a
        .call(&owner, "webhook.create", hook("http://"), 0)
        .unwrap_err();
    assert!(err.message.contains("not a valid url"), "{err}");

    let secret_url = "https://hooks.example.com/x?token=s3cret";
    let out = a.call(&owner, "webhook.create", hook(secret_url), 0)?;
    assert_eq!(out.events[0].detail["url"], "https://hooks.example.com/x?…");
    assert!(!serde_json::to_string(&out.events)
        .unwrap()
        .contains("s3cret"));
    // The owner who set it sees it; nobody else lists hooks.
    assert_eq!(
        a.call(&owner, "webhook.list", json!({}), 0)?.result["webhooks"][0]["url"],
        secret_url
    );
    for role in [Role::Editor, Role::Reviewer, Role::Viewer] {
        let err = a
            .call(&actor("x", role), "webhook.list", json!({}), 0)
            .unwrap_err();
        assert_eq!(err.code, "forbidden");
    }
    let join = crate::authority::Event::new(EventKind::Join, None, None, json!({}), 0);
    let stored = a.hooks_for(&join)[0].clone();
    let judged = Attempt::judge(webhook::Answer::Status(302), 1, 5);
    let e = delivery_event(&stored, json!("1-w1"), 1, &judged, 5);
    assert_eq!(e.action, "webhook.failed");
    assert_eq!(
        (e.detail["status"].clone(), e.detail["url"].clone()),
        (json!(302), json!("https://hooks.example.com/x?…"))
    );

    // Development mode reaches local receivers; a deployment checks again at delivery.
    a.set_webhook_targets(Targets::Any);
    a.call(&owner, "webhook.create", hook("http://localhost:9/h"), 0)?;
    let local = a.hooks_for(&join)[1].clone();
    assert!(a.check_hook_target(&local).is_ok());
    a.set_webhook_targets(Targets::Public);
    assert!(a.check_hook_target(&local).is_err());
    assert!(a.check_hook_target(&stored).is_ok());
    Ok(())
}

#[test]
fn activities_drive_agent_status_and_collaborations_record_decisions() -> Result<(), OpError> {
    let mut a = Authority::new();
    let bot = actor("bot", Role::Editor);
    let c = a.call(
        &bot,
        "collaboration.start",
        json!({"title": "Plan", "participants": ["ada"]}),
        1,
    )?;
    let cid = c.result["collaboration"]["id"].as_str().unwrap().to_owned();
    let out = a.call(
        &bot,
        "activity.record",
        json!({"kind": "council_debate", "summary": "pros and cons", "collaboration": cid}),
        2,
    )?;
    let actions: Vec<&str> = out.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["activity.started", "agent.status"]);
    assert_eq!(a.agent_status("bot"), "active");
    let id = out.result["activity"]["id"].as_str().unwrap().to_owned();
    let err = a
        .call(
            &actor("eve", Role::Editor),
            "activity.complete",
            json!({"id": id}),
            3,
        )
        .unwrap_err();
    assert_eq!(err.code, "forbidden");
    let out = a.call(
        &bot,
        "activity.complete",
        json!({"id": id, "result": "go"}),
        4,
    )?;
    assert_eq!(out.result["activity"]["status"], "completed");
    assert_eq!(a.agent_status("bot"), "idle");
    assert!(a
        .call(&bot, "activity.complete", json!({"id": id}), 5)
        .is_err());
    let err = a
        .call(&bot, "activity.record", json!({"kind": "dance"}), 5)
        .unwrap_err();
    assert!(err.message.contains("unknown activity kind `dance`"));
    a.call(
        &bot,
        "collaboration.decide",
        json!({"id": cid, "text": "ship"}),
        6,
    )?;
    let out = a.call(
        &bot,
        "collaboration.end",
        json!({"id": cid, "outcome": "shipped"}),
        7,
    )?;
    assert_eq!(out.result["collaboration"]["decisions"][0]["text"], "ship");
    assert_eq!(out.result["collaboration"]["status"], "ended");
    assert!(a
        .call(
            &bot,
            "collaboration.decide",
            json!({"id": cid, "text": "x"}),
            8
        )
        .is_err());
    Ok(())
}

#[test]
fn an_anonymous_caller_is_told_how_to_send_a_credential() {
    let mut a = Authority::new();
    let err = a
        .call(
            &Actor::anonymous(),
            "member.invite",
            json!({ "role": "editor" }),
            1,
        )
        .unwrap_err();
    assert!(err
        .message
        .starts_with("member.invite is an owner action; anonymous is editor"));
    assert!(
        err.message
            .contains("`Authorization: Bearer <key or token>`"),
        "{}",
        err.message
    );
    let owner = Actor {
        role: Role::Editor,
        ..Actor::server()
    };
    let err = a
        .call(&owner, "member.invite", json!({ "role": "editor" }), 1)
        .unwrap_err();
    assert!(
        !err.message.contains("Bearer"),
        "a caller with a credential gets no hint"
    );
}

#[test]
fn an_editor_brings_an_agent_in_with_its_own_token_and_no_more_than_editor() -> Result<(), OpError>
{
    let mut a = Authority::new();
    let owner = actor("o", Role::Owner);
    let ada = actor("ada", Role::Editor);
    let out = a.call(&ada, "agent.invite", json!({"name": "Demo agent"}), 1_000)?;
    let claims = out.mint.clone().expect("a token to sign");
    assert_eq!(claims.sub, "agent:ada:demo-agent");
    assert_eq!(
        (claims.name.as_str(), claims.kind, claims.role, claims.exp),
        ("Demo agent", ParticipantKind::Agent, Role::Editor, 3_601)
    );
    assert_eq!(out.events[0].action, "member.invited");
    assert_eq!(a.admit(&claims)?.role, Role::Editor);
    // Those who cannot edit cannot bring an agent to edit for them.
    for role in [Role::Viewer, Role::Reviewer] {
        let err = a
            .call(&actor("v", role), "agent.invite", json!({"name": "Bot"}), 0)
            .unwrap_err();
        assert_eq!(err.code, "forbidden", "{err}");
    }
    for bad in [
        json!({"name": " "}),
        json!({"name": "x", "ttlSecs": 0}),
        json!({}),
    ] {
        let err = a.call(&ada, "agent.invite", bad.clone(), 0).unwrap_err();
        assert_eq!(err.code, OpCode::Invalid, "{bad}: {err}");
    }
    // An owner's word stands: a lowered agent stays lowered, a removed one stays out.
    a.call(
        &owner,
        "member.role",
        json!({"user": "agent:ada:demo-agent", "role": "viewer"}),
        0,
    )?;
    let again = a.call(&ada, "agent.invite", json!({"name": "Demo agent"}), 0)?;
    assert_eq!(again.mint.map(|c| c.role), Some(Role::Viewer));
    a.call(
        &owner,
        "member.remove",
        json!({"user": "agent:ada:demo-agent"}),
        0,
    )?;
    let err = a
        .call(&ada, "agent.invite", json!({"name": "Demo agent"}), 0)
        .unwrap_err();
    assert_eq!(err.code, "forbidden", "{err}");
    Ok(())
}
