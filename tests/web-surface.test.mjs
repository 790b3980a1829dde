// The web surface of the edge, as an attacker's web page or a careless deployment sees
// it: the Origin check on sockets and REST, credentials that are present but unusable,
// tokens that are not canonical or name nobody, /health on a misconfigured deployment,
// and the demo's security headers, checked in Chromium with the CSP in force.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { createServer } from "node:http";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import {
  DEV_SECRET,
  launchChromium,
  mintToken,
  ROOT,
  startEdge,
  startWranglerDev,
  tempDir,
  uniqueRoom,
  NOTES,
  demoPageHelpers,
  SOCKET_DEADLINE_MS,
} from "./helpers.mjs";

const ARTIFACTS = path.join(ROOT, "tests/artifacts");
const SECRET = "web-surface-secret";
const ALLOWED = "http://localhost:5173";

/**
 * Open a socket as a browser page at `origin` would (no `origin`: as Node or an agent
 * does) and resolve with how the room closed it, or `null` once the room greeted it (it
 * was let in); fail after `ms` with neither.
 * @param {string} url
 * @param {{ origin?: string, headers?: Record<string, string>, ms?: number }} [options]
 * @returns {Promise<{ code: number, reason: string } | null>}
 */
function socketFate(url, { origin, headers = {}, ms = SOCKET_DEADLINE_MS } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, ...(origin ? { origin } : {}) });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${url}: neither greeted nor closed within ${ms} ms`));
    }, ms);
    // The room greets every connection it admits (its sync step 1): the marker that
    // the socket was let in.
    ws.once("message", () => {
      clearTimeout(timer);
      ws.terminate();
      resolve(null);
    });
    ws.once("close", (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
    ws.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** `text` (base64url) with its last character's lowest bit flipped. */
function flipLastBit(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  return text.slice(0, -1) + alphabet[alphabet.indexOf(text.at(-1)) ^ 1];
}

/** A token over claims given as they are, signed with `secret`. */
function signClaims(secret, claims) {
  const signed = `v1.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${signed}.${createHmac("sha256", secret).update(signed).digest("base64url")}`;
}

describe("the edge's web surface under workerd", () => {
  let dev;
  let prod;
  let unconfigured;
  before(async () => {
    [dev, prod, unconfigured] = await Promise.all([
      startEdge({ bindings: { CONFAB_ALLOWED_ORIGINS: ALLOWED } }),
      startEdge({ bindings: { CONFAB_DEV: "0", CONFAB_SECRET: SECRET } }),
      startEdge({ bindings: { CONFAB_DEV: "0" } }),
    ]);
  });
  after(async () => {
    await Promise.all([dev?.stop(), prod?.stop(), unconfigured?.stop()]);
  });

  test("a page from another origin can neither open a room's socket nor call its REST API", async () => {
    const room = uniqueRoom("origin");
    for (const origin of ["https://evil.example", "http://localhost:5174", "null"]) {
      const fate = await socketFate(`${dev.ws}/${room}`, { origin });
      assert.equal(fate?.code, 4403, `${origin}: ${JSON.stringify(fate)}`);
      assert.match(fate.reason, /^origin "[^"]*" is not allowed/);
      const res = await fetch(`${dev.http}/rooms/${room}/messages`, {
        method: "POST",
        headers: { origin, "content-type": "text/plain" },
        body: JSON.stringify({ text: "posted by another site" }),
      });
      assert.equal(res.status, 403, origin);
      const body = await res.json();
      assert.equal(body.error.code, "origin_forbidden");
      assert.ok(body.error.message.includes(origin), body.error.message);
    }
    // Nothing the refused callers sent reached the room.
    const messages = await (await fetch(`${dev.http}/rooms/${room}/messages`)).json();
    assert.deepEqual(messages.messages ?? [], []);
  });

  test("the server's own origin, an allowed origin and callers without an Origin still get in", async () => {
    const room = uniqueRoom("origin-ok");
    assert.equal(await socketFate(`${dev.ws}/${room}`, { origin: dev.http }), null, "same origin");
    assert.equal(await socketFate(`${dev.ws}/${room}`, { origin: ALLOWED }), null, "CONFAB_ALLOWED_ORIGINS");
    assert.equal(await socketFate(`${dev.ws}/${room}`), null, "no Origin (Node, agents)");
    const res = await fetch(`${dev.http}/rooms/${room}/messages`, {
      method: "POST",
      headers: { origin: ALLOWED, "content-type": "application/json" },
      body: JSON.stringify({ text: "from the allowed app" }),
    });
    assert.equal(res.status, 200, await res.text());
  });

  test("a lowercase bearer header is the caller's token, and an unusable one is refused, in development mode", async () => {
    const room = uniqueRoom("bearer");
    const viewer = mintToken(DEV_SECRET, { room, sub: "vic", role: "viewer" });
    const post = (authorization) =>
      fetch(`${dev.http}/rooms/${room}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization === undefined ? {} : { authorization }) },
        body: JSON.stringify({ text: "hello" }),
      });
    // Anonymous callers are editors in development mode...
    assert.equal((await post(undefined)).status, 200);
    // ...but a viewer's token, however the scheme is spelt, makes the caller a viewer.
    for (const scheme of ["bearer", "BEARER", "Bearer"]) {
      const res = await post(`${scheme} ${viewer}`);
      assert.equal(res.status, 403, scheme);
      assert.equal((await res.json()).error.code, "forbidden", scheme);
    }
    for (const authorization of ["Basic dmljOnB3", "Bearer", `Token ${viewer}`]) {
      const res = await post(authorization);
      assert.equal(res.status, 400, authorization);
      assert.equal((await res.json()).error.code, "token_malformed", authorization);
    }
    const empty = await fetch(`${dev.http}/rooms/${room}/messages?token=`);
    assert.equal(empty.status, 400);
    // The same on a socket: refused with the malformed-token close, not let in.
    const fate = await socketFate(`${dev.ws}/${room}`, { headers: { authorization: "Basic dmljOnB3" } });
    assert.equal(fate?.code, 4400);
    assert.match(fate.reason, /Authorization header's scheme is "Basic"/);
  });

  test("a signature with unused bits set and a token naming nobody are malformed", async () => {
    const room = uniqueRoom("canonical");
    const good = mintToken(SECRET, { room, sub: "ada", role: "editor" });
    assert.equal(await socketFate(`${prod.ws}/${room}?token=${encodeURIComponent(good)}`), null, "the token itself works");
    const exp = Math.floor(Date.now() / 1000) + 600;
    /** @type {[string, RegExp][]} */
    const refused = [
      [flipLastBit(good), /signature is not base64url.*unused bits/],
      [signClaims(SECRET, { room, sub: "", name: "Nobody", kind: "person", role: "editor", exp }), /user id \(`sub`\) is empty/],
      [signClaims(SECRET, { room, sub: "   ", name: "Nobody", kind: "person", role: "editor", exp }), /user id \(`sub`\) is empty/],
    ];
    for (const [token, why] of refused) {
      const fate = await socketFate(`${prod.ws}/${room}?token=${encodeURIComponent(token)}`);
      assert.equal(fate?.code, 4400, token);
      assert.match(fate.reason, why);
      const res = await fetch(`${prod.http}/rooms/${room}/messages`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 400);
      assert.equal((await res.json()).error.code, "token_malformed");
    }
  });

  test("/health is 503 and names the missing secret on a production deployment without one", async () => {
    const res = await fetch(`${unconfigured.http}/health`);
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.deepEqual(Object.keys(body), ["error"], "the Error shape");
    assert.equal(body.error.code, "misconfigured");
    assert.match(body.error.message, /CONFAB_SECRET is not set/);
    for (const edge of [prod, dev]) {
      const ok = await fetch(`${edge.http}/health`);
      assert.equal(ok.status, 200);
      assert.equal((await ok.json()).ok, true);
    }
  });
});

describe("the demo's headers and token handling, in Chromium", () => {
  let edge;
  let browser;
  let otherSite;
  before(async () => {
    edge = await startWranglerDev({ persistTo: await tempDir("confab-web-surface-") });
    browser = await launchChromium();
    // Another site on another port: a page there tries the edge's sockets.
    otherSite = createServer((_, res) => {
      res.setHeader("content-type", "text/html");
      res.end("<!doctype html><title>elsewhere</title>");
    });
    await new Promise((resolve) => otherSite.listen(0, "127.0.0.1", resolve));
  });
  after(async () => {
    await browser?.close();
    await edge?.stop();
    otherSite?.close();
  });

  test("the app's HTML and files carry CSP, frame, referrer and nosniff headers", async () => {
    const html = await fetch(`${edge.http}/?room=x`);
    assert.equal(html.status, 200);
    const csp = html.headers.get("content-security-policy") ?? "";
    for (const part of ["default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "connect-src 'self'", "frame-ancestors 'none'"]) {
      assert.ok(csp.includes(part), `${part} in ${csp}`);
    }
    // Inline code and inline stylesheets are out; only style attributes (the colour an
    // editor binding gives each person's caret) are allowed, and they run nothing.
    const directives = new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    assert.deepEqual(directives.get("style-src"), ["'self'"], csp);
    assert.deepEqual(directives.get("style-src-attr"), ["'unsafe-inline'"], csp);
    assert.deepEqual([...directives].filter(([name, values]) => name !== "style-src-attr" && values.includes("'unsafe-inline'")), [], csp);
    assert.equal(html.headers.get("x-frame-options"), "DENY");
    assert.equal(html.headers.get("referrer-policy"), "no-referrer");
    assert.equal(html.headers.get("x-content-type-options"), "nosniff");
    const script = (await html.text()).match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
    assert.ok(script, "the page loads its bundle");
    const js = await fetch(`${edge.http}${script}`);
    assert.equal(js.headers.get("x-content-type-options"), "nosniff");
    // The headers file configures the assets; it is not one of them.
    assert.equal((await fetch(`${edge.http}/_headers`)).status, 404);
  });

  test("the demo works under its CSP, and ?token= leaves the address bar but still counts", async () => {
    const room = uniqueRoom("csp");
    const viewerToken = mintToken(DEV_SECRET, { room, sub: "vic", name: "Vic", role: "viewer" });
    const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
    await demoPageHelpers(context);
    /** Errors and console errors by page. @type {Record<string, string[]>} */
    const problems = { editor: [], viewer: [] };
    const watch = (page, who) => {
      page.on("pageerror", (err) => problems[who].push(err.message));
      page.on("console", (msg) => msg.type() === "error" && problems[who].push(msg.text()));
    };
    try {
      await context.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (e) =>
          console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`),
        );
      });
      const editor = await context.newPage();
      watch(editor, "editor");
      await editor.goto(`${edge.http}/?room=${encodeURIComponent(room)}`);
      await editor.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });

      const viewer = await context.newPage();
      watch(viewer, "viewer");
      await viewer.goto(`${edge.http}/?room=${encodeURIComponent(room)}&token=${encodeURIComponent(viewerToken)}`);
      await viewer.locator("#status[data-status=synced]").waitFor({ timeout: 15_000 });
      // The token counted (a guest without one is an editor in development mode)...
      await viewer.locator("#status", { hasText: "viewer (read-only)" }).waitFor({ timeout: 10_000 });
      // ...and is gone from the address bar and this entry of the history.
      assert.equal(new URL(viewer.url()).searchParams.get("token"), null, viewer.url());
      assert.equal(new URL(viewer.url()).searchParams.get("room"), room);
      assert.equal(await viewer.evaluate(() => location.href.includes("token")), false);
      // A reload in the same tab keeps it (from this tab's sessionStorage).
      await viewer.reload();
      await viewer.locator("#status", { hasText: "viewer (read-only)" }).waitFor({ timeout: 15_000 });

      // The app works: a message and an edit from the editor reach the viewer.
      await editor.fill("#chat-input", "Hello under a CSP");
      await editor.click("#chat-send");
      await viewer.locator("#messages li .text", { hasText: "Hello under a CSP" }).waitFor({ timeout: 10_000 });
      await editor.click(NOTES);
      await editor.keyboard.type("Notes under a CSP.");
      await viewer.waitForFunction(() => notesText() === "Notes under a CSP.", null, {
        timeout: 10_000,
      });
      await mkdir(ARTIFACTS, { recursive: true });
      await viewer.screenshot({ path: path.join(ARTIFACTS, "web-surface-csp.png") });
      // Chromium reports what a CSP blocks as a console error (and the event above).
      const blocked = [...problems.editor, ...problems.viewer].filter((p) => /CSP|Content Security Policy|Refused to/i.test(p));
      assert.deepEqual(blocked, [], "no CSP violations");
      assert.deepEqual(problems.editor, [], "no errors in the editor's page");
    } finally {
      await context.close();
    }
  });

  test("a page on another site cannot open the edge's sockets from a browser", async () => {
    const { port } = /** @type {import("node:net").AddressInfo} */ (otherSite.address());
    const page = await browser.newPage();
    try {
      await page.goto(`http://127.0.0.1:${port}/`);
      const wsUrl = `${edge.http.replace(/^http/, "ws")}/rooms/${uniqueRoom("cross-site")}`;
      const fate = await page.evaluate(
        ([url, ms]) =>
          new Promise((resolve) => {
            const ws = new WebSocket(url);
            ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
            setTimeout(() => resolve({ timedOut: ms, readyState: ws.readyState }), ms);
          }),
        /** @type {[string, number]} */ ([wsUrl, SOCKET_DEADLINE_MS]),
      );
      assert.equal(fate?.code, 4403, JSON.stringify(fate));
      assert.match(fate.reason, new RegExp(`^origin "http://127\\.0\\.0\\.1:${port}" is not allowed`));
    } finally {
      await page.close();
    }
  });
});
