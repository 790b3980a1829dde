//! The per-transaction bookkeeping every feature relies on: who deleted what (a CRDT
//! delete set carries no author), the field log that keeps a concurrent write's value,
//! and the `clients` map from yrs client id to participant that attributes every change.

use std::collections::HashMap;
use std::sync::Arc;

use yrs::{Any, Map, Out, ReadTxn, Transact, TransactionMut, WriteTxn};

use crate::doc::participant::Participant;
use crate::doc::schema::{CLIENTS, DELETIONS, FIELD_LOG};
use crate::doc::RoomDoc;
use crate::error::{Error, Result};

/// Record who deleted what in this transaction: `deletions` maps each deleted range
/// (`"<client>:<clock>:<deleter>"`, the range's first id and who deleted it) to the
/// deleter, the range's length and the deleter's clock at the transaction (`tx`, which
/// places the deletion in the deleter's causal record). A CRDT delete set carries no
/// author, so without this a diff could only say who wrote a deleted span; keying by
/// deleter keeps both records when two people delete the same text concurrently.
/// Returns the ranges recorded: (writer, first clock, end clock).
pub(crate) fn record_deletions(txn: &mut TransactionMut<'_>, by: u64) -> Vec<(u64, u32, u32)> {
    let tx = txn.before_state().get(&yrs::ClientID::new(by));
    let ranges: Vec<(u64, u32, u32)> = txn
        .delete_set()
        .iter()
        .flat_map(|(client, ranges)| {
            let client = client.get();
            ranges
                .iter()
                .map(move |r| (client, r.start, r.end))
                .collect::<Vec<_>>()
        })
        .collect();
    if ranges.is_empty() {
        return ranges;
    }
    let deletions = txn.get_or_insert_map(DELETIONS);
    for &(client, start, end) in &ranges {
        let mut record = HashMap::new();
        record.insert("by".to_owned(), Any::from(by as f64));
        record.insert("len".to_owned(), Any::from(f64::from(end - start)));
        record.insert("tx".to_owned(), Any::from(f64::from(tx)));
        deletions.insert(
            txn,
            format!("{client}:{start}:{by}"),
            Any::Map(std::sync::Arc::new(record)),
        );
    }
    ranges
}

/// One deletion record (`key` and value as [`record_deletions`] writes them): the
/// writer of the deleted items, the range, the deleter and its transaction clock.
/// `None` when it does not parse or names a range that overflows.
pub(crate) fn deletion_of(key: &str, value: &Any) -> Option<(u64, u32, u32, u64, Option<u32>)> {
    let Any::Map(record) = value else { return None };
    let mut parts = key.split(':');
    let client = parts.next()?.parse::<u64>().ok()?;
    let start = parts.next()?.parse::<u32>().ok()?;
    let num = |k: &str| match record.get(k) {
        Some(Any::Number(n)) => n.as_f64(),
        _ => None,
    };
    let (by, len) = (num("by")?, num("len")?);
    let end = start.checked_add(len as u32).filter(|&e| e > start)?;
    Some((client, start, end, by as u64, num("tx").map(|t| t as u32)))
}

/// Every recorded deletion, by the client that wrote the deleted items: (start, end,
/// deleter, the deleter's transaction clock when recorded), sorted. Records that do not
/// parse, or name a range that overflows, are skipped.
#[allow(clippy::type_complexity)]
pub(crate) fn deletion_records<T: ReadTxn>(
    txn: &T,
) -> HashMap<u64, Vec<(u32, u32, u64, Option<u32>)>> {
    let mut out: HashMap<u64, Vec<(u32, u32, u64, Option<u32>)>> = HashMap::new();
    let Some(deletions) = txn.get_map(DELETIONS) else {
        return out;
    };
    for (key, value) in deletions.iter(txn) {
        let Out::Any(value) = value else { continue };
        if let Some((client, start, end, by, tx)) = deletion_of(key, &value) {
            out.entry(client).or_default().push((start, end, by, tx));
        }
    }
    for ranges in out.values_mut() {
        ranges.sort_unstable();
    }
    out
}

/// Write `value` to `root[id][key]` (a nested map) and log it, so a concurrent write
/// of another value can be reported with both values.
pub fn log_field(txn: &mut TransactionMut<'_>, own: u64, field: &str, value: Any, at: u64) {
    let clock = txn.before_state().get(&yrs::ClientID::new(own));
    let log = txn.get_or_insert_map(FIELD_LOG);
    let mut record = HashMap::new();
    record.insert("v".to_owned(), value);
    record.insert("at".to_owned(), Any::from(at as f64));
    log.insert(
        txn,
        format!("{own}:{clock}:{field}"),
        Any::Map(Arc::new(record)),
    );
}

impl RoomDoc {
    /// Record that yrs client `client` acts for `who` (done by every session).
    pub fn register_client(&mut self, client: u64, who: &Participant) {
        let mut txn = self.doc.transact_mut();
        let clients = txn.get_or_insert_map(CLIENTS);
        let key = client.to_string();
        let known = matches!(clients.get(&txn, &key), Some(Out::Any(a)) if Participant::from_any(&a).as_ref() == Some(who));
        if !known {
            clients.insert(&mut txn, key, who.to_any());
        }
    }

    /// The participant behind a yrs client id, when the room recorded it (or, for this
    /// doc's own client id, who it acts for).
    pub fn participant_for_client(&self, client: u64) -> Option<Participant> {
        self.recorded_participant(client)
            .or_else(|| self.local_for(client))
    }

    /// The participant the room's `clients` map records for a yrs client id.
    pub(crate) fn recorded_participant(&self, client: u64) -> Option<Participant> {
        let txn = self.doc.transact();
        let clients = txn.get_map(CLIENTS)?;
        match clients.get(&txn, &client.to_string())? {
            Out::Any(a) => Participant::from_any(&a),
            _ => None,
        }
    }

    /// Name who this doc's own client id acts for, until the room records it.
    pub fn set_local_participant(&mut self, who: &Participant) {
        self.local = Some(who.clone());
    }

    fn local_for(&self, client: u64) -> Option<Participant> {
        (client == self.doc.client_id().get() || self.bridged.has(client))
            .then(|| self.local.clone())
            .flatten()
    }

    pub(crate) fn clients_by_id(&self) -> HashMap<u64, Participant> {
        let txn = self.doc.transact();
        let mut out: HashMap<u64, Participant> = match txn.get_map(CLIENTS) {
            Some(clients) => clients
                .iter(&txn)
                .filter_map(|(key, value)| {
                    let Out::Any(a) = value else { return None };
                    Some((key.parse().ok()?, Participant::from_any(&a)?))
                })
                .collect(),
            None => HashMap::new(),
        };
        let own = self.doc.client_id().get();
        for client in std::iter::once(own).chain(self.bridged.clients()) {
            if let (false, Some(me)) = (out.contains_key(&client), self.local_for(client)) {
                out.insert(client, me);
            }
        }
        out
    }

    /// Write a tracked field `root/id/key` (its entry must exist), logging the write.
    pub(crate) fn write_field(
        &mut self,
        root: &str,
        id: &str,
        key: &str,
        value: Any,
    ) -> Result<()> {
        let own = self.doc.client_id().get();
        let mut txn = self.doc.transact_mut();
        let entry = match txn.get_map(root).and_then(|m| m.get(&txn, id)) {
            Some(Out::YMap(m)) => m,
            _ => return Err(Error::UnknownField(format!("{root}/{id}/{key}"))),
        };
        entry.insert(&mut txn, key, value.clone());
        log_field(
            &mut txn,
            own,
            &format!("{root}/{id}/{key}"),
            value,
            self.writer.now_ms,
        );
        self.writer.note(&mut txn, own);
        Ok(())
    }

    /// Agents: attribute the next edits to `turn` (and `model`); `None` to stop.
    pub fn act_for(&mut self, turn: Option<&str>, model: Option<&str>) {
        self.writer.acting = (turn.map(str::to_owned), model.map(str::to_owned));
    }

    /// The time recorded with this replica's next changes.
    pub fn set_time(&mut self, now_ms: u64) {
        self.writer.now_ms = now_ms;
    }

    pub(crate) fn participant_in<T: ReadTxn>(&self, txn: &T, client: u64) -> Option<Participant> {
        let clients = txn.get_map("clients")?;
        match clients.get(txn, &client.to_string())? {
            Out::Any(a) => Participant::from_any(&a),
            _ => None,
        }
    }
}
