//! Blame: who wrote each stretch of a document's current text, with the agent turn and
//! model where recorded.

use serde::Serialize;

use super::check_range;
use crate::doc::{Participant, ParticipantKind, RoomDoc};
use crate::error::Result;

/// Who wrote a stretch of a document's current text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub client: Option<u64>,
    /// The agent turn it was written for, when recorded.
    pub turn: Option<String>,
    /// The agent's model, when recorded.
    pub model: Option<String>,
}

impl RoomDoc {
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
        check_range(doc, start, end, len)?;
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
