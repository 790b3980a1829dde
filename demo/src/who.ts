// One row of a list of people or agents on the space's page: their colour, their name,
// and a pill for their state (online, away, in use…).
import { participantColour } from "./colours.js";

/** A `<li>` with `id`'s colour dot, `name` in bold and, when given, a `state` pill. */
export function whoRow(id: string, name: string, options: { agent?: boolean; state?: string } = {}): HTMLLIElement {
  const li = document.createElement("li");
  const dot = document.createElement("span");
  dot.className = options.agent ? "dot agent" : "dot";
  dot.style.setProperty("--colour", participantColour(id));
  const bold = document.createElement("b");
  bold.textContent = name;
  li.append(dot, bold);
  if (options.state) {
    const pill = document.createElement("span");
    pill.className = `state ${options.state.replace(" ", "-")}`;
    pill.textContent = options.state;
    li.append(pill);
  }
  return li;
}
