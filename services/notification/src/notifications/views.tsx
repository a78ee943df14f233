/** @jsxImportSource @kitajs/html */
import { formatDate } from "@lab/shared";
import type { NotificationRow } from "./model";

type Page = { items: NotificationRow[]; limit: number; offset: number; has_more: boolean; unread_count: number };

/**
 * One notification. The mark-as-read form posts to the web page (works without JavaScript);
 * HTMX sends it in the background and swaps this item for the read one.
 */
export const NotificationItem = (notification: NotificationRow) => (
  <li
    id={`notification-${notification.id}`}
    class={`card flex flex-col gap-2 sm:flex-row sm:items-center sm:justify-between ${notification.read ? "opacity-75" : "border-indigo-300"}`}
    data-read={String(notification.read)}
  >
    <div class="flex flex-col gap-1">
      <p class={notification.read ? "text-slate-700" : "font-semibold text-slate-900"} safe>
        {notification.message}
      </p>
      <p class="text-xs text-slate-500" safe>
        {`${notification.read ? "Read" : "Unread"} · ${formatDate(notification.created_at)}`}
      </p>
    </div>
    {!notification.read && (
      <form
        method="post"
        action={`/notifications/${notification.id}/read`}
        hx-post={`/notifications/${notification.id}/read`}
        hx-target={`#notification-${notification.id}`}
        hx-swap="outerHTML"
      >
        <button type="submit" class="button-secondary whitespace-nowrap">
          Mark as read
        </button>
      </form>
    )}
  </li>
);

export const NotificationList = (page: Page) =>
  page.items.length === 0 ? (
    <p class="card text-slate-600" role="status">
      No notifications yet.
    </p>
  ) : (
    <ul class="flex flex-col gap-3" aria-label="Notifications" data-unread={String(page.unread_count)}>
      {page.items.map((notification) => NotificationItem(notification))}
    </ul>
  );
