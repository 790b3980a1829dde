//! Editing a shared document's text: ranges checked in UTF-16 units, edits applied
//! through Confab's own position index (see [`crate::doc::position`]) when the text is
//! plain, through yrs's API otherwise, each recording deletions and the writer's epoch.

use std::sync::Arc;

use yrs::updates::decoder::Decode;
use yrs::{GetString, Map, Text, TextRef, Transact, TransactionMut};

use crate::doc::schema::doc_text_name;
use crate::doc::undo::IdRange;
use crate::doc::RoomDoc;
use crate::error::{Error, Result};

/// What Confab keeps about one document's text between edits.
pub(crate) struct TextCache {
    text: TextRef,
    root: Arc<str>,
    flags: Arc<TextFlags>,
    /// Whether the text may hold surrogate pairs (range checks then read the text).
    astral: bool,
    /// The item sequence (see [`crate::doc::position`]); `None` while it must be rebuilt.
    index: Option<crate::doc::position::Runs>,
    /// The text holds something other than plain strings (embeds or formatting from a
    /// rich-text Yjs client): edits go through yrs's own API.
    rich: bool,
}

/// Set by an observer on the text: `changed` when a transaction other than Confab's
/// own indexed edit (flagged `ours` while it runs) changed the text.
#[derive(Default)]
pub(crate) struct TextFlags {
    changed: std::sync::atomic::AtomicBool,
    ours: std::sync::atomic::AtomicBool,
}

impl RoomDoc {
    pub(crate) fn document_ref_checked(&self, id: &str) -> Result<TextRef> {
        let known = {
            let txn = self.doc.transact();
            self.documents.get(&txn, id).is_some()
        };
        if !known {
            return Err(Error::UnknownDocument(id.to_owned()));
        }
        // A document created elsewhere and still empty has no body root here yet (an
        // empty text travels as nothing): make it, typed, so it reads as "".
        Ok(self.doc.get_or_insert_text(doc_text_name(id).as_str()))
    }

    /// Bring document `id`'s cache up to date: watch the text once, and after any change
    /// Confab did not make itself, read it again (one walk) for its item sequence and
    /// whether it holds surrogate pairs.
    fn text_cache(&mut self, id: &str) -> Result<&mut TextCache> {
        use std::sync::atomic::Ordering::Relaxed;
        if !self.texts.contains_key(id) {
            // Documents are never removed: once known, the cache stands for it.
            let text = self.document_ref_checked(id)?;
            let flags = Arc::new(TextFlags::default());
            flags.changed.store(true, Relaxed);
            let seen = flags.clone();
            yrs::types::Observable::observe(&text, "confab-text-cache", move |_, _| {
                if !seen.ours.load(Relaxed) {
                    seen.changed.store(true, Relaxed);
                }
            });
            self.texts.insert(
                id.to_owned(),
                TextCache {
                    text,
                    root: doc_text_name(id).into(),
                    flags,
                    astral: true,
                    index: None,
                    rich: false,
                },
            );
        }
        let doc = &self.doc;
        let cache = self.texts.get_mut(id).expect("inserted above");
        if cache.flags.changed.swap(false, Relaxed) {
            let (items, rich) = crate::doc::position::item_sequence(doc, &cache.text);
            let astral = items
                .iter()
                .any(|i| i.text.chars().any(|c| u32::from(c) > 0xFFFF));
            let runs = items.iter().map(|i| crate::doc::position::Run {
                client: i.client,
                clock: i.clock,
                len: i.text.encode_utf16().count() as u32,
                deleted: i.deleted,
            });
            cache.astral = astral;
            cache.rich = rich;
            cache.index = Some(crate::doc::position::Runs::new(runs));
        }
        Ok(cache)
    }

    /// Whether any of document `id`'s item runs (tombstones included) is `pick`ed, read
    /// from the kept index.
    pub(crate) fn any_run(
        &mut self,
        id: &str,
        pick: impl FnMut(&crate::doc::position::Run) -> bool,
    ) -> Result<bool> {
        let cache = self.text_cache(id)?;
        Ok(cache.index.as_ref().is_some_and(|r| r.iter().any(pick)))
    }

    /// Whether document `id` is edited through yrs's API because it holds rich content.
    #[cfg(test)]
    pub(crate) fn edits_through_yrs(&self, id: &str) -> bool {
        self.texts.get(id).is_some_and(|c| c.rich)
    }

    /// Edit through yrs's own index-based API (`false`) instead of Confab's index
    /// (`true`, the default). Both produce the same updates; this is for benchmarks and
    /// tests that compare them.
    pub fn set_fast_edits(&mut self, fast: bool) {
        self.fast_edits = fast;
    }

    /// Replace `len` UTF-16 code units at `index` of document `id` with `chunk`, in one
    /// transaction, recording deletions and the writer's epoch.
    pub(crate) fn edit_text(&mut self, id: &str, index: u32, len: u32, chunk: &str) -> Result<()> {
        use std::sync::atomic::Ordering::Relaxed;
        self.before_local_edit(Some(id));
        let own = self.doc.client_id().get();
        let fast = self.fast_edits;
        let cache = self.text_cache(id)?;
        let (text, root) = (cache.text.clone(), cache.root.clone());
        let astral = cache.astral;
        let use_index = fast && !cache.rich;
        cache.flags.ours.store(use_index, Relaxed);
        let flags = cache.flags.clone();
        let mut index_runs = if use_index { cache.index.take() } else { None };
        // What the edit wrote, for the undo history: its own inserted ids, and the ids
        // it deleted.
        let mut wrote: (Option<IdRange>, Vec<IdRange>) = (None, Vec::new());
        let outcome = (|| -> Result<()> {
            let mut txn = self.doc.transact_mut();
            check_range(&text, &txn, id, index, len, astral)?;
            if !chunk.is_empty() {
                let clock = txn.before_state().get(&yrs::ClientID::new(own));
                wrote.0 = Some((own, clock, clock + chunk.encode_utf16().count() as u32));
            }
            match index_runs.as_mut() {
                Some(runs) => {
                    debug_assert_eq!(runs.len(), text.len(&txn), "the index is out of step");
                    if len > 0 {
                        let gone = runs.delete(index, len);
                        let update = crate::doc::position::delete_update(&gone);
                        txn.apply_update(
                            yrs::Update::decode_v1(&update)
                                .map_err(|e| Error::malformed("local delete", e))?,
                        )
                        .map_err(|e| Error::InvalidUpdate(e.to_string()))?;
                    }
                    if !chunk.is_empty() {
                        // Nothing of ours was written yet in this transaction.
                        let clock = txn.before_state().get(&yrs::ClientID::new(own));
                        let units = chunk.encode_utf16().count() as u32;
                        let (origin, right) = runs.insert(index, own, clock, units);
                        let update = crate::doc::position::insert_update(
                            own, clock, origin, right, &root, chunk,
                        );
                        txn.apply_update(
                            yrs::Update::decode_v1(&update)
                                .map_err(|e| Error::malformed("local insert", e))?,
                        )
                        .map_err(|e| Error::InvalidUpdate(e.to_string()))?;
                    }
                }
                None => {
                    if len > 0 {
                        text.remove_range(&mut txn, index, len);
                    }
                    if !chunk.is_empty() {
                        text.insert(&mut txn, index, chunk);
                    }
                }
            }
            if len > 0 {
                // After the insert, so both paths give the inserted text the same ids.
                wrote.1 = crate::doc::record::record_deletions(&mut txn, own);
            }
            if len > 0 || !chunk.is_empty() {
                self.writer.note(&mut txn, own);
            }
            Ok(())
        })();
        flags.ours.store(false, Relaxed);
        let cache = self.texts.get_mut(id).expect("cached above");
        match outcome {
            Ok(()) => {
                if use_index {
                    cache.index = index_runs;
                }
                if chunk.chars().any(|c| u32::from(c) > 0xFFFF) {
                    cache.astral = true;
                }
                let (inserted, deleted) = wrote;
                let (turn, now_ms) = (self.writer.acting.0.clone(), self.writer.now_ms);
                self.undo_history
                    .record(id, inserted, deleted, turn.as_deref(), now_ms);
            }
            // Nothing was applied for a refused range; for anything else, read again.
            Err(Error::OutOfRange { .. }) | Err(Error::SplitsSurrogate { .. }) => {
                if use_index {
                    cache.index = index_runs;
                }
            }
            Err(_) => flags.changed.store(true, Relaxed),
        }
        self.after_local_edit();
        outcome
    }

    /// The body of a shared document.
    pub fn document_text(&self, id: &str) -> Result<String> {
        let text = self.document_ref_checked(id)?;
        let txn = self.doc.transact();
        Ok(text.get_string(&txn))
    }

    /// The text of root `name` as stock Yjs reads it (`Y.Doc.getText(name)`): for a
    /// document imported from a plain Yjs app, whose text is no room document. Confab's
    /// own map roots are not texts and are refused; a root nothing wrote is "".
    pub fn root_text(&self, name: &str) -> Result<String> {
        if name.is_empty() || crate::doc::schema::MAP_ROOTS.contains(&name) {
            return Err(Error::NotAText(name.to_owned()));
        }
        let text = self.doc.get_or_insert_text(name);
        let txn = self.doc.transact();
        Ok(text.get_string(&txn))
    }

    /// Insert `chunk` at UTF-16 offset `index` of a document.
    pub fn insert_text(&mut self, id: &str, index: u32, chunk: &str) -> Result<()> {
        self.edit_text(id, index, 0, chunk)
    }

    /// Replace `len` UTF-16 code units at `index` of a document with `chunk`, in one
    /// transaction (one change: a concurrent replacement of the same text conflicts).
    pub fn replace_text(&mut self, id: &str, index: u32, len: u32, chunk: &str) -> Result<()> {
        self.edit_text(id, index, len, chunk)
    }

    /// Make a document's body `next` with the smallest single replace (one change, so
    /// the parts `next` shares with the present text keep their authors). Nothing
    /// changes when the text is already `next`.
    pub fn set_text(&mut self, id: &str, next: &str) -> Result<()> {
        let now = self.document_text(id)?;
        let (index, len, chunk) = minimal_edit(&now, next);
        if len == 0 && chunk.is_empty() {
            return Ok(());
        }
        self.edit_text(id, index, len, &chunk)
    }

    /// Delete `len` UTF-16 code units at `index` of a document.
    pub fn delete_text(&mut self, id: &str, index: u32, len: u32) -> Result<()> {
        self.edit_text(id, index, len, "")
    }
}

/// Validate a UTF-16 range before handing it to `yrs`, which panics on ranges past
/// the end and would split surrogate pairs.
fn check_range(
    text: &TextRef,
    txn: &TransactionMut<'_>,
    target: &str,
    index: u32,
    len: u32,
    astral: bool,
) -> Result<()> {
    let doc_len = text.len(txn);
    let end = u64::from(index) + u64::from(len);
    if end > u64::from(doc_len) {
        return Err(Error::OutOfRange {
            target: target.to_owned(),
            index,
            end,
            len: doc_len,
        });
    }
    let bounds = [index, end as u32];
    let needs_check = astral && bounds.iter().any(|&b| b != 0 && b != doc_len);
    if needs_check {
        let units: Vec<u16> = text.get_string(txn).encode_utf16().collect();
        for b in bounds {
            let b_usize = b as usize;
            if b_usize > 0
                && b_usize < units.len()
                && (0xDC00..0xE000).contains(&units[b_usize])
                && (0xD800..0xDC00).contains(&units[b_usize - 1])
            {
                return Err(Error::SplitsSurrogate {
                    target: target.to_owned(),
                    index: b,
                });
            }
        }
    }
    Ok(())
}

/// The smallest single replace turning `from` into `to`, in UTF-16 units: (start,
/// units removed, text inserted). Never splits a surrogate pair.
pub fn minimal_edit(from: &str, to: &str) -> (u32, u32, String) {
    let a: Vec<u16> = from.encode_utf16().collect();
    let b: Vec<u16> = to.encode_utf16().collect();
    let max = a.len().min(b.len());
    let mut start = 0;
    while start < max && a[start] == b[start] {
        start += 1;
    }
    let mut end = 0;
    while end < max - start && a[a.len() - 1 - end] == b[b.len() - 1 - end] {
        end += 1;
    }
    let high = |u: u16| (0xD800..0xDC00).contains(&u);
    let low = |u: u16| (0xDC00..0xE000).contains(&u);
    if start > 0 && high(a[start - 1]) {
        start -= 1;
    }
    if end > 0 && low(a[a.len() - end]) {
        end -= 1;
    }
    let inserted = String::from_utf16_lossy(&b[start..b.len() - end]);
    (start as u32, (a.len() - start - end) as u32, inserted)
}
