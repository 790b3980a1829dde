// The REST API against its OpenAPI document (edge/openapi.json), on the built worker
// under workerd: every documented operation is called for real, and every answer —
// success or error — must have a status the document lists for that operation and a
// body that validates against the schema it gives; anything else must answer 404 with
// the Error shape. That the document lists exactly the routes the room serves, with
// their operations, parameters and bodies, is checked in core/tests/openapi.rs.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { DEV_API_KEY, ROOT, openConfab, startEdge, textOf, uniqueRoom, waitFor } from "./helpers.mjs";

const SPEC = JSON.parse(readFileSync(path.join(ROOT, "edge/openapi.json"), "utf8"));
const METHODS = ["get", "put", "post", "delete", "patch"];
const ERROR_STATUSES = [400, 401, 403, 404, 409, 413];
// `/health` answers 503 on a misconfigured deployment (tests/web-surface.test.mjs).
const SERVICE_STATUSES = [503];

// The second edge runs as in production, with a small body limit.
const PROD_SECRET = "openapi-test-secret";
const PROD_KEY = "openapi-test-api-key";
const PROD_MAX_BODY = 256;

// ---- The document's schemas, compiled with Ajv (JSON Schema 2020-12, as OpenAPI 3.1) ----

const SCHEMAS_ID = "urn:confab:openapi:schemas";
const LOCAL_SCHEMA = "#/components/schemas/";

/** Point `#/components/schemas/X` references at the shared schema document. */
function relink(node) {
  if (Array.isArray(node)) return node.map(relink);
  if (node && typeof node === "object") {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) =>
        k === "$ref" && typeof v === "string" && v.startsWith(LOCAL_SCHEMA)
          ? [k, `${SCHEMAS_ID}#/$defs/${v.slice(LOCAL_SCHEMA.length)}`]
          : [k, relink(v)],
      ),
    );
  }
  return node;
}

const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
ajv.addSchema({ $id: SCHEMAS_ID, $defs: relink(SPEC.components.schemas) });

/** @type {Map<object, import("ajv/dist/2020.js").ValidateFunction>} */
const compiled = new Map();

/** The validator for `schema` (a schema object from the document), compiled once. */
function validator(schema) {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(relink(schema));
    compiled.set(schema, validate);
  }
  return validate;
}

/** Assert `value` validates against `schema`. */
function check(schema, value, what) {
  const validate = validator(schema);
  assert.ok(
    validate(value),
    `${what}: ${ajv.errorsText(validate.errors, { dataVar: "body" })}\n${JSON.stringify(value)?.slice(0, 1500)}`,
  );
}

/** Whether `value` validates against `schema`. */
function valid(schema, value) {
  return Boolean(validator(schema)(value));
}

/** Follow `$ref`s within the document. */
function deref(node) {
  while (node && typeof node === "object" && typeof node.$ref === "string") {
    assert.ok(node.$ref.startsWith("#/"), `only local references: ${node.$ref}`);
    const target = node.$ref
      .slice(2)
      .split("/")
      .reduce((n, k) => n?.[k.replace(/~1/g, "/").replace(/~0/g, "~")], SPEC);
    assert.ok(target !== undefined, `${node.$ref} resolves`);
    node = target;
  }
  return node;
}

/** @typedef {{ id: string, method: string, path: string, op: any }} Operation */

/** @type {Map<string, Operation>} */
const OPERATIONS = new Map();
for (const [p, item] of Object.entries(SPEC.paths)) {
  for (const m of METHODS) {
    if (!item[m]) continue;
    const id = item[m].operationId;
    assert.ok(id && !OPERATIONS.has(id), `a unique operationId on ${m} ${p}`);
    OPERATIONS.set(id, { id, method: m.toUpperCase(), path: p, op: item[m] });
  }
}

// ---- Calling operations ----

/** Statuses each operation answered with, by operation id. */
const seen = new Map();

/**
 * @typedef {object} CallOptions
 * @property {string} [base] the edge's HTTP origin (default: the development edge)
 * @property {string} [room] the room (default: this suite's room)
 * @property {string} [rawRoom] the room's path segment as is, not percent-encoded
 * @property {Record<string, string>} [params] other path parameters
 * @property {Record<string, string | number>} [query]
 * @property {unknown} [body] a JSON body
 * @property {string | Uint8Array} [rawBody] a body sent as is
 * @property {string} [contentType] the raw body's type (default JSON)
 * @property {string} [token] sent as `Authorization: Bearer`
 * @property {boolean} [queryToken] send the token as `?token=` instead
 * @property {number | number[]} [status] the status expected, or any of these (default 200)
 * @property {string} [code] the error code expected
 * @property {boolean} [bodyValid] whether the document's request schema accepts `body`
 *   (checked when given; a body sent for a 2xx answer must always be valid)
 */

let devHttp = "";
/** The status of the last answer `call` checked. */
let lastStatus = 0;
let ROOM = "";

/**
 * Call the documented operation `id` and check the answer against the document.
 * @param {string} id
 * @param {CallOptions} [o]
 * @returns {Promise<any>} the answer's JSON body (its status in `lastStatus`)
 */
async function call(id, o = {}) {
  const entry = OPERATIONS.get(id);
  assert.ok(entry, `the document has an operation \`${id}\``);
  const { op, method } = entry;
  const expected = [o.status ?? 200].flat();
  const success = expected.every((s) => s < 300);
  const params = { ...o.params };
  let url = entry.path.replace(/\{(\w+)\}/g, (_, name) => {
    if (name === "room") return o.rawRoom ?? encodeURIComponent(o.room ?? ROOM);
    assert.ok(params[name] !== undefined, `${id}: path parameter ${name}`);
    return encodeURIComponent(params[name]);
  });
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(o.query ?? {})) query.set(k, String(v));
  /** @type {Record<string, string>} */
  const headers = {};
  if (o.token && o.queryToken) query.set("token", o.token);
  else if (o.token) headers.authorization = `Bearer ${o.token}`;
  if ([...query].length) url += `?${query}`;
  let body;
  if (o.rawBody !== undefined) {
    body = o.rawBody;
  } else if (o.body !== undefined) {
    const schema = op.requestBody?.content?.["application/json"]?.schema;
    assert.ok(schema, `${id} documents a request body`);
    const accepted = valid(schema, o.body);
    if (success || o.bodyValid !== undefined) {
      const want = success ? true : o.bodyValid;
      assert.equal(accepted, want, `${id}: the document ${want ? "accepts" : "refuses"} ${JSON.stringify(o.body)}`);
    }
    body = JSON.stringify(o.body);
  }
  if (body !== undefined) headers["content-type"] = o.contentType ?? "application/json";
  const res = await fetch(`${o.base ?? devHttp}${url}`, { method, headers, body: /** @type {any} */ (body) }).catch((err) => {
    throw new Error(`${method} ${url}: ${err.cause ?? err}`);
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  const what = `${method} ${url} ${typeof body === "string" ? body : ""} -> ${res.status} ${text.slice(0, 300)}`;
  const media = Object.keys(deref(op.responses[String(res.status)] ?? {}).content ?? {})[0];
  if (res.ok && media && media !== "application/json") {
    // Content served as is (a file's bytes): the status is documented with its media type.
    assert.ok(expected.includes(res.status), `${what}: expected ${expected.join(" or ")}`);
    if (!seen.has(id)) seen.set(id, new Set());
    seen.get(id).add(res.status);
    lastStatus = res.status;
    return { bytes, type: res.headers.get("content-type") };
  }
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, `${what}: JSON`);
  const json = JSON.parse(text);
  const documented = op.responses[String(res.status)];
  assert.ok(documented, `${what}: status ${res.status} is not documented for ${id}`);
  check(deref(documented).content["application/json"].schema, json, `${what}: the documented ${res.status} schema`);
  if (res.status >= 400) check(SPEC.components.schemas.Error, json, `${what}: the Error schema`);
  assert.ok(expected.includes(res.status), `${what}: expected ${expected.join(" or ")}`);
  if (o.code) assert.equal(json.error?.code, o.code, what);
  if (!seen.has(id)) seen.set(id, new Set());
  seen.get(id).add(res.status);
  lastStatus = res.status;
  return json;
}

/** A token signed with `secret`, as the edge mints them (for tokens it would not mint). */
function signToken(secret, claims) {
  const signed = `v1.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${signed}.${createHmac("sha256", secret).update(signed).digest("base64url")}`;
}

describe("the REST API matches edge/openapi.json", () => {
  /** @type {Awaited<ReturnType<typeof startEdge>>} */
  let edge;
  /** @type {Awaited<ReturnType<typeof startEdge>>} */
  let prod;
  /** Tokens by user. @type {Record<string, string>} */
  const T = {};
  /** Socket clients to close at the end. @type {any[]} */
  const clients = [];

  before(async () => {
    [edge, prod] = await Promise.all([
      startEdge(),
      startEdge({
        bindings: {
          CONFAB_DEV: "0",
          CONFAB_SECRET: PROD_SECRET,
          CONFAB_API_KEY: PROD_KEY,
          CONFAB_MAX_BODY_BYTES: String(PROD_MAX_BODY),
        },
      }),
    ]);
    devHttp = edge.http;
    ROOM = uniqueRoom("openapi");
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await Promise.all([edge?.stop(), prod?.stop()]);
  });

  test("the document is sound, and the edge serves it", async () => {
    assert.equal(SPEC.openapi, "3.1.0");
    // Every reference resolves; every schema compiles.
    const walk = (node) => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (!node || typeof node !== "object") return;
      if (typeof node.$ref === "string") deref(node);
      Object.values(node).forEach(walk);
    };
    walk(SPEC);
    for (const name of Object.keys(SPEC.components.schemas)) {
      assert.ok(ajv.getSchema(`${SCHEMAS_ID}#/$defs/${name}`), `schema ${name} compiles`);
    }
    for (const { id, op, path: p } of OPERATIONS.values()) {
      assert.ok(op.responses["200"], `${id}: a 200 answer`);
      for (const [status, r] of Object.entries(op.responses)) {
        const content = deref(r).content ?? {};
        // A download answers with the file's own bytes; everything else is JSON.
        if (Number(status) < 300 && !content["application/json"] && content["application/octet-stream"]) continue;
        const schema = content["application/json"]?.schema;
        assert.ok(schema, `${id} ${status}: a JSON schema`);
        if (Number(status) >= 400) {
          assert.ok([...ERROR_STATUSES, ...SERVICE_STATUSES].includes(Number(status)), `${id}: ${status} is an error status the edge uses`);
          assert.ok(JSON.stringify(schema).includes(`${LOCAL_SCHEMA}Error"`), `${id} ${status}: the Error schema`);
        }
      }
      if (p.startsWith("/rooms/")) {
        for (const s of [400, 401, 403]) assert.ok(op.responses[s], `${id}: every room call may answer ${s}`);
        if (op.requestBody) assert.ok(op.responses["413"], `${id}: a body may be too large`);
      }
      const body = op.requestBody?.content?.["application/json"]?.schema;
      if (body) assert.equal(deref(body).additionalProperties, false, `${id}: unknown fields are refused`);
    }
    // That these are exactly the routes the room serves, each running the documented
    // operation with the documented parameters and bodies, is checked against the
    // route table and the operations' own parsers in core/tests/openapi.rs.
    // The edge serves this very document.
    assert.deepEqual(await call("openapi"), SPEC, "the served document is edge/openapi.json (rebuild the edge?)");
    const health = await call("health");
    assert.equal(health.mode, "development");
    assert.equal((await call("health", { base: prod.http })).mode, "production");
  });

  test("tokens: the API key and owners mint them", async () => {
    const mint = async (user, role, extra = {}, token = DEV_API_KEY) => {
      const grant = await call("mintToken", { token, body: { role, user, ...extra } });
      assert.deepEqual([grant.user, grant.role], [user, role]);
      T[user] = grant.token;
      return grant;
    };
    const olga = await mint("olga", "owner", { name: "Olga", ttlSecs: 600 });
    assert.ok(olga.expiresAt * 1000 > Date.now() + 590_000 && olga.expiresAt * 1000 < Date.now() + 610_000);
    await mint("eddie", "editor", { name: "Eddie" });
    await mint("bot", "editor", { name: "Bot", kind: "agent" }, T.olga);
    for (const [user, role] of [["vic", "viewer"], ["ted", "editor"], ["lea", "editor"], ["rex", "editor"]]) {
      await mint(user, role, {}, T.olga);
    }
    const guest = await call("mintToken", { token: T.olga, body: { role: "viewer" } });
    assert.match(guest.user, /^guest-/);
    await call("mintToken", { token: T.eddie, body: { role: "owner" }, status: 403, code: "forbidden" });
    await call("mintToken", { token: T.olga, body: { role: "boss" }, status: 400, bodyValid: false });
    await call("mintToken", { token: T.olga, body: { role: "viewer", ttlSecs: 0 }, status: 400, bodyValid: false });
    await call("mintToken", { token: T.olga, body: { role: "viewer", admin: true }, status: 400, bodyValid: false });
  });

  test("room summary, messages, documents, presence", async () => {
    const empty = await call("getRoom", { token: T.vic });
    assert.deepEqual([empty.documents, empty.conversations, empty.leases, empty.policies], [[], [], [], {}]);
    const posted = await call("postMessage", { token: T.eddie, body: { text: "Hello from Eddie" } });
    assert.equal(posted.conversation, "main");
    await call("postMessage", { token: T.bot, body: { conversation: "ops", text: "Deploying." } });
    await call("postMessage", { token: T.vic, body: { text: "viewers may not" }, status: 403, code: "forbidden" });
    await call("postMessage", { token: T.eddie, body: { conversation: "main" }, status: 400, bodyValid: false });
    const all = await call("listMessages", { token: T.vic, queryToken: true });
    assert.deepEqual(all.messages.map((m) => [m.conversation, m.author.id, m.role, m.text]).sort(), [
      ["main", "eddie", "user", "Hello from Eddie"],
      ["ops", "bot", "assistant", "Deploying."],
    ]);
    const ops = await call("listMessages", { query: { conversation: "ops" } });
    assert.deepEqual(ops.messages.map((m) => m.status), ["done"]);
    await call("listMessages", { query: { conversation: "nope" }, status: 404, code: "not_found" });

    assert.deepEqual(await call("writeDocument", { token: T.eddie, params: { id: "notes" }, body: { text: "First draft", title: "Notes" } }), {
      id: "notes",
      length: 11,
    });
    assert.deepEqual(await call("listDocuments"), { documents: [{ id: "notes", title: "Notes", length: 11 }] });
    assert.deepEqual(await call("getDocument", { params: { id: "notes" } }), { id: "notes", title: "Notes", text: "First draft" });
    await call("getDocument", { params: { id: "missing" }, status: 404, code: "not_found" });
    await call("writeDocument", { token: T.vic, params: { id: "notes" }, body: { text: "x" }, status: 403, code: "forbidden" });

    // A socket client (an anonymous editor in development mode) with a presence state.
    const sock = await openConfab(edge.ws, ROOM, { id: "sock", name: "Socket" });
    clients.push(sock);
    sock.presence.set({ status: "reviewing" });
    const presence = await waitFor(async () => (await call("listPresence")).presence.find((p) => p.state), {
      what: "the socket's presence",
    });
    assert.equal(typeof presence.clientId, "number");
    const summary = await call("getRoom");
    assert.equal(summary.connections, 1);
    assert.deepEqual(summary.online, [{ user: "anonymous", name: "anonymous", kind: "person", role: "editor" }]);
    assert.deepEqual(summary.conversations.sort(), ["main", "ops"]);
    assert.deepEqual(summary.documents, [{ id: "notes", title: "Notes" }]);
  });

  test("leases, fencing tokens and lease policies; suggestions held from a socket", async () => {
    const resource = "doc:notes";
    const { lease } = await call("acquireLock", { token: T.eddie, body: { resource, ttlMs: 60_000 } });
    assert.deepEqual([lease.resource, lease.holder, lease.holderName, lease.holderKind], [resource, "eddie", "Eddie", "person"]);
    await call("acquireLock", { token: T.bot, body: { resource: "range:notes:0-5", ttlMs: 60_000 }, status: 409, code: "lock_held" });
    await call("acquireLock", { token: T.vic, body: { resource: "v", ttlMs: 60_000 }, status: 403, code: "forbidden" });
    await call("acquireLock", { token: T.eddie, body: { resource: "x", ttlMs: 5 }, status: 400, bodyValid: false });
    await call("acquireLock", { token: T.eddie, body: { resource: "x" }, status: 400, bodyValid: false });
    await call("acquireLock", { token: T.eddie, body: { resource: "x", ttlMs: 1000, why: "?" }, status: 400, bodyValid: false });
    assert.deepEqual((await call("listLocks")).leases, [lease]);
    assert.deepEqual(await call("verifyLock", { token: T.vic, query: { resource, fence: lease.fence } }), { valid: true, lease });
    const stale = await call("verifyLock", { query: { resource, fence: lease.fence + 100 } });
    assert.equal(stale.valid, false);
    await call("verifyLock", { query: { resource }, status: 400, code: "invalid_request" });
    await call("verifyLock", { query: { resource, fence: "one" }, status: 400, code: "invalid_request" });

    const renewed = await call("renewLock", { token: T.eddie, body: { resource, fence: lease.fence, ttlMs: 120_000 } });
    assert.equal(renewed.lease.fence, lease.fence);
    assert.ok(renewed.lease.expiresAt > lease.expiresAt);
    await call("renewLock", { token: T.bot, body: { resource, fence: lease.fence, ttlMs: 1000 }, status: 409, code: "lock_not_held" });
    await call("renewLock", { token: T.eddie, body: { resource, fence: lease.fence }, status: 400, bodyValid: false });

    await call("writeDocument", { token: T.eddie, params: { id: "notes" }, body: { text: "Fenced write", fence: lease.fence } });
    await call("writeDocument", { token: T.bot, params: { id: "notes" }, body: { text: "x", fence: lease.fence }, status: 403, code: "forbidden" });
    const released = await call("releaseLock", { token: T.eddie, body: { resource, fence: lease.fence } });
    assert.equal(released.released.fence, lease.fence);
    await call("releaseLock", { token: T.eddie, body: { resource, fence: lease.fence }, status: 409, code: "lock_not_held" });
    await call("writeDocument", { token: T.eddie, params: { id: "notes" }, body: { text: "x", fence: lease.fence }, status: 409, code: "lock_not_held" });
    assert.deepEqual((await call("listLocks")).leases, []);

    // A document that requires a lease: REST writes without one are refused...
    await call("writeDocument", { token: T.eddie, params: { id: "spec" }, body: { text: "Spec v1", title: "Spec" } });
    await call("setLeasePolicy", { token: T.eddie, body: { document: "spec", policy: "suggest" }, status: 403, code: "forbidden" });
    await call("setLeasePolicy", { token: T.olga, body: { document: "spec", policy: "maybe" }, status: 400, bodyValid: false });
    await call("setLeasePolicy", { token: T.olga, body: { document: "", policy: "refuse" }, status: 400, bodyValid: false });
    assert.deepEqual(await call("setLeasePolicy", { token: T.olga, body: { document: "spec", policy: "suggest" } }), {
      policies: { spec: "suggest" },
    });
    assert.deepEqual((await call("listLocks")).policies, { spec: "suggest" });
    await call("writeDocument", { token: T.eddie, params: { id: "spec" }, body: { text: "x" }, status: 409, code: "lease_required" });

    // ...and a socket's edits are held as suggestions (the socket holds no lease).
    const sock = clients[0];
    await waitFor(() => textOf(sock, "spec") === "Spec v1", { what: "the socket to see the spec" });
    const suggestions = async () => (await call("listSuggestions", { token: T.vic })).suggestions;
    sock.docs.insert("spec", 7, " (draft)");
    await waitFor(async () => (await suggestions()).length === 1, { what: "the first suggestion" });
    sock.docs.insert("spec", 0, "Draft: ");
    const [s1, s2] = await waitFor(async () => ((await suggestions()).length === 2 ? suggestions() : null), {
      what: "the second suggestion",
    });
    for (const s of [s1, s2]) assert.deepEqual([s.document, s.author, s.status], ["spec", "anonymous", "pending"]);
    assert.equal((await call("getDocument", { params: { id: "spec" } })).text, "Spec v1", "held, not applied");

    await call("acceptSuggestion", { token: T.eddie, params: { id: s1.id }, status: 403, code: "forbidden" });
    assert.deepEqual(await call("acceptSuggestion", { token: T.olga, params: { id: s1.id } }), { accepted: s1.id, document: "spec" });
    assert.equal((await call("getDocument", { params: { id: "spec" } })).text, "Spec v1 (draft)");
    await call("acceptSuggestion", { token: T.olga, params: { id: s1.id }, status: 409, code: "conflict" });
    await call("acceptSuggestion", { token: T.olga, params: { id: "s999" }, status: 404, code: "not_found" });
    // The lease holder may decide too, and write over REST with the lease.
    const { lease: specLease } = await call("acquireLock", { token: T.eddie, body: { resource: "doc:spec", ttlMs: 60_000 } });
    assert.ok(specLease.fence > lease.fence, "a later grant has a larger fencing token");
    assert.deepEqual(await call("rejectSuggestion", { token: T.eddie, params: { id: s2.id } }), { rejected: s2.id });
    await call("rejectSuggestion", { token: T.olga, params: { id: s2.id }, status: 409, code: "conflict" });
    await call("rejectSuggestion", { token: T.olga, params: { id: "s999" }, status: 404, code: "not_found" });
    assert.deepEqual((await suggestions()).map((s) => s.status), ["accepted", "rejected"]);
    await call("writeDocument", { token: T.eddie, params: { id: "spec" }, body: { text: "Spec v2", fence: specLease.fence } });
    await call("releaseLock", { token: T.eddie, body: { resource: "doc:spec", fence: specLease.fence } });
    assert.deepEqual(await call("setLeasePolicy", { token: T.olga, body: { document: "spec", policy: null } }), { policies: {} });
  });

  test("activities, agents and collaborations", async () => {
    const { collaboration: c } = await call("startCollaboration", {
      token: T.bot,
      body: { title: "Release plan", participants: ["eddie"] },
    });
    assert.deepEqual([c.participants, c.status, c.startedBy, c.decisions], [["bot", "eddie"], "active", "bot", []]);
    await call("startCollaboration", { token: T.bot, body: { title: "   " }, status: 400, bodyValid: false });
    await call("startCollaboration", { token: T.bot, body: {}, status: 400, bodyValid: false });

    const { activity: a } = await call("recordActivity", {
      token: T.bot,
      body: { kind: "council_debate", summary: "Weighing options", detail: { options: 2 }, collaboration: c.id },
    });
    assert.deepEqual([a.agent, a.agentName, a.status, a.result, a.completedAt, a.collaboration], ["bot", "Bot", "started", null, null, c.id]);
    await call("recordActivity", { token: T.bot, body: { kind: "dance" }, status: 400, bodyValid: false });
    await call("recordActivity", { token: T.bot, body: { kind: "task_assigned", collaboration: "c999" }, status: 404, code: "not_found" });
    assert.deepEqual((await call("listAgents")).agents, [{ agent: "bot", status: "active" }]);

    await call("completeActivity", { token: T.eddie, params: { id: a.id }, body: { result: "no" }, status: 403, code: "forbidden" });
    const { activity: done } = await call("completeActivity", { token: T.bot, params: { id: a.id }, body: { result: "Ship it" } });
    assert.deepEqual([done.status, done.result, typeof done.completedAt], ["completed", "Ship it", "number"]);
    await call("completeActivity", { token: T.bot, params: { id: a.id }, status: 409, code: "conflict" });
    await call("completeActivity", { token: T.bot, params: { id: "a999" }, status: 404, code: "not_found" });
    await call("completeActivity", { token: T.bot, params: { id: a.id }, body: { failed: "yes" }, status: 400, bodyValid: false });
    const { activity: b } = await call("recordActivity", { token: T.bot, body: { kind: "memory_read" } });
    assert.deepEqual([b.summary, b.detail, b.collaboration], ["", null, null]);
    const { activity: failed } = await call("completeActivity", { token: T.olga, params: { id: b.id }, body: { failed: true } });
    assert.deepEqual([failed.status, failed.result], ["failed", null]);
    assert.deepEqual((await call("listActivities")).activities.map((x) => [x.id, x.status]), [
      [a.id, "completed"],
      [b.id, "failed"],
    ]);
    assert.deepEqual((await call("listAgents")).agents, [{ agent: "bot", status: "idle" }]);
    assert.deepEqual(await call("setAgentStatus", { token: T.bot, body: { status: "active" } }), { agent: "bot", status: "active" });
    await call("setAgentStatus", { token: T.bot, body: { status: "busy" }, status: 400, bodyValid: false });
    assert.deepEqual((await call("listAgents")).agents, [{ agent: "bot", status: "active" }]);

    const decided = await call("decideCollaboration", { token: T.eddie, params: { id: c.id }, body: { text: "Ship Friday" } });
    assert.deepEqual(decided.collaboration.decisions.map((d) => [d.by, d.text]), [["eddie", "Ship Friday"]]);
    await call("decideCollaboration", { token: T.eddie, params: { id: c.id }, body: {}, status: 400, bodyValid: false });
    const ended = await call("endCollaboration", { token: T.bot, params: { id: c.id }, body: { outcome: "Shipped" } });
    assert.deepEqual([ended.collaboration.status, ended.collaboration.outcome], ["ended", "Shipped"]);
    await call("decideCollaboration", { token: T.eddie, params: { id: c.id }, body: { text: "late" }, status: 409, code: "conflict" });
    await call("endCollaboration", { token: T.bot, params: { id: c.id }, status: 409, code: "conflict" });
    await call("decideCollaboration", { token: T.bot, params: { id: "c999" }, body: { text: "x" }, status: 404, code: "not_found" });
    await call("endCollaboration", { token: T.bot, params: { id: "c999" }, status: 404, code: "not_found" });
    const { collaboration: retro } = await call("startCollaboration", { token: T.bot, body: { title: "Retro" } });
    const { collaboration: over } = await call("endCollaboration", { token: T.bot, params: { id: retro.id } });
    assert.deepEqual([over.status, over.outcome, over.participants], ["ended", null, ["bot"]]);
    assert.deepEqual((await call("listCollaborations")).collaborations.map((x) => x.id), [c.id, retro.id]);
  });

  test("webhooks: owners subscribe, list and delete; the secret is never shown", async () => {
    const body = { url: "http://127.0.0.1:9/hook", events: ["message.posted", "lock.acquired"], secret: "0123456789abcdef-secret" };
    const { webhook } = await call("createWebhook", { token: T.olga, body });
    assert.deepEqual([webhook.url, webhook.events, "secret" in webhook], [body.url, body.events, false]);
    await call("createWebhook", { token: T.eddie, body, status: 403, code: "forbidden" });
    for (const bad of [
      { ...body, url: "ftp://127.0.0.1/hook" },
      { ...body, events: ["nope"] },
      { ...body, events: [] },
      { ...body, secret: "short" },
      { url: body.url, events: body.events },
    ]) {
      await call("createWebhook", { token: T.olga, body: bad, status: 400, code: "invalid_request", bodyValid: false });
    }
    assert.deepEqual(await call("listWebhooks", { token: DEV_API_KEY }), { webhooks: [webhook] });
    await call("listWebhooks", { token: T.eddie, status: 403, code: "forbidden" });
    assert.deepEqual(await call("deleteWebhook", { token: T.olga, params: { id: webhook.id } }), { deleted: webhook.id });
    await call("deleteWebhook", { token: T.olga, params: { id: webhook.id }, status: 404, code: "not_found" });
    assert.deepEqual(await call("listWebhooks", { token: T.olga }), { webhooks: [] });
  });

  test("members: roles, removal, leaving and transfer", async () => {
    const roles = async () => {
      const { members } = await call("listMembers", { token: T.vic });
      return Object.fromEntries(members.filter((m) => !m.user.startsWith("guest-")).map((m) => [m.user, m.role]));
    };
    assert.deepEqual(await roles(), {
      olga: "owner", eddie: "editor", bot: "editor", vic: "viewer", ted: "editor", lea: "editor", rex: "editor",
    });
    assert.deepEqual(await call("setMemberRole", { token: DEV_API_KEY, params: { user: "vic" }, body: { role: "reviewer" } }), {
      user: "vic",
      role: "reviewer",
    });
    await call("postMessage", { token: T.vic, body: { text: "reviewers may not either" }, status: 403, code: "forbidden" });
    await call("setMemberRole", { token: T.eddie, params: { user: "vic" }, body: { role: "editor" }, status: 403, code: "forbidden" });
    await call("setMemberRole", { token: T.olga, params: { user: "olga" }, body: { role: "editor" }, status: 400, bodyValid: true });
    await call("setMemberRole", { token: T.olga, params: { user: "vic" }, body: { role: "king" }, status: 400, bodyValid: false });

    assert.deepEqual(await call("removeMember", { token: T.olga, params: { user: "rex" } }), { user: "rex", left: true });
    await call("listMessages", { token: T.rex, status: 403, code: "forbidden" });
    await call("removeMember", { token: DEV_API_KEY, params: { user: "olga" }, status: 400, code: "invalid_request" });
    await call("removeMember", { token: T.eddie, params: { user: "lea" }, status: 403, code: "forbidden" });

    assert.deepEqual(await call("leaveRoom", { token: T.lea }), { user: "lea", left: true });
    await call("listMessages", { token: T.lea, status: 403, code: "forbidden" });
    await call("leaveRoom", { token: T.olga, status: 400, code: "invalid_request" });

    await call("transferOwnership", { token: T.olga, body: { user: "olga" }, status: 400, bodyValid: true });
    await call("transferOwnership", { token: T.eddie, body: { user: "eddie" }, status: 403, code: "forbidden" });
    assert.deepEqual(await call("transferOwnership", { token: T.olga, body: { user: "ted" } }), { owner: "ted" });
    await call("listWebhooks", { token: T.olga, status: 403, code: "forbidden" });
    await call("listWebhooks", { token: T.ted });
    // The new owner lets Lea back in.
    await call("mintToken", { token: T.ted, body: { role: "viewer", user: "lea" } });
    await call("listMessages", { token: T.lea });
    const now = await roles();
    assert.deepEqual([now.ted, now.olga, now.vic, now.lea, now.rex], ["owner", "editor", "reviewer", "viewer", undefined]);
  });

  test("audit pages, stats and conflicts", async () => {
    const first = await call("listAudit", { query: { limit: 3 } });
    assert.deepEqual(first.entries.map((e) => e.seq), [1, 2, 3]);
    assert.equal(first.next, 3);
    const second = await call("listAudit", { query: { after: first.next, limit: 3 } });
    assert.deepEqual(second.entries.map((e) => e.seq), [4, 5, 6]);
    // The record is for owners and editors; reviewers and viewers are refused.
    for (const token of [T.vic, T.lea]) await call("listAudit", { token, status: 403, code: "forbidden" });
    const all = await call("listAudit", { token: T.olga, query: { limit: 1000 } });
    assert.deepEqual(all.entries.map((e) => e.seq), all.entries.map((_, i) => i + 1), "seq counts from 1 without gaps");
    const actions = new Set(all.entries.map((e) => e.action));
    for (const action of ["member.invited", "message.posted", "lock.acquired", "lock.renewed", "lock.released", "lock.policy",
      "suggestion.created", "suggestion.accepted", "suggestion.rejected", "activity.started", "activity.completed",
      "collaboration.started", "collaboration.decision", "collaboration.ended", "webhook.created", "webhook.deleted",
      "role.changed", "member.removed", "member.left"]) {
      assert.ok(actions.has(action), `the audit log has ${action}: ${[...actions]}`);
    }
    const invited = all.entries.find((e) => e.action === "member.invited");
    assert.deepEqual([invited.actor, invited.target], [{ id: "server", name: "server", kind: "agent" }, "olga"]);
    const last = all.entries.at(-1).seq;
    assert.deepEqual(await call("listAudit", { query: { after: last } }), { entries: [], next: null });
    for (const query of [{ limit: 0 }, { limit: 1001 }, { limit: "ten" }, { after: -1 }]) {
      await call("listAudit", { query, status: 400, code: "invalid_request" });
    }

    const stats = await call("getStats");
    assert.equal(stats.connections, 1);
    assert.ok(stats.documentBytes > 0 && stats.wasmMemoryBytes > 0, JSON.stringify(stats));

    // Two socket clients replace the same words offline: a conflict the edge reports.
    assert.deepEqual(await call("listConflicts"), { conflicts: [] });
    const a = await openConfab(edge.ws, ROOM, { id: "ada", name: "Ada" });
    const b = await openConfab(edge.ws, ROOM, { id: "bob", name: "Bob" });
    clients.push(a, b);
    a.docs.ensure("Story", "story");
    a.docs.insert("story", 0, "The cat sat.");
    await waitFor(() => textOf(b, "story") === "The cat sat.", { what: "bob to see the story" });
    a.disconnect();
    b.disconnect();
    a.docs.replaceRange("story", 4, 3, "dog");
    b.docs.replaceRange("story", 4, 3, "cow");
    a.connect();
    b.connect();
    const [conflict] = await waitFor(async () => {
      const { conflicts } = await call("listConflicts", { token: T.vic });
      return conflicts.length === 1 && conflicts;
    }, { what: "the edge to see the conflict" });
    assert.deepEqual([conflict.kind, conflict.doc, conflict.status, conflict.resolution], ["text", "story", "open", null]);
    assert.deepEqual(conflict.sides.map((s) => s.inserted).sort(), ["cow", "dog"]);
    await waitFor(() => a.conflicts.list().length === 1, { what: "ada to see the conflict" });
    a.conflicts.resolve(conflict.id, "mine");
    const resolved = await waitFor(async () => {
      const { conflicts } = await call("listConflicts");
      return conflicts[0]?.status === "resolved" && conflicts[0];
    }, { what: "the edge to see the resolution" });
    assert.deepEqual([resolved.resolution.choice, resolved.resolution.by.id], ["mine", "ada"]);
  });

  test("spaces: the directory, its rooms, settings and audit; inboxes: deliver, list, mark read", async () => {
    const space = uniqueRoom("openapi-space");
    const room = uniqueRoom("openapi-space-room");
    const lead = signToken(PROD_SECRET, { room: `space:${space}`, sub: "lea", name: "Lea", kind: "person", role: "owner", exp: Math.floor(Date.now() / 1000) + 600 });
    const viewer = signToken(PROD_SECRET, { room: `space:${space}`, sub: "vic", name: "Vic", kind: "person", role: "viewer", exp: Math.floor(Date.now() / 1000) + 600 });
    const prodSpace = { base: prod.http, params: { space } };
    await call("listSpaceRooms", { ...prodSpace, status: 401, code: "token_missing" });
    const made = await call("createSpaceRoom", { ...prodSpace, token: lead, body: { name: room, title: "Roadmap" } });
    assert.deepEqual([made.name, made.title, made.people, made.archived], [room, "Roadmap", 0, false]);
    await call("createSpaceRoom", { ...prodSpace, token: lead, body: { name: room }, status: 409, code: "conflict" });
    await call("createSpaceRoom", { ...prodSpace, token: viewer, body: { name: "other" }, status: 403, code: "forbidden" });
    await call("createSpaceRoom", { ...prodSpace, token: lead, body: { name: "a/b" }, status: 400, code: "invalid_request", bodyValid: true });
    const params = { space, name: room };
    await call("updateSpaceRoom", { base: prod.http, params, token: lead, body: { title: "Q3 roadmap", archived: true } });
    await call("updateSpaceRoom", { base: prod.http, params: { space, name: "nope" }, token: lead, body: { title: "T" }, status: 404, code: "not_found" });
    const { rooms } = await call("listSpaceRooms", { ...prodSpace, token: viewer });
    assert.deepEqual(rooms.map((r) => [r.title, r.archived]), [["Q3 roadmap", true]]);
    const summary = await call("getSpace", { ...prodSpace, token: viewer });
    assert.deepEqual(summary.settings, { externalSharing: false, autoArchiveDays: null });
    assert.deepEqual(await call("updateSpaceSettings", { ...prodSpace, token: lead, body: { autoArchiveDays: 30 } }), { externalSharing: false, autoArchiveDays: 30 });
    await call("updateSpaceSettings", { ...prodSpace, token: viewer, body: { externalSharing: true }, status: 403, code: "forbidden" });
    assert.equal((await call("getSpaceSettings", { ...prodSpace, token: viewer })).autoArchiveDays, 30);
    const audit = await call("listSpaceAudit", { ...prodSpace, token: lead, query: { limit: 10 } });
    assert.deepEqual(audit.entries.map((e) => e.action), ["room.created", "room.renamed", "room.archived", "space.settings"]);
    await call("listSpaceAudit", { ...prodSpace, token: viewer, status: 403, code: "forbidden" });
    // Members and shared agents (Lea and Vic are members since their tokens opened it).
    const { members } = await call("listSpaceMembers", { ...prodSpace, token: viewer });
    assert.deepEqual(members.map((m) => [m.id, m.label]), [["lea", "lead"], ["vic", "viewer"]]);
    const member = (user) => ({ base: prod.http, params: { space, user } });
    assert.equal((await call("setSpaceMember", { ...member("kit"), token: lead, body: { role: "contributor", name: "Kit" } })).label, "contributor");
    await call("setSpaceMember", { ...member("kit"), token: viewer, body: { role: "lead" }, status: 403, code: "forbidden" });
    await call("setSpaceMember", { ...member("lea"), token: lead, body: { role: "viewer" }, status: 409, code: "conflict" });
    await call("setSpaceMember", { ...member("kit"), token: lead, body: { role: "boss" }, status: 400, code: "invalid_request", bodyValid: false });
    await call("removeSpaceMember", { ...member("kit"), token: lead });
    await call("removeSpaceMember", { ...member("kit"), token: lead, status: 404, code: "not_found" });
    await call("removeSpaceMember", { ...member("lea"), token: lead, status: 409, code: "conflict" });
    const agent = { base: prod.http, params: { space, agent: "scout" } };
    const scout = await call("registerSpaceAgent", { ...agent, token: lead, body: { name: "Scout", description: "Finds sources" } });
    assert.deepEqual([scout.state, scout.registered], ["available", true]);
    await call("registerSpaceAgent", { ...agent, token: viewer, body: { name: "Scout" }, status: 403, code: "forbidden" });
    const at = Date.now() + 3_600_000;
    const schedule = await call("scheduleSpaceAgent", { ...agent, token: lead, body: { room, task: "read the news", at, everyMinutes: 60 } });
    assert.deepEqual([schedule.at, schedule.by], [at, "lea"]);
    await call("scheduleSpaceAgent", { ...agent, token: lead, body: { room: "nope", task: "x", at }, status: 404, code: "not_found" });
    await call("scheduleSpaceAgent", { ...agent, token: lead, body: { room, task: "x", at: 1 }, status: 400, code: "invalid_request" });
    const { agents } = await call("listSpaceAgents", { ...prodSpace, token: viewer });
    assert.deepEqual(agents.map((a) => [a.id, a.state]), [["scout", "scheduled"]]);
    await call("unscheduleSpaceAgent", { ...agent, token: lead });
    await call("unscheduleSpaceAgent", { ...agent, token: lead, status: 404, code: "not_found" });
    await call("removeSpaceAgent", { ...agent, token: lead });
    await call("removeSpaceAgent", { ...agent, token: lead, status: 404, code: "not_found" });

    await call("deleteSpaceRoom", { base: prod.http, params, token: lead });
    await call("deleteSpaceRoom", { base: prod.http, params, token: lead, status: 404, code: "not_found" });

    const user = uniqueRoom("openapi-user");
    const own = signToken(PROD_SECRET, { room: "any-room", sub: user, name: "U", kind: "person", role: "viewer", exp: Math.floor(Date.now() / 1000) + 600 });
    const sent = await call("deliverNotification", {
      base: prod.http, params: { user }, token: PROD_KEY,
      body: { kind: "review", urgency: "low", title: "A suggestion waits for your review", room: ROOM, target: "doc:notes" },
    });
    assert.equal(sent.read, false);
    await call("deliverNotification", { base: prod.http, params: { user }, token: own, body: { kind: "insight", title: "x" }, status: 403, code: "forbidden" });
    await call("deliverNotification", { base: prod.http, params: { user }, token: PROD_KEY, body: { kind: "insight", title: "" }, status: 400, code: "invalid_request", bodyValid: false });
    const listed = await call("listInbox", { base: prod.http, params: { user }, token: own, query: { unread: "true" } });
    assert.deepEqual([listed.unread, listed.notifications[0].id], [1, sent.id]);
    await call("listInbox", { base: prod.http, params: { user: "someone-else" }, token: own, status: 403, code: "forbidden" });
    assert.deepEqual(await call("markInboxRead", { base: prod.http, params: { user }, token: own, body: { ids: [sent.id] } }), { changed: 1, unread: 0 });
    await call("markInboxRead", { base: prod.http, params: { user }, token: own, body: { ids: ["n404"] }, status: 404, code: "not_found" });
  });

  test("files: upload, download, the tree, text, move, delete, restore and folders", async () => {
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const up = await call("uploadFile", { token: T.eddie, query: { path: "/assets/logo.png" }, rawBody: bytes, contentType: "image/png" });
    assert.deepEqual([up.file.path, up.file.size, up.file.type], ["assets/logo.png", 7, "image/png"]);
    const down = await call("downloadFile", { token: T.eddie, query: { path: "assets/logo.png" } });
    assert.deepEqual([[...down.bytes], down.type], [[...bytes], "image/png"]);
    await call("downloadFile", { token: T.eddie, query: { path: "assets/logo.png", hash: up.file.hash } });
    await call("downloadFile", { token: T.eddie, query: { path: "nope.png" }, status: 404, code: "not_found" });
    await call("writeFile", { token: T.eddie, body: { path: "docs/readme.md", text: "# Hi" } });
    const entry = await call("getFile", { token: T.eddie, query: { path: "docs/readme.md" } });
    assert.deepEqual([entry.text, entry.file.type], ["# Hi", "text/markdown"]);
    await call("createFolder", { token: T.eddie, body: { path: "archive/2026" } });
    await call("moveFile", { token: T.eddie, body: { from: "docs", to: "archive/2026/docs" } });
    await call("moveFile", { token: T.eddie, body: { from: "assets", to: "archive" }, status: 409, code: "conflict" });
    await call("deleteFile", { token: T.eddie, body: { path: "archive/2026/docs/readme.md" } });
    await call("restoreFile", { token: T.eddie, body: { path: "archive/2026/docs/readme.md" } });
    const { files } = await call("listFiles", { token: T.eddie, query: { prefix: "archive", deleted: "true" } });
    assert.deepEqual(files.map((f) => f.path), ["archive", "archive/2026", "archive/2026/docs", "archive/2026/docs/readme.md"]);
    await call("listFiles", { token: T.eddie, query: { deleted: "maybe" }, status: 400, code: "invalid_request" });
    const found = await call("search", { token: T.eddie, query: { query: "hi", kinds: "file,document", limit: 5 } });
    assert.deepEqual(found.hits.map((h) => [h.kind, h.place]), [["file", "archive/2026/docs/readme.md"]]);
    await call("search", { token: T.eddie, query: { query: "hi", kinds: "tweet" }, status: 400, code: "invalid_request" });
    await call("uploadFile", { token: T.eddie, query: { path: "a/../b" }, rawBody: "x", contentType: "text/plain", status: 400, code: "invalid_request" });
  });

  test("errors: every class the edge answers with has the Error shape", async () => {
    // 400: a body that is not an object, or not JSON; a bad room name; a malformed token.
    await call("acquireLock", { rawBody: "[1]", status: 400, code: "invalid_request" });
    await call("acquireLock", { rawBody: "{", status: 400, code: "invalid_request" });
    await call("listMessages", { rawRoom: "%zz", status: 400, code: "invalid_room" });
    await call("listMessages", { base: prod.http, token: "not-a-token", status: 400, code: "token_malformed" });
    // 401: no token outside development mode, or an expired one.
    await call("listMessages", { base: prod.http, status: 401, code: "token_missing" });
    const claims = { room: ROOM, sub: "old", name: "Old", kind: "person", role: "editor", exp: Math.floor(Date.now() / 1000) - 60 };
    await call("listMessages", { base: prod.http, token: signToken(PROD_SECRET, claims), status: 401, code: "token_expired" });
    // 403: a forged token, one for another room, a role that may not.
    const fresh = { ...claims, exp: claims.exp + 3600 };
    await call("listMessages", { base: prod.http, token: signToken("another secret", fresh), status: 403, code: "token_forged" });
    await call("listMessages", { base: prod.http, token: signToken(PROD_SECRET, { ...fresh, room: "elsewhere" }), status: 403, code: "token_wrong_room" });
    await call("postMessage", { token: T.vic, body: { text: "no" }, status: 403, code: "forbidden" });
    // A token this edge minted works, as a header or in the query.
    const grant = await call("mintToken", { base: prod.http, token: PROD_KEY, body: { role: "editor", user: "pat" } });
    await call("postMessage", { base: prod.http, token: grant.token, body: { text: "small" } });
    await call("listMessages", { base: prod.http, token: grant.token, queryToken: true });
    // 404: nothing with that id (unknown routes: the next test).
    await call("getDocument", { params: { id: "nothing" }, status: 404, code: "not_found" });
    // 409: someone else holds the lease.
    await call("acquireLock", { token: T.eddie, body: { resource: "path:src/", ttlMs: 60_000 } });
    await call("acquireLock", { token: T.bot, body: { resource: "path:src/main.rs", ttlMs: 60_000 }, status: 409, code: "lock_held" });
    // 413: a body over the limit.
    const text = "x".repeat(PROD_MAX_BODY);
    await call("postMessage", { base: prod.http, token: grant.token, body: { text }, status: 413, code: "body_too_large" });
    await call("writeDocument", { base: prod.http, token: PROD_KEY, params: { id: "d" }, body: { text }, status: 413, code: "body_too_large" });

    const statuses = new Set([...seen.values()].flatMap((s) => [...s]));
    for (const s of ERROR_STATUSES) assert.ok(statuses.has(s), `some call answered ${s}`);
  });

  test("routes the document does not list answer 404 with the Error shape", async () => {
    const fill = (p) => p.replace("{room}", encodeURIComponent(ROOM)).replace(/\{\w+\}/g, "x");
    const probes = [
      ["GET", "/nope"],
      ["GET", "/rooms"],
      ["GET", `/rooms/${ROOM}/nope`],
      ["GET", `/rooms/${ROOM}/documents/a/b`],
      ["PUT", `/rooms/${ROOM}/agents/bob/status`],
      ["POST", `/rooms/${ROOM}/activities/a1/completed`],
    ];
    for (const [p, item] of Object.entries(SPEC.paths)) {
      for (const m of METHODS) if (!item[m]) probes.push([m.toUpperCase(), fill(p)]);
    }
    const schema = SPEC.components.schemas.Error;
    for (const [method, p] of probes) {
      const res = await fetch(`${edge.http}${p}`, { method, headers: { authorization: `Bearer ${DEV_API_KEY}` } });
      const body = await res.json();
      assert.equal(res.status, 404, `${method} ${p}: ${JSON.stringify(body)}`);
      check(schema, body, `${method} ${p}`);
      assert.equal(body.error.code, "not_found");
    }
  });

  // The two tests below assert what the server should do and, at the time of writing,
  // does not (reported with the document): they fail until the server is fixed.

  test("bodies with fields their operation does not take are refused", async () => {
    // message.post, document.write and lock.release share argument structs with other
    // operations, so each accepts (and ignores) the others' fields.
    await call("postMessage", { token: T.eddie, body: { text: "titled?", title: "T" }, status: 400, code: "invalid_request", bodyValid: false });
    await call("postMessage", { token: T.eddie, body: { text: "fenced?", fence: 1 }, status: 400, code: "invalid_request", bodyValid: false });
    await call("writeDocument", { token: T.eddie, params: { id: "notes" }, body: { text: "x", conversation: "main" }, status: 400, code: "invalid_request", bodyValid: false });
    const { lease } = await call("acquireLock", { token: T.eddie, body: { resource: "tmp", ttlMs: 60_000 } });
    await call("releaseLock", { token: T.eddie, body: { resource: "tmp", fence: lease.fence, ttlMs: 5 }, status: 400, code: "invalid_request", bodyValid: false });
  });

  test("a member the list shows with a role is admitted with it", async () => {
    // Rex was removed above. Giving him a role either fails (as a transfer to him does)
    // or lets him back in; it must not list him as an editor while refusing him.
    await call("setMemberRole", { token: T.ted, params: { user: "rex" }, body: { role: "editor" }, status: [200, 400] });
    const changed = lastStatus === 200;
    const { members } = await call("listMembers");
    const listed = members.find((m) => m.user === "rex");
    assert.equal(Boolean(listed), changed, "listed exactly when the role change succeeded");
    if (listed) await call("listMessages", { token: T.rex, status: 200 });
  });

  test("every documented operation was called and answered 2xx at least once", () => {
    const missing = [...OPERATIONS.keys()].filter((id) => ![...(seen.get(id) ?? [])].some((s) => s >= 200 && s < 300));
    assert.deepEqual(missing, [], "operations never answered 2xx");
    for (const [id, statuses] of seen) {
      for (const s of statuses) assert.ok(s < 500, `${id} answered ${s}`);
    }
  });
});
