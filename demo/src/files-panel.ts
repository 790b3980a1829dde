// The room's files: a tree everyone sees change, uploads by drag and drop (or a picker)
// with a progress bar each, folders, moves, deletes, and a preview: a text file opens
// as a shared document in the editor; an image or a PDF shows here, with a download.
import type { FileEntry, Room } from "confab-rooms";

const KB = 1024;
function size(bytes: number): string {
  if (bytes < KB) return `${bytes} B`;
  if (bytes < KB * KB) return `${(bytes / KB).toFixed(1)} KB`;
  return `${(bytes / KB / KB).toFixed(1)} MB`;
}

/** Where the panel draws, and what it asks of the page. */
export interface FilesPanelParts {
  section: HTMLElement;
  list: HTMLUListElement;
  empty: HTMLElement;
  uploads: HTMLUListElement;
  preview: HTMLElement;
  picker: HTMLInputElement;
  upload: HTMLButtonElement;
  folder: HTMLButtonElement;
  deleted: HTMLInputElement;
}

export class FilesPanel {
  readonly #room: Room;
  readonly #parts: FilesPanelParts;
  readonly #openDocument: (doc: string) => void;
  readonly #guard: (action: () => Promise<unknown>) => void;
  /** The file shown in the preview, if any. */
  #shown: string | null = null;
  /** What the list drew last, to redraw only on a change. */
  #drawn = "";

  constructor(room: Room, parts: FilesPanelParts, openDocument: (doc: string) => void, guard: (action: () => Promise<unknown>) => void) {
    this.#room = room;
    this.#parts = parts;
    this.#openDocument = openDocument;
    this.#guard = guard;
    parts.upload.addEventListener("click", () => parts.picker.click());
    parts.picker.addEventListener("change", () => {
      this.uploadAll([...(parts.picker.files ?? [])], this.#folderInView());
      parts.picker.value = "";
    });
    parts.deleted.addEventListener("change", () => this.render());
    parts.folder.addEventListener("click", () => {
      const path = prompt("New folder (a path like output/reports):")?.trim();
      if (path) this.#guard(() => room.files.mkdir(path));
    });
    // Drop files anywhere on the panel; onto a folder's row puts them in that folder.
    parts.section.addEventListener("dragover", (e) => {
      if (!e.dataTransfer?.types.includes("Files")) return;
      e.preventDefault();
      parts.section.classList.add("dropping");
    });
    parts.section.addEventListener("dragleave", (e) => {
      if (!parts.section.contains(e.relatedTarget as Node | null)) parts.section.classList.remove("dropping");
    });
    parts.section.addEventListener("drop", (e) => {
      e.preventDefault();
      parts.section.classList.remove("dropping");
      if (room.readOnly) {
        this.#guard(() => Promise.reject(new Error("You can read this room's files but not add to them (your role is read-only).")));
        return;
      }
      const row = (e.target as HTMLElement).closest<HTMLElement>("li[data-folder]");
      this.uploadAll([...(e.dataTransfer?.files ?? [])], row?.dataset.path ?? this.#folderInView());
    });
  }

  /** The folder of the file in preview (new uploads go beside it), else the top. */
  #folderInView(): string {
    const shown = this.#shown;
    return shown && shown.includes("/") ? shown.slice(0, shown.lastIndexOf("/")) : "";
  }

  /** Upload `files` into `folder`, each with its own progress bar. */
  uploadAll(files: File[], folder: string): void {
    for (const file of files) {
      const path = folder ? `${folder}/${file.name}` : file.name;
      const li = document.createElement("li");
      li.className = "upload";
      const name = document.createElement("span");
      name.textContent = path;
      const bar = document.createElement("progress");
      bar.max = file.size || 1;
      bar.value = 0;
      bar.setAttribute("aria-label", `Uploading ${path}`);
      const state = document.createElement("span");
      state.className = "meta";
      state.textContent = "0%";
      li.append(name, bar, state);
      this.#parts.uploads.append(li);
      this.#room.files
        .upload(path, file, {
          onProgress: (sent, total) => {
            bar.max = total || 1;
            bar.value = sent;
            state.textContent = `${Math.round((100 * sent) / (total || 1))}%`;
          },
        })
        .then((entry) => {
          li.remove();
          this.render();
          this.show(entry.path);
        })
        .catch((err: { code?: string; message?: string }) => {
          li.classList.add("failed");
          bar.remove();
          state.textContent = err.message ?? String(err);
          state.setAttribute("role", "alert");
          const dismiss = document.createElement("button");
          dismiss.type = "button";
          dismiss.className = "quiet small";
          dismiss.textContent = "Dismiss";
          dismiss.addEventListener("click", () => li.remove());
          li.append(dismiss);
        });
    }
  }

  /** Draw the tree (call on every change). */
  render(): void {
    // Viewers and reviewers read the files; they add, move and delete none.
    const readOnly = this.#room.readOnly;
    this.#parts.upload.disabled = readOnly;
    this.#parts.folder.disabled = readOnly;
    const files = this.#room.files.list({ deleted: this.#parts.deleted.checked });
    const key = JSON.stringify([readOnly, ...files.map((f) => [f.path, f.hash, f.size, f.updatedAt, f.deletedAt])]);
    this.#parts.empty.hidden = files.length > 0;
    if (this.#shown && !files.some((f) => f.path === this.#shown && f.deletedAt === undefined)) this.show(null);
    if (key === this.#drawn) return;
    this.#drawn = key;
    this.#parts.list.replaceChildren(...files.map((f) => this.#row(f)));
  }

  #row(f: FileEntry): HTMLLIElement {
    const li = document.createElement("li");
    li.dataset.path = f.path;
    if (f.folder) li.dataset.folder = "";
    if (f.deletedAt !== undefined) return this.#deletedRow(f, li);
    const depth = f.path.split("/").length - 1;
    li.style.paddingLeft = `${depth * 0.9}rem`;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "file-name";
    const name = f.path.slice(f.path.lastIndexOf("/") + 1);
    open.textContent = f.folder ? `📁 ${name}` : name;
    open.title = f.folder ? f.path : `${f.path} · ${f.type} · ${size(f.size)} · ${f.author.name}`;
    if (!f.folder) open.addEventListener("click", () => this.show(f.path));
    else open.disabled = true;
    li.append(open);
    if (!f.folder) {
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = `${size(f.size)} · ${f.author.name}`;
      li.append(meta);
    }
    const rename = document.createElement("button");
    rename.type = "button";
    rename.className = "quiet small";
    rename.textContent = "Move";
    rename.title = `Move or rename ${f.path}`;
    rename.addEventListener("click", () => {
      const to = prompt(`Move or rename ${f.path} to:`, f.path)?.trim();
      if (to && to !== f.path) this.#guard(() => this.#room.files.move(f.path, to));
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "quiet small";
    remove.textContent = "Delete";
    remove.title = `Delete ${f.path} (it stays in the room's history)`;
    remove.addEventListener("click", () => {
      if (confirm(`Delete ${f.path}${f.folder ? " and everything in it" : ""}? It stays in the room's history.`)) {
        this.#guard(() => this.#room.files.remove(f.path));
      }
    });
    if (!this.#room.readOnly) li.append(rename, remove);
    return li;
  }

  /** A deleted entry: who deleted it, each version it had to download, and Restore. */
  #deletedRow(f: FileEntry, li: HTMLLIElement): HTMLLIElement {
    li.className = "deleted";
    li.style.paddingLeft = `${(f.path.split("/").length - 1) * 0.9}rem`;
    const name = document.createElement("span");
    name.className = "file-name";
    name.textContent = f.path.slice(f.path.lastIndexOf("/") + 1);
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `deleted by ${f.deletedBy?.name ?? "someone"}`;
    li.append(name, meta);
    for (const [i, v] of f.versions.entries()) {
      const link = document.createElement("a");
      link.href = this.#room.files.url(f.path, { hash: v.hash });
      link.download = name.textContent;
      link.textContent = `v${i + 1}`;
      link.title = `${size(v.size)}, ${new Date(v.at).toLocaleString()}`;
      li.append(link);
    }
    const restore = document.createElement("button");
    restore.type = "button";
    restore.className = "quiet small";
    restore.textContent = "Restore";
    restore.addEventListener("click", () => this.#guard(() => this.#room.files.restore(f.path)));
    if (!this.#room.readOnly) li.append(restore);
    return li;
  }

  /** Show a file: a text file opens in the editor; an image or PDF previews here. */
  show(path: string | null): void {
    this.#shown = path;
    const preview = this.#parts.preview;
    const f = path ? this.#room.files.get(path) : undefined;
    for (const li of this.#parts.list.querySelectorAll<HTMLLIElement>("li")) li.ariaCurrent = String(li.dataset.path === path);
    if (!f || f.folder || f.deletedAt !== undefined) {
      preview.hidden = true;
      preview.replaceChildren();
      return;
    }
    if (f.doc) {
      preview.hidden = true;
      preview.replaceChildren();
      this.#openDocument(f.doc);
      return;
    }
    const url = this.#room.files.url(f.path);
    const title = document.createElement("p");
    title.className = "meta";
    title.textContent = `${f.path} · ${size(f.size)} · ${f.author.name}`;
    const download = document.createElement("a");
    download.href = url;
    download.download = f.path.slice(f.path.lastIndexOf("/") + 1);
    download.textContent = "Download";
    download.className = "download";
    const parts: HTMLElement[] = [title];
    if (f.type.startsWith("image/") && f.type !== "image/svg+xml") {
      const img = document.createElement("img");
      img.src = url;
      img.alt = f.path;
      parts.push(img);
    } else if (f.type === "application/pdf") {
      const frame = document.createElement("iframe");
      frame.src = url;
      frame.title = `Preview of ${f.path}`;
      parts.push(frame);
    } else {
      const none = document.createElement("p");
      none.className = "hint";
      none.textContent = "No preview for this kind of file.";
      parts.push(none);
    }
    parts.push(download);
    preview.replaceChildren(...parts);
    preview.hidden = false;
  }
}
