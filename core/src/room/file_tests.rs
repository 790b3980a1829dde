//! Files through the room: an upload appears only once committed, leases on paths gate
//! every write, limits refuse by name, folders move and delete whole, deleted files
//! keep their versions, and clients cannot write the tree themselves.

use serde_json::json;

use super::tests::{actor, first_refusal, room_with};
use super::Room;
use crate::authority::token::Role;
use crate::authority::EventKind;
use crate::room::limits::Limits;

fn events(room: &mut Room) -> Vec<(EventKind, serde_json::Value)> {
    room.take_events(false)
        .into_iter()
        .filter(|e| {
            e.action.as_str().starts_with("file") || e.action.as_str().starts_with("folder")
        })
        .map(|e| (e.action, e.detail))
        .collect()
}

fn paths(room: &mut Room, deleted: bool) -> Vec<String> {
    let ana = actor("ana", Role::Editor);
    let list = room
        .request(&ana, "file.list", json!({ "deleted": deleted }), 0)
        .unwrap();
    list["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_upload_appears_only_when_committed_and_text_opens_as_a_document() {
    let mut room = Room::new(0);
    let ana = actor("ana", Role::Editor);
    let plan = room
        .prepare_upload(
            &ana,
            "/output/report.md",
            Some("text/markdown"),
            b"# Report\n",
            None,
            5,
        )
        .unwrap();
    assert_eq!(plan.path, "output/report.md");
    use sha2::Digest;
    assert_eq!(
        plan.hash,
        crate::authority::token::hex(&sha2::Sha256::digest(b"# Report\n"))
    );
    assert_eq!(plan.text.as_deref(), Some("# Report\n"));
    assert!(
        paths(&mut room, false).is_empty(),
        "nothing shows before the commit"
    );
    room.commit_upload(&ana, plan, None, 6).unwrap();
    assert_eq!(paths(&mut room, false), ["output", "output/report.md"]);
    let got = room
        .request(&ana, "file.get", json!({ "path": "output/report.md" }), 7)
        .unwrap();
    assert_eq!(got["text"], "# Report\n");
    assert_eq!(got["file"]["author"]["id"], "ana");
    assert_eq!(
        events(&mut room),
        [(
            EventKind::FileAdded,
            json!({ "path": "output/report.md", "size": 9, "type": "text/markdown", "hash": got["file"]["hash"] })
        )]
    );

    // Binary content is served from the object store by its hash.
    let png = [0x89, b'P', b'N', b'G', 0, 1, 2];
    let plan = room
        .prepare_upload(&ana, "img/logo.png", None, &png, None, 8)
        .unwrap();
    assert_eq!(
        (plan.content_type.as_str(), plan.text.is_none()),
        ("image/png", true)
    );
    let hash = plan.hash.clone();
    room.commit_upload(&ana, plan, None, 9).unwrap();
    match room.download("/img/logo.png", None).unwrap() {
        super::files::Download::Blob { version, .. } => assert_eq!(version.hash, hash),
        other => panic!("expected a blob, got {other:?}"),
    }
    room.upload_failed(&ana, "/img/cut.png", "the body was cut off", 10);
    assert_eq!(events(&mut room)[1].0, EventKind::FileUploadFailed);
    assert!(!paths(&mut room, true).contains(&"img/cut.png".to_owned()));
}

#[test]
fn path_leases_gate_writes_with_fencing() {
    let mut room = Room::new(0);
    let (ana, bo) = (actor("ana", Role::Editor), actor("bo", Role::Editor));
    let lease = room
        .request(
            &ana,
            "lock.acquire",
            json!({ "resource": "path:src/", "ttlMs": 60_000 }),
            0,
        )
        .unwrap();
    let fence = lease["lease"]["fence"].as_u64().unwrap();
    let write = |path: &str, fence: Option<u64>| json!({ "path": path, "text": "fn main() {}", "fence": fence });
    let err = room
        .request(&bo, "file.write", write("src/main.rs", None), 1)
        .unwrap_err();
    assert_eq!(err.code.as_str(), "lock_held");
    assert!(err.message.contains("path:src/"), "{}", err.message);
    let err = room
        .prepare_upload(&bo, "src/lib.rs", None, b"x", None, 1)
        .unwrap_err();
    assert_eq!(err.code.as_str(), "lock_held");
    room.request(&ana, "file.write", write("src/main.rs", Some(fence)), 2)
        .unwrap();
    // A fence that is not the caller's, or a lapsed lease, is refused on write.
    let err = room
        .request(&ana, "file.write", write("src/main.rs", Some(fence + 7)), 3)
        .unwrap_err();
    assert_eq!(err.code.as_str(), "lock_not_held");
    let err = room
        .request(
            &ana,
            "file.write",
            write("src/main.rs", Some(fence)),
            61_000,
        )
        .unwrap_err();
    assert!(err.message.contains("expired"), "{}", err.message);
    // Moving the folder away from under the holder is a write to it too.
    let err = room
        .request(&bo, "file.move", json!({ "from": "src", "to": "old" }), 4)
        .unwrap_err();
    assert_eq!(err.code.as_str(), "lock_held");
}

#[test]
fn limits_and_names_are_refused_with_a_reason() {
    let mut room = Room::new(0);
    room.set_limits(Limits {
        max_file_bytes: 10,
        max_files_bytes: 16,
        ..Limits::default()
    });
    let ana = actor("ana", Role::Editor);
    let err = room
        .prepare_upload(&ana, "big.bin", None, &[0; 11], None, 0)
        .unwrap_err();
    assert_eq!(err.code.as_str(), "file_too_large");
    assert!(err.message.contains("10 bytes"), "{}", err.message);
    let plan = room
        .prepare_upload(&ana, "a.bin", None, &[1; 10], None, 0)
        .unwrap();
    room.commit_upload(&ana, plan, None, 0).unwrap();
    let err = room
        .prepare_upload(&ana, "b.bin", None, &[2; 10], None, 0)
        .unwrap_err();
    assert_eq!(err.code.as_str(), "quota_exceeded");
    assert!(
        err.message.contains("use 10 of their 16 bytes"),
        "{}",
        err.message
    );
    // The same bytes again take no more room.
    let plan = room
        .prepare_upload(&ana, "copy.bin", None, &[1; 10], None, 0)
        .unwrap();
    assert!(plan.stored);
    room.commit_upload(&ana, plan, None, 0).unwrap();
    let err = room
        .prepare_upload(&ana, "a/../b", None, b"x", None, 0)
        .unwrap_err();
    assert!(err.message.contains("`..`"), "{}", err.message);
    let err = room
        .prepare_upload(&ana, "a.bin/inner", None, b"x", None, 0)
        .unwrap_err();
    assert!(err.message.contains("is a file"), "{}", err.message);
    let viewer = actor("v", Role::Viewer);
    let err = room
        .request(&viewer, "folder.create", json!({ "path": "x" }), 0)
        .unwrap_err();
    assert_eq!(err.code.as_str(), "forbidden");
}

#[test]
fn folders_move_and_delete_whole_and_deleted_files_keep_their_versions() {
    let mut room = Room::new(0);
    let ana = actor("ana", Role::Editor);
    for (path, text) in [("draft/a.txt", "one"), ("draft/sub/b.txt", "two")] {
        room.request(&ana, "file.write", json!({ "path": path, "text": text }), 1)
            .unwrap();
    }
    room.request(
        &ana,
        "file.write",
        json!({ "path": "draft/a.txt", "text": "one, again" }),
        2,
    )
    .unwrap();
    events(&mut room);
    let moved = room
        .request(
            &ana,
            "file.move",
            json!({ "from": "/draft/", "to": "output/final" }),
            3,
        )
        .unwrap();
    assert_eq!(moved["moved"], 4);
    assert_eq!(
        paths(&mut room, false),
        [
            "output",
            "output/final",
            "output/final/a.txt",
            "output/final/sub",
            "output/final/sub/b.txt"
        ]
    );
    let (kind, detail) = events(&mut room).remove(0);
    assert_eq!(kind, EventKind::FileMoved);

    assert_eq!(
        (detail["from"].as_str(), detail["to"].as_str()),
        (Some("draft"), Some("output/final"))
    );

    room.request(&ana, "file.delete", json!({ "path": "output/final" }), 4)
        .unwrap();
    assert_eq!(paths(&mut room, false), ["output"]);
    let got = room
        .request(&ana, "file.get", json!({ "path": "output/final/a.txt" }), 5)
        .unwrap();
    assert_eq!(got["file"]["deletedBy"]["id"], "ana");
    assert_eq!(got["file"]["versions"].as_array().unwrap().len(), 2);
    room.request(&ana, "file.restore", json!({ "path": "output/final" }), 6)
        .unwrap();
    let got = room
        .request(&ana, "file.get", json!({ "path": "output/final/a.txt" }), 7)
        .unwrap();
    assert_eq!(got["text"], "one, again");
    let kinds: Vec<EventKind> = events(&mut room).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, [EventKind::FileDeleted, EventKind::FileRestored]);

    // A renamed text file's document takes the new name.
    let doc = got["file"]["doc"].as_str().unwrap().to_owned();
    room.request(
        &ana,
        "file.move",
        json!({ "from": "output/final/a.txt", "to": "output/final/summary.txt" }),
        8,
    )
    .unwrap();
    let docs = room
        .request(&ana, "document.list", serde_json::Value::Null, 9)
        .unwrap();
    let title = docs["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == doc.as_str())
        .unwrap()["title"]
        .clone();
    assert_eq!(title, "summary.txt");
}

#[test]
fn a_client_cannot_write_the_file_tree_itself() {
    let (mut room, _owner, mut other, _) = room_with(actor("e", Role::Editor));
    let entry = yrs::Any::from("forged");
    {
        use yrs::{Map, Transact, WriteTxn};
        let doc = other.doc_mut().doc().clone();
        let mut txn = doc.transact_mut();
        let files = txn.get_or_insert_map(crate::doc::schema::FILES);
        files.insert(&mut txn, "x.txt", entry);
    }
    let err = first_refusal(&mut room, 2, &other.drain_outgoing());
    assert_eq!(err.code(), "forbidden", "{err}");
    assert!(err.to_string().contains("file tree"), "{err}");
}

#[test]
fn a_live_edit_to_a_file_under_someone_elses_path_lease_waits_as_a_suggestion() {
    let (mut room, _owner, mut ed, _) = room_with(actor("e", Role::Editor));
    let (agent, owner) = (actor("bot", Role::Editor), actor("o", Role::Owner));
    let file = room
        .request(
            &owner,
            "file.write",
            json!({ "path": "src/main.rs", "text": "fn main() {}" }),
            0,
        )
        .unwrap();
    let doc = file["file"]["doc"].as_str().unwrap().to_owned();
    for frame in room.whole_room_frames().to_vec() {
        ed.receive(&frame, 0).unwrap();
    }
    ed.drain_outgoing();
    room.request(
        &agent,
        "lock.acquire",
        json!({ "resource": "path:src/", "ttlMs": 60_000 }),
        1,
    )
    .unwrap();
    ed.doc_mut().insert_text(&doc, 0, "// mine\n").unwrap();
    for f in ed.drain_outgoing() {
        room.receive(2, &f, 2)
            .expect("held, not refused: the socket stays open");
    }
    assert_eq!(room.document_text(&doc).as_deref(), Some("fn main() {}"));
    let held = room
        .request(&owner, "suggestion.list", serde_json::Value::Null, 3)
        .unwrap();
    assert_eq!(held["suggestions"][0]["document"], doc.as_str());
    // The lease's holder (or an owner) accepts it: nothing was lost. Another editor may not.
    let id = held["suggestions"][0]["id"].as_str().unwrap().to_owned();
    let other = actor("zed", Role::Editor);
    let err = room
        .request(&other, "suggestion.reject", json!({ "id": id }), 4)
        .unwrap_err();
    assert_eq!(err.code.as_str(), "forbidden");
    room.request(&agent, "suggestion.accept", json!({ "id": id }), 4)
        .unwrap();
    assert_eq!(
        room.document_text(&doc).as_deref(),
        Some("// mine\nfn main() {}")
    );
}
