// Search ("intelligence mode") against the edge under workerd: the room's FTS5 index
// finds text a moment after it is stored and stops finding text once it is deleted,
// covers documents, files, messages, comments and shared context, filters by kind,
// author and time, answers over the socket and REST alike, and with an embeddings
// endpoint configured (a stand-in server on 127.0.0.1 that this test writes) orders
// its hits by meaning.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { api, DEV_API_KEY, DEV_SECRET, mintToken, openConfab, startEdge, uniqueRoom } from "./helpers.mjs";

describe("search under workerd", () => {
  let edge;
  before(async () => {
    edge = await startEdge();
  });
  after(async () => {
    await edge?.stop();
  });

  const open = (room, id, role = "editor") =>
    openConfab(edge.ws, room, { id, name: id[0].toUpperCase() + id.slice(1) }, { token: mintToken(DEV_SECRET, { room, sub: id, name: id[0].toUpperCase() + id.slice(1), role }) });

  test("text is found once stored and not once deleted, in every kind of place", async () => {
    const room = uniqueRoom("search");
    const ana = await open(room, "ana");
    const bo = await open(room, "bo");
    try {
      ana.docs.ensure("Launch plan", "plan");
      ana.docs.setText("plan", "Goals for the quarter.\n\nThe launch moves to Friday at the café.\n\nOwner: Sam.");
      await ana.whenSaved();
      let { hits } = await bo.search("cafe");
      assert.equal(hits.length, 1, "found right after it was stored");
      const [hit] = hits;
      assert.deepEqual(
        [hit.kind, hit.target, hit.place, hit.author.id, hit.offset, hit.snippet],
        ["document", "doc:plan", "Launch plan", "ana", 24, "The launch moves to Friday at the café."],
      );
      assert.deepEqual(hit.highlights, [[34, 38]], "the match, in UTF-16 units of the snippet");
      assert.equal(hit.snippet.slice(34, 38), "café");

      // Deleted text is gone from the index; the paragraph that stayed keeps its author.
      const at = ana.docs.text("plan").indexOf("The launch");
      ana.docs.replaceRange("plan", at, "The launch moves to Friday at the café.".length, "The launch is on hold.");
      await ana.whenSaved();
      assert.deepEqual((await bo.search("cafe")).hits, [], "not found once deleted");
      assert.equal((await bo.search("hold")).hits[0].offset, at);

      // Messages, comments, context entries and files, each where it is.
      bo.chat.ensureConversation("Main", "main");
      bo.chat.post("main", "Why is the launch on hold?");
      const comment = ana.comments.addToRange("plan", 0, 5, "Which launch goals?");
      const entry = bo.context.propose({ kind: "decision", text: "Hold the launch until legal signs off", tags: [], refs: [] });
      await ana.files.upload("specs/launch-checklist.pdf", new Uint8Array([0x25, 0x50, 0x44, 0x46]));
      await ana.files.write("notes/legal.md", "Legal needs the launch contract by Monday.");
      await Promise.all([ana.whenSaved(), bo.whenSaved()]);
      ({ hits } = await ana.search("launch"));
      const found = hits.map((h) => `${h.kind} ${h.target.split(":")[0]} ${h.place} ${h.author.id}`).sort();
      assert.deepEqual(found, [
        "comment comment Launch plan ana",
        "context context decision bo",
        "document doc Launch plan ana",
        "file doc notes/legal.md ana",
        "file file specs/launch-checklist.pdf ana",
        "message message Main bo",
      ]);
      assert.ok(hits.some((h) => h.target === `comment:${comment}`));
      assert.ok(hits.some((h) => h.target === `context:${entry}`));
      // A phrase, and a prefix.
      assert.deepEqual((await ana.search('"launch contract"')).hits.map((h) => h.place), ["notes/legal.md"]);
      assert.deepEqual((await ana.search("checkl")).hits.map((h) => h.place), ["specs/launch-checklist.pdf"]);
      // A deleted file's text is not found; a moved one is found where it is now.
      await ana.files.remove("notes/legal.md");
      await ana.files.move("specs", "archive/specs");
      assert.deepEqual((await ana.search("contract")).hits, []);
      assert.deepEqual((await ana.search("checklist")).hits.map((h) => h.target), ["file:archive/specs/launch-checklist.pdf"]);
    } finally {
      ana.destroy();
      bo.destroy();
    }
  });

  test("filters by kind, author and time, the same over REST, and bad queries refused by name", async () => {
    const room = uniqueRoom("search-filters");
    const ana = await open(room, "ana");
    const bot = await open(room, "bot");
    const vic = await open(room, "vic", "viewer");
    try {
      ana.chat.ensureConversation("Main", "main");
      ana.chat.post("main", "Budget review on Monday");
      await ana.whenSaved();
      // A time after Ana's message and before what follows (the clock moves on first).
      const between = ana.chat.messages("main")[0].createdAt + 1;
      while (Date.now() <= between) await new Promise((resolve) => setTimeout(resolve, 1));
      bot.chat.post("main", "Budget numbers are ready");
      bot.docs.ensure("Budget", "budget");
      bot.docs.setText("budget", "Budget: 120k");
      await bot.whenSaved();
      const places = (r) => r.hits.map((h) => `${h.kind}:${h.author.id}`).sort();
      assert.deepEqual(places(await vic.search("budget")), ["document:bot", "message:ana", "message:bot"], "a viewer may search");
      assert.deepEqual(places(await vic.search("budget", { kinds: ["message"] })), ["message:ana", "message:bot"]);
      assert.deepEqual(places(await vic.search("budget", { author: "bot" })), ["document:bot", "message:bot"]);
      assert.deepEqual(places(await vic.search("budget", { before: between })), ["message:ana"]);
      assert.deepEqual(places(await vic.search("budget", { after: between, kinds: ["message"] })), ["message:bot"]);
      assert.equal((await vic.search("budget", { limit: 1 })).hits.length, 1);

      const rest = await api(edge.http, "GET", `/rooms/${room}/search?query=budget&kinds=message,document&author=ana`, { token: DEV_API_KEY });
      assert.equal(rest.status, 200);
      assert.deepEqual(places(rest.json), ["message:ana"]);
      await assert.rejects(vic.search("   "), { code: "invalid_request", message: /blank/ });
      await assert.rejects(vic.search("x", { kinds: ["tweet"] }), { code: "invalid_request", message: /unknown kind `tweet`/ });
      const bad = await api(edge.http, "GET", `/rooms/${room}/search?query=budget&limit=500`, { token: DEV_API_KEY });
      assert.deepEqual([bad.status, bad.json.error.code], [400, "invalid_request"]);
      assert.match(bad.json.error.message, /1 to 100/);
    } finally {
      ana.destroy();
      bot.destroy();
      vic.destroy();
    }
  });
});

/** An OpenAI-compatible embeddings stand-in: a text about time off points one way, anything else the other. */
async function embeddingsServer({ fail = false } = {}) {
  /** @type {any[]} */
  const requests = [];
  const vector = (text) => (/holiday|vacation|time off/i.test(text) ? [0.9, 0.1, 0] : [0.1, 0.9, 0.2]);
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const parsed = JSON.parse(body);
      requests.push({ url: req.url, auth: req.headers.authorization, body: parsed });
      if (fail) return res.writeHead(500).end("{}");
      const data = parsed.input.map((text, index) => ({ object: "embedding", index, embedding: vector(text) }));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data, model: parsed.model }));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  return { requests, url: `http://127.0.0.1:${port}/v1`, close: () => new Promise((r) => server.close(() => r(undefined))) };
}

describe("semantic ranking", () => {
  test("with an embeddings endpoint, hits are ordered by meaning; when it fails, by text, and the answer says why", async () => {
    const good = await embeddingsServer();
    const bad = await embeddingsServer({ fail: true });
    const [edge, broken] = await Promise.all([
      startEdge({ bindings: { CONFAB_EMBEDDINGS_URL: good.url, CONFAB_EMBEDDINGS_MODEL: "stand-in-embed", CONFAB_EMBEDDINGS_KEY: "sk-test" } }),
      startEdge({ bindings: { CONFAB_EMBEDDINGS_URL: bad.url } }),
    ]);
    try {
      for (const [server, stub] of [[edge, good], [broken, bad]]) {
        const room = uniqueRoom("search-semantic");
        const ana = await openConfab(server.ws, room, { id: "ana", name: "Ana" }, { guest: true });
        try {
          ana.chat.ensureConversation("Main", "main");
          ana.chat.post("main", "Plan the database migration plan and its plan B");
          ana.chat.post("main", "Plan the holiday trip");
          await ana.whenSaved();
          const result = await ana.search("plan vacation");
          if (stub === good) {
            assert.equal(result.semantic, true);
            assert.deepEqual(result.hits.map((h) => h.snippet), ["Plan the holiday trip", "Plan the database migration plan and its plan B"]);
            assert.ok(result.hits[0].similarity > 0.9, `similarity ${result.hits[0].similarity}`);
            const sent = good.requests.at(-1);
            assert.deepEqual([sent.url, sent.auth, sent.body.model, sent.body.input[0]], ["/v1/embeddings", "Bearer sk-test", "stand-in-embed", "plan vacation"]);
            assert.equal(sent.body.input.length, 3, "the query and both candidates");
          } else {
            assert.equal(result.semantic, false);
            assert.match(result.semanticError, /answered 500/);
            assert.deepEqual(result.hits, [], "by text, every word must match");
            assert.equal(bad.requests.length, 1);
          }
        } finally {
          ana.destroy();
        }
      }
    } finally {
      await Promise.all([edge.stop(), broken.stop(), good.close(), bad.close()]);
    }
  });
});
