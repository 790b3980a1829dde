//! Crashes become fixtures: every input saved under `fuzz/fixtures/<target>/` (what the
//! fuzzer found, minimized, and the hostile inputs of the attack run) goes through the
//! same code as its fuzz target (`fuzz/src/lib.rs`) and must return, refused or
//! accepted, without panicking.
//!
//! Inputs worth naming are also replayed by their own test, named after what it guards.
//!
//! `CONFAB_FUZZ_SEEDS=<dir> cargo test -p confab-core --test fuzz_fixtures -- --ignored
//! write_fuzz_inputs` writes the seed corpora (`<dir>/<target>/`) and rewrites the
//! hostile fixtures; `make fuzz` runs it.

#[path = "../../fuzz/src/lib.rs"]
mod harness;

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fixtures")
}

fn target(name: &str) -> fn(&[u8]) {
    harness::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, run)| *run)
        .unwrap_or_else(|| panic!("no fuzz target `{name}`"))
}

fn replay(target_name: &str, file: &str) {
    let path = fixtures_dir().join(target_name).join(file);
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    target(target_name)(&bytes);
}

#[test]
fn every_saved_fuzz_input_returns_without_panicking() {
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, run) in harness::TARGETS {
        let Ok(dir) = fs::read_dir(fixtures_dir().join(name)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = dir.filter_map(|e| Some(e.ok()?.path())).collect();
        files.sort();
        for path in files {
            let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
            let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if panic::catch_unwind(AssertUnwindSafe(|| run(&bytes))).is_err() {
                failed.push(format!("{name}/{file}"));
            }
            ran += 1;
        }
    }
    assert!(
        ran > 0,
        "no fixtures found under {}",
        fixtures_dir().display()
    );
    assert!(failed.is_empty(), "these fuzz fixtures panic: {failed:?}");
}

#[test]
fn every_target_has_a_fixture_folder() {
    for (name, _) in harness::TARGETS {
        assert!(
            fixtures_dir().join(name).is_dir(),
            "fuzz/fixtures/{name}/ is missing"
        );
    }
}

#[test]
fn hostile_inputs_are_saved_as_fixtures() {
    for (name, file, bytes) in harness::hostile() {
        let path = fixtures_dir().join(name).join(file);
        let saved = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            saved == bytes,
            "{} differs from harness::hostile()",
            path.display()
        );
    }
}

/// The room's own post used to overflow yrs's clock arithmetic (`IdSet::insert`, an
/// overflow panic in debug builds; a wrapped clock in release): the GC struct is refused.
#[test]
fn gc_struct_pushing_the_room_writer_clock_to_2pow32_minus_3_leaves_the_room_loadable() {
    replay("frame", "gc-client0-clock-2pow32-3-then-post");
}

/// yrs's recursive `Any` decoding overflowed the stack (which aborts the process: no
/// panic to catch) from `protocol::decode_frame` and `Room::load`: both scan first now.
#[test]
fn any_value_nested_10000_deep_does_not_crash_the_room() {
    replay("frame", "any-nested-10000-deep");
    replay("room_load", "any-nested-10000-deep");
    replay("update_diff", "any-nested-10000-deep");
}

/// Found by `make fuzz`: an item with legacy JSON content (ref 2) whose dependencies are
/// missing stays pending in yrs; `Room::snapshot` then makes yrs merge the pending
/// structs, re-read its own encoding of the JSON content (written with one string less
/// than its reader expects) and unwrap the `EndOfBuffer` error (yrs
/// `transaction.rs:390`). An 11-byte update from an editor, or one stored log entry, was
/// enough; the scanner refuses JSON content, and the room refuses updates it lacks the
/// dependencies of.
#[test]
fn a_pending_item_with_json_content_does_not_break_the_snapshot() {
    replay("frame", "pending-json-content-then-snapshot");
    replay("room_load", "crash-5048cceddc21473b");
    replay("room_load", "crash-7ff120c9e41a0f22");
    replay("room_load", "crash-f586276b4a2c7ef7");
}

#[test]
fn a_frame_of_10000_sync_step1_messages_returns() {
    replay("frame", "sync-step1-x10000");
}

#[test]
fn a_client_count_of_billions_in_five_bytes_is_refused() {
    replay("frame", "client-count-3.7e9");
    replay("room_load", "client-count-3.7e9");
}

/// Updates made by yrs itself, one for each kind of struct and field the scanner reads:
/// text inserted and deleted (deleted items, GC), map keys (`parent_sub`), nested types
/// (a parent given by id), XML with attributes, formatting, embeds, binary and `Any`
/// values, two clients, and merged updates with gaps (Skip structs).
fn yrs_made_updates() -> Vec<(String, Vec<u8>)> {
    use yrs::types::xml::{XmlElementPrelim, XmlFragment};
    use yrs::updates::decoder::Decode;
    use yrs::{
        Any, Array, ArrayPrelim, Doc, GetString, Map, MapPrelim, Options, ReadTxn, StateVector,
        Text, Transact, Update, Xml, XmlTextPrelim,
    };

    let mut out = Vec::new();
    let doc = |client: u64, skip_gc: bool| {
        let mut o = Options::with_client_id(yrs::ClientID::new(client));
        o.skip_gc = skip_gc;
        Doc::with_options(o)
    };
    for skip_gc in [false, true] {
        let a = doc(7, skip_gc);
        let text = a.get_or_insert_text("t");
        let map = a.get_or_insert_map("m");
        let array = a.get_or_insert_array("a");
        let xml = a.get_or_insert_xml_fragment("x");
        let mut steps = vec![a.transact().state_vector()];
        let mut wholes = Vec::new();
        {
            let mut txn = a.transact_mut();
            text.insert(&mut txn, 0, "hello wörld 🎉");
            text.remove_range(&mut txn, 2, 3);
            text.format(&mut txn, 0, 2, [("bold".into(), Any::Bool(true))].into());
            text.insert_embed(&mut txn, 1, Any::from("image"));
        }
        steps.push(a.transact().state_vector());
        wholes.push(
            a.transact()
                .encode_state_as_update_v1(&StateVector::default()),
        );
        {
            let mut txn = a.transact_mut();
            map.insert(&mut txn, "k", "v");
            map.insert(&mut txn, "k", 42);
            map.insert(&mut txn, "bytes", Any::Buffer(vec![1, 2, 3].into()));
            let nested = map.insert(&mut txn, "nested", MapPrelim::default());
            nested.insert(&mut txn, "deep", ArrayPrelim::from([1, 2, 3]));
            array.insert_range(&mut txn, 0, [Any::from("a"), Any::from(1.5), Any::Null]);
            array.remove_range(&mut txn, 1, 1);
        }
        steps.push(a.transact().state_vector());
        {
            let mut txn = a.transact_mut();
            let el = xml.insert(&mut txn, 0, XmlElementPrelim::empty("p"));
            el.insert_attribute(&mut txn, "class", "c");
            let inner = el.insert(&mut txn, 0, XmlTextPrelim::new("inside"));
            inner.push(&mut txn, "!");
            let len = text.get_string(&txn).encode_utf16().count() as u32;
            text.remove_range(&mut txn, 0, len);
            // The nested map's contents go with it: GC structs, unless GC is off.
            map.remove(&mut txn, "nested");
        }
        steps.push(a.transact().state_vector());
        let b = doc(9, skip_gc);
        let whole = a
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        b.transact_mut()
            .apply_update(Update::decode_v1(&whole).expect("yrs reads its own update"))
            .expect("applied");
        {
            let text = b.get_or_insert_text("t");
            let mut txn = b.transact_mut();
            text.insert(&mut txn, 0, "from b");
        }
        let tag = if skip_gc { "kept" } else { "gc" };
        out.push((format!("{tag}: whole of a"), whole.clone()));
        let diffs: Vec<Vec<u8>> = steps
            .iter()
            .map(|sv| a.transact().encode_state_as_update_v1(sv))
            .collect();
        for (i, d) in diffs.iter().enumerate() {
            out.push((format!("{tag}: a since step {i}"), d.clone()));
        }
        out.push((
            format!("{tag}: whole of b"),
            b.transact()
                .encode_state_as_update_v1(&StateVector::default()),
        ));
        out.push((
            format!("{tag}: b since a"),
            b.transact()
                .encode_state_as_update_v1(&a.transact().state_vector()),
        ));
        // Merged updates: a's first and last changes without the middle ones leave a
        // gap in client 7's clocks, which the merge marks with a Skip.
        let b_only = b
            .transact()
            .encode_state_as_update_v1(&a.transact().state_vector());
        for (name, parts) in [
            (
                "merge of a's first and last",
                vec![wholes[0].clone(), diffs[2].clone()],
            ),
            (
                "merge of a's first, a's last and b's own",
                vec![wholes[0].clone(), diffs[2].clone(), b_only.clone()],
            ),
            (
                "merge of a's whole and b's own",
                vec![whole.clone(), b_only.clone()],
            ),
        ] {
            let merged = yrs::merge_updates_v1(parts.iter().map(Vec::as_slice))
                .expect("yrs merges its own updates");
            out.push((format!("{tag}: {name}"), merged));
        }
    }
    out
}

/// The scanner against yrs on real updates: every update the seeds hold, every saved
/// `update_diff` / `update_scan` input, and updates made by yrs itself go through the
/// differential (`harness::update_diff`), which checks struct by struct that the two read
/// the same thing. The seeds and yrs's updates are valid: both must accept every one,
/// or the comparison would be skipped (the saved hostile inputs may be refused).
#[test]
fn the_scanner_and_yrs_agree_on_what_real_updates_hold() {
    use confab_core::protocol::scan::ParentRef;
    use yrs::updates::decoder::Decode;

    let mut valid: Vec<(String, Vec<u8>)> = yrs_made_updates();
    for (name, bytes) in harness::seeds() {
        match name {
            "update_diff" => valid.push(("seed".into(), bytes)),
            "update_scan" => {
                for part in harness::split(&bytes[1..]) {
                    valid.push(("seed (split input)".into(), part.to_vec()));
                }
            }
            _ => {}
        }
    }
    let mut saved = Vec::new();
    for name in ["update_diff", "update_scan"] {
        let Ok(dir) = fs::read_dir(fixtures_dir().join(name)) else {
            continue;
        };
        for entry in dir.flatten() {
            let bytes = fs::read(entry.path()).expect("fixture read");
            let label = format!("{name}/{}", entry.file_name().to_string_lossy());
            if name == "update_diff" {
                saved.push((label, bytes));
            } else if let Some((_, update)) = bytes.split_first() {
                saved.push((label, update.to_vec()));
            }
        }
    }
    assert!(valid.len() >= 20, "only {} valid updates", valid.len());
    assert!(!saved.is_empty(), "no saved update inputs");
    let mut scans = Vec::new();
    for (label, bytes) in &valid {
        match confab_core::protocol::scan::scan_update_v1(bytes) {
            Ok(scan) => scans.push(scan),
            Err(e) => panic!("the scanner refuses {label}: {e}"),
        }
        if let Err(e) = yrs::Update::decode_v1(bytes) {
            panic!("yrs refuses {label}: {e}");
        }
    }
    // What the valid updates must hold between them, so each field is compared.
    let any_item = |f: &dyn Fn(&confab_core::protocol::scan::ScannedItem) -> bool| {
        scans.iter().any(|s| s.items.iter().any(f))
    };
    assert!(scans.iter().any(|s| !s.gc.is_empty()), "no GC struct");
    assert!(scans.iter().any(|s| !s.deletes.is_empty()), "no delete set");
    assert!(
        scans.iter().any(|s| s
            .runs
            .windows(2)
            .any(|w| w[0].client == w[1].client && w[0].end < w[1].start)),
        "no gap (Skip struct) in a client's clocks"
    );
    assert!(any_item(&|i| i.parent_sub.is_some()), "no map key");
    assert!(
        any_item(&|i| matches!(i.parent, Some(ParentRef::Item(_)))),
        "no parent given by id"
    );
    assert!(any_item(&|i| i.right_origin.is_some()), "no right origin");
    assert!(any_item(&|i| i.is_type), "no nested type");
    for (label, bytes) in valid.iter().chain(&saved) {
        if panic::catch_unwind(AssertUnwindSafe(|| harness::update_diff(bytes))).is_err() {
            panic!(
                "the scanner and yrs disagree on {label} ({} bytes)",
                bytes.len()
            );
        }
    }
}

#[test]
fn seeds_pass_their_targets() {
    for (name, bytes) in harness::seeds() {
        target(name)(&bytes);
    }
}

#[test]
#[ignore = "writes files; run by `make fuzz`"]
fn write_fuzz_inputs() {
    for (name, file, bytes) in harness::hostile() {
        let dir = fixtures_dir().join(name);
        fs::create_dir_all(&dir).expect("fixtures dir");
        fs::write(dir.join(file), bytes).expect("fixture written");
    }
    let Ok(out) = std::env::var("CONFAB_FUZZ_SEEDS") else {
        return;
    };
    let mut count = std::collections::BTreeMap::<&str, usize>::new();
    let hostile = harness::hostile().into_iter().map(|(n, _, b)| (n, b));
    for (name, bytes) in harness::seeds().into_iter().chain(hostile) {
        let dir = PathBuf::from(&out).join(name);
        fs::create_dir_all(&dir).expect("corpus dir");
        let n = count.entry(name).or_default();
        *n += 1;
        fs::write(dir.join(format!("seed-{n}")), bytes).expect("seed written");
    }
}
