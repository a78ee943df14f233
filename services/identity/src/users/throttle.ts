import { HttpError, log, tooManyRequests } from "@lab/shared";
import type { RedisLink } from "@lab/shared/redis";

type Window = { count: number; resetAt: number };

/** Past this many remembered keys, expired ones are swept before a new key is added. */
const SWEEP_ABOVE_KEYS = 10_000;

/**
 * Failed attempts per key in a fixed window that starts with the key's first failure and ends
 * `windowMs` later, whatever happens in between: a key is never blocked for longer than that.
 */
export class AttemptWindow {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may try now. */
  blockedFor(key: string): number {
    const window = this.current(key);
    return window && window.count >= this.limit ? window.resetAt - this.now() : 0;
  }

  count(key: string) {
    const window = this.current(key);
    if (window) {
      window.count++;
      return;
    }
    if (this.windows.size >= SWEEP_ABOVE_KEYS) this.sweep();
    this.windows.set(key, { count: 1, resetAt: this.now() + this.windowMs });
  }

  forget(key: string) {
    this.windows.delete(key);
  }

  private current(key: string): Window | undefined {
    const window = this.windows.get(key);
    if (window && window.resetAt <= this.now()) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  private sweep() {
    const now = this.now();
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}

/** What LoginThrottle counts failed attempts in: this process's memory, or Redis shared by every replica. */
export interface Attempts {
  /** Milliseconds until `key` may try again; 0 when it may try now. */
  blockedFor(key: string): Promise<number>;
  count(key: string): Promise<void>;
  forget(key: string): Promise<void>;
}

/** This process's own count, for a single process or while Redis is down. */
class LocalAttempts implements Attempts {
  constructor(private readonly window: AttemptWindow) {}
  async blockedFor(key: string) {
    return this.window.blockedFor(key);
  }
  async count(key: string) {
    this.window.count(key);
  }
  async forget(key: string) {
    this.window.forget(key);
  }
}

/**
 * The same fixed window in Redis, one key per email or client address: the first failure creates
 * the key with the window as its expiry and later ones increment it, in one script, so replicas
 * counting at once never lose an increment or leave a key without expiry. One key per script keeps
 * it valid on Redis Cluster.
 */
const COUNT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;
const BLOCKED_FOR_SCRIPT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count < tonumber(ARGV[1]) then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return 0 end
return ttl`;

type AttemptCommands = {
  attemptCount(key: string, windowMs: number): Promise<number>;
  attemptBlockedFor(key: string, limit: number): Promise<number>;
};

/**
 * Counts in Redis while it answers; while it is down (or slow past the link's command timeout)
 * each process counts in its own memory instead, so a login never waits for Redis and never fails
 * because of it. Counts made in memory during an outage stay there: Redis does not learn them.
 */
export class SharedAttempts implements Attempts {
  private readonly commands: AttemptCommands;

  constructor(
    private readonly link: RedisLink,
    /** Key prefix, e.g. "identity:login:account:". */
    private readonly prefix: string,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly fallback: Attempts,
  ) {
    link.client.defineCommand("attemptCount", { numberOfKeys: 1, lua: COUNT_SCRIPT });
    link.client.defineCommand("attemptBlockedFor", { numberOfKeys: 1, lua: BLOCKED_FOR_SCRIPT, readOnly: true });
    this.commands = link.client as unknown as AttemptCommands;
  }

  blockedFor(key: string) {
    return this.link.use(
      "login throttle command failed",
      () => this.commands.attemptBlockedFor(this.prefix + key, this.limit),
      () => this.fallback.blockedFor(key),
    );
  }

  async count(key: string) {
    await this.link.use(
      "login throttle command failed",
      () => this.commands.attemptCount(this.prefix + key, this.windowMs),
      () => this.fallback.count(key),
    );
  }

  async forget(key: string) {
    await this.link.use(
      "login throttle command failed",
      () => this.link.client.del(this.prefix + key),
      () => this.fallback.forget(key),
    );
  }
}

export type LoginThrottleOptions = {
  perAccount: number;
  perClient: number;
  windowSeconds: number;
  /** Redis shared by the replicas; without it each process counts on its own. */
  redis?: RedisLink;
};

/**
 * Slows down password guessing: after `perAccount` failed logins for one email, or `perClient`
 * from one client address, within the window, every further attempt is a 429 with Retry-After
 * until the window that started with the first failure ends. The password is not even checked
 * then, so a correct guess in a blocked window teaches nothing. Only a refused password counts:
 * a success clears the account's count, and a 503 counts against nobody, so many users behind
 * one address (a load test, an office) are only slowed down by their own failures.
 *
 * Attempts for one email run one after another in this process (each waits for the previous
 * one's verdict), so parallel guesses cannot slip past the account's limit while the slow password
 * hash runs. Parallel guesses at different emails from one client can pass its limit by the number
 * in flight at once; so can guesses at one email sent to different replicas at once (one each).
 *
 * With Redis the counts are shared by every process and replica (and survive their restarts);
 * without it, or while it is down, each process counts on its own, so N processes allow up to N
 * times the limit.
 */
export class LoginThrottle {
  private readonly accounts: Attempts;
  private readonly clients: Attempts;
  /** The last attempt queued per email; an email is absent when no attempt for it is running. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(options: LoginThrottleOptions, now: () => number = Date.now) {
    const windowMs = options.windowSeconds * 1000;
    const attempts = (kind: string, limit: number): Attempts => {
      const local = new LocalAttempts(new AttemptWindow(limit, windowMs, now));
      if (!options.redis) return local;
      return new SharedAttempts(options.redis, `identity:login:${kind}:`, limit, windowMs, local);
    };
    this.accounts = attempts("account", options.perAccount);
    this.clients = attempts("client", options.perClient);
  }

  /** Runs `login` unless the account or the client is blocked; counts a refused password. */
  async attempt<T>(email: string, client: string, login: () => Promise<T>): Promise<T> {
    // a blocked caller is answered at once, without waiting in the email's queue
    await this.refuseIfBlocked(email, client);
    const previous = this.queues.get(email) ?? Promise.resolve();
    const turn = previous.then(() => this.run(email, client, login));
    const settled = turn.catch(() => undefined);
    this.queues.set(email, settled);
    void settled.then(() => {
      if (this.queues.get(email) === settled) this.queues.delete(email);
    });
    return turn;
  }

  private async run<T>(email: string, client: string, login: () => Promise<T>): Promise<T> {
    await this.refuseIfBlocked(email, client);
    let result: T;
    try {
      result = await login();
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) {
        await Promise.all([this.accounts.count(email), this.clients.count(client)]);
      }
      throw error;
    }
    await this.accounts.forget(email);
    return result;
  }

  private async refuseIfBlocked(email: string, client: string) {
    const waits = await Promise.all([this.accounts.blockedFor(email), this.clients.blockedFor(client)]);
    const waitMs = Math.max(...waits);
    if (waitMs <= 0) return;
    const seconds = Math.ceil(waitMs / 1000);
    log("info", "login throttled", { client, retry_after: seconds });
    throw tooManyRequests(`Too many failed logins; try again in ${seconds} s`, seconds);
  }
}
