// The room's shared documents, in CodeMirror 6 on the room through the Yjs bridge: stock
// y-codemirror.next draws everyone's carets and selections with their names. Undo is the
// room's own (`room.docs.undo`): your edits only, an agent's turn as one step, the caret
// put back where the undone edit was made, and kept across a reload. Every room starts with "Notes" (Markdown) and "Code"; anyone
// who edits adds more and renames them, in tabs everyone sees. A document titled like a
// code file (`plan.ts`) is code. A tab picks which document is in front; every editor
// stays bound, so a document in the back is current when you switch to it. The editors live in a shadow root: there CodeMirror's styles are
// constructed stylesheets, which the page's Content-Security-Policy allows without
// inline <style> elements.
import type { DocumentInfo, Room } from "confab-rooms";
import { YjsBridge } from "confab-rooms/yjs";
import { basicSetup } from "codemirror";
import { javascript } from "@codemirror/lang-javascript";
import { markdown } from "@codemirror/lang-markdown";
import { Compartment, EditorState, Prec, type Extension } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { yCollab } from "y-codemirror.next";
import { participantColour } from "./colours.js";

/** The documents every room of the workspace starts with. */
export const DOCUMENTS = [
  { id: "notes", title: "Notes" },
  { id: "code", title: "Code" },
] as const;
export type DocumentId = string;

/** Code is the built-in "code" document and any document titled like a code file. */
const CODE_TITLE = /\.(m?[jt]sx?|json|rs|py|go|java|c|h|cpp|css|html|sql|sh|ya?ml|toml)$/i;
function isCode(doc: DocumentInfo): boolean {
  return doc.id === "code" || CODE_TITLE.test(doc.title.trim());
}

/** Prose wraps; code keeps its lines and scrolls sideways. */
function languageOf(doc: DocumentInfo): Extension {
  return isCode(doc) ? javascript({ typescript: true }) : [markdown(), EditorView.lineWrapping];
}

const theme = EditorView.theme({
  "&": { flex: "1", minHeight: "0", minWidth: "0", height: "100%", fontSize: "0.9rem", border: "1px solid #ced4da", borderRadius: "6px", background: "#fff" },
  "&.cm-focused": { outline: "2px solid #a5d8ff" },
  ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", lineHeight: "1.5" },
  ".cm-content": { padding: "0.9rem 0 0.4rem" },
  // Readable against the white page (the default grey is too faint).
  ".cm-placeholder": { color: "#5c636a" },
  // Everyone's name stays on their caret (y-codemirror shows it on hover only).
  ".cm-ySelectionInfo": { opacity: "1", fontFamily: "system-ui, sans-serif", fontWeight: "600", borderRadius: "3px 3px 3px 0" },
});

export class DocumentEditors {
  readonly bridge: YjsBridge;
  readonly #room: Room;
  readonly #parent: ShadowRoot;
  readonly #tabs: HTMLElement;
  readonly #empty: HTMLElement;
  readonly #views = new Map<DocumentId, EditorView>();
  /** Each editor's box in the shadow root: the one in front is shown. */
  readonly #boxes = new Map<DocumentId, HTMLDivElement>();
  readonly #editable = new Compartment();
  #front: DocumentId = "notes";
  /** Each document's title, as of the last render (which follows every change). */
  #titles = new Map<string, string>();
  #readOnly: boolean;
  readonly #onError: (err: unknown) => void;

  constructor(
    room: Room,
    where: { parent: HTMLElement; tabs: HTMLElement; empty: HTMLElement },
    me: { id: string; name: string },
    onError: (err: unknown) => void,
  ) {
    const { parent, tabs, empty } = where;
    this.#room = room;
    this.#parent = parent.shadowRoot ?? parent.attachShadow({ mode: "open" });
    this.#tabs = tabs;
    this.#empty = empty;
    this.#readOnly = room.readOnly;
    this.#onError = onError;
    this.bridge = new YjsBridge(room, { user: { name: me.name }, colorOf: participantColour, onError });
  }

  /** The editor of a document, once the room has the document. */
  view(id: DocumentId): EditorView | undefined {
    return this.#views.get(id);
  }

  /** Which document is in front. */
  get front(): DocumentId {
    return this.#front;
  }

  /**
   * Bind an editor to each document the room has, editable or not by your role (call
   * on every change and when the room says who you are), and draw the tabs.
   */
  render(): void {
    this.#setReadOnly(this.#room.readOnly);
    const docs = this.#room.docs.list();
    this.#titles = new Map(docs.map((d) => [d.id, d.title]));
    if (!docs.some((d) => d.id === this.#front) && docs[0]) this.#front = docs[0].id;
    for (const doc of docs) {
      if (this.#views.has(doc.id)) continue;
      // Styled through the CSSOM (the page's policy refuses style attributes in markup).
      const box = document.createElement("div");
      box.style.display = "flex";
      box.style.flex = "1";
      box.style.minHeight = "0";
      box.style.minWidth = "0";
      this.#parent.append(box);
      this.#boxes.set(doc.id, box);
      const view = new EditorView({
        parent: box,
        root: this.#parent,
        state: EditorState.create({
          doc: this.bridge.text(doc.id).toString(),
          extensions: [
            basicSetup,
            languageOf(doc),
            theme,
            placeholder(isCode(doc) ? "// Code together…" : "Type together…"),
            EditorView.contentAttributes.of({ "aria-label": `${doc.title} (shared document)` }),
            this.#editable.of(this.#editableState()),
            // One undo history, the room's: y-codemirror's own undo manager is off, and the
            // undo keys (and the browser's Undo and Redo) go to the room, ahead of
            // CodeMirror's history.
            yCollab(this.bridge.text(doc.id), this.bridge.awareness, { undoManager: false }),
            Prec.highest([
              keymap.of([
                { key: "Mod-z", run: (view) => this.#undo(view, doc.id, "undo"), preventDefault: true },
                { key: "Mod-y", run: (view) => this.#undo(view, doc.id, "redo"), preventDefault: true },
                { key: "Mod-Shift-z", run: (view) => this.#undo(view, doc.id, "redo"), preventDefault: true },
              ]),
              EditorView.domEventHandlers({
                beforeinput: (event, view) => {
                  const which = event.inputType === "historyUndo" ? "undo" : event.inputType === "historyRedo" ? "redo" : null;
                  if (!which) return false;
                  event.preventDefault();
                  return this.#undo(view, doc.id, which);
                },
              }),
            ]),
            EditorView.updateListener.of((update) => {
              if (update.docChanged && update.transactions.some((t) => t.isUserEvent("input") || t.isUserEvent("delete"))) {
                this.#room.presence.setActivity(`editing ${this.#title(doc.id)}`);
              }
              // The caret jumped (a click, an arrow key): the next typing is a new undo step.
              if (update.selectionSet && !update.docChanged && update.transactions.some((t) => t.isUserEvent("select"))) {
                this.#room.docs.stopCapturing(doc.id);
              }
              if (update.focusChanged && !update.view.hasFocus) this.#room.presence.setActivity(null);
            }),
          ],
        }),
      });
      view.dom.dataset.doc = doc.id;
      this.#views.set(doc.id, view);
    }
    for (const [id, box] of this.#boxes) box.style.display = id === this.#front ? "flex" : "none";
    // Titles change under renames: the editors' names follow.
    for (const doc of docs) {
      const content = this.#views.get(doc.id)?.contentDOM;
      const label = `${doc.title} (shared document)`;
      if (content && content.getAttribute("aria-label") !== label) content.setAttribute("aria-label", label);
    }
    // A reader in a room where no one started the document yet sees why it is empty.
    this.#empty.hidden = this.#views.has(this.#front);
    this.#tabs.replaceChildren(
      ...docs.map((doc) => {
        const tab = document.createElement("button");
        tab.type = "button";
        tab.className = "tab";
        tab.setAttribute("role", "tab");
        tab.dataset.doc = doc.id;
        tab.ariaSelected = String(doc.id === this.#front);
        tab.textContent = doc.title;
        tab.addEventListener("click", () => this.show(doc.id));
        return tab;
      }),
    );
  }

  /** What is selected in the front document (UTF-16 offsets, as the room counts). */
  selection(): { from: number; to: number } | null {
    const view = this.#views.get(this.#front);
    if (!view) return null;
    const { from, to } = view.state.selection.main;
    return { from, to };
  }

  /** Bring `document` to the front with `from..to` selected and in view. */
  reveal(document: string, from: number, to: number): void {
    const view = this.#views.get(document);
    if (!view) return;
    this.show(document);
    if (!view) return;
    const end = Math.min(to, view.state.doc.length);
    view.dispatch({ selection: { anchor: Math.min(from, end), head: end }, scrollIntoView: true });
    view.focus();
  }

  /** Bring `document` to the front scrolled to `head`, without taking the focus or the
   * selection (following someone). */
  follow(document: string, head: number): void {
    const view = this.#views.get(document);
    if (!view) return;
    if (this.#front !== document) {
      this.#front = document;
      this.render();
    }
    const at = Math.min(head, view.state.doc.length);
    view.dispatch({ effects: EditorView.scrollIntoView(at, { y: "center" }) });
  }

  /** Put a document in front. */
  show(id: DocumentId): void {
    this.#front = id;
    this.render();
    this.#views.get(id)?.focus();
  }

  /** Undo or redo your last step in `id`, and show the selection it was made from. */
  #undo(view: EditorView, id: DocumentId, which: "undo" | "redo"): boolean {
    if (this.#readOnly) return true;
    try {
      const done = which === "undo" ? this.#room.docs.undo(id) : this.#room.docs.redo(id);
      // The change reached the editor through the bridge already; the caret follows.
      const selection = done?.selection;
      if (selection) {
        const end = view.state.doc.length;
        view.dispatch({ selection: { anchor: Math.min(selection.anchor, end), head: Math.min(selection.head, end) }, scrollIntoView: true });
      }
    } catch (err) {
      this.#onError(err);
    }
    return true;
  }

  /** A reviewer or viewer reads the documents; everyone else edits. */
  #setReadOnly(readOnly: boolean): void {
    if (readOnly === this.#readOnly) return;
    this.#readOnly = readOnly;
    for (const view of this.#views.values()) view.dispatch({ effects: this.#editable.reconfigure(this.#editableState(readOnly)) });
  }

  /** "notes, line 3": where a cursor is, for the list of who is here. */
  where(cursor: { document: string; head: number } | null): string {
    const view = cursor && this.#views.get(cursor.document);
    if (!cursor || !view) return "";
    const line = view.state.doc.lineAt(Math.min(cursor.head, view.state.doc.length)).number;
    return `${this.#title(cursor.document)}, line ${line}`;
  }

  /** A document's title as it is now (renames included), for sentences. */
  #title(id: string): string {
    const title = this.#titles.get(id) ?? id;
    return CODE_TITLE.test(title) ? title : title.toLowerCase();
  }

  /** The front document's title. */
  get frontTitle(): string {
    return this.#titles.get(this.#front) ?? this.#front;
  }

  #editableState(readOnly = this.#readOnly): Extension {
    return [EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)];
  }
}
