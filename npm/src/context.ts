import type { ContextDraft, ContextEntry, ContextEvent, HandoffSummary } from "../wasm/confab_wasm.js";
import type { Handle } from "./handle.js";

/** The AI context: shared entries, your private ones, announcements, questions, handoffs. */
export class Context {
  readonly #h: Handle;
  /** Told when the private context changed (to keep it on the device). */
  readonly #privateChanged: () => void;

  /** @internal */
  constructor(handle: Handle, privateChanged: () => void = () => {}) {
    this.#h = handle;
    this.#privateChanged = privateChanged;
  }

  /** The room's shared context (staleness worked out now). */
  shared(): ContextEntry[] {
    return this.#h.call((w) => w.sharedContext());
  }

  /** Propose an entry to the shared context; it lands `proposed`. Returns its id. */
  propose(draft: ContextDraft): string {
    return this.#h.call((w) => w.proposeContext(draft));
  }

  /** Accept or re-confirm a shared entry (context owner only). */
  accept(id: string): void {
    this.#h.call((w) => w.acceptContext(id));
  }

  /** Retire a shared entry (context owner only). */
  retire(id: string): void {
    this.#h.call((w) => w.retireContext(id));
  }

  /** Change a shared entry's text (concurrent edits are kept as a conflict). */
  edit(id: string, text: string): void {
    this.#h.call((w) => w.editContext(id, text));
  }

  /** The context owner's user id, if named. */
  owner(): string | undefined {
    return this.#h.call((w) => w.contextOwner());
  }

  /** Hand the context-owner role to another user. */
  setOwner(userId: string): void {
    this.#h.call((w) => w.setContextOwner(userId));
  }

  /** Your private context: it stays in this client, never in the room. */
  private(): ContextEntry[] {
    return this.#h.call((w) => w.privateContext());
  }

  /** Add to your private context; returns its id. */
  addPrivate(draft: ContextDraft): string {
    const id = this.#h.call((w) => w.addPrivateContext(draft));
    this.#privateChanged();
    return id;
  }

  /** Drop a private entry. */
  removePrivate(id: string): void {
    this.#h.call((w) => w.removePrivateContext(id));
    this.#privateChanged();
  }

  /** Share a private entry with the room (attributed, `proposed`). Returns its shared id. */
  sharePrivate(id: string): string {
    const shared = this.#h.call((w) => w.sharePrivateContext(id));
    this.#privateChanged();
    return shared;
  }

  /** Shared and private entries relevant to these tags and refs, best first. */
  relevant(tags: string[], refs: string[] = []): ContextEntry[] {
    return this.#h.call((w) => w.relevantContext(tags, refs));
  }

  /** Make an announcement; returns its id. */
  announce(text: string): string {
    return this.#h.call((w) => w.announce(text));
  }

  /** Ask the team a question; returns its id. */
  ask(text: string): string {
    return this.#h.call((w) => w.ask(text));
  }

  /** Raise an insight (a finding, a risk) that reaches the people in the room as a notice; returns its id. */
  raiseInsight(text: string): string {
    return this.#h.call((w) => w.raiseInsight(text));
  }

  /** Answer a question. */
  answer(id: string, answer: string): void {
    this.#h.call((w) => w.answerQuestion(id, answer));
  }

  /** Hand work to someone (their user id); returns the event's id. */
  handoff(toUserId: string, text: string): string {
    return this.#h.call((w) => w.handoff(toUserId, text));
  }

  /** Announcements, questions, handoffs and insights, oldest first. */
  events(): ContextEvent[] {
    return this.#h.call((w) => w.contextEvents());
  }

  /** Decisions, open questions, work in progress and who holds it, handoffs. */
  handoffSummary(): HandoffSummary {
    return this.#h.call((w) => w.handoffSummary());
  }

  /** The handoff summary as Markdown. */
  handoffMarkdown(): string {
    return this.#h.call((w) => w.handoffMarkdown());
  }
}
