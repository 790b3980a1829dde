// End to end: the demo served by `wrangler dev`, two Chromium pages in one room.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { Agent, offlineModel } from "confab-rooms/agent";
import { demoPageHelpers, DEV_SECRET, gotoDemo, launchChromium, mintToken, NOTES, openConfab, ROOT, startWranglerDev, tempDir, uniqueRoom, waitFor } from "./helpers.mjs";

const ARTIFACTS = path.join(ROOT, "tests/artifacts");

let edge;
let browser;
before(async () => {
  edge = await startWranglerDev({ persistTo: await tempDir("confab-e2e-") });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await edge?.stop();
});

async function openDemo(room) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  await demoPageHelpers(context);
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(err.message));
  page.on("console", (msg) => msg.type() === "error" && problems.push(msg.text()));
  await gotoDemo(page, `${edge.http}/?room=${encodeURIComponent(room)}`);
  await page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
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

  await one.page.click(NOTES);
  await one.page.keyboard.type("Shared notes from page one.");
  await two.page.waitForFunction(
    () => notesText() === "Shared notes from page one.",
    null,
    { timeout: 10_000 },
  );

  // And back the other way.
  await two.page.click(NOTES);
  await two.page.keyboard.press("End");
  await two.page.keyboard.type(" Two agrees.");
  await one.page.waitForFunction(
    () => notesText() === "Shared notes from page one. Two agrees.",
    null,
    { timeout: 10_000 },
  );

  // Presence: typing indicators and the caret in the notes travel to the other page.
  await two.page.fill("#chat-input", "half a thought");
  await one.page.locator("#typing", { hasText: "is typing" }).waitFor({ timeout: 10_000 });
  await two.page.click(NOTES);
  await two.page.keyboard.press("Home");
  const twoName = (await two.page.inputValue("#my-name")).trim();
  await one.page.locator("#peers li", { hasText: twoName }).locator(".activity", { hasText: "notes, line 1" }).waitFor({ timeout: 10_000 });
  // …and page one draws page two's caret at the start of the notes, with their name.
  await one.page.waitForFunction((name) => {
    const view = /** @type {any} */ (window).confabEditors.view("notes");
    const caret = view.dom.querySelector(".cm-ySelectionCaret");
    return caret && view.posAtDOM(caret) === 0 && caret.textContent.includes(name);
  }, twoName, { timeout: 10_000 });

  // An agent joins (on the offline model, in this process); "Ask agent" addresses it, and
  // both pages see its answer stream in and finish, found in the shared notes.
  const agent = await Agent.join({ url: edge.ws, room, name: "Researcher", token: mintToken(DEV_SECRET, { room, sub: "agent-researcher", name: "Researcher", kind: "agent", role: "editor" }) });
  try {
    await one.page.locator("#ask-agent:not([disabled])").waitFor({ timeout: 10_000 });
    await one.page.fill("#chat-input", "who agrees with the notes?");
    await one.page.click("#ask-agent");
    await two.page.locator("#messages li .text", { hasText: "@Researcher who agrees with the notes?" }).waitFor({ timeout: 10_000 });
    const answer = two.page.locator('#messages li.agent[data-status="done"]');
    await answer.waitFor({ timeout: 30_000 });
    const text = await answer.locator(".text").textContent();
    assert.match(text, /^\[offline model\] From what this room already has:\n/);
    assert.match(text, /- Two agrees\. \(document notes\)/);
  } finally {
    await agent.leave();
  }

  const status = await one.page.textContent("#status");
  assert.match(status ?? "", /^synced/);
  await mkdir(ARTIFACTS, { recursive: true });
  await one.page.screenshot({ path: path.join(ARTIFACTS, "demo-two-pages-one.png") });
  await two.page.screenshot({ path: path.join(ARTIFACTS, "demo-two-pages-two.png") });
  assert.deepEqual(one.problems, [], "page one logged no errors");
  assert.deepEqual(two.problems, [], "page two logged no errors");
});

test("the agents panel shows each agent live: status, model, current and last activity, recent activities; Ask agent picks one", async () => {
  const room = uniqueRoom("e2e-agents");
  const { page, problems } = await openDemo(room);
  const token = (name) => mintToken(DEV_SECRET, { room, sub: `agent-${name.toLowerCase()}`, name, kind: "agent", role: "editor" });
  // Before any agent joins, the page says how to bring one, and Ask agent waits.
  await page.locator("#no-agents:visible").waitFor({ timeout: 10_000 });
  assert.equal(await page.locator("#ask-agent").isDisabled(), true);
  // A slow offline model, so the page can watch it work.
  const researcher = await Agent.join({ url: edge.ws, room, name: "Researcher", token: token("Researcher"), model: offlineModel({ delayMs: 150 }) });
  const reviewer = await Agent.join({ url: edge.ws, room, name: "Reviewer", token: token("Reviewer") });
  try {
    const card = (name) => page.locator("#agents > li", { hasText: name });
    await card("Researcher").waitFor({ timeout: 10_000 });
    await card("Reviewer").waitFor({ timeout: 10_000 });
    assert.equal(await page.locator("#no-agents").isHidden(), true);
    assert.equal(await card("Researcher").locator(".model").textContent(), "offline model");
    // Two agents: the page offers a choice.
    await page.locator("#agent-pick:visible").waitFor();
    await page.selectOption("#agent-pick", "agent-researcher");
    await page.fill(NOTES, "The pilot starts in May. The budget is 2M.");
    await page.fill("#chat-input", "when does the pilot start, and what is the budget?");
    await page.click("#ask-agent");
    // Working: its current activity shows while the answer streams.
    await page.locator('#agents > li[data-agent="agent-researcher"][data-state="working"] .agent-now', { hasText: "answering in main" }).waitFor({ timeout: 10_000 });
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "agents-panel-working.png") });
    // Done: idle, its last activity, and what it did in the feed.
    await page.locator('#agents > li[data-agent="agent-researcher"][data-state="idle"] .agent-now', { hasText: "last: answering in main" }).waitFor({ timeout: 30_000 });
    await card("Researcher").locator('.agent-recent li[data-kind="task_completed"]').waitFor({ timeout: 10_000 });
    await card("Researcher").locator('.agent-recent li[data-kind="message_sent"]').waitFor({ timeout: 10_000 });
    assert.equal(await card("Reviewer").locator(".agent-recent li").count(), 0, "the reviewer was not asked");
    const answer = await page.locator('#messages li.agent[data-status="done"] .text').textContent();
    assert.match(answer, /The pilot starts in May\./);
    assert.match(answer, /The budget is 2M\./);
    await page.screenshot({ path: path.join(ARTIFACTS, "agents-panel.png") });
    assert.deepEqual(problems, [], "the page logged no errors");
  } finally {
    await researcher.leave();
    await reviewer.leave();
    await page.context().close();
  }
});

test("an agent's streamed turn grows for everyone, a late page sees the partial text, and a stop ends it", async () => {
  const room = uniqueRoom("e2e-turn");
  const one = await openDemo(room);
  const two = await openDemo(room);
  const agent = await openConfab(edge.ws, room, { id: "agent", name: "Agent", kind: "agent" });
  let writer;
  try {
    agent.chat.ensureConversation("Main", "main");
    const turn = agent.chat.openTurn("main");
    const text = (page) => page.locator(`#messages li[data-id="${turn}"] .text`);
    let i = 0;
    let refused;
    writer = setInterval(() => {
      try {
        agent.chat.appendTurn(turn, `token${i++} `);
      } catch (err) {
        refused = err;
        clearInterval(writer);
      }
    }, 40);

    // Both pages see the same turn growing.
    await text(one.page).filter({ hasText: "token3 " }).waitFor({ timeout: 10_000 });
    const early = (await text(two.page).textContent()).length;
    await text(two.page).filter({ hasText: "token8 " }).waitFor({ timeout: 10_000 });
    assert.ok((await text(two.page).textContent()).length > early, "the text grows on page two");
    assert.equal(await one.page.getAttribute(`#messages li[data-id="${turn}"]`, "data-status"), "streaming");

    // A third page joining mid-stream gets the partial text by plain sync, and then more.
    const three = await openDemo(room);
    const partial = await text(three.page).textContent();
    assert.match(partial, /^token0 token1 token2 /);
    await text(three.page).filter({ hasText: `token${i + 2} ` }).waitFor({ timeout: 10_000 });

    // Page one stops it: everyone sees who stopped it, and the agent is refused.
    await one.page.click(`#messages li[data-id="${turn}"] button.stop`);
    for (const page of [one.page, two.page, three.page]) {
      await page
        .locator(`#messages li[data-id="${turn}"] .turn-status`)
        .filter({ hasText: "stopped by" })
        .waitFor({ timeout: 10_000 });
    }
    await waitFor(() => refused, { what: "the agent's next chunk to be refused" });
    assert.match(String(refused), /is stopped; it takes no more text/);
    const finals = await Promise.all([one, two, three].map((p) => text(p.page).textContent()));
    await waitFor(async () => {
      const now = await Promise.all([one, two, three].map((p) => text(p.page).textContent()));
      return now.every((t) => t === now[0]) && now[0] === agent.chat.messages("main").find((m) => m.id === turn).text;
    }, { what: "every page to show the same final text" });
    assert.ok(finals[0].length > 0);
    await mkdir(ARTIFACTS, { recursive: true });
    await three.page.screenshot({ path: path.join(ARTIFACTS, "demo-stopped-turn.png") });
    for (const p of [one, two, three]) assert.deepEqual(p.problems, []);
  } finally {
    clearInterval(writer);
    agent.destroy();
  }
});

test("sync with a teammate shares tabs until detach; a branch is created and merged", async () => {
  const room = uniqueRoom("e2e-sync");
  const one = await openDemo(room);
  const two = await openDemo(room);
  const activeTab = (page) => page.locator('#tabs .tab[aria-selected="true"]').textContent();

  // Page one posts, then forks the conversation at that message: a branch tab opens for one only.
  await one.page.fill("#chat-input", "Should we cache the embeddings?");
  await one.page.click("#chat-send");
  await one.page.locator("#messages li button.branch").first().click();
  await one.page.locator("#branch-bar:not([hidden])").waitFor();
  assert.match(await activeTab(one.page), /^Branch: Should we cache/);
  assert.equal(await activeTab(two.page), "Main", "views are per user");
  await two.page.locator("#messages li .text", { hasText: "Should we cache" }).waitFor();

  // The branch sees the parent up to the fork, plus its own messages.
  await one.page.fill("#chat-input", "Caching halves the latency.");
  await one.page.click("#chat-send");
  await one.page.locator("#messages li .text", { hasText: "Caching halves" }).waitFor();
  assert.equal(await one.page.locator("#messages li").count(), 2);

  // Sync: page two now follows page one's view, branch tab included.
  await one.page.locator("#sync-partner option").first().waitFor({ state: "attached" });
  await one.page.click("#sync-button");
  await two.page.locator("#detach:not([hidden])").waitFor();
  await two.page.waitForFunction(() => document.querySelector('#tabs .tab[aria-selected="true"]')?.textContent?.startsWith("Branch:"));
  assert.match(await two.page.textContent("#sync-state"), /^Synced with Guest/);

  // Either can change the shared view: two goes back to Main, one follows.
  await two.page.locator("#tabs .tab", { hasText: "Main" }).click();
  await one.page.waitForFunction(() => document.querySelector('#tabs .tab[aria-selected="true"]')?.textContent === "Main");

  // Detach: both keep the shared view as their own, then move independently.
  await two.page.click("#detach");
  await one.page.locator("#detach[hidden]").waitFor({ state: "attached" });
  assert.equal(await activeTab(one.page), "Main");
  assert.equal(await two.page.locator("#tabs .tab").count(), 2, "two keeps the branch tab");
  await one.page.locator("#tabs .tab", { hasText: "Branch:" }).click();
  await one.page.locator("#branch-bar:not([hidden])").waitFor();
  // The marker: an edit one makes after changing its view reaches two after that view
  // change (one socket, in order) and two renders every change whole, tabs included;
  // once two shows the edit it has seen one's new view.
  await one.page.click(NOTES);
  await one.page.keyboard.type("after detach");
  await two.page.waitForFunction(() => notesText() === "after detach");
  assert.equal(await activeTab(two.page), "Main", "after detach, two no longer follows one");

  // Merge the branch back: Main gets an attributed merge record.
  await one.page.click("#merge");
  await one.page.waitForFunction(() => document.querySelector('#tabs .tab[aria-selected="true"]')?.textContent === "Main");
  const record = two.page.locator("#messages li[data-merge] .text", { hasText: "Caching halves the latency." });
  await record.waitFor({ timeout: 10_000 });
  await mkdir(ARTIFACTS, { recursive: true });
  await two.page.screenshot({ path: path.join(ARTIFACTS, "demo-sync-and-merge.png") });
  for (const p of [one, two]) assert.deepEqual(p.problems, []);
});

test("versions diff with authors and restore; context is shared, curated, private or stale", async () => {
  const room = uniqueRoom("e2e-history");
  const one = await openDemo(room);
  const two = await openDemo(room);
  const twoName = (await two.page.inputValue("#my-name")).trim();

  await one.page.click(NOTES);
  await one.page.keyboard.type("Plan A");
  await two.page.waitForFunction(() => notesText() === "Plan A");
  await one.page.fill("#version-name", "first plan");
  await one.page.click("#version-form button");
  await two.page.locator("#versions li strong", { hasText: "first plan" }).waitFor();

  // Page two rewrites the plan; page one sees who changed what since the version.
  await two.page.click(NOTES);
  await two.page.keyboard.press("End");
  await two.page.keyboard.press("Backspace");
  await two.page.keyboard.type("B");
  await one.page.waitForFunction(() => notesText() === "Plan B");
  await one.page.click("#versions li button.show-diff");
  const inserted = one.page.locator("#diff ins", { hasText: "B" });
  await inserted.waitFor();
  assert.equal(await inserted.getAttribute("title"), `inserted by ${twoName}`);
  assert.equal(await one.page.locator("#diff del").textContent(), "A");
  const oneName = (await one.page.inputValue("#my-name")).trim();
  assert.equal(await one.page.locator("#diff del").getAttribute("title"), `deleted by ${twoName} (written by ${oneName})`);

  // Restoring is a new change everyone gets.
  await one.page.click("#versions li button.restore");
  await two.page.waitForFunction(() => notesText() === "Plan A");
  await one.page.waitForFunction(() => notesText() === "Plan A");

  // Private context stays on page two; shared context is curated on page one.
  await two.page.fill("#context-text", "my staging password rotates");
  await two.page.click("#context-private");
  await two.page.locator('#context li[data-private="true"]').waitFor();
  await two.page.fill("#context-text", "Use Postgres");
  await two.page.click("#context-share");
  const onOne = one.page.locator("#context li", { hasText: "Use Postgres" });
  await onOne.locator(".badge", { hasText: "decision · proposed" }).waitFor();
  assert.equal(await one.page.locator("#context li", { hasText: "staging password" }).count(), 0);
  await onOne.locator("button.accept").click();
  const onTwo = two.page.locator("#context li", { hasText: "Use Postgres" });
  await onTwo.locator(".badge", { hasText: "decision · accepted" }).waitFor();
  // The entry refers to the notes: editing them makes it stale until re-confirmed.
  await one.page.click(NOTES);
  await one.page.keyboard.press("End");
  await one.page.keyboard.type(" (revised)");
  await onTwo.locator(".badge", { hasText: "decision · stale" }).waitFor();
  await two.page.click("#handoff");
  assert.match(await two.page.textContent("#handoff-text"), /## Decisions\n- \(none\)/);
  await mkdir(ARTIFACTS, { recursive: true });
  await one.page.screenshot({ path: path.join(ARTIFACTS, "demo-history-and-context.png") });
  for (const p of [one, two]) assert.deepEqual(p.problems, []);
});

test("an agent in the room: Ask the agent proposes a merge to accept, its suggestion shows as a change to accept, its insight arrives as a notice", async () => {
  const room = uniqueRoom("e2e-agent-ai");
  const one = await openDemo(room);
  const two = await openDemo(room);
  const scout = await Agent.join({ url: edge.ws, room, name: "Scout", token: mintToken(DEV_SECRET, { room, sub: "agent-scout", name: "Scout", kind: "agent", role: "editor" }) });
  try {
    await one.page.click(NOTES);
    await one.page.keyboard.type("Budget: 10k for the pilot.");
    await two.page.waitForFunction(() => notesText().includes("pilot."), null, { timeout: 10_000 });
    for (const p of [one, two]) {
      await p.page.evaluate(() => /** @type {any} */ (window).confabRoom.disconnect());
      await p.page.locator("#status[data-status=disconnected]").waitFor();
    }
    const replace = async (p, text) => {
      await p.page.evaluate(() => selectInNotes("10k"));
      await p.page.keyboard.type(text);
    };
    await replace(one, "12k");
    await replace(two, "15k");
    for (const p of [one, two]) {
      await p.page.evaluate(() => /** @type {any} */ (window).confabRoom.connect());
      await p.page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
    }
    const card = one.page.locator("#conflicts li[data-kind=text]").first();
    await card.locator("button", { hasText: "Ask the agent" }).click();
    // The agent (offline) proposes both figures side by side, with its rationale; held.
    const proposed = two.page.locator("#conflicts li[data-status=proposed]");
    await proposed.waitFor({ timeout: 15_000 });
    assert.match(await proposed.innerText(), /Scout proposes: .*12k \/ 15k/);
    assert.match(await proposed.locator(".rationale").innerText(), /^\[offline model\] Both versions are kept side by side/);
    await two.page.screenshot({ path: path.join(ARTIFACTS, "demo-agent-proposal.png") });
    await proposed.getByRole("button", { name: "Accept merge" }).click();
    await one.page.waitForFunction(() => notesText() === "Budget: 12k / 15k for the pilot.", null, { timeout: 10_000 });
    assert.match(await one.page.locator("#conflicts li[data-kind=text]").first().innerText(), /accepted Scout's merge/);

    // A suggestion: the change it would make, accepted from the page.
    await scout.suggest("notes", "Budget: 12k / 15k for the pilot, with a 2k buffer.", "A range this wide needs a buffer.");
    const suggestion = one.page.locator("#conflicts li[data-kind=suggestion][data-status=open]");
    await suggestion.waitFor({ timeout: 10_000 });
    assert.equal(await suggestion.locator("del").innerText(), "pilot.");
    assert.equal(await suggestion.locator("ins").innerText(), "pilot, with a 2k buffer.");
    assert.match(await suggestion.locator(".rationale").innerText(), /needs a buffer/);
    await one.page.screenshot({ path: path.join(ARTIFACTS, "demo-agent-suggestion.png") });
    await suggestion.getByRole("button", { name: "Accept" }).click();
    await two.page.waitForFunction(() => notesText().endsWith("with a 2k buffer."), null, { timeout: 10_000 });

    // An insight reaches the people as a notice, and stays in the AI context.
    await scout.raiseInsight("Risk: the quotes differ by 25%.");
    await two.page.locator("#notice", { hasText: "Insight from Scout: Risk: the quotes differ by 25%." }).waitFor({ timeout: 10_000 });
    await two.page.locator('#context li[data-status="insight"]', { hasText: "the quotes differ" }).waitFor();
    assert.deepEqual([...one.problems, ...two.problems], [], "the pages logged no errors");
  } finally {
    await scout.leave();
    await one.page.context().close();
    await two.page.context().close();
  }
});

test("two pages replace one sentence while apart: both see the same conflict, it is resolved once, authors are coloured", async () => {
  const room = uniqueRoom("e2e-conflict");
  const one = await openDemo(room);
  const two = await openDemo(room);
  const sentence = "The launch is on Monday.";
  await one.page.click(NOTES);
  await one.page.keyboard.type(`Plan: ${sentence} Owner: Sam.`);
  await two.page.waitForFunction((s) => notesText().includes(s), sentence, { timeout: 10_000 });

  // Both go offline, then each replaces the same sentence.
  for (const p of [one, two]) {
    await p.page.evaluate(() => /** @type {any} */ (window).confabRoom.disconnect());
    await p.page.locator("#status[data-status=disconnected]").waitFor();
  }
  const replace = async (p, text) => {
    await p.page.evaluate((s) => selectInNotes(s), sentence);
    await p.page.keyboard.type(text);
  };
  await replace(one, "The launch moves to Tuesday.");
  await replace(two, "The launch is cancelled.");
  // The notice hides itself after a few seconds: watch for it from before it can show.
  const noticed = [one, two].map((p) => p.page.locator("#notice", { hasText: "Needs your input" }).waitFor({ timeout: 30_000 }));
  for (const p of [one, two]) {
    await p.page.evaluate(() => /** @type {any} */ (window).confabRoom.connect());
    await p.page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
  }

  // The same conflict (same id) on both pages, with a "needs your input" notice.
  const openItem = (p) => p.page.locator("#conflicts li[data-status=open]");
  await openItem(one).first().waitFor({ timeout: 10_000 });
  await openItem(two).first().waitFor({ timeout: 10_000 });
  const ids = async (p) => p.page.locator("#conflicts li").evaluateAll((els) => els.map((e) => e.dataset.id));
  await waitFor(async () => (await ids(one)).length === 1 && (await ids(two)).length === 1, { what: "one conflict each" });
  assert.deepEqual(await ids(one), await ids(two), "both pages show the same conflict");
  await Promise.all(noticed);
  const card = await openItem(one).first().innerText();
  assert.match(card, /Tuesday/);
  assert.match(card, /cancelled/);
  const text = (p) => p.page.evaluate(() => notesText());
  assert.equal(await text(one), await text(two), "merged alike");
  await one.page.screenshot({ path: path.join(ARTIFACTS, "demo-conflict-open.png") });

  // Page one keeps its own version; page two sees it resolved, once.
  await openItem(one).first().getByRole("button", { name: "Keep mine" }).click();
  await two.page.locator("#conflicts li[data-status=resolved]").waitFor({ timeout: 10_000 });
  await two.page.waitForFunction(
    () => notesText() === "Plan: The launch moves to Tuesday. Owner: Sam.",
    null,
    { timeout: 10_000 },
  );
  assert.equal(await openItem(two).count(), 0, "nothing left to resolve");
  assert.match(await two.page.locator("#conflicts li").first().innerText(), /Resolved by .*mine/);

  // Author colours: each writer's stretch carries its own colour.
  await two.page.click(NOTES);
  await two.page.keyboard.press("End");
  await two.page.keyboard.type(" Approved.");
  await two.page.check("#show-authors");
  await two.page.locator("#authors span", { hasText: "Approved." }).waitFor({ timeout: 10_000 });
  const authors = await two.page.locator("#authors span").evaluateAll((els) => els.map((e) => [e.textContent, e.dataset.author, e.style.getPropertyValue("--author")]));
  const colours = new Set(authors.map((a) => a[2]));
  assert.ok(authors.length >= 2 && colours.size >= 2, `two authors, two colours: ${JSON.stringify(authors)}`);
  await two.page.screenshot({ path: path.join(ARTIFACTS, "demo-conflict-resolved.png") });
  for (const p of [one, two]) assert.deepEqual(p.problems, []);
  await one.page.context().close();
  await two.page.context().close();
});

test("a room name no server accepts is refused at once, with the reason, in the page and in the package", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  try {
    const page = await context.newPage();
    await gotoDemo(page, `${edge.http}/?room=${encodeURIComponent("team/alpha")}`);
    const error = page.locator("#error");
    await error.waitFor({ state: "visible", timeout: 15_000 });
    assert.match(await error.textContent() ?? "", /invalid room name: `team\/alpha` contains a control character or `\/`/);
    assert.equal(await page.locator("#status").getAttribute("data-status"), "disconnected");
    await page.screenshot({ path: path.join(ARTIFACTS, "e2e-invalid-room.png") });
  } finally {
    await context.close();
  }
  await assert.rejects(
    openConfab(edge.ws, "team/alpha", { id: "ada", name: "Ada" }),
    { name: "ConfabError", code: "invalid_room", message: /`team\/alpha` contains a control character or `\/`/ },
  );
});

test("a viewer is not offered what a viewer may not do", async () => {
  const room = uniqueRoom("e2e-viewer");
  const token = mintToken(DEV_SECRET, { room, sub: "vic", name: "Vic", role: "viewer" });
  // An editor started the notes; the viewer reads them.
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" }, { token: mintToken(DEV_SECRET, { room, sub: "ada", name: "Ada", role: "editor" }) });
  ada.docs.ensure("Notes", "notes");
  ada.docs.setText("notes", "Read me.");
  await ada.whenSaved(10_000);
  ada.destroy();
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  await demoPageHelpers(context);
  try {
    const page = await context.newPage();
    await gotoDemo(page, `${edge.http}/?room=${encodeURIComponent(room)}&token=${encodeURIComponent(token)}`);
    await page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
    await page.locator("#status", { hasText: "viewer (read-only)" }).waitFor({ timeout: 15_000 });
    for (const id of ["chat-send", "ask-agent", "chat-input", "sync-button", "context-share"]) {
      assert.equal(await page.locator(`#${id}`).isDisabled(), true, `#${id} is disabled for a viewer`);
    }
    await page.waitForFunction(() => notesText() === "Read me.");
    assert.equal(await page.locator(NOTES).getAttribute("contenteditable"), "false", "the notes are read-only");
    assert.match(await page.locator("#ask-agent").getAttribute("title") ?? "", /read-only: you are a viewer/);
    // Private context is kept on this device only, and the page says so.
    assert.match(await page.locator("#private-hint").textContent() ?? "", /stays on this device \(a reload keeps it\) and never reaches the room/);
    // The token says who this is: its name, in the page and in presence.
    assert.equal(await page.locator("#my-name").inputValue(), "Vic");
    await page.locator("#peers", { hasText: "Vic (you)" }).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, "e2e-viewer.png") });
  } finally {
    await context.close();
  }
});

test("copy invite link gives the room's address without the token; the link brings a teammate into the same room", async () => {
  const room = uniqueRoom("e2e-invite");
  const token = mintToken(DEV_SECRET, { room, sub: "olga", name: "Olga", role: "editor" });
  const origin = new URL(edge.http).origin;
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  const other = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  try {
    const page = await context.newPage();
    await gotoDemo(page, `${edge.http}/?room=${encodeURIComponent(room)}&token=${encodeURIComponent(token)}`);
    await page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
    await page.click("#invite");
    await page.locator("#invite", { hasText: "Link copied" }).waitFor({ timeout: 5_000 });
    const link = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(link, `${origin}/?room=${encodeURIComponent(room)}`, "the room, and no token");

    const teammate = await other.newPage();
    await gotoDemo(teammate, link);
    await teammate.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
    await teammate.locator("#peers", { hasText: "Olga" }).waitFor({ timeout: 15_000 });
    await page.locator("#peers li").nth(1).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, "e2e-invite.png") });
  } finally {
    await context.close();
    await other.close();
  }
});
