/**
 * Confab: multiplayer AI sessions. People and agents share one live room — the
 * conversation, the documents, presence — merged by a Rust CRDT core (yrs) running in
 * WebAssembly, relayed and persisted by a Confab edge.
 *
 * ```ts
 * import { Room } from "confab-rooms";
 * const room = await Room.open({ url: "ws://127.0.0.1:8787/rooms", room: "demo", user: { id: "ada", name: "Ada" } });
 * await room.whenSynced();
 * room.ensureConversation("main", "Main");
 * room.postMessage("main", "hello, team");
 * ```
 *
 * @module
 */
import initWasm, { initSync, Room as WasmRoom } from "../wasm/confab_wasm.js";
import type {
  BasedWrite,
  BlameSpan,
  Conflict,
  ConflictChoice,
  DocumentRead,
  Granularity,
  StalePolicy,
  BranchInfo,
  DiffSpan,
  VersionInfo,
  ConnectionState,
  ContextDraft,
  ContextEntry,
  ContextEvent,
  HandoffSummary,
  ConversationInfo,
  DocumentInfo,
  MergeSummary,
  MessageInfo,
  ParticipantInfo,
  PeerInfo,
  PresenceInfo,
  RoomEvent,
  RoomOptions,
  SessionInfo,
  ViewPatch,
  ViewState,
} from "../wasm/confab_wasm.js";

export type {
  BasedWrite,
  BlameSpan,
  Conflict,
  ConflictChoice,
  ConflictNotice,
  ConflictResolution,
  ConflictSide,
  DocumentRead,
  Granularity,
  StalePolicy,
  BranchInfo,
  DiffSpan,
  VersionInfo,
  ConnectionState,
  ContextDraft,
  ContextEntry,
  ContextEvent,
  ContextKind,
  HandoffSummary,
  ConversationInfo,
  DocumentInfo,
  MergeRecord,
  MergeSummary,
  MessageInfo,
  ParticipantInfo,
  PeerInfo,
  PresenceInfo,
  ReactionInfo,
  RoomEvent,
  RoomOptions,
  FeedEvent,
  SessionInfo,
  SyncInfo,
  TurnStatus,
  View,
  ViewPatch,
  ViewState,
} from "../wasm/confab_wasm.js";

/** A message role. */
export type Role = MessageInfo["role"];

let loading: Promise<void> | undefined;
let loaded = false;
let defaultWebSocket: unknown;

interface NodeLike {
  process?: { versions?: { node?: string } };
  window?: unknown;
  WebSocket?: unknown;
}

/**
 * Load the WebAssembly module. Called by {@link Room.open}; call it yourself before
 * `new Room(...)`. Safe to call many times.
 */
export function init(): Promise<void> {
  loading ??= (async () => {
    const g = globalThis as NodeLike;
    const wasmUrl = new URL("../wasm/confab_wasm_bg.wasm", import.meta.url);
    if (g.process?.versions?.node && g.window === undefined) {
      // Node: read the module from disk; use the `ws` package when the runtime has no
      // WebSocket of its own (Node 20).
      const fsModule = "node:fs/promises";
      const { readFile } = (await import(/* @vite-ignore */ fsModule)) as {
        readFile(path: URL): Promise<Uint8Array>;
      };
      initSync({ module: await readFile(wasmUrl) });
      if (typeof g.WebSocket !== "function") {
        const wsModule = "ws";
        defaultWebSocket = await import(/* @vite-ignore */ wsModule).then(
          (m: { default?: unknown; WebSocket?: unknown }) => m.WebSocket ?? m.default,
          () => undefined,
        );
      }
    } else {
      await initWasm({ module_or_path: wasmUrl });
    }
    loaded = true;
  })();
  return loading;
}

type Listener<E> = (event: E) => void;
type EventOf<T extends RoomEvent["type"]> = Extract<RoomEvent, { type: T }>;

/** A lease granted by the room: `fence` grows with every grant. */
export interface Lease {
  resource: string; holder: string; holderName: string; holderKind: string;
  fence: number; acquiredAt: number; expiresAt: number;
}

/** Raised when a room does not reach a state (or save) in time. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
  readonly code = "timeout";
}

/** Raised by what a room was waiting for when it is destroyed. */
export class DestroyedError extends Error {
  override name = "DestroyedError";
  readonly code = "destroyed";
}

/**
 * A live Confab room. Local edits apply at once and are sent when connected; remote
 * edits merge as they arrive; the connection reconnects with backoff on its own.
 */
export class Room {
  readonly #inner: WasmRoom;
  readonly #listeners = new Map<RoomEvent["type"], Set<Listener<never>>>();
  /** Rejects each promise still waiting (`whenSaved`, `whenState`), for `destroy()`. */
  readonly #waiting = new Set<(err: Error) => void>();
  #destroyed = false;

  /** Join `options.room` and start connecting. Loads the WebAssembly module first. */
  static async open(options: RoomOptions): Promise<Room> {
    await init();
    const room = new Room(options);
    room.connect();
    return room;
  }

  /** Create an offline room client; requires {@link init} to have completed. */
  constructor(options: RoomOptions) {
    if (!loaded) {
      throw new Error("confab is not initialised: `await init()` (or use `await Room.open(...)`) first");
    }
    const withSocket =
      options.WebSocket === undefined && defaultWebSocket !== undefined
        ? { ...options, WebSocket: defaultWebSocket }
        : options;
    this.#inner = new WasmRoom(withSocket);
    this.#inner.setListener((event: RoomEvent) => this.#dispatch(event));
  }

  #dispatch(event: RoomEvent): void {
    for (const listener of this.#listeners.get(event.type) ?? []) {
      try {
        (listener as Listener<RoomEvent>)(event);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Listen to one kind of event; returns a function that stops listening. */
  on<T extends RoomEvent["type"]>(type: T, listener: Listener<EventOf<T>>): () => void {
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  /** Resolve once the room is synced (at once if it already is). */
  whenSynced(timeoutMs = 10_000): Promise<void> {
    return this.whenState("synced", timeoutMs);
  }

  /** Resolve once the connection reaches `state`. */
  whenState(state: ConnectionState, timeoutMs = 10_000): Promise<void> {
    if (this.#destroyed) return Promise.reject(destroyed(`cannot wait for "${state}"`));
    if (this.state === state) return Promise.resolve();
    return this.#wait("status", (e) => e.state === state, timeoutMs, () =>
      `room did not reach "${state}" within ${timeoutMs} ms (it is "${this.state}")`,
    );
  }

  /**
   * Settle once `done` accepts an event of `type`; reject with a {@link TimeoutError}
   * after `timeoutMs`, or a {@link DestroyedError} when the room is destroyed first.
   */
  #wait<T extends RoomEvent["type"]>(
    type: T,
    done: (event: EventOf<T>) => boolean,
    timeoutMs: number,
    timeoutMessage: () => string,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (err?: Error) => {
        clearTimeout(timer);
        off();
        this.#waiting.delete(settle);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => settle(new TimeoutError(timeoutMessage())), timeoutMs);
      const off = this.on(type, (e) => {
        if (done(e)) settle();
      });
      this.#waiting.add(settle);
    });
  }

  /** Connect, and keep reconnecting with backoff until {@link disconnect}. */
  connect(): void {
    this.#inner.connect();
  }

  /** Leave: announce departure, close the socket, stop reconnecting. */
  disconnect(): void {
    this.#inner.disconnect();
  }

  /**
   * Disconnect and release the WebAssembly object. The room is unusable afterwards.
   * What was waiting on it rejects: `whenSaved`/`whenState` with a {@link DestroyedError}
   * (`code` `"destroyed"`), requests with `code` `"disconnected"`. Safe to call twice.
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#inner.destroy();
    for (const settle of [...this.#waiting]) settle(destroyed("before this settled"));
    this.#listeners.clear();
    this.#inner.free();
  }

  /** `offline`, `connecting`, `syncing`, `synced` or `reconnecting`. */
  get state(): ConnectionState {
    return this.#inner.state;
  }

  /** The URL this room connects to. */
  get url(): string {
    return this.#inner.url;
  }

  /** The CRDT client id of this client's edits. */
  get clientId(): number {
    return this.#inner.clientId;
  }

  /** This connection's role, once the room said it (see the `session` event). */
  get role(): SessionInfo["role"] | undefined {
    return this.#inner.role;
  }

  /** True for viewers and reviewers: edits throw before they are made (reviewers may still react). */
  get readOnly(): boolean {
    return this.#inner.readOnly;
  }

  /**
   * Local updates the room has not stored: sent and not yet acknowledged, or not yet
   * sent (made offline, or before the room answered the handshake). 0 means every local
   * edit is saved.
   */
  get unacked(): number {
    return this.#inner.unacked;
  }

  /**
   * Resolve once the room has stored every local edit made so far. Edits made offline
   * are not saved: this waits for the reconnect that sends them (and the room's
   * acknowledgement), or rejects with a {@link TimeoutError} after `timeoutMs`.
   */
  whenSaved(timeoutMs = 10_000): Promise<void> {
    if (this.#destroyed) return Promise.reject(destroyed("cannot wait for a save"));
    if (this.unacked === 0) return Promise.resolve();
    return this.#wait("saved", (e) => e.unacked === 0, timeoutMs, () =>
      `${this.unacked} update(s) not stored within ${timeoutMs} ms`,
    );
  }

  /** Use a fresh token (after a `token-expired` event) and reconnect with it. */
  setToken(token: string): void {
    this.#inner.setToken(token);
  }

  /**
   * Ask the room's authority: any operation of the REST API (`lock.acquire`,
   * `activity.record`, `collaboration.start`, ...). Rejects with an `Error` whose `code`
   * names the refusal (`lock_held`, `forbidden`, ...).
   */
  request<T = unknown>(op: string, args?: Record<string, unknown>): Promise<T> {
    return this.#inner.request(op, args ?? null) as Promise<T>;
  }

  /** Take a lease on `resource` (`doc:<id>`, `path:<path>`, `range:<doc>:<a>-<b>`) for `ttlMs`. */
  acquireLock(resource: string, ttlMs: number): Promise<{ lease: Lease }> {
    return this.request("lock.acquire", { resource, ttlMs });
  }

  /** Extend a lease you hold (same fencing token). */
  renewLock(resource: string, fence: number, ttlMs: number): Promise<{ lease: Lease }> {
    return this.request("lock.renew", { resource, fence, ttlMs });
  }

  /** Give a lease back. */
  releaseLock(resource: string, fence: number): Promise<{ released: Lease }> {
    return this.request("lock.release", { resource, fence });
  }

  /** Create a conversation; returns its id. */
  createConversation(title: string, id?: string): string {
    return this.#inner.createConversation(title, id);
  }

  /** Create conversation `id` unless it exists. */
  ensureConversation(id: string, title: string): void {
    this.#inner.ensureConversation(id, title);
  }

  /** Every conversation, oldest first. */
  conversations(): ConversationInfo[] {
    return this.#inner.conversations();
  }

  /** Post a message as this participant; returns its id. */
  postMessage(conversation: string, text: string, role?: Role): string {
    return this.#inner.postMessage(conversation, text, role);
  }

  /** A conversation's messages, in the same order on every replica. */
  messages(conversation: string): MessageInfo[] {
    return this.#inner.messages(conversation);
  }

  /**
   * Open an agent turn: a message whose text streams into the room as you append to
   * it. Everyone sees it grow; a late joiner gets the partial text. Returns its id.
   */
  openTurn(conversation: string, role: Role = "assistant"): string {
    return this.#inner.openTurn(conversation, role);
  }

  /** Append text to an open turn (batched about once a frame). Throws once stopped. */
  appendTurn(id: string, chunk: string): void {
    this.#inner.appendTurn(id, chunk);
  }

  /** Finish an open turn. */
  finishTurn(id: string): void {
    this.#inner.finishTurn(id);
  }

  /** Fail an open turn with a reason everyone sees. */
  failTurn(id: string, reason: string): void {
    this.#inner.failTurn(id, reason);
  }

  /** Ask an open turn to stop; anyone in the room may. */
  stopTurn(id: string): void {
    this.#inner.stopTurn(id);
  }

  /**
   * Stream an async iterable of text chunks (e.g. a model's token stream) into a new
   * turn. Resolves with the turn id once finished; if someone stops the turn, the
   * stream is abandoned and the turn stays `stopped`; if the source throws, the turn
   * is failed with its message. While it streams, this client's document edits are
   * attributed to the turn (and `options.model`), as {@link actFor} does.
   */
  async streamTurn(
    conversation: string,
    chunks: AsyncIterable<string> | Iterable<string>,
    options: { model?: string } = {},
  ): Promise<string> {
    const id = this.openTurn(conversation);
    this.actFor(id, options.model);
    try {
      for await (const chunk of chunks) {
        const status = this.turnStatus(id);
        if (status !== "pending" && status !== "streaming") return id;
        this.appendTurn(id, chunk);
      }
    } catch (err) {
      const status = this.turnStatus(id);
      if (status === "pending" || status === "streaming") {
        this.failTurn(id, err instanceof Error ? err.message : String(err));
        return id;
      }
      if (status === "stopped") return id;
      throw err;
    } finally {
      this.actFor();
    }
    const status = this.turnStatus(id);
    if (status === "pending" || status === "streaming") this.finishTurn(id);
    return id;
  }

  /** A message's status (plain posts are `done`). */
  turnStatus(id: string): MessageInfo["status"] {
    return this.#inner.turnStatus(id);
  }

  /** React to a message (e.g. "helpful"). */
  react(message: string, kind: string): void {
    this.#inner.react(message, kind);
  }

  /** Take back your reaction. */
  unreact(message: string, kind: string): void {
    this.#inner.unreact(message, kind);
  }

  /** Fork a conversation at a message; returns the branch's conversation id. */
  forkConversation(parent: string, atMessage: string, title: string): string {
    return this.#inner.forkConversation(parent, atMessage, title);
  }

  /** The branches forked from a conversation. */
  branches(conversation: string): BranchInfo[] {
    return this.#inner.branches(conversation);
  }

  /** Merge a branch's picked messages and a summary back into its parent. */
  mergeBranch(branch: string, picked: string[], summary: MergeSummary): string {
    return this.#inner.mergeBranch(branch, picked, summary);
  }

  /** Your view (tabs, active tab, layout) and whom you are synced with. */
  view(): ViewState {
    return this.#inner.view();
  }

  /** Change your view — the shared one while synced with a teammate. */
  setView(patch: ViewPatch): void {
    this.#inner.setView(patch);
  }

  /** Online teammates you can sync with (other people present). */
  syncPartners(): ParticipantInfo[] {
    return this.#inner.syncPartners();
  }

  /** Everyone present other than you, people and agents, once each. */
  participants(): ParticipantInfo[] {
    return this.#inner.participants();
  }

  /** Follow one shared view with `partnerId`, starting from yours. Returns the sync id. */
  startSync(partnerId: string): string {
    return this.#inner.startSync(partnerId);
  }

  /** Stop syncing: you and your partner each keep a copy of the shared view. */
  stopSync(): void {
    this.#inner.stopSync();
  }

  /** The room's shared AI context (staleness worked out now). */
  sharedContext(): ContextEntry[] {
    return this.#inner.sharedContext();
  }

  /** Propose an entry to the shared context; it lands `proposed`. Returns its id. */
  proposeContext(draft: ContextDraft): string {
    return this.#inner.proposeContext(draft);
  }

  /** Accept or re-confirm a shared entry (context owner only). */
  acceptContext(id: string): void {
    this.#inner.acceptContext(id);
  }

  /** Retire a shared entry (context owner only). */
  retireContext(id: string): void {
    this.#inner.retireContext(id);
  }

  /** The context owner's user id, if named. */
  contextOwner(): string | undefined {
    return this.#inner.contextOwner();
  }

  /** Hand the context-owner role to another user. */
  setContextOwner(userId: string): void {
    this.#inner.setContextOwner(userId);
  }

  /** Add to your private context: it stays in this client, never in the room. */
  addPrivateContext(draft: ContextDraft): string {
    return this.#inner.addPrivateContext(draft);
  }

  /** Your private context. */
  privateContext(): ContextEntry[] {
    return this.#inner.privateContext();
  }

  /** Drop a private entry. */
  removePrivateContext(id: string): void {
    this.#inner.removePrivateContext(id);
  }

  /** Share a private entry with the room (attributed, `proposed`). Returns its shared id. */
  sharePrivateContext(id: string): string {
    return this.#inner.sharePrivateContext(id);
  }

  /** Shared and private entries relevant to these tags and refs, best first. */
  relevantContext(tags: string[], refs: string[] = []): ContextEntry[] {
    return this.#inner.relevantContext(tags, refs);
  }

  /** Make an announcement. */
  announce(text: string): string {
    return this.#inner.announce(text);
  }

  /** Ask the team a question. */
  ask(text: string): string {
    return this.#inner.ask(text);
  }

  /** Answer a question. */
  answerQuestion(id: string, answer: string): void {
    this.#inner.answerQuestion(id, answer);
  }

  /** Hand work to someone (their user id). */
  handoff(toUserId: string, text: string): string {
    return this.#inner.handoff(toUserId, text);
  }

  /** Announcements, questions and handoffs, oldest first. */
  contextEvents(): ContextEvent[] {
    return this.#inner.contextEvents();
  }

  /** Decisions, open questions, work in progress and who holds it, handoffs. */
  handoffSummary(): HandoffSummary {
    return this.#inner.handoffSummary();
  }

  /** The handoff summary as Markdown. */
  handoffMarkdown(): string {
    return this.#inner.handoffMarkdown();
  }

  /** Name the room's current state as a version (a checkpoint); returns its id. */
  createVersion(name: string): string {
    return this.#inner.createVersion(name);
  }

  /** Every named version, oldest first. */
  versions(): VersionInfo[] {
    return this.#inner.versions();
  }

  /** A document's text as it was at a version. */
  documentAt(version: string, document: string): string {
    return this.#inner.documentAt(version, document);
  }

  /** How a document changed between two versions (from the beginning / until now when omitted). */
  diffVersions(document: string, from?: string, to?: string): DiffSpan[] {
    return this.#inner.diffVersions(document, from, to);
  }

  /** Bring every document back to a version, as a new change attributed to you. */
  restoreVersion(version: string): string[] {
    return this.#inner.restoreVersion(version);
  }

  /** Who wrote each stretch of a document's current text (the whole text by default). */
  blame(document: string, start?: number, end?: number): BlameSpan[] {
    return this.#inner.blame(document, start, end);
  }

  /** Who a CRDT client id acts for. */
  participantForClient(clientId: number): ParticipantInfo | null {
    return this.#inner.participantForClient(clientId);
  }

  /** Create a shared document; returns its id. */
  createDocument(title: string, id?: string): string {
    return this.#inner.createDocument(title, id);
  }

  /** Create document `id` unless it exists. */
  ensureDocument(id: string, title: string): void {
    this.#inner.ensureDocument(id, title);
  }

  /** Every shared document, oldest first. */
  documents(): DocumentInfo[] {
    return this.#inner.documents();
  }

  /** A document's text. */
  documentText(id: string): string {
    return this.#inner.documentText(id);
  }

  /** Insert `text` at `index` (a JavaScript string index). */
  insertText(id: string, index: number, text: string): void {
    this.#inner.insertText(id, index, text);
  }

  /** Delete `length` characters (UTF-16 code units) at `index`. */
  deleteText(id: string, index: number, length: number): void {
    this.#inner.deleteText(id, index, length);
  }

  /**
   * Replace a document's whole text with `next`, as the smallest single edit (common
   * prefix and suffix kept) — what a `<textarea>` binding needs.
   */
  replaceText(id: string, next: string): void {
    const prev = this.documentText(id);
    if (prev === next) return;
    let start = 0;
    const max = Math.min(prev.length, next.length);
    while (start < max && prev.charCodeAt(start) === next.charCodeAt(start)) start++;
    let end = 0;
    while (
      end < max - start &&
      prev.charCodeAt(prev.length - 1 - end) === next.charCodeAt(next.length - 1 - end)
    ) {
      end++;
    }
    // Never split a surrogate pair.
    if (start > 0 && isHighSurrogate(prev.charCodeAt(start - 1))) start--;
    if (end > 0 && isLowSurrogate(prev.charCodeAt(prev.length - end))) end--;
    const removed = prev.length - start - end;
    const inserted = next.slice(start, next.length - end);
    this.replaceRange(id, start, removed, inserted);
  }

  /** Replace `length` UTF-16 code units at `index` with `text`, as one change. */
  replaceRange(id: string, index: number, length: number, text: string): void {
    this.#inner.replaceRange(id, index, length, text);
  }

  /** Rename a document (concurrent renames are kept as a conflict with both titles). */
  setDocumentTitle(id: string, title: string): void {
    this.#inner.setDocumentTitle(id, title);
  }

  /**
   * Every conflict in the room, oldest first: concurrent changes to one stretch of a
   * document, concurrent writes to one field, writes from a stale base. Listen with
   * `on("conflict", ...)`; `needsInput` says when this participant should act.
   */
  conflicts(): Conflict[] {
    return this.#inner.conflicts();
  }

  /**
   * Resolve a conflict: keep `"mine"` or `"theirs"`, a side by number (`"side"`, `{ side }`),
   * `"both"`, a `"manual"` merge (`{ text }`, which replaces the stretch in conflict,
   * `conflict.current`), or ask an `"agent"` (any agent may answer with a manual merge).
   * The change is attributed to this participant.
   */
  resolveConflict(id: string, choice: ConflictChoice, options: { side?: number; text?: string } = {}): void {
    this.#inner.resolveConflict(id, choice, options.side, options.text);
  }

  /**
   * Accept a write held as a suggestion (a `"stale"` conflict with `held: true`): it is
   * applied now, over the range it was meant for, attributed to you.
   */
  acceptSuggestion(id: string): void {
    this.#requireHeld(id);
    this.resolveConflict(id, "side", { side: 1 });
  }

  /** Reject a held suggestion: the text stays as it is, and the record says who rejected it. */
  rejectSuggestion(id: string): void {
    this.#requireHeld(id);
    this.resolveConflict(id, "side", { side: 0 });
  }

  #requireHeld(id: string): void {
    const conflict = this.conflicts().find((c) => c.id === id);
    if (!conflict) throw new Error(`unknown conflict \`${id}\``);
    if (!conflict.held) throw new Error(`conflict \`${id}\` is not a held suggestion`);
  }

  /** A document's text and the version it was read at (pass `base` to {@link writeBased}). */
  readDocument(id: string): DocumentRead {
    return this.#inner.readDocument(id);
  }

  /**
   * Replace `start..end` of the text *as read* at `base` with `text`. The range is
   * mapped onto the current text; if someone else changed it since, the write is held
   * as a suggestion (policy `"suggest"`, the default) or applied with a conflict record
   * (`"apply"`).
   */
  writeBased(id: string, start: number, end: number, text: string, base: Uint8Array): BasedWrite {
    return this.#inner.writeBased(id, start, end, text, base);
  }

  /** How close concurrent changes to a document must be to conflict (default `"word"`). */
  setGranularity(id: string, granularity: Granularity): void {
    this.#inner.setGranularity(id, granularity);
  }

  /** What a stale write to a document does (default `"suggest"`). */
  setStalePolicy(id: string, policy: StalePolicy): void {
    this.#inner.setStalePolicy(id, policy);
  }

  /** Agents: attribute the next edits to `turn` (and `model`); call with nothing to stop. */
  actFor(turn?: string, model?: string): void {
    this.#inner.actFor(turn, model);
  }

  /** Change a shared context entry's text (concurrent edits are kept as a conflict). */
  editContext(id: string, text: string): void {
    this.#inner.editContext(id, text);
  }

  /** Set this client's presence (status, activity, cursor, ...). */
  setPresence(state: Record<string, unknown>): void {
    this.#inner.setPresence(state);
  }

  /** Everyone's structured presence: status, activity, typing, cursor, view, following. */
  presence(): PresenceInfo[] {
    return this.#inner.presence();
  }

  /** Report input (key, click) so you show as active; edits report it by themselves. */
  noteInput(): void {
    this.#inner.noteInput();
  }

  /** Say what you (or your agent) are doing, e.g. "running tool grep"; null clears it. */
  setActivity(activity: string | null): void {
    this.#inner.setActivity(activity ?? undefined);
  }

  /** Say which conversation you are typing in; null when you stop. */
  setTyping(conversation: string | null): void {
    this.#inner.setTyping(conversation ?? undefined);
  }

  /** Publish your cursor or selection in a document (string indices). */
  setCursor(document: string, anchor: number, head: number = anchor): void {
    this.#inner.setCursor(document, anchor, head);
  }

  /** Remove your cursor. */
  clearCursor(): void {
    this.#inner.clearCursor();
  }

  /** Follow another user's view (their id); null to stop. */
  follow(userId: string | null): void {
    this.#inner.follow(userId ?? undefined);
  }

  /** Who else is typing in a conversation. */
  typingIn(conversation: string): ParticipantInfo[] {
    return this.#inner.typingIn(conversation);
  }

  /** Everyone present, this client included, with their raw presence state. */
  peers(): PeerInfo[] {
    return this.#inner.peers();
  }
}

function destroyed(detail: string): DestroyedError {
  return new DestroyedError(`the room was destroyed: ${detail}`);
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c < 0xdc00;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c < 0xe000;
}
