//! An undo history as bytes, to keep across a reload: lib0 encoding (as Yjs updates
//! use), written by hand so a page needs no general-purpose decoder for it.
//!
//! Layout: a version (1), the owner's participant id, then per document its id and its
//! undo and redo stacks. A step is its inserted and deleted id ranges (client, start,
//! end), its turn (or none) and its selection (or none), each end a Yjs v1 relative
//! position.

use std::collections::HashMap;

use yrs::encoding::read::{Cursor, Error, Read};
use yrs::encoding::write::Write;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::StickyIndex;

use super::undo::{IdRange, Stacks, Step, StepSelection};

const VERSION: u8 = 1;

/// `docs`' stacks, for `owner`.
pub(super) fn encode(owner: &str, docs: &HashMap<String, Stacks>) -> Vec<u8> {
    let mut out = Vec::new();
    out.write_u8(VERSION);
    out.write_string(owner);
    out.write_var(docs.len());
    for (doc, stacks) in docs {
        out.write_string(doc);
        for stack in [&stacks.undo, &stacks.redo] {
            out.write_var(stack.len());
            for step in stack {
                write_step(&mut out, step);
            }
        }
    }
    out
}

fn write_step(out: &mut Vec<u8>, step: &Step) {
    for ranges in [&step.inserted, &step.deleted] {
        out.write_var(ranges.len());
        for &(client, start, end) in ranges {
            out.write_var(client);
            out.write_var(start);
            out.write_var(end);
        }
    }
    match &step.turn {
        Some(turn) => {
            out.write_u8(1);
            out.write_string(turn);
        }
        None => out.write_u8(0),
    }
    match &step.selection {
        Some(selection) => {
            out.write_u8(1);
            out.write_buf(selection.anchor.encode_v1());
            out.write_buf(selection.head.encode_v1());
        }
        None => out.write_u8(0),
    }
}

/// The owner and the stacks [`encode`] wrote.
pub(super) fn decode(bytes: &[u8]) -> Result<(String, HashMap<String, Stacks>), Error> {
    let mut cur = Cursor::new(bytes);
    let version = cur.read_u8()?;
    if version != VERSION {
        return Err(Error::Custom(format!("unknown version {version}")));
    }
    let owner = cur.read_string()?.to_owned();
    let count: usize = cur.read_var()?;
    let mut docs = HashMap::new();
    for _ in 0..count {
        let doc = cur.read_string()?.to_owned();
        let mut stacks = Stacks::default();
        for stack in [&mut stacks.undo, &mut stacks.redo] {
            let steps: usize = cur.read_var()?;
            for _ in 0..steps {
                stack.push(read_step(&mut cur)?);
            }
        }
        docs.insert(doc, stacks);
    }
    if cur.has_content() {
        return Err(Error::Custom("bytes after the history".into()));
    }
    Ok((owner, docs))
}

fn read_step(cur: &mut Cursor<'_>) -> Result<Step, Error> {
    let mut ranges = || -> Result<Vec<IdRange>, Error> {
        let count: usize = cur.read_var()?;
        (0..count)
            .map(|_| Ok((cur.read_var()?, cur.read_var()?, cur.read_var()?)))
            .collect()
    };
    let (inserted, deleted) = (ranges()?, ranges()?);
    let turn = match cur.read_u8()? {
        0 => None,
        _ => Some(cur.read_string()?.to_owned()),
    };
    let selection = match cur.read_u8()? {
        0 => None,
        _ => {
            let mut end = || StickyIndex::decode_v1(cur.read_buf()?);
            Some(StepSelection {
                anchor: end()?,
                head: end()?,
            })
        }
    };
    Ok(Step {
        inserted,
        deleted,
        turn,
        selection,
        last_ms: 0,
    })
}
