import type { Static, TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Elysia, ValidationError } from "elysia";
import { apiDocs, databaseErrors, Healthz, NotReady, Readyz, requestErrors } from "./api-docs";
import type { Cache } from "./cache";
import type { Config } from "./config";
import type { Db } from "./db";
import { asInvalidInput, asUnavailable } from "./db";
import { type ErrorBody, HttpError, lengthRequired, payloadTooLarge, renderError } from "./errors";
import { log } from "./log";
import { type Metrics, metricsPlugin, requestIdOf } from "./metrics";
import { authGuard } from "./security";

export type ServiceContext = { name: string; config: Config; db: Db; metrics: Metrics; cache: Cache };

/** The experiment flags as the services see them: reported by /metrics and the Lab page. */
export const activeFlags = (config: Config) => ({
  SEARCH_INDEX: config.SEARCH_INDEX,
  DB_POOL_MAX: String(config.DB_POOL_MAX),
  DB_VIA_PGBOUNCER: config.DB_VIA_PGBOUNCER,
  CACHE: config.CACHE,
  WORKERS: String(config.WORKERS),
});

/** The largest request body a service reads; a larger one is a 413 before any of it is read. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Refuses a body over MAX_BODY_BYTES from its Content-Length, before anything reads it, so the
 * answer is the usual JSON (or HTML) error in-process and over HTTP alike. A body without a
 * length (chunked) could only be measured by reading it: every client of the platform sends
 * Content-Length, so such a body is a 411.
 */
function checkBodySize(request: Request) {
  // no route reads the body of a GET or HEAD
  if (request.method === "GET" || request.method === "HEAD") return;
  const length = request.headers.get("content-length");
  if (length === null) {
    if (request.headers.has("transfer-encoding")) throw lengthRequired();
    return;
  }
  if (!/^\d+$/.test(length) || Number(length) > MAX_BODY_BYTES) throw payloadTooLarge(MAX_BODY_BYTES);
}

/** Deeper than any body the platform's schemas describe, far below what breaks a string conversion. */
const MAX_DESCRIBABLE_DEPTH = 64;

function cannotBeDescribed(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (depth > MAX_DESCRIBABLE_DEPTH) return true;
  // parsed JSON can only hold a non-function here, and then `${value}` throws
  if (!Array.isArray(value) && (Object.hasOwn(value, "toString") || Object.hasOwn(value, "valueOf"))) return true;
  return Object.values(value).some((item) => cannotBeDescribed(item, depth + 1));
}

/**
 * Elysia 1.4.30 builds a validation error's summary with `${value}`, which throws for a value no
 * string conversion works on: a TypeError for `{"title": {"toString": 1}}`, a RangeError (stack
 * overflow) for an array nested thousands deep. The request was invalid all the same (not a 500):
 * told by the body that failed, not by the text of the stack the failure left.
 */
export const isUndescribableBody = (error: unknown, body: unknown) =>
  (error instanceof TypeError || error instanceof RangeError) && cannotBeDescribed(body, 0);

/**
 * Answers with JSON text already serialised (e.g. as the cache stored it), as Elysia answers an
 * object. The headers set so far (the request id…) move onto the Response: with none left in `set`,
 * Elysia sends it as it is instead of copying its body into a new one (a tenth of a cached request).
 */
export function jsonAnswer(text: string, set: { headers: Record<string, unknown> }) {
  const headers = set.headers as Record<string, string>;
  headers["content-type"] = "application/json;charset=utf-8";
  set.headers = {};
  return new Response(text, { headers });
}

/**
 * Elysia checks what a handler returns against the route's response schema, but not a Response:
 * a route that answers with stored JSON text (`jsonAnswer`) checks the value when the text is made.
 */
export function responseCheck<S extends TSchema>(schema: S, what: string) {
  const compiled = TypeCompiler.Compile(schema);
  return (value: Static<S>) => {
    if (!compiled.Check(value)) throw new Error(`${what} does not match its response schema`);
    return value;
  };
}

type DecodeError = { error?: { path?: string; message?: string }; message?: string };

const fieldName = (path: string | undefined, fallback: string) =>
  path ? path.replace(/^\//, "").replaceAll("/", ".") || fallback : fallback;

/**
 * Elysia reports schema failures as a ValidationError (with `all`), but a failed decode of a
 * transformed value (e.g. an array in the query string) arrives as TypeBox's decode error instead.
 */
function validationBody(error: ValidationError | DecodeError): ErrorBody {
  const fields =
    error instanceof ValidationError
      ? error.all.map((issue) => ({
          field: fieldName("path" in issue ? issue.path : undefined, error.type),
          message: "summary" in issue && issue.summary ? issue.summary : issue.message,
        }))
      : // the decode error knows the failing item's path inside the value, not which field held the value
        [
          {
            field: "request",
            message: `${fieldName(error.error?.path, "value")}: ${error.error?.message ?? "invalid value"}`,
          },
        ];
  const first = fields[0];
  return {
    error: "validation",
    message: first ? `${first.field}: ${first.message}` : "Invalid request",
    fields,
  };
}

/**
 * Everything a service shares: request id, access log, one error mapping (JSON `{error, message}`,
 * or an HTML fragment for HTMX), /healthz, /readyz, /metrics, OpenAPI at /swagger, and the `auth` option.
 */
export function servicePlugin({ name, config, db, metrics }: ServiceContext) {
  return new Elysia({ name: `lab.service.${name}` })
    .use(apiDocs(name))
    .use(requestErrors())
    .use(metricsPlugin(metrics, { requestIds: true, accessLog: true }))
    .use(authGuard(config.JWT_SECRET))
    .error({ HttpError })
    .onRequest(({ request }) => {
      // a block, not `=> checkBodySize(…)`: Elysia reads a hook returning a call as async, and awaits it
      checkBodySize(request);
    })
    .onError({ as: "global" }, ({ code, error, request, set, body: requestBody }) => {
      const requestId = requestIdOf(request);
      let body: ErrorBody;
      const known = asInvalidInput(asUnavailable(error));
      if (known instanceof HttpError) {
        set.status = known.status;
        Object.assign(set.headers, known.headers);
        body = { error: known.code, message: known.message, ...(known.details ? { fields: known.details } : {}) };
      } else if (code === "VALIDATION") {
        set.status = 422;
        body = validationBody(error as ValidationError | DecodeError);
      } else if (isUndescribableBody(error, requestBody)) {
        set.status = 422;
        body = { error: "validation", message: "request: a value has the wrong type" };
      } else if (code === "PARSE") {
        set.status = 400;
        body = { error: "bad_request", message: "The request body is not valid for its content type" };
      } else if (code === "NOT_FOUND") {
        set.status = 404;
        body = { error: "not_found", message: "No such route" };
      } else {
        set.status = 500;
        log("error", "unhandled error", {
          request_id: requestId,
          method: request.method,
          path: new URL(request.url).pathname,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
        body = {
          error: "internal",
          message: "Internal error; quote this request id when reporting it",
          request_id: requestId,
        };
      }
      const rendered = renderError(request, body);
      set.headers["content-type"] = rendered.contentType;
      return rendered.text;
    })
    .get("/healthz", () => ({ status: "ok" as const, service: name, pid: process.pid }), {
      response: { 200: Healthz },
      detail: { tags: ["ops"], description: "Alive: answers without asking the database" },
    })
    .get(
      "/readyz",
      async ({ set }) => {
        if (await db.ping()) return { status: "ready" as const, service: name };
        set.status = 503;
        set.headers["retry-after"] = "2";
        return { error: "not_ready" as const, message: "Database does not answer" };
      },
      {
        response: { 200: Readyz, 503: NotReady },
        detail: { tags: ["ops"], description: "Ready: its database answers" },
      },
    )
    .use(databaseErrors());
}
