// "Undo the agent's changes" on an agent's turn in the conversation: the button where
// the turn changed documents, or who already took them back. Each row's answer is
// read when it is drawn, and checked again once changes settle (someone else's revert,
// a turn's edits that arrive after it ended): a row whose answer changed is drawn again.
import type { MessageInfo, Room, TurnEdits } from "confab-rooms";

/** How long changes must settle before the drawn rows are checked again. */
const RECHECK_MS = 1000;

/** What a row shows: the documents a turn changed and who reverted it. */
function keyOf(edits: TurnEdits | null): string {
  return edits ? `${edits.documents.join("\n")}\u0000${edits.revertedBy ?? ""}` : "";
}

/** What the page lends: its error guard, its notice, and a redraw of some turns' rows. */
export interface TurnUndoPage {
  guard: (action: () => void) => void;
  showNotice: (text: string) => void;
  redraw: (turns: string[]) => void;
}

export class TurnUndo {
  readonly #room: Room;
  readonly #page: TurnUndoPage;
  /** What each drawn row showed, by turn. */
  readonly #shown = new Map<string, string>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(room: Room, page: TurnUndoPage) {
    this.#room = room;
    this.#page = page;
  }

  /** The controls for agent turn `m`'s row (none while it runs). */
  controls(m: MessageInfo): HTMLElement[] {
    if (m.author.kind !== "agent" || m.status === "pending" || m.status === "streaming") return [];
    const edits = this.#edits(m.id);
    this.#shown.set(m.id, keyOf(edits));
    if (!edits) return [];
    if (edits.revertedBy) {
      const done = document.createElement("span");
      done.className = "turn-undone";
      done.textContent = `changes undone by ${edits.revertedBy}`;
      return [done];
    }
    if (edits.documents.length === 0 || this.#room.readOnly) return [];
    const titles = new Map(this.#room.docs.list().map((d) => [d.id, d.title]));
    const names = edits.documents.map((id) => titles.get(id) ?? id).join(", ");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "branch undo-turn";
    button.textContent = "Undo the agent's changes";
    button.title = `Take back what this turn wrote in ${names}; edits made since stay`;
    button.addEventListener("click", () => this.#revert(m, names));
    return [button];
  }

  /** The room changed: check the drawn rows again once changes settle. */
  changed(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const stale = [...this.#shown].filter(([turn, shown]) => keyOf(this.#edits(turn)) !== shown).map(([turn]) => turn);
      if (stale.length > 0) this.#page.redraw(stale);
    }, RECHECK_MS);
  }

  #edits(turn: string): TurnEdits | null {
    try {
      return this.#room.docs.turnEdits(turn);
    } catch {
      return null;
    }
  }

  #revert(m: MessageInfo, names: string): void {
    const { guard, showNotice, redraw } = this.#page;
    guard(() => {
      try {
        const done = this.#room.docs.revertTurn(m.id);
        const raised = done.conflicts.length;
        showNotice(
          `Undid ${m.author.name}'s changes in ${names}.` +
            (raised ? ` ${raised === 1 ? "One passage someone edited since is" : `${raised} passages someone edited since are`} left as they are, raised as a suggestion.` : ""),
        );
      } finally {
        // "changes undone by …" in place of the button (or the refusal's reason).
        redraw([m.id]);
      }
    });
  }
}
