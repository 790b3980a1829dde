import type { ParticipantInfo, ViewPatch, ViewState } from "../wasm/confab_wasm.js";
import type { Handle } from "./handle.js";

/** Views: what you look at (tabs, layout), and one shared view with a teammate. */
export class Views {
  readonly #h: Handle;

  /** @internal */
  constructor(handle: Handle) {
    this.#h = handle;
  }

  /** Your view and whom you are synced with. */
  get(): ViewState {
    return this.#h.call((w) => w.view());
  }

  /** Change your view — the shared one while synced with a teammate. */
  set(patch: ViewPatch): void {
    this.#h.call((w) => w.setView(patch));
  }

  /** Online teammates you can sync with (other people present). */
  partners(): ParticipantInfo[] {
    return this.#h.call((w) => w.syncPartners());
  }

  /** Follow one shared view with `partnerId`, starting from yours. Returns the sync id. */
  startSync(partnerId: string): string {
    return this.#h.call((w) => w.startSync(partnerId));
  }

  /** Stop syncing: you and your partner each keep a copy of the shared view. */
  stopSync(): void {
    this.#h.call((w) => w.stopSync());
  }
}
