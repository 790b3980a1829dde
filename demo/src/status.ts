// Your own status ("away, back in 10 min"), set by hand, and following a teammate: the
// document they are in comes to the front, scrolled to their cursor, until you stop.
import type { PresenceInfo, Room } from "confab-rooms";

/** What following needs of the editors. */
export interface Followable {
  follow(document: string, head: number): void;
}

export class StatusAndFollow {
  #following: string | null = null;
  readonly #banner: HTMLElement;
  readonly #bannerText: HTMLElement;

  constructor(
    private readonly room: Room,
    private readonly editors: Followable,
  ) {
    const select = document.getElementById("my-status") as HTMLSelectElement;
    const note = document.getElementById("my-note") as HTMLInputElement;
    const apply = () => {
      const status = select.value === "auto" ? null : (select.value as PresenceInfo["status"]);
      room.presence.setStatus(status, note.value);
    };
    select.addEventListener("change", apply);
    note.addEventListener("change", apply);
    this.#banner = document.getElementById("following")!;
    this.#bannerText = document.getElementById("following-text")!;
    document.getElementById("stop-following")!.addEventListener("click", () => this.follow(null));
  }

  /** Whose view this page follows. */
  get following(): string | null {
    return this.#following;
  }

  /** Follow `user` (their id), or stop with `null`. */
  follow(user: string | null): void {
    this.#following = user;
    this.room.presence.follow(user);
    this.update();
  }

  /** Keep up with the followed person (call when presence changes). */
  update(): void {
    const them = this.#following ? this.room.presence.list().find((p) => p.user.id === this.#following && !p.isSelf) : undefined;
    if (this.#following && !them) {
      // They left: stop, and say so.
      this.#bannerText.textContent = "The person you followed left the room.";
      this.#following = null;
      this.room.presence.follow(null);
      return;
    }
    this.#banner.hidden = !them;
    if (!them) return;
    this.#bannerText.textContent = `Following ${them.user.name}${them.activity ? ` (${them.activity})` : ""}`;
    if (them.cursor) this.editors.follow(them.cursor.document, them.cursor.head);
  }
}
