import { Room, type ConnectionStatus, type MessageInfo, type ParticipantInfo, type SearchHit } from "confab-rooms";
import { AgentsPanel } from "./agents.js";
import { TurnUndo } from "./turn-undo.js";
import { ConflictsView, describe } from "./conflicts.js";
import { participantColour } from "./colours.js";
import { DEFAULT_SPACE, nameInput, userId, userName } from "./identity.js";
import { CommentsPanel } from "./comments-panel.js";
import { ManageDialog } from "./manage.js";
import { StatusAndFollow } from "./status.js";
import { ConversationTabs, MAIN as CONVERSATION } from "./conversations.js";
import { FilesPanel } from "./files-panel.js";
import { SearchDialog } from "./search-dialog.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = $<HTMLSpanElement>("status");
// The status says "connecting" until this script has wired every control (its last
// lines): a room can sync while CodeMirror's chunk loads, and a page that said "synced"
// then would take a click on Send as a plain form submission.
let wired = false;
statusEl.dataset.status = "connecting";
statusEl.textContent = "connecting";
const errorEl = $<HTMLDivElement>("error");
const messagesEl = $<HTMLOListElement>("messages");
const peersEl = $<HTMLUListElement>("peers");
const editorEl = $<HTMLDivElement>("editor");
const docTabsEl = $<HTMLElement>("doc-tabs");
const chatForm = $<HTMLFormElement>("chat-form");
const chatInput = $<HTMLInputElement>("chat-input");
const roomForm = $<HTMLFormElement>("room-form");
const roomInput = $<HTMLInputElement>("room-name");
const typingEl = $<HTMLDivElement>("typing");
const versionForm = $<HTMLFormElement>("version-form");
const versionName = $<HTMLInputElement>("version-name");
const versionsEl = $<HTMLUListElement>("versions");
const diffEl = $<HTMLDivElement>("diff");
const contextEl = $<HTMLUListElement>("context");
const contextForm = $<HTMLFormElement>("context-form");
const contextKind = $<HTMLSelectElement>("context-kind");
const contextText = $<HTMLInputElement>("context-text");
const contextPrivate = $<HTMLButtonElement>("context-private");
const handoffButton = $<HTMLButtonElement>("handoff");
const handoffText = $<HTMLPreElement>("handoff-text");
const showAuthors = $<HTMLInputElement>("show-authors");
const authorsEl = $<HTMLDivElement>("authors");
const conflictsEl = $<HTMLUListElement>("conflicts");
const conflictCount = $<HTMLSpanElement>("conflict-count");
const noConflicts = $<HTMLParagraphElement>("no-conflicts");
const noticeEl = $<HTMLDivElement>("notice");
let noticeTimer: ReturnType<typeof setTimeout> | undefined;
let noticeFor: string | undefined;

// The room comes from the URL (?room=...; the router sent us here because it has one),
// and with it the team space it was opened from (?space=...).
const params = new URLSearchParams(location.search);
// A room token from your backend, if the edge requires one (`?token=`; in development
// mode guests join as editors without one). It leaves the address bar before anything
// else runs, so it stays out of history, bookmarks and shared links, and is kept for
// this room in this tab's sessionStorage only: a reload (changing your name reloads)
// still has it, other tabs and later visits do not.
const tokenInUrl = params.get("token");
params.delete("token");
if (tokenInUrl !== null) history.replaceState(null, "", `?${params}${location.hash}`);
const roomName = params.get("room")?.trim() ?? "";
const spaceParam = params.get("space")?.trim();
const spaceName = spaceParam || DEFAULT_SPACE;
// A notification opens the room at its message (?message=<id>): shown once it arrives.
let linkedMessage = params.get("message");
const tokenKey = `confab.token:${roomName}`;
if (tokenInUrl) sessionStorage.setItem(tokenKey, tokenInUrl);
else if (tokenInUrl === "") sessionStorage.removeItem(tokenKey);
roomInput.value = roomName;
roomForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const next = roomInput.value.trim();
  if (next && next !== roomName) location.search = `?room=${encodeURIComponent(next)}`;
});
$<HTMLElement>("room-main").hidden = false;
const backLink = $<HTMLAnchorElement>("space-link");
backLink.href = `?space=${encodeURIComponent(spaceName)}`;
backLink.textContent = `← ${spaceName} rooms`;
backLink.hidden = false;

// "Copy invite link": this room's address, never your token (a token is yours alone).
const inviteButton = $<HTMLButtonElement>("invite");
inviteButton.addEventListener("click", () => {
  const link = new URL(location.pathname, location.origin);
  link.searchParams.set("room", roomName);
  if (spaceParam) link.searchParams.set("space", spaceParam);
  const say = (text: string) => {
    inviteButton.textContent = text;
    setTimeout(() => (inviteButton.textContent = "Copy invite link"), 2500);
  };
  // The clipboard needs a secure context (localhost or https); otherwise show the link.
  (navigator.clipboard?.writeText(link.href) ?? Promise.reject(new Error("no clipboard"))).then(
    () => say("Link copied"),
    () => prompt("Copy this link and send it to a teammate:", link.href),
  );
});

const editorsModule = import("./editors.js");
const wsBase = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/rooms`;
const token = sessionStorage.getItem(tokenKey) ?? undefined;
// Kept on this device too: edits made offline survive a reload and go out when the room
// is back, and so does your private context.
const room = await Room.open({
  url: wsBase,
  room: roomName,
  user: { id: userId, name: userName },
  persist: "indexeddb",
  // Without a token (development mode) the room knows this tab by its name.
  guest: true,
  ...(token ? { token } : {}),
}).catch(
  (err: unknown) => {
    // A room no server accepts (a `/` in its name, say): say why at once and stop,
    // rather than retry forever. The room field above still works to pick another.
    const message = err instanceof Error ? err.message : String(err);
    showError(`${message}. Pick another room name above.`);
    statusEl.dataset.status = "disconnected";
    statusEl.textContent = "not connected";
    throw err;
  },
);
(window as unknown as { confabRoom: Room }).confabRoom = room;
// Listened to at once: an error while CodeMirror's chunk loads is shown too.
room.on("error", (e) => showError(`${e.error.message} (${e.error.code})`));

const conversations = new ConversationTabs(room, userId, guard);
const manage = new ManageDialog(room, roomName, location.origin, token, userId);
const manageButton = $<HTMLButtonElement>("manage-open");
manageButton.hidden = false;
manageButton.addEventListener("click", () => manage.open());

/** A passing notice in the corner (about conflict `about`, if it is one). */
function showNotice(text: string, { ms = 8000, about }: { ms?: number; about?: string } = {}) {
  noticeFor = about;
  noticeEl.textContent = text;
  noticeEl.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (noticeEl.hidden = true), ms);
}

function showError(message: string | null) {
  errorEl.hidden = !message;
  errorEl.textContent = message ?? "";
}

function renderStatus(status: ConnectionStatus) {
  if (!wired) return;
  statusEl.dataset.status = status;
  const role = room.readOnly ? ` · ${room.role} (read-only)` : "";
  // Whether the room has stored our edits is core's call (room.saveState): "saving"
  // over a live connection, "unsaved" while they wait here for the room.
  const saving = room.saveState;
  statusEl.dataset.save = saving;
  const unsaved = saving === "saving" ? " · saving…" : saving === "unsaved" ? " · changes not saved yet" : "";
  statusEl.textContent = `${status}${role}${unsaved}`;
  statusEl.title =
    saving === "saved"
      ? "every change is stored"
      : `${room.unacked} change(s) not yet stored by the room${saving === "unsaved" ? "; they are kept in this tab and sent when the room is back" : ""}`;
  // What the role may not do is not offered: a viewer or reviewer posts, asks the agent,
  // merges, saves versions, shares context and syncs views through nothing.
  const why = room.readOnly ? `read-only: you are a ${room.role} in this room` : "";
  // (Ask agent is the agents panel's: it also needs an agent in the room.)
  for (const id of ["chat-input", "chat-send", "merge", "version-name", "context-share", "handoff", "sync-button", "detach", "doc-new", "doc-rename", "conversation-new", "conversation-rename"]) {
    const control = document.getElementById(id) as HTMLInputElement | HTMLButtonElement | null;
    if (!control) continue;
    control.disabled = room.readOnly;
    control.dataset.title ??= control.title;
    control.title = why || control.dataset.title;
  }
  const versionSubmit = document.querySelector<HTMLButtonElement>("#version-form button[type=submit]");
  if (versionSubmit) versionSubmit.disabled = room.readOnly;
}
room.on("session", ({ session }) => {
  if (token) {
    // With a token, the room says who you are: the token's name, everywhere.
    nameInput.value = session.name;
    nameInput.disabled = true;
    nameInput.title = "Your name comes from your room token";
  }
  renderStatus(room.status);
});
room.on("saved", () => renderStatus(room.status));
room.on("token-expired", () => {
  sessionStorage.removeItem(tokenKey);
  showError("Your room token expired: open the room's link with a fresh ?token= to rejoin.");
});

// Rows are drawn once per message and updated in place while only their text changes: a
// turn streams many times a second, and a row rebuilt each time would swap its Stop
// button out from under the pointer (the click lands on a button already gone).
const drawn = new Map<string, { li: HTMLLIElement; shape: string; text: string }>();
// "Undo the agent's changes" on agents' turns; a row whose answer changed is drawn again.
const turnUndo = new TurnUndo(room, {
  guard,
  showNotice,
  redraw: (turns) => {
    for (const turn of turns) drawn.delete(turn);
    renderMessages();
  },
});
room.on("change", () => turnUndo.changed());

function renderMessages() {
  let msgs: MessageInfo[] = [];
  try {
    msgs = room.chat.messages(conversations.active());
  } catch {
    // The conversation appears once the room has synced.
  }
  const stick = messagesEl.scrollTop + messagesEl.clientHeight >= messagesEl.scrollHeight - 4;
  // The comments are read once per render, not once per message.
  const threads = new Map<string, number>();
  for (const c of room.comments.list()) if (c.anchor.message) threads.set(c.anchor.message, (threads.get(c.anchor.message) ?? 0) + 1);
  const rows = msgs.map((m) => {
    const { text, ...rest } = m;
    // A new comment in the message's thread redraws its row too.
    const count = threads.get(m.id) ?? 0;
    const shape = JSON.stringify(rest) + count;
    const row = drawn.get(m.id);
    if (row?.shape === shape) {
      // Only the text grew (a streaming turn): the row and its Stop button stay put.
      if (row.text !== text) row.li.querySelector(".text")!.textContent = row.text = text;
      return row.li;
    }
    const li = renderMessage(m, count);
    drawn.set(m.id, { li, shape, text });
    return li;
  });
  const shown = new Set(msgs.map((m) => m.id));
  for (const id of drawn.keys()) if (!shown.has(id)) drawn.delete(id);
  const kids = messagesEl.children;
  if (rows.length !== kids.length || rows.some((li, i) => kids[i] !== li)) messagesEl.replaceChildren(...rows);
  if (stick) messagesEl.scrollTop = messagesEl.scrollHeight;
  showLinkedMessage();
}

function showLinkedMessage() {
  if (!linkedMessage) return;
  const li = drawn.get(linkedMessage)?.li;
  if (!li?.isConnected) return;
  li.classList.add("linked");
  li.scrollIntoView({ block: "center" });
  linkedMessage = null;
}

const STATUS_TEXT: Record<MessageInfo["status"], string> = {
  pending: "waiting…",
  streaming: "writing…",
  done: "",
  stopped: "stopped",
  interrupted: "interrupted",
  error: "failed",
};

function renderMessage(m: MessageInfo, threads: number): HTMLLIElement {
  const li = document.createElement("li");
  li.className = m.author.kind;
  li.dataset.id = m.id;
  li.dataset.status = m.status;
  if (m.merge) li.dataset.merge = m.merge.branch;
  const who = document.createElement("span");
  who.className = "author";
  who.textContent = m.author.name;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = m.text;
  const time = document.createElement("time");
  time.dateTime = new Date(m.createdAt).toISOString();
  time.textContent = new Date(m.createdAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (m.merge) {
    const label = document.createElement("span");
    label.className = "merge-label";
    label.textContent = `merged a branch (${m.merge.messages.length} message${m.merge.messages.length === 1 ? "" : "s"}):`;
    li.append(who, label, text, time);
  } else {
    li.append(who, text, time);
  }
  if (m.status !== "done") {
    const status = document.createElement("span");
    status.className = "turn-status";
    let label = STATUS_TEXT[m.status];
    if (m.status === "stopped" && m.stopRequestedBy) label += ` by ${m.stopRequestedBy.name}`;
    if (m.status === "error" && m.error) label += `: ${m.error}`;
    status.textContent = label;
    li.append(status);
  }
  if (m.status === "pending" || m.status === "streaming") {
    const stop = document.createElement("button");
    stop.className = "stop";
    stop.type = "button";
    stop.textContent = "Stop";
    stop.addEventListener("click", () => guard(() => room.chat.stopTurn(m.id)));
    li.append(stop);
  }
  const helpful = m.reactions.filter((r) => r.kind === "helpful");
  const react = document.createElement("button");
  react.type = "button";
  react.className = "react";
  const mine = helpful.some((r) => r.by.id === userId);
  react.ariaPressed = String(mine);
  react.title = helpful.map((r) => r.by.name).join(", ") || "Mark as helpful";
  react.textContent = helpful.length ? `helpful · ${helpful.length}` : "helpful";
  react.addEventListener("click", () => guard(() => (mine ? room.chat.unreact(m.id, "helpful") : room.chat.react(m.id, "helpful"))));
  const branch = document.createElement("button");
  branch.type = "button";
  branch.className = "branch";
  branch.textContent = "branch";
  branch.title = "Fork the conversation here";
  branch.addEventListener("click", () =>
    guard(() => {
      const from = conversations.active();
      const now = li.querySelector(".text")?.textContent ?? m.text;
      const id = room.chat.fork(from, m.id, `Branch: ${now.slice(0, 24) || "untitled"}`);
      room.views.set({ tabs: [...conversations.open(), id], activeTab: id });
    }),
  );
  const thread = document.createElement("button");
  thread.type = "button";
  thread.className = "branch thread";
  thread.textContent = threads ? `thread · ${threads}` : "thread";
  thread.title = "Comment on this message (reviewers may too)";
  thread.addEventListener("click", () => commentsPanel?.startOnMessage(m.id, li.querySelector(".text")?.textContent ?? m.text));
  li.append(react, branch, thread);
  li.append(...turnUndo.controls(m));
  return li;
}

function guard(action: () => void) {
  try {
    action();
    showError(null);
  } catch (err) {
    showError(err instanceof Error ? err.message : String(err));
  }
}

// The shared documents in CodeMirror, through the Yjs bridge: everyone's carets with names.
// CodeMirror comes in its own chunk, fetched while the room connects.
const { DOCUMENTS, DocumentEditors } = await editorsModule;
const where = { parent: editorEl, tabs: docTabsEl, empty: $<HTMLParagraphElement>("doc-empty") };
const editors = new DocumentEditors(room, where, { id: userId, name: userName }, (err) =>
  showError(err instanceof Error ? err.message : String(err)),
);
(window as unknown as { confabEditors: typeof editors }).confabEditors = editors;
const statusAndFollow = new StatusAndFollow(room, editors);
room.on("presence", () => statusAndFollow.update());
const commentsPanel: CommentsPanel | undefined = new CommentsPanel(room, editors, guard, (id) =>
  room.chat.conversations().flatMap((c) => room.chat.messages(c.id)).find((m) => m.id === id)?.text ?? "",
);
// The room says your role once it greets you (and again if it changes): reviewers and
// viewers read, everyone else edits.
room.on("session", () => editors.render());

// New and renamed documents, for everyone: a title like `plan.ts` makes a code document.
$<HTMLButtonElement>("doc-new").addEventListener("click", () => {
  const title = prompt("Title of the new document (a name like plan.ts makes it code):")?.trim();
  if (!title) return;
  guard(() => {
    const id = room.docs.create(title);
    editors.render();
    editors.show(id);
  });
});
$<HTMLButtonElement>("doc-rename").addEventListener("click", () => {
  const current = editors.frontTitle;
  const title = prompt("New title of this document:", current)?.trim();
  if (title && title !== current) guard(() => room.docs.setTitle(editors.front, title));
});

// The room's files: drop or pick to upload (with progress); a text file opens here as a
// shared document, an image or a PDF previews in the panel.
const filesPanel = new FilesPanel(
  room,
  {
    section: $("files"),
    list: $<HTMLUListElement>("file-list"),
    empty: $("files-empty"),
    uploads: $<HTMLUListElement>("uploads"),
    preview: $("file-preview"),
    picker: $<HTMLInputElement>("files-picker"),
    upload: $<HTMLButtonElement>("files-upload"),
    folder: $<HTMLButtonElement>("files-folder"),
    deleted: $<HTMLInputElement>("files-deleted"),
  },
  (doc) => {
    editors.render();
    editors.show(doc);
  },
  (action) => void action().then(() => showError(null), (err: Error) => showError(err.message)),
);

room.on("session", () => filesPanel.render());

// Search (Ctrl-K): a hit opens where it is.
const searchButton = $<HTMLButtonElement>("search-open");
searchButton.hidden = false;
new SearchDialog(
  room,
  { dialog: $("search"), input: $("search-input"), results: $("search-results"), state: $("search-state"), open: searchButton },
  jumpTo,
);
function jumpTo(hit: SearchHit): void {
  const [kind, ...rest] = hit.target.split(":");
  const id = rest.join(":");
  const flash = (el: Element | null | undefined) => {
    el?.scrollIntoView({ block: "center" });
    el?.classList.add("linked");
  };
  if (kind === "doc") {
    editors.render();
    const word = hit.highlights[0] ? hit.snippet.slice(hit.highlights[0][0], hit.highlights[0][1]) : "";
    const text = room.docs.text(id);
    const found = word ? text.toLowerCase().indexOf(word.toLowerCase(), hit.offset ?? 0) : -1;
    const from = found >= 0 ? found : (hit.offset ?? 0);
    editors.reveal(id, from, from + (found >= 0 ? word.length : 0));
  } else if (kind === "message") {
    const conversation = room.chat.conversations().find((c) => room.chat.messages(c.id).some((m) => m.id === id));
    if (conversation) guard(() => room.views.set({ tabs: [...new Set([...conversations.open(), conversation.id])], activeTab: conversation.id }));
    linkedMessage = id;
    renderAll();
  } else if (kind === "file") {
    filesPanel.show(id);
    flash(document.querySelector(`#file-list li[data-path="${CSS.escape(id)}"]`));
  } else if (kind === "comment") {
    flash(document.querySelector(`#comments li[data-id="${CSS.escape(id)}"]`));
  } else if (kind === "context") {
    flash(contextEl.querySelector(`li[data-id="${CSS.escape(id)}"]`));
  }
}

// Switching documents: the author view and a version's diff follow the one in front.
docTabsEl.addEventListener("click", () => {
  renderAuthors();
  renderDiff();
});

/** Make the workspace's conversation and documents, unless you only read. */
function ensureWorkspace() {
  if (room.readOnly) return;
  room.chat.ensureConversation("Main", CONVERSATION);
  for (const doc of DOCUMENTS) room.docs.ensure(doc.title, doc.id);
}

// What the list of who is here last showed: presence changes often (renewals, input),
// and a list redrawn under the pointer would swallow a click on it.
let peersShown = "";

function renderPeers() {
  const people = room.presence.list();
  const shown = JSON.stringify([
    statusAndFollow.following,
    people.map((p) => [p.user, p.isSelf, p.status, p.note, p.activity, editors.where(p.cursor)]),
  ]);
  if (shown === peersShown) return renderTyping();
  peersShown = shown;
  peersEl.replaceChildren(
    ...people.map((p) => {
      const li = document.createElement("li");
      li.dataset.status = p.status;
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.title = p.status;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = `${p.user.name}${p.isSelf ? " (you)" : ""}${p.user.kind === "agent" ? " · agent" : ""}`;
      name.style.setProperty("--colour", participantColour(p.user.id)); // their caret's colour in the editors
      const activity = document.createElement("span");
      activity.className = "activity";
      const where = editors.where(p.cursor);
      activity.textContent = [p.status === "active" ? "" : p.status, p.note ?? "", p.activity ?? "", where].filter(Boolean).join(" · ");
      li.append(dot, name, activity);
      if (!p.isSelf && p.user.kind === "person") {
        const follow = document.createElement("button");
        follow.type = "button";
        follow.className = "quiet small follow";
        const on = statusAndFollow.following === p.user.id;
        follow.textContent = on ? "Following" : "Follow";
        follow.ariaPressed = String(on);
        follow.title = on ? "Stop following" : `Follow ${p.user.name}: their document and cursor stay in view`;
        follow.addEventListener("click", () => statusAndFollow.follow(on ? null : p.user.id));
        li.append(follow);
      }
      return li;
    }),
  );
  renderTyping();
}

function renderTyping() {
  const typing = room.presence.typingIn(conversations.active()).map((p) => p.name);
  typingEl.textContent = typing.length ? `${typing.join(", ")} ${typing.length === 1 ? "is" : "are"} typing…` : "";
}

// History: named versions, a diff against now with who wrote each span, restore.
let shownVersion: string | null = null;

function renderVersions() {
  const versions = room.history.versions();
  versionsEl.replaceChildren(
    ...versions.map((v) => {
      const li = document.createElement("li");
      li.dataset.id = v.id;
      const name = document.createElement("strong");
      name.textContent = v.name;
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = `${v.author.name}, ${new Date(v.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
      const diff = document.createElement("button");
      diff.type = "button";
      diff.className = "show-diff";
      diff.textContent = "changes since";
      diff.addEventListener("click", () => {
        shownVersion = shownVersion === v.id ? null : v.id;
        renderDiff();
      });
      const restore = document.createElement("button");
      restore.type = "button";
      restore.className = "restore";
      restore.textContent = "restore";
      restore.addEventListener("click", () => guard(() => room.history.restore(v.id)));
      li.append(name, meta, diff, restore);
      return li;
    }),
  );
  renderDiff();
}

function renderDiff() {
  diffEl.hidden = !shownVersion;
  if (!shownVersion) return;
  let spans;
  try {
    spans = room.history.diff(editors.front, shownVersion);
  } catch (err) {
    diffEl.textContent = err instanceof Error ? err.message : String(err);
    return;
  }
  diffEl.replaceChildren(
    ...spans.map((span) => {
      const el = document.createElement(span.change === "inserted" ? "ins" : span.change === "deleted" ? "del" : "span");
      el.textContent = span.text;
      if (span.change === "deleted") {
        el.title = `deleted by ${span.deletedBy?.name ?? "someone"}${span.author ? ` (written by ${span.author.name})` : ""}`;
      } else if (span.author) {
        el.title = `inserted by ${span.author.name}`;
      }
      return el;
    }),
  );
}

versionForm.addEventListener("submit", (e) => {
  e.preventDefault();
  guard(() => {
    room.history.createVersion(versionName.value.trim() || `Version ${room.history.versions().length + 1}`);
    versionName.value = "";
  });
});

// Shared AI context (curated by the context owner) beside this person's private one.
// Insights agents raise (a finding, a risk): a notice when they arrive, and the latest
// few at the top of the AI context.
const insightsSeen = new Set<string>();
let insightsPrimed = false;
function noticeInsights() {
  const insights = room.context.events().filter((e) => e.kind === "insight");
  const fresh = insights.filter((e) => !insightsSeen.has(e.id));
  for (const e of fresh) insightsSeen.add(e.id);
  // What was raised before this page opened is listed, not announced.
  if (!insightsPrimed) {
    insightsPrimed = room.status === "synced";
    return;
  }
  const latest = fresh.at(-1);
  if (!latest) return;
  showNotice(`Insight from ${latest.author.name}: ${latest.text}`);
}

function renderContext() {
  noticeInsights();
  const insights = room.context
    .events()
    .filter((e) => e.kind === "insight")
    .slice(-3)
    .reverse()
    .map((e) => {
      const li = document.createElement("li");
      li.dataset.status = "insight";
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = `insight · ${e.author.name}`;
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = e.text;
      li.append(badge, text);
      return li;
    });
  const entries = [...room.context.shared().filter((e) => e.status !== "retired"), ...room.context.private()];
  const owner = room.context.owner();
  const curator = !owner || owner === userId;
  contextEl.replaceChildren(
    ...insights,
    ...entries.map((entry) => {
      const li = document.createElement("li");
      li.dataset.id = entry.id;
      li.dataset.status = entry.status;
      li.dataset.private = String(entry.private);
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = entry.private ? "private" : `${entry.kind} · ${entry.status}`;
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = entry.text;
      li.append(badge, text);
      const button = (label: string, action: () => void) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = label;
        b.textContent = label;
        b.addEventListener("click", () => guard(action));
        li.append(" ", b);
      };
      if (entry.private) {
        button("share", () => room.context.sharePrivate(entry.id));
      } else if (curator && (entry.status === "proposed" || entry.status === "stale")) {
        button("accept", () => room.context.accept(entry.id));
      }
      return li;
    }),
  );
}

function addContext(share: boolean) {
  const text = contextText.value.trim();
  if (!text) return;
  guard(() => {
    const draft = { kind: contextKind.value as "decision", text, refs: [`doc:${editors.front}`] };
    if (share) room.context.propose(draft);
    else room.context.addPrivate(draft);
    contextText.value = "";
    renderContext();
  });
}

contextForm.addEventListener("submit", (e) => {
  e.preventDefault();
  addContext(true);
});
contextPrivate.addEventListener("click", () => addContext(false));
handoffButton.addEventListener("click", () => {
  handoffText.hidden = !handoffText.hidden;
  handoffText.textContent = room.context.handoffMarkdown();
});

// Author colours: distinct colours handed out in the order authors are first seen in
// this tab (stable while it is open), grey for unknown writers.
const PALETTE = ["#1c7ed6", "#e8590c", "#2f9e44", "#ae3ec9", "#c92a2a", "#0c8599", "#f08c00", "#5f3dc4"];
const colours = new Map<string, string>();
function colourOf(who: ParticipantInfo | null): string {
  if (!who) return "#868e96";
  let colour = colours.get(who.id);
  if (!colour) {
    colour = PALETTE[colours.size % PALETTE.length];
    colours.set(who.id, colour);
  }
  return colour;
}

function renderAuthors() {
  authorsEl.hidden = !showAuthors.checked;
  if (!showAuthors.checked) return;
  let spans;
  try {
    spans = room.history.blame(editors.front);
  } catch {
    authorsEl.textContent = "";
    return;
  }
  authorsEl.replaceChildren(
    ...spans.map((span) => {
      const el = document.createElement("span");
      el.textContent = span.text;
      el.style.setProperty("--author", colourOf(span.author));
      const who = span.author ? `${span.author.name}${span.agent ? " (agent)" : ""}` : "unknown";
      el.title = `written by ${who}${span.turn ? ` in turn ${span.turn}` : ""}${span.model ? ` · ${span.model}` : ""}`;
      el.dataset.author = span.author?.id ?? "";
      return el;
    }),
  );
}
showAuthors.addEventListener("change", renderAuthors);

// Conflicts, agents' proposed merges and suggestions: each with its authors and what to do.
const conflictsView = new ConflictsView(room, { list: conflictsEl, count: conflictCount, none: noConflicts }, { userId, colourOf, guard });
const renderConflicts = () => conflictsView.render();

room.on("conflict", (notice) => {
  renderConflicts();
  if (notice.kind === "resolved" && notice.conflict.id === noticeFor) noticeEl.hidden = true;
  if (!notice.needsInput) return;
  showNotice(`Needs your input: ${describe(notice.conflict)}`, { ms: 6000, about: notice.conflict.id });
});

function renderAll() {
  renderAuthors();
  renderConflicts();
  renderVersions();
  renderContext();
  conversations.render();
  renderMessages();
  editors.render();
  commentsPanel?.render();
  filesPanel.render();
  conversations.renderSync();
}

// The agents in the room, and "Ask agent": it addresses the picked agent by name in the
// conversation, with what you typed (or about the conversation so far).
const askAgentButton = $<HTMLButtonElement>("ask-agent");
const agents = new AgentsPanel(room, {
  list: $<HTMLUListElement>("agents"),
  empty: $("no-agents"),
  pick: $<HTMLSelectElement>("agent-pick"),
  ask: askAgentButton,
});
askAgentButton.addEventListener("click", () => {
  const agent = agents.picked();
  if (!agent) return;
  const typed = chatInput.value.trim();
  try {
    room.chat.ensureConversation("Main", CONVERSATION);
    room.chat.post(conversations.active(), `@${agent.name} ${typed || "what do you make of this conversation so far?"}`);
    chatInput.value = "";
    room.presence.setTyping(null);
    showError(null);
  } catch (err) {
    showError(err instanceof Error ? err.message : String(err));
  }
});

/** The room's connection changed: once synced, the workspace's documents are made. */
function statusChanged(status: ConnectionStatus) {
  renderStatus(status);
  if (status === "synced") {
    showError(null);
    // A viewer or reviewer writes nothing: it reads what the room has.
    ensureWorkspace();
    renderAll();
  }
}
room.on("status", (e) => statusChanged(e.status));
room.on("change", renderAll);
room.on("presence", () => {
  renderPeers();
  conversations.renderSync();
});

let typingTimer: ReturnType<typeof setTimeout> | undefined;
function typing() {
  room.presence.setTyping(conversations.active());
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => room.presence.setTyping(null), 3000);
}

chatForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = chatInput.value.trim();
  if (!text) return;
  try {
    room.chat.ensureConversation("Main", CONVERSATION);
    room.chat.post(conversations.active(), text);
    room.presence.setTyping(null);
    chatInput.value = "";
    showError(null);
  } catch (err) {
    showError(err instanceof Error ? err.message : String(err));
  }
});
chatInput.addEventListener("input", typing);

for (const type of ["keydown", "pointerdown"]) document.addEventListener(type, () => room.presence.noteInput(), { passive: true });
// The room may have synced while the editors' chunk loaded, before anything above
// listened: catch up on what its status event would have done.
wired = true;
statusChanged(room.status);
// (Synced, that drew everything; otherwise draw what the page has so far.)
if (room.status !== "synced") renderAll();
renderPeers();
agents.render();
