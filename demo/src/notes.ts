// The shared notes: a plain <textarea> bound to one room document.
//
// The rule: the binding never writes text that no one typed. A local edit is the
// difference between what the textarea shows now and the document's text as the binding
// last put it there (bounded by the selection the input replaced), and only that edit is
// sent. A remote change replaces the textarea's text with the document's; the caret
// stays after the character before it (bounded by this page's cursor as the room keeps
// it, in relative positions), a selection moves without growing, and one whose text
// someone changed becomes a caret. Nothing is written back. During an IME composition
// remote changes wait, so the composition is not broken; when it ends, the composed text
// is redone on top of whatever arrived meanwhile.
import type { Room } from "confab-rooms";
import { editBetween, mapOffset, mapSelection, rebase, type Selection, ShownText } from "./text-edits.js";

export class NotesBinding {
  readonly #room: Room;
  readonly #el: HTMLTextAreaElement;
  readonly #id: string;
  readonly #ensure: () => void;
  readonly #onError: (err: unknown) => void;
  /** The document's text as last put into the textarea (or read back from it). */
  #synced = new ShownText("");
  /** Bumped whenever `#synced` changes. */
  #version = 0;
  /** The selection last published as this page's cursor (shown offsets), and at which version. */
  #published: (Selection & { version: number }) | null = null;
  /** The selection an input is about to replace (what `beforeinput` or `compositionstart` saw), and at which version. */
  #replacing: { from: number; to: number; version: number } | null = null;
  #composing = false;
  /** True while this binding writes to the room: its own change events are not remote. */
  #writing = false;

  /**
   * Bind `textarea` to document `id`. `ensure` creates the document if it is missing
   * (before the first local edit); `onError` hears edits the room refused.
   */
  constructor(room: Room, textarea: HTMLTextAreaElement, id: string, ensure: () => void, onError: (err: unknown) => void) {
    this.#room = room;
    this.#el = textarea;
    this.#id = id;
    this.#ensure = ensure;
    this.#onError = onError;
    textarea.addEventListener("beforeinput", (e) => {
      if (!e.isComposing && !this.#composing) this.#noteReplacing();
    });
    textarea.addEventListener("input", (e) => {
      if (!(e as InputEvent).isComposing && !this.#composing) this.#pull();
    });
    textarea.addEventListener("compositionstart", () => {
      this.#noteReplacing();
      this.#composing = true;
    });
    textarea.addEventListener("compositionend", () => {
      this.#composing = false;
      this.#pull();
      this.render(); // what arrived meanwhile, even if the composition was cancelled
    });
    document.addEventListener("selectionchange", () => this.#publishCursor());
    textarea.addEventListener("focus", () => this.#publishCursor());
    textarea.addEventListener("blur", () => {
      this.#published = null;
      this.#room.presence.clearCursor();
    });
  }

  /** The textarea's offset of a document offset (they differ only around "\r\n"). */
  shownOffset(docOffset: number): number {
    return this.#synced.toShown(docOffset);
  }

  /** Show the document's current text, moving the selection with the change. Call it on every change. */
  render(): void {
    if (this.#composing || this.#writing) return;
    // An edit the textarea holds and the room has not had yet goes first: a remote
    // change must never overwrite (or be overwritten by) what someone just typed.
    if (this.#el.value !== this.#synced.shown) {
      this.#pull();
      return;
    }
    const next = this.#read();
    if (!next || next.doc === this.#synced.doc) return;
    const el = this.#el;
    const { scrollTop, scrollLeft } = el;
    const { selection, relative } = this.#selectionAfter(next);
    el.value = next.shown;
    this.#synced = next;
    this.#version++;
    this.#select(selection);
    el.scrollTop = scrollTop;
    el.scrollLeft = scrollLeft;
    // The room's relative positions already say where this caret is; a selection
    // mapped here is published anew.
    if (relative && this.#published) this.#published = { ...selection, version: this.#version };
    else this.#publishCursor();
  }

  /** Send the edit the textarea holds (against the text last synced), and only that. */
  #pull(): void {
    const el = this.#el;
    const value = el.value;
    const before = this.#synced;
    if (value === before.shown) return;
    // Typing over a selection replaces that selection: the edit covers it, even where
    // the new text begins like the old ("T" over "Tuesday" is not "uesday" deleted).
    const replacing = this.#replacing?.version === this.#version ? this.#replacing : null;
    this.#replacing = null;
    const edit = editBetween(before.shown, value, { from: replacing?.from, to: replacing?.to, caret: el.selectionEnd });
    this.#writing = true;
    try {
      this.#ensure();
      const current = new ShownText(this.#room.docs.text(this.#id));
      // A remote change the textarea has not shown yet (it waited for a composition):
      // redo the local edit on top of it.
      const edits = current.doc === before.doc ? [edit] : rebase(edit, editBetween(before.shown, current.shown));
      let text = current;
      for (const e of edits) {
        const { at, deleted, inserted } = text.editToDoc(e);
        this.#room.docs.replaceRange(this.#id, at, deleted, inserted);
        text = new ShownText(this.#room.docs.text(this.#id));
      }
    } catch (err) {
      this.#onError(err);
    } finally {
      this.#writing = false;
    }
    // The textarea holds `value`; if the room's text is anything else (a remote change
    // was waiting, or the edit was refused), render() shows it and maps the selection.
    const now = this.#read();
    this.#synced = now?.shown === value ? now : new ShownText(value);
    this.#version++;
    this.render();
    this.#publishCursor();
  }

  #noteReplacing(): void {
    const el = this.#el;
    this.#replacing =
      el.value === this.#synced.shown ? { from: el.selectionStart, to: el.selectionEnd, version: this.#version } : null;
  }

  /** The document's text, or null before the room has the document. */
  #read(): ShownText | null {
    try {
      return new ShownText(this.#room.docs.text(this.#id));
    } catch {
      return null;
    }
  }

  /**
   * Where the selection goes when the text becomes `next`.
   *
   * A caret stays right after the character before it: someone else's text inserted
   * at the caret goes after it, so that two people typing at one spot each keep their
   * words whole. The room resolves this page's published cursor exactly (relative
   * positions), but it keeps to the character *after* the caret, past such text: that is
   * the furthest the caret may go. The edit between the texts, put as early as they
   * allow, never takes the caret before the character it follows (only, among equal
   * letters, past some of the new text): the lesser of the two is the caret. When the
   * change surrounds the caret, or the published cursor is not the textarea's, one of
   * the two alone decides.
   *
   * A selection moves through the edit (its relative end keeps to the character after
   * it, and would grow over text inserted just there); see `mapSelection`. `relative`
   * says the result is where the room puts the published cursor.
   */
  #selectionAfter(next: ShownText): { selection: Selection; relative: boolean } {
    const current = this.#selection();
    const early = editBetween(this.#synced.shown, next.shown, "early");
    const mapped = { selection: mapSelection(early, current), relative: false };
    const published = this.#published;
    if (current.anchor !== current.head || !published || published.version !== this.#version) return mapped;
    if (published.anchor !== current.anchor || published.head !== current.head) return mapped;
    const mine = this.#room.presence.list().find((p) => p.isSelf)?.cursor;
    if (!mine || mine.document !== this.#id || mine.anchor !== mine.head) return mapped;
    const room = Math.min(next.toShown(mine.head), next.shown.length);
    const caret = current.head;
    const surrounds = early.at < caret && caret < early.at + early.deleted;
    const kept = surrounds ? room : Math.min(room, mapOffset(early, caret, -1));
    return { selection: { anchor: kept, head: kept }, relative: kept === room };
  }

  #selection(): Selection {
    const { selectionStart: start, selectionEnd: end, selectionDirection } = this.#el;
    return selectionDirection === "backward" ? { anchor: end, head: start } : { anchor: start, head: end };
  }

  #select({ anchor, head }: Selection): void {
    if (anchor <= head) this.#el.setSelectionRange(anchor, head, "forward");
    else this.#el.setSelectionRange(head, anchor, "backward");
  }

  /** Publish the textarea's selection as this page's cursor (kept by the room as relative positions). */
  #publishCursor(): void {
    if (this.#composing || document.activeElement !== this.#el || this.#el.value !== this.#synced.shown) return;
    const selection = this.#selection();
    const published = this.#published;
    if (published?.version === this.#version && published.anchor === selection.anchor && published.head === selection.head) {
      return;
    }
    try {
      this.#room.presence.setCursor(this.#id, this.#synced.toDoc(selection.anchor), this.#synced.toDoc(selection.head));
      this.#published = { ...selection, version: this.#version };
    } catch {
      // The document appears once the room has synced.
    }
  }
}
