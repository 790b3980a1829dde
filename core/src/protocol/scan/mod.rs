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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Bound::{Excluded, Included};
use std::ops::Range;
use std::sync::Arc;

use crate::error::{Error, Result};

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

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn u8(&mut self) -> Result<u8> {
        let byte = *self.buf.get(self.pos).ok_or_else(truncated)?;
        self.pos += 1;
        Ok(byte)
    }

    fn bytes(&mut self, len: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(len).ok_or_else(truncated)?;
        let bytes = self.buf.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn var_u64(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for i in 0..MAX_VARINT_BYTES {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7F);
            let shift = 7 * i as u32;
            if bits != 0 {
                // Bits that would fall off the top of 64 bits make the number too large.
                if shift >= 64 || (shift > 57 && bits >> (64 - shift) != 0) {
                    return Err(malformed("var-int exceeds 64 bits"));
                }
                value |= bits << shift;
            }
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("var-int longer than 10 bytes"))
    }

    fn var_u32(&mut self) -> Result<u32> {
        u32::try_from(self.var_u64()?).map_err(|_| malformed("number exceeds 32 bits"))
    }

    /// A signed lib0 var-int: the first byte holds a sign bit (0x40) and 6 value bits.
    fn var_i64(&mut self) -> Result<i64> {
        let first = self.u8()?;
        let negative = first & 0x40 != 0;
        let mut value = u64::from(first & 0x3F);
        let mut more = first & 0x80 != 0;
        let mut shift = 6u32;
        while more {
            let byte = self.u8()?;
            if shift > 63 {
                return Err(malformed("var-int exceeds 64 bits"));
            }
            value |= u64::from(byte & 0x7F).checked_shl(shift).unwrap_or(0);
            more = byte & 0x80 != 0;
            shift += 7;
        }
        let value = i64::try_from(value).map_err(|_| malformed("var-int exceeds 63 bits"))?;
        Ok(if negative { -value } else { value })
    }

    /// A signed lib0 var-int, skipped.
    fn skip_var_i64(&mut self) -> Result<()> {
        for _ in 0..MAX_VARINT_BYTES {
            if self.u8()? & 0x80 == 0 {
                return Ok(());
            }
        }
        Err(malformed("var-int longer than 10 bytes"))
    }

    fn buf(&mut self) -> Result<&'a [u8]> {
        let len = self.var_u32()?;
        let len = usize::try_from(len).map_err(|_| truncated())?;
        self.bytes(len)
    }

    fn string(&mut self) -> Result<&'a str> {
        std::str::from_utf8(self.buf()?).map_err(|_| malformed("string is not UTF-8"))
    }

    fn client(&mut self) -> Result<u64> {
        let client = self.var_u64()?;
        if client > MAX_CLIENT {
            return Err(malformed(format!("client id {client} exceeds 53 bits")));
        }
        Ok(client)
    }

    fn id(&mut self) -> Result<ItemId> {
        Ok(ItemId {
            client: self.client()?,
            clock: self.var_u32()?,
        })
    }

    /// Skip one lib0 `Any` value, without recursion (nesting depth is bounded only by
    /// the input, so the pending containers live on the heap).
    fn skip_any(&mut self) -> Result<()> {
        // (values still to read, whether each is preceded by a map key)
        let mut open: Vec<(u64, bool)> = Vec::new();
        loop {
            match self.u8()? {
                // undefined, null, false, true
                127 | 126 | 121 | 120 => {}
                // integer
                125 => self.skip_var_i64()?,
                // float32
                124 => {
                    self.bytes(4)?;
                }
                // float64, bigint
                123 | 122 => {
                    self.bytes(8)?;
                }
                // string
                119 => {
                    self.string()?;
                }
                // object, array
                tag @ (118 | 117) => {
                    let len = self.var_u64()?;
                    if len > 0 {
                        if open.len() >= MAX_ANY_DEPTH {
                            return Err(malformed(format!(
                                "value nested deeper than {MAX_ANY_DEPTH} levels"
                            )));
                        }
                        open.push((len, tag == 118));
                    }
                }
                // buffer
                116 => {
                    self.buf()?;
                }
                tag => return Err(malformed(format!("unknown Any tag {tag}"))),
            }
            // Find the next value to read, closing finished containers.
            loop {
                match open.last_mut() {
                    None => return Ok(()),
                    Some((0, _)) => {
                        open.pop();
                    }
                    Some((left, is_map)) => {
                        *left -= 1;
                        if *is_map {
                            self.string()?;
                        }
                        break;
                    }
                }
            }
        }
    }

    fn skip_type_ref(&mut self) -> Result<()> {
        match self.u8()? {
            0 | 1 | 2 | 4 | 5 | 6 | 9 | 15 => Ok(()),
            TYPE_XML_ELEMENT => self.string().map(drop),
            TYPE_WEAK => self.skip_weak_link(),
            other => Err(malformed(format!("unknown type ref {other}"))),
        }
    }

    /// A weak link's quoted range, as yrs (feature `weak`) writes it.
    fn skip_weak_link(&mut self) -> Result<()> {
        let flags = self.u8()?;
        let single = flags & WEAK_QUOTE == 0;
        let parent_root = flags & WEAK_PARENT_ROOT != 0;
        if flags & WEAK_START_UNBOUNDED != 0 && parent_root {
            self.string()?;
        } else {
            self.id()?;
        }
        if flags & WEAK_END_UNBOUNDED != 0 {
            if parent_root {
                self.string()?;
            } else {
                self.id()?;
            }
        } else if !single {
            self.id()?;
        }
        Ok(())
    }

    /// Read an item's content; returns (clock length, is a nested type, where the first
    /// `Any` value is).
    fn content_and_value(&mut self, content_ref: u8) -> Result<(u32, bool, Option<Range<usize>>)> {
        if content_ref == CONTENT_ANY {
            let n = self.var_u32()?;
            let start = self.pos;
            let mut first = None;
            for i in 0..n {
                self.skip_any()?;
                if i == 0 {
                    first = Some(start..self.pos);
                }
            }
            return Ok((n, false, first));
        }
        self.content_other(content_ref)
            .map(|(len, is_type)| (len, is_type, None))
    }

    fn content_other(&mut self, content_ref: u8) -> Result<(u32, bool)> {
        match content_ref {
            CONTENT_DELETED => Ok((self.var_u32()?, false)),
            CONTENT_JSON => Err(malformed(
                "JSON content (a legacy Yjs encoding no current client writes; yrs cannot \
                 re-encode it) is not accepted",
            )),
            CONTENT_BINARY => self.buf().map(|_| (1, false)),
            CONTENT_STRING => {
                let s = self.string()?;
                // UTF-16 units: one per character, two for characters outside the BMP
                // (those are exactly the ones with a 4-byte UTF-8 form).
                let units: usize = s
                    .bytes()
                    .map(|b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0))
                    .sum();
                let units = u32::try_from(units).map_err(|_| malformed("string too long"))?;
                Ok((units, false))
            }
            CONTENT_EMBED => self.string().map(|_| (1, false)),
            CONTENT_FORMAT => {
                self.string()?;
                self.string()?;
                Ok((1, false))
            }
            CONTENT_TYPE => self.skip_type_ref().map(|()| (1, true)),
            CONTENT_DOC => {
                self.string()?;
                self.skip_any()?;
                Ok((1, false))
            }
            other => Err(malformed(format!("unknown content ref {other}"))),
        }
    }
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

// ---------------------------------------------------------------------------------------
// Splitting
// ---------------------------------------------------------------------------------------

fn var_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

fn write_var(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7F) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn internal(what: &str) -> Error {
    malformed(format!("internal error while splitting ({what})"))
}

/// A run of consecutive structs of one original group, planned into a part.
#[derive(Debug, Clone)]
struct PlannedRun {
    group: usize,
    client: u64,
    clock: u32,
    structs: Range<usize>,
    bytes: usize,
}

impl PlannedRun {
    fn size(&self) -> usize {
        var_len(self.structs.len() as u64)
            + var_len(self.client)
            + var_len(u64::from(self.clock))
            + self.bytes
    }
}

#[derive(Debug, Default)]
struct PartPlan {
    runs: Vec<PlannedRun>,
    /// Encoded size of every run but the last.
    closed: usize,
}

impl PartPlan {
    /// The encoded size of the part (with an empty delete set) if a struct of `size`
    /// bytes at `clock` of group `group` (of `client`) were added.
    fn size_with(&self, group: usize, client: u64, clock: u32, size: usize) -> usize {
        match self.runs.last() {
            Some(last) if last.group == group => {
                var_len(self.runs.len() as u64)
                    + self.closed
                    + var_len(last.structs.len() as u64 + 1)
                    + var_len(last.client)
                    + var_len(u64::from(last.clock))
                    + last.bytes
                    + size
                    + 1
            }
            last => {
                var_len(self.runs.len() as u64 + 1)
                    + self.closed
                    + last.map_or(0, PlannedRun::size)
                    + var_len(1)
                    + var_len(client)
                    + var_len(u64::from(clock))
                    + size
                    + 1
            }
        }
    }

    fn push(&mut self, group: usize, client: u64, index: usize, clock: u32, size: usize) {
        match self.runs.last_mut() {
            Some(last) if last.group == group => {
                last.structs.end = index + 1;
                last.bytes += size;
            }
            _ => {
                if let Some(last) = self.runs.last() {
                    self.closed += last.size();
                }
                self.runs.push(PlannedRun {
                    group,
                    client,
                    clock,
                    structs: index..index + 1,
                    bytes: size,
                });
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Encode the part (with an empty delete set), leaving out Skip structs at either
    /// end of a run (they carry nothing); `None` when nothing is left.
    fn encode(&self, update: &[u8], structs: &[RawStruct]) -> Result<Option<Vec<u8>>> {
        let is_skip = |i: usize| structs.get(i).is_some_and(|s| s.kind == StructKind::Skip);
        let mut runs = Vec::with_capacity(self.runs.len());
        for run in &self.runs {
            let (mut a, mut b) = (run.structs.start, run.structs.end);
            while a < b && is_skip(a) {
                a += 1;
            }
            while b > a && is_skip(b - 1) {
                b -= 1;
            }
            if a < b {
                runs.push((run.client, a, b));
            }
        }
        if runs.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(self.closed + 64);
        write_var(&mut out, runs.len() as u64);
        for (client, a, b) in runs {
            let first = structs.get(a).ok_or_else(|| internal("first struct"))?;
            let last = structs.get(b - 1).ok_or_else(|| internal("last struct"))?;
            let bytes = update
                .get(first.bytes.start..last.bytes.end)
                .ok_or_else(|| internal("struct bytes"))?;
            write_var(&mut out, (b - a) as u64);
            write_var(&mut out, client);
            write_var(&mut out, u64::from(first.clock));
            out.extend_from_slice(bytes);
        }
        out.push(0);
        Ok(Some(out))
    }
}

/// Split a v1 update into several valid v1 updates, each at most about `max_bytes` (a
/// single struct bigger than that goes alone in its own update).
///
/// Splits happen only at struct boundaries inside a client's group: a sub-range of a
/// client's structs is itself a valid group (header = number of structs, client, clock of
/// the first struct; the struct bytes are copied verbatim). Skip structs at the edges of a
/// sub-range are left out, as they carry nothing. The delete set goes in the last update
/// (the others carry an empty delete set); only when it does not fit in `max_bytes` is it
/// cut, by client and range, into delete-only updates at the end. Applying all parts, in
/// any order, to a doc gives exactly the same state as applying the original (yrs keeps
/// parts whose dependencies are missing pending until they arrive).
///
/// An update no larger than `max_bytes` comes back as one part equal to the input (once
/// it has been checked to be well-formed).
pub fn split_update_v1(update: &[u8], max_bytes: usize) -> Result<Vec<Vec<u8>>> {
    let parsed = parse(update, true, MAX_CLOCK)?;
    if update.len() <= max_bytes {
        return Ok(vec![update.to_vec()]);
    }
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut plan = PartPlan::default();
    for (g, group) in parsed.groups.iter().enumerate() {
        for index in group.structs.clone() {
            let s = parsed
                .structs
                .get(index)
                .ok_or_else(|| internal("struct index"))?;
            let size = s.bytes.len();
            if !plan.is_empty() && plan.size_with(g, group.client, s.clock, size) > max_bytes {
                parts.extend(plan.encode(update, &parsed.structs)?);
                plan = PartPlan::default();
            }
            plan.push(g, group.client, index, s.clock, size);
        }
    }
    parts.extend(plan.encode(update, &parsed.structs)?);

    if parsed
        .delete_set
        .iter()
        .any(|(_, ranges)| !ranges.is_empty())
    {
        let ds = update
            .get(parsed.delete_set_bytes.clone())
            .ok_or_else(|| internal("delete set bytes"))?;
        match parts.last_mut() {
            // The last part ends with its empty delete set, one byte.
            Some(last) if last.len().saturating_sub(1) + ds.len() <= max_bytes => {
                last.pop();
                last.extend_from_slice(ds);
            }
            _ if ds.len() < max_bytes => {
                let mut part = Vec::with_capacity(1 + ds.len());
                part.push(0);
                part.extend_from_slice(ds);
                parts.push(part);
            }
            _ => parts.extend(split_delete_set(&parsed.delete_set, max_bytes)),
        }
    }
    if parts.is_empty() {
        // Nothing to carry: the empty update.
        parts.push(vec![0, 0]);
    }
    Ok(parts)
}

/// Delete-only updates of at most about `max_bytes` each (a single range goes alone).
fn split_delete_set(delete_set: &[(u64, Vec<(u32, u32)>)], max_bytes: usize) -> Vec<Vec<u8>> {
    fn encode(chunk: &[(u64, Vec<(u32, u32)>)]) -> Vec<u8> {
        let mut out = vec![0];
        write_var(&mut out, chunk.len() as u64);
        for (client, ranges) in chunk {
            write_var(&mut out, *client);
            write_var(&mut out, ranges.len() as u64);
            for &(clock, len) in ranges {
                write_var(&mut out, u64::from(clock));
                write_var(&mut out, u64::from(len));
            }
        }
        out
    }
    let mut parts = Vec::new();
    let mut chunk: Vec<(u64, Vec<(u32, u32)>)> = Vec::new();
    // Encoded size of `chunk` minus the client count, and its number of ranges.
    let mut body = 0usize;
    let mut ranges_in_chunk = 0usize;
    for (client, ranges) in delete_set {
        for &(clock, len) in ranges {
            let range_size = var_len(u64::from(clock)) + var_len(u64::from(len));
            let (clients, grown) = match chunk.last() {
                Some((c, rs)) if c == client => (
                    chunk.len(),
                    body + range_size + var_len(rs.len() as u64 + 1) - var_len(rs.len() as u64),
                ),
                _ => (chunk.len() + 1, body + var_len(*client) + 1 + range_size),
            };
            if ranges_in_chunk > 0 && 1 + var_len(clients as u64) + grown > max_bytes {
                parts.push(encode(&chunk));
                chunk.clear();
                body = var_len(*client) + 1 + range_size;
                ranges_in_chunk = 0;
            } else {
                body = grown;
            }
            match chunk.last_mut() {
                Some((c, rs)) if c == client => rs.push((clock, len)),
                _ => chunk.push((*client, vec![(clock, len)])),
            }
            ranges_in_chunk += 1;
        }
    }
    if !chunk.is_empty() {
        parts.push(encode(&chunk));
    }
    parts
}

// ---------------------------------------------------------------------------------------
// Zone index
// ---------------------------------------------------------------------------------------

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

#[cfg(test)]
mod tests;
