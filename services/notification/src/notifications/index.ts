import { authGuard, htmlFragments, PageQuery, type ServiceContext } from "@lab/shared";
import { Elysia } from "elysia";
import { CreateNotificationBody, Notification, NotificationIdParams, NotificationPage } from "./model";
import { NotificationService } from "./service";
import { NotificationItem, NotificationList } from "./views";

export const notificationsController = ({ db, config }: ServiceContext) => {
  const notifications = new NotificationService(db);
  return new Elysia({
    name: "notification.notifications",
    prefix: "/notifications",
    detail: { tags: ["notifications"] },
  })
    .use(authGuard(config.JWT_SECRET))
    .use(htmlFragments)
    .post(
      "",
      async ({ body, user, set }) => {
        set.status = 201;
        return notifications.create(body, user);
      },
      {
        auth: true,
        body: CreateNotificationBody,
        response: { 201: Notification },
        detail: { description: "A notification for the caller, also logged to stdout as one JSON line" },
      },
    )
    .get("/me", ({ query, user }) => notifications.mine(user, query), {
      auth: true,
      query: PageQuery,
      response: { 200: NotificationPage },
      fragment: NotificationList,
    })
    .patch("/:id/read", ({ params, user }) => notifications.markRead(params.id, user), {
      auth: true,
      params: NotificationIdParams,
      response: { 200: Notification },
      fragment: NotificationItem,
      detail: { description: "Owner only (404 for anyone else); marking a read notification again changes nothing" },
    });
};
