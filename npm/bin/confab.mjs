#!/usr/bin/env node
// The `confab` command. `confab mcp` serves one room's tools to an MCP client over stdio.
import { parseArgs } from "node:util";

const USAGE = `usage: confab mcp --url ws://127.0.0.1:8787/rooms --room <room> [--name <name>] [--token <token>]

  mcp   serve the room's tools (list_documents, read_document, write_document, …) to an
        MCP client over stdio, as a participant of kind "agent" named --name`;

function fail(message) {
  process.stderr.write(`confab: ${message}\n`);
  process.exit(2);
}

const [command, ...rest] = process.argv.slice(2);
if (command !== "mcp") fail(command ? `unknown command \`${command}\`\n${USAGE}` : USAGE);
let options;
try {
  ({ values: options } = parseArgs({
    args: rest,
    options: {
      url: { type: "string" },
      room: { type: "string" },
      name: { type: "string", default: "MCP agent" },
      token: { type: "string" },
    },
  }));
} catch (err) {
  fail(`${err.message}\n${USAGE}`);
}
if (!options.url || !options.room) fail(`--url and --room are required\n${USAGE}`);

let mcp, stdio;
try {
  mcp = await import("../dist/mcp.js");
  stdio = await import("@modelcontextprotocol/sdk/server/stdio.js");
} catch (err) {
  fail(`confab mcp needs the @modelcontextprotocol/sdk package: npm install @modelcontextprotocol/sdk (${err.message})`);
}
const { Room } = await import("../dist/index.js");

// stdout carries the protocol: everything else goes to stderr.
const slug = options.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "agent";
let room;
try {
  room = await Room.open({
    url: options.url,
    room: options.room,
    user: { id: `mcp-${slug}`, name: options.name, kind: "agent" },
    ...(options.token ? { token: options.token } : {}),
  });
  await room.whenSynced(15_000);
} catch (err) {
  fail(`could not join room ${options.room} at ${options.url}: ${err.message}${err.code ? ` (${err.code})` : ""}`);
}
room.on("error", (e) => process.stderr.write(`confab: ${e.error.message} (${e.error.code})\n`));
const transport = new stdio.StdioServerTransport();
const stop = () => {
  room.destroy();
  process.exit(0);
};
transport.onclose = stop;
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
await mcp.serveRoom(room, transport);
process.stderr.write(`confab: serving room ${options.room} as ${options.name} over MCP (stdio)\n`);
