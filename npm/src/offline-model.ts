/**
 * The offline model that ships with Confab: small, deterministic and extractive. It
 * needs no endpoint and no key, so an agent (and the demo) works without a network.
 *
 * It does not generate: it answers with the sentences of its prompt (the room's shared
 * context, the documents that context names, the conversation) that share the most
 * words with the question, and says so. Every answer starts with
 * {@link OFFLINE_LABEL}, so nobody mistakes it for a language model's. It calls no
 * tools. It is an AI SDK language model (specification v4), so it runs through the
 * same `streamText` path as any provider, stop included.
 *
 * @module
 */
import type { LanguageModel } from "ai";
import { keywords as words } from "./agent-prompt.js";

type ModelV4 = Extract<LanguageModel, { specificationVersion: "v4" }>;
type CallOptions = Parameters<ModelV4["doStream"]>[0];
type StreamPart = Awaited<ReturnType<ModelV4["doStream"]>>["stream"] extends ReadableStream<infer P> ? P : never;

/** What every answer of the offline model starts with. */
export const OFFLINE_LABEL = "[offline model]";

/** The offline model's id, as presence shows it. */
export const OFFLINE_MODEL_ID = "confab-offline-extractive";

interface Candidate {
  text: string;
  /** Where it came from, for the answer. */
  source: string;
  /** Lower is preferred on a tie: context, then documents, then messages. */
  rank: number;
  order: number;
}

/** The sentences of the prompt it may answer with, and the question (the prompt's last line). */
function read(options: CallOptions): { question: string; candidates: Candidate[] } {
  let system = "";
  let user = "";
  for (const m of options.prompt) {
    if (m.role === "system") system += `${m.content}\n\n`;
    else if (m.role === "user") for (const part of m.content) if (part.type === "text") user += `${part.text}\n`;
  }
  const lines = user.split("\n").filter((l) => l.trim());
  const question = (lines.pop() ?? "").replace(/^[^:]{1,80}\((?:person|agent)\):\s*/, "");
  const candidates: Candidate[] = [];
  let order = 0;
  const add = (text: string, source: string, rank: number) => {
    for (const sentence of text.split(/(?<=[.!?])\s+|\n+/)) {
      const s = sentence.trim().replace(/^- /, "");
      if (s.length >= 8) candidates.push({ text: s, source, rank, order: order++ });
    }
  };
  // The system text's sections, after the first (who the agent is) and the instructions.
  for (const section of system.split("\n\n").slice(1)) {
    if (section.startsWith("The room's shared context:")) {
      for (const line of section.split("\n").slice(1)) {
        const kind = /^- \(([^)]+)\)/.exec(line)?.[1] ?? "context";
        add(line.replace(/^- \([^)]+\)\s*/, ""), `shared context, ${kind}`, 0);
      }
    } else if (section.startsWith("Document ")) {
      const [head, ...body] = section.split("\n");
      add(body.join("\n"), head!.replace(/:$/, "").replace(/^Document /, "document "), 1);
    }
  }
  for (const line of lines) {
    const m = /^(.{1,80}?) \((person|agent)\): (.*)$/.exec(line);
    if (m && !m[3]!.startsWith(OFFLINE_LABEL)) add(m[3]!, `${m[1]} said`, 2);
  }
  return { question, candidates };
}

/** The offline model's whole answer to a prompt: deterministic, from the prompt alone. */
export function offlineAnswer(options: CallOptions): string {
  const { question, candidates } = read(options);
  const asked = new Set(words(question.replace(/@[\w-]+/g, " ")));
  const scored = candidates
    .map((c) => ({ c, score: words(c.text).filter((w) => asked.has(w)).length }))
    .filter((x) => x.score > 0)
    .sort((a, b) => b.score - a.score || a.c.rank - b.c.rank || a.c.order - b.c.order);
  const seen = new Set<string>();
  const picked = scored.filter((x) => !seen.has(x.c.text) && seen.add(x.c.text)).slice(0, 3);
  if (picked.length === 0) {
    return `${OFFLINE_LABEL} I found nothing in this room's messages, shared context or documents about that yet. Add it to the shared context, or configure a language model for real answers.`;
  }
  const lines = picked.map((x) => `- ${x.c.text} (${x.c.source})`);
  return `${OFFLINE_LABEL} From what this room already has:\n${lines.join("\n")}`;
}

function usage(input: string, output: string) {
  return {
    inputTokens: { total: words(input).length, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: words(output).length, text: words(output).length, reasoning: undefined },
  };
}

/**
 * The offline model, for `Agent.join({ model: offlineModel() })` (the default when no
 * model is given). It streams its answer a word at a time, `delayMs` apart, so people
 * see it arrive as they would a model's.
 */
export function offlineModel(options: { delayMs?: number } = {}): LanguageModel {
  const delayMs = options.delayMs ?? 15;
  const model: ModelV4 = {
    specificationVersion: "v4",
    provider: "confab",
    modelId: OFFLINE_MODEL_ID,
    supportedUrls: {},
    async doGenerate(call) {
      const text = offlineAnswer(call);
      return {
        content: [{ type: "text", text }],
        finishReason: { unified: "stop", raw: "stop" },
        usage: usage(JSON.stringify(call.prompt), text),
        warnings: [],
      };
    },
    async doStream(call) {
      const text = offlineAnswer(call);
      const pieces = text.split(/(?<=\s)/);
      const signal = call.abortSignal;
      let i = 0;
      const stream = new ReadableStream<StreamPart>({
        start(controller) {
          controller.enqueue({ type: "stream-start", warnings: [] });
          controller.enqueue({ type: "text-start", id: "0" });
        },
        async pull(controller) {
          if (signal?.aborted) {
            controller.error(signal.reason ?? new Error("aborted"));
            return;
          }
          if (i < pieces.length) {
            if (i > 0 && delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
            controller.enqueue({ type: "text-delta", id: "0", delta: pieces[i++]! });
            return;
          }
          controller.enqueue({ type: "text-end", id: "0" });
          controller.enqueue({ type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage: usage(JSON.stringify(call.prompt), text) });
          controller.close();
        },
      });
      return { stream };
    },
  };
  return model;
}

/** Whether `model` is the offline model. */
export function isOfflineModel(model: LanguageModel): boolean {
  return typeof model === "object" && model.modelId === OFFLINE_MODEL_ID && model.provider === "confab";
}
