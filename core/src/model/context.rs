//! The shared AI context beside each person's private one.
//!
//! Shared entries live in the room: a kind (convention, decision, in-progress,
//! resolved discussion, knowledge), text, author, tags and refs (documents as
//! `doc:<id>`, paths as `path:<path>`), and a status (proposed, accepted, stale,
//! retired). A context owner — a role that can rotate — curates them. Each person's
//! private context stays in their session (never in the room) until they share an
//! entry, which lands attributed and `proposed`. An accepted entry whose referenced
//! document changed after it was last confirmed reads as stale. Announcements,
//! questions and handoffs are structured context events, and a handoff summary is
//! derived deterministically from the room's state.

use crate::names::named_enum;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use yrs::{
    Any, GetString, Map, MapPrelim, MapRef, Out, ReadTxn, Transact, TransactionMut, WriteTxn,
};

use crate::doc::read::{any_str, get_num, get_str};
use crate::doc::{doc_text_name, Participant, RoomDoc};
use crate::error::{Error, Result};
use crate::model::TurnStatus;

use crate::doc::schema::{CONTEXT, CONTEXT_EVENTS as EVENTS, ROLES};

const CONTEXT_OWNER: &str = "contextOwner";

named_enum! {
    /// What a context entry is.
    pub enum ContextKind {
        /// A convention to follow.
        Convention = "convention",
        /// A decision taken.
        Decision = "decision",
        /// Work in progress.
        InProgress = "in-progress",
        /// A discussion that was resolved.
        Resolved = "resolved",
        /// Knowledge.
        Knowledge = "knowledge",
    }
}

named_enum! {
    /// Where a context entry stands.
    pub enum ContextStatus {
        /// Shared, awaiting the owner.
        Proposed = "proposed",
        /// Accepted by the owner.
        Accepted = "accepted",
        /// Accepted, but what it refers to changed since it was confirmed.
        Stale = "stale",
        /// No longer in force.
        Retired = "retired",
    }
}

/// What goes into a new context entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextDraft {
    /// Its kind.
    pub kind: ContextKind,
    /// Its text.
    pub text: String,
    /// Tags for relevance.
    pub tags: Vec<String>,
    /// References: `doc:<id>` or `path:<path>`.
    pub refs: Vec<String>,
}

/// A context entry, shared or private.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ContextEntry {
    /// Entry id.
    pub id: String,
    /// Its kind.
    pub kind: ContextKind,
    /// Its text.
    pub text: String,
    /// Who wrote or shared it.
    pub author: Participant,
    /// Tags.
    pub tags: Vec<String>,
    /// References.
    pub refs: Vec<String>,
    /// Status as read now (`stale` when a referenced document changed since it was
    /// confirmed).
    pub status: ContextStatus,
    /// True for an entry of this person's private context.
    pub private: bool,
    /// Creation time, ms since the Unix epoch.
    pub created_at: f64,
}

named_enum! {
    /// A structured context event.
    pub enum ContextEventKind {
        /// Something everyone should know.
        Announcement = "announcement",
        /// A question to the team.
        Question = "question",
        /// Work handed to someone.
        Handoff = "handoff",
        /// A finding or a risk an agent raised, for the people in the room to notice.
        Insight = "insight",
    }
}

/// An announcement, question, handoff or insight.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ContextEvent {
    /// Event id.
    pub id: String,
    /// Which kind.
    pub kind: ContextEventKind,
    /// What it says.
    pub text: String,
    /// Who raised it.
    pub author: Participant,
    /// For a handoff: to whom (a user id).
    pub to: Option<String>,
    /// For a question: the answer, once given.
    pub answer: Option<String>,
    /// When, ms since the Unix epoch.
    pub at: f64,
}

/// Work someone holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Holding {
    /// Who.
    pub who: String,
    /// What.
    pub what: String,
}

/// What the next person needs, derived from the room.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HandoffSummary {
    /// Accepted decisions, oldest first.
    pub decisions: Vec<String>,
    /// Questions without an answer, oldest first.
    pub open_questions: Vec<String>,
    /// Work in progress (in-progress entries and streaming agent turns) and who holds it.
    pub in_progress: Vec<Holding>,
    /// Handoffs made, as "from → to: what".
    pub handoffs: Vec<String>,
}

impl HandoffSummary {
    /// The summary as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# Handoff\n");
        let mut section = |title: &str, items: Vec<String>| {
            out.push_str(&format!("\n## {title}\n"));
            if items.is_empty() {
                out.push_str("- (none)\n");
            }
            for item in items {
                out.push_str(&format!("- {item}\n"));
            }
        };
        section("Decisions", self.decisions.clone());
        section("Open questions", self.open_questions.clone());
        section(
            "In progress",
            self.in_progress
                .iter()
                .map(|h| format!("{}: {}", h.who, h.what))
                .collect(),
        );
        section("Handoffs", self.handoffs.clone());
        out
    }
}

/// A stable 64-bit fingerprint (FNV-1a) of a document's text: equal on every replica.
fn fingerprint(text: &str) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // Kept within f64's exact integers so it round-trips through Yjs numbers.
    (hash >> 11) as f64
}

fn list(items: &[String]) -> Any {
    Any::Array(items.iter().map(|s| Any::from(s.as_str())).collect())
}

fn strings<T: ReadTxn>(m: &MapRef, txn: &T, key: &str) -> Vec<String> {
    match m.get(txn, key) {
        Some(Out::Any(Any::Array(items))) => items.iter().filter_map(any_str).collect(),
        _ => Vec::new(),
    }
}

impl RoomDoc {
    fn context_owner_in<T: ReadTxn>(&self, txn: &T) -> Option<String> {
        let roles = txn.get_map(ROLES)?;
        get_str(&roles, txn, CONTEXT_OWNER)
    }

    /// The participant id of the context owner, if one was named.
    pub fn context_owner(&self) -> Option<String> {
        self.context_owner_in(&self.doc.transact())
    }

    fn require_owner(&self, who: &Participant) -> Result<()> {
        match self.context_owner() {
            Some(owner) if owner == who.id => Ok(()),
            None => Ok(()),
            Some(owner) => Err(Error::NotContextOwner {
                who: who.id.clone(),
                owner,
                what: "curate the shared context".into(),
            }),
        }
    }

    /// Hand the context-owner role to `next`. Only the current owner may (anyone,
    /// while no owner is named).
    pub fn set_context_owner(&mut self, by: &Participant, next: &str) -> Result<()> {
        if next.is_empty() {
            return Err(Error::Empty("context owner"));
        }
        self.require_owner(by)?;
        let mut txn = self.doc.transact_mut();
        let roles = txn.get_or_insert_map(ROLES);
        roles.insert(&mut txn, CONTEXT_OWNER, next);
        Ok(())
    }

    fn ref_fingerprints<T: ReadTxn>(&self, txn: &T, refs: &[String]) -> Any {
        let mut m = HashMap::new();
        for r in refs {
            if let Some(doc) = r.strip_prefix("doc:") {
                let text = txn
                    .get_text(doc_text_name(doc).as_str())
                    .map(|t| t.get_string(txn))
                    .unwrap_or_default();
                m.insert(r.clone(), Any::from(fingerprint(&text)));
            } else if let Some(path) = r.strip_prefix("path:") {
                // A file: its content (a text file's current text), or what lies
                // under a folder; missing or deleted reads as nothing.
                let content = super::files::content_under(txn, path.trim_end_matches('/'));
                m.insert(r.clone(), Any::from(fingerprint(&content)));
            }
        }
        Any::Map(Arc::new(m))
    }

    /// Share an entry into the room's context as `author`: it lands `proposed`.
    pub fn propose_context(
        &mut self,
        draft: &ContextDraft,
        author: &Participant,
        now_ms: u64,
    ) -> Result<String> {
        if draft.text.trim().is_empty() {
            return Err(Error::Empty("context text"));
        }
        let id = self.fresh_id();
        let mut txn = self.doc.transact_mut();
        let confirmed = self.ref_fingerprints(&txn, &draft.refs);
        let context = txn.get_or_insert_map(CONTEXT);
        let entry = MapPrelim::from_iter([
            ("kind", Any::from(draft.kind.as_str())),
            ("text", Any::from(draft.text.as_str())),
            ("author", author.to_any()),
            ("tags", list(&draft.tags)),
            ("refs", list(&draft.refs)),
            ("status", Any::from(ContextStatus::Proposed.as_str())),
            ("createdAt", Any::from(now_ms as f64)),
            ("confirmed", confirmed),
        ]);
        context.insert(&mut txn, id.as_str(), entry);
        Ok(id)
    }

    /// Change a shared context entry's text (a tracked field: two concurrent edits are
    /// kept as a conflict with both texts).
    pub fn edit_context(&mut self, id: &str, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Err(Error::Empty("context text"));
        }
        {
            let txn = self.doc.transact();
            let known = txn
                .get_map(CONTEXT)
                .is_some_and(|m| matches!(m.get(&txn, id), Some(Out::YMap(_))));
            if !known {
                return Err(Error::UnknownContextEntry(id.to_owned()));
            }
        }
        self.write_field(CONTEXT, id, "text", Any::from(text))
    }

    fn context_entry_map(&self, txn: &mut TransactionMut<'_>, id: &str) -> Result<MapRef> {
        let context = txn.get_or_insert_map(CONTEXT);
        match context.get(txn, id) {
            Some(Out::YMap(m)) => Ok(m),
            _ => Err(Error::UnknownContextEntry(id.to_owned())),
        }
    }

    /// The owner accepts (or re-confirms) an entry: it is in force, and its referenced
    /// documents' current state is what it was confirmed against.
    pub fn accept_context(&mut self, id: &str, by: &Participant) -> Result<()> {
        self.require_owner(by)?;
        let mut txn = self.doc.transact_mut();
        let m = self.context_entry_map(&mut txn, id)?;
        let refs = strings(&m, &txn, "refs");
        let confirmed = self.ref_fingerprints(&txn, &refs);
        m.insert(&mut txn, "status", ContextStatus::Accepted.as_str());
        m.insert(&mut txn, "confirmed", confirmed);
        Ok(())
    }

    /// The owner retires an entry.
    pub fn retire_context(&mut self, id: &str, by: &Participant) -> Result<()> {
        self.require_owner(by)?;
        let mut txn = self.doc.transact_mut();
        let m = self.context_entry_map(&mut txn, id)?;
        m.insert(&mut txn, "status", ContextStatus::Retired.as_str());
        Ok(())
    }

    /// Every shared context entry, oldest first, with staleness worked out now.
    pub fn context_entries(&self) -> Vec<ContextEntry> {
        let txn = self.doc.transact();
        let Some(context) = txn.get_map(CONTEXT) else {
            return Vec::new();
        };
        let mut out: Vec<ContextEntry> = context
            .iter(&txn)
            .filter_map(|(id, value)| {
                let Out::YMap(m) = value else { return None };
                let refs = strings(&m, &txn, "refs");
                let mut status = ContextStatus::parse(&get_str(&m, &txn, "status")?)?;
                if status == ContextStatus::Accepted {
                    let now = self.ref_fingerprints(&txn, &refs);
                    let then = match m.get(&txn, "confirmed") {
                        Some(Out::Any(a)) => a,
                        _ => Any::Null,
                    };
                    if now != then {
                        status = ContextStatus::Stale;
                    }
                }
                Some(ContextEntry {
                    id: id.to_owned(),
                    kind: ContextKind::parse(&get_str(&m, &txn, "kind")?)?,
                    text: get_str(&m, &txn, "text")?,
                    author: match m.get(&txn, "author")? {
                        Out::Any(a) => Participant::from_any(&a)?,
                        _ => return None,
                    },
                    tags: strings(&m, &txn, "tags"),
                    refs,
                    status,
                    private: false,
                    created_at: get_num(&m, &txn, "createdAt").unwrap_or(0.0),
                })
            })
            .collect();
        out.sort_by(|a, b| a.created_at.total_cmp(&b.created_at).then(a.id.cmp(&b.id)));
        out
    }

    /// Raise an announcement, a question or a handoff (`to` names the receiver).
    pub fn raise_context_event(
        &mut self,
        kind: ContextEventKind,
        text: &str,
        to: Option<&str>,
        author: &Participant,
        now_ms: u64,
    ) -> Result<String> {
        if text.trim().is_empty() {
            return Err(Error::Empty("event text"));
        }
        if kind == ContextEventKind::Handoff && to.is_none_or(str::is_empty) {
            return Err(Error::Empty("handoff receiver"));
        }
        let id = self.fresh_id();
        let mut txn = self.doc.transact_mut();
        let events = txn.get_or_insert_map(EVENTS);
        let mut fields = vec![
            ("kind", Any::from(kind.as_str())),
            ("text", Any::from(text)),
            ("author", author.to_any()),
            ("at", Any::from(now_ms as f64)),
        ];
        if let Some(to) = to {
            fields.push(("to", Any::from(to)));
        }
        events.insert(&mut txn, id.as_str(), MapPrelim::from_iter(fields));
        Ok(id)
    }

    /// Answer a question.
    pub fn answer_question(&mut self, id: &str, answer: &str) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let events = txn.get_or_insert_map(EVENTS);
        let Some(Out::YMap(m)) = events.get(&txn, id) else {
            return Err(Error::UnknownContextEntry(id.to_owned()));
        };
        m.insert(&mut txn, "answer", answer);
        Ok(())
    }

    /// Every context event, oldest first.
    pub fn context_events(&self) -> Vec<ContextEvent> {
        let txn = self.doc.transact();
        let Some(events) = txn.get_map(EVENTS) else {
            return Vec::new();
        };
        let mut out: Vec<ContextEvent> = events
            .iter(&txn)
            .filter_map(|(id, value)| {
                let Out::YMap(m) = value else { return None };
                Some(ContextEvent {
                    id: id.to_owned(),
                    kind: ContextEventKind::parse(&get_str(&m, &txn, "kind")?)?,
                    text: get_str(&m, &txn, "text")?,
                    author: match m.get(&txn, "author")? {
                        Out::Any(a) => Participant::from_any(&a)?,
                        _ => return None,
                    },
                    to: get_str(&m, &txn, "to"),
                    answer: get_str(&m, &txn, "answer"),
                    at: get_num(&m, &txn, "at").unwrap_or(0.0),
                })
            })
            .collect();
        out.sort_by(|a, b| a.at.total_cmp(&b.at).then(a.id.cmp(&b.id)));
        out
    }

    /// The handoff summary: decisions, open questions, in-progress work and who holds
    /// it, handoffs. Derived only from the room's state, so every replica writes the same.
    pub fn handoff_summary(&self) -> HandoffSummary {
        let entries = self.context_entries();
        let events = self.context_events();
        let decisions = entries
            .iter()
            .filter(|e| e.kind == ContextKind::Decision && e.status == ContextStatus::Accepted)
            .map(|e| e.text.clone())
            .collect();
        let open_questions = events
            .iter()
            .filter(|e| e.kind == ContextEventKind::Question && e.answer.is_none())
            .map(|e| e.text.clone())
            .collect();
        let mut holdings: Vec<Holding> = entries
            .iter()
            .filter(|e| e.kind == ContextKind::InProgress && e.status != ContextStatus::Retired)
            .map(|e| Holding {
                who: e.author.name.clone(),
                what: e.text.clone(),
            })
            .collect();
        let txn = self.doc.transact();
        let mut turns: BTreeMap<String, Holding> = BTreeMap::new();
        for (id, value) in self.messages.iter(&txn) {
            let Out::YMap(m) = value else { continue };
            let open = get_str(&m, &txn, "status")
                .and_then(|s| TurnStatus::parse(&s))
                .is_some_and(TurnStatus::is_open);
            if !open {
                continue;
            }
            let Some(Out::Any(author)) = m.get(&txn, "author") else {
                continue;
            };
            let Some(author) = Participant::from_any(&author) else {
                continue;
            };
            let conversation = get_str(&m, &txn, "conversation").unwrap_or_default();
            turns.insert(
                id.to_owned(),
                Holding {
                    who: author.name,
                    what: format!("answering in {conversation}"),
                },
            );
        }
        holdings.extend(turns.into_values());
        let handoffs = events
            .iter()
            .filter(|e| e.kind == ContextEventKind::Handoff)
            .map(|e| {
                format!(
                    "{} → {}: {}",
                    e.author.name,
                    e.to.as_deref().unwrap_or("?"),
                    e.text
                )
            })
            .collect();
        HandoffSummary {
            decisions,
            open_questions,
            in_progress: holdings,
            handoffs,
        }
    }
}

/// Entries relevant to `tags` and `refs`: those sharing any, most shared first, then
/// newest. Retired entries are left out.
pub fn relevant(entries: &[ContextEntry], tags: &[String], refs: &[String]) -> Vec<ContextEntry> {
    let mut scored: Vec<(usize, &ContextEntry)> = entries
        .iter()
        .filter(|e| e.status != ContextStatus::Retired)
        .map(|e| {
            let score = e.tags.iter().filter(|t| tags.contains(t)).count()
                + e.refs.iter().filter(|r| refs.contains(r)).count();
            (score, e)
        })
        .filter(|(score, _)| *score > 0)
        .collect();
    scored.sort_by(|(sa, a), (sb, b)| {
        sb.cmp(sa)
            .then(b.created_at.total_cmp(&a.created_at))
            .then(a.id.cmp(&b.id))
    });
    scored.into_iter().map(|(_, e)| e.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    fn draft(kind: ContextKind, text: &str, tags: &[&str], refs: &[&str]) -> ContextDraft {
        ContextDraft {
            kind,
            text: text.into(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            refs: refs.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn proposals_accepted_by_the_owner_and_the_role_rotates() -> Result<()> {
        let (ada, bob) = (
            Participant::person("ada", "Ada"),
            Participant::person("bob", "Bob"),
        );
        let mut doc = RoomDoc::new(1);
        doc.set_context_owner(&ada, "ada")?;
        let id = doc.propose_context(
            &draft(ContextKind::Convention, "tabs, not spaces", &["style"], &[]),
            &bob,
            1,
        )?;
        assert_eq!(doc.context_entries()[0].status, ContextStatus::Proposed);
        assert_eq!(
            doc.accept_context(&id, &bob).unwrap_err(),
            Error::NotContextOwner {
                who: "bob".into(),
                owner: "ada".into(),
                what: "curate the shared context".into(),
            }
        );
        doc.accept_context(&id, &ada)?;
        assert_eq!(doc.context_entries()[0].status, ContextStatus::Accepted);
        assert_eq!(doc.context_entries()[0].author, bob);
        assert!(doc.set_context_owner(&bob, "bob").is_err());
        doc.set_context_owner(&ada, "bob")?;
        assert_eq!(doc.context_owner().as_deref(), Some("bob"));
        doc.retire_context(&id, &bob)?;
        assert_eq!(doc.context_entries()[0].status, ContextStatus::Retired);
        assert!(matches!(
            doc.accept_context("nope", &bob),
            Err(Error::UnknownContextEntry(_))
        ));
        assert_eq!(
            doc.propose_context(&draft(ContextKind::Knowledge, " ", &[], &[]), &bob, 2)
                .unwrap_err(),
            Error::Empty("context text")
        );
        Ok(())
    }

    #[test]
    fn entries_go_stale_when_their_document_changes() -> Result<()> {
        let ada = Participant::person("ada", "Ada");
        let mut doc = RoomDoc::new(1);
        doc.create_document(Some("spec"), "Spec", 0)?;
        doc.insert_text("spec", 0, "v1")?;
        let id = doc.propose_context(
            &draft(ContextKind::Decision, "use v1 API", &[], &["doc:spec"]),
            &ada,
            1,
        )?;
        doc.accept_context(&id, &ada)?;
        assert_eq!(doc.context_entries()[0].status, ContextStatus::Accepted);
        doc.insert_text("spec", 2, " → v2")?;
        assert_eq!(doc.context_entries()[0].status, ContextStatus::Stale);
        doc.accept_context(&id, &ada)?; // re-confirmed
        assert_eq!(doc.context_entries()[0].status, ContextStatus::Accepted);
        Ok(())
    }

    #[test]
    fn an_accepted_entry_goes_stale_when_a_file_it_names_changes() -> Result<()> {
        use crate::model::files::{FileAuthor, FileEntry};
        let ada = Participant::person("ada", "Ada");
        let mut doc = RoomDoc::new(1);
        let file = |hash: &str| FileEntry {
            path: "src/db.rs".into(),
            folder: false,
            size: 1,
            content_type: "text/plain".into(),
            hash: hash.into(),
            doc: None,
            author: FileAuthor::from(&ada),
            created_at: 1,
            updated_at: 1,
            deleted_at: None,
            deleted_by: None,
            versions: Vec::new(),
        };
        doc.put_file_entries(&[file("h1")], &[])?;
        let on_file = doc.propose_context(
            &draft(
                ContextKind::Decision,
                "pool size 8",
                &[],
                &["path:src/db.rs"],
            ),
            &ada,
            1,
        )?;
        let on_dir = doc.propose_context(
            &draft(ContextKind::Decision, "no unsafe", &[], &["path:src/"]),
            &ada,
            2,
        )?;
        doc.accept_context(&on_file, &ada)?;
        doc.accept_context(&on_dir, &ada)?;
        let statuses = |doc: &RoomDoc| {
            doc.context_entries()
                .iter()
                .map(|e| e.status)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            statuses(&doc),
            [ContextStatus::Accepted, ContextStatus::Accepted]
        );
        doc.put_file_entries(&[file("h2")], &[])?;
        assert_eq!(statuses(&doc), [ContextStatus::Stale, ContextStatus::Stale]);
        doc.accept_context(&on_file, &ada)?;
        assert_eq!(
            statuses(&doc),
            [ContextStatus::Accepted, ContextStatus::Stale]
        );
        Ok(())
    }

    #[test]
    fn relevance_ranks_by_shared_tags_and_refs() -> Result<()> {
        let ada = Participant::person("ada", "Ada");
        let mut doc = RoomDoc::new(1);
        doc.propose_context(&draft(ContextKind::Knowledge, "a", &["db"], &[]), &ada, 1)?;
        doc.propose_context(
            &draft(
                ContextKind::Knowledge,
                "b",
                &["db", "perf"],
                &["path:src/db.rs"],
            ),
            &ada,
            2,
        )?;
        doc.propose_context(&draft(ContextKind::Knowledge, "c", &["ui"], &[]), &ada, 3)?;
        let found = relevant(
            &doc.context_entries(),
            &["db".into(), "perf".into()],
            &["path:src/db.rs".into()],
        );
        let texts: Vec<&str> = found.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["b", "a"]);
        Ok(())
    }

    #[test]
    fn handoff_summary_is_derived_from_the_room() -> Result<()> {
        let (ada, bot) = (
            Participant::person("ada", "Ada"),
            Participant::agent("bot", "Bot"),
        );
        let mut doc = RoomDoc::new(1);
        let d = doc.propose_context(
            &draft(ContextKind::Decision, "ship on Friday", &[], &[]),
            &ada,
            1,
        )?;
        doc.accept_context(&d, &ada)?;
        doc.propose_context(
            &draft(ContextKind::Decision, "not yet accepted", &[], &[]),
            &ada,
            2,
        )?;
        doc.propose_context(
            &draft(ContextKind::InProgress, "migrating the schema", &[], &[]),
            &ada,
            3,
        )?;
        let q = doc.raise_context_event(
            ContextEventKind::Question,
            "who owns billing?",
            None,
            &ada,
            4,
        )?;
        doc.raise_context_event(ContextEventKind::Question, "is CI green?", None, &ada, 5)?;
        doc.answer_question(&q, "Bob")?;
        doc.raise_context_event(
            ContextEventKind::Handoff,
            "finish the migration",
            Some("bob"),
            &ada,
            6,
        )?;
        doc.raise_context_event(
            ContextEventKind::Announcement,
            "deploy freeze",
            None,
            &ada,
            7,
        )?;
        assert_eq!(
            doc.raise_context_event(ContextEventKind::Handoff, "x", None, &ada, 8)
                .unwrap_err(),
            Error::Empty("handoff receiver")
        );
        doc.create_conversation(Some("c"), "C", &ada, 0)?;
        doc.open_turn("c", &bot, Role::Assistant, 9, 9)?;
        let summary = doc.handoff_summary();
        assert_eq!(summary.decisions, ["ship on Friday"]);
        assert_eq!(summary.open_questions, ["is CI green?"]);
        assert_eq!(
            summary.in_progress,
            [
                Holding {
                    who: "Ada".into(),
                    what: "migrating the schema".into()
                },
                Holding {
                    who: "Bot".into(),
                    what: "answering in c".into()
                }
            ]
        );
        assert_eq!(summary.handoffs, ["Ada → bob: finish the migration"]);
        let md = summary.to_markdown();
        assert!(md.contains("## Open questions\n- is CI green?\n"), "{md}");
        // Same state, same summary, on another replica.
        let other = RoomDoc::new(2);
        let update = doc
            .doc()
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        other
            .doc()
            .transact_mut()
            .apply_update(yrs::updates::decoder::Decode::decode_v1(&update).unwrap())
            .unwrap();
        assert_eq!(other.handoff_summary(), summary);
        Ok(())
    }
}
