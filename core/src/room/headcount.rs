//! Who is in the room, as its space lists it: one entry per participant (several tabs
//! of one person count once), read from presence, recomputed only when someone may
//! have come or gone.

use serde_json::Value;
use yrs::sync::AwarenessUpdate;

use super::Room;
use crate::authority::space::Present;

/// The longest activity or note a report carries, in characters.
const MAX_SAID: usize = 120;

fn rank(status: &str) -> u8 {
    match status {
        "active" => 0,
        "idle" => 1,
        _ => 2,
    }
}

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
            let text = |key: &str| {
                state[key]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(|s| s.chars().take(MAX_SAID).collect::<String>())
            };
            let status = state["status"]
                .as_str()
                .filter(|s| matches!(*s, "idle" | "away"))
                .unwrap_or("active");
            // Several tabs of one person: the most present one speaks for them.
            if let Some(seen) = out.iter_mut().find(|p| p.id == id) {
                if rank(status) < rank(&seen.status) {
                    seen.status = status.to_owned();
                }
                seen.activity = seen.activity.take().or_else(|| text("activity"));
                seen.note = seen.note.take().or_else(|| text("note"));
                continue;
            }
            out.push(Present {
                id: id.to_owned(),
                name: name.to_owned(),
                kind: kind.to_owned(),
                status: status.to_owned(),
                activity: text("activity"),
                note: text("note"),
            });
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// Who is present, if someone may have come, gone or changed what they show since the
    /// last call (see [`Room::presence_moved`]).
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

    /// Note a presence update: who is present moved when a client is new or gone, or
    /// changed its name, kind, status, activity or note (a cursor moving changes none).
    pub(super) fn presence_moved(&mut self, update: &AwarenessUpdate) {
        for (id, entry) in &update.clients {
            let digest = digest(&entry.json);
            let before = match &digest {
                Some(d) => self.presence_digests.insert(id.get(), d.clone()),
                None => self.presence_digests.remove(&id.get()),
            };
            if before != digest {
                self.presence_dirty = true;
            }
        }
    }
}

/// What of a presence state the directory shows, as one string.
fn digest(json: &str) -> Option<String> {
    if json == "null" {
        return None;
    }
    let v: Value = serde_json::from_str(json).ok()?;
    let u = &v["user"];
    Some(format!(
        "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
        u["id"], u["name"], u["kind"], v["status"], v["activity"], v["note"]
    ))
}
