//! The room's write gate: what one connection's update may change, decided from the
//! update's bytes (see [`crate::protocol::scan`]) before anything is applied.
//!
//! Every struct kind counts — items, GC and Skip alike:
//!
//! - **Structure.** An update carries content only for clocks that follow what the room
//!   has (no gaps), and refers only to items the room has or the update carries: the
//!   room never holds an update it cannot integrate, so an acknowledged update is always
//!   in the stored document. Clocks stay below [`MAX_CLOCK`] (the scanner refuses more).
//! - **Client ids.** Client id 0 is the room's own. Every other client id belongs to the
//!   participant who first wrote under it; nobody else may write under it. A viewer
//!   writes nothing at all.
//! - **Roles and leases.** Reviewers touch reactions and comments only; documents with a lease policy
//!   take writes from the lease holder (or hold them as suggestions).
//! - **Authorship.** A verified participant writes only their own name: message authors,
//!   stop requests, reactions, context entries, the client → participant map and the
//!   causal record are checked against the token's identity, and context curation
//!   (accepting, retiring, handing over the context-owner role) against the context
//!   owner. Anonymous editors exist only in development mode and are trusted as such.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use yrs::{ReadTxn, StateVector, Transact};

use crate::authority::locks::LeasePolicy;
use crate::authority::token::Role;
use crate::authority::Actor;
use crate::error::{Error, Result};
use crate::protocol::scan::{read_any_json, ItemId, ParentRef, Scan, ZoneIndex, ZonePath};

/// Largest reaction value a participant may write (kind, who, when).
pub const MAX_REACTION_BYTES: usize = 1024;

/// The room's own client id (REST posts, accepted suggestions, recorded attribution).
pub const ROOM_CLIENT: u64 = 0;

/// What the gate needs to know about the room.
pub(crate) struct RoomView<'a> {
    pub doc: &'a yrs::Doc,
    pub zones: &'a ZoneIndex,
    /// Client id → the participant id it belongs to.
    pub owners: &'a HashMap<u64, String>,
    pub locks: &'a crate::authority::locks::LockTable,
}

/// The gate's answer for an update it lets through.
#[derive(Debug, Default)]
pub(crate) struct Admitted {
    /// Hold it as a suggestion for this document instead of applying it.
    pub suggest: Option<String>,
    /// Client ids the update writes under for the first time: they become the actor's.
    pub claims: Vec<u64>,
    /// The update carries structs the room does not have yet (it grows the room).
    pub writes: bool,
}

/// May `actor` apply the update `raw` (scanned as `scan`) to the room?
pub(crate) fn check(
    room: &RoomView<'_>,
    actor: &Actor,
    raw: &[u8],
    scan: &Scan,
    now_ms: u64,
) -> Result<Admitted> {
    let txn = room.doc.transact();
    let sv = txn.state_vector();
    // A read-only client's sync step 2 carries its whole delete set, all of it applied
    // already: tell those apart (a walk of the document, so only for them).
    let unseen = unseen(scan, &sv, (!actor.role.can_edit()).then_some(&txn));
    if unseen.items.is_empty() && unseen.deletes.is_empty() && unseen.runs.is_empty() {
        return Ok(Admitted::default());
    }
    if actor.role == Role::Viewer {
        return Err(Error::ViewerWrite {
            who: actor.id.clone(),
            what: describe_zones(&room.zones.touched(&unseen)),
        });
    }
    check_structure(scan, &unseen, &sv)?;
    let mut claims = check_client_ids(room, actor, &unseen)?;
    drop(txn);
    let touched = room.zones.touched(&unseen);
    if let Some(root) = touched
        .iter()
        .flatten()
        .filter_map(|z| z.first())
        .find(|r| ROOM_ONLY_ROOTS.contains(&r.as_str()))
    {
        return Err(Error::RoomOnly {
            who: actor.id.clone(),
            what: format!(
                "`{root}` (the file tree: change files through the room's file operations)"
            ),
        });
    }
    let suggest = check_roles_and_leases(room, actor, &touched, now_ms)?;
    if !actor.is_anonymous() {
        let fresh = check_authorship(room, actor, raw, &unseen, &claims, &touched)?;
        claims.extend(
            fresh
                .into_iter()
                .filter(|c| !claims.contains(c))
                .collect::<Vec<_>>(),
        );
    }
    Ok(Admitted {
        suggest,
        claims,
        // New structs grow the room; deletions barely do (and a reconnecting editor's
        // sync step 2 repeats every deletion the room already has).
        writes: !unseen.runs.is_empty(),
    })
}

/// `scan` without what the room already has: items it integrated, runs it holds and
/// deletions it applied (a client's sync step 2 carries its whole delete set, and a
/// read-only client must still be able to answer the room's sync step 1).
fn unseen<T: ReadTxn>(scan: &Scan, sv: &StateVector, deleted_in: Option<&T>) -> Scan {
    let have = |client: u64| sv.get(&yrs::ClientID::new(client));
    let items = scan
        .items
        .iter()
        .filter(|i| i.id.clock + i.len > have(i.id.client))
        .cloned()
        .collect();
    let runs = scan
        .runs
        .iter()
        .filter(|r| r.end > have(r.client))
        .copied()
        .collect();
    let deletes = match deleted_in {
        Some(txn) if !scan.deletes.is_empty() => not_yet_deleted(&scan.deletes, txn),
        _ => scan.deletes.clone(),
    };
    Scan {
        items,
        gc: Vec::new(),
        deletes,
        runs,
    }
}

/// The ranges of `deletes` the room has not deleted yet (a walk of the document).
fn not_yet_deleted<T: ReadTxn>(deletes: &[(ItemId, u32)], txn: &T) -> Vec<(ItemId, u32)> {
    let deleted = txn.snapshot().delete_set;
    deletes
        .iter()
        .filter(|(id, len)| {
            (id.clock..id.clock + len)
                .any(|clock| !deleted.contains(&yrs::ID::new(yrs::ClientID::new(id.client), clock)))
        })
        .copied()
        .collect()
}

/// No gaps, no references to what neither the room nor the update has.
fn check_structure(scan: &Scan, unseen: &Scan, sv: &StateVector) -> Result<()> {
    let have = |client: u64| sv.get(&yrs::ClientID::new(client));
    let known = |id: ItemId| id.clock < have(id.client) || scan.carries(id);
    for run in &unseen.runs {
        let has = have(run.client);
        // A run may start inside what the room has; before its end the update's own
        // earlier runs may fill the gap.
        if run.start > has && !scan.carries(ItemId::new(run.client, run.start - 1)) {
            return Err(Error::Unsynced(format!(
                "client {} writes from clock {} but the room has its clocks up to {has}",
                run.client, run.start
            )));
        }
    }
    for item in &unseen.items {
        let parent = match &item.parent {
            Some(ParentRef::Item(id)) => Some(*id),
            _ => None,
        };
        for id in [item.origin, item.right_origin, parent]
            .into_iter()
            .flatten()
        {
            if !known(id) {
                return Err(Error::Unsynced(format!(
                    "item {}:{} refers to {}:{}, which the room does not have",
                    item.id.client, item.id.clock, id.client, id.clock
                )));
            }
        }
    }
    for &(id, len) in &unseen.deletes {
        let end = id.clock + len;
        let has = have(id.client);
        if end > has && !(has.max(id.clock)..end).all(|c| scan.carries(ItemId::new(id.client, c))) {
            return Err(Error::Unsynced(format!(
                "the update deletes {}:{}..{end}, which the room does not have",
                id.client, id.clock
            )));
        }
    }
    Ok(())
}

/// Every client id the update writes under is the actor's (or new, and so becomes
/// theirs). Returns the new ones.
fn check_client_ids(room: &RoomView<'_>, actor: &Actor, unseen: &Scan) -> Result<Vec<u64>> {
    let mut claims = BTreeSet::new();
    for run in &unseen.runs {
        if run.client == ROOM_CLIENT {
            return Err(Error::NotYourClient {
                client: ROOM_CLIENT,
                owner: "the room".into(),
                who: actor.id.clone(),
            });
        }
        match room.owners.get(&run.client) {
            Some(owner) if *owner == actor.id || actor.is_anonymous() => {}
            Some(owner) => {
                return Err(Error::NotYourClient {
                    client: run.client,
                    owner: owner.clone(),
                    who: actor.id.clone(),
                })
            }
            None => {
                claims.insert(run.client);
            }
        }
    }
    Ok(claims.into_iter().collect())
}

/// Reviewers touch reactions only; documents with a lease policy take writes from the
/// lease holder. `Ok(Some(doc))` when the update must be held as a suggestion for `doc`.
fn check_roles_and_leases(
    room: &RoomView<'_>,
    actor: &Actor,
    touched: &BTreeSet<Option<ZonePath>>,
    now_ms: u64,
) -> Result<Option<String>> {
    let content: BTreeSet<&Option<ZonePath>> = touched.iter().filter(|z| !bookkeeping(z)).collect();
    if !actor.role.can_edit() {
        if let Some(z) = content.iter().find(|z| !reviewer_may_touch(z)) {
            return Err(Error::ReviewerWrite {
                who: actor.id.clone(),
                what: describe_zones(&BTreeSet::from([(*z).clone()])),
            });
        }
        return Ok(None);
    }
    let path_leases = room.locks.any_path_lease(now_ms);
    if room.locks.policies().is_empty() && !path_leases {
        return Ok(None);
    }
    let mut suggest = None;
    for zone in content {
        let Some(path) = zone else {
            return Err(Error::Unsynced(
                "it builds on content the room does not have, and some documents here \
                 require a lease"
                    .into(),
            ));
        };
        let Some(doc) = path
            .first()
            .and_then(|r| crate::doc::schema::document_of_root(r))
        else {
            continue;
        };
        // A text file's document under someone else's `path:` lease: the edit waits for
        // them (or an owner) as a suggestion; nothing is lost and the socket stays open.
        if path_leases {
            let txn = room.doc.transact();
            if let Some(path) = crate::model::files::path_of_document(&txn, doc) {
                if room
                    .locks
                    .path_write_check(&path, false, &actor.id, None, now_ms)
                    .is_err()
                {
                    suggest = Some(doc.to_owned());
                    continue;
                }
            }
        }
        match room.locks.write_check(doc, &actor.id, now_ms) {
            Ok(()) => {}
            Err(LeasePolicy::Refuse) => {
                return Err(Error::LeaseRequired {
                    doc: doc.to_owned(),
                    who: actor.id.clone(),
                })
            }
            Err(LeasePolicy::Suggest) => suggest = Some(doc.to_owned()),
        }
    }
    Ok(suggest)
}

/// Roots only the room writes (under its own client id).
const ROOM_ONLY_ROOTS: [&str; 1] = [crate::doc::schema::FILES];

/// Roots where a value may carry someone's identity or curation.
const GUARDED_ROOTS: [&str; 6] = [
    "clients",
    crate::doc::schema::EPOCHS,
    "messages",
    "context",
    "roles",
    crate::doc::schema::COMMENTS,
];

/// A verified participant writes only their own name, and curates the shared context
/// only as its owner.
fn check_authorship(
    room: &RoomView<'_>,
    actor: &Actor,
    raw: &[u8],
    unseen: &Scan,
    claims: &[u64],
    touched: &BTreeSet<Option<ZonePath>>,
) -> Result<BTreeSet<u64>> {
    let guarded = |z: &Option<ZonePath>| {
        z.as_ref()
            .and_then(|p| p.first())
            .is_some_and(|root| GUARDED_ROOTS.contains(&root.as_str()))
    };
    let mut fresh = BTreeSet::new();
    if !touched.iter().any(guarded) {
        return Ok(fresh);
    }
    let own = |client: u64| {
        claims.contains(&client) || room.owners.get(&client).is_some_and(|o| *o == actor.id)
    };
    // A client no one owns yet, named only by a registration or a causal record (a
    // bridged replica whose first write is a deletion has no items of its own): it
    // becomes this actor's.
    let unowned = |client: u64| client != ROOM_CLIENT && !room.owners.contains_key(&client);
    let forged = |what: &str| Error::Forged {
        who: actor.id.clone(),
        what: what.to_owned(),
    };
    let places = room.zones.places(unseen);
    for (item, place) in unseen.items.iter().zip(places) {
        let Some((path, key)) = place else { continue };
        let key = key.as_deref().unwrap_or("");
        let value = || -> Result<Value> {
            let range = item.value.clone().ok_or_else(|| {
                Error::malformed("sync update", format!("`{key}` must be a plain value"))
            })?;
            let bytes = raw.get(range).ok_or_else(|| {
                Error::malformed("sync update", "a value lies outside the update")
            })?;
            read_any_json(bytes)
        };
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        match path.as_slice() {
            ["clients"] => {
                let client: u64 = key
                    .parse()
                    .map_err(|_| forged(&format!("`clients/{key}`")))?;
                if !(own(client) || unowned(client)) || !is_actor(&value()?, actor) {
                    return Err(forged(&format!("the participant of client id {client}")));
                }
                if !own(client) {
                    fresh.insert(client);
                }
            }
            [epochs] if *epochs == crate::doc::schema::EPOCHS => {
                let client = key.split(':').next().and_then(|c| c.parse::<u64>().ok());
                match client {
                    Some(c) if own(c) => {}
                    Some(c) if unowned(c) => {
                        fresh.insert(c);
                    }
                    _ => return Err(forged(&format!("another client's causal record `{key}`"))),
                }
            }
            ["messages", _] if key == "author" || key == "stopRequestedBy" => {
                let names_actor = is_actor(&value()?, actor);
                names_actor
                    .then_some(())
                    .ok_or_else(|| forged(&format!("someone else as a message's `{key}`")))?;
            }
            ["messages", _, "reactions"] => {
                let range_len = item.value.as_ref().map_or(0, |r| r.len());
                if range_len > MAX_REACTION_BYTES {
                    return Err(Error::LimitExceeded(format!(
                        "a reaction of {range_len} bytes exceeds the limit of {MAX_REACTION_BYTES}"
                    )));
                }
                let by_actor = value()?.get("by").is_some_and(|by| is_actor(by, actor));
                let who = key.rsplit_once(':').map(|(_, who)| who);
                if !by_actor || who != Some(actor.id.as_str()) {
                    return Err(forged("a reaction by someone else"));
                }
            }
            ["context", _] if key == "author" => {
                let names_actor = is_actor(&value()?, actor);
                names_actor
                    .then_some(())
                    .ok_or_else(|| forged("someone else as a context entry's author"))?;
            }
            ["context", _] if key == "status" => {
                let proposing = value()?.as_str() == Some("proposed");
                if !proposing {
                    require_context_owner(room, actor, "curate the shared context")?;
                }
            }
            ["comments", id] => check_comment_write(room, actor, id, key, value)?,
            ["comments", _, "replies"]
                if !value()?.get("author").is_some_and(|a| is_actor(a, actor)) =>
            {
                return Err(forged("a reply in someone else's name"));
            }
            ["roles"] if key == "contextOwner" => {
                require_context_owner(room, actor, "hand over the context-owner role")?;
            }
            _ => {}
        }
    }
    // Deleting entries of others' bookkeeping (or, for a reviewer, others' reactions).
    let foreign = Scan {
        deletes: unseen
            .deletes
            .iter()
            .filter(|(id, _)| !own(id.client))
            .copied()
            .collect(),
        ..Scan::default()
    };
    let refused = |zone: &ZonePath| {
        let reaction = zone.len() == 3 && zone[0] == "messages" && zone[2] == "reactions";
        // Others' comments and replies stay (owners may remove them); resolving and
        // reopening replace the `resolved` value, which is allowed.
        let thread = zone[0] == crate::doc::schema::COMMENTS
            && (zone.len() == 1 || (zone.len() == 3 && zone[2] == "replies"));
        bookkeeping(&Some(zone.clone()))
            || (reaction && !actor.role.can_edit())
            || (thread && !actor.role.is_owner())
    };
    if !foreign.deletes.is_empty() && room.zones.touched(&foreign).iter().flatten().any(refused) {
        // Perhaps only deletions the room already has (a sync step 2 repeats them all).
        let foreign = Scan {
            deletes: not_yet_deleted(&foreign.deletes, &room.doc.transact()),
            ..Scan::default()
        };
        for zone in room.zones.touched(&foreign).iter().flatten() {
            if refused(zone) {
                return Err(forged(&format!(
                    "(delete) entries of others in {}",
                    zone.join("/")
                )));
            }
        }
    }
    Ok(fresh)
}

fn require_context_owner(room: &RoomView<'_>, actor: &Actor, what: &str) -> Result<()> {
    let txn = room.doc.transact();
    let owner = txn
        .get_map("roles")
        .and_then(|roles| crate::doc::read::get_str(&roles, &txn, "contextOwner"));
    match owner {
        Some(owner) if owner != actor.id => Err(Error::NotContextOwner {
            who: actor.id.clone(),
            owner,
            what: what.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// A write to comment `id`'s field `key`: a new comment is in the actor's own name; an
/// existing one's text and anchor are its author's alone; `resolved` names who resolved.
fn check_comment_write(
    room: &RoomView<'_>,
    actor: &Actor,
    id: &str,
    key: &str,
    value: impl Fn() -> Result<Value>,
) -> Result<()> {
    let forged = |what: &str| Error::Forged {
        who: actor.id.clone(),
        what: what.to_owned(),
    };
    match key {
        "resolved" => {
            let v = value()?;
            if !v.is_null() && !v.get("by").is_some_and(|by| is_actor(by, actor)) {
                return Err(forged("a comment resolved in someone else's name"));
            }
        }
        "author" if !is_actor(&value()?, actor) => {
            return Err(forged("someone else as a comment's author"));
        }
        _ => {
            use yrs::Map;
            let txn = room.doc.transact();
            let author = match txn
                .get_map(crate::doc::schema::COMMENTS)
                .and_then(|c| c.get(&txn, id))
            {
                Some(yrs::Out::YMap(m)) => m.get(&txn, "author"),
                _ => None,
            };
            if let Some(yrs::Out::Any(a)) = author {
                let theirs =
                    crate::doc::Participant::from_any(&a).is_some_and(|p| p.id != actor.id);
                if theirs {
                    return Err(forged(&format!("someone else's comment (`{key}`)")));
                }
            }
        }
    }
    Ok(())
}

/// True when `value` names `actor` as a participant: `{id, name, kind}` all theirs.
fn is_actor(value: &Value, actor: &Actor) -> bool {
    value.get("id").and_then(Value::as_str) == Some(actor.id.as_str())
        && value.get("name").and_then(Value::as_str) == Some(actor.name.as_str())
        && value.get("kind").and_then(Value::as_str) == Some(actor.kind.as_str())
}

/// Bookkeeping every client writes about itself (which participant a client id is,
/// causal epochs): not content, checked by authorship instead of by role.
fn bookkeeping(zone: &Option<ZonePath>) -> bool {
    matches!(zone, Some(p) if p.first().is_some_and(|r| r == "clients" || r == crate::doc::schema::EPOCHS))
}

/// A reviewer may touch reactions (reacting and voting) and comments, nothing else.
fn reviewer_may_touch(zone: &Option<ZonePath>) -> bool {
    bookkeeping(zone)
        || matches!(zone, Some(p) if p.len() >= 3 && p[0] == "messages" && p[2] == "reactions")
        || matches!(zone, Some(p) if p[0] == crate::doc::schema::COMMENTS)
}

fn describe_zones(zones: &BTreeSet<Option<ZonePath>>) -> String {
    let names: Vec<String> = zones
        .iter()
        .map(|z| match z {
            Some(p) => p.join("/"),
            None => "content the room does not know".into(),
        })
        .collect();
    format!("the update touches {}", names.join(", "))
}

/// The participant id behind each client id, as the room's `clients` map records it.
pub(crate) fn owners_from_doc(doc: &yrs::Doc) -> HashMap<u64, String> {
    let txn = doc.transact();
    let Some(clients) = txn.get_map("clients") else {
        return HashMap::new();
    };
    use yrs::Map;
    clients
        .iter(&txn)
        .filter_map(|(key, value)| {
            let yrs::Out::Any(yrs::Any::Map(m)) = value else {
                return None;
            };
            let Some(yrs::Any::String(id)) = m.get("id") else {
                return None;
            };
            Some((key.parse().ok()?, id.to_string()))
        })
        .collect()
}
