// Edits between two texts and offsets mapped through them, for the notes' <textarea>
// binding. Offsets are string indices (UTF-16), as the room's documents count them.

/** One replacement: `deleted` characters at `at` become `inserted`. */
export interface Edit {
  at: number;
  deleted: number;
  inserted: string;
}

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/** Where a local edit happened: the selection it replaced (in `before`) and the caret after it. */
export interface EditPlace {
  from?: number;
  to?: number;
  caret: number;
}

/**
 * The single edit that turns `before` into `after`: what is between their common start
 * and common end. Where the texts allow more than one place (typing "a" into "aa", or
 * "T" over a selected "Tuesday"), `place` decides: the edit covers the selection it
 * replaced and a typed or pasted text ends at the caret. Without a place the edit is put
 * as late as the texts allow, or as early with "early". The edit never splits a
 * surrogate pair (the room refuses offsets inside one).
 */
export function editBetween(before: string, after: string, place: EditPlace | "late" | "early" = "late"): Edit {
  const shorter = Math.min(before.length, after.length);
  let prefix = 0;
  let suffix = 0;
  const samePrefix = (limit: number) => {
    while (prefix < limit && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++;
  };
  const sameSuffix = (limit: number) => {
    while (suffix < limit && before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)) {
      suffix++;
    }
  };
  if (place === "late") {
    samePrefix(shorter);
    sameSuffix(shorter - prefix);
  } else if (place === "early") {
    sameSuffix(shorter);
    samePrefix(shorter - suffix);
  } else {
    // Without the selection, only the caret bounds the edit.
    const { from = before.length, to = 0, caret } = place;
    sameSuffix(Math.max(0, Math.min(shorter, after.length - caret, before.length - to)));
    samePrefix(Math.max(0, Math.min(shorter - suffix, from)));
  }
  if (prefix > 0 && isHigh(before.charCodeAt(prefix - 1))) prefix--;
  if (suffix > 0 && isLow(before.charCodeAt(before.length - suffix))) suffix--;
  return { at: prefix, deleted: before.length - prefix - suffix, inserted: after.slice(prefix, after.length - suffix) };
}

/**
 * Where offset `pos` of the text before `edit` is in the text after it. An offset the
 * edit touches — where it inserts, inside or at either end of the range it replaces —
 * goes after the new text when `assoc` is 1 and before it when -1. A caret takes 1 (it
 * keeps to the character on its right, as the room's relative positions do); a
 * selection maps its start with 1 and its end with -1, so that it never grows over text
 * someone else wrote at its edges.
 */
export function mapOffset(edit: Edit, pos: number, assoc: 1 | -1): number {
  const end = edit.at + edit.deleted;
  if (pos < edit.at) return pos;
  if (pos > end) return pos + edit.inserted.length - edit.deleted;
  return assoc > 0 ? edit.at + edit.inserted.length : edit.at;
}

/** A selection: where it started and where the caret is (equal for a plain caret). */
export interface Selection {
  anchor: number;
  head: number;
}

/**
 * A selection moved through `edit`. A caret keeps to the character on its right. A
 * selection never grows over text inserted at its edges; if the edit changed the
 * selected text itself, the selection is gone: it becomes a caret where its head went.
 * (Typing over it would otherwise delete what someone else just wrote there.)
 */
export function mapSelection(edit: Edit, { anchor, head }: Selection): Selection {
  const [start, end] = anchor < head ? [anchor, head] : [head, anchor];
  const touched =
    start < end &&
    ((edit.deleted > 0 && edit.at < end && edit.at + edit.deleted > start) ||
      (edit.inserted.length > 0 && start < edit.at && edit.at < end));
  if (anchor === head || touched) {
    const caret = mapOffset(edit, head, 1);
    return { anchor: caret, head: caret };
  }
  const from = mapOffset(edit, start, 1);
  const to = Math.max(from, mapOffset(edit, end, -1));
  return anchor < head ? { anchor: from, head: to } : { anchor: to, head: from };
}

/**
 * A local edit made against an older text, redone on top of `remote`, an edit to that
 * same older text that the room applied first. The local edit deletes only what still
 * exists of what it deleted (never what the remote edit inserted), and its text goes
 * where its start went: before any remote text inserted at the same place, after the
 * remote text that replaced what was just before it. Returns the edits to apply in order.
 */
export function rebase(local: Edit, remote: Edit): Edit[] {
  const localEnd = local.at + local.deleted;
  const remoteEnd = remote.at + remote.deleted;
  const shift = remote.inserted.length - remote.deleted;
  // Right after a range the remote edit replaced, the local text follows the new text.
  const at = local.at === remoteEnd && remote.deleted > 0 ? local.at + shift : mapOffset(remote, local.at, -1);
  const edits: Edit[] = [];
  // What the local edit deleted after the remote range (shifted by the remote edit).
  const tailStart = Math.max(local.at, remoteEnd);
  const tail = localEnd > tailStart ? { at: tailStart + shift, deleted: localEnd - tailStart } : null;
  // What it deleted before the remote range (where the local text also goes).
  const head = local.at < remote.at ? Math.min(localEnd, remote.at) - local.at : 0;
  if (tail && !(head === 0 && tail.at === at)) edits.push({ ...tail, inserted: "" });
  const deleted = head + (tail && head === 0 && tail.at === at ? tail.deleted : 0);
  if (deleted > 0 || local.inserted) edits.push({ at, deleted, inserted: local.inserted });
  return edits;
}

/**
 * A document's text as a <textarea> shows it. A textarea's value has no carriage
 * returns: it shows "\r\n" as "\n" (one character fewer) and a lone "\r" as "\n". The
 * binding works in the shown text and converts offsets at the room's edge, so that no
 * edit ever removes a "\r" nobody deleted.
 */
export class ShownText {
  /** The text as the textarea shows it. */
  readonly shown: string;
  /** Document offsets of the "\n" of each "\r\n" (none for most texts). */
  readonly #pairs: number[] = [];

  constructor(readonly doc: string) {
    if (!doc.includes("\r")) {
      this.shown = doc;
      return;
    }
    for (let i = doc.indexOf("\r\n"); i >= 0; i = doc.indexOf("\r\n", i + 2)) this.#pairs.push(i + 1);
    this.shown = doc.replace(/\r\n?/g, "\n");
  }

  /** The document offset of shown offset `pos` (before the "\r" of a pair). */
  toDoc(pos: number): number {
    let d = pos;
    for (const p of this.#pairs) {
      if (p - 1 < d) d++;
      else break;
    }
    return d;
  }

  /** The shown offset of document offset `pos`. */
  toShown(pos: number): number {
    let n = 0;
    while (n < this.#pairs.length && this.#pairs[n] <= pos) n++;
    return pos - n;
  }

  /** A shown edit as a document edit (its range widened over whole "\r\n" pairs). */
  editToDoc(edit: Edit): Edit {
    if (this.#pairs.length === 0) return edit;
    const at = this.toDoc(edit.at);
    return { at, deleted: this.toDoc(edit.at + edit.deleted) - at, inserted: edit.inserted };
  }
}
