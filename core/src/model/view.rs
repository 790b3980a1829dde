//! "Sync with a teammate": each user's view (open tabs, active tab, layout) lives in the
//! room, so it survives a refresh and follows the user across devices. Two users who
//! sync share one view — initialised from the initiator's — that either can change;
//! stopping gives each an independent view that starts as a copy of the shared one.
//! Only tabs, the active tab and the layout are ever shared: personal settings and
//! unfinished uploads are not part of a view.

use serde::{Deserialize, Serialize};
use yrs::{Any, Map, MapPrelim, MapRef, Out, ReadTxn, Transact, TransactionMut, WriteTxn};

use crate::doc::read::{any_str, get_str};
use crate::doc::RoomDoc;
use crate::error::{Error, Result};

use crate::doc::schema::{SYNCS, VIEWS};

/// What a user looks at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct View {
    /// Open tabs (ids of conversations, documents, ... chosen by the app).
    #[serde(default)]
    pub tabs: Vec<String>,
    /// The tab in front.
    #[serde(default)]
    pub active_tab: Option<String>,
    /// Visible panels, in order.
    #[serde(default)]
    pub panels: Vec<String>,
    /// Split position between panels, 0..1.
    #[serde(default)]
    pub split: Option<f64>,
}

/// A change to a view: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ViewPatch {
    /// New tabs.
    #[cfg_attr(feature = "ts", ts(optional))]
    pub tabs: Option<Vec<String>>,
    /// New active tab.
    #[cfg_attr(feature = "ts", ts(optional))]
    pub active_tab: Option<String>,
    /// New panels.
    #[cfg_attr(feature = "ts", ts(optional))]
    pub panels: Option<Vec<String>>,
    /// New split.
    #[cfg_attr(feature = "ts", ts(optional))]
    pub split: Option<f64>,
}

/// A user's view and whom they are synced with.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ViewState {
    /// What the user sees (the shared view while synced).
    pub view: View,
    /// The sync the user is in, if any.
    pub sync: Option<SyncInfo>,
}

/// Two users looking at one view.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncInfo {
    /// The sync's id (the same for the same pair).
    pub id: String,
    /// Its members' user ids, sorted.
    pub members: Vec<String>,
    /// Who started it.
    pub started_by: String,
}

fn strings(any: Option<&Any>) -> Vec<String> {
    match any {
        Some(Any::Array(items)) => items.iter().filter_map(any_str).collect(),
        _ => Vec::new(),
    }
}

fn string_list(items: &[String]) -> Any {
    Any::Array(items.iter().map(|s| Any::from(s.as_str())).collect())
}

fn read_view<T: ReadTxn>(m: &MapRef, txn: &T) -> View {
    let any = |key: &str| match m.get(txn, key) {
        Some(Out::Any(a)) => Some(a),
        _ => None,
    };
    View {
        tabs: strings(any("tabs").as_ref()),
        active_tab: get_str(m, txn, "activeTab"),
        panels: strings(any("panels").as_ref()),
        split: match any("split") {
            Some(Any::Number(n)) => n.as_f64(),
            _ => None,
        },
    }
}

fn write_view(m: &MapRef, txn: &mut TransactionMut<'_>, patch: &ViewPatch) -> Result<()> {
    if let Some(split) = patch.split {
        if !(0.0..=1.0).contains(&split) {
            return Err(Error::InvalidView(format!(
                "split must be within 0..1, got {split}"
            )));
        }
        m.insert(txn, "split", split);
    }
    if let Some(tabs) = &patch.tabs {
        m.insert(txn, "tabs", string_list(tabs));
    }
    if let Some(active) = &patch.active_tab {
        m.insert(txn, "activeTab", active.as_str());
    }
    if let Some(panels) = &patch.panels {
        m.insert(txn, "panels", string_list(panels));
    }
    Ok(())
}

fn view_patch(view: &View) -> ViewPatch {
    ViewPatch {
        tabs: Some(view.tabs.clone()),
        active_tab: view.active_tab.clone(),
        panels: Some(view.panels.clone()),
        split: view.split,
    }
}

/// The id two users' sync has, whoever starts it.
pub fn sync_id(a: &str, b: &str) -> String {
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    format!("{}:{x}|{y}", x.len())
}

impl RoomDoc {
    fn views_map(&self, txn: &mut TransactionMut<'_>) -> MapRef {
        txn.get_or_insert_map(VIEWS)
    }

    fn syncs_map(&self, txn: &mut TransactionMut<'_>) -> MapRef {
        txn.get_or_insert_map(SYNCS)
    }

    fn child_map(parent: &MapRef, txn: &mut TransactionMut<'_>, key: &str) -> MapRef {
        match parent.get(txn, key) {
            Some(Out::YMap(m)) => m,
            _ => parent.insert(txn, key, MapPrelim::default()),
        }
    }

    /// The active sync `user` is in: (sync id, its map).
    fn active_sync<T: ReadTxn>(&self, txn: &T, user: &str) -> Option<(String, MapRef)> {
        let views = txn.get_map(VIEWS)?;
        let Some(Out::YMap(own)) = views.get(txn, user) else {
            return None;
        };
        let id = get_str(&own, txn, "syncedWith")?;
        let syncs = txn.get_map(SYNCS)?;
        let Some(Out::YMap(sync)) = syncs.get(txn, &id) else {
            return None;
        };
        let active = matches!(sync.get(txn, "active"), Some(Out::Any(Any::Bool(true))));
        let member = matches!(sync.get(txn, "members"), Some(Out::Any(a)) if strings(Some(&a)).iter().any(|m| m == user));
        (active && member).then_some((id, sync))
    }

    /// What `user` sees, and whom they are synced with.
    pub fn view_state(&self, user: &str) -> ViewState {
        let txn = self.doc.transact();
        if let Some((id, sync)) = self.active_sync(&txn, user) {
            let view = match sync.get(&txn, "view") {
                Some(Out::YMap(v)) => read_view(&v, &txn),
                _ => View::default(),
            };
            let members = match sync.get(&txn, "members") {
                Some(Out::Any(a)) => strings(Some(&a)),
                _ => Vec::new(),
            };
            return ViewState {
                view,
                sync: Some(SyncInfo {
                    id,
                    members,
                    started_by: get_str(&sync, &txn, "startedBy").unwrap_or_default(),
                }),
            };
        }
        let view = txn
            .get_map(VIEWS)
            .and_then(|views| match views.get(&txn, user) {
                Some(Out::YMap(own)) => match own.get(&txn, "view") {
                    Some(Out::YMap(v)) => Some(read_view(&v, &txn)),
                    _ => None,
                },
                _ => None,
            })
            .unwrap_or_default();
        ViewState { view, sync: None }
    }

    /// Change what `user` sees: the shared view while synced, their own otherwise.
    pub fn set_view(&mut self, user: &str, patch: &ViewPatch) -> Result<()> {
        if user.is_empty() {
            return Err(Error::Empty("user id"));
        }
        let synced = self.active_sync(&self.doc.transact(), user);
        let mut txn = self.doc.transact_mut();
        let target = match synced {
            Some((_, sync)) => Self::child_map(&sync, &mut txn, "view"),
            None => {
                let views = self.views_map(&mut txn);
                let own = Self::child_map(&views, &mut txn, user);
                Self::child_map(&own, &mut txn, "view")
            }
        };
        write_view(&target, &mut txn, patch)
    }

    /// Start syncing `initiator` with `partner`: both follow one shared view that starts
    /// as the initiator's. Returns the sync's id.
    pub fn start_sync(&mut self, initiator: &str, partner: &str, now_ms: u64) -> Result<String> {
        if initiator.is_empty() || partner.is_empty() {
            return Err(Error::Empty("user id"));
        }
        if initiator == partner {
            return Err(Error::InvalidView(format!(
                "`{initiator}` cannot sync with themselves"
            )));
        }
        let id = sync_id(initiator, partner);
        for user in [initiator, partner] {
            if let Some((other, _)) = self.active_sync(&self.doc.transact(), user) {
                if other != id {
                    return Err(Error::InvalidView(format!(
                        "`{user}` is already synced with someone else; stop that sync first"
                    )));
                }
            }
        }
        let start = self.view_state(initiator).view;
        let mut members = vec![initiator.to_owned(), partner.to_owned()];
        members.sort();
        let mut txn = self.doc.transact_mut();
        let syncs = self.syncs_map(&mut txn);
        let sync = Self::child_map(&syncs, &mut txn, &id);
        sync.insert(&mut txn, "members", string_list(&members));
        sync.insert(&mut txn, "startedBy", initiator);
        sync.insert(&mut txn, "startedAt", now_ms as f64);
        sync.insert(&mut txn, "active", true);
        let view = sync.insert(&mut txn, "view", MapPrelim::default());
        write_view(&view, &mut txn, &view_patch(&start))?;
        let views = self.views_map(&mut txn);
        for user in [initiator, partner] {
            let own = Self::child_map(&views, &mut txn, user);
            own.insert(&mut txn, "syncedWith", id.as_str());
        }
        Ok(id)
    }

    /// Stop the sync `user` is in: every member gets back an independent view that
    /// starts as a copy of the shared one. A no-op when `user` is not synced.
    pub fn stop_sync(&mut self, user: &str) -> Result<()> {
        let Some((_, sync)) = self.active_sync(&self.doc.transact(), user) else {
            return Ok(());
        };
        let state = self.view_state(user);
        let members = state.sync.map(|s| s.members).unwrap_or_default();
        let mut txn = self.doc.transact_mut();
        sync.insert(&mut txn, "active", false);
        let views = self.views_map(&mut txn);
        for member in &members {
            let own = Self::child_map(&views, &mut txn, member);
            own.remove(&mut txn, "syncedWith");
            let view = own.insert(&mut txn, "view", MapPrelim::default());
            write_view(&view, &mut txn, &view_patch(&state.view))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::sync_docs as sync;

    fn tabs(v: &[&str]) -> ViewPatch {
        ViewPatch {
            tabs: Some(v.iter().map(|s| s.to_string()).collect()),
            active_tab: v.first().map(|s| s.to_string()),
            ..ViewPatch::default()
        }
    }

    #[test]
    fn views_are_per_user_and_survive_in_the_doc() -> Result<()> {
        let mut doc = RoomDoc::new(1);
        doc.set_view("ada", &tabs(&["chat", "spec"]))?;
        doc.set_view(
            "ada",
            &ViewPatch {
                split: Some(0.3),
                ..ViewPatch::default()
            },
        )?;
        doc.set_view("bob", &tabs(&["notes"]))?;
        let ada = doc.view_state("ada");
        assert_eq!(ada.view.tabs, ["chat", "spec"]);
        assert_eq!(ada.view.split, Some(0.3));
        assert_eq!(ada.view.active_tab.as_deref(), Some("chat"));
        assert!(ada.sync.is_none());
        // Another device of ada's sees the same view after sync.
        let other_device = RoomDoc::new(9);
        sync(&doc, &other_device);
        assert_eq!(other_device.view_state("ada").view, ada.view);
        assert!(matches!(
            doc.set_view(
                "ada",
                &ViewPatch {
                    split: Some(2.0),
                    ..ViewPatch::default()
                }
            ),
            Err(Error::InvalidView(_))
        ));
        Ok(())
    }

    #[test]
    fn syncing_shares_one_view_and_stopping_copies_it_back() -> Result<()> {
        let mut doc = RoomDoc::new(1);
        doc.set_view("ada", &tabs(&["chat", "spec"]))?;
        doc.set_view("bob", &tabs(&["notes"]))?;
        let id = doc.start_sync("ada", "bob", 5)?;
        assert_eq!(id, sync_id("bob", "ada"));
        // Both see the initiator's view.
        assert_eq!(doc.view_state("bob").view.tabs, ["chat", "spec"]);
        // Either can change it, and both see the change.
        doc.set_view(
            "bob",
            &ViewPatch {
                active_tab: Some("spec".into()),
                ..ViewPatch::default()
            },
        )?;
        assert_eq!(
            doc.view_state("ada").view.active_tab.as_deref(),
            Some("spec")
        );
        let info = doc.view_state("ada").sync.expect("synced");
        assert_eq!(
            (info.members.as_slice(), info.started_by.as_str()),
            (["ada".to_string(), "bob".to_string()].as_slice(), "ada")
        );
        // A third person cannot join a busy pair.
        assert!(matches!(
            doc.start_sync("cy", "ada", 6),
            Err(Error::InvalidView(_))
        ));
        doc.stop_sync("bob")?;
        let (ada, bob) = (doc.view_state("ada"), doc.view_state("bob"));
        assert!(ada.sync.is_none() && bob.sync.is_none());
        assert_eq!(
            bob.view.tabs,
            ["chat", "spec"],
            "bob picks up where the shared view was"
        );
        assert_eq!(bob.view.active_tab.as_deref(), Some("spec"));
        // Now independent again.
        doc.set_view("ada", &tabs(&["chat"]))?;
        assert_eq!(doc.view_state("bob").view.tabs, ["chat", "spec"]);
        assert!(matches!(
            doc.start_sync("ada", "ada", 7),
            Err(Error::InvalidView(_))
        ));
        doc.stop_sync("ada")?; // not synced: nothing to do
        Ok(())
    }

    #[test]
    fn concurrent_starts_by_both_partners_meet_in_one_sync() -> Result<()> {
        let mut one = RoomDoc::new(1);
        let mut two = RoomDoc::new(2);
        one.set_view("ada", &tabs(&["a"]))?;
        two.set_view("bob", &tabs(&["b"]))?;
        sync(&one, &two);
        sync(&two, &one);
        let x = one.start_sync("ada", "bob", 1)?;
        let y = two.start_sync("bob", "ada", 1)?;
        assert_eq!(x, y);
        sync(&one, &two);
        sync(&two, &one);
        assert_eq!(one.view_state("ada"), two.view_state("ada"));
        assert_eq!(one.view_state("ada").view, one.view_state("bob").view);
        Ok(())
    }
}
