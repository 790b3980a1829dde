import type { BranchInfo, ConversationInfo, MergeSummary, MessageInfo } from "../wasm/confab_wasm.js";
import type { Handle } from "./handle.js";

/** A message role. */
export type Role = MessageInfo["role"];

/** The conversation: conversations, messages, agent turns, reactions and branches. */
export class Chat {
  readonly #h: Handle;

  /** @internal */
  constructor(handle: Handle) {
    this.#h = handle;
  }

  /** Every conversation, oldest first. */
  conversations(): ConversationInfo[] {
    return this.#h.call((w) => w.conversations());
  }

  /** Create a conversation (with this id, or a fresh one); returns its id. */
  createConversation(title: string, id?: string): string {
    return this.#h.call((w) => w.createConversation(title, id));
  }

  /** Create conversation `id` unless it exists (the same argument order as {@link createConversation}). */
  ensureConversation(title: string, id: string): void {
    this.#h.call((w) => w.ensureConversation(title, id));
  }

  /** Rename a conversation (concurrent renames are kept as a conflict with both titles). */
  renameConversation(id: string, title: string): void {
    this.#h.call((w) => w.setConversationTitle(id, title));
  }

  /** A conversation's messages, in the same order on every replica. */
  messages(conversation: string): MessageInfo[] {
    return this.#h.call((w) => w.messages(conversation));
  }

  /** Post a message as this participant (role: `user` for people, `assistant` for agents); returns its id. */
  post(conversation: string, text: string, role?: Role): string {
    return this.#h.call((w) => w.postMessage(conversation, text, role));
  }

  /**
   * Open an agent turn: a message whose text streams into the room as you append to
   * it. Everyone sees it grow; a late joiner gets the partial text. Returns its id.
   */
  openTurn(conversation: string, role: Role = "assistant"): string {
    return this.#h.call((w) => w.openTurn(conversation, role));
  }

  /** Append text to an open turn (batched about once a frame). Throws `turn_closed` once stopped. */
  appendTurn(id: string, chunk: string): void {
    this.#h.call((w) => w.appendTurn(id, chunk));
  }

  /** Finish an open turn. */
  finishTurn(id: string): void {
    this.#h.call((w) => w.finishTurn(id));
  }

  /** Fail an open turn with a reason everyone sees. */
  failTurn(id: string, reason: string): void {
    this.#h.call((w) => w.failTurn(id, reason));
  }

  /** Ask an open turn to stop; anyone in the room may. */
  stopTurn(id: string): void {
    this.#h.call((w) => w.stopTurn(id));
  }

  /** A message's status (plain posts are `done`). */
  turnStatus(id: string): MessageInfo["status"] {
    return this.#h.call((w) => w.turnStatus(id));
  }

  /**
   * Stream an async iterable of text chunks (e.g. a model's token stream) into a new
   * turn. Resolves with the turn id once finished; if someone stops the turn, the
   * stream is abandoned and the turn stays `stopped`; if the source throws, the turn
   * is failed with its message. While it streams, this client's document edits are
   * attributed to the turn (and `options.model`), as `room.docs.actFor` does.
   */
  async streamTurn(
    conversation: string,
    chunks: AsyncIterable<string> | Iterable<string>,
    options: { model?: string } = {},
  ): Promise<string> {
    const id = this.openTurn(conversation);
    const open = () => {
      const status = this.turnStatus(id);
      return status === "pending" || status === "streaming";
    };
    this.#h.call((w) => w.actFor(id, options.model));
    try {
      for await (const chunk of chunks) {
        if (!open()) return id;
        this.appendTurn(id, chunk);
      }
    } catch (err) {
      if (open()) {
        this.failTurn(id, err instanceof Error ? err.message : String(err));
        return id;
      }
      if (this.turnStatus(id) === "stopped") return id;
      throw err;
    } finally {
      if (this.#h.alive) this.#h.call((w) => w.actFor());
    }
    if (open()) this.finishTurn(id);
    return id;
  }

  /** React to a message (e.g. "helpful"); reviewers may too. */
  react(message: string, kind: string): void {
    this.#h.call((w) => w.react(message, kind));
  }

  /** Take back your reaction. */
  unreact(message: string, kind: string): void {
    this.#h.call((w) => w.unreact(message, kind));
  }

  /** Fork a conversation at a message; returns the branch's conversation id. */
  fork(parent: string, atMessage: string, title: string): string {
    return this.#h.call((w) => w.forkConversation(parent, atMessage, title));
  }

  /** The branches forked from a conversation. */
  branches(conversation: string): BranchInfo[] {
    return this.#h.call((w) => w.branches(conversation));
  }

  /** Merge a branch's picked messages and a summary back into its parent; returns the record's id. */
  merge(branch: string, picked: string[], summary: MergeSummary): string {
    return this.#h.call((w) => w.mergeBranch(branch, picked, summary));
  }
}
