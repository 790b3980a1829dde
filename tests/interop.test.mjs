// A stock Yjs + y-websocket client and a Confab client in one room, on the real edge.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { openConfab, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

function stockClient(room, name) {
  const ydoc = new Y.Doc();
  const provider = new WebsocketProvider(edge.ws, room, ydoc, { WebSocketPolyfill: /** @type {any} */ (WebSocket) });
  provider.awareness.setLocalStateField("user", { name, color: "#30bced" });
  return { ydoc, provider };
}

test("stock y-websocket and Confab co-edit, converge and see each other's presence", async () => {
  const room = uniqueRoom("interop");
  const confab = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
  const { ydoc, provider } = stockClient(room, "Yjs user");
  try {
    await waitFor(() => provider.synced, { what: "the stock client to sync" });
    confab.presence.set({ status: "active" });
    confab.docs.ensure("Notes", "notes");
    confab.docs.insert("notes", 0, "from confab");

    // Confab's documents are plain Yjs types a stock client can read and edit.
    const ytext = ydoc.getText("doc:notes");
    await waitFor(() => ytext.toString() === "from confab", { what: "Yjs to see Confab's text" });
    ytext.insert(0, "yjs: ");
    await waitFor(() => confab.docs.text("notes") === "yjs: from confab", { what: "Confab to see Yjs's edit" });

    // Concurrent edits from both converge.
    ytext.insert(ytext.length, " [y]");
    confab.docs.insert("notes", 0, "[c] ");
    await waitFor(() => confab.docs.text("notes") === ytext.toString() && ytext.toString() === "[c] yjs: from confab [y]", {
      what: "convergence after concurrent edits",
    });

    // Messages posted through Confab are readable as Yjs maps.
    confab.chat.ensureConversation("Main", "main");
    confab.chat.post("main", "hello Yjs");
    await waitFor(() => [...ydoc.getMap("messages").values()].some((m) => m.get("text")?.toString() === "hello Yjs"), {
      what: "Yjs to see Confab's message",
    });

    // Presence both ways.
    const stockNames = () =>
      [...provider.awareness.getStates().values()].map((s) => s.user?.name).filter(Boolean).sort().join(",");
    const confabNames = () => confab.presence.peers().map((p) => p.state.user?.name).sort().join(",");
    await waitFor(() => stockNames() === "Ada,Yjs user", { what: "Yjs to see Confab's presence" });
    await waitFor(() => confabNames() === "Ada,Yjs user", { what: "Confab to see Yjs's presence" });

    // The stock client leaving removes its presence for Confab.
    provider.destroy();
    await waitFor(() => confabNames() === "Ada", { what: "the stock client's presence to go" });
  } finally {
    provider.destroy();
    ydoc.destroy();
    confab.destroy();
  }
});

test("the room stays schema-agnostic: any Yjs type is stored and relayed", async () => {
  const room = uniqueRoom("agnostic");
  const one = stockClient(room, "one");
  const two = stockClient(room, "two");
  try {
    await waitFor(() => one.provider.synced && two.provider.synced, { what: "both to sync" });
    const arr = one.ydoc.getArray("anything");
    arr.push([1, "two", { three: 3 }]);
    one.ydoc.getXmlFragment("prosemirror").insert(0, [new Y.XmlElement("paragraph")]);
    // Two transactions, so two updates: wait for the later one too.
    await waitFor(() => two.ydoc.getArray("anything").length === 3 && two.ydoc.getXmlFragment("prosemirror").length === 1, {
      what: "the array and the fragment to arrive",
    });
    assert.deepEqual(two.ydoc.getArray("anything").toJSON(), [1, "two", { three: 3 }]);
    // A late stock joiner gets it from the room's stored state.
    one.provider.destroy();
    two.provider.destroy();
    const three = stockClient(room, "three");
    await waitFor(() => three.provider.synced && three.ydoc.getArray("anything").length === 3, { what: "the late joiner" });
    three.provider.destroy();
    three.ydoc.destroy();
  } finally {
    for (const c of [one, two]) {
      c.provider.destroy();
      c.ydoc.destroy();
    }
  }
});
