import Redis from "ioredis";
import type { Config } from "./config";
import { log } from "./log";
import type { Metrics } from "./metrics";

/** One read-through look-up: `load` runs when the key is absent or the cache is unusable. */
export type CacheEntry<T> = {
  key: string;
  load: () => Promise<T>;
  /** Turns the stored JSON back into the value (e.g. ISO strings into Dates). */
  decode?: (stored: any) => T;
  /**
   * A group whose entries are all dropped at once by `invalidate(group)`: the group's version
   * number is part of the stored key, so bumping it makes every older entry unreachable (they
   * expire by TTL) without listing or deleting keys.
   */
  group?: string;
};

export type CacheState = "off" | "up" | "down";

/** What a service caches through; built from CACHE by `openCache`. */
export interface Cache {
  readonly state: CacheState;
  remember<T>(entry: CacheEntry<T>): Promise<T>;
  /** Makes every entry of `group` stale; call it after the write has committed. */
  invalidate(group: string): Promise<void>;
  close(): Promise<void>;
}

/** CACHE=off: every read goes to the database and no Redis connection is opened. */
export class NoCache implements Cache {
  readonly state = "off" as const;
  remember<T>(entry: CacheEntry<T>): Promise<T> {
    return entry.load();
  }
  async invalidate() {}
  async close() {}
}

export type RedisCacheOptions = {
  url: string;
  /** Prepended to every key, so services sharing one Redis never meet (e.g. "course:"). */
  prefix: string;
  ttlSeconds: number;
  metrics?: Metrics;
  /** How long one command may take before the read falls back to the database. */
  commandTimeoutMs?: number;
};

const CONNECT_TIMEOUT_MS = 500;
const RECONNECT_MAX_DELAY_MS = 2_000;
/** After a failed command, Redis is left alone this long: a hung server costs one timeout, not one per request. */
const BACKOFF_AFTER_FAILURE_MS = 1_000;

/**
 * CACHE=redis. Redis is never a single point of failure: while it is down every look-up is
 * answered from `load` at once (no offline queue, no retries, short timeouts) and counted as
 * cache_requests_total{result="error"}; the client keeps reconnecting in the background and
 * the cache is used again as soon as Redis answers. A server that accepts connections but does
 * not answer (overloaded, stopped) costs one command timeout, then is skipped for a second.
 */
export class RedisCache implements Cache {
  readonly client: Redis;
  private readonly prefix: string;
  private readonly ttlSeconds: number;
  private readonly metrics?: Metrics;
  private reportedDown = false;
  private skipUntil = 0;
  private closing = false;

  constructor(options: RedisCacheOptions) {
    this.prefix = options.prefix;
    this.ttlSeconds = options.ttlSeconds;
    this.metrics = options.metrics;
    this.client = new Redis(options.url, {
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: options.commandTimeoutMs ?? 250,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(attempt * 100, RECONNECT_MAX_DELAY_MS),
      enableAutoPipelining: true,
    });
    const redis = redactUrl(options.url);
    // One line per outage: without an error listener ioredis would print every failed reconnect.
    const reportDown = (reason: string) => {
      if (this.reportedDown) return;
      this.reportedDown = true;
      log("warn", "cache unreachable, serving from the database", { redis, reason });
    };
    this.client.on("error", (error: Error) => reportDown(error.message));
    this.client.on("close", () => {
      if (!this.closing) reportDown("connection closed");
    });
    this.client.on("ready", () => {
      if (this.reportedDown) log("info", "cache reachable again", { redis });
      this.reportedDown = false;
    });
  }

  get state(): CacheState {
    return this.usable() ? "up" : "down";
  }

  private usable() {
    return this.client.status === "ready" && Date.now() >= this.skipUntil;
  }

  private failed(what: string, key: string, error: unknown) {
    this.skipUntil = Date.now() + BACKOFF_AFTER_FAILURE_MS;
    log("debug", what, { key, error: String(error) });
  }

  async remember<T>(entry: CacheEntry<T>): Promise<T> {
    if (!this.usable()) {
      this.metrics?.cacheRequests.inc({ result: "error" });
      return entry.load();
    }
    let key: string;
    try {
      key = entry.group ? `${await this.versionedPrefix(entry.group)}${entry.key}` : `${this.prefix}${entry.key}`;
      const stored = await this.client.get(key);
      if (stored !== null) {
        const value = JSON.parse(stored);
        this.metrics?.cacheRequests.inc({ result: "hit" });
        return entry.decode ? entry.decode(value) : (value as T);
      }
    } catch (error) {
      this.metrics?.cacheRequests.inc({ result: "error" });
      this.failed("cache read failed", entry.key, error);
      return entry.load();
    }
    this.metrics?.cacheRequests.inc({ result: "miss" });
    const value = await entry.load();
    try {
      await this.client.set(key, JSON.stringify(value), "EX", this.ttlSeconds);
    } catch (error) {
      this.failed("cache write failed", entry.key, error);
    }
    return value;
  }

  async invalidate(group: string) {
    try {
      if (this.client.status !== "ready") throw new Error(`redis is ${this.client.status}`);
      await this.client.incr(this.versionKey(group));
    } catch (error) {
      // The old entries stay reachable until their TTL ends: stale for at most CACHE_TTL_SECONDS.
      log("warn", "cache group not invalidated; its entries expire by TTL", { group, error: String(error) });
    }
  }

  async close() {
    this.closing = true;
    this.client.disconnect();
  }

  private versionKey(group: string) {
    return `${this.prefix}${group}:version`;
  }

  /** The version key never expires: losing it would reuse version numbers of entries still alive. */
  private async versionedPrefix(group: string) {
    const version = (await this.client.get(this.versionKey(group))) ?? "0";
    return `${this.prefix}${group}:v${version}:`;
  }
}

const redactUrl = (url: string) => url.replace(/\/\/[^@/]*@/, "//***@");

/** The cache a service's CACHE flag asks for; `off` opens no connection at all. */
export function openCache(config: Config, service: string, metrics?: Metrics): Cache {
  if (config.CACHE === "off") return new NoCache();
  return new RedisCache({
    url: config.REDIS_URL,
    prefix: `${service}:`,
    ttlSeconds: config.CACHE_TTL_SECONDS,
    metrics,
  });
}
