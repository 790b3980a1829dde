//! Scanning and splitting Yjs **v1 updates** without yrs internals, and an index of
//! which container every applied item lives in.
//!
//! yrs keeps an [`yrs::Update`]'s blocks crate-private, so a room that wants to know what
//! an update holds *before* applying it (which items, which parents, which deletions)
//! has to read the bytes itself. This module does that, sans IO and without panicking on
//! any input:
//!
//! - [`scan_update_v1`] lists an update's items (id, clock length, origins, parent,
//!   map key, whether it creates a nested type), its GC ranges and its delete set.
//! - [`split_update_v1`] cuts a large update into several valid updates, each about a
//!   given size, that together give exactly the same document.
//! - [`ZoneIndex`] remembers, for every item a room has applied, which container (root
//!   type, or nested type under a path of keys) it lives in, so the room can tell which
//!   parts of the document an update touches.
//!
//! # The v1 update format
//!
//! Numbers are lib0 unsigned var-ints (7 bits a byte, least significant group first, high
//! bit set on every byte but the last); strings and buffers are a var-int length followed
//! by that many bytes (UTF-8 for strings).
//!
//! ```text
//! update    = var(#groups) group* delete_set [ignored trailing bytes]
//! group     = var(#structs) var(client) var(clock of the first struct) struct*
//! struct    = 0x00 var(len)                                  GC
//!           | 0x0A var(len)                                  Skip (a gap in a merged update)
//!           | info [id origin] [id right_origin]
//!             [var(parent_info) (string root_name | id parent_type) [string parent_sub]]
//!             content(info & 0x0F)
//! info      = 0x80 origin written | 0x40 right origin written | 0x20 parent_sub written
//!             | content ref (1..=9); the parent (and parent_sub) are written only when
//!             neither origin is
//! id        = var(client) var(clock)
//! delete_set= var(#clients) (var(client) var(#ranges) (var(clock) var(len))*)*
//! ```
//!
//! Contents and their clock lengths: 1 Deleted `var(len)` (len); 2 JSON (see below);
//! 3 Binary `buf` (1); 4 String `string` (UTF-16 code units); 5 Embed `json string` (1);
//! 6 Format `string key, json string` (1); 7 Type `type_ref` (1); 8 Any `var(n) any*` (n);
//! 9 Doc `string guid, any options` (1). Type refs are one byte: 0 Array, 1 Map, 2 Text,
//! 3 XmlElement `string tag`, 4 XmlFragment, 5 XmlHook, 6 XmlText, 7 WeakLink (yrs'
//! `weak` feature), 9 SubDoc, 15 Undefined.
//!
//! Where yrs 0.28.1 (the engine that applies the updates) reads the bytes differently
//! from Yjs, the scanner follows yrs, so that what it reports is what the room's engine
//! will do:
//!
//! - JSON content (ref 2, a legacy Yjs content no current encoder writes) is read by yrs
//!   as `var(n)` followed by **n + 1** strings (Yjs reads n), but written with n: yrs
//!   cannot read back its own encoding of it (merging a pending update holding it
//!   panics). The scanner refuses it.
//! - An XmlHook type ref carries no hook name in yrs (Yjs writes one).
//! - An item that decodes to zero length (an empty string, `Any` or `Deleted`) is
//!   dropped and does not advance the clock.
//! - A client appearing twice in the delete set keeps only its last entry.
//!
//! The scanner is stricter than yrs where yrs would panic, wrap or guess: client ids
//! above 53 bits, clocks or lengths above 32 bits or overflowing when added, parent info
//! other than 0/1, the reserved info bit 0x10, and origin flags on a GC or Skip struct
//! are all refused as malformed.

use std::collections::HashMap;
use std::ops::Range;

use crate::error::{Error, Result};

mod reader;
mod split;
mod zones;

use reader::Reader;
pub use split::split_update_v1;
pub use zones::{ZoneIndex, ZonePath};

const WHAT: &str = "sync update";

const HAS_ORIGIN: u8 = 0b1000_0000;
const HAS_RIGHT_ORIGIN: u8 = 0b0100_0000;
const HAS_PARENT_SUB: u8 = 0b0010_0000;
const RESERVED_INFO_BIT: u8 = 0b0001_0000;
const CONTENT_REF_MASK: u8 = 0b0000_1111;

const STRUCT_GC: u8 = 0;
const CONTENT_DELETED: u8 = 1;
const CONTENT_JSON: u8 = 2;
const CONTENT_BINARY: u8 = 3;
const CONTENT_STRING: u8 = 4;
const CONTENT_EMBED: u8 = 5;
const CONTENT_FORMAT: u8 = 6;
const CONTENT_TYPE: u8 = 7;
const CONTENT_ANY: u8 = 8;
const CONTENT_DOC: u8 = 9;
const STRUCT_SKIP: u8 = 10;

const TYPE_XML_ELEMENT: u8 = 3;
const TYPE_WEAK: u8 = 7;

const WEAK_QUOTE: u8 = 0b0000_0001;
const WEAK_START_UNBOUNDED: u8 = 0b0000_1000;
const WEAK_END_UNBOUNDED: u8 = 0b0001_0000;
const WEAK_PARENT_ROOT: u8 = 0b0010_0000;

/// Yjs client ids are at most 53 bits (a safe JavaScript integer).
const MAX_CLIENT: u64 = (1 << 53) - 1;

/// A var-int takes at most this many bytes (64 bits in 7-bit groups).
const MAX_VARINT_BYTES: usize = 10;

/// The highest clock (exclusive end of a struct or deleted range) an update may reach.
/// Far below 2^32, so no client's clock can be pushed to where yrs would wrap or refuse
/// to load the stored room; no real client gets near it (a billion UTF-16 units typed).
pub const MAX_CLOCK: u32 = 1 << 30;

/// Deepest nesting of `Any` values (arrays and maps in arrays and maps) an update may
/// hold: yrs decodes and drops `Any` recursively, and a deeper value overflows its stack.
pub const MAX_ANY_DEPTH: usize = 64;

fn malformed(reason: impl ToString) -> Error {
    Error::malformed(WHAT, reason)
}

fn truncated() -> Error {
    malformed("unexpected end of update")
}

/// An item id: (client, clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId {
    /// The client that created the item (at most 53 bits, as in Yjs).
    pub client: u64,
    /// The item's first clock in its client's sequence.
    pub clock: u32,
}

impl ItemId {
    /// The id `(client, clock)`.
    pub fn new(client: u64, clock: u32) -> Self {
        ItemId { client, clock }
    }
}

/// Where an item says it lives, when the encoding says it (only items with neither
/// origin written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParentRef {
    /// A root type of the document, by name.
    Root(String),
    /// The nested type created by the item with this id.
    Item(ItemId),
}

/// One item (not GC/Skip) of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedItem {
    /// The item's id (its first clock).
    pub id: ItemId,
    /// Clock length: UTF-16 code units for strings, the value count for JSON/Any, the
    /// length for Deleted, 1 for types, embeds, formats, binary and subdocuments.
    pub len: u32,
    /// The id of the item it was inserted after, if written.
    pub origin: Option<ItemId>,
    /// The id of the item it was inserted before, if written.
    pub right_origin: Option<ItemId>,
    /// Its parent, written only when neither origin is.
    pub parent: Option<ParentRef>,
    /// Its map key, written only with a parent.
    pub parent_sub: Option<String>,
    /// True when the content is a nested shared type (ContentType).
    pub is_type: bool,
    /// For `Any` content, where its first value's bytes are in the update (read them
    /// with [`read_any_json`]).
    pub value: Option<Range<usize>>,
}

/// A run of consecutive clocks of one client that an update carries content for
/// (items and GC structs; a Skip struct ends a run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockRun {
    /// The client.
    pub client: u64,
    /// First clock.
    pub start: u32,
    /// Exclusive end clock.
    pub end: u32,
}

/// What an update holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Its items, in encoding order.
    pub items: Vec<ScannedItem>,
    /// Its GC structs: (first id, clock length).
    pub gc: Vec<(ItemId, u32)>,
    /// Its delete set: (first id, clock length), non-empty ranges only.
    pub deletes: Vec<(ItemId, u32)>,
    /// The clock ranges it carries structs for, per client, in encoding order.
    pub runs: Vec<ClockRun>,
}

impl Scan {
    /// True when the update carries a struct (item or GC) for `id`.
    pub fn carries(&self, id: ItemId) -> bool {
        self.runs
            .iter()
            .any(|r| r.client == id.client && r.start <= id.clock && id.clock < r.end)
    }
}

/// Read what a v1 update holds. Never panics; malformed bytes give
/// [`Error::Malformed`] with `what` = "sync update".
pub fn scan_update_v1(update: &[u8]) -> Result<Scan> {
    Ok(parse(update, false, MAX_CLOCK)?.scan)
}

/// [`scan_update_v1`] for what a room stored: clocks may reach 2^32 (a room stored
/// before [`MAX_CLOCK`] was enforced still loads), everything else is checked alike —
/// above all what yrs would choke on while decoding (nesting, huge counts).
pub fn scan_stored_v1(update: &[u8]) -> Result<Scan> {
    Ok(parse(update, false, u32::MAX)?.scan)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StructKind {
    Item,
    Gc,
    Skip,
    /// An item of zero length, which yrs drops.
    Empty,
}

/// Where a struct's bytes are, for splitting.
#[derive(Debug, Clone)]
struct RawStruct {
    bytes: Range<usize>,
    clock: u32,
    kind: StructKind,
}

#[derive(Debug, Clone)]
struct RawGroup {
    client: u64,
    structs: Range<usize>,
}

#[derive(Debug, Default)]
struct Parsed {
    scan: Scan,
    /// Struct groups and structs, filled only when the layout is asked for.
    groups: Vec<RawGroup>,
    structs: Vec<RawStruct>,
    /// The delete set as yrs reads it (a repeated client keeps its last entry).
    delete_set: Vec<(u64, Vec<(u32, u32)>)>,
    delete_set_bytes: Range<usize>,
}

fn parse(update: &[u8], layout: bool, max_clock: u32) -> Result<Parsed> {
    let mut r = Reader::new(update);
    let mut out = Parsed::default();
    let groups = r.var_u32()?;
    for _ in 0..groups {
        let count = r.var_u32()?;
        let client = r.client()?;
        let mut clock = r.var_u32()?;
        let first = out.structs.len();
        let mut run: Option<ClockRun> = None;
        for _ in 0..count {
            let start = r.pos;
            let (kind, len) = read_struct(&mut r, ItemId { client, clock }, &mut out.scan)?;
            if layout {
                out.structs.push(RawStruct {
                    bytes: start..r.pos,
                    clock,
                    kind,
                });
            }
            let end = clock
                .checked_add(len)
                .filter(|&end| end <= max_clock)
                .ok_or_else(|| {
                    malformed(format!(
                        "clock {clock} + {len} of client {client} exceeds the limit of {max_clock}"
                    ))
                })?;
            match (&mut run, kind) {
                (_, StructKind::Empty) => {}
                (_, StructKind::Skip) => out.scan.runs.extend(run.take()),
                (Some(r), _) => r.end = end,
                (None, _) => {
                    run = Some(ClockRun {
                        client,
                        start: clock,
                        end,
                    })
                }
            }
            clock = end;
        }
        out.scan.runs.extend(run);
        if layout {
            out.groups.push(RawGroup {
                client,
                structs: first..out.structs.len(),
            });
        }
    }

    let ds_start = r.pos;
    let clients = r.var_u32()?;
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for _ in 0..clients {
        let client = r.client()?;
        let n = r.var_u32()?;
        let mut ranges = Vec::new();
        for _ in 0..n {
            let clock = r.var_u32()?;
            let len = r.var_u32()?;
            clock
                .checked_add(len)
                .filter(|&end| end <= max_clock)
                .ok_or_else(|| {
                    malformed(format!(
                        "deleted range {clock} + {len} of client {client} exceeds the clock limit of {max_clock}"
                    ))
                })?;
            if len > 0 {
                ranges.push((clock, len));
            }
        }
        match seen.get(&client).and_then(|&i| out.delete_set.get_mut(i)) {
            Some(entry) => entry.1 = ranges,
            None => {
                seen.insert(client, out.delete_set.len());
                out.delete_set.push((client, ranges));
            }
        }
    }
    out.delete_set_bytes = ds_start..r.pos;
    out.scan.deletes = out
        .delete_set
        .iter()
        .flat_map(|(client, ranges)| {
            ranges
                .iter()
                .map(move |&(clock, len)| (ItemId::new(*client, clock), len))
        })
        .collect();
    Ok(out)
}

/// Read one struct at `id`; returns its kind and clock length (0 for a dropped item).
fn read_struct(r: &mut Reader<'_>, id: ItemId, scan: &mut Scan) -> Result<(StructKind, u32)> {
    let info = r.u8()?;
    match info {
        STRUCT_GC | STRUCT_SKIP => {
            let len = r.var_u32()?;
            if len == 0 {
                return Err(malformed("empty GC or Skip struct"));
            }
            if info == STRUCT_GC {
                scan.gc.push((id, len));
                Ok((StructKind::Gc, len))
            } else {
                Ok((StructKind::Skip, len))
            }
        }
        _ => {
            if info & RESERVED_INFO_BIT != 0 {
                return Err(malformed(format!(
                    "reserved bit set in struct info {info:#04x}"
                )));
            }
            let origin = if info & HAS_ORIGIN != 0 {
                Some(r.id()?)
            } else {
                None
            };
            let right_origin = if info & HAS_RIGHT_ORIGIN != 0 {
                Some(r.id()?)
            } else {
                None
            };
            let (parent, parent_sub) = if origin.is_none() && right_origin.is_none() {
                let parent = match r.var_u32()? {
                    1 => ParentRef::Root(r.string()?.to_owned()),
                    0 => ParentRef::Item(r.id()?),
                    other => return Err(malformed(format!("parent info {other}"))),
                };
                let sub = if info & HAS_PARENT_SUB != 0 {
                    Some(r.string()?.to_owned())
                } else {
                    None
                };
                (Some(parent), sub)
            } else {
                (None, None)
            };
            let (len, is_type, value) = r.content_and_value(info & CONTENT_REF_MASK)?;
            if len == 0 {
                return Ok((StructKind::Empty, 0));
            }
            scan.items.push(ScannedItem {
                id,
                len,
                origin,
                right_origin,
                parent,
                parent_sub,
                is_type,
                value,
            });
            Ok((StructKind::Item, len))
        }
    }
}

/// Read one lib0 `Any` value (as [`ScannedItem::value`] locates it) as JSON, nested at
/// most [`MAX_ANY_DEPTH`] levels. Buffers read as arrays of byte values, `undefined` as
/// `null`, big integers as numbers.
pub fn read_any_json(bytes: &[u8]) -> Result<serde_json::Value> {
    read_any_at(&mut Reader::new(bytes), 0)
}

fn read_any_at(r: &mut Reader<'_>, depth: usize) -> Result<serde_json::Value> {
    use serde_json::Value;
    if depth > MAX_ANY_DEPTH {
        return Err(malformed(format!(
            "value nested deeper than {MAX_ANY_DEPTH} levels"
        )));
    }
    Ok(match r.u8()? {
        127 | 126 => Value::Null,
        121 => Value::Bool(false),
        120 => Value::Bool(true),
        125 => Value::from(r.var_i64()?),
        124 => {
            let b = r.bytes(4)?;
            Value::from(f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])))
        }
        123 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(r.bytes(8)?);
            Value::from(f64::from_be_bytes(b))
        }
        122 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(r.bytes(8)?);
            Value::from(i64::from_be_bytes(b))
        }
        119 => Value::from(r.string()?),
        118 => {
            let len = r.var_u32()?;
            let mut map = serde_json::Map::new();
            for _ in 0..len {
                let key = r.string()?.to_owned();
                map.insert(key, read_any_at(r, depth + 1)?);
            }
            Value::Object(map)
        }
        117 => {
            let len = r.var_u32()?;
            let mut items = Vec::new();
            for _ in 0..len {
                items.push(read_any_at(r, depth + 1)?);
            }
            Value::Array(items)
        }
        116 => Value::from(r.buf()?.to_vec()),
        tag => return Err(malformed(format!("unknown Any tag {tag}"))),
    })
}

#[cfg(test)]
mod tests;
