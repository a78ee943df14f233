import {
  type ErrorBody,
  HttpError,
  MAX_BODY_BYTES,
  payloadTooLarge,
  renderError,
  SERVICE_NAMES,
  type ServiceName,
} from "@lab/shared";
import { Elysia } from "elysia";
import { forBrowser, type WebContext } from "./context";
import { type ForwardedBody, forwardedBody } from "./proxy-body";
import { sessionToken } from "./session";

/** Request headers a service may need from the browser; everything else (cookies first) stays here. */
const FORWARDED_REQUEST = [
  "accept",
  "content-type",
  "idempotency-key",
  "x-request-id",
  "hx-request",
  "hx-target",
  "hx-source",
  "hx-current-url",
  "hx-request-type",
  "hx-history-restore-request",
];
const FORWARDED_RESPONSE = ["content-type", "retry-after", "x-request-id", "vary", "location", "idempotent-replayed"];

/**
 * The first path segment of each service's API routes: only these pass, so /metrics, /swagger and
 * the health checks stay inside the platform (web.test.ts checks this against each OpenAPI document).
 */
const API_ROOTS: Record<ServiceName, readonly string[]> = {
  identity: ["register", "login", "me", "users"],
  course: ["courses"],
  enrollment: ["enrollments"],
  payment: ["payments"],
  notification: ["notifications"],
};

function errorAnswer(request: Request, status: number, body: ErrorBody, headers: Record<string, string> = {}) {
  const rendered = renderError(request, body);
  return new Response(rendered.text, {
    status,
    headers: { ...headers, "content-type": rendered.contentType, "cache-control": "no-store" },
  });
}

/**
 * `/api/<service>/<path>` → the service's `/<path>`, with the login cookie turned into
 * `Authorization: Bearer`, so the browser never holds the token, and the browser's address in
 * X-Forwarded-For (`forBrowser`), so a login through here is counted against that browser. Answers (JSON, or the HTML fragment
 * HTMX asked for) pass through unchanged; a service that is down is a readable 503. Request bodies
 * stream through within the services' size limit (`forwardedBody`).
 */
export const proxyController = ({ config, services }: WebContext) =>
  new Elysia({ name: "web.proxy" }).all(
    "/api/:service/*",
    async ({ params, request, server }) => {
      const service = params.service as ServiceName;
      if (!SERVICE_NAMES.includes(service)) {
        return errorAnswer(request, 404, { error: "not_found", message: `There is no ${params.service} service` });
      }
      // the route's own rest, as sent (params.service is decoded: %69dentity is identity), resolved
      // as the service's URL will resolve it, so the segment checked is the one the service routes on
      const pathname = new URL(`/${params["*"]}`, "http://service").pathname;
      if (!API_ROOTS[service].includes(pathname.split("/")[1] as string)) {
        return errorAnswer(request, 404, {
          error: "not_found",
          message: `The ${service} service has no API at ${pathname}`,
        });
      }
      const url = new URL(request.url);
      const headers = new Headers();
      for (const name of FORWARDED_REQUEST) {
        const value = request.headers.get(name);
        if (value) headers.set(name, value);
      }
      const token = sessionToken(request);
      const authorization = request.headers.get("authorization") ?? (token ? `Bearer ${token}` : null);
      if (authorization) headers.set("authorization", authorization);
      const hasBody = request.method !== "GET" && request.method !== "HEAD";
      const path = `${pathname}${url.search}`;
      const init: RequestInit = { method: request.method, headers, redirect: "manual" };
      let body: ForwardedBody | null = null;
      let upstream: Response;
      try {
        if (hasBody) {
          body = await forwardedBody(request);
          if (body.body) {
            init.body = body.body;
            headers.set("content-length", String(body.length));
          }
        }
        upstream = await services.send(service, path, init, forBrowser(config, request, server));
      } catch (caught) {
        // a body cut on its way makes the call fail like a service that is down: it is the body's fault
        const error = body?.wasCut() ? payloadTooLarge(MAX_BODY_BYTES) : caught;
        if (!(error instanceof HttpError)) throw error;
        return errorAnswer(request, error.status, { error: error.code, message: error.message }, error.headers);
      }
      const answer = new Headers({ "cache-control": "no-store" });
      for (const name of FORWARDED_RESPONSE) {
        const value = upstream.headers.get(name);
        if (value) answer.set(name, value);
      }
      for (const [name, value] of upstream.headers) {
        if (name.startsWith("hx-")) answer.set(name, value);
      }
      return new Response(await upstream.arrayBuffer(), { status: upstream.status, headers: answer });
    },
    { parse: "none", detail: { hide: true } },
  );
