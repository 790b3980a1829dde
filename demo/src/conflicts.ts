// Conflicts: concurrent edits the CRDT merged silently, each side with its author; a
// merge an agent proposed, with its rationale, to accept or reject; and suggestions
// held for review, shown as the change they would make.
import type { Conflict, ParticipantInfo, Room } from "confab-rooms";

/** One line on what a conflict is. */
export function describe(c: Conflict): string {
  if (c.kind === "suggestion") return `${c.proposal?.by.name ?? "Someone"} suggests a change`;
  if (c.kind === "field") return `${c.field?.split("/").pop() ?? "field"} set two ways`;
  if (c.kind === "stale") return c.held ? "held: written from an old version" : "written over newer changes";
  return `both changed “${c.before || "the same spot"}”`;
}

interface Elements {
  list: HTMLUListElement;
  count: HTMLElement;
  none: HTMLElement;
}

interface Helpers {
  userId: string;
  colourOf(who: ParticipantInfo | null): string;
  guard(action: () => void): void;
}

/** The conflicts panel. */
export class ConflictsView {
  readonly #room: Room;
  readonly #els: Elements;
  readonly #h: Helpers;

  constructor(room: Room, els: Elements, helpers: Helpers) {
    this.#room = room;
    this.#els = els;
    this.#h = helpers;
  }

  render(): void {
    const list = this.#room.conflicts.list();
    const open = list.filter((c) => c.status !== "resolved");
    this.#els.count.hidden = open.length === 0;
    this.#els.count.textContent = String(open.length);
    this.#els.none.hidden = list.length > 0;
    this.#els.list.replaceChildren(...[...open, ...list.filter((c) => c.status === "resolved")].map((c) => this.#item(c)));
  }

  #item(c: Conflict): HTMLLIElement {
    const li = document.createElement("li");
    li.dataset.id = c.id;
    li.dataset.status = c.status;
    li.dataset.kind = c.kind;
    const title = document.createElement("strong");
    title.textContent = describe(c);
    li.append(title);
    if (c.kind === "suggestion") {
      li.append(this.#change(c.before, c.proposal?.text ?? ""));
    } else {
      c.sides.forEach((side, i) => {
        const el = document.createElement("span");
        el.className = "side";
        el.style.setProperty("--author", this.#h.colourOf(side.author));
        const who = side.author ? side.author.name + (side.author.id === this.#h.userId ? " (you)" : "") : "unknown";
        const q = document.createElement("q");
        q.textContent = side.inserted || "(deleted)";
        el.append(`${i + 1}. ${who}${side.stale ? " (from an old version)" : ""}: `, q);
        if (side.deleted && c.kind !== "field") el.append(` replacing “${side.deleted}”`);
        li.append(el);
      });
    }
    if (c.proposal && c.kind !== "suggestion" && c.status !== "resolved") {
      const p = document.createElement("div");
      p.className = "proposal";
      const q = document.createElement("q");
      q.textContent = c.proposal.text;
      p.append(`${c.proposal.by.name} proposes: `, q);
      li.append(p);
    }
    if (c.proposal?.rationale) {
      const why = document.createElement("p");
      why.className = "rationale";
      why.textContent = c.proposal.rationale;
      li.append(why);
    }
    const meta = document.createElement("div");
    meta.className = "meta";
    if (c.status === "resolved" && c.resolution) {
      const r = c.resolution;
      const how =
        r.choice === "proposal"
          ? `accepted ${c.proposal?.by.name ?? "the agent"}'s merge`
          : c.kind === "suggestion"
            ? r.side === 1
              ? "accepted"
              : "rejected"
            : r.choice === "side"
              ? `kept side ${(r.side ?? 0) + 1}`
              : r.choice;
      meta.textContent = `Resolved by ${r.by.name}: ${how}${r.text && r.choice !== "proposal" ? ` → “${r.text}”` : ""}`;
    } else if (c.status === "awaiting-agent") {
      meta.textContent = `${c.askedBy?.name ?? "Someone"} asked an agent to resolve this…`;
    } else if (c.status === "proposed") {
      meta.textContent = "Waiting for a person to accept or reject the proposed merge.";
    } else if (c.kind === "suggestion") {
      meta.textContent = "Held for review: nothing changes until someone accepts it.";
    } else {
      meta.textContent = c.kind === "text" ? `Now reads “${c.current}”` : `Now: “${c.current}”`;
    }
    li.append(meta);
    if (c.status !== "resolved") li.append(this.#actions(c));
    return li;
  }

  /** What a suggestion would change: the old words struck through, the new ones marked. */
  #change(before: string, after: string): HTMLDivElement {
    const el = document.createElement("div");
    el.className = "change";
    const del = document.createElement("del");
    del.textContent = before;
    const ins = document.createElement("ins");
    ins.textContent = after;
    if (before) el.append(del, " ");
    el.append(ins);
    return el;
  }

  #actions(c: Conflict): HTMLDivElement {
    const room = this.#room;
    const actions = document.createElement("div");
    actions.className = "actions";
    const button = (label: string, act: () => void) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.addEventListener("click", () => this.#h.guard(act));
      actions.append(b);
    };
    if (c.held) {
      button(c.kind === "suggestion" ? "Accept" : "Accept held write", () => room.conflicts.acceptHeld(c.id));
      button("Reject", () => room.conflicts.rejectHeld(c.id));
      return actions;
    }
    if (c.status === "proposed") {
      button("Accept merge", () => room.conflicts.acceptProposal(c.id));
      button("Reject merge", () => room.conflicts.rejectProposal(c.id));
      return actions;
    }
    const mine = c.sides.findIndex((s) => s.author?.id === this.#h.userId);
    if (mine >= 0) {
      button("Keep mine", () => room.conflicts.resolve(c.id, "mine"));
      button("Keep theirs", () => room.conflicts.resolve(c.id, "theirs"));
    } else {
      c.sides.forEach((s, i) => button(`Keep ${s.author?.name ?? `side ${i + 1}`}'s`, () => room.conflicts.resolve(c.id, "side", { side: i })));
    }
    button("Keep both", () => room.conflicts.resolve(c.id, "both"));
    button("Edit…", () => {
      const text = prompt("Merged text", c.current);
      if (text !== null) room.conflicts.resolve(c.id, "manual", { text });
    });
    if (c.status !== "awaiting-agent") {
      // An agent in the room reads both sides and proposes a merge, held for a person.
      button("Ask the agent", () => room.conflicts.resolve(c.id, "agent"));
    }
    return actions;
  }
}
