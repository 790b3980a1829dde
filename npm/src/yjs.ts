/**
 * The Yjs bridge (`confab-rooms/yjs`): a `Y.Doc` from your app's own `yjs`, kept in
 * step with a Confab room both ways, and a y-protocols `Awareness` that mirrors Confab
 * presence both ways, so that every stock Yjs editor binding (y-codemirror.next,
 * y-prosemirror and Tiptap, y-monaco, y-quill) works on a room's documents with
 * remote carets and selections.
 *
 * ```ts
 * import { Room } from "confab-rooms";
 * import { YjsBridge } from "confab-rooms/yjs";
 * import { yCollab } from "y-codemirror.next";
 *
 * const room = await Room.open({ url, room: "demo", user: { id: "ada", name: "Ada" } });
 * const bridge = new YjsBridge(room);
 * const view = new EditorView({
 *   parent,
 *   extensions: [basicSetup, yCollab(bridge.text("notes"), bridge.awareness)],
 * });
 * ```
 *
 * The `Y.Doc` is a replica of the room's document, written under a client id of its
 * own. An edit a binding makes there goes to the room as your edit, exactly like one
 * made through `room.docs`: attributed to you (`history.blame`), recorded for conflict
 * detection, refused for read-only roles. Remote edits and edits made through the
 * room's API arrive in the `Y.Doc` as they land.
 *
 * @module
 */
import * as Y from "yjs";
import { Awareness } from "y-protocols/awareness";
import type { PeerInfo, PresenceInfo } from "../wasm/confab_wasm.js";
import { ConfabError, DestroyedError, toConfabError } from "./errors.js";
import type { Room } from "./room.js";

/** The origin of the changes the bridge brings in from the room. */
export const FROM_ROOM: unique symbol = Symbol("confab-room");

/** The presence field that carries a bridged client's Yjs awareness state. */
export const AWARENESS_FIELD = "yjs";

/** The root holding a rich-text document's body (a `Y.XmlFragment`, see {@link YjsBridge.fragment}). */
export function richRootName(id: string): string {
  return `rich:${id}`;
}

/** How the bridge shows you to others' editors. */
export interface BridgeUser {
  /** Display name (default: your Confab name). */
  name?: string;
  /** Caret colour, a CSS colour such as `#30bced` (default: one picked from your id). */
  color?: string;
  /** Selection colour (default: `color` made light). */
  colorLight?: string;
}

/** Options for {@link YjsBridge}. */
export interface BridgeOptions {
  /** How others' editors show you. */
  user?: BridgeUser;
  /**
   * The caret colour of someone who does not say theirs (an agent, a page without a
   * bridge), and your own default: a CSS colour from a user id. Default: one of eight
   * colours picked from the id.
   */
  colorOf?: (userId: string) => string;
  /**
   * Told when an editor's change could not go to the room (`read_only` for a reviewer
   * or viewer: give the editor a read-only state instead). From then on the `Y.Doc`
   * no longer follows the room: make a new bridge. Default: `console.error`.
   */
  onError?: (error: ConfabError) => void;
}

const PALETTE = ["#30bced", "#6eeb83", "#ffbc42", "#ee6352", "#9ac2c9", "#8acb88", "#c490d1", "#f08700"];

/** A colour picked from an id, the same on every page. */
export function colorFor(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (Math.imul(h, 31) + id.charCodeAt(i)) | 0;
  return PALETTE[Math.abs(h) % PALETTE.length]!;
}

/** A selection's colour from a caret's: the same colour, mostly transparent (any CSS colour). */
function lighter(color: string): string {
  return `color-mix(in srgb, ${color} 25%, transparent)`;
}

/** How often remote presence is marked fresh (y-protocols drops states unseen for 30 s). */
const REFRESH_MS = 10_000;

/**
 * A `Y.Doc` and an `Awareness` kept in step with a Confab room. Make one per room and
 * page; {@link destroy} it when the editors go.
 */
export class YjsBridge implements Disposable {
  /** The replica of the room's document. */
  readonly doc: Y.Doc;
  /** Presence as y-protocols sees it: yours and everyone else's in the room. */
  readonly awareness: Awareness;

  readonly #room: Room;
  readonly #user: BridgeUser;
  readonly #onError: (error: ConfabError) => void;
  readonly #colorOf: (userId: string) => string;
  readonly #stops: Array<() => void> = [];
  /** Remote awareness ids shown now. */
  #shown = new Set<number>();
  /** True from a refused change on: the replica no longer follows the room. */
  #broken = false;
  /** Inside the `Y.Doc`'s own update handler: room changes wait for it to end. */
  #forwarding = false;
  #waiting: Uint8Array[] = [];

  constructor(room: Room, options: BridgeOptions = {}) {
    this.#room = room;
    this.#user = options.user ?? {};
    this.#onError = options.onError ?? ((error) => console.error(error));
    this.#colorOf = options.colorOf ?? colorFor;
    this.doc = new Y.Doc({ gc: false });
    Y.applyUpdate(this.doc, room.encodeState(), FROM_ROOM);
    this.#stops.push(room.mirror((updates) => this.#fromRoom(updates)));
    const forward = (update: Uint8Array, origin: unknown): void => this.#toRoom(update, origin);
    this.doc.on("update", forward);
    this.#stops.push(() => this.doc.off("update", forward));

    this.awareness = new Awareness(this.doc);
    const me = room.presence.list().find((p) => p.isSelf)?.user;
    this.awareness.setLocalState({ user: this.#localUser(me?.id ?? String(room.clientId), me?.name ?? "") });
    const local = (_: unknown, origin: unknown): void => {
      if (origin === "local") this.#publish();
    };
    this.awareness.on("update", local);
    this.#stops.push(() => this.awareness.off("update", local));
    this.#stops.push(room.on("presence", () => this.#showPeers()));
    const timer = setInterval(() => this.#showPeers(), REFRESH_MS);
    this.#stops.push(() => clearInterval(timer));
    this.#publish();
    this.#showPeers();
  }

  /**
   * The body of room document `id` as a `Y.Text` (for y-codemirror.next, y-monaco,
   * y-quill). Throws `not_found` for a document the room does not have.
   */
  text(id: string): Y.Text {
    this.#known(id);
    return this.doc.getText(`doc:${id}`);
  }

  /**
   * The rich-text body of room document `id` as a `Y.XmlFragment` (for y-prosemirror
   * and Tiptap). It lives beside the plain text (root `rich:<id>`): edits are synced,
   * attributed and versioned, but conflict detection and `docs.text` cover the plain
   * text only. Throws `not_found` for a document the room does not have.
   */
  fragment(id: string): Y.XmlFragment {
    this.#known(id);
    return this.doc.getXmlFragment(richRootName(id));
  }

  /** True for a reviewer or viewer: give the editors a read-only state. */
  get readOnly(): boolean {
    return this.#room.readOnly;
  }

  /** Stop following the room and leave the editors' presence. Safe to call twice. */
  destroy(): void {
    for (const stop of this.#stops.splice(0)) stop();
    this.awareness.destroy();
    this.doc.destroy();
  }

  [Symbol.dispose](): void {
    this.destroy();
  }

  #known(id: string): void {
    if (!this.#room.docs.list().some((d) => d.id === id)) {
      throw new ConfabError("not_found", `unknown document \`${id}\``);
    }
  }

  #localUser(id: string, name: string): Required<BridgeUser> {
    const color = this.#user.color ?? this.#colorOf(id);
    return { name: this.#user.name ?? name, color, colorLight: this.#user.colorLight ?? lighter(color) };
  }

  /** Changes from the room, in order; held while the `Y.Doc` is inside its own handler. */
  #fromRoom(updates: Uint8Array[]): void {
    this.#waiting.push(...updates);
    if (this.#forwarding) return;
    const batch = this.#waiting.splice(0);
    for (const update of batch) Y.applyUpdate(this.doc, update, FROM_ROOM);
  }

  /** An editor's change: to the room as this participant's edit. */
  #toRoom(update: Uint8Array, origin: unknown): void {
    if (origin === FROM_ROOM || this.#broken) return;
    this.#forwarding = true;
    try {
      this.#room.applyFromReplica(update, this.doc.clientID);
    } catch (err) {
      this.#broken = true;
      this.#onError(toConfabError(err));
    } finally {
      this.#forwarding = false;
    }
    if (this.#waiting.length > 0) queueMicrotask(() => this.#fromRoom([]));
  }

  /** Your awareness state, into Confab presence (and your cursor as Confab sees cursors). */
  #publish(): void {
    const state = this.awareness.getLocalState();
    const room = this.#room;
    room.presence.set({ [AWARENESS_FIELD]: state === null ? null : JSON.parse(JSON.stringify(state)) });
    const cursor = state?.cursor as { anchor?: unknown; head?: unknown } | null | undefined;
    const anchor = cursor?.anchor ? this.#absolute(cursor.anchor) : null;
    const head = cursor?.head ? this.#absolute(cursor.head) : null;
    if (anchor && head && anchor.document === head.document) {
      room.presence.setCursor(anchor.document, anchor.index, head.index);
    } else if (cursor === null) {
      room.presence.clearCursor();
    }
  }

  /** Where a relative position points in a room document's plain text, if it does. */
  #absolute(position: unknown): { document: string; index: number } | null {
    const relative = position instanceof Y.RelativePosition ? position : Y.createRelativePositionFromJSON(position);
    const absolute = Y.createAbsolutePositionFromRelativePosition(relative, this.doc);
    if (!absolute) return null;
    for (const [name, type] of this.doc.share) {
      if (type === absolute.type && name.startsWith("doc:")) return { document: name.slice(4), index: absolute.index };
    }
    return null;
  }

  /** Everyone else in the room, as remote awareness states. */
  #showPeers(): void {
    try {
      this.#mirrorPeers();
    } catch (err) {
      // The room was destroyed under the bridge: nothing more to show.
      if (!(err instanceof DestroyedError)) throw err;
    }
  }

  #mirrorPeers(): void {
    const people = new Map<number, PresenceInfo>(this.#room.presence.list().map((p) => [p.clientId, p]));
    const now = Date.now();
    const added: number[] = [];
    const updated: number[] = [];
    const seen = new Set<number>();
    for (const peer of this.#room.presence.peers() as PeerInfo[]) {
      if (peer.isSelf || peer.clientId === this.doc.clientID) continue;
      const info = people.get(peer.clientId);
      const user = info?.user ?? peer.state.user;
      if (!user) continue;
      const state = this.#remoteState(peer, info, user.id, user.name);
      const id = peer.clientId;
      seen.add(id);
      const before = this.awareness.states.get(id);
      const meta = this.awareness.meta.get(id);
      this.awareness.states.set(id, state);
      this.awareness.meta.set(id, { clock: (meta?.clock ?? 0) + 1, lastUpdated: now });
      if (!before) added.push(id);
      else if (JSON.stringify(before) !== JSON.stringify(state)) updated.push(id);
    }
    const removed = [...this.#shown].filter((id) => !seen.has(id));
    for (const id of removed) {
      this.awareness.states.delete(id);
      this.awareness.meta.delete(id);
    }
    this.#shown = seen;
    if (added.length + updated.length + removed.length > 0) {
      this.awareness.emit("change", [{ added, updated, removed }, "confab"]);
      this.awareness.emit("update", [{ added, updated, removed }, "confab"]);
    }
  }

  /** A peer's awareness state: theirs if they use a bridge, else made from their Confab cursor. */
  #remoteState(peer: PeerInfo, info: PresenceInfo | undefined, id: string, name: string): Record<string, unknown> {
    const theirs = peer.state[AWARENESS_FIELD];
    const shown = typeof theirs === "object" && theirs !== null ? (theirs as Record<string, unknown>) : {};
    const given = (shown.user ?? {}) as BridgeUser;
    const color = given.color ?? this.#colorOf(id);
    const state: Record<string, unknown> = {
      ...shown,
      user: { name, color, colorLight: given.colorLight ?? lighter(color) },
      confab: { id, kind: info?.user.kind ?? "person", status: info?.status ?? "active" },
    };
    const cursor = info?.cursor;
    if (!("cursor" in shown) && cursor && this.doc.share.has(`doc:${cursor.document}`)) {
      const text = this.doc.getText(`doc:${cursor.document}`);
      const at = (index: number) => Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, Math.min(index, text.length)));
      state.cursor = { anchor: at(cursor.anchor), head: at(cursor.head) };
    }
    return state;
  }
}
