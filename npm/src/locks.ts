import type { Lease, LeasePolicy, Requests } from "./requests.js";
import type { RequestArgs } from "./room.js";

type Request = <K extends keyof Requests>(op: K, ...args: RequestArgs<K>) => Promise<Requests[K]["result"]>;

/**
 * Leases on resources (`doc:<id>`, `path:<path>`, `range:<doc>:<a>-<b>`), granted by
 * the room with a fencing token. Each call is a request: it rejects with a
 * `ConfabError` (`lock_held`, `lock_not_held`, ..., or `disconnected`,
 * `connection_lost`, `token_changed`, `destroyed` when the connection goes first).
 */
export class Locks {
  readonly #request: Request;

  /** @internal */
  constructor(request: Request) {
    this.#request = request;
  }

  /** Take a lease on `resource` for `ttlMs`. */
  acquire(resource: string, ttlMs: number): Promise<{ lease: Lease }> {
    return this.#request("lock.acquire", { resource, ttlMs });
  }

  /** Extend a lease you hold (same fencing token). */
  renew(resource: string, fence: number, ttlMs: number): Promise<{ lease: Lease }> {
    return this.#request("lock.renew", { resource, fence, ttlMs });
  }

  /** Give a lease back. */
  release(resource: string, fence: number): Promise<{ released: Lease }> {
    return this.#request("lock.release", { resource, fence });
  }

  /** Is `fence` the live grant on `resource`? */
  verify(resource: string, fence: number): Promise<Requests["lock.verify"]["result"]> {
    return this.#request("lock.verify", { resource, fence });
  }

  /** Every live lease, and the documents' lease policies. */
  list(): Promise<{ leases: Lease[]; policies: Record<string, LeasePolicy> }> {
    return this.#request("lock.list");
  }
}
