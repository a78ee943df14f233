import { type Treaty, treaty } from "@elysiajs/eden";
import type { Elysia } from "elysia";
import { AddressSigner, CLIENT_ADDRESS_HEADER } from "./client-address";
import type { Config } from "./config";
import { type ErrorBody, HttpError, serviceUnavailable } from "./errors";
import { SERVICE_NAMES, type ServiceName } from "./services";

/** A service's Elysia app, as its `app.ts` builds it: the routes and their model.ts schemas are in its type. */
type AnyApp = Elysia<any, any, any, any, any, any, any>;

/** Whom a call is made for. */
export type CallFor = {
  /** The signed-in user's token, sent as `Authorization: Bearer`, where the other service checks ownership itself. */
  token?: string | null;
  /** Sent as X-Request-Id, so one request can be followed across services. */
  requestId?: string;
  /**
   * The address of the browser the call is made for (`clientAddress`), sent signed
   * (CLIENT_ADDRESS_HEADER) so that identity's login throttle counts that browser, not the web app,
   * and believes it from no one but a holder of JWT_SECRET.
   */
  client?: string;
};

/** The services as people know them, for the messages a page or an error body shows. */
const LABELS: Record<ServiceName, string> = {
  identity: "account",
  course: "course catalog",
  enrollment: "enrollment",
  payment: "payment",
  notification: "notification",
};

function callHeaders({ token, requestId, client }: CallFor, signer: AddressSigner) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (requestId) headers["x-request-id"] = requestId;
  if (client) headers[CLIENT_ADDRESS_HEADER] = signer.sign(client);
  return headers;
}

/**
 * The one way a part of the platform calls a service: enrollment calling course and payment, the
 * web app's pages, and its `/api` proxy. Every request is bounded by UPSTREAM_TIMEOUT_MS, the body
 * as well as the headers, and a service that is down or too slow becomes a 503 HttpError naming
 * it (`retry-after: 1`), never a hang.
 *
 * `api()` is Elysia's Eden Treaty over the called service's app type, so paths, query, body and
 * `data` are typed from that service's routes and model.ts; an `import type` of the app costs the
 * caller nothing at run time (the web image holds no service's code). Two things Eden does not
 * type stay beside it on the same bounded transport: `fragment()`, since the same route answers an
 * HTML fragment for `HX-Request` while Eden types its JSON, and `send()`, the proxy's pass-through.
 */
export class ServiceClient {
  readonly urls: Record<ServiceName, string>;
  private readonly signer: AddressSigner;

  constructor(
    config: Config,
    readonly timeoutMs = config.UPSTREAM_TIMEOUT_MS,
  ) {
    this.signer = new AddressSigner(config.JWT_SECRET);
    const configured: Record<ServiceName, string> = {
      identity: config.IDENTITY_URL,
      course: config.COURSE_URL,
      enrollment: config.ENROLLMENT_URL,
      payment: config.PAYMENT_URL,
      notification: config.NOTIFICATION_URL,
    };
    this.urls = Object.fromEntries(SERVICE_NAMES.map((name) => [name, configured[name].replace(/\/+$/, "")])) as Record<
      ServiceName,
      string
    >;
  }

  /**
   * The typed client of `service`; pass the type its app.ts exports, e.g. `api<CourseApp>("course")`.
   * Eden's `parseDate` stays off: it turns every string that looks like a date into a Date, a course
   * titled "2024-05-01" included. Timestamps (`created_at`) therefore arrive as ISO strings.
   */
  api<App extends AnyApp>(service: ServiceName, call: CallFor = {}): Treaty.Create<App> {
    return treaty<App>(this.urls[service], {
      headers: callHeaders(call, this.signer),
      parseDate: false,
      fetcher: ((url: string, init?: RequestInit) => this.bounded(service, url, init)) as typeof fetch,
    });
  }

  /** A request as given (the proxy's): every status comes back; only a service down or too slow throws (503). */
  send(service: ServiceName, pathAndQuery: string, init: RequestInit = {}, call: CallFor = {}) {
    const headers = new Headers(init.headers);
    for (const [name, value] of Object.entries(callHeaders(call, this.signer))) headers.set(name, value);
    return this.bounded(service, `${this.urls[service]}${pathAndQuery}`, { ...init, headers });
  }

  /** A resource's HTML fragment; a failure keeps its status and the service's own readable error fragment. */
  async fragment(service: ServiceName, pathAndQuery: string, call: CallFor = {}, method = "GET") {
    const response = await this.send(
      service,
      pathAndQuery,
      { method, headers: { "hx-request": "true", accept: "text/html" } },
      call,
    );
    return { status: response.status, ok: response.ok, html: await response.text() };
  }

  /** The answer read whole within the timeout, so a service that stalls mid-body is a 503 here, not later. */
  private async bounded(service: ServiceName, url: string, init: RequestInit = {}): Promise<Response> {
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
      const body = await response.arrayBuffer();
      return new Response(body.byteLength ? body : null, { status: response.status, headers: response.headers });
    } catch (error) {
      if (error instanceof DOMException && error.name === "TimeoutError") {
        throw serviceUnavailable(
          `The ${LABELS[service]} service did not answer within ${this.timeoutMs} ms. Please try again in a moment.`,
        );
      }
      throw serviceUnavailable(
        `The ${LABELS[service]} service is not answering right now. Please try again in a moment.`,
      );
    }
  }
}

/** What an `api()` call resolves to, as far as `dataOf` needs it. */
type Answer = { data: unknown; error: { value: unknown } | null; status: number };

/** The message a service put in its `{error, message}` body, or the fallback. */
function messageOf(body: unknown, fallback = "Something went wrong. Please try again.") {
  return body && typeof body === "object" && "message" in body && typeof body.message === "string"
    ? body.message
    : fallback;
}

/**
 * The error an answer other than 2xx stands for: the 503 of a service down or too slow as it was
 * thrown, a 5xx as a 503 naming the service, a 4xx with the service's own status, code and words.
 */
export function answerError(service: ServiceName, answer: Answer): HttpError {
  const value = answer.error?.value;
  if (value instanceof HttpError) return value;
  if (answer.status >= 500) {
    return serviceUnavailable(`The ${LABELS[service]} service could not do this right now. Please try again.`);
  }
  const code = value && typeof value === "object" && "error" in value ? String(value.error) : "failed";
  return new HttpError(answer.status, code, messageOf(value), {}, (value as ErrorBody | null)?.fields);
}

/** The data of a successful `api()` call, or its `answerError` thrown. */
export function dataOf<Result extends Answer>(service: ServiceName, answer: Result): Exclude<Result["data"], null> {
  if (answer.error) throw answerError(service, answer);
  return answer.data as Exclude<Result["data"], null>;
}
