// Offline persistence in Chromium (the demo opens its room with `persist: "indexeddb"`),
// against the edge under `wrangler dev`: a page loses its connection (its sockets are
// refused, the page itself still loads), edits the notes and keeps a private note,
// reloads while still offline and finds both, then comes back online, and the other
// page gets the edit. The private note never reaches the room.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { demoContext, gotoDemo, launchChromium, NOTES, pageProblems, ROOT, startWranglerDev, tempDir, uniqueRoom } from "./helpers.mjs";

const ARTIFACTS = path.join(ROOT, "tests/artifacts");

let edge;
let browser;
before(async () => {
  edge = await startWranglerDev({ persistTo: await tempDir("confab-offline-") });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await edge?.stop();
});

/**
 * A page in its own context whose room sockets can be cut: while `network.offline`, every
 * socket to the room is refused (and cutting closes the open one); the page's own files
 * still load.
 */
async function openPage(room, name) {
  const context = await demoContext(browser, name);
  const network = { offline: false, open: /** @type {any[]} */ ([]) };
  await context.routeWebSocket(/\/rooms\//, (ws) => {
    if (network.offline) return ws.close({ code: 1011, reason: "offline (test)" });
    ws.connectToServer();
    network.open.push(ws);
  });
  const page = await context.newPage();
  const problems = pageProblems(page);
  await gotoDemo(page, `${edge.http}/?room=${encodeURIComponent(room)}`);
  await page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
  const cut = async () => {
    network.offline = true;
    for (const ws of network.open.splice(0)) await ws.close({ code: 1011, reason: "offline (test)" }).catch(() => {});
  };
  return { page, context, problems, network, cut };
}

test("offline edits and private context survive a reload and reach the room when the connection returns", async () => {
  const room = uniqueRoom("offline");
  const ada = await openPage(room, "Ada");
  const bo = await openPage(room, "Bo");
  try {
    await ada.page.click(NOTES);
    await ada.page.keyboard.type("Plan:");
    await bo.page.waitForFunction(() => notesText() === "Plan:");

    // Ada's connection goes; she edits and keeps a private note.
    await ada.cut();
    await ada.page.locator("#status:not([data-status=synced])").waitFor({ timeout: 10_000 });
    await ada.page.click(NOTES);
    await ada.page.keyboard.press("End");
    await ada.page.keyboard.type(" ship on Friday.");
    await ada.page.fill("#context-text", "my staging password rotates");
    await ada.page.click("#context-private");
    await ada.page.locator("#context li", { hasText: "my staging password rotates" }).waitFor();
    await ada.page.evaluate(() => /** @type {any} */ (window).confabRoom.whenStoredLocally());

    // A reload while still offline: the edit and the private note are there.
    await ada.page.reload();
    await ada.page.waitForFunction(() => notesText() === "Plan: ship on Friday.", null, { timeout: 15_000 });
    await ada.page.locator("#context li", { hasText: "my staging password rotates" }).waitFor({ timeout: 10_000 });
    assert.notEqual(await ada.page.locator("#status").getAttribute("data-status"), "synced", "still offline");
    assert.equal(await bo.page.evaluate(() => notesText()), "Plan:", "nothing reached Bo yet");
    await mkdir(ARTIFACTS, { recursive: true });
    await ada.page.screenshot({ path: path.join(ARTIFACTS, "offline-after-reload.png") });

    // Back online: the edit reaches Bo, and the private note stays Ada's.
    ada.network.offline = false;
    await ada.page.locator("#status[data-status=synced]").waitFor({ timeout: 20_000 });
    await bo.page.waitForFunction(() => notesText() === "Plan: ship on Friday.", null, { timeout: 15_000 });
    await ada.page.locator("#status[data-save=saved]").waitFor({ timeout: 10_000 });
    const shared = await bo.page.evaluate(() => /** @type {any} */ (window).confabRoom.context.shared().map((e) => e.text));
    assert.ok(!shared.includes("my staging password rotates"), "the private note never reached the room");
    const blame = await bo.page.evaluate(() => /** @type {any} */ (window).confabRoom.history.blame("notes").map((s) => `${s.author?.name}:${s.text}`));
    assert.deepEqual(blame, ["Ada:Plan: ship on Friday."], "the offline edit is Ada's");
    assert.deepEqual([...ada.problems, ...bo.problems].filter((p) => !/WebSocket/.test(p)), [], "no errors but the refused sockets");
  } finally {
    await ada.context.close();
    await bo.context.close();
  }
});
