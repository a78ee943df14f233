import {
  authGuard,
  errorResponses,
  htmlFragments,
  PageQuery,
  type ServiceContext,
  withPageDefaults,
} from "@lab/shared";
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
        response: { 201: Notification, ...errorResponses({ 400: true, 422: true }) },
        detail: { description: "A notification for the caller, also logged to stdout as one JSON line" },
      },
    )
    .get("/me", ({ query, user }) => notifications.mine(user, withPageDefaults(query)), {
      auth: true,
      query: PageQuery,
      response: { 200: NotificationPage, ...errorResponses({ 422: true }) },
      fragment: NotificationList,
    })
    .patch("/:id/read", ({ params, user }) => notifications.markRead(params.id, user), {
      auth: true,
      params: NotificationIdParams,
      response: {
        200: Notification,
        ...errorResponses({
          404: "No notification of the caller's has this id (anyone else's is a 404 too)",
          422: true,
        }),
      },
      fragment: NotificationItem,
      detail: { description: "Marking a read notification again changes nothing" },
    });
};
