// Comments: select words in a document and comment on them, or start a thread on a chat
// message; reply, resolve and reopen. Reviewers may comment although they cannot edit.
// Each comment shows the words it is about, where they are now.
import type { CommentInfo, Room } from "confab-rooms";
import { ago } from "./identity.js";

interface Place {
  /** A range of the front document… */
  document?: string;
  start?: number;
  end?: number;
  /** …or a chat message. */
  message?: string;
  /** What the form shows it is about. */
  label: string;
}

/** What the panel needs of the editors: the front document, its selection, and a way
 * to show a range. */
export interface Selectable {
  readonly front: string;
  selection(): { from: number; to: number } | null;
  reveal(document: string, from: number, to: number): void;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

export class CommentsPanel {
  readonly #list: HTMLUListElement;
  readonly #form: HTMLFormElement;
  readonly #about: HTMLElement;
  readonly #text: HTMLTextAreaElement;
  readonly #add: HTMLButtonElement;
  readonly #showResolved: HTMLInputElement;
  readonly #empty: HTMLElement;
  #place: Place | undefined;

  constructor(
    private readonly room: Room,
    private readonly editors: Selectable,
    private readonly guard: (action: () => void) => void,
    /** A message's text, by id (the room page knows the conversation in front). */
    private readonly messageText: (id: string) => string,
  ) {
    const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
    this.#list = $("comments");
    this.#form = $("comment-form");
    this.#about = $("comment-about");
    this.#text = $("comment-text");
    this.#add = $("comment-add");
    this.#showResolved = $("show-resolved");
    this.#empty = $("no-comments");
    this.#add.addEventListener("click", () => this.#startOnSelection());
    this.#showResolved.addEventListener("change", () => this.render());
    $("comment-cancel").addEventListener("click", () => this.#close());
    this.#form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.#submit();
    });
    this.#text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) this.#submit();
      if (e.key === "Escape") this.#close();
    });
  }

  /** Comment on what is selected in the front document. */
  #startOnSelection(): void {
    const sel = this.editors.selection();
    if (!sel || sel.from === sel.to) {
      this.#about.textContent = "Select some words in the document first, then press Comment.";
      this.#form.hidden = false;
      this.#text.disabled = true;
      return;
    }
    const doc = this.editors.front;
    const words = this.room.docs.text(doc).slice(sel.from, sel.to);
    this.#open({ document: doc, start: sel.from, end: sel.to, label: `On “${words.slice(0, 80)}${words.length > 80 ? "…" : ""}”` });
  }

  /** Start (or add to) the thread on chat message `id`. */
  startOnMessage(id: string, text: string): void {
    this.#open({ message: id, label: `On the message “${text.slice(0, 80)}${text.length > 80 ? "…" : ""}”` });
  }

  #open(place: Place): void {
    this.#place = place;
    this.#about.textContent = place.label;
    this.#text.disabled = false;
    this.#form.hidden = false;
    this.#text.focus();
  }

  #close(): void {
    this.#place = undefined;
    this.#text.value = "";
    this.#form.hidden = true;
  }

  #submit(): void {
    const place = this.#place;
    const text = this.#text.value.trim();
    if (!place || !text) return;
    this.guard(() => {
      if (place.message) this.room.comments.addToMessage(place.message, text);
      else this.room.comments.addToRange(place.document!, place.start!, place.end!, text);
      this.#close();
    });
  }

  /** Draw the threads (call on every change of the room). */
  render(): void {
    const viewer = this.room.role === "viewer";
    this.#add.disabled = viewer;
    this.#add.title = viewer ? "Viewers read comments; reviewers and editors write them" : "Comment on the words you selected";
    const all = this.room.comments.list();
    const shown = all.filter((c) => this.#showResolved.checked || !c.resolvedBy);
    // Keep what someone is typing in a reply box across redraws.
    const typing = new Map<string, string>();
    for (const input of this.#list.querySelectorAll<HTMLInputElement>("input[data-reply]")) {
      if (input.value) typing.set(input.dataset.reply!, input.value);
    }
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.reply;
    this.#list.replaceChildren(...shown.map((c) => this.#thread(c, viewer, typing.get(c.id))));
    if (focused) this.#list.querySelector<HTMLInputElement>(`input[data-reply="${CSS.escape(focused)}"]`)?.focus();
    const open = all.filter((c) => !c.resolvedBy).length;
    this.#empty.hidden = shown.length > 0;
    this.#empty.textContent = all.length
      ? `No open comments (${all.length - open} resolved).`
      : "No comments yet. Select words in a document and press Comment, or use a message's thread button. Reviewers may comment too.";
  }

  #thread(c: CommentInfo, viewer: boolean, draft: string | undefined): HTMLLIElement {
    const li = el("li", undefined, `comment${c.resolvedBy ? " resolved" : ""}`);
    li.dataset.id = c.id;
    const { document: doc, start, end, quote, message } = c.anchor;
    if (doc !== null && start !== null && end !== null) {
      const now = this.room.docs.text(doc).slice(start, end);
      const jump = el("button", now || quote || "(deleted)", "quote");
      jump.type = "button";
      jump.title = now === quote ? "Show these words in the document" : `Was “${quote}”. Show where it is now`;
      jump.addEventListener("click", () => this.editors.reveal(doc, start, end));
      li.append(jump);
    } else if (message) {
      const text = this.messageText(message);
      li.append(el("span", `On a message: “${text.slice(0, 60)}”`, "quote"));
    }
    const head = el("div", undefined, "comment-head");
    head.append(el("b", c.author.name), el("span", ago(c.createdAt), "meta"));
    li.append(head, el("p", c.text, "comment-text"));
    for (const r of c.replies) {
      const reply = el("div", undefined, "reply");
      reply.append(el("b", r.author.name), el("span", ` ${r.text}`), el("span", ` · ${ago(r.at)}`, "meta"));
      li.append(reply);
    }
    if (c.resolvedBy) li.append(el("p", `Resolved by ${c.resolvedBy.name}`, "meta"));
    if (!viewer) {
      const row = el("form", undefined, "reply-row");
      const input = el("input");
      input.placeholder = "Reply…";
      input.ariaLabel = `Reply to ${c.author.name}`;
      input.dataset.reply = c.id;
      if (draft) input.value = draft;
      const toggle = el("button", c.resolvedBy ? "Reopen" : "Resolve", "quiet small");
      toggle.type = "button";
      toggle.addEventListener("click", () => this.guard(() => (c.resolvedBy ? this.room.comments.reopen(c.id) : this.room.comments.resolve(c.id))));
      row.append(input, toggle);
      row.addEventListener("submit", (e) => {
        e.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        input.value = "";
        this.guard(() => this.room.comments.reply(c.id, text));
      });
      li.append(row);
    }
    return li;
  }
}
