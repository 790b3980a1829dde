/**
 * The one error type of the package: everything it throws, rejects with or emits is a
 * {@link ConfabError} with a stable {@link ConfabErrorCode} and the reason.
 *
 * @module
 */

/**
 * Every `code` a {@link ConfabError} carries.
 *
 * Settling (what was waiting when the connection changed):
 * - `destroyed`: the room was destroyed (also: any call after `destroy()`).
 * - `disconnected`: `disconnect()` was called before it settled.
 * - `token_changed`: `setToken()` replaced the connection before it settled.
 * - `connection_lost`: the socket dropped (or never opened and is being retried)
 *   before the room answered a request; the client reconnects on its own.
 * - `not_connected`: a request was made while no connection was open.
 *   (A request rejected with `disconnected`, `token_changed`, `destroyed` or
 *   `connection_lost` got no answer: the room may still have run it.)
 * - `timeout`: `whenSynced`/`whenStatus`/`whenSaved` did not settle in time.
 *
 * Local calls (edits, reads):
 * - `invalid_argument`: a wrong shape or an unknown name in the arguments.
 * - `out_of_range`: a text offset outside the text, or inside a surrogate pair.
 * - `not_found`: no such conversation, message, document, version, conflict, entry.
 * - `already_exists`: a conversation or document id that is taken.
 * - `already_resolved`: the conflict is already resolved.
 * - `not_held`: `acceptHeld`/`rejectHeld` on a conflict that holds no write.
 * - `turn_closed`: the agent turn was stopped or finished; it takes no more text.
 * - `read_only`: this connection is a viewer (or a reviewer, for edits).
 * - `forbidden`: the room's rules refuse it (e.g. only the context owner may).
 * - `not_initialised`: `new Room()` before `await init()`.
 *
 * The room's answers to requests (the same codes as the REST API):
 * `invalid_request`, `forbidden`, `not_found`, `conflict`, `lease_required`,
 * `lock_held`, `lock_not_held`, `file_too_large`, `quota_exceeded`.
 * From `room.files.upload`: `aborted` (its `signal` aborted it; nothing was added).
 *
 * Emitted as `error` events (nothing to reject):
 * - `no_websocket`: the runtime has no WebSocket; pass one in the options.
 * - `socket_failed`: a WebSocket could not be opened (the client retries).
 * - `access_denied`: the room refused this connection's access.
 * - `closed_by_room`: the room closed the connection, with its reason.
 * - `bad_frame`: the room sent a frame this client could not read.
 * - `rate_limited`, `limit_exceeded`, `unsynced`: the room's limits, as core names them.
 * - `viewer`, `reviewer`, `not_yours`: the room refused a write: a viewer's, a reviewer's
 *   edit, or one under another participant's client id or in their name.
 * - `unknown_connection`: the room did not know the connection (it reconnects).
 * - `invalid_room`: a room name no server accepts (empty, too long, a `/` or a control
 *   character).
 * - `auth_failed`: the `auth` option's callback threw, or gave no token.
 * - `storage_failed`: with `persist`, the room could not be kept on the device (also
 *   a rejection of `whenStoredLocally`).
 *
 * From `Room.open`:
 * - `unsupported`: `persist: "indexeddb"` where there is no IndexedDB.
 *
 * From the edge's REST API (`Space`, `Inbox`): its codes as it sends them, among
 * them `token_missing`, `token_malformed`, `token_forged`, `token_expired`,
 * `token_wrong_room`, `origin_forbidden` and `body_too_large`.
 *
 * - `internal`: a bug (the WebAssembly module failed); please report it.
 */
export type ConfabErrorCode =
  | "destroyed"
  | "disconnected"
  | "token_changed"
  | "connection_lost"
  | "not_connected"
  | "timeout"
  | "invalid_argument"
  | "out_of_range"
  | "not_found"
  | "already_exists"
  | "already_resolved"
  | "not_held"
  | "turn_closed"
  | "read_only"
  | "forbidden"
  | "not_initialised"
  | "invalid_request"
  | "conflict"
  | "lease_required"
  | "lock_held"
  | "lock_not_held"
  | "file_too_large"
  | "quota_exceeded"
  | "aborted"
  | "no_websocket"
  | "socket_failed"
  | "access_denied"
  | "closed_by_room"
  | "bad_frame"
  | "rate_limited"
  | "limit_exceeded"
  | "unsynced"
  | "viewer"
  | "reviewer"
  | "not_yours"
  | "unknown_connection"
  | "invalid_room"
  | "auth_failed"
  | "storage_failed"
  | "unsupported"
  | "token_missing"
  | "token_malformed"
  | "token_forged"
  | "token_expired"
  | "token_wrong_room"
  | "origin_forbidden"
  | "body_too_large"
  | "internal";

/** An error from Confab: a stable `code` to branch on, and the reason in `message`. */
export class ConfabError extends Error {
  override name = "ConfabError";
  /** What went wrong, stable across versions (see {@link ConfabErrorCode}). */
  readonly code: ConfabErrorCode;

  constructor(code: ConfabErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A wait (`whenSynced`, `whenStatus`, `whenSaved`) that ran out of time: `code` `"timeout"`. */
export class TimeoutError extends ConfabError {
  override name = "TimeoutError";
  declare readonly code: "timeout";

  constructor(message: string) {
    super("timeout", message);
  }
}

/** The room was destroyed: `code` `"destroyed"`. */
export class DestroyedError extends ConfabError {
  override name = "DestroyedError";
  declare readonly code: "destroyed";

  constructor(message: string) {
    super("destroyed", message);
  }
}

/** Whatever was thrown (by the WebAssembly module, the runtime) as a {@link ConfabError}. */
export function toConfabError(err: unknown): ConfabError {
  if (err instanceof ConfabError) return err;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (code === "destroyed") return new DestroyedError(err.message);
    if (typeof code === "string") return new ConfabError(code as ConfabErrorCode, err.message, { cause: err });
    return new ConfabError("internal", `${err.name}: ${err.message}`, { cause: err });
  }
  return new ConfabError("internal", String(err), { cause: err });
}

/** Run `f`, turning whatever it throws into a {@link ConfabError}. */
export function guard<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw toConfabError(err);
  }
}
