// End to end: the demo served by `wrangler dev`, two Chromium pages in one room.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { ROOT, startWranglerDev, tempDir, uniqueRoom } from "./helpers.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = path.join(ROOT, "tests/artifacts");

let edge;
let browser;
before(async () => {
  edge = await startWranglerDev({ persistTo: await tempDir("confab-e2e-") });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    ],
  });
});
after(async () => {
  await browser?.close();
  await edge?.stop();
});

async function openDemo(room) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(err.message));
  page.on("console", (msg) => msg.type() === "error" && problems.push(msg.text()));
  await page.goto(`${edge.http}/?room=${encodeURIComponent(room)}`);
  await page.locator("#status[data-state=synced]").waitFor({ timeout: 15_000 });
  return { page, problems };
}

test("a message and a document edit made in one page appear in the other", async () => {
  const room = uniqueRoom("e2e");
  const one = await openDemo(room);
  const two = await openDemo(room);

  // Both see each other.
  await one.page.locator("#peers li").nth(1).waitFor();
  await two.page.locator("#peers li").nth(1).waitFor();

  await one.page.fill("#chat-input", "Hello from page one");
  await one.page.click("#chat-send");
  await two.page.locator("#messages li .text", { hasText: "Hello from page one" }).waitFor({ timeout: 10_000 });

  await one.page.click("#doc");
  await one.page.keyboard.type("Shared notes from page one.");
  await two.page.waitForFunction(
    () => document.querySelector("textarea").value === "Shared notes from page one.",
    null,
    { timeout: 10_000 },
  );

  // And back the other way.
  await two.page.click("#doc");
  await two.page.keyboard.press("End");
  await two.page.keyboard.type(" Two agrees.");
  await one.page.waitForFunction(
    () => document.querySelector("textarea").value === "Shared notes from page one. Two agrees.",
    null,
    { timeout: 10_000 },
  );

  const status = await one.page.textContent("#status");
  assert.equal(status, "synced");
  await mkdir(ARTIFACTS, { recursive: true });
  await one.page.screenshot({ path: path.join(ARTIFACTS, "demo-two-pages-one.png") });
  await two.page.screenshot({ path: path.join(ARTIFACTS, "demo-two-pages-two.png") });
  assert.deepEqual(one.problems, [], "page one logged no errors");
  assert.deepEqual(two.problems, [], "page two logged no errors");
});
