// Scenario 9: agents. How long from a person's @mention to the agent's first streamed
// token in the room, and how much memory one agent process takes idle in 10 rooms.
//
// Everything runs the way a user runs it, each in its own process: the edge under
// workerd, `confab agent` (the npm package's CLI), and the model endpoint — a local
// OpenAI-compatible server that streams its first chunk at once (tests/fake-llm.mjs), so
// what is measured is Confab's share: the mention reaching the agent, the prompt built,
// the request made, the first chunk appended and relayed back to the person.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Room } from "confab-rooms";
import { BENCH_LIMITS, DEV_SECRET, mintToken, startEdge } from "../helpers.mjs";
import { percentile } from "./relay.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");

/** A child process; resolves with it and the first line it prints that `match` finds. */
function child(args, match, env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const look = (d) => {
      out += d;
      const m = out.match(match);
      if (m) resolve({ p, m });
    };
    p.stdout.on("data", look);
    p.stderr.on("data", look);
    p.once("exit", (code) => reject(new Error(`${args.join(" ")} exited (${code}):\n${out}`)));
  });
}

const stop = (p) => new Promise((r) => (p.exitCode !== null ? r() : (p.once("exit", r), p.kill("SIGTERM"))));

/** `mentions` timed mentions of a `confab agent` on `model` ("endpoint" or "offline"). */
export async function mentionToFirstToken(model, mentions = 20) {
  const edge = await startEdge({ direct: true, bindings: BENCH_LIMITS });
  const procs = [];
  try {
    const room = `bench-agent-${model}-${Date.now().toString(36)}`;
    const args = [path.join(ROOT, "npm/bin/confab.mjs"), "agent", "--url", edge.ws, "--room", room, "--name", "Helper"];
    args.push("--token", mintToken(DEV_SECRET, { room, sub: "agent-helper", name: "Helper", kind: "agent", role: "editor" }));
    const env = { OPENAI_BASE_URL: "", CONFAB_AGENT_MODEL: "" };
    if (model === "endpoint") {
      const llm = await child(["--input-type=module", "-e", LLM], /^LLM (\S+)$/m);
      procs.push(llm.p);
      args.push("--base-url", llm.m[1], "--model", "bench", "--api-key", "bench");
    }
    const agent = await child(args, /answering @Helper/, env);
    procs.push(agent.p);
    const ada = await Room.open({ url: edge.ws, room, user: { id: "ada", name: "Ada" }, token: mintToken(DEV_SECRET, { room, sub: "ada", role: "owner" }) });
    await ada.whenSynced();
    ada.chat.ensureConversation("Main", "main");
    await ada.whenSaved();
    const times = [];
    for (let i = 0; i < mentions; i++) {
      const seen = new Set(ada.chat.messages("main").map((m) => m.id));
      const started = performance.now();
      const first = new Promise((resolve) => {
        const check = () => {
          const turn = ada.chat.messages("main").find((m) => !seen.has(m.id) && m.author.kind === "agent" && m.text.length > 0);
          if (turn) {
            off();
            resolve(turn.id);
          }
        };
        const off = ada.on("change", check);
      });
      ada.chat.post("main", `@Helper question ${i}: what did we decide?`);
      const turn = await first;
      times.push(performance.now() - started);
      // The next mention once this answer is finished and the agent is idle again, as a
      // person would ask (a mention while the agent still streams waits up to 50 ms for
      // its next look at the room).
      await new Promise((resolve) => {
        const ended = () => ada.chat.turnStatus(turn) !== "streaming" && ada.chat.turnStatus(turn) !== "pending";
        if (ended()) return resolve(undefined);
        const off = ada.on("change", () => ended() && (off(), resolve(undefined)));
      });
      await new Promise((r) => setTimeout(r, 250));
    }
    ada.destroy();
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 50), p95: percentile(times, 95), n: times.length };
  } finally {
    for (const p of procs) await stop(p);
    await edge.stop();
  }
}

// The model endpoint's process: the test's OpenAI-compatible stand-in.
const LLM = `
import { fakeModelServer } from ${JSON.stringify(path.join(ROOT, "tests/fake-llm.mjs"))};
const s = await fakeModelServer();
s.state.words = ["We ", "decided ", "to ", "ship ", "on ", "Friday."];
console.log("LLM " + s.url);
`;

/** One Node process with an agent (the SDK, offline model) idle in each of `rooms` rooms: its memory. */
export async function idleMemory(rooms = 10) {
  const edge = await startEdge({ direct: true, bindings: BENCH_LIMITS });
  try {
    const script = `
      import { Agent } from "confab-rooms/agent";
      const gc = () => { globalThis.gc?.(); globalThis.gc?.(); };
      const settle = () => new Promise((r) => setTimeout(r, 3000));
      await settle(); gc();
      const base = process.memoryUsage();
      const agents = [];
      for (let i = 0; i < ${rooms}; i++) agents.push(await Agent.join({ url: ${JSON.stringify(edge.ws)}, room: "bench-idle-" + i + "-" + process.pid, name: "Helper" }));
      await settle(); gc();
      const idle = process.memoryUsage();
      console.log("MEM " + JSON.stringify({ base, idle }));
      for (const a of agents) await a.leave();
      process.exit(0);
    `;
    const { p, m } = await child(["--expose-gc", "--input-type=module", "-e", script], /^MEM (.+)$/m);
    await stop(p);
    const { base, idle } = JSON.parse(m[1]);
    const mb = (n) => n / 2 ** 20;
    return { rss: mb(idle.rss), rssGrowth: mb(idle.rss - base.rss), heap: mb(idle.heapUsed), external: mb(idle.external + idle.arrayBuffers), rooms };
  } finally {
    await edge.stop();
  }
}
