// A space's members and shared agents under workerd: member records that win over
// tokens, a space that always keeps a lead, and agents shown available, in use or
// scheduled, with a scheduled task posted in its room and answered by the agent's own
// process (on an OpenAI-compatible stand-in on 127.0.0.1).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { Space } from "confab-rooms";
import { Agent } from "confab-rooms/agent";
import { fakeModelServer, modelOf } from "./fake-llm.mjs";
import { api, DEV_SECRET, mintToken, openConfab, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

describe("a space's members and shared agents", () => {
  let edge;
  let llm;
  const open = [];

  before(async () => {
    edge = await startEdge();
    llm = await fakeModelServer();
  });
  after(async () => {
    for (const x of open) x.close?.() ?? x.destroy?.();
    await llm?.close();
    await edge?.stop();
  });

  test("members keep the role a lead gave them, over their token; removed members are refused; a space keeps a lead", async () => {
    const name = uniqueRoom("team");
    const resource = `space:${name}`;
    const lea = mintToken(DEV_SECRET, { room: resource, sub: "lea", name: "Lea", role: "owner" });
    const cat = mintToken(DEV_SECRET, { room: resource, sub: "cat", name: "Cat", role: "editor" });
    const vic = mintToken(DEV_SECRET, { room: resource, sub: "vic", name: "Vic", role: "viewer" });
    const space = await Space.open({ url: edge.http, space: name, token: lea, WebSocket: /** @type {any} */ (WebSocket) });
    open.push(space);
    // Opening the space with a token makes a member with the token's role.
    assert.deepEqual(space.members.map((m) => [m.id, m.label]), [["lea", "lead"]]);
    assert.equal((await api(edge.http, "GET", `/spaces/${name}/members`, { token: cat })).status, 200);
    await api(edge.http, "GET", `/spaces/${name}/rooms`, { token: vic });
    await waitFor(() => space.members.length === 3, { what: "Cat and Vic listed live" });
    assert.deepEqual(space.members.map((m) => `${m.name}:${m.label}`), ["Lea:lead", "Cat:contributor", "Vic:viewer"]);
    // Members no room has seen are on the dashboard, offline, with their role.
    assert.deepEqual(space.people.map((p) => `${p.name}:${p.state}:${p.role}`).sort(), ["Cat:offline:contributor", "Lea:offline:lead", "Vic:offline:viewer"]);

    // Only a lead sets roles; Cat's editor token now carries a reviewer.
    const refused = await api(edge.http, "PUT", `/spaces/${name}/members/vic`, { token: cat, body: { role: "lead" } });
    assert.deepEqual([refused.status, refused.json.error.code], [403, "forbidden"]);
    await space.setMember("cat", "reviewer");
    await waitFor(() => space.members.find((m) => m.id === "cat")?.label === "reviewer", { what: "Cat a reviewer, live" });
    const room = uniqueRoom("r");
    const made = await api(edge.http, "POST", `/spaces/${name}/rooms`, { token: cat, body: { name: room } });
    assert.deepEqual([made.status, made.json.error.code], [403, "forbidden"]);
    assert.match(made.json.error.message, /Cat is a reviewer/);
    const bad = await api(edge.http, "PUT", `/spaces/${name}/members/cat`, { token: lea, body: { role: "boss" } });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /unknown role `boss`/);

    // Removed: Vic's token is refused, by name, until a lead adds Vic again.
    await space.removeMember("vic");
    const gone = await api(edge.http, "GET", `/spaces/${name}/rooms`, { token: vic });
    assert.deepEqual([gone.status, gone.json.error.code], [403, "forbidden"]);
    assert.match(gone.json.error.message, /vic was removed from this space/);
    await space.setMember("vic", "contributor");
    assert.equal((await api(edge.http, "POST", `/spaces/${name}/rooms`, { token: vic, body: { name: room } })).status, 200);

    // The only lead can neither step down nor be removed.
    const alone = await api(edge.http, "PUT", `/spaces/${name}/members/lea`, { token: lea, body: { role: "contributor" } });
    assert.deepEqual([alone.status, alone.json.error.code], [409, "conflict"]);
    assert.match(alone.json.error.message, /only lead/);
    const audit = await space.audit();
    assert.deepEqual(
      audit.entries.filter((e) => e.action === "space.member").map((e) => [e.target, e.detail.label ?? "removed"]),
      [["cat", "reviewer"], ["vic", "removed"], ["vic", "contributor"]],
    );
  });

  test("shared agents show available, in use or scheduled; a due task is posted in its room and the agent answers it", async () => {
    const name = uniqueRoom("team");
    const lea = mintToken(DEV_SECRET, { room: `space:${name}`, sub: "lea", name: "Lea", role: "owner" });
    const space = await Space.open({ url: edge.http, space: name, token: lea, WebSocket: /** @type {any} */ (WebSocket) });
    open.push(space);
    const room = uniqueRoom("research");
    await space.createRoom(room, "Research");
    await space.registerAgent("agent-scout", { name: "Scout", description: "Finds sources", model: "test-model" });
    await space.registerAgent("agent-writer", { name: "Writer", description: "Drafts" });
    await waitFor(() => space.agents.length === 2, { what: "both agents listed" });
    assert.deepEqual(space.agents.map((a) => `${a.name}:${a.state}`), ["Scout:available", "Writer:available"]);

    // Scout's own process joins the room: in use there.
    const agentToken = mintToken(DEV_SECRET, { room, sub: "agent-scout", name: "Scout", kind: "agent", role: "editor" });
    const scout = await Agent.join({ url: edge.ws, room, name: "Scout", token: agentToken, model: modelOf(llm) });
    open.push({ close: () => void scout.leave() });
    await waitFor(() => space.agents.find((a) => a.id === "agent-scout")?.state === "in use", { what: "Scout in use", timeout: 15_000 });
    assert.deepEqual(space.agents.find((a) => a.id === "agent-scout").rooms, ["Research"]);

    // Writer is scheduled for later; Scout for a moment from now.
    const later = Date.now() + 3_600_000;
    await space.scheduleAgent("agent-writer", { room, task: "draft the weekly note", at: later, everyMinutes: 60 * 24 * 7 });
    await waitFor(() => space.agents.find((a) => a.id === "agent-writer")?.state === "scheduled", { what: "Writer scheduled" });
    assert.equal(space.agents.find((a) => a.id === "agent-writer").schedule.at, later);
    const tooSoon = await api(edge.http, "PUT", `/spaces/${name}/agents/agent-writer/schedule`, { token: lea, body: { room, task: "x", at: later, everyMinutes: 1 } });
    assert.equal(tooSoon.status, 400);
    assert.match(tooSoon.json.error.message, /repeats at most every 5 minutes/);
    const nowhere = await api(edge.http, "PUT", `/spaces/${name}/agents/agent-writer/schedule`, { token: lea, body: { room: "nope", task: "x", at: later } });
    assert.equal(nowhere.status, 404);

    llm.state.mode = "words";
    llm.state.words = ["Three ", "sources ", "found."];
    await space.scheduleAgent("agent-scout", { room, task: "find sources on CRDTs", at: Date.now() + 5_000 });
    const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" });
    open.push(ada);
    const asked = await waitFor(
      () => ada.chat.messages("main").find((m) => m.text.startsWith("@Scout find sources on CRDTs")),
      { timeout: 30_000, what: "the scheduled task posted" },
    );
    assert.deepEqual([asked.author.id, asked.author.kind], ["lea", "person"]);
    assert.match(asked.text, /scheduled by Lea/);
    const answer = await waitFor(
      () => ada.chat.messages("main").find((m) => m.author.id === "agent-scout" && m.status === "done"),
      { timeout: 15_000, what: "Scout's answer" },
    );
    assert.equal(answer.text, "Three sources found.");
    // A one-off task is done: no schedule left; the run is audited with its message.
    await waitFor(() => space.agents.find((a) => a.id === "agent-scout")?.schedule === null, { what: "Scout's task done" });
    const ran = (await space.audit()).entries.find((e) => e.action === "space.agent" && e.detail.change === "ran");
    assert.deepEqual([ran.target, ran.detail.room, ran.detail.message], ["agent-scout", room, asked.id]);

    await space.unscheduleAgent("agent-writer");
    await scout.leave();
    await waitFor(() => space.agents.every((a) => a.state === "available"), { what: "both available again", timeout: 15_000 });
    await space.removeAgent("agent-writer");
    await waitFor(() => space.agents.length === 1, { what: "Writer off the list" });
  });
});
