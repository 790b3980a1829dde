/**
 * A person's notification inbox, across rooms and spaces: @mentions and whatever your
 * backend sends (invitations, insights, conflicts that need them, handoffs, reviews,
 * locks that came free). Kept at the edge while they are offline, live while online.
 *
 * ```ts
 * import { Inbox } from "confab-rooms";
 * const inbox = await Inbox.open({ url: "http://127.0.0.1:8787", user: "ada" });
 * inbox.on("notification", (n) => n.urgency === "urgent" && alert(n.title));
 * console.log(inbox.unread, inbox.notifications[0]?.title);
 * ```
 *
 * @module
 */
import { callEdge, LiveView, type FeedEvents, type LiveOptions } from "./live.js";

/** What a notification is about. */
export type NotificationKind = "invitation" | "mention" | "insight" | "conflict" | "handoff" | "review" | "lock.free";

/** How soon it needs the person (`urgent` ones are worth a toast). */
export type Urgency = "low" | "normal" | "urgent";

/** One notification. */
export interface Notification {
  /** `n<number>`. */
  id: string;
  kind: NotificationKind;
  urgency: Urgency;
  title: string;
  body?: string;
  /** Where it opens: the space, the room, and `message:<id>` or `doc:<id>` in it. */
  space?: string;
  room?: string;
  target?: string;
  /** Who it is from. */
  from?: { id: string; name: string; kind: string };
  /** ms since the epoch. */
  at: number;
  read: boolean;
}

/** A notification to send (with the server key: see {@link Inbox.deliver}). */
export interface NotificationDraft {
  kind: NotificationKind;
  title: string;
  urgency?: Urgency;
  body?: string;
  space?: string;
  room?: string;
  target?: string;
}

/** How to open an inbox. */
export interface InboxOptions extends LiveOptions {
  /** Whose (with a token, it must be one of that person's room tokens). */
  user: string;
}

interface InboxEvents extends FeedEvents {
  /** The list changed (newest first). */
  change: Notification[];
  /** One arrived. */
  notification: Notification;
}

/** A live view of one person's inbox. */
export class Inbox extends LiveView<InboxEvents> {
  /** The newest notifications (up to 100), newest first. */
  notifications: Notification[] = [];
  /** How many are unread. */
  unread = 0;
  readonly user: string;

  private constructor(private readonly options: InboxOptions) {
    super(options, `/users/${encodeURIComponent(options.user)}/inbox`);
    this.user = options.user;
  }

  protected receive(message: Record<string, unknown>): boolean {
    if (message.type !== "inbox") return false;
    this.notifications = message.notifications as Notification[];
    this.unread = message.unread as number;
    this.listeners.emit("change", this.notifications);
    if (message.added) this.listeners.emit("notification", message.added as Notification);
    return true;
  }

  /** Open `user`'s inbox and wait for it (at most `timeoutMs`, 10 s by default). */
  static async open(options: InboxOptions & { timeoutMs?: number }): Promise<Inbox> {
    const inbox = new Inbox(options);
    await inbox.opened(`${options.user}'s inbox`, options.timeoutMs);
    return inbox;
  }

  #path(rest: string): string {
    return `/users/${encodeURIComponent(this.user)}/inbox${rest}`;
  }

  /** Mark these read. */
  markRead(ids: string[]): Promise<{ changed: number; unread: number }> {
    return callEdge(this.options, "POST", this.#path("/read"), { ids });
  }

  /** Mark every one read. */
  markAllRead(): Promise<{ changed: number; unread: number }> {
    return callEdge(this.options, "POST", this.#path("/read"), { all: true });
  }

  /**
   * Send `user` a notification. Your backend does this with the server key (as
   * `token`); in development mode anyone may.
   */
  static deliver(options: InboxOptions, draft: NotificationDraft): Promise<Notification> {
    return callEdge(options, "POST", `/users/${encodeURIComponent(options.user)}/inbox`, draft);
  }

}
