/**
 * For your backend (the package's `./server` subpath; Node 20+ and Workers alike, on
 * WebCrypto): mint the room tokens the edge verifies, with the same format and secret.
 *
 * ```js
 * import { mintToken } from "confab-rooms/server";
 * const token = await mintToken({ secret: process.env.CONFAB_SECRET, room: "team-1", user: { id: "ada", name: "Ada" }, role: "editor", ttl: 3600 });
 * ```
 *
 * @module
 */
import { ConfabError } from "./errors.js";
import { base64url, type TokenClaims, type TokenRole } from "./token.js";

export type { TokenClaims, TokenRole } from "./token.js";

/** What to mint. */
export interface MintOptions {
  /** The edge's `CONFAB_SECRET` (`confab-dev-secret` under `make dev`). */
  secret: string;
  /** The one room the token is good for. */
  room: string;
  /** Who: a stable user id and a display name; `kind` `"agent"` for an AI agent. */
  user: { id: string; name?: string; kind?: "person" | "agent" };
  /** The role to grant. */
  role: TokenRole;
  /** How long it is good for, in seconds (default one hour). */
  ttl?: number;
  /** Now, in ms since the Unix epoch (for tests; default `Date.now()`). */
  now?: number;
}

const ROLES: readonly TokenRole[] = ["owner", "editor", "reviewer", "viewer"];

/** A signed room token. Rejects with `invalid_argument` on what the edge would refuse. */
export async function mintToken(options: MintOptions): Promise<string> {
  const { secret, room, user, role } = options;
  const ttl = options.ttl ?? 3600;
  if (!secret) throw new ConfabError("invalid_argument", "mintToken: `secret` is empty: pass the edge's CONFAB_SECRET");
  if (!room) throw new ConfabError("invalid_argument", "mintToken: `room` is empty");
  if (!user?.id?.trim()) throw new ConfabError("invalid_argument", "mintToken: `user.id` is empty");
  if (!ROLES.includes(role)) throw new ConfabError("invalid_argument", `mintToken: \`role\` must be one of ${ROLES.join(", ")}; got \`${String(role)}\``);
  if (!(Number.isFinite(ttl) && ttl > 0)) throw new ConfabError("invalid_argument", `mintToken: \`ttl\` must be a positive number of seconds; got ${ttl}`);
  const claims: TokenClaims = {
    room,
    sub: user.id,
    name: user.name ?? user.id,
    kind: user.kind ?? "person",
    role,
    exp: Math.floor((options.now ?? Date.now()) / 1000 + ttl),
  };
  const signed = `v1.${base64url(new TextEncoder().encode(JSON.stringify(claims)))}`;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signed)));
  return `${signed}.${base64url(mac)}`;
}
