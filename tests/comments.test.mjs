// Comment threads through the npm package, against the edge under workerd: a reviewer
// comments on a range although they cannot edit, the range moves with edits made around
// it, replies and resolutions reach everyone and the audit log, an @mention in a comment
// lands in the person's inbox, and a viewer may not comment.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, DEV_API_KEY, DEV_SECRET, mintToken, openConfab, startEdge, uniqueRoom, waitFor } from "./helpers.mjs";

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

test("a reviewer's comment on a range follows the edits, and its thread reaches everyone", async () => {
  const room = uniqueRoom("comments");
  const token = (sub, name, role) => mintToken(DEV_SECRET, { room, sub, name, role });
  const ada = await openConfab(edge.ws, room, { id: "ada", name: "Ada" }, { token: token("ada", "Ada", "editor") });
  const rita = await openConfab(edge.ws, room, { id: "rita", name: "Rita" }, { token: token("rita", "Rita", "reviewer") });
  const vic = await openConfab(edge.ws, room, { id: "vic", name: "Vic" }, { token: token("vic", "Vic", "viewer") });
  try {
    ada.docs.ensure("Plan", "plan");
    ada.docs.insert("plan", 0, "Ship the API on Monday.");
    await waitFor(() => rita.docs.list().length === 1 && rita.docs.text("plan").length === 23, { what: "Rita has the plan" });
    assert.throws(() => rita.docs.insert("plan", 0, "x"), { code: "read_only" }, "a reviewer cannot edit");
    const id = rita.comments.addToRange("plan", 16, 22, "Monday is a holiday");
    await waitFor(() => ada.comments.list().length === 1, { what: "Ada sees Rita's comment" });

    // Ada writes before the range: the comment's range moves with its words.
    ada.docs.insert("plan", 0, "Draft: ");
    await waitFor(() => rita.comments.onDocument("plan")[0]?.anchor.start === 23, { what: "the range moved for Rita" });
    const [c] = ada.comments.onDocument("plan");
    assert.deepEqual([c.author.id, c.anchor.start, c.anchor.end, c.anchor.quote], ["rita", 23, 29, "Monday"]);
    assert.equal(ada.docs.text("plan").slice(c.anchor.start ?? 0, c.anchor.end ?? 0), "Monday");

    ada.comments.reply(id, "Tuesday then");
    ada.comments.resolve(id);
    await waitFor(() => rita.comments.list()[0]?.resolvedBy?.id === "ada", { what: "resolved for Rita" });
    assert.equal(rita.comments.list()[0].replies[0].text, "Tuesday then");
    rita.comments.reopen(id);
    await waitFor(() => ada.comments.list()[0]?.resolvedBy === null, { what: "reopened for Ada" });

    // A viewer reads the thread but may not add to it.
    await waitFor(() => vic.comments.list().length === 1, { what: "Vic sees the thread" });
    assert.throws(() => vic.comments.reply(id, "me too"), { code: "read_only" });

    // A thread on a message, and an @mention in a comment that reaches the inbox.
    ada.chat.ensureConversation("Main", "main");
    const msg = ada.chat.post("main", "Draft is ready");
    await waitFor(() => rita.chat.messages("main").length === 1, { what: "Rita sees the message" });
    rita.comments.addToMessage(msg, "@Ada looks good, one question");
    const inbox = await waitFor(async () => {
      const r = await api(edge.http, "GET", "/users/ada/inbox", { token: DEV_API_KEY });
      return r.json.notifications.length ? r.json.notifications : null;
    }, { what: "the mention in Ada's inbox" });
    assert.deepEqual([inbox[0].title, inbox[0].target, inbox[0].room], ["Rita mentioned you in a comment", `message:${msg}`, room]);
    await waitFor(() => ada.comments.onMessage(msg).length === 1, { what: "the message's thread" });

    const audit = await waitFor(async () => {
      const r = await api(edge.http, "GET", `/rooms/${room}/audit?limit=1000`, { token: DEV_API_KEY });
      const actions = r.json.entries.map((e) => e.action).filter((a) => a.startsWith("comment."));
      return actions.length >= 5 ? actions : null;
    }, { what: "the comments in the audit log" });
    assert.deepEqual(audit, ["comment.added", "comment.replied", "comment.resolved", "comment.reopened", "comment.added"]);
  } finally {
    for (const c of [ada, rita, vic]) c.destroy();
  }
});
