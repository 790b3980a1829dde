// An AI agent in a room, on a real provider package: the AI SDK's OpenAI-compatible
// provider talks to an OpenAI-compatible server on 127.0.0.1 that this test writes
// (Server-Sent Events), and the agent joins the real edge under workerd.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import path from "node:path";
import { after, before, test } from "node:test";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { Agent } from "confab-rooms/agent";
import { ROOT, openConfab, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

let edge;
let llm;
before(async () => {
  edge = await startEdge();
  llm = await fakeModelServer();
});
after(async () => {
  await llm?.close();
  await edge?.stop();
});

/**
 * An OpenAI-compatible chat-completions server. `mode` decides the next answer:
 * `words` streams them; `slow` streams 200 chunks 50 ms apart (time to stop it);
 * `fail` answers 503 with a reason. It records each request and whether its client
 * went away before the answer ended.
 */
async function fakeModelServer() {
  const state = { mode: "words", words: [], requests: [] };
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const record = { body: JSON.parse(Buffer.concat(chunks).toString("utf8")), sent: 0, cancelled: false, ended: false };
    state.requests.push(record);
    if (state.mode === "fail") {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "the model is overloaded", type: "server_error" } }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.on("close", () => (record.cancelled = !record.ended));
    const send = (delta, finish = null) =>
      res.write(`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 0, model: "test", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
    const words = state.mode === "slow" ? Array.from({ length: 200 }, (_, i) => `w${i} `) : state.words;
    send({ role: "assistant", content: "" });
    for (const word of words) {
      if (res.destroyed) return;
      send({ content: word });
      record.sent += 1;
      await new Promise((r) => setTimeout(r, state.mode === "slow" ? 50 : 5));
    }
    send({}, "stop");
    record.ended = true;
    res.end("data: [DONE]\n\n");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  return { state, url: `http://127.0.0.1:${port}/v1`, close: () => new Promise((r) => server.close(r)) };
}

function model() {
  return createOpenAICompatible({ name: "test", baseURL: llm.url, apiKey: "test-key" }).chatModel("test-model");
}

test("a mention is answered from the room: the prompt holds its messages, context and documents; the turn streams what the model sent", async () => {
  const room = uniqueRoom("agent");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  const agent = await Agent.join({ url: edge.ws, room, name: "Helper", model: model(), instructions: "Answer in one sentence." });
  try {
    ada.chat.ensureConversation("Main", "main");
    ada.docs.ensure("Plan", "plan");
    ada.docs.setText("plan", "Budget: 2M. Launch: Friday.");
    const entry = ada.context.propose({ kind: "decision", text: "We launch on Friday", tags: ["launch"], refs: ["doc:plan"] });
    ada.context.accept(entry);
    ada.chat.post("main", "Morning all.");
    llm.state.mode = "words";
    llm.state.words = ["The plan ", "is to launch ", "on Friday."];
    const before = llm.state.requests.length;
    ada.chat.post("main", "@Helper what is the plan?");
    const answer = await waitFor(
      () => ada.chat.messages("main").find((m) => m.author.name === "Helper" && m.status === "done"),
      { timeout: 15_000, what: "the agent's finished turn" },
    );
    assert.equal(answer.text, "The plan is to launch on Friday.");
    assert.equal(answer.author.kind, "agent");
    assert.equal(llm.state.requests.length, before + 1, "one mention, one request");
    const sent = JSON.stringify(llm.state.requests.at(-1).body.messages);
    assert.match(sent, /You are Helper/);
    assert.match(sent, /Answer in one sentence\./);
    assert.match(sent, /\(decision\) We launch on Friday/);
    assert.match(sent, /Budget: 2M\. Launch: Friday\./, "the document the context refers to");
    assert.match(sent, /Ada \(person\): Morning all\.\\nAda \(person\): @Helper what is the plan\?/);

    // Not addressed to it, not answered: the next mention is the marker that the
    // agent has read past this message.
    ada.chat.post("main", "Helper is great (no mention).");
    llm.state.words = ["Yes."];
    ada.chat.post("main", "@helper are you there?");
    await waitFor(() => ada.chat.messages("main").filter((m) => m.author.name === "Helper" && m.status === "done").length === 2, { timeout: 15_000, what: "the second answer" });
    assert.equal(llm.state.requests.length, before + 2, "only the mentions were answered");
  } finally {
    agent.leave();
    ada.destroy();
  }
});

test("a person's stop cancels the model's HTTP request; a provider error ends the turn as error with its reason", async () => {
  const room = uniqueRoom("agent-stop");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  const agent = await Agent.join({ url: edge.ws, room, name: "Helper", model: model() });
  try {
    ada.chat.ensureConversation("Main", "main");
    llm.state.mode = "slow";
    ada.chat.post("main", "@Helper write a long essay");
    const turn = await waitFor(
      () => ada.chat.messages("main").find((m) => m.author.name === "Helper" && m.text.includes("w3 ")),
      { timeout: 15_000, what: "the turn streaming" },
    );
    const request = llm.state.requests.at(-1);
    ada.chat.stopTurn(turn.id);
    await waitFor(() => request.cancelled, { timeout: 10_000, what: "the model's request cancelled" });
    assert.ok(request.sent < 200, `stopped after ${request.sent} of 200 chunks`);
    await waitFor(() => ada.chat.turnStatus(turn.id) === "stopped", { what: "the turn stopped" });

    llm.state.mode = "fail";
    ada.chat.post("main", "@Helper try again");
    const failed = await waitFor(
      () => ada.chat.messages("main").find((m) => m.author.name === "Helper" && m.status === "error"),
      { timeout: 20_000, what: "the error turn" },
    );
    assert.match(failed.error ?? "", /the model failed: .*overloaded/);
  } finally {
    llm.state.mode = "words";
    agent.leave();
    ada.destroy();
  }
});

test("confab agent runs one agent on an OpenAI-compatible endpoint and leaves cleanly on SIGTERM", async () => {
  const room = uniqueRoom("agent-cli");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "npm/bin/confab.mjs"), "agent", "--url", edge.ws, "--room", room, "--name", "Scout", "--base-url", llm.url, "--api-key", "test-key", "--model", "test-model"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  try {
    await waitFor(() => log.includes("answering @Scout"), { timeout: 20_000, what: "the agent to join" });
    await waitFor(() => ada.presence.list().some((p) => p.user.name === "Scout" && p.user.kind === "agent"), { what: "the agent present" });
    llm.state.mode = "words";
    llm.state.words = ["On it."];
    ada.chat.ensureConversation("Main", "main");
    ada.chat.post("main", "@Scout can you check the numbers?");
    const answer = await waitFor(
      () => ada.chat.messages("main").find((m) => m.author.name === "Scout" && m.status === "done"),
      { timeout: 15_000, what: "the CLI agent's answer" },
    );
    assert.equal(answer.text, "On it.");
  } finally {
    const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0, `confab agent exits cleanly on SIGTERM\n${log}`);
    ada.destroy();
  }
  // Without a model it refuses at once, saying what to set.
  const bare = spawn(process.execPath, [path.join(ROOT, "npm/bin/confab.mjs"), "agent", "--url", edge.ws, "--room", room, "--name", "Scout"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, OPENAI_BASE_URL: "", CONFAB_AGENT_MODEL: "" },
  });
  let err = "";
  bare.stderr.on("data", (d) => (err += d));
  const code = await new Promise((resolve) => bare.once("exit", resolve));
  assert.equal(code, 2);
  assert.match(err, /confab agent needs a model: --base-url \(or OPENAI_BASE_URL\) and --model/);
});
