// The hostile catalogue: malformed frames, forged updates and floods, sent as raw bytes
// over real WebSockets to the real edge under workerd in production mode (secret and API
// key enforced). Each is refused with its own reason; the socket that sent it is
// closed; the room and the people in it go on; nothing acknowledged is lost, and the
// stored room loads again after a restart.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import * as syncProtocol from "y-protocols/sync";
import { startEdge, openConfab, uniqueRoom, mintToken, closeOf, tempDir, freePort, waitFor, textOf, SOCKET_DEADLINE_MS } from "./helpers.mjs";

const SECRET = "hostile-suite-secret";
const API_KEY = "hostile-suite-api-key";
const PRODUCTION = {
  CONFAB_DEV: "0",
  CONFAB_SECRET: SECRET,
  CONFAB_API_KEY: API_KEY,
  CONFAB_MAX_FRAME_BYTES: String(2 * 1024 * 1024),
};

/** @param {number[] | Uint8Array} bytes */
const frame = (bytes) => Buffer.from(Uint8Array.from(bytes));

/** A frame of one y-sync message: type 0, `step`, then the payload as a var-buffer. */
function syncFrame(step, payload) {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, step);
  encoding.writeVarUint8Array(e, payload);
  return Buffer.from(encoding.toUint8Array(e));
}
const updateFrame = (update) => syncFrame(2, update);

/** Write lib0 var-ints (and raw bytes) into one array. */
function bytes(...parts) {
  const e = encoding.createEncoder();
  for (const p of parts) {
    if (typeof p === "number") encoding.writeVarUint(e, p);
    else if (typeof p === "string") encoding.writeVarString(e, p);
    else encoding.writeUint8Array(e, p);
  }
  return encoding.toUint8Array(e);
}

/** A lib0 var-buffer: the length, then the bytes. */
const vbuf = (u) => bytes(u.length, u);

/** One GC (kind 0) or Skip (kind 10) struct of `len` clocks for `client` at `clock`. */
const lone = (client, clock, kind, len) => bytes(1, 1, client, clock, Uint8Array.of(kind), len, 0);

describe("the hostile catalogue (production mode)", () => {
  /** @type {Awaited<ReturnType<typeof startEdge>>} */
  let edge;
  /** @type {string} */
  let dir;
  /** @type {number} */
  let port;
  const room = uniqueRoom("hostile");
  const token = (sub, role) => mintToken(SECRET, { room, sub, role });
  const url = (sub, role) => `${edge.ws}/${room}?token=${token(sub, role)}`;
  /** @type {any} */
  let olga;
  /** @type {any} */
  let ada;
  let acked = "";
  let message = "";
  let entry = "";
  /** @type {Record<string, number>} client ids in the room */
  const clientOf = {};

  before(async () => {
    dir = await tempDir("confab-hostile-");
    port = await freePort();
    edge = await startEdge({ persistTo: dir, port, bindings: PRODUCTION });
    olga = await openConfab(edge.ws, room, { id: "olga", name: "olga" }, { token: token("olga", "owner") });
    ada = await openConfab(edge.ws, room, { id: "ada", name: "ada" }, { token: token("ada", "editor") });
    olga.docs.ensure("Spec", "spec");
    olga.docs.insert("spec", 0, "shared text");
    olga.chat.ensureConversation("Main", "main");
    message = olga.chat.post("main", "hello");
    olga.context.setOwner("olga");
    entry = olga.context.propose({ kind: "decision", text: "ship it", tags: [], refs: [] });
    await olga.whenSaved();
    await waitFor(() => textOf(ada, "spec") === "shared text", { what: "ada to sync" });
    ada.docs.insert("spec", 0, "ada: ");
    await ada.whenSaved();
    acked = "ada: shared text";
    clientOf.ada = ada.clientId;
    clientOf.olga = olga.clientId;
  });

  after(async () => {
    ada?.destroy();
    olga?.destroy();
    await edge?.stop();
  });

  /** The room's whole state, as a stock Yjs client that just joined sees it. */
  async function roomState() {
    const doc = new Y.Doc();
    const ws = new WebSocket(url("vera", "viewer"));
    ws.binaryType = "nodebuffer";
    await new Promise((resolve, reject) => {
      ws.on("message", (/** @type {Buffer} */ data) => {
        const d = decoding.createDecoder(new Uint8Array(data));
        if (decoding.readVarUint(d) !== 0) return;
        const reply = encoding.createEncoder();
        const kind = syncProtocol.readSyncMessage(d, reply, doc, null);
        if (kind === syncProtocol.messageYjsSyncStep2) resolve(undefined);
      });
      ws.once("open", () => {
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, 0);
        syncProtocol.writeSyncStep1(e, doc);
        ws.send(encoding.toUint8Array(e));
      });
      ws.once("error", reject);
    });
    ws.close();
    return doc;
  }

  /**
   * An update made by a stock Yjs doc with client id `client` that has the room's state.
   * @param {number} client
   * @param {(doc: Y.Doc) => void} change
   */
  async function forge(client, change) {
    const doc = new Y.Doc({ gc: false });
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(await roomState()));
    // Chosen after the state is in: Yjs would pick another id on meeting its own.
    doc.clientID = client;
    const sv = Y.encodeStateVector(doc);
    change(doc);
    return Y.encodeStateAsUpdate(doc, sv);
  }

  const participant = (id) => ({ id, name: id, kind: "person" });

  /**
   * The catalogue: who sends it, the frames (or a function making them), and the words
   * its refusal must carry.
   * @type {{ name: string, as: [string, string], frames: () => Promise<(Buffer|string)[]> | (Buffer|string)[], reason: RegExp }[]}
   */
  const catalogue = [
    // Frames that do not decode.
    { name: "an empty frame", as: ["eve", "editor"], frames: () => [frame([])], reason: /empty frame/ },
    { name: "an unknown message type", as: ["eve", "editor"], frames: () => [frame([99])], reason: /unsupported message type 99/ },
    { name: "an unknown sync step", as: ["eve", "editor"], frames: () => [frame([0, 7, 0])], reason: /unknown sync step 7/ },
    { name: "a truncated var-int", as: ["eve", "editor"], frames: () => [frame([0x80])], reason: /malformed message type/ },
    { name: "a text frame", as: ["eve", "editor"], frames: () => ["hello"], reason: /text frames are not accepted/ },
    { name: "a frame over the size limit", as: ["eve", "editor"], frames: () => [Buffer.alloc(3 * 1024 * 1024, 1)], reason: /exceeds the limit|too big|1009/ },
    { name: "a hello from a client", as: ["eve", "editor"], frames: () => [frame([100, 1, 1])], reason: /unsupported message type 100/ },
    { name: "a response from a client", as: ["eve", "editor"], frames: () => [frame(bytes(102, 1, "{}"))], reason: /unsupported message type 102/ },
    { name: "an event from a client", as: ["eve", "editor"], frames: () => [frame(bytes(103, "{}"))], reason: /unsupported message type 103/ },
    { name: "an ack from a client", as: ["eve", "editor"], frames: () => [frame([105, 1])], reason: /unsupported message type 105/ },
    { name: "a session message from a client", as: ["eve", "editor"], frames: () => [frame(bytes(106, "{}"))], reason: /unsupported message type 106/ },
    { name: "a request whose arguments are not JSON", as: ["eve", "editor"], frames: () => [frame(bytes(101, 1, "lock.list", "{nope"))], reason: /invalid JSON/ },
    { name: "a presence state that is not JSON", as: ["eve", "editor"], frames: () => [frame(bytes(1, vbuf(bytes(1, 4242, 1, "{nope"))))], reason: /not valid JSON/ },
    {
      name: "sequence numbers going back",
      as: ["eve", "editor"],
      frames: () => [Buffer.concat([frame([104, 5]), updateFrame(bytes(0, 0))]), Buffer.concat([frame([104, 4]), updateFrame(bytes(0, 0))])],
      reason: /out of order/,
    },
    // Updates the scanner refuses.
    { name: "a GC struct pushing the room's client to 2^32 - 3", as: ["mallory", "viewer"], frames: () => [updateFrame(lone(0, 0, 0, 2 ** 32 - 3))], reason: /exceeds the limit of 1073741824/ },
    { name: "a GC struct for the room's own client", as: ["eve", "editor"], frames: () => [updateFrame(lone(0, 0, 0, 1000))], reason: /client id 0 belongs to the room/ },
    { name: "a GC struct from a viewer", as: ["mallory", "viewer"], frames: () => [updateFrame(lone(4711, 0, 0, 10))], reason: /mallory is a viewer/ },
    { name: "a GC struct on an editor's client id", as: ["eve", "editor"], frames: () => [updateFrame(lone(clientOf.ada, 0, 0, 2 ** 20))], reason: /belongs to ada/ },
    { name: "a Skip then a GC far ahead (a gap)", as: ["eve", "editor"], frames: () => [updateFrame(bytes(1, 2, 5151, 0, Uint8Array.of(10), 100, Uint8Array.of(0), 1, 0))], reason: /builds on content the room does not have/ },
    {
      name: "an item under an editor's client id",
      as: ["eve", "editor"],
      frames: async () => [updateFrame(await forge(clientOf.ada, (d) => d.getText("doc:spec").insert(0, "forged ")))],
      reason: /belongs to ada/,
    },
    {
      name: "an update with a gap before it",
      as: ["eve", "editor"],
      frames: async () => {
        const doc = new Y.Doc();
        doc.clientID = 6161;
        doc.getText("doc:spec").insert(0, "first");
        const sv = Y.encodeStateVector(doc);
        doc.getText("doc:spec").insert(0, "second");
        return [updateFrame(Y.encodeStateAsUpdate(doc, sv))];
      },
      reason: /client 6161 writes from clock 5/,
    },
    {
      name: "an item whose origin the room lacks",
      as: ["eve", "editor"],
      frames: () => [updateFrame(bytes(1, 1, 7171, 0, Uint8Array.of(0x84), 999999, 3, "abc", 0))],
      reason: /refers to 999999:3/,
    },
    { name: "a delete set for content the room lacks", as: ["eve", "editor"], frames: () => [updateFrame(bytes(0, 1, 8181, 1, 0, 5))], reason: /deletes 8181:0\.\.5/ },
    {
      name: "a value nested 10,000 levels deep",
      as: ["eve", "editor"],
      frames: () => [updateFrame(bytes(1, 1, 9191, 0, Uint8Array.of(0x28), 1, "deep", "k", 1, new Uint8Array(20000).map((_, i) => (i % 2 ? 1 : 117)), Uint8Array.of(126), 0))],
      reason: /nested deeper than 64 levels/,
    },
    { name: "a struct with the reserved info bit", as: ["eve", "editor"], frames: () => [updateFrame(bytes(1, 1, 9292, 0, Uint8Array.of(0x14), 1, "t", "x", 0))], reason: /reserved bit/ },
    { name: "an unknown content kind", as: ["eve", "editor"], frames: () => [updateFrame(bytes(1, 1, 9393, 0, Uint8Array.of(0x0b), 1, "t", 0))], reason: /unknown content ref 11/ },
    { name: "a client id over 53 bits", as: ["eve", "editor"], frames: () => [updateFrame(bytes(1, 1, 2 ** 53 + 2, 0, Uint8Array.of(0), 1, 0))], reason: /exceeds 53 bits/ },
    { name: "a var-int of 11 bytes", as: ["eve", "editor"], frames: () => [updateFrame(Uint8Array.of(1, 1, ...new Array(10).fill(0x80), 0))], reason: /var-int/ },
    { name: "a string that is not UTF-8", as: ["eve", "editor"], frames: () => [updateFrame(bytes(1, 1, 9494, 0, Uint8Array.of(0x04), 1, "t", 2, Uint8Array.of(0xff, 0xfe), 0))], reason: /not UTF-8/ },
    { name: "a deleted range past the clock limit", as: ["eve", "editor"], frames: () => [updateFrame(bytes(0, 1, 9595, 1, 2 ** 31, 1))], reason: /exceeds the clock limit/ },
    // Authorship and roles, as raw Yjs.
    {
      name: "a viewer writing the client map",
      as: ["mallory", "viewer"],
      frames: async () => [updateFrame(await forge(4242, (d) => d.getMap("clients").set(String(clientOf.ada), participant("mallory"))))],
      reason: /mallory is a viewer/,
    },
    {
      name: "an editor renaming another's client",
      as: ["eve", "editor"],
      frames: async () => [updateFrame(await forge(4343, (d) => d.getMap("clients").set(String(clientOf.ada), participant("eve"))))],
      reason: /eve may not write the participant of client id/,
    },
    {
      name: "an editor naming her own client after another",
      as: ["eve", "editor"],
      frames: async () => [updateFrame(await forge(4444, (d) => d.getMap("clients").set("4444", participant("ada"))))],
      reason: /eve may not write the participant of client id 4444/,
    },
    {
      name: "a message posted in another's name",
      as: ["eve", "editor"],
      frames: async () => [
        updateFrame(
          await forge(4545, (d) => {
            const m = new Y.Map();
            d.getMap("messages").set("m-forged", m);
            m.set("conversation", "main");
            m.set("author", participant("ada"));
          }),
        ),
      ],
      reason: /eve may not write someone else as a message's `author`/,
    },
    {
      name: "a stop requested in another's name",
      as: ["eve", "editor"],
      frames: async () => [updateFrame(await forge(4646, (d) => /** @type {Y.Map<any>} */ (d.getMap("messages").get(message)).set("stopRequestedBy", participant("olga"))))],
      reason: /someone else as a message's `stopRequestedBy`/,
    },
    {
      name: "a reaction in another's name",
      as: ["rita", "reviewer"],
      frames: async () => [
        updateFrame(
          await forge(4747, (d) =>
            /** @type {Y.Map<any>} */ (/** @type {Y.Map<any>} */ (d.getMap("messages").get(message)).get("reactions")).set("+1:ada", { kind: "+1", by: participant("ada"), at: 1 }),
          ),
        ),
      ],
      reason: /rita may not write a reaction by someone else/,
    },
    {
      name: "a 512 KiB reaction",
      as: ["rita", "reviewer"],
      frames: async () => [
        updateFrame(
          await forge(4848, (d) =>
            /** @type {Y.Map<any>} */ (/** @type {Y.Map<any>} */ (d.getMap("messages").get(message)).get("reactions")).set("+1:rita", { kind: "+1", by: participant("rita"), pad: "x".repeat(512 * 1024) }),
          ),
        ),
      ],
      reason: /reaction of \d+ bytes exceeds the limit of 1024/,
    },
    {
      name: "a reviewer editing a document",
      as: ["rita", "reviewer"],
      frames: async () => [updateFrame(await forge(4949, (d) => d.getText("doc:spec").insert(0, "rita was here ")))],
      reason: /rita is a reviewer/,
    },
    {
      name: "a viewer editing a document",
      as: ["mallory", "viewer"],
      frames: async () => [updateFrame(await forge(5050, (d) => d.getText("doc:spec").insert(0, "mallory was here ")))],
      reason: /mallory is a viewer/,
    },
    {
      name: "an editor taking the context-owner role",
      as: ["eve", "editor"],
      frames: async () => [updateFrame(await forge(5151, (d) => d.getMap("roles").set("contextOwner", "eve")))],
      reason: /only the context owner \(olga\) may hand over/,
    },
    {
      name: "an editor accepting a context entry",
      as: ["eve", "editor"],
      frames: async () => [updateFrame(await forge(5252, (d) => /** @type {Y.Map<any>} */ (d.getMap("context").get(entry)).set("status", "accepted")))],
      reason: /only the context owner \(olga\) may curate/,
    },
    {
      name: "another client's causal record",
      as: ["eve", "editor"],
      frames: async () => [updateFrame(await forge(5353, (d) => d.getMap("epochs").set(`${clientOf.ada}:0`, "x")))],
      reason: /another client's causal record/,
    },
    // Amplification and floods.
    { name: "10,000 sync step 1s in one frame", as: ["mallory", "viewer"], frames: () => [Buffer.concat(new Array(10_000).fill(frame([0, 0, 1, 0])))], reason: /10000 messages exceeds the limit of 64/ },
    { name: "65 awareness queries in one frame", as: ["mallory", "viewer"], frames: () => [frame(new Array(65).fill(3))], reason: /65 messages exceeds/ },
    { name: "a 1 MB presence state", as: ["mallory", "viewer"], frames: () => [frame(bytes(1, vbuf(bytes(1, 777, 1, JSON.stringify({ pad: "x".repeat(1 << 20) })))))], reason: /presence state of \d+ bytes exceeds the limit of 16384/ },
    {
      name: "presence for 100 client ids",
      as: ["mallory", "viewer"],
      frames: () => {
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, 100);
        for (let i = 0; i < 100; i++) {
          encoding.writeVarUint(e, 10_000 + i);
          encoding.writeVarUint(e, 1);
          encoding.writeVarString(e, "{}");
        }
        return [frame(bytes(1, vbuf(encoding.toUint8Array(e))))];
      },
      reason: /at most 8 client ids/,
    },
  ];

  test(`a catalogue of ${catalogue.length} hostile frames is refused, each with its own reason`, async () => {
    assert.ok(catalogue.length >= 40, `${catalogue.length} entries`);
    const reasons = new Set();
    for (const c of catalogue) {
      const [who, role] = c.as;
      const frames = await c.frames();
      const closedWith = await closeOf(url(who, role), frames);
      assert.ok(closedWith, `${c.name}: the socket stayed open`);
      assert.ok(closedWith.code >= 1000 && closedWith.code !== 1000 && closedWith.code !== 1006, `${c.name}: closed with ${closedWith.code}`);
      assert.match(closedWith.reason, c.reason, `${c.name}: closed with ${closedWith.code} "${closedWith.reason}"`);
      reasons.add(closedWith.reason);
      // The room goes on: Ada's next edit is acknowledged.
      ada.docs.insert("spec", 0, ".");
      acked = `.${acked}`;
      await ada.whenSaved(SOCKET_DEADLINE_MS);
    }
    assert.ok(reasons.size >= catalogue.length - 6, `${reasons.size} distinct reasons for ${catalogue.length} frames`);
    assert.equal(textOf(olga, "spec") !== null, true);
    await waitFor(() => textOf(olga, "spec") === acked, { what: "olga to see every acknowledged edit" });
  });

  test("after a restart every acknowledged edit is there, and the room loads", async () => {
    await edge.stop();
    edge = await startEdge({ persistTo: dir, port, bindings: PRODUCTION });
    const summary = await fetch(`${edge.http}/rooms/${room}`, { headers: { authorization: `Bearer ${API_KEY}` } });
    assert.equal(summary.status, 200, await summary.clone().text());
    const doc = await fetch(`${edge.http}/rooms/${room}/documents/spec`, { headers: { authorization: `Bearer ${API_KEY}` } });
    assert.equal(doc.status, 200);
    assert.equal((await doc.json()).text, acked);
    // Attribution is the room's record, from the tokens.
    const blame = await openConfab(edge.ws, room, { id: "vera", name: "vera" }, { token: token("vera", "viewer") });
    try {
      assert.deepEqual(blame.history.participantForClient(clientOf.ada), { id: "ada", name: "ada", kind: "person" });
    } finally {
      blame.destroy();
    }
  });
});

describe("limits that keep a room alive (production mode)", () => {
  /** @type {Awaited<ReturnType<typeof startEdge>>} */
  let edge;
  /** @type {string} */
  let dir;
  /** @type {number} */
  let port;
  const LIMITED = { ...PRODUCTION, CONFAB_MAX_ROOM_BYTES: String(256 * 1024), CONFAB_MAX_CONNECTIONS: "40", CONFAB_MAX_CONNECTIONS_PER_USER: "10", CONFAB_WRITER_RESERVE: "10" };
  const get = (path) => fetch(`${edge.http}${path}`, { headers: { authorization: `Bearer ${API_KEY}` } });

  before(async () => {
    dir = await tempDir("confab-limits-");
    port = await freePort();
    edge = await startEdge({ persistTo: dir, port, bindings: LIMITED });
  });
  after(async () => {
    await edge?.stop();
  });

  test("a room filled to its size limit refuses more, says so in /stats and the audit, and loads after a restart", async () => {
    const room = uniqueRoom("full");
    const token = (sub, role) => mintToken(SECRET, { room, sub, role });
    const olga = await openConfab(edge.ws, room, { id: "olga", name: "olga" }, { token: token("olga", "owner") });
    const mallory = await openConfab(edge.ws, room, { id: "mallory", name: "mallory" }, { token: token("mallory", "editor") });
    /** @type {string[]} */
    const errors = [];
    mallory.on("error", (e) => errors.push(e.error.message));
    let written = "";
    try {
      olga.docs.ensure("Notes", "notes");
      olga.docs.insert("notes", 0, "kept");
      await olga.whenSaved();
      await waitFor(() => textOf(mallory, "notes") === "kept", { what: "mallory to sync" });
      // Mallory writes 16 KiB at a time until the room refuses.
      for (let i = 0; i < 40 && errors.length === 0; i++) {
        mallory.docs.insert("notes", 0, "x".repeat(16 * 1024));
        await Promise.race([mallory.whenSaved(SOCKET_DEADLINE_MS).then(() => (written += "x".repeat(16 * 1024))), waitFor(() => errors.length > 0, { what: "a refusal" })]).catch(() => {});
      }
      await waitFor(() => errors.length > 0, { what: "the room to refuse a write past its limit" });
      assert.ok(written.length >= 160 * 1024, `${written.length} bytes went in before the limit`);
      assert.match(errors.join("\n"), /room is full: it stores \d+ bytes/);
      const stats = await (await get(`/rooms/${room}/stats`)).json();
      assert.equal(stats.maxRoomBytes, 256 * 1024);
      assert.ok(stats.storedBytes <= stats.maxRoomBytes, JSON.stringify(stats));
      assert.equal(stats.nearLimit, true);
      const audit = await (await get(`/rooms/${room}/audit?limit=1000`)).json();
      assert.ok(audit.entries.some((e) => e.action === "room.size-warning"), "the owners were warned");
    } finally {
      mallory.destroy();
      olga.destroy();
    }
    await edge.stop();
    edge = await startEdge({ persistTo: dir, port, bindings: LIMITED });
    const doc = await get(`/rooms/${room}/documents/notes`);
    assert.equal(doc.status, 200, await doc.clone().text());
    assert.equal((await doc.json()).text, `${written}kept`);
  });

  test("one viewer token cannot take every connection: the owner and the API key still get in", async () => {
    const room = uniqueRoom("crowd");
    const token = (sub, role) => mintToken(SECRET, { room, sub, role });
    /** @type {WebSocket[]} */
    const open = [];
    /** @type {{ code: number, reason: string } | null} */
    let refused = null;
    try {
      for (let i = 0; i < 20 && !refused; i++) {
        const ws = new WebSocket(`${edge.ws}/${room}?token=${token("mallory", "viewer")}`);
        refused = await new Promise((resolve) => {
          ws.once("message", () => resolve(null));
          ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() }));
        });
        if (!refused) open.push(ws);
      }
      assert.equal(open.length, 10, "one participant holds at most 10 connections here");
      assert.ok(refused);
      assert.equal(refused.code, 1013);
      assert.match(refused.reason, /mallory has 10 connections open in this room/);
      // Other viewers fill the room up to the part kept for editors.
      for (let i = 0; open.length < 30; i++) {
        const ws = new WebSocket(`${edge.ws}/${room}?token=${token(`v${i}`, "viewer")}`);
        await new Promise((resolve) => ws.once("message", resolve));
        open.push(ws);
      }
      const late = await closeOf(`${edge.ws}/${room}?token=${token("vic", "viewer")}`);
      assert.ok(late);
      assert.match(late.reason, /kept for editors/);
      const olga = await openConfab(edge.ws, room, { id: "olga", name: "olga" }, { token: token("olga", "owner") });
      olga.docs.ensure("D", "d");
      olga.docs.insert("d", 0, "still working");
      await olga.whenSaved();
      olga.destroy();
      const summary = await get(`/rooms/${room}`);
      assert.equal(summary.status, 200);
    } finally {
      for (const ws of open) ws.terminate();
    }
  });
});
