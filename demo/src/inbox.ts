// The notification bell: this guest's inbox across rooms and spaces, live. Urgent
// notifications also show as a toast; each one opens the place it is about.
import { ConfabError, Inbox, type Notification } from "confab-rooms";
import { ago, edgeUrl, userId } from "./identity.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function placeOf(n: Notification): string {
  const params = new URLSearchParams();
  if (n.room) params.set("room", n.room);
  if (n.space) params.set("space", n.space);
  if (n.target?.startsWith("message:")) params.set("message", n.target.slice("message:".length));
  return `?${params}`;
}

/** The `sub` a room token names (its claims are readable; the edge checks the signature). */
function subjectOf(token: string): string | undefined {
  try {
    const claims = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { sub?: unknown };
    return typeof claims.sub === "string" ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

/** Open this guest's inbox and keep the bell, its panel and the toasts up to date. */
export function startInbox(): void {
  const bell = $<HTMLButtonElement>("bell");
  const count = $<HTMLSpanElement>("bell-count");
  const panel = $<HTMLElement>("inbox-panel");
  const list = $<HTMLUListElement>("inbox-list");
  const empty = $<HTMLParagraphElement>("inbox-empty");
  const state = $<HTMLParagraphElement>("inbox-state");
  const readAll = $<HTMLButtonElement>("inbox-read-all");
  const toasts = $<HTMLDivElement>("toasts");
  // With a room token, you are who it says (its `sub`), and it opens your inbox: the
  // inbox takes any valid room token of its person. Without one (development mode) you
  // are this tab's guest.
  const params = new URLSearchParams(location.search);
  const room = params.get("room")?.trim();
  const token = params.get("token") || (room ? sessionStorage.getItem(`confab.token:${room}`) : null) || undefined;
  const user = (token && subjectOf(token)) || userId;

  const setOpen = (open: boolean) => {
    panel.hidden = !open;
    bell.ariaExpanded = String(open);
    if (open) (list.querySelector("a") ?? readAll).focus();
  };
  bell.addEventListener("click", () => setOpen(panel.hidden));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !panel.hidden) {
      setOpen(false);
      bell.focus();
    }
  });
  document.addEventListener("click", (e) => {
    if (!panel.hidden && !panel.contains(e.target as Node) && !bell.contains(e.target as Node)) setOpen(false);
  });

  Inbox.open({ url: edgeUrl, user, ...(token ? { token } : {}) }).then(
    (inbox) => {
      (window as unknown as { confabInbox: Inbox }).confabInbox = inbox;
      // Read once opened: marked before the page leaves (a navigation would cancel it).
      const open = (n: Notification) => {
        const go = () => (location.search = placeOf(n));
        if (n.read) go();
        else inbox.markRead([n.id]).then(go, go);
      };
      const render = () => {
        count.hidden = inbox.unread === 0;
        count.textContent = inbox.unread > 99 ? "99+" : String(inbox.unread);
        bell.ariaLabel = `Notifications, ${inbox.unread} unread`;
        empty.hidden = inbox.notifications.length > 0;
        readAll.disabled = inbox.unread === 0;
        list.replaceChildren(
          ...inbox.notifications.map((n) => {
            const li = document.createElement("li");
            li.className = `notification ${n.read ? "read" : "unread"} ${n.urgency}`;
            li.dataset.kind = n.kind;
            const link = document.createElement("a");
            link.href = placeOf(n);
            link.addEventListener("click", (e) => {
              e.preventDefault();
              open(n);
            });
            const title = document.createElement("b");
            title.textContent = n.title;
            const body = document.createElement("span");
            body.className = "body";
            body.textContent = n.body ?? "";
            const meta = document.createElement("span");
            meta.className = "meta";
            meta.textContent = [n.room && `in ${n.room}`, ago(n.at)].filter(Boolean).join(" · ");
            link.append(title, body, meta);
            li.append(link);
            return li;
          }),
        );
      };
      const toast = (n: Notification) => {
        const t = document.createElement("div");
        t.className = `toast ${n.urgency}`;
        t.setAttribute("role", n.urgency === "urgent" ? "alert" : "status");
        const link = document.createElement("a");
        link.href = placeOf(n);
        link.textContent = n.title;
        link.addEventListener("click", (e) => {
          e.preventDefault();
          open(n);
        });
        const close = document.createElement("button");
        close.type = "button";
        close.className = "quiet small";
        close.textContent = "Dismiss";
        close.addEventListener("click", () => t.remove());
        t.append(link, close);
        toasts.append(t);
        setTimeout(() => t.remove(), n.urgency === "urgent" ? 15_000 : 6_000);
      };
      inbox.on("change", render);
      // Urgent ones always; a mention too (someone is waiting on you).
      inbox.on("notification", (n) => (n.urgency === "urgent" || n.kind === "mention") && toast(n));
      inbox.on("status", (s) => (state.textContent = s === "connected" ? "" : s === "offline" ? "Reconnecting…" : ""));
      readAll.addEventListener("click", () => void inbox.markAllRead().catch(() => {}));
      render();
    },
    (err: unknown) => {
      bell.disabled = true;
      bell.title = `Notifications are unavailable: ${err instanceof ConfabError ? err.message : String(err)}`;
    },
  );
}
