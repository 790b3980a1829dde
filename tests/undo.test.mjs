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
