import type { Config } from "./config";
import { log } from "./log";
import type { Metrics } from "./metrics";
import { RedisLink, sharedRedisUrl } from "./redis";

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
  /**
   * The entry as its JSON text: a hit is handed on as stored, without parsing it and serialising
   * it again, for a route that answers with exactly that JSON.
   */
  rememberJson<T>(entry: CacheEntry<T>): Promise<string>;
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
  async rememberJson<T>(entry: CacheEntry<T>): Promise<string> {
    return JSON.stringify(await entry.load());
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
  /** How long Redis may stay silent while a read waits before it falls back to the database. */
  commandTimeoutMs?: number;
};

/**
 * CACHE=redis. Redis is never a single point of failure: while it is down every look-up is
 * answered from `load` at once (see RedisLink: no offline queue, no retries, short timeouts) and
 * counted as cache_requests_total{result="error"}; the cache is used again as soon as Redis
 * answers. A server that accepts connections but does not answer (overloaded, stopped) costs one
 * command timeout, then is skipped for a second.
 */
export class RedisCache implements Cache {
  private readonly link: RedisLink;
  private readonly prefix: string;
  private readonly ttlSeconds: number;
  private readonly metrics?: Metrics;

  constructor(options: RedisCacheOptions) {
    this.prefix = options.prefix;
    this.ttlSeconds = options.ttlSeconds;
    this.metrics = options.metrics;
    this.link = new RedisLink({
      url: options.url,
      commandTimeoutMs: options.commandTimeoutMs,
      whileDown: "serving cached reads from the database",
      whenBack: "caching again",
    });
  }

  get client() {
    return this.link.client;
  }

  get state(): CacheState {
    return this.link.usable ? "up" : "down";
  }

  async remember<T>(entry: CacheEntry<T>): Promise<T> {
    const found = await this.read(entry);
    if (typeof found === "string") {
      const value = JSON.parse(found);
      return entry.decode ? entry.decode(value) : (value as T);
    }
    const value = await entry.load();
    if (found) await this.write(found.key, JSON.stringify(value), entry.key);
    return value;
  }

  async rememberJson<T>(entry: CacheEntry<T>): Promise<string> {
    const found = await this.read(entry);
    if (typeof found === "string") return found;
    const text = JSON.stringify(await entry.load());
    if (found) await this.write(found.key, text, entry.key);
    return text;
  }

  /**
   * The stored text (a hit), the key to store the loaded value under (a miss), or null when Redis
   * is unusable or the read failed (the value is loaded and not stored); each counted.
   */
  private read(entry: CacheEntry<unknown>): Promise<string | { key: string } | null> {
    return this.link.use(
      "cache read failed",
      async () => {
        const key = entry.group
          ? `${await this.versionedPrefix(entry.group)}${entry.key}`
          : `${this.prefix}${entry.key}`;
        const stored = await this.client.get(key);
        if (this.metrics) this.metrics.cacheResults[stored === null ? "miss" : "hit"]++;
        return stored ?? { key };
      },
      () => {
        if (this.metrics) this.metrics.cacheResults.error++;
        return null;
      },
      entry.key,
    );
  }

  private async write(key: string, text: string, entryKey: string) {
    try {
      await this.client.set(key, text, "EX", this.ttlSeconds);
    } catch (error) {
      this.link.failed("cache write failed", `${entryKey}: ${String(error)}`);
    }
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
    this.link.close();
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

/** The cache a service's CACHE flag asks for; `off` opens no connection at all. */
export function openCache(config: Config, service: string, metrics?: Metrics): Cache {
  const url = sharedRedisUrl(config);
  if (config.CACHE === "off" || !url) return new NoCache();
  return new RedisCache({
    url,
    prefix: `${service}:`,
    ttlSeconds: config.CACHE_TTL_SECONDS,
    metrics,
  });
}
