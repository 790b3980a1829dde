/**
 * What the space and inbox clients share: JSON calls to the edge's REST API with
 * errors as {@link ConfabError}s, and a live JSON feed over a WebSocket that reconnects
 * with backoff until it is closed.
 *
 * @module
 */
import { ConfabError, TimeoutError, type ConfabErrorCode } from "./errors.js";

/** Connection state of a live feed. */
export type FeedStatus = "connecting" | "connected" | "offline" | "closed";

/** What a live client needs to reach the edge. */
export interface LiveOptions {
  /** The edge: `http(s)://host` or `ws(s)://host` (a trailing `/rooms` is ignored). */
  url: string;
  /** A token from your backend (optional in development mode). */
  token?: string;
  /** A WebSocket constructor (Node: `ws`); the global one by default. */
  WebSocket?: typeof globalThis.WebSocket;
  /** `fetch`; the global one by default. */
  fetch?: typeof globalThis.fetch;
}

/** The edge's base URLs for HTTP and WebSocket, from either. */
export function edgeBase(url: string): { http: string; ws: string } {
  const trimmed = url.replace(/\/+$/, "").replace(/\/rooms$/, "");
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    throw new ConfabError("invalid_argument", `url: \`${url}\` is not a URL (give the edge, e.g. http://127.0.0.1:8787)`);
  }
  const secure = parsed.protocol === "https:" || parsed.protocol === "wss:";
  const rest = `${parsed.host}${parsed.pathname.replace(/\/$/, "")}`;
  return { http: `${secure ? "https" : "http"}://${rest}`, ws: `${secure ? "wss" : "ws"}://${rest}` };
}

/** A JSON call to the edge; the edge's `{ error: { code, message } }` becomes a ConfabError. */
export async function callEdge<T>(
  options: LiveOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await doFetch(`${edgeBase(options.url).http}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new ConfabError("connection_lost", `${method} ${path}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfabError("internal", `${method} ${path}: the edge answered ${res.status} without JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const error = (json as { error?: { code?: string; message?: string } }).error;
    throw new ConfabError((error?.code ?? "internal") as ConfabErrorCode, error?.message ?? `${method} ${path}: ${res.status}`);
  }
  return json as T;
}

/**
 * A live JSON feed: opens `path` as a WebSocket, hands each message to `onMessage`, and
 * reconnects with backoff (0.5 s doubling to 10 s) until {@link LiveFeed.close}. A close
 * the edge means for good (a refused token: codes 4400–4499) stops it, with the reason.
 */
export class LiveFeed {
  status: FeedStatus = "connecting";
  #socket: WebSocket | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #delay = 500;
  #closed = false;

  constructor(
    private readonly options: LiveOptions,
    private readonly path: string,
    private readonly onMessage: (message: Record<string, unknown>) => void,
    private readonly onStatus: (status: FeedStatus, error?: ConfabError) => void,
  ) {
    this.#open();
  }

  #set(status: FeedStatus, error?: ConfabError): void {
    this.status = status;
    this.onStatus(status, error);
  }


  #open(): void {
    const Socket = this.options.WebSocket ?? globalThis.WebSocket;
    if (!Socket) {
      this.#set("closed", new ConfabError("no_websocket", "this runtime has no WebSocket: pass one as `WebSocket`"));
      return;
    }
    const query = this.options.token ? `?token=${encodeURIComponent(this.options.token)}` : "";
    const ws = new Socket(`${edgeBase(this.options.url).ws}${this.path}${query}`);
    this.#socket = ws;
    ws.onopen = () => {
      this.#delay = 500;
      this.#set("connected");
    };
    ws.onmessage = (e: MessageEvent) => {
      if (typeof e.data !== "string") return;
      try {
        this.onMessage(JSON.parse(e.data) as Record<string, unknown>);
      } catch (err) {
        this.onStatus(this.status, new ConfabError("bad_frame", `the feed sent what is not JSON: ${String(err)}`));
      }
    };
    // A socket that cannot connect also closes, and the close retries; in Node (`ws`)
    // an error nobody listens to would be thrown.
    ws.onerror = () => {};
    ws.onclose = (e: CloseEvent) => {
      if (this.#socket !== ws || this.#closed) return;
      this.#socket = undefined;
      if (e.code >= 4400 && e.code < 4500) {
        this.#set("closed", new ConfabError("access_denied", e.reason || `the edge refused the feed (${e.code})`));
        return;
      }
      this.#set("offline");
      this.#retry = setTimeout(() => this.#open(), this.#delay);
      this.#delay = Math.min(this.#delay * 2, 10_000);
    };
  }

  /** Stop for good. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#socket?.close(1000, "closed");
    this.#socket = undefined;
    this.#set("closed");
  }
}

/** A tiny typed event emitter. */
export class Listeners<Events extends Record<string, unknown>> {
  #map = new Map<keyof Events, Set<(value: never) => void>>();

  on<K extends keyof Events>(type: K, listener: (value: Events[K]) => void): () => void {
    let set = this.#map.get(type);
    if (!set) this.#map.set(type, (set = new Set()));
    set.add(listener as (value: never) => void);
    return () => set.delete(listener as (value: never) => void);
  }

  emit<K extends keyof Events>(type: K, value: Events[K]): void {
    for (const listener of this.#map.get(type) ?? []) (listener as (value: Events[K]) => void)(value);
  }
}

/** What every live view emits, beside its own events. */
export interface FeedEvents extends Record<string, unknown> {
  status: FeedStatus;
  error: ConfabError;
}

/**
 * A live view of one object at the edge (a space, an inbox): its feed, its listeners,
 * and opening it, which waits for the first state (at most `timeoutMs`; a feed the edge
 * refuses rejects with its reason, and the view is closed).
 */
export abstract class LiveView<Events extends FeedEvents> {
  protected readonly listeners = new Listeners<Events>();
  readonly #feed: LiveFeed;
  readonly #loaded: Promise<void>;
  #markLoaded: () => void = () => {};

  protected constructor(options: LiveOptions, path: string) {
    this.#loaded = new Promise((resolve) => (this.#markLoaded = resolve));
    const emit = this.listeners.emit.bind(this.listeners) as (type: string, value: unknown) => void;
    this.#feed = new LiveFeed(
      options,
      path,
      (message) => {
        if (this.receive(message)) this.#markLoaded();
      },
      (status, error) => {
        if (error) emit("error", error);
        emit("status", status);
      },
    );
  }

  /** Take one message from the feed; true when it was the view's whole state. */
  protected abstract receive(message: Record<string, unknown>): boolean;

  /** Listen; returns a function that stops listening. */
  on<K extends keyof Events>(type: K, listener: (value: Events[K]) => void): () => void {
    return this.listeners.on(type, listener);
  }

  /** The feed's connection state. */
  get status(): FeedStatus {
    return this.#feed.status;
  }

  /** Stop the live feed. */
  close(): void {
    this.#feed.close();
  }

  /** Wait for the first state, at most `timeoutMs`; `what` names the view in errors. */
  protected async opened(what: string, timeoutMs = 10_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stops: (() => void)[] = [];
    const on = this.listeners.on.bind(this.listeners) as (type: string, listener: (value: never) => void) => () => void;
    try {
      await Promise.race([
        this.#loaded,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new TimeoutError(`${what}: nothing from the edge within ${timeoutMs} ms`)), timeoutMs);
          let last: ConfabError | undefined;
          stops.push(on("error", (error: ConfabError) => (last = error)));
          stops.push(
            on("status", (status: FeedStatus) => {
              if (status === "closed") reject(last ?? new ConfabError("access_denied", `${what}: the edge refused the feed`));
            }),
          );
        }),
      ]);
    } catch (err) {
      this.close();
      throw err;
    } finally {
      clearTimeout(timer);
      for (const stop of stops) stop();
    }
  }
}
