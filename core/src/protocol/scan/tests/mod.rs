//! Unit tests.

use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::{Mutex, OnceLock};
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, ArrayPrelim, Doc, GetString, Map, MapPrelim, ReadTxn, StateVector, Text,
    TextPrelim, Transact, TransactionMut, Update, WriteTxn, Xml, XmlElementPrelim, XmlFragment,
    XmlTextPrelim,
};

fn apply(doc: &Doc, update: &[u8]) {
    let update = Update::decode_v1(update).expect("yrs decodes the update");
    doc.transact_mut()
        .apply_update(update)
        .expect("yrs applies the update");
}

fn full_state(doc: &Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

/// The update of exactly one transaction on `doc`.
fn capture(doc: &Doc, edit: impl FnOnce(&mut TransactionMut)) -> Vec<u8> {
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    doc.observe_update_v1("update-scan-test", move |_, e| {
        sink.lock().unwrap().push(e.update.clone());
    })
    .unwrap();
    {
        let mut txn = doc.transact_mut();
        edit(&mut txn);
    }
    doc.unobserve_update_v1("update-scan-test").unwrap();
    let mut updates = seen.lock().unwrap().clone();
    assert_eq!(updates.len(), 1, "one transaction, one update");
    updates.pop().unwrap()
}

fn sync(from: &Doc, to: &Doc) {
    let sv = to.transact().state_vector();
    let update = from.transact().encode_diff_v1(&sv);
    apply(to, &update);
}

/// Per client, merged clock ranges.
type Coverage = BTreeMap<u64, Vec<(u32, u32)>>;

fn merged(ranges: impl IntoIterator<Item = (u64, u32, u32)>) -> Coverage {
    let mut by_client: Coverage = BTreeMap::new();
    for (client, start, end) in ranges {
        if start < end {
            by_client.entry(client).or_default().push((start, end));
        }
    }
    for ranges in by_client.values_mut() {
        ranges.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::new();
        for (s, e) in ranges.drain(..) {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        *ranges = out;
    }
    by_client
}

fn yrs_coverage(set: &yrs::IdSet) -> Coverage {
    merged(set.iter().flat_map(|(client, ranges)| {
        let client = client.get();
        ranges
            .iter()
            .map(|r| (client, r.start, r.end))
            .collect::<Vec<_>>()
    }))
}

/// Check a scan against what yrs itself decodes from the same bytes.
fn check_against_yrs(bytes: &[u8]) -> Result<Scan> {
    let scan = scan_update_v1(bytes)?;
    let update = Update::decode_v1(bytes).expect("yrs decodes");
    // Inserted ranges (items and GC) agree.
    let ours = merged(
        scan.items
            .iter()
            .map(|i| (i.id.client, i.id.clock, i.id.clock + i.len))
            .chain(
                scan.gc
                    .iter()
                    .map(|(id, len)| (id.client, id.clock, id.clock + len)),
            ),
    );
    assert_eq!(ours, yrs_coverage(&update.insertions(true)), "insertions");
    // A full state starts at clock 0 for every client: lengths sum to the state vector.
    let mut sums: BTreeMap<u64, u32> = BTreeMap::new();
    for item in &scan.items {
        *sums.entry(item.id.client).or_default() += item.len;
    }
    for (id, len) in &scan.gc {
        *sums.entry(id.client).or_default() += len;
    }
    let sv = update.state_vector();
    for (client, sum) in &sums {
        assert_eq!(
            sv.get(&yrs::ClientID::new(*client)),
            *sum,
            "client {client}"
        );
    }
    assert_eq!(sums.len(), sv.len());
    // Delete sets agree.
    let ours = merged(
        scan.deletes
            .iter()
            .map(|(id, len)| (id.client, id.clock, id.clock + len)),
    );
    assert_eq!(ours, yrs_coverage(update.delete_set()), "delete set");
    Ok(scan)
}

/// A doc with a bit of everything, edited by three clients.
fn rich_doc() -> Doc {
    let a = Doc::with_client_id(1);
    let b = Doc::with_client_id(2);
    let c = Doc::with_client_id(3);
    {
        let text = a.get_or_insert_text("doc:a");
        let mut txn = a.transact_mut();
        text.insert(
            &mut txn,
            0,
            "hello world, this is a text 😀 with astral chars",
        );
        let messages = txn.get_or_insert_map("messages");
        let m1 = messages.insert(
            &mut txn,
            "m1",
            MapPrelim::from([
                ("author", yrs::In::from(Any::from("alice"))),
                ("text", yrs::In::from(TextPrelim::new("hi there"))),
                ("reactions", yrs::In::from(MapPrelim::default())),
            ]),
        );
        let reactions: yrs::MapRef = m1.get(&txn, "reactions").unwrap().cast().unwrap();
        reactions.insert(&mut txn, "bob", "👍");
    }
    sync(&a, &b);
    sync(&a, &c);
    // Concurrent edits of the same text, with deletes.
    {
        let text = a.get_or_insert_text("doc:a");
        let mut txn = a.transact_mut();
        text.insert(&mut txn, 5, " there");
        text.remove_range(&mut txn, 0, 2);
    }
    {
        let text = b.get_or_insert_text("doc:a");
        let mut txn = b.transact_mut();
        text.insert(&mut txn, 6, "big ");
        text.remove_range(&mut txn, 10, 3);
        // Embeds and formatting.
        let attrs = yrs::types::Attrs::from([(Arc::from("bold"), Any::Bool(true))]);
        text.insert_with_attributes(&mut txn, 0, "Title", attrs.clone());
        text.format(&mut txn, 7, 4, attrs);
        text.insert_embed(&mut txn, 3, Any::from("image.png"));
    }
    {
        let mut txn = c.transact_mut();
        let array = txn.get_or_insert_array("list");
        let big = (1i64 << 53) + 1;
        array.insert_range(
            &mut txn,
            0,
            vec![
                Any::Null,
                Any::Undefined,
                Any::Bool(false),
                Any::Bool(true),
                Any::from(42i64),
                Any::from(-7i64),
                Any::from(3_000_000_000i64),
                Any::from(big),
                Any::from(1.5f64),
                Any::from(0.1f64),
                Any::from("str"),
                Any::Buffer(Arc::from(&[1u8, 2, 3][..])),
                Any::Array(Arc::from(vec![
                    Any::from(1i64),
                    Any::Array(Arc::from(vec![])),
                ])),
                Any::from(HashMap::from([
                    ("k".to_string(), Any::from("v")),
                    (
                        "nested".to_string(),
                        Any::from(HashMap::from([("x".to_string(), Any::Null)])),
                    ),
                ])),
            ],
        );
        let nested = array.insert(&mut txn, 2, MapPrelim::from([("inner", 1i64)]));
        nested.insert(&mut txn, "more", ArrayPrelim::from(vec![1i64, 2, 3]));
        array.push_back(&mut txn, TextPrelim::new("text in array"));
        // XML.
        let xml = txn.get_or_insert_xml_fragment("xml");
        let p = xml.insert(&mut txn, 0, XmlElementPrelim::empty("p"));
        p.insert(&mut txn, 0, XmlTextPrelim::new("para"));
        p.insert_attribute(&mut txn, "class", "lead");
        // A subdocument.
        let subs = txn.get_or_insert_map("subdocs");
        subs.insert(&mut txn, "child", Doc::new());
        array.remove_range(&mut txn, 0, 1);
    }
    sync(&b, &a);
    sync(&c, &a);
    sync(&a, &b);
    a
}

#[test]
fn scan_agrees_with_yrs_on_a_rich_doc() -> Result<()> {
    let doc = rich_doc();
    let scan = check_against_yrs(&full_state(&doc))?;
    let clients: BTreeSet<u64> = scan.items.iter().map(|i| i.id.client).collect();
    assert_eq!(clients, BTreeSet::from([1, 2, 3]));
    assert!(!scan.deletes.is_empty());
    // The reaction entry lives in the reactions map, under its key.
    let reaction = scan
        .items
        .iter()
        .find(|i| i.parent_sub.as_deref() == Some("bob"))
        .expect("the reaction entry");
    let Some(ParentRef::Item(reactions)) = &reaction.parent else {
        panic!("a reaction's parent is the reactions map");
    };
    let reactions = scan.items.iter().find(|i| i.id == *reactions).unwrap();
    assert!(reactions.is_type);
    assert_eq!(reactions.parent_sub.as_deref(), Some("reactions"));
    assert!(scan
        .items
        .iter()
        .any(|i| i.parent == Some(ParentRef::Root("messages".into()))
            && i.parent_sub.as_deref() == Some("m1")
            && i.is_type));
    // Nested types: m1, its text and reactions, the array's map, its array, the text
    // in the array, the XML element and text.
    assert_eq!(scan.items.iter().filter(|i| i.is_type).count(), 8);
    Ok(())
}

#[test]
fn scan_agrees_with_yrs_on_incremental_updates() -> Result<()> {
    let doc = Doc::with_client_id(9);
    let text = doc.get_or_insert_text("t");
    let first = capture(&doc, |txn| text.insert(txn, 0, "abcdef"));
    let scan = check_against_yrs(&first)?;
    assert_eq!(scan.items.len(), 1);
    assert_eq!(scan.items[0].parent, Some(ParentRef::Root("t".into())));
    assert_eq!(scan.items[0].len, 6);
    let middle = capture(&doc, |txn| text.insert(txn, 3, "xy😀"));
    let scan = scan_update_v1(&middle)?;
    assert_eq!(
        scan.items,
        vec![ScannedItem {
            id: ItemId::new(9, 6),
            len: 4,
            origin: Some(ItemId::new(9, 2)),
            right_origin: Some(ItemId::new(9, 3)),
            parent: None,
            parent_sub: None,
            is_type: false,
            value: None,
        }]
    );
    let delete = capture(&doc, |txn| text.remove_range(txn, 1, 4));
    let scan = scan_update_v1(&delete)?;
    assert!(scan.items.is_empty());
    let deleted: u32 = scan.deletes.iter().map(|(_, len)| len).sum();
    assert_eq!(deleted, 4);
    Ok(())
}

#[test]
fn scan_reads_gc_structs() -> Result<()> {
    // With GC on, the content of a deleted nested map becomes GC structs.
    let doc = Doc::with_client_id(4);
    let root = doc.get_or_insert_map("root");
    {
        let mut txn = doc.transact_mut();
        let inner = root.insert(&mut txn, "inner", MapPrelim::default());
        inner.insert(&mut txn, "a", "x");
        inner.insert(&mut txn, "b", "y");
    }
    root.remove(&mut doc.transact_mut(), "inner");
    let scan = check_against_yrs(&full_state(&doc))?;
    assert!(!scan.gc.is_empty());
    Ok(())
}

/// A one-struct update of `client` at clock 0 in root `root`: info, then `content`.
fn handmade(client: u8, info: u8, root: &str, content: &[u8]) -> Vec<u8> {
    let mut out = vec![1, 1, client, 0, info, 1, root.len() as u8];
    out.extend_from_slice(root.as_bytes());
    out.extend_from_slice(content);
    out.push(0);
    out
}

#[test]
fn scan_reads_binary_json_and_hook_contents_like_yrs() -> Result<()> {
    // Binary content (no yrs API writes it).
    let binary = handmade(5, CONTENT_BINARY, "arr", &[3, 1, 2, 3]);
    let scan = check_against_yrs(&binary)?;
    assert_eq!(scan.items[0].len, 1);
    // JSON content: refused (yrs reads n + 1 strings and writes n).
    let json = handmade(5, CONTENT_JSON, "arr", &[1, 1, b'1', 3, b'"', b'a', b'"']);
    let err = scan_update_v1(&json).unwrap_err();
    assert!(err.to_string().contains("JSON content"), "{err}");
    // An XmlHook type ref has no name in yrs.
    let hook = handmade(5, CONTENT_TYPE, "frag", &[5]);
    let scan = check_against_yrs(&hook)?;
    assert!(scan.items[0].is_type);
    // An embed is carried as JSON text.
    let embed = handmade(5, CONTENT_EMBED, "t", &[4, b'{', b'}', b' ', b' ']);
    check_against_yrs(&embed)?;
    // Weak links (yrs' `weak` feature, off here, so yrs itself refuses them): a
    // single quoted item, and a quote of a whole root.
    let single = handmade(5, CONTENT_TYPE, "w", &[TYPE_WEAK, 0, 1, 0]);
    assert!(scan_update_v1(&single)?.items[0].is_type);
    let flags = WEAK_QUOTE | WEAK_START_UNBOUNDED | WEAK_END_UNBOUNDED | WEAK_PARENT_ROOT;
    let whole = handmade(5, CONTENT_TYPE, "w", &[TYPE_WEAK, flags, 1, b'r', 1, b'r']);
    assert!(scan_update_v1(&whole)?.items[0].is_type);
    Ok(())
}

#[test]
fn scan_refuses_what_yrs_would_misread() {
    let bad = [
        // empty, and truncated
        vec![],
        vec![1],
        vec![0],
        // GC of length 0
        vec![1, 1, 1, 0, 0, 0, 0],
        // origin flag on a GC ref
        vec![1, 1, 1, 0, 0x80, 1, 0, 0, 0],
        // reserved info bit
        vec![1, 1, 1, 0, 0x14, 1, 1, b'x', 1, b'a', 0],
        // parent info 2
        vec![1, 1, 1, 0, 4, 2, 1, b'x', 1, b'a', 0],
        // unknown content ref
        vec![1, 1, 1, 0, 11, 1, 1, b'x', 0],
        // client id of 60 bits
        vec![
            1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 10, 1, 0,
        ],
        // clock overflow
        vec![1, 2, 1, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 10, 1, 10, 1, 0],
        // invalid UTF-8
        vec![1, 1, 1, 0, 4, 1, 1, b'x', 1, 0xFF, 0],
        // deleted range overflowing
        vec![0, 1, 1, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1],
        // hostile counts with no bytes behind them
        vec![0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
        vec![1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1, 0, 8],
        vec![
            1, 1, 1, 0, 8, 1, 1, b'x', 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 118, 0xFF, 0xFF, 0xFF, 0x7F,
        ],
    ];
    for bytes in bad {
        let err = scan_update_v1(&bytes).expect_err("refused");
        assert!(
            matches!(
                err,
                Error::Malformed {
                    what: "sync update",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(split_update_v1(&bytes, 4).is_err());
    }
}

#[test]
fn the_empty_update_scans_and_splits_to_itself() -> Result<()> {
    assert_eq!(scan_update_v1(&[0, 0])?, Scan::default());
    assert_eq!(split_update_v1(&[0, 0], 0)?, vec![vec![0, 0]]);
    assert_eq!(split_update_v1(&[0, 0], 2)?, vec![vec![0, 0]]);
    Ok(())
}

#[test]
fn deeply_nested_any_is_refused_without_overflowing_the_stack() -> Result<()> {
    let nested = |depth: usize| {
        let mut content = vec![1];
        for _ in 0..depth {
            content.extend_from_slice(&[117, 1]);
        }
        content.push(126);
        handmade(5, CONTENT_ANY, "arr", &content)
    };
    // 200 000 levels: refused by the scanner, which reads without recursion.
    let err = scan_update_v1(&nested(200_000)).unwrap_err();
    assert!(err.to_string().contains("nested deeper than 64"), "{err}");
    // The limit itself passes, and yrs reads it too.
    let bytes = nested(MAX_ANY_DEPTH);
    assert_eq!(scan_update_v1(&bytes)?.items.len(), 1);
    assert!(Update::decode_v1(&bytes).is_ok());
    let value = scan_update_v1(&bytes)?.items[0].value.clone().unwrap();
    assert!(read_any_json(&bytes[value]).is_ok());
    Ok(())
}

#[test]
fn skip_structs_advance_the_clock() -> Result<()> {
    let doc = Doc::with_client_id(7);
    let text = doc.get_or_insert_text("t");
    let u1 = capture(&doc, |txn| text.push(txn, "a"));
    let u2 = capture(&doc, |txn| text.push(txn, "bc"));
    let u3 = capture(&doc, |txn| text.push(txn, "d"));
    let merged = yrs::merge_updates_v1([u1.as_slice(), u3.as_slice()]).unwrap();
    let scan = scan_update_v1(&merged)?;
    let ids: Vec<ItemId> = scan.items.iter().map(|i| i.id).collect();
    assert_eq!(ids, vec![ItemId::new(7, 0), ItemId::new(7, 3)]);
    // Split it finely: the Skip is left out, and the parts still make the text.
    let parts = split_update_v1(&merged, 1)?;
    assert_eq!(parts.len(), 2);
    for part in &parts {
        let scan = scan_update_v1(part)?;
        assert_eq!(scan.items.len(), 1);
    }
    let fresh = Doc::new();
    for part in parts.iter().rev() {
        apply(&fresh, part);
    }
    apply(&fresh, &u2);
    let t = fresh.get_or_insert_text("t");
    assert_eq!(t.get_string(&fresh.transact()), "abcd");
    Ok(())
}

fn roots_json(doc: &Doc) -> String {
    use yrs::types::ToJson;
    let txn = doc.transact();
    let mut out = String::new();
    let mut roots: Vec<_> = txn.root_refs().map(|(n, v)| (n.to_string(), v)).collect();
    roots.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, value) in roots {
        out.push_str(&format!("{name}={:?};", value.to_json(&txn)));
    }
    out
}

/// Split `bytes`, check the sizes, apply the parts to fresh docs in order and in
/// reverse, and compare with the original.
fn check_split(bytes: &[u8], max_bytes: usize) -> Result<usize> {
    let parts = split_update_v1(bytes, max_bytes)?;
    for part in &parts {
        let scan = scan_update_v1(part)?;
        if part.len() > max_bytes {
            let structs = scan.items.len() + scan.gc.len();
            assert!(
                structs == 1 || (structs == 0 && scan.deletes.len() == 1),
                "a part of {} bytes over {max_bytes} holds a single struct or deleted range",
                part.len()
            );
        }
    }
    if bytes.len() <= max_bytes {
        assert_eq!(parts, vec![bytes.to_vec()]);
    }
    let original = Doc::new();
    apply(&original, bytes);
    let expected_state = full_state(&original);
    let expected = scan_update_v1(&expected_state)?;
    for order in [false, true] {
        let doc = Doc::new();
        let iter: Box<dyn Iterator<Item = &Vec<u8>>> = if order {
            Box::new(parts.iter().rev())
        } else {
            Box::new(parts.iter())
        };
        for part in iter {
            apply(&doc, part);
        }
        assert_eq!(
            doc.transact().state_vector(),
            original.transact().state_vector()
        );
        let state = full_state(&doc);
        // The same structs, ids, origins and parents (the bytes may differ only in
        // the order yrs writes the keys of Any maps, which are hash maps).
        let got = scan_update_v1(&state)?;
        assert_eq!(got, expected, "reversed: {order}");
        let cover = |s: &Scan| {
            merged(
                s.deletes
                    .iter()
                    .map(|(id, len)| (id.client, id.clock, id.clock + len)),
            )
        };
        assert_eq!(cover(&got), cover(&expected));
        assert_eq!(roots_json(&doc), roots_json(&original));
    }
    Ok(parts.len())
}

#[test]
fn split_parts_rebuild_the_same_doc() -> Result<()> {
    let rich = full_state(&rich_doc());
    assert!(check_split(&rich, 64)? > 3);
    check_split(&rich, 1024)?;
    assert_eq!(check_split(&rich, rich.len())?, 1);
    // One struct, or one deleted range, per part.
    let scan = scan_update_v1(&rich)?;
    assert_eq!(
        check_split(&rich, 1)?,
        scan.items.len() + scan.gc.len() + scan.deletes.len()
    );

    // Many small edits of several clients, with deletes spread through the text.
    let a = Doc::with_client_id(11);
    let b = Doc::with_client_id(12);
    let ta = a.get_or_insert_text("doc:x");
    let tb = b.get_or_insert_text("doc:x");
    for i in 0..300u32 {
        let (doc, text) = if i % 3 == 0 { (&b, &tb) } else { (&a, &ta) };
        let mut txn = doc.transact_mut();
        let len = text.len(&txn);
        text.insert(&mut txn, (i * 7) % (len + 1), "word ");
        if i % 5 == 0 && len > 10 {
            text.remove_range(&mut txn, (i * 3) % (len - 5), 2);
        }
        drop(txn);
        if i % 10 == 0 {
            sync(&a, &b);
            sync(&b, &a);
        }
    }
    sync(&b, &a);
    let typed = full_state(&a);
    check_split(&typed, 64)?;
    check_split(&typed, 1024)?;
    // A delete set too big for one part is cut into delete-only parts.
    let ds_bytes = {
        let scan = scan_update_v1(&typed)?;
        assert!(scan.deletes.len() > 20);
        scan.deletes.len()
    };
    assert!(ds_bytes > 0);
    check_split(&typed, 16)?;
    Ok(())
}

#[test]
fn split_a_large_single_client_doc() -> Result<()> {
    let doc = Doc::with_client_id(21);
    let text = doc.get_or_insert_text("doc:big");
    let chunk = "x".repeat(1024);
    for _ in 0..3 * 1024 {
        // Inserting at the front keeps the items from squashing into one.
        text.insert(&mut doc.transact_mut(), 0, &chunk);
    }
    let bytes = full_state(&doc);
    assert!(bytes.len() > 3_000_000);
    let max = 256 * 1024;
    let parts = split_update_v1(&bytes, max)?;
    assert!(parts.len() >= 12, "{} parts", parts.len());
    assert!(parts.iter().all(|p| p.len() <= max));
    let fresh = Doc::new();
    for part in parts.iter().rev() {
        apply(&fresh, part);
    }
    let t = fresh.get_or_insert_text("doc:big");
    assert_eq!(t.len(&fresh.transact()), 3 * 1024 * 1024);
    assert_eq!(full_state(&fresh), bytes);
    Ok(())
}

/// Real updates to mutate.
fn samples() -> &'static Vec<Vec<u8>> {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let doc = rich_doc();
        let mut out = vec![full_state(&doc)];
        let text = doc.get_or_insert_text("doc:a");
        out.push(capture(&doc, |txn| text.insert(txn, 2, "abc")));
        out.push(capture(&doc, |txn| text.remove_range(txn, 1, 5)));
        out.push(handmade(5, CONTENT_JSON, "arr", &[1, 1, b'1', 1, b'2']));
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(scan) = scan_update_v1(&bytes) {
            let mut index = ZoneIndex::new();
            index.touched(&scan);
            index.record(&scan);
            index.touched(&scan);
        }
        let _ = split_update_v1(&bytes, 8);
    }

    #[test]
    fn mutated_updates_never_panic(
        which in any::<usize>(),
        at in any::<usize>(),
        byte in any::<u8>(),
        how in 0u8..3,
    ) {
        let samples = samples();
        let mut bytes = samples[which % samples.len()].clone();
        let at = at % bytes.len();
        match how {
            0 => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            _ => {
                bytes.remove(at);
            }
        }
        if let Ok(scan) = scan_update_v1(&bytes) {
            let mut index = ZoneIndex::new();
            index.record(&scan_update_v1(&samples[0]).unwrap());
            index.touched(&scan);
            index.record(&scan);
        }
        let _ = split_update_v1(&bytes, 48);
    }
}

mod zones;
