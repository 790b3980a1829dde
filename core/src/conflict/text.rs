//! Text conflicts: two concurrent changes to the same or an adjacent stretch of a
//! document, found by one scan over the full item sequence (deleted items included),
//! which is identical on every replica.

use std::collections::HashMap;
use std::sync::Arc;

use yrs::{ReadTxn, TextRef, Transact};

use super::*;
use crate::doc::causal::Epoch;
use crate::doc::{doc_text_name, RoomDoc};
use crate::error::{Error, Result};

/// One stretch of a document's full item sequence (deleted items included), cut so
/// that every mark below holds for all of it.
#[derive(Debug, Clone)]
pub(super) struct Piece {
    pub(super) client: u64,
    pub(super) clock: u32,
    pub(super) units: Vec<u16>,
    pub(super) deleted: bool,
    /// Deletions recorded by Confab clients: (deleter, its transaction clock).
    pub(super) dels: Vec<(u64, u32)>,
}

impl Piece {
    fn text(&self) -> String {
        String::from_utf16_lossy(&self.units)
    }
}

/// A change with a known epoch, anchored on a piece.
#[derive(Clone)]
pub(super) struct Mark {
    pub(super) client: u64,
    pub(super) clock: u32,
    pub(super) epoch: Arc<Epoch>,
    pub(super) insert: bool,
}

pub(super) type Side = (u64, u32);

impl Mark {
    fn side(&self) -> Side {
        (self.client, self.epoch.start)
    }

    /// Whether the change at (`client`, `clock`) was known to this mark's writer.
    fn knew(&self, client: u64, clock: u32) -> bool {
        if client == self.client {
            clock < self.clock
        } else {
            self.epoch.saw(client, clock)
        }
    }

    fn concurrent(&self, other: &Mark) -> bool {
        self.client != other.client
            && !self.knew(other.client, other.clock)
            && !other.knew(self.client, self.clock)
    }
}

/// How [`RoomDoc::text_regions_by`] walks a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Walk {
    /// Skip the changes the epochs show concurrent with nothing (what the room uses).
    Filtered,
    /// Scan every change: the oracle the filtered walk is tested against.
    Full,
}

/// A region where two clients' concurrent changes collide: piece indices `lo..=hi`.
pub(super) struct Region {
    pub(super) clients: [u64; 2],
    pub(super) lo: usize,
    pub(super) hi: usize,
    /// For each piece of the region, its colliding marks with their side (0 or 1): the
    /// changes of either client that the other client's colliding changes had not seen.
    pub(super) colliding: Vec<Vec<(usize, Mark)>>,
    /// Each side's earliest colliding change's epoch: what that side started from.
    pub(super) first: [Arc<Epoch>; 2],
    /// Each side's lowest colliding clock (its own earlier changes are below it).
    pub(super) lowest: [u32; 2],
}

/// A collision: its two clients, the sides (client, epoch) that took part, and the
/// spans of pieces where they touched.
type Collision = ((u64, u64), Vec<Side>, Vec<(usize, usize)>);

/// Group touches into collisions: by the two clients, and by which of their changes met.
/// Two touches are one collision when they share a side (a client's change in one
/// epoch), directly or through others; so a later round of edits by the same two people,
/// each having seen the other's first round, is a collision of its own and not more of
/// the first one. Returns each collision's clients, its sides and its spans.
fn collisions(touches: &[(Side, Side, usize, usize)]) -> Vec<Collision> {
    // Linear lookups, no sorting or hashing: a document has few sides in touch, and
    // this keeps the client wasm small.
    let mut sides: Vec<Side> = Vec::new();
    let mut at = |s: Side| match sides.iter().position(|&x| x == s) {
        Some(i) => i,
        None => {
            sides.push(s);
            sides.len() - 1
        }
    };
    let ends: Vec<(usize, usize)> = touches.iter().map(|(m, n, ..)| (at(*m), at(*n))).collect();
    let mut parent: Vec<usize> = (0..sides.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(x, y) in &ends {
        let (x, y) = (root(&mut parent, x), root(&mut parent, y));
        parent[x.max(y)] = x.min(y);
    }
    let mut out: Vec<(usize, Collision)> = Vec::new();
    for (&(x, _), (m, n, lo, hi)) in ends.iter().zip(touches) {
        let pair = (m.0.min(n.0), m.0.max(n.0));
        let group = root(&mut parent, x);
        let k = match out.iter().position(|(g, c)| *g == group && c.0 == pair) {
            Some(k) => k,
            None => {
                let members = (0..sides.len())
                    .filter(|&i| {
                        let s = sides[i];
                        (s.0 == pair.0 || s.0 == pair.1) && root(&mut parent, i) == group
                    })
                    .map(|i| sides[i])
                    .collect();
                out.push((group, (pair, members, Vec::new())));
                out.len() - 1
            }
        };
        out[k].1 .2.push((*lo, *hi));
    }
    out.into_iter().map(|(_, c)| c).collect()
}

impl Region {
    fn new(
        clients: [u64; 2],
        sides: &[Side],
        lo: usize,
        hi: usize,
        marks: &[Vec<Mark>],
    ) -> Option<Self> {
        let ours = |m: &Mark| sides.contains(&m.side());
        let of = |k: usize| -> Vec<&Mark> {
            marks[lo..=hi]
                .iter()
                .flatten()
                .filter(|m| m.client == clients[k] && ours(m))
                .collect()
        };
        let all = [of(0), of(1)];
        let colliding: Vec<Vec<(usize, Mark)>> = marks[lo..=hi]
            .iter()
            .map(|here| {
                here.iter()
                    .filter_map(|m| {
                        // Any change of either client takes part that the other's
                        // changes in this collision had not seen (nor it them); a change
                        // from another round saw them, or they it.
                        let k = clients.iter().position(|&c| c == m.client)?;
                        all[1 - k]
                            .iter()
                            .any(|n| m.concurrent(n))
                            .then(|| (k, m.clone()))
                    })
                    .collect()
            })
            .collect();
        let first = |k: usize| {
            colliding
                .iter()
                .flatten()
                .filter(|(side, _)| *side == k)
                .min_by_key(|(_, m)| m.clock)
                .map(|(_, m)| (m.epoch.clone(), m.clock))
        };
        let ((e0, l0), (e1, l1)) = (first(0)?, first(1)?);
        Some(Region {
            clients,
            lo,
            hi,
            first: [e0, e1],
            lowest: [l0, l1],
            colliding,
        })
    }

    /// Whether side `k` knew the change at (`client`, `clock`) when it started.
    fn knew(&self, k: usize, client: u64, clock: u32) -> bool {
        if client == self.clients[k] {
            clock < self.lowest[k]
        } else {
            self.first[k].saw(client, clock)
        }
    }

    /// Whether both sides started from piece `p`'s text: both had seen it written and
    /// neither had seen it deleted.
    fn common(&self, p: &Piece) -> bool {
        let both = |client, clock| (0..2).all(|k| self.knew(k, client, clock));
        let knew_insert = (0..2).all(|k| self.knew(k, p.client, p.clock));
        let old_tombstone = p.deleted && p.dels.is_empty();
        knew_insert && !old_tombstone && !p.dels.iter().any(|&(by, tx)| both(by, tx))
    }
}

pub(super) fn fnv(parts: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

pub(crate) fn fnv_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub(super) fn is_boundary(granularity: Granularity, units: &[u16]) -> bool {
    match granularity {
        Granularity::Char => !units.is_empty(),
        Granularity::Word => {
            char::decode_utf16(units.iter().copied()).any(|c| c.is_ok_and(char::is_whitespace))
        }
        Granularity::Line => units.contains(&u16::from(b'\n')),
    }
}

/// Whether piece `p` separated mark `m` from what follows, as `m`'s writer saw it:
/// text it could see, or text written after it. Tombstones it knew about do not count.
pub(super) fn separates(m: &Mark, p: &Piece) -> bool {
    if p.deleted && p.dels.is_empty() {
        return false; // deleted by a client that keeps no record: treat as old
    }
    !p.dels.iter().any(|&(by, tx)| m.knew(by, tx))
}

/// Deletions recorded with the deleter's transaction clock, by the client that wrote the
/// deleted items: (start, end, deleter, that clock), sorted. Records written before
/// those clocks were kept say nothing about concurrency: they are left out (their
/// items read as old tombstones).
pub(super) fn deletion_records<T: ReadTxn>(txn: &T) -> HashMap<u64, Vec<(u32, u32, u64, u32)>> {
    crate::doc::record::deletion_records(txn)
        .into_iter()
        .map(|(client, ranges)| {
            let timed = ranges
                .into_iter()
                .filter_map(|(start, end, by, tx)| Some((start, end, by, tx?)))
                .collect();
            (client, timed)
        })
        .collect()
}

impl RoomDoc {
    /// Document `doc`'s full item sequence, cut at every point where a mark changes.
    pub(super) fn pieces(&self, text: &TextRef) -> Vec<Piece> {
        let (items, _) = crate::doc::position::item_sequence(&self.doc, text);
        let dels = deletion_records(&self.doc.transact());
        // Every clock where something about a client's text changes: where some writer's
        // view of it ended, where its epochs start, where deletions begin and end.
        let mut cuts: HashMap<u64, Vec<u32>> = self.epochs.horizons();
        for (client, ranges) in &dels {
            let c = cuts.entry(*client).or_default();
            for r in ranges {
                c.push(r.0);
                c.push(r.1);
            }
        }
        for (client, c) in cuts.iter_mut() {
            c.extend(self.epochs.starts(*client));
        }
        for c in cuts.values_mut() {
            c.sort_unstable();
            c.dedup();
        }
        let longest: HashMap<u64, u32> = dels
            .iter()
            .map(|(c, ranges)| (*c, ranges.iter().map(|r| r.1 - r.0).max().unwrap_or(0)))
            .collect();
        // yrs hands out one chunk per block, and blocks split differently on different
        // replicas (reading a version splits them locally): join contiguous runs of one
        // client first, so every replica cuts the same sequence at the same points.
        let mut runs: Vec<(u64, u32, Vec<u16>, bool)> = Vec::new();
        for item in items {
            let (client, clock, gone, s) = (item.client, item.clock, item.deleted, item.text);
            match runs.last_mut() {
                Some(run)
                    if run.0 == client
                        && run.3 == gone
                        && run.1.checked_add(run.2.len() as u32) == Some(clock) =>
                {
                    run.2.extend(s.encode_utf16())
                }
                _ => runs.push((client, clock, s.encode_utf16().collect(), gone)),
            }
        }
        let mut out = Vec::new();
        for (client, clock, units, gone) in runs {
            let end = clock + units.len() as u32;
            let points: &[u32] = match cuts.get(&client) {
                Some(c) => {
                    let lo = c.partition_point(|&p| p <= clock);
                    let hi = c.partition_point(|&p| p < end);
                    &c[lo..hi.max(lo)]
                }
                None => &[],
            };
            let mut from = clock;
            for &to in points.iter().chain(std::iter::once(&end)) {
                // Ranges are sorted by start; one covering `from` starts at most the
                // longest range's length before it.
                let piece_dels = dels
                    .get(&client)
                    .map(|ranges| {
                        let upto = ranges.partition_point(|r| r.0 <= from);
                        let reach = longest.get(&client).copied().unwrap_or(0);
                        ranges[..upto]
                            .iter()
                            .rev()
                            .take_while(|r| r.0 + reach > from)
                            .filter(|r| from < r.1)
                            .map(|r| (r.2, r.3))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                out.push(Piece {
                    client,
                    clock: from,
                    units: units[(from - clock) as usize..(to - clock) as usize].to_vec(),
                    deleted: gone,
                    dels: piece_dels,
                });
                from = to;
            }
        }
        out
    }

    pub(super) fn marks(&self, piece: &Piece) -> Vec<Mark> {
        let mut out = Vec::new();
        if let Some(epoch) = self.epochs.at(piece.client, piece.clock) {
            out.push(Mark {
                client: piece.client,
                clock: piece.clock,
                epoch: epoch.clone(),
                insert: true,
            });
        }
        for &(by, tx) in &piece.dels {
            if let Some(epoch) = self.epochs.at(by, tx) {
                out.push(Mark {
                    client: by,
                    clock: tx,
                    epoch: epoch.clone(),
                    insert: false,
                });
            }
        }
        out
    }

    /// Which changes may be concurrent with another client's, from the epochs as they
    /// stand and every client's next clock.
    pub(super) fn overlaps(&mut self) -> crate::doc::causal::Overlaps {
        self.epochs.refresh();
        let clocks: HashMap<u64, u32> = self
            .doc
            .transact()
            .state_vector()
            .iter()
            .map(|(c, &n)| (c.get(), n))
            .collect();
        self.epochs.overlaps(&clocks)
    }

    /// Find the colliding regions of document `doc`.
    #[allow(clippy::type_complexity)]
    pub(super) fn text_regions(
        &mut self,
        doc: &str,
    ) -> Result<(Granularity, Vec<Region>, Vec<Piece>)> {
        let overlaps = self.overlaps();
        self.text_regions_by(doc, Walk::Filtered, &overlaps)
    }

    /// [`Self::text_regions`], with the epoch pre-filter or (`Walk::Full`, the tests'
    /// oracle) scanning every change.
    #[allow(clippy::type_complexity)]
    pub(super) fn text_regions_by(
        &mut self,
        doc: &str,
        walk: Walk,
        overlaps: &crate::doc::causal::Overlaps,
    ) -> Result<(Granularity, Vec<Region>, Vec<Piece>)> {
        let granularity = self.granularity(doc);
        let text = {
            let txn = self.doc.transact();
            txn.get_text(doc_text_name(doc).as_str())
                .ok_or_else(|| Error::UnknownDocument(doc.to_owned()))?
        };
        // Only changes that are concurrent with something can collide: when the epochs
        // say no two changes anywhere can be (people taking turns, one writer), there
        // is nothing to read; otherwise only changes that may meet another are scanned.
        let full = walk == Walk::Full;
        if !full && !overlaps.any() {
            return Ok((granularity, Vec::new(), Vec::new()));
        }
        let pieces = self.pieces(&text);
        let marks: Vec<Vec<Mark>> = pieces.iter().map(|p| self.marks(p)).collect();
        let mut touches: Vec<(Side, Side, usize, usize)> = Vec::new();
        let mut touch = |m: &Mark, n: &Mark, i: usize, j: usize| {
            if !m.insert && !n.insert {
                return; // both deleted the same text: what each wanted happened
            }
            touches.push((m.side(), n.side(), i.min(j), i.max(j)));
        };
        for (i, here) in marks.iter().enumerate() {
            for (k, m) in here.iter().enumerate() {
                if !full && !overlaps.may_meet(m.client, m.clock, &m.epoch) {
                    continue; // no change of anyone else's could be concurrent with it
                }
                for n in &here[k + 1..] {
                    if m.concurrent(n) {
                        touch(m, n, i, i);
                    }
                }
                let mut scanned = 0u32;
                for (j, piece) in pieces.iter().enumerate().skip(i + 1) {
                    let mut met = false;
                    for n in marks[j].iter().filter(|n| m.concurrent(n)) {
                        touch(m, n, i, j);
                        met = true;
                    }
                    if marks[j].iter().any(|n| n.side() == m.side()) {
                        // More of the same change: it separates nothing.
                        scanned += piece.units.len() as u32;
                        if scanned > SCAN_LIMIT {
                            break;
                        }
                        continue;
                    }
                    if met || !separates(m, piece) {
                        continue;
                    }
                    if is_boundary(granularity, &piece.units) {
                        break;
                    }
                    scanned += piece.units.len() as u32;
                    if scanned > SCAN_LIMIT {
                        break;
                    }
                }
            }
        }
        let mut regions = Vec::new();
        for ((a, b), sides, mut spans) in collisions(&touches) {
            spans.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::new();
            for (lo, hi) in spans {
                match merged.last_mut() {
                    Some(last) if lo <= last.1 + 1 => last.1 = last.1.max(hi),
                    _ => merged.push((lo, hi)),
                }
            }
            // A deletion is one change: a region that takes part of it takes all of it
            // (so keeping the side that did not delete restores the whole stretch).
            let shares = |i: usize, j: usize| {
                marks[i].iter().any(|m| {
                    !m.insert
                        && marks[j]
                            .iter()
                            .any(|n| !n.insert && n.client == m.client && n.clock == m.clock)
                })
            };
            let mut grown: Vec<(usize, usize)> = Vec::new();
            for (mut lo, mut hi) in merged {
                while lo > 0 && shares(lo, lo - 1) {
                    lo -= 1;
                }
                while hi + 1 < marks.len() && shares(hi, hi + 1) {
                    hi += 1;
                }
                match grown.last_mut() {
                    Some(last) if lo <= last.1 + 1 => last.1 = last.1.max(hi),
                    _ => grown.push((lo, hi)),
                }
            }
            regions.extend(
                grown
                    .into_iter()
                    .filter_map(|(lo, hi)| Region::new([a, b], &sides, lo, hi, &marks)),
            );
        }
        Ok((granularity, regions, pieces))
    }

    pub(super) fn text_conflict(&self, doc: &str, region: &Region, pieces: &[Piece]) -> Conflict {
        let start: u32 = pieces[..region.lo]
            .iter()
            .filter(|p| !p.deleted)
            .map(|p| p.units.len() as u32)
            .sum();
        let mut current = Vec::new();
        let mut before = Vec::new();
        let mut sides: Vec<ConflictSide> = Vec::new();
        let mut firsts = [u32::MAX; 2];
        for (k, client) in region.clients.iter().enumerate() {
            let epoch = &region.first[k];
            sides.push(ConflictSide::new(
                self.participant_for_client(*client),
                *client,
                epoch.at,
                epoch,
            ));
        }
        let mut lasts = [0u32; 2];
        for (piece, colliding) in pieces[region.lo..=region.hi].iter().zip(&region.colliding) {
            for (k, m) in colliding {
                firsts[*k] = firsts[*k].min(m.clock);
                // The last clock a change reaches, whatever the pieces' cuts.
                let last = if m.insert {
                    m.clock + (piece.units.len() as u32).saturating_sub(1)
                } else {
                    m.clock
                };
                lasts[*k] = lasts[*k].max(last);
                let text = piece.text();
                if m.insert {
                    sides[*k].inserted.push_str(&text);
                } else {
                    sides[*k].deleted.push_str(&text);
                }
            }
            let inserted_by_side = colliding.iter().any(|(_, m)| m.insert);
            if !inserted_by_side && region.common(piece) {
                before.extend_from_slice(&piece.units);
            }
            if !piece.deleted {
                current.extend_from_slice(&piece.units);
            }
        }
        let id = format!(
            "t{:016x}",
            fnv(&[
                fnv_str(doc),
                region.clients[0],
                u64::from(firsts[0]),
                region.clients[1],
                u64::from(firsts[1]),
            ])
        );
        by_time(&mut sides);
        Conflict {
            doc: Some(doc.to_owned()),
            start,
            end: start + current.len() as u32,
            before: String::from_utf16_lossy(&before),
            current: String::from_utf16_lossy(&current),
            reach: vec![(region.clients[0], lasts[0]), (region.clients[1], lasts[1])],
            ..Conflict::open(id, ConflictKind::Text, sides)
        }
    }
}
