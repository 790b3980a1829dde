// The loaders of scenario 6 in a process of their own (so the probe's clients do not
// also carry 2 MB answers): each reconnects and asks for the whole room (sync step 1
// with an empty state vector) as fast as it is answered, until the parent says stop.
// Argv: base url, room, loader count. Replies { resyncs } on stop.
import { WebSocket } from "ws";

const [base, room, count] = process.argv.slice(2);
let running = true;
let resyncs = 0;

function resyncOnce() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}/${room}`);
    ws.binaryType = "nodebuffer";
    ws.on("open", () => ws.send(Uint8Array.of(0, 0, 1, 0)));
    ws.on("message", (data) => {
      if (data[0] === 0 && data[1] === 1) {
        ws.close();
        resolve(data.length);
      }
    });
    ws.on("error", reject);
  });
}

const loops = Array.from({ length: Number(count) }, async () => {
  while (running) {
    await resyncOnce();
    resyncs++;
  }
});
process.send?.({ type: "started" });
process.on("message", async (m) => {
  if (m.type !== "stop") return;
  running = false;
  await Promise.all(loops);
  process.send?.({ type: "stopped", resyncs });
});
process.on("disconnect", () => process.exit(0));
