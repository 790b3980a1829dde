// Scenario 5: relay fan-out. The same stock Yjs + y-websocket clients, in rooms of N, on
// Confab's edge under local workerd and on the stock Yjs websocket server, in one run.
// Each client types at a fixed rate; latency is from the sender's edit to the moment
// the last receiver has applied it. Every edit must reach every receiver. The stock
// server runs as its users run it (its own command, its own process), and the clients
// are spread over two processes of their own (relay-clients.mjs).
import { fork, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BENCH_LIMITS, freePort, startEdge } from "../helpers.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * The stock y-websocket server as its users run it: its own `y-websocket` command in a
 * process of its own, so the clients' work never shares its event loop.
 */
export async function startStock() {
  const port = await freePort();
  const bin = path.join(HERE, "node_modules/@y/websocket-server/src/server.js");
  const child = spawn(process.execPath, [bin], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the stock y-websocket server did not start within 10 s")), 10_000);
    child.once("exit", (code) => reject(new Error(`the stock y-websocket server exited (${code})`)));
    child.stdout.on("data", (chunk) => {
      if (String(chunk).includes("running at")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    ws: `ws://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r();
        child.once("exit", () => r());
        child.kill("SIGTERM");
      }),
  };
}

export function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

/** How many processes a room's clients are spread over. */
const CLIENT_PROCESSES = Number(process.env.CONFAB_BENCH_CLIENT_PROCESSES ?? 2);

/** Start `count` client processes and wait for each to answer `type` once. */
function replies(children, type) {
  return Promise.all(
    children.map(
      (child) =>
        new Promise((resolve, reject) => {
          const on = (m) => {
            if (m.type === type) {
              child.off("message", on);
              resolve(m);
            } else if (m.type === "error") {
              child.off("message", on);
              reject(new Error(m.error));
            }
          };
          child.on("message", on);
        }),
    ),
  );
}

/**
 * One room of `n` clients typing `rate` edits/s each for `seconds` on the server at
 * `base`, the clients spread over {@link CLIENT_PROCESSES} processes (relay-clients.mjs).
 * The first `writers` clients type (all by default); the rest watch, through the fan-out
 * tier when `regions` is given (each watcher connects with `?view=` one of them).
 * Returns latencies (ms) of every edit to its last receiver, and losses.
 */
export async function measureRoom(base, n, { rate = 10, seconds = 5, label = "room", writers = n, regions = null } = {}) {
  const room = `${label}-${n}-${Math.random().toString(36).slice(2, 8)}`;
  const parts = Math.max(1, Math.min(CLIENT_PROCESSES, n));
  const children = Array.from({ length: parts }, () =>
    fork(path.join(HERE, "relay-clients.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  try {
    const synced = replies(children, "synced");
    children.forEach((child, k) => {
      const ids = Array.from({ length: n }, (_, i) => i).filter((i) => i % parts === k);
      child.send({ type: "join", base, room, ids, size: n, perSecond: rate, duration: seconds, typing: writers, regions });
    });
    await synced;
    const typed = replies(children, "typed");
    const at = performance.timeOrigin + performance.now() + 100;
    for (const child of children) child.send({ type: "go", at });
    const finals = Object.assign({}, ...(await typed).map((m) => m.finals));
    const reports = replies(children, "report");
    for (const child of children) child.send({ type: "drain", finals });
    const all = await reports;
    // Every edit's receivers, over every process: complete when all n - 1 saw its stamp.
    const got = new Map();
    for (const r of all) {
      for (const [key, [count, last]] of r.got) {
        const g = got.get(key);
        if (g) {
          g[0] += count;
          g[1] = Math.max(g[1], last);
        } else got.set(key, [count, last]);
      }
    }
    const done = [];
    for (const r of all) {
      for (const [client, seq, t] of r.sent) {
        const g = got.get(`${client}:${seq}`);
        if (g && g[0] === n - 1) done.push(g[1] - t);
      }
    }
    // A later stamp from the same client overwrites an earlier one (a map key): a
    // receiver that applied the later one applied the earlier edit too. An edit is
    // lost when some receiver ended below it.
    let lost = 0;
    for (const [client, last] of Object.entries(finals)) {
      const reached = Math.min(...all.map((r) => r.reached[client] ?? Infinity));
      lost += Math.max(0, last - Math.min(last, reached));
    }
    const texts = new Set(all.flatMap((r) => r.texts));
    const sorted = done.sort((a, b) => a - b);
    return {
      edits: Object.values(finals).reduce((s, k) => s + k, 0),
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? NaN,
      lost,
      converged: texts.size === 1,
    };
  } finally {
    for (const child of children) child.kill();
  }
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
