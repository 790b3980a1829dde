//! Leases on named resources, with expiry and fencing tokens.
//!
//! The room's authority is one single-threaded object, so every grant is linearizable:
//! of two racing requests for one resource exactly one wins. Every grant carries a
//! fencing token larger than any before it in the room, so a system that stores the
//! token with each write can refuse a write from a holder whose lease has since passed
//! to someone else.
//!
//! Resources are names. Three shapes overlap with each other as you would expect:
//! `doc:<id>` (a whole document), `range:<doc id>:<start>-<end>` (UTF-16 offsets,
//! end exclusive, overlapping a range of the same document or the whole document) and
//! `path:<path>` (a file path; a directory path ending in `/` covers what is under it).
//! Any other name is an opaque resource that only conflicts with itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::doc::ParticipantKind;
use crate::names::named_enum;
use serde_json::json;

use super::op::{AcquireArgs, LeaseArgs, PolicyArgs, RenewArgs};
use super::token::Role;
use super::{Cx, EventKind, OpError, OpResult, Outcome};

/// Shortest lease granted, in milliseconds.
pub const MIN_TTL_MS: u64 = 100;
/// Longest lease granted, in milliseconds (one day).
pub const MAX_TTL_MS: u64 = 86_400_000;
/// Longest resource name.
pub const MAX_RESOURCE_BYTES: usize = 512;

/// A granted lease.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// What is leased.
    pub resource: String,
    /// The holder's user id (from its token).
    pub holder: String,
    /// The holder's display name.
    pub holder_name: String,
    /// Person or agent.
    pub holder_kind: ParticipantKind,
    /// The grant's fencing token: larger than every earlier grant's in this room.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub fence: u64,
    /// When it was granted (ms since the Unix epoch).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub acquired_at: u64,
    /// When it lapses unless renewed (ms since the Unix epoch).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub expires_at: u64,
}

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Person or agent.
    pub kind: ParticipantKind,
}

named_enum! {
    /// What happens to a write to a document that requires a lease, from someone who
    /// does not hold one.
    pub enum LeasePolicy {
        /// The update is refused: never stored or relayed, and the sender is told why.
        Refuse = "refuse",
        /// The update is held as a suggestion for the lease holder or an owner to
        /// accept or reject.
        Suggest = "suggest",
    }
}

/// Why a lock request failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LockError {
    /// Someone else holds an overlapping lease.
    #[error("`{resource}` is held by {holder_name} ({holder}) under `{held}` until {expires_at}")]
    Held {
        /// The resource asked for.
        resource: String,
        /// The conflicting lease's resource.
        held: String,
        /// Its holder's id.
        holder: String,
        /// Its holder's name.
        holder_name: String,
        /// When it lapses (ms since the Unix epoch).
        expires_at: u64,
    },
    /// No live lease on this resource with this fencing token.
    #[error("no live lease on `{resource}` with fencing token {fence}{why}")]
    NotHeld {
        /// The resource.
        resource: String,
        /// The fencing token presented.
        fence: u64,
        /// More detail (", it expired", ", it belongs to …").
        why: String,
    },
    /// A bad resource name or duration.
    #[error("invalid lock request: {0}")]
    Invalid(String),
}

impl LockError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LockError::Held { .. } => "lock_held",
            LockError::NotHeld { .. } => "lock_not_held",
            LockError::Invalid(_) => "invalid_request",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Resource<'a> {
    Doc(&'a str),
    Range(&'a str, u64, u64),
    Path(&'a str),
    Name(&'a str),
}

fn parse(name: &str) -> Result<Resource<'_>, LockError> {
    if name.is_empty() || name.len() > MAX_RESOURCE_BYTES {
        return Err(LockError::Invalid(format!(
            "a resource name is 1 to {MAX_RESOURCE_BYTES} bytes; got {}",
            name.len()
        )));
    }
    if let Some(id) = name.strip_prefix("doc:") {
        return Ok(Resource::Doc(id));
    }
    if let Some(rest) = name.strip_prefix("range:") {
        let bad = || {
            LockError::Invalid(format!(
                "`{name}` is not range:<document>:<start>-<end> with start < end"
            ))
        };
        let (doc, span) = rest.rsplit_once(':').ok_or_else(bad)?;
        let (a, b) = span.split_once('-').ok_or_else(bad)?;
        let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if a >= b || doc.is_empty() {
            return Err(bad());
        }
        return Ok(Resource::Range(doc, a, b));
    }
    if let Some(path) = name.strip_prefix("path:") {
        return Ok(Resource::Path(path));
    }
    Ok(Resource::Name(name))
}

fn overlaps(a: &Resource<'_>, b: &Resource<'_>) -> bool {
    use Resource::*;
    let under = |dir: &str, p: &str| dir.ends_with('/') && p.starts_with(dir);
    match (a, b) {
        (Doc(x), Doc(y)) | (Doc(x), Range(y, ..)) | (Range(y, ..), Doc(x)) => x == y,
        (Range(x, s1, e1), Range(y, s2, e2)) => x == y && s1 < e2 && s2 < e1,
        (Path(p), Path(q)) => p == q || under(p, q) || under(q, p),
        (Name(x), Name(y)) => x == y,
        _ => false,
    }
}

/// The room's leases and the documents that require one for writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockTable {
    leases: Vec<Lease>,
    /// The last fencing token granted.
    last_fence: u64,
    /// Documents that need a `doc:<id>` lease for writes.
    #[serde(default)]
    policies: BTreeMap<String, LeasePolicy>,
    /// Who was refused a resource because someone held it: told when it comes free.
    #[serde(default)]
    waiting: BTreeMap<String, Vec<String>>,
}

/// People remembered as waiting for one resource.
const MAX_WAITING: usize = 50;

impl LockTable {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grant `resource` to `holder` for `ttl_ms`, unless someone else holds an
    /// overlapping live lease. A holder asking again for what it holds gets a fresh grant
    /// with a new fencing token (the old token stops being valid).
    pub fn acquire(
        &mut self,
        resource: &str,
        holder: &Holder,
        ttl_ms: u64,
        now_ms: u64,
    ) -> Result<Lease, LockError> {
        let wanted = parse(resource)?;
        check_ttl(ttl_ms)?;
        if let Some(l) = self.leases.iter().find(|l| {
            l.expires_at > now_ms
                && !(l.holder == holder.id && l.resource == resource)
                && parse(&l.resource).is_ok_and(|r| overlaps(&r, &wanted))
        }) {
            return Err(LockError::Held {
                resource: resource.to_owned(),
                held: l.resource.clone(),
                holder: l.holder.clone(),
                holder_name: l.holder_name.clone(),
                expires_at: l.expires_at,
            });
        }
        self.leases.retain(|l| l.resource != resource);
        self.last_fence += 1;
        let lease = Lease {
            resource: resource.to_owned(),
            holder: holder.id.clone(),
            holder_name: holder.name.clone(),
            holder_kind: holder.kind,
            fence: self.last_fence,
            acquired_at: now_ms,
            expires_at: now_ms.saturating_add(ttl_ms),
        };
        self.leases.push(lease.clone());
        Ok(lease)
    }

    fn live(
        &mut self,
        resource: &str,
        holder: Option<&str>,
        fence: u64,
        now_ms: u64,
    ) -> Result<&mut Lease, LockError> {
        parse(resource)?;
        let not_held = |why: String| LockError::NotHeld {
            resource: resource.to_owned(),
            fence,
            why,
        };
        let lease = self
            .leases
            .iter_mut()
            .find(|l| l.resource == resource && l.fence == fence)
            .ok_or_else(|| not_held(String::new()))?;
        if lease.expires_at <= now_ms {
            return Err(not_held(format!(", it expired at {}", lease.expires_at)));
        }
        if let Some(h) = holder {
            if lease.holder != h {
                return Err(not_held(format!(", it belongs to {}", lease.holder)));
            }
        }
        Ok(lease)
    }

    /// Extend a live lease by `ttl_ms` from now. Same fencing token.
    pub fn renew(
        &mut self,
        resource: &str,
        holder: &str,
        fence: u64,
        ttl_ms: u64,
        now_ms: u64,
    ) -> Result<Lease, LockError> {
        check_ttl(ttl_ms)?;
        let lease = self.live(resource, Some(holder), fence, now_ms)?;
        lease.expires_at = now_ms.saturating_add(ttl_ms);
        Ok(lease.clone())
    }

    /// Give a live lease back.
    pub fn release(
        &mut self,
        resource: &str,
        holder: &str,
        fence: u64,
        now_ms: u64,
    ) -> Result<Lease, LockError> {
        let lease = self.live(resource, Some(holder), fence, now_ms)?.clone();
        self.leases.retain(|l| l.fence != fence);
        Ok(lease)
    }

    /// Remove and return the live leases `holder` holds (their role no longer allows
    /// them), oldest grant first.
    pub fn release_held_by(&mut self, holder: &str, now_ms: u64) -> Vec<Lease> {
        let (mut gone, kept) = std::mem::take(&mut self.leases)
            .into_iter()
            .partition(|l: &Lease| l.holder == holder && l.expires_at > now_ms);
        self.leases = kept;
        gone.sort_by_key(|l| l.fence);
        gone
    }

    /// The live lease with this resource and fencing token, if any (anyone may ask).
    pub fn verify(&mut self, resource: &str, fence: u64, now_ms: u64) -> Result<Lease, LockError> {
        self.live(resource, None, fence, now_ms).map(|l| l.clone())
    }

    /// Remove and return the leases that lapsed by `now_ms`.
    pub fn expire(&mut self, now_ms: u64) -> Vec<Lease> {
        let (gone, kept) = std::mem::take(&mut self.leases)
            .into_iter()
            .partition(|l| l.expires_at <= now_ms);
        self.leases = kept;
        gone
    }

    /// When the next live lease lapses.
    pub fn next_expiry(&self) -> Option<u64> {
        self.leases.iter().map(|l| l.expires_at).min()
    }

    /// Live leases, oldest grant first.
    pub fn leases(&self, now_ms: u64) -> Vec<Lease> {
        let mut out: Vec<Lease> = self
            .leases
            .iter()
            .filter(|l| l.expires_at > now_ms)
            .cloned()
            .collect();
        out.sort_by_key(|l| l.fence);
        out
    }

    /// Require (or, with `None`, stop requiring) a `doc:<id>` lease for writes to `doc`.
    pub fn set_policy(&mut self, doc: &str, policy: Option<LeasePolicy>) {
        match policy {
            Some(p) => self.policies.insert(doc.to_owned(), p),
            None => self.policies.remove(doc),
        };
    }

    /// Documents that require a lease, with their policy.
    pub fn policies(&self) -> &BTreeMap<String, LeasePolicy> {
        &self.policies
    }

    /// May `user` write to `doc` now? `Ok` when the document needs no lease or `user`
    /// holds a live `doc:<doc>` lease; otherwise the document's policy.
    pub fn write_check(&self, doc: &str, user: &str, now_ms: u64) -> Result<(), LeasePolicy> {
        let Some(policy) = self.policies.get(doc) else {
            return Ok(());
        };
        let resource = format!("doc:{doc}");
        if self
            .leases
            .iter()
            .any(|l| l.resource == resource && l.holder == user && l.expires_at > now_ms)
        {
            Ok(())
        } else {
            Err(*policy)
        }
    }
}

impl LockTable {
    /// May `user` write at `path` (a file, or with `folder` everything under it) now?
    /// Not while someone else holds a live `path:` lease that overlaps it (`path:src/`
    /// covers `src/main.rs`). With `fence`, the caller must hold that live lease and it
    /// must cover the path (checked on write, so a writer that lost its lease is
    /// refused even when nobody took it since).
    pub fn path_write_check(
        &self,
        path: &str,
        folder: bool,
        user: &str,
        fence: Option<u64>,
        now_ms: u64,
    ) -> Result<(), LockError> {
        let resource = if folder {
            format!("path:{path}/")
        } else {
            format!("path:{path}")
        };
        let wanted = parse(&resource)?;
        if let Some(l) = self.leases.iter().find(|l| {
            l.expires_at > now_ms
                && l.holder != user
                && parse(&l.resource).is_ok_and(|r| overlaps(&r, &wanted))
        }) {
            return Err(LockError::Held {
                resource,
                held: l.resource.clone(),
                holder: l.holder.clone(),
                holder_name: l.holder_name.clone(),
                expires_at: l.expires_at,
            });
        }
        let Some(fence) = fence else { return Ok(()) };
        let not_held = |why: &str| LockError::NotHeld {
            resource: resource.clone(),
            fence,
            why: why.to_owned(),
        };
        let lease = self
            .leases
            .iter()
            .find(|l| l.fence == fence)
            .ok_or_else(|| not_held(""))?;
        if lease.expires_at <= now_ms {
            return Err(not_held(&format!(", it expired at {}", lease.expires_at)));
        }
        if lease.holder != user {
            return Err(not_held(&format!(", it belongs to {}", lease.holder)));
        }
        let covers = match parse(&lease.resource) {
            Ok(Resource::Path(p)) => {
                let target = resource.trim_start_matches("path:");
                p == target || (p.ends_with('/') && target.starts_with(p))
            }
            _ => false,
        };
        if !covers {
            return Err(not_held(&format!(
                ", it is a lease on `{}`, which does not cover `{path}`",
                lease.resource
            )));
        }
        Ok(())
    }

    /// Does `user` hold a live `path:` lease covering `path` (a file)?
    pub fn holds_path(&self, path: &str, user: &str, now_ms: u64) -> bool {
        self.leases.iter().any(|l| {
            l.holder == user
                && l.expires_at > now_ms
                && l.resource
                    .strip_prefix("path:")
                    .is_some_and(|p| p == path || (p.ends_with('/') && path.starts_with(p)))
        })
    }

    /// Is any `path:` lease live? (Writes to files' documents are checked only then.)
    pub fn any_path_lease(&self, now_ms: u64) -> bool {
        self.leases
            .iter()
            .any(|l| l.expires_at > now_ms && l.resource.starts_with("path:"))
    }
}

fn check_ttl(ttl_ms: u64) -> Result<(), LockError> {
    if (MIN_TTL_MS..=MAX_TTL_MS).contains(&ttl_ms) {
        Ok(())
    } else {
        Err(LockError::Invalid(format!(
            "ttlMs must be between {MIN_TTL_MS} and {MAX_TTL_MS}; got {ttl_ms}"
        )))
    }
}

impl LockTable {
    /// Remember `user` as waiting for `resource` (refused because someone held it).
    fn wait(&mut self, resource: &str, user: &str) {
        let list = self.waiting.entry(resource.to_owned()).or_default();
        if !list.iter().any(|u| u == user) && list.len() < MAX_WAITING {
            list.push(user.to_owned());
        }
    }

    /// Who waited for `resource`, forgotten once told (a lease on it ended).
    pub fn take_waiting(&mut self, resource: &str) -> Vec<String> {
        self.waiting.remove(resource).unwrap_or_default()
    }
}

impl super::Authority {
    pub(super) fn acquire(&mut self, cx: &Cx<'_>, a: AcquireArgs) -> OpResult {
        cx.require(Role::Editor)?;
        let lease = match self
            .locks
            .acquire(&a.resource, &cx.actor.holder(), a.ttl_ms, cx.now_ms)
        {
            Ok(lease) => lease,
            Err(e @ LockError::Held { .. }) => {
                self.locks.wait(&a.resource, &cx.actor.id);
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(list) = self.locks.waiting.get_mut(&a.resource) {
            list.retain(|u| *u != cx.actor.id);
        }
        let e = cx.event(
            EventKind::LockAcquired,
            Some(&a.resource),
            json!({ "lease": lease }),
        );
        Ok(Outcome::new(json!({ "lease": lease }), vec![e]))
    }

    pub(super) fn renew(&mut self, cx: &Cx<'_>, a: RenewArgs) -> OpResult {
        cx.require(Role::Editor)?;
        let lease = self
            .locks
            .renew(&a.resource, &cx.actor.id, a.fence, a.ttl_ms, cx.now_ms)?;
        let e = cx.event(
            EventKind::LockRenewed,
            Some(&a.resource),
            json!({ "lease": lease }),
        );
        Ok(Outcome::new(json!({ "lease": lease }), vec![e]))
    }

    pub(super) fn release(&mut self, cx: &Cx<'_>, a: LeaseArgs) -> OpResult {
        cx.require(Role::Editor)?;
        let lease = self
            .locks
            .release(&a.resource, &cx.actor.id, a.fence, cx.now_ms)?;
        let e = cx.event(
            EventKind::LockReleased,
            Some(&a.resource),
            json!({ "lease": lease }),
        );
        Ok(Outcome::new(json!({ "released": lease }), vec![e]))
    }

    pub(super) fn verify(&mut self, a: LeaseArgs, now_ms: u64) -> OpResult {
        let result = match self.locks.verify(&a.resource, a.fence, now_ms) {
            Ok(lease) => json!({ "valid": true, "lease": lease }),
            Err(e) => json!({ "valid": false, "reason": e.to_string() }),
        };
        Ok(Outcome::new(result, vec![]))
    }

    pub(super) fn set_policy(&mut self, cx: &Cx<'_>, a: PolicyArgs) -> OpResult {
        cx.require_owner()?;
        if a.document.is_empty() {
            return Err(OpError::invalid("lock.policy: `document` is empty"));
        }
        self.locks.set_policy(&a.document, a.policy);
        let e = cx.event(
            EventKind::LockPolicy,
            Some(&a.document),
            json!({ "policy": a.policy }),
        );
        Ok(Outcome::new(
            json!({ "policies": self.locks.policies() }),
            vec![e],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(id: &str) -> Holder {
        Holder {
            id: id.into(),
            name: id.to_uppercase(),
            kind: ParticipantKind::Agent,
        }
    }

    #[test]
    fn one_winner_fences_increase_and_leases_lapse() -> Result<(), LockError> {
        let mut t = LockTable::new();
        let a = t.acquire("doc:notes", &who("a"), 1_000, 0)?;
        let err = t.acquire("doc:notes", &who("b"), 1_000, 10).unwrap_err();
        assert!(matches!(&err, LockError::Held { holder, .. } if holder == "a"));
        assert!(err.to_string().contains("held by A (a)"), "{err}");
        // Renewal keeps the fence and pushes the expiry.
        let renewed = t.renew("doc:notes", "a", a.fence, 1_000, 900)?;
        assert_eq!((renewed.fence, renewed.expires_at), (a.fence, 1_900));
        assert!(t.acquire("doc:notes", &who("b"), 1_000, 1_500).is_err());
        // After expiry b wins, with a larger fence; a's token is dead.
        let b = t.acquire("doc:notes", &who("b"), 1_000, 1_900)?;
        assert!(b.fence > a.fence);
        assert!(t.verify("doc:notes", a.fence, 1_901).is_err());
        assert_eq!(t.verify("doc:notes", b.fence, 1_901)?.holder, "b");
        assert!(matches!(
            t.renew("doc:notes", "a", a.fence, 1_000, 1_901),
            Err(LockError::NotHeld { .. })
        ));
        // Only the holder releases.
        assert!(t.release("doc:notes", "a", b.fence, 1_950).is_err());
        t.release("doc:notes", "b", b.fence, 1_950)?;
        assert!(t.leases(1_950).is_empty());
        Ok(())
    }

    #[test]
    fn overlapping_shapes_conflict() -> Result<(), LockError> {
        let mut t = LockTable::new();
        t.acquire("range:d:10-20", &who("a"), 5_000, 0)?;
        assert!(t.acquire("range:d:19-30", &who("b"), 5_000, 0).is_err());
        t.acquire("range:d:20-30", &who("b"), 5_000, 0)?;
        assert!(t.acquire("doc:d", &who("c"), 5_000, 0).is_err());
        t.acquire("doc:e", &who("c"), 5_000, 0)?;
        let fence = t.acquire("path:src/", &who("a"), 5_000, 0)?.fence;
        assert!(t.acquire("path:src/main.rs", &who("b"), 5_000, 0).is_err());
        t.acquire("path:srcx/main.rs", &who("b"), 5_000, 0)?;
        // Writes: the holder may, with its fence; anyone else is refused by name.
        t.path_write_check("src/main.rs", false, "a", Some(fence), 1)?;
        let held = t
            .path_write_check("src/main.rs", false, "b", None, 1)
            .unwrap_err();
        assert!(held.to_string().contains("held by"), "{held}");
        assert!(t.path_write_check("src", true, "b", None, 1).is_err());
        t.path_write_check("srcx/main.rs", false, "b", None, 1)?;
        let stray = t
            .path_write_check("other/x.rs", false, "a", Some(fence), 1)
            .unwrap_err();
        assert!(stray.to_string().contains("does not cover"), "{stray}");
        let late = t
            .path_write_check("src/a.rs", false, "a", Some(fence), 10_000)
            .unwrap_err();
        assert!(late.to_string().contains("expired"), "{late}");
        t.acquire("build", &who("a"), 5_000, 0)?;
        assert!(t.acquire("build", &who("b"), 5_000, 0).is_err());
        for bad in ["", "range:d:5-5", "range:d:x-9", "range::1-2"] {
            assert!(matches!(
                t.acquire(bad, &who("a"), 5_000, 0),
                Err(LockError::Invalid(_))
            ));
        }
        assert!(t.acquire("x", &who("a"), 5, 0).is_err(), "ttl too short");
        Ok(())
    }

    #[test]
    fn expiry_is_reported_once_and_write_checks_follow_leases() -> Result<(), LockError> {
        let mut t = LockTable::new();
        t.set_policy("spec", Some(LeasePolicy::Refuse));
        assert_eq!(t.write_check("spec", "a", 0), Err(LeasePolicy::Refuse));
        assert_eq!(t.write_check("other", "a", 0), Ok(()));
        t.acquire("doc:spec", &who("a"), 1_000, 0)?;
        assert_eq!(t.write_check("spec", "a", 500), Ok(()));
        assert_eq!(t.write_check("spec", "b", 500), Err(LeasePolicy::Refuse));
        assert_eq!(t.next_expiry(), Some(1_000));
        assert!(t.expire(999).is_empty());
        assert_eq!(t.expire(1_000).len(), 1);
        assert!(t.expire(1_000).is_empty());
        assert_eq!(t.write_check("spec", "a", 1_000), Err(LeasePolicy::Refuse));
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<LockTable>(&json).unwrap(), t);
        Ok(())
    }
}
