// The fan-out tier on the real edge: viewers that connect with `?view=<region>` are
// served by one of the room's fan-out objects (4 by default), each following the room
// on one socket. Stock Yjs + y-websocket clients throughout.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { closeOf, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

const OBJECTS = 4;

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

/** Core's choice of fan-out object for a region (FNV-1a 64 of its bytes, modulo the count). */
function slotOf(region) {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(region, "utf8")) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(h % BigInt(OBJECTS));
}

/** One region per fan-out object, so every object of the room serves someone. */
function regionsForEveryObject() {
  const found = new Map();
  for (let i = 0; found.size < OBJECTS; i++) {
    const region = `region-${i}`;
    if (!found.has(slotOf(region))) found.set(slotOf(region), region);
  }
  return [...found.entries()].sort(([a], [b]) => a - b).map(([slot, region]) => ({ slot, region }));
}

/**
 * A stock client; `region` makes it a viewer through the fan-out tier. It records every
 * value of the writer's stamp it sees, in order.
 */
function client(room, region) {
  const doc = new Y.Doc();
  const params = region ? { view: region } : {};
  const provider = new WebsocketProvider(edge.ws, room, doc, { WebSocketPolyfill: /** @type {any} */ (WebSocket), disableBc: true, params });
  const seen = [];
  doc.getMap("stamps").observe(() => seen.push(Number(doc.getMap("stamps").get("writer"))));
  // Destroying the doc stops its awareness timer (the process would otherwise stay up).
  const close = () => {
    provider.destroy();
    doc.destroy();
  };
  return { doc, provider, seen, close, text: () => doc.getText("text").toString() };
}

/** The writer types `n` stamped edits, one every `ms`. */
async function type(writer, n, from = 1, ms = 20) {
  for (let i = from; i < from + n; i++) {
    writer.doc.transact(() => {
      writer.doc.getText("text").insert(0, String(i % 10));
      writer.doc.getMap("stamps").set("writer", i);
    });
    await new Promise((r) => setTimeout(r, ms));
  }
}

/** What a fan-out object reports of itself (through the runtime: no route reaches it). */
async function stats(room, slot) {
  const ns = await edge.mf.getDurableObjectNamespace("FANOUT");
  const res = await ns.get(ns.idFromName(`${room}#${slot}`)).fetch("https://fanout/internal/stats");
  return /** @type {{ viewers: number, following: boolean, synced: boolean }} */ (await res.json());
}

function increasing(list) {
  return list.every((v, i) => i === 0 || v >= list[i - 1]);
}

test("viewers on four fan-out objects see every update, in order, and the room holds one socket per object", async () => {
  const room = uniqueRoom("fanout");
  const writer = client(room);
  const regions = regionsForEveryObject();
  const viewers = regions.flatMap(({ region }) => [client(room, region), client(room, region)]);
  try {
    await waitFor(() => writer.provider.synced && viewers.every((v) => v.provider.synced), { what: "everyone to sync" });
    await type(writer, 40);
    const final = writer.text();
    await waitFor(() => viewers.every((v) => v.text() === final), { what: "every viewer to hold the writer's text" });
    for (const v of viewers) {
      assert.equal(v.seen.at(-1), 40, "the last stamp arrived");
      assert.ok(increasing(v.seen), `stamps in order: ${v.seen.join(",")}`);
    }
    for (const { slot } of regions) {
      const s = await stats(room, slot);
      assert.equal(s.viewers, 2, `object ${slot} serves its region's two viewers`);
      assert.ok(s.following && s.synced, `object ${slot} follows the room`);
    }
    // The room sees its writer and one socket per fan-out object, not eight viewers.
    const summary = await (await fetch(`${edge.http}/rooms/${room}/stats`)).json();
    assert.equal(summary.connections, 1 + OBJECTS);
  } finally {
    for (const c of [writer, ...viewers]) c.close();
  }
});

test("a viewer cannot write through a fan-out object: its socket closes with the reason", async () => {
  const room = uniqueRoom("fanout-write");
  const writer = client(room);
  try {
    await waitFor(() => writer.provider.synced, { what: "the writer to sync" });
    const doc = new Y.Doc();
    doc.getText("text").insert(0, "not allowed");
    // sync step 2 (message 0, step 1) carrying the viewer's own content.
    const update = Y.encodeStateAsUpdate(doc);
    const frame = Buffer.concat([Buffer.from([0, 1]), encodeLength(update.length), Buffer.from(update)]);
    const closed = await closeOf(`${edge.ws}/${room}?view=anywhere`, [frame]);
    assert.ok(closed, "the socket was closed");
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /fan-out/);
    assert.equal(writer.text(), "", "nothing reached the room");
  } finally {
    writer.close();
  }
});

test("a fan-out object that restarts mid-stream loses its viewers' nothing: they reconnect and see every update in order", async () => {
  const room = uniqueRoom("fanout-restart");
  const writer = client(room);
  const [{ slot, region }] = regionsForEveryObject();
  const viewer = client(room, region);
  let closes = 0;
  viewer.provider.on("connection-close", () => closes++);
  try {
    await waitFor(() => writer.provider.synced && viewer.provider.synced, { what: "both to sync" });
    const typing = type(writer, 60);
    await waitFor(() => viewer.seen.length >= 10, { what: "the viewer to see the stream" });
    const ns = await edge.mf.getDurableObjectNamespace("FANOUT");
    const answer = await ns.get(ns.idFromName(`${room}#${slot}`)).fetch("https://fanout/internal/restart");
    assert.equal(await answer.text(), "restarted");
    // The restart closes the viewer's socket; wait for that before typing on, so some
    // updates surely come after it (on a slow machine the first 60 may all be sent first).
    await waitFor(() => closes >= 1, { what: "the restart to close the viewer's socket" });
    await typing;
    await type(writer, 20, 61);
    const final = writer.text();
    await waitFor(() => viewer.provider.synced && viewer.text() === final, { what: "the viewer to reconnect and catch up after the restart", timeout: 20_000 });
    assert.equal(viewer.seen.at(-1), 80);
    assert.ok(increasing(viewer.seen), `stamps in order: ${viewer.seen.join(",")}`);
    const s = await stats(room, slot);
    assert.ok(s.following && s.synced && s.viewers === 1, JSON.stringify(s));
  } finally {
    writer.close();
    viewer.close();
  }
});

/** lib0's variable-length unsigned integer. */
function encodeLength(n) {
  const out = [];
  while (n > 0x7f) {
    out.push(0x80 | (n & 0x7f));
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
