// The package in a Node process the way a newcomer first runs it: in a runtime with no
// WebSocket (Node 20 without the `ws` package) `Room.open` fails at once, naming what is
// missing and how to provide it, instead of waiting for a sync that cannot come.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { ROOT, tempDir } from "./helpers.mjs";

const run = promisify(execFile);

test("with no WebSocket in the runtime, Room.open fails at once and says how to provide one", async () => {
  // The built package alone, where no `ws` can be found, in a Node with no global
  // WebSocket (Node 20's default, forced off on later versions).
  const dir = await tempDir("confab-node-");
  for (const part of ["dist", "wasm", "package.json"]) {
    await cp(path.join(ROOT, "npm", part), path.join(dir, "confab-rooms", part), { recursive: true });
  }
  const script = path.join(dir, "join.mjs");
  await writeFile(
    script,
    `import { Room } from "./confab-rooms/dist/index.js";
try {
  await Room.open({ url: "ws://127.0.0.1:9/rooms", room: "r", user: { id: "ada", name: "Ada" } });
  console.log("opened");
} catch (err) {
  console.log(JSON.stringify({ name: err.name, code: err.code, message: err.message }));
}
`,
  );
  const flags = Number(process.versions.node.split(".")[0]) >= 22 ? ["--no-experimental-websocket"] : [];
  const { stdout } = await run(process.execPath, [...flags, script], { cwd: dir, timeout: 60_000 });
  const result = JSON.parse(stdout.trim());
  assert.equal(result.name, "ConfabError");
  assert.equal(result.code, "no_websocket");
  assert.match(result.message, /install the `ws` package/);
  assert.match(result.message, /Room\.open\(\{ \.\.\., WebSocket \}\)/);
});

test("after destroy(), no timer of the package keeps a Node process alive", async () => {
  const { startEdge } = await import("./helpers.mjs");
  const edge = await startEdge();
  try {
    const dir = await tempDir("confab-node-");
    const script = path.join(dir, "leave.mjs");
    await writeFile(
      script,
      `import { Room } from ${JSON.stringify(path.join(ROOT, "npm/dist/index.js"))};
const room = await Room.open({ url: ${JSON.stringify(edge.ws)}, room: "node-exit", user: { id: "ada", name: "Ada" } });
await room.whenSynced();
room.chat.ensureConversation("Main", "main");
room.chat.post("main", "hello");
await room.whenSaved();
room.destroy();
// What is still pending once destroy() has run and the socket has closed (the \`ws\`
// package times its own closing handshake): no timer may be the package's.
for (let i = 0; i < 1e6 && process.getActiveResourcesInfo().includes("TCPSocketWrap"); i++) {
  await new Promise((r) => setImmediate(r));
}
console.log(JSON.stringify(process.getActiveResourcesInfo()));
`,
    );
    const { stdout } = await run(process.execPath, [script], { cwd: dir, timeout: 60_000 });
    const pending = JSON.parse(stdout.trim().split("\n").pop() ?? "[]");
    assert.deepEqual(
      pending.filter((r) => r === "Timeout"),
      [],
      `timers still pending after destroy(): ${pending.join(", ")}`,
    );
  } finally {
    await edge.stop();
  }
});
