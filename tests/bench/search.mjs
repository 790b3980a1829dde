// Scenario 10: search and files. A room of 10,000 messages and 1 MB of documents under
// the edge (local workerd, its own process), searched over REST; how long after an edit
// is stored its text is found; and upload throughput through the room against a plain
// put into the same R2 bucket.
import { createHash, randomBytes } from "node:crypto";
import { Room } from "confab-rooms";
import { Miniflare } from "miniflare";
import { BENCH_LIMITS, startEdge } from "../helpers.mjs";
import { percentile } from "./relay.mjs";

const WORDS = ["launch", "budget", "vendor", "schema", "review", "holiday", "migration", "deadline", "contract", "design", "metrics", "latency", "rollout", "pricing", "hiring", "roadmap"];
const word = (i) => WORDS[i % WORDS.length];

/** A paragraph of about 200 bytes, varied by `i`. */
function paragraph(i) {
  return `Paragraph ${i}: the ${word(i)} for the ${word(i * 7 + 3)} depends on the ${word(i * 3 + 1)} and on item-${i}.`.padEnd(200, " x") + "\n\n";
}

async function waitSaved(room) {
  await room.whenSaved(120_000);
}

/** Search over REST; resolves with the answer and the time it took (ms). */
async function timedSearch(http, room, query) {
  const t0 = performance.now();
  const res = await fetch(`${http}/rooms/${room}/search?${new URLSearchParams({ query, limit: "20" })}`);
  const json = await res.json();
  if (!res.ok) throw new Error(`search ${query}: ${res.status} ${JSON.stringify(json)}`);
  return { json, ms: performance.now() - t0 };
}

/** Fill a room, then time queries, edit-to-searchable and uploads. */
export async function searchAndFiles({ messages = 10_000, docBytes = 1 << 20, queries = 60, edits = 20 } = {}) {
  const edge = await startEdge({ direct: true, bindings: { ...BENCH_LIMITS, CONFAB_MAX_FILE_BYTES: String(64 << 20) } });
  try {
    const name = `bench-search-${Date.now().toString(36)}`;
    const room = await Room.open({ url: edge.ws, room: name, user: { id: "bench", name: "Bench" }, guest: true });
    await room.whenSynced(30_000);
    const t0 = performance.now();
    room.chat.ensureConversation("Main", "main");
    for (let i = 0; i < messages; i++) {
      room.chat.post("main", `Message ${i} about the ${word(i)} and the ${word(i * 5 + 2)} (ticket ${i}).`);
      if (i % 500 === 499) await waitSaved(room);
    }
    const docs = 4;
    for (let d = 0; d < docs; d++) {
      let text = "";
      for (let i = 0; text.length < docBytes / docs; i++) text += paragraph(d * 100_000 + i);
      room.docs.ensure(`Doc ${d}`, `doc${d}`);
      room.docs.setText(`doc${d}`, text);
    }
    await waitSaved(room);
    const fillMs = performance.now() - t0;
    // The first search brings the index up to date if anything is pending; not timed.
    const first = await timedSearch(edge.http, name, "launch");
    const stats = await (await fetch(`${edge.http}/rooms/${name}/stats`)).json();

    const kinds = [
      ["a common word", (i) => word(i)],
      ["two words", (i) => `${word(i)} ${word(i + 5)}`],
      ["a prefix", (i) => word(i).slice(0, 4)],
      ["a rare token", (i) => `ticket ${(i * 997) % messages}`],
      ["a phrase", (i) => `"the ${word(i)} for"`],
    ];
    const latency = [];
    for (const [label, make] of kinds) {
      const times = [];
      let hits = 0;
      for (let i = 0; i < queries / kinds.length; i++) {
        const { json, ms } = await timedSearch(edge.http, name, make(i));
        times.push(ms);
        hits += json.hits.length;
      }
      times.sort((a, b) => a - b);
      latency.push({ label, p50: percentile(times, 50), p95: percentile(times, 95), n: times.length, hits: hits / times.length });
    }

    // From an edit's acknowledgement (stored) to its text being found.
    const stored = [];
    const posted = [];
    let firstTry = 0;
    for (let i = 0; i < edits; i++) {
      const token = `needle${i}x${randomBytes(3).toString("hex")}`;
      const t = performance.now();
      room.chat.post("main", `A fresh ${token} just now`);
      await waitSaved(room);
      const acked = performance.now();
      let tries = 0;
      for (;;) {
        tries++;
        const { json } = await timedSearch(edge.http, name, token);
        if (json.hits.length) break;
      }
      if (tries === 1) firstTry++;
      const found = performance.now();
      stored.push(found - acked);
      posted.push(found - t);
    }
    stored.sort((a, b) => a - b);
    posted.sort((a, b) => a - b);

    // Uploads: through the room (HTTP, hashed, stored, recorded) against the plainest
    // upload there is: a Worker that puts the request's body into its R2 bucket, under
    // its own workerd.
    const plainWorker = new Miniflare({
      modules: true,
      script: "export default { async fetch(req, env) { await env.FILES.put(new URL(req.url).pathname, req.body); return new Response('ok'); } };",
      r2Buckets: ["FILES"],
      compatibilityDate: "2026-04-20",
      host: "127.0.0.1",
      port: 0,
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    });
    const plainUrl = (await plainWorker.ready, await plainWorker.unsafeGetDirectURL()).href.replace(/\/$/, "");
    const sizes = [1 << 20, 10 << 20];
    const uploads = [];
    for (const size of sizes) {
      const room_ = [];
      const plain = [];
      for (let r = 0; r < 3; r++) {
        const bytes = randomBytes(size);
        let t = performance.now();
        const res = await fetch(`${edge.http}/rooms/${name}/files/content?path=bench/${size}-${r}.bin`, { method: "PUT", body: bytes });
        const answer = await res.json();
        if (!res.ok || answer.file.hash !== createHash("sha256").update(bytes).digest("hex")) throw new Error(`upload: ${JSON.stringify(answer)}`);
        room_.push(performance.now() - t);
        const other = randomBytes(size);
        t = performance.now();
        const put = await fetch(`${plainUrl}/plain/${size}-${r}`, { method: "PUT", body: other });
        if (!put.ok) throw new Error(`plain put: ${put.status}`);
        await put.text();
        plain.push(performance.now() - t);
      }
      room_.sort((a, b) => a - b);
      plain.sort((a, b) => a - b);
      const mbps = (ms) => size / (1 << 20) / (ms / 1000);
      uploads.push({ size, room: mbps(room_[1]), plain: mbps(plain[1]) });
    }
    room.destroy();
    await plainWorker.dispose();
    return { messages, docBytes, fillMs, rows: stats.searchRows, firstHits: first.json.hits.length, latency, stored, posted, firstTry, edits, uploads };
  } finally {
    await edge.stop();
  }
}
