import type { Conflict, ConflictChoice } from "../wasm/confab_wasm.js";
import { ConfabError } from "./errors.js";
import type { Handle } from "./handle.js";

/**
 * Conflicts: concurrent changes to one stretch of a document, concurrent writes to one
 * field, and writes from a stale base (held for a person to decide, or applied with a
 * record). Listen with `room.on("conflict", ...)`; `needsInput` says when to act.
 */
export class Conflicts {
  readonly #h: Handle;

  /** @internal */
  constructor(handle: Handle) {
    this.#h = handle;
  }

  /** Every conflict in the room, oldest first. */
  list(): Conflict[] {
    return this.#h.call((w) => w.conflicts());
  }

  /**
   * Resolve a conflict: keep `"mine"` or `"theirs"`, a side by number (`"side"`, `{ side }`),
   * `"both"`, a `"manual"` merge (`{ text }`, which replaces the stretch in conflict,
   * `conflict.current`), or ask an `"agent"` (any agent may answer with a manual merge).
   * The change is attributed to this participant.
   */
  resolve(id: string, choice: ConflictChoice, options: { side?: number; text?: string } = {}): void {
    this.#h.call((w) => w.resolveConflict(id, choice, options.side, options.text));
  }

  /**
   * Propose `text` as the merge of a conflict (for the stretch in conflict,
   * `conflict.current`), with a one-paragraph `rationale`: what an agent does when asked.
   * Nothing changes until a person accepts it ({@link acceptProposal}) or rejects it.
   */
  propose(id: string, text: string, rationale: string): void {
    this.#h.call((w) => w.proposeMerge(id, text, rationale));
  }

  /** Accept the merge proposed for a conflict: applied now, attributed to you. */
  acceptProposal(id: string): void {
    this.resolve(id, "proposal");
  }

  /** Turn down the merge proposed for a conflict: it is open again. */
  rejectProposal(id: string): void {
    this.#h.call((w) => w.rejectProposal(id));
  }

  /**
   * Accept a held write (a `"stale"` conflict with `held: true`, or a `"suggestion"`):
   * it is applied now, over the range it was meant for, attributed to you.
   */
  acceptHeld(id: string): void {
    this.#requireHeld(id);
    this.resolve(id, "side", { side: 1 });
  }

  /** Reject a held write: the text stays as it is, and the record says who rejected it. */
  rejectHeld(id: string): void {
    this.#requireHeld(id);
    this.resolve(id, "side", { side: 0 });
  }

  #requireHeld(id: string): void {
    const conflict = this.list().find((c) => c.id === id);
    if (!conflict) throw new ConfabError("not_found", `unknown conflict \`${id}\``);
    if (!conflict.held) throw new ConfabError("not_held", `conflict \`${id}\` holds no write to accept or reject`);
  }
}
