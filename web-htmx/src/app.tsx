/** @jsxImportSource @kitajs/html */
import { activeFlags, HttpError, isUndescribableBody, log, Metrics, metricsPlugin } from "@lab/shared";
import { Elysia } from "elysia";
import { accountController } from "./account";
import { assetsController } from "./assets";
import { catalogController } from "./catalog";
import type { WebContext } from "./context";
import { coursesController } from "./courses";
import { enrollmentsController } from "./enrollments";
import { labController } from "./lab";
import { notificationsController } from "./notifications";
import { errorPage } from "./pages";
import { proxyController } from "./proxy";
import { isCrossSite, SECURITY_HEADERS } from "./security";
import { sessionUser } from "./session";

/**
 * The web app's frame: security headers and the CSRF check on every request, one error mapping
 * (a readable page, or the alert alone for HTMX), assets, health checks and the API proxy.
 */
export const webFrame = (context: WebContext) =>
  new Elysia({ name: "web.frame" })
    // first: its error hook, which only notes the route, runs before the one below that answers
    .use(metricsPlugin(new Metrics("web", activeFlags(context.config))))
    .onRequest(({ request, set }) => {
      Object.assign(set.headers, SECURITY_HEADERS);
      if (isCrossSite(request)) {
        return new Response("Cross-site request refused", {
          status: 403,
          headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" },
        });
      }
    })
    .onError({ as: "global" }, async ({ code, error, request, body }) => {
      const user = await sessionUser(request, context.config.JWT_SECRET);
      if (error instanceof HttpError) {
        const response = await errorPage(context, request, user, error.status, error.message);
        for (const [name, value] of Object.entries(error.headers)) response.headers.set(name, value);
        return response;
      }
      if (code === "NOT_FOUND") return errorPage(context, request, user, 404, "There is no page at this address.");
      if (code === "VALIDATION" || code === "PARSE" || isUndescribableBody(error, body)) {
        return errorPage(context, request, user, 400, "The form sent something this page does not understand.");
      }
      log("error", "unhandled error", {
        method: request.method,
        path: new URL(request.url).pathname,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      return errorPage(context, request, user, 500, "Something went wrong on our side. Please try again.");
    })
    .get("/healthz", () => ({ status: "ok", service: "web", pid: process.pid }))
    .get("/readyz", () => ({ status: "ready", service: "web" }))
    .use(assetsController(context.assets))
    .use(proxyController(context));

/**
 * The whole web app. Each page feature is one controller built from the same context; more pages
 * (e.g. the Lab page) mount the same way: `.use(labController(context))`, using `pages(context)`
 * for the signed-in user and `page({ title, body })`, and `Layout` for the shell.
 */
export const webApp = (context: WebContext) =>
  new Elysia()
    .use(webFrame(context))
    .use(accountController(context))
    .use(catalogController(context))
    .use(coursesController(context))
    .use(enrollmentsController(context))
    .use(notificationsController(context))
    .use(labController(context));
