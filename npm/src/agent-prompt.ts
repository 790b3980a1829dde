/**
 * What an agent's model is asked, built from the room (see {@link buildPrompt}).
 *
 * @module
 */
import type { ContextEntry, MessageInfo } from "../wasm/confab_wasm.js";
import type { Room } from "./room.js";

/** The prompt's bounds, in characters (and messages). */
export const PROMPT_LIMITS = { messages: 40, messageChars: 12_000, contextChars: 4_000, documentChars: 8_000, taskChars: 4_000 } as const;

/** What the model is asked: the system text and the conversation so far. */
export interface Prompt {
  system: string;
  prompt: string;
}

const STOP = new Set(
  "the and for are but not you your with this that have has had was were will would can could should what when where which who whom why how does did do about into from our out all any its it's them they their there then than also just some more most much very been being over under only here".split(
    " ",
  ),
);

/** The words of `text` that carry meaning, once each: lower case, three letters or more, no stop words. */
export function keywords(text: string): string[] {
  return [...new Set((text.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? []).filter((w) => !STOP.has(w)))];
}

/**
 * The accepted shared context for a question (stale entries too), most relevant first: entries whose tags or
 * refs match the question's words or the documents it names (the room's own relevance
 * ranking), then the other accepted entries, newest first.
 */
export function contextFor(room: Room, question: string): ContextEntry[] {
  const words = keywords(question);
  const refs = room.docs
    .list()
    .filter((d) => words.includes(d.id.toLowerCase()) || question.toLowerCase().includes(d.title.toLowerCase()))
    .map((d) => `doc:${d.id}`);
  // Accepted entries, and those gone stale since (a document they refer to changed):
  // still the team's word, marked as possibly out of date.
  const accepted = room.context.shared().filter((e: ContextEntry) => e.status === "accepted" || e.status === "stale");
  const ids = new Set(accepted.map((e) => e.id));
  const relevant = room.context.relevant(words, refs).filter((e) => ids.has(e.id));
  const picked = new Set(relevant.map((e) => e.id));
  return [...relevant, ...accepted.reverse().filter((e) => !picked.has(e.id))];
}

/**
 * The prompt for answering in `conversation` of `room`, as `name`, bounded by
 * {@link PROMPT_LIMITS}:
 * - the system text: who the agent is and where, the standing instructions, the room's
 *   accepted shared context relevant to the question first (up to `contextChars`), the
 *   documents that context refers to (`doc:<id>`), then the other documents that share
 *   words with the question (up to `documentChars` in all);
 * - the prompt: the conversation's latest messages (up to `messages` of them and
 *   `messageChars`), each as `Author (kind): text`, oldest first; then `task` (a handoff
 *   packet, a question from the context), when there is one.
 */
export function buildPrompt(room: Room, conversation: string, name: string, instructions?: string, task?: string): Prompt {
  const lines: string[] = [
    `You are ${name}, an AI agent in a shared Confab room where people and other agents work together. Answer the latest message addressed to you, briefly and concretely. You can use the room's tools to read and change its documents.`,
  ];
  if (instructions?.trim()) lines.push(instructions.trim());
  const known = room.chat.conversations().some((c) => c.id === conversation);
  const messages = known ? room.chat.messages(conversation).filter((m: MessageInfo) => m.text.trim() !== "") : [];
  const question = task ?? messages.at(-1)?.text ?? "";
  let budget: number = PROMPT_LIMITS.contextChars;
  const context: string[] = [];
  const refs = new Set<string>();
  for (const e of contextFor(room, question)) {
    const line = `- (${e.kind}${e.status === "stale" ? ", may be out of date" : ""}) ${e.text}`;
    if (line.length > budget) break;
    budget -= line.length;
    context.push(line);
    for (const r of e.refs) if (r.startsWith("doc:")) refs.add(r.slice(4));
  }
  if (context.length) lines.push(`The room's shared context:\n${context.join("\n")}`);
  // The documents that context refers to, then the others that share words with the
  // question, most shared first.
  const asked = new Set(keywords(question));
  const others = room.docs
    .list()
    .filter((d) => !refs.has(d.id))
    .map((d) => ({ id: d.id, score: keywords(`${d.title} ${room.docs.text(d.id)}`).filter((w) => asked.has(w)).length }))
    .filter((d) => d.score > 0)
    .sort((a, b) => b.score - a.score);
  budget = PROMPT_LIMITS.documentChars;
  for (const id of [...refs, ...others.map((d) => d.id)]) {
    if (!room.docs.list().some((d) => d.id === id) || budget <= 0) continue;
    const text = room.docs.text(id).slice(0, budget);
    budget -= text.length;
    lines.push(`Document ${id}:\n${text}`);
  }
  const picked: string[] = [];
  budget = PROMPT_LIMITS.messageChars;
  for (const m of messages.slice(-PROMPT_LIMITS.messages).reverse()) {
    const line = `${m.author.name} (${m.author.kind}): ${m.text}`;
    if (line.length > budget) break;
    budget -= line.length;
    picked.unshift(line);
  }
  if (task) picked.push(task.slice(0, PROMPT_LIMITS.taskChars));
  return { system: lines.join("\n\n"), prompt: picked.join("\n") };
}
