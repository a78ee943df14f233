import { type ErrorBody, renderError, SERVICE_NAMES, type ServiceName } from "@lab/shared";
import { Elysia } from "elysia";
import type { WebContext } from "./context";
import { serviceLabel } from "./services";
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

function errorAnswer(request: Request, status: number, body: ErrorBody) {
  const rendered = renderError(request, body);
  return new Response(rendered.text, {
    status,
    headers: { "content-type": rendered.contentType, "cache-control": "no-store" },
  });
}

/**
 * `/api/<service>/<path>` → the service's `/<path>`, with the login cookie turned into
 * `Authorization: Bearer`, so the browser never holds the token. Answers (JSON, or the HTML fragment
 * HTMX asked for) pass through unchanged; a service that is down is a readable 503.
 */
export const proxyController = ({ services, config }: WebContext) =>
  new Elysia({ name: "web.proxy" }).all(
    "/api/:service/*",
    async ({ params, request }) => {
      const service = params.service as ServiceName;
      if (!SERVICE_NAMES.includes(service)) {
        return errorAnswer(request, 404, { error: "not_found", message: `There is no ${params.service} service` });
      }
      const url = new URL(request.url);
      const target = `${services.urls[service]}${url.pathname.slice(`/api/${service}`.length)}${url.search}`;
      const headers = new Headers();
      for (const name of FORWARDED_REQUEST) {
        const value = request.headers.get(name);
        if (value) headers.set(name, value);
      }
      const token = sessionToken(request);
      const authorization = request.headers.get("authorization") ?? (token ? `Bearer ${token}` : null);
      if (authorization) headers.set("authorization", authorization);
      const hasBody = request.method !== "GET" && request.method !== "HEAD";
      let upstream: Response;
      try {
        upstream = await fetch(target, {
          method: request.method,
          headers,
          body: hasBody ? await request.arrayBuffer() : undefined,
          redirect: "manual",
          signal: AbortSignal.timeout(config.UPSTREAM_TIMEOUT_MS),
        });
      } catch {
        return errorAnswer(request, 503, {
          error: "unavailable",
          message: `The ${serviceLabel(service)} service is not answering right now. Please try again in a moment.`,
        });
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
