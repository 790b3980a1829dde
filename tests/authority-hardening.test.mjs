// Issue 12, items 8 and 9 and the owner rule, under workerd: leases end with the role
// that allowed them; webhooks reach public hosts only outside development mode, never
// follow a redirect, and show no secret in the audit log, which reviewers and viewers
// may not read; a room always keeps an owner.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { api, DEV_API_KEY, DEV_SECRET, mintToken, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

const SECRET = "test-secret-for-the-hardening-suite";
const API_KEY = "test-api-key-for-the-hardening-suite";
const PRODUCTION = { CONFAB_DEV: "0", CONFAB_SECRET: SECRET, CONFAB_API_KEY: API_KEY };

const HOOK_SECRET = "whsec-0123456789abcdef";

describe("webhook targets and the audit log (production mode)", () => {
  let edge;
  before(async () => {
    edge = await startEdge({ bindings: PRODUCTION });
  });
  after(async () => {
    await edge?.stop();
  });

  test("loopback, private, link-local and malformed targets are refused, each naming what was wrong", async () => {
    const room = uniqueRoom("ssrf");
    /** @type {[string, RegExp][]} */
    const cases = [
      ["http://127.0.0.1:9/hook", /`127\.0\.0\.1`, a loopback address/],
      ["http://localhost:8787/hook", /`localhost`, a loopback name/],
      ["http://2130706433/hook", /`127\.0\.0\.1`, a loopback address/],
      ["http://[::1]/hook", /loopback address/],
      ["http://10.0.0.7/hook", /private address/],
      ["http://192.168.1.1/hook", /private address/],
      ["http://169.254.169.254/latest/meta-data", /link-local address/],
      ["http://[fd00::1]/hook", /unique-local/],
      ["http://", /not a valid url: empty host/],
      ["https://bob:hunter2@hooks.example.com/x", /user name or password/],
    ];
    for (const [url, reason] of cases) {
      const res = await api(edge.http, "POST", `/rooms/${room}/webhooks`, {
        token: API_KEY,
        body: { url, events: ["join"], secret: HOOK_SECRET },
      });
      assert.equal(res.status, 400, `${url}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.code, "invalid_request");
      assert.match(res.json.error.message, reason, url);
      assert.doesNotMatch(res.json.error.message, /hunter2/, "the refusal shows no password");
    }
    const ok = await api(edge.http, "POST", `/rooms/${room}/webhooks`, {
      token: API_KEY,
      body: { url: "https://hooks.example.com/x?token=s3cret", events: ["join"], secret: HOOK_SECRET },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    const list = await api(edge.http, "GET", `/rooms/${room}/webhooks`, { token: API_KEY });
    assert.equal(list.json.webhooks[0].url, "https://hooks.example.com/x?token=s3cret", "the owner sees what they set");

    // The audit log: owners and editors read it, with the URL redacted; reviewers and
    // viewers are refused.
    for (const role of ["viewer", "reviewer"]) {
      const token = mintToken(SECRET, { room, sub: `${role}-1`, role });
      const res = await api(edge.http, "GET", `/rooms/${room}/audit?limit=1000`, { token });
      assert.equal(res.status, 403, `${role}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.code, "forbidden");
      assert.match(res.json.error.message, new RegExp(`reading the audit log needs the editor role or above; ${role}-1 is ${role}`));
      const hooks = await api(edge.http, "GET", `/rooms/${room}/webhooks`, { token });
      assert.equal(hooks.status, 403);
    }
    const editor = mintToken(SECRET, { room, sub: "ed", role: "editor" });
    const audit = await api(edge.http, "GET", `/rooms/${room}/audit?limit=1000`, { token: editor });
    assert.equal(audit.status, 200, JSON.stringify(audit.json));
    const created = audit.json.entries.find((e) => e.action === "webhook.created");
    assert.equal(created.detail.url, "https://hooks.example.com/x?…");
    assert.doesNotMatch(JSON.stringify(audit.json), /s3cret/);
  });
});

describe("webhook deliveries, leases and owners (development mode)", () => {
  let edge;
  let receiver;
  let elsewhere;
  const redirected = [];
  const reached = [];
  before(async () => {
    elsewhere = createServer((req, res) => {
      reached.push({ url: req.url, headers: req.headers });
      res.writeHead(204).end();
    });
    await new Promise((r) => elsewhere.listen(0, "127.0.0.1", r));
    const { port: away } = /** @type {import("node:net").AddressInfo} */ (elsewhere.address());
    receiver = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        redirected.push(req.url);
        res.writeHead(302, { Location: `http://127.0.0.1:${away}/stolen` }).end();
      });
    });
    await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
    edge = await startEdge();
  });
  after(async () => {
    await edge?.stop();
    receiver?.close();
    elsewhere?.close();
  });

  test("a redirect is not followed: the signature never reaches the new target, and the 302 is a failed delivery", async () => {
    const room = uniqueRoom("redirect");
    const { port } = /** @type {import("node:net").AddressInfo} */ (receiver.address());
    const created = await api(edge.http, "POST", `/rooms/${room}/webhooks`, {
      token: DEV_API_KEY,
      body: { url: `http://127.0.0.1:${port}/hook?token=s3cret`, events: ["lock.acquired"], secret: HOOK_SECRET },
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const lock = await api(edge.http, "POST", `/rooms/${room}/locks`, {
      token: DEV_API_KEY,
      body: { resource: "doc:x", ttlMs: 60_000 },
    });
    assert.equal(lock.status, 200, JSON.stringify(lock.json));
    /** @type {any} */
    let failed;
    await waitFor(
      async () => {
        const audit = await api(edge.http, "GET", `/rooms/${room}/audit?limit=1000`, { token: DEV_API_KEY });
        failed = audit.json.entries.find((e) => e.action === "webhook.failed");
        return failed !== undefined;
      },
      { what: "the redirected delivery to be audited", timeout: 10_000, interval: 200 },
    );
    assert.equal(redirected.length >= 1, true, "the subscribed receiver was asked");
    assert.ok(failed);
    assert.equal(failed.detail.status, 302);
    assert.match(failed.detail.error, /answered 302, a redirect; redirects are not followed/);
    assert.equal(failed.detail.url, `http://127.0.0.1:${port}/hook?…`);
    // The failed attempt is audited once the delivery is over: with redirects never
    // followed, nothing else is sent for it.
    assert.deepEqual(reached, [], "nothing reached the redirect's target");
    const audit = await api(edge.http, "GET", `/rooms/${room}/audit?limit=1000`, { token: DEV_API_KEY });
    assert.doesNotMatch(JSON.stringify(audit.json), /s3cret/, "no audit entry carries the hook's query");
    assert.ok(!audit.json.entries.some((e) => e.action === "webhook.delivered"));
  });

  test("a downgrade ends the lease: the viewer can neither renew nor decide suggestions, and editors get the lease", async () => {
    const room = uniqueRoom("downgrade");
    const tok = (sub, role) => mintToken(DEV_SECRET, { room, sub, role });
    const owner = tok("own", "owner");
    const ed = tok("ed", "editor");
    const bo = tok("bo", "editor");
    const lock = await api(edge.http, "POST", `/rooms/${room}/locks`, { token: ed, body: { resource: "doc:spec", ttlMs: 86_400_000 } });
    assert.equal(lock.status, 200, JSON.stringify(lock.json));
    const { fence } = lock.json.lease;
    const down = await api(edge.http, "PUT", `/rooms/${room}/members/ed`, { token: owner, body: { role: "viewer" } });
    assert.equal(down.status, 200, JSON.stringify(down.json));
    const leases = await api(edge.http, "GET", `/rooms/${room}/locks`, { token: owner });
    assert.deepEqual(leases.json.leases, [], "the viewer's lease ended with the role change");
    const renew = await api(edge.http, "POST", `/rooms/${room}/locks/renew`, {
      token: ed,
      body: { resource: "doc:spec", fence, ttlMs: 86_400_000 },
    });
    assert.equal(renew.status, 403, JSON.stringify(renew.json));
    assert.match(renew.json.error.message, /lock\.renew needs the editor role or above; ed is viewer/);
    const release = await api(edge.http, "POST", `/rooms/${room}/locks/release`, { token: ed, body: { resource: "doc:spec", fence } });
    assert.equal(release.status, 403);
    const other = await api(edge.http, "POST", `/rooms/${room}/locks`, { token: bo, body: { resource: "doc:spec", ttlMs: 1_000 } });
    assert.equal(other.status, 200, "editors are not locked out");
    const audit = await api(edge.http, "GET", `/rooms/${room}/audit?limit=1000`, { token: owner });
    const released = audit.json.entries.find((e) => e.action === "lock.released");
    assert.equal(released?.target, "doc:spec");
    assert.equal(released.detail.reason, "ed is now viewer");
    assert.equal(released.actor.id, "own");
  });

  test("an owner cannot leave the room without an owner", async () => {
    const room = uniqueRoom("owner");
    const owner = mintToken(DEV_SECRET, { room, sub: "own", role: "owner" });
    const self = await api(edge.http, "POST", `/rooms/${room}/tokens`, { token: owner, body: { user: "own", role: "viewer" } });
    assert.equal(self.status, 400, JSON.stringify(self.json));
    assert.match(self.json.error.message, /own owns this room and cannot make themselves viewer; transfer ownership first/);
    const members = await api(edge.http, "GET", `/rooms/${room}/members`, { token: owner });
    assert.deepEqual(members.json.members, [], "nothing changed");
    const role = await api(edge.http, "PUT", `/rooms/${room}/members/own`, { token: owner, body: { role: "editor" } });
    assert.equal(role.status, 400);
    const leave = await api(edge.http, "POST", `/rooms/${room}/leave`, { token: owner });
    assert.equal(leave.status, 400);
    // The app's backend cannot demote the last owner on record either.
    await api(edge.http, "PUT", `/rooms/${room}/members/own`, { token: DEV_API_KEY, body: { role: "owner" } });
    const last = await api(edge.http, "PUT", `/rooms/${room}/members/own`, { token: DEV_API_KEY, body: { role: "viewer" } });
    assert.equal(last.status, 400);
    assert.match(last.json.error.message, /own is the room's last owner; making them viewer would leave the room with no owner/);
  });
});
