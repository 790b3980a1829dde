// Runs the README's examples, unchanged but for the edge's address.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { ROOT, openConfab, startEdge } from "./helpers.mjs";

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

async function runExample(code) {
  const script = path.join(ROOT, "tests", `.readme-example-${process.pid}.mjs`);
  await writeFile(script, code.replaceAll("ws://127.0.0.1:8787/rooms", edge.ws));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [script], { cwd: ROOT, timeout: 30_000 });
    return stdout;
  } finally {
    await rm(script, { force: true });
  }
}

async function readmeExample(heading) {
  const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
  const at = readme.indexOf(`## ${heading}`);
  assert.ok(at >= 0, `README has a section "${heading}"`);
  const example = readme.slice(at).match(/```js\n([\s\S]*?)```/)?.[1];
  assert.ok(example, `README's "${heading}" has a js example`);
  assert.ok(example.includes("ws://127.0.0.1:8787/rooms"), "the example targets `make dev`'s address");
  return example;
}

test("the README's embedding example runs and its edits land in the room", async () => {
  const example = await readmeExample("Embedding Confab in your app");
  const lines = example.trim().split("\n");
  assert.ok(lines.length <= 12, `the example stays short (${lines.length} lines)`);
  const stdout = await runExample(example);
  assert.match(stdout, /Ada: Hello from the README!/);

  const check = await openConfab(edge.ws, "readme", { id: "check", name: "Checker" });
  try {
    assert.equal(check.chat.messages("main").at(-1).text, "Hello from the README!");
    assert.equal(check.docs.text("notes"), "Ada was here.\n");
  } finally {
    check.destroy();
  }
});

test("the README's agent turn example streams, reacts, branches and merges", async () => {
  const stdout = await runExample(await readmeExample("Agent turns, reactions and branches"));
  assert.match(stdout, /Helper \[done\]: Streaming into the room\./);
  const check = await openConfab(edge.ws, "readme", { id: "check2", name: "Checker" });
  try {
    const msgs = check.chat.messages("main");
    const turn = msgs.find((m) => m.text === "Streaming into the room.");
    assert.equal(turn.status, "done");
    assert.deepEqual(turn.reactions.map((r) => [r.kind, r.by.id]), [["helpful", "helper"]]);
    const merge = msgs.at(-1).merge;
    assert.equal(merge.summary, "Caching helps");
    assert.deepEqual(merge.actionItems, ["Helper: add a cache"]);
    assert.equal(check.chat.branches("main")[0].title, "Try another angle");
  } finally {
    check.destroy();
  }
});

test("the README's presence, sync and context example runs", async () => {
  const stdout = await runExample(await readmeExample("Presence, sync with a teammate, shared and private context"));
  // Bob sees Ada's tabs, finds both the shared and his private entry, and the decision.
  assert.equal(stdout.trim(), "main,spec 2 Ship on Friday");
});

test("the README's history example diffs and restores a version", async () => {
  const stdout = await runExample(await readmeExample("History"));
  assert.equal(
    stdout.trim(),
    "unchanged:Ship the API on :-|deleted:Mon:Ada|inserted:Fri:Ada|unchanged:day.:- => Ship the API on Monday.",
  );
});

test("the README's undo example undoes, redoes and reverts an agent's turn", async () => {
  const stdout = await runExample(await readmeExample("Undo"));
  assert.equal(stdout.trim(), "Ship on Friday. (caret at 15) | Ship on Friday. Then rest. | plan");
});

test("the README's conflicts example finds, resolves and holds a stale write", async () => {
  const stdout = await runExample(await readmeExample("Conflicts"));
  assert.equal(
    stdout.trim(),
    "Ada:Tuesday vs Bot:Friday was Monday\nRelease the API on Tuesday. held",
  );
});

test("the README's lease example runs: a lease, an activity, a saved edit", async () => {
  const example = await readmeExample("Tokens, roles, locks and the room's record");
  const out = await runExample(example);
  assert.match(out, /^fence \d+, saved, 0 unacknowledged$/m);
  const reader = await openConfab(edge.ws, "readme-locks", { id: "r", name: "R" });
  try {
    assert.equal(reader.docs.text("notes"), "Tidied. ");
  } finally {
    reader.destroy();
  }
  const audit = await (await fetch(`${edge.http}/rooms/readme-locks/audit?limit=1000`)).json();
  const actions = audit.entries.map((e) => e.action);
  for (const a of ["lock.acquired", "activity.started", "activity.completed", "lock.released", "edit"]) {
    assert.ok(actions.includes(a), `${a} missing from ${actions}`);
  }
});

test("the README's stock Yjs example joins from Node and sees Confab's data", async () => {
  const seed = await openConfab(edge.ws, "readme", { id: "seed", name: "Seed" });
  try {
    seed.chat.ensureConversation("Stock", "stock");
    await seed.whenSaved();
  } finally {
    seed.destroy();
  }
  const stdout = await runExample(await readmeExample("A stock Yjs client"));
  assert.match(stdout, /^conversations: .*\bstock\b/m);
});

test("the README's agent SDK example: a mention answered from the shared context by the offline model", async () => {
  const stdout = await runExample(await readmeExample("Agents"));
  assert.equal(stdout.trim(), "[offline model] From what this room already has:\n- We launch on Friday. (shared context, decision)");
});

test("the README's token endpoint example: a token minted by the backend, fetched by auth, accepted by the room", async () => {
  const stdout = await runExample(await readmeExample("Tokens from your backend"));
  assert.equal(stdout.trim(), "editor Ada");
});

test("the README's import and export example: a backup stock Yjs reads, restored into another room", async () => {
  const stdout = await runExample(await readmeExample("Import and export"));
  assert.equal(stdout.trim(), "Launch on Friday. | Launch on Friday. | # Plan");
});

test("the README's spaces and inboxes example: live counts and a mention delivered", async () => {
  const stdout = await runExample(await readmeExample("Team spaces and inboxes"));
  assert.equal(stdout.trim(), "Daily standup: Ada, Bob\nAda mentioned you in readme-standup: @Bob the demo is at 3");
});

test("the README's members and shared agents example: a role, an agent, and its task posted when due", async () => {
  const stdout = await runExample(await readmeExample("Members and shared agents"));
  assert.equal(stdout.trim(), "Scout is available\n@Scout find three sources on CRDTs (scheduled by anonymous)");
});

test("the README's files example: a leased write, a refusal, an upload and a move", async () => {
  const stdout = await runExample(await readmeExample("Files"));
  assert.equal(stdout.trim(), "lock_held image/png charts charts/q3.png output output/final.md\n# Summary");
});

test("the README's search example: accents folded, a prefix, a filter by kind", async () => {
  const stdout = await runExample(await readmeExample("Search"));
  assert.equal(stdout.trim(), "1 document Launch plan 8 Ada The launch moves to Friday at the café.\nIs Friday confirmed?");
});

test("the README's comments example: a range that follows its words, a reply, a resolution", async () => {
  const stdout = await runExample(await readmeExample("Comments"));
  assert.equal(stdout.trim(), "Monday 23 Tuesday then Ada");
});

test("the README's big-audience example watches the room through a fan-out object", async () => {
  // The room has a conversation for the viewer to see.
  const writer = await openConfab(edge.ws, "readme", { id: "fan-writer", name: "Writer" });
  try {
    writer.chat.ensureConversation("Main", "main");
    await writer.whenSaved();
  } finally {
    writer.destroy();
  }
  const stdout = await runExample(await readmeExample("Big audiences"));
  assert.match(stdout, /watching: .*main/);
  const ns = await edge.mf.getDurableObjectNamespace("FANOUT");
  // `view: "eu"` → one of the room's 4 fan-out objects served the example's viewer.
  const stats = await Promise.all(
    [0, 1, 2, 3].map(async (slot) => (await ns.get(ns.idFromName(`readme#${slot}`)).fetch("https://fanout/internal/stats")).json()),
  );
  assert.deepEqual(stats.map((s) => s.served).sort(), [0, 0, 0, 1], JSON.stringify(stats));
});

