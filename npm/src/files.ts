/**
 * The room's files: a shared tree of files and folders that people and agents both
 * work in. The tree is part of the room (read live from this replica, with the room's
 * `change` event); only the room writes it, so an upload shows to others once its bytes
 * are stored, never while it is on its way. A text file also opens as a shared
 * document (`entry.doc`): edit it with `room.docs` like any other.
 *
 * Writes (`write`, `move`, `remove`, `restore`, `mkdir`, `upload`) are refused while
 * someone else holds a `path:` lease over the path (`lock_held`); pass the `fence` of
 * your own lease to have it checked on write (`lock_not_held` once it lapsed). Limits
 * answer with `file_too_large` and `quota_exceeded`, bad names with `invalid_request`.
 *
 * @module
 */
import type { FileEntry, RequestOp, Requests } from "./requests.js";
import { ConfabError, type ConfabErrorCode } from "./errors.js";

export type { FileEntry };

/** How long a call waits for its own change to reach this replica. */
const SEEN_WITHIN_MS = 5_000;

type Request = <K extends RequestOp>(op: K, args: Requests[K]["args"]) => Promise<Requests[K]["result"]>;

/** What an upload takes: bytes, a `Blob`/`File`, or text (sent as UTF-8). */
export type UploadData = Blob | ArrayBuffer | Uint8Array | string;

/** How an upload goes. */
export interface UploadOptions {
  /** The media type; default the `Blob`'s, else read from the name by the room. */
  type?: string;
  /** The fencing token of your `path:` lease covering the path. */
  fence?: number;
  /** Called as bytes go out: `sent` of `total` (in a browser, as the upload progresses). */
  onProgress?: (sent: number, total: number) => void;
  /** Abort the upload (it then never appears, and rejects with `aborted`). */
  signal?: AbortSignal;
}

/** The room's file tree, and files' bytes over the edge's HTTP API. */
export class Files {
  readonly #entries: () => FileEntry[];
  readonly #request: Request;
  readonly #http: () => { base: string; query: URLSearchParams };
  readonly #onChange: (listener: () => void) => () => void;

  /** @internal */
  constructor(
    entries: () => FileEntry[],
    request: Request,
    http: () => { base: string; query: URLSearchParams },
    onChange: (listener: () => void) => () => void,
  ) {
    this.#entries = entries;
    this.#request = request;
    this.#http = http;
    this.#onChange = onChange;
  }

  /**
   * Resolve once this replica's tree shows what the room just did (`check`), so a call
   * that resolved is seen by `list()` and `get()`. The room has done it either way: after
   * a few seconds without the change arriving (offline), resolve all the same.
   */
  #seen(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        off();
        clearTimeout(timer);
        resolve();
      };
      const off = this.#onChange(() => {
        if (check()) done();
      });
      const timer = setTimeout(done, SEEN_WITHIN_MS);
    });
  }

  /**
   * The live entries (files and folders) by path; under `prefix` only when given. With
   * `deleted`, the deleted ones too (kept with their versions, and restorable).
   */
  list(options: { prefix?: string; deleted?: boolean } = {}): FileEntry[] {
    const prefix = options.prefix?.replace(/^\/+|\/+$/g, "") ?? "";
    return this.#entries().filter(
      (e) =>
        (options.deleted || e.deletedAt === undefined) &&
        (!prefix || e.path === prefix || e.path.startsWith(`${prefix}/`)),
    );
  }

  /** The entry at `path` (live or deleted), if there is one. */
  get(path: string): FileEntry | undefined {
    const p = path.replace(/^\/+|\/+$/g, "");
    return this.#entries().find((e) => e.path === p);
  }

  /** A text file's current text (from the room). */
  async read(path: string): Promise<string> {
    const { file, text } = await this.#request("file.get", { path });
    if (text === undefined) {
      throw new ConfabError(
        "invalid_request",
        `\`${file.path}\` is ${file.folder ? "a folder" : `${file.type} bytes, not text`}: download it with files.download()`,
      );
    }
    return text;
  }

  /** Write a text file (created with its folders when missing); resolves with its entry. */
  async write(path: string, text: string, options: { type?: string; fence?: number } = {}): Promise<FileEntry> {
    const { file } = await this.#request("file.write", { path, text, ...options });
    await this.#seen(() => this.get(file.path)?.updatedAt === file.updatedAt);
    return file;
  }

  /** Move or rename a file or folder (what is under a folder moves with it). */
  async move(from: string, to: string, options: { fence?: number } = {}): Promise<void> {
    const moved = await this.#request("file.move", { from, to, ...options });
    await this.#seen(() => this.#live(moved.to) && !this.#live(moved.from));
  }

  /** Delete a file or folder. It stays in history, and {@link Files.restore} brings it back. */
  async remove(path: string, options: { fence?: number } = {}): Promise<void> {
    const { deleted } = await this.#request("file.delete", { path, ...options });
    await this.#seen(() => !this.#live(deleted));
  }

  /** Bring back a deleted file or folder (with what was deleted along with it). */
  async restore(path: string, options: { fence?: number } = {}): Promise<void> {
    const { restored } = await this.#request("file.restore", { path, ...options });
    await this.#seen(() => this.#live(restored));
  }

  /** Create a folder, and the folders above it. */
  async mkdir(path: string): Promise<void> {
    const { folder } = await this.#request("folder.create", { path });
    await this.#seen(() => this.#live(folder.path));
  }

  #live(path: string): boolean {
    const e = this.get(path);
    return e !== undefined && e.deletedAt === undefined;
  }

  /**
   * The URL of a file's content (its version `hash` with one), with this room's
   * credentials: for an `<img>`, an `<iframe>` or a download link.
   */
  url(path: string, options: { hash?: string } = {}): string {
    const { base, query } = this.#http();
    query.set("path", path);
    if (options.hash) query.set("hash", options.hash);
    return `${base}/files/content?${query}`;
  }

  /** A file's content as bytes: the current one, or its version `hash`. */
  async download(path: string, options: { hash?: string } = {}): Promise<Uint8Array> {
    let res: Response;
    try {
      res = await fetch(this.url(path, options));
    } catch (err) {
      throw new ConfabError("connection_lost", `download of \`${path}\`: ${String(err)}`, { cause: err });
    }
    if (!res.ok) throw await edgeError(res, `download of \`${path}\``);
    return new Uint8Array(await res.arrayBuffer());
  }

  /**
   * Upload `data` as the file at `path` (a new version when one is there). Resolves
   * with its entry once the bytes are stored and the file is in the tree.
   */
  async upload(path: string, data: UploadData, options: UploadOptions = {}): Promise<FileEntry> {
    const { base, query } = this.#http();
    query.set("path", path);
    if (options.fence !== undefined) query.set("fence", String(options.fence));
    const url = `${base}/files/content?${query}`;
    const body = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const type = options.type ?? (typeof Blob !== "undefined" && body instanceof Blob ? body.type : "") ?? "";
    const total = body instanceof Blob ? body.size : body.byteLength;
    const Xhr = (globalThis as { XMLHttpRequest?: typeof XMLHttpRequest }).XMLHttpRequest;
    const answer = Xhr
      ? await sendWithProgress(Xhr, url, body, type, total, options)
      : await sendWithFetch(url, body, type, total, options);
    const { file } = answer as { file: FileEntry };
    await this.#seen(() => this.get(file.path)?.updatedAt === file.updatedAt);
    return file;
  }
}

async function sendWithFetch(
  url: string,
  body: Blob | ArrayBuffer | Uint8Array,
  type: string,
  total: number,
  options: UploadOptions,
): Promise<unknown> {
  options.onProgress?.(0, total);
  let res: Response;
  try {
    res = await fetch(url, {
      method: "PUT",
      headers: type ? { "Content-Type": type } : {},
      body: body as BodyInit,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if (options.signal?.aborted) throw new ConfabError("aborted", "the upload was aborted", { cause: err });
    throw new ConfabError("connection_lost", `upload: ${String(err)}`, { cause: err });
  }
  if (!res.ok) throw await edgeError(res, "upload");
  options.onProgress?.(total, total);
  return res.json();
}

function sendWithProgress(
  Xhr: typeof XMLHttpRequest,
  url: string,
  body: Blob | ArrayBuffer | Uint8Array,
  type: string,
  total: number,
  options: UploadOptions,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const xhr = new Xhr();
    xhr.open("PUT", url);
    if (type) xhr.setRequestHeader("Content-Type", type);
    xhr.upload.onprogress = (e) => options.onProgress?.(e.loaded, e.lengthComputable ? e.total : total);
    xhr.onerror = () => reject(new ConfabError("connection_lost", "upload: the connection failed"));
    xhr.onabort = () => reject(new ConfabError("aborted", "the upload was aborted"));
    xhr.onload = () => {
      let json: unknown;
      try {
        json = JSON.parse(xhr.responseText);
      } catch {
        reject(new ConfabError("internal", `upload: the edge answered ${xhr.status} without JSON`));
        return;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        options.onProgress?.(total, total);
        resolve(json);
      } else {
        const error = (json as { error?: { code?: string; message?: string } }).error;
        reject(new ConfabError((error?.code ?? "internal") as ConfabErrorCode, error?.message ?? `upload: ${xhr.status}`));
      }
    };
    options.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(body as XMLHttpRequestBodyInit);
  });
}

/** The edge's `{ error: { code, message } }` as a ConfabError. */
async function edgeError(res: Response, what: string): Promise<ConfabError> {
  const text = await res.text();
  try {
    const { error } = JSON.parse(text) as { error?: { code?: string; message?: string } };
    return new ConfabError((error?.code ?? "internal") as ConfabErrorCode, error?.message ?? `${what}: ${res.status}`);
  } catch {
    return new ConfabError("internal", `${what}: the edge answered ${res.status}: ${text.slice(0, 200)}`);
  }
}
