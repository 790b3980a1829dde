// An AI agent in a room, on a real provider package: the AI SDK's OpenAI-compatible
// provider talks to an OpenAI-compatible server on 127.0.0.1 that this test writes
// (Server-Sent Events), and the agent joins the real edge under workerd.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { Agent } from "confab-rooms/agent";
import { fakeModelServer, modelOf } from "./fake-llm.mjs";
import { DEV_SECRET, ROOT, mintToken, openConfab, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

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

const model = () => modelOf(llm);

test("a mention is answered from the room: the prompt holds its messages, context and documents; the turn streams what the model sent", async () => {
  const room = uniqueRoom("agent");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" }, { token: mintToken(DEV_SECRET, { room, sub: "ada", name: "Ada", role: "owner" }) });
  const token = mintToken(DEV_SECRET, { room, sub: "agent-helper", name: "Helper", kind: "agent", role: "editor" });
  const agent = await Agent.join({ url: edge.ws, room, name: "Helper", token, model: model(), instructions: "Answer in one sentence." });
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
    // The model is offered the room's tools, by their exact names.
    const offered = llm.state.requests.at(-1).body.tools.map((t) => t.function.name);
    for (const name of ["read_document", "write_document", "edit_document", "acquire_lock", "search", "handoff"]) assert.ok(offered.includes(name), `${name} offered`);
    // The feed has what it did, recorded by the SDK itself.
    const kinds = async () => (await ada.request("activity.list")).activities.filter((a) => a.agent === agent.id && a.status === "completed").map((a) => String(a.kind));
    for (const kind of ["task_assigned", "agent_started", "memory_read", "message_sent", "task_completed", "agent_completed"]) {
      await waitFor(async () => (await kinds()).includes(kind), { what: `the ${kind} activity` });
    }

    // Not addressed to it, not answered: the next mention is the marker that the
    // agent has read past this message.
    ada.chat.post("main", "Helper is great (no mention).");
    llm.state.words = ["Yes."];
    ada.chat.post("main", "@helper are you there?");
    await waitFor(() => ada.chat.messages("main").filter((m) => m.author.name === "Helper" && m.status === "done").length === 2, { timeout: 15_000, what: "the second answer" });
    assert.equal(llm.state.requests.length, before + 2, "only the mentions were answered");
  } finally {
    await agent.leave();
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
    // While it works, its status goes out in its presence every couple of seconds.
    const status = () => /** @type {import("confab-rooms/agent").AgentStatus | undefined} */ (ada.presence.peers().find((p) => p.state.user?.name === "Helper")?.state.agent);
    const first = await waitFor(() => (status()?.state === "working" ? status() : undefined), { what: "a working status" });
    assert.equal(first.activity, "answering in main");
    assert.equal(first.model, "test-model");
    assert.equal(first.offline, false);
    await waitFor(() => status().at > first.at && status().state === "working", { what: "the status sent again while working" });
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
    await agent.leave();
    ada.destroy();
  }
});

test("confab agent runs one agent on an OpenAI-compatible endpoint and leaves cleanly on SIGTERM", async () => {
  const room = uniqueRoom("agent-cli");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "npm/bin/confab.mjs"), "agent", "--url", edge.ws, "--room", room, "--name", "Scout", "--base-url", llm.url, "--api-key", "test-key", "--model", "test-model"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  try {
    await waitFor(() => log.includes("answering @Scout with test-model"), { timeout: 20_000, what: "the agent to join" });
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
    await waitFor(() => log.includes("task: Ada asked in main: @Scout can you check the numbers?"), { what: "the agent to log its task" });
  } finally {
    const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0, `confab agent exits cleanly on SIGTERM\n${log}`);
    ada.destroy();
  }
  assert.match(log, /left the room/);
  // Half a configuration is refused at once, saying what is missing.
  const half = spawn(process.execPath, [path.join(ROOT, "npm/bin/confab.mjs"), "agent", "--url", edge.ws, "--room", room, "--name", "Scout", "--base-url", llm.url], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, CONFAB_AGENT_MODEL: "" },
  });
  let err = "";
  half.stderr.on("data", (d) => (err += d));
  const code = await new Promise((resolve) => half.once("exit", resolve));
  assert.equal(code, 2);
  assert.match(err, /an endpoint is set \(http:\/\/127\.0\.0\.1:\d+\/v1\) but no model: pass --model or set CONFAB_AGENT_MODEL/);
});
