#!/usr/bin/env node
// The demo's agents under `make dev`: a researcher and a reviewer in the room the script
// printed, each a `confab agent` process of its own with a room token minted through the
// REST API (as an app's backend mints them). They run on the offline model unless
// OPENAI_BASE_URL is set, then on that endpoint (OPENAI_API_KEY, and CONFAB_AGENT_MODEL,
// gpt-4o-mini by default).
//
// usage: node scripts/dev-agents.mjs http://127.0.0.1:8787 <room>
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const AGENTS = [
  { name: "Researcher", instructions: "demo/agents/researcher.md", description: "Looks things up and reports what it found" },
  { name: "Reviewer", instructions: "demo/agents/reviewer.md", description: "Reviews drafts and suggests edits" },
];
/** The team space `make dev` lists its room in: its agents are the space's shared agents. */
const SPACE = "team";
const [base, room] = process.argv.slice(2);
if (!base || !room) {
  process.stderr.write("usage: node scripts/dev-agents.mjs <http base URL> <room>\n");
  process.exit(2);
}
// The documented development key (edge/.dev.vars): never a deployed room server's.
const apiKey = process.env.CONFAB_API_KEY || "confab-dev-api-key";
const env = { ...process.env };
if (env.OPENAI_BASE_URL && !env.CONFAB_AGENT_MODEL) env.CONFAB_AGENT_MODEL = "gpt-4o-mini";

/** A token for agent `name`, minted by the room (editor, a day long). */
async function tokenFor(name) {
  const res = await fetch(`${base}/rooms/${encodeURIComponent(room)}/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ role: "editor", user: `agent-${name.toLowerCase()}`, name, kind: "agent", ttlSecs: 86_400 }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok || typeof body.token !== "string") throw new Error(`could not mint a token for ${name}: ${res.status} ${JSON.stringify(body)}`);
  return body.token;
}

/** Register agent `name` with the team space, so its home lists it (in use, or available). */
async function register(agent) {
  const id = `agent-${agent.name.toLowerCase()}`;
  const res = await fetch(`${base}/spaces/${SPACE}/agents/${id}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ name: agent.name, description: agent.description, model: env.CONFAB_AGENT_MODEL || "offline model" }),
  });
  // The space is the demo's home; an agent that is not listed there still works.
  if (!res.ok) process.stderr.write(`confab: could not list ${agent.name} in space ${SPACE}: ${res.status}\n`);
}

const children = [];
let stopping = false;
for (const agent of AGENTS) {
  await register(agent).catch((err) => process.stderr.write(`confab: could not list ${agent.name} in space ${SPACE}: ${err.message}\n`));
  let token;
  try {
    token = await tokenFor(agent.name);
  } catch (err) {
    process.stderr.write(`confab: ${err.message}\n`);
    process.exit(1);
  }
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "npm/bin/confab.mjs"), "agent", "--url", `${base.replace(/^http/, "ws")}/rooms`, "--room", room, "--name", agent.name, "--token", token, "--instructions", path.join(ROOT, agent.instructions)],
    { env, stdio: ["ignore", "inherit", "inherit"] },
  );
  child.once("exit", (code, signal) => {
    if (!stopping) process.stderr.write(`confab: the ${agent.name} agent stopped (${code ?? signal})\n`);
  });
  children.push(child);
}

const stop = async () => {
  if (stopping) return;
  stopping = true;
  // Each agent releases its leases and leaves the room before it exits.
  await Promise.all(
    children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => (c.once("exit", r), c.kill("SIGTERM"))))),
  );
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.on("SIGHUP", stop);
