/** @jsxImportSource @kitajs/html */
import { dataOf, HttpError } from "@lab/shared";
import { WEB_ROUTES, webLinks } from "@lab/shared/ui";
import { Elysia, t } from "elysia";
import type { NotificationApp } from "../../../services/notification/src/app";
import type { WebContext } from "../context";
import { html, isFragmentRequest, seeOther } from "../http";
import { UnreadBadge } from "../layout";
import { pages, unreadCount } from "../pages";
import { sessionToken } from "../session";

const notificationId = (raw: string) => (/^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : null);

export const notificationsController = (context: WebContext) =>
  new Elysia({ name: "web.notifications" })
    .use(pages(context))
    .get(
      WEB_ROUTES.notifications,
      async ({ page, request }) => {
        const list = await context.services.fragment("notification", "/notifications/me", {
          token: sessionToken(request),
        });
        return page({
          title: "Notifications",
          description: "Your Coursework Lab notifications: enrollments, payments and course news, read and unread.",
          status: list.status,
          body: (
            <>
              <h1 class="text-2xl font-bold tracking-tight">Notifications</h1>
              <section aria-label="Notifications">{list.html}</section>
            </>
          ),
        });
      },
      { signedIn: true },
    )
    .post(
      WEB_ROUTES.readNotification,
      async ({ params, request }) => {
        const id = notificationId(params.id);
        if (id === null) throw new HttpError(404, "not_found", "There is no such notification.");
        const token = sessionToken(request);
        const fragment = isFragmentRequest(request);
        if (!fragment) {
          dataOf(
            "notification",
            await context.services.api<NotificationApp>("notification", { token }).notifications({ id }).read.patch(),
          );
          return seeOther(request, webLinks.notifications());
        }
        // the notification service's item fragment (or its error fragment), and the header badge updated
        const item = await context.services.fragment("notification", `/notifications/${id}/read`, { token }, "PATCH");
        const unread = await unreadCount(context, token);
        const badge = unread === null ? "" : await (<UnreadBadge count={unread} oob />);
        return html(item.html + badge, item.status);
      },
      { signedIn: true, params: t.Object({ id: t.String() }) },
    );
