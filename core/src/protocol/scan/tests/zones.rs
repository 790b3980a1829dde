//! Tests of the zone index.

use super::*;

fn some(path: &[&str]) -> Option<ZonePath> {
    Some(path.iter().map(|s| s.to_string()).collect())
}

fn touched(index: &ZoneIndex, update: &[u8]) -> Result<BTreeSet<Option<ZonePath>>> {
    Ok(index.touched(&scan_update_v1(update)?))
}

/// A room doc, its index, and the client that edits it.
fn room_model() -> Result<(Doc, ZoneIndex)> {
    let doc = Doc::with_client_id(100);
    let mut index = ZoneIndex::new();
    {
        let mut txn = doc.transact_mut();
        let messages = txn.get_or_insert_map("messages");
        messages.insert(
            &mut txn,
            "m1",
            MapPrelim::from([
                ("author", yrs::In::from(Any::from("alice"))),
                ("text", yrs::In::from(TextPrelim::new("hello"))),
                ("reactions", yrs::In::from(MapPrelim::default())),
            ]),
        );
        let a = txn.get_or_insert_text("doc:a");
        a.insert(&mut txn, 0, "alpha text");
        let b = txn.get_or_insert_text("doc:b");
        b.insert(&mut txn, 0, "beta text");
    }
    index.record(&scan_update_v1(&full_state(&doc))?);
    Ok((doc, index))
}

fn message(txn: &mut TransactionMut, id: &str) -> yrs::MapRef {
    let messages = txn.get_or_insert_map("messages");
    messages.get(txn, id).unwrap().cast().unwrap()
}

fn reactions_of(txn: &mut TransactionMut, id: &str) -> yrs::MapRef {
    let m = message(txn, id);
    m.get(txn, "reactions").unwrap().cast().unwrap()
}

#[test]
fn zones_of_edits() -> Result<()> {
    let (room, mut index) = room_model()?;
    assert!(!index.is_empty());
    // An editor with its own client id, synced with the room.
    let editor = Doc::with_client_id(200);
    sync(&room, &editor);

    // A reaction inside messages/m1/reactions.
    let update = capture(&editor, |txn| {
        reactions_of(txn, "m1").insert(txn, "carol", "🎉");
    });
    assert_eq!(
        touched(&index, &update)?,
        BTreeSet::from([some(&["messages", "m1", "reactions"])])
    );
    index.record(&scan_update_v1(&update)?);
    // Replacing the same reaction: the new entry carries an origin, not a parent.
    let update = capture(&editor, |txn| {
        reactions_of(txn, "m1").insert(txn, "carol", "👀");
    });
    assert!(scan_update_v1(&update)?.items[0].parent.is_none());
    assert_eq!(
        touched(&index, &update)?,
        BTreeSet::from([some(&["messages", "m1", "reactions"])])
    );
    index.record(&scan_update_v1(&update)?);

    // Typing in the middle of doc:a: items carry origins, not parents.
    let a = editor.get_or_insert_text("doc:a");
    let update = capture(&editor, |txn| a.insert(txn, 3, "XYZ"));
    assert!(scan_update_v1(&update)?.items[0].origin.is_some());
    assert_eq!(
        touched(&index, &update)?,
        BTreeSet::from([some(&["doc:a"])])
    );
    index.record(&scan_update_v1(&update)?);
    // Deleting across the text just typed and the original text.
    let update = capture(&editor, |txn| a.remove_range(txn, 2, 4));
    assert_eq!(
        touched(&index, &update)?,
        BTreeSet::from([some(&["doc:a"])])
    );

    // Deleting in doc:b.
    let b = editor.get_or_insert_text("doc:b");
    let update = capture(&editor, |txn| b.remove_range(txn, 1, 3));
    assert!(scan_update_v1(&update)?.items.is_empty());
    assert_eq!(
        touched(&index, &update)?,
        BTreeSet::from([some(&["doc:b"])])
    );

    // The message's own text.
    let update = capture(&editor, |txn| {
        let m = message(txn, "m1");
        let t: yrs::TextRef = m.get(txn, "text").unwrap().cast().unwrap();
        t.insert(txn, 5, " again");
    });
    assert_eq!(
        touched(&index, &update)?,
        BTreeSet::from([some(&["messages", "m1", "text"])])
    );

    // Edits on top of content the index has never seen.
    let stranger = Doc::with_client_id(300);
    let s = stranger.get_or_insert_text("doc:a");
    s.insert(&mut stranger.transact_mut(), 0, "unseen");
    let update = capture(&stranger, |txn| s.insert(txn, 3, "!"));
    assert_eq!(touched(&index, &update)?, BTreeSet::from([None]));
    let update = capture(&stranger, |txn| s.remove_range(txn, 0, 1));
    assert_eq!(touched(&index, &update)?, BTreeSet::from([None]));

    // A new message map with fields: touches messages only, and its inside resolves
    // within the update.
    let update = capture(&editor, |txn| {
        let messages = txn.get_or_insert_map("messages");
        messages.insert(
            txn,
            "m2",
            MapPrelim::from([
                ("author", yrs::In::from(Any::from("bob"))),
                ("text", yrs::In::from(TextPrelim::new("new message"))),
                ("reactions", yrs::In::from(MapPrelim::default())),
            ]),
        );
    });
    let scan = scan_update_v1(&update)?;
    assert!(scan.items.len() >= 4);
    assert_eq!(index.touched(&scan), BTreeSet::from([some(&["messages"])]));
    index.record(&scan);
    let update = capture(&editor, |txn| {
        reactions_of(txn, "m2").insert(txn, "dave", "❤️");
    });
    assert_eq!(
        touched(&index, &update)?,
        BTreeSet::from([some(&["messages", "m2", "reactions"])])
    );
    // The same update's items listed in reverse still resolve through each other.
    let mut reversed = scan.clone();
    reversed.items.reverse();
    let mut fresh = ZoneIndex::new();
    fresh.record(&scan_update_v1(&full_state(&room))?);
    assert_eq!(
        fresh.touched(&reversed),
        BTreeSet::from([some(&["messages"])])
    );
    Ok(())
}

#[test]
fn zones_of_sequence_types_and_gc() -> Result<()> {
    let doc = Doc::with_client_id(5);
    let mut index = ZoneIndex::new();
    let list = doc.get_or_insert_array("list");
    let update = capture(&doc, |txn| {
        list.push_back(txn, 1i64);
        list.push_back(txn, MapPrelim::default());
    });
    assert_eq!(touched(&index, &update)?, BTreeSet::from([some(&["list"])]));
    index.record(&scan_update_v1(&update)?);
    let update = capture(&doc, |txn| {
        let m: yrs::MapRef = list.get(txn, 1).unwrap().cast().unwrap();
        m.insert(txn, "k", "v");
    });
    let scan = scan_update_v1(&update)?;
    let Some(ParentRef::Item(map_id)) = scan.items[0].parent else {
        panic!("a parent");
    };
    let seg = format!("#{}.{}", map_id.client, map_id.clock);
    assert_eq!(
        index.touched(&scan),
        BTreeSet::from([some(&["list", &seg])])
    );
    // GC structs touch nothing; items whose parent is not a type touch nothing.
    let gc_only = Scan {
        gc: vec![(ItemId::new(5, 100), 3)],
        ..Scan::default()
    };
    assert!(index.touched(&gc_only).is_empty());
    index.record(&gc_only);
    let deletes_gc = Scan {
        deletes: vec![(ItemId::new(5, 100), 3)],
        ..Scan::default()
    };
    assert!(index.touched(&deletes_gc).is_empty());
    let into_non_type = Scan {
        items: vec![ScannedItem {
            id: ItemId::new(6, 0),
            len: 1,
            origin: None,
            right_origin: None,
            parent: Some(ParentRef::Item(ItemId::new(5, 0))),
            parent_sub: None,
            is_type: false,
            value: None,
        }],
        ..Scan::default()
    };
    assert!(index.touched(&into_non_type).is_empty());
    Ok(())
}

#[test]
fn zone_index_survives_cycles_and_self_references() {
    let item = |client, clock, origin: Option<ItemId>, parent: Option<ParentRef>| ScannedItem {
        id: ItemId::new(client, clock),
        len: 1,
        origin,
        right_origin: None,
        parent,
        parent_sub: None,
        is_type: true,
        value: None,
    };
    let scan = Scan {
        items: vec![
            item(1, 0, Some(ItemId::new(1, 0)), None),
            item(2, 0, None, Some(ParentRef::Item(ItemId::new(3, 0)))),
            item(3, 0, None, Some(ParentRef::Item(ItemId::new(2, 0)))),
            item(4, 0, Some(ItemId::new(5, 0)), None),
            item(5, 0, Some(ItemId::new(4, 0)), None),
        ],
        ..Scan::default()
    };
    let mut index = ZoneIndex::new();
    assert_eq!(index.touched(&scan), BTreeSet::from([None]));
    index.record(&scan);
    let inside = Scan {
        items: vec![item(9, 0, None, Some(ParentRef::Item(ItemId::new(2, 0))))],
        ..Scan::default()
    };
    assert_eq!(index.touched(&inside), BTreeSet::from([None]));
}

#[test]
fn typing_coalesces_to_constant_memory() {
    let mut index = ZoneIndex::new();
    let first = ScannedItem {
        id: ItemId::new(1, 0),
        len: 1,
        origin: None,
        right_origin: None,
        parent: Some(ParentRef::Root("doc:a".into())),
        parent_sub: None,
        is_type: false,
        value: None,
    };
    index.record(&Scan {
        items: vec![first],
        ..Scan::default()
    });
    for clock in 1..100_000u32 {
        // Each keystroke in its own update, after the previous character.
        let item = ScannedItem {
            id: ItemId::new(1, clock),
            len: 1,
            origin: Some(ItemId::new(1, clock - 1)),
            right_origin: None,
            parent: None,
            parent_sub: None,
            is_type: false,
            value: None,
        };
        index.record(&Scan {
            items: vec![item],
            ..Scan::default()
        });
    }
    assert_eq!(index.len(), 1);
    // Recording the same again changes nothing.
    index.record(&Scan {
        items: vec![ScannedItem {
            id: ItemId::new(1, 500),
            len: 10,
            origin: Some(ItemId::new(1, 499)),
            right_origin: None,
            parent: None,
            parent_sub: None,
            is_type: false,
            value: None,
        }],
        ..Scan::default()
    });
    assert_eq!(index.len(), 1);
    let delete_all = Scan {
        deletes: vec![(ItemId::new(1, 0), 100_000)],
        ..Scan::default()
    };
    assert_eq!(
        index.touched(&delete_all),
        BTreeSet::from([some(&["doc:a"])])
    );
}

#[test]
fn typing_with_yrs_stays_small() -> Result<()> {
    let (room, mut index) = room_model()?;
    let editor = Doc::with_client_id(200);
    sync(&room, &editor);
    let a = editor.get_or_insert_text("doc:a");
    let ranges_before = index.len();
    for i in 0..2_000u32 {
        // Type, and now and then move the cursor or delete a character.
        let update = capture(&editor, |txn| {
            let len = a.len(txn);
            if i % 50 == 49 {
                a.remove_range(txn, len / 2, 1);
            } else {
                a.insert(txn, if i % 100 < 50 { len } else { 4 }, "k");
            }
        });
        let scan = scan_update_v1(&update)?;
        let touched = index.touched(&scan);
        assert_eq!(touched, BTreeSet::from([some(&["doc:a"])]));
        index.record(&scan);
    }
    assert!(index.len() <= ranges_before + 2, "{}", index.len());
    Ok(())
}
