// The room's conversations in tabs: every conversation, and the branches this view
// opened; new and renamed ones for everyone; a branch's bar with "Merge into parent";
// and "Sync with a teammate" (the same tabs and layout, until either detaches). The tab
// in front is the view's active tab, so a synced teammate sees the same one.
import type { ConversationInfo, Room } from "confab-rooms";

/** The conversation every room starts with. */
export const MAIN = "main";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export class ConversationTabs {
  readonly #room: Room;
  readonly #me: string;
  readonly #guard: (action: () => void) => void;
  readonly #tabs = $<HTMLElement>("tabs");
  readonly #branchBar = $<HTMLDivElement>("branch-bar");
  readonly #branchLabel = $<HTMLSpanElement>("branch-label");
  readonly #syncState = $<HTMLParagraphElement>("sync-state");
  readonly #syncStart = $<HTMLDivElement>("sync-start");
  readonly #syncPartner = $<HTMLSelectElement>("sync-partner");
  readonly #detach = $<HTMLButtonElement>("detach");

  /** `guard` runs an action and shows its error, if any. */
  constructor(room: Room, me: string, guard: (action: () => void) => void) {
    this.#room = room;
    this.#me = me;
    this.#guard = guard;
    this.#wire();
  }

  /** The conversation in front: the view's active tab (shared while synced). */
  active(): string {
    const { view } = this.#room.views.get();
    const known = new Set(this.#room.chat.conversations().map((c) => c.id));
    return view.activeTab && known.has(view.activeTab) ? view.activeTab : MAIN;
  }

  /** The tabs: every conversation of the room (oldest first) and the branches this view opened. */
  open(): string[] {
    const { view } = this.#room.views.get();
    const opened = new Set(view.tabs);
    const tabs = this.#room.chat
      .conversations()
      .filter((c) => !c.forkOf || opened.has(c.id))
      .map((c) => c.id);
    return tabs.includes(MAIN) ? tabs : [MAIN, ...tabs];
  }

  /** Draw the tabs and, for a branch in front, its bar. */
  render(): void {
    const room = this.#room;
    const conversations = new Map<string, ConversationInfo>(room.chat.conversations().map((c) => [c.id, c]));
    const active = this.active();
    this.#tabs.replaceChildren(
      ...this.open().map((id) => {
        const tab = document.createElement("button");
        tab.type = "button";
        tab.className = "tab";
        tab.setAttribute("role", "tab");
        tab.dataset.id = id;
        tab.ariaSelected = String(id === active);
        tab.textContent = conversations.get(id)?.title ?? id;
        tab.addEventListener("click", () => this.#guard(() => room.views.set({ tabs: this.open(), activeTab: id })));
        return tab;
      }),
    );
    const current = conversations.get(active);
    this.#branchBar.hidden = !current?.forkOf;
    if (current?.forkOf) {
      const parent = conversations.get(current.forkOf.conversation);
      this.#branchLabel.textContent = `Branch of ${parent?.title ?? current.forkOf.conversation}`;
    }
  }

  /** Say whether this view is synced, and with whom; offer the teammates online. */
  renderSync(): void {
    const room = this.#room;
    const { sync } = room.views.get();
    const partners = room.views.partners();
    if (sync) {
      const names = new Map(room.presence.participants().map((p) => [p.id, p.name]));
      const others = sync.members.filter((m) => m !== this.#me).map((m) => names.get(m) ?? m);
      this.#syncState.textContent = `Synced with ${others.join(", ")}: same tabs and layout.`;
    } else {
      this.#syncState.textContent = partners.length ? "Your own view." : "Your own view. No teammate online to sync with.";
    }
    this.#syncStart.hidden = !!sync || partners.length === 0;
    this.#detach.hidden = !sync;
    const chosen = this.#syncPartner.value;
    this.#syncPartner.replaceChildren(
      ...partners.map((p) => {
        const option = document.createElement("option");
        option.value = p.id;
        option.textContent = p.name;
        return option;
      }),
    );
    if (partners.some((p) => p.id === chosen)) this.#syncPartner.value = chosen;
  }

  #wire(): void {
    const room = this.#room;
    const guard = this.#guard;
    // New and renamed conversations: tabs everyone sees (a rename is the room's, for all).
    $<HTMLButtonElement>("conversation-new").addEventListener("click", () => {
      const title = prompt("Title of the new conversation:")?.trim();
      if (!title) return;
      guard(() => {
        const id = room.chat.createConversation(title);
        room.views.set({ tabs: [...this.open(), id], activeTab: id });
      });
    });
    $<HTMLButtonElement>("conversation-rename").addEventListener("click", () => {
      const id = this.active();
      const current = room.chat.conversations().find((c) => c.id === id)?.title ?? id;
      const title = prompt("New title of this conversation:", current)?.trim();
      if (title && title !== current) guard(() => room.chat.renameConversation(id, title));
    });
    $<HTMLButtonElement>("merge").addEventListener("click", () =>
      guard(() => {
        const branch = this.active();
        const info = room.chat.conversations().find((c) => c.id === branch);
        if (!info?.forkOf) return;
        const own = room.chat.messages(branch).filter((m) => m.conversation === branch);
        const summary = own.at(-1)?.text ?? "No new messages";
        room.chat.merge(branch, own.map((m) => m.id), { summary, keyFindings: own.map((m) => m.text) });
        room.views.set({ tabs: this.open(), activeTab: info.forkOf.conversation });
      }),
    );
    $<HTMLButtonElement>("sync-button").addEventListener("click", () =>
      guard(() => {
        if (!this.#syncPartner.value) return;
        room.views.set({ tabs: this.open(), activeTab: this.active() });
        room.views.startSync(this.#syncPartner.value);
      }),
    );
    this.#detach.addEventListener("click", () => guard(() => room.views.stopSync()));
  }
}
