import type { TArray, TObject, TOptional, TProperties, TString } from "@sinclair/typebox";
import { t } from "elysia";
import { HTML_CONTENT_TYPE, wantsHtml } from "./html";
import { Alert } from "./ui/components";

/** The `error` code of each status the platform answers with: one code per status, so clients can switch on either. */
export const ERROR_CODES = {
  400: "bad_request",
  401: "unauthorized",
  402: "payment_required",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  411: "length_required",
  413: "payload_too_large",
  422: "validation",
  429: "too_many_requests",
  500: "internal",
  502: "bad_gateway",
  503: "unavailable",
} as const;
export type ErrorStatus = keyof typeof ERROR_CODES;

export const FieldError = t.Object({ field: t.String(), message: t.String() });
export type FieldError = typeof FieldError.static;

/** An error with an HTTP status that the error handler answers as `{error, message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details?: FieldError[],
  ) {
    super(message);
    this.name = "HttpError";
  }
}

const httpError = (status: ErrorStatus, message: string, headers?: Record<string, string>, details?: FieldError[]) =>
  new HttpError(status, ERROR_CODES[status], message, headers, details);

export const unauthorized = (message = "Authentication required") => httpError(401, message);
export const paymentRequired = (message: string) => httpError(402, message);
export const forbidden = (message = "You are not allowed to do this") => httpError(403, message);
export const notFound = (what = "Resource") => httpError(404, `${what} not found`);
export const conflict = (message: string) => httpError(409, message);
export const lengthRequired = () =>
  httpError(411, "A request body needs a Content-Length header", { connection: "close" });
export const payloadTooLarge = (maxBytes: number) =>
  httpError(413, `The request body is larger than ${maxBytes} bytes`, { connection: "close" });
export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  httpError(429, message, { "retry-after": String(retryAfterSeconds) });
export const unprocessable = (field: string, message: string) =>
  httpError(422, `${field}: ${message}`, {}, [{ field, message }]);
export const internalError = (message: string) => httpError(500, message);
export const serviceUnavailable = (message: string, retryAfterSeconds = 1) =>
  httpError(503, message, { "retry-after": String(retryAfterSeconds) });

/** What each status usually means on this platform; a route may document its own meaning instead. */
export const ERROR_MEANINGS: Record<ErrorStatus, string> = {
  400: "The body does not parse as its Content-Type says",
  401: "No bearer token, or one that is invalid or expired",
  402: "Payment required",
  403: "The token's role or verification does not allow this",
  404: "Not found",
  409: "Conflicts with what is stored",
  411: "A body without Content-Length (chunked): refused",
  413: "A body over 1 MiB: refused before it is read",
  422: "A parameter or body field is invalid; `fields` names each",
  429: "Too many requests; Retry-After says when to try again",
  500: "Unexpected error; `request_id` finds it in the log",
  502: "Another service refused the request",
  503: "The database, or a service this route calls, is down or busy; Retry-After says when to try again",
};

const message = t.String({ description: "For people: what went wrong and, where it helps, what to do" });
const fields = t.Array(FieldError, { description: "Each invalid field" });
const requestId = t.String({ description: "Finds the error in the service's log" });

/** Every error answer's JSON body (an `HX-Request: true` caller gets it as an HTML fragment instead). */
export type ErrorBody = { error: string; message: string; fields?: FieldError[]; request_id?: string };
type ErrorBodyProperties = {
  error: TString;
  message: TString;
  fields: TOptional<TArray<typeof FieldError>>;
  request_id: TOptional<TString>;
};

/**
 * The error body of one status, with its code and what it means on the route, for a route's `response`
 * option: `response: { 200: Course, ...errorResponses({ 404: "No course has this id", 422: true }) }`
 * (`true`: the status's usual meaning). The error handler answers these, so they document, not validate.
 */
export function errorResponses<const Statuses extends { [Status in ErrorStatus]?: string | true }>(statuses: Statuses) {
  // typed per status given (not Record<number, …>), so a typed client still sees which status is the success
  const responses = {} as { [Status in keyof Statuses]: TObject<ErrorBodyProperties> };
  for (const [key, meaning] of Object.entries(statuses)) {
    const status = Number(key) as ErrorStatus;
    const extra: TProperties =
      status === 422 ? { fields: t.Optional(fields) } : status === 500 ? { request_id: requestId } : {};
    (responses as Record<number, TObject>)[status] = t.Object(
      { error: t.Literal(ERROR_CODES[status]), message, ...extra },
      { description: meaning === true ? ERROR_MEANINGS[status] : meaning },
    );
  }
  return responses;
}

/** The HTML fragment HTMX swaps in for an error: the kit's Alert (synchronous: a string), never raw JSON. */
export const errorFragment = (body: ErrorBody) => Alert({ text: body.message, data: { error: body.error } }) as string;

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** An error body as the caller can read it: the fragment for HTMX, JSON for everyone else. */
export const renderError = (request: Request, body: ErrorBody) =>
  wantsHtml(request)
    ? { contentType: HTML_CONTENT_TYPE, text: errorFragment(body) }
    : { contentType: JSON_CONTENT_TYPE, text: JSON.stringify(body) };
