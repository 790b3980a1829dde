//! The wasm build of Confab, run by wasm-bindgen-test in Node and in headless Chromium.

use confab_core::client::session::Session;
use confab_core::doc::Participant;
use confab_core::room::Room as ServerRoom;
use confab_wasm::Room;
use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

fn options(room: &str, url: &str) -> JsValue {
    let user = Object::new();
    Reflect::set(&user, &"id".into(), &"ada".into()).unwrap();
    Reflect::set(&user, &"name".into(), &"Ada".into()).unwrap();
    let opts = Object::new();
    Reflect::set(&opts, &"url".into(), &url.into()).unwrap();
    Reflect::set(&opts, &"room".into(), &room.into()).unwrap();
    Reflect::set(&opts, &"user".into(), &user).unwrap();
    opts.into()
}

fn error_message(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_default()
}

#[wasm_bindgen_test]
fn local_edits_apply_at_once_offline() {
    let room = Room::new(options("local", "ws://127.0.0.1:9/rooms")).unwrap();
    assert_eq!(room.status(), "disconnected");
    assert_eq!(room.url(), "ws://127.0.0.1:9/rooms/local?protocol=confab");
    // A guest (development mode, no token) names itself; with a token it need not.
    let guest = options("local", "ws://127.0.0.1:9/rooms");
    Reflect::set(&guest, &"guest".into(), &true.into()).unwrap();
    assert_eq!(
        Room::new(guest.clone()).unwrap().url(),
        "ws://127.0.0.1:9/rooms/local?protocol=confab&guest=ada&guestName=Ada&guestKind=person"
    );
    Reflect::set(&guest, &"token".into(), &"v1.t".into()).unwrap();
    assert_eq!(
        Room::new(guest).unwrap().url(),
        "ws://127.0.0.1:9/rooms/local?protocol=confab&token=v1.t"
    );
    let doc = room.create_document("Notes", Some("notes".into())).unwrap();
    room.insert_text(&doc, 0, "hello 😀").unwrap();
    room.insert_text(&doc, 8, "!").unwrap();
    assert_eq!(room.document_text(&doc).unwrap(), "hello 😀!");
    room.delete_text(&doc, 0, 6).unwrap();
    assert_eq!(room.document_text(&doc).unwrap(), "😀!");
    let conv = room.create_conversation("Chat", None).unwrap();
    room.post_message(&conv, "hi", None).unwrap();
    let msgs: Array = room.messages(&conv).unwrap().unchecked_into();
    assert_eq!(msgs.length(), 1);
    let first = msgs.get(0);
    assert_eq!(Reflect::get(&first, &"text".into()).unwrap(), "hi");
    assert_eq!(Reflect::get(&first, &"role".into()).unwrap(), "user");
    let author = Reflect::get(&first, &"author".into()).unwrap();
    assert_eq!(Reflect::get(&author, &"kind".into()).unwrap(), "person");
}

#[wasm_bindgen_test]
fn bad_calls_throw_errors_that_name_the_problem() {
    let room = Room::new(options("errors", "ws://127.0.0.1:9/rooms")).unwrap();
    room.ensure_document("D", "d").unwrap();
    let err = room.insert_text("d", 5, "x").unwrap_err();
    assert!(err.is_instance_of::<js_sys::RangeError>());
    assert_eq!(field(&err, "code"), "out_of_range");
    assert!(error_message(&err).contains("outside `d` of length 0"));
    let err = room.insert_text("missing", 0, "x").unwrap_err();
    assert_eq!(field(&err, "code"), "not_found");
    assert_eq!(error_message(&err), "unknown document `missing`");
    let err = room
        .post_message("c", "x", Some("wizard".into()))
        .unwrap_err();
    assert_eq!(field(&err, "code"), "invalid_argument");
    assert!(error_message(&err).contains("wizard"));
    let err = Room::new(JsValue::from_str("nope")).err().unwrap();
    assert!(err.is_instance_of::<js_sys::TypeError>());
    assert_eq!(field(&err, "code"), "invalid_argument");
    assert!(error_message(&err).starts_with("invalid room options"));
    let err = room.set_presence(JsValue::from(3)).unwrap_err();
    assert!(error_message(&err).contains("invalid presence"));
    assert!(
        field(&err, "code").is_string(),
        "every error carries a code"
    );
    let err = room.set_stale_policy("d", "suggest").unwrap_err();
    assert_eq!(field(&err, "code"), "invalid_argument");
    room.set_stale_policy("d", "hold").unwrap();
}

/// `setText` replaces the whole text through core's smallest single edit: the text
/// around the change keeps its authorship, and a surrogate pair is never split.
#[wasm_bindgen_test]
fn set_text_replaces_the_whole_text_by_the_smallest_edit() {
    let room = Room::new(options("set-text", "ws://127.0.0.1:9/rooms")).unwrap();
    room.ensure_document("D", "d").unwrap();
    room.set_text("d", "hello world").unwrap();
    assert_eq!(room.document_text("d").unwrap(), "hello world");
    room.set_text("d", "hello brave world").unwrap();
    assert_eq!(room.document_text("d").unwrap(), "hello brave world");
    room.set_text("d", "hello 😀 world").unwrap();
    assert_eq!(room.document_text("d").unwrap(), "hello 😀 world");
    room.set_text("d", "hello 😁 world").unwrap();
    assert_eq!(room.document_text("d").unwrap(), "hello 😁 world");
    room.set_text("d", "").unwrap();
    assert_eq!(room.document_text("d").unwrap(), "");
    let err = room.set_text("missing", "x").unwrap_err();
    assert_eq!(field(&err, "code"), "not_found");
}

#[wasm_bindgen_test]
fn presence_lists_self_with_user() {
    let room = Room::new(options("presence", "ws://127.0.0.1:9/rooms")).unwrap();
    let state = Object::new();
    Reflect::set(&state, &"status".into(), &"active".into()).unwrap();
    room.set_presence(state.into()).unwrap();
    let peers: Array = room.peers().unwrap().unchecked_into();
    assert_eq!(peers.length(), 1);
    let me = peers.get(0);
    assert_eq!(Reflect::get(&me, &"isSelf".into()).unwrap(), true);
    let state = Reflect::get(&me, &"state".into()).unwrap();
    let user = Reflect::get(&state, &"user".into()).unwrap();
    assert_eq!(Reflect::get(&user, &"name".into()).unwrap(), "Ada");
}

/// Core compiled to wasm: two sessions converge through a sans-IO room.
#[wasm_bindgen_test]
fn core_protocol_round_trip_in_wasm() {
    let mut server = ServerRoom::new(0);
    let mut a = Session::new(1, Participant::person("a", "A"), 0);
    let mut b = Session::new(2, Participant::person("b", "B"), 0);
    let mut to_a: Vec<Vec<u8>> = server
        .connect(1, true)
        .into_iter()
        .map(|o| o.frame)
        .collect();
    let mut to_b: Vec<Vec<u8>> = server
        .connect(2, true)
        .into_iter()
        .map(|o| o.frame)
        .collect();
    a.doc_mut().create_document(Some("d"), "D", 0).unwrap();
    a.doc_mut().insert_text("d", 0, "from a").unwrap();
    let mut up: Vec<(u64, Vec<u8>)> = a.handshake().into_iter().map(|f| (1, f)).collect();
    up.extend(b.handshake().into_iter().map(|f| (2, f)));
    for _ in 0..8 {
        for (conn, frame) in up.drain(..) {
            for o in server.receive(conn, &frame, 0).unwrap() {
                if o.to.includes(1) {
                    to_a.push(o.frame.clone());
                }
                if o.to.includes(2) {
                    to_b.push(o.frame);
                }
            }
        }
        for f in to_a.drain(..) {
            up.extend(
                a.receive(&f, 0)
                    .unwrap()
                    .replies
                    .into_iter()
                    .map(|r| (1, r)),
            );
        }
        for f in to_b.drain(..) {
            up.extend(
                b.receive(&f, 0)
                    .unwrap()
                    .replies
                    .into_iter()
                    .map(|r| (2, r)),
            );
        }
    }
    assert_eq!(b.doc().document_text("d").unwrap(), "from a");
    assert!(a.is_synced() && b.is_synced());
}

/// With nothing listening, the room reports connecting, then reconnecting (or, where the
/// runtime has no WebSocket at all, says so).
#[wasm_bindgen_test]
async fn unreachable_edge_reports_state() {
    let room = Room::new(options("unreachable", "ws://127.0.0.1:9/rooms")).unwrap();
    let seen = Array::new();
    let sink = seen.clone();
    // The room is done trying once it reports reconnecting (or gives up: disconnected).
    let (settled, settle) = signal();
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        let kind = Reflect::get(&e, &"type".into()).unwrap();
        let detail = if kind == "status" {
            Reflect::get(&e, &"status".into()).unwrap()
        } else {
            let error = Reflect::get(&e, &"error".into()).unwrap_or(JsValue::NULL);
            Reflect::get(&error, &"message".into()).unwrap_or(JsValue::NULL)
        };
        sink.push(&detail);
        if detail == "reconnecting" || detail == "disconnected" {
            settle.call0(&JsValue::NULL).unwrap();
        }
    });
    room.set_listener(Some(listener.as_ref().unchecked_ref::<Function>().clone()));
    room.connect();
    let has_ws = Reflect::get(&js_sys::global(), &"WebSocket".into())
        .map(|v| v.is_function())
        .unwrap_or(false);
    within(settled, 5_000, "a reconnecting or disconnected status").await;
    let events: Vec<String> = seen.iter().filter_map(|v| v.as_string()).collect();
    if has_ws {
        assert_eq!(events[0], "connecting", "{events:?}");
        assert!(events.contains(&"reconnecting".to_owned()), "{events:?}");
        assert_eq!(room.status(), "reconnecting");
    } else {
        assert!(
            events.iter().any(|e| e.contains("no WebSocket")),
            "{events:?}"
        );
    }
    room.destroy();
    assert_eq!(room.status(), "disconnected");
}

/// Edits made offline are not saved: `unacked` counts them, a `saved` event says so, and
/// a request cannot be sent (it rejects with a stable `code`).
#[wasm_bindgen_test]
async fn offline_edits_count_as_unsaved() {
    let room = Room::new(options("offline-saved", "ws://127.0.0.1:9/rooms")).unwrap();
    let saved = Array::new();
    let sink = saved.clone();
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        if Reflect::get(&e, &"type".into()).unwrap() == "saved" {
            sink.push(&Reflect::get(&e, &"unacked".into()).unwrap());
        }
    });
    room.set_listener(Some(listener.as_ref().unchecked_ref::<Function>().clone()));
    assert_eq!(room.unacked(), 0, "nothing written yet");
    room.ensure_document("D", "d").unwrap();
    let first = room.unacked();
    assert!(first > 0, "never connected: the edit is not stored");
    room.insert_text("d", 0, "offline").unwrap();
    assert!(room.unacked() > first, "each offline edit is unsaved");
    // The app heard that its edits became unsaved (once: not an event per keystroke).
    let told: Vec<f64> = saved.iter().filter_map(|v| v.as_f64()).collect();
    assert_eq!(told, vec![f64::from(first)], "{told:?}");
    let err = wasm_bindgen_futures::JsFuture::from(room.request("lock.list", JsValue::NULL))
        .await
        .unwrap_err();
    assert_eq!(field(&err, "code"), "not_connected");
    room.destroy();
}

/// A promise and the function that resolves it: a listener calls the function on the
/// event a test waits for.
fn signal() -> (js_sys::Promise, Function) {
    let mut resolve = None;
    let promise = js_sys::Promise::new(&mut |r, _| resolve = Some(r));
    (promise, resolve.unwrap())
}

/// Wait for `promise`; fail the test naming `what` if it is not settled within `ms`
/// (a deadline for something that must happen, never a wait for time to pass).
async fn within(promise: js_sys::Promise, ms: i32, what: &str) {
    let global = js_sys::global();
    let set_timeout: Function = Reflect::get(&global, &"setTimeout".into())
        .unwrap()
        .unchecked_into();
    let clear_timeout: Function = Reflect::get(&global, &"clearTimeout".into())
        .unwrap()
        .unchecked_into();
    let mut timer = JsValue::UNDEFINED;
    let deadline = js_sys::Promise::new(&mut |_, reject| {
        timer = set_timeout
            .call2(&JsValue::NULL, &reject, &JsValue::from(ms))
            .unwrap();
    });
    let raced = js_sys::Promise::race(&Array::of2(&promise, &deadline));
    let outcome = wasm_bindgen_futures::JsFuture::from(raced).await;
    clear_timeout.call1(&JsValue::NULL, &timer).unwrap();
    assert!(outcome.is_ok(), "no {what} within {ms} ms");
}

fn field(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap()
}

#[wasm_bindgen_test]
async fn agent_turns_stream_in_batches_and_stop() {
    let room = Room::new(options("turns", "ws://127.0.0.1:9/rooms")).unwrap();
    room.ensure_conversation("Main", "main").unwrap();
    let turn = room.open_turn("main", None).unwrap();
    // The flush that writes the buffered text is a local change: its `change` event is
    // the marker (appending only buffers, so it changes nothing).
    let (flushed, on_flush) = signal();
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        if field(&e, "type") == "change" {
            on_flush.call0(&JsValue::NULL).unwrap();
        }
    });
    room.set_listener(Some(listener.as_ref().unchecked_ref::<Function>().clone()));
    for token in ["Hel", "lo"] {
        room.append_turn(&turn, token).unwrap();
    }
    let text = |room: &Room| {
        let msgs: Array = room.messages("main").unwrap().unchecked_into();
        (field(&msgs.get(0), "text"), field(&msgs.get(0), "status"))
    };
    // Buffered until the next frame.
    assert_eq!(text(&room).0, "");
    within(flushed, 5_000, "flush of the buffered turn text").await;
    assert_eq!(text(&room), ("Hello".into(), "streaming".into()));
    room.stop_turn(&turn).unwrap();
    let err = room.append_turn(&turn, "more").unwrap_err();
    assert!(
        error_message(&err).contains("is stopped"),
        "{}",
        error_message(&err)
    );
    assert_eq!(text(&room).1, "stopped");
}

#[wasm_bindgen_test]
fn views_context_and_versions_from_wasm() {
    let room = Room::new(options("everything", "ws://127.0.0.1:9/rooms")).unwrap();
    // Views and sync.
    let patch = Object::new();
    Reflect::set(
        &patch,
        &"tabs".into(),
        &Array::of2(&"main".into(), &"spec".into()),
    )
    .unwrap();
    Reflect::set(&patch, &"activeTab".into(), &"spec".into()).unwrap();
    room.set_view(patch.into()).unwrap();
    room.start_sync("bob").unwrap();
    let state = room.view().unwrap();
    assert_eq!(field(&field(&state, "view"), "activeTab"), "spec");
    let members: Array = field(&field(&state, "sync"), "members").unchecked_into();
    assert_eq!(members.length(), 2);
    room.stop_sync().unwrap();
    assert!(field(&room.view().unwrap(), "sync").is_null());
    // Context: private stays local, shared lands proposed.
    let draft = Object::new();
    Reflect::set(&draft, &"kind".into(), &"decision".into()).unwrap();
    Reflect::set(&draft, &"text".into(), &"ship Friday".into()).unwrap();
    let private = room.add_private_context(draft.clone().into()).unwrap();
    assert_eq!(Array::from(&room.shared_context().unwrap()).length(), 0);
    room.share_private_context(&private).unwrap();
    let shared = Array::from(&room.shared_context().unwrap());
    assert_eq!(field(&shared.get(0), "status"), "proposed");
    Reflect::set(&draft, &"kind".into(), &"wizardry".into()).unwrap();
    let err = room.propose_context(draft.into()).unwrap_err();
    assert!(error_message(&err).contains("wizardry"));
    // Versions.
    room.ensure_document("D", "d").unwrap();
    room.insert_text("d", 0, "v1").unwrap();
    let v1 = room.create_version("one").unwrap();
    room.delete_text("d", 1, 1).unwrap();
    room.insert_text("d", 1, "2").unwrap();
    assert_eq!(room.document_at(&v1, "d").unwrap(), "v1");
    let spans = Array::from(&room.diff_versions("d", Some(v1.clone()), None).unwrap());
    let changes: Vec<String> = spans
        .iter()
        .map(|s| field(&s, "change").as_string().unwrap())
        .collect();
    assert_eq!(changes, ["unchanged", "deleted", "inserted"]);
    room.restore_version(&v1).unwrap();
    assert_eq!(room.document_text("d").unwrap(), "v1");
    let blame = Array::from(&room.blame("d", None, None).unwrap());
    let author = field(&blame.get(0), "author");
    assert_eq!(field(&author, "id"), "ada");
    assert!(room.blame("d", Some(1), Some(9)).is_err());
}

#[wasm_bindgen_test]
fn structured_presence_from_wasm() {
    let room = Room::new(options("presence2", "ws://127.0.0.1:9/rooms")).unwrap();
    room.ensure_document("D", "d").unwrap();
    room.insert_text("d", 0, "hello").unwrap();
    room.set_activity(Some("reviewing d".into())).unwrap();
    room.set_typing(Some("main".into())).unwrap();
    room.set_cursor("d", 1, 4).unwrap();
    let err = room.set_cursor("d", 1, 40).unwrap_err();
    assert!(err.is_instance_of::<js_sys::RangeError>());
    let me = Array::from(&room.presence().unwrap()).get(0);
    assert_eq!(field(&me, "activity"), "reviewing d");
    assert_eq!(field(&me, "typingIn"), "main");
    assert_eq!(field(&me, "status"), "active");
    let cursor = field(&me, "cursor");
    assert_eq!(field(&cursor, "anchor"), 1);
    assert_eq!(field(&cursor, "head"), 4);
    // The cursor is relative: an insert before it moves it.
    room.insert_text("d", 0, ">> ").unwrap();
    let me = Array::from(&room.presence().unwrap()).get(0);
    assert_eq!(field(&field(&me, "cursor"), "anchor"), 4);
    room.clear_cursor().unwrap();
    let me = Array::from(&room.presence().unwrap()).get(0);
    assert!(field(&me, "cursor").is_null());
}
