// Import and export, against the real edge under workerd: the room's whole state as a Yjs
// v1 update that stock Yjs reads, applied into another room as a restore that every
// client there then sees, refused with a clear error when it is not an update; and the
// conversations and documents as JSON and as Markdown.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as Y from "yjs";
import { openConfab, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

/** A room with a conversation (a person and an agent's turn), a document and context. */
async function filled() {
  const room = uniqueRoom("export");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  ada.chat.ensureConversation("Main", "main");
  ada.chat.post("main", "Where are we on the launch?");
  ada.docs.ensure("Plan", "plan");
  ada.docs.setText("plan", "Launch: Friday.\nBudget: 2M, see `costs`.\n");
  ada.context.accept(ada.context.propose({ kind: "decision", text: "We launch on Friday", tags: ["launch"] }));
  const bot = await openConfab(edge.ws, room, { id: "bot", name: "Bot", kind: "agent" });
  await waitFor(() => bot.chat.messages("main").length === 1, { what: "the bot to see the question" });
  await bot.chat.streamTurn("main", (async function* () {
    yield "Friday, ";
    yield "on budget.";
  })());
  await waitFor(() => ada.chat.messages("main").length === 2 && ada.chat.messages("main")[1].status === "done", { what: "the answer at Ada" });
  bot.destroy();
  return { room, ada };
}

test("encodeState is a Yjs v1 update stock Yjs reads; applyUpdate restores it into another room for everyone there", async () => {
  const { ada } = await filled();
  try {
    const state = ada.encodeState();
    const ydoc = new Y.Doc();
    Y.applyUpdate(ydoc, state);
    assert.equal(ydoc.getText("doc:plan").toString(), "Launch: Friday.\nBudget: 2M, see `costs`.\n");

    // A restore: another room, another person, and a third who joins afterwards.
    const other = uniqueRoom("restore");
    const carl = await openConfab(edge.ws, other, { id: "carl", name: "Carl" });
    const dan = await openConfab(edge.ws, other, { id: "dan", name: "Dan" });
    try {
      carl.applyUpdate(Y.encodeStateAsUpdate(ydoc)); // through stock Yjs and back
      await carl.whenSaved();
      await waitFor(() => dan.docs.list().length === 1 && dan.chat.conversations().length === 1, { what: "the restore at Dan" });
      assert.equal(dan.docs.text("plan"), ada.docs.text("plan"));
      assert.deepEqual(
        dan.chat.messages("main").map((m) => `${m.author.name}: ${m.text} [${m.status}]`),
        ["Ada: Where are we on the launch? [done]", "Bot: Friday, on budget. [done]"],
      );
      // Applying what the room already has changes nothing, and sends nothing new.
      const before = dan.encodeState().length;
      dan.applyUpdate(carl.encodeState());
      assert.equal(dan.encodeState().length, before);
      // Not an update: refused with the reason, and nothing lost.
      assert.throws(() => carl.applyUpdate(new Uint8Array([1, 2, 3])), { code: "invalid_argument", message: /not a Yjs v1 update/ });
      carl.docs.insert("plan", 0, "Restored. ");
      await waitFor(() => dan.docs.text("plan").startsWith("Restored. Launch"), { what: "an edit after the refusal" });
    } finally {
      carl.destroy();
      dan.destroy();
    }
  } finally {
    ada.destroy();
  }
});

test("a plain Yjs app's document comes in with applyUpdate and reads with rootText; the room's own maps are not texts", async () => {
  const room = uniqueRoom("import-yjs");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  const bob = await openConfab(edge.ws, room, { id: "bob", name: "Bob" });
  try {
    // What a CodeMirror app on plain Yjs kept: its text under its own root name.
    const ydoc = new Y.Doc();
    ydoc.getText("codemirror").insert(0, "const kept = true;");
    ada.applyUpdate(Y.encodeStateAsUpdate(ydoc));
    assert.equal(ada.docs.rootText("codemirror"), "const kept = true;");
    await waitFor(() => bob.docs.rootText("codemirror") === "const kept = true;", { what: "the imported text at Bob" });
    assert.equal(ada.docs.rootText("nothing-here"), "");
    assert.throws(() => ada.docs.rootText("messages"), { code: "invalid_argument", message: /`messages` is not a text root/ });
  } finally {
    ada.destroy();
    bob.destroy();
  }
});

test("exportJSON and exportMarkdown hold the conversations, the documents and the shared context", async () => {
  const { ada } = await filled();
  try {
    const data = ada.exportJSON();
    assert.equal(data.format, "confab-room");
    assert.deepEqual(
      data.conversations.map((c) => [c.id, c.title, c.messages.map((m) => [m.author.name, m.author.kind, m.text, m.status])]),
      [["main", "Main", [["Ada", "person", "Where are we on the launch?", "done"], ["Bot", "agent", "Friday, on budget.", "done"]]]],
    );
    assert.deepEqual(data.documents, [{ id: "plan", title: "Plan", text: "Launch: Friday.\nBudget: 2M, see `costs`.\n" }]);
    assert.deepEqual(data.context.map((e) => [e.kind, e.status, e.text]), [["decision", "accepted", "We launch on Friday"]]);
    assert.deepEqual(JSON.parse(JSON.stringify(data)), data, "plain JSON");

    const md = ada.exportMarkdown("Launch room");
    assert.match(md, /^# Launch room\n/);
    assert.match(md, /\n## Main\n\n\*\*Ada\*\* · \d{4}-\d\d-\d\d \d\d:\d\d UTC\n\n> Where are we on the launch\?\n/);
    assert.match(md, /\n\*\*Bot \(agent\)\*\* · [^\n]+\n\n> Friday, on budget\.\n/);
    assert.match(md, /\n## Plan\n\n```\nLaunch: Friday\.\nBudget: 2M, see `costs`\.\n```\n/);
    assert.match(md, /\n## Shared context\n\n- \*\*decision\*\* \(accepted\): We launch on Friday\n$/);
  } finally {
    ada.destroy();
  }
});
