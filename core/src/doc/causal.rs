//! What each writer had seen: the causal record behind conflict detection and
//! attribution.
//!
//! A yrs update says *what* changed, not what its writer knew at the time, so two edits
//! that were made without seeing each other look exactly like two edits made one after
//! the other. Confab closes that gap with **epochs**: whenever a session makes a local
//! change and its view of everyone else has moved since its last record (or the turn it
//! acts for changed), it writes, in the same transaction, one entry to the room's
//! `epochs` map:
//!
//! ```text
//! epochs["<client>:<clock>"] = { sv: { "<other client>": clock, ... }, at, turn?, model? }
//! ```
//!
//! `clock` is the writer's own clock at the start of that transaction, `sv` lists only
//! the clients whose clock changed since the writer's previous record (the full view is
//! the fold of the writer's records in clock order). Every item and every deletion a
//! client writes from `clock` on — until its next record — was made knowing exactly that
//! view. A typist working alone writes one record per session; two people typing at
//! once write one per interleaving. The record travels in the same update as the edit,
//! so any replica that has an edit also knows what its writer had seen: every replica
//! decides "were these two edits concurrent?" alike.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use yrs::types::EntryChange;
use yrs::types::Observable;
use yrs::{Any, Map, MapRef, Out, ReadTxn, TransactionMut, WriteTxn};

/// The root map holding the epoch records.
pub(crate) use crate::doc::schema::EPOCHS;

/// What a writer knew from a given clock on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Epoch {
    /// The writer's own clock where the epoch starts.
    pub start: u32,
    /// For every other client, how many of its clock ticks the writer had seen, sorted
    /// by client (a few entries: a search beats hashing in the conflict scan).
    pub seen: Vec<(u64, u32)>,
    /// When the epoch started, ms since the Unix epoch.
    pub at: f64,
    /// The agent turn the writer was acting for, if any.
    pub turn: Option<String>,
    /// The model the writer (an agent) named, if any.
    pub model: Option<String>,
    /// The agent turn whose changes the writer was taking back, if any.
    pub reverts: Option<String>,
}

impl Epoch {
    /// Whether the writer had seen the change at `clock` of `client`.
    pub fn saw(&self, client: u64, clock: u32) -> bool {
        self.seen_of(client) > clock
    }

    /// How many of `client`'s clock ticks the writer had seen.
    pub fn seen_of(&self, client: u64) -> u32 {
        match self.seen.binary_search_by_key(&client, |&(c, _)| c) {
            Ok(i) => self.seen[i].1,
            Err(_) => 0,
        }
    }
}

/// One raw record as read from the map: (client, start clock, changed clients, at,
/// turn, model, the turn it reverts).
type RawEpoch = (
    u64,
    u32,
    HashMap<u64, u32>,
    f64,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Every client's epochs, kept up to date by an observer on the `epochs` map.
pub(crate) struct EpochIndex {
    map: MapRef,
    deletions: MapRef,
    /// For each deleter, the latest transaction clock of a deletion it recorded: a
    /// bridged client's pure deletion writes no item, so it can sit at the client's
    /// next clock, past its last item (see [`EpochIndex::overlaps`]).
    deleted_at: Arc<Mutex<HashMap<u64, u32>>>,
    by_client: HashMap<u64, BTreeMap<u32, Arc<Epoch>>>,
    diffs: HashMap<u64, BTreeMap<u32, RawEpoch>>,
    incoming: Arc<Mutex<Vec<RawEpoch>>>,
}

fn parse_record(key: &str, value: &Any) -> Option<RawEpoch> {
    let (client, clock) = key.split_once(':')?;
    let (client, clock) = (client.parse::<u64>().ok()?, clock.parse::<u32>().ok()?);
    let Any::Map(record) = value else { return None };
    let mut seen = HashMap::new();
    if let Some(Any::Map(sv)) = record.get("sv") {
        for (k, v) in sv.iter() {
            if let (Ok(c), Any::Number(n)) = (k.parse::<u64>(), v) {
                if let Some(n) = n.as_f64() {
                    seen.insert(c, n as u32);
                }
            }
        }
    }
    let at = match record.get("at") {
        Some(Any::Number(n)) => n.as_f64().unwrap_or(0.0),
        _ => 0.0,
    };
    let text = |k: &str| match record.get(k) {
        Some(Any::String(s)) => Some(s.to_string()),
        _ => None,
    };
    Some((
        client,
        clock,
        seen,
        at,
        text("turn"),
        text("model"),
        text("reverts"),
    ))
}

impl EpochIndex {
    pub(crate) fn new(map: &MapRef, deletions: &MapRef, txn: &impl ReadTxn) -> Self {
        let deleted_at: Arc<Mutex<HashMap<u64, u32>>> = Arc::default();
        let note_deletion = |sink: &Mutex<HashMap<u64, u32>>, key: &str, value: &Any| {
            if let Some((_, _, _, by, Some(tx))) = crate::doc::record::deletion_of(key, value) {
                let mut sink = sink
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let at = sink.entry(by).or_default();
                *at = (*at).max(tx);
            }
        };
        for (key, value) in deletions.iter(txn) {
            if let Out::Any(value) = value {
                note_deletion(&deleted_at, key, &value);
            }
        }
        let sink = deleted_at.clone();
        deletions.observe("confab-deleted-at", move |txn, event| {
            for (key, change) in event.keys(txn) {
                if let EntryChange::Inserted(Out::Any(value)) = change {
                    note_deletion(&sink, key, value);
                }
            }
        });
        let incoming: Arc<Mutex<Vec<RawEpoch>>> = Arc::default();
        let sink = incoming.clone();
        map.observe("confab-epochs", move |txn, event| {
            let mut fresh = Vec::new();
            for (key, change) in event.keys(txn) {
                if let EntryChange::Inserted(Out::Any(value)) = change {
                    if let Some(raw) = parse_record(key, value) {
                        fresh.push(raw);
                    }
                }
            }
            // A panic while holding the lock leaves the list whole: keep using it.
            let mut sink = sink
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            sink.extend(fresh);
        });
        let existing: Vec<RawEpoch> = map
            .iter(txn)
            .filter_map(|(key, value)| match value {
                Out::Any(value) => parse_record(key, &value),
                _ => None,
            })
            .collect();
        let mut index = EpochIndex {
            map: map.clone(),
            deletions: deletions.clone(),
            deleted_at,
            by_client: HashMap::new(),
            diffs: HashMap::new(),
            incoming,
        };
        index.absorb(existing);
        index
    }

    /// Stop observing the map (while its doc is alive: a `MapRef` does not keep the doc
    /// alive, so this cannot run in `Drop`).
    pub(crate) fn detach(&self) {
        self.map.unobserve("confab-epochs");
        self.deletions.unobserve("confab-deleted-at");
    }

    /// Fold records that arrived since the last call into the index.
    pub(crate) fn refresh(&mut self) {
        let fresh = std::mem::take(
            &mut *self
                .incoming
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if !fresh.is_empty() {
            self.absorb(fresh);
        }
    }

    fn absorb(&mut self, fresh: Vec<RawEpoch>) {
        let mut from: HashMap<u64, u32> = HashMap::new();
        for raw in fresh {
            let (client, clock) = (raw.0, raw.1);
            let lowest = from.entry(client).or_insert(clock);
            *lowest = (*lowest).min(clock);
            self.diffs.entry(client).or_default().insert(clock, raw);
        }
        for (client, lowest) in from {
            let diffs = &self.diffs[&client];
            let epochs = self.by_client.entry(client).or_default();
            let mut seen: BTreeMap<u64, u32> = epochs
                .range(..lowest)
                .next_back()
                .map(|(_, e)| e.seen.iter().copied().collect())
                .unwrap_or_default();
            for (&clock, raw) in diffs.range(lowest..) {
                for (&c, &n) in &raw.2 {
                    seen.insert(c, n);
                }
                epochs.insert(
                    clock,
                    Arc::new(Epoch {
                        start: clock,
                        seen: seen.iter().map(|(&c, &n)| (c, n)).collect(),
                        at: raw.3,
                        turn: raw.4.clone(),
                        model: raw.5.clone(),
                        reverts: raw.6.clone(),
                    }),
                );
            }
        }
    }

    /// The epoch a change of `client` at `clock` was made in; `None` when that client
    /// kept no record (a stock Yjs client, or a change older than this feature).
    pub(crate) fn at(&self, client: u64, clock: u32) -> Option<&Arc<Epoch>> {
        self.by_client
            .get(&client)?
            .range(..=clock)
            .next_back()
            .map(|(_, e)| e)
    }

    /// Which changes may be concurrent with another client's, judged from the epochs
    /// alone (see [`Overlaps`]). `clocks`: each client's next clock (the state vector).
    pub(crate) fn overlaps(&self, clocks: &HashMap<u64, u32>) -> Overlaps {
        // Each epoch with the last clock a change made in it can have: up to the next
        // epoch's start; for the last epoch, the client's last item, or a later
        // deletion's clock (a bridged client's pure deletion writes no item).
        let deleted_at = self
            .deleted_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let ranges: Vec<(u64, Vec<(&Epoch, u32)>)> = self
            .by_client
            .iter()
            .map(|(&client, epochs)| {
                let mut out: Vec<(&Epoch, u32)> = Vec::with_capacity(epochs.len());
                let mut it = epochs.values().peekable();
                while let Some(e) = it.next() {
                    let last = match it.peek() {
                        Some(next) => next.start.saturating_sub(1).max(e.start),
                        None => {
                            let items = clocks.get(&client).map_or(0, |n| n.saturating_sub(1));
                            let deletion = deleted_at.get(&client).copied().unwrap_or(0);
                            items.max(deletion).max(e.start)
                        }
                    };
                    out.push((e.as_ref(), last));
                }
                (client, out)
            })
            .collect();
        let mut by_client: HashMap<u64, Vec<TheirEpochs>> = HashMap::new();
        for (a, _) in &ranges {
            let lists = ranges
                .iter()
                .filter(|(b, _)| b != a)
                .map(|(b, theirs)| {
                    // (what that epoch had seen of `a`, the latest clock of `b` that any
                    // epoch seeing at most that much of `a` reaches), by the first.
                    let mut list: Vec<(u32, u32)> = theirs
                        .iter()
                        .map(|(f, last)| (f.seen_of(*a), *last))
                        .collect();
                    list.sort_unstable();
                    let mut reach = 0;
                    for entry in &mut list {
                        reach = reach.max(entry.1);
                        entry.1 = reach;
                    }
                    (*b, list)
                })
                .collect();
            by_client.insert(*a, lists);
        }
        let mut overlaps = Overlaps {
            by_client,
            any: false,
        };
        overlaps.any = ranges
            .iter()
            .any(|(a, ours)| ours.iter().any(|(e, last)| overlaps.may_meet(*a, *last, e)));
        overlaps
    }

    /// The clocks each writer wrote while acting for agent turn `turn`: client, first
    /// clock, end clock (exclusive; the last epoch of a writer runs to the end).
    pub(crate) fn turn_ranges(&self, turn: &str) -> Vec<(u64, u32, u32)> {
        let mut out = Vec::new();
        for (&client, epochs) in &self.by_client {
            let mut starts = epochs.iter().peekable();
            while let Some((&start, epoch)) = starts.next() {
                if epoch.turn.as_deref() == Some(turn) {
                    let end = starts.peek().map_or(u32::MAX, |(&next, _)| next);
                    out.push((client, start, end));
                }
            }
        }
        out
    }

    /// Who took back agent turn `turn` first, if anyone did: (client, when).
    pub(crate) fn reverted(&self, turn: &str) -> Option<(u64, f64)> {
        self.by_client
            .iter()
            .flat_map(|(&client, epochs)| epochs.values().map(move |e| (client, e)))
            .filter(|(_, e)| e.reverts.as_deref() == Some(turn))
            .map(|(client, e)| (client, e.at))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Every epoch start of `client`, in order.
    pub(crate) fn starts(&self, client: u64) -> impl Iterator<Item = u32> + '_ {
        self.by_client
            .get(&client)
            .into_iter()
            .flat_map(|epochs| epochs.keys().copied())
    }

    /// For every client, each clock at which some writer's knowledge of it ended: the
    /// points where "seen by X" can change along that client's changes.
    pub(crate) fn horizons(&self) -> HashMap<u64, Vec<u32>> {
        // Every folded view takes each value from one record's changes: scan those.
        let mut out: HashMap<u64, Vec<u32>> = HashMap::new();
        for diffs in self.diffs.values() {
            for raw in diffs.values() {
                for (&client, &clock) in &raw.2 {
                    out.entry(client).or_default().push(clock);
                }
            }
        }
        for clocks in out.values_mut() {
            clocks.sort_unstable();
            clocks.dedup();
        }
        out
    }
}

/// Another client and its epochs as [`Overlaps`] keeps them.
type TheirEpochs = (u64, Vec<(u32, u32)>);

/// An index over every client's epochs that answers, without looking at any text,
/// whether a change could be concurrent with some other client's change. Two changes
/// are concurrent when neither writer had seen the other's; "seen" only grows with a
/// writer's clock, so for a change at (`a`, `x`) in epoch `E` it is enough to ask, for
/// every other client `b`, whether some epoch `F` of `b` had seen less of `a` than `x`
/// while reaching a clock of `b` that `E` had not seen. The answer is a superset of the
/// truth (an epoch's range stands for its changes), never an omission: a change it rules
/// out has no concurrent partner, so the conflict scan may skip it and find the same.
pub(crate) struct Overlaps {
    /// For each client `a`: for each other client `b`, `b`'s epochs as (seen of `a`,
    /// the furthest clock of `b` reached by an epoch that had seen at most that much),
    /// sorted.
    by_client: HashMap<u64, Vec<TheirEpochs>>,
    any: bool,
}

impl Overlaps {
    /// Whether the change at (`client`, `clock`), made in `epoch`, may be concurrent
    /// with a change of another client.
    pub(crate) fn may_meet(&self, client: u64, clock: u32, epoch: &Epoch) -> bool {
        let Some(lists) = self.by_client.get(&client) else {
            return false;
        };
        lists.iter().any(|(b, list)| {
            // Epochs of `b` that had not seen this change: those with seen ≤ clock.
            let n = list.partition_point(|&(seen, _)| seen <= clock);
            n > 0 && list[n - 1].1 >= epoch.seen_of(*b)
        })
    }

    /// Whether any two changes anywhere may be concurrent.
    pub(crate) fn any(&self) -> bool {
        self.any
    }
}

/// What this replica last wrote as its own epoch (to write a record only on change).
#[derive(Debug, Default)]
pub(crate) struct EpochWriter {
    seen: Option<HashMap<u64, u32>>,
    /// The clock of the last record, and the view before it: a writer whose clock did
    /// not move since (a bridged replica's pure deletion writes no item of its own)
    /// rewrites that record, so it must list every change since the view before it.
    last: Option<(u32, Option<HashMap<u64, u32>>)>,
    turn: Option<String>,
    model: Option<String>,
    reverts: Option<String>,
    /// The turn and model the next edits act for.
    pub(crate) acting: (Option<String>, Option<String>),
    /// The agent turn the next edits take back (see [`RoomDoc::revert_turn`]).
    pub(crate) reverting: Option<String>,
    /// The time recorded with new epochs.
    pub(crate) now_ms: u64,
}

impl EpochWriter {
    /// Called inside every local transaction that edits a document or a tracked
    /// field: writes an epoch record when this client's view or role changed.
    pub(crate) fn note(&mut self, txn: &mut TransactionMut<'_>, own: u64) {
        let (turn, model) = &self.acting;
        let before = txn.before_state();
        let unchanged_view = self.seen.as_ref().is_some_and(|prev| {
            before
                .iter()
                .filter(|(c, _)| c.get() != own)
                .all(|(c, n)| prev.get(&c.get()) == Some(n))
        });
        if unchanged_view
            && *turn == self.turn
            && *model == self.model
            && self.reverting == self.reverts
        {
            return; // the common case: typing on, nothing new seen
        }
        let view: HashMap<u64, u32> = before
            .iter()
            .map(|(c, &n)| (c.get(), n))
            .filter(|&(c, _)| c != own)
            .collect();
        let (turn, model) = self.acting.clone();
        let clock = txn.before_state().get(&yrs::ClientID::new(own));
        let base = match &self.last {
            Some((at, before)) if *at == clock => before.clone(),
            _ => self.seen.clone(),
        };
        let changed: HashMap<u64, u32> = match &base {
            Some(prev) => view
                .iter()
                .filter(|(c, n)| prev.get(c) != Some(n))
                .map(|(&c, &n)| (c, n))
                .collect(),
            None => view.clone(),
        };
        let sv: HashMap<String, Any> = changed
            .iter()
            .map(|(c, &n)| (c.to_string(), Any::from(f64::from(n))))
            .collect();
        let mut record: HashMap<String, Any> = HashMap::new();
        record.insert("sv".into(), Any::Map(Arc::new(sv)));
        record.insert("at".into(), Any::from(self.now_ms as f64));
        if let Some(turn) = &turn {
            record.insert("turn".into(), Any::from(turn.as_str()));
        }
        if let Some(model) = &model {
            record.insert("model".into(), Any::from(model.as_str()));
        }
        if let Some(reverts) = &self.reverting {
            record.insert("reverts".into(), Any::from(reverts.as_str()));
        }
        let epochs = txn.get_or_insert_map(EPOCHS);
        epochs.insert(txn, format!("{own}:{clock}"), Any::Map(Arc::new(record)));
        self.last = Some((clock, base));
        self.seen = Some(view);
        self.turn = turn;
        self.model = model;
        self.reverts = self.reverting.clone();
    }
}
