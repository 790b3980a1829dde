//! Which container every applied item lives in, so a room can tell which parts of the
//! document an update touches.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ops::Bound::{Excluded, Included};
use std::sync::Arc;

use super::*;

/// A container path from a root: e.g. `["messages", "m1", "reactions"]` for entries of
/// the reactions map nested in message `m1` of the root map `messages`; `["doc:notes"]`
/// for items of the root text `doc:notes`. A nested type that is an element of a
/// sequence (no map key) contributes the segment `#<client>.<clock>` of its id.
pub type ZonePath = Vec<String>;

/// The container an item lives in, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Container {
    /// A root type, by name.
    Root(Arc<str>),
    /// The nested type created by this item.
    Type(ItemId),
    /// Garbage collected, or integrated as garbage by yrs (its origin was GC, or its
    /// parent is not a type): touches nothing.
    Gc,
    /// Cannot be resolved.
    Unknown,
}

/// Where an item lives: its container and, for a map entry, its key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    container: Container,
    key: Option<Arc<str>>,
}

impl Place {
    fn of(container: Container) -> Self {
        Place {
            container,
            key: None,
        }
    }
}

/// A recorded range of consecutive clocks of one client, all in the same place.
#[derive(Debug, Clone)]
struct Span {
    /// Exclusive end clock.
    end: u32,
    place: Place,
    /// Every item of the span creates a nested type (type items are one clock long).
    is_type: bool,
}

/// Remembers, for every item a room has applied, which container it lives in, so the
/// room can tell which part of the document an update touches before applying it.
///
/// Ranges of consecutive clocks of one client in the same container (and under the same
/// map key) are stored as one range, so a typing session of any length in one text costs
/// a constant amount of memory. A room loaded from storage should [`record`] a scan of
/// its stored state once before recording further updates.
///
/// [`record`]: ZoneIndex::record
#[derive(Debug, Default)]
pub struct ZoneIndex {
    spans: BTreeMap<(u64, u32), Span>,
    strings: HashSet<Arc<str>>,
}

/// What a container resolves to.
enum Zone {
    Nothing,
    Unknown,
    Path(ZonePath),
}

/// An update's own items and GC ranges, by id.
struct Local<'a> {
    scan: &'a Scan,
    items: BTreeMap<(u64, u32), usize>,
    gc: BTreeMap<(u64, u32), u32>,
}

impl<'a> Local<'a> {
    fn new(scan: &'a Scan) -> Self {
        let items = scan
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.len > 0)
            .map(|(i, item)| ((item.id.client, item.id.clock), i))
            .collect();
        let gc = scan
            .gc
            .iter()
            .filter(|(_, len)| *len > 0)
            .map(|(id, len)| ((id.client, id.clock), id.clock.saturating_add(*len)))
            .collect();
        Local { scan, items, gc }
    }

    fn item(&self, i: usize) -> Option<&'a ScannedItem> {
        self.scan.items.get(i)
    }

    fn find_item(&self, id: ItemId) -> Option<usize> {
        let (&(client, _), &i) = self.items.range(..=(id.client, id.clock)).next_back()?;
        let item = self.item(i)?;
        (client == id.client && id.clock < item.id.clock.saturating_add(item.len)).then_some(i)
    }

    fn find_gc(&self, id: ItemId) -> Option<u32> {
        let (&(client, _), &end) = self.gc.range(..=(id.client, id.clock)).next_back()?;
        (client == id.client && id.clock < end).then_some(end)
    }

    fn next_start(&self, client: u64, after: u32) -> Option<u32> {
        let bounds = (Excluded((client, after)), Included((client, u32::MAX)));
        let a = self.items.range(bounds).next().map(|(k, _)| k.1);
        let b = self.gc.range(bounds).next().map(|(k, _)| k.1);
        a.into_iter().chain(b).min()
    }
}

/// One step of following a chain of references.
enum Step<T> {
    Value(T),
    Follow(usize),
}

/// For every index, follow `step` until a value, memoising along the way (each index is
/// visited once); an index on a cycle gets `cycle`.
fn chase<T: Clone>(n: usize, cycle: T, mut step: impl FnMut(usize) -> Step<T>) -> Vec<T> {
    enum Slot<T> {
        Todo,
        Busy,
        Done(T),
    }
    let mut slots: Vec<Slot<T>> = (0..n).map(|_| Slot::Todo).collect();
    let mut chain = Vec::new();
    for i in 0..n {
        chain.clear();
        let mut cur = i;
        let value = loop {
            match slots.get_mut(cur) {
                Some(Slot::Done(v)) => break v.clone(),
                Some(slot @ Slot::Todo) => *slot = Slot::Busy,
                Some(Slot::Busy) | None => break cycle.clone(),
            }
            chain.push(cur);
            match step(cur) {
                Step::Value(v) => break v,
                Step::Follow(next) => cur = next,
            }
        };
        for &k in &chain {
            if let Some(slot) = slots.get_mut(k) {
                *slot = Slot::Done(value.clone());
            }
        }
    }
    slots
        .into_iter()
        .map(|slot| match slot {
            Slot::Done(v) => v,
            _ => cycle.clone(),
        })
        .collect()
}

impl ZoneIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of recorded ranges (for tests/diagnostics).
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Record every item of an update the room has applied (call after applying, with
    /// the same bytes). Items whose container cannot be resolved (their origin is
    /// unknown) are recorded as unknown. GC ranges are recorded as touching nothing.
    /// Ids already recorded keep what they have (yrs ignores items it already has),
    /// unless they were recorded as unknown.
    pub fn record(&mut self, scan: &Scan) {
        let local = Local::new(scan);
        let places = self.resolve(&local);
        for (item, place) in scan.items.iter().zip(places) {
            let place = self.intern(place);
            let end = item.id.clock.saturating_add(item.len);
            self.insert(item.id.client, item.id.clock, end, place, item.is_type);
        }
        for &(id, len) in &scan.gc {
            let end = id.clock.saturating_add(len);
            self.insert(id.client, id.clock, end, Place::of(Container::Gc), false);
        }
    }

    /// The container paths an update would touch: one entry per distinct path of its
    /// inserted items and of the items its delete set deletes, resolved via this index
    /// and, for items inside the same update, via each other (in any order). `None`
    /// stands for "unknown": an item whose container cannot be resolved, or a deleted id
    /// the index has never seen. GC structs touch nothing.
    ///
    /// Items inside a nested type that the same update creates count as touching the
    /// container where that type is created: an update adding a new message map with
    /// its fields to the root map `messages` touches `["messages"]` only.
    pub fn touched(&self, scan: &Scan) -> BTreeSet<Option<ZonePath>> {
        let local = Local::new(scan);
        let places = self.resolve(&local);
        // Where each item effectively lives once new nested types are folded into the
        // container that creates them.
        let effective = chase(places.len(), Container::Unknown, |i| {
            let container = places
                .get(i)
                .map_or(Container::Unknown, |p| p.container.clone());
            match Self::local_type(&local, &container) {
                Some(j) => Step::Follow(j),
                None => Step::Value(container),
            }
        });
        let collapse = |container: &Container| match Self::local_type(&local, container) {
            Some(j) => effective.get(j).cloned().unwrap_or(Container::Unknown),
            None => container.clone(),
        };

        let mut containers: HashSet<Container> = effective.iter().cloned().collect();
        let mut unknown = false;

        // Deleted ranges, merged per client so each recorded range is visited once.
        let mut deleted: BTreeMap<u64, Vec<(u32, u32)>> = BTreeMap::new();
        for &(id, len) in &scan.deletes {
            if len > 0 {
                deleted
                    .entry(id.client)
                    .or_default()
                    .push((id.clock, id.clock.saturating_add(len)));
            }
        }
        for (client, mut ranges) in deleted {
            ranges.sort_unstable();
            let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
            for (s, e) in ranges {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            for (start, end) in merged {
                let mut cursor = start;
                while cursor < end {
                    let id = ItemId::new(client, cursor);
                    let next = if let Some(j) = local.find_item(id) {
                        containers.insert(effective.get(j).cloned().unwrap_or(Container::Unknown));
                        local
                            .item(j)
                            .map_or(end, |item| item.id.clock.saturating_add(item.len))
                    } else if let Some(gc_end) = local.find_gc(id) {
                        gc_end
                    } else if let Some((_, span)) = self.find(id) {
                        containers.insert(collapse(&span.place.container));
                        span.end
                    } else {
                        unknown = true;
                        let a = local.next_start(client, cursor);
                        let b = self.next_start(client, cursor);
                        a.into_iter().chain(b).min().unwrap_or(end)
                    };
                    if next <= cursor {
                        // Cannot happen (every range found ends after `cursor`); stop rather
                        // than loop.
                        unknown = true;
                        break;
                    }
                    cursor = next.min(end);
                }
            }
        }

        let mut out = BTreeSet::new();
        if unknown {
            out.insert(None);
        }
        for container in containers {
            match self.zone(&local, &places, &container) {
                Zone::Nothing => {}
                Zone::Unknown => {
                    out.insert(None);
                }
                Zone::Path(path) => {
                    out.insert(Some(path));
                }
            }
        }
        out
    }

    /// Where each item of an update lives: the path of its container (through nested
    /// types that this update or earlier ones created) and its map key. `None` where that
    /// cannot be resolved, or the item is integrated as garbage.
    pub fn places(&self, scan: &Scan) -> Vec<Option<(ZonePath, Option<Arc<str>>)>> {
        let local = Local::new(scan);
        let places = self.resolve(&local);
        places
            .iter()
            .map(|place| match self.zone(&local, &places, &place.container) {
                Zone::Path(path) => Some((path, place.key.clone())),
                Zone::Nothing | Zone::Unknown => None,
            })
            .collect()
    }

    /// Where an applied item lives (as [`ZoneIndex::places`]); `None` when never
    /// recorded or garbage.
    pub fn place_of(&self, id: ItemId) -> Option<(ZonePath, Option<Arc<str>>)> {
        let (_, span) = self.find(id)?;
        let empty = Scan::default();
        let local = Local::new(&empty);
        match self.zone(&local, &[], &span.place.container) {
            Zone::Path(path) => Some((path, span.place.key.clone())),
            Zone::Nothing | Zone::Unknown => None,
        }
    }

    /// The index of the item of this update that creates the nested type `container`.
    fn local_type(local: &Local<'_>, container: &Container) -> Option<usize> {
        match container {
            Container::Type(t) => local
                .find_item(*t)
                .filter(|&j| local.item(j).is_some_and(|item| item.is_type)),
            _ => None,
        }
    }

    fn find(&self, id: ItemId) -> Option<(u32, &Span)> {
        let (&(client, start), span) = self.spans.range(..=(id.client, id.clock)).next_back()?;
        (client == id.client && id.clock < span.end).then_some((start, span))
    }

    fn next_start(&self, client: u64, after: u32) -> Option<u32> {
        self.spans
            .range((Excluded((client, after)), Included((client, u32::MAX))))
            .next()
            .map(|(k, _)| k.1)
    }

    /// Where every item of the update lives (uncollapsed).
    fn resolve(&self, local: &Local<'_>) -> Vec<Place> {
        let unknown = Place::of(Container::Unknown);
        chase(local.scan.items.len(), unknown.clone(), |i| {
            let Some(item) = local.item(i) else {
                return Step::Value(unknown.clone());
            };
            if let Some(parent) = &item.parent {
                let container = match parent {
                    ParentRef::Root(name) => Container::Root(Arc::from(name.as_str())),
                    ParentRef::Item(id) => Container::Type(*id),
                };
                return Step::Value(Place {
                    container,
                    key: item.parent_sub.as_deref().map(Arc::from),
                });
            }
            // An item lives where its left neighbour lives (and takes its map key), or,
            // with no left neighbour written, where its right neighbour lives.
            let Some(neighbour) = item.origin.or(item.right_origin) else {
                return Step::Value(unknown.clone());
            };
            if let Some(j) = local.find_item(neighbour) {
                Step::Follow(j)
            } else if local.find_gc(neighbour).is_some() {
                Step::Value(Place::of(Container::Gc))
            } else if let Some((_, span)) = self.find(neighbour) {
                Step::Value(span.place.clone())
            } else {
                Step::Value(unknown.clone())
            }
        })
    }

    /// The path of a container, walking up through the types that create it.
    fn zone(&self, local: &Local<'_>, places: &[Place], container: &Container) -> Zone {
        let mut segments: Vec<String> = Vec::new();
        let mut seen: HashSet<ItemId> = HashSet::new();
        let mut current = container.clone();
        loop {
            match current {
                Container::Root(name) => {
                    segments.push(name.to_string());
                    break;
                }
                Container::Gc => return Zone::Nothing,
                Container::Unknown => return Zone::Unknown,
                Container::Type(t) => {
                    if !seen.insert(t) {
                        return Zone::Unknown;
                    }
                    let (place, is_type) = if let Some(j) = local.find_item(t) {
                        let Some(item) = local.item(j) else {
                            return Zone::Unknown;
                        };
                        let Some(place) = places.get(j) else {
                            return Zone::Unknown;
                        };
                        (place.clone(), item.is_type && item.id == t)
                    } else if local.find_gc(t).is_some() {
                        return Zone::Nothing;
                    } else if let Some((_, span)) = self.find(t) {
                        (span.place.clone(), span.is_type)
                    } else {
                        return Zone::Unknown;
                    };
                    if !is_type {
                        // yrs integrates an item whose parent is not a type as garbage.
                        return Zone::Nothing;
                    }
                    segments.push(match &place.key {
                        Some(key) => key.to_string(),
                        None => format!("#{}.{}", t.client, t.clock),
                    });
                    current = place.container;
                }
            }
        }
        segments.reverse();
        Zone::Path(segments)
    }

    fn intern_str(&mut self, s: Arc<str>) -> Arc<str> {
        match self.strings.get(&s) {
            Some(existing) => existing.clone(),
            None => {
                self.strings.insert(s.clone());
                s
            }
        }
    }

    fn intern(&mut self, place: Place) -> Place {
        let container = match place.container {
            Container::Root(name) => Container::Root(self.intern_str(name)),
            other => other,
        };
        let key = place.key.map(|k| self.intern_str(k));
        Place { container, key }
    }

    /// Record `[start, end)` of `client` in `place`, keeping what is already known.
    fn insert(&mut self, client: u64, start: u32, end: u32, place: Place, is_type: bool) {
        if start >= end {
            return;
        }
        let mut overlapping: Vec<(u32, u32, bool)> = Vec::new();
        if let Some((s, span)) = self.find(ItemId::new(client, start)) {
            overlapping.push((s, span.end, span.place.container == Container::Unknown));
        }
        for (&(_, s), span) in self
            .spans
            .range((Excluded((client, start)), Excluded((client, end))))
        {
            overlapping.push((s, span.end, span.place.container == Container::Unknown));
        }
        let mut gaps = Vec::new();
        let mut cursor = start;
        for (s, e, is_unknown) in overlapping {
            if is_unknown {
                // Replace what was unknown: keep only its parts outside [start, end).
                if let Some(span) = self.spans.remove(&(client, s)) {
                    if s < start {
                        let left = Span {
                            end: start,
                            ..span.clone()
                        };
                        self.spans.insert((client, s), left);
                    }
                    if e > end {
                        self.spans.insert((client, end), span);
                    }
                }
                continue;
            }
            if s > cursor {
                gaps.push((cursor, s));
            }
            cursor = cursor.max(e);
        }
        if cursor < end {
            gaps.push((cursor, end));
        }
        for (a, b) in gaps {
            self.put(client, a, b, place.clone(), is_type);
        }
    }

    /// Insert a range known to be free, merging it with equal neighbours.
    fn put(&mut self, client: u64, mut start: u32, mut end: u32, place: Place, is_type: bool) {
        let before = self
            .spans
            .range(..(client, start))
            .next_back()
            .filter(|(&(c, _), span)| {
                c == client && span.end == start && span.is_type == is_type && span.place == place
            })
            .map(|(&(_, s), _)| s);
        if let Some(s) = before {
            self.spans.remove(&(client, s));
            start = s;
        }
        let after = self
            .spans
            .get(&(client, end))
            .filter(|span| span.is_type == is_type && span.place == place)
            .map(|span| span.end);
        if let Some(e) = after {
            self.spans.remove(&(client, end));
            end = e;
        }
        self.spans.insert(
            (client, start),
            Span {
                end,
                place,
                is_type,
            },
        );
    }
}
