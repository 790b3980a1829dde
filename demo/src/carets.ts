// The carets (and selections) of the others in the shared notes, drawn over the textarea.
//
// A textarea cannot say where an offset is on screen, so a hidden mirror — a div with
// the textarea's font, padding, width and wrapping — holds the same text and is
// measured instead. Redrawn on the next frame after presence, text, scroll or size change.
// A name shows while its owner moves their caret and for a few seconds after; then only a
// small flag in their colour, so that a resting caret does not hide the text around it.
import type { PresenceInfo, Room } from "confab-rooms";

/** A participant's colour: a hue from a hash of their id, the same on every page. */
export function participantColour(id: string): string {
  let hash = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return `hsl(${(hash >>> 0) % 360} 70% 40%)`;
}

/** What the mirror copies from the textarea: everything that decides where text wraps. */
const MIRRORED = [
  "fontFamily", "fontSize", "fontStyle", "fontVariant", "fontWeight", "fontStretch", "fontFeatureSettings",
  "lineHeight", "letterSpacing", "wordSpacing", "textTransform", "textIndent", "textAlign", "tabSize",
  "direction", "whiteSpace", "overflowWrap", "wordBreak",
  "paddingTop", "paddingRight", "paddingBottom", "paddingLeft",
] as const;

/** How long a name stays up after its owner last moved their caret. */
const NAME_SHOWN_MS = 4000;

export class RemoteCarets {
  readonly #room: Room;
  readonly #el: HTMLTextAreaElement;
  readonly #layer: HTMLElement;
  readonly #mirror: HTMLDivElement;
  readonly #id: string;
  readonly #toShown: (docOffset: number) => number;
  #frame = 0;
  /** Per client: its selection and caret, kept from one drawing to the next. */
  readonly #drawn = new Map<number, { group: HTMLElement; caret: HTMLElement; label: HTMLElement }>();
  /** Per client: its cursor as published (relative positions, so others' edits do not count as moves) and when that changed. */
  readonly #moved = new Map<number, { cursor: string; at: number }>();
  #quieting: ReturnType<typeof setTimeout> | undefined;

  /**
   * Draw the others' cursors in document `id` on `layer`, an element laid exactly over
   * `textarea`. `toShown` turns a document offset into the textarea's.
   */
  constructor(room: Room, textarea: HTMLTextAreaElement, layer: HTMLElement, id: string, toShown: (docOffset: number) => number) {
    this.#room = room;
    this.#el = textarea;
    this.#layer = layer;
    this.#id = id;
    this.#toShown = toShown;
    this.#mirror = document.createElement("div");
    this.#mirror.className = "caret-mirror";
    this.#mirror.ariaHidden = "true";
    layer.before(this.#mirror);
    textarea.addEventListener("scroll", () => this.update(), { passive: true });
    new ResizeObserver(() => this.update()).observe(textarea);
  }

  /** Redraw on the next frame (once, however often it is called before). */
  update(): void {
    this.#frame ||= requestAnimationFrame(() => {
      this.#frame = 0;
      this.#draw();
    });
  }

  #draw(): void {
    const others = this.#room.presence.list().filter((p) => !p.isSelf && p.cursor?.document === this.#id);
    if (others.length === 0 && this.#drawn.size === 0) return; // nothing drawn, nothing to draw
    const quiet = this.#quietNames(others);
    if (others.length > 0) this.#fitMirror();
    for (const p of others) this.#drawCursor(p, quiet.has(p.clientId));
    const here = new Set(others.map((p) => p.clientId));
    for (const [client, drawn] of this.#drawn) {
      if (here.has(client)) continue;
      drawn.group.remove();
      this.#drawn.delete(client);
    }
    this.#mirror.replaceChildren();
  }

  /** The clients whose names have been up long enough; redraws when the next one is due. */
  #quietNames(others: PresenceInfo[]): Set<number> {
    const now = performance.now();
    const published = new Map(this.#room.presence.peers().map((p) => [p.clientId, JSON.stringify(p.state.cursor ?? null)]));
    const quiet = new Set<number>();
    let next = Infinity;
    const seen = new Set<number>();
    for (const p of others) {
      seen.add(p.clientId);
      const cursor = published.get(p.clientId) ?? "";
      let moved = this.#moved.get(p.clientId);
      if (moved?.cursor !== cursor) this.#moved.set(p.clientId, (moved = { cursor, at: now }));
      const due = moved.at + NAME_SHOWN_MS;
      if (due <= now) quiet.add(p.clientId);
      else next = Math.min(next, due);
    }
    for (const client of this.#moved.keys()) if (!seen.has(client)) this.#moved.delete(client);
    clearTimeout(this.#quieting);
    if (next < Infinity) this.#quieting = setTimeout(() => this.update(), next - now + 20);
    return quiet;
  }

  /** Give the mirror the textarea's text box: same styles, same content width. */
  #fitMirror(): void {
    const style = getComputedStyle(this.#el);
    const mirror = this.#mirror.style;
    for (const key of MIRRORED) mirror[key] = style[key];
    // The textarea's client width leaves out its scrollbar, which narrows its text too.
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    mirror.width = `${this.#el.clientWidth - padding}px`;
    mirror.height = `${this.#el.clientHeight}px`;
  }

  /** One participant's selection (if any) and caret, positioned over the textarea. */
  #drawCursor(p: PresenceInfo, quiet: boolean): void {
    const el = this.#el;
    const text = el.value;
    const shown = (offset: number) => Math.min(this.#toShown(offset), text.length);
    const anchor = shown(p.cursor!.anchor);
    const head = shown(p.cursor!.head);
    const [start, end] = anchor < head ? [anchor, head] : [head, anchor];
    const selected = document.createElement("span");
    selected.textContent = text.slice(start, end);
    // What follows keeps the line's wrapping; at the very end a stand-in marks the spot.
    const rest = document.createElement("span");
    rest.textContent = text.slice(end) || ".";
    this.#mirror.replaceChildren(text.slice(0, start), selected, rest);

    const origin = this.#mirror.getBoundingClientRect();
    const dx = el.clientLeft - el.scrollLeft - origin.left;
    const dy = el.clientTop - el.scrollTop - origin.top;
    const inSight = (r: DOMRect) => r.bottom + dy > el.clientTop && r.top + dy < el.clientTop + el.clientHeight;
    const colour = participantColour(p.user.id);
    const boxes: HTMLElement[] = [];
    for (const r of start < end ? selected.getClientRects() : []) {
      if (!inSight(r)) continue;
      const box = document.createElement("div");
      box.className = "remote-selection";
      Object.assign(box.style, { left: `${r.left + dx}px`, top: `${r.top + dy}px`, width: `${Math.max(r.width, 4)}px`, height: `${r.height}px` });
      boxes.push(box);
    }

    let drawn = this.#drawn.get(p.clientId);
    if (!drawn) {
      const group = document.createElement("div");
      const caret = document.createElement("div");
      const label = document.createElement("span");
      caret.className = "remote-caret";
      label.className = "remote-caret-label";
      caret.append(label);
      this.#layer.append(group);
      this.#drawn.set(p.clientId, (drawn = { group, caret, label }));
    }
    const { group, caret, label } = drawn;
    group.style.setProperty("--colour", colour);
    group.replaceChildren(...boxes, caret);
    caret.dataset.client = String(p.clientId);
    caret.dataset.user = p.user.id;
    caret.dataset.status = p.status;
    const at = (head < anchor ? selected : rest).getClientRects()[0];
    caret.hidden = !at || !inSight(at); // scrolled out of sight
    if (caret.hidden) return;
    caret.style.setProperty("--colour", colour);
    Object.assign(caret.style, { left: `${at.left + dx}px`, top: `${at.top + dy}px`, height: `${at.height}px` });
    caret.classList.toggle("quiet", quiet);
    // On the first visible line the name goes below the caret, where it can be seen.
    caret.classList.toggle("label-below", at.top + dy - at.height < el.clientTop);
    label.textContent = p.user.kind === "agent" ? `${p.user.name} · agent` : p.user.name;
  }
}
