// The demo's notes binding computes edits between texts and maps offsets through them
// (demo/src/text-edits.ts): checked here directly, compiled with esbuild.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { transform } from "esbuild";
import { ROOT } from "./helpers.mjs";

const source = await readFile(path.join(ROOT, "demo/src/text-edits.ts"), "utf8");
const { code } = await transform(source, { loader: "ts", format: "esm", target: "es2022" });
const { editBetween, mapOffset, mapSelection, rebase, ShownText } = await import(`data:text/javascript,${encodeURIComponent(code)}`);

/** Apply edits in order. */
const apply = (text, edits) => edits.reduce((t, e) => t.slice(0, e.at) + e.inserted + t.slice(e.at + e.deleted), text);

test("a local edit is placed where it was made, even among equal characters", () => {
  // Typing "a" into "aa" at the start: the caret says where.
  assert.deepEqual(editBetween("aa", "aaa", { from: 0, to: 0, caret: 1 }), { at: 0, deleted: 0, inserted: "a" });
  assert.deepEqual(editBetween("aa", "aaa", { caret: 3 }), { at: 2, deleted: 0, inserted: "a" });
  // "T" typed over a selected "Tuesday" replaces the word; it does not keep its T.
  const before = "on Tuesday at";
  assert.deepEqual(editBetween(before, "on T at", { from: 3, to: 10, caret: 4 }), { at: 3, deleted: 7, inserted: "T" });
  // Backspace and forward delete between equal characters.
  assert.deepEqual(editBetween("xaay", "xay", { from: 2, to: 2, caret: 1 }), { at: 1, deleted: 1, inserted: "" });
  assert.deepEqual(editBetween("xaay", "xay", { from: 1, to: 1, caret: 1 }), { at: 1, deleted: 1, inserted: "" });
  // Without a place, as late as the texts allow, or as early.
  assert.deepEqual(editBetween("Tuesday", "Tueesday"), { at: 3, deleted: 0, inserted: "e" });
  assert.deepEqual(editBetween("Tuesday", "Tueesday", "early"), { at: 2, deleted: 0, inserted: "e" });
  assert.deepEqual(editBetween("same", "same"), { at: 4, deleted: 0, inserted: "" });
});

test("an edit never splits a surrogate pair", () => {
  // 😀 and 😁 share their high surrogate.
  const edit = editBetween("a😀b", "a😁b");
  assert.deepEqual(edit, { at: 1, deleted: 2, inserted: "😁" });
  assert.equal(apply("a😀b", [edit]), "a😁b");
});

test("offsets and selections move through a remote edit without growing over new text", () => {
  const insert = { at: 5, deleted: 0, inserted: "XY" };
  assert.equal(mapOffset(insert, 4, 1), 4);
  assert.equal(mapOffset(insert, 5, 1), 7, "a caret keeps to the character on its right");
  assert.equal(mapOffset(insert, 5, -1), 5);
  assert.equal(mapOffset(insert, 6, -1), 8);
  const replace = { at: 3, deleted: 4, inserted: "T" };
  assert.equal(mapOffset(replace, 2, 1), 2);
  assert.equal(mapOffset(replace, 5, 1), 4);
  assert.equal(mapOffset(replace, 5, -1), 3);
  assert.equal(mapOffset(replace, 9, 1), 6);

  // Text inserted at either edge of a selection stays outside it.
  assert.deepEqual(mapSelection({ at: 3, deleted: 0, inserted: "ab" }, { anchor: 3, head: 6 }), { anchor: 5, head: 8 });
  assert.deepEqual(mapSelection({ at: 6, deleted: 0, inserted: "ab" }, { anchor: 3, head: 6 }), { anchor: 3, head: 6 });
  assert.deepEqual(mapSelection({ at: 6, deleted: 0, inserted: "ab" }, { anchor: 6, head: 3 }), { anchor: 6, head: 3 });
  // A selection whose text someone changed is gone: a caret where its head went.
  assert.deepEqual(mapSelection({ at: 4, deleted: 0, inserted: "ab" }, { anchor: 3, head: 6 }), { anchor: 8, head: 8 });
  assert.deepEqual(mapSelection({ at: 3, deleted: 7, inserted: "T" }, { anchor: 3, head: 10 }), { anchor: 4, head: 4 });
  assert.deepEqual(mapSelection({ at: 4, deleted: 6, inserted: "" }, { anchor: 3, head: 10 }), { anchor: 4, head: 4 });
});

test("a local edit redone on top of a remote one deletes only what it deleted", () => {
  const base = "012345678";
  const cases = [
    // [local, remote, expected]
    [{ at: 5, deleted: 0, inserted: "x" }, { at: 2, deleted: 0, inserted: "ab" }, "01ab234x5678"],
    [{ at: 3, deleted: 3, inserted: "Z" }, { at: 4, deleted: 0, inserted: "ab" }, "012Zab678"],
    [{ at: 3, deleted: 3, inserted: "" }, { at: 4, deleted: 1, inserted: "" }, "012678"],
    [{ at: 3, deleted: 2, inserted: "Z" }, { at: 1, deleted: 0, inserted: "ab" }, "0ab12Z5678"],
    [{ at: 4, deleted: 0, inserted: "x" }, { at: 2, deleted: 4, inserted: "" }, "01x678"],
    [{ at: 4, deleted: 0, inserted: "x" }, { at: 4, deleted: 0, inserted: "ab" }, "0123xab45678"],
    [{ at: 6, deleted: 0, inserted: "x" }, { at: 3, deleted: 3, inserted: "abc" }, "012abcx678"],
  ];
  for (const [local, remote, expected] of cases) {
    assert.equal(apply(apply(base, [remote]), rebase(local, remote)), expected, `${JSON.stringify(local)} after ${JSON.stringify(remote)}`);
  }
});

test("a textarea's text without carriage returns maps back to the document's", () => {
  const text = new ShownText("a\r\nb\rc\r\n");
  assert.equal(text.shown, "a\nb\nc\n");
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((i) => text.toDoc(i)), [0, 1, 3, 4, 5, 6, 8]);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => text.toShown(i)), [0, 1, 1, 2, 3, 4, 5, 5, 6]);
  // Deleting the shown line break deletes the whole "\r\n"; typing keeps every "\r".
  assert.deepEqual(text.editToDoc({ at: 1, deleted: 1, inserted: "" }), { at: 1, deleted: 2, inserted: "" });
  assert.deepEqual(text.editToDoc({ at: 2, deleted: 0, inserted: "x" }), { at: 3, deleted: 0, inserted: "x" });
  const plain = new ShownText("no returns");
  assert.equal(plain.toDoc(3), 3);
  assert.equal(plain.toShown(3), 3);
});
