// The team space's home: its rooms with who is in each, live; new rooms; rename,
// archive and delete; who is at work in which room; and the team (team.ts).
import { ConfabError, Space, type SpaceRoom } from "confab-rooms";
import { participantColour } from "./colours.js";
import { ago, DEFAULT_SPACE, edgeUrl, userName } from "./identity.js";
import { TeamPanels } from "./team.js";
import { whoRow } from "./who.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const spaceName = new URLSearchParams(location.search).get("space")?.trim() || DEFAULT_SPACE;
const statusEl = $<HTMLSpanElement>("space-status");
const errorEl = $<HTMLDivElement>("error");
const list = $<HTMLUListElement>("room-list");
const archivedList = $<HTMLUListElement>("archived-list");
const archived = $<HTMLDetailsElement>("archived");
const empty = $<HTMLParagraphElement>("rooms-empty");
const form = $<HTMLFormElement>("new-room-form");
const titleInput = $<HTMLInputElement>("new-room-title");

$<HTMLElement>("home").hidden = false;
$<HTMLHeadingElement>("space-title").textContent = `Rooms in ${spaceName}`;
document.title = `${spaceName} · Confab`;
// The header's connection badge is the room's; the space has its own beside its title.
$<HTMLSpanElement>("status").hidden = true;
// No room here to invite anyone to: the space's address is the link to share.
$<HTMLButtonElement>("invite").hidden = true;

function showError(message: string | null) {
  errorEl.hidden = !message;
  errorEl.textContent = message ?? "";
}

function reason(err: unknown): string {
  return err instanceof ConfabError ? `${err.message} (${err.code})` : String(err);
}

const space = await Space.open({ url: edgeUrl, space: spaceName }).catch((err: unknown) => {
  showError(`The space could not be opened: ${reason(err)}`);
  statusEl.dataset.status = "disconnected";
  statusEl.textContent = "not connected";
  throw err;
});
(window as unknown as { confabSpace: Space }).confabSpace = space;

function renderStatus() {
  const status = space.status;
  statusEl.dataset.status = status === "connected" ? "synced" : status === "offline" ? "reconnecting" : status;
  statusEl.textContent = status === "connected" ? "live" : status === "offline" ? "reconnecting…" : status;
}
space.on("status", renderStatus);
space.on("error", (err) => showError(reason(err)));
renderStatus();

/** A URL-safe room name from a title, made unique with a short random tail. */
function roomNameFor(title: string): string {
  const slug = title
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return `${slug || "room"}-${Math.random().toString(36).slice(2, 6)}`;
}

function roomLink(name: string): string {
  return `?room=${encodeURIComponent(name)}&space=${encodeURIComponent(spaceName)}`;
}

function button(label: string, title: string, action: () => Promise<unknown>): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "quiet small";
  b.textContent = label;
  b.title = title;
  b.addEventListener("click", () => {
    b.disabled = true;
    action()
      .then(() => showError(null))
      .catch((err: unknown) => showError(`${label}: ${reason(err)}`))
      .finally(() => (b.disabled = false));
  });
  return b;
}

function avatars(room: SpaceRoom): HTMLElement {
  const wrap = document.createElement("span");
  wrap.className = "avatars";
  for (const p of room.present.slice(0, 6)) {
    const a = document.createElement("span");
    a.className = `avatar ${p.kind}`;
    a.style.setProperty("--colour", participantColour(p.id));
    a.textContent = p.name.slice(0, 1).toUpperCase();
    a.title = `${p.name}${p.kind === "agent" ? " (agent)" : ""}`;
    wrap.append(a);
  }
  return wrap;
}

function card(room: SpaceRoom): HTMLLIElement {
  const li = document.createElement("li");
  li.className = "room-card";
  li.dataset.room = room.name;
  const link = document.createElement("a");
  link.href = roomLink(room.name);
  link.className = "room-title";
  link.textContent = room.title;
  const counts = document.createElement("span");
  counts.className = "counts";
  counts.dataset.people = String(room.people);
  counts.dataset.agents = String(room.agents);
  const busy = room.people + room.agents > 0;
  counts.textContent = busy
    ? `${room.people} ${room.people === 1 ? "person" : "people"} · ${room.agents} ${room.agents === 1 ? "agent" : "agents"}`
    : "nobody in";
  li.classList.toggle("busy", busy);
  const when = document.createElement("time");
  when.dateTime = new Date(room.lastActivity).toISOString();
  when.textContent = `active ${ago(room.lastActivity)}`;
  const actions = document.createElement("span");
  actions.className = "actions";
  actions.append(
    button("Rename", "Give this room a new title", async () => {
      const next = prompt("New title for the room:", room.title)?.trim();
      if (next && next !== room.title) await space.renameRoom(room.name, next);
    }),
    button(room.archived ? "Restore" : "Archive", room.archived ? "Bring the room back" : "Move the room to the archive", () =>
      space.archiveRoom(room.name, !room.archived),
    ),
    button("Delete", "Delete the room for everyone (space leads only)", async () => {
      if (confirm(`Delete “${room.title}” for everyone? Its people are disconnected.`)) await space.deleteRoom(room.name);
    }),
  );
  li.append(link, avatars(room), counts, when, actions);
  return li;
}

function renderWho() {
  // People: online, away, then offline (the space remembers everyone its rooms saw).
  const people = space.people.filter((p) => p.kind === "person");
  const count = (state: string) => people.filter((p) => p.state === state).length;
  $<HTMLParagraphElement>("people-counts").textContent = people.length
    ? `${count("online")} online · ${count("away")} away · ${count("offline")} offline`
    : "";
  $<HTMLUListElement>("space-people").replaceChildren(
    ...people.map((p) => {
      const li = whoRow(p.id, p.name, { state: p.state });
      li.dataset.state = p.state;
      li.dataset.user = p.id;
      const where = document.createElement("span");
      where.className = "where";
      where.textContent =
        p.state === "offline"
          ? p.lastSeen
            ? `last seen ${ago(p.lastSeen)}`
            : "not in a room yet"
          : [p.note, p.activity, `in ${p.rooms.join(", ")}`].filter(Boolean).join(" · ");
      if (p.role) {
        const role = document.createElement("span");
        role.className = "role-tag";
        role.textContent = p.role;
        li.append(role);
      }
      li.append(where);
      return li;
    }),
  );
  $<HTMLParagraphElement>("people-empty").hidden = people.length > 0;
}

function render() {
  const live = space.rooms.filter((r) => !r.archived).sort((a, b) => b.lastActivity - a.lastActivity);
  const old = space.rooms.filter((r) => r.archived);
  list.replaceChildren(...live.map(card));
  archivedList.replaceChildren(...old.map(card));
  archived.hidden = old.length === 0;
  $<HTMLSpanElement>("archived-count").textContent = String(old.length);
  empty.hidden = live.length > 0;
  renderWho();
  team.render();
}
const team = new TeamPanels(space, showError);
space.on("rooms", render);
render();
// "active 2 min ago" moves on without a change from the edge.
setInterval(render, 30_000);

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const title = titleInput.value.trim();
  if (!title) return;
  const submit = form.querySelector("button")!;
  submit.disabled = true;
  space
    .createRoom(roomNameFor(title), title)
    .then((room) => {
      titleInput.value = "";
      showError(null);
      location.search = roomLink(room.name);
    })
    .catch((err: unknown) => showError(`New room: ${reason(err)}`))
    .finally(() => (submit.disabled = false));
});
titleInput.placeholder = `What is the new room for, ${userName}?`;

// The space's settings (leads change them; the edge says so to anyone else).
const sharing = $<HTMLInputElement>("external-sharing");
const archiveDays = $<HTMLInputElement>("auto-archive");
const settingsState = $<HTMLParagraphElement>("settings-state");
function renderSettings() {
  if (document.activeElement === archiveDays) return;
  sharing.checked = space.settings.externalSharing;
  archiveDays.value = String(space.settings.autoArchiveDays ?? 0);
}
space.on("rooms", renderSettings);
renderSettings();
$<HTMLFormElement>("space-settings-form").addEventListener("submit", (e) => {
  e.preventDefault();
  settingsState.textContent = "Saving…";
  space
    .updateSettings({ externalSharing: sharing.checked, autoArchiveDays: Number(archiveDays.value) || 0 })
    .then(() => (settingsState.textContent = "Saved."))
    .catch((err: unknown) => (settingsState.textContent = `Not saved: ${reason(err)}`));
});
