//! Presence for people and agents, on the Yjs awareness protocol.
//!
//! Each participant's awareness state carries `user` (id, name, kind), `status`
//! (active, idle, away — offline is simply absent), `activity` ("typing in …",
//! "reviewing …", "running tool …"), `typingIn` (a conversation id), `cursor` (a
//! document and its anchor/head as relative positions, so they survive concurrent
//! edits), `view` (what they look at) and `following` (whose view they follow), plus any
//! fields the app adds. Status is derived from the time of the last input, which the
//! app reports; time is injected.

use crate::names::named_enum;
use serde::Serialize;
use yrs::{Assoc, IndexedSequence, ReadTxn, StickyIndex, Text, Transact};

use crate::doc::{doc_text_name, Participant, ParticipantKind, RoomDoc};

/// Without input for this long, a participant is idle.
pub const IDLE_AFTER_MS: u64 = 60_000;
/// Without input for this long, a participant is away.
pub const AWAY_AFTER_MS: u64 = 5 * 60_000;

named_enum! {
    /// How present someone is.
    pub enum PresenceStatus {
        /// Input within the last minute.
        Active = "active",
        /// No input for a minute.
        Idle = "idle",
        /// No input for five minutes.
        Away = "away",
    }
}

impl PresenceStatus {
    /// The status after `quiet_ms` without input.
    pub fn after_quiet(quiet_ms: u64) -> Self {
        if quiet_ms >= AWAY_AFTER_MS {
            PresenceStatus::Away
        } else if quiet_ms >= IDLE_AFTER_MS {
            PresenceStatus::Idle
        } else {
            PresenceStatus::Active
        }
    }
}

/// A cursor or selection in a document, resolved to current UTF-16 offsets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Cursor {
    /// The document.
    pub document: String,
    /// Where the selection starts.
    pub anchor: u32,
    /// Where it ends (equal to `anchor` for a caret).
    pub head: u32,
}

/// One participant's presence as everyone sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "PresenceInfo"))]
pub struct Presence {
    /// The awareness (yrs) client id: one per tab or agent process.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub client_id: u64,
    /// Who.
    pub user: Participant,
    /// Active, idle or away (as they set it, while they set it by hand).
    pub status: PresenceStatus,
    /// A status they wrote themselves, e.g. "back in 10 min".
    pub note: Option<String>,
    /// What they are doing.
    pub activity: Option<String>,
    /// The conversation they are typing in.
    pub typing_in: Option<String>,
    /// Their cursor, resolved against the local document.
    pub cursor: Option<Cursor>,
    /// What they look at (app-defined, e.g. a tab id).
    pub view: Option<String>,
    /// Whose view they follow (a user id).
    pub following: Option<String>,
    /// True for this session.
    pub is_self: bool,
}

/// Encode a position in document `id` as a relative position (JSON, as Yjs's
/// `relativePositionToJSON` writes it).
pub fn relative_position(doc: &RoomDoc, id: &str, index: u32) -> Option<serde_json::Value> {
    serde_json::to_value(sticky_position(doc, id, index)?).ok()
}

/// [`relative_position`] as yrs keeps it.
pub fn sticky_position(doc: &RoomDoc, id: &str, index: u32) -> Option<StickyIndex> {
    let txn = doc.doc().transact();
    let text = txn.get_text(doc_text_name(id).as_str())?;
    // After the character at `index`.
    // At the very end there is no character after: the end of the text, wherever it
    // moves (as Yjs keeps an end position, and y-codemirror publishes one while you
    // type at the end).
    text.sticky_index(&txn, index, Assoc::After).or_else(|| {
        (index == text.len(&txn)).then(|| StickyIndex::from_type(&txn, &text, Assoc::After))
    })
}

/// Resolve a relative position (JSON) to a current offset in the doc.
pub fn resolve_position(doc: &RoomDoc, value: &serde_json::Value) -> Option<u32> {
    let sticky: StickyIndex = serde_json::from_value(value.clone()).ok()?;
    let txn = doc.doc().transact();
    sticky.get_offset(&txn).map(|o| o.index)
}

/// Read one awareness state (JSON text) into a [`Presence`]; `None` when it carries no
/// Confab `user` (e.g. a stock Yjs client that set only a name).
pub fn read_presence(
    doc: &RoomDoc,
    client_id: u64,
    state: &str,
    is_self: bool,
) -> Option<Presence> {
    let v: serde_json::Value = serde_json::from_str(state).ok()?;
    let user = &v["user"];
    let participant = Participant {
        id: user["id"].as_str()?.to_owned(),
        name: user["name"].as_str()?.to_owned(),
        kind: user["kind"].as_str().and_then(ParticipantKind::parse)?,
    };
    let text = |key: &str| v[key].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    let cursor = v["cursor"].as_object().and_then(|c| {
        let document = c.get("document")?.as_str()?.to_owned();
        let anchor = resolve_position(doc, c.get("anchor")?)?;
        let head = resolve_position(doc, c.get("head")?)?;
        Some(Cursor {
            document,
            anchor,
            head,
        })
    });
    Some(Presence {
        client_id,
        user: participant,
        status: v["status"]
            .as_str()
            .and_then(PresenceStatus::parse)
            .unwrap_or(PresenceStatus::Active),
        note: text("note"),
        activity: text("activity"),
        typing_in: text("typingIn"),
        cursor,
        view: text("view"),
        following: text("following"),
        is_self,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_quiet_time() {
        assert_eq!(PresenceStatus::after_quiet(0), PresenceStatus::Active);
        assert_eq!(
            PresenceStatus::after_quiet(IDLE_AFTER_MS),
            PresenceStatus::Idle
        );
        assert_eq!(
            PresenceStatus::after_quiet(AWAY_AFTER_MS),
            PresenceStatus::Away
        );
    }

    #[test]
    fn relative_positions_survive_edits_before_them() {
        let mut doc = RoomDoc::new(1);
        doc.create_document(Some("d"), "D", 0).unwrap();
        doc.insert_text("d", 0, "hello world").unwrap();
        let pos = relative_position(&doc, "d", 6).unwrap();
        assert!(pos.get("item").is_some(), "{pos}");
        doc.insert_text("d", 0, ">> ").unwrap();
        assert_eq!(resolve_position(&doc, &pos), Some(9));
        assert_eq!(relative_position(&doc, "d", 999), None);
        // At the end: the end, wherever it moves (typing there keeps the caret after).
        let end = relative_position(&doc, "d", 14).unwrap();
        doc.insert_text("d", 14, "!").unwrap();
        assert_eq!(resolve_position(&doc, &end), Some(15));
        assert_eq!(
            resolve_position(&doc, &serde_json::json!({"bogus": 1})),
            None
        );
    }

    #[test]
    fn stock_states_without_user_are_skipped() {
        let doc = RoomDoc::new(1);
        assert!(read_presence(&doc, 5, r#"{"user":{"name":"yjs"}}"#, false).is_none());
        let p = read_presence(
            &doc,
            5,
            r#"{"user":{"id":"a","name":"A","kind":"agent"},"status":"idle","activity":"running tool grep"}"#,
            false,
        )
        .unwrap();
        assert_eq!(p.status, PresenceStatus::Idle);
        assert_eq!(p.activity.as_deref(), Some("running tool grep"));
        assert_eq!(p.user.kind, ParticipantKind::Agent);
    }
}
