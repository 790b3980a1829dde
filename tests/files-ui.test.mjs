// Files and search in the demo, in Chromium, against the edge under `wrangler dev`:
// files dropped on the panel upload with a progress bar and show to a teammate at
// once, an image and a PDF preview, a text file opens as a shared document, and
// Ctrl-K searches the room and jumps to the hit.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { demoContext, gotoDemo, launchChromium, pageProblems, ROOT, startWranglerDev, tempDir, uniqueRoom } from "./helpers.mjs";

const ARTIFACTS = path.join(ROOT, "tests/artifacts");

let edge;
let browser;
before(async () => {
  edge = await startWranglerDev({ persistTo: await tempDir("confab-files-ui-") });
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await edge?.stop();
});

async function openRoom(name, room) {
  const context = await demoContext(browser, name);
  const page = await context.newPage();
  const problems = pageProblems(page);
  await gotoDemo(page, `${edge.http}/?room=${encodeURIComponent(room)}`);
  await page.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
  return { page, problems, context };
}

/** A 2×2 PNG (red, green, blue, white). */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEklEQVR4nGP4z8DAAMIM/4EAAB/uBfsL2WiLAAAAAElFTkSuQmCC",
  "base64",
);
/** A one-page PDF. */
const PDF = Buffer.from(
  "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj " +
    "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
);

test("drop files to upload with progress, preview an image and a PDF, open a text file, and Ctrl-K to a hit", async () => {
  const room = uniqueRoom("files-ui");
  const ana = await openRoom("Ana", room);
  const bo = await openRoom("Bo", room);
  try {
    await ana.page.locator("#files-empty").waitFor();
    // Note every progress bar the upload list shows, and its last value.
    await ana.page.evaluate(() => {
      const seen = /** @type {{ label: string, value: number, max: number }[]} */ ([]);
      /** @type {any} */ (window).uploadsSeen = seen;
      new MutationObserver(() => {
        for (const bar of Array.from(document.querySelectorAll("#uploads progress"))) {
          const label = bar.getAttribute("aria-label") ?? "";
          const known = seen.find((s) => s.label === label);
          const value = /** @type {HTMLProgressElement} */ (bar).value;
          const max = /** @type {HTMLProgressElement} */ (bar).max;
          if (known) Object.assign(known, { value, max });
          else seen.push({ label, value, max });
        }
      }).observe(document.querySelector("#uploads"), { childList: true, subtree: true, attributes: true });
    });
    // Drop an image and a Markdown file on the panel, as a desktop drag would.
    const big = "# Launch checklist\n\n" + "- review the launch budget\n".repeat(4000);
    await ana.page.evaluate(
      ({ png, md }) => {
        const dt = new DataTransfer();
        dt.items.add(new File([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], "logo.png", { type: "image/png" }));
        dt.items.add(new File([md], "checklist.md", { type: "text/markdown" }));
        const target = document.querySelector("#files");
        target.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      { png: PNG.toString("base64"), md: big },
    );
    await ana.page.locator('#file-list li[data-path="checklist.md"]').waitFor({ timeout: 15_000 });
    await ana.page.locator('#file-list li[data-path="logo.png"]').waitFor({ timeout: 15_000 });
    const seen = await ana.page.evaluate(() => /** @type {any} */ (window).uploadsSeen);
    const md = seen.find((s) => s.label === "Uploading checklist.md");
    assert.ok(md, `a progress bar for the Markdown upload: ${JSON.stringify(seen)}`);
    assert.equal(md.max, Buffer.byteLength(big));
    await ana.page.locator("#uploads li").first().waitFor({ state: "detached" }).catch(() => {});
    assert.equal(await ana.page.locator("#uploads li").count(), 0, "finished uploads leave the list");

    // Bo sees both at once; the image previews, the text file opens as a document.
    await bo.page.locator('#file-list li[data-path="logo.png"] .file-name').click({ timeout: 15_000 });
    const img = bo.page.locator("#file-preview img");
    await img.waitFor();
    await bo.page.waitForFunction(() => /** @type {HTMLImageElement} */ (document.querySelector("#file-preview img"))?.naturalWidth === 2);
    assert.match(await bo.page.locator("#file-preview .download").getAttribute("href"), /files\/content\?/);
    await bo.page.screenshot({ path: path.join(ARTIFACTS, "files-preview-image.png") });
    await bo.page.locator('#file-list li[data-path="checklist.md"] .file-name').click();
    await bo.page.locator("#doc-tabs .tab[aria-selected=true]", { hasText: "checklist.md" }).waitFor();

    // A PDF from the picker previews in a frame.
    await ana.page.setInputFiles("#files-picker", { name: "brief.pdf", mimeType: "application/pdf", buffer: PDF });
    await ana.page.locator('#file-list li[data-path="brief.pdf"]').waitFor({ timeout: 15_000 });
    await ana.page.locator('#file-list li[data-path="brief.pdf"] .file-name').click();
    const frame = ana.page.locator("#file-preview iframe");
    await frame.waitFor();
    assert.match(await frame.getAttribute("src"), /path=brief\.pdf/);
    const res = await ana.page.request.get(await frame.getAttribute("src"));
    assert.deepEqual([res.status(), res.headers()["content-type"]], [200, "application/pdf"]);
    await ana.page.screenshot({ path: path.join(ARTIFACTS, "files-panel.png") });

    // Ctrl-K: a word from the checklist, and Enter jumps into the document.
    await ana.page.locator("#chat-input").fill("Who owns the launch budget?");
    await ana.page.locator("#chat-input").press("Enter");
    await ana.page.keyboard.press("Control+k");
    const input = ana.page.locator("#search-input");
    await input.waitFor();
    await input.fill("budget");
    await ana.page.locator("#search-results li").nth(1).waitFor({ timeout: 10_000 });
    const kinds = await ana.page.locator("#search-results .kind").allTextContents();
    assert.deepEqual([...new Set(kinds)].sort(), ["File", "Message"]);
    assert.equal(await ana.page.locator("#search-results mark").first().textContent(), "budget");
    await ana.page.screenshot({ path: path.join(ARTIFACTS, "search-dialog.png") });
    // Pick the file's hit and open it: the checklist comes to the front with the word selected.
    const fileHit = ana.page.locator("#search-results li", { has: ana.page.locator(".kind", { hasText: "File" }) }).first();
    await fileHit.click();
    await ana.page.locator("#doc-tabs .tab[aria-selected=true]", { hasText: "checklist.md" }).waitFor();
    const selected = await ana.page.evaluate(() => {
      const view = /** @type {any} */ (window).confabEditors.view("checklist.md") ?? null;
      const editors = /** @type {any} */ (window).confabEditors;
      const front = editors.view(editors.front);
      const { from, to } = front.state.selection.main;
      return front.state.sliceDoc(from, to) || (view ? "" : "none");
    });
    assert.equal(selected.toLowerCase(), "budget");
    // And a message hit scrolls the conversation to it.
    await ana.page.keyboard.press("Control+k");
    await input.fill("owns");
    await input.press("Enter");
    await ana.page.locator("#messages li.linked", { hasText: "Who owns the launch budget?" }).waitFor();

    // Delete the image (it stays in history), see it with "Show deleted", restore it.
    ana.page.once("dialog", (d) => void d.accept());
    await ana.page.locator('#file-list li[data-path="logo.png"] button', { hasText: "Delete" }).click();
    await bo.page.locator('#file-list li[data-path="logo.png"]').waitFor({ state: "detached" });
    await bo.page.locator("#files-deleted").check();
    const gone = bo.page.locator('#file-list li.deleted[data-path="logo.png"]');
    await gone.waitFor();
    assert.match(await gone.textContent(), /deleted by Ana/);
    assert.match(await gone.locator("a").first().getAttribute("href"), /hash=[0-9a-f]{64}/);
    await bo.page.screenshot({ path: path.join(ARTIFACTS, "files-deleted.png") });
    await gone.locator("button", { hasText: "Restore" }).click();
    await ana.page.locator('#file-list li[data-path="logo.png"]:not(.deleted)').waitFor();

    assert.deepEqual(ana.problems, [], "no errors on Ana's page");
    assert.deepEqual(bo.problems, [], "no errors on Bo's page");
  } finally {
    await ana.context.close();
    await bo.context.close();
  }
});
