//! Undo and redo of this replica's own document edits.
//!
//! A step is what one burst of edits to one document wrote: the ids it inserted and
//! the ids it deleted. Undoing it is an ordinary edit made now, through the same path
//! as typing: it deletes what the step inserted and is still there, and writes again
//! the text the step deleted, where that text sits in the sequence. Nobody else's text
//! is touched, however the document changed since, and the undo is attributed, recorded
//! and checked like any edit. Its own writes make the step that redo replays.
//!
//! Edits within [`CAPTURE_MS`] of the last one join its step, as editors group typing;
//! an agent's edits within one turn are one step whatever the time between them.
//!
//! Each step keeps the selection it was made from (where this replica's caret was when
//! the step began) as positions relative to the text, and an undo hands it back
//! resolved, so the editor puts the caret where the undone edit was made. The redo step
//! an undo makes keeps the selection the undo was made from, as editors do.

use std::collections::HashMap;

use serde::Serialize;
use yrs::{Assoc, IndexedSequence, StickyIndex, Transact};

use crate::doc::RoomDoc;
use crate::error::Result;

/// Edits to a document closer together than this are one step.
pub const CAPTURE_MS: u64 = 500;

/// Steps kept per document and stack; the oldest go first.
const MAX_STEPS: usize = 500;

/// A range of one client's ids: client, first clock, end clock (exclusive).
pub(crate) type IdRange = (u64, u32, u32);

/// One id: client, clock.
pub(crate) type Id = (u64, u32);

/// What one step wrote to one document.
#[derive(Debug, Clone, Default)]
pub(super) struct Step {
    pub(super) inserted: Vec<IdRange>,
    pub(super) deleted: Vec<IdRange>,
    /// The agent turn it belongs to, if any.
    pub(super) turn: Option<String>,
    /// The selection it was made from, if this replica had a caret in the document.
    pub(super) selection: Option<StepSelection>,
    pub(super) last_ms: u64,
}

/// A selection's two ends, each kept just after the character before it: that holds
/// where an undo writes deleted text back (just before its tombstones), and where it
/// takes typed text out (the caret stays after the character it followed).
#[derive(Debug, Clone)]
pub(super) struct StepSelection {
    pub(super) anchor: StickyIndex,
    pub(super) head: StickyIndex,
}

/// Where this replica's caret is, as its presence publishes it (see
/// [`RoomDoc::note_caret`]).
#[derive(Debug, Clone)]
pub struct Caret {
    /// The document.
    pub document: String,
    /// Where the selection starts.
    pub anchor: StickyIndex,
    /// Where it ends.
    pub head: StickyIndex,
}

/// What an undo or redo did: the document, and where to put the selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Undone {
    /// The document changed.
    pub document: String,
    /// The selection the step was made from (UTF-16 offsets, as the text is now), for
    /// the editor to show; `None` when this replica had no caret in the document then.
    pub selection: Option<UndoSelection>,
}

/// A selection in a document's text (UTF-16 offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UndoSelection {
    /// Where the selection starts.
    pub anchor: u32,
    /// Where it ends (equal to `anchor` for a caret).
    pub head: u32,
}

/// Which stack the next local edit goes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Capture {
    /// A person's or agent's edit: the undo stack, and the redo stack is cleared.
    #[default]
    Edit,
    /// An undo's writes: one new step on the redo stack.
    Undoing,
    /// A redo's writes: one new step on the undo stack, the redo stack kept.
    Redoing,
}

/// One document's undo and redo stacks.
#[derive(Debug, Default)]
pub(super) struct Stacks {
    pub(super) undo: Vec<Step>,
    pub(super) redo: Vec<Step>,
    /// The next edit starts a new step even within the capture time.
    split: bool,
}

/// This replica's undo history, per document.
#[derive(Debug)]
pub(crate) struct History {
    /// Off for a replica nobody undoes on (a server's): edits are not kept.
    tracking: bool,
    docs: HashMap<String, Stacks>,
    capture: Capture,
    /// While undoing or redoing: whether its step was started yet.
    started: bool,
    /// Where this replica's caret is.
    caret: Option<Caret>,
    /// The selection for the step the next edit opens, taken before it (see
    /// [`RoomDoc::before_local_edit`]): the document and the selection.
    next_selection: Option<(String, StepSelection)>,
}

impl Default for History {
    fn default() -> Self {
        History {
            tracking: true,
            docs: HashMap::new(),
            capture: Capture::default(),
            started: false,
            caret: None,
            next_selection: None,
        }
    }
}

impl History {
    /// Keep what a local edit to `doc` wrote.
    pub(crate) fn record(
        &mut self,
        doc: &str,
        inserted: Option<IdRange>,
        deleted: Vec<IdRange>,
        turn: Option<&str>,
        now_ms: u64,
    ) {
        if !self.tracking || (inserted.is_none() && deleted.is_empty()) {
            return;
        }
        // Looked up before inserting: no new key (an allocation) on every keystroke.
        if !self.docs.contains_key(doc) {
            self.docs.insert(doc.to_owned(), Stacks::default());
        }
        let fresh = match self.capture {
            Capture::Edit => self.opens_step(doc, turn, now_ms),
            Capture::Undoing | Capture::Redoing => !self.started,
        };
        // The selection taken before this edit is for the step it opens in its document.
        let selection = match &self.next_selection {
            Some((d, _)) if d == doc => self.next_selection.take().map(|(_, s)| s),
            _ => None,
        };
        let Some(stacks) = self.docs.get_mut(doc) else {
            return;
        };
        let stack = match self.capture {
            Capture::Edit => {
                stacks.redo.clear();
                stacks.split = false;
                &mut stacks.undo
            }
            Capture::Undoing => &mut stacks.redo,
            Capture::Redoing => &mut stacks.undo,
        };
        self.started = true;
        if fresh || stack.is_empty() {
            stack.push(Step {
                turn: turn.map(str::to_owned),
                selection,
                ..Step::default()
            });
        }
        let step = stack.last_mut().expect("pushed above when empty");
        if let Some(range) = inserted {
            // Typing writes consecutive clocks: one range for the whole burst.
            match step.inserted.last_mut() {
                Some((c, _, end)) if *c == range.0 && *end == range.1 => *end = range.2,
                _ => step.inserted.push(range),
            }
        }
        step.deleted.extend(deleted);
        step.last_ms = now_ms;
        if stack.len() > MAX_STEPS {
            stack.remove(0);
        }
    }

    fn stacks(&self, doc: &str) -> Option<&Stacks> {
        self.docs.get(doc)
    }

    /// Drop a selection taken for a step no edit opened (the edit failed, or changed no
    /// document's text).
    pub(crate) fn drop_pending(&mut self) {
        self.next_selection = None;
    }

    /// Whether a local edit to `doc` now (for `turn`) opens a new step on the undo stack.
    fn opens_step(&self, doc: &str, turn: Option<&str>, now_ms: u64) -> bool {
        let Some(stacks) = self.docs.get(doc) else {
            return true;
        };
        stacks.split
            || !stacks
                .undo
                .last()
                .is_some_and(|top| match (&top.turn, turn) {
                    (Some(a), Some(b)) => a == b,
                    (None, None) => now_ms.saturating_sub(top.last_ms) < CAPTURE_MS,
                    _ => false,
                })
    }
}

impl RoomDoc {
    /// Take back this replica's last step in document `id`: what it inserted is
    /// deleted, what it deleted is written again, and everyone else's text stays.
    /// `None` when there is nothing to undo.
    pub fn undo(&mut self, id: &str) -> Result<Option<Undone>> {
        self.replay(id, Capture::Undoing)
    }

    /// Make again the step [`RoomDoc::undo`] last took back in document `id`. `None`
    /// when there is nothing to redo (any new edit clears what could be redone).
    pub fn redo(&mut self, id: &str) -> Result<Option<Undone>> {
        self.replay(id, Capture::Redoing)
    }

    /// Whether [`RoomDoc::undo`] has a step to take back in document `id`.
    pub fn can_undo(&self, id: &str) -> bool {
        self.undo_history
            .stacks(id)
            .is_some_and(|s| !s.undo.is_empty())
    }

    /// Whether [`RoomDoc::redo`] has a step to make again in document `id`.
    pub fn can_redo(&self, id: &str) -> bool {
        self.undo_history
            .stacks(id)
            .is_some_and(|s| !s.redo.is_empty())
    }

    /// Keep (`true`, the default) or stop keeping this replica's undo history. Off, edits
    /// are not recorded and what was kept is dropped: for a replica nobody undoes on.
    pub fn set_undo_tracking(&mut self, on: bool) {
        self.undo_history.tracking = on;
        if !on {
            self.undo_history.docs.clear();
        }
    }

    /// End the current step in document `id`: the next edit starts a new one, even
    /// within the capture time (an editor does this when the caret jumps).
    pub fn stop_capturing(&mut self, id: &str) {
        // A document with no steps yet opens one with its next edit anyway.
        if let Some(stacks) = self.undo_history.docs.get_mut(id) {
            stacks.split = true;
        }
    }

    /// Drop every step kept (this replica now acts for someone else).
    pub fn forget_undo_history(&mut self) {
        self.undo_history.docs.clear();
        self.undo_history.next_selection = None;
    }

    /// After a local edit: a selection taken for a step it did not open is dropped.
    pub(crate) fn after_local_edit(&mut self) {
        self.undo_history.drop_pending();
    }

    /// Where this replica's caret is now (`None`: nowhere). Each step keeps the
    /// selection it was made from, and an undo hands it back.
    pub fn note_caret(&mut self, caret: Option<Caret>) {
        self.undo_history.caret = caret;
        self.undo_history.next_selection = None;
    }

    /// Before a local edit (to document `id`, or to whichever the update touches): if
    /// it opens a new step, keep the selection it is made from for that step. Only the
    /// caret's document can have one; without a caret this costs nothing.
    pub(crate) fn before_local_edit(&mut self, id: Option<&str>) {
        let history = &self.undo_history;
        let Some(caret) = history.caret.as_ref() else {
            return;
        };
        if !history.tracking
            || history.capture != Capture::Edit
            || id.is_some_and(|id| id != caret.document)
            || !history.opens_step(
                &caret.document,
                self.writer.acting.0.as_deref(),
                self.writer.now_ms,
            )
        {
            return;
        }
        let doc = caret.document.clone();
        self.undo_history.next_selection = self.selection_now(&doc).map(|s| (doc, s));
    }

    /// The caret's selection in document `id` now, kept as a step keeps it.
    fn selection_now(&self, id: &str) -> Option<StepSelection> {
        let caret = self
            .undo_history
            .caret
            .as_ref()
            .filter(|c| c.document == id)?;
        let text = self.document_ref_checked(id).ok()?;
        let txn = self.doc.transact();
        let at = |s: &StickyIndex| s.get_offset(&txn).map(|o| o.index);
        let keep = |index: u32| text.sticky_index(&txn, index, Assoc::Before);
        Some(StepSelection {
            anchor: keep(at(&caret.anchor)?)?,
            head: keep(at(&caret.head)?)?,
        })
    }

    /// Where a step's selection is in the text now.
    fn resolve_selection(&self, selection: &StepSelection) -> Option<UndoSelection> {
        let txn = self.doc.transact();
        let at = |s: &StickyIndex| s.get_offset(&txn).map(|o| o.index);
        Some(UndoSelection {
            anchor: at(&selection.anchor)?,
            head: at(&selection.head)?,
        })
    }

    /// This replica's undo history as bytes, to keep across a reload (with offline
    /// persistence): the steps of every document, for `owner` (a participant id) alone.
    pub fn encode_undo_history(&self, owner: &str) -> Vec<u8> {
        super::undo_kept::encode(owner, &self.undo_history.docs)
    }

    /// Take in a history [`RoomDoc::encode_undo_history`] wrote, under the steps kept
    /// since: false (and nothing taken) when it is `owner`'s no longer (someone else
    /// uses this device). Bytes that are no such history are refused and change nothing.
    pub fn load_undo_history(&mut self, kept: &[u8], owner: &str) -> Result<bool> {
        let (whose, docs) = super::undo_kept::decode(kept)
            .map_err(|e| crate::error::Error::InvalidUndoHistory(e.to_string()))?;
        if whose != owner || !self.undo_history.tracking {
            return Ok(false);
        }
        for (doc, loaded) in docs {
            let stacks = self.undo_history.docs.entry(doc).or_default();
            let (undo, redo) = (
                std::mem::take(&mut stacks.undo),
                std::mem::take(&mut stacks.redo),
            );
            // A page that edited already has cleared what could be redone: it stays so.
            let untouched = undo.is_empty() && redo.is_empty();
            stacks.undo = loaded.undo.into_iter().chain(undo).collect();
            stacks.redo = if untouched { loaded.redo } else { redo };
            // A step from an earlier page is never joined by the next edit.
            stacks.split = true;
            let excess = stacks.undo.len().saturating_sub(MAX_STEPS);
            stacks.undo.drain(..excess);
        }
        Ok(true)
    }

    fn replay(&mut self, id: &str, capture: Capture) -> Result<Option<Undone>> {
        // A step whose every trace is gone already (others deleted what it wrote) has
        // nothing to take back: it is dropped, and the one below it is taken instead.
        let (inverse, selection) = loop {
            let Some(stacks) = self.undo_history.docs.get_mut(id) else {
                return Ok(None);
            };
            let stack = match capture {
                Capture::Undoing => &mut stacks.undo,
                _ => &mut stacks.redo,
            };
            let Some(step) = stack.pop() else {
                return Ok(None);
            };
            let inverse = self.inverse(id, &step)?;
            if !inverse.deletes.is_empty() || !inverse.writes.is_empty() {
                break (inverse, step.selection);
            }
        };
        // The step this makes (redo's, or undo's again) keeps the selection it is made from.
        self.undo_history.next_selection = self.selection_now(id).map(|s| (id.to_owned(), s));
        self.undo_history.capture = capture;
        self.undo_history.started = false;
        let outcome = self.apply_inverse(id, inverse);
        self.undo_history.capture = Capture::Edit;
        self.undo_history.started = false;
        self.undo_history.next_selection = None;
        if let Some(stacks) = self.undo_history.docs.get_mut(id) {
            stacks.split = true;
        }
        outcome?;
        Ok(Some(Undone {
            document: id.to_owned(),
            selection: selection.and_then(|s| self.resolve_selection(&s)),
        }))
    }

    /// Delete from the end of the text backwards, so each index still holds; then
    /// write each run again just before its tombstones, which do not move.
    pub(crate) fn apply_inverse(&mut self, id: &str, inverse: Inverse) -> Result<()> {
        for (index, len) in inverse.deletes.into_iter().rev() {
            self.edit_text(id, index, len, "")?;
        }
        for (origin, right, chunk) in inverse.writes {
            self.write_between(id, origin, right, &chunk)?;
        }
        Ok(())
    }

    /// Insert `chunk` into document `id` between the ids `origin` and `right` (which
    /// may be tombstones): where text that was deleted there stood.
    fn write_between(
        &mut self,
        id: &str,
        origin: Option<Id>,
        right: Id,
        chunk: &str,
    ) -> Result<()> {
        use yrs::updates::decoder::Decode;
        let own = self.doc.client_id().get();
        let root = crate::doc::schema::doc_text_name(id);
        let clock = {
            let mut txn = self.doc.transact_mut();
            let clock = txn.before_state().get(&yrs::ClientID::new(own));
            let update =
                crate::doc::position::insert_update(own, clock, origin, Some(right), &root, chunk);
            txn.apply_update(
                yrs::Update::decode_v1(&update)
                    .map_err(|e| crate::error::Error::malformed("undo write", e))?,
            )
            .map_err(|e| crate::error::Error::InvalidUpdate(e.to_string()))?;
            self.writer.note(&mut txn, own);
            clock
        };
        let end = clock + chunk.encode_utf16().count() as u32;
        let (turn, now_ms) = (self.writer.acting.0.clone(), self.writer.now_ms);
        self.undo_history.record(
            id,
            Some((own, clock, end)),
            Vec::new(),
            turn.as_deref(),
            now_ms,
        );
        Ok(())
    }

    /// What takes `step` back in document `id` now: each run of its insertions still
    /// visible, to delete (index and length, in text order); each run of its
    /// deletions, to write again between its left neighbour and itself (tombstones are
    /// kept, so their text is there).
    fn inverse(&mut self, id: &str, step: &Step) -> Result<Inverse> {
        let chars = self.sequence_chars(id)?;
        let (inserted, deleted) = (IdRanges::new(&step.inserted), IdRanges::new(&step.deleted));
        Ok(inverse_over(
            &chars,
            |_, c| inserted.contains(c.client, c.clock),
            // What the step deleted comes back, unless the step had written it too
            // (typed and erased within one step).
            |_, c| deleted.contains(c.client, c.clock) && !inserted.contains(c.client, c.clock),
        ))
    }

    /// Document `id`'s whole sequence, one entry per character, tombstones included.
    pub(crate) fn sequence_chars(&self, id: &str) -> Result<Vec<SeqChar>> {
        let text = self.document_ref_checked(id)?;
        let (items, _) = crate::doc::position::item_sequence(&self.doc, &text);
        let mut chars = Vec::new();
        for item in &items {
            let mut clock = item.clock;
            for ch in item.text.chars() {
                chars.push(SeqChar {
                    client: item.client,
                    clock,
                    ch,
                    deleted: item.deleted,
                });
                clock += ch.len_utf16() as u32;
            }
        }
        Ok(chars)
    }
}

/// One character of a text's item sequence: its id, and whether it is deleted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeqChar {
    pub(crate) client: u64,
    pub(crate) clock: u32,
    pub(crate) ch: char,
    pub(crate) deleted: bool,
}

/// The edits that delete each visible character `removes` picks (runs of index and
/// length, in text order) and write again each tombstone `restores` picks (runs, each
/// between its left neighbour and its first tombstone, which do not move). Both are
/// asked with the character's place in `chars`.
pub(crate) fn inverse_over(
    chars: &[SeqChar],
    removes: impl Fn(usize, &SeqChar) -> bool,
    restores: impl Fn(usize, &SeqChar) -> bool,
) -> Inverse {
    let mut inverse = Inverse::default();
    let mut at = 0u32;
    // The id just before the current one in the sequence, tombstones included, and
    // whether it was part of a run being written again.
    let mut prev: Option<Id> = None;
    let mut in_write = false;
    for (i, c) in chars.iter().enumerate() {
        let units = c.ch.len_utf16() as u32;
        let writes = c.deleted && restores(i, c);
        if writes {
            match inverse.writes.last_mut() {
                Some((_, _, chunk)) if in_write => chunk.push(c.ch),
                _ => inverse
                    .writes
                    .push((prev, (c.client, c.clock), c.ch.to_string())),
            }
        }
        in_write = writes;
        if !c.deleted {
            if removes(i, c) {
                match inverse.deletes.last_mut() {
                    Some((i, len)) if *i + *len == at => *len += units,
                    _ => inverse.deletes.push((at, units)),
                }
            }
            at += units;
        }
        // A character of more than one unit has the id of its last unit after it.
        prev = Some((c.client, c.clock + units - 1));
    }
    inverse
}

/// Id ranges to look ids up in: per client, sorted by start.
pub(crate) struct IdRanges(HashMap<u64, Vec<(u32, u32)>>);

impl IdRanges {
    pub(crate) fn new(ranges: &[IdRange]) -> Self {
        let mut by_client: HashMap<u64, Vec<(u32, u32)>> = HashMap::new();
        for &(client, start, end) in ranges {
            by_client.entry(client).or_default().push((start, end));
        }
        for list in by_client.values_mut() {
            // Sorted, and overlapping or touching ranges joined: one search per lookup.
            list.sort_unstable();
            let mut joined: Vec<(u32, u32)> = Vec::with_capacity(list.len());
            for &(start, end) in list.iter() {
                match joined.last_mut() {
                    Some((_, last)) if start <= *last => *last = (*last).max(end),
                    _ => joined.push((start, end)),
                }
            }
            *list = joined;
        }
        IdRanges(by_client)
    }

    /// Whether a writer who had seen `seen(client)` ticks of each client had seen the
    /// start of any of the ranges.
    pub(crate) fn any_seen(&self, seen: impl Fn(u64) -> u32) -> bool {
        self.0.iter().any(|(&client, list)| {
            let ticks = seen(client);
            list.iter().any(|&(start, _)| ticks > start)
        })
    }

    /// Whether any of `client`'s ids from `start` to `end` (exclusive) is in the ranges.
    pub(crate) fn overlaps(&self, client: u64, start: u32, end: u32) -> bool {
        let Some(list) = self.0.get(&client) else {
            return false;
        };
        let first = list.partition_point(|&(_, e)| e <= start);
        first < list.len() && list[first].0 < end
    }

    /// Whether `client`'s `clock` is in one of the ranges.
    pub(crate) fn contains(&self, client: u64, clock: u32) -> bool {
        let Some(list) = self.0.get(&client) else {
            return false;
        };
        let after = list.partition_point(|&(start, _)| start <= clock);
        after > 0 && clock < list[after - 1].1
    }
}

/// The edits that take a step back (see [`RoomDoc::inverse`]).
#[derive(Debug, Default)]
pub(crate) struct Inverse {
    /// Index and length of each visible run to delete, in text order.
    pub(crate) deletes: Vec<(u32, u32)>,
    /// Left neighbour, the first tombstone, and the text of each run to write again.
    pub(crate) writes: Vec<(Option<Id>, Id, String)>,
}

#[cfg(test)]
#[path = "undo_tests.rs"]
mod tests;
