// Scenario 5: relay fan-out. The same stock Yjs + y-websocket clients, in rooms of N, on
// Confab's edge under local workerd and on the stock Yjs websocket server, in one run.
// Each client types at a fixed rate; latency is from the sender's edit to the moment
// the last receiver has applied it. Every edit must reach every receiver.
import http from "node:http";
import { setupWSConnection } from "@y/websocket-server/utils";
import { WebSocket, WebSocketServer } from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { BENCH_LIMITS, startEdge } from "../helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startStock() {
  const server = http.createServer((_, res) => {
    res.writeHead(200);
    res.end("stock y-websocket server");
  });
  const wss = new WebSocketServer({ noServer: true });
  wss.on("connection", (conn, req) => setupWSConnection(conn, req, { gc: true }));
  server.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req)));
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    ws: `ws://127.0.0.1:${port}`,
    stop: () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

/**
 * One room of `n` clients typing `rate` edits/s each for `seconds` on the server at
 * `base`. Returns latencies (ms) of every edit to its last receiver, and losses.
 */
export async function measureRoom(base, n, { rate = 10, seconds = 5, label = "room" } = {}) {
  const room = `${label}-${n}-${Math.random().toString(36).slice(2, 8)}`;
  const sent = new Map(); // "client:seq" -> { at, left }
  const done = [];
  const clients = [];
  for (let i = 0; i < n; i++) {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(base, room, doc, { WebSocketPolyfill: WebSocket, disableBc: true });
    const stamps = doc.getMap("stamps");
    stamps.observe((event, txn) => {
      if (txn.local) return;
      const now = performance.now();
      for (const key of event.keysChanged) {
        const id = `${key}:${stamps.get(key)}`;
        const s = sent.get(id);
        if (!s) continue;
        s.left -= 1;
        if (s.left === 0) {
          done.push(now - s.at);
          sent.delete(id);
        }
      }
    });
    clients.push({ doc, provider, stamps, text: doc.getText("text"), seq: 0 });
  }
  const deadline = Date.now() + 30_000;
  while (!clients.every((c) => c.provider.synced)) {
    if (Date.now() > deadline) throw new Error(`${label}: ${n} clients did not sync within 30 s`);
    await sleep(20);
  }
  // Type: each client at `rate` per second, phases spread out.
  const interval = 1000 / rate;
  const end = performance.now() + seconds * 1000;
  const timers = clients.map((c, i) =>
    setTimeout(function tick() {
      if (performance.now() >= end) return;
      const seq = ++c.seq;
      sent.set(`${i}:${seq}`, { at: performance.now(), left: n - 1 });
      c.doc.transact(() => {
        c.text.insert(Math.min(c.text.length, seq % 50), String.fromCharCode(97 + (seq % 26)));
        c.stamps.set(String(i), seq);
      });
      c.timer = setTimeout(tick, interval);
    }, (i * interval) / n),
  );
  await sleep(seconds * 1000 + 50);
  for (const c of clients) clearTimeout(c.timer);
  for (const t of timers) clearTimeout(t);
  // Drain: give stragglers up to 10 s.
  const drainUntil = Date.now() + 10_000;
  while (sent.size > 0 && Date.now() < drainUntil) await sleep(50);
  // A later stamp from the same client overwrites an earlier one (a map key): a
  // receiver that applied the later one applied the earlier edit too.
  const lost = [...sent.keys()].filter((id) => {
    const [client, seq] = id.split(":").map(Number);
    return !clients.every((c, j) => j === client || Number(c.stamps.get(String(client)) ?? 0) >= seq);
  }).length;
  const texts = new Set(clients.map((c) => c.text.toString()));
  for (const c of clients) {
    c.provider.destroy();
    c.doc.destroy();
  }
  const sorted = done.sort((a, b) => a - b);
  return {
    edits: clients.reduce((s, c) => s + c.seq, 0),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
    lost,
    converged: texts.size === 1,
  };
}

export async function servers() {
  const confab = await startEdge({ direct: true, bindings: BENCH_LIMITS });
  const stock = await startStock();
  return {
    list: [
      ["Confab edge (workerd)", confab.ws],
      ["stock y-websocket server", stock.ws],
    ],
    stop: async () => {
      await confab.stop();
      await stock.stop();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 10);
  const s = await servers();
  for (const [name, url] of s.list) {
    console.log(name, JSON.stringify(await measureRoom(url, n, { seconds: 3 })));
  }
  await s.stop();
  process.exit(0);
}
