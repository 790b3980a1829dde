// Undo in the workspace demo, in Chromium against the edge under `wrangler dev`: the
// notes editor's undo keys take back only your own typing and put the caret back, the
// history survives a reload (the demo keeps the room in IndexedDB), and an agent's turn
// that edited the notes offers "Undo the agent's changes" to everyone.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { demoContext, gotoDemo, launchChromium, NOTES, openConfab, pageProblems, ROOT, startWranglerDev, tempDir, uniqueRoom, waitFor } from "./helpers.mjs";

const ARTIFACTS = path.join(ROOT, "tests/artifacts");

/** @type {Awaited<ReturnType<typeof startWranglerDev>>} */
let edge;
/** @type {import("playwright-core").Browser} */
let browser;
before(async () => {
  edge = await startWranglerDev({ persistTo: await tempDir("confab-undo-demo-") });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await edge?.stop();
});

/** The demo in a context of its own, as `name`, synced. */
async function openDemo(room, name) {
  const context = await demoContext(browser, name);
  const page = await context.newPage();
  const problems = pageProblems(page);
  await gotoDemo(page, `${edge.http}/?room=${encodeURIComponent(room)}`);
  await page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
  return { page, context, problems };
}

/** Wait until the page's notes read `text`. */
function notesAre(page, text) {
  return page.waitForFunction((text) => notesText() === text, text, { timeout: 15_000 });
}

/** Where the caret is in the page's notes. */
function caret(page) {
  return page.evaluate(() => /** @type {any} */ (window).confabEditors.view("notes").state.selection.main.head);
}

test("the demo's undo keys take back only your own typing, put the caret back, and keep the history across a reload", async () => {
  const room = uniqueRoom("undo-demo");
  const ada = await openDemo(room, "Ada");
  const bo = await openDemo(room, "Bo");
  try {
    await bo.page.click(NOTES);
    await bo.page.keyboard.type("Bo: agreed.\n");
    await notesAre(ada.page, "Bo: agreed.\n");
    await ada.page.click(NOTES);
    await ada.page.keyboard.press("Control+End");
    await ada.page.keyboard.type("Ada: ship on Friday.");
    await notesAre(bo.page, "Bo: agreed.\nAda: ship on Friday.");
    // Bo adds a heading meanwhile.
    await bo.page.keyboard.press("Control+Home");
    await bo.page.keyboard.type("# Plan\n");
    const all = "# Plan\nBo: agreed.\nAda: ship on Friday.";
    await notesAre(ada.page, all);

    await ada.page.keyboard.press("Control+z");
    await notesAre(bo.page, "# Plan\nBo: agreed.\n");
    assert.equal(await ada.page.evaluate(() => notesText()), "# Plan\nBo: agreed.\n", "only Ada's typing went");
    assert.equal(await caret(ada.page), "# Plan\nBo: agreed.\n".length, "the caret is back where Ada began");
    await ada.page.keyboard.press("Control+y");
    await notesAre(bo.page, all);
    assert.equal(await caret(ada.page), all.length, "redo: the caret where it was when Ada undid");

    // A reload: the room and Ada's undo history come back from the device.
    await ada.page.evaluate(() => /** @type {any} */ (window).confabRoom.whenStoredLocally());
    await ada.page.reload();
    await ada.page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
    await notesAre(ada.page, all);
    await ada.page.click(NOTES);
    await ada.page.keyboard.press("Control+z");
    await notesAre(bo.page, "# Plan\nBo: agreed.\n");
    // Bo's undo is his own: his heading goes, and nothing of Ada's returns.
    await bo.page.click(NOTES);
    await bo.page.keyboard.press("Control+z");
    await notesAre(ada.page, "Bo: agreed.\n");
    assert.deepEqual([...ada.problems, ...bo.problems], [], "no errors in either page");
  } finally {
    await ada.context.close();
    await bo.context.close();
  }
});

test("an agent's turn that edited the notes offers \"Undo the agent's changes\", which takes its text back for everyone", async () => {
  const room = uniqueRoom("undo-demo-agent");
  const ada = await openDemo(room, "Ada");
  const bo = await openDemo(room, "Bo");
  const agent = await openConfab(edge.ws, room, { id: "helper", name: "Helper", kind: "agent" });
  try {
    await ada.page.click(NOTES);
    await ada.page.keyboard.type("Ship on Friday.");
    await waitForText(agent, "Ship on Friday.");
    // The agent's turn edits the notes as it answers; a turn that touches no document
    // gets no button.
    async function* answer() {
      yield "Adding the test plan. ";
      agent.docs.insert("notes", agent.docs.text("notes").length, " Tests first, then docs.");
      yield "Done.";
    }
    agent.chat.ensureConversation("Main", "main");
    const turn = await agent.chat.streamTurn("main", answer());
    const quiet = await agent.chat.streamTurn("main", (async function* () {
      yield "Nothing to change.";
    })());
    const edited = "Ship on Friday. Tests first, then docs.";
    await notesAre(bo.page, edited);
    const button = (page) => page.locator(`#messages li[data-id="${turn}"] button.undo-turn`);
    await button(ada.page).waitFor({ timeout: 10_000 });
    await ada.page.locator(`#messages li[data-id="${quiet}"] .text`, { hasText: "Nothing to change." }).waitFor();
    assert.equal(await ada.page.locator(`#messages li[data-id="${quiet}"] button.undo-turn`).count(), 0, "nothing to undo there");
    assert.match((await button(ada.page).getAttribute("title")) ?? "", /Notes/);
    await mkdir(ARTIFACTS, { recursive: true });
    await ada.page.screenshot({ path: path.join(ARTIFACTS, "demo-undo-agent-button.png") });

    // The notice hides itself after a few seconds: watch for it from the click.
    const noticed = ada.page.locator("#notice", { hasText: "Undid Helper's changes in Notes." }).waitFor({ timeout: 30_000 });
    await button(ada.page).click();
    await notesAre(bo.page, "Ship on Friday.");
    await notesAre(ada.page, "Ship on Friday.");
    await waitForText(agent, "Ship on Friday.");
    await ada.page.locator(`#messages li[data-id="${turn}"] .turn-undone`, { hasText: "changes undone by Ada" }).waitFor({ timeout: 10_000 });
    await noticed;
    await ada.page.screenshot({ path: path.join(ARTIFACTS, "demo-undo-agent-turn.png") });
    // The revert is Ada's own step: her undo key brings the agent's text back.
    await ada.page.click(NOTES);
    await ada.page.keyboard.press("Control+z");
    await notesAre(bo.page, edited);
    assert.deepEqual([...ada.problems, ...bo.problems], [], "no errors in either page");
  } finally {
    agent.destroy();
    await ada.context.close();
    await bo.context.close();
  }
});

/** Wait until `client`'s notes read `text`. */
async function waitForText(client, text) {
  await waitFor(() => client.docs.list().some((d) => d.id === "notes") && client.docs.text("notes") === text, { what: `the notes to read "${text}"` });
}
