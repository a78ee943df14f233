import { type ServiceContext, servicePlugin } from "@lab/shared";
import { Elysia } from "elysia";
import { notificationsController } from "./notifications";

export const notificationApp = (context: ServiceContext) =>
  new Elysia().use(servicePlugin(context)).use(notificationsController(context));

/** The app's type, for typed calls from other parts of the platform (ServiceClient.api). */
export type NotificationApp = ReturnType<typeof notificationApp>;
