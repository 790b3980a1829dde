// The Yjs bridge (`confab-rooms/yjs`) against the real edge under workerd, with stock
// Yjs and y-protocols: a `Y.Doc` kept in step with the room both ways, edits through it
// attributed to the person and seen by conflict detection, presence mirrored both ways
// through a y-protocols Awareness, and a read-only role's edit refused with a code.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as Y from "yjs";
import { YjsBridge } from "confab-rooms/yjs";
import { DEV_SECRET, mintToken, openConfab, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

/** Two people in one room, each with a bridge, and a document "notes". */
async function pair(label, text = "") {
  const room = uniqueRoom(label);
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  ada.docs.ensure("Notes", "notes");
  if (text) ada.docs.setText("notes", text);
  const bob = await openConfab(edge.ws, room, { id: "bob", name: "Bob" });
  await waitFor(() => bob.docs.list().some((d) => d.id === "notes") && bob.docs.text("notes") === text, { what: "the document at Bob" });
  const a = new YjsBridge(ada);
  const b = new YjsBridge(bob);
  return {
    ada, bob, a, b,
    close() {
      a.destroy();
      b.destroy();
      ada.destroy();
      bob.destroy();
    },
  };
}

test("edits flow both ways: a binding's Y.Text edit reaches the other page and the room API, and API edits reach the Y.Text", async () => {
  const { ada, bob, a, b, close } = await pair("yjs-both-ways", "hello");
  try {
    assert.equal(a.text("notes").toString(), "hello", "the replica starts from the room");
    a.text("notes").insert(5, " world");
    assert.equal(ada.docs.text("notes"), "hello world", "the room has the edit at once");
    await waitFor(() => b.text("notes").toString() === "hello world", { what: "Ada's edit in Bob's Y.Text" });
    assert.equal(bob.docs.text("notes"), "hello world");

    bob.docs.insert("notes", 0, ">> ");
    await waitFor(() => a.text("notes").toString() === ">> hello world", { what: "Bob's API edit in Ada's Y.Text" });
    assert.equal(b.text("notes").toString(), ">> hello world", "an API edit reaches its own page's replica too");

    // A burst from both sides at once converges everywhere.
    for (let i = 0; i < 20; i++) {
      a.text("notes").insert(0, "a");
      b.text("notes").insert(b.text("notes").length, "b");
    }
    await waitFor(() => ada.docs.text("notes") === bob.docs.text("notes") && ada.docs.text("notes").length === 54, { what: "both bursts everywhere" });
    assert.equal(a.text("notes").toString(), ada.docs.text("notes"));
    assert.equal(b.text("notes").toString(), bob.docs.text("notes"));
    assert.throws(() => a.text("missing"), { code: "not_found", message: /unknown document `missing`/ });

    // A version restored through the API (a change built from the room's own record)
    // reaches the replicas too, and nothing waits in them for a missing dependency.
    const version = ada.history.createVersion("before");
    a.text("notes").delete(0, a.text("notes").length);
    a.text("notes").insert(0, "rewritten");
    await waitFor(() => b.text("notes").toString() === "rewritten", { what: "the rewrite at Bob" });
    ada.history.restore(version);
    await waitFor(() => b.text("notes").toString() === ada.docs.text("notes") && a.text("notes").toString() === ada.docs.text("notes"), { what: "the restore in both replicas" });
    assert.equal(ada.docs.text("notes").length, 54);
    for (const bridge of [a, b]) assert.equal(bridge.doc.store.pendingStructs, null, "no update is waiting for a missing one");
  } finally {
    close();
  }
});

test("an edit through the bridge is the person's own: blame names them, and it is stored", async () => {
  const { ada, bob, a, close } = await pair("yjs-blame", "plan: ");
  try {
    a.text("notes").insert(6, "ship it");
    await ada.whenSaved(10_000);
    await waitFor(() => bob.docs.text("notes") === "plan: ship it", { what: "the edit at Bob" });
    for (const room of [ada, bob]) {
      const spans = room.history.blame("notes");
      const shipped = spans.find((s) => s.text.includes("ship it"));
      assert.equal(shipped?.author?.id, "ada", `blame at ${room === ada ? "Ada" : "Bob"}: ${JSON.stringify(spans)}`);
      assert.equal(shipped?.client, a.doc.clientID, "written under the bridge's client id");
    }
  } finally {
    close();
  }
});

test("offline edits through each side's bridge meet as a conflict with both authors", async () => {
  const { ada, bob, a, b, close } = await pair("yjs-conflict", "price: 10 EUR");
  try {
    ada.disconnect();
    bob.disconnect();
    const set = (bridge, value) => {
      const text = bridge.text("notes");
      bridge.doc.transact(() => {
        text.delete(7, 2);
        text.insert(7, value);
      });
    };
    set(a, "12");
    set(b, "15");
    ada.connect();
    bob.connect();
    for (const [who, room] of /** @type {const} */ ([["Ada", ada], ["Bob", bob]])) {
      await waitFor(() => room.conflicts.list().length === 1, { what: `the conflict at ${who}`, timeout: 15_000 });
      const sides = room.conflicts.list()[0].sides.map((s) => `${s.author?.id}:${s.inserted}`).sort();
      assert.deepEqual(sides, ["ada:12", "bob:15"]);
    }
    await waitFor(() => a.text("notes").toString() === b.text("notes").toString() && a.text("notes").toString() === ada.docs.text("notes"), { what: "both replicas to converge" });
  } finally {
    close();
  }
});

test("presence both ways: an editor's cursor in awareness reaches the other bridge and Confab presence, and a Confab cursor shows in awareness", async () => {
  const { ada, bob, a, b, close } = await pair("yjs-awareness", "0123456789");
  try {
    const text = a.text("notes");
    a.awareness.setLocalStateField("cursor", {
      anchor: Y.createRelativePositionFromTypeIndex(text, 2),
      head: Y.createRelativePositionFromTypeIndex(text, 5),
    });
    const adaAt = () => [...b.awareness.getStates()].find(([, s]) => s.user?.name === "Ada" && s.cursor);
    await waitFor(adaAt, { what: "Ada's cursor in Bob's awareness" });
    const [, state] = adaAt();
    const at = (p) => Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(p), b.doc)?.index;
    assert.deepEqual([at(state.cursor.anchor), at(state.cursor.head)], [2, 5]);
    assert.match(state.user.color, /^#[0-9a-f]{6}$/);
    await waitFor(() => bob.presence.list().some((p) => p.user.id === "ada" && p.cursor?.anchor === 2 && p.cursor?.head === 5), { what: "Ada's cursor in Bob's Confab presence" });

    // The other way: a Confab cursor set through the API (no bridge state) shows too.
    b.destroy();
    bob.presence.setCursor("notes", 7, 7);
    const bobAt = () => [...a.awareness.getStates()].find(([, s]) => s.user?.name === "Bob" && s.cursor);
    await waitFor(() => {
      const found = bobAt();
      return found && at2(found[1].cursor.head) === 7;
    }, { what: "Bob's API cursor in Ada's awareness" });
    function at2(p) {
      return Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(p), a.doc)?.index;
    }

    // Bob leaves: his state goes from Ada's awareness.
    bob.disconnect();
    await waitFor(() => !bobAt(), { what: "Bob gone from Ada's awareness" });
  } finally {
    close();
  }
});

test("a viewer's bridge refuses the editor's change with read_only and the room keeps its text", async () => {
  const room = uniqueRoom("yjs-viewer");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" }, { token: mintToken(DEV_SECRET, { room, sub: "ada", role: "owner" }) });
  ada.docs.ensure("Notes", "notes");
  ada.docs.setText("notes", "read me");
  const vic = await openConfab(edge.ws, room, { id: "vic", name: "Vic" }, { token: mintToken(DEV_SECRET, { room, sub: "vic", role: "viewer" }) });
  await waitFor(() => vic.docs.list().some((d) => d.id === "notes") && vic.docs.text("notes") === "read me", { what: "the document at Vic" });
  const errors = [];
  const bridge = new YjsBridge(vic, { onError: (e) => errors.push(e) });
  try {
    bridge.text("notes").insert(0, "X");
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, "read_only");
    assert.match(errors[0].message, /read-only for you/);
    assert.equal(vic.docs.text("notes"), "read me", "the room's text is untouched");
    ada.docs.insert("notes", 0, "please ");
    await waitFor(() => vic.docs.text("notes") === "please read me", { what: "Ada's edit at Vic" });
  } finally {
    bridge.destroy();
    vic.destroy();
    ada.destroy();
  }
});

test("rich text: formatting made through the bridge travels and is kept, and concurrent edits to formatted text still conflict", async () => {
  const { ada, bob, a, b, close } = await pair("yjs-rich", "price: 10 EUR");
  try {
    a.text("notes").format(0, 5, { bold: true });
    await waitFor(() => JSON.stringify(b.text("notes").toDelta()) === JSON.stringify(a.text("notes").toDelta()), { what: "the formatting at Bob" });
    assert.deepEqual(b.text("notes").toDelta()[0], { insert: "price", attributes: { bold: true } });
    assert.equal(bob.docs.text("notes"), "price: 10 EUR", "the plain text is unchanged");

    ada.disconnect();
    bob.disconnect();
    a.text("notes").delete(7, 2);
    a.text("notes").insert(7, "12");
    b.text("notes").delete(7, 2);
    b.text("notes").insert(7, "15");
    ada.connect();
    bob.connect();
    await waitFor(() => ada.conflicts.list().length === 1 && bob.conflicts.list().length === 1, { what: "the conflict on formatted text", timeout: 15_000 });
    assert.deepEqual(ada.conflicts.list()[0].sides.map((s) => s.inserted).sort(), ["12", "15"]);
    await waitFor(() => JSON.stringify(b.text("notes").toDelta()) === JSON.stringify(a.text("notes").toDelta()), { what: "the replicas to agree" });
    assert.deepEqual(a.text("notes").toDelta()[0], { insert: "price", attributes: { bold: true } });
  } finally {
    close();
  }
});
