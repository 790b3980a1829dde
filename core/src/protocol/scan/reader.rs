//! Reading lib0 var-ints, strings, buffers and `Any` values, never past the end.

use std::ops::Range;

use super::*;
use crate::error::Result;

pub(super) struct Reader<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(super) fn u8(&mut self) -> Result<u8> {
        let byte = *self.buf.get(self.pos).ok_or_else(truncated)?;
        self.pos += 1;
        Ok(byte)
    }

    pub(super) fn bytes(&mut self, len: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(len).ok_or_else(truncated)?;
        let bytes = self.buf.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    pub(super) fn var_u64(&mut self) -> Result<u64> {
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

    pub(super) fn var_u32(&mut self) -> Result<u32> {
        u32::try_from(self.var_u64()?).map_err(|_| malformed("number exceeds 32 bits"))
    }

    /// A signed lib0 var-int: the first byte holds a sign bit (0x40) and 6 value bits.
    pub(super) fn var_i64(&mut self) -> Result<i64> {
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
    pub(super) fn skip_var_i64(&mut self) -> Result<()> {
        for _ in 0..MAX_VARINT_BYTES {
            if self.u8()? & 0x80 == 0 {
                return Ok(());
            }
        }
        Err(malformed("var-int longer than 10 bytes"))
    }

    pub(super) fn buf(&mut self) -> Result<&'a [u8]> {
        let len = self.var_u32()?;
        let len = usize::try_from(len).map_err(|_| truncated())?;
        self.bytes(len)
    }

    pub(super) fn string(&mut self) -> Result<&'a str> {
        std::str::from_utf8(self.buf()?).map_err(|_| malformed("string is not UTF-8"))
    }

    pub(super) fn client(&mut self) -> Result<u64> {
        let client = self.var_u64()?;
        if client > MAX_CLIENT {
            return Err(malformed(format!("client id {client} exceeds 53 bits")));
        }
        Ok(client)
    }

    pub(super) fn id(&mut self) -> Result<ItemId> {
        Ok(ItemId {
            client: self.client()?,
            clock: self.var_u32()?,
        })
    }

    /// Skip one lib0 `Any` value, without recursion (nesting depth is bounded only by
    /// the input, so the pending containers live on the heap).
    pub(super) fn skip_any(&mut self) -> Result<()> {
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

    pub(super) fn skip_type_ref(&mut self) -> Result<()> {
        match self.u8()? {
            0 | 1 | 2 | 4 | 5 | 6 | 9 | 15 => Ok(()),
            TYPE_XML_ELEMENT => self.string().map(drop),
            TYPE_WEAK => self.skip_weak_link(),
            other => Err(malformed(format!("unknown type ref {other}"))),
        }
    }

    /// A weak link's quoted range, as yrs (feature `weak`) writes it.
    pub(super) fn skip_weak_link(&mut self) -> Result<()> {
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
    pub(super) fn content_and_value(
        &mut self,
        content_ref: u8,
    ) -> Result<(u32, bool, Option<Range<usize>>)> {
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

    pub(super) fn content_other(&mut self, content_ref: u8) -> Result<(u32, bool)> {
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
