// The agents in the room: a panel with each one's status, current and last activity,
// collaborations and recent activities (live, from its presence and the room's feed),
// and "Ask agent", which addresses the picked agent in the conversation (@Name). The
// agents are real participants in their own processes (`make dev` starts two; any
// `confab agent` or `Agent.join` joins the same way).
import type { Activity, PeerInfo, Room } from "confab-rooms";
import type { AgentStatus } from "confab-rooms/agent";
import { participantColour } from "./colours.js";

interface Present {
  id: string;
  name: string;
  status: AgentStatus | undefined;
}

/** The agents present, once each (an agent in two processes shows once). */
export function presentAgents(room: Room): Present[] {
  const seen = new Map<string, Present>();
  for (const p of room.presence.peers() as PeerInfo[]) {
    const user = p.state.user;
    if (!user || user.kind !== "agent" || seen.has(user.id)) continue;
    seen.set(user.id, { id: user.id, name: user.name, status: p.state.agent as AgentStatus | undefined });
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

const RECENT = 3;

function ago(at: number): string {
  const s = Math.max(0, Math.round((Date.now() - at) / 1000));
  return s < 60 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}

/** The agents panel and the "Ask agent" control. */
export class AgentsPanel {
  readonly #room: Room;
  readonly #list: HTMLUListElement;
  readonly #empty: HTMLElement;
  readonly #pick: HTMLSelectElement;
  readonly #ask: HTMLButtonElement;
  #activities: Activity[] = [];
  #fetching = false;
  #again = false;

  constructor(room: Room, els: { list: HTMLUListElement; empty: HTMLElement; pick: HTMLSelectElement; ask: HTMLButtonElement }) {
    this.#room = room;
    this.#list = els.list;
    this.#empty = els.empty;
    this.#pick = els.pick;
    this.#ask = els.ask;
    room.on("presence", () => this.render());
    room.on("feed", (e) => {
      if (e.event.action.startsWith("activity.") || e.event.action === "agent.status") void this.refresh();
    });
    room.on("status", (e) => {
      if (e.status === "synced") void this.refresh();
    });
    room.on("session", () => this.render());
    // The panel may come after the room synced (the page loads CodeMirror first).
    if (room.status === "synced") void this.refresh();
  }

  /** Fetch the recent activities again (one request at a time; a burst of events asks once more). */
  async refresh(): Promise<void> {
    if (this.#fetching) {
      this.#again = true;
      return;
    }
    this.#fetching = true;
    try {
      do {
        this.#again = false;
        this.#activities = (await this.#room.request("activity.list")).activities;
      } while (this.#again);
    } catch {
      // A role that may not read the feed, or a dropped connection: statuses still show.
    } finally {
      this.#fetching = false;
    }
    this.render();
  }

  /** The agent "Ask agent" addresses, or undefined when none is here. */
  picked(): Present | undefined {
    const agents = presentAgents(this.#room);
    return agents.find((a) => a.id === this.#pick.value) ?? agents[0];
  }

  render(): void {
    const agents = presentAgents(this.#room);
    this.#empty.hidden = agents.length > 0;
    this.#list.replaceChildren(...agents.map((a) => this.#item(a)));
    const chosen = this.#pick.value;
    this.#pick.replaceChildren(
      ...agents.map((a) => {
        const o = document.createElement("option");
        o.value = a.id;
        o.textContent = a.name;
        return o;
      }),
    );
    if (agents.some((a) => a.id === chosen)) this.#pick.value = chosen;
    this.#pick.hidden = agents.length < 2;
    const none = agents.length === 0;
    this.#ask.disabled = this.#room.readOnly || none;
    this.#ask.title = this.#room.readOnly
      ? `read-only: you are a ${this.#room.role} in this room`
      : none
        ? "No agent is in this room yet: make dev starts two in the room it prints, or run npx confab agent --room <this room>"
        : `Ask ${this.picked()?.name} about this conversation (posts @${this.picked()?.name} with your message)`;
  }

  #item(a: Present): HTMLLIElement {
    const li = document.createElement("li");
    li.dataset.agent = a.id;
    li.dataset.state = a.status?.state ?? "idle";
    const head = document.createElement("div");
    head.className = "agent-head";
    const dot = document.createElement("span");
    dot.className = "dot";
    dot.title = a.status?.state ?? "idle";
    const name = document.createElement("strong");
    name.textContent = a.name;
    name.style.setProperty("--colour", participantColour(a.id));
    const model = document.createElement("span");
    model.className = a.status?.offline ? "model offline" : "model";
    model.textContent = a.status ? (a.status.offline ? "offline model" : a.status.model) : "";
    head.append(dot, name, model);
    const now = document.createElement("div");
    now.className = "agent-now";
    const s = a.status;
    now.textContent = s
      ? [s.state === "working" ? (s.activity ?? "working") : "idle", s.lastActivity ? `last: ${s.lastActivity}` : "", s.collaborations ? `${s.collaborations} collaboration${s.collaborations === 1 ? "" : "s"}` : ""]
          .filter(Boolean)
          .join(" · ")
      : "present";
    const recent = document.createElement("ol");
    recent.className = "agent-recent";
    for (const act of this.#activities.filter((x) => x.agent === a.id).slice(-RECENT).reverse()) {
      const item = document.createElement("li");
      item.dataset.kind = act.kind;
      item.textContent = `${act.kind.replace(/_/g, " ")}: ${act.summary} (${ago(act.completedAt ?? act.startedAt)})`;
      recent.append(item);
    }
    li.append(head, now, recent);
    return li;
  }
}
