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
 * It answers messages that mention it (`@Helper`), streaming the answer into the
 * conversation as a turn that everyone sees grow. A person's stop aborts the model's
 * HTTP request itself; a provider error ends the turn as `error` with its reason.
 *
 * @module
 */
import { streamText, type LanguageModel } from "ai";
import { ConfabError, toConfabError } from "./errors.js";
import { Room } from "./room.js";
import type { ContextEntry, MessageInfo, RoomOptions } from "../wasm/confab_wasm.js";

/** How to join. */
export interface AgentOptions {
  /** Base URL of the edge's rooms, e.g. `ws://127.0.0.1:8787/rooms`. */
  url: string;
  /** The room's name. */
  room: string;
  /** The agent's display name; messages that mention `@<name>` are addressed to it. */
  name: string;
  /** The model, from any AI SDK provider. */
  model: LanguageModel;
  /** Room token (the room's identity for the agent wins over `name`). */
  token?: string;
  /** Standing instructions, put first in every prompt. */
  instructions?: string;
  /** WebSocket constructor (Node 20 without `ws` installed). */
  WebSocket?: unknown;
}

/** The prompt's bounds, in characters. */
export const PROMPT_LIMITS = { messages: 40, messageChars: 12_000, contextChars: 4_000, documentChars: 8_000 } as const;

/** What the model is asked: the system text and the conversation so far. */
export interface Prompt {
  system: string;
  prompt: string;
}

/**
 * The prompt for answering in `conversation` of `room`, as `name`, bounded by
 * {@link PROMPT_LIMITS}:
 * - the system text: who the agent is and where, the standing instructions, the room's
 *   accepted shared context (newest first, up to `contextChars`), and the documents that
 *   context refers to (`doc:<id>`, up to `documentChars` in all);
 * - the prompt: the conversation's latest messages (up to `messages` of them and
 *   `messageChars`), each as `Author (kind): text`, oldest first.
 */
export function buildPrompt(room: Room, conversation: string, name: string, instructions?: string): Prompt {
  const lines: string[] = [
    `You are ${name}, an AI agent in a shared Confab room where people and other agents work together. Answer the latest message addressed to you, briefly and concretely.`,
  ];
  if (instructions?.trim()) lines.push(instructions.trim());
  const accepted = room.context.shared().filter((e: ContextEntry) => e.status === "accepted").reverse();
  let budget: number = PROMPT_LIMITS.contextChars;
  const context: string[] = [];
  const refs = new Set<string>();
  for (const e of accepted) {
    const line = `- (${e.kind}) ${e.text}`;
    if (line.length > budget) break;
    budget -= line.length;
    context.push(line);
    for (const r of e.refs) if (r.startsWith("doc:")) refs.add(r.slice(4));
  }
  if (context.length) lines.push(`The room's shared context:\n${context.join("\n")}`);
  budget = PROMPT_LIMITS.documentChars;
  for (const id of refs) {
    if (!room.docs.list().some((d) => d.id === id) || budget <= 0) continue;
    const text = room.docs.text(id).slice(0, budget);
    budget -= text.length;
    lines.push(`Document ${id}:\n${text}`);
  }
  const messages = room.chat.messages(conversation).filter((m: MessageInfo) => m.text.trim() !== "");
  const picked: string[] = [];
  budget = PROMPT_LIMITS.messageChars;
  for (const m of messages.slice(-PROMPT_LIMITS.messages).reverse()) {
    const line = `${m.author.name} (${m.author.kind}): ${m.text}`;
    if (line.length > budget) break;
    budget -= line.length;
    picked.unshift(line);
  }
  return { system: lines.join("\n\n"), prompt: picked.join("\n") };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** An agent in a room: it answers what is addressed to it. */
export class Agent {
  /** The agent's room client. */
  readonly room: Room;
  readonly #options: AgentOptions;
  readonly #seen = new Set<string>();
  readonly #running = new Map<string, AbortController>();
  readonly #mention: RegExp;
  #scanning = false;
  #left = false;

  private constructor(room: Room, options: AgentOptions) {
    this.room = room;
    this.#options = options;
    this.#mention = new RegExp(`(^|[^\\w@])@${escape(options.name)}(?![\\w-])`, "i");
    // What was said before it joined is history, not a question to it.
    for (const c of room.chat.conversations()) for (const m of room.chat.messages(c.id)) this.#seen.add(m.id);
    room.on("change", () => this.#onChange());
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
    room.presence.setActivity(null);
    return new Agent(room, options);
  }

  /** Answer in `conversation` now (what a mention does); resolves with the turn's id once it ended. */
  async answer(conversation: string): Promise<string> {
    const { system, prompt } = buildPrompt(this.room, conversation, this.#options.name, this.#options.instructions);
    const turn = this.room.chat.openTurn(conversation);
    const abort = new AbortController();
    this.#running.set(turn, abort);
    this.room.presence.setActivity(`answering in ${conversation}`);
    try {
      // Errors arrive in the stream (and end the turn as `error`), not on the console.
      const result = streamText({ model: this.#options.model, system, prompt, abortSignal: abort.signal, onError: () => {} });
      for await (const part of result.fullStream) {
        if (part.type === "text-delta") {
          try {
            this.room.chat.appendTurn(turn, part.text);
          } catch (err) {
            // Stopped by someone: stop paying for tokens nobody will see.
            abort.abort();
            throw err;
          }
        } else if (part.type === "error") {
          throw part.error;
        }
      }
      this.room.chat.finishTurn(turn);
    } catch (err) {
      if (this.room.chat.turnStatus(turn) === "streaming" || this.room.chat.turnStatus(turn) === "pending") {
        const reason = err instanceof Error ? err.message : String(err);
        this.room.chat.failTurn(turn, `the model failed: ${reason}`);
      }
    } finally {
      this.#running.delete(turn);
      if (this.#running.size === 0) this.room.presence.setActivity(null);
    }
    await this.room.whenSaved().catch(() => {});
    return turn;
  }

  /** Leave the room, aborting what is being written. */
  leave(): void {
    this.#left = true;
    for (const abort of this.#running.values()) abort.abort();
    this.room.destroy();
  }

  #onChange(): void {
    // A stop requested by someone aborts the model request itself.
    for (const [turn, abort] of this.#running) {
      const status = this.room.chat.turnStatus(turn);
      if (status !== "streaming" && status !== "pending") abort.abort();
    }
    // Looking for mentions reads every message: once per burst of changes (a streamed
    // turn changes the room many times a second), not once per change.
    if (this.#scanning) return;
    this.#scanning = true;
    setTimeout(() => {
      this.#scanning = false;
      if (!this.#left) this.#scanMentions();
    }, 50);
  }

  #scanMentions(): void {
    for (const c of this.room.chat.conversations()) {
      for (const m of this.room.chat.messages(c.id)) {
        if (this.#seen.has(m.id)) continue;
        this.#seen.add(m.id);
        // Agents do not answer agents: several in one room never talk in loops.
        if (m.author.kind === "agent" || !this.#mention.test(m.text)) continue;
        void this.answer(c.id).catch((err: unknown) => {
          const e = toConfabError(err);
          if (!(e instanceof ConfabError && e.code === "destroyed")) console.error(`confab agent: ${e.message} (${e.code})`);
        });
      }
    }
  }
}
