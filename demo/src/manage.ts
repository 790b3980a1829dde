// "Manage room": a screen for each part of the room's authority. Members and invitation
// links, locks with their time left, the agents' activity (filtered, searched, exported
// as CSV), the audit log, collaboration sessions with their decisions, and webhooks with
// their deliveries. Each tab shows only to the roles the edge lets read it (the same
// rules answer the requests: a screen shown by mistake would only show the refusal).
import { ConfabError, type Activity, type Room } from "confab-rooms";
import { ago } from "./identity.js";

type Tab = "members" | "locks" | "activity" | "audit" | "collaborations" | "webhooks";

/** Who may open each tab: core's rules (`member.*`, `lock.*`, `activity.list` are for
 * everyone in the room; the audit log for editors and owners; webhooks for owners). */
const NEEDS: Record<Tab, "viewer" | "editor" | "owner"> = {
  members: "viewer",
  locks: "viewer",
  activity: "viewer",
  audit: "editor",
  collaborations: "viewer",
  webhooks: "owner",
};
const RANK = { viewer: 0, reviewer: 1, editor: 2, owner: 3 } as const;

interface AuditEntry {
  seq: number;
  at: number;
  action: string;
  actor: { id: string; name: string; kind: string } | null;
  target: string | null;
  detail: Record<string, unknown>;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function reason(err: unknown): string {
  return err instanceof ConfabError ? `${err.message} (${err.code})` : String(err);
}

/** `rows` as CSV (RFC 4180 quoting). */
export function toCsv(rows: (string | number | null)[][]): string {
  const cell = (v: string | number | null) => {
    const s = v === null ? "" : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

function left(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s left` : `${s} s left`;
}

/** The Manage dialog of `room`; `base` is the edge's HTTP origin, `token` the page's. */
export class ManageDialog {
  readonly #dialog: HTMLDialogElement;
  readonly #body: HTMLElement;
  readonly #tabs: HTMLElement;
  readonly #error: HTMLElement;
  #tab: Tab = "members";
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Counts redraws: a draw whose answer comes after a newer redraw began drops it. */
  #generation = 0;
  /** Who this page is in the room (the room's `session` says, once connected). */
  #me: string;
  /** The last invite link made here (a redraw for the room's feed keeps it shown). */
  #invite: { link: string; until: string } | undefined;

  constructor(
    private readonly room: Room,
    private readonly roomName: string,
    private readonly base: string,
    private readonly token: string | undefined,
    me: string,
  ) {
    this.#me = me;
    room.on("session", ({ session }) => (this.#me = session.user));
    this.#dialog = document.getElementById("manage") as HTMLDialogElement;
    this.#body = document.getElementById("manage-body")!;
    this.#tabs = document.getElementById("manage-tabs")!;
    this.#error = document.getElementById("manage-error")!;
    document.getElementById("manage-close")!.addEventListener("click", () => this.#dialog.close());
    this.#dialog.addEventListener("close", () => clearInterval(this.#timer));
    room.on("session", () => this.#dialog.open && this.#render());
    room.on("feed", ({ event }) => this.#dialog.open && this.#concerns(event.action) && this.#render());
  }

  /** Open on `tab`. */
  open(tab: Tab = this.#tab): void {
    this.#tab = this.#allowed(tab) ? tab : "members";
    if (!this.#dialog.open) this.#dialog.showModal();
    this.#render();
  }

  /** Whether an event of the room's feed changes the tab in front; never while someone
   * is typing into its form (a redraw would lose what they typed). */
  #concerns(action: string): boolean {
    const typing = this.#body.contains(document.activeElement) && document.activeElement?.matches("input, select");
    if (typing) return false;
    const prefix: Record<Tab, string[]> = {
      members: ["member.", "role."],
      locks: ["lock."],
      activity: ["activity."],
      audit: [""],
      collaborations: ["collaboration."],
      webhooks: ["webhook."],
    };
    return prefix[this.#tab].some((p) => action.startsWith(p));
  }

  #allowed(tab: Tab): boolean {
    const role = this.room.role ?? "viewer";
    return RANK[role] >= RANK[NEEDS[tab]];
  }

  #fail(err: unknown): void {
    this.#error.hidden = false;
    this.#error.textContent = reason(err);
  }

  async #rest<T>(path: string): Promise<T> {
    const res = await fetch(`${this.base}/rooms/${encodeURIComponent(this.roomName)}${path}`, {
      headers: this.token ? { Authorization: `Bearer ${this.token}` } : {},
    });
    const json = (await res.json()) as T & { error?: { code: string; message: string } };
    if (!res.ok) throw new ConfabError((json.error?.code ?? "internal") as never, json.error?.message ?? `${res.status}`);
    return json;
  }

  #render(): void {
    clearInterval(this.#timer);
    this.#error.hidden = true;
    const tabs: [Tab, string][] = [
      ["members", "Members"],
      ["locks", "Locks"],
      ["activity", "Activity"],
      ["audit", "Audit log"],
      ["collaborations", "Collaborations"],
      ["webhooks", "Webhooks"],
    ];
    this.#tabs.replaceChildren(
      ...tabs
        .filter(([t]) => this.#allowed(t))
        .map(([t, label]) => {
          const b = el("button", label, "tab");
          b.type = "button";
          b.setAttribute("role", "tab");
          b.ariaSelected = String(t === this.#tab);
          b.dataset.tab = t;
          b.addEventListener("click", () => this.open(t));
          return b;
        }),
    );
    // Redraws overlap (an action's answer and the feed's event for it): only the newest
    // one draws, so an older answer neither overwrites the tab nor leaves a timer behind.
    const generation = ++this.#generation;
    const stale = () => generation !== this.#generation;
    const draw = {
      members: () => this.#members(stale),
      locks: () => this.#locks(stale),
      activity: () => this.#activity(stale),
      audit: () => this.#audit(stale),
      collaborations: () => this.#collaborations(stale),
      webhooks: () => this.#webhooks(stale),
    }[this.#tab];
    draw().catch((err: unknown) => stale() || this.#fail(err));
  }

  async #members(stale: () => boolean): Promise<void> {
    const { members } = await this.room.request("member.list");
    if (stale()) return;
    const owner = this.room.role === "owner";
    const me = this.#me;
    const list = el("ul", undefined, "manage-list");
    for (const m of members) {
      const li = el("li");
      li.dataset.user = m.user;
      li.append(el("b", m.name), el("span", m.user === me ? " (you)" : "", "meta"));
      if (owner && m.user !== me) {
        const select = el("select");
        select.ariaLabel = `Role of ${m.name}`;
        for (const r of ["owner", "editor", "reviewer", "viewer"]) select.append(new Option(r, r, false, r === m.role));
        select.addEventListener("change", () =>
          this.room
            .request(select.value === "owner" ? "member.transfer" : "member.role", select.value === "owner" ? { user: m.user } : { user: m.user, role: select.value as never })
            .then(() => this.#render(), (err: unknown) => this.#fail(err)),
        );
        li.append(select);
      } else {
        li.append(el("span", m.role, "role"));
      }
      list.append(li);
    }
    const parts: HTMLElement[] = [el("h3", "Members"), members.length ? list : el("p", "No one has a member record yet: roles come from tokens until an owner invites or changes one.", "hint")];
    if (owner) {
      const form = el("form", undefined, "row invite-form");
      const name = el("input");
      name.placeholder = "Their name";
      name.ariaLabel = "Invitee's name";
      name.required = true;
      const role = el("select");
      role.ariaLabel = "Role to give";
      for (const r of ["editor", "reviewer", "viewer"]) role.append(new Option(r, r));
      const go = el("button", "Create invite link");
      go.type = "submit";
      const out = el("input", undefined, "invite-link");
      out.readOnly = true;
      out.ariaLabel = "Invite link";
      out.hidden = !this.#invite;
      out.value = this.#invite?.link ?? "";
      out.title = this.#invite?.until ?? "";
      form.append(name, role, go);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        this.room
          .request("member.invite", { role: role.value as never, name: name.value.trim() })
          .then(({ token, expiresAt }) => {
            const link = new URL(location.pathname, location.origin);
            link.searchParams.set("room", this.roomName);
            link.searchParams.set("token", token);
            this.#invite = { link: link.href, until: `Good until ${new Date(expiresAt * 1000).toLocaleTimeString()}` };
            out.value = this.#invite.link;
            out.title = this.#invite.until;
            out.hidden = false;
            out.select();
          })
          .catch((err: unknown) => this.#fail(err));
      });
      parts.push(el("h3", "Invite someone"), form, out, el("p", "The link carries a token with that role: send it to them only.", "hint"));
    }
    if (!owner) {
      const leave = el("button", "Leave this room", "danger");
      leave.type = "button";
      leave.addEventListener("click", () => {
        if (confirm("Leave this room? An owner must invite you to come back.")) {
          this.room.request("member.leave").then(() => (location.search = ""), (err: unknown) => this.#fail(err));
        }
      });
      parts.push(leave);
    }
    this.#body.replaceChildren(...parts);
  }

  async #locks(stale: () => boolean): Promise<void> {
    const { leases } = await this.room.request("lock.list");
    if (stale()) return;
    const me = this.#me;
    const list = el("ul", undefined, "manage-list");
    const times: [HTMLElement, number][] = [];
    for (const l of leases) {
      const li = el("li");
      li.dataset.resource = l.resource;
      const time = el("span", left(l.expiresAt - Date.now()), "meta");
      times.push([time, l.expiresAt]);
      li.append(el("b", l.resource), el("span", `held by ${l.holderName}${l.holder === me ? " (you)" : ""}`), time);
      if (l.holder === me || this.room.role === "owner") {
        const release = el("button", "Release", "quiet small");
        release.type = "button";
        release.addEventListener("click", () =>
          this.room.request("lock.release", { resource: l.resource, fence: l.fence }).then(() => this.#render(), (err: unknown) => this.#fail(err)),
        );
        li.append(release);
      }
      list.append(li);
    }
    const parts: HTMLElement[] = [el("h3", "Locks"), leases.length ? list : el("p", "No locks are held. An agent or a person takes one before a long edit, so nobody overwrites it.", "hint")];
    if (!this.room.readOnly) {
      const form = el("form", undefined, "row");
      const resource = el("select");
      resource.ariaLabel = "What to lock";
      for (const d of this.room.docs.list()) resource.append(new Option(`Document: ${d.title}`, `doc:${d.id}`));
      const minutes = el("select");
      minutes.ariaLabel = "For how long";
      for (const m of [1, 5, 15]) minutes.append(new Option(`${m} min`, String(m)));
      const take = el("button", "Lock");
      take.type = "submit";
      form.append(resource, minutes, take);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        this.room
          .request("lock.acquire", { resource: resource.value, ttlMs: Number(minutes.value) * 60_000 })
          .then(() => this.#render(), (err: unknown) => this.#fail(err));
      });
      if (resource.options.length) parts.push(el("h3", "Take a lock"), form);
    }
    this.#body.replaceChildren(...parts);
    this.#timer = setInterval(() => {
      for (const [t, at] of times) t.textContent = left(at - Date.now());
      if (times.some(([, at]) => at <= Date.now())) this.#render();
    }, 1000);
  }

  async #activity(stale: () => boolean): Promise<void> {
    const { activities } = await this.room.request("activity.list");
    if (stale()) return;
    const agents = [...new Map(activities.map((a) => [a.agent, a.agentName])).entries()];
    const kinds = [...new Set(activities.map((a) => a.kind))];
    const filters = el("form", undefined, "row filters");
    filters.ariaLabel = "Filter the activity";
    const agent = el("select");
    agent.ariaLabel = "Agent";
    agent.append(new Option("Every agent", ""), ...agents.map(([id, name]) => new Option(name, id)));
    const kind = el("select");
    kind.ariaLabel = "Kind";
    kind.append(new Option("Every kind", ""), ...kinds.map((k) => new Option(k.replace(/_/g, " "), k)));
    const since = el("select");
    since.ariaLabel = "Since";
    since.append(new Option("Any time", "0"), new Option("Last hour", "3600000"), new Option("Last day", "86400000"));
    const search = el("input");
    search.type = "search";
    search.placeholder = "Search…";
    search.ariaLabel = "Search the activity";
    const exportButton = el("button", "Export CSV", "quiet");
    exportButton.type = "button";
    filters.append(agent, kind, since, search, exportButton);
    const list = el("ul", undefined, "manage-list activity-list");
    const count = el("p", "", "hint");
    const shown = (): Activity[] => {
      const q = search.value.trim().toLowerCase();
      const after = Number(since.value) ? Date.now() - Number(since.value) : 0;
      return activities.filter(
        (a) =>
          (!agent.value || a.agent === agent.value) &&
          (!kind.value || a.kind === kind.value) &&
          a.startedAt >= after &&
          (!q || `${a.summary} ${a.result ?? ""} ${a.agentName}`.toLowerCase().includes(q)),
      );
    };
    const draw = () => {
      const rows = shown();
      list.replaceChildren(
        ...rows.map((a) => {
          const li = el("li");
          li.dataset.kind = a.kind;
          li.append(el("b", a.agentName), el("span", a.summary), el("span", `${a.kind.replace(/_/g, " ")} · ${a.status} · ${ago(a.startedAt)}`, "meta"));
          return li;
        }),
      );
      count.textContent = `${rows.length} of ${activities.length} shown`;
    };
    for (const f of [agent, kind, since]) f.addEventListener("change", draw);
    search.addEventListener("input", draw);
    filters.addEventListener("submit", (e) => e.preventDefault());
    exportButton.addEventListener("click", () => {
      const rows = shown().map((a) => [a.id, a.agentName, a.kind, a.status, a.summary, a.result, new Date(a.startedAt).toISOString(), a.completedAt ? new Date(a.completedAt).toISOString() : null]);
      const csv = toCsv([["id", "agent", "kind", "status", "summary", "result", "started", "completed"], ...rows]);
      const link = el("a");
      link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      link.download = `${this.roomName}-activity.csv`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    });
    draw();
    this.#body.replaceChildren(
      el("h3", "What the agents did"),
      filters,
      activities.length ? list : el("p", "No agent activity yet. Agents record what they start and finish here (activity.record).", "hint"),
      count,
    );
  }

  async #audit(stale: () => boolean): Promise<void> {
    const { entries } = await this.#rest<{ entries: AuditEntry[] }>("/audit?limit=1000");
    if (stale()) return;
    const list = el("ol", undefined, "manage-list audit-list");
    for (const e of entries.slice(-200).reverse()) {
      const li = el("li");
      li.dataset.action = e.action;
      li.append(el("b", e.action), el("span", e.actor?.name ?? "the room"), el("span", e.target ?? "", "meta"), el("span", ago(e.at), "meta"));
      list.append(li);
    }
    this.#body.replaceChildren(el("h3", `Audit log (${entries.length} entries${entries.length > 200 ? ", the last 200 shown" : ""})`), list);
  }

  async #collaborations(stale: () => boolean): Promise<void> {
    const { collaborations } = await this.room.request("collaboration.list");
    if (stale()) return;
    const list = el("ul", undefined, "manage-list");
    for (const c of collaborations) {
      const li = el("li", undefined, "collab");
      li.append(el("b", c.title), el("span", `${c.status} · ${c.participants.join(", ")} · started ${ago(c.startedAt)}`, "meta"));
      const decisions = el("ol", undefined, "decisions");
      for (const d of c.decisions) decisions.append(el("li", `${d.by}: ${d.text}`));
      if (c.decisions.length) li.append(decisions);
      if (c.outcome) li.append(el("p", `Outcome: ${c.outcome}`));
      list.append(li);
    }
    this.#body.replaceChildren(
      el("h3", "Collaboration sessions"),
      collaborations.length ? list : el("p", "No collaboration yet. When agents work a question together, their session and each decision point show here.", "hint"),
    );
  }

  async #webhooks(stale: () => boolean): Promise<void> {
    const [{ webhooks }, { entries }] = await Promise.all([
      this.room.request("webhook.list"),
      this.#rest<{ entries: AuditEntry[] }>("/audit?limit=1000"),
    ]);
    if (stale()) return;
    const list = el("ul", undefined, "manage-list");
    for (const w of webhooks) {
      const li = el("li");
      const remove = el("button", "Delete", "quiet small");
      remove.type = "button";
      remove.addEventListener("click", () => this.room.request("webhook.delete", { id: w.id }).then(() => this.#render(), (err: unknown) => this.#fail(err)));
      li.append(el("b", w.url), el("span", w.events.join(", "), "meta"), remove);
      list.append(li);
    }
    const form = el("form", undefined, "row");
    const url = el("input");
    url.type = "url";
    url.placeholder = "https://hooks.example.com/confab";
    url.ariaLabel = "Webhook URL";
    url.required = true;
    const events = el("input");
    events.placeholder = "message.posted, lock.released";
    events.ariaLabel = "Events (comma-separated)";
    events.required = true;
    const add = el("button", "Add webhook");
    add.type = "submit";
    form.append(url, events, add);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const list = events.value.split(",").map((s) => s.trim()).filter(Boolean);
      // Deliveries are signed with this secret: shown once, for the receiving server.
      const secret = [...crypto.getRandomValues(new Uint8Array(24))].map((b) => b.toString(16).padStart(2, "0")).join("");
      this.room
        .request("webhook.create", { url: url.value, events: list as never, secret })
        .then(() => {
          this.#render();
          alert(`Webhook added. Its signing secret (shown only now): ${secret}`);
        }, (err: unknown) => this.#fail(err));
    });
    const deliveries = el("ol", undefined, "manage-list");
    for (const d of entries.filter((e) => e.action === "webhook.delivered" || e.action === "webhook.failed").slice(-50).reverse()) {
      deliveries.append(el("li", `${d.action === "webhook.delivered" ? "delivered" : "failed"} · ${d.target ?? ""} · ${ago(d.at)}`));
    }
    this.#body.replaceChildren(
      el("h3", "Webhooks"),
      webhooks.length ? list : el("p", "No webhooks. Add one to have the room POST its events (signed) to your server.", "hint"),
      form,
      el("h3", "Recent deliveries"),
      deliveries.children.length ? deliveries : el("p", "None yet.", "hint"),
    );
  }
}
