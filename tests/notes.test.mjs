// The demo's shared notes (CodeMirror on the room through the Yjs bridge) in Chromium,
// against the edge under `wrangler dev`: two people typing into the same word at the
// same moment, an input method's composition, the carets of the others, and the code
// document with its highlighting.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { demoContext, gotoDemo, launchChromium, NOTES, pageProblems, ROOT, startWranglerDev, tempDir, uniqueRoom, waitFor } from "./helpers.mjs";

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
  const page = await (await demoContext(browser, name)).newPage();
  const problems = pageProblems(page);
  await gotoDemo(page, `${edge.http}/?room=${encodeURIComponent(room)}`);
  await page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
  return { page, problems, name };
}

/** The notes as the page's editor shows them, and as its room document holds them. */
const notesOf = (page) =>
  page.evaluate((id) => ({
    shown: notesText(),
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
    const view = /** @type {any} */ (window).confabEditors.view("notes");
    view.focus();
    view.dispatch({ selection: { anchor: s, head: e } });
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
  assert.equal(await one.page.evaluate(() => notesText()), "The meeting is on TuXYesかなday at noon.", "the composition is left alone");
  await ime.send("Input.insertText", { text: "仮名" });
  assert.equal(await converged(pages), "The meeting is on TuXYes仮名day at noon.");
  for (const p of pages) assert.deepEqual(p.problems, []);
  for (const p of pages) await p.page.context().close();
});

/** What one page's notes editor draws for `name`'s caret: where it is, its name and colour. */
function caretOf(page, name) {
  return page.evaluate((who) => {
    const view = /** @type {any} */ (window).confabEditors.view("notes");
    const caret = Array.from(view.dom.querySelectorAll(".cm-ySelectionCaret")).find((c) => c.textContent.includes(who));
    if (!caret) return null;
    const box = caret.getBoundingClientRect();
    const editor = view.scrollDOM.getBoundingClientRect();
    return {
      at: view.posAtDOM(caret),
      colour: /** @type {HTMLElement} */ (caret).style.borderColor,
      label: /** @type {HTMLElement} */ (caret.querySelector(".cm-ySelectionInfo")).textContent,
      visible: box.bottom > editor.top && box.top < editor.bottom,
    };
  }, name);
}

test("the others' carets and selections are drawn in the notes, with their names and colours, and follow the text", async () => {
  const room = uniqueRoom("notes-carets");
  const one = await openDemo(room, "Ada");
  const two = await openDemo(room, "Bo");
  const pages = [one, two];
  const lines = ["Agenda", "The meeting is on Tuesday at noon.", "Bring the numbers."];
  await resetNotes(pages, lines.join("\n"));

  // Ada's caret after "The meeting is on ": Bo sees it there, labelled with her name.
  const at = lines[0].length + 1 + "The meeting is on ".length;
  await place(one.page, at);
  const ada = await waitFor(async () => {
    const c = await caretOf(two.page, "Ada");
    return c?.at === at ? c : null;
  }, { what: `Ada's caret at ${at} on Bo's page` });
  assert.equal(ada.label, "Ada");
  assert.match(ada.colour, /^rgb\(/, "drawn in her colour");

  // Ada selects "Tuesday": Bo sees the selection over the word.
  const start = lines[0].length + 1 + lines[1].indexOf("Tuesday");
  await place(one.page, start, start + "Tuesday".length);
  const selected = () => two.page.evaluate(() => {
    const view = /** @type {any} */ (window).confabEditors.view("notes");
    return Array.from(view.dom.querySelectorAll(".cm-ySelection")).map((e) => e.textContent).join("");
  });
  await waitFor(async () => (await selected()) === "Tuesday", { what: "Ada's selection over Tuesday on Bo's page" });

  // Bo types at the start of that line: Ada's selection moves with the text it covers,
  // and Ada sees Bo's caret after what he typed.
  await place(two.page, lines[0].length + 1);
  await two.page.keyboard.type("Note: ");
  await waitFor(async () => (await selected()) === "Tuesday" && (await notesOf(two.page)).shown.includes("Note: The meeting"), { what: "the selection to stay over Tuesday" });
  const boAt = lines[0].length + 1 + "Note: ".length;
  const bo = await waitFor(async () => {
    const c = await caretOf(one.page, "Bo");
    return c?.at === boAt ? c : null;
  }, { what: "Bo's caret after what he typed, on Ada's page" });
  // Each person's colour is the same on every page: their caret there, their name here.
  const sidebarColour = (page, name) => page.locator("#peers li .name", { hasText: name }).evaluate((el) => getComputedStyle(el).getPropertyValue("--colour"));
  const rgb = (page, colour) => page.evaluate((c) => {
    const probe = document.createElement("i");
    probe.style.color = c;
    document.body.append(probe);
    const out = getComputedStyle(probe).color;
    probe.remove();
    return out;
  }, colour);
  assert.equal(await rgb(two.page, await sidebarColour(two.page, "Ada")), ada.colour);
  assert.equal(await rgb(one.page, await sidebarColour(one.page, "Bo")), bo.colour);
  assert.match(await two.page.locator("#peers li", { hasText: "Ada" }).locator(".activity").textContent(), /notes, line 2/);

  await mkdir(ARTIFACTS, { recursive: true });
  await two.page.screenshot({ path: path.join(ARTIFACTS, "notes-carets-bo-sees-ada.png") });
  await one.page.locator("section.doc").screenshot({ path: path.join(ARTIFACTS, "notes-carets-ada-sees-bo-notes.png") });

  // Scrolled away, a caret is out of sight; scrolled back, it is there again.
  await resetNotes(pages, [...lines, ...Array.from({ length: 60 }, (_, i) => `line ${i + 4}`)].join("\n"));
  await place(one.page, 3);
  await waitFor(async () => (await caretOf(two.page, "Ada"))?.at === 3, { what: "Ada's caret on the first line" });
  await two.page.evaluate(() => {
    const view = /** @type {any} */ (window).confabEditors.view("notes");
    view.scrollDOM.scrollTop = view.scrollDOM.scrollHeight;
  });
  await waitFor(async () => (await caretOf(two.page, "Ada"))?.visible === false, { what: "Ada's caret out of sight" });
  await two.page.evaluate(() => {
    /** @type {any} */ (window).confabEditors.view("notes").scrollDOM.scrollTop = 0;
  });
  await waitFor(async () => (await caretOf(two.page, "Ada"))?.visible === true, { what: "Ada's caret in sight again" });

  // A caret stays where its owner left it (as y-codemirror keeps it) until they leave
  // the room: then it goes.
  assert.deepEqual(one.problems, []);
  await one.page.context().close();
  await waitFor(async () => (await caretOf(two.page, "Ada")) === null, { what: "Ada's caret gone when she leaves" });
  assert.deepEqual(two.problems, []);
  await two.page.context().close();
});

test("the code document: its own tab, highlighted as code, edited together like the notes", async () => {
  const room = uniqueRoom("notes-code");
  const one = await openDemo(room, "Ada");
  const two = await openDemo(room, "Bo");
  for (const p of [one, two]) await p.page.click('#doc-tabs .tab[data-doc="code"]');
  const code = '#editor [data-doc="code"] .cm-content';
  await one.page.click(code);
  await one.page.keyboard.type("const answer = 42; // the answer");
  await two.page.waitForFunction(() => /** @type {any} */ (window).confabEditors.view("code").state.doc.toString() === "const answer = 42; // the answer");
  // Highlighted: the keyword, the number and the comment each in their own style.
  const styles = await two.page.evaluate(() => {
    const view = /** @type {any} */ (window).confabEditors.view("code");
    const colourOf = (text) => {
      const span = Array.from(view.contentDOM.querySelectorAll("span")).find((s) => s.textContent === text);
      return span ? getComputedStyle(span).color : null;
    };
    return [colourOf("const"), colourOf("42"), colourOf("// the answer")];
  });
  assert.ok(styles.every(Boolean) && new Set(styles).size === 3, `three highlight colours: ${JSON.stringify(styles)}`);
  assert.equal(await two.page.evaluate(() => notesText()), "", "the notes are another document");
  await mkdir(ARTIFACTS, { recursive: true });
  await two.page.locator("section.doc").screenshot({ path: path.join(ARTIFACTS, "demo-code.png") });
  for (const p of [one, two]) assert.deepEqual(p.problems, []);
  for (const p of [one, two]) await p.page.context().close();
});
