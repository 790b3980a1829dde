//! The shared AI chat beyond plain posts: agent turns that stream into the shared
//! document, stop requests, reactions, branches and merges.
//!
//! An agent turn is a message whose `text` grows as the agent writes. Its `status`
//! moves `pending → streaming → done`, or to `stopped` (anyone asked it to stop),
//! `interrupted` (its writer vanished mid-turn) or `error` (with a reason). Everyone sees
//! the same text as it grows, and a late joiner gets the partial text by plain sync.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use yrs::{Any, Map, MapPrelim, MapRef, Out, ReadTxn, Text, Transact, TransactionMut};

use crate::doc::read::{get_num, get_str};
use crate::doc::{Participant, RoomDoc};
use crate::error::{Error, Result};
use crate::model::conversation::fork_point;
use crate::model::{MergeRecord, MergeSummary, Role, TurnStatus};

/// A branch of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BranchInfo {
    /// The branch's conversation id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The message of the parent it was forked at.
    pub fork_message: String,
    /// Everyone who wrote in the branch, and whoever created it, by id.
    pub participants: Vec<Participant>,
    /// Creation time, ms since the Unix epoch.
    pub created_at: f64,
}

impl RoomDoc {
    fn message_map<T: ReadTxn>(&self, txn: &T, id: &str) -> Result<MapRef> {
        match self.messages.get(txn, id) {
            Some(Out::YMap(m)) => Ok(m),
            _ => Err(Error::UnknownMessage(id.to_owned())),
        }
    }

    fn status_of<T: ReadTxn>(m: &MapRef, txn: &T) -> TurnStatus {
        get_str(m, txn, "status")
            .and_then(|s| TurnStatus::parse(&s))
            .unwrap_or(TurnStatus::Done)
    }

    /// The status of a message.
    pub fn turn_status(&self, id: &str) -> Result<TurnStatus> {
        let txn = self.doc.transact();
        let m = self.message_map(&txn, id)?;
        Ok(Self::status_of(&m, &txn))
    }

    fn open_turn_map(&self, txn: &TransactionMut<'_>, id: &str) -> Result<MapRef> {
        let m = self.message_map(txn, id)?;
        let status = Self::status_of(&m, txn);
        if !status.is_open() {
            return Err(Error::TurnClosed {
                id: id.to_owned(),
                status: status.as_str(),
            });
        }
        Ok(m)
    }

    /// Open an agent turn in `conversation`, written by `author` from yrs client
    /// `writer` (so the room can tell when the writer vanishes). Returns its id.
    pub fn open_turn(
        &mut self,
        conversation: &str,
        author: &Participant,
        role: Role,
        writer: u64,
        now_ms: u64,
    ) -> Result<String> {
        self.insert_message(
            conversation,
            author,
            role,
            "",
            TurnStatus::Pending,
            Some(writer),
            now_ms,
        )
    }

    /// Append chunks to open turns, all in one transaction (one update on the wire).
    /// Fails without changing anything when any turn is unknown or closed.
    pub fn append_turn_chunks(&mut self, chunks: &[(String, String)]) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let mut turns = BTreeMap::new();
        for (id, _) in chunks {
            if !turns.contains_key(id) {
                turns.insert(id.clone(), self.open_turn_map(&txn, id)?);
            }
        }
        for (id, chunk) in chunks {
            let m = &turns[id];
            let Some(Out::YText(text)) = m.get(&txn, "text") else {
                return Err(Error::UnknownMessage(id.clone()));
            };
            let end = text.len(&txn);
            text.insert(&mut txn, end, chunk);
            if Self::status_of(m, &txn) == TurnStatus::Pending {
                m.insert(&mut txn, "status", TurnStatus::Streaming.as_str());
            }
        }
        Ok(())
    }

    /// Append one chunk to an open turn.
    pub fn append_turn(&mut self, id: &str, chunk: &str) -> Result<()> {
        self.append_turn_chunks(&[(id.to_owned(), chunk.to_owned())])
    }

    fn close_turn(&mut self, id: &str, status: TurnStatus, extra: &[(&str, Any)]) -> Result<()> {
        let own = self.doc.client_id().get();
        let mut txn = self.doc.transact_mut();
        let m = self.open_turn_map(&txn, id)?;
        m.insert(&mut txn, "status", status.as_str());
        for (key, value) in extra {
            m.insert(&mut txn, *key, value.clone());
        }
        // Status is a tracked field: "done" racing "interrupted" is kept as a conflict.
        crate::doc::record::log_field(
            &mut txn,
            own,
            &format!("messages/{id}/status"),
            Any::from(status.as_str()),
            self.writer.now_ms,
        );
        self.writer.note(&mut txn, own);
        Ok(())
    }

    /// Finish an open turn.
    pub fn finish_turn(&mut self, id: &str) -> Result<()> {
        self.close_turn(id, TurnStatus::Done, &[])
    }

    /// Fail an open turn with a reason.
    pub fn fail_turn(&mut self, id: &str, reason: &str) -> Result<()> {
        self.close_turn(id, TurnStatus::Error, &[("error", Any::from(reason))])
    }

    /// Any participant may stop an open turn; the writer's further chunks are refused.
    pub fn request_stop(&mut self, id: &str, by: &Participant, now_ms: u64) -> Result<()> {
        self.close_turn(
            id,
            TurnStatus::Stopped,
            &[
                ("stopRequestedBy", by.to_any()),
                ("stopRequestedAt", Any::from(now_ms as f64)),
            ],
        )
    }

    /// Mark an open turn interrupted (its writer vanished). Returns false when the turn
    /// was already closed.
    pub fn interrupt_turn(&mut self, id: &str) -> Result<bool> {
        match self.close_turn(id, TurnStatus::Interrupted, &[]) {
            Ok(()) => Ok(true),
            Err(Error::TurnClosed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every open turn with the yrs client id of its writer.
    pub fn open_turns(&self) -> Vec<(String, u64)> {
        let txn = self.doc.transact();
        let mut out: Vec<(String, u64)> = self
            .messages
            .iter(&txn)
            .filter_map(|(id, value)| {
                let Out::YMap(m) = value else { return None };
                if !Self::status_of(&m, &txn).is_open() {
                    return None;
                }
                Some((id.to_owned(), get_num(&m, &txn, "writer")? as u64))
            })
            .collect();
        out.sort();
        out
    }

    /// React to a message (idempotent per kind and participant).
    pub fn react(
        &mut self,
        message: &str,
        kind: &str,
        by: &Participant,
        now_ms: u64,
    ) -> Result<()> {
        if kind.is_empty() {
            return Err(Error::Empty("reaction kind"));
        }
        let mut txn = self.doc.transact_mut();
        let reactions = self.reactions_map(&mut txn, message)?;
        let mut r = HashMap::new();
        r.insert("kind".to_owned(), Any::from(kind));
        r.insert("by".to_owned(), by.to_any());
        r.insert("at".to_owned(), Any::from(now_ms as f64));
        reactions.insert(&mut txn, format!("{kind}:{}", by.id), Any::Map(Arc::new(r)));
        Ok(())
    }

    /// Take back a reaction.
    pub fn unreact(&mut self, message: &str, kind: &str, by: &Participant) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let reactions = self.reactions_map(&mut txn, message)?;
        reactions.remove(&mut txn, &format!("{kind}:{}", by.id));
        Ok(())
    }

    fn reactions_map(&self, txn: &mut TransactionMut<'_>, message: &str) -> Result<MapRef> {
        let m = self.message_map(txn, message)?;
        match m.get(txn, "reactions") {
            Some(Out::YMap(r)) => Ok(r),
            _ => Ok(m.insert(txn, "reactions", MapPrelim::default())),
        }
    }

    /// Fork `parent` at `at_message`: the branch sees the parent up to that message,
    /// then its own messages. Returns the branch's conversation id.
    pub fn fork_conversation(
        &mut self,
        parent: &str,
        at_message: &str,
        title: &str,
        creator: &Participant,
        now_ms: u64,
    ) -> Result<String> {
        let visible = self.messages(parent)?;
        if !visible.iter().any(|m| m.id == at_message) {
            return Err(Error::UnknownMessage(format!(
                "{at_message} (in conversation `{parent}`)"
            )));
        }
        let id = self.fresh_id();
        let mut fork = HashMap::new();
        fork.insert("conversation".to_owned(), Any::from(parent));
        fork.insert("message".to_owned(), Any::from(at_message));
        let mut txn = self.doc.transact_mut();
        let entry = MapPrelim::from_iter([
            ("title", Any::from(title)),
            ("createdBy", Any::from(creator.id.as_str())),
            ("creator", creator.to_any()),
            ("createdAt", Any::from(now_ms as f64)),
            ("forkOf", Any::Map(Arc::new(fork))),
        ]);
        self.conversations.insert(&mut txn, id.as_str(), entry);
        Ok(id)
    }

    /// The branches forked directly from `conversation`, oldest first.
    pub fn branches(&self, conversation: &str) -> Result<Vec<BranchInfo>> {
        let txn = self.doc.transact();
        if self.conversations.get(&txn, conversation).is_none() {
            return Err(Error::UnknownConversation(conversation.to_owned()));
        }
        let mut out: Vec<BranchInfo> = self
            .conversations
            .iter(&txn)
            .filter_map(|(id, value)| {
                let Out::YMap(c) = value else { return None };
                let (parent, at) = fork_point(&c, &txn)?;
                if parent != conversation {
                    return None;
                }
                let mut people: BTreeMap<String, Participant> = BTreeMap::new();
                if let Some(Out::Any(any)) = c.get(&txn, "creator") {
                    if let Some(p) = Participant::from_any(&any) {
                        people.insert(p.id.clone(), p);
                    }
                }
                for m in self.own_messages(&txn, id) {
                    people.entry(m.author.id.clone()).or_insert(m.author);
                }
                Some(BranchInfo {
                    id: id.to_owned(),
                    title: get_str(&c, &txn, "title").unwrap_or_default(),
                    fork_message: at,
                    participants: people.into_values().collect(),
                    created_at: get_num(&c, &txn, "createdAt").unwrap_or(0.0),
                })
            })
            .collect();
        out.sort_by(|a, b| a.created_at.total_cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Merge a branch back: post into its parent an attributed merge record with the
    /// picked messages (which must be the branch's own) and the structured summary.
    /// Returns the merge record's message id.
    pub fn merge_branch(
        &mut self,
        branch: &str,
        picked: &[String],
        summary: MergeSummary,
        by: &Participant,
        now_ms: u64,
    ) -> Result<String> {
        let (parent, own) = {
            let txn = self.doc.transact();
            let Some(Out::YMap(c)) = self.conversations.get(&txn, branch) else {
                return Err(Error::UnknownConversation(branch.to_owned()));
            };
            let Some((parent, _)) = fork_point(&c, &txn) else {
                return Err(Error::NotABranch(branch.to_owned()));
            };
            (parent, self.own_messages(&txn, branch))
        };
        if let Some(missing) = picked.iter().find(|id| !own.iter().any(|m| &m.id == *id)) {
            return Err(Error::UnknownMessage(format!(
                "{missing} (in branch `{branch}`)"
            )));
        }
        // Keep branch order whatever order they were picked in.
        let messages: Vec<String> = own
            .iter()
            .filter(|m| picked.contains(&m.id))
            .map(|m| m.id.clone())
            .collect();
        let record = MergeRecord {
            branch: branch.to_owned(),
            messages,
            summary,
            by: by.clone(),
        };
        let id = self.post_message(&parent, by, Role::System, &record.summary.summary, now_ms)?;
        let mut txn = self.doc.transact_mut();
        let m = self.message_map(&txn, &id)?;
        m.insert(&mut txn, "merge", record.to_any());
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::sync_docs as sync;

    fn room() -> (RoomDoc, Participant, Participant) {
        let mut doc = RoomDoc::new(1);
        let ada = Participant::person("ada", "Ada");
        doc.create_conversation(Some("main"), "Main", &ada, 0)
            .unwrap();
        (doc, ada, Participant::agent("bot", "Bot"))
    }

    #[test]
    fn a_turn_streams_then_finishes() -> Result<()> {
        let (mut doc, _, bot) = room();
        let id = doc.open_turn("main", &bot, Role::Assistant, 1, 10)?;
        assert_eq!(doc.messages("main")?[0].status, TurnStatus::Pending);
        doc.append_turn(&id, "Hel")?;
        doc.append_turn_chunks(&[(id.clone(), "lo".into()), (id.clone(), ", team".into())])?;
        let m = &doc.messages("main")?[0];
        assert_eq!(
            (m.status, m.text.as_str()),
            (TurnStatus::Streaming, "Hello, team")
        );
        assert_eq!(doc.open_turns(), vec![(id.clone(), 1)]);
        doc.finish_turn(&id)?;
        assert_eq!(doc.messages("main")?[0].status, TurnStatus::Done);
        assert!(doc.open_turns().is_empty());
        assert_eq!(
            doc.append_turn(&id, "more").unwrap_err(),
            Error::TurnClosed {
                id: id.clone(),
                status: "done"
            }
        );
        Ok(())
    }

    #[test]
    fn anyone_can_stop_a_turn_and_the_writer_is_refused() -> Result<()> {
        let (mut agent_side, ada, bot) = room();
        let id = agent_side.open_turn("main", &bot, Role::Assistant, 1, 0)?;
        agent_side.append_turn(&id, "thinking")?;
        let mut person_side = RoomDoc::new(2);
        sync(&agent_side, &person_side);
        person_side.request_stop(&id, &ada, 5)?;
        sync(&person_side, &agent_side);
        let err = agent_side.append_turn(&id, " more").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("turn `{id}` is stopped; it takes no more text")
        );
        let m = &agent_side.messages("main")?[0];
        assert_eq!(m.status, TurnStatus::Stopped);
        assert_eq!(m.stop_requested_by.as_ref(), Some(&ada));
        assert_eq!(m.text, "thinking");
        Ok(())
    }

    #[test]
    fn failing_and_interrupting() -> Result<()> {
        let (mut doc, _, bot) = room();
        let a = doc.open_turn("main", &bot, Role::Assistant, 1, 0)?;
        let b = doc.open_turn("main", &bot, Role::Tool, 1, 1)?;
        doc.fail_turn(&a, "model overloaded")?;
        assert!(doc.interrupt_turn(&b)?);
        assert!(!doc.interrupt_turn(&b)?, "already closed");
        let msgs = doc.messages("main")?;
        assert_eq!(msgs[0].status, TurnStatus::Error);
        assert_eq!(msgs[0].error.as_deref(), Some("model overloaded"));
        assert_eq!(msgs[1].status, TurnStatus::Interrupted);
        assert!(matches!(
            doc.append_turn("nope", "x"),
            Err(Error::UnknownMessage(_))
        ));
        Ok(())
    }

    #[test]
    fn reactions_record_who() -> Result<()> {
        let (mut doc, ada, bot) = room();
        let id = doc.post_message("main", &bot, Role::Assistant, "answer", 0)?;
        doc.react(&id, "helpful", &ada, 3)?;
        doc.react(&id, "helpful", &ada, 4)?;
        doc.react(&id, "helpful", &bot, 5)?;
        let r = &doc.messages("main")?[0].reactions;
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].by.id.as_str(), r[0].at), ("ada", 4.0));
        doc.unreact(&id, "helpful", &ada)?;
        assert_eq!(doc.messages("main")?[0].reactions.len(), 1);
        assert_eq!(
            doc.react(&id, "", &ada, 0).unwrap_err(),
            Error::Empty("reaction kind")
        );
        Ok(())
    }

    #[test]
    fn branches_see_the_parent_up_to_the_fork_and_merge_back() -> Result<()> {
        let (mut doc, ada, bot) = room();
        let q = doc.post_message("main", &ada, Role::User, "question", 1)?;
        doc.post_message("main", &bot, Role::Assistant, "answer", 2)?;
        let branch = doc.fork_conversation("main", &q, "try another way", &ada, 3)?;
        let idea = doc.post_message(&branch, &bot, Role::Assistant, "another idea", 4)?;
        doc.post_message(&branch, &ada, Role::User, "nice", 5)?;
        let texts: Vec<String> = doc.messages(&branch)?.into_iter().map(|m| m.text).collect();
        assert_eq!(texts, ["question", "another idea", "nice"]);
        let branches = doc.branches("main")?;
        assert_eq!(branches.len(), 1);
        assert_eq!(branches[0].fork_message, q);
        let ids: Vec<&str> = branches[0]
            .participants
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(ids, ["ada", "bot"]);
        let summary = MergeSummary {
            summary: "the other way works".into(),
            key_findings: vec!["it is faster".into()],
            recommendations: vec!["adopt it".into()],
            action_items: vec!["ada: write it up".into()],
        };
        let merge = doc.merge_branch(
            &branch,
            std::slice::from_ref(&idea),
            summary.clone(),
            &ada,
            6,
        )?;
        let last = doc.messages("main")?.pop().unwrap();
        assert_eq!(last.id, merge);
        let record = last.merge.expect("merge record");
        assert_eq!(record.messages, vec![idea]);
        assert_eq!(record.summary, summary);
        assert_eq!(record.by, ada);
        assert!(matches!(
            doc.merge_branch(&branch, &[q], MergeSummary::default(), &ada, 7),
            Err(Error::UnknownMessage(_))
        ));
        assert_eq!(
            doc.merge_branch("main", &[], MergeSummary::default(), &ada, 7)
                .unwrap_err(),
            Error::NotABranch("main".into())
        );
        Ok(())
    }

    #[test]
    fn fork_cycles_do_not_hang() -> Result<()> {
        let (mut doc, ada, _) = room();
        let m = doc.post_message("main", &ada, Role::User, "x", 1)?;
        let b = doc.fork_conversation("main", &m, "b", &ada, 2)?;
        // A hostile peer rewires main to fork from its own branch.
        {
            let mut txn = doc.doc.transact_mut();
            let Some(Out::YMap(main)) = doc.conversations.get(&txn, "main") else {
                panic!()
            };
            let mut fork = HashMap::new();
            fork.insert("conversation".to_owned(), Any::from(b.as_str()));
            fork.insert("message".to_owned(), Any::from(m.as_str()));
            main.insert(&mut txn, "forkOf", Any::Map(Arc::new(fork)));
        }
        assert!(!doc.messages(&b)?.is_empty());
        Ok(())
    }
}
