// Confab's benchmark suite: `make bench` (never part of `make test`).
//
// Every figure is the median of RUNS runs (default 5), each in a fresh process, with the
// contestants interleaved run by run so machine noise hits them alike; every ratio is
// against the peer named in the same run. Results go to tests/bench/RESULTS.md with the
// command and the machine. Scenarios not listed here are not measured yet.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, brotliCompressSync } from "node:zlib";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const RUNS = Number(process.env.CONFAB_BENCH_RUNS ?? 5);
const TIMEOUT_MS = Number(process.env.CONFAB_BENCH_TIMEOUT_MS ?? 120_000);
const TARGET_DIR = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, "target");
const only = process.argv.slice(2);

function percentileOf(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
}

/**
 * The line under a section saying whether this run met its target (lower is better):
 * `what` measured `value` against `limit`, both in `unit`. A miss says by how much, and
 * points at PROFILES.md's `anchor`, where what was tried and the profiles are.
 */
function verdict(what, value, limit, unit, anchor) {
  const shown = (x) => `${Number(x.toFixed(2))}${unit}`;
  if (!Number.isFinite(value)) return `**Not measured** in this run: ${what}.`;
  if (value <= limit) return `**Target met** in this run: ${what} ${shown(value)}, target ≤ ${shown(limit)}.`;
  return `**Target missed** in this run by ${(value / limit).toFixed(2)}×: ${what} ${shown(value)}, target ≤ ${shown(limit)}. What was tried, and the profiles: [PROFILES.md](PROFILES.md#${anchor}).`;
}

function nativeBinary() {
  const out = execFileSync("cargo", ["bench", "-p", "confab-core", "--bench", "native", "--no-run", "--message-format=json"], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  for (const line of out.split("\n")) {
    if (!line.startsWith("{")) continue;
    const msg = JSON.parse(line);
    if (msg.reason === "compiler-artifact" && msg.target?.name === "native" && msg.executable) return msg.executable;
  }
  throw new Error("cargo did not report the native bench binary");
}

/** One run in a fresh process: { ms, ok } or { error }. */
function once(kind, args) {
  const [cmd, argv] =
    kind === "native"
      ? [native, args]
      : [process.execPath, ["--expose-gc", path.join(HERE, "contestants.mjs"), ...args]];
  const r = spawnSync(cmd, argv, { cwd: ROOT, encoding: "utf8", timeout: TIMEOUT_MS, maxBuffer: 1 << 20 });
  if (r.error?.code === "ETIMEDOUT" || r.signal) return { error: `over ${TIMEOUT_MS / 1000} s` };
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split("\n").slice(-1)[0] };
  return JSON.parse(r.stdout.trim().split("\n").at(-1));
}

/**
 * RUNS runs of each contestant ([label, kind, id]) on `input`, interleaved run by run;
 * a contestant that fails once is not run again. Returns label -> results, and errors.
 */
function interleaved(scenario, contestants, input, wrong) {
  const results = new Map(contestants.map((c) => [c[0], []]));
  const errors = new Map();
  for (let run = 0; run < RUNS; run++) {
    for (const [label, kind, id] of contestants) {
      if (errors.has(label)) continue;
      const r = once(kind, [scenario, id, input]);
      if (r.error || !r.ok) {
        errors.set(label, r.error ?? wrong);
        continue;
      }
      results.get(label).push(r);
      process.stderr.write(`${scenario} ${input} ${label}: ${r.ms.toFixed(1)} ms\n`);
    }
  }
  return { results, errors };
}

const native = nativeBinary();
const sections = [];

// 1. Local edits: each trace through each contestant's public API, one edit per transaction.
if (!only.length || only.includes("local")) {
  const traces = ["automerge-paper", "seph-blog1", "rustcode", "random-100k"];
  const contestants = [
    ["Yjs 13.6 (JS)", "js", "yjs"],
    ["Confab wasm API (Node)", "js", "confab"],
    ["Confab core (native)", "native", "core"],
    ["Confab core, undo history off (native)", "native", "core-untracked"],
    ["yrs 0.28 Text API (native)", "native", "yrs"],
    ["Loro 1.17 (JS/wasm)", "js", "loro"],
    ["Automerge 3.5 (JS/wasm)", "js", "automerge"],
  ];
  const rows = [];
  let worst = -Infinity;
  const undoCost = [];
  for (const trace of traces) {
    const { results, errors } = interleaved("local", contestants, trace, "wrong final text");
    const ms = (label) => median(results.get(label).map((r) => r.ms));
    const yjs = ms(contestants[0][0]);
    worst = Math.max(worst, errors.has(contestants[1][0]) ? NaN : ms(contestants[1][0]) / yjs);
    undoCost.push(`${trace} ${(ms(contestants[2][0]) / ms(contestants[3][0])).toFixed(2)}×`);
    for (const [name] of contestants) {
      const t = ms(name);
      rows.push([trace, name, errors.get(name) ?? `${t.toFixed(0)} ms`, errors.has(name) ? "—" : `${(t / yjs).toFixed(2)}×`]);
    }
  }
  sections.push([
    "## 1. Local edits",
    "",
    "Each trace replayed through the contestant's public API, one transaction per trace transaction, final text checked against the trace's `endContent`. `random-100k`: 100,000 single-character inserts at pseudo-random positions (the same sequence for all). Ratio: time ÷ Yjs's time on the same trace in the same run (lower is better). Target: Confab wasm API ≤ 1.0× Yjs on all four traces.",
    "",
    "| trace | contestant | median | × Yjs |",
    "|---|---|---:|---:|",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
    verdict("the Confab wasm API's slowest trace", worst, 1, "× Yjs", "1-local-edits"),
    "",
    `The undo history's cost (each edit's inserted and deleted ids kept for \`docs.undo\`): Confab core with it on ÷ off, same run: ${undoCost.join(", ")}.`,
  ].join("\n"));
}

// 2. Load a whole document: one update in, text out, and the memory it takes.
if (!only.length || only.includes("load")) {
  const docs = ["S1", "S2", "C1", "B4"];
  const contestants = [
    ["Yjs 13.6 (JS)", "js", "yjs"],
    ["Confab wasm (confab-rooms in Node: applyUpdate, then the text)", "js", "confab"],
    ["Confab core = yrs 0.28 (native)", "native", "yrs"],
    ["Automerge 3.5 (JS/wasm, its .am file)", "js", "automerge"],
  ];
  const rows = [];
  let worst = -Infinity;
  for (const name of docs) {
    const { results: runs, errors } = interleaved("load", contestants, name, "no text");
    const yjs = median(runs.get(contestants[0][0]).map((r) => r.ms));
    worst = Math.max(worst, errors.has(contestants[1][0]) ? NaN : median(runs.get(contestants[1][0]).map((r) => r.ms)) / yjs);
    for (const [label] of contestants) {
      const list = runs.get(label);
      if (errors.has(label)) {
        rows.push([name, label, errors.get(label), "—", "—"]);
        continue;
      }
      const ms = median(list.map((r) => r.ms));
      const mem = median(list.map((r) => r.memMB));
      rows.push([name, label, `${ms.toFixed(1)} ms`, `${(ms / yjs).toFixed(2)}×`, `${mem.toFixed(1)} MB`]);
    }
  }
  sections.push([
    "## 2. Load a whole document",
    "",
    "One update in (`S1`, `S2`, `C1`: Yjs v2; `B4`: v1), the root text out. Memory: growth of the JS heap and buffers after a collection (JS), or of peak RSS (native). Confab's wasm build takes the update through the public `room.applyUpdate` (a change of its own, queued for the room as an import is) and reads the text with `room.docs.rootText`; the v2 files are converted to v1 before the clock starts. Target: ≤ 0.33× Yjs.",
    "",
    "| document | contestant | median | × Yjs | memory |",
    "|---|---|---:|---:|---:|",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
    verdict("the Confab wasm API's slowest document", worst, 0.33, "× Yjs", "2-load-a-whole-document"),
  ].join("\n"));
}

// 3. Concurrent merge: friendsforever as two replicas, with and without conflict detection.
if (!only.length || only.includes("merge")) {
  const runs = { plain: [], detect: [] };
  let error;
  for (let run = 0; run < RUNS && !error; run++) {
    for (const mode of ["plain", "detect"]) {
      const r = once("native", ["merge", mode, "friendsforever"]);
      if (r.error || !r.ok) {
        error = r.error ?? "did not converge";
        break;
      }
      runs[mode].push(r.ms);
      process.stderr.write(`merge friendsforever ${mode}: ${r.ms.toFixed(0)} ms\n`);
    }
  }
  const plain = median(runs.plain);
  const detect = median(runs.detect);
  // One writer's long history, then one conflicts() call (a client's poll after typing):
  // with the epochs' pre-filter, and by the full walk (the tests' oracle).
  const once3 = [];
  for (const trace of ["automerge-paper", "seph-blog1"]) {
    const ms = { filtered: [], full: [] };
    let failed;
    for (let run = 0; run < RUNS && !failed; run++) {
      for (const walk of ["filtered", "full"]) {
        const r = once("native", ["detect", walk, trace]);
        if (r.error || !r.ok) {
          failed = r.error ?? "found a conflict in one writer's text";
          break;
        }
        ms[walk].push(r.ms);
      }
    }
    once3.push(
      failed
        ? `| ${trace} | ${failed} | — |`
        : `| ${trace} | ${median(ms.filtered).toFixed(2)} ms | ${median(ms.full).toFixed(0)} ms |`,
    );
  }
  sections.push([
    "## 3. Concurrent merge",
    "",
    "`friendsforever` (26,078 transactions by two writers, 2,258 merges) replayed as two Confab replicas (native core), each transaction's author brought to exactly its parents; both converge to `endContent`. *With detection*: the room's conflicts asked for on a replica each time it has just received the other writer's changes (what a client does after a remote change, here unthrottled). Target: detection ≤ 15% over plain merge.",
    "",
    "| mode | median | overhead |",
    "|---|---:|---:|",
    error ? `| — | ${error} | — |` : `| plain merge | ${plain.toFixed(0)} ms | — |`,
    error ? "" : `| with conflict detection | ${detect.toFixed(0)} ms | +${((detect / plain - 1) * 100).toFixed(0)}% |`,
    "",
    verdict("detection's overhead", error ? NaN : Math.round((detect / plain - 1) * 100), 15, "%", "3-conflict-detection"),
    "",
    "One writer's trace replayed (native core), then the room's conflicts asked once, as a client's poll after typing does. The room judges from the writers' epochs which changes could be concurrent with another writer's at all and scans only those; the full walk scans every change (kept as the tests' oracle). Both find nothing here.",
    "",
    "| trace | conflicts() | full walk |",
    "|---|---:|---:|",
    ...once3,
  ].join("\n"));
}

// 4. Presence churn: n participants moving cursors at 20 Hz, one simulated second.
if (!only.length || only.includes("presence")) {
  const contestants = [
    ["Yjs 13.6 awareness (JS)", "js", "yjs"],
    ["Confab core session (native)", "native", "session"],
  ];
  const rows = [];
  for (const n of [10, 100, 1000]) {
    const { results, errors } = interleaved("presence", contestants, String(n), "wrong cursor seen");
    const ms = (label) => median(results.get(label).map((r) => r.ms));
    const yjs = ms(contestants[0][0]);
    for (const [label] of contestants) {
      const t = ms(label);
      rows.push([n, label, errors.get(label) ?? `${t.toFixed(1)} ms`, errors.has(label) ? "—" : `${((t / 1000) * 100).toFixed(1)}%`, errors.has(label) ? "—" : `${(t / yjs).toFixed(2)}×`]);
    }
  }
  sections.push([
    "## 4. Presence churn",
    "",
    "n participants in one 2,000-character document each move their cursor 20 times (one simulated second at 20 Hz): the participant's session encodes its cursor as a relative position in an awareness update, and an observer applies every update; the observer must then resolve each participant's last cursor to where it was put. Time for the whole second, and the share of one core that is. Confab's contestant is native (the wasm API has no socket-free way to pass frames between sessions in one process).",
    "",
    "| participants | contestant | time per simulated second | share of a core | × Yjs |",
    "|---:|---|---:|---:|---:|",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n"));
}

// 5. Relay fan-out: the same stock Yjs clients on Confab's edge and on the stock server.
if (!only.length || only.includes("relay")) {
  const { servers, measureRoom } = await import("./relay.mjs");
  const sizes = (process.env.CONFAB_BENCH_ROOMS ?? "2,10,20,50,200").split(",").map(Number);
  const s = await servers();
  const rows = [];
  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : "—");
  const RELAY_RUNS = Math.min(RUNS, 3);
  // Confab's p99 ÷ the stock server's at 20 and 50 clients, and its p99 at 200.
  let worstSmall = -Infinity;
  let p99At200 = NaN;
  try {
    for (const n of sizes) {
      // RELAY_RUNS rooms per server, servers alternating; medians of their figures.
      const runs = new Map(s.list.map(([name]) => [name, []]));
      const failed = new Map();
      for (let run = 0; run < RELAY_RUNS; run++) {
        for (const [name, url] of s.list) {
          if (failed.has(name)) continue;
          try {
            const r = await measureRoom(url, n, { rate: 10, seconds: n >= 200 ? 3 : 5, label: "relay" });
            process.stderr.write(`relay ${n} ${name}: p50 ${f(r.p50)} p99 ${f(r.p99)} lost ${r.lost}\n`);
            runs.get(name).push(r);
          } catch (err) {
            failed.set(name, err instanceof Error ? err.message : String(err));
          }
        }
      }
      const m = (name, pick) => median(runs.get(name).map(pick));
      const stockP99 = m(s.list[1][0], (r) => r.p99);
      const confabP99 = failed.has(s.list[0][0]) ? NaN : m(s.list[0][0], (r) => r.p99);
      if (n === 20 || n === 50) worstSmall = Math.max(worstSmall, confabP99 / stockP99);
      if (n === 200) p99At200 = confabP99;
      for (const [name] of s.list) {
        if (failed.has(name)) {
          rows.push(`| ${n} | ${name} | ${failed.get(name)} | | | | | |`);
          continue;
        }
        const list = runs.get(name);
        const lost = list.reduce((k, r) => k + r.lost, 0);
        const diverged = list.some((r) => !r.converged);
        rows.push(
          `| ${n} | ${name} | ${m(name, (r) => r.edits)} | ${f(m(name, (r) => r.p50))} | ${f(m(name, (r) => r.p99))} | ${f(m(name, (r) => r.max))} | ${(m(name, (r) => r.p99) / stockP99).toFixed(2)}× | ${lost}${diverged ? " (diverged)" : ""} |`,
        );
      }
    }
    // Open loop: 10 clients, rising rate; the highest per-client rate with p99 < 50 ms.
    const rates = [10, 20, 40, 80, 160, 320, 640, 1280];
    const best = [];
    for (const [name, url] of s.list) {
      let ok = 0;
      for (const rate of rates) {
        const r = await measureRoom(url, 10, { rate, seconds: 3, label: "rate" });
        process.stderr.write(`rate ${rate}/s ${name}: p99 ${f(r.p99)}\n`);
        if (r.p99 < 50 && r.lost === 0) ok = rate;
        else break;
      }
      best.push(`| ${name} | ${ok ? `${ok * 10} edits/s (${ok}/s per client)` : "under 100 edits/s"} |`);
    }
    sections.push([
      "## 5. Relay fan-out",
      "",
      `Medians of ${RELAY_RUNS} rooms per server (servers alternating). Rooms of N stock Yjs + y-websocket clients spread over two Node processes, each typing 10 edits/s (a character and a stamp per transaction); latency from the sender's edit until the last receiver applied it, in ms (one wall clock for all processes). The stock server runs as its users run it: its own \`y-websocket\` command, in a process of its own; the edge runs under local workerd. Target: with 20 and 50 clients, p99 ≤ 0.5× the stock server's, nothing lost. The machine has 2 cores for the server, workerd's runtime and both client processes: the clients' own work is in every figure, for both servers alike.`,
      "",
      "| clients | server | edits | p50 | p99 | max | p99 × stock | lost |",
      "|---:|---|---:|---:|---:|---:|---:|---:|",
      ...rows,
      "",
      verdict("Confab's p99 at 20 and 50 clients, the worse of the two,", worstSmall, 0.5, "× stock", "5-relay"),
      verdict("Confab's p99 at 200 clients", Math.round(p99At200), 250, " ms", "5-relay"),
      "",
      "Open loop, 10 clients, rate doubled until p99 ≥ 50 ms (tried up to 12,800 edits/s), one run:",
      "",
      "| server | highest rate with p99 < 50 ms |",
      "|---|---|",
      ...best,
    ].join("\n"));
  } finally {
    await s.stop();
  }
}

// 6. Initial-sync storm: a 2 MB room, 4 loaders re-syncing it while a probe writes.
if (!only.length || only.includes("storm")) {
  const { servers } = await import("./relay.mjs");
  const { storm } = await import("./rooms.mjs");
  const s = await servers();
  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : "—");
  const runs = new Map(s.list.map(([name]) => [name, []]));
  try {
    for (let run = 0; run < Math.min(RUNS, 3); run++) {
      for (const [name, url] of s.list) {
        const r = await storm(url);
        process.stderr.write(`storm ${name}: quiet p99 ${f(r.quiet.p99)} loaded p99 ${f(r.loaded.p99)} resyncs ${r.resyncs}\n`);
        runs.get(name).push(r);
      }
    }
  } finally {
    await s.stop();
  }
  let stormRatio = NaN;
  const rows = [...runs].map(([name, list], i) => {
    const m = (pick) => median(list.map(pick));
    const quiet = m((r) => r.quiet.p99);
    const loaded = m((r) => r.loaded.p99);
    if (i === 0) stormRatio = loaded / quiet;
    const lost = list.reduce((n, r) => n + r.quiet.lost + r.loaded.lost, 0);
    return `| ${name} | ${f(m((r) => r.quiet.p50))} | ${f(quiet)} | ${f(m((r) => r.loaded.p50))} | ${f(loaded)} | ${(loaded / quiet).toFixed(2)}× | ${m((r) => r.resyncs / 5).toFixed(0)} | ${lost} |`;
  });
  sections.push([
    "## 6. Initial-sync storm",
    "",
    "A 2 MB room (stock Yjs + y-websocket clients; the stock server in its own process). A probe writes every 50 ms and a second client measures the probe's latency (ms), 5 s alone, then 5 s while 4 loaders, in a process of their own, each reconnect and ask for the whole room (sync step 1 with an empty state vector) as fast as they are answered. Target: the probe's p99 under load ≤ 2× its p99 without.",
    "",
    "| server | quiet p50 | quiet p99 | loaded p50 | loaded p99 | p99 loaded ÷ quiet | whole-room answers/s | probe edits lost |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    verdict("the edge's probe p99 loaded ÷ quiet", stormRatio, 2, "×", "7-initial-sync-storm"),
  ].join("\n"));
}

// 8. Big rooms: a late joiner of a 20 MB room; the memory a room takes at the edge.
if (!only.length || only.includes("big")) {
  const { servers } = await import("./relay.mjs");
  const { bigJoin, roomMemory } = await import("./rooms.mjs");
  const s = await servers();
  const rows = [];
  try {
    for (const [name, url] of s.list) {
      const r = await bigJoin(url, { mb: 20, joins: Math.max(RUNS, 5) });
      process.stderr.write(`big ${name}: ${r.median.toFixed(0)} ms, ${r.closes} closes\n`);
      rows.push([name, r]);
    }
  } finally {
    await s.stop();
  }
  const stock = rows[1][1].median;
  const mem = [];
  for (const name of ["S1", "S2", "C1", "B4"]) {
    const room = await roomMemory(name);
    if (room.skipped) {
      mem.push(`| ${name} | not uploaded: ${room.skipped} | | |`);
      continue;
    }
    const edge = room.mb;
    const native = median(Array.from({ length: 3 }, () => once("native", ["load", "yrs", name]).memMB));
    process.stderr.write(`memory ${name}: edge ${edge.toFixed(1)} MB, yrs native ${native.toFixed(1)} MB\n`);
    mem.push(`| ${name} | ${edge.toFixed(1)} MB | ${native.toFixed(1)} MB | ${(edge / native).toFixed(2)}× |`);
  }
  sections.push([
    "## 8. Big rooms and memory",
    "",
    "A room filled with 20 MB of text (in 1 MB updates; a single 20 MB frame exceeds workerd's 16 MiB WebSocket message limit); then fresh stock clients join one after another, each timed from creation until its text is complete. The stock server runs in its own process; the edge keeps the room's whole-state answer (cut into 1 MB parts) with the changes since, and encodes it again once they outgrow an eighth of it. Target: at least as fast as the stock server, with no reconnect.",
    "",
    "| server | join median | slowest | reconnects |",
    "|---|---:|---:|---:|",
    ...rows.map(([name, r]) => `| ${name} | ${r.median.toFixed(0)} ms (${(r.median / stock).toFixed(2)}×) | ${r.max.toFixed(0)} ms | ${r.closes} |`),
    "",
    "Memory: a fresh edge; a stock client uploads the document into a room; the growth of the edge isolate's wasm memory (which never shrinks, so this is the peak the room needed, decoding included) against the peak RSS growth of native yrs loading the same bytes. Target: ≤ 1.5× native yrs.",
    "",
    "| document | Confab room in the Durable Object | yrs native | ratio |",
    "|---|---:|---:|---:|",
    ...mem,
  ].join("\n"));
}

// 9. Agents: a mention to the first streamed token, and an idle agent's memory.
if (!only.length || only.includes("agent")) {
  const { mentionToFirstToken, idleMemory } = await import("./agents.mjs");
  const rows = [];
  for (const [label, model] of [
    ["`confab agent` on an OpenAI-compatible endpoint (local stand-in, first chunk at once)", "endpoint"],
    ["`confab agent` on the offline model", "offline"],
  ]) {
    const r = await mentionToFirstToken(model, 20);
    process.stderr.write(`agent ${model}: p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms\n`);
    rows.push(`| ${label} | ${r.p50.toFixed(1)} ms | ${r.p95.toFixed(1)} ms | ${r.n} |`);
  }
  const mem = await idleMemory(10);
  process.stderr.write(`agent idle in ${mem.rooms} rooms: rss ${mem.rss.toFixed(1)} MB (+${mem.rssGrowth.toFixed(1)} MB)\n`);
  sections.push([
    "## 9. Agents",
    "",
    "From a person's `@Helper` message to the first token of the agent's answer in that person's replica: the edge under workerd, `confab agent` and the model endpoint each in its own process, the person in the benchmark's. 20 mentions, each 250 ms after the previous answer ended (the agent idle, as when a person asks).",
    "",
    "| agent | p50 | p95 | mentions |",
    "|---|---:|---:|---:|",
    ...rows,
    "",
    `One Node process running the agent SDK (offline model) idle in ${mem.rooms} rooms, after a GC: RSS ${mem.rss.toFixed(1)} MB in all, ${mem.rssGrowth.toFixed(1)} MB more than before it joined (${(mem.rssGrowth / mem.rooms).toFixed(1)} MB a room); JS heap ${mem.heap.toFixed(1)} MB, wasm and buffers ${mem.external.toFixed(1)} MB.`,
  ].join("\n"));
}

// 10. Search and files: a big room searched, edits found once stored, uploads.
if (!only.length || only.includes("search")) {
  const { searchAndFiles } = await import("./search.mjs");
  const r = await searchAndFiles();
  const ms = (x) => `${x.toFixed(1)} ms`;
  const mb = (n) => `${(n / (1 << 20)).toFixed(0)} MB`;
  process.stderr.write(`search: ${JSON.stringify(r.latency)}\n`);
  sections.push([
    "## 10. Search and files",
    "",
    `A room of ${r.messages.toLocaleString("en")} messages and ${(r.docBytes / (1 << 20)).toFixed(0)} MB of documents (4 documents of short paragraphs), filled in ${(r.fillMs / 1000).toFixed(1)} s by one client; its index holds ${r.rows.toLocaleString("en")} rows. The edge runs under local workerd in its own process; searches go over REST from the benchmark's process (\`GET /rooms/<room>/search\`, 20 hits at most, one per place).`,
    "",
    "| query | p50 | p95 | queries | hits (mean) |",
    "|---|---:|---:|---:|---:|",
    ...r.latency.map((l) => `| ${l.label} | ${ms(l.p50)} | ${ms(l.p95)} | ${l.n} | ${l.hits.toFixed(1)} |`),
    "",
    `From an edit's acknowledgement (the room acknowledges once it is stored, and the index is written in the same step) to its text found: p50 ${ms(percentileOf(r.stored, 50))}, p95 ${ms(percentileOf(r.stored, 95))}, found by the first query after the acknowledgement in ${r.firstTry} of ${r.edits}. From the post to found: p50 ${ms(percentileOf(r.posted, 50))}.`,
    "",
    "Uploads, the median of 3 each, interleaved, over HTTP from the benchmark's process: through the room (to the Worker, streamed to the room's object, hashed, stored in R2, recorded in the room) against a plain R2 put (a Worker under its own workerd that puts the request's body into its bucket).",
    "",
    "| size | through the room | plain R2 put | room ÷ plain |",
    "|---|---:|---:|---:|",
    ...r.uploads.map((u) => `| ${mb(u.size)} | ${u.room.toFixed(1)} MB/s | ${u.plain.toFixed(1)} MB/s | ${(u.room / u.plain).toFixed(2)}× |`),
  ].join("\n"));
}

// 11. Big audiences: viewers through the fan-out tier against viewers on the room itself.
if (!only.length || only.includes("fanout")) {
  const { measureRoom } = await import("./relay.mjs");
  const { BENCH_LIMITS, startEdge } = await import("../helpers.mjs");
  const edge = await startEdge({ direct: true, bindings: BENCH_LIMITS });
  const viewers = Number(process.env.CONFAB_BENCH_VIEWERS ?? 100);
  // Four regions that core sends to four different fan-out objects (of the default 4).
  const regions = ["region-0", "region-1", "region-2", "region-5"];
  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : "—");
  const runs = { room: [], fanout: [] };
  try {
    for (let run = 0; run < Math.min(RUNS, 3); run++) {
      for (const mode of ["room", "fanout"]) {
        const r = await measureRoom(edge.ws, viewers + 1, {
          rate: 20,
          seconds: 10,
          writers: 1,
          label: mode,
          regions: mode === "fanout" ? regions : null,
        });
        process.stderr.write(`fanout ${mode}: p50 ${f(r.p50)} p99 ${f(r.p99)} lost ${r.lost}\n`);
        runs[mode].push(r);
      }
    }
  } finally {
    await edge.stop();
  }
  const m = (mode, pick) => median(runs[mode].map(pick));
  const row = (mode, label) =>
    `| ${label} | ${m(mode, (r) => r.edits)} | ${f(m(mode, (r) => r.p50))} | ${f(m(mode, (r) => r.p99))} | ${f(m(mode, (r) => r.max))} | ${(m(mode, (r) => r.p99) / m("room", (r) => r.p99)).toFixed(2)}× | ${runs[mode].reduce((k, r) => k + r.lost, 0)} |`;
  sections.push([
    "## 11. Big audiences (fan-out tier)",
    "",
    `One writer typing 20 edits/s for 10 s and ${viewers} stock viewers, spread over two client processes; latency from the edit to the last viewer that applied it, in ms. *On the room*: every viewer connects to the room's object. *Fan-out*: viewers connect with \`?view=<region>\` (four regions), so four fan-out objects each follow the room on one socket and serve a quarter of them. Medians of ${runs.room.length} runs each, alternating, on one local workerd, which runs every object on one thread: the tier's second hop shows here, its extra capacity (other machines) does not. Target: fan-out p99 within 1.5× of the room's at equal load.`,
    "",
    "| viewers on | edits | p50 | p99 | max | p99 × room | lost |",
    "|---|---:|---:|---:|---:|---:|---:|",
    row("room", "the room's object"),
    row("fanout", "4 fan-out objects"),
  ].join("\n"));
}

// 7. Size: the client wasm and the npm package.
if (!only.length || only.includes("size")) {
  const wasm = readFileSync(path.join(ROOT, "npm/wasm/confab_wasm_bg.wasm"));
  const pack = JSON.parse(
    execFileSync("npm", ["pack", "--dry-run", "--json", "--loglevel=error"], { cwd: path.join(ROOT, "npm"), encoding: "utf8" }),
  )[0];
  const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
  // What each subpath adds to an app's bundle: esbuild, minified, for the browser, with
  // the app's own peers (react, yjs, y-protocols) left out as an app's bundle has them anyway.
  const bundled = (imports) => {
    const entry = imports.map((from, i) => `import * as m${i} from "${from}"; globalThis.m${i} = m${i};`).join("\n");
    const out = execFileSync(
      path.join(ROOT, "node_modules/.bin/esbuild"),
      ["--bundle", "--minify", "--format=esm", "--platform=browser", "--external:react", "--external:yjs", "--external:y-protocols/*", "--log-level=error"],
      { cwd: ROOT, input: entry, maxBuffer: 64 * 2 ** 20 },
    );
    return gzipSync(out, { level: 9 }).length;
  };
  const core = bundled(["confab-rooms"]);
  const subpaths = ["react", "yjs"].map((sub) => [sub, bundled(["confab-rooms", `confab-rooms/${sub}`]) - core]);
  sections.push([
    "## 7. Size",
    "",
    "| what | raw | gzip -9 | brotli |",
    "|---|---:|---:|---:|",
    `| client wasm (npm/wasm/confab_wasm_bg.wasm) | ${kb(wasm.length)} | ${kb(gzipSync(wasm, { level: 9 }).length)} | ${kb(brotliCompressSync(wasm).length)} |`,
    `| npm package (packed / unpacked) | ${kb(pack.size)} / ${kb(pack.unpackedSize)} | | |`,
    `| JS in an app's bundle: \`confab-rooms\` (without the wasm) | | ${kb(core)} | |`,
    ...subpaths.map(([sub, n]) => `| JS in an app's bundle: \`confab-rooms/${sub}\` adds | | ${kb(n)} | |`),
    "",
    verdict("the complete client wasm", Math.round(gzipSync(wasm, { level: 9 }).length / 100) / 10, 180, " KB gzip", "4-size"),
  ].join("\n"));
}

const cpu = os.cpus()[0]?.model ?? "unknown CPU";
const header = [
  "# Benchmark results",
  "",
  `Produced by \`make bench\` (\`node tests/bench/run.mjs [scenario...]\`; the last run: \`${only.join(" ") || "all"}\`) on ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}. Medians of runs each in a fresh process, contestants interleaved. Data: ../shared/bench-data (CC BY, see its README).`,
  "",
].join("\n");
const file = path.join(HERE, "RESULTS.md");
// Keep the sections of scenarios not run this time (each says when it was measured).
const today = new Date().toISOString().slice(0, 10);
const stampFor = (n) =>
  n === "7" || n === "9" || n === "10" ? `_Measured ${today}, one run._` : n === "5" ? `_Measured ${today}, medians of ${Math.min(RUNS, 3)} runs._` : n === "6" ? `_Measured ${today}, medians of ${Math.min(RUNS, 3)} runs._` : `_Measured ${today}, medians of ${RUNS} runs._`;
const fresh = new Map(
  sections.map((text) => {
    const n = text.match(/^## (\d+)/)[1];
    return [n, `${text}\n\n${stampFor(n)}`];
  }),
);
const kept = new Map();
try {
  for (const part of readFileSync(file, "utf8").split(/\n(?=## \d+\.)/).slice(1)) {
    kept.set(part.match(/^## (\d+)/)[1], part.trim());
  }
} catch {
  // first run
}
const all = new Map([...kept, ...fresh]);
const body = [...all.keys()].sort((a, b) => a - b).map((k) => all.get(k)).join("\n\n");
writeFileSync(file, `${header}\n${body}\n`);
process.stdout.write(`${header}\n${sections.join("\n\n")}\n\nwritten to ${path.relative(ROOT, file)}\n`);
process.exit(0); // clients' and servers' timers must not keep the run alive
