/** @jsxImportSource @kitajs/html */
import type { AuthUser, Role } from "@lab/shared";
import { Alert, webLinks } from "@lab/shared/ui";
import { Elysia } from "elysia";
import type { NotificationApp } from "../../services/notification/src/app";
import type { WebContext } from "./context";
import { fullPage, isFragmentRequest, PAGE_HEADERS, seeOther } from "./http";
import { Layout } from "./layout";
import { sessionToken, sessionUser } from "./session";

/** `description`: the page's meta description, meaningful for this page (Lighthouse's SEO audit wants one). */
export type PageOptions = { title: string; description: string; body: JSX.Element; status?: number };

/** Unread notifications for the header badge; a page still renders when the notification service is down. */
export async function unreadCount(context: WebContext, token: string | null) {
  if (!token) return null;
  const answer = await context.services
    .api<NotificationApp>("notification", { token })
    .notifications.me.get({ query: { limit: 1, offset: 0 } });
  return answer.error ? null : answer.data.unread_count;
}

/** A whole page: the layout around `body`, for the signed-in user (or nobody). */
export async function renderPage(context: WebContext, request: Request, user: AuthUser | null, options: PageOptions) {
  const unread = user ? await unreadCount(context, sessionToken(request)) : null;
  const path = new URL(request.url).pathname;
  const body = await options.body;
  const page = await (
    <Layout
      title={options.title}
      description={options.description}
      user={user}
      assets={context.assets}
      unread={unread}
      path={path}
    >
      {body}
    </Layout>
  );
  return fullPage(page, options.status);
}

/** A readable error: the alert alone for HTMX, the whole page otherwise. */
export async function errorPage(
  context: WebContext,
  request: Request,
  user: AuthUser | null,
  status: number,
  message: string,
) {
  const alert = <Alert text={message} />;
  if (isFragmentRequest(request)) {
    return new Response(await alert, { status, headers: PAGE_HEADERS });
  }
  const title = status === 404 ? "Not found" : status === 403 ? "Not allowed" : "Something went wrong";
  return renderPage(context, request, user, {
    title,
    description: `${message} Coursework Lab: browse the course catalog or sign in.`,
    status,
    body: (
      <section class="flex flex-col gap-4">
        <h1 class="text-2xl font-bold" safe>
          {title}
        </h1>
        {alert}
        <p>
          <a href={webLinks.catalog()}>Back to the catalog</a>
        </p>
      </section>
    ),
  });
}

/**
 * What a page controller uses: `user` (the signed-in user or null), `page(...)` to answer with the
 * layout, and the `signedIn` option (`true` or the roles allowed) which sends a visitor to the
 * login page and refuses other roles, handing the handler a non-null `me`.
 */
export const pages = (context: WebContext) =>
  new Elysia({ name: "web.pages", seed: context })
    .derive({ as: "scoped" }, async ({ request }) => {
      const user = await sessionUser(request, context.config.JWT_SECRET);
      return {
        user,
        page: (options: PageOptions) => renderPage(context, request, user, options),
      };
    })
    .macro({
      signedIn: (rule: true | readonly Role[]) => ({
        resolve: ({ user }) => ({ me: user as AuthUser }),
        async beforeHandle({ user, request }) {
          if (!user) {
            const url = new URL(request.url);
            const back = request.method === "GET" ? url.pathname + url.search : webLinks.catalog();
            return seeOther(request, webLinks.login(back));
          }
          if (rule !== true && !rule.includes(user.role)) {
            return errorPage(context, request, user, 403, `This page is for ${rule.join(" or ")} accounts.`);
          }
        },
      }),
    });
