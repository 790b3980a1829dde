// Team spaces and inboxes under workerd: the directory's live counts as people come and
// go, restarts that correct themselves, audited room changes, roles, and notifications
// kept while their person is offline.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { Inbox, Space } from "confab-rooms";
import { api, closeOf, DEV_API_KEY, DEV_SECRET, mintToken, openConfab, startEdge, tempDir, uniqueRoom, waitFor } from "./helpers.mjs";

/** The live counts of `room` in `space`, as `people/agents`. */
function counts(space, room) {
  const r = space.rooms.find((x) => x.name === room);
  return r ? `${r.people}/${r.agents}` : "missing";
}

describe("spaces and inboxes under workerd", () => {
  let edge;
  const open = [];
  const opts = () => ({ url: edge.http, WebSocket: /** @type {any} */ (WebSocket) });

  before(async () => {
    edge = await startEdge();
  });
  after(async () => {
    for (const x of open) x.close?.() ?? x.destroy?.();
    await edge?.stop();
  });

  test("the directory's counts move live as people and agents join and leave", async () => {
    const name = uniqueRoom("space");
    const space = await Space.open({ ...opts(), space: name });
    open.push(space);
    assert.deepEqual(space.rooms, []);
    const room = uniqueRoom("standup");
    const made = await space.createRoom(room, "Daily standup");
    assert.equal(made.title, "Daily standup");
    await waitFor(() => counts(space, room) === "0/0", { what: "the new room listed" });

    const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
    await waitFor(() => counts(space, room) === "1/0", { what: "Ada counted" });
    const bot = await openConfab(edge.ws, room, { id: "bot", name: "Scribe", kind: "agent" });
    const bob = await openConfab(edge.ws, room, { id: "bob", name: "Bob" });
    // Joins within the report gap arrive as one later report: it ends on the truth.
    await waitFor(() => counts(space, room) === "2/1", { what: "Bob and the agent counted", timeout: 15_000 });
    const listed = space.rooms.find((r) => r.name === room);
    assert.deepEqual(listed.present.map((p) => `${p.name}:${p.kind}`).sort(), ["Ada:person", "Bob:person", "Scribe:agent"]);
    // Two tabs of one person count once.
    const ada2 = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
    bob.destroy();
    await waitFor(() => counts(space, room) === "1/1", { what: "Bob gone, Ada once", timeout: 15_000 });
    for (const c of [ada, ada2, bot]) c.destroy();
    await waitFor(() => counts(space, room) === "0/0", { what: "everyone gone", timeout: 15_000 });

    // REST says the same as the feed.
    const rest = await api(edge.http, "GET", `/spaces/${name}/rooms`, { token: DEV_API_KEY });
    assert.equal(rest.status, 200);
    assert.deepEqual(
      rest.json.rooms.map((r) => [r.name, r.people, r.agents, r.archived]),
      [[room, 0, 0, false]],
    );
    assert.ok(rest.json.rooms[0].lastActivity >= made.createdAt);
  });

  test("rename, archive and delete are audited in the space and the room, shown live, and a deleted room closes", async () => {
    const name = uniqueRoom("space");
    const space = await Space.open({ ...opts(), space: name });
    open.push(space);
    const events = [];
    space.on("event", (e) => events.push(e.action));
    const room = uniqueRoom("plans");
    await space.createRoom(room, "Plans");
    const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
    await space.renameRoom(room, "Q3 plans");
    await space.archiveRoom(room);
    await waitFor(() => space.rooms[0]?.title === "Q3 plans" && space.rooms[0]?.archived, { what: "renamed and archived live" });
    await space.archiveRoom(room, false);
    const audit = await space.audit();
    assert.deepEqual(
      audit.entries.map((e) => e.action),
      ["room.created", "room.renamed", "room.archived", "room.restored"],
    );
    assert.deepEqual(audit.entries[1].detail, { title: "Q3 plans", was: "Plans" });
    // The room's own audit log (and so its webhooks) has them too.
    const roomAudit = await api(edge.http, "GET", `/rooms/${room}/audit?limit=1000`, { token: DEV_API_KEY });
    const roomActions = roomAudit.json.entries.map((e) => e.action);
    for (const a of ["room.created", "room.renamed", "room.archived", "room.restored"]) assert.ok(roomActions.includes(a), `${a} in ${roomActions}`);

    const closedAda = new Promise((resolve) => ada.on("status", (e) => e.code === 4410 && resolve(e)));
    await space.deleteRoom(room);
    await waitFor(() => space.rooms.length === 0, { what: "the room gone from the directory" });
    assert.ok(events.includes("room.deleted"), `${events}`);
    const closeEvent = /** @type {any} */ (await closedAda);
    assert.match(closeEvent.reason, /deleted from space/);
    ada.destroy();
    const refused = await closeOf(`${edge.ws}/${room}`);
    assert.equal(refused?.code, 4410);
    assert.match(refused.reason, /deleted from space/);
  });

  test("roles: contributors create, only leads delete, viewers read; the audit is not for viewers", async () => {
    const name = uniqueRoom("space");
    const resource = `space:${name}`;
    const lead = mintToken(DEV_SECRET, { room: resource, sub: "lea", role: "owner" });
    const contributor = mintToken(DEV_SECRET, { room: resource, sub: "cat", role: "editor" });
    const viewer = mintToken(DEV_SECRET, { room: resource, sub: "vic", role: "viewer" });
    const room = uniqueRoom("r");
    assert.equal((await api(edge.http, "POST", `/spaces/${name}/rooms`, { token: viewer, body: { name: room } })).status, 403);
    const made = await api(edge.http, "POST", `/spaces/${name}/rooms`, { token: contributor, body: { name: room, title: "R" } });
    assert.equal(made.status, 200, JSON.stringify(made.json));
    const again = await api(edge.http, "POST", `/spaces/${name}/rooms`, { token: contributor, body: { name: room } });
    assert.deepEqual([again.status, again.json.error.code], [409, "conflict"]);
    const del = await api(edge.http, "DELETE", `/spaces/${name}/rooms/${room}`, { token: contributor });
    assert.deepEqual([del.status, del.json.error.code], [403, "forbidden"]);
    assert.match(del.json.error.message, /space lead/);
    assert.equal((await api(edge.http, "GET", `/spaces/${name}/rooms`, { token: viewer })).status, 200);
    assert.equal((await api(edge.http, "GET", `/spaces/${name}/audit`, { token: viewer })).status, 403);
    // A room token does not open a space.
    const roomToken = mintToken(DEV_SECRET, { room: name, sub: "lea", role: "owner" });
    const wrong = await api(edge.http, "GET", `/spaces/${name}/rooms`, { token: roomToken });
    assert.equal(wrong.json.error.code, "token_wrong_room");
    const bad = await api(edge.http, "PATCH", `/spaces/${name}/rooms/${room}`, { token: lead, body: { titel: "x" } });
    assert.deepEqual([bad.status, bad.json.error.code], [400, "invalid_request"]);
    assert.match(bad.json.error.message, /unknown field `titel`/);
    assert.equal((await api(edge.http, "DELETE", `/spaces/${name}/rooms/${room}`, { token: lead })).status, 200);
  });

  test("after a restart the directory is kept and rooms report under their new boot", async () => {
    const dir = await tempDir();
    const first = await startEdge({ persistTo: dir });
    const name = uniqueRoom("space");
    const room = uniqueRoom("kept");
    const o = { url: first.http, WebSocket: /** @type {any} */ (WebSocket) };
    const space = await Space.open({ ...o, space: name });
    await space.createRoom(room, "Kept");
    const ada = await openConfab(first.ws, room, { id: "ada", name: "Ada" });
    await waitFor(() => counts(space, room) === "1/0", { what: "Ada counted" });
    ada.destroy();
    space.close();
    // Stopped with Ada's count possibly still standing: the new boot's report replaces it.
    await first.stop();
    const second = await startEdge({ persistTo: dir });
    try {
      const o2 = { url: second.http, WebSocket: /** @type {any} */ (WebSocket) };
      const again = await Space.open({ ...o2, space: name });
      assert.deepEqual(again.rooms.map((r) => r.title), ["Kept"]);
      const bob = await openConfab(second.ws, room, { id: "bob", name: "Bob" });
      await waitFor(() => counts(again, room) === "1/0" && again.rooms[0].present[0]?.id === "bob", { what: "Bob counted after the restart" });
      bob.destroy();
      await waitFor(() => counts(again, room) === "0/0", { what: "Bob gone", timeout: 15_000 });
      again.close();
    } finally {
      await second.stop();
    }
  });

  test("an @mention reaches the person's inbox live, and is kept while they are offline", async () => {
    const room = uniqueRoom("mentions");
    const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada Lovelace" });
    const bob = await openConfab(edge.ws, room, { id: "bob", name: "Bob" });
    open.push(ada);
    await waitFor(() => ada.presence.peers().some((p) => p.state.user?.id === "bob"), { what: "Ada sees Bob" });
    // Bob leaves the room: the room still knows him by name.
    bob.destroy();
    const inbox = await Inbox.open({ ...opts(), user: "bob" });
    const arrived = [];
    inbox.on("notification", (n) => arrived.push(n));
    ada.chat.ensureConversation("Main", "main");
    ada.chat.post("main", "@Bob can you check the numbers?");
    await waitFor(() => arrived.length === 1, { what: "the mention delivered live" });
    const n = arrived[0];
    assert.deepEqual([n.kind, n.title, n.room, n.from.id, n.read], ["mention", "Ada Lovelace mentioned you", room, "ada", false]);
    assert.match(n.target, /^message:/);
    assert.equal(n.body, "@Bob can you check the numbers?");
    assert.equal(inbox.unread, 1);
    inbox.close();

    // Offline: the next one waits in the inbox.
    ada.chat.post("main", "and @bob, the chart too");
    const later = await waitFor(async () => {
      const r = await api(edge.http, "GET", "/users/bob/inbox?unread=true", { token: DEV_API_KEY });
      return r.json.notifications.length === 2 ? r.json : null;
    }, { what: "the second mention kept" });
    assert.equal(later.unread, 2);
    const back = await Inbox.open({ ...opts(), user: "bob" });
    open.push(back);
    assert.equal(back.unread, 2);
    await back.markRead([back.notifications[0].id]);
    await waitFor(() => back.unread === 1, { what: "one read, live" });
    await back.markAllRead();
    await waitFor(() => back.unread === 0, { what: "all read" });
    // Nobody is mentioned by their own message.
    const own = await api(edge.http, "GET", "/users/ada/inbox", { token: DEV_API_KEY });
    assert.equal(own.json.notifications.length, 0);
  });

  test("the backend delivers with the server key; a person's token reads only their own inbox", async () => {
    const ada = mintToken(DEV_SECRET, { room: "anything", sub: "ada", role: "viewer" });
    const sent = await api(edge.http, "POST", "/users/ada/inbox", {
      token: DEV_API_KEY,
      body: { kind: "conflict", urgency: "urgent", title: "A conflict needs your input", room: "plans", target: "doc:report" },
    });
    assert.equal(sent.status, 200, JSON.stringify(sent.json));
    const mine = await api(edge.http, "GET", "/users/ada/inbox", { token: ada });
    assert.deepEqual(mine.json.notifications.map((n) => [n.kind, n.urgency]), [["conflict", "urgent"]]);
    const theirs = await api(edge.http, "GET", "/users/bob/inbox", { token: ada });
    assert.deepEqual([theirs.status, theirs.json.error.code], [403, "forbidden"]);
    const spoof = await api(edge.http, "POST", "/users/ada/inbox", { token: ada, body: { kind: "insight", title: "x" } });
    assert.equal(spoof.status, 403);
    const bad = await api(edge.http, "POST", "/users/ada/inbox", { token: DEV_API_KEY, body: { kind: "shout", title: "x" } });
    assert.deepEqual([bad.status, bad.json.error.code], [400, "invalid_request"]);
    assert.match(bad.json.error.message, /unknown notice kind `shout`/);
    const missing = await api(edge.http, "POST", "/users/ada/inbox/read", { token: ada, body: { ids: ["n99"] } });
    assert.deepEqual([missing.status, missing.json.error.code], [404, "not_found"]);
  });

  test("with an inbox webhook set, each notification is also POSTed there, signed, and retried until it lands", async () => {
    const received = [];
    // The receiver is down for the first two attempts at the second notification.
    let failing = 0;
    const receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push({ body, signature: req.headers["x-confab-signature"] });
        if (failing > 0) {
          failing -= 1;
          res.statusCode = 503;
        }
        res.end("ok");
      });
    });
    await new Promise((resolve) => receiver.listen(0, "127.0.0.1", () => resolve(undefined)));
    const { port } = /** @type {import("node:net").AddressInfo} */ (receiver.address());
    const hooked = await startEdge({ bindings: { CONFAB_INBOX_WEBHOOK: `http://127.0.0.1:${port}/inbox` } });
    try {
      const sent = await api(hooked.http, "POST", "/users/ada/inbox", {
        token: DEV_API_KEY,
        body: { kind: "handoff", title: "Bob handed you the launch plan", room: "plans" },
      });
      assert.equal(sent.status, 200);
      await waitFor(() => received.length === 1, { what: "the webhook delivery" });
      const { body, signature } = received[0];
      assert.equal(signature, `sha256=${createHmac("sha256", DEV_SECRET).update(body).digest("hex")}`);
      const payload = JSON.parse(body);
      assert.deepEqual([payload.user, payload.notification.kind, payload.notification.id, payload.attempt], ["ada", "handoff", sent.json.id, 1]);

      failing = 2;
      const second = await api(hooked.http, "POST", "/users/ada/inbox", {
        token: DEV_API_KEY,
        body: { kind: "insight", title: "Churn rose 3% this week" },
      });
      // Refused twice (503), then delivered on the third attempt, after 1 s and 2 s.
      await waitFor(() => received.length === 4, { what: "two retries after two failures", timeout: 15_000 });
      const attempts = received.slice(1).map((r) => JSON.parse(r.body));
      assert.deepEqual(attempts.map((p) => [p.notification.id, p.attempt]), [[second.json.id, 1], [second.json.id, 2], [second.json.id, 3]]);
      assert.equal(failing, 0);
      // The inbox kept it from the start, whatever the receiver said.
      const listed = await api(hooked.http, "GET", "/users/ada/inbox", { token: DEV_API_KEY });
      assert.equal(listed.json.notifications[0].id, second.json.id);
    } finally {
      await hooked.stop();
      receiver.close();
    }
  });
});
