/**
 * Offline persistence in the browser's IndexedDB (`Room.open({ persist: "indexeddb" })`):
 * the room as this device last had it, your edits the room has not had yet included,
 * your private context and your undo history, kept across reloads. On the next open they are loaded
 * before connecting; the sync that follows sends the room whatever of them it lacks.
 *
 * Each page keeps one record per room (database `confab-rooms`, store `rooms`), so two
 * tabs never overwrite each other's unsent edits. A page that opens the room takes in
 * every record left for it and replaces them with its own, which holds them all.
 *
 * @internal
 * @module
 */
import type { ContextDraft, ContextEntry } from "../wasm/confab_wasm.js";
import { ConfabError } from "./errors.js";

const DATABASE = "confab-rooms";
const STORE = "rooms";

/** What one page kept of one room. */
interface Kept {
  /** `<room key> <page id>`. */
  key: string;
  /** The room it belongs to: the server's address and the room's name. */
  room: string;
  /** The whole room as a Yjs v1 update. */
  state: Uint8Array;
  /** The private context, as drafts to add again. */
  privateContext: ContextDraft[];
  /** The undo history, as the room's `encodeUndoHistory` wrote it (absent in older records). */
  undoHistory?: Uint8Array;
  /** When it was written (ms since the epoch). */
  at: number;
}

/** What the earlier pages of a room left. */
export interface Loaded {
  states: Uint8Array[];
  privateContext: ContextDraft[];
  /** The undo histories the earlier pages kept, newest first (each is one person's). */
  undoHistories: Uint8Array[];
}

function settle<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function done(txn: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    txn.oncomplete = () => resolve();
    txn.onerror = () => reject(txn.error);
    txn.onabort = () => reject(txn.error ?? new Error("the IndexedDB transaction was aborted"));
  });
}

/** A private entry as a draft to add again. */
export function draftOf(entry: ContextEntry): ContextDraft {
  return { kind: entry.kind, text: entry.text, tags: entry.tags, refs: entry.refs };
}

/** One page's records of one room in IndexedDB. */
export class LocalStore {
  readonly #db: IDBDatabase;
  readonly #room: string;
  readonly #key: string;
  /** Records of earlier pages this one took in: deleted once its own holds them. */
  #adopted: string[] = [];

  private constructor(db: IDBDatabase, room: string) {
    this.#db = db;
    this.#room = room;
    this.#key = `${room} ${crypto.randomUUID()}`;
  }

  /** Open the store for the room at `url` named `room`. Throws `unsupported` without IndexedDB. */
  static async open(url: string, room: string): Promise<LocalStore> {
    const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!idb) {
      throw new ConfabError("unsupported", 'persist: "indexeddb" needs IndexedDB, which this runtime does not have');
    }
    const request = idb.open(DATABASE, 1);
    request.onupgradeneeded = () => {
      const store = request.result.createObjectStore(STORE, { keyPath: "key" });
      store.createIndex("room", "room");
    };
    try {
      return new LocalStore(await settle(request), `${url.replace(/\/+$/, "")}/${room}`);
    } catch (err) {
      throw new ConfabError("storage_failed", `could not open IndexedDB: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** Everything earlier pages kept of this room. */
  async load(): Promise<Loaded> {
    const txn = this.#db.transaction(STORE, "readonly");
    const kept = (await settle(txn.objectStore(STORE).index("room").getAll(this.#room))) as Kept[];
    this.#adopted = kept.map((k) => k.key);
    const seen = new Set<string>();
    const privateContext: ContextDraft[] = [];
    const undoHistories: Uint8Array[] = [];
    for (const k of kept.sort((a, b) => a.at - b.at)) {
      for (const draft of k.privateContext) {
        const id = `${draft.kind}\u0000${draft.text}`;
        if (seen.has(id)) continue;
        seen.add(id);
        privateContext.push(draft);
      }
      if (k.undoHistory) undoHistories.unshift(k.undoHistory);
    }
    return { states: kept.map((k) => k.state), privateContext, undoHistories };
  }

  /** Keep the room as this page's record (replacing what it took in). */
  async save(state: Uint8Array, privateContext: ContextDraft[], undoHistory: Uint8Array): Promise<void> {
    const txn = this.#db.transaction(STORE, "readwrite");
    const store = txn.objectStore(STORE);
    const record: Kept = { key: this.#key, room: this.#room, state, privateContext, undoHistory, at: Date.now() };
    store.put(record);
    for (const key of this.#adopted) store.delete(key);
    await done(txn);
    this.#adopted = [];
  }

  close(): void {
    this.#db.close();
  }
}
