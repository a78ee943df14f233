import { escapeHtml } from "@kitajs/html";
import { HTML_CONTENT_TYPE, wantsHtml } from "./html";

/** An error with an HTTP status that the error handler answers as `{error, message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const unauthorized = (message = "Authentication required") => new HttpError(401, "unauthorized", message);
export const paymentRequired = (message: string) => new HttpError(402, "payment_required", message);
export const forbidden = (message = "You are not allowed to do this") => new HttpError(403, "forbidden", message);
export const notFound = (what = "Resource") => new HttpError(404, "not_found", `${what} not found`);
export const conflict = (message: string) => new HttpError(409, "conflict", message);
export const lengthRequired = () =>
  new HttpError(411, "length_required", "A request body needs a Content-Length header", { connection: "close" });
export const payloadTooLarge = (maxBytes: number) =>
  new HttpError(413, "payload_too_large", `The request body is larger than ${maxBytes} bytes`, { connection: "close" });
export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  new HttpError(429, "too_many_requests", message, { "retry-after": String(retryAfterSeconds) });
export const unprocessable = (field: string, message: string) =>
  new HttpError(422, "validation", `${field}: ${message}`, {}, [{ field, message }]);
export const badGateway = (message: string) => new HttpError(502, "bad_gateway", message);
export const serviceUnavailable = (message: string, retryAfterSeconds = 1) =>
  new HttpError(503, "unavailable", message, { "retry-after": String(retryAfterSeconds) });

export type ErrorBody = { error: string; message: string; fields?: unknown; request_id?: string };

/** The HTML fragment HTMX swaps in for an error: readable text, never raw JSON. */
export const errorFragment = (body: ErrorBody) =>
  `<div class="error" role="alert" data-error="${escapeHtml(body.error)}">${escapeHtml(body.message)}</div>`;

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** An error body as the caller can read it: the fragment for HTMX, JSON for everyone else. */
export const renderError = (request: Request, body: ErrorBody) =>
  wantsHtml(request)
    ? { contentType: HTML_CONTENT_TYPE, text: errorFragment(body) }
    : { contentType: JSON_CONTENT_TYPE, text: JSON.stringify(body) };
