// The package as apps install it: `npm pack`, the tarball installed into fresh fixture
// apps (with the optional peers an app would add), each app doing something real
// against the edge under workerd — joining a room and seeing another client's edit. A
// Node ESM script; a TypeScript consumer compiled with `strict` under `moduleResolution`
// `bundler` and `node16`, importing every subpath, then run; and a Cloudflare Worker under
// workerd (`wrangler dev`) that joins a room as a server-side participant.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { ROOT, openConfab, startEdge, startWranglerDev, tempDir, uniqueRoom, waitFor } from "./helpers.mjs";

const run = promisify(execFile);
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");

let dir;
let app;
let tarball;
let edge;
before(async () => {
  dir = await tempDir("confab-pack-");
  const { stdout } = await run("npm", ["pack", "--pack-destination", dir, "--loglevel=error"], { cwd: path.join(ROOT, "npm"), timeout: 60_000 });
  tarball = path.join(dir, stdout.trim().split("\n").at(-1) ?? "");
  app = path.join(dir, "app");
  await mkdir(app);
  await writeFile(path.join(app, "package.json"), JSON.stringify({ name: "fixture", private: true, type: "module" }));
  // The optional peers an app adds for the subpaths it uses, at the workspace's pins.
  const { devDependencies: pins } = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8"));
  // (@types/json-schema: the AI SDK's own types need it, as in any TypeScript app on it.)
  const peers = ["ws", "ai", "@ai-sdk/openai-compatible", "@modelcontextprotocol/sdk", "react", "@types/react", "@types/node", "@types/json-schema", "yjs", "y-protocols"].map((p) => `${p}@${pins[p]}`);
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball, ...peers], { cwd: app, timeout: 180_000 });
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Ada writes into a fresh room; `join(room)` has the fixture join it and say what it
 * saw. Resolves with that, once Ada has the fixture's message too.
 * @param {(room: string) => Promise<string>} join
 */
async function joinsAndSees(join) {
  const room = uniqueRoom("pack");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  try {
    ada.docs.ensure("Notes", "notes");
    ada.docs.setText("notes", "Written by Ada.");
    await ada.whenSaved();
    const saw = await join(room);
    await waitFor(() => ada.chat.messages("main").some((m) => m.text === "hello from the fixture"), { what: "the fixture's message at Ada" });
    return saw;
  } finally {
    ada.destroy();
  }
}

/** Run the script `file` in the app, in `room`; what it printed. */
const runIn = (file) => async (/** @type {string} */ room) =>
  (await run(process.execPath, [file, edge.ws, room], { cwd: app, timeout: 60_000 })).stdout.trim();

const SCRIPT = `import { Room } from "confab-rooms";
import { mintToken } from "confab-rooms/server";

const [url, room] = process.argv.slice(2);
const token = await mintToken({ secret: "confab-dev-secret", room, user: { id: "fixture", name: "Fixture" }, role: "editor" });
const client = await Room.open({ url, room, user: { id: "fixture", name: "Fixture" }, token });
await client.whenSynced();
while (!client.docs.list().some((d) => d.id === "notes")) await new Promise((r) => setTimeout(r, 20));
client.chat.ensureConversation("Main", "main");
client.chat.post("main", "hello from the fixture");
await client.whenSaved();
console.log(client.docs.text("notes"));
client.destroy();
`;

test("a Node ESM script with the installed tarball joins a room and sees another client's edit", async () => {
  await writeFile(path.join(app, "join.mjs"), SCRIPT);
  assert.equal(await joinsAndSees(runIn(path.join(app, "join.mjs"))), "Written by Ada.");
});

/** A TypeScript consumer of every subpath, with the types an app would lean on. */
const CONSUMER = `import { Room, ROOM_TOOLS, type ConfabError, type MessageInfo, type OpenOptions } from "confab-rooms";
import { Agent, offlineModel, type AgentStatus } from "confab-rooms/agent";
import { roomMcpServer } from "confab-rooms/mcp";
import { RoomProvider, useMessages } from "confab-rooms/react";
import { mintToken } from "confab-rooms/server";
import { YjsBridge, type BridgeOptions } from "confab-rooms/yjs";

const [url, room] = process.argv.slice(2) as [string, string];
const token: string = await mintToken({ secret: "confab-dev-secret", room, user: { id: "fixture", name: "Fixture" }, role: "editor" });
const options: OpenOptions = { url, room, user: { id: "fixture", name: "Fixture" }, auth: async () => token };
const client: Room = await Room.open(options);
await client.whenSynced();
while (!client.docs.list().some((d) => d.id === "notes")) await new Promise((r) => setTimeout(r, 20));
client.chat.ensureConversation("Main", "main");
client.chat.post("main", "hello from the fixture");
await client.whenSaved();
const messages: MessageInfo[] = client.chat.messages("main");
const failed: ConfabError | undefined = undefined;
const status: AgentStatus["state"] = "idle";
// The other subpaths' values are there, with their types.
const names: string[] = ROOM_TOOLS.map((t) => t.name);
const used = [typeof Agent.join, typeof offlineModel, typeof roomMcpServer, typeof RoomProvider, typeof useMessages, names.length > 0, failed, status];
// The notes through the Yjs bridge: a Y.Doc from the app's own yjs.
const bridgeOptions: BridgeOptions = { user: { name: "Fixture" } };
const bridge = new YjsBridge(client, bridgeOptions);
console.log(bridge.text("notes").toString(), messages.length, used.length);
bridge.destroy();
client.destroy();
`;

for (const resolution of ["bundler", "node16"]) {
  test(`a TypeScript consumer (strict, moduleResolution ${resolution}) resolves every subpath's types, compiles, and runs`, async () => {
    const out = path.join(app, `out-${resolution}`);
    await writeFile(path.join(app, "consumer.ts"), CONSUMER);
    const module = resolution === "bundler" ? "esnext" : "node16";
    const config = {
      compilerOptions: {
        strict: true,
        target: "es2022",
        module,
        moduleResolution: resolution,
        outDir: out,
        types: ["node"],
        lib: ["es2022", "dom"],
        skipLibCheck: false,
        noEmitOnError: true,
      },
      files: ["consumer.ts"],
    };
    await writeFile(path.join(app, `tsconfig.${resolution}.json`), JSON.stringify(config, null, 2));
    try {
      await run(process.execPath, [TSC, "-p", `tsconfig.${resolution}.json`], { cwd: app, timeout: 120_000 });
    } catch (err) {
      assert.fail(`tsc (${resolution}) failed:\n${/** @type {{ stdout?: string }} */ (err).stdout ?? err}`);
    }
    assert.equal(await joinsAndSees(runIn(path.join(out, "consumer.js"))), "Written by Ada. 1 8");
  });
}

/** A Worker that joins the room named in the request, as a server-side participant. */
const WORKER = `import { Room } from "confab-rooms";

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response("ok");
    const room = await Room.open({ url: url.searchParams.get("edge"), room: url.searchParams.get("room"), user: { id: "worker", name: "Worker", kind: "agent" } });
    try {
      await room.whenSynced();
      while (!room.docs.list().some((d) => d.id === "notes")) await new Promise((r) => setTimeout(r, 20));
      room.chat.ensureConversation("Main", "main");
      room.chat.post("main", "hello from the fixture");
      await room.whenSaved();
      return new Response(room.docs.text("notes"));
    } finally {
      room.destroy();
    }
  },
};
`;

test("a Cloudflare Worker under workerd imports the installed tarball and joins a room as a server-side participant", async () => {
  const worker = path.join(dir, "worker");
  await mkdir(worker);
  await writeFile(path.join(worker, "package.json"), JSON.stringify({ name: "fixture-worker", private: true, type: "module" }));
  await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], { cwd: worker, timeout: 60_000 });
  await writeFile(path.join(worker, "index.js"), WORKER);
  await writeFile(path.join(worker, "wrangler.toml"), 'name = "fixture-worker"\nmain = "index.js"\ncompatibility_date = "2026-04-20"\n');
  const served = await startWranglerDev({ persistTo: path.join(worker, ".state"), cwd: worker });
  try {
    const saw = await joinsAndSees(async (room) => {
      const res = await fetch(`${served.http}/?edge=${encodeURIComponent(edge.ws)}&room=${encodeURIComponent(room)}`);
      return res.text();
    });
    assert.equal(saw, "Written by Ada.", served.output());
  } finally {
    await served.stop();
  }
});
