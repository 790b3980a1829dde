/**
 * The operations a room's authority answers over the connection (the same as the REST
 * API), each with its arguments and result: `room.request(op, args)` is typed by this
 * map. The arguments (`OpArgs`) and the records in the results (`Lease`, `Activity`,
 * `Collaboration`, ...) are generated from core's Rust types; the result envelopes are
 * written here, after `core/src/authority/` and `core/src/room/ops.rs`.
 *
 * @module
 */
import type {
  Activity,
  ActivityKind,
  AgentState,
  Collaboration,
  FileEntry,
  Lease,
  LeasePolicy,
  MemberRole,
  MessageInfo,
  OpArgs,
} from "../wasm/confab_wasm.js";

export type { Activity, ActivityKind, AgentState, Collaboration, FileEntry, Lease, LeasePolicy, MemberRole, OpArgs };

/** A webhook, without its secret. */
export interface WebhookInfo {
  id: string;
  url: string;
  events: string[];
  /** Path prefixes: only file events under one of them are delivered (empty: all). */
  paths: string[];
  createdAt: number;
}

/**
 * A suggestion: an update from someone who may not write a leased document, held for
 * the lease holder or an owner to accept or reject.
 */
export interface Suggestion {
  id: string;
  document: string;
  author: string;
  authorName: string;
  status: "pending" | "accepted" | "rejected";
  at: number;
  /** Size of the held update. */
  bytes: number;
}

/** A search hit: where it is, who wrote it and when, and a snippet with its matches. */
export interface SearchHit {
  kind: "document" | "file" | "message" | "comment" | "context";
  /** What it opens: `doc:<id>`, `message:<id>`, `comment:<id>`, `context:<id>`, `file:<path>`. */
  target: string;
  /** Where it is, for people: a document's title, a file's path, a conversation. */
  place: string;
  author: { id: string; name: string; kind: "person" | "agent" };
  /** When it was written, ms since the Unix epoch. */
  at: number;
  snippet: string;
  /** The matches in `snippet`, as UTF-16 [start, end) ranges. */
  highlights: [number, number][];
  /** For a document's text: where the matching paragraph starts now (UTF-16). */
  offset?: number;
  /** Rows of this place that matched (a long document matches in many paragraphs; the best is the hit). */
  matches: number;
  /** With semantic ranking: cosine similarity to the query. */
  similarity?: number;
}

/** What a search answers. */
export interface SearchResult {
  hits: SearchHit[];
  /** The hits were ordered by meaning too (an embeddings endpoint is configured). */
  semantic: boolean;
  /** Why a configured semantic ranking was skipped this time. */
  semanticError?: string;
}

/** Who is connected, and what the room holds. */
export interface RoomSummary {
  connections: number;
  online: { user: string; name: string; kind: "person" | "agent"; role: MemberRole }[];
  presence: number;
  documents: { id: string; title: string }[];
  conversations: string[];
  leases: Lease[];
  policies: Record<string, LeasePolicy>;
}

/** Every operation: `args` (`void` when it takes none) and `result`. */
export interface Requests {
  "room.summary": { args: OpArgs["room.summary"]; result: RoomSummary };
  "presence.list": { args: OpArgs["presence.list"]; result: { presence: { clientId: number; state: unknown }[] } };
  "message.list": { args: OpArgs["message.list"]; result: { messages: MessageInfo[] } };
  "message.post": { args: OpArgs["message.post"]; result: { id: string; conversation: string } };
  "document.list": { args: OpArgs["document.list"]; result: { documents: { id: string; title: string; length: number }[] } };
  "document.get": { args: OpArgs["document.get"]; result: { id: string; title: string; text: string } };
  "document.write": { args: OpArgs["document.write"]; result: { id: string; length: number };
  };
  "lock.acquire": { args: OpArgs["lock.acquire"]; result: { lease: Lease } };
  "lock.renew": { args: OpArgs["lock.renew"]; result: { lease: Lease } };
  "lock.release": { args: OpArgs["lock.release"]; result: { released: Lease } };
  "lock.verify": { args: OpArgs["lock.verify"]; result: { valid: true; lease: Lease } | { valid: false; reason: string };
  };
  "lock.list": { args: OpArgs["lock.list"]; result: { leases: Lease[]; policies: Record<string, LeasePolicy> } };
  "lock.policy": { args: OpArgs["lock.policy"]; result: { policies: Record<string, LeasePolicy> };
  };
  "activity.record": { args: OpArgs["activity.record"]; result: { activity: Activity };
  };
  "activity.complete": { args: OpArgs["activity.complete"]; result: { activity: Activity } };
  "activity.list": { args: OpArgs["activity.list"]; result: { activities: Activity[] } };
  "agent.status": { args: OpArgs["agent.status"]; result: { agent: string; status: AgentState } };
  "agent.list": { args: OpArgs["agent.list"]; result: { agents: { agent: string; status: AgentState }[] } };
  "agent.invite": { args: OpArgs["agent.invite"]; result: { user: string; role: MemberRole; token: string; expiresAt: number } };
  "collaboration.start": { args: OpArgs["collaboration.start"]; result: { collaboration: Collaboration } };
  "collaboration.decide": { args: OpArgs["collaboration.decide"]; result: { collaboration: Collaboration } };
  "collaboration.end": { args: OpArgs["collaboration.end"]; result: { collaboration: Collaboration } };
  "collaboration.list": { args: OpArgs["collaboration.list"]; result: { collaborations: Collaboration[] } };
  "member.list": { args: OpArgs["member.list"]; result: { members: { user: string; name: string; role: MemberRole }[] } };
  "member.invite": { args: OpArgs["member.invite"]; result: { user: string; role: MemberRole; token: string; expiresAt: number };
  };
  "member.role": { args: OpArgs["member.role"]; result: { user: string; role: MemberRole } };
  "member.transfer": { args: OpArgs["member.transfer"]; result: { owner: string } };
  "member.leave": { args: OpArgs["member.leave"]; result: { user: string; left: true } };
  "member.remove": { args: OpArgs["member.remove"]; result: { user: string; left: true } };
  "webhook.create": { args: OpArgs["webhook.create"]; result: { webhook: WebhookInfo } };
  "webhook.list": { args: OpArgs["webhook.list"]; result: { webhooks: WebhookInfo[] } };
  "webhook.delete": { args: OpArgs["webhook.delete"]; result: { deleted: string } };
  "suggestion.list": { args: OpArgs["suggestion.list"]; result: { suggestions: Suggestion[] } };
  "suggestion.accept": { args: OpArgs["suggestion.accept"]; result: { accepted: string; document: string } };
  "suggestion.reject": { args: OpArgs["suggestion.reject"]; result: { rejected: string } };
  "file.list": { args: OpArgs["file.list"]; result: { files: FileEntry[] } };
  "file.get": { args: OpArgs["file.get"]; result: { file: FileEntry; text?: string } };
  "file.write": { args: OpArgs["file.write"]; result: { file: FileEntry } };
  "file.move": { args: OpArgs["file.move"]; result: { from: string; to: string; moved: number } };
  "file.delete": { args: OpArgs["file.delete"]; result: { deleted: string; entries: number } };
  "file.restore": { args: OpArgs["file.restore"]; result: { restored: string; entries: number } };
  "folder.create": { args: OpArgs["folder.create"]; result: { folder: FileEntry; created: boolean } };
  "search": { args: OpArgs["search"]; result: SearchResult };
}

/** An operation's name. */
export type RequestOp = keyof Requests;
