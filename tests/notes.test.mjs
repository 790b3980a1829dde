// The demo's shared notes in Chromium, against the edge under `wrangler dev`: two people
// typing into the same word at the same moment, and through an IME composition.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { ROOT, startWranglerDev, tempDir, uniqueRoom, waitFor } from "./helpers.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = path.join(ROOT, "tests/artifacts");
const DOCUMENT = "notes";

let edge;
let browser;
before(async () => {
  edge = await startWranglerDev({ persistTo: await tempDir("confab-notes-") });
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

async function openDemo(room, name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  // Each tab is its own guest: give it a name.
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
