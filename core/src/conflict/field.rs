//! Field conflicts: concurrent writes of different values to one tracked field, read
//! back from the field log (the value the CRDT dropped is still there).

use std::collections::BTreeMap;

use yrs::{Any, Map, Out, ReadTxn, Transact};

use super::text::{fnv, fnv_str};
use super::*;
use crate::doc::causal::Epoch;
use crate::doc::schema::FIELD_LOG;
use crate::doc::RoomDoc;

pub(crate) fn any_text(any: &Any) -> String {
    match any {
        Any::String(s) => s.to_string(),
        Any::Null | Any::Undefined => String::new(),
        other => other.to_string(),
    }
}

impl RoomDoc {
    pub(super) fn field_conflicts(&self) -> Vec<Conflict> {
        let txn = self.doc.transact();
        let Some(log) = txn.get_map(FIELD_LOG) else {
            return Vec::new();
        };
        // field → writes (client, clock, value, at)
        let mut writes: BTreeMap<String, Vec<(u64, u32, Any, f64)>> = BTreeMap::new();
        for (key, value) in log.iter(&txn) {
            let mut parts = key.splitn(3, ':');
            let (Some(c), Some(k), Some(field)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let (Ok(c), Ok(k)) = (c.parse::<u64>(), k.parse::<u32>()) else {
                continue;
            };
            let Out::Any(Any::Map(record)) = value else {
                continue;
            };
            let v = record.get("v").cloned().unwrap_or(Any::Null);
            let at = num(&record, "at").unwrap_or(0.0);
            writes
                .entry(field.to_owned())
                .or_default()
                .push((c, k, v, at));
        }
        drop(txn);
        let mut out = Vec::new();
        for (field, mut list) in writes {
            list.sort_by_key(|w| (w.0, w.1));
            for (x, a) in list.iter().enumerate() {
                for b in &list[x + 1..] {
                    if a.0 == b.0 || a.2 == b.2 {
                        continue;
                    }
                    let (Some(ea), Some(eb)) = (self.epochs.at(a.0, a.1), self.epochs.at(b.0, b.1))
                    else {
                        continue;
                    };
                    if ea.saw(b.0, b.1) || eb.saw(a.0, a.1) {
                        continue;
                    }
                    let side = |w: &(u64, u32, Any, f64), e: &Epoch| ConflictSide {
                        inserted: any_text(&w.2),
                        ..ConflictSide::new(self.participant_for_client(w.0), w.0, w.3, e)
                    };
                    let mut sides = vec![side(a, ea), side(b, eb)];
                    by_time(&mut sides);
                    let current = self
                        .read_field(&field)
                        .map(|v| any_text(&v))
                        .unwrap_or_default();
                    let id = format!(
                        "f{:016x}",
                        fnv(&[fnv_str(&field), a.0, u64::from(a.1), b.0, u64::from(b.1)])
                    );
                    out.push(Conflict {
                        field: Some(field.clone()),
                        current,
                        ..Conflict::open(id, ConflictKind::Field, sides)
                    });
                }
            }
        }
        out
    }

    pub(super) fn read_field(&self, field: &str) -> Option<Any> {
        let mut parts = field.splitn(3, '/');
        let (root, id, key) = (parts.next()?, parts.next()?, parts.next()?);
        let txn = self.doc.transact();
        let Out::YMap(entry) = txn.get_map(root)?.get(&txn, id)? else {
            return None;
        };
        match entry.get(&txn, key)? {
            Out::Any(a) => Some(a),
            _ => None,
        }
    }
}
