// An OpenAI-compatible chat-completions server on 127.0.0.1 that the agent tests write:
// it answers with Server-Sent Events the way the real API streams, so the agent talks to
// it through the real provider package (@ai-sdk/openai-compatible).
import { createServer } from "node:http";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";

/**
 * @typedef {{ words?: string[], tools?: { name: string, args: Record<string, unknown> }[], fail?: string,
 *   before?: (record: object) => Promise<void> | void }} Step
 * A scripted answer: stream `words`, or call `tools`, or fail with 503 and `fail` as the
 * reason; `before` runs first (the test changes the room while the model "thinks").
 */

/**
 * Start the server. `state.script` holds the next answers, one per request; when it is
 * empty, `state.mode` decides: `words` streams `state.words`; `slow` streams 200 chunks
 * 50 ms apart (time to stop it); `fail` answers 503 with a reason. Each request is
 * recorded with its body, how many chunks were sent, and whether its client went away
 * before the answer ended.
 */
export async function fakeModelServer() {
  const state = { mode: "words", words: /** @type {string[]} */ ([]), script: /** @type {Step[]} */ ([]), requests: /** @type {any[]} */ ([]) };
  let calls = 0;
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const record = { body: JSON.parse(Buffer.concat(chunks).toString("utf8")), sent: 0, cancelled: false, ended: false };
    state.requests.push(record);
    const step = state.script.shift() ?? (state.mode === "fail" ? { fail: "the model is overloaded" } : { words: state.mode === "slow" ? Array.from({ length: 200 }, (_, i) => `w${i} `) : state.words });
    await step.before?.(record);
    if (step.fail !== undefined) {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: step.fail, type: "server_error" } }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.on("close", () => (record.cancelled = !record.ended));
    const send = (delta, finish = null) =>
      res.write(`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 0, model: "test", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
    send({ role: "assistant", content: "" });
    if (step.tools) {
      step.tools.forEach((t, index) => {
        calls += 1;
        send({ tool_calls: [{ index, id: `call_${calls}`, type: "function", function: { name: t.name, arguments: JSON.stringify(t.args) } }] });
      });
      send({}, "tool_calls");
    } else {
      for (const word of step.words ?? []) {
        if (res.destroyed) return;
        send({ content: word });
        record.sent += 1;
        await new Promise((r) => setTimeout(r, state.mode === "slow" ? 50 : 5));
      }
      send({}, "stop");
    }
    record.ended = true;
    res.end("data: [DONE]\n\n");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  return { state, url: `http://127.0.0.1:${port}/v1`, close: () => new Promise((r) => server.close(r)) };
}

/** A model on `server` through the real provider package, as an app would make one. */
export function modelOf(server) {
  return createOpenAICompatible({ name: "test", baseURL: server.url, apiKey: "test-key" }).chatModel("test-model");
}
