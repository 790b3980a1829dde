/**
 * The room's tools, defined once: what an agent may do in a room, with a JSON Schema for
 * its arguments and a function that does it through a {@link Room}. The MCP server
 * (`confab mcp`) serves exactly these; an agent loop hands the same list to its model.
 *
 * Every write returns only once the room has stored it, or throws the room's refusal
 * (a {@link ConfabError}); a write from a stale base is held for review and reported as
 * a refusal, never lost.
 *
 * @module
 */
import { ConfabError } from "./errors.js";
import { smallestEdit } from "./docs.js";
import type { Room } from "./room.js";

/** A JSON Schema for a tool's arguments (an object). */
export interface ToolSchema {
  type: "object";
  properties: Record<string, { type: string; description: string; items?: { type: string }; enum?: string[] }>;
  required?: string[];
  additionalProperties: false;
}

/** One room tool. */
export interface RoomTool {
  /** Its exact name, the same in every client. */
  name: string;
  /** What it does, for a model to read. */
  description: string;
  /** Its arguments. */
  inputSchema: ToolSchema;
  /** Do it in `room` as `session` remembers; resolves with a JSON-serialisable result. */
  run(room: Room, args: Record<string, unknown>, session: ToolSession): Promise<unknown>;
}

/**
 * What one caller's tools remember between calls: the text each `read_document` base
 * was read at, so a based write can be applied as the smallest edit of that text.
 */
export class ToolSession {
  /** @internal The text each base was read at, by base. */
  readonly reads = new Map<string, string>();
  /** @internal The latest base read of each document, by document id. */
  readonly latest = new Map<string, string>();
}

const str = (description: string) => ({ type: "string", description });
const num = (description: string) => ({ type: "number", description });

function schema(properties: ToolSchema["properties"], required: string[] = []): ToolSchema {
  return { type: "object", properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

/** Read argument `key` as a string (required unless `optional`). */
function text(args: Record<string, unknown>, key: string, tool: string, optional = false): string | undefined {
  const value = args[key];
  if (value === undefined && optional) return undefined;
  if (typeof value !== "string") {
    throw new ConfabError("invalid_argument", `${tool}: \`${key}\` must be a string${optional ? " when given" : ""}`);
  }
  return value;
}

function count(args: Record<string, unknown>, key: string, tool: string, optional = false): number | undefined {
  const value = args[key];
  if (value === undefined && optional) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new ConfabError("invalid_argument", `${tool}: \`${key}\` must be a non-negative integer${optional ? " when given" : ""}`);
  }
  return value;
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function unbase64(text: string, tool: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new ConfabError("invalid_argument", `${tool}: \`base\` is not the base64 a read_document returned`);
  }
}

function ensureDocument(room: Room, id: string, tool: string): void {
  if (!room.docs.list().some((d) => d.id === id)) {
    throw new ConfabError("not_found", `${tool}: no document \`${id}\` in this room (list_documents names them)`);
  }
}

/**
 * Write `next` as the whole text of document `id`, as the smallest edit (so authorship
 * stays exact): from the text as read when `base` is given (a based write: a change
 * someone made since is kept, and this write held for review), else from the current
 * text. With `fence`, the room first checks that the caller's lease on `doc:<id>` with
 * that fencing token is live; the room's lease gate checks the write itself too.
 * Resolves once stored.
 */
async function write(
  room: Room,
  session: ToolSession,
  tool: string,
  id: string,
  next: string,
  fence: number | undefined,
  base: string | undefined,
): Promise<unknown> {
  ensureDocument(room, id, tool);
  if (fence !== undefined) {
    const check = await room.locks.verify(`doc:${id}`, fence);
    if (!check.valid) throw new ConfabError("lock_not_held", `${tool}: ${check.reason}`);
  }
  const leased = fence === undefined ? {} : { fence };
  if (base !== undefined) {
    const read = session.reads.get(base);
    if (read === undefined) {
      throw new ConfabError("invalid_argument", `${tool}: \`base\` was not returned by read_document in this session`);
    }
    const [start, end, inserted] = smallestEdit(read, next);
    const done = room.docs.writeBased(id, start, end, inserted, unbase64(base, tool));
    await room.whenSaved();
    if (!done.applied) {
      throw new ConfabError(
        "conflict",
        `${tool}: someone changed that text since your read; your write is held for a person to accept or reject${done.conflict ? ` (conflict ${done.conflict})` : ""}`,
      );
    }
    return { written: id, ...leased, conflict: done.conflict };
  }
  room.docs.setText(id, next);
  await room.whenSaved();
  return { written: id, ...leased };
}

/** The document holding text file `path`'s body. */
function textFile(room: Room, path: string, tool: string): string {
  const entry = room.files.get(path);
  if (!entry || entry.deletedAt !== undefined) throw new ConfabError("not_found", `${tool}: no file \`${path}\` (list_files names them)`);
  if (!entry.doc) throw new ConfabError("invalid_argument", `${tool}: \`${entry.path}\` is ${entry.folder ? "a folder" : `${entry.type}, not text`}`);
  return entry.doc;
}

/** The room's tools, by their exact names. */
export const ROOM_TOOLS: readonly RoomTool[] = [
  {
    name: "list_documents",
    description: "The room's shared documents: id and title.",
    inputSchema: schema({}),
    async run(room) {
      return { documents: room.docs.list().map((d) => ({ id: d.id, title: d.title })) };
    },
  },
  {
    name: "read_document",
    description: "A document's text, with a `base` to pass to write_document or edit_document so that a change someone makes meanwhile is never overwritten.",
    inputSchema: schema({ id: str("The document's id.") }, ["id"]),
    async run(room, args, session) {
      const id = text(args, "id", "read_document")!;
      ensureDocument(room, id, "read_document");
      const read = room.docs.read(id);
      const base = base64(read.base);
      session.reads.set(base, read.text);
      session.latest.set(id, base);
      return { id, text: read.text, base };
    },
  },
  {
    name: "write_document",
    description: "Replace a document's whole text (applied as the smallest edit, so authorship stays exact). With `fence` (from acquire_lock on `doc:<id>`) the room checks your lease; with `base` (from read_document) a change made since your read is kept and your write is held for review.",
    inputSchema: schema(
      { id: str("The document's id."), text: str("Its whole new text."), fence: num("Your lease's fencing token, from acquire_lock."), base: str("The base read_document returned.") },
      ["id", "text"],
    ),
    async run(room, args, session) {
      const id = text(args, "id", "write_document")!;
      const next = text(args, "text", "write_document")!;
      return write(room, session, "write_document", id, next, count(args, "fence", "write_document", true), text(args, "base", "write_document", true));
    },
  },
  {
    name: "edit_document",
    description: "Replace the one occurrence of `find` in a document with `replace`. `fence` and `base` work as in write_document (with `base`, `find` is looked for in the text as read).",
    inputSchema: schema(
      { id: str("The document's id."), find: str("Text that occurs exactly once."), replace: str("What to put in its place."), fence: num("Your lease's fencing token."), base: str("The base read_document returned.") },
      ["id", "find", "replace"],
    ),
    async run(room, args, session) {
      const id = text(args, "id", "edit_document")!;
      const find = text(args, "find", "edit_document")!;
      const replace = text(args, "replace", "edit_document")!;
      const base = text(args, "base", "edit_document", true);
      ensureDocument(room, id, "edit_document");
      const current = base !== undefined ? session.reads.get(base) : room.docs.text(id);
      if (current === undefined) {
        throw new ConfabError("invalid_argument", "edit_document: `base` was not returned by read_document in this session");
      }
      const at = find ? current.indexOf(find) : -1;
      if (at < 0) throw new ConfabError("not_found", `edit_document: \`${find}\` does not occur in ${id}`);
      if (current.indexOf(find, at + 1) >= 0) {
        throw new ConfabError("invalid_argument", `edit_document: \`${find}\` occurs more than once in ${id}; give more of the text around it`);
      }
      const next = current.slice(0, at) + replace + current.slice(at + find.length);
      return write(room, session, "edit_document", id, next, count(args, "fence", "edit_document", true), base);
    },
  },
  {
    name: "acquire_lock",
    description: "Take a lease on a resource (`doc:<id>`, `path:<path>`) for `ttl_ms`; returns the fencing token to pass to writes. Refused while someone else holds it.",
    inputSchema: schema({ resource: str("What to lease, e.g. `doc:notes`."), ttl_ms: num("For how long, in milliseconds.") }, ["resource", "ttl_ms"]),
    async run(room, args) {
      const { lease } = await room.locks.acquire(text(args, "resource", "acquire_lock")!, count(args, "ttl_ms", "acquire_lock")!);
      return { resource: lease.resource, fence: lease.fence, expiresAt: lease.expiresAt };
    },
  },
  {
    name: "release_lock",
    description: "Give a lease back.",
    inputSchema: schema({ resource: str("The leased resource."), fence: num("Its fencing token.") }, ["resource", "fence"]),
    async run(room, args) {
      await room.locks.release(text(args, "resource", "release_lock")!, count(args, "fence", "release_lock")!);
      return { released: args.resource };
    },
  },
  {
    name: "list_files",
    description: "The room's files and folders (under `prefix` when given): path, size, type, who wrote it and when. Text files can be read with read_file.",
    inputSchema: schema({ prefix: str("Only what is under this folder, e.g. `src/`.") }),
    async run(room, args) {
      const prefix = text(args, "prefix", "list_files", true);
      return {
        files: room.files.list(prefix ? { prefix } : {}).map((f) => ({
          path: f.path,
          folder: f.folder,
          ...(f.folder ? {} : { size: f.size, type: f.type, text: f.doc !== undefined }),
          author: f.author.name,
          updatedAt: f.updatedAt,
        })),
      };
    },
  },
  {
    name: "read_file",
    description: "A text file's current text (as people edit it). Binary files (images, PDFs) are described, not read.",
    inputSchema: schema({ path: str("The file's path, e.g. `src/main.rs`.") }, ["path"]),
    async run(room, args) {
      const path = text(args, "path", "read_file")!;
      const { file, text: body } = await room.request("file.get", { path });
      if (body === undefined) {
        return { path: file.path, folder: file.folder, type: file.type, size: file.size, note: file.folder ? "a folder: list_files lists it" : "binary content: not readable as text" };
      }
      return { path: file.path, type: file.type, text: body };
    },
  },
  {
    name: "write_file",
    description: "Write a text file's whole text (created, with its folders, when missing; else a new version). Refused while someone else holds a `path:` lease over it; with `fence` (from acquire_lock on `path:<path>` or a folder `path:<dir>/`) the room checks your lease on write.",
    inputSchema: schema({ path: str("The file's path."), text: str("Its whole new text."), fence: num("Your lease's fencing token, from acquire_lock.") }, ["path", "text"]),
    async run(room, args) {
      const fence = count(args, "fence", "write_file", true);
      const file = await room.files.write(text(args, "path", "write_file")!, text(args, "text", "write_file")!, fence === undefined ? {} : { fence });
      return { written: file.path, size: file.size, hash: file.hash, versions: file.versions.length };
    },
  },
  {
    name: "move_file",
    description: "Move or rename a file or folder (what is under a folder moves with it). Refused while someone else holds a `path:` lease over either path.",
    inputSchema: schema({ from: str("Where it is."), to: str("Where it goes."), fence: num("Your lease's fencing token.") }, ["from", "to"]),
    async run(room, args) {
      const fence = count(args, "fence", "move_file", true);
      const from = text(args, "from", "move_file")!;
      const to = text(args, "to", "move_file")!;
      await room.files.move(from, to, fence === undefined ? {} : { fence });
      return { moved: from, to };
    },
  },
  {
    name: "file_changes",
    description: "What changed in a text file since a named version (the latest one when `since` is left out, else since it was created): each inserted stretch with its [start, end) in the current text (UTF-16) and its author, and each deleted stretch with where it was. For a code review: read the changes, then add_comment on the ranges you mean.",
    inputSchema: schema({ path: str("The file's path."), since: str("A version's name or id (history).") }, ["path"]),
    async run(room, args) {
      const path = text(args, "path", "file_changes")!;
      const since = text(args, "since", "file_changes", true);
      const doc = textFile(room, path, "file_changes");
      const versions = room.history.versions();
      const version = since === undefined ? versions.at(-1) : versions.find((v) => v.id === since || v.name === since);
      if (since !== undefined && !version) {
        throw new ConfabError("not_found", `file_changes: no version \`${since}\` (the room's versions: ${versions.map((v) => v.name).join(", ") || "none"})`);
      }
      const changes: { change: string; text: string; start: number; end?: number; author: string | null }[] = [];
      let at = 0;
      for (const span of room.history.diff(doc, version?.id)) {
        const length = span.text.length;
        if (span.change === "inserted") changes.push({ change: "inserted", text: span.text, start: at, end: at + length, author: span.author?.name ?? null });
        if (span.change === "deleted") changes.push({ change: "deleted", text: span.text, start: at, author: span.deletedBy?.name ?? span.author?.name ?? null });
        if (span.change !== "deleted") at += length;
      }
      return { path, since: version ? { id: version.id, name: version.name } : null, changes };
    },
  },
  {
    name: "add_comment",
    description: "Comment on a range of a text file or document, for the people in the room (they see it beside the text, and reply or resolve it). Give the range as `quote` (text that occurs exactly once) or as `start` and `end` (UTF-16, as file_changes gives them).",
    inputSchema: schema(
      {
        path: str("The file's path (or give `document`)."),
        document: str("A document's id, for a document that is not a file."),
        quote: str("The words the comment is about (they must occur exactly once)."),
        start: num("Where the range starts (UTF-16)."),
        end: num("Where it ends."),
        text: str("The comment."),
      },
      ["text"],
    ),
    async run(room, args) {
      const path = text(args, "path", "add_comment", true);
      const doc = path !== undefined ? textFile(room, path, "add_comment") : text(args, "document", "add_comment")!;
      ensureDocument(room, doc, "add_comment");
      const current = room.docs.text(doc);
      const quote = text(args, "quote", "add_comment", true);
      let start = count(args, "start", "add_comment", true);
      let end = count(args, "end", "add_comment", true);
      if (quote !== undefined) {
        const at = quote ? current.indexOf(quote) : -1;
        if (at < 0) throw new ConfabError("not_found", `add_comment: \`${quote}\` does not occur in ${path ?? doc}`);
        if (current.indexOf(quote, at + 1) >= 0) {
          throw new ConfabError("invalid_argument", `add_comment: \`${quote}\` occurs more than once in ${path ?? doc}; give more of the text around it`);
        }
        [start, end] = [at, at + quote.length];
      }
      if (start === undefined || end === undefined || start >= end || end > current.length) {
        throw new ConfabError("invalid_argument", `add_comment: give \`quote\`, or \`start\` < \`end\` within the text (${current.length} long)`);
      }
      const id = room.comments.addToRange(doc, start, end, text(args, "text", "add_comment")!);
      await room.whenSaved();
      return { comment: id, on: current.slice(start, end) };
    },
  },
  {
    name: "post_message",
    description: "Post a message to a conversation.",
    inputSchema: schema({ conversation: str("The conversation's id (e.g. `main`)."), text: str("The message.") }, ["conversation", "text"]),
    async run(room, args) {
      const conversation = text(args, "conversation", "post_message")!;
      if (!room.chat.conversations().some((c) => c.id === conversation)) {
        throw new ConfabError("not_found", `post_message: no conversation \`${conversation}\` in this room`);
      }
      const id = room.chat.post(conversation, text(args, "text", "post_message")!);
      await room.whenSaved();
      return { posted: id };
    },
  },
  {
    name: "list_messages",
    description: "A conversation's messages, oldest first (the last `limit`, default 50): author, text, status.",
    inputSchema: schema({ conversation: str("The conversation's id."), limit: num("At most this many, the latest.") }, ["conversation"]),
    async run(room, args) {
      const conversation = text(args, "conversation", "list_messages")!;
      const limit = count(args, "limit", "list_messages", true) ?? 50;
      const messages = room.chat.messages(conversation).slice(-limit || undefined);
      return {
        messages: (limit === 0 ? [] : messages).map((m) => ({ id: m.id, author: m.author, text: m.text, status: m.status, createdAt: m.createdAt })),
      };
    },
  },
  {
    name: "who_is_here",
    description: "Who is in the room now, people and agents, with their status and activity.",
    inputSchema: schema({}),
    async run(room) {
      return {
        present: room.presence.list().map((p) => ({ user: p.user, status: p.status, activity: p.activity ?? null, isSelf: p.isSelf })),
      };
    },
  },
  {
    name: "search",
    description: "Search the room: documents, text files and file names, messages, comments and the shared context. Every word must match (the last may be the start of a word; quote a phrase with \"…\"). Returns each hit's kind, where it is, who wrote it and when, and a snippet.",
    inputSchema: schema(
      {
        query: str("What to look for."),
        kinds: { type: "array", items: { type: "string" }, description: "Only these kinds: document, file, message, comment, context." },
        author: str("Only what this user id wrote."),
      },
      ["query"],
    ),
    async run(room, args) {
      const query = text(args, "query", "search")!;
      const author = text(args, "author", "search", true);
      const kinds = args.kinds;
      if (kinds !== undefined && (!Array.isArray(kinds) || !kinds.every((k) => typeof k === "string"))) {
        throw new ConfabError("invalid_argument", "search: `kinds` must be an array of strings");
      }
      const { hits } = await room.search(query, { ...(kinds ? { kinds: kinds as string[] } : {}), ...(author ? { author } : {}) });
      return {
        hits: hits.map((h) => ({ kind: h.kind, target: h.target, where: h.place, author: h.author.name, at: h.at, snippet: h.snippet })),
      };
    },
  },
  {
    name: "set_activity",
    description: "Say what you are doing now (shown beside your name in the room); an empty text clears it.",
    inputSchema: schema({ text: str("Your current activity.") }, ["text"]),
    async run(room, args) {
      const activity = text(args, "text", "set_activity")!.trim();
      room.presence.setActivity(activity || null);
      return { activity: activity || null };
    },
  },
  {
    name: "propose_context",
    description: "Propose an entry for the room's shared AI context (people accept it): a convention, decision, in-progress note, resolved item or knowledge.",
    inputSchema: schema(
      {
        kind: { type: "string", description: "What kind of entry.", enum: ["convention", "decision", "in-progress", "resolved", "knowledge"] },
        text: str("The entry."),
        tags: { type: "array", items: { type: "string" }, description: "Tags to find it by." },
        refs: { type: "array", items: { type: "string" }, description: "What it is about: `doc:<id>` or `path:<path>`." },
      },
      ["kind", "text"],
    ),
    async run(room, args) {
      const list = (key: string) => {
        const value = args[key];
        if (value === undefined) return [];
        if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
          throw new ConfabError("invalid_argument", `propose_context: \`${key}\` must be an array of strings`);
        }
        return value as string[];
      };
      const kind = text(args, "kind", "propose_context")! as Parameters<Room["context"]["propose"]>[0]["kind"];
      const id = room.context.propose({ kind, text: text(args, "text", "propose_context")!, tags: list("tags"), refs: list("refs") });
      await room.whenSaved();
      return { proposed: id };
    },
  },
  {
    name: "suggest_edit",
    description: "Suggest a document's whole new text for review, with a note for the reviewer: nothing changes until a person accepts it (they see the difference, and accept or reject).",
    inputSchema: schema(
      { id: str("The document's id."), text: str("Its whole suggested text."), note: str("Why: one or two sentences for the reviewer.") },
      ["id", "text", "note"],
    ),
    async run(room, args) {
      const id = text(args, "id", "suggest_edit")!;
      ensureDocument(room, id, "suggest_edit");
      const suggestion = room.docs.suggest(id, text(args, "text", "suggest_edit")!, text(args, "note", "suggest_edit")!);
      await room.whenSaved();
      return { suggested: id, suggestion };
    },
  },
  {
    name: "raise_insight",
    description: "Raise an insight for the people in the room: a finding or a risk worth their attention. They see it as a notice.",
    inputSchema: schema({ text: str("The insight, e.g. `Risk: the budget assumes the old exchange rate.`") }, ["text"]),
    async run(room, args) {
      const id = room.context.raiseInsight(text(args, "text", "raise_insight")!);
      await room.whenSaved();
      return { insight: id };
    },
  },
  {
    name: "handoff",
    description: "Hand your work to someone in the room (their user id) with a note; they see it in the room's context.",
    inputSchema: schema({ to: str("The user id to hand over to."), note: str("What they need to know.") }, ["to", "note"]),
    async run(room, args) {
      const id = room.context.handoff(text(args, "to", "handoff")!, text(args, "note", "handoff")!);
      await room.whenSaved();
      return { handoff: id };
    },
  },
];
