// "Undo the agent's changes" on an agent's turn in the conversation: the button where
// the turn changed documents, or who already took them back.
import type { MessageInfo, Room } from "confab-rooms";

/**
 * "Undo the agent's changes" on an agent's finished turn that changed documents, or who
 * already did. Read when the row is drawn (the turn's edits are in by then).
 */
export function undoTurnControls(
  room: Room,
  m: MessageInfo,
  page: { guard: (action: () => void) => void; showNotice: (text: string) => void; redraw: () => void },
): HTMLElement[] {
  const { guard, showNotice, redraw } = page;
  let edits;
  try {
    edits = room.docs.turnEdits(m.id);
  } catch {
    return [];
  }
  if (edits.revertedBy) {
    const done = document.createElement("span");
    done.className = "turn-undone";
    done.textContent = `changes undone by ${edits.revertedBy}`;
    return [done];
  }
  if (edits.documents.length === 0 || room.readOnly) return [];
  const titles = new Map(room.docs.list().map((d) => [d.id, d.title]));
  const names = edits.documents.map((id) => titles.get(id) ?? id).join(", ");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "branch undo-turn";
  button.textContent = "Undo the agent's changes";
  button.title = `Take back what this turn wrote in ${names}; edits made since stay`;
  button.addEventListener("click", () =>
    guard(() => {
      try {
        const done = room.docs.revertTurn(m.id);
        const raised = done.conflicts.length;
        showNotice(
          `Undid ${m.author.name}'s changes in ${names}.` +
            (raised ? ` ${raised === 1 ? "One passage someone edited since is" : `${raised} passages someone edited since are`} left as they are, raised as a suggestion.` : ""),
        );
      } finally {
        redraw();
      }
    }),
  );
  return [button];
}
