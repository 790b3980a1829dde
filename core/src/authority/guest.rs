//! Development mode's guests. A socket that brings no token (development mode only)
//! may name itself in its URL: `guest` (a user id), `guestName` and `guestKind`. The
//! room then knows it by that name, so its locks, edits and presence read "held by
//! Kim" rather than "anonymous", but nothing vouches for it: a guest is always an
//! editor, never takes a member's recorded role, and reads as unverified. A socket
//! without these parameters (a stock Yjs client) stays the anonymous editor.

use url::form_urlencoded::byte_serialize;

use super::token::{check_user_id, Role};
use super::Actor;
use crate::doc::{Participant, ParticipantKind};

/// The longest guest name, in characters.
pub const MAX_GUEST_NAME: usize = 80;

/// The query parameters (each starting with `&`) that name `me` as a guest.
pub fn guest_query(me: &Participant) -> String {
    let enc = |s: &str| byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "&guest={}&guestName={}&guestKind={}",
        enc(&me.id),
        enc(&me.name),
        me.kind.as_str()
    )
}

/// The guest a tokenless request names, if it names one: `Err` says what is wrong with
/// the name it gave.
pub fn guest_from_query(query: &[(String, String)]) -> Result<Option<Actor>, String> {
    let get = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let Some(id) = get("guest") else {
        return Ok(None);
    };
    check_user_id(id).map_err(|e| format!("guest: {e}"))?;
    let name = get("guestName").map_or(id, str::trim);
    let name = if name.is_empty() { id } else { name };
    if name.chars().count() > MAX_GUEST_NAME || name.chars().any(char::is_control) {
        return Err(format!(
            "guestName must be at most {MAX_GUEST_NAME} printable characters"
        ));
    }
    let kind = match get("guestKind") {
        None => ParticipantKind::Person,
        Some(k) => ParticipantKind::parse(k)
            .ok_or_else(|| format!("guestKind must be `person` or `agent`, not `{k}`"))?,
    };
    Ok(Some(Actor {
        id: id.to_owned(),
        name: name.to_owned(),
        kind,
        role: Role::Editor,
        guest: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(query.trim_start_matches('&').as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn a_guest_names_itself_round_trip_and_stays_an_unverified_editor() {
        let me = Participant {
            id: "kim-1".into(),
            name: "Kim & Co = 100%".into(),
            kind: ParticipantKind::Agent,
        };
        let actor = guest_from_query(&parse(&guest_query(&me)))
            .unwrap()
            .unwrap();
        assert_eq!(
            (actor.id.as_str(), actor.name.as_str(), actor.kind),
            ("kim-1", "Kim & Co = 100%", ParticipantKind::Agent)
        );
        assert_eq!(actor.role, Role::Editor);
        assert!(!actor.verified());
        assert_eq!(guest_from_query(&parse("protocol=confab")).unwrap(), None);
        let reserved = guest_from_query(&parse("guest=anonymous")).unwrap_err();
        assert!(reserved.contains("reserved"), "{reserved}");
        let long = format!("guest=a&guestName={}", "x".repeat(81));
        assert!(guest_from_query(&parse(&long))
            .unwrap_err()
            .contains("at most 80"));
        let kind = guest_from_query(&parse("guest=a&guestKind=robot")).unwrap_err();
        assert!(kind.contains("`robot`"), "{kind}");
        let unnamed = guest_from_query(&parse("guest=a&guestName=%20"))
            .unwrap()
            .unwrap();
        assert_eq!(unnamed.name, "a");
    }
}
