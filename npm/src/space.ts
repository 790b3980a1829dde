/**
 * A team space: its rooms with who is in each, live. One object per space at the edge
 * keeps the directory; rooms report to it as people and agents come and go.
 *
 * ```ts
 * import { Space } from "confab-rooms";
 * const space = await Space.open({ url: "http://127.0.0.1:8787", space: "design-team" });
 * space.on("rooms", (rooms) => console.log(rooms.map((r) => `${r.title}: ${r.people}`)));
 * await space.createRoom("roadmap", "Q3 roadmap");
 * ```
 *
 * @module
 */
import { callEdge, LiveView, type FeedEvents, type LiveOptions } from "./live.js";

/** Someone a room reports present. */
export interface SpacePresent {
  id: string;
  name: string;
  kind: "person" | "agent";
  /** Active, idle or away (or what they set by hand: `presence.setStatus`). */
  status: "active" | "idle" | "away";
  /** What they are doing. */
  activity?: string;
  /** A status they wrote themselves ("back in 10 min"). */
  note?: string;
}

/** Someone on the space's presence dashboard: everyone its rooms have seen. */
export interface SpacePerson {
  id: string;
  name: string;
  kind: "person" | "agent";
  /** `online` (in a room, active or idle), `away` (in a room, away) or `offline`. */
  state: "online" | "away" | "offline";
  /** Titles of the rooms they are in now. */
  rooms: string[];
  activity: string | null;
  note: string | null;
  /** When a room last reported them (ms since the epoch; 0 for a member never seen). */
  lastSeen: number;
  /** Their space role as the workspace shows it, for a member. */
  role: SpaceRoleLabel | null;
}

/** A space role as the workspace shows it, over the room roles owner, editor, reviewer, viewer. */
export type SpaceRoleLabel = "lead" | "contributor" | "reviewer" | "viewer";

/** A member of the space. Their record's role wins over the role in their token. */
export interface SpaceMember {
  id: string;
  name: string;
  role: "owner" | "editor" | "reviewer" | "viewer";
  label: SpaceRoleLabel;
  /** When they became a member (ms since the epoch). */
  since: number;
}

/** A task a shared agent is scheduled to do: posted in `room`, when due, as a message from `by` that mentions the agent. */
export interface AgentSchedule {
  room: string;
  task: string;
  /** When it is next due (ms since the epoch). */
  at: number;
  /** Repeats every this many minutes (absent: once). */
  everyMinutes?: number;
  by: string;
  byName: string;
}

/** One of the space's agents, with what it is doing. */
export interface SharedAgent {
  /** The user id it joins rooms as. */
  id: string;
  /** What people @mention. */
  name: string;
  description: string;
  model: string | null;
  /** `in use` (present in a room now), `scheduled` (a task is due later) or `available`. */
  state: "in use" | "scheduled" | "available";
  /** Titles of the rooms it is in now. */
  rooms: string[];
  activity: string | null;
  schedule: AgentSchedule | null;
  /** False for an agent a room has present that the space has not registered. */
  registered: boolean;
}

/** A room as the space lists it. */
export interface SpaceRoom {
  /** What clients connect to (`Room.open({ room: name })`). */
  name: string;
  title: string;
  /** People present, as last reported (zero once the room has been silent for 3 min). */
  people: number;
  /** Agents present, likewise. */
  agents: number;
  /** Who is present. */
  present: SpacePresent[];
  /** When someone last came, went or changed it (ms since the epoch). */
  lastActivity: number;
  archived: boolean;
  createdBy: string;
  createdAt: number;
}

/** A space's settings. */
export interface SpaceSettings {
  /** Whether rooms may be shared outside the space. */
  externalSharing: boolean;
  /** Archive rooms idle this many days (`null`: never). */
  autoArchiveDays: number | null;
}

/** Something that happened in the space (audited). */
export interface SpaceEvent {
  seq: number;
  action: "room.created" | "room.renamed" | "room.archived" | "room.restored" | "room.deleted" | "space.settings" | "space.member" | "space.agent";
  actor: { id: string; name: string; kind: string } | null;
  target: string | null;
  detail: Record<string, unknown>;
  at: number;
}

/** How to open a space. */
export interface SpaceOptions extends LiveOptions {
  /** The space's name. */
  space: string;
}

interface SpaceEvents extends FeedEvents {
  rooms: SpaceRoom[];
  event: SpaceEvent;
}

/** A live view of one space's rooms. */
export class Space extends LiveView<SpaceEvents> {
  /** Every room, as of the last message from the edge. */
  rooms: SpaceRoom[] = [];
  /** Everyone the space's rooms have seen: online, away or offline. */
  people: SpacePerson[] = [];
  /** The members, leads first. */
  members: SpaceMember[] = [];
  /** The shared agents: in use, then scheduled, then available. */
  agents: SharedAgent[] = [];
  settings: SpaceSettings = { externalSharing: false, autoArchiveDays: null };
  readonly name: string;

  private constructor(private readonly options: SpaceOptions) {
    super(options, `/spaces/${encodeURIComponent(options.space)}`);
    this.name = options.space;
  }

  protected receive(message: Record<string, unknown>): boolean {
    if (message.type === "event") this.listeners.emit("event", message.event as SpaceEvent);
    if (message.type !== "rooms") return false;
    this.rooms = message.rooms as SpaceRoom[];
    this.people = message.people as SpacePerson[];
    this.members = message.members as SpaceMember[];
    this.agents = message.agents as SharedAgent[];
    this.settings = message.settings as SpaceSettings;
    this.listeners.emit("rooms", this.rooms);
    return true;
  }

  /** Open `space` and wait for its directory (at most `timeoutMs`, 10 s by default). */
  static async open(options: SpaceOptions & { timeoutMs?: number }): Promise<Space> {
    const space = new Space(options);
    await space.opened(`space ${options.space}`, options.timeoutMs);
    return space;
  }

  #path(rest: string): string {
    return `/spaces/${encodeURIComponent(this.name)}${rest}`;
  }

  /** Add a room to the space (contributors and leads). */
  createRoom(name: string, title?: string): Promise<SpaceRoom> {
    return callEdge(this.options, "POST", this.#path("/rooms"), { name, ...(title ? { title } : {}) });
  }

  /** Give a room a new title. */
  renameRoom(name: string, title: string): Promise<SpaceRoom> {
    return callEdge(this.options, "PATCH", this.#path(`/rooms/${encodeURIComponent(name)}`), { title });
  }

  /** Archive a room (or bring it back with `false`). */
  archiveRoom(name: string, archived = true): Promise<SpaceRoom> {
    return callEdge(this.options, "PATCH", this.#path(`/rooms/${encodeURIComponent(name)}`), { archived });
  }

  /** Delete a room (leads): it leaves the directory and closes to everyone. */
  deleteRoom(name: string): Promise<{ deleted: string }> {
    return callEdge(this.options, "DELETE", this.#path(`/rooms/${encodeURIComponent(name)}`));
  }

  /** Change settings (leads). */
  updateSettings(patch: Partial<{ externalSharing: boolean; autoArchiveDays: number }>): Promise<SpaceSettings> {
    return callEdge(this.options, "PATCH", this.#path("/settings"), patch);
  }

  /** Give `user` a role in the space (leads): `lead`, `contributor`, `reviewer` or `viewer` (or the room role names). */
  setMember(user: string, role: SpaceRoleLabel | SpaceMember["role"], name?: string): Promise<SpaceMember> {
    return callEdge(this.options, "PUT", this.#path(`/members/${encodeURIComponent(user)}`), { role, ...(name ? { name } : {}) });
  }

  /** Remove a member (leads): their tokens are refused until a lead adds them again. */
  removeMember(user: string): Promise<{ removed: string }> {
    return callEdge(this.options, "DELETE", this.#path(`/members/${encodeURIComponent(user)}`));
  }

  /** Register a shared agent (contributors and leads), or change its name, description or model. */
  registerAgent(id: string, agent: { name: string; description?: string; model?: string }): Promise<SharedAgent> {
    return callEdge(this.options, "PUT", this.#path(`/agents/${encodeURIComponent(id)}`), agent);
  }

  /** Take a shared agent off the space's list. */
  removeAgent(id: string): Promise<{ removed: string }> {
    return callEdge(this.options, "DELETE", this.#path(`/agents/${encodeURIComponent(id)}`));
  }

  /**
   * Schedule an agent's next task: at `at` (ms since the epoch) the room posts `task` as
   * a message from you that mentions the agent, and again every `everyMinutes` (5 or more).
   */
  scheduleAgent(id: string, task: { room: string; task: string; at: number; everyMinutes?: number }): Promise<AgentSchedule> {
    return callEdge(this.options, "PUT", this.#path(`/agents/${encodeURIComponent(id)}/schedule`), task);
  }

  /** Cancel an agent's scheduled task. */
  unscheduleAgent(id: string): Promise<{ unscheduled: string }> {
    return callEdge(this.options, "DELETE", this.#path(`/agents/${encodeURIComponent(id)}/schedule`));
  }

  /** A page of the space's audit log (leads and contributors). */
  audit(page: { after?: number; limit?: number } = {}): Promise<{ entries: SpaceEvent[]; next: number | null }> {
    const query = new URLSearchParams();
    if (page.after !== undefined) query.set("after", String(page.after));
    if (page.limit !== undefined) query.set("limit", String(page.limit));
    const q = query.size ? `?${query}` : "";
    return callEdge(this.options, "GET", this.#path(`/audit${q}`));
  }

}
