// Shared helpers for the cross-component suites: start the real edge (the built
// worker under workerd, through Miniflare or `wrangler dev`), open clients, wait.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare } from "miniflare";
import { chromium } from "playwright-core";
import WebSocket from "ws";
import { Room, init } from "confab-rooms";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const COMPATIBILITY_DATE = "2026-04-20";
/** The same flags as `edge/wrangler.toml`. */
export const COMPATIBILITY_FLAGS = ["no_web_socket_compression"];

/** What `edge/.dev.vars` sets for `make dev`. */
export const DEV_BINDINGS = { CONFAB_DEV: "1" };
/** The documented development secret and API key (see edge/src/config.rs). */
export const DEV_SECRET = "confab-dev-secret";
export const DEV_API_KEY = "confab-dev-api-key";

/** The benchmarks measure throughput: per-connection rate limits off, room size up to 64 MiB. */
export const BENCH_LIMITS = { CONFAB_RATE_PER_SEC: "1000000", CONFAB_RATE_BURST: "1000000", CONFAB_MAX_ROOM_BYTES: String(64 * 1024 * 1024) };

/** The headless Chromium the browser suites drive: `$CHROMIUM_PATH`, else Debian's. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    ],
  });
}

/** A fresh temporary directory. */
export function tempDir(prefix = "confab-test-") {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/** The edge's Durable Object classes, as `edge/wrangler.toml` binds them. */
export const DURABLE_OBJECTS = {
  ROOMS: { className: "RoomObject", useSQLite: true },
  SPACES: { className: "SpaceObject", useSQLite: true },
  INBOXES: { className: "InboxObject", useSQLite: true },
  FANOUT: { className: "FanoutObject" },
};

/** The edge's R2 buckets, as `edge/wrangler.toml` binds them. */
export const R2_BUCKETS = ["FILES"];

/**
 * Start the built worker under workerd with Miniflare. `persistTo` keeps Durable Object
 * storage on disk so a second edge on the same folder sees the same rooms. `direct`
 * hands out workerd's own socket instead of Miniflare's entry, which passes every
 * request and WebSocket frame through a proxy in this Node process (the benchmarks
 * use it, so the clients' process does not also carry the server's traffic).
 * `bindings` adds or overrides the Worker's variables (development mode is on unless
 * `CONFAB_DEV` is set to "0").
 * `verbose` shows the runtime's log (the Worker's console output included).
 * `inspectorPort` opens the runtime's V8 inspector there (for profiling the edge).
 * @param {{ persistTo?: string, port?: number, direct?: boolean, bindings?: Record<string, string>, verbose?: boolean, inspectorPort?: number }} [options]
 */
export async function startEdge({ persistTo, port = 0, direct = false, bindings = {}, verbose = false, inspectorPort } = {}) {
  const mf = new Miniflare({
    ...(inspectorPort ? { inspectorPort } : {}),
    ...(verbose ? { log: new Log(LogLevel.DEBUG) } : {}),
    scriptPath: path.join(ROOT, "edge/build/worker/shim.mjs"),
    modules: true,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: COMPATIBILITY_FLAGS,
    durableObjects: DURABLE_OBJECTS,
    durableObjectsPersist: persistTo ?? false,
    r2Buckets: R2_BUCKETS,
    r2Persist: persistTo ?? false,
    bindings: { ...DEV_BINDINGS, ...bindings },
    cf: false,
    host: "127.0.0.1",
    port,
    ...(direct ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] } : {}),
  });
  let url;
  try {
    url = direct ? (await mf.ready, await mf.unsafeGetDirectURL()) : await mf.ready;
  } catch (err) {
    // A runtime that did not start must not outlive the test (it would hold the file's
    // process until its timeout).
    await mf.dispose().catch(() => {});
    throw err;
  }
  return {
    mf,
    http: url.href.replace(/\/$/, ""),
    ws: `ws://${url.host}/rooms`,
    stop: () => mf.dispose(),
  };
}

/**
 * A free TCP port on 127.0.0.1 for a server a test starts later (or restarts on the same
 * port). Drawn below the kernel's ephemeral range (32768 and up on Linux), which port-0
 * servers and every outgoing connection take from: a port picked there could be taken
 * by someone else's connection before the test binds it ("Address already in use").
 * @returns {Promise<number>}
 */
export async function freePort() {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error("no free port on 127.0.0.1 between 20000 and 32000");
}

/**
 * Run `wrangler dev` (the same command `make dev` runs) on free ports: the edge, or the
 * Worker in `cwd` (answering `GET /health` when it is up).
 * @param {{ persistTo: string, cwd?: string }} options
 */
export async function startWranglerDev({ persistTo, cwd = path.join(ROOT, "edge") }) {
  const port = await freePort();
  const inspector = await freePort();
  const child = spawn(
    path.join(ROOT, "node_modules/.bin/wrangler"),
    [
      "dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector),
      "--persist-to", persistTo, "--show-interactive-dev-session=false", "--log-level", "warn",
    ],
    {
      cwd,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_SEND_ERROR_REPORTS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_HIDE_BANNER: "true",
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const http = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", resolve);
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        resolve();
      }
    });
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output}`);
        const res = await fetch(`${http}/health`).catch(() => null);
        return res?.ok;
      },
      { timeout: 60_000, what: "wrangler dev to answer /health" },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { http, ws: `ws://127.0.0.1:${port}/rooms`, stop, output: () => output };
}

/** Poll `check` until it returns a truthy value; fail with `what` after `timeout` ms. */
export async function waitFor(check, { timeout = SOCKET_DEADLINE_MS, interval = 25, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
      if (err?.message?.startsWith("wrangler dev exited")) throw err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * How long a test waits for a socket's handshake and its answer or close. These are
 * deadlines on events that must happen, so they only cost time when a test fails: on a
 * loaded two-core machine a local handshake through wrangler dev was measured taking
 * 6.4 s once in 2,000 (its median is 10 ms), and a 5 s deadline failed one CI run in 19.
 */
export const SOCKET_DEADLINE_MS = 30_000;

let roomCounter = 0;
/** A room name unique to this run. */
export function uniqueRoom(label) {
  roomCounter += 1;
  return `${label}-${process.pid}-${Date.now().toString(36)}-${roomCounter}`;
}

/** Open a Confab client (the npm package, in Node) and wait until it is synced. */
export async function openConfab(wsBase, room, user, { token, guest } = /** @type {{ token?: string, guest?: boolean }} */ ({})) {
  await init();
  const client = await Room.open({ url: wsBase, room, user, WebSocket, ...(token ? { token } : {}), ...(guest ? { guest } : {}) });
  await client.whenSynced(SOCKET_DEADLINE_MS);
  return client;
}

/**
 * Mint a room token the way an app's backend does (written here independently of the
 * Rust code, with node:crypto): `v1.<base64url claims>.<base64url HMAC-SHA256>`.
 * @param {string} secret
 * @param {{ room: string, sub: string, name?: string, kind?: "person" | "agent", role: string, exp?: number }} claims
 */
export function mintToken(secret, { room, sub, name = sub, kind = "person", role, exp = Math.floor(Date.now() / 1000) + 600 }) {
  const body = Buffer.from(JSON.stringify({ room, sub, name, kind, role, exp })).toString("base64url");
  const signed = `v1.${body}`;
  return `${signed}.${createHmac("sha256", secret).update(signed).digest("base64url")}`;
}

/**
 * Open a raw socket and wait for the room to close it: resolves with the close code and
 * reason (or `null` if it stays open for `ms`).
 * @param {string} url
 * @param {(Buffer | string)[]} [frames] frames to send once open
 * @param {number} [ms]
 * @returns {Promise<{ code: number, reason: string } | null>}
 */
export function closeOf(url, frames = [], ms = SOCKET_DEADLINE_MS) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      resolve(null);
    }, ms);
    ws.once("open", () => frames.forEach((f) => ws.send(f)));
    ws.once("close", (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
    ws.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * Open a raw socket as a stock Yjs client does, send a sync step 1 and resolve with
 * `null` once the room answers it with a sync step 2 on the still open socket, or with
 * how the room closed the socket first. The answer is the marker that the room let the
 * connection in: it decided on the connection before it read the frame it answers. Fails
 * after `ms` with neither.
 * @param {string} url
 * @param {number} [ms]
 * @returns {Promise<{ code: number, reason: string } | null>}
 */
export function closeOrReply(url, ms = SOCKET_DEADLINE_MS) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${url}: neither answered nor closed within ${ms} ms`));
    }, ms);
    // Sync step 1 with an empty state vector: [sync, step 1, length 1, no clients].
    ws.once("open", () => ws.send(Buffer.from([0, 0, 1, 0])));
    let answered = false;
    ws.on("message", (data) => {
      const bytes = /** @type {Buffer} */ (data);
      if (answered || bytes[0] !== 0 || bytes[1] !== 1) return;
      answered = true;
      ws.close(1000);
    });
    // After the answer this side closes normally; a close the room had already sent
    // with a reason of its own still reports that reason.
    ws.once("close", (code, reason) => {
      clearTimeout(timer);
      resolve(answered && (code === 1000 || code === 1005) ? null : { code, reason: reason.toString() });
    });
    ws.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** A document's text, or null while the room does not have the document yet. */
export function textOf(room, id) {
  try {
    return room.docs.text(id);
  } catch {
    return null;
  }
}

/** A raw WebSocket to a room, for speaking bytes directly. */
export function rawSocket(wsBase, room) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsBase}/${room}`);
    ws.binaryType = "nodebuffer";
    const received = [];
    ws.on("message", (data) => received.push(data));
    ws.once("open", () => resolve({ ws, received }));
    ws.once("error", reject);
  });
}

/** Resolve with `{ code, reason }` when `ws` closes. */
export function closed(ws) {
  return new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

/**
 * JSON over HTTP with a bearer token (a JSON body is sent as JSON, a string as it is).
 * @param {string} base
 * @param {string} method
 * @param {string} path
 * @param {{ token: string, body?: unknown }} options
 */
export async function api(base, method, path, { token, body = undefined }) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/**
 * A TCP gate in front of the edge: clients connect to it, it forwards to whichever edge
 * runs now. While shut it refuses connections, so clients cannot re-send what they hold
 * while a test reads what the room stored. While hung it accepts connections and
 * forwards nothing (a server that is not answering yet, during a restart).
 */
export async function gate() {
  let target = 0;
  let open = false;
  let hung = false;
  const sockets = new Set();
  const server = createServer((client) => {
    if (!open) return client.destroy();
    if (hung) {
      sockets.add(client);
      client.on("error", () => {});
      client.on("close", () => sockets.delete(client));
      return;
    }
    const upstream = createConnection({ host: "127.0.0.1", port: target });
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      sockets.add(a);
      a.on("error", () => b.destroy());
      a.on("close", () => {
        sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  return {
    ws: `ws://127.0.0.1:${port}/rooms`,
    /** Forward to the edge at `ws` (its `ws://host:port/rooms` URL) and let clients in. */
    openTo(ws) {
      target = Number(new URL(ws).port);
      open = true;
      hung = false;
    },
    /** Accept connections and answer nothing on them. */
    hang() {
      open = true;
      hung = true;
    },
    shut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` ("http://127.0.0.1:<port>"), standing
 * in for the network between a client and the edge. `stall()` makes it a network that
 * went quiet without closing anything: bytes are held in both directions and new
 * connections wait, as when a laptop's Wi-Fi drops. `resume()` delivers what was held
 * and lets connections through again. `drop()` cuts every connection through it, as a
 * network blip does, and lets new ones in. `sent` counts the chunks clients sent through it.
 * @param {string} target
 */
export async function stallingProxy(target) {
  const { hostname, port } = new URL(target);
  let stalled = false;
  /** @type {Set<() => void>} */
  const waiting = new Set();
  /** @type {Set<import("node:net").Socket>} */
  const sockets = new Set();
  const proxy = {
    sent: 0,
    http: "",
    ws: "",
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      for (const flush of [...waiting]) flush();
      waiting.clear();
    },
    drop() {
      for (const s of sockets) s.destroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
  /** Forward `from` → `to`, holding chunks while stalled. */
  const forward = (from, to, count) => {
    const held = [];
    const flush = () => {
      for (const chunk of held.splice(0)) to.write(chunk);
    };
    from.on("data", (chunk) => {
      if (count) proxy.sent += 1;
      if (stalled) {
        held.push(chunk);
        waiting.add(flush);
      } else {
        flush();
        to.write(chunk);
      }
    });
  };
  const server = createServer((client) => {
    const upstream = createConnection({ host: hostname, port: Number(port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream, true);
    forward(upstream, client, false);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port: own } = /** @type {import("node:net").AddressInfo} */ (server.address());
  proxy.http = `http://127.0.0.1:${own}`;
  proxy.ws = `ws://127.0.0.1:${own}/rooms`;
  return proxy;
}

/** The demo's notes editor (CodeMirror's editable content), to click and type into. */
export const NOTES = '#editor [data-doc="notes"] .cm-content';

/**
 * Give every page of `context` `notesText()`, the text the demo's notes editor shows, and
 * `selectInNotes(text)` (for `page.evaluate` and `waitForFunction`, whose functions run
 * in the page). Declared for the type
 * check in `tests/page-globals.d.ts`.
 * @param {import("playwright-core").BrowserContext} context
 */
export async function demoPageHelpers(context) {
  await context.addInitScript(() => {
    const notes = () => /** @type {any} */ (window).confabEditors?.view("notes");
    /** @type {any} */ (window).notesText = () => notes()?.state.doc.toString() ?? "";
    // Select the first `text` in the notes, with the editor focused (as a drag would).
    /** @type {any} */ (window).selectInNotes = (text) => {
      const view = notes();
      const at = view.state.doc.toString().indexOf(text);
      view.focus();
      view.dispatch({ selection: { anchor: at, head: at + text.length } });
    };
  });
}

/**
 * A browser context for one demo guest: a laptop-sized viewport, the page helpers above,
 * and, with `name`, that display name set beforehand (each tab is its own guest; a known
 * name makes carets' labels known).
 * @param {import("playwright-core").Browser} browser
 * @param {string} [name]
 */
export async function demoContext(browser, name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  // Init scripts run in every frame: a PDF preview's frame has no storage of its own.
  if (name) await context.addInitScript((n) => globalThis.sessionStorage?.setItem("confab.name", n), name);
  await demoPageHelpers(context);
  return context;
}

/**
 * Collect what `page` reports as going wrong: uncaught errors and console errors.
 * @param {import("playwright-core").Page} page
 * @returns {string[]}
 */
export function pageProblems(page) {
  const problems = [];
  page.on("pageerror", (err) => problems.push(err.message));
  page.on("console", (msg) => msg.type() === "error" && problems.push(msg.text()));
  return problems;
}

/**
 * Open the demo at `url` in `page`, waiting for its document (the tests then wait for
 * the page's own markers, such as `#status[data-status=synced]`). A navigation that
 * stalls says which requests were still open, then is tried once more: rarely, a
 * page load under `wrangler dev` has waited 30 s on a request the server answers at
 * once the next time. The report is there to find out why.
 * @param {import("playwright-core").Page} page
 * @param {string} url
 */
export async function gotoDemo(page, url, timeout = 20_000) {
  const open = new Set();
  const opened = (/** @type {import("playwright-core").Request} */ r) => open.add(r);
  const closed = (/** @type {import("playwright-core").Request} */ r) => open.delete(r);
  page.on("request", opened);
  page.on("requestfinished", closed);
  page.on("requestfailed", closed);
  try {
    await page.goto(url, { waitUntil: "domcontentloaded", timeout });
  } catch (err) {
    if (!(err instanceof Error) || err.name !== "TimeoutError") throw err;
    const still = [...open].map((r) => r.url()).join(", ") || "none";
    process.stderr.write(`gotoDemo: loading ${url} stalled for ${timeout} ms; requests still open: ${still}; trying once more\n`);
    await page.goto(url, { waitUntil: "domcontentloaded", timeout });
  } finally {
    page.off("request", opened);
    page.off("requestfinished", closed);
    page.off("requestfailed", closed);
  }
}
