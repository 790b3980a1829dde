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
