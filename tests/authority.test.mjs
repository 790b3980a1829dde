// The edge as the room's authority, under workerd: tokens and roles, leases with
// fencing, the audit log and live feed, webhooks, limits and the bad-input catalogue.
// (Durable acknowledgements across kills: durability.test.mjs.)
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import WebSocket from "ws";
import { after, before, describe, test } from "node:test";
import * as Y from "yjs";
import {
  api as jsonApi,
  DEV_API_KEY,
  closeOf,
  closeOrReply,
  mintToken,
  openConfab,
  rawSocket,
  startEdge,
  textOf,
  uniqueRoom,
  waitFor,
} from "./helpers.mjs";

const SECRET = "test-secret-for-the-authority-suite";
const API_KEY = "test-api-key-for-the-authority-suite";
const PRODUCTION = { CONFAB_DEV: "0", CONFAB_SECRET: SECRET, CONFAB_API_KEY: API_KEY };

/**
 * JSON over HTTP, with the production API key unless another token is given.
 * @param {string} base
 * @param {string} method
 * @param {string} path
 * @param {{ token?: string, body?: unknown }} [options]
 */
const api = (base, method, path, { token = API_KEY, body = undefined } = {}) => jsonApi(base, method, path, { token, body });

describe("tokens and roles (production mode)", () => {
  let edge;
  before(async () => {
    edge = await startEdge({ bindings: PRODUCTION });
  });
  after(async () => {
    await edge?.stop();
  });

  test("missing, malformed, forged, expired and other-room tokens are each refused with their own reason", async () => {
    const room = uniqueRoom("tokens");
    const url = (token) => `${edge.ws}/${room}${token === undefined ? "" : `?token=${encodeURIComponent(token)}`}`;
    const good = mintToken(SECRET, { room, sub: "ada", role: "editor" });
    /** @type {[string | undefined, number, string][]} */
    const cases = [
      [undefined, 4401, "a room token is required"],
      ["not-a-token", 4400, "malformed token"],
      [mintToken("some other secret", { room, sub: "ada", role: "owner" }), 4403, "signature does not match"],
      [mintToken(SECRET, { room, sub: "ada", role: "editor", exp: Math.floor(Date.now() / 1000) - 5 }), 4419, "expired"],
      [mintToken(SECRET, { room: "elsewhere", sub: "ada", role: "editor" }), 4404, "is for room `elsewhere`"],
      [mintToken(SECRET, { room, sub: "ada", role: "root" }), 4400, "unknown role `root`"],
    ];
    for (const [token, code, reason] of cases) {
      const closed = await closeOf(url(token));
      assert.ok(closed, `token ${token} was not refused`);
      assert.equal(closed.code, code, `${reason}: ${closed.reason}`);
      assert.match(closed.reason, new RegExp(reason.replace(/[`()]/g, ".")));
    }
    assert.equal(await closeOrReply(url(good)), null, "a valid token stays connected");
    // REST answers the same reasons as JSON errors.
    const missing = await fetch(`${edge.http}/rooms/${room}/documents`);
    assert.equal(missing.status, 401);
    assert.equal((await missing.json()).error.code, "token_missing");
    const expired = await api(edge.http, "GET", `/rooms/${room}/documents`, { token: cases[3][0] });
    assert.deepEqual([expired.status, expired.json.error.code], [401, "token_expired"]);
  });

  test("a viewer's writes never reach storage or other clients; the Confab client is read-only", async () => {
    const room = uniqueRoom("viewer");
    const owner = await openConfab(edge.ws, room, { id: "own", name: "Owner" }, { token: mintToken(SECRET, { room, sub: "own", role: "owner" }) });
    const viewerToken = mintToken(SECRET, { room, sub: "vic", role: "viewer" });
    const viewer = await openConfab(edge.ws, room, { id: "vic", name: "Vic" }, { token: viewerToken });
    try {
      owner.docs.ensure("D", "d");
      owner.docs.insert("d", 0, "owner text");
      await owner.whenSaved();
      await waitFor(() => textOf(viewer, "d") === "owner text", { what: "the viewer to read" });
      assert.equal(viewer.role, "viewer");
      assert.equal(viewer.readOnly, true);
      assert.throws(() => viewer.docs.insert("d", 0, "x"), /read-only for you \(you are a viewer\)/);
      // A stock Yjs document's update sent with a viewer token anyway: refused, closed
      // with the reason.
      const doc = new Y.Doc();
      doc.getText("doc:d").insert(0, "VANDAL ");
      const update = Buffer.from(Y.encodeStateAsUpdate(doc));
      const closed = await closeOf(`${edge.ws}/${room}?token=${encodeURIComponent(viewerToken)}`, [
        Buffer.concat([Buffer.from([0, 2]), varuint(update.length), update]),
      ]);
      assert.equal(closed?.code, 1008);
      assert.match(closed.reason, /vic is a viewer in this room/);
      // The marker: the room closed the viewer's socket when it refused the frame, so
      // anything it relayed to the owner went out before that close; a request the
      // owner sends now is answered on the same socket after it.
      await owner.request("lock.list");
      assert.equal(owner.docs.text("d"), "owner text", "the other client never got it");
      const stored = await api(edge.http, "GET", `/rooms/${room}/documents/d`);
      assert.equal(stored.json.text, "owner text", "the room never applied it");
    } finally {
      owner.destroy();
      viewer.destroy();
    }
  });

  test("tokens minted over REST; invite, role change, transfer and leave are owner actions, audited and live", async () => {
    const room = uniqueRoom("members");
    const minted = await api(edge.http, "POST", `/rooms/${room}/tokens`, { body: { role: "owner", user: "olga", name: "Olga" } });
    assert.equal(minted.status, 200);
    const owner = await openConfab(edge.ws, room, { id: "olga", name: "Olga" }, { token: minted.json.token });
    const edToken = mintToken(SECRET, { room, sub: "eddy", role: "editor" });
    const eddy = await openConfab(edge.ws, room, { id: "eddy", name: "Eddy" }, { token: edToken });
    try {
      const sessions = [];
      eddy.on("session", (e) => sessions.push(e.session.role));
      assert.equal(eddy.role, "editor");
      // Not an owner: refused.
      await assert.rejects(eddy.request("member.role", { user: "olga", role: "viewer" }), /owner action/);
      // Invite over the socket: a working token comes back.
      const invite = /** @type {{ token: string }} */ (await owner.request("member.invite", { role: "reviewer", user: "rita", name: "Rita" }));
      const rita = await openConfab(edge.ws, room, { id: "rita", name: "Rita" }, { token: invite.token });
      assert.equal(rita.role, "reviewer");
      rita.destroy();
      // Demote eddy live: its connection learns it at once.
      await owner.request("member.role", { user: "eddy", role: "viewer" });
      await waitFor(() => eddy.readOnly, { what: "eddy to become read-only" });
      assert.deepEqual(sessions, ["viewer"]);
      // Transfer ownership to eddy: olga becomes an editor.
      await owner.request("member.transfer", { user: "eddy" });
      await waitFor(() => eddy.role === "owner" && owner.role === "editor", { what: "the transfer to reach both" });
      // The old owner may now leave; its socket is closed and it is refused until invited again.
      await owner.request("member.leave");
      await waitFor(() => owner.status !== "synced", { what: "olga's socket to close" });
      const back = await closeOf(`${edge.ws}/${room}?token=${encodeURIComponent(minted.json.token)}`);
      assert.equal(back?.code, 4403);
      assert.match(back.reason, /left or was removed/);
      const audit = await api(edge.http, "GET", `/rooms/${room}/audit?limit=1000`);
      const actions = audit.json.entries.map((e) => e.action);
      for (const a of ["member.invited", "role.changed", "member.left", "join", "leave"]) {
        assert.ok(actions.includes(a), `${a} not audited: ${actions}`);
      }
    } finally {
      owner.destroy();
      eddy.destroy();
    }
  });
});

describe("leases, audit and webhooks (development mode)", () => {
  let edge;
  let receiver;
  const deliveries = [];
  let failuresLeft = 0;
  before(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        deliveries.push({ headers: req.headers, body, failed: failuresLeft > 0 });
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          res.writeHead(503).end("try later");
        } else {
          res.writeHead(204).end();
        }
      });
    });
    await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
    edge = await startEdge();
  });
  after(async () => {
    await edge?.stop();
    receiver?.close();
  });

  test("two agents race for one lease: exactly one wins; fences grow; expiry, renewal and release are live and audited", async () => {
    const room = uniqueRoom("race");
    const token = (sub) => mintToken("confab-dev-secret", { room, sub, kind: "agent", role: "editor" });
    const a = await openConfab(edge.ws, room, { id: "bot-a", name: "A", kind: "agent" }, { token: token("bot-a") });
    const b = await openConfab(edge.ws, room, { id: "bot-b", name: "B", kind: "agent" }, { token: token("bot-b") });
    const feed = [];
    b.on("feed", (e) => feed.push(e.event));
    try {
      for (let round = 0; round < 5; round++) {
        const resource = `path:src/file${round}.rs`;
        // A minute: every lease is still held when they are listed, however slow the rounds.
        const results = await Promise.allSettled([a.locks.acquire(resource, 60_000), b.locks.acquire(resource, 60_000)]);
        const won = results.filter((r) => r.status === "fulfilled");
        assert.equal(won.length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`);
        const lost = results.find((r) => r.status === "rejected");
        assert.equal(/** @type {any} */ (lost).reason.code, "lock_held");
      }
      const list = /** @type {{ leases: { fence: number }[] }} */ (await a.request("lock.list"));
      const fences = list.leases.map((l) => l.fence);
      assert.deepEqual(fences, [...fences].sort((x, y) => x - y));
      assert.equal(new Set(fences).size, 5);
      // Expiry: a short lease lapses and the other agent gets it with a larger fence. (Long
      // enough to renew and to be refused to the other one on a busy machine.)
      const first = (await a.locks.acquire("doc:spec", 3_000)).lease;
      const renewed = (await a.locks.renew("doc:spec", first.fence, 4_000)).lease;
      assert.equal(renewed.fence, first.fence);
      assert.ok(renewed.expiresAt > first.expiresAt);
      await assert.rejects(b.locks.acquire("doc:spec", 1_000), /held by bot-a/);
      // The holder disconnects: it keeps the lease until it expires, then loses it.
      a.disconnect();
      await waitFor(() => feed.some((e) => e.action === "lock.expired" && e.target === "doc:spec"), {
        what: "the lease to expire",
        timeout: 15_000,
      });
      const second = (await b.locks.acquire("doc:spec", 60_000)).lease;
      assert.ok(second.fence > first.fence);
      const verify = await fetch(`${edge.http}/rooms/${room}/locks/verify?resource=doc:spec&fence=${first.fence}`);
      assert.equal((await verify.json()).valid, false, "the old fencing token is dead");
      await b.locks.release("doc:spec", second.fence);
      // The release's reply goes out before its feed event: wait for the event.
      await waitFor(() => feed.some((e) => e.action === "lock.released"), { what: "lock.released in the live feed" });
      const audit = await api(edge.http, "GET", `/rooms/${room}/audit?limit=1000`, { token: DEV_API_KEY });
      const actions = audit.json.entries.map((e) => e.action);
      for (const want of ["lock.acquired", "lock.renewed", "lock.expired", "lock.released"]) {
        assert.ok(actions.includes(want), `${want} not audited`);
        assert.ok(feed.some((e) => e.action === want), `${want} not in the live feed`);
      }
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  test("a document that requires a lease refuses writes from anyone without one", async () => {
    const room = uniqueRoom("policy");
    const owner = await openConfab(edge.ws, room, { id: "o", name: "O" }, { token: mintToken("confab-dev-secret", { room, sub: "o", role: "owner" }) });
    const ed = await openConfab(edge.ws, room, { id: "e", name: "E" }, { token: mintToken("confab-dev-secret", { room, sub: "e", role: "editor" }) });
    const closes = [];
    ed.on("status", (e) => e.code && closes.push(e));
    try {
      owner.docs.ensure("Spec", "spec");
      owner.docs.insert("spec", 0, "v1");
      await owner.whenSaved();
      await owner.request("lock.policy", { document: "spec", policy: "refuse" });
      await waitFor(() => textOf(ed, "spec") === "v1", { what: "the editor to sync" });
      ed.docs.insert("spec", 2, " by e");
      await waitFor(() => closes.length > 0, { what: "the unleased write to be refused" });
      assert.equal(closes[0].code, 1008);
      assert.match(closes[0].reason, /requires a lease/);
      const stored = await api(edge.http, "GET", `/rooms/${room}/documents/spec`, { token: DEV_API_KEY });
      assert.equal(stored.json.text, "v1");
    } finally {
      owner.destroy();
      ed.destroy();
    }
  });

  test("webhooks are signed, delivered, retried after a failing receiver, and every attempt is audited", async () => {
    const room = uniqueRoom("hooks");
    const secret = "whsec-0123456789abcdef";
    const { port } = /** @type {import("node:net").AddressInfo} */ (receiver.address());
    const created = await api(edge.http, "POST", `/rooms/${room}/webhooks`, {
      token: DEV_API_KEY,
      body: { url: `http://127.0.0.1:${port}/hook`, events: ["join", "message.posted", "lock.acquired"], secret },
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.equal(created.json.webhook.secret, undefined);
    failuresLeft = 2;
    const posted = await api(edge.http, "POST", `/rooms/${room}/messages`, { token: DEV_API_KEY, body: { text: "hello hooks" } });
    assert.equal(posted.status, 200, JSON.stringify(posted.json));
    await waitFor(() => deliveries.some((d) => !d.failed && JSON.parse(d.body).event.action === "message.posted"), {
      what: "the delivery to succeed after two failures",
      timeout: 15_000,
    });
    const tries = deliveries.filter((d) => JSON.parse(d.body).event.action === "message.posted");
    assert.equal(tries.length, 3, "two failures, then the success");
    for (const d of tries) {
      const [t, v1] = String(d.headers["confab-signature"]).split(",").map((p) => p.split("=")[1]);
      const expected = createHmac("sha256", secret).update(`${t}.${d.body}`).digest("hex");
      assert.equal(v1, expected, "the signature verifies");
    }
    assert.equal(JSON.parse(tries[0].body).room, room);
    // The room audits the delivery once the receiver's answer is back, after the
    // receiver recorded it: wait for the entry.
    const hookEntries = await waitFor(
      async () => {
        const audit = await api(edge.http, "GET", `/rooms/${room}/audit?limit=1000`, { token: DEV_API_KEY });
        const entries = audit.json.entries.filter((e) => e.action.startsWith("webhook."));
        return entries.some((e) => e.action === "webhook.delivered") && entries;
      },
      { what: "webhook.delivered in the audit log" },
    );
    assert.deepEqual(
      hookEntries.map((e) => [e.action, e.detail.attempt]),
      [["webhook.created", undefined], ["webhook.failed", 1], ["webhook.failed", 2], ["webhook.delivered", 3]],
    );
    assert.match(hookEntries[1].detail.error, /answered 503/);
  });
});

describe("limits and the bad-input catalogue", () => {
  let edge;
  before(async () => {
    edge = await startEdge({
      bindings: { CONFAB_MAX_FRAME_BYTES: "4096", CONFAB_RATE_PER_SEC: "20", CONFAB_RATE_BURST: "40", CONFAB_MAX_CONNECTIONS: "3", CONFAB_MAX_BODY_BYTES: "2048" },
    });
  });
  after(async () => {
    await edge?.stop();
  });

  test("each bad frame closes only its socket with its own reason; the room and its clients go on", async () => {
    const room = uniqueRoom("catalogue");
    const a = await openConfab(edge.ws, room, { id: "a", name: "A" });
    try {
      a.docs.ensure("D", "d");
      a.docs.insert("d", 0, "intact");
      await a.whenSaved();
      const update = Buffer.from(Y.encodeStateAsUpdate((() => {
        const d = new Y.Doc();
        d.getText("t").insert(0, "hello");
        return d;
      })()));
      const syncUpdate = (u) => Buffer.concat([Buffer.from([0, 2]), varuint(u.length), u]);
      /** @type {[string, (Buffer | string)[], number, RegExp][]} */
      const catalogue = [
        ["malformed", [Buffer.from([0, 2, 99, 1, 2])], 1007, /malformed sync/],
        ["truncated", [syncUpdate(update).subarray(0, 8)], 1007, /malformed/],
        ["unknown type", [Buffer.from([77])], 1003, /unsupported message type 77/],
        ["oversize", [Buffer.alloc(5000, 1)], 1009, /exceeds the limit of 4096 bytes/],
        ["out of order", [Buffer.concat([Buffer.from([104, 5]), syncUpdate(update)]), Buffer.concat([Buffer.from([104, 3]), syncUpdate(update)])], 1007, /out of order/],
        ["a server-only message", [Buffer.from([105, 1])], 1003, /unsupported message type 105/],
        ["text", ["hello"], 1003, /text frames are not accepted/],
        ["flood", Array.from({ length: 80 }, () => Buffer.from([3])), 1008, /rate limit: more than 20 messages per second/],
      ];
      for (const [what, frames, code, reason] of catalogue) {
        const closed = await closeOf(`${edge.ws}/${room}`, frames);
        assert.ok(closed, `${what}: not closed`);
        assert.equal(closed.code, code, `${what}: ${closed.reason}`);
        assert.match(closed.reason, reason, what);
        // The room goes on: the good client still edits and is stored.
        a.docs.insert("d", a.docs.text("d").length, ".");
        await a.whenSaved();
      }
      const doc = await (await fetch(`${edge.http}/rooms/${room}/documents/d`)).json();
      assert.equal(doc.text, `intact${".".repeat(catalogue.length)}`);
      assert.equal(a.status, "synced");
    } finally {
      a.destroy();
    }
  });

  test("a full room refuses the next connection with a reason; bad REST bodies get their own errors", async () => {
    const room = uniqueRoom("full");
    const clients = await Promise.all([0, 1, 2].map((i) => openConfab(edge.ws, room, { id: `u${i}`, name: `U${i}` })));
    try {
      const refused = await closeOf(`${edge.ws}/${room}`);
      assert.equal(refused?.code, 1013);
      assert.match(refused.reason, /room is full: 3 connections, the limit is 3/);
      /** @type {[string, number, string, RegExp][]} */
      const bodies = [
        ["{", 400, "invalid_request", /not valid JSON/],
        ["[1]", 400, "invalid_request", /must be a JSON object; got an array/],
        [JSON.stringify({ resource: "doc:x" }), 400, "invalid_request", /missing field `ttlMs`/],
        [JSON.stringify({ resource: "doc:x", ttlMs: "soon" }), 400, "invalid_request", /invalid type/],
        [JSON.stringify({ resource: "doc:x", ttlMs: 1000, extra: 1 }), 400, "invalid_request", /unknown field `extra`/],
        [JSON.stringify({ resource: "x".repeat(3000), ttlMs: 1000 }), 413, "body_too_large", /limit is 2048/],
      ];
      for (const [body, status, code, message] of bodies) {
        const res = await api(edge.http, "POST", `/rooms/${room}/locks`, { token: DEV_API_KEY, body });
        assert.equal(res.status, status, body.slice(0, 40));
        assert.equal(res.json.error.code, code);
        assert.match(res.json.error.message, message);
      }
      assert.ok(clients.every((c) => c.status === "synced"), "the room's clients are unaffected");
    } finally {
      clients.forEach((c) => c.destroy());
    }
  });
});

describe("large rooms", () => {
  test("a 20 MB document joins in parts of at most 1 MiB, without the joiner being dropped", async () => {
    // Twenty 1 MB pastes take about 20 MB of memory: above the default size limit, which
    // is set for densely edited rooms.
    const edge = await startEdge({ bindings: { CONFAB_MAX_ROOM_BYTES: String(32 * 1024 * 1024) } });
    const room = uniqueRoom("big");
    try {
      // Fill the room with twenty 1 MB inserts (each at the start, so they stay separate items).
      const writer = new Y.Doc();
      const text = writer.getText("doc:big");
      const updates = [];
      writer.on("update", (u) => updates.push(Buffer.from(u)));
      for (let i = 0; i < 20; i++) text.insert(0, String.fromCharCode(97 + i).repeat(1024 * 1024));
      const frames = updates.map((u) => Buffer.concat([Buffer.from([0, 2]), varuint(u.length), u]));
      const filler = new WebSocket(`${edge.ws}/${room}`);
      await new Promise((r) => filler.once("open", r));
      for (const f of frames) filler.send(f);
      await waitFor(async () => (await (await fetch(`${edge.http}/rooms/${room}/stats`)).json()).documentBytes > 20_000_000, {
        what: "the room to hold 20 MB",
        timeout: 30_000,
      });
      filler.close();
      // A fresh joiner asks for everything (sync step 1 with an empty state vector).
      const joiner = new WebSocket(`${edge.ws}/${room}`);
      joiner.binaryType = "nodebuffer";
      /** @type {Buffer[]} */
      const parts = [];
      let closedWith = null;
      joiner.on("close", (code) => (closedWith = code));
      const done = new Promise((resolve) =>
        joiner.on("message", (/** @type {Buffer} */ data) => {
          if (data[0] === 0 && (data[1] === 1 || data[1] === 2) && data.length > 1000) parts.push(data);
          if (data[0] === 0 && data[1] === 1) resolve(undefined);
        }),
      );
      await new Promise((r) => joiner.once("open", r));
      joiner.send(Buffer.from([0, 0, 1, 0]));
      await done;
      joiner.close();
      assert.equal(closedWith, null, "the joiner was never dropped");
      assert.ok(parts.length >= 20, `${parts.length} parts`);
      assert.ok(parts.every((p) => p.length <= 1024 * 1024 + 64), "every part is at most 1 MiB");
      const reader = new Y.Doc();
      for (const p of parts) {
        let at = 2;
        let len = 0;
        for (let shift = 0; ; shift += 7) {
          const b = p[at++];
          len += (b & 127) * 2 ** shift;
          if (b < 128) break;
        }
        Y.applyUpdate(reader, p.subarray(at, at + len));
      }
      assert.equal(reader.getText("doc:big").length, 20 * 1024 * 1024);
    } finally {
      await edge.stop();
    }
  });
});

/** lib0 var-uint. */
function varuint(n) {
  const out = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

describe("development mode's guests", () => {
  let edge;
  before(async () => {
    edge = await startEdge();
  });
  after(async () => {
    await edge?.stop();
  });

  test("a guest (no token, `guest: true`) is known by the name it gives, an unverified editor; other sockets stay anonymous", async () => {
    const room = uniqueRoom("guests");
    const kim = await openConfab(edge.ws, room, { id: "kim", name: "Kim" }, { guest: true });
    const lee = await openConfab(edge.ws, room, { id: "lee", name: "Lee" }, { guest: true });
    const stock = await rawSocket(edge.ws, room);
    try {
      const { lease } = await kim.locks.acquire("doc:notes", 30_000);
      assert.deepEqual([lease.holder, lease.holderName], ["kim", "Kim"]);
      const seen = (await lee.locks.list()).leases.map((l) => `${l.resource} held by ${l.holderName}`);
      assert.deepEqual(seen, ["doc:notes held by Kim"]);
      // Guests are told apart: Lee cannot release Kim's lease.
      await assert.rejects(lee.locks.release("doc:notes", lease.fence), (err) => /kim/i.test(/** @type {Error} */ (err).message));
      const summary = await jsonApi(edge.http, "GET", `/rooms/${room}`, { token: DEV_API_KEY });
      assert.deepEqual(
        summary.json.online.map((p) => `${p.user}:${p.name}:${p.role}`).sort(),
        ["anonymous:anonymous:editor", "kim:Kim:editor", "lee:Lee:editor"],
      );
      assert.equal(kim.role, "editor");
      // A name the room would refuse closes that socket with the reason.
      const bad = await closeOf(`${edge.ws}/${room}?guest=anonymous`);
      assert.equal(bad?.code, 1007);
      assert.match(bad.reason, /guest: .*reserved/);
    } finally {
      kim.destroy();
      lee.destroy();
      stock.ws.close();
    }
  });
});
