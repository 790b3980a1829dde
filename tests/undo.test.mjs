// Per-person undo and redo through the npm package, under workerd with real sockets:
// undo takes back only the undoer's own edits, the others' text stays, and every
// replica ends with the same text.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { YjsBridge } from "confab-rooms/yjs";
import { DEV_SECRET, api, DEV_API_KEY, mintToken, openConfab, startEdge, textOf, uniqueRoom, waitFor } from "./helpers.mjs";

/** @type {Awaited<ReturnType<typeof startEdge>>} */
let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

test("two people type, one undoes, and the other's text stays", async () => {
  const room = uniqueRoom("undo");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  const bo = await openConfab(edge.ws, room, { id: "bo", name: "Bo" });
  try {
    ada.docs.create("Notes", "notes");
    ada.docs.insert("notes", 0, "Plan: ship on Friday.");
    await waitFor(() => bo.docs.list().some((d) => d.id === "notes") && bo.docs.text("notes") === "Plan: ship on Friday.", {
      what: "Ada's line at Bo's",
    });
    // Ada's next step, after a pause longer than the capture time, on a separate line.
    ada.docs.stopCapturing("notes");
    ada.docs.insert("notes", ada.docs.text("notes").length, " Maybe Monday.");
    bo.docs.insert("notes", 0, "Bo: agreed. ");
    const both = "Bo: agreed. Plan: ship on Friday. Maybe Monday.";
    await waitFor(() => ada.docs.text("notes") === both && bo.docs.text("notes") === both, { what: "both edits everywhere" });

    // A dropped connection keeps the history: it lives in the room object.
    ada.disconnect();
    await ada.whenStatus("disconnected");
    ada.connect();
    await ada.whenSynced(10_000);
    assert.equal(ada.docs.canUndo("notes"), true);
    assert.equal(ada.docs.undo("notes")?.document, "notes");
    assert.equal(ada.docs.text("notes"), "Bo: agreed. Plan: ship on Friday.");
    await waitFor(() => bo.docs.text("notes") === "Bo: agreed. Plan: ship on Friday.", { what: "Ada's undo at Bo's" });
    // Bo's own undo history is his: his line goes, Ada's stays.
    assert.equal(bo.docs.undo("notes")?.document, "notes");
    await waitFor(() => ada.docs.text("notes") === "Plan: ship on Friday.", { what: "Bo's undo at Ada's" });

    assert.equal(ada.docs.canRedo("notes"), true);
    assert.equal(ada.docs.redo("notes")?.document, "notes");
    await waitFor(() => bo.docs.text("notes") === "Plan: ship on Friday. Maybe Monday.", { what: "Ada's redo at Bo's" });
    assert.equal(ada.docs.canRedo("notes"), false);
    await ada.whenSaved();
    await bo.whenSaved();
  } finally {
    ada.destroy();
    bo.destroy();
  }
});

test("undo and redo say when there is nothing left to do", async () => {
  const room = uniqueRoom("undo-empty");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  try {
    ada.docs.create("Notes", "notes");
    ada.docs.insert("notes", 0, "x");
    assert.equal(ada.docs.undo("notes")?.document, "notes");
    assert.equal(ada.docs.undo("notes"), null, "nothing more to undo");
    assert.equal(ada.docs.canUndo("notes"), false);
    assert.equal(ada.docs.redo("notes")?.document, "notes");
    assert.equal(ada.docs.text("notes"), "x");
  } finally {
    ada.destroy();
  }
});

test("a person reverts an agent's streamed edits across two documents in one action, and a later edit inside them is raised", async () => {
  const room = uniqueRoom("undo-turn");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  const bot = await openConfab(edge.ws, room, { id: "bot", name: "Bot" });
  try {
    ada.docs.create("Plan", "plan");
    ada.docs.insert("plan", 0, "Ship on Friday.");
    ada.docs.create("Risks", "risks");
    ada.docs.insert("risks", 0, "Risks: none.");
    ada.chat.ensureConversation("Main", "main");
    // Each call is its own update: wait for the last, the conversation, too.
    await waitFor(
      () => bot.docs.text("plan") === "Ship on Friday." && bot.docs.text("risks") === "Risks: none." && bot.chat.conversations().some((c) => c.id === "main"),
      { what: "the documents and the conversation at the agent's" },
    );
    // The agent streams an answer and edits both documents while its turn is open.
    async function* answer() {
      yield "Adding tests. ";
      bot.docs.insert("plan", bot.docs.text("plan").length, " Tests first, then docs.");
      yield "Updating risks. ";
      bot.docs.replaceRange("risks", 7, 4, "late QA");
      yield "Done.";
    }
    const turn = await bot.chat.streamTurn("main", answer());
    await waitFor(
      () => ada.docs.text("plan") === "Ship on Friday. Tests first, then docs." && ada.docs.text("risks") === "Risks: late QA.",
      { what: "the agent's edits at Ada's" },
    );

    assert.deepEqual(ada.docs.turnEdits(turn), { documents: ["plan", "risks"], revertedBy: null });
    const done = ada.docs.revertTurn(turn);
    assert.deepEqual(done, { documents: ["plan", "risks"], conflicts: [] });
    assert.equal(ada.docs.text("plan"), "Ship on Friday.");
    assert.equal(ada.docs.text("risks"), "Risks: none.");
    await waitFor(() => bot.docs.text("plan") === "Ship on Friday." && bot.docs.text("risks") === "Risks: none.", {
      what: "the revert at the agent's",
    });
    assert.equal(ada.docs.turnEdits(turn).revertedBy, "Ada");
    // Once only: the agent's replica knows it was reverted, and by whom.
    assert.throws(() => bot.docs.revertTurn(turn), (/** @type {any} */ err) => err.code === "already_resolved" && /Ada/.test(err.message));
    // The revert is Ada's own step: she can take it back, and make it again.
    assert.ok(ada.docs.undo("plan"));
    assert.equal(ada.docs.text("plan"), "Ship on Friday. Tests first, then docs.");
    assert.ok(ada.docs.redo("plan"));
    assert.equal(ada.docs.text("plan"), "Ship on Friday.");

    // A second turn; Ada then changes words inside the agent's sentence. Reverting it
    // leaves that sentence as it is and raises it as a suggestion with both sides.
    async function* second() {
      yield "One more line. ";
      bot.docs.insert("plan", bot.docs.text("plan").length, " Tests first, then docs.");
      yield "Done.";
    }
    await waitFor(() => bot.docs.text("plan") === "Ship on Friday.", { what: "Ada's redo at the agent's" });
    const turn2 = await bot.chat.streamTurn("main", second());
    await waitFor(() => ada.docs.text("plan") === "Ship on Friday. Tests first, then docs.", { what: "the second turn at Ada's" });
    const at = ada.docs.text("plan").indexOf("then");
    ada.docs.replaceRange("plan", at, 4, "and then");
    const raisedDone = ada.docs.revertTurn(turn2);
    assert.equal(raisedDone.conflicts.length, 1);
    assert.equal(ada.docs.text("plan"), "Ship on Friday. Tests first, and then docs.");
    const raised = await waitFor(() => bot.conflicts.list().find((c) => c.id === raisedDone.conflicts[0]), {
      what: "the suggestion at the agent's",
    });
    assert.equal(raised.doc, "plan");
    assert.equal(raised.sides.length, 2);
    assert.equal(raised.proposal?.text, "and then");
    await ada.whenSaved();
  } finally {
    ada.destroy();
    bot.destroy();
  }
});

test("reverting a turn that wrote nothing throws not_found", async () => {
  const room = uniqueRoom("undo-none");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  try {
    assert.throws(() => ada.docs.revertTurn("no-such-turn"), (/** @type {any} */ err) => err.code === "not_found" && /no-such-turn/.test(err.message));
  } finally {
    ada.destroy();
  }
});

test("edits made through the Yjs bridge are undone by the room's undo, and the caret comes back", async () => {
  const room = uniqueRoom("undo-bridge");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  const bo = await openConfab(edge.ws, room, { id: "bo", name: "Bo" });
  const bridge = new YjsBridge(ada);
  try {
    ada.docs.create("Notes", "notes");
    await waitFor(() => bo.docs.list().some((d) => d.id === "notes"), { what: "the notes at Bo's" });
    bo.docs.insert("notes", 0, "Bo: hello.");
    const notes = bridge.text("notes");
    await waitFor(() => notes.toString() === "Bo: hello.", { what: "Bo's text in Ada's Y.Doc" });
    // Ada's editor (stock Yjs) types at the end, her caret there as the bridge says it.
    ada.presence.setCursor("notes", 10);
    notes.insert(10, " Ada: hi.");
    // Bo writes at the start meanwhile.
    await waitFor(() => bo.docs.text("notes") === "Bo: hello. Ada: hi.", { what: "Ada's typing at Bo's" });
    bo.docs.insert("notes", 0, "> ");
    await waitFor(() => notes.toString() === "> Bo: hello. Ada: hi.", { what: "Bo's edit in Ada's Y.Doc" });

    const undone = ada.docs.undo("notes");
    assert.deepEqual(undone, { document: "notes", selection: { anchor: 12, head: 12 } }, "the caret where Ada began, moved by Bo's edit");
    assert.equal(notes.toString(), "> Bo: hello.", "the Y.Doc follows at once");
    await waitFor(() => bo.docs.text("notes") === "> Bo: hello.", { what: "Ada's undo at Bo's" });
    assert.equal(ada.docs.canUndo("notes"), false, "one step: the bridge's typing only");
    assert.ok(ada.docs.redo("notes"));
    assert.equal(notes.toString(), "> Bo: hello. Ada: hi.");
    await ada.whenSaved();
  } finally {
    bridge.destroy();
    ada.destroy();
    bo.destroy();
  }
});

test("an undo is an edit like any other: a document that requires a lease refuses it, and a write from a base it changed is held", async () => {
  const room = uniqueRoom("undo-rules");
  const token = (sub, role) => ({ token: mintToken(DEV_SECRET, { room, sub, name: sub, role }) });
  const owner = await openConfab(edge.ws, room, { id: "o", name: "O" }, token("o", "owner"));
  const ed = await openConfab(edge.ws, room, { id: "e", name: "E" }, token("e", "editor"));
  const bot = await openConfab(edge.ws, room, { id: "bot", name: "Bot", kind: "agent" }, token("bot", "editor"));
  /** @type {any[]} */
  const closes = [];
  ed.on("status", (e) => e.code && closes.push(e));
  try {
    owner.docs.ensure("Plan", "plan");
    owner.docs.insert("plan", 0, "Budget: 10k.");
    await waitFor(() => textOf(ed, "plan") === "Budget: 10k.", { what: "the plan at the editor's" });
    ed.docs.replaceRange("plan", 8, 3, "12k");
    await waitFor(() => textOf(bot, "plan") === "Budget: 12k.", { what: "the editor's change at the agent's" });

    // The agent reads the plan; the editor's undo changes it; the agent's write from
    // the old base is held, as after any edit.
    const read = bot.docs.read("plan");
    assert.ok(ed.docs.undo("plan"));
    await waitFor(() => textOf(bot, "plan") === "Budget: 10k.", { what: "the undo at the agent's" });
    const write = bot.docs.writeBased("plan", 0, read.text.length, "Budget: 13k.", read.base);
    assert.equal(write.applied, false);
    const held = await waitFor(() => owner.conflicts.list().find((c) => c.id === write.conflict), { what: "the held write at the owner's" });
    assert.deepEqual([held.kind, held.held, held.current], ["stale", true, "Budget: 10k."]);
    await ed.whenSaved();

    // Writes now need a lease: the editor's redo, made without one, is refused.
    await owner.request("lock.policy", { document: "plan", policy: "refuse" });
    assert.ok(ed.docs.redo("plan"));
    await waitFor(() => closes.length > 0, { what: "the redo to be refused" });
    assert.equal(closes[0].code, 1008);
    assert.match(closes[0].reason, /requires a lease/);
    const stored = await api(edge.http, "GET", `/rooms/${room}/documents/plan`, { token: DEV_API_KEY });
    assert.equal(stored.json.text, "Budget: 10k.");
    // A viewer's undo is refused like any write of theirs.
    const viewer = await openConfab(edge.ws, room, { id: "v", name: "V" }, token("v", "viewer"));
    try {
      assert.throws(() => viewer.docs.undo("plan"), (/** @type {any} */ err) => err.code === "read_only");
    } finally {
      viewer.destroy();
    }
  } finally {
    owner.destroy();
    ed.destroy();
    bot.destroy();
  }
});
