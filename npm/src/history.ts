import type { BlameSpan, DiffSpan, ParticipantInfo, VersionInfo } from "../wasm/confab_wasm.js";
import type { Handle } from "./handle.js";

/** History: named versions, what changed between them, restore, and who wrote what. */
export class History {
  readonly #h: Handle;

  /** @internal */
  constructor(handle: Handle) {
    this.#h = handle;
  }

  /** Every named version, oldest first. */
  versions(): VersionInfo[] {
    return this.#h.call((w) => w.versions());
  }

  /** Name the room's current state as a version (a checkpoint); returns its id. */
  createVersion(name: string): string {
    return this.#h.call((w) => w.createVersion(name));
  }

  /** A document's text as it was at a version. */
  textAt(version: string, document: string): string {
    return this.#h.call((w) => w.documentAt(version, document));
  }

  /** How a document changed between two versions (from the beginning / until now when omitted). */
  diff(document: string, from?: string, to?: string): DiffSpan[] {
    return this.#h.call((w) => w.diffVersions(document, from, to));
  }

  /** Bring every document back to a version, as a new change attributed to you; returns the documents that changed. */
  restore(version: string): string[] {
    return this.#h.call((w) => w.restoreVersion(version));
  }

  /** Who wrote each stretch of a document's current text (the whole text by default). */
  blame(document: string, start?: number, end?: number): BlameSpan[] {
    return this.#h.call((w) => w.blame(document, start, end));
  }

  /** Who a CRDT client id acts for. */
  participantForClient(clientId: number): ParticipantInfo | null {
    return this.#h.call((w) => w.participantForClient(clientId));
  }
}
