// The workspace in Chromium, against the edge under `wrangler dev`: the team space's
// directory with live counts as pages join and leave, rooms made, renamed and archived
// from it, and an @mention landing in someone's inbox while they are in another room.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { Agent } from "confab-rooms/agent";
import { fakeModelServer, modelOf } from "./fake-llm.mjs";
import { demoContext, DEV_SECRET, gotoDemo, launchChromium, mintToken, NOTES, pageProblems, ROOT, startWranglerDev, tempDir, uniqueRoom } from "./helpers.mjs";

const ARTIFACTS = path.join(ROOT, "tests/artifacts");

let edge;
let browser;
let llm;
before(async () => {
  edge = await startWranglerDev({ persistTo: await tempDir("confab-workspace-") });
  llm = await fakeModelServer();
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
});
after(async () => {
  await llm?.close();
  await browser?.close();
  await edge?.stop();
});

/** A guest's page (its own context: each tab is its own guest) at `query`. */
async function guest(name, query) {
  const context = await demoContext(browser, name);
  const page = await context.newPage();
  const problems = pageProblems(page);
  await gotoDemo(page, `${edge.http}/${query}`);
  return { page, problems, context };
}

async function openSpace(name, space) {
  const g = await guest(name, `?space=${encodeURIComponent(space)}`);
  await g.page.locator("#space-status[data-status=synced]").waitFor({ timeout: 15_000 });
  return g;
}

async function openRoom(name, room, space, token = "") {
  const g = await guest(name, `?room=${encodeURIComponent(room)}&space=${encodeURIComponent(space)}${token && `&token=${token}`}`);
  await g.page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
  return g;
}

/** The card of the room titled `title`. */
const cardOf = (page, title) => page.locator(".room-card", { has: page.locator(".room-title", { hasText: title }) });

test("the space's directory: a new room, counts that move as pages join and leave, rename and archive", async () => {
  const space = uniqueRoom("team");
  const lead = await openSpace("Lena", space);
  await lead.page.locator("#rooms-empty").waitFor();
  await lead.page.screenshot({ path: path.join(ARTIFACTS, "workspace-space-empty.png") });

  // Lena makes a room: she lands in it, and a teammate's space page lists her there.
  await lead.page.fill("#new-room-title", "Launch plan");
  await lead.page.click("#new-room-form button[type=submit]");
  await lead.page.waitForURL(/[?&]room=launch-plan-/);
  await lead.page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
  const room = new URL(lead.page.url()).searchParams.get("room");
  assert.ok(room);
  assert.equal(await lead.page.locator("#space-link").textContent(), `← ${space} rooms`);

  const watcher = await openSpace("Wes", space);
  const card = cardOf(watcher.page, "Launch plan");
  const counts = card.locator(".counts");
  await watcher.page.waitForFunction(
    () => document.querySelector(".room-card .counts")?.getAttribute("data-people") === "1",
    undefined,
    { timeout: 15_000 },
  );
  assert.equal(await counts.textContent(), "1 person · 0 agents");

  const second = await openRoom("Sam", room, space);
  await card.locator('.counts[data-people="2"]').waitFor({ timeout: 15_000 });
  assert.deepEqual((await card.locator(".avatar").evaluateAll((els) => els.map((e) => e.getAttribute("title")))).sort(), ["Lena", "Sam"]);
  assert.match(await watcher.page.locator("#space-people").textContent(), /Lena.*in Launch plan/);
  // Sam sets a status by hand: the dashboard shows him away, with his note.
  await second.page.fill("#my-note", "back in 10 min");
  await second.page.selectOption("#my-status", "away");
  const sam = watcher.page.locator('#space-people li[data-state="away"]', { hasText: "Sam" });
  await sam.waitFor({ timeout: 15_000 });
  assert.match(await sam.textContent(), /back in 10 min.*in Launch plan/);
  assert.equal(await watcher.page.locator("#people-counts").textContent(), "1 online · 1 away · 0 offline");
  // Lena follows Sam from the room's list of who is here.
  await lead.page.locator("#peers li", { hasText: "Sam" }).getByRole("button", { name: "Follow" }).click();
  await lead.page.locator("#following:not([hidden])", { hasText: "Following Sam" }).waitFor();
  await watcher.page.screenshot({ path: path.join(ARTIFACTS, "workspace-space-live-counts.png") });

  await second.context.close();
  await card.locator('.counts[data-people="1"]').waitFor({ timeout: 15_000 });
  await lead.context.close();
  await card.locator('.counts[data-people="0"]').waitFor({ timeout: 15_000 });
  assert.equal(await counts.textContent(), "nobody in");
  await watcher.page.locator("#people-counts", { hasText: "0 online · 0 away · 2 offline" }).waitFor({ timeout: 15_000 });

  // Rename and archive from the directory: the list follows.
  watcher.page.once("dialog", (d) => d.accept("Launch plan v2"));
  await card.getByRole("button", { name: "Rename" }).click();
  const renamed = cardOf(watcher.page, "Launch plan v2");
  await renamed.waitFor();
  await renamed.getByRole("button", { name: "Archive" }).click();
  await watcher.page.locator("#archived:not([hidden])").waitFor();
  assert.equal(await watcher.page.locator("#archived-count").textContent(), "1");
  assert.equal(await watcher.page.locator("#room-list .room-card").count(), 0);
  await watcher.page.locator("#rooms-empty").waitFor();
  // The space's settings, saved from the page (development mode: a lead).
  await watcher.page.locator(".space-settings summary").click();
  await watcher.page.fill("#auto-archive", "30");
  await watcher.page.click('#space-settings-form button[type="submit"]');
  await watcher.page.locator("#settings-state", { hasText: "Saved." }).waitFor();
  const audit = await watcher.page.evaluate(() => /** @type {any} */ (window).confabSpace.audit());
  assert.deepEqual(audit.entries.map((e) => e.action), ["room.created", "room.renamed", "room.archived", "space.settings"]);
  assert.deepEqual(audit.entries[3].detail, { externalSharing: false, autoArchiveDays: 30 });
  assert.deepEqual(watcher.problems, []);
  await watcher.context.close();
});

test("an @mention reaches the person's bell while they are in another room, and opens the message", async () => {
  const space = uniqueRoom("team");
  const roomA = uniqueRoom("design");
  const roomB = uniqueRoom("ops");
  // Bob visits the design room, so it knows him, then works in the ops room.
  const bob = await openRoom("Bob Marley", roomA, space);
  const ada = await openRoom("Ada", roomA, space);
  await ada.page.locator("#peers li", { hasText: "Bob Marley" }).waitFor();
  await gotoDemo(bob.page, `${edge.http}/?room=${encodeURIComponent(roomB)}&space=${encodeURIComponent(space)}`);
  await bob.page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
  assert.equal(await bob.page.locator("#bell-count").isHidden(), true, "nothing unread yet");

  // A mention also shows as a toast, which hides itself after a few seconds: watch for
  // it from before it can show.
  const toast = bob.page.locator(".toast", { hasText: "Ada mentioned you" }).waitFor({ timeout: 30_000 });
  await ada.page.fill("#chat-input", "@Bob Marley could you review the launch copy?");
  await ada.page.click("#chat-send");

  await bob.page.locator("#bell-count:not([hidden])").waitFor({ timeout: 15_000 });
  assert.equal(await bob.page.locator("#bell-count").textContent(), "1");
  assert.equal(await bob.page.locator("#bell").getAttribute("aria-label"), "Notifications, 1 unread");
  await toast;
  await bob.page.click("#bell");
  const item = bob.page.locator("#inbox-list .notification.unread");
  await item.waitFor();
  assert.match(await item.textContent(), /Ada mentioned you.*could you review the launch copy\?.*in design/);
  await bob.page.screenshot({ path: path.join(ARTIFACTS, "workspace-inbox-mention.png") });

  // Opening it goes to the message in the design room, and marks it read.
  await item.locator("a").click();
  await bob.page.waitForURL((url) => url.searchParams.get("room") === roomA);
  await bob.page.locator("#messages li.linked", { hasText: "could you review" }).waitFor({ timeout: 15_000 });
  await bob.page.locator("#bell-count[hidden]").waitFor({ state: "attached", timeout: 15_000 });
  // Ada's own message is no notification of hers.
  assert.equal(await ada.page.locator("#bell-count").isHidden(), true);
  assert.deepEqual([...bob.problems, ...ada.problems], []);
  await bob.context.close();
  await ada.context.close();
});

test("a room that syncs before the editors' code has loaded still starts its documents", async () => {
  // The page listens for the room's status only once CodeMirror's chunk is in: hold the
  // chunk until the room has synced, as a slow network or a busy machine can.
  const context = await demoContext(browser, "Sol");
  const page = await context.newPage();
  const problems = pageProblems(page);
  let release = () => {};
  const held = new Promise((resolve) => (release = () => resolve(undefined)));
  let heldChunks = 0;
  await page.route(/\/assets\/editors-[^/]*\.js$/, async (route) => {
    heldChunks += 1;
    await held;
    await route.continue();
  });
  const opening = gotoDemo(page, `${edge.http}/?room=${encodeURIComponent(uniqueRoom("slow"))}`);
  await page.waitForFunction(() => /** @type {any} */ (window).confabRoom?.status === "synced", undefined, { timeout: 15_000 });
  assert.ok(heldChunks > 0, "the editors' chunk was held while the room synced");
  // Its controls are not wired yet: the page does not call itself synced.
  assert.equal(await page.locator("#status").getAttribute("data-status"), "connecting");
  release();
  await opening;
  await page.locator(NOTES).click();
  await page.keyboard.type("Started late");
  await page.waitForFunction(() => /** @type {any} */ (window).confabRoom.docs.text("notes") === "Started late");
  assert.deepEqual(
    await page.evaluate(() => /** @type {any} */ (window).confabRoom.docs.list().map((/** @type {any} */ d) => d.id).sort()),
    ["code", "notes"],
  );
  assert.deepEqual(problems, []);
  await context.close();
});

test("a reviewer comments on words they cannot edit, and the thread follows the words", async () => {
  const space = uniqueRoom("team");
  const room = uniqueRoom("review");
  const token = (sub, name, role) => mintToken(DEV_SECRET, { room, sub, name, role });
  const ada = await openRoom("Ada", room, space, token("ada", "Ada", "editor"));
  const rita = await openRoom("Rita", room, space, token("rita", "Rita", "reviewer"));
  await ada.page.locator(NOTES).click();
  await ada.page.keyboard.type("Ship the API on Monday.");
  await rita.page.waitForFunction(() => notesText() === "Ship the API on Monday.");
  assert.equal(await rita.page.locator(NOTES).getAttribute("contenteditable"), "false", "a reviewer's editor is read-only");
  assert.match(await rita.page.locator("#status").textContent(), /reviewer \(read-only\)/);

  await rita.page.evaluate(() => selectInNotes("Monday"));
  await rita.page.click("#comment-add");
  assert.match(await rita.page.locator("#comment-about").textContent(), /On “Monday”/);
  await rita.page.fill("#comment-text", "Monday is a holiday, @Ada");
  await rita.page.click('#comment-form button[type="submit"]');
  const adaComment = ada.page.locator("#comments .comment");
  await adaComment.waitFor({ timeout: 15_000 });
  assert.match(await adaComment.textContent(), /Monday.*Rita.*Monday is a holiday, @Ada/);
  // The mention reached Ada's bell.
  await ada.page.locator("#bell-count:not([hidden])").waitFor({ timeout: 15_000 });

  // Ada writes before the words: the comment still points at them.
  await ada.page.locator(NOTES).press("Control+Home");
  await ada.page.keyboard.type("Draft: ");
  await rita.page.waitForFunction(() => /** @type {any} */ (window).confabRoom.comments.list()[0]?.anchor.start === 23);
  assert.equal(await rita.page.locator("#comments .comment .quote").textContent(), "Monday");
  await rita.page.locator("#comments .comment .quote").click();
  const selected = await rita.page.evaluate(() => {
    const view = /** @type {any} */ (window).confabEditors.view("notes");
    const { from, to } = view.state.selection.main;
    return view.state.sliceDoc(from, to);
  });
  assert.equal(selected, "Monday", "the quote shows the words in the document");
  await rita.page.screenshot({ path: path.join(ARTIFACTS, "workspace-comment-thread.png") });

  // Ada replies and resolves; Rita sees it resolved.
  await ada.page.fill("#comments .comment .reply-row input", "Tuesday then");
  await ada.page.press("#comments .comment .reply-row input", "Enter");
  await ada.page.locator("#comments .comment .reply", { hasText: "Tuesday then" }).waitFor();
  await ada.page.click('#comments .comment button:has-text("Resolve")');
  await rita.page.locator("#no-comments", { hasText: "No open comments (1 resolved)" }).waitFor({ timeout: 15_000 });
  assert.deepEqual([...ada.problems, ...rita.problems], []);
  await ada.context.close();
  await rita.context.close();
});

test("the space's team: shared agents registered, in use and scheduled; members given roles", async () => {
  const space = uniqueRoom("team");
  const lead = await openSpace("Lena", space);
  const page = lead.page;
  await page.fill("#new-room-title", "Research");
  await page.click("#new-room-form button[type=submit]");
  await page.waitForURL(/[?&]room=research-/);
  const room = new URL(page.url()).searchParams.get("room");
  // The page is opened "two hours ago" by its clock, so the schedule form's default time,
  // the next full hour, is gone by the time the task is scheduled below. (A run that
  // opened the page at 04:59 and sent the form at 05:00 failed that way.)
  await page.clock.setFixedTime(Date.now() - 2 * 3_600_000);
  await gotoDemo(page, `${edge.http}/?space=${encodeURIComponent(space)}`);
  await page.locator("#space-status[data-status=synced]").waitFor({ timeout: 15_000 });
  await page.locator("#agents-empty").waitFor();

  // Register Scout from the page: available.
  await page.locator("#agent-forms summary").click();
  await page.fill("#agent-name", "Scout");
  await page.fill("#agent-description", "Finds sources");
  await page.click("#agent-form button[type=submit]");
  const scout = page.locator('#space-agents li[data-agent="agent-scout"]');
  await scout.locator(".state", { hasText: "available" }).waitFor();
  assert.match(await scout.textContent(), /Finds sources/);

  // Scout's own process joins the room: in use there, live.
  const token = mintToken(DEV_SECRET, { room, sub: "agent-scout", name: "Scout", kind: "agent", role: "editor" });
  const agent = await Agent.join({ url: edge.ws, room, name: "Scout", token, model: modelOf(llm) });
  await page.locator('#space-agents li[data-agent="agent-scout"][data-state="in use"]').waitFor({ timeout: 15_000 });
  assert.match(await scout.textContent(), /in Research/);
  await agent.leave();
  await page.locator('#space-agents li[data-agent="agent-scout"][data-state="available"]').waitFor({ timeout: 15_000 });

  // Schedule its next task at the form's default time, daily: scheduled, with the task.
  // The clock is now right again; the default follows it, since nobody picked a time.
  await page.clock.setFixedTime(Date.now());
  await page.selectOption("#schedule-agent", "agent-scout");
  await page.selectOption("#schedule-room", room);
  await page.fill("#schedule-task", "Collect this week's papers");
  await page.selectOption("#schedule-repeat", "1440");
  await page.click("#schedule-form button[type=submit]");
  await page.locator('#space-agents li[data-agent="agent-scout"][data-state="scheduled"]').waitFor();
  assert.match(await scout.textContent(), /next: “Collect this week's papers” .*, daily/);

  // Members: a lead adds Kim as a reviewer, then makes Kim a contributor.
  await page.locator("#members-panel summary").click();
  await page.locator("#members-empty").waitFor();
  await page.fill("#member-id", "kim");
  await page.selectOption("#member-role", "reviewer");
  await page.click("#member-form button[type=submit]");
  const kim = page.locator('#space-members li[data-user="kim"]');
  await kim.waitFor();
  assert.equal(await kim.locator("select").inputValue(), "reviewer");
  await page.locator('#space-people li[data-user="kim"] .role-tag', { hasText: "reviewer" }).waitFor();
  await kim.locator("select").selectOption("contributor");
  await page.locator('#space-people li[data-user="kim"] .role-tag', { hasText: "contributor" }).waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, "workspace-space-team.png"), fullPage: true });
  const audit = await page.evaluate(() => /** @type {any} */ (window).confabSpace.audit());
  assert.deepEqual(
    audit.entries.filter((e) => e.action.startsWith("space.")).map((e) => e.detail.change ?? e.detail.label),
    ["registered", "scheduled", "reviewer", "contributor"],
  );
  assert.deepEqual(lead.problems, []);
  await lead.context.close();
});

test("documents and conversations: made, renamed and switched in tabs that everyone sees", async () => {
  const space = uniqueRoom("team");
  const room = uniqueRoom("tabs");
  const ada = await openRoom("Ada", room, space);
  const bob = await openRoom("Bob", room, space);
  // Ada starts a code document: a tab for both, with the code editor.
  ada.page.once("dialog", (d) => d.accept("plan.ts"));
  await ada.page.click("#doc-new");
  const adaTab = ada.page.locator("#doc-tabs .tab", { hasText: "plan.ts" });
  await adaTab.waitFor();
  assert.equal(await adaTab.getAttribute("aria-selected"), "true", "the new document comes to the front");
  const docId = await adaTab.getAttribute("data-doc");
  const adaEditor = ada.page.locator(`#editor [data-doc="${docId}"] .cm-content`);
  await adaEditor.click();
  await ada.page.keyboard.type("export const launch = 'Friday';");
  const bobTab = bob.page.locator(`#doc-tabs .tab[data-doc="${docId}"]`);
  await bobTab.waitFor();
  await bobTab.click();
  const bobEditor = bob.page.locator(`#editor [data-doc="${docId}"] .cm-content`);
  await bobEditor.locator(".cm-line", { hasText: "export const launch = 'Friday';" }).waitFor();
  assert.equal(await bobEditor.getAttribute("aria-label"), "plan.ts (shared document)");
  // Bob renames it: Ada's tab follows.
  bob.page.once("dialog", (d) => d.accept("launch.ts"));
  await bob.page.click("#doc-rename");
  await ada.page.locator(`#doc-tabs .tab[data-doc="${docId}"]`, { hasText: "launch.ts" }).waitFor();

  // Conversations: Ada starts "Ideas", Bob sees its tab, renames it and posts there.
  ada.page.once("dialog", (d) => d.accept("Ideas"));
  await ada.page.click("#conversation-new");
  await ada.page.locator('#tabs .tab[aria-selected="true"]', { hasText: "Ideas" }).waitFor();
  const ideas = bob.page.locator("#tabs .tab", { hasText: "Ideas" });
  await ideas.waitFor();
  await ideas.click();
  await bob.page.locator('#tabs .tab[aria-selected="true"]', { hasText: "Ideas" }).waitFor();
  bob.page.once("dialog", (d) => d.accept("Launch ideas"));
  await bob.page.click("#conversation-rename");
  await bob.page.fill("#chat-input", "What if we launch on a Tuesday?");
  await bob.page.press("#chat-input", "Enter");
  await ada.page.locator('#tabs .tab[aria-selected="true"]', { hasText: "Launch ideas" }).waitFor();
  await ada.page.locator("#messages li", { hasText: "What if we launch on a Tuesday?" }).waitFor();
  // Main keeps its own messages: switching back shows none of Bob's.
  await ada.page.locator("#tabs .tab", { hasText: "Main" }).click();
  await ada.page.locator('#tabs .tab[aria-selected="true"]', { hasText: "Main" }).waitFor();
  assert.equal(await ada.page.locator("#messages li", { hasText: "Tuesday" }).count(), 0);
  await ada.page.locator("#tabs .tab", { hasText: "Launch ideas" }).click();
  await ada.page.screenshot({ path: path.join(ARTIFACTS, "workspace-tabs.png") });
  assert.deepEqual([...ada.problems, ...bob.problems], []);
  await ada.context.close();
  await bob.context.close();
});
