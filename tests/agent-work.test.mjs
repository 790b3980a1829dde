// Agents at work in a real room under workerd: tool calls from the model (a lease, a
// based write, a person's edit meanwhile kept), a handoff between two agents, and the
// offline model that ships with Confab, in the SDK and in `confab agent`.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { Agent, OFFLINE_LABEL } from "confab-rooms/agent";
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

/** Ada (the room's owner) and a token for an agent named `name`. */
async function setUp(label) {
  const room = uniqueRoom(label);
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" }, { token: mintToken(DEV_SECRET, { room, sub: "ada", name: "Ada", role: "owner" }) });
  ada.chat.ensureConversation("Main", "main");
  const agentToken = (name) => mintToken(DEV_SECRET, { room, sub: `agent-${name.toLowerCase()}`, name, kind: "agent", role: "editor" });
  return { room, ada, agentToken };
}

/** The tool results the model was sent back in `request`, by tool name. */
function toolResults(request) {
  return request.body.messages.filter((m) => m.role === "tool").map((m) => String(m.content));
}

test("tool calls from the model: a lease is taken, a based write lands, and a person's edit made meanwhile is kept", async () => {
  const { room, ada, agentToken } = await setUp("agent-tools");
  const agent = await Agent.join({ url: edge.ws, room, name: "Editor", token: agentToken("Editor"), model: model() });
  try {
    ada.docs.ensure("Plan", "plan");
    ada.docs.setText("plan", "Budget: 2M.\nLaunch: Friday.\n");
    ada.docs.ensure("Notes", "notes");
    ada.docs.setText("notes", "Venue: the old hall.\n");
    // The plan takes writes only from its lease holder; others' edits wait as suggestions.
    await ada.request("lock.policy", { document: "plan", policy: "suggest" });
    await ada.whenSaved();

    llm.state.script = [
      { tools: [{ name: "read_document", args: { id: "plan" } }] },
      {
        // While the model thinks, Ada edits the plan: the agent holds no lease yet, so
        // her edit is held as a suggestion only once the agent's lease is taken below.
        tools: [{ name: "acquire_lock", args: { resource: "doc:plan", ttl_ms: 60_000 } }],
      },
      {
        before: async () => {
          ada.docs.insert("plan", 0, "Owner: Ada.\n");
          await waitFor(async () => (await ada.request("suggestion.list")).suggestions.length === 1, { what: "Ada's edit held as a suggestion" });
        },
        tools: [{ name: "edit_document", args: { id: "plan", find: "Friday", replace: "Monday" } }],
      },
      { words: ["Moved ", "the launch ", "to Monday."] },
    ];
    ada.chat.post("main", "@Editor please move the launch to Monday");
    const answer = await waitFor(() => ada.chat.messages("main").find((m) => m.author.name === "Editor" && m.status === "done"), {
      timeout: 20_000,
      what: "the agent's answer",
    });
    assert.equal(answer.text, "Moved the launch to Monday.");
    // The write landed, from the agent, under its lease; Ada's edit is held, not lost.
    // (Ada's own replica shows her edit; the room, and so everyone else, does not yet.)
    const stored = async () => (await ada.request("document.get", { id: "plan" })).text;
    assert.equal(await stored(), "Budget: 2M.\nLaunch: Monday.\n");
    assert.equal(agent.room.docs.text("plan"), "Budget: 2M.\nLaunch: Monday.\n");
    const [held] = (await ada.request("suggestion.list")).suggestions;
    assert.equal(held.author, "ada");
    assert.equal(held.status, "pending");
    const results = toolResults(llm.state.requests.at(-1));
    assert.ok(results.some((r) => /"fence":\d+/.test(r) && r.includes('"written":"plan"')), `a leased write: ${results}`);
    // The lease went back when the turn ended; accepting the suggestion keeps both edits.
    await waitFor(async () => (await ada.request("lock.list")).leases.length === 0, { what: "the agent's lease released" });
    await ada.request("suggestion.accept", { id: held.id });
    await waitFor(async () => (await stored()) === "Owner: Ada.\nBudget: 2M.\nLaunch: Monday.\n", { what: "both edits in the plan" });

    // Without a lease policy, a person's edit between the agent's read and its write
    // makes the write stale: it is held for review, the person's text stays, and the
    // model is told so.
    llm.state.script = [
      { tools: [{ name: "read_document", args: { id: "notes" } }] },
      {
        before: async () => {
          ada.docs.replaceRange("notes", 11, 3, "new");
          await ada.whenSaved();
          await waitFor(() => agent.room.docs.text("notes").includes("the new"), { what: "the agent to see Ada's edit" });
        },
        tools: [{ name: "write_document", args: { id: "notes", text: "Venue: the river barge.\n" } }],
      },
      { words: ["Someone changed it first; my change waits for review."] },
    ];
    ada.chat.post("main", "@Editor change the venue to the river barge");
    await waitFor(() => ada.chat.messages("main").filter((m) => m.author.name === "Editor" && m.status === "done").length === 2, {
      timeout: 20_000,
      what: "the second answer",
    });
    assert.equal(ada.docs.text("notes"), "Venue: the new hall.\n", "Ada's edit stays");
    assert.match(toolResults(llm.state.requests.at(-1)).join("\n"), /held for a person to accept or reject/);
    const stale = ada.conflicts.list().find((c) => c.kind === "stale" && c.held);
    assert.ok(stale, "the agent's write is held as a stale conflict");
    assert.equal(stale.sides.find((s) => s.author?.id === "agent-editor")?.inserted.includes("river barge"), true);

    // Leaving mid-turn gives its leases back.
    llm.state.script = [{ tools: [{ name: "acquire_lock", args: { resource: "doc:notes", ttl_ms: 60_000 } }] }];
    llm.state.mode = "slow";
    ada.chat.post("main", "@Editor take the notes for a while");
    await waitFor(async () => (await ada.request("lock.list")).leases.some((l) => l.resource === "doc:notes" && l.holder === "agent-editor"), {
      timeout: 20_000,
      what: "the agent's lease on the notes",
    });
    await agent.leave();
    assert.deepEqual((await ada.request("lock.list")).leases, [], "leave() released it");
  } finally {
    llm.state.script = [];
    llm.state.mode = "words";
    await agent.leave();
    ada.destroy();
  }
});

test("two agents hand work over: the packet carries the summary, questions, context, documents and released leases; the other picks it up, and neither answers the other", async () => {
  const { room, ada, agentToken } = await setUp("agent-handoff");
  const researcher = await Agent.join({ url: edge.ws, room, name: "Researcher", token: agentToken("Researcher"), model: model() });
  const reviewer = await Agent.join({ url: edge.ws, room, name: "Reviewer", token: agentToken("Reviewer") });
  try {
    ada.docs.ensure("Findings", "findings");
    ada.docs.setText("findings", "Churn rose 4% in March.\n");
    const decision = ada.context.propose({ kind: "decision", text: "Churn findings go to the board on Monday", tags: ["churn"], refs: ["doc:findings"] });
    ada.context.accept(decision);
    ada.context.ask("Do we include April?");
    await ada.whenSaved();
    llm.state.script = [
      { tools: [{ name: "edit_document", args: { id: "findings", find: "March.", replace: "March (driven by pricing)." } }] },
      { tools: [{ name: "handoff", args: { to: "Reviewer", note: "Please review the churn findings." } }] },
      // The handoff asks the model for its summary of where things stand.
      { words: ["- Churn rose 4%, ", "driven by pricing."] },
      { words: ["Handed to Reviewer."] },
    ];
    ada.chat.post("main", "@Researcher look into churn, then hand it to review");
    const handoff = await waitFor(() => ada.context.events().find((e) => e.kind === "handoff"), { timeout: 20_000, what: "the handoff" });
    assert.equal(handoff.to, "agent-reviewer");
    assert.equal(handoff.author.id, "agent-researcher");
    assert.match(handoff.text, /^Please review the churn findings\./);
    assert.match(handoff.text, /Summary:\n- Churn rose 4%, driven by pricing\./);
    assert.ok(llm.state.requests.some((r) => JSON.stringify(r.body.messages).includes("Write a handoff summary")), "the model was asked for it");
    assert.match(handoff.text, /Open questions:\n- Do we include April\?/);
    assert.match(handoff.text, /\(decision\) Churn findings go to the board on Monday/);
    assert.match(handoff.text, /Documents: findings/);
    assert.match(handoff.text, /Leases released: doc:findings/);
    assert.match(handoff.text, /Conversation: main/);
    assert.deepEqual((await ada.request("lock.list")).leases, [], "the researcher's lease was released with the handoff");

    // The reviewer (on the offline model) picks it up in the conversation the packet names.
    const picked = await waitFor(() => ada.chat.messages("main").find((m) => m.author.name === "Reviewer" && m.status === "done"), {
      timeout: 20_000,
      what: "the reviewer's turn",
    });
    assert.ok(picked.text.startsWith(OFFLINE_LABEL), picked.text);
    const activities = (await ada.request("activity.list")).activities;
    assert.ok(activities.some((a) => a.agent === "agent-reviewer" && a.kind === "task_assigned" && a.summary === "handoff from Researcher"));

    // Neither answers the other: a later mention of the reviewer is the marker that both
    // have read past each other's messages, and the researcher answered only Ada.
    ada.chat.post("main", "@Reviewer anything else on churn?");
    await waitFor(() => ada.chat.messages("main").filter((m) => m.author.name === "Reviewer" && m.status === "done").length === 2, {
      timeout: 20_000,
      what: "the reviewer's second answer",
    });
    assert.deepEqual(
      ada.chat.messages("main").filter((m) => m.author.name === "Researcher").map((m) => m.text),
      ["Handed to Reviewer."],
    );
    assert.equal(llm.state.script.length, 0, "the researcher's model was asked exactly four times");
  } finally {
    llm.state.script = [];
    await researcher.leave();
    await reviewer.leave();
    ada.destroy();
  }
});

test("the offline model answers from the room's context and documents, labelled in presence and in every message; confab agent runs on it with no endpoint set", async () => {
  const { room, ada, agentToken } = await setUp("agent-offline");
  ada.docs.ensure("Plan", "plan");
  ada.docs.setText("plan", "The budget is 2M for the pilot.\nHiring waits until June.\n");
  const entry = ada.context.propose({ kind: "decision", text: "We launch on Friday after the demo.", tags: ["launch"], refs: ["doc:plan"] });
  ada.context.accept(entry);
  await ada.whenSaved();
  const child = spawn(process.execPath, [path.join(ROOT, "npm/bin/confab.mjs"), "agent", "--url", edge.ws, "--room", room, "--name", "Scout", "--token", agentToken("Scout")], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, OPENAI_BASE_URL: "", CONFAB_AGENT_MODEL: "" },
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  try {
    await waitFor(() => log.includes("answering @Scout with the offline model"), { timeout: 20_000, what: "the agent to join" });
    const status = await waitFor(() => ada.presence.peers().find((p) => p.state.user?.name === "Scout")?.state.agent, { what: "its status" });
    assert.equal(status.offline, true);
    assert.equal(status.model, "confab-offline-extractive");

    ada.chat.post("main", "@Scout when do we launch?");
    const answer = await waitFor(() => ada.chat.messages("main").find((m) => m.author.name === "Scout" && m.status === "done"), {
      timeout: 20_000,
      what: "the offline answer",
    });
    assert.equal(answer.text, `${OFFLINE_LABEL} From what this room already has:\n- We launch on Friday after the demo. (shared context, decision)`);

    // A question in the shared context that mentions it is answered there, from the
    // document the context refers to.
    const q = ada.context.ask("@Scout what is the budget?");
    const answered = await waitFor(() => ada.context.events().find((e) => e.id === q && e.answer), { timeout: 20_000, what: "the question answered" });
    assert.match(answered.answer, /^\[offline model\] .*The budget is 2M for the pilot\. \(document plan\)/s);
  } finally {
    const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0, log);
    ada.destroy();
  }
});

test("the AI features: a conflict's merge proposed by one agent and accepted, suggestions and insights from tool calls, model-written summaries with the offline fallback", async () => {
  const { room, ada, agentToken } = await setUp("agent-ai");
  const bob = await openConfab(edge.ws, room, { id: "bob", name: "Bob" }, { token: mintToken(DEV_SECRET, { room, sub: "bob", name: "Bob", role: "editor" }) });
  const helper = await Agent.join({ url: edge.ws, room, name: "Helper", token: agentToken("Helper"), model: model() });
  const scout = await Agent.join({ url: edge.ws, room, name: "Scout", token: agentToken("Scout") });
  try {
    ada.docs.ensure("Plan", "plan");
    ada.docs.setText("plan", "Budget: 10k.");
    await waitFor(() => bob.docs.list().length === 1 && bob.docs.text("plan") === "Budget: 10k.", { what: "Bob to see the plan" });
    // Ada and Bob change the figure apart: a conflict, and Ada asks an agent.
    ada.disconnect();
    bob.disconnect();
    ada.docs.replaceRange("plan", 8, 3, "12k");
    bob.docs.replaceRange("plan", 8, 3, "15k");
    ada.connect();
    bob.connect();
    const conflict = await waitFor(() => ada.conflicts.list().find((c) => c.kind === "text" && c.sides.length === 2), { what: "the conflict at Ada" });
    await waitFor(() => helper.room.conflicts.list().some((c) => c.id === conflict.id) && scout.room.conflicts.list().some((c) => c.id === conflict.id), {
      what: "both agents to see it",
    });
    const merged = ada.docs.text("plan");
    llm.state.script = [{ words: ["MERGED: 12–15k\n", "RATIONALE: Ada and Bob gave different estimates; a range keeps both until the quote arrives."] }];
    ada.conflicts.resolve(conflict.id, "agent");
    const proposed = await waitFor(() => ada.conflicts.list().find((c) => c.id === conflict.id && c.status === "proposed"), { timeout: 20_000, what: "a proposed merge" });
    assert.equal(ada.docs.text("plan"), merged, "held: nothing changed yet");
    // Exactly one agent answered (the one that took the conflict's lease).
    const by = /** @type {NonNullable<typeof proposed.proposal>} */ (proposed.proposal).by.id;
    assert.ok(by === "agent-helper" || by === "agent-scout", by);
    if (by === "agent-helper") {
      assert.equal(proposed.proposal?.text, "12–15k");
      assert.equal(proposed.proposal?.rationale, "Ada and Bob gave different estimates; a range keeps both until the quote arrives.");
    } else {
      assert.match(proposed.proposal?.rationale ?? "", /^\[offline model\] Both versions are kept side by side/);
    }
    const text = proposed.proposal?.text ?? "";
    ada.conflicts.acceptProposal(conflict.id);
    await waitFor(() => bob.conflicts.list().find((c) => c.id === conflict.id)?.status === "resolved", { what: "the resolution at Bob" });
    assert.equal(bob.docs.text("plan"), `Budget: ${text}.`);
    assert.equal(bob.conflicts.list().find((c) => c.id === conflict.id)?.resolution?.choice, "proposal");
    llm.state.script = [];

    // The model suggests a change and raises a risk through the room's tools.
    const plan = ada.docs.text("plan");
    llm.state.script = [
      { tools: [{ name: "suggest_edit", args: { id: "plan", text: `${plan}\nContingency: 2k.`, note: "Estimates this far apart need a buffer." } }] },
      { tools: [{ name: "raise_insight", args: { text: "Risk: the estimates differ by 25%." } }] },
      { words: ["I suggested a buffer and flagged the risk."] },
    ];
    ada.chat.post("main", "@Helper review the plan");
    const suggestion = await waitFor(() => ada.conflicts.list().find((c) => c.kind === "suggestion"), { timeout: 20_000, what: "the suggestion" });
    assert.deepEqual([suggestion.held, suggestion.proposal?.by.id, suggestion.proposal?.rationale], [true, "agent-helper", "Estimates this far apart need a buffer."]);
    const insight = await waitFor(() => ada.context.events().find((e) => e.kind === "insight"), { timeout: 20_000, what: "the insight" });
    assert.deepEqual([insight.text, insight.author.id], ["Risk: the estimates differ by 25%.", "agent-helper"]);
    assert.equal(ada.docs.text("plan"), plan, "the suggestion waits for review");
    ada.conflicts.acceptHeld(suggestion.id);
    await waitFor(() => bob.docs.text("plan") === `${plan}\nContingency: 2k.`, { what: "the accepted suggestion at Bob" });
    await waitFor(() => ada.chat.messages("main").some((m) => m.author.name === "Helper" && m.status === "done"), { timeout: 20_000, what: "the answer" });

    // Summaries: the model's, and the room's own words offline.
    ada.chat.post("main", "Let us split the vendor question off.");
    const last = ada.chat.messages("main").at(-1);
    const branch = ada.chat.fork("main", /** @type {NonNullable<typeof last>} */ (last).id, "Vendors");
    ada.chat.post(branch, "Vendor A quoted 14k.");
    // The branch lists main's messages up to the fork, so wait for Ada's post itself
    // (its own update, after the fork's).
    await waitFor(() => [helper, scout].every((a) => a.room.chat.messages(branch).some((m) => m.text === "Vendor A quoted 14k.")), {
      what: "Ada's post in the branch at the agents",
    });
    llm.state.script = [{ words: ["SUMMARY: Vendor A quoted 14k, inside the range.\nFINDINGS:\n- Vendor A: 14k\nRECOMMENDATIONS:\n- Ask Vendor B by Friday"] }];
    assert.deepEqual(await helper.summarizeBranch(branch), {
      summary: "Vendor A quoted 14k, inside the range.",
      keyFindings: ["Vendor A: 14k"],
      recommendations: ["Ask Vendor B by Friday"],
    });
    const offline = await scout.summarizeBranch(branch);
    assert.match(offline.summary, /^Vendors: \d+ messages from Ada, Helper\.$/);
    assert.deepEqual(offline.keyFindings?.at(-1), "Ada: Vendor A quoted 14k.");
    llm.state.script = [{ words: ["- The budget is a 12–15k range.\n- Vendor B is open."] }];
    assert.equal(await helper.summarize("day"), "- The budget is a 12–15k range.\n- Vendor B is open.");
    assert.match(JSON.stringify(llm.state.requests.at(-1).body.messages), /end-of-day summary/);
    assert.equal(await scout.summarize("day"), scout.room.context.handoffMarkdown(), "offline: the room's deterministic summary");
  } finally {
    llm.state.script = [];
    await helper.leave();
    await scout.leave();
    bob.destroy();
    ada.destroy();
  }
});

test("code review: the model reads a file's changes since a version and comments on the ranges it means", async () => {
  const { room, ada, agentToken } = await setUp("agent-review");
  const agent = await Agent.join({ url: edge.ws, room, name: "Reviewer", token: agentToken("Reviewer"), model: model() });
  try {
    const file = await ada.files.write("src/api.ts", "export function total(xs: number[]) {\n  return xs.reduce((a, b) => a + b, 0);\n}\n");
    await waitFor(() => ada.docs.text(file.doc ?? "").length > 0, { what: "the file's text" });
    ada.history.createVersion("v1");
    // Ada's change after v1: a cache nobody clears.
    const doc = file.doc ?? "";
    const at = ada.docs.text(doc).indexOf("  return");
    ada.docs.insert(doc, at, "  cache.set(xs, 0);\n");
    await ada.whenSaved();
    await waitFor(() => agent.room.docs.text(doc).includes("cache.set"), { what: "the change at the reviewer" });

    llm.state.script = [
      { tools: [{ name: "file_changes", args: { path: "src/api.ts", since: "v1" } }] },
      { tools: [{ name: "add_comment", args: { path: "src/api.ts", quote: "cache.set(xs, 0);", text: "This cache is never cleared: stale totals after an edit." } }] },
      { words: ["One comment on src/api.ts."] },
    ];
    ada.chat.post("main", "@Reviewer review src/api.ts since v1");
    const comment = await waitFor(() => ada.comments.list()[0], { timeout: 20_000, what: "the review comment" });
    assert.deepEqual(
      [comment.author.id, comment.anchor.document, comment.anchor.quote, comment.text],
      ["agent-reviewer", doc, "cache.set(xs, 0);", "This cache is never cleared: stale totals after an edit."],
    );
    assert.equal(ada.docs.text(doc).slice(comment.anchor.start ?? 0, comment.anchor.end ?? 0), "cache.set(xs, 0);");
    await waitFor(() => ada.chat.messages("main").some((m) => m.author.name === "Reviewer" && m.status === "done"), { timeout: 20_000, what: "the answer" });
    // What the model was shown: the one inserted line, where it is now, and who wrote it.
    const changes = llm.state.requests.flatMap(toolResults).find((r) => r.includes('"changes"'));
    assert.ok(changes, "the model was sent the file's changes");
    assert.deepEqual(JSON.parse(changes).changes, [{ change: "inserted", text: "  cache.set(xs, 0);\n", start: at, end: at + 20, author: "Ada" }]);
  } finally {
    await agent.leave();
    ada.destroy();
  }
});
