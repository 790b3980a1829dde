//! What changed in a room's conflicts since someone last looked. One watcher serves
//! every reader: a session turns its changes into notices for its participant, and the
//! room turns them into `conflict.raised` events for the feed and webhooks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Conflict, ConflictStatus};

/// What happened to a conflict since the last look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ConflictNoticeKind"))]
pub enum NoticeKind {
    /// A conflict appeared (or was first seen).
    Raised,
    /// Someone asked an agent to resolve it.
    AwaitingAgent,
    /// An agent proposed a merge, waiting for a person.
    Proposed,
    /// It was resolved.
    Resolved,
}

/// The status each conflict had when last seen. Serializes, so a server can keep it
/// across restarts and announce each conflict once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictWatch {
    known: BTreeMap<String, ConflictStatus>,
}

impl ConflictWatch {
    /// An empty watch: everything not yet resolved is new.
    pub fn new() -> Self {
        Self::default()
    }

    /// The changes in `conflicts` since the last call, in their order. A conflict
    /// already resolved when first seen is no news and is not reported.
    pub fn changes(&mut self, conflicts: Vec<Conflict>) -> Vec<(NoticeKind, Conflict)> {
        let mut out = Vec::new();
        for conflict in conflicts {
            let before = self.known.insert(conflict.id.clone(), conflict.status);
            if before == Some(conflict.status) {
                continue;
            }
            let kind = match conflict.status {
                ConflictStatus::Open => NoticeKind::Raised,
                ConflictStatus::AwaitingAgent => NoticeKind::AwaitingAgent,
                ConflictStatus::Proposed => NoticeKind::Proposed,
                ConflictStatus::Resolved if before.is_some() => NoticeKind::Resolved,
                ConflictStatus::Resolved => continue,
            };
            out.push((kind, conflict));
        }
        out
    }
}
