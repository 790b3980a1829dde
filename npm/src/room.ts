/**
 * A live Confab room: connection and lifecycle here; the room's content in its parts
 * (`chat`, `docs`, `presence`, `context`, `history`, `comments`, `locks`, `conflicts`, `views`).
 *
 * @module
 */
import { loadWasm } from "#load";
import { Room as WasmRoom } from "../wasm/confab_wasm.js";
import type {
  ConnectionStatus,
  RoomEvent as WasmRoomEvent,
  RoomOptions,
  SaveState,
  SessionInfo,
} from "../wasm/confab_wasm.js";
import { Chat } from "./chat.js";
import { Conflicts } from "./conflicts.js";
import { Context } from "./context.js";
import { Docs } from "./docs.js";
import { exportJSON, exportMarkdown, type RoomExport } from "./export.js";
import { ConfabError, DestroyedError, TimeoutError, toConfabError } from "./errors.js";
import { Handle } from "./handle.js";
import { Comments } from "./comments.js";
import { Files } from "./files.js";
import { History } from "./history.js";
import { Locks } from "./locks.js";
import { draftOf, LocalStore } from "./persist.js";
import { Presence } from "./presence.js";
import type { OpArgs, Requests, SearchResult } from "./requests.js";
import { readClaims } from "./token.js";
import { Views } from "./views.js";

/** What a room reports: `room.on(type, listener)`. Errors are {@link ConfabError}s. */
export type RoomEvent = Exclude<WasmRoomEvent, { type: "error" }> | { type: "error"; error: ConfabError };
/** An event's type. */
export type RoomEventType = RoomEvent["type"];
/** The event of one type. */
export type RoomEventOf<T extends RoomEventType> = Extract<RoomEvent, { type: T }>;

/** How to open a room: the room's options, and where to get its token. */
export interface OpenOptions extends RoomOptions {
  /**
   * Get a room token from your backend (`async (room) => token`), in place of `token`.
   * Called before connecting; again shortly before the token expires (the fresh token
   * is used from the next connection on, and the open one is left alone, so nothing
   * pending is disturbed); and whenever the room refuses an expired token, after which
   * the client reconnects by itself. A failure is an `error` event (`auth_failed`),
   * retried after 5 s.
   */
  auth?: (room: string) => Promise<string> | string;
  /**
   * Keep the room on this device (`"indexeddb"`, in browsers): edits made offline
   * survive a reload and reach the room when the connection returns, and your private
   * context survives a reload too. What this page had is written shortly after each
   * change ({@link Room.whenStoredLocally} waits for it) and when the page is hidden.
   * Without IndexedDB, `Room.open` rejects with `unsupported`.
   */
  persist?: "indexeddb";
}

/** How soon after a change the room is written to the device. */
const STORE_AFTER_MS = 100;

/** Before a token's expiry, refresh it this long ahead (a fifth of its life for short ones). */
const REFRESH_AHEAD_MS = 60_000;
const AUTH_RETRY_MS = 5_000;

async function callAuth(auth: NonNullable<OpenOptions["auth"]>, room: string): Promise<string> {
  let token: unknown;
  try {
    token = await auth(room);
  } catch (err) {
    throw new ConfabError("auth_failed", `the auth callback failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (typeof token !== "string" || !token) {
    throw new ConfabError("auth_failed", `the auth callback must resolve with a token string; it gave ${JSON.stringify(token)}`);
  }
  return token;
}

let loading: Promise<void> | undefined;
let loaded = false;
let defaultWebSocket: unknown;

/**
 * Load the WebAssembly module. Called by {@link Room.open}; call it yourself before
 * `new Room(...)`. Safe to call many times.
 */
export function init(): Promise<void> {
  loading ??= loadWasm().then((webSocket) => {
    defaultWebSocket = webSocket;
    loaded = true;
  });
  return loading;
}

/**
 * The WebSocket a room connects with: the one in the options, else the `ws` package
 * when it was found, else the runtime's own (`undefined`: none at all).
 */
function webSocketFor(options: RoomOptions): unknown {
  return options.WebSocket ?? defaultWebSocket ?? (globalThis as { WebSocket?: unknown }).WebSocket;
}

type Listener<E> = (event: E) => void;

/** A request's arguments: none for an operation that takes none. */
export type RequestArgs<K extends keyof Requests> = Requests[K]["args"] extends void
  ? [args?: undefined]
  : [args: Requests[K]["args"]];

/**
 * A live Confab room. Local edits apply at once and are sent when connected; remote
 * edits merge as they arrive; the connection reconnects with backoff on its own.
 *
 * Every promise it hands out settles. Requests (`request`, `locks.*`) reject when the
 * connection they were sent on goes: `disconnected`, `token_changed`, `destroyed`, or
 * `connection_lost` when the socket drops (the room reconnects by itself; send again).
 * The waits (`whenSynced`, `whenStatus`, `whenSaved`) outlive automatic reconnects —
 * that is what they wait through — and reject on `disconnect()` (`disconnected`),
 * `setToken()` (`token_changed`), `destroy()` (`destroyed`) or their timeout (`timeout`).
 */
export class Room implements Disposable {
  /** Conversations, messages, agent turns, reactions and branches. */
  readonly chat: Chat;
  /** Shared documents and their text. */
  readonly docs: Docs;
  /** Who is here and what they are doing. */
  readonly presence: Presence;
  /** The shared and private AI context, announcements, questions, handoffs. */
  readonly context: Context;
  /** Versions, diffs, restore and blame. */
  readonly history: History;
  /** Comment threads on document ranges and messages. */
  readonly comments: Comments;
  /** The room's files and folders: uploads, downloads, moves, with `path:` leases. */
  readonly files: Files;
  /** Leases with fencing tokens. */
  readonly locks: Locks;
  /** Conflicts and held writes. */
  readonly conflicts: Conflicts;
  /** Your view, and following one with a teammate. */
  readonly views: Views;

  readonly #handle: Handle;
  readonly #listeners = new Map<RoomEventType, Set<Listener<never>>>();
  /** Rejects each wait still pending (`whenSaved`, `whenStatus`). */
  readonly #waiting = new Set<(err?: ConfabError) => void>();
  /** Where tokens come from, with `auth`, and the timer of the next refresh. */
  #auth: { fetch: NonNullable<OpenOptions["auth"]>; room: string; timer: ReturnType<typeof setTimeout> | undefined } | undefined;

  /**
   * Join `options.room` and start connecting. Loads the WebAssembly module first (and,
   * with `auth`, gets the first token).
   */
  static async open(options: OpenOptions): Promise<Room> {
    await init();
    if (webSocketFor(options) === undefined) {
      // Fail at once and say how, rather than wait for a sync that cannot come.
      throw new ConfabError(
        "no_websocket",
        "no WebSocket in this runtime (Node before 22 has none): install the `ws` package " +
          "next to confab-rooms (`npm install ws`), or pass one in the options: " +
          "`Room.open({ ..., WebSocket })`",
      );
    }
    const { auth, persist, ...rest } = options;
    const store = persist === "indexeddb" ? await LocalStore.open(options.url, options.room) : undefined;
    if (persist !== undefined && persist !== "indexeddb") {
      throw new ConfabError("invalid_argument", `unknown persist option ${JSON.stringify(persist)}: use "indexeddb"`);
    }
    const token = auth ? await callAuth(auth, options.room) : options.token;
    const room = new Room({ ...rest, ...(token ? { token } : {}) });
    if (auth) room.#auth = { fetch: auth, room: options.room, timer: undefined };
    if (auth && token) room.#refreshBefore(token);
    if (store) await room.#keepOn(store);
    room.connect();
    return room;
  }

  /** Create an offline room client; requires {@link init} to have completed. */
  constructor(options: RoomOptions) {
    if (!loaded) {
      throw new ConfabError(
        "not_initialised",
        "confab-rooms is not initialised: `await init()` (or use `await Room.open(...)`) first",
      );
    }
    const withSocket = { ...options, WebSocket: webSocketFor(options) };
    const wasm = guardNew(() => new WasmRoom(withSocket));
    this.#handle = new Handle(wasm);
    wasm.setListener((event: WasmRoomEvent) => this.#dispatch(event));
    const request = this.request.bind(this);
    this.chat = new Chat(this.#handle);
    this.docs = new Docs(this.#handle);
    this.presence = new Presence(this.#handle);
    this.context = new Context(this.#handle, () => this.#storeSoon());
    this.history = new History(this.#handle);
    this.comments = new Comments(this.#handle);
    this.files = new Files(
      () => this.#handle.call((w) => w.files()),
      (op, args) => this.request(op, ...([args] as RequestArgs<typeof op>)),
      () => restBase(this.url),
      (listener) => this.on("change", listener),
    );
    this.locks = new Locks(request);
    this.conflicts = new Conflicts(this.#handle);
    this.views = new Views(this.#handle);
  }

  /** Where the room is kept on this device, the next write's timer, and the writes in flight. */
  #store: { local: LocalStore; timer: ReturnType<typeof setTimeout> | undefined; writing: Promise<void>; stop: () => void } | undefined;

  /** Take in what earlier pages kept of this room, then keep it on the device from now on. */
  async #keepOn(local: LocalStore): Promise<void> {
    const kept = await local.load();
    for (const state of kept.states) this.#handle.call((w) => w.loadStored(state));
    for (const draft of kept.privateContext) this.#handle.call((w) => w.addPrivateContext(draft));
    // Your undo steps from your last page here (two tabs each kept their own: the
    // newest goes on; someone else's are refused). A history this version cannot read
    // is left behind: the room itself is whole without it.
    for (const history of kept.undoHistories) {
      try {
        if (this.#handle.call((w) => w.loadUndoHistory(history))) break;
      } catch (err) {
        if (!(err instanceof ConfabError && err.code === "invalid_argument")) throw err;
      }
    }
    const offChange = this.on("change", () => this.#storeSoon());
    const hidden = (): void => void this.whenStoredLocally().catch(() => {});
    const target = globalThis as { addEventListener?: typeof addEventListener; removeEventListener?: typeof removeEventListener };
    target.addEventListener?.("pagehide", hidden);
    const stop = (): void => {
      offChange();
      target.removeEventListener?.("pagehide", hidden);
    };
    this.#store = { local, timer: undefined, writing: Promise.resolve(), stop };
    await this.whenStoredLocally();
  }

  #storeSoon(): void {
    const store = this.#store;
    if (!store || store.timer !== undefined) return;
    store.timer = setTimeout(() => void this.whenStoredLocally().catch(() => {}), STORE_AFTER_MS);
  }

  /**
   * With `persist`, write the room to the device now (if a change is waiting) and
   * resolve once everything so far is written; a failure rejects with
   * `storage_failed` (and is also an `error` event). Without `persist`, resolves at once.
   */
  whenStoredLocally(): Promise<void> {
    const store = this.#store;
    if (!store) return Promise.resolve();
    clearTimeout(store.timer);
    store.timer = undefined;
    if (!this.#handle.alive) return store.writing;
    const state = this.encodeState();
    const privateContext = this.context.private().map(draftOf);
    const undoHistory = this.#handle.call((w) => w.encodeUndoHistory());
    store.writing = store.writing
      .catch(() => {})
      .then(() => store.local.save(state, privateContext, undoHistory))
      .catch((err: unknown) => {
        const error = new ConfabError("storage_failed", `could not keep the room on this device: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        this.#emit({ type: "error", error });
        throw error;
      });
    return store.writing;
  }

  #dispatch(raw: WasmRoomEvent): void {
    const event: RoomEvent = raw.type === "error" ? { type: "error", error: toConfabError(raw.error) } : raw;
    // The room refused an expired token: with `auth`, get a fresh one and go on.
    if (event.type === "token-expired" && this.#auth) void this.#refresh(true);
    this.#emit(event);
  }

  #emit(event: RoomEvent): void {
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
  on<T extends RoomEventType>(type: T, listener: Listener<RoomEventOf<T>>): () => void {
    this.#live();
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(type, listener);
  }

  /** Stop listening. */
  off<T extends RoomEventType>(type: T, listener: Listener<RoomEventOf<T>>): void {
    this.#listeners.get(type)?.delete(listener as Listener<never>);
  }

  /** Connect, and keep reconnecting with backoff until {@link disconnect}. */
  connect(): void {
    this.#handle.call((w) => w.connect());
  }

  /**
   * Leave: announce departure, close the socket, stop reconnecting. Pending requests
   * and waits reject with `code` `"disconnected"`. Local edits keep working and are
   * sent on the next {@link connect}.
   */
  disconnect(): void {
    this.#handle.call((w) => w.disconnect());
    this.#settleAll(new ConfabError("disconnected", "the room was disconnected before this settled"));
  }

  /**
   * Disconnect and release the WebAssembly object. Everything pending rejects with a
   * {@link DestroyedError} (`code` `"destroyed"`), and so does every later call. Safe to
   * call twice.
   */
  destroy(): void {
    const store = this.#store;
    if (store && this.#handle.alive) {
      // A change still waiting is written (its state is read now), then the store closes.
      if (store.timer !== undefined) void this.whenStoredLocally().catch(() => {});
      store.stop();
      void store.writing.catch(() => {}).then(() => store.local.close());
      this.#store = undefined;
    }
    const wasm = this.#handle.release();
    if (!wasm) return;
    clearTimeout(this.#auth?.timer);
    wasm.destroy();
    this.#settleAll(new DestroyedError("the room was destroyed before this settled"));
    this.#listeners.clear();
    wasm.free();
  }

  /** `using room = ...` destroys the room at the end of the scope. */
  [Symbol.dispose](): void {
    this.destroy();
  }

  /**
   * Where the connection stands: `disconnected`, `connecting`, `connected` (open,
   * syncing), `synced` or `reconnecting` (y-websocket's words where they apply).
   */
  get status(): ConnectionStatus {
    return this.#handle.call((w) => w.status);
  }

  /** The URL this room connects to. */
  get url(): string {
    return this.#handle.call((w) => w.url);
  }

  /** The CRDT client id of this client's edits. */
  get clientId(): number {
    return this.#handle.call((w) => w.clientId);
  }

  /** This connection's role, once the room said it (see the `session` event). */
  get role(): SessionInfo["role"] | undefined {
    return this.#handle.call((w) => w.role);
  }

  /** True for viewers and reviewers: edits throw `read_only` before they are made (reviewers may still react). */
  get readOnly(): boolean {
    return this.#handle.call((w) => w.readOnly);
  }

  /**
   * Local updates the room has not stored: sent and not yet acknowledged, or not yet
   * sent (made offline, or before the room answered the handshake). 0 means every local
   * edit is saved.
   */
  get unacked(): number {
    return this.#handle.call((w) => w.unacked);
  }

  /**
   * Whether the room has stored this client's edits: `saved`; `saving` (on their way
   * over a live connection); `unsaved` (kept here until the room is reachable again).
   * It changes with `saved` events (which carry it) and with `status` events.
   */
  get saveState(): SaveState {
    return this.#handle.call((w) => w.saveState);
  }

  /** Resolve once the room is synced (at once if it already is). */
  whenSynced(timeoutMs = 10_000): Promise<void> {
    return this.whenStatus("synced", timeoutMs);
  }

  /** Resolve once the connection reaches `status` (at once if it is there). */
  whenStatus(status: ConnectionStatus, timeoutMs = 10_000): Promise<void> {
    if (!this.#handle.alive) return Promise.reject(new DestroyedError(`the room was destroyed: cannot wait for "${status}"`));
    if (this.status === status) return Promise.resolve();
    return this.#wait("status", (e) => e.status === status, timeoutMs, () =>
      `room did not reach "${status}" within ${timeoutMs} ms (it is "${this.status}")`,
    );
  }

  /**
   * Resolve once the room has stored every local edit made so far. Edits made offline
   * are not saved: this waits for the reconnect that sends them (and the room's
   * acknowledgement), or rejects with a {@link TimeoutError} after `timeoutMs`.
   */
  whenSaved(timeoutMs = 10_000): Promise<void> {
    if (!this.#handle.alive) return Promise.reject(new DestroyedError("the room was destroyed: cannot wait for a save"));
    if (this.unacked === 0) return Promise.resolve();
    return this.#wait("saved", (e) => e.unacked === 0, timeoutMs, () =>
      `${this.unacked} update(s) not stored within ${timeoutMs} ms`,
    );
  }

  /** The whole room as one Yjs v1 update (what `Y.encodeStateAsUpdate(doc)` gives). */
  encodeState(): Uint8Array {
    return this.#handle.call((w) => w.encodeState());
  }

  /**
   * Apply a Yjs v1 update — from {@link encodeState}, a stock Yjs document
   * (`Y.encodeStateAsUpdate`), a backup — as this client's change: it merges here and is
   * sent to the room, which keeps what it already has. Bytes that are not such an update
   * throw `invalid_argument` and change nothing.
   */
  applyUpdate(update: Uint8Array): void {
    this.#handle.call((w) => w.applyUpdate(update));
  }

  /**
   * Keep a local replica of the room in step (what `confab-rooms/yjs` builds on): from
   * now on, `listener` gets every change to the room, local or remote, as Yjs v1
   * updates, except the replica's own changes handed in by {@link applyFromReplica}.
   * Start the replica from {@link encodeState}. Returns a function that stops it.
   */
  mirror(listener: (updates: Uint8Array[]) => void): () => void {
    this.#handle.call((w) => w.setMirroring(true));
    const pull = (): void => {
      if (!this.#handle.alive) return;
      const updates = this.#handle.call((w) => w.takeMirrored());
      if (updates.length > 0) listener(updates);
    };
    const off = this.on("change", pull);
    return () => {
      off();
      if (this.#handle.alive) this.#handle.call((w) => w.setMirroring(false));
    };
  }

  /**
   * Apply a change a local replica made under its own Yjs client id `client` (an editor
   * binding's edit in the bridge's `Y.Doc`) as your edit: attributed to you, checked
   * for conflicts, and sent to the room. The update must write under `client` only;
   * otherwise it throws `invalid_argument` and changes nothing. Read-only roles throw
   * `read_only`.
   */
  applyFromReplica(update: Uint8Array, client: number): void {
    this.#handle.call((w) => w.applyBridged(update, client));
  }

  /** The room's conversations, documents and shared context as JSON-ready data. */
  exportJSON(): RoomExport {
    this.#live();
    return exportJSON(this);
  }

  /** The room's conversations, documents and shared context as one Markdown document. */
  exportMarkdown(title = "Room"): string {
    this.#live();
    return exportMarkdown(this, title);
  }

  /**
   * Use a fresh token (after a `token-expired` event, or to change identity) and
   * reconnect with it. Pending requests and waits reject with `code` `"token_changed"`.
   */
  setToken(token: string): void {
    this.#live();
    this.#settleAll(new ConfabError("token_changed", "the token changed before this settled; wait again"));
    this.#handle.call((w) => w.setToken(token));
  }

  /**
   * Ask the room's authority: any operation of the REST API, typed by {@link Requests}.
   * Rejects with a {@link ConfabError} whose `code` names the refusal (`lock_held`,
   * `forbidden`, ...) or why no answer will come (`not_connected`, `disconnected`,
   * `connection_lost`, `token_changed`, `destroyed`).
   */
  request<K extends keyof Requests>(op: K, ...[args]: RequestArgs<K>): Promise<Requests[K]["result"]> {
    let sent: Promise<unknown>;
    try {
      sent = this.#handle.call((w) => w.request(op, args ?? null));
    } catch (err) {
      return Promise.reject(toConfabError(err));
    }
    return sent.then(
      (result) => result as Requests[K]["result"],
      (err: unknown) => {
        throw toConfabError(err);
      },
    );
  }

  /**
   * Search the room ("intelligence mode"): documents, text files and file names,
   * messages, comments and the shared context, from the room's full-text index (kept
   * up to date as changes are stored). Every word must match, the last may be the start
   * of a word, `"…"` quotes a phrase. Filter by `kinds`, `author` (a user id) and time
   * (`after`, `before`, ms since the Unix epoch). With an embeddings endpoint configured
   * on the server, hits are ordered by meaning too.
   */
  search(query: string, options: Omit<OpArgs["search"], "query"> = {}): Promise<SearchResult> {
    return this.request("search", { query, ...options });
  }

  /** Refresh the token `token` shortly before it expires. */
  #refreshBefore(token: string): void {
    const claims = readClaims(token);
    if (!this.#auth || !claims) return;
    const left = claims.exp * 1000 - Date.now();
    const ahead = Math.min(REFRESH_AHEAD_MS, Math.max(left / 5, 0));
    this.#schedule(Math.max(0, left - ahead), false);
  }

  #schedule(delay: number, reconnect: boolean): void {
    if (!this.#auth) return;
    clearTimeout(this.#auth.timer);
    this.#auth.timer = setTimeout(() => void this.#refresh(reconnect), delay);
    // In Node, a pending refresh does not keep the process alive.
    (this.#auth.timer as { unref?: () => void }).unref?.();
  }

  /** Get a fresh token: used from the next connection on, or at once with `reconnect`. */
  async #refresh(reconnect: boolean): Promise<void> {
    const auth = this.#auth;
    if (!auth) return;
    clearTimeout(auth.timer);
    let token: string;
    try {
      token = await callAuth(auth.fetch, auth.room);
    } catch (err) {
      if (!this.#handle.alive) return;
      this.#emit({ type: "error", error: toConfabError(err) });
      this.#schedule(AUTH_RETRY_MS, reconnect);
      return;
    }
    if (!this.#handle.alive) return;
    this.#handle.call((w) => w.refreshToken(token));
    this.#refreshBefore(token);
    if (reconnect) this.#handle.call((w) => w.connect());
  }

  #live(): void {
    if (!this.#handle.alive) throw new DestroyedError("the room was destroyed: it takes no more calls");
  }

  #settleAll(err: ConfabError): void {
    for (const settle of [...this.#waiting]) settle(err);
  }

  /**
   * Settle once `done` accepts an event of `type`; reject with a {@link TimeoutError}
   * after `timeoutMs`, or with the error {@link #settleAll} is given.
   */
  #wait<T extends RoomEventType>(
    type: T,
    done: (event: RoomEventOf<T>) => boolean,
    timeoutMs: number,
    timeoutMessage: () => string,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (err?: ConfabError) => {
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
}

function guardNew(make: () => WasmRoom): WasmRoom {
  try {
    return make();
  } catch (err) {
    throw toConfabError(err);
  }
}

/**
 * The room's REST base (`http(s)://host/rooms/<room>`) and the query that carries this
 * connection's credentials (its token, or a development guest's name), from the
 * socket's URL.
 */
function restBase(socketUrl: string): { base: string; query: URLSearchParams } {
  const url = new URL(socketUrl);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  const query = new URLSearchParams(url.search);
  query.delete("protocol");
  return { base: `${url.origin}${url.pathname}`, query };
}
