// One process's share of a relay room (scenario 5): stock Yjs + y-websocket clients,
// driven by the parent (relay.mjs) over IPC, so that no server is measured through one
// saturated client process. Times are wall-clock milliseconds with sub-millisecond
// precision (`performance.timeOrigin + performance.now()`), comparable across processes
// on one machine.
import { WebsocketProvider } from "y-websocket";
import { WebSocket } from "ws";
import * as Y from "yjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

/** @type {{ id: number, doc: Y.Doc, provider: WebsocketProvider, stamps: Y.Map<number>, text: Y.Text, seq: number, timer?: NodeJS.Timeout }[]} */
let clients = [];
/** Sent edits: [client, seq, time]. */
const sent = [];
/** "client:seq" -> [receivers that saw that stamp, the last one's time]. */
const got = new Map();
let n = 0;
let rate = 10;
let seconds = 5;
/** Clients with an id below this type; the rest only watch. */
let writers = 0;

function send(message) {
  process.send?.(message);
}

async function join({ base, room, ids, size, perSecond, duration, typing, regions }) {
  n = size;
  rate = perSecond;
  seconds = duration;
  writers = typing ?? size;
  clients = ids.map((id) => {
    const doc = new Y.Doc();
    // A watcher given regions connects through the fan-out tier (`?view=<region>`).
    const params = id >= writers && regions?.length ? { view: regions[id % regions.length] } : {};
    const provider = new WebsocketProvider(base, room, doc, { WebSocketPolyfill: WebSocket, disableBc: true, params });
    const stamps = doc.getMap("stamps");
    stamps.observe((event, txn) => {
      if (txn.local) return;
      const at = now();
      for (const key of event.keysChanged) {
        const k = `${key}:${stamps.get(key)}`;
        const entry = got.get(k);
        if (entry) {
          entry[0] += 1;
          entry[1] = Math.max(entry[1], at);
        } else got.set(k, [1, at]);
      }
    });
    return { id, doc, provider, stamps, text: doc.getText("text"), seq: 0 };
  });
  const deadline = Date.now() + 30_000;
  while (!clients.every((c) => c.provider.synced)) {
    if (Date.now() > deadline) throw new Error(`${ids.length} clients did not sync within 30 s`);
    await sleep(20);
  }
  send({ type: "synced" });
}

/** Type from wall-clock time `at`: each client `rate` edits/s, phases spread over the room. */
async function go({ at }) {
  const interval = 1000 / rate;
  const end = at + seconds * 1000;
  for (const c of clients.filter((c) => c.id < writers)) {
    const tick = () => {
      if (now() >= end) return;
      const seq = ++c.seq;
      sent.push([c.id, seq, now()]);
      c.doc.transact(() => {
        c.text.insert(Math.min(c.text.length, seq % 50), String.fromCharCode(97 + (seq % 26)));
        c.stamps.set(String(c.id), seq);
      });
      c.timer = setTimeout(tick, interval);
    };
    c.timer = setTimeout(tick, Math.max(0, at - now()) + (c.id * interval) / n);
  }
  await sleep(Math.max(0, end - now()) + 50);
  for (const c of clients) clearTimeout(c.timer);
  send({ type: "typed", finals: Object.fromEntries(clients.filter((c) => c.id < writers).map((c) => [c.id, c.seq])) });
}

/** Wait (up to 10 s) until every client here has every other client's last stamp. */
async function drain({ finals }) {
  const behind = () =>
    clients.filter((c) => Object.entries(finals).some(([id, seq]) => Number(id) !== c.id && Number(c.stamps.get(id) ?? 0) < seq));
  const until = Date.now() + 10_000;
  while (behind().length > 0 && Date.now() < until) await sleep(50);
  // Per sender, the lowest stamp any client here ended with: an edit above it is lost.
  const reached = {};
  for (const id of Object.keys(finals)) {
    const others = clients.filter((c) => String(c.id) !== id);
    if (others.length) reached[id] = Math.min(...others.map((c) => Number(c.stamps.get(id) ?? 0)));
  }
  send({
    type: "report",
    sent,
    got: [...got.entries()],
    reached,
    texts: [...new Set(clients.map((c) => c.text.toString()))],
  });
  for (const c of clients) {
    c.provider.destroy();
    c.doc.destroy();
  }
}

process.on("message", (message) => {
  const run = { join, go, drain }[message.type];
  if (!run) return;
  run(message).catch((err) => {
    send({ type: "error", error: err instanceof Error ? err.message : String(err) });
  });
});
process.on("disconnect", () => process.exit(0));
