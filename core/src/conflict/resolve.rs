//! Resolving a conflict: each resolution is written once, so everyone sees who chose
//! what; a text resolution is a new attributed change.

use std::collections::HashMap;
use std::sync::Arc;

use yrs::{Any, Map, Out, ReadTxn, Transact, WriteTxn};

use super::*;
use crate::doc::schema::RESOLUTIONS;
use crate::doc::{Participant, RoomDoc};
use crate::error::{Error, Result};

impl RoomDoc {
    /// Every conflict's recorded resolution (or request for an agent), by id.
    pub(super) fn resolutions(&self) -> HashMap<String, Recorded> {
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
                let proposal = match (string(&r, "proposal"), participant_any(r.get("proposedBy")))
                {
                    (Some(text), Some(by)) => Some(Proposal {
                        text,
                        rationale: string(&r, "rationale").unwrap_or_default(),
                        by,
                        at: num(&r, "proposedAt").unwrap_or(0.0),
                    }),
                    _ => None,
                };
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
                let seen = match r.get("seen") {
                    Some(Any::Map(m)) => Seen::from_any(m),
                    _ => None,
                };
                Some((
                    id.to_owned(),
                    Recorded {
                        status,
                        asked_by,
                        proposal,
                        resolution,
                        upto,
                        seen,
                    },
                ))
            })
            .collect()
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
        // Accepting a proposal is a manual merge with the proposed text, recorded as such.
        let proposed = match (choice, &conflict.proposal) {
            (Choice::Proposal, Some(p)) => Some(p.text.clone()),
            (Choice::Proposal, None) => {
                return Err(Error::InvalidChoice(format!(
                    "conflict `{id}` has no proposed merge to accept"
                )))
            }
            _ => None,
        };
        let text = proposed.as_deref().or(text);
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
        if choice == Choice::Agent {
            let mut r = self.request_record(&conflict, ConflictStatus::AwaitingAgent);
            r.insert("askedBy".to_owned(), who.to_any());
            self.write_resolution(id, r);
            return Ok(());
        }
        let mut seen = None;
        let applied = if choice == Choice::Proposal {
            Choice::Manual
        } else {
            choice
        };
        match conflict.kind {
            ConflictKind::Text => {
                let result = self.resolve_text(&conflict, applied, keep, text)?;
                seen = Some(Seen::of(&conflict, result));
            }
            ConflictKind::Field => {
                let field = conflict.field.clone().unwrap_or_default();
                let value = match (applied, keep) {
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
            ConflictKind::Stale | ConflictKind::Suggestion => {
                self.resolve_stale(&conflict, applied, keep, text)?
            }
        }
        let mut r = self.request_record(&conflict, ConflictStatus::Resolved);
        r.insert("choice".to_owned(), Any::from(choice.as_str()));
        if let Some(k) = keep {
            r.insert("side".to_owned(), Any::from(k as f64));
        }
        if let Some(t) = text {
            r.insert("text".to_owned(), Any::from(t));
        }
        r.insert("by".to_owned(), who.to_any());
        if let (Choice::Proposal, Some(p)) = (choice, &conflict.proposal) {
            r.insert("proposal".to_owned(), Any::from(p.text.as_str()));
            r.insert("rationale".to_owned(), Any::from(p.rationale.as_str()));
            r.insert("proposedBy".to_owned(), p.by.to_any());
            r.insert("proposedAt".to_owned(), Any::from(p.at));
        }
        if let Some(seen) = seen {
            r.insert("seen".to_owned(), seen.to_any());
        }
        self.write_resolution(id, r);
        Ok(())
    }

    /// Propose `text` as the merge of conflict `id` (for the stretch in conflict), with a
    /// one-paragraph `rationale`, as `who` (an agent asked to resolve it, typically). It
    /// is held: the text does not change until a person accepts it with
    /// [`Choice::Proposal`]; [`RoomDoc::reject_proposal`] turns it down. A newer proposal
    /// replaces an older one.
    pub fn propose_merge(
        &mut self,
        id: &str,
        text: &str,
        rationale: &str,
        who: &Participant,
    ) -> Result<()> {
        let conflict = self.conflict(id)?;
        if conflict.status == ConflictStatus::Resolved {
            return Err(Error::AlreadyResolved(id.to_owned()));
        }
        let mut r = self.request_record(&conflict, ConflictStatus::Proposed);
        r.insert("proposal".to_owned(), Any::from(text));
        r.insert("rationale".to_owned(), Any::from(rationale));
        r.insert("proposedBy".to_owned(), who.to_any());
        r.insert(
            "proposedAt".to_owned(),
            Any::from(self.writer.now_ms as f64),
        );
        self.write_resolution(id, r);
        Ok(())
    }

    /// Turn down the merge proposed for conflict `id`: it is open again, for a person
    /// to choose (or to ask an agent again).
    pub fn reject_proposal(&mut self, id: &str, who: &Participant) -> Result<()> {
        let conflict = self.conflict(id)?;
        if conflict.status != ConflictStatus::Proposed {
            return Err(Error::InvalidChoice(format!(
                "conflict `{id}` has no proposed merge to reject"
            )));
        }
        let mut r = self.request_record(&conflict, ConflictStatus::Open);
        r.insert("rejectedBy".to_owned(), who.to_any());
        self.write_resolution(id, r);
        Ok(())
    }

    /// A record for conflict `id` that is not a resolution (a request for an agent, a
    /// proposal, a rejected proposal): its status, the changes it covers, who asked.
    fn request_record(&self, conflict: &Conflict, status: ConflictStatus) -> HashMap<String, Any> {
        let upto: HashMap<String, Any> = conflict
            .reach
            .iter()
            .map(|(c, k)| (c.to_string(), Any::from(f64::from(*k))))
            .collect();
        let mut r = HashMap::new();
        r.insert("upto".to_owned(), Any::Map(Arc::new(upto)));
        r.insert("status".to_owned(), Any::from(status.as_str()));
        r.insert("at".to_owned(), Any::from(self.writer.now_ms as f64));
        if let Some(asked) = &conflict.asked_by {
            r.insert("askedBy".to_owned(), asked.to_any());
        }
        r
    }

    fn write_resolution(&mut self, id: &str, r: HashMap<String, Any>) {
        let own = self.doc.client_id().get();
        let mut txn = self.doc.transact_mut();
        let map = txn.get_or_insert_map(RESOLUTIONS);
        map.insert(&mut txn, id, Any::Map(Arc::new(r)));
        self.writer.note(&mut txn, own);
    }

    fn resolve_text(
        &mut self,
        conflict: &Conflict,
        choice: Choice,
        keep: Option<usize>,
        text: Option<&str>,
    ) -> Result<String> {
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
        let (from, to) = (
            String::from_utf16_lossy(&current),
            String::from_utf16_lossy(&wanted),
        );
        if wanted != current {
            let (at, removed, inserted) = crate::doc::minimal_edit(&from, &to);
            self.replace_text(&doc, start + at, removed, &inserted)?;
        }
        Ok(to)
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
}

/// A conflict's recorded resolution (or request for an agent).
pub(super) struct Recorded {
    pub(super) status: ConflictStatus,
    pub(super) asked_by: Option<Participant>,
    pub(super) proposal: Option<Proposal>,
    pub(super) resolution: Option<Resolution>,
    /// The latest change of each client the resolution covered.
    pub(super) upto: HashMap<u64, u32>,
    /// A text conflict as its resolver saw it.
    pub(super) seen: Option<Seen>,
}

/// A text conflict as its resolver saw it, kept with the resolution. The resolution's
/// own edit changes the text the conflict is found in (a " / " between the sides is a
/// word boundary), so what each side wrote is reported from here, never re-derived from
/// the resolved text; and a resolved conflict the text no longer shows at all is still
/// listed, from here.
pub(super) struct Seen {
    pub(super) doc: String,
    /// Where it was when resolved (UTF-16 offset).
    start: u32,
    before: String,
    /// What the resolution left in the conflict's place.
    result: String,
    sides: Vec<ConflictSide>,
}

impl Seen {
    fn of(conflict: &Conflict, result: String) -> Self {
        Seen {
            doc: conflict.doc.clone().unwrap_or_default(),
            start: conflict.start,
            before: conflict.before.clone(),
            result,
            sides: conflict.sides.clone(),
        }
    }

    fn to_any(&self) -> Any {
        let text = |v: &Option<String>| v.as_deref().map_or(Any::Null, Any::from);
        let sides: Vec<Any> = self
            .sides
            .iter()
            .map(|side| {
                let mut m = HashMap::new();
                if let Some(author) = &side.author {
                    m.insert("author".to_owned(), author.to_any());
                }
                m.insert("client".to_owned(), Any::from(side.client.to_string()));
                m.insert("inserted".to_owned(), Any::from(side.inserted.as_str()));
                m.insert("deleted".to_owned(), Any::from(side.deleted.as_str()));
                m.insert("at".to_owned(), Any::from(side.at));
                m.insert("turn".to_owned(), text(&side.turn));
                m.insert("model".to_owned(), text(&side.model));
                m.insert("stale".to_owned(), Any::from(side.stale));
                Any::Map(Arc::new(m))
            })
            .collect();
        let mut m = HashMap::new();
        m.insert("doc".to_owned(), Any::from(self.doc.as_str()));
        m.insert("start".to_owned(), Any::from(f64::from(self.start)));
        m.insert("before".to_owned(), Any::from(self.before.as_str()));
        m.insert("result".to_owned(), Any::from(self.result.as_str()));
        m.insert("sides".to_owned(), Any::Array(sides.into()));
        Any::Map(Arc::new(m))
    }

    fn from_any(m: &HashMap<String, Any>) -> Option<Self> {
        let Some(Any::Array(sides)) = m.get("sides") else {
            return None;
        };
        let sides = sides
            .iter()
            .map(|side| {
                let Any::Map(s) = side else { return None };
                Some(ConflictSide {
                    author: participant_any(s.get("author")),
                    client: string(s, "client")?.parse().ok()?,
                    inserted: string(s, "inserted").unwrap_or_default(),
                    deleted: string(s, "deleted").unwrap_or_default(),
                    at: num(s, "at").unwrap_or(0.0),
                    turn: string(s, "turn"),
                    model: string(s, "model"),
                    stale: matches!(s.get("stale"), Some(Any::Bool(true))),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Seen {
            doc: string(m, "doc")?,
            start: num(m, "start").unwrap_or(0.0) as u32,
            before: string(m, "before")?,
            result: string(m, "result")?,
            sides,
        })
    }

    /// Report `c` (found again in the resolved text) as the resolver saw it.
    pub(super) fn restore(&self, c: &mut Conflict) {
        if self.sides.len() != c.sides.len() {
            return;
        }
        for (side, seen) in c.sides.iter_mut().zip(&self.sides) {
            side.inserted.clone_from(&seen.inserted);
            side.deleted.clone_from(&seen.deleted);
        }
        c.before.clone_from(&self.before);
        c.current.clone_from(&self.result);
        c.end = c.start + self.result.encode_utf16().count() as u32;
    }

    /// The conflict `id` as its resolver saw it, for when the resolved text no longer
    /// shows it: where it was when resolved, clamped to the document's length now.
    pub(super) fn conflict(&self, id: &str, len: u32) -> Conflict {
        let start = self.start.min(len);
        let end = (start + self.result.encode_utf16().count() as u32).min(len);
        Conflict {
            doc: Some(self.doc.clone()),
            start,
            end,
            before: self.before.clone(),
            current: self.result.clone(),
            ..Conflict::open(id.to_owned(), ConflictKind::Text, self.sides.clone())
        }
    }
}
