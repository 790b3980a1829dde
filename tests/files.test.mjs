// The room's files through the npm package and the REST API, against the edge under
// workerd with its R2 bucket: uploads stored and downloaded whole (hash checked), an
// upload cut off midway never appears, text files open as shared documents, folder
// moves are audited, webhooks filtered by path get only their paths, `path:` leases
// gate every write, deleted files stay in history, and limits refuse with a reason.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import { api, DEV_API_KEY, DEV_SECRET, mintToken, openConfab, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** The room's audit entries with `action`. */
async function audited(http, room, action) {
  const r = await api(http, "GET", `/rooms/${room}/audit?limit=1000`, { token: DEV_API_KEY });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.entries.filter((e) => e.action === action);
}

/** A webhook receiver on 127.0.0.1 that keeps what it is sent. */
async function receiver() {
  /** @type {any[]} */
  const got = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      got.push(JSON.parse(body));
      res.writeHead(200).end("ok");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  return { got, url: `http://127.0.0.1:${address.port}/hook`, close: () => new Promise((r) => server.close(() => r(undefined))) };
}

describe("files under workerd", () => {
  let edge;
  before(async () => {
    edge = await startEdge();
  });
  after(async () => {
    await edge?.stop();
  });

  const token = (room, sub, role = "editor") => mintToken(DEV_SECRET, { room, sub, name: sub[0].toUpperCase() + sub.slice(1), role });

  test("an upload is stored whole, shows to everyone once stored, and downloads with the same hash", async () => {
    const room = uniqueRoom("files");
    const ana = await openConfab(edge.ws, room, { id: "ana", name: "Ana" }, { token: token(room, "ana") });
    const bo = await openConfab(edge.ws, room, { id: "bo", name: "Bo" }, { token: token(room, "bo") });
    try {
      const bytes = randomBytes(300_000);
      const progress = [];
      const entry = await ana.files.upload("/output/data.bin", bytes, { onProgress: (sent, total) => progress.push([sent, total]) });
      assert.deepEqual([entry.path, entry.size, entry.hash, entry.author.id], ["output/data.bin", bytes.length, sha256(bytes), "ana"]);
      assert.deepEqual(progress.at(-1), [bytes.length, bytes.length], "progress ends at the whole size");
      await waitFor(() => bo.files.get("output/data.bin")?.hash === entry.hash, { what: "Bo sees the file" });
      assert.deepEqual(bo.files.list().map((e) => [e.path, e.folder]), [["output", true], ["output/data.bin", false]]);
      const down = await bo.files.download("output/data.bin");
      assert.equal(sha256(down), entry.hash, "the downloaded bytes hash as uploaded");
      assert.ok(Buffer.from(down).equals(bytes));

      // A text file opens as a shared document: an edit shows in the next download.
      const md = await ana.files.upload("notes/plan.md", "# Plan\n", { type: "text/markdown" });
      assert.ok(md.doc, "a text file has a document");
      await waitFor(() => bo.docs.text(md.doc ?? "") === "# Plan\n", { what: "Bo has the file's text as a document" });
      bo.docs.insert(md.doc ?? "", 7, "- ship\n");
      await waitFor(() => ana.docs.text(md.doc ?? "").includes("ship"), { what: "Ana sees Bo's edit" });
      const text = new TextDecoder().decode(await ana.files.download("notes/plan.md"));
      assert.equal(text, "# Plan\n- ship\n");
      assert.equal(await ana.files.read("notes/plan.md"), "# Plan\n- ship\n");
      const res = await fetch(ana.files.url("output/data.bin"));
      assert.deepEqual([res.status, res.headers.get("content-type"), res.headers.get("etag")], [200, "application/octet-stream", `"${entry.hash}"`]);
      await res.arrayBuffer();
    } finally {
      ana.destroy();
      bo.destroy();
    }
  });

  test("an upload cut off midway never appears, and is audited as failed", async () => {
    const room = uniqueRoom("files-cut");
    const ana = await openConfab(edge.ws, room, { id: "ana", name: "Ana" }, { token: token(room, "ana") });
    try {
      await ana.files.mkdir("inbox");
      const url = new URL(`${edge.http}/rooms/${room}/files/content?path=inbox/cut.bin`);
      await new Promise((resolve) => {
        const req = httpRequest(url, {
          method: "PUT",
          headers: { Authorization: `Bearer ${DEV_API_KEY}`, "Content-Type": "application/octet-stream", "Content-Length": "1000000" },
        });
        req.on("error", () => resolve(undefined));
        req.on("response", (res) => {
          res.resume();
          resolve(undefined);
        });
        req.write(randomBytes(64 * 1024), () => setImmediate(() => req.destroy()));
      });
      const [failed] = await waitFor(async () => {
        const list = await audited(edge.http, room, "file.upload-failed");
        return list.length ? list : null;
      }, { what: "the failed upload in the audit log" });
      assert.equal(failed.detail.path, "inbox/cut.bin");
      assert.match(failed.detail.reason, /body/);
      const listed = await api(edge.http, "GET", `/rooms/${room}/files?deleted=true`, { token: DEV_API_KEY });
      assert.deepEqual(listed.json.files.map((f) => f.path), ["inbox"]);
      assert.deepEqual(ana.files.list({ deleted: true }).map((f) => f.path), ["inbox"]);
    } finally {
      ana.destroy();
    }
  });

  test("folder moves and deletes are audited, webhooks filtered by path get their paths only, and deleted files stay in history", async () => {
    const room = uniqueRoom("files-tree");
    const all = await receiver();
    const output = await receiver();
    const owner = await openConfab(edge.ws, room, { id: "olga", name: "Olga" }, { token: token(room, "olga", "owner") });
    try {
      const events = ["file.added", "file.moved", "file.deleted"];
      await owner.request("webhook.create", { url: output.url, events, secret: "0123456789abcdef", paths: ["/output/"] });
      await owner.request("webhook.create", { url: all.url, events, secret: "0123456789abcdef" });
      await owner.files.write("drafts/report.md", "draft one");
      await owner.files.write("drafts/report.md", "draft two");
      await owner.files.move("drafts", "output/final");
      await owner.files.upload("output/final/chart.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
      await waitFor(() => all.got.some((d) => d.event.detail.path === "output/final/chart.png"), { what: "the unfiltered hook has every event" });
      await waitFor(() => output.got.length === 2, { what: "the /output/ hook has its two events" });
      assert.deepEqual(
        output.got.map((d) => [d.event.action, d.event.detail.to ?? d.event.detail.path]),
        [["file.moved", "output/final"], ["file.added", "output/final/chart.png"]],
      );
      assert.deepEqual(all.got.map((d) => d.event.action), ["file.added", "file.moved", "file.added"]);

      const [moved] = await audited(edge.http, room, "file.moved");
      assert.deepEqual([moved.actor.id, moved.detail.from, moved.detail.to, moved.detail.entries], ["olga", "drafts", "output/final", 2]);

      // Deleted: gone from the tree, kept with its versions, each downloadable, restorable.
      await owner.files.remove("output/final/report.md");
      await waitFor(async () => (await audited(edge.http, room, "file.deleted")).length === 1, { what: "the deletion audited" });
      assert.equal(owner.files.get("output/final/report.md")?.deletedBy?.id, "olga");
      assert.ok(!owner.files.list().some((f) => f.path === "output/final/report.md"));
      const kept = owner.files.list({ deleted: true }).find((f) => f.path === "output/final/report.md");
      assert.equal(kept?.versions.length, 2);
      const first = await owner.files.download("output/final/report.md", { hash: kept?.versions[0].hash });
      assert.equal(new TextDecoder().decode(first), "draft one", "an earlier version is still there");
      await assert.rejects(owner.files.download("output/final/report.md"), { code: "not_found" });
      await owner.files.restore("output/final/report.md");
      assert.equal(await owner.files.read("output/final/report.md"), "draft two");
    } finally {
      owner.destroy();
      await all.close();
      await output.close();
    }
  });

  test("a path: lease gates writes for everyone else, and fencing is checked on write", async () => {
    const room = uniqueRoom("files-lease");
    const agent = await openConfab(edge.ws, room, { id: "scribe", name: "Scribe" }, { token: token(room, "scribe") });
    const bo = await openConfab(edge.ws, room, { id: "bo", name: "Bo" }, { token: token(room, "bo") });
    try {
      const { lease } = await agent.request("lock.acquire", { resource: "path:src/", ttlMs: 60_000 });
      await agent.files.write("src/main.rs", "fn main() {}", { fence: lease.fence });
      await assert.rejects(bo.files.write("src/main.rs", "// mine"), { code: "lock_held", message: /path:src\// });
      await assert.rejects(bo.files.upload("src/lib.rs", "pub fn f() {}"), { code: "lock_held" });
      await assert.rejects(bo.files.move("src", "old"), { code: "lock_held" });
      await assert.rejects(agent.files.write("src/main.rs", "x", { fence: lease.fence + 100 }), { code: "lock_not_held" });
      await agent.request("lock.release", { resource: "path:src/", fence: lease.fence });
      await assert.rejects(agent.files.write("src/main.rs", "late", { fence: lease.fence }), { code: "lock_not_held" });
      await bo.files.write("src/main.rs", "// mine now");
      assert.equal(await agent.files.read("src/main.rs"), "// mine now");
    } finally {
      agent.destroy();
      bo.destroy();
    }
  });
});

describe("file limits", () => {
  let edge;
  before(async () => {
    edge = await startEdge({ bindings: { CONFAB_MAX_FILE_BYTES: "1000", CONFAB_MAX_FILES_BYTES: "1500" } });
  });
  after(async () => {
    await edge?.stop();
  });

  test("size, quota and names are refused with a reason, and nothing is added", async () => {
    const room = uniqueRoom("files-quota");
    const ana = await openConfab(edge.ws, room, { id: "ana", name: "Ana" }, { token: mintToken(DEV_SECRET, { room, sub: "ana", role: "editor" }) });
    try {
      await assert.rejects(ana.files.upload("big.bin", new Uint8Array(1001)), { code: "file_too_large", message: /1001 bytes.*1000 bytes/ });
      await ana.files.upload("a.bin", new Uint8Array(900).fill(1));
      await assert.rejects(ana.files.upload("b.bin", new Uint8Array(900).fill(2)), { code: "quota_exceeded", message: /900 of their 1500 bytes/ });
      await assert.rejects(ana.files.upload("a/../b.bin", "x"), { code: "invalid_request", message: /`\.\.`/ });
      const raw = await fetch(`${edge.http}/rooms/${room}/files/content?path=big2.bin`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${DEV_API_KEY}` },
        body: new Uint8Array(3000),
      });
      assert.equal(raw.status, 413);
      assert.equal((await raw.json()).error.code, "file_too_large");
      assert.deepEqual(ana.files.list().map((f) => f.path), ["a.bin"]);
    } finally {
      ana.destroy();
    }
  });
});
