/** @jsxImportSource @kitajs/html */
import { ActionButton, CardList, EmptyState, formatDate, Line, Lines, Meta, RowCard, webLinks } from "@lab/shared/ui";
import type { NotificationRow } from "./model";

type Page = { items: NotificationRow[]; limit: number; offset: number; has_more: boolean; unread_count: number };

/**
 * One notification. The mark-as-read button posts to the web page (works without JavaScript);
 * HTMX sends it in the background and swaps this item for the read one.
 */
export const NotificationItem = (notification: NotificationRow) => {
  const id = `notification-${notification.id}`;
  return (
    <RowCard id={id} state={notification.read ? "quiet" : "highlight"} data={{ read: String(notification.read) }}>
      <Lines>
        <Line text={notification.message} strong={!notification.read} />
        <Meta text={`${notification.read ? "Read" : "Unread"} · ${formatDate(notification.created_at)}`} />
      </Lines>
      {!notification.read && (
        <ActionButton to={webLinks.readNotification(notification.id)} label="Mark as read" replaces={id} />
      )}
    </RowCard>
  );
};

export const NotificationList = (page: Page) =>
  page.items.length === 0 ? (
    <EmptyState text="No notifications yet." />
  ) : (
    <CardList label="Notifications" data={{ unread: String(page.unread_count) }}>
      {page.items.map((notification) => NotificationItem(notification))}
    </CardList>
  );
