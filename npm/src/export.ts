/**
 * A room's conversations and documents, exported as JSON (to archive or process) or as
 * Markdown (to read or paste): `room.exportJSON()`, `room.exportMarkdown()`.
 *
 * @module
 */
import type { ContextEntry, ConversationInfo, MessageInfo } from "../wasm/confab_wasm.js";
import type { Room } from "./room.js";

/** One exported message: who wrote what, when, and how an agent's turn ended. */
export interface ExportedMessage {
  id: string;
  author: { id: string; name: string; kind: "person" | "agent" };
  role: MessageInfo["role"];
  text: string;
  status: MessageInfo["status"];
  /** ms since the Unix epoch. */
  createdAt: number;
}

/** A room, exported. */
export interface RoomExport {
  format: "confab-room";
  version: 1;
  /** ISO 8601. */
  exportedAt: string;
  conversations: { id: string; title: string; forkOf: ConversationInfo["forkOf"]; messages: ExportedMessage[] }[];
  documents: { id: string; title: string; text: string }[];
  /** The shared AI context (accepted, proposed and stale entries; retired ones left out). */
  context: { id: string; kind: ContextEntry["kind"]; status: ContextEntry["status"]; text: string; tags: string[]; refs: string[] }[];
}

/** The room as JSON-ready data. */
export function exportJSON(room: Room, now = Date.now()): RoomExport {
  return {
    format: "confab-room",
    version: 1,
    exportedAt: new Date(now).toISOString(),
    conversations: room.chat.conversations().map((c) => ({
      id: c.id,
      title: c.title,
      forkOf: c.forkOf,
      messages: room.chat.messages(c.id).map((m) => ({
        id: m.id,
        author: { id: m.author.id, name: m.author.name, kind: m.author.kind },
        role: m.role,
        text: m.text,
        status: m.status,
        createdAt: m.createdAt,
      })),
    })),
    documents: room.docs.list().map((d) => ({ id: d.id, title: d.title, text: room.docs.text(d.id) })),
    context: room.context
      .shared()
      .filter((e) => e.status !== "retired")
      .map((e) => ({ id: e.id, kind: e.kind, status: e.status, text: e.text, tags: e.tags, refs: e.refs })),
  };
}

/** A line of Markdown with its special characters at the start made literal. */
function quoteLines(text: string): string {
  return text
    .split("\n")
    .map((line) => `> ${line}`)
    .join("\n");
}

/**
 * The room as one Markdown document: each conversation (its messages, with author and
 * time, agents marked), each document's text in a fenced block, and the shared context.
 */
export function exportMarkdown(room: Room, name = "Room"): string {
  const data = exportJSON(room);
  const out: string[] = [`# ${name}`, "", `Exported ${data.exportedAt}.`];
  for (const c of data.conversations) {
    out.push("", `## ${c.title}`);
    for (const m of c.messages) {
      const when = new Date(m.createdAt).toISOString().replace("T", " ").slice(0, 16);
      const who = `${m.author.name}${m.author.kind === "agent" ? " (agent)" : ""}`;
      const how = m.status === "done" ? "" : ` · ${m.status}`;
      out.push("", `**${who}** · ${when} UTC${how}`, "", quoteLines(m.text || "(empty)"));
    }
  }
  for (const d of data.documents) {
    const fence = "`".repeat(Math.max(3, ...[...d.text.matchAll(/`+/g)].map((m) => m[0].length + 1)));
    out.push("", `## ${d.title}`, "", fence, d.text.replace(/\n$/, ""), fence);
  }
  if (data.context.length) {
    out.push("", "## Shared context", "");
    for (const e of data.context) out.push(`- **${e.kind}** (${e.status}): ${e.text}`);
  }
  return `${out.join("\n")}\n`;
}
