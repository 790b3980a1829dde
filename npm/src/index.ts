/**
 * Confab: multiplayer AI sessions. People and agents share one live room — the
 * conversation, the documents, presence — merged by a Rust CRDT core (yrs) running in
 * WebAssembly, relayed and persisted by a Confab edge.
 *
 * ```ts
 * import { Room } from "confab-rooms";
 * const room = await Room.open({ url: "ws://127.0.0.1:8787/rooms", room: "demo", user: { id: "ada", name: "Ada" } });
 * await room.whenSynced();
 * room.chat.ensureConversation("Main", "main");
 * room.chat.post("main", "hello, team");
 * ```
 *
 * @module
 */
export { Room, init } from "./room.js";
export type { OpenOptions, RequestArgs, RoomEvent, RoomEventOf, RoomEventType } from "./room.js";
export type { ExportedMessage, RoomExport } from "./export.js";
export { ConfabError, DestroyedError, TimeoutError } from "./errors.js";
export { Space } from "./space.js";
export type { AgentSchedule, SharedAgent, SpaceEvent, SpaceMember, SpaceOptions, SpacePerson, SpacePresent, SpaceRoleLabel, SpaceRoom, SpaceSettings } from "./space.js";
export { Inbox } from "./inbox.js";
export type { InboxOptions, Notification, NotificationDraft, NotificationKind, Urgency } from "./inbox.js";
export type { FeedStatus, LiveOptions } from "./live.js";
export { ROOM_TOOLS, ToolSession } from "./tools.js";
export type { RoomTool, ToolSchema } from "./tools.js";
export type { ConfabErrorCode } from "./errors.js";
export type { Chat, Role } from "./chat.js";
export type { Docs } from "./docs.js";
export type { Presence } from "./presence.js";
export type { Context } from "./context.js";
export type { History } from "./history.js";
export type { Comments } from "./comments.js";
export type { Files, UploadData, UploadOptions } from "./files.js";
export type { Locks } from "./locks.js";
export type { Conflicts } from "./conflicts.js";
export type { Views } from "./views.js";
export type {
  Activity,
  ActivityKind,
  Collaboration,
  Lease,
  LeasePolicy,
  MemberRole,
  RequestOp,
  Requests,
  RoomSummary,
  SearchHit,
  SearchResult,
  Suggestion,
  WebhookInfo,
} from "./requests.js";
export type {
  BasedWrite,
  BlameSpan,
  CommentAnchor,
  CommentInfo,
  CommentReply,
  BranchInfo,
  Conflict,
  ConflictChoice,
  ConflictNotice,
  ConflictResolution,
  ConflictSide,
  ConnectionStatus,
  ContextDraft,
  ContextEntry,
  ContextEvent,
  ContextKind,
  ConversationInfo,
  DiffSpan,
  DocumentInfo,
  DocumentRead,
  FeedEvent,
  FileAuthor,
  FileEntry,
  FileVersion,
  Granularity,
  HandoffSummary,
  MergeRecord,
  MergeSummary,
  MessageInfo,
  ParticipantInfo,
  PeerInfo,
  PresenceInfo,
  ReactionInfo,
  RoomOptions,
  SaveState,
  SessionInfo,
  StalePolicy,
  SyncInfo,
  TurnEdits,
  TurnRevert,
  TurnStatus,
  Undone,
  VersionInfo,
  View,
  ViewPatch,
  ViewState,
} from "../wasm/confab_wasm.js";
