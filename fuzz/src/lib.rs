//! What each fuzz target does with its input, shared by the libFuzzer targets in
//! `fuzz/fuzz_targets/` and by `core/tests/fuzz_fixtures.rs`, which replays every saved
//! crash under `fuzz/fixtures/<target>/` through the same code in `make test`.
//!
//! Every function takes the raw fuzz input and must return without panicking for any
//! input: a decoder answers malformed bytes with an error, never with a crash. A few
//! functions also check a property (the splitter keeps what the update holds; the
//! scanner and yrs agree; what a room stores loads again) and panic when it fails, so
//! the fuzzer reports the input.
//!
//! Input layouts (the first byte, where used, picks options; `SEP` splits one input into
//! several frames, records or stored parts):
//!
//! | target        | input                                                          |
//! |---------------|----------------------------------------------------------------|
//! | `frame`       | options byte, then frames separated by `SEP`                   |
//! | `update_scan` | split size byte, then one v1 update                            |
//! | `update_diff` | one v1 update                                                  |
//! | `token`       | mode byte, then a token (or, signed by the harness, its claims)|
//! | `rest`        | records `op byte, role byte, JSON body` separated by `SEP`     |
//! | `room_load`   | snapshot-part count byte, then stored parts separated by `SEP` |

// This file is also compiled as a module of a core integration test, where the lints
// of the workspace apply.
#![allow(missing_docs)]

use std::collections::BTreeMap;

use confab_core::authority::token::{self as auth, Role};
use confab_core::authority::{Actor, Authority};
use confab_core::client::session::Session;
use confab_core::doc::{Participant, ParticipantKind};
use confab_core::protocol;
use confab_core::protocol::scan::{
    scan_update_v1, split_update_v1, ClockRun, ItemId, ParentRef, Scan, ScannedItem,
};
use confab_core::room::Room;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{IdSet, Update};

/// Splits one fuzz input into several frames, records or stored parts.
pub const SEP: &[u8] = b"\xFF\xFE\xFD";

/// What a target does with one input.
pub type Target = fn(&[u8]);

/// Every target, by the name of its folder under `fuzz/fixtures/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("frame", frame),
    ("update_scan", update_scan),
    ("update_diff", update_diff),
    ("token", token),
    ("rest", rest),
    ("room_load", room_load),
];

/// The operations a REST call or a socket request can name.
pub const OPS: &[&str] = &[
    "room.summary",
    "presence.list",
    "message.list",
    "message.post",
    "document.list",
    "document.get",
    "document.write",
    "suggestion.accept",
    "suggestion.list",
    "suggestion.reject",
    "lock.acquire",
    "lock.renew",
    "lock.release",
    "lock.verify",
    "lock.list",
    "lock.policy",
    "activity.record",
    "activity.complete",
    "activity.list",
    "agent.status",
    "agent.list",
    "collaboration.start",
    "collaboration.decide",
    "collaboration.end",
    "collaboration.list",
    "member.list",
    "member.invite",
    "member.role",
    "member.transfer",
    "member.leave",
    "member.remove",
    "webhook.create",
    "webhook.list",
    "webhook.delete",
    "no.such.op",
];

const ROLES: [Role; 4] = [Role::Owner, Role::Editor, Role::Reviewer, Role::Viewer];

/// The secret the token target signs claims with.
const SECRET: &[u8] = b"fuzz secret";
const ROOM: &str = "fuzz-room";

/// The frames, records or parts of one input (see [`SEP`]).
pub fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEP.len()).position(|w| w == SEP) {
        parts.push(&rest[..at]);
        rest = &rest[at + SEP.len()..];
    }
    parts.push(rest);
    parts
}

fn actor(byte: u8) -> Actor {
    let user = (byte >> 2) & 3;
    Actor {
        id: format!("user{user}"),
        name: format!("User {user}"),
        kind: if byte & 0x10 == 0 {
            ParticipantKind::Person
        } else {
            ParticipantKind::Agent
        },
        role: ROLES[usize::from(byte & 3)],
        guest: false,
    }
}

/// Whatever a room would store must load again: the snapshot, and the snapshot with the
/// unpersisted log after it.
fn assert_stored_room_loads(room: &mut Room) {
    let log = room.take_unpersisted();
    let snapshot = room.snapshot();
    if let Err(e) = Room::load([&snapshot], Vec::<Vec<u8>>::new(), 0) {
        panic!("a room's snapshot does not load again: {e}");
    }
    if let Err(e) = Room::load([&snapshot], &log, 0) {
        panic!("a room's snapshot and log do not load again: {e}");
    }
    let authority = room.authority().to_json();
    if let Err(e) = Authority::from_json(&authority) {
        panic!("a room's authority does not load again: {e}");
    }
}

/// Frames: the decoder, then the same frames into a room from one connection (its role
/// and whether it speaks Confab's protocol from the options byte), and into a client
/// session.
pub fn frame(data: &[u8]) {
    let Some((&options, rest)) = data.split_first() else {
        return;
    };
    let frames = split(rest);
    for f in &frames {
        let _ = protocol::decode_frame(f);
    }
    let mut room = Room::new(0);
    let _ = room.connect_as(1, options & 0x20 != 0, actor(options));
    if options & 0x40 != 0 {
        let _ = room.connect(2, true);
    }
    let mut now = 0;
    for f in &frames {
        now += 1_000;
        let _ = room.receive(1, f, now);
        let _ = room.take_acks();
        let _ = room.take_pending();
        let _ = room.flush_relay();
    }
    let _ = room.take_events(true);
    let _ = room.take_closures();
    let _ = room.conflicts();
    let _ = room.disconnect(1, now);
    if options & 0x80 != 0 {
        assert_stored_room_loads(&mut room);
    }

    let mut session = Session::new(7, Participant::person("fuzz", "Fuzz"), 0);
    let _ = session.handshake();
    for f in &frames {
        now += 1_000;
        let _ = session.receive(f, now);
    }
    let _ = session.drain_outgoing();
}

/// Clock ranges per client, sorted, merged, empty ones left out: the same set of ids
/// compares equal however it was listed.
pub type IdRanges = BTreeMap<u64, Vec<(u32, u32)>>;

fn normalize(mut ranges: IdRanges) -> IdRanges {
    for list in ranges.values_mut() {
        list.retain(|(start, end)| start < end);
        list.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(list.len());
        for &(start, end) in list.iter() {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        *list = merged;
    }
    ranges.retain(|_, list| !list.is_empty());
    ranges
}

/// The ids in (first id, length) pairs, as the scanner lists them. The scanner refuses
/// clocks that overflow 32 bits, so the ends fit.
pub fn scanned_ranges<'a>(pairs: impl IntoIterator<Item = &'a (ItemId, u32)>) -> IdRanges {
    let mut out = IdRanges::new();
    for (id, len) in pairs {
        out.entry(id.client)
            .or_default()
            .push((id.clock, id.clock.saturating_add(*len)));
    }
    normalize(out)
}

/// What an update creates, as the scanner reads it: its items and GC structs (Skip
/// structs are gaps and create nothing).
pub fn scanned_insertions(scan: &Scan) -> IdRanges {
    let items: Vec<(ItemId, u32)> = scan.items.iter().map(|i| (i.id, i.len)).collect();
    scanned_ranges(items.iter().chain(scan.gc.iter()))
}

/// The same normal form for a yrs id set.
pub fn yrs_ranges(set: &IdSet) -> IdRanges {
    let mut out = IdRanges::new();
    for (client, ranges) in set.iter() {
        let list = out.entry(client.get()).or_default();
        for r in ranges.iter() {
            list.push((r.start, r.end));
        }
    }
    normalize(out)
}

/// The v1 update scanner and splitter: never panic, and the parts of a split hold,
/// together, exactly what the update holds.
pub fn update_scan(data: &[u8]) {
    let Some((&size, update)) = data.split_first() else {
        return;
    };
    let scan = scan_update_v1(update);
    let max_bytes = usize::from(size) * 8;
    let Ok(parts) = split_update_v1(update, max_bytes) else {
        return;
    };
    let Ok(scan) = scan else {
        panic!("the splitter accepts an update the scanner refuses");
    };
    let mut inserts = IdRanges::new();
    let mut deletes = IdRanges::new();
    for part in &parts {
        let Ok(s) = scan_update_v1(part) else {
            panic!("a part of a split update does not scan");
        };
        // What the splitter writes, yrs must read as the scanner does.
        update_diff(part);
        for (client, list) in scanned_insertions(&s) {
            inserts.entry(client).or_default().extend(list);
        }
        for (client, list) in scanned_ranges(&s.deletes) {
            deletes.entry(client).or_default().extend(list);
        }
    }
    assert_eq!(
        normalize(inserts),
        scanned_insertions(&scan),
        "the parts of a split update create other ids than the update"
    );
    assert_eq!(
        normalize(deletes),
        scanned_ranges(&scan.deletes),
        "the parts of a split update delete other ids than the update"
    );
}

/// One struct as the scanner reads it, without where its bytes are (`value`), so the
/// same struct written twice compares equal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Struct {
    pub id: (u64, u32),
    pub len: u32,
    /// `None` for a GC struct.
    pub item: Option<ItemShape>,
}

/// What an item says about where it goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ItemShape {
    pub origin: Option<(u64, u32)>,
    pub right_origin: Option<(u64, u32)>,
    /// `Ok(root name)` or `Err(id of the parent type)`.
    pub parent: Option<Result<String, (u64, u32)>>,
    pub parent_sub: Option<String>,
    pub is_type: bool,
}

/// Everything the scanner read from an update, in a normal form that does not depend
/// on how an encoder ordered or grouped it: the structs sorted, the delete set and the
/// runs merged per client.
#[derive(Debug, PartialEq, Eq)]
pub struct ScanShape {
    pub structs: Vec<Struct>,
    pub deletes: IdRanges,
    pub runs: IdRanges,
}

fn pair(id: ItemId) -> (u64, u32) {
    (id.client, id.clock)
}

/// [`ScanShape`] of a scan.
pub fn scan_shape(scan: &Scan) -> ScanShape {
    let mut structs: Vec<Struct> = scan
        .items
        .iter()
        .map(|i| Struct {
            id: pair(i.id),
            len: i.len,
            item: Some(ItemShape {
                origin: i.origin.map(pair),
                right_origin: i.right_origin.map(pair),
                parent: i.parent.as_ref().map(|p| match p {
                    ParentRef::Root(name) => Ok(name.clone()),
                    ParentRef::Item(id) => Err(pair(*id)),
                }),
                parent_sub: i.parent_sub.clone(),
                is_type: i.is_type,
            }),
        })
        .chain(scan.gc.iter().map(|(id, len)| Struct {
            id: pair(*id),
            len: *len,
            item: None,
        }))
        .collect();
    structs.sort();
    // Merged: a client written in two groups whose clocks touch is one run once yrs
    // writes it in one group.
    let mut runs = IdRanges::new();
    for &ClockRun { client, start, end } in &scan.runs {
        runs.entry(client).or_default().push((start, end));
    }
    ScanShape {
        structs,
        deletes: scanned_ranges(&scan.deletes),
        runs: normalize(runs),
    }
}

/// How yrs shows a decoded item, up to its content (yrs 0.28.1's `Display` for `Item`):
/// `(<client#clock>, len: n[, parent: name or <id>][, origin-l: <id>][, origin-r: <id>]`
/// then `, 'key' =>` or `:`. yrs keeps an update's blocks crate-private; this is the one
/// public view of each item's fields as yrs read them (the version is pinned).
pub fn yrs_item_header(item: &ScannedItem) -> String {
    let id = |id: ItemId| format!("<{}#{}>", id.client, id.clock);
    let mut out = format!("({}, len: {}", id(item.id), item.len);
    match &item.parent {
        Some(ParentRef::Root(name)) => out.push_str(&format!(", parent: {name}")),
        Some(ParentRef::Item(parent)) => out.push_str(&format!(", parent: {}", id(*parent))),
        None => {}
    }
    if let Some(o) = item.origin {
        out.push_str(&format!(", origin-l: {}", id(o)));
    }
    if let Some(o) = item.right_origin {
        out.push_str(&format!(", origin-r: {}", id(o)));
    }
    match &item.parent_sub {
        Some(key) => out.push_str(&format!(", '{key}' =>")),
        None => out.push(':'),
    }
    out
}

/// Differential: where the scanner and yrs both accept an update, they agree on what it
/// holds, struct by struct.
///
/// - The ids it creates (items and GC, counting deleted items) and deletes, against
///   yrs's `insertions(true)` and `delete_set()`.
/// - Every item's id, length, parent, origins and map key, against how yrs shows the
///   item it decoded ([`yrs_item_header`]).
/// - Every struct's id, length, origins, parent, map key and kind: yrs's own encoding
///   of what it decoded (`Update::encode_v1`) scans to the same structs, runs and delete
///   set as the input. A field the scanner reads otherwise than yrs (a flag, a length, an
///   id) comes back from yrs written as yrs read it, and differs. yrs writes clients in
///   another order and merges the delete set, which the normal form ([`ScanShape`])
///   leaves out. (Unless yrs's encoding renumbers the structs: see below.)
/// - yrs's `state_vector_lower` (per client, the first clock of its first struct that is
///   not a Skip, in encoding order) is where the scan's first run of the client starts.
/// - yrs's state vector claims only clocks the scanned structs hold. It is an upper
///   bound, not the covered run: for each client whose first struct is at clock 0 it
///   takes the end of the last struct before the first Skip, in encoding order, and
///   ignores gaps between two groups of the same client that no Skip marks (`[0,1)`
///   then `[8,9)` gives 9). So each clock it gives must end a struct the scan holds
///   (inside one of its merged ranges) for a client it holds from clock 0.
pub fn update_diff(data: &[u8]) {
    let Ok(scan) = scan_update_v1(data) else {
        return;
    };
    let Ok(update) = Update::decode_v1(data) else {
        return;
    };
    let inserts = scanned_insertions(&scan);
    assert_eq!(
        inserts,
        yrs_ranges(&update.insertions(true)),
        "the scanner and yrs disagree on the ids an update creates"
    );
    let deletes = scanned_ranges(&scan.deletes);
    assert_eq!(
        deletes,
        yrs_ranges(update.delete_set()),
        "the scanner and yrs disagree on the ids an update deletes"
    );

    let shown = update.to_string();
    for item in &scan.items {
        let header = yrs_item_header(item);
        assert!(
            shown.contains(&header),
            "yrs reads an item otherwise than the scanner: no `{header}` in yrs's {}",
            shown.chars().take(4000).collect::<String>()
        );
    }

    let lower = update.state_vector_lower();
    let mut first_runs: BTreeMap<u64, u32> = BTreeMap::new();
    for run in &scan.runs {
        first_runs.entry(run.client).or_insert(run.start);
    }
    let lower: BTreeMap<u64, u32> = lower.iter().map(|(c, &clock)| (c.get(), clock)).collect();
    assert_eq!(
        lower, first_runs,
        "yrs's lower state vector is not where the scan's first run of each client starts"
    );

    let sv = update.state_vector();
    for (client, &clock) in sv.iter() {
        let ranges = inserts.get(&client.get()).map_or(&[][..], Vec::as_slice);
        let starts_at_0 = ranges.first().is_some_and(|(start, _)| *start == 0);
        let in_a_range = ranges.iter().any(|(s, e)| *s < clock && clock <= *e);
        assert!(
            starts_at_0 && in_a_range,
            "yrs's state vector has client {} at {clock}, which ends no struct the scan \
             holds for it from clock 0: {ranges:?}",
            client.get()
        );
    }

    let again = update.encode_v1();
    let rescan = match scan_update_v1(&again) {
        Ok(rescan) => rescan,
        Err(e) => panic!("the scanner refuses yrs's encoding of an update it accepted: {e}"),
    };
    if scanned_insertions(&rescan) != inserts {
        // yrs writes each client's structs as one group from its first clock, so an
        // update holding a client in two groups with a gap no Skip marks comes back
        // renumbered (yrs's encoder, not its reading: the ids it read were checked
        // above).
        return;
    }
    let (ours, theirs) = (scan_shape(&scan), scan_shape(&rescan));
    assert_eq!(
        ours.structs, theirs.structs,
        "the scanner reads structs otherwise than yrs"
    );
    assert_eq!(
        ours.deletes, theirs.deletes,
        "the scanner reads the delete set otherwise than yrs"
    );
    assert_eq!(
        ours.runs, theirs.runs,
        "the scanner reads the clock runs otherwise than yrs"
    );
}

/// Tokens: a raw token string (verify and the base64url decoder), or claims bytes the
/// harness signs with the room's secret, so the claims parser sees arbitrary bytes.
pub fn token(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let now_ms = u64::from(mode >> 1) << 34;
    let text = String::from_utf8_lossy(rest);
    if mode & 1 == 0 {
        let _ = auth::verify(SECRET, &text, ROOM, now_ms);
        let _ = auth::verify(b"", &text, ROOM, now_ms);
        if let Some(bytes) = auth::unbase64url(&text) {
            assert_eq!(
                auth::unbase64url(&auth::base64url(&bytes)).as_deref(),
                Some(bytes.as_slice()),
                "base64url does not round-trip"
            );
        }
        return;
    }
    let signed = format!("v1.{}", auth::base64url(rest));
    let sig = auth::hmac_sha256(SECRET, signed.as_bytes());
    let token = format!("{signed}.{}", auth::base64url(&sig));
    if let Ok(claims) = auth::verify(SECRET, &token, ROOM, now_ms) {
        assert_eq!(claims.room, ROOM, "a token for another room was accepted");
        assert!(
            claims.exp.saturating_mul(1000) > now_ms,
            "an expired token was accepted"
        );
        let again = auth::mint(SECRET, &claims);
        assert_eq!(
            auth::verify(SECRET, &again, ROOM, now_ms).as_ref(),
            Ok(&claims),
            "re-minted claims do not verify the same"
        );
    }
    let mut forged = token.into_bytes();
    if let Some(last) = forged.last_mut() {
        *last = if *last == b'A' { b'B' } else { b'A' };
    }
    let forged = String::from_utf8_lossy(&forged);
    // A changed signature may still decode to the same bytes (the last character's low
    // bits are padding), so only a different signature must be refused.
    if let Some(sig_text) = forged.rsplit('.').next() {
        if auth::unbase64url(sig_text).as_deref() != Some(sig.as_slice()) {
            assert!(
                auth::verify(SECRET, &forged, ROOM, now_ms).is_err(),
                "a token with a changed signature was accepted"
            );
        }
    }
}

/// REST bodies: each record names an operation and a role, and carries the JSON body
/// the edge would parse (`rest::parse_body`) and hand to the room as the operation's
/// arguments. What the room then stores loads again.
pub fn rest(data: &[u8]) {
    let mut room = Room::new(0);
    room.set_token_key(SECRET, ROOM);
    let mut now = 1_000;
    for record in split(data) {
        let [op, who, body @ ..] = record else {
            continue;
        };
        let op = OPS[usize::from(*op) % OPS.len()];
        let args = if body.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Null
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(_) => continue,
            }
        };
        now += 1_000;
        let _ = room.request(&actor(*who), op, args, now);
        let _ = room.take_pending();
        let _ = room.take_events(true);
        let _ = room.expire_leases(now);
    }
    let _ = room.take_authority_json();
    assert_stored_room_loads(&mut room);
}

/// The stored-room loader: the first byte says how many of the parts make the snapshot
/// (the rest are the update log); with its high bit set, the parts are instead stored
/// authority JSON. A room that loads stores something that loads again.
pub fn room_load(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let parts = split(rest);
    if head & 0x80 != 0 {
        for part in &parts {
            if let Ok(authority) = Authority::from_json(&String::from_utf8_lossy(part)) {
                if let Err(e) = Authority::from_json(&authority.to_json()) {
                    panic!("a stored authority does not load again: {e}");
                }
            }
        }
        return;
    }
    let at = usize::from(head & 0x7F).min(parts.len());
    let (snapshot, log) = parts.split_at(at);
    if let Ok(mut room) = Room::load(snapshot, log, 0) {
        assert_stored_room_loads(&mut room);
    }
}

// ---------------------------------------------------------------------------------------
// Inputs: valid seeds, and the hostile inputs an attack run found
// ---------------------------------------------------------------------------------------

fn var(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7F) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn sync_frame(step: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![protocol::MSG_SYNC, step];
    var(payload.len() as u64, &mut out);
    out.extend_from_slice(payload);
    out
}

fn joined<T: AsRef<[u8]>>(head: Option<u8>, parts: &[T]) -> Vec<u8> {
    let mut out: Vec<u8> = head.into_iter().collect();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(SEP);
        }
        out.extend_from_slice(p.as_ref());
    }
    out
}

/// A v1 update with one GC struct for `client` at clock 0 of `len` clocks.
pub fn gc_update(client: u64, len: u32) -> Vec<u8> {
    let mut out = vec![1, 1];
    var(client, &mut out);
    out.push(0); // first clock
    out.push(0); // GC
    var(u64::from(len), &mut out);
    out.push(0); // empty delete set
    out
}

/// A v1 update with one item (client 5) holding an `Any` array nested `depth` deep.
pub fn deep_any_update(depth: usize) -> Vec<u8> {
    let mut out = vec![1, 1, 5, 0, 8, 1, 1, b'r', 1];
    for _ in 0..depth {
        out.extend_from_slice(&[117, 1]); // an array of one value
    }
    out.push(126); // null
    out.push(0);
    out
}

/// Options byte for the `frame` target: an editor speaking Confab's protocol, a second
/// connection watching, and the stored-room check.
pub const EDITOR_CHECKED: u8 = 0x01 | 0x20 | 0x40 | 0x80;

/// The hostile inputs, by target and fixture file name (the same bytes are committed
/// under `fuzz/fixtures/<target>/`; `make fuzz` also seeds the corpora with them).
pub fn hostile() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    // The room's own writer is client 0: a GC struct pushes its clock to 2^32 - 3, and a
    // REST-style post by the room then needs clocks past 32 bits.
    let gc = gc_update(0, u32::MAX - 2);
    let post = protocol::request(1, "message.post", &serde_json::json!({ "text": "hi" }));
    let deep = deep_any_update(10_000);
    let step1 = sync_frame(0, &[0]);
    let many_step1: Vec<u8> = step1.repeat(10_000);
    // A count of 3.7 billion clients in five bytes: yrs reserves room for them before
    // reading one.
    let huge_count = vec![0xFF, 0xFF, 0xFF, 0xFF, 0x2D];
    let mut empty_sub = vec![1];
    empty_sub.extend_from_slice(
        format!(r#"{{"room":"{ROOM}","sub":"","name":"","kind":"person","role":"owner","exp":4000000000}}"#)
            .as_bytes(),
    );
    let mut deep_json = vec![3, 0];
    deep_json.extend(std::iter::repeat_n(b'[', 10_000));
    deep_json.extend(std::iter::repeat_n(b']', 10_000));
    vec![
        ("token", "signed-claims-empty-sub", empty_sub),
        ("rest", "json-body-nested-10000-deep", deep_json),
        (
            "update_scan",
            "gc-client0-clock-2pow32-3",
            joined(Some(255), std::slice::from_ref(&gc)),
        ),
        ("update_diff", "gc-client0-clock-2pow32-3", gc.clone()),
        (
            "frame",
            "gc-client0-clock-2pow32-3-then-post",
            joined(Some(EDITOR_CHECKED), &[sync_frame(2, &gc), post]),
        ),
        (
            "room_load",
            "gc-client0-clock-2pow32-3",
            joined(Some(0), &[gc]),
        ),
        (
            "update_scan",
            "any-nested-10000-deep",
            joined(Some(255), std::slice::from_ref(&deep)),
        ),
        ("update_diff", "any-nested-10000-deep", deep.clone()),
        (
            "frame",
            "any-nested-10000-deep",
            joined(Some(EDITOR_CHECKED), &[sync_frame(2, &deep)]),
        ),
        (
            "room_load",
            "any-nested-10000-deep",
            joined(Some(0), &[deep]),
        ),
        (
            "frame",
            "sync-step1-x10000",
            joined(Some(EDITOR_CHECKED), &[many_step1]),
        ),
        (
            "room_load",
            "client-count-3.7e9",
            joined(Some(1), std::slice::from_ref(&huge_count)),
        ),
        (
            "frame",
            "client-count-3.7e9",
            joined(Some(EDITOR_CHECKED), &[sync_frame(2, &huge_count)]),
        ),
    ]
}

/// Valid inputs for every target, made by real sessions and a real room: where the
/// fuzzer starts from.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut room = Room::new(0);
    room.set_token_key(SECRET, ROOM);
    let mut alice = Session::new(11, Participant::person("alice", "Alice"), 0);
    let greeting = room.connect(1, true);
    let mut up = alice.handshake();
    for o in greeting {
        out.push(("frame", joined(Some(0x21), std::slice::from_ref(&o.frame))));
        if let Ok(got) = alice.receive(&o.frame, 0) {
            up.extend(got.replies);
        }
    }
    if let Ok(id) = alice.doc_mut().create_document(Some("notes"), "Notes", 0) {
        let _ = alice.doc_mut().insert_text(&id, 0, "hello wörld 🎉");
        let _ = alice.doc_mut().delete_text(&id, 2, 3);
    }
    up.extend(alice.drain_outgoing());
    for f in &up {
        let _ = room.receive(1, f, 10);
        out.push((
            "frame",
            joined(Some(EDITOR_CHECKED), std::slice::from_ref(&f)),
        ));
        if let Ok(messages) = protocol::decode_frame(f) {
            for m in messages {
                if let protocol::Incoming::Update(bytes) | protocol::Incoming::SyncStep2(bytes) = m
                {
                    out.push(("update_scan", joined(Some(4), std::slice::from_ref(&bytes))));
                    out.push(("update_diff", bytes.clone()));
                    out.push(("room_load", joined(Some(0), &[bytes])));
                }
            }
        }
    }
    out.push(("frame", joined(Some(EDITOR_CHECKED), &up)));
    let post = serde_json::json!({ "text": "from REST", "conversation": "main" });
    let _ = room.request(&Actor::server(), "message.post", post.clone(), 20);
    let snapshot = room.snapshot();
    out.push((
        "update_scan",
        joined(Some(16), std::slice::from_ref(&snapshot)),
    ));
    out.push(("update_diff", snapshot.clone()));
    out.push(("room_load", joined(Some(1), &[snapshot.clone(), snapshot])));
    out.push((
        "room_load",
        joined(Some(0x80), &[room.authority().to_json().into_bytes()]),
    ));
    for (op, body) in [
        ("message.post", post.to_string()),
        (
            "lock.acquire",
            r#"{"resource":"doc:a","ttlMs":1000}"#.to_owned(),
        ),
        (
            "member.invite",
            r#"{"user":"bob","role":"editor"}"#.to_owned(),
        ),
        ("document.write", r#"{"id":"notes","text":"x"}"#.to_owned()),
        (
            "activity.record",
            r#"{"kind":"agent_started","summary":"s"}"#.to_owned(),
        ),
    ] {
        let op = OPS.iter().position(|o| *o == op).unwrap_or(0) as u8;
        let mut record = vec![op, 0];
        record.extend_from_slice(body.as_bytes());
        out.push(("rest", record));
    }
    let claims = auth::Claims {
        room: ROOM.into(),
        sub: "alice".into(),
        name: "Alice".into(),
        kind: ParticipantKind::Person,
        role: Role::Editor,
        exp: 4_000_000_000,
    };
    let token = auth::mint(SECRET, &claims);
    let mut raw = vec![0];
    raw.extend_from_slice(token.as_bytes());
    out.push(("token", raw));
    if let Ok(json) = serde_json::to_vec(&claims) {
        let mut signed = vec![1];
        signed.extend_from_slice(&json);
        out.push(("token", signed));
    }
    out
}
