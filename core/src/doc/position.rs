//! Fast local text edits: Confab's own index of a document's item sequence.
//!
//! yrs finds a UTF-16 index by walking the text's items from the start on every
//! index-based edit, so typing into a long document costs time proportional to its
//! length. yrs does not walk when it integrates an update: an item names its neighbours
//! by id (origin and right origin) and yrs finds them by id. So Confab keeps its own
//! index of the document's full item sequence — runs of consecutive ids of one client,
//! tombstones included, with visible lengths per chunk — turns a local edit into the
//! update yrs itself would have produced (the same origin, the same right origin, the
//! same ids), and applies that update in the edit's transaction.
//!
//! The index follows Confab's own edits exactly. Anything else that changes the text
//! (a remote update, or an edit made some other way) marks it stale, and the next local
//! edit rebuilds it with one walk, as yrs would have done for that edit anyway.

use yrs::encoding::write::Write;

/// A run of consecutive ids of one client in the text's item sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    pub client: u64,
    pub clock: u32,
    /// Length in UTF-16 code units (one clock tick per unit, as in yrs and Yjs).
    pub len: u32,
    pub deleted: bool,
}

impl Run {
    fn visible(&self) -> u32 {
        if self.deleted {
            0
        } else {
            self.len
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Chunk {
    runs: Vec<Run>,
    visible: u32,
}

const MAX_RUNS: usize = 96;

/// The item sequence of one text, in chunks of runs.
#[derive(Debug, Default, Clone)]
pub(crate) struct Runs {
    chunks: Vec<Chunk>,
    visible: u32,
}

/// Where a visible character sits: chunk, run, offset in the run.
type Spot = (usize, usize, u32);

impl Runs {
    /// An index over `runs` (in sequence order).
    pub(crate) fn new(runs: impl IntoIterator<Item = Run>) -> Self {
        let mut out = Runs::default();
        let mut chunk = Chunk::default();
        for run in runs {
            if let Some(last) = chunk.runs.last_mut() {
                if last.client == run.client
                    && last.deleted == run.deleted
                    && last.clock.checked_add(last.len) == Some(run.clock)
                {
                    last.len += run.len;
                    chunk.visible += run.visible();
                    continue;
                }
            }
            if chunk.runs.len() == MAX_RUNS / 2 {
                out.visible += chunk.visible;
                out.chunks.push(std::mem::take(&mut chunk));
            }
            chunk.visible += run.visible();
            chunk.runs.push(run);
        }
        if !chunk.runs.is_empty() {
            out.visible += chunk.visible;
            out.chunks.push(chunk);
        }
        out
    }

    /// Visible length in UTF-16 code units.
    pub(crate) fn len(&self) -> u32 {
        self.visible
    }

    /// The spot of visible character `index` (0-based; `index < len()`).
    fn locate(&self, mut index: u32) -> Spot {
        for (ci, chunk) in self.chunks.iter().enumerate() {
            if index >= chunk.visible {
                index -= chunk.visible;
                continue;
            }
            for (ri, run) in chunk.runs.iter().enumerate() {
                let v = run.visible();
                if index < v {
                    return (ci, ri, index);
                }
                index -= v;
            }
        }
        unreachable!("index checked against the visible length")
    }

    /// Insert `len` units with ids `client:clock..` at visible `index`, where yrs's own
    /// `Text::insert` would put them, and return the origin and right origin it would
    /// give them: after the visible character before `index` and any tombstones that
    /// follow it (yrs, like Yjs, skips those), before the next visible item.
    #[allow(clippy::type_complexity)]
    pub(crate) fn insert(
        &mut self,
        index: u32,
        client: u64,
        clock: u32,
        len: u32,
    ) -> (Option<(u64, u32)>, Option<(u64, u32)>) {
        let new = Run {
            client,
            clock,
            len,
            deleted: false,
        };
        self.visible += len;
        if self.chunks.is_empty() {
            self.chunks.push(Chunk::default());
        }
        // Where the scan for tombstones starts: just after character index - 1.
        let (mut ci, mut ri, mut origin) = if index == 0 {
            (0, 0, None)
        } else {
            let (ci, ri, off) = self.locate(index - 1);
            let run = self.chunks[ci].runs[ri];
            let origin = (run.client, run.clock + off);
            if off + 1 < run.len {
                // Inside a visible run: split it after the origin.
                let runs = &mut self.chunks[ci].runs;
                split_run(runs, ri, off + 1);
                runs.insert(ri + 1, new);
                self.chunks[ci].visible += len;
                self.split_if_full(ci);
                return (Some(origin), Some((run.client, run.clock + off + 1)));
            }
            (ci, ri + 1, Some(origin))
        };
        // Skip tombstones; the new run goes right before the next visible run (or at
        // the very end).
        let mut skipped = false;
        let mut right = None;
        loop {
            match self.chunks[ci].runs.get(ri).copied() {
                Some(run) if run.deleted => {
                    origin = Some((run.client, run.clock + run.len - 1));
                    skipped = true;
                    ri += 1;
                }
                Some(run) => {
                    right = Some((run.client, run.clock));
                    break;
                }
                None if ci + 1 < self.chunks.len() => {
                    ci += 1;
                    ri = 0;
                }
                None => break,
            }
        }
        let chunk = &mut self.chunks[ci];
        // Typing on: extend the run just before, when it is ours and contiguous.
        if !skipped && ri > 0 {
            let prev = &mut chunk.runs[ri - 1];
            if prev.client == client && !prev.deleted && prev.clock + prev.len == clock {
                prev.len += len;
                chunk.visible += len;
                return (origin, right);
            }
        }
        chunk.runs.insert(ri, new);
        chunk.visible += len;
        self.split_if_full(ci);
        (origin, right)
    }

    /// Mark `len` visible units from visible `index` deleted; returns the deleted id
    /// ranges (client, clock, len) in sequence order.
    pub(crate) fn delete(&mut self, index: u32, mut len: u32) -> Vec<(u64, u32, u32)> {
        let mut out: Vec<(u64, u32, u32)> = Vec::new();
        if len == 0 {
            return out;
        }
        self.visible -= len;
        let (mut ci, mut ri, mut off) = self.locate(index);
        let first = ci;
        while len > 0 {
            let chunk = &mut self.chunks[ci];
            if ri >= chunk.runs.len() {
                ci += 1;
                ri = 0;
                off = 0;
                continue;
            }
            let run = chunk.runs[ri];
            if run.deleted {
                ri += 1;
                off = 0;
                continue;
            }
            if off > 0 {
                // Keep the visible head.
                split_run(&mut chunk.runs, ri, off);
                ri += 1;
                off = 0;
                continue;
            }
            let take = run.len.min(len);
            if take < run.len {
                split_run(&mut chunk.runs, ri, take);
            }
            chunk.runs[ri].deleted = true;
            chunk.visible -= take;
            len -= take;
            match out.last_mut() {
                Some(last) if last.0 == run.client && last.1 + last.2 == run.clock => {
                    last.2 += take
                }
                _ => out.push((run.client, run.clock, take)),
            }
            ri += 1;
        }
        // Only the first and the last chunk gained a run (a split at each end).
        self.split_if_full(ci.min(self.chunks.len() - 1));
        if first < ci {
            self.split_if_full(first);
        }
        out
    }

    fn split_if_full(&mut self, ci: usize) {
        if self.chunks[ci].runs.len() <= MAX_RUNS {
            return;
        }
        let tail = self.chunks[ci].runs.split_off(MAX_RUNS / 2);
        let moved: u32 = tail.iter().map(Run::visible).sum();
        self.chunks[ci].visible -= moved;
        self.chunks.insert(
            ci + 1,
            Chunk {
                runs: tail,
                visible: moved,
            },
        );
    }

    /// Every run in sequence order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Run> + '_ {
        self.chunks.iter().flat_map(|c| c.runs.iter())
    }

    /// Every run in sequence order (for tests).
    #[cfg(test)]
    pub(crate) fn runs(&self) -> Vec<Run> {
        self.iter().copied().collect()
    }
}

/// One item of a text's full sequence: who wrote it (its first id), its text, and
/// whether it is deleted now.
pub(crate) struct SeqItem {
    pub client: u64,
    pub clock: u32,
    pub text: std::sync::Arc<str>,
    pub deleted: bool,
}

/// A text's whole item sequence, tombstones included, in order (one entry per yrs
/// block, so splits differ between replicas; callers join runs as they need), and
/// whether it holds anything but plain strings (embeds or formatting).
pub(crate) fn item_sequence(doc: &yrs::Doc, text: &yrs::TextRef) -> (Vec<SeqItem>, bool) {
    use yrs::{ReadTxn, Text, Transact};
    let mut txn = doc.transact_mut();
    let deleted = txn.snapshot().delete_set;
    // Everything visible against nothing: every item comes out as "added", with its id.
    let all = yrs::Snapshot::new(txn.state_vector(), yrs::IdSet::default());
    let none = yrs::Snapshot::new(yrs::StateVector::default(), yrs::IdSet::default());
    let chunks = text.diff_range(
        &mut txn,
        Some(&all),
        Some(&none),
        yrs::types::text::YChange::identity,
    );
    let mut rich = false;
    let mut out = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        rich |= chunk.attributes.is_some();
        match (chunk.insert, chunk.ychange) {
            (yrs::Out::Any(yrs::Any::String(s)), Some(change)) => out.push(SeqItem {
                client: change.id.client.get(),
                clock: change.id.clock,
                text: s,
                deleted: deleted.contains(&change.id),
            }),
            _ => rich = true,
        }
    }
    (out, rich)
}

/// Split `runs[ri]` into its first `at` units and the rest, in place.
fn split_run(runs: &mut Vec<Run>, ri: usize, at: u32) {
    let run = runs[ri];
    runs[ri].len = at;
    runs.insert(
        ri + 1,
        Run {
            clock: run.clock + at,
            len: run.len - at,
            ..run
        },
    );
}

/// The v1 update yrs would produce for inserting `text` (ids `client:clock..`) into
/// the root text `root` between `origin` and `right`.
pub(crate) fn insert_update(
    client: u64,
    clock: u32,
    origin: Option<(u64, u32)>,
    right: Option<(u64, u32)>,
    root: &str,
    text: &str,
) -> Vec<u8> {
    const STRING: u8 = 4;
    const HAS_ORIGIN: u8 = 0b1000_0000;
    const HAS_RIGHT_ORIGIN: u8 = 0b0100_0000;
    let mut buf: Vec<u8> = Vec::with_capacity(text.len() + 24);
    buf.write_var(1u32); // one client
    buf.write_var(1u32); // one struct
    buf.write_var(client);
    buf.write_var(clock);
    let mut info = STRING;
    if origin.is_some() {
        info |= HAS_ORIGIN;
    }
    if right.is_some() {
        info |= HAS_RIGHT_ORIGIN;
    }
    buf.write_u8(info);
    for (c, k) in origin.iter().chain(right.iter()) {
        buf.write_var(*c);
        buf.write_var(*k);
    }
    if origin.is_none() && right.is_none() {
        buf.write_var(1u32); // the parent is a root, named
        buf.write_string(root);
    }
    buf.write_string(text);
    buf.write_var(0u32); // no deletions
    buf
}

/// A v1 update that deletes the given id ranges (client, clock, len).
pub(crate) fn delete_update(ranges: &[(u64, u32, u32)]) -> Vec<u8> {
    let mut by_client: std::collections::BTreeMap<u64, Vec<(u32, u32)>> = Default::default();
    for &(client, clock, len) in ranges {
        by_client.entry(client).or_default().push((clock, len));
    }
    let mut buf: Vec<u8> = Vec::new();
    buf.write_var(0u32); // no structs
    buf.write_var(by_client.len() as u32);
    for (client, mut list) in by_client {
        list.sort_unstable();
        buf.write_var(client);
        buf.write_var(list.len() as u32);
        for (clock, len) in list {
            buf.write_var(clock);
            buf.write_var(len);
        }
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(client: u64, clock: u32, len: u32, deleted: bool) -> Run {
        Run {
            client,
            clock,
            len,
            deleted,
        }
    }

    #[test]
    fn insertions_skip_tombstones_like_yrs_and_deletions_split_runs() {
        // "abc" by 1, a tombstone "xy" by 2, "de" by 1.
        let mut r = Runs::new([run(1, 0, 3, false), run(2, 0, 2, true), run(1, 3, 2, false)]);
        assert_eq!(r.len(), 5);
        // Inside a run: between two of its characters.
        assert_eq!(r.insert(1, 9, 0, 1), (Some((1, 0)), Some((1, 1))));
        // After "c": past the tombstone, before "d".
        assert_eq!(r.insert(4, 9, 1, 1), (Some((2, 1)), Some((1, 3))));
        // At the end and at the start.
        assert_eq!(r.insert(7, 9, 2, 1), (Some((1, 4)), None));
        assert_eq!(r.insert(0, 9, 5, 1), (None, Some((1, 0))));
        assert_eq!(r.len(), 9);
        assert_eq!(
            r.runs(),
            [
                run(9, 5, 1, false),
                run(1, 0, 1, false),
                run(9, 0, 1, false),
                run(1, 1, 2, false),
                run(2, 0, 2, true),
                run(9, 1, 1, false),
                run(1, 3, 2, false),
                run(9, 2, 1, false),
            ]
        );
        assert_eq!(r.delete(3, 3), vec![(1, 1, 2), (9, 1, 1)]);
        assert_eq!(r.len(), 6);
        // Typing on extends a run.
        assert_eq!(r.insert(6, 9, 3, 1), (Some((9, 2)), None));
        assert_eq!(r.runs().last(), Some(&run(9, 2, 2, false)));
    }

    use crate::doc::RoomDoc;
    use yrs::updates::decoder::Decode;
    use yrs::{ReadTxn, Transact};

    /// The text's full item sequence: ids, content and deletion, runs joined (block
    /// boundaries differ between replicas and mean nothing).
    fn state(doc: &RoomDoc) -> Vec<(u64, u32, String, bool)> {
        let text = doc.doc().get_or_insert_text("doc:d");
        let mut out: Vec<(u64, u32, String, bool)> = Vec::new();
        for item in item_sequence(doc.doc(), &text).0 {
            match out.last_mut() {
                Some(last)
                    if last.0 == item.client
                        && last.3 == item.deleted
                        && last.1 + last.2.encode_utf16().count() as u32 == item.clock =>
                {
                    last.2.push_str(&item.text)
                }
                _ => out.push((item.client, item.clock, item.text.to_string(), item.deleted)),
            }
        }
        out
    }

    fn deliver(from: &RoomDoc, to: &RoomDoc) {
        let sv = to.doc().transact().state_vector();
        let update = from.doc().transact().encode_diff_v1(&sv);
        to.doc()
            .transact_mut()
            .apply_update(yrs::Update::decode_v1(&update).unwrap())
            .unwrap();
    }

    /// Confab's indexed edits produce the same items yrs's own API produces: two peers,
    /// each with a twin editing through yrs, make the same random edits (with emoji),
    /// exchange updates the same way, and every pair of twins holds the same item
    /// sequence — ids, order, tombstones — throughout (an item placed by other origins
    /// would land elsewhere once concurrent edits meet it).
    #[test]
    fn indexed_edits_match_yrs_byte_for_byte() {
        let seeds: u64 = std::env::var("CONFAB_INDEX_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(40);
        for seed in 1..=seeds {
            let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut next = |n: u64| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng % n.max(1)
            };
            let mut fast = [RoomDoc::new(1), RoomDoc::new(2)];
            let mut slow = [RoomDoc::new(1), RoomDoc::new(2)];
            for d in &mut slow {
                d.set_fast_edits(false);
            }
            for set in [&mut fast, &mut slow] {
                set[0].create_document(Some("d"), "D", 0).unwrap();
            }
            deliver(&fast[0], &fast[1]);
            deliver(&slow[0], &slow[1]);
            for _ in 0..120 {
                let who = next(2) as usize;
                let text = fast[who].document_text("d").unwrap();
                let units: Vec<u16> = text.encode_utf16().collect();
                let len = units.len() as u64;
                // Pick a boundary that does not split a surrogate pair.
                let mut at = next(len + 1) as usize;
                while at > 0 && at < units.len() && (0xDC00..0xE000).contains(&units[at]) {
                    at -= 1;
                }
                let mut del = next(4).min(len - at as u64) as usize;
                while at + del < units.len() && (0xDC00..0xE000).contains(&units[at + del]) {
                    del += 1;
                }
                let chunk = ["", "a", "bc", "😀", "xyz "][next(5) as usize];
                let action = next(6);
                for set in [&mut fast, &mut slow] {
                    match action {
                        0 => set[who].delete_text("d", at as u32, del as u32).unwrap(),
                        1 | 2 => set[who].insert_text("d", at as u32, chunk).unwrap(),
                        _ => set[who]
                            .replace_text("d", at as u32, del as u32, chunk)
                            .unwrap(),
                    }
                }
                if next(3) == 0 {
                    let (a, b) = if next(2) == 0 { (0, 1) } else { (1, 0) };
                    deliver(&fast[a], &fast[b]);
                    deliver(&slow[a], &slow[b]);
                }
                for i in 0..2 {
                    assert_eq!(
                        state(&fast[i]),
                        state(&slow[i]),
                        "seed {seed}: peer {i} differs"
                    );
                }
            }
            deliver(&fast[0], &fast[1]);
            deliver(&fast[1], &fast[0]);
            assert_eq!(
                fast[0].document_text("d").unwrap(),
                fast[1].document_text("d").unwrap()
            );
        }
    }

    /// A document holding formatting (from a rich-text Yjs client) is edited through
    /// yrs's own API, and still correctly.
    #[test]
    fn rich_text_falls_back_to_yrs() {
        use yrs::{Any, Text};
        let mut confab = RoomDoc::new(1);
        confab.create_document(Some("d"), "D", 0).unwrap();
        confab.insert_text("d", 0, "plain words").unwrap();
        let stock = yrs::Doc::with_client_id(7);
        deliver(&confab, &RoomDoc::from_doc(stock.clone()));
        {
            let text = stock.get_or_insert_text("doc:d");
            let mut txn = stock.transact_mut();
            let bold = yrs::types::Attrs::from([("bold".into(), Any::Bool(true))]);
            text.format(&mut txn, 0, 5, bold);
        }
        deliver(&RoomDoc::from_doc(stock), &confab);
        confab.insert_text("d", 6, "bold ").unwrap();
        confab.delete_text("d", 0, 1).unwrap();
        assert_eq!(confab.document_text("d").unwrap(), "lain bold words");
        assert!(confab.edits_through_yrs("d"));
    }

    #[test]
    fn chunks_split_and_stay_consistent() {
        let mut r = Runs::default();
        // Insert at the front repeatedly: every insertion is its own run.
        for i in 0..1000u32 {
            let _ = r.insert(0, 1, i, 1);
        }
        assert_eq!(r.len(), 1000);
        assert!(r.chunks.len() > 10);
        let ids: Vec<u32> = r.runs().iter().map(|x| x.clock).collect();
        assert_eq!(ids, (0..1000).rev().collect::<Vec<_>>());
        let gone = r.delete(10, 500);
        assert_eq!(gone.iter().map(|g| g.2).sum::<u32>(), 500);
        assert_eq!(r.len(), 500);
        assert_eq!(r.chunks.iter().map(|c| c.visible).sum::<u32>(), 500);
    }
}
