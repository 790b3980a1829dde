//! Suggestions: edits held for review because their author had no lease on a document
//! whose policy is `suggest`. An owner or the lease holder accepts (the room applies
//! the held update) or rejects them.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Actor, Authority, OpError, OpResult, Outcome, KEEP_RECORDS};
use crate::names::named_enum;

named_enum! {
    /// Where a suggestion stands.
    pub enum SuggestionStatus {
        /// Waiting for a decision.
        Pending = "pending",
        /// Applied.
        Accepted = "accepted",
        /// Dropped.
        Rejected = "rejected",
    }
}

/// An update held for review because its author had no lease on the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    /// Id (`s<number>`).
    pub id: String,
    /// The document it changes.
    pub document: String,
    /// Author's user id.
    pub author: String,
    /// Author's name.
    pub author_name: String,
    /// The held update (v1, base64url).
    pub update: String,
    /// Pending, accepted or rejected.
    pub status: SuggestionStatus,
    /// When, ms since the Unix epoch.
    pub at: u64,
}

impl Authority {
    /// Hold `update` by `actor` for `document`; returns the suggestion's id.
    pub fn add_suggestion(
        &mut self,
        actor: &Actor,
        document: &str,
        update: &[u8],
        now_ms: u64,
    ) -> String {
        let id = self.next_id("s");
        self.suggestions.push(Suggestion {
            id: id.clone(),
            document: document.to_owned(),
            author: actor.id.clone(),
            author_name: actor.name.clone(),
            update: super::token::base64url(update),
            status: SuggestionStatus::Pending,
            at: now_ms,
        });
        trim_suggestions(&mut self.suggestions);
        id
    }

    /// A pending suggestion's document and update.
    pub fn suggestion_update(&self, id: &str) -> Result<(String, Vec<u8>), OpError> {
        let s = self
            .suggestions
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| OpError::not_found(format!("no suggestion `{id}`")))?;
        if s.status != SuggestionStatus::Pending {
            return Err(OpError::conflict(format!(
                "suggestion `{id}` is already {}",
                s.status
            )));
        }
        let update = super::token::unbase64url(&s.update)
            .ok_or_else(|| OpError::invalid(format!("stored suggestion `{id}` is damaged")))?;
        Ok((s.document.clone(), update))
    }

    /// Only an owner, or the holder of the document's lease, may `verb` (accept or
    /// reject) a suggestion for `doc`.
    pub fn may_decide_suggestion(
        &self,
        actor: &Actor,
        doc: &str,
        file: Option<&str>,
        verb: &str,
        now_ms: u64,
    ) -> Result<(), OpError> {
        // A lease counts only while its holder may still write: a role change ends the
        // lease, and this holds even for one that outlived a change (a token's role).
        let holder = actor.role.can_edit()
            && ((self.locks.policies().contains_key(doc)
                && self.locks.write_check(doc, &actor.id, now_ms).is_ok())
                || file.is_some_and(|path| self.locks.holds_path(path, &actor.id, now_ms)));
        if actor.role.is_owner() || holder {
            Ok(())
        } else {
            Err(OpError::forbidden(format!(
                "only an owner or the holder of `doc:{doc}` (or of a `path:` lease over its file) may {verb} suggestions for it"
            )))
        }
    }

    /// Mark a suggestion accepted or rejected.
    pub fn resolve_suggestion(&mut self, id: &str, accepted: bool) {
        if let Some(s) = self.suggestions.iter_mut().find(|s| s.id == id) {
            s.status = if accepted {
                SuggestionStatus::Accepted
            } else {
                SuggestionStatus::Rejected
            };
        }
    }

    pub(super) fn list_suggestions(&self) -> OpResult {
        let list: Vec<Value> = self
            .suggestions
            .iter()
            .map(|s| {
                json!({
                    "id": s.id, "document": s.document, "author": s.author,
                    "authorName": s.author_name, "status": s.status, "at": s.at,
                    "bytes": s.update.len() * 3 / 4,
                })
            })
            .collect();
        Ok(Outcome::new(json!({ "suggestions": list }), vec![]))
    }
}

/// Keep at most [`KEEP_RECORDS`] suggestions, dropping decided ones first.
fn trim_suggestions(list: &mut Vec<Suggestion>) {
    while list.len() > KEEP_RECORDS {
        match list
            .iter()
            .position(|s| s.status != SuggestionStatus::Pending)
        {
            Some(i) => {
                list.remove(i);
            }
            None => {
                list.remove(0);
            }
        }
    }
}
