// The demo's shared notes in Chromium, against the edge under `wrangler dev`: two people
// typing into the same word at the same moment, and the carets of the others.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { launchChromium, ROOT, startWranglerDev, tempDir, uniqueRoom, waitFor } from "./helpers.mjs";

const ARTIFACTS = path.join(ROOT, "tests/artifacts");
const DOCUMENT = "notes";

let edge;
let browser;
before(async () => {
  edge = await startWranglerDev({ persistTo: await tempDir("confab-notes-") });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await edge?.stop();
});

async function openDemo(room, name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  // Each tab is its own guest; a name set beforehand makes the carets' labels known.
  await context.addInitScript((n) => sessionStorage.setItem("confab.name", n), name);
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(err.message));
  page.on("console", (msg) => msg.type() === "error" && problems.push(msg.text()));
  await page.goto(`${edge.http}/?room=${encodeURIComponent(room)}`);
  await page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
  return { page, problems, name };
}

/** The notes as the page's textarea shows them, and as its room document holds them. */
const notesOf = (page) =>
  page.evaluate((id) => ({
    shown: /** @type {HTMLTextAreaElement} */ (document.querySelector("#doc")).value,
    doc: /** @type {any} */ (window).confabRoom.docs.text(id),
  }), DOCUMENT);

/** Wait until every page shows the same text as every room document, and return it. */
async function converged(pages) {
  let last;
  return waitFor(
    async () => {
      const all = await Promise.all(pages.map((p) => notesOf(p.page)));
      last = all;
      const text = all[0].doc;
      return all.every((n) => n.doc === text && n.shown === text) ? text : null;
    },
    { timeout: 15_000, what: `the pages to agree (last seen: ${JSON.stringify(last)})` },
  ).catch((err) => {
    throw new Error(`${err.message}; last seen: ${JSON.stringify(last)}`);
  });
}

/** Replace the whole notes from one page and wait until every page shows them. */
async function resetNotes(pages, text) {
  await pages[0].page.evaluate(([id, t]) => /** @type {any} */ (window).confabRoom.docs.setText(id, t), [DOCUMENT, text]);
  await waitFor(async () => (await converged(pages)) === text, { what: "the reset notes everywhere" });
}

/**
 * Focus the notes and select `start..end` (a caret when `end` is left out), and wait
 * until the page has published it as its cursor (as a person's click is, long before
 * their first key).
 */
async function place(page, start, end = start) {
  await page.evaluate(([s, e]) => {
    const el = /** @type {HTMLTextAreaElement} */ (document.querySelector("#doc"));
    el.focus();
    el.setSelectionRange(s, e);
  }, [start, end]);
  await page.waitForFunction(([s, e]) => {
    const cursor = /** @type {any} */ (window).confabRoom.presence.list().find((p) => p.isSelf)?.cursor;
    return cursor?.anchor === s && cursor?.head === e;
  }, [start, end]);
}

/**
 * True when `text` is made of `parts` interleaved, each part's characters in its own
 * order and nothing else: removing each part as a subsequence leaves nothing.
 */
function isInterleaving(text, parts) {
  let states = new Set([parts.map(() => 0).join(",")]);
  for (const ch of text.split("")) {
    const next = new Set();
    for (const state of states) {
      const at = state.split(",").map(Number);
      parts.forEach((part, i) => {
        if (part[at[i]] !== ch) return;
        const moved = [...at];
        moved[i] += 1;
        next.add(moved.join(","));
      });
    }
    if (next.size === 0) return false;
    states = next;
  }
  return states.has(parts.map((p) => p.length).join(","));
}

test("the interleaving check accepts merges in each typist's order and refuses garbled text", () => {
  assert.ok(isInterleaving("on Thhuurrssddaayy at", ["on  at", "Thursday", "hursday"]));
  assert.ok(isInterleaving("on ThursdayThursday at", ["on  at", "Thursday", "Thursday"]));
  // The garbling of issue 14: a T after the word it began.
  assert.ok(!isInterleaving("on TuesdayhursdayT at", ["on Tuesday at", "Thursday", ""]));
  assert.ok(!isInterleaving("on Thursdayy at", ["on  at", "Thursday", ""]), "a character no one typed");
  assert.ok(!isInterleaving("on Thursay at", ["on  at", "Thursday", ""]), "a character lost");
});

const SENTENCE = "The meeting is on Tuesday at noon.";
const WORD = SENTENCE.indexOf("Tuesday");

// Each round: where both carets start, what each types, and what is left of the original
// text once the selections (if any) are replaced.
const ROUNDS = [
  { what: "both carets after the T of Tuesday, both typing the same letters", one: [WORD + 1], two: [WORD + 1], typeOne: "hursday or Tu", typeTwo: "hursday and T", base: SENTENCE },
  { what: "carets two letters apart inside Tuesday", one: [WORD + 2], two: [WORD + 4], typeOne: "esday and Tue", typeTwo: "day, then Tues", base: SENTENCE },
  { what: "both replacing the selected word Tuesday with Thursday", one: [WORD, WORD + 7], two: [WORD, WORD + 7], typeOne: "Thursday", typeTwo: "Thursday", base: SENTENCE.replace("Tuesday", "") },
  { what: "one replacing Tuesday while the other types inside it", one: [WORD, WORD + 7], two: [WORD + 3], typeOne: "Thursday", typeTwo: "sss", base: null },
  // Different letters at one spot: each caret stays after its own text, so each word stays whole.
  { what: "both carets at one spot, typing different letters", one: [WORD], two: [WORD], typeOne: "FRIDAY OR ", typeTwo: "monday, ", base: SENTENCE, whole: true },
];

test("two people typing into the same word at the same moment: the same text everywhere, made only of what each typed, in order", async (t) => {
  const room = uniqueRoom("notes-typing");
  const one = await openDemo(room, "Ada");
  const two = await openDemo(room, "Bo");
  const pages = [one, two];
  for (const [n, round] of ROUNDS.entries()) {
    await resetNotes(pages, SENTENCE);
    await place(one.page, ...round.one);
    await place(two.page, ...round.two);
    // Interleaved keys: each page types with its own small delay, both at once.
    await Promise.all([
      one.page.keyboard.type(round.typeOne, { delay: 17 }),
      two.page.keyboard.type(round.typeTwo, { delay: 13 }),
    ]);
    const text = await converged(pages);
    t.diagnostic(`round ${n + 1} (${round.what}): ${JSON.stringify(text)}`);
    if (round.base === null) {
      // One page replaced the word the other was typing into: the other's first letters
      // may go with the word (they reached the first page before its selection was
      // replaced), but nothing else is lost, nothing comes back and nothing else appears.
      const base = SENTENCE.replace("Tuesday", "");
      const kept = [...round.typeTwo].map((_, k) => round.typeTwo.slice(k)).concat("");
      assert.ok(
        kept.some((rest) => isInterleaving(text, [base, round.typeOne, rest])),
        `round ${n + 1} (${round.what}): ${JSON.stringify(text)} is not ${JSON.stringify([base, round.typeOne])} interleaved with the end of ${JSON.stringify(round.typeTwo)}`,
      );
      continue;
    }
    const parts = [round.base, round.typeOne, round.typeTwo];
    assert.ok(
      isInterleaving(text, parts),
      `round ${n + 1} (${round.what}): ${JSON.stringify(text)} is not ${JSON.stringify(parts)} interleaved`,
    );
    if (round.whole) {
      assert.ok(text.includes(round.typeOne) && text.includes(round.typeTwo), `round ${n + 1} (${round.what}): each word whole in ${JSON.stringify(text)}`);
    }
  }
  await mkdir(ARTIFACTS, { recursive: true });
  await one.page.screenshot({ path: path.join(ARTIFACTS, "notes-typing-together.png") });
  for (const p of pages) assert.deepEqual(p.problems, []);
  for (const p of pages) await p.page.context().close();
});

test("an IME composition is not broken by a remote edit; the composed text lands where it was composed", async () => {
  const room = uniqueRoom("notes-ime");
  const one = await openDemo(room, "Ada");
  const two = await openDemo(room, "Bo");
  const pages = [one, two];
  await resetNotes(pages, SENTENCE);
  await place(one.page, WORD + 4);
  await place(two.page, WORD + 2);
  // Page one composes (as an input method does: marked text, updated, then committed)…
  const ime = await one.page.context().newCDPSession(one.page);
  await ime.send("Input.imeSetComposition", { text: "か", selectionStart: 1, selectionEnd: 1 });
  // …while page two types. Page one's room has the edit, its textarea waits.
  await two.page.keyboard.type("XY", { delay: 15 });
  await waitFor(() => one.page.evaluate((id) => /** @type {any} */ (window).confabRoom.docs.text(id).includes("XY"), DOCUMENT), {
    what: "page two's edit in page one's room",
  });
  await ime.send("Input.imeSetComposition", { text: "かな", selectionStart: 2, selectionEnd: 2 });
  assert.equal(await one.page.inputValue("#doc"), "The meeting is on Tuesかなday at noon.", "the composition is left alone");
  await ime.send("Input.insertText", { text: "仮名" });
  assert.equal(await converged(pages), "The meeting is on TuXYes仮名day at noon.");
  for (const p of pages) assert.deepEqual(p.problems, []);
  for (const p of pages) await p.page.context().close();
});

/**
 * Where the page's textarea shows the end of `before` (text at the start of a line) and
 * how wide `word` is, measured with a canvas in the textarea's font, and where its first
 * line of text is.
 */
function expectedSpot(page, before, word = "") {
  return page.evaluate(([b, w]) => {
    const el = /** @type {HTMLTextAreaElement} */ (document.querySelector("#doc"));
    const style = getComputedStyle(el);
    const ctx = /** @type {CanvasRenderingContext2D} */ (document.createElement("canvas").getContext("2d"));
    ctx.font = style.font;
    const box = el.getBoundingClientRect();
    const left = box.left + el.clientLeft + parseFloat(style.paddingLeft) - el.scrollLeft;
    return {
      x: left + ctx.measureText(b).width,
      width: ctx.measureText(w).width,
      top: box.top + el.clientTop + parseFloat(style.paddingTop) - el.scrollTop,
      box: { left: box.left, top: box.top, right: box.right, bottom: box.bottom },
    };
  }, [before, word]);
}

test("the others' carets and selections are drawn in the notes, with their names and colours, and follow the text", async () => {
  const room = uniqueRoom("notes-carets");
  const one = await openDemo(room, "Ada");
  const two = await openDemo(room, "Bo");
  const pages = [one, two];
  const lines = ["Agenda", "The meeting is on Tuesday at noon.", "Bring the numbers."];
  await resetNotes(pages, lines.join("\n"));
  const adaId = await one.page.evaluate(() => sessionStorage.getItem("confab.userId"));
  const adaCaret = two.page.locator(`#carets .remote-caret[data-user="${adaId}"]`);

  // Ada's caret after "The meeting is on ": Bo sees it there, labelled with her name.
  const prefix = "The meeting is on ";
  await place(one.page, lines[0].length + 1 + prefix.length);
  await adaCaret.waitFor({ timeout: 10_000 });
  assert.equal(await adaCaret.locator(".remote-caret-label").textContent(), "Ada");
  const spot = await expectedSpot(two.page, prefix);
  // (It may show first where her focus put it, then move.)
  const caret = await waitFor(async () => {
    const b = await adaCaret.boundingBox();
    return b && Math.abs(b.x + b.width / 2 - spot.x) < 3 ? b : null;
  }, { what: `Ada's caret after "${prefix}" (x about ${spot.x})` });
  assert.ok(caret.x >= spot.box.left && caret.x + caret.width <= spot.box.right, "inside the textarea, left to right");
  assert.ok(caret.y >= spot.box.top && caret.y + caret.height <= spot.box.bottom, "inside the textarea, top to bottom");
  assert.ok(Math.abs(caret.y - (spot.top + caret.height)) < caret.height / 2, `on the second line: y ${caret.y} (first line at ${spot.top})`);
  const colour = await adaCaret.evaluate((el) => el.style.getPropertyValue("--colour"));
  assert.match(colour, /^hsl\(/);
  assert.equal(
    await adaCaret.locator(".remote-caret-label").evaluate((el) => getComputedStyle(el).backgroundColor),
    await adaCaret.evaluate((el) => getComputedStyle(el).backgroundColor),
    "the name is shown in the caret's colour",
  );

  // Ada selects "Tuesday": Bo sees the selection over the word, the caret at its end.
  const start = lines[0].length + 1 + lines[1].indexOf("Tuesday");
  await place(one.page, start, start + "Tuesday".length);
  const selection = two.page.locator("#carets .remote-selection");
  await selection.first().waitFor({ timeout: 10_000 });
  const word = await expectedSpot(two.page, prefix, "Tuesday");
  await waitFor(async () => {
    const box = await selection.first().boundingBox();
    return box && Math.abs(box.x - word.x) < 3 && Math.abs(box.width - word.width) < 3;
  }, { what: `the selection over "Tuesday" (${JSON.stringify(word)})` });
  await waitFor(async () => {
    const b = await adaCaret.boundingBox();
    return b && Math.abs(b.x + b.width / 2 - (word.x + word.width)) < 3;
  }, { what: "Ada's caret at the end of her selection" });

  // Bo types at the start of that line: Ada's selection moves with the text it covers.
  await place(two.page, lines[0].length + 1);
  await two.page.keyboard.type("Note: ");
  const moved = await expectedSpot(two.page, `Note: ${prefix}`, "Tuesday");
  await waitFor(async () => {
    const b = await selection.first().boundingBox();
    return b && Math.abs(b.x - moved.x) < 3;
  }, { what: "Ada's selection to move right with the text" });
  // And Ada sees Bo's caret where he typed.
  const boId = await two.page.evaluate(() => sessionStorage.getItem("confab.userId"));
  const boCaret = one.page.locator(`#carets .remote-caret[data-user="${boId}"]`);
  await boCaret.waitFor({ timeout: 10_000 });
  const boSpot = await expectedSpot(one.page, "Note: ");
  await waitFor(async () => {
    const b = await boCaret.boundingBox();
    return b && Math.abs(b.x + b.width / 2 - boSpot.x) < 3;
  }, { what: "Bo's caret after what he typed, on Ada's page" });
  // Each person's colour is the same on every page: their caret there, their name here.
  const sidebarColour = (page, name) => page.locator("#peers li .name", { hasText: name }).evaluate((el) => el.style.getPropertyValue("--colour"));
  assert.equal(await sidebarColour(one.page, "Ada (you)"), colour);
  assert.equal(await sidebarColour(two.page, "Ada"), colour);
  assert.equal(await sidebarColour(two.page, "Bo (you)"), await boCaret.evaluate((el) => el.style.getPropertyValue("--colour")));
  assert.match(await two.page.locator("#peers li", { hasText: "Ada" }).locator(".activity").textContent(), /notes, line 2/);

  await mkdir(ARTIFACTS, { recursive: true });
  await two.page.screenshot({ path: path.join(ARTIFACTS, "notes-carets-bo-sees-ada.png") });
  await two.page.locator("section.doc").screenshot({ path: path.join(ARTIFACTS, "notes-carets-bo-sees-ada-notes.png") });
  await one.page.locator("section.doc").screenshot({ path: path.join(ARTIFACTS, "notes-carets-ada-sees-bo-notes.png") });

  // Scrolled away, a caret is not drawn over other text; scrolled back, it is there again.
  await resetNotes(pages, [...lines, ...Array.from({ length: 60 }, (_, i) => `line ${i + 4}`)].join("\n"));
  await place(one.page, 3);
  await adaCaret.waitFor({ timeout: 10_000 });
  await two.page.evaluate(() => {
    const el = /** @type {HTMLTextAreaElement} */ (document.querySelector("#doc"));
    el.scrollTop = el.scrollHeight;
  });
  await adaCaret.waitFor({ state: "hidden", timeout: 10_000 });
  await two.page.evaluate(() => {
    /** @type {HTMLTextAreaElement} */ (document.querySelector("#doc")).scrollTop = 0;
  });
  await adaCaret.waitFor({ timeout: 10_000 });
  await two.page.locator("section.doc").screenshot({ path: path.join(ARTIFACTS, "notes-carets-first-line.png") });
  // A caret left where it is keeps only a flag after a few seconds; moved, its name is back.
  const quiet = two.page.locator(`#carets .remote-caret.quiet[data-user="${adaId}"]`);
  await quiet.waitFor({ timeout: 10_000 });
  await two.page.locator("section.doc").screenshot({ path: path.join(ARTIFACTS, "notes-carets-resting.png") });
  await place(one.page, 5);
  await quiet.waitFor({ state: "detached", timeout: 10_000 });
  assert.equal(await adaCaret.locator(".remote-caret-label").isVisible(), true);

  // Leaving the notes takes the caret away.
  await one.page.click("#chat-input");
  await adaCaret.waitFor({ state: "detached", timeout: 10_000 });
  assert.equal(await two.page.locator("#carets .remote-selection").count(), 0);
  for (const p of pages) assert.deepEqual(p.problems, []);
  for (const p of pages) await p.page.context().close();
});
