/**
 * Room tokens as the edge reads them: `v1.<base64url JSON claims>.<base64url
 * HMAC-SHA256>`, the claims `{ room, sub, name, kind, role, exp }` (`exp` in Unix
 * seconds). The client reads only the expiry, to refresh in time; the edge verifies.
 *
 * @module
 */

/** A role in a room. */
export type TokenRole = "owner" | "editor" | "reviewer" | "viewer";

/** What a token says about its bearer. */
export interface TokenClaims {
  room: string;
  sub: string;
  name: string;
  kind: "person" | "agent";
  role: TokenRole;
  exp: number;
}

/** base64url, no padding. */
export function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A token's claims, or undefined when it is not one (the edge will say why). */
export function readClaims(token: string): TokenClaims | undefined {
  const [version, body] = token.split(".");
  if (version !== "v1" || !body) return undefined;
  try {
    const bin = atob(body.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)))) as TokenClaims;
    return typeof claims.exp === "number" ? claims : undefined;
  } catch {
    return undefined;
  }
}
