// `make dev`'s script (scripts/dev.sh), run as a newcomer runs it: a port another program
// holds is refused at once with what to do, the link it prints puts every tab that opens
// it in one room, and Ctrl-C stops it quietly.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { test } from "node:test";
import WebSocket from "ws";
import { ROOT, freePort, openConfab, waitFor } from "./helpers.mjs";

const SCRIPT = path.join(ROOT, "scripts/dev.sh");
// No model endpoint from the environment: the demo agents run on the offline model.
const ENV = { ...process.env, OPENAI_BASE_URL: "", PATH: `${path.join(ROOT, "node_modules/.bin")}:${process.env.PATH}` };

/** A TCP server on `port` (by default a free one) of 127.0.0.1. @returns {Promise<net.Server>} */
function listen(port = 0) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/** The port of a listening server. @param {net.Server} server */
function portOf(server) {
  const address = server.address();
  assert.ok(address && typeof address === "object");
  return address.port;
}

/**
 * Start the script on `port`, in a process group of its own as a terminal runs it; the
 * output so far, and `exited` (its exit code) and `closed` (its output streams closed:
 * nothing it started still holds them) once it is done.
 * @param {number} port
 * @param {Record<string, string>} [env] more of the environment
 */
function start(port, env = {}) {
  const child = spawn("bash", [SCRIPT], { env: { ...ENV, ...env, PORT: String(port) }, detached: true });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  /** @type {Promise<void>} */
  const closed = new Promise((resolve) => child.once("close", () => resolve()));
  return { child, exited, closed, out: () => stdout, err: () => stderr };
}

/**
 * The link the script prints once the room server answers.
 * @param {ReturnType<typeof start>} run
 * @returns {Promise<string>}
 */
function linkOf(run) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no link printed:\n${run.out()}\n${run.err()}`)), 150_000);
    const look = () => {
      const m = run.out().match(/Confab is running:\S* (\S+)/);
      if (m) {
        clearTimeout(timer);
        run.child.stdout.off("data", look);
        resolve(m[1]);
      }
    };
    run.child.stdout.on("data", look);
    run.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`dev.sh exited (${code}) before printing a link:\n${run.err()}`));
    });
  });
}

/**
 * `promise`, or a failure naming `what` after `ms`.
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string} what
 * @returns {Promise<T>}
 */
function within(promise, ms, what) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return /** @type {Promise<T>} */ (Promise.race([promise, late]).finally(() => clearTimeout(timer)));
}

/**
 * A socket in a room, open and answered: resolves once the room replied to a sync step 1.
 * @param {string} url
 * @param {string} [origin] the page's origin, for a socket a browser opens
 * @returns {Promise<WebSocket>}
 */
function liveSocket(url, origin) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin ? { headers: { Origin: origin } } : {});
    ws.once("error", reject);
    ws.once("close", (code, reason) => reject(new Error(`${url}: closed ${code} ${reason}`)));
    // Sync step 1 with an empty state vector: [sync, step 1, length 1, no clients].
    ws.once("open", () => ws.send(Buffer.from([0, 0, 1, 0])));
    ws.once("message", () => resolve(ws));
  });
}

/**
 * A socket opened by a page of another site: resolves with how the room closed it.
 * @param {string} url
 * @param {string} origin
 * @returns {Promise<{ code: number, reason: string }>}
 */
function refusedSocket(url, origin) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Origin: origin } });
    ws.once("error", reject);
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

test("a port another program holds is refused before anything starts, saying what to do", async () => {
  const other = await listen();
  try {
    const port = portOf(other);
    const run = start(port);
    const code = await run.exited;
    assert.notEqual(code, 0);
    assert.match(run.err(), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use by another program`));
    assert.match(run.err(), new RegExp(`PORT=${port + 1} make dev`));
    assert.doesNotMatch(run.out(), /Confab is running/, "no success is announced");
  } finally {
    await new Promise((r) => other.close(r));
  }
});

test("the printed link names a room, the demo answers it, and CONFAB_ALLOWED_ORIGINS lets another origin's pages in", async () => {
  const port = await freePort();
  // An app's own dev server, as the README's Vite set-up runs it.
  const run = start(port, { CONFAB_ALLOWED_ORIGINS: "http://localhost:5173" });
  try {
    const link = await linkOf(run);
    assert.match(link, new RegExp(`^http://127\\.0\\.0\\.1:${port}/\\?room=team-[0-9a-f]{6}$`));
    const res = await fetch(link);
    assert.equal(res.status, 200);
    // The demo's agents are in the printed room, on the offline model with no endpoint set.
    assert.match(run.out(), /Agents Researcher and Reviewer are in that room, on the offline model/);
    const roomName = new URL(link).searchParams.get("room") ?? "";
    const watcher = await openConfab(`ws://127.0.0.1:${port}/rooms`, roomName, { id: "watcher", name: "Watcher" });
    try {
      const agents = await waitFor(
        () => {
          const found = watcher.presence.peers().filter((p) => p.state.user?.kind === "agent" && p.state.agent);
          return found.length === 2 ? found : undefined;
        },
        { timeout: 20_000, what: "both demo agents present" },
      );
      assert.deepEqual(agents.map((p) => p.state.user?.name).sort(), ["Researcher", "Reviewer"]);
      // The room is in the team space, the demo's home, with its agents counted there.
      await waitFor(
        async () => {
          const { rooms } = await (await fetch(`http://127.0.0.1:${port}/spaces/team/rooms`)).json();
          return rooms.some((r) => r.name === roomName && r.title === "Welcome room" && r.agents === 2);
        },
        { timeout: 20_000, what: "the printed room listed in the team space with both agents" },
      );
      // They are the space's shared agents, registered with what they do, in use there.
      await waitFor(
        async () => {
          const { agents: shared } = await (await fetch(`http://127.0.0.1:${port}/spaces/team/agents`)).json();
          const listed = shared.filter((a) => a.registered && a.state === "in use" && a.rooms.includes("Welcome room") && a.description);
          return listed.length === 2;
        },
        { timeout: 20_000, what: "both agents registered with the team space, in use" },
      );
      assert.ok(agents.every((p) => /** @type {{ offline: boolean }} */ (p.state.agent).offline));
    } finally {
      watcher.destroy();
    }
    assert.match(await res.text(), /<html/i);
    const rooms = `ws://127.0.0.1:${port}/rooms`;
    const allowed = await within(liveSocket(`${rooms}/allowed-origin`, "http://localhost:5173"), 10_000, "a socket from http://localhost:5173");
    allowed.terminate();
    const refused = await within(refusedSocket(`${rooms}/allowed-origin`, "http://localhost:5174"), 10_000, "a refusal");
    assert.equal(refused.code, 4403, refused.reason);
  } finally {
    // Ctrl-C: the whole group, as a terminal sends it.
    if (run.child.pid) process.kill(-run.child.pid, "SIGINT");
    assert.equal(await run.exited, 0, "stopping is a clean exit");
  }
});

test("Ctrl-C with people connected stops quietly: a clean exit, and nothing after it but \"Confab stopped.\"", async () => {
  const port = await freePort();
  const run = start(port);
  /** @type {WebSocket | undefined} */
  let live;
  let signalled = false;
  try {
    await linkOf(run);
    const rooms = `ws://127.0.0.1:${port}/rooms`;
    // Someone in a room, and a socket the room refused (a page of another site). With
    // these, stopping workerd reports the connections it cuts: the old script let through
    // "✘ [ERROR] Uncaught Error: Network connection lost." and "🪵 Logs were written to …".
    live = await within(liveSocket(`${rooms}/quiet-stop`), 10_000, "a socket in a room");
    const refused = await within(refusedSocket(`${rooms}/quiet-stop`, "http://elsewhere.example"), 10_000, "a refusal");
    assert.equal(refused.code, 4403, refused.reason);

    const outAt = run.out().length;
    const errAt = run.err().length;
    // Ctrl-C: the whole group, as a terminal sends it.
    assert.ok(run.child.pid);
    process.kill(-run.child.pid, "SIGINT");
    signalled = true;
    assert.equal(await within(run.exited, 20_000, "dev.sh to exit"), 0, "stopping is a clean exit");
    // Its output closes: nothing the script started is left holding it (or printing).
    await within(run.closed, 20_000, "everything dev.sh started to let go of its output");
    const after = `${run.out().slice(outAt)}\n${run.err().slice(errAt)}`
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean);
    assert.deepEqual(after.filter((line) => /ERROR|✘/.test(line)), [], "no error is printed while stopping");
    assert.deepEqual(after, ["Confab stopped."], "stopping says one line");

    // The room server is gone with it: the port is free again.
    const again = await listen(port);
    await new Promise((r) => again.close(r));
  } finally {
    live?.terminate();
    if (!signalled && run.child.pid) {
      process.kill(-run.child.pid, "SIGINT");
      await run.exited;
    }
  }
});
