// Accessibility: axe-core scans the workspace's pages in Chromium (the space's home, a
// room, the inbox open, a phone-sized room) and finds nothing serious or critical; the
// phone-sized pages are kept as screenshots.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { AxeBuilder } from "@axe-core/playwright";
import { demoContext, gotoDemo, launchChromium, ROOT, startWranglerDev, tempDir, uniqueRoom } from "./helpers.mjs";

const ARTIFACTS = path.join(ROOT, "tests/artifacts");

let edge;
let browser;
before(async () => {
  edge = await startWranglerDev({ persistTo: await tempDir("confab-a11y-") });
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await edge?.stop();
});

/** The serious and critical violations axe finds on `page`, one line each. */
async function violations(page) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 4).join("; ")})`);
}

test("the space's home, a room and the inbox have no serious or critical accessibility violations", async () => {
  const space = uniqueRoom("a11y");
  const context = await demoContext(browser, "Ada");
  const page = await context.newPage();
  await gotoDemo(page, `${edge.http}/?space=${space}`);
  await page.locator("#space-status[data-status=synced]").waitFor({ timeout: 15_000 });
  // The team's forms open: registering an agent, scheduling a task, members and roles.
  await page.locator("#agent-forms summary").click();
  await page.locator("#members-panel summary").click();
  assert.deepEqual(await violations(page), [], "the empty space, its forms open");
  await page.fill("#new-room-title", "Accessible room");
  await page.click("#new-room-form button[type=submit]");
  await page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
  await page.locator('#editor [data-doc="notes"] .cm-content').waitFor();
  assert.deepEqual(await violations(page), [], "a room");
  await page.click("#manage-open");
  await page.locator("#manage-body h3").first().waitFor();
  assert.deepEqual(await violations(page), [], "the Manage dialog");
  await page.click("#manage-close");
  await page.click("#bell");
  await page.locator("#inbox-panel:not([hidden])").waitFor();
  assert.deepEqual(await violations(page), [], "the inbox open");
  await page.setViewportSize({ width: 390, height: 800 });
  assert.deepEqual(await violations(page), [], "a room on a phone");
  await page.click("#bell");
  await page.locator("#inbox-panel").waitFor({ state: "hidden" });
  await page.screenshot({ path: path.join(ARTIFACTS, "a11y-phone-room.png"), fullPage: true });
  await gotoDemo(page, `${edge.http}/?space=${space}`);
  await page.locator(".room-card").waitFor();
  assert.deepEqual(await violations(page), [], "the space with a room, on a phone");
  await page.screenshot({ path: path.join(ARTIFACTS, "a11y-phone-space.png"), fullPage: true });
  await context.close();
});
