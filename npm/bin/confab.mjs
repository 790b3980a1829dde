#!/usr/bin/env node
// The `confab` command. `confab mcp` serves one room's tools to an MCP client over stdio.
import { parseArgs } from "node:util";

const USAGE = `usage: confab mcp --url ws://127.0.0.1:8787/rooms --room <room> [--name <name>] [--token <token>] [--http <port>]
       confab agent --url ws://127.0.0.1:8787/rooms --room <room> --name <name> [--token <token>]
                    [--model <id>] [--base-url <url>] [--api-key <key>] [--instructions <file>]

  mcp    serve the room's tools (list_documents, read_document, write_document, …) to an
         MCP client, as a participant of kind "agent" named --name: over stdio, or with
         --http over Streamable HTTP at http://127.0.0.1:<port>/mcp
  agent  run an agent that answers @<name> in the room, on any OpenAI-compatible
         endpoint (defaults: $OPENAI_BASE_URL, $OPENAI_API_KEY, $CONFAB_AGENT_MODEL);
         with none configured, on the offline model that ships with Confab`;

function fail(message) {
  process.stderr.write(`confab: ${message}\n`);
  process.exit(2);
}

const [command, ...rest] = process.argv.slice(2);
if (command !== "mcp" && command !== "agent") fail(command ? `unknown command \`${command}\`\n${USAGE}` : USAGE);
let options;
try {
  ({ values: options } = parseArgs({
    args: rest,
    options: {
      url: { type: "string" },
      room: { type: "string" },
      name: { type: "string", default: "MCP agent" },
      token: { type: "string" },
      http: { type: "string" },
      model: { type: "string" },
      "base-url": { type: "string" },
      "api-key": { type: "string" },
      instructions: { type: "string" },
    },
  }));
} catch (err) {
  fail(`${err.message}\n${USAGE}`);
}
if (!options.url || !options.room) fail(`--url and --room are required\n${USAGE}`);
if (command === "agent") {
  await runAgent();
} else {
  await runMcp();
}

async function runAgent() {
  const baseURL = options["base-url"] ?? process.env.OPENAI_BASE_URL;
  const modelId = options.model ?? process.env.CONFAB_AGENT_MODEL;
  if (Boolean(baseURL) !== Boolean(modelId)) {
    fail(
      baseURL
        ? `an endpoint is set (${baseURL}) but no model: pass --model or set CONFAB_AGENT_MODEL`
        : "a model is set but no endpoint: pass --base-url or set OPENAI_BASE_URL (or neither, for the offline model)",
    );
  }
  let agentModule, provider;
  try {
    agentModule = await import("../dist/agent.js");
    if (baseURL) provider = await import("@ai-sdk/openai-compatible");
  } catch (err) {
    fail(`confab agent needs the ai${baseURL ? " and @ai-sdk/openai-compatible packages: npm install ai @ai-sdk/openai-compatible" : " package: npm install ai"} (${err.message})`);
  }
  let instructions;
  if (options.instructions) {
    const { readFile } = await import("node:fs/promises");
    try {
      instructions = await readFile(options.instructions, "utf8");
    } catch (err) {
      fail(`cannot read --instructions ${options.instructions}: ${err.message}`);
    }
  }
  // Without an endpoint, the offline model that ships with Confab (extractive, and
  // labelled so in presence and in every message).
  const model = baseURL
    ? provider.createOpenAICompatible({ name: "openai-compatible", baseURL, apiKey: options["api-key"] ?? process.env.OPENAI_API_KEY }).chatModel(modelId)
    : agentModule.offlineModel();
  const log = (line) => process.stdout.write(`${new Date().toISOString()} ${options.name}: ${line}\n`);
  let agent;
  try {
    agent = await agentModule.Agent.join({
      url: options.url,
      room: options.room,
      name: options.name,
      model,
      instructions,
      log,
      ...(options.token ? { token: options.token } : {}),
    });
  } catch (err) {
    fail(`could not join room ${options.room} at ${options.url}: ${err.message}${err.code ? ` (${err.code})` : ""}`);
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const held = agent.leases;
    await agent.leave();
    log(`left the room${held.length ? `, releasing ${held.join(", ")}` : ""}`);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  log(`in room ${options.room}, answering @${options.name} with ${baseURL ? `${modelId} at ${baseURL}` : `the offline model (${agentModule.OFFLINE_MODEL_ID})`}`);
}

async function runMcp() {
  const httpPort = options.http === undefined ? undefined : Number(options.http);
  if (httpPort !== undefined && !(Number.isInteger(httpPort) && httpPort >= 0 && httpPort < 65536)) {
    fail(`--http must be a port number (0 to 65535), got \`${options.http}\``);
  }

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
  const stop = () => {
    room.destroy();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  if (httpPort !== undefined) {
    let served;
    try {
      served = await mcp.serveRoomHttp(room, httpPort);
    } catch (err) {
      room.destroy();
      fail(`could not listen on 127.0.0.1:${httpPort}: ${err.message}`);
    }
    process.stderr.write(`confab: serving room ${options.room} as ${options.name} over MCP at http://127.0.0.1:${served.port}/mcp\n`);
  } else {
    const transport = new stdio.StdioServerTransport();
    transport.onclose = stop;
    process.stdin.on("end", stop);
    await mcp.serveRoom(room, transport);
    process.stderr.write(`confab: serving room ${options.room} as ${options.name} over MCP (stdio)\n`);
  }
}
