// The package in a Vite app, the way a newcomer first uses it: `npm pack` in npm/, the
// tarball installed into a fresh app, Vite's own dev server with no config at all (its
// dependency pre-bundling on), the page in Chromium joining a room on the real edge. The
// README's React example runs here too, as a React app on the packed package's hooks.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { createServer, searchForWorkspaceRoot } from "vite";
import {
  freePort,
  launchChromium,
  openConfab,
  ROOT,
  startEdge,
  tempDir,
  textOf,
  uniqueRoom,
  waitFor,
} from "./helpers.mjs";

const ARTIFACTS = path.join(ROOT, "tests/artifacts");
const run = promisify(execFile);

/** The app: a page that joins the room named in its address and says how it is doing. */
const INDEX_HTML = `<!doctype html>
<html>
  <head><meta charset="utf-8" /><link rel="icon" href="data:," /><title>Confab in Vite</title></head>
  <body>
    <p>Status: <b id="status">loading</b></p>
    <pre id="notes"></pre>
    <script type="module" src="/main.js"></script>
  </body>
</html>
`;
const MAIN_JS = `import { Room } from "confab-rooms";

const status = document.querySelector("#status");
const notes = document.querySelector("#notes");
const params = new URLSearchParams(location.search);
try {
  const room = await Room.open({ url: params.get("edge"), room: params.get("room"), user: { id: "vite", name: "Vite page" } });
  room.on("status", (event) => (status.textContent = event.status));
  room.on("change", () => (notes.textContent = room.docs.list().some((d) => d.id === "notes") ? room.docs.text("notes") : ""));
  await room.whenSynced();
  status.textContent = room.status;
  room.chat.ensureConversation("Main", "main");
  room.chat.post("main", "Hello from a Vite app");
} catch (err) {
  status.textContent = "error: " + (err && err.message);
}
`;

/** The README's React app (no JSX, so no build plugin). */
const REACT_FILES = {
  "index.html": `<!doctype html>
<html>
  <head><meta charset="utf-8" /><link rel="icon" href="data:," /><title>Confab in React</title></head>
  <body><div id="root"></div><script type="module" src="/main.js"></script></body>
</html>
`,
  // The README's React example, unchanged but for where the edge and the room are.
  "main.js": "",
};

let dir;
let tarball;
let browser;
before(async () => {
  dir = await tempDir("confab-vite-");
  // The package as it would be published: what `npm pack` puts in the tarball.
  const { stdout } = await run("npm", ["pack", "--pack-destination", dir, "--loglevel=error"], {
    cwd: path.join(ROOT, "npm"),
    timeout: 60_000,
  });
  tarball = path.join(dir, stdout.trim().split("\n").at(-1) ?? "");
  assert.match(tarball, /confab-rooms-[\d.]+\.tgz$/);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * A fresh app in `dir/name` with the package installed by `install`; Vite's dev server on
 * it (its `config` added), an edge that lets the dev server's pages in, and the page open
 * in Chromium. Returns what the test needs and `close()`.
 * @param {string} name
 * @param {(app: string) => Promise<void>} install
 * @param {import("vite").InlineConfig} [config]
 * @param {Record<string, string>} [files] the app's files (the plain page by default)
 */
async function openApp(name, install, config = {}, files = { "index.html": INDEX_HTML, "main.js": MAIN_JS }) {
  const app = path.join(dir, name);
  await mkdir(app);
  await writeFile(path.join(app, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(app, file), text);
  await install(app);

  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  // The dev server's pages are another origin than the edge's: allowed as in the README.
  const edge = await startEdge({ bindings: { CONFAB_ALLOWED_ORIGINS: origin } });
  /** What Vite reported as a warning or an error. @type {string[]} */
  const viteProblems = [];
  const server = await createServer({
    root: app,
    configFile: false,
    clearScreen: false,
    logLevel: "warn",
    customLogger: {
      info() {},
      warn: (msg) => viteProblems.push(msg),
      warnOnce: (msg) => viteProblems.push(msg),
      error: (msg) => viteProblems.push(msg),
      clearScreen() {},
      hasErrorLogged: () => false,
      hasWarned: false,
    },
    ...config,
    server: { host: "127.0.0.1", port, strictPort: true, ...config.server },
  });
  const room = uniqueRoom("vite");
  /** Errors in the page, and requests that failed. @type {string[]} */
  const pageProblems = [];
  let page;
  try {
    await server.listen();
    page = await browser.newPage({ viewport: { width: 900, height: 400 } });
    page.on("pageerror", (err) => pageProblems.push(err.message));
    page.on("console", (msg) => msg.type() === "error" && pageProblems.push(msg.text()));
    page.on("response", (res) => res.status() >= 400 && pageProblems.push(`${res.status()} ${res.url()}`));
    await page.goto(`${origin}/?edge=${encodeURIComponent(edge.ws)}&room=${encodeURIComponent(room)}`);
  } catch (err) {
    await server.close();
    await edge.stop();
    throw err;
  }
  return {
    app,
    edge,
    room,
    page,
    viteProblems,
    pageProblems,
    close: async () => {
      await page.close();
      await server.close();
      await edge.stop();
    },
  };
}

/** Wait for the page's status to read `synced`; fails with what the page and Vite said. */
async function whenPageSynced({ page, pageProblems, viteProblems }) {
  try {
    await page.locator("#status", { hasText: /^synced$/ }).waitFor({ timeout: 30_000 });
  } catch (err) {
    const status = await page.locator("#status").textContent();
    throw new Error(`the page did not sync (status: ${status}); page: ${pageProblems.join("; ")}; vite: ${viteProblems.join("; ")}`, {
      cause: err,
    });
  }
}

/** Once the page synced, a Node client in its room (the app closed if either fails). */
async function nodeBeside(vite) {
  try {
    await whenPageSynced(vite);
    return await openConfab(vite.edge.ws, vite.room, { id: "node", name: "Node" });
  } catch (err) {
    await vite.close();
    throw err;
  }
}

test("the packed package works in a Vite app as it is: the page syncs, and edits cross both ways", async () => {
  const vite = await openApp("app-tarball", async (app) => {
    await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], { cwd: app, timeout: 60_000 });
  });
  const node = await nodeBeside(vite);
  try {
    // Vite pre-bundled the package (the case that used to break it).
    const deps = await readdir(path.join(vite.app, "node_modules/.vite/deps"));
    assert.ok(deps.includes("confab-rooms.js"), `pre-bundled: ${deps.join(", ")}`);

    // The page's message reaches Node; Node's edit reaches the page.
    await waitFor(() => node.chat.messages("main").some((m) => m.text === "Hello from a Vite app"), {
      timeout: 10_000,
      what: "the page's message in Node",
    });
    node.docs.ensure("Notes", "notes");
    node.docs.insert("notes", 0, "Written from Node.");
    await vite.page.locator("#notes", { hasText: "Written from Node." }).waitFor({ timeout: 10_000 });
    assert.equal(textOf(node, "notes"), "Written from Node.");

    await mkdir(ARTIFACTS, { recursive: true });
    await vite.page.screenshot({ path: path.join(ARTIFACTS, "vite-app.png") });
    assert.deepEqual(vite.pageProblems, [], "no errors in the page, no failed requests");
    assert.deepEqual(vite.viteProblems, [], "Vite warned of nothing");
  } finally {
    node.destroy();
    await vite.close();
  }
});

test("a linked install (npm install <folder>) works in Vite with the folder in server.fs.allow, as the README says", async () => {
  const npm = path.join(ROOT, "npm");
  const vite = await openApp(
    "app-linked",
    // What `npm install /path/to/confab/npm` does: a link to the folder.
    async (app) => {
      await mkdir(path.join(app, "node_modules"));
      await symlink(npm, path.join(app, "node_modules/confab-rooms"), "dir");
    },
    // The README's vite.config.js: the app's root as Vite finds it, and the package's folder.
    { server: { fs: { allow: [searchForWorkspaceRoot(path.join(dir, "app-linked")), npm] } } },
  );
  try {
    await whenPageSynced(vite);
    assert.deepEqual(vite.pageProblems, [], "no errors in the page, no failed requests");
  } finally {
    await vite.close();
  }
});

test("the README's React app on the packed package's hooks, in Chromium: the page syncs and renders the room as it changes", async () => {
  const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
  const example = readme.slice(readme.indexOf("## React")).match(/```js\n([\s\S]*?)```/)?.[1] ?? "";
  assert.match(example, /ws:\/\/127\.0\.0\.1:8787\/rooms/, "the example targets make dev's address");
  const files = {
    ...REACT_FILES,
    "main.js": example
      .replace('"ws://127.0.0.1:8787/rooms"', 'new URLSearchParams(location.search).get("edge")')
      .replace('"readme-react"', 'new URLSearchParams(location.search).get("room")'),
  };
  const vite = await openApp(
    "app-react",
    async (app) => {
      // React at the workspace's own pinned version (from the cache when it is there).
      const { devDependencies: pins } = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8"));
      const react = [`react@${pins.react}`, `react-dom@${pins["react-dom"]}`];
      await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball, ...react], { cwd: app, timeout: 120_000 });
    },
    {},
    files,
  );
  const node = await nodeBeside(vite);
  try {
    await vite.page.locator("#others", { hasText: "Node" }).waitFor({ timeout: 10_000 });
    await vite.page.click("#hello");
    await waitFor(() => node.chat.messages("main").some((m) => m.text === "Hello from React" && m.author.name === "Ada"), {
      timeout: 10_000,
      what: "the page's message in Node",
    });
    node.chat.post("main", "Hello from Node");
    node.docs.ensure("Notes", "notes");
    node.docs.insert("notes", 0, "Rendered by React.");
    await vite.page.waitForFunction(() => /** @type {HTMLTextAreaElement} */ (document.querySelector("#notes")).value === "Rendered by React.", null, { timeout: 10_000 });
    await vite.page.locator("#messages li", { hasText: "Node: Hello from Node" }).waitFor({ timeout: 10_000 });
    // Typing in the page's textarea writes through useDocument.
    await vite.page.click("#notes");
    await vite.page.keyboard.press("End");
    await vite.page.keyboard.type(" Typed in React.");
    await waitFor(() => node.docs.text("notes") === "Rendered by React. Typed in React.", { timeout: 10_000, what: "the page's typing in Node" });
    await mkdir(ARTIFACTS, { recursive: true });
    await vite.page.screenshot({ path: path.join(ARTIFACTS, "react-app.png") });
    assert.deepEqual(vite.pageProblems, [], "no errors in the page, no failed requests");
  } finally {
    node.destroy();
    await vite.close();
  }
});
