import { type Config, HttpError, SERVICE_NAMES, type ServiceName, serviceUnavailable } from "@lab/shared";

export type CallOptions = {
  /** The signed-in user's token, sent as `Authorization: Bearer`. */
  token?: string | null;
  body?: unknown;
  /** Ask for the service's HTML fragment (`HX-Request: true`) instead of JSON. */
  html?: boolean;
  headers?: Record<string, string>;
};

/** What a service answered: every status is returned, so pages can word each failure for people. */
export type ServiceAnswer = {
  service: ServiceName;
  status: number;
  ok: boolean;
  headers: Headers;
  text: string;
  /** The JSON body, or undefined when the answer is not JSON (an HTML fragment). */
  json: any;
};

const LABELS: Record<ServiceName, string> = {
  identity: "account",
  course: "course catalog",
  enrollment: "enrollment",
  payment: "payment",
  notification: "notification",
};
export const serviceLabel = (service: ServiceName) => LABELS[service];

/** Calls the platform's services with a bounded wait; a service that is down becomes a readable 503. */
export class ServiceClient {
  readonly urls: Record<ServiceName, string>;

  constructor(
    config: Config,
    private readonly timeoutMs = config.UPSTREAM_TIMEOUT_MS,
  ) {
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

  async call(service: ServiceName, method: string, path: string, options: CallOptions = {}): Promise<ServiceAnswer> {
    const headers: Record<string, string> = { accept: options.html ? "text/html" : "application/json" };
    if (options.html) headers["hx-request"] = "true";
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers["content-type"] = "application/json";
    }
    Object.assign(headers, options.headers);
    let response: Response;
    let text: string;
    try {
      // the signal bounds reading the body as well as the headers
      response = await fetch(`${this.urls[service]}${path}`, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch {
      throw serviceUnavailable(
        `The ${LABELS[service]} service is not answering right now. Please try again in a moment.`,
      );
    }
    const isJson = response.headers.get("content-type")?.includes("json");
    let json: unknown;
    if (isJson) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return { service, status: response.status, ok: response.ok, headers: response.headers, text, json };
  }

  /** A resource's HTML fragment; a failure keeps its status and the service's own readable error fragment. */
  async fragment(service: ServiceName, path: string, token?: string | null) {
    const answer = await this.call(service, "GET", path, { token, html: true });
    return { status: answer.status, ok: answer.ok, html: answer.text };
  }
}

/** The message a service put in its `{error, message}` body, or a plain fallback. */
export const messageOf = (answer: ServiceAnswer, fallback = "Something went wrong. Please try again.") =>
  typeof answer.json?.message === "string" ? (answer.json.message as string) : fallback;

/** Turns a failed JSON answer into the error the web app shows, with the service's status and words. */
export function failure(answer: ServiceAnswer): HttpError {
  if (answer.status >= 500) {
    return serviceUnavailable(`The ${LABELS[answer.service]} service could not do this right now. Please try again.`);
  }
  return new HttpError(answer.status, String(answer.json?.error ?? "failed"), messageOf(answer));
}
