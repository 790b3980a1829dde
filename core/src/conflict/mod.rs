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
//! - **Suggestion** ([`ConflictKind::Suggestion`]): an edit proposed for review
//!   ([`RoomDoc::suggest_edit`], an agent's suggestion on a document, with its note), held
//!   like a stale write until a person accepts or rejects it.
//!
//! Detected conflicts are derived, never written; what is written is each resolution
//! (`resolutions[id]`), so a conflict is resolved once and everyone sees who chose what.

use std::collections::HashMap;

use serde::Serialize;
use yrs::{Any, Map, Out, Transact};

use crate::doc::causal::Epoch;
use crate::doc::read::get_str;
use crate::doc::{Participant, RoomDoc};
use crate::error::{Error, Result};
use crate::names::named_enum;

mod blame;
mod field;
mod resolve;
mod stale;
mod text;
mod watch;

pub use blame::BlameSpan;
pub use stale::{BasedWrite, DocumentRead};
pub(crate) use text::fnv_str;
pub use watch::{ConflictWatch, NoticeKind};

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
        /// An edit proposed for review, held until a person accepts or rejects it.
        Suggestion = "suggestion",
    }
}

named_enum! {
    /// Where a conflict stands.
    pub enum ConflictStatus {
        /// Waiting for someone to choose.
        Open = "open",
        /// Someone asked an agent to resolve it.
        AwaitingAgent = "awaiting-agent",
        /// An agent proposed a merge ([`Conflict::proposal`]); a person accepts it
        /// ([`Choice::Proposal`]) or rejects it ([`RoomDoc::reject_proposal`]).
        Proposed = "proposed",
        /// Resolved.
        Resolved = "resolved",
    }
}

named_enum! {
    /// A resolution choice.
    #[cfg_attr(feature = "ts", ts(rename = "ConflictChoice"))]
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
        /// Accept the merge an agent proposed.
        Proposal = "proposal",
    }
}

named_enum! {
    /// What happens to a write whose declared base is stale.
    pub enum StalePolicy {
        /// Hold it for a person to accept or reject (default).
        Hold = "hold",
        /// Apply it and record a conflict.
        Apply = "apply",
    }
}

/// One side of a conflict: who changed what.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictSide {
    /// Who made the change, when their client registered.
    pub author: Option<Participant>,
    /// The yrs client id behind the change.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ConflictResolution"))]
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

/// A merge an agent proposed for a conflict, held until a person accepts or rejects it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ConflictProposal"))]
pub struct Proposal {
    /// The merged text, for the stretch in conflict (`Conflict::current`).
    pub text: String,
    /// Why this merge: one paragraph for the person deciding.
    pub rationale: String,
    /// Who proposed it.
    pub by: Participant,
    /// When, ms since the Unix epoch.
    pub at: f64,
}

/// A conflict record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// The merge an agent proposed, while it waits for a person; for a suggestion, the
    /// suggested text and its note.
    pub proposal: Option<Proposal>,
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

/// Refuse UTF-16 range `start..end` of document `doc` unless it lies within `len` units.
fn check_range(doc: &str, start: u32, end: u32, len: u32) -> Result<()> {
    if start > end || end > len {
        return Err(Error::OutOfRange {
            target: doc.to_owned(),
            index: start,
            end: u64::from(end),
            len,
        });
    }
    Ok(())
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
            proposal: None,
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
            .unwrap_or(StalePolicy::Hold)
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
        self.conflicts_by(text::Walk::Filtered)
    }

    /// [`Self::conflicts`] found by scanning every change of every document, without
    /// the epochs' pre-filter: the oracle the tests hold the room's answer to.
    #[doc(hidden)]
    pub fn conflicts_by_full_walk(&mut self) -> Vec<Conflict> {
        self.conflicts_by(text::Walk::Full)
    }

    fn conflicts_by(&mut self, walk: text::Walk) -> Vec<Conflict> {
        // Which changes may meet another writer's: one reading of the epochs for every
        // document.
        let overlaps = self.overlaps();
        let mut out = Vec::new();
        for info in self.documents() {
            if let Ok((_, regions, pieces)) = self.text_regions_by(&info.id, walk, &overlaps) {
                for region in &regions {
                    out.push(self.text_conflict(&info.id, region, &pieces));
                }
            }
        }
        out.extend(self.field_conflicts());
        out.extend(self.stale_records());
        let resolutions = self.resolutions();
        for c in &mut out {
            if let Some(r) = resolutions.get(&c.id) {
                // A collision that grew after it was resolved (or handed to an agent)
                // is open again: the resolution did not see the newer changes.
                let grew = c
                    .reach
                    .iter()
                    .any(|(client, clock)| r.upto.get(client).is_some_and(|u| clock > u));
                if grew {
                    continue;
                }
                c.status = r.status;
                c.asked_by = r.asked_by.clone();
                c.proposal = r.proposal.clone();
                c.resolution = r.resolution.clone();
                if let Some(seen) = &r.seen {
                    seen.restore(c);
                }
            }
        }
        // A resolution's own edit can take its conflict out of the text (a separator
        // between the sides, a side removed): it is still listed, as its resolver saw it.
        let found: std::collections::HashSet<String> = out.iter().map(|c| c.id.clone()).collect();
        for (id, r) in &resolutions {
            let Some(seen) = r.seen.as_ref().filter(|_| !found.contains(id)) else {
                continue;
            };
            let len = self
                .document_text(&seen.doc)
                .map_or(0, |t| t.encode_utf16().count() as u32);
            let mut c = seen.conflict(id, len);
            c.status = r.status;
            c.asked_by = r.asked_by.clone();
            c.proposal = r.proposal.clone();
            c.resolution = r.resolution.clone();
            out.push(c);
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
}

#[cfg(test)]
mod tests;
