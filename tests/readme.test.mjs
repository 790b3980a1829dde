// Runs the README's embedding example, unchanged but for the edge's address.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { ROOT, openConfab, startEdge } from "./helpers.mjs";

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

test("the README's embedding example runs and its edits land in the room", async () => {
  const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Embedding Confab in your app"));
  const example = section.match(/```js\n([\s\S]*?)```/)?.[1];
  assert.ok(example, "README has a js example under 'Embedding Confab in your app'");
  const lines = example.trim().split("\n");
  assert.ok(lines.length <= 12, `the example stays short (${lines.length} lines)`);
  assert.ok(example.includes("ws://127.0.0.1:8787/rooms"), "the example targets `make dev`'s address");

  const script = path.join(ROOT, "tests", `.readme-example-${process.pid}.mjs`);
  await writeFile(script, example.replaceAll("ws://127.0.0.1:8787/rooms", edge.ws));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [script], { cwd: ROOT, timeout: 30_000 });
    assert.match(stdout, /Ada: Hello from the README!/);
  } finally {
    await rm(script, { force: true });
  }

  const check = await openConfab(edge.ws, "readme", { id: "check", name: "Checker" });
  try {
    assert.equal(check.messages("main").at(-1).text, "Hello from the README!");
    assert.equal(check.documentText("notes"), "Ada was here.\n");
  } finally {
    check.destroy();
  }
});
