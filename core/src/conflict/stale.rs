//! Stale-base writes: a writer declares the version it read; if others changed the
//! range it now overwrites, the write is held as a suggestion or applied with a record.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use yrs::types::text::{ChangeKind, YChange};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, IndexedSequence, Map, Out, ReadTxn, Snapshot, StickyIndex, Text, TextRef, Transact,
    WriteTxn,
};

use super::text::deletion_records;
use super::*;
use crate::doc::schema::CONFLICTS as RECORDS;
use crate::doc::{doc_text_name, Participant, RoomDoc};
use crate::error::{Error, Result};

/// The outcome of a write with a declared base.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BasedWrite {
    /// Whether the text changed now.
    pub applied: bool,
    /// The conflict recorded when the base was stale.
    pub conflict: Option<String>,
    /// Where the write landed (or would land), UTF-16 offsets into the current text.
    pub start: u32,
    /// End of that range after the write (exclusive).
    pub end: u32,
}

/// A document's text and the base version to declare when writing back.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentRead {
    /// The text.
    pub text: String,
    /// The version it was read at (an encoded snapshot).
    pub base: Vec<u8>,
}

impl RoomDoc {
    pub(super) fn stale_records(&self) -> Vec<Conflict> {
        let txn = self.doc.transact();
        let Some(map) = txn.get_map(RECORDS) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (id, value) in map.iter(&txn) {
            let Out::Any(Any::Map(r)) = value else {
                continue;
            };
            let Some(doc) = string(&r, "doc") else {
                continue;
            };
            let (start, end) = self.anchored_range(&txn, &doc, &r).unwrap_or((0, 0));
            let current = txn
                .get_text(doc_text_name(&doc).as_str())
                .map(|t| {
                    let units: Vec<u16> = yrs::GetString::get_string(&t, &txn)
                        .encode_utf16()
                        .collect();
                    let (s, e) = (
                        (start as usize).min(units.len()),
                        (end as usize).min(units.len()),
                    );
                    String::from_utf16_lossy(&units[s..e.max(s)])
                })
                .unwrap_or_default();
            let side = |prefix: &str, stale: bool| ConflictSide {
                author: participant_any(r.get(&format!("{prefix}By"))),
                client: num(&r, &format!("{prefix}Client")).unwrap_or(0.0) as u64,
                inserted: string(&r, &format!("{prefix}Text")).unwrap_or_default(),
                deleted: string(&r, &format!("{prefix}Deleted")).unwrap_or_default(),
                at: num(&r, &format!("{prefix}At")).unwrap_or(0.0),
                turn: string(&r, &format!("{prefix}Turn")),
                model: string(&r, &format!("{prefix}Model")),
                stale,
            };
            let suggested = string(&r, "kind").as_deref() == Some("suggestion");
            let sides = vec![side("others", false), side("writer", !suggested)];
            let proposal = suggested
                .then(|| {
                    Some(Proposal {
                        text: sides[1].inserted.clone(),
                        rationale: string(&r, "note").unwrap_or_default(),
                        by: sides[1].author.clone()?,
                        at: sides[1].at,
                    })
                })
                .flatten();
            let kind = if suggested {
                ConflictKind::Suggestion
            } else {
                ConflictKind::Stale
            };
            out.push(Conflict {
                doc: Some(doc),
                start,
                end,
                before: string(&r, "before").unwrap_or_default(),
                current,
                at: sides[1].at, // when the write was made
                stale: !suggested,
                held: matches!(r.get("held"), Some(Any::Bool(true))),
                proposal,
                ..Conflict::open(id.to_owned(), kind, sides)
            });
        }
        out
    }

    pub(super) fn anchored_range<T: ReadTxn>(
        &self,
        txn: &T,
        _doc: &str,
        r: &HashMap<String, Any>,
    ) -> Option<(u32, u32)> {
        let decode = |key: &str| match r.get(key) {
            Some(Any::Buffer(b)) => StickyIndex::decode_v1(b).ok(),
            _ => None,
        };
        let start = decode("from")?.get_offset(txn)?.index;
        let end = decode("to")?.get_offset(txn)?.index;
        Some((start, end.max(start)))
    }

    /// A document's text with the version to declare as the base of a later write.
    pub fn read_document(&self, doc: &str) -> Result<DocumentRead> {
        let text = self.document_text(doc)?;
        let base = self.doc.transact().snapshot().encode_v1();
        Ok(DocumentRead { text, base })
    }

    /// Replace UTF-16 range `start..end` *of the text as it was at `base`* (from
    /// [`RoomDoc::read_document`]) with `text`. The range is mapped onto the current
    /// text; if someone else changed anything inside it since `base`, the write is
    /// stale and, by the document's [`StalePolicy`], either held as a suggestion or
    /// applied with a conflict record.
    pub fn write_based(
        &mut self,
        doc: &str,
        start: u32,
        end: u32,
        text: &str,
        base: &[u8],
        who: &Participant,
    ) -> Result<BasedWrite> {
        let base = Snapshot::decode_v1(base).map_err(|e| Error::malformed("base version", e))?;
        self.check_base(&base)?;
        let body = self.document_ref_checked(doc)?;
        let own = self.doc.client_id().get();
        let segs = self.segments_since(&body, &base);
        let base_len = segs
            .iter()
            .filter(|s| s.kind != Seg::Added)
            .map(|s| s.len)
            .sum::<u32>();
        check_range(doc, start, end, base_len)?;
        let hit = collide(&segs, start, end, own);
        let (cs, ce) = hit.span;
        if hit.others.is_empty() {
            self.replace_text(doc, cs, ce - cs, text)?;
            return Ok(BasedWrite {
                applied: true,
                conflict: None,
                start: cs,
                end: cs + text.encode_utf16().count() as u32,
            });
        }
        self.write_stale(doc, &body, text, who, hit)
    }

    /// Refuse a base that names changes this replica never had (a base from another
    /// room, or made up): reading the text at it would fail inside yrs.
    fn check_base(&self, base: &Snapshot) -> Result<()> {
        let local = self.doc.transact().state_vector();
        let beyond = base
            .state_map
            .iter()
            .any(|(client, &clock)| local.get(client) < clock);
        let unknown_deletion = base.delete_set.iter().any(|(client, ranges)| {
            ranges
                .iter()
                .any(|r| r.end > local.get(client) || r.start >= r.end)
        });
        if beyond || unknown_deletion {
            return Err(Error::Malformed {
                what: "base version",
                reason: "it names changes this room does not have (a base from another room?)"
                    .into(),
            });
        }
        Ok(())
    }

    /// The document's text since `base` as segments: unchanged, added (with who added
    /// it) and removed (with who removed it, when recorded).
    fn segments_since(&self, body: &TextRef, base: &Snapshot) -> Vec<Segment> {
        let dels = deletion_records(&self.doc.transact());
        let chunks = {
            let mut txn = self.doc.transact_mut();
            let now = txn.snapshot();
            body.diff_range(&mut txn, Some(&now), Some(base), YChange::identity)
        };
        let mut segs = Vec::new();
        let (mut b, mut c) = (0u32, 0u32);
        for chunk in &chunks {
            let Out::Any(Any::String(s)) = &chunk.insert else {
                continue;
            };
            let len = s.encode_utf16().count() as u32;
            let (kind, by) = match &chunk.ychange {
                Some(YChange {
                    kind: ChangeKind::Added,
                    id,
                }) => (Seg::Added, Some(id.client.get())),
                Some(YChange {
                    kind: ChangeKind::Removed,
                    id,
                }) => {
                    let deleter = dels.get(&id.client.get()).and_then(|rs| {
                        rs.iter()
                            .find(|r| r.0 <= id.clock && id.clock < r.1)
                            .map(|r| r.2)
                    });
                    (Seg::Removed, deleter)
                }
                None => (Seg::Same, None),
            };
            segs.push(Segment {
                kind,
                base: b,
                current: c,
                len,
                by,
                text: s.to_string(),
            });
            if kind != Seg::Added {
                b += len;
            }
            if kind != Seg::Removed {
                c += len;
            }
        }
        segs
    }

    /// Write (or hold, by the document's policy) a write others changed the range of
    /// since its base, and record it as a stale-base conflict.
    fn write_stale(
        &mut self,
        doc: &str,
        body: &TextRef,
        text: &str,
        who: &Participant,
        hit: Collision,
    ) -> Result<BasedWrite> {
        let held = self.stale_policy(doc) == StalePolicy::Hold;
        let other = hit.others.first().copied().unwrap_or(0);
        let mut r: HashMap<String, Any> = HashMap::new();
        if let Some(p) = self.participant_in(&self.doc.transact(), other) {
            r.insert("othersBy".into(), p.to_any());
        }
        r.insert("othersClient".into(), Any::from(other as f64));
        r.insert("othersText".into(), Any::from(hit.their_ins.as_str()));
        r.insert("othersDeleted".into(), Any::from(hit.their_del.as_str()));
        self.record_write(doc, body, hit.span, text, who, held, r)
    }

    /// Suggest replacing UTF-16 range `start..end` of document `doc` (as it is now) with
    /// `text`, with a `note` for the reviewer, as `who`. Nothing changes until a person
    /// accepts it (side 1, as for a held write) or rejects it (side 0); everyone sees the
    /// suggestion as a [`ConflictKind::Suggestion`] with its [`Proposal`]. Returns its id.
    pub fn suggest_edit(
        &mut self,
        doc: &str,
        start: u32,
        end: u32,
        text: &str,
        note: &str,
        who: &Participant,
    ) -> Result<String> {
        let body = self.document_ref_checked(doc)?;
        let len = self.document_text(doc)?.encode_utf16().count() as u32;
        check_range(doc, start, end, len)?;
        let mut r: HashMap<String, Any> = HashMap::new();
        r.insert("kind".into(), Any::from("suggestion"));
        r.insert("note".into(), Any::from(note));
        let done = self.record_write(doc, &body, (start, end), text, who, true, r)?;
        Ok(done.conflict.unwrap_or_default())
    }

    /// Apply `text` over `cs..ce` of `doc` unless `held`, and record the write (with the
    /// fields in `r`) so everyone sees it, held or applied, as a conflict to decide.
    #[allow(clippy::too_many_arguments)]
    fn record_write(
        &mut self,
        doc: &str,
        body: &TextRef,
        (cs, ce): (u32, u32),
        text: &str,
        who: &Participant,
        held: bool,
        mut r: HashMap<String, Any>,
    ) -> Result<BasedWrite> {
        let own = self.doc.client_id().get();
        let theirs: String = {
            let units: Vec<u16> = self.document_text(doc)?.encode_utf16().collect();
            String::from_utf16_lossy(&units[cs as usize..ce as usize])
        };
        let clock = self
            .doc
            .transact()
            .state_vector()
            .get(&yrs::ClientID::new(own));
        let id = format!("s{own:x}-{clock}");
        let new_end = if held {
            ce
        } else {
            self.replace_text(doc, cs, ce - cs, text)?;
            cs + text.encode_utf16().count() as u32
        };
        let mut txn = self.doc.transact_mut();
        let from = body
            .sticky_index(&txn, cs, yrs::Assoc::After)
            .map(|s| s.encode_v1());
        let to = body
            .sticky_index(&txn, new_end, yrs::Assoc::Before)
            .map(|s| s.encode_v1());
        r.insert("doc".into(), Any::from(doc));
        r.insert("held".into(), Any::Bool(held));
        if let (Some(from), Some(to)) = (from, to) {
            r.insert("from".into(), Any::from(from));
            r.insert("to".into(), Any::from(to));
        }
        r.insert("before".into(), Any::from(theirs.as_str()));
        r.insert("writerBy".into(), who.to_any());
        r.insert("writerClient".into(), Any::from(own as f64));
        r.insert("writerText".into(), Any::from(text));
        r.insert("writerAt".into(), Any::from(self.writer.now_ms as f64));
        if let Some(turn) = &self.writer.acting.0 {
            r.insert("writerTurn".into(), Any::from(turn.as_str()));
        }
        if let Some(model) = &self.writer.acting.1 {
            r.insert("writerModel".into(), Any::from(model.as_str()));
        }
        let records = txn.get_or_insert_map(RECORDS);
        records.insert(&mut txn, id.as_str(), Any::Map(Arc::new(r)));
        self.writer.note(&mut txn, own);
        Ok(BasedWrite {
            applied: !held,
            conflict: Some(id),
            start: cs,
            end: new_end,
        })
    }
}

/// What a stretch of the text since a base is.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Seg {
    Same,
    Added,
    Removed,
}

/// A stretch of the text since a base: its kind, its offset in the base text and in the
/// current text, its length in UTF-16 units (added text has no base length, removed text
/// no current length), who made the change, and the text.
#[derive(Debug)]
struct Segment {
    kind: Seg,
    base: u32,
    current: u32,
    len: u32,
    by: Option<u64>,
    text: String,
}

/// What a write over `start..end` of the base text meets: the span it covers in the
/// current text, and the changes others made there.
struct Collision {
    span: (u32, u32),
    others: Vec<u64>,
    their_ins: String,
    their_del: String,
}

/// Which segments a write over `start..end` of the base covers: base text overlapping
/// the range (for an insertion, removed text around its spot), text added strictly
/// inside, and text added at an edge right next to covered removed text (a replacement
/// of the range's first or last words lands beside their tombstones).
fn covered(segs: &[Segment], start: u32, end: u32) -> Vec<bool> {
    let mut covered: Vec<bool> = segs
        .iter()
        .map(|s| match s.kind {
            Seg::Same => s.base < end && s.base + s.len > start,
            Seg::Removed if start == end => s.base < start && start < s.base + s.len,
            Seg::Removed => s.base < end && s.base + s.len > start,
            Seg::Added => start < s.base && s.base < end,
        })
        .collect();
    for i in 0..segs.len() {
        let s = &segs[i];
        if s.kind != Seg::Added || covered[i] || (s.base != start && s.base != end) {
            continue;
        }
        let before = (0..i).rev().find(|&j| segs[j].kind != Seg::Added);
        let after = (i + 1..segs.len()).find(|&j| segs[j].kind != Seg::Added);
        let removed_and_covered =
            |j: Option<usize>| j.is_some_and(|j| segs[j].kind == Seg::Removed && covered[j]);
        if removed_and_covered(before) || removed_and_covered(after) {
            covered[i] = true;
        }
    }
    covered
}

/// The span of the current text a write over `start..end` of the base replaces, and
/// what others (not client `own`) changed inside it.
fn collide(segs: &[Segment], start: u32, end: u32, own: u64) -> Collision {
    let covered = covered(segs, start, end);
    let mut span: Option<(u32, u32)> = None;
    let mut hit = Collision {
        span: (0, 0),
        others: Vec::new(),
        their_ins: String::new(),
        their_del: String::new(),
    };
    for (s, _) in segs.iter().zip(&covered).filter(|(_, c)| **c) {
        let (lo, hi) = match s.kind {
            Seg::Same => (
                s.current + start.saturating_sub(s.base),
                s.current + s.len.min(end - s.base),
            ),
            Seg::Removed => (s.current, s.current),
            Seg::Added => (s.current, s.current + s.len),
        };
        span = Some(span.map_or((lo, hi), |(a, z)| (a.min(lo), z.max(hi))));
        match s.kind {
            Seg::Added if s.by != Some(own) => {
                hit.others.extend(s.by);
                hit.their_ins.push_str(&s.text);
            }
            Seg::Removed if s.by != Some(own) => {
                hit.others.push(s.by.unwrap_or(0));
                hit.their_del.push_str(&s.text);
            }
            _ => {}
        }
    }
    hit.span = span.unwrap_or_else(|| {
        let at = insertion_point(segs, start);
        (at, at)
    });
    hit
}

/// Where an insertion at base offset `start`, over text nobody changed, lands in the
/// current text.
fn insertion_point(segs: &[Segment], start: u32) -> u32 {
    let at_or_after = |s: &Segment| {
        if s.kind == Seg::Same {
            s.current + s.len
        } else {
            s.current
        }
    };
    segs.iter()
        .find(|s| s.kind != Seg::Added && s.base <= start && start < s.base + s.len)
        .map(|s| {
            if s.kind == Seg::Same {
                s.current + start - s.base
            } else {
                s.current
            }
        })
        .unwrap_or_else(|| {
            segs.iter()
                .rev()
                .find(|s| s.kind != Seg::Added)
                .map_or(0, at_or_after)
        })
}
