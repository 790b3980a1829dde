//! Conflicts the CRDT merges silently, found and kept so a person can decide.
//!
//! Merging never fails, which is exactly the trouble: two people replace one sentence
//! and the room shows both replacements glued together; two writers set one field and
//! one value vanishes; an agent streams a rewrite over what a person typed after the
//! agent read the document. Confab finds these from the room document alone, so every
//! replica — each browser and the edge — reports the same conflicts with the same ids:
//!
//! - **Text** ([`ConflictKind::Text`]): two changes to one document, *concurrent* (neither
//!   writer had seen the other's change; see [`crate::doc::causal`]) and touching the same or
//!   an adjacent stretch at the document's [`Granularity`] (default: the same word). The
//!   scan runs over the document's full item sequence, deleted items included, which is
//!   identical on every replica, and judges closeness by what the left-hand writer could
//!   see; the conflict id is a hash of the two sides and their first colliding changes.
//! - **Field** ([`ConflictKind::Field`]): concurrent writes of different values to one
//!   tracked field (a document title, a message status, a context entry's text). Each
//!   tracked write is also logged, so the value the CRDT dropped is still there.
//! - **Stale base** ([`ConflictKind::Stale`]): a writer (typically an agent) declares the
//!   version it read ([`RoomDoc::read_document`]); if others changed the range it now
//!   overwrites since then, the write is held as a suggestion or applied with a record,
//!   by the document's [`StalePolicy`]. These records are written once by the writer.
//!
//! Detected conflicts are derived, never written; what is written is each resolution
//! (`resolutions[id]`), so a conflict is resolved once and everyone sees who chose what.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use yrs::types::text::{ChangeKind, YChange};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, IndexedSequence, Map, Out, ReadTxn, Snapshot, StickyIndex, Text, TextRef, Transact,
    WriteTxn,
};

use crate::doc::causal::Epoch;
use crate::doc::read::get_str;
use crate::doc::record::log_field;
use crate::doc::schema::{CONFLICTS as RECORDS, FIELD_LOG, RESOLUTIONS};
use crate::doc::{doc_text_name, Participant, ParticipantKind, RoomDoc};
use crate::error::{Error, Result};
use crate::names::named_enum;

/// How far (UTF-16 units of separating text) a scan looks for a colliding change.
const SCAN_LIMIT: u32 = 4096;

named_enum! {
    /// How close two concurrent text changes must be to count as a conflict.
    pub enum Granularity {
        /// Overlapping or directly adjacent characters.
        Char = "char",
        /// The same word: nothing but non-space characters between them (default).
        Word = "word",
        /// The same line.
        Line = "line",
    }
}

named_enum! {
    /// What collided.
    pub enum ConflictKind {
        /// Concurrent changes to one stretch of a document.
        Text = "text",
        /// Concurrent writes to one field.
        Field = "field",
        /// A write based on a version others had changed since.
        Stale = "stale",
    }
}

named_enum! {
    /// Where a conflict stands.
    pub enum ConflictStatus {
        /// Waiting for someone to choose.
        Open = "open",
        /// Someone asked an agent to resolve it.
        AwaitingAgent = "awaiting-agent",
        /// Resolved.
        Resolved = "resolved",
    }
}

named_enum! {
    /// A resolution choice.
    pub enum Choice {
        /// Keep the resolver's own side.
        Mine = "mine",
        /// Keep the other side.
        Theirs = "theirs",
        /// Keep the side numbered `side` (for someone who is neither side).
        Side = "side",
        /// Keep both sides' text.
        Both = "both",
        /// Replace the conflicting stretch with given text.
        Manual = "manual",
        /// Ask an agent to resolve it (any agent in the room may answer).
        Agent = "agent",
    }
}

named_enum! {
    /// What happens to a write whose declared base is stale.
    pub enum StalePolicy {
        /// Hold it as a suggestion a person accepts or rejects (default).
        Suggest = "suggest",
        /// Apply it and record a conflict.
        Apply = "apply",
    }
}

/// One side of a conflict: who changed what.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConflictSide {
    /// Who made the change, when their client registered.
    pub author: Option<Participant>,
    /// The yrs client id behind the change.
    pub client: u64,
    /// Text this side inserted (for a field: the value it wrote).
    pub inserted: String,
    /// Text this side deleted.
    pub deleted: String,
    /// When this side's change began, ms since the Unix epoch.
    pub at: f64,
    /// The agent turn it was made for, when known.
    pub turn: Option<String>,
    /// The agent's model, when known.
    pub model: Option<String>,
    /// True for the side that wrote from a stale base.
    pub stale: bool,
}

/// Who resolved a conflict, and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    /// The choice.
    pub choice: Choice,
    /// The side kept, for `mine`, `theirs` and `side`.
    pub side: Option<usize>,
    /// The text given, for `manual` (or an agent's answer).
    pub text: Option<String>,
    /// Who chose.
    pub by: Participant,
    /// When, ms since the Unix epoch.
    pub at: f64,
}

/// A conflict record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    /// Stable id, equal on every replica.
    pub id: String,
    /// What collided.
    pub kind: ConflictKind,
    /// The document, for text and stale conflicts.
    pub doc: Option<String>,
    /// The field (`root/id/key`), for field conflicts.
    pub field: Option<String>,
    /// Where the conflicting stretch is now: UTF-16 offsets into the document.
    pub start: u32,
    /// End of that stretch (exclusive).
    pub end: u32,
    /// The text both sides started from (for a field: empty).
    pub before: String,
    /// What the room shows there now.
    pub current: String,
    /// The two sides.
    pub sides: Vec<ConflictSide>,
    /// True when a side wrote from a stale base.
    pub stale: bool,
    /// True for a stale write held as a suggestion (not applied).
    pub held: bool,
    /// Open, awaiting an agent, or resolved.
    pub status: ConflictStatus,
    /// Who asked an agent, while awaiting one.
    pub asked_by: Option<Participant>,
    /// How it was resolved.
    pub resolution: Option<Resolution>,
    /// The latest side's time.
    pub at: f64,
    /// For text conflicts: each side's latest colliding change (client, clock). A
    /// resolution covers the changes up to these; later collisions reopen the conflict.
    #[serde(skip)]
    pub(crate) reach: Vec<(u64, u32)>,
}

impl ConflictSide {
    /// A side by `client` (acting as `author`) whose change began at `at` in `epoch`;
    /// its text is filled in by the caller.
    fn new(author: Option<Participant>, client: u64, at: f64, epoch: &Epoch) -> Self {
        ConflictSide {
            author,
            client,
            inserted: String::new(),
            deleted: String::new(),
            at,
            turn: epoch.turn.clone(),
            model: epoch.model.clone(),
            stale: false,
        }
    }
}

/// Order sides by time, then client: the same order on every replica.
fn by_time(sides: &mut [ConflictSide]) {
    sides.sort_by(|a, b| a.at.total_cmp(&b.at).then(a.client.cmp(&b.client)));
}

impl Conflict {
    /// An open conflict of `kind` between `sides`, dated by its latest side; the
    /// caller sets where it is and what it reads.
    fn open(id: String, kind: ConflictKind, sides: Vec<ConflictSide>) -> Self {
        Conflict {
            id,
            kind,
            doc: None,
            field: None,
            start: 0,
            end: 0,
            before: String::new(),
            current: String::new(),
            at: sides.iter().map(|s| s.at).fold(0.0, f64::max),
            sides,
            stale: false,
            held: false,
            status: ConflictStatus::Open,
            asked_by: None,
            resolution: None,
            reach: Vec::new(),
        }
    }

    /// Everyone with a side in this conflict.
    pub fn participants(&self) -> Vec<Participant> {
        let mut out: Vec<Participant> = Vec::new();
        for p in self.sides.iter().filter_map(|s| s.author.clone()) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }
}

/// The outcome of a write with a declared base.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
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

/// One stretch of a document's full item sequence (deleted items included), cut so
/// that every mark below holds for all of it.
#[derive(Debug, Clone)]
struct Piece {
    client: u64,
    clock: u32,
    units: Vec<u16>,
    deleted: bool,
    /// Deletions recorded by Confab clients: (deleter, its transaction clock).
    dels: Vec<(u64, u32)>,
}

impl Piece {
    fn text(&self) -> String {
        String::from_utf16_lossy(&self.units)
    }
}

/// A change with a known epoch, anchored on a piece.
#[derive(Clone)]
struct Mark {
    client: u64,
    clock: u32,
    epoch: Arc<Epoch>,
    insert: bool,
}

type Side = (u64, u32);

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

/// A region where two clients' concurrent changes collide: piece indices `lo..=hi`.
struct Region {
    clients: [u64; 2],
    lo: usize,
    hi: usize,
    /// For each piece of the region, its colliding marks with their side (0 or 1): the
    /// changes of either client that the other client's colliding changes had not seen.
    colliding: Vec<Vec<(usize, Mark)>>,
    /// Each side's earliest colliding change's epoch: what that side started from.
    first: [Arc<Epoch>; 2],
    /// Each side's lowest colliding clock (its own earlier changes are below it).
    lowest: [u32; 2],
}

impl Region {
    fn new(clients: [u64; 2], lo: usize, hi: usize, marks: &[Vec<Mark>]) -> Option<Self> {
        let of = |k: usize| -> Vec<&Mark> {
            marks[lo..=hi]
                .iter()
                .flatten()
                .filter(|m| m.client == clients[k])
                .collect()
        };
        let all = [of(0), of(1)];
        let colliding: Vec<Vec<(usize, Mark)>> = marks[lo..=hi]
            .iter()
            .map(|here| {
                here.iter()
                    .filter_map(|m| {
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

fn fnv(parts: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn fnv_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn is_boundary(granularity: Granularity, units: &[u16]) -> bool {
    match granularity {
        Granularity::Char => !units.is_empty(),
        Granularity::Word => {
            char::decode_utf16(units.iter().copied()).any(|c| c.is_ok_and(char::is_whitespace))
        }
        Granularity::Line => units.contains(&u16::from(b'\n')),
    }
}

pub(crate) fn any_text(any: &Any) -> String {
    match any {
        Any::String(s) => s.to_string(),
        Any::Null | Any::Undefined => String::new(),
        other => other.to_string(),
    }
}

fn participant_any(any: Option<&Any>) -> Option<Participant> {
    any.and_then(Participant::from_any)
}

fn num(record: &HashMap<String, Any>, key: &str) -> Option<f64> {
    match record.get(key) {
        Some(Any::Number(n)) => n.as_f64(),
        _ => None,
    }
}

fn string(record: &HashMap<String, Any>, key: &str) -> Option<String> {
    match record.get(key) {
        Some(Any::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

impl RoomDoc {
    /// The granularity conflicts in document `doc` are judged at.
    pub fn granularity(&self, doc: &str) -> Granularity {
        self.document_setting(doc, "granularity")
            .and_then(|s| Granularity::parse(&s))
            .unwrap_or(Granularity::Word)
    }

    /// What a stale write to document `doc` does.
    pub fn stale_policy(&self, doc: &str) -> StalePolicy {
        self.document_setting(doc, "stalePolicy")
            .and_then(|s| StalePolicy::parse(&s))
            .unwrap_or(StalePolicy::Suggest)
    }

    fn document_setting(&self, doc: &str, key: &str) -> Option<String> {
        let txn = self.doc.transact();
        match self.documents.get(&txn, doc)? {
            Out::YMap(m) => get_str(&m, &txn, key),
            _ => None,
        }
    }

    /// Set how close concurrent changes to `doc` must be to conflict (a room-wide
    /// setting: every replica judges alike).
    pub fn set_granularity(&mut self, doc: &str, granularity: Granularity) -> Result<()> {
        self.set_document_setting(doc, "granularity", granularity.as_str())
    }

    /// Set what a stale write to `doc` does.
    pub fn set_stale_policy(&mut self, doc: &str, policy: StalePolicy) -> Result<()> {
        self.set_document_setting(doc, "stalePolicy", policy.as_str())
    }

    fn set_document_setting(&mut self, doc: &str, key: &str, value: &str) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let Some(Out::YMap(m)) = self.documents.get(&txn, doc) else {
            return Err(Error::UnknownDocument(doc.to_owned()));
        };
        m.insert(&mut txn, key, value);
        Ok(())
    }

    /// Every conflict in the room: detected text and field conflicts and recorded
    /// stale writes, oldest first.
    pub fn conflicts(&mut self) -> Vec<Conflict> {
        self.epochs.refresh();
        let mut out = Vec::new();
        for info in self.documents() {
            if let Ok((_, regions, pieces)) = self.text_regions(&info.id) {
                for region in &regions {
                    out.push(self.text_conflict(&info.id, region, &pieces));
                }
            }
        }
        out.extend(self.field_conflicts());
        out.extend(self.stale_records());
        let resolutions = self.resolutions();
        for c in &mut out {
            if let Some((status, asked_by, resolution, upto)) = resolutions.get(&c.id) {
                // A collision that grew after it was resolved (or handed to an agent)
                // is open again: the resolution did not see the newer changes.
                let grew = c
                    .reach
                    .iter()
                    .any(|(client, clock)| upto.get(client).is_some_and(|u| clock > u));
                if grew {
                    continue;
                }
                c.status = *status;
                c.asked_by = asked_by.clone();
                c.resolution = resolution.clone();
            }
        }
        out.sort_by(|a, b| a.at.total_cmp(&b.at).then(a.id.cmp(&b.id)));
        out
    }

    /// One conflict by id.
    pub fn conflict(&mut self, id: &str) -> Result<Conflict> {
        self.conflicts()
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| Error::UnknownConflict(id.to_owned()))
    }

    /// Document `doc`'s full item sequence, cut at every point where a mark changes.
    fn pieces(&self, text: &TextRef) -> Vec<Piece> {
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

    fn marks(&self, piece: &Piece) -> Vec<Mark> {
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

    /// Find the colliding regions of document `doc`.
    #[allow(clippy::type_complexity)]
    fn text_regions(&mut self, doc: &str) -> Result<(Granularity, Vec<Region>, Vec<Piece>)> {
        let granularity = self.granularity(doc);
        let text = {
            let txn = self.doc.transact();
            txn.get_text(doc_text_name(doc).as_str())
                .ok_or_else(|| Error::UnknownDocument(doc.to_owned()))?
        };
        let pieces = self.pieces(&text);
        let marks: Vec<Vec<Mark>> = pieces.iter().map(|p| self.marks(p)).collect();
        // Only changes that are concurrent with something can collide: skip the scan
        // when no two marks anywhere are concurrent (the common case).
        let mut touches: BTreeMap<(u64, u64), Vec<(usize, usize)>> = BTreeMap::new();
        let mut touch = |m: &Mark, n: &Mark, i: usize, j: usize| {
            if !m.insert && !n.insert {
                return; // both deleted the same text: what each wanted happened
            }
            let (a, b) = (m.client, n.client);
            let key = if a <= b { (a, b) } else { (b, a) };
            touches.entry(key).or_default().push((i.min(j), i.max(j)));
        };
        for (i, here) in marks.iter().enumerate() {
            for (k, m) in here.iter().enumerate() {
                for n in &here[k + 1..] {
                    if m.concurrent(n) {
                        touch(m, n, i, i);
                    }
                }
                let mut scanned = 0u32;
                for (j, piece) in pieces.iter().enumerate().skip(i + 1) {
                    let theirs: Vec<&Mark> = marks[j].iter().filter(|n| m.concurrent(n)).collect();
                    for n in &theirs {
                        touch(m, n, i, j);
                    }
                    if marks[j].iter().any(|n| n.side() == m.side()) {
                        // More of the same change: it separates nothing.
                        scanned += piece.units.len() as u32;
                        if scanned > SCAN_LIMIT {
                            break;
                        }
                        continue;
                    }
                    if !theirs.is_empty() || !separates(m, piece) {
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
        for ((a, b), mut spans) in touches {
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
                    .filter_map(|(lo, hi)| Region::new([a, b], lo, hi, &marks)),
            );
        }
        Ok((granularity, regions, pieces))
    }

    fn text_conflict(&self, doc: &str, region: &Region, pieces: &[Piece]) -> Conflict {
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

    fn field_conflicts(&self) -> Vec<Conflict> {
        let txn = self.doc.transact();
        let Some(log) = txn.get_map(FIELD_LOG) else {
            return Vec::new();
        };
        // field → writes (client, clock, value, at)
        let mut writes: BTreeMap<String, Vec<(u64, u32, Any, f64)>> = BTreeMap::new();
        for (key, value) in log.iter(&txn) {
            let mut parts = key.splitn(3, ':');
            let (Some(c), Some(k), Some(field)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let (Ok(c), Ok(k)) = (c.parse::<u64>(), k.parse::<u32>()) else {
                continue;
            };
            let Out::Any(Any::Map(record)) = value else {
                continue;
            };
            let v = record.get("v").cloned().unwrap_or(Any::Null);
            let at = num(&record, "at").unwrap_or(0.0);
            writes
                .entry(field.to_owned())
                .or_default()
                .push((c, k, v, at));
        }
        drop(txn);
        let mut out = Vec::new();
        for (field, mut list) in writes {
            list.sort_by_key(|w| (w.0, w.1));
            for (x, a) in list.iter().enumerate() {
                for b in &list[x + 1..] {
                    if a.0 == b.0 || a.2 == b.2 {
                        continue;
                    }
                    let (Some(ea), Some(eb)) = (self.epochs.at(a.0, a.1), self.epochs.at(b.0, b.1))
                    else {
                        continue;
                    };
                    if ea.saw(b.0, b.1) || eb.saw(a.0, a.1) {
                        continue;
                    }
                    let side = |w: &(u64, u32, Any, f64), e: &Epoch| ConflictSide {
                        inserted: any_text(&w.2),
                        ..ConflictSide::new(self.participant_for_client(w.0), w.0, w.3, e)
                    };
                    let mut sides = vec![side(a, ea), side(b, eb)];
                    by_time(&mut sides);
                    let current = self
                        .read_field(&field)
                        .map(|v| any_text(&v))
                        .unwrap_or_default();
                    let id = format!(
                        "f{:016x}",
                        fnv(&[fnv_str(&field), a.0, u64::from(a.1), b.0, u64::from(b.1)])
                    );
                    out.push(Conflict {
                        field: Some(field.clone()),
                        current,
                        ..Conflict::open(id, ConflictKind::Field, sides)
                    });
                }
            }
        }
        out
    }

    fn read_field(&self, field: &str) -> Option<Any> {
        let mut parts = field.splitn(3, '/');
        let (root, id, key) = (parts.next()?, parts.next()?, parts.next()?);
        let txn = self.doc.transact();
        let Out::YMap(entry) = txn.get_map(root)?.get(&txn, id)? else {
            return None;
        };
        match entry.get(&txn, key)? {
            Out::Any(a) => Some(a),
            _ => None,
        }
    }

    /// Write a tracked field `root/id/key` (its entry must exist), logging the write.
    pub(crate) fn write_field(
        &mut self,
        root: &str,
        id: &str,
        key: &str,
        value: Any,
    ) -> Result<()> {
        let own = self.doc.client_id().get();
        let mut txn = self.doc.transact_mut();
        let entry = match txn.get_map(root).and_then(|m| m.get(&txn, id)) {
            Some(Out::YMap(m)) => m,
            _ => return Err(Error::UnknownField(format!("{root}/{id}/{key}"))),
        };
        entry.insert(&mut txn, key, value.clone());
        log_field(
            &mut txn,
            own,
            &format!("{root}/{id}/{key}"),
            value,
            self.writer.now_ms,
        );
        self.writer.note(&mut txn, own);
        Ok(())
    }

    #[allow(clippy::type_complexity)]
    fn resolutions(
        &self,
    ) -> HashMap<
        String,
        (
            ConflictStatus,
            Option<Participant>,
            Option<Resolution>,
            HashMap<u64, u32>,
        ),
    > {
        let txn = self.doc.transact();
        let Some(map) = txn.get_map(RESOLUTIONS) else {
            return HashMap::new();
        };
        map.iter(&txn)
            .filter_map(|(id, value)| {
                let Out::Any(Any::Map(r)) = value else {
                    return None;
                };
                let status = string(&r, "status").and_then(|s| ConflictStatus::parse(&s))?;
                let asked_by = participant_any(r.get("askedBy"));
                let resolution = match (
                    string(&r, "choice").and_then(|s| Choice::parse(&s)),
                    participant_any(r.get("by")),
                ) {
                    (Some(choice), Some(by)) => Some(Resolution {
                        choice,
                        side: num(&r, "side").map(|n| n as usize),
                        text: string(&r, "text"),
                        by,
                        at: num(&r, "at").unwrap_or(0.0),
                    }),
                    _ => None,
                };
                let mut upto = HashMap::new();
                if let Some(Any::Map(m)) = r.get("upto") {
                    for (k, v) in m.iter() {
                        if let (Ok(c), Any::Number(n)) = (k.parse::<u64>(), v) {
                            upto.insert(c, n.as_f64().unwrap_or(0.0) as u32);
                        }
                    }
                }
                Some((id.to_owned(), (status, asked_by, resolution, upto)))
            })
            .collect()
    }

    fn stale_records(&self) -> Vec<Conflict> {
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
            let sides = vec![side("others", false), side("writer", true)];
            out.push(Conflict {
                doc: Some(doc),
                start,
                end,
                before: string(&r, "before").unwrap_or_default(),
                current,
                at: sides[1].at, // when the stale write was made
                stale: true,
                held: matches!(r.get("held"), Some(Any::Bool(true))),
                ..Conflict::open(id.to_owned(), ConflictKind::Stale, sides)
            });
        }
        out
    }

    fn anchored_range<T: ReadTxn>(
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
        {
            // A base from another room (or made up) would name changes this replica
            // never had; reading the text at it would fail inside yrs.
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
        }
        let body = self.document_ref_checked(doc)?;
        let own = self.doc.client_id().get();
        let dels = deletion_records(&self.doc.transact());
        let chunks = {
            let mut txn = self.doc.transact_mut();
            let now = txn.snapshot();
            body.diff_range(&mut txn, Some(&now), Some(&base), YChange::identity)
        };
        // The text since `base` as segments: (kind, base offset, current offset, length
        // in UTF-16 units, who made the change, text). Added text has no base length,
        // removed text no current length.
        #[derive(PartialEq, Clone, Copy)]
        enum Seg {
            Same,
            Added,
            Removed,
        }
        type Segment<'a> = (Seg, u32, u32, u32, Option<u64>, &'a str);
        let mut segs: Vec<Segment> = Vec::new();
        let (mut b, mut c) = (0u32, 0u32);
        for chunk in &chunks {
            let Out::Any(Any::String(s)) = &chunk.insert else {
                continue;
            };
            let len = s.encode_utf16().count() as u32;
            match &chunk.ychange {
                Some(YChange {
                    kind: ChangeKind::Added,
                    id,
                }) => {
                    segs.push((Seg::Added, b, c, len, Some(id.client.get()), s));
                    c += len;
                }
                Some(YChange {
                    kind: ChangeKind::Removed,
                    id,
                }) => {
                    let deleter = dels.get(&id.client.get()).and_then(|rs| {
                        rs.iter()
                            .find(|r| r.0 <= id.clock && id.clock < r.1)
                            .map(|r| r.2)
                    });
                    segs.push((Seg::Removed, b, c, len, deleter, s));
                    b += len;
                }
                None => {
                    segs.push((Seg::Same, b, c, len, None, s));
                    b += len;
                    c += len;
                }
            }
        }
        if start > end || end > b {
            return Err(Error::OutOfRange {
                target: doc.to_owned(),
                index: start,
                end: u64::from(end),
                len: b,
            });
        }
        // Which segments the write covers: base text overlapping start..end (for an
        // insertion, removed text around its spot), text added strictly inside, and text
        // added at an edge right next to covered removed text (a replacement of the
        // range's first or last words lands beside their tombstones).
        let mut covered: Vec<bool> = segs
            .iter()
            .map(|&(kind, b0, _, len, _, _)| match kind {
                Seg::Same => b0 < end && b0 + len > start,
                Seg::Removed if start == end => b0 < start && start < b0 + len,
                Seg::Removed => b0 < end && b0 + len > start,
                Seg::Added => start < b0 && b0 < end,
            })
            .collect();
        for i in 0..segs.len() {
            let (kind, b0, ..) = segs[i];
            if kind != Seg::Added || covered[i] || (b0 != start && b0 != end) {
                continue;
            }
            let before = (0..i).rev().find(|&j| segs[j].0 != Seg::Added);
            let after = (i + 1..segs.len()).find(|&j| segs[j].0 != Seg::Added);
            let removed_and_covered =
                |j: Option<usize>| j.is_some_and(|j| segs[j].0 == Seg::Removed && covered[j]);
            if removed_and_covered(before) || removed_and_covered(after) {
                covered[i] = true;
            }
        }
        let mut span: Option<(u32, u32)> = None;
        let mut others: Vec<u64> = Vec::new();
        let (mut their_ins, mut their_del) = (String::new(), String::new());
        for (&(kind, b0, c0, len, who, s), _) in segs.iter().zip(&covered).filter(|(_, c)| **c) {
            let (lo, hi) = match kind {
                Seg::Same => (c0 + start.saturating_sub(b0), c0 + len.min(end - b0)),
                Seg::Removed => (c0, c0),
                Seg::Added => (c0, c0 + len),
            };
            span = Some(span.map_or((lo, hi), |(a, z)| (a.min(lo), z.max(hi))));
            match kind {
                Seg::Added if who != Some(own) => {
                    others.extend(who);
                    their_ins.push_str(s);
                }
                Seg::Removed if who != Some(own) => {
                    others.push(who.unwrap_or(0));
                    their_del.push_str(s);
                }
                _ => {}
            }
        }
        let (cs, ce) = span.unwrap_or_else(|| {
            // An insertion where nothing changed: the spot in the current text.
            let at = segs
                .iter()
                .find(|&&(kind, b0, _, len, _, _)| {
                    kind != Seg::Added && b0 <= start && start < b0 + len
                })
                .map(|&(kind, b0, c0, _, _, _)| {
                    if kind == Seg::Same {
                        c0 + start - b0
                    } else {
                        c0
                    }
                })
                .unwrap_or_else(|| {
                    segs.iter().rev().find(|seg| seg.0 != Seg::Added).map_or(
                        0,
                        |&(kind, _, c0, len, _, _)| if kind == Seg::Same { c0 + len } else { c0 },
                    )
                });
            (at, at)
        });
        if others.is_empty() {
            self.replace_text(doc, cs, ce - cs, text)?;
            return Ok(BasedWrite {
                applied: true,
                conflict: None,
                start: cs,
                end: cs + text.encode_utf16().count() as u32,
            });
        }
        let policy = self.stale_policy(doc);
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
        let held = policy == StalePolicy::Suggest;
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
        let other = others.first().copied().unwrap_or(0);
        let mut r: HashMap<String, Any> = HashMap::new();
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
        if let Some(p) = self.participant_in(&txn, other) {
            r.insert("othersBy".into(), p.to_any());
        }
        r.insert("othersClient".into(), Any::from(other as f64));
        r.insert("othersText".into(), Any::from(their_ins.as_str()));
        r.insert("othersDeleted".into(), Any::from(their_del.as_str()));
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

    /// Resolve conflict `id` as `who`. `side` picks a side for [`Choice::Side`]; `text`
    /// is the merged text for [`Choice::Manual`]. The change it makes is attributed to
    /// `who` like any edit, and the record keeps who chose what.
    pub fn resolve_conflict(
        &mut self,
        id: &str,
        choice: Choice,
        side: Option<usize>,
        text: Option<&str>,
        who: &Participant,
    ) -> Result<()> {
        let conflict = self.conflict(id)?;
        if conflict.status == ConflictStatus::Resolved {
            return Err(Error::AlreadyResolved(id.to_owned()));
        }
        let mine = conflict
            .sides
            .iter()
            .position(|s| s.author.as_ref().map(|p| &p.id) == Some(&who.id));
        let keep = match choice {
            Choice::Mine => Some(mine.ok_or_else(|| Error::NotASide(id.to_owned()))?),
            Choice::Theirs => Some(1 - mine.ok_or_else(|| Error::NotASide(id.to_owned()))?),
            Choice::Side => match side {
                Some(s) if s < conflict.sides.len() => Some(s),
                _ => return Err(Error::InvalidChoice("`side` must be 0 or 1".into())),
            },
            _ => None,
        };
        if choice == Choice::Manual && text.is_none() {
            return Err(Error::InvalidChoice(
                "a manual resolution needs `text`".into(),
            ));
        }
        let upto: HashMap<String, Any> = conflict
            .reach
            .iter()
            .map(|(c, k)| (c.to_string(), Any::from(f64::from(*k))))
            .collect();
        let upto = Any::Map(Arc::new(upto));
        if choice == Choice::Agent {
            let mut r = HashMap::new();
            r.insert("upto".to_owned(), upto);
            r.insert(
                "status".to_owned(),
                Any::from(ConflictStatus::AwaitingAgent.as_str()),
            );
            r.insert("askedBy".to_owned(), who.to_any());
            r.insert("at".to_owned(), Any::from(self.writer.now_ms as f64));
            let mut txn = self.doc.transact_mut();
            let map = txn.get_or_insert_map(RESOLUTIONS);
            map.insert(&mut txn, id, Any::Map(Arc::new(r)));
            return Ok(());
        }
        match conflict.kind {
            ConflictKind::Text => self.resolve_text(&conflict, choice, keep, text)?,
            ConflictKind::Field => {
                let field = conflict.field.clone().unwrap_or_default();
                let value = match (choice, keep) {
                    (Choice::Manual, _) => Some(text.unwrap_or_default().to_owned()),
                    (Choice::Both, _) => Some(
                        conflict
                            .sides
                            .iter()
                            .map(|s| s.inserted.as_str())
                            .collect::<Vec<_>>()
                            .join(" / "),
                    ),
                    (_, Some(k)) => Some(conflict.sides[k].inserted.clone()),
                    _ => None,
                };
                if let Some(value) = value {
                    let mut parts = field.splitn(3, '/');
                    let (root, entry, key) = (
                        parts.next().unwrap_or_default(),
                        parts.next().unwrap_or_default(),
                        parts.next().unwrap_or_default(),
                    );
                    self.write_field(root, entry, key, Any::from(value))?;
                }
            }
            ConflictKind::Stale => self.resolve_stale(&conflict, choice, keep, text)?,
        }
        let mut r = HashMap::new();
        r.insert("upto".to_owned(), upto);
        r.insert(
            "status".to_owned(),
            Any::from(ConflictStatus::Resolved.as_str()),
        );
        r.insert("choice".to_owned(), Any::from(choice.as_str()));
        if let Some(k) = keep {
            r.insert("side".to_owned(), Any::from(k as f64));
        }
        if let Some(t) = text {
            r.insert("text".to_owned(), Any::from(t));
        }
        r.insert("by".to_owned(), who.to_any());
        r.insert("at".to_owned(), Any::from(self.writer.now_ms as f64));
        if let Some(asked) = conflict.asked_by {
            r.insert("askedBy".to_owned(), asked.to_any());
        }
        let own = self.doc.client_id().get();
        let mut txn = self.doc.transact_mut();
        let map = txn.get_or_insert_map(RESOLUTIONS);
        map.insert(&mut txn, id, Any::Map(Arc::new(r)));
        self.writer.note(&mut txn, own);
        Ok(())
    }

    fn resolve_text(
        &mut self,
        conflict: &Conflict,
        choice: Choice,
        keep: Option<usize>,
        text: Option<&str>,
    ) -> Result<()> {
        let doc = conflict.doc.clone().unwrap_or_default();
        let (_, regions, pieces) = self.text_regions(&doc)?;
        let region = regions
            .iter()
            .find(|r| self.text_conflict(&doc, r, &pieces).id == conflict.id)
            .ok_or_else(|| Error::UnknownConflict(conflict.id.clone()))?;
        let start: u32 = pieces[..region.lo]
            .iter()
            .filter(|p| !p.deleted)
            .map(|p| p.units.len() as u32)
            .sum();
        let current: Vec<u16> = pieces[region.lo..=region.hi]
            .iter()
            .filter(|p| !p.deleted)
            .flat_map(|p| p.units.iter().copied())
            .collect();
        let wanted: Vec<u16> = match (choice, keep) {
            (Choice::Manual, _) => text.unwrap_or_default().encode_utf16().collect(),
            (Choice::Both, _) => current.clone(),
            (_, Some(k)) => {
                // Sides are sorted by time in the record; find the kept side's index.
                let kept = usize::from(region.clients[0] != conflict.sides[k].client);
                let dropped = 1 - kept;
                let mut out = Vec::new();
                for (piece, colliding) in
                    pieces[region.lo..=region.hi].iter().zip(&region.colliding)
                {
                    let by = |side: usize, insert: bool| {
                        colliding
                            .iter()
                            .any(|(k, m)| *k == side && m.insert == insert)
                    };
                    let deletions: Vec<usize> = colliding
                        .iter()
                        .filter(|(_, m)| !m.insert)
                        .map(|(k, _)| *k)
                        .collect();
                    let include = if by(dropped, true) || by(kept, false) {
                        false
                    } else if piece.deleted
                        && !piece.dels.is_empty()
                        && deletions.len() == piece.dels.len()
                        && deletions.iter().all(|k| *k == dropped)
                    {
                        true // only the dropped side deleted it: bring it back
                    } else {
                        !piece.deleted
                    };
                    if include {
                        out.extend_from_slice(&piece.units);
                    }
                }
                out
            }
            _ => current.clone(),
        };
        if wanted != current {
            let (from, to) = (
                String::from_utf16_lossy(&current),
                String::from_utf16_lossy(&wanted),
            );
            let (at, removed, inserted) = crate::doc::minimal_edit(&from, &to);
            self.replace_text(&doc, start + at, removed, &inserted)?;
        }
        Ok(())
    }

    fn resolve_stale(
        &mut self,
        conflict: &Conflict,
        choice: Choice,
        keep: Option<usize>,
        text: Option<&str>,
    ) -> Result<()> {
        let doc = conflict.doc.clone().unwrap_or_default();
        let writer = &conflict.sides[1].inserted;
        let theirs = &conflict.before;
        // Side 1 is the stale writer, side 0 everyone else.
        let wanted = match (choice, keep) {
            (Choice::Manual, _) => text.unwrap_or_default().to_owned(),
            (Choice::Both, _) => {
                if conflict.held {
                    format!("{}{}", conflict.current, writer)
                } else {
                    format!("{}{}", theirs, conflict.current)
                }
            }
            (_, Some(1)) => writer.clone(),
            (_, Some(_)) => {
                if conflict.held {
                    conflict.current.clone()
                } else {
                    theirs.clone()
                }
            }
            _ => conflict.current.clone(),
        };
        if wanted != conflict.current {
            self.replace_text(&doc, conflict.start, conflict.end - conflict.start, &wanted)?;
        }
        Ok(())
    }

    /// Set document `doc`'s title (a tracked field: concurrent renames conflict).
    pub fn set_document_title(&mut self, doc: &str, title: &str) -> Result<()> {
        if title.trim().is_empty() {
            return Err(Error::Empty("title"));
        }
        self.write_field("documents", doc, "title", Any::from(title))
    }

    /// Agents: attribute the next edits to `turn` (and `model`); `None` to stop.
    pub fn act_for(&mut self, turn: Option<&str>, model: Option<&str>) {
        self.writer.acting = (turn.map(str::to_owned), model.map(str::to_owned));
    }

    /// The time recorded with this replica's next changes.
    pub fn set_time(&mut self, now_ms: u64) {
        self.writer.now_ms = now_ms;
    }

    fn participant_in<T: ReadTxn>(&self, txn: &T, client: u64) -> Option<Participant> {
        let clients = txn.get_map("clients")?;
        match clients.get(txn, &client.to_string())? {
            Out::Any(a) => Participant::from_any(&a),
            _ => None,
        }
    }

    /// Who wrote each stretch of `doc`'s current text between UTF-16 offsets `start`
    /// and `end`, with the agent turn and model where recorded.
    pub fn blame(&mut self, doc: &str, start: u32, end: u32) -> Result<Vec<BlameSpan>> {
        self.epochs.refresh();
        let text = self.document_ref_checked(doc)?;
        let pieces = self.pieces(&text);
        let len: u32 = pieces
            .iter()
            .filter(|p| !p.deleted)
            .map(|p| p.units.len() as u32)
            .sum();
        if start > end || end > len {
            return Err(Error::OutOfRange {
                target: doc.to_owned(),
                index: start,
                end: u64::from(end),
                len,
            });
        }
        let names = self.clients_by_id();
        let mut out: Vec<BlameSpan> = Vec::new();
        let mut at = 0u32;
        let mut units: Vec<u16> = Vec::new();
        for piece in pieces.iter().filter(|p| !p.deleted) {
            let (from, to) = (at, at + piece.units.len() as u32);
            at = to;
            let (lo, hi) = (from.max(start), to.min(end));
            if lo >= hi {
                continue;
            }
            let slice = &piece.units[(lo - from) as usize..(hi - from) as usize];
            let epoch = self.epochs.at(piece.client, piece.clock);
            let author = names.get(&piece.client).cloned();
            let span = BlameSpan {
                text: String::new(),
                start: lo,
                end: hi,
                agent: author
                    .as_ref()
                    .is_some_and(|p| p.kind == ParticipantKind::Agent),
                author,
                client: Some(piece.client),
                turn: epoch.and_then(|e| e.turn.clone()),
                model: epoch.and_then(|e| e.model.clone()),
            };
            match out.last_mut() {
                Some(last)
                    if last.end == lo
                        && last.client == span.client
                        && last.turn == span.turn
                        && last.model == span.model =>
                {
                    last.end = hi;
                    units.extend_from_slice(slice);
                }
                _ => {
                    if let Some(last) = out.last_mut() {
                        last.text = String::from_utf16_lossy(&units);
                    }
                    units = slice.to_vec();
                    out.push(span);
                }
            }
        }
        if let Some(last) = out.last_mut() {
            last.text = String::from_utf16_lossy(&units);
        }
        Ok(out)
    }
}

/// Who wrote a stretch of a document's current text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlameSpan {
    /// The text.
    pub text: String,
    /// Where it starts (UTF-16 offset in the current text).
    pub start: u32,
    /// Where it ends (exclusive).
    pub end: u32,
    /// Who wrote it, when known.
    pub author: Option<Participant>,
    /// True when an agent wrote it.
    pub agent: bool,
    /// The yrs client id that wrote it.
    pub client: Option<u64>,
    /// The agent turn it was written for, when recorded.
    pub turn: Option<String>,
    /// The agent's model, when recorded.
    pub model: Option<String>,
}

/// Whether piece `p` separated mark `m` from what follows, as `m`'s writer saw it:
/// text it could see, or text written after it. Tombstones it knew about do not count.
fn separates(m: &Mark, p: &Piece) -> bool {
    if p.deleted && p.dels.is_empty() {
        return false; // deleted by a client that keeps no record: treat as old
    }
    !p.dels.iter().any(|&(by, tx)| m.knew(by, tx))
}

/// Deletions recorded with the deleter's transaction clock, by the client that wrote the
/// deleted items: (start, end, deleter, that clock), sorted. Records written before
/// those clocks were kept say nothing about concurrency: they are left out (their
/// items read as old tombstones).
pub(crate) fn deletion_records<T: ReadTxn>(txn: &T) -> HashMap<u64, Vec<(u32, u32, u64, u32)>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::sync_docs as sync;

    const TEXT: &str = "Revenue was $2.0B last year.\nCosts were flat.\n";

    fn ada() -> Participant {
        Participant::person("ada", "Ada")
    }

    fn bob() -> Participant {
        Participant::person("bob", "Bob")
    }

    fn bot() -> Participant {
        Participant::agent("bot", "Bot")
    }

    /// Two replicas (Ada on client 1, Bob on client 2) sharing document `d`.
    fn pair() -> Result<(RoomDoc, RoomDoc)> {
        let mut one = RoomDoc::new(1);
        let mut two = RoomDoc::new(2);
        one.register_client(1, &ada());
        two.register_client(2, &bob());
        one.set_time(1_000);
        two.set_time(2_000);
        one.create_document(Some("d"), "Report", 0)?;
        one.insert_text("d", 0, TEXT)?;
        sync(&one, &two);
        sync(&two, &one);
        Ok((one, two))
    }

    fn both_ways(one: &RoomDoc, two: &RoomDoc) {
        sync(one, two);
        sync(two, one);
    }

    fn at(doc: &RoomDoc, needle: &str) -> u32 {
        let text = doc.document_text("d").unwrap();
        let byte = text.find(needle).expect("needle in text");
        text[..byte].encode_utf16().count() as u32
    }

    fn ids(doc: &mut RoomDoc) -> Vec<String> {
        doc.conflicts().into_iter().map(|c| c.id).collect()
    }

    #[test]
    fn concurrent_replacements_of_one_span_conflict_alike_everywhere() -> Result<()> {
        let (mut one, mut two) = pair()?;
        let i = at(&one, "$2.0B");
        one.replace_text("d", i, 5, "$2.5B")?;
        two.replace_text("d", i, 5, "$3.2B")?;
        both_ways(&one, &two);
        let text = one.document_text("d")?;
        assert!(
            text.contains("$2.5B$3.2B") || text.contains("$3.2B$2.5B"),
            "{text}"
        );
        let found = one.conflicts();
        assert_eq!(found.len(), 1, "{found:#?}");
        let c = &found[0];
        assert_eq!(c.kind, ConflictKind::Text);
        assert_eq!(c.doc.as_deref(), Some("d"));
        assert_eq!(c.before, "$2.0B");
        assert_eq!(c.status, ConflictStatus::Open);
        let sides: Vec<(&str, &str, &str)> = c
            .sides
            .iter()
            .map(|s| {
                (
                    s.author.as_ref().map_or("?", |p| p.id.as_str()),
                    s.inserted.as_str(),
                    s.deleted.as_str(),
                )
            })
            .collect();
        assert_eq!(
            sides,
            [("ada", "$2.5B", "$2.0B"), ("bob", "$3.2B", "$2.0B")]
        );
        assert_eq!(c.current.len(), 10);
        let units: Vec<u16> = text.encode_utf16().collect();
        assert_eq!(
            String::from_utf16_lossy(&units[c.start as usize..c.end as usize]),
            c.current
        );
        assert_eq!(
            ids(&mut two),
            vec![c.id.clone()],
            "the same record on both replicas"
        );
        Ok(())
    }

    #[test]
    fn a_side_is_only_what_the_other_had_not_seen() -> Result<()> {
        // Ada writes the text and then edits it in one stretch (one epoch: she hears
        // nothing from Bob in between); Bob saw the text, not her edit.
        let mut one = RoomDoc::new(1);
        let mut two = RoomDoc::new(2);
        one.register_client(1, &ada());
        one.create_document(Some("d"), "Report", 0)?;
        one.insert_text("d", 0, TEXT)?;
        sync(&one, &two);
        two.register_client(2, &bob());
        let i = at(&one, "$2.0B");
        one.replace_text("d", i, 5, "$2.5B")?;
        two.replace_text("d", i, 5, "$3.2B")?;
        both_ways(&one, &two);
        let c = one.conflicts().remove(0);
        let sides: Vec<(&str, &str)> = c
            .sides
            .iter()
            .map(|s| (s.inserted.as_str(), s.deleted.as_str()))
            .collect();
        assert_eq!(sides, [("$2.5B", "$2.0B"), ("$3.2B", "$2.0B")]);
        assert_eq!(
            c.before, "$2.0B",
            "Ada's own earlier text is what both started from"
        );
        let bobs = c.sides.iter().position(|s| s.client == 2).unwrap();
        one.resolve_conflict(&c.id, Choice::Side, Some(bobs), None, &ada())?;
        assert_eq!(one.document_text("d")?, TEXT.replace("$2.0B", "$3.2B"));
        Ok(())
    }

    #[test]
    fn deleting_the_same_text_twice_is_no_conflict() -> Result<()> {
        let (mut one, mut two) = pair()?;
        one.delete_text("d", at(&one, " last year"), 10)?;
        two.delete_text("d", at(&two, " last year"), 10)?;
        both_ways(&one, &two);
        assert_eq!(one.document_text("d")?, TEXT.replace(" last year", ""));
        assert!(one.conflicts().is_empty());
        Ok(())
    }

    #[test]
    fn reading_an_old_version_on_one_replica_changes_no_conflict() -> Result<()> {
        // Ada types " again" in two steps with a version in between; Bob appends at the
        // same spot. Reading that version splits Ada's text on Bob's replica only.
        let mut one = RoomDoc::new(1);
        let mut two = RoomDoc::new(2);
        one.create_document(Some("d"), "D", 0)?;
        one.insert_text("d", 0, "Hello world")?;
        sync(&one, &two);
        one.insert_text("d", 11, " ag")?;
        let v = one.create_version("mid", &ada(), 1)?;
        one.insert_text("d", 14, "ain")?;
        two.insert_text("d", 11, "!!")?;
        both_ways(&one, &two);
        let before = ids(&mut two);
        assert_eq!(two.document_at(&v, "d")?, "Hello world ag");
        let found = two.conflicts();
        assert_eq!(
            found.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
            before
        );
        assert_eq!(found, one.conflicts());
        assert_eq!(found[0].sides[0].inserted, " again");
        Ok(())
    }

    #[test]
    fn a_collision_that_grows_after_its_resolution_opens_again() -> Result<()> {
        let (mut one, mut two) = pair()?;
        let i = at(&one, "$2.0B");
        one.replace_text("d", i, 5, "$2.5B")?;
        two.replace_text("d", i, 5, "$3.2B")?;
        both_ways(&one, &two);
        let id = one.conflicts()[0].id.clone();
        // Bob settles it while Ada, not yet synced, changes her figure again.
        two.resolve_conflict(&id, Choice::Manual, None, Some("$2.7B"), &bob())?;
        let mine = at(&one, "$2.5B");
        one.replace_text("d", mine, 5, "$2.6B")?;
        both_ways(&one, &two);
        let c = one.conflict(&id)?;
        assert_eq!(c.status, ConflictStatus::Open, "{:#?}", one.conflicts());
        assert_eq!(two.conflict(&id)?.status, ConflictStatus::Open);
        one.resolve_conflict(&id, Choice::Manual, None, Some("$2.6B"), &ada())?;
        both_ways(&one, &two);
        assert_eq!(two.conflict(&id)?.status, ConflictStatus::Resolved);
        assert_eq!(two.document_text("d")?, TEXT.replace("$2.0B", "$2.6B"));
        Ok(())
    }

    #[test]
    fn sequential_edits_and_distant_concurrent_edits_are_not_conflicts() -> Result<()> {
        let (mut one, mut two) = pair()?;
        // Sequential: Bob saw Ada's replacement before replacing it again.
        let i = at(&one, "$2.0B");
        one.replace_text("d", i, 5, "$2.5B")?;
        both_ways(&one, &two);
        two.replace_text("d", i, 5, "$3.2B")?;
        both_ways(&one, &two);
        // Concurrent, but in different paragraphs (lines).
        let c = at(&one, "flat");
        one.insert_text("d", 0, "Q3: ")?;
        two.replace_text("d", c, 4, "down")?;
        both_ways(&one, &two);
        assert_eq!(
            one.document_text("d")?,
            "Q3: Revenue was $3.2B last year.\nCosts were down.\n"
        );
        assert!(one.conflicts().is_empty(), "{:#?}", one.conflicts());
        assert!(two.conflicts().is_empty());
        Ok(())
    }

    #[test]
    fn granularity_decides_how_close_is_too_close() -> Result<()> {
        let (mut one, mut two) = pair()?;
        // Same line, different words.
        one.replace_text("d", at(&one, "Revenue"), 7, "Income")?;
        two.replace_text("d", at(&two, "last"), 4, "this")?;
        both_ways(&one, &two);
        assert_eq!(one.granularity("d"), Granularity::Word);
        assert!(one.conflicts().is_empty(), "different words do not collide");
        one.set_granularity("d", Granularity::Line)?;
        both_ways(&one, &two);
        let line = one.conflicts();
        assert_eq!(line.len(), 1, "the same line does");
        assert_eq!(ids(&mut two), [line[0].id.clone()]);
        one.set_granularity("d", Granularity::Char)?;
        both_ways(&one, &two);
        assert!(one.conflicts().is_empty());
        Ok(())
    }

    #[test]
    fn adjacent_insertions_and_edits_inside_a_deleted_span_conflict() -> Result<()> {
        // One spot: both insert right after "year".
        let (mut one, mut two) = pair()?;
        let i = at(&one, ".\nCosts");
        one.insert_text("d", i, " (audited)")?;
        two.insert_text("d", i, " (estimate)")?;
        both_ways(&one, &two);
        assert_eq!(one.conflicts().len(), 1);
        // A delete racing an edit inside it.
        let (mut one, mut two) = pair()?;
        let s = at(&one, "Costs");
        one.delete_text("d", s, 17)?; // "Costs were flat.\n"
        two.insert_text("d", at(&two, "flat"), "almost ")?;
        both_ways(&one, &two);
        assert_eq!(
            one.document_text("d")?,
            "Revenue was $2.0B last year.\nalmost "
        );
        let found = one.conflicts();
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].sides[0].deleted, "Costs were flat.\n");
        assert_eq!(found[0].sides[1].inserted, "almost ");
        assert_eq!(ids(&mut two), [found[0].id.clone()]);
        Ok(())
    }

    #[test]
    fn any_delivery_order_gives_the_same_conflicts() -> Result<()> {
        let (mut one, mut two) = pair()?;
        let mut three = RoomDoc::new(3);
        three.register_client(3, &bot());
        sync(&one, &three);
        let i = at(&one, "$2.0B");
        one.replace_text("d", i, 5, "$2.5B")?;
        two.replace_text("d", i, 5, "$3.2B")?;
        three.replace_text("d", i + 1, 3, "9.9")?;
        // Different orders: one ← three ← two, two ← one ← three, three ← two ← one.
        sync(&three, &one);
        sync(&two, &one);
        sync(&one, &two);
        sync(&three, &two);
        sync(&two, &three);
        sync(&one, &three);
        let reference = ids(&mut one);
        assert_eq!(
            reference.len(),
            3,
            "three pairs collide: {:#?}",
            one.conflicts()
        );
        assert_eq!(ids(&mut two), reference);
        assert_eq!(ids(&mut three), reference);
        Ok(())
    }

    #[test]
    fn resolving_keeps_a_side_once_and_says_who_chose() -> Result<()> {
        let (mut one, mut two) = pair()?;
        let i = at(&one, "$2.0B");
        one.replace_text("d", i, 5, "$2.5B")?;
        two.replace_text("d", i, 5, "$3.2B")?;
        both_ways(&one, &two);
        let id = one.conflicts()[0].id.clone();
        assert!(matches!(
            one.resolve_conflict(&id, Choice::Mine, None, None, &bot()),
            Err(Error::NotASide(_))
        ));
        assert!(matches!(
            one.resolve_conflict(&id, Choice::Manual, None, None, &ada()),
            Err(Error::InvalidChoice(_))
        ));
        two.set_time(5_000);
        two.resolve_conflict(&id, Choice::Theirs, None, None, &bob())?;
        both_ways(&one, &two);
        assert_eq!(one.document_text("d")?, TEXT.replace("$2.0B", "$2.5B"));
        let c = one.conflict(&id)?;
        assert_eq!(c.status, ConflictStatus::Resolved);
        let r = c.resolution.expect("a resolution");
        assert_eq!(
            (r.choice, r.side, r.by.id.as_str(), r.at),
            (Choice::Theirs, Some(0), "bob", 5_000.0)
        );
        assert!(matches!(
            one.resolve_conflict(&id, Choice::Mine, None, None, &ada()),
            Err(Error::AlreadyResolved(_))
        ));
        assert_eq!(
            one.conflicts().len(),
            1,
            "the resolution raised no new conflict"
        );
        Ok(())
    }

    #[test]
    fn keeping_the_side_that_edited_inside_a_deletion_restores_the_text() -> Result<()> {
        let (mut one, mut two) = pair()?;
        one.delete_text("d", at(&one, "Costs"), 17)?;
        two.insert_text("d", at(&two, "flat"), "almost ")?;
        both_ways(&one, &two);
        let id = one.conflicts()[0].id.clone();
        one.resolve_conflict(&id, Choice::Side, Some(1), None, &bot())?;
        assert_eq!(
            one.document_text("d")?,
            "Revenue was $2.0B last year.\nCosts were almost flat.\n"
        );
        Ok(())
    }

    #[test]
    fn both_manual_and_ask_the_agent() -> Result<()> {
        for choice in [Choice::Both, Choice::Manual, Choice::Agent] {
            let (mut one, mut two) = pair()?;
            let i = at(&one, "$2.0B");
            one.replace_text("d", i, 5, "$2.5B")?;
            two.replace_text("d", i, 5, "$3.2B")?;
            both_ways(&one, &two);
            let merged = one.document_text("d")?;
            let id = one.conflicts()[0].id.clone();
            one.resolve_conflict(&id, choice, None, Some("$2.5–3.2B"), &ada())?;
            both_ways(&one, &two);
            let c = two.conflict(&id)?;
            match choice {
                Choice::Both => {
                    assert_eq!(two.document_text("d")?, merged);
                    assert_eq!(c.status, ConflictStatus::Resolved);
                }
                Choice::Manual => {
                    assert_eq!(two.document_text("d")?, TEXT.replace("$2.0B", "$2.5–3.2B"));
                    assert_eq!(c.status, ConflictStatus::Resolved);
                }
                _ => {
                    assert_eq!(c.status, ConflictStatus::AwaitingAgent);
                    assert_eq!(c.asked_by, Some(ada()));
                    // Any agent answers with its merge.
                    let mut agent = RoomDoc::new(9);
                    agent.register_client(9, &bot());
                    sync(&two, &agent);
                    agent.resolve_conflict(
                        &id,
                        Choice::Manual,
                        None,
                        Some("$2.5B (est.)"),
                        &bot(),
                    )?;
                    sync(&agent, &one);
                    let done = one.conflict(&id)?;
                    assert_eq!(done.status, ConflictStatus::Resolved);
                    assert_eq!(done.asked_by, Some(ada()));
                    assert_eq!(done.resolution.map(|r| r.by), Some(bot()));
                    assert_eq!(
                        one.document_text("d")?,
                        TEXT.replace("$2.0B", "$2.5B (est.)")
                    );
                }
            }
        }
        Ok(())
    }

    #[test]
    fn concurrent_field_writes_keep_both_values() -> Result<()> {
        let (mut one, mut two) = pair()?;
        one.set_document_title("d", "Q3 report")?;
        two.set_document_title("d", "Annual report")?;
        both_ways(&one, &two);
        let kept = one.documents()[0].title.clone();
        assert_eq!(two.documents()[0].title, kept, "the CRDT kept one");
        let found = one.conflicts();
        assert_eq!(found.len(), 1);
        let c = &found[0];
        assert_eq!(
            (c.kind, c.field.as_deref()),
            (ConflictKind::Field, Some("documents/d/title"))
        );
        let values: Vec<&str> = c.sides.iter().map(|s| s.inserted.as_str()).collect();
        assert_eq!(
            values,
            ["Q3 report", "Annual report"],
            "the dropped value is kept"
        );
        assert_eq!(c.current, kept);
        assert_eq!(ids(&mut two), vec![c.id.clone()]);
        // Sequential renames are no conflict; the loser picks its own value back.
        let loser = if kept == "Q3 report" {
            (&mut two, bob())
        } else {
            (&mut one, ada())
        };
        loser
            .0
            .resolve_conflict(&c.id, Choice::Mine, None, None, &loser.1)?;
        both_ways(&one, &two);
        assert_ne!(one.documents()[0].title, kept);
        assert_eq!(one.conflicts().len(), 1);
        Ok(())
    }

    #[test]
    fn a_turn_finished_while_someone_stopped_it_and_two_context_edits_conflict() -> Result<()> {
        let (mut one, mut two) = pair()?;
        one.create_conversation(Some("c"), "Chat", &ada(), 0)?;
        let turn = one.open_turn("c", &bot(), crate::model::Role::Assistant, 1, 0)?;
        let draft = crate::model::context::ContextDraft {
            kind: crate::model::context::ContextKind::Decision,
            text: "Ship on Friday".into(),
            tags: vec![],
            refs: vec![],
        };
        let entry = one.propose_context(&draft, &ada(), 0)?;
        both_ways(&one, &two);
        one.finish_turn(&turn)?;
        two.request_stop(&turn, &bob(), 3)?;
        one.edit_context(&entry, "Ship on Monday")?;
        two.edit_context(&entry, "Ship next week")?;
        both_ways(&one, &two);
        let mut fields: Vec<(String, Vec<String>)> = one
            .conflicts()
            .into_iter()
            .map(|c| {
                (
                    c.field.unwrap_or_default(),
                    c.sides.into_iter().map(|s| s.inserted).collect(),
                )
            })
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                (
                    format!("context/{entry}/text"),
                    vec!["Ship on Monday".to_owned(), "Ship next week".to_owned()]
                ),
                (
                    format!("messages/{turn}/status"),
                    vec!["done".to_owned(), "stopped".to_owned()]
                ),
            ]
        );
        assert!(matches!(
            one.edit_context("nope", "x"),
            Err(Error::UnknownContextEntry(_))
        ));
        Ok(())
    }

    #[test]
    fn a_stale_agent_write_is_held_or_applied_by_policy() -> Result<()> {
        let (mut person, mut agent) = pair()?;
        agent.act_for(Some("turn-7"), Some("gpt-x"));
        let read = agent.read_document("d")?;
        let (s, e) = (0, 28); // "Revenue was $2.0B last year."
                              // The person edits inside that sentence after the agent read it.
        person.replace_text("d", at(&person, "2.0"), 3, "2.1")?;
        both_ways(&person, &agent);
        let out = agent.write_based("d", s, e, "Revenue grew to $2.5B.", &read.base, &bot())?;
        assert!(!out.applied, "held by the default policy");
        assert_eq!(agent.document_text("d")?, TEXT.replace("2.0", "2.1"));
        both_ways(&person, &agent);
        let c = person.conflict(out.conflict.as_deref().unwrap())?;
        assert!(c.stale && c.held);
        assert_eq!(c.kind, ConflictKind::Stale);
        assert_eq!(c.current, "Revenue was $2.1B last year.");
        assert_eq!(c.sides[1].inserted, "Revenue grew to $2.5B.");
        assert_eq!(
            (c.sides[1].turn.as_deref(), c.sides[1].model.as_deref()),
            (Some("turn-7"), Some("gpt-x"))
        );
        assert_eq!(c.sides[0].author, Some(ada()));
        assert_eq!(
            (c.sides[0].inserted.as_str(), c.sides[0].deleted.as_str()),
            ("2.1", "2.0")
        );
        // Accepting the suggestion applies it, attributed to whoever accepts.
        person.resolve_conflict(&c.id, Choice::Side, Some(1), None, &ada())?;
        assert_eq!(
            person.document_text("d")?,
            "Revenue grew to $2.5B.\nCosts were flat.\n"
        );

        // Policy "apply": written at once, with a record; "theirs" puts the person's back.
        let (mut person, mut agent) = pair()?;
        person.set_stale_policy("d", StalePolicy::Apply)?;
        let read = agent.read_document("d")?;
        person.replace_text("d", at(&person, "2.0"), 3, "2.1")?;
        both_ways(&person, &agent);
        let out = agent.write_based("d", 0, 28, "Revenue grew.", &read.base, &bot())?;
        assert!(out.applied);
        assert_eq!(
            agent.document_text("d")?,
            "Revenue grew.\nCosts were flat.\n"
        );
        agent.resolve_conflict(
            out.conflict.as_deref().unwrap(),
            Choice::Side,
            Some(0),
            None,
            &bot(),
        )?;
        assert_eq!(agent.document_text("d")?, TEXT.replace("2.0", "2.1"));
        Ok(())
    }

    #[test]
    fn a_replacement_at_the_edge_of_a_stale_range_is_seen_and_not_glued_on() -> Result<()> {
        let (mut person, mut agent) = pair()?;
        person.set_stale_policy("d", StalePolicy::Apply)?;
        both_ways(&person, &agent);
        let read = agent.read_document("d")?;
        // Ada replaces the last words of the sentence the agent will rewrite.
        person.replace_text("d", at(&person, "year."), 5, "quarter.")?;
        both_ways(&person, &agent);
        let out = agent.write_based("d", 0, 28, "Revenue grew.", &read.base, &bot())?;
        assert!(out.applied && out.conflict.is_some());
        assert_eq!(
            agent.document_text("d")?,
            "Revenue grew.\nCosts were flat.\n"
        );
        let c = agent.conflict(out.conflict.as_deref().unwrap())?;
        assert_eq!(c.before, "Revenue was $2.0B last quarter.");
        assert_eq!(
            (c.sides[0].inserted.as_str(), c.sides[0].deleted.as_str()),
            ("quarter.", "year.")
        );
        // A base from another room is refused, not a crash.
        let mut stranger = RoomDoc::new(77);
        stranger.create_document(Some("d"), "D", 0)?;
        stranger.insert_text("d", 0, "elsewhere")?;
        stranger.delete_text("d", 0, 4)?;
        let foreign = stranger.read_document("d")?;
        assert!(matches!(
            agent.write_based("d", 0, 1, "x", &foreign.base, &bot()),
            Err(Error::Malformed { .. })
        ));
        Ok(())
    }

    #[test]
    fn a_write_from_an_old_base_that_nobody_touched_maps_onto_the_current_text() -> Result<()> {
        let (mut person, mut agent) = pair()?;
        let read = agent.read_document("d")?;
        person.insert_text("d", 0, "Summary. ")?; // before the range: not a conflict
        both_ways(&person, &agent);
        let start = read.text.find("Costs").unwrap() as u32;
        let out = agent.write_based("d", start, start + 5, "Expenses", &read.base, &bot())?;
        assert_eq!((out.applied, out.conflict.as_deref()), (true, None));
        assert_eq!(
            agent.document_text("d")?,
            "Summary. Revenue was $2.0B last year.\nExpenses were flat.\n"
        );
        assert!(matches!(
            agent.write_based("d", 0, 999, "x", &read.base, &bot()),
            Err(Error::OutOfRange { .. })
        ));
        assert!(matches!(
            agent.write_based("d", 0, 1, "x", b"junk", &bot()),
            Err(Error::Malformed { .. })
        ));
        Ok(())
    }

    #[test]
    fn blame_names_people_and_agents_with_turn_and_model() -> Result<()> {
        let (mut one, mut two) = pair()?;
        let mut agent = RoomDoc::new(3);
        agent.register_client(3, &bot());
        sync(&one, &agent);
        agent.act_for(Some("turn-1"), Some("model-a"));
        agent.insert_text("d", 0, "Draft: ")?;
        agent.act_for(None, None);
        agent.insert_text("d", 0, ">")?;
        sync(&agent, &two);
        two.delete_text("d", at(&two, "Costs"), 6)?;
        sync(&two, &one);
        let spans = one.blame(
            "d",
            0,
            one.document_text("d")?.encode_utf16().count() as u32,
        )?;
        type Shape<'a> = (&'a str, &'a str, bool, Option<&'a str>, Option<&'a str>);
        let shape: Vec<Shape> = spans
            .iter()
            .map(|s| {
                (
                    s.text.as_str(),
                    s.author.as_ref().map_or("?", |p| p.id.as_str()),
                    s.agent,
                    s.turn.as_deref(),
                    s.model.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (">", "bot", true, None, None),
                ("Draft: ", "bot", true, Some("turn-1"), Some("model-a")),
                (
                    "Revenue was $2.0B last year.\nwere flat.\n",
                    "ada",
                    false,
                    None,
                    None
                ),
            ]
        );
        let middle = one.blame("d", 3, 10)?;
        assert_eq!(
            middle.iter().map(|b| b.text.as_str()).collect::<Vec<_>>(),
            ["aft: ", "Re"]
        );
        assert!(matches!(
            one.blame("d", 3, 999),
            Err(Error::OutOfRange { .. })
        ));
        Ok(())
    }
}
