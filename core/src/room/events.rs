//! What the room tells the authority's feed about edits: audited edit batches, held
//! suggestions, finished turns, stop requests and handoffs.

use serde_json::{json, Value};

use super::*;
use crate::authority::{Actor, Event, EventKind};
use crate::conflict::{ConflictWatch, NoticeKind};
use crate::protocol::scan::{Scan, ZonePath};

impl Room {
    /// Hold an update as a suggestion for `doc`.
    pub(super) fn suggest(&mut self, actor: &Actor, doc: &str, update: Vec<u8>, now_ms: u64) {
        let bytes = update.len();
        let id = self.authority.add_suggestion(actor, doc, &update, now_ms);
        self.authority_dirty = true;
        self.event(
            EventKind::SuggestionCreated,
            Some(actor),
            Some(&id),
            json!({ "document": doc, "bytes": bytes }),
        );
    }

    pub(super) fn note_edit(
        &mut self,
        conn: ConnId,
        actor: &Actor,
        touched: &BTreeSet<Option<ZonePath>>,
        bytes: usize,
    ) {
        let zones = touched.iter().flatten().filter_map(|p| p.first().cloned());
        let batch = self.edits.entry(conn).or_default();
        batch.actor.get_or_insert_with(|| actor.clone());
        batch.updates += 1;
        batch.bytes += bytes as u64;
        batch.zones.extend(zones);
    }

    /// Events the document itself carries: a new message, a turn that finished, a stop
    /// request, a handoff.
    pub(super) fn notice_doc_events(
        &mut self,
        actor: &Actor,
        scan: &Scan,
        touched: &BTreeSet<Option<ZonePath>>,
        now_ms: u64,
    ) {
        self.notice_comments(actor, scan, touched, now_ms);
        self.note_search(actor, scan, touched, now_ms);
        let mut messages = BTreeSet::new();
        for item in &scan.items {
            if let (true, Some(crate::protocol::scan::ParentRef::Root(root)), Some(key)) =
                (item.is_type, &item.parent, &item.parent_sub)
            {
                if root == "messages" {
                    messages.insert(key.clone());
                } else if root == "contextEvents" {
                    if let Some((to, text)) = self.handoff_of(key) {
                        let detail = json!({ "to": to, "text": text });
                        self.event(EventKind::Handoff, Some(actor), Some(key), detail);
                    }
                }
            }
        }
        for path in touched.iter().flatten() {
            if path.len() >= 2 && path[0] == "messages" {
                messages.insert(path[1].clone());
            }
        }
        for id in messages {
            let Some(m) = crate::model::message_in(self.awareness.doc(), &id) else {
                continue;
            };
            let status = m.status.as_str().to_owned();
            let stop = m.stop_requested_by.is_some();
            let before = self.turns.insert(id.clone(), (status.clone(), stop));
            let detail = json!({
                "message": id,
                "conversation": m.conversation,
                "author": m.author,
                "status": status,
            });
            let open = |s: &str| s == "pending" || s == "streaming";
            if before.is_none() && (m.created_at as u64).saturating_add(60_000) > now_ms {
                self.event(
                    EventKind::MessagePosted,
                    Some(actor),
                    Some(&id),
                    detail.clone(),
                );
                // A post arrives whole; a streamed answer mentions when it finishes.
                if !open(&status) {
                    self.notice_mentions(&m);
                }
            }
            // A message first seen already closed (a plain post) finished no turn here.
            let (was, stopped) = before.unwrap_or_else(|| (status.clone(), false));
            if open(&was) && !open(&status) {
                self.notice_mentions(&m);
                self.event(
                    EventKind::TurnFinished,
                    Some(actor),
                    Some(&id),
                    detail.clone(),
                );
            }
            if stop && !stopped {
                self.event(EventKind::StopRequested, Some(actor), Some(&id), detail);
            }
        }
    }

    /// Comments a change touched: a new one, a reply, a resolution or reopening; each
    /// is an event, and @mentions in new text notify.
    fn notice_comments(
        &mut self,
        actor: &Actor,
        scan: &Scan,
        touched: &BTreeSet<Option<ZonePath>>,
        now_ms: u64,
    ) {
        // A new comment is a map made in the root (its fields fold into the root's zone);
        // a reply or a resolution touches the comment's own zone.
        let mut ids: BTreeSet<String> = touched
            .iter()
            .flatten()
            .filter(|p| p.len() >= 2 && p[0] == crate::doc::schema::COMMENTS)
            .map(|p| p[1].clone())
            .collect();
        for item in &scan.items {
            if let (true, Some(crate::protocol::scan::ParentRef::Root(root)), Some(key)) =
                (item.is_type, &item.parent, &item.parent_sub)
            {
                if root == crate::doc::schema::COMMENTS {
                    ids.insert(key.clone());
                }
            }
        }
        for id in ids {
            let Some(c) = crate::model::comment::comment_in(self.awareness.doc(), &id) else {
                continue;
            };
            let now = (c.resolved_by.is_some(), c.replies.len());
            let before = self.comments_seen.insert(id.clone(), now);
            let place = match (&c.anchor.document, &c.anchor.message) {
                (Some(doc), _) => format!("doc:{doc}"),
                (_, Some(message)) => format!("message:{message}"),
                _ => String::new(),
            };
            let detail = json!({
                "comment": id,
                "document": c.anchor.document,
                "message": c.anchor.message,
                "quote": c.anchor.quote,
                "author": c.author.id,
            });
            let Some((was_resolved, was_replies)) = before else {
                if (c.created_at as u64).saturating_add(60_000) > now_ms {
                    self.event(EventKind::CommentAdded, Some(actor), Some(&id), detail);
                    self.notice_mentions_in(&c.text, &c.author, &place, "in a comment");
                }
                continue;
            };
            for reply in c.replies.iter().skip(was_replies) {
                self.event(
                    EventKind::CommentReplied,
                    Some(actor),
                    Some(&id),
                    json!({ "comment": id, "text": reply.text }),
                );
                self.notice_mentions_in(&reply.text, &reply.author, &place, "in a reply");
            }
            if was_resolved != now.0 {
                let kind = if now.0 {
                    EventKind::CommentResolved
                } else {
                    EventKind::CommentReopened
                };
                self.event(kind, Some(actor), Some(&id), detail);
            }
        }
    }

    /// Whom context event `id` hands work to, and what it says, when it is a handoff.
    fn handoff_of(&self, id: &str) -> Option<(Option<String>, String)> {
        use yrs::{Any, Map, Out};
        let txn = self.awareness.doc().transact();
        let Out::YMap(m) = txn.get_map("contextEvents")?.get(&txn, id)? else {
            return None;
        };
        let text = |key: &str| match m.get(&txn, key) {
            Some(Out::Any(Any::String(s))) => Some(s.to_string()),
            _ => None,
        };
        (text("kind").as_deref() == Some("handoff"))
            .then(|| (text("to"), text("text").unwrap_or_default()))
    }

    pub(super) fn event(
        &mut self,
        action: EventKind,
        actor: Option<&Actor>,
        target: Option<&str>,
        detail: Value,
    ) {
        let at = self.clock.now();
        self.events
            .push(Event::new(action, actor, target, detail, at));
    }

    /// Events since the last call, oldest first: the edge audits them, shows them live
    /// and sends them to webhooks. With `with_edits`, the edit batches too (one per
    /// connection since the last such call): the edge asks for them once per flush.
    pub fn take_events(&mut self, with_edits: bool) -> Vec<Event> {
        let events = self.take_events_raw(with_edits);
        for e in &events {
            self.notices_for(e);
        }
        events
    }

    fn take_events_raw(&mut self, with_edits: bool) -> Vec<Event> {
        let at = self.clock.now();
        let edits = if with_edits {
            std::mem::take(&mut self.edits)
        } else {
            BTreeMap::new()
        };
        for (_, batch) in edits {
            let zones: Vec<String> = batch.zones.into_iter().collect();
            let target = zones.join(",");
            self.events.push(Event::new(
                EventKind::Edit,
                batch.actor.as_ref(),
                (!target.is_empty()).then_some(target.as_str()),
                json!({ "updates": batch.updates, "bytes": batch.bytes, "touched": zones }),
                at,
            ));
        }
        std::mem::take(&mut self.events)
    }

    /// Record an event the edge itself raised (a webhook delivery, a conflict seen).
    pub fn record_event(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Raise `conflict.raised` for each conflict the room has not announced before (and
    /// `conflict.proposed` for each merge an agent proposed);
    /// returns true when what the room has seen changed, so the edge stores
    /// [`Room::conflict_watch`] and announces each conflict once across restarts.
    pub fn announce_conflicts(&mut self) -> bool {
        let changes = self.conflict_watch.changes(self.conflicts());
        let at = self.clock.now();
        for (kind, conflict) in &changes {
            let event = match kind {
                NoticeKind::Raised => EventKind::ConflictRaised,
                NoticeKind::Proposed => EventKind::ConflictProposed,
                _ => continue,
            };
            self.events.push(Event::new(
                event,
                None,
                Some(&conflict.id),
                json!({ "conflict": conflict }),
                at,
            ));
        }
        !changes.is_empty()
    }

    /// What the room has seen of its conflicts (see [`Room::announce_conflicts`]).
    pub fn conflict_watch(&self) -> &ConflictWatch {
        &self.conflict_watch
    }

    /// Restore what the room had seen of its conflicts before a restart.
    pub fn set_conflict_watch(&mut self, watch: ConflictWatch) {
        self.conflict_watch = watch;
    }
}
