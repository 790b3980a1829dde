//! "Undo the agent's changes": anyone takes back what one agent turn wrote, in every
//! document it touched, as a new change of their own.
//!
//! Which ids a turn wrote is read from the writers' epochs (each records the turn its
//! writer was acting for), and what it deleted from the deletion records, so any
//! replica can revert any turn, not only the agent's own. Someone's edit made since
//! inside the turn's text is never dropped: that stretch is left as it is and raised
//! as a suggestion (a conflict with both sides) for a person to accept or reject.

use serde::Serialize;
use yrs::{Map, Transact};

use crate::doc::undo::{inverse_over, IdRange, IdRanges, SeqChar};
use crate::doc::{Participant, RoomDoc};
use crate::error::{Error, Result};

/// What [`RoomDoc::revert_turn`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnRevert {
    /// The documents it changed, or raised a suggestion in.
    pub documents: Vec<String>,
    /// The suggestions raised where someone changed the turn's words since: conflict
    /// ids, each with the revert as one side and the text as it is as the other.
    pub conflicts: Vec<String>,
}

/// What an agent turn changed in documents, for "Undo the agent's changes".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnEdits {
    /// The documents whose text it wrote or deleted, sorted.
    pub documents: Vec<String>,
    /// Who reverted it already, if anyone did (their name).
    pub reverted_by: Option<String>,
}

impl RoomDoc {
    /// Which documents agent turn `turn` changed, and who reverted it if anyone did:
    /// whether "Undo the agent's changes" has anything to do. It reads each document's
    /// kept item runs, not its text.
    pub fn turn_edits(&mut self, turn: &str) -> Result<TurnEdits> {
        let reverted_by = self.reverted_by(turn);
        let (wrote, deleted) = self.turn_writes(turn);
        let mut documents = Vec::new();
        if !wrote.is_empty() {
            let (wrote, deleted) = (IdRanges::new(&wrote), IdRanges::new(&deleted));
            for id in self.sorted_document_ids() {
                let touched = self.any_run(&id, |run| {
                    let end = run.clock + run.len;
                    wrote.overlaps(run.client, run.clock, end)
                        || (run.deleted && deleted.overlaps(run.client, run.clock, end))
                })?;
                if touched {
                    documents.push(id);
                }
            }
        }
        Ok(TurnEdits {
            documents,
            reverted_by,
        })
    }

    /// Who reverted agent turn `turn` first (their name), if anyone did.
    fn reverted_by(&mut self, turn: &str) -> Option<String> {
        self.epochs.refresh();
        let (client, _) = self.epochs.reverted(turn)?;
        let by = self.participant_in(&self.doc.transact(), client);
        Some(by.map_or_else(|| format!("client {client}"), |p| p.name))
    }

    /// Every document's id, in the same order on every replica and every run.
    fn sorted_document_ids(&self) -> Vec<String> {
        let txn = self.doc.transact();
        let mut ids: Vec<String> = self.documents.keys(&txn).map(str::to_owned).collect();
        ids.sort_unstable();
        ids
    }

    /// The ids agent turn `turn` wrote, and the ids it deleted.
    fn turn_writes(&self, turn: &str) -> (Vec<IdRange>, Vec<IdRange>) {
        let wrote = self.epochs.turn_ranges(turn);
        let turn_ids = IdRanges::new(&wrote);
        let txn = self.doc.transact();
        let deleted = crate::doc::record::deletion_records(&txn)
            .into_iter()
            .flat_map(|(client, ranges)| {
                ranges
                    .into_iter()
                    .filter(|&(_, _, by, tx)| tx.is_some_and(|tx| turn_ids.contains(by, tx)))
                    .map(move |(start, end, _, _)| (client, start, end))
            })
            .collect();
        (wrote, deleted)
    }

    /// Take back everything agent turn `turn` wrote to documents, as `who`'s change:
    /// its text goes, the text it deleted comes back, and edits others made since
    /// stay. Where someone edited inside the turn's text since, that stretch is raised
    /// as a suggestion instead of changed.
    pub fn revert_turn(&mut self, turn: &str, who: &Participant) -> Result<TurnRevert> {
        // Once only: a second revert would write the turn's deletions back twice.
        if let Some(by) = self.reverted_by(turn) {
            return Err(Error::TurnReverted {
                turn: turn.to_owned(),
                by,
            });
        }
        let (wrote, deleted) = self.turn_writes(turn);
        let turn_ids = IdRanges::new(&wrote);
        let deleted_ids = IdRanges::new(&deleted);
        let ids = self.sorted_document_ids();
        let mut done = TurnRevert::default();
        // Every write of the revert (its suggestions too) carries the turn it takes
        // back in its epoch: that is how any replica knows it was reverted.
        self.writer.reverting = Some(turn.to_owned());
        let outcome = (|| -> Result<()> {
            for id in ids {
                let plan = self.turn_plan(&id, &turn_ids, &deleted_ids)?;
                if plan.is_empty() {
                    continue;
                }
                // Contested stretches first, from the end, while their offsets hold.
                for (start, end, text) in plan.contested.iter().rev() {
                    let note = format!(
                        "Undo the agent's changes (turn {turn}): someone edited these words since"
                    );
                    done.conflicts
                        .push(self.suggest_edit(&id, *start, *end, text, &note, who)?);
                }
                // One step of its own in each document, for `who` to undo.
                self.stop_capturing(&id);
                self.apply_inverse(&id, plan.inverse)?;
                self.stop_capturing(&id);
                done.documents.push(id);
            }
            Ok(())
        })();
        self.writer.reverting = None;
        outcome?;
        if done.documents.is_empty() && wrote.is_empty() {
            return Err(Error::UnknownTurn(turn.to_owned()));
        }
        Ok(done)
    }

    /// What reverting the turn (ids `wrote`, deletions `deleted`) takes in document
    /// `id`: the plain inverse, and the stretches someone edited since, each with the
    /// text it would have without the turn.
    fn turn_plan(&mut self, id: &str, wrote: &IdRanges, deleted: &IdRanges) -> Result<TurnPlan> {
        let chars = self.sequence_chars(id)?;
        let turn_of = |c: &SeqChar| wrote.contains(c.client, c.clock);
        let since = |c: &SeqChar| self.written_after(c.client, c.clock, wrote);
        // A stretch is contested when, between two characters the turn wrote, someone
        // else's visible text sits that was written after the turn (words changed or
        // added inside the turn's text), and nothing that stood before the turn: two
        // places the turn wrote with older text between them are two runs, and an edit
        // in that older text is no one's conflict. Text of the turn that someone only
        // deleted since is no conflict either: the revert wants it gone too.
        let mut contested: Vec<(usize, usize)> = Vec::new();
        let mut last_turn: Option<usize> = None;
        for (i, c) in chars.iter().enumerate() {
            if !turn_of(c) {
                continue;
            }
            if let Some(prev) = last_turn {
                let visible: Vec<bool> = chars[prev + 1..i]
                    .iter()
                    .filter(|c| !c.deleted)
                    .map(&since)
                    .collect();
                let edited = !visible.is_empty() && visible.iter().all(|&s| s);
                if edited {
                    match contested.last_mut() {
                        Some((_, end)) if *end >= prev => *end = i + 1,
                        _ => contested.push((prev, i + 1)),
                    }
                }
            }
            last_turn = Some(i);
        }
        // A contested stretch is the whole run of the turn's text around the edit:
        // the words someone changed are read with the sentence they sit in.
        let part_of_run = |c: &SeqChar| turn_of(c) || (!c.deleted && since(c));
        for (s, e) in contested.iter_mut() {
            while *s > 0 && part_of_run(&chars[*s - 1]) {
                *s -= 1;
            }
            while *e < chars.len() && part_of_run(&chars[*e]) {
                *e += 1;
            }
        }
        contested.dedup_by(|next, prev| {
            let overlaps = next.0 <= prev.1;
            if overlaps {
                prev.1 = prev.1.max(next.1);
            }
            overlaps
        });
        // Offsets of each character in the visible text (a tombstone: where it sits).
        let mut offset = Vec::with_capacity(chars.len() + 1);
        let mut at = 0u32;
        for c in &chars {
            offset.push(at);
            if !c.deleted {
                at += c.ch.len_utf16() as u32;
            }
        }
        offset.push(at);
        let mut plan = TurnPlan::default();
        let mut free = vec![true; chars.len()];
        for &(s, e) in &contested {
            free[s..e].iter_mut().for_each(|f| *f = false);
            // The stretch as it would read without the turn: others' visible text, and
            // what the turn deleted there.
            let text: String = chars[s..e]
                .iter()
                .filter(|c| {
                    (!c.deleted && !turn_of(c))
                        || (c.deleted && deleted.contains(c.client, c.clock))
                })
                .map(|c| c.ch)
                .collect();
            plan.contested.push((offset[s], offset[e], text));
        }
        // The plain inverse over everything outside the contested stretches: the
        // turn's text goes, and what it deleted comes back unless it had written it.
        plan.inverse = inverse_over(
            &chars,
            |i, c| free[i] && turn_of(c),
            |i, c| free[i] && deleted.contains(c.client, c.clock) && !turn_of(c),
        );
        Ok(plan)
    }

    /// Whether `client`'s change at `clock` was made after its writer had seen some
    /// of the turn's writes (`wrote`): an edit made since the turn.
    fn written_after(&self, client: u64, clock: u32, wrote: &IdRanges) -> bool {
        if wrote.contains(client, clock) {
            return false;
        }
        self.epochs
            .at(client, clock)
            .is_some_and(|epoch| wrote.any_seen(|c| epoch.seen_of(c)))
    }
}

/// How a turn is reverted in one document.
#[derive(Debug, Default)]
struct TurnPlan {
    inverse: crate::doc::undo::Inverse,
    /// Start, end (UTF-16, as the text is now) and the text without the turn.
    contested: Vec<(u32, u32, String)>,
}

impl TurnPlan {
    fn is_empty(&self) -> bool {
        self.inverse.deletes.is_empty()
            && self.inverse.writes.is_empty()
            && self.contested.is_empty()
    }
}

#[cfg(test)]
#[path = "revert_tests.rs"]
mod tests;
