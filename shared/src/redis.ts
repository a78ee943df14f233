import diagnostics from "node:diagnostics_channel";
import Redis from "ioredis";
import type { Config } from "./config";
import { log } from "./log";

/**
 * Bun's TracingChannel lacks Node's `hasSubscribers`, and ioredis reads its absence as "someone
 * listens": it then wraps every command in a trace (argument copies, extra promises), a few per cent
 * of a cached request. Defined here from the five channels a TracingChannel is made of.
 */
const tracingChannel = Object.getPrototypeOf(diagnostics.tracingChannel("lab:redis"));
const TRACING_EVENTS = ["start", "end", "asyncStart", "asyncEnd", "error"] as const;
if (!("hasSubscribers" in tracingChannel)) {
  Object.defineProperty(tracingChannel, "hasSubscribers", {
    // read on every command: a loop over a constant rather than a new array and closure each time
    get(this: Record<string, diagnostics.Channel>) {
      for (const name of TRACING_EVENTS) if (this[name]?.hasSubscribers) return true;
      return false;
    },
  });
}

/** Where CACHE=redis looks when REDIS_URL is not set (the Redis that `bun run start` expects). */
const LOCAL_REDIS_URL = "redis://127.0.0.1:6379";

/**
 * The Redis a service shares with its other replicas, or undefined when it has none: REDIS_URL
 * when set, else the local one when CACHE=redis asks for a cache. Without either, nothing that
 * could be shared in Redis (the cache, login throttling) opens a connection.
 */
export function sharedRedisUrl(config: Pick<Config, "REDIS_URL" | "CACHE">): string | undefined {
  return config.REDIS_URL ?? (config.CACHE === "redis" ? LOCAL_REDIS_URL : undefined);
}

export type RedisLinkOptions = {
  url: string;
  /**
   * How long Redis may stay silent while a command waits: then the connection is dropped (and made
   * again in the background), its commands fail and their callers fall back.
   */
  commandTimeoutMs?: number;
  /** What the service does instead while Redis is down, for the one warning per outage. */
  whileDown: string;
  /** What it does again once Redis answers. */
  whenBack: string;
};

const CONNECT_TIMEOUT_MS = 500;
const RECONNECT_MAX_DELAY_MS = 2_000;
/** After a failed command, Redis is left alone this long: a hung server costs one timeout, not one per request. */
const BACKOFF_AFTER_FAILURE_MS = 1_000;

/**
 * A Redis connection that never makes a caller wait for a Redis that is down: no offline queue,
 * no retries, short timeouts, so a command fails at once (or after one command timeout) and the
 * caller does without. The client reconnects in the background; `usable` is true again as soon as
 * Redis answers. One warning per outage, one line when it is over.
 */
export class RedisLink {
  readonly client: Redis;
  private readonly redis: string;
  private readonly whileDown: string;
  private readonly whenBack: string;
  private reportedDown = false;
  private skipUntil = 0;
  private closing = false;

  constructor(options: RedisLinkOptions) {
    this.redis = options.url.replace(/\/\/[^@/]*@/, "//***@");
    this.whileDown = options.whileDown;
    this.whenBack = options.whenBack;
    this.client = new Redis(options.url, {
      connectTimeout: CONNECT_TIMEOUT_MS,
      // One timer per connection, restarted when data arrives, rather than ioredis's commandTimeout,
      // which starts and clears a timer for every command (~0.5 µs of a cached request).
      socketTimeout: options.commandTimeoutMs ?? 250,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(attempt * 100, RECONNECT_MAX_DELAY_MS),
      enableAutoPipelining: true,
    });
    // Without an error listener ioredis would print every failed reconnect.
    this.client.on("error", (error: Error) => this.reportDown(error.message));
    this.client.on("close", () => {
      if (!this.closing) this.reportDown("connection closed");
    });
    this.client.on("ready", () => this.reportBack());
  }

  /** Connected and not skipped after a failed command. */
  get usable() {
    return this.client.status === "ready" && Date.now() >= this.skipUntil;
  }

  /** After a command failed or timed out: Redis is skipped for a moment and the outage reported once. */
  failed(what: string, error: unknown) {
    this.skipUntil = Date.now() + BACKOFF_AFTER_FAILURE_MS;
    log("debug", what, { error: String(error) });
    this.reportDown(String(error));
  }

  /**
   * `command` while Redis is usable; `otherwise` (the caller doing without) when it is not, or when
   * the command fails, which is reported as `failed(what, …)`, `about` naming what it was for (e.g.
   * a cache key).
   */
  async use<T, F>(what: string, command: () => Promise<T>, otherwise: () => F | Promise<F>, about?: string) {
    if (!this.usable) return otherwise();
    try {
      const result = await command();
      this.answered();
      return result;
    } catch (error) {
      this.failed(what, about === undefined ? error : `${about}: ${String(error)}`);
      return otherwise();
    }
  }

  /** After a command answered: ends an outage that was reported without a reconnect (a hung server). */
  answered() {
    if (this.reportedDown) this.reportBack();
  }

  close() {
    this.closing = true;
    this.client.disconnect();
  }

  private reportDown(reason: string) {
    if (this.reportedDown) return;
    this.reportedDown = true;
    log("warn", `redis unreachable, ${this.whileDown}`, { redis: this.redis, reason });
  }

  private reportBack() {
    if (this.reportedDown) log("info", `redis reachable again, ${this.whenBack}`, { redis: this.redis });
    this.reportedDown = false;
  }
}
