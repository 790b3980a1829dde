/**
 * An AI agent as a room participant, on any model the Vercel AI SDK can drive (the
 * package's `./agent` subpath; needs the `ai` package, an optional peer):
 *
 * ```js
 * import { Agent } from "confab-rooms/agent";
 * import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
 * const model = createOpenAICompatible({ name: "local", baseURL: "http://127.0.0.1:11434/v1" }).chatModel("llama3");
 * const agent = await Agent.join({ url: "ws://127.0.0.1:8787/rooms", room: "demo", name: "Helper", model });
 * ```
 *
 * What it answers, and only that (so several agents in one room never answer each other
 * in loops):
 * - messages from people that mention it (`@Helper`), streaming the answer into that
 *   conversation as a turn;
 * - questions in the shared context (`room.context.ask`) that mention it, answered there;
 * - handoffs to it (`agent.handoff(...)` by another agent, or a person's), picked up in
 *   the conversation the packet names.
 *
 * The model may call the room's tools ({@link ROOM_TOOLS}). A document write always goes
 * through a lease on `doc:<id>` and a based write from what the agent read, so an edit a
 * person made meanwhile is never overwritten. A person's stop aborts the model's HTTP
 * request itself; a provider error ends the turn as `error` with its reason. Activities
 * (task assigned and completed, agent started and completed, message sent, memory read
 * and written) are recorded in the room's feed, and while it works its status (current
 * and last activity, collaborations) is in its presence every {@link STATUS_EVERY_MS}.
 *
 * @module
 */
import { isStepCount, jsonSchema, streamText, tool, type LanguageModel, type ToolSet } from "ai";
import type { ActivityKind, Conflict, ContextEvent, MergeSummary, MessageInfo, RoomOptions } from "../wasm/confab_wasm.js";
import { buildPrompt, contextFor, PROMPT_LIMITS } from "./agent-prompt.js";
import { ConfabError, toConfabError } from "./errors.js";
import { isOfflineModel, OFFLINE_LABEL, offlineModel } from "./offline-model.js";
import { Room } from "./room.js";
import { ROOM_TOOLS, ToolSession } from "./tools.js";

export { buildPrompt, contextFor, PROMPT_LIMITS, type Prompt } from "./agent-prompt.js";
export { OFFLINE_LABEL, OFFLINE_MODEL_ID, offlineAnswer, offlineModel } from "./offline-model.js";

/** How often a working agent's status goes out in its presence. */
export const STATUS_EVERY_MS = 2_000;
/** How long the leases an agent takes for its writes last (renewed as it writes). */
export const LEASE_TTL_MS = 120_000;

/** How to join. */
export interface AgentOptions {
  /** Base URL of the edge's rooms, e.g. `ws://127.0.0.1:8787/rooms`. */
  url: string;
  /** The room's name. */
  room: string;
  /** The agent's display name; messages that mention `@<name>` are addressed to it. */
  name: string;
  /** The model, from any AI SDK provider; the offline model ({@link offlineModel}) when left out. */
  model?: LanguageModel;
  /** Room token (the room's identity for the agent wins over `name`). */
  token?: string;
  /** Standing instructions, put first in every prompt. */
  instructions?: string;
  /** WebSocket constructor (Node 20 without `ws` installed). */
  WebSocket?: unknown;
  /** Where to say what it does, one line at a time (the CLI logs to stdout). */
  log?: (line: string) => void;
  /** At most this many model steps (tool calls and their answers) per answer; 8 by default. */
  maxSteps?: number;
}

/** An agent's status, as its presence carries it under `agent`. */
export interface AgentStatus {
  /** Working on something, or waiting to be asked. */
  state: "working" | "idle";
  /** What it is doing now. */
  activity: string | null;
  /** What it did last. */
  lastActivity: string | null;
  /** Active collaborations it takes part in. */
  collaborations: number;
  /** The model's id. */
  model: string;
  /** True for the offline model, which extracts rather than generates. */
  offline: boolean;
  /** When this status was sent (ms since the Unix epoch). */
  at: number;
}

/** What a handoff passes on. */
export interface HandoffPacket {
  /** Who hands over (user id and name). */
  from: { id: string; name: string };
  /** To whom (user id). */
  to: string;
  /** The note. */
  note: string;
  /** Where the work is. */
  conversation: string;
  /** Where things stand: the model's summary, or the room's deterministic one offline. */
  summary: string;
  /** Questions without an answer. */
  openQuestions: string[];
  /** Shared-context entries relevant to the note. */
  context: { id: string; kind: string; text: string }[];
  /** Documents those entries and the agent's work refer to. */
  documents: string[];
  /** The leases the agent released for the next one to take. */
  leases: string[];
}

/** The handoff packet as the text everyone reads (and the receiving agent parses). */
export function handoffText(p: HandoffPacket): string {
  const list = (items: string[]) => (items.length ? items.map((i) => `- ${i}`).join("\n") : "- none");
  return [
    p.note,
    `Summary:\n${p.summary}`,
    `Open questions:\n${list(p.openQuestions)}`,
    `Context:\n${list(p.context.map((c) => `(${c.kind}) ${c.text}`))}`,
    `Documents: ${p.documents.join(", ") || "none"}`,
    `Leases released: ${p.leases.join(", ") || "none"}`,
    `Conversation: ${p.conversation}`,
  ].join("\n\n");
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** What the agent was asked to do. */
interface Task {
  conversation: string;
  /** One line for the feed and the log. */
  summary: string;
  /** Extra text for the prompt (a handoff packet). */
  prompt?: string;
}

/** An agent in a room: it answers what is addressed to it. */
export class Agent {
  /** The agent's room client. */
  readonly room: Room;
  /** The agent's user id in the room. */
  readonly id: string;
  readonly #options: AgentOptions;
  readonly #model: LanguageModel;
  readonly #seen = new Set<string>();
  readonly #running = new Map<string, AbortController>();
  /** Leases it holds: resource → fence. */
  readonly #leases = new Map<string, { fence: number; until: number }>();
  /** Lease requests on their way: `leave()` waits for them, so none is left behind. */
  readonly #taking = new Set<Promise<unknown>>();
  /** Documents it read or wrote since its last handoff. */
  readonly #touched = new Set<string>();
  readonly #mention: RegExp;
  readonly #status: AgentStatus;
  #statusTimer: ReturnType<typeof setInterval> | undefined;
  #scanning = false;
  #rescan = false;
  #left = false;

  private constructor(room: Room, options: AgentOptions, id: string) {
    this.room = room;
    this.id = id;
    this.#options = options;
    this.#model = options.model ?? offlineModel();
    const offline = isOfflineModel(this.#model);
    const modelId = typeof this.#model === "string" ? this.#model : this.#model.modelId;
    this.#status = { state: "idle", activity: null, lastActivity: null, collaborations: 0, model: modelId, offline, at: Date.now() };
    this.#mention = new RegExp(`(^|[^\\w@])@${escape(options.name)}(?![\\w-])`, "i");
    // What was said before it joined is history, not a question to it.
    for (const c of room.chat.conversations()) for (const m of room.chat.messages(c.id)) this.#seen.add(m.id);
    for (const e of room.context.events()) this.#seen.add(e.id);
    room.on("change", () => this.#onChange());
    // Someone asked an agent to settle a conflict: one agent proposes a merge.
    room.on("conflict", (n) => {
      if (n.kind === "awaiting-agent" && n.needsInput && !this.#left) {
        void this.proposeMerge(n.conflict.id).catch((err: unknown) => this.#log(`could not propose a merge: ${toConfabError(err).message}`));
      }
    });
    this.#sendStatus();
  }

  /** Join `options.room` as an agent and start answering. */
  static async join(options: AgentOptions): Promise<Agent> {
    const slug = options.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "agent";
    const roomOptions: RoomOptions = {
      url: options.url,
      room: options.room,
      user: { id: `agent-${slug}`, name: options.name, kind: "agent" },
      ...(options.token ? { token: options.token } : {}),
      ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
    };
    const room = await Room.open(roomOptions);
    await room.whenSynced();
    const self = room.presence.list().find((p) => p.isSelf);
    return new Agent(room, options, self?.user.id ?? roomOptions.user.id);
  }

  /** Its status now (what its presence carries). */
  get status(): AgentStatus {
    return { ...this.#status };
  }

  /** The resources it holds leases on now. */
  get leases(): string[] {
    return [...this.#leases.keys()];
  }

  /** Answer in `conversation` now (what a mention does); resolves with the turn's id once it ended. */
  async answer(conversation: string): Promise<string> {
    const last = this.room.chat.messages(conversation).at(-1);
    return this.#work({ conversation, summary: last ? `${last.author.name} asked in ${conversation}` : `answer in ${conversation}` });
  }

  /**
   * Hand the work over to `to` (a user id, or the name of someone present) with a note:
   * the packet holds a summary (the model's, or the room's deterministic one when the
   * model fails or is the offline one), the open questions, the relevant shared context,
   * the documents, and the leases this agent releases now. The receiver sees it in the
   * room's context; an agent picks it up.
   */
  async handoff(to: string, note: string, options: { conversation?: string } = {}): Promise<HandoffPacket> {
    const target = this.#resolveParticipant(to);
    const conversation = options.conversation ?? this.room.chat.conversations()[0]?.id ?? "main";
    this.#setActivity(`handing over to ${target}`);
    const summary = await this.summarize("handoff");
    const context = contextFor(this.room, note).slice(0, 8);
    const documents = new Set(this.#touched);
    for (const e of context) for (const r of e.refs) if (r.startsWith("doc:")) documents.add(r.slice(4));
    const leases = await this.releaseLeases();
    const packet: HandoffPacket = {
      from: { id: this.id, name: this.#options.name },
      to: target,
      note,
      conversation,
      summary,
      openQuestions: this.room.context.handoffSummary().openQuestions,
      context: context.map((e) => ({ id: e.id, kind: e.kind, text: e.text })),
      documents: [...documents],
      leases,
    };
    this.room.context.handoff(target, handoffText(packet));
    this.#touched.clear();
    await this.room.whenSaved();
    await this.#record("task_completed", `handed over to ${target}`, { handoff: packet });
    this.#setActivity(null);
    this.#log(`handed over to ${target}: ${note}`);
    return packet;
  }

  /**
   * A summary written by the model: `"handoff"` (where things stand, for whoever picks
   * the work up) or `"day"` (the day's work). The room's deterministic summary is the
   * fallback: with the offline model, and when the model fails.
   */
  async summarize(kind: "handoff" | "day" = "handoff"): Promise<string> {
    const fallback = this.room.context.handoffMarkdown();
    if (this.#status.offline) return fallback;
    const ask =
      kind === "day"
        ? "Write an end-of-day summary of this room's work: what was decided, what changed, what is open. At most 8 bullet points."
        : "Write a handoff summary for whoever picks this work up next: where it stands, what is decided, what is open. At most 6 bullet points.";
    const text = await this.#complete(`${ask}\n\nThe room's own record:\n${fallback}`);
    return text?.trim() || fallback;
  }

  /**
   * Propose a merge for conflict `id`, held for a person to accept or reject: the model
   * reads both sides and writes the merged text with a one-paragraph rationale (the
   * offline model keeps both sides, and says so). When several agents are asked, the
   * one that takes the lease on `conflict:<id>` answers, and keeps the lease until it
   * lapses so that no other agent answers the same request; resolves with false for the
   * others.
   */
  async proposeMerge(id: string): Promise<boolean> {
    const conflict = this.room.conflicts.list().find((c) => c.id === id);
    if (!conflict || conflict.status === "resolved" || conflict.status === "proposed") return false;
    let fence: number;
    try {
      ({ lease: { fence } } = await this.room.locks.acquire(`conflict:${id}`, 60_000));
    } catch (err) {
      if (toConfabError(err).code === "lock_held") return false;
      throw err;
    }
    this.#setActivity("proposing a merge for a conflict");
    const started = this.#start("agent_started", "proposing a merge for a conflict", { conflict: id });
    try {
      const { text, rationale } = await this.#merge(conflict);
      this.room.conflicts.propose(id, text, rationale);
      await this.room.whenSaved();
      void this.#finish(await started, "proposed");
      void this.#record("task_completed", `proposed a merge for conflict ${id}`, { conflict: id });
      this.#log(`proposed a merge for conflict ${id}`);
      return true;
    } catch (err) {
      void this.#finish(await started, toConfabError(err).message, true);
      // Failed: another agent may try.
      await this.room.locks.release(`conflict:${id}`, fence).catch(() => {});
      throw err;
    } finally {
      this.#setActivity(null);
    }
  }

  /**
   * Suggest `text` as document `doc`'s whole new text, with a note: held for review (the
   * reviewer sees the difference, and accepts or rejects it). Resolves with its id.
   */
  async suggest(doc: string, text: string, note: string): Promise<string> {
    const id = this.room.docs.suggest(doc, text, note);
    await this.room.whenSaved();
    this.#touched.add(doc);
    void this.#record("memory_write", `suggested a change to ${doc}: ${note.slice(0, 80)}`, { suggestion: id });
    return id;
  }

  /** Raise an insight (a finding, a risk): the people in the room see it as a notice. */
  async raiseInsight(text: string): Promise<string> {
    const id = this.room.context.raiseInsight(text);
    await this.room.whenSaved();
    void this.#record("message_sent", `raised an insight: ${text.slice(0, 80)}`, { insight: id });
    return id;
  }

  /**
   * A summary of branch `branch` to merge it back with (`room.chat.merge`): written by
   * the model, or, with the offline model or when the model fails, the room's own words:
   * who said what, the last messages, and the branch's title.
   */
  async summarizeBranch(branch: string): Promise<MergeSummary> {
    const messages = this.room.chat.messages(branch).filter((m) => m.text.trim() && !m.text.startsWith("[offline model]"));
    const people = [...new Set(messages.map((m) => m.author.name))];
    const title = this.room.chat.conversations().find((c) => c.id === branch)?.title ?? branch;
    const fallback: MergeSummary = {
      summary: `${title}: ${messages.length} message${messages.length === 1 ? "" : "s"} from ${people.join(", ") || "nobody"}.`,
      keyFindings: messages.slice(-3).map((m) => `${m.author.name}: ${m.text.slice(0, 160)}`),
    };
    if (this.#status.offline) return fallback;
    const transcript = messages.map((m) => `${m.author.name} (${m.author.kind}): ${m.text}`).join("\n").slice(-PROMPT_LIMITS.messageChars);
    const text = await this.#complete(
      `Summarise this branch of the conversation ("${title}") for merging it back. Answer in exactly this form:\nSUMMARY: <one paragraph>\nFINDINGS:\n- <finding>\nRECOMMENDATIONS:\n- <recommendation>\n\n${transcript}`,
    );
    if (!text) return fallback;
    const section = (name: string) => {
      const m = new RegExp(`${name}:\\s*\\n?([\\s\\S]*?)(?=\\n[A-Z]+:|$)`).exec(text);
      return (m?.[1] ?? "").split("\n").map((l) => l.replace(/^-\s*/, "").trim()).filter(Boolean);
    };
    const summary = section("SUMMARY").join(" ") || text.trim();
    return { summary, keyFindings: section("FINDINGS"), recommendations: section("RECOMMENDATIONS") };
  }

  /** Give back every lease it holds; resolves with their resources. */
  async releaseLeases(): Promise<string[]> {
    const released: string[] = [];
    for (const [resource, { fence }] of [...this.#leases]) {
      this.#leases.delete(resource);
      try {
        await this.room.locks.release(resource, fence);
        released.push(resource);
      } catch (err) {
        this.#log(`could not release ${resource}: ${toConfabError(err).message}`);
      }
    }
    return released;
  }

  /** Leave the room: abort what is being written, release its leases, disconnect. */
  async leave(): Promise<void> {
    if (this.#left) return;
    this.#left = true;
    clearInterval(this.#statusTimer);
    for (const abort of this.#running.values()) abort.abort();
    // A lease the room granted whose answer is still on its way is released too.
    await Promise.allSettled([...this.#taking]);
    await this.releaseLeases().catch(() => []);
    this.room.destroy();
  }

  // --- Answering ---------------------------------------------------------------------

  async #work(task: Task): Promise<string> {
    const { system, prompt } = buildPrompt(this.room, task.conversation, this.#options.name, this.#options.instructions, task.prompt);
    const turn = this.room.chat.openTurn(task.conversation);
    const abort = new AbortController();
    this.#running.set(turn, abort);
    this.#log(`task: ${task.summary}`);
    void this.#record("task_assigned", task.summary, { conversation: task.conversation, turn });
    const started = this.#start("agent_started", `answering in ${task.conversation}`, { turn });
    if (system.includes("The room's shared context:")) void this.#record("memory_read", "read the room's shared context", { turn });
    this.#setActivity(`answering in ${task.conversation}`);
    const session = new ToolSession();
    let failed: string | undefined;
    try {
      const result = streamText({
        model: this.#model,
        system,
        prompt,
        tools: this.#tools(session),
        stopWhen: isStepCount(this.#options.maxSteps ?? 8),
        abortSignal: abort.signal,
        // Errors arrive in the stream (and end the turn as `error`), not on the console.
        onError: () => {},
      });
      for await (const part of result.fullStream) {
        if (part.type === "text-delta") {
          try {
            this.room.chat.appendTurn(turn, part.text);
          } catch (err) {
            // Stopped by someone: stop paying for tokens nobody will see.
            abort.abort();
            throw err;
          }
        } else if (part.type === "tool-call") {
          this.#setActivity(`running tool ${part.toolName}`);
          this.#log(`tool ${part.toolName} ${JSON.stringify(part.input)}`);
        } else if (part.type === "tool-error") {
          this.#log(`tool ${part.toolName} refused: ${part.error instanceof Error ? part.error.message : String(part.error)}`);
        } else if (part.type === "error") {
          throw part.error;
        }
      }
      this.room.chat.finishTurn(turn);
    } catch (err) {
      failed = err instanceof Error ? err.message : String(err);
      const status = this.room.chat.turnStatus(turn);
      if (status === "streaming" || status === "pending") this.room.chat.failTurn(turn, `the model failed: ${failed}`);
      this.#log(`turn ${turn} ended: ${status === "stopped" ? "stopped by someone" : failed}`);
    } finally {
      this.#running.delete(turn);
      await this.releaseLeases();
    }
    await this.room.whenSaved().catch(() => {});
    const outcome = this.room.chat.turnStatus(turn);
    void this.#finish(await started, outcome === "done" ? "answered" : outcome, outcome !== "done");
    if (outcome === "done") {
      void this.#record("message_sent", `answered in ${task.conversation}`, { turn });
      void this.#record("task_completed", task.summary, { turn });
    }
    void this.#record("agent_completed", `${outcome === "done" ? "answered" : outcome} in ${task.conversation}`, { turn });
    if (this.#running.size === 0) this.#setActivity(null);
    return turn;
  }

  /** A whole answer from the model to one prompt, without tools; undefined when it fails. */
  async #complete(prompt: string): Promise<string | undefined> {
    try {
      const result = streamText({ model: this.#model, system: buildPrompt(this.room, "", this.#options.name, this.#options.instructions).system, prompt, onError: () => {} });
      let text = "";
      for await (const part of result.fullStream) {
        if (part.type === "text-delta") text += part.text;
        else if (part.type === "error") throw part.error;
      }
      return text;
    } catch (err) {
      this.#log(`the model failed: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  /** The merged text and rationale for a conflict: the model's, or both sides offline. */
  async #merge(c: Conflict): Promise<{ text: string; rationale: string }> {
    const sides = c.sides.map((s, i) => `Side ${i + 1} (${s.author?.name ?? "someone"}) wrote «${s.inserted}»${s.deleted ? ` replacing «${s.deleted}»` : ""}.`);
    if (!this.#status.offline) {
      const answer = await this.#complete(
        [
          `Two changes collided in ${c.doc ? `document ${c.doc}` : `field ${c.field}`}. They started from «${c.before}».`,
          ...sides,
          `The text there now reads «${c.current}».`,
          "Propose one merged text for that stretch that keeps what each side meant, and say why in one paragraph. Answer in exactly this form:\nMERGED: <the merged text>\nRATIONALE: <one paragraph>",
        ].join("\n"),
      );
      const merged = answer && /MERGED:\s*([\s\S]*?)\s*\nRATIONALE:\s*([\s\S]*)$/.exec(answer.trim());
      if (merged?.[1] && merged[2]) return { text: merged[1].trim(), rationale: merged[2].trim() };
    }
    // Offline (or an answer out of form): both sides, side by side.
    const [x = "", y = ""] = c.sides.map((s) => s.inserted);
    let text = `${x} / ${y}`;
    if (c.kind === "text") {
      const glued = [x + y, y + x].find((g) => g && c.current.includes(g));
      text = glued ? c.current.replace(glued, `${x} / ${y}`) : `${c.current}`;
    }
    return {
      text,
      rationale: `${OFFLINE_LABEL} Both versions are kept side by side, so nothing either side wrote is lost: pick one, or edit the merge before accepting it.`,
    };
  }

  /** The room's tools for the model, with writes always leased and based. */
  #tools(session: ToolSession): ToolSet {
    const tools: ToolSet = {};
    for (const t of ROOM_TOOLS) {
      tools[t.name] = tool({
        description: t.description,
        inputSchema: jsonSchema<Record<string, unknown>>(t.inputSchema as Parameters<typeof jsonSchema>[0]),
        execute: async (input: Record<string, unknown>) => {
          const args = { ...input };
          if (t.name === "handoff") {
            const packet = await this.handoff(String(args.to), String(args.note));
            return { handoff: packet.to, leasesReleased: packet.leases };
          }
          if (t.name === "raise_insight" && typeof args.text === "string") return { insight: await this.raiseInsight(args.text) };
          if ((t.name === "write_document" || t.name === "edit_document") && typeof args.id === "string") {
            args.fence ??= await this.#lease(args.id);
            if (args.base === undefined) {
              args.base = session.latest.get(args.id) ?? ((await ROOM_TOOLS.find((r) => r.name === "read_document")!.run(this.room, { id: args.id }, session)) as { base: string }).base;
            }
          }
          if (t.name === "read_document" && typeof args.id === "string") this.#touched.add(args.id);
          // Leases the model takes itself are the agent's too: used for its writes,
          // released with the rest.
          const result =
            t.name === "acquire_lock"
              ? await this.#tracked(
                  t.run(this.room, args, session).then((r) => {
                    const lease = r as { resource: string; fence: number; expiresAt: number };
                    this.#leases.set(lease.resource, { fence: lease.fence, until: lease.expiresAt });
                    return r;
                  }),
                )
              : await t.run(this.room, args, session);
          if (t.name === "write_document" || t.name === "edit_document") this.#touched.add(String(args.id));
          if (t.name === "release_lock") this.#leases.delete(String(args.resource));
          if (t.name === "propose_context") void this.#record("memory_write", `proposed shared context: ${String(args.text).slice(0, 80)}`);
          if (t.name === "post_message") void this.#record("message_sent", `posted in ${String(args.conversation)}`);
          return result;
        },
      });
    }
    return tools;
  }

  /** Its lease on `doc:<id>` (taken, or renewed when it would lapse within a third of its time). */
  async #lease(id: string): Promise<number> {
    const resource = `doc:${id}`;
    const held = this.#leases.get(resource);
    const now = Date.now();
    if (held && held.until - now > LEASE_TTL_MS / 3) return held.fence;
    const taking = (held ? this.room.locks.renew(resource, held.fence, LEASE_TTL_MS) : this.room.locks.acquire(resource, LEASE_TTL_MS)).then(({ lease }) => {
      this.#leases.set(resource, { fence: lease.fence, until: now + LEASE_TTL_MS });
      return lease;
    });
    const lease = await this.#tracked(taking);
    this.#log(`lease ${resource} (fence ${lease.fence})`);
    return lease.fence;
  }

  /** `request`, kept among the lease requests on their way until it settles. */
  #tracked<T>(request: Promise<T>): Promise<T> {
    this.#taking.add(request);
    request.then(
      () => this.#taking.delete(request),
      () => this.#taking.delete(request),
    );
    return request;
  }

  // --- Status and the feed -------------------------------------------------------------

  #log(line: string): void {
    this.#options.log?.(line);
  }

  #setActivity(activity: string | null): void {
    if (this.#left) return;
    if (this.#status.activity && activity !== this.#status.activity) this.#status.lastActivity = this.#status.activity;
    this.#status.activity = activity;
    this.#status.state = this.#running.size > 0 || activity ? "working" : "idle";
    this.room.presence.setActivity(activity);
    this.#sendStatus();
    // While it works, its status goes out every couple of seconds (with a fresh count of
    // collaborations); idle, only when it changes.
    if (this.#status.state === "working" && !this.#statusTimer) {
      this.#statusTimer = setInterval(() => void this.#refreshStatus(), STATUS_EVERY_MS);
    } else if (this.#status.state === "idle" && this.#statusTimer) {
      clearInterval(this.#statusTimer);
      this.#statusTimer = undefined;
    }
  }

  async #refreshStatus(): Promise<void> {
    try {
      const { collaborations } = await this.room.request("collaboration.list");
      this.#status.collaborations = collaborations.filter((c) => c.status === "active" && c.participants.includes(this.id)).length;
    } catch {
      // The count stays as it was; the status still goes out.
    }
    this.#sendStatus();
  }

  #sendStatus(): void {
    if (this.#left) return;
    this.#status.at = Date.now();
    this.room.presence.set({ agent: { ...this.#status } });
  }

  async #start(kind: ActivityKind, summary: string, detail?: unknown): Promise<string | undefined> {
    try {
      const { activity } = await this.room.request("activity.record", { kind, summary, ...(detail === undefined ? {} : { detail }) });
      return activity.id;
    } catch (err) {
      this.#log(`could not record ${kind}: ${toConfabError(err).message}`);
      return undefined;
    }
  }

  async #finish(id: string | undefined, result: string, failed = false): Promise<void> {
    if (!id) return;
    await this.room.request("activity.complete", { id, result, ...(failed ? { failed } : {}) }).catch(() => {});
  }

  /** Record an activity that is done as soon as it is recorded. */
  async #record(kind: ActivityKind, summary: string, detail?: unknown): Promise<void> {
    await this.#finish(await this.#start(kind, summary, detail), "done");
  }

  // --- What is addressed to it ------------------------------------------------------

  #resolveParticipant(to: string): string {
    const present = this.room.presence.list();
    const named = present.find((p) => p.user.id === to) ?? present.find((p) => p.user.name.toLowerCase() === to.replace(/^@/, "").toLowerCase());
    return named?.user.id ?? to;
  }

  #onChange(): void {
    // A stop requested by someone aborts the model request itself.
    for (const [turn, abort] of this.#running) {
      const status = this.room.chat.turnStatus(turn);
      if (status !== "streaming" && status !== "pending") abort.abort();
    }
    // Looking for what is addressed to it reads every message: at once when the room was
    // quiet (a mention is answered without delay), then at most once per 50 ms while
    // changes keep coming (a streamed turn changes the room many times a second).
    if (this.#scanning) {
      this.#rescan = true;
      return;
    }
    this.#scanning = true;
    queueMicrotask(() => {
      if (!this.#left) this.#scan();
      const again = () => {
        if (this.#rescan && !this.#left) {
          this.#rescan = false;
          this.#scan();
          setTimeout(again, 50);
        } else {
          this.#scanning = false;
        }
      };
      setTimeout(again, 50);
    });
  }

  #scan(): void {
    const report = (err: unknown) => {
      const e = toConfabError(err);
      if (!(e instanceof ConfabError && e.code === "destroyed")) this.#log(`error: ${e.message} (${e.code})`);
    };
    for (const c of this.room.chat.conversations()) {
      for (const m of this.room.chat.messages(c.id)) {
        if (this.#seen.has(m.id)) continue;
        this.#seen.add(m.id);
        if (this.#addressed(m)) void this.#work({ conversation: c.id, summary: `${m.author.name} asked in ${c.id}: ${m.text.slice(0, 80)}` }).catch(report);
      }
    }
    for (const e of this.room.context.events()) {
      if (this.#seen.has(e.id)) continue;
      this.#seen.add(e.id);
      if (e.kind === "handoff" && e.to === this.id && e.author.id !== this.id) void this.#pickUp(e).catch(report);
      if (e.kind === "question" && e.answer === null && e.author.kind !== "agent" && this.#mention.test(e.text)) void this.#answerQuestion(e).catch(report);
    }
  }

  /** A message is addressed to it when a person mentions it. Agents do not answer agents. */
  #addressed(m: MessageInfo): boolean {
    return m.author.kind !== "agent" && this.#mention.test(m.text);
  }

  async #pickUp(e: ContextEvent): Promise<void> {
    const conversation = /^Conversation: (.+)$/m.exec(e.text)?.[1]?.trim();
    const known = this.room.chat.conversations().find((c) => c.id === conversation) ?? this.room.chat.conversations()[0];
    if (!known) return;
    this.#log(`picked up a handoff from ${e.author.name}`);
    await this.#work({
      conversation: known.id,
      summary: `handoff from ${e.author.name}`,
      prompt: `${e.author.name} handed this work to you (${this.#options.name}). Pick it up: say what you take on and do it.\n\n${e.text}`,
    });
  }

  async #answerQuestion(e: ContextEvent): Promise<void> {
    this.#setActivity("answering a question");
    const started = this.#start("agent_started", `answering ${e.author.name}'s question`, { question: e.id });
    void this.#record("task_assigned", `${e.author.name} asked: ${e.text.slice(0, 80)}`, { question: e.id });
    const answer = (await this.#complete(`${e.author.name} (person): ${e.text}`))?.trim();
    if (answer) {
      this.room.context.answer(e.id, answer);
      await this.room.whenSaved().catch(() => {});
      void this.#record("task_completed", `answered ${e.author.name}'s question`, { question: e.id });
    }
    void this.#finish(await started, answer ? "answered" : "the model failed", !answer);
    this.#setActivity(null);
  }
}

