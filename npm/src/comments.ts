import type { CommentInfo } from "../wasm/confab_wasm.js";
import type { Handle } from "./handle.js";

/**
 * Comment threads: on a range of a document (the range follows the edits around it)
 * or on a chat message. Reviewers, who may not edit, may comment; viewers may not (a
 * viewer's call throws `read_only`). Everyone sees comments change through the room's
 * `change` event; each comment, reply and resolution is also in the audit log and the
 * live feed (`comment.added`, `comment.replied`, `comment.resolved`, `comment.reopened`),
 * and an @mention in one lands in that person's inbox.
 */
export class Comments {
  readonly #h: Handle;

  /** @internal */
  constructor(handle: Handle) {
    this.#h = handle;
  }

  /** Every comment, oldest first, each range where it is now. */
  list(): CommentInfo[] {
    return this.#h.call((w) => w.comments());
  }

  /** The comments on document `document`, ordered by where their range starts. */
  onDocument(document: string): CommentInfo[] {
    return this.list()
      .filter((c) => c.anchor.document === document)
      .sort((a, b) => (a.anchor.start ?? 0) - (b.anchor.start ?? 0));
  }

  /** The thread on chat message `message`. */
  onMessage(message: string): CommentInfo[] {
    return this.list().filter((c) => c.anchor.message === message);
  }

  /** Comment on `start..end` (UTF-16) of `document`; returns the comment's id. */
  addToRange(document: string, start: number, end: number, text: string): string {
    return this.#h.call((w) => w.commentOnRange(document, start, end, text));
  }

  /** Start a thread on chat message `message`; returns the comment's id. */
  addToMessage(message: string, text: string): string {
    return this.#h.call((w) => w.commentOnMessage(message, text));
  }

  /** Reply in comment `id`'s thread. */
  reply(id: string, text: string): void {
    this.#h.call((w) => w.replyToComment(id, text));
  }

  /** Resolve comment `id`. */
  resolve(id: string): void {
    this.#h.call((w) => w.resolveComment(id, true));
  }

  /** Reopen a resolved comment. */
  reopen(id: string): void {
    this.#h.call((w) => w.resolveComment(id, false));
  }
}
