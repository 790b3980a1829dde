import type { ParticipantInfo, PeerInfo, PresenceInfo } from "../wasm/confab_wasm.js";
import type { Handle } from "./handle.js";

/** Who is here and what they are doing: status, activity, typing, cursor, following. */
export class Presence {
  readonly #h: Handle;

  /** @internal */
  constructor(handle: Handle) {
    this.#h = handle;
  }

  /** Everyone's structured presence, this client included (`isSelf`). */
  list(): PresenceInfo[] {
    return this.#h.call((w) => w.presence());
  }

  /** Everyone present, this client included, with their raw presence state. */
  peers(): PeerInfo[] {
    return this.#h.call((w) => w.peers());
  }

  /** Everyone present other than you, people and agents, once each. */
  participants(): ParticipantInfo[] {
    return this.#h.call((w) => w.participants());
  }

  /** Set this client's raw presence state (Confab adds `user`). */
  set(state: Record<string, unknown>): void {
    this.#h.call((w) => w.setPresence(state));
  }

  /** Report input (key, click) so you show as active; edits report it by themselves. */
  noteInput(): void {
    this.#h.call((w) => w.noteInput());
  }

  /**
   * Set your status by hand, e.g. `setStatus("away", "back in 10 min")`: it holds until
   * `setStatus(null)`, when your status follows your input again (active, then idle
   * after a minute, away after five). Others see it in `list()` (`status`, `note`), and
   * your team space's directory shows it.
   */
  setStatus(status: PresenceInfo["status"] | null, note?: string): void {
    this.#h.call((w) => w.setManualStatus(status ?? undefined, note));
  }

  /** Say what you (or your agent) are doing, e.g. "running tool grep"; null clears it. */
  setActivity(activity: string | null): void {
    this.#h.call((w) => w.setActivity(activity ?? undefined));
  }

  /** Say which conversation you are typing in; null when you stop. */
  setTyping(conversation: string | null): void {
    this.#h.call((w) => w.setTyping(conversation ?? undefined));
  }

  /** Who else is typing in a conversation. */
  typingIn(conversation: string): ParticipantInfo[] {
    return this.#h.call((w) => w.typingIn(conversation));
  }

  /** Publish your cursor or selection in a document (string indices). */
  setCursor(document: string, anchor: number, head: number = anchor): void {
    this.#h.call((w) => w.setCursor(document, anchor, head));
  }

  /** Remove your cursor. */
  clearCursor(): void {
    this.#h.call((w) => w.clearCursor());
  }

  /** Follow another user's view (their id); null to stop. */
  follow(userId: string | null): void {
    this.#h.call((w) => w.follow(userId ?? undefined));
  }
}
