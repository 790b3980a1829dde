//! A team space's room directory: the rooms of one space with their live counts of
//! people and agents, last activity and archive state, as the space's object keeps it,
//! and the rules for what rooms report.
//!
//! - A room reports its counts when someone joins or leaves, at most once per
//!   [`REPORT_GAP_MS`] ([`ReportThrottle`] keeps the last state for later, so the
//!   directory always ends on the truth), and every [`HEARTBEAT_MS`] while anyone is in.
//! - Each report carries the room's `boot` (when its object started) and a sequence
//!   number: a report from an older boot, or an older one from the same boot, changes
//!   nothing, so reports that cross on the way cannot set the counts back.
//! - A room that restarts reports anew under its new boot, replacing what the last one
//!   said; a room that crashed stops reporting, and after [`STALE_AFTER_MS`] without a
//!   report its counts read as zero. Either way the directory corrects itself.

mod calls;
mod report;
mod team;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{OpCode, OpError};

use calls::check_title;
pub use calls::{space_role_label, SpaceCall, SpaceOutcome, SpaceRoomPatch, SpaceSettingsPatch};
pub use report::ReportThrottle;
pub use team::{
    parse_space_role, AgentPatch, MemberPatch, Schedule, ScheduleRequest, SharedAgent, SpaceMember,
};

/// The shortest time between two reports of one room (a burst of joins is one report).
pub const REPORT_GAP_MS: u64 = 2_000;
/// How often an occupied room reports even when nothing changed.
pub const HEARTBEAT_MS: u64 = 60_000;
/// After this long without a report, a room's counts are taken to be zero.
pub const STALE_AFTER_MS: u64 = 3 * HEARTBEAT_MS;
/// The longest room title.
pub const MAX_TITLE: usize = 200;

/// A room as the directory lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpaceRoom {
    /// The room's name (what clients connect to).
    pub name: String,
    /// Its title.
    pub title: String,
    /// People present, as last reported (zero once the report is stale).
    pub people: u32,
    /// Agents present, likewise.
    pub agents: u32,
    /// When someone last joined, left or changed it (ms since the epoch).
    pub last_activity: u64,
    /// Archived rooms are kept but listed apart.
    pub archived: bool,
    /// Who created it (a user id) and when.
    pub created_by: String,
    /// When it was created.
    pub created_at: u64,
    /// Who is in it, as last reported (empty once the report is stale).
    #[serde(default)]
    pub present: Vec<Present>,
}

/// Someone a room reports present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Present {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `person` or `agent`.
    pub kind: String,
    /// `active`, `idle` or `away`.
    #[serde(default = "active")]
    pub status: String,
    /// What they are doing, as they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    /// A status they wrote themselves ("back in 10 min").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn active() -> String {
    "active".into()
}

/// What a room says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// When the room's object started (a restart gives a later one).
    pub boot: u64,
    /// Counts up within one boot.
    pub seq: u64,
    /// People present.
    pub people: u32,
    /// Agents present.
    pub agents: u32,
    /// When the room sent it.
    pub at: u64,
    /// Who is present (one entry per participant).
    #[serde(default)]
    pub present: Vec<Present>,
}

/// A space's settings (by default: no external sharing, no auto-archive).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpaceSettings {
    /// Whether rooms may be shared with people outside the space.
    pub external_sharing: bool,
    /// Archive a room after this many days without activity (`None`: never).
    pub auto_archive_days: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    room: SpaceRoom,
    /// The last report applied: (boot, seq), and when it arrived.
    last: Option<(u64, u64)>,
    reported_at: u64,
}

/// Someone the space has seen in one of its rooms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Seen {
    name: String,
    kind: String,
    /// When a report last had them present.
    last_seen: u64,
    /// Where.
    room: String,
}

/// Someone on the space's presence dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpacePerson {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `person` or `agent`.
    pub kind: String,
    /// `online` (in a room, active or idle), `away` (in a room, away) or `offline`.
    pub state: &'static str,
    /// The rooms they are in now.
    pub rooms: Vec<String>,
    /// What they are doing.
    pub activity: Option<String>,
    /// Their own status note.
    pub note: Option<String>,
    /// When a room last reported them (ms since the epoch; 0 for a member never seen).
    pub last_seen: u64,
    /// Their space role as the workspace shows it, for a member.
    pub role: Option<&'static str>,
}

/// People (and agents) the dashboard remembers; the ones seen longest ago go first.
pub const KEEP_PEOPLE: usize = 1000;

/// One space's rooms.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Directory {
    rooms: BTreeMap<String, Entry>,
    /// Everyone seen in the space's rooms, by id.
    #[serde(default)]
    seen: BTreeMap<String, Seen>,
    /// The space's settings.
    pub settings: SpaceSettings,
    /// Its members and shared agents.
    #[serde(default)]
    team: team::Team,
}

impl Directory {
    /// Load what [`Directory::to_json`] wrote.
    pub fn from_json(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("stored space directory: {e}"))
    }

    /// Serialize for storage.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a directory always serializes")
    }

    /// True when `name` is one of this space's rooms.
    pub fn has(&self, name: &str) -> bool {
        self.rooms.contains_key(name)
    }

    /// When the next listed count goes stale (so a live view can be told at that
    /// moment): the earliest report of an occupied room plus [`STALE_AFTER_MS`].
    pub fn next_stale_at(&self, now: u64) -> Option<u64> {
        self.rooms
            .values()
            .filter(|e| e.room.people + e.room.agents > 0)
            .map(|e| e.reported_at + STALE_AFTER_MS + 1)
            .filter(|at| *at > now)
            .min()
    }

    /// Add room `name` with `title`, created by `by`.
    pub fn create(
        &mut self,
        name: &str,
        title: &str,
        by: &str,
        now: u64,
    ) -> Result<&SpaceRoom, OpError> {
        super::rest::check_room_name(name)
            .map_err(|why| OpError::invalid(format!("invalid room name: {why}")))?;
        let title = check_title(title)?;
        if self.rooms.contains_key(name) {
            return Err(OpError::new(
                OpCode::Conflict,
                format!("room `{name}` already exists in this space"),
            ));
        }
        let room = SpaceRoom {
            name: name.to_owned(),
            title,
            people: 0,
            agents: 0,
            last_activity: now,
            archived: false,
            created_by: by.to_owned(),
            created_at: now,
            present: Vec::new(),
        };
        let entry = self.rooms.entry(name.to_owned()).or_insert(Entry {
            room,
            last: None,
            reported_at: now,
        });
        Ok(&entry.room)
    }

    /// Give room `name` a new title.
    pub fn rename(&mut self, name: &str, title: &str, now: u64) -> Result<(), OpError> {
        let title = check_title(title)?;
        let entry = self.entry(name)?;
        entry.room.title = title;
        entry.room.last_activity = entry.room.last_activity.max(now);
        Ok(())
    }

    /// Archive (or bring back) room `name`.
    pub fn set_archived(&mut self, name: &str, archived: bool, now: u64) -> Result<(), OpError> {
        let entry = self.entry(name)?;
        entry.room.archived = archived;
        entry.room.last_activity = entry.room.last_activity.max(now);
        Ok(())
    }

    /// Remove room `name` from the space; returns it as it was.
    pub fn delete(&mut self, name: &str) -> Result<SpaceRoom, OpError> {
        self.rooms
            .remove(name)
            .map(|e| e.room)
            .ok_or_else(|| unknown(name))
    }

    /// Take a room's report. Returns false when it changes nothing: the room is not in
    /// this space, or the report is older than one already taken.
    pub fn report(&mut self, name: &str, report: Report) -> bool {
        let Some(entry) = self.rooms.get_mut(name) else {
            return false;
        };
        if entry
            .last
            .is_some_and(|last| (report.boot, report.seq) <= last)
        {
            return false;
        }
        let moved = (entry.room.people, entry.room.agents) != (report.people, report.agents);
        entry.last = Some((report.boot, report.seq));
        entry.reported_at = report.at;
        entry.room.people = report.people;
        entry.room.agents = report.agents;
        for p in &report.present {
            self.seen.insert(
                p.id.clone(),
                Seen {
                    name: p.name.clone(),
                    kind: p.kind.clone(),
                    last_seen: report.at,
                    room: name.to_owned(),
                },
            );
        }
        if self.seen.len() > KEEP_PEOPLE {
            let mut by_age: Vec<(u64, String)> = self
                .seen
                .iter()
                .map(|(id, s)| (s.last_seen, id.clone()))
                .collect();
            by_age.sort();
            for (_, id) in by_age.into_iter().take(self.seen.len() - KEEP_PEOPLE) {
                self.seen.remove(&id);
            }
        }
        let entry = self.rooms.get_mut(name).expect("looked up above");
        entry.room.present = report.present;
        if moved {
            entry.room.last_activity = entry.room.last_activity.max(report.at);
        }
        true
    }

    /// Every room, by name, as of `now`: a room silent for [`STALE_AFTER_MS`] counts
    /// nobody (it crashed or was evicted without saying so).
    pub fn list(&self, now: u64) -> Vec<SpaceRoom> {
        self.rooms
            .values()
            .map(|e| {
                let mut room = e.room.clone();
                if now.saturating_sub(e.reported_at) > STALE_AFTER_MS {
                    room.people = 0;
                    room.agents = 0;
                    room.present.clear();
                }
                room
            })
            .collect()
    }

    /// Everyone the space has seen, as of `now`: who is online or away in which rooms,
    /// and who is offline; online first, then away, then offline, each by name.
    pub fn people(&self, now: u64) -> Vec<SpacePerson> {
        let rooms = self.list(now);
        let mut out: Vec<SpacePerson> = self
            .seen
            .iter()
            .map(|(id, seen)| {
                let mut person = SpacePerson {
                    id: id.clone(),
                    name: seen.name.clone(),
                    kind: seen.kind.clone(),
                    state: "offline",
                    rooms: Vec::new(),
                    activity: None,
                    note: None,
                    last_seen: seen.last_seen,
                    role: self.member_role(id).map(space_role_label),
                };
                for room in &rooms {
                    let Some(p) = room.present.iter().find(|p| &p.id == id) else {
                        continue;
                    };
                    person.rooms.push(room.title.clone());
                    person.name.clone_from(&p.name);
                    let state = if p.status == "away" { "away" } else { "online" };
                    if person.state != "online" {
                        person.state = state;
                    }
                    person.activity = person.activity.take().or_else(|| p.activity.clone());
                    person.note = person.note.take().or_else(|| p.note.clone());
                }
                person
            })
            .collect();
        // Members no room has seen yet are offline.
        for member in self.members() {
            if !self.seen.contains_key(&member.id) {
                out.push(SpacePerson {
                    id: member.id,
                    name: member.name,
                    kind: "person".into(),
                    state: "offline",
                    rooms: Vec::new(),
                    activity: None,
                    note: None,
                    last_seen: 0,
                    role: Some(member.label),
                });
            }
        }
        let rank = |p: &SpacePerson| match p.state {
            "online" => 0,
            "away" => 1,
            _ => 2,
        };
        sort_by_rank_then_name(&mut out, rank, |p| &p.name);
        out
    }

    /// Archive the rooms idle past the space's `auto_archive_days` (nobody in them);
    /// returns their names.
    pub fn auto_archive(&mut self, now: u64) -> Vec<String> {
        let Some(days) = self.settings.auto_archive_days else {
            return Vec::new();
        };
        let idle_ms = u64::from(days) * 24 * 60 * 60 * 1000;
        let listed = self.list(now);
        let mut archived = Vec::new();
        for room in listed {
            let idle =
                room.people + room.agents == 0 && now.saturating_sub(room.last_activity) >= idle_ms;
            if idle && !room.archived {
                if let Some(entry) = self.rooms.get_mut(&room.name) {
                    entry.room.archived = true;
                    archived.push(room.name);
                }
            }
        }
        archived
    }

    fn entry(&mut self, name: &str) -> Result<&mut Entry, OpError> {
        self.rooms.get_mut(name).ok_or_else(|| unknown(name))
    }
}

/// Sort the dashboard's lists: by `rank` (lowest first), then by name.
fn sort_by_rank_then_name<T>(items: &mut [T], rank: impl Fn(&T) -> u8, name: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| name(a).cmp(name(b))));
}

fn unknown(name: &str) -> OpError {
    OpError::not_found(format!("no room `{name}` in this space"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(boot: u64, seq: u64, people: u32, at: u64) -> Report {
        Report {
            boot,
            seq,
            people,
            agents: 0,
            at,
            present: Vec::new(),
        }
    }

    #[test]
    fn rooms_are_created_renamed_archived_and_deleted_with_clear_refusals() {
        let mut d = Directory::default();
        d.create("design", "Design review", "ada", 10).unwrap();
        assert_eq!(
            d.create("design", "Again", "bob", 11).unwrap_err().code,
            OpCode::Conflict
        );
        assert!(d
            .create("a/b", "Bad", "ada", 11)
            .unwrap_err()
            .message
            .contains("`a/b` contains a control character or `/`"));
        assert_eq!(
            d.create("x", "  ", "ada", 11).unwrap_err().message,
            "a room needs a title"
        );
        d.rename("design", "Design crit", 20).unwrap();
        d.set_archived("design", true, 30).unwrap();
        let listed = d.list(30);
        assert_eq!(
            (
                listed[0].title.as_str(),
                listed[0].archived,
                listed[0].last_activity
            ),
            ("Design crit", true, 30)
        );
        assert_eq!(
            d.rename("nope", "T", 40).unwrap_err().code,
            OpCode::NotFound
        );
        assert_eq!(d.delete("design").unwrap().name, "design");
        assert!(d.list(50).is_empty());
        assert_eq!(d.delete("design").unwrap_err().code, OpCode::NotFound);
    }

    #[test]
    fn reports_that_cross_never_set_the_counts_back_and_a_restart_replaces_them() {
        let mut d = Directory::default();
        d.create("r", "R", "ada", 0).unwrap();
        assert!(d.report("r", report(100, 2, 3, 10)));
        assert!(
            !d.report("r", report(100, 1, 1, 11)),
            "an older report of the same boot"
        );
        assert_eq!(d.list(12)[0].people, 3);
        // The room restarted (its people reconnect to the new object): its first report wins.
        assert!(d.report("r", report(200, 1, 1, 20)));
        assert!(
            !d.report("r", report(100, 3, 5, 21)),
            "a late report from the old boot"
        );
        assert_eq!(d.list(22)[0].people, 1);
        assert_eq!(
            d.people(22).len(),
            0,
            "counts without names remember nobody"
        );
        assert!(
            !d.report("elsewhere", report(1, 1, 1, 1)),
            "not a room of this space"
        );
    }

    #[test]
    fn a_room_that_stops_reporting_counts_nobody_once_stale_and_idle_rooms_archive() {
        let mut d = Directory::default();
        d.settings.auto_archive_days = Some(1);
        d.create("crashed", "C", "ada", 0).unwrap();
        d.create("quiet", "Q", "ada", 0).unwrap();
        d.report("crashed", report(1, 1, 4, 1_000));
        assert_eq!(d.next_stale_at(1_000), Some(1_001 + STALE_AFTER_MS));
        assert_eq!(d.list(1_000 + STALE_AFTER_MS)[0].people, 4, "fresh enough");
        assert_eq!(d.list(1_001 + STALE_AFTER_MS)[0].people, 0, "stale: nobody");
        let day = 24 * 60 * 60 * 1000;
        assert_eq!(
            d.auto_archive(day),
            vec!["quiet".to_owned()],
            "the crashed room had activity later"
        );
        assert_eq!(d.auto_archive(day + 1_000), vec!["crashed".to_owned()]);
        assert!(d.auto_archive(2 * day).is_empty(), "archived once");
    }

    #[test]
    fn the_dashboard_shows_who_is_online_away_or_offline_and_where() {
        let who = |id: &str, status: &str, note: Option<&str>| Present {
            id: id.into(),
            name: id.to_uppercase(),
            kind: "person".into(),
            status: status.into(),
            activity: Some(format!("{id} at work")),
            note: note.map(str::to_owned),
        };
        let mut d = Directory::default();
        d.create("r1", "Room one", "ada", 0).unwrap();
        d.create("r2", "Room two", "ada", 0).unwrap();
        let mut first = report(1, 1, 2, 10);
        first.present = vec![who("ada", "active", None), who("carl", "active", None)];
        d.report("r1", first);
        let mut later = report(1, 2, 1, 20);
        later.present = vec![who("ada", "active", None)];
        d.report("r1", later);
        let mut other = report(2, 1, 1, 20);
        other.present = vec![who("bob", "away", Some("back in 10 min"))];
        d.report("r2", other);
        let people = d.people(30);
        let view: Vec<(&str, &str, Vec<String>, Option<&str>)> = people
            .iter()
            .map(|p| (p.id.as_str(), p.state, p.rooms.clone(), p.note.as_deref()))
            .collect();
        assert_eq!(
            view,
            [
                ("ada", "online", vec!["Room one".to_owned()], None),
                (
                    "bob",
                    "away",
                    vec!["Room two".to_owned()],
                    Some("back in 10 min")
                ),
                ("carl", "offline", vec![], None),
            ]
        );
        assert_eq!(people[0].activity.as_deref(), Some("ada at work"));
        assert_eq!(people[2].last_seen, 10);
    }
}
