import { type AuthUser, type Db, log, notFound, type PageInput, pageOf, unprocessable } from "@lab/shared";
import type { CreateNotificationInput, NotificationRow } from "./model";

export class NotificationService {
  constructor(private readonly db: Db) {}

  async create(input: CreateNotificationInput, user: AuthUser): Promise<NotificationRow> {
    const message = input.message.trim();
    if (!message) throw unprocessable("message", "must not be blank");
    const [created] = await this.db.query<NotificationRow>`
      INSERT INTO notifications (user_id, type, message) VALUES (${user.id}, ${input.type}, ${message})
      RETURNING id, user_id, type, message, read_at IS NOT NULL AS read, read_at, created_at`;
    const notification = created as NotificationRow;
    // the roadmap's delivery channel: one JSON line on stdout per notification
    log("info", "notification created", {
      notification_id: notification.id,
      user_id: notification.user_id,
      type: notification.type,
      message: notification.message,
    });
    return notification;
  }

  /** Unread first, then newest first; unread_count is the caller's total, whatever the page. */
  async mine(user: AuthUser, page: PageInput) {
    return this.db.run(async (sql) => {
      const rows: NotificationRow[] = await sql`
        SELECT id, user_id, type, message, read_at IS NOT NULL AS read, read_at, created_at
        FROM notifications WHERE user_id = ${user.id}
        ORDER BY (read_at IS NOT NULL), created_at DESC, id DESC
        LIMIT ${page.limit + 1} OFFSET ${page.offset}`;
      const [unread] = await sql`
        SELECT count(*)::int AS n FROM notifications WHERE user_id = ${user.id} AND read_at IS NULL`;
      return { ...pageOf(rows, page), unread_count: (unread as { n: number }).n };
    });
  }

  /** Idempotent: reading a read notification again keeps the time it was first read. */
  async markRead(id: number, user: AuthUser): Promise<NotificationRow> {
    const [notification] = await this.db.query<NotificationRow>`
      UPDATE notifications SET read_at = COALESCE(read_at, now())
      WHERE id = ${id} AND user_id = ${user.id}
      RETURNING id, user_id, type, message, true AS read, read_at, created_at`;
    // someone else's notification is "not found" too, so ids cannot be probed
    if (!notification) throw notFound("Notification");
    return notification;
  }
}
