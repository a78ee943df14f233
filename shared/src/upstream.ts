import { badGateway, ERROR_CODES, HttpError, serviceUnavailable } from "./errors";

export type UpstreamCall = {
  /** The caller's token, forwarded where the other service enforces ownership itself. */
  token?: string;
  /** Forwarded as X-Request-Id so one request can be followed across services. */
  requestId?: string;
};

/**
 * A JSON client for another service of the platform. Every call is bounded by `timeoutMs`
 * (UPSTREAM_TIMEOUT_MS), so a down or slow dependency becomes a 503 naming it instead of a hung
 * request; a 404 passes through as a 404 with the other service's message.
 */
export class Upstream {
  private readonly baseUrl: string;

  constructor(
    readonly name: string,
    baseUrl: string,
    private readonly timeoutMs: number,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  async get<T>(path: string, call: UpstreamCall = {}): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (call.token) headers.authorization = `Bearer ${call.token}`;
    if (call.requestId) headers["x-request-id"] = call.requestId;

    let status: number;
    let text: string;
    try {
      // the signal bounds the body as well as the headers
      const response = await fetch(`${this.baseUrl}${path}`, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (error instanceof DOMException && error.name === "TimeoutError") {
        throw serviceUnavailable(`The ${this.name} service did not answer within ${this.timeoutMs} ms`);
      }
      throw serviceUnavailable(`The ${this.name} service is unreachable; try again shortly`);
    }

    const body = parseJson(text);
    if (status >= 200 && status < 300) {
      if (body === undefined) throw badGateway(`The ${this.name} service answered ${status} without a JSON body`);
      return body as T;
    }
    const message =
      body && typeof body === "object" && "message" in body && typeof body.message === "string"
        ? body.message
        : `HTTP ${status}`;
    if (status === 404) throw new HttpError(404, ERROR_CODES[404], message);
    if (status >= 500) throw serviceUnavailable(`The ${this.name} service failed: ${message}`);
    throw badGateway(`The ${this.name} service refused the request (${status}): ${message}`);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
