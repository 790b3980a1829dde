// Saved means stored, under workerd: an edit made offline stays unsaved until the room
// stores it after the reconnect, and no acknowledged edit is lost when the runtime is
// killed (SIGKILL: no shutdown, no flush) during a stream of edits.
//
// CONFAB_KILLS sets how many kills the long test makes (default 4; `scripts/
// durability-long.sh` runs 50). It prints one line, `durability: kills=… acked=… lost=…`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { Room, init } from "confab-rooms";
import { gate, openConfab, startEdge, tempDir, uniqueRoom } from "./helpers.mjs";

const KILLS = Number(process.env.CONFAB_KILLS ?? 4);
/** Acknowledgements each writer must see after a restart before the next kill. */
const ACKS_PER_ROUND = Number(process.env.CONFAB_ACKS_PER_ROUND ?? 3);
/** How long a writer may go without the acknowledgements it waits for. */
const MARKER_TIMEOUT_MS = 60_000;

/** Resolve with the first `status` event's state for which `want` holds. */
function nextStatus(client, want) {
  return new Promise((resolve) => {
    const off = client.on("status", (e) => {
      if (want(e.status)) {
        off();
        resolve(e.status);
      }
    });
  });
}

/** A document's text as the room stored it (REST, straight to the edge). */
async function storedText(http, room, id) {
  const res = await fetch(`${http}/rooms/${encodeURIComponent(room)}/documents/${id}`);
  if (res.status === 404) return "";
  const body = await res.text();
  assert.equal(res.status, 200, `GET document ${id}: ${body}`);
  return JSON.parse(body).text;
}

describe("saved means stored: edits made offline", () => {
  test("an edit made offline keeps whenSaved pending until the room stores it after the reconnect", async () => {
    const dir = await tempDir();
    const room = uniqueRoom("offline-saved");
    const door = await gate();
    let edge = await startEdge({ persistTo: dir });
    door.openTo(edge.ws);
    const ada = await openConfab(door.ws, room, { id: "ada", name: "Ada" });
    try {
      ada.docs.ensure("D", "d");
      ada.docs.insert("d", 0, "online. ");
      await ada.whenSaved();
      assert.equal(ada.unacked, 0);

      // The edge dies and nothing can reach it: Ada is offline.
      door.shut();
      const dropped = nextStatus(ada, (s) => s === "reconnecting");
      await edge.stop();
      await dropped;
      ada.docs.insert("d", ada.docs.text("d").length, "written offline.");
      assert.ok(ada.unacked > 0, "an edit not sent is not saved");
      let settled = "pending";
      const saved = ada.whenSaved(60_000).then(
        () => (settled = "saved"),
        (err) => (settled = `rejected: ${err.message}`),
      );
      // A failed reconnect attempt later, it is still pending.
      await nextStatus(ada, (s) => s === "connecting");
      await nextStatus(ada, (s) => s === "reconnecting");
      assert.equal(settled, "pending", "offline: whenSaved must wait");
      assert.ok(ada.unacked > 0);

      // The edge comes back: the reconnect syncs first; the room's acknowledgement of
      // what Ada sent comes after it.
      edge = await startEdge({ persistTo: dir });
      const first = Promise.race([
        saved.then(() => settled),
        nextStatus(ada, (s) => s === "synced").then(() => "reconnected"),
      ]);
      door.openTo(edge.ws);
      assert.equal(await first, "reconnected", "whenSaved settled before the edit was sent");
      assert.equal(await saved, "saved");
      assert.equal(ada.unacked, 0);
    } finally {
      ada.destroy();
    }
    // Stored, not just relayed: it survives another kill with no client around.
    door.shut();
    await edge.stop();
    edge = await startEdge({ persistTo: dir });
    try {
      assert.equal(await storedText(edge.http, room, "d"), "online. written offline.");
    } finally {
      await edge.stop();
      await door.close();
    }
  });

  test("destroy settles a pending whenSaved with code \"destroyed\"", async () => {
    await init();
    const ada = new Room({ url: "ws://127.0.0.1:9/rooms", room: "never-reached", user: { id: "ada", name: "Ada" }, WebSocket });
    ada.docs.ensure("D", "d");
    const saved = ada.whenSaved(60_000);
    const synced = ada.whenSynced(60_000);
    ada.destroy();
    ada.destroy(); // idempotent
    await assert.rejects(saved, { code: "destroyed", name: "DestroyedError" });
    await assert.rejects(synced, { code: "destroyed" });
    await assert.rejects(ada.whenSaved(), { code: "destroyed" });
  });
});

describe("durability: acknowledged edits survive the runtime being killed", () => {
  test(`kill -9 the runtime ${KILLS} times during a stream of edits from three clients, losing no acknowledged edit`, { timeout: 120_000 + KILLS * 60_000 }, async () => {
    assert.ok(Number.isInteger(KILLS) && KILLS > 0, `CONFAB_KILLS must be a positive integer, got ${process.env.CONFAB_KILLS}`);
    const dir = await tempDir();
    const room = uniqueRoom("kill");
    const door = await gate();
    let edge = await startEdge({ persistTo: dir });
    door.openTo(edge.ws);
    const clients = await Promise.all(
      [0, 1, 2].map((i) => openConfab(door.ws, room, { id: `c${i}`, name: `C${i}` })),
    );
    // Each client appends numbered words to its own document. `acked[i]` is how many of
    // client i's words the room confirmed stored: a `saved` event with nothing left
    // unsaved covers every word written before it. `acks[i]` counts those events.
    const written = [0, 0, 0];
    const acked = [0, 0, 0];
    const acks = [0, 0, 0];
    clients.forEach((c, i) => {
      c.docs.ensure(`D${i}`, `d${i}`);
      c.on("saved", (e) => {
        if (e.unacked === 0) {
          acked[i] = Math.max(acked[i], written[i]);
          acks[i] += 1;
        }
      });
    });
    let running = true;
    // Bursts of a few words, then wait for them to be stored (across a kill, that
    // waits for the reconnect): there is nearly always something in flight.
    const writers = clients.map(async (c, i) => {
      while (running) {
        if (c.status !== "synced") {
          await c.whenSynced(MARKER_TIMEOUT_MS).catch(() => {});
          continue;
        }
        for (let n = 1 + (written[i] % 4); n > 0; n--) {
          c.docs.insert(`d${i}`, c.docs.text(`d${i}`).length, `w${written[i]} `);
          written[i] += 1;
        }
        await c.whenSaved(MARKER_TIMEOUT_MS).catch(() => {});
      }
    });
    /** Wait until every writer saw `ACKS_PER_ROUND` acknowledgements since `since`. */
    const newAcks = (since, what) =>
      new Promise((resolve, reject) => {
        // Checked on each `saved` event (after the counting listener above has run).
        const offs = clients.map((c) => c.on("saved", () => check()));
        const timer = setTimeout(() => {
          const got = acks.map((n, i) => n - since[i]);
          settle(new Error(`${what}: after ${MARKER_TIMEOUT_MS} ms the writers had ${got.join("/")} new acknowledgements, wanted ${ACKS_PER_ROUND} each`));
        }, MARKER_TIMEOUT_MS);
        const settle = (/** @type {Error | undefined} */ err) => {
          clearTimeout(timer);
          offs.forEach((off) => off());
          if (err) reject(err);
          else resolve(undefined);
        };
        const check = () => {
          if (acks.every((n, i) => n - since[i] >= ACKS_PER_ROUND)) settle(undefined);
        };
        check();
      });
    /** Words of client i acknowledged before the kill and missing from what is stored. */
    const missing = async (ackedAtKill) => {
      const lost = [];
      for (let i = 0; i < 3; i++) {
        const text = await storedText(edge.http, room, `d${i}`);
        const words = new Set(text.split(" "));
        for (let w = 0; w < ackedAtKill[i]; w++) {
          if (!words.has(`w${w}`)) lost.push(`client ${i} w${w}`);
        }
      }
      return lost;
    };
    let kills = 0;
    /** Kills that found some client with edits not yet stored. */
    let inFlight = 0;
    let lostTotal = 0;
    let outcome = "failed";
    try {
      for (; kills < KILLS; kills++) {
        await newAcks([...acks], kills === 0 ? "before the first kill" : `after restart ${kills}`);
        if (clients.some((c) => c.unacked > 0)) inFlight += 1;
        door.shut();
        await edge.stop(); // SIGKILL
        const ackedAtKill = [...acked];
        // Read what the room stored before any client can re-send what it holds.
        edge = await startEdge({ persistTo: dir });
        const lost = await missing(ackedAtKill);
        lostTotal += lost.length;
        assert.deepEqual(lost, [], `kill ${kills + 1}: acknowledged edits lost`);
        door.openTo(edge.ws);
      }
      await newAcks([...acks], `after restart ${kills}`);
      running = false;
      await Promise.all(writers);
      await Promise.all(clients.map((c) => c.whenSaved(MARKER_TIMEOUT_MS)));
      for (let i = 0; i < 3; i++) acked[i] = Math.max(acked[i], written[i]);
      // Once more with no client around: everything written was acknowledged and is
      // all that survives.
      clients.forEach((c) => c.destroy());
      door.shut();
      await edge.stop();
      edge = await startEdge({ persistTo: dir });
      const lost = await missing(acked);
      lostTotal += lost.length;
      assert.deepEqual(lost, [], "acknowledged edits lost after the last kill");
      assert.deepEqual(acked, written, "every word written was acknowledged in the end");
      outcome = "passed";
    } finally {
      running = false;
      // One line for scripts/durability-long.sh: the kills made while writers ran (the
      // last one, with no client around, is not counted).
      const total = acked.reduce((a, b) => a + b, 0);
      console.log(`durability: kills=${kills} inflight=${inFlight} acked=${total} lost=${lostTotal} ${outcome}`);
      clients.forEach((c) => c.destroy());
      await edge.stop();
      await door.close();
    }
  });
});
