// The room's tools over MCP: `confab mcp` (the npm package's command) run as a child
// process, driven over stdio and over Streamable HTTP by the MCP SDK's own client, against the real edge under
// workerd, with a person in the room through the npm package.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import path from "node:path";
import { after, before, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { DEV_SECRET, ROOT, mintToken, openConfab, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

const TOOLS = [
  "list_documents", "read_document", "write_document", "edit_document", "acquire_lock", "release_lock",
  "post_message", "list_messages", "who_is_here", "search", "set_activity", "propose_context", "handoff",
  "suggest_edit", "raise_insight", "list_files", "read_file", "write_file", "move_file", "file_changes", "add_comment",
];

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

/** An MCP client connected to `confab mcp` for `room`. */
async function connect(room, token) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [path.join(ROOT, "npm/bin/confab.mjs"), "mcp", "--url", edge.ws, "--room", room, "--name", "Helper", "--token", token],
    stderr: "pipe",
  });
  const client = new Client({ name: "confab-test", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

/** Call a tool; resolve with its parsed result, or its error text when it refused. */
async function call(client, name, args = {}) {
  const r = await client.callTool({ name, arguments: args });
  const text = r.content.map((c) => c.text).join("");
  return r.isError ? { error: text } : JSON.parse(text);
}

test("every room tool over MCP: reads, leased and based writes, refusals that lose nothing", async () => {
  const room = uniqueRoom("mcp");
  // Each with a token, so the room tells them apart (leases are per user).
  const token = (sub, name, kind) => mintToken(DEV_SECRET, { room, sub, name, kind, role: "editor" });
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" }, { token: token("ada", "Ada", "person") });
  const client = await connect(room, token("helper", "Helper", "agent"));
  try {
    ada.chat.ensureConversation("Main", "main");
    ada.docs.ensure("Plan", "plan");
    ada.docs.setText("plan", "The launch is on Tuesday.\nOwner: Sam.\n");
    await ada.whenSaved();

    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOLS].sort());
    for (const t of tools) assert.equal(t.inputSchema.type, "object", t.name);

    // Reads. Ada's document and its text may reach the agent as separate updates (run
    // 6 of a CI count listed the document while its text was still empty), so wait
    // for the text itself.
    const read = await waitFor(
      async () => {
        const r = await call(client, "read_document", { id: "plan" });
        return r.text === "The launch is on Tuesday.\nOwner: Sam.\n" && r;
      },
      { what: "the document's text over MCP" },
    );
    assert.deepEqual((await call(client, "list_documents")).documents, [{ id: "plan", title: "Plan" }]);
    assert.match((await call(client, "read_document", { id: "nope" })).error, /^not_found: read_document: no document `nope`/);

    // A based write after a person changed the same words is held, not applied: the
    // person's edit stays and the agent is told.
    ada.docs.replaceRange("plan", 17, 7, "Friday");
    // The agent's own copy must have Ada's edit (the room's search index can have it first).
    await waitFor(async () => (await call(client, "read_document", { id: "plan" })).text?.includes("Friday"), { what: "Ada's edit at the agent" });
    const stale = await call(client, "edit_document", { id: "plan", find: "Tuesday", replace: "Monday", base: read.base });
    assert.match(stale.error, /^conflict: edit_document: someone changed that text since your read; your write is held/);
    assert.equal(ada.docs.text("plan"), "The launch is on Friday.\nOwner: Sam.\n");

    // A based write of text nobody touched since lands, as the smallest edit.
    const fresh = await call(client, "read_document", { id: "plan" });
    assert.deepEqual(await call(client, "edit_document", { id: "plan", find: "Sam", replace: "Kim", base: fresh.base }), { written: "plan", conflict: null });
    await waitFor(() => ada.docs.text("plan") === "The launch is on Friday.\nOwner: Kim.\n", { what: "the based edit at Ada" });

    // Leases: the agent's fence lets it write; Ada is refused the lease meanwhile.
    const lock = await call(client, "acquire_lock", { resource: "doc:plan", ttl_ms: 30_000 });
    assert.ok(lock.fence > 0);
    await assert.rejects(ada.locks.acquire("doc:plan", 1000), { code: "lock_held" });
    assert.deepEqual(
      await call(client, "write_document", { id: "plan", text: "The launch is on Friday.\nOwner: Kim.\nBudget: approved.\n", fence: lock.fence }),
      { written: "plan", fence: lock.fence },
    );
    await waitFor(() => ada.docs.text("plan").endsWith("Budget: approved.\n"), { what: "the leased write at Ada" });
    assert.match((await call(client, "write_document", { id: "plan", text: "x", fence: lock.fence + 1 })).error, /^\w+: /);
    assert.deepEqual(await call(client, "release_lock", { resource: "doc:plan", fence: lock.fence }), { released: "doc:plan" });
    const { lease } = await ada.locks.acquire("doc:plan", 60_000);
    await ada.locks.release("doc:plan", lease.fence);

    // Messages, presence, activity, context, handoff: each seen by the person.
    const posted = await call(client, "post_message", { conversation: "main", text: "Budget approved; launch Friday." });
    await waitFor(() => ada.chat.messages("main").some((m) => m.id === posted.posted), { what: "the agent's message at Ada" });
    const message = ada.chat.messages("main").find((m) => m.id === posted.posted);
    assert.deepEqual([message.author.name, message.author.kind], ["Helper", "agent"]);
    assert.match((await call(client, "post_message", { conversation: "nope", text: "x" })).error, /^not_found/);
    const listed = await call(client, "list_messages", { conversation: "main", limit: 1 });
    assert.deepEqual(listed.messages.map((m) => m.text), ["Budget approved; launch Friday."]);
    const here = await call(client, "who_is_here");
    assert.deepEqual(here.present.map((p) => p.user.name).sort(), ["Ada", "Helper"]);
    await call(client, "set_activity", { text: "checking the budget" });
    await waitFor(() => ada.presence.list().some((p) => p.user.name === "Helper" && p.activity === "checking the budget"), { what: "the activity at Ada" });
    const proposed = await call(client, "propose_context", { kind: "decision", text: "Launch on Friday", tags: ["launch"] });
    await waitFor(() => ada.context.shared().some((e) => e.id === proposed.proposed), { what: "the proposal at Ada" });
    assert.match((await call(client, "propose_context", { kind: "decision", text: "x", tags: "launch" })).error, /^invalid_argument: propose_context: `tags` must be an array/);
    await call(client, "handoff", { to: "ada", note: "Budget is yours from here." });
    await waitFor(() => ada.context.events().some((e) => JSON.stringify(e).includes("Budget is yours from here.")), { what: "the handoff at Ada" });

    // A suggestion is held for review with its note; an insight reaches the people.
    const before = ada.docs.text("plan");
    const suggested = await call(client, "suggest_edit", { id: "plan", text: before.replace("Owner: Kim.", "Owners: Kim and Lee."), note: "Lee shares the launch." });
    const held = await waitFor(() => ada.conflicts.list().find((c) => c.id === suggested.suggestion), { what: "the suggestion at Ada" });
    assert.deepEqual([held.kind, held.held, held.proposal?.text, held.proposal?.rationale], ["suggestion", true, "Owners: Kim and Lee.", "Lee shares the launch."]);
    assert.equal(ada.docs.text("plan"), before, "nothing changes until a person accepts");
    const insight = await call(client, "raise_insight", { text: "Risk: Friday is a public holiday in two offices." });
    await waitFor(() => ada.context.events().some((e) => e.id === insight.insight && e.kind === "insight" && e.author.name === "Helper"), { what: "the insight at Ada" });

    // Search finds the document, the message and the context entry.
    const found = await call(client, "search", { query: "friday" });
    assert.deepEqual(found.hits.map((h) => h.kind).sort(), ["context", "document", "message"]);
    assert.ok(found.hits.find((h) => h.kind === "document").snippet.includes("Friday"));
    assert.deepEqual((await call(client, "search", { query: "friday", kinds: ["message"] })).hits.map((h) => [h.kind, h.author]), [["message", "Helper"]]);

    // Bad input is refused with the reason, and the server goes on.
    assert.match((await call(client, "acquire_lock", { resource: "doc:plan" })).error, /^invalid_argument: acquire_lock: `ttl_ms` must be/);
    assert.match((await call(client, "no_such_tool")).error, /^not_found: no tool `no_such_tool`/);

    // Resources: the documents and the shared context.
    const { resources } = await client.listResources();
    assert.deepEqual(resources.map((r) => r.uri).sort(), ["confab://context", "confab://document/plan"]);
    const doc = await client.readResource({ uri: "confab://document/plan" });
    const [content] = doc.contents;
    assert.equal("text" in content ? content.text : undefined, ada.docs.text("plan"));
  } finally {
    await client.close();
    ada.destroy();
  }
});

test("the file tools over MCP: an agent works under a path lease, a person is refused meanwhile, and both see the tree", async () => {
  const room = uniqueRoom("mcp-files");
  const token = (sub, name, kind) => mintToken(DEV_SECRET, { room, sub, name, kind, role: "editor" });
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" }, { token: token("ada", "Ada", "person") });
  const client = await connect(room, token("helper", "Helper", "agent"));
  try {
    const lock = await call(client, "acquire_lock", { resource: "path:src/", ttl_ms: 30_000 });
    const written = await call(client, "write_file", { path: "src/main.rs", text: "fn main() {}\n", fence: lock.fence });
    assert.deepEqual([written.written, written.size, written.versions], ["src/main.rs", 13, 1]);
    await assert.rejects(ada.files.write("src/main.rs", "// Ada was here"), { code: "lock_held" });
    assert.match((await call(client, "write_file", { path: "src/main.rs", text: "x", fence: lock.fence + 1 })).error, /^lock_not_held: /);
    await ada.files.upload("assets/logo.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
    await waitFor(async () => (await call(client, "list_files")).files?.length === 4, { what: "the tree at the agent" });
    assert.deepEqual(
      (await call(client, "list_files", { prefix: "src/" })).files.map((f) => [f.path, f.folder, f.author]),
      [["src", true, "Helper"], ["src/main.rs", false, "Helper"]],
    );
    assert.deepEqual(await call(client, "read_file", { path: "src/main.rs" }), { path: "src/main.rs", type: "text/plain", text: "fn main() {}\n" });
    assert.equal((await call(client, "read_file", { path: "assets/logo.png" })).note, "binary content: not readable as text");
    assert.match((await call(client, "read_file", { path: "nope.txt" })).error, /^not_found: /);
    assert.deepEqual(await call(client, "move_file", { from: "src/main.rs", to: "src/bin/main.rs", fence: lock.fence }), { moved: "src/main.rs", to: "src/bin/main.rs" });
    await waitFor(() => ada.files.get("src/bin/main.rs")?.deletedAt === undefined && !ada.files.list().some((f) => f.path === "src/main.rs"), { what: "the move at Ada" });
    await call(client, "release_lock", { resource: "path:src/", fence: lock.fence });
    await ada.files.write("src/bin/main.rs", "// Ada was here");
    assert.equal((await call(client, "read_file", { path: "src/bin/main.rs" })).text, "// Ada was here");
  } finally {
    await client.close();
    ada.destroy();
  }
});

test("confab mcp --http serves the same tools over Streamable HTTP on 127.0.0.1, and stops on SIGTERM", async () => {
  const room = uniqueRoom("mcp-http");
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" }, {
    token: mintToken(DEV_SECRET, { room, sub: "ada", name: "Ada", role: "editor" }),
  });
  const token = mintToken(DEV_SECRET, { room, sub: "scribe", name: "Scribe", kind: "agent", role: "editor" });
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "npm/bin/confab.mjs"), "mcp", "--url", edge.ws, "--room", room, "--name", "Scribe", "--token", token, "--http", "0"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  const client = new Client({ name: "confab-test", version: "1.0.0" });
  try {
    const url = await waitFor(() => /at (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(log)?.[1], { timeout: 20_000, what: "the MCP URL on stderr" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOLS].sort());
    ada.chat.ensureConversation("Main", "main");
    await ada.whenSaved();
    await waitFor(async () => !(await call(client, "list_messages", { conversation: "main" })).error, { what: "the conversation at the agent" });
    const posted = await call(client, "post_message", { conversation: "main", text: "Notes are up to date." });
    await waitFor(() => ada.chat.messages("main").some((m) => m.id === posted.posted && m.author.name === "Scribe"), { what: "the message at Ada" });

    // Only this machine's names for the server are accepted (DNS rebinding), and only /mcp.
    // (fetch may not set Host, so this one goes out through node:http.)
    const wrongHost = await new Promise((resolve, reject) => {
      const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "x", version: "1" } } });
      const req = httpRequest(url, {
        method: "POST",
        headers: { host: "evil.example", "content-type": "application/json", accept: "application/json, text/event-stream" },
      }, (res) => {
        res.resume();
        resolve({ status: res.statusCode });
      });
      req.on("error", reject);
      req.end(body);
    });
    assert.equal(wrongHost.status, 403);
    assert.equal((await fetch(new URL("/elsewhere", url))).status, 404);
    const noSession = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }) });
    assert.equal(noSession.status, 400);
  } finally {
    await client.close().catch(() => {});
    const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0, `confab mcp exits cleanly on SIGTERM\n${log}`);
    ada.destroy();
  }
});
