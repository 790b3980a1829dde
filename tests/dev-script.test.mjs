// `make dev`'s script (scripts/dev.sh), run as a newcomer runs it: a port another program
// holds is refused at once with what to do, and the link it prints puts every tab that
// opens it in one room.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { test } from "node:test";
import { ROOT } from "./helpers.mjs";

const SCRIPT = path.join(ROOT, "scripts/dev.sh");
const ENV = { ...process.env, PATH: `${path.join(ROOT, "node_modules/.bin")}:${process.env.PATH}` };

/** A TCP server on a free port of 127.0.0.1. @returns {Promise<net.Server>} */
function listen() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

/** The port of a listening server. @param {net.Server} server */
function portOf(server) {
  const address = server.address();
  assert.ok(address && typeof address === "object");
  return address.port;
}

/**
 * Start the script on `port`; resolves with its output and exit code once it exits.
 * @param {number} port
 */
function start(port) {
  const child = spawn("bash", [SCRIPT], { env: { ...ENV, PORT: String(port) }, detached: true });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
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

test("the printed link names a room, and the demo answers it", async () => {
  const probe = await listen();
  const port = portOf(probe);
  await new Promise((r) => probe.close(r));
  const run = start(port);
  try {
    /** @type {string} */
    const link = await new Promise((resolve, reject) => {
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
    assert.match(link, new RegExp(`^http://127\\.0\\.0\\.1:${port}/\\?room=team-[0-9a-f]{6}$`));
    const res = await fetch(link);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<html/i);
  } finally {
    // Ctrl-C: the whole group, as a terminal sends it.
    if (run.child.pid) process.kill(-run.child.pid, "SIGINT");
    assert.equal(await run.exited, 0, "stopping is a clean exit");
  }
});
