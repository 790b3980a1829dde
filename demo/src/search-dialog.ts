// Search everything in the room (Ctrl-K or ⌘K): documents, files, messages, comments
// and shared context, as you type, from the room's index. Arrow keys pick a hit, Enter
// (or a click) jumps to it.
import type { Room, SearchHit } from "confab-rooms";

const KIND_LABEL: Record<SearchHit["kind"], string> = {
  document: "Document",
  file: "File",
  message: "Message",
  comment: "Comment",
  context: "Context",
};

/** How long typing pauses before the search runs. */
const DEBOUNCE_MS = 120;

export interface SearchParts {
  dialog: HTMLDialogElement;
  input: HTMLInputElement;
  results: HTMLUListElement;
  state: HTMLElement;
  open: HTMLButtonElement;
}

export class SearchDialog {
  readonly #room: Room;
  readonly #parts: SearchParts;
  readonly #jump: (hit: SearchHit) => void;
  #hits: SearchHit[] = [];
  #picked = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Answers to queries older than the newest are dropped. */
  #asked = 0;
  /** The query the hits shown answer. */
  #shownFor = "";

  constructor(room: Room, parts: SearchParts, jump: (hit: SearchHit) => void) {
    this.#room = room;
    this.#parts = parts;
    this.#jump = jump;
    document.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") {
        e.preventDefault();
        this.open();
      }
    });
    parts.open.addEventListener("click", () => this.open());
    parts.input.addEventListener("input", () => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.#search(), DEBOUNCE_MS);
    });
    parts.input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const n = this.#hits.length;
        if (n) this.#pick((this.#picked + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
      } else if (e.key === "Enter") {
        e.preventDefault();
        // Enter before the hits caught up with the typing: search now, then open the first.
        const current = parts.input.value.trim();
        const ready = this.#shownFor === current ? Promise.resolve() : (clearTimeout(this.#timer), this.#search());
        void ready.then(() => {
          const hit = this.#hits[this.#picked];
          if (hit && this.#shownFor === current) this.#go(hit);
        });
      }
    });
  }

  open(): void {
    if (!this.#parts.dialog.open) this.#parts.dialog.showModal();
    this.#parts.input.select();
    if (this.#parts.input.value.trim()) void this.#search();
  }

  async #search(): Promise<void> {
    const query = this.#parts.input.value.trim();
    const asked = ++this.#asked;
    if (!query) {
      this.#shownFor = "";
      this.#show([], "Type to search documents, files, messages, comments and context.");
      return;
    }
    this.#parts.state.textContent = "Searching…";
    try {
      const { hits, semantic } = await this.#room.search(query, { limit: 20 });
      if (asked !== this.#asked) return;
      this.#shownFor = query;
      const said = hits.length
        ? `${hits.length} ${hits.length === 1 ? "hit" : "hits"}${semantic ? ", ordered by meaning" : ""}. ↑↓ to pick, Enter to open.`
        : `Nothing matches “${query}”.`;
      this.#show(hits, said);
    } catch (err) {
      if (asked !== this.#asked) return;
      const e = err as { message?: string; code?: string };
      this.#show([], `Search failed: ${e.message ?? String(err)}${e.code ? ` (${e.code})` : ""}`);
    }
  }

  #show(hits: SearchHit[], state: string): void {
    this.#hits = hits;
    this.#parts.state.textContent = state;
    this.#parts.results.replaceChildren(...hits.map((h, i) => this.#row(h, i)));
    this.#pick(0);
  }

  #row(hit: SearchHit, i: number): HTMLLIElement {
    const li = document.createElement("li");
    li.id = `search-hit-${i}`;
    li.setAttribute("role", "option");
    li.dataset.target = hit.target;
    const head = document.createElement("div");
    head.className = "hit-head";
    const kind = document.createElement("span");
    kind.className = `kind kind-${hit.kind}`;
    kind.textContent = KIND_LABEL[hit.kind];
    const place = document.createElement("b");
    place.textContent = hit.place;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `${hit.author.name} · ${new Date(hit.at).toLocaleString()}`;
    head.append(kind, place, meta);
    const snippet = document.createElement("p");
    snippet.className = "snippet";
    let at = 0;
    for (const [start, end] of hit.highlights) {
      snippet.append(hit.snippet.slice(at, start));
      const mark = document.createElement("mark");
      mark.textContent = hit.snippet.slice(start, end);
      snippet.append(mark);
      at = end;
    }
    snippet.append(hit.snippet.slice(at));
    li.append(head, snippet);
    li.addEventListener("click", () => this.#go(hit));
    li.addEventListener("mousemove", () => this.#pick(i));
    return li;
  }

  #pick(i: number): void {
    this.#picked = i;
    for (const [n, li] of [...this.#parts.results.children].entries()) li.ariaSelected = String(n === i);
    const id = this.#hits.length ? `search-hit-${i}` : "";
    if (id) this.#parts.input.setAttribute("aria-activedescendant", id);
    else this.#parts.input.removeAttribute("aria-activedescendant");
    this.#parts.results.children[i]?.scrollIntoView({ block: "nearest" });
  }

  #go(hit: SearchHit): void {
    this.#parts.dialog.close();
    this.#jump(hit);
  }
}
