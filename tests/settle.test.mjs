// Every promise the package hands out settles, with a typed ConfabError, when what it
// waited on goes: disconnect(), destroy(), setToken(), a dropped socket, a connect
// watchdog retry. Real edge under workerd; each request is sent to it and the
// connection is changed in the same tick, before any answer can arrive.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { ConfabError, DestroyedError, Room, init } from "confab-rooms";
import { DEV_SECRET, gate, mintToken, openConfab, startEdge, uniqueRoom } from "./helpers.mjs";

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

/** What a settled promise came to: its rejection's name and code, or "resolved". */
function outcome(promise) {
  return promise.then(
    () => "resolved",
    (err) => `${err instanceof ConfabError ? "ConfabError" : err?.constructor?.name}:${err.code}`,
  );
}

/** Start one of each pending thing: a request, a lock call, a save and two waits. */
function pendingAll(room) {
  room.docs.ensure("D", "d");
  room.docs.insert("d", 0, "unsaved");
  assert.ok(room.unacked > 0);
  return {
    request: outcome(room.request("lock.list")),
    acquire: outcome(room.locks.acquire(`doc:${Math.random()}`, 5_000)),
    saved: outcome(room.whenSaved(30_000)),
    status: outcome(room.whenStatus("reconnecting", 30_000)),
  };
}

/** Resolve with the first status for which `want` holds. */
function nextStatus(room, want) {
  return new Promise((resolve) => {
    const off = room.on("status", ({ status }) => {
      if (want(status)) {
        off();
        resolve(status);
      }
    });
  });
}

describe("every pending promise settles", () => {
  test('disconnect() rejects requests, lock calls and waits with "disconnected"', async () => {
    const ada = await openConfab(edge.ws, uniqueRoom("settle-disconnect"), { id: "ada", name: "Ada" });
    try {
      const pending = pendingAll(ada);
      const synced = outcome(ada.whenStatus("disconnected", 30_000));
      ada.disconnect();
      assert.deepEqual(
        { request: await pending.request, acquire: await pending.acquire, saved: await pending.saved, status: await pending.status },
        {
          request: "ConfabError:disconnected",
          acquire: "ConfabError:disconnected",
          saved: "ConfabError:disconnected",
          status: "ConfabError:disconnected",
        },
      );
      assert.equal(await synced, "resolved", "a wait for the status it reached resolves");
      await assert.rejects(ada.request("lock.list"), { name: "ConfabError", code: "not_connected" });
    } finally {
      ada.destroy();
    }
  });

  test('destroy() rejects everything pending with "destroyed"; later calls throw it; it is idempotent and Symbol.dispose calls it', async () => {
    const ada = await openConfab(edge.ws, uniqueRoom("settle-destroy"), { id: "ada", name: "Ada" });
    const pending = pendingAll(ada);
    const synced = outcome(ada.whenSynced(30_000));
    ada.destroy();
    ada.destroy();
    const all = await Promise.all([pending.request, pending.acquire, pending.saved, pending.status]);
    assert.deepEqual(all, Array(4).fill("ConfabError:destroyed"));
    assert.equal(await synced, "resolved", "it was synced already");
    for (const call of [() => ada.docs.text("d"), () => ada.chat.conversations(), () => ada.status, () => ada.connect(), () => ada.on("change", () => {})]) {
      assert.throws(call, (err) => err instanceof DestroyedError && err instanceof ConfabError && err.code === "destroyed");
    }
    await assert.rejects(ada.request("lock.list"), { name: "DestroyedError", code: "destroyed" });
    await assert.rejects(ada.locks.list(), { code: "destroyed" });
    await assert.rejects(ada.whenSynced(), { code: "destroyed" });

    await init();
    const bob = new Room({ url: edge.ws, room: "never-joined", user: { id: "bob", name: "Bob" }, WebSocket });
    bob[Symbol.dispose]();
    bob.destroy();
    assert.throws(() => bob.docs.list(), { code: "destroyed" });
  });

  test('setToken() rejects what waited on the old connection with "token_changed", then syncs with the new token', async () => {
    const room = uniqueRoom("settle-token");
    const token = (sub) => mintToken(DEV_SECRET, { room, sub, role: "editor" });
    const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" }, { token: token("ada") });
    try {
      const pending = pendingAll(ada);
      ada.setToken(token("ada"));
      const all = await Promise.all([pending.request, pending.acquire, pending.saved, pending.status]);
      assert.deepEqual(all, Array(4).fill("ConfabError:token_changed"));
      await ada.whenSynced(10_000);
      await ada.whenSaved(10_000);
      assert.ok(Array.isArray((await ada.request("lock.list")).leases), "requests work on the new connection");
    } finally {
      ada.destroy();
    }
  });

  test('a dropped socket rejects requests with "connection_lost"; the waits go on through the reconnect', async () => {
    const door = await gate();
    door.openTo(edge.ws);
    const ada = await openConfab(door.ws, uniqueRoom("settle-drop"), { id: "ada", name: "Ada" });
    try {
      const pending = pendingAll(ada);
      const dropped = nextStatus(ada, (s) => s === "reconnecting");
      door.shut();
      assert.equal(await pending.request, "ConfabError:connection_lost");
      assert.equal(await pending.acquire, "ConfabError:connection_lost");
      await dropped;
      assert.equal(await pending.status, "resolved", "whenStatus(\"reconnecting\") saw it");
      door.openTo(edge.ws);
      assert.equal(await pending.saved, "resolved", "whenSaved waited through the reconnect");
      assert.equal(ada.unacked, 0);
    } finally {
      ada.destroy();
      await door.close();
    }
  });

  test("a socket that never opens is abandoned by the watchdog and retried; whenSynced waits through it", { timeout: 60_000 }, async () => {
    const door = await gate();
    door.hang();
    await init();
    const ada = new Room({ url: door.ws, room: uniqueRoom("settle-watchdog"), user: { id: "ada", name: "Ada" }, WebSocket });
    try {
      const seen = [];
      ada.on("status", ({ status }) => seen.push(status));
      const synced = outcome(ada.whenSynced(45_000));
      const retried = nextStatus(ada, (s) => s === "reconnecting");
      ada.connect();
      await assert.rejects(ada.request("lock.list"), { name: "ConfabError", code: "not_connected" });
      await retried;
      assert.deepEqual(seen, ["connecting", "reconnecting"], "the socket never opened");
      door.openTo(edge.ws);
      assert.equal(await synced, "resolved");
    } finally {
      ada.destroy();
      door.shut();
      await door.close();
    }
  });
});

describe("errors are ConfabErrors with a stable code", () => {
  test("local calls and the room's refusals", async () => {
    const room = uniqueRoom("errors");
    const token = (sub) => mintToken(DEV_SECRET, { room, sub, role: "editor" });
    const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" }, { token: token("ada") });
    const bob = await openConfab(edge.ws, room, { id: "bob", name: "Bob" }, { token: token("bob") });
    try {
      ada.docs.ensure("D", "d");
      assert.throws(() => ada.docs.insert("d", 5, "x"), { name: "ConfabError", code: "out_of_range" });
      assert.throws(() => ada.docs.text("missing"), { name: "ConfabError", code: "not_found", message: "unknown document `missing`" });
      assert.throws(() => ada.chat.post("main", "x", /** @type {any} */ ("wizard")), { name: "ConfabError", code: "invalid_argument" });
      assert.throws(() => ada.docs.setStalePolicy("d", /** @type {any} */ ("suggest")), { code: "invalid_argument" });
      const { lease } = await ada.locks.acquire("doc:d", 5_000);
      await assert.rejects(bob.locks.acquire("doc:d", 5_000), (err) => err instanceof ConfabError && err.code === "lock_held");
      await assert.rejects(bob.request("activity.complete", { id: "nope" }), { name: "ConfabError", code: "not_found", message: /no activity `nope`/ });
      await ada.locks.release("doc:d", lease.fence);
      assert.throws(() => new Room({ url: edge.ws, room: "", user: { id: "x", name: "X" } }), { name: "ConfabError", code: "invalid_argument" });
    } finally {
      ada.destroy();
      bob.destroy();
    }
  });
});
