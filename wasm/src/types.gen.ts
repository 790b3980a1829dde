// Generated from confab-core's Rust types by ts-rs (core/tests/typescript.rs): do not
// edit. Regenerate with `make types`, i.e.
// CONFAB_BLESS=1 cargo test -p confab-core --features ts --test typescript

/**
 * Whether a participant is a person or an AI agent.
 */
export type ParticipantKind = "person" | "agent";

/**
 * Someone in the room: a person or an agent.
 */
export type ParticipantInfo = {
  /**
   * Stable id chosen by the app.
   */
  id: string,
  /**
   * Display name.
   */
  name: string,
  /**
   * Person or agent.
   */
  kind: ParticipantKind,
};

/**
 * The role a message plays in an AI conversation.
 */
export type MessageRole = "user" | "assistant" | "system" | "tool";

/**
 * Where a message stands.
 */
export type TurnStatus = "pending" | "streaming" | "done" | "stopped" | "interrupted" | "error";

/**
 * Where a branch was forked.
 */
export type ForkPoint = {
  /**
   * The parent conversation.
   */
  conversation: string,
  /**
   * The parent's message the branch starts after.
   */
  message: string,
};

/**
 * A conversation in the room.
 */
export type ConversationInfo = {
  /**
   * Conversation id.
   */
  id: string,
  /**
   * Title.
   */
  title: string,
  /**
   * Participant id of whoever created it.
   */
  createdBy: string,
  /**
   * Creation time, ms since the Unix epoch.
   */
  createdAt: number,
  /**
   * For a branch: the conversation and message it was forked at.
   */
  forkOf: ForkPoint | null,
};

/**
 * A reaction (mark) on a message.
 */
export type ReactionInfo = {
  /**
   * What kind, e.g. "helpful".
   */
  kind: string,
  /**
   * Who made it.
   */
  by: ParticipantInfo,
  /**
   * When, ms since the Unix epoch.
   */
  at: number,
};

/**
 * The record a merged branch leaves in its parent.
 */
export type MergeRecord = {
  /**
   * The branch merged.
   */
  branch: string,
  /**
   * The branch's messages brought back, in branch order.
   */
  messages: Array<string>,
  /**
   * Who merged it.
   */
  by: ParticipantInfo,
  /**
   * The summary in prose.
   */
  summary: string,
  /**
   * Key findings.
   */
  keyFindings: Array<string>,
  /**
   * Recommendations.
   */
  recommendations: Array<string>,
  /**
   * Action items.
   */
  actionItems: Array<string>,
};

/**
 * A message in a conversation.
 */
export type MessageInfo = {
  /**
   * Message id.
   */
  id: string,
  /**
   * Conversation it belongs to.
   */
  conversation: string,
  /**
   * Who wrote it.
   */
  author: ParticipantInfo,
  /**
   * Its role.
   */
  role: MessageRole,
  /**
   * Its text (for an agent turn, as far as it has streamed).
   */
  text: string,
  /**
   * Creation time, ms since the Unix epoch.
   */
  createdAt: number,
  /**
   * Where the message stands: `done` for a plain post, the turn's state for a
   * streamed agent turn.
   */
  status: TurnStatus,
  /**
   * Why the turn failed, when `status` is `error`.
   */
  error: string | null,
  /**
   * Who asked the turn to stop.
   */
  stopRequestedBy: ParticipantInfo | null,
  /**
   * Reactions, ordered by kind then participant id.
   */
  reactions: Array<ReactionInfo>,
  /**
   * Set when the message records a merged branch.
   */
  merge: MergeRecord | null,
};

/**
 * A branch of a conversation.
 */
export type BranchInfo = {
  /**
   * The branch's conversation id.
   */
  id: string,
  /**
   * Title.
   */
  title: string,
  /**
   * The message of the parent it was forked at.
   */
  forkMessage: string,
  /**
   * Everyone who wrote in the branch, and whoever created it, by id.
   */
  participants: Array<ParticipantInfo>,
  /**
   * Creation time, ms since the Unix epoch.
   */
  createdAt: number,
};

/**
 * A shared document's metadata.
 */
export type DocumentInfo = {
  /**
   * Document id.
   */
  id: string,
  /**
   * Title.
   */
  title: string,
  /**
   * Kind, e.g. "text" or "code".
   */
  kind: string,
  /**
   * Creation time, ms since the Unix epoch.
   */
  createdAt: number,
};

/**
 * What a user looks at.
 */
export type View = {
  /**
   * Open tabs (ids of conversations, documents, ... chosen by the app).
   */
  tabs: Array<string>,
  /**
   * The tab in front.
   */
  activeTab: string | null,
  /**
   * Visible panels, in order.
   */
  panels: Array<string>,
  /**
   * Split position between panels, 0..1.
   */
  split: number | null,
};

/**
 * A change to a view: only the fields given change.
 */
export type ViewPatch = {
  /**
   * New tabs.
   */
  tabs?: Array<string>,
  /**
   * New active tab.
   */
  activeTab?: string,
  /**
   * New panels.
   */
  panels?: Array<string>,
  /**
   * New split.
   */
  split?: number,
};

/**
 * Two users looking at one view.
 */
export type SyncInfo = {
  /**
   * The sync's id (the same for the same pair).
   */
  id: string,
  /**
   * Its members' user ids, sorted.
   */
  members: Array<string>,
  /**
   * Who started it.
   */
  startedBy: string,
};

/**
 * A user's view and whom they are synced with.
 */
export type ViewState = {
  /**
   * What the user sees (the shared view while synced).
   */
  view: View,
  /**
   * The sync the user is in, if any.
   */
  sync: SyncInfo | null,
};

/**
 * How present someone is.
 */
export type PresenceStatus = "active" | "idle" | "away";

/**
 * Whether the room has stored this client's edits: what a "saving…" indicator
 * shows, from the connection state and the count of edits not yet acknowledged.
 */
export type SaveState = "saved" | "saving" | "unsaved";

/**
 * A cursor or selection in a document, resolved to current UTF-16 offsets.
 */
export type Cursor = {
  /**
   * The document.
   */
  document: string,
  /**
   * Where the selection starts.
   */
  anchor: number,
  /**
   * Where it ends (equal to `anchor` for a caret).
   */
  head: number,
};

/**
 * One participant's presence as everyone sees it.
 */
export type PresenceInfo = {
  /**
   * The awareness (yrs) client id: one per tab or agent process.
   */
  clientId: number,
  /**
   * Who.
   */
  user: ParticipantInfo,
  /**
   * Active, idle or away (as they set it, while they set it by hand).
   */
  status: PresenceStatus,
  /**
   * A status they wrote themselves, e.g. "back in 10 min".
   */
  note: string | null,
  /**
   * What they are doing.
   */
  activity: string | null,
  /**
   * The conversation they are typing in.
   */
  typingIn: string | null,
  /**
   * Their cursor, resolved against the local document.
   */
  cursor: Cursor | null,
  /**
   * What they look at (app-defined, e.g. a tab id).
   */
  view: string | null,
  /**
   * Whose view they follow (a user id).
   */
  following: string | null,
  /**
   * True for this session.
   */
  isSelf: boolean,
};

/**
 * What a context entry is.
 */
export type ContextKind = "convention" | "decision" | "in-progress" | "resolved" | "knowledge";

/**
 * Where a context entry stands.
 */
export type ContextStatus = "proposed" | "accepted" | "stale" | "retired";

/**
 * A context entry, shared or private.
 */
export type ContextEntry = {
  /**
   * Entry id.
   */
  id: string,
  /**
   * Its kind.
   */
  kind: ContextKind,
  /**
   * Its text.
   */
  text: string,
  /**
   * Who wrote or shared it.
   */
  author: ParticipantInfo,
  /**
   * Tags.
   */
  tags: Array<string>,
  /**
   * References.
   */
  refs: Array<string>,
  /**
   * Status as read now (`stale` when a referenced document changed since it was
   * confirmed).
   */
  status: ContextStatus,
  /**
   * True for an entry of this person's private context.
   */
  private: boolean,
  /**
   * Creation time, ms since the Unix epoch.
   */
  createdAt: number,
};

/**
 * A structured context event.
 */
export type ContextEventKind = "announcement" | "question" | "handoff" | "insight";

/**
 * An announcement, question, handoff or insight.
 */
export type ContextEvent = {
  /**
   * Event id.
   */
  id: string,
  /**
   * Which kind.
   */
  kind: ContextEventKind,
  /**
   * What it says.
   */
  text: string,
  /**
   * Who raised it.
   */
  author: ParticipantInfo,
  /**
   * For a handoff: to whom (a user id).
   */
  to: string | null,
  /**
   * For a question: the answer, once given.
   */
  answer: string | null,
  /**
   * When, ms since the Unix epoch.
   */
  at: number,
};

/**
 * Work someone holds.
 */
export type Holding = {
  /**
   * Who.
   */
  who: string,
  /**
   * What.
   */
  what: string,
};

/**
 * What the next person needs, derived from the room.
 */
export type HandoffSummary = {
  /**
   * Accepted decisions, oldest first.
   */
  decisions: Array<string>,
  /**
   * Questions without an answer, oldest first.
   */
  openQuestions: Array<string>,
  /**
   * Work in progress (in-progress entries and streaming agent turns) and who holds it.
   */
  inProgress: Array<Holding>,
  /**
   * Handoffs made, as "from → to: what".
   */
  handoffs: Array<string>,
};

/**
 * A named version of the room.
 */
export type VersionInfo = {
  /**
   * Version id.
   */
  id: string,
  /**
   * Its name.
   */
  name: string,
  /**
   * Who made it.
   */
  author: ParticipantInfo,
  /**
   * When, ms since the Unix epoch.
   */
  at: number,
};

/**
 * What happened to a span between two versions.
 */
export type SpanChange = "unchanged" | "inserted" | "deleted";

/**
 * A span of a document diff.
 */
export type DiffSpan = {
  /**
   * The text of the span.
   */
  text: string,
  /**
   * What happened to it.
   */
  change: SpanChange,
  /**
   * Who wrote the span's text.
   */
  author: ParticipantInfo | null,
  /**
   * For a deleted span: who deleted it (when a Confab client did).
   */
  deletedBy: ParticipantInfo | null,
  /**
   * The yrs client id that wrote the span.
   */
  client: number | null,
  /**
   * The agent turn the span was written for, when recorded.
   */
  turn: string | null,
  /**
   * The agent's model, when recorded.
   */
  model: string | null,
};

/**
 * Who wrote a stretch of a document's current text.
 */
export type BlameSpan = {
  /**
   * The text.
   */
  text: string,
  /**
   * Where it starts (UTF-16 offset in the current text).
   */
  start: number,
  /**
   * Where it ends (exclusive).
   */
  end: number,
  /**
   * Who wrote it, when known.
   */
  author: ParticipantInfo | null,
  /**
   * True when an agent wrote it.
   */
  agent: boolean,
  /**
   * The yrs client id that wrote it.
   */
  client: number | null,
  /**
   * The agent turn it was written for, when recorded.
   */
  turn: string | null,
  /**
   * The agent's model, when recorded.
   */
  model: string | null,
};

/**
 * Where a comment is.
 */
export type CommentAnchor = {
  /**
   * The document, for a comment on a range.
   */
  document: string | null,
  /**
   * Where the range is now (UTF-16), following the edits since.
   */
  start: number | null,
  /**
   * Its end, exclusive.
   */
  end: number | null,
  /**
   * The text the range held when commented.
   */
  quote: string | null,
  /**
   * The message, for a comment on a chat message (a thread).
   */
  message: string | null,
};

/**
 * A reply in a thread.
 */
export type CommentReply = {
  /**
   * Who wrote it.
   */
  author: ParticipantInfo,
  /**
   * What they wrote.
   */
  text: string,
  /**
   * When (ms since the epoch).
   */
  at: number,
};

/**
 * A comment and its thread.
 */
export type CommentInfo = {
  /**
   * Id.
   */
  id: string,
  /**
   * Who wrote it.
   */
  author: ParticipantInfo,
  /**
   * What they wrote.
   */
  text: string,
  /**
   * When (ms since the epoch).
   */
  createdAt: number,
  /**
   * Where it is.
   */
  anchor: CommentAnchor,
  /**
   * Who resolved it, while it is resolved.
   */
  resolvedBy: ParticipantInfo | null,
  /**
   * Replies, oldest first.
   */
  replies: Array<CommentReply>,
};

/**
 * Who wrote an entry, as the tree records it.
 */
export type FileAuthor = {
  /**
   * User id.
   */
  id: string,
  /**
   * Display name.
   */
  name: string,
  /**
   * `person` or `agent`.
   */
  kind: string,
};

/**
 * One stored content of a file.
 */
export type FileVersion = {
  /**
   * SHA-256 of the bytes, lowercase hex.
   */
  hash: string,
  /**
   * Size in bytes.
   */
  size: number,
  /**
   * Media type.
   */
  type: string,
  /**
   * Who wrote it (user id).
   */
  author: string,
  /**
   * When, ms since the Unix epoch.
   */
  at: number,
};

/**
 * A file or folder in the room's tree.
 */
export type FileEntry = {
  /**
   * Where it is: `/`-separated, no leading or trailing `/` (see [`normalize_path`]).
   */
  path: string,
  /**
   * A folder (no content) rather than a file.
   */
  folder: boolean,
  /**
   * Size of the current content, in bytes (0 for a folder).
   */
  size: number,
  /**
   * Media type (empty for a folder).
   */
  type: string,
  /**
   * SHA-256 of the current content, lowercase hex (empty for a folder).
   */
  hash: string,
  /**
   * The shared document holding a text file's body, if it is one.
   */
  doc?: string,
  /**
   * Who wrote the current content (or made the folder).
   */
  author: FileAuthor,
  /**
   * Created, ms since the Unix epoch.
   */
  createdAt: number,
  /**
   * Last written, moved or restored, ms since the Unix epoch.
   */
  updatedAt: number,
  /**
   * When it was deleted (a tombstone kept for history), if it was.
   */
  deletedAt?: number,
  /**
   * Who deleted it.
   */
  deletedBy?: FileAuthor,
  /**
   * Every content it had, oldest first (at most [`MAX_VERSIONS`]).
   */
  versions: Array<FileVersion>,
};

/**
 * How close two concurrent text changes must be to count as a conflict.
 */
export type Granularity = "char" | "word" | "line";

/**
 * What happens to a write whose declared base is stale.
 */
export type StalePolicy = "hold" | "apply";

/**
 * What collided.
 */
export type ConflictKind = "text" | "field" | "stale" | "suggestion";

/**
 * Where a conflict stands.
 */
export type ConflictStatus = "open" | "awaiting-agent" | "proposed" | "resolved";

/**
 * A resolution choice.
 */
export type ConflictChoice = "mine" | "theirs" | "side" | "both" | "manual" | "agent" | "proposal";

/**
 * One side of a conflict: who changed what.
 */
export type ConflictSide = {
  /**
   * Who made the change, when their client registered.
   */
  author: ParticipantInfo | null,
  /**
   * The yrs client id behind the change.
   */
  client: number,
  /**
   * Text this side inserted (for a field: the value it wrote).
   */
  inserted: string,
  /**
   * Text this side deleted.
   */
  deleted: string,
  /**
   * When this side's change began, ms since the Unix epoch.
   */
  at: number,
  /**
   * The agent turn it was made for, when known.
   */
  turn: string | null,
  /**
   * The agent's model, when known.
   */
  model: string | null,
  /**
   * True for the side that wrote from a stale base.
   */
  stale: boolean,
};

/**
 * Who resolved a conflict, and how.
 */
export type ConflictResolution = {
  /**
   * The choice.
   */
  choice: ConflictChoice,
  /**
   * The side kept, for `mine`, `theirs` and `side`.
   */
  side: number | null,
  /**
   * The text given, for `manual` (or an agent's answer).
   */
  text: string | null,
  /**
   * Who chose.
   */
  by: ParticipantInfo,
  /**
   * When, ms since the Unix epoch.
   */
  at: number,
};

/**
 * A merge an agent proposed for a conflict, held until a person accepts or rejects it.
 */
export type ConflictProposal = {
  /**
   * The merged text, for the stretch in conflict (`Conflict::current`).
   */
  text: string,
  /**
   * Why this merge: one paragraph for the person deciding.
   */
  rationale: string,
  /**
   * Who proposed it.
   */
  by: ParticipantInfo,
  /**
   * When, ms since the Unix epoch.
   */
  at: number,
};

/**
 * A conflict record.
 */
export type Conflict = {
  /**
   * Stable id, equal on every replica.
   */
  id: string,
  /**
   * What collided.
   */
  kind: ConflictKind,
  /**
   * The document, for text and stale conflicts.
   */
  doc: string | null,
  /**
   * The field (`root/id/key`), for field conflicts.
   */
  field: string | null,
  /**
   * Where the conflicting stretch is now: UTF-16 offsets into the document.
   */
  start: number,
  /**
   * End of that stretch (exclusive).
   */
  end: number,
  /**
   * The text both sides started from (for a field: empty).
   */
  before: string,
  /**
   * What the room shows there now.
   */
  current: string,
  /**
   * The two sides.
   */
  sides: Array<ConflictSide>,
  /**
   * True when a side wrote from a stale base.
   */
  stale: boolean,
  /**
   * True for a stale write held as a suggestion (not applied).
   */
  held: boolean,
  /**
   * Open, awaiting an agent, or resolved.
   */
  status: ConflictStatus,
  /**
   * Who asked an agent, while awaiting one.
   */
  askedBy: ParticipantInfo | null,
  /**
   * The merge an agent proposed, while it waits for a person; for a suggestion, the
   * suggested text and its note.
   */
  proposal: ConflictProposal | null,
  /**
   * How it was resolved.
   */
  resolution: ConflictResolution | null,
  /**
   * The latest side's time.
   */
  at: number,
};

/**
 * What happened to a conflict since the last look.
 */
export type ConflictNoticeKind = "raised" | "awaiting-agent" | "proposed" | "resolved";

/**
 * A change in the room's conflicts, told to one participant.
 */
export type ConflictNotice = {
  /**
   * What happened.
   */
  kind: ConflictNoticeKind,
  /**
   * True when this participant should act: they have a side in a new conflict, or
   * they are an agent and someone asked an agent to resolve it.
   */
  needsInput: boolean,
  /**
   * The conflict as it stands.
   */
  conflict: Conflict,
};

/**
 * The outcome of a write with a declared base.
 */
export type BasedWrite = {
  /**
   * Whether the text changed now.
   */
  applied: boolean,
  /**
   * The conflict recorded when the base was stale.
   */
  conflict: string | null,
  /**
   * Where the write landed (or would land), UTF-16 offsets into the current text.
   */
  start: number,
  /**
   * End of that range after the write (exclusive).
   */
  end: number,
};

/**
 * What a participant may do in a room, from most to least.
 */
export type MemberRole = "owner" | "editor" | "reviewer" | "viewer";

/**
 * What happens to a write to a document that requires a lease, from someone who
 * does not hold one.
 */
export type LeasePolicy = "refuse" | "suggest";

/**
 * A granted lease.
 */
export type Lease = {
  /**
   * What is leased.
   */
  resource: string,
  /**
   * The holder's user id (from its token).
   */
  holder: string,
  /**
   * The holder's display name.
   */
  holderName: string,
  /**
   * Person or agent.
   */
  holderKind: ParticipantKind,
  /**
   * The grant's fencing token: larger than every earlier grant's in this room.
   */
  fence: number,
  /**
   * When it was granted (ms since the Unix epoch).
   */
  acquiredAt: number,
  /**
   * When it lapses unless renewed (ms since the Unix epoch).
   */
  expiresAt: number,
};

/**
 * What an agent's recorded activity is.
 */
export type ActivityKind = "agent_started" | "agent_completed" | "memory_read" | "memory_write" | "memory_delete" | "council_debate" | "council_synthesis" | "council_decision" | "task_assigned" | "task_completed" | "message_sent" | "collaboration_started" | "collaboration_ended";

/**
 * Where an activity stands.
 */
export type ActivityStatus = "started" | "completed" | "failed";

/**
 * One recorded agent activity.
 */
export type Activity = {
  /**
   * Id (`a<number>`).
   */
  id: string,
  /**
   * The agent's user id.
   */
  agent: string,
  /**
   * The agent's name.
   */
  agentName: string,
  /**
   * What kind of activity.
   */
  kind: ActivityKind,
  /**
   * One line on what it is.
   */
  summary: string,
  /**
   * Free-form details.
   */
  detail: unknown,
  /**
   * Under way, done or failed.
   */
  status: ActivityStatus,
  /**
   * What came of it.
   */
  result: string | null,
  /**
   * A collaboration it belongs to.
   */
  collaboration: string | null,
  /**
   * Started, ms since the Unix epoch.
   */
  startedAt: number,
  /**
   * Completed, ms since the Unix epoch.
   */
  completedAt: number | null,
};

/**
 * Whether an agent is working.
 */
export type AgentState = "active" | "idle";

/**
 * A decision point in a collaboration.
 */
export type Decision = {
  /**
   * Who decided.
   */
  by: string,
  /**
   * What was decided.
   */
  text: string,
  /**
   * When, ms since the Unix epoch.
   */
  at: number,
};

/**
 * Where a collaboration stands.
 */
export type CollaborationStatus = "active" | "ended";

/**
 * A collaboration session between participants (agents and people).
 */
export type Collaboration = {
  /**
   * Id (`c<number>`).
   */
  id: string,
  /**
   * What it is about.
   */
  title: string,
  /**
   * Who started it.
   */
  startedBy: string,
  /**
   * Participants' user ids.
   */
  participants: Array<string>,
  /**
   * Decision points, in order.
   */
  decisions: Array<Decision>,
  /**
   * Active or ended.
   */
  status: CollaborationStatus,
  /**
   * How it ended.
   */
  outcome: string | null,
  /**
   * Started, ms since the Unix epoch.
   */
  startedAt: number,
  /**
   * Ended, ms since the Unix epoch.
   */
  endedAt: number | null,
};

/**
 * `message.list`.
 */
export type MessageListArgs = {
  /**
   * Only this conversation.
   */
  conversation?: string,
};

/**
 * `message.post`.
 */
export type MessagePostArgs = {
  /**
   * The conversation (default `main`, created when missing).
   */
  conversation?: string,
  /**
   * The text.
   */
  text: string,
};

/**
 * `document.write`.
 */
export type DocumentWriteArgs = {
  /**
   * The document.
   */
  id: string,
  /**
   * Its whole new text.
   */
  text: string,
  /**
   * A title, when the document is created.
   */
  title?: string,
  /**
   * The fencing token of the caller's lease on `doc:<id>`.
   */
  fence?: number,
};

/**
 * An operation on one thing by id.
 */
export type IdArgs = {
  /**
   * Its id.
   */
  id: string,
};

/**
 * `lock.acquire`.
 */
export type AcquireArgs = {
  /**
   * What to lease (`doc:<id>`, `doc:<id>#<start>-<end>`, `path:<prefix>`, ...).
   */
  resource: string,
  /**
   * For how long, in milliseconds.
   */
  ttlMs: number,
};

/**
 * `lock.renew`.
 */
export type RenewArgs = {
  /**
   * The leased resource.
   */
  resource: string,
  /**
   * The lease's fencing token.
   */
  fence: number,
  /**
   * New time to live, in milliseconds.
   */
  ttlMs: number,
};

/**
 * `lock.release` and `lock.verify`.
 */
export type LeaseArgs = {
  /**
   * The leased resource.
   */
  resource: string,
  /**
   * The lease's fencing token.
   */
  fence: number,
};

/**
 * `lock.policy`.
 */
export type PolicyArgs = {
  /**
   * The document.
   */
  document: string,
  /**
   * Its policy; `null` clears it.
   */
  policy: LeasePolicy | null,
};

/**
 * `activity.record`.
 */
export type ActivityArgs = {
  /**
   * What kind of activity.
   */
  kind: ActivityKind,
  /**
   * One line on what it is.
   */
  summary?: string,
  /**
   * Free-form details.
   */
  detail?: unknown,
  /**
   * The collaboration it belongs to.
   */
  collaboration?: string,
};

/**
 * `activity.complete`.
 */
export type CompleteArgs = {
  /**
   * The activity.
   */
  id: string,
  /**
   * What came of it.
   */
  result?: string,
  /**
   * It failed.
   */
  failed?: boolean,
};

/**
 * `agent.status`.
 */
export type StatusArgs = {
  /**
   * Active or idle.
   */
  status: AgentState,
};

/**
 * `collaboration.start`.
 */
export type CollabArgs = {
  /**
   * What it is about.
   */
  title: string,
  /**
   * Who takes part (the caller always does).
   */
  participants?: Array<string>,
};

/**
 * `collaboration.decide`.
 */
export type DecideArgs = {
  /**
   * The collaboration.
   */
  id: string,
  /**
   * What was decided.
   */
  text: string,
};

/**
 * `collaboration.end`.
 */
export type EndArgs = {
  /**
   * The collaboration.
   */
  id: string,
  /**
   * How it ended.
   */
  outcome?: string,
};

/**
 * `member.role`.
 */
export type RoleArgs = {
  /**
   * The member.
   */
  user: string,
  /**
   * Their new role.
   */
  role: MemberRole,
};

/**
 * `member.transfer` and `member.remove`.
 */
export type UserArgs = {
  /**
   * The member.
   */
  user: string,
};

/**
 * `member.invite`.
 */
export type InviteArgs = {
  /**
   * The role to give.
   */
  role: MemberRole,
  /**
   * The invitee's user id (a guest id when missing).
   */
  user?: string,
  /**
   * Their display name.
   */
  name?: string,
  /**
   * Person or agent.
   */
  kind?: ParticipantKind,
  /**
   * How long the token is good for, in seconds (default one hour).
   */
  ttlSecs?: number,
};

/**
 * `agent.invite`.
 */
export type AgentInviteArgs = {
  /**
   * The agent's display name; its user id is derived from it and the inviter's.
   */
  name: string,
  /**
   * How long the token is good for, in seconds (default one hour).
   */
  ttlSecs?: number,
};

/**
 * `webhook.create`.
 */
export type WebhookArgs = {
  /**
   * Where deliveries are POSTed.
   */
  url: string,
  /**
   * The events to deliver.
   */
  events: Array<string>,
  /**
   * The signing secret, 16 to 256 bytes.
   */
  secret: string,
  /**
   * Deliver only events about these paths: each a prefix (`/output/`) of a file
   * event's path (or of a move's either end). Events without a path are not sent.
   */
  paths?: Array<string>,
};

/**
 * `file.list`.
 */
export type FileListArgs = {
  /**
   * Only entries under this folder.
   */
  prefix?: string,
  /**
   * Include deleted entries (tombstones kept for history).
   */
  deleted?: boolean,
};

/**
 * An operation on one path, with the fencing token of the caller's `path:` lease.
 */
export type PathArgs = {
  /**
   * The file or folder.
   */
  path: string,
  /**
   * The fencing token of the caller's lease covering the path.
   */
  fence?: number,
};

/**
 * `file.write`.
 */
export type FileWriteArgs = {
  /**
   * The file.
   */
  path: string,
  /**
   * Its whole new text.
   */
  text: string,
  /**
   * Its media type (default: by its name, else `text/plain`).
   */
  type?: string,
  /**
   * The fencing token of the caller's lease covering the path.
   */
  fence?: number,
};

/**
 * `file.move`.
 */
export type FileMoveArgs = {
  /**
   * Where it is.
   */
  from: string,
  /**
   * Where it goes (nothing live may be there).
   */
  to: string,
  /**
   * The fencing token of the caller's lease covering both paths.
   */
  fence?: number,
};

/**
 * `search`.
 */
export type SearchArgs = {
  /**
   * Words to find (all of them; the last may be the start of a word). `"…"` quotes
   * a phrase.
   */
  query: string,
  /**
   * Only these kinds: `document`, `file`, `message`, `comment`, `context`.
   */
  kinds?: Array<string>,
  /**
   * Only what this participant (user id) wrote.
   */
  author?: string,
  /**
   * Only what was written at or after this time (ms since the Unix epoch).
   */
  after?: number,
  /**
   * Only what was written before this time.
   */
  before?: number,
  /**
   * Most hits (1 to 100, default 20).
   */
  limit?: number,
};

/**
 * The arguments of every operation a room answers (`void`: none).
 */
export type OpArgs = {
  "room.summary": void,
  "presence.list": void,
  "message.list": MessageListArgs,
  "message.post": MessagePostArgs,
  "document.list": void,
  "document.get": IdArgs,
  "document.write": DocumentWriteArgs,
  "lock.acquire": AcquireArgs,
  "lock.renew": RenewArgs,
  "lock.release": LeaseArgs,
  "lock.verify": LeaseArgs,
  "lock.list": void,
  "lock.policy": PolicyArgs,
  "activity.record": ActivityArgs,
  "activity.complete": CompleteArgs,
  "activity.list": void,
  "agent.status": StatusArgs,
  "agent.list": void,
  "agent.invite": AgentInviteArgs,
  "collaboration.start": CollabArgs,
  "collaboration.decide": DecideArgs,
  "collaboration.end": EndArgs,
  "collaboration.list": void,
  "member.list": void,
  "member.invite": InviteArgs,
  "member.role": RoleArgs,
  "member.transfer": UserArgs,
  "member.leave": void,
  "member.remove": UserArgs,
  "webhook.create": WebhookArgs,
  "webhook.list": void,
  "webhook.delete": IdArgs,
  "suggestion.list": void,
  "suggestion.accept": IdArgs,
  "suggestion.reject": IdArgs,
  "file.list": FileListArgs,
  "file.get": PathArgs,
  "file.write": FileWriteArgs,
  "file.move": FileMoveArgs,
  "file.delete": PathArgs,
  "file.restore": PathArgs,
  "folder.create": PathArgs,
  "search": SearchArgs,
};
