//! The TypeScript declarations of the values that cross the boundary.
//!
//! Most are generated from core's Rust types (`types.gen.ts`, written and checked by
//! `core/tests/typescript.rs`; regenerate with `make types`). Written here by hand are
//! only the shapes this crate builds or reads itself, which have no Rust type to
//! derive from: the options and events of a `Room`, the session and feed entries the
//! room sends as JSON, the input shapes whose fields may be left out (core's types
//! have them all), a read's `base` (bytes as a `Uint8Array`) and a peer's raw state.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const _: &str = include_str!("types.gen.ts");

#[wasm_bindgen(typescript_custom_section)]
const _: &str = r#"
/** Options for `new Room(...)`. */
export interface RoomOptions {
  /** Base URL of the edge's rooms, e.g. `ws://127.0.0.1:8787/rooms`. */
  url: string;
  /** Room name; joined as `<url>/<room>`. */
  room: string;
  /** Who this client is. */
  user: { id: string; name: string; kind?: ParticipantKind };
  /** WebSocket constructor; defaults to `globalThis.WebSocket` (pass `ws` in Node 20). */
  WebSocket?: unknown;
  /** yrs client id of this tab's edits; random when omitted. */
  clientId?: number;
  /** Room token minted by your backend (optional in development mode). */
  token?: string;
  /**
   * Development mode, without a token: join as a guest the room knows by `user` (an
   * unverified editor; its locks read "held by <name>") rather than as `anonymous`.
   * Ignored with a token. A guest writes only in its own name, as a token holder does.
   */
  guest?: boolean;
  /**
   * How long the room may stay silent before the connection is taken as lost and
   * reopened, in ms (default 30000, at least 1000). After a third of it without a
   * frame, the client asks the room for one (a heartbeat), so a network that drops
   * without closing the socket is noticed.
   */
  heartbeatTimeoutMs?: number;
}
/** Who this connection is in the room, as the room says. */
export interface SessionInfo {
  user: string; name: string; kind: ParticipantKind;
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
  | { type: "saved"; unacked: number; saveState: SaveState }
  | { type: "feed"; event: FeedEvent }
  | { type: "token-expired"; reason: string }
  | ({ type: "conflict" } & ConflictNotice);
/**
 * Structured findings a merged branch brings back, as passed to `mergeBranch`: the
 * lists may be left out (core's `MergeSummary` always has them; see `MergeRecord`).
 */
export interface MergeSummary {
  summary: string; keyFindings?: string[]; recommendations?: string[]; actionItems?: string[];
}
/**
 * A new context entry, as passed to `proposeContext` and `addPrivateContext`: tags and refs may be left out. Refs
 * name documents (`doc:<id>`) or paths (`path:<path>`).
 */
export interface ContextDraft { kind: ContextKind; text: string; tags?: string[]; refs?: string[] }
/**
 * What `revertTurn` did: the documents it changed, and the suggestions (conflict ids) it raised where someone
 * edited inside the turn's text since.
 */
export interface TurnRevert { documents: string[]; conflicts: string[] }
/** What an undo or redo did: the document, and the selection to show (UTF-16 offsets; `null` when you had no caret there). */
export interface Undone { document: string; selection: { anchor: number; head: number } | null }
/** Which documents an agent turn changed, and who reverted it already (their name). */
export interface TurnEdits { documents: string[]; revertedBy: string | null }
/** A document's text with the version it was read at (declare it when writing back). */
export interface DocumentRead { text: string; base: Uint8Array }
/** Someone present, with their presence state as they set it. */
export interface PeerInfo { clientId: number; isSelf: boolean; state: Record<string, unknown> & { user?: ParticipantInfo } }
"#;
