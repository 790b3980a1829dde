// One run of one benchmark in this process: `node contestants.mjs <scenario> <contestant> <input>`
// prints a JSON line { ms, ok, ... }. The runner starts a fresh process per run, so no
// contestant warms up or pollutes another's heap.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DATA = process.env.CONFAB_BENCH_DATA ?? path.resolve(HERE, "../../../shared/bench-data");

export function loadTrace(name) {
  const file = {
    "automerge-paper": "josephg-editing-traces/sequential_traces/automerge-paper.json.gz",
    "seph-blog1": "josephg-editing-traces/sequential_traces/ascii_only/seph-blog1.json.gz",
    rustcode: "josephg-editing-traces/sequential_traces/ascii_only/rustcode.json.gz",
  }[name];
  if (!file) throw new Error(`unknown trace ${name}`);
  return JSON.parse(gunzipSync(readFileSync(path.join(DATA, file))).toString("utf8"));
}

/** 100k single-character inserts at pseudo-random positions (same sequence every run). */
export function randomInserts(count = 100_000) {
  let seed = 0x9e3779b9;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x1_0000_0000;
  };
  const txns = [];
  let len = 0;
  let end = "";
  const chars = [];
  for (let i = 0; i < count; i++) {
    const pos = Math.floor(next() * (len + 1));
    const ch = String.fromCharCode(97 + (i % 26));
    txns.push({ patches: [[pos, 0, ch]] });
    chars.splice(pos, 0, ch);
    len++;
  }
  end = chars.join("");
  return { txns, endContent: end, startContent: "" };
}

function input(name) {
  return name === "random-100k" ? randomInserts() : loadTrace(name);
}

const local = {
  async yjs(trace) {
    const Y = await import("yjs");
    const doc = new Y.Doc();
    const text = doc.getText("text");
    const t0 = performance.now();
    for (const txn of trace.txns) {
      doc.transact(() => {
        for (const [pos, del, ins] of txn.patches) {
          if (del) text.delete(pos, del);
          if (ins) text.insert(pos, ins);
        }
      });
    }
    const ms = performance.now() - t0;
    return { ms, ok: text.toString() === trace.endContent };
  },
  async confab(trace) {
    const { init, Room } = await import("../../npm/dist/index.js");
    await init();
    const room = new Room({ url: "ws://127.0.0.1:9/rooms", room: "bench", user: { id: "bench", name: "Bench" } });
    room.docs.ensure("Bench", "d");
    const t0 = performance.now();
    for (const txn of trace.txns) {
      for (const [pos, del, ins] of txn.patches) room.docs.replaceRange("d", pos, del, ins);
    }
    const ms = performance.now() - t0;
    const ok = room.docs.text("d") === trace.endContent;
    room.destroy();
    return { ms, ok };
  },
  async loro(trace) {
    const { LoroDoc } = await import("loro-crdt");
    const doc = new LoroDoc();
    const text = doc.getText("text");
    const t0 = performance.now();
    for (const txn of trace.txns) {
      for (const [pos, del, ins] of txn.patches) {
        if (del) text.delete(pos, del);
        if (ins) text.insert(pos, ins);
      }
      doc.commit();
    }
    const ms = performance.now() - t0;
    return { ms, ok: text.toString() === trace.endContent };
  },
  async automerge(trace) {
    const A = await import("@automerge/automerge");
    let doc = A.from({ text: "" });
    const t0 = performance.now();
    for (const txn of trace.txns) {
      doc = A.change(doc, (d) => {
        for (const [pos, del, ins] of txn.patches) A.splice(d, ["text"], pos, del, ins);
      });
    }
    const ms = performance.now() - t0;
    return { ms, ok: doc.text === trace.endContent };
  },
};

/** The whole-document inputs of scenario 2: file, encoding. */
export const DOCUMENTS = {
  S1: ["josephg-egwalker-paper/datasets/S1", "v2"],
  S2: ["josephg-egwalker-paper/datasets/S2", "v2"],
  C1: ["josephg-egwalker-paper/datasets/C1", "v2"],
  B4: ["y-crdt/assets/bench-input/b4-update", "v1"],
};

function memoryMB() {
  const m = process.memoryUsage();
  return (m.heapUsed + m.external + m.arrayBuffers) / 2 ** 20;
}

const load = {
  async yjs(name) {
    const Y = await import("yjs");
    const [file, enc] = DOCUMENTS[name];
    const bytes = readFileSync(path.join(DATA, `${file}${enc === "v2" ? ".yjs" : ".bin"}`));
    globalThis.gc?.();
    const before = memoryMB();
    const t0 = performance.now();
    const doc = new Y.Doc();
    if (enc === "v2") Y.applyUpdateV2(doc, bytes);
    else Y.applyUpdate(doc, bytes);
    const text = doc.getText("text").toString();
    const ms = performance.now() - t0;
    globalThis.gc?.();
    return { ms, ok: text.length > 0, chars: text.length, memMB: memoryMB() - before, keep: doc !== null };
  },
  async confab(name) {
    const { init, Room } = await import("../../npm/dist/index.js");
    await init();
    const [file, enc] = DOCUMENTS[name];
    const raw = readFileSync(path.join(DATA, `${file}${enc === "v2" ? ".yjs" : ".bin"}`));
    // The wasm API takes Yjs v1 updates: the v2 files are converted before the clock starts.
    const bytes = enc === "v2" ? (await import("yjs")).convertUpdateFormatV2ToV1(raw) : raw;
    globalThis.gc?.();
    const before = memoryMB();
    const t0 = performance.now();
    const room = new Room({ url: "ws://127.0.0.1:9/rooms", room: "bench", user: { id: "bench", name: "Bench" } });
    room.applyUpdate(bytes);
    const text = room.docs.rootText("text");
    const ms = performance.now() - t0;
    globalThis.gc?.();
    const memMB = memoryMB() - before;
    room.destroy();
    return { ms, ok: text.length > 0, chars: text.length, memMB };
  },
  async automerge(name) {
    const A = await import("@automerge/automerge");
    const [file] = DOCUMENTS[name];
    if (name === "B4") return { ms: NaN, ok: false, error: "no Automerge file for B4" };
    const bytes = readFileSync(path.join(DATA, `${file}.am`));
    globalThis.gc?.();
    const before = memoryMB();
    const t0 = performance.now();
    const doc = A.load(bytes);
    const text = String(doc.text);
    const ms = performance.now() - t0;
    globalThis.gc?.();
    return { ms, ok: text.length > 0, chars: text.length, memMB: memoryMB() - before, keep: doc !== null };
  },
};

/**
 * Scenario 4: `n` participants in one 2,000-character document each move their cursor 20
 * times (one simulated second at 20 Hz); each update is made by the participant's
 * awareness (a relative position) and applied by an observer's. Confab's contestant is
 * native (`core/benches/native.rs`, `presence session <n>`).
 */
const presence = {
  async yjs(n) {
    const Y = await import("yjs");
    const { Awareness, encodeAwarenessUpdate, applyAwarenessUpdate } = await import("y-protocols/awareness");
    const seed = new Y.Doc();
    seed.getText("d").insert(0, "lorem ipsum ".repeat(167).slice(0, 2000));
    const state = Y.encodeStateAsUpdate(seed);
    const joined = (name) => {
      const doc = new Y.Doc();
      Y.applyUpdate(doc, state);
      const awareness = new Awareness(doc);
      awareness.setLocalState({ user: { id: name, name } });
      return { doc, awareness, text: doc.getText("d") };
    };
    const people = Array.from({ length: n }, (_, i) => joined(`p${i}`));
    const observer = joined("observer");
    for (const p of people) applyAwarenessUpdate(observer.awareness, encodeAwarenessUpdate(p.awareness, [p.doc.clientID]), "remote");
    let rng = 0x2545f491;
    const last = new Array(n).fill(0);
    const t0 = performance.now();
    for (let tick = 0; tick < 20; tick++) {
      people.forEach((p, i) => {
        rng ^= rng << 13;
        rng >>>= 0;
        rng ^= rng >>> 17;
        rng ^= rng << 5;
        rng >>>= 0;
        const pos = rng % 2000;
        last[i] = pos;
        const rel = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(p.text, pos));
        p.awareness.setLocalStateField("cursor", { document: "d", anchor: rel, head: rel });
        applyAwarenessUpdate(observer.awareness, encodeAwarenessUpdate(p.awareness, [p.doc.clientID]), "remote");
      });
    }
    const ms = performance.now() - t0;
    const states = observer.awareness.getStates();
    const ok = people.every((p, i) => {
      const c = states.get(p.doc.clientID)?.cursor;
      const abs = c && Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(c.anchor), observer.doc);
      return abs?.index === last[i];
    });
    for (const p of [...people, observer]) p.awareness.destroy();
    return { ms, ok };
  },
};

export const CONTESTANTS = { local: Object.keys(local), load: Object.keys(load), presence: Object.keys(presence) };

if (import.meta.url === `file://${process.argv[1]}`) {
  const [scenario, contestant, name] = process.argv.slice(2);
  const table = { local, load, presence }[scenario];
  if (!table?.[contestant]) throw new Error(`unknown ${scenario}/${contestant}`);
  const arg = scenario === "load" ? name : scenario === "presence" ? Number(name) : input(name);
  const result = await table[contestant](arg);
  process.stdout.write(`${JSON.stringify({ ...result, heapMB: process.memoryUsage().heapUsed / 2 ** 20 })}\n`);
  process.exit(0);
}
