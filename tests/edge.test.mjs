// The built worker under workerd: convergence, late join, restart, bad input.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { closed, freePort, openConfab, textOf, rawSocket, startEdge, tempDir, uniqueRoom, waitFor } from "./helpers.mjs";

describe("edge under workerd", () => {
  let edge;

  /** Ada and Bob in a fresh room, synced; both leave when `body` is done. */
  async function withAdaAndBob(label, body) {
    const room = uniqueRoom(label);
    const a = await openConfab(edge.ws, room, { id: "a", name: "Ada" });
    const b = await openConfab(edge.ws, room, { id: "b", name: "Bob" });
    try {
      await body(a, b, room);
    } finally {
      a.destroy();
      b.destroy();
    }
  }

  before(async () => {
    edge = await startEdge();
  });
  after(async () => {
    await edge?.stop();
  });

  test("health answers JSON and unknown routes are JSON errors", async () => {
    const health = await fetch(`${edge.http}/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).ok, true);
    const missing = await fetch(`${edge.http}/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), {
      error: { code: "not_found", message: "no route for GET /nope" },
    });
    // Without an upgrade the room's URL answers its summary (the REST API).
    const summary = await fetch(`${edge.http}/rooms/abc`);
    assert.equal(summary.status, 200);
    assert.deepEqual((await summary.json()).documents, []);
    const wrongMethod = await fetch(`${edge.http}/rooms/abc`, { method: "POST" });
    assert.equal(wrongMethod.status, 404);
  });

  test("offline replacements of one sentence: the same conflict on both clients and at the edge, resolved once", () =>
    withAdaAndBob("conflict", async (a, b, room) => {
      a.docs.ensure("Report", "report");
      a.docs.insert("report", 0, "Revenue was $2.0B last year.");
      await waitFor(() => textOf(b, "report") === "Revenue was $2.0B last year.", { what: "b to see the report" });
      const notices = { a: [], b: [] };
      a.on("conflict", (n) => notices.a.push(n));
      b.on("conflict", (n) => notices.b.push(n));
      a.disconnect();
      b.disconnect();
      a.docs.replaceRange("report", 12, 5, "$2.5B");
      b.docs.replaceRange("report", 12, 5, "$3.2B");
      a.connect();
      b.connect();
      await waitFor(() => a.conflicts.list().length === 1 && b.conflicts.list().length === 1, { what: "both to see a conflict" });
      const [ca] = a.conflicts.list();
      const [cb] = b.conflicts.list();
      assert.equal(ca.id, cb.id, "one conflict id everywhere");
      assert.equal(ca.kind, "text");
      assert.equal(ca.before, "$2.0B");
      assert.deepEqual(
        ca.sides.map((s) => [s.author?.id, s.inserted]).sort(),
        [
          ["a", "$2.5B"],
          ["b", "$3.2B"],
        ],
      );
      const atEdge = await (await fetch(`${edge.http}/rooms/${room}/conflicts`)).json();
      assert.deepEqual(atEdge.conflicts.map((c) => c.id), [ca.id], "the edge finds the same conflict");
      await waitFor(() => notices.a.length > 0 && notices.b.length > 0, { what: "needs-input notices" });
      assert.deepEqual([notices.a[0].kind, notices.a[0].needsInput, notices.a[0].conflict.id], ["raised", true, ca.id]);
      assert.deepEqual([notices.b[0].kind, notices.b[0].needsInput], ["raised", true]);
      a.conflicts.resolve(ca.id, "theirs");
      await waitFor(() => b.conflicts.list()[0]?.status === "resolved", { what: "b to see the resolution" });
      assert.equal(b.docs.text("report"), "Revenue was $3.2B last year.");
      assert.equal(b.conflicts.list()[0].resolution.by.id, "a");
      assert.throws(() => b.conflicts.resolve(ca.id, "mine"), /already resolved/);
      await waitFor(() => notices.b.some((n) => n.kind === "resolved"), { what: "a resolved notice" });
    }));

  test("an agent is asked and answers; concurrent renames keep both titles; a stale agent write is held", () =>
    withAdaAndBob("conflict-agent", async (a, b, room) => {
      const bot = await openConfab(edge.ws, room, { id: "bot", name: "Bot", kind: "agent" });
      try {
        const asked = [];
        bot.on("conflict", (n) => n.kind === "awaiting-agent" && asked.push(n));
        a.docs.ensure("Plan", "plan");
        a.docs.insert("plan", 0, "Budget: 10k.");
        await waitFor(() => textOf(b, "plan") === "Budget: 10k." && textOf(bot, "plan") === "Budget: 10k.", {
          what: "everyone to see the plan",
        });
        a.disconnect();
        b.disconnect();
        a.docs.replaceRange("plan", 8, 3, "12k");
        b.docs.replaceRange("plan", 8, 3, "15k");
        a.docs.setTitle("plan", "Q3 plan");
        b.docs.setTitle("plan", "Annual plan");
        a.connect();
        b.connect();
        await waitFor(() => bot.conflicts.list().length === 2, { what: "the agent to see both conflicts" });
        const title = bot.conflicts.list().find((c) => c.kind === "field");
        assert.equal(title.field, "documents/plan/title");
        assert.deepEqual(title.sides.map((s) => s.inserted).sort(), ["Annual plan", "Q3 plan"], "the dropped title is kept");
        const text = bot.conflicts.list().find((c) => c.kind === "text");
        // Ada resolves what she sees: wait until Bob's side has reached her too.
        await waitFor(() => a.conflicts.list().some((c) => c.id === text.id), { what: "Ada to see the same conflict" });
        a.conflicts.resolve(text.id, "agent");
        await waitFor(() => asked.length === 1, { what: "the agent to be asked" });
        assert.equal(asked[0].needsInput, true);
        assert.equal(asked[0].conflict.askedBy.id, "a");
        assert.equal(text.current, text.current.includes("12k15k") ? "12k15k" : "15k12k", "the stretch in conflict");
        bot.conflicts.resolve(text.id, "manual", { text: "12-15k" }); // replaces that stretch
        await waitFor(() => b.conflicts.list().find((c) => c.id === text.id)?.status === "resolved", { what: "b to see the answer" });
        const done = b.conflicts.list().find((c) => c.id === text.id);
        assert.deepEqual([done.resolution.by.id, done.resolution.choice, done.askedBy.id], ["bot", "manual", "a"]);
        assert.equal(b.docs.text("plan"), "Budget: 12-15k.");

        // The agent read the plan; Bob changes it; the agent's write from the old base is held.
        const read = bot.docs.read("plan");
        b.docs.replaceRange("plan", 8, 6, "20k");
        await waitFor(() => textOf(bot, "plan") === "Budget: 20k.", { what: "the agent to see Bob's edit" });
        const write = bot.docs.writeBased("plan", 0, read.text.length, "Budget: 13k (agent estimate).", read.base);
        assert.equal(write.applied, false);
        await waitFor(() => a.conflicts.list().some((c) => c.id === write.conflict), { what: "Ada to see the held write" });
        const held = a.conflicts.list().find((c) => c.id === write.conflict);
        assert.deepEqual([held.kind, held.held, held.current], ["stale", true, "Budget: 20k."]);
        assert.throws(() => a.conflicts.acceptHeld(text.id), { name: "ConfabError", code: "not_held", message: /holds no write to accept or reject/ });
        a.conflicts.acceptHeld(held.id);
        await waitFor(() => textOf(bot, "plan") === "Budget: 13k (agent estimate).", { what: "the held write applied" });
        assert.throws(() => a.conflicts.resolve("nope", "mine"), /unknown conflict `nope`/);
        assert.throws(() => a.conflicts.resolve(held.id, "sideways"), /unknown choice `sideways`/);
      } finally {
        bot.destroy();
      }
    }));

  test("an agent's document edits during a streamed turn are blamed on the turn and its model", () =>
    withAdaAndBob("blame-turn", async (a, _b, room) => {
      const bot = await openConfab(edge.ws, room, { id: "bot", name: "Bot", kind: "agent" });
      try {
        bot.chat.ensureConversation("Main", "main");
        bot.docs.ensure("Notes", "notes");
        function* work() {
          bot.docs.insert("notes", 0, "Summary: ok.");
          yield "Wrote the summary.";
        }
        const turn = await bot.chat.streamTurn("main", work(), { model: "model-x" });
        bot.docs.insert("notes", 0, "> "); // after the turn: no turn
        await waitFor(() => textOf(a, "notes") === "> Summary: ok.", { what: "Ada to see the notes" });
        assert.deepEqual(
          a.history.blame("notes").map((s) => [s.text, s.author?.id, s.agent, s.turn, s.model]),
          [
            ["> ", "bot", true, null, null],
            ["Summary: ok.", "bot", true, turn, "model-x"],
          ],
        );
      } finally {
        bot.destroy();
      }
    }));

  test("two Confab clients converge on documents and messages", () =>
    withAdaAndBob("converge", async (a, b) => {
      a.docs.ensure("Notes", "notes");
      a.docs.insert("notes", 0, "hello");
      await waitFor(() => textOf(b, "notes") === "hello", { what: "b to see a's text" });
      b.docs.insert("notes", 5, " world");
      a.docs.insert("notes", 0, ">> ");
      await waitFor(() => a.docs.text("notes") === b.docs.text("notes") && a.docs.text("notes").length === 14, {
        what: "both to converge",
      });
      assert.equal(a.docs.text("notes"), ">> hello world");
      a.chat.ensureConversation("Main", "main");
      a.chat.post("main", "from a");
      b.chat.ensureConversation("Main", "main");
      b.chat.post("main", "from b");
      await waitFor(() => a.chat.messages("main").length === 2 && b.chat.messages("main").length === 2, { what: "messages on both" });
      assert.deepEqual(a.chat.messages("main"), b.chat.messages("main"), "same messages in the same order");
    }));

  test("a client joining late gets the full state", async () => {
    const room = uniqueRoom("late");
    const a = await openConfab(edge.ws, room, { id: "a", name: "Ada" });
    a.docs.ensure("Spec", "spec");
    for (let i = 0; i < 50; i++) a.docs.insert("spec", a.docs.text("spec").length, `line ${i}\n`);
    a.chat.ensureConversation("Main", "main");
    a.chat.post("main", "before you came");
    const expected = a.docs.text("spec");
    // Wait until the room has stored everything (its acknowledgement), then join late.
    await a.whenSaved();
    a.destroy();
    const late = await openConfab(edge.ws, room, { id: "l", name: "Late" });
    try {
      assert.equal(late.docs.text("spec"), expected);
      assert.equal(late.chat.messages("main")[0].text, "before you came");
    } finally {
      late.destroy();
    }
  });

  test("a malformed frame closes only that socket, with a reason; the room goes on", () =>
    withAdaAndBob("malformed", async (a, b, room) => {
      a.docs.ensure("D", "d");
      a.docs.insert("d", 0, "before");
      await waitFor(() => textOf(b, "d") === "before", { what: "initial sync" });

      const bad = await rawSocket(edge.ws, room);
      const badClosed = closed(bad.ws);
      bad.ws.send(Buffer.from([0, 2, 0xff, 0xff, 0xff]));
      const { code, reason } = await badClosed;
      assert.equal(code, 1007);
      assert.match(reason, /^malformed sync (message|update)/);

      const text = await rawSocket(edge.ws, room);
      const textClosed = closed(text.ws);
      text.ws.send("hello?");
      const t = await textClosed;
      assert.equal(t.code, 1003);
      assert.match(t.reason, /text frames are not accepted/);

      const unknown = await rawSocket(edge.ws, room);
      const unknownClosed = closed(unknown.ws);
      unknown.ws.send(Buffer.from([42, 0]));
      assert.deepEqual(await unknownClosed, { code: 1003, reason: "unsupported message type 42" });

      // The room and the other clients go on.
      assert.equal(a.status, "synced");
      assert.equal(b.status, "synced");
      b.docs.insert("d", 6, " and after");
      await waitFor(() => a.docs.text("d") === "before and after", { what: "edits after the bad frames" });
    }));

  test("room stats; a lone stock client hears its own presence back (so it never times out)", async () => {
    const room = uniqueRoom("stats");
    const empty = await (await fetch(`${edge.http}/rooms/${room}/stats`)).json();
    assert.equal(empty.connections, 0);
    assert.equal(empty.storedLogUpdates, 0);
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(edge.ws, room, doc, { WebSocketPolyfill: /** @type {any} */ (WebSocket), disableBc: true });
    try {
      await waitFor(() => provider.synced, { what: "the stock client to sync" });
      let heard = 0;
      provider.ws.addEventListener("message", (e) => {
        if (new Uint8Array(e.data)[0] === 1) heard++;
      });
      provider.awareness.setLocalStateField("cursor", 3);
      await waitFor(() => heard > 0, { what: "the client's own awareness update to come back" });
      doc.getText("t").insert(0, "counted");
      await waitFor(async () => (await (await fetch(`${edge.http}/rooms/${room}/stats`)).json()).storedLogUpdates === 1, {
        what: "the edit to be stored",
      });
      const stats = await (await fetch(`${edge.http}/rooms/${room}/stats`)).json();
      assert.equal(stats.connections, 1);
      assert.equal(stats.presence, 1);
      assert.ok(stats.documentBytes > "counted".length);
      assert.ok(stats.wasmMemoryBytes > 0);
    } finally {
      provider.destroy();
      // The provider's awareness checks for stale peers on an interval until its doc is
      // destroyed.
      doc.destroy();
    }
  });

  test("closing a socket removes only its presence", async () => {
    const room = uniqueRoom("presence");
    const a = await openConfab(edge.ws, room, { id: "a", name: "Ada" });
    const b = await openConfab(edge.ws, room, { id: "b", name: "Bob" });
    const c = await openConfab(edge.ws, room, { id: "c", name: "Cy" });
    try {
      for (const x of [a, b, c]) x.presence.set({ status: "active" });
      const names = (x) => x.presence.peers().map((p) => p.state.user?.name).sort().join(",");
      await waitFor(() => names(a) === "Ada,Bob,Cy" && names(b) === "Ada,Bob,Cy", { what: "everyone present" });
      c.destroy();
      await waitFor(() => names(a) === "Ada,Bob" && names(b) === "Ada,Bob", { what: "only Cy to disappear" });
      // A reconnecting client is visible again at once.
      const c2 = await openConfab(edge.ws, room, { id: "c", name: "Cy" });
      c2.presence.set({ status: "active" });
      await waitFor(() => names(a) === "Ada,Bob,Cy", { what: "Cy to be back" });
      c2.destroy();
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});

describe("edge persistence", () => {
  test("state survives a restart of the runtime, including a chunked snapshot", async () => {
    const dir = await tempDir();
    const room = uniqueRoom("restart");
    const big = "0123456789abcdef".repeat(192 * 1024); // 3 MiB: more than one stored row may hold
    let edge = await startEdge({ persistTo: dir });
    try {
      const a = await openConfab(edge.ws, room, { id: "a", name: "Ada" });
      a.docs.ensure("Small", "small");
      a.docs.insert("small", 0, "kept across restarts");
      a.docs.ensure("Big", "big");
      a.docs.insert("big", 0, big);
      a.chat.ensureConversation("Main", "main");
      a.chat.post("main", "still here?");
      // A second client seeing everything means the edge has stored it.
      const b = await openConfab(edge.ws, room, { id: "b", name: "Bob" });
      await waitFor(() => textOf(b, "big")?.length === big.length && b.chat.messages("main").length === 1, {
        what: "b to receive everything",
      });
      // The 3 MiB update went to the log in row-sized parts, not into a snapshot.
      const stats = await (await fetch(`${edge.http}/rooms/${room}/stats`)).json();
      assert.ok(stats.storedLogBytes > big.length, JSON.stringify(stats));
      assert.equal(stats.storedSnapshotBytes, 0);
      a.destroy();
      b.destroy();
    } finally {
      await edge.stop();
    }
    edge = await startEdge({ persistTo: dir });
    try {
      const c = await openConfab(edge.ws, room, { id: "c", name: "Cy" });
      assert.equal(c.docs.text("small"), "kept across restarts");
      assert.equal(c.docs.text("big"), big);
      assert.equal(c.chat.messages("main")[0].text, "still here?");
      c.destroy();
    } finally {
      await edge.stop();
    }
  });

  test("many small edits compact into a snapshot and restore", async () => {
    const dir = await tempDir();
    const room = uniqueRoom("compact");
    let edge = await startEdge({ persistTo: dir });
    let expected;
    try {
      const a = await openConfab(edge.ws, room, { id: "a", name: "Ada" });
      a.docs.ensure("Log", "log");
      // More edits than the log holds before compaction (500 rows).
      for (let i = 0; i < 700; i++) {
        a.docs.insert("log", a.docs.text("log").length, `${i % 10}`);
        // A yield to the event loop, not a wait: each edit is its own frame either way;
        // this lets the socket write them as they are made, as a typing editor's would
        // be. Nothing depends on its timing (b's wait below is the check).
        if (i % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      expected = a.docs.text("log");
      const b = await openConfab(edge.ws, room, { id: "b", name: "Bob" });
      await waitFor(() => b.docs.text("log") === expected, { what: "b to see all 700 edits" });
      a.destroy();
      b.destroy();
    } finally {
      await edge.stop();
    }
    edge = await startEdge({ persistTo: dir });
    try {
      const c = await openConfab(edge.ws, room, { id: "c", name: "Cy" });
      assert.equal(c.docs.text("log"), expected);
      c.destroy();
    } finally {
      await edge.stop();
    }
  });

  test("a client reconnects with backoff when the edge comes back, and sends its offline edits", async () => {
    const dir = await tempDir();
    const port = await freePort();
    const room = uniqueRoom("reconnect");
    let edge = await startEdge({ persistTo: dir, port });
    const a = await openConfab(edge.ws, room, { id: "a", name: "Ada" });
    const states = [];
    a.on("status", (e) => states.push(e.status));
    try {
      a.docs.ensure("D", "d");
      a.docs.insert("d", 0, "online ");
      const witness = await openConfab(edge.ws, room, { id: "w", name: "Witness" });
      await waitFor(() => textOf(witness, "d") === "online ", { what: "the first edit to be stored" });
      witness.destroy();
      await edge.stop();
      await waitFor(() => a.status === "reconnecting", { what: "the client to notice the edge is gone" });
      // Local edits keep applying at once while offline.
      a.docs.insert("d", 7, "offline");
      assert.equal(a.docs.text("d"), "online offline");
      edge = await startEdge({ persistTo: dir, port });
      await a.whenSynced(20_000);
      const b = await openConfab(edge.ws, room, { id: "b", name: "Bob" });
      await waitFor(() => b.docs.text("d") === "online offline", { what: "the offline edit to reach the room" });
      b.destroy();
      assert.ok(states.includes("reconnecting"), `states: ${states}`);
      assert.equal(states.at(-1), "synced", `states: ${states}`);
    } finally {
      a.destroy();
      await edge.stop();
    }
  });
});
