import { PageOf } from "@lab/shared";
import { t } from "elysia";

export const CreateNotificationBody = t.Object({
  type: t.String({
    pattern: "^[a-z][a-z0-9_.-]{0,49}$",
    description: "What happened, e.g. enrollment.created (lower case, up to 50 characters)",
  }),
  message: t.String({ minLength: 1, maxLength: 2000 }),
});

export const Notification = t.Object({
  id: t.Integer(),
  user_id: t.Integer(),
  type: t.String(),
  message: t.String(),
  read: t.Boolean(),
  read_at: t.Nullable(t.Date()),
  created_at: t.Date(),
});

export const NotificationPage = t.Composite([
  PageOf(Notification),
  t.Object({ unread_count: t.Integer({ description: "Unread notifications of the caller, on every page" }) }),
]);

export const NotificationIdParams = t.Object({ id: t.Integer({ minimum: 1, maximum: 2_147_483_647 }) });

export type CreateNotificationInput = typeof CreateNotificationBody.static;
export type NotificationRow = typeof Notification.static;
