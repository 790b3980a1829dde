// States that tell the truth, and who is who: a connection the network dropped without
// closing it is noticed by the heartbeat and reopened, and "saving…" shows while the room has not
// stored an edit. The network is a real TCP proxy that can stall, between real clients
// (the npm package in Node, the demo in Chromium) and the real edge under workerd. A
// turn whose writer vanished is redrawn as interrupted.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import { Room, init } from "confab-rooms";
import { api, DEV_API_KEY, DEV_SECRET, gotoDemo, launchChromium, mintToken, NOTES, openConfab, ROOT, stallingProxy, startWranglerDev, tempDir, textOf, uniqueRoom, waitFor } from "./helpers.mjs";

const ARTIFACTS = path.join(ROOT, "tests/artifacts");

let edge;
before(async () => {
  edge = await startWranglerDev({ persistTo: await tempDir("confab-heartbeat-") });
  await init();
});
after(async () => {
  await edge?.stop();
});

/** Resolve with the room's next `status` event of `status`. */
function nextStatus(room, status, timeoutMs) {
  return room.whenStatus(status, timeoutMs);
}

test("a quiet connection stays up on heartbeats; a stalled one is given up, its edit kept and saved after", async () => {
  const proxy = await stallingProxy(edge.http);
  const name = uniqueRoom("heartbeat");
  const watcher = await openConfab(edge.ws, name, { id: "w", name: "Watcher" });
  const room = await Room.open({
    url: proxy.ws,
    room: name,
    user: { id: "ada", name: "Ada" },
    WebSocket,
    // Short enough for a test, long enough that a pong on a busy machine is not late.
    heartbeatTimeoutMs: 6_000,
  });
  try {
    await room.whenSynced();
    const doc = room.docs.create("Notes", "notes");
    room.docs.insert(doc, 0, "first");
    await room.whenSaved();
    assert.equal(room.saveState, "saved");

    // Nothing to say for a while: the client pings (a chunk through the proxy every two
    // seconds) and the room answers, so the connection is never taken for dead.
    const statuses = [];
    const off = room.on("status", (e) => statuses.push(e.status));
    const sentBefore = proxy.sent;
    await waitFor(() => proxy.sent >= sentBefore + 4, { what: "four heartbeats" });
    assert.deepEqual(statuses, [], "an idle, healthy connection is left alone");
    assert.equal(room.status, "synced");

    // The network stalls: no close, no error, just silence. An edit made now is
    // "saving"; the heartbeat notices the silence and the client reconnects.
    proxy.stall();
    room.docs.insert(doc, 5, " second");
    assert.equal(room.saveState, "saving", "sent on a connection that looks alive");
    await nextStatus(room, "reconnecting", 30_000);
    assert.equal(room.saveState, "unsaved", "kept here until the room is back");
    assert.ok(room.unacked > 0);
    off();

    // The network comes back: the edit is stored, and everyone has it.
    proxy.resume();
    await room.whenSynced(20_000);
    await room.whenSaved(10_000);
    assert.equal(room.saveState, "saved");
    await waitFor(() => textOf(watcher, "notes") === "first second", { what: "the edit at the watcher" });
  } finally {
    room.destroy();
    watcher.destroy();
    await proxy.close();
  }
});

test("the demo's chip says saving… while the room has not stored an edit, then synced", async () => {
  const proxy = await stallingProxy(edge.http);
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 760 } })).newPage();
    await page.goto(`${proxy.http}/?room=${encodeURIComponent(uniqueRoom("chip"))}`);
    const chip = page.locator("#status");
    await page.locator("#status[data-status=synced][data-save=saved]").waitFor({ timeout: 15_000 });

    proxy.stall();
    await page.click(NOTES);
    await page.keyboard.type("typed while the network is stalled");
    await page.locator("#status[data-save=saving]").waitFor({ timeout: 5_000 });
    assert.match(await chip.textContent(), /saving…/);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "heartbeat-saving.png") });

    proxy.resume();
    await page.locator("#status[data-status=synced][data-save=saved]").waitFor({ timeout: 15_000 });
    assert.doesNotMatch(await chip.textContent(), /saving/);
  } finally {
    await browser.close();
    await proxy.close();
  }
});

test("a turn whose writer vanished is shown interrupted in the page, its Stop button gone", async () => {
  const proxy = await stallingProxy(edge.http);
  const browser = await launchChromium();
  const name = uniqueRoom("vanished");
  // The writer reaches the room through the proxy, so its connection can be cut as a
  // crashed tab's would be: no goodbye, the socket simply gone.
  const agent = await Room.open({
    url: proxy.ws,
    room: name,
    user: { id: "bot", name: "Bot", kind: "agent" },
    WebSocket,
  });
  try {
    await agent.whenSynced();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 760 } })).newPage();
    await gotoDemo(page, `${edge.http}/?room=${encodeURIComponent(name)}`);
    await page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
    agent.chat.ensureConversation("Main", "main");
    const turn = agent.chat.openTurn("main");
    agent.chat.appendTurn(turn, "Half an answer");
    await agent.whenSaved();
    const shown = page.locator(`#messages li[data-id="${turn}"]`);
    await page.locator(`#messages li[data-id="${turn}"][data-status=streaming] button.stop`).waitFor({ timeout: 10_000 });

    await proxy.close();
    // The page stops waiting for a writer that is gone (after the presence timeout).
    await page.locator(`#messages li[data-id="${turn}"][data-status=interrupted]`).waitFor({ timeout: 60_000 });
    assert.equal(await shown.locator("button.stop").count(), 0, "no Stop for a turn nobody writes");
    assert.match(await shown.locator(".turn-status").textContent(), /interrupted/);
    assert.match(await shown.locator(".text").textContent(), /Half an answer/);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "heartbeat-interrupted.png") });
  } finally {
    agent.destroy();
    await browser.close();
    await proxy.close().catch(() => {});
  }
});
