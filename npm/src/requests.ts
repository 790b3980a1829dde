/**
 * The operations a room's authority answers over the connection (the same as the REST
 * API), each with its arguments and result: `room.request(op, args)` is typed by this
 * map. The shapes mirror core's (`core/src/authority.rs`, `core/src/room.rs`).
 *
 * @module
 */
import type { MessageInfo, ParticipantInfo } from "../wasm/confab_wasm.js";

/** A lease granted by the room: `fence` grows with every grant. */
export interface Lease {
  resource: string;
  holder: string;
  holderName: string;
  holderKind: "person" | "agent";
  fence: number;
  acquiredAt: number;
  expiresAt: number;
}

/** What a write to a document without the lease it requires does. */
export type LeasePolicy = "refuse" | "suggest";

/** A member's role in a room. */
export type MemberRole = "owner" | "editor" | "reviewer" | "viewer";

/** What an agent's recorded activity is. */
export type ActivityKind =
  | "agent_started"
  | "agent_completed"
  | "memory_read"
  | "memory_write"
  | "memory_delete"
  | "council_debate"
  | "council_synthesis"
  | "council_decision"
  | "task_assigned"
  | "task_completed"
  | "message_sent"
  | "collaboration_started"
  | "collaboration_ended";

/** An agent's recorded activity. */
export interface Activity {
  id: string;
  agent: string;
  agentName: string;
  kind: ActivityKind;
  summary: string;
  detail: unknown;
  status: "started" | "completed" | "failed";
  result: string | null;
  collaboration: string | null;
  startedAt: number;
  completedAt: number | null;
}

/** A collaboration between agents and people, with its decisions. */
export interface Collaboration {
  id: string;
  title: string;
  startedBy: string;
  participants: string[];
  decisions: { by: string; text: string; at: number }[];
  status: "active" | "ended";
  outcome: string | null;
  startedAt: number;
  endedAt: number | null;
}

/** A webhook, without its secret. */
export interface WebhookInfo {
  id: string;
  url: string;
  events: string[];
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
  "room.summary": { args: void; result: RoomSummary };
  "presence.list": { args: void; result: { presence: { clientId: number; state: unknown }[] } };
  "message.list": { args: { conversation?: string }; result: { messages: MessageInfo[] } };
  "message.post": { args: { conversation?: string; text: string }; result: { id: string; conversation: string } };
  "document.list": { args: void; result: { documents: { id: string; title: string; length: number }[] } };
  "document.get": { args: { id: string }; result: { id: string; title: string; text: string } };
  "document.write": {
    args: { id: string; text: string; title?: string; fence?: number };
    result: { id: string; length: number };
  };
  "lock.acquire": { args: { resource: string; ttlMs: number }; result: { lease: Lease } };
  "lock.renew": { args: { resource: string; fence: number; ttlMs: number }; result: { lease: Lease } };
  "lock.release": { args: { resource: string; fence: number }; result: { released: Lease } };
  "lock.verify": {
    args: { resource: string; fence: number };
    result: { valid: true; lease: Lease } | { valid: false; reason: string };
  };
  "lock.list": { args: void; result: { leases: Lease[]; policies: Record<string, LeasePolicy> } };
  "lock.policy": {
    args: { document: string; policy: LeasePolicy | null };
    result: { policies: Record<string, LeasePolicy> };
  };
  "activity.record": {
    args: { kind: ActivityKind; summary?: string; detail?: unknown; collaboration?: string };
    result: { activity: Activity };
  };
  "activity.complete": { args: { id: string; result?: string; failed?: boolean }; result: { activity: Activity } };
  "activity.list": { args: void; result: { activities: Activity[] } };
  "agent.status": { args: { status: "active" | "idle" }; result: { agent: string; status: "active" | "idle" } };
  "agent.list": { args: void; result: { agents: { agent: string; status: "active" | "idle" }[] } };
  "collaboration.start": { args: { title: string; participants?: string[] }; result: { collaboration: Collaboration } };
  "collaboration.decide": { args: { id: string; text: string }; result: { collaboration: Collaboration } };
  "collaboration.end": { args: { id: string; outcome?: string }; result: { collaboration: Collaboration } };
  "collaboration.list": { args: void; result: { collaborations: Collaboration[] } };
  "member.list": { args: void; result: { members: { user: string; name: string; role: MemberRole }[] } };
  "member.invite": {
    args: { role: MemberRole; user?: string; name?: string; kind?: ParticipantInfo["kind"]; ttlSecs?: number };
    result: { user: string; role: MemberRole; token: string; expiresAt: number };
  };
  "member.role": { args: { user: string; role: MemberRole }; result: { user: string; role: MemberRole } };
  "member.transfer": { args: { user: string }; result: { owner: string } };
  "member.leave": { args: void; result: { user: string; left: true } };
  "member.remove": { args: { user: string }; result: { user: string; left: true } };
  "webhook.create": { args: { url: string; events: string[]; secret: string }; result: { webhook: WebhookInfo } };
  "webhook.list": { args: void; result: { webhooks: WebhookInfo[] } };
  "webhook.delete": { args: { id: string }; result: { deleted: string } };
  "suggestion.list": { args: void; result: { suggestions: Suggestion[] } };
  "suggestion.accept": { args: { id: string }; result: { accepted: string; document: string } };
  "suggestion.reject": { args: { id: string }; result: { rejected: string } };
}

/** An operation's name. */
export type RequestOp = keyof Requests;
