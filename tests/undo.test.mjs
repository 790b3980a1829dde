// Per-person undo and redo through the npm package, under workerd with real sockets:
// undo takes back only the undoer's own edits, the others' text stays, and every
// replica ends with the same text.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { openConfab, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

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

    assert.equal(ada.docs.canUndo("notes"), true);
    assert.equal(ada.docs.undo("notes"), true);
    assert.equal(ada.docs.text("notes"), "Bo: agreed. Plan: ship on Friday.");
    await waitFor(() => bo.docs.text("notes") === "Bo: agreed. Plan: ship on Friday.", { what: "Ada's undo at Bo's" });
    // Bo's own undo history is his: his line goes, Ada's stays.
    assert.equal(bo.docs.undo("notes"), true);
    await waitFor(() => ada.docs.text("notes") === "Plan: ship on Friday.", { what: "Bo's undo at Ada's" });

    assert.equal(ada.docs.canRedo("notes"), true);
    assert.equal(ada.docs.redo("notes"), true);
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
    assert.equal(ada.docs.undo("notes"), true);
    assert.equal(ada.docs.undo("notes"), false, "nothing more to undo");
    assert.equal(ada.docs.canUndo("notes"), false);
    assert.equal(ada.docs.redo("notes"), true);
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
    await waitFor(() => bot.docs.text("plan") === "Ship on Friday." && bot.docs.text("risks") === "Risks: none.", {
      what: "the documents at the agent's",
    });
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

    const done = ada.docs.revertTurn(turn);
    assert.deepEqual(done, { documents: ["plan", "risks"], conflicts: [] });
    assert.equal(ada.docs.text("plan"), "Ship on Friday.");
    assert.equal(ada.docs.text("risks"), "Risks: none.");
    await waitFor(() => bot.docs.text("plan") === "Ship on Friday." && bot.docs.text("risks") === "Risks: none.", {
      what: "the revert at the agent's",
    });
    // Once only: the agent's replica knows it was reverted, and by whom.
    assert.throws(() => bot.docs.revertTurn(turn), (/** @type {any} */ err) => err.code === "already_resolved" && /Ada/.test(err.message));
    // The revert is Ada's own step: she can take it back, and make it again.
    assert.equal(ada.docs.undo("plan"), true);
    assert.equal(ada.docs.text("plan"), "Ship on Friday. Tests first, then docs.");
    assert.equal(ada.docs.redo("plan"), true);
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
