//! Who is in the room, as its space lists it: one entry per participant (several tabs
//! of one person count once), read from presence, recomputed only when someone may
//! have come or gone.

use serde_json::Value;

use super::Room;
use crate::authority::space::Present;

impl Room {
    /// Everyone present, one entry per participant id, ordered by id. Presence states
    /// without a `user` (a stock client that set none) are not counted.
    pub fn present(&self) -> Vec<Present> {
        let mut out: Vec<Present> = Vec::new();
        for (_, state) in self.awareness.iter() {
            let Some(data) = state.data.as_deref() else {
                continue;
            };
            let Ok(state) = serde_json::from_str::<Value>(data) else {
                continue;
            };
            let user = &state["user"];
            let (Some(id), Some(name)) = (user["id"].as_str(), user["name"].as_str()) else {
                continue;
            };
            let kind = match user["kind"].as_str() {
                Some("agent") => "agent",
                _ => "person",
            };
            if out.iter().any(|p| p.id == id) {
                continue;
            }
            out.push(Present {
                id: id.to_owned(),
                name: name.to_owned(),
                kind: kind.to_owned(),
            });
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// Who is present, if someone may have come or gone since the last call (a joining
    /// or renamed presence state, a state removed, a connection closed).
    pub fn take_present_change(&mut self) -> Option<Vec<Present>> {
        if !std::mem::take(&mut self.presence_dirty) {
            return None;
        }
        let present = self.present();
        if self.authority.note_seen(&present) {
            self.authority_dirty = true;
        }
        Some(present)
    }
}
