// Scenario 6 (initial-sync storm), big rooms (a late joiner of a 20 MB room) and the
// memory a room takes in the Durable Object. Stock Yjs + y-websocket clients, Confab's
// edge under local workerd and the stock Yjs websocket server, in one run.
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { BENCH_LIMITS, startEdge } from "../helpers.mjs";
import { DATA, DOCUMENTS } from "./contestants.mjs";
import { percentile } from "./relay.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const HERE = path.dirname(fileURLToPath(import.meta.url));
const LINE = `${"x".repeat(9_999)}\n`; // 10 kB

/** A stock client; counts the times its socket closed (a reconnect loop shows here). */
function client(base, room, doc = new Y.Doc()) {
  const state = { closes: 0 };
  class Counting extends WebSocket {
    constructor(...args) {
      super(...args);
      this.on("close", () => state.closes++);
    }
  }
  const provider = new WebsocketProvider(base, room, doc, { WebSocketPolyfill: Counting, disableBc: true });
  return { doc, provider, state, text: doc.getText("text") };
}

async function until(what, cond, ms = 60_000) {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(5);
  }
}

/** Fill `room` with `mb` MB of text in 1 MB transactions; resolves once a fresh client sees it all. */
export async function fillRoom(base, room, mb) {
  const w = client(base, room);
  await until("writer sync", () => w.provider.synced);
  for (let i = 0; i < mb; i++) {
    w.doc.transact(() => {
      for (let k = 0; k < 100; k++) w.text.insert(w.text.length, LINE);
    });
    await sleep(20);
  }
  const length = w.text.length;
  const check = client(base, room);
  await until("room filled", () => check.text.length === length, 120_000);
  check.provider.destroy();
  return { length, writer: w };
}

/** Median time for a fresh client to receive the whole room, over `joins` joins. */
export async function bigJoin(base, { mb = 20, joins = 5 } = {}) {
  const room = `big-${mb}-${Math.random().toString(36).slice(2, 8)}`;
  const { length, writer } = await fillRoom(base, room, mb);
  writer.provider.destroy();
  await sleep(1_000);
  const times = [];
  let closes = 0;
  for (let j = 0; j < joins; j++) {
    const t0 = performance.now();
    const c = client(base, room);
    await until("join", () => c.text.length === length, 60_000);
    times.push(performance.now() - t0);
    closes += c.state.closes;
    c.provider.destroy();
    await sleep(200);
  }
  times.sort((a, b) => a - b);
  return { median: percentile(times, 50), max: times.at(-1), closes, mb: (length / 1e6).toFixed(1) };
}

/** A raw socket asking for the whole room (sync step 1 with an empty state vector) until answered. */
/**
 * A 2 MB room; a probe writes every 50 ms and a second client measures the probe's
 * latency, first alone, then while 4 loaders (in a process of their own) re-sync the
 * whole room continuously.
 */
export async function storm(base, { mb = 2, seconds = 5, loaders = 4 } = {}) {
  const room = `storm-${Math.random().toString(36).slice(2, 8)}`;
  const { writer } = await fillRoom(base, room, mb);
  const reader = client(base, room);
  await until("reader sync", () => reader.provider.synced && reader.text.length === writer.text.length);
  const stamps = writer.doc.getMap("stamps");
  const sent = new Map();
  let phase = [];
  reader.doc.getMap("stamps").observe((e, txn) => {
    if (txn.local) return;
    const seq = reader.doc.getMap("stamps").get("probe");
    const at = sent.get(seq);
    if (at !== undefined) {
      phase.push(performance.now() - at);
      sent.delete(seq);
    }
  });
  let seq = 0;
  async function probe() {
    phase = [];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      seq++;
      sent.set(seq, performance.now());
      writer.doc.transact(() => {
        writer.text.insert(seq % 100, "p");
        stamps.set("probe", seq);
      });
      await sleep(50);
    }
    await sleep(500);
    const lost = sent.size;
    sent.clear();
    return { lat: [...phase].sort((a, b) => a - b), lost };
  }
  const quiet = await probe();
  // The loaders run in a process of their own (storm-loaders.mjs).
  const loading = fork(path.join(HERE, "storm-loaders.mjs"), [base, room, String(loaders)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const reply = (type) => new Promise((r) => loading.on("message", (m) => m.type === type && r(m)));
  await reply("started");
  await sleep(200);
  const loaded = await probe();
  const stopped = reply("stopped");
  loading.send({ type: "stop" });
  const { resyncs } = await stopped;
  loading.kill();
  writer.provider.destroy();
  reader.provider.destroy();
  const stat = (r) => ({ p50: percentile(r.lat, 50), p99: percentile(r.lat, 99), n: r.lat.length, lost: r.lost });
  return { quiet: stat(quiet), loaded: stat(loaded), resyncs };
}

/** Growth of the edge's wasm memory when a room receives `name` (a fresh edge). */
export async function roomMemory(name) {
  const edge = await startEdge({ direct: true, bindings: BENCH_LIMITS });
  try {
    const room = `mem-${name}`;
    const stats = async () => (await fetch(`${edge.http}/rooms/${room}/stats`)).json();
    const before = await stats();
    const [file, enc] = DOCUMENTS[name];
    const bytes = readFileSync(path.join(DATA, `${file}${enc === "v2" ? ".yjs" : ".bin"}`));
    // Client id 0 is the room's own (it writes the file tree under it): an update
    // written under it is refused, so such a dataset cannot be uploaded as it is.
    const clients = new Set((enc === "v2" ? Y.decodeUpdateV2(bytes) : Y.decodeUpdate(bytes)).structs.map((s) => s.id.client));
    if (clients.has(0)) return { skipped: "written under client id 0, which the room keeps for its own writes" };
    const doc = new Y.Doc();
    if (enc === "v2") Y.applyUpdateV2(doc, bytes);
    else Y.applyUpdate(doc, bytes);
    const length = doc.getText("text").length;
    const w = client(edge.ws, room, doc);
    await until("upload", () => w.provider.synced);
    const check = client(edge.ws, room);
    await until("room loaded", () => check.text.length === length, 60_000);
    check.provider.destroy();
    w.provider.destroy();
    const after = await stats();
    return {
      mb: (after.wasmMemoryBytes - before.wasmMemoryBytes) / 2 ** 20,
      documentMB: after.documentBytes / 2 ** 20,
    };
  } finally {
    await edge.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { servers } = await import("./relay.mjs");
  const what = process.argv[2] ?? "join";
  if (what === "memory") {
    console.log(JSON.stringify(await roomMemory(process.argv[3] ?? "S1")));
  } else {
    const s = await servers();
    for (const [name, url] of s.list) {
      const r = what === "storm" ? await storm(url) : await bigJoin(url, { mb: Number(process.argv[3] ?? 20), joins: 3 });
      console.log(name, JSON.stringify(r));
    }
    await s.stop();
  }
  process.exit(0);
}
