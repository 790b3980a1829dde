// Tokens the way the peers do them: `mintToken` from the package's `./server` subpath
// (the same format and secret the edge verifies), and the `auth` option, which fetches a
// token before connecting, refreshes it before it expires, and recovers when the room
// refuses an expired one — against the real edge under workerd, through a real TCP
// proxy that drops connections the way a network does.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Room } from "confab-rooms";
import { mintToken } from "confab-rooms/server";
import { DEV_SECRET, closeOf, openConfab, stallingProxy, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

test("mintToken makes tokens the edge accepts, with the identity and role they name; a forged one is refused", async () => {
  const room = uniqueRoom("mint");
  const token = await mintToken({ secret: DEV_SECRET, room, user: { id: "vic", name: "Vic" }, role: "viewer", ttl: 600 });
  const vic = await openConfab(edge.ws, room, { id: "someone-else", name: "X" }, { token });
  try {
    assert.equal(vic.role, "viewer");
    assert.equal(vic.readOnly, true);
    assert.deepEqual(
      vic.presence.list().find((p) => p.isSelf)?.user,
      { id: "vic", name: "Vic", kind: "person" },
      "the room knows Vic by the token",
    );
  } finally {
    vic.destroy();
  }
  const agent = await mintToken({ secret: DEV_SECRET, room, user: { id: "bot", kind: "agent" }, role: "editor" });
  const asAgent = await openConfab(edge.ws, room, { id: "x", name: "x" }, { token: agent });
  try {
    assert.deepEqual(asAgent.presence.list().find((p) => p.isSelf)?.user, { id: "bot", name: "bot", kind: "agent" });
  } finally {
    asAgent.destroy();
  }
  const forged = await mintToken({ secret: "not-the-secret", room, user: { id: "eve" }, role: "owner" });
  const closed = await closeOf(`${edge.ws}/${room}?token=${encodeURIComponent(forged)}`);
  assert.equal(closed?.code, 4403, JSON.stringify(closed));
  await assert.rejects(mintToken({ secret: DEV_SECRET, room, user: { id: "a" }, role: /** @type {any} */ ("admin") }), {
    code: "invalid_argument",
    message: /`role` must be one of owner, editor, reviewer, viewer; got `admin`/,
  });
  await assert.rejects(mintToken({ secret: "", room, user: { id: "a" }, role: "editor" }), { code: "invalid_argument", message: /`secret` is empty/ });
});

test("with auth, a token that expires mid-session is refreshed before it does: reconnects go on, and no edit is lost", async () => {
  const room = uniqueRoom("auth");
  const proxy = await stallingProxy(edge.http);
  const bob = await openConfab(edge.ws, room, { id: "bob", name: "Bob" });
  /** @type {number[]} */
  const expiries = [];
  const auth = async (/** @type {string} */ name) => {
    assert.equal(name, room);
    // The first token lasts 11–12 s (its expiry is in whole seconds), far longer than a
    // slow first handshake; the refreshed ones last long enough that no reconnect,
    // however slow, could meet one expired.
    const ttl = expiries.length === 0 ? 12 : 600;
    const token = await mintToken({ secret: DEV_SECRET, room: name, user: { id: "ada", name: "Ada" }, role: "editor", ttl });
    expiries.push(JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).exp);
    return token;
  };
  const ada = await Room.open({ url: proxy.ws, room, user: { id: "ada", name: "Ada" }, auth });
  const expired = [];
  ada.on("token-expired", (e) => expired.push(e));
  try {
    await ada.whenSynced();
    ada.docs.ensure("Notes", "notes");
    ada.docs.setText("notes", "one");
    await waitFor(() => bob.docs.list().length === 1 && bob.docs.text("notes") === "one", { what: "Bob to see Ada's first edit" });
    // The first token's time runs out; a fresh one was fetched before it did.
    await waitFor(() => expiries.length >= 2 && Date.now() > expiries[0] * 1000 + 200, { timeout: 30_000, what: "the first token expired and a refresh" });
    // The open connection goes on...
    ada.docs.setText("notes", "one two");
    await waitFor(() => bob.docs.text("notes") === "one two", { what: "an edit after the expiry" });
    // ...and so does a new one, on the fresh token: the network drops, Ada edits
    // offline, and the edit arrives.
    proxy.drop();
    ada.docs.setText("notes", "one two three");
    await waitFor(() => bob.docs.text("notes") === "one two three", { timeout: 15_000, what: "the offline edit after the reconnect" });
    assert.equal(expired.length, 0, "never refused for an expired token");
  } finally {
    ada.destroy();
    bob.destroy();
    await proxy.close();
  }
});

test("with auth, a refresh that failed is reported, and the room's refusal of the expired token is recovered from by itself", async () => {
  const room = uniqueRoom("auth-fallback");
  const proxy = await stallingProxy(edge.http);
  const bob = await openConfab(edge.ws, room, { id: "bob", name: "Bob" });
  let calls = 0;
  let firstExp = 0;
  /** @type {unknown[]} */
  const expired = [];
  const auth = async () => {
    calls += 1;
    if (calls > 1) {
      // The token service is down until the room has refused the expired token: the
      // refresh before expiry fails, and so does every retry of it. (The refusal's
      // event reaches the test's listener in the same turn as this call: wait a turn.)
      await new Promise((resolve) => setImmediate(resolve));
      if (expired.length === 0) throw new Error("token service unavailable");
    }
    const token = await mintToken({ secret: DEV_SECRET, room, user: { id: "ada", name: "Ada" }, role: "editor", ttl: calls === 1 ? 12 : 600 });
    if (calls === 1) firstExp = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).exp;
    return token;
  };
  const ada = await Room.open({ url: proxy.ws, room, user: { id: "ada", name: "Ada" }, auth });
  const errors = [];
  ada.on("error", (e) => errors.push(e.error));
  ada.on("token-expired", (e) => expired.push(e));
  try {
    await ada.whenSynced();
    ada.docs.ensure("Notes", "notes");
    ada.docs.setText("notes", "before");
    await waitFor(() => bob.docs.list().length === 1 && bob.docs.text("notes") === "before", { what: "Bob to see Ada's edit" });
    const failed = await waitFor(() => errors.find((e) => e.code === "auth_failed"), { timeout: 30_000, what: "the failed refresh reported" });
    assert.match(failed.message, /the auth callback failed: token service unavailable/);
    await waitFor(() => Date.now() > firstExp * 1000 + 200, { timeout: 30_000, what: "the token to expire" });
    // The network drops: the reconnect carries the expired token, the room refuses it,
    // and the client fetches a fresh one and reconnects; the edit made meanwhile arrives.
    proxy.drop();
    ada.docs.setText("notes", "before and after");
    await waitFor(() => bob.docs.text("notes") === "before and after", { timeout: 15_000, what: "the edit after the recovery" });
    assert.equal(expired.length, 1, "refused once, for the expired token");
    assert.ok(calls >= 3, `a first token, a failed refresh and the recovery (${calls} calls)`);
    // Bob can see the edit a moment before the room's answer to Ada's sync reaches her.
    await waitFor(() => ada.status === "synced", { what: "Ada synced again" });
  } finally {
    ada.destroy();
    bob.destroy();
    await proxy.close();
  }
});
