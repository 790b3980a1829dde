// Stock editor bindings on a Confab room through the Yjs bridge, in Chromium: the
// README's CodeMirror 6 + y-codemirror.next page and its ProseMirror + y-prosemirror
// page, served by Vite from the workspace, open as two people against the real edge.
// Typing crosses both ways, the other person's caret is drawn where they put it with
// their name, and an offline edit on each side meets as a conflict with both authors.
import assert from "node:assert/strict";
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { createServer } from "vite";
import { freePort, launchChromium, ROOT, startEdge, tempDir, uniqueRoom } from "./helpers.mjs";

const ARTIFACTS = path.join(ROOT, "tests/artifacts");

const INDEX_HTML = `<!doctype html>
<html>
  <head><meta charset="utf-8" /><link rel="icon" href="data:," /><title>Confab editors</title>
  <style>body { font: 14px system-ui; margin: 12px } #code, #notes { border: 1px solid #ccc; margin: 8px 0; min-height: 60px }
  .ProseMirror { padding: 4px; outline: none; white-space: pre-wrap }
  .ProseMirror-yjs-cursor { position: relative; margin: 0 -1px; border-left: 1px solid; border-right: 1px solid; word-break: normal; pointer-events: none }
  .ProseMirror-yjs-cursor > div { position: absolute; top: -1.05em; left: -1px; font-size: 11px; line-height: normal; color: #fff; padding: 0 2px; white-space: nowrap; user-select: none }</style></head>
  <body>
    <p>Status: <b id="status">loading</b></p>
    <div id="code"></div>
    <div id="notes"></div>
    <script type="module" src="/main.js"></script>
  </body>
</html>
`;

/** The README's two examples as one page, pointed at this test's edge, room and person. */
async function readmePage() {
  const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Yjs and editor bindings"), readme.indexOf("## React"));
  const blocks = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 2, "the section has its CodeMirror and its ProseMirror example");
  assert.match(blocks[0], /ws:\/\/127\.0\.0\.1:8787\/rooms/, "the example targets make dev's address");
  const params = "new URLSearchParams(location.search)";
  const page = blocks
    .join("\n")
    .replace('"ws://127.0.0.1:8787/rooms"', `${params}.get("edge")`)
    .replace('"readme-yjs"', `${params}.get("room")`)
    .replace('{ id: "ada", name: "Ada" }', `{ id: ${params}.get("user"), name: ${params}.get("name") }`);
  return `${page}
window.confab = { room, bridge, editor, prose };
// The ProseMirror document's paragraphs, from its model (the DOM holds others' cursors too).
window.paragraphs = () => {
  const out = [];
  prose.state.doc.forEach((node) => out.push(node.textContent));
  return out.join("|");
};
document.querySelector("#status").textContent = "ready";
`;
}

let dir;
let browser;
let edge;
let server;
let origin;
before(async () => {
  dir = await tempDir("confab-editors-");
  await writeFile(path.join(dir, "index.html"), INDEX_HTML);
  await writeFile(path.join(dir, "main.js"), await readmePage());
  // The workspace's own packages (the package itself is linked there, as in the monorepo).
  await symlink(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  edge = await startEdge({ bindings: { CONFAB_ALLOWED_ORIGINS: origin } });
  server = await createServer({
    root: dir,
    configFile: false,
    clearScreen: false,
    logLevel: "error",
    server: { host: "127.0.0.1", port, strictPort: true, fs: { allow: [dir, ROOT] } },
    optimizeDeps: { include: ["yjs", "y-protocols/awareness", "codemirror", "@codemirror/lang-javascript", "@codemirror/state", "@codemirror/view", "y-codemirror.next", "prosemirror-state", "prosemirror-view", "prosemirror-schema-basic", "prosemirror-keymap", "prosemirror-commands", "y-prosemirror"] },
  });
  await server.listen();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await edge?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A page as `user`, ready, with what it logged as an error. */
async function open(room, user, name) {
  const page = await browser.newPage({ viewport: { width: 700, height: 360 } });
  const problems = [];
  page.on("pageerror", (err) => problems.push(err.message));
  page.on("console", (msg) => msg.type() === "error" && problems.push(msg.text()));
  await page.goto(`${origin}/?edge=${encodeURIComponent(edge.ws)}&room=${encodeURIComponent(room)}&user=${user}&name=${name}`);
  try {
    await page.locator("#status", { hasText: "ready" }).waitFor({ timeout: 60_000 });
  } catch (err) {
    throw new Error(`the page did not start: ${problems.join("; ")}`, { cause: err });
  }
  return { page, problems };
}

const codeText = (page) => page.evaluate(() => /** @type {any} */ (window).confab.editor.state.doc.toString());
const roomText = (page, id) => page.evaluate((id) => /** @type {any} */ (window).confab.room.docs.text(id), id);

/** Wait in `page` until `fn(arg)` holds (it runs in the page). */
function until(page, fn, arg, what) {
  return page.waitForFunction(fn, arg, { timeout: 15_000 }).catch((err) => {
    throw new Error(`timed out waiting for ${what}`, { cause: err });
  });
}

test("CodeMirror through the bridge: typing crosses both ways, the caret is drawn with a name where it was put, and blame names the typist", async () => {
  const room = uniqueRoom("editors");
  const ada = await open(room, "ada", "Ada");
  const bob = await open(room, "bob", "Bob");
  try {
    await ada.page.click("#code .cm-content");
    await ada.page.keyboard.type("let price = 10;");
    await until(bob.page, () => /** @type {any} */ (window).confab.editor.state.doc.toString() === "let price = 10;", null, "Ada's typing in Bob's editor");
    await bob.page.click("#code .cm-content");
    await bob.page.keyboard.press("End");
    await bob.page.keyboard.type("\nprice += 1;");
    await until(ada.page, () => /** @type {any} */ (window).confab.editor.state.doc.toString() === "let price = 10;\nprice += 1;", null, "Bob's typing in Ada's editor");
    assert.equal(await roomText(ada.page, "code"), "let price = 10;\nprice += 1;", "the room's text is the editor's");

    // Ada puts her caret after "let"; Bob's editor draws it there, named.
    await ada.page.click("#code .cm-content");
    await ada.page.keyboard.press("Control+Home");
    for (let i = 0; i < 3; i++) await ada.page.keyboard.press("ArrowRight");
    await until(bob.page, () => {
      const caret = document.querySelector("#code .cm-ySelectionCaret");
      return caret && /** @type {any} */ (window).confab.editor.posAtDOM(caret) === 3 && caret.textContent.includes("Ada");
    }, null, "Ada's caret at 3 in Bob's editor");
    // A selection is drawn too: Ada selects "price".
    await ada.page.keyboard.press("ArrowRight");
    for (let i = 0; i < 5; i++) await ada.page.keyboard.press("Shift+ArrowRight");
    await until(bob.page, () => Array.from(document.querySelectorAll("#code .cm-ySelection")).map((e) => e.textContent).join("") === "price", null, "Ada's selection of 'price' in Bob's editor");

    // A late joiner's editor starts from the text as it is.
    const cara = await open(room, "cara", "Cara");
    try {
      await until(cara.page, () => /** @type {any} */ (window).confab.editor.state.doc.toString() === "let price = 10;\nprice += 1;", null, "the code in a late joiner's editor");
    } finally {
      await cara.page.close();
    }
    const authors = await bob.page.evaluate(() => /** @type {any} */ (window).confab.room.history.blame("code").map((s) => `${s.author?.id}:${s.text}`));
    assert.deepEqual(authors, ["ada:let price = 10;", "bob:\nprice += 1;"]);
    await mkdir(ARTIFACTS, { recursive: true });
    await bob.page.screenshot({ path: path.join(ARTIFACTS, "editors-codemirror.png") });
    assert.deepEqual([...ada.problems, ...bob.problems], [], "no errors in either page");
  } finally {
    await ada.page.close();
    await bob.page.close();
  }
});

test("CodeMirror's undo keys through the bridge take back only your own typing, with the caret put back, and redo it", async () => {
  const room = uniqueRoom("editors-undo");
  const ada = await open(room, "ada", "Ada");
  const bob = await open(room, "bob", "Bob");
  const head = (page) => page.evaluate(() => /** @type {any} */ (window).confab.editor.state.selection.main.head);
  try {
    await bob.page.click("#code .cm-content");
    await bob.page.keyboard.type("// Bob\n");
    await until(ada.page, () => /** @type {any} */ (window).confab.editor.state.doc.toString() === "// Bob\n", null, "Bob's line in Ada's editor");
    await ada.page.click("#code .cm-content");
    await ada.page.keyboard.press("Control+End");
    await ada.page.keyboard.type("let a = 1;");
    await until(bob.page, () => /** @type {any} */ (window).confab.editor.state.doc.toString() === "// Bob\nlet a = 1;", null, "Ada's line in Bob's editor");
    // Bob writes at the start meanwhile: Ada's caret, kept relative, moves with it.
    await bob.page.keyboard.press("Control+Home");
    await bob.page.keyboard.type("/* hi */ ");
    const all = "/* hi */ // Bob\nlet a = 1;";
    await until(ada.page, (all) => /** @type {any} */ (window).confab.editor.state.doc.toString() === all, all, "Bob's comment in Ada's editor");

    await ada.page.keyboard.press("Control+z");
    await until(bob.page, () => /** @type {any} */ (window).confab.editor.state.doc.toString() === "/* hi */ // Bob\n", null, "Ada's undo in Bob's editor");
    assert.equal(await codeText(ada.page), "/* hi */ // Bob\n", "only Ada's typing went");
    assert.equal(await head(ada.page), 16, "the caret is back where Ada began typing");
    assert.equal(await roomText(ada.page, "code"), "/* hi */ // Bob\n");

    await ada.page.keyboard.press("Control+Shift+KeyZ");
    await until(bob.page, (all) => /** @type {any} */ (window).confab.editor.state.doc.toString() === all, all, "Ada's redo in Bob's editor");
    assert.equal(await head(ada.page), all.length, "the caret is where it was when Ada undid");

    // Bob's undo is his own: his comment goes, Ada's line stays.
    await bob.page.keyboard.press("Control+z");
    await until(ada.page, () => !/\/\* hi/.test(/** @type {any} */ (window).confab.editor.state.doc.toString()), null, "Bob's undo in Ada's editor");
    assert.match(await codeText(ada.page), /let a = 1;$/, "Ada's line stays");
    assert.deepEqual([...ada.problems, ...bob.problems], [], "no errors in either page");
  } finally {
    await ada.page.close();
    await bob.page.close();
  }
});

test("CodeMirror offline on both sides: each edit made through the binding meets the other's as a conflict with both authors", async () => {
  const room = uniqueRoom("editors-offline");
  const ada = await open(room, "ada", "Ada");
  const bob = await open(room, "bob", "Bob");
  try {
    await ada.page.click("#code .cm-content");
    await ada.page.keyboard.type("let price = 10;");
    await until(bob.page, () => /** @type {any} */ (window).confab.editor.state.doc.toString() === "let price = 10;", null, "the line at Bob");
    for (const { page } of [ada, bob]) await page.evaluate(() => /** @type {any} */ (window).confab.room.disconnect());
    // Each retypes the price: two Backspaces eat "0;" and "1"... keep it simple: select 10.
    for (const [{ page }, price] of /** @type {const} */ ([[ada, "12"], [bob, "15"]])) {
      await page.click("#code .cm-content");
      await page.keyboard.press("End");
      await page.keyboard.press("ArrowLeft");
      await page.keyboard.press("Shift+ArrowLeft");
      await page.keyboard.press("Shift+ArrowLeft");
      await page.keyboard.type(price);
    }
    assert.equal(await codeText(ada.page), "let price = 12;");
    assert.equal(await codeText(bob.page), "let price = 15;");
    for (const { page } of [ada, bob]) await page.evaluate(() => /** @type {any} */ (window).confab.room.connect());
    for (const [who, { page }] of /** @type {const} */ ([["Ada", ada], ["Bob", bob]])) {
      await until(page, () => /** @type {any} */ (window).confab.room.conflicts.list().length === 1, null, `the conflict at ${who}`);
      const sides = await page.evaluate(() => /** @type {any} */ (window).confab.room.conflicts.list()[0].sides.map((s) => `${s.author?.id}:${s.inserted}`).sort());
      assert.deepEqual(sides, ["ada:12", "bob:15"]);
    }
    await until(ada.page, () => /** @type {any} */ (window).confab.editor.state.doc.toString() === /** @type {any} */ (window).confab.room.docs.text("code"), null, "Ada's editor to show the merge");
    await until(bob.page, () => /** @type {any} */ (window).confab.editor.state.doc.toString() === /** @type {any} */ (window).confab.room.docs.text("code"), null, "Bob's editor to show the merge");
    assert.equal(await codeText(ada.page), await codeText(bob.page));
    assert.deepEqual([...ada.problems, ...bob.problems], [], "no errors in either page");
  } finally {
    await ada.page.close();
    await bob.page.close();
  }
});

test("ProseMirror through the bridge (y-prosemirror): paragraphs cross both ways and the other person's cursor is drawn with their name", async () => {
  const room = uniqueRoom("editors-prose");
  const ada = await open(room, "ada", "Ada");
  const bob = await open(room, "bob", "Bob");
  try {
    await ada.page.click("#notes .ProseMirror");
    await ada.page.keyboard.type("Agenda");
    await ada.page.keyboard.press("Enter");
    await ada.page.keyboard.type("Ship the bridge");
    await until(bob.page, (want) => /** @type {any} */ (window).paragraphs() === want, "Agenda|Ship the bridge", "Ada's paragraphs at Bob");
    await bob.page.click("#notes .ProseMirror p:last-child");
    await bob.page.keyboard.press("End");
    await bob.page.keyboard.type(" today");
    await until(ada.page, (want) => /** @type {any} */ (window).paragraphs() === want, "Agenda|Ship the bridge today", "Bob's words at Ada");
    await until(ada.page, () => Array.from(document.querySelectorAll("#notes .ProseMirror-yjs-cursor")).some((c) => c.textContent.includes("Bob")), null, "Bob's cursor at Ada");
    await ada.page.screenshot({ path: path.join(ARTIFACTS, "editors-prosemirror.png") });
    // The body is stored and attributed like any change: a late joiner gets it.
    const cara = await open(room, "cara", "Cara");
    try {
      await until(cara.page, (want) => /** @type {any} */ (window).paragraphs() === want, "Agenda|Ship the bridge today", "the notes at a late joiner");
    } finally {
      await cara.page.close();
    }
    assert.deepEqual([...ada.problems, ...bob.problems], [], "no errors in either page");
  } finally {
    await ada.page.close();
    await bob.page.close();
  }
});
