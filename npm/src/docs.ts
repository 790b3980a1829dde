import type { BasedWrite, DocumentInfo, DocumentRead, Granularity, StalePolicy, TurnEdits, TurnRevert, Undone } from "../wasm/confab_wasm.js";
import type { Handle } from "./handle.js";

/** The smallest edit that turns `from` into `to`: [start, end) of `from`, and its replacement. */
export function smallestEdit(from: string, to: string): [number, number, string] {
  let start = 0;
  while (start < from.length && start < to.length && from[start] === to[start]) start++;
  let tail = 0;
  while (tail < from.length - start && tail < to.length - start && from[from.length - 1 - tail] === to[to.length - 1 - tail]) tail++;
  return [start, from.length - tail, to.slice(start, to.length - tail)];
}

/**
 * Shared documents. Offsets are JavaScript string indices (UTF-16 code units); an
 * offset inside a surrogate pair or past the end throws `out_of_range`.
 */
export class Docs {
  readonly #h: Handle;

  /** @internal */
  constructor(handle: Handle) {
    this.#h = handle;
  }

  /** Every shared document, oldest first. */
  list(): DocumentInfo[] {
    return this.#h.call((w) => w.documents());
  }

  /** Create a document (with this id, or a fresh one); returns its id. */
  create(title: string, id?: string): string {
    return this.#h.call((w) => w.createDocument(title, id));
  }

  /** Create document `id` unless it exists (the same argument order as {@link create}). */
  ensure(title: string, id: string): void {
    this.#h.call((w) => w.ensureDocument(title, id));
  }

  /** A document's text. */
  text(id: string): string {
    return this.#h.call((w) => w.documentText(id));
  }

  /**
   * The text of root `name` as stock Yjs reads it (`ydoc.getText(name)`): for a document
   * imported with `room.applyUpdate` from a plain Yjs app, whose text is no room
   * document. The room's own maps (`messages`, `documents`, …) throw `invalid_argument`.
   */
  rootText(name: string): string {
    return this.#h.call((w) => w.rootText(name));
  }

  /** Rename a document (concurrent renames are kept as a conflict with both titles). */
  setTitle(id: string, title: string): void {
    this.#h.call((w) => w.setDocumentTitle(id, title));
  }

  /** Insert `text` at `index`. */
  insert(id: string, index: number, text: string): void {
    this.#h.call((w) => w.insertText(id, index, text));
  }

  /** Delete `length` characters at `index`. */
  delete(id: string, index: number, length: number): void {
    this.#h.call((w) => w.deleteText(id, index, length));
  }

  /** Replace the range `index..index+length` with `text`, as one change. */
  replaceRange(id: string, index: number, length: number, text: string): void {
    this.#h.call((w) => w.replaceRange(id, index, length, text));
  }

  /**
   * Take back your last step in document `id`: only your own edits, as Yjs's
   * `UndoManager` with tracked origins does; what others wrote since stays. Typing
   * within half a second is one step, and an agent's whole turn is one step. The undo
   * is a new change, attributed to you and checked like any edit. Returns what it did,
   * with the selection the step was made from (where your caret was, as
   * `presence.setCursor` last said) for your editor to show; `null` when there is
   * nothing to undo.
   */
  undo(id: string): Undone | null {
    return this.#h.call((w) => w.undo(id));
  }

  /**
   * Make again the step `undo` last took back, with the selection you had when you
   * undid it; `null` when there is nothing to redo.
   */
  redo(id: string): Undone | null {
    return this.#h.call((w) => w.redo(id));
  }

  /** Whether `undo(id)` has a step to take back. */
  canUndo(id: string): boolean {
    return this.#h.call((w) => w.canUndo(id));
  }

  /** Whether `redo(id)` has a step to make again (any new edit clears it). */
  canRedo(id: string): boolean {
    return this.#h.call((w) => w.canRedo(id));
  }

  /**
   * "Undo the agent's changes": take back everything agent turn `turnId` wrote, in
   * every document it touched, as your own change (each document's part is one step
   * you can undo). Edits people made since stay. Where someone changed words inside
   * the turn's text since, that stretch is left as it is and raised as a suggestion
   * (a conflict with both sides, in `room.conflicts`); its id is in `conflicts`.
   * Throws `not_found` for a turn that wrote nothing.
   */
  revertTurn(turnId: string): TurnRevert {
    return this.#h.call((w) => w.revertTurn(turnId));
  }

  /**
   * Which documents agent turn `turnId` changed, and who reverted it already: whether
   * "Undo the agent's changes" has anything to do. Reads what the room keeps of each
   * document's edits, not its text.
   */
  turnEdits(turnId: string): TurnEdits {
    return this.#h.call((w) => w.turnEdits(turnId));
  }

  /** End the current undo step: your next edit starts a new one (when the caret jumps). */
  stopCapturing(id: string): void {
    this.#h.call((w) => w.stopCapturing(id));
  }

  /**
   * Replace the whole text with `next`, as the smallest single edit (the common prefix
   * and suffix are kept, with their authorship): what a `<textarea>` binding needs.
   */
  setText(id: string, next: string): void {
    this.#h.call((w) => w.setText(id, next));
  }

  /** A document's text and the version it was read at (pass `base` to {@link writeBased}). */
  read(id: string): DocumentRead {
    return this.#h.call((w) => w.readDocument(id));
  }

  /**
   * Replace `start..end` of the text *as read* at `base` with `text`. The range is
   * mapped onto the current text; if someone else changed it since, the write is held
   * for a person to accept or reject (policy `"hold"`, the default; see
   * `room.conflicts.acceptHeld`) or applied with a conflict record (`"apply"`).
   */
  writeBased(id: string, start: number, end: number, text: string, base: Uint8Array): BasedWrite {
    return this.#h.call((w) => w.writeBased(id, start, end, text, base));
  }

  /**
   * Suggest `next` as the document's whole text, with a `note` for the reviewer: held as
   * the smallest edit of the current text until a person accepts it
   * (`room.conflicts.acceptHeld`) or rejects it; everyone sees it as a conflict of kind
   * `"suggestion"` whose `proposal` holds the text and the note. Returns its id.
   */
  suggest(id: string, next: string, note: string): string {
    const current = this.text(id);
    let [start, end] = smallestEdit(current, next);
    // Whole words, so the reviewer reads "Owner: Kim." → "Owners: Kim and Lee.", not
    // ": Kim" → "s: Kim and Lee".
    while (start > 0 && !/\s/.test(current[start - 1]!)) start--;
    while (end < current.length && !/\s/.test(current[end]!)) end++;
    const inserted = next.slice(start, next.length - (current.length - end));
    return this.#h.call((w) => w.suggestEdit(id, start, end, inserted, note));
  }

  /** How close concurrent changes to a document must be to conflict (default `"word"`). */
  setGranularity(id: string, granularity: Granularity): void {
    this.#h.call((w) => w.setGranularity(id, granularity));
  }

  /** What a write from a stale base does to a document (default `"hold"`). */
  setStalePolicy(id: string, policy: StalePolicy): void {
    this.#h.call((w) => w.setStalePolicy(id, policy));
  }

  /** Agents: attribute the next edits to `turn` (and `model`); call with nothing to stop. */
  actFor(turn?: string, model?: string): void {
    this.#h.call((w) => w.actFor(turn, model));
  }
}
