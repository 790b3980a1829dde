/**
 * React bindings (the package's `./react` subpath; `react` 18 or 19 is a peer): a
 * provider that opens one room, and hooks that read it.
 *
 * ```tsx
 * import { RoomProvider, useMessages, useRoom } from "confab-rooms/react";
 * <RoomProvider url="ws://127.0.0.1:8787/rooms" room="team-1" user={{ id: "ada", name: "Ada" }}>
 *   <Chat />
 * </RoomProvider>
 * ```
 *
 * Every hook reads through `useSyncExternalStore`, so it is safe under concurrent
 * rendering, and returns a value that stays the same object until the room changes. On
 * the server nothing touches WebAssembly: the provider opens its room in an effect, and
 * until then (and during server rendering) the hooks return their empty values.
 *
 * @module
 */
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from "react";
import type {
  Conflict,
  ConnectionStatus,
  ContextEntry,
  MessageInfo,
  ParticipantInfo,
  PresenceInfo,
  ViewState,
} from "../wasm/confab_wasm.js";
import { toConfabError, type ConfabError } from "./errors.js";
import type { Activity, Lease } from "./requests.js";
import { Room, type OpenOptions, type RoomEventType } from "./room.js";

interface Held {
  room: Room | null;
  error: ConfabError | null;
}

const RoomContext = createContext<Held | null>(null);

/** The provider's props: how to open the room (as for `Room.open`), and its children. */
export interface RoomProviderProps extends OpenOptions {
  children?: ReactNode;
}

/**
 * Open `room` for everything below it, and destroy it when unmounted (or when the
 * room, the user or the token changes). Opens in an effect: nothing runs on the server.
 */
export function RoomProvider(props: RoomProviderProps): ReactNode {
  const { children, ...options } = props;
  const [held, setHeld] = useState<Held>({ room: null, error: null });
  // The latest options, for the effect; it reopens only when who or where changes.
  const latest = useRef(options);
  latest.current = options;
  useEffect(() => {
    let alive = true;
    let opened: Room | undefined;
    Room.open(latest.current).then(
      (room) => {
        if (alive) {
          opened = room;
          setHeld({ room, error: null });
        } else {
          room.destroy();
        }
      },
      (err: unknown) => alive && setHeld({ room: null, error: toConfabError(err) }),
    );
    return () => {
      alive = false;
      opened?.destroy();
      setHeld({ room: null, error: null });
    };
  }, [options.url, options.room, options.user.id, options.user.name, options.user.kind, options.token]);
  return createElement(RoomContext.Provider, { value: held }, children);
}

function useHeld(): Held {
  const held = useContext(RoomContext);
  if (!held) throw new Error("Confab's hooks must be used inside a <RoomProvider>");
  return held;
}

/** The room, once open (`null` while it opens, and on the server). */
export function useRoom(): Room | null {
  return useHeld().room;
}

/** Why the room could not be opened (`auth_failed`, `no_websocket`, …), or `null`. */
export function useRoomError(): ConfabError | null {
  return useHeld().error;
}

/**
 * A value read from the room, recomputed only after one of `events`, and kept the same
 * object otherwise (what `useSyncExternalStore` needs). `key` names what `read` depends
 * on besides the room (a conversation id, ...).
 */
function useRoomValue<T>(events: readonly RoomEventType[], read: (room: Room) => T, empty: T, key = ""): T {
  const room = useRoom();
  const cache = useRef<{ room: Room | null; key: string; version: number; seen: number; value: T }>({
    room: null,
    key,
    version: 0,
    seen: -1,
    value: empty,
  });
  const subscribe = useCallback(
    (changed: () => void) => {
      if (!room) return () => {};
      const offs = events.map((type) =>
        room.on(type, () => {
          cache.current.version += 1;
          changed();
        }),
      );
      // An event may have come between the render and this subscription: read afresh
      // (React checks the snapshot again right after subscribing).
      cache.current.version += 1;
      return () => offs.forEach((off) => off());
    },
    // `events` is a constant at each call site.
    [room],
  );
  const snapshot = (): T => {
    const c = cache.current;
    if (!room) return empty;
    if (c.room !== room || c.key !== key || c.seen !== c.version) {
      try {
        c.value = read(room);
      } catch {
        c.value = empty; // a conversation or document not there yet, a destroyed room
      }
      c.room = room;
      c.key = key;
      c.seen = c.version;
    }
    return c.value;
  };
  return useSyncExternalStore(subscribe, snapshot, () => empty);
}

const NONE: never[] = [];
const CHANGE = ["change"] as const;
const PRESENCE = ["presence"] as const;
const STATUS = ["status"] as const;

/** Where the connection stands (`disconnected` until the room is open). */
export function useStatus(): ConnectionStatus {
  return useRoomValue(STATUS, (room) => room.status, "disconnected");
}

/** Everyone present, you included (`isSelf`). */
export function usePresence(): PresenceInfo[] {
  return useRoomValue(PRESENCE, (room) => room.presence.list(), NONE);
}

/** Everyone present but you. */
export function useOthers(): PresenceInfo[] {
  return useRoomValue(PRESENCE, (room) => room.presence.list().filter((p) => !p.isSelf), NONE);
}

/** Your presence, and a function that merges fields into it (`{ activity: "…" }`, app fields). */
export function useMyPresence(): [PresenceInfo | undefined, (fields: Record<string, unknown>) => void] {
  const room = useRoom();
  const me = useRoomValue(PRESENCE, (r) => r.presence.list().find((p) => p.isSelf), undefined);
  const set = useCallback((fields: Record<string, unknown>) => room?.presence.set(fields), [room]);
  return [me, set];
}

/** A conversation's messages, oldest first (empty until it exists). */
export function useMessages(conversation: string): MessageInfo[] {
  return useRoomValue(CHANGE, (room) => room.chat.messages(conversation), NONE, conversation);
}

/** One message or agent turn by id, as it grows. */
export function useTurn(id: string): MessageInfo | undefined {
  return useRoomValue(
    CHANGE,
    (room) => {
      for (const c of room.chat.conversations()) {
        const found = room.chat.messages(c.id).find((m) => m.id === id);
        if (found) return found;
      }
      return undefined;
    },
    undefined,
    id,
  );
}

/** Who is typing in a conversation, you not included. */
export function useTyping(conversation: string): ParticipantInfo[] {
  return useRoomValue(PRESENCE, (room) => room.presence.typingIn(conversation), NONE, conversation);
}

/** A document's text, and a function that sets the whole text (as the smallest edit). */
export function useDocument(id: string): [string, (next: string) => void] {
  const room = useRoom();
  const text = useRoomValue(CHANGE, (r) => r.docs.text(id), "", id);
  const set = useCallback((next: string) => room?.docs.setText(id, next), [room, id]);
  return [text, set];
}

/** Your view (and the sync you are in, if any), and whom you could sync with. */
export interface SyncState {
  state: ViewState | undefined;
  partners: ParticipantInfo[];
}

const NO_SYNC: SyncState = { state: undefined, partners: NONE };

/** Sync with a teammate: your view, the sync, and who is there to sync with. */
export function useSync(): SyncState {
  return useRoomValue(
    ["change", "presence"],
    (room) => ({ state: room.views.get(), partners: room.views.partners() }),
    NO_SYNC,
  );
}

/** Every conflict in the room, oldest first. */
export function useConflicts(): Conflict[] {
  return useRoomValue(["change", "conflict"], (room) => room.conflicts.list(), NONE);
}

/** The room's shared AI context (named so as not to clash with React's `useContext`). */
export function useRoomContext(): ContextEntry[] {
  return useRoomValue(CHANGE, (room) => room.context.shared(), NONE);
}

/**
 * A value the room's authority answers (`lock.list`, `activity.list`), fetched once
 * synced and again after each feed event whose action starts with `prefix`.
 */
function useAuthority<T>(fetch: (room: Room) => Promise<T>, prefix: string, empty: T): T {
  const room = useRoom();
  const [value, setValue] = useState<T>(empty);
  useEffect(() => {
    if (!room) {
      setValue(empty);
      return;
    }
    let alive = true;
    let busy = false;
    let again = false;
    const load = async () => {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        do {
          again = false;
          const next = await fetch(room);
          if (alive) setValue(next);
        } while (again && alive);
      } catch {
        // Not connected yet, or a role that may not ask: keep what was there.
      } finally {
        busy = false;
      }
    };
    const offs = [
      room.on("status", (e) => e.status === "synced" && void load()),
      room.on("feed", (e) => e.event.action.startsWith(prefix) && void load()),
    ];
    if (room.status === "synced") void load();
    return () => {
      alive = false;
      offs.forEach((off) => off());
    };
    // `fetch`, `prefix` and `empty` are constants at each call site.
  }, [room]);
  return value;
}

const fetchLocks = async (room: Room) => (await room.locks.list()).leases;
const fetchActivities = async (room: Room) => (await room.request("activity.list")).activities;

/** The room's live leases, kept up to date from the feed. */
export function useLocks(): Lease[] {
  return useAuthority<Lease[]>(fetchLocks, "lock.", NONE);
}

/** What agents did and are doing in the room (the activity feed), kept up to date. */
export function useActivityFeed(): Activity[] {
  return useAuthority<Activity[]>(fetchActivities, "activity.", NONE);
}
