//! The TypeScript declarations of the values that cross the boundary.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Options for `new Room(...)`. */
export interface RoomOptions {
  /** Base URL of the edge's rooms, e.g. `ws://127.0.0.1:8787/rooms`. */
  url: string;
  /** Room name; joined as `<url>/<room>`. */
  room: string;
  /** Who this client is. */
  user: { id: string; name: string; kind?: "person" | "agent" };
  /** WebSocket constructor; defaults to `globalThis.WebSocket` (pass `ws` in Node 20). */
  WebSocket?: unknown;
  /** yrs client id of this tab's edits; random when omitted. */
  clientId?: number;
  /** Room token minted by your backend (optional in development mode). */
  token?: string;
}
/** Who this connection is in the room, as the room says. */
export interface SessionInfo {
  user: string; name: string; kind: "person" | "agent";
  role: "owner" | "editor" | "reviewer" | "viewer"; readOnly: boolean;
}
/** One entry of the room's audit log and live feed. */
export interface FeedEvent {
  seq: number; action: string; actor: ParticipantInfo | null; target: string | null;
  detail: unknown; at: number;
}
/**
 * Where a room's connection stands, in y-websocket's words where they apply:
 * `disconnected` (not trying), `connecting`, `connected` (socket open, syncing), then
 * `synced`; `reconnecting` while waiting to retry after the socket dropped.
 */
export type ConnectionStatus = "disconnected" | "connecting" | "connected" | "synced" | "reconnecting";
/** What a room reports to its listener. */
export type RoomEvent =
  /** `code`/`reason`: how the socket closed, when it did. */
  | { type: "status"; status: ConnectionStatus; code?: number; reason?: string }
  | { type: "change"; origin: "local" | "remote" }
  | { type: "presence" }
  /** Something went wrong outside any call (the npm package makes `error` a `ConfabError`). */
  | { type: "error"; error: Error & { code: string } }
  | { type: "session"; session: SessionInfo }
  /** The count of local edits the room has not stored changed (0: all saved). */
  | { type: "saved"; unacked: number }
  | { type: "feed"; event: FeedEvent }
  | { type: "token-expired"; reason: string }
  | ({ type: "conflict" } & ConflictNotice);
export interface ParticipantInfo { id: string; name: string; kind: "person" | "agent" }
export interface ConversationInfo {
  id: string; title: string; createdBy: string; createdAt: number;
  /** For a branch: where it was forked. */
  forkOf: { conversation: string; message: string } | null;
}
/** Where a message stands: plain posts are `done`; agent turns move through the rest. */
export type TurnStatus = "pending" | "streaming" | "done" | "stopped" | "interrupted" | "error";
export interface ReactionInfo { kind: string; by: ParticipantInfo; at: number }
/** Structured findings a merged branch brings back. */
export interface MergeSummary {
  summary: string; keyFindings?: string[]; recommendations?: string[]; actionItems?: string[];
}
export interface MergeRecord {
  branch: string; messages: string[]; summary: string; keyFindings: string[];
  recommendations: string[]; actionItems: string[]; by: ParticipantInfo;
}
export interface MessageInfo {
  id: string; conversation: string; author: ParticipantInfo;
  role: "user" | "assistant" | "system" | "tool"; text: string; createdAt: number;
  status: TurnStatus; error: string | null; stopRequestedBy: ParticipantInfo | null;
  reactions: ReactionInfo[]; merge: MergeRecord | null;
}
/** What a user looks at; shared with a partner while synced. */
export interface View { tabs: string[]; activeTab: string | null; panels: string[]; split: number | null }
/** A change to a view: only the fields given change. */
export interface ViewPatch { tabs?: string[]; activeTab?: string; panels?: string[]; split?: number }
export interface SyncInfo { id: string; members: string[]; startedBy: string }
export interface ViewState { view: View; sync: SyncInfo | null }
export interface BranchInfo {
  id: string; title: string; forkMessage: string; participants: ParticipantInfo[]; createdAt: number;
}
export interface DocumentInfo { id: string; title: string; kind: string; createdAt: number }
/** A participant's structured presence. Offline participants are simply absent. */
export interface PresenceInfo {
  clientId: number; user: ParticipantInfo; status: "active" | "idle" | "away";
  activity: string | null; typingIn: string | null;
  cursor: { document: string; anchor: number; head: number } | null;
  view: string | null; following: string | null; isSelf: boolean;
}
export type ContextKind = "convention" | "decision" | "in-progress" | "resolved" | "knowledge";
/** A new context entry. Refs name documents (`doc:<id>`) or paths (`path:<path>`). */
export interface ContextDraft { kind: ContextKind; text: string; tags?: string[]; refs?: string[] }
export interface ContextEntry {
  id: string; kind: ContextKind; text: string; author: ParticipantInfo; tags: string[]; refs: string[];
  status: "proposed" | "accepted" | "stale" | "retired"; private: boolean; createdAt: number;
}
export interface ContextEvent {
  id: string; kind: "announcement" | "question" | "handoff"; text: string; author: ParticipantInfo;
  to: string | null; answer: string | null; at: number;
}
export interface HandoffSummary {
  decisions: string[]; openQuestions: string[]; inProgress: { who: string; what: string }[]; handoffs: string[];
}
export interface VersionInfo { id: string; name: string; author: ParticipantInfo; at: number }
/**
 * A span of a version diff: `author` wrote the span's text, `deletedBy` deleted it;
 * `client` is the CRDT client that wrote it.
 */
export interface DiffSpan {
  text: string; change: "unchanged" | "inserted" | "deleted";
  author: ParticipantInfo | null; deletedBy: ParticipantInfo | null; client: number | null;
  turn: string | null; model: string | null;
}
/** Who wrote a stretch of a document's current text (UTF-16 offsets); agents' spans name the turn and model when recorded. */
export interface BlameSpan {
  text: string; start: number; end: number; author: ParticipantInfo | null; agent: boolean; client: number | null;
  turn: string | null; model: string | null;
}
/** How close concurrent changes must be to conflict: the same characters, word or line. */
export type Granularity = "char" | "word" | "line";
/** What a write from a stale base does: held for a person to accept or reject, or applied with a record. */
export type StalePolicy = "hold" | "apply";
export type ConflictChoice = "mine" | "theirs" | "side" | "both" | "manual" | "agent";
export interface ConflictSide {
  author: ParticipantInfo | null; client: number; inserted: string; deleted: string; at: number;
  turn: string | null; model: string | null; stale: boolean;
}
export interface ConflictResolution {
  choice: ConflictChoice; side: number | null; text: string | null; by: ParticipantInfo; at: number;
}
/**
 * Concurrent changes the CRDT merged silently. `start`/`end` locate the stretch in the
 * document now (UTF-16); `before` is what both sides started from; `current` what the
 * room shows. Ids are equal on every replica.
 */
export interface Conflict {
  id: string; kind: "text" | "field" | "stale"; doc: string | null; field: string | null;
  start: number; end: number; before: string; current: string; sides: ConflictSide[];
  stale: boolean; held: boolean; status: "open" | "awaiting-agent" | "resolved";
  askedBy: ParticipantInfo | null; resolution: ConflictResolution | null; at: number;
}
/** A change in the room's conflicts; `needsInput` when this participant should act. */
export interface ConflictNotice { kind: "raised" | "awaiting-agent" | "resolved"; needsInput: boolean; conflict: Conflict }
/** A document's text with the version it was read at (declare it when writing back). */
export interface DocumentRead { text: string; base: Uint8Array }
export interface BasedWrite { applied: boolean; conflict: string | null; start: number; end: number }
export interface PeerInfo { clientId: number; isSelf: boolean; state: Record<string, unknown> & { user?: ParticipantInfo } }
"#;
