//! Cutting a large update into several valid updates of about a given size that
//! together give exactly the same document.

use std::ops::Range;

use super::*;
use crate::error::{Error, Result};

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
