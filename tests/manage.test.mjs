// The "Manage room" screens in Chromium, against the edge under `wrangler dev`: an
// invitation made by an owner and accepted through its link (the invitee is a reviewer,
// read-only), a lock shown to others with its time left and released, and the agents'
// activity filtered, searched and exported as CSV.
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { api, demoContext, DEV_SECRET, gotoDemo, launchChromium, mintToken, pageProblems, ROOT, startWranglerDev, tempDir, uniqueRoom } from "./helpers.mjs";

const ARTIFACTS = path.join(ROOT, "tests/artifacts");

let edge;
let browser;
before(async () => {
  edge = await startWranglerDev({ persistTo: await tempDir("confab-manage-") });
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await edge?.stop();
});

async function openRoom(name, room, token) {
  const context = await demoContext(browser, name);
  const page = await context.newPage();
  const problems = pageProblems(page);
  await gotoDemo(page, `${edge.http}/?room=${encodeURIComponent(room)}${token ? `&token=${token}` : ""}`);
  await page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
  return { page, problems, context };
}

async function manage(page, tab) {
  if (!(await page.locator("#manage[open]").count())) await page.click("#manage-open");
  await page.locator(`#manage-tabs [data-tab="${tab}"]`).click();
  await page.locator(`#manage-tabs [data-tab="${tab}"][aria-selected="true"]`).waitFor();
}

test("an owner's invitation link brings a reviewer in, who reads but cannot edit", async () => {
  const room = uniqueRoom("invite");
  const owner = await openRoom("Olga", room, mintToken(DEV_SECRET, { room, sub: "olga", name: "Olga", role: "owner" }));
  await manage(owner.page, "members");
  await owner.page.fill(".invite-form input", "Rita");
  await owner.page.selectOption('.invite-form select', "reviewer");
  await owner.page.click(".invite-form button[type=submit]");
  await owner.page.locator(".invite-link:not([hidden])").waitFor();
  const link = await owner.page.locator(".invite-link").inputValue();
  assert.match(link, new RegExp(`\\?room=${room}&token=v1\\.`));
  await owner.page.screenshot({ path: path.join(ARTIFACTS, "manage-invite.png") });

  const context = await demoContext(browser, "Rita");
  const rita = await context.newPage();
  const problems = pageProblems(rita);
  await gotoDemo(rita, link);
  await rita.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
  assert.match(await rita.locator("#status").textContent(), /reviewer \(read-only\)/);
  assert.equal(await rita.locator("#chat-input").isDisabled(), true, "a reviewer cannot post");
  // The token left the address bar at once.
  assert.doesNotMatch(rita.url(), /token=/);
  // Reviewers see members, locks and activity, but not the audit log or webhooks.
  await manage(rita, "members");
  const tabs = await rita.locator("#manage-tabs .tab").evaluateAll((els) => els.map((e) => e.getAttribute("data-tab")));
  assert.deepEqual(tabs, ["members", "locks", "activity", "collaborations"]);
  await rita.locator('#manage-body li[data-user]', { hasText: "Rita" }).waitFor();
  // The owner's list shows her with the role, and the owner may change it.
  await owner.page.click("#manage-close");
  await manage(owner.page, "members");
  const row = owner.page.locator('#manage-body li', { hasText: "Rita" });
  assert.equal(await row.locator("select").inputValue(), "reviewer");
  const ownerTabs = await owner.page.locator("#manage-tabs .tab").count();
  assert.equal(ownerTabs, 6, "an owner sees every screen");
  assert.deepEqual([...owner.problems, ...problems], []);
  await context.close();
  await owner.context.close();
});

test("a lock is shown to others with its time left, and released", async () => {
  const room = uniqueRoom("locks");
  const editor = (sub, name) => mintToken(DEV_SECRET, { room, sub, name, role: "editor" });
  const ada = await openRoom("Ada", room, editor("ada", "Ada"));
  await ada.page.locator('#editor [data-doc="notes"] .cm-content').click();
  await ada.page.keyboard.type("Plan: ");
  await ada.page.waitForFunction(() => /** @type {any} */ (window).confabRoom.docs.list().length > 0);
  const bob = await openRoom("Bob", room, editor("bob", "Bob"));
  await manage(ada.page, "locks");
  await ada.page.locator("#manage-body form select").first().selectOption("doc:notes");
  // Five minutes: the time left reads in minutes for as long as the test could take.
  await ada.page.locator('#manage-body form select[aria-label="For how long"]').selectOption("5");
  await ada.page.locator("#manage-body form button[type=submit]").click();
  await ada.page.locator('#manage-body li[data-resource="doc:notes"]', { hasText: "(you)" }).waitFor();

  await manage(bob.page, "locks");
  const held = bob.page.locator('#manage-body li[data-resource="doc:notes"]');
  await held.waitFor();
  assert.match(await held.textContent(), /held by Ada.*\d+ min \d+ s left/);
  assert.equal(await held.locator("button").count(), 0, "only the holder (or an owner) releases it");
  await bob.page.screenshot({ path: path.join(ARTIFACTS, "manage-lock-held.png") });

  await ada.page.locator('#manage-body li[data-resource="doc:notes"] button', { hasText: "Release" }).click();
  // Bob's screen follows the room's feed: the lock is gone there too.
  await bob.page.locator("#manage-body", { hasText: "No locks are held" }).waitFor({ timeout: 15_000 });
  assert.deepEqual([...ada.problems, ...bob.problems], []);
  await ada.context.close();
  await bob.context.close();
});

test("the agents' activity is filtered by agent and kind, searched, and exported as CSV", async () => {
  const room = uniqueRoom("activity");
  const agent = (sub, name) => mintToken(DEV_SECRET, { room, sub, name, kind: "agent", role: "editor" });
  const scout = agent("scout", "Scout");
  const scribe = agent("scribe", "Scribe");
  /** @type {[string, { kind: string, summary: string }][]} */
  const records = [
    [scout, { kind: "memory_read", summary: "Read the pricing notes" }],
    [scout, { kind: "task_completed", summary: "Drafted the launch email" }],
    [scribe, { kind: "memory_write", summary: "Saved the meeting summary, with \"quotes\", commas" }],
  ];
  for (const [token, body] of records) {
    const res = await api(edge.http, "POST", `/rooms/${room}/activities`, { token, body });
    assert.equal(res.status, 200, JSON.stringify(res.json));
  }
  const viewer = await openRoom("Vera", room);
  await manage(viewer.page, "activity");
  const rows = viewer.page.locator(".activity-list > li");
  await rows.nth(2).waitFor();
  await viewer.page.locator(".filters select").first().selectOption("scout");
  assert.equal(await rows.count(), 2);
  await viewer.page.locator(".filters select").nth(1).selectOption("task_completed");
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().textContent(), /Scout.*Drafted the launch email/);
  await viewer.page.locator(".filters select").first().selectOption("");
  await viewer.page.locator(".filters select").nth(1).selectOption("");
  await viewer.page.fill('.filters input[type="search"]', "meeting");
  assert.equal(await rows.count(), 1);
  assert.match(await viewer.page.locator("#manage-body").textContent(), /1 of 3 shown/);
  await viewer.page.screenshot({ path: path.join(ARTIFACTS, "manage-activity.png") });

  const [download] = await Promise.all([viewer.page.waitForEvent("download"), viewer.page.click(".filters button")]);
  assert.equal(download.suggestedFilename(), `${room}-activity.csv`);
  const csv = await readFile(/** @type {string} */ (await download.path()), "utf8");
  const lines = csv.trim().split("\r\n");
  assert.equal(lines[0], "id,agent,kind,status,summary,result,started,completed");
  assert.equal(lines.length, 2, "only what the filters show");
  assert.match(lines[1], /^a\d+,Scribe,memory_write,started,"Saved the meeting summary, with ""quotes"", commas",,\d{4}-/);
  assert.deepEqual(viewer.problems, []);
  await viewer.context.close();
});
