// The React bindings (`confab-rooms/react`) with React Testing Library, in a DOM that
// happy-dom provides in Node, against the real edge under workerd: every hook follows the
// room live while another client changes it, and server rendering touches no
// WebAssembly and opens no socket.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { GlobalRegistrator } from "@happy-dom/global-registrator";
import WebSocket from "ws";
import { DEV_SECRET, mintToken, openConfab, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

GlobalRegistrator.register();
const { createElement: h, useState } = await import("react");
const { renderToString } = await import("react-dom/server");
const { act, cleanup, fireEvent, render, screen } = await import("@testing-library/react");
const hooks = await import("confab-rooms/react");

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  cleanup();
  // Node's own globals back first: happy-dom's timers would hold the edge's shutdown.
  await GlobalRegistrator.unregister();
  await edge?.stop();
});

/** A component that shows what each hook returns, one `data-testid` each. */
function Everything() {
  const status = hooks.useStatus();
  const messages = hooks.useMessages("main");
  const others = hooks.useOthers();
  const everyone = hooks.usePresence();
  const [me, setMe] = hooks.useMyPresence();
  const typing = hooks.useTyping("main");
  const [notes, setNotes] = hooks.useDocument("notes");
  const conflicts = hooks.useConflicts();
  const locks = hooks.useLocks();
  const activities = hooks.useActivityFeed();
  const context = hooks.useRoomContext();
  const sync = hooks.useSync();
  const last = hooks.useTurn(messages.at(-1)?.id ?? "");
  const [renders] = useState(() => ({ n: 0 }));
  renders.n += 1;
  const row = (id, value) => h("p", { "data-testid": id }, String(value));
  return h(
    "div",
    null,
    row("status", status),
    row("messages", messages.map((m) => `${m.author.name}: ${m.text}`).join(" | ")),
    row("others", others.map((p) => p.user.name).join(",")),
    row("everyone", everyone.length),
    row("me", `${me?.user.name ?? "-"} ${me?.activity ?? "-"}`),
    row("typing", typing.map((p) => p.name).join(",")),
    row("notes", notes),
    row("conflicts", conflicts.length),
    row("locks", locks.map((l) => `${l.resource}@${l.holder}`).join(",")),
    row("activities", activities.map((a) => a.summary).join(",")),
    row("context", context.map((e) => e.text).join(",")),
    row("partners", sync.partners.map((p) => p.name).join(",")),
    row("turn", last ? `${last.status}:${last.text}` : "-"),
    h("button", { onClick: () => setNotes(`${notes}!`) }, "shout"),
    h("button", { onClick: () => setMe({ activity: "reading" }) }, "read"),
  );
}

const text = (id) => screen.getByTestId(id).textContent;

test("every hook follows the room live, and writes through the hooks reach the others", async () => {
  const room = uniqueRoom("react");
  const bob = await openConfab(edge.ws, room, { id: "bob", name: "Bob" }, { token: mintToken(DEV_SECRET, { room, sub: "bob", name: "Bob", role: "owner" }) });
  try {
    bob.chat.ensureConversation("Main", "main");
    bob.docs.ensure("Notes", "notes");
    bob.docs.setText("notes", "hello");
    await bob.whenSaved();
    const token = mintToken(DEV_SECRET, { room, sub: "ada", name: "Ada", role: "editor" });
    render(h(hooks.RoomProvider, { url: edge.ws, room, user: { id: "ada", name: "Ada" }, token, WebSocket }, h(Everything)));
    const until = (check, what) => waitFor(() => check(), { timeout: 10_000, what });
    await until(() => text("status") === "synced", "synced");
    await until(() => text("notes") === "hello" && text("others") === "Bob" && text("everyone") === "2", "the room and Bob");
    assert.equal(text("me"), "Ada -");

    // Bob changes the room; the hooks follow.
    bob.chat.post("main", "Morning!");
    bob.presence.setTyping("main");
    bob.context.accept(bob.context.propose({ kind: "decision", text: "Ship Friday" }));
    await bob.locks.acquire("doc:notes", 30_000);
    const { activity } = await bob.request("activity.record", { kind: "task_assigned", summary: "triage" });
    await until(() => text("messages") === "Bob: Morning!", "the message");
    await until(() => text("typing") === "Bob", "Bob typing");
    await until(() => text("context") === "Ship Friday", "the context entry");
    await until(() => text("locks") === "doc:notes@bob", "the lease");
    await until(() => text("activities") === "triage", "the activity");
    assert.equal(text("partners"), "Bob");
    assert.match(text("turn"), /^done:Morning!$/);
    await bob.request("activity.complete", { id: activity.id });

    // A streamed turn grows in useTurn.
    const turn = bob.chat.openTurn("main");
    bob.chat.appendTurn(turn, "Think");
    await until(() => text("turn") === "streaming:Think", "the turn streaming");
    bob.chat.appendTurn(turn, "ing.");
    bob.chat.finishTurn(turn);
    await until(() => text("turn") === "done:Thinking.", "the turn done");

    // Writes through the hooks reach Bob.
    await act(async () => fireEvent.click(screen.getByText("shout")));
    await waitFor(() => bob.docs.text("notes") === "hello!", { what: "Ada's edit at Bob" });
    await act(async () => fireEvent.click(screen.getByText("read")));
    await until(() => text("me") === "Ada reading", "Ada's own presence");
    await waitFor(() => bob.presence.list().some((p) => p.user.id === "ada" && p.activity === "reading"), { what: "Ada's presence at Bob" });
    assert.equal(text("conflicts"), "0");
  } finally {
    cleanup();
    bob.destroy();
  }
});

test("server rendering returns the empty values and opens nothing: no WebAssembly, no socket", async () => {
  let sockets = 0;
  class Counting extends WebSocket {
    constructor(/** @type {string} */ url, /** @type {string[] | undefined} */ protocols) {
      super(url, protocols);
      sockets += 1;
    }
  }
  const html = renderToString(h(hooks.RoomProvider, { url: edge.ws, room: uniqueRoom("ssr"), user: { id: "s", name: "S" }, WebSocket: Counting }, h(Everything)));
  assert.match(html, /data-testid="status">disconnected</);
  assert.match(html, /data-testid="messages"><\/p>/);
  assert.match(html, /data-testid="notes"><\/p>/);
  assert.equal(sockets, 0);
  // Outside a provider, the hooks say what is missing.
  assert.throws(() => renderToString(h(Everything)), /must be used inside a <RoomProvider>/);
});
